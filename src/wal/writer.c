/* WAL writer: group commit of ingest requests into Parquet segments (docs/wal.md).
 *
 * Threads: any number of appenders (request threads) and one flusher per WAL. Appenders
 * put a request record (on their own stack) on the queue and sleep on `done_cv`; the
 * flusher takes the whole queue when the oldest request has waited flush_interval, or
 * earlier when flush_rows / flush_bytes are reached, writes one segment per table, and
 * only after every put returned wakes the requests with their outcome. All queue state
 * is under `mu`; the flusher's scratch memory is touched by the flusher thread only. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "icegate/alloc.h"
#include "icegate/json.h"
#include "icegate/log.h"
#include "icegate/metrics.h"
#include "icegate/time.h"
#include "icegate/wal.h"
#include "wal/wal_internal.h"

#define DEFAULT_INTERVAL_NS (200 * IG_NS_PER_MS)
#define DEFAULT_FLUSH_ROWS 65536
#define DEFAULT_FLUSH_BYTES ((size_t)64 << 20)
#define DEFAULT_QUEUE_BYTES ((size_t)256 << 20)
#define DEFAULT_RG_ROWS 65536
#define EEXIST_RETRIES 16
#define KEEP_SCRATCH_BYTES ((size_t)64 << 20) /* larger scratch is released after a flush */

typedef struct wal_req {
    const ig_rows *batches;
    size_t n;
    uint64_t rows;
    size_t bytes;
    struct wal_req *next;
    bool done;
    int rc;
    ig_errbuf eb;
    ig_wal_ack ack;
} wal_req;

/* One batch of a table in the flusher's grouping pass. */
typedef struct bref {
    const ig_rows *b;
    ig_str tenant;
    size_t ord; /* arrival order, for a stable grouping */
} bref;

/* A tenant's sorted run inside the row scratch. */
typedef struct tgroup {
    ig_str tenant;
    size_t first, n; /* rows [first, first + n) of the scratch */
} tgroup;

typedef struct rginfo {
    size_t group;
    uint64_t rows;
    int64_t min_ts, max_ts;
} rginfo;

/* Outcome of one table's segment in a flush. */
typedef struct tout {
    bool used;
    int rc;
    ig_errbuf eb;
    uint64_t seq;
    uint64_t rows;
    char key[IG_WAL_KEY_MAX];
} tout;

struct ig_wal {
    ig_store *store;
    char writer[IG_WAL_WRITER_MAX + 1];
    int64_t interval_ns;
    size_t flush_rows, flush_bytes, queue_bytes, rg_rows;
    pq_writer_opts pq;

    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* flusher: work arrived, threshold reached, closing */
    pthread_cond_t done_cv; /* appenders: a flush completed; close: appenders left */
    wal_req *head, *tail;   /* queued, not yet taken by the flusher */
    uint64_t q_rows;        /* rows queued (not taken) */
    size_t q_bytes;         /* bytes queued (not taken) */
    size_t held_bytes;      /* bytes queued or being written (the cap applies to this) */
    int64_t oldest_mono;    /* arrival of the oldest queued request */
    bool closing;
    int appenders; /* appends inside ig_wal_append */
    pthread_t thread;
    bool thread_started;
    ig_wal_stats stats;

    /* flusher-only state */
    uint64_t next_seq[IG_TABLE_COUNT_];
    bref *brefs;
    size_t cap_brefs;
    tgroup *groups;
    size_t cap_groups;
    rginfo *rgs;
    size_t cap_rgs;
    char *rowbuf;
    size_t cap_rowbuf;
    ig_buf file;
    ig_buf json;

    ig_metric *m_flushes_ok, *m_flushes_err, *m_bytes, *m_dur, *m_queue;
    ig_metric *m_rows[IG_TABLE_COUNT_];
};

/* ---- per-table row accessors ------------------------------------------------------ */

size_t wal__row_size(ig_table_id t)
{
    switch (t) {
    case IG_TABLE_SPANS:
        return sizeof(ig_span_row);
    case IG_TABLE_METRICS:
        return sizeof(ig_metric_row);
    default:
        return sizeof(ig_log_row);
    }
}

static inline const ig_row_ident *row_ident(const ig_rows *r, size_t i)
{
    switch (r->table) {
    case IG_TABLE_SPANS:
        return &r->u.spans[i].id;
    case IG_TABLE_METRICS:
        return &r->u.metrics[i].id;
    default:
        return &r->u.logs[i].id;
    }
}

