/* Write-ahead log (prefix ig_wal_). Design note: docs/wal.md.
 *
 * The WAL is a set of Parquet segments in the object store, one object per table per
 * group commit:
 *
 *     wal/<table>/<writer-id>/<seq, 20 decimal digits>.parquet
 *
 * Writer: ingest calls ig_wal_append() with the decoded batches of one request; the
 * call blocks until a background flusher has written every batch into a durable
 * segment (one segment per table per flush, one or more single-tenant sorted row groups
 * per tenant) or failed. From the moment append returns 0 the rows are visible to
 * ig_wal_list()/ig_wal_segment_open() readers.
 *
 * Readers (query engine, shift job): a position (ig_wal_pos, writer id → last sequence
 * number covered) says which segments are already in Iceberg; ig_wal_list() returns the
 * segments after it, ig_wal_segment_open() opens one through ranged reads, and
 * ig_wal_segment_info() gives the tenant and time range of every row group from the
 * footer key/value metadata, so a reader skips other tenants' row groups before it
 * reads any column data. */
#ifndef ICEGATE_WAL_H
#define ICEGATE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/config.h"
#include "icegate/err.h"
#include "icegate/parquet.h"
#include "icegate/store.h"
#include "icegate/tables.h"

#define IG_WAL_WRITER_MAX                                                                          \
    64                     /* writer id: 1..64 bytes of A-Z a-z 0-9 . _ -, not starting with '.' */
#define IG_WAL_KEY_MAX 128 /* longest segment key plus NUL */

/* Footer key/value names written on every segment. */
#define IG_WAL_KV_WRITER "icegate.wal.writer"  /* writer id */
#define IG_WAL_KV_SEQ "icegate.wal.seq"        /* sequence number, decimal */
#define IG_WAL_KV_TABLE "icegate.wal.table"    /* "logs", "spans", "metrics", "events" */
#define IG_WAL_KV_RGS "icegate.wal.row_groups" /* JSON, see ig_wal_segment_info */

/* ---- writer ----------------------------------------------------------------------- */

typedef struct ig_wal ig_wal;

/* Writer options. Zero means "default" everywhere, so `ig_wal_opts o = {0};` works. */
typedef struct ig_wal_opts {
    const char *writer_id;     /* NULL: a random 16-hex id (each process a distinct writer);
                                  copied */
    int64_t flush_interval_ns; /* longest a request waits for others to join; 0 = 200 ms */
    size_t flush_rows;         /* flush early when this many rows are queued; 0 = 65536 */
    size_t flush_bytes;        /* flush early at this many estimated bytes; 0 = 64 MiB */
    size_t queue_bytes;        /* cap on estimated bytes of rows accepted but not yet durable
                                  (queued or being written); past it append fails with
                                  IG_EAGAIN; 0 = 256 MiB */
    pq_writer_opts pq;         /* Parquet options (codec ZSTD by default); pq.row_group_rows is
                                  the largest row group (0 = 65536); a tenant with more rows
                                  gets several row groups */
} ig_wal_opts;

/* Fills o from the configuration (wal.flush_interval, wal.flush_rows, wal.flush_bytes,
 * wal.queue_bytes, parquet.row_group_rows, parquet.page_bytes); the writer id stays NULL
 * (random per process). */
void ig_wal_opts_from_config(const ig_config *cfg, ig_wal_opts *o);

/* What one append produced. Filled by ig_wal_append on success (and, on failure, with
 * the segments that did become durable: see docs/wal.md "Failures"). */
typedef struct ig_wal_ack {
    uint64_t rows;    /* rows of the request */
    size_t nsegments; /* one per table the request had rows for */
    ig_table_id tables[IG_TABLE_COUNT_];
    uint64_t seqs[IG_TABLE_COUNT_];
    char keys[IG_TABLE_COUNT_][IG_WAL_KEY_MAX]; /* segment keys, NUL-terminated */
} ig_wal_ack;

/* Counters of one WAL (the process-wide ones are on /metrics). */
typedef struct ig_wal_stats {
    uint64_t flushes;        /* group commits run */
    uint64_t segments;       /* segments written */
    uint64_t rows;           /* rows made durable */
    uint64_t bytes;          /* segment bytes written */
    uint64_t failed_flushes; /* flushes where at least one segment failed */
    uint64_t queue_bytes;    /* current estimated bytes accepted but not yet durable */
    int64_t last_flush_ns;   /* duration of the last flush */
    int64_t flush_ns_total;  /* summed duration of all flushes */
} ig_wal_stats;

/* Opens a writer over `store` (borrowed: must outlive the WAL). Lists the writer's
 * existing segments so sequence numbers continue after the highest one on disk, and
 * starts the flusher thread. o may be NULL. *out is freed with ig_wal_close. */
int ig_wal_open(ig_store *store, const ig_wal_opts *o, ig_wal **out, ig_errbuf *eb);

/* Flushes what is queued (waking those appends), stops the flusher, frees the WAL.
 * Appends that start after close began fail with IG_ECANCELED; close waits for
 * appends still returning. NULL is a no-op. */
void ig_wal_close(ig_wal *wal);

/* The writer id in use (owned by the WAL). */
const char *ig_wal_writer_id(const ig_wal *wal);

/* Appends the request's batches (n of them, each one table and one tenant; empty batches
 * are ignored; at most one batch per table is typical but not required) and blocks until
 * they are durable. The rows (and the memory their views point into) are borrowed until
 * the call returns; they are not modified.
 * Returns 0 when every row is in a durable segment (ack, if not NULL, says which);
 * IG_EAGAIN at once when the queue cap is reached (nothing was queued or written);
 * IG_ETOOBIG when the request alone is larger than the queue cap; IG_EINVAL for a bad
 * batch (unknown table, a batch mixing tenants, a missing tenant); IG_ECANCELED when the
 * WAL is closing; else the error of the failed flush (IG_EIO, IG_ENOMEM, ...), with the
 * message in eb. After an error the request must be answered with an error: some of its
 * tables may already be durable (see docs/wal.md). Thread-safe. */
