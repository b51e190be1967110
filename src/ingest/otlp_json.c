/* OTLP/JSON decoder: walks Export{Logs,Trace,Metrics}ServiceRequest with the pull
 * json_reader and fills the raw records of otlp_internal.h, as leniently as the
 * OpenTelemetry Collector reads it: lowerCamelCase or snake_case member names, ids as
 * hex of either case ("" = absent), 64-bit integers as numbers or strings, enums as
 * numbers or names, bytes as base64, null members as absent, unknown members ignored.
 * Strict where protojson is: an id that is not hex of the right length, an unknown enum
 * name, a value of the wrong JSON type or out of its field's range fail the request. */
#include <inttypes.h>
#include <string.h>

#include "ingest/otlp_internal.h"

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ < 0)                                                                               \
            return rc_;                                                                            \
    } while (0)

/* Member name: lowerCamelCase or snake_case (snake may be NULL when both are equal). */
static inline bool K(ig_str k, const char *camel, const char *snake)
{
    return ig_str_eq_cstr(k, camel) || (snake && ig_str_eq_cstr(k, snake));
}

/* Object walk: for each member with a non-null value, `body` runs with `key` set; it must
 * consume the value (or json_skip it) and set rc. */
#define OBJ_LOOP(st, r, ...)                                                                       \
    do {                                                                                           \
        ig_str key;                                                                                \
        int rc;                                                                                    \
        TRY(json_obj_begin(r));                                                                    \
        while ((rc = json_obj_next_key(r, &key)) > 0) {                                            \
            (st)->key = key;                                                                       \
            rc = json_null(r);                                                                     \
            if (rc < 0)                                                                            \
                return rc;                                                                         \
            if (rc == 1)                                                                           \
                continue;                                                                          \
            __VA_ARGS__ if (rc < 0) return rc;                                                     \
        }                                                                                          \
        TRY(rc);                                                                                   \
    } while (0)

/* Array walk: `body` runs for each element with index `idx`. */
#define ARR_LOOP(r, ...)                                                                           \
    do {                                                                                           \
        int arc;                                                                                   \
        int64_t idx = 0;                                                                           \
        if (json_null(r) == 1)                                                                     \
            break;                                                                                 \
        TRY(json_arr_begin(r));                                                                    \
        while ((arc = json_arr_next(r)) > 0) {                                                     \
            __VA_ARGS__ idx++;                                                                     \
        }                                                                                          \
        TRY(arc);                                                                                  \
    } while (0)

/* ---- scalars ------------------------------------------------------------------- */

static int j_str(json_reader *r, ig_str *out)
{
    int rc = json_str(r, out);
    if (rc == 0 && !out->ptr)
        *out = IG_STR("");
    return rc;
}

static int j_u32(otlp_st *st, json_reader *r, uint32_t *out)
{
    uint64_t u;
    TRY(json_u64(r, &u));
    if (u > UINT32_MAX)
        return otlp__fail(st, IG_EINVAL, "%" PRIu64 " is out of range for uint32", u);
    *out = (uint32_t)u;
    return 0;
}

static int j_i32(otlp_st *st, json_reader *r, int32_t *out)
{
    int64_t v;
    TRY(json_i64(r, &v));
    if (v < INT32_MIN || v > INT32_MAX)
        return otlp__fail(st, IG_EINVAL, "%" PRId64 " is out of range for int32", v);
    *out = (int32_t)v;
    return 0;
}

/* An enum: its number, or its name (numeric strings are accepted too). */
static int j_enum(otlp_st *st, json_reader *r, int (*by_name)(ig_str), const char *what,
                  int32_t *out)
{
    int ty = json_peek(r);
    if (ty < 0)
        return ty;
    if (ty != JSON_STRING)
        return j_i32(st, r, out);
    ig_str s;
    TRY(json_str(r, &s));
    int v = by_name(s);
    int64_t n;
    if (v >= 0) {
        *out = v;
    } else if (json_num_i64(s, &n) == 0 && n >= INT32_MIN && n <= INT32_MAX) {
        *out = (int32_t)n;
    } else {
        int l = s.len > 60 ? 60 : (int)s.len;
        return otlp__fail(st, IG_EINVAL, "unknown %s \"%.*s\"", what, l, s.ptr ? s.ptr : "");
    }
    return 0;
}

/* A trace id (n = 16) or span id (n = 8): 2n hex digits of either case (OTLP/JSON), or
 * the base64 of exactly n bytes (what generic protojson writes for bytes fields; its
 * length, 24/22 or 12/11 characters, can never be mistaken for hex); "" = absent.
 * Anything else fails the request. */
