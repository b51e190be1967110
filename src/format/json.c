/* JSON pull reader, number conversion, writer, and the base64/hex codecs.
 * See include/icegate/json.h and docs/wire-formats.md. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/json.h"

enum { ST_VALUE, ST_FIRST, ST_AFTER, ST_KEY, ST_DONE };

const char *json_type_name(int type)
{
    switch (type) {
    case JSON_EOF:
        return "end of input";
    case JSON_OBJ:
        return "object";
    case JSON_OBJ_END:
        return "'}'";
    case JSON_ARR:
        return "array";
    case JSON_ARR_END:
        return "']'";
    case JSON_KEY:
        return "object key";
    case JSON_STRING:
        return "string";
    case JSON_NUMBER:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    default:
        return "?";
    }
}

/* 1 for bytes that may appear unescaped in a string and need no further check:
 * 0x20..0x7F except '"' and '\\'. */
/* clang-format off */
static const uint8_t plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0),
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x22: '"' */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50: '\\' */
    R16(1), R16(1),
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)
#undef R16
};
/* clang-format on */

void json_reader_init(json_reader *r, ig_str in, ig_errbuf *eb)
{
    r->in = in.ptr ? (const uint8_t *)in.ptr : (const uint8_t *)"";
    r->len = in.ptr ? in.len : 0;
    r->pos = 0;
    r->eb = eb;
    r->arena = NULL;
    r->flags = 0;
    r->max_depth = JSON_DEFAULT_DEPTH;
    r->depth = 0;
    r->state = ST_VALUE;
    r->rc = 0;
    /* A decoded string is never longer than its encoded form. */
    ig_buf_init(&r->kscratch, r->len + 16);
    ig_buf_init(&r->vscratch, r->len + 16);
}

void json_reader_free(json_reader *r)
{
    ig_buf_free(&r->kscratch);
    ig_buf_free(&r->vscratch);
}

__attribute__((format(printf, 4, 5))) static int fail(json_reader *r, int code, size_t off,
                                                      const char *fmt, ...)
{
    if (r->rc)
        return r->rc;
    if (r->eb) {
        char m[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m, sizeof m, fmt, ap);
        va_end(ap);
        snprintf(r->eb->msg, sizeof r->eb->msg, "json: %s at byte %zu", m, off);
    }
    r->rc = code;
    return code;
}

/* Describes the byte at off for messages: "'x'", "byte 0x0a" or "end of input". */
static const char *desc(const json_reader *r, size_t off, char buf[16])
{
    if (off >= r->len)
        return "end of input";
    unsigned c = r->in[off];
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", (char)c);
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

static inline void skip_ws(json_reader *r)
{
    while (r->pos < r->len) {
        uint8_t c = r->in[r->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        r->pos++;
    }
}

static inline bool top_is_obj(const json_reader *r)
{
    int d = r->depth - 1;
    return d >= 0 && ((r->stack[d >> 6] >> (d & 63)) & 1);
}

static inline void after_value(json_reader *r)
{
    r->state = r->depth ? ST_AFTER : ST_DONE;
}

/* Consumes whitespace and separators so that r->state is ST_VALUE, ST_KEY or ST_DONE, or
 * ST_FIRST/ST_AFTER with the matching closing bracket at r->pos. */
static int prep(json_reader *r)
{
    char b[16];
    if (r->rc)
        return r->rc;
    skip_ws(r);
    if (r->state == ST_AFTER) {
        bool obj = top_is_obj(r);
        if (r->pos < r->len) {
            uint8_t c = r->in[r->pos];
            if (c == ',') {
                size_t comma = r->pos++;
                skip_ws(r);
                if (r->pos < r->len && (r->in[r->pos] == '}' || r->in[r->pos] == ']'))
                    return fail(r, IG_ECORRUPT, comma, "trailing comma before '%c'", r->in[r->pos]);
                r->state = obj ? ST_KEY : ST_VALUE;
                return 0;
            }
            if (c == (obj ? '}' : ']'))
                return 0;
        }
        return fail(r, IG_ECORRUPT, r->pos, "expected ',' or '%c' after %s, got %s",
                    obj ? '}' : ']', obj ? "object member" : "array element", desc(r, r->pos, b));
    }
    if (r->state == ST_FIRST) {
        bool obj = top_is_obj(r);
        if (r->pos < r->len && r->in[r->pos] == (obj ? '}' : ']'))
            return 0;
        r->state = obj ? ST_KEY : ST_VALUE;
    }
    return 0;
}

/* Length (1..4) of the valid UTF-8 sequence at p (first byte >= 0x80), or 0. */
static inline size_t utf8_len(const uint8_t *p, size_t n)
{
    unsigned c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    } else if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0) /* overlong */
            return 0;
        if (c == 0xED && p[1] >= 0xA0) /* UTF-16 surrogates */
            return 0;
        return 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) /* overlong */
            return 0;
        if (c == 0xF4 && p[1] >= 0x90) /* above U+10FFFF */
            return 0;
        return 4;
    }
    return 0;
}

