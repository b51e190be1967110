/* Limits endpoints and the stored-bytes recount (tenant_api.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"
#include "icegate/log.h"
#include "icegate/map.h"
#include "icegate/plan.h"
#include "icegate/tenant.h"
#include "icegate/time.h"
#include "icegate/usage.h"
#include "icegate/version.h"
#include "icegate/wal.h"
#include "server/tenant_api.h"

#define RECOUNT_MAX_TENANTS 100000
/* Each recount plans 4 tables per tenant: tenants with a storage quota are recounted every
 * time, the others (whose count only feeds icegate_tenant_stored_bytes) up to this many. */
#define RECOUNT_MAX_UNQUOTED 1000

struct ig_tenant_api {
    const ig_config *cfg;
    ig_limits *limits;
    ig_store *store;
    ig_tenant_opts topts;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

int ig_tenant_api_new(const ig_config *cfg, ig_limits *limits, ig_store *store,
                      ig_tenant_api **out)
{
    ig_tenant_api *a = ig_calloc(1, sizeof *a);
    if (!a)
        return IG_ENOMEM;
    a->cfg = cfg;
    a->limits = limits;
    a->store = store;
    a->topts.auth_enabled = cfg->auth.enabled;
    a->topts.default_tenant = cfg->auth.default_tenant;
    a->topts.allow_multi = false;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    *out = a;
    return 0;
}

/* Resolves the caller's tenant; answers the error itself and returns false on failure. */
static bool caller(ig_tenant_api *a, ig_http_req *req, ig_http_resp *resp, ig_str *tenant)
{
    char msg[300];
    ig_tenancy t;
    int st = ig_tenancy_resolve(&a->topts, ig_http_header(req, "X-Scope-OrgID"),
                                ig_http_header_count(req, "X-Scope-OrgID"), NULL, 0, &req->arena,
                                &t, msg, sizeof msg);
    if (st) {
        ig_http_resp_text(resp, st, "text/plain; charset=utf-8", "%s\n", msg);
        return false;
    }
    *tenant = t.tenants[0];
    return true;
}

static int h_limits_yaml(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    ig_tenant_api *a = ud;
    ig_str tenant;
    if (!caller(a, req, resp, &tenant))
        return 0;
    ig_tenant_limits l;
    ig_limits_get(a->limits, tenant, &l);
    resp->status = 200;
    ig_http_resp_header(resp, "Content-Type", "application/yaml");
    return ig_tenant_limits_yaml(&l, 0, &resp->body);
}

static int h_drilldown_limits(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    ig_tenant_api *a = ud;
    ig_str tenant;
    if (!caller(a, req, resp, &tenant))
        return 0;
    ig_tenant_limits l;
    ig_limits_get(a->limits, tenant, &l);
    resp->status = 200;
    ig_http_resp_header(resp, "Content-Type", "application/json");
    ig_buf *b = &resp->body;
    /* Loki's allowlisted fields; the ones without an IceGate limit carry what IceGate does
     * (no level discovery, no patterns, no lookback or range limit). */
    ig_buf_append_cstr(b, "{\"limits\":{");
    ig_tenant_limits_json(&l, b);
    ig_buf_append_cstr(b, ",\"discover_log_levels\":false,\"discover_service_name\":[],"
                          "\"log_level_fields\":[],\"max_line_size_truncate\":false,"
                          "\"max_query_bytes_read\":\"0B\",\"max_query_lookback\":\"0s\","
                          "\"max_query_range\":\"0s\",\"metric_aggregation_enabled\":false,"
                          "\"pattern_persistence_enabled\":false,\"retention_stream\":[],"
                          "\"volume_enabled\":true,\"volume_max_series\":1000},"
                          "\"pattern_ingester_enabled\":false,\"version\":\"" IG_VERSION "\"}");
    return 0;
}

int ig_tenant_api_register(ig_tenant_api *a, ig_http_server *s)
{
    int rc = ig_http_route(s, "GET", "/config/tenant/v1/limits", h_limits_yaml, a);
    if (!rc)
        rc = ig_http_route(s, "GET", "/loki/api/v1/drilldown-limits", h_drilldown_limits, a);
    return rc;
}

/* ---- stored bytes recount ---- */

typedef struct recount_ctx {
    ig_tenant_api *a;
    catalog *cat;
    int unquoted; /* tenants without a quota recounted so far in this pass */
} recount_ctx;

/* Bytes of the row groups rgs[0..n) of a WAL segment (compressed column chunks). */
static int64_t wal_rg_bytes(ig_store *store, const ig_plan_file *f)
{
    pq_file *pf = NULL;
    ig_errbuf eb = {{0}};
    if (ig_plan_open(store, f, &pf, &eb))
        return 0; /* gone meanwhile: covered by Iceberg now */
    int64_t total = 0;
    size_t ncols = pf->schema ? pf->schema->ncols : 0;
    for (size_t i = 0; i < f->nrgs; i++) {
        uint32_t rg = f->rgs[i];
        if (rg >= pf->nrgs)
            continue;
        for (size_t c = 0; c < ncols; c++)
            total += pf->rgs[rg].cols[c].total_compressed;
    }
    pq_close(pf);
    return total;
}

/* WAL + Iceberg bytes of one tenant: Iceberg data files are single-tenant (partitioned by
 * tenant_id) and count whole; WAL segments after the snapshot's position count the
 * tenant's row groups only. */
static int recount_tenant(recount_ctx *rc, ig_str tenant, int64_t *out)
{
    int64_t total = 0;
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        ig_plan_req req = {.table = (ig_table_id)t,
                           .tenant = tenant,
                           /* every time (±146,000 years; INT64_MIN/MAX would
                            * overflow the planner's day arithmetic) */
                           .start_us = -(INT64_C(1) << 62),
                           .end_us = INT64_C(1) << 62};
        ig_plan p;
        ig_errbuf eb = {{0}};
        int r = ig_plan_scan(rc->cat, rc->a->store, &req, &p, &eb);
        if (r) {
            ig_plan_free(&p);
            char tn[IG_TENANT_MAX_LEN + 1];
            snprintf(tn, sizeof tn, "%.*s", (int)tenant.len, tenant.ptr);
            ig_log(IG_LOG_WARN, "stored bytes recount failed", "tenant", tn, "error",
                   eb.msg[0] ? eb.msg : ig_strerror(r), NULL);
            return r;
        }
        for (size_t i = 0; i < p.nfiles; i++)
            total += p.files[i].wal ? wal_rg_bytes(rc->a->store, &p.files[i])
                                    : (int64_t)p.files[i].size;
        ig_plan_free(&p);
    }
    *out = total;
    return 0;
}

