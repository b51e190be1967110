/* Allocation failures injected at every stage of compact, retention and
 * expire-snapshots: the job fails cleanly (an error code, no crash, no leak under ASan),
 * the table stays readable with exactly its rows and every file it references, and a
 * rerun without failures does the work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "icegate/alloc.h"
#include "icegate/maintain_jobs.h"
#include "table/ice_fixture.h"

#define T0 1700000000000LL
#define D0 (T0 * 1000)

static void fill(icefx *fx)
{
    for (int k = 0; k < 3; k++) {
        char b1[32], b2[32];
        snprintf(b1, sizeof b1, "f%d-a", k);
        snprintf(b2, sizeof b2, "f%d-b", k);
        icefx_row r[2] = {{D0 + k, "api", b1}, {D0 - 3 * ICEFX_US_PER_DAY + k, "web", b2}};
        assert_int_equal(icefx_append(fx, "t1", "a1", &r[0], 1, T0 + k, "w:1", NULL), 0);
        assert_int_equal(icefx_append(fx, "t1", "a1", &r[1], 1, T0 + k, "w:1", NULL), 0);
    }
    /* for retention (cutoff T0 - 23 h): a file with a row on each side, rewritten */
    int64_t h = 3600000000LL;
    icefx_row st[2] = {{D0 - 47 * h / 2, "api", "straddle-old"},
                       {D0 - 22 * h, "api", "straddle-new"}};
    assert_int_equal(icefx_append(fx, "t1", "a1", st, 2, T0 + 5, "w:1", NULL), 0);
}

static int64_t period(void *ctx, ig_str tenant)
{
    (void)ctx;
    (void)tenant;
    return ICEFX_US_PER_DAY;
}

typedef enum { J_COMPACT, J_RETENTION, J_EXPIRE, J_ORPHANS } job;

static int run(icefx *fx, job j, ig_mj_result *res, ig_errbuf *eb)
{
    if (j == J_COMPACT) {
        ig_mj_compact_opts o = {0};
        return ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, res, eb);
    }
    if (j == J_RETENTION) {
        ig_mj_retention_opts o = {.now_ms = T0 + 3600 * 1000, .period = period};
        return ig_mj_retention(fx->cat, fx->store, IG_TABLE_LOGS, &o, res, eb);
    }
    if (j == J_ORPHANS) {
        ig_mj_orphan_opts o = {.min_age_ms = -1};
        return ig_mj_remove_orphans(fx->cat, fx->store, IG_TABLE_LOGS, &o, NULL, res, eb);
    }
    ig_mj_expire_opts o = {.now_ms = ig_now_ns() / 1000000 + 3600 * 1000, .keep_last = 1};
    return ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &o, res, eb);
}

/* the table as it must stay: rows, and every live file present */
static void check_table(icefx *fx, icefx_strs *want)
{
    icefx_strs rows, files;
    int64_t recs;
    assert_int_equal(icefx_rows(fx, &rows), 0);
    assert_int_equal(rows.n, want->n);
    for (size_t i = 0; i < rows.n; i++)
        assert_string_equal(rows.v[i], want->v[i]);
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    for (size_t i = 0; i < files.n; i++)
        assert_true(icefx_exists(fx, ig_str_from(files.v[i])));
    icefx_strs_free(&rows);
    icefx_strs_free(&files);
}

/* expire and orphans start from a compacted table (old files only in old snapshots);
 * orphans also has one unreferenced object to delete */
static void prepare(icefx *fx, job j)
{
    fill(fx);
    if (j == J_EXPIRE || j == J_ORPHANS) {
        ig_mj_compact_opts co = {0};
        assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &co, NULL, NULL), 0);
    }
    if (j == J_ORPHANS)
        assert_int_equal(ig_store_put(fx->store, "icegate/logs/data/orphan.parquet", "x", 1, NULL),
                         0);
}

/* every file any snapshot references exists (orphans must never touch one) */
static void check_all_referenced(icefx *fx)
{
    catalog_table t;
    ig_errbuf eb = {{0}};
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", &t, &eb), 0);
    for (size_t i = 0; i < t.meta.nsnapshots; i++)
        assert_true(icefx_exists(fx, t.meta.snapshots[i].manifest_list));
    for (size_t i = 0; i < t.meta.nmetadata_log; i++)
        assert_true(icefx_exists(fx, t.meta.metadata_log[i].metadata_file));
    catalog_table_free(&t);
}

static void sweep(job j)
{
    /* how many allocations a whole run makes */
    icefx fx;
    assert_int_equal(icefx_setup(&fx), 0);
    prepare(&fx, j);
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    uint64_t c0 = ig_alloc_calls();
    assert_int_equal(run(&fx, j, &res, &eb), 0);
    uint64_t total = ig_alloc_calls() - c0;
    icefx_teardown(&fx);
    assert_true(total > 10);
    int failures = 0;
    for (uint64_t n = 0; n < total; n += n < 16 ? 1 : total / 24 + 1) {
        assert_int_equal(icefx_setup(&fx), 0);
        prepare(&fx, j);
        icefx_strs before;
        assert_int_equal(icefx_rows(&fx, &before), 0);
        ig_alloc_fail_after((long)n);
        ig_errbuf e2 = {{0}};
        int rc = run(&fx, j, &res, &e2);
        ig_alloc_fail_reset();
        if (rc) {
            failures++;
            assert_true(rc < 0);
            if (j != J_RETENTION)
                check_table(&fx, &before); /* the other jobs never change the rows */
            if (j == J_ORPHANS)
                check_all_referenced(&fx);
        }
        /* a rerun completes the job; the rows are as a clean run leaves them */
        assert_int_equal(run(&fx, j, &res, &e2), 0);
        icefx_strs after;
        assert_int_equal(icefx_rows(&fx, &after), 0);
        if (j == J_RETENTION) {
            assert_int_equal(after.n, 4); /* the rows three days old are gone, and the
                                             straddling file's old row */
            icefx_strs_free(&after);
        } else {
            icefx_strs_free(&after);
            check_table(&fx, &before);
        }
        if (j == J_ORPHANS) {
            check_all_referenced(&fx);
            ig_store_stat st;
            assert_int_equal(ig_store_head(fx.store, "icegate/logs/data/orphan.parquet", &st, NULL),
                             IG_ENOENT);
        }
        icefx_strs_free(&before);
        icefx_teardown(&fx);
    }
    print_message("%s: %llu allocations per run, %d injected failures\n",
                  j == J_COMPACT     ? "compact"
                  : j == J_RETENTION ? "retention"
                  : j == J_EXPIRE    ? "expire"
                                     : "remove-orphans",
                  (unsigned long long)total, failures);
    assert_true(failures > 0);
}

static void test_compact_faults(void **state)
{
    (void)state;
    sweep(J_COMPACT);
}

static void test_retention_faults(void **state)
{
    (void)state;
    sweep(J_RETENTION);
}

static void test_expire_faults(void **state)
{
    (void)state;
    sweep(J_EXPIRE);
}

static void test_orphans_faults(void **state)
{
    (void)state;
    sweep(J_ORPHANS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_faults),
        cmocka_unit_test(test_retention_faults),
        cmocka_unit_test(test_expire_faults),
        cmocka_unit_test(test_orphans_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
