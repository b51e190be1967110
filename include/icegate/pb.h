/* Protobuf wire format: a zero-copy pull decoder over a byte slice and a small encoder
 * that appends to a capped ig_buf. Design note: docs/wire-formats.md.
 *
 * Decoding. A pb_reader walks the fields of one message:
 *
 *     pb_reader r;
 *     pb_reader_init(&r, body, &eb);
 *     int rc;
 *     while ((rc = pb_next(&r)) > 0) {
 *         switch (r.field) {
 *         case 1: rc = pb_sub(&r, &sub); ... break;      // nested message
 *         case 2: rc = pb_bytes(&r, &s); break;           // view into `body`
 *         case 3: rc = pb_fixed64(&r, &t); break;
 *         default: break;                                 // unknown: skipped by pb_next
 *         }
 *         if (rc < 0) return rc;
 *     }
 *     if (rc < 0) return rc;
 *
 * pb_next() returns 1 with r.field / r.wire set, 0 at the end of the message, or a
 * negative code. A field whose value the caller did not read is skipped by the next
 * pb_next() (forward compatibility: unknown fields cost nothing to handle). Every value
 * reader checks the wire type and fails with IG_ECORRUPT if it differs; on any error the
 * output is zeroed (NULL view), never left uninitialised.
 *
 * Strictness: truncated input, a varint longer than 10 bytes or overflowing 64 bits,
 * a tag above 32 bits, field number 0 or above 2^29-1, wire types 6 and 7, an
 * end-group with no open group, a length past the end of the enclosing message, and
 * nesting deeper than PB_MAX_DEPTH all fail with IG_ECORRUPT and a message in the
 * caller's ig_errbuf naming the field number and the byte offset (from the start of the
 * outermost message handed to pb_reader_init).
 *
 * Groups (wire types 3/4, proto2 only; OTLP never uses them) are not decoded, but an
 * unknown group field is skipped correctly: pb_next() returns it with wire PB_SGROUP
 * and skipping walks to the matching end-group (same field number), nested groups
 * included, within PB_MAX_DEPTH. No value reader accepts a group.
 *
 * Strings: pb_bytes returns raw bytes; pb_string also checks UTF-8 (proto3 `string`).
 *
 * Ownership: nothing is allocated; every ig_str returned points into the input, which
 * must outlive the views. The ig_errbuf is borrowed and may be NULL.
 *
 * Integer semantics follow protobuf: int32/uint32/enum fields are truncated from the
 * 64-bit varint (pb_int32 & co.), bool is "varint != 0", sint* use zigzag. */
#ifndef ICEGATE_PB_H
#define ICEGATE_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "icegate/buf.h"
#include "icegate/err.h"

/* Maximum message nesting (sub-messages and groups) for both reader and writer. OTLP
 * needs about 8 plus 3 per level of AnyValue nesting. */
#define PB_MAX_DEPTH 64
#define PB_MAX_FIELD 536870911u /* 2^29 - 1 */

enum pb_wire {
    PB_VARINT = 0,
    PB_I64 = 1, /* fixed64, sfixed64, double */
    PB_LEN = 2, /* bytes, string, sub-message, packed repeated */
    PB_SGROUP = 3,
    PB_EGROUP = 4,
    PB_I32 = 5 /* fixed32, sfixed32, float */
};

/* ---- Reader ---------------------------------------------------------------------- */

typedef struct pb_reader {
    const uint8_t *p;    /* next byte; never past end */
    const uint8_t *end;  /* end of this message */
    const uint8_t *base; /* start of the outermost message (error offsets count from here) */
    const uint8_t *tag;  /* start of the current field's tag */
    ig_errbuf *eb;       /* borrowed, may be NULL */
    uint32_t field;      /* current field number, valid after pb_next() returned 1 */
    uint8_t wire;        /* current wire type (enum pb_wire) */
    uint8_t pending;     /* 1 while the current field's value has not been consumed */
    uint16_t depth;      /* nesting of this reader (0 for the outermost message) */
} pb_reader;

