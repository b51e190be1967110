/* Internals shared by the Parquet source files (prefix pq__). Not a public API. */
#ifndef ICEGATE_PQ_INTERNAL_H
#define ICEGATE_PQ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "icegate/buf.h"
#include "icegate/parquet.h"
#include "icegate/thrift.h"

static inline uint32_t pq__rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v; /* little-endian hosts only (checked in encoding.c) */
}
static inline uint64_t pq__rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Bits needed for values 0..maxval (0 for maxval 0). */
static inline int pq__bitwidth(uint64_t maxval)
{
    return maxval ? 64 - __builtin_clzll(maxval) : 0;
}

/* ---- RLE / bit-packing hybrid (encoding.c) ------------------------------------------ */
/* Appends the hybrid encoding (no length prefix) of n values of bit width bw. */
int pq__rle_encode_u32(ig_buf *out, const uint32_t *v, size_t n, int bw);
int pq__rle_encode_i16(ig_buf *out, const int16_t *v, size_t n, int bw);
/* Decodes exactly n values from p[0..len) into out; values must be <= maxval
 * (IG_ECORRUPT otherwise, or when the input ends early). *used gets bytes consumed. */
int pq__rle_decode_u32(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n,
                       uint32_t maxval, size_t *used);
int pq__rle_decode_i16(const uint8_t *p, size_t len, int bw, int16_t *out, size_t n,
                       int16_t maxval, size_t *used);
/* Deprecated BIT_PACKED level encoding (MSB first). */
int pq__bitpacked_decode_i16(const uint8_t *p, size_t len, int bw, int16_t *out, size_t n,
                             int16_t maxval, size_t *used);
/* LSB-first bit packing of n values (n multiple of 8 not required; tail zero-padded
 * to a whole byte). */
void pq__bitpack(uint8_t *dst, const uint64_t *v, size_t n, int bw);
void pq__bitunpack(const uint8_t *src, uint64_t *v, size_t n, int bw);

/* ---- DELTA_BINARY_PACKED ---------------------------------------------------------- */
/* Encodes n values; is32 selects 32-bit wrapping deltas (INT32 columns). */
int pq__delta_encode(ig_buf *out, const int64_t *v, size_t n, bool is32);
/* Decodes the header count (checked against max_n) and values. out has room for
 * max_n values; *count receives the number decoded; *used the bytes consumed. */
int pq__delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t max_n, size_t *count,
                     size_t *used, bool is32);
/* Just the value count of a DELTA_BINARY_PACKED stream (header only). */
int pq__delta_count(const uint8_t *p, size_t len, size_t *count);

/* ---- Compression (codec.c) ---------------------------------------------------------- */
typedef struct pq__codec_ctx {
    void *zc;  /* ZSTD_CCtx */
    void *zd;  /* ZSTD_DCtx */
} pq__codec_ctx;
void pq__codec_ctx_free(pq__codec_ctx *c);
/* Appends the compressed form of src to out. */
int pq__compress(pq__codec_ctx *c, pq_codec codec, int level, const void *src, size_t n,
                 ig_buf *out);
/* Decompresses src into exactly dst_len bytes at dst (IG_ECORRUPT on any mismatch,
 * IG_EUNSUPPORTED for codecs we do not have). */
int pq__decompress(pq__codec_ctx *c, pq_codec codec, const void *src, size_t n, void *dst,
                   size_t dst_len, ig_errbuf *eb);

/* ---- Bloom filter (bloom.c) --------------------------------------------------------- */
size_t pq__bloom_size(uint64_t ndv, double fpp, size_t max_bytes); /* power of 2, >= 32 */
void pq__bloom_insert(uint8_t *bits, size_t nbytes, uint64_t hash);
bool pq__bloom_check(const uint8_t *bits, size_t nbytes, uint64_t hash);
uint64_t pq__hash(const void *p, size_t n); /* xxHash64, seed 0 */

/* ---- Page headers, page index, bloom header (meta.c) ------------------------------- */
typedef struct pq__page_header {
    int32_t type; /* 0 DATA_PAGE, 1 INDEX_PAGE, 2 DICTIONARY_PAGE, 3 DATA_PAGE_V2 */
    int32_t usize, csize;
    int32_t num_values, encoding, def_encoding, rep_encoding;
    int32_t num_nulls, num_rows, def_len, rep_len;
    bool is_compressed;
    bool has_stats;
    pq_stats stats;
    bool seen_sub; /* the type-specific header was present */
} pq__page_header;

void pq__write_stats(th_writer *w, const pq_stats *s);
void pq__write_page_header(th_writer *w, const pq__page_header *h);
/* Parses a page header from p[0..len); *used = header size. */
int pq__read_page_header(const uint8_t *p, size_t len, pq__page_header *h, size_t *used);
/* Reads a Statistics struct value. allow_legacy: use the deprecated signed-order
 * min/max when min_value/max_value are absent (only for signed-order types). */
void pq__read_stats(th_reader *r, pq_stats *s, bool allow_legacy);

/* ---- Shared helpers ----------------------------------------------------------------- */
/* Compares two values of a column in statistics encoding (see pq_stat_cmp). */
int pq__cmp_fixed(pq_phys phys, const uint8_t *a, const uint8_t *b);

#endif
