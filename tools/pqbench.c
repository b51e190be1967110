/* pqbench: single-threaded benchmark of IceGate's Parquet writer and reader on
 * logs-shaped rows generated in memory (bench/README.md, bench/parquet_bench.mjs).
 *
 *   pqbench write OUT.parquet [--rows N] [--codec zstd|snappy|gzip|none] [--level L]
 *                 [--row-group-rows N] [--bloom] [--corpus DIR]
 *   pqbench read FILE [--keep-dict]
 *   pqbench scan FILE [--predicate-column timestamp] [--ge X] [--le Y]
 *                [--columns timestamp,body] [--keep-dict] [--no-late]
 *   pqbench dump-jsonl OUT.jsonl [--rows N] [--corpus DIR]
 *
 * Rows: the `logs` table (ig_table_schema(IG_TABLE_LOGS)) written with ig_rows_write, as
 * the WAL and the Iceberg files do. Bodies are the lines of DIR/<service>.log (default
 * $SHARED_DIR/corpus/logs, else ../shared/corpus/logs) cycled, service_name = the file
 * name, four tenants in blocks, timestamps increasing by 1..2000 µs from 2024-06-01,
 * observed = ts + 150, ingested = ts + 2 s, trace_id/span_id random and null in 30% of
 * rows, severity cycled, resource_attributes {service.name, host.name}, attributes
 * {http.method, http.status_code, log.file.name}, source "otlp". The same seed gives the
 * same rows in every mode, so dump-jsonl feeds DuckDB exactly what write encodes.
 *
 * Every measurement prints one JSON line on stdout. Only the operation is timed
 * (CLOCK_MONOTONIC): write = pq_writer_new .. pq_writer_close (shredding with
 * ig_rows_write, encoding, compression, file writes); read = pq_open .. pq_close with
 * pq_read_column on every chunk; scan = pq_open .. pq_close with pruning (pq_rg_may_match,
 * pq_page_select) and the projected reads, then the exact filter. By default the scan
 * materialises late, as the query engine will: the predicate column is read over the
 * selected pages, then the other columns only for the matching rows (their pages without a
 * match are not decompressed); --no-late reads every projected column over the pages. "input_bytes" is the
 * logical size of the rows (string bytes, 8 per timestamp, 4 per int32, 16/8 per id);
 * write stores it in the footer (key icegate.bench.input_bytes) so read and scan report
 * MB/s over the same denominator. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/parquet.h"
#include "icegate/tables.h"

#define KV_INPUT_BYTES "icegate.bench.input_bytes"
#define T0_US INT64_C(1717200000000000) /* 2024-06-01T00:00:00Z */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pqbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss;
}

static int64_t parse_i64(const char *opt, const char *s)
{
    int64_t v;
    if (!s || ig_str_to_i64(ig_str_from(s), &v))
        die("%s: expected an integer, got %s", opt, s ? s : "nothing");
    return v;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = ig_calloc(n ? n : 1, size);
    if (!p)
        die("out of memory");
    return p;
}

/* ---- corpus ------------------------------------------------------------------------ */

typedef struct line_ref {
    ig_str body;
    int svc;
} line_ref;

typedef struct corpus {
    char **files;  /* file names ("apache.log"), sorted */
    char **svcs;   /* service names ("apache") */
    char **texts;  /* file contents */
    size_t nfiles;
    line_ref *lines;
    size_t nlines;
} corpus;

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st))
        die("%s: %s", path, strerror(errno));
    size_t n = (size_t)st.st_size;
    char *p = xcalloc(n + 1, 1);
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("%s: read failed", path);
        got += (size_t)k;
    }
    close(fd);
    *len = n;
    return p;
}

