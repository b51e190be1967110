/* Metric evaluation (src/query/metric.c) over an in-memory source with a stand-in
 * pipeline: stream labels merged with structured metadata, `|=` line filters and
 * `unwrap <label>`; everything else in the pipeline is pipeline.c's business and is
 * tested there. Values are exact. The stand-in lq_pipeline_new/lq_pipeline_run defined
 * here take the place of pipeline.c's in this binary (the linker pulls nothing else
 * from that archive member). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/logql.h"
#include "icegate/logql_eval.h"

#define S 1000000000LL

/* ---- stand-in pipeline ---- */
struct lq_pipeline {
    const logql_log *log;
};

int lq_pipeline_new(const logql_log *log, ig_arena *a, lq_pipeline **out, ig_errbuf *eb)
{
    for (size_t i = 0; i < log->n_stages; i++)
        if (log->stages[i].kind != LOGQL_STAGE_LINE_FILTER ||
            log->stages[i].line_op != LOGQL_LINE_CONTAINS)
            return ig_err(eb, IG_EUNSUPPORTED, "test pipeline: stage not supported");
    *out = ig_arena_zalloc(a, sizeof(**out));
    (*out)->log = log;
    return 0;
}

static bool has_sub(ig_str h, ig_str n)
{
    if (n.len == 0)
        return true;
    for (size_t i = 0; i + n.len <= h.len; i++)
        if (memcmp(h.ptr + i, n.ptr, n.len) == 0)
            return true;
    return false;
}

