/* compact: small files of each (tenant, account, day) partition merged into one sorted
 * file by a `replace` commit that keeps the WAL position; rows preserved exactly; a crash
 * before the commit leaves the table unchanged and a rerun is correct; a lost swap
 * re-validates (a concurrent append is kept, files replaced by someone else drop the
 * partition from the run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "icegate/maintain_jobs.h"
#include "table/ice_fixture.h"

#define T0 1700000000000LL /* ms */
#define D0 (T0 * 1000)     /* µs */

static int setup(void **state)
{
    icefx *fx = calloc(1, sizeof *fx);
    *state = fx;
    return icefx_setup(fx);
}

static int teardown(void **state)
{
    icefx_teardown(*state);
    free(*state);
    return 0;
}

static void add(icefx *fx, const char *tenant, const char *account, int k, const char *wal)
{
    char b1[32], b2[32], b3[32];
    snprintf(b1, sizeof b1, "%s-%d-x", tenant, k);
    snprintf(b2, sizeof b2, "%s-%d-y", tenant, k);
    snprintf(b3, sizeof b3, "%s-%d-z", tenant, k);
    /* services and times interleave across files so the merge must reorder */
    icefx_row r[3] = {{D0 + k * 10, "web", b1}, {D0 + 100 - k, "api", b2}, {D0 + 50 + k, NULL, b3}};
    assert_int_equal(icefx_append(fx, tenant, account, r, 3, T0 + k, wal, NULL), 0);
}

static void same_rows(icefx_strs *a, icefx_strs *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->v[i], b->v[i]);
}

/* service_name and timestamp of the rows of a file, in file order */
static void check_sorted(icefx *fx, const char *uri)
{
    ig_buf fb;
    ig_buf_init(&fb, 0);
    assert_int_equal(icefx_get_uri(fx, ig_str_from(uri), &fb), 0);
    pq_file *f = NULL;
    assert_int_equal(pq_open_mem(&f, fb.data, fb.len, NULL, NULL), 0);
    assert_int_equal(f->nrgs, 1);
    pq_colvec sv, ts;
    pq_colvec_init(&sv);
    pq_colvec_init(&ts);
    assert_int_equal(
        pq_read_column(f, 0, (size_t)pq_schema_find(f->schema, "service_name"), NULL, 0, &sv, NULL),
        0);
    assert_int_equal(
        pq_read_column(f, 0, (size_t)pq_schema_find(f->schema, "timestamp"), NULL, 0, &ts, NULL),
        0);
    ig_str prev = IG_STR_NULL;
    int64_t prev_ts = 0;
    size_t k = 0;
    for (size_t r = 0; r < ts.nvals; r++) {
        ig_str cur = sv.def[r] == sv.max_def ? pq_colvec_bytes(&sv, k++) : IG_STR_NULL;
        int64_t t = ((int64_t *)ts.vals)[r];
        if (r > 0) {
            /* nulls first, then ascending service; timestamp descending within one */
            int c = !prev.ptr ? (cur.ptr ? -1 : 0) : !cur.ptr ? 1 : ig_str_cmp(prev, cur);
            assert_true(c <= 0);
            if (c == 0)
                assert_true(prev_ts >= t);
        }
        prev = cur;
        prev_ts = t;
    }
    pq_colvec_free(&sv);
    pq_colvec_free(&ts);
    pq_close(f);
    ig_buf_free(&fb);
}

static void test_merge(void **state)
{
    icefx *fx = *state;
    for (int k = 0; k < 3; k++)
        add(fx, "t1", "a1", k, "w:1");
    add(fx, "t1", "a2", 7, "w:2");
    add(fx, "t2", NULL, 8, "w:3");
    add(fx, "t2", NULL, 9, "w:4");
    icefx_strs before, files;
    int64_t recs, sid0;
    assert_int_equal(icefx_rows(fx, &before), 0);
    assert_int_equal(before.n, 18);
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {0};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.commits, 1);
    assert_int_equal(res.files_removed, 5);
    assert_int_equal(res.files_added, 2);
    assert_int_equal(res.rows_rewritten, 15);
    assert_int_equal(icefx_live(fx, &files, &recs, &sid0), 0);
    assert_int_equal(files.n, 3);
    assert_int_equal(recs, 18);
    int merged = 0;
    for (size_t i = 0; i < files.n; i++)
        if (strstr(files.v[i], "account_id=a1/") || strstr(files.v[i], "account_id=null/")) {
            check_sorted(fx, files.v[i]);
            merged++;
        }
    assert_int_equal(merged, 2);
    icefx_strs after;
    assert_int_equal(icefx_rows(fx, &after), 0);
    same_rows(&before, &after);
    /* the replace snapshot keeps the base's WAL position */
    catalog_table t;
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", &t, &eb), 0);
    const ice_snapshot *s = ice_metadata_snapshot(&t.meta, t.meta.current_snapshot_id);
    assert_true(ig_str_eq_cstr(s->operation, "replace"));
    bool wal = false, total = false;
    for (size_t i = 0; i < s->nsummary; i++) {
        if (ig_str_eq_cstr(s->summary[i].key, "icegate.wal-position"))
            wal = ig_str_eq_cstr(s->summary[i].value, "w:4");
        if (ig_str_eq_cstr(s->summary[i].key, "total-records"))
            total = ig_str_eq_cstr(s->summary[i].value, "18");
    }
    assert_true(wal);
    assert_true(total);
    catalog_table_free(&t);
    /* nothing left to do: no commit */
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.commits, 0);
    icefx_strs_free(&before);
    icefx_strs_free(&after);
    icefx_strs_free(&files);
}

