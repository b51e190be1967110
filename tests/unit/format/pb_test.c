/* Protobuf wire format: reader, writer, packed fields, groups, every error path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/pb.h"

#define S(lit) ig_str_make(lit, sizeof(lit) - 1)

/* Reads the single field of `in` and returns pb_next's result; *r is left on it. */
static int first(pb_reader *r, ig_str in, ig_errbuf *eb)
{
    pb_reader_init(r, in, eb);
    return pb_next(r);
}

static void test_varint_roundtrip(void **state)
{
    (void)state;
    static const uint64_t vals[] = {0,
                                    1,
                                    127,
                                    128,
                                    300,
                                    16383,
                                    16384,
                                    UINT32_MAX,
                                    (uint64_t)INT64_MAX,
                                    (uint64_t)INT64_MIN,
                                    UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        ig_buf b;
        ig_buf_init(&b, 64);
        pb_writer w;
        pb_writer_init(&w, &b);
        pb_put_varint(&w, 1, vals[i]);
        assert_int_equal(pb_writer_finish(&w), 0);
        assert_int_equal(b.len, 1 + pb_varint_size(vals[i]));
        pb_reader r;
        ig_errbuf eb;
        assert_int_equal(first(&r, ig_buf_str(&b), &eb), 1);
        assert_int_equal(r.field, 1);
        assert_int_equal(r.wire, PB_VARINT);
        uint64_t v = 42;
        assert_int_equal(pb_varint(&r, &v), 0);
        assert_true(v == vals[i]);
        assert_int_equal(pb_next(&r), 0);
        ig_buf_free(&b);
    }
    assert_int_equal(pb_varint_size(UINT64_MAX), 10);
    assert_int_equal(pb_varint_size(0), 1);
    assert_int_equal(pb_varint_size(127), 1);
    assert_int_equal(pb_varint_size(128), 2);
}

static void test_signed_and_typed(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 1024);
    pb_writer w;
    pb_writer_init(&w, &b);
    pb_put_int64(&w, 1, -1);
    pb_put_int64(&w, 2, INT64_MIN);
    pb_put_int64(&w, 3, INT64_MAX);
    pb_put_sint64(&w, 4, INT64_MIN);
    pb_put_sint64(&w, 5, INT64_MAX);
    pb_put_sint64(&w, 6, -1);
    pb_put_int64(&w, 7, -5); /* an int32 field holding -5: 10-byte varint */
    pb_put_bool(&w, 8, true);
    pb_put_fixed64(&w, 9, UINT64_MAX);
    pb_put_fixed32(&w, 10, 0xDEADBEEF);
    pb_put_double(&w, 11, -637.704);
    pb_put_float(&w, 12, 1.5f);
    pb_put_sint64(&w, 13, INT32_MIN);      /* sint32 */
    pb_put_varint(&w, 14, 0x1FFFFFFFFull); /* uint32 field: truncated */
    pb_put_bool(&w, 15, false);
    assert_int_equal(pb_writer_finish(&w), 0);

    pb_reader r;
    ig_errbuf eb;
    pb_reader_init(&r, ig_buf_str(&b), &eb);
    int64_t i64;
    int32_t i32;
    uint32_t u32;
    uint64_t u64;
    bool bo;
    double d;
    float f;
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_int64(&r, &i64), 0);
    assert_true(i64 == -1);
    assert_int_equal(r.p - r.tag, 11); /* tag + 10-byte varint */
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_int64(&r, &i64), 0);
    assert_true(i64 == INT64_MIN);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_int64(&r, &i64), 0);
    assert_true(i64 == INT64_MAX);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_sint64(&r, &i64), 0);
    assert_true(i64 == INT64_MIN);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_sint64(&r, &i64), 0);
    assert_true(i64 == INT64_MAX);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_sint64(&r, &i64), 0);
    assert_true(i64 == -1);
    assert_int_equal(r.p - r.tag, 2); /* zigzag(-1) = 1: one byte */
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_int32(&r, &i32), 0);
    assert_int_equal(i32, -5);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_bool(&r, &bo), 0);
    assert_true(bo);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_fixed64(&r, &u64), 0);
    assert_true(u64 == UINT64_MAX);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_fixed32(&r, &u32), 0);
    assert_true(u32 == 0xDEADBEEF);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_double(&r, &d), 0);
    assert_true(d == -637.704);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_float(&r, &f), 0);
    assert_true(f == 1.5f);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_sint32(&r, &i32), 0);
    assert_true(i32 == INT32_MIN);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_uint32(&r, &u32), 0);
    assert_true(u32 == UINT32_MAX);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_bool(&r, &bo), 0);
    assert_false(bo);
    assert_int_equal(pb_next(&r), 0);
    assert_int_equal(pb_next(&r), 0); /* stays at the end */
    ig_buf_free(&b);

    assert_true(pb_zigzag_enc64(0) == 0);
    assert_true(pb_zigzag_enc64(-1) == 1);
    assert_true(pb_zigzag_enc64(1) == 2);
    assert_true(pb_zigzag_enc64(INT64_MIN) == UINT64_MAX);
    assert_true(pb_zigzag_dec64(UINT64_MAX) == INT64_MIN);
    assert_true(pb_zigzag_enc32(INT32_MIN) == UINT32_MAX);
    assert_true(pb_zigzag_dec32(UINT32_MAX) == INT32_MIN);
    assert_true(pb_zigzag_dec32(4) == 2);
}

