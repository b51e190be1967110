/* WebSocket (src/server/websocket.c and the upgrade in src/server/http.c): SHA-1 test
 * vectors, the RFC 6455 handshake example, frame decoding (masking, lengths, partial
 * input, protocol errors, caps), encoding, and a live upgrade over a raw socket. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "icegate/err.h"
#include "icegate/http.h"
#include "icegate/websocket.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void t_sha1(void **st)
{
    uint8_t d[20];
    char h[41];
    ig_ws_sha1("abc", 3, d);
    hex(d, 20, h);
    assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    ig_ws_sha1("", 0, d);
    hex(d, 20, h);
    assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    ig_ws_sha1(m, strlen(m), d);
    hex(d, 20, h);
    assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    static char mil[1000000];
    memset(mil, 'a', sizeof mil);
    ig_ws_sha1(mil, sizeof mil, d);
    hex(d, 20, h);
    assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void t_accept(void **st)
{
    char out[29];
    assert_int_equal(ig_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(ig_ws_accept_key("short", out), IG_EINVAL);
    assert_int_equal(ig_ws_accept_key(NULL, out), IG_EINVAL);
    assert_int_equal(ig_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=\n", out), IG_EINVAL);
}

static void t_decode(void **st)
{
    /* RFC 6455 5.7: a masked "Hello" */
    uint8_t f1[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    ig_ws_frame f;
    const char *why;
    for (size_t n = 0; n < sizeof f1; n++) {
        uint8_t cp[sizeof f1];
        memcpy(cp, f1, sizeof f1);
        assert_int_equal(ig_ws_decode(cp, n, 125, &f, &why), 0);
    }
    assert_int_equal(ig_ws_decode(f1, sizeof f1, 125, &f, &why), (long)sizeof f1);
    assert_int_equal(f.opcode, IG_WS_TEXT);
    assert_true(f.fin);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.payload, "Hello", 5);

    /* unmasked client frame */
    uint8_t f2[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    assert_int_equal(ig_ws_decode(f2, sizeof f2, 125, &f, &why), IG_ECORRUPT);
    assert_non_null(why);
    /* reserved bits */
    uint8_t f3[] = {0xC1, 0x80, 0, 0, 0, 0};
    assert_int_equal(ig_ws_decode(f3, sizeof f3, 125, &f, &why), IG_ECORRUPT);
    /* unknown opcode */
    uint8_t f4[] = {0x83, 0x80, 0, 0, 0, 0};
    assert_int_equal(ig_ws_decode(f4, sizeof f4, 125, &f, &why), IG_ECORRUPT);
    /* fragmented text, continuation */
    uint8_t f5[] = {0x01, 0x80, 0, 0, 0, 0};
    assert_int_equal(ig_ws_decode(f5, sizeof f5, 125, &f, &why), IG_ECORRUPT);
    uint8_t f6[] = {0x80, 0x80, 0, 0, 0, 0};
    assert_int_equal(ig_ws_decode(f6, sizeof f6, 125, &f, &why), IG_ECORRUPT);
    /* control frame over 125 bytes */
    uint8_t f7[] = {0x89, 0xFE, 0x00, 0x7E};
    assert_int_equal(ig_ws_decode(f7, sizeof f7, 1000, &f, &why), IG_ECORRUPT);
    /* 16-bit length over the cap; 64-bit length with the top bit */
    uint8_t f8[] = {0x82, 0xFE, 0x01, 0x00};
    assert_int_equal(ig_ws_decode(f8, sizeof f8, 255, &f, &why), IG_ETOOBIG);
    uint8_t f9[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(ig_ws_decode(f9, sizeof f9, 255, &f, &why), IG_ECORRUPT);
    uint8_t f10[] = {0x82, 0xFF, 0, 0, 0, 0, 0, 0x20, 0, 0};
    assert_int_equal(ig_ws_decode(f10, sizeof f10, 1u << 30, &f, &why), IG_ETOOBIG);
    /* masked ping with zero mask, 16-bit length binary frame */
    uint8_t f11[4 + 4 + 200] = {0x82, 0xFE, 0x00, 200, 0, 0, 0, 0};
    assert_int_equal(ig_ws_decode(f11, 200, 300, &f, &why), 0);
    assert_int_equal(ig_ws_decode(f11, sizeof f11, 300, &f, &why), (long)sizeof f11);
    assert_int_equal(f.len, 200);
    assert_int_equal(f.opcode, IG_WS_BINARY);
}

static void t_encode(void **st)
{
    ig_buf b;
    ig_buf_init(&b, 1u << 22);
    assert_int_equal(ig_ws_encode(&b, IG_WS_TEXT, "hi", 2), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "\x81\x02hi", 4);
    ig_buf_reset(&b);
    static char big[70000];
    assert_int_equal(ig_ws_encode(&b, IG_WS_TEXT, big, 300), 0);
    assert_int_equal((uint8_t)b.data[1], 126);
    assert_int_equal(b.len, 4 + 300);
    ig_buf_reset(&b);
    assert_int_equal(ig_ws_encode(&b, IG_WS_TEXT, big, sizeof big), 0);
    assert_int_equal((uint8_t)b.data[1], 127);
    assert_int_equal(b.len, 10 + sizeof big);
    ig_buf_reset(&b);
    char reason[300];
    memset(reason, 'x', sizeof reason - 1);
    reason[sizeof reason - 1] = 0;
    assert_int_equal(ig_ws_encode_close(&b, 1011, reason), 0);
    assert_int_equal(b.len, 2 + 125);
    assert_int_equal((uint8_t)b.data[2], 1011 >> 8);
    assert_int_equal((uint8_t)b.data[3], 1011 & 255);
    ig_buf_free(&b);
}

/* ---- live upgrade ---- */
static int g_done;

static void ws_fn(ig_ws *ws, void *ud)
{
    ig_ws_send_text(ws, "hello", 5);
    while (ig_ws_wait(ws, 100) == 0)
        ;
}

static void ws_done(void *ud)
{
    g_done++;
}

static int h_ws(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    ig_http_resp_websocket(req, resp, ws_fn, NULL, ws_done);
    return 0;
}

static size_t read_some(int fd, char *buf, size_t cap, const char *until, size_t want)
{
    size_t n = 0;
    while (n < cap) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 3000) <= 0)
            break;
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (until && memmem(buf, n, until, strlen(until)))
            break;
        if (want && n >= want)
            break;
    }
    return n;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void t_live(void **st)
{
    ig_http_opts o = {.name = "t", .host = "127.0.0.1", .port = 0};
    ig_http_server *s = ig_http_server_new(&o);
    ig_http_route(s, "GET", "/ws", h_ws, NULL);
    char err[256];
    assert_int_equal(ig_http_server_start(s, err, sizeof err), 0);
    int port = ig_http_server_port(s);

    /* not a handshake: 400 */
    int fd = connect_to(port);
    const char *bad = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send(fd, bad, strlen(bad), 0);
    char buf[4096];
    size_t n = read_some(fd, buf, sizeof buf - 1, NULL, 0);
    buf[n] = 0;
    assert_non_null(strstr(buf, " 400 "));
    assert_non_null(strstr(buf, "'upgrade' token not found"));
    close(fd);
    assert_int_equal(g_done, 1);

    fd = connect_to(port);
    const char *hs = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    send(fd, hs, strlen(hs), 0);
    n = read_some(fd, buf, sizeof buf - 1, "\r\n\r\n", 0);
    buf[n] = 0;
    assert_non_null(strstr(buf, " 101 "));
    assert_non_null(strstr(buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    char *body = strstr(buf, "\r\n\r\n") + 4;
    size_t have = n - (size_t)(body - buf);
    memmove(buf, body, have);
    have += read_some(fd, buf + have, sizeof buf - have, NULL, 7 - (have > 7 ? 7 : have));
    assert_true(have >= 7);
    assert_memory_equal(buf, "\x81\x05hello", 7);
    /* a masked ping "p" is answered by a pong "p" (a server ping may come first) */
    uint8_t ping[] = {0x89, 0x81, 1, 2, 3, 4, 'p' ^ 1};
    send(fd, ping, sizeof ping, 0);
    bool pong = false;
    for (int i = 0; i < 5 && !pong; i++) {
        n = read_some(fd, buf, 2, NULL, 2);
        assert_int_equal(n, 2);
        size_t pl = (uint8_t)buf[1];
        if (pl)
            assert_int_equal(read_some(fd, buf + 2, pl, NULL, pl), pl);
        pong = (uint8_t)buf[0] == 0x8A && pl == 1 && buf[2] == 'p';
    }
    assert_true(pong);
    /* close 1000: the server answers with a close and ends the handler */
    uint8_t cl[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8};
    send(fd, cl, sizeof cl, 0);
    bool got_close = false;
    for (int i = 0; i < 5 && !got_close; i++) {
        n = read_some(fd, buf, 2, NULL, 2);
        if (n < 2)
            break;
        size_t pl = (uint8_t)buf[1];
        if (pl)
            read_some(fd, buf + 2, pl, NULL, pl);
        got_close = (uint8_t)buf[0] == 0x88;
    }
    assert_true(got_close);
    close(fd);
    for (int i = 0; i < 100 && g_done < 2; i++)
        usleep(10000);
    assert_int_equal(g_done, 2);

    /* a connection still open when the server stops is closed with 1001 */
    fd = connect_to(port);
    send(fd, hs, strlen(hs), 0);
    n = read_some(fd, buf, sizeof buf - 1, "\r\n\r\n", 0);
    ig_http_server_free(s);
    assert_int_equal(g_done, 3);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_sha1),   cmocka_unit_test(t_accept), cmocka_unit_test(t_decode),
        cmocka_unit_test(t_encode), cmocka_unit_test(t_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
