/* JSON reader, number conversion, writer, base64/hex; OTLP/JSON vs OTLP/protobuf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/json.h"
#include "icegate/pb.h"

#define S(lit) ig_str_make(lit, sizeof(lit) - 1)

static void test_tokens(void **state)
{
    (void)state;
    static const char in[] =
        " {\"a\" : [1, -2.5e3, \"x\", true, false, null, {}, []], \"b\":{\"c\":0}}\r\n\t";
    /* clang-format off */
    static const struct {
        int type;
        const char *str;
        size_t off;
    } want[] = {
        {JSON_OBJ, "{", 1},       {JSON_KEY, "a", 2},        {JSON_ARR, "[", 8},
        {JSON_NUMBER, "1", 9},    {JSON_NUMBER, "-2.5e3", 12}, {JSON_STRING, "x", 20},
        {JSON_TRUE, "true", 25},  {JSON_FALSE, "false", 31}, {JSON_NULL, "null", 38},
        {JSON_OBJ, "{", 44},      {JSON_OBJ_END, "}", 45},   {JSON_ARR, "[", 48},
        {JSON_ARR_END, "]", 49},  {JSON_ARR_END, "]", 50},   {JSON_KEY, "b", 53},
        {JSON_OBJ, "{", 57},      {JSON_KEY, "c", 58},       {JSON_NUMBER, "0", 62},
        {JSON_OBJ_END, "}", 63},  {JSON_OBJ_END, "}", 64},
    };
    /* clang-format on */
    json_reader r;
    ig_errbuf eb;
    json_tok t;
    json_reader_init(&r, S(in), &eb);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(json_next(&r, &t), 1);
        assert_int_equal(t.type, want[i].type);
        assert_true(ig_str_eq_cstr(t.str, want[i].str));
        assert_int_equal(t.off, want[i].off);
    }
    assert_int_equal(json_next(&r, &t), 0);
    assert_int_equal(t.type, JSON_EOF);
    assert_int_equal(json_next(&r, &t), 0);
    assert_int_equal(json_end(&r), 0);
    json_reader_free(&r);

    /* top-level scalars */
    const char *scalars[] = {"\"abc\"", " 123 ", "null", "-0", "true", "[]", "{}"};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        json_reader_init(&r, ig_str_from(scalars[i]), &eb);
        assert_int_equal(json_skip(&r), 0);
        assert_int_equal(json_end(&r), 0);
        json_reader_free(&r);
    }
}

static void test_helpers(void **state)
{
    (void)state;
    static const char in[] = "{\"name\":\"svc\",\"n\":\"1544712660300000000\",\"d\":637.704,"
                             "\"list\":[1,2,3],\"skip\":{\"x\":[{},[[]],\"\\u00e9\"]},"
                             "\"flag\":true,\"none\":null,\"u\":18446744073709551615}";
    json_reader r;
    ig_errbuf eb;
    ig_str key, s;
    json_reader_init(&r, S(in), &eb);
    assert_int_equal(json_obj_begin(&r), 0);
    int rc, keys = 0;
    int64_t sum = 0;
    while ((rc = json_obj_next_key(&r, &key)) > 0) {
        keys++;
        if (ig_str_eq_cstr(key, "name")) {
            assert_int_equal(json_str(&r, &s), 0);
            assert_true(ig_str_eq_cstr(s, "svc"));
            assert_ptr_equal(s.ptr, in + 9); /* zero-copy */
        } else if (ig_str_eq_cstr(key, "n")) {
            int64_t v;
            assert_int_equal(json_i64(&r, &v), 0);
            assert_true(v == 1544712660300000000LL);
        } else if (ig_str_eq_cstr(key, "d")) {
            double d;
            assert_int_equal(json_f64(&r, &d), 0);
            assert_true(d == 637.704);
        } else if (ig_str_eq_cstr(key, "list")) {
            assert_int_equal(json_arr_begin(&r), 0);
            while ((rc = json_arr_next(&r)) > 0) {
                int64_t v;
                assert_int_equal(json_i64(&r, &v), 0);
                sum += v;
            }
            assert_int_equal(rc, 0);
        } else if (ig_str_eq_cstr(key, "flag")) {
            bool b = false;
            assert_int_equal(json_bool(&r, &b), 0);
            assert_true(b);
        } else if (ig_str_eq_cstr(key, "none")) {
            assert_int_equal(json_peek(&r), JSON_NULL);
            assert_int_equal(json_null(&r), 1);
        } else if (ig_str_eq_cstr(key, "u")) {
            assert_int_equal(json_null(&r), 0); /* not null: nothing consumed */
            uint64_t u;
            assert_int_equal(json_u64(&r, &u), 0);
            assert_true(u == UINT64_MAX);
        } else {
            assert_true(ig_str_eq_cstr(key, "skip"));
            ig_str raw;
            assert_int_equal(json_raw(&r, &raw), 0);
            assert_true(ig_str_eq_cstr(raw, "{\"x\":[{},[[]],\"\\u00e9\"]}"));
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(keys, 8);
    assert_int_equal(sum, 6);
    assert_int_equal(json_depth(&r), 0);
    assert_int_equal(json_end(&r), 0);
    json_reader_free(&r);

    /* empty containers */
    json_reader_init(&r, S("[ {  } , [ ] ]"), &eb);
    assert_int_equal(json_arr_begin(&r), 0);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_arr_next(&r), 1); /* idempotent until the element is read */
    assert_int_equal(json_obj_begin(&r), 0);
    assert_int_equal(json_obj_next_key(&r, &key), 0);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_arr_begin(&r), 0);
    assert_int_equal(json_arr_next(&r), 0);
    assert_int_equal(json_arr_next(&r), 0);
    assert_int_equal(json_end(&r), 0);
    json_reader_free(&r);
}

