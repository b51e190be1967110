/* Metrics registry: families keyed by name, series keyed by label text, Prometheus text output. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/map.h"
#include "icegate/metrics.h"

#define MAX_SERIES 20000
#define MAX_BOUNDS 32

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } mtype;

typedef struct family family;

struct ig_metric {
    family *fam;
    char *labels;                 /* rendered label text, "" for none */
    _Atomic uint64_t value_bits;  /* counter/gauge value, or histogram sum (as double bits) */
    _Atomic uint64_t count;       /* histogram observations */
    _Atomic uint64_t buckets[MAX_BOUNDS + 1];
    ig_metric *next;              /* family's series list, in creation order */
};

struct family {
    char *name;
    char *help;
    mtype type;
    double bounds[MAX_BOUNDS];
    int nbounds;
    ig_metric *head, *tail;
    ig_metric *overflow;
    family *next;
};

const double IG_LATENCY_BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                     0.25,  0.5,    1,     2.5,  5,     10,   30};
const int IG_LATENCY_NBUCKETS = sizeof IG_LATENCY_BUCKETS / sizeof IG_LATENCY_BUCKETS[0];

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static ig_map g_series; /* "name\0labels" -> ig_metric* */
static ig_map g_families;
static family *g_fam_head, *g_fam_tail;
static size_t g_nseries;
static ig_metric g_sink; /* when nothing can be allocated */

static family *get_family(const char *name, const char *help, mtype t, const double *bounds,
                          int nb)
{
    family *f = ig_map_get(&g_families, ig_str_from(name));
    if (f)
        return f;
    f = ig_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = ig_strdup(name);
    f->help = ig_strdup(help ? help : "");
    f->type = t;
    if (nb > MAX_BOUNDS)
        nb = MAX_BOUNDS;
    for (int i = 0; i < nb; i++)
        f->bounds[i] = bounds[i];
    f->nbounds = nb;
    if (!f->name || !f->help || ig_map_put(&g_families, ig_str_from(name), f, NULL)) {
        ig_free(f->name);
        ig_free(f->help);
        ig_free(f);
        return NULL;
    }
    if (g_fam_tail)
        g_fam_tail->next = f;
    else
        g_fam_head = f;
    g_fam_tail = f;
    return f;
}

static ig_metric *new_series(family *f, const char *labels)
{
    ig_metric *m = ig_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->fam = f;
    m->labels = ig_strdup(labels);
    if (!m->labels) {
        ig_free(m);
        return NULL;
    }
    if (f->tail)
        f->tail->next = m;
    else
        f->head = m;
    f->tail = m;
    return m;
}

