/* Unary gRPC server over HTTP/2 cleartext (h2c with prior knowledge), libnghttp2 underneath.
 * Design note: docs/grpc.md.
 *
 * Threading: one I/O thread per connection (bounded by max_connections) runs the
 * nghttp2 session; when a call's request has fully arrived it is handed to a worker pool
 * (grown on demand up to max_workers threads), where the message is decompressed and the
 * handler runs. A handler may therefore block (e.g. waiting for a WAL group commit)
 * without stalling other streams of its connection or other connections. The response
 * is sent by the connection thread.
 *
 * Ownership: the call (its method, metadata, message and arena) belongs to the server and
 * is valid only while the handler runs; everything allocated from call->arena is freed
 * after the response has been sent. The response buffer is owned by the server too.
 *
 * The same port answers a plain HTTP/1.1 request (GET /ready, /health, /metrics; 501
 * naming gRPC elsewhere), told apart from the HTTP/2 client preface on the first bytes. */
#ifndef ICEGATE_GRPC_H
#define ICEGATE_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"

/* gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
enum {
    IG_GRPC_OK = 0,
    IG_GRPC_CANCELLED = 1,
    IG_GRPC_UNKNOWN = 2,
    IG_GRPC_INVALID_ARGUMENT = 3,
    IG_GRPC_DEADLINE_EXCEEDED = 4,
    IG_GRPC_NOT_FOUND = 5,
    IG_GRPC_ALREADY_EXISTS = 6,
    IG_GRPC_PERMISSION_DENIED = 7,
    IG_GRPC_RESOURCE_EXHAUSTED = 8,
    IG_GRPC_FAILED_PRECONDITION = 9,
    IG_GRPC_ABORTED = 10,
    IG_GRPC_OUT_OF_RANGE = 11,
    IG_GRPC_UNIMPLEMENTED = 12,
    IG_GRPC_INTERNAL = 13,
    IG_GRPC_UNAVAILABLE = 14,
    IG_GRPC_DATA_LOSS = 15,
    IG_GRPC_UNAUTHENTICATED = 16
};

/* Upper-case name of a status code ("OK", "RESOURCE_EXHAUSTED"); "UNKNOWN" if out of range. */
const char *ig_grpc_status_name(int code);
/* The status a handler's negative IceGate error code maps to when the handler did not set
 * one itself: IG_EINVAL/IG_ECORRUPT/IG_ERANGE -> INVALID_ARGUMENT, IG_ETOOBIG/IG_ENOMEM ->
 * RESOURCE_EXHAUSTED, IG_EAGAIN/IG_EIO -> UNAVAILABLE, IG_EPERM -> PERMISSION_DENIED,
 * IG_ETIMEDOUT -> DEADLINE_EXCEEDED, IG_EUNSUPPORTED -> UNIMPLEMENTED, IG_ENOENT ->
 * NOT_FOUND, IG_ECANCELED -> CANCELLED, anything else -> INTERNAL. */
int ig_grpc_status_from_err(int ig_code);

typedef struct ig_grpc_server ig_grpc_server;
typedef struct ig_grpc_md ig_grpc_md; /* internal: one metadata entry */

typedef struct ig_grpc_call {
    const char *method;       /* ":path" of a registered route, e.g.
                                 "/opentelemetry.proto.collector.logs.v1.LogsService/Export" */
    ig_str message;           /* the request message, decompressed (identity, gzip or deflate);
                                 at most max_message_bytes; may be empty */
    ig_arena arena;           /* per call, capped (arena_cap_bytes); freed after the response */
    const char *peer;         /* client address, "ip:port" */
    const char *listener;     /* server name from the options */
    int64_t start_mono_ns;    /* when the request headers arrived (ig_mono_ns clock) */
    int64_t deadline_mono_ns; /* from grpc-timeout, on the ig_mono_ns clock; 0 = none. Not
                                 enforced by the server: long handlers should honour it. */
    /* internal */
    ig_grpc_md *md_;
    int nmd_;
    ig_grpc_md *trailers_;
    int ntrailers_;
} ig_grpc_call;

/* First value of request metadata `name` (ASCII case-insensitive; HTTP/2 names are
 * lower-case, e.g. "x-scope-orgid"), NUL-terminated, or NULL when absent. Pseudo-headers
 * (":path") are not metadata; reserved headers (content-type, grpc-encoding, user-agent,
 * te, grpc-timeout) are. "-bin" values are returned as sent (base64). The string belongs
 * to the call. */
const char *ig_grpc_metadata(const ig_grpc_call *c, const char *name);
/* Number of entries named `name` (to reject a repeated tenant header). */
int ig_grpc_metadata_count(const ig_grpc_call *c, const char *name);
/* Fills up to max values of `name` in arrival order; returns the total count. */
int ig_grpc_metadata_all(const ig_grpc_call *c, const char *name, const char **values, int max);

