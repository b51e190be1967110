/* Loki HTTP API on the query listener (include/icegate/loki_api.h). Design note:
 * docs/query.md "API". Parameters, defaults, time formats, response shapes and error texts
 * follow Loki (reference/loki-notes.md §2); query errors are text/plain bodies. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"
#include "icegate/json.h"
#include "icegate/limits.h"
#include "icegate/log.h"
#include "icegate/logql.h"
#include "icegate/logql_eval.h"
#include "icegate/loki_api.h"
#include "icegate/map.h"
#include "icegate/store.h"
#include "icegate/tenant.h"
#include "icegate/usage.h"
#include "icegate/time.h"
#include "icegate/version.h"
#include "icegate/websocket.h"
#include "query_int.h"

#define QUERY_ARENA_CAP (64u << 20)
#define MAX_NAMES 100000 /* distinct label names / values / series per answer */
#define DEFAULT_MAX_ENTRIES 5000
#define ENTRY_BYTES_CAP (512u << 20) /* kept log entries of one query */

struct lq_loki_api {
    const ig_config *cfg;
    ig_store *store;
    ig_tenant_opts topts;
    /* per-tenant query admission (max_concurrent_queries, max_queries_per_second):
     * tenant -> qadm, capped; tenants past the cap share one state */
    pthread_mutex_t mu;
    ig_map adm;
    struct qadm *overflow;
};

typedef struct qadm {
    int64_t inflight;
    int64_t tails; /* live tails (max_concurrent_tail_requests) */
    double tokens;
    int64_t last_ns;
} qadm;

#define ADM_MAX_TENANTS 100000

/* ---- responses ------------------------------------------------------------------------ */

static int text(ig_http_resp *resp, int status, const char *msg)
{
    return ig_http_resp_text(resp, status, "text/plain; charset=utf-8", "%s\n", msg);
}

static int json_ok(ig_http_resp *resp, ig_buf *b)
{
    resp->status = 200;
    ig_http_resp_header(resp, "Content-Type", "application/json; charset=UTF-8");
    int rc = ig_buf_append_str(&resp->body, ig_buf_str(b));
    ig_buf_free(b);
    return rc;
}

/* JSON string with Go's HTML escaping (<, >, & as \u003c..., U+2028/9 escaped). */
static int jstr(ig_buf *b, ig_str s)
{
    int rc = ig_buf_putc(b, '"');
    size_t i = 0, run = 0;
    while (rc == 0 && i < s.len) {
        unsigned char c = (unsigned char)s.ptr[i];
        const char *esc = NULL;
        size_t adv = 1;
        if (c == '<')
            esc = "\\u003c";
        else if (c == '>')
            esc = "\\u003e";
        else if (c == '&')
            esc = "\\u0026";
        else if (c == 0xe2 && i + 2 < s.len && (unsigned char)s.ptr[i + 1] == 0x80 &&
                 ((unsigned char)s.ptr[i + 2] == 0xa8 || (unsigned char)s.ptr[i + 2] == 0xa9))
            esc = (unsigned char)s.ptr[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", adv = 3;
        if (!esc) {
            i++;
            run++;
            continue;
        }
        if (run)
            rc = ig_buf_json_escape(b, (ig_str){s.ptr + i - run, run});
        run = 0;
        rc = rc ? rc : ig_buf_append_cstr(b, esc);
        i += adv;
    }
    if (rc == 0 && run)
        rc = ig_buf_json_escape(b, (ig_str){s.ptr + i - run, run});
    return rc ? rc : ig_buf_putc(b, '"');
}

/* {"name":"value",...} of the labels whose category is in mask (cats NULL: all). */
static int jlabels(ig_buf *b, const lq_label *v, const uint8_t *cats, size_t n, unsigned mask)
{
    int rc = ig_buf_putc(b, '{');
    bool first = true;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (cats && !(mask & (1u << cats[i])))
            continue;
        if (!first)
            rc = ig_buf_putc(b, ',');
        first = false;
        rc = rc ? rc : jstr(b, v[i].name);
        rc = rc ? rc : ig_buf_putc(b, ':');
        rc = rc ? rc : jstr(b, v[i].value);
    }
    return rc ? rc : ig_buf_putc(b, '}');
}

static int stats_json(ig_buf *b, const lq_scan_stats *st, uint64_t returned, uint64_t post,
                      double exec_s)
{
    static const char *const caches[] = {
        "chunk",        "index",        "result",      "statsResult",
        "volumeResult", "seriesResult", "labelResult", "instantMetricResult"};
    static const char store[] =
        "{\"totalChunksRef\":0,\"totalChunksDownloaded\":0,\"chunksDownloadTime\":0,"
        "\"queryReferencedStructuredMetadata\":false,\"chunk\":{\"headChunkBytes\":0,"
        "\"headChunkLines\":0,\"decompressedBytes\":%llu,\"decompressedLines\":%llu,"
        "\"compressedBytes\":0,\"totalDuplicates\":0,\"postFilterLines\":%llu,"
        "\"headChunkStructuredMetadataBytes\":0,\"decompressedStructuredMetadataBytes\":0},"
        "\"chunkRefsFetchTime\":0,\"congestionControlLatency\":0,\"pipelineWrapperFilteredLines\":"
        "0}";
    double bps = exec_s > 0 ? (double)st->bytes / exec_s : 0,
           lps = exec_s > 0 ? (double)st->rows / exec_s : 0;
    int rc = ig_buf_printf(
        b,
        "{\"summary\":{\"bytesProcessedPerSecond\":%llu,\"linesProcessedPerSecond\":%llu,"
        "\"totalBytesProcessed\":%llu,\"totalLinesProcessed\":%llu,\"execTime\":%.9g,"
        "\"queueTime\":0,\"subqueries\":0,\"totalEntriesReturned\":%llu,\"splits\":0,"
        "\"shards\":0,\"totalPostFilterLines\":%llu,\"totalStructuredMetadataBytesProcessed\":0},"
        "\"querier\":{\"store\":",
        (unsigned long long)bps, (unsigned long long)lps, (unsigned long long)st->bytes,
        (unsigned long long)st->rows, exec_s, (unsigned long long)returned,
        (unsigned long long)post);
    rc = rc ? rc
            : ig_buf_printf(b, store, (unsigned long long)st->bytes, (unsigned long long)st->rows,
                            (unsigned long long)post);
    rc = rc ? rc
            : ig_buf_append_cstr(b, "},\"ingester\":{\"totalReached\":0,\"totalChunksMatched\":0,"
                                    "\"totalBatches\":0,\"totalLinesSent\":0,\"store\":");
    rc = rc ? rc : ig_buf_printf(b, store, 0ull, 0ull, 0ull);
    rc = rc ? rc : ig_buf_append_cstr(b, "},\"cache\":{");
    for (size_t i = 0; i < sizeof caches / sizeof caches[0] && rc == 0; i++)
        rc =
            ig_buf_printf(b,
                          "%s\"%s\":{\"entriesFound\":0,\"entriesRequested\":0,\"entriesStored\":0,"
                          "\"bytesReceived\":0,\"bytesSent\":0,\"requests\":0,\"downloadTime\":0,"
                          "\"queryLengthServed\":0}",
                          i ? "," : "", caches[i]);
    rc = rc ? rc
            : ig_buf_append_cstr(b, "},\"index\":{\"totalChunks\":0,\"postFilterChunks\":0,"
                                    "\"shardsDuration\":0,\"usedBloomFilters\":false}}");
    return rc;
}

/* ---- parameters ------------------------------------------------------------------------ */

static int num2(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* RFC3339 / RFC3339Nano. */
static bool parse_rfc3339(ig_str s, int64_t *ns)
{
    const char *p = s.ptr;
    size_t n = s.len;
    if (n < 20 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't') || p[13] != ':' ||
        p[16] != ':')
        return false;
    for (size_t i = 0; i < 19; i++)
        if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && (p[i] < '0' || p[i] > '9'))
            return false;
    struct tm tm = {0};
    tm.tm_year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + num2(p + 2) - 1900;
    tm.tm_mon = num2(p + 5) - 1;
    tm.tm_mday = num2(p + 8);
    tm.tm_hour = num2(p + 11);
    tm.tm_min = num2(p + 14);
    tm.tm_sec = num2(p + 17);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 59)
        return false;
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && p[i] == '.') {
        i++;
        int d = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (d < 9)
                frac = frac * 10 + (p[i] - '0'), d++;
            i++;
        }
        if (d == 0)
            return false;
        while (d++ < 9)
            frac *= 10;
    }
    int64_t off = 0;
    if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
        off = (num2(p + i + 1) * 60 + num2(p + i + 4)) * 60;
        if (p[i] == '-')
            off = -off;
        i += 6;
    } else {
        return false;
    }
    if (i != n)
        return false;
    int64_t sec = (int64_t)timegm(&tm) - off;
    *ns = sec * IG_NS_PER_S + frac;
    return true;
}

/* Loki's timestamp parameter: float seconds (ms precision), integer seconds (<= 10
 * characters) or nanoseconds, or RFC3339Nano. */
static bool parse_ts(ig_str s, int64_t *ns)
{
    s = ig_str_trim(s);
    if (s.len == 0)
        return false;
    double d;
    if (ig_str_index(s, '.') >= 0 && ig_str_to_f64(s, &d) == 0 && isfinite(d)) {
        double ms = round(d * 1000.0);
        *ns = (int64_t)ms * 1000000;
        return true;
    }
    int64_t i;
    if (ig_str_to_i64(s, &i) == 0) {
        size_t digits = s.len - (s.ptr[0] == '-' || s.ptr[0] == '+');
        *ns = digits <= 10 ? i * IG_NS_PER_S : i;
        return true;
    }
    return parse_rfc3339(s, ns);
}

/* Prometheus duration ([0-9]+(ms|s|m|h|d|w|y))+ into ns. */
static bool parse_prom_duration(ig_str s, int64_t *ns)
{
    size_t i = 0;
    int64_t total = 0;
    if (s.len == 0)
        return false;
    while (i < s.len) {
        int64_t n = 0;
        size_t st = i;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            if (n > INT64_MAX / 10 - 10)
                return false;
            n = n * 10 + (s.ptr[i++] - '0');
        }
        if (i == st)
            return false;
        int64_t mul;
        if (i + 1 < s.len && s.ptr[i] == 'm' && s.ptr[i + 1] == 's')
            mul = 1000000, i += 2;
        else if (i < s.len && s.ptr[i] == 's')
            mul = IG_NS_PER_S, i++;
        else if (i < s.len && s.ptr[i] == 'm')
            mul = 60 * IG_NS_PER_S, i++;
        else if (i < s.len && s.ptr[i] == 'h')
            mul = 3600 * IG_NS_PER_S, i++;
        else if (i < s.len && s.ptr[i] == 'd')
            mul = 86400 * IG_NS_PER_S, i++;
        else if (i < s.len && s.ptr[i] == 'w')
            mul = 7 * 86400 * IG_NS_PER_S, i++;
        else if (i < s.len && s.ptr[i] == 'y')
            mul = 365 * 86400 * IG_NS_PER_S, i++;
        else
            return false;
        if (n > INT64_MAX / mul)
            return false;
        total += n * mul;
    }
    *ns = total;
    return true;
}

/* step / interval / since: float seconds or a Prometheus duration. */
static bool parse_secs_or_dur(ig_str s, int64_t *ns)
{
    double d;
    if (ig_str_to_f64(s, &d) == 0) {
        if (!isfinite(d) || fabs(d) > 9e9)
            return false;
        *ns = (int64_t)(d * 1e9);
        return true;
    }
    return parse_prom_duration(s, ns);
}

typedef struct qparams {
    ig_str query;
    int64_t start, end, step, interval;
    int64_t limit;
    bool forward;
    bool has_step;
} qparams;

/* Fills p from the request; on error answers 400 and returns false. instant: /query. */
static bool read_params(ig_http_req *req, ig_http_resp *resp, bool instant, int64_t max_entries,
                        qparams *p, bool need_query)
{
    char msg[512];
    ig_str v;
    memset(p, 0, sizeof *p);
    if (ig_http_param(req, "query", &v))
        p->query = v;
    if (need_query && p->query.len == 0) {
        text(resp, 400, "query parameter is required"); /* Loki: parse error : syntax error */
        return false;
    }
    p->limit = 100;
    if (ig_http_param(req, "limit", &v)) {
        if (ig_str_to_i64(ig_str_trim(v), &p->limit) != 0) {
            snprintf(msg, sizeof msg, "invalid limit '%.*s'", (int)(v.len > 64 ? 64 : v.len),
                     v.ptr);
            text(resp, 400, msg);
            return false;
        }
        if (p->limit <= 0) {
            text(resp, 400, "limit must be a positive value");
            return false;
        }
    }
    if (p->limit > max_entries && need_query) {
        snprintf(msg, sizeof msg,
                 "max entries limit per query exceeded, limit > max_entries_limit_per_query (%lld "
                 "> %lld)",
                 (long long)p->limit, (long long)max_entries);
        text(resp, 400, msg);
        return false;
    }
    p->forward = false;
    if (ig_http_param(req, "direction", &v) && v.len) {
        if (ig_str_case_eq(v, "forward"))
            p->forward = true;
        else if (!ig_str_case_eq(v, "backward")) {
            snprintf(msg, sizeof msg, "invalid direction '%.*s'", (int)(v.len > 64 ? 64 : v.len),
                     v.ptr);
            text(resp, 400, msg);
            return false;
        }
    }
    int64_t now = ig_now_ns();
    if (instant) {
        p->start = p->end = now;
        if (ig_http_param(req, "time", &v) && v.len && !parse_ts(v, &p->end)) {
            snprintf(msg, sizeof msg,
                     "invalid parameter \"time\": cannot parse \"%.*s\" to a valid timestamp",
                     (int)(v.len > 64 ? 64 : v.len), v.ptr);
            text(resp, 400, msg);
            return false;
        }
        p->start = p->end;
        return true;
    }
    p->end = now;
    if (ig_http_param(req, "end", &v) && v.len && !parse_ts(v, &p->end)) {
        snprintf(msg, sizeof msg,
                 "invalid parameter \"end\": cannot parse \"%.*s\" to a valid timestamp",
                 (int)(v.len > 64 ? 64 : v.len), v.ptr);
        text(resp, 400, msg);
        return false;
    }
    int64_t since = 3600 * IG_NS_PER_S;
    if (ig_http_param(req, "since", &v) && v.len && !parse_prom_duration(v, &since)) {
        snprintf(msg, sizeof msg,
                 "invalid parameter \"since\": cannot parse \"%.*s\" to a valid duration",
                 (int)(v.len > 64 ? 64 : v.len), v.ptr);
        text(resp, 400, msg);
        return false;
    }
    p->start = (p->end < now ? p->end : now) - since;
    if (ig_http_param(req, "start", &v) && v.len && !parse_ts(v, &p->start)) {
        snprintf(msg, sizeof msg,
                 "invalid parameter \"start\": cannot parse \"%.*s\" to a valid timestamp",
                 (int)(v.len > 64 ? 64 : v.len), v.ptr);
        text(resp, 400, msg);
        return false;
    }
    if (p->end < p->start) {
        text(resp, 400, "end timestamp must not be before or equal to start time");
        return false;
    }
    if (ig_http_param(req, "step", &v) && v.len) {
        if (!parse_secs_or_dur(v, &p->step)) {
            snprintf(msg, sizeof msg,
                     "invalid parameter \"step\": cannot parse \"%.*s\" to a valid duration",
                     (int)(v.len > 64 ? 64 : v.len), v.ptr);
            text(resp, 400, msg);
            return false;
        }
        p->has_step = true;
    } else {
        int64_t s = (p->end - p->start) / (250 * IG_NS_PER_S);
        p->step = (s < 1 ? 1 : s) * IG_NS_PER_S;
    }
    if (p->step <= 0) {
        text(resp, 400,
             "zero or negative query resolution step widths are not accepted. Try a positive "
             "integer");
        return false;
    }
    if ((p->end - p->start) / p->step > 11000) {
        text(resp, 400,
             "exceeded maximum resolution of 11,000 points per time series. Try increasing the "
             "value of the step parameter");
        return false;
    }
    if (ig_http_param(req, "interval", &v) && v.len) {
        if (!parse_secs_or_dur(v, &p->interval)) {
            snprintf(msg, sizeof msg,
                     "invalid parameter \"interval\": cannot parse \"%.*s\" to a valid duration",
                     (int)(v.len > 64 ? 64 : v.len), v.ptr);
            text(resp, 400, msg);
            return false;
        }
        if (p->interval < 0) {
            text(resp, 400, "interval must be >= 0");
            return false;
        }
    }
    return true;
}

