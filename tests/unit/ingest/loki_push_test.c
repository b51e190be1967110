/* Loki push decoding (src/ingest/loki_push.c): JSON and snappy protobuf, mapping to log
 * rows, Loki's validation and error texts, limits, client payloads (pino-loki,
 * winston-loki), allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <snappy-c.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/lokipush.h"
#include "icegate/pb.h"

#define S(lit) ig_str_make(lit, sizeof(lit) - 1)
#define NOW_US ((int64_t)1700000000000000LL) /* 2023-11-14T22:13:20Z */
#define NOW_NS (NOW_US * (int64_t)1000)

static ig_arena A;

static int setup_each(void **state)
{
    (void)state;
    ig_arena_init(&A, 256u << 20);
    return 0;
}
static int teardown_each(void **state)
{
    (void)state;
    ig_arena_free(&A);
    return 0;
}

static ig_loki_push_opts opts(void)
{
    ig_loki_push_opts o;
    memset(&o, 0, sizeof o);
    o.tenant_id = IG_STR("tenant-a");
    o.now_us = NOW_US;
    o.arena = &A;
    o.max_line_size = 256 << 10;
    return o;
}

static int decode(const char *json, const ig_loki_push_opts *o, ig_loki_push_result *res)
{
    ig_errbuf eb;
    return ig_loki_push_decode(ig_str_from(json), false, o, res, &eb);
}

/* ---- protobuf request builder (pb_writer + snappy) -------------------------------- */

typedef struct pbreq {
    ig_buf buf;
    pb_writer w;
} pbreq;

static void pbreq_init(pbreq *p)
{
    ig_buf_init(&p->buf, 0);
    pb_writer_init(&p->w, &p->buf);
}
static void pb_stream_begin(pbreq *p, const char *labels)
{
    pb_put_begin(&p->w, 1);
    pb_put_bytes(&p->w, 1, ig_str_from(labels));
}
/* sm: NULL-terminated name, value, name, value, ... */
static void pb_entry(pbreq *p, int64_t ns, const char *line, const char *const *sm)
{
    pb_put_begin(&p->w, 2);
    pb_put_begin(&p->w, 1);
    pb_put_int64(&p->w, 1, ns / 1000000000LL);
    pb_put_int64(&p->w, 2, ns % 1000000000LL);
    pb_put_end(&p->w);
    pb_put_bytes(&p->w, 2, ig_str_from(line));
    for (size_t i = 0; sm && sm[i]; i += 2) {
        pb_put_begin(&p->w, 3);
        pb_put_bytes(&p->w, 1, ig_str_from(sm[i]));
        pb_put_bytes(&p->w, 2, ig_str_from(sm[i + 1]));
        pb_put_end(&p->w);
    }
    pb_put_end(&p->w);
}
static void pb_stream_end(pbreq *p)
{
    pb_put_varint(&p->w, 3, 12345); /* hash: ignored */
    pb_put_end(&p->w);
}
/* Compresses into the arena. */
static ig_str pbreq_finish(pbreq *p)
{
    assert_int_equal(pb_writer_finish(&p->w), 0);
    size_t cap = snappy_max_compressed_length(p->buf.len);
    char *out = ig_arena_alloc(&A, cap);
    assert_non_null(out);
    size_t n = cap;
    assert_int_equal(snappy_compress(p->buf.data ? p->buf.data : "", p->buf.len, out, &n),
                     SNAPPY_OK);
    ig_buf_free(&p->buf);
    return ig_str_make(out, n);
}

static ig_str snappy_of(const void *raw, size_t n)
{
    size_t cap = snappy_max_compressed_length(n);
    char *out = ig_arena_alloc(&A, cap);
    assert_non_null(out);
    assert_int_equal(snappy_compress(raw, n, out, &cap), SNAPPY_OK);
    return ig_str_make(out, cap);
}

/* ---- row assertions --------------------------------------------------------------- */

static void assert_str(ig_str got, const char *want)
{
    if (want == NULL) {
        if (got.ptr != NULL)
            fail_msg("got \"%.*s\", want NULL", (int)got.len, got.ptr);
        return;
    }
    if (!got.ptr || !ig_str_eq_cstr(got, want))
        fail_msg("got \"%.*s\", want \"%s\"", (int)got.len, got.ptr ? got.ptr : "(null)", want);
}

static void assert_attrs(ig_attrs at, const char *const *kv)
{
    size_t n = 0;
    while (kv && kv[2 * n])
        n++;
    if (at.n != n)
        fail_msg("%u attributes, want %zu", at.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_str(at.items[i].key, kv[2 * i]);
        assert_str(at.items[i].value, kv[2 * i + 1]);
    }
}

static void assert_attrs_eq(ig_attrs a, ig_attrs b)
{
    assert_int_equal(a.n, b.n);
    for (uint32_t i = 0; i < a.n; i++) {
        assert_true(ig_str_eq(a.items[i].key, b.items[i].key));
        assert_true(ig_str_eq(a.items[i].value, b.items[i].value));
    }
}

