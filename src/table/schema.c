/* Table schemas (field ids are permanent), row sorting, and rows → Parquet columns. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/tables.h"

#define F(id_, name_, req_, type_) {(id_), (name_), (req_), (type_), 0, NULL, 0}
#define FIXED(id_, name_, req_, len_) {(id_), (name_), (req_), PQ_T_FIXED, (len_), NULL, 0}
#define NEST(id_, name_, req_, type_, kids_)                                                    \
    {(id_), (name_), (req_), (type_), 0, (kids_), sizeof(kids_) / sizeof((kids_)[0])}
#define STRMAP_KIDS(name_, kid_, vid_)                                                          \
    static const pq_field name_[] = {F(kid_, "key", true, PQ_T_STRING),                        \
                                     F(vid_, "value", false, PQ_T_STRING)}

/* ---- logs ---- */
STRMAP_KIDS(logs_res, 18, 19);
STRMAP_KIDS(logs_scope, 21, 22);
STRMAP_KIDS(logs_attr, 24, 25);
static const pq_field LOGS[] = {
    F(1, "tenant_id", true, PQ_T_STRING),
    F(2, "account_id", false, PQ_T_STRING),
    F(3, "service_name", false, PQ_T_STRING),
    F(4, "timestamp", true, PQ_T_TIMESTAMPTZ),
    F(5, "observed_timestamp", false, PQ_T_TIMESTAMPTZ),
    F(6, "ingested_timestamp", true, PQ_T_TIMESTAMPTZ),
    FIXED(7, "trace_id", false, 16),
    FIXED(8, "span_id", false, 8),
    F(9, "severity_number", false, PQ_T_INT),
    F(10, "severity_text", false, PQ_T_STRING),
    F(11, "body", false, PQ_T_STRING),
    F(12, "event_name", false, PQ_T_STRING),
    F(13, "flags", false, PQ_T_LONG),
    F(14, "dropped_attributes_count", false, PQ_T_LONG),
    F(15, "scope_name", false, PQ_T_STRING),
    F(16, "scope_version", false, PQ_T_STRING),
    NEST(17, "resource_attributes", true, PQ_T_MAP, logs_res),
    NEST(20, "scope_attributes", true, PQ_T_MAP, logs_scope),
    NEST(23, "attributes", true, PQ_T_MAP, logs_attr),
    F(26, "source", false, PQ_T_STRING),
    F(27, "resource_schema_url", false, PQ_T_STRING),
    F(28, "scope_schema_url", false, PQ_T_STRING),
    F(29, "resource_dropped_attributes_count", false, PQ_T_LONG),
    F(30, "scope_dropped_attributes_count", false, PQ_T_LONG),
};

/* ---- events (log records with an event name) ---- */
STRMAP_KIDS(ev_res, 19, 20);
STRMAP_KIDS(ev_scope, 22, 23);
STRMAP_KIDS(ev_attr, 25, 26);
static const pq_field EVENTS[] = {
    F(1, "tenant_id", true, PQ_T_STRING),
    F(2, "account_id", false, PQ_T_STRING),
    F(3, "service_name", false, PQ_T_STRING),
    F(4, "timestamp", true, PQ_T_TIMESTAMPTZ),
    F(5, "observed_timestamp", false, PQ_T_TIMESTAMPTZ),
    F(6, "ingested_timestamp", true, PQ_T_TIMESTAMPTZ),
    F(7, "event_domain", false, PQ_T_STRING),
    F(8, "event_name", true, PQ_T_STRING),
    FIXED(9, "trace_id", false, 16),
    FIXED(10, "span_id", false, 8),
    F(11, "severity_number", false, PQ_T_INT),
    F(12, "severity_text", false, PQ_T_STRING),
    F(13, "body", false, PQ_T_STRING),
    F(14, "flags", false, PQ_T_LONG),
    F(15, "dropped_attributes_count", false, PQ_T_LONG),
    F(16, "scope_name", false, PQ_T_STRING),
    F(17, "scope_version", false, PQ_T_STRING),
    NEST(18, "resource_attributes", true, PQ_T_MAP, ev_res),
    NEST(21, "scope_attributes", true, PQ_T_MAP, ev_scope),
    NEST(24, "attributes", true, PQ_T_MAP, ev_attr),
    F(27, "resource_schema_url", false, PQ_T_STRING),
    F(28, "scope_schema_url", false, PQ_T_STRING),
    F(29, "resource_dropped_attributes_count", false, PQ_T_LONG),
    F(30, "scope_dropped_attributes_count", false, PQ_T_LONG),
};

