/* SQLite catalog (JDBC schema): namespaces, create/load/list tables, the CAS commit
 * (first commit changes one row, a stale one is IG_ECONFLICT), concurrent committers that
 * retry on conflict never lose a commit, and `migrate` (create, idempotent re-run, schema
 * difference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"
#include "icegate/iceberg.h"

typedef struct fixture {
    char tmp[64];
    char db[128];
    char wh[128];
    bool pg; /* PostgreSQL backend instead of SQLite */
} fixture;

/* PostgreSQL: ICEGATE_TEST_PG_URI, else a throw-away server started for this run when the
 * binaries are installed (as the postgres user when we are root); else those tests skip. */
#include "pg_server.h"

static int pg_start(void **state)
{
    (void)state;
    test_pg_start("catalog");
    return 0;
}

static int pg_stop(void **state)
{
    (void)state;
    test_pg_stop();
    return 0;
}

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
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ig_catalog_test.XXXXXX");
    if (!mkdtemp(fx->tmp))
        return -1;
    snprintf(fx->db, sizeof fx->db, "%s/sub/catalog.db", fx->tmp);
    snprintf(fx->wh, sizeof fx->wh, "%s/warehouse", fx->tmp);
    *state = fx;
    return 0;
}

/* The same tests against PostgreSQL, on empty catalog tables. */
static int setup_pg(void **state)
{
    if (setup(state))
        return -1;
    fixture *fx = *state;
    fx->pg = true;
    if (!pg_uri[0])
        return 0;
    PGconn *conn = PQconnectdb(pg_uri);
    PGresult *r = PQexec(conn, "SET client_min_messages = warning; "
                               "DROP TABLE IF EXISTS iceberg_tables, iceberg_namespace_properties");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(conn);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    nftw(fx->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static int open_any(fixture *fx, catalog **c, ig_errbuf *eb)
{
    return fx->pg ? catalog_open_pg(pg_uri, c, eb) : catalog_open_sqlite(fx->db, c, eb);
}

static catalog *open_cat(fixture *fx)
{
    catalog *c = NULL;
    ig_errbuf eb = {{0}};
    if (fx->pg && !pg_uri[0])
        skip();
    int rc = open_any(fx, &c, &eb);
    if (rc)
        fail_msg("open %s: %d %s", fx->db, rc, eb.msg);
    return c;
}

static void test_namespaces_and_tables(void **state)
{
    fixture *fx = *state;
    catalog *c = open_cat(fx);
    ig_errbuf eb = {{0}};
    assert_int_equal(catalog_namespace_exists(c, "icegate", &eb), IG_ENOENT);
    assert_int_equal(catalog_create_namespace(c, "icegate", &eb), 0);
    assert_int_equal(catalog_create_namespace(c, "icegate", &eb), IG_EEXIST);
    assert_int_equal(catalog_namespace_exists(c, "icegate", &eb), 0);
    assert_int_equal(catalog_namespace_exists(c, "icegat", &eb), IG_ENOENT);

    assert_int_equal(catalog_create_table(c, "icegate", "logs", "file:///m/0.json", &eb), 0);
    assert_int_equal(catalog_create_table(c, "icegate", "logs", "file:///m/x.json", &eb),
                     IG_EEXIST);
    assert_non_null(strstr(eb.msg, "icegate.logs already exists"));
    assert_int_equal(catalog_create_table(c, "obs.prod", "spans", "file:///s/0.json", &eb), 0);
    /* a namespace exists through its tables and those of its children */
    assert_int_equal(catalog_namespace_exists(c, "obs", &eb), 0);
    assert_int_equal(catalog_namespace_exists(c, "obs.prod", &eb), 0);
    assert_int_equal(catalog_namespace_exists(c, "ob", &eb), IG_ENOENT);

    ig_buf loc;
    ig_buf_init(&loc, 4096);
    assert_int_equal(catalog_load_table(c, "icegate", "logs", &loc, &eb), 0);
    assert_string_equal(loc.data, "file:///m/0.json");
    ig_buf_reset(&loc);
    assert_int_equal(catalog_load_table(c, "icegate", "nope", &loc, &eb), IG_ENOENT);

    catalog_names names;
    assert_int_equal(catalog_list_namespaces(c, &names, &eb), 0);
    assert_int_equal(names.n, 2);
    assert_string_equal(names.names[0], "icegate");
    assert_string_equal(names.names[1], "obs.prod");
    catalog_names_free(&names);
    assert_int_equal(catalog_create_table(c, "icegate", "events", "file:///e/0.json", &eb), 0);
    assert_int_equal(catalog_list_tables(c, "icegate", &names, &eb), 0);
    assert_int_equal(names.n, 2);
    assert_string_equal(names.names[0], "events");
    assert_string_equal(names.names[1], "logs");
    catalog_names_free(&names);
    ig_buf_free(&loc);
    catalog_close(c);
}

static void test_cas_commit(void **state)
{
    fixture *fx = *state;
    catalog *c = open_cat(fx);
    ig_errbuf eb = {{0}};
    assert_int_equal(catalog_create_table(c, "icegate", "logs", "v0", &eb), 0);
    assert_int_equal(catalog_commit_table(c, "icegate", "logs", "v0", "v1", &eb), 0);
    /* stale: another committer already moved v0 -> v1 */
    assert_int_equal(catalog_commit_table(c, "icegate", "logs", "v0", "v1b", &eb), IG_ECONFLICT);
    assert_non_null(strstr(eb.msg, "lost"));
    assert_int_equal(catalog_commit_table(c, "icegate", "nope", "v0", "v1", &eb), IG_ENOENT);
    catalog_close(c);

    /* a second connection sees the committed pointer and the previous one */
    catalog *c2 = open_cat(fx);
    ig_buf loc;
    ig_buf_init(&loc, 4096);
    assert_int_equal(catalog_load_table(c2, "icegate", "logs", &loc, &eb), 0);
    assert_string_equal(loc.data, "v1");
    ig_buf_free(&loc);
    catalog_close(c2);
}

/* ---- concurrent committers ---------------------------------------------------------- */

#define NTHREADS 4
#define NCOMMITS 25

typedef struct worker {
    fixture *fx;
    catalog *shared; /* NULL: open an own connection */
    int id;
    int conflicts;
    int err;
} worker;

/* Each commit turns "n=<k>;..." into "n=<k+1>;t<id>.<i>", retrying on conflict; the final
 * count proves that no commit was lost. */
static void *commit_worker(void *arg)
{
    worker *wk = arg;
    catalog *c = wk->shared;
    ig_errbuf eb = {{0}};
    if (!c && open_any(wk->fx, &c, &eb)) {
        wk->err = 1;
        return NULL;
    }
    ig_buf loc;
    ig_buf_init(&loc, 4096);
    for (int i = 0; i < NCOMMITS && !wk->err; i++) {
        for (int attempt = 0;; attempt++) {
            ig_buf_reset(&loc);
            if (catalog_load_table(c, "icegate", "spans", &loc, &eb)) {
                wk->err = 2;
                break;
            }
            long n = strtol(loc.data + 2, NULL, 10);
            char next[64];
            snprintf(next, sizeof next, "n=%ld;t%d.%d", n + 1, wk->id, i);
            int rc = catalog_commit_table(c, "icegate", "spans", loc.data, next, &eb);
            if (rc == 0)
                break;
            if (rc != IG_ECONFLICT && rc != IG_EAGAIN) {
                wk->err = 3;
                break;
            }
            wk->conflicts++;
            if (attempt > 10000) {
                wk->err = 4;
                break;
            }
        }
    }
    ig_buf_free(&loc);
    if (!wk->shared)
        catalog_close(c);
    return NULL;
}

static void run_committers(fixture *fx, bool shared_handle)
{
    catalog *c = open_cat(fx);
    ig_errbuf eb = {{0}};
    assert_int_equal(catalog_create_table(c, "icegate", "spans", "n=0", &eb), 0);
    pthread_t th[NTHREADS];
    int total_conflicts = 0;
    worker wk[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        wk[i] = (worker){.fx = fx, .shared = shared_handle ? c : NULL, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, commit_worker, &wk[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(wk[i].err, 0);
        total_conflicts += wk[i].conflicts;
    }
    ig_buf loc;
    ig_buf_init(&loc, 4096);
    assert_int_equal(catalog_load_table(c, "icegate", "spans", &loc, &eb), 0);
    char want[16];
    snprintf(want, sizeof want, "n=%d;", NTHREADS * NCOMMITS);
    if (strncmp(loc.data, want, strlen(want)))
        fail_msg("final location %s, want prefix %s", loc.data, want);
    print_message("%d commits, %d conflicts retried\n", NTHREADS * NCOMMITS, total_conflicts);
    ig_buf_free(&loc);
    catalog_close(c);
}

static void test_concurrent_own_connections(void **state)
{
    run_committers(*state, false);
}

static void test_concurrent_shared_handle(void **state)
{
    run_committers(*state, true);
}

/* ---- migrate --------------------------------------------------------------------------- */

static char *run_migrate(fixture *fx, int want_rc, int *changes)
{
    catalog *c = open_cat(fx);
    ig_store *st = NULL;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_store_open_fs(fx->wh, &st, &eb), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    int rc = ig_migrate(c, st, out, changes, &eb);
    fclose(out);
    if (rc != want_rc)
        fail_msg("migrate: want %d got %d (%s); output:\n%s", want_rc, rc, eb.msg, text);
    ig_store_close(st);
    catalog_close(c);
    return text;
}

static void test_migrate(void **state)
{
    fixture *fx = *state;
    int changes = -1;
    char *text = run_migrate(fx, 0, &changes);
    assert_int_equal(changes, 5);
    assert_non_null(strstr(text, "created namespace icegate\n"));
    assert_non_null(strstr(text, "created table icegate.logs (metadata file:///"));
    assert_non_null(strstr(text, "created table icegate.events (metadata file:///"));
    free(text);

    text = run_migrate(fx, 0, &changes);
    assert_int_equal(changes, 0);
    assert_string_equal(text, "up to date\n");
    free(text);

    /* the recorded location is a readable metadata file for the right table */
    catalog *c = open_cat(fx);
    ig_store *st = NULL;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_store_open_fs(fx->wh, &st, &eb), 0);
    ig_buf loc, key, body;
    ig_buf_init(&loc, 4096);
    ig_buf_init(&key, 4096);
    ig_buf_init(&body, 1 << 20);
    assert_int_equal(catalog_load_table(c, "icegate", "metrics", &loc, &eb), 0);
    assert_int_equal(catalog_key_of_uri(st, ig_buf_str(&loc), &key), 0);
    assert_true(ig_str_has_prefix(ig_buf_str(&key), IG_STR("icegate/metrics/metadata/00000-")));
    assert_int_equal(ig_store_get(st, key.data, &body, &eb), 0);
    ice_metadata m;
    assert_int_equal(ice_metadata_parse(ig_buf_str(&body), &m, &eb), 0);
    assert_int_equal(m.last_column_id, ig_table_last_column_id(IG_TABLE_METRICS));
    assert_true(ig_str_has_prefix(m.location, IG_STR("file:///")));
    assert_true(ig_str_has_prefix(ig_buf_str(&loc), m.location));
    ice_metadata_free(&m);
    assert_int_equal(catalog_key_of_uri(st, IG_STR("s3://b/k"), &key), IG_EINVAL);

    /* replace logs by a table whose schema lacks columns: migrate reports and fails */
    const char *old_meta =
        "{\"format-version\":2,\"table-uuid\":\"u\",\"location\":\"file:///t\","
        "\"last-sequence-number\":0,\"last-updated-ms\":5,\"last-column-id\":2,"
        "\"current-schema-id\":0,\"schemas\":[{\"type\":\"struct\",\"schema-id\":0,"
        "\"fields\":[{\"id\":1,\"name\":\"tenant_id\",\"required\":true,\"type\":\"string\"},"
        "{\"id\":2,\"name\":\"account_id\",\"required\":false,\"type\":\"string\"}]}],"
        "\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,\"fields\":[]}],"
        "\"last-partition-id\":999,\"default-sort-order-id\":0,"
        "\"sort-orders\":[{\"order-id\":0,\"fields\":[]}]}";
    assert_int_equal(ig_store_put(st, "icegate/logs/metadata/00001-old.metadata.json", old_meta,
                                  strlen(old_meta), &eb),
                     0);
    ig_buf_reset(&body);
    assert_int_equal(ig_store_uri(st, "icegate/logs/metadata/00001-old.metadata.json", &body), 0);
    ig_buf_reset(&loc);
    assert_int_equal(catalog_load_table(c, "icegate", "logs", &loc, &eb), 0);
    assert_int_equal(catalog_commit_table(c, "icegate", "logs", loc.data, body.data, &eb), 0);
    text = run_migrate(fx, IG_EUNSUPPORTED, &changes);
    assert_non_null(strstr(text, "table icegate.logs: schema differs"));
    assert_non_null(strstr(text, "service_name (id 3)"));
    assert_non_null(strstr(text, "attributes.key (id 24)"));
    assert_null(strstr(text, "tenant_id (id 1)"));
    assert_null(strstr(text, "icegate.spans"));
    free(text);

    ig_buf_free(&loc);
    ig_buf_free(&key);
    ig_buf_free(&body);
    ig_store_close(st);
    catalog_close(c);
}

/* ---- the full commit protocol: load, write next metadata, CAS, retry ------------------ */

static int count_metadata_files(ig_store *st, const char *prefix)
{
    ig_store_listing l;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_store_list(st, prefix, NULL, 10000, &l, &eb), 0);
    int n = (int)l.count;
    ig_store_list_free(&l);
    return n;
}

static int commit_once(catalog *c, ig_store *st, int64_t id, bool *conflict)
{
    catalog_table t;
    ig_errbuf eb = {{0}};
    int rc = catalog_table_load(c, st, "icegate", "logs", &t, &eb);
    if (rc)
        return rc;
    char ml[128];
    snprintf(ml, sizeof ml, "file:///x/snap-%lld.avro", (long long)id);
    ice_kv sum[] = {{IG_STR("added-records"), IG_STR("1")}};
    ice_snapshot_new s = {.snapshot_id = id,
                          .timestamp_ms = 1700000000000 + id,
                          .manifest_list = ml,
                          .operation = "append",
                          .summary = sum,
                          .nsummary = 1};
    rc = catalog_table_commit_append(c, st, "icegate", "logs", &t, &s, NULL, &eb);
    *conflict = rc == IG_ECONFLICT;
    catalog_table_free(&t);
    return rc;
}

typedef struct pworker {
    fixture *fx;
    int id;
    int err;
    int conflicts;
} pworker;

static void *protocol_worker(void *arg)
{
    pworker *wk = arg;
    catalog *c = NULL;
    ig_store *st = NULL;
    ig_errbuf eb = {{0}};
    if (open_any(wk->fx, &c, &eb) || ig_store_open_fs(wk->fx->wh, &st, &eb)) {
        wk->err = 1;
        goto out;
    }
    for (int i = 0; i < 10 && !wk->err; i++) {
        int64_t id = 1000 * (wk->id + 1) + i;
        for (int attempt = 0;; attempt++) {
            bool conflict = false;
            int rc = commit_once(c, st, id, &conflict);
            if (rc == 0)
                break;
            if (!conflict || attempt > 1000) {
                wk->err = 2;
                break;
            }
            wk->conflicts++;
        }
    }
out:
    catalog_close(c);
    if (st)
        ig_store_close(st);
    return NULL;
}

static void test_commit_protocol(void **state)
{
    fixture *fx = *state;
    int changes;
    free(run_migrate(fx, 0, &changes));
    catalog *c = open_cat(fx);
    ig_store *st = NULL;
    ig_errbuf eb = {{0}};
    assert_int_equal(ig_store_open_fs(fx->wh, &st, &eb), 0);

    /* one commit: version 00001, one snapshot, metadata-log names version 00000 */
    catalog_table base, t;
    assert_int_equal(catalog_table_load(c, st, "icegate", "logs", &base, &eb), 0);
    ice_snapshot_new s = {.snapshot_id = 5,
                          .timestamp_ms = 1700000000000,
                          .manifest_list = "file:///x/snap-5.avro",
                          .operation = "append"};
    ig_buf loc;
    ig_buf_init(&loc, 4096);
    assert_int_equal(catalog_table_commit_append(c, st, "icegate", "logs", &base, &s, &loc, &eb),
                     0);
    assert_int_equal(ice_metadata_file_version(ig_buf_str(&loc)), 1);
    assert_int_equal(catalog_table_load(c, st, "icegate", "logs", &t, &eb), 0);
    assert_string_equal(t.location.data, loc.data);
    assert_int_equal(t.meta.current_snapshot_id, 5);
    assert_int_equal(t.meta.last_sequence_number, 1);
    assert_int_equal(t.meta.nmetadata_log, 1);
    assert_true(ig_str_eq_cstr(t.meta.metadata_log[0].metadata_file, base.location.data));
    assert_true(ig_str_eq(t.meta.table_uuid, base.meta.table_uuid));
    catalog_table_free(&t);

    /* a stale base loses, and its metadata file is removed */
    assert_int_equal(count_metadata_files(st, "icegate/logs/metadata/"), 2);
    s.snapshot_id = 6;
    assert_int_equal(catalog_table_commit_append(c, st, "icegate", "logs", &base, &s, NULL, &eb),
                     IG_ECONFLICT);
    assert_int_equal(count_metadata_files(st, "icegate/logs/metadata/"), 2);
    catalog_table_free(&base);

    /* concurrent committers retrying on conflict: every snapshot lands, in one chain */
    pthread_t th[3];
    pworker wk[3];
    for (int i = 0; i < 3; i++) {
        wk[i] = (pworker){.fx = fx, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, protocol_worker, &wk[i]), 0);
    }
    int conflicts = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(wk[i].err, 0);
        conflicts += wk[i].conflicts;
    }
    assert_int_equal(catalog_table_load(c, st, "icegate", "logs", &t, &eb), 0);
    assert_int_equal(t.meta.nsnapshots, 31);
    assert_int_equal(t.meta.last_sequence_number, 31);
    assert_int_equal(t.meta.nmetadata_log, 31);
    assert_int_equal(ice_metadata_file_version(ig_buf_str(&t.location)), 31);
    for (size_t i = 1; i < t.meta.nsnapshots; i++) {
        assert_int_equal(t.meta.snapshots[i].parent_snapshot_id,
                         t.meta.snapshots[i - 1].snapshot_id);
        assert_int_equal(t.meta.snapshots[i].sequence_number, (int64_t)i + 1);
    }
    /* losers cleaned up after themselves: one file per version */
    assert_int_equal(count_metadata_files(st, "icegate/logs/metadata/"), 32);
    print_message("31 commits, %d conflicts retried\n", conflicts);
    catalog_table_free(&t);
    ig_buf_free(&loc);
    ig_store_close(st);
    catalog_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_namespaces_and_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cas_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_own_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_shared_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_protocol, setup, teardown),
        {"pg_test_namespaces_and_tables", test_namespaces_and_tables, setup_pg, teardown, NULL},
        {"pg_test_cas_commit", test_cas_commit, setup_pg, teardown, NULL},
        {"pg_test_concurrent_own_connections", test_concurrent_own_connections, setup_pg, teardown,
         NULL},
        {"pg_test_concurrent_shared_handle", test_concurrent_shared_handle, setup_pg, teardown,
         NULL},
        {"pg_test_migrate", test_migrate, setup_pg, teardown, NULL},
        {"pg_test_commit_protocol", test_commit_protocol, setup_pg, teardown, NULL},
    };
    return cmocka_run_group_tests_name("table/catalog", tests, pg_start, pg_stop);
}