static void assert_rows_eq(const ig_rows *a, const ig_rows *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const ig_log_row *x = &a->u.logs[i], *y = &b->u.logs[i];
        assert_true(ig_str_eq(x->id.tenant_id, y->id.tenant_id));
        assert_true((x->id.account_id.ptr == NULL) == (y->id.account_id.ptr == NULL));
        assert_true((x->id.service_name.ptr == NULL) == (y->id.service_name.ptr == NULL));
        assert_true(ig_str_eq(x->id.service_name, y->id.service_name));
        assert_true(x->timestamp_us == y->timestamp_us);
        assert_true(x->ingested_us == y->ingested_us);
        assert_true(ig_str_eq(x->body, y->body));
        assert_true(ig_str_eq(x->source, y->source));
        assert_attrs_eq(x->resource_attributes, y->resource_attributes);
        assert_attrs_eq(x->attributes, y->attributes);
    }
}

static void assert_error(const ig_loki_push_result *res, const char *want)
{
    if (!res->error.ptr || strcmp(res->error.ptr, want) != 0)
        fail_msg("error:\n got  %s\n want %s", res->error.ptr ? res->error.ptr : "(null)", want);
}

/* ---- tests ------------------------------------------------------------------------ */

static const char *const SM1[] = {"trace_id", "0242ac120002", "user", "u1", NULL};

static void test_json_basic_mapping(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    o.account_id = IG_STR("acct-1");
    ig_loki_push_result res;
    const char *body =
        "{\"streams\":[{\"stream\":{\"job\":\"app\",\"env\":\"prod\",\"service_name\":\"api\"},"
        "\"values\":[[\"1699999999123456789\",\"first line\"],"
        "[\"1699999999123456999\",\"second\\tline\",{\"trace_id\":\"0242ac120002\",\"user\":\"u1\"}"
        "]]},"
        "{\"stream\":{\"job\":\"db\"},\"values\":[[\"1699999990000000000\",\"third\"]]}]}";
    assert_int_equal(decode(body, &o, &res), 0);
    assert_int_equal(res.http_status, 204);
    assert_string_equal(res.error.ptr, "");
    assert_int_equal(res.streams, 2);
    assert_int_equal(res.accepted, 3);
    assert_int_equal(res.rejected, 0);
    assert_int_equal(res.rows.table, IG_TABLE_LOGS);
    assert_int_equal(res.rows.n, 3);
    assert_int_equal(res.bytes, strlen("first line") + strlen("second\tline") + 8 + 12 + 4 + 2 +
                                    strlen("third"));
    const ig_log_row *r = res.rows.u.logs;
    static const char *const L1[] = {"env", "prod", "job", "app", "service_name", "api", NULL};
    static const char *const L2[] = {"job", "db", NULL};
    assert_str(r[0].id.tenant_id, "tenant-a");
    assert_str(r[0].id.account_id, "acct-1");
    assert_str(r[0].id.service_name, "api");
    assert_true(r[0].timestamp_us == 1699999999123456LL);
    assert_false(r[0].has_observed);
    assert_true(r[0].ingested_us == NOW_US);
    assert_false(r[0].has_severity_number);
    assert_null(r[0].severity_text.ptr);
    assert_false(r[0].has_trace_id);
    assert_null(r[0].scope_name.ptr);
    assert_int_equal(r[0].scope_attributes.n, 0);
    assert_str(r[0].source, "loki");
    assert_str(r[0].body, "first line");
    assert_attrs(r[0].resource_attributes, L1);
    assert_attrs(r[0].attributes, NULL);
    /* same µs as the first entry: kept in request order */
    assert_true(r[1].timestamp_us == 1699999999123456LL);
    assert_str(r[1].body, "second\tline");
    assert_attrs(r[1].attributes, SM1);
    assert_str(r[2].id.service_name, NULL);
    assert_attrs(r[2].resource_attributes, L2);
    assert_str(r[2].body, "third");
}

static void test_json_and_protobuf_identical(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    const char *json =
        "{\"streams\":[{\"stream\":{\"job\":\"app\",\"env\":\"prod\"},"
        "\"values\":[[\"1699999999000000001\",\"a\"],"
        "[\"1699999999000001000\",\"b\",{\"trace_id\":\"0242ac120002\",\"user\":\"u1\"}]]},"
        "{\"stream\":{\"service_name\":\"svc\",\"quote\":\"say \\\"hi\\\"\"},"
        "\"values\":[[\"1699999998999999999\",\"\\u00e9t\\u00e9\"]]}]}";
    ig_loki_push_result rj, rp;
    assert_int_equal(decode(json, &o, &rj), 0);
    assert_int_equal(rj.http_status, 204);
    assert_int_equal(rj.rows.n, 3);

    pbreq p;
    pbreq_init(&p);
    pb_stream_begin(&p, "{job=\"app\", env=\"prod\"}");
    pb_entry(&p, 1699999999000000001LL, "a", NULL);
    pb_entry(&p, 1699999999000001000LL, "b", SM1);
    pb_stream_end(&p);
    pb_stream_begin(&p, "{quote=\"say \\\"hi\\\"\",service_name=\"svc\"}");
    pb_entry(&p, 1699999998999999999LL, "\xc3\xa9t\xc3\xa9", NULL);
    pb_stream_end(&p);
    ig_str body = pbreq_finish(&p);
    ig_errbuf eb;
    assert_int_equal(ig_loki_push_decode(body, true, &o, &rp, &eb), 0);
    assert_int_equal(rp.http_status, 204);
    assert_rows_eq(&rj.rows, &rp.rows);
    assert_int_equal(rj.bytes, rp.bytes);
    assert_true(rp.rows.u.logs[2].timestamp_us == 1699999998999999LL);
    assert_str(rp.rows.u.logs[2].id.service_name, "svc");
    static const char *const L[] = {"quote", "say \"hi\"", "service_name", "svc", NULL};
    assert_attrs(rp.rows.u.logs[2].resource_attributes, L);
}

