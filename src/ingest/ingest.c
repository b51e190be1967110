/* Ingest handlers: tenancy → decompression → decode → WAL → answer (docs/ingest.md). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "icegate/alloc.h"
#include "icegate/compress.h"
#include "icegate/ingest.h"
#include "icegate/json.h"
#include "icegate/limits.h"
#include "icegate/log.h"
#include "icegate/lokipush.h"
#include "icegate/metrics.h"
#include "icegate/otlp.h"
#include "icegate/pb.h"
#include "icegate/tenant.h"
#include "icegate/time.h"
#include "icegate/usage.h"
#include "icegate/wal.h"
#include <stdatomic.h>

/* A route's context: the ingest instance and the signal of the route. */
typedef struct route_ctx {
    ig_ingest *ing;
    ig_signal sig;
} route_ctx;

struct ig_ingest {
    const ig_config *cfg;
    ig_wal *wal;
    ig_limits *limits;          /* borrowed; NULL: the configured defaults */
    _Atomic uint64_t est_bytes; /* estimated row bytes appended (ratio to segment bytes) */
    ig_tenant_opts tenant_opts;
    route_ctx routes[IG_SIGNAL_COUNT_]; /* handed to the HTTP and gRPC routes */
};

int ig_ingest_new(const ig_config *cfg, ig_wal *wal, ig_ingest **out)
{
    ig_ingest *ing = ig_calloc(1, sizeof *ing);
    if (!ing)
        return IG_ENOMEM;
    ing->cfg = cfg;
    ing->wal = wal;
    ing->tenant_opts.auth_enabled = cfg->auth.enabled;
    ing->tenant_opts.default_tenant = cfg->auth.default_tenant;
    ing->tenant_opts.allow_multi = false; /* push and OTLP never take several tenants */
    for (int i = 0; i < IG_SIGNAL_COUNT_; i++) {
        ing->routes[i].ing = ing;
        ing->routes[i].sig = (ig_signal)i;
    }
    *out = ing;
    return 0;
}

void ig_ingest_free(ig_ingest *ing)
{
    ig_free(ing);
}

void ig_ingest_set_limits(ig_ingest *ing, ig_limits *limits)
{
    ing->limits = limits;
}

static void tenant_limits(ig_ingest *ing, ig_str tenant, ig_tenant_limits *out)
{
    if (ing->limits)
        ig_limits_get(ing->limits, tenant, out);
    else
        *out = ing->cfg->limits.defaults;
}

/* ---- outcome of one request, independent of the transport ---- */

typedef struct outcome {
    int http;          /* HTTP status */
    int grpc;          /* gRPC status code */
    bool retry;        /* retryable: Retry-After / RetryInfo */
    int64_t retry_after_s; /* seconds for Retry-After / RetryInfo; 0 = 1 */
    char msg[512];     /* error message, or partial success reason */
    uint64_t rejected; /* partial success count */
} outcome;

static void fail(outcome *o, int http, int grpc, bool retry, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void fail(outcome *o, int http, int grpc, bool retry, const char *fmt, ...)
{
    o->http = http;
    o->grpc = grpc;
    o->retry = retry;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof o->msg, fmt, ap);
    va_end(ap);
}

static const char *const SIGNAL_NAMES[] = {"logs", "traces", "metrics"};

/* Usage metrics per tenant and signal. reason: "accepted" or a fixed rejection reason. */
static void count(ig_str tenant, const char *signal, const char *outcome_name, uint64_t records,
                  uint64_t bytes)
{
    char esc[2 * IG_TENANT_MAX_LEN + 2], labels[512];
    ig_usage_tenant_label(tenant, esc, sizeof esc); /* capped: "__overflow__" past the cap */
    snprintf(labels, sizeof labels, "tenant=\"%s\",signal=\"%s\",outcome=\"%s\"", esc, signal,
             outcome_name);
    if (records)
        ig_metric_add(ig_counter("icegate_ingest_records_total",
                                 "Records (log entries, spans, data points) received, by tenant, "
                                 "signal and outcome.",
                                 labels),
                      (double)records);
    if (bytes)
        ig_metric_add(ig_counter("icegate_ingest_bytes_total",
                                 "Decompressed request bytes received, by tenant, signal and "
                                 "outcome.",
                                 labels),
                      (double)bytes);
}