static int hex4(const uint8_t *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(uint8_t *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether any of the 8 bytes in x is < 0x20, '"', '\\' or >= 0x80 (exact). */
static inline bool swar_special(uint64_t x)
{
    uint64_t lt20 = (x - ONES * 0x20) & ~x;
    uint64_t q = x ^ (ONES * '"');
    uint64_t bs = x ^ (ONES * '\\');
    uint64_t eq = ((q - ONES) & ~q) | ((bs - ONES) & ~bs);
    return ((lt20 | eq | x) & HIGHS) != 0;
}

/* The string starting with '"' at r->pos. Sets *out (a view, or decoded into sb; sb NULL:
 * validate only) and moves past the closing quote. */
static int parse_string(json_reader *r, ig_buf *sb, ig_str *out, bool *escaped)
{
    const uint8_t *in = r->in;
    size_t n = r->len, open = r->pos, start = r->pos + 1, i = start;
    for (;;) {
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, in + i, 8);
            if (swar_special(x))
                break;
            i += 8;
        }
        while (i < n && plain[in[i]])
            i++;
        if (i >= n)
            return fail(r, IG_ECORRUPT, open, "unterminated string");
        unsigned c = in[i];
        if (c == '"') {
            out->ptr = (const char *)in + start;
            out->len = i - start;
            *escaped = false;
            r->pos = i + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c < 0x20)
            return fail(r, IG_ECORRUPT, i, "unescaped control character 0x%02x in string", c);
        size_t l = utf8_len(in + i, n - i);
        if (!l)
            return fail(r, IG_ECORRUPT, i, "invalid UTF-8 (byte 0x%02x) in string", c);
        i += l;
    }
    /* Slow path: escapes. */
    int rc;
    if (sb) {
        ig_buf_reset(sb);
        if ((rc = ig_buf_append(sb, in + start, i - start)))
            return fail(r, rc, i, "string too long to decode");
    }
    for (;;) {
        if (i >= n)
            return fail(r, IG_ECORRUPT, open, "unterminated string");
        unsigned c = in[i];
        if (c == '"')
            break;
        uint8_t u[8];
        size_t ul = 0;
        if (c == '\\') {
            if (i + 1 >= n)
                return fail(r, IG_ECORRUPT, open, "unterminated string");
            unsigned e = in[i + 1];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                u[0] = (uint8_t)e;
                break;
            case 'b':
                u[0] = '\b';
                break;
            case 'f':
                u[0] = '\f';
                break;
            case 'n':
                u[0] = '\n';
                break;
            case 'r':
                u[0] = '\r';
                break;
            case 't':
                u[0] = '\t';
                break;
            case 'u': {
                unsigned cp, lo;
                if (n - i < 6 || hex4(in + i + 2, &cp))
                    return fail(r, IG_ECORRUPT, i, "invalid \\u escape (needs 4 hex digits)");
                size_t el = 6;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (n - i >= 12 && in[i + 6] == '\\' && in[i + 7] == 'u' &&
                        hex4(in + i + 8, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        el = 12;
                    } else if (r->flags & JSON_LONE_SURROGATE_FFFD) {
                        cp = 0xFFFD;
                    } else {
                        return fail(r, IG_ECORRUPT, i,
                                    "lone UTF-16 surrogate \\u%04X (high surrogate without a "
                                    "low one)",
                                    cp);
                    }
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    if (r->flags & JSON_LONE_SURROGATE_FFFD)
                        cp = 0xFFFD;
                    else
                        return fail(r, IG_ECORRUPT, i,
                                    "lone UTF-16 surrogate \\u%04X (low surrogate without a "
                                    "high one)",
                                    cp);
                }
                ul = utf8_put(u, cp);
                i += el;
                break;
            }
            default: {
                char b[16];
                return fail(r, IG_ECORRUPT, i, "invalid escape '\\' followed by %s",
                            desc(r, i + 1, b));
            }
            }
            if (e != 'u') {
                ul = 1;
                i += 2;
            }
            if (sb && (rc = ig_buf_append(sb, u, ul)))
                return fail(r, rc, i, "string too long to decode");
            continue;
        }
        /* A run of plain bytes and valid UTF-8 sequences. */
        size_t j = i;
        for (;;) {
            while (j < n && plain[in[j]])
                j++;
            if (j >= n || in[j] < 0x80)
                break;
            size_t l = utf8_len(in + j, n - j);
            if (!l)
                return fail(r, IG_ECORRUPT, j, "invalid UTF-8 (byte 0x%02x) in string", in[j]);
            j += l;
        }
        if (j == i) {
            if (i < n && in[i] < 0x20)
                return fail(r, IG_ECORRUPT, i, "unescaped control character 0x%02x in string",
                            in[i]);
            continue; /* '"', '\\' or end: handled above */
        }
        if (sb && (rc = ig_buf_append(sb, in + i, j - i)))
            return fail(r, rc, i, "string too long to decode");
        i = j;
    }
    r->pos = i + 1;
    *escaped = true;
    if (!sb) {
        *out = ig_str_make(in + start, i - start);
        return 0;
    }
    if (!sb->data && (rc = ig_buf_reserve(sb, 0)))
        return fail(r, rc, open, "out of memory decoding a string");
    *out = ig_buf_str(sb);
    if (r->arena) {
        ig_str c = ig_arena_strdup(r->arena, *out);
        if (!c.ptr)
            return fail(r, IG_ENOMEM, open, "arena full while decoding a string");
        *out = c;
    }
    return 0;
}

