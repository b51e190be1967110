/* Parquet reader: footer parsing (strictly bounds-checked), column chunk decoding into
 * pq_colvec, row-group / page / bloom-filter pruning.
 *
 * Ownership: pq_file owns its metadata (arena, footer bytes); names and statistics are
 * slices into the footer copy. Column vectors own their arrays. Every size read from
 * the file is checked against the file size or an option cap before it is used for an
 * allocation or a read. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "pq_internal.h"
#include "pq_schema.h"

#define MAX_DICT_ENTRIES (1u << 28)

/* ---- Sources ---------------------------------------------------------------------- */

typedef struct mem_src {
    const uint8_t *p;
    size_t n;
} mem_src;

static int mem_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    const mem_src *m = ctx;
    if (off > m->n || n > m->n - off)
        return IG_ECORRUPT;
    if (n)
        memcpy(dst, m->p + off, n);
    return 0;
}

static int src_read(const pq_file *f, uint64_t off, void *dst, size_t n, ig_errbuf *eb)
{
    if (off > f->src.size || n > f->src.size - off)
        return ig_err(eb, IG_ECORRUPT, "parquet: read of %zu bytes at %llu is past the end "
                      "of the file (%llu bytes)", n, (unsigned long long)off,
                      (unsigned long long)f->src.size);
    int rc = f->src.read(f->src.ctx, off, dst, n);
    if (rc)
        return ig_err(eb, rc, "parquet: read of %zu bytes at %llu failed: %s", n,
                      (unsigned long long)off, ig_strerror(rc));
    return 0;
}

/* ---- Footer ----------------------------------------------------------------------- */

static bool ok_i32(th_reader *r, uint8_t t)
{
    return th_expect(r, t, TH_I32);
}

static void read_logical(th_reader *r, pq_node *n)
{
    uint8_t t;
    int16_t id;
    th_struct_enter(r);
    while (th_next_field(r, &t, &id)) {
        if (!th_expect(r, t, TH_STRUCT))
            break;
        n->logical = (int8_t)(id > 0 && id < 64 ? id : PQ_LT_NONE);
        uint8_t t2;
        int16_t id2;
        th_struct_enter(r);
        while (th_next_field(r, &t2, &id2)) {
            if ((id == PQ_LT_TIMESTAMP || id == PQ_LT_TIME) && id2 == 1 && th_expect(r, t2, TH_TRUE))
                n->ts_utc = t2 == TH_TRUE;
            else if ((id == PQ_LT_TIMESTAMP || id == PQ_LT_TIME) && id2 == 2 &&
                     th_expect(r, t2, TH_STRUCT)) {
                uint8_t t3;
                int16_t id3;
                th_struct_enter(r);
                while (th_next_field(r, &t3, &id3)) {
                    if (id3 >= 1 && id3 <= 3)
                        n->unit = (int8_t)id3;
                    th_skip(r, t3);
                }
                th_struct_leave(r);
            } else if (id == PQ_LT_INTEGER && id2 == 1 && th_expect(r, t2, TH_BYTE))
                n->int_bits = th_read_byte(r);
            else if (id == PQ_LT_INTEGER && id2 == 2 && th_expect(r, t2, TH_TRUE))
                n->int_signed = t2 == TH_TRUE;
            else if (id == PQ_LT_DECIMAL && (id2 == 1 || id2 == 2) && ok_i32(r, t2)) {
                int32_t v = th_read_i32(r);
                if (id2 == 1)
                    n->scale = v;
                else
                    n->precision = v;
            } else
                th_skip(r, t2);
        }
        th_struct_leave(r);
    }
    th_struct_leave(r);
}

static void read_schema_element(th_reader *r, pq_node *n)
{
    uint8_t t;
    int16_t id;
    memset(n, 0, sizeof *n);
    n->phys = -1;
    n->repetition = -1;
    n->converted = PQ_CT_NONE;
    n->nchildren = -1;
    bool has_name = false;
    th_struct_enter(r);
    while (th_next_field(r, &t, &id)) {
        switch (id) {
        case 1:
            if (ok_i32(r, t)) {
                int32_t v = th_read_i32(r);
                n->phys = (int8_t)(v >= 0 && v <= 7 ? v : 100);
            }
            break;
        case 2:
            if (ok_i32(r, t))
                n->type_length = th_read_i32(r);
            break;
        case 3:
            if (ok_i32(r, t)) {
                int32_t v = th_read_i32(r);
                n->repetition = (int8_t)(v >= 0 && v <= 3 ? v : 100);
            }
            break;
        case 4:
            if (th_expect(r, t, TH_BINARY)) {
                n->name = th_read_binary(r);
                has_name = true;
            }
            break;
        case 5:
            if (ok_i32(r, t))
                n->nchildren = th_read_i32(r);
            break;
        case 6:
            if (ok_i32(r, t))
                n->converted = th_read_i32(r);
            break;
        case 7:
            if (ok_i32(r, t))
                n->scale = th_read_i32(r);
            break;
        case 8:
            if (ok_i32(r, t))
                n->precision = th_read_i32(r);
            break;
        case 9:
            if (ok_i32(r, t)) {
                n->field_id = th_read_i32(r);
                n->has_field_id = true;
            }
            break;
        case 10:
            if (th_expect(r, t, TH_STRUCT))
                read_logical(r, n);
            break;
        default:
            th_skip(r, t);
        }
    }
    th_struct_leave(r);
    if (!has_name)
        th_fail(r);
    if (!n->has_field_id)
        n->field_id = -1;
    /* Leaves have a type and no (or zero) children. */
    if (n->nchildren <= 0 && n->phys >= 0)
        n->nchildren = 0;
    else if (n->nchildren <= 0)
        n->nchildren = -2; /* group without children or leaf without type: rejected later */
    /* Derive the logical type from a legacy converted type. */
    if (n->logical == PQ_LT_NONE) {
        switch (n->converted) {
        case PQ_CT_UTF8: n->logical = PQ_LT_STRING; break;
        case PQ_CT_MAP: n->logical = PQ_LT_MAP; break;
        case PQ_CT_LIST: n->logical = PQ_LT_LIST; break;
        case PQ_CT_ENUM: n->logical = PQ_LT_ENUM; break;
        case PQ_CT_DECIMAL: n->logical = PQ_LT_DECIMAL; break;
        case PQ_CT_DATE: n->logical = PQ_LT_DATE; break;
        case PQ_CT_JSON: n->logical = PQ_LT_JSON; break;
        case PQ_CT_BSON: n->logical = PQ_LT_BSON; break;
        case PQ_CT_TIME_MILLIS:
        case PQ_CT_TIME_MICROS:
            n->logical = PQ_LT_TIME;
            n->unit = n->converted == PQ_CT_TIME_MILLIS ? PQ_UNIT_MILLIS : PQ_UNIT_MICROS;
            n->ts_utc = true;
            break;
        case PQ_CT_TIMESTAMP_MILLIS:
        case PQ_CT_TIMESTAMP_MICROS:
            n->logical = PQ_LT_TIMESTAMP;
            n->unit = n->converted == PQ_CT_TIMESTAMP_MILLIS ? PQ_UNIT_MILLIS : PQ_UNIT_MICROS;
            n->ts_utc = true;
            break;
        default:
            if (n->converted >= PQ_CT_UINT_8 && n->converted <= PQ_CT_INT_64) {
                static const int8_t bits[] = {8, 16, 32, 64};
                n->logical = PQ_LT_INTEGER;
                n->int_signed = n->converted >= PQ_CT_INT_8;
                n->int_bits = bits[(n->converted - PQ_CT_UINT_8) % 4];
            }
        }
    }
}

typedef struct footer_ctx {
    pq_file *f;
    uint64_t data_end; /* column data must lie before the footer */
    ig_errbuf *eb;
} footer_ctx;

static int corrupt(ig_errbuf *eb, const char *what)
{
    return ig_err(eb, IG_ECORRUPT, "parquet: malformed footer: %s", what);
}

static bool signed_order(const pq_node *n)
{
    if (n->phys == PQ_BYTE_ARRAY || n->phys == PQ_FIXED_LEN_BYTE_ARRAY || n->phys == PQ_INT96)
        return false;
    if (n->logical == PQ_LT_INTEGER && !n->int_signed)
        return false;
    return true;
}