static void corpus_load(corpus *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    DIR *d = opendir(dir);
    if (!d)
        die("corpus %s: %s", dir, strerror(errno));
    size_t cap = 64;
    c->files = xcalloc(cap, sizeof(char *));
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".log"))
            continue;
        if (c->nfiles == cap) {
            char **nf = ig_realloc(c->files, 2 * cap * sizeof(char *));
            if (!nf)
                die("out of memory");
            c->files = nf;
            cap *= 2;
        }
        if (!(c->files[c->nfiles++] = ig_strdup(e->d_name)))
            die("out of memory");
    }
    closedir(d);
    if (!c->nfiles)
        die("corpus %s: no *.log files", dir);
    qsort(c->files, c->nfiles, sizeof(char *), cmp_cstr);
    c->svcs = xcalloc(c->nfiles, sizeof(char *));
    c->texts = xcalloc(c->nfiles, sizeof(char *));
    size_t *lens = xcalloc(c->nfiles, sizeof(size_t));
    size_t total = 0;
    for (size_t i = 0; i < c->nfiles; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, c->files[i]);
        c->texts[i] = read_file(path, &lens[i]);
        if (!(c->svcs[i] = ig_strndup(c->files[i], strlen(c->files[i]) - 4)))
            die("out of memory");
        for (size_t k = 0; k < lens[i]; k++)
            total += c->texts[i][k] == '\n';
        total++;
    }
    c->lines = xcalloc(total, sizeof(line_ref));
    for (size_t i = 0; i < c->nfiles; i++) {
        const char *t = c->texts[i];
        for (size_t pos = 0; pos < lens[i];) {
            const char *nl = memchr(t + pos, '\n', lens[i] - pos);
            size_t end = nl ? (size_t)(nl - t) : lens[i];
            size_t l = end - pos;
            while (l && t[pos + l - 1] == '\r')
                l--;
            if (l)
                c->lines[c->nlines++] = (line_ref){{t + pos, l}, (int)i};
            pos = end + 1;
        }
    }
    ig_free(lens);
    if (!c->nlines)
        die("corpus %s: no lines", dir);
}

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->nfiles; i++) {
        ig_free(c->files[i]);
        ig_free(c->svcs[i]);
        ig_free(c->texts[i]);
    }
    ig_free(c->files);
    ig_free(c->svcs);
    ig_free(c->texts);
    ig_free(c->lines);
}

static const char *corpus_dir(const char *opt)
{
    static char buf[4096];
    if (opt)
        return opt;
    const char *sd = getenv("SHARED_DIR");
    if (sd && *sd) {
        snprintf(buf, sizeof buf, "%s/corpus/logs", sd);
        return buf;
    }
    return "../shared/corpus/logs";
}

/* ---- rows -------------------------------------------------------------------------- */

static uint64_t g_rng;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (g_rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static const char *const TENANTS[] = {"acme", "globex", "initech", "umbrella"};
static const char *const HOSTS[] = {"host-0", "host-1", "host-2", "host-3",
                                    "host-4", "host-5", "host-6"};
static const char *const METHODS[] = {"GET", "POST", "PUT"};
static const char *const STATUSES[] = {"200", "200", "404", "500"};
static const struct {
    const char *text;
    int32_t num;
} SEV[] = {{"DEBUG", 5}, {"INFO", 9}, {"INFO", 9}, {"INFO", 9}, {"WARN", 13}, {"ERROR", 17}};

#define NRES 2
#define NATTR 3

typedef struct rowset {
    ig_log_row *rows;
    ig_attr *attrs; /* NRES + NATTR per row */
    size_t n;
    uint64_t input_bytes;
    int64_t ts_min, ts_max;
} rowset;

static uint64_t str_bytes(ig_str s)
{
    return s.ptr ? s.len : 0;
}

static void rows_make(rowset *rs, const corpus *c, size_t n)
{
    g_rng = 1;
    rs->n = n;
    rs->rows = xcalloc(n, sizeof(ig_log_row));
    rs->attrs = xcalloc(n * (NRES + NATTR), sizeof(ig_attr));
    rs->input_bytes = 0;
    int64_t ts = T0_US;
    rs->ts_min = INT64_MAX;
    rs->ts_max = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        ig_log_row *r = &rs->rows[i];
        const line_ref *l = &c->lines[i % c->nlines];
        ig_str svc = ig_str_from(c->svcs[l->svc]);
        ts += 1 + (int64_t)(rnd() % 2000);
        r->id.tenant_id = ig_str_from(TENANTS[(i * 4) / n]);
        r->id.service_name = svc;
        r->timestamp_us = ts;
        r->observed_us = ts + 150;
        r->has_observed = true;
        r->ingested_us = ts + 2000000;
        if (rnd() % 10 >= 3) {
            uint64_t a = rnd(), b = rnd(), s = rnd();
            memcpy(r->trace_id, &a, 8);
            memcpy(r->trace_id + 8, &b, 8);
            memcpy(r->span_id, &s, 8);
            r->has_trace_id = r->has_span_id = true;
        }
        r->severity_number = SEV[i % 6].num;
        r->has_severity_number = true;
        r->severity_text = ig_str_from(SEV[i % 6].text);
        r->body = l->body;
        r->source = IG_STR("otlp");
        ig_attr *ra = &rs->attrs[i * (NRES + NATTR)];
        ra[0] = (ig_attr){IG_STR("service.name"), svc};
        ra[1] = (ig_attr){IG_STR("host.name"), ig_str_from(HOSTS[i % 7])};
        ra[2] = (ig_attr){IG_STR("http.method"), ig_str_from(METHODS[rnd() % 3])};
        ra[3] = (ig_attr){IG_STR("http.status_code"), ig_str_from(STATUSES[rnd() % 4])};
        ra[4] = (ig_attr){IG_STR("log.file.name"), ig_str_from(c->files[l->svc])};
        r->resource_attributes = (ig_attrs){ra, NRES};
        r->attributes = (ig_attrs){ra + NRES, NATTR};
        if (ts < rs->ts_min)
            rs->ts_min = ts;
        if (ts > rs->ts_max)
            rs->ts_max = ts;
        uint64_t b = str_bytes(r->id.tenant_id) + str_bytes(r->id.service_name) + 3 * 8 +
                     (r->has_trace_id ? 16 + 8 : 0) + 4 + str_bytes(r->severity_text) +
                     str_bytes(r->body) + str_bytes(r->source);
        for (int k = 0; k < NRES + NATTR; k++)
            b += ra[k].key.len + str_bytes(ra[k].value);
        rs->input_bytes += b;
    }
}