/* Length of the JSON number at p (0 if none), *why set on failure. */
static size_t num_scan(const uint8_t *p, size_t n, const char **why)
{
    size_t i = 0;
#define DIG(k) ((k) < n && p[k] >= '0' && p[k] <= '9')
    if (i < n && p[i] == '-')
        i++;
    if (!DIG(i)) {
        *why = "expected a digit";
        return 0;
    }
    if (p[i] == '0') {
        i++;
        if (DIG(i)) {
            *why = "leading zero in number";
            return 0;
        }
    } else {
        while (DIG(i))
            i++;
    }
    if (i < n && p[i] == '.') {
        i++;
        if (!DIG(i)) {
            *why = "expected a digit after '.'";
            return 0;
        }
        while (DIG(i))
            i++;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        if (!DIG(i)) {
            *why = "expected a digit in exponent";
            return 0;
        }
        while (DIG(i))
            i++;
    }
#undef DIG
    return i;
}

bool json_is_number(ig_str s)
{
    const char *why;
    return s.len && num_scan((const uint8_t *)s.ptr, s.len, &why) == s.len;
}

static int push(json_reader *r, bool obj)
{
    int lim = r->max_depth > 0 && r->max_depth < JSON_DEPTH_LIMIT ? r->max_depth : JSON_DEPTH_LIMIT;
    if (r->depth >= lim)
        return fail(r, IG_ECORRUPT, r->pos, "nesting deeper than %d", lim);
    int d = r->depth++;
    if (obj)
        r->stack[d >> 6] |= 1ull << (d & 63);
    else
        r->stack[d >> 6] &= ~(1ull << (d & 63));
    r->pos++;
    r->state = ST_FIRST;
    return 0;
}