static void test_bytes_zero_copy(void **state)
{
    (void)state;
    /* field 1 "", field 2 "hi", field 536870911 "x" (5-byte tag) */
    static const char in[] = "\x0a\x00\x12\x02hi\xfa\xff\xff\xff\x0f\x01x";
    ig_str msg = ig_str_make(in, sizeof in - 1);
    pb_reader r;
    ig_errbuf eb;
    ig_str s;
    pb_reader_init(&r, msg, &eb);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(r.field, 1);
    assert_int_equal(pb_bytes(&r, &s), 0);
    assert_int_equal(s.len, 0);
    assert_ptr_equal(s.ptr, in + 2);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_bytes(&r, &s), 0);
    assert_ptr_equal(s.ptr, in + 4); /* a view into the input, not a copy */
    assert_true(ig_str_eq_cstr(s, "hi"));
    assert_int_equal(pb_field_offset(&r), 2);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(r.field, PB_MAX_FIELD);
    assert_int_equal(pb_bytes(&r, &s), 0);
    assert_true(ig_str_eq_cstr(s, "x"));
    assert_int_equal(pb_next(&r), 0);
    assert_int_equal(pb_remaining(&r), 0);
    /* reading a value twice is a caller error */
    pb_reader_init(&r, msg, &eb);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_bytes(&r, &s), 0);
    assert_int_equal(pb_bytes(&r, &s), IG_EINVAL);
    /* empty message */
    pb_reader_init(&r, IG_STR_NULL, &eb);
    assert_int_equal(pb_next(&r), 0);
}

static void test_strings_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t bad; /* SIZE_MAX: valid */
    } cases[] = {
        {"", SIZE_MAX},
        {"plain ascii text, longer than eight bytes", SIZE_MAX},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", SIZE_MAX},
        {"abcdefgh\xc0\x80", 8}, /* overlong NUL */
        {"\xe0\x9f\xbf", 0},     /* overlong 3-byte */
        {"ab\xed\xa0\x80", 2},   /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 0}, /* above U+10FFFF */
        {"\xf0\x8f\xbf\xbf", 0}, /* overlong 4-byte */
        {"abc\xe2\x82", 3},      /* truncated */
        {"\x80", 0},             /* lone continuation */
        {"0123456789\xff", 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_true(pb_utf8_invalid_at(ig_str_from(cases[i].s)) == cases[i].bad);

    ig_buf b;
    ig_buf_init(&b, 256);
    pb_writer w;
    pb_writer_init(&w, &b);
    pb_put_bytes(&w, 3, S("caf\xc3\xa9"));
    pb_put_bytes(&w, 4, S("ab\xff"));
    assert_int_equal(pb_writer_finish(&w), 0);
    pb_reader r;
    ig_errbuf eb;
    ig_str s;
    pb_reader_init(&r, ig_buf_str(&b), &eb);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_string(&r, &s), 0);
    assert_true(ig_str_eq_cstr(s, "caf\xc3\xa9"));
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_string(&r, &s), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "field 4 at byte 7: string is not valid UTF-8 (byte 0xff "
                                   "at byte 11)"));
    ig_buf_free(&b);
}

