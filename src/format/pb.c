/* Protobuf wire format: slow paths of the decoder, skipping, packed iteration, encoder.
 * The hot paths are inline in include/icegate/pb.h. See docs/wire-formats.md. */
#include <stdio.h>
#include <string.h>

#include "icegate/pb.h"

static const char *wire_name(unsigned w)
{
    static const char *const names[8] = {"varint",    "fixed64", "length-delimited", "start-group",
                                         "end-group", "fixed32", "6 (invalid)",      "7 (invalid)"};
    return names[w & 7];
}

static int corrupt(const pb_reader *r, const uint8_t *at, const char *what)
{
    return ig_err(r->eb, IG_ECORRUPT, "protobuf: %s at byte %zu", what, (size_t)(at - r->base));
}

int pb__wire_err(pb_reader *r, unsigned want)
{
    if (!r->pending)
        return ig_err(r->eb, IG_EINVAL,
                      "protobuf: field %u at byte %zu: value read twice or no current field",
                      r->field, (size_t)(r->tag - r->base));
    return ig_err(r->eb, IG_ECORRUPT, "protobuf: field %u at byte %zu: wire type %s, expected %s",
                  r->field, (size_t)(r->tag - r->base), wire_name(r->wire), wire_name(want));
}

int pb__len_err(pb_reader *r, uint64_t len)
{
    size_t left = (size_t)(r->end - r->p);
    if (r->wire == PB_LEN)
        return ig_err(r->eb, IG_ECORRUPT,
                      "protobuf: field %u at byte %zu: length %llu exceeds the %zu bytes left "
                      "in the message",
                      r->field, (size_t)(r->tag - r->base), (unsigned long long)len, left);
    return ig_err(r->eb, IG_ECORRUPT,
                  "protobuf: field %u at byte %zu: truncated %s value (needs %llu bytes, %zu "
                  "left)",
                  r->field, (size_t)(r->tag - r->base), wire_name(r->wire), (unsigned long long)len,
                  left);
}

int pb__depth_err(pb_reader *r)
{
    return ig_err(r->eb, IG_ECORRUPT,
                  "protobuf: field %u at byte %zu: messages nested deeper than %d", r->field,
                  (size_t)(r->tag - r->base), PB_MAX_DEPTH);
}

/* Decodes a varint at *pp (< end). 0, or -1 truncated, -2 longer than 10 bytes or
 * overflowing 64 bits. */
static int varint_decode(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (p >= end)
            return -1;
        unsigned b = *p++;
        if (i == 9 && b > 1)
            return -2;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -2;
}

static int varint_err(const pb_reader *r, const uint8_t *at, int e, const char *what)
{
    char msg[160];
    if (r->field)
        snprintf(msg, sizeof msg, "field %u: %s %s", r->field, what,
                 e == -1 ? "varint truncated" : "varint longer than 10 bytes or over 64 bits");
    else
        snprintf(msg, sizeof msg, "%s %s", what,
                 e == -1 ? "varint truncated" : "varint longer than 10 bytes or over 64 bits");
    return corrupt(r, at, msg);
}

int pb__varint_slow(pb_reader *r, uint64_t *v)
{
    const uint8_t *at = r->p;
    int e = varint_decode(&r->p, r->end, v);
    if (e)
        return varint_err(r, at, e, r->wire == PB_LEN ? "length" : "value");
    return 0;
}

