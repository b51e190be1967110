/* OTLP decoding: entry point and the mapping rules shared by the protobuf and JSON
 * decoders (raw record → row, validation, partial success, attribute lists, value text).
 * Design note: docs/ingest-otlp.md. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "ingest/otlp_internal.h"

static const char *const signal_names[IG_SIGNAL_COUNT_] = {"logs", "traces", "metrics"};

const char *ig_signal_name(ig_signal s)
{
    return (unsigned)s < IG_SIGNAL_COUNT_ ? signal_names[s] : "unknown";
}

/* ---- messages ------------------------------------------------------------------ */

static size_t path_fmt_key(const otlp_st *st, char *b, size_t cap, bool with_key);

static size_t path_fmt(const otlp_st *st, char *b, size_t cap)
{
    return path_fmt_key(st, b, cap, true);
}

/* The current position; with_key adds the JSON member being read (decode errors), which a
 * record-level rejection made after the record was read must not name. */
static size_t path_fmt_key(const otlp_st *st, char *b, size_t cap, bool with_key)
{
    size_t n = 0;
    int np = st->npath < OTLP_PATH_MAX ? st->npath : OTLP_PATH_MAX;
    b[0] = 0;
    for (int i = 0; i < np && n < cap; i++) {
        const otlp_pathel *e = &st->path[i];
        int k = e->idx >= 0
                    ? snprintf(b + n, cap - n, "%s%s[%" PRId64 "]", i ? "." : "", e->name, e->idx)
                    : snprintf(b + n, cap - n, "%s%s", i ? "." : "", e->name);
        if (k < 0)
            break;
        n += (size_t)k;
    }
    if (n < cap && with_key && st->key.ptr && st->enc == IG_OTLP_JSON) {
        int k = snprintf(b + n, cap - n, "%s%.*s", n ? "." : "",
                         (int)(st->key.len > 64 ? 64 : st->key.len), st->key.ptr);
        if (k > 0)
            n += (size_t)k;
    }
    if (n == 0)
        n = (size_t)snprintf(b, cap, "request");
    return n < cap ? n : cap - 1;
}

static int compose(otlp_st *st, int code, const char *msg)
{
    if (st->composed)
        return code;
    st->composed = true;
    char path[200];
    path_fmt(st, path, sizeof path);
    if (st->eb) {
        char full[512];
        snprintf(full, sizeof full, "%s %s: %s: %.280s", ig_signal_name(st->signal),
                 st->enc == IG_OTLP_JSON ? "JSON" : "protobuf", path, msg);
        snprintf(st->eb->msg, sizeof st->eb->msg, "%.*s", (int)(sizeof st->eb->msg - 1), full);
    }
    return code;
}

int otlp__fail(otlp_st *st, int code, const char *fmt, ...)
{
    if (st->composed)
        return code;
    char m[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return compose(st, code, m);
}

int otlp__fail_inner(otlp_st *st, int code)
{
    return compose(st, code, st->ieb.msg[0] ? st->ieb.msg : ig_strerror(code));
}

void otlp__reject(otlp_st *st, const char *fmt, ...)
{
    st->rejected++;
    if (st->reason[0])
        return;
    char path[200];
    path_fmt_key(st, path, sizeof path, false);
    char m[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    char full[420];
    snprintf(full, sizeof full, "%s: %s", path, m);
    snprintf(st->reason, sizeof st->reason, "%.*s", (int)(sizeof st->reason - 1), full);
}

/* ---- memory -------------------------------------------------------------------- */

int otlp__push(otlp_st *st, otlp_vec *v, void **slot)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16, bytes;
        if (ig_size_mul(ncap, v->elem, &bytes) < 0 || bytes > st->scratch_max) {
            ncap = st->scratch_max / v->elem;
            if (ncap <= v->n)
                return otlp__fail(st, IG_ETOOBIG,
                                  "decoded request exceeds the memory limit of %zu bytes",
                                  st->scratch_max);
            bytes = ncap * v->elem;
        }
        void *p = ig_realloc(v->data, bytes);
        if (!p)
            return otlp__fail(st, IG_ENOMEM, "out of memory");
        v->data = p;
        v->cap = ncap;
    }
    void *s = v->data + v->n * v->elem;
    memset(s, 0, v->elem);
    v->n++;
    *slot = s;
    return 0;
}

int otlp__alloc(otlp_st *st, size_t n, void **out)
{
    void *p = ig_arena_alloc(st->arena, n ? n : 1);
    *out = p;
    if (p)
        return 0;
    if (st->arena->cap && (st->arena->used + n + 256 >= st->arena->cap || n >= st->arena->cap))
        return otlp__fail(st, IG_ETOOBIG, "decoded request exceeds the memory limit of %zu bytes",
                          st->arena->cap);
    return otlp__fail(st, IG_ENOMEM, "out of memory");
}