/* ---- tenancy and the source ------------------------------------------------------------ */

/* A multi-tenant source (X-Scope-OrgID: a|b with auth.multi_tenant_queries): each
 * tenant's table source, matchers on __tenant_id__ choosing tenants (and removed before
 * the per-tenant scan), results labelled __tenant_id__ (an existing one renamed
 * original___tenant_id__), as Loki's multi-tenant querier does. */
typedef struct mt_source {
    lq_source src;
    lq_table_source *ts;
    int n;
} mt_source;

typedef struct mt_cb {
    lq_entry_fn fn;
    void *ctx;
    ig_str tenant;
    lq_label *buf;
} mt_cb;

static const ig_str TENANT_LABEL = {"__tenant_id__", 13};
/* The seed's per-tenant query groups by tenant_id: multi-tenant results carry it as well
 * (a stream's own tenant_id label becomes original_tenant_id, so no tenant can pose as
 * another). */
static const ig_str TENANT_ID_LABEL = {"tenant_id", 9};

static bool is_tenant_label(ig_str name)
{
    return ig_str_eq(name, TENANT_LABEL) || ig_str_eq(name, TENANT_ID_LABEL);
}

static int mt_entry(void *ctx, const lq_entry *e)
{
    mt_cb *c = ctx;
    lq_entry x = *e;
    size_t n = 0;
    for (size_t i = 0; i < e->stream.n && n < LQ_MAX_LABELS; i++) {
        c->buf[n] = e->stream.v[i];
        if (ig_str_eq(c->buf[n].name, TENANT_LABEL))
            c->buf[n].name = IG_STR("original___tenant_id__");
        else if (ig_str_eq(c->buf[n].name, TENANT_ID_LABEL))
            c->buf[n].name = IG_STR("original_tenant_id");
        n++;
    }
    c->buf[n++] = (lq_label){TENANT_LABEL, c->tenant};
    c->buf[n++] = (lq_label){TENANT_ID_LABEL, c->tenant};
    x.stream = (lq_labels){c->buf, n};
    lq__labels_sort(&x.stream);
    return c->fn(c->ctx, &x);
}

static int mt_scan(lq_source *src, const logql_log *log, int64_t start_ns, int64_t end_ns,
                   lq_entry_fn fn, void *fnctx, ig_errbuf *eb)
{
    mt_source *m = src->ctx;
    ig_arena a;
    ig_arena_init(&a, 16u << 20);
    logql_log sub = *log;
    logql_matcher *rest = ig_arena_alloc(&a, (log->n_matchers + 1) * sizeof *rest);
    logql_matcher *tm = ig_arena_alloc(&a, (log->n_matchers + 1) * sizeof *tm);
    mt_cb c = {
        .fn = fn, .ctx = fnctx, .buf = ig_arena_alloc(&a, (LQ_MAX_LABELS + 2) * sizeof(lq_label))};
    if (!rest || !tm || !c.buf) {
        ig_arena_free(&a);
        return ig_err(eb, IG_ENOMEM, "out of memory");
    }
    size_t nr = 0, nt = 0;
    for (size_t i = 0; i < log->n_matchers; i++) {
        if (is_tenant_label(log->matchers[i].name))
            tm[nt++] = log->matchers[i];
        else
            rest[nr++] = log->matchers[i];
    }
    sub.matchers = rest;
    sub.n_matchers = nr;
    lq_matchers *ms = NULL;
    int rc = lq__matchers_new(tm, nt, &a, &ms, eb);
    for (int i = 0; i < m->n && rc == 0; i++) {
        lq_label tl[2] = {{TENANT_LABEL, m->ts[i].tenant}, {TENANT_ID_LABEL, m->ts[i].tenant}};
        lq_labels one = {tl, 2};
        if (!lq__matchers_match(ms, &one))
            continue;
        c.tenant = m->ts[i].tenant;
        rc = m->ts[i].src.scan(&m->ts[i].src, &sub, start_ns, end_ns, mt_entry, &c, eb);
    }
    ig_arena_free(&a);
    return rc;
}

typedef struct qctx {
    lq_loki_api *api;
    ig_tenancy t;
    catalog *cat;
    lq_table_source ts[IG_TENANTS_MAX];
    mt_source mt;
    lq_source *source;
    ig_tenant_limits lim;
    bool has_lim;
    int64_t deadline;
    qadm *adm[IG_TENANTS_MAX]; /* admitted: released by close_query */
    int nadm;
    ig_http_req *req; /* for the usage metrics counted by close_query */
    ig_http_resp *resp;
    int64_t t0_ns;
} qctx;

static void qstats(const qctx *q, lq_scan_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < q->t.ntenants; i++) {
        out->files += q->ts[i].stats.files;
        out->row_groups += q->ts[i].stats.row_groups;
        out->rows += q->ts[i].stats.rows;
        out->bytes += q->ts[i].stats.bytes;
        out->entries += q->ts[i].stats.entries;
    }
}

static qadm *adm_get(lq_loki_api *api, ig_str tenant)
{
    ig_map_entry *e = ig_map_find(&api->adm, tenant);
    if (e)
        return e->value;
    if (api->adm.count >= ADM_MAX_TENANTS)
        return api->overflow;
    qadm *a = ig_malloc(sizeof *a);
    if (!a)
        return api->overflow;
    memset(a, 0, sizeof *a);
    a->tokens = -1; /* a new tenant starts with a full bucket */
    bool created;
    if (ig_map_upsert(&api->adm, tenant, &e, &created) != 0) {
        ig_free(a);
        return api->overflow;
    }
    e->value = a;
    return a;
}

/* Per-tenant query admission: max_concurrent_queries (429 "too many outstanding
 * requests", Loki's queue-full text) and max_queries_per_second (a token bucket with a
 * burst of one second's worth, at least 1; 429 with Retry-After). Every tenant of a
 * multi-tenant query is admitted against the combined limits. */
static bool admit(lq_loki_api *api, qctx *q, ig_http_resp *resp)
{
    if (!q->has_lim || (q->lim.max_concurrent_queries <= 0 && q->lim.max_queries_per_second <= 0))
        return true;
    int64_t now = ig_mono_ns();
    pthread_mutex_lock(&api->mu);
    const char *why = NULL;
    double wait_s = 0;
    qadm *got[IG_TENANTS_MAX];
    for (int i = 0; i < q->t.ntenants && !why; i++) {
        qadm *a = adm_get(api, q->t.tenants[i]);
        got[i] = a;
        if (q->lim.max_concurrent_queries > 0 && a->inflight >= q->lim.max_concurrent_queries)
            why = "too many outstanding requests";
        double rate = q->lim.max_queries_per_second;
        if (!why && rate > 0) {
            double burst = rate < 1 ? 1 : rate;
            if (a->tokens < 0)
                a->tokens = burst;
            else
                a->tokens = fmin(burst, a->tokens + (double)(now - a->last_ns) / 1e9 * rate);
            a->last_ns = now;
            if (a->tokens < 1) {
                why = "too many outstanding requests"; /* Loki's text, with the rate named after it */
                wait_s = (1 - a->tokens) / rate;
            }
        }
    }
    if (!why) {
        for (int i = 0; i < q->t.ntenants; i++) {
            got[i]->inflight++;
            if (q->lim.max_queries_per_second > 0)
                got[i]->tokens -= 1;
            q->adm[q->nadm++] = got[i];
        }
    }
    pthread_mutex_unlock(&api->mu);
    if (!why)
        return true;
    char msg[256], ra[24];
    if (wait_s > 0) {
        snprintf(msg, sizeof msg, "%s (limit: %g queries/s per tenant)", why,
                 q->lim.max_queries_per_second);
        snprintf(ra, sizeof ra, "%lld", (long long)ceil(wait_s));
        ig_http_resp_header(resp, "Retry-After", ra);
    } else {
        snprintf(msg, sizeof msg, "%s", why);
    }
    text(resp, 429, msg);
    return false;
}

static void release(lq_loki_api *api, qctx *q)
{
    if (!q->nadm)
        return;
    pthread_mutex_lock(&api->mu);
    for (int i = 0; i < q->nadm; i++)
        q->adm[i]->inflight--;
    pthread_mutex_unlock(&api->mu);
    q->nadm = 0;
}

/* Query cancellation: the client closed its connection while the query runs. */
static bool req_gone(void *ud)
{
    return ig_http_req_gone(ud);
}

/* The endpoint word of a query path (a fixed set: tenant input never becomes a label). */
static const char *endpoint_word(const char *path)
{
    static const char *const E[] = {"query_range",  "query",           "labels",
                                    "series",       "index/stats",     "index/volume_range",
                                    "index/volume", "detected_labels", "detected_fields",
                                    "tail",         "patterns"};
    static const char pre[] = "/loki/api/v1/";
    if (!path || strncmp(path, pre, sizeof pre - 1) != 0)
        return "other";
    path += sizeof pre - 1;
    if (strncmp(path, "label/", 6) == 0)
        return "label_values";
    if (strncmp(path, "detected_field/", 15) == 0)
        return "detected_field_values";
    for (size_t i = 0; i < sizeof E / sizeof E[0]; i++)
        if (strcmp(path, E[i]) == 0)
            return E[i];
    return "other";
}

/* Counts the request for each of its tenants (icegate_query_requests_total and
 * icegate_query_duration_seconds, per tenant). */
static void count_query(qctx *q, int status)
{
    if (!q->req || !q->t0_ns)
        return;
    const char *ep = endpoint_word(q->req->path);
    double secs = (double)(ig_mono_ns() - q->t0_ns) / 1e9;
    for (int i = 0; i < q->t.ntenants; i++)
        ig_usage_count_query(q->t.tenants[i], "loki", ep, status, secs);
    q->t0_ns = 0;
}

/* Resolves the tenant(s), loads their limits and opens the catalog; answers the error
 * itself and returns false. */
static bool open_query(lq_loki_api *api, ig_http_req *req, ig_http_resp *resp, qctx *q)
{
    char msg[512];
    memset(q, 0, sizeof *q);
    q->api = api;
    int st = ig_tenancy_resolve(
        &api->topts, ig_http_header(req, "X-Scope-OrgID"),
        ig_http_header_count(req, "X-Scope-OrgID"), ig_http_header(req, "X-Account-ID"),
        ig_http_header_count(req, "X-Account-ID"), &req->arena, &q->t, msg, sizeof msg);
    if (st) {
        text(resp, st, msg);
        return false;
    }
    q->req = req;
    q->resp = resp;
    q->t0_ns = ig_mono_ns();
    ig_limits *l = ig_limits_process();
    if (l) {
        if (q->t.ntenants == 1)
            ig_limits_get(l, q->t.tenants[0], &q->lim);
        else
            ig_limits_get_combined(l, q->t.tenants, q->t.ntenants, &q->lim);
        q->has_lim = true;
        if (q->lim.query_timeout_ns > 0)
            q->deadline = ig_mono_ns() + q->lim.query_timeout_ns;
    }
    if (!admit(api, q, resp)) {
        count_query(q, resp->status);
        return false;
    }
    ig_errbuf eb = {{0}};
    if (catalog_open(api->cfg, &q->cat, &eb) != 0) {
        release(api, q);
        snprintf(msg, sizeof msg, "catalog unavailable: %s", eb.msg);
        text(resp, 503, msg);
        count_query(q, 503);
        return false;
    }
    for (int i = 0; i < q->t.ntenants; i++) {
        lq_table_source_init(&q->ts[i], q->cat, api->store, q->t.tenants[i], q->t.account_id);
        q->ts[i].deadline_ns = q->deadline;
        q->ts[i].cancelled = req_gone;
        q->ts[i].cancel_ud = req;
        q->ts[i].threads = (int)api->cfg->loki.scan_threads;
    }
    if (q->t.ntenants == 1) {
        q->source = &q->ts[0].src;
    } else {
        q->mt =
            (mt_source){.src = {.scan = mt_scan, .ctx = &q->mt}, .ts = q->ts, .n = q->t.ntenants};
        q->source = &q->mt.src;
    }
    return true;
}

static void close_query(qctx *q)
{
    count_query(q, q->resp && q->resp->status ? q->resp->status : 500);
    if (q->cat)
        catalog_close(q->cat);
    q->cat = NULL;
    release(q->api, q);
}

