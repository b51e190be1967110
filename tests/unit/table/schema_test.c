/* Table schemas: rows → Parquet (ig_rows_write) read back field by field, and row sorting
 * (ig_rows_sort) order and stability. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/parquet.h"
#include "icegate/tables.h"

#define S(lit) IG_STR(lit)
#define NUL IG_STR_NULL

/* ---- expectations on assembled values --------------------------------------------- */

static const pq_value *top(const pq_schema *s, const pq_value *row, const char *name)
{
    int node = pq_schema_top(s, ig_str_from(name));
    if (node < 0)
        fail_msg("no column %s", name);
    const pq_node *root = &s->nodes[0];
    for (int32_t i = 0; i < root->nchildren; i++)
        if (root->children[i] == node) {
            assert_true((size_t)i < row->n);
            return &row->items[i];
        }
    fail_msg("column %s not under the root", name);
    return NULL;
}

static void exp_str_(const pq_value *v, ig_str want, const char *what)
{
    if (!want.ptr) {
        if (v->kind != PQ_V_NULL)
            fail_msg("%s: want null, got kind %d", what, v->kind);
        return;
    }
    if (v->kind != PQ_V_BYTES)
        fail_msg("%s: want \"%.*s\", got kind %d", what, (int)want.len, want.ptr, v->kind);
    if (!ig_str_eq(v->s, want))
        fail_msg("%s: want \"%.*s\", got \"%.*s\"", what, (int)want.len, want.ptr, (int)v->s.len,
                 v->s.ptr);
}
#define exp_str(v, want) exp_str_((v), (want), #v)

static void exp_i64_(const pq_value *v, bool has, int64_t want, const char *what)
{
    if (!has) {
        if (v->kind != PQ_V_NULL)
            fail_msg("%s: want null, got kind %d (%lld)", what, v->kind, (long long)v->i);
        return;
    }
    if (v->kind != PQ_V_INT || v->i != want)
        fail_msg("%s: want %lld, got kind %d value %lld", what, (long long)want, v->kind,
                 (long long)v->i);
}
#define exp_i64(v, has, want) exp_i64_((v), (has), (want), #v)

static void exp_f64_(const pq_value *v, bool has, double want, const char *what)
{
    if (!has) {
        if (v->kind != PQ_V_NULL)
            fail_msg("%s: want null, got kind %d", what, v->kind);
        return;
    }
    if (v->kind != PQ_V_DOUBLE || v->d != want)
        fail_msg("%s: want %g, got kind %d value %g", what, want, v->kind, v->d);
}
#define exp_f64(v, has, want) exp_f64_((v), (has), (want), #v)

static void exp_fixed_(const pq_value *v, bool has, const uint8_t *want, size_t n, const char *what)
{
    if (!has) {
        if (v->kind != PQ_V_NULL)
            fail_msg("%s: want null, got kind %d", what, v->kind);
        return;
    }
    if (v->kind != PQ_V_BYTES || v->s.len != n || memcmp(v->s.ptr, want, n) != 0)
        fail_msg("%s: fixed bytes differ (kind %d, len %zu)", what, v->kind, v->s.len);
}
#define exp_fixed(v, has, want, n) exp_fixed_((v), (has), (want), (n), #v)

static void exp_map_(const pq_value *v, const ig_attrs *a, const char *what)
{
    if (v->kind != PQ_V_MAP)
        fail_msg("%s: want a map, got kind %d", what, v->kind);
    if (v->n != 2 * (size_t)a->n)
        fail_msg("%s: want %u entries, got %zu", what, a->n, v->n / 2);
    for (uint32_t i = 0; i < a->n; i++) {
        exp_str_(&v->items[2 * i], a->items[i].key, what);
        exp_str_(&v->items[2 * i + 1], a->items[i].value, what);
    }
}
#define exp_map(v, a) exp_map_((v), (a), #v)

static void exp_i64_list_(const pq_value *v, const ig_i64_list *l, const char *what)
{
    if (!l->present) {
        if (v->kind != PQ_V_NULL)
            fail_msg("%s: want null list, got kind %d", what, v->kind);
        return;
    }
    if (v->kind != PQ_V_LIST || v->n != l->n)
        fail_msg("%s: want list of %u, got kind %d n %zu", what, l->n, v->kind, v->n);
    for (uint32_t i = 0; i < l->n; i++)
        exp_i64_(&v->items[i], true, l->v[i], what);
}
#define exp_i64_list(v, l) exp_i64_list_((v), (l), #v)

static void exp_f64_list_(const pq_value *v, const ig_f64_list *l, const char *what)
{
    if (!l->present) {
        if (v->kind != PQ_V_NULL)
            fail_msg("%s: want null list, got kind %d", what, v->kind);
        return;
    }
    if (v->kind != PQ_V_LIST || v->n != l->n)
        fail_msg("%s: want list of %u, got kind %d n %zu", what, l->n, v->kind, v->n);
    for (uint32_t i = 0; i < l->n; i++)
        exp_f64_(&v->items[i], true, l->v[i], what);
}
#define exp_f64_list(v, l) exp_f64_list_((v), (l), #v)

/* ---- write and read back ---------------------------------------------------------- */

