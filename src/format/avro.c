/* Avro 1.11 binary encoding, container writer and generic reader. See icegate/avro.h and
 * docs/iceberg-manifests.md. Written from the Avro specification. */
#include "icegate/avro.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <zlib.h>

#include "icegate/alloc.h"

static const uint8_t MAGIC[4] = {'O', 'b', 'j', 1};

/* ---- encoding ----------------------------------------------------------------------- */

int avro_put_long(ig_buf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t c = z & 0x7f;
        z >>= 7;
        tmp[n++] = (uint8_t)(c | (z ? 0x80 : 0));
    } while (z);
    return ig_buf_append(b, tmp, n);
}

int avro_put_int(ig_buf *b, int32_t v)
{
    return avro_put_long(b, v);
}

int avro_put_bool(ig_buf *b, bool v)
{
    return ig_buf_putc(b, v ? 1 : 0);
}

static int put_le(ig_buf *b, uint64_t v, size_t n)
{
    uint8_t tmp[8];
    for (size_t i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    return ig_buf_append(b, tmp, n);
}

int avro_put_float(ig_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return put_le(b, u, 4);
}

int avro_put_double(ig_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return put_le(b, u, 8);
}

int avro_put_bytes(ig_buf *b, ig_str v)
{
    int rc = avro_put_long(b, (int64_t)v.len);
    if (rc == 0 && v.len)
        rc = ig_buf_append(b, v.ptr, v.len);
    return rc;
}

int avro_put_string(ig_buf *b, ig_str v)
{
    return avro_put_bytes(b, v);
}

int avro_put_fixed(ig_buf *b, const void *p, size_t n)
{
    return n ? ig_buf_append(b, p, n) : 0;
}

/* ---- decoding primitives -------------------------------------------------------------- */

int avro_get_long(ig_str in, size_t *pos, int64_t *out)
{
    uint64_t z = 0;
    size_t p = *pos;
    for (int i = 0; i < 10; i++) {
        if (p >= in.len)
            return IG_ECORRUPT;
        uint8_t c = (uint8_t)in.ptr[p++];
        if (i == 9 && c > 1)
            return IG_ECORRUPT; /* more than 64 bits */
        z |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *pos = p;
            *out = (int64_t)((z >> 1) ^ (0 - (z & 1)));
            return 0;
        }
    }
    return IG_ECORRUPT;
}

int avro_get_int(ig_str in, size_t *pos, int32_t *out)
{
    size_t p = *pos;
    int64_t v;
    int rc = avro_get_long(in, &p, &v);
    if (rc)
        return rc;
    if (p - *pos > 5 || v < INT32_MIN || v > INT32_MAX)
        return IG_ECORRUPT;
    *pos = p;
    *out = (int32_t)v;
    return 0;
}

/* ---- writer ------------------------------------------------------------------------- */

static int put_meta(ig_buf *b, const char *key, ig_str val)
{
    int rc = avro_put_string(b, ig_str_from(key));
    if (rc == 0)
        rc = avro_put_bytes(b, val);
    return rc;
}

static void random_sync(uint8_t sync[16])
{
    if (getrandom(sync, 16, 0) == 16)
        return;
    /* fall back to time and address bits: uniqueness, not secrecy, is what matters */
    uint64_t x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)sync;
    for (int i = 0; i < 16; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        sync[i] = (uint8_t)(x >> 56);
    }
}

int avro_writer_init(avro_writer *w, ig_buf *out, ig_str schema_json, avro_codec codec,
                     const avro_meta *meta, size_t n, const uint8_t sync[16])
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->codec = codec;
    w->block_target = 64 * 1024;
    ig_buf_init(&w->block, 0);
    ig_buf_init(&w->zbuf, 0);
    if (sync)
        memcpy(w->sync, sync, 16);
    else
        random_sync(w->sync);
    if (codec != AVRO_CODEC_NULL && codec != AVRO_CODEC_DEFLATE)
        return w->rc = IG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!meta[i].key || strncmp(meta[i].key, "avro.", 5) == 0)
            return w->rc = IG_EINVAL;
    int rc = ig_buf_append(out, MAGIC, 4);
    if (rc == 0)
        rc = avro_put_block(out, (int64_t)n + 2);
    if (rc == 0)
        rc = put_meta(out, "avro.schema", schema_json);
    if (rc == 0)
        rc = put_meta(out, "avro.codec",
                      codec == AVRO_CODEC_DEFLATE ? IG_STR("deflate") : IG_STR("null"));
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_meta(out, meta[i].key, meta[i].value);
    if (rc == 0)
        rc = avro_put_block_end(out);
    if (rc == 0)
        rc = ig_buf_append(out, w->sync, 16);
    return w->rc = rc;
}

static int deflate_raw(ig_str in, ig_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return IG_ENOMEM;
    uLong bound = deflateBound(&z, (uLong)in.len);
    ig_buf_reset(out);
    int rc = ig_buf_reserve(out, bound + 16);
    if (rc) {
        deflateEnd(&z);
        return rc;
    }
    z.next_in = (Bytef *)(uintptr_t)in.ptr;
    z.avail_in = (uInt)in.len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)(bound + 16);
    int zr = deflate(&z, Z_FINISH);
    size_t produced = z.total_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END)
        return IG_EINTERNAL;
    out->len = produced;
    out->data[produced] = 0;
    return 0;
}