int otlp__dup(otlp_st *st, const void *p, size_t n, ig_str *out)
{
    void *d;
    int rc = otlp__alloc(st, n, &d);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(d, p, n);
    *out = ig_str_make(d, n);
    return 0;
}

int otlp__vec_finish(otlp_st *st, otlp_vec *v, size_t start, void **out, uint32_t *n)
{
    size_t cnt = v->n - start;
    *out = NULL;
    *n = 0;
    if (cnt == 0)
        return 0;
    if (cnt > UINT32_MAX)
        return otlp__fail(st, IG_ETOOBIG, "list too long");
    void *d;
    int rc = otlp__alloc(st, cnt * v->elem, &d);
    if (rc < 0)
        return rc;
    memcpy(d, otlp__at(v, start), cnt * v->elem);
    v->n = start;
    *out = d;
    *n = (uint32_t)cnt;
    return 0;
}

int otlp__count_record(otlp_st *st, const char *what)
{
    if (++st->records > st->max_records)
        return otlp__fail(st, IG_ETOOBIG, "more than %zu %s in one request (limit)",
                          st->max_records, what);
    return 0;
}

/* ---- attributes ---------------------------------------------------------------- */

int otlp__attr_push(otlp_st *st, size_t start, ig_attr **slot)
{
    if (st->attrs.n - start >= st->max_attrs)
        return otlp__fail(st, IG_EINVAL,
                          "more than %u attributes in one list (limit max_attrs_per_level)",
                          st->max_attrs);
    return otlp__push(st, &st->attrs, (void **)slot);
}

static uint32_t key_hash(ig_str k)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < k.len; i++)
        h = (h ^ (uint8_t)k.ptr[i]) * 16777619u;
    return h;
}

int otlp__attrs_finish(otlp_st *st, size_t start, ig_attrs *out)
{
    ig_attr *a = otlp__at(&st->attrs, start);
    size_t n = st->attrs.n - start;
    out->items = NULL;
    out->n = 0;
    if (n == 0)
        return 0;
    /* Mark duplicates (all but the last occurrence) by setting key.len = SIZE_MAX. */
    size_t kept = n;
    if (n <= 16) {
        for (size_t i = 0; i + 1 < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (a[i].key.len == a[j].key.len &&
                    memcmp(a[i].key.ptr, a[j].key.ptr, a[i].key.len) == 0) {
                    a[i].key.len = SIZE_MAX;
                    kept--;
                    break;
                }
    } else {
        size_t hc = 64;
        while (hc < 2 * n)
            hc *= 2;
        if (hc > st->hcap) {
            uint32_t *h = ig_realloc(st->hset, hc * sizeof *h);
            if (!h)
                return otlp__fail(st, IG_ENOMEM, "out of memory");
            st->hset = h;
            st->hcap = hc;
        }
        memset(st->hset, 0, hc * sizeof *st->hset);
        for (size_t i = n; i-- > 0;) {
            size_t pos = key_hash(a[i].key) & (hc - 1);
            for (;;) {
                uint32_t e = st->hset[pos];
                if (e == 0) {
                    st->hset[pos] = (uint32_t)i + 1;
                    break;
                }
                ig_attr *o = &a[e - 1];
                if (o->key.len == a[i].key.len &&
                    memcmp(o->key.ptr, a[i].key.ptr, o->key.len) == 0) {
                    a[i].key.len = SIZE_MAX;
                    kept--;
                    break;
                }
                pos = (pos + 1) & (hc - 1);
            }
        }
    }
    ig_attr *d;
    int rc = otlp__alloc(st, kept * sizeof *d, (void **)&d);
    if (rc < 0)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i].key.len != SIZE_MAX)
            d[k++] = a[i];
    st->attrs.n = start;
    out->items = d;
    out->n = (uint32_t)kept;
    return 0;
}

static const ig_attr *attrs_find(const ig_attrs *a, const char *key)
{
    for (uint32_t i = a->n; i-- > 0;)
        if (ig_str_eq_cstr(a->items[i].key, key))
            return &a->items[i];
    return NULL;
}

/* ---- value text ---------------------------------------------------------------- */

int otlp__text_i64(otlp_st *st, int64_t v, ig_str *out)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, v);
    return otlp__dup(st, b, (size_t)n, out);
}

