/* Unary gRPC server over h2c: a small HTTP/2 client built on nghttp2's client session
 * (below) drives a real server on an ephemeral port. Each test starts its own server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/grpc.h"
#include "icegate/metrics.h"
#include "icegate/time.h"

/* ---- test client ---------------------------------------------------------------- */

typedef struct tcall {
    /* request */
    const char *path;
    const char *method;   /* default POST */
    const char *ctype;    /* default application/grpc */
    const char *encoding; /* grpc-encoding, or NULL */
    const char *md[40][2];
    int nmd;
    const uint8_t *body; /* raw DATA bytes (already framed); NULL: END_STREAM on HEADERS */
    size_t body_len;
    size_t chunk; /* max bytes per DATA frame; 0: as large as nghttp2 allows */
    bool hold;    /* do not end the stream after the body (for cancellation tests) */
    /* progress and result */
    size_t off;
    int32_t id;
    int http_status;
    int grpc_status; /* -1 when absent */
    char grpc_message[4096];
    char ctype_resp[64];
    char trailer_x[64];
    char trailer_bin[128];
    uint8_t *resp;
    size_t resp_len;
    bool done;
    uint32_t close_error;
} tcall;

typedef struct tclient {
    int fd;
    nghttp2_session *sess;
    bool goaway;
    bool eof;
} tclient;

static ssize_t tc_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    tcall *c = src->ptr;
    size_t n = c->body_len - c->off;
    if (n > length)
        n = length;
    if (c->chunk && n > c->chunk)
        n = c->chunk;
    memcpy(buf, c->body + c->off, n);
    c->off += n;
    if (c->off == c->body_len) {
        if (c->hold && n == 0)
            return NGHTTP2_ERR_DEFERRED;
        if (!c->hold)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static void copy_str(char *dst, size_t dstlen, const char *v, size_t l)
{
    if (l >= dstlen)
        l = dstlen - 1;
    memcpy(dst, v, l);
    dst[l] = 0;
}

static int tc_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                        const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    tcall *c = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!c)
        return 0;
    char v[4096];
    size_t l = vl < sizeof v - 1 ? vl : sizeof v - 1;
    memcpy(v, value, l);
    v[l] = 0;
    if (nl == 7 && !memcmp(name, ":status", 7))
        c->http_status = (int)strtol(v, NULL, 10);
    else if (nl == 11 && !memcmp(name, "grpc-status", 11))
        c->grpc_status = (int)strtol(v, NULL, 10);
    else if (nl == 12 && !memcmp(name, "grpc-message", 12))
        copy_str(c->grpc_message, sizeof c->grpc_message, v, l);
    else if (nl == 12 && !memcmp(name, "content-type", 12))
        copy_str(c->ctype_resp, sizeof c->ctype_resp, v, l);
    else if (nl == 8 && !memcmp(name, "x-answer", 8))
        copy_str(c->trailer_x, sizeof c->trailer_x, v, l);
    else if (nl == 13 && !memcmp(name, "x-details-bin", 13))
        copy_str(c->trailer_bin, sizeof c->trailer_bin, v, l);
    return 0;
}

static int tc_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                      size_t len, void *ud)
{
    tcall *c = nghttp2_session_get_stream_user_data(s, id);
    if (!c)
        return 0;
    c->resp = realloc(c->resp, c->resp_len + len + 1);
    memcpy(c->resp + c->resp_len, data, len);
    c->resp_len += len;
    return 0;
}

static int tc_on_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    tcall *c = nghttp2_session_get_stream_user_data(s, id);
    if (c) {
        c->done = true;
        c->close_error = err;
    }
    return 0;
}

static int tc_on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    tclient *t = ud;
    if (f->hd.type == NGHTTP2_GOAWAY)
        t->goaway = true;
    return 0;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void tc_open(tclient *t, int port)
{
    memset(t, 0, sizeof *t);
    t->fd = tcp_connect(port);
    assert_true(t->fd >= 0);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, tc_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, tc_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, tc_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, tc_on_frame_recv);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
    assert_int_equal(nghttp2_session_client_new2(&t->sess, cb, t, opt), 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
    nghttp2_submit_settings(t->sess, NGHTTP2_FLAG_NONE, iv, 1);
    nghttp2_session_set_local_window_size(t->sess, NGHTTP2_FLAG_NONE, 0, 1 << 28);
}

static void tc_close(tclient *t)
{
    nghttp2_session_del(t->sess);
    close(t->fd);
}

static void tcall_init(tcall *c, const char *path, const void *body, size_t len)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->body = body;
    c->body_len = len;
    c->grpc_status = -1;
}

static void tcall_free(tcall *c)
{
    free(c->resp);
    c->resp = NULL;
}

#define HNV(n, v) ((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), 0})

