/* PostgreSQL backend of the Iceberg JDBC/SQL catalog: the same schema and statements as
 * catalog_sqlite.c, through libpq. One connection per handle, serialised by a mutex;
 * autocommit statements at READ COMMITTED, where the CAS UPDATE is safe (a concurrent
 * UPDATE of the row re-evaluates the WHERE and changes 0 rows). A lost connection is
 * reset once per operation. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"

typedef struct pg_catalog {
    catalog base;
    PGconn *conn;
    pthread_mutex_t mu;
} pg_catalog;

static const char PG_SCHEMA_SQL[] =
    "CREATE TABLE IF NOT EXISTS iceberg_tables ("
    " catalog_name VARCHAR(255) NOT NULL,"
    " table_namespace VARCHAR(255) NOT NULL,"
    " table_name VARCHAR(255) NOT NULL,"
    " metadata_location VARCHAR(1000),"
    " previous_metadata_location VARCHAR(1000),"
    " iceberg_type VARCHAR(5),"
    " PRIMARY KEY (catalog_name, table_namespace, table_name));"
    "CREATE TABLE IF NOT EXISTS iceberg_namespace_properties ("
    " catalog_name VARCHAR(255) NOT NULL,"
    " namespace VARCHAR(255) NOT NULL,"
    " property_key VARCHAR(255),"
    " property_value VARCHAR(1000),"
    " PRIMARY KEY (catalog_name, namespace, property_key));"
    "ALTER TABLE iceberg_tables ADD COLUMN IF NOT EXISTS iceberg_type VARCHAR(5);";

/* Runs sql with text parameters (NULL-terminated list). Returns the result (caller PQclear)
 * or NULL with *rc set: IG_EEXIST for a unique violation, IG_EAGAIN for serialization
 * failures and deadlocks, IG_EIO otherwise. Caller holds the mutex. */
static PGresult *pg_run(pg_catalog *c, const char *sql, const char *const *args, int *rc,
                        const char *what, ig_errbuf *eb)
{
    int n = 0;
    while (args && args[n])
        n++;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (PQstatus(c->conn) != CONNECTION_OK)
            PQreset(c->conn);
        PGresult *r = PQexecParams(c->conn, sql, n, NULL, args, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            *rc = 0;
            return r;
        }
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (state && !strcmp(state, "23505")) {
            PQclear(r);
            *rc = IG_EEXIST;
            return NULL;
        }
        bool retry_conn = PQstatus(c->conn) != CONNECTION_OK && attempt == 0;
        if (!retry_conn) {
            int code =
                state && (!strcmp(state, "40001") || !strcmp(state, "40P01")) ? IG_EAGAIN : IG_EIO;
            *rc = ig_err(eb, code, "catalog (postgres) %s: %s", what, PQerrorMessage(c->conn));
            /* libpq messages end with a newline: drop it */
            if (eb) {
                size_t l = strlen(eb->msg);
                if (l && eb->msg[l - 1] == '\n')
                    eb->msg[l - 1] = 0;
            }
            PQclear(r);
            return NULL;
        }
        PQclear(r);
    }
    *rc = ig_err(eb, IG_EIO, "catalog (postgres) %s: connection lost", what);
    return NULL;
}

