/* expire-snapshots: the newest N and the young are kept, the current one always; the
 * metadata loses exactly the expired snapshots (snapshot-log, refs consistent); files
 * only expired snapshots reached are deleted, live files never. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "icegate/maintain_jobs.h"
#include "table/ice_fixture.h"

#define T0 1700000000000LL /* ms */
#define DAY0_US (T0 * 1000)
static int64_t mj_now_plus_hour(void)
{
    return ig_now_ns() / 1000000 + 3600 * 1000;
}

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

static void append_n(icefx *fx, int n, int64_t *ids)
{
    for (int i = 0; i < n; i++) {
        char body[32];
        snprintf(body, sizeof body, "line %d", i);
        icefx_row r[2] = {{DAY0_US + i, "api", body}, {DAY0_US + i + 1, "db", body}};
        char wal[32];
        snprintf(wal, sizeof wal, "w1:%d", i);
        assert_int_equal(icefx_append(fx, "t1", "a1", r, 2, T0 + i * 1000, wal, &ids[i]), 0);
    }
}

static void load(icefx *fx, catalog_table *t)
{
    ig_errbuf eb = {{0}};
    assert_int_equal(catalog_table_load(fx->cat, fx->store, "icegate", "logs", t, &eb), 0);
}

static void test_keep_last(void **state)
{
    icefx *fx = *state;
    int64_t ids[5];
    append_n(fx, 5, ids);
    icefx_strs before;
    assert_int_equal(icefx_rows(fx, &before), 0);
    assert_int_equal(before.n, 10);
    size_t meta_before = icefx_count(fx, "icegate/logs/metadata/");
    ig_mj_expire_opts o = {.now_ms = T0 + 3600 * 1000, .keep_last = 2};
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.snapshots_expired, 3);
    assert_int_equal(res.commits, 1);
    /* appends keep earlier manifests: only the 3 expired manifest lists were unreachable */
    assert_int_equal(res.objects_deleted, 3);
    /* + one metadata file, - three manifest lists */
    assert_int_equal(icefx_count(fx, "icegate/logs/metadata/"), meta_before + 1 - 3);
    catalog_table t;
    load(fx, &t);
    assert_int_equal(t.meta.nsnapshots, 2);
    assert_non_null(ice_metadata_snapshot(&t.meta, ids[3]));
    assert_non_null(ice_metadata_snapshot(&t.meta, ids[4]));
    assert_null(ice_metadata_snapshot(&t.meta, ids[0]));
    assert_int_equal(t.meta.current_snapshot_id, ids[4]);
    assert_int_equal(t.meta.nsnapshot_log, 2);
    assert_int_equal(t.meta.snapshot_log[0].snapshot_id, ids[3]);
    assert_int_equal(t.meta.snapshot_log[1].snapshot_id, ids[4]);
    assert_true(t.meta.nmetadata_log >= 6);
    assert_true(strstr(t.meta.json.ptr, "\"main\":{\"snapshot-id\":") != NULL);
    catalog_table_free(&t);
    icefx_strs after;
    assert_int_equal(icefx_rows(fx, &after), 0);
    assert_int_equal(after.n, before.n);
    for (size_t i = 0; i < after.n; i++)
        assert_string_equal(after.v[i], before.v[i]);
    icefx_strs_free(&before);
    icefx_strs_free(&after);
    /* a second run finds nothing more to expire */
    assert_int_equal(ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.snapshots_expired, 0);
    assert_int_equal(res.commits, 0);
}

