/* The maintain role (prefix ig_shift_ / ig_maint_): the `shift` job that moves WAL
 * segments into Iceberg data files, the leader lease, and the job runner behind
 * `icegate maintain JOB`, the scheduler and POST :8080/maintain/run. The other jobs
 * (compact, retention, expire-snapshots, remove-orphans) are in maintain_jobs.h.
 * Design note: docs/iceberg.md "Shift" and "The maintain role". */
#ifndef ICEGATE_MAINTAIN_H
#define ICEGATE_MAINTAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/buf.h"
#include "icegate/catalog.h"
#include "icegate/config.h"
#include "icegate/err.h"
#include "icegate/store.h"
#include "icegate/tables.h"

/* ---- shift ------------------------------------------------------------------------ */

typedef struct ig_shift_opts {
    uint64_t target_file_bytes; /* data file size target; 0 = 128 MiB */
    int64_t wal_grace_ns;       /* WAL segments are deleted only when covered by a snapshot
                                   at least this old and written at least this long ago;
                                   < 0: never delete */
    size_t row_group_rows;      /* rows per row group of the data files; 0 = 65536 */
    uint64_t memory_bytes;      /* cap on the decoded rows of one commit; the run makes as
                                   many commits as it needs; 0 = 512 MiB */
    int64_t now_ns;             /* 0: the clock (tests) */
} ig_shift_opts;

/* maintain.target_file_bytes, maintain.wal_grace_period, maintain.shift_memory,
 * parquet.row_group_rows. */
void ig_shift_opts_from_config(const ig_config *cfg, ig_shift_opts *o);

typedef struct ig_shift_result {
    uint64_t segments;    /* WAL segments moved into Iceberg by this run */
    uint64_t rows;        /* rows committed */
    uint64_t files;       /* data files committed */
    uint64_t bytes;       /* data file bytes committed */
    uint64_t commits;     /* catalog commits (one per table and memory batch) */
    uint64_t conflicts;   /* lost compare-and-swaps that were retried */
    uint64_t wal_deleted; /* WAL segments deleted after their grace period */
    int64_t duration_ns;
} ig_shift_result;

/* Shifts one table: lists the table's WAL segments after the current snapshot's position
 * FIRST (that list is the run's cover set: every segment acknowledged before the run
 * started), reads their rows, groups them by partition (tenant_id, account_id, day of
 * timestamp), sorts each partition in the table's sort order, writes Parquet data files
 * (icegate/<table>/data/tenant_id=<t>/account_id=<a>/timestamp_day=<yyyy-mm-dd>/<uuid>.parquet)
 * and a manifest, and commits an `append` snapshot whose summary records the new WAL
 * position (IG_PLAN_SUMMARY_WAL_POS). On a lost compare-and-swap it reloads: when the
 * winner covered none of this batch's segments it re-commits the same files on the new
 * base, else it abandons the batch (deleting its unreferenced files) and re-derives the
 * batch from the new position, so no segment is ever committed twice. After committing,
 * deletes WAL segments covered by a snapshot older than the grace period.
 * res is added to (not reset). The table must exist (IG_ENOENT otherwise). */
int ig_shift_table(catalog *cat, ig_store *store, ig_table_id table, const ig_shift_opts *o,
                   ig_shift_result *res, ig_errbuf *eb);
/* ig_shift_table for the four tables; a table that fails does not stop the others; the
 * first error is returned. res is reset first. */
int ig_shift_run(catalog *cat, ig_store *store, const ig_shift_opts *o, ig_shift_result *res,
                 ig_errbuf *eb);

/* Crash-test hook: when the environment variable ICEGATE_FAILPOINT equals name, the
 * process exits at once with status 137 (as if killed with SIGKILL). Names used:
 * shift-after-data (data files and manifest written), shift-before-commit (manifest list
 * written, before the compare-and-swap), shift-after-commit (committed, before the WAL
 * deletion). */
void ig_failpoint(const char *name);

/* ---- the leader lease (src/maintain/lease.c) -------------------------------------- */

