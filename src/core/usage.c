/* Per-tenant usage state: token buckets, stored bytes, metric label cap (usage.h). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/map.h"
#include "icegate/metrics.h"
#include "icegate/tenant.h"
#include "icegate/usage.h"

typedef struct tstate {
    double tokens;
    int64_t last_ns;
    bool bucket_init;
    int64_t stored;
    int64_t added;
    bool own_label; /* among the first IG_USAGE_MAX_LABELS tenants */
    ig_metric *stored_gauge;
} tstate;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static ig_map g_tenants; /* tenant -> tstate* */
static bool g_init;
static size_t g_nlabels;
static tstate g_overflow;

/* Under g_mu: the tenant's state (created on first use; the overflow state past the cap). */
static tstate *state(ig_str tenant)
{
    if (!g_init) {
        ig_map_init(&g_tenants, IG_USAGE_MAX_TENANTS);
        g_init = true;
    }
    ig_map_entry *e;
    bool created;
    if (ig_map_upsert(&g_tenants, tenant, &e, &created))
        return &g_overflow;
    if (created) {
        tstate *s = ig_calloc(1, sizeof *s);
        if (!s) {
            ig_map_remove(&g_tenants, tenant);
            return &g_overflow;
        }
        s->own_label = g_nlabels < IG_USAGE_MAX_LABELS;
        if (s->own_label)
            g_nlabels++;
        e->value = s;
    }
    return e->value;
}

static void label_of(ig_str tenant, bool own, char *dst, size_t dstlen)
{
    if (!own) {
        snprintf(dst, dstlen, "%s", IG_USAGE_OVERFLOW);
        return;
    }
    char t[IG_TENANT_MAX_LEN + 1];
    snprintf(t, sizeof t, "%.*s", (int)(tenant.len > IG_TENANT_MAX_LEN ? IG_TENANT_MAX_LEN
                                                                        : tenant.len),
             tenant.ptr ? tenant.ptr : "");
    ig_metrics_label_escape(t, dst, dstlen);
}

void ig_usage_tenant_label(ig_str tenant, char *dst, size_t dstlen)
{
    pthread_mutex_lock(&g_mu);
    tstate *s = state(tenant);
    bool own = s != &g_overflow && s->own_label;
    pthread_mutex_unlock(&g_mu);
    label_of(tenant, own, dst, dstlen);
}

bool ig_usage_take(ig_str tenant, int64_t rate, int64_t burst, int64_t n, int64_t now_ns,
                   int64_t *retry_after_s)
{
    *retry_after_s = 0;
    if (rate <= 0)
        return true;
    if (burst < rate)
        burst = rate; /* a bucket smaller than a second of rate would refuse steady traffic */
    pthread_mutex_lock(&g_mu);
    tstate *s = state(tenant);
    if (!s->bucket_init) {
        s->tokens = (double)burst;
        s->last_ns = now_ns;
        s->bucket_init = true;
    }
    if (now_ns > s->last_ns) {
        s->tokens += (double)rate * (double)(now_ns - s->last_ns) / 1e9;
        s->last_ns = now_ns;
    }
    if (s->tokens > (double)burst)
        s->tokens = (double)burst;
    bool ok = (double)n <= s->tokens;
    if (ok) {
        s->tokens -= (double)n;
    } else if (n <= burst) {
        double wait = ((double)n - s->tokens) / (double)rate;
        *retry_after_s = (int64_t)ceil(wait);
        if (*retry_after_s < 1)
            *retry_after_s = 1;
    }
    pthread_mutex_unlock(&g_mu);
    return ok;
}

static void publish_stored(ig_str tenant, tstate *s)
{
    /* Called under g_mu. The gauge is created once per tenant with an own label. */
    if (s == &g_overflow || !s->own_label)
        return;
    if (!s->stored_gauge) {
        char esc[2 * IG_TENANT_MAX_LEN + 2], labels[400];
        label_of(tenant, true, esc, sizeof esc);
        snprintf(labels, sizeof labels, "tenant=\"%s\"", esc);
        s->stored_gauge = ig_gauge("icegate_tenant_stored_bytes",
                                   "Bytes stored per tenant (WAL segments and Iceberg data files) "
                                   "as counted for the storage quota.",
                                   labels);
    }
    ig_metric_set(s->stored_gauge, (double)s->stored);
}

int64_t ig_usage_stored(ig_str tenant)
{
    pthread_mutex_lock(&g_mu);
    int64_t v = state(tenant)->stored;
    pthread_mutex_unlock(&g_mu);
    return v;
}