static void test_submessages_and_backpatch(void **state)
{
    (void)state;
    static char big[20000];
    memset(big, 'z', sizeof big);
    size_t sizes[] = {0, 5, 126, 127, 128, 300, 16383, 16384, 20000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ig_buf b;
        ig_buf_init(&b, 1 << 20);
        pb_writer w;
        pb_writer_init(&w, &b);
        pb_put_varint(&w, 7, 99);
        pb_put_begin(&w, 1); /* outer */
        pb_put_begin(&w, 2); /* inner */
        pb_put_bytes(&w, 3, ig_str_make(big, sizes[k]));
        pb_put_end(&w);
        pb_put_fixed32(&w, 4, 12345);
        pb_put_end(&w);
        pb_put_varint(&w, 8, 100);
        assert_int_equal(pb_writer_finish(&w), 0);
        /* canonical: every length uses its minimal varint */
        size_t inner = 1 + pb_varint_size(sizes[k]) + sizes[k];
        size_t outer = 1 + pb_varint_size(inner) + inner + 5;
        assert_int_equal(b.len, 2 + 1 + pb_varint_size(outer) + outer + 2);

        pb_reader r, o, in;
        ig_errbuf eb;
        uint64_t v;
        uint32_t u;
        ig_str s;
        pb_reader_init(&r, ig_buf_str(&b), &eb);
        assert_int_equal(pb_next(&r), 1);
        assert_int_equal(pb_varint(&r, &v), 0);
        assert_true(v == 99);
        assert_int_equal(pb_next(&r), 1);
        assert_int_equal(pb_sub(&r, &o), 0);
        assert_int_equal(o.depth, 1);
        assert_int_equal(pb_next(&o), 1);
        assert_int_equal(o.field, 2);
        assert_int_equal(pb_sub(&o, &in), 0);
        assert_int_equal(in.depth, 2);
        assert_int_equal(pb_next(&in), 1);
        assert_int_equal(pb_bytes(&in, &s), 0);
        assert_int_equal(s.len, sizes[k]);
        assert_true(s.len == 0 || memcmp(s.ptr, big, s.len) == 0);
        assert_int_equal(pb_next(&in), 0);
        assert_int_equal(pb_next(&o), 1);
        assert_int_equal(pb_fixed32(&o, &u), 0);
        assert_int_equal(u, 12345);
        assert_int_equal(pb_next(&o), 0);
        assert_int_equal(pb_next(&r), 1);
        assert_int_equal(pb_varint(&r, &v), 0);
        assert_true(v == 100);
        assert_int_equal(pb_next(&r), 0);
        ig_buf_free(&b);
    }
}

/* A message with one field of each wire type (and a group) followed by field 15; a reader
 * that only knows field 15 must skip the rest. */
