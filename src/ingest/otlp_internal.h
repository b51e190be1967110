/* Internals shared by the OTLP decoders (otlp_common.c, otlp_pb.c, otlp_json.c).
 *
 * Both decoders walk their input and fill the same "raw" structs below (values as they
 * are on the wire, ids as bytes, attribute lists as ranges of the scratch vector
 * st->attrs); the otlp__*_finish functions in otlp_common.c apply every mapping rule
 * (null conventions, fallbacks, validation, partial-success rejection) in one place, so
 * the protobuf and JSON forms of a request give identical rows by construction.
 *
 * Scratch vectors (otlp_vec) grow with ig_realloc, are capped (st->scratch_max bytes)
 * and freed at the end of the request; finished lists are copied into the arena. Each
 * vector is used in strict stack order: a list is collected on top of the vector and
 * popped when it is finished, and lists of the same kind only nest (span attributes
 * interleaved with events use different vectors). */
#ifndef ICEGATE_OTLP_INTERNAL_H
#define ICEGATE_OTLP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "icegate/json.h"
#include "icegate/otlp.h"

typedef struct otlp_vec {
    char *data;
    size_t n;    /* elements */
    size_t cap;  /* elements */
    size_t elem; /* element size */
} otlp_vec;

#define OTLP_PATH_MAX 12

typedef struct otlp_pathel {
    const char *name;
    int64_t idx; /* -1: no index */
} otlp_pathel;

/* A position in the output vectors (rows of each table) and the rejected count. */
typedef struct otlp_mark {
    size_t rows[IG_TABLE_COUNT_];
    uint64_t rejected;
} otlp_mark;

enum otlp_metric_type {
    OTLP_GAUGE = 0,
    OTLP_SUM,
    OTLP_HISTOGRAM,
    OTLP_EXP_HISTOGRAM,
    OTLP_SUMMARY,
    OTLP_METRIC_TYPES_
};

typedef struct otlp_st {
    const ig_ingest_ctx *ctx;
    ig_arena *arena;
    ig_signal signal;
    ig_otlp_encoding enc;
    ig_errbuf *eb; /* caller's */
    ig_errbuf ieb; /* messages from the pb / json readers, composed into eb on failure */
    bool composed; /* eb holds the final message */
    uint32_t max_attrs;
    size_t max_records;
    size_t scratch_max;
    uint64_t records;
    uint64_t rejected;
    char reason[256];
    otlp_vec rows[IG_TABLE_COUNT_];
    otlp_vec attrs;     /* ig_attr */
    otlp_vec sevents;   /* ig_span_event */
    otlp_vec slinks;    /* ig_span_link */
    otlp_vec exemplars; /* ig_exemplar */
    otlp_vec i64s;      /* int64_t */
    otlp_vec f64s;      /* double */
    otlp_vec quants;    /* ig_quantile */
    ig_buf tmp;         /* rendering of non-string AnyValues */
    uint32_t *hset;     /* dedupe hash table (indices + 1) */
    size_t hcap;
    otlp_pathel path[OTLP_PATH_MAX];
    int npath;
    ig_str key; /* JSON: the member being read, for messages */
} otlp_st;

/* ---- raw records --------------------------------------------------------------- */

typedef struct otlp_log_raw {
    uint64_t time_ns, observed_ns;
    int32_t severity_number;
    ig_str severity_text;
    ig_str body; /* rendered text; ptr NULL = absent */
    ig_str event_name;
    uint32_t flags;
    uint32_t dropped_attributes_count;
    ig_str trace_id, span_id; /* bytes; any length (checked at finish) */
    size_t attrs_start;
    uint8_t idbuf[24]; /* JSON: decoded ids */
} otlp_log_raw;

typedef struct otlp_span_raw {
    ig_str trace_id, span_id, parent_span_id;
    ig_str trace_state, name, status_message;
    int32_t kind, status_code;
    uint64_t start_ns, end_ns;
    uint32_t flags;
    uint32_t dropped_attributes_count, dropped_events_count, dropped_links_count;
    uint32_t invalid_links; /* links dropped for invalid ids */
    size_t attrs_start, events_start, links_start;
    uint8_t idbuf[32];
} otlp_span_raw;

typedef struct otlp_event_raw {
    uint64_t time_ns;
    ig_str name;
    uint32_t dropped_attributes_count;
    size_t attrs_start;
} otlp_event_raw;

typedef struct otlp_link_raw {
    ig_str trace_id, span_id, trace_state;
    uint32_t dropped_attributes_count;
    uint32_t flags;
    size_t attrs_start;
    uint8_t idbuf[24];
} otlp_link_raw;

typedef struct otlp_exemplar_raw {
    uint64_t time_ns;
    double vd;
    int64_t vi;
    bool has_double, has_int;
    ig_str trace_id, span_id;
    size_t attrs_start;
    uint8_t idbuf[24];
} otlp_exemplar_raw;

typedef struct otlp_buckets_raw {
    int32_t offset;
    size_t counts_start;  /* in st->i64s */
    const char *overflow; /* a count above INT64_MAX */
} otlp_buckets_raw;

typedef struct otlp_point_raw {
    int type; /* enum otlp_metric_type */
    uint64_t start_ns, time_ns;
    double vd;
    int64_t vi;
    bool has_double, has_int;
    uint64_t count;
    double sum, min, max;
    bool has_sum, has_min, has_max;
    int32_t scale;
    uint64_t zero_count;
    double zero_threshold;
    ig_i64_list pos, neg; /* finished (arena) */
    int32_t pos_offset, neg_offset;
    uint32_t flags;
    const char *overflow; /* name of a uint64 field whose value exceeds INT64_MAX */
    size_t attrs_start, exemplars_start, buckets_start, bounds_start, quants_start;
} otlp_point_raw;