void ig_usage_stored_add(ig_str tenant, int64_t bytes)
{
    pthread_mutex_lock(&g_mu);
    tstate *s = state(tenant);
    s->stored += bytes;
    s->added += bytes;
    publish_stored(tenant, s);
    pthread_mutex_unlock(&g_mu);
}

void ig_usage_stored_set(ig_str tenant, int64_t bytes)
{
    pthread_mutex_lock(&g_mu);
    tstate *s = state(tenant);
    s->stored = bytes < 0 ? 0 : bytes;
    publish_stored(tenant, s);
    pthread_mutex_unlock(&g_mu);
}

int64_t ig_usage_stored_added(ig_str tenant)
{
    pthread_mutex_lock(&g_mu);
    int64_t v = state(tenant)->added;
    pthread_mutex_unlock(&g_mu);
    return v;
}

int ig_usage_foreach_tenant(void (*fn)(ig_str tenant, void *ud), void *ud, int max)
{
    if (max <= 0)
        return 0;
    char(*names)[IG_TENANT_MAX_LEN + 1] = ig_malloc((size_t)max * (IG_TENANT_MAX_LEN + 1));
    if (!names)
        return 0;
    int n = 0;
    pthread_mutex_lock(&g_mu);
    if (g_init) {
        size_t i = 0;
        ig_map_entry *e;
        while (n < max && (e = ig_map_next(&g_tenants, &i))) {
            size_t l = e->key_len > IG_TENANT_MAX_LEN ? IG_TENANT_MAX_LEN : e->key_len;
            memcpy(names[n], e->key, l);
            names[n][l] = 0;
            n++;
        }
    }
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < n; i++)
        fn(ig_str_from(names[i]), ud);
    ig_free(names);
    return n;
}

void ig_usage_count_rejection(ig_str tenant, const char *signal, const char *reason,
                              uint64_t records, uint64_t bytes)
{
    char esc[2 * IG_TENANT_MAX_LEN + 2], labels[512];
    ig_usage_tenant_label(tenant, esc, sizeof esc);
    snprintf(labels, sizeof labels, "tenant=\"%s\",signal=\"%s\",reason=\"%s\"", esc, signal,
             reason);
    ig_metric_add(ig_counter("icegate_ingest_rejected_requests_total",
                             "Ingest requests refused by a limit or validation, by tenant, "
                             "signal and reason.",
                             labels),
                  1);
    if (records)
        ig_metric_add(ig_counter("icegate_ingest_rejected_records_total",
                                 "Records (log entries, spans, data points) refused, by tenant, "
                                 "signal and reason.",
                                 labels),
                      (double)records);
    if (bytes)
        ig_metric_add(ig_counter("icegate_ingest_rejected_bytes_total",
                                 "Bytes refused, by tenant, signal and reason.", labels),
                      (double)bytes);
}

void ig_usage_count_query(ig_str tenant, const char *api, const char *endpoint, int status,
                          double seconds)
{
    char esc[2 * IG_TENANT_MAX_LEN + 2], labels[512];
    ig_usage_tenant_label(tenant, esc, sizeof esc);
    snprintf(labels, sizeof labels, "tenant=\"%s\",api=\"%s\",endpoint=\"%s\",outcome=\"%s\"", esc,
             api, endpoint, status >= 200 && status < 300 ? "ok" : "error");
    ig_metric_add(ig_counter("icegate_query_requests_total",
                             "Query API requests by tenant, API, endpoint and outcome.", labels),
                  1);
    snprintf(labels, sizeof labels, "tenant=\"%s\",api=\"%s\",endpoint=\"%s\"", esc, api, endpoint);
    ig_metric_observe(ig_histogram("icegate_query_duration_seconds",
                                   "Query API request latency by tenant, API and endpoint.", labels,
                                   IG_LATENCY_BUCKETS, IG_LATENCY_NBUCKETS),
                      seconds);
}

void ig_usage_reset(void)
{
    pthread_mutex_lock(&g_mu);
    if (g_init) {
        size_t i = 0;
        ig_map_entry *e;
        while ((e = ig_map_next(&g_tenants, &i)))
            ig_free(e->value);
        ig_map_free(&g_tenants);
        g_init = false;
    }
    g_nlabels = 0;
    memset(&g_overflow, 0, sizeof g_overflow);
    pthread_mutex_unlock(&g_mu);
}
