/* WebSocket framing (include/icegate/websocket.h): SHA-1, the handshake key, frame
 * encoding and decoding. No I/O here; the connection lives in src/server/http.c. */
#include <string.h>

#include "icegate/err.h"
#include "icegate/websocket.h"

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5A827999u;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ED9EBA1u;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
        else
            f = b ^ c ^ d, k = 0xCA62C1D6u;
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void ig_ws_sha1(const void *data, size_t n, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    const uint8_t *p = data;
    size_t left = n;
    while (left >= 64) {
        sha1_block(h, p);
        p += 64;
        left -= 64;
    }
    uint8_t tail[128] = {0};
    if (left)
        memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(h, tail);
    if (tl == 128)
        sha1_block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

int ig_ws_accept_key(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t kl = key ? strlen(key) : 0;
    if (kl != 24)
        return IG_EINVAL;
    for (size_t i = 0; i < kl; i++)
        if (!is_b64(key[i]))
            return IG_EINVAL;
    char cat[24 + sizeof guid];
    memcpy(cat, key, 24);
    memcpy(cat + 24, guid, sizeof guid - 1);
    uint8_t d[21] = {0};
    ig_ws_sha1(cat, 24 + sizeof guid - 1, d);
    /* 20 bytes: six full groups of 3, then 2 bytes and one '=' */
    size_t o = 0;
    for (int i = 0; i < 21; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = i + 2 < 20 ? b64[v & 63] : '=';
    }
    out[28] = 0;
    return 0;
}

long ig_ws_decode(uint8_t *buf, size_t n, size_t max_payload, ig_ws_frame *f, const char **why)
{
    *why = NULL;
    if (n < 2)
        return 0;
    bool fin = buf[0] & 0x80;
    int op = buf[0] & 0x0F;
    bool masked = buf[1] & 0x80;
    uint64_t len = buf[1] & 0x7F;
    size_t at = 2;
    if (buf[0] & 0x70) {
        *why = "reserved bits set";
        return IG_ECORRUPT;
    }
    if (op != IG_WS_CONT && op != IG_WS_TEXT && op != IG_WS_BINARY && op != IG_WS_CLOSE &&
        op != IG_WS_PING && op != IG_WS_PONG) {
        *why = "unknown opcode";
        return IG_ECORRUPT;
    }
    if (!masked) {
        *why = "client frames must be masked";
        return IG_ECORRUPT;
    }
    if (op >= IG_WS_CLOSE && (!fin || len > 125)) {
        *why = "control frames must be final and at most 125 bytes";
        return IG_ECORRUPT;
    }
    if (op == IG_WS_CONT || !fin) {
        *why = "fragmented messages are not supported";
        return IG_ECORRUPT;
    }
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)buf[2] << 8 | buf[3];
        at = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | buf[2 + i];
        at = 10;
        if (len >> 63) {
            *why = "invalid payload length";
            return IG_ECORRUPT;
        }
    }
    if (len > max_payload || len > IG_WS_MAX_FRAME) {
        *why = "frame too large";
        return IG_ETOOBIG;
    }
    if (n < at + 4)
        return 0;
    uint8_t mask[4];
    memcpy(mask, buf + at, 4);
    at += 4;
    if (n - at < len)
        return 0;
    uint8_t *p = buf + at;
    for (size_t i = 0; i < len; i++)
        p[i] ^= mask[i & 3];
    f->fin = fin;
    f->opcode = op;
    f->payload = p;
    f->len = (size_t)len;
    return (long)(at + len);
}

int ig_ws_encode(ig_buf *out, int opcode, const void *payload, size_t len)
{
    uint8_t h[10];
    size_t hl;
    h[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        h[1] = (uint8_t)len;
        hl = 2;
    } else if (len <= 0xFFFF) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (8 * (7 - i)));
        hl = 10;
    }
    int rc = ig_buf_append(out, h, hl);
    if (rc == 0 && len)
        rc = ig_buf_append(out, payload, len);
    return rc;
}

int ig_ws_encode_close(ig_buf *out, uint16_t code, const char *reason)
{
    uint8_t p[125];
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 123)
        rl = 123;
    /* do not cut a UTF-8 sequence in half */
    while (rl && reason[rl] && ((unsigned char)reason[rl] & 0xC0) == 0x80)
        rl--;
    if (rl)
        memcpy(p + 2, reason, rl);
    return ig_ws_encode(out, IG_WS_CLOSE, p, 2 + rl);
}