/* ---- common helpers (otlp_common.c) -------------------------------------------- */

/* Composes "<signal> <encoding>: <path>: <message>" into the caller's eb (once) and
 * returns code. */
int otlp__fail(otlp_st *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Composes the pending reader message (st->ieb) with the path, if not done yet. */
int otlp__fail_inner(otlp_st *st, int code);
/* Counts one rejected record; the first reason is kept ("<path>: <message>"). */
void otlp__reject(otlp_st *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void otlp__path_push(otlp_st *st, const char *name, int64_t idx)
{
    if (st->npath < OTLP_PATH_MAX) {
        st->path[st->npath].name = name;
        st->path[st->npath].idx = idx;
    }
    st->npath++;
    st->key = IG_STR_NULL;
}
static inline void otlp__path_pop(otlp_st *st)
{
    st->npath--;
    st->key = IG_STR_NULL;
}

/* Vectors: push a zeroed element (IG_ETOOBIG past st->scratch_max, IG_ENOMEM). */
int otlp__push(otlp_st *st, otlp_vec *v, void **slot);
static inline void *otlp__at(const otlp_vec *v, size_t i)
{
    return v->data ? v->data + i * v->elem : NULL;
}
/* Copies elements [start, n) into the arena (*out NULL when empty) and pops them. */
int otlp__vec_finish(otlp_st *st, otlp_vec *v, size_t start, void **out, uint32_t *n);

/* Counts a new record against max_records. */
int otlp__count_record(otlp_st *st, const char *what);

/* Attributes: push one more on st->attrs for the list started at `start` (the cap is
 * checked here), finish the list (last occurrence of a key wins; original order of the
 * kept entries), copied into the arena. */
int otlp__attr_push(otlp_st *st, size_t start, ig_attr **slot);
int otlp__attrs_finish(otlp_st *st, size_t start, ig_attrs *out);

/* Arena memory; IG_ETOOBIG when the arena cap is reached, IG_ENOMEM otherwise. */
int otlp__alloc(otlp_st *st, size_t n, void **out);
int otlp__dup(otlp_st *st, const void *p, size_t n, ig_str *out);

/* Text of scalar AnyValues (see docs/ingest-otlp.md). */
int otlp__text_i64(otlp_st *st, int64_t v, ig_str *out);
int otlp__text_f64(otlp_st *st, double v, ig_str *out);
int otlp__text_b64(otlp_st *st, ig_str bytes, ig_str *out);
ig_str otlp__text_bool(bool v);
/* Non-string AnyValues nested in arrays/kvlists: write into a json_writer on st->tmp. */
void otlp__jw_begin(otlp_st *st, json_writer *w);
int otlp__jw_end(otlp_st *st, json_writer *w, ig_str *out);

/* Enum names (OTLP/JSON): the number, or -1 if the name is unknown. */
int otlp__severity_by_name(ig_str s);
int otlp__kind_by_name(ig_str s);
int otlp__status_by_name(ig_str s);
int otlp__temporality_by_name(ig_str s);

/* Record finishers: map raw → row, validate, push (or reject). */
int otlp__log_finish(otlp_st *st, otlp_log_raw *raw);
int otlp__event_finish(otlp_st *st, otlp_event_raw *raw);
int otlp__link_finish(otlp_st *st, otlp_link_raw *raw, otlp_span_raw *span);
int otlp__span_finish(otlp_st *st, otlp_span_raw *raw);
int otlp__exemplar_finish(otlp_st *st, otlp_exemplar_raw *raw);
int otlp__buckets_finish(otlp_st *st, otlp_buckets_raw *raw, ig_i64_list *out, int32_t *offset);
int otlp__point_finish(otlp_st *st, otlp_point_raw *raw);
/* After a gauge/sum/histogram/... message: sets temporality/monotonic on its points
 * (rows from m), or rejects them all when the temporality is missing/unknown. */
int otlp__data_finish(otlp_st *st, const otlp_mark *m, int type, int32_t temporality,
                      bool has_monotonic, bool monotonic);
/* After a Metric: sets name/description/unit/metadata on its points. */
int otlp__metric_finish(otlp_st *st, const otlp_mark *m, ig_str name, ig_str description,
                        ig_str unit, const ig_attrs *metadata);
/* Discards rows from m on (a second oneof data field replaces the first). */
void otlp__truncate(otlp_st *st, const otlp_mark *m);
void otlp__mark(const otlp_st *st, otlp_mark *m);
/* schema_url: the schema_url of the ScopeX / ResourceX message (may be empty); dropped: the
 * InstrumentationScope's / Resource's dropped_attributes_count. */
int otlp__scope_finish(otlp_st *st, const otlp_mark *m, ig_str name, ig_str version,
                       const ig_attrs *attrs, ig_str schema_url, uint32_t dropped);
int otlp__resource_finish(otlp_st *st, const otlp_mark *m, const ig_attrs *attrs,
                          ig_str schema_url, uint32_t dropped);

/* The two decoders: walk the whole request. */
int otlp__decode_pb(otlp_st *st, ig_str body);
int otlp__decode_json(otlp_st *st, ig_str body);

/* Whether all bytes are zero. */
static inline bool otlp__all_zero(ig_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i])
            return false;
    return true;
}

#endif
