/* Per-tenant limits: one key table, defaults, overrides file, reload thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "icegate/alloc.h"
#include "icegate/config.h"
#include "icegate/limits.h"
#include "icegate/log.h"
#include "icegate/map.h"
#include "icegate/tenant.h"
#include "icegate/time.h"

/* Caps on what an overrides file may make us hold. */
#define OVERRIDES_MAX_FILE_BYTES ((size_t)64 << 20)
#define OVERRIDES_MAX_TENANTS 1000000

typedef enum { L_MIB_RATE, L_BYTES, L_INT, L_DURATION, L_FLOAT } ltype;

typedef struct limit_desc {
    const char *key;   /* canonical name (Loki's where Loki has the limit) */
    const char *alias; /* another accepted name, or NULL */
    ltype type;
    size_t off;
    const char *def;
    int64_t min, max; /* L_INT, L_BYTES, L_DURATION */
    const char *drilldown; /* JSON name in Loki's drilldown-limits, or NULL */
} limit_desc;

#define LOFF(f) offsetof(ig_tenant_limits, f)
#define TB (1LL << 40)
#define DAY (86400LL * IG_NS_PER_S)

static const limit_desc LIMITS[] = {
    {"ingestion_rate_mb", "ingestion_rate_bytes", L_MIB_RATE, LOFF(ingestion_rate_bytes), "16", 0,
     TB, NULL},
    {"ingestion_burst_size_mb", "ingestion_burst_size_bytes", L_MIB_RATE,
     LOFF(ingestion_burst_bytes), "32", 0, TB, NULL},
    {"max_line_size", NULL, L_BYTES, LOFF(max_line_size), "256KiB", 0, 1LL << 32, NULL},
    {"max_label_names_per_series", NULL, L_INT, LOFF(max_label_names_per_series), "15", 1, 1024,
     NULL},
    {"max_request_size", NULL, L_BYTES, LOFF(max_request_size), "0", 0, 1LL << 32, NULL},
    {"storage_quota_bytes", NULL, L_BYTES, LOFF(storage_quota_bytes), "0", 0, INT64_MAX / 2,
     NULL},
    {"retention_period", NULL, L_DURATION, LOFF(retention_period_ns), "0s", 0, 100 * 366 * DAY,
     "retention_period"},
    {"max_queries_per_second", NULL, L_FLOAT, LOFF(max_queries_per_second), "0", 0, 1000000,
     NULL},
    {"max_concurrent_queries", NULL, L_INT, LOFF(max_concurrent_queries), "0", 0, 100000, NULL},
    {"max_query_parallelism", NULL, L_INT, LOFF(max_query_parallelism), "32", 0, 4096, NULL},
    {"query_timeout", NULL, L_DURATION, LOFF(query_timeout_ns), "1m", IG_NS_PER_S, 7 * DAY,
     "query_timeout"},
    {"max_query_length", NULL, L_DURATION, LOFF(max_query_length_ns), "721h", 0, 100 * 366 * DAY,
     "max_query_length"},
    {"max_entries_limit_per_query", NULL, L_INT, LOFF(max_entries_limit_per_query), "5000", 1,
     100000000, "max_entries_limit_per_query"},
    {"max_query_series", NULL, L_INT, LOFF(max_query_series), "500", 1, 100000000,
     "max_query_series"},
    {"max_concurrent_tail_requests", NULL, L_INT, LOFF(max_concurrent_tail_requests), "10", 0,
     100000, NULL},
};
#define NLIMITS ((int)(sizeof LIMITS / sizeof LIMITS[0]))

int ig_tenant_limits_nkeys(void)
{
    return NLIMITS;
}

const char *ig_tenant_limits_key(int i)
{
    return i >= 0 && i < NLIMITS ? LIMITS[i].key : NULL;
}

