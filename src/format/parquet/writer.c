/* Parquet writer: buffers one row group per column (levels + values), then encodes
 * pages (dictionary with fallback, PLAIN, DELTA_BINARY_PACKED, ...), compresses them and
 * streams them to the sink; page indexes and the footer are written at close.
 *
 * Ownership: the writer owns every buffer it allocates (column buffers, scratch,
 * metadata arena); the schema is borrowed; the sink context is the caller's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "icegate/alloc.h"
#include "icegate/version.h"
#include "pq_internal.h"

#define OUT_STAGE (1u << 20)

typedef struct page_rec {
    int64_t offset;
    int32_t size;
    int64_t first_row;
    int64_t null_count;
    bool null_page;
    ig_str min, max; /* truncated, in the metadata arena */
} page_rec;

typedef struct chunk_rec {
    int64_t data_page_offset, dict_page_offset;
    int64_t total_compressed, total_uncompressed, num_values;
    uint32_t encodings;
    int data_encoding;
    int32_t ndata_pages;
    bool has_dict;
    pq_stats stats; /* min/max in the metadata arena */
    int64_t bloom_offset;
    int32_t bloom_len;
    page_rec *pages;
    size_t npages, cap_pages;
    bool column_index_ok; /* false when a page's bounds are unusable (all NaN) */
    int64_t ci_off, oi_off;
    int32_t ci_len, oi_len;
} chunk_rec;

typedef struct rg_rec {
    int64_t num_rows, total_byte_size, total_compressed, file_offset;
    chunk_rec *chunks;
} rg_rec;

typedef struct wcol {
    const pq_column *c;
    int16_t max_def, max_rep;
    pq_phys phys;
    size_t width; /* bytes per fixed-width value; 0 for BYTE_ARRAY */
    bool utf8;
    int16_t *def, *rep;
    size_t n, cap_lv;
    uint8_t *vals; /* fixed-width values */
    size_t cap_vals;
    uint32_t *offs; /* BYTE_ARRAY: offs[k] = start of value k in data */
    size_t cap_offs;
    uint8_t *data;
    size_t dlen, cap_data;
    size_t nvals, rows;
    pq_encoding enc;
    bool bloom;
    /* file totals */
    uint64_t value_count, null_count, nan_count, csize, usize;
    bool has_bounds, lo_exact, hi_exact;
    uint8_t *lo, *hi;
    size_t lo_len, hi_len;
    /* pending bloom bitset for the current row group */
    uint8_t *bloom_bits;
    size_t bloom_bytes;
} wcol;

typedef struct col_snap {
    size_t n, nvals, dlen, rows;
} col_snap;

struct pq_writer {
    const pq_schema *s;
    col_snap *snap; /* per column, for rolling back a failed row */
    pq_writer_opts o;
    pq_sink sink;
    uint64_t pos; /* bytes handed to the sink + staged */
    ig_buf stage;
    int failed;   /* sticky: a write failed, the file is unusable */
    bool closed;
    wcol *cols;
    size_t buffered; /* bytes buffered in column buffers */
    int32_t *node_col0, *node_ncols;
    /* row groups so far */
    rg_rec *rgs;
    size_t nrgs, cap_rgs;
    uint64_t total_rows;
    ig_arena meta; /* page and chunk metadata, stats bytes */
    pq_kv *kv;
    size_t nkv, cap_kv;
    /* scratch, reused between pages */
    ig_buf lv, val, page, cbuf, hbuf;
    uint32_t *didx; /* dictionary index per value */
    size_t cap_didx;
    uint32_t *dfirst; /* value index of each dictionary entry */
    size_t cap_dfirst;
    uint32_t *dhash; /* open-addressing table of entry+1 */
    size_t cap_dhash;
    /* Order of the current chunk's dictionary entries, for page statistics by integer
     * comparison (built only for low-cardinality chunks; nrank == 0 otherwise). */
    uint32_t *drank;   /* rank of each entry */
    uint32_t *dsorted; /* entry of each rank */
    size_t cap_drank, nrank;
    int64_t *i64tmp;
    size_t cap_i64tmp;
    pq__codec_ctx cc;
};

/* ---- Sinks ------------------------------------------------------------------------ */

static int sink_buf_write(void *ctx, const void *p, size_t n)
{
    return ig_buf_append(ctx, p, n);
}

pq_sink pq_sink_buf(ig_buf *b)
{
    return (pq_sink){sink_buf_write, b};
}

static int sink_fd_write(void *ctx, const void *p, size_t n)
{
    int fd = *(int *)ctx;
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return IG_EIO;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

pq_sink pq_sink_fd(int *fd)
{
    return (pq_sink){sink_fd_write, fd};
}

/* ---- Output ----------------------------------------------------------------------- */

static int out_flush(pq_writer *w)
{
    if (w->stage.len) {
        int rc = w->sink.write(w->sink.ctx, w->stage.data, w->stage.len);
        ig_buf_reset(&w->stage);
        if (rc) {
            w->failed = rc;
            return rc;
        }
    }
    return 0;
}

static int out(pq_writer *w, const void *p, size_t n)
{
    int rc;
    if (w->failed)
        return w->failed;
    if (w->stage.len + n > OUT_STAGE && (rc = out_flush(w)))
        return rc;
    if (n >= OUT_STAGE) {
        if ((rc = w->sink.write(w->sink.ctx, p, n))) {
            w->failed = rc;
            return rc;
        }
    } else if ((rc = ig_buf_append(&w->stage, p, n))) {
        w->failed = rc;
        return rc;
    }
    w->pos += n;
    return 0;
}

/* ---- Creation --------------------------------------------------------------------- */

static size_t phys_width(pq_phys p, int32_t tl)
{
    switch (p) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_INT64:
    case PQ_DOUBLE: return 8;
    case PQ_INT96: return 12;
    case PQ_FIXED_LEN_BYTE_ARRAY: return (size_t)tl;
    default: return 0;
    }
}

size_t pq_value_width(pq_phys phys, int32_t type_length)
{
    return phys_width(phys, type_length);
}

void pq_writer_free(pq_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->cols && i < w->s->ncols; i++) {
        wcol *c = &w->cols[i];
        ig_free(c->def);
        ig_free(c->rep);
        ig_free(c->vals);
        ig_free(c->offs);
        ig_free(c->data);
        ig_free(c->lo);
        ig_free(c->hi);
        ig_free(c->bloom_bits);
    }
    ig_free(w->cols);
    ig_free(w->snap);
    ig_free(w->node_col0);
    ig_free(w->node_ncols);
    ig_free(w->rgs);
    for (size_t i = 0; i < w->nkv; i++) {
        ig_free((char *)w->kv[i].key);
        ig_free((char *)w->kv[i].value);
    }
    ig_free(w->kv);
    ig_buf_free(&w->stage);
    ig_buf_free(&w->lv);
    ig_buf_free(&w->val);
    ig_buf_free(&w->page);
    ig_buf_free(&w->cbuf);
    ig_buf_free(&w->hbuf);
    ig_free(w->didx);
    ig_free(w->dfirst);
    ig_free(w->drank);
    ig_free(w->dsorted);
    ig_free(w->dhash);
    ig_free(w->i64tmp);
    pq__codec_ctx_free(&w->cc);
    ig_arena_free(&w->meta);
    ig_free(w);
}

int pq_writer_new(pq_writer **out_w, const pq_schema *schema, const pq_writer_opts *o,
                  pq_sink sink, ig_errbuf *eb)
{
    pq_writer *w = ig_calloc(1, sizeof *w);
    if (!w)
        return IG_ENOMEM;
    w->s = schema;
    if (o)
        w->o = *o;
    if (!w->o.codec_set)
        w->o.codec = PQ_CODEC_ZSTD;
    if (w->o.codec != PQ_CODEC_UNCOMPRESSED && w->o.codec != PQ_CODEC_SNAPPY &&
        w->o.codec != PQ_CODEC_GZIP && w->o.codec != PQ_CODEC_ZSTD) {
        pq_writer_free(w);
        return ig_err(eb, IG_EUNSUPPORTED, "parquet writer: codec %s not supported",
                      pq_codec_name(w->o.codec));
    }
    if (w->o.page_version == 0)
        w->o.page_version = 2;
    if (w->o.page_version != 1 && w->o.page_version != 2) {
        pq_writer_free(w);
        return ig_err(eb, IG_EINVAL, "parquet writer: page version must be 1 or 2");
    }
    if (!w->o.dict_max_bytes)
        w->o.dict_max_bytes = 1 << 20;
    if (!w->o.page_rows)
        w->o.page_rows = 20000;
    if (!w->o.page_bytes)
        w->o.page_bytes = 1 << 20;
    if (!w->o.row_group_rows)
        w->o.row_group_rows = 1 << 20;
    if (!w->o.row_group_bytes)
        w->o.row_group_bytes = (size_t)128 << 20;
    if (!w->o.max_buffer_bytes)
        w->o.max_buffer_bytes = (size_t)2 << 30;
    if (!w->o.stats_max_len)
        w->o.stats_max_len = 64;
    if (w->o.bloom_fpp <= 0 || w->o.bloom_fpp >= 1)
        w->o.bloom_fpp = 0.01;
    if (!w->o.bloom_max_bytes)
        w->o.bloom_max_bytes = 1 << 20;
    w->sink = sink;
    ig_arena_init(&w->meta, 0);
    ig_buf_init(&w->stage, 0);
    ig_buf_init(&w->lv, 0);
    ig_buf_init(&w->val, 0);
    ig_buf_init(&w->page, 0);
    ig_buf_init(&w->cbuf, 0);
    ig_buf_init(&w->hbuf, 0);
    w->cols = ig_calloc(schema->ncols, sizeof *w->cols);
    w->node_col0 = ig_calloc(schema->nnodes, sizeof(int32_t));
    w->node_ncols = ig_calloc(schema->nnodes, sizeof(int32_t));
    if (!w->cols || !w->node_col0 || !w->node_ncols) {
        pq_writer_free(w);
        return IG_ENOMEM;
    }
    for (size_t i = 0; i < schema->ncols; i++) {
        wcol *c = &w->cols[i];
        c->c = &schema->cols[i];
        c->max_def = c->c->max_def;
        c->max_rep = c->c->max_rep;
        c->phys = c->c->phys;
        c->width = phys_width(c->phys, c->c->type_length);
        const pq_node *nd = &schema->nodes[c->c->node];
        c->utf8 = nd->logical == PQ_LT_STRING || nd->converted == PQ_CT_UTF8 ||
                  nd->logical == PQ_LT_JSON || nd->logical == PQ_LT_ENUM;
        c->enc = PQ_ENC_AUTO_;
    }
    for (size_t k = schema->nnodes; k-- > 0;) {
        const pq_node *nd = &schema->nodes[k];
        if (nd->col >= 0) {
            w->node_col0[k] = nd->col;
            w->node_ncols[k] = 1;
        } else if (nd->nchildren > 0) {
            w->node_col0[k] = w->node_col0[nd->children[0]];
            for (int32_t j = 0; j < nd->nchildren; j++)
                w->node_ncols[k] += w->node_ncols[nd->children[j]];
        }
    }
    int rc = out(w, "PAR1", 4);
    if (rc) {
        pq_writer_free(w);
        return ig_err(eb, rc, "parquet writer: cannot write to the sink");
    }
    *out_w = w;
    return 0;
}

