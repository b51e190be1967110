/* otlpbench: OTLP/HTTP logs ingest benchmark (a program, not a test: prints figures,
 * asserts nothing). Driven by bench/ingest_bench.mjs; see bench/README.md.
 *
 *   otlpbench gen --records N --format pb|json|jsonl [--requests M] [--offset K]
 *                 [--corpus DIR] OUT
 *   otlpbench decode FILE --format pb|json [--iters K] [--rounds R]
 *   otlpbench load --url http://127.0.0.1:PORT/v1/logs --file REQ --format pb|json
 *                  [--clients 2] [--seconds 10] [--warmup 1] [--tenant T] [--pid SERVER_PID]
 *
 * gen: M ExportLogsServiceRequests of N records each, written with pb_writer / json_writer.
 *   Bodies are the lines of DIR/<name>.log (default $SHARED_DIR/corpus/logs, else
 *   ../shared/corpus/logs; CR stripped, empty lines and lines that are not valid UTF-8
 *   skipped), taken in order from line K on, cycled. Consecutive records of the same file
 *   share one ResourceLogs (service.name = the file name, service.version, host.name,
 *   k8s.pod.name, deployment.environment) with one ScopeLogs (name, version). Per record:
 *   time_unix_nano, observed_time_unix_nano, severity number and text, body (string
 *   AnyValue), attributes {http.method: string, http.status_code: int, log.file.name:
 *   string}, flags, trace_id (16 B) and span_id (8 B). With M > 1 the output is a bundle:
 *   "OTLPBNDL", then per request a 4-byte little-endian length and the request; decode
 *   and load accept both. `--format jsonl` writes the same records as ClickHouse
 *   JSONEachRow (one object per line, the columns of the chdb table in
 *   bench/ingest_bench.mjs), for the peer.
 * decode: ig_otlp_decode of every request of FILE, K times per round, R rounds (one
 *   thread; arena reset between requests, as the server frees it per request), then the
 *   same bytes through a pure wire walk: for protobuf a schema-aware pb_reader walk of
 *   ExportLogsServiceRequest that descends into every sub-message and reads every value
 *   (views only), for JSON a json_next walk of every token converting every number. One
 *   JSON line each with the best and median round: MB/s and records/s.
 * load: --clients threads, each with one keep-alive HTTP/1.1 connection (plain sockets,
 *   loopback only), posting the requests of REQ in turn (each client starting at a
 *   different one) until --warmup + --seconds have passed. Requests completed inside the
 *   measured window (after the warm-up) count; their latency (send to last byte of the
 *   answer) gives p50/p99/max. With --pid, the server's CPU time is sampled at the
 *   window's start and end, giving records/s and MB/s per core used: the sum of its
 *   threads' run times from /proc/PID/task/TID/schedstat (ns resolution), and as a
 *   cross-check utime + stime of /proc/PID/stat (10 ms ticks, server_cpu_ticks_s).
 *   Prints one JSON line. A non-2xx answer is counted
 *   as an error (the first is printed on stderr); 429/503 are retried after 10 ms. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/json.h"
#include "icegate/log.h"
#include "icegate/otlp.h"
#include "icegate/pb.h"

#define BUNDLE_MAGIC "OTLPBNDL"
#define T0_NS UINT64_C(1717200000000000000) /* 2024-06-01T00:00:00Z */
#define MAX_FILE ((size_t)1 << 30)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("otlpbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t parse_i64(const char *opt, const char *s)
{
    int64_t v;
    if (!s || ig_str_to_i64(ig_str_from(s), &v) < 0)
        die("%s: expected an integer, got '%s'", opt, s ? s : "");
    return v;
}

static double parse_f64(const char *opt, const char *s)
{
    double v;
    if (!s || ig_str_to_f64(ig_str_from(s), &v) < 0)
        die("%s: expected a number, got '%s'", opt, s ? s : "");
    return v;
}

/* Whole file into an ig_buf-owned block (caller frees with ig_free). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    ig_buf b;
    ig_buf_init(&b, MAX_FILE);
    char tmp[1 << 16];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (ig_buf_append(&b, tmp, n) < 0)
            die("%s: larger than %zu bytes", path, MAX_FILE);
    fclose(f);
    if (ig_buf_putc(&b, 0) < 0) /* NUL after the data, not counted */
        die("out of memory");
    char *p = ig_buf_detach(&b, len);
    (*len)--;
    return p;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die("%s: cannot write: %s", path, strerror(errno));
}

/* ---- requests file: one request or a bundle ------------------------------------------ */

typedef struct reqs {
    char *data; /* owned */
    ig_str *req;
    size_t n;
    size_t bytes; /* sum of request sizes */
} reqs;

static void reqs_load(reqs *r, const char *path)
{
    size_t len;
    memset(r, 0, sizeof *r);
    r->data = read_file(path, &len);
    size_t cap = 16;
    r->req = ig_malloc(cap * sizeof *r->req);
    if (len >= 8 && !memcmp(r->data, BUNDLE_MAGIC, 8)) {
        size_t at = 8;
        while (at < len) {
            if (len - at < 4)
                die("%s: truncated bundle", path);
            const uint8_t *p = (const uint8_t *)r->data + at;
            size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
            at += 4;
            if (n > len - at)
                die("%s: truncated bundle", path);
            if (r->n == cap)
                r->req = ig_realloc(r->req, (cap *= 2) * sizeof *r->req);
            r->req[r->n++] = ig_str_make(r->data + at, n);
            r->bytes += n;
            at += n;
        }
    } else {
        r->req[r->n++] = ig_str_make(r->data, len);
        r->bytes = len;
    }
    if (!r->n)
        die("%s: no request", path);
}

static void reqs_free(reqs *r)
{
    ig_free(r->data);
    ig_free(r->req);
}

static ig_otlp_encoding parse_format(const char *s)
{
    if (s && !strcmp(s, "pb"))
        return IG_OTLP_PROTOBUF;
    if (s && !strcmp(s, "json"))
        return IG_OTLP_JSON;
    die("--format: pb or json, got '%s'", s ? s : "");
}

/* ---- corpus ------------------------------------------------------------------------- */

typedef struct line {
    ig_str text;
    int file; /* index into g_files */
} line;