typedef struct rt_ctx {
    const ig_rows *rows;
    const pq_schema *s;
    size_t next; /* index of the next expected row */
    void (*check)(const pq_schema *s, const pq_value *row, const ig_rows *rows, size_t i);
} rt_ctx;

static int rt_emit(void *ctx, const pq_value *row)
{
    rt_ctx *c = ctx;
    assert_true(c->next < c->rows->n);
    assert_int_equal(row->kind, PQ_V_STRUCT);
    c->check(c->s, row, c->rows, c->next);
    c->next++;
    return 0;
}

/* Writes rows with ig_rows_write (split into row groups of rg_rows rows), reads them back
 * with pq_read_column + pq_assemble, and checks every row with check(). */
static void roundtrip(const ig_rows *rows, size_t rg_rows,
                      void (*check)(const pq_schema *, const pq_value *, const ig_rows *, size_t))
{
    const pq_schema *s = ig_table_schema(rows->table);
    ig_buf out;
    ig_buf_init(&out, 0);
    pq_writer *w;
    ig_errbuf eb = {""};
    assert_int_equal(pq_writer_new(&w, s, NULL, pq_sink_buf(&out), &eb), 0);
    int tc = pq_schema_find(s, "trace_id");
    if (tc >= 0)
        assert_int_equal(pq_writer_set_bloom(w, tc, true), 0);
    size_t nrg = 0;
    for (size_t from = 0; from < rows->n; from += rg_rows) {
        size_t to = from + rg_rows < rows->n ? from + rg_rows : rows->n;
        int rc = ig_rows_write(w, rows, from, to, &eb);
        if (rc)
            fail_msg("ig_rows_write: %s", eb.msg);
        rc = pq_writer_flush(w, &eb);
        if (rc)
            fail_msg("flush: %s", eb.msg);
        nrg++;
    }
    assert_int_equal(pq_writer_close(w, NULL, &eb), 0);
    pq_writer_free(w);

    pq_file *f;
    int rc = pq_open_mem(&f, out.data, out.len, NULL, &eb);
    if (rc)
        fail_msg("pq_open_mem: %s", eb.msg);
    assert_int_equal(f->nrgs, nrg);
    assert_int_equal(f->num_rows, rows->n);
    assert_int_equal(f->schema->ncols, s->ncols);
    pq_colvec *vecs = calloc(s->ncols, sizeof *vecs);
    pq_colvec **ptrs = calloc(s->ncols, sizeof *ptrs);
    assert_non_null(vecs);
    assert_non_null(ptrs);
    for (size_t c = 0; c < s->ncols; c++) {
        pq_colvec_init(&vecs[c]);
        ptrs[c] = &vecs[c];
    }
    rt_ctx cx = {rows, f->schema, 0, check};
    ig_arena scratch;
    ig_arena_init(&scratch, 0);
    for (size_t rg = 0; rg < f->nrgs; rg++) {
        for (size_t c = 0; c < s->ncols; c++) {
            rc = pq_read_column(f, rg, c, NULL, 0, &vecs[c], &eb);
            if (rc)
                fail_msg("read rg %zu col %zu: %s", rg, c, eb.msg);
        }
        rc = pq_assemble(f->schema, ptrs, &scratch, rt_emit, &cx, &eb);
        if (rc)
            fail_msg("assemble: %s", eb.msg);
    }
    assert_int_equal(cx.next, rows->n);
    /* The bloom filter finds every trace id that was written. */
    if (tc >= 0 && rows->n > 0 && (rows->table == IG_TABLE_LOGS || rows->table == IG_TABLE_SPANS)) {
        const uint8_t *tid =
            rows->table == IG_TABLE_LOGS ? rows->u.logs[0].trace_id : rows->u.spans[0].trace_id;
        bool has = rows->table == IG_TABLE_LOGS ? rows->u.logs[0].has_trace_id : true;
        if (has) {
            pq_pred p = {.col = tc, .op = PQ_OP_EQ, .s = ig_str_make(tid, 16)};
            bool maybe = false;
            assert_int_equal(pq_bloom_check(f, 0, &p, &maybe, &eb), 0);
            assert_true(maybe);
        }
    }
    for (size_t c = 0; c < s->ncols; c++)
        pq_colvec_free(&vecs[c]);
    free(vecs);
    free(ptrs);
    ig_arena_free(&scratch);
    pq_close(f);
    ig_buf_free(&out);
}

/* ---- logs ------------------------------------------------------------------------- */

