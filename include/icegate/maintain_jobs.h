/* Iceberg maintenance jobs other than `shift` (prefix ig_mj_): expire-snapshots,
 * remove-orphans, retention and compact, as library functions over one table. The
 * maintain role (scheduler, lease, POST /maintain/run, `icegate maintain JOB`) calls them
 * for each of the four tables. Design note: docs/iceberg.md §8.
 *
 * Every job loads the table through the catalog, plans from the current metadata and
 * commits at most once through the catalog's compare-and-swap (catalog.h); when another
 * commit wins the swap it reloads, re-plans / re-validates and retries (up to
 * IG_MJ_RETRIES times). Files are deleted only after the commit that makes them
 * unreachable has succeeded, and only files no retained snapshot references.
 *
 * Snapshots written by retention and compact keep the WAL position of the base: every
 * summary entry of the base's current snapshot whose key starts with
 * IG_MJ_SUMMARY_KEEP_PREFIX ("icegate.", e.g. the shift's WAL position per writer) is
 * copied into the new snapshot's summary, so a query planning from it still knows
 * which WAL segments are already in Iceberg.
 *
 * Errors: 0 or a negative IG_E* code with a message in eb. Partial progress is never
 * visible: a job that fails before its commit leaves the table as it was (files it
 * wrote stay unreferenced until remove-orphans deletes them).
 *
 * Crash tests (ig_failpoint, maintain.h; ICEGATE_FAILPOINT=name exits with status 137):
 * compact-after-data (new data files written), compact-before-commit (manifest and
 * manifest list written, before the swap), compact-after-commit, retention-before-commit. */
#ifndef ICEGATE_MAINTAIN_JOBS_H
#define ICEGATE_MAINTAIN_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/buf.h"
#include "icegate/catalog.h"
#include "icegate/config.h"
#include "icegate/err.h"
#include "icegate/store.h"
#include "icegate/tables.h"

#define IG_MJ_SUMMARY_KEEP_PREFIX "icegate."
#define IG_MJ_RETRIES 16

/* What a job did (counts over the run; zero-initialised by the job). */
typedef struct ig_mj_result {
    uint64_t commits;            /* successful catalog commits (0 or 1 per table) */
    uint64_t conflicts;          /* lost compare-and-swaps that were retried */
    uint64_t snapshots_expired;  /* expire-snapshots */
    uint64_t files_removed;      /* data files no longer live after the commit */
    uint64_t files_added;        /* data files written and committed */
    uint64_t rows_removed;       /* retention: rows dropped */
    uint64_t rows_rewritten;     /* compact / retention: rows copied into new files */
    uint64_t partitions_skipped; /* compact: partitions dropped from the run on conflict */
    uint64_t objects_deleted;    /* store objects deleted (after the commit) */
    uint64_t bytes_deleted;
} ig_mj_result;

/* ---- expire-snapshots ------------------------------------------------------------- */

typedef struct ig_mj_expire_opts {
    int64_t now_ms;        /* 0: the clock */
    uint32_t keep_last;    /* the newest N snapshots are kept; 0 = 100 */
    int64_t keep_young_ms; /* snapshots younger than this are kept; 0 = 30 min; <0 = none */
} ig_mj_expire_opts;

/* Expires the snapshots of icegate.<table> that are neither among the newest keep_last
 * (by timestamp) nor young - committed or superseded (by the next newer snapshot) less
 * than keep_young_ms ago, so a query that planned it while it was current can still read
 * its files - nor the current one, nor the head of a ref: one metadata commit removes them from
 * snapshots, snapshot-log and refs (ice_metadata_write_expire). After the commit, deletes the
 * manifest lists and manifests of the expired snapshots and the data files their manifests name
 * that no retained snapshot holds live (manifests and data files still reachable from a retained
 * snapshot are kept). Metadata JSON files are not deleted (they stay in metadata-log;
 * remove-orphans leaves them too). A table with a `gc.enabled=false` property is refused
 * (IG_EPERM), as Java does. */
int ig_mj_expire_snapshots(catalog *cat, ig_store *store, ig_table_id table,
                           const ig_mj_expire_opts *opts, ig_mj_result *res, ig_errbuf *eb);

/* ---- remove-orphans ----------------------------------------------------------------- */

typedef struct ig_mj_orphan_opts {
    int64_t now_ms;     /* 0: the clock */
    int64_t min_age_ms; /* only objects older than this; 0 = 24 h; < 0: no age check */
    bool dry_run;       /* list, delete nothing */
    size_t max_list;    /* cap on listed objects under the table; 0 = 10,000,000 */
} ig_mj_orphan_opts;

/* Store keys of the orphans found (deleted unless dry_run). */
typedef struct ig_mj_orphans {
    char **keys; /* owned (ig_malloc'd each) */
    size_t n;
} ig_mj_orphans;
void ig_mj_orphans_free(ig_mj_orphans *o);