static int flush_block(avro_writer *w)
{
    if (w->rc || w->block_count == 0)
        return w->rc;
    ig_str data = ig_buf_str(&w->block);
    int rc = 0;
    if (w->codec == AVRO_CODEC_DEFLATE) {
        if (data.len > UINT32_MAX / 2)
            return w->rc = IG_ETOOBIG;
        rc = deflate_raw(data, &w->zbuf);
        data = ig_buf_str(&w->zbuf);
    }
    if (rc == 0)
        rc = avro_put_long(w->out, w->block_count);
    if (rc == 0)
        rc = avro_put_long(w->out, (int64_t)data.len);
    if (rc == 0)
        rc = ig_buf_append(w->out, data.ptr, data.len);
    if (rc == 0)
        rc = ig_buf_append(w->out, w->sync, 16);
    ig_buf_reset(&w->block);
    w->block_count = 0;
    return w->rc = rc;
}

int avro_writer_end_datum(avro_writer *w, int put_rc)
{
    if (w->rc)
        return w->rc;
    if (put_rc)
        return w->rc = put_rc;
    w->block_count++;
    w->total_count++;
    if (w->block.len >= w->block_target)
        return flush_block(w);
    return 0;
}

int avro_writer_finish(avro_writer *w)
{
    return flush_block(w);
}

void avro_writer_free(avro_writer *w)
{
    ig_buf_free(&w->block);
    ig_buf_free(&w->zbuf);
}

/* ---- schema ------------------------------------------------------------------------- */

static const char *const KIND_NAMES[] = {"null",   "boolean", "int",    "long",   "float",
                                         "double", "bytes",   "string", "record", "enum",
                                         "array",  "map",     "union",  "fixed"};

const char *avro_kind_name(avro_kind k)
{
    return (unsigned)k < sizeof KIND_NAMES / sizeof KIND_NAMES[0] ? KIND_NAMES[k] : "?";
}

typedef struct named {
    ig_str name;
    avro_schema *s;
} named;

typedef struct sparse {
    ig_arena *a;
    ig_errbuf *eb;
    named *names;
    size_t nnames, capnames;
    int depth, max_depth;
} sparse;

#define MAX_MEMBERS 64

typedef struct member {
    ig_str key, raw;
} member;

static int perr(sparse *p, int code, const char *what, ig_str s)
{
    int n = s.len > 80 ? 80 : (int)s.len;
    return ig_err(p->eb, code, "avro schema: %s%s%.*s%s", what, s.ptr ? " \"" : "", n,
                  s.ptr ? s.ptr : "", s.ptr ? "\"" : "");
}

static json_reader *jopen(sparse *p, json_reader *r, ig_str json)
{
    json_reader_init(r, json, p->eb);
    r->arena = p->a;
    return r;
}

/* Reads the members of the object `json` into m (at most MAX_MEMBERS). */
static int members(sparse *p, ig_str json, member *m, size_t *n)
{
    json_reader r;
    jopen(p, &r, json);
    int rc = json_obj_begin(&r);
    ig_str key;
    *n = 0;
    while (rc == 0 && (rc = json_obj_next_key(&r, &key)) > 0) {
        if (*n == MAX_MEMBERS) {
            rc = perr(p, IG_ETOOBIG, "too many attributes in an object", IG_STR_NULL);
            break;
        }
        ig_str raw;
        rc = json_raw(&r, &raw);
        if (rc == 0) {
            ig_str k = key;
            /* keys may be in scratch memory: keep a stable copy */
            if (k.ptr < json.ptr || k.ptr >= json.ptr + json.len) {
                k = ig_arena_strdup(p->a, key);
                if (!k.ptr && key.len) {
                    rc = IG_ENOMEM;
                    break;
                }
            }
            m[*n].key = k;
            m[*n].raw = raw;
            (*n)++;
        }
    }
    if (rc == 0)
        rc = json_end(&r);
    json_reader_free(&r);
    return rc < 0 ? (rc == IG_ENOMEM ? rc : perr(p, IG_ECORRUPT, "malformed JSON", IG_STR_NULL))
                  : 0;
}

static ig_str mget(const member *m, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (ig_str_eq_cstr(m[i].key, key))
            return m[i].raw;
    return IG_STR_NULL;
}

static int jstring(sparse *p, ig_str raw, ig_str *out)
{
    json_reader r;
    jopen(p, &r, raw);
    int rc = json_str(&r, out);
    if (rc == 0)
        rc = json_end(&r);
    json_reader_free(&r);
    return rc ? perr(p, IG_ECORRUPT, "expected a string, got", raw) : 0;
}

static int jint(sparse *p, ig_str raw, int64_t lo, int64_t hi, int64_t *out)
{
    json_reader r;
    jopen(p, &r, raw);
    ig_str num;
    int rc = json_number(&r, &num);
    if (rc == 0)
        rc = json_end(&r);
    json_reader_free(&r);
    if (rc == 0)
        rc = json_num_i64(num, out);
    if (rc || *out < lo || *out > hi)
        return perr(p, IG_ECORRUPT, "expected an integer in range, got", raw);
    return 0;
}

static int opt_id(sparse *p, const member *m, size_t n, const char *key, int32_t *out)
{
    ig_str raw = mget(m, n, key);
    *out = -1;
    if (!raw.ptr)
        return 0;
    int64_t v;
    int rc = jint(p, raw, INT32_MIN, INT32_MAX, &v);
    if (rc == 0)
        *out = (int32_t)v;
    return rc;
}

static int primitive(ig_str name, avro_kind *k)
{
    for (int i = 0; i <= AVRO_STRING; i++)
        if (ig_str_eq_cstr(name, KIND_NAMES[i])) {
            *k = (avro_kind)i;
            return 1;
        }
    return 0;
}

