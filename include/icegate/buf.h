/* Byte slices and growable buffers with caps.
 *
 * ig_str is a non-owning {ptr,len} view; bytes from the wire are always handled as
 * ig_str and never assumed NUL-terminated. ig_buf owns its storage and never grows
 * past the cap given at creation: appends past it fail with IG_ETOOBIG and leave the
 * buffer unchanged. */
#ifndef ICEGATE_BUF_H
#define ICEGATE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ig_str {
    const char *ptr;
    size_t len;
} ig_str;

#define IG_STR(lit) ((ig_str){(lit), sizeof(lit) - 1})
#define IG_STR_NULL ((ig_str){NULL, 0})

static inline ig_str ig_str_from(const char *cstr)
{
    ig_str s = {cstr, 0};
    if (cstr)
        while (cstr[s.len])
            s.len++;
    return s;
}
static inline ig_str ig_str_make(const void *p, size_t n)
{
    return (ig_str){(const char *)p, n};
}
bool ig_str_eq(ig_str a, ig_str b);
bool ig_str_eq_cstr(ig_str a, const char *b);
bool ig_str_case_eq(ig_str a, const char *b); /* ASCII case-insensitive */
bool ig_str_has_prefix(ig_str s, ig_str prefix);
int ig_str_cmp(ig_str a, ig_str b); /* bytewise, shorter first on tie */
ig_str ig_str_trim(ig_str s);       /* strips ASCII spaces and tabs */
/* Index of the first byte c in s, or -1. */
long ig_str_index(ig_str s, char c);
/* Parses a whole decimal integer (optional sign) into *out; IG_EINVAL / IG_ERANGE. */
int ig_str_to_i64(ig_str s, int64_t *out);
/* Parses a whole floating-point number (also "Inf", "+Inf", "-Inf", "NaN"). */
int ig_str_to_f64(ig_str s, double *out);

typedef struct ig_buf {
    char *data;  /* owned; NUL-terminated after every successful append (not counted in len) */
    size_t len;
    size_t cap;  /* allocated bytes */
    size_t max;  /* cap on len, set at init; 0 means SIZE_MAX/2 */
} ig_buf;

/* Initialises an empty buffer that may hold at most `max` bytes (0: no practical cap;
 * use only for data we produce ourselves). No allocation happens here. */
void ig_buf_init(ig_buf *b, size_t max);
/* Frees the storage and resets to empty (the cap is kept). */
void ig_buf_free(ig_buf *b);
/* Empties the buffer, keeping storage. */
static inline void ig_buf_reset(ig_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}
/* Makes room for `extra` more bytes. IG_ETOOBIG past max, IG_ENOMEM on allocation failure. */
int ig_buf_reserve(ig_buf *b, size_t extra);
int ig_buf_append(ig_buf *b, const void *p, size_t n);
static inline int ig_buf_append_str(ig_buf *b, ig_str s)
{
    return ig_buf_append(b, s.ptr, s.len);
}
int ig_buf_append_cstr(ig_buf *b, const char *s);
int ig_buf_putc(ig_buf *b, char c);
int ig_buf_printf(ig_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ig_buf_vprintf(ig_buf *b, const char *fmt, va_list ap);
/* Appends s as the inside of a JSON string (no surrounding quotes), escaping as JSON requires.
 * Invalid UTF-8 bytes are replaced by U+FFFD. */
int ig_buf_json_escape(ig_buf *b, ig_str s);
/* Appends "s" with quotes. */
int ig_buf_json_str(ig_buf *b, ig_str s);
/* Detaches the storage: returns data (caller owns, free with ig_free) and resets b. */
char *ig_buf_detach(ig_buf *b, size_t *len);
static inline ig_str ig_buf_str(const ig_buf *b)
{
    return (ig_str){b->data, b->len};
}

#endif