static ig_metric *lookup(const char *name, const char *help, const char *labels, mtype t,
                         const double *bounds, int nb)
{
    if (!labels)
        labels = "";
    char key[512];
    size_t nl = strlen(name), ll = strlen(labels);
    if (nl + 1 + ll > sizeof key)
        return &g_sink;
    memcpy(key, name, nl);
    key[nl] = 0;
    memcpy(key + nl + 1, labels, ll);
    ig_str k = {key, nl + 1 + ll};
    pthread_mutex_lock(&g_mu);
    ig_metric *m = ig_map_get(&g_series, k);
    if (!m) {
        family *f = get_family(name, help, t, bounds, nb);
        if (!f) {
            m = &g_sink;
        } else if (g_nseries >= MAX_SERIES) {
            if (!f->overflow)
                f->overflow = new_series(f, "overflow=\"true\"");
            m = f->overflow ? f->overflow : &g_sink;
        } else {
            m = new_series(f, labels);
            if (m && ig_map_put(&g_series, k, m, NULL) == 0)
                g_nseries++;
            else if (!m)
                m = &g_sink;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return m;
}

ig_metric *ig_counter(const char *name, const char *help, const char *labels)
{
    return lookup(name, help, labels, M_COUNTER, NULL, 0);
}

ig_metric *ig_gauge(const char *name, const char *help, const char *labels)
{
    return lookup(name, help, labels, M_GAUGE, NULL, 0);
}

ig_metric *ig_histogram(const char *name, const char *help, const char *labels,
                        const double *bounds, int nbounds)
{
    return lookup(name, help, labels, M_HISTOGRAM, bounds, nbounds);
}

static double bits2d(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t d2bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load(p);
    while (!atomic_compare_exchange_weak(p, &old, d2bits(bits2d(old) + v)))
        ;
}

void ig_metric_add(ig_metric *m, double v)
{
    atomic_add_double(&m->value_bits, v);
}

void ig_metric_set(ig_metric *m, double v)
{
    atomic_store(&m->value_bits, d2bits(v));
}

void ig_metric_observe(ig_metric *m, double v)
{
    if (!m->fam)
        return;
    int i = 0;
    while (i < m->fam->nbounds && v > m->fam->bounds[i])
        i++;
    atomic_fetch_add(&m->buckets[i], 1);
    atomic_fetch_add(&m->count, 1);
    atomic_add_double(&m->value_bits, v);
}

void ig_metrics_label_escape(const char *v, char *dst, size_t dstlen)
{
    size_t o = 0;
    for (; *v && o + 3 < dstlen; v++) {
        if (*v == '\\' || *v == '"') {
            dst[o++] = '\\';
            dst[o++] = *v;
        } else if (*v == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else {
            dst[o++] = *v;
        }
    }
    if (dstlen)
        dst[o < dstlen ? o : dstlen - 1] = 0;
}

static void fmt_double(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "NaN");
    else if (isinf(v))
        snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        snprintf(buf, n, "%lld", (long long)v);
    else {
        /* shortest of %.15g / %.17g that reads back exactly */
        snprintf(buf, n, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, n, "%.17g", v);
    }
}

static int render_series(ig_buf *out, const char *name, const char *suffix, const char *labels,
                         const char *extra, const char *val)
{
    int has = labels[0] || (extra && extra[0]);
    return ig_buf_printf(out, "%s%s%s%s%s%s%s %s\n", name, suffix, has ? "{" : "", labels,
                         labels[0] && extra && extra[0] ? "," : "", extra ? extra : "",
                         has ? "}" : "", val);
}

int ig_metrics_render(ig_buf *out)
{
    int rc = 0;
    char v[64], le[80];
    pthread_mutex_lock(&g_mu);
    for (family *f = g_fam_head; f && !rc; f = f->next) {
        static const char *tn[] = {"counter", "gauge", "histogram"};
        rc = ig_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                           tn[f->type]);
        for (ig_metric *m = f->head; m && !rc; m = m->next) {
            if (f->type != M_HISTOGRAM) {
                fmt_double(v, sizeof v, bits2d(atomic_load(&m->value_bits)));
                rc = render_series(out, f->name, "", m->labels, NULL, v);
                continue;
            }
            uint64_t cum = 0;
            for (int i = 0; i <= f->nbounds && !rc; i++) {
                cum += atomic_load(&m->buckets[i]);
                if (i < f->nbounds) {
                    fmt_double(v, sizeof v, f->bounds[i]);
                    snprintf(le, sizeof le, "le=\"%s\"", v);
                } else {
                    snprintf(le, sizeof le, "le=\"+Inf\"");
                }
                snprintf(v, sizeof v, "%llu", (unsigned long long)cum);
                rc = render_series(out, f->name, "_bucket", m->labels, le, v);
            }
            fmt_double(v, sizeof v, bits2d(atomic_load(&m->value_bits)));
            if (!rc)
                rc = render_series(out, f->name, "_sum", m->labels, NULL, v);
            snprintf(v, sizeof v, "%llu", (unsigned long long)atomic_load(&m->count));
            if (!rc)
                rc = render_series(out, f->name, "_count", m->labels, NULL, v);
        }
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}
