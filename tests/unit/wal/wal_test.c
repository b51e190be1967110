/* WAL: group commit writer, readers, positions, deleter, failures. Each test has its own
 * temporary store directory under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/log.h"
#include "icegate/map.h"
#include "icegate/time.h"
#include "icegate/wal.h"

#define S(lit) IG_STR(lit)

/* ---- a store wrapper that can fail puts ------------------------------------------- */

typedef struct fail_store {
    ig_store base;
    ig_store *inner;
    atomic_int fail_puts;    /* puts fail while set */
    const char *fail_substr; /* only puts whose key contains this (NULL: all) */
} fail_store;

static int fs_put(ig_store *s, const char *key, const void *d, size_t n, bool if_absent,
                  ig_errbuf *eb)
{
    fail_store *f = (fail_store *)s;
    if (atomic_load(&f->fail_puts) && (!f->fail_substr || strstr(key, f->fail_substr)))
        return ig_err(eb, IG_EIO, "store put %s: injected failure", key);
    return if_absent ? ig_store_put_if_absent(f->inner, key, d, n, eb)
                     : ig_store_put(f->inner, key, d, n, eb);
}
static int fs_get_range(ig_store *s, const char *key, uint64_t off, uint64_t len, ig_buf *out,
                        ig_errbuf *eb)
{
    return ig_store_get_range(((fail_store *)s)->inner, key, off, len, out, eb);
}
static int fs_head(ig_store *s, const char *key, ig_store_stat *st, ig_errbuf *eb)
{
    return ig_store_head(((fail_store *)s)->inner, key, st, eb);
}
static int fs_list(ig_store *s, const char *prefix, const char *after, size_t max,
                   ig_store_listing *out, ig_errbuf *eb)
{
    return ig_store_list(((fail_store *)s)->inner, prefix, after, max, out, eb);
}
static int fs_del(ig_store *s, const char *key, ig_errbuf *eb)
{
    return ig_store_delete(((fail_store *)s)->inner, key, eb);
}
static int fs_uri(ig_store *s, const char *key, ig_buf *out)
{
    return ig_store_uri(((fail_store *)s)->inner, key, out);
}
static void fs_close(ig_store *s)
{
    (void)s; /* the fixture owns both */
}
static const ig_store_ops FAIL_OPS = {fs_put, fs_get_range, fs_head, fs_list,
                                      fs_del, fs_uri,       fs_close};

/* ---- fixture ---------------------------------------------------------------------- */

