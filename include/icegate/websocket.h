/* WebSocket (RFC 6455) server side, prefix ig_ws_: the handshake key, frame encoding and
 * an incremental frame decoder (pure functions, no I/O), and the connection object the
 * HTTP layer hands to a WebSocket handler after the upgrade (src/server/http.c).
 *
 * Limits: a client frame's payload is capped (IG_WS_MAX_FRAME, and a smaller cap chosen
 * by the caller); fragmented messages are not reassembled (a continuation frame or a
 * non-final data frame from a client is a protocol error: the clients we serve, Grafana
 * and logcli on tail, send no data frames at all). Client frames must be masked. */
#ifndef ICEGATE_WEBSOCKET_H
#define ICEGATE_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/buf.h"

enum {
    IG_WS_CONT = 0x0,
    IG_WS_TEXT = 0x1,
    IG_WS_BINARY = 0x2,
    IG_WS_CLOSE = 0x8,
    IG_WS_PING = 0x9,
    IG_WS_PONG = 0xA,
};

#define IG_WS_MAX_FRAME (1u << 20)

/* SHA-1 of n bytes (FIPS 180-4) into out. */
void ig_ws_sha1(const void *data, size_t n, uint8_t out[20]);
/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)),
 * 28 characters and a NUL in out. IG_EINVAL if the key is not 24 base64 characters. */
int ig_ws_accept_key(const char *key, char out[29]);

/* A decoded frame; payload points into the caller's buffer (unmasked there in place). */
typedef struct ig_ws_frame {
    bool fin;
    int opcode;
    uint8_t *payload;
    size_t len;
} ig_ws_frame;

/* Decodes one client frame from buf[0..n). Returns the bytes consumed (> 0) and fills f
 * (unmasking the payload in place); 0 when more bytes are needed; IG_ECORRUPT for a
 * protocol violation (reserved bits, unknown opcode, unmasked frame, fragmented or too
 * long control frame, fragmentation) and IG_ETOOBIG when the payload exceeds max_payload.
 * The message text for a close frame is in *why. */
long ig_ws_decode(uint8_t *buf, size_t n, size_t max_payload, ig_ws_frame *f, const char **why);

/* Appends an unmasked (server) frame with FIN set. */
int ig_ws_encode(ig_buf *out, int opcode, const void *payload, size_t len);
/* Appends a close frame with a status code and a reason (cut to fit 125 bytes). */
int ig_ws_encode_close(ig_buf *out, uint16_t code, const char *reason);

/* ---- a live connection (after the upgrade) ------------------------------------------- */
typedef struct ig_ws ig_ws;

/* Sends one text message. IG_EIO when the peer is gone. Thread: the handler's. */
int ig_ws_send_text(ig_ws *ws, const char *p, size_t n);
/* Sends a close frame (once); the handler returns afterwards. */
int ig_ws_close(ig_ws *ws, uint16_t code, const char *reason);
/* Waits up to timeout_ms for client frames and handles them: answers pings, notes pongs,
 * answers a close. Returns 0 while the connection is open, IG_ECANCELED when the client
 * closed or went away (or sent a protocol error; it is then told so), IG_EAGAIN never.
 * Also returns IG_ECANCELED as soon as the server is shutting down. */
int ig_ws_wait(ig_ws *ws, int timeout_ms);
/* True once the server is stopping (the handler should close with 1001 and return). */
bool ig_ws_server_stopping(const ig_ws *ws);

#endif