static int j_id(otlp_st *st, json_reader *r, uint8_t *buf, size_t n, ig_str *out)
{
    ig_str s;
    TRY(json_str(r, &s));
    *out = IG_STR_NULL;
    if (s.len == 0)
        return 0;
    ig_errbuf tmp;
    size_t got = 0;
    uint8_t b64[24];
    if (s.len == 2 * n ? json_hex_decode(s, buf, n, &tmp) == 0
                       : (s.len <= 4 * ((n + 2) / 3) &&
                          json_b64_decode(s, b64, sizeof b64, &got, &tmp) == 0 && got == n)) {
        if (s.len != 2 * n)
            memcpy(buf, b64, n);
        *out = ig_str_make(buf, n);
        return 0;
    }
    int l = s.len > 48 ? 48 : (int)s.len;
    return otlp__fail(st, IG_EINVAL,
                      "not a valid %s id: want %zu hex digits (or base64 of %zu bytes, or \"\"), "
                      "got \"%.*s%s\" (%zu chars)",
                      n == 16 ? "trace" : "span", 2 * n, n, l, s.ptr, s.len > 48 ? "..." : "",
                      s.len);
}

/* bytes: base64 (standard or URL-safe), decoded into the arena. */
static int j_bytes(otlp_st *st, json_reader *r, ig_str *out)
{
    ig_str s;
    TRY(json_str(r, &s));
    size_t cap = json_b64_decoded_max(s.len), n = 0;
    void *d;
    TRY(otlp__alloc(st, cap, &d));
    ig_errbuf tmp;
    if (json_b64_decode(s, d, cap, &n, &tmp) < 0)
        return otlp__fail(st, IG_EINVAL, "bytes value is not valid base64: %s", tmp.msg);
    *out = ig_str_make(d, n);
    return 0;
}

/* ---- AnyValue ------------------------------------------------------------------ */

enum {
    AV_UNKNOWN = 0,
    AV_STRING,
    AV_BOOL,
    AV_INT,
    AV_DOUBLE,
    AV_ARRAY,
    AV_KVLIST,
    AV_BYTES,
    AV_STRINDEX
};

static int av_kind(ig_str k)
{
    if (K(k, "stringValue", "string_value"))
        return AV_STRING;
    if (K(k, "intValue", "int_value"))
        return AV_INT;
    if (K(k, "boolValue", "bool_value"))
        return AV_BOOL;
    if (K(k, "doubleValue", "double_value"))
        return AV_DOUBLE;
    if (K(k, "arrayValue", "array_value"))
        return AV_ARRAY;
    if (K(k, "kvlistValue", "kvlist_value"))
        return AV_KVLIST;
    if (K(k, "bytesValue", "bytes_value"))
        return AV_BYTES;
    if (K(k, "stringValueStrindex", "string_value_strindex"))
        return AV_STRINDEX;
    return AV_UNKNOWN;
}

static int strindex_err(otlp_st *st, const char *what)
{
    return otlp__fail(
        st, IG_EINVAL,
        "%s refers to a profiles string table, which a %s request does not have (not supported)",
        what, ig_signal_name(st->signal));
}

static int j_any_json(otlp_st *st, json_reader *r, json_writer *w);

/* {"values": [AnyValue...]} as a JSON array. */
static int j_array_json(otlp_st *st, json_reader *r, json_writer *w)
{
    bool done = false;
    OBJ_LOOP(st, r, {
        if (K(key, "values", NULL)) {
            if (done)
                return otlp__fail(st, IG_EINVAL, "duplicate \"values\"");
            done = true;
            json_w_arr_begin(w);
            ARR_LOOP(r, { TRY(j_any_json(st, r, w)); });
            json_w_arr_end(w);
            rc = 0;
        } else {
            rc = json_skip(r);
        }
    });
    if (!done) {
        json_w_arr_begin(w);
        json_w_arr_end(w);
    }
    return 0;
}

/* One KeyValue inside a kvlist, written as `"key": value`. The value may come before the
 * key in JSON; then its raw text is kept and rendered once the key is known. */