static char g_files[64][64];
static int g_nfiles;
static line *g_lines;
static size_t g_nlines;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_corpus(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        die("corpus %s: %s", dir, strerror(errno));
    char *names[64];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 64) {
        size_t l = strlen(e->d_name);
        if (l > 4 && l < 60 && !strcmp(e->d_name + l - 4, ".log")) {
            names[nn] = ig_malloc(l + 1);
            memcpy(names[nn], e->d_name, l + 1);
            nn++;
        }
    }
    closedir(d);
    if (!nn)
        die("corpus %s: no *.log file", dir);
    qsort(names, (size_t)nn, sizeof *names, cmp_name);
    size_t cap = 1 << 16;
    g_lines = ig_malloc(cap * sizeof *g_lines);
    for (int i = 0; i < nn; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *data = read_file(path, &len); /* kept for the program's life */
        size_t l = strlen(names[i]) - 4;
        memcpy(g_files[g_nfiles], names[i], l);
        g_files[g_nfiles][l] = 0;
        ig_free(names[i]);
        for (size_t at = 0; at < len;) {
            char *nl = memchr(data + at, '\n', len - at);
            size_t n = nl ? (size_t)(nl - (data + at)) : len - at;
            ig_str s = ig_str_make(data + at, n);
            at += n + (nl ? 1 : 0);
            while (s.len && (s.ptr[s.len - 1] == '\r'))
                s.len--;
            if (!s.len || pb_utf8_invalid_at(s) != SIZE_MAX)
                continue;
            if (g_nlines == cap)
                g_lines = ig_realloc(g_lines, (cap *= 2) * sizeof *g_lines);
            g_lines[g_nlines++] = (line){s, g_nfiles};
        }
        g_nfiles++;
    }
    if (!g_nlines)
        die("corpus %s: no usable line", dir);
}

static const char *default_corpus(void)
{
    static char buf[4096];
    const char *sd = getenv("SHARED_DIR");
    if (sd && *sd) {
        snprintf(buf, sizeof buf, "%s/corpus/logs", sd);
        return buf;
    }
    return "../shared/corpus/logs";
}

/* ---- gen ------------------------------------------------------------------------------ */

static const char *SEV_TEXT[] = {"DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"};
static const int SEV_NUM[] = {5, 9, 9, 9, 13, 17};
static const char *METHODS[] = {"GET", "GET", "POST", "PUT", "DELETE"};
static const int STATUS[] = {200, 200, 200, 201, 204, 404, 500};

typedef struct rec {
    uint64_t ts_ns, obs_ns;
    int sev;
    const char *method;
    int status;
    uint8_t trace[16], span[8];
    const line *l;
} rec;

static uint64_t xs(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Record number `i` of the whole run (deterministic). */
static void make_rec(rec *r, size_t i, size_t offset)
{
    uint64_t x = (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
    xs(&x);
    r->l = &g_lines[(offset + i) % g_nlines];
    r->ts_ns = T0_NS + (uint64_t)i * 1000003u + xs(&x) % 1000;
    r->obs_ns = r->ts_ns + 150000;
    r->sev = (int)(xs(&x) % 6);
    r->method = METHODS[xs(&x) % 5];
    r->status = STATUS[xs(&x) % 7];
    uint64_t a = xs(&x), b = xs(&x), c = xs(&x) | 1;
    memcpy(r->trace, &a, 8);
    memcpy(r->trace + 8, &b, 8);
    memcpy(r->span, &c, 8);
}

static char g_host[4][32] = {"ip-10-0-3-17", "ip-10-0-4-2", "ip-10-0-7-88", "ip-10-0-9-120"};

static void pb_kv_str(pb_writer *w, uint32_t field, const char *k, ig_str v)
{
    pb_put_begin(w, field);
    pb_put_bytes(w, 1, ig_str_from(k));
    pb_put_begin(w, 2);
    pb_put_bytes(w, 1, v);
    pb_put_end(w);
    pb_put_end(w);
}

static void pb_kv_int(pb_writer *w, uint32_t field, const char *k, int64_t v)
{
    pb_put_begin(w, field);
    pb_put_bytes(w, 1, ig_str_from(k));
    pb_put_begin(w, 2);
    pb_put_int64(w, 3, v);
    pb_put_end(w);
    pb_put_end(w);
}

static void gen_pb(ig_buf *out, const rec *rs, size_t n)
{
    pb_writer w;
    pb_writer_init(&w, out);
    for (size_t i = 0; i < n;) {
        int file = rs[i].l->file;
        size_t j = i;
        while (j < n && rs[j].l->file == file)
            j++;
        pb_put_begin(&w, 1); /* ResourceLogs */
        pb_put_begin(&w, 1); /* Resource */
        char pod[64];
        snprintf(pod, sizeof pod, "%s-7d9f8b6c5-x2lqp", g_files[file]);
        pb_kv_str(&w, 1, "service.name", ig_str_from(g_files[file]));
        pb_kv_str(&w, 1, "service.version", IG_STR("1.4.2"));
        pb_kv_str(&w, 1, "host.name", ig_str_from(g_host[file % 4]));
        pb_kv_str(&w, 1, "k8s.pod.name", ig_str_from(pod));
        pb_kv_str(&w, 1, "deployment.environment", IG_STR("prod"));
        pb_put_end(&w);
        pb_put_begin(&w, 2); /* ScopeLogs */
        pb_put_begin(&w, 1);
        pb_put_bytes(&w, 1, IG_STR("io.opentelemetry.bench"));
        pb_put_bytes(&w, 2, IG_STR("1.0.0"));
        pb_put_end(&w);
        for (; i < j; i++) {
            const rec *r = &rs[i];
            pb_put_begin(&w, 2); /* LogRecord */
            pb_put_fixed64(&w, 1, r->ts_ns);
            pb_put_varint(&w, 2, (uint64_t)SEV_NUM[r->sev]);
            pb_put_bytes(&w, 3, ig_str_from(SEV_TEXT[r->sev]));
            pb_put_begin(&w, 5);
            pb_put_bytes(&w, 1, r->l->text);
            pb_put_end(&w);
            pb_kv_str(&w, 6, "http.method", ig_str_from(r->method));
            pb_kv_int(&w, 6, "http.status_code", r->status);
            char fname[80];
            snprintf(fname, sizeof fname, "%s.log", g_files[file]);
            pb_kv_str(&w, 6, "log.file.name", ig_str_from(fname));
            pb_put_fixed32(&w, 8, 1);
            pb_put_bytes(&w, 9, ig_str_make(r->trace, 16));
            pb_put_bytes(&w, 10, ig_str_make(r->span, 8));
            pb_put_fixed64(&w, 11, r->obs_ns);
            pb_put_end(&w);
        }
        pb_put_end(&w);
        pb_put_end(&w);
    }
    if (pb_writer_finish(&w) < 0)
        die("pb_writer failed");
}

static void json_kv(json_writer *w, const char *k, const char *vkey, ig_str v)
{
    json_w_obj_begin(w);
    json_w_key(w, IG_STR("key"));
    json_w_str(w, ig_str_from(k));
    json_w_key(w, IG_STR("value"));
    json_w_obj_begin(w);
    json_w_key(w, ig_str_from(vkey));
    json_w_str(w, v);
    json_w_obj_end(w);
    json_w_obj_end(w);
}

static void json_hex(json_writer *w, const uint8_t *p, size_t n)
{
    char hex[33];
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = d[p[i] >> 4];
        hex[2 * i + 1] = d[p[i] & 15];
    }
    json_w_str(w, ig_str_make(hex, 2 * n));
}

static void json_u64s(json_writer *w, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRIu64, v);
    json_w_str(w, ig_str_make(t, (size_t)n));
}