/* ---- spans ---- */
STRMAP_KIDS(sp_res, 23, 24);
STRMAP_KIDS(sp_scope, 26, 27);
STRMAP_KIDS(sp_attr, 29, 30);
STRMAP_KIDS(sp_ev_attr, 36, 37);
STRMAP_KIDS(sp_ln_attr, 45, 46);
static const pq_field SP_EVENT[] = {
    F(33, "timestamp", true, PQ_T_TIMESTAMPTZ),
    F(34, "name", true, PQ_T_STRING),
    NEST(35, "attributes", true, PQ_T_MAP, sp_ev_attr),
    F(38, "dropped_attributes_count", false, PQ_T_LONG),
};
static const pq_field SP_EVENT_ELEM[] = {NEST(32, "element", true, PQ_T_STRUCT, SP_EVENT)};
static const pq_field SP_LINK[] = {
    FIXED(41, "trace_id", true, 16),
    FIXED(42, "span_id", true, 8),
    F(43, "trace_state", false, PQ_T_STRING),
    NEST(44, "attributes", true, PQ_T_MAP, sp_ln_attr),
    F(47, "dropped_attributes_count", false, PQ_T_LONG),
    F(48, "flags", false, PQ_T_LONG),
};
static const pq_field SP_LINK_ELEM[] = {NEST(40, "element", true, PQ_T_STRUCT, SP_LINK)};
static const pq_field SPANS[] = {
    F(1, "tenant_id", true, PQ_T_STRING),
    F(2, "account_id", false, PQ_T_STRING),
    F(3, "service_name", false, PQ_T_STRING),
    FIXED(4, "trace_id", true, 16),
    FIXED(5, "span_id", true, 8),
    FIXED(6, "parent_span_id", false, 8),
    F(7, "timestamp", true, PQ_T_TIMESTAMPTZ),
    F(8, "end_timestamp", true, PQ_T_TIMESTAMPTZ),
    F(9, "ingested_timestamp", true, PQ_T_TIMESTAMPTZ),
    F(10, "duration_nanos", true, PQ_T_LONG),
    F(11, "trace_state", false, PQ_T_STRING),
    F(12, "name", true, PQ_T_STRING),
    F(13, "kind", false, PQ_T_INT),
    F(14, "status_code", false, PQ_T_INT),
    F(15, "status_message", false, PQ_T_STRING),
    F(16, "flags", false, PQ_T_LONG),
    F(17, "dropped_attributes_count", false, PQ_T_LONG),
    F(18, "dropped_events_count", false, PQ_T_LONG),
    F(19, "dropped_links_count", false, PQ_T_LONG),
    F(20, "scope_name", false, PQ_T_STRING),
    F(21, "scope_version", false, PQ_T_STRING),
    NEST(22, "resource_attributes", true, PQ_T_MAP, sp_res),
    NEST(25, "scope_attributes", true, PQ_T_MAP, sp_scope),
    NEST(28, "attributes", true, PQ_T_MAP, sp_attr),
    NEST(31, "events", true, PQ_T_LIST, SP_EVENT_ELEM),
    NEST(39, "links", true, PQ_T_LIST, SP_LINK_ELEM),
    F(49, "resource_schema_url", false, PQ_T_STRING),
    F(50, "scope_schema_url", false, PQ_T_STRING),
    F(51, "resource_dropped_attributes_count", false, PQ_T_LONG),
    F(52, "scope_dropped_attributes_count", false, PQ_T_LONG),
};

/* ---- metrics ---- */
STRMAP_KIDS(m_ex_attr, 46, 47);
STRMAP_KIDS(m_meta, 49, 50);
STRMAP_KIDS(m_res, 54, 55);
STRMAP_KIDS(m_scope, 57, 58);
STRMAP_KIDS(m_attr, 60, 61);
static const pq_field M_BUCKETS[] = {F(21, "element", true, PQ_T_LONG)};
static const pq_field M_BOUNDS[] = {F(23, "element", true, PQ_T_DOUBLE)};
static const pq_field M_POS[] = {F(29, "element", true, PQ_T_LONG)};
static const pq_field M_NEG[] = {F(32, "element", true, PQ_T_LONG)};
static const pq_field M_Q[] = {F(35, "quantile", true, PQ_T_DOUBLE),
                               F(36, "value", true, PQ_T_DOUBLE)};
static const pq_field M_Q_ELEM[] = {NEST(34, "element", true, PQ_T_STRUCT, M_Q)};
static const pq_field M_EX[] = {
    F(40, "timestamp", false, PQ_T_TIMESTAMPTZ),
    F(41, "value_double", false, PQ_T_DOUBLE),
    F(42, "value_int", false, PQ_T_LONG),
    FIXED(43, "span_id", false, 8),
    FIXED(44, "trace_id", false, 16),
    NEST(45, "attributes", true, PQ_T_MAP, m_ex_attr),
};
static const pq_field M_EX_ELEM[] = {NEST(39, "element", true, PQ_T_STRUCT, M_EX)};
static const pq_field METRICS[] = {
    F(1, "tenant_id", true, PQ_T_STRING),
    F(2, "account_id", false, PQ_T_STRING),
    F(3, "service_name", false, PQ_T_STRING),
    F(4, "service_instance_id", false, PQ_T_STRING),
    F(5, "timestamp", true, PQ_T_TIMESTAMPTZ),
    F(6, "start_timestamp", false, PQ_T_TIMESTAMPTZ),
    F(7, "ingested_timestamp", true, PQ_T_TIMESTAMPTZ),
    F(8, "metric_name", true, PQ_T_STRING),
    F(9, "metric_type", true, PQ_T_STRING),
    F(10, "description", false, PQ_T_STRING),
    F(11, "unit", false, PQ_T_STRING),
    F(12, "aggregation_temporality", false, PQ_T_STRING),
    F(13, "is_monotonic", false, PQ_T_BOOLEAN),
    F(14, "value_double", false, PQ_T_DOUBLE),
    F(15, "value_int", false, PQ_T_LONG),
    F(16, "count", false, PQ_T_LONG),
    F(17, "sum", false, PQ_T_DOUBLE),
    F(18, "min", false, PQ_T_DOUBLE),
    F(19, "max", false, PQ_T_DOUBLE),
    NEST(20, "bucket_counts", false, PQ_T_LIST, M_BUCKETS),
    NEST(22, "explicit_bounds", false, PQ_T_LIST, M_BOUNDS),
    F(24, "scale", false, PQ_T_INT),
    F(25, "zero_count", false, PQ_T_LONG),
    F(26, "zero_threshold", false, PQ_T_DOUBLE),
    F(27, "positive_offset", false, PQ_T_INT),
    NEST(28, "positive_bucket_counts", false, PQ_T_LIST, M_POS),
    F(30, "negative_offset", false, PQ_T_INT),
    NEST(31, "negative_bucket_counts", false, PQ_T_LIST, M_NEG),
    NEST(33, "quantile_values", false, PQ_T_LIST, M_Q_ELEM),
    F(37, "flags", false, PQ_T_LONG),
    NEST(38, "exemplars", true, PQ_T_LIST, M_EX_ELEM),
    NEST(48, "metadata", true, PQ_T_MAP, m_meta),
    F(51, "scope_name", false, PQ_T_STRING),
    F(52, "scope_version", false, PQ_T_STRING),
    NEST(53, "resource_attributes", true, PQ_T_MAP, m_res),
    NEST(56, "scope_attributes", true, PQ_T_MAP, m_scope),
    NEST(59, "attributes", true, PQ_T_MAP, m_attr),
    F(62, "resource_schema_url", false, PQ_T_STRING),
    F(63, "scope_schema_url", false, PQ_T_STRING),
    F(64, "resource_dropped_attributes_count", false, PQ_T_LONG),
    F(65, "scope_dropped_attributes_count", false, PQ_T_LONG),
};