static int read_column_meta(footer_ctx *fc, th_reader *r, size_t col, pq_chunk *ch)
{
    pq_file *f = fc->f;
    const pq_column *c = &f->schema->cols[col];
    const pq_node *nd = &f->schema->nodes[c->node];
    uint8_t t;
    int16_t id;
    uint32_t seen = 0;
    int32_t phys = -1;
    th_struct_enter(r);
    while (th_next_field(r, &t, &id)) {
        if (id > 0 && id < 32)
            seen |= 1u << id;
        switch (id) {
        case 1:
            if (ok_i32(r, t))
                phys = th_read_i32(r);
            break;
        case 2: {
            uint8_t et;
            uint32_t n = th_read_list(r, &et);
            if (n && et != TH_I32)
                th_fail(r);
            for (uint32_t i = 0; i < n && !r->rc; i++) {
                int32_t e = th_read_i32(r);
                if (e >= 0 && e < 32)
                    ch->encodings |= 1u << e;
            }
            break;
        }
        case 3: {
            uint8_t et;
            uint32_t n = th_read_list(r, &et);
            if (n && et != TH_BINARY)
                th_fail(r);
            /* Compare with the schema path. */
            int32_t path[64];
            int np = 0;
            for (int32_t k = c->node; k > 0 && np < 64; k = f->schema->nodes[k].parent)
                path[np++] = k;
            if ((int)n != np && !r->rc) {
                th_fail(r);
                break;
            }
            for (uint32_t i = 0; i < n && !r->rc; i++) {
                ig_str part = th_read_binary(r);
                if (!ig_str_eq(part, f->schema->nodes[path[np - 1 - (int)i]].name))
                    th_fail(r);
            }
            break;
        }
        case 4:
            if (ok_i32(r, t))
                ch->codec = (pq_codec)th_read_i32(r);
            break;
        case 5:
        case 6:
        case 7:
        case 9:
        case 10:
        case 11:
        case 14:
            if (th_expect(r, t, TH_I64)) {
                int64_t v = th_read_i64(r);
                if (id == 5)
                    ch->num_values = v;
                else if (id == 6)
                    ch->total_uncompressed = v;
                else if (id == 7)
                    ch->total_compressed = v;
                else if (id == 9)
                    ch->data_page_offset = v;
                else if (id == 11)
                    ch->dict_page_offset = v;
                else if (id == 14)
                    ch->bloom_offset = v;
            }
            break;
        case 12:
            if (th_expect(r, t, TH_STRUCT))
                pq__read_stats(r, &ch->stats, signed_order(nd));
            break;
        case 15:
            if (ok_i32(r, t))
                ch->bloom_length = th_read_i32(r);
            break;
        default:
            th_skip(r, t);
        }
    }
    th_struct_leave(r);
    if (r->rc)
        return corrupt(fc->eb, "column metadata");
    uint32_t required = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |
                        (1u << 7) | (1u << 9);
    if ((seen & required) != required)
        return ig_err(fc->eb, IG_ECORRUPT, "parquet: column %s: metadata misses required fields",
                      c->path);
    if (phys != (int32_t)c->phys)
        return ig_err(fc->eb, IG_ECORRUPT, "parquet: column %s: type %d differs from schema",
                      c->path, phys);
    ch->phys = c->phys;
    if (ch->num_values < 0 || ch->total_compressed <= 0 || ch->total_uncompressed < 0)
        return ig_err(fc->eb, IG_ECORRUPT, "parquet: column %s: bad sizes", c->path);
    if (!(seen & (1u << 11)) || ch->dict_page_offset <= 0 ||
        ch->dict_page_offset >= ch->data_page_offset)
        ch->dict_page_offset = -1;
    ch->start = ch->dict_page_offset >= 0 ? ch->dict_page_offset : ch->data_page_offset;
    if (ch->start < 4 || (uint64_t)ch->start >= fc->data_end ||
        (uint64_t)ch->total_compressed > fc->data_end - (uint64_t)ch->start)
        return ig_err(fc->eb, IG_ECORRUPT,
                      "parquet: column %s: chunk [%lld, +%lld) is outside the data area",
                      c->path, (long long)ch->start, (long long)ch->total_compressed);
    if (!(seen & (1u << 14)) || ch->bloom_offset < 4 ||
        (uint64_t)ch->bloom_offset >= fc->data_end) {
        ch->bloom_offset = -1;
        ch->bloom_length = 0;
    } else if (ch->bloom_length < 0 ||
               (uint64_t)ch->bloom_length > fc->data_end - (uint64_t)ch->bloom_offset)
        ch->bloom_length = 0;
    return 0;
}

static int read_column_chunk(footer_ctx *fc, th_reader *r, size_t col, pq_chunk *ch)
{
    uint8_t t;
    int16_t id;
    bool has_meta = false;
    int rc = 0;
    ch->dict_page_offset = -1;
    ch->bloom_offset = -1;
    ch->offset_index_offset = ch->column_index_offset = -1;
    th_struct_enter(r);
    while (th_next_field(r, &t, &id)) {
        switch (id) {
        case 1:
            th_skip(r, t);
            if (!r->rc)
                return ig_err(fc->eb, IG_EUNSUPPORTED,
                              "parquet: column chunks in external files are not supported");
            break;
        case 3:
            if (th_expect(r, t, TH_STRUCT)) {
                if ((rc = read_column_meta(fc, r, col, ch)))
                    return rc;
                has_meta = true;
            }
            break;
        case 4:
        case 6:
            if (th_expect(r, t, TH_I64)) {
                int64_t v = th_read_i64(r);
                if (id == 4)
                    ch->offset_index_offset = v;
                else
                    ch->column_index_offset = v;
            }
            break;
        case 5:
        case 7:
            if (ok_i32(r, t)) {
                int32_t v = th_read_i32(r);
                if (id == 5)
                    ch->offset_index_length = v;
                else
                    ch->column_index_length = v;
            }
            break;
        case 8:
        case 9:
            th_skip(r, t);
            if (!r->rc)
                return ig_err(fc->eb, IG_EUNSUPPORTED,
                              "parquet: encrypted columns are not supported");
            break;
        default:
            th_skip(r, t);
        }
    }
    th_struct_leave(r);
    if (r->rc)
        return corrupt(fc->eb, "column chunk");
    if (!has_meta)
        return corrupt(fc->eb, "column chunk without metadata");
    uint64_t size = fc->f->src.size;
    if (ch->offset_index_offset < 4 || ch->offset_index_length <= 0 ||
        (uint64_t)ch->offset_index_offset >= size ||
        (uint64_t)ch->offset_index_length > size - (uint64_t)ch->offset_index_offset) {
        ch->offset_index_offset = -1;
        ch->offset_index_length = 0;
    }
    if (ch->column_index_offset < 4 || ch->column_index_length <= 0 ||
        (uint64_t)ch->column_index_offset >= size ||
        (uint64_t)ch->column_index_length > size - (uint64_t)ch->column_index_offset) {
        ch->column_index_offset = -1;
        ch->column_index_length = 0;
    }
    return 0;
}

static int read_row_groups(footer_ctx *fc, th_reader *r)
{
    pq_file *f = fc->f;
    uint8_t et;
    uint32_t n = th_read_list(r, &et);
    if (r->rc || (n && et != TH_STRUCT))
        return corrupt(fc->eb, "row group list");
    size_t ncols = f->schema->ncols;
    f->rgs = ig_arena_zalloc(&f->arena, (size_t)(n ? n : 1) * sizeof(pq_row_group));
    if (!f->rgs)
        return ig_err(fc->eb, IG_ETOOBIG, "parquet: footer metadata exceeds the memory cap");
    for (uint32_t g = 0; g < n; g++) {
        pq_row_group *rg = &f->rgs[g];
        rg->file_offset = -1;
        rg->num_rows = -1;
        bool have_cols = false;
        uint8_t t;
        int16_t id;
        th_struct_enter(r);
        while (th_next_field(r, &t, &id)) {
            if (id == 1 && th_expect(r, t, TH_LIST)) {
                uint8_t ct;
                uint32_t nc = th_read_list(r, &ct);
                if (r->rc || nc != ncols || ct != TH_STRUCT || have_cols)
                    return ig_err(fc->eb, IG_ECORRUPT,
                                  "parquet: row group %u has %u columns, schema has %zu", g, nc,
                                  ncols);
                rg->cols = ig_arena_zalloc(&f->arena, ncols * sizeof(pq_chunk));
                if (!rg->cols)
                    return ig_err(fc->eb, IG_ETOOBIG,
                                  "parquet: footer metadata exceeds the memory cap");
                for (uint32_t c = 0; c < nc; c++) {
                    int rc = read_column_chunk(fc, r, c, &rg->cols[c]);
                    if (rc)
                        return rc;
                }
                have_cols = true;
            } else if ((id == 2 || id == 3 || id == 5) && th_expect(r, t, TH_I64)) {
                int64_t v = th_read_i64(r);
                if (id == 2)
                    rg->total_byte_size = v;
                else if (id == 3)
                    rg->num_rows = v;
                else
                    rg->file_offset = v;
            } else if (id != 1)
                th_skip(r, t);
        }
        th_struct_leave(r);
        if (r->rc)
            return corrupt(fc->eb, "row group");
        if (!have_cols || rg->num_rows < 0)
            return ig_err(fc->eb, IG_ECORRUPT, "parquet: row group %u misses columns or num_rows",
                          g);
        for (size_t c = 0; c < ncols; c++) {
            const pq_column *col = &f->schema->cols[c];
            /* A flat column has exactly one value per row. */
            if (col->max_rep == 0 && rg->cols[c].num_values != rg->num_rows)
                return ig_err(fc->eb, IG_ECORRUPT,
                              "parquet: row group %u column %s has %lld values for %lld rows",
                              g, col->path, (long long)rg->cols[c].num_values,
                              (long long)rg->num_rows);
        }
    }
    f->nrgs = n;
    return 0;
}

