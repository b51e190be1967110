/* The shift job over a SQLite catalog and a filesystem store: rows move from the WAL into
 * partitioned, sorted data files exactly once (also with two shifts racing), the snapshot
 * records the WAL position, planning sees Iceberg up to it and the WAL after it, and
 * covered segments are deleted after the grace period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/maintain.h"
#include "icegate/plan.h"
#include "icegate/time.h"
#include "icegate/wal.h"

#define S(lit) IG_STR(lit)
#define T0 1700000000000000LL /* 2023-11-14T22:13:20Z, µs */
#define DAY_US (86400LL * 1000000LL)

typedef struct fixture {
    char tmp[64];
    char root[128];
    char db[128];
    bool pg; /* the catalog is the test PostgreSQL (below), else SQLite at db */
    ig_store *st;
    catalog *cat;
} fixture;

/* PostgreSQL: ICEGATE_TEST_PG_URI, else a throw-away server when the binaries are
 * installed (as the postgres user when we are root), else the PostgreSQL cases skip. */
#include "pg_server.h"

static int pg_start(void **state)
{
    (void)state;
    test_pg_start("shift");
    return 0;
}

static int pg_stop(void **state)
{
    (void)state;
    test_pg_stop();
    return 0;
}

static int open_cat(const fixture *fx, catalog **c, ig_errbuf *eb)
{
    return fx->pg ? catalog_open_pg(pg_uri, c, eb) : catalog_open_sqlite(fx->db, c, eb);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup_any(void **state, bool pg)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ig_shift_test.XXXXXX");
    if (!mkdtemp(fx->tmp))
        return -1;
    snprintf(fx->root, sizeof fx->root, "%s/warehouse", fx->tmp);
    snprintf(fx->db, sizeof fx->db, "%s/catalog.db", fx->tmp);
    ig_errbuf eb = {""};
    fx->pg = pg;
    if (pg) {
        /* empty catalog tables for each test */
        PGconn *conn = PQconnectdb(pg_uri);
        PGresult *r = PQexec(conn, "SET client_min_messages = warning; DROP TABLE IF EXISTS "
                                   "iceberg_tables, iceberg_namespace_properties");
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        PQfinish(conn);
        if (!ok)
            return -1;
    }
    if (ig_store_open_fs(fx->root, &fx->st, &eb) || open_cat(fx, &fx->cat, &eb))
        return -1;
    FILE *devnull = fopen("/dev/null", "w");
    int rc = ig_migrate(fx->cat, fx->st, devnull, NULL, &eb);
    fclose(devnull);
    if (rc)
        return -1;
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return setup_any(state, false);
}