static void test_protobuf_labels_escapes_spaces(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    pbreq p;
    pbreq_init(&p);
    pb_stream_begin(&p, "  {  path = \"C:\\\\logs\\\\app.log\" ,\n"
                        "msg='it\\'s' , empty=\"\", uni=\"\\u00e9\" , }  ");
    pb_entry(&p, NOW_NS - 5, "x", NULL);
    pb_stream_end(&p);
    ig_loki_push_result res;
    ig_errbuf eb;
    assert_int_equal(ig_loki_push_decode(pbreq_finish(&p), true, &o, &res, &eb), 0);
    assert_int_equal(res.rows.n, 1);
    static const char *const L[] = {"msg", "it's",     "path", "C:\\logs\\app.log",
                                    "uni", "\xc3\xa9", NULL};
    assert_attrs(res.rows.u.logs[0].resource_attributes, L);
    assert_true(res.rows.u.logs[0].timestamp_us == NOW_US - 1); /* floor of ns */
}

static void test_label_errors(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    ig_errbuf eb;
    /* a label string that does not parse rejects the whole request */
    pbreq p;
    pbreq_init(&p);
    pb_stream_begin(&p, "{job=\"ok\"}");
    pb_entry(&p, NOW_NS, "fine", NULL);
    pb_stream_end(&p);
    pb_stream_begin(&p, "{job=app}");
    pb_stream_end(&p); /* even without entries, as Loki parses every stream's labels */
    assert_int_equal(ig_loki_push_decode(pbreq_finish(&p), true, &o, &res, &eb), IG_EINVAL);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(res.rows.n, 0);
    assert_error(&res, "couldn't parse labels: 1:6: parse error: unexpected identifier \"app\" in "
                       "label set, expected string");
    assert_string_equal(eb.msg, res.error.ptr);

    /* JSON label names that are not Prometheus names fail the same way in Loki */
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"k8s.pod\":\"x\"},\"values\":[]}]}", &o, &res),
        IG_EINVAL);
    assert_error(&res, "couldn't parse labels: 1:5: parse error: unexpected character inside "
                       "braces: '.'");
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"\":\"x\"},\"values\":[]}]}", &o, &res),
                     IG_EINVAL);
    assert_error(&res, "couldn't parse labels: 1:2: parse error: unexpected \"=\" in label set, "
                       "expected identifier or \"}\"");

    /* a key that splices into Loki's label string is read the way Loki reads it */
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"a=\\\"1\\\", b\":\"x\"},"
                            "\"values\":[[\"1699999999000000000\",\"x\"]]}]}",
                            &o, &res),
                     0);
    static const char *const SPLICED[] = {"a", "1", "b", "x", NULL};
    assert_attrs(res.rows.u.logs[0].resource_attributes, SPLICED);

    /* no labels: that stream is rejected, the others stored, answer 400 */
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{},\"values\":[[\"1699999999000000000\",\"x\"]]},"
               "{\"stream\":{\"a\":\"\"},\"values\":[[\"1699999999000000000\",\"y\"]]},"
               "{\"stream\":{\"a\":\"b\"},\"values\":[[\"1699999999000000000\",\"z\"]]}]}",
               &o, &res),
        0);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(res.accepted, 1);
    assert_int_equal(res.rejected, 2);
    assert_str(res.rows.u.logs[0].body, "z");
    assert_error(&res, "2 errors like: error at least one label pair is required per stream");

    /* duplicate label names (protobuf only: a JSON object keeps the last) */
    pbreq_init(&p);
    pb_stream_begin(&p, "{a=\"1\", b=\"x\", a=\"2\"}");
    pb_entry(&p, NOW_NS, "dup", NULL);
    pb_stream_end(&p);
    assert_int_equal(ig_loki_push_decode(pbreq_finish(&p), true, &o, &res, &eb), 0);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(res.accepted, 0);
    assert_error(&res, "stream '{a=\"1\", a=\"2\", b=\"x\"}' has duplicate label name: 'a'");
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"a\":\"1\",\"a\":\"2\"},"
                            "\"values\":[[\"1699999999000000000\",\"x\"]]}]}",
                            &o, &res),
                     0);
    assert_int_equal(res.http_status, 204);
    static const char *const L[] = {"a", "2", NULL};
    assert_attrs(res.rows.u.logs[0].resource_attributes, L);

    /* name and value length limits */
    o.max_label_name_length = 3;
    o.max_label_value_length = 4;
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"abcd\":\"1\"},\"values\":[[\"1\",\"x\"]]},"
               "{\"stream\":{\"abc\":\"12345\"},\"values\":[[\"1\",\"x\"]]}]}",
               &o, &res),
        0);
    assert_int_equal(res.http_status, 400);
    assert_error(&res, "1 errors like: stream '{abcd=\"1\"}' has label name too long: 'abcd'; "
                       "1 errors like: stream '{abc=\"12345\"}' has label value too long: '12345'");
}

