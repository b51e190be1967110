/* Unary gRPC server over h2c (HTTP/2 cleartext, prior knowledge) on libnghttp2.
 * Design note: docs/grpc.md. Public API and ownership rules: include/icegate/grpc.h.
 *
 * Threads:
 *   accept thread      accepts, caps the number of connections, starts connection threads
 *   connection thread  one per connection (detached): tells HTTP/2 from HTTP/1.1 on the
 *                      first bytes, then runs the nghttp2 session with mem_recv/mem_send
 *                      over a non-blocking socket, polled together with an eventfd
 *   workers            a pool grown on demand up to max_workers: decompress the message,
 *                      run the handler, hand the finished stream back to its connection
 *                      (done list + eventfd); only the connection thread touches nghttp2.
 * A stream (one call) is owned by its connection thread, except while it is queued or
 * running on a worker, when only the worker touches the call/response fields. */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/grpc.h"
#include "icegate/json.h"
#include "icegate/log.h"
#include "icegate/metrics.h"
#include "icegate/time.h"

#define GRPC_MSG_MAX 1024   /* status message bytes kept (before percent-encoding) */
#define GRPC_MAX_MD 256     /* metadata entries per request */
#define GRPC_MAX_TRAILERS 8 /* custom trailers per call */
#define GRPC_PATH_MAX 1024  /* :path bytes kept */
#define H1_HEAD_MAX 8192    /* HTTP/1.1 request head cap */

static const char H2_PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; /* 24 bytes */

struct ig_grpc_md {
    const char *name;
    const char *value;
    size_t name_len;
    size_t value_len;
};

typedef struct route {
    char *path;
    size_t svc_len; /* bytes of "/package.Service/" */
    ig_grpc_handler h;
    void *ud;
} route;

enum st_state {
    ST_HEADERS, /* request headers arriving */
    ST_BODY,    /* headers validated, DATA arriving */
    ST_WORKER,  /* queued or running on a worker */
    ST_DONE,    /* response submitted */
};

typedef struct gconn gconn;

typedef struct gstream {
    struct gstream *next, *prev; /* conn's list of live streams */
    struct gstream *qnext;       /* job queue / done list */
    gconn *c;
    int32_t id;
    enum st_state state;
    bool closed;    /* nghttp2 closed the stream */
    bool recorded;  /* metrics recorded */
    bool rst_after; /* early answer sent while the request was open: RST NO_ERROR after it */
    atomic_bool cancelled;
    const route *rt;
    ig_grpc_call call;

    /* request headers (strings in call.arena) */
    ig_str hmethod, path, ctype, encoding, timeout;
    size_t hdr_bytes;
    bool hdr_too_big;
    bool hdr_oom;
    int md_cap;
    bool proto_subtype; /* content-type application/grpc+proto */
    int enc;            /* 0 identity, 1 gzip, 2 deflate */

    /* message framing */
    uint8_t fhdr[5];
    int fhdr_got;
    bool in_msg;
    uint32_t msg_len;
    bool compressed;
    int nmsgs;
    ig_buf body;     /* the (possibly compressed) message */
    ig_buf inflated; /* decompressed message */

    /* response */
    int status;
    char msg[GRPC_MSG_MAX];
    ig_buf resp;
    uint8_t rhdr[5];
    size_t resp_off;
} gstream;

struct gconn {
    gconn *next, *prev;
    ig_grpc_server *s;
    int fd;
    int wakefd;
    char peer[64];
    nghttp2_session *sess;
    bool sess_dead;
    pthread_mutex_t mu; /* guards done list */
    gstream *done_head, *done_tail;
    int dispatched; /* streams with a worker (connection thread only) */
    int live;       /* allocated streams (connection thread only) */
    gstream *streams;
    bool goaway_sent;
    const uint8_t *out;
    size_t outlen;
    int64_t last_activity;
};

struct ig_grpc_server {
    char *name, *host, *ready_body;
    int port;
    int64_t max_msg, max_resp, max_hdr, arena_cap, idle_ns, hs_ns;
    int max_conns, max_streams, max_workers;
    route *routes;
    int nroutes, routes_cap;
    nghttp2_session_callbacks *cbs;

    int lfd;
    int bound_port;
    int accept_wake;
    bool started;
    bool accept_running;
    pthread_t accept_thr;

    pthread_mutex_t mu; /* conns, nconns, inflight waits */
    pthread_cond_t cv;
    gconn *conns;
    int nconns;
    atomic_int inflight;
    atomic_bool quiesced;
    atomic_bool stopping;

    pthread_mutex_t qmu; /* worker queue */
    pthread_cond_t qcv;
    gstream *qhead, *qtail;
    int qlen;
    int nworkers, idle_workers;
    bool wstop;
    pthread_t *workers;
};

/* ---- small helpers ---------------------------------------------------------------- */

static const char *const STATUS_NAMES[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const char *ig_grpc_status_name(int code)
{
    if (code < 0 || code > 16)
        return "UNKNOWN";
    return STATUS_NAMES[code];
}

int ig_grpc_status_from_err(int ig_code)
{
    switch (ig_code) {
    case IG_OK:
        return IG_GRPC_OK;
    case IG_EINVAL:
    case IG_ECORRUPT:
    case IG_ERANGE:
        return IG_GRPC_INVALID_ARGUMENT;
    case IG_ETOOBIG:
    case IG_ENOMEM:
        return IG_GRPC_RESOURCE_EXHAUSTED;
    case IG_EAGAIN:
    case IG_EIO:
        return IG_GRPC_UNAVAILABLE;
    case IG_EPERM:
        return IG_GRPC_PERMISSION_DENIED;
    case IG_ETIMEDOUT:
        return IG_GRPC_DEADLINE_EXCEEDED;
    case IG_EUNSUPPORTED:
        return IG_GRPC_UNIMPLEMENTED;
    case IG_ENOENT:
        return IG_GRPC_NOT_FOUND;
    case IG_ECANCELED:
        return IG_GRPC_CANCELLED;
    default:
        return IG_GRPC_INTERNAL;
    }
}

static bool ascii_case_eq(const char *a, size_t alen, const char *b)
{
    size_t i = 0;
    for (; i < alen && b[i]; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return i == alen && b[i] == 0;
}

static void wake(int fd)
{
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n;
}

static void unwake(int fd)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof v);
    (void)n;
}

/* Percent-encodes a grpc-message value as the gRPC spec requires: bytes outside
 * 0x20..0x7E and '%' become %XX. dst needs 3*len+1 bytes. */
static size_t grpc_percent_encode(const char *src, size_t len, char *dst)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)src[i];
        if (b < 0x20 || b > 0x7e || b == '%') {
            dst[o++] = '%';
            dst[o++] = hex[b >> 4];
            dst[o++] = hex[b & 15];
        } else {
            dst[o++] = (char)b;
        }
    }
    dst[o] = 0;
    return o;
}