static inline int64_t row_ts(const ig_rows *r, size_t i)
{
    switch (r->table) {
    case IG_TABLE_SPANS:
        return r->u.spans[i].timestamp_us;
    case IG_TABLE_METRICS:
        return r->u.metrics[i].timestamp_us;
    default:
        return r->u.logs[i].timestamp_us;
    }
}

static size_t attrs_bytes(const ig_attrs *a)
{
    size_t n = 0;
    for (uint32_t i = 0; i < a->n; i++)
        n += a->items[i].key.len + a->items[i].value.len + 8;
    return n;
}

static size_t ident_bytes(const ig_row_ident *id)
{
    return id->tenant_id.len + id->account_id.len + id->service_name.len;
}

size_t ig_wal_rows_bytes(const ig_rows *rows)
{
    size_t total = 0;
    for (size_t i = 0; i < rows->n; i++) {
        size_t b = 64;
        switch (rows->table) {
        case IG_TABLE_SPANS: {
            const ig_span_row *r = &rows->u.spans[i];
            b += 64 + ident_bytes(&r->id) + r->trace_state.len + r->name.len +
                 r->status_message.len + r->scope_name.len + r->scope_version.len +
                 attrs_bytes(&r->resource_attributes) + attrs_bytes(&r->scope_attributes) +
                 attrs_bytes(&r->attributes);
            for (uint32_t k = 0; k < r->nevents; k++)
                b += 24 + r->events[k].name.len + attrs_bytes(&r->events[k].attributes);
            for (uint32_t k = 0; k < r->nlinks; k++)
                b += 48 + r->links[k].trace_state.len + attrs_bytes(&r->links[k].attributes);
            break;
        }
        case IG_TABLE_METRICS: {
            const ig_metric_row *r = &rows->u.metrics[i];
            b += 64 + ident_bytes(&r->id) + r->service_instance_id.len + r->metric_name.len +
                 r->metric_type.len + r->description.len + r->unit.len +
                 r->aggregation_temporality.len + r->scope_name.len + r->scope_version.len +
                 8 * ((size_t)r->bucket_counts.n + r->explicit_bounds.n +
                      r->positive_bucket_counts.n + r->negative_bucket_counts.n) +
                 16 * (size_t)r->nquantiles + attrs_bytes(&r->metadata) +
                 attrs_bytes(&r->resource_attributes) + attrs_bytes(&r->scope_attributes) +
                 attrs_bytes(&r->attributes);
            for (uint32_t k = 0; k < r->nexemplars; k++)
                b += 64 + attrs_bytes(&r->exemplars[k].attributes);
            break;
        }
        default: {
            const ig_log_row *r = &rows->u.logs[i];
            b += 48 + ident_bytes(&r->id) + r->severity_text.len + r->body.len + r->event_name.len +
                 r->scope_name.len + r->scope_version.len + r->source.len + r->event_domain.len +
                 attrs_bytes(&r->resource_attributes) + attrs_bytes(&r->scope_attributes) +
                 attrs_bytes(&r->attributes);
            break;
        }
        }
        total += b;
    }
    return total;
}

/* ---- sequence numbers ------------------------------------------------------------- */

/* Highest seq of (writer, table) in the store, 0 when none. */
static int scan_max_seq(ig_store *st, ig_table_id t, const char *writer, uint64_t *max,
                        ig_errbuf *eb)
{
    char prefix[IG_WAL_KEY_MAX];
    snprintf(prefix, sizeof prefix, "wal/%s/%s/", ig_table_name(t), writer);
    *max = 0;
    char *after = NULL;
    int rc = 0;
    for (;;) {
        ig_store_listing l = {0};
        rc = ig_store_list(st, prefix, after, 1000, &l, eb);
        ig_free(after);
        after = NULL;
        if (rc) {
            ig_store_list_free(&l);
            break;
        }
        for (size_t i = 0; i < l.count; i++) {
            ig_table_id kt;
            char w[IG_WAL_WRITER_MAX + 1];
            uint64_t seq;
            if (ig_wal_parse_key(l.entries[i].key, &kt, w, &seq) && kt == t &&
                strcmp(w, writer) == 0 && seq > *max)
                *max = seq;
        }
        if (l.next_start_after) {
            after = l.next_start_after;
            l.next_start_after = NULL;
        }
        ig_store_list_free(&l);
        if (!after)
            break;
    }
    return rc;
}