/* Lists every object under the table location and deletes (unless dry_run) those that
 * are older than min_age_ms and not referenced by the current metadata: the current
 * metadata file, every file of its metadata-log, and for EVERY snapshot it lists, its
 * manifest list, its manifests and every data file named in them (any entry status).
 * The WAL lives outside table locations and is never listed. out may be NULL. */
int ig_mj_remove_orphans(catalog *cat, ig_store *store, ig_table_id table,
                         const ig_mj_orphan_opts *opts, ig_mj_orphans *out, ig_mj_result *res,
                         ig_errbuf *eb);

/* ---- retention ---------------------------------------------------------------------- */

/* Retention period of a tenant in microseconds; <= 0 = keep forever. tenant is a view
 * valid for the call only. */
typedef int64_t (*ig_mj_retention_fn)(void *ctx, ig_str tenant);

typedef struct ig_mj_retention_opts {
    int64_t now_ms;            /* 0: the clock */
    ig_mj_retention_fn period; /* NULL: default_period_us for every tenant */
    void *ctx;
    int64_t default_period_us; /* used when period is NULL; <= 0 = keep forever */
    bool keep_partial;         /* true: a file with rows on both sides of the cutoff is
                                  kept whole (no rewrite) until all its rows expire */
    /* Test hook: called before every commit attempt; non-zero aborts with that code. */
    int (*before_commit)(void *ctx);
    void *hook_ctx;
} ig_mj_retention_opts;

/* Drops the live data files of the table whose rows are all older than the tenant's
 * cutoff (now - period): every file of a day partition that ends at or before the
 * cutoff, and any file whose `timestamp` upper bound is before it. A file with rows on
 * both sides of the cutoff is rewritten with only its rows at or after the cutoff
 * (unless keep_partial). One commit: operation `delete` when only files are dropped,
 * `overwrite` when files were rewritten. After a lost swap it re-plans on the new base,
 * reusing the rewrites of files still live. Dropped files are not deleted from the store
 * here (older snapshots still reference them): expire-snapshots does that. */
int ig_mj_retention(catalog *cat, ig_store *store, ig_table_id table,
                    const ig_mj_retention_opts *opts, ig_mj_result *res, ig_errbuf *eb);

/* ---- compact ------------------------------------------------------------------------ */

typedef struct ig_mj_compact_opts {
    uint64_t target_bytes;       /* target data file size; 0 = 128 MiB */
    uint32_t min_files;          /* a partition is compacted when it has at least this
                                    many small files; 0 = 2 */
    uint32_t merge_manifests_at; /* when the snapshot has at least this many data
                                    manifests they are rewritten into one; 0 = 16 */
    uint64_t max_memory;         /* decoded rows held at once: the merge windows of all
                                    inputs, or an in-memory batch (estimated from the
                                    manifests' value counts); 0 = 1 GiB */
    size_t row_group_rows;       /* rows per row group of the new files; 0 = 65536 */
    /* Test hook: called after the new files are written and before the commit; a
     * non-zero return aborts the run with that code (simulates a crash). */
    int (*before_commit)(void *ctx);
    void *hook_ctx;
} ig_mj_compact_opts;

/* For every (tenant, account, day) partition with at least min_files live data files
 * smaller than target_bytes: reads them, merges their rows in the table's sort order
 * (docs/iceberg.md §2) with a streaming k-way merge (inputs are sorted; unsorted ones
 * fall back to an in-memory sort) into files of about target_bytes; then one `replace`
 * commit removes the old files and adds the new ones (manifests touched are rewritten;
 * with many manifests all are merged). On a lost swap it reloads and keeps only the
 * partitions whose files are all still live (the others are dropped from this run,
 * their new files left for remove-orphans). Rows are preserved exactly. Appends by a
 * concurrent shift never conflict with it: they only add files. */
int ig_mj_compact(catalog *cat, ig_store *store, ig_table_id table, const ig_mj_compact_opts *opts,
                  ig_mj_result *res, ig_errbuf *eb);

/* ---- options from the configuration (src/maintain/mj_config.c) ------------------------- */

/* maintain.expire_keep_snapshots (100) and maintain.expire_min_age (30m; 0s = none). */
void ig_mj_expire_opts_from_config(const ig_config *cfg, ig_mj_expire_opts *o);
/* maintain.orphan_min_age (24h; 0s = no age check, safe only when nothing else writes). */
void ig_mj_orphan_opts_from_config(const ig_config *cfg, ig_mj_orphan_opts *o);
/* maintain.target_file_bytes (128MiB) and parquet.row_group_rows (65536). */
void ig_mj_compact_opts_from_config(const ig_config *cfg, ig_mj_compact_opts *o);

#endif