/* Appends the decoded batches to the WAL and maps its errors. */
static int append(ig_ingest *ing, ig_str tenant, const ig_rows *batches, size_t n, outcome *o)
{
    ig_errbuf eb = {{0}};
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += batches[i].n;
    if (!total)
        return 0;
    int rc = ig_wal_append(ing->wal, batches, n, NULL, &eb);
    if (rc == 0) {
        /* Storage quota: the request's share of the WAL bytes it was written into,
         * estimated as its row bytes times this process's segment/row-bytes ratio. */
        uint64_t est = 0;
        for (size_t i = 0; i < n; i++)
            est += ig_wal_rows_bytes(&batches[i]);
        uint64_t est_total = atomic_fetch_add(&ing->est_bytes, est) + est;
        ig_wal_stats ws;
        ig_wal_get_stats(ing->wal, &ws);
        double ratio = est_total && ws.bytes ? (double)ws.bytes / (double)est_total : 1.0;
        if (ratio < 0.01)
            ratio = 0.01;
        if (ratio > 2)
            ratio = 2;
        ig_usage_stored_add(tenant, (int64_t)((double)est * ratio));
        return 0;
    }
    if (rc == IG_EAGAIN)
        fail(o, 429, IG_GRPC_RESOURCE_EXHAUSTED, true,
             "ingestion queue is full, retry later: %s", eb.msg);
    else if (rc == IG_ETOOBIG)
        fail(o, 413, IG_GRPC_RESOURCE_EXHAUSTED, false, "request too large for the WAL: %s",
             eb.msg);
    else
        fail(o, 503, IG_GRPC_UNAVAILABLE, true, "storage unavailable, retry later: %s",
             eb.msg[0] ? eb.msg : ig_strerror(rc));
    return rc;
}

/* ---- per-tenant limits (docs/multi-tenancy.md) ---- */

/* Storage quota, then the ingestion rate (quota first, so a tenant over its quota spends
 * no tokens). n_bytes is what the rate counts (Loki: line + structured metadata bytes;
 * OTLP: the decompressed request). Returns true when the request may be stored, else
 * fills o and counts the rejection. loki: answer in Loki's words. */