static void rows_free(rowset *rs)
{
    ig_free(rs->rows);
    ig_free(rs->attrs);
}

/* ---- options ----------------------------------------------------------------------- */

typedef struct opts {
    const char *path;
    size_t rows;
    pq_codec codec;
    const char *codec_name;
    int level;
    size_t rg_rows;
    bool bloom;
    bool keep_dict;
    bool late;
    const char *corpus;
    const char *pred_col;
    bool has_ge, has_le;
    int64_t ge, le;
    const char *columns;
} opts;

static void parse_opts(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->rows = 1000000;
    o->codec = PQ_CODEC_ZSTD;
    o->codec_name = "zstd";
    o->level = 3;
    o->rg_rows = 122880;
    o->pred_col = "timestamp";
    o->columns = "timestamp,body";
    o->late = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || !a[1]) {
            if (o->path)
                die("unexpected argument %s", a);
            o->path = a;
            continue;
        }
        if (!strcmp(a, "--keep-dict")) {
            o->keep_dict = true;
            continue;
        }
        if (!strcmp(a, "--no-late")) {
            o->late = false;
            continue;
        }
        if (!strcmp(a, "--bloom")) {
            o->bloom = true;
            continue;
        }
        if (!v)
            die("%s needs a value", a);
        i++;
        if (!strcmp(a, "--rows")) {
            int64_t n = parse_i64(a, v);
            if (n < 1)
                die("--rows must be >= 1");
            o->rows = (size_t)n;
        } else if (!strcmp(a, "--codec")) {
            o->codec_name = v;
            if (!strcmp(v, "zstd"))
                o->codec = PQ_CODEC_ZSTD;
            else if (!strcmp(v, "snappy"))
                o->codec = PQ_CODEC_SNAPPY;
            else if (!strcmp(v, "gzip"))
                o->codec = PQ_CODEC_GZIP;
            else if (!strcmp(v, "none"))
                o->codec = PQ_CODEC_UNCOMPRESSED;
            else
                die("--codec: zstd, snappy, gzip or none");
        } else if (!strcmp(a, "--level")) {
            o->level = (int)parse_i64(a, v);
        } else if (!strcmp(a, "--row-group-rows")) {
            int64_t n = parse_i64(a, v);
            if (n < 1)
                die("--row-group-rows must be >= 1");
            o->rg_rows = (size_t)n;
        } else if (!strcmp(a, "--corpus")) {
            o->corpus = v;
        } else if (!strcmp(a, "--predicate-column")) {
            o->pred_col = v;
        } else if (!strcmp(a, "--ge")) {
            o->ge = parse_i64(a, v);
            o->has_ge = true;
        } else if (!strcmp(a, "--le")) {
            o->le = parse_i64(a, v);
            o->has_le = true;
        } else if (!strcmp(a, "--columns")) {
            o->columns = v;
        } else {
            die("unknown option %s", a);
        }
    }
    if (!o->path)
        die("missing file argument");
}

/* ---- file I/O ---------------------------------------------------------------------- */

static int fd_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    int fd = *(int *)ctx;
    char *p = dst;
    while (n) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return IG_EIO;
        p += k;
        off += (uint64_t)k;
        n -= (size_t)k;
    }
    return 0;
}

static pq_file *open_pq(const char *path, int *fd)
{
    *fd = open(path, O_RDONLY);
    if (*fd < 0)
        die("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st))
        die("%s: %s", path, strerror(errno));
    pq_source src = {fd_read, fd, (uint64_t)st.st_size};
    pq_file *f;
    ig_errbuf eb = {{0}};
    int rc = pq_open(&f, &src, NULL, &eb);
    if (rc)
        die("%s: %s", path, eb.msg[0] ? eb.msg : ig_strerror(rc));
    return f;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st))
        die("%s: %s", path, strerror(errno));
    return (uint64_t)st.st_size;
}