static int next_tok(json_reader *r, json_tok *t, bool decode)
{
    char b[16];
    int rc = prep(r);
    if (rc < 0)
        return rc;
    size_t n = r->len;
    t->off = r->pos;
    t->escaped = false;
    t->str = IG_STR_NULL;
    switch (r->state) {
    case ST_DONE:
        if (r->pos == n) {
            t->type = JSON_EOF;
            return 0;
        }
        return fail(r, IG_ECORRUPT, r->pos, "unexpected %s after the top-level value",
                    desc(r, r->pos, b));
    case ST_FIRST:
    case ST_AFTER: /* prep left the closing bracket at pos */
        t->type = r->in[r->pos] == '}' ? JSON_OBJ_END : JSON_ARR_END;
        t->str = ig_str_make(r->in + r->pos, 1);
        r->pos++;
        r->depth--;
        after_value(r);
        return 1;
    case ST_KEY:
        if (r->pos >= n || r->in[r->pos] != '"')
            return fail(r, IG_ECORRUPT, r->pos, "expected a string object key, got %s",
                        desc(r, r->pos, b));
        if ((rc = parse_string(r, decode ? &r->kscratch : NULL, &t->str, &t->escaped)))
            return rc;
        skip_ws(r);
        if (r->pos >= n || r->in[r->pos] != ':')
            return fail(r, IG_ECORRUPT, r->pos, "expected ':' after object key, got %s",
                        desc(r, r->pos, b));
        r->pos++;
        r->state = ST_VALUE;
        t->type = JSON_KEY;
        return 1;
    default:
        break;
    }
    /* ST_VALUE */
    if (r->pos >= n)
        return fail(r, IG_ECORRUPT, r->pos, "unexpected end of input, expected a value");
    uint8_t c = r->in[r->pos];
    switch (c) {
    case '{':
    case '[':
        if ((rc = push(r, c == '{')))
            return rc;
        t->type = c == '{' ? JSON_OBJ : JSON_ARR;
        t->str = ig_str_make(r->in + t->off, 1);
        return 1;
    case '"':
        if ((rc = parse_string(r, decode ? &r->vscratch : NULL, &t->str, &t->escaped)))
            return rc;
        t->type = JSON_STRING;
        after_value(r);
        return 1;
    case 't':
    case 'f':
    case 'n': {
        const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
        size_t ll = c == 'f' ? 5 : 4;
        if (n - r->pos < ll || memcmp(r->in + r->pos, lit, ll) != 0)
            return fail(r, IG_ECORRUPT, r->pos, "invalid literal (expected %s)", lit);
        t->type = c == 't' ? JSON_TRUE : c == 'f' ? JSON_FALSE : JSON_NULL;
        t->str = ig_str_make(r->in + r->pos, ll);
        r->pos += ll;
        after_value(r);
        return 1;
    }
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            const char *why = "";
            size_t l = num_scan(r->in + r->pos, n - r->pos, &why);
            if (!l)
                return fail(r, IG_ECORRUPT, r->pos, "invalid number: %s", why);
            t->type = JSON_NUMBER;
            t->str = ig_str_make(r->in + r->pos, l);
            r->pos += l;
            after_value(r);
            return 1;
        }
        return fail(r, IG_ECORRUPT, r->pos, "expected a value, got %s", desc(r, r->pos, b));
    }
}

int json_next(json_reader *r, json_tok *t)
{
    return next_tok(r, t, true);
}

int json_peek(json_reader *r)
{
    char b[16];
    int rc = prep(r);
    if (rc < 0)
        return rc;
    switch (r->state) {
    case ST_DONE:
        if (r->pos == r->len)
            return JSON_EOF;
        return fail(r, IG_ECORRUPT, r->pos, "unexpected %s after the top-level value",
                    desc(r, r->pos, b));
    case ST_FIRST:
    case ST_AFTER:
        return r->in[r->pos] == '}' ? JSON_OBJ_END : JSON_ARR_END;
    case ST_KEY:
        return JSON_KEY;
    default:
        break;
    }
    if (r->pos >= r->len)
        return fail(r, IG_ECORRUPT, r->pos, "unexpected end of input, expected a value");
    switch (r->in[r->pos]) {
    case '{':
        return JSON_OBJ;
    case '[':
        return JSON_ARR;
    case '"':
        return JSON_STRING;
    case 't':
        return JSON_TRUE;
    case 'f':
        return JSON_FALSE;
    case 'n':
        return JSON_NULL;
    default:
        if (r->in[r->pos] == '-' || (r->in[r->pos] >= '0' && r->in[r->pos] <= '9'))
            return JSON_NUMBER;
        return fail(r, IG_ECORRUPT, r->pos, "expected a value, got %s", desc(r, r->pos, b));
    }
}

static int type_err(json_reader *r, const char *want, int got)
{
    return fail(r, IG_ECORRUPT, r->pos, "expected %s, got %s", want, json_type_name(got));
}

/* Consumes the next value, which must be of type want (or want2). */
static int expect(json_reader *r, const char *what, int want, int want2, json_tok *t)
{
    int ty = json_peek(r);
    if (ty < 0)
        return ty;
    if (ty != want && ty != want2)
        return type_err(r, what, ty);
    int rc = next_tok(r, t, true);
    return rc < 0 ? rc : 0;
}

int json_obj_begin(json_reader *r)
{
    json_tok t;
    return expect(r, "object", JSON_OBJ, JSON_OBJ, &t);
}

int json_arr_begin(json_reader *r)
{
    json_tok t;
    return expect(r, "array", JSON_ARR, JSON_ARR, &t);
}