typedef struct fixture {
    char tmp[64];
    char root[128];
    ig_store *fs;
    fail_store st;
} fixture;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ig_wal_test.XXXXXX");
    if (!mkdtemp(fx->tmp))
        return -1;
    snprintf(fx->root, sizeof fx->root, "%s/warehouse", fx->tmp);
    ig_errbuf eb;
    if (ig_store_open_fs(fx->root, &fx->fs, &eb) != 0)
        return -1;
    fx->st.base.ops = &FAIL_OPS;
    fx->st.inner = fx->fs;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ig_store_close(fx->fs);
    nftw(fx->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static ig_store *ST(fixture *fx)
{
    return &fx->st.base;
}

static ig_wal *open_wal(fixture *fx, const char *writer, int64_t interval_ms, size_t rg_rows)
{
    ig_wal_opts o = {0};
    o.writer_id = writer;
    o.flush_interval_ns = interval_ms * IG_NS_PER_MS;
    o.pq.row_group_rows = rg_rows;
    ig_wal *w = NULL;
    ig_errbuf eb = {""};
    int rc = ig_wal_open(ST(fx), &o, &w, &eb);
    if (rc)
        fail_msg("ig_wal_open: %d %s", rc, eb.msg);
    return w;
}

/* ---- row batches ------------------------------------------------------------------ */

/* A batch of n log rows of one tenant; bodies "<tag>-<i>" are unique per (tag, i). */
typedef struct logbatch {
    ig_log_row *rows;
    char *text; /* bodies, 48 bytes each */
    char tenant[32];
    ig_rows b;
} logbatch;

static void logbatch_make(logbatch *lb, const char *tenant, const char *tag, size_t n,
                          unsigned seed)
{
    lb->rows = calloc(n ? n : 1, sizeof *lb->rows);
    lb->text = calloc(n ? n : 1, 48);
    assert_non_null(lb->rows);
    assert_non_null(lb->text);
    snprintf(lb->tenant, sizeof lb->tenant, "%s", tenant);
    static const char *const svcs[] = {"api", "db", "web"};
    for (size_t i = 0; i < n; i++) {
        ig_log_row *r = &lb->rows[i];
        seed = seed * 1103515245u + 12345u;
        r->id.tenant_id = ig_str_from(lb->tenant);
        r->id.account_id = (seed >> 8) % 3 == 0 ? S("acc") : IG_STR_NULL;
        r->id.service_name =
            (seed >> 12) % 4 == 3 ? IG_STR_NULL : ig_str_from(svcs[(seed >> 4) % 3]);
        r->timestamp_us = 1700000000000000LL + (int64_t)((seed >> 3) % 100000);
        r->ingested_us = 1700000000000000LL;
        r->has_trace_id = true;
        for (int k = 0; k < 16; k++)
            r->trace_id[k] = (uint8_t)(i * 7 + k + (seed & 0xff));
        r->has_severity_number = true;
        r->severity_number = 9;
        r->severity_text = S("INFO");
        int len = snprintf(lb->text + 48 * i, 48, "%s-%zu", tag, i);
        r->body = ig_str_make(lb->text + 48 * i, (size_t)len);
        r->source = S("otlp");
    }
    lb->b = (ig_rows){.table = IG_TABLE_LOGS, .n = n, .u.logs = lb->rows};
}

static void logbatch_free(logbatch *lb)
{
    free(lb->rows);
    free(lb->text);
}

/* ---- reading everything back ------------------------------------------------------ */

typedef struct scan {
    ig_map bodies; /* body -> count (as pointer-sized integer) */
    uint64_t rows;
    size_t segments;
    size_t rgs;
} scan;

static ig_str colvec_str(const pq_colvec *v, size_t k, bool *null)
{
    /* k-th row of a flat optional/required BYTE_ARRAY column */
    size_t val = 0;
    for (size_t e = 0; e < k; e++)
        if (!v->def || v->def[e] == v->max_def)
            val++;
    *null = v->def && v->def[k] != v->max_def;
    return *null ? IG_STR_NULL : pq_colvec_bytes(v, val);
}

/* Reads every segment of the logs table: checks each row group is single-tenant (against
 * the footer facts and the tenant_id column), sorted (account, service asc, ts desc), the
 * footer facts match the data; counts bodies. */
static void scan_logs(ig_store *st, scan *sc)
{
    memset(sc, 0, sizeof *sc);
    ig_map_init(&sc->bodies, 0);
    ig_wal_seglist l;
    ig_errbuf eb = {""};
    assert_int_equal(ig_wal_list(st, IG_TABLE_LOGS, NULL, &l, &eb), 0);
    pq_colvec tv, av, sv, tsv, bv;
    pq_colvec_init(&tv);
    pq_colvec_init(&av);
    pq_colvec_init(&sv);
    pq_colvec_init(&tsv);
    pq_colvec_init(&bv);
    for (size_t i = 0; i < l.n; i++) {
        pq_file *f;
        int rc = ig_wal_segment_open(st, l.segs[i].key, &f, &eb);
        if (rc)
            fail_msg("open %s: %s", l.segs[i].key, eb.msg);
        ig_wal_seginfo si;
        rc = ig_wal_segment_info(f, &si, &eb);
        if (rc)
            fail_msg("info %s: %s", l.segs[i].key, eb.msg);
        assert_int_equal(si.table, IG_TABLE_LOGS);
        assert_string_equal(si.writer, l.segs[i].writer);
        assert_int_equal(si.seq, l.segs[i].seq);
        assert_int_equal(si.nrgs, f->nrgs);
        const pq_schema *s = f->schema;
        int ct = pq_schema_find(s, "tenant_id"), ca = pq_schema_find(s, "account_id"),
            cs = pq_schema_find(s, "service_name"), cts = pq_schema_find(s, "timestamp"),
            cb = pq_schema_find(s, "body");
        assert_true(ct >= 0 && ca >= 0 && cs >= 0 && cts >= 0 && cb >= 0);
        for (size_t rg = 0; rg < f->nrgs; rg++) {
            assert_int_equal(pq_read_column(f, rg, (size_t)ct, NULL, 0, &tv, &eb), 0);
            assert_int_equal(pq_read_column(f, rg, (size_t)ca, NULL, 0, &av, &eb), 0);
            assert_int_equal(pq_read_column(f, rg, (size_t)cs, NULL, 0, &sv, &eb), 0);
            assert_int_equal(pq_read_column(f, rg, (size_t)cts, NULL, 0, &tsv, &eb), 0);
            assert_int_equal(pq_read_column(f, rg, (size_t)cb, NULL, 0, &bv, &eb), 0);
            size_t n = tv.nrows;
            assert_int_equal(n, si.rgs[rg].rows);
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            const int64_t *ts = tsv.vals;
            for (size_t k = 0; k < n; k++) {
                ig_str t = pq_colvec_bytes(&tv, k);
                if (!ig_str_eq(t, si.rgs[rg].tenant))
                    fail_msg("%s rg %zu row %zu: tenant %.*s, footer says %.*s", l.segs[i].key, rg,
                             k, (int)t.len, t.ptr, (int)si.rgs[rg].tenant.len,
                             si.rgs[rg].tenant.ptr);
                lo = ts[k] < lo ? ts[k] : lo;
                hi = ts[k] > hi ? ts[k] : hi;
                bool null;
                ig_str body = colvec_str(&bv, k, &null);
                assert_false(null);
                ig_map_entry *e;
                bool created;
                assert_int_equal(ig_map_upsert(&sc->bodies, body, &e, &created), 0);
                e->value = (void *)((uintptr_t)e->value + 1);
                if (k == 0)
                    continue;
                bool pn, qn;
                ig_str pa = colvec_str(&av, k - 1, &pn), qa = colvec_str(&av, k, &qn);
                int c = pn || qn ? (int)!pn - (int)!qn : ig_str_cmp(pa, qa);
                if (!c) {
                    ig_str ps = colvec_str(&sv, k - 1, &pn), qs = colvec_str(&sv, k, &qn);
                    c = pn || qn ? (int)!pn - (int)!qn : ig_str_cmp(ps, qs);
                }
                if (!c)
                    c = ts[k - 1] < ts[k]; /* timestamps descending */
                if (c > 0)
                    fail_msg("%s rg %zu: rows %zu and %zu out of order", l.segs[i].key, rg, k - 1,
                             k);
            }
            assert_int_equal(lo, si.rgs[rg].min_ts_us);
            assert_int_equal(hi, si.rgs[rg].max_ts_us);
            sc->rows += n;
            sc->rgs++;
        }
        sc->segments++;
        ig_wal_seginfo_free(&si);
        pq_close(f);
    }
    pq_colvec_free(&tv);
    pq_colvec_free(&av);
    pq_colvec_free(&sv);
    pq_colvec_free(&tsv);
    pq_colvec_free(&bv);
    ig_wal_seglist_free(&l);
}

static void scan_free(scan *sc)
{
    ig_map_free(&sc->bodies);
}

static uintptr_t body_count(scan *sc, const char *body)
{
    return (uintptr_t)ig_map_get(&sc->bodies, ig_str_from(body));
}

/* ---- tests ------------------------------------------------------------------------ */

typedef struct thr {
    ig_wal *w;
    int id;
    int reqs;
    size_t rows;
    int failures;
    fixture *fx;
} thr;

static void *append_main(void *arg)
{
    thr *t = arg;
    static const char *const tenants[] = {"tenant-a", "tenant-b", "tenant-c"};
    for (int k = 0; k < t->reqs; k++) {
        logbatch lb;
        char tag[32];
        snprintf(tag, sizeof tag, "th%d-req%d", t->id, k);
        logbatch_make(&lb, tenants[(t->id + k) % 3], tag, t->rows, (unsigned)(t->id * 1000 + k));
        ig_wal_ack ack;
        ig_errbuf eb = {""};
        int rc = ig_wal_append(t->w, &lb.b, 1, &ack, &eb);
        if (rc || ack.rows != t->rows || ack.nsegments != 1) {
            t->failures++;
        } else {
            /* Durable and visible as soon as append returns. */
            ig_store_stat st;
            if (ig_store_head(ST(t->fx), ack.keys[0], &st, NULL) != 0)
                t->failures++;
        }
        logbatch_free(&lb);
    }
    return NULL;
}

static void test_concurrent_appends(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w-conc", 5, 300);
    enum { NT = 6, REQS = 12 };
    pthread_t th[NT];
    thr ts[NT];
    for (int i = 0; i < NT; i++) {
        ts[i] = (thr){w, i, REQS, (size_t)(50 + 37 * i), 0, fx};
        assert_int_equal(pthread_create(&th[i], NULL, append_main, &ts[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ts[i].failures, 0);
    }
    ig_wal_stats st;
    ig_wal_get_stats(w, &st);
    ig_wal_close(w);

    scan sc;
    scan_logs(ST(fx), &sc);
    uint64_t want = 0;
    for (int i = 0; i < NT; i++)
        want += (uint64_t)REQS * ts[i].rows;
    assert_int_equal(sc.rows, want);
    assert_int_equal(st.rows, want);
    assert_int_equal(st.queue_bytes, 0);
    assert_int_equal(sc.bodies.count, want); /* every body distinct, so exactly once each */
    for (int i = 0; i < NT; i++)
        for (int k = 0; k < REQS; k++)
            for (size_t r = 0; r < ts[i].rows; r += 13) {
                char body[48];
                snprintf(body, sizeof body, "th%d-req%d-%zu", i, k, r);
                assert_int_equal(body_count(&sc, body), 1);
            }
    /* Group commit happened: fewer segments than requests. */
    assert_true(sc.segments < (size_t)NT * REQS);
    assert_int_equal(sc.segments, st.segments);
    scan_free(&sc);
}

/* One request with logs and spans: both segments exist and are readable when append
 * returns; a tenant with more rows than the row-group limit gets several row groups. */
static void test_durable_on_return(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1", 20, 100);
    logbatch a, b;
    logbatch_make(&a, "big", "big", 250, 1);
    logbatch_make(&b, "small", "small", 30, 2);
    ig_span_row sp[3];
    memset(sp, 0, sizeof sp);
    for (int i = 0; i < 3; i++) {
        sp[i].id.tenant_id = S("big");
        sp[i].trace_id[0] = (uint8_t)(3 - i);
        sp[i].trace_id[15] = 0x77;
        sp[i].span_id[0] = (uint8_t)(i + 1);
        sp[i].timestamp_us = 1700000000000000LL + i;
        sp[i].end_timestamp_us = sp[i].timestamp_us + 10;
        sp[i].name = S("op");
    }
    ig_rows req1[2] = {a.b, {.table = IG_TABLE_SPANS, .n = 3, .u.spans = sp}};
    ig_wal_ack ack1, ack2;
    ig_errbuf eb = {""};
    /* Two requests from two threads would coalesce; here one after the other. */
    assert_int_equal(ig_wal_append(w, req1, 2, &ack1, &eb), 0);
    assert_int_equal(ack1.rows, 253);
    assert_int_equal(ack1.nsegments, 2);
    assert_string_equal(ack1.keys[0], "wal/logs/w1/00000000000000000001.parquet");
    assert_string_equal(ack1.keys[1], "wal/spans/w1/00000000000000000001.parquet");
    assert_int_equal(ig_wal_append(w, &b.b, 1, &ack2, &eb), 0);
    assert_string_equal(ack2.keys[0], "wal/logs/w1/00000000000000000002.parquet");

    /* Visible at once, before close. */
    ig_wal_seglist l;
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.segs[0].key, ack1.keys[0]);
    assert_string_equal(l.segs[0].writer, "w1");
    assert_int_equal(l.segs[0].seq, 1);
    assert_true(l.segs[0].size > 0);
    assert_true(l.segs[0].mtime_ns > 0);
    ig_wal_seglist_free(&l);

    pq_file *f;
    assert_int_equal(ig_wal_segment_open(ST(fx), ack1.keys[0], &f, &eb), 0);
    ig_wal_seginfo si;
    assert_int_equal(ig_wal_segment_info(f, &si, &eb), 0);
    assert_int_equal(si.nrgs, 3); /* 250 rows, row groups of at most 100 */
    assert_int_equal(si.rgs[0].rows, 100);
    assert_int_equal(si.rgs[1].rows, 100);
    assert_int_equal(si.rgs[2].rows, 50);
    for (size_t i = 0; i < 3; i++)
        assert_true(ig_wal_rg_is_tenant(&si, i, S("big")));
    assert_false(ig_wal_rg_is_tenant(&si, 0, S("small")));
    assert_false(ig_wal_rg_is_tenant(&si, 3, S("big")));
    assert_string_equal(pq_file_kv(f, IG_WAL_KV_WRITER), "w1");
    assert_string_equal(pq_file_kv(f, IG_WAL_KV_SEQ), "1");
    assert_string_equal(pq_file_kv(f, IG_WAL_KV_TABLE), "logs");
    /* Bloom filter on trace_id. */
    int tc = pq_schema_find(f->schema, "trace_id");
    assert_true(tc >= 0);
    assert_true(f->rgs[0].cols[tc].bloom_offset >= 0);
    assert_true(f->rgs[0].cols[tc].stats.has_min);
    ig_wal_seginfo_free(&si);
    pq_close(f);

    /* The spans segment: sorted by trace id. */
    assert_int_equal(ig_wal_segment_open(ST(fx), ack1.keys[1], &f, &eb), 0);
    assert_int_equal(f->num_rows, 3);
    pq_colvec v;
    pq_colvec_init(&v);
    assert_int_equal(
        pq_read_column(f, 0, (size_t)pq_schema_find(f->schema, "trace_id"), NULL, 0, &v, &eb), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pq_colvec_bytes(&v, i).ptr[0], (char)(i + 1));
    pq_colvec_free(&v);
    pq_close(f);

    /* Not found once deleted. */
    assert_int_equal(
        ig_wal_segment_open(ST(fx), "wal/logs/w1/00000000000000000099.parquet", &f, &eb),
        IG_ENOENT);
    ig_wal_close(w);
    logbatch_free(&a);
    logbatch_free(&b);
}

/* Several tenants in one flush: one file, row groups per tenant, never mixed. */
static void test_tenants_one_segment(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "w1", 5, 1000);
    logbatch lbs[3];
    logbatch_make(&lbs[0], "t2", "x", 40, 5);
    logbatch_make(&lbs[1], "t1", "y", 40, 6);
    logbatch_make(&lbs[2], "t2", "z", 40, 7); /* same tenant as the first: merged */
    ig_rows bs[3] = {lbs[0].b, lbs[1].b, lbs[2].b};
    ig_wal_ack ack;
    ig_errbuf eb = {""};
    assert_int_equal(ig_wal_append(w, bs, 3, &ack, &eb), 0);
    assert_int_equal(ack.nsegments, 1);
    assert_int_equal(ack.rows, 120);
    ig_wal_close(w);
    scan sc;
    scan_logs(ST(fx), &sc);
    assert_int_equal(sc.segments, 1);
    assert_int_equal(sc.rgs, 2); /* t1 then t2 (80 rows, one sorted run) */
    assert_int_equal(sc.rows, 120);
    assert_int_equal(body_count(&sc, "z-39"), 1);
    scan_free(&sc);
    for (int i = 0; i < 3; i++)
        logbatch_free(&lbs[i]);
}

typedef struct blocker {
    ig_wal *w;
    logbatch *lb;
    int rc;
} blocker;

static void *blocker_main(void *arg)
{
    blocker *b = arg;
    b->rc = ig_wal_append(b->w, &b->lb->b, 1, NULL, NULL);
    return NULL;
}

static void test_queue_cap(void **state)
{
    fixture *fx = *state;
    logbatch a, b, huge;
    logbatch_make(&a, "t", "a", 20, 1);
    logbatch_make(&b, "t", "b", 20, 2);
    logbatch_make(&huge, "t", "huge", 200, 3);
    size_t ab = ig_wal_rows_bytes(&a.b);
    ig_wal_opts o = {0};
    o.writer_id = "wcap";
    o.flush_interval_ns = 300 * IG_NS_PER_MS;
    o.queue_bytes = ab + ab / 2; /* room for a, not for a + b */
    ig_wal *w;
    ig_errbuf eb = {""};
    assert_int_equal(ig_wal_open(ST(fx), &o, &w, &eb), 0);
    assert_true(ig_wal_rows_bytes(&huge.b) > o.queue_bytes);
    assert_int_equal(ig_wal_append(w, &huge.b, 1, NULL, &eb), IG_ETOOBIG);

    blocker bl = {w, &a, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blocker_main, &bl), 0);
    ig_wal_stats st;
    do {
        usleep(1000);
        ig_wal_get_stats(w, &st);
    } while (st.queue_bytes == 0 && st.rows == 0);
    if (st.rows == 0) { /* a is still waiting for its flush: the queue is full */
        ig_wal_ack ack;
        assert_int_equal(ig_wal_append(w, &b.b, 1, &ack, &eb), IG_EAGAIN);
        assert_non_null(strstr(eb.msg, "queue full"));
        assert_int_equal(ack.nsegments, 0);
    }
    pthread_join(th, NULL);
    assert_int_equal(bl.rc, 0);
    ig_wal_close(w);
    scan sc;
    scan_logs(ST(fx), &sc);
    assert_int_equal(sc.rows, 20); /* nothing of b */
    assert_int_equal(body_count(&sc, "b-0"), 0);
    assert_int_equal(body_count(&sc, "a-0"), 1);
    scan_free(&sc);
    logbatch_free(&a);
    logbatch_free(&b);
    logbatch_free(&huge);
}