static void tc_submit(tclient *t, tcall *c)
{
    nghttp2_nv nv[48];
    int n = 0;
    nv[n++] = HNV(":method", c->method ? c->method : "POST");
    nv[n++] = HNV(":scheme", "http");
    nv[n++] = HNV(":authority", "localhost");
    nv[n++] = HNV(":path", c->path);
    nv[n++] = HNV("content-type", c->ctype ? c->ctype : "application/grpc");
    nv[n++] = HNV("te", "trailers");
    if (c->encoding)
        nv[n++] = HNV("grpc-encoding", c->encoding);
    for (int i = 0; i < c->nmd; i++)
        nv[n++] = HNV(c->md[i][0], c->md[i][1]);
    nghttp2_data_provider prd = {.source = {.ptr = c}, .read_callback = tc_read_body};
    c->id = nghttp2_submit_request(t->sess, NULL, nv, (size_t)n, c->body ? &prd : NULL, c);
    assert_true(c->id > 0);
}

static void tc_flush(tclient *t)
{
    const uint8_t *p;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(t->sess, &p)) > 0) {
        size_t off = 0;
        while (off < (size_t)n) {
            ssize_t w = send(t->fd, p + off, (size_t)n - off, MSG_NOSIGNAL);
            if (w <= 0)
                return;
            off += (size_t)w;
        }
    }
}

/* Pumps the connection once (up to wait_ms for input). */
static void tc_pump(tclient *t, int wait_ms)
{
    tc_flush(t);
    struct pollfd pf = {t->fd, POLLIN, 0};
    if (poll(&pf, 1, wait_ms) > 0) {
        uint8_t buf[65536];
        ssize_t n = recv(t->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            t->eof = true;
            return;
        }
        assert_true(nghttp2_session_mem_recv(t->sess, buf, (size_t)n) >= 0);
    }
    tc_flush(t);
}

/* Runs until every call is done (or the connection ends / 10 s pass). */
static void tc_wait(tclient *t, tcall **calls, int n)
{
    int64_t end = ig_mono_ns() + 10 * IG_NS_PER_S;
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += calls[i]->done;
        if (done == n || t->eof || ig_mono_ns() > end) {
            if (done != n && !t->eof)
                fprintf(stderr, "# tc_wait: %d of %d done, eof=%d goaway=%d\n", done, n, t->eof,
                        t->goaway);
            break;
        }
        tc_pump(t, 50);
    }
}

/* One call on a fresh connection. */
static void call_once(int port, tcall *c)
{
    tclient t;
    tc_open(&t, port);
    tc_submit(&t, c);
    tc_wait(&t, &c, 1);
    if (!c->done)
        fprintf(stderr, "# call %s not done: eof=%d goaway=%d http=%d off=%zu\n", c->path, t.eof,
                t.goaway, c->http_status, c->off);
    assert_true(c->done);
    tc_close(&t);
}

/* 5-byte gRPC framing. Caller frees. */
static uint8_t *frame(int flag, const void *msg, size_t len, size_t *out_len)
{
    uint8_t *b = malloc(len + 5);
    b[0] = (uint8_t)flag;
    b[1] = (uint8_t)(len >> 24);
    b[2] = (uint8_t)(len >> 16);
    b[3] = (uint8_t)(len >> 8);
    b[4] = (uint8_t)len;
    if (len)
        memcpy(b + 5, msg, len);
    *out_len = len + 5;
    return b;
}

/* Asserts that resp is exactly one uncompressed frame holding want. */
static void assert_framed(const tcall *c, const void *want, size_t len)
{
    assert_int_equal(c->resp_len, len + 5);
    assert_int_equal(c->resp[0], 0);
    uint32_t n = (uint32_t)c->resp[1] << 24 | (uint32_t)c->resp[2] << 16 |
                 (uint32_t)c->resp[3] << 8 | c->resp[4];
    assert_int_equal(n, len);
    assert_memory_equal(c->resp + 5, want, len);
}

/* gzip (wbits 31) or zlib (15) compression of len bytes of src. Caller frees. */
static uint8_t *zcompress(const void *src, size_t len, int wbits, size_t *out_len)
{
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len);
    uint8_t *out = malloc(cap);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

/* ---- server fixture ---------------------------------------------------------------- */

static atomic_int g_calls; /* handler invocations */
static atomic_int g_slow_entered;
static atomic_int g_gate_open;
static pthread_mutex_t g_gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_cv = PTHREAD_COND_INITIALIZER;

static int h_echo(ig_grpc_call *c, ig_buf *resp, int *status, char *msg, size_t msglen, void *ud)
{
    atomic_fetch_add(&g_calls, 1);
    assert_string_equal(c->method, "/test.Echo/Echo");
    return ig_buf_append_str(resp, c->message);
}

static int h_meta(ig_grpc_call *c, ig_buf *resp, int *status, char *msg, size_t msglen, void *ud)
{
    const char *all[4] = {0};
    int n = ig_grpc_metadata_all(c, "x-scope-orgid", all, 4);
    const char *missing = ig_grpc_metadata(c, "x-account-id");
    return ig_buf_printf(resp, "org=%s count=%d n=%d all=%s|%s missing=%s ct=%s peer=%d",
                         ig_grpc_metadata(c, "X-Scope-OrgID"),
                         ig_grpc_metadata_count(c, "x-scope-orgid"), n, all[0], all[1],
                         missing ? missing : "none", ig_grpc_metadata(c, "content-type"),
                         c->peer && strncmp(c->peer, "127.0.0.1:", 10) == 0);
}