static bool admit(ig_str tenant, const ig_tenant_limits *lim, const char *signal, bool loki,
                  uint64_t n_records, uint64_t n_bytes, outcome *o)
{
    char tn[IG_TENANT_MAX_LEN + 1];
    snprintf(tn, sizeof tn, "%.*s", (int)tenant.len, tenant.ptr ? tenant.ptr : "");
    if (lim->storage_quota_bytes > 0) {
        int64_t used = ig_usage_stored(tenant);
        if (used >= lim->storage_quota_bytes) {
            /* Not retryable: 403, and gRPC RESOURCE_EXHAUSTED without RetryInfo. */
            fail(o, 403, IG_GRPC_RESOURCE_EXHAUSTED, false,
                 "storage quota exceeded for tenant '%s': %lld bytes stored, quota %lld bytes "
                 "(limit storage_quota_bytes); ingestion is refused until retention removes "
                 "data or the quota is raised",
                 tn, (long long)used, (long long)lim->storage_quota_bytes);
            ig_usage_count_rejection(tenant, signal, "storage_quota", n_records, n_bytes);
            return false;
        }
    }
    int64_t ra = 0;
    if (ig_usage_take(tenant, lim->ingestion_rate_bytes, lim->ingestion_burst_bytes,
                      (int64_t)n_bytes, ig_mono_ns(), &ra))
        return true;
    if (loki)
        fail(o, 429, IG_GRPC_RESOURCE_EXHAUSTED, true,
             "Ingestion rate limit exceeded for user %s (limit: %lld bytes/sec) while attempting "
             "to ingest '%llu' lines totaling '%llu' bytes, reduce log volume or contact your "
             "Loki administrator to see if the limit can be increased",
             tn, (long long)lim->ingestion_rate_bytes, (unsigned long long)n_records,
             (unsigned long long)n_bytes);
    else
        fail(o, 429, IG_GRPC_RESOURCE_EXHAUSTED, true,
             "Ingestion rate limit exceeded for tenant '%s' (limit: %lld bytes/sec, burst %lld "
             "bytes; limits ingestion_rate_mb and ingestion_burst_size_mb) while attempting to "
             "ingest %llu records totaling %llu bytes%s",
             tn, (long long)lim->ingestion_rate_bytes, (long long)lim->ingestion_burst_bytes,
             (unsigned long long)n_records, (unsigned long long)n_bytes,
             ra ? ", retry later" : ": the request is larger than the burst, split it");
    o->retry_after_s = ra > 0 ? ra : 1;
    ig_usage_count_rejection(tenant, signal, "rate_limited", n_records, n_bytes);
    return false;
}

/* OTLP logs: a record whose body is longer than max_line_size is rejected on its own
 * (OTLP partial success naming the limit); the rest of the request is stored. */
static void drop_long_lines(ig_decode_result *res, int64_t max, ig_str tenant)
{
    if (max <= 0)
        return;
    uint64_t dropped = 0, dropped_bytes = 0;
    size_t longest = 0;
    static const ig_table_id tables[] = {IG_TABLE_LOGS, IG_TABLE_EVENTS};
    for (size_t ti = 0; ti < 2; ti++) {
        ig_rows *r = &res->rows[tables[ti]];
        if (r->table != tables[ti] || !r->n)
            continue;
        size_t k = 0;
        for (size_t i = 0; i < r->n; i++) {
            size_t len = r->u.logs[i].body.len;
            if ((int64_t)len > max) {
                if (tables[ti] == IG_TABLE_LOGS) { /* events repeat some log records */
                    dropped++;
                    dropped_bytes += len;
                    if (len > longest)
                        longest = len;
                }
                continue;
            }
            r->u.logs[k++] = r->u.logs[i];
        }
        r->n = k;
    }
    if (!dropped)
        return;
    res->accepted = res->accepted > dropped ? res->accepted - dropped : 0;
    res->rejected += dropped;
    size_t ol = strlen(res->reason);
    snprintf(res->reason + ol, sizeof res->reason - ol,
             "%s%llu log record(s) rejected: body of %zu bytes exceeds the limit max_line_size "
             "(%lld bytes)",
             ol ? "; " : "", (unsigned long long)dropped, longest, (long long)max);
    ig_usage_count_rejection(tenant, "logs", "line_too_long", dropped, dropped_bytes);
}

/* The decompression / message cap for a tenant: the listener's, or the tenant's
 * max_request_size when smaller. *tenant_cap tells which. */
static size_t request_cap(size_t listener_cap, const ig_tenant_limits *lim, bool *tenant_cap)
{
    *tenant_cap = lim->max_request_size > 0 && (uint64_t)lim->max_request_size < listener_cap;
    return *tenant_cap ? (size_t)lim->max_request_size : listener_cap;
}