static void test_skip_unknown(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 1024);
    pb_writer w;
    pb_writer_init(&w, &b);
    pb_put_varint(&w, 1, UINT64_MAX);
    pb_put_fixed64(&w, 2, 1);
    pb_put_bytes(&w, 3, S("skip me"));
    pb_put_fixed32(&w, 4, 1);
    pb_put_begin(&w, 5);
    pb_put_varint(&w, 1, 1);
    pb_put_end(&w);
    /* group 6 { varint 1; group 7 { bytes 2 } } */
    pb_put_tag(&w, 6, PB_SGROUP);
    pb_put_varint(&w, 1, 5);
    pb_put_tag(&w, 7, PB_SGROUP);
    pb_put_bytes(&w, 2, S("in group"));
    pb_put_tag(&w, 7, PB_EGROUP);
    pb_put_tag(&w, 6, PB_EGROUP);
    pb_put_bytes(&w, 15, S("found"));
    assert_int_equal(pb_writer_finish(&w), 0);

    pb_reader r;
    ig_errbuf eb;
    int rc, seen = 0, n = 0;
    pb_reader_init(&r, ig_buf_str(&b), &eb);
    while ((rc = pb_next(&r)) > 0) {
        n++;
        if (r.field == 15) {
            ig_str s;
            assert_int_equal(pb_bytes(&r, &s), 0);
            assert_true(ig_str_eq_cstr(s, "found"));
            seen = 1;
        } else if (r.field == 6) {
            assert_int_equal(r.wire, PB_SGROUP);
            uint64_t v;
            assert_int_equal(pb_varint(&r, &v), IG_ECORRUPT); /* groups are not values */
            assert_int_equal(pb_skip(&r), 0);
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(seen, 1);
    assert_int_equal(n, 7);
    ig_buf_free(&b);
}

/* Expects decoding `in` (walking every field, skipping values) to fail with code and an
 * error message containing each of the given fragments. */
static void expect_err(const char *in, size_t n, int code, const char *frag1, const char *frag2)
{
    pb_reader r;
    ig_errbuf eb;
    memset(&eb, 0, sizeof eb);
    pb_reader_init(&r, ig_str_make(in, n), &eb);
    int rc;
    while ((rc = pb_next(&r)) > 0)
        ;
    if (rc != code || (frag1 && !strstr(eb.msg, frag1)) || (frag2 && !strstr(eb.msg, frag2)))
        fail_msg("rc %d (want %d), message \"%s\" (want \"%s\", \"%s\")", rc, code, eb.msg,
                 frag1 ? frag1 : "", frag2 ? frag2 : "");
}
#define EXPECT_ERR(lit, code, f1, f2) expect_err(lit, sizeof(lit) - 1, code, f1, f2)

static void test_errors(void **state)
{
    (void)state;
    /* truncated tag */
    EXPECT_ERR("\x08\x01\x80", IG_ECORRUPT, "tag varint truncated", "at byte 2");
    /* field number 0 */
    EXPECT_ERR("\x08\x01\x00\x01", IG_ECORRUPT, "field number 0", "at byte 2");
    EXPECT_ERR("\x02\x00", IG_ECORRUPT, "field number 0", "at byte 0");
    /* tag above 32 bits */
    EXPECT_ERR("\x80\x80\x80\x80\x80\x01", IG_ECORRUPT, "above 32 bits", "at byte 0");
    /* wire types 6, 7, lone end-group */
    EXPECT_ERR("\x0e", IG_ECORRUPT, "field 1 at byte 0", "wire type 6");
    EXPECT_ERR("\x08\x00\x17", IG_ECORRUPT, "field 2 at byte 2", "wire type 7");
    EXPECT_ERR("\x0c", IG_ECORRUPT, "field 1 at byte 0", "end-group without");
    /* truncated varint value */
    EXPECT_ERR("\x08\xff\xff", IG_ECORRUPT, "field 1 at byte 1", "truncated");
    /* 11-byte varint, and a 10-byte one whose last byte overflows 64 bits */
    EXPECT_ERR("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", IG_ECORRUPT, "field 1",
               "longer than 10 bytes");
    EXPECT_ERR("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", IG_ECORRUPT, "field 1",
               "over 64 bits");
    /* length past the end */
    EXPECT_ERR("\x08\x01\x12\x05"
               "ab",
               IG_ECORRUPT, "field 2 at byte 2", "length 5");
    EXPECT_ERR("\x12\xff\xff\xff\xff\xff\xff\xff\xff\x7f", IG_ECORRUPT, "field 2",
               "exceeds the 0 bytes left");
    EXPECT_ERR("\x12\x80", IG_ECORRUPT, "field 2", "length varint truncated");
    /* truncated fixed values */
    EXPECT_ERR("\x09\x01\x02\x03", IG_ECORRUPT, "field 1 at byte 0", "needs 8 bytes, 3 left");
    EXPECT_ERR("\x15\x01", IG_ECORRUPT, "field 2 at byte 0", "needs 4 bytes, 1 left");
    /* groups: unterminated, mismatched end, bad wire type inside */
    EXPECT_ERR("\x0b\x10\x01", IG_ECORRUPT, "field 1 at byte 0", "group not terminated");
    EXPECT_ERR("\x0b\x14", IG_ECORRUPT, "field 2 at byte 1", "start-group of field 1");
    EXPECT_ERR("\x0b\x16", IG_ECORRUPT, "field 2 at byte 1", "invalid wire type 6");
    EXPECT_ERR("\x0b\x00", IG_ECORRUPT, "field number 0", "at byte 1");

    /* value readers on truncated data */
    pb_reader r;
    ig_errbuf eb;
    uint64_t v;
    uint32_t u;
    ig_str s;
    assert_int_equal(first(&r, S("\x09\x01\x02"), &eb), 1);
    assert_int_equal(pb_fixed64(&r, &v), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "needs 8 bytes, 2 left"));
    assert_int_equal(first(&r, S("\x0d\x01"), &eb), 1);
    assert_int_equal(pb_fixed32(&r, &u), IG_ECORRUPT);
    assert_int_equal(first(&r, S("\x0a\x03xy"), &eb), 1);
    assert_int_equal(pb_bytes(&r, &s), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "field 1 at byte 0: length 3 exceeds the 2 bytes left"));
    assert_int_equal(first(&r, S("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00"), &eb), 1);
    assert_int_equal(pb_varint(&r, &v), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "field 1: value varint longer than 10 bytes"));
    /* wire type mismatch names both types */
    assert_int_equal(first(&r, S("\x08\x01"), &eb), 1);
    assert_int_equal(pb_bytes(&r, &s), IG_ECORRUPT);
    assert_non_null(
        strstr(eb.msg, "field 1 at byte 0: wire type varint, expected length-delimited"));
    assert_int_equal(first(&r, S("\x0a\x00"), &eb), 1);
    assert_int_equal(pb_fixed32(&r, &u), IG_ECORRUPT);
    assert_int_equal(pb_fixed64(&r, &v), IG_ECORRUPT);
    assert_int_equal(pb_varint(&r, &v), IG_ECORRUPT);
    /* a sub-message whose content is malformed fails inside, with the absolute offset */
    pb_reader sub;
    assert_int_equal(first(&r, S("\x08\x01\x12\x02\x08\x80"), &eb), 1);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(pb_sub(&r, &sub), 0);
    assert_int_equal(pb_next(&sub), 1);
    assert_int_equal(pb_varint(&sub, &v), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "at byte 5"));
    /* NULL errbuf is allowed */
    pb_reader_init(&r, S("\x00"), NULL);
    assert_int_equal(pb_next(&r), IG_ECORRUPT);
}

