/* Hostile Parquet inputs: truncations, bit flips, bad offsets, absurd sizes. Every case
 * must return an error (or decode consistently), never crash, over-read or allocate
 * past the caps (ASan/UBSan build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/parquet.h"

static const pq_field kv[] = {{.id = 3, .name = "key", .required = true, .type = PQ_T_STRING},
                              {.id = 4, .name = "value", .type = PQ_T_STRING}};
static const pq_field el[] = {{.id = 6, .name = "element", .type = PQ_T_LONG}};
static const pq_field fields[] = {
    {.id = 1, .name = "s", .required = true, .type = PQ_T_STRING},
    {.id = 2, .name = "m", .type = PQ_T_MAP, .children = kv, .nchildren = 2},
    {.id = 5, .name = "l", .type = PQ_T_LIST, .children = el, .nchildren = 1},
    {.id = 7, .name = "ts", .type = PQ_T_TIMESTAMPTZ},
};

static void make_file(ig_buf *out, int page_version, pq_codec codec)
{
    pq_schema *s;
    assert_int_equal(pq_schema_build(fields, 4, &s, NULL), 0);
    pq_writer_opts o = {.page_version = page_version, .codec = codec, .codec_set = true,
                        .page_rows = 16};
    pq_writer *w;
    ig_buf_init(out, 0);
    assert_int_equal(pq_writer_new(&w, s, &o, pq_sink_buf(out), NULL), 0);
    assert_int_equal(pq_writer_set_bloom(w, 0, true), 0);
    char tmp[32];
    for (int r = 0; r < 50; r++) {
        int n = snprintf(tmp, sizeof tmp, "v%d", r % 7);
        assert_int_equal(pq_put_bytes(w, 0, 0, tmp, (size_t)n), 0);
        if (r % 3 == 0)
            assert_int_equal(pq_put_null(w, 1, 0, 0), 0);
        else {
            assert_int_equal(pq_put_bytes(w, 1, 0, "k", 1), 0);
            assert_int_equal(pq_put_bytes(w, 2, 0, tmp, (size_t)n), 0);
        }
        if (r % 3 == 0)
            assert_int_equal(pq_put_null(w, 2, 0, 0), 0);
        for (int k = 0; k < r % 3; k++)
            assert_int_equal(pq_put_i64(w, 3, k ? 1 : 0, r * 10 + k), 0);
        if (r % 3 == 0)
            assert_int_equal(pq_put_null(w, 3, 1, 0), 0); /* empty list */
        assert_int_equal(pq_put_i64(w, 4, 0, 1000 + r), 0);
    }
    assert_int_equal(pq_writer_close(w, NULL, NULL), 0);
    pq_writer_free(w);
    pq_schema_free(s);
}

/* Opens and reads everything; returns the first error (0 if all fine). */
static int exercise(const uint8_t *p, size_t n)
{
    uint8_t *exact = ig_malloc(n ? n : 1); /* exact-size copy: ASan sees over-reads */
    memcpy(exact, p, n);
    pq_reader_opts ro = {.max_page_bytes = 1 << 20, .max_vector_bytes = 16 << 20};
    pq_file *f;
    ig_errbuf eb = {{0}};
    int rc = pq_open_mem(&f, exact, n, &ro, &eb);
    if (rc == 0) {
        pq_colvec *v = ig_calloc(f->schema->ncols, sizeof *v);
        pq_colvec **pv = ig_calloc(f->schema->ncols, sizeof *pv);
        for (size_t g = 0; g < f->nrgs; g++) {
            bool ok = true;
            for (size_t c = 0; c < f->schema->ncols; c++) {
                pv[c] = &v[c];
                int r2 = pq_read_column(f, g, c, NULL, (c & 1) ? PQ_READ_KEEP_DICT : 0, &v[c], &eb);
                if (r2) {
                    rc = rc ? rc : r2;
                    ok = false;
                }
                pq_page_index pi;
                if (pq_read_page_index(f, g, c, &pi, NULL) == 0)
                    pq_page_index_free(&pi);
                pq_pred p1 = {.col = (int)c, .op = PQ_OP_EQ, .i = 3, .s = IG_STR("v3")};
                bool maybe;
                (void)pq_bloom_check(f, g, &p1, &maybe, NULL);
                (void)pq_rg_may_match(f, g, &p1);
                pq_rowsel sel = {0};
                if (pq_page_select(f, g, &p1, &sel, NULL) == 0 && sel.n)
                    (void)pq_read_column(f, g, c, &sel, 0, &v[c], NULL);
                pq_rowsel_free(&sel);
                if (ok)
                    (void)pq_read_column(f, g, c, NULL, 0, &v[c], NULL);
            }
            if (ok) {
                ig_arena a;
                ig_arena_init(&a, 1 << 20);
                int none(void *ctx, const pq_value *row);
                (void)pq_assemble(f->schema, pv, &a, none, NULL, NULL);
                ig_arena_free(&a);
            }
        }
        for (size_t c = 0; c < f->schema->ncols; c++)
            pq_colvec_free(&v[c]);
        ig_free(v);
        ig_free(pv);
        pq_close(f);
    }
    ig_free(exact);
    return rc;
}

