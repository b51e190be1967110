/* The maintain role (include/icegate/maintain.h, docs/iceberg.md "The maintain role"):
 * the job runner shared by `icegate maintain JOB`, the scheduler thread and
 * POST /maintain/run; the leader lease; GET /status. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/http.h"
#include "icegate/limits.h"
#include "icegate/log.h"
#include "icegate/maintain.h"
#include "icegate/maintain_jobs.h"
#include "icegate/metrics.h"
#include "icegate/time.h"
#include "icegate/version.h"

#define LEASE_NAME "maintain"

/* ---- lease ------------------------------------------------------------------------- */

int ig_lease_acquire(catalog *cat, const char *name, const char *holder, int64_t ttl_ms,
                     ig_errbuf *eb)
{
    ig_buf who;
    ig_buf_init(&who, 512);
    int rc = catalog_lease(cat, name, holder, ig_now_ns() / IG_NS_PER_MS, ttl_ms, &who, eb);
    if (rc == IG_EAGAIN)
        rc = ig_err(eb, IG_EAGAIN, "lease %s is held by %s", name, who.data ? who.data : "?");
    ig_buf_free(&who);
    return rc;
}

int ig_lease_release(catalog *cat, const char *name, const char *holder, ig_errbuf *eb)
{
    return catalog_lease(cat, name, holder, ig_now_ns() / IG_NS_PER_MS, -1, NULL, eb);
}

/* ---- jobs -------------------------------------------------------------------------- */

static const char *const JOB_NAMES[IG_JOB_COUNT_] = {"shift", "compact", "retention",
                                                     "expire-snapshots", "remove-orphans"};

const char *ig_maint_job_name(ig_maint_job j)
{
    return (unsigned)j < IG_JOB_COUNT_ ? JOB_NAMES[j] : "?";
}

int ig_maint_job_by_name(ig_str name)
{
    for (int i = 0; i < IG_JOB_COUNT_; i++)
        if (ig_str_eq_cstr(name, JOB_NAMES[i]))
            return i;
    return -1;
}

const char *ig_maint_job_names(void)
{
    return "shift, compact, retention, expire-snapshots, remove-orphans";
}

static pthread_mutex_t g_run_mu = PTHREAD_MUTEX_INITIALIZER;

static void job_metrics(ig_maint_job j, const ig_maint_outcome *o);

/* Retention period of a tenant: the process's per-tenant limits when `icegate run` set
 * them, else the config file's default (limits.retention_period). */
static int64_t retention_period_us(void *ctx, ig_str tenant)
{
    const ig_config *cfg = ctx;
    ig_limits *l = ig_limits_process();
    if (l) {
        ig_tenant_limits tl;
        ig_limits_get(l, tenant, &tl);
        return tl.retention_period_ns / IG_NS_PER_US;
    }
    return cfg->limits.defaults.retention_period_ns / IG_NS_PER_US;
}

