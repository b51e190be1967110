/* OTLP protobuf decoder: walks Export{Logs,Trace,Metrics}ServiceRequest with the
 * zero-copy pb_reader and fills the raw records of otlp_internal.h. Strings are views
 * into the body (UTF-8 checked, as protobuf requires for `string` fields); unknown fields
 * are skipped. Field numbers: opentelemetry-proto v1 (common, resource, logs, trace,
 * metrics .proto). */
#include <string.h>

#include "icegate/pb.h"
#include "ingest/otlp_internal.h"

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ < 0)                                                                               \
            return rc_;                                                                            \
    } while (0)

static int strindex_err(otlp_st *st, const char *what)
{
    return otlp__fail(
        st, IG_EINVAL,
        "%s refers to a profiles string table, which a %s request does not have (not supported)",
        what, ig_signal_name(st->signal));
}

/* ---- AnyValue ------------------------------------------------------------------ */

enum {
    AV_NONE = 0,
    AV_STRING = 1,
    AV_BOOL = 2,
    AV_INT = 3,
    AV_DOUBLE = 4,
    AV_ARRAY = 5,
    AV_KVLIST = 6,
    AV_BYTES = 7
};

typedef struct pb_any {
    int kind;
    ig_str s;   /* string, bytes */
    uint64_t u; /* bool, int */
    double d;
    pb_reader sub; /* array, kvlist */
} pb_any;

