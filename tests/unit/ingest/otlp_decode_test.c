/* OTLP decoding (src/ingest/otlp_*.c): JSON and protobuf forms of the same requests give
 * identical rows, exact values against the JSON text, the whole shared corpus, invalid
 * samples with precise messages, partial success, caps and hostile input. The shared
 * corpus is read from $SHARED_DIR/corpus/otlp, default ../shared (cwd = repo root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "icegate/alloc.h"
#include "icegate/otlp.h"
#include "icegate/pb.h"

static const int64_t NOW = 1700000000000000; /* µs */

/* ---- files ------------------------------------------------------------------------ */

static char *corpus_path(const char *rel)
{
    static char p[1024];
    const char *sd = getenv("SHARED_DIR");
    snprintf(p, sizeof p, "%s/corpus/otlp/%s", sd && *sd ? sd : "../shared", rel);
    return p;
}

/* Reads a corpus file (gunzips *.gz); caller frees with ig_free. */
static char *load(const char *rel, size_t *len)
{
    const char *path = corpus_path(rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    ig_buf b;
    ig_buf_init(&b, 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(ig_buf_append(&b, chunk, n), 0);
    fclose(f);
    size_t rl = strlen(rel);
    if (rl > 3 && strcmp(rel + rl - 3, ".gz") == 0) {
        ig_buf out;
        ig_buf_init(&out, 0);
        z_stream z;
        memset(&z, 0, sizeof z);
        assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
        z.next_in = (Bytef *)b.data;
        z.avail_in = (uInt)b.len;
        int zr;
        do {
            z.next_out = (Bytef *)chunk;
            z.avail_out = sizeof chunk;
            zr = inflate(&z, Z_NO_FLUSH);
            assert_true(zr == Z_OK || zr == Z_STREAM_END);
            assert_int_equal(ig_buf_append(&out, chunk, sizeof chunk - z.avail_out), 0);
        } while (zr != Z_STREAM_END);
        inflateEnd(&z);
        ig_buf_free(&b);
        b = out;
    }
    if (!b.data)
        assert_int_equal(ig_buf_reserve(&b, 1), 0);
    *len = b.len;
    return ig_buf_detach(&b, len);
}

/* ---- decoding helpers ---------------------------------------------------------------- */

typedef struct dec {
    ig_arena arena;
    ig_ingest_ctx ctx;
    ig_decode_result res;
    ig_errbuf eb;
    int rc;
} dec;

static void dec_init(dec *d, size_t arena_cap)
{
    memset(d, 0, sizeof *d);
    ig_arena_init(&d->arena, arena_cap);
    d->ctx.tenant_id = IG_STR("t1");
    d->ctx.account_id = IG_STR_NULL;
    d->ctx.now_us = NOW;
    d->ctx.arena = &d->arena;
}

static int dec_run(dec *d, ig_signal s, ig_otlp_encoding e, const void *body, size_t len)
{
    d->rc = ig_otlp_decode(s, e, ig_str_make(body, len), &d->ctx, &d->res, &d->eb);
    return d->rc;
}

static void dec_free(dec *d)
{
    ig_arena_free(&d->arena);
}

/* ---- row comparison ------------------------------------------------------------------ */

static void str_same(ig_str a, ig_str b, const char *what, size_t row)
{
    if (!a.ptr || !b.ptr) {
        if (a.ptr != b.ptr && !(a.ptr == NULL && b.ptr == NULL))
            fail_msg("row %zu %s: one is null (%s vs %s)", row, what, a.ptr ? "set" : "null",
                     b.ptr ? "set" : "null");
        return;
    }
    if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
        fail_msg("row %zu %s: \"%.*s\" vs \"%.*s\"", row, what, (int)a.len, a.ptr, (int)b.len,
                 b.ptr);
}

static void attrs_same(const ig_attrs *a, const ig_attrs *b, const char *what, size_t row)
{
    if (a->n != b->n)
        fail_msg("row %zu %s: %u vs %u entries", row, what, a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++) {
        str_same(a->items[i].key, b->items[i].key, what, row);
        str_same(a->items[i].value, b->items[i].value, what, row);
    }
}

#define NUM_SAME(field)                                                                            \
    do {                                                                                           \
        if (x->field != y->field)                                                                  \
            fail_msg("row %zu " #field " differs", i);                                             \
    } while (0)
#define MEM_SAME(field)                                                                            \
    do {                                                                                           \
        if (memcmp(x->field, y->field, sizeof x->field) != 0)                                      \
            fail_msg("row %zu " #field " differs", i);                                             \
    } while (0)

static void ident_same(const ig_row_ident *a, const ig_row_ident *b, size_t i)
{
    str_same(a->tenant_id, b->tenant_id, "tenant_id", i);
    str_same(a->account_id, b->account_id, "account_id", i);
    str_same(a->service_name, b->service_name, "service_name", i);
}

static void logs_same(const ig_rows *ra, const ig_rows *rb)
{
    assert_int_equal(ra->n, rb->n);
    for (size_t i = 0; i < ra->n; i++) {
        const ig_log_row *x = &ra->u.logs[i], *y = &rb->u.logs[i];
        ident_same(&x->id, &y->id, i);
        NUM_SAME(timestamp_us);
        NUM_SAME(observed_us);
        NUM_SAME(has_observed);
        NUM_SAME(ingested_us);
        NUM_SAME(has_trace_id);
        NUM_SAME(has_span_id);
        MEM_SAME(trace_id);
        MEM_SAME(span_id);
        NUM_SAME(severity_number);
        NUM_SAME(has_severity_number);
        str_same(x->severity_text, y->severity_text, "severity_text", i);
        str_same(x->body, y->body, "body", i);
        str_same(x->event_name, y->event_name, "event_name", i);
        NUM_SAME(flags);
        NUM_SAME(has_flags);
        NUM_SAME(dropped_attributes_count);
        NUM_SAME(has_dropped_attributes_count);
        str_same(x->scope_name, y->scope_name, "scope_name", i);
        str_same(x->scope_version, y->scope_version, "scope_version", i);
        attrs_same(&x->resource_attributes, &y->resource_attributes, "resource_attributes", i);
        attrs_same(&x->scope_attributes, &y->scope_attributes, "scope_attributes", i);
        attrs_same(&x->attributes, &y->attributes, "attributes", i);
        str_same(x->source, y->source, "source", i);
        str_same(x->event_domain, y->event_domain, "event_domain", i);
    }
}

static void spans_same(const ig_rows *ra, const ig_rows *rb)
{
    assert_int_equal(ra->n, rb->n);
    for (size_t i = 0; i < ra->n; i++) {
        const ig_span_row *x = &ra->u.spans[i], *y = &rb->u.spans[i];
        ident_same(&x->id, &y->id, i);
        MEM_SAME(trace_id);
        MEM_SAME(span_id);
        MEM_SAME(parent_span_id);
        NUM_SAME(has_parent_span_id);
        NUM_SAME(timestamp_us);
        NUM_SAME(end_timestamp_us);
        NUM_SAME(ingested_us);
        NUM_SAME(duration_nanos);
        str_same(x->trace_state, y->trace_state, "trace_state", i);
        str_same(x->name, y->name, "name", i);
        NUM_SAME(kind);
        NUM_SAME(has_kind);
        NUM_SAME(status_code);
        NUM_SAME(has_status_code);
        str_same(x->status_message, y->status_message, "status_message", i);
        NUM_SAME(flags);
        NUM_SAME(has_flags);
        NUM_SAME(dropped_attributes_count);
        NUM_SAME(dropped_events_count);
        NUM_SAME(dropped_links_count);
        NUM_SAME(has_dropped_attributes_count);
        NUM_SAME(has_dropped_events_count);
        NUM_SAME(has_dropped_links_count);
        str_same(x->scope_name, y->scope_name, "scope_name", i);
        str_same(x->scope_version, y->scope_version, "scope_version", i);
        attrs_same(&x->resource_attributes, &y->resource_attributes, "resource_attributes", i);
        attrs_same(&x->scope_attributes, &y->scope_attributes, "scope_attributes", i);
        attrs_same(&x->attributes, &y->attributes, "attributes", i);
        NUM_SAME(nevents);
        NUM_SAME(nlinks);
        for (uint32_t k = 0; k < x->nevents; k++) {
            const ig_span_event *ex = &x->events[k], *ey = &y->events[k];
            assert_int_equal(ex->timestamp_us, ey->timestamp_us);
            str_same(ex->name, ey->name, "event name", i);
            attrs_same(&ex->attributes, &ey->attributes, "event attributes", i);
            assert_int_equal(ex->dropped_attributes_count, ey->dropped_attributes_count);
            assert_int_equal(ex->has_dropped_attributes_count, ey->has_dropped_attributes_count);
        }
        for (uint32_t k = 0; k < x->nlinks; k++) {
            const ig_span_link *lx = &x->links[k], *ly = &y->links[k];
            assert_memory_equal(lx->trace_id, ly->trace_id, 16);
            assert_memory_equal(lx->span_id, ly->span_id, 8);
            str_same(lx->trace_state, ly->trace_state, "link trace_state", i);
            attrs_same(&lx->attributes, &ly->attributes, "link attributes", i);
            assert_int_equal(lx->dropped_attributes_count, ly->dropped_attributes_count);
            assert_int_equal(lx->has_dropped_attributes_count, ly->has_dropped_attributes_count);
            assert_int_equal(lx->flags, ly->flags);
            assert_int_equal(lx->has_flags, ly->has_flags);
        }
    }
}

static void i64l_same(const ig_i64_list *a, const ig_i64_list *b, const char *what, size_t i)
{
    if (a->present != b->present || a->n != b->n)
        fail_msg("row %zu %s: presence/length differ", i, what);
    if (a->n && memcmp(a->v, b->v, a->n * sizeof *a->v) != 0)
        fail_msg("row %zu %s: values differ", i, what);
}

static void metrics_same(const ig_rows *ra, const ig_rows *rb)
{
    assert_int_equal(ra->n, rb->n);
    for (size_t i = 0; i < ra->n; i++) {
        const ig_metric_row *x = &ra->u.metrics[i], *y = &rb->u.metrics[i];
        ident_same(&x->id, &y->id, i);
        str_same(x->service_instance_id, y->service_instance_id, "service_instance_id", i);
        NUM_SAME(timestamp_us);
        NUM_SAME(start_timestamp_us);
        NUM_SAME(has_start_timestamp);
        NUM_SAME(ingested_us);
        str_same(x->metric_name, y->metric_name, "metric_name", i);
        str_same(x->metric_type, y->metric_type, "metric_type", i);
        str_same(x->description, y->description, "description", i);
        str_same(x->unit, y->unit, "unit", i);
        str_same(x->aggregation_temporality, y->aggregation_temporality, "aggregation_temporality",
                 i);
        NUM_SAME(is_monotonic);
        NUM_SAME(has_is_monotonic);
        NUM_SAME(has_value_double);
        NUM_SAME(has_value_int);
        NUM_SAME(value_int);
        if (x->has_value_double)
            assert_memory_equal(&x->value_double, &y->value_double, 8);
        NUM_SAME(count);
        NUM_SAME(has_count);
        NUM_SAME(has_sum);
        NUM_SAME(has_min);
        NUM_SAME(has_max);
        assert_memory_equal(&x->sum, &y->sum, 8);
        assert_memory_equal(&x->min, &y->min, 8);
        assert_memory_equal(&x->max, &y->max, 8);
        i64l_same(&x->bucket_counts, &y->bucket_counts, "bucket_counts", i);
        assert_int_equal(x->explicit_bounds.n, y->explicit_bounds.n);
        assert_int_equal(x->explicit_bounds.present, y->explicit_bounds.present);
        if (x->explicit_bounds.n)
            assert_memory_equal(x->explicit_bounds.v, y->explicit_bounds.v,
                                x->explicit_bounds.n * 8);
        NUM_SAME(scale);
        NUM_SAME(has_scale);
        NUM_SAME(zero_count);
        NUM_SAME(has_zero_count);
        assert_memory_equal(&x->zero_threshold, &y->zero_threshold, 8);
        NUM_SAME(has_zero_threshold);
        NUM_SAME(positive_offset);
        NUM_SAME(negative_offset);
        NUM_SAME(has_positive_offset);
        NUM_SAME(has_negative_offset);
        i64l_same(&x->positive_bucket_counts, &y->positive_bucket_counts, "positive", i);
        i64l_same(&x->negative_bucket_counts, &y->negative_bucket_counts, "negative", i);
        NUM_SAME(nquantiles);
        NUM_SAME(has_quantiles);
        if (x->nquantiles)
            assert_memory_equal(x->quantiles, y->quantiles, x->nquantiles * sizeof *x->quantiles);
        NUM_SAME(flags);
        NUM_SAME(has_flags);
        NUM_SAME(nexemplars);
        for (uint32_t k = 0; k < x->nexemplars; k++) {
            const ig_exemplar *ex = &x->exemplars[k], *ey = &y->exemplars[k];
            assert_int_equal(ex->timestamp_us, ey->timestamp_us);
            assert_int_equal(ex->has_timestamp, ey->has_timestamp);
            assert_int_equal(ex->has_value_double, ey->has_value_double);
            assert_int_equal(ex->has_value_int, ey->has_value_int);
            assert_int_equal(ex->value_int, ey->value_int);
            assert_memory_equal(&ex->value_double, &ey->value_double, 8);
            assert_int_equal(ex->has_span_id, ey->has_span_id);
            assert_int_equal(ex->has_trace_id, ey->has_trace_id);
            assert_memory_equal(ex->span_id, ey->span_id, 8);
            assert_memory_equal(ex->trace_id, ey->trace_id, 16);
            attrs_same(&ex->attributes, &ey->attributes, "exemplar attributes", i);
        }
        attrs_same(&x->metadata, &y->metadata, "metadata", i);
        str_same(x->scope_name, y->scope_name, "scope_name", i);
        str_same(x->scope_version, y->scope_version, "scope_version", i);
        attrs_same(&x->resource_attributes, &y->resource_attributes, "resource_attributes", i);
        attrs_same(&x->scope_attributes, &y->scope_attributes, "scope_attributes", i);
        attrs_same(&x->attributes, &y->attributes, "attributes", i);
    }
}

static void results_same(const ig_decode_result *a, const ig_decode_result *b)
{
    assert_int_equal(a->accepted, b->accepted);
    assert_int_equal(a->rejected, b->rejected);
    logs_same(&a->rows[IG_TABLE_LOGS], &b->rows[IG_TABLE_LOGS]);
    logs_same(&a->rows[IG_TABLE_EVENTS], &b->rows[IG_TABLE_EVENTS]);
    spans_same(&a->rows[IG_TABLE_SPANS], &b->rows[IG_TABLE_SPANS]);
    metrics_same(&a->rows[IG_TABLE_METRICS], &b->rows[IG_TABLE_METRICS]);
}

/* Decodes `json` and `pb` (corpus names) and requires identical rows; returns the number
 * of records. */
static uint64_t check_pair(ig_signal s, const char *json, const char *pb)
{
    size_t jl, pl;
    char *jb = load(json, &jl), *pbb = load(pb, &pl);
    dec a, b;
    dec_init(&a, 64u << 20);
    dec_init(&b, 64u << 20);
    if (dec_run(&a, s, IG_OTLP_JSON, jb, jl) != 0)
        fail_msg("%s: %s", json, a.eb.msg);
    if (dec_run(&b, s, IG_OTLP_PROTOBUF, pbb, pl) != 0)
        fail_msg("%s: %s", pb, b.eb.msg);
    results_same(&a.res, &b.res);
    uint64_t n = a.res.accepted;
    assert_true(n > 0);
    dec_free(&a);
    dec_free(&b);
    ig_free(jb);
    ig_free(pbb);
    return n;
}

static void test_pairs_identical(void **state)
{
    (void)state;
    check_pair(IG_SIGNAL_LOGS, "proto-examples-logs.json", "proto-examples-logs.pb");
    check_pair(IG_SIGNAL_LOGS, "proto-examples-logs.json.gz", "proto-examples-logs.pb.gz");
    check_pair(IG_SIGNAL_LOGS, "proto-examples-logs.json", "proto-examples-logs.pb.gz");
    check_pair(IG_SIGNAL_TRACES, "proto-examples-trace.json", "proto-examples-trace.pb");
    check_pair(IG_SIGNAL_TRACES, "proto-examples-trace.json.gz", "proto-examples-trace.pb.gz");
    check_pair(IG_SIGNAL_METRICS, "proto-examples-metrics.json", "proto-examples-metrics.pb");
    check_pair(IG_SIGNAL_LOGS, "collector-pdata-logs.json", "collector-pdata-logs.pb");
    check_pair(IG_SIGNAL_TRACES, "collector-pdata-traces.json", "collector-pdata-traces.pb");
}

static const ig_attr *attr(const ig_attrs *a, const char *key)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (ig_str_eq_cstr(a->items[i].key, key))
            return &a->items[i];
    return NULL;
}

static void assert_attr(const ig_attrs *a, const char *key, const char *value)
{
    const ig_attr *x = attr(a, key);
    if (!x)
        fail_msg("attribute %s missing", key);
    if (!value) {
        assert_null(x->value.ptr);
        return;
    }
    if (!x->value.ptr || !ig_str_eq_cstr(x->value, value))
        fail_msg("attribute %s: \"%.*s\", want \"%s\"", key, (int)x->value.len,
                 x->value.ptr ? x->value.ptr : "", value);
}

static void assert_str(ig_str s, const char *want)
{
    if (!want) {
        assert_null(s.ptr);
        return;
    }
    if (!s.ptr || !ig_str_eq_cstr(s, want))
        fail_msg("\"%.*s\", want \"%s\"", (int)s.len, s.ptr ? s.ptr : "(null)", want);
}

static void test_logs_values(void **state)
{
    (void)state;
    static const ig_otlp_encoding encs[] = {IG_OTLP_JSON, IG_OTLP_PROTOBUF};
    static const char *const files[] = {"proto-examples-logs.json", "proto-examples-logs.pb"};
    for (int e = 0; e < 2; e++) {
        size_t len;
        char *body = load(files[e], &len);
        dec d;
        dec_init(&d, 1u << 20);
        assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, encs[e], body, len), 0);
        assert_int_equal(d.res.accepted, 1);
        assert_int_equal(d.res.rejected, 0);
        assert_int_equal(d.res.rows[IG_TABLE_LOGS].n, 1);
        assert_int_equal(d.res.rows[IG_TABLE_EVENTS].n, 0);
        const ig_log_row *r = &d.res.rows[IG_TABLE_LOGS].u.logs[0];
        assert_str(r->id.tenant_id, "t1");
        assert_null(r->id.account_id.ptr);
        assert_str(r->id.service_name, "my.service");
        assert_int_equal(r->timestamp_us, 1544712660300000);
        assert_true(r->has_observed);
        assert_int_equal(r->observed_us, 1544712660300000);
        assert_int_equal(r->ingested_us, NOW);
        assert_true(r->has_severity_number);
        assert_int_equal(r->severity_number, 10);
        assert_str(r->severity_text, "Information");
        assert_true(r->has_trace_id);
        assert_memory_equal(r->trace_id,
                            "\x5B\x8E\xFF\xF7\x98\x03\x81\x03\xD2\x69\xB6\x33\x81\x3F\xC6\x0C", 16);
        assert_true(r->has_span_id);
        assert_memory_equal(r->span_id, "\xEE\xE1\x9B\x7E\xC3\xC1\xB1\x74", 8);
        assert_str(r->body, "Example log record");
        assert_null(r->event_name.ptr);
        assert_false(r->has_flags);
        assert_false(r->has_dropped_attributes_count);
        assert_str(r->scope_name, "my.library");
        assert_str(r->scope_version, "1.0.0");
        assert_str(r->source, "otlp");
        assert_int_equal(r->resource_attributes.n, 1);
        assert_attr(&r->resource_attributes, "service.name", "my.service");
        assert_attr(&r->scope_attributes, "my.scope.attribute", "some scope attribute");
        assert_int_equal(r->attributes.n, 6);
        assert_attr(&r->attributes, "string.attribute", "some string");
        assert_attr(&r->attributes, "boolean.attribute", "true");
        assert_attr(&r->attributes, "int.attribute", "10");
        assert_attr(&r->attributes, "double.attribute", "637.704");
        assert_attr(&r->attributes, "array.attribute", "[\"many\",\"values\"]");
        assert_attr(&r->attributes, "map.attribute", "{\"some.map.key\":\"some value\"}");
        assert_true(d.res.bytes == len);
        dec_free(&d);
        ig_free(body);
    }
}

static void test_events(void **state)
{
    (void)state;
    size_t len;
    char *body = load("proto-examples-events.json", &len);
    dec d;
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_JSON, body, len), 0);
    assert_int_equal(d.res.rows[IG_TABLE_LOGS].n, 1);
    assert_int_equal(d.res.rows[IG_TABLE_EVENTS].n, 1);
    const ig_log_row *e = &d.res.rows[IG_TABLE_EVENTS].u.logs[0];
    assert_str(e->event_name, "browser.page_view");
    assert_str(e->event_domain, "browser");
    assert_str(e->id.service_name, "my.service");
    assert_str(e->scope_name, "my.library");
    assert_str(
        e->body,
        "{\"type\":0,\"url\":\"https://www.guidgenerator.com/online-guid-generator.aspx\","
        "\"referrer\":\"https://wwww.google.com\",\"title\":\"Free Online GUID Generator\"}");
    assert_str(d.res.rows[IG_TABLE_LOGS].u.logs[0].event_name, "browser.page_view");
    dec_free(&d);
    ig_free(body);

    /* collector fixture: eventName without a dot → no domain; flags, dropped counts */
    body = load("collector-pdata-logs.json", &len);
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_JSON, body, len), 0);
    const ig_log_row *r = &d.res.rows[IG_TABLE_LOGS].u.logs[0];
    assert_str(r->id.service_name, "unknown_service");
    assert_int_equal(r->flags, 1);
    assert_true(r->has_flags);
    assert_int_equal(r->dropped_attributes_count, 1);
    assert_int_equal(r->severity_number, 17);
    assert_int_equal(r->timestamp_us, 1684617382541971);
    assert_int_equal(r->observed_us, 1684623646539558);
    assert_str(r->scope_name, "name");
    assert_int_equal(d.res.rows[IG_TABLE_EVENTS].n, 1);
    assert_str(d.res.rows[IG_TABLE_EVENTS].u.logs[0].event_name, "someEvent");
    assert_null(d.res.rows[IG_TABLE_EVENTS].u.logs[0].event_domain.ptr);
    dec_free(&d);
    ig_free(body);
}

