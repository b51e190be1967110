/* remove-orphans: only unreferenced objects under the table location older than the
 * safety age go; live data, manifests, manifest lists and every metadata file of the
 * metadata-log stay; dry run deletes nothing; objects outside the table are untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "icegate/maintain_jobs.h"
#include "table/ice_fixture.h"

#define T0 1700000000000LL
#define D0 (T0 * 1000)
#define HOUR_MS 3600000LL

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

static void put(icefx *fx, const char *key)
{
    assert_int_equal(ig_store_put(fx->store, key, "x", 1, NULL), 0);
}

static bool exists(icefx *fx, const char *key)
{
    ig_store_stat st;
    return ig_store_head(fx->store, key, &st, NULL) == 0;
}

static void test_orphans(void **state)
{
    icefx *fx = *state;
    for (int k = 0; k < 3; k++) {
        icefx_row r[2] = {{D0 + k, "s", "a"}, {D0 + k + 1, "s", "b"}};
        assert_int_equal(icefx_append(fx, "t1", "a1", r, 2, T0 + k, "w:1", NULL), 0);
    }
    /* a compaction makes the small files unreachable from the current snapshot but still
     * reachable from older ones: they must stay */
    ig_mj_result res;
    ig_errbuf eb = {{0}};
    ig_mj_compact_opts co = {0};
    assert_int_equal(ig_mj_compact(fx->cat, fx->store, IG_TABLE_LOGS, &co, &res, &eb), 0);
    put(fx, "icegate/logs/data/tenant_id=t1/account_id=a1/timestamp_day=2023-11-14/orphan.parquet");
    put(fx, "icegate/logs/metadata/junk.avro");
    put(fx, "icegate/logs2/data/other.parquet"); /* another location with the same prefix */
    put(fx, "wal/logs/w1/00000001.parquet");     /* the WAL: outside every table */
    size_t all = icefx_count(fx, "icegate/logs/");
    icefx_strs before;
    assert_int_equal(icefx_rows(fx, &before), 0);
    int64_t now = ig_now_ns() / 1000000;
    /* everything is fresh: the default 24 h safety age protects it all */
    ig_mj_orphans o;
    ig_mj_orphan_opts oo = {.now_ms = now};
    assert_int_equal(ig_mj_remove_orphans(fx->cat, fx->store, IG_TABLE_LOGS, &oo, &o, &res, &eb),
                     0);
    assert_int_equal(o.n, 0);
    ig_mj_orphans_free(&o);
    /* a day later, dry run: exactly the two orphans, nothing deleted */
    oo = (ig_mj_orphan_opts){.now_ms = now + 25 * HOUR_MS, .dry_run = true};
    assert_int_equal(ig_mj_remove_orphans(fx->cat, fx->store, IG_TABLE_LOGS, &oo, &o, &res, &eb),
                     0);
    assert_int_equal(o.n, 2);
    assert_string_equal(
        o.keys[0],
        "icegate/logs/data/tenant_id=t1/account_id=a1/timestamp_day=2023-11-14/orphan.parquet");
    assert_string_equal(o.keys[1], "icegate/logs/metadata/junk.avro");
    assert_int_equal(res.objects_deleted, 0);
    ig_mj_orphans_free(&o);
    assert_int_equal(icefx_count(fx, "icegate/logs/"), all);
    /* for real */
    oo.dry_run = false;
    assert_int_equal(ig_mj_remove_orphans(fx->cat, fx->store, IG_TABLE_LOGS, &oo, &o, &res, &eb),
                     0);
    assert_int_equal(o.n, 2);
    assert_int_equal(res.objects_deleted, 2);
    ig_mj_orphans_free(&o);
    assert_int_equal(icefx_count(fx, "icegate/logs/"), all - 2);
    assert_true(exists(fx, "icegate/logs2/data/other.parquet"));
    assert_true(exists(fx, "wal/logs/w1/00000001.parquet"));
    /* 5 metadata files (migrate, 3 appends, compaction) all kept */
    ig_store_listing l;
    assert_int_equal(ig_store_list(fx->store, "icegate/logs/metadata/0", NULL, 1000, &l, NULL), 0);
    assert_int_equal(l.count, 5);
    ig_store_list_free(&l);
    icefx_strs after;
    assert_int_equal(icefx_rows(fx, &after), 0);
    assert_int_equal(after.n, before.n);
    for (size_t i = 0; i < after.n; i++)
        assert_string_equal(after.v[i], before.v[i]);
    icefx_strs_free(&before);
    icefx_strs_free(&after);
    /* then expire + orphans: nothing an old snapshot needed is left behind or lost */
    ig_mj_expire_opts eo = {.now_ms = now + 25 * HOUR_MS, .keep_last = 1};
    assert_int_equal(ig_mj_expire_snapshots(fx->cat, fx->store, IG_TABLE_LOGS, &eo, &res, &eb), 0);
    assert_int_equal(res.snapshots_expired, 3);
    oo.now_ms = now + 25 * HOUR_MS;
    assert_int_equal(ig_mj_remove_orphans(fx->cat, fx->store, IG_TABLE_LOGS, &oo, &o, &res, &eb),
                     0);
    assert_int_equal(o.n, 0);
    ig_mj_orphans_free(&o);
    assert_int_equal(icefx_rows(fx, &after), 0);
    assert_int_equal(after.n, 6);
    icefx_strs_free(&after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_orphans, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