int otlp__text_f64(otlp_st *st, double v, ig_str *out)
{
    if (isnan(v)) {
        *out = IG_STR("NaN");
        return 0;
    }
    if (isinf(v)) {
        *out = v > 0 ? IG_STR("Infinity") : IG_STR("-Infinity");
        return 0;
    }
    json_writer w;
    otlp__jw_begin(st, &w);
    json_w_f64(&w, v);
    return otlp__jw_end(st, &w, out);
}

int otlp__text_b64(otlp_st *st, ig_str bytes, ig_str *out)
{
    ig_buf_reset(&st->tmp);
    int rc = json_b64_encode(&st->tmp, bytes);
    if (rc < 0)
        return otlp__fail(st, rc, "value too large");
    return otlp__dup(st, st->tmp.data, st->tmp.len, out);
}

ig_str otlp__text_bool(bool v)
{
    return v ? IG_STR("true") : IG_STR("false");
}

void otlp__jw_begin(otlp_st *st, json_writer *w)
{
    ig_buf_reset(&st->tmp);
    json_writer_init(w, &st->tmp);
}

int otlp__jw_end(otlp_st *st, json_writer *w, ig_str *out)
{
    int rc = json_writer_finish(w);
    if (rc < 0)
        return otlp__fail(st, rc == IG_ETOOBIG ? IG_ETOOBIG : rc,
                          "value too large to render as JSON text (%s)", ig_strerror(rc));
    return otlp__dup(st, st->tmp.data, st->tmp.len, out);
}

/* ---- enum names ---------------------------------------------------------------- */

static int by_name(ig_str s, const char *prefix, const char *const *names, int count)
{
    size_t pl = strlen(prefix);
    if (s.len <= pl || memcmp(s.ptr, prefix, pl) != 0)
        return -1;
    ig_str rest = ig_str_make(s.ptr + pl, s.len - pl);
    for (int i = 0; i < count; i++)
        if (names[i] && ig_str_eq_cstr(rest, names[i]))
            return i;
    return -1;
}

int otlp__severity_by_name(ig_str s)
{
    static const char *const n[] = {"UNSPECIFIED", "TRACE",  "TRACE2", "TRACE3", "TRACE4",
                                    "DEBUG",       "DEBUG2", "DEBUG3", "DEBUG4", "INFO",
                                    "INFO2",       "INFO3",  "INFO4",  "WARN",   "WARN2",
                                    "WARN3",       "WARN4",  "ERROR",  "ERROR2", "ERROR3",
                                    "ERROR4",      "FATAL",  "FATAL2", "FATAL3", "FATAL4"};
    return by_name(s, "SEVERITY_NUMBER_", n, 25);
}

int otlp__kind_by_name(ig_str s)
{
    static const char *const n[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                    "CLIENT",      "PRODUCER", "CONSUMER"};
    return by_name(s, "SPAN_KIND_", n, 6);
}

int otlp__status_by_name(ig_str s)
{
    static const char *const n[] = {"UNSET", "OK", "ERROR"};
    return by_name(s, "STATUS_CODE_", n, 3);
}

int otlp__temporality_by_name(ig_str s)
{
    static const char *const n[] = {"UNSPECIFIED", "DELTA", "CUMULATIVE"};
    return by_name(s, "AGGREGATION_TEMPORALITY_", n, 3);
}

/* ---- records ------------------------------------------------------------------- */

static inline int64_t ns_to_us(uint64_t ns)
{
    return (int64_t)(ns / 1000u);
}

static bool id_ok(ig_str id, size_t len)
{
    return id.len == len && !otlp__all_zero(id);
}

static ig_str nonempty(ig_str s)
{
    return s.len ? s : IG_STR_NULL;
}

static void ident_init(const otlp_st *st, ig_row_ident *id)
{
    id->tenant_id = st->ctx->tenant_id;
    id->account_id = st->ctx->account_id;
    id->service_name = IG_STR_NULL;
}