/* ---- encoding one segment --------------------------------------------------------- */

static int grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    size_t bytes;
    if (ig_size_mul(nc, elem, &bytes))
        return IG_ENOMEM;
    void *q = ig_realloc(*p, bytes);
    if (!q)
        return IG_ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

static int cmp_bref(const void *a, const void *b)
{
    const bref *x = a, *y = b;
    int c = ig_str_cmp(x->tenant, y->tenant);
    if (c)
        return c;
    return (x->ord > y->ord) - (x->ord < y->ord);
}

/* Collects table t's batches of the taken requests, groups them by tenant and builds each
 * tenant's sorted run in the row scratch. Sets *ngroups and *nrows. */
static int build_runs(ig_wal *w, ig_table_id t, wal_req *reqs, size_t *ngroups, uint64_t *nrows)
{
    size_t nb = 0, total = 0;
    *ngroups = 0;
    *nrows = 0;
    for (wal_req *r = reqs; r; r = r->next)
        for (size_t i = 0; i < r->n; i++) {
            const ig_rows *b = &r->batches[i];
            if (b->table != t || b->n == 0)
                continue;
            if (grow_array((void **)&w->brefs, &w->cap_brefs, nb + 1, sizeof(bref)))
                return IG_ENOMEM;
            w->brefs[nb] = (bref){b, row_ident(b, 0)->tenant_id, nb};
            nb++;
            total += b->n;
        }
    if (nb == 0)
        return 0;
    qsort(w->brefs, nb, sizeof(bref), cmp_bref);
    size_t sz = wal__row_size(t), bytes;
    if (ig_size_mul(total, sz, &bytes))
        return IG_ENOMEM;
    if (bytes > w->cap_rowbuf) {
        ig_free(w->rowbuf);
        w->rowbuf = ig_malloc(bytes);
        w->cap_rowbuf = w->rowbuf ? bytes : 0;
        if (!w->rowbuf)
            return IG_ENOMEM;
    }
    size_t off = 0, ng = 0;
    for (size_t i = 0; i < nb; i++) {
        const bref *br = &w->brefs[i];
        if (ng == 0 || !ig_str_eq(w->groups[ng - 1].tenant, br->tenant)) {
            if (grow_array((void **)&w->groups, &w->cap_groups, ng + 1, sizeof(tgroup)))
                return IG_ENOMEM;
            w->groups[ng++] = (tgroup){br->tenant, off, 0};
        }
        memcpy(w->rowbuf + off * sz, br->b->u.logs, br->b->n * sz);
        off += br->b->n;
        w->groups[ng - 1].n += br->b->n;
    }
    for (size_t g = 0; g < ng; g++) {
        ig_rows run = {.table = t, .n = w->groups[g].n};
        run.u.logs = (ig_log_row *)(void *)(w->rowbuf + w->groups[g].first * sz);
        ig_rows_sort(&run);
    }
    *ngroups = ng;
    *nrows = total;
    return 0;
}

static int trace_col(ig_table_id t)
{
    if (t == IG_TABLE_METRICS)
        return -1;
    return pq_schema_find(ig_table_schema(t), "trace_id");
}

