/* The maintain leader lease on both catalog backends: one holder at a time, renewal by
 * the holder, takeover after expiry, release. PostgreSQL: ICEGATE_TEST_PG_URI, else a
 * throw-away server when the binaries are installed, else the PostgreSQL case skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/maintain.h"
#include "icegate/time.h"

#include "pg_server.h"

static char sq_dir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(sq_dir, sizeof sq_dir, "/tmp/ig_lease_test.XXXXXX");
    if (!mkdtemp(sq_dir))
        return -1;
    test_pg_start("lease");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", sq_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# rm failed\n");
    test_pg_stop();
    return 0;
}

static void lease_cases(catalog *a, catalog *b)
{
    ig_errbuf eb = {""};
    ig_buf who;
    ig_buf_init(&who, 1024);
    int64_t now = 1000000;
    /* a takes it; b cannot; a renews */
    assert_int_equal(catalog_lease(a, "maintain", "proc-a", now, 30000, NULL, &eb), 0);
    assert_int_equal(catalog_lease(b, "maintain", "proc-b", now + 1, 30000, &who, &eb), IG_EAGAIN);
    assert_string_equal(who.data, "proc-a");
    assert_int_equal(catalog_lease(a, "maintain", "proc-a", now + 20000, 30000, NULL, &eb), 0);
    /* still held at the old expiry (renewed to now + 50000) */
    assert_int_equal(catalog_lease(b, "maintain", "proc-b", now + 40000, 30000, NULL, &eb),
                     IG_EAGAIN);
    /* expired: b takes over, a is locked out */
    assert_int_equal(catalog_lease(b, "maintain", "proc-b", now + 50001, 30000, NULL, &eb), 0);
    ig_buf_reset(&who);
    assert_int_equal(catalog_lease(a, "maintain", "proc-a", now + 50002, 30000, &who, &eb),
                     IG_EAGAIN);
    assert_string_equal(who.data, "proc-b");
    /* a's release does not drop b's lease; b's does */
    assert_int_equal(catalog_lease(a, "maintain", "proc-a", now + 50003, -1, NULL, &eb), 0);
    assert_int_equal(catalog_lease(a, "maintain", "proc-a", now + 50004, 30000, NULL, &eb),
                     IG_EAGAIN);
    assert_int_equal(catalog_lease(b, "maintain", "proc-b", now + 50005, -1, NULL, &eb), 0);
    assert_int_equal(catalog_lease(a, "maintain", "proc-a", now + 50006, 30000, NULL, &eb), 0);
    /* another lease name is independent */
    assert_int_equal(catalog_lease(b, "other", "proc-b", now, 30000, NULL, &eb), 0);
    /* the wrappers over the clock */
    assert_int_equal(ig_lease_acquire(b, "wrapped", "proc-b", 60000, &eb), 0);
    assert_int_equal(ig_lease_acquire(a, "wrapped", "proc-a", 60000, &eb), IG_EAGAIN);
    assert_non_null(strstr(eb.msg, "proc-b"));
    assert_int_equal(ig_lease_release(b, "wrapped", "proc-b", &eb), 0);
    assert_int_equal(ig_lease_acquire(a, "wrapped", "proc-a", 60000, &eb), 0);
    ig_buf_free(&who);
}

static void test_lease_sqlite(void **state)
{
    (void)state;
    char db[128];
    snprintf(db, sizeof db, "%s/catalog.db", sq_dir);
    catalog *a = NULL, *b = NULL;
    ig_errbuf eb = {""};
    assert_int_equal(catalog_open_sqlite(db, &a, &eb), 0);
    assert_int_equal(catalog_open_sqlite(db, &b, &eb), 0);
    lease_cases(a, b);
    catalog_close(a);
    catalog_close(b);
}

static void test_lease_pg(void **state)
{
    (void)state;
    if (!pg_uri[0])
        skip();
    PGconn *conn = PQconnectdb(pg_uri);
    PGresult *r = PQexec(conn, "SET client_min_messages = warning; "
                               "DROP TABLE IF EXISTS icegate_maintain_lease");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(conn);
    catalog *a = NULL, *b = NULL;
    ig_errbuf eb = {""};
    if (catalog_open_pg(pg_uri, &a, &eb) || catalog_open_pg(pg_uri, &b, &eb))
        fail_msg("pg: %s", eb.msg);
    lease_cases(a, b);
    catalog_close(a);
    catalog_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_sqlite),
        cmocka_unit_test(test_lease_pg),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