/* Input bytes recorded by `write`, else the sum of the chunks' uncompressed sizes. */
static uint64_t input_bytes_of(const pq_file *f, const char **how)
{
    const char *v = pq_file_kv(f, KV_INPUT_BYTES);
    int64_t n;
    if (v && !ig_str_to_i64(ig_str_from(v), &n) && n > 0) {
        *how = "logical";
        return (uint64_t)n;
    }
    uint64_t s = 0;
    for (size_t g = 0; g < f->nrgs; g++)
        for (size_t c = 0; c < f->schema->ncols; c++)
            s += (uint64_t)f->rgs[g].cols[c].total_uncompressed;
    *how = "uncompressed_chunks";
    return s;
}

/* ---- write ------------------------------------------------------------------------- */

static int cmd_write(int argc, char **argv)
{
    opts o;
    parse_opts(argc, argv, &o);
    corpus c;
    corpus_load(&c, corpus_dir(o.corpus));
    rowset rs;
    rows_make(&rs, &c, o.rows);
    const pq_schema *schema = ig_table_schema(IG_TABLE_LOGS);
    if (!schema)
        die("ig_table_schema(IG_TABLE_LOGS) failed");
    pq_writer_opts wo = {0};
    wo.codec_set = true;
    wo.codec = o.codec;
    wo.level = o.level;
    wo.row_group_rows = o.rg_rows;
    int fd = open(o.path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("%s: %s", o.path, strerror(errno));
    char ib[32];
    snprintf(ib, sizeof ib, "%" PRIu64, rs.input_bytes);
    ig_rows rows = {.table = IG_TABLE_LOGS, .n = rs.n, .u.logs = rs.rows};
    ig_errbuf eb = {{0}};
    pq_write_result res;
    memset(&res, 0, sizeof res);

    double t0 = now_s();
    pq_writer *w;
    int rc = pq_writer_new(&w, schema, &wo, pq_sink_fd(&fd), &eb);
    if (rc)
        die("pq_writer_new: %s", eb.msg);
    if (o.bloom) {
        int tc = pq_schema_find(schema, "trace_id");
        if (tc >= 0)
            pq_writer_set_bloom(w, tc, true);
    }
    if ((rc = pq_writer_add_kv(w, KV_INPUT_BYTES, ib)))
        die("pq_writer_add_kv: %s", ig_strerror(rc));
    for (size_t from = 0; from < rs.n; from += o.rg_rows) {
        size_t to = from + o.rg_rows < rs.n ? from + o.rg_rows : rs.n;
        if ((rc = ig_rows_write(w, &rows, from, to, &eb)) || (rc = pq_writer_flush(w, &eb)))
            die("write: %s", eb.msg);
    }
    if ((rc = pq_writer_close(w, &res, &eb)))
        die("pq_writer_close: %s", eb.msg);
    pq_writer_free(w);
    double t = now_s() - t0;

    if (close(fd))
        die("%s: %s", o.path, strerror(errno));
    uint64_t fsz = file_size(o.path);
    printf("{\"op\":\"write\",\"engine\":\"icegate\",\"file\":\"%s\",\"rows\":%zu,"
           "\"codec\":\"%s\",\"level\":%d,\"row_group_rows\":%zu,\"row_groups\":%zu,"
           "\"seconds\":%.6f,\"rows_per_s\":%.0f,\"input_bytes\":%" PRIu64
           ",\"mb_per_s\":%.2f,\"file_bytes\":%" PRIu64 ",\"bytes_per_row\":%.3f,"
           "\"ts_min\":%" PRId64 ",\"ts_max\":%" PRId64 ",\"peak_rss_kb\":%ld}\n",
           o.path, rs.n, o.codec_name, o.level, o.rg_rows, res.nrow_groups, t,
           (double)rs.n / t, rs.input_bytes, (double)rs.input_bytes / 1e6 / t, fsz,
           (double)fsz / (double)rs.n, rs.ts_min, rs.ts_max, peak_rss_kb());
    /* Per-column sizes (not timed), to see where the bytes go. */
    printf("{\"op\":\"write_columns\",\"engine\":\"icegate\",\"columns\":{");
    for (size_t k = 0; k < res.ncols; k++)
        printf("%s\"%s\":[%" PRIu64 ",%" PRIu64 "]", k ? "," : "", schema->cols[k].path,
               res.cols[k].compressed_size, res.cols[k].uncompressed_size);
    printf("}}\n");
    pq_write_result_free(&res);
    rows_free(&rs);
    corpus_free(&c);
    return 0;
}

/* ---- read -------------------------------------------------------------------------- */

static int cmd_read(int argc, char **argv)
{
    opts o;
    parse_opts(argc, argv, &o);
    unsigned flags = o.keep_dict ? PQ_READ_KEEP_DICT : 0;
    ig_errbuf eb = {{0}};
    int fd;
    uint64_t nvals = 0, nlevels = 0, ndict_chunks = 0;

    double t0 = now_s();
    pq_file *f = open_pq(o.path, &fd);
    size_t ncols = f->schema->ncols;
    pq_colvec *v = xcalloc(ncols, sizeof(pq_colvec));
    for (size_t c = 0; c < ncols; c++)
        pq_colvec_init(&v[c]);
    for (size_t g = 0; g < f->nrgs; g++)
        for (size_t c = 0; c < ncols; c++) {
            int rc = pq_read_column(f, g, c, NULL, flags, &v[c], &eb);
            if (rc)
                die("read rg %zu col %s: %s", g, f->schema->cols[c].path, eb.msg);
            nvals += v[c].nvals;
            nlevels += v[c].n;
            ndict_chunks += v[c].is_dict;
        }
    double t = now_s() - t0;

    const char *how;
    uint64_t ib = input_bytes_of(f, &how);
    int64_t rows = f->num_rows;
    size_t nrgs = f->nrgs;
    for (size_t c = 0; c < ncols; c++)
        pq_colvec_free(&v[c]);
    ig_free(v);
    pq_close(f);
    close(fd);
    uint64_t fsz = file_size(o.path);
    printf("{\"op\":\"read\",\"engine\":\"icegate\",\"file\":\"%s\",\"keep_dict\":%s,"
           "\"rows\":%" PRId64 ",\"row_groups\":%zu,\"columns\":%zu,\"seconds\":%.6f,"
           "\"rows_per_s\":%.0f,\"input_bytes\":%" PRIu64 ",\"input_bytes_from\":\"%s\","
           "\"mb_per_s\":%.2f,\"file_bytes\":%" PRIu64 ",\"file_mb_per_s\":%.2f,"
           "\"values\":%" PRIu64 ",\"levels\":%" PRIu64 ",\"dict_chunks\":%" PRIu64
           ",\"peak_rss_kb\":%ld}\n",
           o.path, o.keep_dict ? "true" : "false", rows, nrgs, ncols, t, (double)rows / t, ib,
           how, (double)ib / 1e6 / t, fsz, (double)fsz / 1e6 / t, nvals, nlevels,
           ndict_chunks, peak_rss_kb());
    return 0;
}

/* ---- scan -------------------------------------------------------------------------- */

static void split_cols(const pq_schema *s, const char *list, int *cols, size_t *n, size_t max)
{
    *n = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char name[256];
        if (l == 0 || l >= sizeof name)
            die("--columns: bad list %s", list);
        memcpy(name, p, l);
        name[l] = 0;
        int c = pq_schema_find(s, name);
        if (c < 0)
            die("--columns: no column %s", name);
        if (s->cols[c].max_rep)
            die("--columns: %s is nested (flat columns only)", name);
        if (*n == max)
            die("--columns: too many");
        cols[(*n)++] = c;
        p += l + (e ? 1 : 0);
    }
}

