/* Shared Parquet metadata pieces: names, page headers and Statistics (Thrift), the
 * statistics sort order and min/max truncation. */
#include <math.h>
#include <string.h>

#include "icegate/err.h"
#include "pq_internal.h"

const char *pq_phys_name(pq_phys t)
{
    static const char *n[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                              "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return (unsigned)t < 8 ? n[t] : "?";
}

const char *pq_codec_name(pq_codec c)
{
    static const char *n[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                              "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return (unsigned)c < 8 ? n[c] : "?";
}

const char *pq_encoding_name(int e)
{
    static const char *n[] = {"PLAIN",
                              "GROUP_VAR_INT",
                              "PLAIN_DICTIONARY",
                              "RLE",
                              "BIT_PACKED",
                              "DELTA_BINARY_PACKED",
                              "DELTA_LENGTH_BYTE_ARRAY",
                              "DELTA_BYTE_ARRAY",
                              "RLE_DICTIONARY",
                              "BYTE_STREAM_SPLIT"};
    return e >= 0 && e < 10 ? n[e] : "?";
}

/* ---- Statistics ------------------------------------------------------------------- */

void pq__write_stats(th_writer *w, const pq_stats *s)
{
    th_struct_begin(w);
    if (s->has_null_count)
        th_field_i64(w, 3, s->null_count);
    if (s->has_distinct)
        th_field_i64(w, 4, s->distinct_count);
    if (s->has_max)
        th_field_binary(w, 5, s->max.ptr, s->max.len);
    if (s->has_min)
        th_field_binary(w, 6, s->min.ptr, s->min.len);
    if (s->has_max)
        th_field_bool(w, 7, s->max_exact);
    if (s->has_min)
        th_field_bool(w, 8, s->min_exact);
    if (s->has_nan_count)
        th_field_i64(w, 9, s->nan_count);
    th_struct_end(w);
}

void pq__read_stats(th_reader *r, pq_stats *s, bool allow_legacy)
{
    memset(s, 0, sizeof *s);
    ig_str legacy_min = {0}, legacy_max = {0};
    bool has_lmin = false, has_lmax = false, exact_min_set = false, exact_max_set = false;
    uint8_t t;
    int16_t id;
    th_struct_enter(r);
    while (th_next_field(r, &t, &id)) {
        switch (id) {
        case 1:
            if (th_expect(r, t, TH_BINARY)) {
                legacy_max = th_read_binary(r);
                has_lmax = true;
            }
            break;
        case 2:
            if (th_expect(r, t, TH_BINARY)) {
                legacy_min = th_read_binary(r);
                has_lmin = true;
            }
            break;
        case 3:
            if (th_expect(r, t, TH_I64)) {
                s->null_count = th_read_i64(r);
                s->has_null_count = true;
            }
            break;
        case 4:
            if (th_expect(r, t, TH_I64)) {
                s->distinct_count = th_read_i64(r);
                s->has_distinct = true;
            }
            break;
        case 5:
            if (th_expect(r, t, TH_BINARY)) {
                s->max = th_read_binary(r);
                s->has_max = true;
            }
            break;
        case 6:
            if (th_expect(r, t, TH_BINARY)) {
                s->min = th_read_binary(r);
                s->has_min = true;
            }
            break;
        case 7:
            if (th_expect(r, t, TH_TRUE)) {
                s->max_exact = t == TH_TRUE;
                exact_max_set = true;
            }
            break;
        case 8:
            if (th_expect(r, t, TH_TRUE)) {
                s->min_exact = t == TH_TRUE;
                exact_min_set = true;
            }
            break;
        case 9:
            if (th_expect(r, t, TH_I64)) {
                s->nan_count = th_read_i64(r);
                s->has_nan_count = true;
            }
            break;
        default:
            th_skip(r, t);
        }
    }
    th_struct_leave(r);
    /* Legacy min/max use signed order: valid only where that is the type order. */
    if (allow_legacy && !s->has_min && has_lmin) {
        s->min = legacy_min;
        s->has_min = true;
    }
    if (allow_legacy && !s->has_max && has_lmax) {
        s->max = legacy_max;
        s->has_max = true;
    }
    if (s->has_min && !exact_min_set)
        s->min_exact = false;
    if (s->has_max && !exact_max_set)
        s->max_exact = false;
}

/* ---- Page header ------------------------------------------------------------------ */

void pq__write_page_header(th_writer *w, const pq__page_header *h)
{
    th_struct_begin(w);
    th_field_i32(w, 1, h->type);
    th_field_i32(w, 2, h->usize);
    th_field_i32(w, 3, h->csize);
    if (h->type == 0) {
        th_field(w, 5, TH_STRUCT);
        th_struct_begin(w);
        th_field_i32(w, 1, h->num_values);
        th_field_i32(w, 2, h->encoding);
        th_field_i32(w, 3, h->def_encoding);
        th_field_i32(w, 4, h->rep_encoding);
        if (h->has_stats) {
            th_field(w, 5, TH_STRUCT);
            pq__write_stats(w, &h->stats);
        }
        th_struct_end(w);
    } else if (h->type == 2) {
        th_field(w, 7, TH_STRUCT);
        th_struct_begin(w);
        th_field_i32(w, 1, h->num_values);
        th_field_i32(w, 2, h->encoding);
        th_struct_end(w);
    } else if (h->type == 3) {
        th_field(w, 8, TH_STRUCT);
        th_struct_begin(w);
        th_field_i32(w, 1, h->num_values);
        th_field_i32(w, 2, h->num_nulls);
        th_field_i32(w, 3, h->num_rows);
        th_field_i32(w, 4, h->encoding);
        th_field_i32(w, 5, h->def_len);
        th_field_i32(w, 6, h->rep_len);
        th_field_bool(w, 7, h->is_compressed);
        if (h->has_stats) {
            th_field(w, 8, TH_STRUCT);
            pq__write_stats(w, &h->stats);
        }
        th_struct_end(w);
    }
    th_struct_end(w);
}

static void read_data_header(th_reader *r, pq__page_header *h)
{
    uint8_t t;
    int16_t id;
    th_struct_enter(r);
    while (th_next_field(r, &t, &id)) {
        if (id >= 1 && id <= 4 && th_expect(r, t, TH_I32)) {
            int32_t v = th_read_i32(r);
            if (id == 1)
                h->num_values = v;
            else if (id == 2)
                h->encoding = v;
            else if (id == 3)
                h->def_encoding = v;
            else
                h->rep_encoding = v;
        } else if (id == 5 && th_expect(r, t, TH_STRUCT)) {
            pq__read_stats(r, &h->stats, false);
            h->has_stats = true;
        } else if (id < 1 || id > 5)
            th_skip(r, t);
    }
    th_struct_leave(r);
}

static void read_dict_header(th_reader *r, pq__page_header *h)
{
    uint8_t t;
    int16_t id;
    th_struct_enter(r);
    while (th_next_field(r, &t, &id)) {
        if ((id == 1 || id == 2) && th_expect(r, t, TH_I32)) {
            int32_t v = th_read_i32(r);
            if (id == 1)
                h->num_values = v;
            else
                h->encoding = v;
        } else if (id != 1 && id != 2)
            th_skip(r, t);
    }
    th_struct_leave(r);
}

static void read_v2_header(th_reader *r, pq__page_header *h)
{
    uint8_t t;
    int16_t id;
    h->is_compressed = true;
    th_struct_enter(r);
    while (th_next_field(r, &t, &id)) {
        if (id >= 1 && id <= 6 && th_expect(r, t, TH_I32)) {
            int32_t v = th_read_i32(r);
            switch (id) {
            case 1: h->num_values = v; break;
            case 2: h->num_nulls = v; break;
            case 3: h->num_rows = v; break;
            case 4: h->encoding = v; break;
            case 5: h->def_len = v; break;
            default: h->rep_len = v; break;
            }
        } else if (id == 7 && th_expect(r, t, TH_TRUE)) {
            h->is_compressed = t == TH_TRUE;
        } else if (id == 8 && th_expect(r, t, TH_STRUCT)) {
            pq__read_stats(r, &h->stats, false);
            h->has_stats = true;
        } else if (id < 1 || id > 8)
            th_skip(r, t);
    }
    th_struct_leave(r);
}

int pq__read_page_header(const uint8_t *p, size_t len, pq__page_header *h, size_t *used)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->usize = h->csize = -1;
    th_reader r;
    th_reader_init(&r, p, len);
    uint8_t t;
    int16_t id;
    th_struct_enter(&r);
    while (th_next_field(&r, &t, &id)) {
        switch (id) {
        case 1:
        case 2:
        case 3:
            if (th_expect(&r, t, TH_I32)) {
                int32_t v = th_read_i32(&r);
                if (id == 1)
                    h->type = v;
                else if (id == 2)
                    h->usize = v;
                else
                    h->csize = v;
            }
            break;
        case 5:
            if (th_expect(&r, t, TH_STRUCT)) {
                read_data_header(&r, h);
                h->seen_sub = h->type == 0;
            }
            break;
        case 7:
            if (th_expect(&r, t, TH_STRUCT)) {
                read_dict_header(&r, h);
                h->seen_sub = h->type == 2;
            }
            break;
        case 8:
            if (th_expect(&r, t, TH_STRUCT)) {
                read_v2_header(&r, h);
                h->seen_sub = h->type == 3;
            }
            break;
        default:
            th_skip(&r, t);
        }
    }
    th_struct_leave(&r);
    if (r.rc)
        return IG_ECORRUPT;
    if (h->type < 0 || h->usize < 0 || h->csize < 0)
        return IG_ECORRUPT;
    *used = th_reader_pos(&r, p);
    return 0;
}

/* ---- Sort order ------------------------------------------------------------------- */

int pq__cmp_fixed(pq_phys phys, const uint8_t *a, const uint8_t *b)
{
    switch (phys) {
    case PQ_BOOLEAN:
        return (a[0] & 1) - (b[0] & 1);
    case PQ_INT32: {
        int32_t x = (int32_t)pq__rd32(a), y = (int32_t)pq__rd32(b);
        return x < y ? -1 : x > y;
    }
    case PQ_INT64: {
        int64_t x = (int64_t)pq__rd64(a), y = (int64_t)pq__rd64(b);
        return x < y ? -1 : x > y;
    }
    case PQ_FLOAT: {
        float x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return x < y ? -1 : x > y;
    }
    case PQ_DOUBLE: {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x < y ? -1 : x > y;
    }
    default:
        return 0;
    }
}

int pq_stat_cmp(pq_phys phys, ig_str a, ig_str b)
{
    size_t w = 0;
    switch (phys) {
    case PQ_BOOLEAN: w = 1; break;
    case PQ_INT32:
    case PQ_FLOAT: w = 4; break;
    case PQ_INT64:
    case PQ_DOUBLE: w = 8; break;
    default: break;
    }
    if (w && a.len >= w && b.len >= w)
        return pq__cmp_fixed(phys, (const uint8_t *)a.ptr, (const uint8_t *)b.ptr);
    int c = ig_str_cmp(a, b); /* memcmp is unsigned bytewise */
    return c < 0 ? -1 : c > 0;
}

/* ---- Truncation ------------------------------------------------------------------- */

/* Length of the UTF-8 prefix of v that is at most max bytes and ends on a code point
 * boundary. */
static size_t utf8_cut(const uint8_t *v, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && (v[k] & 0xC0) == 0x80)
        k--;
    return k;
}