/* Starts reading the message `msg` (outermost: depth 0, offsets from msg.ptr). */
static inline void pb_reader_init(pb_reader *r, ig_str msg, ig_errbuf *eb)
{
    r->p = msg.ptr ? (const uint8_t *)msg.ptr : (const uint8_t *)"";
    r->end = r->p + (msg.ptr ? msg.len : 0);
    r->base = r->p;
    r->tag = r->p;
    r->eb = eb;
    r->field = 0;
    r->wire = 0;
    r->pending = 0;
    r->depth = 0;
}

/* Byte offset of the reader's position / of the current field's tag, from the start of
 * the outermost message. */
static inline size_t pb_offset(const pb_reader *r)
{
    return (size_t)(r->p - r->base);
}
static inline size_t pb_field_offset(const pb_reader *r)
{
    return (size_t)(r->tag - r->base);
}
/* Bytes left in this message. */
static inline size_t pb_remaining(const pb_reader *r)
{
    return (size_t)(r->end - r->p);
}

/* Internals shared by the inline functions below (src/format/pb.c). */
int pb__next_slow(pb_reader *r);
int pb__varint_slow(pb_reader *r, uint64_t *v);
int pb__wire_err(pb_reader *r, unsigned want);
int pb__len_err(pb_reader *r, uint64_t len);
int pb__depth_err(pb_reader *r);

/* Skips the value of the current field (any wire type; groups to their end). Called by
 * pb_next() for values the caller did not read. 0 or IG_ECORRUPT. */
int pb_skip(pb_reader *r);

/* Advances to the next field: 1 (r->field, r->wire set), 0 at the end, <0 on error. */
static inline int pb_next(pb_reader *r)
{
    if (r->pending) {
        int rc = pb_skip(r);
        if (rc < 0)
            return rc;
    }
    if (r->p >= r->end)
        return 0;
    unsigned b = r->p[0];
    /* One-byte tag, field != 0, wire type in {0,1,2,5}: the common case. */
    if (b >= 8 && b < 0x80 && ((0x27u >> (b & 7)) & 1)) {
        r->tag = r->p++;
        r->field = b >> 3;
        r->wire = (uint8_t)(b & 7);
        r->pending = 1;
        return 1;
    }
    return pb__next_slow(r);
}

/* Reads a raw varint value at the reader's position (no tag); used by the value readers. */
static inline int pb__varint_raw(pb_reader *r, uint64_t *v)
{
    if (r->p < r->end && r->p[0] < 0x80) {
        *v = *r->p++;
        return 0;
    }
    if (r->end - r->p >= 2 && r->p[1] < 0x80) {
        *v = (uint64_t)(r->p[0] & 0x7f) | ((uint64_t)r->p[1] << 7);
        r->p += 2;
        return 0;
    }
    return pb__varint_slow(r, v);
}

/* The value of a varint field (wire type 0), as the raw 64-bit value. */
static inline int pb_varint(pb_reader *r, uint64_t *v)
{
    *v = 0; /* also the value on error, so callers never see an uninitialised value */
    if (r->wire != PB_VARINT || !r->pending)
        return pb__wire_err(r, PB_VARINT);
    r->pending = 0;
    return pb__varint_raw(r, v);
}

static inline int64_t pb_zigzag_dec64(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}
static inline uint64_t pb_zigzag_enc64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int32_t pb_zigzag_dec32(uint32_t v)
{
    return (int32_t)(v >> 1) ^ -(int32_t)(v & 1);
}
static inline uint32_t pb_zigzag_enc32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

/* Typed varint fields: int64, uint64 (pb_varint), int32/enum and uint32 (truncated to
 * 32 bits as protobuf does), sint64/sint32 (zigzag), bool (nonzero = true). */
static inline int pb_int64(pb_reader *r, int64_t *v)
{
    uint64_t u;
    int rc = pb_varint(r, &u);
    *v = (int64_t)u;
    return rc;
}
static inline int pb_int32(pb_reader *r, int32_t *v)
{
    uint64_t u;
    int rc = pb_varint(r, &u);
    *v = (int32_t)(uint32_t)u;
    return rc;
}
static inline int pb_uint32(pb_reader *r, uint32_t *v)
{
    uint64_t u;
    int rc = pb_varint(r, &u);
    *v = (uint32_t)u;
    return rc;
}
static inline int pb_sint64(pb_reader *r, int64_t *v)
{
    uint64_t u;
    int rc = pb_varint(r, &u);
    *v = pb_zigzag_dec64(u);
    return rc;
}
static inline int pb_sint32(pb_reader *r, int32_t *v)
{
    uint64_t u;
    int rc = pb_varint(r, &u);
    *v = pb_zigzag_dec32((uint32_t)u);
    return rc;
}
static inline int pb_bool(pb_reader *r, bool *v)
{
    uint64_t u;
    int rc = pb_varint(r, &u);
    *v = u != 0;
    return rc;
}

