/* JSON (RFC 8259): a streaming pull reader over a byte slice, number helpers, a small
 * writer, and the base64 / hex codecs OTLP/JSON needs. Design note: docs/wire-formats.md.
 *
 * Reading. The reader hands out one token at a time (json_next) and offers typed helpers
 * for the usual "decode straight into columns" loop:
 *
 *     json_reader r;
 *     json_reader_init(&r, body, &eb);
 *     ig_str key;
 *     int rc = json_obj_begin(&r);
 *     while (rc == 0 && (rc = json_obj_next_key(&r, &key)) > 0) {
 *         if (ig_str_eq_cstr(key, "timeUnixNano"))   rc = json_u64(&r, &ts);
 *         else if (ig_str_eq_cstr(key, "body"))      rc = decode_any(&r);
 *         else                                       rc = json_skip(&r);
 *     }
 *     if (rc >= 0) rc = json_end(&r);      // only whitespace may follow the top value
 *     json_reader_free(&r);
 *
 * Every helper returns a negative code on error (IG_ECORRUPT for malformed JSON or a
 * value of the wrong type or nesting deeper than max_depth, IG_ERANGE for numbers out
 * of range, IG_ENOMEM if the arena is full, IG_EINVAL when a helper is called where it
 * makes no sense, e.g. json_obj_next_key inside an array) with a message in
 * the caller's ig_errbuf giving the byte offset. Errors are sticky: after one, every call
 * returns the same code.
 *
 * Validation is strict RFC 8259 (what protojson and Go's encoding/json accept): no
 * trailing commas, no comments, no single quotes, no leading zeros, no "+1", ".5", "1.",
 * NaN or Infinity literals; only space, tab, CR and LF as whitespace; one top-level value
 * of any type. Strings: unescaped control characters (< 0x20) and invalid UTF-8 (overlong
 * forms, surrogates D800-DFFF encoded in UTF-8, code points above 10FFFF, truncated
 * sequences) are errors naming the offset. A lone surrogate in a \u escape (\uD800 not
 * followed by \uDC00-\uDFFF, or a lone \uDC00) is an error by default; with the flag
 * JSON_LONE_SURROGATE_FFFD it decodes to U+FFFD instead (as JavaScript's JSON.stringify
 * output can contain them). \u0000 decodes to a NUL byte (ig_str carries it). Duplicate
 * object keys are passed through (the caller decides).
 *
 * Strings are zero-copy: a string without escapes is returned as a view into the input.
 * A string with escapes is decoded into reader-owned scratch memory that stays valid until
 * the next string of the same kind (keys and values have separate scratch buffers, so a
 * key stays valid while its value is read) -- or, when r->arena is set, into that arena,
 * valid for its lifetime. Scratch memory is capped by the input length.
 *
 * Numbers keep their raw text (token str / json_number), so 64-bit integers are exact;
 * json_num_i64/u64/f64 convert. */
#ifndef ICEGATE_JSON_H
#define ICEGATE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"

#define JSON_DEPTH_LIMIT 1024  /* hard upper bound for max_depth */
#define JSON_DEFAULT_DEPTH 128 /* default max_depth: nested objects/arrays */

enum json_type {
    JSON_EOF = 0, /* after the top-level value and trailing whitespace */
    JSON_OBJ,     /* '{' */
    JSON_OBJ_END, /* '}' */
    JSON_ARR,     /* '[' */
    JSON_ARR_END, /* ']' */
    JSON_KEY,     /* an object member name (the ':' is consumed with it) */
    JSON_STRING,
    JSON_NUMBER,
    JSON_TRUE,
    JSON_FALSE,
    JSON_NULL
};

/* Name of a token type ("string", "'{'", ...) for messages. */
const char *json_type_name(int type);

enum json_flags {
    JSON_LONE_SURROGATE_FFFD = 1 /* decode lone surrogate escapes as U+FFFD, not an error */
};