/* OTLP core: body is the decompressed message. */
static void handle_otlp(ig_ingest *ing, ig_signal sig, ig_otlp_encoding enc, ig_str body,
                        const ig_tenancy *t, const ig_tenant_limits *lim, ig_arena *arena,
                        outcome *o)
{
    ig_ingest_ctx ctx = {.tenant_id = t->tenants[0],
                         .account_id = t->account_id,
                         .now_us = ig_now_ns() / 1000,
                         .arena = arena};
    ig_decode_result res;
    ig_errbuf eb = {{0}};
    const char *sn = SIGNAL_NAMES[sig];
    int rc = ig_otlp_decode(sig, enc, body, &ctx, &res, &eb);
    if (rc == IG_ETOOBIG) {
        fail(o, 413, IG_GRPC_RESOURCE_EXHAUSTED, false, "%s", eb.msg);
        count(t->tenants[0], sn, "too_large", 0, body.len);
        return;
    }
    if (rc == IG_ENOMEM) {
        fail(o, 503, IG_GRPC_UNAVAILABLE, true, "out of memory decoding the request");
        return;
    }
    if (rc) {
        fail(o, 400, IG_GRPC_INVALID_ARGUMENT, false, "%s",
             eb.msg[0] ? eb.msg : "malformed request");
        count(t->tenants[0], sn, "decode_error", 0, body.len);
        return;
    }
    if (sig == IG_SIGNAL_LOGS)
        drop_long_lines(&res, lim->max_line_size, t->tenants[0]);
    ig_rows batches[IG_TABLE_COUNT_];
    size_t nb = 0;
    for (int i = 0; i < IG_TABLE_COUNT_; i++)
        if (res.rows[i].n)
            batches[nb++] = res.rows[i];
    if (nb && !admit(t->tenants[0], lim, sn, false, res.accepted, body.len, o)) {
        count(t->tenants[0], sn, o->http == 403 ? "storage_quota" : "rate_limited", res.accepted,
              body.len);
        return;
    }
    if (append(ing, t->tenants[0], batches, nb, o)) {
        count(t->tenants[0], sn, o->http == 429 ? "overloaded" : "storage_error",
              res.accepted + res.rejected, body.len);
        return;
    }
    o->http = 200;
    o->grpc = IG_GRPC_OK;
    o->rejected = res.rejected;
    if (res.rejected)
        snprintf(o->msg, sizeof o->msg, "%s", res.reason);
    count(t->tenants[0], sn, "accepted", res.accepted, body.len);
    if (res.rejected)
        count(t->tenants[0], sn, "invalid_record", res.rejected, 0);
}

/* ---- OTLP/HTTP ---- */


/* Media type without parameters, lower-cased into buf. */
static const char *media_type(const char *ct, char *buf, size_t n)
{
    size_t i = 0;
    if (!ct)
        return "";
    while (*ct == ' ')
        ct++;
    for (; ct[i] && ct[i] != ';' && ct[i] != ' ' && i + 1 < n; i++)
        buf[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] + 32 : ct[i]);
    buf[i] = 0;
    return buf;
}

static const char *const REJECTED_FIELD[] = {"rejectedLogRecords", "rejectedSpans",
                                              "rejectedDataPoints"};

/* Writes the OTLP/HTTP answer for an outcome in the request's encoding. */
static int answer_otlp(ig_http_resp *resp, ig_signal sig, bool json, const outcome *o)
{
    resp->status = o->http;
    ig_http_resp_header(resp, "Content-Type", json ? "application/json" : "application/x-protobuf");
    if (o->retry) {
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", (long long)(o->retry_after_s > 0 ? o->retry_after_s : 1));
        ig_http_resp_header(resp, "Retry-After", ra);
    }
    if (o->http == 200) {
        if (!json)
            return pb_encode_export_response(&resp->body, (int64_t)o->rejected,
                                             o->rejected ? ig_str_from(o->msg) : IG_STR(""));
        if (!o->rejected)
            return ig_buf_append_cstr(&resp->body, "{}");
        ig_buf_printf(&resp->body, "{\"partialSuccess\":{\"%s\":\"%llu\",\"errorMessage\":",
                      REJECTED_FIELD[sig], (unsigned long long)o->rejected);
        ig_buf_json_str(&resp->body, ig_str_from(o->msg));
        return ig_buf_append_cstr(&resp->body, "}}");
    }
    if (!json)
        return pb_encode_rpc_status(&resp->body, o->grpc, ig_str_from(o->msg));
    ig_buf_printf(&resp->body, "{\"code\":%d,\"message\":", o->grpc);
    ig_buf_json_str(&resp->body, ig_str_from(o->msg));
    return ig_buf_putc(&resp->body, '}');
}

