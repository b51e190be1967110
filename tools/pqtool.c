/* pqtool: write, dump and describe Parquet files with IceGate's Parquet library.
 *
 *   pqtool write [--codec zstd|snappy|gzip|none] [--level N] [--page-version 1|2]
 *                [--dict on|off] [--row-group-rows N] [--page-rows N] [--bloom COL,COL]
 *                SCHEMA.json IN.jsonl OUT.parquet
 *   pqtool cat [--columns NAME,NAME] FILE      one JSON object per row
 *   pqtool meta FILE                           file metadata as JSON
 *
 * SCHEMA.json is an Iceberg schema (struct with fields id/name/required/type). The JSON
 * parser here is private to this tool. Value mapping: see docs/parquet.md. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/parquet.h"

/* ---- Small JSON DOM ----------------------------------------------------------------- */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jv {
    int t;
    ig_str s; /* J_NUM: the number text; J_STR: unescaped */
    struct jv *items;
    ig_str *keys;
    size_t n;
} jv;

typedef struct jp {
    const char *p, *end;
    ig_arena *a;
    int depth;
    const char *err;
} jp;

static void ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int put_utf8(ig_buf *b, uint32_t cp)
{
    char o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return ig_buf_append(b, o, n);
}

static int parse_u4(jp *j, uint32_t *cp)
{
    if (j->end - j->p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexv(j->p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + (uint32_t)h;
    }
    j->p += 4;
    *cp = v;
    return 0;
}

static int parse_string(jp *j, ig_str *out)
{
    j->p++; /* opening quote */
    const char *start = j->p;
    while (j->p < j->end && *j->p != '"' && *j->p != '\\')
        j->p++;
    if (j->p < j->end && *j->p == '"') { /* fast path: no escapes */
        *out = ig_arena_strdup(j->a, (ig_str){start, (size_t)(j->p - start)});
        j->p++;
        return out->ptr ? 0 : -1;
    }
    ig_buf b;
    ig_buf_init(&b, 0);
    ig_buf_append(&b, start, (size_t)(j->p - start));
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c != '\\') {
            ig_buf_putc(&b, c);
            continue;
        }
        if (j->p >= j->end)
            break;
        c = *j->p++;
        uint32_t cp;
        switch (c) {
        case '"': ig_buf_putc(&b, '"'); break;
        case '\\': ig_buf_putc(&b, '\\'); break;
        case '/': ig_buf_putc(&b, '/'); break;
        case 'b': ig_buf_putc(&b, '\b'); break;
        case 'f': ig_buf_putc(&b, '\f'); break;
        case 'n': ig_buf_putc(&b, '\n'); break;
        case 'r': ig_buf_putc(&b, '\r'); break;
        case 't': ig_buf_putc(&b, '\t'); break;
        case 'u':
            if (parse_u4(j, &cp)) {
                ig_buf_free(&b);
                j->err = "bad \\u escape";
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' &&
                j->p[1] == 'u') {
                uint32_t lo;
                j->p += 2;
                if (parse_u4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    ig_buf_free(&b);
                    j->err = "bad surrogate pair";
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(&b, cp);
            break;
        default:
            ig_buf_free(&b);
            j->err = "bad escape";
            return -1;
        }
    }
    if (j->p >= j->end) {
        ig_buf_free(&b);
        j->err = "unterminated string";
        return -1;
    }
    j->p++;
    *out = ig_arena_strdup(j->a, ig_buf_str(&b));
    ig_buf_free(&b);
    return out->ptr ? 0 : -1;
}

static int parse_value(jp *j, jv *v);

static int parse_container(jp *j, jv *v, bool obj)
{
    if (++j->depth > 64) {
        j->err = "nested too deeply";
        return -1;
    }
    j->p++;
    size_t cap = 0;
    v->t = obj ? J_OBJ : J_ARR;
    v->n = 0;
    ws(j);
    if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        ws(j);
        if (v->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            jv *ni = ig_arena_alloc(j->a, nc * sizeof *ni);
            ig_str *nk = obj ? ig_arena_alloc(j->a, nc * sizeof *nk) : NULL;
            if (!ni || (obj && !nk))
                return -1;
            if (v->n) {
                memcpy(ni, v->items, v->n * sizeof *ni);
                if (obj)
                    memcpy(nk, v->keys, v->n * sizeof *nk);
            }
            v->items = ni;
            v->keys = nk;
            cap = nc;
        }
        if (obj) {
            if (j->p >= j->end || *j->p != '"') {
                j->err = "expected a key";
                return -1;
            }
            if (parse_string(j, &v->keys[v->n]))
                return -1;
            ws(j);
            if (j->p >= j->end || *j->p != ':') {
                j->err = "expected ':'";
                return -1;
            }
            j->p++;
        }
        if (parse_value(j, &v->items[v->n]))
            return -1;
        v->n++;
        ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
            j->depth--;
            return 0;
        }
        j->err = "expected ',' or a closing bracket";
        return -1;
    }
}