static int j_kv_json(otlp_st *st, json_reader *r, json_writer *w)
{
    ig_str k = IG_STR(""), raw = IG_STR_NULL;
    bool has_key = false, written = false;
    OBJ_LOOP(st, r, {
        if (K(key, "key", NULL)) {
            if (written)
                return otlp__fail(st, IG_EINVAL, "\"key\" after \"value\" was already used");
            rc = j_str(r, &k);
            has_key = true;
        } else if (K(key, "value", NULL)) {
            if (has_key && !written) {
                json_w_key(w, k);
                rc = j_any_json(st, r, w);
                written = true;
            } else {
                rc = json_raw(r, &raw);
            }
        } else if (K(key, "keyStrindex", "key_strindex")) {
            return strindex_err(st, "KeyValue.key_strindex");
        } else {
            rc = json_skip(r);
        }
    });
    if (written)
        return 0;
    json_w_key(w, k);
    if (!raw.ptr) {
        json_w_null(w);
        return 0;
    }
    json_reader sub;
    json_reader_init(&sub, raw, &st->ieb);
    sub.arena = st->arena;
    sub.max_depth = r->max_depth;
    int rc = j_any_json(st, &sub, w);
    json_reader_free(&sub);
    return rc;
}

static int j_kvlist_json(otlp_st *st, json_reader *r, json_writer *w)
{
    bool done = false;
    OBJ_LOOP(st, r, {
        if (K(key, "values", NULL)) {
            if (done)
                return otlp__fail(st, IG_EINVAL, "duplicate \"values\"");
            done = true;
            json_w_obj_begin(w);
            ARR_LOOP(r, { TRY(j_kv_json(st, r, w)); });
            json_w_obj_end(w);
            rc = 0;
        } else {
            rc = json_skip(r);
        }
    });
    if (!done) {
        json_w_obj_begin(w);
        json_w_obj_end(w);
    }
    return 0;
}

static int jw_b64(otlp_st *st, json_writer *w, ig_str bytes)
{
    json_w_raw(w, IG_STR("\"\""));
    if (w->rc == 0) {
        st->tmp.len--;
        int rc = json_b64_encode(&st->tmp, bytes);
        if (rc == 0)
            rc = ig_buf_putc(&st->tmp, '"');
        if (rc < 0)
            return otlp__fail(st, rc, "value too large");
    }
    return 0;
}

/* An AnyValue nested in an array or kvlist, written as a JSON value (the last value
 * member wins, as for protobuf's oneof; an empty AnyValue is null). */
static int j_any_json(otlp_st *st, json_reader *r, json_writer *w)
{
    bool wrote = false;
    json_writer save;
    size_t save_len = 0;
    OBJ_LOOP(st, r, {
        int kind = av_kind(key);
        if (kind == AV_UNKNOWN) {
            rc = json_skip(r);
        } else if (kind == AV_STRINDEX) {
            return strindex_err(st, "AnyValue.string_value_strindex");
        } else {
            if (wrote) {
                *w = save;
                st->tmp.len = save_len;
            } else {
                save = *w;
                save_len = st->tmp.len;
            }
            wrote = true;
            ig_str s = IG_STR_NULL;
            bool b = false;
            int64_t i = 0;
            double d = 0;
            switch (kind) {
            case AV_STRING:
                rc = j_str(r, &s);
                json_w_str(w, s);
                break;
            case AV_BOOL:
                rc = json_bool(r, &b);
                if (rc == 0)
                    json_w_bool(w, b);
                break;
            case AV_INT:
                rc = json_i64(r, &i);
                json_w_i64(w, i);
                break;
            case AV_DOUBLE:
                rc = json_f64(r, &d);
                json_w_f64(w, d);
                break;
            case AV_BYTES:
                rc = j_bytes(st, r, &s);
                if (rc == 0)
                    rc = jw_b64(st, w, s);
                break;
            case AV_ARRAY:
                rc = j_array_json(st, r, w);
                break;
            default:
                rc = j_kvlist_json(st, r, w);
                break;
            }
        }
    });
    if (!wrote)
        json_w_null(w);
    return 0;
}

/* An AnyValue as attribute / body text; ptr NULL for an empty AnyValue. */
static int j_any_text(otlp_st *st, json_reader *r, ig_str *out)
{
    *out = IG_STR_NULL;
    OBJ_LOOP(st, r, {
        int kind = av_kind(key);
        ig_str s = IG_STR_NULL;
        bool b = false;
        int64_t i = 0;
        double d = 0;
        json_writer w;
        switch (kind) {
        case AV_STRING:
            rc = j_str(r, out);
            break;
        case AV_BOOL:
            rc = json_bool(r, &b);
            *out = otlp__text_bool(b);
            break;
        case AV_INT:
            rc = json_i64(r, &i);
            if (rc == 0)
                rc = otlp__text_i64(st, i, out);
            break;
        case AV_DOUBLE:
            rc = json_f64(r, &d);
            if (rc == 0)
                rc = otlp__text_f64(st, d, out);
            break;
        case AV_BYTES:
            rc = j_bytes(st, r, &s);
            if (rc == 0)
                rc = otlp__text_b64(st, s, out);
            break;
        case AV_ARRAY:
        case AV_KVLIST:
            otlp__jw_begin(st, &w);
            rc = kind == AV_ARRAY ? j_array_json(st, r, &w) : j_kvlist_json(st, r, &w);
            if (rc == 0)
                rc = otlp__jw_end(st, &w, out);
            break;
        case AV_STRINDEX:
            return strindex_err(st, "AnyValue.string_value_strindex");
        default:
            rc = json_skip(r);
            break;
        }
    });
    return 0;
}