static void log_reject(const char *what, ig_str tenant, const outcome *o)
{
    char st[8], t[IG_TENANT_MAX_LEN + 1];
    snprintf(st, sizeof st, "%d", o->http);
    snprintf(t, sizeof t, "%.*s", (int)tenant.len, tenant.ptr ? tenant.ptr : "");
    ig_log(IG_LOG_DEBUG, "ingest request rejected", "endpoint", what, "tenant", t, "status", st,
           "error", o->msg, NULL);
}

static int h_otlp(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    route_ctx *rc = ud;
    ig_ingest *ing = rc->ing;
    outcome o = {0};
    char mt[64];
    const char *ctype = media_type(ig_http_header(req, "Content-Type"), mt, sizeof mt);
    bool json = strcmp(ctype, "application/json") == 0;
    if (!json && strcmp(ctype, "application/x-protobuf") != 0) {
        fail(&o, 415, IG_GRPC_INVALID_ARGUMENT, false,
             "unsupported Content-Type \"%s\": use application/x-protobuf or application/json",
             ctype);
        return answer_otlp(resp, rc->sig, true, &o);
    }
    if (req->too_large) {
        fail(&o, 413, IG_GRPC_RESOURCE_EXHAUSTED, false,
             "request body too large: the limit is %lld bytes (otlp_http.max_body_bytes)",
             (long long)ing->cfg->otlp_http.max_body_bytes);
        return answer_otlp(resp, rc->sig, json, &o);
    }
    ig_tenancy t;
    int st = ig_tenancy_resolve(&ing->tenant_opts, ig_http_header(req, "X-Scope-OrgID"),
                                ig_http_header_count(req, "X-Scope-OrgID"),
                                ig_http_header(req, "X-Account-ID"),
                                ig_http_header_count(req, "X-Account-ID"), &req->arena, &t, o.msg,
                                sizeof o.msg);
    if (st) {
        o.http = st;
        o.grpc = st == 401 ? IG_GRPC_UNAUTHENTICATED : IG_GRPC_INVALID_ARGUMENT;
        return answer_otlp(resp, rc->sig, json, &o);
    }
    ig_encoding enc = ig_encoding_parse(ig_http_header(req, "Content-Encoding"));
    if (enc == IG_ENC_UNKNOWN || enc == IG_ENC_SNAPPY) {
        fail(&o, 415, IG_GRPC_INVALID_ARGUMENT, false,
             "unsupported Content-Encoding \"%s\": use gzip, deflate, zstd or none",
             ig_http_header(req, "Content-Encoding"));
        return answer_otlp(resp, rc->sig, json, &o);
    }
    ig_tenant_limits lim;
    tenant_limits(ing, t.tenants[0], &lim);
    bool tcap;
    size_t cap = request_cap((size_t)ing->cfg->otlp_http.max_body_bytes, &lim, &tcap);
    ig_buf plain;
    ig_buf_init(&plain, cap + 1);
    ig_str body = req->body;
    if (tcap && req->body.len > cap) {
        fail(&o, 413, IG_GRPC_RESOURCE_EXHAUSTED, false,
             "request body too large: %zu bytes, limit: %zu bytes (limit max_request_size)",
             req->body.len, cap);
        ig_usage_count_rejection(t.tenants[0], SIGNAL_NAMES[rc->sig], "request_too_large", 0,
                                 req->body.len);
    } else if (enc != IG_ENC_IDENTITY) {
        ig_errbuf eb = {{0}};
        int drc = ig_decompress(enc, req->body, cap, &plain, &eb);
        if (drc == IG_ETOOBIG && tcap) {
            fail(&o, 413, IG_GRPC_RESOURCE_EXHAUSTED, false,
                 "request body too large: more than %zu bytes after decompression, limit: %zu "
                 "bytes (limit max_request_size)",
                 cap, cap);
            ig_usage_count_rejection(t.tenants[0], SIGNAL_NAMES[rc->sig], "request_too_large", 0,
                                     req->body.len);
        } else if (drc == IG_ETOOBIG)
            fail(&o, 413, IG_GRPC_RESOURCE_EXHAUSTED, false, "%s", eb.msg);
        else if (drc)
            fail(&o, 400, IG_GRPC_INVALID_ARGUMENT, false, "%s",
                 eb.msg[0] ? eb.msg : ig_strerror(drc));
        body = ig_buf_str(&plain);
        if (!body.ptr)
            body = IG_STR("");
    }
    if (!o.http)
        handle_otlp(ing, rc->sig, json ? IG_OTLP_JSON : IG_OTLP_PROTOBUF, body, &t, &lim,
                    &req->arena, &o);
    if (o.http != 200)
        log_reject(req->path, t.tenants[0], &o);
    int r = answer_otlp(resp, rc->sig, json, &o);
    ig_buf_free(&plain); /* rows pointed into it: freed only after the WAL append returned */
    return r;
}