/* Waits for the gate (set by the test), then answers "slow". */
static int h_slow(ig_grpc_call *c, ig_buf *resp, int *status, char *msg, size_t msglen, void *ud)
{
    atomic_fetch_add(&g_slow_entered, 1);
    pthread_mutex_lock(&g_gate_mu);
    while (!atomic_load(&g_gate_open))
        pthread_cond_wait(&g_gate_cv, &g_gate_mu);
    pthread_mutex_unlock(&g_gate_mu);
    return ig_buf_append_cstr(resp, "slow");
}

/* The message chooses the outcome: "neg" returns IG_EINVAL without a status; otherwise a
 * status code with a message and trailers. */
static int h_fail(ig_grpc_call *c, ig_buf *resp, int *status, char *msg, size_t msglen, void *ud)
{
    ig_buf_append_cstr(resp, "ignored");
    if (ig_str_eq_cstr(c->message, "neg"))
        return IG_EINVAL;
    assert_int_equal(ig_grpc_trailer(c, "x-answer", "42"), 0);
    assert_int_equal(ig_grpc_trailer(c, "grpc-status", "0"), IG_EINVAL);
    assert_int_equal(ig_grpc_trailer(c, "x-bad", "line\nbreak"), IG_EINVAL);
    assert_int_equal(ig_grpc_trailer_bin(c, "x-details-bin", IG_STR("\x01\x02\xff")), 0);
    *status = IG_GRPC_PERMISSION_DENIED;
    snprintf(msg, msglen, "denied: 100%% \xc3\xbc\nnext");
    return 0;
}

static void gate_open(void)
{
    pthread_mutex_lock(&g_gate_mu);
    atomic_store(&g_gate_open, 1);
    pthread_cond_broadcast(&g_gate_cv);
    pthread_mutex_unlock(&g_gate_mu);
}

typedef struct fixture {
    ig_grpc_server *s;
    int port;
} fixture;

static fixture *start_server(const ig_grpc_opts *o)
{
    fixture *f = calloc(1, sizeof *f);
    f->s = ig_grpc_server_new(o);
    assert_non_null(f->s);
    assert_int_equal(ig_grpc_route(f->s, "/test.Echo/Echo", h_echo, NULL), 0);
    assert_int_equal(ig_grpc_route(f->s, "/test.Echo/Meta", h_meta, NULL), 0);
    assert_int_equal(ig_grpc_route(f->s, "/test.Echo/Slow", h_slow, NULL), 0);
    assert_int_equal(ig_grpc_route(f->s, "/test.Echo/Fail", h_fail, NULL), 0);
    assert_int_equal(ig_grpc_route(f->s, "/test.Echo/Echo", h_echo, NULL), IG_EEXIST);
    assert_int_equal(ig_grpc_route(f->s, "no-slash", h_echo, NULL), IG_EINVAL);
    assert_int_equal(ig_grpc_route(f->s, "/svc-only/", h_echo, NULL), IG_EINVAL);
    char err[256] = "";
    assert_int_equal(ig_grpc_server_start(f->s, err, sizeof err), 0);
    f->port = ig_grpc_server_port(f->s);
    assert_true(f->port > 0);
    return f;
}

static int setup(void **state)
{
    atomic_store(&g_calls, 0);
    atomic_store(&g_slow_entered, 0);
    atomic_store(&g_gate_open, 0);
    ig_grpc_opts o = {.name = "grpc_test", .host = "127.0.0.1", .max_message_bytes = 65536};
    *state = start_server(&o);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gate_open(); /* never leave a handler blocked */
    ig_grpc_server_free(f->s);
    free(f);
    return 0;
}

#define F ((fixture *)*state)

/* ---- tests ---------------------------------------------------------------------------- */

static void test_unary_echo(void **state)
{
    size_t len;
    uint8_t *b = frame(0, "hello", 5, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    call_once(F->port, &c);
    assert_int_equal(c.http_status, 200);
    assert_int_equal(c.grpc_status, 0);
    assert_int_equal(c.close_error, 0);
    assert_string_equal(c.ctype_resp, "application/grpc");
    assert_framed(&c, "hello", 5);
    tcall_free(&c);
    free(b);

    /* Empty message, and the +proto content subtype echoed back. */
    b = frame(0, NULL, 0, &len);
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.ctype = "application/grpc+proto";
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, 0);
    assert_string_equal(c.ctype_resp, "application/grpc+proto");
    assert_framed(&c, "", 0);
    tcall_free(&c);
    free(b);
}

static void test_metadata(void **state)
{
    size_t len;
    uint8_t *b = frame(0, "x", 1, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Meta", b, len);
    c.md[c.nmd][0] = "x-scope-orgid";
    c.md[c.nmd++][1] = "tenant-a";
    c.md[c.nmd][0] = "user-agent";
    c.md[c.nmd++][1] = "grpc-test/1";
    c.md[c.nmd][0] = "x-scope-orgid";
    c.md[c.nmd++][1] = "tenant-b";
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, 0);
    const char *want = "org=tenant-a count=2 n=2 all=tenant-a|tenant-b missing=none "
                       "ct=application/grpc peer=1";
    assert_framed(&c, want, strlen(want));
    tcall_free(&c);
    free(b);
}