static ig_str full_name(sparse *p, ig_str name, ig_str ns)
{
    if (!ns.ptr || !ns.len || ig_str_index(name, '.') >= 0)
        return name;
    size_t n = ns.len + 1 + name.len;
    char *s = ig_arena_alloc(p->a, n + 1);
    if (!s)
        return IG_STR_NULL;
    memcpy(s, ns.ptr, ns.len);
    s[ns.len] = '.';
    memcpy(s + ns.len + 1, name.ptr, name.len);
    s[n] = 0;
    return ig_str_make(s, n);
}

static avro_schema *lookup(sparse *p, ig_str name, ig_str ns)
{
    ig_str fn = full_name(p, name, ns);
    for (size_t i = 0; i < p->nnames; i++)
        if (ig_str_eq(p->names[i].name, fn) || ig_str_eq(p->names[i].name, name))
            return p->names[i].s;
    return NULL;
}

static int define(sparse *p, avro_schema *s, ig_str ns, const member *m, size_t n)
{
    ig_str raw = mget(m, n, "name");
    if (!raw.ptr)
        return perr(p, IG_ECORRUPT, "named type without a name", IG_STR_NULL);
    ig_str name;
    int rc = jstring(p, raw, &name);
    if (rc)
        return rc;
    ig_str ns2 = ns;
    ig_str nsraw = mget(m, n, "namespace");
    if (nsraw.ptr && (rc = jstring(p, nsraw, &ns2)) != 0)
        return rc;
    if (!name.len)
        return perr(p, IG_ECORRUPT, "empty type name", IG_STR_NULL);
    s->name = full_name(p, name, ns2);
    if (!s->name.ptr)
        return IG_ENOMEM;
    for (size_t i = 0; i < p->nnames; i++)
        if (ig_str_eq(p->names[i].name, s->name))
            return perr(p, IG_ECORRUPT, "type defined twice:", s->name);
    if (p->nnames == p->capnames) {
        size_t cap = p->capnames ? 2 * p->capnames : 16;
        if (cap > 4096)
            return perr(p, IG_ETOOBIG, "too many named types", IG_STR_NULL);
        named *nn = ig_arena_alloc(p->a, cap * sizeof *nn);
        if (!nn)
            return IG_ENOMEM;
        if (p->nnames)
            memcpy(nn, p->names, p->nnames * sizeof *nn);
        p->names = nn;
        p->capnames = cap;
    }
    p->names[p->nnames++] = (named){s->name, s};
    return 0;
}

static int parse(sparse *p, ig_str json, ig_str ns, const avro_schema **out);

/* Splits a JSON array into raw elements (in the arena). */
static int elements(sparse *p, ig_str json, ig_str **out, size_t *n, size_t max)
{
    json_reader r;
    jopen(p, &r, json);
    int rc = json_arr_begin(&r);
    size_t cap = 0;
    ig_str *v = NULL;
    *n = 0;
    while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
        if (*n == max) {
            json_reader_free(&r);
            return perr(p, IG_ETOOBIG, "too many elements in an array", IG_STR_NULL);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            ig_str *nv = ig_arena_alloc(p->a, cap * sizeof *nv);
            if (!nv) {
                json_reader_free(&r);
                return IG_ENOMEM;
            }
            if (*n)
                memcpy(nv, v, *n * sizeof *nv);
            v = nv;
        }
        rc = json_raw(&r, &v[*n]);
        if (rc == 0)
            (*n)++;
    }
    if (rc == 0)
        rc = json_end(&r);
    json_reader_free(&r);
    if (rc < 0)
        return perr(p, IG_ECORRUPT, "malformed JSON array", IG_STR_NULL);
    *out = v;
    return 0;
}