int otlp__log_finish(otlp_st *st, otlp_log_raw *raw)
{
    ig_log_row *row;
    int rc = otlp__push(st, &st->rows[IG_TABLE_LOGS], (void **)&row);
    if (rc < 0)
        return rc;
    ident_init(st, &row->id);
    rc = otlp__attrs_finish(st, raw->attrs_start, &row->attributes);
    if (rc < 0)
        return rc;
    if (raw->time_ns)
        row->timestamp_us = ns_to_us(raw->time_ns);
    else if (raw->observed_ns)
        row->timestamp_us = ns_to_us(raw->observed_ns);
    else
        row->timestamp_us = st->ctx->now_us;
    row->has_observed = raw->observed_ns != 0;
    row->observed_us = ns_to_us(raw->observed_ns);
    row->ingested_us = st->ctx->now_us;
    if (id_ok(raw->trace_id, 16)) {
        memcpy(row->trace_id, raw->trace_id.ptr, 16);
        row->has_trace_id = true;
    }
    if (id_ok(raw->span_id, 8)) {
        memcpy(row->span_id, raw->span_id.ptr, 8);
        row->has_span_id = true;
    }
    row->severity_number = raw->severity_number;
    row->has_severity_number = raw->severity_number != 0;
    row->severity_text = nonempty(raw->severity_text);
    row->body = raw->body;
    row->flags = raw->flags;
    row->has_flags = raw->flags != 0;
    row->dropped_attributes_count = raw->dropped_attributes_count;
    row->has_dropped_attributes_count = raw->dropped_attributes_count != 0;
    row->source = IG_STR("otlp");
    row->event_name = nonempty(raw->event_name);
    if (!row->event_name.ptr) {
        const ig_attr *a = attrs_find(&row->attributes, "event.name");
        if (a && a->value.ptr && a->value.len)
            row->event_name = a->value;
    }
    if (row->event_name.ptr) {
        ig_log_row copy = *row; /* row may move when the events vector grows: copy first */
        const ig_attr *d = attrs_find(&copy.attributes, "event.domain");
        if (d && d->value.ptr && d->value.len) {
            copy.event_domain = d->value;
        } else {
            long dot = ig_str_index(copy.event_name, '.');
            copy.event_domain =
                dot > 0 ? ig_str_make(copy.event_name.ptr, (size_t)dot) : IG_STR_NULL;
        }
        ig_log_row *ev;
        rc = otlp__push(st, &st->rows[IG_TABLE_EVENTS], (void **)&ev);
        if (rc < 0)
            return rc;
        *ev = copy;
    }
    return 0;
}

int otlp__event_finish(otlp_st *st, otlp_event_raw *raw)
{
    ig_attrs attrs;
    int rc = otlp__attrs_finish(st, raw->attrs_start, &attrs);
    if (rc < 0)
        return rc;
    ig_span_event *ev;
    rc = otlp__push(st, &st->sevents, (void **)&ev);
    if (rc < 0)
        return rc;
    ev->timestamp_us = ns_to_us(raw->time_ns); /* 0: replaced by the span start at span finish */
    ev->name = raw->name;
    ev->attributes = attrs;
    ev->dropped_attributes_count = raw->dropped_attributes_count;
    ev->has_dropped_attributes_count = raw->dropped_attributes_count != 0;
    return 0;
}

int otlp__link_finish(otlp_st *st, otlp_link_raw *raw, otlp_span_raw *span)
{
    ig_attrs attrs;
    int rc = otlp__attrs_finish(st, raw->attrs_start, &attrs);
    if (rc < 0)
        return rc;
    if (!id_ok(raw->trace_id, 16) || !id_ok(raw->span_id, 8)) {
        span->invalid_links++;
        return 0;
    }
    ig_span_link *l;
    rc = otlp__push(st, &st->slinks, (void **)&l);
    if (rc < 0)
        return rc;
    memcpy(l->trace_id, raw->trace_id.ptr, 16);
    memcpy(l->span_id, raw->span_id.ptr, 8);
    l->trace_state = nonempty(raw->trace_state);
    l->attributes = attrs;
    l->dropped_attributes_count = raw->dropped_attributes_count;
    l->has_dropped_attributes_count = raw->dropped_attributes_count != 0;
    l->flags = raw->flags;
    l->has_flags = raw->flags != 0;
    return 0;
}

static const char *id_problem(ig_str id, size_t len)
{
    if (id.len == 0)
        return "is missing";
    if (id.len != len)
        return "has the wrong length";
    return otlp__all_zero(id) ? "is all zero" : NULL;
}

