/* LogQL metric evaluation (lq_eval_metric) and Loki's JSON for metric results
 * (lq_result_json). Design note: docs/query.md, section "Metric evaluation".
 *
 * Every node of the expression is evaluated over all steps at once into an mq_val: a
 * list of series, each with one value slot per step and a presence flag per step (a
 * step without a point is a gap), or, for scalar nodes, one value per step. Label sets
 * do not change from step to step, so grouping keys, matching signatures and
 * label_replace results are computed once per series, and only values are combined per
 * step.
 *
 * Range aggregations scan the source once over [start - range - offset,
 * end - offset + 1ns), run each entry through the pipeline, bucket samples per output
 * series (after the unwrapped label is removed and range-level by/without applied),
 * sort each bucket by time and slide the windows (t - offset - range, t - offset] over
 * it with two cursors; counts and byte sums use prefix sums.
 *
 * Memory: everything lives in the caller's arena (its cap bounds the query); the
 * per-entry pipeline output lives in a scratch arena reset every entry. */
#include <math.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/labels.h"
#include "icegate/logql_eval.h"
#include "icegate/time.h"

#define MQ_MAX_POINTS 11000
#define MQ_DEFAULT_MAX_SERIES 500
#define MQ_SCRATCH_CAP (64u << 20)

/* ---- label helpers (local; the engine-wide ones live in labels.c) ------------------- */

static int mq_lab_cmp(const lq_labels *a, const lq_labels *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        int c = ig_str_cmp(a->v[i].name, b->v[i].name);
        if (c)
            return c;
        c = ig_str_cmp(a->v[i].value, b->v[i].value);
        if (c)
            return c;
    }
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

static bool mq_lab_eq(const lq_labels *a, const lq_labels *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!ig_str_eq(a->v[i].name, b->v[i].name) || !ig_str_eq(a->v[i].value, b->v[i].value))
            return false;
    return true;
}

static uint64_t mq_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t mq_lab_hash(const lq_labels *l)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < l->n; i++) {
        h = mq_fnv(h, l->v[i].name.ptr, l->v[i].name.len);
        h = mq_fnv(h, "\xff", 1);
        h = mq_fnv(h, l->v[i].value.ptr, l->v[i].value.len);
        h = mq_fnv(h, "\xfe", 1);
    }
    return h;
}

static ig_str mq_lab_get(const lq_labels *l, ig_str name)
{
    for (size_t i = 0; i < l->n; i++)
        if (ig_str_eq(l->v[i].name, name))
            return l->v[i].value;
    return IG_STR_NULL;
}

/* Deep copy of l into a (names and values copied). */
static int mq_lab_dup(ig_arena *a, const lq_labels *l, lq_labels *out)
{
    out->n = l->n;
    out->v = NULL;
    if (!l->n)
        return 0;
    out->v = ig_arena_alloc(a, l->n * sizeof(lq_label));
    if (!out->v)
        return IG_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        out->v[i].name = ig_arena_strdup(a, l->v[i].name);
        out->v[i].value = ig_arena_strdup(a, l->v[i].value);
        if (!out->v[i].name.ptr || !out->v[i].value.ptr)
            return IG_ENOMEM;
    }
    return 0;
}

static bool mq_in_list(ig_str name, const ig_str *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ig_str_eq(name, names[i]))
            return true;
    return false;
}

/* Shallow subset of l: keep==true keeps the listed names, false drops them. The label
 * array is allocated in a; names/values still point into l's storage. */
static int mq_lab_filter(ig_arena *a, const lq_labels *l, const ig_str *names, size_t n, bool keep,
                         lq_labels *out)
{
    out->n = 0;
    out->v = l->n ? ig_arena_alloc(a, l->n * sizeof(lq_label)) : NULL;
    if (l->n && !out->v)
        return IG_ENOMEM;
    for (size_t i = 0; i < l->n; i++)
        if (mq_in_list(l->v[i].name, names, n) == keep)
            out->v[out->n++] = l->v[i];
    return 0;
}

/* Loki's/Prometheus' text form {a="1", b="2"} (Go-quoted values). */
static void mq_lab_print(const lq_labels *l, ig_buf *b)
{
    ig_buf_putc(b, '{');
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            ig_buf_append(b, ", ", 2);
        ig_buf_append_str(b, l->v[i].name);
        ig_buf_putc(b, '=');
        ig_go_quote(b, l->v[i].value, 0);
    }
    ig_buf_putc(b, '}');
}

/* ---- a map from label sets to indices ------------------------------------------------- */

typedef struct mq_map {
    uint64_t *hash;
    uint32_t *idx; /* index + 1; 0 = empty slot */
    size_t cap, n;
} mq_map;

typedef const lq_labels *(*mq_key_fn)(void *ctx, size_t idx);

static int mq_map_grow(ig_arena *a, mq_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    uint64_t *nh = ig_arena_alloc(a, ncap * sizeof(uint64_t));
    uint32_t *ni = ig_arena_zalloc(a, ncap * sizeof(uint32_t));
    if (!nh || !ni)
        return IG_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->idx[i])
            continue;
        size_t j = m->hash[i] & (ncap - 1);
        while (ni[j])
            j = (j + 1) & (ncap - 1);
        ni[j] = m->idx[i];
        nh[j] = m->hash[i];
    }
    m->hash = nh;
    m->idx = ni;
    m->cap = ncap;
    return 0;
}

/* Finds l; returns its index, or SIZE_MAX when absent. *slot gets the insert position. */
static size_t mq_map_find(mq_map *m, uint64_t h, const lq_labels *l, mq_key_fn key, void *kctx,
                          size_t *slot)
{
    if (!m->cap) {
        *slot = SIZE_MAX;
        return SIZE_MAX;
    }
    size_t j = h & (m->cap - 1);
    while (m->idx[j]) {
        if (m->hash[j] == h && mq_lab_eq(key(kctx, m->idx[j] - 1), l))
            return m->idx[j] - 1;
        j = (j + 1) & (m->cap - 1);
    }
    *slot = j;
    return SIZE_MAX;
}

static int mq_map_put(ig_arena *a, mq_map *m, uint64_t h, size_t idx)
{
    if ((m->n + 1) * 2 > m->cap) {
        int rc = mq_map_grow(a, m);
        if (rc)
            return rc;
    }
    size_t j = h & (m->cap - 1);
    while (m->idx[j])
        j = (j + 1) & (m->cap - 1);
    m->idx[j] = (uint32_t)(idx + 1);
    m->hash[j] = h;
    m->n++;
    return 0;
}

/* ---- values ---------------------------------------------------------------------------- */

typedef struct mq_ser {
    lq_labels l;
    uint64_t h;
    double *v;
    uint8_t *has;
} mq_ser;

typedef struct mq_val {
    bool is_scalar;
    double *sv; /* scalar: one value per step */
    mq_ser *s;
    size_t n, cap;
    bool ordered; /* instant vector whose order is meaningful (sort, sort_desc) */
    mq_map map;   /* label set -> series index, while building */
} mq_val;

typedef struct mq_ctx {
    lq_source *src;
    ig_arena *a;
    ig_errbuf *eb;
    int64_t start, step, deadline;
    size_t nsteps;
    bool instant;
    size_t max_series;
} mq_ctx;

static int64_t mq_t(const mq_ctx *c, size_t i)
{
    return c->start + (int64_t)i * c->step;
}

static int mq_check_deadline(mq_ctx *c)
{
    if (c->deadline && ig_mono_ns() > c->deadline)
        return ig_err(c->eb, IG_ETIMEDOUT,
                      "request timed out, decrease the duration of the request or add more label "
                      "matchers (prefer exact match over regex match) to reduce the amount of "
                      "data processed");
    return 0;
}

static const lq_labels *mq_val_key(void *ctx, size_t idx)
{
    return &((mq_val *)ctx)->s[idx].l;
}

/* Finds or adds the series with labels l (copied into the arena when added, unless
 * owned is true). Returns its index in *out. */