static void test_too_many_labels(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    char body[2048], labels[1024];
    size_t n = 0;
    labels[0] = 0;
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(labels + n, sizeof labels - n, "%s\"l%02d\":\"v\"", i ? "," : "", i);
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{%s},\"values\":[[\"1699999999000000000\",\"x\"]]}]}",
             labels);
    assert_int_equal(decode(body, &o, &res), 0);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(res.accepted, 0);
    assert_int_equal(res.rejected, 1);
    assert_error(&res,
                 "entry for stream '{l00=\"v\", l01=\"v\", l02=\"v\", l03=\"v\", l04=\"v\", "
                 "l05=\"v\", l06=\"v\", l07=\"v\", l08=\"v\", l09=\"v\", l10=\"v\", l11=\"v\", "
                 "l12=\"v\", l13=\"v\", l14=\"v\", l15=\"v\"}' has 16 label names; limit 15");
    /* 15 labels plus service_name: service_name is not counted, as in Loki */
    n = 0;
    for (int i = 0; i < 15; i++)
        n += (size_t)snprintf(labels + n, sizeof labels - n, "\"l%02d\":\"v\",", i);
    snprintf(labels + n, sizeof labels - n, "\"service_name\":\"s\"");
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{%s},\"values\":[[\"1699999999000000000\",\"x\"]]}]}",
             labels);
    assert_int_equal(decode(body, &o, &res), 0);
    assert_int_equal(res.http_status, 204);
    assert_int_equal(res.rows.u.logs[0].resource_attributes.n, 16);
    assert_str(res.rows.u.logs[0].id.service_name, "s");
    /* a tenant limit */
    o.max_labels_per_stream = 2;
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"},"
                            "\"values\":[[\"1699999999000000000\",\"x\"]]}]}",
                            &o, &res),
                     0);
    assert_error(&res, "entry for stream '{a=\"1\", b=\"2\", c=\"3\"}' has 3 label names; limit 2");
}

static void test_invalid_timestamps(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    static const struct {
        const char *ts;
        const char *err;
    } cases[] = {
        {"\"abc\"", "streams[0].values[0]: invalid timestamp \"abc\": expected an integer number "
                    "of Unix epoch nanoseconds"},
        {"\"\"", "streams[0].values[0]: invalid timestamp \"\": expected an integer number of "
                 "Unix epoch nanoseconds"},
        {"\"01\"", "streams[0].values[0]: invalid timestamp \"01\": expected an integer number "
                   "of Unix epoch nanoseconds"},
        {"\"1.5\"", "streams[0].values[0]: invalid timestamp \"1.5\": expected an integer "
                    "number of Unix epoch nanoseconds"},
        {"\"+1\"", "streams[0].values[0]: invalid timestamp \"+1\": expected an integer number "
                   "of Unix epoch nanoseconds"},
        {"\"2023-11-14T22:13:20Z\"", "streams[0].values[0]: invalid timestamp "
                                     "\"2023-11-14T22:13:20Z\": expected an integer number of "
                                     "Unix epoch nanoseconds"},
        {"\"9223372036854775808\"", "streams[0].values[0]: invalid timestamp "
                                    "\"9223372036854775808\": Value is number, but overflowed "
                                    "while parsing"},
        {"\"\\u0031\"", "streams[0].values[0]: invalid timestamp \"1\": expected an integer "
                        "number of Unix epoch nanoseconds"},
        {"1699999999000000000", "streams[0].values[0]: timestamp must be a string of Unix epoch "
                                "nanoseconds, got number"},
        {"null", "streams[0].values[0]: timestamp must be a string of Unix epoch nanoseconds, "
                 "got null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[%s,\"x\"]]}]}", cases[i].ts);
        assert_int_equal(decode(body, &o, &res), IG_ECORRUPT);
        assert_int_equal(res.http_status, 400);
        assert_int_equal(res.rows.n, 0);
        assert_error(&res, cases[i].err);
    }
    /* entry arrays: 2 or 3 elements, line a string, SM an object of strings */
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\"]]}]}", &o, &res),
        IG_ECORRUPT);
    assert_error(&res, "streams[0].values[0]: error reading entry: array must have at least 2 "
                       "and up to 3 values");
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"x\",{},1]]}]}", &o,
               &res),
        IG_ECORRUPT);
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",5]]}]}", &o, &res),
        IG_ECORRUPT);
    assert_error(&res, "streams[0].values[0]: line must be a string, got number");
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"x\",{\"k\":1}]]}]}",
               &o, &res),
        IG_ECORRUPT);
    assert_error(&res,
                 "streams[0].values[0]: structured metadata \"k\" must be a string, got number");
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"x\",[]]]}]}", &o,
               &res),
        IG_ECORRUPT);
    assert_error(&res, "streams[0].values[0]: structured metadata must be an object, got array");

    /* protobuf: nanos out of range rejects the request; a missing timestamp is Go's zero
     * time, rejected as too old */
    pbreq p;
    pbreq_init(&p);
    pb_stream_begin(&p, "{a=\"b\"}");
    pb_put_begin(&p.w, 2);
    pb_put_begin(&p.w, 1);
    pb_put_int64(&p.w, 1, 1700000000);
    pb_put_int64(&p.w, 2, 1000000000);
    pb_put_end(&p.w);
    pb_put_end(&p.w);
    pb_stream_end(&p);
    ig_errbuf eb;
    assert_int_equal(ig_loki_push_decode(pbreq_finish(&p), true, &o, &res, &eb), IG_ECORRUPT);
    assert_error(&res,
                 "timestamp: seconds:1700000000 nanos:1000000000: nanos not in range [0, 1e9)");
    pbreq_init(&p);
    pb_stream_begin(&p, "{a=\"b\"}");
    pb_put_begin(&p.w, 2);
    pb_put_bytes(&p.w, 2, IG_STR("no time"));
    pb_put_end(&p.w);
    pb_stream_end(&p);
    assert_int_equal(ig_loki_push_decode(pbreq_finish(&p), true, &o, &res, &eb), 0);
    assert_int_equal(res.http_status, 400);
    assert_error(&res, "entry for stream '{a=\"b\"}' has timestamp too old: 0001-01-01T00:00:00Z, "
                       "oldest acceptable timestamp is: 1970-01-01T00:00:00Z");
}