/* One KeyValue of an attribute list started at `start`. */
static int j_keyvalue(otlp_st *st, json_reader *r, size_t start)
{
    ig_str k = IG_STR(""), val = IG_STR_NULL;
    OBJ_LOOP(st, r, {
        if (K(key, "key", NULL))
            rc = j_str(r, &k);
        else if (K(key, "value", NULL))
            rc = j_any_text(st, r, &val);
        else if (K(key, "keyStrindex", "key_strindex"))
            return strindex_err(st, "KeyValue.key_strindex");
        else
            rc = json_skip(r);
    });
    ig_attr *a;
    TRY(otlp__attr_push(st, start, &a));
    a->key = k;
    a->value = val;
    return 0;
}

/* An attribute array appended to the list started at `start`. */
static int j_attrs(otlp_st *st, json_reader *r, size_t start, const char *name)
{
    ARR_LOOP(r, {
        otlp__path_push(st, name, (int64_t)(st->attrs.n - start));
        TRY(j_keyvalue(st, r, start));
        otlp__path_pop(st);
    });
    return 0;
}

#define IS_ATTRS(k) K(k, "attributes", NULL)
#define IS_DROPPED(k) K(k, "droppedAttributesCount", "dropped_attributes_count")
#define IS_TIME(k) K(k, "timeUnixNano", "time_unix_nano")
#define IS_TRACE_ID(k) K(k, "traceId", "trace_id")
#define IS_SPAN_ID(k) K(k, "spanId", "span_id")

/* ---- logs ---------------------------------------------------------------------- */

static int j_log_record(otlp_st *st, json_reader *r)
{
    otlp_log_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    OBJ_LOOP(st, r, {
        if (IS_TIME(key))
            rc = json_u64(r, &raw.time_ns);
        else if (K(key, "observedTimeUnixNano", "observed_time_unix_nano"))
            rc = json_u64(r, &raw.observed_ns);
        else if (K(key, "severityNumber", "severity_number"))
            rc = j_enum(st, r, otlp__severity_by_name, "severity number", &raw.severity_number);
        else if (K(key, "severityText", "severity_text"))
            rc = j_str(r, &raw.severity_text);
        else if (K(key, "body", NULL)) {
            otlp__path_push(st, "body", -1); /* errors inside name body.<member> */
            rc = j_any_text(st, r, &raw.body);
            if (rc == 0)
                otlp__path_pop(st);
        }
        else if (IS_ATTRS(key))
            rc = j_attrs(st, r, raw.attrs_start, "attributes");
        else if (IS_DROPPED(key))
            rc = j_u32(st, r, &raw.dropped_attributes_count);
        else if (K(key, "flags", NULL))
            rc = j_u32(st, r, &raw.flags);
        else if (IS_TRACE_ID(key))
            rc = j_id(st, r, raw.idbuf, 16, &raw.trace_id);
        else if (IS_SPAN_ID(key))
            rc = j_id(st, r, raw.idbuf + 16, 8, &raw.span_id);
        else if (K(key, "eventName", "event_name"))
            rc = j_str(r, &raw.event_name);
        else
            rc = json_skip(r);
    });
    return otlp__log_finish(st, &raw);
}

/* ---- traces -------------------------------------------------------------------- */

static int j_span_event(otlp_st *st, json_reader *r)
{
    otlp_event_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    raw.name = IG_STR("");
    OBJ_LOOP(st, r, {
        if (IS_TIME(key))
            rc = json_u64(r, &raw.time_ns);
        else if (K(key, "name", NULL))
            rc = j_str(r, &raw.name);
        else if (IS_ATTRS(key))
            rc = j_attrs(st, r, raw.attrs_start, "attributes");
        else if (IS_DROPPED(key))
            rc = j_u32(st, r, &raw.dropped_attributes_count);
        else
            rc = json_skip(r);
    });
    return otlp__event_finish(st, &raw);
}

