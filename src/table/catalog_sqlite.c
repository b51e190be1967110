/* SQLite backend of the Iceberg JDBC/SQL catalog (schema V1, as Java JdbcCatalog and
 * PyIceberg SqlCatalog create it). One connection per handle, serialised by a mutex;
 * several processes may share the file: WAL journal mode, synchronous=FULL (a commit is
 * durable when it returns) and a busy timeout. The SQL is plain enough to run unchanged
 * on PostgreSQL apart from the '?' placeholders. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"

#define BUSY_TIMEOUT_MS 10000

typedef struct sq_catalog {
    catalog base;
    sqlite3 *db;
    pthread_mutex_t mu;
} sq_catalog;

static const char SCHEMA_SQL[] = "CREATE TABLE IF NOT EXISTS iceberg_tables ("
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
                                 " PRIMARY KEY (catalog_name, namespace, property_key));";

static int sq_fail(sq_catalog *c, int src, const char *what, ig_errbuf *eb)
{
    int code = (src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED ? IG_EAGAIN : IG_EIO;
    return ig_err(eb, code, "catalog (sqlite) %s: %s", what, c->db ? sqlite3_errmsg(c->db) : "");
}

/* Prepares sql and binds the NULL-terminated list of text arguments. */
static int sq_prepare(sq_catalog *c, const char *sql, sqlite3_stmt **st, const char *const *args,
                      const char *what, ig_errbuf *eb)
{
    int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(c, rc, what, eb);
    for (int i = 0; args && args[i]; i++) {
        rc = sqlite3_bind_text(*st, i + 1, args[i], -1, SQLITE_STATIC);
        if (rc != SQLITE_OK) {
            int r = sq_fail(c, rc, what, eb);
            sqlite3_finalize(*st);
            *st = NULL;
            return r;
        }
    }
    return 0;
}

/* Runs a statement without result rows. *changes (may be NULL) gets the changed row count.
 * A constraint violation is IG_EEXIST. Caller holds the mutex. */
static int sq_exec(sq_catalog *c, const char *sql, const char *const *args, int *changes,
                   const char *what, ig_errbuf *eb)
{
    sqlite3_stmt *st;
    int rc = sq_prepare(c, sql, &st, args, what, eb);
    if (rc)
        return rc;
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE || s == SQLITE_ROW) {
        if (changes)
            *changes = sqlite3_changes(c->db);
        rc = 0;
    } else if ((s & 0xff) == SQLITE_CONSTRAINT) {
        rc = IG_EEXIST;
    } else {
        rc = sq_fail(c, s, what, eb);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Runs a query and collects the first column of every row into names (if not NULL), or
 * the first row's first column into one (if not NULL). Returns the row count (>= 0) or
 * an error. Caller holds the mutex. */
static int sq_query(sq_catalog *c, const char *sql, const char *const *args, catalog_names *names,
                    ig_buf *one, const char *what, ig_errbuf *eb)
{
    sqlite3_stmt *st;
    int rc = sq_prepare(c, sql, &st, args, what, eb);
    if (rc)
        return rc;
    int rows = 0;
    size_t cap = 0;
    for (;;) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            rc = sq_fail(c, s, what, eb);
            break;
        }
        const unsigned char *txt = sqlite3_column_text(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        if (one && rows == 0 && txt && (rc = ig_buf_append(one, txt, (size_t)len)))
            break;
        if (names) {
            if (names->n == cap) {
                size_t nc = cap ? cap * 2 : 8;
                char **p = ig_realloc(names->names, nc * sizeof *p);
                if (!p) {
                    rc = IG_ENOMEM;
                    break;
                }
                names->names = p;
                cap = nc;
            }
            char *dup = ig_strndup(txt ? (const char *)txt : "", txt ? (size_t)len : 0);
            if (!dup) {
                rc = IG_ENOMEM;
                break;
            }
            names->names[names->n++] = dup;
        }
        rows++;
    }
    sqlite3_finalize(st);
    return rc < 0 ? rc : rows;
}

/* ---- operations ------------------------------------------------------------------------ */