/* grpc-timeout: 1-8 ASCII digits and a unit H M S m u n. */
static int parse_grpc_timeout(ig_str v, int64_t *ns)
{
    if (v.len < 2 || v.len > 9)
        return IG_EINVAL;
    int64_t n = 0;
    for (size_t i = 0; i + 1 < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return IG_EINVAL;
        n = n * 10 + (v.ptr[i] - '0');
    }
    int64_t mul;
    switch (v.ptr[v.len - 1]) {
    case 'H':
        mul = 3600 * IG_NS_PER_S;
        break;
    case 'M':
        mul = 60 * IG_NS_PER_S;
        break;
    case 'S':
        mul = IG_NS_PER_S;
        break;
    case 'm':
        mul = IG_NS_PER_MS;
        break;
    case 'u':
        mul = IG_NS_PER_US;
        break;
    case 'n':
        mul = 1;
        break;
    default:
        return IG_EINVAL;
    }
    /* 99,999,999 hours overflows int64 ns: saturate (the deadline is effectively none). */
    if (n > INT64_MAX / mul)
        *ns = INT64_MAX / 2;
    else
        *ns = n * mul;
    return 0;
}

/* ---- metadata ------------------------------------------------------------------------ */

const char *ig_grpc_metadata(const ig_grpc_call *c, const char *name)
{
    for (int i = 0; i < c->nmd_; i++)
        if (ascii_case_eq(c->md_[i].name, c->md_[i].name_len, name))
            return c->md_[i].value;
    return NULL;
}

int ig_grpc_metadata_count(const ig_grpc_call *c, const char *name)
{
    return ig_grpc_metadata_all(c, name, NULL, 0);
}

int ig_grpc_metadata_all(const ig_grpc_call *c, const char *name, const char **values, int max)
{
    int n = 0;
    for (int i = 0; i < c->nmd_; i++)
        if (ascii_case_eq(c->md_[i].name, c->md_[i].name_len, name)) {
            if (values && n < max)
                values[n] = c->md_[i].value;
            n++;
        }
    return n;
}

static bool valid_md_name(const char *n)
{
    if (!n || !*n)
        return false;
    for (const char *p = n; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
              ch == '.'))
            return false;
    }
    static const char *const reserved[] = {
        "grpc-status",   "grpc-message",         "content-type",   "te",
        "grpc-encoding", "grpc-accept-encoding", "content-length", "connection"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!strcmp(n, reserved[i]))
            return false;
    return true;
}

static int add_trailer(ig_grpc_call *c, const char *name, ig_str value)
{
    if (c->ntrailers_ >= GRPC_MAX_TRAILERS)
        return IG_ETOOBIG;
    if (!c->trailers_) {
        c->trailers_ = ig_arena_zalloc(&c->arena, sizeof(ig_grpc_md) * GRPC_MAX_TRAILERS);
        if (!c->trailers_)
            return IG_ENOMEM;
    }
    ig_str n = ig_arena_strdup(&c->arena, ig_str_from(name));
    ig_str v = ig_arena_strdup(&c->arena, value);
    if (!n.ptr || !v.ptr)
        return IG_ENOMEM;
    c->trailers_[c->ntrailers_++] = (ig_grpc_md){n.ptr, v.ptr, n.len, v.len};
    return 0;
}

int ig_grpc_trailer(ig_grpc_call *c, const char *name, const char *value)
{
    if (!valid_md_name(name) || !value)
        return IG_EINVAL;
    size_t nl = strlen(name);
    if (nl >= 4 && !strcmp(name + nl - 4, "-bin"))
        return IG_EINVAL;
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return IG_EINVAL;
    return add_trailer(c, name, ig_str_from(value));
}

int ig_grpc_trailer_bin(ig_grpc_call *c, const char *name, ig_str value)
{
    if (!valid_md_name(name))
        return IG_EINVAL;
    size_t nl = strlen(name);
    if (nl < 5 || strcmp(name + nl - 4, "-bin"))
        return IG_EINVAL;
    ig_buf b;
    ig_buf_init(&b, 0);
    int rc = json_b64_encode(&b, value);
    if (rc == 0)
        rc = add_trailer(c, name, ig_buf_str(&b));
    ig_buf_free(&b);
    return rc;
}

/* ---- metrics ------------------------------------------------------------------------- */

static void record(gstream *st, int status)
{
    if (st->recorded)
        return;
    st->recorded = true;
    char labels[GRPC_PATH_MAX + 64];
    const char *m = st->rt ? st->rt->path : "unknown";
    char esc[GRPC_PATH_MAX];
    ig_metrics_label_escape(m, esc, sizeof esc);
    snprintf(labels, sizeof labels, "method=\"%s\",code=\"%s\"", esc, ig_grpc_status_name(status));
    ig_metric_add(ig_counter("icegate_grpc_requests_total",
                             "gRPC calls by method (registered route or \"unknown\") and status "
                             "code.",
                             labels),
                  1);
    snprintf(labels, sizeof labels, "method=\"%s\"", esc);
    double secs = (double)(ig_mono_ns() - st->call.start_mono_ns) / 1e9;
    ig_metric_observe(ig_histogram("icegate_grpc_request_duration_seconds",
                                   "gRPC call latency by method, from request headers to the "
                                   "response being queued.",
                                   labels, IG_LATENCY_BUCKETS, IG_LATENCY_NBUCKETS),
                      secs);
}

/* ---- streams ------------------------------------------------------------------------- */

static gstream *stream_new(gconn *c, int32_t id)
{
    gstream *st = ig_calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->c = c;
    st->id = id;
    st->state = ST_HEADERS;
    atomic_init(&st->cancelled, false);
    ig_arena_init(&st->call.arena, (size_t)c->s->arena_cap);
    ig_buf_init(&st->body, 1);
    ig_buf_init(&st->inflated, 1);
    ig_buf_init(&st->resp, 1);
    st->call.peer = c->peer;
    st->call.listener = c->s->name;
    st->call.start_mono_ns = ig_mono_ns();
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    c->live++;
    c->last_activity = st->call.start_mono_ns;
    atomic_fetch_add(&c->s->inflight, 1);
    return st;
}

static void stream_free(gstream *st)
{
    gconn *c = st->c;
    ig_grpc_server *s = c->s;
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    c->live--;
    c->last_activity = ig_mono_ns();
    if (!st->recorded)
        record(st, IG_GRPC_CANCELLED);
    ig_buf_free(&st->body);
    ig_buf_free(&st->inflated);
    ig_buf_free(&st->resp);
    ig_arena_free(&st->call.arena);
    ig_free(st);
    pthread_mutex_lock(&s->mu);
    if (atomic_fetch_sub(&s->inflight, 1) == 1)
        pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- responses (connection thread) ---------------------------------------------------- */

#define NV(n, v, vl)                                                                               \
    ((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vl), NGHTTP2_NV_FLAG_NONE})

/* Appends grpc-status, grpc-message and the call's custom trailers to nv. */
static int status_nv(gstream *st, nghttp2_nv *nv, int n, char *codebuf, char *encmsg)
{
    snprintf(codebuf, 8, "%d", st->status);
    nv[n++] = NV("grpc-status", codebuf, strlen(codebuf));
    if (st->msg[0]) {
        size_t l = grpc_percent_encode(st->msg, strlen(st->msg), encmsg);
        nv[n++] = NV("grpc-message", encmsg, l);
    }
    for (int i = 0; i < st->call.ntrailers_; i++) {
        const ig_grpc_md *m = &st->call.trailers_[i];
        nv[n++] = (nghttp2_nv){(uint8_t *)m->name, (uint8_t *)m->value, m->name_len, m->value_len,
                               NGHTTP2_NV_FLAG_NONE};
    }
    return n;
}

