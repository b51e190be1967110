/* The four IceGate tables (DESIGN §3): their Iceberg schemas with stable field ids, and
 * the in-memory rows that ingest produces and the WAL writes.
 *
 * Field ids are assigned once here and never reused. The same schema serves the WAL
 * segments and the Iceberg data files, so a WAL row group can be copied column by column
 * into an Iceberg file.
 *
 * Rows hold views (ig_str) into memory owned by whoever built them (the request body or
 * the request arena); they stay valid until that request is answered, which is after
 * its WAL segment is durable. Null conventions: an ig_str with ptr == NULL is null; a
 * numeric field has a has_* flag; an ig_attrs with n == 0 is an empty map (maps are
 * never null). */
#ifndef ICEGATE_TABLES_H
#define ICEGATE_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/parquet.h"

typedef enum ig_table_id {
    IG_TABLE_LOGS = 0,
    IG_TABLE_SPANS = 1,
    IG_TABLE_METRICS = 2,
    IG_TABLE_EVENTS = 3,
    IG_TABLE_COUNT_ = 4
} ig_table_id;

/* "logs", "spans", "metrics", "events". */
const char *ig_table_name(ig_table_id t);
/* Table id by name, or -1. */
int ig_table_by_name(ig_str name);
/* Top-level fields of the table (Iceberg-style, for pq_schema_build and Iceberg metadata). */
const pq_field *ig_table_fields(ig_table_id t, size_t *nfields);
/* Largest field id used by the table (Iceberg last-column-id). */
int32_t ig_table_last_column_id(ig_table_id t);
/* The Parquet schema of the table, built once and shared (immutable; never freed). */
const pq_schema *ig_table_schema(ig_table_id t);

/* ---- rows ----------------------------------------------------------------------- */

typedef struct ig_attr {
    ig_str key;
    ig_str value; /* as text: strings as-is, other AnyValues as JSON; ptr NULL = no value */
} ig_attr;

typedef struct ig_attrs {
    ig_attr *items;
    uint32_t n;
} ig_attrs;

/* Common identity of every row. */
typedef struct ig_row_ident {
    ig_str tenant_id;   /* required */
    ig_str account_id;  /* optional */
    ig_str service_name; /* optional */
    /* OTLP envelope of the record (null for Loki push): schema URLs of the
     * Resource{Logs,Spans,Metrics} and Scope* messages, and the dropped attribute counts
     * of the Resource and InstrumentationScope (null when 0). */
    ig_str resource_schema_url;
    ig_str scope_schema_url;
    int64_t resource_dropped_attributes_count;
    int64_t scope_dropped_attributes_count;
    bool has_resource_dropped_attributes_count;
    bool has_scope_dropped_attributes_count;
} ig_row_ident;

/* Timestamps are microseconds since the epoch (Iceberg timestamptz). */
typedef struct ig_log_row {
    ig_row_ident id;
    int64_t timestamp_us;
    int64_t observed_us;
    bool has_observed;
    int64_t ingested_us;
    uint8_t trace_id[16];
    bool has_trace_id;
    uint8_t span_id[8];
    bool has_span_id;
    int32_t severity_number;
    bool has_severity_number;
    ig_str severity_text;
    ig_str body;
    ig_str event_name;
    int64_t flags;
    bool has_flags;
    int64_t dropped_attributes_count;
    bool has_dropped_attributes_count;
    ig_str scope_name;
    ig_str scope_version;
    ig_attrs resource_attributes;
    ig_attrs scope_attributes;
    ig_attrs attributes;
    ig_str source; /* "otlp" or "loki": how the row arrived (decides the Loki label view) */
    ig_str event_domain; /* events table only */
} ig_log_row; /* used for both logs and events */

typedef struct ig_span_event {
    int64_t timestamp_us;
    ig_str name;
    ig_attrs attributes;
    int64_t dropped_attributes_count;
    bool has_dropped_attributes_count;
} ig_span_event;

typedef struct ig_span_link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    ig_str trace_state;
    ig_attrs attributes;
    int64_t dropped_attributes_count;
    bool has_dropped_attributes_count;
    int64_t flags;
    bool has_flags;
} ig_span_link;