static void test_strings(void **state)
{
    (void)state;
    json_reader r;
    ig_errbuf eb;
    ig_str key, s;
    json_tok t;
    /* every escape; key and value both escaped: the key stays valid */
    json_reader_init(&r,
                     S("{\"k\\u00e9y\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00"
                       "\\u0000z\"}"),
                     &eb);
    assert_int_equal(json_obj_begin(&r), 0);
    assert_int_equal(json_obj_next_key(&r, &key), 1);
    assert_int_equal(json_str(&r, &s), 0);
    assert_true(ig_str_eq_cstr(key, "k\xc3\xa9y"));
    static const char want[] = "\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z";
    assert_int_equal(s.len, sizeof want - 1);
    assert_memory_equal(s.ptr, want, sizeof want - 1);
    assert_int_equal(json_obj_next_key(&r, &key), 0);
    json_reader_free(&r);

    /* UTF-8 passes through untouched and zero-copy, including across 8-byte blocks */
    static const char utf[] = "\"abcdefg\xc3\xa9hijklmn\xe2\x82\xac\xf0\x9f\x98\x80 DEL\x7f\"";
    json_reader_init(&r, S(utf), &eb);
    assert_int_equal(json_next(&r, &t), 1);
    assert_false(t.escaped);
    assert_ptr_equal(t.str.ptr, utf + 1);
    assert_int_equal(t.str.len, sizeof utf - 3);
    json_reader_free(&r);

    /* lone surrogates: error by default, U+FFFD with the flag */
    const char *lone[] = {"\"\\ud800\"", "\"a\\ud800\\u0041\"", "\"\\udc00\"", "\"\\ud800\\ud800\"",
                          "\"\\uDBFF\\n\""};
    for (size_t i = 0; i < sizeof lone / sizeof lone[0]; i++) {
        json_reader_init(&r, ig_str_from(lone[i]), &eb);
        assert_int_equal(json_str(&r, &s), IG_ECORRUPT);
        assert_non_null(strstr(eb.msg, "lone UTF-16 surrogate"));
        json_reader_free(&r);
        json_reader_init(&r, ig_str_from(lone[i]), &eb);
        r.flags = JSON_LONE_SURROGATE_FFFD;
        assert_int_equal(json_str(&r, &s), 0);
        assert_non_null(memmem(s.ptr, s.len, "\xef\xbf\xbd", 3));
        json_reader_free(&r);
    }
    json_reader_init(&r, S("\"a\\ud800\\u0041\""), &eb);
    r.flags = JSON_LONE_SURROGATE_FFFD;
    assert_int_equal(json_str(&r, &s), 0);
    assert_true(ig_str_eq_cstr(s, "a\xef\xbf\xbd"
                                  "A"));
    json_reader_free(&r);

    /* invalid UTF-8, control characters, bad escapes: error with the offset */
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
        {"\"ab\xc0\x80\"", "invalid UTF-8 (byte 0xc0) in string at byte 3"},
        {"\"\xe0\x80\x80\"", "invalid UTF-8 (byte 0xe0) in string at byte 1"},
        {"\"\xed\xa0\x80\"", "invalid UTF-8 (byte 0xed) in string at byte 1"},
        {"\"\xf4\x90\x80\x80\"", "invalid UTF-8 (byte 0xf4) in string at byte 1"},
        {"\"\xf0\x8f\xbf\xbf\"", "invalid UTF-8 (byte 0xf0) in string at byte 1"},
        {"\"\xe2\x82\"", "invalid UTF-8 (byte 0xe2) in string at byte 1"},
        {"\"x\x80\"", "invalid UTF-8 (byte 0x80) in string at byte 2"},
        {"\"\xff\"", "invalid UTF-8 (byte 0xff) in string at byte 1"},
        {"\"\\n\xff\"", "invalid UTF-8 (byte 0xff) in string at byte 3"},
        {"\"abc\ndef\"", "unescaped control character 0x0a in string at byte 4"},
        {"\"0123456789\t\"", "unescaped control character 0x09 in string at byte 11"},
        {"\"\\n\x01\"", "unescaped control character 0x01 in string at byte 3"},
        {"\"\\x\"", "invalid escape '\\' followed by 'x' at byte 1"},
        {"\"\\u12\"", "invalid \\u escape (needs 4 hex digits) at byte 1"},
        {"\"\\u12G4\"", "invalid \\u escape"},
        {"\"abc", "unterminated string at byte 0"},
        {"\"abc\\", "unterminated string at byte 0"},
        {"\"abc\\n", "unterminated string at byte 0"},
        {"'abc'", "expected a value, got ''' at byte 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int skip = 0; skip < 2; skip++) { /* decoding and validate-only paths */
            json_reader_init(&r, ig_str_from(bad[i].in), &eb);
            int rc = skip ? json_skip(&r) : json_str(&r, &s);
            if (rc != IG_ECORRUPT || !strstr(eb.msg, bad[i].msg))
                fail_msg("input %zu (skip=%d): rc %d, \"%s\", want \"%s\"", i, skip, rc, eb.msg,
                         bad[i].msg);
            json_reader_free(&r);
        }
    }

    /* arena mode: decoded strings are stable */
    ig_arena a;
    ig_arena_init(&a, 1 << 16);
    json_reader_init(&r, S("[\"\\u0041\",\"\\u0042\"]"), &eb);
    r.arena = &a;
    ig_str s1, s2;
    assert_int_equal(json_arr_begin(&r), 0);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_str(&r, &s1), 0);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_str(&r, &s2), 0);
    assert_true(ig_str_eq_cstr(s1, "A"));
    assert_true(ig_str_eq_cstr(s2, "B"));
    json_reader_free(&r);
    ig_arena_free(&a);

    /* allocation failure while decoding escapes: an error, not a crash */
    json_reader_init(&r, S("\"a\\nb\""), &eb);
    ig_alloc_fail_after(0);
    int rc = json_str(&r, &s);
    ig_alloc_fail_reset();
    assert_int_equal(rc, IG_ENOMEM);
    json_reader_free(&r);
}