static void recount_one(ig_str tenant, void *ud)
{
    recount_ctx *rc = ud;
    ig_tenant_limits lim;
    ig_limits_get(rc->a->limits, tenant, &lim);
    if (lim.storage_quota_bytes <= 0 && rc->unquoted++ >= RECOUNT_MAX_UNQUOTED)
        return;
    int64_t before = ig_usage_stored_added(tenant);
    int64_t bytes;
    if (recount_tenant(rc, tenant, &bytes))
        return;
    int64_t during = ig_usage_stored_added(tenant) - before;
    ig_usage_stored_set(tenant, bytes + during);
}

/* Makes the tenants with WAL data known to the usage map (their segments' footers). */
static void discover_wal_tenants(ig_store *store)
{
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        ig_wal_seglist l;
        ig_errbuf eb = {{0}};
        if (ig_wal_list(store, (ig_table_id)t, NULL, &l, &eb) == 0) {
            for (size_t i = 0; i < l.n; i++) {
                pq_file *pf = NULL;
                if (ig_wal_segment_open(store, l.segs[i].key, &pf, &eb))
                    continue;
                ig_wal_seginfo si;
                if (ig_wal_segment_info(pf, &si, &eb) == 0)
                    for (size_t g = 0; g < si.nrgs; g++)
                        (void)ig_usage_stored(si.rgs[g].tenant); /* creates the entry */
                ig_wal_seginfo_free(&si);
                pq_close(pf);
            }
        }
        ig_wal_seglist_free(&l);
    }
}

void ig_tenant_api_recount(ig_tenant_api *a)
{
    if (!a->store)
        return;
    recount_ctx rc = {.a = a};
    ig_errbuf eb = {{0}};
    if (catalog_open(a->cfg, &rc.cat, &eb)) {
        rc.cat = NULL; /* WAL only */
        ig_log(IG_LOG_DEBUG, "stored bytes recount without the catalog", "error", eb.msg, NULL);
    }
    ig_usage_foreach_tenant(recount_one, &rc, RECOUNT_MAX_TENANTS);
    catalog_close(rc.cat);
}

static void *recount_thread(void *arg)
{
    ig_tenant_api *a = arg;
    discover_wal_tenants(a->store);
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        pthread_mutex_unlock(&a->mu);
        ig_tenant_api_recount(a);
        pthread_mutex_lock(&a->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t period = a->cfg->limits.storage_recount_period_ns;
        int64_t ns = ts.tv_nsec + period % IG_NS_PER_S;
        ts.tv_sec += (time_t)(period / IG_NS_PER_S) + (time_t)(ns / IG_NS_PER_S);
        ts.tv_nsec = (long)(ns % IG_NS_PER_S);
        while (!a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int ig_tenant_api_start_recount(ig_tenant_api *a)
{
    if (!a->store || a->started)
        return 0;
    if (pthread_create(&a->thread, NULL, recount_thread, a) != 0)
        return IG_ENOMEM;
    a->started = true;
    return 0;
}

void ig_tenant_api_free(ig_tenant_api *a)
{
    if (!a)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->mu);
        a->stop = true;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
    }
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    ig_free(a);
}