int pb__next_slow(pb_reader *r)
{
    const uint8_t *at = r->p;
    uint64_t tag;
    int e = varint_decode(&r->p, r->end, &tag);
    if (e) {
        r->p = at;
        return corrupt(r, at, e == -1 ? "tag varint truncated" : "tag varint too long");
    }
    if (tag > UINT32_MAX) {
        r->p = at;
        return corrupt(r, at, "tag above 32 bits (field number too large)");
    }
    uint32_t field = (uint32_t)(tag >> 3);
    unsigned wire = (unsigned)(tag & 7);
    if (field == 0) {
        r->p = at;
        return corrupt(r, at, "field number 0");
    }
    r->tag = at;
    r->field = field;
    r->wire = (uint8_t)wire;
    if (wire == PB_EGROUP || wire > PB_I32) {
        r->p = at;
        r->pending = 0;
        return ig_err(r->eb, IG_ECORRUPT, "protobuf: field %u at byte %zu: %s", field,
                      (size_t)(at - r->base),
                      wire == PB_EGROUP ? "end-group without a matching start-group"
                      : wire == 6       ? "invalid wire type 6"
                                        : "invalid wire type 7");
    }
    r->pending = 1;
    return 1;
}

/* Skips the value of wire type `wire` at r->p (tag already consumed). For groups, walks to
 * the end-group of `field`, nested groups counting towards the depth limit. */
static int skip_value(pb_reader *r, uint32_t field, unsigned wire, const uint8_t *tag,
                      unsigned depth)
{
    uint64_t v;
    int e;
    const uint8_t *at = r->p;
    switch (wire) {
    case PB_VARINT:
        if ((e = varint_decode(&r->p, r->end, &v)))
            return ig_err(r->eb, IG_ECORRUPT, "protobuf: field %u at byte %zu: value %s", field,
                          (size_t)(at - r->base),
                          e == -1 ? "varint truncated"
                                  : "varint longer than 10 bytes or over 64 bits");
        return 0;
    case PB_I64:
    case PB_I32: {
        size_t n = wire == PB_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return ig_err(r->eb, IG_ECORRUPT,
                          "protobuf: field %u at byte %zu: truncated %s value (needs %zu "
                          "bytes, %zu left)",
                          field, (size_t)(tag - r->base), wire_name(wire), n,
                          (size_t)(r->end - r->p));
        r->p += n;
        return 0;
    }
    case PB_LEN:
        if ((e = varint_decode(&r->p, r->end, &v)))
            return ig_err(r->eb, IG_ECORRUPT, "protobuf: field %u at byte %zu: length %s", field,
                          (size_t)(at - r->base),
                          e == -1 ? "varint truncated"
                                  : "varint longer than 10 bytes or over 64 bits");
        if (v > (uint64_t)(r->end - r->p))
            return ig_err(r->eb, IG_ECORRUPT,
                          "protobuf: field %u at byte %zu: length %llu exceeds the %zu bytes "
                          "left in the message",
                          field, (size_t)(tag - r->base), (unsigned long long)v,
                          (size_t)(r->end - r->p));
        r->p += v;
        return 0;
    case PB_SGROUP:
        if (depth >= PB_MAX_DEPTH)
            return ig_err(r->eb, IG_ECORRUPT,
                          "protobuf: field %u at byte %zu: groups nested deeper than %d", field,
                          (size_t)(tag - r->base), PB_MAX_DEPTH);
        for (;;) {
            const uint8_t *t = r->p;
            uint64_t tv;
            if (r->p >= r->end)
                return ig_err(r->eb, IG_ECORRUPT,
                              "protobuf: field %u at byte %zu: group not terminated before the "
                              "end of the message",
                              field, (size_t)(tag - r->base));
            if ((e = varint_decode(&r->p, r->end, &tv)))
                return corrupt(r, t, e == -1 ? "tag varint truncated" : "tag varint too long");
            if (tv > UINT32_MAX)
                return corrupt(r, t, "tag above 32 bits (field number too large)");
            uint32_t f = (uint32_t)(tv >> 3);
            unsigned w = (unsigned)(tv & 7);
            if (f == 0)
                return corrupt(r, t, "field number 0");
            if (w == PB_EGROUP) {
                if (f != field)
                    return ig_err(r->eb, IG_ECORRUPT,
                                  "protobuf: field %u at byte %zu: end-group does not match "
                                  "the start-group of field %u at byte %zu",
                                  f, (size_t)(t - r->base), field, (size_t)(tag - r->base));
                return 0;
            }
            if (w > PB_I32)
                return ig_err(r->eb, IG_ECORRUPT,
                              "protobuf: field %u at byte %zu: invalid wire type %u", f,
                              (size_t)(t - r->base), w);
            int rc = skip_value(r, f, w, t, depth + 1);
            if (rc < 0)
                return rc;
        }
    default:
        return ig_err(r->eb, IG_ECORRUPT, "protobuf: field %u at byte %zu: invalid wire type %u",
                      field, (size_t)(tag - r->base), wire);
    }
}