static void test_numbers(void **state)
{
    (void)state;
    int64_t i;
    uint64_t u;
    double d;
    static const struct {
        const char *in;
        int rc;
        int64_t v;
    } i64s[] = {
        {"0", 0, 0},
        {"-0", 0, 0},
        {"9223372036854775807", 0, INT64_MAX},
        {"-9223372036854775808", 0, INT64_MIN},
        {"9223372036854775808", IG_ERANGE, 0},
        {"-9223372036854775809", IG_ERANGE, 0},
        {"99999999999999999999999999", IG_ERANGE, 0},
        {"1e3", 0, 1000},
        {"1E+2", 0, 100},
        {"10.0", 0, 10},
        {"0.1e1", 0, 1},
        {"100e-2", 0, 1},
        {"-1.5e1", 0, -15},
        {"0e999999999999", 0, 0},
        {"1e18", 0, 1000000000000000000LL},
        {"1e19", IG_ERANGE, 0},
        {"1e400", IG_ERANGE, 0},
        {"1e99999999999999999999", IG_ERANGE, 0},
        {"9.223372036854775807e18", 0, INT64_MAX},
        {"1.5", IG_EINVAL, 0},
        {"1e-1", IG_EINVAL, 0},
        {"01", IG_EINVAL, 0},
        {"-", IG_EINVAL, 0},
        {"+1", IG_EINVAL, 0},
        {"1.", IG_EINVAL, 0},
        {".5", IG_EINVAL, 0},
        {"1e", IG_EINVAL, 0},
        {"1e+", IG_EINVAL, 0},
        {"0x10", IG_EINVAL, 0},
        {" 1", IG_EINVAL, 0},
        {"", IG_EINVAL, 0},
    };
    for (size_t k = 0; k < sizeof i64s / sizeof i64s[0]; k++) {
        i = 12345;
        int rc = json_num_i64(ig_str_from(i64s[k].in), &i);
        if (rc != i64s[k].rc || (rc == 0 && i != i64s[k].v))
            fail_msg("%s: rc %d value %lld", i64s[k].in, rc, (long long)i);
    }
    assert_int_equal(json_num_u64(S("18446744073709551615"), &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(json_num_u64(S("18446744073709551616"), &u), IG_ERANGE);
    assert_int_equal(json_num_u64(S("1.8446744073709551615e19"), &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(json_num_u64(S("-1"), &u), IG_ERANGE);
    assert_int_equal(json_num_u64(S("-0"), &u), 0);
    assert_true(u == 0);

    assert_int_equal(json_num_f64(S("-0"), &d), 0);
    assert_true(d == 0 && signbit(d));
    assert_int_equal(json_num_f64(S("1e400"), &d), IG_ERANGE);
    assert_int_equal(json_num_f64(S("-1e400"), &d), IG_ERANGE);
    assert_int_equal(json_num_f64(S("1e-400"), &d), 0); /* underflow: 0 */
    assert_true(d == 0);
    assert_int_equal(json_num_f64(S("1.7976931348623157e308"), &d), 0);
    assert_true(d == 1.7976931348623157e308);
    assert_int_equal(json_num_f64(S("4.9e-324"), &d), 0);
    assert_true(d > 0);
    assert_int_equal(json_num_f64(S("0.1"), &d), 0);
    assert_true(d == 0.1);
    assert_int_equal(json_num_f64(S("NaN"), &d), IG_EINVAL);
    assert_int_equal(json_num_f64(S("Infinity"), &d), IG_EINVAL);
    assert_int_equal(json_num_f64(S("0x1p3"), &d), IG_EINVAL);
    /* a long number goes through the heap path */
    char longnum[300];
    memset(longnum, '0', sizeof longnum);
    longnum[0] = '1';
    longnum[1] = '.';
    assert_int_equal(json_num_f64(ig_str_make(longnum, sizeof longnum), &d), 0);
    assert_true(d == 1.0);
    assert_true(json_is_number(S("-12.5E-3")));
    assert_false(json_is_number(S("-12.5E-3x")));

    /* through the reader: numbers and strings, protojson style */
    json_reader r;
    ig_errbuf eb;
    json_reader_init(&r,
                     S("[\"-9223372036854775808\", 18446744073709551615, \"NaN\", "
                       "\"Infinity\", \"-Infinity\", \"2.5\", -0, 1e400, \"1e400\", "
                       "\"12x\", 1.5, true]"),
                     &eb);
    assert_int_equal(json_arr_begin(&r), 0);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_i64(&r, &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_u64(&r, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_f64(&r, &d), 0);
    assert_true(isnan(d));
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_f64(&r, &d), 0);
    assert_true(isinf(d) && d > 0);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_f64(&r, &d), 0);
    assert_true(isinf(d) && d < 0);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_f64(&r, &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_f64(&r, &d), 0);
    assert_true(d == 0 && signbit(d));
    assert_int_equal(json_arr_next(&r), 1);
    json_reader r2 = r; /* fork the reader to test several errors at one position */
    assert_int_equal(json_f64(&r2, &d), IG_ERANGE);
    assert_non_null(strstr(eb.msg, "number 1e400 out of range for a double at byte 90"));
    r2 = r;
    assert_int_equal(json_i64(&r2, &i), IG_ERANGE);
    assert_non_null(strstr(eb.msg, "integer 1e400 out of range for int64 at byte 90"));
    assert_int_equal(json_skip(&r), 0);
    assert_int_equal(json_arr_next(&r), 1);
    r2 = r;
    assert_int_equal(json_f64(&r2, &d), IG_ERANGE);
    assert_int_equal(json_skip(&r), 0);
    assert_int_equal(json_arr_next(&r), 1);
    r2 = r;
    assert_int_equal(json_i64(&r2, &i), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "invalid int64 value \"12x\""));
    r2 = r;
    assert_int_equal(json_f64(&r2, &d), IG_ECORRUPT);
    assert_int_equal(json_skip(&r), 0);
    assert_int_equal(json_arr_next(&r), 1);
    r2 = r;
    assert_int_equal(json_i64(&r2, &i), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "invalid int64 value \"1.5\""));
    assert_int_equal(json_skip(&r), 0);
    assert_int_equal(json_arr_next(&r), 1);
    assert_int_equal(json_i64(&r, &i), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "expected integer (number or string), got boolean"));
    json_reader_free(&r);
}

/* Expects walking `in` with json_next to fail with code and a message containing frag. */
static void expect_err(const char *in, int code, const char *frag)
{
    json_reader r;
    ig_errbuf eb;
    json_tok t;
    memset(&eb, 0, sizeof eb);
    json_reader_init(&r, ig_str_from(in), &eb);
    int rc;
    while ((rc = json_next(&r, &t)) > 0)
        ;
    if (rc != code || !strstr(eb.msg, frag))
        fail_msg("%s: rc %d \"%s\", want %d \"%s\"", in, rc, eb.msg, code, frag);
    json_reader_free(&r);
    /* json_skip takes the same path */
    json_reader_init(&r, ig_str_from(in), &eb);
    rc = json_skip(&r);
    if (rc == 0)
        rc = json_end(&r);
    if (rc != code)
        fail_msg("%s: json_skip rc %d \"%s\", want %d", in, rc, eb.msg, code);
    json_reader_free(&r);
}