int json_obj_next_key(json_reader *r, ig_str *key)
{
    if (r->rc)
        return r->rc;
    if (!top_is_obj(r) || r->state == ST_VALUE || r->state == ST_DONE)
        return fail(r, IG_EINVAL, r->pos, "json_obj_next_key called where no key can follow");
    json_tok t;
    int rc = next_tok(r, &t, true);
    if (rc < 0)
        return rc;
    if (t.type == JSON_KEY) {
        *key = t.str;
        return 1;
    }
    return 0; /* JSON_OBJ_END */
}

int json_arr_next(json_reader *r)
{
    if (r->rc)
        return r->rc;
    if (r->depth == 0 || top_is_obj(r) || r->state == ST_DONE)
        return fail(r, IG_EINVAL, r->pos, "json_arr_next called outside an array");
    int rc = prep(r);
    if (rc < 0)
        return rc;
    if (r->state == ST_VALUE)
        return 1;
    json_tok t;
    rc = next_tok(r, &t, true); /* the ']' */
    return rc < 0 ? rc : 0;
}

int json_str(json_reader *r, ig_str *out)
{
    json_tok t;
    int rc = expect(r, "string", JSON_STRING, JSON_STRING, &t);
    if (rc == 0)
        *out = t.str;
    return rc;
}

int json_bool(json_reader *r, bool *out)
{
    json_tok t;
    int rc = expect(r, "boolean", JSON_TRUE, JSON_FALSE, &t);
    if (rc == 0)
        *out = t.type == JSON_TRUE;
    return rc;
}

int json_number(json_reader *r, ig_str *raw)
{
    json_tok t;
    int rc = expect(r, "number", JSON_NUMBER, JSON_NUMBER, &t);
    if (rc == 0)
        *raw = t.str;
    return rc;
}

int json_null(json_reader *r)
{
    int ty = json_peek(r);
    if (ty < 0)
        return ty;
    if (ty != JSON_NULL)
        return 0;
    json_tok t;
    int rc = next_tok(r, &t, false);
    return rc < 0 ? rc : 1;
}

/* The next value as number text: a number, or a string (holding a number). */
static int num_text(json_reader *r, const char *what, json_tok *t)
{
    return expect(r, what, JSON_NUMBER, JSON_STRING, t);
}

static int int_err(json_reader *r, json_tok *t, int rc, const char *type)
{
    int n = t->str.len > 40 ? 40 : (int)t->str.len;
    if (rc == IG_ERANGE)
        return fail(r, IG_ERANGE, t->off, "integer %.*s%s out of range for %s", n, t->str.ptr,
                    t->str.len > 40 ? "..." : "", type);
    return fail(r, IG_ECORRUPT, t->off, "invalid %s value \"%.*s%s\"", type, n,
                t->str.ptr ? t->str.ptr : "", t->str.len > 40 ? "..." : "");
}

int json_i64(json_reader *r, int64_t *out)
{
    json_tok t;
    int rc = num_text(r, "integer (number or string)", &t);
    if (rc < 0)
        return rc;
    if ((rc = json_num_i64(t.str, out)))
        return int_err(r, &t, rc, "int64");
    return 0;
}

int json_u64(json_reader *r, uint64_t *out)
{
    json_tok t;
    int rc = num_text(r, "integer (number or string)", &t);
    if (rc < 0)
        return rc;
    if ((rc = json_num_u64(t.str, out)))
        return int_err(r, &t, rc, "uint64");
    return 0;
}

int json_f64(json_reader *r, double *out)
{
    json_tok t;
    int rc = num_text(r, "number (or string)", &t);
    if (rc < 0)
        return rc;
    if (t.type == JSON_STRING) {
        if (ig_str_eq_cstr(t.str, "NaN")) {
            *out = NAN;
            return 0;
        }
        if (ig_str_eq_cstr(t.str, "Infinity")) {
            *out = INFINITY;
            return 0;
        }
        if (ig_str_eq_cstr(t.str, "-Infinity")) {
            *out = -INFINITY;
            return 0;
        }
    }
    if ((rc = json_num_f64(t.str, out))) {
        int n = t.str.len > 40 ? 40 : (int)t.str.len;
        if (rc == IG_ERANGE)
            return fail(r, IG_ERANGE, t.off, "number %.*s%s out of range for a double", n,
                        t.str.ptr, t.str.len > 40 ? "..." : "");
        return fail(r, IG_ECORRUPT, t.off, "invalid double value \"%.*s%s\"", n,
                    t.str.ptr ? t.str.ptr : "", t.str.len > 40 ? "..." : "");
    }
    return 0;
}

