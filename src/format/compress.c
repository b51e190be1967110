/* Capped decompression for request bodies: gzip/deflate (zlib), zstd, snappy. */
#include <snappy-c.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#include "icegate/compress.h"

ig_encoding ig_encoding_parse(const char *v)
{
    if (!v || !*v || !strcasecmp(v, "identity"))
        return IG_ENC_IDENTITY;
    if (!strcasecmp(v, "gzip") || !strcasecmp(v, "x-gzip"))
        return IG_ENC_GZIP;
    if (!strcasecmp(v, "deflate"))
        return IG_ENC_DEFLATE;
    if (!strcasecmp(v, "zstd"))
        return IG_ENC_ZSTD;
    if (!strcasecmp(v, "snappy"))
        return IG_ENC_SNAPPY;
    return IG_ENC_UNKNOWN;
}

const char *ig_encoding_name(ig_encoding e)
{
    static const char *n[] = {"identity", "gzip", "deflate", "zstd", "snappy", "unknown"};
    return (unsigned)e <= IG_ENC_UNKNOWN ? n[e] : "unknown";
}

/* windowBits: 15+16 gzip, 15 zlib, -15 raw deflate. */
static int inflate_capped(ig_str in, int window_bits, size_t max_out, ig_buf *out, ig_errbuf *eb,
                          const char *name)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, window_bits) != Z_OK)
        return ig_err(eb, IG_ENOMEM, "%s: cannot initialise the decompressor", name);
    zs.next_in = (Bytef *)in.ptr;
    zs.avail_in = (uInt)in.len;
    int rc = 0, zr = Z_OK;
    while (zr != Z_STREAM_END) {
        size_t chunk = 64 * 1024;
        if (out->len + chunk > max_out)
            chunk = max_out - out->len + 1; /* one byte past the cap detects overflow */
        if ((rc = ig_buf_reserve(out, chunk)))
            break;
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)chunk;
        zr = inflate(&zs, Z_NO_FLUSH);
        out->len += chunk - zs.avail_out;
        if (out->len > max_out) {
            rc = ig_err(eb, IG_ETOOBIG, "%s: decompressed body exceeds the limit of %zu bytes",
                        name, max_out);
            break;
        }
        if (zr == Z_STREAM_END) {
            /* gzip allows several members; more input after the end is otherwise garbage */
            if (zs.avail_in && window_bits == 15 + 16) {
                if (inflateReset(&zs) != Z_OK) {
                    rc = ig_err(eb, IG_ECORRUPT, "%s: invalid data", name);
                    break;
                }
                zr = Z_OK;
                continue;
            }
            break;
        }
        if (zr != Z_OK) {
            rc = ig_err(eb, IG_ECORRUPT, "%s: invalid compressed data (%s)", name,
                        zs.msg ? zs.msg : "truncated");
            break;
        }
        if (zs.avail_in == 0 && zs.avail_out != 0) {
            rc = ig_err(eb, IG_ECORRUPT, "%s: truncated compressed data", name);
            break;
        }
    }
    inflateEnd(&zs);
    if (!rc && out->data)
        out->data[out->len] = 0;
    return rc;
}

static int zstd_capped(ig_str in, size_t max_out, ig_buf *out, ig_errbuf *eb)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return ig_err(eb, IG_ENOMEM, "zstd: cannot initialise the decompressor");
    ZSTD_initDStream(ds);
    ZSTD_inBuffer ib = {in.ptr, in.len, 0};
    int rc = 0;
    size_t last = 1;
    while (ib.pos < ib.size || last != 0) {
        size_t chunk = 64 * 1024;
        if (out->len + chunk > max_out)
            chunk = max_out - out->len + 1;
        if ((rc = ig_buf_reserve(out, chunk)))
            break;
        ZSTD_outBuffer ob = {out->data + out->len, chunk, 0};
        size_t before_in = ib.pos;
        last = ZSTD_decompressStream(ds, &ob, &ib);
        out->len += ob.pos;
        if (ZSTD_isError(last)) {
            rc = ig_err(eb, IG_ECORRUPT, "zstd: invalid compressed data (%s)",
                        ZSTD_getErrorName(last));
            break;
        }
        if (out->len > max_out) {
            rc = ig_err(eb, IG_ETOOBIG, "zstd: decompressed body exceeds the limit of %zu bytes",
                        max_out);
            break;
        }
        if (ib.pos == ib.size && last != 0 && ob.pos == 0 && before_in == ib.pos) {
            rc = ig_err(eb, IG_ECORRUPT, "zstd: truncated compressed data");
            break;
        }
    }
    ZSTD_freeDStream(ds);
    if (!rc && out->data)
        out->data[out->len] = 0;
    return rc;
}

