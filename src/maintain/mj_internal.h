/* Shared internals of the maintenance jobs (src/maintain/{expire,orphans,retention,
 * compact}.c): reading a snapshot's files, the rewrite commit (remove some live data
 * files, add new ones), reading and writing the rows of data files. Prefix mj__. */
#ifndef ICEGATE_MJ_INTERNAL_H
#define ICEGATE_MJ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/catalog.h"
#include "icegate/iceberg.h"
#include "icegate/manifest.h"
#include "icegate/map.h"
#include "icegate/maintain_jobs.h"
#include "icegate/parquet.h"

#define MJ_NS CATALOG_NAMESPACE
#define MJ_VIEW_ARENA_MAX ((size_t)1 << 30) /* cap on one table view (manifests decoded) */
#define MJ_MANIFEST_MAX ((size_t)256 << 20)
#define MJ_LIST_MAX ((size_t)64 << 20)
#define MJ_DATA_FILE_MAX ((size_t)2 << 30) /* a data file read or written whole */

/* A live data file of a snapshot: its manifest entry with both sequence numbers made
 * explicit (inherited ones resolved from the manifest list), the manifest it is in, and
 * its partition (tenant, account, day). Memory in the view's arena. */
typedef struct mj__file {
    ig_mf_entry e;
    size_t manifest; /* index into mj__view.manifests */
    ig_str tenant;   /* partition value of tenant_id */
    ig_str account;  /* ptr NULL: null account */
    int32_t day;     /* days since 1970-01-01 */
    bool has_day;
} mj__file;

/* The current snapshot of a table: its manifest list entries and its live data files. */
typedef struct mj__view {
    ig_arena arena;
    const ice_snapshot *snap; /* NULL: the table has no snapshot */
    ig_mf_list_entry *manifests;
    size_t nmanifests;
    mj__file *files;
    size_t nfiles;
} mj__view;

/* Loads the live data files of the current snapshot of m. Free with mj__view_free (also
 * after an error). */
int mj__view_load(ig_store *store, const ice_metadata *m, mj__view *v, ig_errbuf *eb);
void mj__view_free(mj__view *v);

/* Adds the paths reachable from snapshot s to the maps (each may be NULL): its manifest
 * list to lists, its manifests to manifests, the data files they name to files (only
 * ADDED/EXISTING entries when live_only). A manifest already in `manifests` is not read
 * again (its files were added when it was first seen) - so use one manifests map per
 * live_only setting. Keys are full URIs; values are (void *)1. */
int mj__snapshot_paths(ig_store *store, const ice_snapshot *s, bool live_only, ig_map *lists,
                       ig_map *manifests, ig_map *files, ig_errbuf *eb);

/* Reads a whole object named by an absolute URI into out (capped by out). */
int mj__get_uri(ig_store *store, ig_str uri, ig_buf *out, ig_errbuf *eb);
/* Deletes the object named by an absolute URI; 0 also when it is already gone. */
int mj__delete_uri(ig_store *store, ig_str uri, uint64_t *bytes, ig_errbuf *eb);

/* A rewrite commit: drop `remove` (full URIs of live files, values non-NULL) and add
 * `add`, in one snapshot with `operation`. */
typedef struct mj__rewrite {
    const char *operation;
    const ig_map *remove;
    const ig_mf_data_file *add;
    size_t nadd;
    bool merge_all;        /* rewrite every data manifest into the new one */
    const char *failpoint; /* ig_failpoint name hit before the swap (may be NULL) */
} mj__rewrite;

/* One commit attempt over base (whose current snapshot v was loaded from): every file in
 * rw->remove must be live in v (IG_EINVAL otherwise: validate before). Writes one new
 * manifest (DELETED entries for removed files, EXISTING for the other live files of the
 * manifests it touches, ADDED for rw->add), a manifest list reusing the untouched
 * manifests, and the next metadata version; swaps the catalog pointer. IG_ECONFLICT:
 * another commit won; this attempt's manifest and list are deleted (reload and retry).
 * Summary: Iceberg's counts plus every IG_MJ_SUMMARY_KEEP_PREFIX key of the base. */
int mj__commit_rewrite(catalog *cat, ig_store *store, const char *table, const catalog_table *base,
                       const mj__view *v, const mj__rewrite *rw, ig_errbuf *eb);

/* Writes a metadata JSON as the next version after base and swaps the catalog pointer
 * (the file is deleted again on IG_ECONFLICT / IG_ENOENT). */
int mj__commit_json(catalog *cat, ig_store *store, const char *table, const catalog_table *base,
                    ig_str json, ig_errbuf *eb);

