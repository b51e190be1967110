/* A throw-away PostgreSQL for unit tests that run catalog code against a real server.
 *
 * test_pg_start(tag): ICEGATE_TEST_PG_URI when set; else, when the Debian binaries are
 * installed, initdb + pg_ctl in /tmp/ig_<tag>_pg.XXXXXX (as the postgres user when we are
 * root, since PostgreSQL refuses to run as root); else nothing, and the PostgreSQL cases
 * skip (pg_uri stays empty). test_pg_stop() stops and removes a server it started.
 * Include once per test program. */
#ifndef ICEGATE_TEST_PG_SERVER_H
#define ICEGATE_TEST_PG_SERVER_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PG_BIN "/usr/lib/postgresql/15/bin"

static char pg_uri[512]; /* libpq URI of the server, "" when there is none */
static char pg_dir[64];  /* directory of a server we started, "" otherwise */

static void test_pg_start(const char *tag)
{
    const char *env = getenv("ICEGATE_TEST_PG_URI");
    if (env && env[0]) {
        snprintf(pg_uri, sizeof pg_uri, "%s", env);
        return;
    }
    if (access(PG_BIN "/initdb", X_OK) != 0)
        return;
    snprintf(pg_dir, sizeof pg_dir, "/tmp/ig_%s_pg.XXXXXX", tag);
    if (!mkdtemp(pg_dir)) {
        pg_dir[0] = 0;
        return;
    }
    const char *as = getuid() == 0 ? "runuser -u postgres -- " : "";
    char cmd[1024];
    if (getuid() == 0) {
        snprintf(cmd, sizeof cmd, "chown postgres %s", pg_dir);
        if (system(cmd) != 0)
            return;
    }
    snprintf(cmd, sizeof cmd,
             "%s" PG_BIN "/initdb -D %s/db -A trust -U ig >%s/initdb.log 2>&1 && "
             "%s" PG_BIN "/pg_ctl -D %s/db -o \"-k %s -h '' -F\" -l %s/log -w -t 30 start "
             ">/dev/null 2>&1",
             as, pg_dir, pg_dir, as, pg_dir, pg_dir, pg_dir);
    if (system(cmd) == 0)
        snprintf(pg_uri, sizeof pg_uri, "postgresql://ig@/postgres?host=%s", pg_dir);
    else
        fprintf(stderr, "# no PostgreSQL for this run (see %s)\n", pg_dir);
}

static void test_pg_stop(void)
{
    if (!pg_dir[0])
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s" PG_BIN "/pg_ctl -D %s/db -m immediate -w stop >/dev/null 2>&1",
             getuid() == 0 ? "runuser -u postgres -- " : "", pg_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# pg_ctl stop failed\n");
    snprintf(cmd, sizeof cmd, "rm -rf %s", pg_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# rm failed\n");
}

#endif