/* Encodes the prepared runs of table t as one Parquet file into w->file. */
static int encode_segment(ig_wal *w, ig_table_id t, size_t ngroups, uint64_t seq, ig_errbuf *eb)
{
    const pq_schema *schema = ig_table_schema(t);
    size_t sz = wal__row_size(t);
    ig_buf_reset(&w->file);
    pq_writer *pw = NULL;
    int rc = pq_writer_new(&pw, schema, &w->pq, pq_sink_buf(&w->file), eb);
    if (rc)
        return rc;
    int tc = trace_col(t);
    if (tc >= 0 && (rc = pq_writer_set_bloom(pw, tc, true)))
        goto out;
    size_t nrg = 0;
    for (size_t g = 0; g < ngroups; g++) {
        const tgroup *grp = &w->groups[g];
        ig_rows run = {.table = t, .n = grp->n};
        run.u.logs = (ig_log_row *)(void *)(w->rowbuf + grp->first * sz);
        for (size_t from = 0; from < grp->n; from += w->rg_rows) {
            size_t to = grp->n - from > w->rg_rows ? from + w->rg_rows : grp->n;
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            for (size_t i = from; i < to; i++) {
                int64_t ts = row_ts(&run, i);
                lo = ts < lo ? ts : lo;
                hi = ts > hi ? ts : hi;
            }
            if ((rc = ig_rows_write(pw, &run, from, to, eb)) || (rc = pq_writer_flush(pw, eb)))
                goto out;
            if ((rc = grow_array((void **)&w->rgs, &w->cap_rgs, nrg + 1, sizeof(rginfo))))
                goto out;
            w->rgs[nrg++] = (rginfo){g, to - from, lo, hi};
        }
    }
    /* Footer key/values. */
    ig_buf_reset(&w->json);
    json_writer jw;
    json_writer_init(&jw, &w->json);
    json_w_arr_begin(&jw);
    for (size_t i = 0; i < nrg; i++) {
        json_w_obj_begin(&jw);
        json_w_key(&jw, IG_STR("tenant"));
        json_w_str(&jw, w->groups[w->rgs[i].group].tenant);
        json_w_key(&jw, IG_STR("rows"));
        json_w_u64(&jw, w->rgs[i].rows);
        json_w_key(&jw, IG_STR("min_ts"));
        json_w_i64(&jw, w->rgs[i].min_ts);
        json_w_key(&jw, IG_STR("max_ts"));
        json_w_i64(&jw, w->rgs[i].max_ts);
        json_w_obj_end(&jw);
    }
    json_w_arr_end(&jw);
    if ((rc = json_writer_finish(&jw)))
        goto out;
    char seqs[24];
    snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq);
    if ((rc = pq_writer_add_kv(pw, IG_WAL_KV_WRITER, w->writer)) ||
        (rc = pq_writer_add_kv(pw, IG_WAL_KV_SEQ, seqs)) ||
        (rc = pq_writer_add_kv(pw, IG_WAL_KV_TABLE, ig_table_name(t))) ||
        (rc = pq_writer_add_kv(pw, IG_WAL_KV_RGS, w->json.data)))
        goto out;
    rc = pq_writer_close(pw, NULL, eb);
out:
    pq_writer_free(pw);
    if (rc && eb && !eb->msg[0])
        ig_err(eb, rc, "wal: encoding %s segment: %s", ig_table_name(t), ig_strerror(rc));
    return rc;
}

void wal__segment_key(char *dst, size_t n, ig_table_id t, const char *writer, uint64_t seq)
{
    snprintf(dst, n, "wal/%s/%s/%020llu.parquet", ig_table_name(t), writer,
             (unsigned long long)seq);
}

/* Writes table t's segment of the taken requests. */
static void flush_table(ig_wal *w, ig_table_id t, wal_req *reqs, tout *o)
{
    o->eb.msg[0] = 0;
    size_t ngroups;
    o->rc = build_runs(w, t, reqs, &ngroups, &o->rows);
    if (o->rc) {
        ig_err(&o->eb, o->rc, "wal: grouping %s rows: %s", ig_table_name(t), ig_strerror(o->rc));
        return;
    }
    if (o->rows == 0)
        return;
    o->used = true;
    for (int attempt = 0;; attempt++) {
        uint64_t seq = w->next_seq[t];
        o->eb.msg[0] = 0;
        o->rc = encode_segment(w, t, ngroups, seq, &o->eb);
        if (o->rc)
            return;
        wal__segment_key(o->key, sizeof o->key, t, w->writer, seq);
        o->rc = ig_store_put_if_absent(w->store, o->key, w->file.data, w->file.len, &o->eb);
        if (o->rc == 0) {
            o->seq = seq;
            w->next_seq[t] = seq + 1;
            pthread_mutex_lock(&w->mu);
            w->stats.segments++;
            w->stats.bytes += w->file.len;
            w->stats.rows += o->rows;
            pthread_mutex_unlock(&w->mu);
            ig_metric_observe(w->m_bytes, (double)w->file.len);
            ig_metric_add(w->m_rows[t], (double)o->rows);
            return;
        }
        if (o->rc != IG_EEXIST || attempt >= EEXIST_RETRIES)
            return;
        /* Another process uses our writer id (or a put whose final fsync failed left the
         * object): continue after the highest sequence number now in the store. */
        uint64_t max = 0;
        ig_errbuf leb = {""};
        if (scan_max_seq(w->store, t, w->writer, &max, &leb) == 0 && max >= seq)
            w->next_seq[t] = max + 1;
        else
            w->next_seq[t] = seq + 1;
        ig_log(IG_LOG_WARN, "wal segment exists, skipping sequence number", "key", o->key, "writer",
               w->writer, NULL);
    }
}