static int set_value(ig_tenant_limits *l, const limit_desc *d, const char *v, char *msg,
                     size_t msglen)
{
    char *base = (char *)l + d->off;
    int64_t i64;
    double f;
    char lo[32], hi[32];
    switch (d->type) {
    case L_MIB_RATE:
        /* Loki's MB here are MiB (flagext: ingestion_rate_mb * 1 << 20). */
        if (ig_str_to_f64(ig_str_from(v), &f) || !(f >= 0) || f * 1048576.0 > (double)d->max) {
            snprintf(msg, msglen,
                     "value \"%s\" is not allowed (a number of MiB, from 0 to %" PRId64 ")", v,
                     d->max >> 20);
            return IG_EINVAL;
        }
        *(int64_t *)base = (int64_t)(f * 1048576.0 + 0.5);
        return 0;
    case L_BYTES:
        if (ig_config_parse_bytes(v, &i64) || i64 < d->min || i64 > d->max) {
            snprintf(msg, msglen,
                     "value \"%s\" is not allowed (a size such as 256KiB or 10GB, from %" PRId64
                     " to %" PRId64 " bytes; 0 = no limit)",
                     v, d->min, d->max);
            return IG_EINVAL;
        }
        *(int64_t *)base = i64;
        return 0;
    case L_INT:
        if (ig_str_to_i64(ig_str_from(v), &i64) || i64 < d->min || i64 > d->max) {
            snprintf(msg, msglen,
                     "value \"%s\" is not allowed (an integer %" PRId64 "..%" PRId64 ")", v,
                     d->min, d->max);
            return IG_EINVAL;
        }
        *(int64_t *)base = i64;
        return 0;
    case L_FLOAT:
        if (ig_str_to_f64(ig_str_from(v), &f) || !(f >= (double)d->min) || f > (double)d->max) {
            snprintf(msg, msglen,
                     "value \"%s\" is not allowed (a number from %" PRId64 " to %" PRId64 ")", v,
                     d->min, d->max);
            return IG_EINVAL;
        }
        *(double *)base = f;
        return 0;
    case L_DURATION:
        if (ig_duration_parse(ig_str_from(v), 0, &i64) || i64 < d->min || i64 > d->max) {
            ig_duration_format(d->min, lo, sizeof lo);
            ig_duration_format(d->max, hi, sizeof hi);
            snprintf(msg, msglen,
                     "value \"%s\" is not allowed (a duration such as 30s, 1h30m or 7d, from %s "
                     "to %s)",
                     v, lo, hi);
            return IG_EINVAL;
        }
        *(int64_t *)base = i64;
        return 0;
    }
    return IG_EINTERNAL;
}

static const limit_desc *find_limit(const char *key)
{
    for (int i = 0; i < NLIMITS; i++)
        if (!strcmp(LIMITS[i].key, key) || (LIMITS[i].alias && !strcmp(LIMITS[i].alias, key)))
            return &LIMITS[i];
    return NULL;
}

/* The alias of the rate keys takes a size ("16MiB"), the canonical name MiB as a number. */
static int set_key(ig_tenant_limits *l, const char *key, const char *v, char *msg, size_t msglen)
{
    const limit_desc *d = find_limit(key);
    if (!d) {
        snprintf(msg, msglen, "unknown limit (every key is listed in docs/multi-tenancy.md)");
        return IG_ENOENT;
    }
    if (d->type == L_MIB_RATE && d->alias && !strcmp(key, d->alias)) {
        limit_desc b = *d;
        b.type = L_BYTES;
        return set_value(l, &b, v, msg, msglen);
    }
    return set_value(l, d, v, msg, msglen);
}

int ig_tenant_limits_set(ig_tenant_limits *l, const char *key, const char *value, char *msg,
                         size_t msglen)
{
    return set_key(l, key, value, msg, msglen);
}

void ig_tenant_limits_defaults(ig_tenant_limits *l)
{
    char msg[256];
    memset(l, 0, sizeof *l);
    for (int i = 0; i < NLIMITS; i++) {
        int rc = set_value(l, &LIMITS[i], LIMITS[i].def, msg, sizeof msg);
        (void)rc;
    }
}

