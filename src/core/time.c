/* Time parsing and formatting (RFC 3339, Unix seconds, Loki/Prometheus forms, durations). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "icegate/err.h"
#include "icegate/time.h"

int64_t ig_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * IG_NS_PER_S + ts.tv_nsec;
}

int64_t ig_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * IG_NS_PER_S + ts.tv_nsec;
}

/* Howard Hinnant's civil-date algorithms (public-domain arithmetic facts). */
int64_t ig_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void ig_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

int64_t ig_days_from_ns(int64_t ns)
{
    int64_t d = ns / (86400 * IG_NS_PER_S);
    if (ns % (86400 * IG_NS_PER_S) < 0)
        d--;
    return d;
}

static int digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ig_time_parse_rfc3339(ig_str s, int64_t *ns)
{
    const char *p = s.ptr;
    size_t n = s.len;
    int Y, M, D, h, mi, sec;
    if (n < 20 || digits(p, 4, &Y) || p[4] != '-' || digits(p + 5, 2, &M) || p[7] != '-' ||
        digits(p + 8, 2, &D) || (p[10] != 'T' && p[10] != 't') || digits(p + 11, 2, &h) ||
        p[13] != ':' || digits(p + 14, 2, &mi) || p[16] != ':' || digits(p + 17, 2, &sec))
        return IG_EINVAL;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && is_leap(Y)) || h > 23 ||
        mi > 59 || sec > 59)
        return IG_EINVAL;
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && p[i] == '.') {
        i++;
        size_t start = i;
        int nd = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (p[i] - '0');
                nd++;
            }
            i++;
        }
        if (i == start)
            return IG_EINVAL;
        while (nd < 9) {
            frac *= 10;
            nd++;
        }
    }
    int64_t off = 0;
    if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
        int oh, om;
        if (digits(p + i + 1, 2, &oh) || digits(p + i + 4, 2, &om) || oh > 23 || om > 59)
            return IG_EINVAL;
        off = (int64_t)(oh * 60 + om) * 60;
        if (p[i] == '-')
            off = -off;
        i += 6;
    } else {
        return IG_EINVAL;
    }
    if (i != n)
        return IG_EINVAL;
    int64_t secs = ig_days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 +
                   sec - off;
    /* int64 ns covers 1677-09-21T00:12:43.145224192Z .. 2262-04-11T23:47:16.854775807Z */
    int64_t r;
    if (secs < 0 && frac > 0) { /* keep the product in range near the minimum */
        secs += 1;
        frac -= IG_NS_PER_S;
    }
    if (__builtin_mul_overflow(secs, IG_NS_PER_S, &r) || __builtin_add_overflow(r, frac, &r))
        return IG_ERANGE;
    *ns = r;
    return 0;
}

size_t ig_time_format_rfc3339(int64_t ns, int frac_digits, char *buf, size_t bufsz)
{
    int64_t secs = ns / IG_NS_PER_S;
    int64_t frac = ns % IG_NS_PER_S;
    if (frac < 0) {
        frac += IG_NS_PER_S;
        secs--;
    }
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int y;
    unsigned m, d;
    ig_civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, bufsz, "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60));
    if (n < 0 || (size_t)n >= bufsz)
        return 0;
    size_t len = (size_t)n;
    char fb[16];
    snprintf(fb, sizeof fb, "%09lld", (long long)frac);
    int nd = frac_digits;
    if (nd < 0) {
        nd = 9;
        while (nd > 0 && fb[nd - 1] == '0')
            nd--;
    } else if (nd > 9) {
        nd = 9;
    }
    if (nd > 0 && len + 1 + (size_t)nd + 2 <= bufsz) {
        buf[len++] = '.';
        memcpy(buf + len, fb, (size_t)nd);
        len += (size_t)nd;
    }
    if (len + 2 <= bufsz) {
        buf[len++] = 'Z';
        buf[len] = 0;
    }
    return len;
}

/* Parses "[-]digits[.digits]" into seconds and ns fraction (truncated to ns). */
static int parse_decimal_seconds(ig_str s, int64_t *ns, int round_ms)
{
    size_t i = 0;
    int neg = 0;
    if (s.len && (s.ptr[0] == '-' || s.ptr[0] == '+')) {
        neg = s.ptr[0] == '-';
        i++;
    }
    int64_t whole = 0;
    size_t wstart = i;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
        if (whole > (INT64_MAX / IG_NS_PER_S) / 10)
            return IG_ERANGE;
        whole = whole * 10 + (s.ptr[i] - '0');
        i++;
    }
    size_t wend = i;
    int64_t frac = 0;
    int nd = 0;
    int had_frac_digit = 0;
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            had_frac_digit = 1;
            if (nd < 9) {
                frac = frac * 10 + (s.ptr[i] - '0');
                nd++;
            }
            i++;
        }
    }
    if (i != s.len || (wend == wstart && !had_frac_digit))
        return IG_EINVAL;
    while (nd < 9) {
        frac *= 10;
        nd++;
    }
    if (round_ms)
        frac = (frac + IG_NS_PER_MS / 2) / IG_NS_PER_MS * IG_NS_PER_MS;
    int64_t v;
    if (__builtin_mul_overflow(whole, IG_NS_PER_S, &v) || __builtin_add_overflow(v, frac, &v))
        return IG_ERANGE;
    *ns = neg ? -v : v;
    return 0;
}