static void release_scratch(ig_wal *w)
{
    if (w->cap_rowbuf > KEEP_SCRATCH_BYTES) {
        ig_free(w->rowbuf);
        w->rowbuf = NULL;
        w->cap_rowbuf = 0;
    }
    if (w->file.cap > KEEP_SCRATCH_BYTES)
        ig_buf_free(&w->file);
}

/* Writes every table's segment of the taken requests, then wakes them. */
static void flush_reqs(ig_wal *w, wal_req *reqs)
{
    int64_t t0 = ig_mono_ns();
    tout outs[IG_TABLE_COUNT_];
    memset(outs, 0, sizeof outs);
    bool failed = false;
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        flush_table(w, (ig_table_id)t, reqs, &outs[t]);
        if (outs[t].rc) {
            failed = true;
            ig_log(IG_LOG_ERROR, "wal flush failed", "table", ig_table_name((ig_table_id)t),
                   "error", outs[t].eb.msg, NULL);
        }
    }
    release_scratch(w);
    int64_t dur = ig_mono_ns() - t0;
    ig_metric_observe(w->m_dur, (double)dur / 1e9);
    ig_metric_add(failed ? w->m_flushes_err : w->m_flushes_ok, 1);

    pthread_mutex_lock(&w->mu);
    for (wal_req *r = reqs, *next; r; r = next) {
        next = r->next;
        r->rc = 0;
        r->ack.rows = r->rows;
        bool seen[IG_TABLE_COUNT_] = {false};
        for (size_t i = 0; i < r->n; i++) {
            const ig_rows *b = &r->batches[i];
            if (b->n == 0 || seen[b->table])
                continue;
            seen[b->table] = true;
            const tout *o = &outs[b->table];
            if (o->rc) {
                if (!r->rc) {
                    r->rc = o->rc;
                    r->eb = o->eb;
                }
                continue;
            }
            size_t k = r->ack.nsegments++;
            r->ack.tables[k] = b->table;
            r->ack.seqs[k] = o->seq;
            memcpy(r->ack.keys[k], o->key, sizeof o->key);
        }
        w->held_bytes -= r->bytes;
        r->done = true; /* r may be gone as soon as the lock is released */
    }
    w->stats.flushes++;
    w->stats.failed_flushes += failed;
    w->stats.last_flush_ns = dur;
    w->stats.flush_ns_total += dur;
    w->stats.queue_bytes = w->held_bytes;
    pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
}

static void *flusher_main(void *arg)
{
    ig_wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->closing)
            pthread_cond_wait(&w->work_cv, &w->mu);
        if (!w->head)
            break; /* closing and drained */
        int64_t deadline = w->oldest_mono + w->interval_ns;
        while (!w->closing && w->q_rows < w->flush_rows && w->q_bytes < w->flush_bytes) {
            int64_t now = ig_mono_ns();
            if (now >= deadline)
                break;
            struct timespec ts = {(time_t)(deadline / IG_NS_PER_S), (long)(deadline % IG_NS_PER_S)};
            pthread_cond_timedwait(&w->work_cv, &w->mu, &ts);
        }
        wal_req *reqs = w->head;
        w->head = w->tail = NULL;
        w->q_rows = 0;
        w->q_bytes = 0;
        pthread_mutex_unlock(&w->mu);
        flush_reqs(w, reqs);
        pthread_mutex_lock(&w->mu);
        ig_metric_set(w->m_queue, (double)w->held_bytes);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- public ----------------------------------------------------------------------- */

void ig_wal_opts_from_config(const ig_config *cfg, ig_wal_opts *o)
{
    memset(o, 0, sizeof *o);
    o->flush_interval_ns = cfg->wal.flush_interval_ns;
    o->flush_rows = cfg->wal.flush_rows > 0 ? (size_t)cfg->wal.flush_rows : 0;
    o->flush_bytes = cfg->wal.flush_bytes > 0 ? (size_t)cfg->wal.flush_bytes : 0;
    o->queue_bytes = cfg->wal.queue_bytes > 0 ? (size_t)cfg->wal.queue_bytes : 0;
    o->pq.row_group_rows =
        cfg->parquet.row_group_rows > 0 ? (size_t)cfg->parquet.row_group_rows : 0;
    o->pq.page_bytes = cfg->parquet.page_bytes > 0 ? (size_t)cfg->parquet.page_bytes : 0;
}

