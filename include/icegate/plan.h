/* Scan planning (prefix ig_plan_): which Parquet files and row groups a query of one
 * table, tenant, optional account and time range must read, as one consistent view of
 * Iceberg up to the committed WAL position plus the WAL segments after it.
 * Design note: docs/iceberg.md "Planning".
 *
 * Consistency: the plan loads the table's current snapshot first (its summary records
 * the WAL position it covers, per writer), then lists the WAL segments after that
 * position. A shift committing in between only means some WAL rows are also in a newer
 * snapshot that this plan does not use: no row twice, none missing. Segments stay
 * readable for the WAL grace period, longer than any query, so a planned file exists
 * while the query runs.
 *
 * Pruning, cheapest first: tenant and account by manifest-list partition summaries and
 * manifest partition values (never opening another tenant's manifests' data files), the
 * day partition and the file's `timestamp` bounds against [start, end); for WAL segments
 * the footer's per-row-group tenant and time range; then row-group statistics of the
 * predicates' columns. Rows inside a kept row group may still be outside the request
 * (other accounts, other times): the reader filters rows. */
#ifndef ICEGATE_PLAN_H
#define ICEGATE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/catalog.h"
#include "icegate/err.h"
#include "icegate/parquet.h"
#include "icegate/store.h"
#include "icegate/tables.h"
#include "icegate/wal.h"

/* Snapshot summary key holding the WAL position a snapshot covers (ig_wal_pos text form,
 * "writer:seq,..."). Written by shift, kept by every later commit. */
#define IG_PLAN_SUMMARY_WAL_POS "icegate.wal-position"

/* A pruning predicate on a top-level column, by name (e.g. service_name = "api").
 * Scalar domain as pq_pred: i for ints/timestamps(µs), d for doubles, s for strings. */
typedef struct ig_plan_pred {
    const char *column;
    pq_op op;
    int64_t i;
    double d;
    ig_str s;
} ig_plan_pred;

typedef struct ig_plan_req {
    ig_table_id table;
    ig_str tenant;          /* required */
    ig_str account;         /* ptr NULL: every account of the tenant */
    int64_t start_us;       /* rows with start_us <= timestamp < end_us */
    int64_t end_us;
    const ig_plan_pred *preds; /* ANDed; may be NULL */
    size_t npreds;
} ig_plan_req;

typedef struct ig_plan_file {
    const char *key;    /* store key of the Parquet file (data file or WAL segment) */
    bool wal;           /* a WAL segment (true) or an Iceberg data file */
    uint64_t size;      /* bytes */
    uint64_t records;   /* rows in the file */
    uint32_t *rgs;      /* indices of the row groups to read, ascending */
    size_t nrgs;
} ig_plan_file;

typedef struct ig_plan {
    ig_plan_file *files; /* Iceberg data files first, then WAL segments by (writer, seq) */
    size_t nfiles;
    int64_t snapshot_id; /* -1 when the table has no snapshot (WAL only) */
    ig_wal_pos pos;      /* WAL position covered by that snapshot */
    uint64_t files_pruned, rgs_pruned; /* what pruning skipped (for stats) */
    ig_arena arena;      /* owns the keys and rgs arrays (files itself is ig_malloc'd) */
} ig_plan;

/* Plans a scan. cat may be NULL (then the WAL alone is planned: every segment); so is a
 * table that does not exist in the catalog yet or has no snapshot. When an object planned
 * vanishes meanwhile (a newer commit covers it) the plan is redone, a few times. The
 * row groups of a file listed in the plan can be opened with ig_plan_open.
 * out is initialised here; free with ig_plan_free, also after an error. */
int ig_plan_scan(catalog *cat, ig_store *store, const ig_plan_req *req, ig_plan *out,
                 ig_errbuf *eb);
void ig_plan_free(ig_plan *p);

/* Opens a planned file through ranged reads of the store (free with pq_close).
 * IG_ENOENT if it is gone. */
int ig_plan_open(ig_store *store, const ig_plan_file *f, pq_file **out, ig_errbuf *eb);

#endif
