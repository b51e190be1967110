/* HTTP/1.1 server layer on libmicrohttpd: routing, capped bodies, form parameters,
 * streaming responses, graceful drain, request metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/http.h"
#include "icegate/log.h"
#include "icegate/metrics.h"
#include "icegate/time.h"
#include "icegate/websocket.h"

#define MAX_ROUTES 64
#define FORM_MAX_PARAMS 256

typedef struct route {
    char methods[32];
    char pattern[128];
    size_t plen;
    bool prefix;
    ig_http_handler fn;
    void *ud;
    unsigned flags;
} route;

struct ig_http_server {
    ig_http_opts opts;
    char name[32];
    char host[64];
    route routes[MAX_ROUTES];
    int nroutes;
    struct MHD_Daemon *d;
    bool quiesced;
    atomic_int inflight;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stopping; /* WebSocket handlers end */
    atomic_int ws_live;   /* WebSocket threads running */
};

typedef struct form_param {
    ig_str name, value;
} form_param;

typedef struct form {
    form_param p[FORM_MAX_PARAMS];
    int n;
} form;

/* Per-request state, allocated on the first call of the access handler. */
/* Process-wide budget for request bodies being received or held by handlers, so many
 * concurrent large requests cannot exhaust memory: past it, requests are answered 503 with
 * Retry-After (their data is dropped as it arrives). */
static atomic_llong g_body_bytes;
static atomic_llong g_body_cap = 1LL << 30;

void ig_http_set_inflight_cap(int64_t bytes)
{
    atomic_store(&g_body_cap, bytes > 0 ? bytes : 1LL << 30);
}

int64_t ig_http_inflight_bytes(void)
{
    return atomic_load(&g_body_bytes);
}

struct req_state {
    ig_http_req req;
    ig_buf body;
    bool too_big;
    bool counted;
    bool busy;       /* the process-wide body budget was exhausted */
    int64_t charged; /* bytes counted in g_body_bytes */
    const route *rt;
    void *ws_pending; /* a WebSocket upgrade queued but not yet taken over (ws_upgraded) */
};

static bool method_ok(const route *r, const char *method)
{
    if (r->methods[0] == '*')
        return true;
    size_t ml = strlen(method);
    const char *p = r->methods;
    while (*p) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == ml && strncmp(p, method, l) == 0)
            return true;
        /* HEAD is served wherever GET is. */
        if (l == 3 && strncmp(p, "GET", 3) == 0 && strcmp(method, "HEAD") == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static bool path_match(const route *r, const char *path)
{
    if (r->prefix)
        return strncmp(path, r->pattern, r->plen) == 0;
    return strcmp(path, r->pattern) == 0;
}

ig_http_server *ig_http_server_new(const ig_http_opts *opts)
{
    ig_http_server *s = ig_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->opts = *opts;
    snprintf(s->name, sizeof s->name, "%s", opts->name ? opts->name : "http");
    snprintf(s->host, sizeof s->host, "%s", opts->host ? opts->host : "0.0.0.0");
    s->opts.name = s->name;
    s->opts.host = s->host;
    if (s->opts.max_connections <= 0)
        s->opts.max_connections = 1024;
    if (s->opts.max_body_bytes <= 0)
        s->opts.max_body_bytes = 16 << 20;
    if (s->opts.arena_cap_bytes <= 0)
        s->opts.arena_cap_bytes = 256LL << 20;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return s;
}

int ig_http_route(ig_http_server *s, const char *methods, const char *pattern, ig_http_handler h,
                  void *ud)
{
    return ig_http_route_flags(s, methods, pattern, h, ud, 0);
}

int ig_http_route_flags(ig_http_server *s, const char *methods, const char *pattern,
                        ig_http_handler h, void *ud, unsigned flags)
{
    if (s->nroutes >= MAX_ROUTES || strlen(methods) >= sizeof s->routes[0].methods ||
        strlen(pattern) >= sizeof s->routes[0].pattern)
        return IG_ETOOBIG;
    route *r = &s->routes[s->nroutes++];
    snprintf(r->methods, sizeof r->methods, "%s", methods);
    snprintf(r->pattern, sizeof r->pattern, "%s", pattern);
    r->plen = strlen(pattern);
    r->prefix = r->plen && pattern[r->plen - 1] == '*';
    if (r->prefix)
        r->pattern[--r->plen] = 0;
    r->fn = h;
    r->ud = ud;
    r->flags = flags;
    return 0;
}

/* ---- request accessors ---- */

const char *ig_http_header(ig_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_HEADER_KIND, name);
}

