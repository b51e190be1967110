/* Per-tenant limits (prefix ig_limits_; DESIGN §2). Operator doc: docs/multi-tenancy.md.
 *
 * Every limit has a default from the config file section `limits:` and may be overridden
 * per tenant by a runtime overrides file (limits.overrides_file), YAML of the shape
 *
 *     overrides:
 *       tenant-a:
 *         ingestion_rate_mb: 4
 *         max_line_size: 64KiB
 *
 * re-read every limits.overrides_period (default 10 s) by a background thread. A file
 * that cannot be read or parsed, or names an unknown limit or a bad value, keeps the
 * previous limits and logs one error line naming the file, the key and the problem
 * (once per distinct file content, not every period).
 *
 * Keys are named like Loki's `limits_config` where Loki has the limit. Sizes accept
 * 16MiB / 16MB / 16777216; durations 30s, 1h30m, 7d; 0 means "no limit" unless said.
 *
 * Lookups (ig_limits_get) copy the effective limits of a tenant out from under a read
 * lock: cheap enough for every request. A reload builds a complete new snapshot and
 * swaps it in under the write lock; nobody ever sees a half-applied file.
 *
 * Thread-safety: every function on an ig_limits is thread-safe once it is created. */
#ifndef ICEGATE_LIMITS_H
#define ICEGATE_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "icegate/buf.h"
#include "icegate/err.h"

/* The effective limits of one tenant. Units are bytes, nanoseconds, counts. */
typedef struct ig_tenant_limits {
    /* ingest */
    int64_t ingestion_rate_bytes;       /* token bucket refill, bytes/s; 0 = no limit */
    int64_t ingestion_burst_bytes;      /* token bucket size, bytes */
    int64_t max_line_size;              /* bytes per log line; 0 = no limit */
    int64_t max_label_names_per_series; /* labels per Loki push stream */
    int64_t max_request_size;           /* decompressed request bytes; 0 = listener cap only */
    int64_t storage_quota_bytes;        /* bytes stored (WAL + Iceberg); 0 = no quota */
    int64_t retention_period_ns;        /* 0 = keep forever (read by the retention job) */
    /* query (enforced by the query role) */
    double max_queries_per_second;      /* per tenant; 0 = no limit */
    int64_t max_concurrent_queries;     /* per tenant; 0 = no limit */
    int64_t max_query_parallelism;      /* sub-queries of one query run at once */
    int64_t query_timeout_ns;
    int64_t max_query_length_ns;        /* end - start of a query; 0 = no limit */
    int64_t max_entries_limit_per_query; /* log queries' `limit` */
    int64_t max_query_series;           /* series in a metric query result */
    int64_t max_concurrent_tail_requests; /* live tails (WebSocket) per tenant; 0 = no limit */
} ig_tenant_limits;

/* The built-in defaults (DESIGN §2: 16 MiB/s, 32 MiB burst, no quota, keep forever, 5000
 * entries, 500 series; the rest as Loki). */
void ig_tenant_limits_defaults(ig_tenant_limits *l);

/* Sets one limit by its key (e.g. "max_line_size") from its text form. Returns 0,
 * IG_ENOENT for an unknown key, or IG_EINVAL for a bad value; in both error cases msg
 * gets "value \"V\" is not allowed (...)" or "unknown limit (known: ...)". */
int ig_tenant_limits_set(ig_tenant_limits *l, const char *key, const char *value, char *msg,
                         size_t msglen);

/* Appends the limits as YAML ("key: value\n" lines, indented by `indent` spaces), every
 * key under its canonical name (Loki's where Loki has one). */
int ig_tenant_limits_yaml(const ig_tenant_limits *l, int indent, ig_buf *out);
/* Appends Loki's /loki/api/v1/drilldown-limits "limits" object members (JSON, no braces):
 * the published subset that applies to IceGate. */
int ig_tenant_limits_json(const ig_tenant_limits *l, ig_buf *out);

/* Number of keys and their canonical names (for docs, tests and config dumps). */
int ig_tenant_limits_nkeys(void);
const char *ig_tenant_limits_key(int i);

typedef struct ig_limits ig_limits;

typedef struct ig_limits_opts {
    ig_tenant_limits defaults;   /* from the config file's `limits:` section */
    const char *overrides_file;  /* NULL or "": no overrides (copied) */
    int64_t overrides_period_ns; /* reload period; 0 = 10 s */
    bool start_thread;           /* run the reload thread (tests call ig_limits_reload) */
} ig_limits_opts;

/* Creates the limits and loads the overrides file once. A file that cannot be loaded at
 * start is an error (eb names file, key and problem): start-up stops, as for any bad
 * configuration. */
int ig_limits_open(const ig_limits_opts *o, ig_limits **out, ig_errbuf *eb);
/* Stops the reload thread and frees everything. NULL is a no-op. */
void ig_limits_close(ig_limits *l);

/* Copies the effective limits of `tenant` into *out (defaults when no override). */
void ig_limits_get(ig_limits *l, ig_str tenant, ig_tenant_limits *out);

/* Effective limits of a multi-tenant query (X-Scope-OrgID: a|b), combined after Loki's
 * model (the most restrictive query limit wins): the smallest non-zero value of max_query_length, max_query_parallelism,
 * max_entries_limit_per_query, max_query_series, max_concurrent_queries and
 * max_queries_per_second (0 = no limit stays 0 only when every tenant has 0); the longest
 * query_timeout; ingest-side limits and retention_period from the first tenant (push
 * never takes several tenants). n >= 1. */
void ig_limits_get_combined(ig_limits *l, const ig_str *tenants, int n, ig_tenant_limits *out);

/* Re-reads the overrides file now (what the thread does each period). Returns 0 when
 * the file was applied or unchanged since the last attempt, else the error (logged once
 * per distinct content, also returned in eb) with the previous limits kept. */
int ig_limits_reload(ig_limits *l, ig_errbuf *eb);
/* Number of successful loads so far (the first one included), for tests and /metrics. */
uint64_t ig_limits_generation(ig_limits *l);

/* The process's limits, for modules that are not handed the instance (the query role
 * reads its per-tenant query limits here). Set by `icegate run`; NULL when not running. */
void ig_limits_set_process(ig_limits *l);
ig_limits *ig_limits_process(void);

#endif