int pq_writer_set_encoding(pq_writer *w, int col, pq_encoding enc)
{
    if (col < 0 || (size_t)col >= w->s->ncols)
        return IG_EINVAL;
    wcol *c = &w->cols[col];
    switch (enc) {
    case PQ_ENC_AUTO_:
    case PQ_ENC_PLAIN:
        break;
    case PQ_ENC_RLE_DICTIONARY:
        if (c->phys == PQ_BOOLEAN)
            return IG_EINVAL;
        break;
    case PQ_ENC_DELTA_BINARY_PACKED:
        if (c->phys != PQ_INT32 && c->phys != PQ_INT64)
            return IG_EINVAL;
        break;
    case PQ_ENC_BYTE_STREAM_SPLIT:
        if (c->phys != PQ_FLOAT && c->phys != PQ_DOUBLE && c->phys != PQ_INT32 &&
            c->phys != PQ_INT64 && c->phys != PQ_FIXED_LEN_BYTE_ARRAY)
            return IG_EINVAL;
        break;
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
    case PQ_ENC_DELTA_BYTE_ARRAY:
        if (c->phys != PQ_BYTE_ARRAY)
            return IG_EINVAL;
        break;
    default:
        return IG_EINVAL;
    }
    c->enc = enc;
    return 0;
}

int pq_writer_set_bloom(pq_writer *w, int col, bool on)
{
    if (col < 0 || (size_t)col >= w->s->ncols || w->cols[col].phys == PQ_BOOLEAN)
        return IG_EINVAL;
    w->cols[col].bloom = on;
    return 0;
}

int pq_writer_add_kv(pq_writer *w, const char *key, const char *value)
{
    if (w->nkv == w->cap_kv) {
        size_t nc = w->cap_kv ? w->cap_kv * 2 : 8;
        pq_kv *p = ig_realloc(w->kv, nc * sizeof *p);
        if (!p)
            return IG_ENOMEM;
        w->kv = p;
        w->cap_kv = nc;
    }
    char *k = ig_strdup(key), *v = value ? ig_strdup(value) : NULL;
    if (!k || (value && !v)) {
        ig_free(k);
        ig_free(v);
        return IG_ENOMEM;
    }
    w->kv[w->nkv].key = k;
    w->kv[w->nkv].value = v;
    w->nkv++;
    return 0;
}

/* ---- Appends ---------------------------------------------------------------------- */

static int grow(pq_writer *w, void **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    if (w->buffered + (nc - *cap) > w->o.max_buffer_bytes)
        return IG_ETOOBIG;
    void *q = ig_realloc(*p, nc);
    if (!q)
        return IG_ENOMEM;
    w->buffered += nc - *cap;
    *p = q;
    *cap = nc;
    return 0;
}

static int grow_levels(pq_writer *w, wcol *c)
{
    size_t nc = c->cap_lv ? c->cap_lv * 2 : 1024;
    size_t per = (c->max_def ? 2u : 0u) + (c->max_rep ? 2u : 0u);
    size_t add = (nc - c->cap_lv) * per;
    if (w->buffered + add > w->o.max_buffer_bytes)
        return IG_ETOOBIG;
    if (c->max_def) {
        int16_t *p = ig_realloc(c->def, nc * 2);
        if (!p)
            return IG_ENOMEM;
        c->def = p;
    }
    if (c->max_rep) {
        int16_t *p = ig_realloc(c->rep, nc * 2);
        if (!p)
            return IG_ENOMEM;
        c->rep = p;
    }
    w->buffered += add;
    c->cap_lv = nc;
    return 0;
}

static inline int put_level(pq_writer *w, wcol *c, int def, int rep)
{
    if ((unsigned)def > (unsigned)c->max_def || (unsigned)rep > (unsigned)c->max_rep ||
        (c->n == 0 && rep != 0))
        return IG_EINVAL;
    if (c->n == c->cap_lv) {
        int rc = grow_levels(w, c);
        if (rc)
            return rc;
    }
    if (c->max_def)
        c->def[c->n] = (int16_t)def;
    if (c->max_rep)
        c->rep[c->n] = (int16_t)rep;
    c->n++;
    if (rep == 0)
        c->rows++;
    return 0;
}

static inline int put_fixed(pq_writer *w, int col, int rep, pq_phys want, const void *v, size_t width)
{
    if (col < 0 || (size_t)col >= w->s->ncols)
        return IG_EINVAL;
    wcol *c = &w->cols[col];
    if (c->phys != want || c->width != width)
        return IG_EINVAL;
    size_t need = (c->nvals + 1) * width;
    int rc;
    if (need > c->cap_vals && (rc = grow(w, (void **)&c->vals, &c->cap_vals, need)))
        return rc;
    if ((rc = put_level(w, c, c->max_def, rep)))
        return rc;
    memcpy(c->vals + c->nvals * width, v, width);
    c->nvals++;
    return 0;
}

int pq_put_null(pq_writer *w, int col, int def, int rep)
{
    if (col < 0 || (size_t)col >= w->s->ncols)
        return IG_EINVAL;
    wcol *c = &w->cols[col];
    if (def >= c->max_def)
        return IG_EINVAL;
    return put_level(w, c, def, rep);
}

int pq_put_bool(pq_writer *w, int col, int rep, bool v)
{
    uint8_t b = v;
    return put_fixed(w, col, rep, PQ_BOOLEAN, &b, 1);
}

int pq_put_i32(pq_writer *w, int col, int rep, int32_t v)
{
    return put_fixed(w, col, rep, PQ_INT32, &v, 4);
}

int pq_put_i64(pq_writer *w, int col, int rep, int64_t v)
{
    return put_fixed(w, col, rep, PQ_INT64, &v, 8);
}

int pq_put_f32(pq_writer *w, int col, int rep, float v)
{
    return put_fixed(w, col, rep, PQ_FLOAT, &v, 4);
}

int pq_put_f64(pq_writer *w, int col, int rep, double v)
{
    return put_fixed(w, col, rep, PQ_DOUBLE, &v, 8);
}

int pq_put_bytes(pq_writer *w, int col, int rep, const void *p, size_t n)
{
    if (col < 0 || (size_t)col >= w->s->ncols)
        return IG_EINVAL;
    wcol *c = &w->cols[col];
    if (c->phys == PQ_FIXED_LEN_BYTE_ARRAY || c->phys == PQ_INT96)
        return n == c->width ? put_fixed(w, col, rep, c->phys, p, n) : IG_EINVAL;
    if (c->phys != PQ_BYTE_ARRAY)
        return IG_EINVAL;
    if (n > UINT32_MAX - c->dlen)
        return IG_ETOOBIG;
    int rc;
    if ((c->nvals + 2) * 4 > c->cap_offs &&
        (rc = grow(w, (void **)&c->offs, &c->cap_offs, (c->nvals + 2) * 4)))
        return rc;
    if (c->dlen + n > c->cap_data && (rc = grow(w, (void **)&c->data, &c->cap_data, c->dlen + n)))
        return rc;
    if ((rc = put_level(w, c, c->max_def, rep)))
        return rc;
    c->offs[c->nvals] = (uint32_t)c->dlen;
    if (n)
        memcpy(c->data + c->dlen, p, n);
    c->dlen += n;
    c->nvals++;
    c->offs[c->nvals] = (uint32_t)c->dlen;
    return 0;
}

#define PUT_N(NAME, T, PUT)                                                                 \
    int NAME(pq_writer *w, int col, const T *v, const uint8_t *valid, size_t n)             \
    {                                                                                       \
        if (col < 0 || (size_t)col >= w->s->ncols || w->cols[col].max_rep)                  \
            return IG_EINVAL;                                                               \
        for (size_t i = 0; i < n; i++) {                                                    \
            int rc = (valid && !valid[i]) ? pq_put_null(w, col, 0, 0) : PUT(w, col, 0, v[i]); \
            if (rc)                                                                         \
                return rc;                                                                  \
        }                                                                                   \
        return 0;                                                                           \
    }