typedef struct count_ctx {
    const char *name;
    int n;
} count_ctx;

static enum MHD_Result count_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    count_ctx *c = cls;
    if (strcasecmp(key, c->name) == 0)
        c->n++;
    return MHD_YES;
}

int ig_http_header_count(ig_http_req *req, const char *name)
{
    count_ctx c = {name, 0};
    MHD_get_connection_values(req->conn_, MHD_HEADER_KIND, count_iter, &c);
    return c.n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ig_str ig_http_urldecode(ig_arena *a, ig_str s, bool plus_is_space)
{
    char *out = ig_arena_alloc(a, s.len + 1);
    if (!out)
        return IG_STR_NULL;
    size_t o = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '%' && i + 2 < s.len && hexval(s.ptr[i + 1]) >= 0 &&
            hexval(s.ptr[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s.ptr[i + 1]) * 16 + hexval(s.ptr[i + 2]));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    out[o] = 0;
    return (ig_str){out, o};
}

/* Parses an application/x-www-form-urlencoded body once, into the request arena. */
static form *get_form(ig_http_req *req)
{
    if (req->form_parsed_)
        return req->form_;
    req->form_parsed_ = true;
    const char *ct = ig_http_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 || !req->body.len)
        return NULL;
    form *f = ig_arena_zalloc(&req->arena, sizeof *f);
    if (!f)
        return NULL;
    ig_str b = req->body;
    size_t i = 0;
    while (i < b.len && f->n < FORM_MAX_PARAMS) {
        size_t st = i;
        while (i < b.len && b.ptr[i] != '&')
            i++;
        ig_str kv = {b.ptr + st, i - st};
        i++;
        if (!kv.len)
            continue;
        long eq = ig_str_index(kv, '=');
        ig_str k = eq < 0 ? kv : (ig_str){kv.ptr, (size_t)eq};
        ig_str v = eq < 0 ? IG_STR_NULL : (ig_str){kv.ptr + eq + 1, kv.len - (size_t)eq - 1};
        f->p[f->n].name = ig_http_urldecode(&req->arena, k, true);
        f->p[f->n].value = ig_http_urldecode(&req->arena, v, true);
        if (!f->p[f->n].name.ptr || !f->p[f->n].value.ptr)
            break;
        f->n++;
    }
    req->form_ = f;
    return f;
}

typedef struct param_ctx {
    const char *name;
    ig_str *out;
    int max;
    int n;
} param_ctx;

static enum MHD_Result param_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    param_ctx *c = cls;
    if (strcmp(key, c->name) == 0) {
        if (c->n < c->max)
            c->out[c->n] = ig_str_from(value ? value : "");
        c->n++;
    }
    return MHD_YES;
}

int ig_http_param_all(ig_http_req *req, const char *name, ig_str *values, int max)
{
    param_ctx c = {name, values, max, 0};
    MHD_get_connection_values(req->conn_, MHD_GET_ARGUMENT_KIND, param_iter, &c);
    form *f = get_form(req);
    for (int i = 0; f && i < f->n; i++) {
        if (ig_str_eq_cstr(f->p[i].name, name)) {
            if (c.n < max)
                values[c.n] = f->p[i].value;
            c.n++;
        }
    }
    return c.n;
}

bool ig_http_param(ig_http_req *req, const char *name, ig_str *value)
{
    ig_str v;
    if (ig_http_param_all(req, name, &v, 1) > 0) {
        *value = v;
        return true;
    }
    return false;
}

/* ---- responses ---- */