static void test_depth_limit(void **state)
{
    (void)state;
    for (int depth = PB_MAX_DEPTH; depth <= PB_MAX_DEPTH + 1; depth++) {
        ig_buf b;
        ig_buf_init(&b, 4096);
        pb_writer w;
        pb_writer_init(&w, &b);
        for (int i = 0; i < depth && i < PB_MAX_DEPTH; i++)
            pb_put_begin(&w, 1);
        if (depth > PB_MAX_DEPTH) { /* the writer refuses to go deeper: add by hand */
            pb_put_begin(&w, 1);
            assert_int_equal(w.rc, IG_EINVAL);
            w.rc = 0;
            pb_put_bytes(&w, 1, IG_STR(""));
        }
        for (int i = 0; i < depth && i < PB_MAX_DEPTH; i++)
            pb_put_end(&w);
        assert_int_equal(pb_writer_finish(&w), 0);
        /* descend: every level holds one sub-message in field 1 */
        pb_reader rs[PB_MAX_DEPTH + 2];
        ig_errbuf eb;
        pb_reader_init(&rs[0], ig_buf_str(&b), &eb);
        int rc = 0, i;
        for (i = 0; i < depth; i++) {
            assert_int_equal(pb_next(&rs[i]), 1);
            rc = pb_sub(&rs[i], &rs[i + 1]);
            if (rc)
                break;
        }
        if (depth <= PB_MAX_DEPTH) {
            assert_int_equal(rc, 0);
            assert_int_equal(pb_next(&rs[depth]), 0);
        } else {
            assert_int_equal(rc, IG_ECORRUPT);
            assert_int_equal(i, PB_MAX_DEPTH);
            assert_non_null(strstr(eb.msg, "nested deeper than 64"));
        }
        ig_buf_free(&b);
    }
    /* nested groups are bounded too */
    char in[2 * (PB_MAX_DEPTH + 2)];
    for (size_t i = 0; i < sizeof in / 2; i++)
        in[i] = 0x0b; /* start-group field 1 */
    for (size_t i = sizeof in / 2; i < sizeof in; i++)
        in[i] = 0x0c; /* end-group field 1 */
    expect_err(in, sizeof in, IG_ECORRUPT, "groups nested deeper", NULL);
    expect_err(in + 4, sizeof in - 8, 0, NULL, NULL); /* 62 levels: fine */
}