static int64_t int_at(const pq_colvec *v, size_t k)
{
    if (v->phys == PQ_INT64)
        return *(const int64_t *)pq_colvec_fixed(v, k);
    return *(const int32_t *)pq_colvec_fixed(v, k);
}

/* Rows selected by sel within pages [first_row[j], first_row[j+1]). */
static void count_pages(pq_file *f, size_t g, int col, const pq_rowsel *sel, bool pruned,
                        uint64_t *total, uint64_t *read)
{
    pq_page_index pi;
    ig_errbuf eb = {{0}};
    if (pq_read_page_index(f, g, (size_t)col, &pi, &eb))
        return;
    int64_t nrows = f->rgs[g].num_rows;
    for (size_t j = 0; j < pi.npages; j++) {
        int64_t b = pi.loc[j].first_row, e = j + 1 < pi.npages ? pi.loc[j + 1].first_row : nrows;
        (*total)++;
        if (pruned)
            continue;
        for (size_t r = 0; r < sel->n; r++)
            if (sel->r[r].begin < e && sel->r[r].end > b) {
                (*read)++;
                break;
            }
    }
    pq_page_index_free(&pi);
}

/* Row selection for row group g from the predicates; returns false if pruned by stats. */
static bool select_rows(pq_file *f, size_t g, const pq_pred *p, size_t np, pq_rowsel *sel,
                        pq_rowsel *tmp, pq_rowsel *tmp2)
{
    ig_errbuf eb = {{0}};
    for (size_t k = 0; k < np; k++)
        if (!pq_rg_may_match(f, g, &p[k]))
            return false;
    int rc = pq_page_select(f, g, &p[0], sel, &eb);
    if (rc)
        die("pq_page_select: %s", eb.msg);
    for (size_t k = 1; k < np; k++) {
        if ((rc = pq_page_select(f, g, &p[k], tmp, &eb)))
            die("pq_page_select: %s", eb.msg);
        tmp2->n = 0;
        if ((rc = pq_rowsel_intersect(sel, tmp, tmp2)))
            die("pq_rowsel_intersect: %s", ig_strerror(rc));
        pq_rowsel t = *sel;
        *sel = *tmp2;
        *tmp2 = t;
    }
    return true;
}