static void gen_json(ig_buf *out, const rec *rs, size_t n)
{
    json_writer w;
    json_writer_init(&w, out);
    json_w_obj_begin(&w);
    json_w_key(&w, IG_STR("resourceLogs"));
    json_w_arr_begin(&w);
    for (size_t i = 0; i < n;) {
        int file = rs[i].l->file;
        size_t j = i;
        while (j < n && rs[j].l->file == file)
            j++;
        char pod[64];
        snprintf(pod, sizeof pod, "%s-7d9f8b6c5-x2lqp", g_files[file]);
        json_w_obj_begin(&w);
        json_w_key(&w, IG_STR("resource"));
        json_w_obj_begin(&w);
        json_w_key(&w, IG_STR("attributes"));
        json_w_arr_begin(&w);
        json_kv(&w, "service.name", "stringValue", ig_str_from(g_files[file]));
        json_kv(&w, "service.version", "stringValue", IG_STR("1.4.2"));
        json_kv(&w, "host.name", "stringValue", ig_str_from(g_host[file % 4]));
        json_kv(&w, "k8s.pod.name", "stringValue", ig_str_from(pod));
        json_kv(&w, "deployment.environment", "stringValue", IG_STR("prod"));
        json_w_arr_end(&w);
        json_w_obj_end(&w);
        json_w_key(&w, IG_STR("scopeLogs"));
        json_w_arr_begin(&w);
        json_w_obj_begin(&w);
        json_w_key(&w, IG_STR("scope"));
        json_w_obj_begin(&w);
        json_w_key(&w, IG_STR("name"));
        json_w_str(&w, IG_STR("io.opentelemetry.bench"));
        json_w_key(&w, IG_STR("version"));
        json_w_str(&w, IG_STR("1.0.0"));
        json_w_obj_end(&w);
        json_w_key(&w, IG_STR("logRecords"));
        json_w_arr_begin(&w);
        for (; i < j; i++) {
            const rec *r = &rs[i];
            char fname[80], st[16];
            snprintf(fname, sizeof fname, "%s.log", g_files[file]);
            int stn = snprintf(st, sizeof st, "%d", r->status);
            json_w_obj_begin(&w);
            json_w_key(&w, IG_STR("timeUnixNano"));
            json_u64s(&w, r->ts_ns);
            json_w_key(&w, IG_STR("observedTimeUnixNano"));
            json_u64s(&w, r->obs_ns);
            json_w_key(&w, IG_STR("severityNumber"));
            json_w_i64(&w, SEV_NUM[r->sev]);
            json_w_key(&w, IG_STR("severityText"));
            json_w_str(&w, ig_str_from(SEV_TEXT[r->sev]));
            json_w_key(&w, IG_STR("body"));
            json_w_obj_begin(&w);
            json_w_key(&w, IG_STR("stringValue"));
            json_w_str(&w, r->l->text);
            json_w_obj_end(&w);
            json_w_key(&w, IG_STR("attributes"));
            json_w_arr_begin(&w);
            json_kv(&w, "http.method", "stringValue", ig_str_from(r->method));
            json_kv(&w, "http.status_code", "intValue", ig_str_make(st, (size_t)stn));
            json_kv(&w, "log.file.name", "stringValue", ig_str_from(fname));
            json_w_arr_end(&w);
            json_w_key(&w, IG_STR("flags"));
            json_w_i64(&w, 1);
            json_w_key(&w, IG_STR("traceId"));
            json_hex(&w, r->trace, 16);
            json_w_key(&w, IG_STR("spanId"));
            json_hex(&w, r->span, 8);
            json_w_obj_end(&w);
        }
        json_w_arr_end(&w);
        json_w_obj_end(&w);
        json_w_arr_end(&w);
        json_w_obj_end(&w);
    }
    json_w_arr_end(&w);
    json_w_obj_end(&w);
    if (json_writer_finish(&w) < 0)
        die("json_writer failed");
}

static void json_ts(json_writer *w, uint64_t ns)
{
    time_t s = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    char t[48];
    int n = snprintf(t, sizeof t, "%04d-%02d-%02d %02d:%02d:%02d.%09u", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unsigned)(ns % 1000000000u));
    json_w_str(w, ig_str_make(t, (size_t)n));
}

static void json_mkv(json_writer *w, const char *k, ig_str v)
{
    json_w_key(w, ig_str_from(k));
    json_w_str(w, v);
}