static int parse_footer(footer_ctx *fc, const uint8_t *p, size_t len)
{
    pq_file *f = fc->f;
    ig_errbuf *eb = fc->eb;
    th_reader r;
    th_reader_init(&r, p, len);
    th_reader rg_at;
    bool have_rg = false, have_schema = false, have_rows = false;
    ig_str created = {0};
    th_reader orders_at;
    bool have_orders = false;
    uint8_t t;
    int16_t id;
    int rc;
    th_struct_enter(&r);
    while (th_next_field(&r, &t, &id)) {
        switch (id) {
        case 1:
            if (ok_i32(&r, t))
                f->version = th_read_i32(&r);
            break;
        case 2: {
            if (!th_expect(&r, t, TH_LIST))
                break;
            uint8_t et;
            uint32_t n = th_read_list(&r, &et);
            if (r.rc || n == 0 || et != TH_STRUCT || have_schema)
                return corrupt(eb, "schema list");
            if ((rc = pq__schema_new(&f->schema, n, f->arena.cap)))
                return ig_err(eb, rc == IG_ENOMEM ? IG_ETOOBIG : rc,
                              "parquet: schema of %u elements exceeds the memory cap", n);
            for (uint32_t i = 0; i < n && !r.rc; i++)
                read_schema_element(&r, &f->schema->nodes[i]);
            if (r.rc)
                return corrupt(eb, "schema element");
            f->schema->nodes[0].repetition = -1;
            for (uint32_t i = 1; i < n; i++)
                if (f->schema->nodes[i].nchildren == -2)
                    return ig_err(eb, IG_ECORRUPT,
                                  "parquet: schema element %.*s is neither a group nor a leaf",
                                  (int)f->schema->nodes[i].name.len,
                                  f->schema->nodes[i].name.ptr);
            if (f->schema->nodes[0].nchildren < 0)
                return corrupt(eb, "schema root without children");
            if ((rc = pq__schema_finalize(f->schema, eb)))
                return rc;
            have_schema = true;
            break;
        }
        case 3:
            if (th_expect(&r, t, TH_I64)) {
                f->num_rows = th_read_i64(&r);
                have_rows = true;
            }
            break;
        case 4:
            if (th_expect(&r, t, TH_LIST)) {
                rg_at = r;
                have_rg = true;
                th_skip(&r, t);
            }
            break;
        case 5: {
            if (!th_expect(&r, t, TH_LIST))
                break;
            uint8_t et;
            uint32_t n = th_read_list(&r, &et);
            if (r.rc || (n && et != TH_STRUCT))
                return corrupt(eb, "key/value list");
            f->kv = ig_arena_zalloc(&f->arena, (size_t)(n ? n : 1) * sizeof(pq_kv));
            if (!f->kv)
                return ig_err(eb, IG_ETOOBIG, "parquet: footer metadata exceeds the memory cap");
            for (uint32_t i = 0; i < n && !r.rc; i++) {
                ig_str k = {0}, v = {0};
                bool hk = false, hv = false;
                th_struct_enter(&r);
                while (th_next_field(&r, &t, &id)) {
                    if (id == 1 && th_expect(&r, t, TH_BINARY)) {
                        k = th_read_binary(&r);
                        hk = true;
                    } else if (id == 2 && th_expect(&r, t, TH_BINARY)) {
                        v = th_read_binary(&r);
                        hv = true;
                    } else if (id != 1 && id != 2)
                        th_skip(&r, t);
                }
                th_struct_leave(&r);
                if (!hk)
                    th_fail(&r);
                f->kv[i].key = ig_arena_cstr(&f->arena, k);
                f->kv[i].value = hv ? ig_arena_cstr(&f->arena, v) : NULL;
                if (!f->kv[i].key || (hv && !f->kv[i].value))
                    return ig_err(eb, IG_ETOOBIG,
                                  "parquet: footer metadata exceeds the memory cap");
            }
            f->nkv = n;
            break;
        }
        case 6:
            if (th_expect(&r, t, TH_BINARY))
                created = th_read_binary(&r);
            break;
        case 7:
            if (th_expect(&r, t, TH_LIST)) {
                orders_at = r;
                have_orders = true;
                th_skip(&r, t);
            }
            break;
        case 8:
            return ig_err(eb, IG_EUNSUPPORTED, "parquet: encrypted files are not supported");
        default:
            th_skip(&r, t);
        }
    }
    th_struct_leave(&r);
    if (r.rc)
        return corrupt(eb, "file metadata");
    if (!have_schema || !have_rows || !have_rg)
        return corrupt(eb, "schema, num_rows or row_groups missing");
    if (f->num_rows < 0)
        return corrupt(eb, "negative num_rows");
    f->created_by = ig_arena_cstr(&f->arena, created);
    if (!f->created_by)
        return IG_ENOMEM;
    size_t ncols = f->schema->ncols;
    f->type_order = ig_arena_zalloc(&f->arena, ncols);
    if (!f->type_order)
        return IG_ENOMEM;
    if (have_orders) {
        uint8_t et;
        uint32_t n = th_read_list(&orders_at, &et);
        if (orders_at.rc || (n && et != TH_STRUCT))
            return corrupt(eb, "column orders");
        for (uint32_t i = 0; i < n && !orders_at.rc; i++) {
            th_struct_enter(&orders_at);
            while (th_next_field(&orders_at, &t, &id)) {
                if (id == 1 && i < ncols)
                    f->type_order[i] = true;
                th_skip(&orders_at, t);
            }
            th_struct_leave(&orders_at);
        }
        if (orders_at.rc)
            return corrupt(eb, "column orders");
    }
    return read_row_groups(fc, &rg_at);
}

void pq_close(pq_file *f)
{
    if (!f)
        return;
    pq_schema_free(f->schema);
    ig_arena_free(&f->arena);
    ig_free(f);
}

int pq_open(pq_file **out, const pq_source *src, const pq_reader_opts *o, ig_errbuf *eb)
{
    *out = NULL;
    pq_file *f = ig_calloc(1, sizeof *f);
    if (!f)
        return IG_ENOMEM;
    f->src = *src;
    if (o)
        f->opts = *o;
    if (!f->opts.max_footer_bytes)
        f->opts.max_footer_bytes = (size_t)64 << 20;
    if (!f->opts.max_page_bytes)
        f->opts.max_page_bytes = (size_t)256 << 20;
    if (!f->opts.max_vector_bytes)
        f->opts.max_vector_bytes = (size_t)2 << 30;
    int rc;
    uint8_t tail[8], head[4];
    if (src->size < 12) {
        rc = ig_err(eb, IG_ECORRUPT, "parquet: file of %llu bytes is too small",
                    (unsigned long long)src->size);
        goto fail;
    }
    if ((rc = src_read(f, src->size - 8, tail, 8, eb)) || (rc = src_read(f, 0, head, 4, eb)))
        goto fail;
    if (memcmp(tail + 4, "PARE", 4) == 0) {
        rc = ig_err(eb, IG_EUNSUPPORTED, "parquet: encrypted footers are not supported");
        goto fail;
    }
    if (memcmp(tail + 4, "PAR1", 4) != 0 || memcmp(head, "PAR1", 4) != 0) {
        rc = ig_err(eb, IG_ECORRUPT, "parquet: not a Parquet file (bad magic)");
        goto fail;
    }
    uint32_t flen = pq__rd32(tail);
    if (flen == 0 || (uint64_t)flen > src->size - 12) {
        rc = ig_err(eb, IG_ECORRUPT, "parquet: footer length %u does not fit in %llu bytes",
                    flen, (unsigned long long)src->size);
        goto fail;
    }
    if (flen > f->opts.max_footer_bytes) {
        rc = ig_err(eb, IG_ETOOBIG, "parquet: footer of %u bytes exceeds the cap of %zu", flen,
                    f->opts.max_footer_bytes);
        goto fail;
    }
    /* Metadata memory is capped relative to the footer size. */
    ig_arena_init(&f->arena, (size_t)flen * 32 + ((size_t)1 << 20));
    uint8_t *foot = ig_arena_alloc(&f->arena, flen);
    if (!foot) {
        rc = IG_ENOMEM;
        goto fail;
    }
    uint64_t foff = src->size - 8 - flen;
    if ((rc = src_read(f, foff, foot, flen, eb)))
        goto fail;
    footer_ctx fc = {f, foff, eb};
    if ((rc = parse_footer(&fc, foot, flen)))
        goto fail;
    *out = f;
    return 0;
fail:
    pq_close(f);
    return rc;
}

int pq_open_mem(pq_file **out, const void *data, size_t len, const pq_reader_opts *o,
                ig_errbuf *eb)
{
    mem_src *m = ig_malloc(sizeof *m);
    if (!m)
        return IG_ENOMEM;
    m->p = data;
    m->n = len;
    pq_source src = {mem_read, m, len};
    int rc = pq_open(out, &src, o, eb);
    if (rc) {
        ig_free(m);
        return rc;
    }
    /* The mem_src lives in the arena's cleanup so pq_close frees it. */
    if ((rc = ig_arena_on_free(&(*out)->arena, ig_free, m))) {
        pq_close(*out);
        *out = NULL;
        return rc;
    }
    (*out)->mem = data;
    return 0;
}

const char *pq_file_kv(const pq_file *f, const char *key)
{
    for (size_t i = 0; i < f->nkv; i++)
        if (strcmp(f->kv[i].key, key) == 0)
            return f->kv[i].value;
    return NULL;
}

/* ---- Column vectors --------------------------------------------------------------- */

void pq_colvec_init(pq_colvec *v)
{
    memset(v, 0, sizeof *v);
}

void pq_colvec_free(pq_colvec *v)
{
    ig_free(v->def);
    ig_free(v->rep);
    ig_free(v->vals);
    ig_free(v->offs);
    ig_free(v->data);
    ig_free(v->idx);
    memset(v, 0, sizeof *v);
}

static size_t vec_bytes(const pq_colvec *v)
{
    return v->cap_def + v->cap_rep + v->cap_vals + v->cap_offs + v->cap_data + v->cap_idx;
}

/* Ensures *p (capacity *cap bytes) holds need bytes, within v->max_bytes overall. */
static int vec_reserve(pq_colvec *v, void **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return IG_ETOOBIG;
        nc *= 2;
    }
    size_t total = vec_bytes(v) - *cap + nc;
    if (total > v->max_bytes) {
        nc = need;
        total = vec_bytes(v) - *cap + nc;
        if (total > v->max_bytes)
            return IG_ETOOBIG;
    }
    void *q = ig_realloc(*p, nc);
    if (!q)
        return IG_ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

ig_str pq_colvec_dict_bytes(const pq_colvec *v, size_t e)
{
    if (v->phys == PQ_BYTE_ARRAY)
        return (ig_str){(const char *)v->data + v->offs[e], v->offs[e + 1] - v->offs[e]};
    size_t w = pq_value_width(v->phys, v->type_length);
    return (ig_str){(const char *)v->vals + e * w, w};
}

ig_str pq_colvec_bytes(const pq_colvec *v, size_t k)
{
    return pq_colvec_dict_bytes(v, v->is_dict ? (size_t)v->idx[k] : k);
}

const void *pq_colvec_fixed(const pq_colvec *v, size_t k)
{
    size_t w = pq_value_width(v->phys, v->type_length);
    size_t e = v->is_dict ? (size_t)v->idx[k] : k;
    return (const uint8_t *)v->vals + e * w;
}

/* ---- Page decoding ---------------------------------------------------------------- */

typedef struct rd {
    pq_file *f;
    const pq_column *c;
    pq_colvec *out;
    pq_colvec dict; /* dictionary storage (vals/offs/data, nvals = entries) */
    bool have_dict;
    bool keep_dict;
    size_t width;
    ig_buf page; /* decompressed page (capped) */
    pq__codec_ctx cc;
    int64_t *i64;
    size_t cap_i64;
    uint32_t *u32;
    size_t cap_u32;
    size_t data_pages; /* data pages decoded so far */
    ig_errbuf *eb;
} rd;