static int setup_pg(void **state)
{
    if (!pg_uri[0]) {
        *state = NULL;
        return 0;
    }
    return setup_any(state, true);
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (!fx)
        return 0;
    catalog_close(fx->cat);
    ig_store_close(fx->st);
    nftw(fx->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
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

/* n log rows of one tenant, one request (one segment); services cycle api/db/web, times
 * ts0 + i*step. */
static void append_logs(ig_wal *w, const char *tenant, const char *acc, int64_t ts0, int64_t step,
                        size_t n)
{
    static const char *const svcs[] = {"web", "api", "db"};
    ig_log_row *rows = calloc(n, sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < n; i++) {
        rows[i].id.tenant_id = ig_str_from(tenant);
        rows[i].id.account_id = acc ? ig_str_from(acc) : IG_STR_NULL;
        rows[i].id.service_name = ig_str_from(svcs[i % 3]);
        rows[i].timestamp_us = ts0 + (int64_t)i * step;
        rows[i].ingested_us = ts0;
        rows[i].has_trace_id = true;
        rows[i].trace_id[0] = (uint8_t)i;
        rows[i].trace_id[15] = 1;
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

static void append_spans(ig_wal *w, const char *tenant, size_t n)
{
    ig_span_row *rows = calloc(n, sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < n; i++) {
        rows[i].id.tenant_id = ig_str_from(tenant);
        rows[i].trace_id[0] = (uint8_t)(n - i);
        rows[i].trace_id[15] = 1;
        rows[i].span_id[0] = (uint8_t)i;
        rows[i].span_id[7] = 1;
        rows[i].timestamp_us = T0 + (int64_t)i;
        rows[i].end_timestamp_us = T0 + (int64_t)i + 10;
        rows[i].ingested_us = T0;
        rows[i].name = S("op");
    }
    ig_rows b = {.table = IG_TABLE_SPANS, .n = n, .u.spans = rows};
    ig_errbuf eb = {""};
    int rc = ig_wal_append(w, &b, 1, NULL, &eb);
    if (rc)
        fail_msg("append spans: %d %s", rc, eb.msg);
    free(rows);
}

typedef struct counted {
    uint64_t iceberg_rows, wal_rows;
    size_t iceberg_files, wal_files;
} counted;

/* Plans everything of a tenant and counts the rows of the planned row groups. */
static void count(fixture *fx, ig_table_id t, const char *tenant, counted *c, ig_plan *keep)
{
    memset(c, 0, sizeof *c);
    ig_plan_req req = {.table = t,
                       .tenant = ig_str_from(tenant),
                       .start_us = T0 - 10 * DAY_US,
                       .end_us = T0 + 10 * DAY_US};
    ig_plan p;
    ig_errbuf eb = {""};
    int rc = ig_plan_scan(fx->cat, fx->st, &req, &p, &eb);
    if (rc)
        fail_msg("plan: %d %s", rc, eb.msg);
    for (size_t i = 0; i < p.nfiles; i++) {
        pq_file *f;
        if (ig_plan_open(fx->st, &p.files[i], &f, &eb))
            fail_msg("open %s: %s", p.files[i].key, eb.msg);
        uint64_t rows = 0;
        for (size_t k = 0; k < p.files[i].nrgs; k++)
            rows += (uint64_t)f->rgs[p.files[i].rgs[k]].num_rows;
        pq_close(f);
        if (p.files[i].wal) {
            c->wal_rows += rows;
            c->wal_files++;
        } else {
            c->iceberg_rows += rows;
            c->iceberg_files++;
        }
    }
    if (keep)
        *keep = p;
    else
        ig_plan_free(&p);
}

static void shift(fixture *fx, const ig_shift_opts *o, ig_shift_result *r)
{
    ig_errbuf eb = {""};
    int rc = ig_shift_run(fx->cat, fx->st, o, r, &eb);
    if (rc)
        fail_msg("shift: %d %s", rc, eb.msg);
}

/* Every row of column `name` (flat BYTE_ARRAY or INT64) of a data file, checks order. */
static void check_sorted_logs(fixture *fx, const char *key, const char *tenant)
{
    pq_file *f;
    ig_errbuf eb = {""};
    ig_plan_file pf = {.key = key};
    assert_int_equal(ig_plan_open(fx->st, &pf, &f, &eb), 0);
    int ct = pq_schema_find(f->schema, "tenant_id"), cs = pq_schema_find(f->schema, "service_name"),
        cts = pq_schema_find(f->schema, "timestamp");
    assert_true(ct >= 0 && cs >= 0 && cts >= 0);
    assert_true(f->schema->nodes[f->schema->cols[cts].node].has_field_id);
    assert_non_null(pq_file_kv(f, "iceberg.schema"));
    pq_colvec tv, sv, tsv;
    pq_colvec_init(&tv);
    pq_colvec_init(&sv);
    pq_colvec_init(&tsv);
    for (size_t rg = 0; rg < f->nrgs; rg++) {
        assert_int_equal(pq_read_column(f, rg, (size_t)ct, NULL, 0, &tv, &eb), 0);
        assert_int_equal(pq_read_column(f, rg, (size_t)cs, NULL, 0, &sv, &eb), 0);
        assert_int_equal(pq_read_column(f, rg, (size_t)cts, NULL, 0, &tsv, &eb), 0);
        const int64_t *ts = tsv.vals;
        for (size_t k = 0; k < tv.nrows; k++) {
            assert_true(ig_str_eq(pq_colvec_bytes(&tv, k), ig_str_from(tenant)));
            if (!k)
                continue;
            int c = ig_str_cmp(pq_colvec_bytes(&sv, k - 1), pq_colvec_bytes(&sv, k));
            assert_true(c <= 0);
            if (c == 0)
                assert_true(ts[k - 1] >= ts[k]);
        }
    }
    pq_colvec_free(&tv);
    pq_colvec_free(&sv);
    pq_colvec_free(&tsv);
    pq_close(f);
}

static void test_shift_moves_rows_once(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1");
    append_logs(w, "t1", NULL, T0, 1000, 100);
    append_logs(w, "t2", "acc", T0, 1000, 40);
    append_logs(w, "t1", NULL, T0 + DAY_US, 1000, 30); /* the next day: another partition */
    append_spans(w, "t1", 25);
    ig_wal_close(w);

    counted c;
    count(fx, IG_TABLE_LOGS, "t1", &c, NULL);
    assert_int_equal(c.wal_rows, 130);
    assert_int_equal(c.iceberg_rows, 0);

    ig_shift_opts o = {.wal_grace_ns = -1};
    ig_shift_result r;
    shift(fx, &o, &r);
    assert_int_equal(r.rows, 195);
    assert_int_equal(r.segments, 4);
    assert_int_equal(r.commits, 2); /* logs and spans */
    assert_int_equal(r.files, 4);   /* t1 two days, t2, spans t1 */

    ig_plan p;
    count(fx, IG_TABLE_LOGS, "t1", &c, &p);
    assert_int_equal(c.iceberg_rows, 130);
    assert_int_equal(c.wal_rows, 0);
    assert_int_equal(c.iceberg_files, 2);
    assert_true(p.snapshot_id > 0);
    assert_int_equal(ig_wal_pos_get(&p.pos, "w1"), 3);
    for (size_t i = 0; i < p.nfiles; i++) {
        assert_non_null(strstr(p.files[i].key, "icegate/logs/data/tenant_id=t1/account_id=null/"
                                               "timestamp_day=2023-11-1"));
        check_sorted_logs(fx, p.files[i].key, "t1");
        assert_false(p.files[i].wal);
        assert_true(p.files[i].size > 100 && p.files[i].records > 0);
    }
    ig_plan_free(&p);
    count(fx, IG_TABLE_LOGS, "t2", &c, &p);
    assert_int_equal(c.iceberg_rows, 40);
    assert_non_null(strstr(p.files[0].key, "tenant_id=t2/account_id=acc/timestamp_day=2023-11-14/"));
    ig_plan_free(&p);
    count(fx, IG_TABLE_SPANS, "t1", &c, NULL);
    assert_int_equal(c.iceberg_rows, 25);

    /* time pruning by partition day and bounds */
    ig_plan_req req = {.table = IG_TABLE_LOGS,
                       .tenant = S("t1"),
                       .start_us = T0 + DAY_US,
                       .end_us = T0 + 2 * DAY_US};
    ig_errbuf eb = {""};
    assert_int_equal(ig_plan_scan(fx->cat, fx->st, &req, &p, &eb), 0);
    assert_int_equal(p.nfiles, 1);
    assert_int_equal(p.files_pruned, 1 + 1); /* the other day's t1 file, t2's file */
    ig_plan_free(&p);

    /* account pruning by partition values: t2's rows are all in account "acc" */
    ig_plan_req areq = {.table = IG_TABLE_LOGS, .tenant = S("t2"), .account = S("acc"),
                        .start_us = T0 - DAY_US, .end_us = T0 + DAY_US};
    assert_int_equal(ig_plan_scan(fx->cat, fx->st, &areq, &p, &eb), 0);
    assert_int_equal(p.nfiles, 1);
    ig_plan_free(&p);
    areq.account = S("other");
    assert_int_equal(ig_plan_scan(fx->cat, fx->st, &areq, &p, &eb), 0);
    assert_int_equal(p.nfiles, 0);
    ig_plan_free(&p);
    /* predicate pruning by row-group statistics of the data files */
    ig_plan_pred pr = {.column = "service_name", .op = PQ_OP_EQ, .s = S("zzz")};
    ig_plan_req preq = {.table = IG_TABLE_LOGS, .tenant = S("t1"), .start_us = T0 - DAY_US,
                        .end_us = T0 + 2 * DAY_US, .preds = &pr, .npreds = 1};
    assert_int_equal(ig_plan_scan(fx->cat, fx->st, &preq, &p, &eb), 0);
    assert_int_equal(p.nfiles, 0);
    assert_true(p.rgs_pruned >= 2);
    ig_plan_free(&p);
    pr.s = S("api");
    assert_int_equal(ig_plan_scan(fx->cat, fx->st, &preq, &p, &eb), 0);
    assert_int_equal(p.nfiles, 2);
    ig_plan_free(&p);

    /* a second shift adds nothing */
    shift(fx, &o, &r);
    assert_int_equal(r.commits, 0);
    assert_int_equal(r.rows, 0);

    /* new rows: Iceberg up to the position plus the WAL after it */
    w = open_wal(fx, "w1");
    append_logs(w, "t1", NULL, T0, 1, 7);
    ig_wal_close(w);
    count(fx, IG_TABLE_LOGS, "t1", &c, NULL);
    assert_int_equal(c.iceberg_rows, 130);
    assert_int_equal(c.wal_rows, 7);
    shift(fx, &o, &r);
    assert_int_equal(r.rows, 7);
    count(fx, IG_TABLE_LOGS, "t1", &c, NULL);
    assert_int_equal(c.iceberg_rows, 137);
    assert_int_equal(c.wal_rows, 0);
}

static void test_shift_batches_and_files(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "wa");
    for (int i = 0; i < 5; i++)
        append_logs(w, "t1", NULL, T0 + i, 3, 2000);
    ig_wal_close(w);
    ig_wal *w2 = open_wal(fx, "wb");
    append_logs(w2, "t1", NULL, T0, 5, 10);
    ig_wal_close(w2);
    /* a tiny memory cap: one segment per commit; 1 MiB target, 1000-row row groups */
    ig_shift_opts o = {.wal_grace_ns = -1, .memory_bytes = 1, .row_group_rows = 1000};
    ig_shift_result r;
    shift(fx, &o, &r);
    assert_int_equal(r.rows, 10010);
    assert_int_equal(r.commits, 6);
    ig_plan p;
    counted c;
    count(fx, IG_TABLE_LOGS, "t1", &c, &p);
    assert_int_equal(c.iceberg_rows, 10010);
    assert_int_equal(c.wal_rows, 0);
    assert_int_equal(ig_wal_pos_get(&p.pos, "wa"), 5);
    assert_int_equal(ig_wal_pos_get(&p.pos, "wb"), 1);
    for (size_t i = 0; i < p.nfiles; i++)
        check_sorted_logs(fx, p.files[i].key, "t1");
    ig_plan_free(&p);

    /* row-group pruning inside data files: rows of the first file span [T0, T0+6000) */
    ig_plan_req req = {.table = IG_TABLE_LOGS, .tenant = S("t1"), .start_us = T0 + 100000,
                       .end_us = T0 + 200000};
    ig_errbuf eb = {""};
    assert_int_equal(ig_plan_scan(fx->cat, fx->st, &req, &p, &eb), 0);
    assert_int_equal(p.nfiles, 0);
    ig_plan_free(&p);
}

typedef struct racer {
    fixture *fx;
    ig_shift_result r;
    int rc;
    char msg[256];
} racer;

static void *race_main(void *arg)
{
    racer *x = arg;
    catalog *cat;
    ig_errbuf eb = {""};
    x->rc = open_cat(x->fx, &cat, &eb);
    if (x->rc == 0) {
        ig_shift_opts o = {.wal_grace_ns = -1, .memory_bytes = 1};
        x->rc = ig_shift_table(cat, x->fx->st, IG_TABLE_LOGS, &o, &x->r, &eb);
        catalog_close(cat);
    }
    snprintf(x->msg, sizeof x->msg, "%s", eb.msg);
    return NULL;
}

static void test_concurrent_shifts_no_duplicates(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1");
    for (int i = 0; i < 8; i++)
        append_logs(w, i % 2 ? "t1" : "t2", NULL, T0 + i, 1, 50);
    ig_wal_close(w);
    racer a = {.fx = fx}, b = {.fx = fx};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race_main, &a);
    pthread_create(&tb, NULL, race_main, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    if (a.rc || b.rc)
        fail_msg("racers: %d %s / %d %s", a.rc, a.msg, b.rc, b.msg);
    print_message("racers: %llu + %llu conflicts, %llu + %llu commits\n", (unsigned long long)a.r.conflicts, (unsigned long long)b.r.conflicts, (unsigned long long)a.r.commits, (unsigned long long)b.r.commits);
    assert_int_equal(a.r.rows + b.r.rows, 400);
    counted c1, c2;
    count(fx, IG_TABLE_LOGS, "t1", &c1, NULL);
    count(fx, IG_TABLE_LOGS, "t2", &c2, NULL);
    assert_int_equal(c1.iceberg_rows, 200);
    assert_int_equal(c2.iceberg_rows, 200);
    assert_int_equal(c1.wal_rows + c2.wal_rows, 0);
}

static void test_wal_deleted_after_grace(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1");
    for (int i = 0; i < 4; i++)
        append_logs(w, "t1", NULL, T0, 1, 10);
    ig_wal_close(w);
    /* grace 10 min, clock now: the snapshot is too young, nothing is deleted */
    ig_shift_opts o = {.wal_grace_ns = 600 * IG_NS_PER_S};
    ig_shift_result r;
    shift(fx, &o, &r);
    assert_int_equal(r.rows, 40);
    assert_int_equal(r.wal_deleted, 0);
    ig_wal_seglist l;
    ig_errbuf eb = {""};
    assert_int_equal(ig_wal_list(fx->st, IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 4);
    ig_wal_seglist_free(&l);
    /* an hour later: covered segments go, except the writer's newest */
    o.now_ns = ig_now_ns() + 3600 * IG_NS_PER_S;
    shift(fx, &o, &r);
    assert_int_equal(r.wal_deleted, 3);
    assert_int_equal(ig_wal_list(fx->st, IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.segs[0].seq, 4);
    ig_wal_seglist_free(&l);
    counted c;
    count(fx, IG_TABLE_LOGS, "t1", &c, NULL);
    assert_int_equal(c.iceberg_rows, 40);
    assert_int_equal(c.wal_rows, 0);
}

/* A table that cannot be shifted (a corrupt segment) does not hold back the others. */
static void test_one_bad_table(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1");
    append_logs(w, "t1", NULL, T0, 1, 10);
    append_logs(w, "t1", NULL, T0, 1, 5);
    ig_wal_close(w);
    ig_errbuf eb = {""};
    const char junk[] = "PAR1 this is not a parquet file PAR1";
    assert_int_equal(ig_store_put(fx->st, "wal/spans/w9/00000000000000000001.parquet", junk,
                                  sizeof junk - 1, &eb),
                     0);
    ig_shift_opts o = {.wal_grace_ns = -1};
    ig_shift_result r;
    int rc = ig_shift_run(fx->cat, fx->st, &o, &r, &eb);
    assert_true(rc < 0);
    assert_non_null(strstr(eb.msg, "spans"));
    assert_int_equal(r.rows, 15); /* logs went in all the same */
    counted c;
    count(fx, IG_TABLE_LOGS, "t1", &c, NULL);
    assert_int_equal(c.iceberg_rows, 15);
    assert_int_equal(c.wal_rows, 0);
}

/* The same on the PostgreSQL catalog (skipped without one). */
static void pg_test_shift_moves_rows_once(void **state)
{
    if (!*state)
        skip();
    test_shift_moves_rows_once(state);
}

static void pg_test_concurrent_shifts(void **state)
{
    if (!*state)
        skip();
    test_concurrent_shifts_no_duplicates(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shift_moves_rows_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shift_batches_and_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_shifts_no_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_deleted_after_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_bad_table, setup, teardown),
        cmocka_unit_test_setup_teardown(pg_test_shift_moves_rows_once, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(pg_test_concurrent_shifts, setup_pg, teardown),
    };
    return cmocka_run_group_tests(tests, pg_start, pg_stop);
}