/* ---- Loki push ---- */

static int loki_text(ig_http_resp *resp, int status, const char *msg)
{
    return ig_http_resp_text(resp, status, "text/plain; charset=utf-8", "%s\n", msg);
}

static int h_loki_push(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    ig_ingest *ing = ud;
    char msg[512];
    ig_tenancy t;
    int st = ig_tenancy_resolve(&ing->tenant_opts, ig_http_header(req, "X-Scope-OrgID"),
                                ig_http_header_count(req, "X-Scope-OrgID"),
                                ig_http_header(req, "X-Account-ID"),
                                ig_http_header_count(req, "X-Account-ID"), &req->arena, &t, msg,
                                sizeof msg);
    if (st)
        return loki_text(resp, st, msg);
    char mt[64];
    bool is_json =
        strcmp(media_type(ig_http_header(req, "Content-Type"), mt, sizeof mt), "application/json") ==
        0;
    ig_encoding enc = ig_encoding_parse(ig_http_header(req, "Content-Encoding"));
    if (enc == IG_ENC_UNKNOWN || enc == IG_ENC_SNAPPY) {
        snprintf(msg, sizeof msg, "unsupported Content-Encoding \"%s\"",
                 ig_http_header(req, "Content-Encoding"));
        return loki_text(resp, 415, msg);
    }
    ig_tenant_limits lim;
    tenant_limits(ing, t.tenants[0], &lim);
    bool tcap;
    size_t cap = request_cap((size_t)ing->cfg->otlp_http.max_body_bytes, &lim, &tcap);
    if (tcap && req->body.len > cap) {
        ig_usage_count_rejection(t.tenants[0], "logs", "request_too_large", 0, req->body.len);
        snprintf(msg, sizeof msg, "request body too large: %zu bytes, limit: %zu bytes",
                 req->body.len, cap);
        return loki_text(resp, 413, msg);
    }
    ig_buf plain;
    ig_buf_init(&plain, cap + 1);
    ig_str body = req->body;
    if (enc != IG_ENC_IDENTITY) {
        ig_errbuf eb = {{0}};
        int drc = ig_decompress(enc, req->body, cap, &plain, &eb);
        if (drc) {
            ig_buf_free(&plain);
            if (drc == IG_ETOOBIG && tcap) {
                ig_usage_count_rejection(t.tenants[0], "logs", "request_too_large", 0,
                                         req->body.len);
                snprintf(msg, sizeof msg,
                         "request body too large: more than %zu bytes after decompression, "
                         "limit: %zu bytes",
                         cap, cap);
                return loki_text(resp, 413, msg);
            }
            return loki_text(resp, drc == IG_ETOOBIG ? 413 : 400, eb.msg);
        }
        body = ig_buf_str(&plain);
        if (!body.ptr)
            body = IG_STR("");
    }
    ig_loki_push_opts po = {.tenant_id = t.tenants[0],
                            .account_id = t.account_id,
                            .now_us = ig_now_ns() / 1000,
                            .arena = &req->arena,
                            .max_decompressed_bytes = cap,
                            .max_line_size = (size_t)lim.max_line_size,
                            .max_labels_per_stream = (uint32_t)lim.max_label_names_per_series};
    ig_loki_push_result res;
    ig_errbuf eb = {{0}};
    int rc = ig_loki_push_decode(body, !is_json, &po, &res, &eb);
    int r;
    if (rc < 0) {
        count(t.tenants[0], "logs", res.http_status == 413 ? "too_large" : "decode_error", 0,
              body.len);
        r = loki_text(resp, res.http_status ? res.http_status : 400,
                      res.error.len ? res.error.ptr : eb.msg);
    } else {
        outcome o = {0};
        if (res.rejected && res.error.ptr) {
            /* Per-entry validation (Loki stores the rest): count each limit named. */
            if (strstr(res.error.ptr, "Max entry size"))
                ig_usage_count_rejection(t.tenants[0], "logs", "line_too_long", 0, 0);
            if (strstr(res.error.ptr, "label names; limit"))
                ig_usage_count_rejection(t.tenants[0], "logs", "max_label_names_per_series", 0,
                                         0);
        }
        if (res.rows.n && !admit(t.tenants[0], &lim, "logs", true, res.accepted, res.bytes, &o)) {
            count(t.tenants[0], "logs", o.http == 403 ? "storage_quota" : "rate_limited",
                  res.accepted, res.bytes);
            if (o.retry) {
                char ra[24];
                snprintf(ra, sizeof ra, "%lld", (long long)o.retry_after_s);
                ig_http_resp_header(resp, "Retry-After", ra);
            }
            r = loki_text(resp, o.http, o.msg);
        } else if (append(ing, t.tenants[0], &res.rows, 1, &o)) {
            count(t.tenants[0], "logs", o.http == 429 ? "overloaded" : "storage_error",
                  res.accepted, res.bytes);
            if (o.retry)
                ig_http_resp_header(resp, "Retry-After", "1");
            r = loki_text(resp, o.http, o.msg);
        } else {
            count(t.tenants[0], "logs", "accepted", res.accepted, res.bytes);
            if (res.rejected)
                count(t.tenants[0], "logs", "invalid_record", res.rejected, 0);
            if (res.http_status == 204 || res.http_status == 0) {
                resp->status = 204;
                r = 0;
            } else {
                r = loki_text(resp, res.http_status, res.error.ptr ? res.error.ptr : "");
            }
        }
    }
    ig_buf_free(&plain);
    return r;
}

