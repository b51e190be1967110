/* Parquet writer -> reader round trips, statistics, page index, bloom filters,
 * pruning, column-wise API, dictionary handling, allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/err.h"
#include "icegate/parquet.h"

/* ---- A schema with every shape we care about --------------------------------------- */

static const pq_field kv_str[] = {{.id = 3, .name = "key", .required = true, .type = PQ_T_STRING},
                                  {.id = 4, .name = "value", .type = PQ_T_STRING}};
static const pq_field tags_elem[] = {{.id = 6, .name = "element", .type = PQ_T_LONG}};
static const pq_field ev_kv[] = {{.id = 12, .name = "key", .required = true, .type = PQ_T_STRING},
                                 {.id = 13, .name = "value", .type = PQ_T_STRING}};
static const pq_field ev_fields[] = {
    {.id = 9, .name = "name", .required = true, .type = PQ_T_STRING},
    {.id = 10, .name = "ts", .type = PQ_T_TIMESTAMPTZ},
    {.id = 11, .name = "attrs", .type = PQ_T_MAP, .children = ev_kv, .nchildren = 2}};
static const pq_field ev_elem[] = {
    {.id = 8, .name = "element", .required = true, .type = PQ_T_STRUCT, .children = ev_fields, .nchildren = 3}};
static const pq_field fields[] = {
    {.id = 1, .name = "tenant", .required = true, .type = PQ_T_STRING},
    {.id = 2, .name = "attrs", .type = PQ_T_MAP, .children = kv_str, .nchildren = 2},
    {.id = 5, .name = "tags", .type = PQ_T_LIST, .children = tags_elem, .nchildren = 1},
    {.id = 7, .name = "events", .type = PQ_T_LIST, .children = ev_elem, .nchildren = 1},
    {.id = 14, .name = "ts", .required = true, .type = PQ_T_TIMESTAMPTZ},
    {.id = 15, .name = "d", .type = PQ_T_DOUBLE},
    {.id = 16, .name = "b", .type = PQ_T_BOOLEAN},
    {.id = 17, .name = "trace", .type = PQ_T_FIXED, .fixed_len = 16},
    {.id = 18, .name = "i", .type = PQ_T_INT},
    {.id = 19, .name = "f", .type = PQ_T_FLOAT},
    {.id = 20, .name = "body", .type = PQ_T_STRING},
};
#define NF (sizeof fields / sizeof fields[0])

static pq_value mk_null(void)
{
    pq_value v;
    memset(&v, 0, sizeof v);
    return v;
}
static pq_value mk_int(int64_t i)
{
    pq_value v = mk_null();
    v.kind = PQ_V_INT;
    v.i = i;
    return v;
}
static pq_value mk_dbl(double d)
{
    pq_value v = mk_null();
    v.kind = PQ_V_DOUBLE;
    v.d = d;
    return v;
}
static pq_value mk_str(ig_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static pq_value mk_str(ig_arena *a, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    pq_value v = mk_null();
    v.kind = PQ_V_BYTES;
    v.s = ig_arena_strdup(a, (ig_str){tmp, (size_t)n});
    return v;
}
static pq_value *mk_items(ig_arena *a, size_t n)
{
    return ig_arena_zalloc(a, (n ? n : 1) * sizeof(pq_value));
}

/* Deterministic row r. */
static void make_row(ig_arena *a, int r, pq_value *row)
{
    memset(row, 0, sizeof *row);
    row->kind = PQ_V_STRUCT;
    row->n = NF;
    row->items = mk_items(a, NF);
    pq_value *it = row->items;
    it[0] = mk_str(a, "tenant-%d", r % 3);
    if (r % 5 == 1)
        it[1] = mk_null();
    else {
        size_t ne = (size_t)(r % 4);
        it[1].kind = PQ_V_MAP;
        it[1].n = 2 * ne;
        it[1].items = mk_items(a, 2 * ne);
        for (size_t k = 0; k < ne; k++) {
            it[1].items[2 * k] = mk_str(a, "k%zu", k);
            it[1].items[2 * k + 1] = (r + (int)k) % 3 == 0 ? mk_null() : mk_str(a, "v%d", r * 10 + (int)k);
        }
    }
    if (r % 7 == 3)
        it[2] = mk_null();
    else {
        size_t ne = (size_t)(r % 5);
        it[2].kind = PQ_V_LIST;
        it[2].n = ne;
        it[2].items = mk_items(a, ne);
        for (size_t k = 0; k < ne; k++)
            it[2].items[k] = k == 2 ? mk_null() : mk_int((int64_t)r * 100 + (int64_t)k - 500);
    }
    if (r % 6 == 0)
        it[3] = mk_null();
    else {
        size_t ne = (size_t)(r % 3);
        it[3].kind = PQ_V_LIST;
        it[3].n = ne;
        it[3].items = mk_items(a, ne);
        for (size_t k = 0; k < ne; k++) {
            pq_value *e = &it[3].items[k];
            e->kind = PQ_V_STRUCT;
            e->n = 3;
            e->items = mk_items(a, 3);
            e->items[0] = mk_str(a, "event-%d-%zu", r, k);
            e->items[1] = k ? mk_int(r * 1000 + (int)k) : mk_null();
            if (r % 4 == 2)
                e->items[2] = mk_null();
            else {
                e->items[2].kind = PQ_V_MAP;
                e->items[2].n = 2;
                e->items[2].items = mk_items(a, 2);
                e->items[2].items[0] = mk_str(a, "ek");
                e->items[2].items[1] = mk_str(a, "ev%d", r);
            }
        }
    }
    it[4] = mk_int(1700000000000000LL + (int64_t)r * 1000);
    it[5] = r % 9 == 0 ? mk_null() : r % 13 == 0 ? mk_dbl(NAN) : mk_dbl(r * 0.25 - 3);
    if (r % 3 == 0)
        it[6] = mk_null();
    else {
        it[6].kind = PQ_V_BOOL;
        it[6].b = r % 2;
    }
    if (r % 4 == 0)
        it[7] = mk_null();
    else {
        char *t = ig_arena_alloc(a, 16);
        for (int k = 0; k < 16; k++)
            t[k] = (char)(r * 31 + k);
        it[7].kind = PQ_V_BYTES;
        it[7].s = (ig_str){t, 16};
    }
    it[8] = r % 10 == 0 ? mk_null() : mk_int(r % 2 ? INT32_MIN + r : INT32_MAX - r);
    it[9] = mk_dbl((float)(r * 0.5));
    it[10] = r % 11 == 0 ? mk_null() : mk_str(a, "log line %d: something happened %d", r, r % 17);
}

static bool value_eq(const pq_value *a, const pq_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case PQ_V_NULL: return true;
    case PQ_V_BOOL: return a->b == b->b;
    case PQ_V_INT: return a->i == b->i;
    case PQ_V_DOUBLE: return (isnan(a->d) && isnan(b->d)) || a->d == b->d;
    case PQ_V_BYTES: return ig_str_eq(a->s, b->s);
    default:
        if (a->n != b->n)
            return false;
        for (size_t i = 0; i < a->n; i++)
            if (!value_eq(&a->items[i], &b->items[i]))
                return false;
        return true;
    }
}