static int parse_object(sparse *p, ig_str json, ig_str ns, const avro_schema **out)
{
    member m[MAX_MEMBERS];
    size_t n;
    int rc = members(p, json, m, &n);
    if (rc)
        return rc;
    ig_str traw = mget(m, n, "type");
    if (!traw.ptr)
        return perr(p, IG_ECORRUPT, "object without \"type\"", IG_STR_NULL);
    if (traw.ptr[0] != '"')
        return parse(p, traw, ns, out); /* {"type": {...}} or {"type": [...]} */
    ig_str t;
    if ((rc = jstring(p, traw, &t)) != 0)
        return rc;
    avro_schema *s = ig_arena_zalloc(p->a, sizeof *s);
    if (!s)
        return IG_ENOMEM;
    s->element_id = s->key_id = s->value_id = -1;
    ig_str lraw = mget(m, n, "logicalType");
    if (lraw.ptr && lraw.ptr[0] == '"' && (rc = jstring(p, lraw, &s->logical_type)) != 0)
        return rc;
    avro_kind k;
    if (primitive(t, &k)) {
        s->kind = k;
        *out = s;
        return 0;
    }
    if (ig_str_eq_cstr(t, "record") || ig_str_eq_cstr(t, "error")) {
        s->kind = AVRO_RECORD;
        if ((rc = define(p, s, ns, m, n)) != 0)
            return rc;
        ig_str fraw = mget(m, n, "fields");
        if (!fraw.ptr)
            return perr(p, IG_ECORRUPT, "record without fields:", s->name);
        ig_str *fs;
        size_t nf;
        if ((rc = elements(p, fraw, &fs, &nf, 65536)) != 0)
            return rc;
        s->fields = ig_arena_zalloc(p->a, (nf ? nf : 1) * sizeof *s->fields);
        if (!s->fields)
            return IG_ENOMEM;
        s->nfields = nf;
        ig_str rns = s->name;
        long dot = -1;
        for (size_t i = 0; i < rns.len; i++)
            if (rns.ptr[i] == '.')
                dot = (long)i;
        rns = dot >= 0 ? ig_str_make(rns.ptr, (size_t)dot) : ns;
        for (size_t i = 0; i < nf; i++) {
            member fm[MAX_MEMBERS];
            size_t fn;
            if ((rc = members(p, fs[i], fm, &fn)) != 0)
                return rc;
            ig_str nraw = mget(fm, fn, "name"), ftraw = mget(fm, fn, "type");
            if (!nraw.ptr || !ftraw.ptr)
                return perr(p, IG_ECORRUPT, "field without name or type in", s->name);
            if ((rc = jstring(p, nraw, &s->fields[i].name)) != 0)
                return rc;
            for (size_t j = 0; j < i; j++)
                if (ig_str_eq(s->fields[j].name, s->fields[i].name))
                    return perr(p, IG_ECORRUPT, "duplicate field", s->fields[i].name);
            if ((rc = opt_id(p, fm, fn, "field-id", &s->fields[i].field_id)) != 0)
                return rc;
            if ((rc = parse(p, ftraw, rns, &s->fields[i].type)) != 0)
                return rc;
        }
        *out = s;
        return 0;
    }
    if (ig_str_eq_cstr(t, "enum")) {
        s->kind = AVRO_ENUM;
        if ((rc = define(p, s, ns, m, n)) != 0)
            return rc;
        ig_str sraw = mget(m, n, "symbols");
        ig_str *sy;
        size_t ns2;
        if (!sraw.ptr)
            return perr(p, IG_ECORRUPT, "enum without symbols:", s->name);
        if ((rc = elements(p, sraw, &sy, &ns2, 65536)) != 0)
            return rc;
        if (ns2 == 0)
            return perr(p, IG_ECORRUPT, "enum without symbols:", s->name);
        for (size_t i = 0; i < ns2; i++)
            if ((rc = jstring(p, sy[i], &sy[i])) != 0)
                return rc;
        s->symbols = sy;
        s->nsymbols = ns2;
        *out = s;
        return 0;
    }
    if (ig_str_eq_cstr(t, "fixed")) {
        s->kind = AVRO_FIXED;
        if ((rc = define(p, s, ns, m, n)) != 0)
            return rc;
        ig_str zraw = mget(m, n, "size");
        int64_t size;
        if (!zraw.ptr)
            return perr(p, IG_ECORRUPT, "fixed without size:", s->name);
        if ((rc = jint(p, zraw, 0, 1 << 30, &size)) != 0)
            return rc;
        s->size = (size_t)size;
        *out = s;
        return 0;
    }
    if (ig_str_eq_cstr(t, "array") || ig_str_eq_cstr(t, "map")) {
        bool arr = t.ptr[0] == 'a';
        s->kind = arr ? AVRO_ARRAY : AVRO_MAP;
        ig_str iraw = mget(m, n, arr ? "items" : "values");
        if (!iraw.ptr)
            return perr(p, IG_ECORRUPT, arr ? "array without items" : "map without values",
                        IG_STR_NULL);
        if ((rc = opt_id(p, m, n, "element-id", &s->element_id)) != 0 ||
            (rc = opt_id(p, m, n, "key-id", &s->key_id)) != 0 ||
            (rc = opt_id(p, m, n, "value-id", &s->value_id)) != 0)
            return rc;
        if ((rc = parse(p, iraw, ns, &s->items)) != 0)
            return rc;
        *out = s;
        return 0;
    }
    return perr(p, IG_ECORRUPT, "unknown type", t);
}

static int parse(sparse *p, ig_str json, ig_str ns, const avro_schema **out)
{
    if (++p->depth > p->max_depth) {
        p->depth--;
        return perr(p, IG_ETOOBIG, "nested too deeply", IG_STR_NULL);
    }
    int rc;
    size_t i = 0;
    while (i < json.len && (json.ptr[i] == ' ' || json.ptr[i] == '\n' || json.ptr[i] == '\t' ||
                            json.ptr[i] == '\r'))
        i++;
    char c = i < json.len ? json.ptr[i] : 0;
    if (c == '"') {
        ig_str name;
        rc = jstring(p, json, &name);
        avro_kind k;
        if (rc == 0) {
            if (primitive(name, &k)) {
                avro_schema *s = ig_arena_zalloc(p->a, sizeof *s);
                if (!s)
                    rc = IG_ENOMEM;
                else {
                    s->kind = k;
                    s->element_id = s->key_id = s->value_id = -1;
                    *out = s;
                }
            } else {
                const avro_schema *s = lookup(p, name, ns);
                if (!s)
                    rc = perr(p, IG_ECORRUPT, "unknown type", name);
                else
                    *out = s;
            }
        }
    } else if (c == '[') {
        ig_str *bs;
        size_t nb;
        rc = elements(p, json, &bs, &nb, 256);
        avro_schema *s = NULL;
        if (rc == 0 && nb == 0)
            rc = perr(p, IG_ECORRUPT, "empty union", IG_STR_NULL);
        if (rc == 0 && !(s = ig_arena_zalloc(p->a, sizeof *s)))
            rc = IG_ENOMEM;
        if (rc == 0 && !(s->branches = ig_arena_zalloc(p->a, nb * sizeof *s->branches)))
            rc = IG_ENOMEM;
        for (size_t j = 0; rc == 0 && j < nb; j++) {
            rc = parse(p, bs[j], ns, &s->branches[j]);
            if (rc == 0 && s->branches[j]->kind == AVRO_UNION)
                rc = perr(p, IG_ECORRUPT, "union directly inside a union", IG_STR_NULL);
            for (size_t k = 0; rc == 0 && k < j; k++) {
                const avro_schema *x = s->branches[k], *y = s->branches[j];
                bool named_ =
                    x->kind == AVRO_RECORD || x->kind == AVRO_ENUM || x->kind == AVRO_FIXED;
                if (x->kind == y->kind && (!named_ || ig_str_eq(x->name, y->name)))
                    rc = perr(p, IG_ECORRUPT, "union with two branches of type",
                              ig_str_from(avro_kind_name(x->kind)));
            }
        }
        if (rc == 0) {
            s->kind = AVRO_UNION;
            s->nbranches = nb;
            s->element_id = s->key_id = s->value_id = -1;
            *out = s;
        }
    } else if (c == '{') {
        rc = parse_object(p, json, ns, out);
    } else {
        rc = perr(p, IG_ECORRUPT, "expected a type name, array or object", IG_STR_NULL);
    }
    p->depth--;
    return rc;
}