static void check_log(const pq_schema *s, const pq_value *row, const ig_rows *rows, size_t i,
                      bool events)
{
    const ig_log_row *r = &rows->u.logs[i];
    exp_str(top(s, row, "tenant_id"), r->id.tenant_id);
    exp_str(top(s, row, "account_id"), r->id.account_id);
    exp_str(top(s, row, "service_name"), r->id.service_name);
    exp_i64(top(s, row, "timestamp"), true, r->timestamp_us);
    exp_i64(top(s, row, "observed_timestamp"), r->has_observed, r->observed_us);
    exp_i64(top(s, row, "ingested_timestamp"), true, r->ingested_us);
    exp_fixed(top(s, row, "trace_id"), r->has_trace_id, r->trace_id, 16);
    exp_fixed(top(s, row, "span_id"), r->has_span_id, r->span_id, 8);
    exp_i64(top(s, row, "severity_number"), r->has_severity_number, r->severity_number);
    exp_str(top(s, row, "severity_text"), r->severity_text);
    exp_str(top(s, row, "body"), r->body);
    exp_i64(top(s, row, "flags"), r->has_flags, r->flags);
    exp_i64(top(s, row, "dropped_attributes_count"), r->has_dropped_attributes_count,
            r->dropped_attributes_count);
    exp_str(top(s, row, "scope_name"), r->scope_name);
    exp_str(top(s, row, "scope_version"), r->scope_version);
    exp_map(top(s, row, "resource_attributes"), &r->resource_attributes);
    exp_map(top(s, row, "scope_attributes"), &r->scope_attributes);
    exp_map(top(s, row, "attributes"), &r->attributes);
    if (events) {
        exp_str(top(s, row, "event_name"), r->event_name.ptr ? r->event_name : S(""));
        exp_str(top(s, row, "event_domain"), r->event_domain);
    } else {
        exp_str(top(s, row, "event_name"), r->event_name);
        exp_str(top(s, row, "source"), r->source);
    }
}

static void check_logs(const pq_schema *s, const pq_value *row, const ig_rows *rows, size_t i)
{
    check_log(s, row, rows, i, false);
}

static void check_events(const pq_schema *s, const pq_value *row, const ig_rows *rows, size_t i)
{
    check_log(s, row, rows, i, true);
}

static ig_attr A_RES[] = {{S("service.name"), S("checkout")}, {S("host.name"), S("h1")}};
static ig_attr A_SCOPE[] = {{S("lib"), S("x")}};
static ig_attr A_REC[] = {
    {S("k1"), S("v1")}, {S("k.null"), NUL}, {S("n"), S("42")}, {S(""), S("empty key")}};

static void fill_log(ig_log_row *r, int i)
{
    memset(r, 0, sizeof *r);
    r->id.tenant_id = S("tenant-a");
    r->id.account_id = i % 3 == 0 ? NUL : (i % 3 == 1 ? S("acct1") : S("acct2"));
    r->id.service_name = i % 4 == 0 ? NUL : S("checkout");
    r->timestamp_us = 1700000000000000LL + i * 1000;
    r->has_observed = i % 2;
    r->observed_us = r->timestamp_us + 5;
    r->ingested_us = 1700000001000000LL;
    r->has_trace_id = i % 3 != 2;
    for (int k = 0; k < 16; k++)
        r->trace_id[k] = (uint8_t)(i * 16 + k + 1);
    r->has_span_id = i % 2 == 0;
    for (int k = 0; k < 8; k++)
        r->span_id[k] = (uint8_t)(0xA0 + i + k);
    r->has_severity_number = i % 5 != 0;
    r->severity_number = 9 + i % 4;
    r->severity_text = i % 5 ? S("INFO") : NUL;
    r->body = i % 7 == 6 ? NUL : S("hello wörld");
    r->event_name = i % 2 ? S("app.click") : NUL;
    r->event_domain = i % 2 ? S("app") : NUL;
    r->has_flags = i % 3 == 1;
    r->flags = 1;
    r->has_dropped_attributes_count = i % 4 == 3;
    r->dropped_attributes_count = 2;
    r->scope_name = i % 2 ? S("io.opentelemetry.scope") : NUL;
    r->scope_version = i % 4 == 1 ? S("1.2.3") : NUL;
    r->resource_attributes = i % 2 ? (ig_attrs){A_RES, 2} : (ig_attrs){NULL, 0};
    r->scope_attributes = i % 3 == 0 ? (ig_attrs){A_SCOPE, 1} : (ig_attrs){NULL, 0};
    r->attributes = i % 4 ? (ig_attrs){A_REC, 4} : (ig_attrs){NULL, 0};
    r->source = i % 2 ? S("otlp") : S("loki");
}

static void test_logs_roundtrip(void **state)
{
    (void)state;
    ig_log_row rows[23];
    for (int i = 0; i < 23; i++)
        fill_log(&rows[i], i);
    ig_rows b = {.table = IG_TABLE_LOGS, .n = 23, .u.logs = rows};
    roundtrip(&b, 100, check_logs);
    roundtrip(&b, 5, check_logs); /* several row groups */
}

static void test_events_roundtrip(void **state)
{
    (void)state;
    ig_log_row rows[9];
    for (int i = 0; i < 9; i++)
        fill_log(&rows[i], i);
    ig_rows b = {.table = IG_TABLE_EVENTS, .n = 9, .u.logs = rows};
    roundtrip(&b, 3, check_events); /* (row groups of only "" in a BYTE_ARRAY column trip
                                        a UBSan report in the reader: see the WAL report) */
}

/* ---- spans ------------------------------------------------------------------------ */