static void test_structure_errors(void **state)
{
    (void)state;
    expect_err("", IG_ECORRUPT, "unexpected end of input, expected a value at byte 0");
    expect_err("  \n", IG_ECORRUPT, "unexpected end of input, expected a value at byte 3");
    expect_err("[1,2,]", IG_ECORRUPT, "trailing comma before ']' at byte 4");
    expect_err("{\"a\":1,}", IG_ECORRUPT, "trailing comma before '}' at byte 6");
    expect_err("{\"a\":1 , }", IG_ECORRUPT, "trailing comma before '}' at byte 7");
    expect_err("[,1]", IG_ECORRUPT, "expected a value, got ',' at byte 1");
    expect_err("{,}", IG_ECORRUPT, "expected a string object key, got ',' at byte 1");
    expect_err("{\"a\" 1}", IG_ECORRUPT, "expected ':' after object key, got '1' at byte 5");
    expect_err("{\"a\":1 \"b\":2}", IG_ECORRUPT,
               "expected ',' or '}' after object member, got '\"' at byte 7");
    expect_err("[1 2]", IG_ECORRUPT, "expected ',' or ']' after array element, got '2' at byte 3");
    expect_err("[1}", IG_ECORRUPT, "expected ',' or ']' after array element, got '}' at byte 2");
    expect_err("{\"a\":1]", IG_ECORRUPT, "got ']' at byte 6");
    expect_err("[1,2", IG_ECORRUPT, "got end of input at byte 4");
    expect_err("{\"a\":", IG_ECORRUPT, "unexpected end of input, expected a value at byte 5");
    expect_err("{\"a\"", IG_ECORRUPT, "expected ':' after object key, got end of input");
    expect_err("{1:2}", IG_ECORRUPT, "expected a string object key, got '1' at byte 1");
    expect_err("{} x", IG_ECORRUPT, "unexpected 'x' after the top-level value at byte 3");
    expect_err("{}{}", IG_ECORRUPT, "unexpected '{' after the top-level value at byte 2");
    expect_err("1 2", IG_ECORRUPT, "unexpected '2' after the top-level value at byte 2");
    expect_err("tru", IG_ECORRUPT, "invalid literal (expected true) at byte 0");
    expect_err("[nul]", IG_ECORRUPT, "invalid literal (expected null) at byte 1");
    expect_err("[True]", IG_ECORRUPT, "expected a value, got 'T' at byte 1");
    expect_err("truex", IG_ECORRUPT, "unexpected 'x' after the top-level value at byte 4");
    expect_err("[NaN]", IG_ECORRUPT, "expected a value, got 'N' at byte 1");
    expect_err("[01]", IG_ECORRUPT, "invalid number: leading zero in number at byte 1");
    expect_err("[-]", IG_ECORRUPT, "invalid number: expected a digit at byte 1");
    expect_err("[1.]", IG_ECORRUPT, "invalid number: expected a digit after '.' at byte 1");
    expect_err("[1e+]", IG_ECORRUPT, "invalid number: expected a digit in exponent at byte 1");
    expect_err("[.5]", IG_ECORRUPT, "expected a value, got '.' at byte 1");
    expect_err("[+1]", IG_ECORRUPT, "expected a value, got '+' at byte 1");
    expect_err("[1]//c", IG_ECORRUPT, "unexpected '/' after the top-level value");
    expect_err("\xef\xbb\xbf{}", IG_ECORRUPT, "expected a value, got byte 0xef at byte 0");
    expect_err("[\x0c]", IG_ECORRUPT, "expected a value, got byte 0x0c at byte 1");

    /* type errors and misuse */
    json_reader r;
    ig_errbuf eb;
    ig_str s, key;
    json_reader_init(&r, S("  [\"x\"]"), &eb);
    assert_int_equal(json_obj_begin(&r), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "expected object, got array at byte 2"));
    assert_int_equal(json_arr_begin(&r), IG_ECORRUPT); /* sticky */
    json_reader_free(&r);
    json_reader_init(&r, S("[1]"), &eb);
    assert_int_equal(json_arr_begin(&r), 0);
    assert_int_equal(json_obj_next_key(&r, &key), IG_EINVAL);
    json_reader_free(&r);
    json_reader_init(&r, S("{\"a\":1}"), &eb);
    assert_int_equal(json_obj_begin(&r), 0);
    assert_int_equal(json_arr_next(&r), IG_EINVAL);
    json_reader_free(&r);
    json_reader_init(&r, S("{\"a\":1}"), &eb);
    assert_int_equal(json_obj_begin(&r), 0);
    assert_int_equal(json_str(&r, &s), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "expected string, got object key at byte 1"));
    json_reader_free(&r);
    json_reader_init(&r, S("{\"a\":12}"), &eb);
    assert_int_equal(json_obj_begin(&r), 0);
    assert_int_equal(json_obj_next_key(&r, &key), 1);
    assert_int_equal(json_str(&r, &s), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "expected string, got number at byte 5"));
    json_reader_free(&r);
    json_reader_init(&r, S("[1]"), &eb);
    assert_int_equal(json_end(&r), IG_EINVAL); /* nothing read yet */
    json_reader_free(&r);
    json_reader_init(&r, S("{\"a\":1}\0"), &eb); /* NUL is not whitespace */
    assert_int_equal(json_skip(&r), 0);
    assert_int_equal(json_end(&r), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "unexpected byte 0x00 after the top-level value at byte 7"));
    json_reader_free(&r);
    json_reader_init(&r, S("{}"), &eb);
    assert_int_equal(json_obj_begin(&r), 0);
    assert_int_equal(json_skip(&r), IG_ECORRUPT); /* at '}', no value to skip */
    json_reader_free(&r);
}

static void test_depth(void **state)
{
    (void)state;
    char buf[2 * 200 + 1];
    for (int depth = JSON_DEFAULT_DEPTH; depth <= JSON_DEFAULT_DEPTH + 1; depth++) {
        int n = 0;
        for (int i = 0; i < depth; i++)
            buf[n++] = '[';
        for (int i = 0; i < depth; i++)
            buf[n++] = ']';
        buf[n] = 0;
        json_reader r;
        ig_errbuf eb;
        json_reader_init(&r, ig_str_make(buf, (size_t)n), &eb);
        int rc = json_skip(&r);
        if (depth <= JSON_DEFAULT_DEPTH) {
            assert_int_equal(rc, 0);
            assert_int_equal(json_end(&r), 0);
        } else {
            assert_int_equal(rc, IG_ECORRUPT);
            assert_non_null(strstr(eb.msg, "nesting deeper than 128 at byte 128"));
        }
        json_reader_free(&r);
    }
    /* a custom limit, objects too */
    json_reader r;
    ig_errbuf eb;
    json_reader_init(&r, S("{\"a\":{\"b\":{\"c\":1}}}"), &eb);
    r.max_depth = 2;
    assert_int_equal(json_skip(&r), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "nesting deeper than 2 at byte 10"));
    json_reader_free(&r);
    json_reader_init(&r, S("{\"a\":{\"b\":{\"c\":1}}}"), &eb);
    r.max_depth = 3;
    assert_int_equal(json_skip(&r), 0);
    json_reader_free(&r);
    /* max_depth above the hard limit is clamped to it */
    static char deep[2 * (JSON_DEPTH_LIMIT + 1)];
    memset(deep, '[', JSON_DEPTH_LIMIT + 1);
    memset(deep + JSON_DEPTH_LIMIT + 1, ']', JSON_DEPTH_LIMIT + 1);
    json_reader_init(&r, ig_str_make(deep, sizeof deep), &eb);
    r.max_depth = 1 << 20;
    assert_int_equal(json_skip(&r), IG_ECORRUPT);
    json_reader_free(&r);
    json_reader_init(&r, ig_str_make(deep + 1, sizeof deep - 2), &eb);
    r.max_depth = JSON_DEPTH_LIMIT;
    assert_int_equal(json_skip(&r), 0);
    json_reader_free(&r);
}

