/* Slices and capped growable buffers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/buf.h"
#include "icegate/err.h"

bool ig_str_eq(ig_str a, ig_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool ig_str_eq_cstr(ig_str a, const char *b)
{
    return ig_str_eq(a, ig_str_from(b));
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

bool ig_str_case_eq(ig_str a, const char *b)
{
    size_t n = strlen(b);
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a.ptr[i]) != lower(b[i]))
            return false;
    return true;
}

bool ig_str_has_prefix(ig_str s, ig_str prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.ptr, prefix.ptr, prefix.len) == 0);
}

int ig_str_cmp(ig_str a, ig_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

ig_str ig_str_trim(ig_str s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

long ig_str_index(ig_str s, char c)
{
    const char *p = s.len ? memchr(s.ptr, c, s.len) : NULL;
    return p ? (long)(p - s.ptr) : -1;
}

int ig_str_to_i64(ig_str s, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (s.len == 0)
        return IG_EINVAL;
    if (s.ptr[0] == '-' || s.ptr[0] == '+') {
        neg = s.ptr[0] == '-';
        i = 1;
        if (s.len == 1)
            return IG_EINVAL;
    }
    uint64_t v = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < s.len; i++) {
        char c = s.ptr[i];
        if (c < '0' || c > '9')
            return IG_EINVAL;
        unsigned d = (unsigned)(c - '0');
        if (v > (limit - d) / 10)
            return IG_ERANGE;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int ig_str_to_f64(ig_str s, double *out)
{
    char tmp[64];
    if (s.len == 0 || s.len >= sizeof tmp)
        return IG_EINVAL;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = 0;
    const char *t = tmp;
    int neg = 0;
    if (*t == '+' || *t == '-') {
        neg = *t == '-';
        t++;
    }
    if (strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (strcasecmp(t, "nan") == 0) {
        *out = NAN;
        return 0;
    }
    /* strtod accepts hex floats and leading spaces; reject those as Go does for LogQL/PromQL. */
    for (const char *c = t; *c; c++)
        if (!((*c >= '0' && *c <= '9') || *c == '.' || *c == 'e' || *c == 'E' || *c == '+' ||
              *c == '-'))
            return IG_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + s.len)
        return IG_EINVAL;
    if (errno == ERANGE && isinf(v))
        return IG_ERANGE;
    *out = v;
    return 0;
}

void ig_buf_init(ig_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX / 2;
}

void ig_buf_free(ig_buf *b)
{
    ig_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int ig_buf_reserve(ig_buf *b, size_t extra)
{
    size_t need;
    if (ig_size_add(b->len, extra, &need) || need > b->max)
        return IG_ETOOBIG;
    if (need + 1 <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need + 1)
        ncap = ncap > SIZE_MAX / 2 ? need + 1 : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    char *p = ig_realloc(b->data, ncap);
    if (!p)
        return IG_ENOMEM;
    p[b->len] = 0; /* data is a C string whenever it is allocated, even before an append */
    b->data = p;
    b->cap = ncap;
    return 0;
}

int ig_buf_append(ig_buf *b, const void *p, size_t n)
{
    int rc = ig_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int ig_buf_append_cstr(ig_buf *b, const char *s)
{
    return ig_buf_append(b, s, strlen(s));
}

int ig_buf_putc(ig_buf *b, char c)
{
    return ig_buf_append(b, &c, 1);
}

int ig_buf_vprintf(ig_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return IG_EINVAL;
    if ((size_t)n < sizeof small)
        return ig_buf_append(b, small, (size_t)n);
    int rc = ig_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int ig_buf_printf(ig_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ig_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

int ig_buf_json_escape(ig_buf *b, ig_str s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, run = 0;
    int rc;
    while (i < s.len) {
        unsigned char c = p[i];
        size_t l = (c >= 0x20 && c != '"' && c != '\\') ? utf8_seq_len(p + i, s.len - i) : 0;
        if (l) {
            i += l;
            run += l;
            continue;
        }
        if (run && (rc = ig_buf_append(b, p + i - run, run)))
            return rc;
        run = 0;
        char esc[8];
        size_t el;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            el = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            el = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
            el = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            el = 2;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        } else { /* invalid UTF-8 byte */
            memcpy(esc, "\xEF\xBF\xBD", 3);
            el = 3;
        }
        if ((rc = ig_buf_append(b, esc, el)))
            return rc;
        i++;
    }
    if (run && (rc = ig_buf_append(b, p + i - run, run)))
        return rc;
    if (!b->data)
        return ig_buf_reserve(b, 0);
    return 0;
}

int ig_buf_json_str(ig_buf *b, ig_str s)
{
    int rc;
    if ((rc = ig_buf_putc(b, '"')) || (rc = ig_buf_json_escape(b, s)))
        return rc;
    return ig_buf_putc(b, '"');
}

char *ig_buf_detach(ig_buf *b, size_t *len)
{
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return d;
}