int avro_schema_parse(ig_str json, ig_arena *a, const avro_schema **out, ig_errbuf *eb)
{
    sparse p = {.a = a, .eb = eb, .max_depth = 32};
    return parse(&p, json, IG_STR_NULL, out);
}

static int schema_parse_depth(ig_str json, ig_arena *a, int depth, const avro_schema **out,
                              ig_errbuf *eb)
{
    sparse p = {.a = a, .eb = eb, .max_depth = depth};
    return parse(&p, json, IG_STR_NULL, out);
}

int avro_schema_field(const avro_schema *rec, const char *name)
{
    if (!rec || rec->kind != AVRO_RECORD)
        return -1;
    for (size_t i = 0; i < rec->nfields; i++)
        if (ig_str_eq_cstr(rec->fields[i].name, name))
            return (int)i;
    return -1;
}

/* ---- values ------------------------------------------------------------------------- */

const avro_value *avro_value_get(const avro_value *v, const char *name)
{
    if (!v || v->kind != AVRO_RECORD)
        return NULL;
    int i = avro_schema_field(v->schema, name);
    return i < 0 || (size_t)i >= v->u.c.n ? NULL : &v->u.c.items[i];
}

void avro_value_to_json(const avro_value *v, json_writer *w)
{
    switch (v->kind) {
    case AVRO_NULL:
        json_w_null(w);
        break;
    case AVRO_BOOLEAN:
        json_w_bool(w, v->u.b);
        break;
    case AVRO_INT:
    case AVRO_LONG:
        json_w_i64(w, v->u.l);
        break;
    case AVRO_ENUM:
        json_w_str(w, v->schema->symbols[v->u.l]);
        break;
    case AVRO_FLOAT:
        json_w_f64(w, v->u.f);
        break;
    case AVRO_DOUBLE:
        json_w_f64(w, v->u.d);
        break;
    case AVRO_STRING:
        json_w_str(w, v->u.s);
        break;
    case AVRO_BYTES:
    case AVRO_FIXED: {
        ig_buf h;
        ig_buf_init(&h, 0);
        if (json_hex_encode(&h, v->u.s) == 0)
            json_w_str(w, ig_buf_str(&h));
        else
            w->rc = w->rc ? w->rc : IG_ENOMEM;
        ig_buf_free(&h);
        break;
    }
    case AVRO_RECORD:
        json_w_obj_begin(w);
        for (size_t i = 0; i < v->u.c.n; i++) {
            json_w_key(w, v->schema->fields[i].name);
            avro_value_to_json(&v->u.c.items[i], w);
        }
        json_w_obj_end(w);
        break;
    case AVRO_ARRAY:
        json_w_arr_begin(w);
        for (size_t i = 0; i < v->u.c.n; i++)
            avro_value_to_json(&v->u.c.items[i], w);
        json_w_arr_end(w);
        break;
    case AVRO_MAP:
        json_w_obj_begin(w);
        for (size_t i = 0; i < v->u.c.n; i++) {
            json_w_key(w, v->u.c.keys[i]);
            avro_value_to_json(&v->u.c.items[i], w);
        }
        json_w_obj_end(w);
        break;
    case AVRO_UNION:
        break;
    }
}

/* ---- reader ------------------------------------------------------------------------- */

typedef struct dctx {
    ig_str in;
    size_t pos;
    ig_arena *a;
    ig_errbuf *eb;
    size_t max_items;
    int depth, max_depth;
} dctx;

static int derr(dctx *d, int code, const char *what)
{
    return ig_err(d->eb, code, "avro: %s at byte %zu of a block", what, d->pos);
}

/* Smallest encoded size of a value of s (0 for null-only shapes). */
static size_t min_size(const avro_schema *s, int depth)
{
    if (depth > 1)
        return s->kind == AVRO_NULL || s->kind == AVRO_RECORD || s->kind == AVRO_UNION ? 0 : 1;
    switch (s->kind) {
    case AVRO_NULL:
        return 0;
    case AVRO_FLOAT:
        return 4;
    case AVRO_DOUBLE:
        return 8;
    case AVRO_FIXED:
        return s->size;
    case AVRO_RECORD: {
        size_t n = 0;
        for (size_t i = 0; i < s->nfields && n < 1024; i++)
            n += min_size(s->fields[i].type, depth + 1);
        return n;
    }
    default:
        return 1;
    }
}