int otlp__span_finish(otlp_st *st, otlp_span_raw *raw)
{
    ig_attrs attrs;
    int rc = otlp__attrs_finish(st, raw->attrs_start, &attrs);
    if (rc < 0)
        return rc;
    ig_span_event *events;
    ig_span_link *links;
    uint32_t nevents, nlinks;
    rc = otlp__vec_finish(st, &st->sevents, raw->events_start, (void **)&events, &nevents);
    if (rc < 0)
        return rc;
    rc = otlp__vec_finish(st, &st->slinks, raw->links_start, (void **)&links, &nlinks);
    if (rc < 0)
        return rc;
    const char *p;
    if ((p = id_problem(raw->trace_id, 16)) != NULL) {
        otlp__reject(st, "trace_id %s (%zu bytes; want 16, not all zero)", p, raw->trace_id.len);
        return 0;
    }
    if ((p = id_problem(raw->span_id, 8)) != NULL) {
        otlp__reject(st, "span_id %s (%zu bytes; want 8, not all zero)", p, raw->span_id.len);
        return 0;
    }
    if (raw->parent_span_id.len != 0 && raw->parent_span_id.len != 8) {
        otlp__reject(st, "parent_span_id has %zu bytes, want 8 (or none)", raw->parent_span_id.len);
        return 0;
    }
    if (raw->start_ns == 0) {
        otlp__reject(st, "start_time_unix_nano is missing (0)");
        return 0;
    }
    ig_span_row *row;
    rc = otlp__push(st, &st->rows[IG_TABLE_SPANS], (void **)&row);
    if (rc < 0)
        return rc;
    ident_init(st, &row->id);
    memcpy(row->trace_id, raw->trace_id.ptr, 16);
    memcpy(row->span_id, raw->span_id.ptr, 8);
    if (raw->parent_span_id.len == 8 && !otlp__all_zero(raw->parent_span_id)) {
        memcpy(row->parent_span_id, raw->parent_span_id.ptr, 8);
        row->has_parent_span_id = true;
    }
    uint64_t end_ns = raw->end_ns ? raw->end_ns : raw->start_ns;
    row->timestamp_us = ns_to_us(raw->start_ns);
    row->end_timestamp_us = ns_to_us(end_ns);
    row->ingested_us = st->ctx->now_us;
    row->duration_nanos = end_ns >= raw->start_ns && end_ns - raw->start_ns <= (uint64_t)INT64_MAX
                              ? (int64_t)(end_ns - raw->start_ns)
                              : 0;
    row->trace_state = nonempty(raw->trace_state);
    row->name = raw->name.ptr ? raw->name : IG_STR("");
    row->kind = raw->kind;
    row->has_kind = raw->kind != 0;
    row->status_code = raw->status_code;
    row->has_status_code = true;
    row->status_message = nonempty(raw->status_message);
    row->flags = raw->flags;
    row->has_flags = raw->flags != 0;
    uint64_t dl = (uint64_t)raw->dropped_links_count + raw->invalid_links;
    row->dropped_attributes_count = raw->dropped_attributes_count;
    row->has_dropped_attributes_count = raw->dropped_attributes_count != 0;
    row->dropped_events_count = raw->dropped_events_count;
    row->has_dropped_events_count = raw->dropped_events_count != 0;
    row->dropped_links_count = (int64_t)dl;
    row->has_dropped_links_count = dl != 0;
    row->attributes = attrs;
    for (uint32_t i = 0; i < nevents; i++)
        if (events[i].timestamp_us == 0)
            events[i].timestamp_us = row->timestamp_us;
    row->events = events;
    row->nevents = nevents;
    row->links = links;
    row->nlinks = nlinks;
    return 0;
}

int otlp__exemplar_finish(otlp_st *st, otlp_exemplar_raw *raw)
{
    ig_attrs attrs;
    int rc = otlp__attrs_finish(st, raw->attrs_start, &attrs);
    if (rc < 0)
        return rc;
    ig_exemplar *e;
    rc = otlp__push(st, &st->exemplars, (void **)&e);
    if (rc < 0)
        return rc;
    e->timestamp_us = ns_to_us(raw->time_ns);
    e->has_timestamp = raw->time_ns != 0;
    e->value_double = raw->vd;
    e->has_value_double = raw->has_double;
    e->value_int = raw->vi;
    e->has_value_int = raw->has_int;
    if (id_ok(raw->trace_id, 16)) {
        memcpy(e->trace_id, raw->trace_id.ptr, 16);
        e->has_trace_id = true;
    }
    if (id_ok(raw->span_id, 8)) {
        memcpy(e->span_id, raw->span_id.ptr, 8);
        e->has_span_id = true;
    }
    e->attributes = attrs;
    return 0;
}

int otlp__buckets_finish(otlp_st *st, otlp_buckets_raw *raw, ig_i64_list *out, int32_t *offset)
{
    int rc = otlp__vec_finish(st, &st->i64s, raw->counts_start, (void **)&out->v, &out->n);
    if (rc < 0)
        return rc;
    out->present = true;
    *offset = raw->offset;
    return 0;
}

static const char *const type_names[OTLP_METRIC_TYPES_] = {"gauge", "sum", "histogram",
                                                           "exponential_histogram", "summary"};