int none(void *ctx, const pq_value *row)
{
    (void)ctx;
    (void)row;
    return 0;
}

static void test_valid_files(void **state)
{
    (void)state;
    for (int pv = 1; pv <= 2; pv++) {
        ig_buf b;
        make_file(&b, pv, pv == 1 ? PQ_CODEC_SNAPPY : PQ_CODEC_ZSTD);
        assert_int_equal(exercise((const uint8_t *)b.data, b.len), 0);
        ig_buf_free(&b);
    }
}

static void test_truncations(void **state)
{
    (void)state;
    ig_buf b;
    make_file(&b, 2, PQ_CODEC_ZSTD);
    for (size_t n = 0; n < b.len; n++)
        assert_int_not_equal(exercise((const uint8_t *)b.data, n), 0);
    /* a file cut in the middle whose tail is re-attached (offsets point past data) */
    ig_buf_free(&b);
}

static uint64_t rng = 1234567;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

static void test_bit_flips(void **state)
{
    (void)state;
    for (int pv = 1; pv <= 2; pv++) {
        ig_buf b;
        make_file(&b, pv, pv == 1 ? PQ_CODEC_UNCOMPRESSED : PQ_CODEC_SNAPPY);
        uint8_t *copy = ig_malloc(b.len);
        for (int iter = 0; iter < 3000; iter++) {
            memcpy(copy, b.data, b.len);
            int flips = 1 + (int)(rnd() % 4);
            for (int k = 0; k < flips; k++) {
                size_t at = rnd() % b.len;
                copy[at] = (uint8_t)(iter % 2 ? rnd() : copy[at] ^ (1u << (rnd() % 8)));
            }
            (void)exercise(copy, b.len); /* any result, no crash */
        }
        ig_free(copy);
        ig_buf_free(&b);
    }
}

static void test_bad_footers(void **state)
{
    (void)state;
    ig_buf b;
    make_file(&b, 2, PQ_CODEC_ZSTD);
    uint8_t *copy = ig_malloc(b.len);
    ig_errbuf eb = {{0}};
    pq_file *f;
    /* huge footer length */
    memcpy(copy, b.data, b.len);
    copy[b.len - 5] = 0x7f;
    assert_int_equal(pq_open_mem(&f, copy, b.len, NULL, &eb), IG_ECORRUPT);
    /* bad magic */
    memcpy(copy, b.data, b.len);
    copy[0] = 'X';
    assert_int_equal(pq_open_mem(&f, copy, b.len, NULL, &eb), IG_ECORRUPT);
    /* footer length 0 */
    memcpy(copy, b.data, b.len);
    memset(copy + b.len - 8, 0, 4);
    assert_int_equal(pq_open_mem(&f, copy, b.len, NULL, &eb), IG_ECORRUPT);
    /* footer cap */
    pq_reader_opts ro = {.max_footer_bytes = 16};
    assert_int_equal(pq_open_mem(&f, b.data, b.len, &ro, &eb), IG_ETOOBIG);
    /* tiny files */
    assert_int_equal(pq_open_mem(&f, "PAR1PAR1", 8, NULL, &eb), IG_ECORRUPT);
    assert_int_equal(pq_open_mem(&f, "PAR1\0\0\0\0PAR1", 12, NULL, &eb), IG_ECORRUPT);
    /* vector cap: reading a column into a tiny cap fails cleanly */
    pq_reader_opts small = {.max_vector_bytes = 64};
    assert_int_equal(pq_open_mem(&f, b.data, b.len, &small, &eb), 0);
    pq_colvec v;
    pq_colvec_init(&v);
    assert_int_equal(pq_read_column(f, 0, 0, NULL, 0, &v, &eb), IG_ETOOBIG);
    pq_colvec_free(&v);
    pq_close(f);
    /* encrypted footer magic */
    memcpy(copy, b.data, b.len);
    memcpy(copy + b.len - 4, "PARE", 4);
    assert_int_equal(pq_open_mem(&f, copy, b.len, NULL, &eb), IG_EUNSUPPORTED);
    ig_free(copy);
    ig_buf_free(&b);
}

static void test_bad_offsets(void **state)
{
    (void)state;
    /* Move the whole file by prepending bytes after the magic: every absolute offset in
     * the footer is now wrong (points at the wrong bytes but inside the file). */
    ig_buf b;
    make_file(&b, 1, PQ_CODEC_UNCOMPRESSED);
    ig_buf s;
    ig_buf_init(&s, 0);
    ig_buf_append(&s, "PAR1", 4);
    ig_buf_append(&s, "\x15\x00\x15\x00", 4);
    ig_buf_append(&s, b.data + 4, b.len - 4);
    (void)exercise((const uint8_t *)s.data, s.len);
    ig_buf_free(&s);
    ig_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_files),  cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_bit_flips),    cmocka_unit_test(test_bad_footers),
        cmocka_unit_test(test_bad_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