/* Takes or renews the lease `name` for `holder` in the catalog database (table
 * icegate_maintain_lease(name, holder, expires_at), created when missing): succeeds when
 * nobody holds it, the holder is us, or the other holder's lease expired. 0 when we hold
 * it until now + ttl; IG_EAGAIN when another holder has it (holder named in eb). */
int ig_lease_acquire(catalog *cat, const char *name, const char *holder, int64_t ttl_ms,
                     ig_errbuf *eb);
/* Gives the lease up (when we hold it). */
int ig_lease_release(catalog *cat, const char *name, const char *holder, ig_errbuf *eb);

/* ---- jobs ------------------------------------------------------------------------- */

typedef enum ig_maint_job {
    IG_JOB_SHIFT = 0,
    IG_JOB_COMPACT,
    IG_JOB_RETENTION,
    IG_JOB_EXPIRE,
    IG_JOB_ORPHANS,
    IG_JOB_COUNT_
} ig_maint_job;

/* "shift", "compact", "retention", "expire-snapshots", "remove-orphans". */
const char *ig_maint_job_name(ig_maint_job j);
/* Job by name, or -1. */
int ig_maint_job_by_name(ig_str name);
/* "shift, compact, ..." (for error messages). */
const char *ig_maint_job_names(void);

/* Outcome of one run of a job. */
typedef struct ig_maint_outcome {
    int rc;               /* 0, IG_EUNSUPPORTED (not built yet), or the error */
    char error[256];      /* message when rc != 0 */
    int64_t start_ns;     /* wall clock */
    int64_t duration_ns;
    uint64_t files, rows, commits;
    bool dry_run;          /* remove-orphans ran as a dry run (files = orphans found) */
    ig_shift_result shift; /* shift only */
} ig_maint_outcome;

/* Options of one run (NULL: defaults). */
typedef struct ig_maint_run_opts {
    bool dry_run;    /* remove-orphans only: find the orphans, delete nothing */
    ig_buf *orphans; /* remove-orphans: receives a JSON array of the orphan store keys found
                        (deleted, or to be deleted in a dry run); may be NULL */
} ig_maint_run_opts;

/* Runs a job once over every table. Jobs not built yet give IG_EUNSUPPORTED naming the
 * job. Thread-safe: one run at a time per process (others wait). */
int ig_maint_run_job(catalog *cat, ig_store *store, const ig_config *cfg, ig_maint_job j,
                     const ig_maint_run_opts *ro, ig_maint_outcome *out);

/* ---- the role (scheduler + admin routes) ------------------------------------------ */

typedef struct ig_maint ig_maint;
struct ig_http_server;

/* Starts the maintain role of `icegate run` over store (borrowed; must outlive it): opens
 * the catalog the configuration names, creates missing tables (ig_migrate; a line per
 * change, silent otherwise) and starts the scheduler thread, which runs shift every
 * maintain.shift_interval (0: not scheduled), compact every maintain.compact_interval and
 * retention every maintain.retention_interval, each while holding the leader lease.
 * *out is freed with ig_maint_stop. */
int ig_maint_start(const ig_config *cfg, ig_store *store, ig_maint **out, ig_errbuf *eb);
/* Stops the scheduler (waiting for a running job), releases the lease, frees. NULL ok. */
void ig_maint_stop(ig_maint *m);
/* The role's catalog handle (thread-safe; owned by the role), e.g. for the REST catalog. */
catalog *ig_maint_catalog(ig_maint *m);
/* Registers POST /maintain/run?job=NAME (runs the job now, answers when it finished:
 * 200 JSON outcome; 400 naming the valid jobs; 409 when another process holds the lease;
 * `&dry_run=true` with remove-orphans lists the orphans without deleting them;
 * 501 for a job not built yet; 500 when the job failed) and GET /status (each job's last
 * run) on the maintain listener. */
int ig_maint_register_http(ig_maint *m, struct ig_http_server *s);

/* Formats an outcome as one JSON object ({"job":..,"outcome":"ok"|"error"|"not
 * implemented",...}) appended to out. */
int ig_maint_outcome_json(ig_maint_job j, const ig_maint_outcome *o, ig_buf *out);

#endif