static int j_span_link(otlp_st *st, json_reader *r, otlp_span_raw *span)
{
    otlp_link_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    OBJ_LOOP(st, r, {
        if (IS_TRACE_ID(key))
            rc = j_id(st, r, raw.idbuf, 16, &raw.trace_id);
        else if (IS_SPAN_ID(key))
            rc = j_id(st, r, raw.idbuf + 16, 8, &raw.span_id);
        else if (K(key, "traceState", "trace_state"))
            rc = j_str(r, &raw.trace_state);
        else if (IS_ATTRS(key))
            rc = j_attrs(st, r, raw.attrs_start, "attributes");
        else if (IS_DROPPED(key))
            rc = j_u32(st, r, &raw.dropped_attributes_count);
        else if (K(key, "flags", NULL))
            rc = j_u32(st, r, &raw.flags);
        else
            rc = json_skip(r);
    });
    return otlp__link_finish(st, &raw, span);
}

static int j_status(otlp_st *st, json_reader *r, otlp_span_raw *raw)
{
    OBJ_LOOP(st, r, {
        if (K(key, "message", NULL))
            rc = j_str(r, &raw->status_message);
        else if (K(key, "code", NULL))
            rc = j_enum(st, r, otlp__status_by_name, "status code", &raw->status_code);
        else
            rc = json_skip(r);
    });
    return 0;
}

static int j_span(otlp_st *st, json_reader *r)
{
    otlp_span_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    raw.events_start = st->sevents.n;
    raw.links_start = st->slinks.n;
    OBJ_LOOP(st, r, {
        if (IS_TRACE_ID(key)) {
            rc = j_id(st, r, raw.idbuf, 16, &raw.trace_id);
        } else if (IS_SPAN_ID(key)) {
            rc = j_id(st, r, raw.idbuf + 16, 8, &raw.span_id);
        } else if (K(key, "parentSpanId", "parent_span_id")) {
            rc = j_id(st, r, raw.idbuf + 24, 8, &raw.parent_span_id);
        } else if (K(key, "traceState", "trace_state")) {
            rc = j_str(r, &raw.trace_state);
        } else if (K(key, "flags", NULL)) {
            rc = j_u32(st, r, &raw.flags);
        } else if (K(key, "name", NULL)) {
            rc = j_str(r, &raw.name);
        } else if (K(key, "kind", NULL)) {
            rc = j_enum(st, r, otlp__kind_by_name, "span kind", &raw.kind);
        } else if (K(key, "startTimeUnixNano", "start_time_unix_nano")) {
            rc = json_u64(r, &raw.start_ns);
        } else if (K(key, "endTimeUnixNano", "end_time_unix_nano")) {
            rc = json_u64(r, &raw.end_ns);
        } else if (IS_ATTRS(key)) {
            rc = j_attrs(st, r, raw.attrs_start, "attributes");
        } else if (IS_DROPPED(key)) {
            rc = j_u32(st, r, &raw.dropped_attributes_count);
        } else if (K(key, "droppedEventsCount", "dropped_events_count")) {
            rc = j_u32(st, r, &raw.dropped_events_count);
        } else if (K(key, "droppedLinksCount", "dropped_links_count")) {
            rc = j_u32(st, r, &raw.dropped_links_count);
        } else if (K(key, "events", NULL)) {
            ARR_LOOP(r, {
                otlp__path_push(st, "events", idx);
                TRY(j_span_event(st, r));
                otlp__path_pop(st);
            });
            rc = 0;
        } else if (K(key, "links", NULL)) {
            ARR_LOOP(r, {
                otlp__path_push(st, "links", idx);
                TRY(j_span_link(st, r, &raw));
                otlp__path_pop(st);
            });
            rc = 0;
        } else if (K(key, "status", NULL)) {
            otlp__path_push(st, "status", -1);
            TRY(j_status(st, r, &raw));
            otlp__path_pop(st);
            rc = 0;
        } else {
            rc = json_skip(r);
        }
    });
    return otlp__span_finish(st, &raw);
}

/* ---- metrics ------------------------------------------------------------------- */

static int j_exemplar(otlp_st *st, json_reader *r)
{
    otlp_exemplar_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.attrs_start = st->attrs.n;
    OBJ_LOOP(st, r, {
        if (K(key, "filteredAttributes", "filtered_attributes")) {
            rc = j_attrs(st, r, raw.attrs_start, "filteredAttributes");
        } else if (IS_TIME(key)) {
            rc = json_u64(r, &raw.time_ns);
        } else if (K(key, "asDouble", "as_double")) {
            rc = json_f64(r, &raw.vd);
            raw.has_double = true, raw.has_int = false;
        } else if (K(key, "asInt", "as_int")) {
            rc = json_i64(r, &raw.vi);
            raw.has_int = true, raw.has_double = false;
        } else if (IS_SPAN_ID(key)) {
            rc = j_id(st, r, raw.idbuf + 16, 8, &raw.span_id);
        } else if (IS_TRACE_ID(key)) {
            rc = j_id(st, r, raw.idbuf, 16, &raw.trace_id);
        } else {
            rc = json_skip(r);
        }
    });
    return otlp__exemplar_finish(st, &raw);
}