static int mq_val_series(mq_ctx *c, mq_val *v, const lq_labels *l, bool owned, size_t *out)
{
    uint64_t h = mq_lab_hash(l);
    size_t slot;
    size_t i = mq_map_find(&v->map, h, l, mq_val_key, v, &slot);
    if (i != SIZE_MAX) {
        *out = i;
        return 0;
    }
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        mq_ser *ns = ig_arena_alloc(c->a, ncap * sizeof(mq_ser));
        if (!ns)
            return IG_ENOMEM;
        if (v->n)
            memcpy(ns, v->s, v->n * sizeof(mq_ser));
        v->s = ns;
        v->cap = ncap;
    }
    mq_ser *s = &v->s[v->n];
    memset(s, 0, sizeof(*s));
    if (owned)
        s->l = *l;
    else if (mq_lab_dup(c->a, l, &s->l))
        return IG_ENOMEM;
    s->h = h;
    s->v = ig_arena_zalloc(c->a, c->nsteps * sizeof(double));
    s->has = ig_arena_zalloc(c->a, c->nsteps);
    if (!s->v || !s->has)
        return IG_ENOMEM;
    int rc = mq_map_put(c->a, &v->map, h, v->n);
    if (rc)
        return rc;
    *out = v->n++;
    return 0;
}

static int mq_oom(mq_ctx *c)
{
    return ig_err(c->eb, IG_ENOMEM, "query needs more memory than its limit");
}

/* ---- numeric helpers (Prometheus/Loki semantics) ---------------------------------------- */

/* Running mean as Prometheus/Loki compute it (infinities kept, +Inf with -Inf -> NaN). */
typedef struct mq_mean {
    double mean, count;
} mq_mean;

static void mq_mean_add(mq_mean *m, double v)
{
    m->count++;
    if (isinf(m->mean)) {
        if (isinf(v) && (m->mean > 0) == (v > 0))
            return;
        if (!isinf(v) && !isnan(v))
            return;
    }
    m->mean += v / m->count - m->mean / m->count;
}

typedef struct mq_var {
    double mean, aux, count;
} mq_var;

static void mq_var_add(mq_var *w, double v)
{
    w->count++;
    double delta = v - w->mean;
    w->mean += delta / w->count;
    w->aux += delta * (v - w->mean);
}

static int mq_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Prometheus' quantile over sorted-in-place values. */
static double mq_quantile(double q, double *v, size_t n)
{
    if (n == 0 || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(v, n, sizeof(double), mq_dbl_cmp);
    double rank = q * (double)(n - 1);
    double lowf = floor(rank);
    size_t lower = lowf < 0 ? 0 : (size_t)lowf;
    size_t upper = lower + 1 < n ? lower + 1 : n - 1;
    double weight = rank - lowf;
    return v[lower] * (1 - weight) + v[upper] * weight;
}

/* ---- range aggregations ------------------------------------------------------------------- */

typedef struct mq_samp {
    int64_t ts;
    double v;
} mq_samp;

typedef struct mq_bucket {
    lq_labels l;
    mq_samp *s; /* samples (window mode) */
    size_t n, cap;
    double *acc;  /* per-step sums (direct mode) */
    uint8_t *has; /* per-step: some sample (direct mode) */
} mq_bucket;

typedef struct mq_scan {
    mq_ctx *c;
    const logql_expr *e;
    lq_pipeline *p;
    ig_arena scratch;
    mq_bucket *b;
    size_t nb, capb;
    mq_map map;
    uint64_t entries;
    int64_t lo, hi;               /* samples kept: lo < ts <= hi */
    const logql_grouping *inject; /* grouping of an enclosing sum (see mq_eval_vec) */
    bool direct; /* add each sample to the steps whose windows hold it (see mq_eval_range) */
    int err;
} mq_scan;

static const lq_labels *mq_bucket_key(void *ctx, size_t idx)
{
    return &((mq_scan *)ctx)->b[idx].l;
}

static int mq_pipeline_error(mq_ctx *c, const lq_labels *l, ig_str err);

/* True when ts falls in the window (t - offset - range, t - offset] of some step t. */
static bool mq_in_some_window(const mq_ctx *c, const logql_expr *e, int64_t ts)
{
    int64_t u = ts + e->u.range.offset_ns; /* need a step t with u <= t < u + range */
    int64_t t0 = c->start;
    int64_t k = u <= t0 ? 0 : (u - t0 + c->step - 1) / c->step;
    if (k >= (int64_t)c->nsteps)
        return false;
    return t0 + k * c->step < u + e->u.range.range_ns;
}

static int mq_scan_entry(void *ctx, const lq_entry *en)
{
    mq_scan *sc = ctx;
    mq_ctx *c = sc->c;
    const logql_expr *e = sc->e;
    if ((++sc->entries & 4095) == 0) {
        int rc = mq_check_deadline(c);
        if (rc)
            return sc->err = rc;
    }
    if (en->ts_ns <= sc->lo || en->ts_ns > sc->hi)
        return 0;
    ig_arena_reset(&sc->scratch);
    lq_out out;
    memset(&out, 0, sizeof(out));
    if (!lq_pipeline_run(sc->p, en, &sc->scratch, &out))
        return 0;
    const logql_unwrap *uw = e->u.range.log.unwrap;
    double v = 1;
    lq_labels l = out.labels;
    if (uw) {
        if (!out.has_value) {
            ig_str err = mq_lab_get(&l, IG_STR("__error__"));
            if (!err.ptr || !err.len)
                return 0; /* no such label on this entry: no sample */
            v = 0;
        } else {
            v = out.value;
        }
        lq_labels t = l;
        if (mq_lab_get(&t, uw->label).ptr &&
            mq_lab_filter(&sc->scratch, &t, &uw->label, 1, false, &l))
            return sc->err = mq_oom(c);
    } else if (e->u.range.op == LOGQL_RANGE_BYTES || e->u.range.op == LOGQL_RANGE_BYTES_RATE) {
        v = (double)out.line.len;
    }
    const logql_grouping *g = sc->inject ? sc->inject : &e->u.range.grouping;
    lq_labels full = l;
    if (g->present) {
        /* Grouping drops __error__ from the bucket's labels, but Loki fails the query on
         * the sample's own labels (also under `max_over_time(...) by (x)`): check here,
         * when the sample falls in an evaluated window. */
        ig_str err = mq_lab_get(&l, IG_STR("__error__"));
        if (err.ptr && err.len && mq_in_some_window(c, e, en->ts_ns))
            return sc->err = mq_pipeline_error(c, &l, err);
    }
    if (g->present && mq_lab_filter(&sc->scratch, &full, g->labels, g->n_labels, !g->without, &l))
        return sc->err = mq_oom(c);
    uint64_t h = mq_lab_hash(&l);
    size_t slot;
    size_t bi = mq_map_find(&sc->map, h, &l, mq_bucket_key, sc, &slot);
    if (bi == SIZE_MAX) {
        if (sc->nb == sc->capb) {
            size_t ncap = sc->capb ? sc->capb * 2 : 16;
            mq_bucket *nbk = ig_arena_alloc(c->a, ncap * sizeof(mq_bucket));
            if (!nbk)
                return sc->err = mq_oom(c);
            if (sc->nb)
                memcpy(nbk, sc->b, sc->nb * sizeof(mq_bucket));
            sc->b = nbk;
            sc->capb = ncap;
        }
        mq_bucket *nb = &sc->b[sc->nb];
        memset(nb, 0, sizeof(*nb));
        if (mq_lab_dup(c->a, &l, &nb->l) || mq_map_put(c->a, &sc->map, h, sc->nb))
            return sc->err = mq_oom(c);
        if (sc->direct) {
            nb->acc = ig_arena_zalloc(c->a, c->nsteps * sizeof(double));
            nb->has = ig_arena_zalloc(c->a, c->nsteps);
            if (!nb->acc || !nb->has)
                return sc->err = mq_oom(c);
        }
        bi = sc->nb++;
    }
    mq_bucket *b = &sc->b[bi];
    if (sc->direct) { /* steps t with t - offset - range < ts <= t - offset */
        int64_t u = en->ts_ns + e->u.range.offset_ns, t0 = c->start;
        int64_t k = u <= t0 ? 0 : (u - t0 + c->step - 1) / c->step;
        for (; k < (int64_t)c->nsteps && t0 + k * c->step < u + e->u.range.range_ns; k++) {
            b->acc[k] += v;
            b->has[k] = 1;
        }
        return 0;
    }
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 8;
        mq_samp *ns = ig_arena_alloc(c->a, ncap * sizeof(mq_samp));
        if (!ns)
            return sc->err = mq_oom(c);
        if (b->n)
            memcpy(ns, b->s, b->n * sizeof(mq_samp));
        b->s = ns;
        b->cap = ncap;
    }
    b->s[b->n++] = (mq_samp){en->ts_ns, v};
    return 0;
}