PUT_N(pq_put_i64_n, int64_t, pq_put_i64)
PUT_N(pq_put_i32_n, int32_t, pq_put_i32)
PUT_N(pq_put_f64_n, double, pq_put_f64)

uint64_t pq_writer_buffered_rows(const pq_writer *w)
{
    return w->s->ncols ? w->cols[0].rows : 0;
}

uint64_t pq_writer_bytes_written(const pq_writer *w)
{
    return w->pos;
}

/* ---- Row shredding ---------------------------------------------------------------- */

static int null_under(pq_writer *w, int node, int def, int rep)
{
    int32_t c0 = w->node_col0[node], nc = w->node_ncols[node];
    for (int32_t k = 0; k < nc; k++) {
        int rc = put_level(w, &w->cols[c0 + k], def, rep);
        if (rc)
            return rc;
    }
    return 0;
}

static int put_leaf(pq_writer *w, const pq_node *nd, const pq_value *v, int rep, ig_errbuf *eb)
{
    int col = nd->col;
    switch (nd->phys) {
    case PQ_BOOLEAN:
        if (v->kind != PQ_V_BOOL)
            break;
        return pq_put_bool(w, col, rep, v->b);
    case PQ_INT32:
        if (v->kind != PQ_V_INT)
            break;
        if (v->i < INT32_MIN || v->i > INT32_MAX)
            return ig_err(eb, IG_ERANGE, "parquet: %.*s: %lld does not fit in 32 bits",
                          (int)nd->name.len, nd->name.ptr, (long long)v->i);
        return pq_put_i32(w, col, rep, (int32_t)v->i);
    case PQ_INT64:
        if (v->kind != PQ_V_INT)
            break;
        return pq_put_i64(w, col, rep, v->i);
    case PQ_FLOAT:
        if (v->kind == PQ_V_INT)
            return pq_put_f32(w, col, rep, (float)v->i);
        if (v->kind != PQ_V_DOUBLE)
            break;
        return pq_put_f32(w, col, rep, (float)v->d);
    case PQ_DOUBLE:
        if (v->kind == PQ_V_INT)
            return pq_put_f64(w, col, rep, (double)v->i);
        if (v->kind != PQ_V_DOUBLE)
            break;
        return pq_put_f64(w, col, rep, v->d);
    default:
        if (v->kind != PQ_V_BYTES)
            break;
        if (nd->phys != PQ_BYTE_ARRAY && v->s.len != (size_t)w->cols[col].width)
            return ig_err(eb, IG_EINVAL, "parquet: %.*s: value has %zu bytes, want %zu",
                          (int)nd->name.len, nd->name.ptr, v->s.len, w->cols[col].width);
        return pq_put_bytes(w, col, rep, v->s.ptr, v->s.len);
    }
    return ig_err(eb, IG_EINVAL, "parquet: %.*s: value kind %d does not match type %s",
                  (int)nd->name.len, nd->name.ptr, v->kind, pq_phys_name((pq_phys)nd->phys));
}

static int shred(pq_writer *w, int node, const pq_value *v, int rep, ig_errbuf *eb)
{
    const pq_schema *s = w->s;
    const pq_node *nd = &s->nodes[node];
    int rc;
    if (!v || v->kind == PQ_V_NULL) {
        if (nd->repetition == PQ_REQUIRED)
            return ig_err(eb, IG_EINVAL, "parquet: required field %.*s is null",
                          (int)nd->name.len, nd->name.ptr);
        return null_under(w, node, nd->def - 1, rep);
    }
    if (nd->col >= 0)
        return put_leaf(w, nd, v, rep, eb);
    int key, val;
    int elem = pq_node_list_element(s, node);
    int kvn = elem < 0 ? pq_node_map_kv(s, node, &key, &val) : -1;
    if (elem >= 0 && elem != nd->children[0]) {
        if (v->kind != PQ_V_LIST)
            return ig_err(eb, IG_EINVAL, "parquet: field %.*s expects a list",
                          (int)nd->name.len, nd->name.ptr);
        const pq_node *r = &s->nodes[nd->children[0]];
        if (v->n == 0)
            return null_under(w, node, nd->def, rep);
        for (size_t i = 0; i < v->n; i++)
            if ((rc = shred(w, elem, &v->items[i], i == 0 ? rep : r->rep, eb)))
                return rc;
        return 0;
    }
    if (kvn >= 0 && val >= 0) {
        if (v->kind != PQ_V_MAP || v->n % 2)
            return ig_err(eb, IG_EINVAL, "parquet: field %.*s expects a map",
                          (int)nd->name.len, nd->name.ptr);
        const pq_node *r = &s->nodes[kvn];
        if (v->n == 0)
            return null_under(w, node, nd->def, rep);
        for (size_t i = 0; i < v->n; i += 2) {
            int rr = i == 0 ? rep : r->rep;
            if ((rc = shred(w, key, &v->items[i], rr, eb)) ||
                (rc = shred(w, val, &v->items[i + 1], rr, eb)))
                return rc;
        }
        return 0;
    }
    if (nd->repetition == PQ_REPEATED || elem >= 0 || kvn >= 0)
        return ig_err(eb, IG_EUNSUPPORTED, "parquet: cannot shred field %.*s",
                      (int)nd->name.len, nd->name.ptr);
    if (v->kind != PQ_V_STRUCT || v->n != (size_t)nd->nchildren)
        return ig_err(eb, IG_EINVAL, "parquet: field %.*s expects a struct of %d fields",
                      (int)nd->name.len, nd->name.ptr, nd->nchildren);
    for (int32_t k = 0; k < nd->nchildren; k++)
        if ((rc = shred(w, nd->children[k], &v->items[k], rep, eb)))
            return rc;
    return 0;
}

int pq_writer_append_row(pq_writer *w, const pq_value *row, ig_errbuf *eb)
{
    const pq_node *root = &w->s->nodes[0];
    if (!row || row->kind != PQ_V_STRUCT || row->n != (size_t)root->nchildren)
        return ig_err(eb, IG_EINVAL, "parquet: row must be a struct of %d fields",
                      root->nchildren);
    /* Remember the column sizes so a failed row can be rolled back. */
    size_t ncols = w->s->ncols;
    if (!w->snap && !(w->snap = ig_calloc(ncols, sizeof *w->snap)))
        return IG_ENOMEM;
    for (size_t i = 0; i < ncols; i++) {
        const wcol *c = &w->cols[i];
        w->snap[i] = (col_snap){c->n, c->nvals, c->dlen, c->rows};
    }
    int rc = 0;
    for (int32_t k = 0; k < root->nchildren && !rc; k++)
        rc = shred(w, root->children[k], &row->items[k], 0, eb);
    if (rc) {
        for (size_t i = 0; i < ncols; i++) {
            wcol *c = &w->cols[i];
            c->n = w->snap[i].n;
            c->nvals = w->snap[i].nvals;
            c->dlen = w->snap[i].dlen;
            c->rows = w->snap[i].rows;
        }
        return rc;
    }
    return pq_writer_maybe_flush(w, eb);
}

/* ---- Dictionary ------------------------------------------------------------------- */

static inline uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    return pq__hash(p, n);
}

static inline ig_str col_value(const wcol *c, size_t k)
{
    if (c->phys == PQ_BYTE_ARRAY)
        return (ig_str){(const char *)c->data + c->offs[k], c->offs[k + 1] - c->offs[k]};
    return (ig_str){(const char *)c->vals + k * c->width, c->width};
}

/* Builds the dictionary of column c into w->didx/w->dfirst. Returns the number of
 * entries, or 0 when the dictionary would exceed the size limit. */
static size_t dict_build(pq_writer *w, wcol *c, size_t *dict_bytes, int *rcp)
{
    size_t n = c->nvals;
    *rcp = 0;
    if (n == 0)
        return 0;
    size_t need = n * 4;
    if (need > w->cap_didx) {
        uint32_t *p = ig_realloc(w->didx, need);
        if (!p) {
            *rcp = IG_ENOMEM;
            return 0;
        }
        w->didx = p;
        w->cap_didx = need;
    }
    size_t tsize = 1024;
    size_t limit_entries = n < (1u << 24) ? n : (1u << 24);
    while (tsize < limit_entries * 2 && tsize < (1u << 26))
        tsize *= 2;
    if (tsize * 4 > w->cap_dhash) {
        uint32_t *p = ig_realloc(w->dhash, tsize * 4);
        if (!p) {
            *rcp = IG_ENOMEM;
            return 0;
        }
        w->dhash = p;
        w->cap_dhash = tsize * 4;
    }
    memset(w->dhash, 0, tsize * 4);
    size_t ndict = 0, bytes = 0, mask = tsize - 1;
    size_t per_entry_overhead = c->phys == PQ_BYTE_ARRAY ? 4 : 0;
    for (size_t k = 0; k < n; k++) {
        ig_str v = col_value(c, k);
        uint64_t h;
        if (c->width == 8) {
            uint64_t x = pq__rd64((const uint8_t *)v.ptr);
            h = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ULL;
            h ^= h >> 32;
        } else if (c->width == 4) {
            uint64_t x = pq__rd32((const uint8_t *)v.ptr);
            h = x * 0x9E3779B97F4A7C15ULL;
            h ^= h >> 29;
        } else
            h = hash_bytes((const uint8_t *)v.ptr, v.len);
        size_t slot = (size_t)h & mask;
        for (;;) {
            uint32_t e = w->dhash[slot];
            if (e == 0) {
                if (ndict >= limit_entries || ndict + 1 > tsize / 2)
                    return 0;
                bytes += v.len + per_entry_overhead;
                if (bytes > w->o.dict_max_bytes)
                    return 0;
                if ((ndict + 1) * 4 > w->cap_dfirst) {
                    size_t nc = w->cap_dfirst ? w->cap_dfirst * 2 : 4096;
                    uint32_t *p = ig_realloc(w->dfirst, nc);
                    if (!p) {
                        *rcp = IG_ENOMEM;
                        return 0;
                    }
                    w->dfirst = p;
                    w->cap_dfirst = nc;
                }
                w->dfirst[ndict] = (uint32_t)k;
                w->dhash[slot] = (uint32_t)++ndict;
                w->didx[k] = (uint32_t)(ndict - 1);
                break;
            }
            ig_str o = col_value(c, w->dfirst[e - 1]);
            if (o.len == v.len && memcmp(o.ptr, v.ptr, v.len) == 0) {
                w->didx[k] = e - 1;
                break;
            }
            slot = (slot + 1) & mask;
        }
    }
    *dict_bytes = bytes;
    return ndict;
}