static void write_file(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
    close(fd);
}

static void test_restart_and_garbage(void **state)
{
    fixture *fx = *state;
    logbatch a;
    logbatch_make(&a, "t", "a", 10, 1);
    ig_wal_ack ack;
    ig_errbuf eb = {""};
    ig_wal *w = open_wal(fx, "wr", 1, 0);
    assert_int_equal(ig_wal_append(w, &a.b, 1, &ack, &eb), 0);
    assert_int_equal(ack.seqs[0], 1);
    assert_int_equal(ig_wal_append(w, &a.b, 1, &ack, &eb), 0);
    assert_int_equal(ack.seqs[0], 2);
    ig_wal_close(w);

    /* Garbage a crash or an operator may leave: a temp file of the store, a truncated
     * file without the .parquet suffix, names of the wrong shape. */
    char p[512];
    snprintf(p, sizeof p, "%s/wal/logs/wr/.ig-tmp\\999.1", fx->root);
    write_file(p, "PAR1 torn");
    snprintf(p, sizeof p, "%s/wal/logs/wr/00000000000000000007.parquet.part", fx->root);
    write_file(p, "PAR1 torn");
    snprintf(p, sizeof p, "%s/wal/logs/wr/00000000000000000008", fx->root);
    write_file(p, "PAR1");
    snprintf(p, sizeof p, "%s/wal/logs/wr/123.parquet", fx->root);
    write_file(p, "PAR1");
    snprintf(p, sizeof p, "%s/wal/logs/README", fx->root);
    write_file(p, "x");

    ig_wal_seglist l;
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 2);
    ig_wal_seglist_free(&l);

    w = open_wal(fx, "wr", 1, 0);
    assert_int_equal(ig_wal_append(w, &a.b, 1, &ack, &eb), 0);
    assert_int_equal(ack.seqs[0], 3); /* continues after what is on disk */
    ig_wal_close(w);

    /* Another process shares the id and already wrote seq 4: put-if-absent refuses to
     * overwrite, the writer moves past it and the footer names the seq used. */
    w = open_wal(fx, "wr", 1, 0);
    ig_buf seg;
    ig_buf_init(&seg, 0);
    assert_int_equal(ig_store_get(ST(fx), "wal/logs/wr/00000000000000000003.parquet", &seg, &eb),
                     0);
    assert_int_equal(
        ig_store_put(ST(fx), "wal/logs/wr/00000000000000000004.parquet", seg.data, seg.len, &eb),
        0);
    assert_int_equal(
        ig_store_put(ST(fx), "wal/logs/wr/00000000000000000006.parquet", seg.data, seg.len, &eb),
        0);
    ig_buf_free(&seg);
    assert_int_equal(ig_wal_append(w, &a.b, 1, &ack, &eb), 0);
    assert_int_equal(ack.seqs[0], 7);
    pq_file *f;
    assert_int_equal(ig_wal_segment_open(ST(fx), ack.keys[0], &f, &eb), 0);
    assert_string_equal(pq_file_kv(f, IG_WAL_KV_SEQ), "7");
    pq_close(f);
    ig_wal_close(w);

    /* A random writer id when none is given: 16 hex digits. */
    w = open_wal(fx, NULL, 1, 0);
    const char *id = ig_wal_writer_id(w);
    assert_int_equal(strlen(id), 16);
    assert_int_equal(strspn(id, "0123456789abcdef"), 16);
    ig_wal_close(w);
    logbatch_free(&a);
}