const char *ig_wal_writer_id(const ig_wal *wal)
{
    return wal->writer;
}

static void wal_free(ig_wal *w)
{
    ig_free(w->brefs);
    ig_free(w->groups);
    ig_free(w->rgs);
    ig_free(w->rowbuf);
    ig_buf_free(&w->file);
    ig_buf_free(&w->json);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work_cv);
    pthread_cond_destroy(&w->done_cv);
    ig_free(w);
}

static void init_metrics(ig_wal *w)
{
    static const double size_buckets[] = {4096,    16384,    65536,    262144,   1048576,
                                          4194304, 16777216, 67108864, 268435456};
    w->m_flushes_ok =
        ig_counter("icegate_wal_flushes_total", "WAL group commits, by outcome.", "outcome=\"ok\"");
    w->m_flushes_err = ig_counter("icegate_wal_flushes_total", "WAL group commits, by outcome.",
                                  "outcome=\"error\"");
    w->m_bytes = ig_histogram("icegate_wal_flush_bytes", "Bytes of each WAL segment written.", NULL,
                              size_buckets, (int)(sizeof size_buckets / sizeof *size_buckets));
    w->m_dur = ig_histogram("icegate_wal_flush_duration_seconds",
                            "Duration of a WAL group commit (all segments of one flush).", NULL,
                            IG_LATENCY_BUCKETS, IG_LATENCY_NBUCKETS);
    w->m_queue = ig_gauge("icegate_wal_queue_bytes",
                          "Estimated bytes of rows accepted by the WAL and not yet durable.", NULL);
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        char lab[64];
        snprintf(lab, sizeof lab, "table=\"%s\"", ig_table_name((ig_table_id)t));
        w->m_rows[t] = ig_counter("icegate_wal_rows_total", "Rows made durable in the WAL.", lab);
    }
}

int ig_wal_open(ig_store *store, const ig_wal_opts *o, ig_wal **out, ig_errbuf *eb)
{
    *out = NULL;
    ig_wal_opts def = {0};
    if (!o)
        o = &def;
    ig_wal *w = ig_calloc(1, sizeof *w);
    if (!w)
        return ig_err(eb, IG_ENOMEM, "wal: out of memory");
    w->store = store;
    if (o->writer_id) {
        if (!ig_wal_writer_valid(o->writer_id)) {
            ig_free(w);
            return ig_err(eb, IG_EINVAL,
                          "wal: writer id \"%.80s\" invalid: 1-%d bytes of A-Z a-z 0-9 . _ -, "
                          "not starting with '.'",
                          o->writer_id, IG_WAL_WRITER_MAX);
        }
        snprintf(w->writer, sizeof w->writer, "%s", o->writer_id);
    } else {
        uint8_t rnd[8];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            /* No entropy source: mix time and address (still distinct per process). */
            uint64_t x =
                (uint64_t)ig_now_ns() ^ ((uint64_t)(uintptr_t)w << 16) ^ (uint64_t)ig_mono_ns();
            memcpy(rnd, &x, sizeof rnd);
        }
        for (int i = 0; i < 8; i++)
            snprintf(w->writer + 2 * i, 3, "%02x", rnd[i]);
    }
    w->interval_ns = o->flush_interval_ns > 0 ? o->flush_interval_ns : DEFAULT_INTERVAL_NS;
    w->flush_rows = o->flush_rows ? o->flush_rows : DEFAULT_FLUSH_ROWS;
    w->flush_bytes = o->flush_bytes ? o->flush_bytes : DEFAULT_FLUSH_BYTES;
    w->queue_bytes = o->queue_bytes ? o->queue_bytes : DEFAULT_QUEUE_BYTES;
    w->pq = o->pq;
    w->rg_rows = o->pq.row_group_rows ? o->pq.row_group_rows : DEFAULT_RG_ROWS;
    /* The file is built in memory from rows we already hold; its size is bounded by
     * the queue cap, so the buffer needs no cap of its own. */
    ig_buf_init(&w->file, 0);
    ig_buf_init(&w->json, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->work_cv, &ca);
    pthread_cond_init(&w->done_cv, &ca);
    pthread_condattr_destroy(&ca);

    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        uint64_t max;
        int rc = scan_max_seq(store, (ig_table_id)t, w->writer, &max, eb);
        if (rc) {
            wal_free(w);
            return rc;
        }
        w->next_seq[t] = max + 1;
    }
    init_metrics(w);
    int e = pthread_create(&w->thread, NULL, flusher_main, w);
    if (e) {
        wal_free(w);
        return ig_err(eb, IG_EIO, "wal: cannot start the flusher thread: %s", strerror(e));
    }
    w->thread_started = true;
    ig_log(IG_LOG_INFO, "wal opened", "writer", w->writer, NULL);
    *out = w;
    return 0;
}