static void test_writer(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 4096);
    json_writer w;
    json_writer_init(&w, &b);
    json_w_obj_begin(&w);
    json_w_key(&w, S("status"));
    json_w_str(&w, S("success"));
    json_w_key(&w, S("data"));
    json_w_arr_begin(&w);
    json_w_i64(&w, INT64_MIN);
    json_w_u64(&w, UINT64_MAX);
    json_w_f64(&w, 0.1);
    json_w_f64(&w, -0.0);
    json_w_f64(&w, 1e300);
    json_w_f64(&w, 1.0 / 3);
    json_w_f64(&w, NAN);
    json_w_f64(&w, -INFINITY);
    json_w_bool(&w, true);
    json_w_null(&w);
    json_w_obj_begin(&w);
    json_w_obj_end(&w);
    json_w_arr_begin(&w);
    json_w_arr_end(&w);
    json_w_raw(&w, S("{\"pre\":1}"));
    json_w_str(&w, S("q\"\\\n\x01\xc3\xa9\xff"));
    json_w_arr_end(&w);
    json_w_obj_end(&w);
    assert_int_equal(json_writer_finish(&w), 0);
    const char *want = "{\"status\":\"success\",\"data\":[-9223372036854775808,"
                       "18446744073709551615,0.1,-0,1e+300,0.3333333333333333,\"NaN\","
                       "\"-Infinity\",true,null,{},[],{\"pre\":1},"
                       "\"q\\\"\\\\\\n\\u0001\xc3\xa9\xef\xbf\xbd\"]}";
    if (strcmp(b.data, want) != 0)
        fail_msg("got  %s\nwant %s", b.data, want);

    /* read it back */
    json_reader r;
    ig_errbuf eb;
    json_reader_init(&r, ig_buf_str(&b), &eb);
    assert_int_equal(json_skip(&r), 0);
    assert_int_equal(json_end(&r), 0);
    json_reader_free(&r);

    /* misuse */
    ig_buf_reset(&b);
    json_writer_init(&w, &b);
    json_w_obj_begin(&w);
    json_w_str(&w, S("no key"));
    assert_int_equal(json_writer_finish(&w), IG_EINVAL);
    json_writer_init(&w, &b);
    json_w_arr_begin(&w);
    json_w_key(&w, S("k"));
    assert_int_equal(json_writer_finish(&w), IG_EINVAL);
    json_writer_init(&w, &b);
    json_w_arr_begin(&w);
    json_w_obj_end(&w);
    assert_int_equal(json_writer_finish(&w), IG_EINVAL);
    json_writer_init(&w, &b);
    json_w_obj_begin(&w);
    assert_int_equal(json_writer_finish(&w), IG_EINVAL);
    json_writer_init(&w, &b);
    json_w_obj_begin(&w);
    json_w_key(&w, S("k"));
    json_w_obj_end(&w);
    assert_int_equal(json_writer_finish(&w), IG_EINVAL);
    ig_buf_free(&b);

    /* cap */
    ig_buf_init(&b, 10);
    json_writer_init(&w, &b);
    json_w_arr_begin(&w);
    json_w_str(&w, S("0123456789"));
    json_w_arr_end(&w);
    assert_int_equal(json_writer_finish(&w), IG_ETOOBIG);
    ig_buf_free(&b);
}

static void test_base64_hex(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n;
    ig_errbuf eb;
    static const struct {
        const char *in;
        const char *out;
    } ok[] = {
        {"", ""},
        {"Zg==", "f"},
        {"Zg", "f"},
        {"Zm8=", "fo"},
        {"Zm8", "fo"},
        {"Zm9v", "foo"},
        {"Zm9vYg==", "foob"},
        {"Zm9vYmE", "fooba"},
        {"+/8=", "\xfb\xff"},
        {"-_8", "\xfb\xff"},
        {"-_8=", "\xfb\xff"},
        {"Zh==", "f"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        n = 99;
        int rc = json_b64_decode(ig_str_from(ok[i].in), out, sizeof out, &n, &eb);
        if (rc != 0 || n != strlen(ok[i].out) || memcmp(out, ok[i].out, n) != 0)
            fail_msg("%s: rc %d n %zu %s", ok[i].in, rc, n, eb.msg);
    }
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
        {"Z", "invalid length 1"},
        {"Zm9vY", "invalid length 5"},
        {"Zg=", "misplaced padding '=' at offset 2"},
        {"Z===", "misplaced padding '=' at offset 1"},
        {"Zg==Zg==", "misplaced padding '=' at offset 2"},
        {"Zm9\n", "invalid character 0x0a at offset 3"},
        {"Zm 9", "invalid character 0x20 at offset 2"},
        {"+-8=", "alphabets mixed (offset 1)"},
        {"a_b/", "alphabets mixed (offset 3)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = json_b64_decode(ig_str_from(bad[i].in), out, sizeof out, &n, &eb);
        if (rc != IG_ECORRUPT || !strstr(eb.msg, bad[i].msg))
            fail_msg("%s: rc %d \"%s\", want \"%s\"", bad[i].in, rc, eb.msg, bad[i].msg);
    }
    assert_int_equal(json_b64_decode(S("Zm9v"), out, 2, &n, &eb), IG_ETOOBIG);
    assert_int_equal(json_b64_decode(S("Zm9v"), out, 3, &n, &eb), 0);
    assert_true(json_b64_decoded_max(4) >= 3);

    /* encode -> decode round trip over all tail lengths */
    uint8_t src[40];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 37 + 251);
    ig_buf b;
    ig_buf_init(&b, 1024);
    for (size_t len = 0; len <= sizeof src; len++) {
        ig_buf_reset(&b);
        assert_int_equal(json_b64_encode(&b, ig_str_make(src, len)), 0);
        assert_int_equal(b.len, (len + 2) / 3 * 4);
        assert_int_equal(json_b64_decode(ig_buf_str(&b), out, sizeof out, &n, &eb), 0);
        assert_int_equal(n, len);
        assert_true(len == 0 || memcmp(out, src, len) == 0);
    }
    ig_buf_reset(&b);
    assert_int_equal(json_b64_encode(&b, S("foob")), 0);
    assert_string_equal(b.data, "Zm9vYg==");

    /* hex */
    uint8_t id[16];
    assert_int_equal(json_hex_decode(S("5B8EFFF798038103D269B633813FC60C"), id, 16, &eb), 0);
    assert_memory_equal(id, "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c", 16);
    uint8_t id2[16];
    assert_int_equal(json_hex_decode(S("5b8efff798038103d269b633813fc60c"), id2, 16, &eb), 0);
    assert_memory_equal(id, id2, 16);
    assert_int_equal(json_hex_decode(S("5b8efff798038103d269b633813fc60"), id, 16, &eb),
                     IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "31 characters, expected 32 (16 bytes)"));
    assert_int_equal(json_hex_decode(S("eee19b7ec3c1b174aa"), id, 8, &eb), IG_ECORRUPT);
    assert_int_equal(json_hex_decode(S("eee19b7ec3c1b17g"), id, 8, &eb), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "invalid character 'g' at offset 15"));
    assert_int_equal(json_hex_decode(S("eee19b7e c3c1b17"), id, 8, &eb), IG_ECORRUPT);
    assert_non_null(strstr(eb.msg, "invalid byte 0x20 at offset 8"));
    assert_int_equal(json_hex_decode(S(""), id, 0, &eb), 0);
    ig_buf_reset(&b);
    assert_int_equal(json_hex_encode(&b, ig_str_make(id2, 4)), 0);
    assert_string_equal(b.data, "5b8efff7");
    ig_buf_free(&b);
}