/* ---- Statistics ------------------------------------------------------------------- */

typedef struct vstats {
    bool any;       /* a non-NaN value was seen */
    size_t min_k, max_k; /* value indexes */
    uint64_t nan_count;
} vstats;

static inline bool is_nan_at(const wcol *c, size_t k)
{
    if (c->phys == PQ_DOUBLE) {
        double d;
        memcpy(&d, c->vals + k * 8, 8);
        return isnan(d);
    }
    if (c->phys == PQ_FLOAT) {
        float f;
        memcpy(&f, c->vals + k * 4, 4);
        return isnan(f);
    }
    return false;
}

static inline int cmp_vals(const wcol *c, size_t a, size_t b)
{
    if (c->phys == PQ_BYTE_ARRAY || c->phys == PQ_FIXED_LEN_BYTE_ARRAY || c->phys == PQ_INT96) {
        ig_str x = col_value(c, a), y = col_value(c, b);
        return ig_str_cmp(x, y);
    }
    return pq__cmp_fixed(c->phys, c->vals + a * c->width, c->vals + b * c->width);
}

static int cmp_entries(const void *a, const void *b, void *ctx)
{
    const void **x = ctx; /* {writer, column} */
    const pq_writer *w = x[0];
    const wcol *c = x[1];
    return cmp_vals(c, w->dfirst[*(const uint32_t *)a], w->dfirst[*(const uint32_t *)b]);
}

/* Ranks the ndict entries of the chunk's dictionary when that is cheaper than comparing
 * values page by page (few distinct values); floats keep the value path (NaN). On
 * allocation failure nothing is ranked and statistics take the slower path. */
static void rank_dict(pq_writer *w, const wcol *c, size_t ndict)
{
    w->nrank = 0;
    if (c->phys == PQ_FLOAT || c->phys == PQ_DOUBLE || ndict < 2)
        return;
    size_t lg = 1;
    while (((size_t)1 << lg) < ndict)
        lg++;
    if (ndict * lg > c->nvals / 2)
        return;
    if (ndict > w->cap_drank) {
        uint32_t *r = ig_realloc(w->drank, ndict * sizeof *r);
        if (!r)
            return;
        w->drank = r;
        uint32_t *so = ig_realloc(w->dsorted, ndict * sizeof *so);
        if (!so)
            return;
        w->dsorted = so;
        w->cap_drank = ndict;
    }
    for (size_t e = 0; e < ndict; e++)
        w->dsorted[e] = (uint32_t)e;
    const void *ctx[2] = {w, c};
    qsort_r(w->dsorted, ndict, sizeof *w->dsorted, cmp_entries, (void *)ctx);
    for (size_t r = 0; r < ndict; r++)
        w->drank[w->dsorted[r]] = (uint32_t)r;
    w->nrank = ndict;
}

/* Statistics over values [v0, v1); with a dictionary, over the entries they use. */
static void stats_range(const pq_writer *w, const wcol *c, size_t v0, size_t v1, bool dict,
                        vstats *st)
{
    memset(st, 0, sizeof *st);
    if (dict && w->nrank && v1 > v0) {
        /* integer comparisons of entry ranks */
        uint32_t lo = UINT32_MAX, hi = 0;
        for (size_t k = v0; k < v1; k++) {
            uint32_t r = w->drank[w->didx[k]];
            lo = r < lo ? r : lo;
            hi = r > hi ? r : hi;
        }
        st->any = true;
        st->min_k = w->dfirst[w->dsorted[lo]];
        st->max_k = w->dfirst[w->dsorted[hi]];
        return;
    }
    uint32_t last = UINT32_MAX;
    for (size_t k = v0; k < v1; k++) {
        size_t vk = k;
        if (dict) {
            uint32_t e = w->didx[k];
            if (e == last)
                continue;
            last = e;
            vk = w->dfirst[e];
        }
        if (is_nan_at(c, vk)) {
            st->nan_count++;
            continue;
        }
        if (!st->any) {
            st->any = true;
            st->min_k = st->max_k = vk;
            continue;
        }
        if (cmp_vals(c, vk, st->min_k) < 0)
            st->min_k = vk;
        else if (cmp_vals(c, vk, st->max_k) > 0)
            st->max_k = vk;
    }
    if (dict && (c->phys == PQ_FLOAT || c->phys == PQ_DOUBLE)) {
        st->nan_count = 0; /* recount exactly: entries were deduplicated above */
        for (size_t k = v0; k < v1; k++)
            st->nan_count += is_nan_at(c, w->dfirst[w->didx[k]]);
    }
}

/* Writes the statistics bytes of value k (min or max) into dst (>= stats_max_len + 16
 * bytes); returns the length and whether it is exact. */
static size_t stat_bytes(const pq_writer *w, const wcol *c, size_t k, bool is_max, uint8_t *dst,
                         bool *exact)
{
    ig_str v = col_value(c, k);
    *exact = true;
    if (c->phys == PQ_BYTE_ARRAY || c->phys == PQ_FIXED_LEN_BYTE_ARRAY) {
        size_t max = w->o.stats_max_len;
        if (v.len <= max) {
            memcpy(dst, v.ptr, v.len);
            return v.len;
        }
        if (c->phys == PQ_FIXED_LEN_BYTE_ARRAY) {
            /* A truncated fixed value would not be a valid value of the type: keep it. */
            if (v.len <= 1024) {
                memcpy(dst, v.ptr, v.len);
                return v.len;
            }
            *exact = false;
            return SIZE_MAX;
        }
        *exact = false;
        size_t n = is_max ? pq_truncate_upper((const uint8_t *)v.ptr, v.len, max, c->utf8, dst)
                          : pq_truncate_lower((const uint8_t *)v.ptr, v.len, max, c->utf8, dst);
        if (is_max && n == 0)
            return SIZE_MAX; /* no upper bound shorter than the value */
        return n;
    }
    memcpy(dst, v.ptr, v.len);
    if (c->phys == PQ_FLOAT) {
        float f;
        memcpy(&f, dst, 4);
        if (f == 0.0f) {
            f = is_max ? 0.0f : -0.0f;
            memcpy(dst, &f, 4);
        }
    } else if (c->phys == PQ_DOUBLE) {
        double d;
        memcpy(&d, dst, 8);
        if (d == 0.0) {
            d = is_max ? 0.0 : -0.0;
            memcpy(dst, &d, 8);
        }
    }
    return v.len;
}

static ig_str meta_copy(pq_writer *w, const uint8_t *p, size_t n)
{
    return ig_arena_strdup(&w->meta, (ig_str){(const char *)p, n});
}

/* Fills s (bytes in the metadata arena) from value statistics. Returns IG_ENOMEM. */
static int fill_stats(pq_writer *w, const wcol *c, const vstats *vs, int64_t nulls,
                      pq_stats *s)
{
    memset(s, 0, sizeof *s);
    s->has_null_count = true;
    s->null_count = nulls;
    if (c->phys == PQ_FLOAT || c->phys == PQ_DOUBLE) {
        s->has_nan_count = true;
        s->nan_count = (int64_t)vs->nan_count;
    }
    if (!vs->any || c->phys == PQ_INT96)
        return 0;
    size_t cap = w->o.stats_max_len + 1024 + 16;
    uint8_t *tmp = ig_malloc(cap);
    if (!tmp)
        return IG_ENOMEM;
    bool ex;
    size_t n = stat_bytes(w, c, vs->min_k, false, tmp, &ex);
    if (n != SIZE_MAX) {
        s->min = meta_copy(w, tmp, n);
        s->has_min = s->min.ptr != NULL;
        s->min_exact = ex;
    }
    n = stat_bytes(w, c, vs->max_k, true, tmp, &ex);
    if (n != SIZE_MAX) {
        s->max = meta_copy(w, tmp, n);
        s->has_max = s->max.ptr != NULL;
        s->max_exact = ex;
    }
    ig_free(tmp);
    if (!s->has_min || !s->has_max) {
        s->has_min = s->has_max = false;
    }
    return 0;
}

/* ---- Page encoding ---------------------------------------------------------------- */

