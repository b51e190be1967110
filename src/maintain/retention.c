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

/* The rewrite of one partly expired file, done once per run. */
typedef struct rewrite {
    ig_mf_data_file df; /* the new file (when has) */
    bool has;           /* rows remained: df was written */
    bool unsupported;   /* not in the table's layout: the file stays whole */
    uint64_t seen, kept;
    int attempt; /* last attempt that used it */
} rewrite;

/* Streams the rows at or after the cutoff of f into a new file (w->df, entries in ra). */
static int do_rewrite(ig_store *store, ig_table_id table, const mj__file *f, int ts_idx,
                      int64_t cutoff, ig_arena *ra, rewrite *w, ig_errbuf *eb)
{
    mj__dfw d;
    keep_ctx kc = {.d = &d, .ts_idx = ts_idx, .cutoff = cutoff};
    int rc = mj__dfw_open(&d, store, table, f, 0, eb);
    if (rc)
        return rc;
    rc = mj__scan_rows(store, table, f->e.file.path, keep_row, &kc, eb);
    if (rc == 0 && kc.seen != (uint64_t)f->e.file.record_count)
        rc = ig_err(eb, IG_ECORRUPT, "%.*s: %llu rows, its manifest entry says %lld",
                    (int)f->e.file.path.len, f->e.file.path.ptr, (unsigned long long)kc.seen,
                    (long long)f->e.file.record_count);
    if (rc == IG_EUNSUPPORTED) {
        /* not in the table's layout (another engine wrote it): cannot be rewritten here,
         * so it stays whole until all its rows expire */
        ig_logf(IG_LOG_WARN, "retention: %.*s kept whole: %s", (int)f->e.file.path.len,
                f->e.file.path.ptr, eb && eb->msg[0] ? eb->msg : ig_strerror(rc));
        w->unsupported = true;
        rc = 0;
    } else if (rc == 0) {
        w->seen = kc.seen;
        w->kept = d.rows;
        if (d.rows && (rc = mj__dfw_finish(&d, store, ra, &w->df, eb)) == 0)
            w->has = true;
    }
    mj__dfw_free(&d);
    return rc;
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
    /* Rewrites are kept across retries (the cutoffs do not move within a run): after a
     * lost swap, a file that is still live reuses its rewrite instead of being read again.
     * Those of the run that end up uncommitted are deleted at the end. */
    ig_arena ra;
    ig_arena_init(&ra, (size_t)256 << 20);
    ig_map cache; /* source path -> rewrite */
    ig_map_init(&cache, 0);
    int rc = 0, attempt = 0;
    bool committed = false, unknown = false;
    for (; attempt < IG_MJ_RETRIES; attempt++) {
        catalog_table t;
        if ((rc = catalog_table_load(cat, store, MJ_NS, tname, &t, eb)))
            break;
        mj__view v;
        ig_map remove;
        ig_map_init(&remove, 0);
        ig_mf_data_file *adds = NULL;
        size_t nadd = 0, capadd = 0;
        uint64_t rows_removed = 0, rows_rewritten = 0;
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
            if (vd == DROP) {
                if ((rc = ig_map_put(&remove, f->e.file.path, (void *)1, NULL)))
                    break;
                rows_removed += (uint64_t)f->e.file.record_count;
                continue;
            }
            rewrite *w = ig_map_get(&cache, f->e.file.path);
            if (!w) {
                w = ig_arena_zalloc(&ra, sizeof *w);
                if (!w || (rc = ig_map_put(&cache, f->e.file.path, w, NULL))) {
                    rc = rc ? rc : IG_ENOMEM;
                    break;
                }
                if ((rc = do_rewrite(store, table, f, ts_idx, cutoff, &ra, w, eb)))
                    break;
            }
            if (w->unsupported)
                continue; /* stays whole (logged when it was tried) */
            if ((rc = ig_map_put(&remove, f->e.file.path, (void *)1, NULL)))
                break;
            w->attempt = attempt;
            rows_removed += w->seen - w->kept;
            rows_rewritten += w->kept;
            rewrote = true;
            if (!w->has)
                continue;
            if (nadd == capadd) {
                size_t nc = capadd ? capadd * 2 : 16;
                ig_mf_data_file *p = ig_realloc(adds, nc * sizeof *p);
                if (!p) {
                    rc = IG_ENOMEM;
                    break;
                }
                adds = p;
                capadd = nc;
            }
            adds[nadd++] = w->df;
        }
        if (rc || remove.count == 0)
            goto next;
        if (o.before_commit && (rc = o.before_commit(o.hook_ctx)))
            goto next;
        mj__rewrite rw = {.operation = rewrote ? "overwrite" : "delete",
                          .remove = &remove,
                          .add = adds,
                          .nadd = nadd,
                          .failpoint = "retention-before-commit"};
        rc = mj__commit_rewrite(cat, store, tname, &t, &v, &rw, eb);
        if (rc == 0) {
            committed = true;
            res->commits++;
            res->files_removed = remove.count;
            res->files_added = nadd;
            res->rows_removed = rows_removed;
            res->rows_rewritten = rows_rewritten;
        } else if (rc != IG_ECONFLICT && rc != IG_ENOENT && rc != IG_EINVAL) {
            unknown = true; /* the swap may have happened: keep this attempt's files */
        }
    next:
        ig_free(adds);
        ig_map_free(&remove);
        mj__view_free(&v);
        catalog_table_free(&t);
        if (rc != IG_ECONFLICT)
            break;
        res->conflicts++;
        mj__backoff(attempt);
    }
    /* rewrites not in the committed attempt (or none committed) are unreferenced */
    size_t it = 0;
    ig_map_entry *e;
    while ((e = ig_map_next(&cache, &it))) {
        rewrite *w = e->value;
        bool keep = (committed || unknown) && w->attempt == attempt;
        if (w->has && !keep)
            mj__delete_uri(store, w->df.path, NULL, NULL);
    }
    ig_map_free(&cache);
    ig_arena_free(&ra);
    if (rc != IG_ECONFLICT)
        return rc;
    return ig_err(eb, IG_ECONFLICT, "table %s: retention lost %d commits in a row", tname,
                  IG_MJ_RETRIES);
}
