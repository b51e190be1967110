/* LogQL evaluation (prefix lq_): the interface between the parts of the engine.
 * Design note: docs/query.md.
 *
 *   source   (src/query/source.c)    log entries of one tenant/account and time range
 *                                    from the WAL and Iceberg (ig_plan_scan), pruned by
 *                                    the stream selector and line filters
 *   pipeline (src/query/pipeline.c)  one entry through the stages of a log query:
 *                                    line filters, parsers, label filters, formatters,
 *                                    drop/keep, unwrap -> keep/drop, labels, line, value
 *   metric   (src/query/metric.c)    range and vector aggregations, binary operators,
 *                                    instant and range evaluation over steps
 *   loki API (src/query/loki_api.c)  HTTP on 3100: parameters, responses, errors
 *
 * Time is in Unix nanoseconds throughout (the tables store microseconds; the source
 * multiplies). Label sets are sorted by name, names unique. */
#ifndef ICEGATE_LOGQL_EVAL_H
#define ICEGATE_LOGQL_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/catalog.h"
#include "icegate/err.h"
#include "icegate/logql.h"
#include "icegate/store.h"

/* ---- labels ---------------------------------------------------------------------- */
typedef struct lq_label {
    ig_str name, value;
} lq_label;

typedef struct lq_labels {
    lq_label *v; /* sorted by name, unique names */
    size_t n;
} lq_labels;

/* Loki's text form {a="1", b="2"} (values escaped as Go %q), appended to b. */
int lq_labels_print(const lq_labels *l, ig_buf *b);
/* Stable 64-bit hash of a label set (series identity). */
uint64_t lq_labels_hash(const lq_labels *l);
int lq_labels_cmp(const lq_labels *a, const lq_labels *b);
/* Value of name, or ptr NULL when absent. */
ig_str lq_labels_get(const lq_labels *l, ig_str name);

/* ---- entries and sources ----------------------------------------------------------- */
/* One stored log row as LogQL sees it (DESIGN §5): for Loki-pushed rows `stream` holds
 * exactly the pushed stream labels and `meta` the structured metadata; for OTLP rows
 * they follow Loki's OTLP mapping. Views valid only during the callback. */
typedef struct lq_entry {
    int64_t ts_ns;
    ig_str line;
    lq_labels stream;
    lq_labels meta;
} lq_entry;

/* Called once per entry; return 0 to go on, a nonzero value stops the scan and is
 * returned by scan(). */
typedef int (*lq_entry_fn)(void *ctx, const lq_entry *e);

/* A data source. scan() calls fn for every entry whose stream labels match
 * log->matchers and whose timestamp is in [start_ns, end_ns), in no particular order;
 * it may also use log's leading line filters to skip rows, never to add any. The
 * pipeline is NOT applied by the source. */
typedef struct lq_source lq_source;
struct lq_source {
    int (*scan)(lq_source *s, const logql_log *log, int64_t start_ns, int64_t end_ns,
                lq_entry_fn fn, void *fnctx, ig_errbuf *eb);
    void *ctx;
};

/* The source over the logs table (src/query/source.c): one tenant and optional account,
 * Iceberg data files of the current snapshot plus the WAL after it (ig_plan_scan; cat may
 * be NULL: WAL only). store and cat are borrowed and must outlive the source. The stats
 * count what scans read (for the `stats` object). Not thread-safe: one query at a time. */
typedef struct lq_scan_stats {
    uint64_t files, row_groups; /* opened */
    uint64_t rows;              /* rows of the tenant in the time range, before filters */
    uint64_t bytes;             /* line bytes of those rows */
    uint64_t entries;           /* entries handed to the callback */
} lq_scan_stats;

typedef struct lq_table_source {
    lq_source src; /* pass &ts->src as the lq_source */
    catalog *cat;
    ig_store *store;
    ig_str tenant, account; /* account ptr NULL: every account (account_id then a label) */
    int64_t deadline_ns;    /* CLOCK_MONOTONIC; 0 = none. Past it scan() returns IG_ETIMEDOUT */
    /* Optional cancellation (the client went away): checked with the deadline, from the
     * scan's threads (must be thread-safe and cheap); true makes scan() return
     * IG_ECANCELED. NULL = none. */
    bool (*cancelled)(void *ud);
    void *cancel_ud;
    /* Row groups read and filtered at once (a bounded window of threads; entries still
     * reach the callback in plan order, on the calling thread). 0 = number of CPUs. */
    int threads;
    /* Optional bounds a log query's consumer raises while it runs (its `limit` is full):
     * rows with ts < *ts_floor_ns (backward) or ts > *ts_ceil_ns (forward) cannot enter
     * the result and are skipped before their columns are read. NULL = none. With a
     * floor, planned files are visited newest first (WAL segments by descending
     * sequence), so the floor rises early. */
    const int64_t *ts_floor_ns;
    const int64_t *ts_ceil_ns;
    /* The consumer reads labels only (labels, series, ...): without line filters the
     * body column is not read and entries carry an empty line. */
    bool labels_only;
    lq_scan_stats stats;
} lq_table_source;

