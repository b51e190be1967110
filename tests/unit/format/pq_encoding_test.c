/* Parquet encodings: RLE hybrid, bit packing, DELTA_BINARY_PACKED, bloom, truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format/parquet/pq_internal.h"
#include "icegate/alloc.h"
#include "icegate/err.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void rle_roundtrip(const uint32_t *v, size_t n, int bw)
{
    ig_buf b;
    ig_buf_init(&b, 0);
    assert_int_equal(pq__rle_encode_u32(&b, v, n, bw), 0);
    uint32_t *out = ig_malloc((n + 1) * 4);
    size_t used = 0;
    uint32_t maxv = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
    assert_int_equal(pq__rle_decode_u32((const uint8_t *)b.data, b.len, bw, out, n, maxv, &used), 0);
    assert_memory_equal(out, v, n * 4);
    assert_true(used <= b.len);
    /* Every truncation that drops needed bytes fails (never reads past the end). */
    for (size_t cut = 0; cut < b.len && n > 0; cut += 1 + b.len / 50) {
        uint8_t *exact = ig_malloc(cut ? cut : 1); /* exact size: ASan catches over-reads */
        memcpy(exact, b.data, cut);
        memset(out, 0, n * 4);
        int rc = pq__rle_decode_u32(exact, cut, bw, out, n, maxv, &used);
        /* either an error, or (only padding was cut) the right values */
        if (rc == 0)
            assert_memory_equal(out, v, n * 4);
        else
            assert_int_equal(rc, IG_ECORRUPT);
        ig_free(exact);
    }
    ig_free(out);
    ig_buf_free(&b);
}

static void test_rle(void **state)
{
    (void)state;
    size_t n = 5000;
    uint32_t *v = ig_malloc(n * 4);
    for (int bw = 1; bw <= 32; bw++) {
        uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
        for (size_t i = 0; i < n; i++) {
            /* mix of runs and noise */
            if ((i / 37) % 3 == 0)
                v[i] = (uint32_t)(i / 37) & mask;
            else
                v[i] = (uint32_t)next_rand() & mask;
        }
        rle_roundtrip(v, n, bw);
        rle_roundtrip(v, 1, bw);
        rle_roundtrip(v, 7, bw);
        rle_roundtrip(v, 9, bw);
    }
    /* all equal -> a single RLE run */
    for (size_t i = 0; i < n; i++)
        v[i] = 3;
    ig_buf b;
    ig_buf_init(&b, 0);
    assert_int_equal(pq__rle_encode_u32(&b, v, n, 2), 0);
    assert_true(b.len <= 4);
    ig_buf_free(&b);
    ig_free(v);

    /* levels (int16) */
    int16_t lv[1000], out[1000];
    for (int i = 0; i < 1000; i++)
        lv[i] = (int16_t)((i % 11 == 0) ? 0 : (i % 3));
    ig_buf_init(&b, 0);
    assert_int_equal(pq__rle_encode_i16(&b, lv, 1000, 2), 0);
    assert_int_equal(pq__rle_decode_i16((const uint8_t *)b.data, b.len, 2, out, 1000, 2, NULL), 0);
    assert_memory_equal(out, lv, sizeof lv);
    /* values above the max level are rejected */
    assert_int_equal(pq__rle_decode_i16((const uint8_t *)b.data, b.len, 2, out, 1000, 1, NULL),
                     IG_ECORRUPT);
    ig_buf_free(&b);
}