/* Reads an AnyValue message (the last oneof member set wins, as in protobuf). */
static int pb_any_read(otlp_st *st, pb_reader *r, pb_any *v)
{
    int rc;
    v->kind = AV_NONE;
    while ((rc = pb_next(r)) > 0) {
        switch (r->field) {
        case 1:
            rc = pb_string(r, &v->s);
            v->kind = AV_STRING;
            break;
        case 2:
        case 3:
            rc = pb_varint(r, &v->u);
            v->kind = (int)r->field;
            break;
        case 4:
            rc = pb_double(r, &v->d);
            v->kind = AV_DOUBLE;
            break;
        case 5:
        case 6:
            rc = pb_sub(r, &v->sub);
            v->kind = (int)r->field;
            break;
        case 7:
            rc = pb_bytes(r, &v->s);
            v->kind = AV_BYTES;
            break;
        case 8:
            return strindex_err(st, "AnyValue.string_value_strindex");
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int pb_any_json(otlp_st *st, json_writer *w, pb_reader *r);
static int pb_array_json(otlp_st *st, json_writer *w, pb_reader *r);

static int pb_kvlist_json(otlp_st *st, json_writer *w, pb_reader *r)
{
    int rc;
    json_w_obj_begin(w);
    while ((rc = pb_next(r)) > 0) {
        if (r->field != 1)
            continue;
        pb_reader kv, val;
        TRY(pb_sub(r, &kv));
        ig_str key = IG_STR("");
        bool has_val = false;
        while ((rc = pb_next(&kv)) > 0) {
            if (kv.field == 1)
                rc = pb_string(&kv, &key);
            else if (kv.field == 2)
                rc = pb_sub(&kv, &val), has_val = true;
            else if (kv.field == 3)
                return strindex_err(st, "KeyValue.key_strindex");
            if (rc < 0)
                return rc;
        }
        TRY(rc);
        json_w_key(w, key);
        if (has_val)
            TRY(pb_any_json(st, w, &val));
        else
            json_w_null(w);
    }
    TRY(rc);
    json_w_obj_end(w);
    return 0;
}

static int pb_array_json(otlp_st *st, json_writer *w, pb_reader *r)
{
    int rc;
    json_w_arr_begin(w);
    while ((rc = pb_next(r)) > 0) {
        if (r->field != 1)
            continue;
        pb_reader el;
        TRY(pb_sub(r, &el));
        TRY(pb_any_json(st, w, &el));
    }
    TRY(rc);
    json_w_arr_end(w);
    return 0;
}

/* Writes an AnyValue nested in an array or kvlist as a JSON value. */
static int pb_any_json(otlp_st *st, json_writer *w, pb_reader *r)
{
    pb_any v;
    TRY(pb_any_read(st, r, &v));
    switch (v.kind) {
    case AV_STRING:
        json_w_str(w, v.s);
        break;
    case AV_BOOL:
        json_w_bool(w, v.u != 0);
        break;
    case AV_INT:
        json_w_i64(w, (int64_t)v.u);
        break;
    case AV_DOUBLE:
        json_w_f64(w, v.d);
        break;
    case AV_BYTES:
        /* base64 in a JSON string (base64 needs no escaping): open "", drop the closing
         * quote, append, close. */
        json_w_raw(w, IG_STR("\"\""));
        if (w->rc == 0) {
            st->tmp.len--;
            int rc = json_b64_encode(&st->tmp, v.s);
            if (rc == 0)
                rc = ig_buf_putc(&st->tmp, '"');
            if (rc < 0)
                return otlp__fail(st, rc, "value too large");
        }
        break;
    case AV_ARRAY:
        TRY(pb_array_json(st, w, &v.sub));
        break;
    case AV_KVLIST:
        TRY(pb_kvlist_json(st, w, &v.sub));
        break;
    default:
        json_w_null(w);
        break;
    }
    return 0;
}

/* An AnyValue as attribute / body text; ptr NULL for an empty AnyValue. */
static int pb_any_text(otlp_st *st, pb_reader *r, ig_str *out)
{
    pb_any v;
    *out = IG_STR_NULL;
    TRY(pb_any_read(st, r, &v));
    switch (v.kind) {
    case AV_STRING:
        *out = v.s.ptr ? v.s : IG_STR("");
        return 0;
    case AV_BOOL:
        *out = otlp__text_bool(v.u != 0);
        return 0;
    case AV_INT:
        return otlp__text_i64(st, (int64_t)v.u, out);
    case AV_DOUBLE:
        return otlp__text_f64(st, v.d, out);
    case AV_BYTES:
        return otlp__text_b64(st, v.s, out);
    case AV_ARRAY:
    case AV_KVLIST: {
        json_writer w;
        otlp__jw_begin(st, &w);
        if (v.kind == AV_KVLIST)
            TRY(pb_kvlist_json(st, &w, &v.sub));
        else
            TRY(pb_array_json(st, &w, &v.sub));
        return otlp__jw_end(st, &w, out);
    }
    default:
        return 0;
    }
}

/* One KeyValue of an attribute list started at `start`. */
static int pb_keyvalue(otlp_st *st, pb_reader *r, size_t start)
{
    int rc;
    ig_str key = IG_STR(""), val = IG_STR_NULL;
    while ((rc = pb_next(r)) > 0) {
        if (r->field == 1) {
            rc = pb_string(r, &key);
            if (rc == 0 && !key.ptr)
                key = IG_STR("");
        } else if (r->field == 2) {
            pb_reader sub;
            rc = pb_sub(r, &sub);
            if (rc == 0)
                rc = pb_any_text(st, &sub, &val);
        } else if (r->field == 3) {
            return strindex_err(st, "KeyValue.key_strindex");
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    ig_attr *a;
    TRY(otlp__attr_push(st, start, &a));
    a->key = key;
    a->value = val;
    return 0;
}

/* A repeated KeyValue field value: path "attributes[i]". */
static int pb_attr_field(otlp_st *st, pb_reader *r, size_t start, const char *name)
{
    pb_reader sub;
    TRY(pb_sub(r, &sub));
    otlp__path_push(st, name, (int64_t)(st->attrs.n - start));
    TRY(pb_keyvalue(st, &sub, start));
    otlp__path_pop(st);
    return 0;
}

static inline int pb_str(pb_reader *r, ig_str *out)
{
    int rc = pb_string(r, out);
    if (rc == 0 && !out->ptr)
        *out = IG_STR("");
    return rc;
}

/* ---- logs ---------------------------------------------------------------------- */

static int pb_log_record(otlp_st *st, pb_reader *r)
{
    otlp_log_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    int rc;
    while ((rc = pb_next(r)) > 0) {
        switch (r->field) {
        case 1:
            rc = pb_fixed64(r, &raw.time_ns);
            break;
        case 11:
            rc = pb_fixed64(r, &raw.observed_ns);
            break;
        case 2:
            rc = pb_int32(r, &raw.severity_number);
            break;
        case 3:
            rc = pb_str(r, &raw.severity_text);
            break;
        case 5: {
            pb_reader sub;
            rc = pb_sub(r, &sub);
            if (rc == 0)
                rc = pb_any_text(st, &sub, &raw.body);
            break;
        }
        case 6:
            rc = pb_attr_field(st, r, raw.attrs_start, "attributes");
            break;
        case 7:
            rc = pb_uint32(r, &raw.dropped_attributes_count);
            break;
        case 8:
            rc = pb_fixed32(r, &raw.flags);
            break;
        case 9:
            rc = pb_bytes(r, &raw.trace_id);
            break;
        case 10:
            rc = pb_bytes(r, &raw.span_id);
            break;
        case 12:
            rc = pb_str(r, &raw.event_name);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    return otlp__log_finish(st, &raw);
}

/* ---- traces -------------------------------------------------------------------- */

static int pb_span_event(otlp_st *st, pb_reader *r)
{
    otlp_event_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    raw.name = IG_STR("");
    int rc;
    while ((rc = pb_next(r)) > 0) {
        switch (r->field) {
        case 1:
            rc = pb_fixed64(r, &raw.time_ns);
            break;
        case 2:
            rc = pb_str(r, &raw.name);
            break;
        case 3:
            rc = pb_attr_field(st, r, raw.attrs_start, "attributes");
            break;
        case 4:
            rc = pb_uint32(r, &raw.dropped_attributes_count);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    return otlp__event_finish(st, &raw);
}

static int pb_span_link(otlp_st *st, pb_reader *r, otlp_span_raw *span)
{
    otlp_link_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    int rc;
    while ((rc = pb_next(r)) > 0) {
        switch (r->field) {
        case 1:
            rc = pb_bytes(r, &raw.trace_id);
            break;
        case 2:
            rc = pb_bytes(r, &raw.span_id);
            break;
        case 3:
            rc = pb_str(r, &raw.trace_state);
            break;
        case 4:
            rc = pb_attr_field(st, r, raw.attrs_start, "attributes");
            break;
        case 5:
            rc = pb_uint32(r, &raw.dropped_attributes_count);
            break;
        case 6:
            rc = pb_fixed32(r, &raw.flags);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    return otlp__link_finish(st, &raw, span);
}

static int pb_span(otlp_st *st, pb_reader *r)
{
    otlp_span_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    raw.events_start = st->sevents.n;
    raw.links_start = st->slinks.n;
    int64_t nev = 0, nln = 0;
    int rc;
    while ((rc = pb_next(r)) > 0) {
        pb_reader sub;
        switch (r->field) {
        case 1:
            rc = pb_bytes(r, &raw.trace_id);
            break;
        case 2:
            rc = pb_bytes(r, &raw.span_id);
            break;
        case 3:
            rc = pb_str(r, &raw.trace_state);
            break;
        case 4:
            rc = pb_bytes(r, &raw.parent_span_id);
            break;
        case 16:
            rc = pb_fixed32(r, &raw.flags);
            break;
        case 5:
            rc = pb_str(r, &raw.name);
            break;
        case 6:
            rc = pb_int32(r, &raw.kind);
            break;
        case 7:
            rc = pb_fixed64(r, &raw.start_ns);
            break;
        case 8:
            rc = pb_fixed64(r, &raw.end_ns);
            break;
        case 9:
            rc = pb_attr_field(st, r, raw.attrs_start, "attributes");
            break;
        case 10:
            rc = pb_uint32(r, &raw.dropped_attributes_count);
            break;
        case 11:
            TRY(pb_sub(r, &sub));
            otlp__path_push(st, "events", nev++);
            TRY(pb_span_event(st, &sub));
            otlp__path_pop(st);
            break;
        case 12:
            rc = pb_uint32(r, &raw.dropped_events_count);
            break;
        case 13:
            TRY(pb_sub(r, &sub));
            otlp__path_push(st, "links", nln++);
            TRY(pb_span_link(st, &sub, &raw));
            otlp__path_pop(st);
            break;
        case 14:
            rc = pb_uint32(r, &raw.dropped_links_count);
            break;
        case 15:
            TRY(pb_sub(r, &sub));
            otlp__path_push(st, "status", -1);
            while ((rc = pb_next(&sub)) > 0) {
                if (sub.field == 2)
                    rc = pb_str(&sub, &raw.status_message);
                else if (sub.field == 3)
                    rc = pb_int32(&sub, &raw.status_code);
                if (rc < 0)
                    return rc;
            }
            TRY(rc);
            otlp__path_pop(st);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    return otlp__span_finish(st, &raw);
}

/* ---- metrics ------------------------------------------------------------------- */

static int pb_exemplar(otlp_st *st, pb_reader *r)
{
    otlp_exemplar_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    int rc;
    uint64_t u;
    while ((rc = pb_next(r)) > 0) {
        switch (r->field) {
        case 7:
            rc = pb_attr_field(st, r, raw.attrs_start, "filteredAttributes");
            break;
        case 2:
            rc = pb_fixed64(r, &raw.time_ns);
            break;
        case 3:
            rc = pb_double(r, &raw.vd);
            raw.has_double = true, raw.has_int = false;
            break;
        case 6:
            rc = pb_fixed64(r, &u);
            raw.vi = (int64_t)u;
            raw.has_int = true, raw.has_double = false;
            break;
        case 4:
            rc = pb_bytes(r, &raw.span_id);
            break;
        case 5:
            rc = pb_bytes(r, &raw.trace_id);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    return otlp__exemplar_finish(st, &raw);
}

static int push_i64(otlp_st *st, uint64_t u, const char **overflow, const char *name)
{
    int64_t *slot;
    TRY(otlp__push(st, &st->i64s, (void **)&slot));
    if (u > (uint64_t)INT64_MAX && !*overflow)
        *overflow = name;
    *slot = (int64_t)u;
    return 0;
}

static int pb_buckets(otlp_st *st, pb_reader *r, ig_i64_list *out, int32_t *offset,
                      const char **overflow)
{
    otlp_buckets_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.counts_start = st->i64s.n;
    int rc;
    while ((rc = pb_next(r)) > 0) {
        if (r->field == 1) {
            rc = pb_sint32(r, &raw.offset);
        } else if (r->field == 2) {
            pb_packed it;
            uint64_t u;
            rc = pb_packed_begin(r, &it, PB_VARINT);
            while (rc >= 0 && (rc = pb_packed_varint(&it, &u)) > 0)
                rc = push_i64(st, u, &raw.overflow, "bucket_counts");
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    if (raw.overflow && !*overflow)
        *overflow = raw.overflow;
    return otlp__buckets_finish(st, &raw, out, offset);
}

/* Field numbers that differ between the data point messages (0 = none). */
static const struct {
    uint8_t attrs, exemplars, flags, min, max;
} pf[OTLP_METRIC_TYPES_] = {
    {7, 5, 8, 0, 0}, {7, 5, 8, 0, 0}, {9, 8, 10, 11, 12}, {1, 11, 10, 12, 13}, {7, 0, 8, 0, 0},
};

static int pb_point(otlp_st *st, pb_reader *r, int type)
{
    otlp_point_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.type = type;
    raw.attrs_start = st->attrs.n;
    raw.exemplars_start = st->exemplars.n;
    raw.buckets_start = st->i64s.n;
    raw.bounds_start = st->f64s.n;
    raw.quants_start = st->quants.n;
    int64_t nex = 0;
    int rc;
    while ((rc = pb_next(r)) > 0) {
        uint32_t f = r->field;
        uint64_t u;
        pb_reader sub;
        if (f == 2) {
            rc = pb_fixed64(r, &raw.start_ns);
        } else if (f == 3) {
            rc = pb_fixed64(r, &raw.time_ns);
        } else if (f == pf[type].attrs) {
            rc = pb_attr_field(st, r, raw.attrs_start, "attributes");
        } else if (f == pf[type].exemplars) {
            TRY(pb_sub(r, &sub));
            otlp__path_push(st, "exemplars", nex++);
            TRY(pb_exemplar(st, &sub));
            otlp__path_pop(st);
        } else if (f == pf[type].flags) {
            rc = pb_uint32(r, &raw.flags);
        } else if (f == pf[type].min) {
            rc = pb_double(r, &raw.min);
            raw.has_min = true;
        } else if (f == pf[type].max) {
            rc = pb_double(r, &raw.max);
            raw.has_max = true;
        } else if (type == OTLP_GAUGE || type == OTLP_SUM) {
            if (f == 4) {
                rc = pb_double(r, &raw.vd);
                raw.has_double = true, raw.has_int = false;
            } else if (f == 6) {
                rc = pb_fixed64(r, &u);
                raw.vi = (int64_t)u;
                raw.has_int = true, raw.has_double = false;
            }
        } else if (f == 4) {
            rc = pb_fixed64(r, &raw.count);
            if (rc == 0 && raw.count > (uint64_t)INT64_MAX && !raw.overflow)
                raw.overflow = "count";
        } else if (f == 5) {
            rc = pb_double(r, &raw.sum);
            raw.has_sum = true;
        } else if (type == OTLP_HISTOGRAM) {
            pb_packed it;
            if (f == 6) {
                rc = pb_packed_begin(r, &it, PB_I64);
                while (rc >= 0 && (rc = pb_packed_fixed64(&it, &u)) > 0)
                    rc = push_i64(st, u, &raw.overflow, "bucket_counts");
            } else if (f == 7) {
                rc = pb_packed_begin(r, &it, PB_I64);
                while (rc >= 0 && (rc = pb_packed_fixed64(&it, &u)) > 0) {
                    double *d;
                    rc = otlp__push(st, &st->f64s, (void **)&d);
                    if (rc == 0)
                        memcpy(d, &u, 8);
                }
            }
        } else if (type == OTLP_EXP_HISTOGRAM) {
            if (f == 6) {
                rc = pb_sint32(r, &raw.scale);
            } else if (f == 7) {
                rc = pb_fixed64(r, &raw.zero_count);
                if (rc == 0 && raw.zero_count > (uint64_t)INT64_MAX && !raw.overflow)
                    raw.overflow = "zero_count";
            } else if (f == 8 || f == 9) {
                TRY(pb_sub(r, &sub));
                otlp__path_push(st, f == 8 ? "positive" : "negative", -1);
                TRY(pb_buckets(st, &sub, f == 8 ? &raw.pos : &raw.neg,
                               f == 8 ? &raw.pos_offset : &raw.neg_offset, &raw.overflow));
                otlp__path_pop(st);
            } else if (f == 14) {
                rc = pb_double(r, &raw.zero_threshold);
            }
        } else if (type == OTLP_SUMMARY && f == 6) {
            TRY(pb_sub(r, &sub));
            ig_quantile *q;
            TRY(otlp__push(st, &st->quants, (void **)&q));
            while ((rc = pb_next(&sub)) > 0) {
                if (sub.field == 1)
                    rc = pb_double(&sub, &q->quantile);
                else if (sub.field == 2)
                    rc = pb_double(&sub, &q->value);
                if (rc < 0)
                    return rc;
            }
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    return otlp__point_finish(st, &raw);
}

static const char *const data_names[OTLP_METRIC_TYPES_] = {"gauge", "sum", "histogram",
                                                           "exponentialHistogram", "summary"};

static int pb_data(otlp_st *st, pb_reader *r, int type)
{
    otlp_mark m;
    otlp__mark(st, &m);
    int32_t temporality = 0;
    bool monotonic = false;
    int64_t np = 0;
    int rc;
    otlp__path_push(st, data_names[type], -1);
    while ((rc = pb_next(r)) > 0) {
        if (r->field == 1) {
            pb_reader sub;
            TRY(pb_sub(r, &sub));
            otlp__path_push(st, "dataPoints", np++);
            TRY(otlp__count_record(st, "data points"));
            TRY(pb_point(st, &sub, type));
            otlp__path_pop(st);
        } else if (r->field == 2 && type != OTLP_GAUGE && type != OTLP_SUMMARY) {
            rc = pb_int32(r, &temporality);
        } else if (r->field == 3 && type == OTLP_SUM) {
            rc = pb_bool(r, &monotonic);
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    TRY(otlp__data_finish(st, &m, type, temporality, type == OTLP_SUM, monotonic));
    otlp__path_pop(st);
    return 0;
}

static int pb_metric(otlp_st *st, pb_reader *r)
{
    otlp_mark m;
    otlp__mark(st, &m);
    ig_str name = IG_STR(""), desc = IG_STR_NULL, unit = IG_STR_NULL;
    size_t md_start = st->attrs.n;
    bool seen = false;
    int rc;
    while ((rc = pb_next(r)) > 0) {
        pb_reader sub;
        int type = -1;
        switch (r->field) {
        case 1:
            rc = pb_str(r, &name);
            break;
        case 2:
            rc = pb_str(r, &desc);
            break;
        case 3:
            rc = pb_str(r, &unit);
            break;
        case 5:
            type = OTLP_GAUGE;
            break;
        case 7:
            type = OTLP_SUM;
            break;
        case 9:
            type = OTLP_HISTOGRAM;
            break;
        case 10:
            type = OTLP_EXP_HISTOGRAM;
            break;
        case 11:
            type = OTLP_SUMMARY;
            break;
        case 12:
            rc = pb_attr_field(st, r, md_start, "metadata");
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
        if (type >= 0) {
            TRY(pb_sub(r, &sub));
            if (seen) /* oneof: the last data field wins */
                otlp__truncate(st, &m);
            seen = true;
            TRY(pb_data(st, &sub, type));
        }
    }
    TRY(rc);
    ig_attrs md;
    TRY(otlp__attrs_finish(st, md_start, &md));
    return otlp__metric_finish(st, &m, name, desc, unit, &md);
}

/* ---- resource / scope ---------------------------------------------------------- */

static const char *const res_names[IG_SIGNAL_COUNT_] = {"resourceLogs", "resourceSpans",
                                                        "resourceMetrics"};
static const char *const scope_names[IG_SIGNAL_COUNT_] = {"scopeLogs", "scopeSpans",
                                                          "scopeMetrics"};
static const char *const rec_names[IG_SIGNAL_COUNT_] = {"logRecords", "spans", "metrics"};

/* Resource or InstrumentationScope: attributes (resource: 1, scope: 3), name/version. */
static int pb_res_or_scope(otlp_st *st, pb_reader *r, bool scope, ig_str *name, ig_str *version,
                           ig_attrs *attrs, uint32_t *dropped)
{
    size_t start = st->attrs.n;
    int rc;
    otlp__path_push(st, scope ? "scope" : "resource", -1);
    while ((rc = pb_next(r)) > 0) {
        if (r->field == (scope ? 3u : 1u))
            rc = pb_attr_field(st, r, start, "attributes");
        else if (scope && r->field == 1)
            rc = pb_str(r, name);
        else if (scope && r->field == 2)
            rc = pb_str(r, version);
        else if (r->field == (scope ? 4u : 2u))
            rc = pb_uint32(r, dropped);
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    TRY(otlp__attrs_finish(st, start, attrs));
    otlp__path_pop(st);
    return 0;
}

static int pb_scope_x(otlp_st *st, pb_reader *r)
{
    otlp_mark m;
    otlp__mark(st, &m);
    ig_str name = IG_STR_NULL, version = IG_STR_NULL, schema = IG_STR_NULL;
    ig_attrs attrs = {0};
    uint32_t dropped = 0;
    int64_t ni = 0;
    int rc;
    while ((rc = pb_next(r)) > 0) {
        pb_reader sub;
        if (r->field == 1) {
            TRY(pb_sub(r, &sub));
            name = version = IG_STR_NULL;
            dropped = 0;
            TRY(pb_res_or_scope(st, &sub, true, &name, &version, &attrs, &dropped));
        } else if (r->field == 2) {
            TRY(pb_sub(r, &sub));
            otlp__path_push(st, rec_names[st->signal], ni++);
            if (st->signal == IG_SIGNAL_LOGS) {
                TRY(otlp__count_record(st, "log records"));
                TRY(pb_log_record(st, &sub));
            } else if (st->signal == IG_SIGNAL_TRACES) {
                TRY(otlp__count_record(st, "spans"));
                TRY(pb_span(st, &sub));
            } else {
                TRY(pb_metric(st, &sub));
            }
            otlp__path_pop(st);
        } else if (r->field == 3) {
            rc = pb_string(r, &schema);
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    return otlp__scope_finish(st, &m, name, version, &attrs, schema, dropped);
}

static int pb_resource_x(otlp_st *st, pb_reader *r)
{
    otlp_mark m;
    otlp__mark(st, &m);
    ig_attrs attrs = {0};
    ig_str schema = IG_STR_NULL;
    uint32_t dropped = 0;
    int64_t ni = 0;
    int rc;
    while ((rc = pb_next(r)) > 0) {
        pb_reader sub;
        if (r->field == 1) {
            TRY(pb_sub(r, &sub));
            dropped = 0;
            TRY(pb_res_or_scope(st, &sub, false, NULL, NULL, &attrs, &dropped));
        } else if (r->field == 2) {
            TRY(pb_sub(r, &sub));
            otlp__path_push(st, scope_names[st->signal], ni++);
            TRY(pb_scope_x(st, &sub));
            otlp__path_pop(st);
        } else if (r->field == 3) {
            rc = pb_string(r, &schema);
        }
        if (rc < 0)
            return rc;
    }
    TRY(rc);
    return otlp__resource_finish(st, &m, &attrs, schema, dropped);
}

int otlp__decode_pb(otlp_st *st, ig_str body)
{
    pb_reader r;
    pb_reader_init(&r, body, &st->ieb);
    int64_t ni = 0;
    int rc;
    while ((rc = pb_next(&r)) > 0) {
        if (r.field != 1)
            continue;
        pb_reader sub;
        TRY(pb_sub(&r, &sub));
        otlp__path_push(st, res_names[st->signal], ni++);
        TRY(pb_resource_x(st, &sub));
        otlp__path_pop(st);
    }
    return rc;
}