static void test_packed(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 4096);
    pb_writer w;
    pb_writer_init(&w, &b);
    pb_put_begin(&w, 1); /* packed varints */
    pb_put_raw_varint(&w, 0);
    pb_put_raw_varint(&w, 300);
    pb_put_raw_varint(&w, UINT64_MAX);
    pb_put_end(&w);
    pb_put_varint(&w, 1, 7); /* unpacked element of the same field */
    pb_put_begin(&w, 2);     /* packed fixed64 (histogram bucket counts) */
    pb_put_raw_fixed64(&w, 1);
    pb_put_raw_fixed64(&w, UINT64_MAX);
    pb_put_end(&w);
    pb_put_fixed64(&w, 2, 3);
    pb_put_begin(&w, 3); /* packed fixed32 */
    pb_put_raw_fixed32(&w, 5);
    pb_put_end(&w);
    pb_put_begin(&w, 4); /* empty packed */
    pb_put_end(&w);
    assert_int_equal(pb_writer_finish(&w), 0);

    uint64_t vals[8], f64[8];
    uint32_t f32[4];
    size_t nv = 0, nf = 0, n32 = 0, empty = 0;
    pb_reader r;
    ig_errbuf eb;
    pb_packed it;
    int rc;
    pb_reader_init(&r, ig_buf_str(&b), &eb);
    while ((rc = pb_next(&r)) > 0) {
        switch (r.field) {
        case 1:
            assert_int_equal(pb_packed_begin(&r, &it, PB_VARINT), 0);
            if (nv == 0)
                assert_int_equal(pb_packed_count(&it), 3);
            while ((rc = pb_packed_varint(&it, &vals[nv])) > 0)
                nv++;
            assert_int_equal(rc, 0);
            break;
        case 2:
            assert_int_equal(pb_packed_begin(&r, &it, PB_I64), 0);
            if (nf == 0)
                assert_int_equal(pb_packed_count(&it), 2);
            while ((rc = pb_packed_fixed64(&it, &f64[nf])) > 0)
                nf++;
            assert_int_equal(rc, 0);
            break;
        case 3:
            assert_int_equal(pb_packed_begin(&r, &it, PB_I32), 0);
            assert_int_equal(pb_packed_varint(&it, &vals[7]), IG_EINVAL); /* wrong reader */
            while ((rc = pb_packed_fixed32(&it, &f32[n32])) > 0)
                n32++;
            break;
        case 4:
            assert_int_equal(pb_packed_begin(&r, &it, PB_VARINT), 0);
            assert_int_equal(pb_packed_count(&it), 0);
            assert_int_equal(pb_packed_varint(&it, &vals[7]), 0);
            empty = 1;
            break;
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(nv, 4);
    assert_true(vals[0] == 0 && vals[1] == 300 && vals[2] == UINT64_MAX && vals[3] == 7);
    assert_int_equal(nf, 3);
    assert_true(f64[0] == 1 && f64[1] == UINT64_MAX && f64[2] == 3);
    assert_int_equal(n32, 1);
    assert_int_equal(f32[0], 5);
    assert_int_equal(empty, 1);
    ig_buf_free(&b);

    /* errors */
    assert_int_equal(first(&r, S("\x0a\x03\x01\x02\x03"), &eb), 1);
    assert_int_equal(pb_packed_begin(&r, &it, PB_I64), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "length 3 is not a multiple of 8"));
    assert_int_equal(first(&r, S("\x0a\x02\x01\x80"), &eb), 1);
    assert_int_equal(pb_packed_begin(&r, &it, PB_VARINT), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "truncated varint"));
    assert_int_equal(first(&r, S("\x0a\x0b\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), &eb), 1);
    assert_int_equal(pb_packed_begin(&r, &it, PB_VARINT), 0);
    uint64_t v;
    assert_int_equal(pb_packed_varint(&it, &v), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "packed element varint longer than 10 bytes"));
    assert_int_equal(first(&r, S("\x0d\x01\x00\x00\x00"), &eb), 1);
    assert_int_equal(pb_packed_begin(&r, &it, PB_I64), IG_ECORRUPT); /* fixed32 != I64 */
    assert_int_equal(first(&r, S("\x0d\x01\x00\x00\x00"), &eb), 1);
    assert_int_equal(pb_packed_begin(&r, &it, PB_LEN), IG_EINVAL);
    assert_int_equal(first(&r, S("\x08\x80"), &eb), 1);
    assert_int_equal(pb_packed_begin(&r, &it, PB_VARINT), IG_ECORRUPT);
}

static void test_writer_limits(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 8);
    pb_writer w;
    pb_writer_init(&w, &b);
    pb_put_bytes(&w, 1, S("12345"));
    assert_int_equal(pb_writer_finish(&w), 0);
    assert_int_equal(b.len, 7);
    pb_put_bytes(&w, 2, S("67890"));
    assert_int_equal(pb_writer_finish(&w), IG_ETOOBIG);
    pb_put_varint(&w, 3, 1); /* no-op after the error */
    assert_int_equal(b.len, 7);
    ig_buf_free(&b);

    /* widening a length placeholder past the cap */
    ig_buf_init(&b, 130);
    pb_writer_init(&w, &b);
    pb_put_begin(&w, 1);
    static char pad[127];
    pb_put_raw(&w, pad, sizeof pad); /* 2 + 127 = 129 bytes; the length needs 2 bytes */
    pb_put_raw(&w, pad, 1);
    pb_put_end(&w);
    assert_int_equal(pb_writer_finish(&w), IG_ETOOBIG);
    ig_buf_free(&b);

    /* misuse */
    ig_buf_init(&b, 0);
    pb_writer_init(&w, &b);
    pb_put_varint(&w, 0, 1);
    assert_int_equal(pb_writer_finish(&w), IG_EINVAL);
    pb_writer_init(&w, &b);
    pb_put_varint(&w, PB_MAX_FIELD + 1, 1);
    assert_int_equal(pb_writer_finish(&w), IG_EINVAL);
    pb_writer_init(&w, &b);
    pb_put_end(&w);
    assert_int_equal(pb_writer_finish(&w), IG_EINVAL);
    pb_writer_init(&w, &b);
    pb_put_begin(&w, 1);
    assert_int_equal(pb_writer_finish(&w), IG_EINVAL); /* unbalanced */
    ig_buf_free(&b);

    /* allocation failure is reported, not fatal */
    ig_buf_init(&b, 0);
    pb_writer_init(&w, &b);
    ig_alloc_fail_after(0);
    pb_put_varint(&w, 1, 1);
    ig_alloc_fail_reset();
    assert_int_equal(pb_writer_finish(&w), IG_ENOMEM);
    ig_buf_free(&b);
}

