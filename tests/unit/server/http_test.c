/* HTTP server layer: routing, parameters (query string and form bodies), headers,
 * streaming responses, body caps, draining in-flight requests. Client: libcurl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "icegate/http.h"
#include "icegate/metrics.h"
#include "icegate/time.h"

static int h_echo(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    ig_str q = IG_STR_NULL;
    ig_str all[4];
    int n = ig_http_param_all(req, "m[]", all, 4);
    bool has = ig_http_param(req, "query", &q);
    const char *org = ig_http_header(req, "X-Scope-OrgID");
    resp->status = 200;
    ig_buf_printf(&resp->body, "method=%s path=%s query=%.*s has=%d n=%d org=%s orgs=%d",
                  req->method, req->path, (int)q.len, q.ptr ? q.ptr : "", has, n,
                  org ? org : "-", ig_http_header_count(req, "X-Scope-OrgID"));
    for (int i = 0; i < n && i < 4; i++)
        ig_buf_printf(&resp->body, " m=%.*s", (int)all[i].len, all[i].ptr);
    ig_buf_printf(&resp->body, " body=%zu", req->body.len);
    return 0;
}

typedef struct { int left; } stream_ctx;

static int stream_fn(void *ud, ig_buf *out)
{
    stream_ctx *c = ud;
    ig_buf_printf(out, "chunk%d\n", c->left);
    return --c->left > 0 ? 1 : 0;
}

static stream_ctx g_sc;
static int g_stream_done;
static void stream_done(void *ud)
{
    g_stream_done++;
}

static int h_stream(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    g_sc.left = 5;
    resp->stream = stream_fn;
    resp->stream_ud = &g_sc;
    resp->stream_done = stream_done;
    return 0;
}

static int h_slow(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    usleep(300 * 1000);
    return ig_http_resp_text(resp, 200, "text/plain", "slow done");
}

static int h_fail(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    return -1;
}

typedef struct { char data[8192]; size_t len; } sink;

static size_t write_cb(char *p, size_t sz, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = sz * n;
    if (s->len + len < sizeof s->data) {
        memcpy(s->data + s->len, p, len);
        s->len += len;
        s->data[s->len] = 0;
    }
    return len;
}

static long do_req(int port, const char *method, const char *path, const char *body,
                   const char *ctype, sink *out, struct curl_slist *extra)
{
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *h = extra;
    if (ctype) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    memset(out, 0, sizeof *out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return code;
}

static ig_http_server *start(int64_t cap)
{
    ig_http_opts o = {.name = "test", .host = "127.0.0.1", .port = 0, .max_body_bytes = cap};
    ig_http_server *s = ig_http_server_new(&o);
    assert_non_null(s);
    assert_int_equal(ig_http_route(s, "GET|POST", "/echo", h_echo, NULL), 0);
    assert_int_equal(ig_http_route(s, "GET", "/stream", h_stream, NULL), 0);
    assert_int_equal(ig_http_route(s, "GET", "/slow", h_slow, NULL), 0);
    assert_int_equal(ig_http_route(s, "GET", "/fail", h_fail, NULL), 0);
    assert_int_equal(ig_http_route(s, "*", "/prefix/*", h_echo, NULL), 0);
    char err[256];
    assert_int_equal(ig_http_server_start(s, err, sizeof err), 0);
    assert_true(ig_http_server_port(s) > 0);
    return s;
}

static void test_query_and_form_params(void **state)
{
    ig_http_server *s = start(1 << 20);
    int port = ig_http_server_port(s);
    sink out;
    assert_int_equal(do_req(port, "GET", "/echo?query=%7Ba%3D%22b%22%7D&m[]=x&m[]=y", NULL, NULL,
                            &out, NULL),
                     200);
    assert_non_null(strstr(out.data, "query={a=\"b\"} has=1 n=2"));
    assert_non_null(strstr(out.data, " m=x m=y"));
    assert_int_equal(do_req(port, "POST", "/echo", "query=sum+by+%28a%29&m%5B%5D=z", 
                            "application/x-www-form-urlencoded", &out, NULL),
                     200);
    assert_non_null(strstr(out.data, "query=sum by (a) has=1 n=1 org=- orgs=0 m=z"));
    /* a JSON body is not parsed as a form */
    assert_int_equal(do_req(port, "POST", "/echo", "query=1", "application/json", &out, NULL),
                     200);
    assert_non_null(strstr(out.data, "has=0"));
    assert_non_null(strstr(out.data, "body=7"));
    ig_http_server_free(s);
}

