/* HTTP/1.1 server layer shared by every listener (libmicrohttpd underneath).
 *
 * Threading: one thread per connection (bounded by max_connections); a handler runs on
 * its connection's thread once the whole request body has arrived, so it may block
 * (e.g. waiting for a WAL group commit). Bodies larger than the listener's cap are
 * answered 413 before the handler runs, without buffering them.
 * Ownership: the request, its arena and the response belong to the server; a handler
 * fills the response and returns. Everything allocated from req->arena is freed after
 * the response has been sent. */
#ifndef ICEGATE_HTTP_H
#define ICEGATE_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"

typedef struct ig_http_server ig_http_server;
typedef struct ig_http_req ig_http_req;
typedef struct ig_http_resp ig_http_resp;
struct ig_ws; /* include/icegate/websocket.h */

struct ig_http_req {
    const char *method;  /* "GET", "POST", ... */
    const char *path;    /* URL path, percent-decoded by the server, no query string */
    ig_str body;         /* whole request body (empty for GET) */
    ig_arena arena;      /* per-request arena, capped; freed after the response */
    const char *listener; /* listener name, e.g. "loki" */
    int64_t start_mono_ns;
    void *conn_;         /* internal */
    ig_http_server *srv_;
    bool too_large;      /* route registered with IG_HTTP_OWN_413: the body passed the cap
                            and was not kept (body is empty); the handler answers 413 in its
                            own format */
    bool form_parsed_;
    void *form_;         /* internal: parsed application/x-www-form-urlencoded body */
    int64_t gone_checked_ns_; /* internal: ig_http_req_gone rate limit */
    bool gone_;
};

/* Streaming producer: appends the next part of the body to out. Returns 1 when more
 * will follow, 0 when the body is complete, negative to abort the connection.
 * Called on the connection thread; ud belongs to the handler until `done` runs. */
typedef int (*ig_http_stream_fn)(void *ud, ig_buf *out);

struct ig_http_resp {
    int status;
    ig_buf body;         /* the whole body, unless stream is set */
    ig_http_stream_fn stream;
    void *stream_ud;
    void (*stream_done)(void *ud); /* called once when the stream ends or the client left */
    char *headers_[32][2]; /* internal; use ig_http_resp_header */
    int nheaders_;
    /* internal: set by ig_http_resp_websocket */
    void (*ws_fn_)(struct ig_ws *ws, void *ud);
    void *ws_ud_;
    void (*ws_done_)(void *ud);
    char ws_accept_[29];
};

/* Handler: fills resp (status defaults to 200). The return value is ignored unless
 * negative, in which case the server answers 500 (the handler should set a precise
 * status itself whenever it can). */
typedef int (*ig_http_handler)(ig_http_req *req, ig_http_resp *resp, void *ud);

typedef struct ig_http_opts {
    const char *name;         /* listener name for logs and metrics, e.g. "otlp_http" */
    const char *host;         /* bind address, e.g. "0.0.0.0" */
    int port;                 /* 0: ephemeral port chosen by the OS (see ig_http_server_port) */
    int64_t max_body_bytes;   /* request body cap; larger bodies get 413 */
    int max_connections;
    int64_t arena_cap_bytes;  /* per-request arena cap; 0: 256 MiB */
    int idle_timeout_s;       /* a connection idle (or stalled mid-request) this long is
                                 closed; 0: 60 s */
} ig_http_opts;

/* Creates a server (not yet listening). Returns NULL on allocation failure. */
ig_http_server *ig_http_server_new(const ig_http_opts *opts);
/* Adds a route. methods: "GET", "POST", "GET|POST", "*". pattern: an exact path, or a
 * path ending in "*" matching any suffix. The first matching route wins; a path that
 * matches with another method gets 405. Routes must be added before start. */
int ig_http_route(ig_http_server *s, const char *methods, const char *pattern, ig_http_handler h,
                  void *ud);
/* Route flags. IG_HTTP_OWN_413: an over-cap body does not get the server's plain-text 413;
 * the handler is called with req->too_large set (and no body) and answers itself (OTLP
 * answers in the request's encoding). */
enum { IG_HTTP_OWN_413 = 1 };
int ig_http_route_flags(ig_http_server *s, const char *methods, const char *pattern,
                        ig_http_handler h, void *ud, unsigned flags);
/* Starts listening; IG_EIO with a message in eb if the port cannot be bound. */
int ig_http_server_start(ig_http_server *s, char *err, size_t errlen);
int ig_http_server_port(const ig_http_server *s);
/* Stops accepting new connections (keeps serving the ones already open). */
void ig_http_server_quiesce(ig_http_server *s);
/* Waits until no request is in flight or timeout_ns passes; returns the number still running. */
int ig_http_server_drain(ig_http_server *s, int64_t timeout_ns);
/* Stops and frees the server. */
void ig_http_server_free(ig_http_server *s);

/* Request accessors. */
/* Header value (case-insensitive name) or NULL. */
const char *ig_http_header(ig_http_req *req, const char *name);
/* Number of header lines with this name (to detect repeated tenant headers). */
int ig_http_header_count(ig_http_req *req, const char *name);
/* First value of a parameter from the query string, then from an
 * application/x-www-form-urlencoded body. Returns true if present. */
bool ig_http_param(ig_http_req *req, const char *name, ig_str *value);
/* All values of a (repeatable) parameter, e.g. match[]. Returns the count; fills up to max. */
int ig_http_param_all(ig_http_req *req, const char *name, ig_str *values, int max);

/* Response helpers. */
int ig_http_resp_header(ig_http_resp *resp, const char *name, const char *value);
/* Sets status, Content-Type and a formatted body. */
int ig_http_resp_text(ig_http_resp *resp, int status, const char *content_type, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
/* Sets status and a JSON body {"status":"error","errorType":type,"error":msg} (Loki/Prometheus style). */
int ig_http_resp_json_error(ig_http_resp *resp, int status, const char *error_type, const char *msg);

/* Process-wide cap on request body bytes being received or held by handlers across every
 * listener (default 1 GiB): past it, new body data is dropped and the request is answered
 * 503 with Retry-After: 1. */
void ig_http_set_inflight_cap(int64_t bytes);
int64_t ig_http_inflight_bytes(void);

/* WebSocket upgrade (RFC 6455). Checks the handshake headers (GET, Upgrade: websocket,
 * Connection: upgrade, Sec-WebSocket-Version: 13, a valid Sec-WebSocket-Key); when they
 * are wrong, answers 400 with the reason, calls done(ud) and returns IG_EINVAL. Otherwise
 * the response becomes "101 Switching Protocols" and, once it is sent, fn(ws, ud) runs on
 * a thread of its own with the connection (include/icegate/websocket.h); when fn returns
 * the connection is closed and done(ud) is called. ud must not point into req->arena
 * (freed when the request ends, before fn returns). Connections still open when the
 * server stops see ig_ws_wait return IG_ECANCELED and have about 2 s to end. */
int ig_http_resp_websocket(ig_http_req *req, ig_http_resp *resp,
                           void (*fn)(struct ig_ws *ws, void *ud), void *ud,
                           void (*done)(void *ud));

/* True when the client of a request whose handler is still running has closed its
 * connection (checked at most every 20 ms; a cheap non-blocking peek at the socket).
 * Safe to call from any thread while the handler runs. */
bool ig_http_req_gone(ig_http_req *req);

/* Decodes %XX and '+' (as space when plus_is_space) from s into the arena. */
ig_str ig_http_urldecode(ig_arena *a, ig_str s, bool plus_is_space);

#endif