/* Rows of sel (the rows held by pv, in order) whose value passes the predicate, as a
 * selection in msel; returns their count. */
static int64_t match_rows(const pq_colvec *pv, const pq_rowsel *sel, const opts *o,
                          pq_rowsel *msel)
{
    msel->n = 0;
    size_t r = 0, vi = 0;
    for (size_t s = 0; s < sel->n; s++)
        for (int64_t row = sel->r[s].begin; row < sel->r[s].end && r < pv->nrows; row++, r++) {
            if (pv->def && pv->def[r] != pv->max_def)
                continue;
            int64_t x = int_at(pv, vi++);
            if ((!o->has_ge || x >= o->ge) && (!o->has_le || x <= o->le) &&
                pq_rowsel_add(msel, row, row + 1))
                die("out of memory");
        }
    return pq_rowsel_count(msel);
}

#define MAXPROJ 32

static int cmd_scan(int argc, char **argv)
{
    opts o;
    parse_opts(argc, argv, &o);
    if (!o.has_ge && !o.has_le)
        die("scan: give --ge X and/or --le Y");
    unsigned flags = o.keep_dict ? PQ_READ_KEEP_DICT : 0;
    ig_errbuf eb = {{0}};
    int fd;
    int proj[MAXPROJ];
    size_t nproj = 0;
    pq_colvec vec[MAXPROJ];
    for (size_t k = 0; k < MAXPROJ; k++)
        pq_colvec_init(&vec[k]);
    pq_rowsel sel = {0}, tmp = {0}, tmp2 = {0}, msel = {0};
    uint64_t matched = 0, rg_skipped = 0, rg_empty = 0, rows_read = 0;
    uint64_t sum_bytes[MAXPROJ] = {0};
    pq_pred preds[2];
    size_t np = 0;
    int pc = -1;
    size_t pidx = 0;

    double t0 = now_s();
    pq_file *f = open_pq(o.path, &fd);
    split_cols(f->schema, o.columns, proj, &nproj, MAXPROJ - 1);
    pc = pq_schema_find(f->schema, o.pred_col);
    if (pc < 0)
        die("--predicate-column: no column %s", o.pred_col);
    if (f->schema->cols[pc].phys != PQ_INT64 && f->schema->cols[pc].phys != PQ_INT32)
        die("--predicate-column: %s is not INT32/INT64", o.pred_col);
    for (pidx = 0; pidx < nproj && proj[pidx] != pc; pidx++)
        ;
    if (pidx == nproj)
        proj[nproj++] = pc; /* read the predicate column even if not projected */
    if (o.has_ge)
        preds[np++] = (pq_pred){.col = pc, .op = PQ_OP_GE, .i = o.ge};
    if (o.has_le)
        preds[np++] = (pq_pred){.col = pc, .op = PQ_OP_LE, .i = o.le};
    for (size_t g = 0; g < f->nrgs; g++) {
        if (!select_rows(f, g, preds, np, &sel, &tmp, &tmp2)) {
            rg_skipped++;
            continue;
        }
        if (pq_rowsel_count(&sel) == 0) {
            rg_empty++;
            continue;
        }
        if (o.late) {
            /* Late materialisation: the predicate column over the selected pages, then the
             * other columns for exactly the matching rows (pages without one are skipped). */
            if (pq_read_column(f, g, (size_t)pc, &sel, flags, &vec[pidx], &eb))
                die("read rg %zu col %d: %s", g, pc, eb.msg);
            rows_read += vec[pidx].nrows;
            int64_t nm = match_rows(&vec[pidx], &sel, &o, &msel);
            matched += (uint64_t)nm;
            if (!nm)
                continue;
            for (size_t k = 0; k < nproj; k++) {
                if (k == pidx)
                    continue;
                pq_colvec *v = &vec[k];
                if (pq_read_column(f, g, (size_t)proj[k], &msel, flags, v, &eb))
                    die("read rg %zu col %d: %s", g, proj[k], eb.msg);
                for (size_t j = 0; j < v->nvals; j++)
                    sum_bytes[k] += v->phys == PQ_BYTE_ARRAY
                                        ? pq_colvec_bytes(v, j).len
                                        : pq_value_width(v->phys, v->type_length);
            }
            continue;
        }
        for (size_t k = 0; k < nproj; k++)
            if (pq_read_column(f, g, (size_t)proj[k], &sel, flags, &vec[k], &eb))
                die("read rg %zu col %d: %s", g, proj[k], eb.msg);
        const pq_colvec *pv = &vec[pidx];
        size_t nr = pv->nrows;
        rows_read += nr;
        size_t vi[MAXPROJ] = {0};
        for (size_t r = 0; r < nr; r++) {
            bool present = !pv->def || pv->def[r] == pv->max_def;
            bool ok = false;
            if (present) {
                int64_t x = int_at(pv, vi[pidx]);
                ok = (!o.has_ge || x >= o.ge) && (!o.has_le || x <= o.le);
            }
            matched += ok;
            for (size_t k = 0; k < nproj; k++) {
                const pq_colvec *v = &vec[k];
                if (v->def && v->def[r] != v->max_def)
                    continue;
                if (ok && k != pidx)
                    sum_bytes[k] += v->phys == PQ_BYTE_ARRAY
                                        ? pq_colvec_bytes(v, vi[k]).len
                                        : pq_value_width(v->phys, v->type_length);
                vi[k]++;
            }
        }
    }
    double t = now_s() - t0;

    /* Not timed: page accounting over every projected column. */
    uint64_t pages_total = 0, pages_read = 0;
    for (size_t g = 0; g < f->nrgs; g++) {
        bool may = select_rows(f, g, preds, np, &sel, &tmp, &tmp2);
        if (may && o.late && pq_rowsel_count(&sel) > 0) {
            if (pq_read_column(f, g, (size_t)pc, &sel, flags, &vec[pidx], &eb))
                die("read rg %zu col %d: %s", g, pc, eb.msg);
            match_rows(&vec[pidx], &sel, &o, &msel);
        } else {
            msel.n = 0;
        }
        for (size_t k = 0; k < nproj; k++)
            count_pages(f, g, proj[k], o.late && k != pidx ? &msel : &sel, !may, &pages_total,
                        &pages_read);
    }
    const char *how;
    uint64_t ib = input_bytes_of(f, &how);
    int64_t rows = f->num_rows;
    size_t nrgs = f->nrgs;
    printf("{\"op\":\"scan\",\"engine\":\"icegate\",\"file\":\"%s\",\"keep_dict\":%s,"
           "\"late\":%s,\"predicate\":\"%s%s%s\",\"ge\":%" PRId64 ",\"le\":%" PRId64 ",\"columns\":\"",
           o.path, o.keep_dict ? "true" : "false", o.late ? "true" : "false", o.pred_col,
           o.has_ge ? " >= X" : "", o.has_le ? (o.has_ge ? " AND <= Y" : " <= Y") : "", o.has_ge ? o.ge : 0, o.has_le ? o.le : 0);
    for (size_t k = 0; k < nproj; k++)
        printf("%s%s", k ? "," : "", f->schema->cols[proj[k]].path);
    printf("\",\"rows\":%" PRId64 ",\"row_groups\":%zu,\"row_groups_skipped\":%" PRIu64
           ",\"row_groups_no_pages\":%" PRIu64 ",\"pages\":%" PRIu64 ",\"pages_skipped\":%" PRIu64
           ",\"rows_decoded\":%" PRIu64 ",\"rows_matched\":%" PRIu64 ",\"matched_bytes\":{",
           rows, nrgs, rg_skipped, rg_empty, pages_total, pages_total - pages_read, rows_read,
           matched);
    bool first = true;
    for (size_t k = 0; k < nproj; k++)
        if (k != pidx) {
            printf("%s\"%s\":%" PRIu64, first ? "" : ",", f->schema->cols[proj[k]].path,
                   sum_bytes[k]);
            first = false;
        }
    printf("},\"seconds\":%.6f,\"rows_per_s\":%.0f,\"input_bytes\":%" PRIu64
           ",\"input_bytes_from\":\"%s\",\"mb_per_s\":%.2f,\"peak_rss_kb\":%ld}\n",
           t, (double)rows / t, ib, how, (double)ib / 1e6 / t, peak_rss_kb());
    for (size_t k = 0; k < MAXPROJ; k++)
        pq_colvec_free(&vec[k]);
    pq_rowsel_free(&sel);
    pq_rowsel_free(&tmp);
    pq_rowsel_free(&tmp2);
    pq_rowsel_free(&msel);
    pq_close(f);
    close(fd);
    return 0;
}