typedef struct json_tok {
    int type;     /* enum json_type */
    ig_str str;   /* KEY, STRING: the decoded text; NUMBER, TRUE, FALSE, NULL: the raw text */
    size_t off;   /* byte offset of the token in the input */
    bool escaped; /* KEY, STRING: had escapes (str is in scratch or arena, not the input) */
} json_tok;

typedef struct json_reader {
    const uint8_t *in;
    size_t len;
    size_t pos;      /* next byte to look at */
    ig_errbuf *eb;   /* borrowed, may be NULL */
    ig_arena *arena; /* optional (set after init): decoded strings go here, stable */
    unsigned flags;  /* enum json_flags, set after init */
    int max_depth;   /* set after init; default JSON_DEFAULT_DEPTH, <= JSON_DEPTH_LIMIT */
    int depth;
    int state;
    int rc;                                /* sticky error */
    ig_buf kscratch;                       /* owned: decoded keys */
    ig_buf vscratch;                       /* owned: decoded string values */
    uint64_t stack[JSON_DEPTH_LIMIT / 64]; /* bit i: container at depth i+1 is an object */
} json_reader;

/* Starts reading `in` (borrowed; must outlive the reader and every view it returns). */
void json_reader_init(json_reader *r, ig_str in, ig_errbuf *eb);
/* Frees the scratch buffers (views into them become invalid). */
void json_reader_free(json_reader *r);
/* Byte offset of the reader in the input. */
static inline size_t json_offset(const json_reader *r)
{
    return r->pos;
}
/* Current nesting depth (0 at top level, 1 inside the outermost container). */
static inline int json_depth(const json_reader *r)
{
    return r->depth;
}

/* Low level: the next token. 1 with *t filled, 0 at the end of input (t->type =
 * JSON_EOF, only after the complete top-level value), <0 on error. Object members come as
 * JSON_KEY followed by the value's token(s). */
int json_next(json_reader *r, json_tok *t);

/* Type of what comes next without consuming it (separators are consumed): a value type,
 * JSON_KEY, JSON_OBJ_END / JSON_ARR_END, or JSON_EOF; <0 on error (including a trailing
 * comma or a missing separator). */
int json_peek(json_reader *r);

/* Consumes '{' / '['. Error (IG_ECORRUPT "expected object, got ...") for any other value. */
int json_obj_begin(json_reader *r);
int json_arr_begin(json_reader *r);
/* Inside an object: 1 with *key set (the reader is then at the member's value, which the
 * caller must read or json_skip), 0 when the closing '}' was consumed, <0 on error. */
int json_obj_next_key(json_reader *r, ig_str *key);
/* Inside an array: 1 if another element follows (read it, or json_skip it), 0 when the
 * closing ']' was consumed, <0 on error. */
int json_arr_next(json_reader *r);

/* Value readers: consume the next value, which must have the named type (else
 * IG_ECORRUPT "expected string, got number at byte N"). */
int json_str(json_reader *r, ig_str *out);
int json_bool(json_reader *r, bool *out);
int json_number(json_reader *r, ig_str *raw); /* raw number text */
/* 1 and consumes it if the next value is null; 0 (nothing consumed) if not; <0 on error. */
int json_null(json_reader *r);
/* Integers as protojson writes them: a JSON number or a string holding one (OTLP int64
 * and fixed64 fields are strings). Exponent/fraction forms are accepted when the value is
 * integral ("1e3", "10.0"). IG_ERANGE out of range, IG_ECORRUPT if not an integer. */
int json_i64(json_reader *r, int64_t *out);
int json_u64(json_reader *r, uint64_t *out);
/* Doubles as protojson writes them: a number, or a string holding a number or "NaN",
 * "Infinity", "-Infinity". A finite number beyond the double range (1e400) is IG_ERANGE
 * (as protojson rejects it); underflow (1e-400) gives 0 or a subnormal. */