static void test_responses(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 1024);
    assert_int_equal(pb_encode_export_response(&b, 0, IG_STR_NULL), 0);
    assert_int_equal(b.len, 0);
    assert_non_null(b.data);
    assert_int_equal(pb_encode_export_response(&b, 3, S("3 spans without start time")), 0);
    pb_reader r, ps;
    ig_errbuf eb;
    pb_reader_init(&r, ig_buf_str(&b), &eb);
    assert_int_equal(pb_next(&r), 1);
    assert_int_equal(r.field, 1);
    assert_int_equal(pb_sub(&r, &ps), 0);
    int64_t rej = 0;
    ig_str msg = IG_STR_NULL;
    int rc;
    while ((rc = pb_next(&ps)) > 0) {
        if (ps.field == 1)
            assert_int_equal(pb_int64(&ps, &rej), 0);
        else if (ps.field == 2)
            assert_int_equal(pb_bytes(&ps, &msg), 0);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rej, 3);
    assert_true(ig_str_eq_cstr(msg, "3 spans without start time"));
    assert_int_equal(pb_next(&r), 0);

    /* google.rpc.Status{code: 8, message: "..."}: protoc --encode gives 08 08 12 03 "abc" */
    ig_buf_reset(&b);
    assert_int_equal(pb_encode_rpc_status(&b, 8, S("abc")), 0);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data,
                        "\x08\x08\x12\x03"
                        "abc",
                        7);
    ig_buf_reset(&b);
    assert_int_equal(pb_encode_rpc_status(&b, -1, S("")), 0); /* negative int32: 10 bytes */
    assert_int_equal(b.len, 11);
    ig_buf_free(&b);

    ig_buf_init(&b, 4);
    assert_int_equal(pb_encode_rpc_status(&b, 3, S("too long")), IG_ETOOBIG);
    ig_buf_free(&b);
}