static void test_traces_values(void **state)
{
    (void)state;
    size_t len;
    char *body = load("collector-pdata-traces.pb", &len);
    dec d;
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_TRACES, IG_OTLP_PROTOBUF, body, len), 0);
    assert_int_equal(d.res.rows[IG_TABLE_SPANS].n, 1);
    const ig_span_row *s = &d.res.rows[IG_TABLE_SPANS].u.spans[0];
    assert_str(s->id.service_name, "testService");
    assert_memory_equal(s->trace_id,
                        "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
    assert_memory_equal(s->span_id, "\x11\x12\x13\x14\x15\x16\x17\x18", 8);
    assert_true(s->has_parent_span_id);
    assert_str(s->trace_state, "state");
    assert_str(s->name, "testSpan");
    assert_int_equal(s->kind, 3);
    assert_int_equal(s->flags, 1);
    assert_int_equal(s->timestamp_us, 1684617382541971);
    assert_int_equal(s->end_timestamp_us, 1684623646539558);
    assert_int_equal(s->duration_nanos, 1684623646539558000 - 1684617382541971000);
    assert_attr(&s->attributes, "string", "value");
    assert_attr(&s->attributes, "bool", "true");
    assert_attr(&s->attributes, "int", "1");
    assert_attr(&s->attributes, "double", "1.1");
    assert_attr(&s->attributes, "bytes", "Zm9v");
    assert_attr(&s->attributes, "array", "[1,\"str\"]");
    assert_attr(&s->attributes, "kvList", "{\"int\":1,\"string\":\"string\"}");
    assert_int_equal(s->dropped_attributes_count, 1);
    assert_int_equal(s->dropped_events_count, 1);
    assert_int_equal(s->nevents, 1);
    assert_str(s->events[0].name, "eventName");
    assert_int_equal(s->events[0].timestamp_us, 1684620382541971);
    assert_attr(&s->events[0].attributes, "bytes", "Zm9v");
    assert_true(s->nlinks >= 1);
    assert_str(s->scope_name, "scope name");
    assert_str(s->scope_version, "scope version");
    dec_free(&d);
    ig_free(body);
}

