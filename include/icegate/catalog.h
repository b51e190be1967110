/* Iceberg catalog: the JDBC/SQL catalog schema (Java JdbcCatalog = PyIceberg SqlCatalog),
 * behind a table of operations so SQLite (src/table/catalog_sqlite.c) and PostgreSQL
 * (src/table/catalog_pg.c) share one interface. Design note: docs/iceberg.md.
 *
 * Rows: iceberg_tables(catalog_name, table_namespace, table_name, metadata_location,
 * previous_metadata_location, iceberg_type) and iceberg_namespace_properties(catalog_name,
 * namespace, property_key, property_value). Every row IceGate writes carries catalog_name
 * CATALOG_NAME ("icegate"): clients must use that name for the catalog (Spark
 * `spark.sql.catalog.icegate`, PyIceberg `load_catalog("icegate")`) to see the tables.
 *
 * The commit primitive is a compare-and-swap of metadata_location (catalog_commit_table).
 * A catalog handle is thread-safe (each backend serialises its one connection with a
 * mutex; other processes are handled by the database: SQLite's locking, WAL mode and a
 * busy timeout, or PostgreSQL's row locks). */
#ifndef ICEGATE_CATALOG_H
#define ICEGATE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "icegate/buf.h"
#include "icegate/config.h"
#include "icegate/err.h"
#include "icegate/iceberg.h"
#include "icegate/store.h"

#define CATALOG_NAME "icegate"      /* catalog_name column of every row we write */
#define CATALOG_NAMESPACE "icegate" /* namespace of the four tables */

typedef struct catalog catalog;

/* A list of names; free with catalog_names_free. */
typedef struct catalog_names {
    char **names; /* owned, each ig_malloc'd */
    size_t n;
} catalog_names;

/* Backend operations. Namespaces and table names are NUL-terminated strings; every
 * operation reports a precise message in eb. IG_EIO for database errors, IG_EAGAIN when
 * the database stayed locked past the busy timeout. */
typedef struct catalog_ops {
    /* Creates a namespace (property row exists=true). IG_EEXIST if it already exists. */
    int (*create_namespace)(catalog *c, const char *ns, ig_errbuf *eb);
    /* 0 if the namespace exists (a property row, or a table in it), IG_ENOENT if not. */
    int (*namespace_exists)(catalog *c, const char *ns, ig_errbuf *eb);
    int (*list_namespaces)(catalog *c, catalog_names *out, ig_errbuf *eb);
    /* Inserts the table row (iceberg_type 'TABLE'). IG_EEXIST if the table exists. */
    int (*create_table)(catalog *c, const char *ns, const char *table,
                        const char *metadata_location, ig_errbuf *eb);
    /* Appends the current metadata location to out. IG_ENOENT if no such table. */
    int (*load_table)(catalog *c, const char *ns, const char *table, ig_buf *out, ig_errbuf *eb);
    /* Compare-and-swap: sets metadata_location = new_location and
     * previous_metadata_location = old_location iff the row's metadata_location is still
     * old_location. IG_ECONFLICT if it is not (someone else committed), IG_ENOENT if the
     * table does not exist. 0 means exactly one row changed. */
    int (*commit_table)(catalog *c, const char *ns, const char *table, const char *old_location,
                        const char *new_location, ig_errbuf *eb);
    int (*list_tables)(catalog *c, const char *ns, catalog_names *out, ig_errbuf *eb);
    /* The maintain leader lease (table icegate_maintain_lease(name, holder, expires_at),
     * created on first use; expires_at in Unix ms). ttl_ms >= 0: takes or renews lease
     * `name` for `holder` until now_ms + ttl_ms when nobody holds it, holder holds it, or
     * the other holder's lease expired (expires_at < now_ms): 0; else IG_EAGAIN with the
     * current holder appended to other (may be NULL). ttl_ms < 0: releases it (deletes
     * the row if holder holds it; 0 either way). */
    int (*lease)(catalog *c, const char *name, const char *holder, int64_t now_ms,
                 int64_t ttl_ms, ig_buf *other, ig_errbuf *eb);
    void (*close)(catalog *c);
} catalog_ops;

struct catalog {
    const catalog_ops *ops;
};

/* Opens (creating the file, its directory and the two tables if missing) a SQLite catalog
 * at path. *out is owned by the caller, freed with catalog_close. */
int catalog_open_sqlite(const char *path, catalog **out, ig_errbuf *eb);
/* Connects to a PostgreSQL catalog (libpq conninfo or postgresql:// URI), creating the two
 * tables if missing. *out is owned by the caller, freed with catalog_close. */