/* Adds trailing metadata to the response (sent with grpc-status, also in trailers-only
 * error responses). name must be a lower-case valid header name that is not reserved
 * (not grpc-status, grpc-message, content-type, or a pseudo-header); value must be
 * printable ASCII. Both are copied into the call's arena. At most 8 per call.
 * 0, IG_EINVAL (bad or reserved name/value), IG_ETOOBIG (too many) or IG_ENOMEM. */
int ig_grpc_trailer(ig_grpc_call *c, const char *name, const char *value);
/* Same for a binary value; name must end in "-bin" (e.g. "grpc-status-details-bin" carrying
 * a serialized google.rpc.Status with RetryInfo); the value is base64-encoded here. */
int ig_grpc_trailer_bin(ig_grpc_call *c, const char *name, ig_str value);

/* Handler for one unary call, run on a worker thread; it may block.
 *   response_message: empty, owned by the server, capped at max_response_bytes; the
 *                     handler appends the serialized response message (sent uncompressed).
 *   grpc_status:      preset to IG_GRPC_OK; set another code to fail the call.
 *   grpc_message:     preset to ""; a NUL-terminated status message of at most msglen-1
 *                     bytes (any bytes; percent-encoded on the wire as gRPC requires).
 * Returns 0, or a negative IceGate error code: then the call fails with *grpc_status if the
 * handler set one, else ig_grpc_status_from_err(rc), and with grpc_message if set, else
 * ig_strerror(rc). When the status is not OK the response message is not sent (the
 * answer is trailers-only). */
typedef int (*ig_grpc_handler)(ig_grpc_call *c, ig_buf *response_message, int *grpc_status,
                               char *grpc_message, size_t msglen, void *ud);

typedef struct ig_grpc_opts {
    const char *name;           /* listener name for logs, e.g. "otlp_grpc"; NULL: "grpc" */
    const char *host;           /* bind address; NULL: "0.0.0.0" */
    int port;                   /* 0: ephemeral port chosen by the OS (see ig_grpc_server_port) */
    int64_t max_message_bytes;  /* request message cap, compressed and decompressed; 0: 16 MiB */
    int64_t max_response_bytes; /* response message cap; 0: 16 MiB */
    int max_connections;        /* 0: 256; connections past it are closed at once */
    int max_concurrent_streams; /* per connection, advertised in SETTINGS; 0: 100 */
    int max_workers;            /* handler threads, started on demand; 0: 64 */
    int64_t max_header_list_bytes; /* per request (RFC 7541 size: name+value+32); 0: 64 KiB */
    int64_t arena_cap_bytes;       /* per-call arena cap; 0: 256 MiB */
    int64_t idle_timeout_ns;       /* a connection without calls for this long gets GOAWAY and is
                                      closed; 0: 5 min; < 0: never */
    int64_t handshake_timeout_ns; /* time allowed for the first bytes / HTTP/1.1 request; 0: 10 s */
    const char *ready_body;       /* body of HTTP/1.1 GET /ready; NULL: "ready\n" */
} ig_grpc_opts;

/* Creates a server (not yet listening); options are copied. NULL on allocation failure. */
ig_grpc_server *ig_grpc_server_new(const ig_grpc_opts *opts);
/* Registers a handler for an exact method path "/package.Service/Method". Must be called
 * before ig_grpc_server_start. path is copied; ud is borrowed. 0, IG_EINVAL (malformed
 * path, or started already), IG_EEXIST (registered twice) or IG_ENOMEM. */
int ig_grpc_route(ig_grpc_server *s, const char *path, ig_grpc_handler h, void *ud);
/* Binds and starts the accept thread. IG_EIO with a message in err (if not NULL) when the
 * address cannot be bound; IG_ENOMEM. */
int ig_grpc_server_start(ig_grpc_server *s, char *err, size_t errlen);
/* The bound port (after start), or 0. */
int ig_grpc_server_port(const ig_grpc_server *s);
/* Stops accepting (closes the listening socket) and sends GOAWAY (last stream id = the
 * last stream processed, NO_ERROR) on every open connection; calls already received
 * complete and connections close once idle. Idempotent. */
void ig_grpc_server_quiesce(ig_grpc_server *s);
/* Waits until no call is in flight (received and not yet fully answered) or timeout_ns
 * passes; returns the number still in flight. */
int ig_grpc_server_drain(ig_grpc_server *s, int64_t timeout_ns);
/* Quiesces if needed, closes every connection, waits for running handlers to return (a
 * handler that never returns blocks this), stops the workers and frees the server.
 * NULL is allowed. */
void ig_grpc_server_free(ig_grpc_server *s);

#endif