/* ---- OTLP logs: JSON and protobuf encodings of the same request give the same values ---- */

static void pb_anyvalue(pb_reader *av, ig_buf *o);

static void pb_kv(pb_reader *kv, ig_buf *o)
{
    pb_reader v;
    ig_str s;
    while (pb_next(kv) > 0) {
        if (kv->field == 1) {
            assert_int_equal(pb_bytes(kv, &s), 0);
            ig_buf_printf(o, "%.*s=", (int)s.len, s.ptr);
        } else if (kv->field == 2) {
            assert_int_equal(pb_sub(kv, &v), 0);
            pb_anyvalue(&v, o);
        }
    }
    ig_buf_putc(o, ';');
}

static void pb_anyvalue(pb_reader *av, ig_buf *o)
{
    pb_reader sub, el;
    ig_str s;
    uint64_t u;
    double d;
    while (pb_next(av) > 0) {
        switch (av->field) {
        case 1:
            assert_int_equal(pb_bytes(av, &s), 0);
            ig_buf_printf(o, "s:%.*s", (int)s.len, s.ptr);
            break;
        case 2:
            assert_int_equal(pb_varint(av, &u), 0);
            ig_buf_printf(o, "b:%d", u != 0);
            break;
        case 3:
            assert_int_equal(pb_varint(av, &u), 0);
            ig_buf_printf(o, "i:%lld", (long long)u);
            break;
        case 4:
            assert_int_equal(pb_double(av, &d), 0);
            ig_buf_printf(o, "d:%.17g", d);
            break;
        case 5:
        case 6:
            assert_int_equal(pb_sub(av, &sub), 0);
            ig_buf_append_cstr(o, av->field == 5 ? "a[" : "k{");
            while (pb_next(&sub) > 0) {
                assert_int_equal(pb_sub(&sub, &el), 0);
                if (av->field == 5) {
                    pb_anyvalue(&el, o);
                    ig_buf_putc(o, ',');
                } else {
                    pb_kv(&el, o);
                }
            }
            ig_buf_append_cstr(o, av->field == 5 ? "]" : "}");
            break;
        case 7:
            assert_int_equal(pb_bytes(av, &s), 0);
            ig_buf_append_cstr(o, "x:");
            json_hex_encode(o, s);
            break;
        }
    }
}

typedef struct rec {
    uint64_t t, o, flags, dropped, sev;
    ig_buf st, trace, span, body, attrs, event;
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    ig_buf_init(&r->st, 4096);
    ig_buf_init(&r->trace, 4096);
    ig_buf_init(&r->span, 4096);
    ig_buf_init(&r->body, 4096);
    ig_buf_init(&r->attrs, 4096);
    ig_buf_init(&r->event, 4096);
}

static void rec_emit(rec *r, ig_buf *o)
{
    ig_buf_printf(o,
                  "rec t=%llu o=%llu sev=%llu st=%s trace=%s span=%s body=%s attrs=%s "
                  "flags=%llu dropped=%llu event=%s\n",
                  (unsigned long long)r->t, (unsigned long long)r->o, (unsigned long long)r->sev,
                  r->st.data ? r->st.data : "", r->trace.data ? r->trace.data : "",
                  r->span.data ? r->span.data : "", r->body.data ? r->body.data : "",
                  r->attrs.data ? r->attrs.data : "", (unsigned long long)r->flags,
                  (unsigned long long)r->dropped, r->event.data ? r->event.data : "");
    ig_buf_free(&r->st);
    ig_buf_free(&r->trace);
    ig_buf_free(&r->span);
    ig_buf_free(&r->body);
    ig_buf_free(&r->attrs);
    ig_buf_free(&r->event);
}

