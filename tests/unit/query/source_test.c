/* The logs-table source over WAL segments: tenant, account and [start, end) selection,
 * the Loki label view of pushed rows, Loki's OTLP mapping, the selector, leading line
 * filters (also across values of the decoded body buffer). */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/logql.h"
#include "icegate/logql_eval.h"
#include "icegate/store.h"
#include "icegate/time.h"
#include "icegate/wal.h"

typedef struct fixture {
    char tmp[64], root[96];
    ig_store *store;
} fixture;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static ig_attr A(const char *k, const char *v)
{
    return (ig_attr){ig_str_from(k), ig_str_from(v)};
}

static ig_log_row loki_row(const char *tenant, const char *account, int64_t us, const char *body,
                           ig_attr *labels, uint32_t nl, ig_attr *sm, uint32_t nsm)
{
    ig_log_row r;
    memset(&r, 0, sizeof r);
    r.id.tenant_id = ig_str_from(tenant);
    r.id.account_id = account ? ig_str_from(account) : IG_STR_NULL;
    r.timestamp_us = us;
    r.ingested_us = us;
    r.body = ig_str_from(body);
    r.resource_attributes = (ig_attrs){labels, nl};
    r.attributes = (ig_attrs){sm, nsm};
    r.source = IG_STR("loki");
    return r;
}

static ig_attr L_A[] = {{{"app", 3}, {"a", 1}}};
static ig_attr L_SM[] = {{{"trace_id", 8}, {"x", 1}}};
static ig_attr L_B[] = {{{"app", 3}, {"b", 1}}};
static ig_attr O_RES[3], O_ATTR[1], O_RES2[1];

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ig_source_test.XXXXXX");
    if (!fx || !mkdtemp(fx->tmp))
        return -1;
    snprintf(fx->root, sizeof fx->root, "%s/warehouse", fx->tmp);
    ig_errbuf eb;
    if (ig_store_open_fs(fx->root, &fx->store, &eb) != 0)
        return -1;
    ig_wal_opts o = {0};
    o.writer_id = "w1";
    o.flush_interval_ns = 1000000;
    ig_wal *w = NULL;
    if (ig_wal_open(fx->store, &o, &w, &eb) != 0)
        return -1;
    O_RES[0] = A("service.name", "svc");
    O_RES[1] = A("k8s.pod.name", "p1");
    O_RES[2] = A("team.name", "x");
    O_ATTR[0] = A("http.method", "GET");
    O_RES2[0] = A("k8s.container.name", "ctr");
    ig_log_row t1[6];
    t1[0] = loki_row("t1", NULL, 1000, "loki line one", L_A, 1, L_SM, 1);
    t1[1] = loki_row("t1", NULL, 2000, "loki line two", L_A, 1, NULL, 0);
    t1[2] = loki_row("t1", "acc1", 3000, "account line", L_A, 1, NULL, 0);
    t1[3] = loki_row("t1", NULL, 4000, "other app needle", L_B, 1, NULL, 0);
    ig_log_row *ot = &t1[4];
    memset(ot, 0, sizeof *ot);
    ot->id.tenant_id = IG_STR("t1");
    ot->id.service_name = IG_STR("svc");
    ot->timestamp_us = 5000;
    ot->ingested_us = 5000;
    ot->body = IG_STR("otlp line");
    ot->severity_number = 17;
    ot->has_severity_number = true;
    ot->has_trace_id = true;
    for (int i = 0; i < 16; i++)
        ot->trace_id[i] = (uint8_t)(i + 1);
    ot->scope_name = IG_STR("sc");
    ot->resource_attributes = (ig_attrs){O_RES, 3};
    ot->attributes = (ig_attrs){O_ATTR, 1};
    ot->source = IG_STR("otlp");
    ig_log_row *o2 = &t1[5]; /* no service.name: discovered from k8s.container.name */
    memset(o2, 0, sizeof *o2);
    o2->id.tenant_id = IG_STR("t1");
    o2->id.service_name = IG_STR("unknown_service");
    o2->timestamp_us = 6000;
    o2->ingested_us = 6000;
    o2->body = IG_STR("level=warn something");
    o2->resource_attributes = (ig_attrs){O_RES2, 1};
    o2->source = IG_STR("otlp");
    ig_log_row t2[1] = {loki_row("t2", NULL, 1000, "tenant two", L_A, 1, NULL, 0)};
    ig_rows b[2] = {{.table = IG_TABLE_LOGS, .n = 6, .u.logs = t1},
                    {.table = IG_TABLE_LOGS, .n = 1, .u.logs = t2}};
    if (ig_wal_append(w, &b[0], 1, NULL, &eb) != 0 || ig_wal_append(w, &b[1], 1, NULL, &eb) != 0) {
        printf("append: %s\n", eb.msg);
        return -1;
    }
    ig_wal_close(w);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ig_store_close(fx->store);
    nftw(fx->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

typedef struct out {
    ig_buf b;
    int n;
} out;

/* "ts stream meta line" per entry, entries sorted by ts afterwards by the caller's order */
static int cb(void *ctx, const lq_entry *e)
{
    out *o = ctx;
    ig_buf_printf(&o->b, "%lld ", (long long)e->ts_ns);
    lq_labels_print(&e->stream, &o->b);
    ig_buf_putc(&o->b, ' ');
    lq_labels_print(&e->meta, &o->b);
    ig_buf_printf(&o->b, " %.*s\n", (int)e->line.len, e->line.ptr);
    o->n++;
    return 0;
}

static char *scan(fixture *fx, const char *tenant, const char *account, const char *query,
                  int64_t start, int64_t end)
{
    ig_arena a;
    ig_arena_init(&a, 1 << 24);
    logql_expr *e;
    ig_errbuf eb = {{0}};
    assert_int_equal(logql_parse(ig_str_from(query), &a, &e, &eb), 0);
    lq_table_source ts;
    lq_table_source_init(&ts, NULL, fx->store, ig_str_from(tenant),
                         account ? ig_str_from(account) : IG_STR_NULL);
    out o;
    ig_buf_init(&o.b, 0);
    o.n = 0;
    int rc = ts.src.scan(&ts.src, &e->u.log, start, end, cb, &o, &eb);
    if (rc)
        fail_msg("scan: %d %s", rc, eb.msg);
    ig_arena_free(&a);
    /* sort lines for a stable comparison */
    char *lines[64];
    int n = 0;
    char *p = o.b.data ? o.b.data : (char *)"";
    while (*p && n < 64) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        *nl = 0;
        p = nl + 1;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *t = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = t;
        }
    ig_buf r;
    ig_buf_init(&r, 0);
    ig_buf_append_cstr(&r, "");
    for (int i = 0; i < n; i++)
        ig_buf_printf(&r, "%s\n", lines[i]);
    ig_buf_free(&o.b);
    return ig_buf_detach(&r, NULL);
}