static int parse_value(jp *j, jv *v)
{
    memset(v, 0, sizeof *v);
    ws(j);
    if (j->p >= j->end) {
        j->err = "unexpected end";
        return -1;
    }
    char c = *j->p;
    if (c == '{' || c == '[')
        return parse_container(j, v, c == '{');
    if (c == '"') {
        v->t = J_STR;
        return parse_string(j, &v->s);
    }
    if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        v->t = J_NULL;
        j->p += 4;
        return 0;
    }
    if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
        v->t = J_TRUE;
        j->p += 4;
        return 0;
    }
    if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
        v->t = J_FALSE;
        j->p += 5;
        return 0;
    }
    const char *s = j->p;
    while (j->p < j->end && (strchr("+-0123456789.eE", *j->p) != NULL))
        j->p++;
    if (j->p == s) {
        j->err = "unexpected character";
        return -1;
    }
    v->t = J_NUM;
    v->s = (ig_str){s, (size_t)(j->p - s)};
    return 0;
}

static int json_parse(ig_arena *a, const char *p, size_t n, jv *out, const char **err)
{
    jp j = {p, p + n, a, 0, NULL};
    if (parse_value(&j, out)) {
        *err = j.err ? j.err : "out of memory";
        return -1;
    }
    ws(&j);
    if (j.p != j.end) {
        *err = "trailing characters";
        return -1;
    }
    return 0;
}

static const jv *jget(const jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (ig_str_eq_cstr(o->keys[i], key))
            return &o->items[i];
    return NULL;
}

/* ---- Iceberg schema JSON -> pq_field ------------------------------------------------ */

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pqtool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static bool jint(const jv *v, int64_t *out)
{
    return v && (v->t == J_NUM || v->t == J_STR) && ig_str_to_i64(v->s, out) == 0;
}

static void type_from_json(ig_arena *a, const jv *t, pq_field *f);

static const char *cstr(ig_arena *a, ig_str s)
{
    return ig_arena_cstr(a, s);
}

static void fields_from_json(ig_arena *a, const jv *arr, pq_field **out, size_t *n)
{
    if (!arr || arr->t != J_ARR)
        die("schema: struct needs a \"fields\" array");
    pq_field *fs = ig_arena_zalloc(a, (arr->n ? arr->n : 1) * sizeof *fs);
    for (size_t i = 0; i < arr->n; i++) {
        const jv *fj = &arr->items[i];
        int64_t id;
        const jv *name = jget(fj, "name"), *req = jget(fj, "required");
        if (!jint(jget(fj, "id"), &id) || !name || name->t != J_STR)
            die("schema: every field needs an integer id and a name");
        fs[i].id = (int32_t)id;
        fs[i].name = cstr(a, name->s);
        fs[i].required = req && req->t == J_TRUE;
        type_from_json(a, jget(fj, "type"), &fs[i]);
    }
    *out = fs;
    *n = arr->n;
}

static void type_from_json(ig_arena *a, const jv *t, pq_field *f)
{
    if (!t)
        die("schema: field %s has no type", f->name ? f->name : "?");
    if (t->t == J_STR) {
        static const struct {
            const char *n;
            pq_itype t;
        } prims[] = {{"boolean", PQ_T_BOOLEAN}, {"int", PQ_T_INT},
                     {"integer", PQ_T_INT},     {"long", PQ_T_LONG},
                     {"float", PQ_T_FLOAT},     {"double", PQ_T_DOUBLE},
                     {"date", PQ_T_DATE},       {"timestamp", PQ_T_TIMESTAMP},
                     {"timestamptz", PQ_T_TIMESTAMPTZ}, {"string", PQ_T_STRING},
                     {"binary", PQ_T_BINARY},   {"uuid", PQ_T_UUID}};
        for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
            if (ig_str_eq_cstr(t->s, prims[i].n)) {
                f->type = prims[i].t;
                return;
            }
        if (t->s.len > 7 && memcmp(t->s.ptr, "fixed[", 6) == 0 && t->s.ptr[t->s.len - 1] == ']') {
            int64_t l;
            if (ig_str_to_i64((ig_str){t->s.ptr + 6, t->s.len - 7}, &l) || l <= 0 || l > 1 << 20)
                die("schema: bad fixed length in %.*s", (int)t->s.len, t->s.ptr);
            f->type = PQ_T_FIXED;
            f->fixed_len = (int32_t)l;
            return;
        }
        die("schema: unknown type %.*s", (int)t->s.len, t->s.ptr);
    }
    const jv *kind = jget(t, "type");
    if (!kind || kind->t != J_STR)
        die("schema: nested type without \"type\"");
    if (ig_str_eq_cstr(kind->s, "struct")) {
        f->type = PQ_T_STRUCT;
        pq_field *ch;
        size_t n;
        fields_from_json(a, jget(t, "fields"), &ch, &n);
        f->children = ch;
        f->nchildren = n;
        return;
    }
    if (ig_str_eq_cstr(kind->s, "list")) {
        f->type = PQ_T_LIST;
        pq_field *e = ig_arena_zalloc(a, sizeof *e);
        int64_t id;
        if (!jint(jget(t, "element-id"), &id))
            die("schema: list %s needs element-id", f->name);
        e->id = (int32_t)id;
        e->name = "element";
        const jv *r = jget(t, "element-required");
        e->required = r && r->t == J_TRUE;
        type_from_json(a, jget(t, "element"), e);
        f->children = e;
        f->nchildren = 1;
        return;
    }
    if (ig_str_eq_cstr(kind->s, "map")) {
        f->type = PQ_T_MAP;
        pq_field *kvf = ig_arena_zalloc(a, 2 * sizeof *kvf);
        int64_t kid, vid;
        if (!jint(jget(t, "key-id"), &kid) || !jint(jget(t, "value-id"), &vid))
            die("schema: map %s needs key-id and value-id", f->name);
        kvf[0].id = (int32_t)kid;
        kvf[0].name = "key";
        kvf[0].required = true;
        type_from_json(a, jget(t, "key"), &kvf[0]);
        kvf[1].id = (int32_t)vid;
        kvf[1].name = "value";
        const jv *r = jget(t, "value-required");
        kvf[1].required = r && r->t == J_TRUE;
        type_from_json(a, jget(t, "value"), &kvf[1]);
        f->children = kvf;
        f->nchildren = 2;
        return;
    }
    die("schema: unknown nested type %.*s", (int)kind->s.len, kind->s.ptr);
}

