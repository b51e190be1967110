/* Parquet encodings: RLE/bit-packing hybrid, bit packing, DELTA_BINARY_PACKED. */
#include <string.h>

#include "icegate/err.h"
#include "pq_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "IceGate's Parquet code assumes a little-endian host"
#endif

typedef unsigned __int128 u128;

void pq__bitpack(uint8_t *dst, const uint64_t *v, size_t n, int bw)
{
    size_t nbytes = (n * (size_t)bw + 7) / 8;
    if (bw == 0)
        return;
    uint64_t mask = bw == 64 ? ~0ULL : ((1ULL << bw) - 1);
    u128 acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (u128)(v[i] & mask) << bits;
        bits += bw;
        while (bits >= 8) {
            dst[o++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    if (bits)
        dst[o++] = (uint8_t)acc;
    (void)nbytes;
}

void pq__bitunpack(const uint8_t *src, uint64_t *v, size_t n, int bw)
{
    if (bw == 0) {
        memset(v, 0, n * sizeof *v);
        return;
    }
    uint64_t mask = bw == 64 ? ~0ULL : ((1ULL << bw) - 1);
    u128 acc = 0;
    int bits = 0;
    size_t in = 0;
    for (size_t i = 0; i < n; i++) {
        while (bits < bw) {
            acc |= (u128)src[in++] << bits;
            bits += 8;
        }
        v[i] = (uint64_t)acc & mask;
        acc >>= bw;
        bits -= bw;
    }
}

static int put_varint(ig_buf *out, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return ig_buf_append(out, tmp, n);
}

static int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (*pos >= len)
            return IG_ECORRUPT;
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return IG_ECORRUPT;
}

/* ---- RLE hybrid encoder ----------------------------------------------------------- */

#define RLE_ENCODE_BODY(T)                                                                  \
    int rc;                                                                                 \
    size_t vbytes = ((size_t)bw + 7) / 8;                                                   \
    size_t i = 0;                                                                           \
    while (i < n) {                                                                         \
        size_t j = i + 1;                                                                   \
        while (j < n && v[j] == v[i])                                                       \
            j++;                                                                            \
        if (j - i >= 8) {                                                                   \
            if ((rc = put_varint(out, (uint64_t)(j - i) << 1)))                             \
                return rc;                                                                  \
            uint32_t x = (uint32_t)v[i];                                                    \
            uint8_t b[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16),              \
                            (uint8_t)(x >> 24)};                                            \
            if ((rc = ig_buf_append(out, b, vbytes)))                                       \
                return rc;                                                                  \
            i = j;                                                                          \
            continue;                                                                       \
        }                                                                                   \
        size_t end = i;                                                                     \
        while (end < n) {                                                                   \
            end += (n - end) < 8 ? (n - end) : 8;                                           \
            if (end >= n)                                                                   \
                break;                                                                      \
            size_t k = end + 1;                                                             \
            while (k < n && k < end + 8 && v[k] == v[end])                                  \
                k++;                                                                        \
            if (k - end >= 8)                                                               \
                break;                                                                      \
        }                                                                                   \
        size_t cnt = end - i, groups = (cnt + 7) / 8;                                       \
        if ((rc = put_varint(out, ((uint64_t)groups << 1) | 1)))                            \
            return rc;                                                                      \
        size_t nb = groups * (size_t)bw;                                                    \
        if ((rc = ig_buf_reserve(out, nb)))                                                 \
            return rc;                                                                      \
        uint8_t *dst = (uint8_t *)out->data + out->len;                                     \
        uint64_t tmp[8];                                                                    \
        for (size_t g = 0; g < groups; g++) {                                               \
            for (size_t q = 0; q < 8; q++) {                                                \
                size_t idx = i + g * 8 + q;                                                 \
                tmp[q] = idx < end ? (uint64_t)(uint32_t)v[idx] : 0;                        \
            }                                                                               \
            pq__bitpack(dst + g * (size_t)bw, tmp, 8, bw);                                  \
        }                                                                                   \
        out->len += nb;                                                                     \
        out->data[out->len] = 0;                                                            \
        i = end;                                                                            \
    }                                                                                       \
    return 0;

int pq__rle_encode_u32(ig_buf *out, const uint32_t *v, size_t n, int bw)
{
    RLE_ENCODE_BODY(uint32_t)
}

int pq__rle_encode_i16(ig_buf *out, const int16_t *v, size_t n, int bw)
{
    RLE_ENCODE_BODY(int16_t)
}

/* ---- RLE hybrid decoder ----------------------------------------------------------- */