static int snappy_capped(ig_str in, size_t max_out, ig_buf *out, ig_errbuf *eb)
{
    size_t n;
    if (snappy_uncompressed_length(in.ptr, in.len, &n) != SNAPPY_OK)
        return ig_err(eb, IG_ECORRUPT, "snappy: invalid compressed data");
    if (n > max_out)
        return ig_err(eb, IG_ETOOBIG,
                      "snappy: decompressed body of %zu bytes exceeds the limit of %zu bytes", n,
                      max_out);
    int rc = ig_buf_reserve(out, n);
    if (rc)
        return rc;
    size_t got = n;
    if (snappy_uncompress(in.ptr, in.len, out->data, &got) != SNAPPY_OK || got != n)
        return ig_err(eb, IG_ECORRUPT, "snappy: invalid compressed data");
    out->len = n;
    out->data[n] = 0;
    return 0;
}

static int decompress(ig_encoding enc, ig_str in, size_t max_out, ig_buf *out, ig_errbuf *eb)
{
    switch (enc) {
    case IG_ENC_IDENTITY:
        if (in.len > max_out)
            return ig_err(eb, IG_ETOOBIG, "body of %zu bytes exceeds the limit of %zu bytes",
                          in.len, max_out);
        return ig_buf_append(out, in.ptr, in.len);
    case IG_ENC_GZIP: return inflate_capped(in, 15 + 16, max_out, out, eb, "gzip");
    case IG_ENC_DEFLATE: {
        /* zlib header: CMF/FLG with (CMF*256 + FLG) % 31 == 0 and CM == 8 */
        bool zlib = in.len >= 2 && (in.ptr[0] & 0x0f) == 8 &&
                    (((unsigned char)in.ptr[0] << 8) | (unsigned char)in.ptr[1]) % 31 == 0;
        return inflate_capped(in, zlib ? 15 : -15, max_out, out, eb, "deflate");
    }
    case IG_ENC_ZSTD: return zstd_capped(in, max_out, out, eb);
    case IG_ENC_SNAPPY: return snappy_capped(in, max_out, out, eb);
    default: return ig_err(eb, IG_EUNSUPPORTED, "unsupported content encoding");
    }
}

int ig_decompress(ig_encoding enc, ig_str in, size_t max_out, ig_buf *out, ig_errbuf *eb)
{
    ig_buf_reset(out);
    /* Lower the buffer's own cap to just past max_out while decompressing, so its growth
     * never allocates far beyond the limit; the caller's cap is restored afterwards. */
    size_t saved = out->max;
    if (max_out < SIZE_MAX / 2 && max_out + 1 < out->max)
        out->max = max_out + 1;
    int rc = decompress(enc, in, max_out, out, eb);
    out->max = saved;
    return rc;
}

int ig_gzip(ig_str in, ig_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return IG_ENOMEM;
    size_t bound = deflateBound(&zs, (uLong)in.len);
    int rc = ig_buf_reserve(out, bound);
    if (!rc) {
        zs.next_in = (Bytef *)in.ptr;
        zs.avail_in = (uInt)in.len;
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)bound;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
            rc = IG_EINTERNAL;
        else
            out->len += bound - zs.avail_out;
    }
    deflateEnd(&zs);
    return rc;
}