static int tmp_i64(rd *r, size_t n)
{
    if (n > SIZE_MAX / 8)
        return IG_ETOOBIG;
    if (n * 8 <= r->cap_i64)
        return 0;
    if (n * 8 > r->out->max_bytes)
        return IG_ETOOBIG;
    int64_t *p = ig_realloc(r->i64, n * 8);
    if (!p)
        return IG_ENOMEM;
    r->i64 = p;
    r->cap_i64 = n * 8;
    return 0;
}

static int tmp_u32(rd *r, size_t n)
{
    if (n > SIZE_MAX / 4)
        return IG_ETOOBIG;
    if (n * 4 <= r->cap_u32)
        return 0;
    if (n * 4 > r->out->max_bytes)
        return IG_ETOOBIG;
    uint32_t *p = ig_realloc(r->u32, n * 4);
    if (!p)
        return IG_ENOMEM;
    r->u32 = p;
    r->cap_u32 = n * 4;
    return 0;
}

/* Appends one byte-array value to vector v. */
static inline int push_bytes(pq_colvec *v, const void *p, size_t n)
{
    int rc;
    if (n > UINT32_MAX - v->data_len)
        return IG_ETOOBIG;
    if ((v->nvals + 2) * 4 > v->cap_offs &&
        (rc = vec_reserve(v, (void **)&v->offs, &v->cap_offs, (v->nvals + 2) * 4)))
        return rc;
    if (v->data_len + n > v->cap_data &&
        (rc = vec_reserve(v, (void **)&v->data, &v->cap_data, v->data_len + n)))
        return rc;
    if (v->nvals == 0)
        v->offs[0] = 0;
    if (n)
        memcpy(v->data + v->data_len, p, n);
    v->data_len += n;
    v->nvals++;
    v->offs[v->nvals] = (uint32_t)v->data_len;
    return 0;
}

/* Makes room for n more fixed-width values; returns the destination. */
static uint8_t *push_fixed(pq_colvec *v, size_t width, size_t n, int *rc)
{
    size_t need;
    if (ig_size_mul(v->nvals + n, width, &need)) {
        *rc = IG_ETOOBIG;
        return NULL;
    }
    if ((need > v->cap_vals || !v->vals) &&
        (*rc = vec_reserve(v, &v->vals, &v->cap_vals, need ? need : 1)))
        return NULL;
    *rc = 0;
    return (uint8_t *)v->vals + v->nvals * width;
}

/* Decodes n PLAIN values from p[0..len) into vector v. */
static int decode_plain(rd *r, pq_colvec *v, const uint8_t *p, size_t len, size_t n)
{
    int rc;
    pq_phys phys = r->c->phys;
    if (phys == PQ_BYTE_ARRAY) {
        size_t pos = 0;
        for (size_t k = 0; k < n; k++) {
            if (len - pos < 4)
                return IG_ECORRUPT;
            uint32_t l = pq__rd32(p + pos);
            pos += 4;
            if (l > len - pos)
                return IG_ECORRUPT;
            if ((rc = push_bytes(v, p + pos, l)))
                return rc;
            pos += l;
        }
        return 0;
    }
    if (phys == PQ_BOOLEAN) {
        if ((n + 7) / 8 > len)
            return IG_ECORRUPT;
        uint8_t *d = push_fixed(v, 1, n, &rc);
        if (!d)
            return rc;
        for (size_t k = 0; k < n; k++)
            d[k] = (p[k / 8] >> (k % 8)) & 1;
        v->nvals += n;
        return 0;
    }
    size_t w = r->width, need;
    if (ig_size_mul(n, w, &need) || need > len)
        return IG_ECORRUPT;
    uint8_t *d = push_fixed(v, w, n, &rc);
    if (!d)
        return rc;
    if (need)
        memcpy(d, p, need);
    v->nvals += n;
    return 0;
}

/* Appends dictionary entry e of r->dict to vector v. */
static inline int push_dict_entry(rd *r, pq_colvec *v, uint32_t e)
{
    if (r->c->phys == PQ_BYTE_ARRAY) {
        const uint32_t *o = r->dict.offs;
        uint32_t len = o[e + 1] - o[e];
        /* a dictionary of empty strings has no data buffer at all */
        return push_bytes(v, len ? r->dict.data + o[e] : (const uint8_t *)"", len);
    }
    int rc;
    uint8_t *d = push_fixed(v, r->width, 1, &rc);
    if (!d)
        return rc;
    memcpy(d, (const uint8_t *)r->dict.vals + (size_t)e * r->width, r->width);
    v->nvals++;
    return 0;
}

/* Converts a dictionary-index vector into materialised values. */
static int materialise(rd *r)
{
    pq_colvec *v = r->out;
    if (!v->is_dict)
        return 0;
    size_t n = v->nvals;
    v->is_dict = false;
    v->nvals = 0;
    v->data_len = 0;
    for (size_t k = 0; k < n; k++) {
        int rc = push_dict_entry(r, v, (uint32_t)v->idx[k]);
        if (rc)
            return rc;
    }
    return 0;
}

static int decode_dict_indices(rd *r, const uint8_t *p, size_t len, size_t n)
{
    pq_colvec *v = r->out;
    int rc;
    if (!r->have_dict)
        return ig_err(r->eb, IG_ECORRUPT, "parquet: column %s: dictionary page missing",
                      r->c->path);
    if (n == 0)
        return 0;
    if (len < 1)
        return IG_ECORRUPT;
    int bw = p[0];
    if (bw > 32)
        return IG_ECORRUPT;
    size_t ndict = r->dict.nvals;
    if (ndict == 0)
        return IG_ECORRUPT;
    if (r->keep_dict && r->data_pages == 0)
        v->is_dict = true; /* first page: start in dictionary mode */
    if (v->is_dict) {
        if ((rc = vec_reserve(v, (void **)&v->idx, &v->cap_idx, (v->nvals + n) * 4)))
            return rc;
        if ((rc = pq__rle_decode_u32(p + 1, len - 1, bw, (uint32_t *)v->idx + v->nvals, n,
                                     (uint32_t)(ndict - 1), NULL)))
            return rc;
        v->nvals += n;
        return 0;
    }
    if ((rc = tmp_u32(r, n)))
        return rc;
    if ((rc = pq__rle_decode_u32(p + 1, len - 1, bw, r->u32, n, (uint32_t)(ndict - 1), NULL)))
        return rc;
    if (r->c->phys == PQ_BYTE_ARRAY) {
        for (size_t k = 0; k < n; k++)
            if ((rc = push_dict_entry(r, v, r->u32[k])))
                return rc;
        return 0;
    }
    uint8_t *d = push_fixed(v, r->width, n, &rc);
    if (!d)
        return rc;
    const uint8_t *dv = r->dict.vals;
    size_t w = r->width;
    if (w == 8)
        for (size_t k = 0; k < n; k++)
            memcpy(d + k * 8, dv + (size_t)r->u32[k] * 8, 8);
    else if (w == 4)
        for (size_t k = 0; k < n; k++)
            memcpy(d + k * 4, dv + (size_t)r->u32[k] * 4, 4);
    else
        for (size_t k = 0; k < n; k++)
            memcpy(d + k * w, dv + (size_t)r->u32[k] * w, w);
    v->nvals += n;
    return 0;
}