/* LogsData protobuf -> summary text. */
static void pb_logs(ig_str msg, ig_buf *o)
{
    pb_reader req, rl, x, sl, lr, sub;
    ig_errbuf eb;
    ig_str s;
    uint64_t u;
    uint32_t u32;
    pb_reader_init(&req, msg, &eb);
    while (pb_next(&req) > 0) {
        assert_int_equal(pb_sub(&req, &rl), 0);
        while (pb_next(&rl) > 0) {
            if (rl.field == 1) { /* Resource */
                assert_int_equal(pb_sub(&rl, &x), 0);
                ig_buf_append_cstr(o, "resource ");
                while (pb_next(&x) > 0) {
                    if (x.field == 1) {
                        assert_int_equal(pb_sub(&x, &sub), 0);
                        pb_kv(&sub, o);
                    } else if (x.field == 2) {
                        assert_int_equal(pb_varint(&x, &u), 0);
                        ig_buf_printf(o, " dropped=%llu", (unsigned long long)u);
                    }
                }
                ig_buf_putc(o, '\n');
            } else if (rl.field == 3) {
                assert_int_equal(pb_bytes(&rl, &s), 0);
                ig_buf_printf(o, "schema %.*s\n", (int)s.len, s.ptr);
            } else if (rl.field == 2) { /* ScopeLogs */
                assert_int_equal(pb_sub(&rl, &sl), 0);
                while (pb_next(&sl) > 0) {
                    if (sl.field == 1) {
                        assert_int_equal(pb_sub(&sl, &x), 0);
                        ig_buf_append_cstr(o, "scope");
                        while (pb_next(&x) > 0) {
                            if (x.field == 1 || x.field == 2) {
                                assert_int_equal(pb_bytes(&x, &s), 0);
                                ig_buf_printf(o, " %.*s", (int)s.len, s.ptr);
                            } else if (x.field == 3) {
                                assert_int_equal(pb_sub(&x, &sub), 0);
                                pb_kv(&sub, o);
                            } else if (x.field == 4) {
                                assert_int_equal(pb_varint(&x, &u), 0);
                                ig_buf_printf(o, " dropped=%llu", (unsigned long long)u);
                            }
                        }
                        ig_buf_putc(o, '\n');
                    } else if (sl.field == 3) {
                        assert_int_equal(pb_bytes(&sl, &s), 0);
                        ig_buf_printf(o, "schema %.*s\n", (int)s.len, s.ptr);
                    } else if (sl.field == 2) {
                        assert_int_equal(pb_sub(&sl, &lr), 0);
                        rec r;
                        rec_init(&r);
                        while (pb_next(&lr) > 0) {
                            switch (lr.field) {
                            case 1:
                                assert_int_equal(pb_fixed64(&lr, &r.t), 0);
                                break;
                            case 11:
                                assert_int_equal(pb_fixed64(&lr, &r.o), 0);
                                break;
                            case 2:
                                assert_int_equal(pb_varint(&lr, &r.sev), 0);
                                break;
                            case 3:
                                assert_int_equal(pb_bytes(&lr, &s), 0);
                                ig_buf_append_str(&r.st, s);
                                break;
                            case 5:
                                assert_int_equal(pb_sub(&lr, &sub), 0);
                                pb_anyvalue(&sub, &r.body);
                                break;
                            case 6:
                                assert_int_equal(pb_sub(&lr, &sub), 0);
                                pb_kv(&sub, &r.attrs);
                                break;
                            case 7:
                                assert_int_equal(pb_varint(&lr, &r.dropped), 0);
                                break;
                            case 8:
                                assert_int_equal(pb_fixed32(&lr, &u32), 0);
                                r.flags = u32;
                                break;
                            case 9:
                            case 10:
                                assert_int_equal(pb_bytes(&lr, &s), 0);
                                json_hex_encode(lr.field == 9 ? &r.trace : &r.span, s);
                                break;
                            case 12:
                                assert_int_equal(pb_bytes(&lr, &s), 0);
                                ig_buf_append_str(&r.event, s);
                                break;
                            }
                        }
                        rec_emit(&r, o);
                    }
                }
            }
        }
    }
}

static void js_anyvalue(json_reader *j, ig_buf *o);

static void js_kv(json_reader *j, ig_buf *o)
{
    ig_str k, s;
    assert_int_equal(json_obj_begin(j), 0);
    while (json_obj_next_key(j, &k) > 0) {
        if (ig_str_eq_cstr(k, "key")) {
            assert_int_equal(json_str(j, &s), 0);
            ig_buf_printf(o, "%.*s=", (int)s.len, s.ptr);
        } else if (ig_str_eq_cstr(k, "value")) {
            js_anyvalue(j, o);
        } else {
            assert_int_equal(json_skip(j), 0);
        }
    }
    ig_buf_putc(o, ';');
}

static void js_anyvalue(json_reader *j, ig_buf *o)
{
    ig_str k, s, k2;
    assert_int_equal(json_obj_begin(j), 0);
    while (json_obj_next_key(j, &k) > 0) {
        if (ig_str_eq_cstr(k, "stringValue")) {
            assert_int_equal(json_str(j, &s), 0);
            ig_buf_printf(o, "s:%.*s", (int)s.len, s.ptr);
        } else if (ig_str_eq_cstr(k, "boolValue")) {
            bool b;
            assert_int_equal(json_bool(j, &b), 0);
            ig_buf_printf(o, "b:%d", b);
        } else if (ig_str_eq_cstr(k, "intValue")) {
            int64_t v;
            assert_int_equal(json_i64(j, &v), 0);
            ig_buf_printf(o, "i:%lld", (long long)v);
        } else if (ig_str_eq_cstr(k, "doubleValue")) {
            double d;
            assert_int_equal(json_f64(j, &d), 0);
            ig_buf_printf(o, "d:%.17g", d);
        } else if (ig_str_eq_cstr(k, "arrayValue") || ig_str_eq_cstr(k, "kvlistValue")) {
            bool arr = k.ptr[0] == 'a';
            ig_buf_append_cstr(o, arr ? "a[" : "k{");
            assert_int_equal(json_obj_begin(j), 0);
            while (json_obj_next_key(j, &k2) > 0) {
                assert_true(ig_str_eq_cstr(k2, "values"));
                assert_int_equal(json_arr_begin(j), 0);
                while (json_arr_next(j) > 0) {
                    if (arr) {
                        js_anyvalue(j, o);
                        ig_buf_putc(o, ',');
                    } else {
                        js_kv(j, o);
                    }
                }
            }
            ig_buf_append_cstr(o, arr ? "]" : "}");
        } else if (ig_str_eq_cstr(k, "bytesValue")) {
            uint8_t tmp[256];
            size_t n;
            assert_int_equal(json_str(j, &s), 0);
            assert_int_equal(json_b64_decode(s, tmp, sizeof tmp, &n, NULL), 0);
            ig_buf_append_cstr(o, "x:");
            json_hex_encode(o, ig_str_make(tmp, n));
        } else {
            assert_int_equal(json_skip(j), 0);
        }
    }
}

static void js_attrs(json_reader *j, ig_buf *o)
{
    assert_int_equal(json_arr_begin(j), 0);
    while (json_arr_next(j) > 0)
        js_kv(j, o);
}