#define US(x) ((int64_t)(x)*1000)

static void expect(fixture *fx, const char *tenant, const char *account, const char *q, int64_t s,
                   int64_t e, const char *want)
{
    char *got = scan(fx, tenant, account, q, s, e);
    if (strcmp(got, want) != 0)
        fail_msg("%s\nwant:\n%s\ngot:\n%s", q, want, got);
    ig_free(got);
}

static void test_loki_view(void **state)
{
    fixture *fx = *state;
    expect(fx, "t1", NULL, "{app=\"a\"}", 0, US(10000),
           "1000000 {app=\"a\"} {trace_id=\"x\"} loki line one\n"
           "2000000 {app=\"a\"} {} loki line two\n"
           "3000000 {account_id=\"acc1\", app=\"a\"} {} account line\n");
    /* with the account: only its rows, no account label */
    expect(fx, "t1", "acc1", "{app=\"a\"}", 0, US(10000), "3000000 {app=\"a\"} {} account line\n");
    /* [start, end): end exclusive, start inclusive */
    expect(fx, "t1", NULL, "{app=~\"a|b\"}", US(2000), US(4000),
           "2000000 {app=\"a\"} {} loki line two\n"
           "3000000 {account_id=\"acc1\", app=\"a\"} {} account line\n");
    /* another tenant */
    expect(fx, "t2", NULL, "{app=\"a\"}", 0, US(10000), "1000000 {app=\"a\"} {} tenant two\n");
    expect(fx, "t3", NULL, "{app=\"a\"}", 0, US(10000), "");
}

static void test_otlp_view(void **state)
{
    fixture *fx = *state;
    expect(fx, "t1", NULL, "{service_name=\"svc\"}", 0, US(10000),
           "5000000 {k8s_pod_name=\"p1\", service_name=\"svc\"} {detected_level=\"error\", "
           "http_method=\"GET\", scope_name=\"sc\", severity_number=\"17\", team_name=\"x\", "
           "trace_id=\"0102030405060708090a0b0c0d0e0f10\"} otlp line\n");
    expect(fx, "t1", NULL, "{service_name=\"ctr\"}", 0, US(10000),
           "6000000 {k8s_container_name=\"ctr\", service_name=\"ctr\"} {detected_level=\"warn\"} "
           "level=warn something\n");
}

