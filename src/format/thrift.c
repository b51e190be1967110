/* Thrift compact protocol encoder and decoder (see include/icegate/thrift.h). */
#include <string.h>

#include "icegate/err.h"
#include "icegate/thrift.h"

/* ---- Encoder ---------------------------------------------------------------------- */

void th_writer_init(th_writer *w, ig_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

static void put(th_writer *w, const void *p, size_t n)
{
    if (w->rc)
        return;
    int rc = ig_buf_append(w->out, p, n);
    if (rc)
        w->rc = rc;
}

static void put_varint(th_writer *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    put(w, tmp, n);
}

static uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void th_struct_begin(th_writer *w)
{
    if (w->rc)
        return;
    if (w->depth >= TH_MAX_DEPTH) {
        w->rc = IG_EINVAL;
        return;
    }
    w->last_id[++w->depth] = 0;
}

void th_struct_end(th_writer *w)
{
    uint8_t stop = 0;
    put(w, &stop, 1);
    if (w->rc)
        return;
    if (w->depth <= 0) {
        w->rc = IG_EINVAL;
        return;
    }
    w->depth--;
}

void th_field(th_writer *w, int16_t id, uint8_t type)
{
    if (w->rc)
        return;
    int delta = id - w->last_id[w->depth];
    if (delta > 0 && delta <= 15) {
        uint8_t b = (uint8_t)((delta << 4) | type);
        put(w, &b, 1);
    } else {
        put(w, &type, 1);
        put_varint(w, zigzag64(id));
    }
    w->last_id[w->depth] = id;
}

void th_field_bool(th_writer *w, int16_t id, bool v)
{
    th_field(w, id, v ? TH_TRUE : TH_FALSE);
}

void th_field_i32(th_writer *w, int16_t id, int32_t v)
{
    th_field(w, id, TH_I32);
    th_i32(w, v);
}

void th_field_i64(th_writer *w, int16_t id, int64_t v)
{
    th_field(w, id, TH_I64);
    th_i64(w, v);
}

void th_field_binary(th_writer *w, int16_t id, const void *p, size_t n)
{
    th_field(w, id, TH_BINARY);
    th_binary(w, p, n);
}

void th_field_empty_struct(th_writer *w, int16_t id)
{
    th_field(w, id, TH_STRUCT);
    th_struct_begin(w);
    th_struct_end(w);
}

void th_list_begin(th_writer *w, uint8_t elem_type, uint32_t n)
{
    if (n < 15) {
        uint8_t b = (uint8_t)((n << 4) | elem_type);
        put(w, &b, 1);
    } else {
        uint8_t b = (uint8_t)(0xF0 | elem_type);
        put(w, &b, 1);
        put_varint(w, n);
    }
}

void th_i32(th_writer *w, int32_t v)
{
    put_varint(w, zigzag64(v));
}

void th_i64(th_writer *w, int64_t v)
{
    put_varint(w, zigzag64(v));
}

void th_byte(th_writer *w, int8_t v)
{
    put(w, &v, 1);
}

void th_double(th_writer *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(u >> (8 * i));
    put(w, b, 8);
}

void th_binary(th_writer *w, const void *p, size_t n)
{
    if (n > INT32_MAX) {
        if (!w->rc)
            w->rc = IG_ETOOBIG;
        return;
    }
    put_varint(w, n);
    put(w, p, n);
}

void th_bool_elem(th_writer *w, bool v)
{
    uint8_t b = v ? 1 : 2;
    put(w, &b, 1);
}

/* ---- Decoder ---------------------------------------------------------------------- */

void th_reader_init(th_reader *r, const void *p, size_t n)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->end = r->p + n;
}

void th_fail(th_reader *r)
{
    if (!r->rc)
        r->rc = IG_ECORRUPT;
    r->p = r->end;
}

static uint64_t get_varint(th_reader *r, int maxbytes)
{
    uint64_t v = 0;
    for (int i = 0; i < maxbytes; i++) {
        if (r->rc || r->p >= r->end) {
            th_fail(r);
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80))
            return v;
    }
    th_fail(r);
    return 0;
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

void th_struct_enter(th_reader *r)
{
    if (r->rc)
        return;
    if (r->depth >= TH_MAX_DEPTH) {
        th_fail(r);
        return;
    }
    r->last_id[++r->depth] = 0;
}

void th_struct_leave(th_reader *r)
{
    if (r->rc)
        return;
    if (r->depth <= 0) {
        th_fail(r);
        return;
    }
    r->depth--;
}

bool th_next_field(th_reader *r, uint8_t *type, int16_t *id)
{
    if (r->rc || r->p >= r->end) {
        th_fail(r);
        return false;
    }
    uint8_t b = *r->p++;
    if (b == 0)
        return false;
    uint8_t t = b & 0x0F;
    int delta = b >> 4;
    int32_t fid;
    if (delta)
        fid = r->last_id[r->depth] + delta;
    else {
        int64_t v = unzigzag(get_varint(r, 3));
        if (v < INT16_MIN || v > INT16_MAX) {
            th_fail(r);
            return false;
        }
        fid = (int32_t)v;
    }
    if (r->rc || t > TH_STRUCT || fid > INT16_MAX) {
        th_fail(r);
        return false;
    }
    r->last_id[r->depth] = (int16_t)fid;
    *type = t;
    *id = (int16_t)fid;
    return true;
}