static inline uint64_t pb__le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}
static inline uint32_t pb__le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* fixed64 / sfixed64 / double fields (wire type 1). */
static inline int pb_fixed64(pb_reader *r, uint64_t *v)
{
    *v = 0;
    if (r->wire != PB_I64 || !r->pending)
        return pb__wire_err(r, PB_I64);
    if (r->end - r->p < 8)
        return pb__len_err(r, 8);
    *v = pb__le64(r->p);
    r->p += 8;
    r->pending = 0;
    return 0;
}
static inline int pb_double(pb_reader *r, double *v)
{
    uint64_t u;
    int rc = pb_fixed64(r, &u);
    memcpy(v, &u, 8);
    return rc;
}
/* fixed32 / sfixed32 / float fields (wire type 5). */
static inline int pb_fixed32(pb_reader *r, uint32_t *v)
{
    *v = 0;
    if (r->wire != PB_I32 || !r->pending)
        return pb__wire_err(r, PB_I32);
    if (r->end - r->p < 4)
        return pb__len_err(r, 4);
    *v = pb__le32(r->p);
    r->p += 4;
    r->pending = 0;
    return 0;
}
static inline int pb_float(pb_reader *r, float *v)
{
    uint32_t u;
    int rc = pb_fixed32(r, &u);
    memcpy(v, &u, 4);
    return rc;
}

/* A length-delimited field (string, bytes, message, packed): *out is a view into the
 * input (never copied; strings are not checked for UTF-8 here). */
static inline int pb_bytes(pb_reader *r, ig_str *out)
{
    out->ptr = NULL;
    out->len = 0;
    if (r->wire != PB_LEN || !r->pending)
        return pb__wire_err(r, PB_LEN);
    uint64_t len = 0;
    int rc = pb__varint_raw(r, &len);
    if (rc < 0)
        return rc;
    if (len > (uint64_t)(r->end - r->p))
        return pb__len_err(r, len);
    out->ptr = (const char *)r->p;
    out->len = (size_t)len;
    r->p += len;
    r->pending = 0;
    return 0;
}

/* Offset of the first byte of s that is not valid UTF-8 (overlong forms, surrogates and
 * code points above U+10FFFF are invalid), or SIZE_MAX if s is valid. */
size_t pb_utf8_invalid_at(ig_str s);

/* A proto3 `string` field: pb_bytes plus UTF-8 validation (as protobuf-go rejects invalid
 * UTF-8 in string fields): IG_ECORRUPT naming the field and the offending byte's offset. */
int pb_string(pb_reader *r, ig_str *out);

/* A sub-message field: initialises *sub to read it (same base and errbuf, depth + 1).
 * IG_ECORRUPT past PB_MAX_DEPTH. The parent continues after the sub-message at once;
 * the sub-reader may be used (or abandoned) independently. */
static inline int pb_sub(pb_reader *r, pb_reader *sub)
{
    ig_str s = IG_STR_NULL;
    if (r->depth >= PB_MAX_DEPTH)
        return pb__depth_err(r);
    int rc = pb_bytes(r, &s);
    if (rc < 0)
        return rc;
    sub->p = (const uint8_t *)s.ptr;
    sub->end = sub->p + s.len;
    sub->base = r->base;
    sub->tag = sub->p;
    sub->eb = r->eb;
    sub->field = 0;
    sub->wire = 0;
    sub->pending = 0;
    sub->depth = (uint16_t)(r->depth + 1);
    return 0;
}

/* Repeated scalars. Proto3 writes them packed (one PB_LEN field), but a decoder must also
 * accept the unpacked form (one field per element) and both may be mixed. pb_packed_begin
 * accepts either: on a PB_LEN field it iterates the packed payload, on a field whose wire
 * type is `elem` (PB_VARINT, PB_I64 or PB_I32) it yields that one element. For packed
 * fixed-size elements the payload length must be a multiple of the element size. The
 * iterator holds views into the input; the reader has already moved past the field. */