int pb_skip(pb_reader *r)
{
    if (!r->pending)
        return 0;
    int rc = skip_value(r, r->field, r->wire, r->tag, r->depth);
    if (rc == 0)
        r->pending = 0;
    return rc;
}

/* ---- Strings ---------------------------------------------------------------------- */

size_t pb_utf8_invalid_at(ig_str s)
{
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t n = s.len, i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, p + i, 8);
            if (x & 0x8080808080808080ull)
                break;
            i += 8;
        }
        while (i < n && p[i] < 0x80)
            i++;
        if (i >= n)
            break;
        unsigned c = p[i];
        size_t l = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            l = n - i >= 2 && (p[i + 1] & 0xC0) == 0x80 ? 2 : 0;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (n - i >= 3 && (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80 &&
                !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] >= 0xA0))
                l = 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (n - i >= 4 && (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80 &&
                (p[i + 3] & 0xC0) == 0x80 && !(c == 0xF0 && p[i + 1] < 0x90) &&
                !(c == 0xF4 && p[i + 1] >= 0x90))
                l = 4;
        }
        if (!l)
            return i;
        i += l;
    }
    return SIZE_MAX;
}

int pb_string(pb_reader *r, ig_str *out)
{
    int rc = pb_bytes(r, out);
    if (rc < 0)
        return rc;
    size_t bad = pb_utf8_invalid_at(*out);
    if (bad != SIZE_MAX)
        return ig_err(r->eb, IG_ECORRUPT,
                      "protobuf: field %u at byte %zu: string is not valid UTF-8 (byte 0x%02x "
                      "at byte %zu)",
                      r->field, (size_t)(r->tag - r->base), (uint8_t)out->ptr[bad],
                      (size_t)((const uint8_t *)out->ptr + bad - r->base));
    return 0;
}

/* ---- Packed repeated -------------------------------------------------------------- */

int pb_packed_begin(pb_reader *r, pb_packed *it, enum pb_wire elem)
{
    it->base = r->base;
    it->eb = r->eb;
    it->field = r->field;
    it->elem = (uint8_t)elem;
    it->p = it->end = r->p;
    if (elem != PB_VARINT && elem != PB_I64 && elem != PB_I32)
        return ig_err(r->eb, IG_EINVAL, "protobuf: packed element type %s not allowed",
                      wire_name(elem));
    if (r->pending && r->wire == PB_LEN) {
        ig_str s = IG_STR_NULL;
        int rc = pb_bytes(r, &s);
        if (rc < 0)
            return rc;
        size_t sz = elem == PB_I64 ? 8 : elem == PB_I32 ? 4 : 1;
        if (s.len % sz)
            return ig_err(r->eb, IG_ECORRUPT,
                          "protobuf: field %u at byte %zu: packed %s length %zu is not a "
                          "multiple of %zu",
                          r->field, (size_t)(r->tag - r->base), wire_name(elem), s.len, sz);
        if (elem == PB_VARINT && s.len && ((const uint8_t *)s.ptr)[s.len - 1] >= 0x80)
            return ig_err(r->eb, IG_ECORRUPT,
                          "protobuf: field %u at byte %zu: packed varints end in a truncated "
                          "varint",
                          r->field, (size_t)(r->tag - r->base));
        it->p = (const uint8_t *)s.ptr;
        it->end = it->p + s.len;
        return 0;
    }
    if (!r->pending || r->wire != elem)
        return pb__wire_err(r, elem);
    const uint8_t *start = r->p;
    int rc = pb_skip(r); /* validates and finds the extent of the one element */
    if (rc < 0)
        return rc;
    it->p = start;
    it->end = r->p;
    return 0;
}