static void test_gzip_and_deflate(void **state)
{
    char text[20000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + (i * 7) % 26);
    const int wbits[] = {15 + 16, 15};
    const char *enc[] = {"gzip", "deflate"};
    for (int k = 0; k < 2; k++) {
        size_t zl, len;
        uint8_t *z = zcompress(text, sizeof text, wbits[k], &zl);
        uint8_t *b = frame(1, z, zl, &len);
        tcall c;
        tcall_init(&c, "/test.Echo/Echo", b, len);
        c.encoding = enc[k];
        call_once(F->port, &c);
        assert_int_equal(c.grpc_status, 0);
        assert_framed(&c, text, sizeof text);
        tcall_free(&c);
        free(b);
        free(z);
    }
    /* grpc-encoding gzip with the compressed flag clear: the message is taken as is. */
    size_t len;
    uint8_t *b = frame(0, "plain", 5, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.encoding = "gzip";
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, 0);
    assert_framed(&c, "plain", 5);
    tcall_free(&c);
    free(b);

    /* Corrupt gzip: INTERNAL naming the decompression failure. */
    b = frame(1, "\x1f\x8b\x08\x00garbage!", 12, &len);
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.encoding = "gzip";
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_INTERNAL);
    assert_non_null(strstr(c.grpc_message, "failed to decompress"));
    tcall_free(&c);
    free(b);

    /* Compressed flag without an encoding. */
    b = frame(1, "abc", 3, &len);
    tcall_init(&c, "/test.Echo/Echo", b, len);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_INTERNAL);
    assert_string_equal(c.grpc_message,
                        "grpc: compressed flag set with identity or empty encoding");
    tcall_free(&c);
    free(b);
    assert_int_equal(atomic_load(&g_calls), 3);
}

static void test_unknown_encoding(void **state)
{
    size_t len;
    uint8_t *b = frame(1, "xx", 2, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.encoding = "br";
    call_once(F->port, &c);
    assert_int_equal(c.http_status, 200);
    assert_int_equal(c.grpc_status, IG_GRPC_UNIMPLEMENTED);
    assert_string_equal(c.grpc_message,
                        "grpc: Decompressor is not installed for grpc-encoding \"br\"");
    tcall_free(&c);
    free(b);
    assert_int_equal(atomic_load(&g_calls), 0);
}

static void test_message_too_large(void **state)
{
    size_t n = 70000, len;
    char *big = calloc(1, n);
    uint8_t *b = frame(0, big, n, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_RESOURCE_EXHAUSTED);
    assert_string_equal(c.grpc_message, "grpc: received message larger than max (70000 vs. 65536)");
    assert_int_equal(c.close_error, NGHTTP2_NO_ERROR);
    assert_int_equal(atomic_load(&g_calls), 0);
    tcall_free(&c);
    free(b);

    /* Exactly at the cap is fine. */
    b = frame(0, big, 65536, &len);
    tcall_init(&c, "/test.Echo/Echo", b, len);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, 0);
    assert_framed(&c, big, 65536);
    tcall_free(&c);
    free(b);
    free(big);
}

static void test_zip_bomb(void **state)
{
    /* 32 MiB of zeros compress to ~32 KiB: under the 64 KiB cap on the wire, 512 times over
     * it inflated. The server must stop at the cap. */
    size_t n = 32u << 20, zl, len;
    char *zeros = calloc(1, n);
    uint8_t *z = zcompress(zeros, n, 31, &zl);
    free(zeros);
    assert_true(zl < 65536);
    uint8_t *b = frame(1, z, zl, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.encoding = "gzip";
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_RESOURCE_EXHAUSTED);
    assert_string_equal(c.grpc_message,
                        "grpc: received message after decompression larger than max 65536");
    assert_int_equal(atomic_load(&g_calls), 0);
    tcall_free(&c);
    free(b);
    free(z);
}