static void test_metrics_values(void **state)
{
    (void)state;
    size_t len;
    char *body = load("proto-examples-metrics.pb", &len);
    dec d;
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_METRICS, IG_OTLP_PROTOBUF, body, len), 0);
    assert_int_equal(d.res.rejected, 0);
    const ig_rows *rows = &d.res.rows[IG_TABLE_METRICS];
    assert_true(rows->n >= 4);
    const ig_metric_row *m = &rows->u.metrics[0];
    assert_str(m->metric_name, "my.counter");
    assert_str(m->metric_type, "sum");
    assert_str(m->aggregation_temporality, "DELTA");
    assert_true(m->has_is_monotonic && m->is_monotonic);
    assert_true(m->has_value_double && m->value_double == 5.0);
    assert_str(m->description, "I am a Counter");
    assert_str(m->unit, "1");
    assert_attr(&m->attributes, "my.counter.attr", "some value");
    m = &rows->u.metrics[1];
    assert_str(m->metric_type, "gauge");
    assert_null(m->aggregation_temporality.ptr);
    assert_false(m->has_is_monotonic);
    assert_false(m->has_start_timestamp);
    m = &rows->u.metrics[2];
    assert_str(m->metric_type, "histogram");
    assert_int_equal(m->count, 2);
    assert_int_equal(m->bucket_counts.n, 2);
    assert_int_equal(m->explicit_bounds.n, 1);
    assert_true(m->explicit_bounds.v[0] == 1.0);
    assert_true(m->has_min && m->has_max && m->max == 2.0);
    m = &rows->u.metrics[3];
    assert_str(m->metric_type, "exponential_histogram");
    assert_int_equal(m->zero_count, 1);
    assert_int_equal(m->positive_offset, 1);
    assert_int_equal(m->positive_bucket_counts.n, 2);
    assert_int_equal(m->positive_bucket_counts.v[1], 2);
    assert_true(m->negative_bucket_counts.present);
    assert_int_equal(m->negative_bucket_counts.n, 0);
    dec_free(&d);
    ig_free(body);
}