/* Runs one of maintain_jobs.h's jobs over the four tables, adding up the results. */
static int run_mj(catalog *cat, ig_store *store, const ig_config *cfg, ig_maint_job j,
                  const ig_maint_run_opts *ro, ig_maint_outcome *out, ig_errbuf *eb)
{
    int rc = 0;
    size_t norph = 0;
    if (j == IG_JOB_ORPHANS && ro->orphans)
        rc = ig_buf_putc(ro->orphans, '[');
    for (int t = 0; rc == 0 && t < IG_TABLE_COUNT_; t++) {
        ig_mj_result r = {0};
        switch (j) {
        case IG_JOB_COMPACT: {
            ig_mj_compact_opts o;
            ig_mj_compact_opts_from_config(cfg, &o);
            rc = ig_mj_compact(cat, store, (ig_table_id)t, &o, &r, eb);
            break;
        }
        case IG_JOB_RETENTION: {
            ig_mj_retention_opts o = {0};
            o.period = retention_period_us;
            o.ctx = (void *)cfg;
            rc = ig_mj_retention(cat, store, (ig_table_id)t, &o, &r, eb);
            break;
        }
        case IG_JOB_EXPIRE: {
            ig_mj_expire_opts o;
            ig_mj_expire_opts_from_config(cfg, &o);
            rc = ig_mj_expire_snapshots(cat, store, (ig_table_id)t, &o, &r, eb);
            break;
        }
        case IG_JOB_ORPHANS: {
            ig_mj_orphan_opts o;
            ig_mj_orphan_opts_from_config(cfg, &o);
            o.dry_run = ro->dry_run;
            ig_mj_orphans found = {0};
            rc = ig_mj_remove_orphans(cat, store, (ig_table_id)t, &o, &found, &r, eb);
            for (size_t i = 0; rc == 0 && i < found.n; i++) {
                if (ro->orphans) {
                    int brc = norph ? ig_buf_putc(ro->orphans, ',') : 0;
                    brc = brc ? brc : ig_buf_json_str(ro->orphans, ig_str_from(found.keys[i]));
                    if (brc)
                        rc = ig_err(eb, brc, "remove-orphans: the orphan list is too long");
                }
                norph++;
            }
            if (ro->dry_run)
                out->files += found.n;
            ig_mj_orphans_free(&found);
            break;
        }
        default: rc = IG_EINTERNAL; break;
        }
        if (!(j == IG_JOB_ORPHANS && ro->dry_run))
            out->files += r.files_added + r.files_removed + r.objects_deleted;
        out->rows += r.rows_rewritten + r.rows_removed;
        out->commits += r.commits;
        if (rc && eb && !strstr(eb->msg, ig_table_name((ig_table_id)t))) {
            char m[sizeof eb->msg];
            snprintf(m, sizeof m, "%s", eb->msg);
            ig_err(eb, rc, "table %s: %s", ig_table_name((ig_table_id)t), m);
        }
    }
    if (rc == 0 && j == IG_JOB_ORPHANS && ro->orphans)
        rc = ig_buf_putc(ro->orphans, ']');
    return rc;
}

int ig_maint_run_job(catalog *cat, ig_store *store, const ig_config *cfg, ig_maint_job j,
                     const ig_maint_run_opts *ro, ig_maint_outcome *out)
{
    static const ig_maint_run_opts dflt = {0};
    if (!ro)
        ro = &dflt;
    memset(out, 0, sizeof *out);
    out->dry_run = j == IG_JOB_ORPHANS && ro->dry_run;
    out->start_ns = ig_now_ns();
    int64_t t0 = ig_mono_ns();
    ig_errbuf eb = {{0}};
    int rc;
    pthread_mutex_lock(&g_run_mu);
    switch (j) {
    case IG_JOB_SHIFT: {
        ig_shift_opts o;
        ig_shift_opts_from_config(cfg, &o);
        rc = ig_shift_run(cat, store, &o, &out->shift, &eb);
        out->files = out->shift.files;
        out->rows = out->shift.rows;
        out->commits = out->shift.commits;
        break;
    }
    case IG_JOB_COMPACT:
    case IG_JOB_RETENTION:
    case IG_JOB_EXPIRE:
    case IG_JOB_ORPHANS: rc = run_mj(cat, store, cfg, j, ro, out, &eb); break;
    default:
        rc = ig_err(&eb, IG_EUNSUPPORTED, "maintenance job %s is not implemented yet",
                    ig_maint_job_name(j));
        break;
    }
    pthread_mutex_unlock(&g_run_mu);
    out->rc = rc;
    out->duration_ns = ig_mono_ns() - t0;
    if (rc)
        snprintf(out->error, sizeof out->error, "%s", eb.msg[0] ? eb.msg : ig_strerror(rc));
    job_metrics(j, out);
    return rc;
}

static const double JOB_BUCKETS[] = {0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800};