/* The OTLP example (opentelemetry-proto examples/logs.json, encoded by protoc): walk the
 * LogsData tree and check the values of the one log record. */
static void test_otlp_logs_example(void **state)
{
    (void)state;
    FILE *f = fopen("tests/fuzz/corpus/pb/otlp-logs.pb", "rb");
    assert_non_null(f);
    static char data[4096];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    assert_true(n > 100 && n < sizeof data);

    pb_reader req, rl, sl, lr, sub;
    ig_errbuf eb;
    int records = 0, attrs = 0;
    pb_reader_init(&req, ig_str_make(data, n), &eb);
    while (pb_next(&req) > 0) {
        assert_int_equal(req.field, 1);
        assert_int_equal(pb_sub(&req, &rl), 0);
        while (pb_next(&rl) > 0) {
            if (rl.field != 2)
                continue;
            assert_int_equal(pb_sub(&rl, &sl), 0);
            while (pb_next(&sl) > 0) {
                if (sl.field != 2)
                    continue;
                assert_int_equal(pb_sub(&sl, &lr), 0);
                records++;
                int rc;
                while ((rc = pb_next(&lr)) > 0) {
                    uint64_t v;
                    ig_str s;
                    switch (lr.field) {
                    case 1:
                    case 11:
                        assert_int_equal(pb_fixed64(&lr, &v), 0);
                        assert_true(v == 1544712660300000000ull);
                        break;
                    case 2:
                        assert_int_equal(pb_varint(&lr, &v), 0);
                        assert_true(v == 10);
                        break;
                    case 3:
                        assert_int_equal(pb_bytes(&lr, &s), 0);
                        assert_true(ig_str_eq_cstr(s, "Information"));
                        break;
                    case 5:
                        assert_int_equal(pb_sub(&lr, &sub), 0);
                        assert_int_equal(pb_next(&sub), 1);
                        assert_int_equal(pb_bytes(&sub, &s), 0);
                        assert_true(ig_str_eq_cstr(s, "Example log record"));
                        break;
                    case 6:
                        attrs++;
                        break;
                    case 9:
                        assert_int_equal(pb_bytes(&lr, &s), 0);
                        assert_int_equal(s.len, 16);
                        assert_memory_equal(s.ptr, "\x5B\x8E\xFF\xF7\x98\x03\x81\x03", 8);
                        break;
                    case 10:
                        assert_int_equal(pb_bytes(&lr, &s), 0);
                        assert_int_equal(s.len, 8);
                        break;
                    }
                }
                assert_int_equal(rc, 0);
            }
        }
    }
    assert_int_equal(records, 1);
    assert_int_equal(attrs, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_roundtrip),
        cmocka_unit_test(test_signed_and_typed),
        cmocka_unit_test(test_bytes_zero_copy),
        cmocka_unit_test(test_strings_utf8),
        cmocka_unit_test(test_submessages_and_backpatch),
        cmocka_unit_test(test_skip_unknown),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_packed),
        cmocka_unit_test(test_writer_limits),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_otlp_logs_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