bool th_expect(th_reader *r, uint8_t type, uint8_t want)
{
    if (want == TH_TRUE && (type == TH_TRUE || type == TH_FALSE))
        return true;
    if (type == want)
        return true;
    th_fail(r);
    return false;
}

int32_t th_read_i32(th_reader *r)
{
    int64_t v = unzigzag(get_varint(r, 5));
    if (v < INT32_MIN || v > INT32_MAX) {
        th_fail(r);
        return 0;
    }
    return (int32_t)v;
}

int64_t th_read_i64(th_reader *r)
{
    return unzigzag(get_varint(r, 10));
}

int8_t th_read_byte(th_reader *r)
{
    if (r->rc || r->p >= r->end) {
        th_fail(r);
        return 0;
    }
    return (int8_t)*r->p++;
}

double th_read_double(th_reader *r)
{
    if (r->rc || r->end - r->p < 8) {
        th_fail(r);
        return 0;
    }
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

ig_str th_read_binary(th_reader *r)
{
    uint64_t n = get_varint(r, 5);
    if (r->rc || n > (uint64_t)(r->end - r->p)) {
        th_fail(r);
        return (ig_str){(const char *)r->end, 0};
    }
    ig_str s = {(const char *)r->p, (size_t)n};
    r->p += n;
    return s;
}

bool th_read_bool_elem(th_reader *r)
{
    int8_t b = th_read_byte(r);
    if (b == 1)
        return true;
    if (b != 0 && b != 2)
        th_fail(r);
    return false;
}

uint32_t th_read_list(th_reader *r, uint8_t *elem_type)
{
    if (r->rc || r->p >= r->end) {
        th_fail(r);
        return 0;
    }
    uint8_t b = *r->p++;
    uint64_t n = b >> 4;
    *elem_type = b & 0x0F;
    if (n == 15)
        n = get_varint(r, 5);
    if (r->rc || *elem_type > TH_STRUCT || *elem_type == TH_STOP ||
        n > (uint64_t)(r->end - r->p)) {
        th_fail(r);
        return 0;
    }
    return (uint32_t)n;
}

static void skip_depth(th_reader *r, uint8_t type, int depth);

static void skip_n(th_reader *r, size_t n)
{
    if (r->rc || n > (size_t)(r->end - r->p)) {
        th_fail(r);
        return;
    }
    r->p += n;
}

static void skip_depth(th_reader *r, uint8_t type, int depth)
{
    if (r->rc)
        return;
    if (depth > TH_MAX_DEPTH) {
        th_fail(r);
        return;
    }
    switch (type) {
    case TH_TRUE:
    case TH_FALSE:
        return; /* the value was in the field header */
    case TH_BYTE:
        skip_n(r, 1);
        return;
    case TH_I16:
    case TH_I32:
    case TH_I64:
        (void)get_varint(r, 10);
        return;
    case TH_DOUBLE:
        skip_n(r, 8);
        return;
    case TH_BINARY:
        (void)th_read_binary(r);
        return;
    case TH_LIST:
    case TH_SET: {
        uint8_t et;
        uint32_t n = th_read_list(r, &et);
        for (uint32_t i = 0; i < n && !r->rc; i++) {
            if (et == TH_TRUE || et == TH_FALSE)
                (void)th_read_bool_elem(r);
            else
                skip_depth(r, et, depth + 1);
        }
        return;
    }
    case TH_MAP: {
        uint64_t n = get_varint(r, 5);
        if (r->rc || n > (uint64_t)(r->end - r->p)) {
            th_fail(r);
            return;
        }
        if (n == 0)
            return;
        uint8_t kv = (uint8_t)th_read_byte(r);
        uint8_t kt = kv >> 4, vt = kv & 15;
        if (kt == TH_STOP || vt == TH_STOP || kt > TH_STRUCT || vt > TH_STRUCT) {
            th_fail(r);
            return;
        }
        for (uint64_t i = 0; i < n && !r->rc; i++) {
            if (kt == TH_TRUE || kt == TH_FALSE)
                (void)th_read_bool_elem(r);
            else
                skip_depth(r, kt, depth + 1);
            if (vt == TH_TRUE || vt == TH_FALSE)
                (void)th_read_bool_elem(r);
            else
                skip_depth(r, vt, depth + 1);
        }
        return;
    }
    case TH_STRUCT: {
        th_struct_enter(r);
        uint8_t t;
        int16_t id;
        while (th_next_field(r, &t, &id))
            skip_depth(r, t, depth + 1);
        th_struct_leave(r);
        return;
    }
    default:
        th_fail(r);
    }
}

void th_skip(th_reader *r, uint8_t type)
{
    skip_depth(r, type, r->depth);
}