static int j_u64_list(otlp_st *st, json_reader *r, const char **overflow, const char *name)
{
    ARR_LOOP(r, {
        uint64_t u;
        int64_t *slot;
        TRY(json_u64(r, &u));
        TRY(otlp__push(st, &st->i64s, (void **)&slot));
        if (u > (uint64_t)INT64_MAX && !*overflow)
            *overflow = name;
        *slot = (int64_t)u;
    });
    return 0;
}

static int j_buckets(otlp_st *st, json_reader *r, ig_i64_list *out, int32_t *offset,
                     const char **overflow)
{
    otlp_buckets_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.counts_start = st->i64s.n;
    OBJ_LOOP(st, r, {
        if (K(key, "offset", NULL))
            rc = j_i32(st, r, &raw.offset);
        else if (K(key, "bucketCounts", "bucket_counts"))
            rc = j_u64_list(st, r, &raw.overflow, "bucket_counts");
        else
            rc = json_skip(r);
    });
    if (raw.overflow && !*overflow)
        *overflow = raw.overflow;
    return otlp__buckets_finish(st, &raw, out, offset);
}

static int j_quantile(otlp_st *st, json_reader *r, ig_quantile *q)
{
    OBJ_LOOP(st, r, {
        if (K(key, "quantile", NULL))
            rc = json_f64(r, &q->quantile);
        else if (K(key, "value", NULL))
            rc = json_f64(r, &q->value);
        else
            rc = json_skip(r);
    });
    return 0;
}

static int j_point(otlp_st *st, json_reader *r, int type)
{
    otlp_point_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.type = type;
    raw.attrs_start = st->attrs.n;
    raw.exemplars_start = st->exemplars.n;
    raw.buckets_start = st->i64s.n;
    raw.bounds_start = st->f64s.n;
    raw.quants_start = st->quants.n;
    bool num = type == OTLP_GAUGE || type == OTLP_SUM;
    bool hist = type == OTLP_HISTOGRAM, exph = type == OTLP_EXP_HISTOGRAM;
    OBJ_LOOP(st, r, {
        if (IS_ATTRS(key)) {
            rc = j_attrs(st, r, raw.attrs_start, "attributes");
        } else if (K(key, "startTimeUnixNano", "start_time_unix_nano")) {
            rc = json_u64(r, &raw.start_ns);
        } else if (IS_TIME(key)) {
            rc = json_u64(r, &raw.time_ns);
        } else if (K(key, "flags", NULL)) {
            rc = j_u32(st, r, &raw.flags);
        } else if (type != OTLP_SUMMARY && K(key, "exemplars", NULL)) {
            ARR_LOOP(r, {
                otlp__path_push(st, "exemplars", idx);
                TRY(j_exemplar(st, r));
                otlp__path_pop(st);
            });
            rc = 0;
        } else if (num && K(key, "asDouble", "as_double")) {
            rc = json_f64(r, &raw.vd);
            raw.has_double = true, raw.has_int = false;
        } else if (num && K(key, "asInt", "as_int")) {
            rc = json_i64(r, &raw.vi);
            raw.has_int = true, raw.has_double = false;
        } else if (!num && K(key, "count", NULL)) {
            rc = json_u64(r, &raw.count);
            if (rc == 0 && raw.count > (uint64_t)INT64_MAX && !raw.overflow)
                raw.overflow = "count";
        } else if (!num && K(key, "sum", NULL)) {
            rc = json_f64(r, &raw.sum);
            raw.has_sum = true;
        } else if ((hist || exph) && K(key, "min", NULL)) {
            rc = json_f64(r, &raw.min);
            raw.has_min = true;
        } else if ((hist || exph) && K(key, "max", NULL)) {
            rc = json_f64(r, &raw.max);
            raw.has_max = true;
        } else if (hist && K(key, "bucketCounts", "bucket_counts")) {
            rc = j_u64_list(st, r, &raw.overflow, "bucket_counts");
        } else if (hist && K(key, "explicitBounds", "explicit_bounds")) {
            ARR_LOOP(r, {
                double *d;
                TRY(otlp__push(st, &st->f64s, (void **)&d));
                TRY(json_f64(r, d));
            });
            rc = 0;
        } else if (exph && K(key, "scale", NULL)) {
            rc = j_i32(st, r, &raw.scale);
        } else if (exph && K(key, "zeroCount", "zero_count")) {
            rc = json_u64(r, &raw.zero_count);
            if (rc == 0 && raw.zero_count > (uint64_t)INT64_MAX && !raw.overflow)
                raw.overflow = "zero_count";
        } else if (exph && K(key, "zeroThreshold", "zero_threshold")) {
            rc = json_f64(r, &raw.zero_threshold);
        } else if (exph && (K(key, "positive", NULL) || K(key, "negative", NULL))) {
            bool pos = key.ptr[0] == 'p';
            otlp__path_push(st, pos ? "positive" : "negative", -1);
            TRY(j_buckets(st, r, pos ? &raw.pos : &raw.neg, pos ? &raw.pos_offset : &raw.neg_offset,
                          &raw.overflow));
            otlp__path_pop(st);
            rc = 0;
        } else if (type == OTLP_SUMMARY && K(key, "quantileValues", "quantile_values")) {
            ARR_LOOP(r, {
                ig_quantile *q;
                TRY(otlp__push(st, &st->quants, (void **)&q));
                otlp__path_push(st, "quantileValues", idx);
                TRY(j_quantile(st, r, q));
                otlp__path_pop(st);
            });
            rc = 0;
        } else {
            rc = json_skip(r);
        }
    });
    return otlp__point_finish(st, &raw);
}