static void check_spans(const pq_schema *s, const pq_value *row, const ig_rows *rows, size_t i)
{
    const ig_span_row *r = &rows->u.spans[i];
    exp_str(top(s, row, "tenant_id"), r->id.tenant_id);
    exp_str(top(s, row, "account_id"), r->id.account_id);
    exp_str(top(s, row, "service_name"), r->id.service_name);
    exp_fixed(top(s, row, "trace_id"), true, r->trace_id, 16);
    exp_fixed(top(s, row, "span_id"), true, r->span_id, 8);
    exp_fixed(top(s, row, "parent_span_id"), r->has_parent_span_id, r->parent_span_id, 8);
    exp_i64(top(s, row, "timestamp"), true, r->timestamp_us);
    exp_i64(top(s, row, "end_timestamp"), true, r->end_timestamp_us);
    exp_i64(top(s, row, "ingested_timestamp"), true, r->ingested_us);
    exp_i64(top(s, row, "duration_nanos"), true, r->duration_nanos);
    exp_str(top(s, row, "trace_state"), r->trace_state);
    exp_str(top(s, row, "name"), r->name.ptr ? r->name : S(""));
    exp_i64(top(s, row, "kind"), r->has_kind, r->kind);
    exp_i64(top(s, row, "status_code"), r->has_status_code, r->status_code);
    exp_str(top(s, row, "status_message"), r->status_message);
    exp_i64(top(s, row, "flags"), r->has_flags, r->flags);
    exp_i64(top(s, row, "dropped_attributes_count"), r->has_dropped_attributes_count,
            r->dropped_attributes_count);
    exp_i64(top(s, row, "dropped_events_count"), r->has_dropped_events_count,
            r->dropped_events_count);
    exp_i64(top(s, row, "dropped_links_count"), r->has_dropped_links_count, r->dropped_links_count);
    exp_str(top(s, row, "scope_name"), r->scope_name);
    exp_str(top(s, row, "scope_version"), r->scope_version);
    exp_map(top(s, row, "resource_attributes"), &r->resource_attributes);
    exp_map(top(s, row, "scope_attributes"), &r->scope_attributes);
    exp_map(top(s, row, "attributes"), &r->attributes);
    /* events: list<struct{timestamp, name, attributes, dropped_attributes_count}> */
    const pq_value *ev = top(s, row, "events");
    assert_int_equal(ev->kind, PQ_V_LIST);
    assert_int_equal(ev->n, r->nevents);
    for (uint32_t k = 0; k < r->nevents; k++) {
        const pq_value *e = &ev->items[k];
        const ig_span_event *x = &r->events[k];
        assert_int_equal(e->kind, PQ_V_STRUCT);
        assert_int_equal(e->n, 4);
        exp_i64(&e->items[0], true, x->timestamp_us);
        exp_str(&e->items[1], x->name.ptr ? x->name : S(""));
        exp_map(&e->items[2], &x->attributes);
        exp_i64(&e->items[3], x->has_dropped_attributes_count, x->dropped_attributes_count);
    }
    /* links: list<struct{trace_id, span_id, trace_state, attributes, dropped, flags}> */
    const pq_value *ln = top(s, row, "links");
    assert_int_equal(ln->kind, PQ_V_LIST);
    assert_int_equal(ln->n, r->nlinks);
    for (uint32_t k = 0; k < r->nlinks; k++) {
        const pq_value *l = &ln->items[k];
        const ig_span_link *x = &r->links[k];
        assert_int_equal(l->kind, PQ_V_STRUCT);
        assert_int_equal(l->n, 6);
        exp_fixed(&l->items[0], true, x->trace_id, 16);
        exp_fixed(&l->items[1], true, x->span_id, 8);
        exp_str(&l->items[2], x->trace_state);
        exp_map(&l->items[3], &x->attributes);
        exp_i64(&l->items[4], x->has_dropped_attributes_count, x->dropped_attributes_count);
        exp_i64(&l->items[5], x->has_flags, x->flags);
    }
}

static ig_attr A_EV1[] = {{S("exception.type"), S("IOError")}, {S("exception.message"), NUL}};
static ig_attr A_EV2[] = {{S("k"), S("v")}};