/* Stable merge sort by timestamp (entries of one timestamp keep scan order). */
static void mq_sort_samples(mq_samp *s, mq_samp *tmp, size_t n)
{
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = s[i - 1].ts <= s[i].ts;
    if (sorted)
        return;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = s[j].ts < s[i].ts ? s[j++] : s[i++];
            while (i < mid)
                tmp[k++] = s[i++];
            while (j < hi)
                tmp[k++] = s[j++];
        }
        memcpy(s, tmp, n * sizeof(mq_samp));
    }
}

/* Prometheus' extrapolated counter rate over samples s[0..n) of window (lo, hi]. */
static double mq_rate_counter(const mq_samp *s, size_t n, int64_t lo, int64_t hi, double range_s)
{
    if (n < 2)
        return 0;
    double result = s[n - 1].v - s[0].v;
    for (size_t i = 1; i < n; i++)
        if (s[i].v < s[i - 1].v)
            result += s[i - 1].v;
    double to_start = (double)(s[0].ts - lo) / 1e9;
    double to_end = (double)(hi - s[n - 1].ts) / 1e9;
    double sampled = (double)(s[n - 1].ts - s[0].ts) / 1e9;
    if (sampled <= 0)
        return 0;
    double avg = sampled / (double)(n - 1);
    double threshold = avg * 1.1;
    if (to_start >= threshold)
        to_start = avg / 2;
    if (result > 0 && s[0].v >= 0) {
        double to_zero = sampled * (s[0].v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    if (to_end >= threshold)
        to_end = avg / 2;
    double factor = (sampled + to_start + to_end) / sampled / range_s;
    return result * factor;
}

static double mq_window_value(const logql_expr *e, const mq_samp *s, size_t i, size_t j,
                              const int64_t *prefix, int64_t lo, int64_t hi, double *tmp)
{
    double range_s = (double)e->u.range.range_ns / 1e9;
    bool uw = e->u.range.log.unwrap != NULL;
    size_t n = j - i;
    switch (e->u.range.op) {
    case LOGQL_RANGE_COUNT:
        return (double)n;
    case LOGQL_RANGE_BYTES:
        return (double)(prefix[j] - prefix[i]);
    case LOGQL_RANGE_BYTES_RATE:
        return (double)(prefix[j] - prefix[i]) / range_s;
    case LOGQL_RANGE_RATE:
        if (!uw)
            return (double)n / range_s;
        /* fallthrough: sum / range */
        {
            double sum = 0;
            for (size_t k = i; k < j; k++)
                sum += s[k].v;
            return sum / range_s;
        }
    case LOGQL_RANGE_SUM: {
        double sum = 0;
        for (size_t k = i; k < j; k++)
            sum += s[k].v;
        return sum;
    }
    case LOGQL_RANGE_AVG: {
        mq_mean m = {0, 0};
        for (size_t k = i; k < j; k++)
            mq_mean_add(&m, s[k].v);
        return m.mean;
    }
    case LOGQL_RANGE_MIN: {
        double m = s[i].v;
        for (size_t k = i + 1; k < j; k++)
            if (s[k].v < m || isnan(m))
                m = s[k].v;
        return m;
    }
    case LOGQL_RANGE_MAX: {
        double m = s[i].v;
        for (size_t k = i + 1; k < j; k++)
            if (s[k].v > m || isnan(m))
                m = s[k].v;
        return m;
    }
    case LOGQL_RANGE_STDDEV:
    case LOGQL_RANGE_STDVAR: {
        mq_var w = {0, 0, 0};
        for (size_t k = i; k < j; k++)
            mq_var_add(&w, s[k].v);
        double var = w.aux / w.count;
        return e->u.range.op == LOGQL_RANGE_STDDEV ? sqrt(var) : var;
    }
    case LOGQL_RANGE_QUANTILE:
        for (size_t k = i; k < j; k++)
            tmp[k - i] = s[k].v;
        return mq_quantile(e->u.range.param, tmp, n);
    case LOGQL_RANGE_FIRST:
        return s[i].v;
    case LOGQL_RANGE_LAST:
        return s[j - 1].v;
    case LOGQL_RANGE_RATE_COUNTER:
        return mq_rate_counter(s + i, n, lo, hi, range_s);
    case LOGQL_RANGE_ABSENT:
        return 1;
    }
    return NAN;
}

static int mq_pipeline_error(mq_ctx *c, const lq_labels *l, ig_str err)
{
    ig_buf b;
    ig_buf_init(&b, 1024);
    mq_lab_print(l, &b);
    int rc = ig_err(c->eb, IG_EINVAL,
                    "pipeline error: '%.*s' for series: '%.*s'.\nUse a label filter to "
                    "intentionally skip this error. (e.g | __error__!=\"%.*s\").\nTo skip all "
                    "potential errors you can match empty errors.(e.g __error__=\"\")\nThe label "
                    "filter can also be specified after unwrap. (e.g | unwrap latency | "
                    "__error__=\"\" )\n",
                    (int)err.len, err.ptr, (int)b.len, b.data ? b.data : "", (int)err.len, err.ptr);
    ig_buf_free(&b);
    return rc;
}

/* Labels of absent_over_time's series: the selector's equality matchers, names that
 * appear more than once dropped. */
static int mq_absent_labels(mq_ctx *c, const logql_log *log, lq_labels *out)
{
    out->n = 0;
    out->v = ig_arena_alloc(c->a, (log->n_matchers + 1) * sizeof(lq_label));
    if (!out->v)
        return IG_ENOMEM;
    for (size_t i = 0; i < log->n_matchers; i++) {
        const logql_matcher *m = &log->matchers[i];
        if (m->op != LOGQL_MATCH_EQ)
            continue;
        size_t dup = 0;
        for (size_t k = 0; k < log->n_matchers; k++)
            if (ig_str_eq(log->matchers[k].name, m->name))
                dup++;
        if (dup > 1)
            continue;
        size_t at = out->n;
        while (at > 0 && ig_str_cmp(out->v[at - 1].name, m->name) > 0) {
            out->v[at] = out->v[at - 1];
            at--;
        }
        out->v[at] = (lq_label){m->name, m->value};
        out->n++;
    }
    return 0;
}

static int mq_eval_range(mq_ctx *c, const logql_expr *e, const logql_grouping *inject, mq_val *out)
{
    int64_t range = e->u.range.range_ns, offset = e->u.range.offset_ns;
    mq_scan sc;
    memset(&sc, 0, sizeof(sc));
    sc.c = c;
    sc.e = e;
    sc.inject = inject;
    /* Counting functions add each sample straight to the steps whose windows hold it when
     * that is cheap: few steps per bucket (instant queries: one) and few steps per sample.
     * Otherwise samples are kept and the windows slide over them. */
    logql_range_op rop = e->u.range.op;
    sc.direct =
        (rop == LOGQL_RANGE_COUNT || rop == LOGQL_RANGE_BYTES || rop == LOGQL_RANGE_BYTES_RATE ||
         rop == LOGQL_RANGE_ABSENT || (rop == LOGQL_RANGE_RATE && !e->u.range.log.unwrap)) &&
        c->nsteps <= 32 && (c->nsteps == 1 || range / c->step <= 64);
    sc.lo = mq_t(c, 0) - offset - range;
    sc.hi = mq_t(c, c->nsteps - 1) - offset;
    int rc = lq_pipeline_new(&e->u.range.log, c->a, &sc.p, c->eb);
    if (rc)
        return rc;
    ig_arena_init(&sc.scratch, MQ_SCRATCH_CAP);
    rc = c->src->scan(c->src, &e->u.range.log, sc.lo, sc.hi + 1, mq_scan_entry, &sc, c->eb);
    ig_arena_free(&sc.scratch);
    if (sc.err)
        return sc.err;
    if (rc)
        return rc;

    size_t maxn = 0;
    for (size_t bi = 0; bi < sc.nb; bi++)
        if (sc.b[bi].n > maxn)
            maxn = sc.b[bi].n;
    mq_samp *tmp = maxn ? ig_arena_alloc(c->a, maxn * sizeof(mq_samp)) : NULL;
    double *qtmp = maxn ? ig_arena_alloc(c->a, maxn * sizeof(double)) : NULL;
    int64_t *prefix = ig_arena_alloc(c->a, (maxn + 1) * sizeof(int64_t));
    if ((maxn && (!tmp || !qtmp)) || !prefix)
        return mq_oom(c);

    bool absent = e->u.range.op == LOGQL_RANGE_ABSENT;
    uint8_t *present = NULL;
    if (absent && !(present = ig_arena_zalloc(c->a, c->nsteps)))
        return mq_oom(c);
    double range_s = (double)range / 1e9;
    for (size_t bi = 0; sc.direct && bi < sc.nb; bi++) {
        mq_bucket *b = &sc.b[bi];
        ig_str err = mq_lab_get(&b->l, IG_STR("__error__"));
        size_t si = SIZE_MAX;
        for (size_t st = 0; st < c->nsteps; st++) {
            if (!b->has[st])
                continue;
            if (absent) {
                present[st] = 1;
                continue;
            }
            if (err.ptr && err.len)
                return mq_pipeline_error(c, &b->l, err);
            if (si == SIZE_MAX && mq_val_series(c, out, &b->l, true, &si))
                return mq_oom(c);
            double val = b->acc[st];
            if (rop == LOGQL_RANGE_RATE || rop == LOGQL_RANGE_BYTES_RATE)
                val /= range_s;
            out->s[si].v[st] = val;
            out->s[si].has[st] = 1;
        }
    }
    for (size_t bi = 0; !sc.direct && bi < sc.nb; bi++) {
        mq_bucket *b = &sc.b[bi];
        mq_sort_samples(b->s, tmp, b->n);
        prefix[0] = 0;
        if (e->u.range.op == LOGQL_RANGE_BYTES || e->u.range.op == LOGQL_RANGE_BYTES_RATE)
            for (size_t k = 0; k < b->n; k++)
                prefix[k + 1] = prefix[k] + (int64_t)b->s[k].v;
        ig_str err = mq_lab_get(&b->l, IG_STR("__error__"));
        size_t si = SIZE_MAX;
        size_t i = 0, j = 0;
        for (size_t st = 0; st < c->nsteps; st++) {
            int64_t hi = mq_t(c, st) - offset, lo = hi - range;
            while (i < b->n && b->s[i].ts <= lo)
                i++;
            if (j < i)
                j = i;
            while (j < b->n && b->s[j].ts <= hi)
                j++;
            if (j == i)
                continue;
            if (absent) {
                present[st] = 1;
                continue;
            }
            if (err.ptr && err.len)
                return mq_pipeline_error(c, &b->l, err);
            if (si == SIZE_MAX) {
                rc = mq_val_series(c, out, &b->l, true, &si);
                if (rc)
                    return mq_oom(c);
            }
            out->s[si].v[st] = mq_window_value(e, b->s, i, j, prefix, lo, hi, qtmp);
            out->s[si].has[st] = 1;
        }
        if ((bi & 63) == 63 && (rc = mq_check_deadline(c)))
            return rc;
    }
    if (absent) {
        bool any = false;
        for (size_t st = 0; st < c->nsteps; st++)
            any |= !present[st];
        if (any) {
            lq_labels l;
            size_t si;
            if (mq_absent_labels(c, &e->u.range.log, &l) || mq_val_series(c, out, &l, false, &si))
                return mq_oom(c);
            for (size_t st = 0; st < c->nsteps; st++)
                if (!present[st]) {
                    out->s[si].v[st] = 1;
                    out->s[si].has[st] = 1;
                }
        }
    }
    return 0;
}

/* ---- vector aggregations ----------------------------------------------------------------------
 */

typedef struct mq_cand {
    double v;
    size_t idx;
} mq_cand;

static int mq_cand_desc(const void *a, const void *b)
{
    const mq_cand *x = a, *y = b;
    if (isnan(x->v) || isnan(y->v))
        return isnan(x->v) - isnan(y->v);
    return x->v > y->v ? -1 : x->v < y->v ? 1 : (x->idx > y->idx) - (x->idx < y->idx);
}

static int mq_cand_asc(const void *a, const void *b)
{
    const mq_cand *x = a, *y = b;
    if (isnan(x->v) || isnan(y->v))
        return isnan(x->v) - isnan(y->v);
    return x->v < y->v ? -1 : x->v > y->v ? 1 : (x->idx > y->idx) - (x->idx < y->idx);
}

static int mq_eval(mq_ctx *c, const logql_expr *e, mq_val *out);

static int mq_eval_vec(mq_ctx *c, const logql_expr *e, mq_val *out)
{
    if (e->u.vec.op == LOGQL_VEC_APPROX_TOPK && !c->instant)
        return ig_err(c->eb, IG_EINVAL,
                      "approx_topk error: count min sketches are only supported on instant "
                      "queries");
    /* sum by/without (count_over_time | rate | bytes_over_time | bytes_rate) without
     * unwrap: the sum of the per-series values equals the value over the merged samples
     * (integers, exact), so the range aggregation buckets by the sum's groups directly
     * instead of by every distinct label set (parsed labels and structured metadata can
     * make one series per line). */
    const logql_expr *arg = e->u.vec.arg;
    if (e->u.vec.op == LOGQL_VEC_SUM && arg->kind == LOGQL_EXPR_RANGE_AGG &&
        !arg->u.range.log.unwrap && !arg->u.range.grouping.present &&
        (arg->u.range.op == LOGQL_RANGE_COUNT || arg->u.range.op == LOGQL_RANGE_RATE ||
         arg->u.range.op == LOGQL_RANGE_BYTES || arg->u.range.op == LOGQL_RANGE_BYTES_RATE)) {
        static const logql_grouping all_in_one = {true, false, NULL, 0};
        memset(out, 0, sizeof(*out));
        return mq_eval_range(c, arg, e->u.vec.grouping.present ? &e->u.vec.grouping : &all_in_one,
                             out);
    }
    mq_val in;
    memset(&in, 0, sizeof(in));
    int rc = mq_eval(c, e->u.vec.arg, &in);
    if (rc)
        return rc;
    logql_vec_op op = e->u.vec.op;
    if (op == LOGQL_VEC_SORT || op == LOGQL_VEC_SORT_DESC) {
        *out = in;
        if (c->instant) {
            mq_cand *cand = ig_arena_alloc(c->a, (in.n + 1) * sizeof(mq_cand));
            mq_ser *ns = ig_arena_alloc(c->a, (in.n + 1) * sizeof(mq_ser));
            if (!cand || !ns)
                return mq_oom(c);
            for (size_t i = 0; i < in.n; i++)
                cand[i] = (mq_cand){in.s[i].v[0], i};
            qsort(cand, in.n, sizeof(mq_cand), op == LOGQL_VEC_SORT ? mq_cand_asc : mq_cand_desc);
            for (size_t i = 0; i < in.n; i++)
                ns[i] = in.s[cand[i].idx];
            out->s = ns;
            out->cap = in.n;
            memset(&out->map, 0, sizeof(out->map)); /* indices changed */
            out->ordered = true;
        }
        return 0;
    }
    const logql_grouping *g = &e->u.vec.grouping;
    /* group of each input series */
    size_t *grp = ig_arena_alloc(c->a, (in.n + 1) * sizeof(size_t));
    if (!grp)
        return mq_oom(c);
    mq_val groups;
    memset(&groups, 0, sizeof(groups));
    for (size_t i = 0; i < in.n; i++) {
        lq_labels gl = {NULL, 0};
        if (g->present && mq_lab_filter(c->a, &in.s[i].l, g->labels, g->n_labels, !g->without, &gl))
            return mq_oom(c);
        if (mq_val_series(c, &groups, &gl, true, &grp[i]))
            return mq_oom(c);
    }
    if (op == LOGQL_VEC_TOPK || op == LOGQL_VEC_BOTTOMK || op == LOGQL_VEC_APPROX_TOPK) {
        size_t k = (size_t)e->u.vec.param;
        mq_cand *cand = ig_arena_alloc(c->a, (in.n + 1) * sizeof(mq_cand));
        size_t *order = ig_arena_alloc(c->a, (in.n + 1) * sizeof(size_t));
        if (!cand || !order)
            return mq_oom(c);
        /* members sorted by group */
        for (size_t i = 0; i < in.n; i++)
            order[i] = i;
        for (size_t i = 1; i < in.n; i++) { /* insertion sort by group, stable */
            size_t x = order[i], j = i;
            while (j > 0 && grp[order[j - 1]] > grp[x]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = x;
        }
        uint8_t **keep = ig_arena_alloc(c->a, (in.n + 1) * sizeof(uint8_t *));
        if (!keep)
            return mq_oom(c);
        for (size_t i = 0; i < in.n; i++)
            if (!(keep[i] = ig_arena_zalloc(c->a, c->nsteps)))
                return mq_oom(c);
        for (size_t st = 0; st < c->nsteps; st++) {
            size_t p = 0;
            while (p < in.n) {
                size_t gi = grp[order[p]], nc = 0;
                for (; p < in.n && grp[order[p]] == gi; p++)
                    if (in.s[order[p]].has[st])
                        cand[nc++] = (mq_cand){in.s[order[p]].v[st], order[p]};
                qsort(cand, nc, sizeof(mq_cand),
                      op == LOGQL_VEC_BOTTOMK ? mq_cand_asc : mq_cand_desc);
                for (size_t q = 0; q < nc && q < k; q++)
                    keep[cand[q].idx][st] = 1;
            }
        }
        for (size_t i = 0; i < in.n; i++) {
            size_t si = SIZE_MAX;
            for (size_t st = 0; st < c->nsteps; st++) {
                if (!keep[i][st])
                    continue;
                if (si == SIZE_MAX && mq_val_series(c, out, &in.s[i].l, true, &si))
                    return mq_oom(c);
                out->s[si].v[st] = in.s[i].v[st];
                out->s[si].has[st] = 1;
            }
        }
        return 0;
    }
    /* aggregating operators: accumulators per group and step */
    size_t ng = groups.n;
    double *acc = ig_arena_zalloc(c->a, (ng + 1) * sizeof(double));
    double *acc2 = ig_arena_zalloc(c->a, (ng + 1) * sizeof(double));
    double *cnt = ig_arena_zalloc(c->a, (ng + 1) * sizeof(double));
    if (!acc || !acc2 || !cnt)
        return mq_oom(c);
    for (size_t st = 0; st < c->nsteps; st++) {
        memset(cnt, 0, ng * sizeof(double));
        memset(acc, 0, ng * sizeof(double));
        memset(acc2, 0, ng * sizeof(double));
        for (size_t i = 0; i < in.n; i++) {
            if (!in.s[i].has[st])
                continue;
            size_t gi = grp[i];
            double v = in.s[i].v[st];
            bool first = cnt[gi] == 0;
            switch (op) {
            case LOGQL_VEC_SUM:
                acc[gi] += v;
                cnt[gi]++;
                break;
            case LOGQL_VEC_COUNT:
                cnt[gi]++;
                break;
            case LOGQL_VEC_MIN:
                if (first || v < acc[gi] || isnan(acc[gi]))
                    acc[gi] = v;
                cnt[gi]++;
                break;
            case LOGQL_VEC_MAX:
                if (first || v > acc[gi] || isnan(acc[gi]))
                    acc[gi] = v;
                cnt[gi]++;
                break;
            case LOGQL_VEC_AVG: {
                mq_mean m = {acc[gi], cnt[gi]};
                mq_mean_add(&m, v);
                acc[gi] = m.mean;
                cnt[gi] = m.count;
                break;
            }
            case LOGQL_VEC_STDDEV:
            case LOGQL_VEC_STDVAR: {
                mq_var w = {acc[gi], acc2[gi], cnt[gi]};
                mq_var_add(&w, v);
                acc[gi] = w.mean;
                acc2[gi] = w.aux;
                cnt[gi] = w.count;
                break;
            }
            default:
                return ig_err(c->eb, IG_EINTERNAL, "unexpected vector operation %s",
                              logql_vec_op_name(op));
            }
        }
        for (size_t gi = 0; gi < ng; gi++) {
            if (cnt[gi] == 0)
                continue;
            double r;
            switch (op) {
            case LOGQL_VEC_COUNT:
                r = cnt[gi];
                break;
            case LOGQL_VEC_STDVAR:
                r = acc2[gi] / cnt[gi];
                break;
            case LOGQL_VEC_STDDEV:
                r = sqrt(acc2[gi] / cnt[gi]);
                break;
            default:
                r = acc[gi];
            }
            groups.s[gi].v[st] = r;
            groups.s[gi].has[st] = 1;
        }
        if ((st & 255) == 255 && (rc = mq_check_deadline(c)))
            return rc;
    }
    *out = groups;
    return 0;
}

/* ---- binary operations
 * --------------------------------------------------------------------------- */

static bool mq_is_cmp(logql_bin_op op)
{
    return op == LOGQL_BIN_EQ || op == LOGQL_BIN_NE || op == LOGQL_BIN_GT || op == LOGQL_BIN_GE ||
           op == LOGQL_BIN_LT || op == LOGQL_BIN_LE;
}

/* lhs op rhs; for comparisons returns 1/0 in *keep and the value lhs. */
static double mq_arith(logql_bin_op op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case LOGQL_BIN_ADD:
        return l + r;
    case LOGQL_BIN_SUB:
        return l - r;
    case LOGQL_BIN_MUL:
        return l * r;
    case LOGQL_BIN_DIV:
        return r == 0 ? NAN : l / r;
    case LOGQL_BIN_MOD:
        return r == 0 ? NAN : fmod(l, r);
    case LOGQL_BIN_POW:
        return pow(l, r);
    case LOGQL_BIN_EQ:
        *keep = l == r;
        return l;
    case LOGQL_BIN_NE:
        *keep = l != r;
        return l;
    case LOGQL_BIN_GT:
        *keep = l > r;
        return l;
    case LOGQL_BIN_GE:
        *keep = l >= r;
        return l;
    case LOGQL_BIN_LT:
        *keep = l < r;
        return l;
    case LOGQL_BIN_LE:
        *keep = l <= r;
        return l;
    default:
        *keep = false;
        return NAN;
    }
}

/* Matching signature of a series' labels for a binary operation. */
static int mq_sig(mq_ctx *c, const logql_expr *e, const lq_labels *l, lq_labels *sig)
{
    if (!e->u.bin.has_matching) {
        *sig = *l;
        return 0;
    }
    return mq_lab_filter(c->a, l, e->u.bin.match_labels, e->u.bin.n_match_labels, e->u.bin.on, sig);
}

static int mq_set_label(ig_arena *a, const lq_labels *l, ig_str name, ig_str value, lq_labels *out)
{
    lq_label *v = ig_arena_alloc(a, (l->n + 1) * sizeof(lq_label));
    if (!v)
        return IG_ENOMEM;
    size_t n = 0;
    bool done = false;
    for (size_t i = 0; i < l->n; i++) {
        int cmp = ig_str_cmp(l->v[i].name, name);
        if (!done && cmp >= 0) {
            done = true;
            if (value.len)
                v[n++] = (lq_label){name, value};
            if (cmp == 0)
                continue;
        }
        v[n++] = l->v[i];
    }
    if (!done && value.len)
        v[n++] = (lq_label){name, value};
    out->v = v;
    out->n = n;
    return 0;
}

static int mq_eval_bin_vv(mq_ctx *c, const logql_expr *e, mq_val *L, mq_val *R, mq_val *out)
{
    logql_bin_op op = e->u.bin.op;
    int group = e->u.bin.group;
    bool setop = op == LOGQL_BIN_AND || op == LOGQL_BIN_OR || op == LOGQL_BIN_UNLESS;
    /* signatures */
    lq_labels *ls = ig_arena_alloc(c->a, (L->n + 1) * sizeof(lq_labels));
    lq_labels *rs = ig_arena_alloc(c->a, (R->n + 1) * sizeof(lq_labels));
    if (!ls || !rs)
        return mq_oom(c);
    for (size_t i = 0; i < L->n; i++)
        if (mq_sig(c, e, &L->s[i].l, &ls[i]))
            return mq_oom(c);
    for (size_t i = 0; i < R->n; i++)
        if (mq_sig(c, e, &R->s[i].l, &rs[i]))
            return mq_oom(c);
    /* signature ids shared by both sides */
    mq_val sigs;
    memset(&sigs, 0, sizeof(sigs));
    size_t nst = c->nsteps;
    size_t *lsid = ig_arena_alloc(c->a, (L->n + 1) * sizeof(size_t));
    size_t *rsid = ig_arena_alloc(c->a, (R->n + 1) * sizeof(size_t));
    if (!lsid || !rsid)
        return mq_oom(c);
    mq_ctx c1 = *c;
    c1.nsteps = 1; /* sigs only need identity */
    for (size_t i = 0; i < L->n; i++)
        if (mq_val_series(&c1, &sigs, &ls[i], true, &lsid[i]))
            return mq_oom(c);
    for (size_t i = 0; i < R->n; i++)
        if (mq_val_series(&c1, &sigs, &rs[i], true, &rsid[i]))
            return mq_oom(c);
    size_t ns = sigs.n;
    /* per step: which series of each side holds each signature (SIZE_MAX none, or dup) */
    size_t *lat = ig_arena_alloc(c->a, (ns + 1) * sizeof(size_t));
    size_t *rat = ig_arena_alloc(c->a, (ns + 1) * sizeof(size_t));
    uint8_t *ldup = ig_arena_alloc(c->a, ns + 1), *rdup = ig_arena_alloc(c->a, ns + 1);
    if (!lat || !rat || !ldup || !rdup)
        return mq_oom(c);
    size_t *lidx = ig_arena_alloc(c->a, (L->n + 1) * sizeof(size_t));
    size_t *ridx = ig_arena_alloc(c->a, (R->n + 1) * sizeof(size_t));
    if (!lidx || !ridx)
        return mq_oom(c);
    for (size_t i = 0; i < L->n; i++)
        lidx[i] = SIZE_MAX;
    for (size_t i = 0; i < R->n; i++)
        ridx[i] = SIZE_MAX;
    /* For group_right, the "many" side is the right one: swap roles, then account for it. */
    bool swap = group == 2;
    mq_val *M = swap ? R : L, *O = swap ? L : R; /* many (or left), one (or right) */
    size_t *msid = swap ? rsid : lsid;
    size_t *oat = swap ? lat : rat;
    uint8_t *mdup = swap ? rdup : ldup, *odup = swap ? ldup : rdup;
    size_t *midx = swap ? ridx : lidx;
    for (size_t st = 0; st < nst; st++) {
        for (size_t k = 0; k < ns; k++) {
            lat[k] = rat[k] = SIZE_MAX;
            ldup[k] = rdup[k] = 0;
        }
        for (size_t i = 0; i < L->n; i++)
            if (L->s[i].has[st]) {
                if (lat[lsid[i]] != SIZE_MAX)
                    ldup[lsid[i]] = 1;
                lat[lsid[i]] = i;
            }
        for (size_t i = 0; i < R->n; i++)
            if (R->s[i].has[st]) {
                if (rat[rsid[i]] != SIZE_MAX)
                    rdup[rsid[i]] = 1;
                rat[rsid[i]] = i;
            }
        if (setop) {
            for (size_t i = 0; i < L->n; i++) {
                if (!L->s[i].has[st])
                    continue;
                bool inr = rat[lsid[i]] != SIZE_MAX;
                if ((op == LOGQL_BIN_AND && !inr) || (op == LOGQL_BIN_UNLESS && inr))
                    continue;
                if (lidx[i] == SIZE_MAX && mq_val_series(c, out, &L->s[i].l, true, &lidx[i]))
                    return mq_oom(c);
                out->s[lidx[i]].v[st] = L->s[i].v[st];
                out->s[lidx[i]].has[st] = 1;
            }
            if (op == LOGQL_BIN_OR)
                for (size_t i = 0; i < R->n; i++) {
                    if (!R->s[i].has[st] || lat[rsid[i]] != SIZE_MAX)
                        continue;
                    if (ridx[i] == SIZE_MAX && mq_val_series(c, out, &R->s[i].l, true, &ridx[i]))
                        return mq_oom(c);
                    out->s[ridx[i]].v[st] = R->s[i].v[st];
                    out->s[ridx[i]].has[st] = 1;
                }
            continue;
        }
        for (size_t i = 0; i < M->n; i++) {
            if (!M->s[i].has[st])
                continue;
            size_t sid = msid[i];
            size_t oi = oat[sid];
            if (oi == SIZE_MAX)
                continue;
            if (odup[sid]) {
                /* Loki's text; the two series of the "one" side sharing the signature */
                size_t other = SIZE_MAX;
                for (size_t q = 0; q < O->n && other == SIZE_MAX; q++)
                    if (q != oi && O->s[q].has[st] && (swap ? lsid : rsid)[q] == sid)
                        other = q;
                ig_buf b;
                ig_buf_init(&b, 1024);
                mq_lab_print(&O->s[oi].l, &b);
                ig_buf_append(&b, ", ", 2);
                if (other != SIZE_MAX)
                    mq_lab_print(&O->s[other].l, &b);
                int rc = ig_err(c->eb, IG_EINVAL,
                                "found duplicate series on the %s hand-side of the operation: "
                                "[%s];many-to-many matching not allowed: matching labels must be "
                                "unique on one side",
                                swap ? "left" : "right", b.data ? b.data : "");
                ig_buf_free(&b);
                return rc;
            }
            if (!group && mdup[sid])
                return ig_err(c->eb, IG_EINVAL,
                              "multiple matches for labels: many-to-one matching must be explicit "
                              "(group_left/group_right)");
            double fl = M->s[i].v[st], fr = O->s[oi].v[st];
            if (swap) {
                double t = fl;
                fl = fr;
                fr = t;
            }
            bool keep;
            double v = mq_arith(op, fl, fr, &keep);
            if (e->u.bin.return_bool) {
                v = keep ? 1 : 0;
                keep = true;
            }
            if (!keep)
                continue;
            /* result labels */
            if (midx[i] == SIZE_MAX || group) {
                lq_labels rl = M->s[i].l;
                if (!group) {
                    if (e->u.bin.has_matching &&
                        mq_lab_filter(c->a, &M->s[i].l, e->u.bin.match_labels,
                                      e->u.bin.n_match_labels, e->u.bin.on, &rl))
                        return mq_oom(c);
                } else {
                    for (size_t q = 0; q < e->u.bin.n_include; q++) {
                        ig_str inc = e->u.bin.include[q];
                        ig_str ov = mq_lab_get(&O->s[oi].l, inc);
                        if (mq_set_label(c->a, &rl, inc, ov.ptr ? ov : IG_STR(""), &rl))
                            return mq_oom(c);
                    }
                }
                size_t oidx_new;
                if (mq_val_series(c, out, &rl, true, &oidx_new))
                    return mq_oom(c);
                if (group && out->s[oidx_new].has[st])
                    return ig_err(c->eb, IG_EINVAL,
                                  "multiple matches for labels: grouping labels must ensure "
                                  "unique matches");
                midx[i] = oidx_new;
            }
            out->s[midx[i]].v[st] = v;
            out->s[midx[i]].has[st] = 1;
        }
    }
    return 0;
}

static int mq_eval_bin(mq_ctx *c, const logql_expr *e, mq_val *out)
{
    mq_val L, R;
    memset(&L, 0, sizeof(L));
    memset(&R, 0, sizeof(R));
    int rc = mq_eval(c, e->u.bin.lhs, &L);
    if (rc == 0)
        rc = mq_eval(c, e->u.bin.rhs, &R);
    if (rc)
        return rc;
    logql_bin_op op = e->u.bin.op;
    bool rb = e->u.bin.return_bool;
    if (L.is_scalar && R.is_scalar) {
        out->is_scalar = true;
        out->sv = ig_arena_alloc(c->a, c->nsteps * sizeof(double));
        if (!out->sv)
            return mq_oom(c);
        for (size_t st = 0; st < c->nsteps; st++) {
            bool keep;
            double v = mq_arith(op, L.sv[st], R.sv[st], &keep);
            out->sv[st] = mq_is_cmp(op) ? (keep ? 1 : 0) : v;
        }
        return 0;
    }
    if (L.is_scalar || R.is_scalar) {
        if (op == LOGQL_BIN_AND || op == LOGQL_BIN_OR || op == LOGQL_BIN_UNLESS)
            return ig_err(c->eb, IG_EINVAL,
                          "set operator %s not allowed in binary scalar expression",
                          logql_bin_op_name(op));
        bool swap = L.is_scalar;
        mq_val *V = swap ? &R : &L;
        const double *sv = swap ? L.sv : R.sv;
        *out = *V;
        out->ordered = V->ordered;
        for (size_t i = 0; i < V->n; i++) {
            mq_ser *s = &out->s[i];
            for (size_t st = 0; st < c->nsteps; st++) {
                if (!s->has[st])
                    continue;
                double fl = swap ? sv[st] : s->v[st], fr = swap ? s->v[st] : sv[st];
                bool keep;
                double v = mq_arith(op, fl, fr, &keep);
                if (mq_is_cmp(op) && swap)
                    v = fr;
                if (rb) {
                    v = keep ? 1 : 0;
                    keep = true;
                }
                if (keep)
                    s->v[st] = v;
                else
                    s->has[st] = 0;
            }
        }
        return 0;
    }
    return mq_eval_bin_vv(c, e, &L, &R, out);
}

/* ---- label_replace ------------------------------------------------------------------------------
 */

static void *mq_re_alloc(PCRE2_SIZE n, void *ud)
{
    (void)ud;
    return ig_malloc(n);
}

static void mq_re_free(void *p, void *ud)
{
    (void)ud;
    ig_free(p);
}

typedef struct mq_re {
    pcre2_general_context *gc;
    pcre2_compile_context *cc;
    pcre2_code *code;
    pcre2_match_data *md;
} mq_re;

static void mq_re_close(void *p)
{
    mq_re *r = p;
    if (r->md)
        pcre2_match_data_free(r->md);
    if (r->code)
        pcre2_code_free(r->code);
    if (r->cc)
        pcre2_compile_context_free(r->cc);
    if (r->gc)
        pcre2_general_context_free(r->gc);
}

/* Go's Regexp.ExpandString: $1, ${1}, $name, ${name}, $$. */
static int mq_expand(ig_buf *b, ig_str tpl, const mq_re *r, ig_str subj, int nmatch)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
    size_t i = 0;
    while (i < tpl.len) {
        char ch = tpl.ptr[i];
        if (ch != '$' || i + 1 >= tpl.len) {
            if (ig_buf_putc(b, ch))
                return IG_ETOOBIG;
            i++;
            continue;
        }
        if (tpl.ptr[i + 1] == '$') {
            ig_buf_putc(b, '$');
            i += 2;
            continue;
        }
        size_t ns, ne, next;
        if (tpl.ptr[i + 1] == '{') {
            ns = i + 2;
            ne = ns;
            while (ne < tpl.len && tpl.ptr[ne] != '}')
                ne++;
            if (ne >= tpl.len || ne == ns) { /* malformed: literal $ */
                ig_buf_putc(b, '$');
                i++;
                continue;
            }
            next = ne + 1;
        } else {
            ns = i + 1;
            ne = ns;
            while (ne < tpl.len &&
                   (tpl.ptr[ne] == '_' || (tpl.ptr[ne] >= '0' && tpl.ptr[ne] <= '9') ||
                    (tpl.ptr[ne] >= 'a' && tpl.ptr[ne] <= 'z') ||
                    (tpl.ptr[ne] >= 'A' && tpl.ptr[ne] <= 'Z')))
                ne++;
            if (ne == ns) {
                ig_buf_putc(b, '$');
                i++;
                continue;
            }
            next = ne;
        }
        ig_str name = ig_str_make(tpl.ptr + ns, ne - ns);
        int64_t num;
        int grp = -1;
        if (ig_str_to_i64(name, &num) == 0 && name.ptr[0] != '-' && name.ptr[0] != '+') {
            grp = num < nmatch ? (int)num : -1;
        } else {
            char nm[128];
            if (name.len < sizeof(nm)) {
                memcpy(nm, name.ptr, name.len);
                nm[name.len] = 0;
                int n = pcre2_substring_number_from_name(r->code, (PCRE2_SPTR)nm);
                grp = n >= 0 && n < nmatch ? n : -1;
            }
        }
        if (grp >= 0 && ov[2 * grp] != PCRE2_UNSET &&
            ig_buf_append(b, subj.ptr + ov[2 * grp], ov[2 * grp + 1] - ov[2 * grp]))
            return IG_ETOOBIG;
        i = next;
    }
    return 0;
}

static int mq_eval_lrep(mq_ctx *c, const logql_expr *e, mq_val *out)
{
    mq_val in;
    memset(&in, 0, sizeof(in));
    int rc = mq_eval(c, e->u.lrep.arg, &in);
    if (rc)
        return rc;
    mq_re *r = ig_arena_zalloc(c->a, sizeof(mq_re));
    if (!r || ig_arena_on_free(c->a, mq_re_close, r))
        return mq_oom(c);
    r->gc = pcre2_general_context_create(mq_re_alloc, mq_re_free, NULL);
    r->cc = r->gc ? pcre2_compile_context_create(r->gc) : NULL;
    if (!r->cc)
        return mq_oom(c);
    ig_buf pat;
    ig_buf_init(&pat, LOGQL_MAX_QUERY_LEN + 16);
    if (ig_buf_append_cstr(&pat, "^(?:") || ig_buf_append_str(&pat, e->u.lrep.regex) ||
        ig_buf_append_cstr(&pat, ")$")) {
        ig_buf_free(&pat);
        return mq_oom(c);
    }
    int errcode;
    PCRE2_SIZE erroff;
    r->code = pcre2_compile((PCRE2_SPTR)pat.data, pat.len, PCRE2_DOLLAR_ENDONLY, &errcode, &erroff,
                            r->cc);
    ig_buf_free(&pat);
    if (!r->code)
        return ig_err(c->eb, IG_EINVAL, "invalid regex in label_replace: %.*s",
                      (int)e->u.lrep.regex.len, e->u.lrep.regex.ptr);
    r->md = pcre2_match_data_create_from_pattern(r->code, r->gc);
    if (!r->md)
        return mq_oom(c);
    ig_buf b;
    ig_buf_init(&b, 1u << 20);
    for (size_t i = 0; i < in.n; i++) {
        lq_labels l = in.s[i].l;
        ig_str sv = mq_lab_get(&l, e->u.lrep.src);
        if (!sv.ptr)
            sv = IG_STR("");
        int m = pcre2_match(r->code, (PCRE2_SPTR)sv.ptr, sv.len, 0, 0, r->md, NULL);
        if (m > 0) {
            ig_buf_reset(&b);
            if (mq_expand(&b, e->u.lrep.replacement, r, sv, m)) {
                ig_buf_free(&b);
                return ig_err(c->eb, IG_ETOOBIG, "label_replace result too long");
            }
            ig_str nv = ig_arena_strdup(c->a, ig_buf_str(&b));
            if (!nv.ptr || mq_set_label(c->a, &l, e->u.lrep.dst, nv, &l)) {
                ig_buf_free(&b);
                return mq_oom(c);
            }
        }
        size_t si;
        if (mq_val_series(c, out, &l, true, &si)) {
            ig_buf_free(&b);
            return mq_oom(c);
        }
        for (size_t st = 0; st < c->nsteps; st++)
            if (in.s[i].has[st]) {
                if (out->s[si].has[st]) {
                    ig_buf_free(&b);
                    return ig_err(c->eb, IG_EINVAL,
                                  "vector cannot contain metrics with the same labelset");
                }
                out->s[si].v[st] = in.s[i].v[st];
                out->s[si].has[st] = 1;
            }
    }
    ig_buf_free(&b);
    out->ordered = in.ordered;
    return 0;
}

/* ---- dispatch
 * ------------------------------------------------------------------------------------ */

static int mq_eval(mq_ctx *c, const logql_expr *e, mq_val *out)
{
    memset(out, 0, sizeof(*out));
    int rc = mq_check_deadline(c);
    if (rc)
        return rc;
    switch (e->kind) {
    case LOGQL_EXPR_RANGE_AGG:
        return mq_eval_range(c, e, NULL, out);
    case LOGQL_EXPR_VECTOR_AGG:
        return mq_eval_vec(c, e, out);
    case LOGQL_EXPR_BINARY:
        return mq_eval_bin(c, e, out);
    case LOGQL_EXPR_LABEL_REPLACE:
        return mq_eval_lrep(c, e, out);
    case LOGQL_EXPR_LITERAL:
        out->is_scalar = true;
        out->sv = ig_arena_alloc(c->a, c->nsteps * sizeof(double));
        if (!out->sv)
            return mq_oom(c);
        for (size_t st = 0; st < c->nsteps; st++)
            out->sv[st] = e->u.literal;
        return 0;
    case LOGQL_EXPR_VECTOR: {
        lq_labels none = {NULL, 0};
        size_t si;
        if (mq_val_series(c, out, &none, true, &si))
            return mq_oom(c);
        for (size_t st = 0; st < c->nsteps; st++) {
            out->s[si].v[st] = e->u.literal;
            out->s[si].has[st] = 1;
        }
        return 0;
    }
    case LOGQL_EXPR_LOG:
        return ig_err(c->eb, IG_EINVAL, "log queries are not supported as a metric expression");
    }
    return ig_err(c->eb, IG_EINTERNAL, "unknown expression kind");
}

static int mq_ser_cmp(const void *a, const void *b)
{
    return mq_lab_cmp(&((const lq_series *)a)->labels, &((const lq_series *)b)->labels);
}

static int64_t mq_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int lq_eval_metric(const logql_expr *e, lq_source *src, const lq_eval_opts *o, ig_arena *a,
                   lq_result *out, ig_errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    mq_ctx c;
    memset(&c, 0, sizeof(c));
    c.src = src;
    c.a = a;
    c.eb = eb;
    c.deadline = o->deadline_ns;
    c.max_series = o->max_series ? o->max_series : MQ_DEFAULT_MAX_SERIES;
    c.instant = o->instant || o->step_ns <= 0;
    if (c.instant) {
        c.start = o->end_ns;
        c.step = 1;
        c.nsteps = 1;
    } else {
        if (o->end_ns < o->start_ns)
            return ig_err(eb, IG_EINVAL, "end timestamp must not be before or equal to start time");
        /* Steps are start, start+step, ... <= end: no alignment to multiples of step
         * (Loki's conformance scripts expect points at start + k*step on every stack). */
        int64_t s = o->start_ns, en = o->end_ns;
        if ((en - s) / o->step_ns > MQ_MAX_POINTS)
            return ig_err(eb, IG_EINVAL,
                          "exceeded maximum resolution of 11,000 points per timeseries. Try "
                          "increasing the value of the step parameter");
        c.start = s;
        c.step = o->step_ns;
        c.nsteps = (size_t)((en - s) / o->step_ns) + 1;
    }
    mq_val v;
    int rc = mq_eval(&c, e, &v);
    if (rc)
        return rc;
    if (v.is_scalar) {
        if (c.instant) {
            out->type = LQ_SCALAR;
            out->scalar = v.sv[0];
            out->scalar_ts_ns = c.start;
            return 0;
        }
        out->type = LQ_MATRIX;
        out->series = ig_arena_zalloc(a, sizeof(lq_series));
        if (!out->series)
            return mq_oom(&c);
        out->n = 1;
        out->series[0].pts = ig_arena_alloc(a, c.nsteps * sizeof(lq_point));
        if (!out->series[0].pts)
            return mq_oom(&c);
        for (size_t st = 0; st < c.nsteps; st++)
            out->series[0].pts[st] = (lq_point){mq_t(&c, st), v.sv[st]};
        out->series[0].n = c.nsteps;
        return 0;
    }
    out->type = c.instant ? LQ_VECTOR : LQ_MATRIX;
    out->series = ig_arena_zalloc(a, (v.n + 1) * sizeof(lq_series));
    if (!out->series)
        return mq_oom(&c);
    for (size_t i = 0; i < v.n; i++) {
        mq_ser *s = &v.s[i];
        size_t np = 0;
        for (size_t st = 0; st < c.nsteps; st++)
            np += s->has[st];
        if (!np)
            continue;
        if (out->n >= c.max_series)
            return ig_err(eb, IG_EINVAL,
                          "maximum number of series (%zu) reached for a single query; consider "
                          "reducing query cardinality by adding more specific stream selectors, "
                          "reducing the time range, or aggregating results with functions like "
                          "sum(), count() or topk()",
                          c.max_series);
        lq_series *os = &out->series[out->n++];
        os->labels = s->l;
        os->pts = ig_arena_alloc(a, np * sizeof(lq_point));
        if (!os->pts)
            return mq_oom(&c);
        for (size_t st = 0; st < c.nsteps; st++)
            if (s->has[st])
                os->pts[os->n++] = (lq_point){mq_t(&c, st), s->v[st]};
    }
    if (!(c.instant && v.ordered))
        qsort(out->series, out->n, sizeof(lq_series), mq_ser_cmp);
    return 0;
}

/* ---- JSON
 * ---------------------------------------------------------------------------------------- */

/* Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest decimal that reads back as v, in
 * plain (non-exponent) notation; NaN, +Inf, -Inf as Prometheus writes them. */
static int mq_fmt_float(ig_buf *b, double v)
{
    if (isnan(v))
        return ig_buf_append_cstr(b, "NaN");
    if (isinf(v))
        return ig_buf_append_cstr(b, v > 0 ? "+Inf" : "-Inf");
    char e[40];
    for (int p = 0; p < 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p, v);
        if (strtod(e, NULL) == v)
            break;
    }
    /* e = [-]d[.ddd]e(+|-)XX */
    const char *q = e;
    bool neg = *q == '-';
    if (neg)
        q++;
    char dig[24];
    size_t nd = 0;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && nd < sizeof(dig))
            dig[nd++] = *q;
    long ex = strtol(q + 1, NULL, 10); /* value = 0.d1d2.. * 10^(ex+1) */
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    int rc = 0;
    if (neg)
        rc |= ig_buf_putc(b, '-');
    long point = ex + 1; /* digits before the decimal point */
    if (point <= 0) {
        rc |= ig_buf_append(b, "0.", 2);
        for (long k = 0; k < -point; k++)
            rc |= ig_buf_putc(b, '0');
        rc |= ig_buf_append(b, dig, nd);
    } else if ((size_t)point >= nd) {
        rc |= ig_buf_append(b, dig, nd);
        for (long k = (long)nd; k < point; k++)
            rc |= ig_buf_putc(b, '0');
    } else {
        rc |= ig_buf_append(b, dig, (size_t)point);
        rc |= ig_buf_putc(b, '.');
        rc |= ig_buf_append(b, dig + point, nd - (size_t)point);
    }
    return rc ? IG_ETOOBIG : 0;
}