/* ---- otlp2parquet corpus ----------------------------------------------------------- */

static void decode_ok(ig_signal s, ig_otlp_encoding e, const char *buf, size_t len,
                      const char *what)
{
    dec d;
    dec_init(&d, 64u << 20);
    if (dec_run(&d, s, e, buf, len) != 0)
        fail_msg("%s: %s", what, d.eb.msg);
    assert_true(d.res.accepted + d.res.rejected > 0);
    dec_free(&d);
}

static void test_otlp2parquet(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        ig_signal s;
    } files[] = {
        {"log.json", IG_SIGNAL_LOGS},
        {"logs.pb", IG_SIGNAL_LOGS},
        {"trace.json", IG_SIGNAL_TRACES},
        {"trace.pb", IG_SIGNAL_TRACES},
        {"traces.pb", IG_SIGNAL_TRACES},
        {"metrics_exponential_histogram.json", IG_SIGNAL_METRICS},
        {"metrics_exponential_histogram.pb", IG_SIGNAL_METRICS},
        {"metrics_gauge.json", IG_SIGNAL_METRICS},
        {"metrics_gauge.pb", IG_SIGNAL_METRICS},
        {"metrics_histogram.json", IG_SIGNAL_METRICS},
        {"metrics_histogram.pb", IG_SIGNAL_METRICS},
        {"metrics_mixed.json", IG_SIGNAL_METRICS},
        {"metrics_mixed.pb", IG_SIGNAL_METRICS},
        {"metrics_sum.json", IG_SIGNAL_METRICS},
        {"metrics_sum.pb", IG_SIGNAL_METRICS},
        {"metrics_summary.json", IG_SIGNAL_METRICS},
        {"metrics_summary.pb", IG_SIGNAL_METRICS},
    };
    char rel[256];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(rel, sizeof rel, "otlp2parquet/%s", files[i].f);
        size_t len;
        char *b = load(rel, &len);
        bool json = strstr(files[i].f, ".json") != NULL;
        decode_ok(files[i].s, json ? IG_OTLP_JSON : IG_OTLP_PROTOBUF, b, len, rel);
        ig_free(b);
    }
    /* JSON lines: one request per line */
    static const struct {
        const char *f;
        ig_signal s;
    } lines[] = {{"otlp2parquet/logs.jsonl", IG_SIGNAL_LOGS},
                 {"otlp2parquet/traces.jsonl", IG_SIGNAL_TRACES}};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        char *b = load(lines[i].f, &len);
        size_t start = 0, nreq = 0;
        for (size_t p = 0; p <= len; p++) {
            if (p == len || b[p] == '\n') {
                if (p > start) {
                    decode_ok(lines[i].s, IG_OTLP_JSON, b + start, p - start, lines[i].f);
                    nreq++;
                }
                start = p + 1;
            }
        }
        assert_true(nreq > 10);
        ig_free(b);
    }
    /* the otlp2parquet JSON and protobuf files hold the same data: identical rows */
    check_pair(IG_SIGNAL_METRICS, "otlp2parquet/metrics_gauge.json",
               "otlp2parquet/metrics_gauge.pb");
    check_pair(IG_SIGNAL_METRICS, "otlp2parquet/metrics_sum.json", "otlp2parquet/metrics_sum.pb");
    check_pair(IG_SIGNAL_METRICS, "otlp2parquet/metrics_histogram.json",
               "otlp2parquet/metrics_histogram.pb");
    check_pair(IG_SIGNAL_METRICS, "otlp2parquet/metrics_summary.json",
               "otlp2parquet/metrics_summary.pb");
    check_pair(IG_SIGNAL_METRICS, "otlp2parquet/metrics_mixed.json",
               "otlp2parquet/metrics_mixed.pb");
    check_pair(IG_SIGNAL_TRACES, "otlp2parquet/trace.json", "otlp2parquet/trace.pb");
}