typedef struct table_def {
    const char *name;
    const pq_field *fields;
    size_t nfields;
    int32_t last_id;
} table_def;

static const table_def TABLES[IG_TABLE_COUNT_] = {
    [IG_TABLE_LOGS] = {"logs", LOGS, sizeof LOGS / sizeof LOGS[0], 30},
    [IG_TABLE_SPANS] = {"spans", SPANS, sizeof SPANS / sizeof SPANS[0], 52},
    [IG_TABLE_METRICS] = {"metrics", METRICS, sizeof METRICS / sizeof METRICS[0], 65},
    [IG_TABLE_EVENTS] = {"events", EVENTS, sizeof EVENTS / sizeof EVENTS[0], 30},
};

const char *ig_table_name(ig_table_id t)
{
    return (unsigned)t < IG_TABLE_COUNT_ ? TABLES[t].name : "?";
}

int ig_table_by_name(ig_str name)
{
    for (int i = 0; i < IG_TABLE_COUNT_; i++)
        if (ig_str_eq_cstr(name, TABLES[i].name))
            return i;
    return -1;
}

const pq_field *ig_table_fields(ig_table_id t, size_t *nfields)
{
    *nfields = TABLES[t].nfields;
    return TABLES[t].fields;
}

int32_t ig_table_last_column_id(ig_table_id t)
{
    return TABLES[t].last_id;
}

/* ---- column indexes, resolved once per table ---- */

enum {
    /* common */
    C_TENANT, C_ACCOUNT, C_SERVICE, C_TS, C_INGESTED,
    C_RES_K, C_RES_V, C_SCOPE_K, C_SCOPE_V, C_ATTR_K, C_ATTR_V, C_SCOPE_NAME, C_SCOPE_VERSION,
    C_FLAGS, C_DROPPED_ATTRS, C_RES_SCHEMA, C_SCOPE_SCHEMA, C_RES_DROPPED, C_SCOPE_DROPPED,
    /* logs/events */
    C_OBSERVED, C_TRACE, C_SPAN, C_SEV_NUM, C_SEV_TEXT, C_BODY, C_EVENT_NAME, C_SOURCE,
    C_EVENT_DOMAIN,
    /* spans */
    C_PARENT, C_END_TS, C_DURATION, C_TRACE_STATE, C_NAME, C_KIND, C_STATUS_CODE, C_STATUS_MSG,
    C_DROPPED_EVENTS, C_DROPPED_LINKS,
    C_EV_TS, C_EV_NAME, C_EV_ATTR_K, C_EV_ATTR_V, C_EV_DROPPED,
    C_LN_TRACE, C_LN_SPAN, C_LN_STATE, C_LN_ATTR_K, C_LN_ATTR_V, C_LN_DROPPED, C_LN_FLAGS,
    /* metrics */
    C_INSTANCE, C_START_TS, C_METRIC_NAME, C_METRIC_TYPE, C_DESC, C_UNIT, C_TEMPORALITY,
    C_MONOTONIC, C_VDOUBLE, C_VINT, C_COUNT, C_SUM, C_MIN, C_MAX, C_BUCKETS, C_BOUNDS, C_SCALE,
    C_ZERO_COUNT, C_ZERO_THRESHOLD, C_POS_OFF, C_POS_BUCKETS, C_NEG_OFF, C_NEG_BUCKETS,
    C_Q_QUANTILE, C_Q_VALUE, C_EX_TS, C_EX_VDOUBLE, C_EX_VINT, C_EX_SPAN, C_EX_TRACE,
    C_EX_ATTR_K, C_EX_ATTR_V, C_META_K, C_META_V,
    C_COUNT_
};