static const char *const data_names[OTLP_METRIC_TYPES_] = {"gauge", "sum", "histogram",
                                                           "exponentialHistogram", "summary"};

static int j_data(otlp_st *st, json_reader *r, int type)
{
    otlp_mark m;
    otlp__mark(st, &m);
    int32_t temporality = 0;
    bool monotonic = false;
    otlp__path_push(st, data_names[type], -1);
    OBJ_LOOP(st, r, {
        if (K(key, "dataPoints", "data_points")) {
            ARR_LOOP(r, {
                otlp__path_push(st, "dataPoints", idx);
                TRY(otlp__count_record(st, "data points"));
                TRY(j_point(st, r, type));
                otlp__path_pop(st);
            });
            rc = 0;
        } else if (type != OTLP_GAUGE && type != OTLP_SUMMARY &&
                   K(key, "aggregationTemporality", "aggregation_temporality")) {
            rc = j_enum(st, r, otlp__temporality_by_name, "aggregation temporality", &temporality);
        } else if (type == OTLP_SUM && K(key, "isMonotonic", "is_monotonic")) {
            rc = json_bool(r, &monotonic);
        } else {
            rc = json_skip(r);
        }
    });
    TRY(otlp__data_finish(st, &m, type, temporality, type == OTLP_SUM, monotonic));
    otlp__path_pop(st);
    return 0;
}

static int j_metric(otlp_st *st, json_reader *r)
{
    otlp_mark m;
    otlp__mark(st, &m);
    ig_str name = IG_STR(""), desc = IG_STR_NULL, unit = IG_STR_NULL;
    size_t md_start = st->attrs.n;
    bool seen = false;
    OBJ_LOOP(st, r, {
        int type = -1;
        if (K(key, "name", NULL))
            rc = j_str(r, &name);
        else if (K(key, "description", NULL))
            rc = j_str(r, &desc);
        else if (K(key, "unit", NULL))
            rc = j_str(r, &unit);
        else if (K(key, "metadata", NULL))
            rc = j_attrs(st, r, md_start, "metadata");
        else if (K(key, "gauge", NULL))
            type = OTLP_GAUGE;
        else if (K(key, "sum", NULL))
            type = OTLP_SUM;
        else if (K(key, "histogram", NULL))
            type = OTLP_HISTOGRAM;
        else if (K(key, "exponentialHistogram", "exponential_histogram"))
            type = OTLP_EXP_HISTOGRAM;
        else if (K(key, "summary", NULL))
            type = OTLP_SUMMARY;
        else
            rc = json_skip(r);
        if (type >= 0) {
            if (seen) /* oneof: the last data member wins */
                otlp__truncate(st, &m);
            seen = true;
            rc = j_data(st, r, type);
        }
    });
    ig_attrs md;
    TRY(otlp__attrs_finish(st, md_start, &md));
    return otlp__metric_finish(st, &m, name, desc, unit, &md);
}

/* ---- resource / scope ---------------------------------------------------------- */

static const char *const res_camel[IG_SIGNAL_COUNT_] = {"resourceLogs", "resourceSpans",
                                                        "resourceMetrics"};
static const char *const res_snake[IG_SIGNAL_COUNT_] = {"resource_logs", "resource_spans",
                                                        "resource_metrics"};