int ig_http_resp_header(ig_http_resp *resp, const char *name, const char *value)
{
    if (resp->nheaders_ >= 32)
        return IG_ETOOBIG;
    char *n = ig_strdup(name), *v = ig_strdup(value);
    if (!n || !v) {
        ig_free(n);
        ig_free(v);
        return IG_ENOMEM;
    }
    resp->headers_[resp->nheaders_][0] = n;
    resp->headers_[resp->nheaders_][1] = v;
    resp->nheaders_++;
    return 0;
}

int ig_http_resp_text(ig_http_resp *resp, int status, const char *content_type, const char *fmt,
                      ...)
{
    resp->status = status;
    ig_buf_reset(&resp->body);
    va_list ap;
    va_start(ap, fmt);
    int rc = ig_buf_vprintf(&resp->body, fmt, ap);
    va_end(ap);
    if (content_type)
        ig_http_resp_header(resp, "Content-Type", content_type);
    return rc;
}

int ig_http_resp_json_error(ig_http_resp *resp, int status, const char *error_type, const char *msg)
{
    resp->status = status;
    ig_buf_reset(&resp->body);
    ig_buf_append_cstr(&resp->body, "{\"status\":\"error\",\"errorType\":");
    ig_buf_json_str(&resp->body, ig_str_from(error_type));
    ig_buf_append_cstr(&resp->body, ",\"error\":");
    ig_buf_json_str(&resp->body, ig_str_from(msg));
    int rc = ig_buf_putc(&resp->body, '}');
    ig_http_resp_header(resp, "Content-Type", "application/json");
    return rc;
}

static void resp_free_headers(ig_http_resp *resp)
{
    for (int i = 0; i < resp->nheaders_; i++) {
        ig_free(resp->headers_[i][0]);
        ig_free(resp->headers_[i][1]);
    }
    resp->nheaders_ = 0;
}