int json_skip(json_reader *r)
{
    int ty = json_peek(r);
    if (ty < 0)
        return ty;
    if (ty == JSON_EOF || ty == JSON_KEY || ty == JSON_OBJ_END || ty == JSON_ARR_END)
        return type_err(r, "a value", ty);
    int d = r->depth;
    json_tok t;
    do {
        int rc = next_tok(r, &t, false);
        if (rc < 0)
            return rc;
    } while (r->depth > d);
    return 0;
}

int json_raw(json_reader *r, ig_str *raw)
{
    int ty = json_peek(r);
    if (ty < 0)
        return ty;
    size_t start = r->pos;
    int rc = json_skip(r);
    if (rc < 0)
        return rc;
    *raw = ig_str_make(r->in + start, r->pos - start);
    return 0;
}

int json_end(json_reader *r)
{
    char b[16];
    if (r->rc)
        return r->rc;
    skip_ws(r);
    if (r->state != ST_DONE)
        return fail(r, IG_EINVAL, r->pos, "json_end called before the top-level value ended");
    if (r->pos != r->len)
        return fail(r, IG_ECORRUPT, r->pos, "unexpected %s after the top-level value",
                    desc(r, r->pos, b));
    return 0;
}

/* ---- Numbers --------------------------------------------------------------------- */

/* Exact integer value of JSON number text: sign and magnitude. */
static int num_int(ig_str s, bool *neg, uint64_t *mag)
{
    const uint8_t *p = (const uint8_t *)s.ptr;
    const char *why;
    if (!s.len || num_scan(p, s.len, &why) != s.len)
        return IG_EINVAL;
    size_t i = 0;
    *neg = p[0] == '-';
    if (*neg)
        i++;
    const uint8_t *ip = p + i;
    size_t il = 0;
    while (i < s.len && p[i] >= '0' && p[i] <= '9') {
        i++;
        il++;
    }
    if (i == s.len) { /* plain integer: the fast path */
        uint64_t v = 0;
        for (size_t k = 0; k < il; k++) {
            unsigned d = ip[k] - '0';
            if (v > (UINT64_MAX - d) / 10)
                return IG_ERANGE;
            v = v * 10 + d;
        }
        *mag = v;
        return 0;
    }
    const uint8_t *fp = p + i;
    size_t fl = 0;
    if (p[i] == '.') {
        fp = p + ++i;
        while (i < s.len && p[i] >= '0' && p[i] <= '9') {
            i++;
            fl++;
        }
    }
    int64_t e = 0;
    if (i < s.len) { /* 'e' / 'E' */
        i++;
        bool eneg = false;
        if (p[i] == '+' || p[i] == '-')
            eneg = p[i++] == '-';
        for (; i < s.len; i++)
            if (e < 1000000000000LL)
                e = e * 10 + (p[i] - '0');
        if (eneg)
            e = -e;
    }
#define VD(k) ((k) < il ? ip[k] : fp[(k)-il])
    size_t total = il + fl, first = 0, last = total;
    while (first < total && VD(first) == '0')
        first++;
    if (first == total) {
        *mag = 0;
        return 0;
    }
    while (VD(last - 1) == '0')
        last--;
    int64_t exp10 = e - (int64_t)fl + (int64_t)(total - last);
    if (exp10 < 0)
        return IG_EINVAL; /* not integral */
    if ((int64_t)(last - first) + exp10 > 20)
        return IG_ERANGE;
    uint64_t v = 0;
    for (size_t k = first; k < last; k++) {
        unsigned d = VD(k) - '0';
        if (v > (UINT64_MAX - d) / 10)
            return IG_ERANGE;
        v = v * 10 + d;
    }
#undef VD
    for (int64_t k = 0; k < exp10; k++) {
        if (v > UINT64_MAX / 10)
            return IG_ERANGE;
        v *= 10;
    }
    *mag = v;
    return 0;
}

int json_num_i64(ig_str s, int64_t *out)
{
    bool neg;
    uint64_t m;
    int rc = num_int(s, &neg, &m);
    if (rc)
        return rc;
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1)
            return IG_ERANGE;
        *out = (int64_t)(0 - m);
    } else {
        if (m > (uint64_t)INT64_MAX)
            return IG_ERANGE;
        *out = (int64_t)m;
    }
    return 0;
}

int json_num_u64(ig_str s, uint64_t *out)
{
    bool neg;
    uint64_t m;
    int rc = num_int(s, &neg, &m);
    if (rc)
        return rc;
    if (neg && m)
        return IG_ERANGE;
    *out = m;
    return 0;
}