static int crash(void *ctx)
{
    (void)ctx;
    return IG_ECANCELED;
}

static void test_crash_then_rerun(void **state)
{
    icefx *fx = *state;
    for (int k = 0; k < 4; k++)
        add(fx, "t1", "a1", k, "w:1");
    icefx_strs before, files0, files1;
    int64_t recs, sid0, sid1;
    assert_int_equal(icefx_rows(fx, &before), 0);
    assert_int_equal(icefx_live(fx, &files0, &recs, &sid0), 0);
    size_t data0 = icefx_count(fx, "icegate/logs/data/");
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {.before_commit = crash};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), IG_ECANCELED);
    /* files written, nothing committed: the table is exactly as before */
    assert_int_equal(icefx_count(fx, "icegate/logs/data/"), data0 + 1);
    assert_int_equal(icefx_live(fx, &files1, &recs, &sid1), 0);
    assert_int_equal(sid1, sid0);
    assert_int_equal(files1.n, files0.n);
    icefx_strs mid;
    assert_int_equal(icefx_rows(fx, &mid), 0);
    same_rows(&before, &mid);
    icefx_strs_free(&files1);
    /* rerun: correct, rows exactly once */
    o.before_commit = NULL;
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.files_removed, 4);
    assert_int_equal(icefx_live(fx, &files1, &recs, &sid1), 0);
    assert_int_equal(files1.n, 1);
    assert_int_equal(recs, 12);
    icefx_strs after;
    assert_int_equal(icefx_rows(fx, &after), 0);
    same_rows(&before, &after);
    /* the crashed run's file is an orphan: remove-orphans (no age limit) finds only it */
    ig_mj_orphans orph;
    ig_mj_orphan_opts oo = {.min_age_ms = -1, .dry_run = true};
    assert_int_equal(ig_mj_remove_orphans(fx->cat, fx->store, IG_TABLE_LOGS, &oo, &orph, &res, &eb),
                     0);
    assert_int_equal(orph.n, 1);
    assert_non_null(strstr(orph.keys[0], "icegate/logs/data/tenant_id=t1/account_id=a1/"));
    ig_mj_orphans_free(&orph);
    icefx_strs_free(&before);
    icefx_strs_free(&mid);
    icefx_strs_free(&after);
    icefx_strs_free(&files0);
    icefx_strs_free(&files1);
}

typedef struct race {
    icefx *fx;
    int mode; /* 0: concurrent append; 1: concurrent compaction of the same files */
    int calls;
} race;

