/* Split-block bloom filters (Parquet BloomFilter.md): 256-bit blocks of eight 32-bit
 * lanes, block chosen by the high 32 bits of the xxHash64 of the plain-encoded value,
 * one bit per lane from the low 32 bits times a lane salt. */
#include <math.h>
#include <xxhash.h>

#include "pq_internal.h"

static const uint32_t SALT[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};

uint64_t pq__hash(const void *p, size_t n)
{
    return XXH64(p, n, 0);
}

size_t pq__bloom_size(uint64_t ndv, double fpp, size_t max_bytes)
{
    if (fpp <= 0 || fpp >= 1)
        fpp = 0.01;
    double bits = -8.0 * (double)ndv / log(1.0 - pow(fpp, 1.0 / 8.0));
    double bytes = bits / 8.0;
    size_t n = 32;
    if (max_bytes < 32)
        max_bytes = 32;
    while ((double)n < bytes && n * 2 <= max_bytes)
        n *= 2;
    return n;
}

static size_t block_of(uint64_t hash, size_t nbytes)
{
    uint64_t nblocks = nbytes / 32;
    return (size_t)(((hash >> 32) * nblocks) >> 32);
}

void pq__bloom_insert(uint8_t *bits, size_t nbytes, uint64_t hash)
{
    uint8_t *blk = bits + block_of(hash, nbytes) * 32;
    uint32_t key = (uint32_t)hash;
    for (int i = 0; i < 8; i++) {
        uint32_t w;
        memcpy(&w, blk + 4 * i, 4);
        w |= 1U << ((key * SALT[i]) >> 27);
        memcpy(blk + 4 * i, &w, 4);
    }
}

bool pq__bloom_check(const uint8_t *bits, size_t nbytes, uint64_t hash)
{
    const uint8_t *blk = bits + block_of(hash, nbytes) * 32;
    uint32_t key = (uint32_t)hash;
    for (int i = 0; i < 8; i++) {
        uint32_t w;
        memcpy(&w, blk + 4 * i, 4);
        if (!(w & (1U << ((key * SALT[i]) >> 27))))
            return false;
    }
    return true;
}