static void test_unknown_method(void **state)
{
    size_t len;
    uint8_t *b = frame(0, "x", 1, &len);
    struct {
        const char *path, *msg;
    } cases[] = {
        {"/test.Echo/Nope", "unknown method Nope for service test.Echo"},
        {"/other.Svc/Export", "unknown service other.Svc"},
        {"/nopath", "malformed method name: \"/nopath\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcall c;
        tcall_init(&c, cases[i].path, b, len);
        call_once(F->port, &c);
        assert_int_equal(c.http_status, 200);
        assert_int_equal(c.grpc_status, IG_GRPC_UNIMPLEMENTED);
        assert_string_equal(c.grpc_message, cases[i].msg);
        tcall_free(&c);
    }
    free(b);
    assert_int_equal(atomic_load(&g_calls), 0);
}

static void test_bad_content_type_and_method(void **state)
{
    size_t len;
    uint8_t *b = frame(0, "x", 1, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.ctype = "application/json";
    call_once(F->port, &c);
    assert_int_equal(c.http_status, 415);
    assert_int_equal(c.grpc_status, IG_GRPC_INTERNAL);
    assert_string_equal(c.grpc_message, "invalid gRPC request content-type \"application/json\"");
    tcall_free(&c);

    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.method = "PUT";
    call_once(F->port, &c);
    assert_int_equal(c.http_status, 405);
    assert_int_equal(c.grpc_status, IG_GRPC_INTERNAL);
    assert_non_null(strstr(c.grpc_message, "PUT which should be POST"));
    tcall_free(&c);
    free(b);
    assert_int_equal(atomic_load(&g_calls), 0);
}

static void test_framing_errors(void **state)
{
    /* No message at all (END_STREAM on HEADERS). */
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", NULL, 0);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_INTERNAL);
    assert_string_equal(c.grpc_message, "grpc: unary call ended without a request message");
    tcall_free(&c);

    /* A frame header announcing 10 bytes followed by 3. */
    static const uint8_t partial[] = {0, 0, 0, 0, 10, 'a', 'b', 'c'};
    tcall_init(&c, "/test.Echo/Echo", partial, sizeof partial);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_INTERNAL);
    assert_string_equal(c.grpc_message, "grpc: request ended inside a message (3 of 10 bytes)");
    tcall_free(&c);

    /* Two messages in a unary call. */
    static const uint8_t two[] = {0, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 1, 'b'};
    tcall_init(&c, "/test.Echo/Echo", two, sizeof two);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_INTERNAL);
    assert_non_null(strstr(c.grpc_message, "more than one request message"));
    tcall_free(&c);

    /* A truncated frame header. */
    static const uint8_t hdr3[] = {0, 0, 0};
    tcall_init(&c, "/test.Echo/Echo", hdr3, sizeof hdr3);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_INTERNAL);
    assert_non_null(strstr(c.grpc_message, "inside a message header (3 of 5 bytes)"));
    tcall_free(&c);
    assert_int_equal(atomic_load(&g_calls), 0);
}

static void test_status_and_trailers(void **state)
{
    size_t len;
    uint8_t *b = frame(0, "deny", 4, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Fail", b, len);
    call_once(F->port, &c);
    assert_int_equal(c.http_status, 200);
    assert_int_equal(c.grpc_status, IG_GRPC_PERMISSION_DENIED);
    /* Percent-encoded per the gRPC spec: '%', non-ASCII and control bytes. */
    assert_string_equal(c.grpc_message, "denied: 100%25 %C3%BC%0Anext");
    assert_string_equal(c.trailer_x, "42");
    assert_string_equal(c.trailer_bin, "AQL/");
    assert_int_equal(c.resp_len, 0); /* trailers-only: no message */
    tcall_free(&c);
    free(b);

    b = frame(0, "neg", 3, &len);
    tcall_init(&c, "/test.Echo/Fail", b, len);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_INVALID_ARGUMENT);
    assert_string_equal(c.grpc_message, ig_strerror(IG_EINVAL));
    tcall_free(&c);
    free(b);

    assert_string_equal(ig_grpc_status_name(8), "RESOURCE_EXHAUSTED");
    assert_string_equal(ig_grpc_status_name(99), "UNKNOWN");
    assert_int_equal(ig_grpc_status_from_err(IG_EAGAIN), IG_GRPC_UNAVAILABLE);
    assert_int_equal(ig_grpc_status_from_err(IG_EINTERNAL), IG_GRPC_INTERNAL);
}

static void test_many_calls_one_connection(void **state)
{
    tclient t;
    tc_open(&t, F->port);
    for (int i = 0; i < 300; i++) {
        char msg[32];
        int ml = snprintf(msg, sizeof msg, "call-%d", i);
        size_t len;
        uint8_t *b = frame(0, msg, (size_t)ml, &len);
        tcall c, *pc = &c;
        tcall_init(&c, "/test.Echo/Echo", b, len);
        tc_submit(&t, &c);
        tc_wait(&t, &pc, 1);
        assert_true(c.done);
        assert_int_equal(c.grpc_status, 0);
        assert_framed(&c, msg, (size_t)ml);
        tcall_free(&c);
        free(b);
    }
    assert_false(t.eof);
    tc_close(&t);
    assert_int_equal(atomic_load(&g_calls), 300);
}

static void test_concurrent_streams(void **state)
{
    enum { N = 60 };
    tclient t;
    tc_open(&t, F->port);
    static tcall calls[N];
    tcall *pcs[N];
    uint8_t *bodies[N];
    char msgs[N][64];
    for (int i = 0; i < N; i++) {
        size_t ml = (size_t)snprintf(msgs[i], sizeof msgs[i], "concurrent message number %d", i);
        size_t len;
        bodies[i] = frame(0, msgs[i], ml, &len);
        tcall_init(&calls[i], "/test.Echo/Echo", bodies[i], len);
        calls[i].chunk = (size_t)(i % 5) + 1; /* interleaved small DATA frames */
        pcs[i] = &calls[i];
        tc_submit(&t, &calls[i]);
    }
    tc_wait(&t, pcs, N);
    for (int i = 0; i < N; i++) {
        assert_true(calls[i].done);
        assert_int_equal(calls[i].grpc_status, 0);
        assert_framed(&calls[i], msgs[i], strlen(msgs[i]));
        tcall_free(&calls[i]);
        free(bodies[i]);
    }
    tc_close(&t);
}