/* ---- JSON -> pq_value ------------------------------------------------------------- */

static int unhex(ig_arena *a, ig_str s, ig_str *out)
{
    char *b = ig_arena_alloc(a, s.len / 2 + 1);
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '-')
            continue;
        int h = hexv(s.ptr[i]);
        if (h < 0)
            return -1;
        if (hi < 0)
            hi = h;
        else {
            b[n++] = (char)(hi * 16 + h);
            hi = -1;
        }
    }
    if (hi >= 0)
        return -1;
    *out = (ig_str){b, n};
    return 0;
}

static void to_value(ig_arena *a, const pq_field *f, const jv *j, pq_value *v, long line);

static void scalar(ig_arena *a, pq_itype t, const char *name, const jv *j, pq_value *v, long line)
{
    switch (t) {
    case PQ_T_BOOLEAN:
        if (j->t != J_TRUE && j->t != J_FALSE)
            die("line %ld: %s: expected true/false", line, name);
        v->kind = PQ_V_BOOL;
        v->b = j->t == J_TRUE;
        return;
    case PQ_T_INT:
    case PQ_T_LONG:
    case PQ_T_DATE:
    case PQ_T_TIMESTAMP:
    case PQ_T_TIMESTAMPTZ:
        if ((j->t != J_NUM && j->t != J_STR) || ig_str_to_i64(j->s, &v->i))
            die("line %ld: %s: expected an integer", line, name);
        v->kind = PQ_V_INT;
        return;
    case PQ_T_FLOAT:
    case PQ_T_DOUBLE:
        if ((j->t != J_NUM && j->t != J_STR) || ig_str_to_f64(j->s, &v->d))
            die("line %ld: %s: expected a number", line, name);
        v->kind = PQ_V_DOUBLE;
        return;
    case PQ_T_STRING:
        if (j->t != J_STR)
            die("line %ld: %s: expected a string", line, name);
        v->kind = PQ_V_BYTES;
        v->s = j->s;
        return;
    default:
        if (j->t != J_STR || unhex(a, j->s, &v->s))
            die("line %ld: %s: expected a hex string", line, name);
        v->kind = PQ_V_BYTES;
        return;
    }
}

static void to_value(ig_arena *a, const pq_field *f, const jv *j, pq_value *v, long line)
{
    memset(v, 0, sizeof *v);
    const char *name = f->name ? f->name : "?";
    if (!j || j->t == J_NULL) {
        v->kind = PQ_V_NULL;
        return;
    }
    switch (f->type) {
    case PQ_T_STRUCT:
        if (j->t != J_OBJ)
            die("line %ld: %s: expected an object", line, name);
        v->kind = PQ_V_STRUCT;
        v->n = f->nchildren;
        v->items = ig_arena_zalloc(a, (v->n ? v->n : 1) * sizeof *v->items);
        for (size_t i = 0; i < f->nchildren; i++)
            to_value(a, &f->children[i], jget(j, f->children[i].name), &v->items[i], line);
        return;
    case PQ_T_LIST:
        if (j->t != J_ARR)
            die("line %ld: %s: expected an array", line, name);
        v->kind = PQ_V_LIST;
        v->n = j->n;
        v->items = ig_arena_zalloc(a, (j->n ? j->n : 1) * sizeof *v->items);
        for (size_t i = 0; i < j->n; i++)
            to_value(a, &f->children[0], &j->items[i], &v->items[i], line);
        return;
    case PQ_T_MAP: {
        if (j->t != J_OBJ)
            die("line %ld: %s: expected an object", line, name);
        v->kind = PQ_V_MAP;
        v->n = 2 * j->n;
        v->items = ig_arena_zalloc(a, (v->n ? v->n : 1) * sizeof *v->items);
        for (size_t i = 0; i < j->n; i++) {
            jv key = {.t = J_STR, .s = j->keys[i]};
            if (f->children[0].type == PQ_T_BOOLEAN)
                key.t = ig_str_eq_cstr(j->keys[i], "true") ? J_TRUE : J_FALSE;
            to_value(a, &f->children[0], &key, &v->items[2 * i], line);
            to_value(a, &f->children[1], &j->items[i], &v->items[2 * i + 1], line);
        }
        return;
    }
    default:
        scalar(a, f->type, name, j, v, line);
    }
}