#define RLE_DECODE_BODY(T)                                                                  \
    size_t pos = 0, o = 0;                                                                  \
    size_t vbytes = ((size_t)bw + 7) / 8;                                                   \
    if (bw < 0 || bw > 32)                                                                  \
        return IG_ECORRUPT;                                                                 \
    while (o < n) {                                                                         \
        if (bw == 0 && pos >= len) { /* width 0: all zeros, nothing stored */               \
            memset(out + o, 0, (n - o) * sizeof(T));                                        \
            o = n;                                                                          \
            break;                                                                          \
        }                                                                                   \
        uint64_t hdr;                                                                       \
        if (get_varint(p, len, &pos, &hdr))                                                 \
            return IG_ECORRUPT;                                                             \
        if (hdr & 1) {                                                                      \
            uint64_t groups = hdr >> 1;                                                     \
            if (groups > len)                                                               \
                return IG_ECORRUPT;                                                         \
            size_t cnt = (size_t)groups * 8, avail = len - pos;                             \
            size_t nb = (size_t)groups * (size_t)bw;                                        \
            size_t take = cnt < n - o ? cnt : n - o;                                        \
            if (((take * (size_t)bw) + 7) / 8 > avail)                                      \
                return IG_ECORRUPT;                                                         \
            const uint8_t *src = p + pos;                                                   \
            uint64_t acc = 0;                                                               \
            int bits = 0;                                                                   \
            size_t in = 0;                                                                  \
            uint64_t mask = bw ? ((1ULL << bw) - 1) : 0;                                    \
            for (size_t q = 0; q < take; q++) {                                             \
                while (bits < bw) {                                                         \
                    acc |= (uint64_t)src[in++] << bits;                                     \
                    bits += 8;                                                              \
                }                                                                           \
                uint64_t x = acc & mask;                                                    \
                acc >>= bw;                                                                 \
                bits -= bw;                                                                 \
                if (x > (uint64_t)maxval)                                                   \
                    return IG_ECORRUPT;                                                     \
                out[o + q] = (T)x;                                                          \
            }                                                                               \
            o += take;                                                                      \
            pos += nb < avail ? nb : avail;                                                 \
        } else {                                                                            \
            uint64_t cnt = hdr >> 1;                                                        \
            if (vbytes > len - pos)                                                         \
                return IG_ECORRUPT;                                                         \
            uint64_t x = 0;                                                                 \
            for (size_t q = 0; q < vbytes; q++)                                             \
                x |= (uint64_t)p[pos + q] << (8 * q);                                       \
            pos += vbytes;                                                                  \
            if (x > (uint64_t)maxval)                                                       \
                return IG_ECORRUPT;                                                         \
            size_t take = cnt < (uint64_t)(n - o) ? (size_t)cnt : n - o;                    \
            for (size_t q = 0; q < take; q++)                                               \
                out[o + q] = (T)x;                                                          \
            o += take;                                                                      \
        }                                                                                   \
    }                                                                                       \
    if (used)                                                                               \
        *used = pos;                                                                        \
    return 0;

int pq__rle_decode_u32(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n,
                       uint32_t maxval, size_t *used)
{
    RLE_DECODE_BODY(uint32_t)
}

int pq__rle_decode_i16(const uint8_t *p, size_t len, int bw, int16_t *out, size_t n,
                       int16_t maxval, size_t *used)
{
    RLE_DECODE_BODY(int16_t)
}

int pq__bitpacked_decode_i16(const uint8_t *p, size_t len, int bw, int16_t *out, size_t n,
                             int16_t maxval, size_t *used)
{
    if (bw < 0 || bw > 16)
        return IG_ECORRUPT;
    size_t nb = (n * (size_t)bw + 7) / 8;
    if (nb > len)
        return IG_ECORRUPT;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = 0;
        for (int b = 0; b < bw; b++) {
            size_t bit = i * (size_t)bw + (size_t)b;
            x = (x << 1) | ((p[bit / 8] >> (7 - bit % 8)) & 1);
        }
        if (x > (uint32_t)maxval)
            return IG_ECORRUPT;
        out[i] = (int16_t)x;
    }
    *used = nb;
    return 0;
}

/* ---- DELTA_BINARY_PACKED ---------------------------------------------------------- */

#define DELTA_BLOCK 128
#define DELTA_MINIBLOCKS 4
#define DELTA_MB_VALUES (DELTA_BLOCK / DELTA_MINIBLOCKS)