static int racer(void *ctx)
{
    race *r = ctx;
    r->calls++;
    if (r->mode == 0) {
        add(r->fx, "t1", "a1", 50, "w:9");
    } else {
        ig_mj_result res;
        ig_errbuf eb = {{0}};
        ig_mj_compact_opts o = {0};
        assert_int_equal(ig_mj_compact(r->fx->cat, r->fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
        assert_int_equal(res.files_removed, 3);
    }
    return 0;
}

static void test_concurrent_append(void **state)
{
    icefx *fx = *state;
    for (int k = 0; k < 3; k++)
        add(fx, "t1", "a1", k, "w:1");
    race r = {fx, 0, 0};
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {.before_commit = racer, .hook_ctx = &r};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(res.conflicts, 1);
    assert_int_equal(res.commits, 1);
    assert_int_equal(res.files_removed, 3);
    icefx_strs files;
    int64_t recs;
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    assert_int_equal(files.n, 2); /* the merged file and the concurrent append */
    assert_int_equal(recs, 12);
    icefx_strs_free(&files);
    /* the WAL position of the concurrent append (the new base) is the one kept */
    catalog_table t;
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", &t, &eb), 0);
    assert_non_null(strstr(t.meta.json.ptr, "\"icegate.wal-position\":\"w:9\""));
    catalog_table_free(&t);
}

static void test_concurrent_compaction(void **state)
{
    icefx *fx = *state;
    for (int k = 0; k < 3; k++)
        add(fx, "t1", "a1", k, "w:1");
    icefx_strs before;
    assert_int_equal(icefx_rows(fx, &before), 0);
    race r = {fx, 1, 0};
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {.before_commit = racer, .hook_ctx = &r};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.commits, 0);
    assert_int_equal(res.partitions_skipped, 1);
    icefx_strs files, after;
    int64_t recs;
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    assert_int_equal(files.n, 1);
    assert_int_equal(recs, 9);
    assert_int_equal(icefx_rows(fx, &after), 0);
    same_rows(&before, &after);
    /* our dropped batch's file was deleted: only the winner's merged file + 3 old ones */
    assert_int_equal(icefx_count(fx, "icegate/logs/data/"), 4);
    icefx_strs_free(&files);
    icefx_strs_free(&before);
    icefx_strs_free(&after);
}

static void test_manifest_merge(void **state)
{
    icefx *fx = *state;
    /* one file per partition: nothing to merge, but 5 manifests >= merge_manifests_at 4 */
    const char *acc[] = {"a1", "a2", "a3", "a4", "a5"};
    for (int k = 0; k < 5; k++)
        add(fx, "t1", acc[k], k, "w:1");
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {.merge_manifests_at = 4};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.commits, 1);
    assert_int_equal(res.files_removed, 0);
    catalog_table t;
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", &t, &eb), 0);
    const ice_snapshot *s = ice_metadata_snapshot(&t.meta, t.meta.current_snapshot_id);
    ig_buf lb;
    ig_buf_init(&lb, 0);
    assert_int_equal(icefx_get_uri(fx, s->manifest_list, &lb), 0);
    ig_arena a;
    ig_arena_init(&a, 0);
    ig_mf_list_meta lm;
    ig_mf_list_entry *le;
    size_t n;
    assert_int_equal(ig_manifest_list_read(ig_buf_str(&lb), &a, &lm, &le, &n, &eb), 0);
    assert_int_equal(n, 1);
    assert_int_equal(le[0].existing_files_count, 5);
    assert_int_equal(le[0].existing_rows_count, 15);
    ig_arena_free(&a);
    ig_buf_free(&lb);
    catalog_table_free(&t);
    icefx_strs files;
    int64_t recs;
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    assert_int_equal(files.n, 5);
    assert_int_equal(recs, 15);
    icefx_strs_free(&files);
}

/* Unsorted inputs go through the in-memory path: a memory cap no file fits under merges
 * nothing (no commit, no error); a target below three files' bytes merges two. */
static void test_memory_cap(void **state)
{
    icefx *fx = *state;
    fx->unsorted = true; /* the in-memory path: inputs not in the table's order */
    for (int k = 0; k < 3; k++)
        add(fx, "t1", "a1", k, "w:1");
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {.max_memory = 100};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.commits, 0);
    size_t data = icefx_count(fx, "icegate/logs/data/");
    assert_int_equal(data, 3);
    /* two files per batch at most: target below three files' bytes */
    icefx_strs files;
    int64_t recs;
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    ig_store_stat st;
    ig_buf key;
    ig_buf_init(&key, 0);
    assert_int_equal(catalog_key_of_uri(fx->store, ig_str_from(files.v[0]), &key), 0);
    assert_int_equal(ig_store_head(fx->store, key.data, &st, NULL), 0);
    ig_buf_free(&key);
    o = (ig_mj_compact_opts){.target_bytes = st.size * 2 + st.size / 2};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.files_removed, 2);
    assert_int_equal(res.files_added, 1);
    icefx_strs_free(&files);
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    assert_int_equal(files.n, 2);
    assert_int_equal(recs, 9);
    icefx_strs_free(&files);
}

/* A file another engine wrote (other columns) cannot be merged: its batch is skipped, the
 * other partitions are still compacted, nothing is lost. */
static void test_foreign_file_skipped(void **state)
{
    icefx *fx = *state;
    add(fx, "t1", "a1", 0, "w:1");
    fx->foreign = true;
    add(fx, "t1", "a1", 1, "w:1");
    fx->foreign = false;
    add(fx, "t2", "a1", 2, "w:1");
    add(fx, "t2", "a1", 3, "w:1");
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {0};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.partitions_skipped, 1);
    assert_int_equal(res.commits, 1);
    assert_int_equal(res.files_removed, 2);
    icefx_strs files;
    int64_t recs;
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    assert_int_equal(files.n, 3);
    assert_int_equal(recs, 12);
    icefx_strs_free(&files);
}

/* Sorted inputs stream through the k-way merge: windows of 64 rows (the memory cap is
 * tiny), 10-row row groups, outputs rolled over at the target; rows equal and every
 * output sorted. */
