/* Fuzz target: capped decompression of request bodies (gzip, deflate, zstd, snappy).
 * Byte 0 picks the encoding; the rest is the compressed body. Checks that the cap holds
 * and that errors leave the buffer usable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const ig_encoding encs[] = {IG_ENC_IDENTITY, IG_ENC_GZIP, IG_ENC_DEFLATE, IG_ENC_ZSTD,
                                       IG_ENC_SNAPPY};
    ig_encoding e = encs[data[0] % 5];
    size_t cap = 1 + (size_t)(data[0] >> 3) * 4096; /* small caps exercise the limit paths */
    ig_buf out;
    ig_buf_init(&out, 0);
    ig_errbuf eb;
    int rc = ig_decompress(e, ig_str_make(data + 1, size - 1), cap, &out, &eb);
    if (rc == 0 && out.len > cap)
        abort(); /* the cap must hold */
    if (rc != 0 && rc != IG_ETOOBIG && rc != IG_ECORRUPT && rc != IG_ENOMEM)
        abort();
    /* the buffer stays usable after any outcome */
    if (ig_buf_append(&out, "x", 1) != 0)
        abort();
    ig_buf_free(&out);
    return 0;
}