static void test_time_window(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    /* default: anything from 1970 to now + 10 min */
    char body[512];
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"0\",\"epoch\"],"
             "[\"%" PRId64 "\",\"edge\"],[\"%" PRId64 "\",\"future\"],[\"-1\",\"before\"]]}]}",
             (int64_t)(NOW_NS + 600000000000LL), (int64_t)(NOW_NS + 600000000001LL));
    assert_int_equal(decode(body, &o, &res), 0);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(res.accepted, 2);
    assert_int_equal(res.rejected, 2);
    assert_str(res.rows.u.logs[0].body, "epoch");
    assert_true(res.rows.u.logs[0].timestamp_us == 0);
    assert_str(res.rows.u.logs[1].body, "edge");
    assert_error(&res, "1 errors like: entry for stream '{a=\"b\"}' has timestamp too new: "
                       "2023-11-14T22:23:20Z; 1 errors like: entry for stream '{a=\"b\"}' has "
                       "timestamp too old: 1969-12-31T23:59:59Z, oldest acceptable timestamp is: "
                       "1970-01-01T00:00:00Z");
    /* tenant limits: reject_old_samples_max_age 1h, grace 1s */
    o.max_age_ns = 3600LL * 1000000000LL;
    o.max_future_ns = 1000000000LL;
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"%" PRId64 "\",\"old\"],"
             "[\"%" PRId64 "\",\"new\"],[\"%" PRId64 "\",\"ok\"]]}]}",
             (int64_t)(NOW_NS - 3601000000000LL), (int64_t)(NOW_NS + 2000000000LL), NOW_NS);
    assert_int_equal(decode(body, &o, &res), 0);
    assert_int_equal(res.accepted, 1);
    assert_str(res.rows.u.logs[0].body, "ok");
    assert_error(&res,
                 "1 errors like: entry for stream '{a=\"b\"}' has timestamp too old: "
                 "2023-11-14T21:13:19Z, oldest acceptable timestamp is: 2023-11-14T21:13:20Z; "
                 "1 errors like: entry for stream '{a=\"b\"}' has timestamp too new: "
                 "2023-11-14T22:13:22Z");
    /* no future limit */
    o.max_future_ns = INT64_MAX;
    o.max_age_ns = 0;
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
                            "[[\"9223372036854775807\",\"far\"]]}]}",
                            &o, &res),
                     0);
    assert_int_equal(res.http_status, 204);
    assert_true(res.rows.u.logs[0].timestamp_us == 9223372036854775LL);
}

static void test_line_too_long_partial(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    o.max_line_size = 10;
    ig_loki_push_result res;
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"job\":\"app\"},\"values\":["
                            "[\"1699999999000000000\",\"short\"],"
                            "[\"1699999999000000001\",\"this line is too long\"],"
                            "[\"1699999999000000002\",\"0123456789\"],"
                            "[\"1699999999000000003\",\"this one is also too long\"]]}]}",
                            &o, &res),
                     0);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(res.accepted, 2);
    assert_int_equal(res.rejected, 2);
    assert_str(res.rows.u.logs[0].body, "short");
    assert_str(res.rows.u.logs[1].body, "0123456789");
    assert_int_equal(res.bytes, 15);
    /* two different lengths: two groups */
    assert_error(&res,
                 "1 errors like: Max entry size '10' bytes exceeded for stream '{job=\"app\"}' "
                 "while adding an entry with length '21' bytes; 1 errors like: Max entry "
                 "size '10' bytes exceeded for stream '{job=\"app\"}' while adding an entry "
                 "with length '25' bytes");
    /* the same message twice is counted */
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"job\":\"app\"},\"values\":["
                            "[\"1699999999000000001\",\"this line is too long\"],"
                            "[\"1699999999000000002\",\"this line is too long\"]]}]}",
                            &o, &res),
                     0);
    assert_int_equal(res.accepted, 0);
    assert_error(&res,
                 "2 errors like: Max entry size '10' bytes exceeded for stream '{job=\"app\"}' "
                 "while adding an entry with length '21' bytes");
    /* 0 = no limit */
    o.max_line_size = 0;
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"job\":\"app\"},\"values\":["
                            "[\"1699999999000000001\",\"this line is too long\"]]}]}",
                            &o, &res),
                     0);
    assert_int_equal(res.http_status, 204);
}