typedef struct ig_span_row {
    ig_row_ident id;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    bool has_parent_span_id;
    int64_t timestamp_us;     /* start */
    int64_t end_timestamp_us;
    int64_t ingested_us;
    int64_t duration_nanos;   /* end - start in ns (exact; timestamps are µs) */
    ig_str trace_state;
    ig_str name;
    int32_t kind;             /* OTLP SpanKind number */
    bool has_kind;
    int32_t status_code;      /* OTLP StatusCode number */
    bool has_status_code;
    ig_str status_message;
    int64_t flags;
    bool has_flags;
    int64_t dropped_attributes_count, dropped_events_count, dropped_links_count;
    bool has_dropped_attributes_count, has_dropped_events_count, has_dropped_links_count;
    ig_str scope_name;
    ig_str scope_version;
    ig_attrs resource_attributes;
    ig_attrs scope_attributes;
    ig_attrs attributes;
    ig_span_event *events;
    uint32_t nevents;
    ig_span_link *links;
    uint32_t nlinks;
} ig_span_row;

typedef struct ig_i64_list {
    int64_t *v;
    uint32_t n;
    bool present; /* false: null */
} ig_i64_list;

typedef struct ig_f64_list {
    double *v;
    uint32_t n;
    bool present;
} ig_f64_list;

typedef struct ig_quantile {
    double quantile, value;
} ig_quantile;

typedef struct ig_exemplar {
    int64_t timestamp_us;
    bool has_timestamp;
    double value_double;
    bool has_value_double;
    int64_t value_int;
    bool has_value_int;
    uint8_t span_id[8];
    bool has_span_id;
    uint8_t trace_id[16];
    bool has_trace_id;
    ig_attrs attributes; /* OTLP filtered_attributes */
} ig_exemplar;

typedef struct ig_metric_row {
    ig_row_ident id;
    ig_str service_instance_id;
    int64_t timestamp_us;
    int64_t start_timestamp_us;
    bool has_start_timestamp;
    int64_t ingested_us;
    ig_str metric_name;
    ig_str metric_type; /* gauge | sum | histogram | exponential_histogram | summary */
    ig_str description;
    ig_str unit;
    ig_str aggregation_temporality; /* "DELTA" | "CUMULATIVE" | null */
    bool is_monotonic;
    bool has_is_monotonic;
    double value_double;
    bool has_value_double;
    int64_t value_int;
    bool has_value_int;
    int64_t count;
    bool has_count;
    double sum, min, max;
    bool has_sum, has_min, has_max;
    ig_i64_list bucket_counts;
    ig_f64_list explicit_bounds;
    int32_t scale;
    bool has_scale;
    int64_t zero_count;
    bool has_zero_count;
    double zero_threshold;
    bool has_zero_threshold;
    int32_t positive_offset, negative_offset;
    bool has_positive_offset, has_negative_offset;
    ig_i64_list positive_bucket_counts, negative_bucket_counts;
    ig_quantile *quantiles; /* summary only; NULL with nquantiles 0 and has_quantiles false = null */
    uint32_t nquantiles;
    bool has_quantiles;
    int64_t flags;
    bool has_flags;
    ig_exemplar *exemplars;
    uint32_t nexemplars;
    ig_attrs metadata;
    ig_str scope_name;
    ig_str scope_version;
    ig_attrs resource_attributes;
    ig_attrs scope_attributes;
    ig_attrs attributes; /* data point attributes */
} ig_metric_row;

/* A batch of rows of one table, all of one tenant (and any accounts of it). */
typedef struct ig_rows {
    ig_table_id table;
    size_t n;
    union {
        ig_log_row *logs;    /* IG_TABLE_LOGS and IG_TABLE_EVENTS */
        ig_span_row *spans;
        ig_metric_row *metrics;
    } u;
} ig_rows;

/* Sorts rows by the table's sort order (logs/events: service_name ASC, timestamp DESC;
 * spans: trace_id ASC, timestamp ASC; metrics: metric_name, service_name ASC, timestamp
 * DESC; nulls first), with account_id as the first key so that every account's rows are
 * contiguous. Stable. */
void ig_rows_sort(ig_rows *rows);

/* Appends rows [from, to) to the writer's current row group (the writer's schema must be
 * ig_table_schema(rows->table)). Does not flush. */
int ig_rows_write(pq_writer *w, const ig_rows *rows, size_t from, size_t to, ig_errbuf *eb);

#endif