/* A blocked handler holds neither its connection's other streams nor other connections. */
static void test_slow_call_does_not_block(void **state)
{
    size_t len;
    uint8_t *b = frame(0, "x", 1, &len);
    tclient t, t2;
    tc_open(&t, F->port);
    tcall slow, fast, other, *ps = &slow, *pf = &fast, *po = &other;
    tcall_init(&slow, "/test.Echo/Slow", b, len);
    tcall_init(&fast, "/test.Echo/Echo", b, len);
    tcall_init(&other, "/test.Echo/Echo", b, len);
    tc_submit(&t, &slow);
    for (int i = 0; i < 200 && !atomic_load(&g_slow_entered); i++)
        tc_pump(&t, 10);
    assert_int_equal(atomic_load(&g_slow_entered), 1);
    tc_submit(&t, &fast);
    tc_wait(&t, &pf, 1);
    assert_true(fast.done);
    assert_int_equal(fast.grpc_status, 0);
    tc_open(&t2, F->port);
    tc_submit(&t2, &other);
    tc_wait(&t2, &po, 1);
    assert_int_equal(other.grpc_status, 0);
    assert_false(slow.done);
    gate_open();
    tc_wait(&t, &ps, 1);
    assert_int_equal(slow.grpc_status, 0);
    assert_framed(&slow, "slow", 4);
    tcall_free(&slow);
    tcall_free(&fast);
    tcall_free(&other);
    tc_close(&t);
    tc_close(&t2);
    free(b);
}

static void test_small_data_frames(void **state)
{
    size_t n = 10000, len;
    char *msg = malloc(n);
    for (size_t i = 0; i < n; i++)
        msg[i] = (char)(i * 31);
    uint8_t *b = frame(0, msg, n, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.chunk = 7; /* 1,430 DATA frames, the 5-byte header itself split across two */
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, 0);
    assert_framed(&c, msg, n);
    tcall_free(&c);
    free(b);
    free(msg);

    /* gzip-compressed, 3 bytes per frame. */
    size_t zl;
    msg = malloc(n);
    memset(msg, 'q', n);
    uint8_t *z = zcompress(msg, n, 31, &zl);
    b = frame(1, z, zl, &len);
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.encoding = "gzip";
    c.chunk = 3;
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, 0);
    assert_framed(&c, msg, n);
    tcall_free(&c);
    free(b);
    free(z);
    free(msg);
}

/* Sends raw bytes, then reads until EOF (or 5 s); returns what was read (caller frees). */
static char *raw_exchange(int port, const void *req, size_t reqlen, size_t *outlen)
{
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(send(fd, req, reqlen, MSG_NOSIGNAL), (ssize_t)reqlen);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap + 1);
    int64_t end = ig_mono_ns() + 5 * IG_NS_PER_S;
    bool eof = false;
    while (ig_mono_ns() < end) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, out + len, cap - len, 0);
        if (n <= 0) {
            eof = true;
            break;
        }
        len += (size_t)n;
        if (len == cap)
            break;
    }
    assert_true(eof); /* the server closed the connection */
    close(fd);
    out[len] = 0;
    *outlen = len;
    return out;
}