static int decode(dctx *d, const avro_schema *s, avro_value *v);

static int decode_blocks(dctx *d, const avro_schema *s, avro_value *v)
{
    bool map = s->kind == AVRO_MAP;
    size_t n = 0, cap = 0;
    avro_value *items = NULL;
    ig_str *keys = NULL;
    size_t per = min_size(s->items, 0) + (map ? 1 : 0);
    for (;;) {
        int64_t count;
        if (avro_get_long(d->in, &d->pos, &count))
            return derr(d, IG_ECORRUPT, "truncated array/map block count");
        if (count == 0)
            break;
        if (count < 0) {
            int64_t bytes;
            if (count == INT64_MIN)
                return derr(d, IG_ECORRUPT, "bad block count");
            count = -count;
            if (avro_get_long(d->in, &d->pos, &bytes) || bytes < 0 ||
                (uint64_t)bytes > d->in.len - d->pos)
                return derr(d, IG_ECORRUPT, "bad array/map block size");
        }
        if ((uint64_t)count > d->max_items || n + (size_t)count > d->max_items)
            return derr(d, IG_ETOOBIG, "too many array/map items");
        if (per && (uint64_t)count > (d->in.len - d->pos) / per)
            return derr(d, IG_ECORRUPT, "array/map block count larger than the data");
        if (n + (size_t)count > cap) {
            size_t ncap = cap ? cap * 2 : 4;
            while (ncap < n + (size_t)count)
                ncap *= 2;
            if (ncap > d->max_items)
                ncap = d->max_items;
            avro_value *ni = ig_arena_alloc(d->a, ncap * sizeof *ni);
            ig_str *nk = map ? ig_arena_alloc(d->a, ncap * sizeof *nk) : NULL;
            if (!ni || (map && !nk))
                return derr(d, IG_ETOOBIG, "value memory cap reached");
            if (n) {
                memcpy(ni, items, n * sizeof *ni);
                if (map)
                    memcpy(nk, keys, n * sizeof *nk);
            }
            items = ni;
            keys = nk;
            cap = ncap;
        }
        for (int64_t i = 0; i < count; i++, n++) {
            if (map) {
                int64_t len;
                if (avro_get_long(d->in, &d->pos, &len) || len < 0 ||
                    (uint64_t)len > d->in.len - d->pos)
                    return derr(d, IG_ECORRUPT, "bad map key length");
                keys[n] = ig_arena_strdup(d->a, ig_str_make(d->in.ptr + d->pos, (size_t)len));
                if (!keys[n].ptr)
                    return derr(d, IG_ETOOBIG, "value memory cap reached");
                d->pos += (size_t)len;
            }
            int rc = decode(d, s->items, &items[n]);
            if (rc)
                return rc;
        }
    }
    v->u.c.items = items;
    v->u.c.keys = keys;
    v->u.c.n = n;
    return 0;
}

static int decode(dctx *d, const avro_schema *s, avro_value *v)
{
    if (++d->depth > d->max_depth) {
        d->depth--;
        return derr(d, IG_ETOOBIG, "value nested too deeply");
    }
    int rc = 0;
    memset(v, 0, sizeof *v);
    v->branch = -1;
    if (s->kind == AVRO_UNION) {
        int64_t b;
        if (avro_get_long(d->in, &d->pos, &b))
            rc = derr(d, IG_ECORRUPT, "truncated union index");
        else if (b < 0 || (uint64_t)b >= s->nbranches)
            rc = derr(d, IG_ECORRUPT, "union index out of range");
        else {
            rc = decode(d, s->branches[b], v);
            v->branch = (int32_t)b;
        }
        d->depth--;
        return rc;
    }
    v->kind = s->kind;
    v->schema = s;
    size_t left = d->in.len - d->pos;
    const uint8_t *p = (const uint8_t *)d->in.ptr + d->pos;
    switch (s->kind) {
    case AVRO_NULL:
        break;
    case AVRO_BOOLEAN:
        if (left < 1 || p[0] > 1)
            rc = derr(d, IG_ECORRUPT, "bad boolean");
        else {
            v->u.b = p[0];
            d->pos++;
        }
        break;
    case AVRO_INT: {
        int32_t x = 0;
        if (avro_get_int(d->in, &d->pos, &x))
            rc = derr(d, IG_ECORRUPT, "bad int");
        v->u.l = x;
        break;
    }
    case AVRO_LONG:
        if (avro_get_long(d->in, &d->pos, &v->u.l))
            rc = derr(d, IG_ECORRUPT, "bad long");
        break;
    case AVRO_ENUM:
        if (avro_get_long(d->in, &d->pos, &v->u.l) || v->u.l < 0 || (uint64_t)v->u.l >= s->nsymbols)
            rc = derr(d, IG_ECORRUPT, "bad enum index");
        break;
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        size_t n = s->kind == AVRO_FLOAT ? 4 : 8;
        if (left < n) {
            rc = derr(d, IG_ECORRUPT, "truncated float/double");
            break;
        }
        uint64_t u = 0;
        for (size_t i = 0; i < n; i++)
            u |= (uint64_t)p[i] << (8 * i);
        if (n == 4) {
            uint32_t u32 = (uint32_t)u;
            memcpy(&v->u.f, &u32, 4);
        } else {
            memcpy(&v->u.d, &u, 8);
        }
        d->pos += n;
        break;
    }
    case AVRO_BYTES:
    case AVRO_STRING:
    case AVRO_FIXED: {
        int64_t len = (int64_t)s->size;
        if (s->kind != AVRO_FIXED && avro_get_long(d->in, &d->pos, &len)) {
            rc = derr(d, IG_ECORRUPT, "bad length");
            break;
        }
        if (len < 0 || (uint64_t)len > d->in.len - d->pos) {
            rc = derr(d, IG_ECORRUPT, "length past the end of the block");
            break;
        }
        v->u.s = ig_arena_strdup(d->a, ig_str_make(d->in.ptr + d->pos, (size_t)len));
        if (!v->u.s.ptr)
            rc = derr(d, IG_ETOOBIG, "value memory cap reached");
        d->pos += (size_t)len;
        break;
    }
    case AVRO_RECORD:
        v->u.c.n = s->nfields;
        v->u.c.items = ig_arena_alloc(d->a, (s->nfields ? s->nfields : 1) * sizeof(avro_value));
        if (!v->u.c.items) {
            rc = derr(d, IG_ETOOBIG, "value memory cap reached");
            break;
        }
        for (size_t i = 0; rc == 0 && i < s->nfields; i++)
            rc = decode(d, s->fields[i].type, &v->u.c.items[i]);
        break;
    case AVRO_ARRAY:
    case AVRO_MAP:
        rc = decode_blocks(d, s, v);
        break;
    case AVRO_UNION:
        break;
    }
    d->depth--;
    return rc;
}