int otlp__point_finish(otlp_st *st, otlp_point_raw *raw)
{
    ig_attrs attrs;
    ig_exemplar *ex;
    uint32_t nex;
    ig_i64_list buckets = {0};
    ig_f64_list bounds = {0};
    ig_quantile *q;
    uint32_t nq;
    int rc = otlp__attrs_finish(st, raw->attrs_start, &attrs);
    if (rc < 0)
        return rc;
    if ((rc = otlp__vec_finish(st, &st->exemplars, raw->exemplars_start, (void **)&ex, &nex)) < 0 ||
        (rc = otlp__vec_finish(st, &st->i64s, raw->buckets_start, (void **)&buckets.v,
                               &buckets.n)) < 0 ||
        (rc = otlp__vec_finish(st, &st->f64s, raw->bounds_start, (void **)&bounds.v, &bounds.n)) <
            0 ||
        (rc = otlp__vec_finish(st, &st->quants, raw->quants_start, (void **)&q, &nq)) < 0)
        return rc;
    if (raw->overflow) {
        otlp__reject(st, "%s exceeds the int64 range", raw->overflow);
        return 0;
    }
    if (raw->time_ns == 0) {
        otlp__reject(st, "time_unix_nano is missing (0)");
        return 0;
    }
    bool no_value = (raw->flags & 1u) != 0; /* FLAG_NO_RECORDED_VALUE */
    if ((raw->type == OTLP_GAUGE || raw->type == OTLP_SUM) && !raw->has_double && !raw->has_int &&
        !no_value) {
        otlp__reject(st, "%s data point has no value (as_double / as_int)", type_names[raw->type]);
        return 0;
    }
    if (raw->type == OTLP_HISTOGRAM && !(buckets.n == 0 && bounds.n == 0) &&
        buckets.n != bounds.n + 1) {
        otlp__reject(st, "histogram has %u bucket_counts and %u explicit_bounds (want bounds + 1)",
                     buckets.n, bounds.n);
        return 0;
    }
    ig_metric_row *row;
    rc = otlp__push(st, &st->rows[IG_TABLE_METRICS], (void **)&row);
    if (rc < 0)
        return rc;
    ident_init(st, &row->id);
    row->timestamp_us = ns_to_us(raw->time_ns);
    row->start_timestamp_us = ns_to_us(raw->start_ns);
    row->has_start_timestamp = raw->start_ns != 0;
    row->ingested_us = st->ctx->now_us;
    row->metric_type = ig_str_from(type_names[raw->type]);
    row->attributes = attrs;
    row->flags = raw->flags;
    row->has_flags = raw->flags != 0;
    row->exemplars = ex;
    row->nexemplars = nex;
    switch (raw->type) {
    case OTLP_GAUGE:
    case OTLP_SUM:
        row->value_double = raw->vd;
        row->has_value_double = raw->has_double;
        row->value_int = raw->vi;
        row->has_value_int = raw->has_int;
        break;
    case OTLP_HISTOGRAM:
        row->count = (int64_t)raw->count;
        row->has_count = true;
        buckets.present = bounds.present = true;
        row->bucket_counts = buckets;
        row->explicit_bounds = bounds;
        break;
    case OTLP_EXP_HISTOGRAM:
        row->count = (int64_t)raw->count;
        row->has_count = true;
        row->scale = raw->scale;
        row->has_scale = true;
        row->zero_count = (int64_t)raw->zero_count;
        row->has_zero_count = true;
        row->zero_threshold = raw->zero_threshold;
        row->has_zero_threshold = true;
        row->positive_offset = raw->pos_offset;
        row->negative_offset = raw->neg_offset;
        row->has_positive_offset = row->has_negative_offset = true;
        row->positive_bucket_counts = raw->pos;
        row->negative_bucket_counts = raw->neg;
        row->positive_bucket_counts.present = row->negative_bucket_counts.present = true;
        break;
    case OTLP_SUMMARY:
        row->count = (int64_t)raw->count;
        row->has_count = true;
        row->quantiles = q;
        row->nquantiles = nq;
        row->has_quantiles = true;
        break;
    default:
        break;
    }
    if (raw->type >= OTLP_HISTOGRAM) {
        row->sum = raw->sum;
        row->has_sum = raw->has_sum || raw->type == OTLP_SUMMARY;
        row->min = raw->min;
        row->has_min = raw->has_min;
        row->max = raw->max;
        row->has_max = raw->has_max;
    }
    return 0;
}

void otlp__mark(const otlp_st *st, otlp_mark *m)
{
    for (int t = 0; t < IG_TABLE_COUNT_; t++)
        m->rows[t] = st->rows[t].n;
    m->rejected = st->rejected;
}

void otlp__truncate(otlp_st *st, const otlp_mark *m)
{
    for (int t = 0; t < IG_TABLE_COUNT_; t++)
        if (st->rows[t].n > m->rows[t])
            st->rows[t].n = m->rows[t];
    st->rejected = m->rejected;
}