static void test_structured_metadata(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    /* names normalised as Loki's distributor does; escapes decoded; last duplicate wins */
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1699999999000000000\","
               "\"x\",{\"trace.id\":\"t1\",\"msg\":\"a\\nb\",\"1st\":\"y\","
               "\"trace_id\":\"t2\"}]]}]}",
               &o, &res),
        0);
    assert_int_equal(res.http_status, 204);
    static const char *const SM[] = {"msg", "a\nb", "key_1st", "y", "trace_id", "t2", NULL};
    assert_attrs(res.rows.u.logs[0].attributes, SM);
    /* invalid UTF-8 and U+FFFD are removed from values (protobuf carries raw bytes) */
    pbreq p;
    pbreq_init(&p);
    pb_stream_begin(&p, "{a=\"b\"}");
    static const char *const BAD[] = {"k",
                                      "a\xff"
                                      "b\xef\xbf\xbd"
                                      "c\xc3\xa9",
                                      NULL};
    pb_entry(&p, NOW_NS, "line \xff kept", BAD);
    pb_stream_end(&p);
    ig_errbuf eb;
    assert_int_equal(ig_loki_push_decode(pbreq_finish(&p), true, &o, &res, &eb), 0);
    static const char *const CLEAN[] = {"k", "abc\xc3\xa9", NULL};
    assert_attrs(res.rows.u.logs[0].attributes, CLEAN);
    /* the line itself keeps its bytes, each invalid one as U+FFFD (valid UTF-8 in Parquet) */
    assert_str(res.rows.u.logs[0].body, "line \xef\xbf\xbd kept");
    /* an empty SM name fails the request (Loki: 500; here 400, a client error) */
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1699999999000000000\","
               "\"x\",{\"\":\"v\"}]]}]}",
               &o, &res),
        IG_EINVAL);
    assert_int_equal(res.http_status, 400);
    assert_error(&res, "label name is empty");
    /* size and count limits */
    o.max_sm_bytes = 5;
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1699999999000000000\","
               "\"x\",{\"key\":\"val\"}],[\"1699999999000000000\",\"y\",{\"k\":\"v\"}]]}]}",
               &o, &res),
        0);
    assert_int_equal(res.accepted, 1);
    assert_str(res.rows.u.logs[0].body, "y");
    assert_error(&res,
                 "stream '{a=\"b\"}' has structured metadata too large: '6' bytes, limit: '5' "
                 "bytes. Please see `limits_config.max_structured_metadata_size` or contact "
                 "your Loki administrator to increase it");
    o.max_sm_bytes = 0;
    o.max_sm_entries = 1;
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1699999999000000000\","
               "\"x\",{\"k\":\"v\",\"l\":\"w\"}]]}]}",
               &o, &res),
        0);
    assert_error(&res, "stream '{a=\"b\"}' has too many structured metadata labels: '2', limit: "
                       "'1'. Please see `limits_config.max_structured_metadata_entries_count` or "
                       "contact your Loki administrator to increase it");
}

static void test_snappy_garbage_and_cap(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    ig_errbuf eb;
    assert_int_equal(ig_loki_push_decode(S("\xff\xff\xff\xff\xff\xff"), true, &o, &res, &eb),
                     IG_ECORRUPT);
    assert_int_equal(res.http_status, 400);
    assert_error(&res, "snappy: corrupt input");
    assert_string_equal(eb.msg, "snappy: corrupt input");
    assert_int_equal(ig_loki_push_decode(S(""), true, &o, &res, &eb), IG_ECORRUPT);
    assert_error(&res, "snappy: corrupt input");
    /* valid length header, truncated data */
    assert_int_equal(ig_loki_push_decode(S("\x0a\x24\x0a"), true, &o, &res, &eb), IG_ECORRUPT);
    /* an uncompressed protobuf body is not snappy */
    assert_int_equal(ig_loki_push_decode(S("\x0a\x05\x0a\x03{}"), true, &o, &res, &eb),
                     IG_ECORRUPT);

    /* decompression cap: checked on the announced length before decompressing */
    static char big[1 << 20];
    memset(big, 'a', sizeof big);
    ig_str z = snappy_of(big, sizeof big);
    assert_true(z.len < 100000);
    o.max_decompressed_bytes = 1000;
    assert_int_equal(ig_loki_push_decode(z, true, &o, &res, &eb), IG_ETOOBIG);
    assert_int_equal(res.http_status, 413);
    assert_error(&res, "request body too large: decompressed message size too large than max "
                       "(1048576 vs 1000)");
    /* valid snappy, malformed protobuf inside */
    o.max_decompressed_bytes = 0;
    assert_int_equal(ig_loki_push_decode(z, true, &o, &res, &eb), IG_ECORRUPT);
    assert_int_equal(res.http_status, 400);
    assert_true(strncmp(res.error.ptr, "protobuf: ", 10) == 0);
    /* wrong wire type for a known field */
    static const char wrong[] = "\x0a\x02\x08\x01"; /* stream { labels: varint 1 } */
    assert_int_equal(ig_loki_push_decode(snappy_of(wrong, 4), true, &o, &res, &eb), IG_ECORRUPT);
    assert_int_equal(res.http_status, 400);
}

