/* Thrift compact protocol: an encoder that appends to a capped ig_buf and a
 * bounds-checked decoding cursor over a byte slice.
 *
 * Both sides use a sticky error: once a call fails, every later call is a no-op and
 * the first error code stays in `rc` (check it once at the end with th_writer_finish /
 * the reader's rc). Nesting (structs, lists of structs) is limited to TH_MAX_DEPTH on
 * both sides, so hostile input cannot exhaust the stack. The decoder never reads past
 * `end`, and list/map element counts are checked against the bytes that remain (every
 * element takes at least one byte on the wire), so a count can never make the caller
 * allocate more than a small multiple of the input size.
 *
 * Only the parts of the protocol that Parquet uses are exposed as typed helpers, but
 * th_skip() skips any value (including sets and maps) so unknown fields are ignored as
 * Thrift requires. */
#ifndef ICEGATE_THRIFT_H
#define ICEGATE_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/buf.h"

/* Compact protocol type codes (as they appear in field headers and list headers). */
enum th_type {
    TH_STOP = 0,
    TH_TRUE = 1, /* boolean true (field header); also "bool" as a list element type */
    TH_FALSE = 2,
    TH_BYTE = 3,
    TH_I16 = 4,
    TH_I32 = 5,
    TH_I64 = 6,
    TH_DOUBLE = 7,
    TH_BINARY = 8,
    TH_LIST = 9,
    TH_SET = 10,
    TH_MAP = 11,
    TH_STRUCT = 12
};

#define TH_MAX_DEPTH 64

/* ---- Encoder ---------------------------------------------------------------------- */

typedef struct th_writer {
    ig_buf *out; /* borrowed; bytes are appended */
    int rc;      /* first error (IG_ETOOBIG when out's cap is reached, IG_EINVAL on misuse) */
    int depth;
    int16_t last_id[TH_MAX_DEPTH + 1];
} th_writer;

void th_writer_init(th_writer *w, ig_buf *out);
/* Returns the sticky error (0 when everything was written). */
static inline int th_writer_finish(const th_writer *w)
{
    return w->rc;
}
/* Starts/ends a struct value (the top-level message is a struct too). th_struct_end
 * writes the STOP byte. */
void th_struct_begin(th_writer *w);
void th_struct_end(th_writer *w);
/* Field header for field `id` of compact type `type` (not for booleans). The value
 * follows with th_i32/th_i64/th_binary/th_list_begin/th_struct_begin... */
void th_field(th_writer *w, int16_t id, uint8_t type);
void th_field_bool(th_writer *w, int16_t id, bool v);
void th_field_i32(th_writer *w, int16_t id, int32_t v);
void th_field_i64(th_writer *w, int16_t id, int64_t v);
void th_field_binary(th_writer *w, int16_t id, const void *p, size_t n);
/* A field holding an empty struct (used by Parquet's unions of empty structs). */
void th_field_empty_struct(th_writer *w, int16_t id);
/* List header: n elements of type elem_type follow. */
void th_list_begin(th_writer *w, uint8_t elem_type, uint32_t n);
/* Bare values (list elements or after th_field). */
void th_i32(th_writer *w, int32_t v);
void th_i64(th_writer *w, int64_t v);
void th_byte(th_writer *w, int8_t v);
void th_double(th_writer *w, double v);
void th_binary(th_writer *w, const void *p, size_t n);
void th_bool_elem(th_writer *w, bool v); /* a bool list element */

/* ---- Decoder ---------------------------------------------------------------------- */

typedef struct th_reader {
    const uint8_t *p; /* next byte; never past end */
    const uint8_t *end;
    int rc; /* first error: IG_ECORRUPT (truncated, bad type, too deep, out of range) */
    int depth;
    int16_t last_id[TH_MAX_DEPTH + 1];
} th_reader;

void th_reader_init(th_reader *r, const void *p, size_t n);
/* Bytes consumed so far from `start` (the pointer given to th_reader_init). */
static inline size_t th_reader_pos(const th_reader *r, const void *start)
{
    return (size_t)(r->p - (const uint8_t *)start);
}
/* Enters/leaves a struct value. th_struct_leave expects that th_next_field returned
 * false (STOP consumed) and pops the field-id context. */
void th_struct_enter(th_reader *r);
void th_struct_leave(th_reader *r);
/* Reads the next field header of the current struct. Returns false at STOP or on
 * error. For boolean fields *type is TH_TRUE or TH_FALSE (the value is the type). */
bool th_next_field(th_reader *r, uint8_t *type, int16_t *id);
/* Fails the reader (IG_ECORRUPT) unless type == want; for booleans pass TH_TRUE and
 * either boolean type is accepted. Returns whether the type matched. */
bool th_expect(th_reader *r, uint8_t type, uint8_t want);
int32_t th_read_i32(th_reader *r); /* zigzag varint, range-checked; also used for i16/enum */
int64_t th_read_i64(th_reader *r);
int8_t th_read_byte(th_reader *r);
double th_read_double(th_reader *r);
/* A binary/string value as a slice into the input (not copied, not NUL-terminated). */
ig_str th_read_binary(th_reader *r);
bool th_read_bool_elem(th_reader *r);
/* List (or set) header; returns the element count (0 on error) and the element type.
 * The count is guaranteed <= the remaining input bytes. */
uint32_t th_read_list(th_reader *r, uint8_t *elem_type);
/* Skips one value of the given type (recursing into structs, lists, sets, maps up to
 * TH_MAX_DEPTH). */
void th_skip(th_reader *r, uint8_t type);
/* Marks the reader failed (keeps an earlier error). */
void th_fail(th_reader *r);

#endif