/* Timestamp as Loki prints it: milliseconds as seconds with the fraction trimmed. */
static int mq_fmt_ts(ig_buf *b, int64_t ns)
{
    int64_t ms = mq_floor_div(ns, 1000000);
    bool neg = ms < 0;
    uint64_t ams = neg ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    unsigned frac = (unsigned)(ams % 1000);
    char f[4] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10), (char)('0' + frac % 10),
                 0};
    int fl = 3;
    while (fl > 0 && f[fl - 1] == '0')
        fl--;
    if (!fl)
        return ig_buf_printf(b, "%s%llu", neg ? "-" : "", (unsigned long long)(ams / 1000));
    return ig_buf_printf(b, "%s%llu.%.*s", neg ? "-" : "", (unsigned long long)(ams / 1000), fl, f);
}

static int mq_json_point(ig_buf *b, int64_t ts, double v)
{
    int rc = ig_buf_putc(b, '[');
    rc |= mq_fmt_ts(b, ts);
    rc |= ig_buf_append(b, ",\"", 2);
    rc |= mq_fmt_float(b, v);
    rc |= ig_buf_append(b, "\"]", 2);
    return rc ? IG_ETOOBIG : 0;
}

static int mq_json_metric(ig_buf *b, const lq_labels *l)
{
    int rc = ig_buf_append_cstr(b, "{\"metric\":{");
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            rc |= ig_buf_putc(b, ',');
        rc |= ig_buf_json_str(b, l->v[i].name);
        rc |= ig_buf_putc(b, ':');
        rc |= ig_buf_json_str(b, l->v[i].value);
    }
    rc |= ig_buf_putc(b, '}');
    return rc ? IG_ETOOBIG : 0;
}