int ig_ingest_register_http(ig_ingest *ing, ig_http_server *s)
{
    static const char *paths[] = {"/v1/logs", "/v1/traces", "/v1/metrics"};
    int rc = 0;
    for (int i = 0; i < IG_SIGNAL_COUNT_ && !rc; i++)
        rc = ig_http_route_flags(s, "POST", paths[i], h_otlp, &ing->routes[i], IG_HTTP_OWN_413);
    if (!rc)
        rc = ig_ingest_register_loki_push(ing, s);
    return rc;
}

int ig_ingest_register_loki_push(ig_ingest *ing, ig_http_server *s)
{
    return ig_http_route(s, "POST", "/loki/api/v1/push", h_loki_push, ing);
}

/* ---- OTLP/gRPC ---- */

/* google.rpc.Status with a RetryInfo detail (retry after delay_s), for
 * grpc-status-details-bin. */
static int retry_status(ig_buf *out, int code, const char *msg, int64_t delay_s)
{
    pb_writer w;
    pb_writer_init(&w, out);
    pb_put_int64(&w, 1, code);
    pb_put_bytes(&w, 2, ig_str_from(msg));
    pb_put_begin(&w, 3); /* Any */
    static const char type_url[] = "type.googleapis.com/google.rpc.RetryInfo";
    pb_put_bytes(&w, 1, ig_str_make(type_url, sizeof type_url - 1));
    pb_put_begin(&w, 2); /* RetryInfo */
    pb_put_begin(&w, 1); /* retry_delay: Duration */
    pb_put_int64(&w, 1, delay_s); /* seconds */
    pb_put_end(&w);
    pb_put_end(&w);
    pb_put_end(&w);
    return pb_writer_finish(&w);
}

