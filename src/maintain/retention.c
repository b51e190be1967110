/* retention: drop data past each tenant's retention period in one commit. Design note:
 * docs/iceberg.md §8.3. */
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/log.h"
#include "maintain/mj_internal.h"

#define US_PER_DAY 86400000000LL
#define TS_FIELD_ID_UNKNOWN -1

typedef enum { KEEP, DROP, REWRITE } verdict;

/* The timestamp bounds of a file from its metrics (field id of `timestamp`). */
static bool ts_bounds(const mj__file *f, int32_t ts_id, int64_t *lo, int64_t *hi)
{
    for (size_t i = 0; i < f->e.file.nmetrics; i++) {
        const ig_mf_metric *mt = &f->e.file.metrics[i];
        if (mt->field_id != ts_id || mt->lower.len != 8 || mt->upper.len != 8)
            continue;
        uint64_t a = 0, b = 0;
        for (int k = 7; k >= 0; k--) {
            a = (a << 8) | (uint8_t)mt->lower.ptr[k];
            b = (b << 8) | (uint8_t)mt->upper.ptr[k];
        }
        *lo = (int64_t)a;
        *hi = (int64_t)b;
        return true;
    }
    return false;
}

static verdict judge(const mj__file *f, int32_t ts_id, int64_t cutoff_us, bool keep_partial)
{
    if (f->has_day && ((int64_t)f->day + 1) * US_PER_DAY <= cutoff_us)
        return DROP; /* the whole day partition is past the cutoff */
    int64_t lo, hi;
    if (ts_bounds(f, ts_id, &lo, &hi)) {
        if (hi < cutoff_us)
            return DROP;
        if (lo >= cutoff_us)
            return KEEP;
        return keep_partial ? KEEP : REWRITE;
    }
    if (!f->has_day || (int64_t)f->day * US_PER_DAY >= cutoff_us)
        return KEEP;
    return keep_partial ? KEEP : REWRITE; /* no bounds: the day straddles the cutoff */
}

typedef struct keep_ctx {
    mj__dfw *d;
    int ts_idx;
    int64_t cutoff;
    uint64_t seen;
} keep_ctx;

static int keep_row(void *ctx, const pq_value *row)
{
    keep_ctx *k = ctx;
    k->seen++;
    const pq_value *ts = &row->items[k->ts_idx];
    if (ts->kind != PQ_V_INT || ts->i < k->cutoff)
        return 0;
    return mj__dfw_add(k->d, row, NULL);
}

static int32_t ts_field_id(ig_table_id t)
{
    size_t n = 0;
    const pq_field *fs = ig_table_fields(t, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(fs[i].name, "timestamp"))
            return fs[i].id;
    return TS_FIELD_ID_UNKNOWN;
}