static const char *const COLPATH[IG_TABLE_COUNT_][C_COUNT_] = {
    [IG_TABLE_LOGS] = {
        [C_RES_SCHEMA] = "resource_schema_url", [C_SCOPE_SCHEMA] = "scope_schema_url",
        [C_RES_DROPPED] = "resource_dropped_attributes_count",
        [C_SCOPE_DROPPED] = "scope_dropped_attributes_count",
        [C_TENANT] = "tenant_id", [C_ACCOUNT] = "account_id", [C_SERVICE] = "service_name",
        [C_TS] = "timestamp", [C_INGESTED] = "ingested_timestamp",
        [C_RES_K] = "resource_attributes.key_value.key",
        [C_RES_V] = "resource_attributes.key_value.value",
        [C_SCOPE_K] = "scope_attributes.key_value.key",
        [C_SCOPE_V] = "scope_attributes.key_value.value",
        [C_ATTR_K] = "attributes.key_value.key", [C_ATTR_V] = "attributes.key_value.value",
        [C_SCOPE_NAME] = "scope_name", [C_SCOPE_VERSION] = "scope_version", [C_FLAGS] = "flags",
        [C_DROPPED_ATTRS] = "dropped_attributes_count", [C_OBSERVED] = "observed_timestamp",
        [C_TRACE] = "trace_id", [C_SPAN] = "span_id", [C_SEV_NUM] = "severity_number",
        [C_SEV_TEXT] = "severity_text", [C_BODY] = "body", [C_EVENT_NAME] = "event_name",
        [C_SOURCE] = "source",
    },
    [IG_TABLE_EVENTS] = {
        [C_RES_SCHEMA] = "resource_schema_url", [C_SCOPE_SCHEMA] = "scope_schema_url",
        [C_RES_DROPPED] = "resource_dropped_attributes_count",
        [C_SCOPE_DROPPED] = "scope_dropped_attributes_count",
        [C_TENANT] = "tenant_id", [C_ACCOUNT] = "account_id", [C_SERVICE] = "service_name",
        [C_TS] = "timestamp", [C_INGESTED] = "ingested_timestamp",
        [C_RES_K] = "resource_attributes.key_value.key",
        [C_RES_V] = "resource_attributes.key_value.value",
        [C_SCOPE_K] = "scope_attributes.key_value.key",
        [C_SCOPE_V] = "scope_attributes.key_value.value",
        [C_ATTR_K] = "attributes.key_value.key", [C_ATTR_V] = "attributes.key_value.value",
        [C_SCOPE_NAME] = "scope_name", [C_SCOPE_VERSION] = "scope_version", [C_FLAGS] = "flags",
        [C_DROPPED_ATTRS] = "dropped_attributes_count", [C_OBSERVED] = "observed_timestamp",
        [C_TRACE] = "trace_id", [C_SPAN] = "span_id", [C_SEV_NUM] = "severity_number",
        [C_SEV_TEXT] = "severity_text", [C_BODY] = "body", [C_EVENT_NAME] = "event_name",
        [C_EVENT_DOMAIN] = "event_domain",
    },
    [IG_TABLE_SPANS] = {
        [C_RES_SCHEMA] = "resource_schema_url", [C_SCOPE_SCHEMA] = "scope_schema_url",
        [C_RES_DROPPED] = "resource_dropped_attributes_count",
        [C_SCOPE_DROPPED] = "scope_dropped_attributes_count",
        [C_TENANT] = "tenant_id", [C_ACCOUNT] = "account_id", [C_SERVICE] = "service_name",
        [C_TS] = "timestamp", [C_INGESTED] = "ingested_timestamp",
        [C_RES_K] = "resource_attributes.key_value.key",
        [C_RES_V] = "resource_attributes.key_value.value",
        [C_SCOPE_K] = "scope_attributes.key_value.key",
        [C_SCOPE_V] = "scope_attributes.key_value.value",
        [C_ATTR_K] = "attributes.key_value.key", [C_ATTR_V] = "attributes.key_value.value",
        [C_SCOPE_NAME] = "scope_name", [C_SCOPE_VERSION] = "scope_version", [C_FLAGS] = "flags",
        [C_DROPPED_ATTRS] = "dropped_attributes_count", [C_TRACE] = "trace_id",
        [C_SPAN] = "span_id", [C_PARENT] = "parent_span_id", [C_END_TS] = "end_timestamp",
        [C_DURATION] = "duration_nanos", [C_TRACE_STATE] = "trace_state", [C_NAME] = "name",
        [C_KIND] = "kind", [C_STATUS_CODE] = "status_code", [C_STATUS_MSG] = "status_message",
        [C_DROPPED_EVENTS] = "dropped_events_count", [C_DROPPED_LINKS] = "dropped_links_count",
        [C_EV_TS] = "events.list.element.timestamp", [C_EV_NAME] = "events.list.element.name",
        [C_EV_ATTR_K] = "events.list.element.attributes.key_value.key",
        [C_EV_ATTR_V] = "events.list.element.attributes.key_value.value",
        [C_EV_DROPPED] = "events.list.element.dropped_attributes_count",
        [C_LN_TRACE] = "links.list.element.trace_id", [C_LN_SPAN] = "links.list.element.span_id",
        [C_LN_STATE] = "links.list.element.trace_state",
        [C_LN_ATTR_K] = "links.list.element.attributes.key_value.key",
        [C_LN_ATTR_V] = "links.list.element.attributes.key_value.value",
        [C_LN_DROPPED] = "links.list.element.dropped_attributes_count",
        [C_LN_FLAGS] = "links.list.element.flags",
    },
    [IG_TABLE_METRICS] = {
        [C_RES_SCHEMA] = "resource_schema_url", [C_SCOPE_SCHEMA] = "scope_schema_url",
        [C_RES_DROPPED] = "resource_dropped_attributes_count",
        [C_SCOPE_DROPPED] = "scope_dropped_attributes_count",
        [C_TENANT] = "tenant_id", [C_ACCOUNT] = "account_id", [C_SERVICE] = "service_name",
        [C_TS] = "timestamp", [C_INGESTED] = "ingested_timestamp",
        [C_RES_K] = "resource_attributes.key_value.key",
        [C_RES_V] = "resource_attributes.key_value.value",
        [C_SCOPE_K] = "scope_attributes.key_value.key",
        [C_SCOPE_V] = "scope_attributes.key_value.value",
        [C_ATTR_K] = "attributes.key_value.key", [C_ATTR_V] = "attributes.key_value.value",
        [C_SCOPE_NAME] = "scope_name", [C_SCOPE_VERSION] = "scope_version", [C_FLAGS] = "flags",
        [C_INSTANCE] = "service_instance_id", [C_START_TS] = "start_timestamp",
        [C_METRIC_NAME] = "metric_name", [C_METRIC_TYPE] = "metric_type",
        [C_DESC] = "description", [C_UNIT] = "unit", [C_TEMPORALITY] = "aggregation_temporality",
        [C_MONOTONIC] = "is_monotonic", [C_VDOUBLE] = "value_double", [C_VINT] = "value_int",
        [C_COUNT] = "count", [C_SUM] = "sum", [C_MIN] = "min", [C_MAX] = "max",
        [C_BUCKETS] = "bucket_counts.list.element", [C_BOUNDS] = "explicit_bounds.list.element",
        [C_SCALE] = "scale", [C_ZERO_COUNT] = "zero_count",
        [C_ZERO_THRESHOLD] = "zero_threshold", [C_POS_OFF] = "positive_offset",
        [C_POS_BUCKETS] = "positive_bucket_counts.list.element",
        [C_NEG_OFF] = "negative_offset",
        [C_NEG_BUCKETS] = "negative_bucket_counts.list.element",
        [C_Q_QUANTILE] = "quantile_values.list.element.quantile",
        [C_Q_VALUE] = "quantile_values.list.element.value",
        [C_EX_TS] = "exemplars.list.element.timestamp",
        [C_EX_VDOUBLE] = "exemplars.list.element.value_double",
        [C_EX_VINT] = "exemplars.list.element.value_int",
        [C_EX_SPAN] = "exemplars.list.element.span_id",
        [C_EX_TRACE] = "exemplars.list.element.trace_id",
        [C_EX_ATTR_K] = "exemplars.list.element.attributes.key_value.key",
        [C_EX_ATTR_V] = "exemplars.list.element.attributes.key_value.value",
        [C_META_K] = "metadata.key_value.key", [C_META_V] = "metadata.key_value.value",
    },
};