static const char *resp_ctype(const gstream *st)
{
    return st->proto_subtype ? "application/grpc+proto" : "application/grpc";
}

/* Sends a trailers-only response: one HEADERS frame with END_STREAM. */
static void send_trailers_only(gstream *st, int http_status)
{
    gconn *c = st->c;
    nghttp2_nv nv[8 + GRPC_MAX_TRAILERS];
    char sbuf[8], codebuf[8], encmsg[3 * GRPC_MSG_MAX + 1];
    snprintf(sbuf, sizeof sbuf, "%d", http_status);
    int n = 0;
    nv[n++] = NV(":status", sbuf, strlen(sbuf));
    const char *ct = resp_ctype(st);
    nv[n++] = NV("content-type", ct, strlen(ct));
    nv[n++] = NV("grpc-accept-encoding", "identity,deflate,gzip", 21);
    n = status_nv(st, nv, n, codebuf, encmsg);
    st->state = ST_DONE;
    record(st, st->status);
    if (nghttp2_submit_response(c->sess, st->id, nv, (size_t)n, NULL) != 0)
        nghttp2_submit_rst_stream(c->sess, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

/* Answers a call with an error before its request is complete (or without running a
 * handler). Frees the request buffers; any further DATA is discarded. */
static void early_error(gstream *st, int http_status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void early_error(gstream *st, int http_status, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    st->status = code;
    ig_buf_free(&st->body);
    st->rst_after = true;
    send_trailers_only(st, http_status);
}

static ssize_t data_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    gstream *st = source->ptr;
    size_t total = 5 + st->resp.len, n = 0;
    while (n < length && st->resp_off < total) {
        size_t take;
        if (st->resp_off < 5) {
            take = 5 - st->resp_off;
            if (take > length - n)
                take = length - n;
            memcpy(buf + n, st->rhdr + st->resp_off, take);
        } else {
            take = total - st->resp_off;
            if (take > length - n)
                take = length - n;
            memcpy(buf + n, st->resp.data + (st->resp_off - 5), take);
        }
        n += take;
        st->resp_off += take;
    }
    if (st->resp_off == total) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        nghttp2_nv nv[2 + GRPC_MAX_TRAILERS];
        char codebuf[8], encmsg[3 * GRPC_MSG_MAX + 1];
        int k = status_nv(st, nv, 0, codebuf, encmsg);
        if (nghttp2_submit_trailer(session, stream_id, nv, (size_t)k) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return (ssize_t)n;
}

/* Sends the handler's answer: HEADERS, DATA (framed message), trailers; or trailers-only. */
static void send_final(gstream *st)
{
    gconn *c = st->c;
    if (st->status != IG_GRPC_OK) {
        send_trailers_only(st, 200);
        return;
    }
    uint32_t len = (uint32_t)st->resp.len;
    st->rhdr[0] = 0;
    st->rhdr[1] = (uint8_t)(len >> 24);
    st->rhdr[2] = (uint8_t)(len >> 16);
    st->rhdr[3] = (uint8_t)(len >> 8);
    st->rhdr[4] = (uint8_t)len;
    st->resp_off = 0;
    const char *ct = resp_ctype(st);
    nghttp2_nv nv[3] = {NV(":status", "200", 3), NV("content-type", ct, strlen(ct)),
                        NV("grpc-accept-encoding", "identity,deflate,gzip", 21)};
    nghttp2_data_provider prd = {.source = {.ptr = st}, .read_callback = data_read_cb};
    st->state = ST_DONE;
    record(st, IG_GRPC_OK);
    if (nghttp2_submit_response(c->sess, st->id, nv, 3, &prd) != 0)
        nghttp2_submit_rst_stream(c->sess, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

/* ---- workers ------------------------------------------------------------------------- */

/* Inflates st->body into st->inflated, stopping as soon as the output would pass max.
 * Returns a gRPC status (OK, RESOURCE_EXHAUSTED or INTERNAL) with st->msg set on error. */
static int inflate_msg(gstream *st, int64_t max)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, st->enc == 1 ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
        snprintf(st->msg, sizeof st->msg,
                 "grpc: failed to decompress the received message: "
                 "out of memory");
        return IG_GRPC_RESOURCE_EXHAUSTED;
    }
    ig_buf_init(&st->inflated, (size_t)max + 1); /* one byte past max tells "too large" */
    zs.next_in = (Bytef *)st->body.data;
    zs.avail_in = (uInt)st->body.len;
    int status = IG_GRPC_OK;
    for (;;) {
        size_t room = st->inflated.cap ? st->inflated.cap - 1 - st->inflated.len : 0;
        if (room == 0) {
            size_t want = st->inflated.len ? st->inflated.len : 4096;
            if (want < st->body.len * 2)
                want = st->body.len * 2;
            if (want > st->inflated.max - st->inflated.len)
                want = st->inflated.max - st->inflated.len;
            if (want == 0 || ig_buf_reserve(&st->inflated, want) != 0) {
                if (want == 0)
                    goto too_big;
                snprintf(st->msg, sizeof st->msg,
                         "grpc: failed to decompress the received message: out of memory");
                status = IG_GRPC_RESOURCE_EXHAUSTED;
                break;
            }
            room = st->inflated.cap - 1 - st->inflated.len;
            if (room > st->inflated.max - st->inflated.len)
                room = st->inflated.max - st->inflated.len;
        }
        if (room > UINT_MAX)
            room = UINT_MAX;
        zs.next_out = (Bytef *)st->inflated.data + st->inflated.len;
        zs.avail_out = (uInt)room;
        int zrc = inflate(&zs, Z_NO_FLUSH);
        st->inflated.len += room - zs.avail_out;
        if (st->inflated.len > (size_t)max)
            goto too_big;
        if (zrc == Z_STREAM_END) {
            if (zs.avail_in > 0) {
                snprintf(st->msg, sizeof st->msg,
                         "grpc: failed to decompress the received message: %u bytes after the "
                         "end of the compressed stream",
                         zs.avail_in);
                status = IG_GRPC_INTERNAL;
            }
            break;
        }
        if (zrc == Z_OK)
            continue;
        if (zrc == Z_BUF_ERROR && zs.avail_out == 0)
            continue; /* output full: grow */
        snprintf(st->msg, sizeof st->msg, "grpc: failed to decompress the received message: %s",
                 zrc == Z_BUF_ERROR ? "unexpected end of compressed data"
                 : zs.msg           ? zs.msg
                                    : "corrupt data");
        status = IG_GRPC_INTERNAL;
        break;
    }
    inflateEnd(&zs);
    if (status == IG_GRPC_OK)
        st->inflated.data[st->inflated.len] = 0;
    return status;
too_big:
    inflateEnd(&zs);
    snprintf(st->msg, sizeof st->msg,
             "grpc: received message after decompression larger than max %lld", (long long)max);
    return IG_GRPC_RESOURCE_EXHAUSTED;
}

static void run_call(ig_grpc_server *s, gstream *st)
{
    st->status = IG_GRPC_OK;
    st->msg[0] = 0;
    if (atomic_load(&st->cancelled))
        return; /* the client went away before we started */
    if (st->compressed) {
        st->status = inflate_msg(st, s->max_msg);
        ig_buf_free(&st->body);
        if (st->status != IG_GRPC_OK) {
            ig_buf_free(&st->inflated);
            return;
        }
        st->call.message = ig_buf_str(&st->inflated);
    } else {
        st->call.message = ig_buf_str(&st->body);
    }
    if (!st->call.message.ptr)
        st->call.message.ptr = "";
    ig_buf_init(&st->resp, (size_t)s->max_resp);
    int status = IG_GRPC_OK;
    char msg[GRPC_MSG_MAX];
    msg[0] = 0;
    int rc = st->rt->h(&st->call, &st->resp, &status, msg, sizeof msg, st->rt->ud);
    msg[sizeof msg - 1] = 0;
    if (rc < 0 && status == IG_GRPC_OK) {
        status = ig_grpc_status_from_err(rc);
        if (status == IG_GRPC_OK)
            status = IG_GRPC_INTERNAL;
    }
    if (rc < 0 && !msg[0])
        snprintf(msg, sizeof msg, "%s", ig_strerror(rc));
    if (status < 0 || status > 16)
        status = IG_GRPC_UNKNOWN;
    st->status = status;
    memcpy(st->msg, msg, sizeof msg);
    /* The request is no longer needed; free it before the response is written. */
    ig_buf_free(&st->body);
    ig_buf_free(&st->inflated);
    st->call.message = IG_STR_NULL;
    if (status != IG_GRPC_OK)
        ig_buf_free(&st->resp);
}

static void *worker_main(void *arg)
{
    ig_grpc_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (!s->qhead && !s->wstop) {
            s->idle_workers++;
            pthread_cond_wait(&s->qcv, &s->qmu);
            s->idle_workers--;
        }
        gstream *st = s->qhead;
        if (!st) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        s->qhead = st->qnext;
        if (!s->qhead)
            s->qtail = NULL;
        s->qlen--;
        pthread_mutex_unlock(&s->qmu);

        st->qnext = NULL;
        run_call(s, st);

        gconn *c = st->c;
        pthread_mutex_lock(&c->mu);
        if (c->done_tail)
            c->done_tail->qnext = st;
        else
            c->done_head = st;
        c->done_tail = st;
        wake(c->wakefd); /* under the lock: c cannot be freed before we are done with it */
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

static void dispatch(gstream *st)
{
    gconn *c = st->c;
    ig_grpc_server *s = c->s;
    pthread_mutex_lock(&s->qmu);
    /* Grow the pool when more calls wait than workers idle (bounded by max_workers); a
     * signalled worker still counts as idle until it wakes, so compare with the queue. */
    if (s->qlen + 1 > s->idle_workers && s->nworkers < s->max_workers &&
        pthread_create(&s->workers[s->nworkers], NULL, worker_main, s) == 0)
        s->nworkers++;
    if (s->nworkers == 0) {
        pthread_mutex_unlock(&s->qmu);
        ig_logf(IG_LOG_ERROR, "grpc %s: cannot start a worker thread", s->name);
        early_error(st, 200, IG_GRPC_UNAVAILABLE, "grpc: no worker thread available");
        return;
    }
    st->state = ST_WORKER;
    c->dispatched++;
    st->qnext = NULL;
    if (s->qtail)
        s->qtail->qnext = st;
    else
        s->qhead = st;
    s->qtail = st;
    s->qlen++;
    pthread_cond_signal(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
}

/* Finished calls handed back by workers. */
static void process_done(gconn *c)
{
    pthread_mutex_lock(&c->mu);
    gstream *st = c->done_head;
    c->done_head = c->done_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    while (st) {
        gstream *next = st->qnext;
        st->qnext = NULL;
        c->dispatched--;
        if (st->closed || c->sess_dead) {
            stream_free(st);
        } else {
            send_final(st);
        }
        st = next;
    }
}

/* ---- nghttp2 callbacks (connection thread) -------------------------------------------- */

static gstream *stream_of(nghttp2_session *sess, int32_t id)
{
    return nghttp2_session_get_stream_user_data(sess, id);
}

static int on_begin_headers(nghttp2_session *sess, const nghttp2_frame *frame, void *ud)
{
    gconn *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    /* nghttp2 enforces SETTINGS_MAX_CONCURRENT_STREAMS on open streams; streams the client
     * closed while their handler runs still hold memory, so cap those too. */
    gstream *st = c->live < c->s->max_streams ? stream_new(c, frame->hd.stream_id) : NULL;
    if (!st) {
        nghttp2_submit_rst_stream(sess, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    nghttp2_session_set_stream_user_data(sess, frame->hd.stream_id, st);
    return 0;
}

static ig_str keep(gstream *st, const uint8_t *v, size_t n)
{
    ig_str r = ig_arena_strdup(&st->call.arena, ig_str_make(v, n));
    if (!r.ptr)
        st->hdr_oom = true;
    return r;
}

static int on_header(nghttp2_session *sess, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* request trailers carry nothing we use */
    gstream *st = stream_of(sess, frame->hd.stream_id);
    if (!st || st->state != ST_HEADERS)
        return 0;
    ig_grpc_server *s = st->c->s;
    st->hdr_bytes += namelen + valuelen + 32;
    if (st->hdr_bytes > (size_t)s->max_hdr) {
        st->hdr_too_big = true;
        return 0;
    }
    if (st->hdr_too_big || st->hdr_oom)
        return 0;
    if (namelen > 0 && name[0] == ':') {
        if (namelen == 7 && !memcmp(name, ":method", 7))
            st->hmethod = keep(st, value, valuelen);
        else if (namelen == 5 && !memcmp(name, ":path", 5))
            st->path = keep(st, value, valuelen < GRPC_PATH_MAX ? valuelen : GRPC_PATH_MAX);
        return 0;
    }
    ig_grpc_call *call = &st->call;
    if (call->nmd_ >= GRPC_MAX_MD) {
        st->hdr_too_big = true;
        return 0;
    }
    if (call->nmd_ == st->md_cap) {
        int ncap = st->md_cap ? st->md_cap * 2 : 16;
        ig_grpc_md *m = ig_arena_alloc(&call->arena, sizeof *m * (size_t)ncap);
        if (!m) {
            st->hdr_oom = true;
            return 0;
        }
        if (call->nmd_)
            memcpy(m, call->md_, sizeof *m * (size_t)call->nmd_);
        call->md_ = m;
        st->md_cap = ncap;
    }
    ig_str n = keep(st, name, namelen), v = keep(st, value, valuelen);
    if (!n.ptr || !v.ptr)
        return 0;
    call->md_[call->nmd_++] = (ig_grpc_md){n.ptr, v.ptr, n.len, v.len};
    if (ig_str_eq_cstr(n, "content-type"))
        st->ctype = v;
    else if (ig_str_eq_cstr(n, "grpc-encoding"))
        st->encoding = v;
    else if (ig_str_eq_cstr(n, "grpc-timeout"))
        st->timeout = v;
    return 0;
}

static const route *find_route(ig_grpc_server *s, ig_str path)
{
    for (int i = 0; i < s->nroutes; i++)
        if (ig_str_eq_cstr(path, s->routes[i].path))
            return &s->routes[i];
    return NULL;
}

/* All request headers are in: validate them as grpc-go does, or answer at once. */
static void headers_done(gstream *st)
{
    ig_grpc_server *s = st->c->s;
    if (st->hdr_too_big) {
        early_error(st, 200, IG_GRPC_RESOURCE_EXHAUSTED,
                    "grpc: request header list is larger than max (%d entries, %lld bytes)",
                    GRPC_MAX_MD, (long long)s->max_hdr);
        return;
    }
    if (st->hdr_oom) {
        early_error(st, 200, IG_GRPC_RESOURCE_EXHAUSTED, "grpc: server out of memory");
        return;
    }
    ig_str ct = st->ctype;
    long semi = ig_str_index(ct, ';');
    if (semi >= 0)
        ct.len = (size_t)semi;
    ct = ig_str_trim(ct);
    if (ig_str_case_eq(ct, "application/grpc+proto")) {
        st->proto_subtype = true;
    } else if (!ig_str_case_eq(ct, "application/grpc")) {
        early_error(st, 415, IG_GRPC_INTERNAL, "invalid gRPC request content-type \"%.*s\"",
                    (int)(st->ctype.len > 200 ? 200 : st->ctype.len),
                    st->ctype.ptr ? st->ctype.ptr : "");
        return;
    }
    if (!ig_str_eq_cstr(st->hmethod, "POST")) {
        early_error(st, 405, IG_GRPC_INTERNAL,
                    "http2Server.operateHeaders parsed a :method field: %.*s which should be "
                    "POST",
                    (int)(st->hmethod.len > 32 ? 32 : st->hmethod.len),
                    st->hmethod.ptr ? st->hmethod.ptr : "");
        return;
    }
    st->rt = find_route(s, st->path);
    if (!st->rt) {
        ig_str p = st->path;
        int pl = (int)(p.len > 200 ? 200 : p.len);
        const char *pp = p.ptr ? p.ptr : "";
        long slash = p.len > 1 && p.ptr[0] == '/'
                         ? ig_str_index(ig_str_make(p.ptr + 1, p.len - 1), '/')
                         : -1;
        if (slash <= 0 || (size_t)slash + 2 >= p.len) {
            early_error(st, 200, IG_GRPC_UNIMPLEMENTED, "malformed method name: \"%.*s\"", pl, pp);
            return;
        }
        size_t svc_len = (size_t)slash + 2; /* "/svc/" */
        bool known = false;
        for (int i = 0; i < s->nroutes && !known; i++)
            known = s->routes[i].svc_len == svc_len && !memcmp(s->routes[i].path, p.ptr, svc_len);
        int sl = (int)(svc_len - 2 > 200 ? 200 : svc_len - 2);
        if (known)
            early_error(st, 200, IG_GRPC_UNIMPLEMENTED, "unknown method %.*s for service %.*s",
                        (int)(p.len - svc_len > 200 ? 200 : p.len - svc_len), p.ptr + svc_len, sl,
                        p.ptr + 1);
        else
            early_error(st, 200, IG_GRPC_UNIMPLEMENTED, "unknown service %.*s", sl, p.ptr + 1);
        return;
    }
    st->call.method = st->rt->path;
    if (!st->encoding.ptr || ig_str_eq_cstr(st->encoding, "identity"))
        st->enc = 0;
    else if (ig_str_eq_cstr(st->encoding, "gzip"))
        st->enc = 1;
    else if (ig_str_eq_cstr(st->encoding, "deflate"))
        st->enc = 2;
    else {
        early_error(st, 200, IG_GRPC_UNIMPLEMENTED,
                    "grpc: Decompressor is not installed for grpc-encoding \"%.*s\"",
                    (int)(st->encoding.len > 64 ? 64 : st->encoding.len), st->encoding.ptr);
        return;
    }
    if (st->timeout.ptr) {
        int64_t ns;
        if (parse_grpc_timeout(st->timeout, &ns) != 0) {
            early_error(st, 400, IG_GRPC_INTERNAL, "transport: malformed grpc-timeout: \"%.*s\"",
                        (int)(st->timeout.len > 32 ? 32 : st->timeout.len), st->timeout.ptr);
            return;
        }
        st->call.deadline_mono_ns = st->call.start_mono_ns + ns;
    }
    st->state = ST_BODY;
}

/* END_STREAM from the client: the request is complete. */
static void request_end(gstream *st)
{
    if (st->state != ST_BODY)
        return;
    if (st->fhdr_got > 0 && st->fhdr_got < 5) {
        early_error(st, 200, IG_GRPC_INTERNAL,
                    "grpc: request ended inside a message header (%d of 5 bytes)", st->fhdr_got);
        return;
    }
    if (st->in_msg) {
        early_error(st, 200, IG_GRPC_INTERNAL,
                    "grpc: request ended inside a message (%zu of %u bytes)", st->body.len,
                    st->msg_len);
        return;
    }
    if (st->nmsgs == 0) {
        early_error(st, 200, IG_GRPC_INTERNAL, "grpc: unary call ended without a request message");
        return;
    }
    st->rst_after = false;
    dispatch(st);
}

static int on_frame_recv(nghttp2_session *sess, const nghttp2_frame *frame, void *ud)
{
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    gstream *st = stream_of(sess, frame->hd.stream_id);
    if (!st)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
        st->state == ST_HEADERS)
        headers_done(st);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        request_end(st);
    return 0;
}

static int on_data_chunk(nghttp2_session *sess, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *ud)
{
    gstream *st = stream_of(sess, stream_id);
    if (!st || st->state != ST_BODY)
        return 0; /* answered already: discard */
    ig_grpc_server *s = st->c->s;
    while (len > 0) {
        if (!st->in_msg) {
            size_t take = 5 - (size_t)st->fhdr_got;
            if (take > len)
                take = len;
            memcpy(st->fhdr + st->fhdr_got, data, take);
            st->fhdr_got += (int)take;
            data += take;
            len -= take;
            if (st->fhdr_got < 5)
                return 0;
            if (st->nmsgs >= 1) {
                early_error(st, 200, IG_GRPC_INTERNAL,
                            "grpc: more than one request message in a unary call");
                return 0;
            }
            uint32_t n = (uint32_t)st->fhdr[1] << 24 | (uint32_t)st->fhdr[2] << 16 |
                         (uint32_t)st->fhdr[3] << 8 | st->fhdr[4];
            if (st->fhdr[0] > 1) {
                early_error(st, 200, IG_GRPC_INTERNAL,
                            "grpc: invalid message flags 0x%02x (want 0 or 1)", st->fhdr[0]);
                return 0;
            }
            if ((int64_t)n > s->max_msg) {
                early_error(st, 200, IG_GRPC_RESOURCE_EXHAUSTED,
                            "grpc: received message larger than max (%u vs. %lld)", n,
                            (long long)s->max_msg);
                return 0;
            }
            if (st->fhdr[0] == 1 && st->enc == 0) {
                early_error(st, 200, IG_GRPC_INTERNAL,
                            "grpc: compressed flag set with identity or empty encoding");
                return 0;
            }
            st->nmsgs++;
            st->compressed = st->fhdr[0] == 1;
            st->msg_len = n;
            st->in_msg = n > 0;
            st->fhdr_got = n > 0 ? 5 : 0;
            ig_buf_init(&st->body, n ? n : 1);
            continue;
        }
        size_t take = st->msg_len - st->body.len;
        if (take > len)
            take = len;
        if (ig_buf_append(&st->body, data, take) != 0) {
            early_error(st, 200, IG_GRPC_RESOURCE_EXHAUSTED, "grpc: server out of memory");
            return 0;
        }
        data += take;
        len -= take;
        if (st->body.len == st->msg_len) {
            st->in_msg = false;
            st->fhdr_got = 0; /* a second message header would start here */
        }
    }
    return 0;
}

static int on_frame_send(nghttp2_session *sess, const nghttp2_frame *frame, void *ud)
{
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    gstream *st = stream_of(sess, frame->hd.stream_id);
    /* An early answer while the client is still sending: ask it to stop (RFC 9113 8.1). */
    if (st && st->rst_after && !nghttp2_session_get_stream_remote_close(sess, st->id))
        nghttp2_submit_rst_stream(sess, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *sess, int32_t stream_id, uint32_t error_code, void *ud)
{
    gstream *st = stream_of(sess, stream_id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(sess, stream_id, NULL);
    st->closed = true;
    atomic_store(&st->cancelled, true);
    if (st->state != ST_WORKER)
        stream_free(st); /* else freed when the worker hands it back */
    return 0;
}

/* ---- connection thread --------------------------------------------------------------- */

/* Writes what nghttp2 has queued; keeps a partial write pending. 0, or -1 when the
 * connection is broken. */
static int flush_out(gconn *c)
{
    for (;;) {
        if (c->outlen == 0) {
            const uint8_t *p;
            ssize_t n = nghttp2_session_mem_send(c->sess, &p);
            if (n < 0)
                return -1;
            if (n == 0)
                return 0;
            c->out = p;
            c->outlen = (size_t)n;
        }
        ssize_t w = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->out += w;
        c->outlen -= (size_t)w;
    }
}

static void h2_serve(gconn *c, const uint8_t *pre, size_t prelen)
{
    ig_grpc_server *s = c->s;
    nghttp2_option *opt = NULL;
    if (nghttp2_option_new(&opt) != 0)
        return;
    nghttp2_option_set_max_continuations(opt, 8);
    int rc = nghttp2_session_server_new2(&c->sess, s->cbs, c, opt);
    nghttp2_option_del(opt);
    if (rc != 0) {
        c->sess = NULL;
        return;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)s->max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)s->max_hdr},
    };
    if (nghttp2_submit_settings(c->sess, NGHTTP2_FLAG_NONE, iv, 3) != 0)
        return;
    nghttp2_session_set_local_window_size(c->sess, NGHTTP2_FLAG_NONE, 0, 16 << 20);
    if (nghttp2_session_mem_recv(c->sess, pre, prelen) < 0)
        return;
    c->last_activity = ig_mono_ns();
    uint8_t rbuf[16384];
    for (;;) {
        process_done(c);
        if (atomic_load(&s->stopping))
            break;
        bool idle_expired =
            s->idle_ns > 0 && c->live == 0 && ig_mono_ns() - c->last_activity >= s->idle_ns;
        if ((atomic_load(&s->quiesced) || idle_expired) && !c->goaway_sent) {
            nghttp2_submit_goaway(c->sess, NGHTTP2_FLAG_NONE,
                                  nghttp2_session_get_last_proc_stream_id(c->sess),
                                  NGHTTP2_NO_ERROR, NULL, 0);
            c->goaway_sent = true;
        }
        if (flush_out(c) < 0)
            break;
        bool want_read = nghttp2_session_want_read(c->sess);
        bool want_write = nghttp2_session_want_write(c->sess) || c->outlen > 0;
        if (!want_read && !want_write && c->dispatched == 0)
            break;
        if (c->goaway_sent && c->live == 0 && !want_write)
            break; /* nothing in flight after GOAWAY: close */
        int timeout = -1;
        if (s->idle_ns > 0 && c->live == 0 && !c->goaway_sent) {
            int64_t left = s->idle_ns - (ig_mono_ns() - c->last_activity);
            timeout = left <= 0 ? 0 : (int)(left / IG_NS_PER_MS + 1);
        }
        struct pollfd pf[2] = {
            {c->fd, (short)((want_read ? POLLIN : 0) | (c->outlen > 0 ? POLLOUT : 0)), 0},
            {c->wakefd, POLLIN, 0}};
        int pr = poll(pf, 2, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        if (pf[1].revents & POLLIN)
            unwake(c->wakefd);
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
            if (n == 0)
                break; /* client closed */
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                    continue;
                break;
            }
            ssize_t r = nghttp2_session_mem_recv(c->sess, rbuf, (size_t)n);
            if (r < 0) {
                ig_log(IG_LOG_DEBUG, "grpc: closing connection after an HTTP/2 error", "listener",
                       s->name, "peer", c->peer, "error", nghttp2_strerror((int)r), NULL);
                flush_out(c); /* a GOAWAY may be queued */
                break;
            }
        }
    }
}

/* ---- HTTP/1.1 on the same port ---------------------------------------------------------- */

static int send_all(gconn *c, const char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        int64_t left = deadline - ig_mono_ns();
        if (left <= 0)
            return -1;
        struct pollfd pf = {c->fd, POLLOUT, 0};
        if (poll(&pf, 1, (int)(left / IG_NS_PER_MS + 1)) < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

static void h1_answer(gconn *c, int status, const char *reason, const char *ctype, ig_str body,
                      bool head_only)
{
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, reason, ctype, body.len);
    int64_t deadline = ig_mono_ns() + 10 * IG_NS_PER_S;
    if (send_all(c, head, (size_t)hl, deadline) == 0 && !head_only)
        send_all(c, body.ptr, body.len, deadline);
}

static void h1_serve(gconn *c, const uint8_t *pre, size_t prelen, int64_t deadline)
{
    ig_grpc_server *s = c->s;
    char buf[H1_HEAD_MAX + 1];
    size_t len = prelen;
    memcpy(buf, pre, prelen);
    buf[len] = 0;
    bool complete = false;
    while (!(complete = strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)) {
        if (len >= H1_HEAD_MAX || memchr(buf, 0, len))
            break;
        int64_t left = deadline - ig_mono_ns();
        if (left <= 0 || atomic_load(&s->stopping))
            return;
        struct pollfd pf[2] = {{c->fd, POLLIN, 0}, {c->wakefd, POLLIN, 0}};
        if (poll(pf, 2, (int)(left / IG_NS_PER_MS + 1)) < 0 && errno != EINTR)
            return;
        if (pf[1].revents & POLLIN)
            unwake(c->wakefd);
        if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(c->fd, buf + len, H1_HEAD_MAX - len, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return;
        }
        len += (size_t)n;
        buf[len] = 0;
    }
    static const char BAD[] =
        "this port speaks gRPC (OTLP/gRPC over HTTP/2 cleartext with prior knowledge); "
        "the HTTP/1.1 request could not be parsed\n";
    /* Request line: METHOD SP TARGET SP HTTP/1.x */
    char *eol = strpbrk(buf, "\r\n");
    char *sp1 = complete && eol ? memchr(buf, ' ', (size_t)(eol - buf)) : NULL;
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || eol - sp2 - 1 < 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        h1_answer(c, 400, "Bad Request", "text/plain; charset=utf-8", IG_STR(BAD), false);
        return;
    }
    ig_str method = ig_str_make(buf, (size_t)(sp1 - buf));
    ig_str target = ig_str_make(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    long q = ig_str_index(target, '?');
    if (q >= 0)
        target.len = (size_t)q;
    bool get = ig_str_eq_cstr(method, "GET"), head = ig_str_eq_cstr(method, "HEAD");
    if ((get || head) && ig_str_eq_cstr(target, "/ready")) {
        h1_answer(c, 200, "OK", "text/plain; charset=utf-8", ig_str_from(s->ready_body), head);
    } else if ((get || head) && ig_str_eq_cstr(target, "/health")) {
        h1_answer(c, 200, "OK", "application/json", IG_STR("{\"status\":\"healthy\"}"), head);
    } else if ((get || head) && ig_str_eq_cstr(target, "/metrics")) {
        ig_buf b;
        ig_buf_init(&b, 64 << 20);
        ig_metrics_render(&b);
        h1_answer(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", ig_buf_str(&b), head);
        ig_buf_free(&b);
    } else {
        char body[512];
        int bl = snprintf(body, sizeof body,
                          "this port speaks gRPC (OTLP/gRPC over HTTP/2 cleartext with prior "
                          "knowledge); %.*s %.*s is not served here over HTTP/1.1 (only GET "
                          "/ready, /health and /metrics). Send OTLP/HTTP to the otlp_http "
                          "listener (default port 4318).\n",
                          (int)(method.len > 16 ? 16 : method.len), method.ptr,
                          (int)(target.len > 200 ? 200 : target.len), target.ptr);
        if (bl < 0 || (size_t)bl >= sizeof body)
            bl = (int)strlen(body);
        h1_answer(c, 501, "Not Implemented", "text/plain; charset=utf-8",
                  ig_str_make(body, (size_t)bl), head);
    }
    /* Lingering close: stop writing, read what the client still sends for a moment, so
     * the kernel does not turn unread bytes into a reset that destroys our answer. */
    shutdown(c->fd, SHUT_WR);
    int64_t end = ig_mono_ns() + IG_NS_PER_S;
    while (ig_mono_ns() < end && !atomic_load(&s->stopping)) {
        struct pollfd pf = {c->fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        ssize_t n = recv(c->fd, buf, H1_HEAD_MAX, 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            break;
    }
}

/* Reads the first bytes: 1 for the HTTP/2 preface (all 24 bytes in pre), 0 for anything
 * else (HTTP/1.1; the bytes read so far in pre), -1 on EOF, error, timeout or stop. */
static int detect(gconn *c, uint8_t *pre, size_t *prelen, int64_t deadline)
{
    ig_grpc_server *s = c->s;
    size_t got = 0;
    while (got < 24) {
        int64_t left = deadline - ig_mono_ns();
        if (left <= 0 || atomic_load(&s->stopping) || atomic_load(&s->quiesced))
            return -1;
        struct pollfd pf[2] = {{c->fd, POLLIN, 0}, {c->wakefd, POLLIN, 0}};
        int pr = poll(pf, 2, (int)(left / IG_NS_PER_MS + 1));
        if (pr < 0 && errno != EINTR)
            return -1;
        if (pf[1].revents & POLLIN)
            unwake(c->wakefd);
        if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(c->fd, pre + got, 24 - got, 0);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return -1;
        }
        got += (size_t)n;
        *prelen = got;
        if (memcmp(pre, H2_PREFACE, got) != 0)
            return 0;
    }
    return 1;
}

static void *conn_main(void *arg)
{
    gconn *c = arg;
    ig_grpc_server *s = c->s;
    uint8_t pre[24];
    size_t prelen = 0;
    int64_t deadline = ig_mono_ns() + s->hs_ns;
    int kind = detect(c, pre, &prelen, deadline);
    if (kind == 1)
        h2_serve(c, pre, prelen);
    else if (kind == 0)
        h1_serve(c, pre, prelen, deadline);

    /* Teardown: no more I/O; wait for handlers still running for this connection. The fd
     * is closed under s->mu so that ig_grpc_server_free never shuts down a reused number. */
    pthread_mutex_lock(&s->mu);
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&s->mu);
    c->sess_dead = true;
    while (c->dispatched > 0) {
        struct pollfd pf = {c->wakefd, POLLIN, 0};
        if (poll(&pf, 1, -1) > 0)
            unwake(c->wakefd);
        process_done(c);
    }
    if (c->sess)
        nghttp2_session_del(c->sess); /* does not call on_stream_close */
    c->sess = NULL;
    while (c->streams)
        stream_free(c->streams);
    pthread_mutex_lock(&c->mu); /* a worker may still be inside wake() */
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_destroy(&c->mu);

    pthread_mutex_lock(&s->mu);
    close(c->wakefd); /* under s->mu: quiesce and free wake connections under it */
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    ig_free(c);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- accept thread ------------------------------------------------------------------ */

static void peer_name(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, outlen, "%s:%d", host, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, outlen, "[%s]:%d", host, port);
    } else {
        snprintf(out, outlen, "unknown");
    }
}

static void start_conn(ig_grpc_server *s, int fd, const struct sockaddr_storage *sa)
{
    pthread_mutex_lock(&s->mu);
    bool full = s->nconns >= s->max_conns;
    pthread_mutex_unlock(&s->mu);
    if (full) {
        char labels[128];
        snprintf(labels, sizeof labels, "listener=\"%s\"", s->name);
        ig_metric_add(ig_counter("icegate_grpc_connections_rejected_total",
                                 "gRPC connections closed at once because max_connections was "
                                 "reached.",
                                 labels),
                      1);
        close(fd);
        return;
    }
    gconn *c = ig_calloc(1, sizeof *c);
    int wfd = c ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
    if (!c || wfd < 0) {
        ig_free(c);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->s = s;
    c->fd = fd;
    c->wakefd = wfd;
    pthread_mutex_init(&c->mu, NULL);
    peer_name(sa, c->peer, sizeof c->peer);
    pthread_mutex_lock(&s->mu);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    pthread_mutex_unlock(&s->mu);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int rc = pthread_create(&t, &attr, conn_main, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&s->mu);
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        s->nconns--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_destroy(&c->mu);
        close(wfd);
        close(fd);
        ig_free(c);
    }
}

static void *accept_main(void *arg)
{
    ig_grpc_server *s = arg;
    for (;;) {
        struct pollfd pf[2] = {{s->lfd, POLLIN, 0}, {s->accept_wake, POLLIN, 0}};
        int pr = poll(pf, 2, -1);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents & POLLIN)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                usleep(50 * 1000); /* out of descriptors: do not spin */
            continue;
        }
        start_conn(s, fd, &sa);
    }
    return NULL;
}

/* ---- server lifecycle -------------------------------------------------------------- */

ig_grpc_server *ig_grpc_server_new(const ig_grpc_opts *o)
{
    ig_grpc_opts d = {0};
    if (!o)
        o = &d;
    ig_grpc_server *s = ig_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->name = ig_strdup(o->name ? o->name : "grpc");
    s->host = ig_strdup(o->host ? o->host : "0.0.0.0");
    s->ready_body = ig_strdup(o->ready_body ? o->ready_body : "ready\n");
    s->port = o->port;
    s->max_msg = o->max_message_bytes > 0 ? o->max_message_bytes : 16 << 20;
    if (s->max_msg > INT32_MAX)
        s->max_msg = INT32_MAX;
    s->max_resp = o->max_response_bytes > 0 ? o->max_response_bytes : 16 << 20;
    if (s->max_resp > INT32_MAX - 5)
        s->max_resp = INT32_MAX - 5;
    s->max_hdr = o->max_header_list_bytes > 0 ? o->max_header_list_bytes : 64 << 10;
    if (s->max_hdr > 16 << 20)
        s->max_hdr = 16 << 20;
    s->arena_cap = o->arena_cap_bytes > 0 ? o->arena_cap_bytes : (int64_t)256 << 20;
    s->idle_ns = o->idle_timeout_ns == 0  ? 300 * IG_NS_PER_S
                 : o->idle_timeout_ns < 0 ? 0
                                          : o->idle_timeout_ns;
    s->hs_ns = o->handshake_timeout_ns > 0 ? o->handshake_timeout_ns : 10 * IG_NS_PER_S;
    s->max_conns = o->max_connections > 0 ? o->max_connections : 256;
    s->max_streams = o->max_concurrent_streams > 0 ? o->max_concurrent_streams : 100;
    s->max_workers = o->max_workers > 0 ? o->max_workers : 64;
    s->lfd = -1;
    s->accept_wake = -1;
    atomic_init(&s->inflight, 0);
    atomic_init(&s->quiesced, false);
    atomic_init(&s->stopping, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    s->workers = ig_calloc((size_t)s->max_workers, sizeof *s->workers);
    if (!s->name || !s->host || !s->ready_body || !s->workers ||
        nghttp2_session_callbacks_new(&s->cbs) != 0) {
        s->cbs = NULL;
        ig_grpc_server_free(s);
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(s->cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(s->cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(s->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(s->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(s->cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(s->cbs, on_stream_close);
    return s;
}

int ig_grpc_route(ig_grpc_server *s, const char *path, ig_grpc_handler h, void *ud)
{
    if (!s || !path || !h || s->started || path[0] != '/')
        return IG_EINVAL;
    const char *slash = strchr(path + 1, '/');
    if (!slash || slash == path + 1 || !slash[1] || strchr(slash + 1, '/') ||
        strlen(path) >= GRPC_PATH_MAX)
        return IG_EINVAL;
    for (int i = 0; i < s->nroutes; i++)
        if (!strcmp(s->routes[i].path, path))
            return IG_EEXIST;
    if (s->nroutes == s->routes_cap) {
        int ncap = s->routes_cap ? s->routes_cap * 2 : 8;
        route *r = ig_realloc(s->routes, sizeof *r * (size_t)ncap);
        if (!r)
            return IG_ENOMEM;
        s->routes = r;
        s->routes_cap = ncap;
    }
    char *p = ig_strdup(path);
    if (!p)
        return IG_ENOMEM;
    s->routes[s->nroutes++] = (route){p, (size_t)(slash - path) + 1, h, ud};
    return 0;
}

int ig_grpc_server_start(ig_grpc_server *s, char *err, size_t errlen)
{
    if (!s || s->started) {
        if (err && errlen)
            snprintf(err, errlen, "grpc server already started");
        return IG_EINVAL;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(s->host, port, &hints, &ai);
    if (gai != 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot resolve listen address %s: %s", s->name, s->host,
                     gai_strerror(gai));
        return IG_EIO;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 512) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot listen on %s:%d: %s", s->name, s->host, s->port,
                     strerror(saved));
        return IG_EIO;
    }
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    s->bound_port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                             : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    s->lfd = fd; /* before the accept thread starts: it polls s->lfd */
    s->accept_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->accept_wake < 0 || pthread_create(&s->accept_thr, NULL, accept_main, s) != 0) {
        if (s->accept_wake >= 0)
            close(s->accept_wake);
        s->accept_wake = -1;
        s->lfd = -1;
        close(fd);
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot start the accept thread", s->name);
        return IG_ENOMEM;
    }
    s->started = true;
    s->accept_running = true;
    return 0;
}

int ig_grpc_server_port(const ig_grpc_server *s)
{
    return s && s->started ? s->bound_port : 0;
}

void ig_grpc_server_quiesce(ig_grpc_server *s)
{
    if (!s)
        return;
    atomic_store(&s->quiesced, true);
    if (s->accept_running) {
        wake(s->accept_wake);
        pthread_join(s->accept_thr, NULL);
        s->accept_running = false;
        close(s->lfd); /* new connections fail fast instead of waiting in the backlog */
        s->lfd = -1;
    }
    pthread_mutex_lock(&s->mu);
    for (gconn *c = s->conns; c; c = c->next)
        wake(c->wakefd);
    pthread_mutex_unlock(&s->mu);
}

int ig_grpc_server_drain(ig_grpc_server *s, int64_t timeout_ns)
{
    if (!s)
        return 0;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    int64_t ns = deadline.tv_nsec + timeout_ns % IG_NS_PER_S;
    deadline.tv_sec += (time_t)(timeout_ns / IG_NS_PER_S + ns / IG_NS_PER_S);
    deadline.tv_nsec = (long)(ns % IG_NS_PER_S);
    pthread_mutex_lock(&s->mu);
    while (atomic_load(&s->inflight) > 0)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) != 0)
            break;
    int left = atomic_load(&s->inflight);
    pthread_mutex_unlock(&s->mu);
    return left;
}

void ig_grpc_server_free(ig_grpc_server *s)
{
    if (!s)
        return;
    ig_grpc_server_quiesce(s);
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stopping, true);
    for (gconn *c = s->conns; c; c = c->next) {
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
        wake(c->wakefd);
    }
    while (s->nconns > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);

    pthread_mutex_lock(&s->qmu);
    s->wstop = true;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);

    if (s->accept_wake >= 0)
        close(s->accept_wake);
    for (int i = 0; i < s->nroutes; i++)
        ig_free(s->routes[i].path);
    ig_free(s->routes);
    if (s->cbs)
        nghttp2_session_callbacks_del(s->cbs);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
    ig_free(s->workers);
    ig_free(s->name);
    ig_free(s->host);
    ig_free(s->ready_body);
    ig_free(s);
}