/* Prometheus series of a finished run (on /metrics of every listener). */
static void job_metrics(ig_maint_job j, const ig_maint_outcome *o)
{
    char labels[96];
    const char *oc = o->rc == 0 ? "ok" : o->rc == IG_EUNSUPPORTED ? "not_implemented" : "error";
    snprintf(labels, sizeof labels, "job=\"%s\",outcome=\"%s\"", ig_maint_job_name(j), oc);
    ig_metric_add(ig_counter("icegate_maintain_runs_total", "Maintenance job runs, by outcome.",
                             labels),
                  1);
    snprintf(labels, sizeof labels, "job=\"%s\"", ig_maint_job_name(j));
    ig_metric_observe(ig_histogram("icegate_maintain_run_duration_seconds",
                                   "Duration of maintenance job runs.", labels, JOB_BUCKETS,
                                   (int)(sizeof JOB_BUCKETS / sizeof JOB_BUCKETS[0])),
                      (double)o->duration_ns / 1e9);
    if (o->rc == 0)
        ig_metric_set(ig_gauge("icegate_maintain_last_success_timestamp_seconds",
                               "End of the last successful run of a job (Unix seconds).", labels),
                      (double)(o->start_ns + o->duration_ns) / 1e9);
    if (j != IG_JOB_SHIFT)
        return;
    ig_metric_add(ig_counter("icegate_shift_rows_total", "Rows moved from the WAL into Iceberg.",
                             NULL),
                  (double)o->shift.rows);
    ig_metric_add(ig_counter("icegate_shift_segments_total",
                             "WAL segments moved into Iceberg.", NULL),
                  (double)o->shift.segments);
    ig_metric_add(ig_counter("icegate_shift_files_total", "Data files written by shift.", NULL),
                  (double)o->shift.files);
    ig_metric_add(ig_counter("icegate_shift_bytes_total", "Data file bytes written by shift.",
                             NULL),
                  (double)o->shift.bytes);
    ig_metric_add(ig_counter("icegate_shift_conflicts_total",
                             "Shift commits that lost the compare-and-swap and were retried.",
                             NULL),
                  (double)o->shift.conflicts);
    ig_metric_add(ig_counter("icegate_wal_segments_deleted_total",
                             "WAL segments deleted after their grace period.", NULL),
                  (double)o->shift.wal_deleted);
}

static const char *outcome_word(const ig_maint_outcome *o)
{
    return o->rc == 0 ? "ok" : o->rc == IG_EUNSUPPORTED ? "not implemented" : "error";
}

int ig_maint_outcome_json(ig_maint_job j, const ig_maint_outcome *o, ig_buf *out)
{
    char ts[40];
    ig_time_format_rfc3339(o->start_ns, 3, ts, sizeof ts);
    int rc = ig_buf_printf(out,
                           "{\"job\":\"%s\",\"outcome\":\"%s\",\"start\":\"%s\","
                           "\"duration_seconds\":%.3f,\"files\":%llu,\"rows\":%llu,"
                           "\"commits\":%llu",
                           ig_maint_job_name(j), outcome_word(o), ts,
                           (double)o->duration_ns / 1e9, (unsigned long long)o->files,
                           (unsigned long long)o->rows, (unsigned long long)o->commits);
    if (rc == 0 && o->dry_run)
        rc = ig_buf_append_cstr(out, ",\"dry_run\":true");
    if (rc == 0 && j == IG_JOB_SHIFT)
        rc = ig_buf_printf(out,
                           ",\"segments\":%llu,\"bytes\":%llu,\"conflicts\":%llu,"
                           "\"wal_deleted\":%llu",
                           (unsigned long long)o->shift.segments,
                           (unsigned long long)o->shift.bytes,
                           (unsigned long long)o->shift.conflicts,
                           (unsigned long long)o->shift.wal_deleted);
    if (rc == 0)
        rc = ig_buf_append_cstr(out, ",\"error\":");
    if (rc == 0)
        rc = o->rc ? ig_buf_json_str(out, ig_str_from(o->error)) : ig_buf_append_cstr(out, "null");
    return rc ? rc : ig_buf_putc(out, '}');
}

/* ---- the role ---------------------------------------------------------------------- */

struct ig_maint {
    const ig_config *cfg;
    ig_store *store;
    catalog *cat;
    char holder[128];
    int64_t lease_ttl_ms;
    pthread_t thr;
    bool thr_started;
    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cv;
    bool stop;
    bool leader;
    char other[160]; /* holder of the lease when it is not us */
    ig_maint_outcome last[IG_JOB_COUNT_];
    uint64_t runs[IG_JOB_COUNT_];
    bool running[IG_JOB_COUNT_];
};