typedef struct pb_packed {
    const uint8_t *p, *end, *base;
    ig_errbuf *eb;
    uint32_t field;
    uint8_t elem; /* enum pb_wire of the elements */
} pb_packed;

int pb_packed_begin(pb_reader *r, pb_packed *it, enum pb_wire elem);
/* Number of elements (exact; counts varint terminator bytes), e.g. to size a column. */
size_t pb_packed_count(const pb_packed *it);
/* Next element: 1 with *v set, 0 at the end, <0 (IG_ECORRUPT, or IG_EINVAL if the
 * iterator's element type differs). */
int pb_packed_varint(pb_packed *it, uint64_t *v);
int pb_packed_fixed64(pb_packed *it, uint64_t *v);
int pb_packed_fixed32(pb_packed *it, uint32_t *v);

/* ---- Writer ---------------------------------------------------------------------- */

/* Appends to a capped ig_buf with a sticky error: after the first failure every call is
 * a no-op, and pb_writer_finish() returns the first error (IG_ETOOBIG when the buffer's
 * cap is reached, IG_ENOMEM, or IG_EINVAL on misuse: field 0 or > PB_MAX_FIELD,
 * unbalanced begin/end, nesting deeper than PB_MAX_DEPTH). Length-delimited fields that
 * are built in place (pb_put_begin/pb_put_end) get a 1-byte length placeholder that is
 * widened (payload moved) on pb_put_end if needed, so the output is canonical. Fields are
 * written in the order of the calls; proto3 default values are not omitted here (the
 * caller decides). The buffer is borrowed; bytes already in it are kept. */
typedef struct pb_writer {
    ig_buf *out;
    int rc;
    int depth;
    size_t open[PB_MAX_DEPTH]; /* offset of the length placeholder of each open field */
} pb_writer;

void pb_writer_init(pb_writer *w, ig_buf *out);
int pb_writer_finish(const pb_writer *w);

/* Raw pieces (no tag), for packed payloads and hand-made test inputs. */
void pb_put_raw_varint(pb_writer *w, uint64_t v);
void pb_put_raw_fixed64(pb_writer *w, uint64_t v);
void pb_put_raw_fixed32(pb_writer *w, uint32_t v);
void pb_put_raw(pb_writer *w, const void *p, size_t n);
void pb_put_tag(pb_writer *w, uint32_t field, enum pb_wire wire);

/* Whole fields. */
void pb_put_varint(pb_writer *w, uint32_t field, uint64_t v); /* uint64, uint32, enum>=0 */
void pb_put_int64(pb_writer *w, uint32_t field,
                  int64_t v); /* int64, int32, enum: two's complement */
void pb_put_sint64(pb_writer *w, uint32_t field, int64_t v); /* sint64/sint32: zigzag */
void pb_put_bool(pb_writer *w, uint32_t field, bool v);
void pb_put_fixed64(pb_writer *w, uint32_t field, uint64_t v);
void pb_put_fixed32(pb_writer *w, uint32_t field, uint32_t v);
void pb_put_double(pb_writer *w, uint32_t field, double v);
void pb_put_float(pb_writer *w, uint32_t field, float v);
void pb_put_bytes(pb_writer *w, uint32_t field, ig_str s); /* string or bytes */
/* Opens a length-delimited field (sub-message or packed payload) written by the calls
 * that follow, up to the matching pb_put_end. */
void pb_put_begin(pb_writer *w, uint32_t field);
void pb_put_end(pb_writer *w);

/* Encoded size of a varint (1..10). */
static inline size_t pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* ---- OTLP / gRPC responses -------------------------------------------------------- */

/* Export{Logs,Trace,Metrics}ServiceResponse: empty when rejected == 0 and the message is
 * empty, else field 1 = partial_success { 1: rejected_* (int64), 2: error_message }.
 * The three responses share this shape. Appends to out; 0, IG_ETOOBIG or IG_ENOMEM. */
int pb_encode_export_response(ig_buf *out, int64_t rejected, ig_str error_message);
/* google.rpc.Status { 1: code (int32), 2: message } (no details). */
int pb_encode_rpc_status(ig_buf *out, int32_t code, ig_str message);

#endif
