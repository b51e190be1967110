/* `icegate run`: opens the listeners of the selected roles, serves until SIGTERM/SIGINT,
 * then stops accepting, lets in-flight requests finish (up to shutdown_timeout) and exits.
 *
 * Every listener answers /ready, /health and /metrics; an API whose implementation has
 * not landed yet answers 501 naming the API, so clients get an honest answer. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "icegate/grpc.h"
#include "icegate/http.h"
#include "icegate/ingest.h"
#include "icegate/loki_api.h"
#include "icegate/limits.h"
#include "icegate/maintain.h"
#include "icegate/rest_catalog.h"
#include "icegate/store.h"
#include "icegate/wal.h"
#include "icegate/log.h"
#include "icegate/metrics.h"
#include "icegate/time.h"
#include "icegate/version.h"
#include "server/server.h"
#include "server/tenant_api.h"

typedef struct listener_def {
    const char *name;      /* listener name */
    int role;              /* IG_ROLE_* that opens it */
    const char *api;       /* human name of its API, for 501 messages */
    const char *api_prefix; /* routes under this prefix answer 501 until built (NULL: none) */
    const char *ready_body;
} listener_def;

static const listener_def LISTENERS[] = {
    {"otlp_http", IG_ROLE_INGEST, "OTLP/HTTP ingest", NULL, "ready\n"},
    {"otlp_grpc", IG_ROLE_INGEST, "OTLP/gRPC ingest", NULL, "ready\n"},
    {"loki", IG_ROLE_QUERY, "Loki query API", "/loki/api/v1/*", "ready\n"},
    {"tempo", IG_ROLE_QUERY, "Tempo query API", "/api/*", "ready\n"},
    {"prometheus", IG_ROLE_QUERY, "Prometheus query API", "/api/v1/*",
     "Prometheus Server is Ready.\n"},
    {"maintain", IG_ROLE_MAINTAIN, "maintain admin API", "/maintain/*", "ready\n"},
    {"catalog", IG_ROLE_MAINTAIN, "Iceberg REST catalog", "/v1/*", "ready\n"},
};
#define NLISTENERS (sizeof LISTENERS / sizeof LISTENERS[0])

static int listener_port(const ig_config *cfg, const char *name)
{
    if (!strcmp(name, "otlp_http"))
        return cfg->otlp_http.listen.port;
    if (!strcmp(name, "otlp_grpc"))
        return cfg->otlp_grpc.listen.port;
    if (!strcmp(name, "loki"))
        return cfg->loki.listen.port;
    if (!strcmp(name, "tempo"))
        return cfg->tempo.listen.port;
    if (!strcmp(name, "prometheus"))
        return cfg->prometheus.listen.port;
    if (!strcmp(name, "maintain"))
        return cfg->maintain.listen.port;
    if (!strcmp(name, "catalog"))
        return cfg->catalog.rest.port;
    return 0;
}

static int64_t listener_body_cap(const ig_config *cfg, const char *name)
{
    if (!strcmp(name, "otlp_http"))
        return cfg->otlp_http.max_body_bytes;
    if (!strcmp(name, "otlp_grpc"))
        return cfg->otlp_grpc.max_message_bytes;
    if (!strcmp(name, "loki"))
        return cfg->loki.max_body_bytes;
    return 1 << 20;
}

static int h_ready(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    const listener_def *l = ud;
    return ig_http_resp_text(resp, 200, "text/plain; charset=utf-8", "%s", l->ready_body);
}

static int h_health(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    return ig_http_resp_text(resp, 200, "application/json", "{\"status\":\"healthy\"}");
}

static int h_metrics(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    resp->status = 200;
    ig_http_resp_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return ig_metrics_render(&resp->body);
}

static int h_not_implemented(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    const listener_def *l = ud;
    char msg[256];
    snprintf(msg, sizeof msg, "%s is not implemented yet: %s %s", l->api, req->method, req->path);
    return ig_http_resp_json_error(resp, 501, "not_implemented", msg);
}