static void fill_span(ig_span_row *r, int i, ig_span_event *evs, ig_span_link *lns)
{
    memset(r, 0, sizeof *r);
    r->id.tenant_id = S("t1");
    r->id.account_id = i % 2 ? S("acct") : NUL;
    r->id.service_name = i % 3 ? S("api") : NUL;
    for (int k = 0; k < 16; k++)
        r->trace_id[k] = (uint8_t)(0x10 + i / 2 + k);
    for (int k = 0; k < 8; k++)
        r->span_id[k] = (uint8_t)(i + k + 1);
    r->has_parent_span_id = i % 2;
    for (int k = 0; k < 8; k++)
        r->parent_span_id[k] = (uint8_t)(0x80 + k);
    r->timestamp_us = 1700000000000000LL + i * 10;
    r->end_timestamp_us = r->timestamp_us + 1234;
    r->ingested_us = 1700000005000000LL;
    r->duration_nanos = 1234000 + i;
    r->trace_state = i % 3 == 0 ? S("rojo=00f067aa0ba902b7") : NUL;
    r->name = i == 4 ? NUL : S("GET /api");
    r->has_kind = i % 2 == 0;
    r->kind = 2;
    r->has_status_code = i % 3 != 1;
    r->status_code = i % 3;
    r->status_message = i % 3 == 2 ? S("boom") : NUL;
    r->has_flags = i % 2;
    r->flags = 257;
    r->has_dropped_attributes_count = i == 1;
    r->dropped_attributes_count = 3;
    r->has_dropped_events_count = i == 2;
    r->dropped_events_count = 4;
    r->has_dropped_links_count = i == 3;
    r->dropped_links_count = 5;
    r->scope_name = S("scope");
    r->scope_version = i % 2 ? S("v1") : NUL;
    r->resource_attributes = (ig_attrs){A_RES, 2};
    r->scope_attributes = i % 2 ? (ig_attrs){A_SCOPE, 1} : (ig_attrs){NULL, 0};
    r->attributes = i % 3 ? (ig_attrs){A_REC, 4} : (ig_attrs){NULL, 0};
    /* events: row 0 none, row 1 one with attributes, row 2 two (one with an empty map) */
    r->nevents = (uint32_t)(i % 3);
    r->events = r->nevents ? evs : NULL;
    for (uint32_t k = 0; k < r->nevents; k++) {
        evs[k] = (ig_span_event){.timestamp_us = r->timestamp_us + k,
                                 .name = k ? S("retry") : S("exception"),
                                 .attributes = k ? (ig_attrs){NULL, 0} : (ig_attrs){A_EV1, 2},
                                 .dropped_attributes_count = 7,
                                 .has_dropped_attributes_count = k == 1};
    }
    r->nlinks = (uint32_t)((i + 1) % 3);
    r->links = r->nlinks ? lns : NULL;
    for (uint32_t k = 0; k < r->nlinks; k++) {
        memset(&lns[k], 0, sizeof lns[k]);
        for (int j = 0; j < 16; j++)
            lns[k].trace_id[j] = (uint8_t)(0xC0 + j + k);
        for (int j = 0; j < 8; j++)
            lns[k].span_id[j] = (uint8_t)(0xD0 + j + k);
        lns[k].trace_state = k ? S("a=b") : NUL;
        lns[k].attributes = k ? (ig_attrs){A_EV2, 1} : (ig_attrs){NULL, 0};
        lns[k].has_dropped_attributes_count = k == 0;
        lns[k].dropped_attributes_count = 1;
        lns[k].has_flags = k == 1;
        lns[k].flags = 256;
    }
}

static void test_spans_roundtrip(void **state)
{
    (void)state;
    enum { N = 11 };
    ig_span_row rows[N];
    ig_span_event evs[N][3];
    ig_span_link lns[N][3];
    for (int i = 0; i < N; i++)
        fill_span(&rows[i], i, evs[i], lns[i]);
    ig_rows b = {.table = IG_TABLE_SPANS, .n = N, .u.spans = rows};
    roundtrip(&b, 100, check_spans);
    roundtrip(&b, 3, check_spans);
}

/* ---- metrics ---------------------------------------------------------------------- */

static void check_metrics(const pq_schema *s, const pq_value *row, const ig_rows *rows, size_t i)
{
    const ig_metric_row *r = &rows->u.metrics[i];
    exp_str(top(s, row, "tenant_id"), r->id.tenant_id);
    exp_str(top(s, row, "account_id"), r->id.account_id);
    exp_str(top(s, row, "service_name"), r->id.service_name);
    exp_str(top(s, row, "service_instance_id"), r->service_instance_id);
    exp_i64(top(s, row, "timestamp"), true, r->timestamp_us);
    exp_i64(top(s, row, "start_timestamp"), r->has_start_timestamp, r->start_timestamp_us);
    exp_i64(top(s, row, "ingested_timestamp"), true, r->ingested_us);
    exp_str(top(s, row, "metric_name"), r->metric_name);
    exp_str(top(s, row, "metric_type"), r->metric_type);
    exp_str(top(s, row, "description"), r->description);
    exp_str(top(s, row, "unit"), r->unit);
    exp_str(top(s, row, "aggregation_temporality"), r->aggregation_temporality);
    const pq_value *mono = top(s, row, "is_monotonic");
    if (r->has_is_monotonic) {
        assert_int_equal(mono->kind, PQ_V_BOOL);
        assert_int_equal(mono->b, r->is_monotonic);
    } else {
        assert_int_equal(mono->kind, PQ_V_NULL);
    }
    exp_f64(top(s, row, "value_double"), r->has_value_double, r->value_double);
    exp_i64(top(s, row, "value_int"), r->has_value_int, r->value_int);
    exp_i64(top(s, row, "count"), r->has_count, r->count);
    exp_f64(top(s, row, "sum"), r->has_sum, r->sum);
    exp_f64(top(s, row, "min"), r->has_min, r->min);
    exp_f64(top(s, row, "max"), r->has_max, r->max);
    exp_i64_list(top(s, row, "bucket_counts"), &r->bucket_counts);
    exp_f64_list(top(s, row, "explicit_bounds"), &r->explicit_bounds);
    exp_i64(top(s, row, "scale"), r->has_scale, r->scale);
    exp_i64(top(s, row, "zero_count"), r->has_zero_count, r->zero_count);
    exp_f64(top(s, row, "zero_threshold"), r->has_zero_threshold, r->zero_threshold);
    exp_i64(top(s, row, "positive_offset"), r->has_positive_offset, r->positive_offset);
    exp_i64_list(top(s, row, "positive_bucket_counts"), &r->positive_bucket_counts);
    exp_i64(top(s, row, "negative_offset"), r->has_negative_offset, r->negative_offset);
    exp_i64_list(top(s, row, "negative_bucket_counts"), &r->negative_bucket_counts);
    const pq_value *q = top(s, row, "quantile_values");
    if (!r->has_quantiles) {
        assert_int_equal(q->kind, PQ_V_NULL);
    } else {
        assert_int_equal(q->kind, PQ_V_LIST);
        assert_int_equal(q->n, r->nquantiles);
        for (uint32_t k = 0; k < r->nquantiles; k++) {
            assert_int_equal(q->items[k].kind, PQ_V_STRUCT);
            exp_f64(&q->items[k].items[0], true, r->quantiles[k].quantile);
            exp_f64(&q->items[k].items[1], true, r->quantiles[k].value);
        }
    }
    exp_i64(top(s, row, "flags"), r->has_flags, r->flags);
    const pq_value *ex = top(s, row, "exemplars");
    assert_int_equal(ex->kind, PQ_V_LIST);
    assert_int_equal(ex->n, r->nexemplars);
    for (uint32_t k = 0; k < r->nexemplars; k++) {
        const pq_value *e = &ex->items[k];
        const ig_exemplar *x = &r->exemplars[k];
        assert_int_equal(e->kind, PQ_V_STRUCT);
        assert_int_equal(e->n, 6);
        exp_i64(&e->items[0], x->has_timestamp, x->timestamp_us);
        exp_f64(&e->items[1], x->has_value_double, x->value_double);
        exp_i64(&e->items[2], x->has_value_int, x->value_int);
        exp_fixed(&e->items[3], x->has_span_id, x->span_id, 8);
        exp_fixed(&e->items[4], x->has_trace_id, x->trace_id, 16);
        exp_map(&e->items[5], &x->attributes);
    }
    exp_map(top(s, row, "metadata"), &r->metadata);
    exp_str(top(s, row, "scope_name"), r->scope_name);
    exp_str(top(s, row, "scope_version"), r->scope_version);
    exp_map(top(s, row, "resource_attributes"), &r->resource_attributes);
    exp_map(top(s, row, "scope_attributes"), &r->scope_attributes);
    exp_map(top(s, row, "attributes"), &r->attributes);
}

