/* retention: per-tenant periods; files whose day (or rows) are all past the cutoff are
 * dropped, a file straddling the cutoff is rewritten with its newer rows only (or kept
 * whole with keep_partial); tenants without a period keep everything; one commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "icegate/maintain_jobs.h"
#include "table/ice_fixture.h"

#define DAY ICEFX_US_PER_DAY
#define HOUR 3600000000LL
#define D0 (19700LL * DAY)               /* a day start, µs */
#define NOW_MS ((D0 + 12 * HOUR) / 1000) /* noon of D0 */

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

/* t1: 2 days; t2: forever; anything else: 1 day */
static int64_t period(void *ctx, ig_str tenant)
{
    (*(int *)ctx)++;
    if (ig_str_eq_cstr(tenant, "t1"))
        return 2 * DAY;
    if (ig_str_eq_cstr(tenant, "t2"))
        return 0;
    return DAY;
}

static void load_data(icefx *fx)
{
    int64_t ms = NOW_MS - 1000;
    /* t1, 5 days ago: whole day past the cutoff (D0 - 2d + 12h) */
    icefx_row a[2] = {{D0 - 5 * DAY + HOUR, "s", "old1"}, {D0 - 5 * DAY + 2 * HOUR, "s", "old2"}};
    assert_int_equal(icefx_append(fx, "t1", "a", a, 2, ms, "w:1", NULL), 0);
    /* t1, day D0-2: 01:00 is past the cutoff, 20:00 is not -> rewritten */
    icefx_row b[3] = {{D0 - 2 * DAY + HOUR, "s", "gone"},
                      {D0 - 2 * DAY + 20 * HOUR, "s", "kept1"},
                      {D0 - 2 * DAY + 21 * HOUR, "s", "kept2"}};
    assert_int_equal(icefx_append(fx, "t1", "a", b, 3, ms, "w:2", NULL), 0);
    /* t1, today: kept */
    icefx_row c[1] = {{D0 + HOUR, "s", "today"}};
    assert_int_equal(icefx_append(fx, "t1", "a", c, 1, ms, "w:3", NULL), 0);
    /* t2 (forever), 5 days ago: kept */
    icefx_row d[1] = {{D0 - 5 * DAY, "s", "t2old"}};
    assert_int_equal(icefx_append(fx, "t2", NULL, d, 1, ms, "w:4", NULL), 0);
    /* t3 (1 day), day D0-1 (ends after the cutoff D0 - 12h) but every row is before the
     * cutoff: dropped by its timestamp bounds */
    icefx_row e[1] = {{D0 - DAY + HOUR, "s", "t3"}};
    assert_int_equal(icefx_append(fx, "t3", NULL, e, 1, ms, "w:5", NULL), 0);
}

static bool has_body(icefx_strs *rows, const char *body)
{
    for (size_t i = 0; i < rows->n; i++) {
        const char *p = strrchr(rows->v[i], '|');
        if (p && !strcmp(p + 1, body))
            return true;
    }
    return false;
}