static const char SQL_NS_EXISTS[] =
    "SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = ?1 AND namespace = ?2 "
    "UNION ALL SELECT 1 FROM iceberg_tables WHERE catalog_name = ?1 AND (table_namespace = ?2 "
    "OR substr(table_namespace, 1, length(?2) + 1) = ?2 || '.') LIMIT 1";

static int sq_namespace_exists_locked(sq_catalog *c, const char *ns, ig_errbuf *eb)
{
    const char *args[] = {CATALOG_NAME, ns, NULL};
    int rows = sq_query(c, SQL_NS_EXISTS, args, NULL, NULL, "namespace lookup", eb);
    if (rows < 0)
        return rows;
    return rows ? 0 : IG_ENOENT;
}

static int sq_namespace_exists(catalog *base, const char *ns, ig_errbuf *eb)
{
    sq_catalog *c = (sq_catalog *)base;
    pthread_mutex_lock(&c->mu);
    int rc = sq_namespace_exists_locked(c, ns, eb);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int sq_create_namespace(catalog *base, const char *ns, ig_errbuf *eb)
{
    sq_catalog *c = (sq_catalog *)base;
    if (!ns || !ns[0])
        return ig_err(eb, IG_EINVAL, "catalog: empty namespace name");
    pthread_mutex_lock(&c->mu);
    int rc = sq_namespace_exists_locked(c, ns, eb);
    if (rc == 0) {
        rc = IG_EEXIST;
    } else if (rc == IG_ENOENT) {
        const char *args[] = {CATALOG_NAME, ns, NULL};
        rc = sq_exec(c,
                     "INSERT INTO iceberg_namespace_properties (catalog_name, namespace, "
                     "property_key, property_value) VALUES (?, ?, 'exists', 'true')",
                     args, NULL, "create namespace", eb);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int sq_list_namespaces(catalog *base, catalog_names *out, ig_errbuf *eb)
{
    sq_catalog *c = (sq_catalog *)base;
    const char *args[] = {CATALOG_NAME, NULL};
    out->names = NULL;
    out->n = 0;
    pthread_mutex_lock(&c->mu);
    int rc = sq_query(c,
                      "SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = ?1 "
                      "UNION SELECT table_namespace FROM iceberg_tables WHERE catalog_name = ?1 "
                      "ORDER BY 1",
                      args, out, NULL, "list namespaces", eb);
    pthread_mutex_unlock(&c->mu);
    if (rc < 0)
        catalog_names_free(out);
    return rc < 0 ? rc : 0;
}

static int sq_create_table(catalog *base, const char *ns, const char *table,
                           const char *metadata_location, ig_errbuf *eb)
{
    sq_catalog *c = (sq_catalog *)base;
    if (!ns || !ns[0] || !table || !table[0] || !metadata_location || !metadata_location[0])
        return ig_err(eb, IG_EINVAL,
                      "catalog: create table needs a namespace, a name and a "
                      "metadata location");
    const char *args[] = {CATALOG_NAME, ns, table, metadata_location, NULL};
    pthread_mutex_lock(&c->mu);
    int rc = sq_exec(c,
                     "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                     "metadata_location, previous_metadata_location, iceberg_type) "
                     "VALUES (?, ?, ?, ?, NULL, 'TABLE')",
                     args, NULL, "create table", eb);
    pthread_mutex_unlock(&c->mu);
    if (rc == IG_EEXIST)
        return ig_err(eb, IG_EEXIST, "catalog: table %s.%s already exists", ns, table);
    return rc;
}

static const char SQL_LOAD[] =
    "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND "
    "table_namespace = ? AND table_name = ? AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)";

static int sq_load_table(catalog *base, const char *ns, const char *table, ig_buf *out,
                         ig_errbuf *eb)
{
    sq_catalog *c = (sq_catalog *)base;
    const char *args[] = {CATALOG_NAME, ns, table, NULL};
    pthread_mutex_lock(&c->mu);
    int rows = sq_query(c, SQL_LOAD, args, NULL, out, "load table", eb);
    pthread_mutex_unlock(&c->mu);
    if (rows < 0)
        return rows;
    if (rows == 0)
        return ig_err(eb, IG_ENOENT, "catalog: no table %s.%s", ns, table);
    return 0;
}

static int sq_commit_table(catalog *base, const char *ns, const char *table,
                           const char *old_location, const char *new_location, ig_errbuf *eb)
{
    sq_catalog *c = (sq_catalog *)base;
    if (!old_location || !new_location || !new_location[0])
        return ig_err(eb, IG_EINVAL, "catalog: commit needs the old and the new location");
    /* Java V1_DO_COMMIT_TABLE_SQL. */
    const char *args[] = {new_location, old_location, CATALOG_NAME, ns, table, old_location, NULL};
    int changes = 0;
    pthread_mutex_lock(&c->mu);
    int rc = sq_exec(c,
                     "UPDATE iceberg_tables SET metadata_location = ?, "
                     "previous_metadata_location = ? WHERE catalog_name = ? AND "
                     "table_namespace = ? AND table_name = ? AND metadata_location = ? AND "
                     "(iceberg_type = 'TABLE' OR iceberg_type IS NULL)",
                     args, &changes, "commit", eb);
    if (rc == 0 && changes != 1) {
        const char *largs[] = {CATALOG_NAME, ns, table, NULL};
        int rows = sq_query(c, SQL_LOAD, largs, NULL, NULL, "commit", eb);
        if (rows < 0)
            rc = rows;
        else if (rows == 0)
            rc = ig_err(eb, IG_ENOENT, "catalog: no table %s.%s", ns, table);
        else
            rc = ig_err(eb, IG_ECONFLICT,
                        "catalog: commit to %s.%s lost: metadata_location is no longer %s", ns,
                        table, old_location);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int sq_list_tables(catalog *base, const char *ns, catalog_names *out, ig_errbuf *eb)
{
    sq_catalog *c = (sq_catalog *)base;
    const char *args[] = {CATALOG_NAME, ns, NULL};
    out->names = NULL;
    out->n = 0;
    pthread_mutex_lock(&c->mu);
    int rc = sq_query(c,
                      "SELECT table_name FROM iceberg_tables WHERE catalog_name = ? AND "
                      "table_namespace = ? AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL) "
                      "ORDER BY table_name",
                      args, out, NULL, "list tables", eb);
    pthread_mutex_unlock(&c->mu);
    if (rc < 0)
        catalog_names_free(out);
    return rc < 0 ? rc : 0;
}

/* ---- the maintain lease ----------------------------------------------------------------- */

static const char SQ_LEASE_TABLE[] = "CREATE TABLE IF NOT EXISTS icegate_maintain_lease ("
                                     " name VARCHAR(255) NOT NULL PRIMARY KEY,"
                                     " holder VARCHAR(255) NOT NULL,"
                                     " expires_at BIGINT NOT NULL)";

static int sq_lease(catalog *base, const char *name, const char *holder, int64_t now_ms,
                    int64_t ttl_ms, ig_buf *other, ig_errbuf *eb)
{
    sq_catalog *c = (sq_catalog *)base;
    char now[32], exp[32];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(exp, sizeof exp, "%lld", (long long)(now_ms + (ttl_ms > 0 ? ttl_ms : 0)));
    pthread_mutex_lock(&c->mu);
    int rc = sq_exec(c, SQ_LEASE_TABLE, NULL, NULL, "lease table", eb);
    if (rc == 0 && ttl_ms < 0) {
        const char *args[] = {name, holder, NULL};
        rc = sq_exec(c, "DELETE FROM icegate_maintain_lease WHERE name = ?1 AND holder = ?2",
                     args, NULL, "lease release", eb);
    } else if (rc == 0) {
        const char *args[] = {name, holder, exp, now, NULL};
        int changes = 0;
        rc = sq_exec(c,
                     "UPDATE icegate_maintain_lease SET holder = ?2, expires_at = CAST(?3 AS "
                     "BIGINT) WHERE name = ?1 AND (holder = ?2 OR expires_at < CAST(?4 AS BIGINT))",
                     args, &changes, "lease", eb);
        if (rc == 0 && changes != 1) {
            const char *iargs[] = {name, holder, exp, NULL};
            rc = sq_exec(c,
                         "INSERT INTO icegate_maintain_lease (name, holder, expires_at) VALUES "
                         "(?1, ?2, CAST(?3 AS BIGINT)) ON CONFLICT (name) DO NOTHING",
                         iargs, &changes, "lease", eb);
        }
        if (rc == 0 && changes != 1) {
            const char *qargs[] = {name, NULL};
            int rows = sq_query(c, "SELECT holder FROM icegate_maintain_lease WHERE name = ?1",
                                qargs, NULL, other, "lease", eb);
            rc = rows < 0 ? rows : ig_err(eb, IG_EAGAIN, "lease %s is held by another holder", name);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static void sq_close(catalog *base)
{
    sq_catalog *c = (sq_catalog *)base;
    if (c->db)
        sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    ig_free(c);
}

static const catalog_ops SQ_OPS = {
    .create_namespace = sq_create_namespace,
    .namespace_exists = sq_namespace_exists,
    .list_namespaces = sq_list_namespaces,
    .create_table = sq_create_table,
    .load_table = sq_load_table,
    .commit_table = sq_commit_table,
    .list_tables = sq_list_tables,
    .lease = sq_lease,
    .close = sq_close,
};

/* Journal mode, durability, the two tables, and the iceberg_type column a catalog created
 * by Java in V0 mode lacks (added as Java's own V1 migration does, so our rows can say
 * 'TABLE'). Idempotent; returns an SQLite code. */
static int sq_init(sqlite3 *db, char **err)
{
    int s = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, err);
    if (s == SQLITE_OK)
        s = sqlite3_exec(db, SCHEMA_SQL, NULL, NULL, err);
    if (s != SQLITE_OK)
        return s;
    sqlite3_stmt *st = NULL;
    s = sqlite3_prepare_v2(db, "PRAGMA table_info(iceberg_tables)", -1, &st, NULL);
    if (s != SQLITE_OK)
        return s;
    bool have = false;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);
        if (name && !strcmp((const char *)name, "iceberg_type"))
            have = true;
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return s;
    if (!have)
        return sqlite3_exec(db, "ALTER TABLE iceberg_tables ADD COLUMN iceberg_type VARCHAR(5)",
                            NULL, NULL, err);
    return SQLITE_OK;
}

/* mkdir -p of the directory part of path. */
static int make_parent(const char *path, ig_errbuf *eb)
{
    char *dir = ig_strdup(path);
    if (!dir)
        return IG_ENOMEM;
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = 0;
        for (char *p = dir + 1;; p++) {
            if (*p == '/' || *p == 0) {
                char save = *p;
                *p = 0;
                if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                    rc = ig_err(eb, IG_EIO, "catalog: cannot create directory %s: %s", dir,
                                strerror(errno));
                    break;
                }
                *p = save;
                if (!save)
                    break;
            }
        }
    }
    ig_free(dir);
    return rc;
}

int catalog_open_sqlite(const char *path, catalog **out, ig_errbuf *eb)
{
    *out = NULL;
    if (!path || !path[0])
        return ig_err(eb, IG_EINVAL, "catalog: empty SQLite path");
    int rc = make_parent(path, eb);
    if (rc)
        return rc;
    sq_catalog *c = ig_calloc(1, sizeof *c);
    if (!c)
        return IG_ENOMEM;
    c->base.ops = &SQ_OPS;
    pthread_mutex_init(&c->mu, NULL);
    int s = sqlite3_open_v2(
        path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (s != SQLITE_OK) {
        rc = ig_err(eb, IG_EIO, "catalog: cannot open SQLite file %s: %s", path,
                    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(s));
        sq_close(&c->base);
        return rc;
    }
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    /* Switching to WAL and creating the tables take locks that the busy handler does not
     * always wait for (a concurrent opener may be converting the file): retry those. */
    char *err = NULL;
    for (int waited = 0;; waited += 20) {
        sqlite3_free(err);
        err = NULL;
        s = sq_init(c->db, &err);
        if (((s & 0xff) != SQLITE_BUSY && (s & 0xff) != SQLITE_LOCKED) || waited >= BUSY_TIMEOUT_MS)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (s != SQLITE_OK) {
        rc = ig_err(eb, (s & 0xff) == SQLITE_BUSY ? IG_EAGAIN : IG_EIO,
                    "catalog: cannot initialise SQLite file %s: %s", path,
                    err ? err : sqlite3_errstr(s));
        sqlite3_free(err);
        sq_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return 0;
}
