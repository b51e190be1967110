/* Capped decompression: round trips, bombs, garbage, truncation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "icegate/alloc.h"
#include "icegate/compress.h"

static void test_parse(void **state)
{
    assert_int_equal(ig_encoding_parse(NULL), IG_ENC_IDENTITY);
    assert_int_equal(ig_encoding_parse("GZIP"), IG_ENC_GZIP);
    assert_int_equal(ig_encoding_parse("deflate"), IG_ENC_DEFLATE);
    assert_int_equal(ig_encoding_parse("zstd"), IG_ENC_ZSTD);
    assert_int_equal(ig_encoding_parse("br"), IG_ENC_UNKNOWN);
}

static void test_gzip_roundtrip_and_cap(void **state)
{
    char text[5000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    ig_buf z, out;
    ig_buf_init(&z, 0);
    ig_buf_init(&out, 0);
    assert_int_equal(ig_gzip(ig_str_make(text, sizeof text), &z), 0);
    ig_errbuf eb;
    assert_int_equal(ig_decompress(IG_ENC_GZIP, ig_buf_str(&z), sizeof text, &out, &eb), 0);
    assert_int_equal(out.len, sizeof text);
    assert_memory_equal(out.data, text, sizeof text);
    assert_int_equal(ig_decompress(IG_ENC_GZIP, ig_buf_str(&z), sizeof text - 1, &out, &eb),
                     IG_ETOOBIG);
    /* truncated */
    z.len -= 10;
    assert_int_equal(ig_decompress(IG_ENC_GZIP, ig_buf_str(&z), 1 << 20, &out, &eb),
                     IG_ECORRUPT);
    assert_int_equal(ig_decompress(IG_ENC_GZIP, IG_STR("not gzip at all"), 1 << 20, &out, &eb),
                     IG_ECORRUPT);
    ig_buf_free(&z);
    ig_buf_free(&out);
}

static void test_bombs_stop_at_cap(void **state)
{
    /* 64 MiB of zeros compresses to ~64 KiB; the cap of 1 MiB must stop early. */
    size_t n = 64u << 20;
    char *zeros = ig_calloc(1, n);
    assert_non_null(zeros);
    ig_buf z, out;
    ig_buf_init(&z, 0);
    ig_buf_init(&out, 0);
    assert_int_equal(ig_gzip(ig_str_make(zeros, n), &z), 0);
    ig_errbuf eb;
    assert_int_equal(ig_decompress(IG_ENC_GZIP, ig_buf_str(&z), 1 << 20, &out, &eb), IG_ETOOBIG);
    assert_true(out.cap < (2u << 20)); /* never inflated the whole bomb */
    assert_non_null(strstr(eb.msg, "1048576"));
    size_t zb = ZSTD_compressBound(n);
    char *zc = ig_malloc(zb);
    size_t zn = ZSTD_compress(zc, zb, zeros, n, 3);
    ig_buf_free(&out);
    ig_buf_init(&out, 0);
    assert_int_equal(ig_decompress(IG_ENC_ZSTD, ig_str_make(zc, zn), 1 << 20, &out, &eb),
                     IG_ETOOBIG);
    assert_true(out.cap < (2u << 20));
    size_t sb = snappy_max_compressed_length(n);
    char *sc = ig_malloc(sb);
    assert_int_equal(snappy_compress(zeros, n, sc, &sb), SNAPPY_OK);
    assert_int_equal(ig_decompress(IG_ENC_SNAPPY, ig_str_make(sc, sb), 1 << 20, &out, &eb),
                     IG_ETOOBIG);
    ig_free(sc);
    ig_free(zc);
    ig_free(zeros);
    ig_buf_free(&z);
    ig_buf_free(&out);
}

static void test_zstd_deflate_snappy_roundtrip(void **state)
{
    const char *msg = "hello hello hello hello compressed world";
    size_t n = strlen(msg);
    ig_buf out;
    ig_buf_init(&out, 0);
    ig_errbuf eb;
    char zc[256];
    size_t zn = ZSTD_compress(zc, sizeof zc, msg, n, 1);
    assert_int_equal(ig_decompress(IG_ENC_ZSTD, ig_str_make(zc, zn), 1000, &out, &eb), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, msg, n);
    assert_int_equal(ig_decompress(IG_ENC_ZSTD, ig_str_make(zc, zn - 3), 1000, &out, &eb),
                     IG_ECORRUPT);
    /* zlib-wrapped and raw deflate */
    unsigned char dz[256];
    uLongf dl = sizeof dz;
    assert_int_equal(compress2(dz, &dl, (const Bytef *)msg, n, 6), Z_OK);
    assert_int_equal(ig_decompress(IG_ENC_DEFLATE, ig_str_make(dz, dl), 1000, &out, &eb), 0);
    assert_memory_equal(out.data, msg, n);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    unsigned char raw[256];
    zs.next_in = (Bytef *)msg;
    zs.avail_in = (uInt)n;
    zs.next_out = raw;
    zs.avail_out = sizeof raw;
    deflate(&zs, Z_FINISH);
    size_t rn = sizeof raw - zs.avail_out;
    deflateEnd(&zs);
    assert_int_equal(ig_decompress(IG_ENC_DEFLATE, ig_str_make(raw, rn), 1000, &out, &eb), 0);
    assert_memory_equal(out.data, msg, n);
    char sc[256];
    size_t sn = sizeof sc;
    snappy_compress(msg, n, sc, &sn);
    assert_int_equal(ig_decompress(IG_ENC_SNAPPY, ig_str_make(sc, sn), 1000, &out, &eb), 0);
    assert_memory_equal(out.data, msg, n);
    assert_int_equal(ig_decompress(IG_ENC_SNAPPY, IG_STR("\x05\x10" "ab"), 1000,
                                   &out, &eb),
                     IG_ECORRUPT);
    assert_int_equal(ig_decompress(IG_ENC_IDENTITY, IG_STR("12345"), 4, &out, &eb), IG_ETOOBIG);
    assert_int_equal(ig_decompress(IG_ENC_UNKNOWN, IG_STR("x"), 4, &out, &eb), IG_EUNSUPPORTED);
    ig_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse), cmocka_unit_test(test_gzip_roundtrip_and_cap),
        cmocka_unit_test(test_bombs_stop_at_cap),
        cmocka_unit_test(test_zstd_deflate_snappy_roundtrip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