static int ensure_i64tmp(pq_writer *w, size_t n)
{
    if (n * 8 <= w->cap_i64tmp)
        return 0;
    int64_t *p = ig_realloc(w->i64tmp, n * 8);
    if (!p)
        return IG_ENOMEM;
    w->i64tmp = p;
    w->cap_i64tmp = n * 8;
    return 0;
}

static int put_u32le(ig_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return ig_buf_append(b, x, 4);
}

/* Encodes values [v0, v1) of c with encoding enc into w->val. */
static int encode_values(pq_writer *w, wcol *c, size_t v0, size_t v1, int enc, int dict_bw)
{
    ig_buf *b = &w->val;
    size_t n = v1 - v0;
    int rc;
    switch (enc) {
    case PQ_ENC_RLE_DICTIONARY: {
        uint8_t bw = (uint8_t)dict_bw;
        if ((rc = ig_buf_append(b, &bw, 1)))
            return rc;
        return n ? pq__rle_encode_u32(b, w->didx + v0, n, dict_bw) : 0;
    }
    case PQ_ENC_PLAIN:
        if (n == 0)
            return 0;
        if (c->phys == PQ_BOOLEAN) {
            size_t nb = (n + 7) / 8;
            if ((rc = ig_buf_reserve(b, nb)))
                return rc;
            uint8_t *d = (uint8_t *)b->data + b->len;
            memset(d, 0, nb);
            for (size_t k = 0; k < n; k++)
                if (c->vals[v0 + k])
                    d[k / 8] |= (uint8_t)(1u << (k % 8));
            b->len += nb;
            return 0;
        }
        if (c->phys != PQ_BYTE_ARRAY)
            return ig_buf_append(b, c->vals + v0 * c->width, n * c->width);
        if ((rc = ig_buf_reserve(b, (c->offs[v1] - c->offs[v0]) + 4 * n)))
            return rc;
        for (size_t k = v0; k < v1; k++) {
            uint32_t len = c->offs[k + 1] - c->offs[k];
            uint8_t *d = (uint8_t *)b->data + b->len;
            memcpy(d, &len, 4);
            memcpy(d + 4, c->data + c->offs[k], len);
            b->len += 4 + (size_t)len;
        }
        return 0;
    case PQ_ENC_DELTA_BINARY_PACKED:
        if ((rc = ensure_i64tmp(w, n + 1)))
            return rc;
        for (size_t k = 0; k < n; k++)
            w->i64tmp[k] = c->phys == PQ_INT32 ? (int64_t)(int32_t)pq__rd32(c->vals + (v0 + k) * 4)
                                                : (int64_t)pq__rd64(c->vals + (v0 + k) * 8);
        return pq__delta_encode(b, w->i64tmp, n, c->phys == PQ_INT32);
    case PQ_ENC_BYTE_STREAM_SPLIT: {
        size_t wd = c->width;
        if (n == 0)
            return 0;
        if ((rc = ig_buf_reserve(b, n * wd)))
            return rc;
        uint8_t *d = (uint8_t *)b->data + b->len;
        for (size_t k = 0; k < n; k++)
            for (size_t j = 0; j < wd; j++)
                d[j * n + k] = c->vals[(v0 + k) * wd + j];
        b->len += n * wd;
        return 0;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if ((rc = ensure_i64tmp(w, n + 1)))
            return rc;
        for (size_t k = 0; k < n; k++)
            w->i64tmp[k] = c->offs[v0 + k + 1] - c->offs[v0 + k];
        if ((rc = pq__delta_encode(b, w->i64tmp, n, true)))
            return rc;
        return n ? ig_buf_append(b, c->data + c->offs[v0], c->offs[v1] - c->offs[v0]) : 0;
    case PQ_ENC_DELTA_BYTE_ARRAY: {
        if ((rc = ensure_i64tmp(w, 2 * n + 1)))
            return rc;
        int64_t *pre = w->i64tmp, *suf = w->i64tmp + n;
        for (size_t k = 0; k < n; k++) {
            ig_str cur = col_value(c, v0 + k);
            size_t p = 0;
            if (k > 0) {
                ig_str prev = col_value(c, v0 + k - 1);
                while (p < prev.len && p < cur.len && prev.ptr[p] == cur.ptr[p])
                    p++;
            }
            pre[k] = (int64_t)p;
            suf[k] = (int64_t)(cur.len - p);
        }
        if ((rc = pq__delta_encode(b, pre, n, true)) || (rc = pq__delta_encode(b, suf, n, true)))
            return rc;
        for (size_t k = 0; k < n; k++) {
            ig_str cur = col_value(c, v0 + k);
            if ((rc = ig_buf_append(b, cur.ptr + pre[k], (size_t)suf[k])))
                return rc;
        }
        return 0;
    }
    default:
        return IG_EINTERNAL;
    }
}

static int write_page(pq_writer *w, chunk_rec *ch, pq__page_header *h, const void *body,
                      size_t blen)
{
    ig_buf_reset(&w->hbuf);
    th_writer tw;
    th_writer_init(&tw, &w->hbuf);
    pq__write_page_header(&tw, h);
    int rc = th_writer_finish(&tw);
    if (rc)
        return rc;
    if ((rc = out(w, w->hbuf.data, w->hbuf.len)) || (rc = out(w, body, blen)))
        return rc;
    ch->total_compressed += (int64_t)(w->hbuf.len + blen);
    ch->total_uncompressed += (int64_t)w->hbuf.len + h->usize;
    return 0;
}

static int add_page_rec(pq_writer *w, chunk_rec *ch, page_rec *pr)
{
    if (ch->npages == ch->cap_pages) {
        size_t nc = ch->cap_pages ? ch->cap_pages * 2 : 16;
        page_rec *p = ig_arena_alloc(&w->meta, nc * sizeof *p);
        if (!p)
            return IG_ENOMEM;
        if (ch->npages)
            memcpy(p, ch->pages, ch->npages * sizeof *p);
        ch->pages = p;
        ch->cap_pages = nc;
    }
    ch->pages[ch->npages++] = *pr;
    return 0;
}

static int data_page(pq_writer *w, wcol *c, chunk_rec *ch, size_t e0, size_t e1, size_t v0,
                     size_t v1, size_t nrows, int64_t first_row, int enc, int dict_bw)
{
    int rc;
    bool v2 = w->o.page_version == 2;
    ig_buf_reset(&w->lv);
    ig_buf_reset(&w->val);
    size_t rep_len = 0, def_len = 0;
    if (c->max_rep) {
        size_t at = w->lv.len;
        if (!v2 && (rc = put_u32le(&w->lv, 0)))
            return rc;
        if ((rc = pq__rle_encode_i16(&w->lv, c->rep + e0, e1 - e0, pq__bitwidth((uint64_t)c->max_rep))))
            return rc;
        rep_len = w->lv.len - at - (v2 ? 0 : 4);
        if (!v2) {
            uint32_t l = (uint32_t)rep_len;
            memcpy(w->lv.data + at, &l, 4);
        }
    }
    if (c->max_def) {
        size_t at = w->lv.len;
        if (!v2 && (rc = put_u32le(&w->lv, 0)))
            return rc;
        if ((rc = pq__rle_encode_i16(&w->lv, c->def + e0, e1 - e0, pq__bitwidth((uint64_t)c->max_def))))
            return rc;
        def_len = w->lv.len - at - (v2 ? 0 : 4);
        if (!v2) {
            uint32_t l = (uint32_t)def_len;
            memcpy(w->lv.data + at, &l, 4);
        }
    }
    if ((rc = encode_values(w, c, v0, v1, enc, dict_bw)))
        return rc;
    pq__page_header h;
    memset(&h, 0, sizeof h);
    h.num_values = (int32_t)(e1 - e0);
    h.encoding = enc;
    h.def_encoding = PQ_ENC_RLE;
    h.rep_encoding = PQ_ENC_RLE;
    int64_t nulls = (int64_t)((e1 - e0) - (v1 - v0));
    vstats vs;
    stats_range(w, c, v0, v1, enc == PQ_ENC_RLE_DICTIONARY, &vs);
    pq_stats ps;
    if ((rc = fill_stats(w, c, &vs, nulls, &ps)))
        return rc;
    h.has_stats = !w->o.no_stats;
    h.stats = ps;
    page_rec pr = {.offset = (int64_t)w->pos, .first_row = first_row, .null_count = nulls,
                   .null_page = v1 == v0};
    if (ps.has_min) {
        pr.min = ps.min;
        pr.max = ps.max;
    } else if (v1 > v0)
        ch->column_index_ok = false; /* all NaN or unbounded: no usable bounds */
    if (w->lv.len + w->val.len > INT32_MAX)
        return IG_ETOOBIG;
    ig_buf_reset(&w->cbuf);
    if (!v2) {
        h.type = 0;
        const void *src;
        size_t slen;
        if (w->lv.len) {
            ig_buf_reset(&w->page);
            if ((rc = ig_buf_append(&w->page, w->lv.data, w->lv.len)) ||
                (rc = ig_buf_append(&w->page, w->val.data, w->val.len)))
                return rc;
            src = w->page.data;
            slen = w->page.len;
        } else {
            src = w->val.data ? w->val.data : "";
            slen = w->val.len;
        }
        h.usize = (int32_t)slen;
        if (w->o.codec == PQ_CODEC_UNCOMPRESSED) {
            h.csize = h.usize;
            rc = write_page(w, ch, &h, src, slen);
        } else {
            if ((rc = pq__compress(&w->cc, w->o.codec, w->o.level, src, slen, &w->cbuf)))
                return rc;
            h.csize = (int32_t)w->cbuf.len;
            rc = write_page(w, ch, &h, w->cbuf.data, w->cbuf.len);
        }
    } else {
        h.type = 3;
        h.num_nulls = (int32_t)nulls;
        h.num_rows = (int32_t)nrows;
        h.def_len = (int32_t)def_len;
        h.rep_len = (int32_t)rep_len;
        h.is_compressed = w->o.codec != PQ_CODEC_UNCOMPRESSED;
        if ((rc = ig_buf_append(&w->cbuf, w->lv.data ? w->lv.data : "", w->lv.len)))
            return rc;
        if ((rc = pq__compress(&w->cc, w->o.codec, w->o.level, w->val.data ? w->val.data : "",
                               w->val.len, &w->cbuf)))
            return rc;
        if (h.is_compressed && w->cbuf.len - w->lv.len >= w->val.len) {
            /* Compression did not help: store the values as they are. */
            w->cbuf.len = w->lv.len;
            if ((rc = ig_buf_append(&w->cbuf, w->val.data ? w->val.data : "", w->val.len)))
                return rc;
            h.is_compressed = false;
        }
        h.usize = (int32_t)(w->lv.len + w->val.len);
        h.csize = (int32_t)w->cbuf.len;
        rc = write_page(w, ch, &h, w->cbuf.data, w->cbuf.len);
    }
    if (rc)
        return rc;
    pr.size = (int32_t)((int64_t)w->pos - pr.offset);
    ch->ndata_pages++;
    return add_page_rec(w, ch, &pr);
}

static int dict_page(pq_writer *w, wcol *c, chunk_rec *ch, size_t ndict)
{
    ig_buf_reset(&w->val);
    int rc;
    for (size_t e = 0; e < ndict; e++) {
        ig_str v = col_value(c, w->dfirst[e]);
        if (c->phys == PQ_BYTE_ARRAY && (rc = put_u32le(&w->val, (uint32_t)v.len)))
            return rc;
        if ((rc = ig_buf_append(&w->val, v.ptr, v.len)))
            return rc;
    }
    pq__page_header h;
    memset(&h, 0, sizeof h);
    h.type = 2;
    h.num_values = (int32_t)ndict;
    h.encoding = PQ_ENC_PLAIN;
    if (w->val.len > INT32_MAX)
        return IG_ETOOBIG;
    h.usize = (int32_t)w->val.len;
    ig_buf_reset(&w->cbuf);
    if ((rc = pq__compress(&w->cc, w->o.codec, w->o.level, w->val.data ? w->val.data : "",
                           w->val.len, &w->cbuf)))
        return rc;
    h.csize = (int32_t)w->cbuf.len;
    ch->dict_page_offset = (int64_t)w->pos;
    return write_page(w, ch, &h, w->cbuf.data, w->cbuf.len);
}

static void merge_bounds(wcol *c, const pq_stats *s)
{
    if (!s->has_min || !s->has_max)
        return;
    ig_str lo = {(const char *)c->lo, c->lo_len}, hi = {(const char *)c->hi, c->hi_len};
    if (!c->has_bounds || pq_stat_cmp(c->phys, s->min, lo) < 0) {
        uint8_t *p = ig_realloc(c->lo, s->min.len ? s->min.len : 1);
        if (p) {
            memcpy(p, s->min.ptr, s->min.len);
            c->lo = p;
            c->lo_len = s->min.len;
            c->lo_exact = s->min_exact;
        }
    }
    if (!c->has_bounds || pq_stat_cmp(c->phys, s->max, hi) > 0) {
        uint8_t *p = ig_realloc(c->hi, s->max.len ? s->max.len : 1);
        if (p) {
            memcpy(p, s->max.ptr, s->max.len);
            c->hi = p;
            c->hi_len = s->max.len;
            c->hi_exact = s->max_exact;
        }
    }
    c->has_bounds = c->lo && c->hi;
}

static int bloom_build(pq_writer *w, wcol *c, bool dict, size_t ndict)
{
    size_t ndv = dict ? ndict : c->nvals;
    size_t nb = pq__bloom_size(ndv, w->o.bloom_fpp, w->o.bloom_max_bytes);
    ig_free(c->bloom_bits);
    c->bloom_bits = ig_calloc(1, nb);
    if (!c->bloom_bits)
        return IG_ENOMEM;
    c->bloom_bytes = nb;
    size_t cnt = dict ? ndict : c->nvals;
    for (size_t k = 0; k < cnt; k++) {
        ig_str v = col_value(c, dict ? w->dfirst[k] : k);
        pq__bloom_insert(c->bloom_bits, nb, pq__hash(v.ptr, v.len));
    }
    return 0;
}

static int write_chunk(pq_writer *w, wcol *c, chunk_rec *ch)
{
    int rc;
    memset(ch, 0, sizeof *ch);
    ch->dict_page_offset = -1;
    ch->bloom_offset = -1;
    ch->column_index_ok = true;
    ch->ci_off = ch->oi_off = -1;
    ch->num_values = (int64_t)c->n;
    /* Choose the encoding. */
    int enc = c->enc;
    size_t ndict = 0, dbytes = 0;
    bool dict = false;
    if ((enc == PQ_ENC_AUTO_ || enc == PQ_ENC_RLE_DICTIONARY) && !w->o.no_dict &&
        c->phys != PQ_BOOLEAN && c->nvals > 0) {
        ndict = dict_build(w, c, &dbytes, &rc);
        if (rc)
            return rc;
        dict = ndict > 0 && (enc == PQ_ENC_RLE_DICTIONARY || ndict * 3 <= c->nvals * 2 ||
                             c->nvals < 64);
    }
    int data_enc;
    if (dict)
        data_enc = PQ_ENC_RLE_DICTIONARY;
    else if (enc == PQ_ENC_AUTO_ || enc == PQ_ENC_RLE_DICTIONARY)
        data_enc = ((c->phys == PQ_INT64 || c->phys == PQ_INT32) && !w->o.no_delta &&
                    enc == PQ_ENC_AUTO_)
                       ? PQ_ENC_DELTA_BINARY_PACKED
                       : PQ_ENC_PLAIN;
    else
        data_enc = enc;
    int dict_bw = 0;
    if (dict) {
        dict_bw = pq__bitwidth(ndict - 1);
        if (dict_bw == 0)
            dict_bw = 1;
        if ((rc = dict_page(w, c, ch, ndict)))
            return rc;
        ch->has_dict = true;
        rank_dict(w, c, ndict);
        ch->encodings |= 1u << PQ_ENC_PLAIN;
    }
    ch->data_page_offset = (int64_t)w->pos;
    ch->data_encoding = data_enc;
    ch->encodings |= 1u << data_enc;
    if (c->max_def || c->max_rep)
        ch->encodings |= 1u << PQ_ENC_RLE;
    /* Pages at row boundaries. */
    size_t e = 0, v = 0;
    int64_t row = 0;
    size_t n = c->n;
    while (e < n) {
        size_t e0 = e, v0 = v, rows = 0, bytes = 0;
        while (e < n) {
            bool row_start = !c->max_rep || c->rep[e] == 0;
            if (row_start) {
                if (e > e0 && (rows >= w->o.page_rows || bytes >= w->o.page_bytes))
                    break;
                rows++;
            }
            if (!c->max_def || c->def[e] == c->max_def) {
                bytes += dict ? 2
                         : c->phys == PQ_BYTE_ARRAY ? 4 + (size_t)(c->offs[v + 1] - c->offs[v])
                                                    : c->width;
                v++;
            }
            e++;
        }
        if ((rc = data_page(w, c, ch, e0, e, v0, v, rows, row, data_enc, dict_bw)))
            return rc;
        row += (int64_t)rows;
    }
    /* Chunk statistics: with a dictionary, every entry occurs in the chunk, so the entries
     * alone give min and max (NaN counts still need every value). */
    vstats vs;
    if (dict && c->phys != PQ_FLOAT && c->phys != PQ_DOUBLE && !w->nrank) {
        memset(&vs, 0, sizeof vs);
        for (size_t k = 0; k < ndict; k++) {
            size_t vk = w->dfirst[k];
            if (!vs.any) {
                vs.any = true;
                vs.min_k = vs.max_k = vk;
            } else if (cmp_vals(c, vk, vs.min_k) < 0) {
                vs.min_k = vk;
            } else if (cmp_vals(c, vk, vs.max_k) > 0) {
                vs.max_k = vk;
            }
        }
    } else {
        stats_range(w, c, 0, c->nvals, dict, &vs);
    }
    w->nrank = 0;
    if ((rc = fill_stats(w, c, &vs, (int64_t)(c->n - c->nvals), &ch->stats)))
        return rc;
    if (c->bloom && c->nvals > 0 && (rc = bloom_build(w, c, dict, ndict)))
        return rc;
    /* File totals for the result. */
    c->value_count += c->n;
    c->null_count += c->n - c->nvals;
    c->nan_count += vs.nan_count;
    c->csize += (uint64_t)ch->total_compressed;
    c->usize += (uint64_t)ch->total_uncompressed;
    merge_bounds(c, &ch->stats);
    return 0;
}

static void write_bloom_header(th_writer *tw, int32_t nbytes)
{
    th_struct_begin(tw);
    th_field_i32(tw, 1, nbytes);
    th_field(tw, 2, TH_STRUCT); /* algorithm: BLOCK */
    th_struct_begin(tw);
    th_field_empty_struct(tw, 1);
    th_struct_end(tw);
    th_field(tw, 3, TH_STRUCT); /* hash: XXHASH */
    th_struct_begin(tw);
    th_field_empty_struct(tw, 1);
    th_struct_end(tw);
    th_field(tw, 4, TH_STRUCT); /* compression: UNCOMPRESSED */
    th_struct_begin(tw);
    th_field_empty_struct(tw, 1);
    th_struct_end(tw);
    th_struct_end(tw);
}

int pq_writer_flush(pq_writer *w, ig_errbuf *eb)
{
    if (w->failed)
        return ig_err(eb, w->failed, "parquet writer: an earlier write failed");
    size_t ncols = w->s->ncols;
    size_t rows = w->cols[0].rows;
    for (size_t i = 1; i < ncols; i++)
        if (w->cols[i].rows != rows)
            return ig_err(eb, IG_EINVAL,
                          "parquet writer: column %s has %zu rows, column %s has %zu",
                          w->cols[i].c->path, w->cols[i].rows, w->cols[0].c->path, rows);
    if (rows == 0)
        return 0;
    if (w->nrgs == w->cap_rgs) {
        size_t nc = w->cap_rgs ? w->cap_rgs * 2 : 8;
        rg_rec *p = ig_realloc(w->rgs, nc * sizeof *p);
        if (!p)
            return IG_ENOMEM;
        w->rgs = p;
        w->cap_rgs = nc;
    }
    rg_rec *rg = &w->rgs[w->nrgs];
    memset(rg, 0, sizeof *rg);
    rg->num_rows = (int64_t)rows;
    rg->file_offset = (int64_t)w->pos;
    rg->chunks = ig_arena_zalloc(&w->meta, ncols * sizeof(chunk_rec));
    if (!rg->chunks)
        return IG_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < ncols && !rc; i++) {
        rc = write_chunk(w, &w->cols[i], &rg->chunks[i]);
        rg->total_byte_size += rg->chunks[i].total_uncompressed;
        rg->total_compressed += rg->chunks[i].total_compressed;
    }
    /* Bloom filters after the row group's column chunks. */
    for (size_t i = 0; i < ncols && !rc; i++) {
        wcol *c = &w->cols[i];
        if (!c->bloom_bits)
            continue;
        ig_buf_reset(&w->hbuf);
        th_writer tw;
        th_writer_init(&tw, &w->hbuf);
        write_bloom_header(&tw, (int32_t)c->bloom_bytes);
        if ((rc = th_writer_finish(&tw)))
            break;
        rg->chunks[i].bloom_offset = (int64_t)w->pos;
        rg->chunks[i].bloom_len = (int32_t)(w->hbuf.len + c->bloom_bytes);
        if ((rc = out(w, w->hbuf.data, w->hbuf.len)) ||
            (rc = out(w, c->bloom_bits, c->bloom_bytes)))
            break;
        ig_free(c->bloom_bits);
        c->bloom_bits = NULL;
    }
    if (rc) {
        w->failed = w->failed ? w->failed : rc;
        return ig_err(eb, rc, "parquet writer: cannot write row group: %s", ig_strerror(rc));
    }
    w->nrgs++;
    w->total_rows += rows;
    /* Reset the column buffers, keeping their memory. */
    for (size_t i = 0; i < ncols; i++) {
        wcol *c = &w->cols[i];
        c->n = c->nvals = c->rows = c->dlen = 0;
    }
    return 0;
}