static void test_young_and_current_kept(void **state)
{
    icefx *fx = *state;
    int64_t ids[3];
    append_n(fx, 3, ids);
    ig_errbuf eb = {{0}};
    ig_mj_result res;
    /* all younger than 30 minutes (the default): nothing goes even with keep_last 1 */
    ig_mj_expire_opts o = {.now_ms = T0 + 60 * 1000, .keep_last = 1};
    assert_int_equal(ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.snapshots_expired, 0);
    /* young = 2 s at T0+3500: T0 was superseded at T0+1000 (2.5 s ago) and goes; T0+1000
     * was superseded at T0+2000, only 1.5 s ago, so a query may still read it: kept */
    o = (ig_mj_expire_opts){.now_ms = T0 + 3500, .keep_last = 1, .keep_young_ms = 2000};
    assert_int_equal(ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.snapshots_expired, 1);
    catalog_table t;
    load(fx, &t);
    assert_int_equal(t.meta.nsnapshots, 2);
    assert_null(ice_metadata_snapshot(&t.meta, ids[0]));
    catalog_table_free(&t);
    o.now_ms = T0 + 4000; /* now T0+1000 has been superseded for 2 s */
    assert_int_equal(ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.snapshots_expired, 1);
    load(fx, &t);
    assert_int_equal(t.meta.nsnapshots, 1);
    assert_int_equal(t.meta.current_snapshot_id, ids[2]);
    /* the writer refuses to drop the current snapshot */
    ig_buf out;
    ig_buf_init(&out, 0);
    assert_int_equal(
        ice_metadata_write_expire(&t.meta, ig_buf_str(&t.location), &ids[2], 1, T0, &out, &eb),
        IG_EINVAL);
    assert_int_equal(
        ice_metadata_write_expire(&t.meta, ig_buf_str(&t.location), &ids[0], 1, T0, &out, &eb),
        IG_ENOENT);
    ig_buf_free(&out);
    catalog_table_free(&t);
}

/* After a compaction, the small files are live only in expired snapshots: deleted. */
static void test_deletes_unreachable_data(void **state)
{
    icefx *fx = *state;
    int64_t ids[4];
    append_n(fx, 4, ids);
    icefx_strs old_files;
    int64_t recs;
    assert_int_equal(icefx_live(fx, &old_files, &recs, NULL), 0);
    assert_int_equal(old_files.n, 4);
    ig_errbuf eb = {{0}};
    ig_mj_result res;
    ig_mj_compact_opts co = {0};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &co, &res, &eb), 0);
    assert_int_equal(res.files_removed, 4);
    icefx_strs new_files;
    assert_int_equal(icefx_live(fx, &new_files, &recs, NULL), 0);
    assert_int_equal(new_files.n, 1);
    assert_int_equal(recs, 8);
    for (size_t i = 0; i < old_files.n; i++)
        assert_true(icefx_exists(fx, ig_str_from(old_files.v[i])));
    ig_mj_expire_opts o = {.now_ms = mj_now_plus_hour(), .keep_last = 1};
    assert_int_equal(ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.snapshots_expired, 4);
    for (size_t i = 0; i < old_files.n; i++)
        assert_false(icefx_exists(fx, ig_str_from(old_files.v[i])));
    assert_true(icefx_exists(fx, ig_str_from(new_files.v[0])));
    /* 4 data files + 4 manifest lists + 4 manifests of the appends (the compaction's
     * manifest replaced them all) */
    assert_int_equal(res.objects_deleted, 12);
    icefx_strs rows;
    assert_int_equal(icefx_rows(fx, &rows), 0);
    assert_int_equal(rows.n, 8);
    icefx_strs_free(&rows);
    icefx_strs_free(&old_files);
    icefx_strs_free(&new_files);
}

/* Replaces the table's metadata with `json` (a new file + the catalog swap). */
static void swap_metadata(icefx *fx, catalog_table *t, const char *json)
{
    ig_buf key, uri;
    ig_buf_init(&key, 0);
    ig_buf_init(&uri, 0);
    char uuid[37];
    ice_uuid4(uuid);
    ig_buf_printf(&key, "icegate/logs/metadata/%05d-%s.metadata.json",
                  ice_metadata_file_version(ig_buf_str(&t->location)) + 1, uuid);
    ig_store_uri(fx->store, key.data, &uri);
    assert_int_equal(ig_store_put_if_absent(fx->store, key.data, json, strlen(json), NULL), 0);
    assert_int_equal(
        catalog_commit_table(fx->cat, "icegate", "logs", t->location.data, uri.data, NULL), 0);
    ig_buf_free(&key);
    ig_buf_free(&uri);
}

/* A tag on an old snapshot keeps it; statistics of expired snapshots leave with them; a
 * tag on a snapshot the writer is told to remove is dropped. */