static int pg_rows(pg_catalog *c, const char *sql, const char *const *args, catalog_names *names,
                   ig_buf *one, const char *what, ig_errbuf *eb)
{
    int rc;
    PGresult *r = pg_run(c, sql, args, &rc, what, eb);
    if (!r)
        return rc;
    int rows = PQntuples(r);
    if (one && rows > 0 && !PQgetisnull(r, 0, 0))
        rc = ig_buf_append(one, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    if (names && rc == 0 && rows > 0) {
        names->names = ig_calloc((size_t)rows, sizeof *names->names);
        if (!names->names)
            rc = IG_ENOMEM;
        for (int i = 0; rc == 0 && i < rows; i++) {
            names->names[i] = ig_strndup(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
            if (!names->names[i])
                rc = IG_ENOMEM;
            else
                names->n++;
        }
    }
    PQclear(r);
    return rc < 0 ? rc : rows;
}

static const char SQL_NS_EXISTS[] =
    "SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2 "
    "UNION ALL SELECT 1 FROM iceberg_tables WHERE catalog_name = $1 AND (table_namespace = $2 "
    "OR substr(table_namespace, 1, length($2) + 1) = $2 || '.') LIMIT 1";
static const char SQL_LOAD[] =
    "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = $1 AND "
    "table_namespace = $2 AND table_name = $3 AND (iceberg_type = 'TABLE' OR iceberg_type IS "
    "NULL)";

static int pg_namespace_exists_locked(pg_catalog *c, const char *ns, ig_errbuf *eb)
{
    const char *args[] = {CATALOG_NAME, ns, NULL};
    int rows = pg_rows(c, SQL_NS_EXISTS, args, NULL, NULL, "namespace lookup", eb);
    if (rows < 0)
        return rows;
    return rows ? 0 : IG_ENOENT;
}

static int pg_namespace_exists(catalog *base, const char *ns, ig_errbuf *eb)
{
    pg_catalog *c = (pg_catalog *)base;
    pthread_mutex_lock(&c->mu);
    int rc = pg_namespace_exists_locked(c, ns, eb);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int pg_create_namespace(catalog *base, const char *ns, ig_errbuf *eb)
{
    pg_catalog *c = (pg_catalog *)base;
    if (!ns || !ns[0])
        return ig_err(eb, IG_EINVAL, "catalog: empty namespace name");
    pthread_mutex_lock(&c->mu);
    int rc = pg_namespace_exists_locked(c, ns, eb);
    if (rc == 0) {
        rc = IG_EEXIST;
    } else if (rc == IG_ENOENT) {
        const char *args[] = {CATALOG_NAME, ns, NULL};
        PGresult *r = pg_run(c,
                             "INSERT INTO iceberg_namespace_properties (catalog_name, namespace, "
                             "property_key, property_value) VALUES ($1, $2, 'exists', 'true')",
                             args, &rc, "create namespace", eb);
        PQclear(r);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int pg_list_namespaces(catalog *base, catalog_names *out, ig_errbuf *eb)
{
    pg_catalog *c = (pg_catalog *)base;
    const char *args[] = {CATALOG_NAME, NULL};
    out->names = NULL;
    out->n = 0;
    pthread_mutex_lock(&c->mu);
    int rc = pg_rows(c,
                     "SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = $1 "
                     "UNION SELECT table_namespace FROM iceberg_tables WHERE catalog_name = $1 "
                     "ORDER BY 1",
                     args, out, NULL, "list namespaces", eb);
    pthread_mutex_unlock(&c->mu);
    if (rc < 0)
        catalog_names_free(out);
    return rc < 0 ? rc : 0;
}

static int pg_create_table(catalog *base, const char *ns, const char *table,
                           const char *metadata_location, ig_errbuf *eb)
{
    pg_catalog *c = (pg_catalog *)base;
    if (!ns || !ns[0] || !table || !table[0] || !metadata_location || !metadata_location[0])
        return ig_err(eb, IG_EINVAL,
                      "catalog: create table needs a namespace, a name and a metadata location");
    const char *args[] = {CATALOG_NAME, ns, table, metadata_location, NULL};
    int rc;
    pthread_mutex_lock(&c->mu);
    PGresult *r = pg_run(c,
                         "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                         "metadata_location, previous_metadata_location, iceberg_type) "
                         "VALUES ($1, $2, $3, $4, NULL, 'TABLE')",
                         args, &rc, "create table", eb);
    PQclear(r);
    pthread_mutex_unlock(&c->mu);
    if (rc == IG_EEXIST)
        return ig_err(eb, IG_EEXIST, "catalog: table %s.%s already exists", ns, table);
    return rc;
}

static int pg_load_table(catalog *base, const char *ns, const char *table, ig_buf *out,
                         ig_errbuf *eb)
{
    pg_catalog *c = (pg_catalog *)base;
    const char *args[] = {CATALOG_NAME, ns, table, NULL};
    pthread_mutex_lock(&c->mu);
    int rows = pg_rows(c, SQL_LOAD, args, NULL, out, "load table", eb);
    pthread_mutex_unlock(&c->mu);
    if (rows < 0)
        return rows;
    if (rows == 0)
        return ig_err(eb, IG_ENOENT, "catalog: no table %s.%s", ns, table);
    return 0;
}

static int pg_commit_table(catalog *base, const char *ns, const char *table,
                           const char *old_location, const char *new_location, ig_errbuf *eb)
{
    pg_catalog *c = (pg_catalog *)base;
    if (!old_location || !new_location || !new_location[0])
        return ig_err(eb, IG_EINVAL, "catalog: commit needs the old and the new location");
    const char *args[] = {new_location, old_location, CATALOG_NAME, ns, table, NULL};
    int rc;
    pthread_mutex_lock(&c->mu);
    PGresult *r = pg_run(c,
                         "UPDATE iceberg_tables SET metadata_location = $1, "
                         "previous_metadata_location = $2 WHERE catalog_name = $3 AND "
                         "table_namespace = $4 AND table_name = $5 AND metadata_location = $2 "
                         "AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)",
                         args, &rc, "commit", eb);
    if (r) {
        const char *n = PQcmdTuples(r);
        bool one = n && !strcmp(n, "1");
        PQclear(r);
        if (!one) {
            const char *largs[] = {CATALOG_NAME, ns, table, NULL};
            int rows = pg_rows(c, SQL_LOAD, largs, NULL, NULL, "commit", eb);
            if (rows < 0)
                rc = rows;
            else if (rows == 0)
                rc = ig_err(eb, IG_ENOENT, "catalog: no table %s.%s", ns, table);
            else
                rc = ig_err(eb, IG_ECONFLICT,
                            "catalog: commit to %s.%s lost: metadata_location is no longer %s", ns,
                            table, old_location);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int pg_list_tables(catalog *base, const char *ns, catalog_names *out, ig_errbuf *eb)
{
    pg_catalog *c = (pg_catalog *)base;
    const char *args[] = {CATALOG_NAME, ns, NULL};
    out->names = NULL;
    out->n = 0;
    pthread_mutex_lock(&c->mu);
    int rc = pg_rows(c,
                     "SELECT table_name FROM iceberg_tables WHERE catalog_name = $1 AND "
                     "table_namespace = $2 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL) "
                     "ORDER BY table_name",
                     args, out, NULL, "list tables", eb);
    pthread_mutex_unlock(&c->mu);
    if (rc < 0)
        catalog_names_free(out);
    return rc < 0 ? rc : 0;
}

static void pg_close(catalog *base)
{
    pg_catalog *c = (pg_catalog *)base;
    if (c->conn)
        PQfinish(c->conn);
    pthread_mutex_destroy(&c->mu);
    ig_free(c);
}

/* ---- the maintain lease ----------------------------------------------------------------- */

static int pg_lease(catalog *base, const char *name, const char *holder, int64_t now_ms,
                    int64_t ttl_ms, ig_buf *other, ig_errbuf *eb)
{
    pg_catalog *c = (pg_catalog *)base;
    char now[32], exp[32];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(exp, sizeof exp, "%lld", (long long)(now_ms + (ttl_ms > 0 ? ttl_ms : 0)));
    pthread_mutex_lock(&c->mu);
    int rc;
    PGresult *r = pg_run(c,
                         "CREATE TABLE IF NOT EXISTS icegate_maintain_lease ("
                         " name VARCHAR(255) NOT NULL PRIMARY KEY,"
                         " holder VARCHAR(255) NOT NULL,"
                         " expires_at BIGINT NOT NULL)",
                         NULL, &rc, "lease table", eb);
    if (r)
        PQclear(r);
    if (rc == 0 && ttl_ms < 0) {
        const char *args[] = {name, holder, NULL};
        r = pg_run(c, "DELETE FROM icegate_maintain_lease WHERE name = $1 AND holder = $2", args,
                   &rc, "lease release", eb);
        if (r)
            PQclear(r);
    } else if (rc == 0) {
        const char *args[] = {name, holder, exp, now, NULL};
        int changes = 0;
        r = pg_run(c,
                   "UPDATE icegate_maintain_lease SET holder = $2, expires_at = CAST($3 AS BIGINT) "
                   "WHERE name = $1 AND (holder = $2 OR expires_at < CAST($4 AS BIGINT))",
                   args, &rc, "lease", eb);
        if (r) {
            changes = (int)strtol(PQcmdTuples(r), NULL, 10);
            PQclear(r);
        }
        if (rc == 0 && changes != 1) {
            const char *iargs[] = {name, holder, exp, NULL};
            r = pg_run(c,
                       "INSERT INTO icegate_maintain_lease (name, holder, expires_at) VALUES "
                       "($1, $2, CAST($3 AS BIGINT)) ON CONFLICT (name) DO NOTHING",
                       iargs, &rc, "lease", eb);
            if (r) {
                changes = (int)strtol(PQcmdTuples(r), NULL, 10);
                PQclear(r);
            }
        }
        if (rc == 0 && changes != 1) {
            const char *qargs[] = {name, NULL};
            int rows = pg_rows(c, "SELECT holder FROM icegate_maintain_lease WHERE name = $1",
                               qargs, NULL, other, "lease", eb);
            rc = rows < 0 ? rows : ig_err(eb, IG_EAGAIN, "lease %s is held by another holder", name);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static const catalog_ops PG_OPS = {
    .create_namespace = pg_create_namespace,
    .namespace_exists = pg_namespace_exists,
    .list_namespaces = pg_list_namespaces,
    .create_table = pg_create_table,
    .load_table = pg_load_table,
    .commit_table = pg_commit_table,
    .list_tables = pg_list_tables,
    .lease = pg_lease,
    .close = pg_close,
};

/* Server notices ("relation already exists, skipping") are not errors: drop them rather
 * than let libpq print them on stderr. */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int catalog_open_pg(const char *conninfo, catalog **out, ig_errbuf *eb)
{
    *out = NULL;
    if (!conninfo || !conninfo[0])
        return ig_err(eb, IG_EINVAL, "catalog.uri: empty (want a postgresql:// URI)");
    pg_catalog *c = ig_calloc(1, sizeof *c);
    if (!c)
        return IG_ENOMEM;
    c->base.ops = &PG_OPS;
    pthread_mutex_init(&c->mu, NULL);
    c->conn = PQconnectdb(conninfo);
    if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
        /* The message may quote the URI; it never includes the password. */
        int rc = ig_err(eb, IG_EIO, "catalog: cannot connect to PostgreSQL: %s",
                        c->conn ? PQerrorMessage(c->conn) : "out of memory");
        if (eb) {
            size_t l = strlen(eb->msg);
            while (l && eb->msg[l - 1] == '\n')
                eb->msg[--l] = 0;
        }
        pg_close(&c->base);
        return rc;
    }
    PQsetNoticeProcessor(c->conn, pg_notice, NULL);
    /* Concurrent first starts may race on CREATE TABLE IF NOT EXISTS (a unique violation
     * in the system catalogs): a second try sees the tables. */
    int rc = IG_EIO;
    for (int attempt = 0; attempt < 3 && rc; attempt++) {
        PGresult *r = PQexec(c->conn, PG_SCHEMA_SQL);
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            rc = 0;
        else if (attempt == 2)
            rc = ig_err(eb, IG_EIO, "catalog: cannot create the catalog tables: %s",
                        PQerrorMessage(c->conn));
        PQclear(r);
    }
    if (rc) {
        pg_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return 0;
}