static void opts_defaults(avro_reader_opts *o)
{
    if (!o->max_block_bytes)
        o->max_block_bytes = 64u << 20;
    if (!o->max_items)
        o->max_items = 1u << 20;
    if (o->max_depth <= 0)
        o->max_depth = 32;
    if (!o->max_meta)
        o->max_meta = 256;
}

static int rerr(avro_reader *r, ig_errbuf *eb, int code, const char *what)
{
    ig_err(eb, code, "avro: %s (at byte %zu of the file)", what, r->pos);
    return r->rc = code;
}

int avro_reader_open(avro_reader *r, ig_str in, const avro_reader_opts *opts, ig_errbuf *eb)
{
    memset(r, 0, sizeof *r);
    r->in = in;
    if (opts)
        r->opts = *opts;
    opts_defaults(&r->opts);
    ig_arena_init(&r->arena, in.len * 8 + (1u << 20));
    ig_buf_init(&r->block, r->opts.max_block_bytes);
    if (in.len < 4 || memcmp(in.ptr, MAGIC, 4) != 0)
        return rerr(r, eb, IG_ECORRUPT, "not an Avro container file (bad magic)");
    r->pos = 4;
    size_t cap = 0;
    for (;;) {
        int64_t count;
        if (avro_get_long(in, &r->pos, &count))
            return rerr(r, eb, IG_ECORRUPT, "truncated header metadata");
        if (count == 0)
            break;
        if (count < 0) {
            int64_t bytes;
            if (count == INT64_MIN || avro_get_long(in, &r->pos, &bytes) || bytes < 0)
                return rerr(r, eb, IG_ECORRUPT, "bad header metadata block");
            count = -count;
        }
        if ((uint64_t)count > r->opts.max_meta - r->nmeta)
            return rerr(r, eb, IG_ETOOBIG, "too many header metadata entries");
        if (r->nmeta + (size_t)count > cap) {
            size_t ncap = r->nmeta + (size_t)count;
            ig_str *k = ig_arena_alloc(&r->arena, ncap * sizeof *k);
            ig_str *v = ig_arena_alloc(&r->arena, ncap * sizeof *v);
            if (!k || !v)
                return rerr(r, eb, IG_ENOMEM, "out of memory");
            if (r->nmeta) {
                memcpy(k, r->meta_keys, r->nmeta * sizeof *k);
                memcpy(v, r->meta_vals, r->nmeta * sizeof *v);
            }
            r->meta_keys = k;
            r->meta_vals = v;
            cap = ncap;
        }
        for (int64_t i = 0; i < count; i++) {
            ig_str kv[2];
            for (int j = 0; j < 2; j++) {
                int64_t len;
                if (avro_get_long(in, &r->pos, &len) || len < 0 || (uint64_t)len > in.len - r->pos)
                    return rerr(r, eb, IG_ECORRUPT, "bad header metadata string");
                kv[j] = ig_str_make(in.ptr + r->pos, (size_t)len);
                r->pos += (size_t)len;
            }
            for (size_t j = 0; j < r->nmeta; j++)
                if (ig_str_eq(r->meta_keys[j], kv[0]))
                    return rerr(r, eb, IG_ECORRUPT, "duplicate header metadata key");
            r->meta_keys[r->nmeta] = kv[0];
            r->meta_vals[r->nmeta++] = kv[1];
        }
    }
    if (in.len - r->pos < 16)
        return rerr(r, eb, IG_ECORRUPT, "truncated sync marker");
    memcpy(r->sync, in.ptr + r->pos, 16);
    r->pos += 16;
    ig_str codec = IG_STR("null"), schema;
    avro_reader_meta(r, "avro.codec", &codec);
    if (ig_str_eq_cstr(codec, "null"))
        r->codec = AVRO_CODEC_NULL;
    else if (ig_str_eq_cstr(codec, "deflate"))
        r->codec = AVRO_CODEC_DEFLATE;
    else
        return rerr(r, eb, IG_EUNSUPPORTED, "unsupported codec (null and deflate are)");
    if (avro_reader_meta(r, "avro.schema", &schema) != 0)
        return rerr(r, eb, IG_ECORRUPT, "no avro.schema in the header");
    int rc = schema_parse_depth(schema, &r->arena, r->opts.max_depth, &r->schema, eb);
    if (rc)
        return r->rc = rc;
    return 0;
}