static void test_positions_and_list(void **state)
{
    fixture *fx = *state;
    logbatch a;
    logbatch_make(&a, "t", "a", 5, 1);
    ig_errbuf eb = {""};
    const char *writers[] = {"w2", "w1", "w1-b"};
    for (int i = 0; i < 3; i++) {
        ig_wal *w = open_wal(fx, writers[i], 1, 0);
        for (int k = 0; k < 3; k++)
            assert_int_equal(ig_wal_append(w, &a.b, 1, NULL, &eb), 0);
        ig_wal_close(w);
    }
    ig_wal_seglist l;
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 9);
    const char *want_w[] = {"w1", "w1", "w1", "w1-b", "w1-b", "w1-b", "w2", "w2", "w2"};
    for (size_t i = 0; i < 9; i++) {
        assert_string_equal(l.segs[i].writer, want_w[i]);
        assert_int_equal(l.segs[i].seq, i % 3 + 1);
    }
    ig_wal_seglist_free(&l);
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_SPANS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 0);
    ig_wal_seglist_free(&l);

    ig_wal_pos pos = {0};
    assert_int_equal(ig_wal_pos_set(&pos, "w1", 2), 0);
    assert_int_equal(ig_wal_pos_set(&pos, "w2", 3), 0);
    assert_int_equal(ig_wal_pos_set(&pos, "bad/id", 3), IG_EINVAL);
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, &pos, &l, &eb), 0);
    assert_int_equal(l.n, 4); /* w1:3, w1-b:1..3 */
    assert_string_equal(l.segs[0].writer, "w1");
    assert_int_equal(l.segs[0].seq, 3);
    assert_string_equal(l.segs[1].writer, "w1-b");
    assert_int_equal(ig_wal_pos_cover(&pos, &l), 0);
    ig_wal_seglist_free(&l);
    assert_int_equal(ig_wal_pos_get(&pos, "w1"), 3);
    assert_int_equal(ig_wal_pos_get(&pos, "w1-b"), 3);
    assert_int_equal(ig_wal_pos_get(&pos, "nobody"), 0);
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, &pos, &l, &eb), 0);
    assert_int_equal(l.n, 0);
    ig_wal_seglist_free(&l);

    /* Text form round trip and errors. */
    ig_buf txt;
    ig_buf_init(&txt, 1024);
    assert_int_equal(ig_wal_pos_format(&pos, &txt), 0);
    assert_string_equal(txt.data, "w1:3,w1-b:3,w2:3");
    ig_wal_pos back = {0};
    assert_int_equal(ig_wal_pos_parse(ig_buf_str(&txt), &back, &eb), 0);
    assert_int_equal(back.n, 3);
    assert_int_equal(ig_wal_pos_get(&back, "w1-b"), 3);
    assert_int_equal(ig_wal_pos_parse(S(""), &back, &eb), 0);
    assert_int_equal(back.n, 0);
    assert_int_equal(ig_wal_pos_parse(S("w1:3,"), &back, &eb), IG_EINVAL);
    assert_int_equal(ig_wal_pos_parse(S("w1:x"), &back, &eb), IG_EINVAL);
    assert_int_equal(ig_wal_pos_parse(S("w1:-1"), &back, &eb), IG_EINVAL);
    assert_int_equal(ig_wal_pos_parse(S(":1"), &back, &eb), IG_EINVAL);
    assert_int_equal(ig_wal_pos_parse(S("w1:1,w1:2"), &back, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "twice"));
    ig_buf_free(&txt);
    ig_wal_pos_free(&back);
    ig_wal_pos_free(&pos);
    logbatch_free(&a);
}

