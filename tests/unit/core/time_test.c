/* Time parsing and formatting: RFC 3339, Loki and Prometheus timestamps, durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "icegate/err.h"
#include "icegate/time.h"

#define T0 1700000000LL /* 2023-11-14T22:13:20Z */
#define S(x) ((int64_t)(x)*IG_NS_PER_S)

static int64_t rfc(const char *s)
{
    int64_t ns = 0;
    int rc = ig_time_parse_rfc3339(ig_str_from(s), &ns);
    if (rc)
        fail_msg("parse %s: %d", s, rc);
    return ns;
}

static void test_rfc3339_parse(void **state)
{
    (void)state;
    assert_true(rfc("2023-11-14T22:13:20Z") == S(T0));
    assert_true(rfc("2023-11-14t22:13:20z") == S(T0));
    assert_true(rfc("1970-01-01T00:00:00Z") == 0);
    /* Offsets. */
    assert_true(rfc("2023-11-14T23:13:20+01:00") == S(T0));
    assert_true(rfc("2023-11-14T17:13:20-05:00") == S(T0));
    assert_true(rfc("2023-11-15T03:43:20+05:30") == S(T0));
    assert_true(rfc("2023-11-14T22:13:20+00:00") == S(T0));
    assert_true(rfc("2023-11-14T22:13:20-00:00") == S(T0));
    /* Fractions. */
    assert_true(rfc("2023-11-14T22:13:20.5Z") == S(T0) + 500000000);
    assert_true(rfc("2023-11-14T22:13:20.123Z") == S(T0) + 123000000);
    assert_true(rfc("2023-11-14T22:13:20.123456789Z") == S(T0) + 123456789);
    assert_true(rfc("2023-11-14T22:13:20.000000001+01:00") == S(T0 - 3600) + 1);
    assert_true(rfc("2023-11-14T22:13:20.1234567899Z") == S(T0) + 123456789); /* truncated */
    /* Before the epoch. */
    assert_true(rfc("1969-12-31T23:59:59Z") == -S(1));
    assert_true(rfc("1969-12-31T23:59:59.5Z") == -500000000);
    /* Leap years. */
    assert_true(rfc("2024-02-29T00:00:00Z") == S(1709164800));
    assert_true(rfc("2000-02-29T12:00:00Z") == S(951825600));
    assert_true(rfc("2024-03-01T00:00:00Z") - rfc("2024-02-28T00:00:00Z") == S(2 * 86400));
    assert_true(rfc("2023-03-01T00:00:00Z") - rfc("2023-02-28T00:00:00Z") == S(86400));
    /* The ends of the int64 ns range, exactly. */
    assert_true(rfc("2262-04-11T23:47:16.854775807Z") == INT64_MAX);
    assert_true(rfc("1677-09-21T00:12:43.145224192Z") == INT64_MIN);
    assert_true(rfc("2262-04-12T00:47:16.854775807+01:00") == INT64_MAX);

    int64_t ns = 42;
    const char *bad[] = {
        "",
        "2023-11-14",
        "2023-11-14T22:13:20",  /* no zone */
        "2023-11-14 22:13:20Z", /* space */
        "2023-11-14T22:13Z",
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* century, not leap */
        "2023-04-31T00:00:00Z",
        "2023-13-01T00:00:00Z",
        "2023-00-10T00:00:00Z",
        "2023-01-00T00:00:00Z",
        "2023-01-01T24:00:00Z",
        "2023-01-01T23:60:00Z",
        "2023-01-01T23:59:60Z",
        "2023-01-01T23:59:59.Z",
        "2023-01-01T23:59:59+0100",
        "2023-01-01T23:59:59+01",
        "2023-01-01T23:59:59+24:00",
        "2023-01-01T23:59:59Zjunk",
        "2023-01-01T23:59:59ZZ",
        "23-01-01T23:59:59Z",
        "2023-1-01T23:59:59Z",
        "2023-01-01T23:59:59.12a3Z",
        "+023-01-01T23:59:59Z",
        "abcd-ef-ghTij:kl:mnZ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ig_time_parse_rfc3339(ig_str_from(bad[i]), &ns);
        if (rc != IG_EINVAL)
            fail_msg("%s: expected IG_EINVAL, got %d", bad[i], rc);
    }
    assert_int_equal(ns, 42); /* untouched on error */
    /* Outside the int64 ns range. */
    assert_int_equal(ig_time_parse_rfc3339(IG_STR("2263-01-01T00:00:00Z"), &ns), IG_ERANGE);
    assert_int_equal(ig_time_parse_rfc3339(IG_STR("2262-04-11T23:47:16.854775808Z"), &ns),
                     IG_ERANGE);
    assert_int_equal(ig_time_parse_rfc3339(IG_STR("1677-09-21T00:12:43.145224191Z"), &ns),
                     IG_ERANGE);
    assert_int_equal(ig_time_parse_rfc3339(IG_STR("9999-12-31T23:59:59Z"), &ns), IG_ERANGE);
    assert_int_equal(ig_time_parse_rfc3339(IG_STR("0001-01-01T00:00:00Z"), &ns), IG_ERANGE);
    /* Only len bytes are read. */
    assert_int_equal(ig_time_parse_rfc3339(ig_str_make("2023-11-14T22:13:20Zgarbage", 20), &ns), 0);
    assert_true(ns == S(T0));
}