/* Takes or renews the lease; records who has it. 0 when we lead. */
static int maint_lease(ig_maint *m, ig_errbuf *eb)
{
    ig_buf who;
    ig_buf_init(&who, 512);
    int rc = catalog_lease(m->cat, LEASE_NAME, m->holder, ig_now_ns() / IG_NS_PER_MS,
                           m->lease_ttl_ms, &who, eb);
    ig_metric_set(ig_gauge("icegate_maintain_leader",
                           "1 while this process holds the maintain leader lease.", NULL),
                  rc == 0 ? 1 : 0);
    pthread_mutex_lock(&m->mu);
    bool was = m->leader;
    m->leader = rc == 0;
    snprintf(m->other, sizeof m->other, "%s", rc == IG_EAGAIN && who.data ? who.data : "");
    pthread_mutex_unlock(&m->mu);
    if (rc == 0 && !was)
        ig_log(IG_LOG_INFO, "maintain: leader lease taken", "holder", m->holder, NULL);
    if (rc == IG_EAGAIN)
        rc = ig_err(eb, IG_EAGAIN, "another maintain process holds the lease: %s",
                    who.data ? who.data : "?");
    ig_buf_free(&who);
    return rc;
}

static void maint_run(ig_maint *m, ig_maint_job j, const ig_maint_run_opts *ro,
                      ig_maint_outcome *o)
{
    pthread_mutex_lock(&m->mu);
    m->running[j] = true;
    pthread_mutex_unlock(&m->mu);
    ig_maint_run_job(m->cat, m->store, m->cfg, j, ro, o);
    pthread_mutex_lock(&m->mu);
    m->running[j] = false;
    m->last[j] = *o;
    m->runs[j]++;
    pthread_mutex_unlock(&m->mu);
    char dur[32], files[24], rows[24];
    snprintf(dur, sizeof dur, "%.3f", (double)o->duration_ns / 1e9);
    snprintf(files, sizeof files, "%llu", (unsigned long long)o->files);
    snprintf(rows, sizeof rows, "%llu", (unsigned long long)o->rows);
    if (o->rc && o->rc != IG_EUNSUPPORTED)
        ig_log(IG_LOG_ERROR, "maintain job failed", "job", ig_maint_job_name(j), "error", o->error,
               "duration_seconds", dur, NULL);
    else if (o->rc == 0 && (o->files || o->commits))
        ig_log(IG_LOG_INFO, "maintain job done", "job", ig_maint_job_name(j), "files", files,
               "rows", rows, "duration_seconds", dur, NULL);
}

/* Schedule of a job (0: not scheduled): shift, compact and retention have intervals;
 * expire-snapshots and remove-orphans run on request only. */
static int64_t job_interval(const ig_config *cfg, int j)
{
    switch (j) {
    case IG_JOB_SHIFT: return cfg->maintain.shift_interval_ns;
    case IG_JOB_COMPACT: return cfg->maintain.compact_interval_ns;
    case IG_JOB_RETENTION: return cfg->maintain.retention_interval_ns;
    default: return 0;
    }
}