static void test_delete_upto(void **state)
{
    fixture *fx = *state;
    logbatch a;
    logbatch_make(&a, "t", "a", 5, 1);
    ig_errbuf eb = {""};
    ig_wal *w = open_wal(fx, "w1", 1, 0);
    for (int k = 0; k < 4; k++)
        assert_int_equal(ig_wal_append(w, &a.b, 1, NULL, &eb), 0);
    ig_wal_close(w);
    w = open_wal(fx, "w2", 1, 0);
    assert_int_equal(ig_wal_append(w, &a.b, 1, NULL, &eb), 0);
    ig_wal_close(w);

    ig_wal_pos pos = {0};
    assert_int_equal(ig_wal_pos_set(&pos, "w1", 2), 0);
    size_t nd = 99;
    /* Within the grace period: nothing is deleted. */
    assert_int_equal(
        ig_wal_delete_upto(ST(fx), IG_TABLE_LOGS, &pos, ig_now_ns() - 3600 * IG_NS_PER_S, &nd, &eb),
        0);
    assert_int_equal(nd, 0);
    /* Past it: only what pos covers (w1:1, w1:2). */
    assert_int_equal(
        ig_wal_delete_upto(ST(fx), IG_TABLE_LOGS, &pos, ig_now_ns() + 3600 * IG_NS_PER_S, &nd, &eb),
        0);
    assert_int_equal(nd, 2);
    ig_wal_seglist l;
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.segs[0].seq, 3);
    assert_int_equal(l.segs[1].seq, 4);
    assert_string_equal(l.segs[2].writer, "w2");
    ig_wal_seglist_free(&l);
    /* Again: idempotent. */
    assert_int_equal(
        ig_wal_delete_upto(ST(fx), IG_TABLE_LOGS, &pos, ig_now_ns() + 3600 * IG_NS_PER_S, &nd, &eb),
        0);
    assert_int_equal(nd, 0);
    /* Everything covered: each writer's newest segment stays (w1:4, w2:1), so numbers
     * are never reused by a writer restarted with the same id. */
    assert_int_equal(ig_wal_pos_set(&pos, "w1", 4), 0);
    assert_int_equal(ig_wal_pos_set(&pos, "w2", 1), 0);
    assert_int_equal(
        ig_wal_delete_upto(ST(fx), IG_TABLE_LOGS, &pos, ig_now_ns() + 3600 * IG_NS_PER_S, &nd, &eb),
        0);
    assert_int_equal(nd, 1);
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, &pos, &l, &eb), 0);
    assert_int_equal(l.n, 0); /* the kept tails are covered: readers skip them */
    ig_wal_seglist_free(&l);
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.segs[0].seq, 4);
    assert_int_equal(l.segs[1].seq, 1);
    ig_wal_seglist_free(&l);
    /* After deleting, a reopened writer still continues after the highest seq (4). */
    w = open_wal(fx, "w1", 1, 0);
    ig_wal_ack ack;
    assert_int_equal(ig_wal_append(w, &a.b, 1, &ack, &eb), 0);
    assert_int_equal(ack.seqs[0], 5);
    ig_wal_close(w);
    ig_wal_pos_free(&pos);
    logbatch_free(&a);
}