int avro_reader_meta(const avro_reader *r, const char *key, ig_str *val)
{
    for (size_t i = 0; i < r->nmeta; i++)
        if (ig_str_eq_cstr(r->meta_keys[i], key)) {
            *val = r->meta_vals[i];
            return 0;
        }
    return IG_ENOENT;
}

static int inflate_raw(avro_reader *r, ig_str in, ig_errbuf *eb)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK)
        return rerr(r, eb, IG_ENOMEM, "inflateInit2 failed");
    ig_buf_reset(&r->block);
    z.next_in = (Bytef *)(uintptr_t)in.ptr;
    z.avail_in = (uInt)in.len;
    int rc = 0;
    for (;;) {
        /* ig_buf keeps one byte past len for its NUL terminator */
        size_t room = r->block.cap > r->block.len ? r->block.cap - r->block.len - 1 : 0;
        if (room < 1024) {
            size_t want = r->block.len < 65536 ? 65536 : r->block.len;
            if (want > r->opts.max_block_bytes - r->block.len)
                want = r->opts.max_block_bytes - r->block.len;
            if (want == 0) {
                rc = rerr(r, eb, IG_ETOOBIG, "deflate block larger than max_block_bytes");
                break;
            }
            if ((rc = ig_buf_reserve(&r->block, want)) != 0) {
                rc = rerr(r, eb, rc, "deflate block too large");
                break;
            }
            room = r->block.cap - r->block.len - 1;
        }
        if (room > r->opts.max_block_bytes - r->block.len)
            room = r->opts.max_block_bytes - r->block.len;
        if (room == 0) {
            rc = rerr(r, eb, IG_ETOOBIG, "deflate block larger than max_block_bytes");
            break;
        }
        if (room > UINT32_MAX)
            room = UINT32_MAX;
        z.next_out = (Bytef *)r->block.data + r->block.len;
        z.avail_out = (uInt)room;
        int zr = inflate(&z, Z_NO_FLUSH);
        r->block.len += room - z.avail_out;
        if (zr == Z_STREAM_END) {
            if (z.avail_in != 0)
                rc = rerr(r, eb, IG_ECORRUPT, "data after the end of a deflate stream");
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = rerr(r, eb, IG_ECORRUPT, "malformed deflate data");
            break;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            rc = rerr(r, eb, IG_ECORRUPT, "truncated deflate data");
            break;
        }
    }
    inflateEnd(&z);
    if (r->block.data)
        r->block.data[r->block.len] = 0;
    return rc;
}

static int next_block(avro_reader *r, ig_errbuf *eb)
{
    int64_t count, size;
    if (avro_get_long(r->in, &r->pos, &count) || count < 0)
        return rerr(r, eb, IG_ECORRUPT, "bad block object count");
    if (avro_get_long(r->in, &r->pos, &size) || size < 0)
        return rerr(r, eb, IG_ECORRUPT, "bad block size");
    if ((uint64_t)size > r->in.len - r->pos || r->in.len - r->pos - (size_t)size < 16)
        return rerr(r, eb, IG_ECORRUPT, "block past the end of the file");
    if ((uint64_t)size > r->opts.max_block_bytes)
        return rerr(r, eb, IG_ETOOBIG, "block larger than max_block_bytes");
    if ((uint64_t)count > r->opts.max_items)
        return rerr(r, eb, IG_ETOOBIG, "too many objects in a block");
    ig_str data = ig_str_make(r->in.ptr + r->pos, (size_t)size);
    if (memcmp(data.ptr + data.len, r->sync, 16) != 0)
        return rerr(r, eb, IG_ECORRUPT, "sync marker mismatch");
    if (r->codec == AVRO_CODEC_DEFLATE) {
        int rc = inflate_raw(r, data, eb);
        if (rc)
            return rc;
    } else {
        ig_buf_reset(&r->block);
        int rc = ig_buf_append(&r->block, data.ptr, data.len);
        if (rc)
            return rerr(r, eb, rc, "block too large");
    }
    size_t per = min_size(r->schema, 0);
    if (per && (uint64_t)count > r->block.len / per)
        return rerr(r, eb, IG_ECORRUPT, "block object count larger than the data");
    r->pos += (size_t)size + 16;
    r->block_pos = 0;
    r->block_left = count;
    return 0;
}

int avro_reader_next(avro_reader *r, ig_arena *a, avro_value *out, ig_errbuf *eb)
{
    if (r->rc)
        return r->rc;
    while (r->block_left == 0) {
        if (r->block_pos != r->block.len)
            return rerr(r, eb, IG_ECORRUPT, "bytes left over at the end of a block");
        if (r->pos == r->in.len)
            return 0;
        int rc = next_block(r, eb);
        if (rc)
            return rc;
    }
    dctx d = {.in = ig_buf_str(&r->block),
              .pos = r->block_pos,
              .a = a,
              .eb = eb,
              .max_items = r->opts.max_items,
              .max_depth = r->opts.max_depth};
    int rc = decode(&d, r->schema, out);
    if (rc)
        return r->rc = rc;
    r->block_pos = d.pos;
    r->block_left--;
    return 1;
}

void avro_reader_close(avro_reader *r)
{
    ig_arena_free(&r->arena);
    ig_buf_free(&r->block);
}
