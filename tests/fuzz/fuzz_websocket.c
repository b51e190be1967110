/* libFuzzer target for the WebSocket frame decoder (src/server/websocket.c). The input
 * is decoded as a stream of client frames with a cap picked by byte 0: every decoded
 * frame lies inside the input, control frames are at most 125 bytes and final, the
 * payload respects the cap; the close encoder accepts any reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cap = data[0] & 1 ? 125 : (size_t)data[0] * 64;
    uint8_t *buf = ig_malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    size_t n = size - 1, off = 0;
    while (off < n) {
        ig_ws_frame f;
        const char *why;
        long used = ig_ws_decode(buf + off, n - off, cap, &f, &why);
        if (used == 0)
            break;
        if (used < 0) {
            if ((used != IG_ECORRUPT && used != IG_ETOOBIG) || !why)
                abort();
            break;
        }
        if ((size_t)used > n - off || f.payload < buf + off ||
            f.payload + f.len != buf + off + used || f.len > cap || !f.fin)
            abort();
        if (f.opcode >= IG_WS_CLOSE && f.len > 125)
            abort();
        ig_buf b;
        ig_buf_init(&b, 256);
        char reason[126];
        size_t rl = f.len < 125 ? f.len : 125;
        memcpy(reason, f.payload, rl);
        reason[rl] = 0;
        if (ig_ws_encode_close(&b, 1000, reason) != 0 || b.len > 127)
            abort();
        ig_buf_free(&b);
        off += (size_t)used;
    }
    ig_free(buf);
    return 0;
}