static int format_value(const ig_tenant_limits *l, const limit_desc *d, char *out, size_t n)
{
    const char *base = (const char *)l + d->off;
    switch (d->type) {
    case L_MIB_RATE: {
        double mib = (double)*(const int64_t *)base / 1048576.0;
        return snprintf(out, n, "%.6g", mib);
    }
    case L_BYTES:
    case L_INT: return snprintf(out, n, "%" PRId64, *(const int64_t *)base);
    case L_FLOAT: return snprintf(out, n, "%.6g", *(const double *)base);
    case L_DURATION: {
        ig_duration_format(*(const int64_t *)base, out, n);
        return 0;
    }
    }
    return 0;
}

int ig_tenant_limits_yaml(const ig_tenant_limits *l, int indent, ig_buf *out)
{
    char v[64];
    for (int i = 0; i < NLIMITS; i++) {
        format_value(l, &LIMITS[i], v, sizeof v);
        int rc = ig_buf_printf(out, "%*s%s: %s\n", indent, "", LIMITS[i].key, v);
        if (rc)
            return rc;
    }
    return 0;
}

int ig_tenant_limits_json(const ig_tenant_limits *l, ig_buf *out)
{
    char v[64];
    int first = 1;
    for (int i = 0; i < NLIMITS; i++) {
        const limit_desc *d = &LIMITS[i];
        if (!d->drilldown)
            continue;
        format_value(l, d, v, sizeof v);
        int rc;
        if (d->type == L_DURATION) /* Loki publishes durations as strings ("1m", "0s") */
            rc = ig_buf_printf(out, "%s\"%s\":\"%s\"", first ? "" : ",", d->drilldown, v);
        else
            rc = ig_buf_printf(out, "%s\"%s\":%s", first ? "" : ",", d->drilldown, v);
        if (rc)
            return rc;
        first = 0;
    }
    return 0;
}

/* ---- snapshots and reload ---- */

typedef struct snapshot {
    ig_map tenants; /* tenant -> ig_tenant_limits* (owned) */
} snapshot;

struct ig_limits {
    ig_tenant_limits defaults;
    char *file;
    int64_t period_ns;
    pthread_rwlock_t rw;
    snapshot *cur; /* under rw */
    uint64_t last_hash; /* content hash of the last attempt (applied or not) */
    bool have_hash;
    int last_rc;        /* outcome of that attempt */
    char last_msg[sizeof(ig_errbuf)];
    _Atomic uint64_t generation;
    pthread_mutex_t reload_mu; /* one reload at a time */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stop;
};

static void snapshot_free(snapshot *s)
{
    if (!s)
        return;
    size_t i = 0;
    ig_map_entry *e;
    while ((e = ig_map_next(&s->tenants, &i)))
        ig_free(e->value);
    ig_map_free(&s->tenants);
    ig_free(s);
}

static int read_file(const char *path, ig_buf *out, ig_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ig_err(eb, IG_ENOENT, "limits: overrides file %s: cannot open: %s", path,
                      strerror(errno));
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = ig_buf_append(out, chunk, n)))
            break;
    if (!rc && ferror(f))
        rc = IG_EIO;
    fclose(f);
    if (rc == IG_ETOOBIG)
        return ig_err(eb, rc, "limits: overrides file %s: larger than %zu bytes", path,
                      OVERRIDES_MAX_FILE_BYTES);
    if (rc)
        return ig_err(eb, rc, "limits: overrides file %s: cannot read: %s", path, ig_strerror(rc));
    return 0;
}

static const char *node_kind(const yaml_node_t *n)
{
    return n->type == YAML_SEQUENCE_NODE  ? "a list"
           : n->type == YAML_MAPPING_NODE ? "a mapping"
                                          : "a single value";
}