static void test_empty_requests(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    ig_errbuf eb;
    assert_int_equal(decode("{\"streams\":[]}", &o, &res), IG_EINVAL);
    assert_int_equal(res.http_status, 422);
    assert_error(&res, "error at least one valid stream is required for ingestion");
    assert_int_equal(decode("{}", &o, &res), IG_EINVAL);
    assert_int_equal(res.http_status, 422);
    assert_int_equal(decode("{\"streams\":null}", &o, &res), IG_EINVAL);
    assert_int_equal(res.http_status, 422);
    /* streams without entries: accepted, nothing stored (their labels are not validated) */
    assert_int_equal(decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[]},"
                            "{\"stream\":{},\"values\":null},{\"values\":[null]},null]}",
                            &o, &res),
                     0);
    assert_int_equal(res.http_status, 204);
    assert_int_equal(res.streams, 4);
    assert_int_equal(res.rows.n, 0);
    assert_null(res.rows.u.logs);
    /* empty or malformed bodies */
    assert_int_equal(decode("", &o, &res), IG_ECORRUPT);
    assert_int_equal(res.http_status, 400);
    assert_error(&res, "EOF");
    assert_int_equal(decode("[]", &o, &res), IG_ECORRUPT);
    assert_error(&res, "json: expected object, got array at byte 0");
    assert_int_equal(
        decode("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"x\"]]}", &o, &res),
        IG_ECORRUPT);
    assert_int_equal(res.http_status, 400);
    assert_int_equal(res.rows.n, 0);
    assert_int_equal(decode("{\"streams\":[]} x", &o, &res), IG_ECORRUPT);
    assert_int_equal(decode("{\"streams\":[],}", &o, &res), IG_ECORRUPT);
    /* protobuf: empty PushRequest */
    assert_int_equal(ig_loki_push_decode(snappy_of("", 0), true, &o, &res, &eb), IG_EINVAL);
    assert_int_equal(res.http_status, 422);
    /* unknown fields are ignored, as is the format field */
    assert_int_equal(
        decode("{\"extra\":{\"x\":[1,2]},\"streams\":[{\"x\":1,\"stream\":{\"a\":\"b\"},"
               "\"values\":[[\"1699999999000000000\",\"x\"]]}]}",
               &o, &res),
        0);
    assert_int_equal(res.rows.n, 1);
}