/* Rows of data files as pq_value trees (PQ_V_STRUCT over the table's top-level fields),
 * deep-copied into a. */
typedef struct mj__rows {
    pq_value **rows;
    size_t n, cap;
} mj__rows;
void mj__rows_free(mj__rows *r);
/* Appends every row of the Parquet data file at uri (must have the table's schema:
 * IG_EUNSUPPORTED otherwise). */
int mj__read_rows(ig_store *store, ig_table_id t, ig_str uri, ig_arena *a, mj__rows *out,
                  ig_errbuf *eb);
/* Calls emit for every row of the Parquet data file at uri, one row group decoded at a
 * time (the row is valid during the call only). The file must have the table's schema
 * (IG_EUNSUPPORTED otherwise). */
int mj__scan_rows(ig_store *store, ig_table_id t, ig_str uri,
                  int (*emit)(void *ctx, const pq_value *row), void *ctx, ig_errbuf *eb);
/* Opens a data file through ranged reads and checks it has the table's columns (by
 * field id, in order): IG_EUNSUPPORTED otherwise. Free with pq_close. */
int mj__open_data_file(ig_store *store, ig_table_id t, ig_str uri, pq_file **out, ig_errbuf *eb);
/* Deep copy of a row into a (NULL when a is full). */
pq_value *mj__copy_row(ig_arena *a, const pq_value *row);

/* The table's sort order (docs/iceberg.md §2) over a row's top-level items. */
typedef struct mj__sort_key {
    int idx;
    bool desc;
} mj__sort_key;
typedef struct mj__sort {
    mj__sort_key keys[4];
    int nkeys;
} mj__sort;
int mj__sort_init(ig_table_id t, mj__sort *s);
/* <0, 0, >0: a sorts before, with, after b. */
int mj__cmp_rows(const mj__sort *s, const pq_value *a, const pq_value *b);
/* Sorts rows in the table's sort order. Stable. */
int mj__sort_rows(ig_table_id t, mj__rows *r);
/* Index of a top-level column in a row's items, or -1. */
int mj__top_index(ig_table_id t, const char *name);

/* Writes rows [from, to) as one Parquet data file of partition `like` (its partition
 * values are copied) under icegate/<table>/data/<partition path>/<uuid>.parquet and
 * fills *out (memory in a): full URI, partition, counts, size, metrics, split offsets,
 * sort order 1. Row groups of rg_rows rows (0: 65536). The store key is appended to key
 * (may be NULL). */
int mj__write_data_file(ig_store *store, ig_table_id t, const mj__file *like, pq_value *const *rows,
                        size_t n, size_t rg_rows, ig_arena *a, ig_mf_data_file *out, ig_buf *key,
                        ig_errbuf *eb);

/* A data file being written row by row (streaming form of mj__write_data_file). */
typedef struct mj__dfw {
    pq_writer *w;
    ig_buf fb, key, uri;
    ig_table_id t;
    const mj__file *like;
    uint64_t rows;
} mj__dfw;
int mj__dfw_open(mj__dfw *d, ig_store *store, ig_table_id t, const mj__file *like, size_t rg_rows,
                 ig_errbuf *eb);
int mj__dfw_add(mj__dfw *d, const pq_value *row, ig_errbuf *eb);
/* Closes the Parquet file, stores it (put-if-absent) and fills *out (memory in a). */
int mj__dfw_finish(mj__dfw *d, ig_store *store, ig_arena *a, ig_mf_data_file *out, ig_errbuf *eb);
/* Frees (abandons the file when not finished). */
void mj__dfw_free(mj__dfw *d);

/* Streaming k-way merge (src/maintain/merge.c) of data files each already sorted in the
 * table's order (fs, one partition: the outputs take fs[0]'s partition values) into new
 * files of about `target` bytes (rolled over at row-group boundaries), reading `window`
 * rows per input at a time. *out (in ja) receives the new files' entries, *rows is
 * added the rows written. IG_EAGAIN when an input is not sorted; on any error the files
 * it wrote are deleted again. */
int mj__merge_files(ig_store *store, ig_table_id t, const mj__file *const *fs, size_t n,
                    uint64_t target, size_t rg_rows, size_t window, ig_arena *ja,
                    ig_mf_data_file **out, size_t *nout, uint64_t *rows, ig_errbuf *eb);

int64_t mj__now_ms(int64_t given);
/* Sleeps a little before a retry (attempt 0, 1, ...). */
void mj__backoff(int attempt);

#endif