int pq_writer_maybe_flush(pq_writer *w, ig_errbuf *eb)
{
    if (pq_writer_buffered_rows(w) >= w->o.row_group_rows)
        return pq_writer_flush(w, eb);
    size_t bytes = 0;
    for (size_t i = 0; i < w->s->ncols; i++) {
        const wcol *c = &w->cols[i];
        bytes += c->n * 4 + c->nvals * (c->width ? c->width : 4) + c->dlen;
    }
    if (bytes >= w->o.row_group_bytes)
        return pq_writer_flush(w, eb);
    return 0;
}

/* ---- Footer ----------------------------------------------------------------------- */

static void write_logical(th_writer *tw, const pq_node *n)
{
    if (n->logical == PQ_LT_NONE)
        return;
    th_field(tw, 10, TH_STRUCT);
    th_struct_begin(tw);
    switch (n->logical) {
    case PQ_LT_TIMESTAMP:
    case PQ_LT_TIME:
        th_field(tw, n->logical, TH_STRUCT);
        th_struct_begin(tw);
        th_field_bool(tw, 1, n->ts_utc);
        th_field(tw, 2, TH_STRUCT);
        th_struct_begin(tw);
        th_field_empty_struct(tw, n->unit ? n->unit : PQ_UNIT_MICROS);
        th_struct_end(tw);
        th_struct_end(tw);
        break;
    case PQ_LT_INTEGER:
        th_field(tw, PQ_LT_INTEGER, TH_STRUCT);
        th_struct_begin(tw);
        th_field(tw, 1, TH_BYTE);
        th_byte(tw, n->int_bits);
        th_field_bool(tw, 2, n->int_signed);
        th_struct_end(tw);
        break;
    case PQ_LT_DECIMAL:
        th_field(tw, PQ_LT_DECIMAL, TH_STRUCT);
        th_struct_begin(tw);
        th_field_i32(tw, 1, n->scale);
        th_field_i32(tw, 2, n->precision);
        th_struct_end(tw);
        break;
    default:
        th_field_empty_struct(tw, n->logical);
    }
    th_struct_end(tw);
}