int ig_time_parse_unix_seconds(ig_str s, int64_t *ns)
{
    return parse_decimal_seconds(s, ns, 0);
}

int ig_time_parse_loki(ig_str s, int64_t *ns)
{
    if (s.len == 0)
        return IG_EINVAL;
    if (ig_str_index(s, '.') >= 0) {
        int64_t v;
        if (parse_decimal_seconds(s, &v, 1) == 0) {
            *ns = v;
            return 0;
        }
    } else {
        int64_t v;
        int rc = ig_str_to_i64(s, &v);
        if (rc == 0) {
            if (s.len <= 10) {
                if (v > INT64_MAX / IG_NS_PER_S || v < INT64_MIN / IG_NS_PER_S)
                    return IG_ERANGE;
                *ns = v * IG_NS_PER_S;
            } else {
                *ns = v;
            }
            return 0;
        }
        if (rc == IG_ERANGE)
            return rc;
    }
    return ig_time_parse_rfc3339(s, ns);
}

int ig_time_parse_prom(ig_str s, int64_t *ns)
{
    if (s.len == 0)
        return IG_EINVAL;
    if (parse_decimal_seconds(s, ns, 0) == 0)
        return 0;
    return ig_time_parse_rfc3339(s, ns);
}

int ig_duration_parse(ig_str s, int allow_negative, int64_t *ns)
{
    size_t i = 0;
    int neg = 0;
    if (s.len && (s.ptr[0] == '-' || s.ptr[0] == '+')) {
        if (s.ptr[0] == '-' && !allow_negative)
            return IG_EINVAL;
        neg = s.ptr[0] == '-';
        i++;
    }
    if (i == s.len)
        return IG_EINVAL;
    if (s.len - i == 1 && s.ptr[i] == '0') {
        *ns = 0;
        return 0;
    }
    double total = 0;
    while (i < s.len) {
        size_t st = i;
        double v = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
            v = v * 10 + (s.ptr[i++] - '0');
        if (i < s.len && s.ptr[i] == '.') {
            i++;
            double scale = 0.1;
            while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
                v += (s.ptr[i++] - '0') * scale;
                scale /= 10;
            }
        }
        if (i == st || (i == st + 1 && s.ptr[st] == '.'))
            return IG_EINVAL;
        size_t us = i;
        while (i < s.len && !(s.ptr[i] >= '0' && s.ptr[i] <= '9') && s.ptr[i] != '.')
            i++;
        ig_str u = {s.ptr + us, i - us};
        double mult;
        if (ig_str_eq_cstr(u, "ns"))
            mult = 1;
        else if (ig_str_eq_cstr(u, "us") || ig_str_eq_cstr(u, "\xc2\xb5s") ||
                 ig_str_eq_cstr(u, "\xce\xbcs"))
            mult = 1e3;
        else if (ig_str_eq_cstr(u, "ms"))
            mult = 1e6;
        else if (ig_str_eq_cstr(u, "s"))
            mult = 1e9;
        else if (ig_str_eq_cstr(u, "m"))
            mult = 60e9;
        else if (ig_str_eq_cstr(u, "h"))
            mult = 3600e9;
        else if (ig_str_eq_cstr(u, "d"))
            mult = 86400e9;
        else if (ig_str_eq_cstr(u, "w"))
            mult = 7 * 86400e9;
        else if (ig_str_eq_cstr(u, "y"))
            mult = 365 * 86400e9;
        else
            return IG_EINVAL;
        total += v * mult;
        if (total > 9.2e18)
            return IG_ERANGE;
    }
    int64_t r = (int64_t)llround(total);
    *ns = neg ? -r : r;
    return 0;
}

size_t ig_duration_format(int64_t ns, char *buf, size_t bufsz)
{
    if (bufsz == 0)
        return 0;
    if (ns == 0)
        return (size_t)snprintf(buf, bufsz, "0s");
    size_t len = 0;
    if (ns < 0) {
        buf[len++] = '-';
        ns = -ns;
    }
    int64_t ms = ns / IG_NS_PER_MS;
    if (ns % IG_NS_PER_MS) {
        /* sub-millisecond: not representable in Prometheus form; use Go-like units */
        int w = (ns % IG_NS_PER_US) ? snprintf(buf + len, bufsz - len, "%lldns", (long long)ns)
                                    : snprintf(buf + len, bufsz - len, "%lldus",
                                               (long long)(ns / IG_NS_PER_US));
        return w > 0 ? len + (size_t)w : len;
    }
    static const struct {
        const char *u;
        int64_t ms;
    } units[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000},
                 {"h", 3600000},          {"m", 60000},          {"s", 1000},
                 {"ms", 1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        int64_t q = ms / units[i].ms;
        if (q) {
            int w = snprintf(buf + len, bufsz - len, "%lld%s", (long long)q, units[i].u);
            if (w < 0 || (size_t)w >= bufsz - len)
                break;
            len += (size_t)w;
            ms -= q * units[i].ms;
        }
    }
    return len;
}