/* Streaming adapter from ig_http_stream_fn to MHD's content reader. */
typedef struct stream_state {
    ig_http_stream_fn fn;
    void *ud;
    void (*done)(void *);
    ig_buf pending;
    size_t off;
    bool finished;
} stream_state;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_state *st = cls;
    while (st->off >= st->pending.len) {
        if (st->finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        ig_buf_reset(&st->pending);
        st->off = 0;
        int rc = st->fn(st->ud, &st->pending);
        if (rc < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (rc == 0)
            st->finished = true;
    }
    size_t n = st->pending.len - st->off;
    if (n > max)
        n = max;
    memcpy(buf, st->pending.data + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream_state *st = cls;
    if (st->done)
        st->done(st->ud);
    ig_buf_free(&st->pending);
    ig_free(st);
}

static enum MHD_Result queue(struct MHD_Connection *c, ig_http_resp *resp)
{
    struct MHD_Response *r;
    if (resp->stream) {
        stream_state *st = ig_calloc(1, sizeof *st);
        if (!st) {
            if (resp->stream_done)
                resp->stream_done(resp->stream_ud);
            return MHD_NO;
        }
        st->fn = resp->stream;
        st->ud = resp->stream_ud;
        st->done = resp->stream_done;
        ig_buf_init(&st->pending, 0);
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, st,
                                              stream_free);
        if (!r) {
            stream_free(st);
            return MHD_NO;
        }
    } else {
        size_t len;
        char *data = ig_buf_detach(&resp->body, &len);
        r = MHD_create_response_from_buffer_with_free_callback(len, data ? data : (char *)"",
                                                               data ? ig_free : NULL);
        if (!r) {
            ig_free(data);
            return MHD_NO;
        }
    }
    for (int i = 0; i < resp->nheaders_; i++)
        MHD_add_response_header(r, resp->headers_[i][0], resp->headers_[i][1]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)(resp->status ? resp->status : 200), r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue_simple(struct MHD_Connection *c, int status, const char *ctype,
                                    const char *body)
{
    ig_http_resp resp = {0};
    ig_buf_init(&resp.body, 0);
    ig_http_resp_text(&resp, status, ctype, "%s", body);
    enum MHD_Result r = queue(c, &resp);
    resp_free_headers(&resp);
    ig_buf_free(&resp.body);
    return r;
}

/* ---- WebSocket connections ---- */

#define WS_INBUF 4096           /* client frames we accept are control frames and small text */
#define WS_SEND_TIMEOUT_MS 5000 /* a client that reads nothing for this long is dropped */
#define WS_PING_NS (1000LL * 1000 * 1000)

struct ig_ws {
    ig_http_server *srv;
    MHD_socket fd;
    struct MHD_UpgradeResponseHandle *urh;
    void (*fn)(ig_ws *ws, void *ud);
    void *ud;
    void (*done)(void *ud);
    uint8_t in[WS_INBUF];
    size_t inlen;
    bool closed, close_sent;
    int64_t last_ping_ns;
    ig_buf out;
};

typedef struct ws_pending {
    void (*fn)(ig_ws *ws, void *ud);
    void *ud;
    void (*done)(void *ud);
} ws_pending;

bool ig_ws_server_stopping(const ig_ws *ws)
{
    return atomic_load(&ws->srv->stopping);
}

static int ws_write(ig_ws *ws, const uint8_t *p, size_t n)
{
    int64_t deadline = ig_mono_ns() + (int64_t)WS_SEND_TIMEOUT_MS * 1000000;
    while (n) {
        ssize_t w = send(ws->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            ws->closed = true;
            return IG_EIO;
        }
        int64_t left = (deadline - ig_mono_ns()) / 1000000;
        if (left <= 0 || atomic_load(&ws->srv->stopping)) {
            ws->closed = true;
            return IG_EIO;
        }
        struct pollfd pf = {.fd = ws->fd, .events = POLLOUT};
        poll(&pf, 1, left > 200 ? 200 : (int)left);
    }
    return 0;
}

static int ws_send(ig_ws *ws, int opcode, const void *p, size_t n)
{
    if (ws->closed || ws->close_sent)
        return IG_EIO;
    ig_buf_reset(&ws->out);
    int rc = ig_ws_encode(&ws->out, opcode, p, n);
    return rc ? rc : ws_write(ws, (const uint8_t *)ws->out.data, ws->out.len);
}

int ig_ws_send_text(ig_ws *ws, const char *p, size_t n)
{
    return ws_send(ws, IG_WS_TEXT, p, n);
}

int ig_ws_close(ig_ws *ws, uint16_t code, const char *reason)
{
    if (ws->closed || ws->close_sent)
        return 0;
    ig_buf_reset(&ws->out);
    int rc = ig_ws_encode_close(&ws->out, code, reason);
    rc = rc ? rc : ws_write(ws, (const uint8_t *)ws->out.data, ws->out.len);
    ws->close_sent = true;
    return rc;
}

/* Handles the complete frames in ws->in. IG_ECANCELED once the connection is over. */
static int ws_frames(ig_ws *ws)
{
    while (ws->inlen) {
        ig_ws_frame f;
        const char *why;
        long used = ig_ws_decode(ws->in, ws->inlen, 125, &f, &why);
        if (used == 0) {
            if (ws->inlen == sizeof ws->in) { /* cannot happen with 125-byte frames */
                ig_ws_close(ws, 1009, "frame too large");
                return IG_ECANCELED;
            }
            return 0;
        }
        if (used < 0) {
            ig_ws_close(ws, used == IG_ETOOBIG ? 1009 : 1002, why);
            ws->closed = true;
            return IG_ECANCELED;
        }
        if (f.opcode == IG_WS_PING) {
            ws_send(ws, IG_WS_PONG, f.payload, f.len);
        } else if (f.opcode == IG_WS_CLOSE) {
            uint16_t code = f.len >= 2 ? (uint16_t)(f.payload[0] << 8 | f.payload[1]) : 1000;
            ig_ws_close(ws, code == 1005 || code == 1006 || code == 1015 ? 1000 : code, "");
            ws->closed = true;
            return IG_ECANCELED;
        } /* pongs and data frames are ignored */
        memmove(ws->in, ws->in + used, ws->inlen - (size_t)used);
        ws->inlen -= (size_t)used;
    }
    return 0;
}

int ig_ws_wait(ig_ws *ws, int timeout_ms)
{
    int64_t end = ig_mono_ns() + (int64_t)timeout_ms * 1000000;
    while (true) {
        if (ws->closed || ws->close_sent || atomic_load(&ws->srv->stopping))
            return IG_ECANCELED;
        int64_t now = ig_mono_ns();
        if (now - ws->last_ping_ns >= WS_PING_NS) {
            ws->last_ping_ns = now;
            if (ws_send(ws, IG_WS_PING, "", 0) != 0)
                return IG_ECANCELED;
        }
        int64_t left = (end - now) / 1000000;
        if (left <= 0)
            return 0;
        struct pollfd pf = {.fd = ws->fd, .events = POLLIN};
        int pr = poll(&pf, 1, left > 200 ? 200 : (int)left);
        if (pr <= 0)
            continue;
        ssize_t r = recv(ws->fd, ws->in + ws->inlen, sizeof ws->in - ws->inlen, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            ws->closed = true;
            return IG_ECANCELED;
        }
        if (r > 0) {
            ws->inlen += (size_t)r;
            if (ws_frames(ws) != 0)
                return IG_ECANCELED;
        }
    }
}

static void *ws_thread(void *arg)
{
    ig_ws *ws = arg;
    ig_http_server *s = ws->srv;
    ws->last_ping_ns = ig_mono_ns();
    if (ws_frames(ws) == 0)
        ws->fn(ws, ws->ud);
    if (!ws->close_sent && !ws->closed)
        ig_ws_close(ws, atomic_load(&s->stopping) ? 1001 : 1000, "");
    if (ws->done)
        ws->done(ws->ud);
    MHD_upgrade_action(ws->urh, MHD_UPGRADE_ACTION_CLOSE);
    ig_buf_free(&ws->out);
    ig_free(ws);
    pthread_mutex_lock(&s->mu);
    if (atomic_fetch_sub(&s->ws_live, 1) == 1)
        pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void ws_upgraded(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    struct req_state *st = req_cls;
    ws_pending *p = st->ws_pending; /* owned from here on */
    st->ws_pending = NULL;
    (void)cls;
    ig_ws *ws = p ? ig_calloc(1, sizeof *ws) : NULL;
    if (!ws || extra_in_size > sizeof ws->in) {
        ig_free(ws);
        if (p && p->done)
            p->done(p->ud);
        ig_free(p);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    ws->srv = st->req.srv_;
    ws->fd = sock;
    ws->urh = urh;
    ws->fn = p->fn;
    ws->ud = p->ud;
    ws->done = p->done;
    ig_free(p);
    if (extra_in_size)
        memcpy(ws->in, extra_in, extra_in_size);
    ws->inlen = extra_in_size;
    ig_buf_init(&ws->out, 64u << 20); /* outgoing messages (one frame each) */
    atomic_fetch_add(&ws->srv->ws_live, 1);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &at, ws_thread, ws) != 0) {
        ig_http_server *s = ws->srv;
        if (ws->done)
            ws->done(ws->ud);
        ig_buf_free(&ws->out);
        ig_free(ws);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        atomic_fetch_sub(&s->ws_live, 1);
    }
    pthread_attr_destroy(&at);
}

static void ws_pending_free(void *cls)
{
    ws_pending *p = cls;
    if (p->done) /* the upgrade never happened */
        p->done(p->ud);
    ig_free(p);
}

/* The pending upgrade (fn, ud, done) is kept in the request state: ws_upgraded takes it
 * over, or on_completed frees it (calling done) when the upgrade never happened. */
static enum MHD_Result queue_ws(struct MHD_Connection *c, struct req_state *st,
                                 ig_http_resp *resp)
{
    ws_pending *p = ig_calloc(1, sizeof *p);
    if (!p) {
        if (resp->ws_done_)
            resp->ws_done_(resp->ws_ud_);
        return MHD_NO;
    }
    p->fn = resp->ws_fn_;
    p->ud = resp->ws_ud_;
    p->done = resp->ws_done_;
    struct MHD_Response *r = MHD_create_response_for_upgrade(ws_upgraded, NULL);
    if (!r) {
        ws_pending_free(p);
        return MHD_NO;
    }
    st->ws_pending = p;
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", resp->ws_accept_);
    for (int i = 0; i < resp->nheaders_; i++)
        MHD_add_response_header(r, resp->headers_[i][0], resp->headers_[i][1]);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return ret;
}

static bool has_token(const char *h, const char *tok)
{
    if (!h)
        return false;
    size_t tl = strlen(tok);
    const char *p = h;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, tok, tl) == 0)
            return true;
        p = e;
    }
    return false;
}