/* Parses the overrides document into a new snapshot. */
static int parse_overrides(const ig_limits *l, ig_str text, snapshot **out, ig_errbuf *eb)
{
    const char *path = l->file;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return IG_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text.ptr, text.len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = ig_err(eb, IG_EINVAL, "limits: overrides file %s line %zu: %s", path,
                        parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        return rc;
    }
    snapshot *s = ig_calloc(1, sizeof *s);
    int rc = 0;
    if (!s) {
        rc = IG_ENOMEM;
        goto done;
    }
    ig_map_init(&s->tenants, OVERRIDES_MAX_TENANTS);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
        goto done; /* empty file: no overrides */
    if (root->type != YAML_MAPPING_NODE) {
        rc = ig_err(eb, IG_EINVAL, "limits: overrides file %s: the top level must be a mapping "
                                   "with the key overrides",
                    path);
        goto done;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&doc, p->value);
        if (!k || k->type != YAML_SCALAR_NODE || strcmp((char *)k->data.scalar.value, "overrides")) {
            rc = ig_err(eb, IG_EINVAL, "limits: overrides file %s: %.64s: unknown key (only "
                                       "overrides)",
                        path, k && k->type == YAML_SCALAR_NODE ? (char *)k->data.scalar.value
                                                               : "(non-scalar key)");
            goto done;
        }
        if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0)
            continue; /* "overrides:" with nothing under it */
        if (v->type != YAML_MAPPING_NODE) {
            rc = ig_err(eb, IG_EINVAL,
                        "limits: overrides file %s: overrides: expected a mapping of tenants, "
                        "not %s",
                        path, node_kind(v));
            goto done;
        }
        for (yaml_node_pair_t *tp = v->data.mapping.pairs.start; tp < v->data.mapping.pairs.top;
             tp++) {
            yaml_node_t *tk = yaml_document_get_node(&doc, tp->key);
            yaml_node_t *tv = yaml_document_get_node(&doc, tp->value);
            if (!tk || tk->type != YAML_SCALAR_NODE) {
                rc = ig_err(eb, IG_EINVAL, "limits: overrides file %s: overrides: tenant names "
                                           "must be plain strings",
                            path);
                goto done;
            }
            ig_str tname = ig_str_make(tk->data.scalar.value, tk->data.scalar.length);
            char tmsg[200];
            const char *bad = ig_tenant_check(tname, "tenant ID", tmsg, sizeof tmsg);
            if (bad) {
                rc = ig_err(eb, IG_EINVAL, "limits: overrides file %s: overrides.%.64s: %s", path,
                            (char *)tk->data.scalar.value, bad);
                goto done;
            }
            if (ig_map_get(&s->tenants, tname)) {
                rc = ig_err(eb, IG_EINVAL, "limits: overrides file %s: overrides.%s: tenant "
                                           "listed twice",
                            path, (char *)tk->data.scalar.value);
                goto done;
            }
            ig_tenant_limits *tl = ig_malloc(sizeof *tl);
            if (!tl) {
                rc = IG_ENOMEM;
                goto done;
            }
            *tl = l->defaults;
            if ((rc = ig_map_put(&s->tenants, tname, tl, NULL))) {
                ig_free(tl);
                if (rc == IG_ETOOBIG)
                    ig_err(eb, rc, "limits: overrides file %s: more than %d tenants", path,
                           OVERRIDES_MAX_TENANTS);
                goto done;
            }
            if (tv->type == YAML_SCALAR_NODE && tv->data.scalar.length == 0)
                continue; /* tenant with no overrides: the defaults */
            if (tv->type != YAML_MAPPING_NODE) {
                rc = ig_err(eb, IG_EINVAL,
                            "limits: overrides file %s: overrides.%s: expected a mapping of "
                            "limits, not %s",
                            path, (char *)tk->data.scalar.value, node_kind(tv));
                goto done;
            }
            for (yaml_node_pair_t *lp = tv->data.mapping.pairs.start;
                 lp < tv->data.mapping.pairs.top; lp++) {
                yaml_node_t *lk = yaml_document_get_node(&doc, lp->key);
                yaml_node_t *lv = yaml_document_get_node(&doc, lp->value);
                if (!lk || lk->type != YAML_SCALAR_NODE) {
                    rc = ig_err(eb, IG_EINVAL,
                                "limits: overrides file %s: overrides.%s: limit names must be "
                                "plain strings",
                                path, (char *)tk->data.scalar.value);
                    goto done;
                }
                const char *lname = (const char *)lk->data.scalar.value;
                if (lv->type != YAML_SCALAR_NODE) {
                    rc = ig_err(eb, IG_EINVAL,
                                "limits: overrides file %s: overrides.%s.%.64s: expected a "
                                "single value, not %s",
                                path, (char *)tk->data.scalar.value, lname, node_kind(lv));
                    goto done;
                }
                char msg[200];
                int src = set_key(tl, lname, (const char *)lv->data.scalar.value, msg, sizeof msg);
                if (src) {
                    rc = ig_err(eb, IG_EINVAL, "limits: overrides file %s: overrides.%s.%.64s: %s",
                                path, (char *)tk->data.scalar.value, lname, msg);
                    goto done;
                }
            }
        }
    }
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc) {
        snapshot_free(s);
        /* Messages quote the file: keep them on one line. */
        if (eb)
            for (char *c = eb->msg; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = ' ';
        return rc;
    }
    *out = s;
    return 0;
}