static void test_flush_failure(void **state)
{
    fixture *fx = *state;
    logbatch a, b;
    logbatch_make(&a, "t", "a", 10, 1);
    logbatch_make(&b, "t", "b", 10, 2);
    ig_errbuf eb = {""};
    ig_wal_ack ack;
    ig_wal *w = open_wal(fx, "wf", 1, 0);

    /* The store fails every put: the waiter gets the error, nothing becomes visible. */
    atomic_store(&fx->st.fail_puts, 1);
    assert_int_equal(ig_wal_append(w, &a.b, 1, &ack, &eb), IG_EIO);
    assert_non_null(strstr(eb.msg, "injected"));
    assert_int_equal(ack.nsegments, 0);
    atomic_store(&fx->st.fail_puts, 0);
    ig_wal_seglist l;
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 0);
    ig_wal_seglist_free(&l);

    /* The WAL keeps working, and the failed attempt used no sequence number. */
    assert_int_equal(ig_wal_append(w, &b.b, 1, &ack, &eb), 0);
    assert_int_equal(ack.seqs[0], 1);

    /* Allocation failure in the flusher: error to the waiter, then recovery. */
    ig_alloc_fail_after(0);
    int rc = ig_wal_append(w, &a.b, 1, &ack, &eb);
    ig_alloc_fail_reset();
    assert_int_equal(rc, IG_ENOMEM);
    assert_int_equal(ig_wal_append(w, &a.b, 1, &ack, &eb), 0);
    assert_int_equal(ack.seqs[0], 2);

    /* One table fails, the other succeeds: the request gets the error, and its ack
     * names the segment that did become durable (its rows will be duplicated when the
     * client retries; documented in docs/wal.md). */
    ig_span_row sp;
    memset(&sp, 0, sizeof sp);
    sp.id.tenant_id = S("t");
    sp.trace_id[0] = 1;
    sp.span_id[0] = 1;
    sp.name = S("op");
    ig_rows req[2] = {b.b, {.table = IG_TABLE_SPANS, .n = 1, .u.spans = &sp}};
    fx->st.fail_substr = "wal/spans/";
    atomic_store(&fx->st.fail_puts, 1);
    assert_int_equal(ig_wal_append(w, req, 2, &ack, &eb), IG_EIO);
    atomic_store(&fx->st.fail_puts, 0);
    assert_int_equal(ack.nsegments, 1);
    assert_int_equal(ack.tables[0], IG_TABLE_LOGS);
    assert_int_equal(ig_wal_append(w, req, 2, &ack, &eb), 0);
    assert_int_equal(ack.nsegments, 2);

    ig_wal_stats st;
    ig_wal_get_stats(w, &st);
    assert_int_equal(st.failed_flushes, 3);
    assert_int_equal(st.queue_bytes, 0);
    ig_wal_close(w);

    scan sc;
    scan_logs(ST(fx), &sc);
    assert_int_equal(body_count(&sc, "a-0"), 1); /* the failed attempts left nothing */
    assert_int_equal(body_count(&sc, "b-0"), 3); /* once alone, twice with spans */
    scan_free(&sc);
    logbatch_free(&a);
    logbatch_free(&b);
}