typedef struct check_ctx {
    ig_arena a;
    int next;
    int step; /* expected row = next * step + offset */
    int offset;
    const int *rows; /* explicit expected row numbers, or NULL */
} check_ctx;

static int check_row(void *ctx, const pq_value *row)
{
    check_ctx *c = ctx;
    ig_arena_reset(&c->a);
    pq_value exp;
    int r = c->rows ? c->rows[c->next] : c->next * c->step + c->offset;
    make_row(&c->a, r, &exp);
    if (!value_eq(row, &exp)) {
        fprintf(stderr, "row %d differs\n", r);
        return -100;
    }
    c->next++;
    return 0;
}

static pq_schema *build_schema(void)
{
    pq_schema *s;
    ig_errbuf eb = {{0}};
    int rc = pq_schema_build(fields, NF, &s, &eb);
    if (rc)
        fprintf(stderr, "%s\n", eb.msg);
    assert_int_equal(rc, 0);
    return s;
}

static void write_rows(pq_schema *s, const pq_writer_opts *o, int nrows, ig_buf *out,
                       pq_write_result *res, int bloom_col)
{
    pq_writer *w;
    ig_errbuf eb = {{0}};
    ig_buf_init(out, 0);
    assert_int_equal(pq_writer_new(&w, s, o, pq_sink_buf(out), &eb), 0);
    if (bloom_col >= 0)
        assert_int_equal(pq_writer_set_bloom(w, bloom_col, true), 0);
    assert_int_equal(pq_writer_add_kv(w, "k", "v"), 0);
    ig_arena a;
    ig_arena_init(&a, 0);
    for (int r = 0; r < nrows; r++) {
        ig_arena_reset(&a);
        pq_value row;
        make_row(&a, r, &row);
        int rc = pq_writer_append_row(w, &row, &eb);
        if (rc)
            fprintf(stderr, "append: %s\n", eb.msg);
        assert_int_equal(rc, 0);
    }
    int rc = pq_writer_close(w, res, &eb);
    if (rc)
        fprintf(stderr, "close: %s\n", eb.msg);
    assert_int_equal(rc, 0);
    pq_writer_free(w);
    ig_arena_free(&a);
}