static void *scheduler_main(void *arg)
{
    ig_maint *m = arg;
    int64_t next[IG_JOB_COUNT_];
    for (int j = 0; j < IG_JOB_COUNT_; j++)
        next[j] = ig_mono_ns() + job_interval(m->cfg, j);
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        int due = -1;
        for (int j = 0; j < IG_JOB_COUNT_; j++)
            if (job_interval(m->cfg, j) > 0 && (due < 0 || next[j] < next[due]))
                due = j;
        if (due < 0)
            break;
        int64_t now = ig_mono_ns();
        if (now < next[due]) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wake = (int64_t)ts.tv_sec * IG_NS_PER_S + ts.tv_nsec + (next[due] - now);
            ts.tv_sec = wake / IG_NS_PER_S;
            ts.tv_nsec = wake % IG_NS_PER_S;
            pthread_cond_timedwait(&m->cv, &m->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&m->mu);
        ig_errbuf eb = {{0}};
        if (maint_lease(m, &eb) == 0) {
            ig_maint_outcome o;
            maint_run(m, (ig_maint_job)due, NULL, &o);
        }
        next[due] = ig_mono_ns() + job_interval(m->cfg, due);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

int ig_maint_start(const ig_config *cfg, ig_store *store, ig_maint **out, ig_errbuf *eb)
{
    *out = NULL;
    ig_maint *m = ig_calloc(1, sizeof *m);
    if (!m)
        return ig_err(eb, IG_ENOMEM, "maintain: out of memory");
    m->cfg = cfg;
    m->store = store;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    char rnd[37] = "0";
    (void)ice_uuid4(rnd);
    snprintf(m->holder, sizeof m->holder, "%s:%d:%.8s", host, (int)getpid(), rnd);
    /* The lease must outlive the gap between two scheduled runs (which renew it). */
    int64_t ttl = cfg->maintain.lease_ttl_ns / IG_NS_PER_MS;
    int64_t need = 2 * cfg->maintain.shift_interval_ns / IG_NS_PER_MS;
    m->lease_ttl_ms = ttl > need ? ttl : need;
    int rc = catalog_open(cfg, &m->cat, eb);
    if (rc == 0) {
        /* create missing tables; quiet unless something changed */
        char text[4096] = {0};
        FILE *mf = fmemopen(text, sizeof text - 1, "w");
        int changes = 0;
        rc = mf ? ig_migrate(m->cat, store, mf, &changes, eb)
                : ig_err(eb, IG_ENOMEM, "maintain: out of memory");
        if (mf)
            fclose(mf);
        if (rc == 0 && changes)
            ig_log(IG_LOG_INFO, "maintain: created missing tables", "changes", text, NULL);
        if (rc == IG_EUNSUPPORTED) {
            ig_log(IG_LOG_WARN, "maintain: a table's schema is older than this version",
                   "error", eb->msg, NULL);
            rc = 0; /* shift refuses such tables itself, with a message */
        }
    }
    bool scheduled = false;
    for (int j = 0; j < IG_JOB_COUNT_; j++)
        scheduled |= job_interval(cfg, j) > 0;
    if (rc == 0 && scheduled) {
        if (pthread_create(&m->thr, NULL, scheduler_main, m) != 0)
            rc = ig_err(eb, IG_ENOMEM, "maintain: cannot start the scheduler thread");
        else
            m->thr_started = true;
    }
    if (rc) {
        ig_maint_stop(m);
        return rc;
    }
    *out = m;
    return 0;
}

void ig_maint_stop(ig_maint *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (m->thr_started)
        pthread_join(m->thr, NULL);
    if (m->cat) {
        if (m->leader)
            (void)ig_lease_release(m->cat, LEASE_NAME, m->holder, NULL);
        catalog_close(m->cat);
    }
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    ig_free(m);
}

/* ---- HTTP -------------------------------------------------------------------------- */

static int json_resp(ig_http_resp *resp, int status)
{
    resp->status = status;
    return ig_http_resp_header(resp, "Content-Type", "application/json");
}

static int h_run(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    ig_maint *m = ud;
    ig_str job = {0};
    if (!ig_http_param(req, "job", &job) || job.len == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "missing parameter job (one of: %s)", ig_maint_job_names());
        return ig_http_resp_json_error(resp, 400, "bad_data", msg);
    }
    int j = ig_maint_job_by_name(job);
    if (j < 0) {
        char msg[384];
        snprintf(msg, sizeof msg, "unknown job \"%.*s\": valid jobs are %s",
                 (int)(job.len > 64 ? 64 : job.len), job.ptr, ig_maint_job_names());
        return ig_http_resp_json_error(resp, 400, "bad_data", msg);
    }
    ig_str dr = {0};
    bool dry_run = false;
    if (ig_http_param(req, "dry_run", &dr)) {
        /* a typo (dry_run=yes) must not run the deleting job */
        if (ig_str_eq_cstr(dr, "true") || ig_str_eq_cstr(dr, "1"))
            dry_run = true;
        else if (!ig_str_eq_cstr(dr, "false") && !ig_str_eq_cstr(dr, "0")) {
            char msg[160];
            snprintf(msg, sizeof msg, "dry_run \"%.*s\" is not allowed: true, 1, false or 0",
                     (int)(dr.len > 32 ? 32 : dr.len), dr.ptr);
            return ig_http_resp_json_error(resp, 400, "bad_data", msg);
        }
    }
    if (dry_run && j != IG_JOB_ORPHANS)
        return ig_http_resp_json_error(resp, 400, "bad_data",
                                       "dry_run applies to job remove-orphans only");
    ig_errbuf eb = {{0}};
    int rc = maint_lease(m, &eb);
    if (rc == IG_EAGAIN)
        return ig_http_resp_json_error(resp, 409, "conflict", eb.msg);
    if (rc) {
        char msg[300];
        snprintf(msg, sizeof msg, "maintain lease: %s", eb.msg);
        return ig_http_resp_json_error(resp, 503, "unavailable", msg);
    }
    ig_maint_outcome o;
    ig_buf orphans;
    ig_buf_init(&orphans, (size_t)64 << 20);
    ig_maint_run_opts ro = {.dry_run = dry_run, .orphans = &orphans};
    maint_run(m, (ig_maint_job)j, &ro, &o);
    json_resp(resp, o.rc == 0 ? 200 : o.rc == IG_EUNSUPPORTED ? 501 : 500);
    rc = ig_maint_outcome_json((ig_maint_job)j, &o, &resp->body);
    if (rc == 0 && j == IG_JOB_ORPHANS && o.rc == 0 && orphans.len) {
        resp->body.len--; /* reopen the object: ,"orphans":[...]} */
        rc = ig_buf_append_cstr(&resp->body, ",\"orphans\":");
        rc = rc ? rc : ig_buf_append(&resp->body, orphans.data, orphans.len);
        rc = rc ? rc : ig_buf_putc(&resp->body, '}');
    }
    ig_buf_free(&orphans);
    return rc;
}

