/* Compression wrappers for Parquet pages: ZSTD, SNAPPY, GZIP, UNCOMPRESSED. */
#include <pthread.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "icegate/err.h"
#include "pq_internal.h"

/* ZSTD contexts are expensive to set up (their tables are allocated and touched on first
 * use); writers and readers are short-lived (one per WAL segment or file), so finished ones
 * hand their contexts to a small process-wide pool that the next one takes from. */
#define ZPOOL_MAX 8
static pthread_mutex_t g_zpool_mu = PTHREAD_MUTEX_INITIALIZER;
static ZSTD_CCtx *g_cpool[ZPOOL_MAX];
static ZSTD_DCtx *g_dpool[ZPOOL_MAX];
static int g_ncpool, g_ndpool;

static ZSTD_CCtx *cctx_get(void)
{
    ZSTD_CCtx *z = NULL;
    pthread_mutex_lock(&g_zpool_mu);
    if (g_ncpool)
        z = g_cpool[--g_ncpool];
    pthread_mutex_unlock(&g_zpool_mu);
    return z ? z : ZSTD_createCCtx();
}

static ZSTD_DCtx *dctx_get(void)
{
    ZSTD_DCtx *z = NULL;
    pthread_mutex_lock(&g_zpool_mu);
    if (g_ndpool)
        z = g_dpool[--g_ndpool];
    pthread_mutex_unlock(&g_zpool_mu);
    return z ? z : ZSTD_createDCtx();
}

void pq__codec_ctx_free(pq__codec_ctx *c)
{
    pthread_mutex_lock(&g_zpool_mu);
    if (c->zc && g_ncpool < ZPOOL_MAX) {
        g_cpool[g_ncpool++] = c->zc;
        c->zc = NULL;
    }
    if (c->zd && g_ndpool < ZPOOL_MAX) {
        g_dpool[g_ndpool++] = c->zd;
        c->zd = NULL;
    }
    pthread_mutex_unlock(&g_zpool_mu);
    if (c->zc)
        ZSTD_freeCCtx(c->zc);
    if (c->zd)
        ZSTD_freeDCtx(c->zd);
    c->zc = c->zd = NULL;
}

static int gzip_compress(int level, const void *src, size_t n, ig_buf *out)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level ? level : 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return IG_ENOMEM;
    uLong bound = deflateBound(&s, (uLong)n) + 32;
    int rc = ig_buf_reserve(out, bound);
    if (rc) {
        deflateEnd(&s);
        return rc;
    }
    s.next_in = (Bytef *)(uintptr_t)src;
    s.avail_in = (uInt)n;
    s.next_out = (Bytef *)out->data + out->len;
    s.avail_out = (uInt)bound;
    int zr = deflate(&s, Z_FINISH);
    size_t produced = bound - s.avail_out;
    deflateEnd(&s);
    if (zr != Z_STREAM_END)
        return IG_EINTERNAL;
    out->len += produced;
    out->data[out->len] = 0;
    return 0;
}

int pq__compress(pq__codec_ctx *c, pq_codec codec, int level, const void *src, size_t n,
                 ig_buf *out)
{
    int rc;
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        return ig_buf_append(out, src, n);
    case PQ_CODEC_ZSTD: {
        if (!c->zc && !(c->zc = cctx_get()))
            return IG_ENOMEM;
        size_t bound = ZSTD_compressBound(n);
        if ((rc = ig_buf_reserve(out, bound)))
            return rc;
        size_t r = ZSTD_compressCCtx(c->zc, out->data + out->len, bound, src, n,
                                     level ? level : 3);
        if (ZSTD_isError(r))
            return IG_EINTERNAL;
        out->len += r;
        out->data[out->len] = 0;
        return 0;
    }
    case PQ_CODEC_SNAPPY: {
        size_t bound = snappy_max_compressed_length(n);
        if ((rc = ig_buf_reserve(out, bound)))
            return rc;
        size_t olen = bound;
        if (snappy_compress(src, n, out->data + out->len, &olen) != SNAPPY_OK)
            return IG_EINTERNAL;
        out->len += olen;
        out->data[out->len] = 0;
        return 0;
    }
    case PQ_CODEC_GZIP:
        if (n > UINT32_MAX / 2)
            return IG_ETOOBIG;
        return gzip_compress(level, src, n, out);
    default:
        return IG_EUNSUPPORTED;
    }
}

static int gzip_decompress(const void *src, size_t n, void *dst, size_t dst_len)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    /* 15 + 32: accept gzip or zlib headers. */
    if (inflateInit2(&s, 15 + 32) != Z_OK)
        return IG_ENOMEM;
    s.next_in = (Bytef *)(uintptr_t)src;
    s.avail_in = (uInt)n;
    s.next_out = dst;
    s.avail_out = (uInt)dst_len;
    int zr;
    for (;;) {
        zr = inflate(&s, Z_FINISH);
        /* Concatenated gzip members: continue while input remains. */
        if (zr == Z_STREAM_END && s.avail_in > 0 && s.avail_out > 0) {
            if (inflateReset(&s) != Z_OK)
                break;
            continue;
        }
        break;
    }
    size_t produced = dst_len - s.avail_out;
    inflateEnd(&s);
    if ((zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && produced == dst_len)) ||
        produced != dst_len)
        return IG_ECORRUPT;
    return 0;
}

int pq__decompress(pq__codec_ctx *c, pq_codec codec, const void *src, size_t n, void *dst,
                   size_t dst_len, ig_errbuf *eb)
{
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        if (n != dst_len)
            return ig_err(eb, IG_ECORRUPT, "parquet: uncompressed page size mismatch");
        if (n)
            memcpy(dst, src, n);
        return 0;
    case PQ_CODEC_ZSTD: {
        if (!c->zd && !(c->zd = dctx_get()))
            return IG_ENOMEM;
        unsigned long long fs = ZSTD_getFrameContentSize(src, n);
        if (fs != ZSTD_CONTENTSIZE_UNKNOWN && fs != dst_len)
            return ig_err(eb, IG_ECORRUPT, "parquet: zstd frame size %llu != page size %zu", fs,
                          dst_len);
        size_t r = ZSTD_decompressDCtx(c->zd, dst, dst_len, src, n);
        if (ZSTD_isError(r) || r != dst_len)
            return ig_err(eb, IG_ECORRUPT, "parquet: zstd page does not decompress");
        return 0;
    }
    case PQ_CODEC_SNAPPY: {
        size_t ulen;
        if (snappy_uncompressed_length(src, n, &ulen) != SNAPPY_OK || ulen != dst_len)
            return ig_err(eb, IG_ECORRUPT, "parquet: snappy page size mismatch");
        size_t olen = dst_len;
        if (snappy_uncompress(src, n, dst, &olen) != SNAPPY_OK || olen != dst_len)
            return ig_err(eb, IG_ECORRUPT, "parquet: snappy page does not decompress");
        return 0;
    }
    case PQ_CODEC_GZIP:
        if (n > UINT32_MAX || dst_len > UINT32_MAX)
            return ig_err(eb, IG_ETOOBIG, "parquet: gzip page too large");
        if (gzip_decompress(src, n, dst, dst_len))
            return ig_err(eb, IG_ECORRUPT, "parquet: gzip page does not decompress");
        return 0;
    default:
        return ig_err(eb, IG_EUNSUPPORTED, "parquet: compression codec %s is not supported",
                      pq_codec_name(codec));
    }
}