/* ClickHouse JSONEachRow with the columns of the chdb table (bench/ingest_bench.mjs). */
static void gen_jsonl(ig_buf *out, const rec *rs, size_t n, const char *tenant)
{
    for (size_t i = 0; i < n; i++) {
        const rec *r = &rs[i];
        int file = r->l->file;
        char pod[64], fname[80], st[16];
        snprintf(pod, sizeof pod, "%s-7d9f8b6c5-x2lqp", g_files[file]);
        snprintf(fname, sizeof fname, "%s.log", g_files[file]);
        int stn = snprintf(st, sizeof st, "%d", r->status);
        json_writer w;
        json_writer_init(&w, out);
        json_w_obj_begin(&w);
        json_mkv(&w, "tenant_id", ig_str_from(tenant));
        json_w_key(&w, IG_STR("timestamp"));
        json_ts(&w, r->ts_ns);
        json_w_key(&w, IG_STR("observed_timestamp"));
        json_ts(&w, r->obs_ns);
        json_mkv(&w, "service_name", ig_str_from(g_files[file]));
        json_mkv(&w, "severity_text", ig_str_from(SEV_TEXT[r->sev]));
        json_w_key(&w, IG_STR("severity_number"));
        json_w_i64(&w, SEV_NUM[r->sev]);
        json_mkv(&w, "body", r->l->text);
        json_w_key(&w, IG_STR("trace_id"));
        json_hex(&w, r->trace, 16);
        json_w_key(&w, IG_STR("span_id"));
        json_hex(&w, r->span, 8);
        json_w_key(&w, IG_STR("flags"));
        json_w_i64(&w, 1);
        json_mkv(&w, "scope_name", IG_STR("io.opentelemetry.bench"));
        json_mkv(&w, "scope_version", IG_STR("1.0.0"));
        json_w_key(&w, IG_STR("resource_attributes"));
        json_w_obj_begin(&w);
        json_mkv(&w, "service.name", ig_str_from(g_files[file]));
        json_mkv(&w, "service.version", IG_STR("1.4.2"));
        json_mkv(&w, "host.name", ig_str_from(g_host[file % 4]));
        json_mkv(&w, "k8s.pod.name", ig_str_from(pod));
        json_mkv(&w, "deployment.environment", IG_STR("prod"));
        json_w_obj_end(&w);
        json_w_key(&w, IG_STR("attributes"));
        json_w_obj_begin(&w);
        json_mkv(&w, "http.method", ig_str_from(r->method));
        json_mkv(&w, "http.status_code", ig_str_make(st, (size_t)stn));
        json_mkv(&w, "log.file.name", ig_str_from(fname));
        json_w_obj_end(&w);
        json_w_obj_end(&w);
        if (json_writer_finish(&w) < 0 || ig_buf_putc(out, '\n') < 0)
            die("json_writer failed");
    }
}

static int cmd_gen(int argc, char **argv)
{
    size_t nrec = 100, nreq = 1, offset = 0;
    const char *fmt = "pb", *out = NULL, *corpus = default_corpus(), *tenant = "bench";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--records"))
            nrec = (size_t)parse_i64(a, v), i++;
        else if (!strcmp(a, "--requests"))
            nreq = (size_t)parse_i64(a, v), i++;
        else if (!strcmp(a, "--offset"))
            offset = (size_t)parse_i64(a, v), i++;
        else if (!strcmp(a, "--format") && v)
            fmt = v, i++;
        else if (!strcmp(a, "--corpus") && v)
            corpus = v, i++;
        else if (!strcmp(a, "--tenant") && v)
            tenant = v, i++;
        else if (a[0] != '-' && !out)
            out = a;
        else
            die("gen: unknown argument '%s'", a);
    }
    if (!out || !nrec || !nreq)
        die("gen: --records N [--requests M] --format pb|json|jsonl OUT");
    int kind = !strcmp(fmt, "pb") ? 0 : !strcmp(fmt, "json") ? 1 : !strcmp(fmt, "jsonl") ? 2 : -1;
    if (kind < 0)
        die("gen: --format pb, json or jsonl");
    load_corpus(corpus);
    rec *rs = ig_malloc(nrec * sizeof *rs);
    ig_buf file, one;
    ig_buf_init(&file, MAX_FILE);
    ig_buf_init(&one, MAX_FILE);
    if (nreq > 1 && kind != 2)
        ig_buf_append(&file, BUNDLE_MAGIC, 8);
    uint64_t body_bytes = 0;
    for (size_t q = 0; q < nreq; q++) {
        for (size_t i = 0; i < nrec; i++) {
            make_rec(&rs[i], q * nrec + i, offset);
            body_bytes += rs[i].l->text.len;
        }
        ig_buf_reset(&one);
        if (kind == 0)
            gen_pb(&one, rs, nrec);
        else if (kind == 1)
            gen_json(&one, rs, nrec);
        else
            gen_jsonl(&one, rs, nrec, tenant);
        if (nreq > 1 && kind != 2) {
            uint8_t l4[4] = {(uint8_t)one.len, (uint8_t)(one.len >> 8), (uint8_t)(one.len >> 16),
                             (uint8_t)(one.len >> 24)};
            ig_buf_append(&file, l4, 4);
        }
        if (ig_buf_append(&file, one.data, one.len) < 0)
            die("gen: output larger than %zu bytes", MAX_FILE);
    }
    write_file(out, file.data, file.len);
    printf("{\"mode\":\"gen\",\"format\":\"%s\",\"records\":%zu,\"requests\":%zu,"
           "\"bytes\":%zu,\"bytes_per_record\":%.1f,\"body_bytes_per_record\":%.1f,"
           "\"corpus_lines\":%zu}\n",
           fmt, nrec, nreq, file.len, (double)file.len / (double)(nrec * nreq),
           (double)body_bytes / (double)(nrec * nreq), g_nlines);
    ig_buf_free(&file);
    ig_buf_free(&one);
    ig_free(rs);
    return 0;
}

/* ---- decode --------------------------------------------------------------------------- */

static uint64_t g_sink; /* keeps the walks from being optimised away */

static int walk_any(pb_reader *r);