static void test_streaming_rollover(void **state)
{
    icefx *fx = *state;
    for (int k = 0; k < 4; k++) {
        icefx_row r[100];
        char bodies[100][24];
        for (int i = 0; i < 100; i++) {
            snprintf(bodies[i], sizeof bodies[i], "f%d-r%d", k, i);
            r[i] = (icefx_row){D0 + (i * 37 + k * 11) % 1000,
                               i % 3 ? (i % 3 == 1 ? "api" : "web") : NULL, bodies[i]};
        }
        assert_int_equal(icefx_append(fx, "t1", "a1", r, 100, T0 + k, "w:1", NULL), 0);
    }
    icefx_strs before, files;
    int64_t recs;
    assert_int_equal(icefx_rows(fx, &before), 0);
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    uint64_t maxsize = 0;
    for (size_t i = 0; i < files.n; i++) {
        ig_buf key;
        ig_buf_init(&key, 0);
        ig_store_stat st;
        assert_int_equal(catalog_key_of_uri(fx->store, ig_str_from(files.v[i]), &key), 0);
        assert_int_equal(ig_store_head(fx->store, key.data, &st, NULL), 0);
        if (st.size > maxsize)
            maxsize = st.size;
        ig_buf_free(&key);
    }
    icefx_strs_free(&files);
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {.target_bytes = maxsize + 1, .row_group_rows = 10, .max_memory = 1};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.commits, 1);
    assert_int_equal(res.files_removed, 4);
    assert_true(res.files_added >= 2);
    assert_int_equal(res.rows_rewritten, 400);
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    assert_int_equal(files.n, res.files_added);
    assert_int_equal(recs, 400);
    /* the outputs are sorted as one sequence: each file sorted, files in order */
    for (size_t i = 0; i < files.n; i++) {
        ig_buf fb;
        ig_buf_init(&fb, 0);
        assert_int_equal(icefx_get_uri(fx, ig_str_from(files.v[i]), &fb), 0);
        pq_file *f = NULL;
        assert_int_equal(pq_open_mem(&f, fb.data, fb.len, NULL, NULL), 0);
        assert_true(f->nrgs >= 1);
        assert_true(f->rgs[0].num_rows <= 10);
        pq_close(f);
        ig_buf_free(&fb);
    }
    icefx_strs after;
    assert_int_equal(icefx_rows(fx, &after), 0);
    same_rows(&before, &after);
    icefx_strs_free(&before);
    icefx_strs_free(&after);
    icefx_strs_free(&files);
}

typedef struct appender {
    icefx *fx;
    int n;
    int err;
    _Atomic int done;
} appender;

static void *append_thread(void *arg)
{
    appender *ap = arg;
    for (int k = 0; k < ap->n && !ap->err; k++) {
        char b1[32], b2[32];
        snprintf(b1, sizeof b1, "thr-%d-a", k);
        snprintf(b2, sizeof b2, "thr-%d-b", k);
        icefx_row r[2] = {{D0 + k, "api", b1}, {D0 + 2 * k, "web", b2}};
        if (icefx_append(ap->fx, k % 2 ? "t1" : "t2", "a1", r, 2, T0 + k, "w:t", NULL))
            ap->err = 1;
        struct timespec ts = {0, 2000000}; /* let compactions in between */
        nanosleep(&ts, NULL);
    }
    ap->done = 1;
    return NULL;
}

/* Real threads: appends (a shift) and compactions running at the same time on one catalog
 * never lose or double a row. */
static void test_threads_append_and_compact(void **state)
{
    icefx *fx = *state;
    appender ap = {fx, 30, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, append_thread, &ap), 0);
    uint64_t commits = 0, conflicts = 0;
    while (!ap.done) {
        ig_mj_result res;
        ig_errbuf eb = {{0}};
        ig_mj_compact_opts o = {0};
        int rc = ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb);
        if (rc)
            fail_msg("compact: %d %s", rc, eb.msg);
        commits += res.commits;
        conflicts += res.conflicts;
    }
    pthread_join(th, NULL);
    assert_int_equal(ap.err, 0);
    /* how much really interleaved depends on the scheduler: reported, not asserted */
    print_message("during the appends: %llu compaction commits, %llu conflicts\n",
                  (unsigned long long)commits, (unsigned long long)conflicts);
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts o = {0};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    icefx_strs rows, files;
    int64_t recs;
    assert_int_equal(icefx_rows(fx, &rows), 0);
    assert_int_equal(rows.n, 60);
    for (size_t i = 1; i < rows.n; i++) /* every body once */
        assert_string_not_equal(rows.v[i - 1], rows.v[i]);
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    assert_int_equal(files.n, 2); /* one file per tenant after the last compaction */
    assert_int_equal(recs, 60);
    icefx_strs_free(&rows);
    icefx_strs_free(&files);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_then_rerun, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_file_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_rollover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_append_and_compact, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