int ig_wal_append(ig_wal *wal, const ig_rows *batches, size_t n, ig_wal_ack *ack, ig_errbuf *eb);

void ig_wal_get_stats(ig_wal *wal, ig_wal_stats *out);

/* Estimated in-memory bytes of rows [0, rows->n) (what the queue cap counts). */
size_t ig_wal_rows_bytes(const ig_rows *rows);

/* ---- positions -------------------------------------------------------------------- */

typedef struct ig_wal_pos_entry {
    char writer[IG_WAL_WRITER_MAX + 1];
    uint64_t seq; /* last sequence number covered */
} ig_wal_pos_entry;

/* A position: for each writer, the last sequence number covered (a writer that is
 * absent has nothing covered). Entries kept sorted by writer. Zero-initialise; free with
 * ig_wal_pos_free. */
typedef struct ig_wal_pos {
    ig_wal_pos_entry *e; /* owned */
    size_t n, cap;
} ig_wal_pos;

void ig_wal_pos_free(ig_wal_pos *p);
/* Sets writer's covered seq (replacing any previous value). IG_EINVAL for a bad writer id. */
int ig_wal_pos_set(ig_wal_pos *p, const char *writer, uint64_t seq);
/* Covered seq of writer, or 0 when absent. */
uint64_t ig_wal_pos_get(const ig_wal_pos *p, const char *writer);
/* Text form for Iceberg snapshot summaries: "w1:12,w2:7" (writers sorted; "" when empty). */
int ig_wal_pos_format(const ig_wal_pos *p, ig_buf *out);
/* Parses the text form into p (which is reset first). IG_EINVAL naming the problem. */
int ig_wal_pos_parse(ig_str s, ig_wal_pos *p, ig_errbuf *eb);

/* ---- reading ---------------------------------------------------------------------- */

typedef struct ig_wal_seg {
    const char *key;    /* full key */
    const char *writer; /* writer id */
    uint64_t seq;
    uint64_t size;
    int64_t mtime_ns;
} ig_wal_seg;

typedef struct ig_wal_seglist {
    ig_wal_seg *segs; /* ordered by (writer bytewise, seq); owned (ig_malloc) */
    size_t n;
    ig_arena arena; /* owns the key and writer strings */
} ig_wal_seglist;

/* Lists the complete segments of `table` not covered by `after` (NULL: all): only keys
 * of the exact form wal/<table>/<writer>/<20 digits>.parquet (objects being written and
 * anything else under wal/ are skipped). `out` is initialised here and must be freed
 * with ig_wal_seglist_free, also after an error. */
int ig_wal_list(ig_store *store, ig_table_id table, const ig_wal_pos *after, ig_wal_seglist *out,
                ig_errbuf *eb);
void ig_wal_seglist_free(ig_wal_seglist *l);
/* Raises p to cover every segment of l (per writer, the highest seq). */
int ig_wal_pos_cover(ig_wal_pos *p, const ig_wal_seglist *l);

/* Opens a segment for reading through ranged reads of the store (a HEAD, then only the
 * footer; column chunks are read when pq_read_column asks for them). `store` must
 * outlive the file; free with pq_close. IG_ENOENT if the segment is gone (deleted after
 * its grace period). */
int ig_wal_segment_open(ig_store *store, const char *key, pq_file **out, ig_errbuf *eb);

/* Per row group facts from the footer (IG_WAL_KV_RGS). */
typedef struct ig_wal_rg {
    ig_str tenant; /* tenant_id of every row of the row group */
    uint64_t rows;
    int64_t min_ts_us, max_ts_us; /* `timestamp` range of the row group */
} ig_wal_rg;

typedef struct ig_wal_seginfo {
    ig_table_id table;
    const char *writer;
    uint64_t seq;
    ig_wal_rg *rgs; /* one per row group of the file, in file order */
    size_t nrgs;
    ig_arena arena; /* owns the above */
} ig_wal_seginfo;

/* Decodes a segment's footer key/values. Checks them against the file (row group count
 * and row counts): IG_ECORRUPT when absent or inconsistent. Free with
 * ig_wal_seginfo_free (also after an error). */
int ig_wal_segment_info(const pq_file *f, ig_wal_seginfo *out, ig_errbuf *eb);
void ig_wal_seginfo_free(ig_wal_seginfo *si);
/* true when row group rg holds rows of `tenant` (the reader's first pruning step). */
bool ig_wal_rg_is_tenant(const ig_wal_seginfo *si, size_t rg, ig_str tenant);

/* Shift job: deletes the segments of `table` covered by `pos` (seq <= pos[writer]) whose
 * mtime is before `older_than_ns` (Unix ns; pass now - grace period). Segments not
 * covered, or younger, are kept, and so is each writer's newest segment (the high-water
 * mark its sequence numbers continue from after a restart). *ndeleted (may be NULL) gets
 * the count. A segment that vanished meanwhile is not an error. */
int ig_wal_delete_upto(ig_store *store, ig_table_id table, const ig_wal_pos *pos,
                       int64_t older_than_ns, size_t *ndeleted, ig_errbuf *eb);

/* Parses a segment key; true when it has the exact WAL form. writer gets the id
 * (NUL-terminated, IG_WAL_WRITER_MAX + 1 bytes). */
bool ig_wal_parse_key(const char *key, ig_table_id *table, char *writer, uint64_t *seq);
/* true when s is a valid writer id. */
bool ig_wal_writer_valid(const char *s);

#endif