static void test_bad_input(void **state)
{
    fixture *fx = *state;
    ig_errbuf eb = {""};
    ig_wal *w = NULL;
    ig_wal_opts o = {0};
    o.writer_id = "../x";
    assert_int_equal(ig_wal_open(ST(fx), &o, &w, &eb), IG_EINVAL);
    o.writer_id = ".hidden";
    assert_int_equal(ig_wal_open(ST(fx), &o, &w, &eb), IG_EINVAL);
    w = open_wal(fx, "w1", 1, 0);
    logbatch a;
    logbatch_make(&a, "t", "a", 4, 1);
    a.rows[2].id.tenant_id = S("other");
    assert_int_equal(ig_wal_append(w, &a.b, 1, NULL, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "another tenant"));
    a.rows[2].id.tenant_id = IG_STR_NULL;
    a.rows[0].id.tenant_id = IG_STR_NULL;
    assert_int_equal(ig_wal_append(w, &a.b, 1, NULL, &eb), IG_EINVAL);
    ig_rows bad = {.table = (ig_table_id)9, .n = 1, .u.logs = a.rows};
    assert_int_equal(ig_wal_append(w, &bad, 1, NULL, &eb), IG_EINVAL);
    ig_rows empty = {.table = IG_TABLE_LOGS, .n = 0};
    ig_wal_ack ack;
    assert_int_equal(ig_wal_append(w, &empty, 1, &ack, &eb), 0);
    assert_int_equal(ack.nsegments, 0);
    ig_wal_close(w);
    ig_wal_seglist l;
    assert_int_equal(ig_wal_list(ST(fx), IG_TABLE_LOGS, NULL, &l, &eb), 0);
    assert_int_equal(l.n, 0);
    ig_wal_seglist_free(&l);
    /* Keys */
    ig_table_id t;
    char wr[IG_WAL_WRITER_MAX + 1];
    uint64_t seq;
    assert_true(ig_wal_parse_key("wal/spans/abc/00000000000000000012.parquet", &t, wr, &seq));
    assert_int_equal(t, IG_TABLE_SPANS);
    assert_string_equal(wr, "abc");
    assert_int_equal(seq, 12);
    assert_false(ig_wal_parse_key("wal/spans/abc/0000000000000000012.parquet", &t, wr, &seq));
    assert_false(ig_wal_parse_key("wal/other/abc/00000000000000000012.parquet", &t, wr, &seq));
    assert_false(ig_wal_parse_key("wal/logs/abc/99999999999999999999.parquet", &t, wr, &seq));
    assert_false(ig_wal_parse_key("wal/logs/abc/00000000000000000012.parquetx", &t, wr, &seq));
    assert_false(ig_wal_parse_key("wal/logs/a/b/00000000000000000012.parquet", &t, wr, &seq));
    logbatch_free(&a);
}