static void test_invalid_corpus(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        ig_signal s;
        const char *must1, *must2;
    } inv[] = {
        {"log_invalid_severity.json", IG_SIGNAL_LOGS, "severityNumber", "INVALID_SEVERITY_VALUE"},
        {"malformed.json", IG_SIGNAL_LOGS, "json", "byte"},
        {"metrics_invalid_temporality.json", IG_SIGNAL_METRICS, "aggregationTemporality",
         "INVALID_TEMPORALITY_VALUE"},
        {"trace_invalid_base64.json", IG_SIGNAL_TRACES, "spans[0].traceId", "!!!INVALID_BASE64!!!"},
        {"trace_invalid_kind.json", IG_SIGNAL_TRACES, "spans[0].kind", "SPAN_KIND_INVALID_TYPE"},
        {"trace_mixed_encoding.json", IG_SIGNAL_TRACES, "traceId", "zzz"},
    };
    char rel[256];
    for (size_t i = 0; i < sizeof inv / sizeof inv[0]; i++) {
        snprintf(rel, sizeof rel, "otlp2parquet/invalid/%s", inv[i].f);
        size_t len;
        char *b = load(rel, &len);
        dec d;
        dec_init(&d, 1u << 20);
        int rc = dec_run(&d, inv[i].s, IG_OTLP_JSON, b, len);
        if (rc >= 0)
            fail_msg("%s was accepted", rel);
        if (!strstr(d.eb.msg, inv[i].must1) || !strstr(d.eb.msg, inv[i].must2))
            fail_msg("%s: message \"%s\" should mention %s and %s", rel, d.eb.msg, inv[i].must1,
                     inv[i].must2);
        assert_int_equal(d.res.accepted, 0);
        assert_int_equal(d.res.rows[IG_TABLE_SPANS].n, 0);
        dec_free(&d);
        ig_free(b);
    }
}

/* ---- building protobuf requests ---------------------------------------------------- */

static void put_kv_str(pb_writer *w, uint32_t field, const char *k, const char *v)
{
    pb_put_begin(w, field);
    pb_put_bytes(w, 1, ig_str_from(k));
    pb_put_begin(w, 2);
    pb_put_bytes(w, 1, ig_str_from(v));
    pb_put_end(w);
    pb_put_end(w);
}

/* ExportTraceServiceRequest with the given spans (each a callback writing Span fields). */
typedef void (*span_fn)(pb_writer *w);