static int h_status(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    ig_maint *m = ud;
    json_resp(resp, 200);
    ig_buf *b = &resp->body;
    pthread_mutex_lock(&m->mu);
    int rc = ig_buf_printf(b, "{\"version\":\"%s\",\"holder\":", IG_VERSION);
    rc = rc ? rc : ig_buf_json_str(b, ig_str_from(m->holder));
    rc = rc ? rc : ig_buf_printf(b, ",\"leader\":%s,\"lease_holder\":", m->leader ? "true" : "false");
    rc = rc ? rc
            : (m->leader ? ig_buf_json_str(b, ig_str_from(m->holder))
                         : m->other[0] ? ig_buf_json_str(b, ig_str_from(m->other))
                                       : ig_buf_append_cstr(b, "null"));
    rc = rc ? rc : ig_buf_append_cstr(b, ",\"jobs\":{");
    for (int j = 0; rc == 0 && j < IG_JOB_COUNT_; j++) {
        bool impl = true;
        int64_t interval = job_interval(m->cfg, j);
        rc = ig_buf_printf(b, "%s\"%s\":{\"implemented\":%s,\"running\":%s,\"runs\":%llu,"
                              "\"schedule_seconds\":%.3f,\"last_run\":",
                           j ? "," : "", JOB_NAMES[j], impl ? "true" : "false",
                           m->running[j] ? "true" : "false", (unsigned long long)m->runs[j],
                           (double)interval / 1e9);
        if (rc == 0)
            rc = m->runs[j] ? ig_maint_outcome_json((ig_maint_job)j, &m->last[j], b)
                            : ig_buf_append_cstr(b, "null");
        rc = rc ? rc : ig_buf_putc(b, '}');
    }
    pthread_mutex_unlock(&m->mu);
    return rc ? rc : ig_buf_append_cstr(b, "}}");
}

catalog *ig_maint_catalog(ig_maint *m)
{
    return m ? m->cat : NULL;
}

int ig_maint_register_http(ig_maint *m, struct ig_http_server *s)
{
    int rc = ig_http_route(s, "POST", "/maintain/run", h_run, m);
    return rc ? rc : ig_http_route(s, "GET", "/status", h_status, m);
}