size_t pb_packed_count(const pb_packed *it)
{
    size_t n = (size_t)(it->end - it->p);
    if (it->elem == PB_I64)
        return n / 8;
    if (it->elem == PB_I32)
        return n / 4;
    size_t c = 0;
    for (const uint8_t *q = it->p; q < it->end; q++)
        c += *q < 0x80;
    return c;
}

static int packed_type_err(const pb_packed *it, unsigned want)
{
    return ig_err(it->eb, IG_EINVAL, "protobuf: field %u: packed %s iterator read as %s", it->field,
                  wire_name(it->elem), wire_name(want));
}

int pb_packed_varint(pb_packed *it, uint64_t *v)
{
    if (it->elem != PB_VARINT)
        return packed_type_err(it, PB_VARINT);
    if (it->p >= it->end)
        return 0;
    if (*it->p < 0x80) {
        *v = *it->p++;
        return 1;
    }
    const uint8_t *at = it->p;
    int e = varint_decode(&it->p, it->end, v);
    if (e)
        return ig_err(it->eb, IG_ECORRUPT, "protobuf: field %u at byte %zu: packed element %s",
                      it->field, (size_t)(at - it->base),
                      e == -1 ? "varint truncated" : "varint longer than 10 bytes or over 64 bits");
    return 1;
}

int pb_packed_fixed64(pb_packed *it, uint64_t *v)
{
    if (it->elem != PB_I64)
        return packed_type_err(it, PB_I64);
    if (it->end - it->p < 8) /* lengths are checked multiples of 8 */
        return 0;
    *v = pb__le64(it->p);
    it->p += 8;
    return 1;
}

int pb_packed_fixed32(pb_packed *it, uint32_t *v)
{
    if (it->elem != PB_I32)
        return packed_type_err(it, PB_I32);
    if (it->end - it->p < 4)
        return 0;
    *v = pb__le32(it->p);
    it->p += 4;
    return 1;
}

/* ---- Writer ---------------------------------------------------------------------- */

void pb_writer_init(pb_writer *w, ig_buf *out)
{
    w->out = out;
    w->rc = 0;
    w->depth = 0;
}