static void span_ok(pb_writer *w)
{
    pb_put_bytes(
        w, 1, ig_str_make("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
    pb_put_bytes(w, 2, ig_str_make("\x11\x12\x13\x14\x15\x16\x17\x18", 8));
    pb_put_bytes(w, 5, IG_STR("ok"));
    pb_put_fixed64(w, 7, 2000000000000000000ull);
    pb_put_fixed64(w, 8, 2000000000000001500ull);
    put_kv_str(w, 9, "a", "b");
}
static void span_zero_trace(pb_writer *w)
{
    pb_put_bytes(w, 1, ig_str_make("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16));
    pb_put_bytes(w, 2, ig_str_make("\x11\x12\x13\x14\x15\x16\x17\x18", 8));
    pb_put_fixed64(w, 7, 2000000000000000000ull);
}
static void span_short_span_id(pb_writer *w)
{
    pb_put_bytes(
        w, 1, ig_str_make("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
    pb_put_bytes(w, 2, ig_str_make("\x11\x12\x13", 3));
    pb_put_fixed64(w, 7, 2000000000000000000ull);
}
static void span_no_start(pb_writer *w)
{
    pb_put_bytes(
        w, 1, ig_str_make("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
    pb_put_bytes(w, 2, ig_str_make("\x11\x12\x13\x14\x15\x16\x17\x18", 8));
    put_kv_str(w, 9, "a", "b");
}
static void span_bad_link(pb_writer *w)
{
    span_ok(w);
    pb_put_begin(w, 13); /* link with all-zero ids: dropped, counted */
    pb_put_bytes(w, 1, ig_str_make("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16));
    pb_put_bytes(w, 2, ig_str_make("\x11\x12\x13\x14\x15\x16\x17\x18", 8));
    pb_put_end(w);
    pb_put_varint(w, 14, 2); /* dropped_links_count */
}

static void build_traces(ig_buf *out, span_fn *spans, size_t n)
{
    pb_writer w;
    ig_buf_init(out, 0);
    pb_writer_init(&w, out);
    pb_put_begin(&w, 1); /* ResourceSpans */
    pb_put_begin(&w, 2); /* ScopeSpans (before the resource: order must not matter) */
    for (size_t i = 0; i < n; i++) {
        pb_put_begin(&w, 2);
        spans[i](&w);
        pb_put_end(&w);
    }
    pb_put_end(&w);
    pb_put_begin(&w, 1); /* Resource */
    put_kv_str(&w, 1, "service.name", "svc");
    pb_put_end(&w);
    pb_put_end(&w);
    assert_int_equal(pb_writer_finish(&w), 0);
}

static void test_partial_spans(void **state)
{
    (void)state;
    span_fn spans[] = {span_ok, span_zero_trace, span_short_span_id, span_no_start, span_bad_link};
    ig_buf b;
    build_traces(&b, spans, 5);
    dec d;
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_TRACES, IG_OTLP_PROTOBUF, b.data, b.len), 0);
    assert_int_equal(d.res.accepted, 2);
    assert_int_equal(d.res.rejected, 3);
    assert_non_null(strstr(d.res.reason, "resourceSpans[0].scopeSpans[0].spans[1]"));
    assert_non_null(strstr(d.res.reason, "trace_id is all zero"));
    const ig_span_row *s = d.res.rows[IG_TABLE_SPANS].u.spans;
    assert_str(s[0].id.service_name, "svc");
    assert_int_equal(s[0].duration_nanos, 1500);
    assert_int_equal(s[0].timestamp_us, 2000000000000000);
    assert_int_equal(s[0].end_timestamp_us, 2000000000000001);
    assert_false(s[0].has_kind);
    assert_true(s[0].has_status_code);
    assert_int_equal(s[0].status_code, 0);
    assert_false(s[0].has_dropped_links_count);
    assert_int_equal(s[1].nlinks, 0);
    assert_int_equal(s[1].dropped_links_count, 3);
    ig_buf_free(&b);
    dec_free(&d);

    /* the individual reasons */
    span_fn one[1];
    static const struct {
        span_fn f;
        const char *why;
    } cases[] = {{span_short_span_id, "span_id has the wrong length (3 bytes"},
                 {span_no_start, "start_time_unix_nano is missing"}};
    for (size_t i = 0; i < 2; i++) {
        one[0] = cases[i].f;
        build_traces(&b, one, 1);
        dec_init(&d, 1u << 20);
        assert_int_equal(dec_run(&d, IG_SIGNAL_TRACES, IG_OTLP_PROTOBUF, b.data, b.len), 0);
        assert_int_equal(d.res.accepted, 0);
        assert_int_equal(d.res.rejected, 1);
        if (!strstr(d.res.reason, cases[i].why))
            fail_msg("reason \"%s\" lacks \"%s\"", d.res.reason, cases[i].why);
        ig_buf_free(&b);
        dec_free(&d);
    }
}

/* Metric with one data field; `pts` writes the data message body. */
static void put_metric(pb_writer *w, const char *name, uint32_t data_field,
                       void (*data)(pb_writer *))
{
    pb_put_begin(w, 2);
    pb_put_bytes(w, 1, ig_str_from(name));
    pb_put_begin(w, data_field);
    data(w);
    pb_put_end(w);
    pb_put_end(w);
}

static void sum_unspecified(pb_writer *w)
{
    for (int i = 0; i < 2; i++) {
        pb_put_begin(w, 1);
        pb_put_fixed64(w, 3, 2000000000000000000ull);
        pb_put_double(w, 4, 1.5);
        pb_put_end(w);
    }
}
static void sum_delta(pb_writer *w)
{
    pb_put_begin(w, 1);
    pb_put_fixed64(w, 3, 2000000000000000000ull);
    pb_put_fixed64(w, 6, (uint64_t)-7);
    pb_put_end(w);
    pb_put_begin(w, 1); /* no value */
    pb_put_fixed64(w, 3, 2000000000000000000ull);
    pb_put_end(w);
    pb_put_begin(w, 1); /* no time */
    pb_put_double(w, 4, 1.0);
    pb_put_end(w);
    pb_put_varint(w, 2, 1);
    pb_put_bool(w, 3, true);
}
static void hist_mismatch(pb_writer *w)
{
    pb_put_varint(w, 2, 2);
    pb_put_begin(w, 1);
    pb_put_fixed64(w, 3, 2000000000000000000ull);
    pb_put_begin(w, 6); /* 2 bucket counts */
    pb_put_raw_fixed64(w, 1);
    pb_put_raw_fixed64(w, 2);
    pb_put_end(w);
    pb_put_begin(w, 7); /* 2 bounds: want 3 counts */
    pb_put_raw_fixed64(w, 0);
    pb_put_raw_fixed64(w, 0);
    pb_put_end(w);
    pb_put_end(w);
    pb_put_begin(w, 1); /* both empty: fine */
    pb_put_fixed64(w, 3, 2000000000000000000ull);
    pb_put_fixed64(w, 4, 5);
    pb_put_end(w);
}

static void test_partial_metrics(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 0);
    pb_writer w;
    pb_writer_init(&w, &b);
    pb_put_begin(&w, 1);
    pb_put_begin(&w, 2);
    put_metric(&w, "unspec", 7, sum_unspecified);
    put_metric(&w, "delta", 7, sum_delta);
    put_metric(&w, "hist", 9, hist_mismatch);
    pb_put_end(&w);
    pb_put_end(&w);
    assert_int_equal(pb_writer_finish(&w), 0);
    dec d;
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_METRICS, IG_OTLP_PROTOBUF, b.data, b.len), 0);
    assert_int_equal(d.res.rejected, 2 + 2 + 1);
    assert_int_equal(d.res.accepted, 2);
    assert_non_null(strstr(d.res.reason, "metrics[0].sum"));
    assert_non_null(strstr(d.res.reason, "aggregation_temporality UNSPECIFIED"));
    const ig_metric_row *m = d.res.rows[IG_TABLE_METRICS].u.metrics;
    assert_str(m[0].metric_name, "delta");
    assert_true(m[0].has_value_int);
    assert_int_equal(m[0].value_int, -7);
    assert_str(m[0].aggregation_temporality, "DELTA");
    assert_true(m[0].is_monotonic);
    assert_str(m[0].id.service_name, "unknown_service");
    assert_str(m[1].metric_name, "hist");
    assert_int_equal(m[1].count, 5);
    assert_true(m[1].bucket_counts.present);
    assert_int_equal(m[1].bucket_counts.n, 0);
    assert_str(m[1].aggregation_temporality, "CUMULATIVE");
    ig_buf_free(&b);
    dec_free(&d);
}

/* ---- hostile input ----------------------------------------------------------------- */

static void test_truncated_pb(void **state)
{
    (void)state;
    static const struct {
        const char *f;
        ig_signal s;
    } files[] = {{"proto-examples-logs.pb", IG_SIGNAL_LOGS},
                 {"collector-pdata-traces.pb", IG_SIGNAL_TRACES},
                 {"proto-examples-metrics.pb", IG_SIGNAL_METRICS}};
    for (size_t f = 0; f < 3; f++) {
        size_t len;
        char *b = load(files[f].f, &len);
        size_t fails = 0;
        for (size_t cut = 0; cut < len; cut++) {
            char *copy = ig_malloc(cut + 1);
            memcpy(copy, b, cut);
            dec d;
            dec_init(&d, 1u << 20);
            int rc = dec_run(&d, files[f].s, IG_OTLP_PROTOBUF, copy, cut);
            if (rc < 0) {
                fails++;
                assert_true(rc == IG_ECORRUPT || rc == IG_EINVAL);
                assert_non_null(strstr(d.eb.msg, "protobuf"));
            }
            dec_free(&d);
            ig_free(copy);
        }
        assert_true(fails > len / 2);
        /* flip every byte: never crashes, errors carry a message */
        for (size_t i = 0; i < len; i++) {
            char *copy = ig_malloc(len);
            memcpy(copy, b, len);
            copy[i] = (char)(copy[i] ^ 0x5a);
            dec d;
            dec_init(&d, 1u << 20);
            if (dec_run(&d, files[f].s, IG_OTLP_PROTOBUF, copy, len) < 0)
                assert_true(strlen(d.eb.msg) > 10);
            dec_free(&d);
            ig_free(copy);
        }
        ig_free(b);
    }
    dec d;
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_PROTOBUF, "\x0a\x01\x12", 3), IG_ECORRUPT);
    assert_non_null(strstr(d.eb.msg, "logs protobuf: resourceLogs[0]"));
    dec_free(&d);
    /* empty body = empty request */
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_PROTOBUF, "", 0), 0);
    assert_int_equal(d.res.accepted, 0);
    dec_free(&d);
}

static void test_invalid_utf8_pb(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 0);
    pb_writer w;
    pb_writer_init(&w, &b);
    pb_put_begin(&w, 1);
    pb_put_begin(&w, 2);
    pb_put_begin(&w, 2); /* LogRecord */
    pb_put_fixed64(&w, 1, 1);
    put_kv_str(&w, 6, "ok", "fine");
    put_kv_str(&w, 6, "bad", "\xff\xfe");
    pb_put_end(&w);
    pb_put_end(&w);
    pb_put_end(&w);
    assert_int_equal(pb_writer_finish(&w), 0);
    dec d;
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_PROTOBUF, b.data, b.len), IG_ECORRUPT);
    assert_non_null(strstr(d.eb.msg, "logRecords[0].attributes[1]"));
    assert_non_null(strstr(d.eb.msg, "UTF-8"));
    dec_free(&d);
    ig_buf_free(&b);
}