static int decode_values(rd *r, int enc, const uint8_t *p, size_t len, size_t n)
{
    pq_colvec *v = r->out;
    pq_phys phys = r->c->phys;
    int rc;
    if (n == 0)
        return 0; /* nothing stored (writers may omit even the encoding header) */
    if (enc == PQ_ENC_PLAIN_DICTIONARY || enc == PQ_ENC_RLE_DICTIONARY)
        return decode_dict_indices(r, p, len, n);
    if (v->is_dict && n > 0 && (rc = materialise(r)))
        return rc;
    switch (enc) {
    case PQ_ENC_PLAIN:
        return decode_plain(r, v, p, len, n);
    case PQ_ENC_RLE: {
        if (phys != PQ_BOOLEAN)
            break;
        if (len < 4)
            return IG_ECORRUPT;
        uint32_t l = pq__rd32(p);
        if (l > len - 4)
            return IG_ECORRUPT;
        uint8_t *d = push_fixed(v, 1, n, &rc);
        if (!d)
            return rc;
        if ((rc = tmp_u32(r, n)) ||
            (rc = pq__rle_decode_u32(p + 4, l, 1, r->u32, n, 1, NULL)))
            return rc;
        for (size_t k = 0; k < n; k++)
            d[k] = (uint8_t)r->u32[k];
        v->nvals += n;
        return 0;
    }
    case PQ_ENC_DELTA_BINARY_PACKED: {
        if (phys != PQ_INT32 && phys != PQ_INT64)
            break;
        size_t cnt;
        if ((rc = tmp_i64(r, n)) ||
            (rc = pq__delta_decode(p, len, r->i64, n, &cnt, NULL, phys == PQ_INT32)))
            return rc;
        if (cnt != n)
            return IG_ECORRUPT;
        uint8_t *d = push_fixed(v, r->width, n, &rc);
        if (!d)
            return rc;
        if (phys == PQ_INT64)
            memcpy(d, r->i64, n * 8);
        else
            for (size_t k = 0; k < n; k++) {
                int32_t x = (int32_t)r->i64[k];
                memcpy(d + 4 * k, &x, 4);
            }
        v->nvals += n;
        return 0;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: {
        if (phys != PQ_BYTE_ARRAY)
            break;
        size_t cnt, used;
        if ((rc = tmp_i64(r, n)) || (rc = pq__delta_decode(p, len, r->i64, n, &cnt, &used, true)))
            return rc;
        if (cnt != n)
            return IG_ECORRUPT;
        size_t pos = used;
        for (size_t k = 0; k < n; k++) {
            int64_t l = r->i64[k];
            if (l < 0 || (uint64_t)l > len - pos)
                return IG_ECORRUPT;
            if ((rc = push_bytes(v, p + pos, (size_t)l)))
                return rc;
            pos += (size_t)l;
        }
        return 0;
    }
    case PQ_ENC_DELTA_BYTE_ARRAY: {
        if (phys != PQ_BYTE_ARRAY && phys != PQ_FIXED_LEN_BYTE_ARRAY)
            break;
        size_t cnt, used, cnt2, used2;
        if ((rc = tmp_i64(r, 2 * n)))
            return rc;
        int64_t *pre = r->i64, *suf = r->i64 + n;
        if ((rc = pq__delta_decode(p, len, pre, n, &cnt, &used, true)) || cnt != n)
            return rc ? rc : IG_ECORRUPT;
        if ((rc = pq__delta_decode(p + used, len - used, suf, n, &cnt2, &used2, true)) ||
            cnt2 != n)
            return rc ? rc : IG_ECORRUPT;
        size_t pos = used + used2;
        size_t prev_k = SIZE_MAX; /* index of the previous value in v */
        uint8_t *tmp = NULL;
        size_t tcap = 0;
        for (size_t k = 0; k < n; k++) {
            int64_t pl = pre[k], sl = suf[k];
            ig_str prev = {0};
            if (prev_k != SIZE_MAX)
                prev = pq_colvec_bytes(v, prev_k);
            if (pl < 0 || sl < 0 || (uint64_t)pl > prev.len || (uint64_t)sl > len - pos ||
                (uint64_t)(pl + sl) > r->out->max_bytes) {
                ig_free(tmp);
                return IG_ECORRUPT;
            }
            size_t tl = (size_t)(pl + sl);
            if (tl > tcap) {
                uint8_t *q = ig_realloc(tmp, tl);
                if (!q) {
                    ig_free(tmp);
                    return IG_ENOMEM;
                }
                tmp = q;
                tcap = tl;
            }
            if (pl)
                memcpy(tmp, prev.ptr, (size_t)pl);
            if (sl)
                memcpy(tmp + pl, p + pos, (size_t)sl);
            pos += (size_t)sl;
            if (phys == PQ_BYTE_ARRAY)
                rc = push_bytes(v, tmp, tl);
            else if (tl != r->width)
                rc = IG_ECORRUPT;
            else {
                uint8_t *d = push_fixed(v, r->width, 1, &rc);
                if (d) {
                    memcpy(d, tmp, tl);
                    v->nvals++;
                }
            }
            if (rc) {
                ig_free(tmp);
                return rc;
            }
            prev_k = v->nvals - 1;
        }
        ig_free(tmp);
        return 0;
    }
    case PQ_ENC_BYTE_STREAM_SPLIT: {
        if (phys == PQ_BYTE_ARRAY || phys == PQ_BOOLEAN || phys == PQ_INT96)
            break;
        size_t w = r->width, need;
        if (ig_size_mul(n, w, &need) || need > len)
            return IG_ECORRUPT;
        uint8_t *d = push_fixed(v, w, n, &rc);
        if (!d)
            return rc;
        for (size_t k = 0; k < n; k++)
            for (size_t j = 0; j < w; j++)
                d[k * w + j] = p[j * n + k];
        v->nvals += n;
        return 0;
    }
    default:
        break;
    }
    return ig_err(r->eb, IG_EUNSUPPORTED, "parquet: column %s: encoding %s is not supported "
                  "for %s", r->c->path, pq_encoding_name(enc), pq_phys_name(phys));
}

static int decode_levels(rd *r, int enc, bool v1, const uint8_t *p, size_t len, int16_t *dst,
                         size_t n, int16_t maxval, size_t *used)
{
    int bw = pq__bitwidth((uint64_t)maxval);
    if (enc == PQ_ENC_RLE) {
        if (v1) {
            if (len < 4)
                return IG_ECORRUPT;
            uint32_t l = pq__rd32(p);
            if (l > len - 4)
                return IG_ECORRUPT;
            int rc = pq__rle_decode_i16(p + 4, l, bw, dst, n, maxval, NULL);
            *used = 4 + (size_t)l;
            return rc;
        }
        *used = len;
        return pq__rle_decode_i16(p, len, bw, dst, n, maxval, NULL);
    }
    if (enc == PQ_ENC_BIT_PACKED && v1)
        return pq__bitpacked_decode_i16(p, len, bw, dst, n, maxval, used);
    return ig_err(r->eb, IG_EUNSUPPORTED, "parquet: column %s: level encoding %s",
                  r->c->path, pq_encoding_name(enc));
}

static int read_dict_page(rd *r, const pq__page_header *h, const uint8_t *body, size_t blen)
{
    if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return ig_err(r->eb, IG_EUNSUPPORTED, "parquet: dictionary encoding %s",
                      pq_encoding_name(h->encoding));
    if (h->num_values < 0 || (uint32_t)h->num_values > MAX_DICT_ENTRIES)
        return IG_ECORRUPT;
    if (r->have_dict)
        return ig_err(r->eb, IG_ECORRUPT, "parquet: column %s: second dictionary page",
                      r->c->path);
    pq_colvec *d = &r->dict;
    d->nvals = 0;
    d->data_len = 0;
    int rc = decode_plain(r, d, body, blen, (size_t)h->num_values);
    if (rc)
        return rc;
    if (r->c->phys == PQ_BYTE_ARRAY && d->nvals == 0) {
        /* offs must exist for an empty dictionary */
    }
    r->have_dict = true;
    return 0;
}

/* Keeps only the entries of rows in sel among entries [e0, n) and values [k0, nvals)
 * of the output, given that entry e0 starts row first_row. */
static void apply_selection(pq_colvec *v, size_t e0, size_t k0, int64_t first_row,
                            const pq_rowsel *sel, size_t *si)
{
    size_t we = e0, wk = k0, k = k0;
    int64_t row = first_row - 1;
    bool keep = false;
    size_t wdata = k0 < v->nvals && !v->is_dict && v->phys == PQ_BYTE_ARRAY ? v->offs[k0] : 0;
    size_t width = pq_value_width(v->phys, v->type_length);
    for (size_t e = e0; e < v->n; e++) {
        if (!v->rep || v->rep[e] == 0) {
            row++;
            while (*si < sel->n && sel->r[*si].end <= row)
                (*si)++;
            keep = *si < sel->n && sel->r[*si].begin <= row;
        }
        bool present = !v->def || v->def[e] == v->max_def;
        if (keep) {
            if (v->def)
                v->def[we] = v->def[e];
            if (v->rep)
                v->rep[we] = v->rep[e];
            we++;
            if (present) {
                if (v->is_dict)
                    v->idx[wk] = v->idx[k];
                else if (v->phys == PQ_BYTE_ARRAY) {
                    uint32_t s = v->offs[k], l = v->offs[k + 1] - s;
                    memmove(v->data + wdata, v->data + s, l);
                    v->offs[wk] = (uint32_t)wdata;
                    wdata += l;
                } else if (wk != k)
                    memmove((uint8_t *)v->vals + wk * width, (uint8_t *)v->vals + k * width,
                            width);
                wk++;
            }
        }
        if (present)
            k++;
    }
    v->n = we;
    v->nvals = wk;
    if (!v->is_dict && v->phys == PQ_BYTE_ARRAY) {
        v->data_len = wdata;
        if (v->offs)
            v->offs[wk] = (uint32_t)wdata;
    }
}

/* True when every row of [begin, end) is in one range of sel (then a page needs no
 * compaction). Advances *si past the ranges that end at or before begin, as
 * apply_selection does: the pages of a chunk come in row order. */
static bool rows_all_selected(const pq_rowsel *sel, size_t *si, int64_t begin, int64_t end)
{
    while (*si < sel->n && sel->r[*si].end <= begin)
        (*si)++;
    return *si < sel->n && sel->r[*si].begin <= begin && sel->r[*si].end >= end;
}

static bool rows_selected(const pq_rowsel *sel, int64_t begin, int64_t end)
{
    for (size_t i = 0; i < sel->n; i++)
        if (sel->r[i].begin < end && sel->r[i].end > begin)
            return true;
    return false;
}

/* Decodes one data page (v1 or v2) whose body (as stored) is body[0..blen). */
static int read_data_page(rd *r, const pq__page_header *h, const uint8_t *body, size_t blen,
                          pq_codec codec)
{
    pq_colvec *v = r->out;
    const pq_column *c = r->c;
    int rc;
    if (h->num_values < 0)
        return IG_ECORRUPT;
    size_t n = (size_t)h->num_values;
    bool v1 = h->type == 0;
    const uint8_t *lv; /* level bytes */
    size_t lvlen;
    const uint8_t *vals;
    size_t vlen;
    if ((size_t)h->usize > r->f->opts.max_page_bytes)
        return ig_err(r->eb, IG_ETOOBIG, "parquet: page of %d bytes exceeds the cap",
                      h->usize);
    if (v1) {
        const uint8_t *page = body;
        if (codec != PQ_CODEC_UNCOMPRESSED) {
            ig_buf_reset(&r->page);
            if ((rc = ig_buf_reserve(&r->page, (size_t)h->usize)))
                return rc;
            if ((rc = pq__decompress(&r->cc, codec, body, blen, r->page.data, (size_t)h->usize,
                                     r->eb)))
                return rc;
            page = (const uint8_t *)r->page.data;
            blen = (size_t)h->usize;
        } else if (blen != (size_t)h->usize)
            return IG_ECORRUPT;
        lv = page;
        lvlen = blen;
        vals = NULL;
        vlen = 0;
    } else {
        if (h->def_len < 0 || h->rep_len < 0 || (size_t)h->def_len + (size_t)h->rep_len > blen ||
            h->def_len + (int64_t)h->rep_len > h->usize)
            return IG_ECORRUPT;
        lv = body;
        lvlen = (size_t)h->rep_len + (size_t)h->def_len;
        const uint8_t *cv = body + lvlen;
        size_t cvlen = blen - lvlen, ulen = (size_t)h->usize - lvlen;
        if (h->is_compressed && codec != PQ_CODEC_UNCOMPRESSED) {
            ig_buf_reset(&r->page);
            if ((rc = ig_buf_reserve(&r->page, ulen)))
                return rc;
            if ((rc = pq__decompress(&r->cc, codec, cv, cvlen, r->page.data, ulen, r->eb)))
                return rc;
            vals = (const uint8_t *)r->page.data;
            vlen = ulen;
        } else {
            if (cvlen != ulen)
                return IG_ECORRUPT;
            vals = cv;
            vlen = cvlen;
        }
    }
    if (n == 0)
        return 0;
    /* Levels. */
    size_t e0 = v->n;
    if ((c->max_def && (rc = vec_reserve(v, (void **)&v->def, &v->cap_def, (e0 + n) * 2))) ||
        (c->max_rep && (rc = vec_reserve(v, (void **)&v->rep, &v->cap_rep, (e0 + n) * 2))))
        return rc;
    size_t pos = 0, used = 0;
    if (c->max_rep) {
        const uint8_t *lp = lv;
        size_t ll = v1 ? lvlen : (size_t)h->rep_len;
        if ((rc = decode_levels(r, v1 ? h->rep_encoding : PQ_ENC_RLE, v1, lp, ll, v->rep + e0,
                                n, c->max_rep, &used)))
            return rc;
        pos = v1 ? used : (size_t)h->rep_len;
    } else if (!v1)
        pos = (size_t)h->rep_len;
    if (c->max_def) {
        size_t ll = v1 ? lvlen - pos : (size_t)h->def_len;
        if ((rc = decode_levels(r, v1 ? h->def_encoding : PQ_ENC_RLE, v1, lv + pos, ll,
                                v->def + e0, n, c->max_def, &used)))
            return rc;
        pos += v1 ? used : (size_t)h->def_len;
    }
    if (v1) {
        vals = lv + pos;
        vlen = lvlen - pos;
    }
    if (c->max_rep && n > 0 && v->rep[e0] != 0)
        return ig_err(r->eb, IG_EUNSUPPORTED, "parquet: column %s: page starts inside a row",
                      c->path);
    size_t present = n;
    if (c->max_def) {
        present = 0;
        for (size_t i = 0; i < n; i++)
            present += v->def[e0 + i] == c->max_def;
    }
    size_t rows = n;
    if (c->max_rep) {
        rows = 0;
        for (size_t i = 0; i < n; i++)
            rows += v->rep[e0 + i] == 0;
    }
    v->n = e0 + n;
    v->nrows += rows;
    size_t k0 = v->nvals;
    if ((rc = decode_values(r, h->encoding, vals, vlen, present)))
        return rc;
    r->data_pages++;
    if (v->nvals != k0 + present)
        return IG_EINTERNAL;
    return 0;
}

/* Fetches bytes [off, off+len) of the file: a pointer into the memory buffer, or a copy
 * into *owned. */
static int fetch(pq_file *f, int64_t off, size_t len, const uint8_t **p, uint8_t **owned,
                 ig_errbuf *eb)
{
    *owned = NULL;
    if (off < 0 || (uint64_t)off > f->src.size || len > f->src.size - (uint64_t)off)
        return ig_err(eb, IG_ECORRUPT, "parquet: range [%lld, +%zu) outside the file",
                      (long long)off, len);
    if (f->mem) {
        *p = f->mem + off;
        return 0;
    }
    uint8_t *b = ig_malloc(len ? len : 1);
    if (!b)
        return IG_ENOMEM;
    int rc = src_read(f, (uint64_t)off, b, len, eb);
    if (rc) {
        ig_free(b);
        return rc;
    }
    *p = b;
    *owned = b;
    return 0;
}

/* Iterates pages in bytes p[0..len) and decodes them. With sel and page_rows (from the
 * offset index) pages without selected rows are not decoded. first_row: row index of
 * the first data page in p. Stops after max_pages data pages (SIZE_MAX = all). */
static int read_pages(rd *r, const pq_chunk *ch, const uint8_t *p, size_t len,
                      int64_t first_row, const pq_rowsel *sel, size_t *si, int64_t *values_seen,
                      size_t max_pages)
{
    size_t pos = 0, pages = 0;
    int64_t row = first_row;
    int rc;
    while (pos < len) {
        if (*values_seen >= ch->num_values && !sel)
            break;
        pq__page_header h;
        size_t hl;
        if ((rc = pq__read_page_header(p + pos, len - pos, &h, &hl)))
            return ig_err(r->eb, rc, "parquet: column %s: bad page header at %zu", r->c->path,
                          pos);
        pos += hl;
        if ((size_t)h.csize > len - pos)
            return ig_err(r->eb, IG_ECORRUPT, "parquet: column %s: page of %d bytes overruns "
                          "the chunk", r->c->path, h.csize);
        if ((size_t)h.csize > r->f->opts.max_page_bytes ||
            (size_t)h.usize > r->f->opts.max_page_bytes)
            return ig_err(r->eb, IG_ETOOBIG, "parquet: column %s: page exceeds the size cap",
                          r->c->path);
        const uint8_t *body = p + pos;
        pos += (size_t)h.csize;
        if (h.type == 2) {
            if (!h.seen_sub)
                return IG_ECORRUPT;
            const uint8_t *dp = body;
            size_t dl = (size_t)h.csize;
            if (ch->codec != PQ_CODEC_UNCOMPRESSED) {
                ig_buf_reset(&r->page);
                if ((rc = ig_buf_reserve(&r->page, (size_t)h.usize)) ||
                    (rc = pq__decompress(&r->cc, ch->codec, body, (size_t)h.csize, r->page.data,
                                         (size_t)h.usize, r->eb)))
                    return rc;
                dp = (const uint8_t *)r->page.data;
                dl = (size_t)h.usize;
            }
            if ((rc = read_dict_page(r, &h, dp, dl)))
                return rc;
            continue;
        }
        if (h.type != 0 && h.type != 3)
            continue; /* index pages and unknown page types are skipped */
        if (!h.seen_sub)
            return IG_ECORRUPT;
        if (pages >= max_pages)
            break;
        pages++;
        *values_seen += h.num_values;
        if (sel && h.type == 3 && r->c->max_rep == 0 && h.num_rows >= 0 &&
            !rows_selected(sel, row, row + h.num_rows)) {
            row += h.num_rows;
            continue; /* v2 page without selected rows: skip without decoding */
        }
        if (sel && r->c->max_rep == 0 && h.type == 0 && !rows_selected(sel, row, row + h.num_values)) {
            row += h.num_values;
            continue;
        }
        size_t e0 = r->out->n, k0 = r->out->nvals, rows0 = r->out->nrows;
        if ((rc = read_data_page(r, &h, body, (size_t)h.csize, ch->codec)))
            return rc == IG_ECORRUPT ? ig_err(r->eb, rc, "parquet: column %s: corrupt page",
                                              r->c->path)
                                     : rc;
        int64_t page_rows = (int64_t)(r->out->nrows - rows0);
        if (sel && !rows_all_selected(sel, si, row, row + page_rows)) {
            apply_selection(r->out, e0, k0, row, sel, si);
            r->out->nrows = rows0;
            for (size_t e = e0; e < r->out->n; e++)
                r->out->nrows += !r->out->rep || r->out->rep[e] == 0;
        }
        row += page_rows;
    }
    return 0;
}

int pq_read_column(pq_file *f, size_t rg, size_t col, const pq_rowsel *sel, unsigned flags,
                   pq_colvec *out, ig_errbuf *eb)
{
    if (rg >= f->nrgs || col >= f->schema->ncols)
        return ig_err(eb, IG_EINVAL, "parquet: no column %zu in row group %zu", col, rg);
    const pq_chunk *ch = &f->rgs[rg].cols[col];
    const pq_column *c = &f->schema->cols[col];
    if (ch->codec != PQ_CODEC_UNCOMPRESSED && ch->codec != PQ_CODEC_SNAPPY &&
        ch->codec != PQ_CODEC_GZIP && ch->codec != PQ_CODEC_ZSTD)
        return ig_err(eb, IG_EUNSUPPORTED, "parquet: column %s: codec %s is not supported",
                      c->path, pq_codec_name(ch->codec));
    /* Reset the output, keeping its memory. */
    out->col = (int)col;
    out->phys = c->phys;
    out->type_length = c->type_length;
    out->max_def = c->max_def;
    out->max_rep = c->max_rep;
    out->n = out->nrows = out->nvals = out->data_len = out->ndict = 0;
    out->is_dict = false;
    out->max_bytes = f->opts.max_vector_bytes;
    if (out->offs)
        out->offs[0] = 0;
    rd r;
    memset(&r, 0, sizeof r);
    r.f = f;
    r.c = c;
    r.out = out;
    r.keep_dict = flags & PQ_READ_KEEP_DICT;
    r.width = pq_value_width(c->phys, c->type_length);
    r.eb = eb;
    r.dict.phys = c->phys;
    r.dict.type_length = c->type_length;
    r.dict.max_bytes = f->opts.max_vector_bytes;
    ig_buf_init(&r.page, f->opts.max_page_bytes);
    int rc = 0;
    int64_t seen = 0;
    size_t si = 0;
    pq_page_index pi;
    bool use_index = false;
    memset(&pi, 0, sizeof pi);
    if (sel && ch->offset_index_offset >= 0 && pq_read_page_index(f, rg, col, &pi, NULL) == 0)
        use_index = true;
    if (use_index) {
        /* Dictionary page region, then only the pages holding selected rows. */
        const uint8_t *p;
        uint8_t *owned;
        if (ch->dict_page_offset >= 0 && pi.npages > 0 && pi.loc[0].offset > ch->start) {
            size_t dl = (size_t)(pi.loc[0].offset - ch->start);
            if ((rc = fetch(f, ch->start, dl, &p, &owned, eb)))
                goto done;
            rc = read_pages(&r, ch, p, dl, 0, sel, &si, &seen, 0);
            ig_free(owned);
            if (rc)
                goto done;
        }
        for (size_t i = 0; i < pi.npages; i++) {
            int64_t end = i + 1 < pi.npages ? pi.loc[i + 1].first_row : f->rgs[rg].num_rows;
            if (!rows_selected(sel, pi.loc[i].first_row, end))
                continue;
            if ((rc = fetch(f, pi.loc[i].offset, (size_t)pi.loc[i].size, &p, &owned, eb)))
                goto done;
            rc = read_pages(&r, ch, p, (size_t)pi.loc[i].size, pi.loc[i].first_row, sel, &si,
                            &seen, 1);
            ig_free(owned);
            if (rc)
                goto done;
        }
    } else {
        const uint8_t *p;
        uint8_t *owned;
        if ((rc = fetch(f, ch->start, (size_t)ch->total_compressed, &p, &owned, eb)))
            goto done;
        rc = read_pages(&r, ch, p, (size_t)ch->total_compressed, 0, sel, &si, &seen, SIZE_MAX);
        ig_free(owned);
        if (rc)
            goto done;
        if (!sel && (int64_t)out->n != ch->num_values)
            rc = ig_err(eb, IG_ECORRUPT, "parquet: column %s: %zu values decoded, metadata "
                        "says %lld", c->path, out->n, (long long)ch->num_values);
    }
    if (!rc && out->is_dict) {
        /* Hand the dictionary storage to the output. */
        void *tv = out->vals;
        uint32_t *to = out->offs;
        uint8_t *td = out->data;
        size_t cv = out->cap_vals, co = out->cap_offs, cd = out->cap_data;
        out->vals = r.dict.vals;
        out->offs = r.dict.offs;
        out->data = r.dict.data;
        out->cap_vals = r.dict.cap_vals;
        out->cap_offs = r.dict.cap_offs;
        out->cap_data = r.dict.cap_data;
        out->data_len = r.dict.data_len;
        out->ndict = r.dict.nvals;
        r.dict.vals = tv;
        r.dict.offs = to;
        r.dict.data = td;
        r.dict.cap_vals = cv;
        r.dict.cap_offs = co;
        r.dict.cap_data = cd;
        if (c->phys == PQ_BYTE_ARRAY && !out->offs) {
            if (!(out->offs = ig_calloc(1, 4)))
                rc = IG_ENOMEM;
            else
                out->cap_offs = 4;
        }
    }
    if (!rc && c->phys == PQ_BYTE_ARRAY && !out->is_dict && !out->offs) {
        if (!(out->offs = ig_calloc(1, 4)))
            rc = IG_ENOMEM;
        else
            out->cap_offs = 4;
    }
done:
    if (use_index)
        pq_page_index_free(&pi);
    ig_buf_free(&r.page);
    pq_colvec_free(&r.dict);
    pq__codec_ctx_free(&r.cc);
    ig_free(r.i64);
    ig_free(r.u32);
    if (rc) {
        out->n = out->nrows = out->nvals = out->data_len = 0;
        out->is_dict = false;
    }
    return rc;
}

/* ---- Page index ------------------------------------------------------------------- */

void pq_page_index_free(pq_page_index *pi)
{
    ig_arena_free(&pi->arena);
    memset(pi, 0, sizeof *pi);
}

static int parse_offset_index(pq_page_index *pi, const uint8_t *p, size_t len)
{
    th_reader r;
    th_reader_init(&r, p, len);
    uint8_t t;
    int16_t id;
    bool have = false;
    th_struct_enter(&r);
    while (th_next_field(&r, &t, &id)) {
        if (id == 1 && th_expect(&r, t, TH_LIST) && !have) {
            uint8_t et;
            uint32_t n = th_read_list(&r, &et);
            if (r.rc || (n && et != TH_STRUCT))
                return IG_ECORRUPT;
            pi->loc = ig_arena_zalloc(&pi->arena, (size_t)(n ? n : 1) * sizeof *pi->loc);
            if (!pi->loc)
                return IG_ENOMEM;
            for (uint32_t i = 0; i < n && !r.rc; i++) {
                uint32_t seen = 0;
                th_struct_enter(&r);
                while (th_next_field(&r, &t, &id)) {
                    if ((id == 1 || id == 3) && th_expect(&r, t, TH_I64)) {
                        int64_t v = th_read_i64(&r);
                        if (id == 1)
                            pi->loc[i].offset = v;
                        else
                            pi->loc[i].first_row = v;
                        seen |= 1u << id;
                    } else if (id == 2 && th_expect(&r, t, TH_I32)) {
                        pi->loc[i].size = th_read_i32(&r);
                        seen |= 1u << id;
                    } else if (id < 1 || id > 3)
                        th_skip(&r, t);
                }
                th_struct_leave(&r);
                if (seen != 0xE)
                    th_fail(&r);
            }
            pi->npages = n;
            have = true;
        } else if (id != 1)
            th_skip(&r, t);
    }
    th_struct_leave(&r);
    return r.rc || !have ? IG_ECORRUPT : 0;
}

static int parse_column_index(pq_page_index *pi, const uint8_t *p, size_t len)
{
    th_reader r;
    th_reader_init(&r, p, len);
    uint8_t t;
    int16_t id;
    uint32_t seen = 0;
    size_t np = pi->npages;
    pi->null_page = ig_arena_zalloc(&pi->arena, np + 1);
    pi->min = ig_arena_zalloc(&pi->arena, (np + 1) * sizeof(ig_str));
    pi->max = ig_arena_zalloc(&pi->arena, (np + 1) * sizeof(ig_str));
    if (!pi->null_page || !pi->min || !pi->max)
        return IG_ENOMEM;
    th_struct_enter(&r);
    while (th_next_field(&r, &t, &id)) {
        if (id >= 1 && id <= 3 && th_expect(&r, t, TH_LIST)) {
            uint8_t et;
            uint32_t n = th_read_list(&r, &et);
            if (n != np || (n && et != (id == 1 ? TH_TRUE : TH_BINARY) &&
                            !(id == 1 && et == TH_FALSE)))
                th_fail(&r);
            for (uint32_t i = 0; i < n && !r.rc; i++) {
                if (id == 1)
                    pi->null_page[i] = th_read_bool_elem(&r);
                else if (id == 2)
                    pi->min[i] = th_read_binary(&r);
                else
                    pi->max[i] = th_read_binary(&r);
            }
            seen |= 1u << id;
        } else if (id == 4 && th_expect(&r, t, TH_I32)) {
            pi->boundary_order = th_read_i32(&r);
            seen |= 1u << id;
        } else if (id == 5 && th_expect(&r, t, TH_LIST)) {
            uint8_t et;
            uint32_t n = th_read_list(&r, &et);
            if (n != np || (n && et != TH_I64))
                th_fail(&r);
            pi->null_counts = ig_arena_zalloc(&pi->arena, (np + 1) * 8);
            if (!pi->null_counts)
                return IG_ENOMEM;
            for (uint32_t i = 0; i < n && !r.rc; i++)
                pi->null_counts[i] = th_read_i64(&r);
        } else if (id < 1 || id > 5)
            th_skip(&r, t);
    }
    th_struct_leave(&r);
    return r.rc || (seen & 0x1E) != 0x1E ? IG_ECORRUPT : 0;
}

int pq_read_page_index(pq_file *f, size_t rg, size_t col, pq_page_index *pi, ig_errbuf *eb)
{
    memset(pi, 0, sizeof *pi);
    if (rg >= f->nrgs || col >= f->schema->ncols)
        return IG_EINVAL;
    const pq_chunk *ch = &f->rgs[rg].cols[col];
    if (ch->offset_index_offset < 0)
        return IG_ENOENT;
    ig_arena_init(&pi->arena, (size_t)ch->offset_index_length * 16 +
                                  (size_t)ch->column_index_length * 16 + 65536);
    const uint8_t *p;
    uint8_t *owned;
    int rc = fetch(f, ch->offset_index_offset, (size_t)ch->offset_index_length, &p, &owned, eb);
    if (rc)
        goto fail;
    /* Copy so the slices stay valid after the read buffer is freed. */
    uint8_t *copy = ig_arena_alloc(&pi->arena, (size_t)ch->offset_index_length);
    if (!copy) {
        ig_free(owned);
        rc = IG_ENOMEM;
        goto fail;
    }
    memcpy(copy, p, (size_t)ch->offset_index_length);
    ig_free(owned);
    if ((rc = parse_offset_index(pi, copy, (size_t)ch->offset_index_length))) {
        rc = ig_err(eb, rc, "parquet: malformed offset index");
        goto fail;
    }
    /* Validate page locations: inside the chunk, increasing, rows increasing. */
    int64_t chunk_end = ch->start + ch->total_compressed;
    for (size_t i = 0; i < pi->npages; i++) {
        const pq_page_loc *l = &pi->loc[i];
        if (l->offset < ch->start || l->size <= 0 || l->offset + l->size > chunk_end ||
            l->first_row < 0 || l->first_row >= f->rgs[rg].num_rows ||
            (i > 0 && (l->first_row <= pi->loc[i - 1].first_row ||
                       l->offset < pi->loc[i - 1].offset + pi->loc[i - 1].size)) ||
            (i == 0 && l->first_row != 0)) {
            rc = ig_err(eb, IG_ECORRUPT, "parquet: offset index page %zu is inconsistent", i);
            goto fail;
        }
    }
    if (ch->column_index_offset >= 0) {
        rc = fetch(f, ch->column_index_offset, (size_t)ch->column_index_length, &p, &owned, eb);
        if (rc)
            goto fail;
        copy = ig_arena_alloc(&pi->arena, (size_t)ch->column_index_length);
        if (!copy) {
            ig_free(owned);
            rc = IG_ENOMEM;
            goto fail;
        }
        memcpy(copy, p, (size_t)ch->column_index_length);
        ig_free(owned);
        if (parse_column_index(pi, copy, (size_t)ch->column_index_length) == 0)
            pi->has_column_index = true;
    }
    return 0;
fail:
    pq_page_index_free(pi);
    return rc;
}

/* ---- Row selections --------------------------------------------------------------- */

void pq_rowsel_free(pq_rowsel *s)
{
    ig_free(s->r);
    memset(s, 0, sizeof *s);
}

int pq_rowsel_add(pq_rowsel *s, int64_t begin, int64_t end)
{
    if (end <= begin)
        return 0;
    if (s->n && s->r[s->n - 1].end >= begin) {
        if (end > s->r[s->n - 1].end)
            s->r[s->n - 1].end = end;
        return 0;
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        pq_range *p = ig_realloc(s->r, nc * sizeof *p);
        if (!p)
            return IG_ENOMEM;
        s->r = p;
        s->cap = nc;
    }
    s->r[s->n++] = (pq_range){begin, end};
    return 0;
}

int pq_rowsel_intersect(const pq_rowsel *a, const pq_rowsel *b, pq_rowsel *out)
{
    out->n = 0;
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        int64_t lo = a->r[i].begin > b->r[j].begin ? a->r[i].begin : b->r[j].begin;
        int64_t hi = a->r[i].end < b->r[j].end ? a->r[i].end : b->r[j].end;
        if (lo < hi) {
            int rc = pq_rowsel_add(out, lo, hi);
            if (rc)
                return rc;
        }
        if (a->r[i].end < b->r[j].end)
            i++;
        else
            j++;
    }
    return 0;
}