typedef struct table_rt {
    pq_schema *schema;
    int col[C_COUNT_]; /* -1 when the table has no such column */
} table_rt;

static table_rt g_rt[IG_TABLE_COUNT_];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_tables(void)
{
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        ig_errbuf eb;
        if (pq_schema_build(TABLES[t].fields, TABLES[t].nfields, &g_rt[t].schema, &eb) != 0)
            abort(); /* the schemas above are constants: failing here is a bug */
        for (int c = 0; c < C_COUNT_; c++) {
            const char *p = COLPATH[t][c];
            g_rt[t].col[c] = p ? pq_schema_find(g_rt[t].schema, p) : -1;
            if (p && g_rt[t].col[c] < 0)
                abort();
        }
    }
}

const pq_schema *ig_table_schema(ig_table_id t)
{
    pthread_once(&g_once, init_tables);
    return g_rt[t].schema;
}

/* ---- writing rows column by column ----
 * Levels come from the schema: a null leaf under present ancestors has def max_def - 1; a
 * list/map entry after the first repeats at the column's max_rep. Every put_* below
 * takes `rep`, the repetition level of the enclosing record (0 for a top-level field). */

typedef struct wctx {
    pq_writer *w;
    const pq_schema *s;
    const int *col;
    int rc;
} wctx;

#define COLDEF(x, c) ((x)->s->cols[(x)->col[c]].max_def)
#define COLREP(x, c) ((x)->s->cols[(x)->col[c]].max_rep)

static void put_str(wctx *x, int c, ig_str v, int rep)
{
    if (x->rc)
        return;
    int k = x->col[c];
    x->rc = v.ptr ? pq_put_bytes(x->w, k, rep, v.ptr, v.len)
                  : pq_put_null(x->w, k, COLDEF(x, c) - 1, rep);
}

static void put_i64(wctx *x, int c, bool has, int64_t v, int rep)
{
    if (x->rc)
        return;
    x->rc = has ? pq_put_i64(x->w, x->col[c], rep, v)
                : pq_put_null(x->w, x->col[c], COLDEF(x, c) - 1, rep);
}

static void put_i32(wctx *x, int c, bool has, int32_t v, int rep)
{
    if (x->rc)
        return;
    x->rc = has ? pq_put_i32(x->w, x->col[c], rep, v)
                : pq_put_null(x->w, x->col[c], COLDEF(x, c) - 1, rep);
}

static void put_f64(wctx *x, int c, bool has, double v, int rep)
{
    if (x->rc)
        return;
    x->rc = has ? pq_put_f64(x->w, x->col[c], rep, v)
                : pq_put_null(x->w, x->col[c], COLDEF(x, c) - 1, rep);
}

static void put_fixed(wctx *x, int c, bool has, const uint8_t *v, size_t n, int rep)
{
    if (x->rc)
        return;
    x->rc = has ? pq_put_bytes(x->w, x->col[c], rep, v, n)
                : pq_put_null(x->w, x->col[c], COLDEF(x, c) - 1, rep);
}

/* A required map<string,string>: empty → both columns at def (key max_def - 1). */
static void put_map(wctx *x, int kc, int vc, const ig_attrs *a, int rep)
{
    if (x->rc)
        return;
    int kdef = COLDEF(x, kc), krep = COLREP(x, kc);
    if (a->n == 0) {
        x->rc = pq_put_null(x->w, x->col[kc], kdef - 1, rep);
        if (!x->rc)
            x->rc = pq_put_null(x->w, x->col[vc], kdef - 1, rep);
        return;
    }
    for (uint32_t i = 0; i < a->n && !x->rc; i++) {
        int r = i ? krep : rep;
        x->rc = pq_put_bytes(x->w, x->col[kc], r, a->items[i].key.ptr ? a->items[i].key.ptr : "",
                             a->items[i].key.len);
        put_str(x, vc, a->items[i].value, r);
    }
}