static int64_t BUCKETS[] = {1, 0, 5, 2};
static double BOUNDS[] = {0.5, 1.0, 2.5};
static int64_t POS[] = {3, 4, 0, 1};
static int64_t NEG[] = {9};
static ig_quantile QS[] = {{0.5, 1.5}, {0.99, 7.25}, {1.0, 9.0}};
static ig_attr A_EX[] = {{S("filtered"), S("yes")}};
static ig_attr A_META[] = {{S("prometheus.type"), S("counter")}};

static void fill_metric(ig_metric_row *r, int kind, int i, ig_exemplar *ex)
{
    static const char *const types[] = {"gauge", "sum", "histogram", "exponential_histogram",
                                        "summary"};
    memset(r, 0, sizeof *r);
    r->id.tenant_id = S("tm");
    r->id.account_id = i % 2 ? S("acc") : NUL;
    r->id.service_name = i % 3 ? S("svc") : NUL;
    r->service_instance_id = i % 2 ? S("inst-1") : NUL;
    r->timestamp_us = 1700000000000000LL + i * 1000000;
    r->has_start_timestamp = kind != 0;
    r->start_timestamp_us = 1690000000000000LL;
    r->ingested_us = 1700000009000000LL;
    r->metric_name = S("http.server.duration");
    r->metric_type = ig_str_from(types[kind]);
    r->description = i % 2 ? S("the duration") : NUL;
    r->unit = kind == 0 ? NUL : S("ms");
    r->flags = 1;
    r->has_flags = i % 2 == 1;
    r->metadata = kind == 1 ? (ig_attrs){A_META, 1} : (ig_attrs){NULL, 0};
    r->scope_name = S("meter");
    r->scope_version = NUL;
    r->resource_attributes = (ig_attrs){A_RES, 2};
    r->scope_attributes = (ig_attrs){NULL, 0};
    r->attributes = i % 2 ? (ig_attrs){A_REC, 4} : (ig_attrs){NULL, 0};
    switch (kind) {
    case 0: /* gauge, int or double */
        if (i % 2) {
            r->has_value_int = true;
            r->value_int = -42;
        } else {
            r->has_value_double = true;
            r->value_double = 3.25;
        }
        break;
    case 1: /* sum */
        r->aggregation_temporality = S("CUMULATIVE");
        r->has_is_monotonic = true;
        r->is_monotonic = i % 2 == 0;
        r->has_value_double = true;
        r->value_double = 1e10;
        break;
    case 2: /* histogram */
        r->aggregation_temporality = S("DELTA");
        r->has_count = r->has_sum = r->has_min = r->has_max = true;
        r->count = 8;
        r->sum = 12.5;
        r->min = 0.1;
        r->max = 3.0;
        r->bucket_counts = (ig_i64_list){BUCKETS, 4, true};
        r->explicit_bounds = (ig_f64_list){BOUNDS, 3, true};
        break;
    case 3: /* exponential histogram; one with empty negative buckets */
        r->aggregation_temporality = S("DELTA");
        r->has_count = r->has_sum = true;
        r->count = 17;
        r->sum = 40;
        r->has_scale = true;
        r->scale = -2;
        r->has_zero_count = true;
        r->zero_count = 2;
        r->has_zero_threshold = true;
        r->zero_threshold = 1e-9;
        r->has_positive_offset = r->has_negative_offset = true;
        r->positive_offset = -3;
        r->negative_offset = 1;
        r->positive_bucket_counts = (ig_i64_list){POS, 4, true};
        r->negative_bucket_counts =
            i % 2 ? (ig_i64_list){NEG, 1, true} : (ig_i64_list){NULL, 0, true};
        break;
    case 4: /* summary; one with an empty quantile list */
        r->has_count = r->has_sum = true;
        r->count = 100;
        r->sum = 250;
        r->has_quantiles = true;
        r->nquantiles = i % 2 ? 3 : 0;
        r->quantiles = r->nquantiles ? QS : NULL;
        break;
    }
    /* exemplars on some points */
    r->nexemplars = (uint32_t)(i % 3);
    r->exemplars = r->nexemplars ? ex : NULL;
    for (uint32_t k = 0; k < r->nexemplars; k++) {
        memset(&ex[k], 0, sizeof ex[k]);
        ex[k].has_timestamp = k == 0;
        ex[k].timestamp_us = r->timestamp_us - 5;
        ex[k].has_value_double = k == 0;
        ex[k].value_double = 0.75;
        ex[k].has_value_int = k == 1;
        ex[k].value_int = 9;
        ex[k].has_span_id = ex[k].has_trace_id = k == 0;
        for (int j = 0; j < 8; j++)
            ex[k].span_id[j] = (uint8_t)(j + 1);
        for (int j = 0; j < 16; j++)
            ex[k].trace_id[j] = (uint8_t)(j + 0x40);
        ex[k].attributes = k ? (ig_attrs){NULL, 0} : (ig_attrs){A_EX, 1};
    }
}