/* ---- Output helpers --------------------------------------------------------------- */

static ig_buf g_out;

static void out_flush(void)
{
    if (g_out.len && fwrite(g_out.data, 1, g_out.len, stdout) != g_out.len)
        die("write to stdout failed");
    ig_buf_reset(&g_out);
}

static void out_maybe_flush(void)
{
    if (g_out.len > (1 << 20))
        out_flush();
}

static void put_hex(ig_buf *b, ig_str s)
{
    static const char hx[] = "0123456789abcdef";
    ig_buf_putc(b, '"');
    ig_buf_reserve(b, s.len * 2);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        char two[2] = {hx[c >> 4], hx[c & 15]};
        ig_buf_append(b, two, 2);
    }
    ig_buf_putc(b, '"');
}

static void put_double(ig_buf *b, double d, bool is_float)
{
    if (isnan(d)) {
        ig_buf_append_cstr(b, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        ig_buf_append_cstr(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[40];
    for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (is_float ? (float)strtod(tmp, NULL) == (float)d : strtod(tmp, NULL) == d)
            break;
    }
    ig_buf_append_cstr(b, tmp);
}

/* Decimal from an unscaled big-endian two's complement integer (up to 16 bytes). */
static void put_decimal_bytes(ig_buf *b, ig_str s, int scale)
{
    if (s.len == 0 || s.len > 16) {
        put_hex(b, s);
        return;
    }
    unsigned __int128 u = 0;
    bool neg = (unsigned char)s.ptr[0] & 0x80;
    for (size_t i = 0; i < s.len; i++)
        u = (u << 8) | (unsigned char)s.ptr[i];
    if (neg && s.len < 16)
        u |= ~(unsigned __int128)0 << (8 * s.len);
    if (neg)
        u = ~u + 1;
    char digits[64];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (n <= scale)
        digits[n++] = '0';
    ig_buf_putc(b, '"');
    if (neg)
        ig_buf_putc(b, '-');
    for (int i = n - 1; i >= 0; i--) {
        ig_buf_putc(b, digits[i]);
        if (i == scale && scale > 0)
            ig_buf_putc(b, '.');
    }
    ig_buf_putc(b, '"');
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static void put_leaf(ig_buf *b, const pq_node *n, const pq_value *v)
{
    switch (v->kind) {
    case PQ_V_NULL:
        ig_buf_append_cstr(b, "null");
        return;
    case PQ_V_BOOL:
        ig_buf_append_cstr(b, v->b ? "true" : "false");
        return;
    case PQ_V_DOUBLE:
        put_double(b, v->d, n->phys == PQ_FLOAT);
        return;
    case PQ_V_INT: {
        int64_t i = v->i;
        if (n->logical == PQ_LT_DECIMAL) {
            uint8_t be[8];
            int w = n->phys == PQ_INT32 ? 4 : 8;
            for (int k = 0; k < w; k++)
                be[k] = (uint8_t)((uint64_t)i >> (8 * (w - 1 - k)));
            put_decimal_bytes(b, (ig_str){(const char *)be, (size_t)w}, n->scale);
            return;
        }
        if (n->logical == PQ_LT_TIMESTAMP) {
            if (n->unit == PQ_UNIT_MILLIS)
                i *= 1000;
            else if (n->unit == PQ_UNIT_NANOS)
                i = floordiv(i, 1000);
        }
        if (n->logical == PQ_LT_INTEGER && !n->int_signed) {
            uint64_t u = n->phys == PQ_INT32 ? (uint64_t)(uint32_t)i : (uint64_t)i;
            ig_buf_printf(b, "%llu", (unsigned long long)u);
            return;
        }
        ig_buf_printf(b, "%lld", (long long)i);
        return;
    }
    case PQ_V_BYTES:
        if (n->phys == PQ_INT96 && v->s.len == 12) {
            uint64_t nanos;
            uint32_t jd;
            memcpy(&nanos, v->s.ptr, 8);
            memcpy(&jd, v->s.ptr + 8, 4);
            int64_t us = ((int64_t)jd - 2440588) * 86400000000LL + (int64_t)(nanos / 1000);
            ig_buf_printf(b, "%lld", (long long)us);
            return;
        }
        if (n->logical == PQ_LT_DECIMAL) {
            put_decimal_bytes(b, v->s, n->scale);
            return;
        }
        if (n->phys == PQ_BYTE_ARRAY &&
            (n->logical == PQ_LT_STRING || n->logical == PQ_LT_JSON || n->logical == PQ_LT_ENUM)) {
            ig_buf_json_str(b, v->s);
            return;
        }
        put_hex(b, v->s);
        return;
    default:
        ig_buf_append_cstr(b, "null");
    }
}

static void put_value(ig_buf *b, const pq_schema *s, int node, const pq_value *v);

static void put_map_key(ig_buf *b, const pq_schema *s, int node, const pq_value *k)
{
    const pq_node *n = &s->nodes[node];
    if (k->kind == PQ_V_BYTES && n->phys == PQ_BYTE_ARRAY &&
        (n->logical == PQ_LT_STRING || n->logical == PQ_LT_JSON || n->logical == PQ_LT_ENUM)) {
        ig_buf_json_str(b, k->s);
        return;
    }
    ig_buf tmp;
    ig_buf_init(&tmp, 0);
    put_value(&tmp, s, node, k);
    ig_str t = ig_buf_str(&tmp);
    if (t.len >= 2 && t.ptr[0] == '"')
        ig_buf_append(b, t.ptr, t.len);
    else
        ig_buf_json_str(b, t);
    ig_buf_free(&tmp);
}

static void put_value(ig_buf *b, const pq_schema *s, int node, const pq_value *v)
{
    const pq_node *n = &s->nodes[node];
    if (v->kind == PQ_V_NULL) {
        ig_buf_append_cstr(b, "null");
        return;
    }
    if (v->kind == PQ_V_LIST) {
        int elem = pq_node_list_element(s, node);
        if (elem < 0)
            elem = node; /* unannotated repeated field: items are its instances */
        ig_buf_putc(b, '[');
        for (size_t i = 0; i < v->n; i++) {
            if (i)
                ig_buf_putc(b, ',');
            put_value(b, s, elem, &v->items[i]);
        }
        ig_buf_putc(b, ']');
        return;
    }
    if (v->kind == PQ_V_MAP) {
        int key = -1, val = -1;
        pq_node_map_kv(s, node, &key, &val);
        ig_buf_putc(b, '{');
        for (size_t i = 0; i + 1 < v->n; i += 2) {
            if (i)
                ig_buf_putc(b, ',');
            put_map_key(b, s, key, &v->items[i]);
            ig_buf_putc(b, ':');
            if (val >= 0)
                put_value(b, s, val, &v->items[i + 1]);
            else
                ig_buf_append_cstr(b, "null");
        }
        ig_buf_putc(b, '}');
        return;
    }
    if (v->kind == PQ_V_STRUCT) {
        ig_buf_putc(b, '{');
        bool first = true;
        for (size_t i = 0; i < v->n && i < (size_t)n->nchildren; i++) {
            if (v->items[i].absent)
                continue;
            const pq_node *c = &s->nodes[n->children[i]];
            if (!first)
                ig_buf_putc(b, ',');
            first = false;
            ig_buf_json_str(b, c->name);
            ig_buf_putc(b, ':');
            put_value(b, s, n->children[i], &v->items[i]);
        }
        ig_buf_putc(b, '}');
        return;
    }
    put_leaf(b, n, v);
}

/* ---- Sources ---------------------------------------------------------------------- */

static int fd_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    int fd = *(int *)ctx;
    char *p = dst;
    while (n) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return IG_EIO;
        p += k;
        off += (uint64_t)k;
        n -= (size_t)k;
    }
    return 0;
}

static pq_file *open_file(const char *path, int *fd)
{
    *fd = open(path, O_RDONLY);
    if (*fd < 0)
        die("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st))
        die("%s: %s", path, strerror(errno));
    pq_source src = {fd_read, fd, (uint64_t)st.st_size};
    pq_file *f;
    ig_errbuf eb = {{0}};
    int rc = pq_open(&f, &src, NULL, &eb);
    if (rc)
        die("%s: %s", path, eb.msg[0] ? eb.msg : ig_strerror(rc));
    return f;
}

/* ---- Commands --------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!fp)
        die("%s: %s", path, strerror(errno));
    ig_buf b;
    ig_buf_init(&b, 0);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        if (ig_buf_append(&b, tmp, n))
            die("%s: out of memory", path);
    if (fp != stdin)
        fclose(fp);
    if (!b.data)
        ig_buf_reserve(&b, 0);
    return ig_buf_detach(&b, len);
}

static bool in_list(const char *list, const char *name, size_t nlen)
{
    const char *p = list;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == nlen && memcmp(p, name, l) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* Does column col match a --columns / --bloom entry (top-level name, dotted leaf path,
 * or a dotted prefix of the path)? */
static bool col_selected(const pq_schema *s, int col, const char *list)
{
    const char *path = s->cols[col].path;
    for (size_t l = 0;; l++) {
        if (path[l] == '.' || path[l] == 0) {
            if (in_list(list, path, l))
                return true;
            if (path[l] == 0)
                return false;
        }
    }
}

static int cmd_write(int argc, char **argv)
{
    pq_writer_opts o = {0};
    const char *bloom = NULL;
    int i = 0;
    bool dict = true;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("%s needs a value", a);
        i++;
        if (!strcmp(a, "--codec")) {
            o.codec_set = true;
            if (!strcmp(v, "zstd"))
                o.codec = PQ_CODEC_ZSTD;
            else if (!strcmp(v, "snappy"))
                o.codec = PQ_CODEC_SNAPPY;
            else if (!strcmp(v, "gzip"))
                o.codec = PQ_CODEC_GZIP;
            else if (!strcmp(v, "none") || !strcmp(v, "uncompressed"))
                o.codec = PQ_CODEC_UNCOMPRESSED;
            else
                die("--codec: unknown codec %s (zstd, snappy, gzip, none)", v);
        } else if (!strcmp(a, "--level")) {
            int64_t lv;
            if (ig_str_to_i64(ig_str_from(v), &lv) || lv < -7 || lv > 22)
                die("--level must be an integer from -7 to 22");
            o.level = (int)lv;
        } else if (!strcmp(a, "--page-version")) {
            int64_t pv;
            o.page_version = ig_str_to_i64(ig_str_from(v), &pv) ? 0 : (int)pv;
            if (o.page_version != 1 && o.page_version != 2)
                die("--page-version must be 1 or 2");
        } else if (!strcmp(a, "--dict")) {
            if (strcmp(v, "on") && strcmp(v, "off"))
                die("--dict must be on or off");
            dict = !strcmp(v, "on");
        } else if (!strcmp(a, "--row-group-rows"))
            o.row_group_rows = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--page-rows"))
            o.page_rows = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--bloom"))
            bloom = v;
        else
            die("write: unknown option %s", a);
    }
    o.no_dict = !dict;
    if (argc - i != 3)
        die("usage: pqtool write [options] SCHEMA.json IN.jsonl OUT.parquet");
    const char *schema_path = argv[i], *in_path = argv[i + 1], *out_path = argv[i + 2];
    ig_arena sa;
    ig_arena_init(&sa, 0);
    size_t slen;
    char *stext = read_all(schema_path, &slen);
    jv sj;
    const char *err;
    if (json_parse(&sa, stext, slen, &sj, &err))
        die("%s: invalid JSON: %s", schema_path, err);
    pq_field root = {0};
    root.name = "root";
    type_from_json(&sa, &sj, &root);
    if (root.type != PQ_T_STRUCT)
        die("%s: the schema must be a struct", schema_path);
    pq_schema *schema;
    ig_errbuf eb = {{0}};
    int rc = pq_schema_build(root.children, root.nchildren, &schema, &eb);
    if (rc)
        die("%s: %s", schema_path, eb.msg);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("%s: %s", out_path, strerror(errno));
    pq_writer *w;
    if ((rc = pq_writer_new(&w, schema, &o, pq_sink_fd(&fd), &eb)))
        die("%s", eb.msg);
    /* Keep the Iceberg schema like Iceberg writers do. */
    ig_buf sjson;
    ig_buf_init(&sjson, 0);
    for (size_t k = 0; k < slen; k++)
        if (stext[k] != '\n' && stext[k] != '\r')
            ig_buf_putc(&sjson, stext[k]);
    pq_writer_add_kv(w, "iceberg.schema", sjson.data ? sjson.data : "");
    ig_buf_free(&sjson);
    if (bloom) {
        bool any = false;
        for (size_t c = 0; c < schema->ncols; c++)
            if (col_selected(schema, (int)c, bloom) && schema->cols[c].phys != PQ_BOOLEAN) {
                pq_writer_set_bloom(w, (int)c, true);
                any = true;
            }
        if (!any)
            die("--bloom: no column matches %s", bloom);
    }
    size_t ilen;
    char *in = read_all(in_path, &ilen);
    ig_arena ra;
    ig_arena_init(&ra, 0);
    long line = 0;
    for (size_t pos = 0; pos < ilen;) {
        const char *nl = memchr(in + pos, '\n', ilen - pos);
        size_t end = nl ? (size_t)(nl - in) : ilen;
        line++;
        ig_str ln = ig_str_trim((ig_str){in + pos, end - pos});
        while (ln.len && ln.ptr[ln.len - 1] == '\r')
            ln.len--;
        pos = end + 1;
        if (ln.len == 0)
            continue;
        ig_arena_reset(&ra);
        jv rj;
        if (json_parse(&ra, ln.ptr, ln.len, &rj, &err))
            die("%s:%ld: invalid JSON: %s", in_path, line, err);
        if (rj.t != J_OBJ)
            die("%s:%ld: each line must be a JSON object", in_path, line);
        pq_value row;
        to_value(&ra, &root, &rj, &row, line);
        if ((rc = pq_writer_append_row(w, &row, &eb)))
            die("%s:%ld: %s", in_path, line, eb.msg[0] ? eb.msg : ig_strerror(rc));
    }
    if ((rc = pq_writer_close(w, NULL, &eb)))
        die("%s: %s", out_path, eb.msg);
    pq_writer_free(w);
    if (fsync(fd) || close(fd))
        die("%s: %s", out_path, strerror(errno));
    pq_schema_free(schema);
    ig_arena_free(&ra);
    ig_arena_free(&sa);
    ig_free(in);
    ig_free(stext);
    return 0;
}

typedef struct cat_ctx {
    const pq_schema *s;
} cat_ctx;

static int emit_row(void *ctx, const pq_value *row)
{
    cat_ctx *c = ctx;
    put_value(&g_out, c->s, 0, row);
    ig_buf_putc(&g_out, '\n');
    out_maybe_flush();
    return 0;
}

static int cmd_cat(int argc, char **argv)
{
    const char *cols = NULL;
    int i = 0;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (!strcmp(argv[i], "--columns") && i + 1 < argc)
            cols = argv[++i];
        else
            die("cat: unknown option %s", argv[i]);
    }
    if (argc - i != 1)
        die("usage: pqtool cat [--columns NAME,NAME] FILE");
    int fd;
    pq_file *f = open_file(argv[i], &fd);
    const pq_schema *s = f->schema;
    pq_colvec *vecs = ig_calloc(s->ncols, sizeof *vecs);
    pq_colvec **ptrs = ig_calloc(s->ncols, sizeof *ptrs);
    bool any = false;
    for (size_t c = 0; c < s->ncols; c++)
        if (!cols || col_selected(s, (int)c, cols)) {
            ptrs[c] = &vecs[c];
            any = true;
        }
    if (!any)
        die("cat: no column matches %s", cols);
    ig_arena scratch;
    ig_arena_init(&scratch, 0);
    cat_ctx cc = {s};
    ig_errbuf eb = {{0}};
    for (size_t rg = 0; rg < f->nrgs; rg++) {
        for (size_t c = 0; c < s->ncols; c++) {
            if (!ptrs[c])
                continue;
            int rc = pq_read_column(f, rg, c, NULL, 0, ptrs[c], &eb);
            if (rc)
                die("%s: row group %zu column %s: %s", argv[i], rg, s->cols[c].path,
                    eb.msg[0] ? eb.msg : ig_strerror(rc));
        }
        int rc = pq_assemble(s, ptrs, &scratch, emit_row, &cc, &eb);
        if (rc)
            die("%s: %s", argv[i], eb.msg[0] ? eb.msg : ig_strerror(rc));
    }
    out_flush();
    for (size_t c = 0; c < s->ncols; c++)
        pq_colvec_free(&vecs[c]);
    ig_free(vecs);
    ig_free(ptrs);
    ig_arena_free(&scratch);
    pq_close(f);
    close(fd);
    return 0;
}