void ig_wal_close(ig_wal *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started)
        pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->mu);
    while (w->appenders > 0)
        pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    wal_free(w);
}

void ig_wal_get_stats(ig_wal *w, ig_wal_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    out->queue_bytes = w->held_bytes;
    pthread_mutex_unlock(&w->mu);
}

/* Checks one batch: known table, rows present, one non-empty tenant throughout. */
static int check_batch(const ig_rows *b, size_t i, ig_errbuf *eb)
{
    if ((unsigned)b->table >= IG_TABLE_COUNT_)
        return ig_err(eb, IG_EINVAL, "wal: batch %zu: unknown table %d", i, (int)b->table);
    if (b->n == 0)
        return 0;
    if (!b->u.logs)
        return ig_err(eb, IG_EINVAL, "wal: batch %zu: no rows", i);
    ig_str t0 = row_ident(b, 0)->tenant_id;
    if (!t0.ptr || t0.len == 0)
        return ig_err(eb, IG_EINVAL, "wal: batch %zu: row 0 has no tenant_id", i);
    for (size_t k = 1; k < b->n; k++) {
        ig_str tk = row_ident(b, k)->tenant_id;
        if ((tk.ptr != t0.ptr || tk.len != t0.len) && !ig_str_eq(tk, t0))
            return ig_err(eb, IG_EINVAL, "wal: batch %zu: row %zu has another tenant than row 0", i,
                          k);
    }
    return 0;
}

int ig_wal_append(ig_wal *w, const ig_rows *batches, size_t n, ig_wal_ack *ack, ig_errbuf *eb)
{
    wal_req r;
    memset(&r, 0, sizeof r);
    r.batches = batches;
    r.n = n;
    for (size_t i = 0; i < n; i++) {
        int rc = check_batch(&batches[i], i, eb);
        if (rc)
            return rc;
        r.rows += batches[i].n;
        r.bytes += ig_wal_rows_bytes(&batches[i]);
    }
    if (ack)
        memset(ack, 0, sizeof *ack);
    if (r.rows == 0)
        return 0;
    if (r.bytes > w->queue_bytes)
        return ig_err(eb, IG_ETOOBIG,
                      "wal: request of about %zu bytes exceeds the WAL queue cap of %zu bytes",
                      r.bytes, w->queue_bytes);
    pthread_mutex_lock(&w->mu);
    if (w->closing) {
        pthread_mutex_unlock(&w->mu);
        return ig_err(eb, IG_ECANCELED, "wal: closing");
    }
    if (w->held_bytes + r.bytes > w->queue_bytes) {
        size_t held = w->held_bytes;
        pthread_mutex_unlock(&w->mu);
        return ig_err(eb, IG_EAGAIN,
                      "wal: queue full (%zu bytes waiting for durability, cap %zu): retry later",
                      held, w->queue_bytes);
    }
    w->appenders++;
    if (!w->head) {
        w->head = &r;
        w->oldest_mono = ig_mono_ns();
    } else {
        w->tail->next = &r;
    }
    w->tail = &r;
    w->q_rows += r.rows;
    w->q_bytes += r.bytes;
    w->held_bytes += r.bytes;
    w->stats.queue_bytes = w->held_bytes;
    ig_metric_set(w->m_queue, (double)w->held_bytes);
    if (w->head == &r || w->q_rows >= w->flush_rows || w->q_bytes >= w->flush_bytes)
        pthread_cond_signal(&w->work_cv);
    while (!r.done)
        pthread_cond_wait(&w->done_cv, &w->mu);
    w->appenders--;
    if (w->closing && w->appenders == 0)
        pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
    if (ack)
        *ack = r.ack;
    if (r.rc && eb)
        *eb = r.eb;
    return r.rc;
}
