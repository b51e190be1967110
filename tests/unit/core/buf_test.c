/* Slices and capped buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/buf.h"
#include "icegate/err.h"

static void test_str_basics(void **state)
{
    (void)state;
    assert_true(ig_str_eq(IG_STR("abc"), ig_str_from("abc")));
    assert_false(ig_str_eq(IG_STR("abc"), IG_STR("abd")));
    assert_false(ig_str_eq(IG_STR("abc"), IG_STR("ab")));
    assert_true(ig_str_eq(IG_STR_NULL, IG_STR("")));
    assert_true(ig_str_eq_cstr(ig_str_make("a\0b", 1), "a"));
    assert_false(ig_str_eq_cstr(ig_str_make("a\0b", 3), "a"));
    assert_true(ig_str_case_eq(IG_STR("Content-Type"), "content-type"));
    assert_false(ig_str_case_eq(IG_STR("Content-Typ"), "content-type"));
    assert_true(ig_str_has_prefix(IG_STR("wal/logs"), IG_STR("wal/")));
    assert_true(ig_str_has_prefix(IG_STR("x"), IG_STR("")));
    assert_false(ig_str_has_prefix(IG_STR("wa"), IG_STR("wal")));
    assert_true(ig_str_cmp(IG_STR("a"), IG_STR("b")) < 0);
    assert_true(ig_str_cmp(IG_STR("ab"), IG_STR("a")) > 0);
    assert_true(ig_str_cmp(IG_STR("a"), IG_STR("ab")) < 0);
    assert_int_equal(ig_str_cmp(IG_STR(""), IG_STR_NULL), 0);
    assert_true(ig_str_cmp(IG_STR("\xff"), IG_STR("a")) > 0); /* bytewise, unsigned */
    ig_str t = ig_str_trim(IG_STR(" \t x y \t"));
    assert_true(ig_str_eq_cstr(t, "x y"));
    assert_int_equal(ig_str_trim(IG_STR("   ")).len, 0);
    assert_int_equal(ig_str_index(IG_STR("a=b"), '='), 1);
    assert_int_equal(ig_str_index(IG_STR("ab"), '='), -1);
    assert_int_equal(ig_str_index(IG_STR_NULL, '='), -1);
}