static void swap_in(ig_limits *l, snapshot *s)
{
    pthread_rwlock_wrlock(&l->rw);
    snapshot *old = l->cur;
    l->cur = s;
    pthread_rwlock_unlock(&l->rw);
    snapshot_free(old);
    atomic_fetch_add(&l->generation, 1);
}

int ig_limits_reload(ig_limits *l, ig_errbuf *eb)
{
    if (!l->file)
        return 0;
    pthread_mutex_lock(&l->reload_mu);
    ig_errbuf local = {{0}};
    if (!eb)
        eb = &local;
    ig_buf text;
    ig_buf_init(&text, OVERRIDES_MAX_FILE_BYTES);
    int rc = read_file(l->file, &text, eb);
    /* Hash of the content, or of the error when the file cannot be read, so that one
     * problem is logged once and not every period. */
    uint64_t h = rc ? ig_hash64(eb->msg, strlen(eb->msg)) ^ 0x9e3779b97f4a7c15ULL
                    : ig_hash64(text.data ? text.data : "", text.len);
    if (l->have_hash && h == l->last_hash) {
        /* Same content (or same read error) as last time: same outcome, not logged again. */
        rc = l->last_rc;
        if (rc)
            snprintf(eb->msg, sizeof eb->msg, "%s", l->last_msg);
        pthread_mutex_unlock(&l->reload_mu);
        ig_buf_free(&text);
        return rc;
    }
    l->last_hash = h;
    l->have_hash = true;
    snapshot *s = NULL;
    if (!rc)
        rc = parse_overrides(l, text.data ? ig_buf_str(&text) : IG_STR(""), &s, eb);
    ig_buf_free(&text);
    if (rc) {
        if (!eb->msg[0])
            ig_err(eb, rc, "limits: overrides file %s: %s", l->file, ig_strerror(rc));
        snprintf(l->last_msg, sizeof l->last_msg, "%s", eb->msg);
        if (atomic_load(&l->generation) > 0)
            ig_log(IG_LOG_ERROR, "overrides file rejected, previous limits kept", "file",
                   l->file, "error", eb->msg, NULL);
    } else {
        char n[32];
        snprintf(n, sizeof n, "%zu", s->tenants.count);
        swap_in(l, s);
        ig_log(IG_LOG_INFO, "overrides file loaded", "file", l->file, "tenants", n, NULL);
    }
    l->last_rc = rc;
    pthread_mutex_unlock(&l->reload_mu);
    return rc;
}

static void *reload_thread(void *arg)
{
    ig_limits *l = arg;
    pthread_mutex_lock(&l->stop_mu);
    while (!l->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + l->period_ns % IG_NS_PER_S;
        ts.tv_sec += (time_t)(l->period_ns / IG_NS_PER_S) + (time_t)(ns / IG_NS_PER_S);
        ts.tv_nsec = (long)(ns % IG_NS_PER_S);
        while (!l->stop && pthread_cond_timedwait(&l->stop_cv, &l->stop_mu, &ts) == 0) {
        }
        if (l->stop)
            break;
        pthread_mutex_unlock(&l->stop_mu);
        ig_limits_reload(l, NULL);
        pthread_mutex_lock(&l->stop_mu);
    }
    pthread_mutex_unlock(&l->stop_mu);
    return NULL;
}

