/* WAL flush benchmark (a program, not a test: prints figures, asserts nothing).
 *
 * Built by `make` as build/tools/walbench; run from the repository root:
 *   build/tools/walbench [rows=100000] [tenants=4] [threads=4]
 * [corpus=../shared/corpus/logs/linux.log]
 *
 * Rows are logs-shaped: bodies are lines of a real log file (cycled), 5 resource and
 * 3 record attributes, trace/span ids, severity. Measures:
 *   1. the flusher's steps on one batch in isolation: copy + ig_rows_sort, ig_rows_write +
 *      pq_writer_close (ZSTD), store put (temp file, fsync, rename, dir fsync);
 *   2. one append of all rows (one request → one flush) end to end;
 *   3. `threads` threads appending requests of 1000 rows each until all rows are in,
 *      with the default 200 ms interval and flush_rows 65536 (group commit). */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/log.h"
#include "icegate/time.h"
#include "icegate/wal.h"

static ig_attr RES[][5] = {
    {{IG_STR("service.name"), IG_STR("checkout")},
     {IG_STR("service.version"), IG_STR("1.4.2")},
     {IG_STR("host.name"), IG_STR("ip-10-0-3-17")},
     {IG_STR("k8s.pod.name"), IG_STR("checkout-7d9f8b6c5-x2lqp")},
     {IG_STR("deployment.environment"), IG_STR("prod")}},
    {{IG_STR("service.name"), IG_STR("payments")},
     {IG_STR("service.version"), IG_STR("2.0.0")},
     {IG_STR("host.name"), IG_STR("ip-10-0-4-2")},
     {IG_STR("k8s.pod.name"), IG_STR("payments-5c6b7d8e9-abcde")},
     {IG_STR("deployment.environment"), IG_STR("prod")}},
};
static ig_attr ATTR[3] = {{IG_STR("http.method"), IG_STR("GET")},
                          {IG_STR("http.route"), IG_STR("/api/v1/cart")},
                          {IG_STR("http.status_code"), IG_STR("200")}};
static const char *TENANTS[] = {"tenant-a", "tenant-b", "tenant-c", "tenant-d",
                                "tenant-e", "tenant-f", "tenant-g", "tenant-h"};

static char *g_corpus;
static ig_str *g_lines;
static size_t g_nlines;

static void load_corpus(const char *path)
{
    FILE *f = fopen(path, "rb");
    static char fallback[] = "GET /api/v1/cart 200 12ms user=42 session=abcdef0123456789\n";
    if (!f) {
        g_corpus = fallback;
    } else {
        ig_buf b;
        ig_buf_init(&b, (size_t)64 << 20);
        char tmp[65536];
        size_t n;
        while ((n = fread(tmp, 1, sizeof tmp, f)) > 0 && ig_buf_append(&b, tmp, n) == 0)
            ;
        fclose(f);
        g_corpus = ig_buf_detach(&b, &n);
    }
    size_t cap = 1024;
    g_lines = ig_malloc(cap * sizeof *g_lines);
    for (char *p = g_corpus; *p;) {
        char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            if (g_nlines == cap)
                g_lines = ig_realloc(g_lines, (cap *= 2) * sizeof *g_lines);
            g_lines[g_nlines++] = ig_str_make(p, len);
        }
        p += len + (e ? 1 : 0);
    }
}

/* rows [0, n) of one tenant, starting at corpus line `first`. */
static void make_rows(ig_log_row *rows, size_t n, const char *tenant, size_t first)
{
    memset(rows, 0, n * sizeof *rows);
    uint64_t x = first * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        ig_log_row *r = &rows[i];
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int svc = (int)(x % 2);
        r->id.tenant_id = ig_str_from(tenant);
        r->id.service_name = RES[svc][0].value;
        r->timestamp_us = 1700000000000000LL + (int64_t)((first + i) * 1000);
        r->has_observed = true;
        r->observed_us = r->timestamp_us + 3;
        r->ingested_us = 1700000100000000LL;
        r->has_trace_id = r->has_span_id = true;
        for (int k = 0; k < 16; k++)
            r->trace_id[k] = (uint8_t)(x >> (k * 4));
        for (int k = 0; k < 8; k++)
            r->span_id[k] = (uint8_t)(x >> (k * 8 + 3));
        r->has_severity_number = true;
        r->severity_number = 9;
        r->severity_text = IG_STR("INFO");
        r->body = g_lines[(first + i) % g_nlines];
        r->scope_name = IG_STR("io.opentelemetry.bench");
        r->resource_attributes = (ig_attrs){RES[svc], 5};
        r->attributes = (ig_attrs){ATTR, 3};
        r->source = IG_STR("otlp");
    }
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