int ig_http_resp_websocket(ig_http_req *req, ig_http_resp *resp, void (*fn)(ig_ws *ws, void *ud),
                           void *ud, void (*done)(void *ud))
{
    const char *why = NULL;
    if (strcmp(req->method, "GET") != 0)
        why = "websocket: the client is not using the websocket protocol: request method is not "
              "GET";
    else if (!has_token(ig_http_header(req, "Connection"), "upgrade"))
        why = "websocket: the client is not using the websocket protocol: 'upgrade' token not "
              "found in 'Connection' header";
    else if (!has_token(ig_http_header(req, "Upgrade"), "websocket"))
        why = "websocket: the client is not using the websocket protocol: 'websocket' token not "
              "found in 'Upgrade' header";
    else if (!has_token(ig_http_header(req, "Sec-WebSocket-Version"), "13"))
        why = "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header";
    else if (ig_ws_accept_key(ig_http_header(req, "Sec-WebSocket-Key"), resp->ws_accept_) != 0)
        why = "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header must be Base64 "
              "encoded value of 16-byte in length";
    if (why) {
        if (done)
            done(ud);
        ig_http_resp_text(resp, 400, "text/plain; charset=utf-8", "%s\n", why);
        return IG_EINVAL;
    }
    resp->ws_fn_ = fn;
    resp->ws_ud_ = ud;
    resp->ws_done_ = done;
    resp->status = 101;
    return 0;
}