static void test_metrics_roundtrip(void **state)
{
    (void)state;
    enum { N = 20 };
    ig_metric_row rows[N];
    ig_exemplar ex[N][3];
    for (int i = 0; i < N; i++)
        fill_metric(&rows[i], i % 5, i, ex[i]);
    ig_rows b = {.table = IG_TABLE_METRICS, .n = N, .u.metrics = rows};
    roundtrip(&b, 100, check_metrics);
    roundtrip(&b, 7, check_metrics);
}

/* ---- sorting ---------------------------------------------------------------------- */

static int cmp_opt(ig_str a, ig_str b)
{
    if (!a.ptr || !b.ptr)
        return (a.ptr != NULL) - (b.ptr != NULL);
    return ig_str_cmp(a, b);
}

static void test_sort_logs_fixed(void **state)
{
    (void)state;
    /* body = original position; expected order by (account, service asc, ts desc). */
    struct {
        const char *acct, *svc;
        int64_t ts;
    } in[] = {
        {"b", "s1", 10}, {NULL, "s2", 5}, {NULL, NULL, 1}, {"a", "s1", 3},  {NULL, "s2", 9},
        {"a", "s1", 3},  {NULL, NULL, 7}, {"a", "s0", 1},  {"b", "s1", 11},
    };
    const char *tags[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8"};
    enum { N = sizeof in / sizeof in[0] };
    ig_log_row rows[N];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < N; i++) {
        rows[i].id.tenant_id = S("t");
        rows[i].id.account_id = in[i].acct ? ig_str_from(in[i].acct) : NUL;
        rows[i].id.service_name = in[i].svc ? ig_str_from(in[i].svc) : NUL;
        rows[i].timestamp_us = in[i].ts;
        rows[i].body = ig_str_from(tags[i]);
    }
    ig_rows b = {.table = IG_TABLE_LOGS, .n = N, .u.logs = rows};
    ig_rows_sort(&b);
    /* null account first: (NULL,NULL,7)=6, (NULL,NULL,1)=2, (NULL,s2,9)=4, (NULL,s2,5)=1,
     * then a: (a,s0,1)=7, (a,s1,3)=3, (a,s1,3)=5 (stable), then b: (b,s1,11)=8, (b,s1,10)=0 */
    const char *want = "624173580";
    for (int i = 0; i < N; i++)
        if (rows[i].body.ptr[0] != want[i])
            fail_msg("position %d: got row %c, want %c", i, rows[i].body.ptr[0], want[i]);
}