static int h_push_elsewhere(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    return ig_http_resp_text(resp, 404, "text/plain; charset=utf-8",
                             "push is served by the ingest role, which this process does not "
                             "run: send to the OTLP/HTTP listener (port 4318) of an ingest "
                             "process\n");
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int ig_server_run(const ig_config *cfg, int roles)
{
    /* Keep freed memory in the process instead of returning it to the kernel after every
     * request: per-request arenas and row vectors are large and short-lived, and mapping
     * them afresh each time costs page faults (measured: ~40% of decode time for
     * 1000-record requests). Memory stays bounded by the request and queue caps. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    ig_http_set_inflight_cap(cfg->http_max_inflight_bytes);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (mkdir_p(cfg->data_dir) != 0) {
        fprintf(stderr, "icegate: cannot create data_dir \"%s\": %s\n", cfg->data_dir,
                strerror(errno));
        return 1;
    }

    /* Shared state of the roles. */
    ig_store *store = NULL;
    ig_wal *wal = NULL;
    ig_ingest *ingest = NULL;
    ig_errbuf eb = {{0}};
    int rc = 0;
    /* Per-tenant limits (defaults + overrides file) for every role. */
    ig_limits *limits = NULL;
    ig_tenant_api *tenant_api = NULL;
    ig_limits_opts lo = {.defaults = cfg->limits.defaults,
                         .overrides_file = cfg->limits.overrides_file,
                         .overrides_period_ns = cfg->limits.overrides_period_ns,
                         .start_thread = true};
    if (ig_limits_open(&lo, &limits, &eb)) {
        fprintf(stderr, "icegate: %s\n", eb.msg[0] ? eb.msg : "cannot load the limits");
        return 1;
    }
    ig_limits_set_process(limits);
    if (roles & IG_ROLE_INGEST) {
        ig_wal_opts wo;
        ig_wal_opts_from_config(cfg, &wo);
        if (ig_store_open_fs(cfg->storage.path, &store, &eb) ||
            ig_wal_open(store, &wo, &wal, &eb) || ig_ingest_new(cfg, wal, &ingest)) {
            fprintf(stderr, "icegate: cannot start ingest: %s\n",
                    eb.msg[0] ? eb.msg : "out of memory");
            rc = 1;
        } else {
            ig_ingest_set_limits(ingest, limits);
        }
    }

    ig_maint *maint = NULL;
    ig_rest_catalog *rest = NULL;
    if (rc == 0 && (roles & IG_ROLE_MAINTAIN)) {
        if ((!store && ig_store_open_fs(cfg->storage.path, &store, &eb)) ||
            ig_maint_start(cfg, store, &maint, &eb)) {
            fprintf(stderr, "icegate: cannot start maintain: %s\n",
                    eb.msg[0] ? eb.msg : "out of memory");
            rc = 1;
        }
    }

    if (rc == 0 && ig_tenant_api_new(cfg, limits, (roles & IG_ROLE_INGEST) ? store : NULL,
                                     &tenant_api))
        rc = 1;

    lq_loki_api *loki_api = NULL;
    if (rc == 0 && (roles & IG_ROLE_QUERY) && lq_loki_api_new(cfg, &loki_api, &eb)) {
        fprintf(stderr, "icegate: cannot start the Loki query API: %s\n", eb.msg);
        rc = 1;
    }

    ig_http_server *servers[NLISTENERS] = {0};
    ig_grpc_server *grpc = NULL;
    for (size_t i = 0; i < NLISTENERS && rc == 0; i++) {
        const listener_def *l = &LISTENERS[i];
        int port = listener_port(cfg, l->name);
        if (!(roles & l->role) || port == 0)
            continue;
        char err[256];
        int bound;
        if (!strcmp(l->name, "otlp_grpc")) {
            ig_grpc_opts go = {.name = l->name,
                               .host = cfg->listen_host,
                               .port = port,
                               .max_message_bytes = cfg->otlp_grpc.max_message_bytes,
                               .max_connections = (int)cfg->max_connections,
                               .idle_timeout_ns = cfg->http_idle_timeout_ns};
            grpc = ig_grpc_server_new(&go);
            if (!grpc || ig_ingest_register_grpc(ingest, grpc) ||
                ig_grpc_server_start(grpc, err, sizeof err) != 0) {
                fprintf(stderr, "icegate: %s\n", grpc ? err : "out of memory");
                rc = 1;
                break;
            }
            bound = ig_grpc_server_port(grpc);
        } else {
            ig_http_opts o = {.name = l->name,
                              .host = cfg->listen_host,
                              .port = port,
                              .max_body_bytes = listener_body_cap(cfg, l->name),
                              .max_connections = (int)cfg->max_connections,
                              .idle_timeout_s = (int)(cfg->http_idle_timeout_ns / IG_NS_PER_S)};
            ig_http_server *s = ig_http_server_new(&o);
            if (!s) {
                rc = 1;
                break;
            }
            servers[i] = s;
            ig_http_route(s, "GET", "/ready", h_ready, (void *)l);
            ig_http_route(s, "GET", "/health", h_health, (void *)l);
            ig_http_route(s, "GET", "/metrics", h_metrics, (void *)l);
            if (!strcmp(l->name, "prometheus")) {
                ig_http_route(s, "GET", "/-/ready", h_ready, (void *)l);
                ig_http_route(s, "GET", "/-/healthy", h_ready, (void *)l);
            }
            if (!strcmp(l->name, "maintain"))
                ig_maint_register_http(maint, s);
            if (!strcmp(l->name, "catalog") &&
                ig_rest_catalog_register(s, ig_maint_catalog(maint), store, cfg->catalog.rest_token,
                                         &rest) != 0) {
                rc = 1;
                break;
            }
            if (!strcmp(l->name, "otlp_http"))
                ig_ingest_register_http(ingest, s);
            if (!strcmp(l->name, "loki")) {
                if (ingest)
                    ig_ingest_register_loki_push(ingest, s);
                else
                    ig_http_route(s, "POST", "/loki/api/v1/push", h_push_elsewhere, NULL);
                if (loki_api)
                    lq_loki_api_register(loki_api, s);
            }
            if (!strcmp(l->name, "otlp_http") || !strcmp(l->name, "loki"))
                ig_tenant_api_register(tenant_api, s); /* exact routes win over catch-alls */
            if (l->api_prefix)
                ig_http_route(s, "*", l->api_prefix, h_not_implemented, (void *)l);
            if (ig_http_server_start(s, err, sizeof err) != 0) {
                fprintf(stderr, "icegate: %s\n", err);
                rc = 1;
                break;
            }
            bound = ig_http_server_port(s);
        }
        char ps[16];
        snprintf(ps, sizeof ps, "%d", bound);
        ig_log(IG_LOG_INFO, "listening", "listener", l->name, "host", cfg->listen_host, "port",
               ps, NULL);
    }

    if (rc == 0 && ig_tenant_api_start_recount(tenant_api))
        rc = 1;
    if (rc == 0) {
        ig_log(IG_LOG_INFO, "icegate started", "version", IG_VERSION, "data_dir", cfg->data_dir,
               NULL);
        int sig = 0;
        sigwait(&set, &sig);
        ig_log(IG_LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               NULL);
    }
    for (size_t i = 0; i < NLISTENERS; i++)
        if (servers[i])
            ig_http_server_quiesce(servers[i]);
    if (grpc)
        ig_grpc_server_quiesce(grpc);
    int64_t deadline = ig_mono_ns() + cfg->shutdown_timeout_ns;
    for (size_t i = 0; i < NLISTENERS; i++) {
        if (!servers[i])
            continue;
        int64_t left = deadline - ig_mono_ns();
        int n = ig_http_server_drain(servers[i], left > 0 ? left : 0);
        if (n > 0) {
            char ns[16];
            snprintf(ns, sizeof ns, "%d", n);
            ig_log(IG_LOG_WARN, "shutdown timeout: abandoning in-flight requests", "listener",
                   LISTENERS[i].name, "requests", ns, NULL);
        }
        ig_http_server_free(servers[i]);
    }
    if (grpc) {
        int64_t left = deadline - ig_mono_ns();
        ig_grpc_server_drain(grpc, left > 0 ? left : 0);
        ig_grpc_server_free(grpc);
    }
    /* Requests are answered: stop the scheduler (a running job finishes first). */
    ig_maint_stop(maint);
    ig_rest_catalog_free(rest);
    ig_tenant_api_free(tenant_api);
    /* Flush what the WAL still holds, then release the store. */
    lq_loki_api_free(loki_api);
    ig_ingest_free(ingest);
    ig_wal_close(wal);
    ig_limits_set_process(NULL);
    ig_limits_close(limits);
    if (store)
        ig_store_close(store);
    if (rc == 0)
        ig_log(IG_LOG_INFO, "stopped", NULL);
    return rc;
}