typedef struct worker {
    ig_wal *w;
    ig_log_row *rows; /* this worker's rows */
    size_t n, per_req;
    const char *tenant;
    int rc;
} worker;

static void *worker_main(void *arg)
{
    worker *k = arg;
    for (size_t i = 0; i < k->n && !k->rc; i += k->per_req) {
        size_t m = k->n - i < k->per_req ? k->n - i : k->per_req;
        for (size_t j = 1; j < m; j++) /* a request holds one tenant's rows */
            if (k->rows[i + j].id.tenant_id.ptr != k->rows[i].id.tenant_id.ptr) {
                m = j;
                break;
            }
        ig_rows b = {.table = IG_TABLE_LOGS, .n = m, .u.logs = k->rows + i};
        ig_errbuf eb = {""};
        k->rc = ig_wal_append(k->w, &b, 1, NULL, &eb);
        i -= k->per_req - m; /* advance by m */
        if (k->rc)
            fprintf(stderr, "append: %s\n", eb.msg);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    size_t nrows = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
    size_t ntenants = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 4;
    size_t nthreads = argc > 3 ? (size_t)strtoull(argv[3], NULL, 10) : 4;
    load_corpus(argc > 4 ? argv[4] : "/work/shared/corpus/logs/linux.log");
    if (ntenants < 1 || ntenants > 8)
        ntenants = 4;
    if (nthreads < 1 || nthreads > 64)
        nthreads = 4;
    ig_log_set_level(IG_LOG_WARN);

    char dir[] = "/tmp/ig_wal_bench.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    ig_store *st;
    ig_errbuf eb = {""};
    if (ig_store_open_fs(dir, &st, &eb)) {
        fprintf(stderr, "store: %s\n", eb.msg);
        return 1;
    }
    ig_log_row *rows = ig_malloc(nrows * sizeof *rows);
    ig_log_row *copy = ig_malloc(nrows * sizeof *rows);
    size_t per_tenant = (nrows + ntenants - 1) / ntenants;
    for (size_t t = 0, at = 0; t < ntenants && at < nrows; t++, at += per_tenant)
        make_rows(rows + at, at + per_tenant > nrows ? nrows - at : per_tenant, TENANTS[t], at);
    uint64_t in_bytes = 0;
    for (size_t i = 0; i < nrows; i++)
        in_bytes += rows[i].body.len;
    printf("rows %zu, tenants %zu, body bytes %llu (avg %.0f), corpus lines %zu\n", nrows, ntenants,
           (unsigned long long)in_bytes, (double)in_bytes / (double)nrows, g_nlines);

    /* 1. the steps in isolation (one tenant's run = all rows, as the worst case) */
    int64_t t0 = ig_mono_ns();
    memcpy(copy, rows, nrows * sizeof *rows);
    ig_rows all = {.table = IG_TABLE_LOGS, .n = nrows, .u.logs = copy};
    for (size_t t = 0, at = 0; t < ntenants && at < nrows; t++, at += per_tenant) {
        ig_rows run = {.table = IG_TABLE_LOGS,
                       .n = at + per_tenant > nrows ? nrows - at : per_tenant,
                       .u.logs = copy + at};
        ig_rows_sort(&run);
    }
    int64_t t1 = ig_mono_ns();
    ig_buf file;
    ig_buf_init(&file, 0);
    pq_writer *pw;
    pq_writer_new(&pw, ig_table_schema(IG_TABLE_LOGS), NULL, pq_sink_buf(&file), &eb);
    pq_writer_set_bloom(pw, pq_schema_find(ig_table_schema(IG_TABLE_LOGS), "trace_id"), true);
    for (size_t t = 0, at = 0; t < ntenants && at < nrows; t++, at += per_tenant) {
        size_t n = at + per_tenant > nrows ? nrows - at : per_tenant;
        for (size_t from = 0; from < n; from += 65536) {
            size_t to = from + 65536 < n ? from + 65536 : n;
            ig_rows run = {.table = IG_TABLE_LOGS, .n = n, .u.logs = copy + at};
            if (ig_rows_write(pw, &run, from, to, &eb) || pq_writer_flush(pw, &eb)) {
                fprintf(stderr, "write: %s\n", eb.msg);
                return 1;
            }
        }
    }
    pq_writer_close(pw, NULL, &eb);
    pq_writer_free(pw);
    int64_t t2 = ig_mono_ns();
    if (ig_store_put_if_absent(st, "bench/one.parquet", file.data, file.len, &eb)) {
        fprintf(stderr, "put: %s\n", eb.msg);
        return 1;
    }
    int64_t t3 = ig_mono_ns();
    (void)all;
    printf("steps: sort %.1f ms, encode %.1f ms (%.0f rows/s), put+fsync %.1f ms; file %zu bytes "
           "(%.2f bytes/row)\n",
           (t1 - t0) / 1e6, (t2 - t1) / 1e6, nrows / ((t2 - t1) / 1e9), (t3 - t2) / 1e6, file.len,
           (double)file.len / (double)nrows);
    ig_buf_free(&file);

    /* 2. one append of everything (each tenant a batch) */
    ig_wal_opts o = {0};
    o.writer_id = "bench1";
    ig_wal *w;
    if (ig_wal_open(st, &o, &w, &eb)) {
        fprintf(stderr, "open: %s\n", eb.msg);
        return 1;
    }
    ig_rows batches[8];
    size_t nb = 0;
    for (size_t t = 0, at = 0; t < ntenants && at < nrows; t++, at += per_tenant)
        batches[nb++] = (ig_rows){.table = IG_TABLE_LOGS,
                                  .n = at + per_tenant > nrows ? nrows - at : per_tenant,
                                  .u.logs = rows + at};
    /* warm-up append (the flusher's buffers then stay allocated) */
    ig_wal_append(w, batches, nb, NULL, &eb);
    t0 = ig_mono_ns();
    int rc = ig_wal_append(w, batches, nb, NULL, &eb);
    t1 = ig_mono_ns();
    ig_wal_stats s1;
    ig_wal_get_stats(w, &s1);
    ig_wal_close(w);
    if (rc) {
        fprintf(stderr, "append: %s\n", eb.msg);
        return 1;
    }
    printf("one append of %zu rows: %.1f ms end to end (flush %.1f ms, interval 200 ms "
           "not waited: flush_rows reached) -> %.0f rows/s\n",
           nrows, (t1 - t0) / 1e6, s1.last_flush_ns / 1e6, nrows / ((t1 - t0) / 1e9));

    /* 3. concurrent requests of 1000 rows, group commit */
    o.writer_id = "bench2";
    if (ig_wal_open(st, &o, &w, &eb))
        return 1;
    worker *ws = ig_calloc(nthreads, sizeof *ws);
    pthread_t *th = ig_calloc(nthreads, sizeof *th);
    size_t per = (nrows + nthreads - 1) / nthreads;
    for (size_t i = 0; i < nthreads; i++) {
        size_t at = i * per;
        /* each worker sends one tenant's rows */
        ws[i] = (worker){w, rows + at, at + per > nrows ? nrows - at : per, 1000, NULL, 0};
    }
    t0 = ig_mono_ns();
    for (size_t i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, worker_main, &ws[i]);
    for (size_t i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    t1 = ig_mono_ns();
    ig_wal_stats s2;
    ig_wal_get_stats(w, &s2);
    ig_wal_close(w);
    printf("%zu threads x requests of 1000 rows: %.1f ms wall -> %.0f rows/s; %llu flushes, "
           "%llu segments, %.1f ms flushing in total (%.0f rows/s of flusher time), "
           "%llu bytes\n",
           nthreads, (t1 - t0) / 1e6, nrows / ((t1 - t0) / 1e9), (unsigned long long)s2.flushes,
           (unsigned long long)s2.segments, s2.flush_ns_total / 1e6,
           s2.rows / (s2.flush_ns_total / 1e9), (unsigned long long)s2.bytes);

    ig_free(ws);
    ig_free(th);
    ig_free(rows);
    ig_free(copy);
    ig_store_close(st);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