int pb_writer_finish(const pb_writer *w)
{
    if (w->rc)
        return w->rc;
    return w->depth ? IG_EINVAL : 0;
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

void pb_put_raw(pb_writer *w, const void *p, size_t n)
{
    if (w->rc)
        return;
    int rc = ig_buf_append(w->out, p, n);
    if (rc)
        w->rc = rc;
}

void pb_put_raw_varint(pb_writer *w, uint64_t v)
{
    uint8_t tmp[10];
    pb_put_raw(w, tmp, varint_put(tmp, v));
}

void pb_put_raw_fixed64(pb_writer *w, uint64_t v)
{
    uint8_t tmp[8];
    for (int i = 0; i < 8; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    pb_put_raw(w, tmp, 8);
}

void pb_put_raw_fixed32(pb_writer *w, uint32_t v)
{
    uint8_t tmp[4];
    for (int i = 0; i < 4; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    pb_put_raw(w, tmp, 4);
}

void pb_put_tag(pb_writer *w, uint32_t field, enum pb_wire wire)
{
    if (w->rc)
        return;
    if (field == 0 || field > PB_MAX_FIELD || (unsigned)wire > PB_I32) {
        w->rc = IG_EINVAL;
        return;
    }
    pb_put_raw_varint(w, ((uint64_t)field << 3) | (unsigned)wire);
}

void pb_put_varint(pb_writer *w, uint32_t field, uint64_t v)
{
    pb_put_tag(w, field, PB_VARINT);
    pb_put_raw_varint(w, v);
}

void pb_put_int64(pb_writer *w, uint32_t field, int64_t v)
{
    pb_put_varint(w, field, (uint64_t)v);
}

void pb_put_sint64(pb_writer *w, uint32_t field, int64_t v)
{
    pb_put_varint(w, field, pb_zigzag_enc64(v));
}

void pb_put_bool(pb_writer *w, uint32_t field, bool v)
{
    pb_put_varint(w, field, v ? 1 : 0);
}

void pb_put_fixed64(pb_writer *w, uint32_t field, uint64_t v)
{
    pb_put_tag(w, field, PB_I64);
    pb_put_raw_fixed64(w, v);
}

void pb_put_fixed32(pb_writer *w, uint32_t field, uint32_t v)
{
    pb_put_tag(w, field, PB_I32);
    pb_put_raw_fixed32(w, v);
}

void pb_put_double(pb_writer *w, uint32_t field, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    pb_put_fixed64(w, field, u);
}

void pb_put_float(pb_writer *w, uint32_t field, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    pb_put_fixed32(w, field, u);
}

void pb_put_bytes(pb_writer *w, uint32_t field, ig_str s)
{
    /* all or nothing: reserve the whole field first */
    if (!w->rc && (w->rc = ig_buf_reserve(w->out, pb_varint_size((uint64_t)field << 3) +
                                                      pb_varint_size(s.len) + s.len)))
        return;
    pb_put_tag(w, field, PB_LEN);
    pb_put_raw_varint(w, s.len);
    if (s.len)
        pb_put_raw(w, s.ptr, s.len);
}

void pb_put_begin(pb_writer *w, uint32_t field)
{
    if (w->rc)
        return;
    if (w->depth >= PB_MAX_DEPTH) {
        w->rc = IG_EINVAL;
        return;
    }
    pb_put_tag(w, field, PB_LEN);
    uint8_t zero = 0;
    pb_put_raw(w, &zero, 1); /* placeholder for a length < 128 */
    if (w->rc)
        return;
    w->open[w->depth++] = w->out->len - 1;
}

void pb_put_end(pb_writer *w)
{
    if (w->rc)
        return;
    if (w->depth == 0) {
        w->rc = IG_EINVAL;
        return;
    }
    size_t at = w->open[--w->depth];
    size_t len = w->out->len - at - 1;
    uint8_t tmp[10];
    size_t n = varint_put(tmp, len);
    if (n > 1) {
        int rc = ig_buf_reserve(w->out, n - 1);
        if (rc) {
            w->rc = rc;
            return;
        }
        char *d = w->out->data;
        memmove(d + at + n, d + at + 1, len);
        w->out->len += n - 1;
        d[w->out->len] = 0;
    }
    memcpy(w->out->data + at, tmp, n);
}

/* ---- OTLP / gRPC responses -------------------------------------------------------- */

int pb_encode_export_response(ig_buf *out, int64_t rejected, ig_str error_message)
{
    pb_writer w;
    pb_writer_init(&w, out);
    if (rejected != 0 || error_message.len) {
        pb_put_begin(&w, 1);
        if (rejected != 0)
            pb_put_int64(&w, 1, rejected);
        if (error_message.len)
            pb_put_bytes(&w, 2, error_message);
        pb_put_end(&w);
    }
    if (!w.rc && !out->data) /* leave a valid (empty) buffer behind */
        w.rc = ig_buf_reserve(out, 0);
    return pb_writer_finish(&w);
}

int pb_encode_rpc_status(ig_buf *out, int32_t code, ig_str message)
{
    pb_writer w;
    pb_writer_init(&w, out);
    if (code != 0)
        pb_put_int64(&w, 1, code);
    if (message.len)
        pb_put_bytes(&w, 2, message);
    if (!w.rc && !out->data)
        w.rc = ig_buf_reserve(out, 0);
    return pb_writer_finish(&w);
}
