/* Request-body decompression with a cap on the decompressed size (HTTP Content-Encoding
 * and gRPC grpc-encoding). Decompression stops as soon as the output would pass the cap,
 * so a compression bomb costs at most `max_out` bytes of memory and the time to produce
 * them. */
#ifndef ICEGATE_COMPRESS_H
#define ICEGATE_COMPRESS_H

#include <stddef.h>

#include "icegate/buf.h"
#include "icegate/err.h"

typedef enum ig_encoding {
    IG_ENC_IDENTITY = 0,
    IG_ENC_GZIP,
    IG_ENC_DEFLATE, /* zlib-wrapped (RFC 1950) or, as some clients send, raw RFC 1951 */
    IG_ENC_ZSTD,
    IG_ENC_SNAPPY,  /* block format (Loki push protobuf) */
    IG_ENC_UNKNOWN
} ig_encoding;

/* Parses a Content-Encoding / grpc-encoding value (case-insensitive; NULL or "" or
 * "identity" is IG_ENC_IDENTITY). */
ig_encoding ig_encoding_parse(const char *v);
const char *ig_encoding_name(ig_encoding e);

/* Decompresses `in` into out (which is reset first; out's own cap also applies).
 * IG_ETOOBIG when the result would exceed max_out, IG_ECORRUPT on malformed input
 * (message in eb), IG_EUNSUPPORTED for IG_ENC_UNKNOWN. */
int ig_decompress(ig_encoding enc, ig_str in, size_t max_out, ig_buf *out, ig_errbuf *eb);

/* Compresses with gzip (level 6) into out (appends). For tests and clients. */
int ig_gzip(ig_str in, ig_buf *out);

#endif