bool lq_pipeline_run(lq_pipeline *p, const lq_entry *in, ig_arena *scratch, lq_out *out)
{
    for (size_t i = 0; i < p->log->n_stages; i++) {
        const logql_stage *st = &p->log->stages[i];
        bool any = false;
        for (size_t k = 0; k < st->n_operands; k++)
            any |= has_sub(in->line, st->operands[k].value);
        if (!any)
            return false;
    }
    size_t n = in->stream.n + in->meta.n;
    lq_label *v = ig_arena_alloc(scratch, (n + 1) * sizeof(lq_label));
    size_t m = 0;
    for (size_t i = 0; i < in->stream.n; i++)
        v[m++] = in->stream.v[i];
    for (size_t i = 0; i < in->meta.n; i++)
        v[m++] = in->meta.v[i];
    for (size_t i = 1; i < m; i++) /* insertion sort by name */
        for (size_t j = i; j > 0 && ig_str_cmp(v[j - 1].name, v[j].name) > 0; j--) {
            lq_label t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    out->labels = (lq_labels){v, m};
    if (!p->log->unwrap && ig_str_eq(in->line, IG_STR("x"))) { /* a parse error stand-in */
        lq_label *w = ig_arena_alloc(scratch, (m + 1) * sizeof(lq_label));
        w[0] = (lq_label){IG_STR("__error__"), IG_STR("JSONParserErr")};
        memcpy(w + 1, v, m * sizeof(lq_label));
        out->labels = (lq_labels){w, m + 1};
    }
    out->line = in->line;
    out->has_value = false;
    if (p->log->unwrap) {
        for (size_t i = 0; i < m; i++)
            if (ig_str_eq(v[i].name, p->log->unwrap->label) && v[i].value.len) {
                if (ig_str_to_f64(v[i].value, &out->value) == 0) {
                    out->has_value = true;
                } else { /* conversion error: __error__ set, as Loki does */
                    lq_label *w = ig_arena_alloc(scratch, (m + 1) * sizeof(lq_label));
                    w[0] = (lq_label){IG_STR("__error__"), IG_STR("SampleExtractionErr")};
                    memcpy(w + 1, v, m * sizeof(lq_label));
                    out->labels = (lq_labels){w, m + 1};
                }
            }
    }
    return true;
}

/* ---- in-memory source ---- */
typedef struct mem_entry {
    int64_t ts;
    const char *line;
    const char *stream[6]; /* name, value, ... NULL; sorted by name */
    const char *meta[4];
} mem_entry;

typedef struct mem_src {
    const mem_entry *e;
    size_t n;
    int scans;
} mem_src;

static lq_labels mk_labels(const char *const *kv, lq_label *buf)
{
    size_t n = 0;
    for (; kv[2 * n]; n++)
        buf[n] = (lq_label){ig_str_from(kv[2 * n]), ig_str_from(kv[2 * n + 1])};
    return (lq_labels){buf, n};
}

static int mem_scan(lq_source *s, const logql_log *log, int64_t start, int64_t end, lq_entry_fn fn,
                    void *ctx, ig_errbuf *eb)
{
    mem_src *m = s->ctx;
    m->scans++;
    for (size_t i = m->n; i-- > 0;) { /* backwards: the engine must not rely on order */
        const mem_entry *me = &m->e[i];
        if (me->ts < start || me->ts >= end)
            continue;
        lq_label sb[4], mb[2];
        lq_entry en = {me->ts, ig_str_from(me->line), mk_labels(me->stream, sb),
                       mk_labels(me->meta, mb)};
        bool ok = true;
        for (size_t k = 0; k < log->n_matchers && ok; k++) {
            ig_str v = IG_STR("");
            for (size_t q = 0; q < en.stream.n; q++)
                if (ig_str_eq(en.stream.v[q].name, log->matchers[k].name))
                    v = en.stream.v[q].value;
            bool eq = ig_str_eq(v, log->matchers[k].value);
            ok = log->matchers[k].op == LOGQL_MATCH_EQ ? eq : !eq;
        }
        if (!ok)
            continue;
        int rc = fn(ctx, &en);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- fixture ---- */
static const mem_entry DATA[] = {
/* app=a: "keep" every 10s from 0..120s, "noise" at 5s offsets */
#define K(t)                                                                                       \
    {(t)*S, "keep", {"app", "a", NULL}, {NULL}},                                                   \
    {                                                                                              \
        (t) * S + 5 * S, "noise", {"app", "a", NULL},                                              \
        {                                                                                          \
            NULL                                                                                   \
        }                                                                                          \
    }
    K(0),
    K(10),
    K(20),
    K(30),
    K(40),
    K(50),
    K(60),
    K(70),
    K(80),
    K(90),
    K(100),
    K(110),
    K(120),
#undef K
    /* app=b with pod label and a value in metadata */
    {20 * S, "v", {"app", "b", "pod", "1", NULL}, {"v", "2", NULL}},
    {30 * S, "v", {"app", "b", "pod", "1", NULL}, {"v", "4", NULL}},
    {40 * S, "v", {"app", "b", "pod", "2", NULL}, {"v", "10", NULL}},
    {50 * S, "v", {"app", "b", "pod", "2", NULL}, {"v", "20", NULL}},
    /* app=c: a counter */
    {150 * S, "c", {"app", "c", NULL}, {"c", "600", NULL}},
    {180 * S, "c", {"app", "c", NULL}, {"c", "660", NULL}},
    /* app=d: a value that does not convert */
    {30 * S, "x", {"app", "d", NULL}, {"v", "oops", NULL}},
};

static mem_src g_src;
static lq_source g_source;

typedef struct run {
    ig_arena a;
    lq_result r;
    ig_errbuf eb;
    int rc;
    ig_buf json;
} run;

static void eval(run *x, const char *q, int64_t start, int64_t end, int64_t step)
{
    memset(x, 0, sizeof(*x));
    ig_arena_init(&x->a, 64u << 20);
    ig_buf_init(&x->json, 1u << 20);
    g_src = (mem_src){DATA, sizeof(DATA) / sizeof(DATA[0]), 0};
    g_source = (lq_source){mem_scan, &g_src};
    logql_expr *e;
    x->rc = logql_parse(ig_str_from(q), &x->a, &e, &x->eb);
    if (x->rc) {
        print_error("parse %s: %s\n", q, x->eb.msg);
        return;
    }
    lq_eval_opts o = {start, end, step, step == 0, 0, 0};
    x->rc = lq_eval_metric(e, &g_source, &o, &x->a, &x->r, &x->eb);
    if (x->rc == 0)
        x->rc = lq_result_json(&x->r, &x->json);
}

static void done(run *x)
{
    ig_buf_free(&x->json);
    ig_arena_free(&x->a);
}

/* Evaluates q and compares the JSON data object exactly. */
static void expect_json(const char *q, int64_t start, int64_t end, int64_t step, const char *want)
{
    run x;
    eval(&x, q, start, end, step);
    if (x.rc)
        print_error("%s: rc %d %s\n", q, x.rc, x.eb.msg);
    assert_int_equal(x.rc, 0);
    if (strcmp(x.json.data, want) != 0)
        print_error("%s\n got  %s\n want %s\n", q, x.json.data, want);
    assert_string_equal(x.json.data, want);
    done(&x);
}

static void expect_fail(const char *q, int64_t start, int64_t end, int64_t step, int code,
                        const char *msg)
{
    run x;
    eval(&x, q, start, end, step);
    assert_int_equal(x.rc, code);
    if (!strstr(x.eb.msg, msg))
        print_error("%s: %s\n", q, x.eb.msg);
    assert_non_null(strstr(x.eb.msg, msg));
    done(&x);
}

#define I(t) (t) * S, (t)*S, 0

static void test_count_windows(void **st)
{
    /* (0s,60s]: keep at 10..60 = 6 */
    expect_json("count_over_time({app=\"a\"} |= \"keep\" [1m])", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"a\"},\"value\":[60,"
                "\"6\"]}]}");
    /* lower bound exclusive, upper inclusive: (50,60] holds 60 only */
    expect_json("count_over_time({app=\"a\"} |= \"keep\" [10s])", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"a\"},\"value\":[60,"
                "\"1\"]}]}");
    /* range: steps 100,130 (end 140 is not a step): (40,100]=6 (70,130]=5; the source
     * is scanned once */
    expect_json("count_over_time({app=\"a\"} |= \"keep\" [1m])", 100 * S, 140 * S, 30 * S,
                "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"app\":\"a\"},\"values\":"
                "[[100,\"6\"],[130,\"5\"]]}]}");
    assert_int_equal(g_src.scans, 1);
    /* gaps: no point where the window is empty (steps 115, 130, 145) */
    expect_json("count_over_time({app=\"a\"} |= \"keep\" [10s])", 115 * S, 145 * S, 15 * S,
                "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"app\":\"a\"},\"values\":"
                "[[115,\"1\"]]}]}");
    /* empty */
    expect_json("count_over_time({app=\"zzz\"}[1m])", I(60),
                "{\"resultType\":\"vector\",\"result\":[]}");
    (void)st;
}

static void test_rate_bytes_offset(void **st)
{
    expect_json("rate({app=\"a\"} |= \"keep\" [20s])", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"a\"},\"value\":[60,"
                "\"0.1\"]}]}");
    /* bytes: (30,60] holds keep x3 (12) and noise at 35,45,55 (15) */
    expect_json("bytes_over_time({app=\"a\"}[30s])", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"a\"},\"value\":[60,"
                "\"27\"]}]}");
    expect_json("bytes_rate({app=\"a\"} |= \"keep\" [20s])", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"a\"},\"value\":[60,"
                "\"0.4\"]}]}");
    /* offset 100s at t=120: window (-40,20] -> keep at 0,10,20 */
    expect_json("count_over_time({app=\"a\"} |= \"keep\" [1m] offset 100s)", I(120),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"a\"},\"value\":[120,"
                "\"3\"]}]}");
    (void)st;
}

static void test_unwrap(void **st)
{
    /* the unwrapped label (structured metadata v) is removed from the series */
    expect_json(
        "sum_over_time({app=\"b\"} | unwrap v [1m])", I(60),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"1\"},"
        "\"value\":[60,\"6\"]},{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},\"value\":[60,\"30\"]}]}");
    /* range-level grouping aggregates samples: median of 2,4,10,20 = 7 */
    expect_json("quantile_over_time(0.5, {app=\"b\"} | unwrap v [1m]) by (app)", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\"},\"value\":[60,"
                "\"7\"]}]}");
    expect_json(
        "stddev_over_time({app=\"b\"} | unwrap v [1m]) without (app)", I(60),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"1\"},\"value\":[60,\"1\"]},"
        "{\"metric\":{\"pod\":\"2\"},\"value\":[60,\"5\"]}]}");
    expect_json(
        "first_over_time({app=\"b\"} | unwrap v [1m]) by (pod)", I(60),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"1\"},\"value\":[60,\"2\"]},"
        "{\"metric\":{\"pod\":\"2\"},\"value\":[60,\"10\"]}]}");
    expect_json(
        "avg_over_time({app=\"b\"} | unwrap v [1m]) by (pod)", I(60),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"1\"},\"value\":[60,\"3\"]},"
        "{\"metric\":{\"pod\":\"2\"},\"value\":[60,\"15\"]}]}");
    /* rate_counter with Prometheus extrapolation: (90,240]: 60 x (60/30) / 150 = 0.8 */
    expect_json("rate_counter({app=\"c\"} | unwrap c [150s])", I(240),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"c\"},\"value\":[240,"
                "\"0.8\"]}]}");
    expect_json("rate_counter({app=\"c\"} | unwrap c [90s])", I(180),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"c\"},\"value\":[180,"
                "\"1\"]}]}");
    /* a conversion error fails the query with Loki's pipeline error, also when range
     * grouping would drop __error__ */
    expect_fail("max_over_time({app=\"d\"} | unwrap v [1m]) by (app)", I(60), IG_EINVAL,
                "pipeline error: 'SampleExtractionErr'");
    expect_json("max_over_time({app=\"d\"} | unwrap v [1m]) by (app)", I(120),
                "{\"resultType\":\"vector\",\"result\":[]}");
    expect_fail("sum_over_time({app=\"d\"} | unwrap v [1m])", I(60), IG_EINVAL,
                "pipeline error: 'SampleExtractionErr' for series: "
                "'{__error__=\"SampleExtractionErr\", app=\"d\"}'");
    (void)st;
}

/* Counting functions add samples straight to steps when there are few steps (<= 32);
 * otherwise windows slide over sorted samples. Both give the same points. */
static void test_direct_vs_window(void **st)
{
    const char *qs[] = {
        "count_over_time({app=\"a\"}[25s])", "bytes_rate({app=\"a\"}[1m] offset 7s)",
        "rate({app=\"a\"} |= \"keep\" [10s])", "absent_over_time({app=\"b\"}[15s])"};
    for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
        run d, w;
        eval(&d, qs[q], 0, 155 * S, 5 * S); /* 32 steps: direct */
        eval(&w, qs[q], 0, 160 * S, 5 * S); /* 33 steps: windows */
        assert_int_equal(d.rc, 0);
        assert_int_equal(w.rc, 0);
        assert_int_equal(d.r.n, w.r.n);
        for (size_t i = 0; i < d.r.n; i++) {
            size_t n = 0;
            for (size_t k = 0; k < w.r.series[i].n; k++)
                n += w.r.series[i].pts[k].ts_ns <= 155 * S;
            assert_int_equal(d.r.series[i].n, n);
            for (size_t k = 0; k < n; k++) {
                assert_int_equal(d.r.series[i].pts[k].ts_ns, w.r.series[i].pts[k].ts_ns);
                assert_true(d.r.series[i].pts[k].v == w.r.series[i].pts[k].v);
            }
        }
        done(&d);
        done(&w);
    }
    (void)st;
}

static void test_absent(void **st)
{
    expect_json("absent_over_time({app=\"zzz\"}[1m])", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"zzz\"},\"value\":["
                "60,\"1\"]}]}");
    /* app=b has data in (0,60] only: absent at 120 and 180 */
    expect_json("absent_over_time({app=\"b\"}[1m])", 60 * S, 180 * S, 60 * S,
                "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"app\":\"b\"},\"values\":"
                "[[120,\"1\"],[180,\"1\"]]}]}");
    (void)st;
}

static void test_vector_aggs(void **st)
{
    expect_json("sum by (app) (count_over_time({app=\"b\"}[1m]))", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\"},\"value\":[60,"
                "\"4\"]}]}");
    expect_json("topk(1, max_over_time({app=\"b\"} | unwrap v [1m]))", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},"
                "\"value\":[60,\"20\"]}]}");
    expect_json("bottomk(1, max_over_time({app=\"b\"} | unwrap v [1m]))", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"1\"},"
                "\"value\":[60,\"4\"]}]}");
    /* approx_topk: exact here; instant only, as Loki */
    expect_json("approx_topk(1, max_over_time({app=\"b\"} | unwrap v [1m]))", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},"
                "\"value\":[60,\"20\"]}]}");
    expect_fail("approx_topk(1, count_over_time({app=\"a\"}[1m]))", 0, 60 * S, 30 * S, IG_EINVAL,
                "count min sketches are only supported on instant queries");
    /* population stddev of 4 and 20 = 8; count = 2; avg = 12 */
    expect_json("stddev(max_over_time({app=\"b\"} | unwrap v [1m]))", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[60,\"8\"]}]}");
    expect_json("count(max_over_time({app=\"b\"} | unwrap v [1m])) + avg(max_over_time({app=\"b\"} "
                "| unwrap v [1m]))",
                I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[60,\"14\"]}]}");
    /* sort_desc keeps its order through a scalar operation */
    expect_json("sort_desc(max_over_time({app=\"b\"} | unwrap v [1m])) * 2", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},"
                "\"value\":[60,\"40\"]},"
                "{\"metric\":{\"app\":\"b\",\"pod\":\"1\"},\"value\":[60,\"8\"]}]}");
    (void)st;
}

/* sum by (...) (count_over_time(...)) buckets by the sum's groups directly: same values
 * as aggregating the per-series results, and the same __error__ failures. */
static void test_sum_pushdown(void **st)
{
    expect_json(
        "sum by (pod) (count_over_time({app=\"b\"}[1m]))", I(60),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"1\"},\"value\":[60,\"2\"]},"
        "{\"metric\":{\"pod\":\"2\"},\"value\":[60,\"2\"]}]}");
    expect_json(
        "sum without (v) (bytes_rate({app=\"b\"}[10s]))", 30 * S, 50 * S, 10 * S,
        "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"1\"},"
        "\"values\":[[30,\"0.1\"]]},"
        "{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},\"values\":[[40,\"0.1\"],[50,\"0.1\"]]}]}");
    expect_json("sum(rate({app=\"a\"}[1m]))", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[60,\"0.2\"]}]}");
    /* app=d's only line (t=30s) carries __error__: fails where a window holds it */
    expect_fail("sum by (app) (count_over_time({app=\"d\"}[1m]))", I(60), IG_EINVAL,
                "pipeline error: 'JSONParserErr' for series: '{__error__=\"JSONParserErr\", "
                "app=\"d\", v=\"oops\"}'");
    expect_fail("count_over_time({app=\"d\"}[1m])", I(60), IG_EINVAL,
                "pipeline error: 'JSONParserErr'");
    expect_json("sum by (app) (count_over_time({app=\"d\"}[1m]))", I(120),
                "{\"resultType\":\"vector\",\"result\":[]}");
    /* steps 0, 50, 100 with [10s]: windows (-10,0], (40,50], (90,100] miss t=30 */
    expect_json("sum by (app) (count_over_time({app=\"d\"}[10s]))", 0, 100 * S, 50 * S,
                "{\"resultType\":\"matrix\",\"result\":[]}");
    expect_fail("sum by (app) (count_over_time({app=\"d\"}[10s]))", 0, 100 * S, 35 * S, IG_EINVAL,
                "JSONParserErr"); /* step 35: window (25,35] */
    (void)st;
}

static void test_binary(void **st)
{
    expect_json(
        "vector(1)+vector(1)", I(4000000000LL),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[4000000000,\"2\"]}]}");
    expect_json("1 + 2 * 3", I(10), "{\"resultType\":\"scalar\",\"result\":[10,\"7\"]}");
    expect_json("2 > 1", I(10), "{\"resultType\":\"scalar\",\"result\":[10,\"1\"]}");
    expect_json("1 / 0", I(10), "{\"resultType\":\"scalar\",\"result\":[10,\"NaN\"]}");
    expect_json("2", 10 * S, 20 * S, 10 * S,
                "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[10,\"2\"],[20,"
                "\"2\"]]}]}");
    /* filter vs bool; scalar on the left keeps the vector's value */
    expect_json("max_over_time({app=\"b\"} | unwrap v [1m]) > 5", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},"
                "\"value\":[60,\"20\"]}]}");
    expect_json("5 < max_over_time({app=\"b\"} | unwrap v [1m])", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},"
                "\"value\":[60,\"20\"]}]}");
    expect_json("max_over_time({app=\"b\"} | unwrap v [1m]) > bool 5", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"1\"},"
                "\"value\":[60,\"0\"]},"
                "{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},\"value\":[60,\"1\"]}]}");
    /* one-to-one matching with on(); group_left copies an included label */
    expect_json(
        "max_over_time({app=\"b\"} | unwrap v [1m]) / on (pod) sum by (pod) "
        "(count_over_time({app=\"b\"}[1m]))",
        I(60),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"pod\":\"1\"},\"value\":[60,\"2\"]},"
        "{\"metric\":{\"pod\":\"2\"},\"value\":[60,\"10\"]}]}");
    expect_json("max_over_time({app=\"b\"} | unwrap v [1m]) - on (app) group_left () sum by (app) "
                "(count_over_time({app=\"b\"}[1m]))",
                I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"1\"},"
                "\"value\":[60,\"0\"]},"
                "{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},\"value\":[60,\"16\"]}]}");
    expect_fail("max_over_time({app=\"b\"} | unwrap v [1m]) - on (app) sum by (app) "
                "(count_over_time({app=\"b\"}[1m]))",
                I(60), IG_EINVAL, "many-to-one matching must be explicit");
    /* set operations */
    expect_json("max_over_time({app=\"b\"} | unwrap v [1m]) and max_over_time({app=\"b\"} | unwrap "
                "v [1m]) > 5",
                I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},"
                "\"value\":[60,\"20\"]}]}");
    expect_json("max_over_time({app=\"b\"} | unwrap v [1m]) unless max_over_time({app=\"b\"} | "
                "unwrap v [1m]) > 5",
                I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"pod\":\"1\"},"
                "\"value\":[60,\"4\"]}]}");
    expect_json("count_over_time({app=\"zzz\"}[1m]) or vector(3)", I(60),
                "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[60,\"3\"]}]}");
    (void)st;
}