int json_f64(json_reader *r, double *out);
/* Skips the next value (objects and arrays entirely), validating it. */
int json_skip(json_reader *r);
/* Skips the next value and returns its raw JSON text (a view into the input). */
int json_raw(json_reader *r, ig_str *raw);
/* After the top-level value: succeeds if only whitespace remains. */
int json_end(json_reader *r);

/* Number text -> value. The text must match the JSON number grammar exactly (no spaces).
 * i64/u64: exact, integral values only (fraction/exponent allowed if integral; "-0" is 0);
 * IG_EINVAL not a number or not integral, IG_ERANGE out of range. f64: correctly rounded
 * (strtod, C locale), IG_ERANGE on overflow. */
int json_num_i64(ig_str s, int64_t *out);
int json_num_u64(ig_str s, uint64_t *out);
int json_num_f64(ig_str s, double *out);
/* Whether s is exactly a JSON number. */
bool json_is_number(ig_str s);

/* ---- Writer ---------------------------------------------------------------------- */

/* Appends compact JSON to a capped ig_buf (borrowed) with a sticky error: commas and
 * colons are inserted as needed; json_writer_finish returns the first error
 * (IG_ETOOBIG past the buffer cap, IG_ENOMEM, IG_EINVAL on misuse: a value where a key is
 * needed, unbalanced containers, nesting beyond JSON_DEPTH_LIMIT). Strings are escaped
 * with ig_buf_json_escape (invalid UTF-8 becomes U+FFFD). */
typedef struct json_writer {
    ig_buf *out;
    int rc;
    int depth;
    bool need_comma;                     /* a value was written at this level */
    bool after_key;                      /* a key was written; its value comes next */
    uint64_t obj[JSON_DEPTH_LIMIT / 64]; /* bit per level: object (1) or array (0) */
} json_writer;

void json_writer_init(json_writer *w, ig_buf *out);
int json_writer_finish(const json_writer *w);
void json_w_obj_begin(json_writer *w);
void json_w_obj_end(json_writer *w);
void json_w_arr_begin(json_writer *w);
void json_w_arr_end(json_writer *w);
void json_w_key(json_writer *w, ig_str key);
void json_w_str(json_writer *w, ig_str s);
void json_w_i64(json_writer *w, int64_t v);
void json_w_u64(json_writer *w, uint64_t v);
/* Shortest text that reads back to the same double; NaN and +-Inf, which JSON cannot
 * represent, are written as the strings "NaN", "Infinity", "-Infinity" (protojson). */
void json_w_f64(json_writer *w, double v);
void json_w_bool(json_writer *w, bool v);
void json_w_null(json_writer *w);
/* A value that is already valid JSON text (not checked). */
void json_w_raw(json_writer *w, ig_str json);

/* ---- Codecs ----------------------------------------------------------------------- */

/* Upper bound of the decoded size of n base64 characters. */
static inline size_t json_b64_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}
/* Decodes base64 as protojson accepts it for bytes fields: the standard ("+/") or the
 * URL-safe ("-_") alphabet (not mixed), with correct "=" padding or none. Non-zero
 * trailing bits are accepted (as Go's default decoder does); whitespace is not.
 * Writes at most cap bytes to out and the decoded size to *n. IG_ECORRUPT with the
 * offending offset, IG_ETOOBIG if cap is too small. */
int json_b64_decode(ig_str in, void *out, size_t cap, size_t *n, ig_errbuf *eb);
/* Appends the standard padded base64 of `bytes` (as protojson writes bytes fields). */
int json_b64_encode(ig_buf *out, ig_str bytes);
/* Decodes exactly n bytes from 2n hex digits (either case). IG_ECORRUPT if the length is
 * not 2n or a character is not a hex digit (the message names it). */
int json_hex_decode(ig_str in, void *out, size_t n, ig_errbuf *eb);
/* Appends lowercase hex of `bytes`. */
int json_hex_encode(ig_buf *out, ig_str bytes);

#endif