int64_t pq_rowsel_count(const pq_rowsel *s)
{
    int64_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->r[i].end - s->r[i].begin;
    return n;
}

/* ---- Pruning ---------------------------------------------------------------------- */

ig_str pq_pred_bytes(const pq_file *f, const pq_pred *p, uint8_t *tmp)
{
    switch (f->schema->cols[p->col].phys) {
    case PQ_BOOLEAN:
        tmp[0] = p->i != 0;
        return (ig_str){(const char *)tmp, 1};
    case PQ_INT32: {
        int32_t x = (int32_t)p->i;
        memcpy(tmp, &x, 4);
        return (ig_str){(const char *)tmp, 4};
    }
    case PQ_INT64:
        memcpy(tmp, &p->i, 8);
        return (ig_str){(const char *)tmp, 8};
    case PQ_FLOAT: {
        float x = (float)p->d;
        memcpy(tmp, &x, 4);
        return (ig_str){(const char *)tmp, 4};
    }
    case PQ_DOUBLE:
        memcpy(tmp, &p->d, 8);
        return (ig_str){(const char *)tmp, 8};
    default:
        return p->s;
    }
}

/* Can the order of column col's statistics be trusted for comparisons? */
static bool order_usable(const pq_file *f, int col)
{
    const pq_column *c = &f->schema->cols[col];
    const pq_node *n = &f->schema->nodes[c->node];
    if (c->phys == PQ_INT96)
        return false;
    if (n->logical == PQ_LT_INTEGER && !n->int_signed)
        return false;
    if (n->logical == PQ_LT_DECIMAL && c->phys != PQ_INT32 && c->phys != PQ_INT64)
        return false;
    if ((c->phys == PQ_BYTE_ARRAY || c->phys == PQ_FIXED_LEN_BYTE_ARRAY) && !f->type_order[col])
        return false;
    return true;
}