static void test_http1_on_same_port(void **state)
{
    size_t n;
    static const char ready[] = "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n";
    char *r = raw_exchange(F->port, ready, sizeof ready - 1, &n);
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_true(n > 6 && strcmp(r + n - 6, "ready\n") == 0);
    free(r);

    static const char health[] = "GET /health?x=1 HTTP/1.0\r\n\r\n";
    r = raw_exchange(F->port, health, sizeof health - 1, &n);
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(r, "healthy"));
    free(r);

    static const char post[] = "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    r = raw_exchange(F->port, post, sizeof post - 1, &n);
    assert_true(strncmp(r, "HTTP/1.1 501 Not Implemented\r\n", 30) == 0);
    assert_non_null(strstr(r, "this port speaks gRPC"));
    assert_non_null(strstr(r, "POST /v1/logs"));
    free(r);

    /* An h2c upgrade attempt (not supported: prior knowledge only) gets 501 too. */
    static const char pri[] = "PRI / HTTP/1.1\r\n\r\n";
    r = raw_exchange(F->port, pri, sizeof pri - 1, &n);
    assert_true(strncmp(r, "HTTP/1.1 501", 12) == 0);
    free(r);

    static const char bad[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n";
    r = raw_exchange(F->port, bad, sizeof bad - 1, &n);
    assert_true(strncmp(r, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    assert_non_null(strstr(r, "gRPC"));
    free(r);
}

static void test_garbage_after_preface(void **state)
{
    /* The preface followed by a bogus frame: the server sends GOAWAY and closes. */
    char req[128];
    memcpy(req, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    memset(req + 24, 0xee, sizeof req - 24);
    size_t n;
    char *r = raw_exchange(F->port, req, sizeof req, &n);
    free(r);
    /* A half-valid frame stream: SETTINGS then DATA on stream 0. */
    static const uint8_t frames[] = {
        'P',  'R',  'I',  ' ', '*', ' ',  'H',  'T',  'T',  'P', '/', '2', '.', '0', '\r',
        '\n', '\r', '\n', 'S', 'M', '\r', '\n', '\r', '\n', 0,   0,   0,   4,   0,   0,
        0,    0,    0,    0,   0,   3,    0,    1,    0,    0,   0,   0,   'a', 'b', 'c'};
    r = raw_exchange(F->port, frames, sizeof frames, &n);
    assert_true(n >= 9);
    free(r);
    /* The server is still fine. */
    size_t len;
    uint8_t *b = frame(0, "ok", 2, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, 0);
    tcall_free(&c);
    free(b);
}

static void test_cancelled_stream(void **state)
{
    /* The client sends half a message, then resets the stream: nothing runs, nothing leaks,
     * and the connection keeps working. */
    size_t len;
    uint8_t *b = frame(0, "abcdef", 6, &len);
    tclient t;
    tc_open(&t, F->port);
    tcall c, ok, *pok = &ok;
    tcall_init(&c, "/test.Echo/Echo", b, 8);
    c.hold = true;
    tc_submit(&t, &c);
    for (int i = 0; i < 5; i++)
        tc_pump(&t, 10);
    nghttp2_submit_rst_stream(t.sess, NGHTTP2_FLAG_NONE, c.id, NGHTTP2_CANCEL);
    tcall_init(&ok, "/test.Echo/Echo", b, len);
    tc_submit(&t, &ok);
    tc_wait(&t, &pok, 1);
    assert_int_equal(ok.grpc_status, 0);
    assert_int_equal(ig_grpc_server_drain(F->s, IG_NS_PER_S), 0);
    assert_int_equal(atomic_load(&g_calls), 1);
    tcall_free(&c);
    tcall_free(&ok);
    tc_close(&t);
    free(b);
}

static void test_header_list_cap(void **state)
{
    static char big[8000];
    memset(big, 'v', sizeof big - 1);
    size_t len;
    uint8_t *b = frame(0, "x", 1, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Meta", b, len);
    for (int i = 0; i < 10; i++) { /* 80 KB of metadata > 64 KiB */
        c.md[c.nmd][0] = "x-big";
        c.md[c.nmd++][1] = big;
    }
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, IG_GRPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(c.grpc_message, "header list is larger than max"));
    tcall_free(&c);
    free(b);
}

static void test_metrics(void **state)
{
    size_t len;
    uint8_t *b = frame(0, "m", 1, &len);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    call_once(F->port, &c);
    tcall_free(&c);
    tcall_init(&c, "/some.Unknown/Thing", b, len);
    call_once(F->port, &c);
    tcall_free(&c);
    free(b);
    ig_buf out;
    ig_buf_init(&out, 0);
    assert_int_equal(ig_metrics_render(&out), 0);
    assert_non_null(
        strstr(out.data, "icegate_grpc_requests_total{method=\"/test.Echo/Echo\",code=\"OK\"}"));
    assert_non_null(
        strstr(out.data, "icegate_grpc_requests_total{method=\"unknown\",code=\"UNIMPLEMENTED\"}"));
    assert_non_null(strstr(out.data, "icegate_grpc_request_duration_seconds_bucket{method=\""
                                     "/test.Echo/Echo\""));
    assert_null(strstr(out.data, "some.Unknown"));
    ig_buf_free(&out);
}

static void test_quiesce_drain(void **state)
{
    size_t len;
    uint8_t *b = frame(0, "x", 1, &len);
    tclient t;
    tc_open(&t, F->port);
    tcall slow, *ps = &slow;
    tcall_init(&slow, "/test.Echo/Slow", b, len);
    tc_submit(&t, &slow);
    for (int i = 0; i < 200 && !atomic_load(&g_slow_entered); i++)
        tc_pump(&t, 10);
    assert_int_equal(atomic_load(&g_slow_entered), 1);

    ig_grpc_server_quiesce(F->s);
    ig_grpc_server_quiesce(F->s); /* idempotent */
    /* No new connections. */
    int fd = tcp_connect(F->port);
    assert_int_equal(fd, -1);
    /* The call is still in flight. */
    assert_int_equal(ig_grpc_server_drain(F->s, 50 * IG_NS_PER_MS), 1);
    gate_open();
    assert_int_equal(ig_grpc_server_drain(F->s, 5 * IG_NS_PER_S), 0);
    tc_wait(&t, &ps, 1);
    assert_true(slow.done);
    assert_int_equal(slow.grpc_status, 0);
    assert_framed(&slow, "slow", 4);
    assert_true(t.goaway);
    /* The server closes the connection once idle after GOAWAY. */
    for (int i = 0; i < 100 && !t.eof; i++)
        tc_pump(&t, 20);
    assert_true(t.eof);
    tcall_free(&slow);
    tc_close(&t);
    free(b);
}

static void test_max_connections(void **state)
{
    ig_grpc_opts o = {.host = "127.0.0.1", .max_connections = 2, .max_concurrent_streams = 4};
    fixture *f = start_server(&o);
    size_t len;
    uint8_t *b = frame(0, "x", 1, &len);
    tclient t1, t2;
    tc_open(&t1, f->port);
    tc_open(&t2, f->port);
    tcall c1, c2, *p1 = &c1, *p2 = &c2;
    tcall_init(&c1, "/test.Echo/Echo", b, len);
    tcall_init(&c2, "/test.Echo/Echo", b, len);
    tc_submit(&t1, &c1);
    tc_submit(&t2, &c2);
    tc_wait(&t1, &p1, 1);
    tc_wait(&t2, &p2, 1);
    assert_int_equal(c1.grpc_status, 0);
    assert_int_equal(c2.grpc_status, 0);
    /* A third connection is closed at once. */
    static const char ready[] = "GET /ready HTTP/1.1\r\n\r\n";
    size_t n;
    char *r = raw_exchange(f->port, ready, sizeof ready - 1, &n);
    assert_int_equal(n, 0);
    free(r);
    /* Streams the client cancelled while their handler runs still count against
     * max_concurrent_streams: new ones are refused rather than queued without bound. */
    tcall many[4], *pm[4];
    for (int i = 0; i < 4; i++) {
        tcall_init(&many[i], "/test.Echo/Slow", b, len);
        pm[i] = &many[i];
        tc_submit(&t1, &many[i]);
    }
    for (int i = 0; i < 200 && atomic_load(&g_slow_entered) < 4; i++)
        tc_pump(&t1, 10);
    assert_int_equal(atomic_load(&g_slow_entered), 4);
    for (int i = 0; i < 4; i++)
        nghttp2_submit_rst_stream(t1.sess, NGHTTP2_FLAG_NONE, many[i].id, NGHTTP2_CANCEL);
    tc_wait(&t1, pm, 4);
    tcall extra[2], *pe[2];
    for (int i = 0; i < 2; i++) {
        tcall_init(&extra[i], "/test.Echo/Echo", b, len);
        pe[i] = &extra[i];
        tc_submit(&t1, &extra[i]);
    }
    tc_wait(&t1, pe, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(extra[i].done);
        assert_int_equal(extra[i].close_error, NGHTTP2_REFUSED_STREAM);
        assert_int_equal(extra[i].grpc_status, -1);
        tcall_free(&extra[i]);
    }
    gate_open();
    assert_int_equal(ig_grpc_server_drain(f->s, 5 * IG_NS_PER_S), 0);
    tcall again, *pa = &again;
    tcall_init(&again, "/test.Echo/Echo", b, len);
    tc_submit(&t1, &again);
    tc_wait(&t1, &pa, 1);
    assert_int_equal(again.grpc_status, 0);
    tcall_free(&again);
    for (int i = 0; i < 4; i++)
        tcall_free(&many[i]);
    tcall_free(&c1);
    tcall_free(&c2);
    tc_close(&t1);
    tc_close(&t2);
    free(b);
    ig_grpc_server_free(f->s);
    free(f);
}

/* Allocation failures anywhere in the server (connection, stream, arena, buffers, inflate,
 * metrics) fail that connection or call cleanly; the server keeps working and leaks nothing. */
static void test_alloc_failures(void **state)
{
    char text[3000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 13);
    size_t zl, len;
    uint8_t *z = zcompress(text, sizeof text, 31, &zl);
    uint8_t *b = frame(1, z, zl, &len);
    int completed = 0, failed = 0;
    for (long n = 0; n < 40; n++) {
        tclient t;
        tc_open(&t, F->port);
        tcall c, *pc = &c;
        tcall_init(&c, "/test.Echo/Meta", b, len);
        c.encoding = "gzip";
        c.md[c.nmd][0] = "x-scope-orgid";
        c.md[c.nmd++][1] = "t";
        ig_alloc_fail_after(n);
        tc_submit(&t, &c);
        tc_wait(&t, &pc, 1);
        ig_alloc_fail_reset();
        if (c.done && c.grpc_status == 0)
            completed++;
        else
            failed++;
        tcall_free(&c);
        tc_close(&t);
        assert_int_equal(ig_grpc_server_drain(F->s, 5 * IG_NS_PER_S), 0);
    }
    assert_true(failed > 0);
    assert_true(completed > 0);
    tcall c;
    tcall_init(&c, "/test.Echo/Echo", b, len);
    c.encoding = "gzip";
    call_once(F->port, &c);
    assert_int_equal(c.grpc_status, 0);
    assert_framed(&c, text, sizeof text);
    tcall_free(&c);
    free(b);
    free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unary_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_and_deflate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zip_bomb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_content_type_and_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framing_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_trailers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_calls_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_call_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_data_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http1_on_same_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_after_preface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_list_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