static void read_all_check(const ig_buf *file, int nrows, unsigned flags)
{
    pq_file *f;
    ig_errbuf eb = {{0}};
    int rc = pq_open_mem(&f, file->data, file->len, NULL, &eb);
    if (rc)
        fprintf(stderr, "open: %s\n", eb.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(f->num_rows, nrows);
    assert_string_equal(pq_file_kv(f, "k"), "v");
    const pq_schema *s = f->schema;
    /* field ids survive on every node but the synthetic list/key_value groups */
    assert_int_equal(s->cols[pq_schema_find(s, "events.list.element.attrs.key_value.value")].field_id, 13);
    assert_int_equal(pq_schema_find_field_id(s, 6), pq_schema_find(s, "tags.list.element"));
    pq_colvec *vecs = ig_calloc(s->ncols, sizeof *vecs);
    pq_colvec **ptrs = ig_calloc(s->ncols, sizeof *ptrs);
    for (size_t c = 0; c < s->ncols; c++)
        ptrs[c] = &vecs[c];
    check_ctx cc = {.step = 1};
    ig_arena_init(&cc.a, 0);
    ig_arena scratch;
    ig_arena_init(&scratch, 0);
    int64_t total = 0;
    for (size_t g = 0; g < f->nrgs; g++) {
        for (size_t c = 0; c < s->ncols; c++) {
            rc = pq_read_column(f, g, c, NULL, flags, ptrs[c], &eb);
            if (rc)
                fprintf(stderr, "read %s: %s\n", s->cols[c].path, eb.msg);
            assert_int_equal(rc, 0);
            assert_int_equal(vecs[c].nrows, f->rgs[g].num_rows);
        }
        rc = pq_assemble(s, ptrs, &scratch, check_row, &cc, &eb);
        assert_int_equal(rc, 0);
        total += f->rgs[g].num_rows;
    }
    assert_int_equal(cc.next, nrows);
    assert_int_equal(total, nrows);
    for (size_t c = 0; c < s->ncols; c++)
        pq_colvec_free(&vecs[c]);
    ig_free(vecs);
    ig_free(ptrs);
    ig_arena_free(&cc.a);
    ig_arena_free(&scratch);
    pq_close(f);
}

static void test_roundtrip_matrix(void **state)
{
    (void)state;
    pq_schema *s = build_schema();
    const pq_codec codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
    for (size_t ci = 0; ci < 4; ci++)
        for (int pv = 1; pv <= 2; pv++)
            for (int dict = 0; dict < 2; dict++) {
                pq_writer_opts o = {0};
                o.codec = codecs[ci];
                o.codec_set = true;
                o.page_version = pv;
                o.no_dict = !dict;
                o.page_rows = 97;       /* many pages */
                o.row_group_rows = 700; /* several row groups */
                ig_buf file;
                pq_write_result res;
                write_rows(s, &o, 2000, &file, &res, -1);
                assert_int_equal(res.num_rows, 2000);
                assert_int_equal(res.nrow_groups, 3);
                assert_int_equal(res.file_size, file.len);
                read_all_check(&file, 2000, 0);
                read_all_check(&file, 2000, PQ_READ_KEEP_DICT);
                pq_write_result_free(&res);
                ig_buf_free(&file);
            }
    pq_schema_free(s);
}

static void test_write_result_metrics(void **state)
{
    (void)state;
    pq_schema *s = build_schema();
    pq_writer_opts o = {0};
    ig_buf file;
    pq_write_result res;
    write_rows(s, &o, 1000, &file, &res, -1);
    int ts = pq_schema_find(s, "ts"), d = pq_schema_find(s, "d"), body = pq_schema_find(s, "body");
    int tags = pq_schema_find(s, "tags.list.element");
    assert_int_equal(res.cols[ts].field_id, 14);
    assert_int_equal(res.cols[ts].value_count, 1000);
    assert_int_equal(res.cols[ts].null_count, 0);
    assert_true(res.cols[ts].has_bounds);
    int64_t lo, hi;
    memcpy(&lo, res.cols[ts].lower.ptr, 8);
    memcpy(&hi, res.cols[ts].upper.ptr, 8);
    assert_true(lo == 1700000000000000LL);
    assert_true(hi == 1700000000000000LL + 999 * 1000);
    /* d: nulls every 9th row, NaN every 13th (not multiple of 9) */
    int nulls = 0, nans = 0;
    for (int r = 0; r < 1000; r++) {
        if (r % 9 == 0)
            nulls++;
        else if (r % 13 == 0)
            nans++;
    }
    assert_int_equal(res.cols[d].null_count, nulls);
    assert_int_equal(res.cols[d].nan_count, nans);
    double dlo, dhi;
    memcpy(&dlo, res.cols[d].lower.ptr, 8);
    memcpy(&dhi, res.cols[d].upper.ptr, 8);
    assert_true(dlo == 1 * 0.25 - 3);
    assert_true(dhi == 998 * 0.25 - 3);
    assert_true(res.cols[body].has_bounds);
    assert_true(res.cols[body].lower_exact);
    assert_true(ig_str_has_prefix(res.cols[body].lower, IG_STR("log line ")));
    /* list leaf counts every level entry */
    assert_true(res.cols[tags].value_count >= 1000);
    assert_true(res.cols[ts].compressed_size > 0);
    assert_int_equal(res.row_group_offsets[0], 4);
    pq_write_result_free(&res);
    ig_buf_free(&file);
    pq_schema_free(s);
}

/* ---- Column-wise API, encodings, dictionary ----------------------------------------- */

static const pq_field flat_fields[] = {
    {.id = 1, .name = "svc", .required = true, .type = PQ_T_STRING},
    {.id = 2, .name = "ts", .required = true, .type = PQ_T_TIMESTAMPTZ},
    {.id = 3, .name = "msg", .type = PQ_T_STRING},
    {.id = 4, .name = "v", .type = PQ_T_DOUBLE},
    {.id = 5, .name = "n", .type = PQ_T_INT},
};

typedef struct flat_cfg {
    pq_encoding enc[5];
    pq_writer_opts o;
} flat_cfg;

static void write_flat(const flat_cfg *cfg, int nrows, pq_schema **sp, ig_buf *out)
{
    pq_schema *s;
    assert_int_equal(pq_schema_build(flat_fields, 5, &s, NULL), 0);
    pq_writer *w;
    ig_buf_init(out, 0);
    assert_int_equal(pq_writer_new(&w, s, &cfg->o, pq_sink_buf(out), NULL), 0);
    for (int c = 0; c < 5; c++)
        if (cfg->enc[c])
            assert_int_equal(pq_writer_set_encoding(w, c, cfg->enc[c]), 0);
    char tmp[128];
    for (int r = 0; r < nrows; r++) {
        int n = snprintf(tmp, sizeof tmp, "service-%d", r % 4);
        assert_int_equal(pq_put_bytes(w, 0, 0, tmp, (size_t)n), 0);
    }
    for (int r = 0; r < nrows; r++)
        assert_int_equal(pq_put_i64(w, 1, 0, 1700000000000000LL + r * 997LL), 0);
    for (int r = 0; r < nrows; r++) {
        if (r % 5 == 0) {
            assert_int_equal(pq_put_null(w, 2, 0, 0), 0);
            continue;
        }
        int n = snprintf(tmp, sizeof tmp, "message number %d with prefix %d", r, r / 10);
        assert_int_equal(pq_put_bytes(w, 2, 0, tmp, (size_t)n), 0);
    }
    for (int r = 0; r < nrows; r++)
        assert_int_equal(r % 7 == 0 ? pq_put_null(w, 3, 0, 0) : pq_put_f64(w, 3, 0, r / 3.0), 0);
    int32_t *iv = ig_malloc((size_t)nrows * 4);
    uint8_t *valid = ig_malloc((size_t)nrows);
    for (int r = 0; r < nrows; r++) {
        iv[r] = r * 3 - 1000;
        valid[r] = r % 2 == 0;
    }
    assert_int_equal(pq_put_i32_n(w, 4, iv, valid, (size_t)nrows), 0);
    ig_free(iv);
    ig_free(valid);
    /* type and level misuse is refused */
    assert_int_equal(pq_put_i32(w, 1, 0, 5), IG_EINVAL);
    assert_int_equal(pq_put_null(w, 0, 0, 0), IG_EINVAL); /* required */
    assert_int_equal(pq_put_i64(w, 1, 1, 5), IG_EINVAL);  /* rep > max */
    assert_int_equal(pq_writer_close(w, NULL, NULL), 0);
    pq_writer_free(w);
    *sp = s;
}

static int check_flat_flags = PQ_READ_KEEP_DICT; /* 0: dictionary strings materialised */

static void check_flat(const ig_buf *file, int nrows, const pq_rowsel *sel)
{
    pq_file *f;
    ig_errbuf eb = {{0}};
    assert_int_equal(pq_open_mem(&f, file->data, file->len, NULL, &eb), 0);
    pq_colvec v;
    pq_colvec_init(&v);
    char tmp[128];
    for (size_t g = 0; g < f->nrgs; g++) {
        int64_t base = 0;
        for (size_t k = 0; k < g; k++)
            base += f->rgs[k].num_rows;
        for (int c = 0; c < 5; c++) {
            int rc = pq_read_column(f, g, (size_t)c, sel, check_flat_flags, &v, &eb);
            if (rc)
                fprintf(stderr, "%s\n", eb.msg);
            assert_int_equal(rc, 0);
            size_t k = 0, e = 0;
            for (int64_t rr = 0; rr < f->rgs[g].num_rows; rr++) {
                if (sel) {
                    bool in = false;
                    for (size_t q = 0; q < sel->n; q++)
                        in |= rr >= sel->r[q].begin && rr < sel->r[q].end;
                    if (!in)
                        continue;
                }
                int r = (int)(base + rr);
                assert_true(e < v.n);
                bool present = !v.def || v.def[e] == v.max_def;
                e++;
                switch (c) {
                case 0: {
                    int n = snprintf(tmp, sizeof tmp, "service-%d", r % 4);
                    assert_true(present);
                    assert_true(ig_str_eq(pq_colvec_bytes(&v, k), (ig_str){tmp, (size_t)n}));
                    break;
                }
                case 1: {
                    int64_t x;
                    memcpy(&x, pq_colvec_fixed(&v, k), 8);
                    assert_true(x == 1700000000000000LL + r * 997LL);
                    break;
                }
                case 2:
                    assert_int_equal(present, r % 5 != 0);
                    if (present) {
                        int n = snprintf(tmp, sizeof tmp, "message number %d with prefix %d", r, r / 10);
                        assert_true(ig_str_eq(pq_colvec_bytes(&v, k), (ig_str){tmp, (size_t)n}));
                    }
                    break;
                case 3:
                    assert_int_equal(present, r % 7 != 0);
                    if (present) {
                        double d;
                        memcpy(&d, pq_colvec_fixed(&v, k), 8);
                        assert_true(d == r / 3.0);
                    }
                    break;
                case 4:
                    assert_int_equal(present, r % 2 == 0);
                    if (present) {
                        int32_t x;
                        memcpy(&x, pq_colvec_fixed(&v, k), 4);
                        assert_int_equal(x, r * 3 - 1000);
                    }
                    break;
                }
                k += present;
            }
            assert_int_equal(e, v.n);
            assert_int_equal(k, v.nvals);
            if (c == 0 && check_flat_flags)
                assert_true(v.is_dict && v.ndict == 4); /* low cardinality: dictionary kept */
        }
    }
    (void)nrows;
    pq_colvec_free(&v);
    pq_close(f);
}

static void test_flat_encodings(void **state)
{
    (void)state;
    const pq_encoding sets[][5] = {
        {0, 0, 0, 0, 0},
        {0, PQ_ENC_DELTA_BINARY_PACKED, PQ_ENC_DELTA_LENGTH_BYTE_ARRAY, PQ_ENC_BYTE_STREAM_SPLIT,
         PQ_ENC_DELTA_BINARY_PACKED},
        {0, PQ_ENC_PLAIN, PQ_ENC_DELTA_BYTE_ARRAY, PQ_ENC_PLAIN, PQ_ENC_BYTE_STREAM_SPLIT},
        {0, PQ_ENC_RLE_DICTIONARY, PQ_ENC_RLE_DICTIONARY, PQ_ENC_RLE_DICTIONARY, PQ_ENC_PLAIN},
    };
    for (size_t i = 0; i < 4; i++)
        for (int pv = 1; pv <= 2; pv++) {
            flat_cfg cfg;
            memset(&cfg, 0, sizeof cfg);
            memcpy(cfg.enc, sets[i], sizeof cfg.enc);
            cfg.o.page_version = pv;
            cfg.o.page_rows = 333;
            pq_schema *s;
            ig_buf file;
            write_flat(&cfg, 5000, &s, &file);
            check_flat(&file, 5000, NULL);
            pq_schema_free(s);
            ig_buf_free(&file);
        }
}

static void test_dict_fallback(void **state)
{
    (void)state;
    flat_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.o.dict_max_bytes = 4096; /* msg (unique strings) cannot fit */
    pq_schema *s;
    ig_buf file;
    write_flat(&cfg, 3000, &s, &file);
    pq_file *f;
    assert_int_equal(pq_open_mem(&f, file.data, file.len, NULL, NULL), 0);
    uint32_t dict = 1u << PQ_ENC_RLE_DICTIONARY;
    assert_true(f->rgs[0].cols[0].encodings & dict);    /* svc: dictionary */
    assert_false(f->rgs[0].cols[2].encodings & dict);   /* msg: fell back */
    assert_true(f->rgs[0].cols[2].encodings & (1u << PQ_ENC_PLAIN));
    assert_true(f->rgs[0].cols[1].encodings & (1u << PQ_ENC_DELTA_BINARY_PACKED)); /* ts */
    pq_close(f);
    check_flat(&file, 3000, NULL);
    pq_schema_free(s);
    ig_buf_free(&file);
}

/* ---- Statistics and truncation ------------------------------------------------------ */

static void test_stats_truncation(void **state)
{
    (void)state;
    static const pq_field sf[] = {{.id = 1, .name = "s", .type = PQ_T_STRING},
                                  {.id = 2, .name = "bin", .type = PQ_T_BINARY}};
    pq_schema *s;
    assert_int_equal(pq_schema_build(sf, 2, &s, NULL), 0);
    pq_writer_opts o = {0};
    o.stats_max_len = 8;
    ig_buf file;
    ig_buf_init(&file, 0);
    pq_writer *w;
    assert_int_equal(pq_writer_new(&w, s, &o, pq_sink_buf(&file), NULL), 0);
    const char *vals[] = {"zzzz\xc3\xa9\xc3\xa9\xc3\xa9tail", "aaaaaaaaaaaaaaaaaaaaaaaa", "mmm"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pq_put_bytes(w, 0, 0, vals[i], strlen(vals[i])), 0);
    assert_int_equal(pq_put_null(w, 0, 0, 0), 0);
    const uint8_t b1[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t b2[] = {0x00, 0x01};
    assert_int_equal(pq_put_bytes(w, 1, 0, b1, sizeof b1), 0);
    assert_int_equal(pq_put_bytes(w, 1, 0, b2, sizeof b2), 0);
    assert_int_equal(pq_put_bytes(w, 1, 0, b2, 0), 0);
    assert_int_equal(pq_put_null(w, 1, 0, 0), 0);
    pq_write_result res;
    assert_int_equal(pq_writer_close(w, &res, NULL), 0);
    pq_writer_free(w);
    pq_file *f;
    assert_int_equal(pq_open_mem(&f, file.data, file.len, NULL, NULL), 0);
    const pq_stats *st = &f->rgs[0].cols[0].stats;
    assert_true(st->has_min && st->has_max && st->has_null_count);
    assert_int_equal(st->null_count, 1);
    /* min "aaaa..." truncated to a prefix */
    assert_int_equal(st->min.len, 8);
    assert_memory_equal(st->min.ptr, "aaaaaaaa", 8);
    assert_false(st->min_exact);
    /* max "zzzzéé..." cut on a code point boundary (7 bytes "zzzzé" + partial) and
     * incremented: "zzzz" + "é"->"ê" ... must be >= the real max */
    assert_false(st->max_exact);
    assert_true(st->max.len <= 8 + 4);
    assert_true(ig_str_cmp(st->max, ig_str_from(vals[0])) > 0);
    assert_true(ig_str_has_prefix(st->max, IG_STR("zzzz")));
    const pq_stats *sb = &f->rgs[0].cols[1].stats;
    assert_int_equal(sb->min.len, 0); /* empty binary is the min, exact */
    assert_true(sb->min_exact);
    /* max 01 ff ff ... truncated to 8 bytes cannot increment the ff's: becomes 02 */
    assert_int_equal(sb->max.len, 1);
    assert_int_equal((uint8_t)sb->max.ptr[0], 0x02);
    assert_false(sb->max_exact);
    assert_false(res.cols[1].upper_exact);
    assert_int_equal(res.cols[1].upper.len, 1);
    pq_close(f);
    pq_write_result_free(&res);
    ig_buf_free(&file);
    pq_schema_free(s);
}

/* ---- Page index, row group and page skipping, bloom filters ------------------------- */

static void test_page_index_and_skipping(void **state)
{
    (void)state;
    flat_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.o.page_rows = 1000;
    cfg.o.row_group_rows = 20000;
    pq_schema *s;
    ig_buf file;
    /* write_flat appends column-wise; set the row group size through a flush by
     * writing one group at a time is not possible, so use one group and page skipping. */
    write_flat(&cfg, 20000, &s, &file);
    pq_file *f;
    ig_errbuf eb = {{0}};
    assert_int_equal(pq_open_mem(&f, file.data, file.len, NULL, &eb), 0);
    assert_int_equal(f->nrgs, 1);
    pq_page_index pi;
    assert_int_equal(pq_read_page_index(f, 0, 1, &pi, &eb), 0);
    assert_int_equal(pi.npages, 20);
    assert_true(pi.has_column_index);
    assert_int_equal(pi.boundary_order, 1); /* ascending timestamps */
    for (size_t i = 0; i < pi.npages; i++)
        assert_int_equal(pi.loc[i].first_row, (int64_t)i * 1000);
    pq_page_index_free(&pi);
    /* ts == row 12345's value: exactly one page */
    pq_pred p = {.col = 1, .op = PQ_OP_EQ, .i = 1700000000000000LL + 12345 * 997LL};
    assert_true(pq_rg_may_match(f, 0, &p));
    pq_rowsel sel = {0};
    assert_int_equal(pq_page_select(f, 0, &p, &sel, &eb), 0);
    assert_int_equal(sel.n, 1);
    assert_int_equal(sel.r[0].begin, 12000);
    assert_int_equal(sel.r[0].end, 13000);
    /* a value below the minimum prunes the row group */
    pq_pred below = {.col = 1, .op = PQ_OP_LT, .i = 1700000000000000LL};
    assert_false(pq_rg_may_match(f, 0, &below));
    pq_pred ge = {.col = 1, .op = PQ_OP_GE, .i = 1700000000000000LL + 19500 * 997LL};
    assert_true(pq_rg_may_match(f, 0, &ge));
    pq_rowsel sel2 = {0};
    assert_int_equal(pq_page_select(f, 0, &ge, &sel2, &eb), 0);
    assert_int_equal(pq_rowsel_count(&sel2), 1000);
    /* string predicates on the dictionary column */
    pq_pred sv = {.col = 0, .op = PQ_OP_EQ, .s = IG_STR("service-9")};
    assert_false(pq_rg_may_match(f, 0, &sv)); /* > max "service-3" */
    pq_pred nn = {.col = 2, .op = PQ_OP_IS_NULL};
    assert_true(pq_rg_may_match(f, 0, &nn));
    pq_pred nn0 = {.col = 0, .op = PQ_OP_IS_NULL};
    assert_false(pq_rg_may_match(f, 0, &nn0));
    pq_close(f);
    /* read with a selection: only those rows come back, with the right values */
    pq_rowsel custom = {0};
    assert_int_equal(pq_rowsel_add(&custom, 5, 17), 0);
    assert_int_equal(pq_rowsel_add(&custom, 12000, 12003), 0);
    assert_int_equal(pq_rowsel_add(&custom, 19990, 20000), 0);
    check_flat(&file, 20000, &custom);
    check_flat(&file, 20000, &sel);
    /* whole pages selected (read without compaction) mixed with partial ones, in the
     * same chunk: pages of 1000 rows */
    pq_rowsel mixed = {0};
    assert_int_equal(pq_rowsel_add(&mixed, 1000, 3000), 0);  /* pages 1-2 whole */
    assert_int_equal(pq_rowsel_add(&mixed, 3500, 4200), 0);  /* across a boundary */
    assert_int_equal(pq_rowsel_add(&mixed, 5000, 5001), 0);  /* first row of a page */
    assert_int_equal(pq_rowsel_add(&mixed, 6999, 7000), 0);  /* last row of a page */
    assert_int_equal(pq_rowsel_add(&mixed, 8000, 20000), 0); /* whole pages to the end */
    check_flat(&file, 20000, &mixed);
    pq_rowsel all = {0};
    assert_int_equal(pq_rowsel_add(&all, 0, 20000), 0);
    check_flat(&file, 20000, &all);
    /* the same with dictionary strings materialised (only the selected ones are copied) */
    check_flat_flags = 0;
    check_flat(&file, 20000, &mixed);
    check_flat(&file, 20000, &custom);
    check_flat(&file, 20000, NULL);
    check_flat_flags = PQ_READ_KEEP_DICT;
    pq_rowsel_free(&mixed);
    pq_rowsel_free(&all);
    pq_rowsel inter = {0};
    assert_int_equal(pq_rowsel_intersect(&custom, &sel, &inter), 0);
    assert_int_equal(pq_rowsel_count(&inter), 3);
    pq_rowsel_free(&inter);
    pq_rowsel_free(&custom);
    pq_rowsel_free(&sel);
    pq_rowsel_free(&sel2);
    pq_schema_free(s);
    ig_buf_free(&file);
}

static void test_nested_selection(void **state)
{
    (void)state;
    pq_schema *s = build_schema();
    pq_writer_opts o = {0};
    o.page_rows = 50;
    ig_buf file;
    write_rows(s, &o, 600, &file, NULL, -1);
    pq_file *f;
    assert_int_equal(pq_open_mem(&f, file.data, file.len, NULL, NULL), 0);
    pq_rowsel sel = {0};
    pq_rowsel_add(&sel, 3, 9);
    pq_rowsel_add(&sel, 120, 121);
    pq_rowsel_add(&sel, 590, 600);
    pq_colvec *vecs = ig_calloc(f->schema->ncols, sizeof *vecs);
    pq_colvec **ptrs = ig_calloc(f->schema->ncols, sizeof *ptrs);
    for (size_t c = 0; c < f->schema->ncols; c++) {
        ptrs[c] = &vecs[c];
        assert_int_equal(pq_read_column(f, 0, c, &sel, 0, ptrs[c], NULL), 0);
        assert_int_equal(vecs[c].nrows, 17);
    }
    int rows[17];
    int k = 0;
    for (size_t q = 0; q < sel.n; q++)
        for (int64_t r = sel.r[q].begin; r < sel.r[q].end; r++)
            rows[k++] = (int)r;
    check_ctx cc = {.rows = rows};
    ig_arena_init(&cc.a, 0);
    ig_arena scratch;
    ig_arena_init(&scratch, 0);
    assert_int_equal(pq_assemble(f->schema, ptrs, &scratch, check_row, &cc, NULL), 0);
    assert_int_equal(cc.next, 17);
    for (size_t c = 0; c < f->schema->ncols; c++)
        pq_colvec_free(&vecs[c]);
    ig_free(vecs);
    ig_free(ptrs);
    ig_arena_free(&cc.a);
    ig_arena_free(&scratch);
    pq_rowsel_free(&sel);
    pq_close(f);
    ig_buf_free(&file);
    pq_schema_free(s);
}

static void test_bloom_filter(void **state)
{
    (void)state;
    static const pq_field bf[] = {{.id = 1, .name = "trace", .required = true, .type = PQ_T_STRING},
                                  {.id = 2, .name = "n", .required = true, .type = PQ_T_LONG}};
    pq_schema *s;
    assert_int_equal(pq_schema_build(bf, 2, &s, NULL), 0);
    pq_writer_opts o = {0};
    o.row_group_rows = 5000;
    ig_buf file;
    ig_buf_init(&file, 0);
    pq_writer *w;
    assert_int_equal(pq_writer_new(&w, s, &o, pq_sink_buf(&file), NULL), 0);
    assert_int_equal(pq_writer_set_bloom(w, 0, true), 0);
    assert_int_equal(pq_writer_set_bloom(w, 1, true), 0);
    char tmp[64];
    for (int r = 0; r < 10000; r++) {
        int n = snprintf(tmp, sizeof tmp, "%016x%016x", r * 2654435761u, r);
        assert_int_equal(pq_put_bytes(w, 0, 0, tmp, (size_t)n), 0);
        assert_int_equal(pq_put_i64(w, 1, 0, (int64_t)r * 3), 0);
        assert_int_equal(pq_writer_maybe_flush(w, NULL), 0);
    }
    assert_int_equal(pq_writer_close(w, NULL, NULL), 0);
    pq_writer_free(w);
    /* ranged reads through a callback, counting reads */
    pq_file *f;
    assert_int_equal(pq_open_mem(&f, file.data, file.len, NULL, NULL), 0);
    assert_int_equal(f->nrgs, 2);
    assert_true(f->rgs[0].cols[0].bloom_offset > 0);
    for (int r = 0; r < 10000; r++) {
        int n = snprintf(tmp, sizeof tmp, "%016x%016x", r * 2654435761u, r);
        pq_pred p = {.col = 0, .op = PQ_OP_EQ, .s = {tmp, (size_t)n}};
        bool maybe;
        assert_int_equal(pq_bloom_check(f, (size_t)(r / 5000), &p, &maybe, NULL), 0);
        assert_true(maybe); /* no false negatives */
        pq_pred pi = {.col = 1, .op = PQ_OP_EQ, .i = (int64_t)r * 3};
        assert_int_equal(pq_bloom_check(f, (size_t)(r / 5000), &pi, &maybe, NULL), 0);
        assert_true(maybe);
    }
    int fp = 0;
    for (int r = 0; r < 10000; r++) {
        int n = snprintf(tmp, sizeof tmp, "absent-%d", r);
        pq_pred p = {.col = 0, .op = PQ_OP_EQ, .s = {tmp, (size_t)n}};
        bool maybe;
        assert_int_equal(pq_bloom_check(f, 0, &p, &maybe, NULL), 0);
        fp += maybe;
    }
    assert_true(fp < 300); /* ~1% target */
    pq_close(f);
    ig_buf_free(&file);
    pq_schema_free(s);
}

/* ---- Schema builder errors ---------------------------------------------------------- */

static void test_schema_errors(void **state)
{
    (void)state;
    pq_schema *s;
    ig_errbuf eb = {{0}};
    static const pq_field dup[] = {{.id = 1, .name = "a", .type = PQ_T_INT},
                                   {.id = 1, .name = "b", .type = PQ_T_INT}};
    assert_int_equal(pq_schema_build(dup, 2, &s, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "field id 1"));
    static const pq_field badlist[] = {{.id = 1, .name = "l", .type = PQ_T_LIST}};
    assert_int_equal(pq_schema_build(badlist, 1, &s, &eb), IG_EINVAL);
    static const pq_field badfixed[] = {{.id = 1, .name = "f", .type = PQ_T_FIXED}};
    assert_int_equal(pq_schema_build(badfixed, 1, &s, &eb), IG_EINVAL);
    static const pq_field noname[] = {{.id = 1, .type = PQ_T_INT}};
    assert_int_equal(pq_schema_build(noname, 1, &s, &eb), IG_EINVAL);
    /* required field null -> error naming the field, row rolled back */
    s = build_schema();
    ig_buf file;
    ig_buf_init(&file, 0);
    pq_writer *w;
    assert_int_equal(pq_writer_new(&w, s, NULL, pq_sink_buf(&file), NULL), 0);
    assert_int_equal(pq_writer_add_kv(w, "k", "v"), 0);
    ig_arena a;
    ig_arena_init(&a, 0);
    pq_value row;
    make_row(&a, 1, &row);
    row.items[4] = mk_null(); /* ts is required */
    assert_int_equal(pq_writer_append_row(w, &row, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "ts"));
    assert_int_equal(pq_writer_buffered_rows(w), 0);
    make_row(&a, 0, &row);
    assert_int_equal(pq_writer_append_row(w, &row, &eb), 0);
    assert_int_equal(pq_writer_close(w, NULL, &eb), 0);
    pq_writer_free(w);
    read_all_check(&file, 1, 0);
    ig_arena_free(&a);
    ig_buf_free(&file);
    pq_schema_free(s);
}

/* ---- Allocation failure injection --------------------------------------------------- */

static void test_alloc_failures(void **state)
{
    (void)state;
    pq_schema *s = build_schema();
    ig_buf good;
    write_rows(s, &(pq_writer_opts){.page_rows = 10}, 60, &good, NULL, 0);
    for (long n = 0; n < 400; n += 3) {
        /* writer */
        ig_buf file;
        ig_buf_init(&file, 0);
        ig_alloc_fail_after(n);
        pq_writer *w = NULL;
        int rc = pq_writer_new(&w, s, NULL, pq_sink_buf(&file), NULL);
        ig_arena a;
        ig_arena_init(&a, 0);
        for (int r = 0; r < 60 && rc == 0; r++) {
            ig_arena_reset(&a);
            pq_value row;
            make_row(&a, r, &row);
            if (!row.items)
                break;
            rc = pq_writer_append_row(w, &row, NULL);
        }
        if (rc == 0)
            rc = pq_writer_close(w, NULL, NULL);
        pq_writer_free(w);
        ig_arena_free(&a);
        ig_alloc_fail_reset();
        ig_buf_free(&file);
        /* reader */
        ig_alloc_fail_after(n);
        pq_file *f = NULL;
        rc = pq_open_mem(&f, good.data, good.len, NULL, NULL);
        if (rc == 0) {
            pq_colvec v;
            pq_colvec_init(&v);
            for (size_t c = 0; c < f->schema->ncols; c++)
                (void)pq_read_column(f, 0, c, NULL, 0, &v, NULL);
            pq_colvec_free(&v);
            pq_close(f);
        }
        ig_alloc_fail_reset();
    }
    ig_buf_free(&good);
    pq_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_matrix),
        cmocka_unit_test(test_write_result_metrics),
        cmocka_unit_test(test_flat_encodings),
        cmocka_unit_test(test_dict_fallback),
        cmocka_unit_test(test_stats_truncation),
        cmocka_unit_test(test_page_index_and_skipping),
        cmocka_unit_test(test_nested_selection),
        cmocka_unit_test(test_bloom_filter),
        cmocka_unit_test(test_schema_errors),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