static int64_t max_entries_of(const qctx *q)
{
    if (!q->has_lim)
        return DEFAULT_MAX_ENTRIES;
    return q->lim.max_entries_limit_per_query > 0 ? q->lim.max_entries_limit_per_query : INT64_MAX;
}

/* Prometheus model.Duration String() ("30d1h", "1w", "90s"), as Loki prints limits. */
static void prom_dur(char *out, size_t n, int64_t ns)
{
    int64_t ms = ns / 1000000;
    if (ms <= 0) {
        snprintf(out, n, "0s");
        return;
    }
    static const struct {
        const char *unit;
        int64_t mult;
        bool exact;
    } U[] = {{"y", 1000LL * 60 * 60 * 24 * 365, true},
             {"w", 1000LL * 60 * 60 * 24 * 7, true},
             {"d", 1000LL * 60 * 60 * 24, false},
             {"h", 1000LL * 60 * 60, false},
             {"m", 1000LL * 60, false},
             {"s", 1000, false},
             {"ms", 1, false}};
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof U / sizeof U[0] && k < n; i++) {
        if (U[i].exact && ms % U[i].mult != 0)
            continue;
        int64_t v = ms / U[i].mult;
        if (v > 0) {
            int w = snprintf(out + k, n - k, "%lld%s", (long long)v, U[i].unit);
            if (w < 0)
                break;
            k += (size_t)w;
            ms -= v * U[i].mult;
        }
    }
}

/* max_query_length: answers 400 with Loki's text and returns false when exceeded. */
static bool check_length(const qctx *q, ig_http_resp *resp, const qparams *p)
{
    if (!q->has_lim || q->lim.max_query_length_ns <= 0 ||
        p->end - p->start <= q->lim.max_query_length_ns)
        return true;
    char a[64], b[64], msg[200];
    prom_dur(a, sizeof a, p->end - p->start);
    prom_dur(b, sizeof b, q->lim.max_query_length_ns);
    snprintf(msg, sizeof msg,
             "the query time range exceeds the limit (query length: %s, limit: %s)", a, b);
    text(resp, 400, msg);
    return false;
}

/* Maps an engine error to Loki's status. */
static int answer_error(ig_http_resp *resp, int rc, const ig_errbuf *eb)
{
    int st = rc == IG_EINVAL || rc == IG_ERANGE ? 400
             : rc == IG_EUNSUPPORTED            ? 501
             : rc == IG_ETIMEDOUT               ? 504
             : rc == IG_ECANCELED               ? 499
             : rc == IG_ETOOBIG                 ? 400
             : rc == IG_ENOMEM                  ? 503
                                                : 500;
    const char *m = eb->msg[0] ? eb->msg : ig_strerror(rc);
    if (rc == IG_ECANCELED)
        m = "the request was cancelled by the client";
    if (rc == IG_ETIMEDOUT)
        m = "request timed out, decrease the duration of the request or add more label matchers "
            "(prefer exact match over regex match) to reduce the amount of data processed";
    return text(resp, st, m);
}

/* ---- log queries ------------------------------------------------------------------------- */

typedef struct kept {
    int64_t ts;
    uint64_t sh; /* stream hash (Prometheus labels.Hash of the entry's labels) */
    uint64_t seq;
    ig_str line;
    lq_label *l;
    uint8_t *cats;
    size_t n;
    ig_str key; /* printed stream identity */
    uint64_t rh; /* live tail: identity of the stored row (lcoll.cur_rh) */
} kept;

typedef struct lcoll {
    lq_pipeline *p;
    ig_arena scratch;
    bool forward, categorize;
    kept **heap;
    size_t n, limit;
    size_t cap;    /* heap capacity; with `all` the array grows and nothing is evicted */
    bool all;      /* keep every entry (the interval parameter needs the full order) */
    int64_t bound; /* with a full heap: the worst kept timestamp (the sources' floor/ceil) */
    uint64_t seq, post;
    size_t bytes;
    ig_buf keybuf;
    int err;
    uint64_t cur_rh; /* live tail: set before each collect() call */
} lcoll;

/* a is better (kept in preference) than b */
/* Loki's merge order of entries across streams: by timestamp in the request direction;
 * equal timestamps by stream hash (smaller first forward, larger first backward), then
 * within a stream in ingestion order (reversed backward). */
static bool order_before(bool fwd, int64_t ats, uint64_t ash, uint64_t aseq, int64_t bts,
                         uint64_t bsh, uint64_t bseq)
{
    if (ats != bts)
        return fwd ? ats < bts : ats > bts;
    if (ash != bsh)
        return fwd ? ash < bsh : ash > bsh;
    return fwd ? aseq < bseq : aseq > bseq;
}

/* a is better (kept in preference) than b */
static bool better(const lcoll *c, const kept *a, const kept *b)
{
    return order_before(c->forward, a->ts, a->sh, a->seq, b->ts, b->sh, b->seq);
}

/* Prometheus labels.Hash(): xxHash64 of name 0xff value 0xff ... */
static uint64_t prom_hash(const lq_labels *l)
{
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    static const char sep = (char)0xff;
    for (size_t i = 0; i < l->n; i++) {
        XXH64_update(&st, l->v[i].name.ptr, l->v[i].name.len);
        XXH64_update(&st, &sep, 1);
        XXH64_update(&st, l->v[i].value.ptr ? l->v[i].value.ptr : "", l->v[i].value.len);
        XXH64_update(&st, &sep, 1);
    }
    return XXH64_digest(&st);
}

static void sift_down(lcoll *c, size_t i)
{
    /* heap root = the worst kept entry */
    while (true) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < c->n && better(c, c->heap[w], c->heap[l]))
            w = l;
        if (r < c->n && better(c, c->heap[w], c->heap[r]))
            w = r;
        if (w == i)
            return;
        kept *t = c->heap[i];
        c->heap[i] = c->heap[w];
        c->heap[w] = t;
        i = w;
    }
}

static void sift_up(lcoll *c, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(c, c->heap[p], c->heap[i]))
            return;
        kept *t = c->heap[i];
        c->heap[i] = c->heap[p];
        c->heap[p] = t;
        i = p;
    }
}

static int collect(void *ctx, const lq_entry *e)
{
    lcoll *c = ctx;
    ig_arena_reset(&c->scratch);
    lq_out o;
    uint64_t seq = c->seq++;
    if (!lq_pipeline_run(c->p, e, &c->scratch, &o))
        return 0;
    c->post++;
    uint64_t sh = prom_hash(&o.labels);
    if (!c->all && c->n == c->limit) {
        /* replace the worst only when the new one is better */
        kept *w = c->heap[0];
        if (!order_before(c->forward, e->ts_ns, sh, seq, w->ts, w->sh, w->seq))
            return 0;
    }
    ig_buf_reset(&c->keybuf);
    int rc = 0;
    /* identity: all labels, or only the stream labels with categorize-labels */
    rc = ig_buf_putc(&c->keybuf, '{');
    bool first = true;
    for (size_t i = 0; i < o.labels.n && rc == 0; i++) {
        if (c->categorize && o.cats[i] != LQ_CAT_STREAM)
            continue;
        if (!first)
            rc = ig_buf_append(&c->keybuf, ", ", 2);
        first = false;
        rc = rc ? rc : ig_buf_append_str(&c->keybuf, o.labels.v[i].name);
        rc = rc ? rc : ig_buf_putc(&c->keybuf, '=');
        rc = rc ? rc : lq__quote(&c->keybuf, o.labels.v[i].value);
    }
    rc = rc ? rc : ig_buf_putc(&c->keybuf, '}');
    if (rc)
        return c->err = rc;
    size_t need =
        sizeof(kept) + o.labels.n * (sizeof(lq_label) + 1) + o.line.len + c->keybuf.len + 16;
    for (size_t i = 0; i < o.labels.n; i++)
        need += o.labels.v[i].name.len + o.labels.v[i].value.len;
    if (c->bytes + need > ENTRY_BYTES_CAP)
        return c->err = IG_ETOOBIG;
    char *blk = ig_malloc(need);
    if (!blk)
        return c->err = IG_ENOMEM;
    kept *k = (kept *)blk;
    char *p = blk + sizeof(kept);
    p += (size_t)(-(uintptr_t)p & 7);
    k->l = (lq_label *)p;
    p += o.labels.n * sizeof(lq_label);
    k->cats = (uint8_t *)p;
    p += o.labels.n;
    k->n = o.labels.n;
    for (size_t i = 0; i < o.labels.n; i++) {
        k->cats[i] = o.cats[i];
        memcpy(p, o.labels.v[i].name.ptr, o.labels.v[i].name.len);
        k->l[i].name = (ig_str){p, o.labels.v[i].name.len};
        p += o.labels.v[i].name.len;
        if (o.labels.v[i].value.len)
            memcpy(p, o.labels.v[i].value.ptr, o.labels.v[i].value.len);
        k->l[i].value = (ig_str){p, o.labels.v[i].value.len};
        p += o.labels.v[i].value.len;
    }
    if (o.line.len)
        memcpy(p, o.line.ptr, o.line.len);
    k->line = (ig_str){p, o.line.len};
    p += o.line.len;
    memcpy(p, c->keybuf.data, c->keybuf.len);
    k->key = (ig_str){p, c->keybuf.len};
    k->ts = e->ts_ns;
    k->seq = seq;
    k->sh = sh;
    k->rh = c->cur_rh;
    c->bytes += need;
    if (c->all) {
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 1024;
            kept **nh = ig_realloc(c->heap, nc * sizeof *nh);
            if (!nh) {
                ig_free(k);
                return c->err = IG_ENOMEM;
            }
            c->heap = nh;
            c->cap = nc;
        }
        c->heap[c->n++] = k;
    } else if (c->n == c->limit) {
        ig_free(c->heap[0]);
        c->heap[0] = k;
        sift_down(c, 0);
    } else {
        c->heap[c->n++] = k;
        sift_up(c, c->n - 1);
    }
    if (!c->all && c->n == c->limit)
        __atomic_store_n(&c->bound, c->heap[0]->ts, __ATOMIC_RELAXED); /* read-ahead reads it */
    return 0;
}

static __thread bool t_fwd;

/* Request-direction order of entries across streams (timestamp, then scan order). */
static int kept_time_cmp(const void *pa, const void *pb)
{
    const kept *a = *(kept *const *)pa, *b = *(kept *const *)pb;
    if (order_before(t_fwd, a->ts, a->sh, a->seq, b->ts, b->sh, b->seq))
        return -1;
    return order_before(t_fwd, b->ts, b->sh, b->seq, a->ts, a->sh, a->seq) ? 1 : 0;
}

/* Loki's `interval` (readStreams): walking entries in direction order, one is output
 * only when it is at least `interval` after (forward) / before (backward) the last one
 * output, until `limit` are output. Keeps those at the front of c->heap, frees the rest. */
static void apply_interval(lcoll *c, int64_t interval)
{
    t_fwd = c->forward;
    qsort(c->heap, c->n, sizeof *c->heap, kept_time_cmp);
    size_t o = 0;
    int64_t last = 0;
    for (size_t i = 0; i < c->n; i++) {
        kept *k = c->heap[i];
        bool out = o < c->limit &&
                   (o == 0 || (c->forward ? k->ts >= last + interval : k->ts <= last - interval));
        if (out) {
            c->heap[o++] = k;
            last = k->ts;
        } else {
            ig_free(k);
        }
    }
    c->n = o;
}

static int kept_cmp(const void *pa, const void *pb)
{
    const kept *a = *(kept *const *)pa, *b = *(kept *const *)pb;
    int c = ig_str_cmp(a->key, b->key);
    if (c)
        return c;
    if (a->ts != b->ts)
        return (a->ts < b->ts) == t_fwd ? -1 : 1;
    if (a->seq != b->seq)
        return (a->seq < b->seq) == t_fwd ? -1 : 1;
    return 0;
}

static int write_meta(ig_buf *b, const kept *k)
{
    bool has_sm = false, has_p = false;
    for (size_t i = 0; i < k->n; i++)
        has_sm |= k->cats[i] == LQ_CAT_META, has_p |= k->cats[i] == LQ_CAT_PARSED;
    int rc = ig_buf_putc(b, '{');
    if (rc == 0 && has_sm) {
        rc = ig_buf_append_cstr(b, "\"structuredMetadata\":");
        rc = rc ? rc : jlabels(b, k->l, k->cats, k->n, 1u << LQ_CAT_META);
    }
    if (rc == 0 && has_p) {
        rc = ig_buf_append_cstr(b, has_sm ? ",\"parsed\":" : "\"parsed\":");
        rc = rc ? rc : jlabels(b, k->l, k->cats, k->n, 1u << LQ_CAT_PARSED);
    }
    return rc ? rc : ig_buf_putc(b, '}');
}

static bool wants_categorize(ig_http_req *req)
{
    const char *h = ig_http_header(req, "X-Loki-Response-Encoding-Flags");
    ig_str v;
    if (h) {
        ig_str s = ig_str_from(h);
        while (s.len) {
            long c = ig_str_index(s, ',');
            ig_str part = ig_str_trim((ig_str){s.ptr, c < 0 ? s.len : (size_t)c});
            if (ig_str_eq_cstr(part, "categorize-labels"))
                return true;
            if (c < 0)
                break;
            s.ptr += c + 1;
            s.len -= (size_t)c + 1;
        }
    }
    if (ig_http_param(req, "encodingFlags", &v) && ig_str_eq_cstr(v, "categorize-labels"))
        return true;
    return false;
}