static void test_headers_and_routing(void **state)
{
    ig_http_server *s = start(1 << 20);
    int port = ig_http_server_port(s);
    sink out;
    struct curl_slist *h = curl_slist_append(NULL, "X-Scope-OrgID: t1");
    h = curl_slist_append(h, "X-Scope-OrgID: t2");
    assert_int_equal(do_req(port, "GET", "/echo", NULL, NULL, &out, h), 200);
    assert_non_null(strstr(out.data, "org=t1 orgs=2"));
    assert_int_equal(do_req(port, "DELETE", "/echo", NULL, NULL, &out, NULL), 405);
    assert_int_equal(do_req(port, "GET", "/missing", NULL, NULL, &out, NULL), 404);
    assert_int_equal(do_req(port, "PUT", "/prefix/a/b", NULL, NULL, &out, NULL), 200);
    assert_non_null(strstr(out.data, "path=/prefix/a/b"));
    assert_int_equal(do_req(port, "GET", "/fail", NULL, NULL, &out, NULL), 500);
    assert_non_null(strstr(out.data, "\"errorType\":\"internal\""));
    ig_http_server_free(s);
}

static void test_streaming(void **state)
{
    ig_http_server *s = start(1 << 20);
    sink out;
    g_stream_done = 0;
    assert_int_equal(do_req(ig_http_server_port(s), "GET", "/stream", NULL, NULL, &out, NULL),
                     200);
    assert_string_equal(out.data, "chunk5\nchunk4\nchunk3\nchunk2\nchunk1\n");
    ig_http_server_free(s);
    assert_int_equal(g_stream_done, 1);
}

static void test_body_cap(void **state)
{
    ig_http_server *s = start(100);
    sink out;
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(do_req(ig_http_server_port(s), "POST", "/echo", big, "text/plain", &out,
                            NULL),
                     413);
    assert_non_null(strstr(out.data, "limit is 100 bytes"));
    assert_int_equal(do_req(ig_http_server_port(s), "POST", "/echo", "small", "text/plain", &out,
                            NULL),
                     200);
    ig_http_server_free(s);
}

static void *slow_client(void *arg)
{
    static sink out;
    long code = do_req(*(int *)arg, "GET", "/slow", NULL, NULL, &out, NULL);
    return (void *)(intptr_t)code;
}

static void test_drain_waits_for_inflight(void **state)
{
    ig_http_server *s = start(1 << 20);
    int port = ig_http_server_port(s);
    pthread_t th;
    pthread_create(&th, NULL, slow_client, &port);
    usleep(100 * 1000); /* let the request start */
    ig_http_server_quiesce(s);
    int left = ig_http_server_drain(s, 5 * IG_NS_PER_S);
    assert_int_equal(left, 0);
    void *rv;
    pthread_join(th, &rv);
    assert_int_equal((long)(intptr_t)rv, 200);
    /* no new connections after quiesce */
    sink out;
    assert_int_equal(do_req(port, "GET", "/echo", NULL, NULL, &out, NULL), 0);
    ig_http_server_free(s);
}

static void test_urldecode(void **state)
{
    ig_arena a;
    ig_arena_init(&a, 0);
    ig_str r = ig_http_urldecode(&a, IG_STR("a%20b+c%zz%4"), true);
    assert_int_equal(r.len, strlen("a b c%zz%4"));
    assert_memory_equal(r.ptr, "a b c%zz%4", r.len);
    ig_arena_free(&a);
}

static void test_metrics_render(void **state)
{
    ig_metric_add(ig_counter("t_total", "help text", "a=\"1\""), 2);
    ig_metric_add(ig_counter("t_total", "help text", "a=\"1\""), 0.5);
    ig_metric_set(ig_gauge("t_gauge", "g", NULL), -3);
    static const double b[] = {1, 2};
    ig_metric *h = ig_histogram("t_hist", "h", "x=\"y\"", b, 2);
    ig_metric_observe(h, 0.5);
    ig_metric_observe(h, 1.5);
    ig_metric_observe(h, 5);
    ig_buf out;
    ig_buf_init(&out, 0);
    assert_int_equal(ig_metrics_render(&out), 0);
    assert_non_null(strstr(out.data, "# TYPE t_total counter\nt_total{a=\"1\"} 2.5\n"));
    assert_non_null(strstr(out.data, "t_gauge -3\n"));
    assert_non_null(strstr(out.data, "t_hist_bucket{x=\"y\",le=\"1\"} 1\n"));
    assert_non_null(strstr(out.data, "t_hist_bucket{x=\"y\",le=\"2\"} 2\n"));
    assert_non_null(strstr(out.data, "t_hist_bucket{x=\"y\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(out.data, "t_hist_sum{x=\"y\"} 7\n"));
    assert_non_null(strstr(out.data, "t_hist_count{x=\"y\"} 3\n"));
    char esc[64];
    ig_metrics_label_escape("a\"b\\c\nd", esc, sizeof esc);
    assert_string_equal(esc, "a\\\"b\\\\c\\nd");
    ig_buf_free(&out);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_and_form_params), cmocka_unit_test(test_headers_and_routing),
        cmocka_unit_test(test_streaming),             cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_drain_waits_for_inflight), cmocka_unit_test(test_urldecode),
        cmocka_unit_test(test_metrics_render),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