/* An optional list<long|double> with required elements. */
static void put_num_list(wctx *x, int c, bool present, const int64_t *iv, const double *dv,
                         uint32_t n, int rep)
{
    if (x->rc)
        return;
    int def = COLDEF(x, c), lrep = COLREP(x, c);
    if (!present) {
        x->rc = pq_put_null(x->w, x->col[c], def - 2, rep);
        return;
    }
    if (n == 0) {
        x->rc = pq_put_null(x->w, x->col[c], def - 1, rep);
        return;
    }
    for (uint32_t i = 0; i < n && !x->rc; i++)
        x->rc = iv ? pq_put_i64(x->w, x->col[c], i ? lrep : rep, iv[i])
                   : pq_put_f64(x->w, x->col[c], i ? lrep : rep, dv[i]);
}

/* For a list of structs: writes "list present but empty" (or null: def one lower) into
 * every leaf column under it. first..last are the leaf column ids (C_*) of the element. */
static void put_empty_list(wctx *x, const int *cols, int ncols, int list_def, int rep)
{
    for (int i = 0; i < ncols && !x->rc; i++)
        x->rc = pq_put_null(x->w, x->col[cols[i]], list_def, rep);
}

static void write_ident(wctx *x, const ig_row_ident *id)
{
    put_str(x, C_TENANT, id->tenant_id, 0);
    put_str(x, C_ACCOUNT, id->account_id, 0);
    put_str(x, C_SERVICE, id->service_name, 0);
    put_str(x, C_RES_SCHEMA, id->resource_schema_url, 0);
    put_str(x, C_SCOPE_SCHEMA, id->scope_schema_url, 0);
    put_i64(x, C_RES_DROPPED, id->has_resource_dropped_attributes_count,
            id->resource_dropped_attributes_count, 0);
    put_i64(x, C_SCOPE_DROPPED, id->has_scope_dropped_attributes_count,
            id->scope_dropped_attributes_count, 0);
}

static void write_log(wctx *x, const ig_log_row *r, bool events)
{
    write_ident(x, &r->id);
    put_i64(x, C_TS, true, r->timestamp_us, 0);
    put_i64(x, C_OBSERVED, r->has_observed, r->observed_us, 0);
    put_i64(x, C_INGESTED, true, r->ingested_us, 0);
    if (events) {
        put_str(x, C_EVENT_DOMAIN, r->event_domain, 0);
        put_str(x, C_EVENT_NAME, r->event_name.ptr ? r->event_name : IG_STR(""), 0);
    }
    put_fixed(x, C_TRACE, r->has_trace_id, r->trace_id, 16, 0);
    put_fixed(x, C_SPAN, r->has_span_id, r->span_id, 8, 0);
    put_i32(x, C_SEV_NUM, r->has_severity_number, r->severity_number, 0);
    put_str(x, C_SEV_TEXT, r->severity_text, 0);
    put_str(x, C_BODY, r->body, 0);
    if (!events)
        put_str(x, C_EVENT_NAME, r->event_name, 0);
    put_i64(x, C_FLAGS, r->has_flags, r->flags, 0);
    put_i64(x, C_DROPPED_ATTRS, r->has_dropped_attributes_count, r->dropped_attributes_count, 0);
    put_str(x, C_SCOPE_NAME, r->scope_name, 0);
    put_str(x, C_SCOPE_VERSION, r->scope_version, 0);
    put_map(x, C_RES_K, C_RES_V, &r->resource_attributes, 0);
    put_map(x, C_SCOPE_K, C_SCOPE_V, &r->scope_attributes, 0);
    put_map(x, C_ATTR_K, C_ATTR_V, &r->attributes, 0);
    if (!events)
        put_str(x, C_SOURCE, r->source, 0);
}