/* ---- dump-jsonl -------------------------------------------------------------------- */

static void put_hex(ig_buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    ig_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        ig_buf_putc(b, hex[p[i] >> 4]);
        ig_buf_putc(b, hex[p[i] & 15]);
    }
    ig_buf_putc(b, '"');
}

static void put_jstr(ig_buf *b, ig_str s)
{
    if (!s.ptr)
        ig_buf_append_cstr(b, "null");
    else
        ig_buf_json_str(b, s);
}

static void put_jmap(ig_buf *b, const ig_attrs *m)
{
    ig_buf_putc(b, '{');
    for (uint32_t k = 0; k < m->n; k++) {
        if (k)
            ig_buf_putc(b, ',');
        ig_buf_json_str(b, m->items[k].key);
        ig_buf_putc(b, ':');
        put_jstr(b, m->items[k].value);
    }
    ig_buf_putc(b, '}');
}

static void flush_buf(int fd, ig_buf *b, const char *path)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t k = write(fd, b->data + off, b->len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("%s: %s", path, strerror(errno));
        off += (size_t)k;
    }
    ig_buf_reset(b);
}

static int cmd_dump(int argc, char **argv)
{
    opts o;
    parse_opts(argc, argv, &o);
    corpus c;
    corpus_load(&c, corpus_dir(o.corpus));
    rowset rs;
    rows_make(&rs, &c, o.rows);
    int fd = open(o.path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("%s: %s", o.path, strerror(errno));
    ig_buf b;
    ig_buf_init(&b, 0);
    for (size_t i = 0; i < rs.n; i++) {
        const ig_log_row *r = &rs.rows[i];
        ig_buf_append_cstr(&b, "{\"tenant_id\":");
        put_jstr(&b, r->id.tenant_id);
        ig_buf_append_cstr(&b, ",\"account_id\":");
        put_jstr(&b, r->id.account_id);
        ig_buf_append_cstr(&b, ",\"service_name\":");
        put_jstr(&b, r->id.service_name);
        ig_buf_printf(&b, ",\"timestamp\":%" PRId64 ",\"observed_timestamp\":%" PRId64
                          ",\"ingested_timestamp\":%" PRId64 ",\"trace_id\":",
                      r->timestamp_us, r->observed_us, r->ingested_us);
        if (r->has_trace_id)
            put_hex(&b, r->trace_id, 16);
        else
            ig_buf_append_cstr(&b, "null");
        ig_buf_append_cstr(&b, ",\"span_id\":");
        if (r->has_span_id)
            put_hex(&b, r->span_id, 8);
        else
            ig_buf_append_cstr(&b, "null");
        ig_buf_printf(&b, ",\"severity_number\":%" PRId32 ",\"severity_text\":",
                      r->severity_number);
        put_jstr(&b, r->severity_text);
        ig_buf_append_cstr(&b, ",\"body\":");
        put_jstr(&b, r->body);
        ig_buf_append_cstr(&b, ",\"resource_attributes\":");
        put_jmap(&b, &r->resource_attributes);
        ig_buf_append_cstr(&b, ",\"scope_attributes\":");
        put_jmap(&b, &r->scope_attributes);
        ig_buf_append_cstr(&b, ",\"attributes\":");
        put_jmap(&b, &r->attributes);
        ig_buf_append_cstr(&b, ",\"source\":");
        put_jstr(&b, r->source);
        ig_buf_append_cstr(&b, "}\n");
        if (b.len > (1u << 20))
            flush_buf(fd, &b, o.path);
    }
    flush_buf(fd, &b, o.path);
    ig_buf_free(&b);
    if (close(fd))
        die("%s: %s", o.path, strerror(errno));
    printf("{\"op\":\"dump-jsonl\",\"file\":\"%s\",\"rows\":%zu,\"input_bytes\":%" PRIu64
           ",\"jsonl_bytes\":%" PRIu64 ",\"ts_min\":%" PRId64 ",\"ts_max\":%" PRId64 "}\n",
           o.path, rs.n, rs.input_bytes, file_size(o.path), rs.ts_min, rs.ts_max);
    rows_free(&rs);
    corpus_free(&c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: pqbench write|read|scan|dump-jsonl FILE [options] (see tools/pqbench.c)");
    if (!strcmp(argv[1], "write"))
        return cmd_write(argc - 2, argv + 2);
    if (!strcmp(argv[1], "read"))
        return cmd_read(argc - 2, argv + 2);
    if (!strcmp(argv[1], "scan"))
        return cmd_scan(argc - 2, argv + 2);
    if (!strcmp(argv[1], "dump-jsonl"))
        return cmd_dump(argc - 2, argv + 2);
    die("unknown command %s (write, read, scan, dump-jsonl)", argv[1]);
}