static void test_retention(void **state)
{
    icefx *fx = *state;
    load_data(fx);
    int calls = 0;
    ig_mj_retention_opts o = {.now_ms = NOW_MS, .period = period, .ctx = &calls};
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_mj_retention(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_true(calls >= 5);
    assert_int_equal(res.commits, 1);
    assert_int_equal(res.files_removed, 3); /* t1 old day, t1 straddling file, t3 */
    assert_int_equal(res.files_added, 1);
    assert_int_equal(res.rows_removed, 4);
    assert_int_equal(res.rows_rewritten, 2);
    icefx_strs rows;
    assert_int_equal(icefx_rows(fx, &rows), 0);
    assert_int_equal(rows.n, 4);
    assert_true(has_body(&rows, "kept1"));
    assert_true(has_body(&rows, "kept2"));
    assert_true(has_body(&rows, "today"));
    assert_true(has_body(&rows, "t2old"));
    assert_false(has_body(&rows, "gone"));
    assert_false(has_body(&rows, "old1"));
    icefx_strs_free(&rows);
    catalog_table t;
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", &t, &eb), 0);
    const ice_snapshot *s = ice_metadata_snapshot(&t.meta, t.meta.current_snapshot_id);
    assert_true(ig_str_eq_cstr(s->operation, "overwrite"));
    assert_non_null(strstr(t.meta.json.ptr, "\"icegate.wal-position\":\"w:5\""));
    catalog_table_free(&t);
    /* idempotent: a second run at the same time changes nothing */
    assert_int_equal(ig_mj_retention(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.commits, 0);
}

/* Manifest list entries of the current snapshot: total and those without live files. */
static void list_counts(icefx *fx, size_t *n, size_t *empty)
{
    catalog_table t;
    ig_errbuf eb = {{0}};
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", &t, &eb), 0);
    const ice_snapshot *s = ice_metadata_snapshot(&t.meta, t.meta.current_snapshot_id);
    ig_buf lb;
    ig_buf_init(&lb, 0);
    assert_int_equal(icefx_get_uri(fx, s->manifest_list, &lb), 0);
    ig_arena a;
    ig_arena_init(&a, 0);
    ig_mf_list_meta lm;
    ig_mf_list_entry *le;
    assert_int_equal(ig_manifest_list_read(ig_buf_str(&lb), &a, &lm, &le, n, &eb), 0);
    *empty = 0;
    for (size_t i = 0; i < *n; i++)
        if (le[i].added_files_count + le[i].existing_files_count == 0)
            (*empty)++;
    ig_arena_free(&a);
    ig_buf_free(&lb);
    catalog_table_free(&t);
}

static void test_keep_partial_and_forever(void **state)
{
    icefx *fx = *state;
    load_data(fx);
    int calls = 0;
    ig_mj_retention_opts o = {
        .now_ms = NOW_MS, .period = period, .ctx = &calls, .keep_partial = true};
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_mj_retention(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.files_removed, 2);
    assert_int_equal(res.files_added, 0);
    catalog_table t;
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", &t, &eb), 0);
    const ice_snapshot *s = ice_metadata_snapshot(&t.meta, t.meta.current_snapshot_id);
    assert_true(ig_str_eq_cstr(s->operation, "delete"));
    catalog_table_free(&t);
    icefx_strs rows;
    assert_int_equal(icefx_rows(fx, &rows), 0);
    assert_int_equal(rows.n, 5);
    assert_true(has_body(&rows, "gone")); /* kept: its file also holds newer rows */
    icefx_strs_free(&rows);
    /* the two dropped files were alone in their manifests: the new manifest holds only
     * their DELETED entries; the next rewrite leaves it out of the list */
    size_t n, empty;
    list_counts(fx, &n, &empty);
    assert_int_equal(n, 4);
    assert_int_equal(empty, 1);
    ig_mj_retention_opts strict = {.now_ms = NOW_MS, .period = period, .ctx = &calls};
    assert_int_equal(ig_mj_retention(fx->cat, fx->store, IG_TABLE_LOGS, &strict, &res, &eb), 0);
    assert_int_equal(res.files_removed, 1);
    list_counts(fx, &n, &empty);
    assert_int_equal(n, 3);
    assert_int_equal(empty, 0);
    assert_int_equal(icefx_rows(fx, &rows), 0);
    assert_int_equal(rows.n, 4);
    icefx_strs_free(&rows);
    /* no period anywhere (the default): nothing happens */
    ig_mj_retention_opts none = {.now_ms = NOW_MS};
    assert_int_equal(ig_mj_retention(fx->cat, fx->store, IG_TABLE_LOGS, &none, &res, &eb), 0);
    assert_int_equal(res.commits, 0);
}

/* A straddling file in another engine's layout cannot be rewritten: it is kept whole,
 * while the rest of the run still commits. */
static void test_foreign_straddler_kept(void **state)
{
    icefx *fx = *state;
    int64_t ms = NOW_MS - 1000;
    icefx_row a[1] = {{D0 - 5 * DAY + HOUR, "s", "old"}};
    assert_int_equal(icefx_append(fx, "t1", "a", a, 1, ms, "w:1", NULL), 0);
    fx->foreign = true;
    icefx_row b[2] = {{D0 - 2 * DAY + HOUR, "s", "gone"}, {D0 - 2 * DAY + 20 * HOUR, "s", "kept"}};
    assert_int_equal(icefx_append(fx, "t1", "a", b, 2, ms, "w:2", NULL), 0);
    fx->foreign = false;
    int calls = 0;
    ig_mj_retention_opts o = {.now_ms = NOW_MS, .period = period, .ctx = &calls};
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_mj_retention(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.commits, 1);
    assert_int_equal(res.files_removed, 1);
    assert_int_equal(res.files_added, 0);
    icefx_strs files;
    int64_t recs;
    assert_int_equal(icefx_live(fx, &files, &recs, NULL), 0);
    assert_int_equal(files.n, 1);
    assert_int_equal(recs, 2);
    icefx_strs_free(&files);
}

typedef struct race {
    icefx *fx;
    int calls;
} race;

/* the first commit attempt loses to a concurrent append */
static int race_append(void *ctx)
{
    race *r = ctx;
    if (r->calls++ == 0) {
        icefx_row x[1] = {{D0 + 2 * HOUR, "s", "concurrent"}};
        assert_int_equal(icefx_append(r->fx, "t1", "a", x, 1, NOW_MS, "w:9", NULL), 0);
    }
    return 0;
}

/* A lost swap: the retry reuses the rewrite (one rewritten file, not two), keeps the
 * concurrent append and its WAL position. */
static void test_conflict_reuses_rewrite(void **state)
{
    icefx *fx = *state;
    load_data(fx);
    size_t data0 = icefx_count(fx, "icegate/logs/data/");
    int calls = 0;
    race r = {fx, 0};
    ig_mj_retention_opts o = {.now_ms = NOW_MS,
                              .period = period,
                              .ctx = &calls,
                              .before_commit = race_append,
                              .hook_ctx = &r};
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_mj_retention(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(r.calls, 2);
    assert_int_equal(res.conflicts, 1);
    assert_int_equal(res.commits, 1);
    assert_int_equal(res.files_removed, 3);
    assert_int_equal(res.files_added, 1);
    /* on disk: the originals, the concurrent append, one rewrite */
    assert_int_equal(icefx_count(fx, "icegate/logs/data/"), data0 + 2);
    icefx_strs rows;
    assert_int_equal(icefx_rows(fx, &rows), 0);
    assert_int_equal(rows.n, 5);
    assert_true(has_body(&rows, "concurrent"));
    assert_true(has_body(&rows, "kept1"));
    icefx_strs_free(&rows);
    catalog_table t;
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", &t, &eb), 0);
    assert_non_null(strstr(t.meta.json.ptr, "\"icegate.wal-position\":\"w:9\""));
    catalog_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_partial_and_forever, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_straddler_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_reuses_rewrite, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