/* Footer facts that do not match the file are reported as corrupt, never trusted. */
static void write_with_kv(ig_buf *out, const char *rgs_json, bool all_keys)
{
    ig_log_row r[2];
    logbatch lb;
    logbatch_make(&lb, "t", "x", 2, 1);
    memcpy(r, lb.rows, sizeof r);
    ig_rows b = {.table = IG_TABLE_LOGS, .n = 2, .u.logs = r};
    pq_writer *w;
    ig_buf_reset(out);
    assert_int_equal(
        pq_writer_new(&w, ig_table_schema(IG_TABLE_LOGS), NULL, pq_sink_buf(out), NULL), 0);
    assert_int_equal(ig_rows_write(w, &b, 0, 2, NULL), 0);
    assert_int_equal(pq_writer_flush(w, NULL), 0);
    if (all_keys) {
        assert_int_equal(pq_writer_add_kv(w, IG_WAL_KV_WRITER, "w1"), 0);
        assert_int_equal(pq_writer_add_kv(w, IG_WAL_KV_SEQ, "3"), 0);
    }
    assert_int_equal(pq_writer_add_kv(w, IG_WAL_KV_TABLE, "logs"), 0);
    assert_int_equal(pq_writer_add_kv(w, IG_WAL_KV_RGS, rgs_json), 0);
    assert_int_equal(pq_writer_close(w, NULL, NULL), 0);
    pq_writer_free(w);
    logbatch_free(&lb);
}

static void test_seginfo_checks(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool all_keys;
        int want;
    } cases[] = {
        {"[{\"tenant\":\"t\",\"rows\":2,\"min_ts\":1,\"max_ts\":2}]", true, 0},
        {"[{\"tenant\":\"t\",\"rows\":2,\"min_ts\":1,\"max_ts\":2}]", false, IG_ECORRUPT},
        {"[{\"tenant\":\"t\",\"rows\":3,\"min_ts\":1,\"max_ts\":2}]", true, IG_ECORRUPT},
        {"[{\"tenant\":\"t\",\"rows\":2},{\"tenant\":\"u\",\"rows\":0}]", true, IG_ECORRUPT},
        {"[]", true, IG_ECORRUPT},
        {"[{\"rows\":2}]", true, IG_ECORRUPT},
        {"[{\"tenant\":5,\"rows\":2}]", true, IG_ECORRUPT},
        {"{", true, IG_ECORRUPT},
    };
    ig_buf out;
    ig_buf_init(&out, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_with_kv(&out, cases[i].json, cases[i].all_keys);
        pq_file *f;
        assert_int_equal(pq_open_mem(&f, out.data, out.len, NULL, NULL), 0);
        ig_wal_seginfo si;
        ig_errbuf eb = {""};
        int rc = ig_wal_segment_info(f, &si, &eb);
        if (rc != cases[i].want)
            fail_msg("case %zu: got %d (%s), want %d", i, rc, eb.msg, cases[i].want);
        if (rc == 0) {
            assert_int_equal(si.nrgs, 1);
            assert_int_equal(si.seq, 3);
            assert_true(ig_wal_rg_is_tenant(&si, 0, S("t")));
            assert_int_equal(si.rgs[0].max_ts_us, 2);
        }
        ig_wal_seginfo_free(&si);
        pq_close(f);
    }
    ig_buf_free(&out);
}

static void test_opts_from_config(void **state)
{
    (void)state;
    ig_config cfg;
    ig_errbuf eb = {""};
    char *env[] = {NULL};
    assert_int_equal(ig_config_load(&cfg, NULL, env, &eb), 0);
    ig_wal_opts o;
    ig_wal_opts_from_config(&cfg, &o);
    assert_int_equal(o.flush_interval_ns, 200 * IG_NS_PER_MS);
    assert_int_equal(o.flush_rows, 65536);
    assert_int_equal(o.queue_bytes, (size_t)256 << 20);
    assert_int_equal(o.pq.row_group_rows, 65536);
    assert_null(o.writer_id);
    ig_config_free(&cfg);
}

/* Close flushes what is queued: appends blocked on a long interval return with success. */
static void test_close_flushes(void **state)
{
    fixture *fx = *state;
    ig_wal *w = open_wal(fx, "wc", 60000, 0); /* a minute: only close can flush it */
    logbatch a;
    logbatch_make(&a, "t", "a", 7, 1);
    blocker bl = {w, &a, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blocker_main, &bl), 0);
    ig_wal_stats st;
    do {
        usleep(1000);
        ig_wal_get_stats(w, &st);
    } while (st.queue_bytes == 0);
    ig_wal_close(w);
    pthread_join(th, NULL);
    assert_int_equal(bl.rc, 0);
    scan sc;
    scan_logs(ST(fx), &sc);
    assert_int_equal(sc.rows, 7);
    scan_free(&sc);
    logbatch_free(&a);
}

int main(void)
{
    ig_log_set_level(IG_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durable_on_return, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenants_one_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_positions_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_upto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_flushes, setup, teardown),
        cmocka_unit_test(test_seginfo_checks),
        cmocka_unit_test(test_opts_from_config),
    };
    return cmocka_run_group_tests_name("wal", tests, NULL, NULL);
}
