/* Shift benchmark (a program, not a test: prints figures, asserts nothing).
 *
 * Built by `make` as build/tools/shiftbench; run from the repository root:
 *   build/tools/shiftbench [rows=500000] [tenants=4] [rows_per_request=10000]
 *   [corpus=../shared/corpus/logs/linux.log]
 *
 * Writes logs-shaped rows (bodies are lines of a real log file, cycled; 5 resource and 3
 * record attributes; trace/span ids) into a WAL in a temporary directory, one segment per
 * request, then times one shift of the logs table into Iceberg data files (SQLite
 * catalog) and prints rows/s, WAL MB/s and bytes per row of the WAL segments and of the
 * data files. */
#include <ftw.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"
#include "icegate/log.h"
#include "icegate/maintain.h"
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

static ig_str *g_lines;
static size_t g_nlines;
static ig_buf g_corpus;

static void load_corpus(const char *path)
{
    ig_buf_init(&g_corpus, (size_t)64 << 20);
    FILE *f = fopen(path, "rb");
    if (f) {
        char tmp[65536];
        size_t n;
        while ((n = fread(tmp, 1, sizeof tmp, f)) > 0 && ig_buf_append(&g_corpus, tmp, n) == 0)
            ;
        fclose(f);
    }
    if (!g_corpus.len)
        ig_buf_append_cstr(&g_corpus, "GET /api/v1/cart 200 12ms user=42 session=abcdef0123\n");
    size_t cap = 1024;
    g_lines = ig_malloc(cap * sizeof *g_lines);
    for (char *p = g_corpus.data; *p;) {
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

static uint64_t g_bytes;
static int sum_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)f;
    if (flag == FTW_F && strstr(p, ".parquet"))
        g_bytes += (uint64_t)sb->st_size;
    return 0;
}

static uint64_t dir_bytes(const char *dir)
{
    g_bytes = 0;
    nftw(dir, sum_cb, 16, FTW_PHYS);
    return g_bytes;
}

int main(int argc, char **argv)
{
    size_t nrows = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 500000;
    size_t ntenants = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 4;
    size_t per_req = argc > 3 ? (size_t)strtoull(argv[3], NULL, 10) : 10000;
    load_corpus(argc > 4 ? argv[4] : "../shared/corpus/logs/linux.log");
    if (!ntenants || !per_req || !nrows)
        return 2;
    ig_log_set_level(IG_LOG_WARN);
    /* as `icegate run` does (src/server/server.c): keep freed memory in the process */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    char tmp[64] = "/tmp/ig_shiftbench.XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    char root[128], db[128], walroot[160], dataroot[160];
    snprintf(root, sizeof root, "%s/warehouse", tmp);
    snprintf(db, sizeof db, "%s/catalog.db", tmp);
    snprintf(walroot, sizeof walroot, "%s/wal/logs", root);
    snprintf(dataroot, sizeof dataroot, "%s/icegate/logs/data", root);
    ig_errbuf eb = {{0}};
    ig_store *st = NULL;
    catalog *cat = NULL;
    ig_wal *wal = NULL;
    ig_wal_opts wo = {0};
    wo.writer_id = "bench";
    wo.flush_interval_ns = IG_NS_PER_MS;
    if (ig_store_open_fs(root, &st, &eb) || catalog_open_sqlite(db, &cat, &eb) ||
        ig_wal_open(st, &wo, &wal, &eb)) {
        fprintf(stderr, "shiftbench: %s\n", eb.msg);
        return 1;
    }
    FILE *devnull = fopen("/dev/null", "w");
    if (ig_migrate(cat, st, devnull, NULL, &eb)) {
        fprintf(stderr, "shiftbench: migrate: %s\n", eb.msg);
        return 1;
    }
    fclose(devnull);
    ig_log_row *rows = ig_malloc(per_req * sizeof *rows);
    char tenant[32];
    size_t done = 0;
    int64_t t0 = ig_mono_ns();
    for (size_t k = 0; done < nrows; k++) {
        size_t n = nrows - done < per_req ? nrows - done : per_req;
        snprintf(tenant, sizeof tenant, "tenant-%zu", k % ntenants);
        make_rows(rows, n, tenant, done);
        ig_rows b = {.table = IG_TABLE_LOGS, .n = n, .u.logs = rows};
        if (ig_wal_append(wal, &b, 1, NULL, &eb)) {
            fprintf(stderr, "shiftbench: append: %s\n", eb.msg);
            return 1;
        }
        done += n;
    }
    ig_wal_close(wal);
    int64_t t_wal = ig_mono_ns() - t0;
    uint64_t wal_bytes = dir_bytes(walroot);

    ig_shift_opts o = {.wal_grace_ns = -1};
    ig_shift_result r = {0};
    t0 = ig_mono_ns();
    int rc = ig_shift_table(cat, st, IG_TABLE_LOGS, &o, &r, &eb);
    int64_t t_shift = ig_mono_ns() - t0;
    if (rc) {
        fprintf(stderr, "shiftbench: shift: %s\n", eb.msg);
        return 1;
    }
    uint64_t data_bytes = dir_bytes(dataroot);
    double s = (double)t_shift / 1e9;
    printf("rows %zu, tenants %zu, %zu rows per request (%llu WAL segments, written in %.2f s)\n",
           nrows, ntenants, per_req, (unsigned long long)r.segments, (double)t_wal / 1e9);
    printf("shift: %.2f s, %.0f rows/s, %.1f MB/s of WAL segments read, %llu data files, "
           "%llu commits\n",
           s, (double)r.rows / s, (double)wal_bytes / 1e6 / s, (unsigned long long)r.files,
           (unsigned long long)r.commits);
    printf("bytes/row: WAL segments %.1f, Iceberg data files %.1f (ratio %.2f)\n",
           (double)wal_bytes / (double)nrows, (double)data_bytes / (double)nrows,
           (double)data_bytes / (double)(wal_bytes ? wal_bytes : 1));
    ig_free(rows);
    catalog_close(cat);
    ig_store_close(st);
    if (getenv("SHIFTBENCH_KEEP"))
        printf("kept: %s\n", tmp); /* e.g. to compare with DuckDB writing the same rows */
    else
        nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