static void put_stat(ig_buf *b, const pq_file *f, int col, ig_str v)
{
    const pq_column *c = &f->schema->cols[col];
    const pq_node *n = &f->schema->nodes[c->node];
    pq_value pv;
    memset(&pv, 0, sizeof pv);
    size_t w = pq_value_width(c->phys, c->type_length);
    if (c->phys != PQ_BYTE_ARRAY && c->phys != PQ_FIXED_LEN_BYTE_ARRAY && v.len < w) {
        ig_buf_append_cstr(b, "null");
        return;
    }
    switch (c->phys) {
    case PQ_BOOLEAN:
        pv.kind = PQ_V_BOOL;
        pv.b = v.ptr[0] != 0;
        break;
    case PQ_INT32: {
        int32_t x;
        memcpy(&x, v.ptr, 4);
        pv.kind = PQ_V_INT;
        pv.i = x;
        break;
    }
    case PQ_INT64:
        pv.kind = PQ_V_INT;
        memcpy(&pv.i, v.ptr, 8);
        break;
    case PQ_FLOAT: {
        float x;
        memcpy(&x, v.ptr, 4);
        pv.kind = PQ_V_DOUBLE;
        pv.d = x;
        break;
    }
    case PQ_DOUBLE:
        pv.kind = PQ_V_DOUBLE;
        memcpy(&pv.d, v.ptr, 8);
        break;
    default:
        pv.kind = PQ_V_BYTES;
        pv.s = v;
    }
    put_leaf(b, n, &pv);
}