static void expect_json_error(ig_signal s, const char *json, int code, const char *must)
{
    dec d;
    dec_init(&d, 1u << 20);
    int rc = dec_run(&d, s, IG_OTLP_JSON, json, strlen(json));
    if (rc != code || !strstr(d.eb.msg, must))
        fail_msg("%s: rc %d msg \"%s\", want %d and \"%s\"", json, rc, d.eb.msg, code, must);
    dec_free(&d);
}

static void test_json_errors(void **state)
{
    (void)state;
    expect_json_error(
        IG_SIGNAL_LOGS,
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":true}]}]}]}",
        IG_ECORRUPT, "resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano");
    expect_json_error(IG_SIGNAL_LOGS,
                      "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":\"x\"}]}]}]}",
                      IG_ECORRUPT, "logRecords[0].body");
    expect_json_error(IG_SIGNAL_LOGS, "{\"resourceLogs\":{}}", IG_ECORRUPT, "expected array");
    expect_json_error(IG_SIGNAL_LOGS, "[1]", IG_ECORRUPT, "expected object");
    expect_json_error(IG_SIGNAL_LOGS, "{\"resourceLogs\":[]} x", IG_ECORRUPT, "byte");
    expect_json_error(
        IG_SIGNAL_LOGS,
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"spanId\":\"0102\"}]}]}]}",
        IG_EINVAL, "spanId");
    expect_json_error(
        IG_SIGNAL_LOGS,
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"flags\":4294967296}]}]}]}",
        IG_EINVAL, "out of range for uint32");
    expect_json_error(IG_SIGNAL_TRACES,
                      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"status\":{\"code\":"
                      "\"STATUS_CODE_BAD\"}}]}]}]}",
                      IG_EINVAL, "spans[0].status.code: unknown status code");
    expect_json_error(IG_SIGNAL_LOGS,
                      "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{"
                      "\"bytesValue\":\"!!\"}}]}}]}",
                      IG_EINVAL,
                      "resource.attributes[0].bytesValue: bytes value is not valid base64");
    expect_json_error(IG_SIGNAL_LOGS,
                      "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{"
                      "\"stringValue\":\"\xc3\"}}]}}]}",
                      IG_ECORRUPT, "UTF-8");
}