static void test_bitpack(void **state)
{
    (void)state;
    uint64_t v[64], out[64];
    uint8_t buf[64 * 8 + 8];
    for (int bw = 0; bw <= 64; bw++) {
        uint64_t mask = bw == 64 ? ~0ULL : (1ULL << bw) - 1;
        for (int i = 0; i < 64; i++)
            v[i] = next_rand() & mask;
        memset(buf, 0, sizeof buf);
        pq__bitpack(buf, v, 64, bw);
        pq__bitunpack(buf, out, 64, bw);
        assert_memory_equal(v, out, sizeof v);
    }
    /* LSB-first layout from the spec: values 0..7 with width 3 */
    uint64_t s[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    pq__bitpack(buf, s, 8, 3);
    assert_int_equal(buf[0], 0x88);
    assert_int_equal(buf[1], 0xC6);
    assert_int_equal(buf[2], 0xFA);
}

static void delta_roundtrip(const int64_t *v, size_t n, bool is32)
{
    ig_buf b;
    ig_buf_init(&b, 0);
    assert_int_equal(pq__delta_encode(&b, v, n, is32), 0);
    int64_t *out = ig_malloc((n + 1) * 8);
    size_t cnt = 0, used = 0;
    assert_int_equal(pq__delta_decode((const uint8_t *)b.data, b.len, out, n, &cnt, &used, is32), 0);
    assert_int_equal(cnt, n);
    assert_int_equal(used, b.len);
    for (size_t i = 0; i < n; i++)
        assert_true(out[i] == v[i]);
    size_t c2;
    assert_int_equal(pq__delta_count((const uint8_t *)b.data, b.len, &c2), 0);
    assert_int_equal(c2, n);
    /* too small an output is refused */
    if (n > 1)
        assert_int_equal(pq__delta_decode((const uint8_t *)b.data, b.len, out, n - 1, &cnt, NULL, is32),
                         IG_ECORRUPT);
    /* truncations fail */
    for (size_t cut = 0; cut + 1 < b.len && n > 1; cut += 1 + b.len / 40) {
        uint8_t *exact = ig_malloc(cut ? cut : 1);
        memcpy(exact, b.data, cut);
        int rc = pq__delta_decode(exact, cut, out, n, &cnt, NULL, is32);
        if (rc == 0)
            for (size_t i = 0; i < n; i++)
                assert_true(out[i] == v[i]);
        ig_free(exact);
    }
    ig_free(out);
    ig_buf_free(&b);
}

static void test_delta(void **state)
{
    (void)state;
    int64_t edge[] = {INT64_MIN, INT64_MAX, 0, -1, INT64_MIN, INT64_MIN, INT64_MAX, 1, INT64_MAX};
    delta_roundtrip(edge, sizeof edge / 8, false);
    delta_roundtrip(edge, 1, false);
    delta_roundtrip(edge, 0, false);
    int64_t e32[] = {INT32_MIN, INT32_MAX, 0, -1, INT32_MIN, INT32_MAX, INT32_MAX, 7};
    delta_roundtrip(e32, sizeof e32 / 8, true);
    size_t n = 10000;
    int64_t *v = ig_malloc(n * 8);
    int64_t t = 1700000000000000LL;
    for (size_t i = 0; i < n; i++) {
        t += (int64_t)(next_rand() % 1000);
        v[i] = t;
    }
    delta_roundtrip(v, n, false);
    delta_roundtrip(v, 129, false);
    delta_roundtrip(v, 128, false);
    delta_roundtrip(v, 33, false);
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)next_rand();
    delta_roundtrip(v, n, false);
    for (size_t i = 0; i < n; i++)
        v[i] = (int32_t)next_rand();
    delta_roundtrip(v, n, true);
    /* sorted timestamps compress far below 8 bytes/value */
    ig_buf b;
    ig_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        v[i] = 1700000000000000LL + (int64_t)i * 1000;
    assert_int_equal(pq__delta_encode(&b, v, n, false), 0);
    assert_true(b.len < n / 4);
    ig_buf_free(&b);
    ig_free(v);
    /* hostile header: zero block size */
    const uint8_t bad[] = {0, 4, 10, 0};
    int64_t o[16];
    size_t cnt;
    assert_int_equal(pq__delta_decode(bad, sizeof bad, o, 16, &cnt, NULL, false), IG_ECORRUPT);
}

static void test_bloom(void **state)
{
    (void)state;
    size_t nb = pq__bloom_size(10000, 0.01, 1 << 20);
    assert_true(nb >= 10000 * 9 / 8 && (nb & (nb - 1)) == 0);
    uint8_t *bits = ig_calloc(1, nb);
    for (int i = 0; i < 10000; i++) {
        int64_t x = i * 7919;
        pq__bloom_insert(bits, nb, pq__hash(&x, 8));
    }
    for (int i = 0; i < 10000; i++) {
        int64_t x = i * 7919;
        assert_true(pq__bloom_check(bits, nb, pq__hash(&x, 8)));
    }
    int fp = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t x = -1 - i * 7919LL;
        fp += pq__bloom_check(bits, nb, pq__hash(&x, 8));
    }
    assert_true(fp < 2500); /* ~1% target; allow slack */
    ig_free(bits);
    /* xxHash64 of "" with seed 0 (reference value) */
    assert_true(pq__hash("", 0) == 0xEF46DB3751D8E999ULL);
}

static void test_truncate(void **state)
{
    (void)state;
    uint8_t dst[64];
    const char *s = "abcdefghij";
    assert_int_equal(pq_truncate_lower((const uint8_t *)s, 10, 4, false, dst), 4);
    assert_memory_equal(dst, "abcd", 4);
    assert_int_equal(pq_truncate_upper((const uint8_t *)s, 10, 4, false, dst), 4);
    assert_memory_equal(dst, "abce", 4);
    const uint8_t ff[] = {'a', 0xff, 0xff, 0xff, 1};
    assert_int_equal(pq_truncate_upper(ff, 5, 3, false, dst), 1);
    assert_int_equal(dst[0], 'b');
    const uint8_t all[] = {0xff, 0xff, 0xff};
    assert_int_equal(pq_truncate_upper(all, 3, 2, false, dst), 0);
    /* UTF-8: "aé€" = 61 C3 A9 E2 82 AC; cut at 4 bytes keeps "aé" */
    const uint8_t u[] = {0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0x62};
    assert_int_equal(pq_truncate_lower(u, 7, 4, true, dst), 3);
    assert_memory_equal(dst, u, 3);
    size_t n = pq_truncate_upper(u, 7, 4, true, dst);
    /* é (U+00E9) -> ê (U+00EA) */
    assert_int_equal(n, 3);
    assert_int_equal(dst[1], 0xC3);
    assert_int_equal(dst[2], 0xAA);
    /* the upper bound is greater than the original value */
    assert_true(memcmp(dst, u, 3) > 0);
    /* short values are kept */
    assert_int_equal(pq_truncate_upper(u, 3, 4, true, dst), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rle),   cmocka_unit_test(test_bitpack),
        cmocka_unit_test(test_delta), cmocka_unit_test(test_bloom),
        cmocka_unit_test(test_truncate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