static void test_refs_and_statistics(void **state)
{
    icefx *fx = *state;
    int64_t ids[4];
    append_n(fx, 4, ids);
    catalog_table t;
    load(fx, &t);
    char refs[256], stats[512];
    snprintf(refs, sizeof refs, "\"refs\":{\"keep-me\":{\"snapshot-id\":%lld,\"type\":\"tag\"},",
             (long long)ids[0]);
    snprintf(stats, sizeof stats,
             "\"statistics\":[{\"snapshot-id\":%lld,\"statistics-path\":\"file:///"
             "s1\",\"file-size-in-bytes\":1,"
             "\"file-footer-size-in-bytes\":1,\"blob-metadata\":[]},{\"snapshot-id\":%lld,"
             "\"statistics-path\":\"file:///"
             "s2\",\"file-size-in-bytes\":1,\"file-footer-size-in-bytes\":1,"
             "\"blob-metadata\":[]}]",
             (long long)ids[1], (long long)ids[3]);
    /* splice: "refs":{ -> with the tag; "statistics":[] -> two entries */
    const char *js = t.meta.json.ptr;
    const char *r = strstr(js, "\"refs\":{");
    const char *st = strstr(js, "\"statistics\":[]");
    assert_non_null(r);
    assert_non_null(st);
    ig_buf nj;
    ig_buf_init(&nj, 0);
    if (r < st) {
        ig_buf_append(&nj, js, (size_t)(r - js));
        ig_buf_append_cstr(&nj, refs);
        ig_buf_append(&nj, r + 8, (size_t)(st - (r + 8)));
        ig_buf_append_cstr(&nj, stats);
        ig_buf_append_cstr(&nj, st + strlen("\"statistics\":[]"));
    } else {
        ig_buf_append(&nj, js, (size_t)(st - js));
        ig_buf_append_cstr(&nj, stats);
        ig_buf_append(&nj, st + strlen("\"statistics\":[]"),
                      (size_t)(r - (st + strlen("\"statistics\":[]"))));
        ig_buf_append_cstr(&nj, refs);
        ig_buf_append_cstr(&nj, r + 8);
    }
    ice_metadata probe;
    ig_errbuf eb = {{0}};
    assert_int_equal(ice_metadata_parse(ig_buf_str(&nj), &probe, &eb), 0);
    /* the writer alone: removing the tagged snapshot drops the tag */
    ig_buf out;
    ig_buf_init(&out, 0);
    assert_int_equal(
        ice_metadata_write_expire(&probe, ig_buf_str(&t.location), &ids[0], 1, T0, &out, &eb), 0);
    assert_null(strstr(out.data, "keep-me"));
    assert_non_null(strstr(out.data, "file:///s1"));
    ice_metadata back;
    assert_int_equal(ice_metadata_parse(ig_buf_str(&out), &back, &eb), 0);
    assert_int_equal(back.nsnapshots, 3);
    ice_metadata_free(&back);
    ig_buf_free(&out);
    ice_metadata_free(&probe);
    swap_metadata(fx, &t, nj.data);
    ig_buf_free(&nj);
    catalog_table_free(&t);
    /* the job: keep_last 1 would expire ids 0..2, but the tag keeps ids[0] */
    ig_mj_expire_opts o = {.now_ms = T0 + 3600 * 1000, .keep_last = 1};
    ig_mj_result res;
    assert_int_equal(ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &o, &res, &eb), 0);
    assert_int_equal(res.snapshots_expired, 2);
    load(fx, &t);
    assert_int_equal(t.meta.nsnapshots, 2);
    assert_non_null(ice_metadata_snapshot(&t.meta, ids[0]));
    assert_non_null(strstr(t.meta.json.ptr, "keep-me"));
    assert_null(strstr(t.meta.json.ptr, "file:///s1"));     /* ids[1]'s statistics went */
    assert_non_null(strstr(t.meta.json.ptr, "file:///s2")); /* the current one's stayed */
    /* snapshot-log: ids[1] and ids[2] removed, so only entries after them remain */
    assert_int_equal(t.meta.nsnapshot_log, 1);
    assert_int_equal(t.meta.snapshot_log[0].snapshot_id, ids[3]);
    catalog_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keep_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_young_and_current_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletes_unreachable_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refs_and_statistics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