static void test_label_replace(void **st)
{
    expect_json(
        "label_replace(sum by (app, pod) (count_over_time({app=\"b\"}[1m])), \"p\", \"pod-$1\", "
        "\"pod\", \"(.*)\")",
        I(60),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\",\"p\":\"pod-1\",\"pod\":"
        "\"1\"},\"value\":[60,\"2\"]},"
        "{\"metric\":{\"app\":\"b\",\"p\":\"pod-2\",\"pod\":\"2\"},\"value\":[60,\"2\"]}]}");
    /* anchored: "1" does not match "" regex parts partially; empty result deletes dst */
    expect_json(
        "label_replace(sum by (app, pod) (count_over_time({app=\"b\"}[1m])), \"pod\", \"\", "
        "\"pod\", \"1\")",
        I(60),
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"b\"},\"value\":[60,\"2\"]},"
        "{\"metric\":{\"app\":\"b\",\"pod\":\"2\"},\"value\":[60,\"2\"]}]}");
    (void)st;
}

static void test_limits(void **st)
{
    expect_fail("count_over_time({app=\"a\"}[1m])", 0, 11001 * S, S, IG_EINVAL,
                "exceeded maximum resolution of 11,000 points per timeseries");
    run x;
    eval(&x, "count_over_time({app=\"a\"}[1m])", 0, 11000 * S, S);
    assert_int_equal(x.rc, 0);
    done(&x);
    /* max series: the evaluation options carry it */
    ig_arena a;
    ig_arena_init(&a, 16u << 20);
    logql_expr *e;
    ig_errbuf eb;
    assert_int_equal(logql_parse(IG_STR("count_over_time({app=\"b\"}[1m])"), &a, &e, &eb), 0);
    g_src = (mem_src){DATA, sizeof(DATA) / sizeof(DATA[0]), 0};
    g_source = (lq_source){mem_scan, &g_src};
    lq_eval_opts o = {60 * S, 60 * S, 0, true, 1, 0};
    lq_result r;
    assert_int_equal(lq_eval_metric(e, &g_source, &o, &a, &r, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "maximum number of series (1) reached for a single query"));
    ig_arena_free(&a);
    (void)st;
}