void lq_table_source_init(lq_table_source *s, catalog *cat, ig_store *store, ig_str tenant,
                          ig_str account);

/* ---- pipeline ------------------------------------------------------------------------ */
typedef struct lq_pipeline lq_pipeline;

/* Compiles log->stages (and log->unwrap) once per query. IG_EINVAL with Loki's message
 * for what cannot compile (bad regexp, bad template); IG_EUNSUPPORTED naming a feature
 * not built yet (the API answers 501). Owned by arena a. */
int lq_pipeline_new(const logql_log *log, ig_arena *a, lq_pipeline **out, ig_errbuf *eb);

typedef struct lq_out {
    lq_labels labels; /* resulting label set: stream labels, structured metadata, parsed
                         labels, __error__/__error_details__, after drop/keep/format */
    ig_str line;      /* the line after line_format */
    double value;     /* the unwrapped value (when the query has unwrap) */
    bool has_value;   /* false when unwrap conversion failed (then __error__ is set) */
    const uint8_t *cats; /* category of each label, parallel to labels.v: 0 stream label,
                            1 structured metadata, 2 parsed/formatted (categorize-labels) */
} lq_out;

/* Runs one entry through the pipeline. Returns true when the entry passes every filter;
 * out's memory is in `scratch` (the caller resets it between entries as it sees fit).
 * Thread-safe on distinct scratch arenas. */
bool lq_pipeline_run(lq_pipeline *p, const lq_entry *in, ig_arena *scratch, lq_out *out);

/* ---- metric evaluation ----------------------------------------------------------------- */
typedef enum lq_rtype { LQ_SCALAR, LQ_VECTOR, LQ_MATRIX, LQ_STREAMS } lq_rtype;

typedef struct lq_point {
    int64_t ts_ns;
    double v;
} lq_point;

typedef struct lq_series {
    lq_labels labels;
    lq_point *pts;
    size_t n;
} lq_series;

typedef struct lq_result {
    lq_rtype type;
    lq_series *series; /* VECTOR: one point each; MATRIX: points in time order */
    size_t n;
    double scalar; /* SCALAR */
    int64_t scalar_ts_ns;
} lq_result;

typedef struct lq_eval_opts {
    /* instant (or step <= 0): one evaluation at end_ns. Range: at start, start+step, ...
     * <= end (start is not aligned to a multiple of step); (end-start)/step > 11000 fails
     * with Loki's "exceeded maximum resolution of 11,000 points per timeseries" text. */
    int64_t start_ns, end_ns, step_ns;
    bool instant;
    size_t max_series;  /* 0 = Loki's default 500 */
    int64_t deadline_ns; /* 0 = none; CLOCK_MONOTONIC */
} lq_eval_opts;

/* Evaluates a metric expression (logql_is_metric(e)) into out: LQ_SCALAR (instant,
 * literals only), LQ_VECTOR (instant) or LQ_MATRIX (range; a literal-only expression is
 * one unlabeled series); series sorted by labels except after sort/sort_desc. Scans src
 * once per range aggregation. Everything (result included) lives in a, whose cap bounds
 * the query (IG_ENOMEM). Errors: IG_EINVAL with Loki's text (4xx: pipeline errors,
 * matching errors, limits), IG_EUNSUPPORTED naming the feature (501), IG_ETIMEDOUT.
 * Design note: docs/query-metric.md. */
int lq_eval_metric(const logql_expr *e, lq_source *src, const lq_eval_opts *o, ig_arena *a,
                   lq_result *out, ig_errbuf *eb);

/* Loki's JSON "data" object for a metric result: {"resultType":..,"result":[..]}
 * without "stats" (values as strings in Go's 'f' -1 form, NaN/+Inf/-Inf; timestamps
 * in milliseconds printed as seconds with the fraction trimmed). Appends to b;
 * IG_ETOOBIG past its cap; IG_EUNSUPPORTED for LQ_STREAMS (written by the Loki API). */
int lq_result_json(const lq_result *r, ig_buf *b);

#endif