static void write_schema(th_writer *tw, const pq_schema *s)
{
    th_list_begin(tw, TH_STRUCT, (uint32_t)s->nnodes);
    for (size_t i = 0; i < s->nnodes; i++) {
        const pq_node *n = &s->nodes[i];
        th_struct_begin(tw);
        if (n->col >= 0) {
            th_field_i32(tw, 1, n->phys);
            if (n->phys == PQ_FIXED_LEN_BYTE_ARRAY)
                th_field_i32(tw, 2, n->type_length);
        }
        if (i > 0)
            th_field_i32(tw, 3, n->repetition);
        th_field_binary(tw, 4, n->name.ptr, n->name.len);
        if (n->col < 0)
            th_field_i32(tw, 5, n->nchildren);
        if (n->converted != PQ_CT_NONE)
            th_field_i32(tw, 6, n->converted);
        if (n->converted == PQ_CT_DECIMAL) {
            th_field_i32(tw, 7, n->scale);
            th_field_i32(tw, 8, n->precision);
        }
        if (n->has_field_id)
            th_field_i32(tw, 9, n->field_id);
        write_logical(tw, n);
        th_struct_end(tw);
    }
}

static void write_kvs(th_writer *tw, const pq_kv *kv, size_t n)
{
    th_list_begin(tw, TH_STRUCT, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        th_struct_begin(tw);
        th_field_binary(tw, 1, kv[i].key, strlen(kv[i].key));
        if (kv[i].value)
            th_field_binary(tw, 2, kv[i].value, strlen(kv[i].value));
        th_struct_end(tw);
    }
}

static void write_column_chunk(th_writer *tw, const pq_writer *w, size_t col,
                               const chunk_rec *ch, pq_codec codec)
{
    const pq_column *c = &w->s->cols[col];
    th_struct_begin(tw);
    th_field_i64(tw, 2, 0);
    th_field(tw, 3, TH_STRUCT);
    th_struct_begin(tw);
    th_field_i32(tw, 1, c->phys);
    int nenc = __builtin_popcount(ch->encodings);
    th_field(tw, 2, TH_LIST);
    th_list_begin(tw, TH_I32, (uint32_t)nenc);
    for (int e = 0; e < 32; e++)
        if (ch->encodings & (1u << e))
            th_i32(tw, e);
    /* path_in_schema */
    int32_t path[64];
    int np = 0;
    for (int32_t k = c->node; k > 0 && np < 64; k = w->s->nodes[k].parent)
        path[np++] = k;
    th_field(tw, 3, TH_LIST);
    th_list_begin(tw, TH_BINARY, (uint32_t)np);
    for (int i = np - 1; i >= 0; i--)
        th_binary(tw, w->s->nodes[path[i]].name.ptr, w->s->nodes[path[i]].name.len);
    th_field_i32(tw, 4, codec);
    th_field_i64(tw, 5, ch->num_values);
    th_field_i64(tw, 6, ch->total_uncompressed);
    th_field_i64(tw, 7, ch->total_compressed);
    th_field_i64(tw, 9, ch->data_page_offset);
    if (ch->dict_page_offset >= 0)
        th_field_i64(tw, 11, ch->dict_page_offset);
    if (!w->o.no_stats) {
        th_field(tw, 12, TH_STRUCT);
        pq__write_stats(tw, &ch->stats);
    }
    /* encoding_stats */
    th_field(tw, 13, TH_LIST);
    th_list_begin(tw, TH_STRUCT, ch->has_dict ? 2 : 1);
    if (ch->has_dict) {
        th_struct_begin(tw);
        th_field_i32(tw, 1, 2);
        th_field_i32(tw, 2, PQ_ENC_PLAIN);
        th_field_i32(tw, 3, 1);
        th_struct_end(tw);
    }
    th_struct_begin(tw);
    th_field_i32(tw, 1, w->o.page_version == 2 ? 3 : 0);
    th_field_i32(tw, 2, ch->data_encoding);
    th_field_i32(tw, 3, ch->ndata_pages);
    th_struct_end(tw);
    if (ch->bloom_offset >= 0) {
        th_field_i64(tw, 14, ch->bloom_offset);
        th_field_i32(tw, 15, ch->bloom_len);
    }
    th_struct_end(tw);
    if (ch->oi_off >= 0) {
        th_field_i64(tw, 4, ch->oi_off);
        th_field_i32(tw, 5, ch->oi_len);
    }
    if (ch->ci_off >= 0) {
        th_field_i64(tw, 6, ch->ci_off);
        th_field_i32(tw, 7, ch->ci_len);
    }
    th_struct_end(tw);
}