int ig_mj_retention(catalog *cat, ig_store *store, ig_table_id table,
                    const ig_mj_retention_opts *opts, ig_mj_result *res, ig_errbuf *eb)
{
    ig_mj_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    ig_mj_retention_opts o = {0};
    if (opts)
        o = *opts;
    const char *tname = ig_table_name(table);
    int64_t now_us = mj__now_ms(o.now_ms) * 1000;
    int32_t ts_id = ts_field_id(table);
    int ts_idx = mj__top_index(table, "timestamp");
    if (ts_id < 0 || ts_idx < 0)
        return ig_err(eb, IG_EINTERNAL, "table %s has no timestamp column", tname);
    int rc = 0;
    for (int attempt = 0; attempt < IG_MJ_RETRIES; attempt++) {
        catalog_table t;
        if ((rc = catalog_table_load(cat, store, MJ_NS, tname, &t, eb)))
            return rc;
        mj__view v;
        ig_map remove;
        ig_map_init(&remove, 0);
        ig_arena a; /* the new files' manifest entries */
        ig_arena_init(&a, (size_t)256 << 20);
        ig_mf_data_file *adds = NULL;
        size_t nadd = 0, capadd = 0;
        uint64_t rows_removed = 0, rows_rewritten = 0, dropped = 0;
        bool rewrote = false;
        if ((rc = mj__view_load(store, &t.meta, &v, eb)))
            goto next;
        for (size_t i = 0; rc == 0 && i < v.nfiles; i++) {
            const mj__file *f = &v.files[i];
            int64_t period = o.period ? o.period(o.ctx, f->tenant) : o.default_period_us;
            if (period <= 0)
                continue;
            int64_t cutoff = now_us - period;
            verdict vd = judge(f, ts_id, cutoff, o.keep_partial);
            if (vd == KEEP)
                continue;
            if ((rc = ig_map_put(&remove, f->e.file.path, (void *)1, NULL)))
                break;
            if (vd == DROP) {
                rows_removed += (uint64_t)f->e.file.record_count;
                dropped++;
                continue;
            }
            /* partly expired: stream the rows at or after the cutoff into a new file */
            mj__dfw d;
            keep_ctx kc = {.d = &d, .ts_idx = ts_idx, .cutoff = cutoff};
            if ((rc = mj__dfw_open(&d, store, table, f, 0, eb)))
                break;
            rc = mj__scan_rows(store, table, f->e.file.path, keep_row, &kc, eb);
            if (rc == 0 && kc.seen != (uint64_t)f->e.file.record_count)
                rc = ig_err(eb, IG_ECORRUPT, "%.*s: %llu rows, its manifest entry says %lld",
                            (int)f->e.file.path.len, f->e.file.path.ptr,
                            (unsigned long long)kc.seen, (long long)f->e.file.record_count);
            if (rc == IG_EUNSUPPORTED) {
                /* not in the table's layout (another engine wrote it): cannot be rewritten
                 * here, so it stays whole until all its rows expire */
                ig_logf(IG_LOG_WARN, "retention: %.*s kept whole: %s", (int)f->e.file.path.len,
                        f->e.file.path.ptr, eb && eb->msg[0] ? eb->msg : ig_strerror(rc));
                ig_map_remove(&remove, f->e.file.path);
                mj__dfw_free(&d);
                rc = 0;
                continue;
            }
            rows_removed += kc.seen - d.rows;
            rows_rewritten += d.rows;
            if (rc == 0 && d.rows) {
                if (nadd == capadd) {
                    size_t nc = capadd ? capadd * 2 : 16;
                    ig_mf_data_file *p = ig_realloc(adds, nc * sizeof *p);
                    if (!p)
                        rc = IG_ENOMEM;
                    else {
                        adds = p;
                        capadd = nc;
                    }
                }
                if (rc == 0 && (rc = mj__dfw_finish(&d, store, &a, &adds[nadd], eb)) == 0)
                    nadd++;
            }
            mj__dfw_free(&d);
            rewrote = true;
        }
        if (rc || remove.count == 0)
            goto next;
        mj__rewrite rw = {.operation = rewrote ? "overwrite" : "delete",
                          .remove = &remove,
                          .add = adds,
                          .nadd = nadd,
                          .failpoint = "retention-before-commit"};
        rc = mj__commit_rewrite(cat, store, tname, &t, &v, &rw, eb);
        if (rc == 0) {
            res->commits++;
            res->files_removed = remove.count;
            res->files_added = nadd;
            res->rows_removed = rows_removed;
            res->rows_rewritten = rows_rewritten;
            (void)dropped;
        } else if (rc == IG_ECONFLICT) {
            /* the rewritten files are not referenced: delete them, re-plan from scratch */
            for (size_t i = 0; i < nadd; i++)
                mj__delete_uri(store, adds[i].path, NULL, NULL);
        }
    next:
        ig_free(adds);
        ig_arena_free(&a);
        ig_map_free(&remove);
        mj__view_free(&v);
        catalog_table_free(&t);
        if (rc != IG_ECONFLICT)
            return rc;
        res->conflicts++;
        mj__backoff(attempt);
    }
    return ig_err(eb, IG_ECONFLICT, "table %s: retention lost %d commits in a row", tname,
                  IG_MJ_RETRIES);
}