static void test_str_to_i64(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(ig_str_to_i64(IG_STR("0"), &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ig_str_to_i64(IG_STR("-42"), &v), 0);
    assert_int_equal(v, -42);
    assert_int_equal(ig_str_to_i64(IG_STR("+7"), &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(ig_str_to_i64(IG_STR("9223372036854775807"), &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(ig_str_to_i64(IG_STR("-9223372036854775808"), &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(ig_str_to_i64(IG_STR("9223372036854775808"), &v), IG_ERANGE);
    assert_int_equal(ig_str_to_i64(IG_STR("-9223372036854775809"), &v), IG_ERANGE);
    assert_int_equal(ig_str_to_i64(IG_STR("99999999999999999999999"), &v), IG_ERANGE);
    const char *bad[] = {"", "-", "+", "1a", " 1", "1 ", "0x10", "1.0", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ig_str_to_i64(ig_str_from(bad[i]), &v), IG_EINVAL);
    /* Not NUL-terminated: only len bytes count. */
    assert_int_equal(ig_str_to_i64(ig_str_make("123456", 3), &v), 0);
    assert_int_equal(v, 123);
}

static void test_str_to_f64(void **state)
{
    (void)state;
    double d = 0;
    assert_int_equal(ig_str_to_f64(IG_STR("1.5"), &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(ig_str_to_f64(IG_STR("-2e3"), &d), 0);
    assert_true(d == -2000);
    assert_int_equal(ig_str_to_f64(IG_STR("+Inf"), &d), 0);
    assert_true(isinf(d) && d > 0);
    assert_int_equal(ig_str_to_f64(IG_STR("-inf"), &d), 0);
    assert_true(isinf(d) && d < 0);
    assert_int_equal(ig_str_to_f64(IG_STR("NaN"), &d), 0);
    assert_true(isnan(d));
    assert_int_equal(ig_str_to_f64(IG_STR("1e999"), &d), IG_ERANGE);
    const char *bad[] = {"", "0x10", " 1", "1 ", "abc", "1.2.3x", "infinite"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ig_str_to_f64(ig_str_from(bad[i]), &d), IG_EINVAL);
    assert_int_equal(ig_str_to_f64(ig_str_make("2.5xyz", 3), &d), 0);
    assert_true(d == 2.5);
}

static void test_buf_append_and_cap(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 10);
    assert_null(b.data);
    assert_int_equal(ig_buf_append(&b, "hello", 5), 0);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "hello");
    assert_int_equal(ig_buf_append_cstr(&b, "world"), 0); /* exactly the cap */
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    /* Past the cap: fails and changes nothing. */
    assert_int_equal(ig_buf_putc(&b, '!'), IG_ETOOBIG);
    assert_int_equal(ig_buf_append(&b, "x", 1), IG_ETOOBIG);
    assert_int_equal(ig_buf_printf(&b, "%d", 1), IG_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    assert_true(b.cap <= 11);
    /* Appending nothing at the cap is fine. */
    assert_int_equal(ig_buf_append(&b, "", 0), 0);
    ig_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(ig_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(ig_buf_reserve(&b, SIZE_MAX), IG_ETOOBIG); /* overflow-safe */
    ig_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.max, 10); /* the cap survives free */
    assert_int_equal(ig_buf_append(&b, "01234567890", 11), IG_ETOOBIG);
    assert_null(b.data);

    /* No cap given: large appends work. */
    ig_buf_init(&b, 0);
    char big[5000];
    memset(big, 'q', sizeof big);
    for (int i = 0; i < 20; i++)
        assert_int_equal(ig_buf_append(&b, big, sizeof big), 0);
    assert_int_equal(b.len, 100000);
    assert_int_equal(b.data[b.len], 0);
    assert_int_equal(ig_buf_reserve(&b, SIZE_MAX - 10), IG_ETOOBIG);
    ig_buf_free(&b);
}

static void test_buf_printf(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 2000);
    assert_int_equal(ig_buf_printf(&b, "%s=%d", "n", 42), 0);
    assert_string_equal(b.data, "n=42");
    /* Longer than the internal small buffer. */
    char long_s[700];
    memset(long_s, 'L', sizeof long_s - 1);
    long_s[sizeof long_s - 1] = 0;
    assert_int_equal(ig_buf_printf(&b, "[%s]", long_s), 0);
    assert_int_equal(b.len, 4 + 2 + 699);
    assert_int_equal(b.data[4], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], 0);
    /* A long one past the cap fails cleanly. */
    size_t before = b.len;
    assert_int_equal(ig_buf_printf(&b, "%s%s", long_s, long_s), IG_ETOOBIG);
    assert_int_equal(b.len, before);
    assert_int_equal(b.data[b.len], 0);
    ig_buf_free(&b);
}

static void test_buf_json(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 1000);
    assert_int_equal(ig_buf_json_escape(&b, IG_STR("")), 0);
    assert_non_null(b.data); /* always a valid C string afterwards */
    assert_string_equal(b.data, "");
    assert_int_equal(ig_buf_json_str(&b, IG_STR("a\"b\\c\n\r\t\x01\x1f/")), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f/\"");
    ig_buf_reset(&b);
    /* Valid UTF-8 passes through; invalid bytes become U+FFFD. */
    assert_int_equal(ig_buf_json_escape(&b, IG_STR("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")), 0);
    assert_string_equal(b.data, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ig_buf_reset(&b);
    assert_int_equal(ig_buf_json_escape(&b, IG_STR("a\xff"
                                                   "b\xc3")),
                     0);
    assert_string_equal(b.data, "a\xef\xbf\xbd"
                                "b\xef\xbf\xbd");
    ig_buf_reset(&b);
    /* Overlong encoding and a UTF-16 surrogate are invalid too. */
    assert_int_equal(ig_buf_json_escape(&b, IG_STR("\xc0\xaf|\xed\xa0\x80")), 0);
    assert_string_equal(b.data, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    ig_buf_reset(&b);
    /* Embedded NUL is escaped. */
    assert_int_equal(ig_buf_json_escape(&b, ig_str_make("x\0y", 3)), 0);
    assert_string_equal(b.data, "x\\u0000y");
    ig_buf_free(&b);
    /* The cap applies to escaped output. */
    ig_buf_init(&b, 5);
    assert_int_equal(ig_buf_json_str(&b, IG_STR("\n\n")), IG_ETOOBIG);
    assert_true(b.len <= 5);
    ig_buf_free(&b);
}

static void test_buf_detach(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 100);
    ig_buf_append_cstr(&b, "owned");
    size_t n = 0;
    char *p = ig_buf_detach(&b, &n);
    assert_int_equal(n, 5);
    assert_string_equal(p, "owned");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    ig_free(p);
    /* The buffer is reusable afterwards, with its cap. */
    assert_int_equal(ig_buf_append_cstr(&b, "again"), 0);
    assert_string_equal(ig_buf_str(&b).ptr, "again");
    ig_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_basics), cmocka_unit_test(test_str_to_i64),
        cmocka_unit_test(test_str_to_f64), cmocka_unit_test(test_buf_append_and_cap),
        cmocka_unit_test(test_buf_printf), cmocka_unit_test(test_buf_json),
        cmocka_unit_test(test_buf_detach),
    };
    return cmocka_run_group_tests_name("core/buf", tests, NULL, NULL);
}