int json_num_f64(ig_str s, double *out)
{
    if (!json_is_number(s))
        return IG_EINVAL;
    char small[64];
    char *tmp = small;
    if (s.len >= sizeof small) {
        tmp = ig_malloc(s.len + 1);
        if (!tmp)
            return IG_ENOMEM;
    }
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = 0;
    errno = 0;
    char *end;
    double v = strtod(tmp, &end);
    int rc = 0;
    if (end != tmp + s.len)
        rc = IG_EINVAL;
    else if (errno == ERANGE && isinf(v))
        rc = IG_ERANGE;
    if (tmp != small)
        ig_free(tmp);
    if (rc == 0)
        *out = v;
    return rc;
}

/* ---- Writer ---------------------------------------------------------------------- */

void json_writer_init(json_writer *w, ig_buf *out)
{
    w->out = out;
    w->rc = 0;
    w->depth = 0;
    w->need_comma = false;
    w->after_key = false;
}

int json_writer_finish(const json_writer *w)
{
    if (w->rc)
        return w->rc;
    return w->depth || w->after_key ? IG_EINVAL : 0;
}

static bool w_top_obj(const json_writer *w)
{
    int d = w->depth - 1;
    return d >= 0 && ((w->obj[d >> 6] >> (d & 63)) & 1);
}

static void w_put(json_writer *w, const void *p, size_t n)
{
    if (w->rc)
        return;
    int rc = ig_buf_append(w->out, p, n);
    if (rc)
        w->rc = rc;
}

/* Separator before a value; false if the writer has failed or a key is missing. */
static bool w_value(json_writer *w)
{
    if (w->rc)
        return false;
    if (w->after_key) {
        w->after_key = false;
    } else {
        if (w_top_obj(w)) {
            w->rc = IG_EINVAL;
            return false;
        }
        if (w->need_comma)
            w_put(w, ",", 1);
    }
    w->need_comma = true;
    return w->rc == 0;
}

static void w_open(json_writer *w, bool obj)
{
    if (!w_value(w))
        return;
    if (w->depth >= JSON_DEPTH_LIMIT) {
        w->rc = IG_EINVAL;
        return;
    }
    int d = w->depth++;
    if (obj)
        w->obj[d >> 6] |= 1ull << (d & 63);
    else
        w->obj[d >> 6] &= ~(1ull << (d & 63));
    w_put(w, obj ? "{" : "[", 1);
    w->need_comma = false;
}

static void w_close(json_writer *w, bool obj)
{
    if (w->rc)
        return;
    if (w->depth == 0 || w_top_obj(w) != obj || w->after_key) {
        w->rc = IG_EINVAL;
        return;
    }
    w->depth--;
    w_put(w, obj ? "}" : "]", 1);
    w->need_comma = true;
}

void json_w_obj_begin(json_writer *w)
{
    w_open(w, true);
}
void json_w_obj_end(json_writer *w)
{
    w_close(w, true);
}
void json_w_arr_begin(json_writer *w)
{
    w_open(w, false);
}
void json_w_arr_end(json_writer *w)
{
    w_close(w, false);
}

void json_w_key(json_writer *w, ig_str key)
{
    if (w->rc)
        return;
    if (!w_top_obj(w) || w->after_key) {
        w->rc = IG_EINVAL;
        return;
    }
    if (w->need_comma)
        w_put(w, ",", 1);
    if (w->rc)
        return;
    int rc = ig_buf_json_str(w->out, key);
    if (!rc)
        rc = ig_buf_putc(w->out, ':');
    if (rc)
        w->rc = rc;
    w->after_key = true;
    w->need_comma = true;
}

void json_w_str(json_writer *w, ig_str s)
{
    if (!w_value(w))
        return;
    int rc = ig_buf_json_str(w->out, s);
    if (rc)
        w->rc = rc;
}

void json_w_i64(json_writer *w, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    if (w_value(w))
        w_put(w, b, (size_t)n);
}

void json_w_u64(json_writer *w, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    if (w_value(w))
        w_put(w, b, (size_t)n);
}

void json_w_f64(json_writer *w, double v)
{
    if (isnan(v) || isinf(v)) {
        json_w_str(w, isnan(v) ? IG_STR("NaN") : v > 0 ? IG_STR("Infinity") : IG_STR("-Infinity"));
        return;
    }
    char b[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v)
            break;
    }
    if (w_value(w))
        w_put(w, b, (size_t)n);
}