static int run_log_query(qctx *q, ig_http_req *req, ig_http_resp *resp, const logql_expr *e,
                         const qparams *p, ig_arena *a)
{
    int64_t t0 = ig_mono_ns();
    ig_errbuf eb = {{0}};
    lcoll c = {.forward = p->forward,
               .categorize = wants_categorize(req),
               .limit = (size_t)p->limit,
               .all = p->interval > 0};
    int rc = lq_pipeline_new(&e->u.log, a, &c.p, &eb);
    if (rc)
        return answer_error(resp, rc, &eb);
    c.cap = c.all ? 1024 : c.limit;
    c.heap = ig_malloc(c.cap * sizeof *c.heap);
    if (!c.heap)
        return text(resp, 503, "out of memory");
    ig_arena_init(&c.scratch, 64u << 20);
    ig_buf_init(&c.keybuf, 1u << 20);
    /* once `limit` entries are kept, older (backward) / newer (forward) rows are skipped
     * by the sources before their columns are read */
    c.bound = c.forward ? INT64_MAX : INT64_MIN;
    for (int i = 0; !c.all && i < q->t.ntenants; i++) {
        if (c.forward)
            q->ts[i].ts_ceil_ns = &c.bound;
        else
            q->ts[i].ts_floor_ns = &c.bound;
    }
    rc = q->source->scan(q->source, &e->u.log, p->start, p->end, collect, &c, &eb);
    if (rc == 0 && c.err)
        rc = c.err, ig_err(&eb, rc, "%s",
                           rc == IG_ETOOBIG ? "the kept log entries exceed the query memory cap"
                                            : "out of memory");
    ig_buf b;
    ig_buf_init(&b, 0);
    if (rc == 0) {
        if (c.all)
            apply_interval(&c, p->interval);
        t_fwd = c.forward;
        qsort(c.heap, c.n, sizeof *c.heap, kept_cmp);
        rc =
            ig_buf_append_cstr(&b, "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",");
        if (rc == 0 && c.categorize)
            rc = ig_buf_append_cstr(&b, "\"encodingFlags\":[\"categorize-labels\"],");
        rc = rc ? rc : ig_buf_append_cstr(&b, "\"result\":[");
        for (size_t i = 0; i < c.n && rc == 0; i++) {
            const kept *k = c.heap[i];
            bool start = i == 0 || !ig_str_eq(c.heap[i - 1]->key, k->key);
            if (start) {
                rc = ig_buf_append_cstr(&b, i ? "]},{\"stream\":" : "{\"stream\":");
                rc = rc ? rc
                        : jlabels(&b, k->l, c.categorize ? k->cats : NULL, k->n,
                                  1u << LQ_CAT_STREAM);
                rc = rc ? rc : ig_buf_append_cstr(&b, ",\"values\":[");
            } else {
                rc = ig_buf_putc(&b, ',');
            }
            rc = rc ? rc : ig_buf_printf(&b, "[\"%lld\",", (long long)k->ts);
            rc = rc ? rc : jstr(&b, k->line);
            if (rc == 0 && c.categorize) {
                rc = ig_buf_putc(&b, ',');
                rc = rc ? rc : write_meta(&b, k);
            }
            rc = rc ? rc : ig_buf_putc(&b, ']');
        }
        if (rc == 0 && c.n)
            rc = ig_buf_append_cstr(&b, "]}");
        rc = rc ? rc : ig_buf_append_cstr(&b, "],\"stats\":");
        lq_scan_stats st;
        qstats(q, &st);
        rc = rc ? rc : stats_json(&b, &st, c.n, c.post, (double)(ig_mono_ns() - t0) / 1e9);
        rc = rc ? rc : ig_buf_append_cstr(&b, "}}");
        if (rc)
            ig_err(&eb, rc, "out of memory writing the response");
    }
    for (size_t i = 0; i < c.n; i++)
        ig_free(c.heap[i]);
    ig_free(c.heap);
    ig_arena_free(&c.scratch);
    ig_buf_free(&c.keybuf);
    if (rc) {
        ig_buf_free(&b);
        return answer_error(resp, rc, &eb);
    }
    return json_ok(resp, &b);
}

/* Metric queries: lq_eval_metric (src/query/metric.c), the data object from
 * lq_result_json with Loki's stats added. */
static int run_metric_query(qctx *q, ig_http_resp *resp, const logql_expr *e, const qparams *p,
                            bool instant, ig_arena *a)
{
    int64_t t0 = ig_mono_ns();
    ig_errbuf eb = {{0}};
    lq_eval_opts o = {.start_ns = p->start,
                      .end_ns = p->end,
                      .step_ns = instant ? 0 : p->step,
                      .instant = instant,
                      .max_series = q->has_lim && q->lim.max_query_series > 0
                                        ? (size_t)q->lim.max_query_series
                                        : 0,
                      .deadline_ns = q->deadline};
    lq_result r;
    int rc = lq_eval_metric(e, q->source, &o, a, &r, &eb);
    if (rc)
        return answer_error(resp, rc, &eb);
    ig_buf b;
    ig_buf_init(&b, 0);
    rc = ig_buf_append_cstr(&b, "{\"status\":\"success\",\"data\":");
    size_t at = b.len;
    rc = rc ? rc : lq_result_json(&r, &b);
    if (rc == 0 && b.len > at && b.data[b.len - 1] == '}') {
        b.len--; /* reopen the data object for stats */
        lq_scan_stats st;
        qstats(q, &st);
        rc = ig_buf_append_cstr(&b, ",\"stats\":");
        rc = rc ? rc : stats_json(&b, &st, 0, st.entries, (double)(ig_mono_ns() - t0) / 1e9);
        rc = rc ? rc : ig_buf_append_cstr(&b, "}}");
    }
    if (rc) {
        ig_buf_free(&b);
        ig_err(&eb, rc, "out of memory writing the response");
        return answer_error(resp, rc, &eb);
    }
    return json_ok(resp, &b);
}

static int h_query(ig_http_req *req, ig_http_resp *resp, void *ud, bool instant)
{
    lq_loki_api *api = ud;
    qctx q;
    if (!open_query(api, req, resp, &q))
        return 0;
    qparams p;
    int rc = 0;
    if (!read_params(req, resp, instant, max_entries_of(&q), &p, true) ||
        !check_length(&q, resp, &p)) {
        close_query(&q);
        return 0;
    }
    ig_arena a;
    ig_arena_init(&a, QUERY_ARENA_CAP);
    logql_expr *e = NULL;
    ig_errbuf eb = {{0}};
    rc = logql_parse(p.query, &a, &e, &eb);
    if (rc) {
        rc = text(resp, rc == IG_ENOMEM ? 503 : 400, eb.msg);
    } else if (!logql_is_metric(e)) {
        if (instant)
            rc = text(resp, 400,
                      "log queries are not supported as an instant query type, please "
                      "change your query to a range query type");
        else
            rc = run_log_query(&q, req, resp, e, &p, &a);
    } else {
        rc = run_metric_query(&q, resp, e, &p, instant, &a);
    }
    ig_arena_free(&a);
    close_query(&q);
    return rc;
}

static int h_query_range(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    return h_query(req, resp, ud, false);
}

static int h_query_instant(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    return h_query(req, resp, ud, true);
}

/* ---- labels, label values, series ------------------------------------------------------- */

typedef struct mcoll {
    int mode; /* 0 names, 1 values of `name`, 2 series */
    ig_str name;
    ig_map set;
    int err;
    ig_buf tmp;
} mcoll;

static int meta_cb(void *ctx, const lq_entry *e)
{
    mcoll *m = ctx;
    ig_map_entry *me;
    bool created;
    int rc = 0;
    if (m->mode == 0) {
        for (size_t i = 0; i < e->stream.n && rc == 0; i++)
            rc = ig_map_upsert(&m->set, e->stream.v[i].name, &me, &created);
    } else if (m->mode == 1) {
        ig_str v = lq_labels_get(&e->stream, m->name);
        if (v.ptr && v.len)
            rc = ig_map_upsert(&m->set, v, &me, &created);
    } else {
        ig_buf_reset(&m->tmp);
        rc = lq_labels_print(&e->stream, &m->tmp);
        if (rc == 0 && !ig_map_find(&m->set, ig_buf_str(&m->tmp))) {
            ig_buf js;
            ig_buf_init(&js, 1u << 20);
            rc = jlabels(&js, e->stream.v, NULL, e->stream.n, 0);
            if (rc == 0) {
                size_t l;
                char *d = ig_buf_detach(&js, &l);
                rc = ig_map_upsert(&m->set, ig_buf_str(&m->tmp), &me, &created);
                if (rc == 0)
                    me->value = d;
                else
                    ig_free(d);
            }
            ig_buf_free(&js);
        }
    }
    if (rc)
        m->err = rc;
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    const ig_map_entry *x = *(ig_map_entry *const *)a, *y = *(ig_map_entry *const *)b;
    return ig_str_cmp((ig_str){x->key, x->key_len}, (ig_str){y->key, y->key_len});
}

/* Selector of a `query`/`match[]` parameter: a log query or a range aggregation's log
 * part; "{}" (or absent) matches every stream. */
static int selector_of(ig_str s, ig_arena *a, logql_log *out, ig_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    ig_str t = ig_str_trim(s);
    if (t.len == 0 || ig_str_eq_cstr(t, "{}"))
        return 0;
    logql_expr *e;
    int rc = logql_parse(s, a, &e, eb);
    if (rc)
        return rc;
    if (e->kind == LOGQL_EXPR_LOG)
        out->matchers = e->u.log.matchers, out->n_matchers = e->u.log.n_matchers;
    else if (e->kind == LOGQL_EXPR_RANGE_AGG)
        out->matchers = e->u.range.log.matchers, out->n_matchers = e->u.range.log.n_matchers;
    else
        return ig_err(eb, IG_EINVAL, "parse error : only stream selectors are supported here");
    return 0;
}

static int h_meta(ig_http_req *req, ig_http_resp *resp, lq_loki_api *api, int mode, ig_str name)
{
    qctx q;
    if (!open_query(api, req, resp, &q))
        return 0;
    qparams p;
    if (!read_params(req, resp, false, INT64_MAX, &p, false)) {
        close_query(&q);
        return 0;
    }
    ig_arena a;
    ig_arena_init(&a, QUERY_ARENA_CAP);
    ig_errbuf eb = {{0}};
    mcoll m = {.mode = mode, .name = name};
    ig_map_init(&m.set, MAX_NAMES);
    ig_buf_init(&m.tmp, 1u << 20);
    int rc = 0;
    ig_str sels[64];
    int nsel;
    if (mode == 2) {
        nsel = ig_http_param_all(req, "match[]", sels, 64);
        if (nsel == 0)
            nsel = ig_http_param_all(req, "match", sels, 64);
        if (nsel == 0) {
            rc = ig_err(&eb, IG_EINVAL, "at least one match[] argument must be provided");
        }
        if (nsel > 64)
            nsel = 64;
    } else {
        nsel = 1;
        if (!ig_http_param(req, "query", &sels[0]))
            sels[0] = IG_STR("");
    }
    for (int i = 0; i < q.t.ntenants; i++)
        q.ts[i].labels_only = true; /* names, values and series need no line */
    for (int i = 0; i < nsel && rc == 0; i++) {
        logql_log log;
        rc = selector_of(sels[i], &a, &log, &eb);
        if (rc == 0)
            rc = q.source->scan(q.source, &log, p.start, p.end, meta_cb, &m, &eb);
        if (rc && m.err)
            rc = ig_err(&eb, m.err == IG_ETOOBIG ? IG_ETOOBIG : m.err,
                        "too many distinct results (more than %d)", MAX_NAMES);
    }
    ig_buf b;
    ig_buf_init(&b, 0);
    if (rc == 0) {
        ig_map_entry **v = ig_malloc((m.set.count + 1) * sizeof *v);
        if (!v) {
            rc = ig_err(&eb, IG_ENOMEM, "out of memory");
        } else {
            size_t n = 0, it = 0;
            ig_map_entry *me;
            while ((me = ig_map_next(&m.set, &it)))
                v[n++] = me;
            qsort(v, n, sizeof *v, key_cmp);
            rc = ig_buf_append_cstr(&b, "{\"status\":\"success\"");
            if (n || mode == 2)
                rc = rc ? rc : ig_buf_append_cstr(&b, ",\"data\":[");
            for (size_t i = 0; i < n && rc == 0; i++) {
                if (i)
                    rc = ig_buf_putc(&b, ',');
                if (mode == 2)
                    rc = rc ? rc : ig_buf_append_cstr(&b, (const char *)v[i]->value);
                else
                    rc = rc ? rc : jstr(&b, (ig_str){v[i]->key, v[i]->key_len});
            }
            if (n || mode == 2)
                rc = rc ? rc : ig_buf_putc(&b, ']');
            rc = rc ? rc : ig_buf_putc(&b, '}');
            ig_free(v);
        }
    }
    if (mode == 2) {
        size_t it = 0;
        ig_map_entry *me;
        while ((me = ig_map_next(&m.set, &it)))
            ig_free(me->value);
    }
    ig_map_free(&m.set);
    ig_buf_free(&m.tmp);
    ig_arena_free(&a);
    close_query(&q);
    if (rc) {
        ig_buf_free(&b);
        return answer_error(resp, rc, &eb);
    }
    return json_ok(resp, &b);
}

static int h_labels(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    return h_meta(req, resp, ud, 0, IG_STR_NULL);
}

static int h_series(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    return h_meta(req, resp, ud, 2, IG_STR_NULL);
}

/* ---- other routes --------------------------------------------------------------------------- */

static int h_format_query(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    (void)ud;
    ig_str q = IG_STR("");
    ig_http_param(req, "query", &q);
    ig_arena a;
    ig_arena_init(&a, QUERY_ARENA_CAP);
    logql_expr *e;
    ig_errbuf eb = {{0}};
    ig_buf b, out;
    ig_buf_init(&b, 0);
    ig_buf_init(&out, 0);
    int rc = logql_parse(q, &a, &e, &eb);
    if (rc) {
        ig_buf_append_cstr(&out, "{\"status\":\"invalid-query\",\"error\":");
        jstr(&out, ig_str_from(eb.msg));
        ig_buf_putc(&out, '}');
        resp->status = 400;
        ig_http_resp_header(resp, "Content-Type", "application/json; charset=UTF-8");
        ig_buf_append_str(&resp->body, ig_buf_str(&out));
    } else {
        logql_print(e, &b);
        ig_buf_append_cstr(&out, "{\"status\":\"success\",\"data\":");
        jstr(&out, ig_buf_str(&b));
        ig_buf_putc(&out, '}');
        json_ok(resp, &out);
    }
    ig_buf_free(&b);
    ig_buf_free(&out);
    ig_arena_free(&a);
    return 0;
}

static int h_buildinfo(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    (void)req;
    (void)ud;
    ig_buf b;
    ig_buf_init(&b, 0);
    ig_buf_append_cstr(&b, "{\"version\":\"" IG_VERSION "\",\"revision\":\"\",\"branch\":\"\","
                           "\"buildDate\":\"\",\"buildUser\":\"\",\"goVersion\":\"\"}");
    return json_ok(resp, &b);
}

/* ---- index/stats, index/volume, detected_labels ------------------------------------------- */

/* Per distinct stream: entries, line bytes and a copy of the labels. */
typedef struct sagg {
    uint64_t entries, bytes;
    lq_label *l;
    size_t n;
} sagg;

typedef struct acoll {
    ig_map streams; /* printed labels -> sagg (ig_malloc'd, labels in the same block) */
    ig_buf tmp;
    int err;
} acoll;

static int agg_cb(void *ctx, const lq_entry *e)
{
    acoll *c = ctx;
    ig_buf_reset(&c->tmp);
    int rc = lq_labels_print(&e->stream, &c->tmp);
    ig_map_entry *me = NULL;
    bool created = false;
    if (rc == 0)
        rc = ig_map_upsert(&c->streams, ig_buf_str(&c->tmp), &me, &created);
    if (rc == 0 && created) {
        size_t need = sizeof(sagg) + e->stream.n * sizeof(lq_label) + 16;
        for (size_t i = 0; i < e->stream.n; i++)
            need += e->stream.v[i].name.len + e->stream.v[i].value.len;
        sagg *g = ig_malloc(need);
        if (!g) {
            rc = IG_ENOMEM;
        } else {
            memset(g, 0, sizeof *g);
            char *p = (char *)(g + 1);
            p += (size_t)(-(uintptr_t)p & 7);
            g->l = (lq_label *)p;
            p += e->stream.n * sizeof(lq_label);
            for (size_t i = 0; i < e->stream.n; i++) {
                lq_label s = e->stream.v[i];
                memcpy(p, s.name.ptr, s.name.len);
                g->l[i].name = (ig_str){p, s.name.len};
                p += s.name.len;
                if (s.value.len)
                    memcpy(p, s.value.ptr, s.value.len);
                g->l[i].value = (ig_str){p, s.value.len};
                p += s.value.len;
            }
            g->n = e->stream.n;
            me->value = g;
        }
    }
    if (rc == 0) {
        sagg *g = me->value;
        g->entries++;
        g->bytes += e->line.len;
    }
    if (rc)
        c->err = rc;
    return rc;
}

/* The start of the index and detected-* handlers: the tenant(s), then the time range
 * parameters within the tenant's max query length. false: answered already. */
static bool open_ranged_query(lq_loki_api *api, ig_http_req *req, ig_http_resp *resp, qctx *q,
                              qparams *p)
{
    if (!open_query(api, req, resp, q))
        return false;
    if (!read_params(req, resp, false, INT64_MAX, p, false) || !check_length(q, resp, p)) {
        close_query(q);
        return false;
    }
    return true;
}

static void acoll_init(acoll *c)
{
    *c = (acoll){0};
    ig_map_init(&c->streams, MAX_NAMES);
    ig_buf_init(&c->tmp, 1u << 20);
}

static void acoll_free(acoll *c)
{
    size_t it = 0;
    ig_map_entry *me;
    while ((me = ig_map_next(&c->streams, &it)))
        ig_free(me->value);
    ig_map_free(&c->streams);
    ig_buf_free(&c->tmp);
}

/* Runs the aggregation scan of the `query` selector over [start, end). Answers errors
 * itself and returns false. */
static bool agg_scan(qctx *q, ig_http_req *req, ig_http_resp *resp, const qparams *p, ig_arena *a,
                     acoll *c, logql_log *log)
{
    ig_errbuf eb = {{0}};
    ig_str qs = IG_STR("");
    ig_http_param(req, "query", &qs);
    int rc = selector_of(qs, a, log, &eb);
    if (rc == 0)
        rc = q->source->scan(q->source, log, p->start, p->end, agg_cb, c, &eb);
    if (rc && c->err)
        rc = ig_err(&eb, c->err,
                    c->err == IG_ETOOBIG ? "too many distinct streams (more than %d)"
                                         : "out of memory (%d)",
                    MAX_NAMES);
    if (rc) {
        answer_error(resp, rc, &eb);
        return false;
    }
    return true;
}

static int h_index_stats(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    qctx q;
    qparams p;
    if (!open_ranged_query(ud, req, resp, &q, &p))
        return 0;
    ig_arena a;
    ig_arena_init(&a, QUERY_ARENA_CAP);
    acoll c;
    acoll_init(&c);
    logql_log log;
    if (agg_scan(&q, req, resp, &p, &a, &c, &log)) {
        uint64_t entries = 0, bytes = 0;
        size_t it = 0;
        ig_map_entry *me;
        while ((me = ig_map_next(&c.streams, &it))) {
            const sagg *g = me->value;
            entries += g->entries;
            bytes += g->bytes;
        }
        lq_scan_stats st;
        qstats(&q, &st);
        ig_buf b;
        ig_buf_init(&b, 0);
        /* "chunks" counts the row groups (WAL and Iceberg) that were read */
        ig_buf_printf(&b, "{\"streams\":%zu,\"chunks\":%llu,\"bytes\":%llu,\"entries\":%llu}",
                      c.streams.count, (unsigned long long)st.row_groups, (unsigned long long)bytes,
                      (unsigned long long)entries);
        json_ok(resp, &b);
    }
    acoll_free(&c);
    ig_arena_free(&a);
    close_query(&q);
    return 0;
}

typedef struct vol {
    ig_str key;  /* printed metric */
    ig_str json; /* {"k":"v"} */
    uint64_t bytes;
} vol;

static int vol_cmp(const void *a, const void *b)
{
    const vol *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return ig_str_cmp(x->key, y->key);
}

/* Seconds as Loki prints a millisecond timestamp (strconv 'f', -1 of ms/1000). */
static int put_secs(ig_buf *b, int64_t ns)
{
    int64_t ms = ns / 1000000;
    if (ms % 1000 == 0)
        return ig_buf_printf(b, "%lld", (long long)(ms / 1000));
    char f[8];
    snprintf(f, sizeof f, "%03lld", (long long)(llabs(ms % 1000)));
    size_t l = strlen(f);
    while (l && f[l - 1] == '0')
        f[--l] = 0;
    return ig_buf_printf(b, "%s%lld.%s", ms < 0 && ms / 1000 == 0 ? "-" : "",
                         (long long)(ms / 1000), f);
}

static int h_volume(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    qctx q;
    qparams p;
    if (!open_ranged_query(ud, req, resp, &q, &p))
        return 0;
    int64_t limit = 100;
    ig_str v;
    if (ig_http_param(req, "limit", &v) && v.len)
        ig_str_to_i64(v, &limit);
    bool by_labels = ig_http_param(req, "aggregateBy", &v) && ig_str_eq_cstr(v, "labels");
    ig_arena a;
    ig_arena_init(&a, QUERY_ARENA_CAP);
    acoll c;
    acoll_init(&c);
    logql_log log;
    ig_map groups;
    ig_map_init(&groups, MAX_NAMES);
    if (agg_scan(&q, req, resp, &p, &a, &c, &log)) {
        /* target labels: targetLabels, else the selector's label names */
        ig_str targets[64];
        size_t nt = 0;
        if (ig_http_param(req, "targetLabels", &v) && v.len) {
            while (v.len && nt < 64) {
                long k = ig_str_index(v, ',');
                ig_str t = ig_str_trim((ig_str){v.ptr, k < 0 ? v.len : (size_t)k});
                if (t.len)
                    targets[nt++] = t;
                if (k < 0)
                    break;
                v.ptr += k + 1;
                v.len -= (size_t)k + 1;
            }
        } else {
            for (size_t i = 0; i < log.n_matchers && nt < 64; i++) {
                bool dup = false;
                for (size_t j = 0; j < nt; j++)
                    dup |= ig_str_eq(targets[j], log.matchers[i].name);
                if (!dup)
                    targets[nt++] = log.matchers[i].name;
            }
        }
        int rc = 0;
        size_t it = 0;
        ig_map_entry *me;
        ig_buf key;
        ig_buf_init(&key, 1u << 20);
        while (rc == 0 && (me = ig_map_next(&c.streams, &it))) {
            const sagg *g = me->value;
            lq_labels sl = {g->l, g->n};
            for (size_t t = 0; t < nt && rc == 0; t++) {
                /* aggregateBy=labels: one group per target label name present */
                if (!by_labels && t > 0)
                    break;
                ig_buf_reset(&key);
                rc = ig_buf_putc(&key, '{');
                bool first = true;
                for (size_t u = by_labels ? t : 0; u < (by_labels ? t + 1 : nt) && rc == 0; u++) {
                    ig_str lv = lq_labels_get(&sl, targets[u]);
                    if (!lv.ptr)
                        continue;
                    if (!first)
                        rc = ig_buf_putc(&key, ',');
                    first = false;
                    rc = rc ? rc : jstr(&key, targets[u]);
                    rc = rc ? rc : ig_buf_putc(&key, ':');
                    rc = rc ? rc : jstr(&key, by_labels ? IG_STR("") : lv);
                }
                rc = rc ? rc : ig_buf_putc(&key, '}');
                if (rc || first)
                    continue; /* the stream has none of the target labels */
                ig_map_entry *ge;
                bool created;
                rc = ig_map_upsert(&groups, ig_buf_str(&key), &ge, &created);
                if (rc == 0)
                    ge->value = (void *)(uintptr_t)((uintptr_t)ge->value + g->bytes);
            }
        }
        ig_buf_free(&key);
        vol *vs = rc ? NULL : ig_malloc((groups.count + 1) * sizeof *vs);
        if (!vs) {
            ig_errbuf eb = {{0}};
            ig_err(&eb, rc ? rc : IG_ENOMEM, "too many volume groups");
            answer_error(resp, rc ? rc : IG_ENOMEM, &eb);
        } else {
            size_t n = 0;
            it = 0;
            while ((me = ig_map_next(&groups, &it)))
                vs[n++] = (vol){
                    {me->key, me->key_len}, {me->key, me->key_len}, (uint64_t)(uintptr_t)me->value};
            qsort(vs, n, sizeof *vs, vol_cmp);
            if (limit > 0 && n > (size_t)limit)
                n = (size_t)limit;
            ig_buf b;
            ig_buf_init(&b, 0);
            ig_buf_append_cstr(
                &b, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[");
            for (size_t i = 0; i < n; i++) {
                ig_buf_append_cstr(&b, i ? ",{\"metric\":" : "{\"metric\":");
                ig_buf_append_str(&b, vs[i].json);
                ig_buf_append_cstr(&b, ",\"value\":[");
                put_secs(&b, p.end);
                ig_buf_printf(&b, ",\"%llu\"]}", (unsigned long long)vs[i].bytes);
            }
            ig_buf_append_cstr(&b, "]}}");
            json_ok(resp, &b);
            ig_free(vs);
        }
    }
    ig_map_free(&groups);
    acoll_free(&c);
    ig_arena_free(&a);
    close_query(&q);
    return 0;
}

/* index/volume_range: bytes per group of target labels and step, as
 * sum by (targets) (bytes_over_time({selector}[step])) at start, start+step, ... end:
 * an entry at ts counts at the first step t >= ts. */
typedef struct vrgroup {
    uint64_t total;
    uint64_t cells[]; /* one per step */
} vrgroup;

typedef struct vrcoll {
    const ig_str *targets;
    size_t nt;
    bool by_labels;
    int64_t start, step;
    size_t nsteps;
    ig_map groups; /* metric JSON -> vrgroup (ig_malloc'd) */
    ig_buf key;
    size_t cells;
    int err;
} vrcoll;

#define VR_MAX_CELLS (8u << 20)

static int vr_add(vrcoll *c, size_t k, uint64_t bytes)
{
    ig_map_entry *ge;
    bool created;
    int rc = ig_map_upsert(&c->groups, ig_buf_str(&c->key), &ge, &created);
    if (rc)
        return rc;
    if (created) {
        if (c->cells + c->nsteps > VR_MAX_CELLS)
            return IG_ETOOBIG;
        vrgroup *g = ig_malloc(sizeof *g + c->nsteps * sizeof(uint64_t));
        if (!g)
            return IG_ENOMEM;
        memset(g, 0, sizeof *g + c->nsteps * sizeof(uint64_t));
        c->cells += c->nsteps;
        ge->value = g;
    }
    vrgroup *g = ge->value;
    g->cells[k] += bytes;
    g->total += bytes;
    return 0;
}

static int vr_cb(void *ctx, const lq_entry *e)
{
    vrcoll *c = ctx;
    int64_t d = e->ts_ns - c->start;
    size_t k = d <= 0 ? 0 : (size_t)((d + c->step - 1) / c->step);
    if (k >= c->nsteps)
        return 0;
    int rc = 0;
    for (size_t t = 0; t < (c->by_labels ? c->nt : 1) && rc == 0; t++) {
        ig_buf_reset(&c->key);
        rc = ig_buf_putc(&c->key, '{');
        bool first = true;
        for (size_t u = c->by_labels ? t : 0; u < (c->by_labels ? t + 1 : c->nt) && rc == 0; u++) {
            ig_str lv = lq_labels_get(&e->stream, c->targets[u]);
            if (!lv.ptr)
                continue;
            if (!first)
                rc = ig_buf_putc(&c->key, ',');
            first = false;
            rc = rc ? rc : jstr(&c->key, c->targets[u]);
            rc = rc ? rc : ig_buf_putc(&c->key, ':');
            rc = rc ? rc : jstr(&c->key, c->by_labels ? IG_STR("") : lv);
        }
        rc = rc ? rc : ig_buf_putc(&c->key, '}');
        if (rc == 0 && !first)
            rc = vr_add(c, k, e->line.len);
    }
    if (rc)
        c->err = rc;
    return rc;
}

static int vrg_cmp(const void *a, const void *b)
{
    const ig_map_entry *x = *(ig_map_entry *const *)a, *y = *(ig_map_entry *const *)b;
    const vrgroup *gx = x->value, *gy = y->value;
    if (gx->total != gy->total)
        return gx->total > gy->total ? -1 : 1;
    return ig_str_cmp((ig_str){x->key, x->key_len}, (ig_str){y->key, y->key_len});
}

/* Target labels of a volume request: targetLabels, else the selector's label names. */
static size_t volume_targets(ig_http_req *req, const logql_log *log, ig_str *targets, size_t max)
{
    size_t nt = 0;
    ig_str v;
    if (ig_http_param(req, "targetLabels", &v) && v.len) {
        while (v.len && nt < max) {
            long k = ig_str_index(v, ',');
            ig_str t = ig_str_trim((ig_str){v.ptr, k < 0 ? v.len : (size_t)k});
            if (t.len)
                targets[nt++] = t;
            if (k < 0)
                break;
            v.ptr += k + 1;
            v.len -= (size_t)k + 1;
        }
        return nt;
    }
    for (size_t i = 0; i < log->n_matchers && nt < max; i++) {
        bool dup = false;
        for (size_t j = 0; j < nt; j++)
            dup |= ig_str_eq(targets[j], log->matchers[i].name);
        if (!dup)
            targets[nt++] = log->matchers[i].name;
    }
    return nt;
}

static int h_volume_range(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    qctx q;
    qparams p;
    if (!open_ranged_query(ud, req, resp, &q, &p))
        return 0;
    int64_t limit = 100;
    ig_str v;
    if (ig_http_param(req, "limit", &v) && v.len)
        ig_str_to_i64(v, &limit);
    ig_arena a;
    ig_arena_init(&a, QUERY_ARENA_CAP);
    ig_errbuf eb = {{0}};
    ig_str qs = IG_STR(""), targets[64];
    ig_http_param(req, "query", &qs);
    logql_log log;
    vrcoll c = {.start = p.start, .step = p.step};
    c.by_labels = ig_http_param(req, "aggregateBy", &v) && ig_str_eq_cstr(v, "labels");
    c.nsteps = (size_t)((p.end - p.start) / p.step) + 1;
    ig_map_init(&c.groups, MAX_NAMES);
    ig_buf_init(&c.key, 1u << 20);
    int rc = selector_of(qs, &a, &log, &eb);
    if (rc == 0) {
        c.nt = volume_targets(req, &log, targets, 64);
        c.targets = targets;
        rc = q.source->scan(q.source, &log, p.start, p.end + 1, vr_cb, &c, &eb);
        if (rc && c.err)
            rc = ig_err(&eb, c.err, "%s",
                        c.err == IG_ETOOBIG ? "too many volume series and steps" : "out of memory");
    }
    ig_map_entry **gs = rc ? NULL : ig_malloc((c.groups.count + 1) * sizeof *gs);
    if (rc == 0 && !gs)
        rc = ig_err(&eb, IG_ENOMEM, "out of memory");
    if (rc) {
        answer_error(resp, rc, &eb);
    } else {
        size_t n = 0, it = 0;
        ig_map_entry *me;
        while ((me = ig_map_next(&c.groups, &it)))
            gs[n++] = me;
        qsort(gs, n, sizeof *gs, vrg_cmp);
        if (limit > 0 && n > (size_t)limit)
            n = (size_t)limit;
        ig_buf b;
        ig_buf_init(&b, 0);
        ig_buf_append_cstr(
            &b, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[");
        for (size_t i = 0; i < n; i++) {
            const vrgroup *g = gs[i]->value;
            ig_buf_append_cstr(&b, i ? ",{\"metric\":" : "{\"metric\":");
            ig_buf_append(&b, gs[i]->key, gs[i]->key_len);
            ig_buf_append_cstr(&b, ",\"values\":[");
            bool first = true;
            for (size_t k = 0; k < c.nsteps; k++) {
                if (!g->cells[k])
                    continue;
                ig_buf_append_cstr(&b, first ? "[" : ",[");
                first = false;
                put_secs(&b, p.start + (int64_t)k * p.step);
                ig_buf_printf(&b, ",\"%llu\"]", (unsigned long long)g->cells[k]);
            }
            ig_buf_append_cstr(&b, "]}");
        }
        ig_buf_append_cstr(&b, "]}}");
        json_ok(resp, &b);
    }
    ig_free(gs);
    size_t it = 0;
    ig_map_entry *me;
    while ((me = ig_map_next(&c.groups, &it)))
        ig_free(me->value);
    ig_map_free(&c.groups);
    ig_buf_free(&c.key);
    ig_arena_free(&a);
    close_query(&q);
    return 0;
}

/* Values that look like identifiers (Loki drops labels whose values all do): UUIDs,
 * hex strings of 16+ characters, and integers. */
static bool looks_like_id(ig_str v)
{
    if (v.len == 0)
        return false;
    bool digits = true, hexs = true;
    size_t dashes = 0;
    for (size_t i = 0; i < v.len; i++) {
        char ch = v.ptr[i];
        bool d = ch >= '0' && ch <= '9';
        bool h = d || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        digits &= d;
        if (ch == '-')
            dashes++;
        else
            hexs &= h;
    }
    if (digits)
        return true;
    if (hexs && v.len == 36 && dashes == 4)
        return true; /* UUID */
    return hexs && dashes == 0 && v.len >= 16;
}

static int name_cmp(const void *a, const void *b)
{
    return ig_str_cmp(*(const ig_str *)a, *(const ig_str *)b);
}

static int h_detected_labels(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    qctx q;
    qparams p;
    if (!open_ranged_query(ud, req, resp, &q, &p))
        return 0;
    ig_arena a;
    ig_arena_init(&a, QUERY_ARENA_CAP);
    acoll c;
    acoll_init(&c);
    logql_log log;
    for (int i = 0; i < q.t.ntenants; i++)
        q.ts[i].labels_only = true; /* label names and values need no line */
    if (agg_scan(&q, req, resp, &p, &a, &c, &log)) {
        /* distinct values per label name: a map of "name\xffvalue" and a count per name */
        ig_map pairs, names;
        ig_map_init(&pairs, 4 * MAX_NAMES);
        ig_map_init(&names, MAX_NAMES);
        ig_buf key;
        ig_buf_init(&key, 1u << 20);
        size_t it = 0;
        ig_map_entry *me;
        int rc = 0;
        while (rc == 0 && (me = ig_map_next(&c.streams, &it))) {
            const sagg *g = me->value;
            for (size_t i = 0; i < g->n && rc == 0; i++) {
                ig_str nm = g->l[i].name, val = g->l[i].value;
                if (nm.len >= 2 && nm.ptr[0] == '_' && nm.ptr[1] == '_')
                    continue;
                ig_buf_reset(&key);
                ig_buf_append_str(&key, nm);
                ig_buf_putc(&key, '\xff');
                ig_buf_append_str(&key, val);
                ig_map_entry *pe, *ne;
                bool created;
                rc = ig_map_upsert(&pairs, ig_buf_str(&key), &pe, &created);
                if (rc || !created)
                    continue;
                rc = ig_map_upsert(&names, nm, &ne, &created);
                if (rc)
                    break;
                /* value: count << 1 | (any value not an ID) */
                uintptr_t st = (uintptr_t)ne->value;
                st = (((st >> 1) + 1) << 1) | (st & 1) | (looks_like_id(val) ? 0 : 1);
                ne->value = (void *)st;
            }
        }
        ig_str *list = ig_malloc((names.count + 1) * sizeof *list);
        if (rc || !list) {
            ig_errbuf eb = {{0}};
            ig_err(&eb, rc ? rc : IG_ENOMEM, "too many distinct labels");
            answer_error(resp, rc ? rc : IG_ENOMEM, &eb);
        } else {
            size_t n = 0;
            it = 0;
            while ((me = ig_map_next(&names, &it)))
                list[n++] = (ig_str){me->key, me->key_len};
            qsort(list, n, sizeof *list, name_cmp);
            static const char *const keep[] = {"cluster", "namespace", "instance", "pod"};
            ig_buf b;
            ig_buf_init(&b, 0);
            ig_buf_append_cstr(&b, "{\"detectedLabels\":[");
            bool first = true;
            for (size_t i = 0; i < n; i++) {
                uintptr_t st = (uintptr_t)ig_map_get(&names, list[i]);
                bool stat = false;
                for (size_t k = 0; k < 4; k++)
                    stat |= ig_str_eq_cstr(list[i], keep[k]);
                if (!(st & 1) && !stat)
                    continue;
                ig_buf_append_cstr(&b, first ? "{\"label\":" : ",{\"label\":");
                first = false;
                jstr(&b, list[i]);
                ig_buf_printf(&b, ",\"cardinality\":%llu}", (unsigned long long)(st >> 1));
            }
            ig_buf_append_cstr(&b, "]}");
            json_ok(resp, &b);
        }
        ig_free(list);
        ig_buf_free(&key);
        ig_map_free(&pairs);
        ig_map_free(&names);
    }
    acoll_free(&c);
    ig_arena_free(&a);
    close_query(&q);
    return 0;
}

/* ---- detected_fields ------------------------------------------------------------------------ */

/* Loki's type of a detected field value: int, float, boolean, duration, bytes, string. */
static const char *value_type(ig_str v)
{
    int64_t i;
    double d;
    if (ig_str_to_i64(v, &i) == 0)
        return "int";
    if (lq__parse_float(v, &d) == 0)
        return "float";
    static const char *const bools[] = {"1", "t", "T", "TRUE",  "true",  "True",
                                        "0", "f", "F", "FALSE", "false", "False"};
    for (size_t k = 0; k < sizeof bools / sizeof bools[0]; k++)
        if (ig_str_eq_cstr(v, bools[k]))
            return "boolean";
    if (lq__parse_go_duration(v, &d) == 0)
        return "duration";
    bool unit = v.len && ((v.ptr[v.len - 1] | 32) == 'b');
    if (unit && lq__parse_bytes(v, &d) == 0)
        return "bytes";
    return "string";
}

typedef struct dfield {
    const char *type;
    unsigned parsers; /* 1 json, 2 logfmt, 4 structured metadata */
    ig_map values;
    char *json_path; /* JSON array of the raw keys, e.g. ["user","id"] (json fields) */
} dfield;

/* Records the JSON path (raw keys) of every flattened json field of the line, as the json
 * parser names them, on fields already detected. path/np: the keys so far. */
static void json_paths_walk(json_reader *r, ig_map *fields, ig_arena *a, ig_str *path, size_t np,
                            ig_str flat, int depth)
{
    if (json_obj_begin(r) < 0)
        return;
    ig_str key;
    while (json_obj_next_key(r, &key) == 1) {
        ig_str k = lq__json_key_sanitize(a, key, np == 0);
        ig_str raw = ig_arena_strdup(a, key);
        if (!k.ptr || !raw.ptr)
            return;
        ig_str name = k;
        if (flat.len) {
            char *n = ig_arena_alloc(a, flat.len + 1 + k.len);
            if (!n)
                return;
            memcpy(n, flat.ptr, flat.len);
            n[flat.len] = '_';
            memcpy(n + flat.len + 1, k.ptr, k.len);
            name = (ig_str){n, flat.len + 1 + k.len};
        }
        int t = json_peek(r);
        if (t == JSON_OBJ && depth < 64 && np < 63) {
            path[np] = raw;
            json_paths_walk(r, fields, a, path, np + 1, name, depth + 1);
            continue;
        }
        if (json_skip(r) < 0)
            return;
        dfield *f = ig_map_get(fields, name);
        if (!f || f->json_path || t == JSON_ARR || t == JSON_NULL)
            continue;
        ig_buf b;
        ig_buf_init(&b, 1u << 16);
        ig_buf_putc(&b, '[');
        for (size_t i = 0; i <= np; i++) {
            if (i)
                ig_buf_putc(&b, ',');
            jstr(&b, i < np ? path[i] : raw);
        }
        ig_buf_putc(&b, ']');
        size_t l;
        f->json_path = ig_buf_detach(&b, &l);
        ig_buf_free(&b);
    }
}

static int df_add(ig_map *fields, ig_str name, ig_str value, unsigned parser)
{
    if (name.len >= 2 && name.ptr[0] == '_' && name.ptr[1] == '_')
        return 0; /* __error__ and other internal labels */
    ig_map_entry *me;
    bool created;
    int rc = ig_map_upsert(fields, name, &me, &created);
    if (rc)
        return rc;
    if (created) {
        dfield *f = ig_malloc(sizeof *f);
        if (!f)
            return IG_ENOMEM;
        f->type = value_type(value);
        f->parsers = 0;
        f->json_path = NULL;
        ig_map_init(&f->values, 10000);
        me->value = f;
    }
    dfield *f = me->value;
    f->parsers |= parser;
    ig_map_entry *ve;
    rc = ig_map_upsert(&f->values, value, &ve, &created);
    return rc == IG_ETOOBIG ? 0 : rc; /* cardinality saturates at the cap */
}

/* detected_fields, or with field.ptr set detected_field/NAME/values. */
static int detected(ig_http_req *req, ig_http_resp *resp, void *ud, ig_str field)
{
    qctx q;
    qparams p;
    if (!open_ranged_query(ud, req, resp, &q, &p))
        return 0;
    int64_t line_limit = 1000, limit = 1000;
    ig_str v;
    if (ig_http_param(req, "line_limit", &v) && v.len)
        ig_str_to_i64(v, &line_limit);
    if (ig_http_param(req, "limit", &v) && v.len)
        ig_str_to_i64(v, &limit);
    if (line_limit <= 0 || line_limit > 100000)
        line_limit = 1000;
    ig_arena a;
    ig_arena_init(&a, QUERY_ARENA_CAP);
    ig_errbuf eb = {{0}};
    ig_str qs = IG_STR("");
    ig_http_param(req, "query", &qs);
    logql_log log = {0};
    int rc = 0;
    if (ig_str_trim(qs).len && !ig_str_eq_cstr(ig_str_trim(qs), "{}")) {
        logql_expr *e;
        rc = logql_parse(qs, &a, &e, &eb);
        if (rc == 0 && e->kind == LOGQL_EXPR_LOG)
            log = e->u.log;
        else if (rc == 0 && e->kind == LOGQL_EXPR_RANGE_AGG)
            log = e->u.range.log, log.unwrap = NULL;
        else if (rc == 0)
            rc = ig_err(&eb, IG_EINVAL, "parse error : only log queries are supported here");
    }
    lcoll c = {.forward = false, .limit = (size_t)line_limit};
    /* parsers tried on each line: json, then logfmt */
    logql_stage js = {.kind = LOGQL_STAGE_JSON}, lf = {.kind = LOGQL_STAGE_LOGFMT};
    logql_log jl = {.stages = &js, .n_stages = 1}, ll = {.stages = &lf, .n_stages = 1};
    lq_pipeline *jp = NULL, *lp = NULL;
    if (rc == 0)
        rc = lq_pipeline_new(&log, &a, &c.p, &eb);
    if (rc == 0)
        rc = lq_pipeline_new(&jl, &a, &jp, &eb);
    if (rc == 0)
        rc = lq_pipeline_new(&ll, &a, &lp, &eb);
    if (rc == 0 && !(c.heap = ig_malloc(c.limit * sizeof *c.heap)))
        rc = ig_err(&eb, IG_ENOMEM, "out of memory");
    ig_arena_init(&c.scratch, 64u << 20);
    ig_buf_init(&c.keybuf, 1u << 20);
    if (rc == 0)
        rc = q.source->scan(q.source, &log, p.start, p.end, collect, &c, &eb);
    if (rc == 0 && c.err)
        rc = ig_err(&eb, c.err, "out of memory");
    ig_map fields;
    ig_map_init(&fields, 10000);
    ig_arena scratch;
    ig_arena_init(&scratch, 64u << 20);
    for (size_t i = 0; i < c.n && rc == 0; i++) {
        const kept *k = c.heap[i];
        for (size_t j = 0; j < k->n && rc == 0; j++)
            if (k->cats[j] == LQ_CAT_META)
                rc = df_add(&fields, k->l[j].name, k->l[j].value, 4);
        ig_arena_reset(&scratch);
        lq_entry in = {.ts_ns = k->ts, .line = k->line};
        lq_out o;
        unsigned parser = 1;
        bool ok = lq_pipeline_run(jp, &in, &scratch, &o) &&
                  !lq_labels_get(&o.labels, IG_STR("__error__")).ptr;
        if (!ok) {
            ig_arena_reset(&scratch);
            parser = 2;
            ok = lq_pipeline_run(lp, &in, &scratch, &o) &&
                 !lq_labels_get(&o.labels, IG_STR("__error__")).ptr;
        }
        for (size_t j = 0; ok && j < o.labels.n && rc == 0; j++)
            rc = df_add(&fields, o.labels.v[j].name, o.labels.v[j].value, parser);
        if (ok && parser == 1 && rc == 0) {
            ig_str path[64];
            json_reader jr;
            json_reader_init(&jr, k->line, NULL);
            jr.arena = &scratch;
            json_paths_walk(&jr, &fields, &scratch, path, 0, IG_STR(""), 0);
            json_reader_free(&jr);
        }
    }
    if (rc == IG_ETOOBIG)
        rc = 0; /* more than 10000 fields: the first ones are reported */
    ig_str *names = rc ? NULL : ig_malloc((fields.count + 1) * sizeof *names);
    if (rc == 0 && !names)
        rc = ig_err(&eb, IG_ENOMEM, "out of memory");
    if (rc) {
        answer_error(resp, rc, &eb);
    } else if (field.ptr) {
        /* the distinct values of one field, sorted */
        const dfield *f = ig_map_get(&fields, field);
        ig_str *vals = ig_malloc(((f ? f->values.count : 0) + 1) * sizeof *vals);
        size_t n = 0, it = 0;
        ig_map_entry *me;
        while (f && vals && (me = ig_map_next(&f->values, &it)))
            vals[n++] = (ig_str){me->key, me->key_len};
        if (vals)
            qsort(vals, n, sizeof *vals, name_cmp);
        if (limit > 0 && n > (size_t)limit)
            n = (size_t)limit;
        ig_buf b;
        ig_buf_init(&b, 0);
        ig_buf_append_cstr(&b, "{\"values\":[");
        for (size_t i = 0; vals && i < n; i++) {
            if (i)
                ig_buf_putc(&b, ',');
            jstr(&b, vals[i]);
        }
        ig_buf_printf(&b, "],\"limit\":%lld}", (long long)limit);
        ig_free(vals);
        json_ok(resp, &b);
    } else {
        size_t n = 0, it = 0;
        ig_map_entry *me;
        while ((me = ig_map_next(&fields, &it)))
            names[n++] = (ig_str){me->key, me->key_len};
        qsort(names, n, sizeof *names, name_cmp);
        if (limit > 0 && n > (size_t)limit)
            n = (size_t)limit;
        ig_buf b;
        ig_buf_init(&b, 0);
        ig_buf_append_cstr(&b, "{\"fields\":[");
        for (size_t i = 0; i < n; i++) {
            const dfield *f = ig_map_get(&fields, names[i]);
            ig_buf_append_cstr(&b, i ? ",{\"label\":" : "{\"label\":");
            jstr(&b, names[i]);
            ig_buf_printf(&b, ",\"type\":\"%s\",\"cardinality\":%zu,\"parsers\":", f->type,
                          f->values.count);
            if (!(f->parsers & 3))
                ig_buf_append_cstr(&b, "null");
            else
                ig_buf_printf(&b, "[%s%s%s]", f->parsers & 1 ? "\"json\"" : "",
                              (f->parsers & 3) == 3 ? "," : "", f->parsers & 2 ? "\"logfmt\"" : "");
            if (f->json_path) {
                ig_buf_append_cstr(&b, ",\"jsonPath\":");
                ig_buf_append_cstr(&b, f->json_path);
            }
            ig_buf_putc(&b, '}');
        }
        ig_buf_printf(&b, "],\"limit\":%lld}", (long long)limit);
        json_ok(resp, &b);
    }
    ig_free(names);
    size_t it = 0;
    ig_map_entry *me;
    while ((me = ig_map_next(&fields, &it))) {
        dfield *f = me->value;
        ig_map_free(&f->values);
        ig_free(f->json_path);
        ig_free(f);
    }
    ig_map_free(&fields);
    for (size_t i = 0; i < c.n; i++)
        ig_free(c.heap[i]);
    ig_free(c.heap);
    ig_arena_free(&c.scratch);
    ig_arena_free(&scratch);
    ig_buf_free(&c.keybuf);
    ig_arena_free(&a);
    close_query(&q);
    return 0;
}

static int h_detected_fields(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    return detected(req, resp, ud, IG_STR_NULL);
}

/* ---- live tail (WebSocket) ----------------------------------------------------------- */
/* GET /loki/api/v1/tail (loki-notes §2.4). Parameters are checked before the upgrade (4xx
 * as plain HTTP); then a thread of the connection's own (ig_http_resp_websocket) sends
 * first the newest `limit` entries in [start, now - delay_for), oldest first, then, about
 * once a second, the entries whose timestamp is in the next window [from, now - delay_for)
 * as the source sees them (WAL and Iceberg), in time order. Bounded per tailer: one poll
 * keeps at most TAIL_MAX_ENTRIES entries (the oldest); when a window holds more, the
 * tailer keeps the rest for the following polls (it falls behind rather than growing),
 * and once it is more than TAIL_MAX_LAG behind it skips ahead to now and reports the
 * entries it skipped (up to TAIL_MAX_DROPPED, labels and timestamp) in
 * "dropped_entries", as Loki's tailer does when a client cannot keep up. Entries pushed
 * with a timestamp already behind the window are not sent (Loki's ingester-side tail
 * would send them). Errors close the socket with 1011 and the message; server shutdown
 * with 1001; tail_max_duration (1h) with 1000. */
#define TAIL_POLL_MS 1000
#define TAIL_MAX_ENTRIES 1000
#define TAIL_MAX_DROPPED 1000
#define TAIL_MAX_LAG_NS (30LL * IG_NS_PER_S)
#define TAIL_MAX_DURATION_NS (3600LL * IG_NS_PER_S)
#define TAIL_MSG_BYTES (256u << 10)

typedef struct tail {
    lq_loki_api *api;
    char *tenant, *account; /* copies (the request arena dies at the upgrade) */
    size_t tenant_len, account_len;
    bool has_account;
    ig_arena qa; /* the parsed query and its pipeline */
    logql_expr *e;
    int64_t from, delay_ns, started;
    size_t limit;
    qadm *slot;
    int64_t timeout_ns;
    bool categorize;
    int64_t floor; /* live entries older than this are never sent (history cut) */
    /* rows already sent with ts >= from - TAIL_OVERLAP_NS (the overlap is scanned again,
     * for rows that became visible late): (ts, row hash), oldest first, and a hash set */
    struct tsent {
        int64_t ts;
        uint64_t h;
    } *sent;
    size_t nsent;
    uint64_t *set; /* open addressing, TAIL_SET_SLOTS, 0 = empty */
} tail;

#define TAIL_OVERLAP_NS (5LL * IG_NS_PER_S)
#define TAIL_SENT_CAP (1u << 16)
#define TAIL_SET_SLOTS (1u << 18)

static uint64_t row_hash(const lq_entry *e)
{
    uint64_t h = XXH64(e->line.ptr ? e->line.ptr : "", e->line.len, (uint64_t)e->ts_ns);
    h ^= lq_labels_hash(&e->stream) * 0x9E3779B97F4A7C15ull;
    h ^= lq_labels_hash(&e->meta) * 0xC2B2AE3D27D4EB4Full;
    return h ? h : 1;
}

static bool set_has(const uint64_t *set, uint64_t h)
{
    for (size_t i = h & (TAIL_SET_SLOTS - 1);; i = (i + 1) & (TAIL_SET_SLOTS - 1)) {
        if (set[i] == h)
            return true;
        if (!set[i])
            return false;
    }
}

static void set_add(uint64_t *set, uint64_t h)
{
    size_t i = h & (TAIL_SET_SLOTS - 1);
    while (set[i] && set[i] != h)
        i = (i + 1) & (TAIL_SET_SLOTS - 1);
    set[i] = h;
}

typedef struct tscan {
    lcoll *c;
    tail *t;
} tscan;

static int tail_cb(void *ctx, const lq_entry *e)
{
    tscan *x = ctx;
    if (e->ts_ns < x->t->floor)
        return 0;
    uint64_t h = row_hash(e);
    if (x->t->set && set_has(x->t->set, h))
        return 0;
    x->c->cur_rh = h;
    return collect(x->c, e);
}

/* Records the sent entries, forgets those before keep_from, rebuilds the set. */
static void tail_remember(tail *t, const lcoll *c, int64_t keep_from)
{
    size_t o = 0;
    for (size_t i = 0; i < t->nsent; i++)
        if (t->sent[i].ts >= keep_from)
            t->sent[o++] = t->sent[i];
    t->nsent = o;
    for (size_t i = 0; i < c->n; i++) {
        if (t->nsent == TAIL_SENT_CAP) {
            /* too many rows in the overlap: forget the oldest half and never look
             * below what is remembered */
            size_t half = TAIL_SENT_CAP / 2;
            memmove(t->sent, t->sent + half, (t->nsent - half) * sizeof *t->sent);
            t->nsent -= half;
            if (t->sent[0].ts > t->floor)
                t->floor = t->sent[0].ts;
        }
        t->sent[t->nsent++] = (struct tsent){c->heap[i]->ts, c->heap[i]->rh};
    }
    memset(t->set, 0, TAIL_SET_SLOTS * sizeof *t->set);
    for (size_t i = 0; i < t->nsent; i++)
        set_add(t->set, t->sent[i].h);
}

typedef struct tdrop {
    lq_pipeline *p;
    ig_arena scratch;
    ig_buf *out;
    size_t n;
    int64_t skip_before; /* entries up to this (inclusive) were sent */
} tdrop;

static int tail_drop_cb(void *ctx, const lq_entry *e)
{
    tdrop *d = ctx;
    if (e->ts_ns <= d->skip_before || d->n >= TAIL_MAX_DROPPED)
        return 0;
    ig_arena_reset(&d->scratch);
    lq_out o;
    if (!lq_pipeline_run(d->p, e, &d->scratch, &o))
        return 0;
    int rc = ig_buf_append_cstr(d->out, d->n ? ",{\"labels\":" : "{\"labels\":");
    rc = rc ? rc : jlabels(d->out, o.labels.v, NULL, o.labels.n, 0);
    rc = rc ? rc : ig_buf_printf(d->out, ",\"timestamp\":\"%lld\"}", (long long)e->ts_ns);
    d->n++;
    return rc;
}

static void tail_free(void *ud)
{
    tail *t = ud;
    if (t->slot) {
        pthread_mutex_lock(&t->api->mu);
        t->slot->tails--;
        pthread_mutex_unlock(&t->api->mu);
    }
    ig_arena_free(&t->qa);
    ig_free(t->tenant);
    ig_free(t->account);
    ig_free(t->sent);
    ig_free(t->set);
    ig_free(t);
}

/* Sends the kept entries of c (sorted by time) as messages of at most TAIL_MSG_BYTES,
 * the dropped list (if any) with the first. */
static int tail_send(ig_ws *ws, lcoll *c, const ig_buf *dropped)
{
    ig_buf b;
    ig_buf_init(&b, 48u << 20); /* TAIL_MSG_BYTES plus one entry (lines up to max_line_size) */
    int rc = 0;
    size_t i = 0;
    bool drop_pending = dropped && dropped->len;
    while ((i < c->n || drop_pending) && rc == 0) {
        ig_buf_reset(&b);
        rc = ig_buf_append_cstr(&b, "{\"streams\":[");
        size_t first = i;
        while (i < c->n && rc == 0 && b.len < TAIL_MSG_BYTES) {
            const kept *k = c->heap[i];
            bool start = i == first || !ig_str_eq(c->heap[i - 1]->key, k->key);
            if (start) {
                rc = ig_buf_append_cstr(&b, i > first ? "]},{\"stream\":" : "{\"stream\":");
                rc = rc ? rc
                        : jlabels(&b, k->l, c->categorize ? k->cats : NULL, k->n,
                                  1u << LQ_CAT_STREAM);
                rc = rc ? rc : ig_buf_append_cstr(&b, ",\"values\":[");
            } else {
                rc = ig_buf_putc(&b, ',');
            }
            rc = rc ? rc : ig_buf_printf(&b, "[\"%lld\",", (long long)k->ts);
            rc = rc ? rc : jstr(&b, k->line);
            if (rc == 0 && c->categorize) {
                rc = ig_buf_putc(&b, ',');
                rc = rc ? rc : write_meta(&b, k);
            }
            rc = rc ? rc : ig_buf_putc(&b, ']');
            i++;
        }
        if (rc == 0 && i > first)
            rc = ig_buf_append_cstr(&b, "]}");
        rc = rc ? rc : ig_buf_putc(&b, ']');
        if (rc == 0 && drop_pending) {
            rc = ig_buf_append_cstr(&b, ",\"dropped_entries\":[");
            rc = rc ? rc : ig_buf_append(&b, dropped->data, dropped->len);
            rc = rc ? rc : ig_buf_putc(&b, ']');
            drop_pending = false;
        }
        if (rc == 0 && c->categorize)
            rc = ig_buf_append_cstr(&b, ",\"encodingFlags\":[\"categorize-labels\"]");
        rc = rc ? rc : ig_buf_putc(&b, '}');
        rc = rc ? rc : ig_ws_send_text(ws, b.data, b.len);
    }
    ig_buf_free(&b);
    return rc;
}

/* One poll: entries in [t->from, end) (history: the newest `limit`, else the oldest
 * TAIL_MAX_ENTRIES), sent in time order; advances t->from. */
static int tail_poll(tail *t, ig_ws *ws, int64_t end, bool history, char *msg, size_t msglen)
{
    if (end <= t->from)
        return 0;
    qctx q;
    memset(&q, 0, sizeof q);
    q.api = t->api;
    ig_errbuf eb = {{0}};
    int rc = catalog_open(t->api->cfg, &q.cat, &eb);
    if (rc) {
        snprintf(msg, msglen, "catalog unavailable: %s", eb.msg);
        return rc;
    }
    ig_str tenant = {t->tenant, t->tenant_len};
    ig_str account = t->has_account ? (ig_str){t->account, t->account_len} : IG_STR_NULL;
    lq_table_source_init(&q.ts[0], q.cat, t->api->store, tenant, account);
    q.ts[0].threads = (int)t->api->cfg->loki.scan_threads;
    if (t->timeout_ns > 0)
        q.ts[0].deadline_ns = ig_mono_ns() + t->timeout_ns;
    ig_arena pa;
    ig_arena_init(&pa, 16u << 20);
    lcoll c = {.forward = !history,
               .categorize = t->categorize,
               .limit = history ? t->limit : TAIL_MAX_ENTRIES};
    rc = lq_pipeline_new(&t->e->u.log, &pa, &c.p, &eb);
    c.cap = c.limit;
    c.heap = rc ? NULL : ig_malloc(c.cap * sizeof *c.heap);
    if (rc == 0 && !c.heap)
        rc = ig_err(&eb, IG_ENOMEM, "out of memory");
    ig_arena_init(&c.scratch, 64u << 20);
    ig_buf_init(&c.keybuf, 1u << 20);
    c.bound = c.forward ? INT64_MAX : INT64_MIN;
    if (c.forward)
        q.ts[0].ts_ceil_ns = &c.bound;
    else
        q.ts[0].ts_floor_ns = &c.bound;
    int64_t lo = history ? t->from : t->from - TAIL_OVERLAP_NS;
    if (lo < t->floor)
        lo = t->floor;
    tscan x = {&c, t};
    if (rc == 0)
        rc = q.ts[0].src.scan(&q.ts[0].src, &t->e->u.log, lo, end, tail_cb, &x, &eb);
    if (rc == 0 && c.err)
        rc = ig_err(&eb, c.err, "%s", "the kept log entries exceed the tail memory cap");
    ig_buf dropped;
    ig_buf_init(&dropped, 1u << 20);
    if (rc == 0) {
        t_fwd = true;
        qsort(c.heap, c.n, sizeof *c.heap, kept_time_cmp);
        int64_t next = end;
        if (!history && c.post > c.n && c.n) {
            /* more than a poll's worth: keep the oldest, send the rest later, unless the
             * tailer is too far behind */
            int64_t last = c.heap[c.n - 1]->ts;
            if (ig_now_ns() - last > TAIL_MAX_LAG_NS) {
                tdrop d = {.p = c.p, .out = &dropped, .skip_before = last};
                ig_arena_init(&d.scratch, 16u << 20);
                lq_table_source_init(&q.ts[1], q.cat, t->api->store, tenant, account);
                q.ts[1].src.scan(&q.ts[1].src, &t->e->u.log, last + 1, end, tail_drop_cb, &d,
                                 &eb);
                ig_arena_free(&d.scratch);
                eb.msg[0] = 0;
            } else {
                /* entries at `last` that did not fit come again: hold back all at `last`
                 * unless every kept entry has it */
                size_t keep = c.n;
                while (keep && c.heap[keep - 1]->ts == last)
                    keep--;
                if (keep) {
                    for (size_t i = keep; i < c.n; i++)
                        ig_free(c.heap[i]);
                    c.n = keep;
                    next = last;
                } else {
                    next = last + 1;
                }
            }
        }
        t_fwd = c.forward;
        /* group by stream within time order: a stable regroup is not needed, consecutive
         * entries of the same stream share one stream object */
        rc = tail_send(ws, &c, &dropped);
        if (rc == 0) {
            if (history && c.n == c.limit && c.n)
                t->floor = c.heap[0]->ts; /* older rows were cut by `limit` */
            t->from = next;
            tail_remember(t, &c, next - TAIL_OVERLAP_NS);
        }
    } else {
        snprintf(msg, msglen, "%s", eb.msg[0] ? eb.msg : ig_strerror(rc));
    }
    ig_buf_free(&dropped);
    for (size_t i = 0; i < c.n; i++)
        ig_free(c.heap[i]);
    ig_free(c.heap);
    ig_arena_free(&c.scratch);
    ig_buf_free(&c.keybuf);
    ig_arena_free(&pa);
    catalog_close(q.cat);
    return rc;
}

static void tail_run(ig_ws *ws, void *ud)
{
    tail *t = ud;
    char msg[512] = {0};
    int rc = tail_poll(t, ws, ig_now_ns() - t->delay_ns, true, msg, sizeof msg);
    while (rc == 0) {
        if (ig_ws_wait(ws, TAIL_POLL_MS) != 0)
            return; /* client gone or server stopping */
        if (ig_mono_ns() - t->started > TAIL_MAX_DURATION_NS) {
            ig_ws_close(ws, 1000, "");
            return;
        }
        rc = tail_poll(t, ws, ig_now_ns() - t->delay_ns, false, msg, sizeof msg);
    }
    if (rc != IG_EIO)
        ig_ws_close(ws, 1011, msg[0] ? msg : ig_strerror(rc));
}

static int h_tail(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    lq_loki_api *api = ud;
    char msg[512];
    ig_tenancy ten;
    ig_tenant_opts topts = api->topts;
    topts.allow_multi = false; /* tail is single-tenant (loki-notes §1.3) */
    int st = ig_tenancy_resolve(
        &topts, ig_http_header(req, "X-Scope-OrgID"), ig_http_header_count(req, "X-Scope-OrgID"),
        ig_http_header(req, "X-Account-ID"), ig_http_header_count(req, "X-Account-ID"),
        &req->arena, &ten, msg, sizeof msg);
    if (st)
        return text(resp, st, msg);
    ig_tenant_limits lim;
    ig_tenant_limits_defaults(&lim);
    ig_limits *l = ig_limits_process();
    if (l)
        ig_limits_get(l, ten.tenants[0], &lim);
    ig_str v;
    ig_str query = IG_STR("");
    ig_http_param(req, "query", &query);
    int64_t limit = 100, delay = 0, now = ig_now_ns(), start = now - 3600LL * IG_NS_PER_S;
    if (ig_http_param(req, "limit", &v) && v.len) {
        if (ig_str_to_i64(v, &limit) != 0 || limit <= 0) {
            snprintf(msg, sizeof msg,
                     "invalid parameter \"limit\": strconv.ParseUint: parsing \"%.*s\": invalid "
                     "syntax",
                     (int)(v.len > 64 ? 64 : v.len), v.ptr);
            return text(resp, 400, msg);
        }
        if (lim.max_entries_limit_per_query > 0 && limit > lim.max_entries_limit_per_query) {
            snprintf(msg, sizeof msg, "max entries limit per query exceeded, limit > "
                     "max_entries_limit_per_query (%lld > %lld)",
                     (long long)limit, (long long)lim.max_entries_limit_per_query);
            return text(resp, 400, msg);
        }
    }
    if (ig_http_param(req, "start", &v) && v.len && !parse_ts(v, &start)) {
        snprintf(msg, sizeof msg, "invalid parameter \"start\": cannot parse \"%.*s\" to a valid "
                 "timestamp", (int)(v.len > 64 ? 64 : v.len), v.ptr);
        return text(resp, 400, msg);
    }
    if (ig_http_param(req, "delay_for", &v) && v.len) {
        if (ig_str_to_i64(v, &delay) != 0 || delay < 0) {
            snprintf(msg, sizeof msg, "invalid parameter \"delay_for\": cannot parse \"%.*s\"",
                     (int)(v.len > 64 ? 64 : v.len), v.ptr);
            return text(resp, 400, msg);
        }
        if (delay > 5)
            return text(resp, 400, "delay_for can't be greater than 5");
    }
    tail *t = ig_calloc(1, sizeof *t);
    if (!t)
        return text(resp, 503, "out of memory");
    t->api = api;
    ig_arena_init(&t->qa, QUERY_ARENA_CAP);
    ig_errbuf eb = {{0}};
    int rc = logql_parse(query, &t->qa, &t->e, &eb);
    if (rc) {
        tail_free(t);
        return text(resp, rc == IG_ENOMEM ? 503 : 400, eb.msg);
    }
    if (logql_is_metric(t->e)) {
        tail_free(t);
        return text(resp, 400, "parse error : only log selector is supported");
    }
    lq_pipeline *probe = NULL;
    rc = lq_pipeline_new(&t->e->u.log, &t->qa, &probe, &eb);
    if (rc) {
        tail_free(t);
        return answer_error(resp, rc, &eb);
    }
    t->tenant = ig_malloc(ten.tenants[0].len + 1);
    t->account = ten.account_id.ptr ? ig_malloc(ten.account_id.len + 1) : NULL;
    if (!t->tenant || (ten.account_id.ptr && !t->account)) {
        tail_free(t);
        return text(resp, 503, "out of memory");
    }
    memcpy(t->tenant, ten.tenants[0].ptr, ten.tenants[0].len);
    t->tenant_len = ten.tenants[0].len;
    if (t->account) {
        memcpy(t->account, ten.account_id.ptr, ten.account_id.len);
        t->account_len = ten.account_id.len;
        t->has_account = true;
    }
    t->limit = (size_t)limit;
    t->delay_ns = delay * IG_NS_PER_S;
    t->from = start;
    t->floor = start;
    t->started = ig_mono_ns();
    t->sent = ig_malloc(TAIL_SENT_CAP * sizeof *t->sent);
    t->set = ig_calloc(TAIL_SET_SLOTS, sizeof *t->set);
    if (!t->sent || !t->set) {
        tail_free(t);
        return text(resp, 503, "out of memory");
    }
    t->timeout_ns = lim.query_timeout_ns;
    t->categorize = wants_categorize(req);
    /* max_concurrent_tail_requests per tenant */
    pthread_mutex_lock(&api->mu);
    qadm *a = adm_get(api, ten.tenants[0]);
    int64_t n = a->tails;
    bool over = lim.max_concurrent_tail_requests > 0 && n >= lim.max_concurrent_tail_requests;
    if (!over) {
        a->tails++;
        t->slot = a;
    }
    pthread_mutex_unlock(&api->mu);
    if (over) {
        tail_free(t);
        snprintf(msg, sizeof msg,
                 "max concurrent tail requests limit exceeded, count > limit (%lld > %lld)",
                 (long long)n + 1, (long long)lim.max_concurrent_tail_requests);
        return text(resp, 400, msg);
    }
    ig_http_resp_websocket(req, resp, tail_run, t, tail_free);
    return 0;
}

static int h_api(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    const char *path = req->path;
    static const char pre[] = "/loki/api/v1/";
    bool get_post = !strcmp(req->method, "GET") || !strcmp(req->method, "POST");
    if (!strncmp(path, pre, sizeof pre - 1)) {
        const char *rest = path + sizeof pre - 1;
        if (!strncmp(rest, "label/", 6)) {
            const char *nm = rest + 6;
            const char *sl = strchr(nm, '/');
            if (sl && !strcmp(sl, "/values")) {
                if (!get_post)
                    return text(resp, 405, "method not allowed");
                return h_meta(req, resp, ud, 1, ig_str_make(nm, (size_t)(sl - nm)));
            }
        }
        if (!strncmp(rest, "detected_field/", 15)) {
            const char *nm = rest + 15;
            const char *sl = strchr(nm, '/');
            if (sl && sl > nm && !strcmp(sl, "/values")) {
                if (!get_post)
                    return text(resp, 405, "method not allowed");
                return detected(req, resp, ud, ig_str_make(nm, (size_t)(sl - nm)));
            }
        }
    }
    char msg[300];
    snprintf(msg, sizeof msg, "%.200s is not implemented yet", path);
    return text(resp, 501, msg);
}

int lq_loki_api_new(const ig_config *cfg, lq_loki_api **out, ig_errbuf *eb)
{
    lq_loki_api *api = ig_malloc(sizeof *api);
    if (!api)
        return ig_err(eb, IG_ENOMEM, "out of memory");
    memset(api, 0, sizeof *api);
    api->overflow = ig_malloc(sizeof *api->overflow);
    if (!api->overflow) {
        ig_free(api);
        return ig_err(eb, IG_ENOMEM, "out of memory");
    }
    memset(api->overflow, 0, sizeof *api->overflow);
    api->overflow->tokens = -1;
    pthread_mutex_init(&api->mu, NULL);
    ig_map_init(&api->adm, 0);
    api->cfg = cfg;
    api->topts.auth_enabled = cfg->auth.enabled;
    api->topts.default_tenant = cfg->auth.default_tenant;
    api->topts.allow_multi = cfg->auth.multi_tenant_queries;
    int rc = ig_store_open_fs(cfg->storage.path, &api->store, eb);
    if (rc) {
        lq_loki_api_free(api);
        return rc;
    }
    *out = api;
    return 0;
}

int lq_loki_api_register(lq_loki_api *api, ig_http_server *s)
{
    int rc = 0;
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/query_range", h_query_range, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/query", h_query_instant, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/labels", h_labels, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/series", h_series, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/format_query", h_format_query, api);
    rc |= ig_http_route(s, "GET", "/loki/api/v1/status/buildinfo", h_buildinfo, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/index/stats", h_index_stats, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/index/volume", h_volume, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/index/volume_range", h_volume_range, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/detected_labels", h_detected_labels, api);
    rc |= ig_http_route(s, "GET|POST", "/loki/api/v1/detected_fields", h_detected_fields, api);
    rc |= ig_http_route(s, "GET", "/loki/api/v1/tail", h_tail, api);
    rc |= ig_http_route(s, "*", "/loki/api/v1/*", h_api, api);
    return rc ? IG_ENOMEM : 0;
}

void lq_loki_api_free(lq_loki_api *api)
{
    if (!api)
        return;
    if (api->store)
        ig_store_close(api->store);
    size_t it = 0;
    ig_map_entry *e;
    while ((e = ig_map_next(&api->adm, &it)))
        ig_free(e->value);
    ig_map_free(&api->adm);
    ig_free(api->overflow);
    pthread_mutex_destroy(&api->mu);
    ig_free(api);
}