int ig_limits_open(const ig_limits_opts *o, ig_limits **out, ig_errbuf *eb)
{
    *out = NULL;
    ig_limits *l = ig_calloc(1, sizeof *l);
    if (!l)
        return IG_ENOMEM;
    l->defaults = o->defaults;
    l->period_ns = o->overrides_period_ns > 0 ? o->overrides_period_ns : 10 * IG_NS_PER_S;
    pthread_rwlock_init(&l->rw, NULL);
    pthread_mutex_init(&l->reload_mu, NULL);
    pthread_mutex_init(&l->stop_mu, NULL);
    pthread_cond_init(&l->stop_cv, NULL);
    if (o->overrides_file && o->overrides_file[0]) {
        l->file = ig_strdup(o->overrides_file);
        if (!l->file) {
            ig_limits_close(l);
            return IG_ENOMEM;
        }
        int rc = ig_limits_reload(l, eb);
        if (rc) {
            ig_limits_close(l);
            return rc;
        }
        if (o->start_thread) {
            if (pthread_create(&l->thread, NULL, reload_thread, l) != 0) {
                ig_limits_close(l);
                return ig_err(eb, IG_ENOMEM, "limits: cannot start the overrides reload thread");
            }
            l->thread_started = true;
        }
    } else {
        atomic_store(&l->generation, 1);
    }
    *out = l;
    return 0;
}

void ig_limits_close(ig_limits *l)
{
    if (!l)
        return;
    if (l->thread_started) {
        pthread_mutex_lock(&l->stop_mu);
        l->stop = true;
        pthread_cond_broadcast(&l->stop_cv);
        pthread_mutex_unlock(&l->stop_mu);
        pthread_join(l->thread, NULL);
    }
    snapshot_free(l->cur);
    ig_free(l->file);
    pthread_rwlock_destroy(&l->rw);
    pthread_mutex_destroy(&l->reload_mu);
    pthread_mutex_destroy(&l->stop_mu);
    pthread_cond_destroy(&l->stop_cv);
    ig_free(l);
}

void ig_limits_get(ig_limits *l, ig_str tenant, ig_tenant_limits *out)
{
    if (!l) {
        ig_tenant_limits_defaults(out);
        return;
    }
    pthread_rwlock_rdlock(&l->rw);
    const ig_tenant_limits *t = l->cur ? ig_map_get(&l->cur->tenants, tenant) : NULL;
    *out = t ? *t : l->defaults;
    pthread_rwlock_unlock(&l->rw);
}

static int64_t min_nonzero(int64_t a, int64_t b)
{
    if (a <= 0)
        return b;
    if (b <= 0)
        return a;
    return a < b ? a : b;
}

void ig_limits_get_combined(ig_limits *l, const ig_str *tenants, int n, ig_tenant_limits *out)
{
    ig_limits_get(l, tenants[0], out);
    for (int i = 1; i < n; i++) {
        ig_tenant_limits t;
        ig_limits_get(l, tenants[i], &t);
        out->max_query_length_ns = min_nonzero(out->max_query_length_ns, t.max_query_length_ns);
        out->max_query_parallelism =
            min_nonzero(out->max_query_parallelism, t.max_query_parallelism);
        out->max_entries_limit_per_query =
            min_nonzero(out->max_entries_limit_per_query, t.max_entries_limit_per_query);
        out->max_query_series = min_nonzero(out->max_query_series, t.max_query_series);
        out->max_concurrent_queries =
            min_nonzero(out->max_concurrent_queries, t.max_concurrent_queries);
        if (t.max_queries_per_second > 0 &&
            (out->max_queries_per_second <= 0 ||
             t.max_queries_per_second < out->max_queries_per_second))
            out->max_queries_per_second = t.max_queries_per_second;
        if (t.query_timeout_ns > out->query_timeout_ns)
            out->query_timeout_ns = t.query_timeout_ns;
    }
}

uint64_t ig_limits_generation(ig_limits *l)
{
    return atomic_load(&l->generation);
}

static _Atomic(ig_limits *) g_process;

void ig_limits_set_process(ig_limits *l)
{
    atomic_store(&g_process, l);
}

ig_limits *ig_limits_process(void)
{
    return atomic_load(&g_process);
}