static void write_span(wctx *x, const ig_span_row *r)
{
    write_ident(x, &r->id);
    put_fixed(x, C_TRACE, true, r->trace_id, 16, 0);
    put_fixed(x, C_SPAN, true, r->span_id, 8, 0);
    put_fixed(x, C_PARENT, r->has_parent_span_id, r->parent_span_id, 8, 0);
    put_i64(x, C_TS, true, r->timestamp_us, 0);
    put_i64(x, C_END_TS, true, r->end_timestamp_us, 0);
    put_i64(x, C_INGESTED, true, r->ingested_us, 0);
    put_i64(x, C_DURATION, true, r->duration_nanos, 0);
    put_str(x, C_TRACE_STATE, r->trace_state, 0);
    put_str(x, C_NAME, r->name.ptr ? r->name : IG_STR(""), 0);
    put_i32(x, C_KIND, r->has_kind, r->kind, 0);
    put_i32(x, C_STATUS_CODE, r->has_status_code, r->status_code, 0);
    put_str(x, C_STATUS_MSG, r->status_message, 0);
    put_i64(x, C_FLAGS, r->has_flags, r->flags, 0);
    put_i64(x, C_DROPPED_ATTRS, r->has_dropped_attributes_count, r->dropped_attributes_count, 0);
    put_i64(x, C_DROPPED_EVENTS, r->has_dropped_events_count, r->dropped_events_count, 0);
    put_i64(x, C_DROPPED_LINKS, r->has_dropped_links_count, r->dropped_links_count, 0);
    put_str(x, C_SCOPE_NAME, r->scope_name, 0);
    put_str(x, C_SCOPE_VERSION, r->scope_version, 0);
    put_map(x, C_RES_K, C_RES_V, &r->resource_attributes, 0);
    put_map(x, C_SCOPE_K, C_SCOPE_V, &r->scope_attributes, 0);
    put_map(x, C_ATTR_K, C_ATTR_V, &r->attributes, 0);

    static const int ev_cols[] = {C_EV_TS, C_EV_NAME, C_EV_ATTR_K, C_EV_ATTR_V, C_EV_DROPPED};
    int lrep = COLREP(x, C_EV_TS);
    if (r->nevents == 0)
        put_empty_list(x, ev_cols, 5, COLDEF(x, C_EV_TS) - 1, 0);
    for (uint32_t i = 0; i < r->nevents; i++) {
        const ig_span_event *e = &r->events[i];
        int rep = i ? lrep : 0;
        put_i64(x, C_EV_TS, true, e->timestamp_us, rep);
        put_str(x, C_EV_NAME, e->name.ptr ? e->name : IG_STR(""), rep);
        put_map(x, C_EV_ATTR_K, C_EV_ATTR_V, &e->attributes, rep);
        put_i64(x, C_EV_DROPPED, e->has_dropped_attributes_count, e->dropped_attributes_count,
                rep);
    }
    static const int ln_cols[] = {C_LN_TRACE,  C_LN_SPAN,    C_LN_STATE, C_LN_ATTR_K,
                                  C_LN_ATTR_V, C_LN_DROPPED, C_LN_FLAGS};
    lrep = COLREP(x, C_LN_TRACE);
    if (r->nlinks == 0)
        put_empty_list(x, ln_cols, 7, COLDEF(x, C_LN_TRACE) - 1, 0);
    for (uint32_t i = 0; i < r->nlinks; i++) {
        const ig_span_link *l = &r->links[i];
        int rep = i ? lrep : 0;
        put_fixed(x, C_LN_TRACE, true, l->trace_id, 16, rep);
        put_fixed(x, C_LN_SPAN, true, l->span_id, 8, rep);
        put_str(x, C_LN_STATE, l->trace_state, rep);
        put_map(x, C_LN_ATTR_K, C_LN_ATTR_V, &l->attributes, rep);
        put_i64(x, C_LN_DROPPED, l->has_dropped_attributes_count, l->dropped_attributes_count,
                rep);
        put_i64(x, C_LN_FLAGS, l->has_flags, l->flags, rep);
    }
}

static void write_metric(wctx *x, const ig_metric_row *r)
{
    write_ident(x, &r->id);
    put_str(x, C_INSTANCE, r->service_instance_id, 0);
    put_i64(x, C_TS, true, r->timestamp_us, 0);
    put_i64(x, C_START_TS, r->has_start_timestamp, r->start_timestamp_us, 0);
    put_i64(x, C_INGESTED, true, r->ingested_us, 0);
    put_str(x, C_METRIC_NAME, r->metric_name.ptr ? r->metric_name : IG_STR(""), 0);
    put_str(x, C_METRIC_TYPE, r->metric_type.ptr ? r->metric_type : IG_STR(""), 0);
    put_str(x, C_DESC, r->description, 0);
    put_str(x, C_UNIT, r->unit, 0);
    put_str(x, C_TEMPORALITY, r->aggregation_temporality, 0);
    if (!x->rc)
        x->rc = r->has_is_monotonic ? pq_put_bool(x->w, x->col[C_MONOTONIC], 0, r->is_monotonic)
                                    : pq_put_null(x->w, x->col[C_MONOTONIC], 0, 0);
    put_f64(x, C_VDOUBLE, r->has_value_double, r->value_double, 0);
    put_i64(x, C_VINT, r->has_value_int, r->value_int, 0);
    put_i64(x, C_COUNT, r->has_count, r->count, 0);
    put_f64(x, C_SUM, r->has_sum, r->sum, 0);
    put_f64(x, C_MIN, r->has_min, r->min, 0);
    put_f64(x, C_MAX, r->has_max, r->max, 0);
    put_num_list(x, C_BUCKETS, r->bucket_counts.present, r->bucket_counts.v, NULL,
                 r->bucket_counts.n, 0);
    put_num_list(x, C_BOUNDS, r->explicit_bounds.present, NULL, r->explicit_bounds.v,
                 r->explicit_bounds.n, 0);
    put_i32(x, C_SCALE, r->has_scale, r->scale, 0);
    put_i64(x, C_ZERO_COUNT, r->has_zero_count, r->zero_count, 0);
    put_f64(x, C_ZERO_THRESHOLD, r->has_zero_threshold, r->zero_threshold, 0);
    put_i32(x, C_POS_OFF, r->has_positive_offset, r->positive_offset, 0);
    put_num_list(x, C_POS_BUCKETS, r->positive_bucket_counts.present, r->positive_bucket_counts.v,
                 NULL, r->positive_bucket_counts.n, 0);
    put_i32(x, C_NEG_OFF, r->has_negative_offset, r->negative_offset, 0);
    put_num_list(x, C_NEG_BUCKETS, r->negative_bucket_counts.present, r->negative_bucket_counts.v,
                 NULL, r->negative_bucket_counts.n, 0);
    static const int q_cols[] = {C_Q_QUANTILE, C_Q_VALUE};
    int qdef = COLDEF(x, C_Q_QUANTILE), qrep = COLREP(x, C_Q_QUANTILE);
    if (!r->has_quantiles)
        put_empty_list(x, q_cols, 2, qdef - 2, 0);
    else if (r->nquantiles == 0)
        put_empty_list(x, q_cols, 2, qdef - 1, 0);
    for (uint32_t i = 0; r->has_quantiles && i < r->nquantiles; i++) {
        put_f64(x, C_Q_QUANTILE, true, r->quantiles[i].quantile, i ? qrep : 0);
        put_f64(x, C_Q_VALUE, true, r->quantiles[i].value, i ? qrep : 0);
    }
    put_i64(x, C_FLAGS, r->has_flags, r->flags, 0);
    static const int ex_cols[] = {C_EX_TS,    C_EX_VDOUBLE, C_EX_VINT,  C_EX_SPAN,
                                  C_EX_TRACE, C_EX_ATTR_K,  C_EX_ATTR_V};
    int erep = COLREP(x, C_EX_TS);
    if (r->nexemplars == 0)
        put_empty_list(x, ex_cols, 7, COLDEF(x, C_EX_ATTR_K) - 2, 0);
    for (uint32_t i = 0; i < r->nexemplars; i++) {
        const ig_exemplar *e = &r->exemplars[i];
        int rep = i ? erep : 0;
        put_i64(x, C_EX_TS, e->has_timestamp, e->timestamp_us, rep);
        put_f64(x, C_EX_VDOUBLE, e->has_value_double, e->value_double, rep);
        put_i64(x, C_EX_VINT, e->has_value_int, e->value_int, rep);
        put_fixed(x, C_EX_SPAN, e->has_span_id, e->span_id, 8, rep);
        put_fixed(x, C_EX_TRACE, e->has_trace_id, e->trace_id, 16, rep);
        put_map(x, C_EX_ATTR_K, C_EX_ATTR_V, &e->attributes, rep);
    }
    put_map(x, C_META_K, C_META_V, &r->metadata, 0);
    put_str(x, C_SCOPE_NAME, r->scope_name, 0);
    put_str(x, C_SCOPE_VERSION, r->scope_version, 0);
    put_map(x, C_RES_K, C_RES_V, &r->resource_attributes, 0);
    put_map(x, C_SCOPE_K, C_SCOPE_V, &r->scope_attributes, 0);
    put_map(x, C_ATTR_K, C_ATTR_V, &r->attributes, 0);
}