void json_w_bool(json_writer *w, bool v)
{
    if (w_value(w))
        w_put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_w_null(json_writer *w)
{
    if (w_value(w))
        w_put(w, "null", 4);
}

void json_w_raw(json_writer *w, ig_str json)
{
    if (w_value(w))
        w_put(w, json.ptr, json.len);
}

/* ---- Base64 and hex (OTLP/JSON bytes fields and ids) ------------------------------- */

/* Value of a base64 character; *alpha: 1 for "+/", 2 for "-_", unchanged otherwise. */
static int b64_val(unsigned c, int *alpha)
{
    if (c >= 'A' && c <= 'Z')
        return (int)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (int)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (int)(c - '0' + 52);
    if (c == '+' || c == '/') {
        *alpha |= 1;
        return c == '+' ? 62 : 63;
    }
    if (c == '-' || c == '_') {
        *alpha |= 2;
        return c == '-' ? 62 : 63;
    }
    return -1;
}

int json_b64_decode(ig_str in, void *out, size_t cap, size_t *n, ig_errbuf *eb)
{
    const uint8_t *p = (const uint8_t *)in.ptr;
    size_t len = in.len, pad = 0;
    if (len && len % 4 == 0) {
        while (pad < 2 && p[len - 1 - pad] == '=')
            pad++;
    }
    size_t dl = len - pad;
    if (dl % 4 == 1)
        return ig_err(eb, IG_ECORRUPT, "base64: invalid length %zu", len);
    size_t need = dl / 4 * 3 + (dl % 4 == 2 ? 1 : dl % 4 == 3 ? 2 : 0);
    if (need > cap)
        return ig_err(eb, IG_ETOOBIG, "base64: %zu decoded bytes exceed the %zu allowed", need,
                      cap);
    uint8_t *o = out;
    int alpha = 0;
    uint32_t acc = 0;
    size_t k = 0;
    for (size_t i = 0; i < dl; i++) {
        int v = b64_val(p[i], &alpha);
        if (v < 0) {
            if (p[i] == '=')
                return ig_err(eb, IG_ECORRUPT, "base64: misplaced padding '=' at offset %zu", i);
            return ig_err(eb, IG_ECORRUPT, "base64: invalid character 0x%02x at offset %zu", p[i],
                          i);
        }
        if (alpha == 3)
            return ig_err(eb, IG_ECORRUPT,
                          "base64: standard and URL-safe alphabets mixed (offset %zu)", i);
        acc = acc << 6 | (uint32_t)v;
        if ((i & 3) == 3) {
            o[k++] = (uint8_t)(acc >> 16);
            o[k++] = (uint8_t)(acc >> 8);
            o[k++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (dl % 4 == 2) {
        o[k++] = (uint8_t)(acc >> 4);
    } else if (dl % 4 == 3) {
        o[k++] = (uint8_t)(acc >> 10);
        o[k++] = (uint8_t)(acc >> 2);
    }
    *n = k;
    return 0;
}

int json_b64_encode(ig_buf *out, ig_str bytes)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = (const uint8_t *)bytes.ptr;
    size_t n = bytes.len, olen = (n + 2) / 3 * 4;
    int rc = ig_buf_reserve(out, olen);
    if (rc)
        return rc;
    char *o = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len += olen;
    out->data[out->len] = 0;
    return 0;
}

static int hex_val(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    return -1;
}

int json_hex_decode(ig_str in, void *out, size_t n, ig_errbuf *eb)
{
    if (in.len != 2 * n)
        return ig_err(eb, IG_ECORRUPT, "hex: %zu characters, expected %zu (%zu bytes)", in.len,
                      2 * n, n);
    const uint8_t *p = (const uint8_t *)in.ptr;
    uint8_t *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(p[2 * i]), lo = hex_val(p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            size_t at = hi < 0 ? 2 * i : 2 * i + 1;
            unsigned c = p[at];
            if (c > 0x20 && c < 0x7f)
                return ig_err(eb, IG_ECORRUPT, "hex: invalid character '%c' at offset %zu", (char)c,
                              at);
            return ig_err(eb, IG_ECORRUPT, "hex: invalid byte 0x%02x at offset %zu", c, at);
        }
        o[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int json_hex_encode(ig_buf *out, ig_str bytes)
{
    static const char hex[] = "0123456789abcdef";
    int rc = ig_buf_reserve(out, bytes.len * 2);
    if (rc)
        return rc;
    char *o = out->data + out->len;
    for (size_t i = 0; i < bytes.len; i++) {
        uint8_t b = (uint8_t)bytes.ptr[i];
        o[2 * i] = hex[b >> 4];
        o[2 * i + 1] = hex[b & 15];
    }
    out->len += bytes.len * 2;
    out->data[out->len] = 0;
    return 0;
}