static int write_page_indexes(pq_writer *w)
{
    size_t ncols = w->s->ncols;
    int rc;
    for (size_t r = 0; r < w->nrgs; r++) {
        for (size_t i = 0; i < ncols; i++) {
            chunk_rec *ch = &w->rgs[r].chunks[i];
            if (!ch->column_index_ok || ch->npages == 0 || w->o.no_stats)
                continue;
            ig_buf_reset(&w->hbuf);
            th_writer tw;
            th_writer_init(&tw, &w->hbuf);
            th_struct_begin(&tw);
            th_field(&tw, 1, TH_LIST);
            th_list_begin(&tw, TH_TRUE, (uint32_t)ch->npages);
            for (size_t p = 0; p < ch->npages; p++)
                th_bool_elem(&tw, ch->pages[p].null_page);
            th_field(&tw, 2, TH_LIST);
            th_list_begin(&tw, TH_BINARY, (uint32_t)ch->npages);
            for (size_t p = 0; p < ch->npages; p++)
                th_binary(&tw, ch->pages[p].min.ptr ? ch->pages[p].min.ptr : "",
                          ch->pages[p].min.len);
            th_field(&tw, 3, TH_LIST);
            th_list_begin(&tw, TH_BINARY, (uint32_t)ch->npages);
            for (size_t p = 0; p < ch->npages; p++)
                th_binary(&tw, ch->pages[p].max.ptr ? ch->pages[p].max.ptr : "",
                          ch->pages[p].max.len);
            /* boundary order */
            int asc = 1, desc = 1;
            ig_str pmin = {0}, pmax = {0};
            bool have = false;
            for (size_t p = 0; p < ch->npages; p++) {
                if (ch->pages[p].null_page)
                    continue;
                if (have) {
                    int a = pq_stat_cmp(w->s->cols[i].phys, pmin, ch->pages[p].min);
                    int b = pq_stat_cmp(w->s->cols[i].phys, pmax, ch->pages[p].max);
                    if (a > 0 || b > 0)
                        asc = 0;
                    if (a < 0 || b < 0)
                        desc = 0;
                }
                pmin = ch->pages[p].min;
                pmax = ch->pages[p].max;
                have = true;
            }
            th_field_i32(&tw, 4, asc ? 1 : desc ? 2 : 0);
            th_field(&tw, 5, TH_LIST);
            th_list_begin(&tw, TH_I64, (uint32_t)ch->npages);
            for (size_t p = 0; p < ch->npages; p++)
                th_i64(&tw, ch->pages[p].null_count);
            th_struct_end(&tw);
            if ((rc = th_writer_finish(&tw)))
                return rc;
            ch->ci_off = (int64_t)w->pos;
            ch->ci_len = (int32_t)w->hbuf.len;
            if ((rc = out(w, w->hbuf.data, w->hbuf.len)))
                return rc;
        }
    }
    for (size_t r = 0; r < w->nrgs; r++) {
        for (size_t i = 0; i < ncols; i++) {
            chunk_rec *ch = &w->rgs[r].chunks[i];
            if (ch->npages == 0)
                continue;
            ig_buf_reset(&w->hbuf);
            th_writer tw;
            th_writer_init(&tw, &w->hbuf);
            th_struct_begin(&tw);
            th_field(&tw, 1, TH_LIST);
            th_list_begin(&tw, TH_STRUCT, (uint32_t)ch->npages);
            for (size_t p = 0; p < ch->npages; p++) {
                th_struct_begin(&tw);
                th_field_i64(&tw, 1, ch->pages[p].offset);
                th_field_i32(&tw, 2, ch->pages[p].size);
                th_field_i64(&tw, 3, ch->pages[p].first_row);
                th_struct_end(&tw);
            }
            th_struct_end(&tw);
            if ((rc = th_writer_finish(&tw)))
                return rc;
            ch->oi_off = (int64_t)w->pos;
            ch->oi_len = (int32_t)w->hbuf.len;
            if ((rc = out(w, w->hbuf.data, w->hbuf.len)))
                return rc;
        }
    }
    return 0;
}

int pq_writer_close(pq_writer *w, pq_write_result *res, ig_errbuf *eb)
{
    if (w->closed)
        return ig_err(eb, IG_EINVAL, "parquet writer: already closed");
    int rc = pq_writer_flush(w, eb);
    if (rc)
        return rc;
    w->closed = true;
    if (!w->o.no_page_index && (rc = write_page_indexes(w)))
        return ig_err(eb, rc, "parquet writer: cannot write the page index");
    ig_buf foot;
    ig_buf_init(&foot, 0);
    th_writer tw;
    th_writer_init(&tw, &foot);
    th_struct_begin(&tw);
    th_field_i32(&tw, 1, 1);
    th_field(&tw, 2, TH_LIST);
    write_schema(&tw, w->s);
    th_field_i64(&tw, 3, (int64_t)w->total_rows);
    th_field(&tw, 4, TH_LIST);
    th_list_begin(&tw, TH_STRUCT, (uint32_t)w->nrgs);
    for (size_t r = 0; r < w->nrgs; r++) {
        const rg_rec *rg = &w->rgs[r];
        th_struct_begin(&tw);
        th_field(&tw, 1, TH_LIST);
        th_list_begin(&tw, TH_STRUCT, (uint32_t)w->s->ncols);
        for (size_t i = 0; i < w->s->ncols; i++)
            write_column_chunk(&tw, w, i, &rg->chunks[i], w->o.codec);
        th_field_i64(&tw, 2, rg->total_byte_size);
        th_field_i64(&tw, 3, rg->num_rows);
        th_field_i64(&tw, 5, rg->file_offset);
        th_field_i64(&tw, 6, rg->total_compressed);
        th_field(&tw, 7, TH_I16);
        th_i32(&tw, (int32_t)(r & 0x7FFF));
        th_struct_end(&tw);
    }
    if (w->nkv) {
        th_field(&tw, 5, TH_LIST);
        write_kvs(&tw, w->kv, w->nkv);
    }
    char created[96];
    snprintf(created, sizeof created, "%s",
             w->o.created_by ? w->o.created_by : "icegate version " IG_VERSION);
    th_field_binary(&tw, 6, created, strlen(created));
    if (!w->o.no_stats) {
        th_field(&tw, 7, TH_LIST);
        th_list_begin(&tw, TH_STRUCT, (uint32_t)w->s->ncols);
        for (size_t i = 0; i < w->s->ncols; i++) {
            th_struct_begin(&tw);
            th_field_empty_struct(&tw, 1); /* TYPE_ORDER */
            th_struct_end(&tw);
        }
    }
    th_struct_end(&tw);
    rc = th_writer_finish(&tw);
    if (!rc && foot.len > UINT32_MAX)
        rc = IG_ETOOBIG;
    if (!rc) {
        uint8_t tail[8];
        uint32_t fl = (uint32_t)foot.len;
        memcpy(tail, &fl, 4);
        memcpy(tail + 4, "PAR1", 4);
        if (!(rc = out(w, foot.data, foot.len)) && !(rc = out(w, tail, 8)))
            rc = out_flush(w);
    }
    ig_buf_free(&foot);
    if (rc)
        return ig_err(eb, rc, "parquet writer: cannot write the footer: %s", ig_strerror(rc));
    if (res) {
        memset(res, 0, sizeof *res);
        ig_arena_init(&res->arena, 0);
        res->file_size = w->pos;
        res->num_rows = w->total_rows;
        res->nrow_groups = w->nrgs;
        res->row_group_offsets = ig_arena_alloc(&res->arena, (w->nrgs + 1) * 8);
        res->cols = ig_arena_zalloc(&res->arena, w->s->ncols * sizeof(pq_col_result));
        if (!res->row_group_offsets || !res->cols) {
            pq_write_result_free(res);
            return IG_ENOMEM;
        }
        for (size_t r = 0; r < w->nrgs; r++)
            res->row_group_offsets[r] = (uint64_t)w->rgs[r].file_offset;
        res->ncols = w->s->ncols;
        for (size_t i = 0; i < w->s->ncols; i++) {
            const wcol *c = &w->cols[i];
            pq_col_result *cr = &res->cols[i];
            cr->field_id = c->c->field_id;
            cr->value_count = c->value_count;
            cr->null_count = c->null_count;
            cr->nan_count = c->nan_count;
            cr->compressed_size = c->csize;
            cr->uncompressed_size = c->usize;
            if (c->has_bounds && c->phys != PQ_INT96) {
                cr->has_bounds = true;
                cr->lower = ig_arena_strdup(&res->arena, (ig_str){(const char *)c->lo, c->lo_len});
                cr->upper = ig_arena_strdup(&res->arena, (ig_str){(const char *)c->hi, c->hi_len});
                cr->lower_exact = c->lo_exact;
                cr->upper_exact = c->hi_exact;
                if (!cr->lower.ptr || !cr->upper.ptr) {
                    pq_write_result_free(res);
                    return IG_ENOMEM;
                }
            }
        }
    }
    return 0;
}

void pq_write_result_free(pq_write_result *res)
{
    if (!res)
        return;
    ig_arena_free(&res->arena);
    memset(res, 0, sizeof *res);
}