static void test_thousands_of_streams(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_buf b;
    ig_buf_init(&b, 0);
    pbreq p;
    pbreq_init(&p);
    enum { NS = 5000, NE = 3 };
    ig_buf_append_cstr(&b, "{\"streams\":[");
    for (int s = 0; s < NS; s++) {
        char lbl[64];
        snprintf(lbl, sizeof lbl, "{pod=\"pod-%05d\", job=\"app\"}", s);
        pb_stream_begin(&p, lbl);
        ig_buf_printf(&b, "%s{\"stream\":{\"pod\":\"pod-%05d\",\"job\":\"app\"},\"values\":[",
                      s ? "," : "", s);
        for (int e = 0; e < NE; e++) {
            int64_t ns = NOW_NS - 1000000000LL + s * 1000LL + e;
            char line[64];
            snprintf(line, sizeof line, "stream %d entry %d", s, e);
            ig_buf_printf(&b, "%s[\"%" PRId64 "\",\"%s\"]", e ? "," : "", ns, line);
            pb_entry(&p, ns, line, NULL);
        }
        ig_buf_append_cstr(&b, "]}");
        pb_stream_end(&p);
    }
    ig_buf_append_cstr(&b, "]}");
    ig_loki_push_result rj, rp;
    ig_errbuf eb;
    assert_int_equal(ig_loki_push_decode(ig_buf_str(&b), false, &o, &rj, &eb), 0);
    assert_int_equal(rj.http_status, 204);
    assert_int_equal(rj.streams, NS);
    assert_int_equal(rj.rows.n, NS * NE);
    for (size_t i = 0; i < rj.rows.n; i += 997) {
        char line[64];
        snprintf(line, sizeof line, "stream %zu entry %zu", i / NE, i % NE);
        assert_str(rj.rows.u.logs[i].body, line);
        assert_str(rj.rows.u.logs[i].resource_attributes.items[1].key, "pod");
    }
    assert_int_equal(ig_loki_push_decode(pbreq_finish(&p), true, &o, &rp, &eb), 0);
    assert_rows_eq(&rj.rows, &rp.rows);
    ig_buf_free(&b);

    /* max_entries bounds a request */
    o.max_entries = 100;
    assert_int_equal(ig_loki_push_decode(S("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":["
                                           "[\"1\",\"x\"],[\"2\",\"x\"]]}]}"),
                                         false, &o, &rp, &eb),
                     0);
    o.max_entries = 1;
    assert_int_equal(ig_loki_push_decode(S("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":["
                                           "[\"1\",\"x\"],[\"2\",\"x\"]]}]}"),
                                         false, &o, &rp, &eb),
                     IG_ETOOBIG);
    assert_int_equal(rp.http_status, 413);
}

/* pino-loki (JSON, labels from the logger, nanosecond strings, the pino JSON line as the
 * line; structured metadata as the third element when configured). */
static void test_pino_loki_payload(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    const char *body =
        "{\"streams\":[{\"stream\":{\"level\":\"info\",\"application\":\"my-app\","
        "\"hostname\":\"web-1\"},\"values\":[[\"1699999999123000000\","
        "\"{\\\"level\\\":30,\\\"time\\\":1699999999123,\\\"pid\\\":42,\\\"hostname\\\":\\\"web-"
        "1\\\","
        "\\\"msg\\\":\\\"hello world\\\"}\"],[\"1699999999124000000\","
        "\"{\\\"level\\\":30,\\\"msg\\\":\\\"with "
        "meta\\\"}\",{\"traceId\":\"abc\",\"spanId\":\"def\"}]]},"
        "{\"stream\":{\"level\":\"error\",\"application\":\"my-app\",\"hostname\":\"web-1\"},"
        "\"values\":[[\"1699999999125000000\",\"{\\\"level\\\":50,\\\"err\\\":{\\\"stack\\\":"
        "\\\"Error: boom\\\\n    at main (/app/index.js:1:1)\\\"},\\\"msg\\\":\\\"boom\\\"}\"]]}]}";
    assert_int_equal(decode(body, &o, &res), 0);
    assert_int_equal(res.http_status, 204);
    assert_int_equal(res.rows.n, 3);
    static const char *const L[] = {"application", "my-app", "hostname", "web-1",
                                    "level",       "info",   NULL};
    assert_attrs(res.rows.u.logs[0].resource_attributes, L);
    assert_str(res.rows.u.logs[0].body, "{\"level\":30,\"time\":1699999999123,\"pid\":42,"
                                        "\"hostname\":\"web-1\",\"msg\":\"hello world\"}");
    assert_true(res.rows.u.logs[0].timestamp_us == 1699999999123000LL);
    static const char *const SM[] = {"traceId", "abc", "spanId", "def", NULL};
    assert_attrs(res.rows.u.logs[1].attributes, SM);
    assert_str(res.rows.u.logs[2].body, "{\"level\":50,\"err\":{\"stack\":\"Error: boom\\n    at "
                                        "main (/app/index.js:1:1)\"},\"msg\":\"boom\"}");
    assert_null(res.rows.u.logs[2].id.service_name.ptr);
}

/* winston-loki: JSON mode (labels incl. level, values as ns strings) and protobuf mode
 * (labels as a Prometheus string without spaces, Timestamp{seconds,nanos}, snappy). */
static void test_winston_loki_payloads(void **state)
{
    (void)state;
    ig_loki_push_opts o = opts();
    ig_loki_push_result rj, rp;
    const char *json = "{\"streams\":[{\"stream\":{\"job\":\"winston\",\"level\":\"info\"},"
                       "\"values\":[[\"1699999999500000000\",\"server started on port 3000\"],"
                       "[\"1699999999600000000\",\"GET /health 200\"]]}]}";
    assert_int_equal(decode(json, &o, &rj), 0);
    assert_int_equal(rj.http_status, 204);
    pbreq p;
    pbreq_init(&p);
    pb_stream_begin(&p, "{job=\"winston\",level=\"info\"}");
    pb_entry(&p, 1699999999500000000LL, "server started on port 3000", NULL);
    pb_entry(&p, 1699999999600000000LL, "GET /health 200", NULL);
    pb_put_end(&p.w); /* no hash field */
    ig_errbuf eb;
    assert_int_equal(ig_loki_push_decode(pbreq_finish(&p), true, &o, &rp, &eb), 0);
    assert_int_equal(rp.http_status, 204);
    assert_rows_eq(&rj.rows, &rp.rows);
    assert_true(rp.rows.u.logs[1].timestamp_us == 1699999999600000LL);
}

static void test_arena_cap_and_alloc_failures(void **state)
{
    (void)state;
    const char *body = "{\"streams\":[{\"stream\":{\"job\":\"a\\nb\",\"x\":\"y\"},\"values\":["
                       "[\"1699999999000000000\",\"l\\u00e9\",{\"a.b\":\"c\"}],"
                       "[\"1699999999000000001\",\"m\"]]},"
                       "{\"stream\":{\"job\":\"b\"},\"values\":[[\"1\",\"z\"]]}]}";
    ig_loki_push_opts o = opts();
    ig_loki_push_result res;
    ig_errbuf eb;
    /* a tiny arena: 500, no rows, no crash */
    ig_arena small;
    ig_arena_init(&small, 512);
    o.arena = &small;
    assert_int_equal(ig_loki_push_decode(ig_str_from(body), false, &o, &res, &eb), IG_ENOMEM);
    assert_int_equal(res.http_status, 500);
    assert_int_equal(res.rows.n, 0);
    ig_arena_free(&small);

    /* every allocation failing in turn: either success or a clean IG_ENOMEM */
    pbreq p;
    pbreq_init(&p);
    pb_stream_begin(&p, "{job=\"a\\nb\", x=\"y\"}");
    pb_entry(&p, 1699999999000000000LL, "l", SM1);
    pb_entry(&p, 1699999999000000001LL, "m", NULL);
    pb_stream_end(&p);
    ig_str pbody = pbreq_finish(&p);
    for (int fmt = 0; fmt < 2; fmt++) {
        bool ok = false;
        for (long after = 0; after < 400 && !ok; after++) {
            ig_arena a2;
            ig_arena_init(&a2, 1 << 20);
            o.arena = &a2;
            ig_alloc_fail_after(after);
            int rc = fmt ? ig_loki_push_decode(pbody, true, &o, &res, &eb)
                         : ig_loki_push_decode(ig_str_from(body), false, &o, &res, &eb);
            ig_alloc_fail_reset();
            if (rc == 0) {
                ok = true;
                assert_int_equal(res.rows.n, fmt ? 2 : 3);
            } else {
                assert_int_equal(rc, IG_ENOMEM);
                assert_int_equal(res.rows.n, 0);
            }
            ig_arena_free(&a2);
        }
        assert_true(ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_basic_mapping, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_json_and_protobuf_identical, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_protobuf_labels_escapes_spaces, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_label_errors, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_too_many_labels, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_invalid_timestamps, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_time_window, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_line_too_long_partial, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_structured_metadata, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_snappy_garbage_and_cap, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_empty_requests, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_thousands_of_streams, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_pino_loki_payload, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_winston_loki_payloads, setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_arena_cap_and_alloc_failures, setup_each,
                                        teardown_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