static void test_json_numbers(void **st)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {{0.1, "0.1"},
                 {1e21, "1000000000000000000000"},
                 {1e-7, "0.0000001"},
                 {-2.5, "-2.5"},
                 {NAN, "NaN"},
                 {INFINITY, "+Inf"},
                 {-INFINITY, "-Inf"},
                 {1.0 / 3, "0.3333333333333333"},
                 {123456.789, "123456.789"},
                 {0, "0"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lq_result r = {LQ_SCALAR, NULL, 0, cases[i].v, 1588889221500000000LL};
        ig_buf b;
        ig_buf_init(&b, 4096);
        assert_int_equal(lq_result_json(&r, &b), 0);
        char want[128];
        snprintf(want, sizeof(want), "{\"resultType\":\"scalar\",\"result\":[1588889221.5,\"%s\"]}",
                 cases[i].want);
        assert_string_equal(b.data, want);
        ig_buf_free(&b);
    }
    (void)st;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_windows), cmocka_unit_test(test_rate_bytes_offset),
        cmocka_unit_test(test_unwrap),        cmocka_unit_test(test_direct_vs_window),
        cmocka_unit_test(test_absent),        cmocka_unit_test(test_vector_aggs),
        cmocka_unit_test(test_sum_pushdown),  cmocka_unit_test(test_binary),
        cmocka_unit_test(test_label_replace), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_json_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