int ig_rows_write(pq_writer *w, const ig_rows *rows, size_t from, size_t to, ig_errbuf *eb)
{
    ig_table_id t = rows->table;
    wctx x = {w, ig_table_schema(t), g_rt[t].col, 0};
    for (size_t i = from; i < to && !x.rc; i++) {
        switch (t) {
        case IG_TABLE_LOGS: write_log(&x, &rows->u.logs[i], false); break;
        case IG_TABLE_EVENTS: write_log(&x, &rows->u.logs[i], true); break;
        case IG_TABLE_SPANS: write_span(&x, &rows->u.spans[i]); break;
        case IG_TABLE_METRICS: write_metric(&x, &rows->u.metrics[i]); break;
        default: return ig_err(eb, IG_EINVAL, "unknown table %d", (int)t);
        }
    }
    if (x.rc)
        return ig_err(eb, x.rc, "writing %s rows: %s", ig_table_name(t), ig_strerror(x.rc));
    return 0;
}

/* ---- sorting ---- */

/* Nulls first, then bytewise. */
static int cmp_opt_str(ig_str a, ig_str b)
{
    if (!a.ptr || !b.ptr)
        return (a.ptr != NULL) - (b.ptr != NULL);
    return ig_str_cmp(a, b);
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

typedef struct sort_item {
    const void *row;
    size_t pos;
} sort_item;

static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
    const sort_item *ia = pa, *ib = pb;
    int c = 0;
    switch (*(const ig_table_id *)ctx) {
    case IG_TABLE_LOGS:
    case IG_TABLE_EVENTS: {
        const ig_log_row *a = ia->row, *b = ib->row;
        if (!(c = cmp_opt_str(a->id.account_id, b->id.account_id)) &&
            !(c = cmp_opt_str(a->id.service_name, b->id.service_name)))
            c = -cmp_i64(a->timestamp_us, b->timestamp_us);
        break;
    }
    case IG_TABLE_SPANS: {
        const ig_span_row *a = ia->row, *b = ib->row;
        if (!(c = cmp_opt_str(a->id.account_id, b->id.account_id)) &&
            !(c = memcmp(a->trace_id, b->trace_id, 16)))
            c = cmp_i64(a->timestamp_us, b->timestamp_us);
        break;
    }
    case IG_TABLE_METRICS: {
        const ig_metric_row *a = ia->row, *b = ib->row;
        if (!(c = cmp_opt_str(a->id.account_id, b->id.account_id)) &&
            !(c = cmp_opt_str(a->metric_name, b->metric_name)) &&
            !(c = cmp_opt_str(a->id.service_name, b->id.service_name)))
            c = -cmp_i64(a->timestamp_us, b->timestamp_us);
        break;
    }
    default: break;
    }
    return c ? c : cmp_i64((int64_t)ia->pos, (int64_t)ib->pos);
}

void ig_rows_sort(ig_rows *rows)
{
    if (rows->n < 2)
        return;
    size_t sz = rows->table == IG_TABLE_SPANS     ? sizeof(ig_span_row)
                : rows->table == IG_TABLE_METRICS ? sizeof(ig_metric_row)
                                                  : sizeof(ig_log_row);
    char *base = (char *)rows->u.logs;
    sort_item *items = ig_malloc(rows->n * sizeof *items);
    char *copy = ig_malloc(rows->n * sz);
    if (!items || !copy) {
        /* Out of memory: leave the batch unsorted (still correct, only less prunable). */
        ig_free(items);
        ig_free(copy);
        return;
    }
    memcpy(copy, base, rows->n * sz);
    for (size_t i = 0; i < rows->n; i++) {
        items[i].row = copy + i * sz;
        items[i].pos = i;
    }
    ig_table_id table = rows->table;
    qsort_r(items, rows->n, sizeof *items, cmp_rows, &table);
    for (size_t i = 0; i < rows->n; i++)
        memcpy(base + i * sz, items[i].row, sz);
    ig_free(items);
    ig_free(copy);
}