bool ig_http_req_gone(ig_http_req *req)
{
    if (__atomic_load_n(&req->gone_, __ATOMIC_RELAXED))
        return true;
    int64_t now = ig_mono_ns();
    int64_t last = __atomic_load_n(&req->gone_checked_ns_, __ATOMIC_RELAXED);
    if (now - last < 20 * 1000000LL)
        return false;
    __atomic_store_n(&req->gone_checked_ns_, now, __ATOMIC_RELAXED);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn_, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return false;
    struct pollfd pf = {.fd = ci->connect_fd, .events = POLLIN};
    if (poll(&pf, 1, 0) <= 0)
        return false;
    bool gone = (pf.revents & (POLLERR | POLLNVAL)) != 0;
    if (!gone && (pf.revents & (POLLIN | POLLHUP))) {
        char b;
        ssize_t r = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        gone = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
    if (gone)
        __atomic_store_n(&req->gone_, true, __ATOMIC_RELAXED);
    return gone;
}

/* ---- the access handler ---- */

typedef struct req_state req_state;
static enum MHD_Result run_handler(ig_http_server *s, struct MHD_Connection *c, req_state *st);

static void record_metrics(ig_http_server *s, const req_state *st, int status)
{
    char labels[256];
    const char *rt = st->rt ? st->rt->pattern : "other";
    snprintf(labels, sizeof labels, "listener=\"%s\",route=\"%s%s\",code=\"%d\"", s->name, rt,
             st->rt && st->rt->prefix ? "*" : "", status);
    ig_metric_add(ig_counter("icegate_http_requests_total", "HTTP requests by listener, route and "
                             "status code.", labels), 1);
    snprintf(labels, sizeof labels, "listener=\"%s\",route=\"%s%s\"", s->name, rt,
             st->rt && st->rt->prefix ? "*" : "");
    double secs = (double)(ig_mono_ns() - st->req.start_mono_ns) / 1e9;
    ig_metric_observe(ig_histogram("icegate_http_request_duration_seconds",
                                   "HTTP request latency by listener and route.", labels,
                                   IG_LATENCY_BUCKETS, IG_LATENCY_NBUCKETS),
                      secs);
}

static void inflight_done(ig_http_server *s)
{
    pthread_mutex_lock(&s->mu);
    if (atomic_fetch_sub(&s->inflight, 1) == 1)
        pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    ig_http_server *s = cls;
    req_state *st = *con_cls;
    if (!st) {
        st = ig_calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        *con_cls = st;
        atomic_fetch_add(&s->inflight, 1);
        st->counted = true;
        st->req.start_mono_ns = ig_mono_ns();
        ig_arena_init(&st->req.arena, (size_t)s->opts.arena_cap_bytes);
        ig_buf_init(&st->body, (size_t)s->opts.max_body_bytes);
        st->req.method = method;
        st->req.path = url;
        st->req.listener = s->name;
        st->req.conn_ = c;
        st->req.srv_ = s;
        /* Route now, so that a too-large body can be refused before it is read. An exact
         * route of the path decides alone (405 for another method), so a prefix catch-all
         * never answers for a path that has its own routes. */
        bool exact_path = false;
        for (int i = 0; i < s->nroutes && !st->rt; i++) {
            const route *r = &s->routes[i];
            if (!r->prefix && path_match(r, url)) {
                exact_path = true;
                if (method_ok(r, method))
                    st->rt = r;
            }
        }
        for (int i = 0; i < s->nroutes && !st->rt && !exact_path; i++)
            if (s->routes[i].prefix && path_match(&s->routes[i], url) &&
                method_ok(&s->routes[i], method))
                st->rt = &s->routes[i];
        /* Several Content-Length lines are a framing ambiguity (request smuggling behind a
         * proxy): refuse rather than pick one. */
        if (ig_http_header_count(&st->req, "Content-Length") > 1 ||
            (ig_http_header_count(&st->req, "Content-Length") == 1 &&
             ig_http_header_count(&st->req, "Transfer-Encoding") > 0)) {
            record_metrics(s, st, 400);
            return queue_simple(c, 400, "text/plain; charset=utf-8",
                                "conflicting Content-Length / Transfer-Encoding headers\n");
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        int64_t n;
        if (cl && ig_str_to_i64(ig_str_from(cl), &n) == 0 && n > s->opts.max_body_bytes) {
            if (st->rt && (st->rt->flags & IG_HTTP_OWN_413)) {
                st->req.too_large = true;
                st->req.body = IG_STR("");
                return run_handler(s, c, st);
            }
            char msg[160];
            snprintf(msg, sizeof msg,
                     "request body too large: %lld bytes, the limit is %lld bytes\n",
                     (long long)n, (long long)s->opts.max_body_bytes);
            record_metrics(s, st, 413);
            return queue_simple(c, 413, "text/plain; charset=utf-8", msg);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        int64_t n = (int64_t)*upload_data_size;
        if (!st->too_big && !st->busy) {
            if (atomic_fetch_add(&g_body_bytes, n) + n > atomic_load(&g_body_cap)) {
                atomic_fetch_sub(&g_body_bytes, n);
                st->busy = true;
            } else {
                st->charged += n;
                if (ig_buf_append(&st->body, upload_data, *upload_data_size) != 0)
                    st->too_big = true;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->busy && !st->too_big) {
        ig_log(IG_LOG_WARN, "request refused: in-flight body budget exhausted", "listener",
               s->name, NULL);
        record_metrics(s, st, 503);
        ig_http_resp resp = {0};
        ig_buf_init(&resp.body, 0);
        ig_http_resp_text(&resp, 503, "text/plain; charset=utf-8",
                          "server busy: too many request bytes in flight, retry later\n");
        ig_http_resp_header(&resp, "Retry-After", "1");
        enum MHD_Result r = queue(c, &resp);
        resp_free_headers(&resp);
        ig_buf_free(&resp.body);
        return r;
    }
    if (st->too_big && st->rt && (st->rt->flags & IG_HTTP_OWN_413)) {
        st->req.too_large = true;
        st->req.body = IG_STR("");
        return run_handler(s, c, st);
    }
    if (st->too_big) {
        char msg[160];
        snprintf(msg, sizeof msg, "request body too large: the limit is %lld bytes\n",
                 (long long)s->opts.max_body_bytes);
        record_metrics(s, st, 413);
        return queue_simple(c, 413, "text/plain; charset=utf-8", msg);
    }
    st->req.body = ig_buf_str(&st->body);
    if (!st->req.body.ptr)
        st->req.body = IG_STR("");

    const route *rt = st->rt;
    if (!rt) {
        bool path_known = false;
        for (int i = 0; i < s->nroutes; i++)
            path_known |= path_match(&s->routes[i], url);
        record_metrics(s, st, path_known ? 405 : 404);
        if (path_known)
            return queue_simple(c, 405, "text/plain; charset=utf-8", "method not allowed\n");
        return queue_simple(c, 404, "text/plain; charset=utf-8", "404 page not found\n");
    }
    return run_handler(s, c, st);
}

static enum MHD_Result run_handler(ig_http_server *s, struct MHD_Connection *c, req_state *st)
{
    const route *rt = st->rt;
    ig_http_resp resp = {0};
    ig_buf_init(&resp.body, 0);
    resp.status = 200;
    int rc = rt->fn(&st->req, &resp, rt->ud);
    if (rc < 0 && !resp.stream) {
        char msg[200];
        snprintf(msg, sizeof msg, "internal error: %s", ig_strerror(rc));
        resp_free_headers(&resp);
        ig_http_resp_json_error(&resp, 500, "internal", msg);
    }
    record_metrics(s, st, resp.status ? resp.status : 200);
    enum MHD_Result r = resp.ws_fn_ ? queue_ws(c, st, &resp) : queue(c, &resp);
    resp_free_headers(&resp);
    ig_buf_free(&resp.body);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    ig_http_server *s = cls;
    req_state *st = *con_cls;
    if (!st)
        return;
    if (st->ws_pending)
        ws_pending_free(st->ws_pending);
    ig_arena_free(&st->req.arena);
    ig_buf_free(&st->body);
    if (st->charged)
        atomic_fetch_sub(&g_body_bytes, st->charged);
    bool counted = st->counted;
    ig_free(st);
    *con_cls = NULL;
    if (counted)
        inflight_done(s);
}

/* Percent-decoding of the path and query arguments (MHD_OPTION_UNESCAPE_CALLBACK). Like
 * libmicrohttpd's own, except that %00 is left as written: the decoded strings are
 * NUL-terminated C strings, so a decoded NUL would silently cut them ("logs%00x" would
 * route as "logs", "job=shift%00x" would run shift). Left encoded, such a path matches no
 * route and such a value is refused by whoever checks it. */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    ig_log(IG_LOG_DEBUG, "http server", "listener", (const char *)cls, "detail", msg, NULL);
}

int ig_http_server_start(ig_http_server *s, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", s->opts.port);
    int gai = getaddrinfo(s->host, portstr, &hints, &ai);
    if (gai || !ai) {
        snprintf(err, errlen, "listener %s: cannot resolve listen host \"%s\": %s", s->name,
                 s->host, gai_strerror(gai));
        return IG_EINVAL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(
        flags, (uint16_t)s->opts.port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)s->opts.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(s->opts.idle_timeout_s > 0 ? s->opts.idle_timeout_s : 60),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, s->name, MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        snprintf(err, errlen, "listener %s: cannot listen on %s:%d (port in use or not allowed)",
                 s->name, s->host, s->opts.port);
        return IG_EIO;
    }
    return 0;
}

int ig_http_server_port(const ig_http_server *s)
{
    if (!s->d)
        return 0;
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void ig_http_server_quiesce(ig_http_server *s)
{
    atomic_store(&s->stopping, true);
    if (s->d && !s->quiesced) {
        /* Closing the listening socket at once makes new connections fail fast instead of
         * waiting in the kernel's backlog until the process exits. */
        MHD_socket fd = MHD_quiesce_daemon(s->d);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
        s->quiesced = true;
    }
}

int ig_http_server_drain(ig_http_server *s, int64_t timeout_ns)
{
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

void ig_http_server_free(ig_http_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    /* WebSocket threads notice `stopping` within 200 ms and close their connections;
     * MHD_stop_daemon waits for upgraded connections to be closed */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 3;
    pthread_mutex_lock(&s->mu);
    while (atomic_load(&s->ws_live) > 0)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) != 0)
            break;
    pthread_mutex_unlock(&s->mu);
    if (s->d)
        MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    ig_free(s);
}