static void test_sort_spans_fixed(void **state)
{
    (void)state;
    enum { N = 6 };
    ig_span_row rows[N];
    memset(rows, 0, sizeof rows);
    const uint8_t tid[N] = {3, 1, 2, 1, 3, 1};
    const int64_t ts[N] = {5, 9, 1, 2, 5, 2};
    const char *tags[] = {"0", "1", "2", "3", "4", "5"};
    for (int i = 0; i < N; i++) {
        rows[i].id.tenant_id = S("t");
        rows[i].trace_id[0] = tid[i];
        rows[i].trace_id[15] = 0xFF; /* not compared first */
        rows[i].timestamp_us = ts[i];
        rows[i].name = ig_str_from(tags[i]);
    }
    ig_rows b = {.table = IG_TABLE_SPANS, .n = N, .u.spans = rows};
    ig_rows_sort(&b);
    /* trace 1: ts 2 (3), ts 2 (5, stable after 3), ts 9 (1); trace 2: (2); trace 3: 0, 4 */
    const char *want = "351204";
    for (int i = 0; i < N; i++)
        if (rows[i].name.ptr[0] != want[i])
            fail_msg("position %d: got row %c, want %c", i, rows[i].name.ptr[0], want[i]);
}

static void test_sort_metrics_fixed(void **state)
{
    (void)state;
    struct {
        const char *metric, *svc;
        int64_t ts;
    } in[] = {{"m2", "a", 1}, {"m1", "b", 5},  {"m1", "a", 3},
              {"m1", "a", 8}, {"m1", NULL, 2}, {"m1", "a", 3}};
    const char *tags[] = {"0", "1", "2", "3", "4", "5"};
    enum { N = sizeof in / sizeof in[0] };
    ig_metric_row rows[N];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < N; i++) {
        rows[i].id.tenant_id = S("t");
        rows[i].metric_name = ig_str_from(in[i].metric);
        rows[i].id.service_name = in[i].svc ? ig_str_from(in[i].svc) : NUL;
        rows[i].timestamp_us = in[i].ts;
        rows[i].unit = ig_str_from(tags[i]);
    }
    ig_rows b = {.table = IG_TABLE_METRICS, .n = N, .u.metrics = rows};
    ig_rows_sort(&b);
    /* m1: svc NULL (4), a: ts 8 (3), ts 3 (2, then 5 stable), b (1); m2 (0) */
    const char *want = "432510";
    for (int i = 0; i < N; i++)
        if (rows[i].unit.ptr[0] != want[i])
            fail_msg("position %d: got row %c, want %c", i, rows[i].unit.ptr[0], want[i]);
}

/* Random logs: the result is ordered and stable (ties keep input order). */
static void test_sort_logs_random(void **state)
{
    (void)state;
    enum { N = 5000 };
    ig_log_row *rows = calloc(N, sizeof *rows);
    assert_non_null(rows);
    static const char *const svcs[] = {"a", "b", "c", "ab"};
    static const char *const accts[] = {"x", "y"};
    srand(7);
    for (int i = 0; i < N; i++) {
        rows[i].id.tenant_id = S("t");
        int a = rand() % 3, s = rand() % 5;
        rows[i].id.account_id = a == 2 ? NUL : ig_str_from(accts[a]);
        rows[i].id.service_name = s == 4 ? NUL : ig_str_from(svcs[s]);
        rows[i].timestamp_us = rand() % 50;
        rows[i].observed_us = i; /* original position */
    }
    ig_rows b = {.table = IG_TABLE_LOGS, .n = N, .u.logs = rows};
    ig_rows_sort(&b);
    bool seen[N] = {false};
    for (int i = 0; i < N; i++) {
        assert_false(seen[rows[i].observed_us]);
        seen[rows[i].observed_us] = true;
        if (i == 0)
            continue;
        const ig_log_row *p = &rows[i - 1], *q = &rows[i];
        int c = cmp_opt(p->id.account_id, q->id.account_id);
        if (!c)
            c = cmp_opt(p->id.service_name, q->id.service_name);
        if (!c)
            c = (p->timestamp_us < q->timestamp_us) - (p->timestamp_us > q->timestamp_us);
        assert_true(c <= 0);
        if (c == 0)
            assert_true(p->observed_us < q->observed_us);
    }
    free(rows);
}

/* ig_rows_write rejects nothing valid and reports a writer error with a message. */
static void test_write_error_message(void **state)
{
    (void)state;
    ig_log_row r;
    fill_log(&r, 1);
    ig_rows b = {.table = IG_TABLE_LOGS, .n = 1, .u.logs = &r};
    ig_buf out;
    ig_buf_init(&out, 0);
    pq_writer *w;
    pq_writer_opts o = {.max_buffer_bytes = 64}; /* far too small for one row */
    assert_int_equal(pq_writer_new(&w, ig_table_schema(IG_TABLE_LOGS), &o, pq_sink_buf(&out), NULL),
                     0);
    ig_errbuf eb = {""};
    int rc = ig_rows_write(w, &b, 0, 1, &eb);
    assert_int_equal(rc, IG_ETOOBIG);
    assert_non_null(strstr(eb.msg, "logs"));
    pq_writer_free(w);
    ig_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logs_roundtrip),      cmocka_unit_test(test_events_roundtrip),
        cmocka_unit_test(test_spans_roundtrip),     cmocka_unit_test(test_metrics_roundtrip),
        cmocka_unit_test(test_sort_logs_fixed),     cmocka_unit_test(test_sort_spans_fixed),
        cmocka_unit_test(test_sort_metrics_fixed),  cmocka_unit_test(test_sort_logs_random),
        cmocka_unit_test(test_write_error_message),
    };
    return cmocka_run_group_tests_name("table/schema", tests, NULL, NULL);
}