static bool stat_is_nan(pq_phys phys, ig_str v)
{
    if (phys == PQ_FLOAT && v.len == 4) {
        float x;
        memcpy(&x, v.ptr, 4);
        return isnan(x);
    }
    if (phys == PQ_DOUBLE && v.len == 8) {
        double x;
        memcpy(&x, v.ptr, 8);
        return isnan(x);
    }
    return false;
}

/* Core test: may a range with these bounds / counts hold a match? */
static bool range_may_match(const pq_file *f, const pq_pred *p, bool has_minmax, ig_str mn,
                            ig_str mx, bool has_nulls_info, int64_t nulls, int64_t values,
                            bool all_null)
{
    pq_phys phys = f->schema->cols[p->col].phys;
    if (p->op == PQ_OP_IS_NULL)
        return !(has_nulls_info && nulls == 0 && !all_null);
    if (all_null)
        return false; /* comparisons and NOT_NULL never match a null */
    if (p->op == PQ_OP_NOT_NULL)
        return !(has_nulls_info && values >= 0 && nulls >= values);
    if (!has_minmax || !order_usable(f, p->col))
        return true;
    size_t w = pq_value_width(phys, 0);
    if (w && (mn.len != w || mx.len != w))
        return true;
    if (stat_is_nan(phys, mn) || stat_is_nan(phys, mx))
        return true;
    if ((phys == PQ_FLOAT || phys == PQ_DOUBLE) && isnan(p->d))
        return true;
    uint8_t tmp[16];
    ig_str v = pq_pred_bytes(f, p, tmp);
    int cmin = pq_stat_cmp(phys, v, mn), cmax = pq_stat_cmp(phys, v, mx);
    switch (p->op) {
    case PQ_OP_EQ: return cmin >= 0 && cmax <= 0;
    case PQ_OP_LT: return pq_stat_cmp(phys, mn, v) < 0;
    case PQ_OP_LE: return cmin >= 0;
    case PQ_OP_GT: return pq_stat_cmp(phys, mx, v) > 0;
    case PQ_OP_GE: return cmax <= 0;
    default: return true;
    }
}