int otlp__data_finish(otlp_st *st, const otlp_mark *m, int type, int32_t temporality,
                      bool has_monotonic, bool monotonic)
{
    otlp_vec *v = &st->rows[IG_TABLE_METRICS];
    ig_metric_row *rows = (ig_metric_row *)v->data;
    ig_str temp = IG_STR_NULL;
    if (type == OTLP_SUM || type == OTLP_HISTOGRAM || type == OTLP_EXP_HISTOGRAM) {
        if (temporality == 1) {
            temp = IG_STR("DELTA");
        } else if (temporality == 2) {
            temp = IG_STR("CUMULATIVE");
        } else {
            for (size_t i = m->rows[IG_TABLE_METRICS]; i < v->n; i++)
                otlp__reject(st, "%s has aggregation_temporality %s", type_names[type],
                             temporality == 0 ? "UNSPECIFIED (0)" : "out of range");
            v->n = m->rows[IG_TABLE_METRICS];
            return 0;
        }
    }
    for (size_t i = m->rows[IG_TABLE_METRICS]; i < v->n; i++) {
        rows[i].aggregation_temporality = temp;
        if (type == OTLP_SUM && has_monotonic) {
            rows[i].is_monotonic = monotonic;
            rows[i].has_is_monotonic = true;
        }
    }
    return 0;
}

int otlp__metric_finish(otlp_st *st, const otlp_mark *m, ig_str name, ig_str description,
                        ig_str unit, const ig_attrs *metadata)
{
    otlp_vec *v = &st->rows[IG_TABLE_METRICS];
    ig_metric_row *rows = (ig_metric_row *)v->data;
    if (name.len == 0 && v->n > m->rows[IG_TABLE_METRICS]) {
        for (size_t i = m->rows[IG_TABLE_METRICS]; i < v->n; i++)
            otlp__reject(st, "metric name is empty");
        v->n = m->rows[IG_TABLE_METRICS];
        return 0;
    }
    for (size_t i = m->rows[IG_TABLE_METRICS]; i < v->n; i++) {
        rows[i].metric_name = name;
        rows[i].description = nonempty(description);
        rows[i].unit = nonempty(unit);
        rows[i].metadata = *metadata;
    }
    return 0;
}

/* The ident of row i of table t (every row type starts with its ig_row_ident). */
static ig_row_ident *row_ident(otlp_vec *v, int t, size_t i)
{
    if (t == IG_TABLE_LOGS || t == IG_TABLE_EVENTS)
        return &((ig_log_row *)otlp__at(v, i))->id;
    if (t == IG_TABLE_SPANS)
        return &((ig_span_row *)otlp__at(v, i))->id;
    return &((ig_metric_row *)otlp__at(v, i))->id;
}

int otlp__scope_finish(otlp_st *st, const otlp_mark *m, ig_str name, ig_str version,
                       const ig_attrs *attrs, ig_str schema_url, uint32_t dropped)
{
    name = nonempty(name);
    version = nonempty(version);
    schema_url = nonempty(schema_url);
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        otlp_vec *v = &st->rows[t];
        for (size_t i = m->rows[t]; i < v->n; i++) {
            ig_row_ident *id = row_ident(v, t, i);
            id->scope_schema_url = schema_url;
            id->scope_dropped_attributes_count = dropped;
            id->has_scope_dropped_attributes_count = dropped != 0;
        }
    }
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        otlp_vec *v = &st->rows[t];
        for (size_t i = m->rows[t]; i < v->n; i++) {
            if (t == IG_TABLE_LOGS || t == IG_TABLE_EVENTS) {
                ig_log_row *r = otlp__at(v, i);
                r->scope_name = name, r->scope_version = version, r->scope_attributes = *attrs;
            } else if (t == IG_TABLE_SPANS) {
                ig_span_row *r = otlp__at(v, i);
                r->scope_name = name, r->scope_version = version, r->scope_attributes = *attrs;
            } else {
                ig_metric_row *r = otlp__at(v, i);
                r->scope_name = name, r->scope_version = version, r->scope_attributes = *attrs;
            }
        }
    }
    return 0;
}