int catalog_open_pg(const char *conninfo, catalog **out, ig_errbuf *eb);
/* Opens the catalog the configuration names: catalog.type "sqlite" with catalog.uri as the
 * file path (or sqlite:///path), "postgres" with catalog.uri as a postgresql:// URI. */
int catalog_open(const ig_config *cfg, catalog **out, ig_errbuf *eb);
void catalog_close(catalog *c);

static inline int catalog_create_namespace(catalog *c, const char *ns, ig_errbuf *eb)
{
    return c->ops->create_namespace(c, ns, eb);
}
static inline int catalog_namespace_exists(catalog *c, const char *ns, ig_errbuf *eb)
{
    return c->ops->namespace_exists(c, ns, eb);
}
static inline int catalog_list_namespaces(catalog *c, catalog_names *out, ig_errbuf *eb)
{
    return c->ops->list_namespaces(c, out, eb);
}
static inline int catalog_create_table(catalog *c, const char *ns, const char *table,
                                       const char *metadata_location, ig_errbuf *eb)
{
    return c->ops->create_table(c, ns, table, metadata_location, eb);
}
static inline int catalog_load_table(catalog *c, const char *ns, const char *table, ig_buf *out,
                                     ig_errbuf *eb)
{
    return c->ops->load_table(c, ns, table, out, eb);
}
static inline int catalog_commit_table(catalog *c, const char *ns, const char *table,
                                       const char *old_location, const char *new_location,
                                       ig_errbuf *eb)
{
    return c->ops->commit_table(c, ns, table, old_location, new_location, eb);
}
static inline int catalog_list_tables(catalog *c, const char *ns, catalog_names *out, ig_errbuf *eb)
{
    return c->ops->list_tables(c, ns, out, eb);
}
static inline int catalog_lease(catalog *c, const char *name, const char *holder, int64_t now_ms,
                                int64_t ttl_ms, ig_buf *other, ig_errbuf *eb)
{
    return c->ops->lease(c, name, holder, now_ms, ttl_ms, other, eb);
}
void catalog_names_free(catalog_names *l);

/* ---- tables: load and commit (the protocol of docs/iceberg.md §4) --------------------- */

/* A table as a commit sees it: the catalog pointer and the parsed metadata it names. */
typedef struct catalog_table {
    ig_buf location;   /* metadata_location: the base of the next commit (owned) */
    ice_metadata meta; /* parsed metadata (owned) */
} catalog_table;

/* Loads ns.table: the catalog row, then the metadata file through the store (the location
 * must be under the store's root). IG_ENOENT if there is no such table. On success free
 * *t with catalog_table_free; on error nothing needs freeing. */
int catalog_table_load(catalog *cat, ig_store *store, const char *ns, const char *table,
                       catalog_table *t, ig_errbuf *eb);
void catalog_table_free(catalog_table *t);

/* One commit attempt appending snap to base: writes the next metadata file
 * (<metadata dir>/%05d-<uuid>.metadata.json, version of base + 1, put-if-absent) and swaps
 * the catalog pointer from base->location to it. On success the new location is appended
 * to new_location (may be NULL). IG_ECONFLICT when another commit won: the file this
 * attempt wrote is deleted; reload (catalog_table_load), rebuild and retry. On any other
 * error of the swap the outcome is unknown and the file is kept (never delete then). */
int catalog_table_commit_append(catalog *cat, ig_store *store, const char *ns, const char *table,
                                const catalog_table *base, const ice_snapshot_new *snap,
                                ig_buf *new_location, ig_errbuf *eb);

/* ---- migrate (src/table/migrate.c) ---------------------------------------------------- */

/* Exit status of `icegate migrate` when a table's schema lacks columns we now have. */
#define MIGRATE_EXIT_SCHEMA 4

/* Creates namespace `icegate` and the tables logs, spans, metrics, events where missing:
 * writes icegate/<table>/metadata/00000-<uuid>.metadata.json through the store
 * (put-if-absent) and inserts the catalog row. Prints one line per change to out, or
 * "up to date". Existing tables are checked against our schema by field id; missing ids
 * are printed and the result is IG_EUNSUPPORTED (schema evolution is future work).
 * *changes (may be NULL) receives the number of changes made. */
int ig_migrate(catalog *cat, ig_store *store, FILE *out, int *changes, ig_errbuf *eb);

/* Store key of an absolute URI that the store produced (ig_store_uri), appended to key.
 * IG_EINVAL if uri is not under the store's root. */
int catalog_key_of_uri(ig_store *store, ig_str uri, ig_buf *key);

#endif