bool pq_rg_may_match(const pq_file *f, size_t rg, const pq_pred *p)
{
    if (rg >= f->nrgs || p->col < 0 || (size_t)p->col >= f->schema->ncols)
        return true;
    const pq_chunk *ch = &f->rgs[rg].cols[p->col];
    const pq_stats *s = &ch->stats;
    bool all_null = s->has_null_count && ch->num_values > 0 && s->null_count >= ch->num_values &&
                    f->schema->cols[p->col].max_rep == 0;
    if (f->rgs[rg].num_rows == 0)
        return false;
    return range_may_match(f, p, s->has_min && s->has_max, s->min, s->max, s->has_null_count,
                           s->null_count, ch->num_values, all_null);
}

int pq_bloom_check(pq_file *f, size_t rg, const pq_pred *p, bool *maybe, ig_errbuf *eb)
{
    *maybe = true;
    if (rg >= f->nrgs || p->col < 0 || (size_t)p->col >= f->schema->ncols || p->op != PQ_OP_EQ)
        return 0;
    const pq_chunk *ch = &f->rgs[rg].cols[p->col];
    if (ch->bloom_offset < 0 || ch->phys == PQ_BOOLEAN)
        return 0;
    uint64_t avail = f->src.size - (uint64_t)ch->bloom_offset;
    size_t hl = avail < 64 ? (size_t)avail : 64;
    uint8_t hdr[64];
    int rc = src_read(f, (uint64_t)ch->bloom_offset, hdr, hl, eb);
    if (rc)
        return rc;
    th_reader r;
    th_reader_init(&r, hdr, hl);
    uint8_t t;
    int16_t id;
    int32_t nbytes = -1;
    bool block = false, xx = false, unc = false;
    th_struct_enter(&r);
    while (th_next_field(&r, &t, &id)) {
        if (id == 1 && th_expect(&r, t, TH_I32))
            nbytes = th_read_i32(&r);
        else if (id >= 2 && id <= 4 && th_expect(&r, t, TH_STRUCT)) {
            uint8_t t2;
            int16_t id2;
            th_struct_enter(&r);
            while (th_next_field(&r, &t2, &id2)) {
                if (id2 == 1) {
                    if (id == 2)
                        block = true;
                    else if (id == 3)
                        xx = true;
                    else
                        unc = true;
                }
                th_skip(&r, t2);
            }
            th_struct_leave(&r);
        } else if (id < 1 || id > 4)
            th_skip(&r, t);
    }
    th_struct_leave(&r);
    if (r.rc)
        return ig_err(eb, IG_ECORRUPT, "parquet: malformed bloom filter header");
    if (!block || !xx || !unc)
        return 0; /* unknown algorithm: cannot prune */
    size_t used = th_reader_pos(&r, hdr);
    if (nbytes < 32 || nbytes % 32 || (uint64_t)nbytes > avail - used ||
        nbytes > (128 << 20))
        return ig_err(eb, IG_ECORRUPT, "parquet: bloom filter of %d bytes is invalid", nbytes);
    const uint8_t *bits;
    uint8_t *owned;
    if ((rc = fetch(f, ch->bloom_offset + (int64_t)used, (size_t)nbytes, &bits, &owned, eb)))
        return rc;
    uint8_t tmp[16];
    ig_str v = pq_pred_bytes(f, p, tmp);
    *maybe = pq__bloom_check(bits, (size_t)nbytes, pq__hash(v.ptr, v.len));
    ig_free(owned);
    return 0;
}

int pq_page_select(pq_file *f, size_t rg, const pq_pred *p, pq_rowsel *out, ig_errbuf *eb)
{
    out->n = 0;
    if (rg >= f->nrgs || p->col < 0 || (size_t)p->col >= f->schema->ncols)
        return IG_EINVAL;
    int64_t nrows = f->rgs[rg].num_rows;
    pq_page_index pi;
    int rc = pq_read_page_index(f, rg, (size_t)p->col, &pi, eb);
    if (rc == IG_ENOENT)
        return pq_rowsel_add(out, 0, nrows);
    if (rc)
        return rc;
    for (size_t i = 0; i < pi.npages && !rc; i++) {
        int64_t end = i + 1 < pi.npages ? pi.loc[i + 1].first_row : nrows;
        bool may = true;
        if (pi.has_column_index)
            may = range_may_match(f, p, !pi.null_page[i], pi.min[i], pi.max[i],
                                  pi.null_counts != NULL,
                                  pi.null_counts ? pi.null_counts[i] : 0, -1, pi.null_page[i]);
        if (may)
            rc = pq_rowsel_add(out, pi.loc[i].first_row, end);
    }
    pq_page_index_free(&pi);
    return rc;
}