static void test_json_lenient(void **state)
{
    (void)state;
    /* snake_case, lower/upper hex, ints as numbers, enum names, null members, unknown fields,
     * duplicate keys (last wins), attribute with no value, value before key in a kvlist. */
    const char *j = "{\"resource_logs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
                    "\"value\":{\"intValue\":7}}]},"
                    "\"scope_logs\":[{\"unknown\":[1,{\"a\":null}],\"log_records\":[{\"time_unix_"
                    "nano\":1000000000,"
                    "\"severity_number\":\"SEVERITY_NUMBER_WARN\",\"trace_id\":"
                    "\"5b8efff798038103D269B633813FC60C\","
                    "\"span_id\":\"\",\"flags\":null,\"body\":{\"arrayValue\":{\"values\":[{"
                    "\"doubleValue\":\"NaN\"},"
                    "{\"bytesValue\":\"Zm9v\"},{},{\"kvlistValue\":{\"values\":[{\"value\":{"
                    "\"boolValue\":false},\"key\":\"b\"},"
                    "{\"key\":\"n\"}]}}]}},\"attributes\":[{\"key\":\"d\",\"value\":{"
                    "\"stringValue\":\"1\"}},{\"key\":\"e\"},"
                    "{\"key\":\"d\",\"value\":{\"doubleValue\":1e300}},{\"key\":\"event.name\","
                    "\"value\":{\"stringValue\":\"x.y\"}},"
                    "{\"key\":\"event.domain\",\"value\":{\"stringValue\":\"dom\"}}]}]}]}]}";
    dec d;
    dec_init(&d, 1u << 20);
    if (dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_JSON, j, strlen(j)) != 0)
        fail_msg("%s", d.eb.msg);
    const ig_log_row *r = &d.res.rows[IG_TABLE_LOGS].u.logs[0];
    assert_str(r->id.service_name, "7");
    assert_int_equal(r->timestamp_us, 1000000);
    assert_int_equal(r->severity_number, 13);
    assert_true(r->has_trace_id);
    assert_false(r->has_span_id);
    assert_false(r->has_flags);
    assert_str(r->body, "[\"NaN\",\"Zm9v\",null,{\"b\":false,\"n\":null}]");
    assert_int_equal(r->attributes.n, 4);
    assert_str(r->attributes.items[0].key, "e");
    assert_null(r->attributes.items[0].value.ptr);
    assert_attr(&r->attributes, "d", "1e+300");
    assert_int_equal(d.res.rows[IG_TABLE_EVENTS].n, 1);
    assert_str(d.res.rows[IG_TABLE_EVENTS].u.logs[0].event_name, "x.y");
    assert_str(d.res.rows[IG_TABLE_EVENTS].u.logs[0].event_domain, "dom");
    dec_free(&d);

    /* no time, no observed time: ingest time; top-level double text */
    j = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"doubleValue\":\"-"
        "Infinity\"}},"
        "{\"observedTimeUnixNano\":\"5000\",\"body\":{\"doubleValue\":0.1}}]}]}]}";
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_JSON, j, strlen(j)), 0);
    r = d.res.rows[IG_TABLE_LOGS].u.logs;
    assert_int_equal(r[0].timestamp_us, NOW);
    assert_false(r[0].has_observed);
    assert_str(r[0].body, "-Infinity");
    assert_int_equal(r[1].timestamp_us, 5);
    assert_str(r[1].body, "0.1");
    dec_free(&d);
}

static void test_caps(void **state)
{
    (void)state;
    /* 3000 attributes on one record */
    ig_buf j;
    ig_buf_init(&j, 0);
    ig_buf_append_cstr(&j, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[");
    for (int i = 0; i < 3000; i++)
        ig_buf_printf(&j, "%s{\"key\":\"k%d\",\"value\":{\"intValue\":%d}}", i ? "," : "", i, i);
    ig_buf_append_cstr(&j, "]}]}]}]}");
    dec d;
    dec_init(&d, 64u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_JSON, j.data, j.len), IG_EINVAL);
    assert_non_null(strstr(d.eb.msg, "logRecords[0].attributes[1024]"));
    assert_non_null(strstr(d.eb.msg, "more than 1024 attributes"));
    dec_free(&d);
    /* a higher cap lets it through; 3000 distinct keys (hash dedupe path) */
    dec_init(&d, 64u << 20);
    d.ctx.max_attrs_per_level = 5000;
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_JSON, j.data, j.len), 0);
    assert_int_equal(d.res.rows[IG_TABLE_LOGS].u.logs[0].attributes.n, 3000);
    assert_attr(&d.res.rows[IG_TABLE_LOGS].u.logs[0].attributes, "k2999", "2999");
    dec_free(&d);
    /* arena cap */
    dec_init(&d, 16384);
    d.ctx.max_attrs_per_level = 5000;
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_JSON, j.data, j.len), IG_ETOOBIG);
    assert_non_null(strstr(d.eb.msg, "memory limit"));
    dec_free(&d);
    ig_buf_free(&j);

    /* record cap */
    ig_buf_init(&j, 0);
    ig_buf_append_cstr(&j, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{}");
    for (int i = 0; i < 20; i++)
        ig_buf_append_cstr(&j, ",{}");
    ig_buf_append_cstr(&j, "]}]}]}");
    dec_init(&d, 1u << 20);
    d.ctx.max_records = 10;
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_JSON, j.data, j.len), IG_ETOOBIG);
    assert_non_null(strstr(d.eb.msg, "more than 10 log records"));
    dec_free(&d);
    ig_buf_free(&j);

    /* duplicate keys with many attributes: last wins (pb, hash path) */
    ig_buf b;
    ig_buf_init(&b, 0);
    pb_writer w;
    pb_writer_init(&w, &b);
    pb_put_begin(&w, 1);
    pb_put_begin(&w, 2);
    pb_put_begin(&w, 2);
    char k[16], v[16];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof k, "k%d", i % 20);
        snprintf(v, sizeof v, "v%d", i);
        put_kv_str(&w, 6, k, v);
    }
    pb_put_end(&w);
    pb_put_end(&w);
    pb_put_end(&w);
    dec_init(&d, 1u << 20);
    assert_int_equal(dec_run(&d, IG_SIGNAL_LOGS, IG_OTLP_PROTOBUF, b.data, b.len), 0);
    const ig_attrs *a = &d.res.rows[IG_TABLE_LOGS].u.logs[0].attributes;
    assert_int_equal(a->n, 20);
    assert_attr(a, "k0", "v20");
    assert_attr(a, "k19", "v39");
    dec_free(&d);
    ig_buf_free(&b);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    size_t len;
    char *body = load("collector-pdata-traces.json", &len);
    int64_t live = ig_alloc_live_blocks();
    for (long n = 0; n < 200; n++) {
        dec d;
        dec_init(&d, 1u << 20);
        ig_alloc_fail_after(n);
        int rc = dec_run(&d, IG_SIGNAL_TRACES, IG_OTLP_JSON, body, len);
        ig_alloc_fail_reset();
        assert_true(rc == 0 || rc == IG_ENOMEM || rc == IG_ETOOBIG);
        dec_free(&d);
        assert_int_equal(ig_alloc_live_blocks(), live);
        if (rc == 0)
            break;
    }
    ig_free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_identical), cmocka_unit_test(test_logs_values),
        cmocka_unit_test(test_events),          cmocka_unit_test(test_traces_values),
        cmocka_unit_test(test_metrics_values),  cmocka_unit_test(test_otlp2parquet),
        cmocka_unit_test(test_invalid_corpus),  cmocka_unit_test(test_partial_spans),
        cmocka_unit_test(test_partial_metrics), cmocka_unit_test(test_truncated_pb),
        cmocka_unit_test(test_invalid_utf8_pb), cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_lenient),    cmocka_unit_test(test_caps),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