static void js_logs(ig_str msg, ig_buf *o)
{
    json_reader j;
    ig_errbuf eb;
    ig_str k, s;
    uint64_t u;
    json_reader_init(&j, msg, &eb);
    assert_int_equal(json_obj_begin(&j), 0);
    while (json_obj_next_key(&j, &k) > 0) {
        assert_true(ig_str_eq_cstr(k, "resourceLogs"));
        assert_int_equal(json_arr_begin(&j), 0);
        while (json_arr_next(&j) > 0) {
            assert_int_equal(json_obj_begin(&j), 0);
            ig_str schema = IG_STR_NULL;
            while (json_obj_next_key(&j, &k) > 0) {
                if (ig_str_eq_cstr(k, "resource")) {
                    ig_buf_append_cstr(o, "resource ");
                    assert_int_equal(json_obj_begin(&j), 0);
                    while (json_obj_next_key(&j, &k) > 0) {
                        if (ig_str_eq_cstr(k, "attributes")) {
                            js_attrs(&j, o);
                        } else {
                            assert_true(ig_str_eq_cstr(k, "droppedAttributesCount"));
                            assert_int_equal(json_u64(&j, &u), 0);
                            ig_buf_printf(o, " dropped=%llu", (unsigned long long)u);
                        }
                    }
                    ig_buf_putc(o, '\n');
                } else if (ig_str_eq_cstr(k, "schemaUrl")) {
                    assert_int_equal(json_str(&j, &schema), 0);
                } else {
                    assert_true(ig_str_eq_cstr(k, "scopeLogs"));
                    assert_int_equal(json_arr_begin(&j), 0);
                    while (json_arr_next(&j) > 0) {
                        ig_str sschema = IG_STR_NULL;
                        assert_int_equal(json_obj_begin(&j), 0);
                        while (json_obj_next_key(&j, &k) > 0) {
                            if (ig_str_eq_cstr(k, "scope")) {
                                ig_buf_append_cstr(o, "scope");
                                assert_int_equal(json_obj_begin(&j), 0);
                                while (json_obj_next_key(&j, &k) > 0) {
                                    if (ig_str_eq_cstr(k, "attributes")) {
                                        js_attrs(&j, o);
                                    } else if (ig_str_eq_cstr(k, "droppedAttributesCount")) {
                                        assert_int_equal(json_u64(&j, &u), 0);
                                        ig_buf_printf(o, " dropped=%llu", (unsigned long long)u);
                                    } else {
                                        assert_int_equal(json_str(&j, &s), 0);
                                        ig_buf_printf(o, " %.*s", (int)s.len, s.ptr);
                                    }
                                }
                                ig_buf_putc(o, '\n');
                            } else if (ig_str_eq_cstr(k, "schemaUrl")) {
                                assert_int_equal(json_str(&j, &sschema), 0);
                            } else {
                                assert_true(ig_str_eq_cstr(k, "logRecords"));
                                assert_int_equal(json_arr_begin(&j), 0);
                                while (json_arr_next(&j) > 0) {
                                    rec r;
                                    rec_init(&r);
                                    assert_int_equal(json_obj_begin(&j), 0);
                                    while (json_obj_next_key(&j, &k) > 0) {
                                        uint8_t id[16];
                                        if (ig_str_eq_cstr(k, "timeUnixNano")) {
                                            assert_int_equal(json_u64(&j, &r.t), 0);
                                        } else if (ig_str_eq_cstr(k, "observedTimeUnixNano")) {
                                            assert_int_equal(json_u64(&j, &r.o), 0);
                                        } else if (ig_str_eq_cstr(k, "severityNumber")) {
                                            assert_int_equal(json_u64(&j, &r.sev), 0);
                                        } else if (ig_str_eq_cstr(k, "severityText")) {
                                            assert_int_equal(json_str(&j, &s), 0);
                                            ig_buf_append_str(&r.st, s);
                                        } else if (ig_str_eq_cstr(k, "eventName")) {
                                            assert_int_equal(json_str(&j, &s), 0);
                                            ig_buf_append_str(&r.event, s);
                                        } else if (ig_str_eq_cstr(k, "traceId") ||
                                                   ig_str_eq_cstr(k, "spanId")) {
                                            size_t n = k.ptr[0] == 't' ? 16 : 8;
                                            assert_int_equal(json_str(&j, &s), 0);
                                            assert_int_equal(json_hex_decode(s, id, n, NULL), 0);
                                            json_hex_encode(n == 16 ? &r.trace : &r.span,
                                                            ig_str_make(id, n));
                                        } else if (ig_str_eq_cstr(k, "body")) {
                                            js_anyvalue(&j, &r.body);
                                        } else if (ig_str_eq_cstr(k, "attributes")) {
                                            js_attrs(&j, &r.attrs);
                                        } else if (ig_str_eq_cstr(k, "flags")) {
                                            assert_int_equal(json_u64(&j, &r.flags), 0);
                                        } else if (ig_str_eq_cstr(k, "droppedAttributesCount")) {
                                            assert_int_equal(json_u64(&j, &r.dropped), 0);
                                        } else {
                                            fail_msg("unexpected key %.*s", (int)k.len, k.ptr);
                                        }
                                    }
                                    rec_emit(&r, o);
                                }
                            }
                        }
                        if (sschema.len)
                            ig_buf_printf(o, "schema %.*s\n", (int)sschema.len, sschema.ptr);
                    }
                }
            }
            if (schema.len)
                ig_buf_printf(o, "schema %.*s\n", (int)schema.len, schema.ptr);
        }
    }
    assert_int_equal(json_end(&j), 0);
    json_reader_free(&j);
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n > 0 && n < cap);
    return n;
}

static void test_otlp_json_vs_protobuf(void **state)
{
    (void)state;
    static const char *pairs[][2] = {
        {"tests/fuzz/corpus/json/otlp-logs.json", "tests/fuzz/corpus/pb/otlp-logs.pb"},
        {"tests/fuzz/corpus/json/collector-logs.json", "tests/fuzz/corpus/pb/collector-logs.pb"},
    };
    static char jbuf[16384], pbuf[16384];
    for (size_t i = 0; i < 2; i++) {
        size_t jn = slurp(pairs[i][0], jbuf, sizeof jbuf);
        size_t pn = slurp(pairs[i][1], pbuf, sizeof pbuf);
        ig_buf a, b;
        ig_buf_init(&a, 1 << 16);
        ig_buf_init(&b, 1 << 16);
        js_logs(ig_str_make(jbuf, jn), &a);
        pb_logs(ig_str_make(pbuf, pn), &b);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            fail_msg("%s:\njson:\n%s\nprotobuf:\n%s", pairs[i][0], a.data, b.data);
        assert_non_null(strstr(a.data, "rec t="));
        if (i == 0)
            assert_non_null(strstr(a.data, "body=s:Example log record attrs=string.attribute="
                                           "s:some string;boolean.attribute=b:1;int.attribute="
                                           "i:10;double.attribute=d:637.70399999999995;"
                                           "array.attribute=a[s:many,s:values,];map.attribute="
                                           "k{some.map.key=s:some value;};"));
        else
            assert_non_null(strstr(a.data, "flags=1 dropped=1 event=someEvent"));
        ig_buf_free(&a);
        ig_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_base64_hex),
        cmocka_unit_test(test_otlp_json_vs_protobuf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