static int walk_kv(pb_reader *r)
{
    int rc;
    ig_str s;
    pb_reader sub;
    while ((rc = pb_next(r)) > 0) {
        if (r->field == 1) {
            rc = pb_string(r, &s);
            g_sink += s.len;
        } else if (r->field == 2) {
            rc = pb_sub(r, &sub);
            if (rc == 0)
                rc = walk_any(&sub);
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int walk_any(pb_reader *r)
{
    int rc;
    ig_str s;
    uint64_t v;
    pb_reader sub;
    while ((rc = pb_next(r)) > 0) {
        switch (r->field) {
        case 1:
            rc = pb_string(r, &s);
            g_sink += s.len;
            break;
        case 2:
        case 3:
            rc = pb_varint(r, &v);
            g_sink += v;
            break;
        case 4:
            rc = pb_fixed64(r, &v);
            g_sink += v;
            break;
        case 5: /* ArrayValue { repeated AnyValue values = 1 } */
        case 6: /* KeyValueList { repeated KeyValue values = 1 } */ {
            unsigned f = r->field;
            rc = pb_sub(r, &sub);
            pb_reader el;
            while (rc == 0 && (rc = pb_next(&sub)) > 0) {
                if (sub.field != 1)
                    continue;
                rc = pb_sub(&sub, &el);
                if (rc == 0)
                    rc = f == 5 ? walk_any(&el) : walk_kv(&el);
            }
            break;
        }
        case 7:
            rc = pb_bytes(r, &s);
            g_sink += s.len;
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* Resource / InstrumentationScope / LogRecord: every field read. */
static int walk_msg_attrs(pb_reader *r, unsigned attr_field, size_t *nrec)
{
    int rc;
    ig_str s;
    uint64_t v;
    pb_reader sub;
    (void)nrec;
    while ((rc = pb_next(r)) > 0) {
        if (r->field == attr_field) {
            rc = pb_sub(r, &sub);
            if (rc == 0)
                rc = walk_kv(&sub);
        } else if (r->wire == PB_LEN) {
            if (attr_field == 6 && r->field == 5) { /* body */
                rc = pb_sub(r, &sub);
                if (rc == 0)
                    rc = walk_any(&sub);
            } else if (attr_field == 6 && (r->field == 9 || r->field == 10)) {
                rc = pb_bytes(r, &s);
                g_sink += s.len;
            } else {
                rc = pb_string(r, &s);
                g_sink += s.len;
            }
        } else if (r->wire == PB_VARINT) {
            rc = pb_varint(r, &v);
            g_sink += v;
        } else if (r->wire == PB_I64) {
            rc = pb_fixed64(r, &v);
            g_sink += v;
        } else if (r->wire == PB_I32) {
            uint32_t u;
            rc = pb_fixed32(r, &u);
            g_sink += u;
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int walk_logs_request(ig_str body, size_t *nrec, ig_errbuf *eb)
{
    pb_reader top, rl, sl, sub;
    pb_reader_init(&top, body, eb);
    int rc;
    while ((rc = pb_next(&top)) > 0) {
        if (top.field != 1)
            continue;
        if ((rc = pb_sub(&top, &rl)) < 0)
            return rc;
        while ((rc = pb_next(&rl)) > 0) {
            if (rl.field == 1) { /* Resource */
                if ((rc = pb_sub(&rl, &sub)) < 0 || (rc = walk_msg_attrs(&sub, 1, NULL)) < 0)
                    return rc;
            } else if (rl.field == 2) { /* ScopeLogs */
                if ((rc = pb_sub(&rl, &sl)) < 0)
                    return rc;
                while ((rc = pb_next(&sl)) > 0) {
                    if (sl.field == 1) {
                        if ((rc = pb_sub(&sl, &sub)) < 0 ||
                            (rc = walk_msg_attrs(&sub, 3, NULL)) < 0)
                            return rc;
                    } else if (sl.field == 2) {
                        if ((rc = pb_sub(&sl, &sub)) < 0 ||
                            (rc = walk_msg_attrs(&sub, 6, NULL)) < 0)
                            return rc;
                        (*nrec)++;
                    } else if (sl.field == 3) {
                        ig_str s;
                        if ((rc = pb_string(&sl, &s)) < 0)
                            return rc;
                    }
                }
                if (rc < 0)
                    return rc;
            } else if (rl.field == 3) {
                ig_str s;
                if ((rc = pb_string(&rl, &s)) < 0)
                    return rc;
            }
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int walk_json(ig_str body, size_t *ntok, ig_errbuf *eb)
{
    json_reader r;
    json_reader_init(&r, body, eb);
    json_tok t;
    int rc;
    while ((rc = json_next(&r, &t)) > 0) {
        (*ntok)++;
        if (t.type == JSON_NUMBER) {
            int64_t v;
            if (json_num_i64(t.str, &v) == 0)
                g_sink += (uint64_t)v;
        } else {
            g_sink += t.str.len;
        }
    }
    json_reader_free(&r);
    return rc;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, const char *fmt, const reqs *q, size_t records, double *secs,
                   int rounds, int iters, const char *extra)
{
    qsort(secs, (size_t)rounds, sizeof *secs, cmp_dbl);
    double best = secs[0], med = secs[rounds / 2];
    double bytes = (double)q->bytes * iters, recs = (double)records * iters;
    printf("{\"mode\":\"decode\",\"what\":\"%s\",\"format\":\"%s\",\"requests\":%zu,"
           "\"request_bytes\":%zu,\"records\":%zu,\"iters\":%d,\"rounds\":%d,"
           "\"best_mb_per_s\":%.1f,\"median_mb_per_s\":%.1f,\"best_records_per_s\":%.0f,"
           "\"median_records_per_s\":%.0f%s}\n",
           what, fmt, q->n, q->bytes / q->n, records, iters, rounds, bytes / best / 1e6,
           bytes / med / 1e6, recs / best, recs / med, extra);
}

static int cmd_decode(int argc, char **argv)
{
    const char *path = NULL, *fmt = NULL;
    int iters = 0, rounds = 5;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--format") && v)
            fmt = v, i++;
        else if (!strcmp(a, "--iters"))
            iters = (int)parse_i64(a, v), i++;
        else if (!strcmp(a, "--rounds"))
            rounds = (int)parse_i64(a, v), i++;
        else if (a[0] != '-' && !path)
            path = a;
        else
            die("decode: unknown argument '%s'", a);
    }
    if (!path || !fmt)
        die("decode: FILE --format pb|json [--iters K] [--rounds R]");
    if (rounds < 1 || rounds > 1000)
        rounds = 5;
    ig_otlp_encoding enc = parse_format(fmt);
    reqs q;
    reqs_load(&q, path);
    if (iters <= 0) /* about 64 MB per round */
        iters = (int)(((size_t)64 << 20) / q.bytes) + 1;

    ig_arena arena;
    ig_arena_init(&arena, (size_t)256 << 20);
    ig_errbuf eb = {""};
    ig_ingest_ctx ctx = {.tenant_id = IG_STR("bench"), .now_us = 1717200000000000, .arena = &arena};
    ig_decode_result res;
    size_t records = 0;
    for (size_t k = 0; k < q.n; k++) { /* check + count + warm-up */
        if (ig_otlp_decode(IG_SIGNAL_LOGS, enc, q.req[k], &ctx, &res, &eb) < 0)
            die("decode: request %zu: %s", k, eb.msg);
        records += res.accepted;
        ig_arena_reset(&arena);
    }
    double *secs = ig_malloc((size_t)rounds * sizeof *secs);
    for (int r = 0; r < rounds; r++) {
        int64_t t0 = now_ns();
        for (int it = 0; it < iters; it++)
            for (size_t k = 0; k < q.n; k++) {
                if (ig_otlp_decode(IG_SIGNAL_LOGS, enc, q.req[k], &ctx, &res, &eb) < 0)
                    die("decode: %s", eb.msg);
                ig_arena_reset(&arena);
            }
        secs[r] = (double)(now_ns() - t0) / 1e9;
    }
    report("ig_otlp_decode", fmt, &q, records, secs, rounds, iters, "");

    size_t walked = 0;
    for (int r = 0; r < rounds; r++) {
        int64_t t0 = now_ns();
        for (int it = 0; it < iters; it++)
            for (size_t k = 0; k < q.n; k++) {
                size_t n = 0;
                int rc = enc == IG_OTLP_PROTOBUF ? walk_logs_request(q.req[k], &n, &eb)
                                                 : walk_json(q.req[k], &n, &eb);
                if (rc < 0)
                    die("walk: %s", eb.msg);
                if (r == 0 && it == 0)
                    walked += n;
            }
        secs[r] = (double)(now_ns() - t0) / 1e9;
    }
    char extra[96];
    snprintf(extra, sizeof extra, ",\"%s\":%zu,\"sink\":%" PRIu64,
             enc == IG_OTLP_PROTOBUF ? "walk_records" : "walk_tokens", walked, g_sink & 0xff);
    report(enc == IG_OTLP_PROTOBUF ? "pb_reader walk" : "json_next walk", fmt, &q, records, secs,
           rounds, iters, extra);
    ig_free(secs);
    ig_arena_free(&arena);
    reqs_free(&q);
    return 0;
}

/* ---- load ----------------------------------------------------------------------------- */

typedef struct client {
    pthread_t th;
    int idx;
    const reqs *q;
    struct sockaddr_in addr;
    char head[1024]; /* request line + headers, without Content-Length */
    /* results */
    int64_t *lat_ns;
    size_t nlat, caplat;
    uint64_t requests, bytes, errors, retries, reconnects;
    int first_status;
    char first_err[256];
} client;

static atomic_int g_phase;             /* 0 warm-up, 1 measured, 2 stop */
static size_t g_records_per_req_total; /* records over all requests of the file */

static int connect_to(const struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {30, 0}; /* bounded: a stuck server cannot hang the benchmark */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)a, sizeof *a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Reads one HTTP/1.1 response (Content-Length or chunked). Returns the status, or -1 on a
 * connection error. *keep = 0 when the server closes the connection. The body (up to
 * 255 bytes) goes to errbody. */
static int read_response(int fd, ig_buf *in, int *keep, char *errbody, size_t errcap)
{
    ig_buf_reset(in);
    size_t hend = 0;
    for (;;) {
        if (ig_buf_reserve(in, 4096) < 0)
            return -1;
        ssize_t r = read(fd, in->data + in->len, in->cap - in->len - 1);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        in->len += (size_t)r;
        char *e = memmem(in->data, in->len, "\r\n\r\n", 4);
        if (e) {
            hend = (size_t)(e - in->data) + 4;
            break;
        }
    }
    int status = 0;
    if (in->len < 12 || strncmp(in->data, "HTTP/1.", 7))
        return -1;
    status = (in->data[9] - '0') * 100 + (in->data[10] - '0') * 10 + (in->data[11] - '0');
    long clen = -1;
    bool chunked = false;
    *keep = in->data[7] == '1';
    for (char *p = memchr(in->data, '\n', hend); p && (size_t)(p - in->data) < hend;) {
        p++;
        char *nl = memchr(p, '\n', hend - (size_t)(p - in->data));
        if (!nl)
            break;
        size_t ll = (size_t)(nl - p);
        if (ll > 15 && !strncasecmp(p, "content-length:", 15)) {
            int64_t v;
            ig_str s = ig_str_trim(ig_str_make(p + 15, ll - 15));
            while (s.len && (s.ptr[s.len - 1] == '\r'))
                s.len--;
            if (ig_str_to_i64(s, &v) == 0)
                clen = (long)v;
        } else if (ll > 18 && !strncasecmp(p, "transfer-encoding:", 18) &&
                   memmem(p, ll, "chunked", 7)) {
            chunked = true;
        } else if (ll > 11 && !strncasecmp(p, "connection:", 11) && memmem(p, ll, "close", 5)) {
            *keep = 0;
        }
        p = nl;
    }
    if (chunked) { /* read until the terminating 0-size chunk */
        for (;;) {
            if (in->len >= hend + 5 && !memcmp(in->data + in->len - 5, "0\r\n\r\n", 5))
                break;
            if (ig_buf_reserve(in, 4096) < 0)
                return -1;
            ssize_t r = read(fd, in->data + in->len, in->cap - in->len - 1);
            if (r <= 0)
                return -1;
            in->len += (size_t)r;
        }
    } else {
        if (clen < 0)
            clen = 0;
        while (in->len < hend + (size_t)clen) {
            if (ig_buf_reserve(in, 4096) < 0)
                return -1;
            ssize_t r = read(fd, in->data + in->len, in->cap - in->len - 1);
            if (r <= 0)
                return -1;
            in->len += (size_t)r;
        }
    }
    if (errbody && errcap) {
        size_t n = in->len - hend < errcap - 1 ? in->len - hend : errcap - 1;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)in->data[hend + i];
            errbody[i] = c >= 0x20 && c < 0x7f ? (char)c : '.';
        }
        errbody[n] = 0;
    }
    return status;
}

static void *client_main(void *arg)
{
    client *c = arg;
    ig_buf in;
    ig_buf_init(&in, (size_t)1 << 20);
    int fd = -1;
    size_t k = (size_t)c->idx * 7919 % c->q->n;
    size_t hl = strlen(c->head);
    while (atomic_load(&g_phase) < 2) {
        if (fd < 0) {
            fd = connect_to(&c->addr);
            if (fd < 0) {
                c->errors++;
                if (!c->first_status) {
                    c->first_status = -1;
                    snprintf(c->first_err, sizeof c->first_err, "connect: %s", strerror(errno));
                }
                usleep(100000);
                continue;
            }
        }
        ig_str body = c->q->req[k];
        char cl[48];
        int cln = snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", body.len);
        struct iovec iov[3] = {{c->head, hl}, {cl, (size_t)cln}, {(void *)body.ptr, body.len}};
        int phase0 = atomic_load(&g_phase);
        int64_t t0 = now_ns();
        int keep = 0, status = -1;
        char eb[256] = "";
        if (send_all(fd, iov, 3) == 0)
            status = read_response(fd, &in, &keep, eb, sizeof eb);
        int64_t t1 = now_ns();
        int phase1 = atomic_load(&g_phase);
        if (status < 0 || !keep) {
            close(fd);
            fd = -1;
            c->reconnects++;
        }
        if (status >= 200 && status < 300) {
            if (phase0 == 1 && phase1 == 1) {
                c->requests++;
                c->bytes += body.len;
                if (c->nlat == c->caplat) {
                    c->caplat = c->caplat ? c->caplat * 2 : 4096;
                    c->lat_ns = ig_realloc(c->lat_ns, c->caplat * sizeof *c->lat_ns);
                }
                c->lat_ns[c->nlat++] = t1 - t0;
            }
            k = (k + 1) % c->q->n;
        } else {
            if (status == 429 || status == 503) {
                c->retries++;
                usleep(10000);
            } else {
                c->errors++;
                k = (k + 1) % c->q->n;
            }
            if (!c->first_status) {
                c->first_status = status;
                snprintf(c->first_err, sizeof c->first_err, "%s", eb);
            }
        }
    }
    if (fd >= 0)
        close(fd);
    ig_buf_free(&in);
    return NULL;
}

/* CPU time of a process in seconds, -1 if unknown: the sum over its threads of
 * /proc/PID/task/TID/schedstat (ns resolution; threads that exited are missing, so the
 * caller compares it with proc_stat_cpu_s), else utime + stime of /proc/PID/stat (all
 * threads, exited ones included, in clock ticks of 10 ms). */
static double proc_stat_cpu_s(long pid);
static double proc_cpu_s(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return proc_stat_cpu_s(pid);
    unsigned long long ns = 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char p2[384];
        snprintf(p2, sizeof p2, "/proc/%ld/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(p2, "r");
        unsigned long long v;
        if (f && fscanf(f, "%llu", &v) == 1) {
            ns += v;
            n++;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return n ? (double)ns / 1e9 : proc_stat_cpu_s(pid);
}

static double proc_stat_cpu_s(long pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may hold spaces */
    if (!p)
        return -1;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) */
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void sleep_until(int64_t t)
{
    for (int64_t now; (now = now_ns()) < t;) {
        int64_t d = t - now;
        struct timespec ts = {(time_t)(d / 1000000000), (long)(d % 1000000000)};
        nanosleep(&ts, NULL);
    }
}

static int cmd_load(int argc, char **argv)
{
    const char *url = NULL, *path = NULL, *fmt = NULL, *tenant = "bench";
    int nclients = 2;
    double seconds = 10, warmup = 1;
    long pid = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--url") && v)
            url = v, i++;
        else if (!strcmp(a, "--file") && v)
            path = v, i++;
        else if (!strcmp(a, "--format") && v)
            fmt = v, i++;
        else if (!strcmp(a, "--tenant") && v)
            tenant = v, i++;
        else if (!strcmp(a, "--clients"))
            nclients = (int)parse_i64(a, v), i++;
        else if (!strcmp(a, "--seconds"))
            seconds = parse_f64(a, v), i++;
        else if (!strcmp(a, "--warmup"))
            warmup = parse_f64(a, v), i++;
        else if (!strcmp(a, "--pid"))
            pid = (long)parse_i64(a, v), i++;
        else
            die("load: unknown argument '%s'", a);
    }
    if (!url || !path || !fmt)
        die("load: --url http://127.0.0.1:PORT/v1/logs --file REQ --format pb|json "
            "[--clients N] [--seconds S] [--warmup S] [--tenant T] [--pid PID]");
    if (nclients < 1 || nclients > 256)
        die("load: --clients 1..256");
    if (!(seconds > 0 && seconds <= 3600) || !(warmup >= 0 && warmup <= 600))
        die("load: --seconds 0..3600, --warmup 0..600");
    ig_otlp_encoding enc = parse_format(fmt);

    /* http://HOST:PORT/PATH, loopback only */
    if (strncmp(url, "http://", 7))
        die("load: only http:// URLs");
    const char *h = url + 7, *colon = strchr(h, ':'), *slash = strchr(h, '/');
    if (!colon || !slash || colon > slash)
        die("load: URL needs host:port and a path");
    char host[64];
    size_t hlen = (size_t)(colon - h);
    if (hlen >= sizeof host)
        die("load: host too long");
    memcpy(host, h, hlen);
    host[hlen] = 0;
    int64_t port;
    if (ig_str_to_i64(ig_str_make(colon + 1, (size_t)(slash - colon - 1)), &port) < 0 || port < 1 ||
        port > 65535)
        die("load: bad port in %s", url);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (!strcmp(host, "localhost"))
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    else if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        die("load: host must be an IPv4 loopback address or localhost");
    if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127)
        die("load: loopback only (127.0.0.0/8), got %s", host);

    reqs q;
    reqs_load(&q, path);
    { /* check the requests decode, and count their records */
        ig_arena arena;
        ig_arena_init(&arena, (size_t)256 << 20);
        ig_errbuf eb = {""};
        ig_ingest_ctx ctx = {.tenant_id = IG_STR("bench"), .arena = &arena};
        ig_decode_result res;
        for (size_t k = 0; k < q.n; k++) {
            if (ig_otlp_decode(IG_SIGNAL_LOGS, enc, q.req[k], &ctx, &res, &eb) < 0)
                die("load: request %zu does not decode: %s", k, eb.msg);
            g_records_per_req_total += res.accepted;
            ig_arena_reset(&arena);
        }
        ig_arena_free(&arena);
    }

    client *cs = ig_calloc((size_t)nclients, sizeof *cs);
    for (int i = 0; i < nclients; i++) {
        cs[i].idx = i;
        cs[i].q = &q;
        cs[i].addr = addr;
        snprintf(cs[i].head, sizeof cs[i].head,
                 "POST %s HTTP/1.1\r\nHost: %s:%d\r\nX-Scope-OrgID: %s\r\n"
                 "Content-Type: %s\r\nUser-Agent: otlpbench\r\n",
                 slash, host, (int)port, tenant,
                 enc == IG_OTLP_PROTOBUF ? "application/x-protobuf" : "application/json");
    }
    atomic_store(&g_phase, warmup > 0 ? 0 : 1);
    int64_t start = now_ns();
    for (int i = 0; i < nclients; i++)
        if (pthread_create(&cs[i].th, NULL, client_main, &cs[i]))
            die("load: pthread_create failed");
    int64_t tw = start + (int64_t)(warmup * 1e9);
    sleep_until(tw);
    double s_cpu0 = pid ? proc_cpu_s(pid) : -1, c_cpu0 = self_cpu_s();
    double s_tick0 = pid ? proc_stat_cpu_s(pid) : -1;
    int64_t m0 = now_ns();
    atomic_store(&g_phase, 1);
    sleep_until(m0 + (int64_t)(seconds * 1e9));
    atomic_store(&g_phase, 2);
    int64_t m1 = now_ns();
    double s_cpu1 = pid ? proc_cpu_s(pid) : -1, c_cpu1 = self_cpu_s();
    double s_tick1 = pid ? proc_stat_cpu_s(pid) : -1;
    for (int i = 0; i < nclients; i++)
        pthread_join(cs[i].th, NULL);

    uint64_t nreq = 0, bytes = 0, errors = 0, retries = 0, reconnects = 0;
    size_t nlat = 0;
    for (int i = 0; i < nclients; i++) {
        nreq += cs[i].requests;
        bytes += cs[i].bytes;
        errors += cs[i].errors;
        retries += cs[i].retries;
        reconnects += cs[i].reconnects;
        nlat += cs[i].nlat;
        if (cs[i].first_status)
            fprintf(stderr, "otlpbench: client %d: first failure: status %d: %s\n", i,
                    cs[i].first_status, cs[i].first_err);
    }
    int64_t *lat = ig_malloc((nlat ? nlat : 1) * sizeof *lat);
    for (int i = 0, at = 0; i < nclients; i++) {
        if (cs[i].nlat)
            memcpy(lat + at, cs[i].lat_ns, cs[i].nlat * sizeof *lat);
        at += (int)cs[i].nlat;
    }
    qsort(lat, nlat, sizeof *lat, cmp_i64);
    double wall = (double)(m1 - m0) / 1e9;
    /* records per request: the average over the file (all requests have the same count
     * when made by gen) */
    double rpr = (double)g_records_per_req_total / (double)q.n;
    double records = (double)nreq * rpr;
    double scpu = s_cpu0 >= 0 && s_cpu1 >= 0 ? s_cpu1 - s_cpu0 : -1;
    double p50 = nlat ? lat[nlat / 2] / 1e6 : 0, p99 = nlat ? lat[(nlat * 99) / 100] / 1e6 : 0;
    double pmax = nlat ? lat[nlat - 1] / 1e6 : 0;
    printf("{\"mode\":\"load\",\"format\":\"%s\",\"clients\":%d,\"records_per_request\":%.0f,"
           "\"request_bytes\":%.0f,\"seconds\":%.3f,\"requests\":%" PRIu64 ",\"records\":%.0f,"
           "\"records_per_s\":%.0f,\"mb_per_s\":%.2f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
           "\"max_ms\":%.2f,\"errors\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"reconnects\":%" PRIu64
           ",\"client_cpu_s\":%.2f",
           fmt, nclients, rpr, (double)q.bytes / (double)q.n, wall, nreq, records, records / wall,
           (double)bytes / wall / 1e6, p50, p99, pmax, errors, retries, reconnects,
           c_cpu1 - c_cpu0);
    if (scpu > 0)
        printf(",\"server_cpu_s\":%.2f,\"server_cores\":%.2f,\"records_per_core_s\":%.0f,"
               "\"mb_per_core_s\":%.2f",
               scpu, scpu / wall, records / scpu, (double)bytes / scpu / 1e6);
    if (s_tick0 >= 0 && s_tick1 >= 0)
        printf(",\"server_cpu_ticks_s\":%.2f", s_tick1 - s_tick0);
    printf("}\n");
    for (int i = 0; i < nclients; i++)
        ig_free(cs[i].lat_ns);
    ig_free(cs);
    ig_free(lat);
    reqs_free(&q);
    return errors && !nreq ? 1 : 0;
}

int main(int argc, char **argv)
{
    ig_log_set_level(IG_LOG_WARN);
    if (argc < 2)
        die("usage: otlpbench gen|decode|load ... (see the comment at the top of "
            "tools/otlpbench.c)");
    if (!strcmp(argv[1], "gen"))
        return cmd_gen(argc - 2, argv + 2);
    if (!strcmp(argv[1], "decode"))
        return cmd_decode(argc - 2, argv + 2);
    if (!strcmp(argv[1], "load"))
        return cmd_load(argc - 2, argv + 2);
    die("unknown mode '%s' (gen, decode, load)", argv[1]);
}