size_t pq_truncate_lower(const uint8_t *v, size_t n, size_t max, bool utf8, uint8_t *dst)
{
    size_t k = utf8 ? utf8_cut(v, n, max) : (n < max ? n : max);
    memcpy(dst, v, k);
    return k;
}

static size_t utf8_encode(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

size_t pq_truncate_upper(const uint8_t *v, size_t n, size_t max, bool utf8, uint8_t *dst)
{
    if (n <= max) {
        memcpy(dst, v, n);
        return n;
    }
    if (!utf8) {
        size_t k = max;
        memcpy(dst, v, k);
        while (k > 0) {
            if (dst[k - 1] != 0xFF) {
                dst[k - 1]++;
                return k;
            }
            k--;
        }
        return 0;
    }
    size_t k = utf8_cut(v, n, max);
    memcpy(dst, v, k);
    while (k > 0) {
        /* Last code point of dst[0..k). */
        size_t s = k - 1;
        while (s > 0 && (dst[s] & 0xC0) == 0x80)
            s--;
        uint32_t cp;
        uint8_t c = dst[s];
        size_t len = k - s;
        if (c < 0x80)
            cp = c;
        else if ((c & 0xE0) == 0xC0)
            cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            cp = c & 0x0F;
        else
            cp = c & 0x07;
        for (size_t i = 1; i < len; i++)
            cp = (cp << 6) | (dst[s + i] & 0x3F);
        uint32_t next = cp + 1;
        if (next >= 0xD800 && next <= 0xDFFF)
            next = 0xE000;
        if (next <= 0x10FFFF) {
            uint8_t enc[4];
            size_t el = utf8_encode(next, enc);
            if (s + el <= max + 4) {
                memcpy(dst + s, enc, el);
                return s + el;
            }
        }
        k = s; /* drop this code point and increment the previous one */
    }
    return 0;
}