static uint64_t zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzz(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int pq__delta_encode(ig_buf *out, const int64_t *v, size_t n, bool is32)
{
    int rc;
    if ((rc = put_varint(out, DELTA_BLOCK)) || (rc = put_varint(out, DELTA_MINIBLOCKS)) ||
        (rc = put_varint(out, n)) || (rc = put_varint(out, zz(n ? v[0] : 0))))
        return rc;
    int64_t d[DELTA_BLOCK];
    uint64_t u[DELTA_MB_VALUES];
    for (size_t i = 1; i < n; i += DELTA_BLOCK) {
        size_t cnt = n - i < DELTA_BLOCK ? n - i : DELTA_BLOCK;
        int64_t mn = INT64_MAX;
        for (size_t j = 0; j < cnt; j++) {
            if (is32)
                d[j] = (int32_t)((uint32_t)v[i + j] - (uint32_t)v[i + j - 1]);
            else
                d[j] = (int64_t)((uint64_t)v[i + j] - (uint64_t)v[i + j - 1]);
            if (d[j] < mn)
                mn = d[j];
        }
        if ((rc = put_varint(out, zz(mn))))
            return rc;
        uint8_t widths[DELTA_MINIBLOCKS] = {0};
        for (size_t m = 0; m < DELTA_MINIBLOCKS; m++) {
            uint64_t mx = 0;
            for (size_t j = m * DELTA_MB_VALUES; j < (m + 1) * DELTA_MB_VALUES && j < cnt; j++) {
                uint64_t x = is32 ? (uint64_t)(uint32_t)((uint32_t)d[j] - (uint32_t)mn)
                                  : (uint64_t)d[j] - (uint64_t)mn;
                mx |= x;
            }
            widths[m] = (uint8_t)pq__bitwidth(mx);
        }
        if ((rc = ig_buf_append(out, widths, DELTA_MINIBLOCKS)))
            return rc;
        for (size_t m = 0; m < DELTA_MINIBLOCKS && m * DELTA_MB_VALUES < cnt; m++) {
            for (size_t j = 0; j < DELTA_MB_VALUES; j++) {
                size_t k = m * DELTA_MB_VALUES + j;
                u[j] = k >= cnt ? 0
                       : is32   ? (uint64_t)(uint32_t)((uint32_t)d[k] - (uint32_t)mn)
                                : (uint64_t)d[k] - (uint64_t)mn;
            }
            size_t nb = (size_t)widths[m] * DELTA_MB_VALUES / 8;
            if ((rc = ig_buf_reserve(out, nb)))
                return rc;
            pq__bitpack((uint8_t *)out->data + out->len, u, DELTA_MB_VALUES, widths[m]);
            out->len += nb;
            out->data[out->len] = 0;
        }
    }
    return 0;
}

typedef struct delta_hdr {
    uint64_t block, mb, count;
    int64_t first;
} delta_hdr;

static int delta_header(const uint8_t *p, size_t len, size_t *pos, delta_hdr *h)
{
    uint64_t first;
    if (get_varint(p, len, pos, &h->block) || get_varint(p, len, pos, &h->mb) ||
        get_varint(p, len, pos, &h->count) || get_varint(p, len, pos, &first))
        return IG_ECORRUPT;
    h->first = unzz(first);
    if (h->block == 0 || h->block % 128 || h->mb == 0 || h->block % h->mb ||
        (h->block / h->mb) % 32 || h->block / h->mb > 4096 || h->mb > 1024)
        return IG_ECORRUPT;
    return 0;
}

int pq__delta_count(const uint8_t *p, size_t len, size_t *count)
{
    size_t pos = 0;
    delta_hdr h;
    int rc = delta_header(p, len, &pos, &h);
    if (rc)
        return rc;
    if (h.count > SIZE_MAX / 16)
        return IG_ECORRUPT;
    *count = (size_t)h.count;
    return 0;
}

int pq__delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t max_n, size_t *count,
                     size_t *used, bool is32)
{
    size_t pos = 0;
    delta_hdr h;
    int rc = delta_header(p, len, &pos, &h);
    if (rc)
        return rc;
    if (h.count > max_n)
        return IG_ECORRUPT;
    size_t n = (size_t)h.count, got = 0;
    size_t vpm = (size_t)(h.block / h.mb);
    uint64_t prev = (uint64_t)h.first;
    if (n > 0)
        out[got++] = is32 ? (int64_t)(int32_t)prev : (int64_t)prev;
    uint64_t tmp[4096];
    uint8_t widths[1024];
    while (got < n) {
        uint64_t mnz;
        if (get_varint(p, len, &pos, &mnz))
            return IG_ECORRUPT;
        uint64_t mn = (uint64_t)unzz(mnz);
        if (h.mb > len - pos)
            return IG_ECORRUPT;
        memcpy(widths, p + pos, (size_t)h.mb);
        pos += (size_t)h.mb;
        for (size_t m = 0; m < h.mb && got < n; m++) {
            int bw = widths[m];
            if (bw > 64)
                return IG_ECORRUPT;
            size_t take = n - got < vpm ? n - got : vpm;
            size_t need = (take * (size_t)bw + 7) / 8, full = vpm * (size_t)bw / 8;
            if (need > len - pos)
                return IG_ECORRUPT;
            pq__bitunpack(p + pos, tmp, take, bw);
            pos += full < len - pos ? full : len - pos;
            for (size_t j = 0; j < take; j++) {
                prev = prev + mn + tmp[j];
                out[got++] = is32 ? (int64_t)(int32_t)(uint32_t)prev : (int64_t)prev;
            }
        }
    }
    *count = n;
    if (used)
        *used = pos;
    return 0;
}