int otlp__resource_finish(otlp_st *st, const otlp_mark *m, const ig_attrs *attrs,
                          ig_str schema_url, uint32_t dropped)
{
    schema_url = nonempty(schema_url);
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        otlp_vec *v = &st->rows[t];
        for (size_t i = m->rows[t]; i < v->n; i++) {
            ig_row_ident *id = row_ident(v, t, i);
            id->resource_schema_url = schema_url;
            id->resource_dropped_attributes_count = dropped;
            id->has_resource_dropped_attributes_count = dropped != 0;
        }
    }
    const ig_attr *a = attrs_find(attrs, "service.name");
    ig_str service = a && a->value.ptr ? a->value : IG_STR("unknown_service");
    a = attrs_find(attrs, "service.instance.id");
    ig_str instance = a ? a->value : IG_STR_NULL;
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        otlp_vec *v = &st->rows[t];
        for (size_t i = m->rows[t]; i < v->n; i++) {
            if (t == IG_TABLE_LOGS || t == IG_TABLE_EVENTS) {
                ig_log_row *r = otlp__at(v, i);
                r->id.service_name = service, r->resource_attributes = *attrs;
            } else if (t == IG_TABLE_SPANS) {
                ig_span_row *r = otlp__at(v, i);
                r->id.service_name = service, r->resource_attributes = *attrs;
            } else {
                ig_metric_row *r = otlp__at(v, i);
                r->id.service_name = service, r->resource_attributes = *attrs;
                r->service_instance_id = instance;
            }
        }
    }
    return 0;
}

/* ---- entry point --------------------------------------------------------------- */

static void st_free(otlp_st *st)
{
    for (int t = 0; t < IG_TABLE_COUNT_; t++)
        ig_free(st->rows[t].data);
    otlp_vec *vs[] = {&st->attrs, &st->sevents, &st->slinks, &st->exemplars,
                      &st->i64s,  &st->f64s,    &st->quants};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        ig_free(vs[i]->data);
    ig_free(st->hset);
    ig_buf_free(&st->tmp);
}

int ig_otlp_decode(ig_signal signal, ig_otlp_encoding encoding, ig_str body,
                   const ig_ingest_ctx *ctx, ig_decode_result *out, ig_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    for (int t = 0; t < IG_TABLE_COUNT_; t++)
        out->rows[t].table = (ig_table_id)t;
    if ((unsigned)signal >= IG_SIGNAL_COUNT_ || !ctx || !ctx->arena ||
        (encoding != IG_OTLP_PROTOBUF && encoding != IG_OTLP_JSON))
        return ig_err(eb, IG_EINVAL, "otlp: invalid arguments");
    otlp_st st;
    memset(&st, 0, sizeof st);
    st.ctx = ctx;
    st.arena = ctx->arena;
    st.signal = signal;
    st.enc = encoding;
    st.eb = eb;
    st.max_attrs = ctx->max_attrs_per_level ? ctx->max_attrs_per_level : IG_OTLP_DEFAULT_MAX_ATTRS;
    st.max_records = ctx->max_records ? ctx->max_records : IG_OTLP_DEFAULT_MAX_RECORDS;
    st.scratch_max = ctx->arena->cap ? ctx->arena->cap : (size_t)1 << 40;
    st.rows[IG_TABLE_LOGS].elem = st.rows[IG_TABLE_EVENTS].elem = sizeof(ig_log_row);
    st.rows[IG_TABLE_SPANS].elem = sizeof(ig_span_row);
    st.rows[IG_TABLE_METRICS].elem = sizeof(ig_metric_row);
    st.attrs.elem = sizeof(ig_attr);
    st.sevents.elem = sizeof(ig_span_event);
    st.slinks.elem = sizeof(ig_span_link);
    st.exemplars.elem = sizeof(ig_exemplar);
    st.i64s.elem = sizeof(int64_t);
    st.f64s.elem = sizeof(double);
    st.quants.elem = sizeof(ig_quantile);
    ig_buf_init(&st.tmp, st.scratch_max);
    if (eb)
        eb->msg[0] = 0;

    int rc =
        encoding == IG_OTLP_PROTOBUF ? otlp__decode_pb(&st, body) : otlp__decode_json(&st, body);
    if (rc < 0) {
        otlp__fail_inner(&st, rc);
    } else {
        for (int t = 0; t < IG_TABLE_COUNT_ && rc >= 0; t++) {
            uint32_t n32;
            otlp_vec *v = &st.rows[t];
            size_t n = v->n;
            if (n == 0)
                continue;
            void *d;
            rc = otlp__alloc(&st, n * v->elem, &d);
            if (rc < 0)
                break;
            memcpy(d, v->data, n * v->elem);
            (void)n32;
            out->rows[t].n = n;
            out->rows[t].u.logs = d;
        }
    }
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        for (int t = 0; t < IG_TABLE_COUNT_; t++)
            out->rows[t].table = (ig_table_id)t;
    } else {
        out->accepted =
            st.rows[IG_TABLE_LOGS].n + st.rows[IG_TABLE_SPANS].n + st.rows[IG_TABLE_METRICS].n;
        out->rejected = st.rejected;
        memcpy(out->reason, st.reason, sizeof out->reason);
        out->bytes = body.len;
    }
    st_free(&st);
    return rc;
}