static int h_grpc(ig_grpc_call *c, ig_buf *response, int *status, char *msg, size_t msglen,
                  void *ud)
{
    const route_ctx *rctx = ud;
    ig_signal sig = rctx->sig;
    ig_ingest *ing = rctx->ing;
    outcome o = {0};
    ig_tenancy t;
    int st = ig_tenancy_resolve(&ing->tenant_opts, ig_grpc_metadata(c, "x-scope-orgid"),
                                ig_grpc_metadata_count(c, "x-scope-orgid"),
                                ig_grpc_metadata(c, "x-account-id"),
                                ig_grpc_metadata_count(c, "x-account-id"), &c->arena, &t, o.msg,
                                sizeof o.msg);
    if (st) {
        *status = st == 401 ? IG_GRPC_UNAUTHENTICATED : IG_GRPC_INVALID_ARGUMENT;
        snprintf(msg, msglen, "%s", o.msg);
        return 0;
    }
    ig_tenant_limits lim;
    tenant_limits(ing, t.tenants[0], &lim);
    if (lim.max_request_size > 0 && c->message.len > (size_t)lim.max_request_size) {
        fail(&o, 413, IG_GRPC_RESOURCE_EXHAUSTED, false,
             "request too large: %zu bytes, limit: %lld bytes (limit max_request_size)",
             c->message.len, (long long)lim.max_request_size);
        ig_usage_count_rejection(t.tenants[0], SIGNAL_NAMES[sig], "request_too_large", 0,
                                 c->message.len);
    } else {
        handle_otlp(ing, sig, IG_OTLP_PROTOBUF, c->message, &t, &lim, &c->arena, &o);
    }
    if (o.http != 200) {
        *status = o.grpc;
        snprintf(msg, msglen, "%s", o.msg);
        if (o.retry && o.grpc == IG_GRPC_RESOURCE_EXHAUSTED) {
            /* The OTLP spec retries RESOURCE_EXHAUSTED only with RetryInfo. */
            ig_buf b;
            ig_buf_init(&b, 4096);
            if (retry_status(&b, o.grpc, o.msg, o.retry_after_s > 0 ? o.retry_after_s : 1) == 0)
                ig_grpc_trailer_bin(c, "grpc-status-details-bin", ig_buf_str(&b));
            ig_buf_free(&b);
        }
        log_reject(c->method, t.tenants[0], &o);
        return 0;
    }
    return pb_encode_export_response(response, (int64_t)o.rejected,
                                     o.rejected ? ig_str_from(o.msg) : IG_STR(""));
}

int ig_ingest_register_grpc(ig_ingest *ing, ig_grpc_server *s)
{
    static const char *paths[] = {
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"};
    int rc = 0;
    for (int i = 0; i < IG_SIGNAL_COUNT_ && !rc; i++)
        rc = ig_grpc_route(s, paths[i], h_grpc, &ing->routes[i]);
    return rc;
}
