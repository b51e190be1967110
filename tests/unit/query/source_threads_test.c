/* The logs-table source with several scan threads: entries reach the callback in the same
 * order as with one thread (plan order), none lost or doubled, also with a line filter and
 * with a consumer that stops early; cancellation (IG_ECANCELED). */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/logql.h"
#include "icegate/logql_eval.h"
#include "icegate/store.h"
#include "icegate/time.h"
#include "icegate/wal.h"

#define NSEG 9
#define PER 5000 /* rows per append: above the source's 4096-row threshold for threads */

typedef struct fixture {
    char tmp[64], root[96];
    ig_store *store;
} fixture;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static ig_attr LBL[2][1] = {{{{"app", 3}, {"a", 1}}}, {{{"app", 3}, {"b", 1}}}};

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ig_source_thr.XXXXXX");
    if (!fx || !mkdtemp(fx->tmp))
        return -1;
    snprintf(fx->root, sizeof fx->root, "%s/warehouse", fx->tmp);
    ig_errbuf eb;
    if (ig_store_open_fs(fx->root, &fx->store, &eb) != 0)
        return -1;
    ig_wal_opts o = {0};
    o.writer_id = "w1";
    o.flush_interval_ns = 1000000;
    ig_wal *w = NULL;
    if (ig_wal_open(fx->store, &o, &w, &eb) != 0)
        return -1;
    ig_log_row *rows = calloc(PER, sizeof *rows);
    char(*body)[32] = calloc(PER, 32);
    for (int s = 0; s < NSEG; s++) {
        for (int i = 0; i < PER; i++) {
            int k = s * PER + i;
            ig_log_row *r = &rows[i];
            memset(r, 0, sizeof *r);
            r->id.tenant_id = IG_STR("t1");
            r->timestamp_us = 1000 + k;
            r->ingested_us = 1000 + k;
            snprintf(body[i], 32, "line %d%s", k, k % 7 == 0 ? " seven" : "");
            r->body = ig_str_from(body[i]);
            r->resource_attributes = (ig_attrs){LBL[k & 1], 1};
            r->source = IG_STR("loki");
        }
        ig_rows b = {.table = IG_TABLE_LOGS, .n = PER, .u.logs = rows};
        if (ig_wal_append(w, &b, 1, NULL, &eb) != 0)
            return -1;
    }
    free(rows);
    free(body);
    ig_wal_close(w);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ig_store_close(fx->store);
    nftw(fx->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

typedef struct seq {
    int64_t *ts;
    size_t n, cap, stop_after;
} seq;

static int cb(void *ctx, const lq_entry *e)
{
    seq *s = ctx;
    if (s->n == s->cap)
        return IG_ETOOBIG;
    s->ts[s->n++] = e->ts_ns;
    return s->stop_after && s->n == s->stop_after ? 1 : 0;
}

static int run(fixture *fx, const char *q, int threads, seq *out, size_t stop_after)
{
    ig_arena a;
    ig_arena_init(&a, 1 << 24);
    logql_expr *e;
    ig_errbuf eb = {{0}};
    assert_int_equal(logql_parse(ig_str_from(q), &a, &e, &eb), 0);
    lq_table_source ts;
    lq_table_source_init(&ts, NULL, fx->store, IG_STR("t1"), IG_STR_NULL);
    ts.threads = threads;
    out->cap = NSEG * PER + 1;
    out->ts = calloc(out->cap, sizeof *out->ts);
    out->n = 0;
    out->stop_after = stop_after;
    int rc = ts.src.scan(&ts.src, &e->u.log, 0, INT64_MAX / 2, cb, out, &eb);
    ig_arena_free(&a);
    return rc;
}

static void same(fixture *fx, const char *q, size_t want, size_t stop_after)
{
    seq one, many;
    int r1 = run(fx, q, 1, &one, stop_after);
    for (int th = 2; th <= 5; th += 3) {
        int r2 = run(fx, q, th, &many, stop_after);
        assert_int_equal(r1, r2);
        assert_int_equal(one.n, want);
        assert_int_equal(many.n, want);
        assert_memory_equal(one.ts, many.ts, want * sizeof *one.ts);
        free(many.ts);
    }
    free(one.ts);
}

static void test_order(void **state)
{
    fixture *fx = *state;
    same(fx, "{app=~\".+\"}", NSEG * PER, 0);
    size_t sevens = 0;
    for (int k = 0; k < NSEG * PER; k++)
        sevens += k % 7 == 0 && (k & 1) == 0;
    same(fx, "{app=\"a\"} |= \"seven\"", sevens, 0);
    same(fx, "{app=~\".+\"}", 7777, 7777); /* the consumer stops: scan() returns 1 */
}

static bool always(void *ud)
{
    (*(int *)ud)++;
    return true;
}

static void test_cancel(void **state)
{
    fixture *fx = *state;
    ig_arena a;
    ig_arena_init(&a, 1 << 24);
    logql_expr *e;
    ig_errbuf eb = {{0}};
    assert_int_equal(logql_parse(IG_STR("{app=\"a\"}"), &a, &e, &eb), 0);
    for (int th = 1; th <= 3; th += 2) {
        lq_table_source ts;
        lq_table_source_init(&ts, NULL, fx->store, IG_STR("t1"), IG_STR_NULL);
        ts.threads = th;
        int calls = 0;
        ts.cancelled = always;
        ts.cancel_ud = &calls;
        seq o = {.cap = NSEG * PER + 1};
        o.ts = calloc(o.cap, sizeof *o.ts);
        assert_int_equal(ts.src.scan(&ts.src, &e->u.log, 0, INT64_MAX / 2, cb, &o, &eb),
                         IG_ECANCELED);
        assert_true(calls > 0);
        assert_true(o.n < NSEG * PER / 2);
        free(o.ts);
    }
    ig_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
