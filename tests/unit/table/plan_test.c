/* Scan planning: WAL-only plans (tenant, time, account and predicate pruning), and plans
 * over an Iceberg snapshot written by shift (Iceberg files up to the position, WAL after). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/plan.h"
#include "icegate/time.h"
#include "icegate/wal.h"

#define S(lit) IG_STR(lit)
#define T0 1700000000000000LL /* 2023-11-14T22:13:20Z, µs */
#define HOUR_US (3600LL * 1000000LL)

typedef struct fixture {
    char tmp[64];
    char root[128];
    ig_store *st;
} fixture;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ig_plan_test.XXXXXX");
    if (!mkdtemp(fx->tmp))
        return -1;
    snprintf(fx->root, sizeof fx->root, "%s/warehouse", fx->tmp);
    ig_errbuf eb;
    if (ig_store_open_fs(fx->root, &fx->st, &eb) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ig_store_close(fx->st);
    nftw(fx->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* Appends n log rows of one tenant (account acc, may be NULL; service svc) with
 * timestamps ts0, ts0+1, ... as one request, so one segment per call. */
static void append_logs(ig_wal *w, const char *tenant, const char *acc, const char *svc,
                        int64_t ts0, size_t n)
{
    ig_log_row *rows = calloc(n, sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < n; i++) {
        rows[i].id.tenant_id = ig_str_from(tenant);
        rows[i].id.account_id = acc ? ig_str_from(acc) : IG_STR_NULL;
        rows[i].id.service_name = ig_str_from(svc);
        rows[i].timestamp_us = ts0 + (int64_t)i;
        rows[i].ingested_us = ts0;
        rows[i].body = S("hello");
        rows[i].source = S("otlp");
    }
    ig_rows b = {.table = IG_TABLE_LOGS, .n = n, .u.logs = rows};
    ig_errbuf eb = {""};
    int rc = ig_wal_append(w, &b, 1, NULL, &eb);
    if (rc)
        fail_msg("append: %d %s", rc, eb.msg);
    free(rows);
}

static ig_wal *open_wal(fixture *fx, const char *writer)
{
    ig_wal_opts o = {0};
    o.writer_id = writer;
    o.flush_interval_ns = 1 * IG_NS_PER_MS;
    ig_wal *w = NULL;
    ig_errbuf eb = {""};
    if (ig_wal_open(fx->st, &o, &w, &eb))
        fail_msg("ig_wal_open: %s", eb.msg);
    return w;
}

/* Rows of the plan's kept row groups (each opened through ig_plan_open). */
static uint64_t plan_rows(fixture *fx, const ig_plan *p)
{
    uint64_t rows = 0;
    for (size_t i = 0; i < p->nfiles; i++) {
        pq_file *f;
        ig_errbuf eb = {""};
        if (ig_plan_open(fx->st, &p->files[i], &f, &eb))
            fail_msg("open %s: %s", p->files[i].key, eb.msg);
        for (size_t k = 0; k < p->files[i].nrgs; k++) {
            assert_true(p->files[i].rgs[k] < f->nrgs);
            if (k)
                assert_true(p->files[i].rgs[k] > p->files[i].rgs[k - 1]);
            rows += (uint64_t)f->rgs[p->files[i].rgs[k]].num_rows;
        }
        pq_close(f);
    }
    return rows;
}

static void plan(fixture *fx, const char *tenant, const char *acc, int64_t s, int64_t e,
                 const ig_plan_pred *preds, size_t npreds, ig_plan *p)
{
    ig_plan_req req = {.table = IG_TABLE_LOGS,
                       .tenant = ig_str_from(tenant),
                       .account = acc ? ig_str_from(acc) : IG_STR_NULL,
                       .start_us = s,
                       .end_us = e,
                       .preds = preds,
                       .npreds = npreds};
    ig_errbuf eb = {""};
    int rc = ig_plan_scan(NULL, fx->st, &req, p, &eb);
    if (rc)
        fail_msg("plan: %d %s", rc, eb.msg);
}

static void test_wal_tenant_pruning(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1");
    append_logs(w, "t1", NULL, "api", T0, 10);
    append_logs(w, "t2", NULL, "api", T0, 20);
    append_logs(w, "t1", "acc", "db", T0 + 100, 5);
    ig_wal_close(w);

    ig_plan p;
    plan(fx, "t1", NULL, T0 - HOUR_US, T0 + HOUR_US, NULL, 0, &p);
    assert_int_equal(p.snapshot_id, -1);
    assert_int_equal(p.nfiles, 2); /* the t2 segment is pruned whole */
    assert_int_equal(p.files_pruned, 1);
    for (size_t i = 0; i < p.nfiles; i++) {
        assert_true(p.files[i].wal);
        assert_non_null(strstr(p.files[i].key, "wal/logs/w1/"));
    }
    assert_true(strcmp(p.files[0].key, p.files[1].key) < 0); /* by (writer, seq) */
    assert_int_equal(plan_rows(fx, &p), 15);
    ig_plan_free(&p);

    plan(fx, "t2", NULL, T0 - HOUR_US, T0 + HOUR_US, NULL, 0, &p);
    assert_int_equal(plan_rows(fx, &p), 20);
    ig_plan_free(&p);

    plan(fx, "nobody", NULL, T0 - HOUR_US, T0 + HOUR_US, NULL, 0, &p);
    assert_int_equal(p.nfiles, 0);
    ig_plan_free(&p);

    /* account: the t1 segment without accounts holds no "acc" rows (stats say null) */
    plan(fx, "t1", "acc", T0 - HOUR_US, T0 + HOUR_US, NULL, 0, &p);
    assert_int_equal(plan_rows(fx, &p), 5);
    ig_plan_free(&p);
}

static void test_wal_time_pruning(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1");
    append_logs(w, "t1", NULL, "api", T0, 10);                /* [T0, T0+9] */
    append_logs(w, "t1", NULL, "api", T0 + 48 * HOUR_US, 10); /* two days later */
    ig_wal_close(w);

    ig_plan p;
    /* end is exclusive: [T0-1h, T0) holds nothing */
    plan(fx, "t1", NULL, T0 - HOUR_US, T0, NULL, 0, &p);
    assert_int_equal(p.nfiles, 0);
    assert_int_equal(p.rgs_pruned, 2);
    ig_plan_free(&p);

    /* start inclusive: the row at T0+9 */
    plan(fx, "t1", NULL, T0 + 9, T0 + HOUR_US, NULL, 0, &p);
    assert_int_equal(p.nfiles, 1);
    assert_int_equal(plan_rows(fx, &p), 10); /* whole row group; rows are filtered later */
    ig_plan_free(&p);

    plan(fx, "t1", NULL, T0 + 10, T0 + 48 * HOUR_US, NULL, 0, &p);
    assert_int_equal(p.nfiles, 0);
    ig_plan_free(&p);

    plan(fx, "t1", NULL, T0, T0 + 49 * HOUR_US, NULL, 0, &p);
    assert_int_equal(p.nfiles, 2);
    assert_int_equal(plan_rows(fx, &p), 20);
    ig_plan_free(&p);

    /* empty range */
    plan(fx, "t1", NULL, T0, T0, NULL, 0, &p);
    assert_int_equal(p.nfiles, 0);
    ig_plan_free(&p);
}

static void test_wal_preds_and_position(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1");
    append_logs(w, "t1", NULL, "api", T0, 10);
    append_logs(w, "t1", NULL, "web", T0, 10);
    ig_wal_close(w);
    ig_wal *w2 = open_wal(fx, "w2");
    append_logs(w2, "t1", NULL, "db", T0, 7);
    ig_wal_close(w2);

    ig_plan p;
    ig_plan_pred pr = {.column = "service_name", .op = PQ_OP_EQ, .s = S("web")};
    plan(fx, "t1", NULL, T0, T0 + HOUR_US, &pr, 1, &p);
    assert_int_equal(p.nfiles, 1);
    assert_int_equal(plan_rows(fx, &p), 10);
    ig_plan_free(&p);

    /* unknown columns never prune */
    ig_plan_pred unk = {.column = "no_such_column", .op = PQ_OP_EQ, .s = S("x")};
    plan(fx, "t1", NULL, T0, T0 + HOUR_US, &unk, 1, &p);
    assert_int_equal(plan_rows(fx, &p), 27);
    /* writers in order: w1's two segments, then w2's */
    assert_int_equal(p.nfiles, 3);
    assert_non_null(strstr(p.files[2].key, "/w2/"));
    ig_plan_free(&p);

    /* a bad request */
    ig_plan_req req = {.table = IG_TABLE_LOGS, .start_us = 0, .end_us = 1};
    ig_errbuf eb = {""};
    assert_int_equal(ig_plan_scan(NULL, fx->st, &req, &p, &eb), IG_EINVAL);
    ig_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_tenant_pruning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_time_pruning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_preds_and_position, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