static void test_line_filters(void **state)
{
    fixture *fx = *state;
    expect(fx, "t1", NULL, "{app=~\".+\"} |= \"needle\"", 0, US(10000),
           "4000000 {app=\"b\"} {} other app needle\n");
    /* a needle spanning two adjacent values of the body buffer is no match */
    expect(fx, "t1", NULL, "{app=~\".+\"} |= \"twoaccount\"", 0, US(10000), "");
    expect(fx, "t1", NULL, "{app=~\".+\"} |= \"one\" or \"needle\" != \"app\"", 0, US(10000),
           "1000000 {app=\"a\"} {trace_id=\"x\"} loki line one\n");
    expect(fx, "t1", NULL, "{app=\"a\"} |= \"\"", 0, US(10000),
           "1000000 {app=\"a\"} {trace_id=\"x\"} loki line one\n"
           "2000000 {app=\"a\"} {} loki line two\n"
           "3000000 {account_id=\"acc1\", app=\"a\"} {} account line\n");
}

static void test_bounds(void **state)
{
    fixture *fx = *state;
    ig_arena a;
    ig_arena_init(&a, 1 << 24);
    logql_expr *e;
    ig_errbuf eb = {{0}};
    assert_int_equal(logql_parse(IG_STR("{app=~\"a|b\"}"), &a, &e, &eb), 0);
    for (int dir = 0; dir < 2; dir++) {
        lq_table_source ts;
        lq_table_source_init(&ts, NULL, fx->store, IG_STR("t1"), IG_STR_NULL);
        int64_t bound = US(3000);
        if (dir == 0)
            ts.ts_floor_ns = &bound; /* backward: rows older than 3 ms cannot enter */
        else
            ts.ts_ceil_ns = &bound; /* forward: rows newer than 3 ms cannot enter */
        out o;
        ig_buf_init(&o.b, 0);
        o.n = 0;
        assert_int_equal(ts.src.scan(&ts.src, &e->u.log, 0, US(10000), cb, &o, &eb), 0);
        assert_int_equal(o.n, dir == 0 ? 2 : 3);
        assert_non_null(strstr(o.b.data, "3000000 "));
        assert_null(strstr(o.b.data, dir == 0 ? "2000000 " : "4000000 "));
        ig_buf_free(&o.b);
    }
    ig_arena_free(&a);
}

static void test_labels_only(void **state)
{
    fixture *fx = *state;
    ig_arena a;
    ig_arena_init(&a, 1 << 24);
    logql_expr *e;
    ig_errbuf eb = {{0}};
    assert_int_equal(logql_parse(IG_STR("{app=\"b\"}"), &a, &e, &eb), 0);
    lq_table_source ts;
    lq_table_source_init(&ts, NULL, fx->store, IG_STR("t1"), IG_STR_NULL);
    ts.labels_only = true;
    out o;
    ig_buf_init(&o.b, 0);
    o.n = 0;
    assert_int_equal(ts.src.scan(&ts.src, &e->u.log, 0, US(10000), cb, &o, &eb), 0);
    assert_string_equal(o.b.data, "4000000 {app=\"b\"} {} \n"); /* no line read */
    ig_buf_free(&o.b);
    ig_arena_free(&a);
}

static void test_deadline(void **state)
{
    fixture *fx = *state;
    ig_arena a;
    ig_arena_init(&a, 1 << 24);
    logql_expr *e;
    ig_errbuf eb = {{0}};
    assert_int_equal(logql_parse(IG_STR("{app=\"a\"}"), &a, &e, &eb), 0);
    lq_table_source ts;
    lq_table_source_init(&ts, NULL, fx->store, IG_STR("t1"), IG_STR_NULL);
    ts.deadline_ns = 1; /* long past */
    out o;
    ig_buf_init(&o.b, 0);
    o.n = 0;
    assert_int_equal(ts.src.scan(&ts.src, &e->u.log, 0, US(10000), cb, &o, &eb), IG_ETIMEDOUT);
    ig_buf_free(&o.b);
    ig_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loki_view),    cmocka_unit_test(test_otlp_view),
        cmocka_unit_test(test_line_filters), cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_labels_only),  cmocka_unit_test(test_deadline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