static void fmt_eq(int64_t ns, int digits, const char *want)
{
    char buf[40];
    size_t n = ig_time_format_rfc3339(ns, digits, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_rfc3339_format(void **state)
{
    (void)state;
    fmt_eq(S(T0), 0, "2023-11-14T22:13:20Z");
    fmt_eq(S(T0), 3, "2023-11-14T22:13:20.000Z");
    fmt_eq(S(T0) + 123456789, 3, "2023-11-14T22:13:20.123Z");
    fmt_eq(S(T0) + 123456789, 6, "2023-11-14T22:13:20.123456Z");
    fmt_eq(S(T0) + 123456789, 9, "2023-11-14T22:13:20.123456789Z");
    fmt_eq(S(T0) + 120000000, -1, "2023-11-14T22:13:20.12Z");
    fmt_eq(S(T0), -1, "2023-11-14T22:13:20Z");
    fmt_eq(S(T0) + 1, -1, "2023-11-14T22:13:20.000000001Z");
    fmt_eq(0, 0, "1970-01-01T00:00:00Z");
    fmt_eq(-1, -1, "1969-12-31T23:59:59.999999999Z");
    fmt_eq(-500000000, -1, "1969-12-31T23:59:59.5Z");
    fmt_eq(S(1709164800), 0, "2024-02-29T00:00:00Z");
    fmt_eq(INT64_MAX, 9, "2262-04-11T23:47:16.854775807Z");
    fmt_eq(INT64_MIN, 9, "1677-09-21T00:12:43.145224192Z");
    /* Round trip through parse. */
    int64_t samples[] = {0, 1, -1, S(T0) + 987654321, S(951825600), -S(86400 * 365) + 7};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char buf[40];
        ig_time_format_rfc3339(samples[i], -1, buf, sizeof buf);
        assert_true(rfc(buf) == samples[i]);
    }
    /* Too small a buffer: nothing useful is claimed. */
    char small[10];
    assert_int_equal(ig_time_format_rfc3339(S(T0), 0, small, sizeof small), 0);
}

static int64_t loki(const char *s)
{
    int64_t ns = 0;
    int rc = ig_time_parse_loki(ig_str_from(s), &ns);
    if (rc)
        fail_msg("loki %s: %d", s, rc);
    return ns;
}

static void test_loki_timestamps(void **state)
{
    (void)state;
    assert_true(loki("1700000000") == S(T0));          /* <= 10 chars: seconds */
    assert_true(loki("1700000000000000000") == S(T0)); /* 19 digits: ns */
    assert_true(loki("1700000000123456789") == S(T0) + 123456789);
    assert_true(loki("17000000001") == 17000000001LL); /* 11 chars: ns */
    assert_true(loki("0") == 0);
    assert_true(loki("-1") == -S(1));
    /* Float seconds, rounded to milliseconds. */
    assert_true(loki("1700000000.123") == S(T0) + 123000000);
    assert_true(loki("1700000000.1234") == S(T0) + 123000000);
    assert_true(loki("1700000000.1236") == S(T0) + 124000000);
    assert_true(loki("1700000000.9996") == S(T0 + 1));
    assert_true(loki("1700000000.5") == S(T0) + 500000000);
    assert_true(loki("1700000000.") == S(T0));
    /* RFC 3339. */
    assert_true(loki("2023-11-14T22:13:20Z") == S(T0));
    assert_true(loki("2023-11-14T22:13:20.123456789Z") == S(T0) + 123456789);
    int64_t ns;
    const char *bad[] = {"", "abc", "1700000000x", "1.2.3", "now", "17000000.00.0", "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ig_time_parse_loki(ig_str_from(bad[i]), &ns);
        if (rc >= 0)
            fail_msg("loki %s: expected an error", bad[i]);
    }
    assert_int_equal(ig_time_parse_loki(IG_STR("99999999999999999999"), &ns), IG_ERANGE);
}

static void test_prom_and_unix_timestamps(void **state)
{
    (void)state;
    int64_t ns = 0;
    assert_int_equal(ig_time_parse_prom(IG_STR("1700000000"), &ns), 0);
    assert_true(ns == S(T0));
    assert_int_equal(ig_time_parse_prom(IG_STR("1700000000.5"), &ns), 0);
    assert_true(ns == S(T0) + 500000000);
    assert_int_equal(ig_time_parse_prom(IG_STR("1700000000.123456789"), &ns), 0);
    assert_true(ns == S(T0) + 123456789); /* not rounded to ms */
    assert_int_equal(ig_time_parse_prom(IG_STR("2023-11-14T22:13:20Z"), &ns), 0);
    assert_true(ns == S(T0));
    assert_int_equal(ig_time_parse_prom(IG_STR("-1.5"), &ns), 0);
    assert_true(ns == -1500000000);
    assert_true(ig_time_parse_prom(IG_STR(""), &ns) < 0);
    assert_true(ig_time_parse_prom(IG_STR("x"), &ns) < 0);
    assert_int_equal(ig_time_parse_unix_seconds(IG_STR(".25"), &ns), 0);
    assert_true(ns == 250000000);
    assert_int_equal(ig_time_parse_unix_seconds(IG_STR("12"), &ns), 0);
    assert_true(ns == S(12));
    assert_true(ig_time_parse_unix_seconds(IG_STR("1e3"), &ns) < 0);
    assert_true(ig_time_parse_unix_seconds(IG_STR("-"), &ns) < 0);
    /* Seconds beyond the int64 ns range are an error, never an overflow. */
    assert_int_equal(ig_time_parse_unix_seconds(IG_STR("9223372036"), &ns), 0);
    assert_int_equal(ig_time_parse_unix_seconds(IG_STR("9223372037"), &ns), IG_ERANGE);
    assert_int_equal(ig_time_parse_unix_seconds(IG_STR("9223372039"), &ns), IG_ERANGE);
    assert_int_equal(ig_time_parse_unix_seconds(IG_STR("9223372036.999999999"), &ns), IG_ERANGE);
    assert_int_equal(ig_time_parse_unix_seconds(IG_STR("99999999999999"), &ns), IG_ERANGE);
    assert_true(ig_time_parse_loki(IG_STR("9223372039.5"), &ns) < 0);
}

static int64_t dur(const char *s)
{
    int64_t ns = 0;
    int rc = ig_duration_parse(ig_str_from(s), 0, &ns);
    if (rc)
        fail_msg("duration %s: %d", s, rc);
    return ns;
}

static void test_duration_parse(void **state)
{
    (void)state;
    assert_true(dur("1h30m") == S(5400));
    assert_true(dur("250ms") == 250 * IG_NS_PER_MS);
    assert_true(dur("1d") == S(86400));
    assert_true(dur("1w") == S(7 * 86400));
    assert_true(dur("1y") == S(365 * 86400));
    assert_true(dur("1.5h") == S(5400));
    assert_true(dur("0.5s") == 500 * IG_NS_PER_MS);
    assert_true(dur("100us") == 100 * IG_NS_PER_US);
    assert_true(dur("100\xc2\xb5s") == 100 * IG_NS_PER_US); /* micro sign */
    assert_true(dur("100\xce\xbcs") == 100 * IG_NS_PER_US); /* Greek mu */
    assert_true(dur("10ns") == 10);
    assert_true(dur("0") == 0);
    assert_true(dur("0s") == 0);
    assert_true(dur("2h45m30s500ms") == S(2 * 3600 + 45 * 60 + 30) + 500 * IG_NS_PER_MS);
    assert_true(dur("90s") == S(90));
    assert_true(dur("+5m") == S(300));
    int64_t ns = 7;
    assert_int_equal(ig_duration_parse(IG_STR("-5m"), 1, &ns), 0);
    assert_true(ns == -S(300));
    assert_int_equal(ig_duration_parse(IG_STR("-5m"), 0, &ns), IG_EINVAL);
    const char *bad[] = {"1x",    "",       "h",   "1",  "5 m", "m5",   ".",   "-",  "+",
                         "1h-5m", "1.2.3s", "1hh", "1H", "ms",  "1e3s", " 1s", "1s "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ns = 7;
        int rc = ig_duration_parse(ig_str_from(bad[i]), 1, &ns);
        if (rc != IG_EINVAL)
            fail_msg("duration \"%s\": expected IG_EINVAL, got %d", bad[i], rc);
    }
    assert_int_equal(ig_duration_parse(IG_STR("300y"), 0, &ns), IG_ERANGE);
    assert_int_equal(ig_duration_parse(IG_STR("99999999999999999999h"), 0, &ns), IG_ERANGE);
}

static void dfmt(int64_t ns, const char *want)
{
    char buf[40];
    size_t n = ig_duration_format(ns, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_duration_format(void **state)
{
    (void)state;
    dfmt(S(5400), "1h30m");
    dfmt(250 * IG_NS_PER_MS, "250ms");
    dfmt(0, "0s");
    dfmt(S(86400), "1d");
    dfmt(S(7 * 86400), "1w");
    dfmt(S(365 * 86400), "1y");
    dfmt(S(86400 + 3600 + 60 + 1) + IG_NS_PER_MS, "1d1h1m1s1ms");
    dfmt(S(30), "30s");
    dfmt(-S(60), "-1m");
    dfmt(100 * IG_NS_PER_US, "100us");
    dfmt(1500, "1500ns");
    /* Round trip. */
    const char *rt[] = {"1h30m", "250ms", "1d", "1w", "1y", "2w3d4h", "10m", "1s500ms"};
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++)
        dfmt(dur(rt[i]), rt[i]);
}

static void test_civil_days(void **state)
{
    (void)state;
    assert_int_equal(ig_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(ig_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(ig_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(ig_days_from_ns(0), 0);
    assert_int_equal(ig_days_from_ns(-1), -1);
    assert_int_equal(ig_days_from_ns(S(86400) - 1), 0);
    assert_int_equal(ig_days_from_ns(S(86400)), 1);
    assert_int_equal(ig_days_from_ns(-S(86400)), -1);
    assert_int_equal(ig_days_from_ns(-S(86400) - 1), -2);
    int y;
    unsigned m, d;
    ig_civil_from_days(ig_days_from_ns(S(T0)), &y, &m, &d);
    assert_int_equal(y, 2023);
    assert_int_equal(m, 11);
    assert_int_equal(d, 14);
    /* Round trip over several centuries, checking day-by-day continuity. */
    int py = 0;
    unsigned pm = 0, pd = 0;
    for (int64_t day = -200000; day <= 200000; day++) {
        ig_civil_from_days(day, &y, &m, &d);
        assert_true(ig_days_from_civil(y, m, d) == day);
        if (day > -200000 && !(d == pd + 1 && m == pm && y == py))
            assert_true(d == 1 &&
                        ((m == pm + 1 && y == py) || (m == 1 && pm == 12 && y == py + 1)));
        py = y;
        pm = m;
        pd = d;
    }
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t a = ig_mono_ns(), b = ig_mono_ns();
    assert_true(b >= a);
    assert_true(ig_now_ns() > S(T0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_parse),   cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_loki_timestamps), cmocka_unit_test(test_prom_and_unix_timestamps),
        cmocka_unit_test(test_duration_parse),  cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_civil_days),      cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests_name("core/time", tests, NULL, NULL);
}