int lq_result_json(const lq_result *r, ig_buf *b)
{
    int rc = 0;
    switch (r->type) {
    case LQ_SCALAR:
        rc |= ig_buf_append_cstr(b, "{\"resultType\":\"scalar\",\"result\":");
        rc |= mq_json_point(b, r->scalar_ts_ns, r->scalar);
        rc |= ig_buf_putc(b, '}');
        break;
    case LQ_VECTOR:
        rc |= ig_buf_append_cstr(b, "{\"resultType\":\"vector\",\"result\":[");
        for (size_t i = 0; i < r->n && rc == 0; i++) {
            const lq_series *s = &r->series[i];
            if (i)
                rc |= ig_buf_putc(b, ',');
            rc |= mq_json_metric(b, &s->labels);
            rc |= ig_buf_append_cstr(b, ",\"value\":");
            if (s->n)
                rc |= mq_json_point(b, s->pts[0].ts_ns, s->pts[0].v);
            else
                rc |= ig_buf_append_cstr(b, "null");
            rc |= ig_buf_putc(b, '}');
        }
        rc |= ig_buf_append_cstr(b, "]}");
        break;
    case LQ_MATRIX:
        rc |= ig_buf_append_cstr(b, "{\"resultType\":\"matrix\",\"result\":[");
        for (size_t i = 0; i < r->n && rc == 0; i++) {
            const lq_series *s = &r->series[i];
            if (i)
                rc |= ig_buf_putc(b, ',');
            rc |= mq_json_metric(b, &s->labels);
            rc |= ig_buf_append_cstr(b, ",\"values\":[");
            for (size_t k = 0; k < s->n && rc == 0; k++) {
                if (k)
                    rc |= ig_buf_putc(b, ',');
                rc |= mq_json_point(b, s->pts[k].ts_ns, s->pts[k].v);
            }
            rc |= ig_buf_append_cstr(b, "]}");
        }
        rc |= ig_buf_append_cstr(b, "]}");
        break;
    case LQ_STREAMS:
        return IG_EUNSUPPORTED; /* log results are written by the Loki API (loki_api.c) */
    }
    return rc ? IG_ETOOBIG : 0;
}