static const char *const scope_camel[IG_SIGNAL_COUNT_] = {"scopeLogs", "scopeSpans",
                                                          "scopeMetrics"};
static const char *const scope_snake[IG_SIGNAL_COUNT_] = {"scope_logs", "scope_spans",
                                                          "scope_metrics"};
static const char *const rec_camel[IG_SIGNAL_COUNT_] = {"logRecords", "spans", "metrics"};
static const char *const rec_snake[IG_SIGNAL_COUNT_] = {"log_records", NULL, NULL};

static int j_res_or_scope(otlp_st *st, json_reader *r, bool scope, ig_str *name, ig_str *version,
                          ig_attrs *attrs, uint32_t *dropped)
{
    size_t start = st->attrs.n;
    otlp__path_push(st, scope ? "scope" : "resource", -1);
    OBJ_LOOP(st, r, {
        if (IS_ATTRS(key))
            rc = j_attrs(st, r, start, "attributes");
        else if (scope && K(key, "name", NULL))
            rc = j_str(r, name);
        else if (scope && K(key, "version", NULL))
            rc = j_str(r, version);
        else if (IS_DROPPED(key))
            rc = j_u32(st, r, dropped);
        else
            rc = json_skip(r);
    });
    TRY(otlp__attrs_finish(st, start, attrs));
    otlp__path_pop(st);
    return 0;
}

static int j_record(otlp_st *st, json_reader *r)
{
    if (st->signal == IG_SIGNAL_LOGS) {
        TRY(otlp__count_record(st, "log records"));
        return j_log_record(st, r);
    }
    if (st->signal == IG_SIGNAL_TRACES) {
        TRY(otlp__count_record(st, "spans"));
        return j_span(st, r);
    }
    return j_metric(st, r);
}

static int j_scope_x(otlp_st *st, json_reader *r)
{
    otlp_mark m;
    otlp__mark(st, &m);
    ig_str name = IG_STR_NULL, version = IG_STR_NULL, schema = IG_STR_NULL;
    ig_attrs attrs = {0};
    uint32_t dropped = 0;
    OBJ_LOOP(st, r, {
        if (K(key, "scope", NULL)) {
            name = version = IG_STR_NULL;
            dropped = 0;
            rc = j_res_or_scope(st, r, true, &name, &version, &attrs, &dropped);
        } else if (K(key, rec_camel[st->signal], rec_snake[st->signal])) {
            ARR_LOOP(r, {
                otlp__path_push(st, rec_camel[st->signal], idx);
                TRY(j_record(st, r));
                otlp__path_pop(st);
            });
            rc = 0;
        } else if (K(key, "schemaUrl", "schema_url")) {
            rc = j_str(r, &schema);
        } else {
            rc = json_skip(r);
        }
    });
    return otlp__scope_finish(st, &m, name, version, &attrs, schema, dropped);
}

static int j_resource_x(otlp_st *st, json_reader *r)
{
    otlp_mark m;
    otlp__mark(st, &m);
    ig_attrs attrs = {0};
    ig_str schema = IG_STR_NULL;
    uint32_t dropped = 0;
    OBJ_LOOP(st, r, {
        if (K(key, "resource", NULL)) {
            dropped = 0;
            rc = j_res_or_scope(st, r, false, NULL, NULL, &attrs, &dropped);
        } else if (K(key, scope_camel[st->signal], scope_snake[st->signal])) {
            ARR_LOOP(r, {
                otlp__path_push(st, scope_camel[st->signal], idx);
                TRY(j_scope_x(st, r));
                otlp__path_pop(st);
            });
            rc = 0;
        } else if (K(key, "schemaUrl", "schema_url")) {
            rc = j_str(r, &schema);
        } else {
            rc = json_skip(r);
        }
    });
    return otlp__resource_finish(st, &m, &attrs, schema, dropped);
}

static int j_request(otlp_st *st, json_reader *r)
{
    OBJ_LOOP(st, r, {
        if (K(key, res_camel[st->signal], res_snake[st->signal])) {
            ARR_LOOP(r, {
                otlp__path_push(st, res_camel[st->signal], idx);
                TRY(j_resource_x(st, r));
                otlp__path_pop(st);
            });
            rc = 0;
        } else {
            rc = json_skip(r);
        }
    });
    st->key = IG_STR_NULL;
    return json_end(r);
}

int otlp__decode_json(otlp_st *st, ig_str body)
{
    json_reader r;
    json_reader_init(&r, body, &st->ieb);
    r.arena = st->arena;
    int rc = j_request(st, &r);
    json_reader_free(&r);
    return rc;
}