static const char *rep_name(int r)
{
    return r == PQ_REQUIRED ? "REQUIRED" : r == PQ_OPTIONAL ? "OPTIONAL" : r == PQ_REPEATED ? "REPEATED" : NULL;
}

static const char *logical_name(const pq_node *n)
{
    switch (n->logical) {
    case PQ_LT_STRING: return "STRING";
    case PQ_LT_MAP: return "MAP";
    case PQ_LT_LIST: return "LIST";
    case PQ_LT_ENUM: return "ENUM";
    case PQ_LT_DECIMAL: return "DECIMAL";
    case PQ_LT_DATE: return "DATE";
    case PQ_LT_TIME: return "TIME";
    case PQ_LT_TIMESTAMP: return "TIMESTAMP";
    case PQ_LT_INTEGER: return "INTEGER";
    case PQ_LT_UNKNOWN: return "UNKNOWN";
    case PQ_LT_JSON: return "JSON";
    case PQ_LT_BSON: return "BSON";
    case PQ_LT_UUID: return "UUID";
    case PQ_LT_FLOAT16: return "FLOAT16";
    default: return NULL;
    }
}

static int cmd_meta(int argc, char **argv)
{
    if (argc != 1)
        die("usage: pqtool meta FILE");
    int fd;
    pq_file *f = open_file(argv[0], &fd);
    const pq_schema *s = f->schema;
    ig_buf *b = &g_out;
    ig_buf_printf(b, "{\"num_rows\":%lld,\"version\":%d,\"created_by\":", (long long)f->num_rows,
                  f->version);
    ig_buf_json_str(b, ig_str_from(f->created_by));
    ig_buf_append_cstr(b, ",\"row_groups\":[");
    for (size_t r = 0; r < f->nrgs; r++) {
        const pq_row_group *rg = &f->rgs[r];
        ig_buf_printf(b, "%s{\"num_rows\":%lld,\"total_byte_size\":%lld,\"columns\":[",
                      r ? "," : "", (long long)rg->num_rows, (long long)rg->total_byte_size);
        for (size_t c = 0; c < s->ncols; c++) {
            const pq_chunk *ch = &rg->cols[c];
            if (c)
                ig_buf_putc(b, ',');
            ig_buf_append_cstr(b, "{\"path\":");
            ig_buf_json_str(b, ig_str_from(s->cols[c].path));
            ig_buf_printf(b, ",\"physical_type\":\"%s\",\"codec\":\"%s\",\"encodings\":[",
                          pq_phys_name(ch->phys), pq_codec_name(ch->codec));
            bool first = true;
            for (int e = 0; e < 32; e++)
                if (ch->encodings & (1u << e)) {
                    ig_buf_printf(b, "%s\"%s\"", first ? "" : ",", pq_encoding_name(e));
                    first = false;
                }
            ig_buf_printf(b, "],\"num_values\":%lld,\"total_compressed_size\":%lld,"
                          "\"total_uncompressed_size\":%lld,\"null_count\":",
                          (long long)ch->num_values, (long long)ch->total_compressed,
                          (long long)ch->total_uncompressed);
            if (ch->stats.has_null_count)
                ig_buf_printf(b, "%lld", (long long)ch->stats.null_count);
            else
                ig_buf_append_cstr(b, "null");
            ig_buf_append_cstr(b, ",\"min\":");
            if (ch->stats.has_min)
                put_stat(b, f, (int)c, ch->stats.min);
            else
                ig_buf_append_cstr(b, "null");
            ig_buf_append_cstr(b, ",\"max\":");
            if (ch->stats.has_max)
                put_stat(b, f, (int)c, ch->stats.max);
            else
                ig_buf_append_cstr(b, "null");
            ig_buf_printf(b, ",\"is_min_exact\":%s,\"is_max_exact\":%s",
                          ch->stats.min_exact ? "true" : "false",
                          ch->stats.max_exact ? "true" : "false");
            ig_buf_printf(b, ",\"has_bloom_filter\":%s,\"has_page_index\":%s}",
                          ch->bloom_offset >= 0 ? "true" : "false",
                          ch->offset_index_offset >= 0 ? "true" : "false");
        }
        ig_buf_append_cstr(b, "]}");
    }
    ig_buf_append_cstr(b, "],\"schema\":[");
    for (size_t k = 0; k < s->nnodes; k++) {
        const pq_node *n = &s->nodes[k];
        ig_buf_append_cstr(b, k ? ",{\"name\":" : "{\"name\":");
        ig_buf_json_str(b, n->name);
        if (n->has_field_id)
            ig_buf_printf(b, ",\"field_id\":%d", n->field_id);
        if (rep_name(n->repetition))
            ig_buf_printf(b, ",\"repetition\":\"%s\"", rep_name(n->repetition));
        if (n->col >= 0) {
            ig_buf_printf(b, ",\"physical_type\":\"%s\"", pq_phys_name((pq_phys)n->phys));
            if (n->phys == PQ_FIXED_LEN_BYTE_ARRAY)
                ig_buf_printf(b, ",\"type_length\":%d", n->type_length);
        } else
            ig_buf_printf(b, ",\"num_children\":%d", n->nchildren);
        if (logical_name(n)) {
            ig_buf_printf(b, ",\"logical_type\":\"%s\"", logical_name(n));
            if (n->logical == PQ_LT_TIMESTAMP || n->logical == PQ_LT_TIME)
                ig_buf_printf(b, ",\"unit\":\"%s\",\"is_adjusted_to_utc\":%s",
                              n->unit == PQ_UNIT_MILLIS ? "MILLIS"
                              : n->unit == PQ_UNIT_NANOS ? "NANOS" : "MICROS",
                              n->ts_utc ? "true" : "false");
        }
        if (n->converted != PQ_CT_NONE)
            ig_buf_printf(b, ",\"converted_type\":%d", n->converted);
        ig_buf_putc(b, '}');
    }
    ig_buf_append_cstr(b, "],\"key_value_metadata\":{");
    for (size_t k = 0; k < f->nkv; k++) {
        if (k)
            ig_buf_putc(b, ',');
        ig_buf_json_str(b, ig_str_from(f->kv[k].key));
        ig_buf_putc(b, ':');
        if (f->kv[k].value)
            ig_buf_json_str(b, ig_str_from(f->kv[k].value));
        else
            ig_buf_append_cstr(b, "null");
    }
    ig_buf_append_cstr(b, "}}\n");
    out_flush();
    pq_close(f);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    ig_buf_init(&g_out, 0);
    if (argc < 2)
        die("usage: pqtool write|cat|meta ...");
    int rc;
    if (!strcmp(argv[1], "write"))
        rc = cmd_write(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "cat"))
        rc = cmd_cat(argc - 2, argv + 2);
    else if (!strcmp(argv[1], "meta"))
        rc = cmd_meta(argc - 2, argv + 2);
    else
        die("unknown command %s (write, cat, meta)", argv[1]);
    ig_buf_free(&g_out);
    return rc;
}
