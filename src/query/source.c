/* The logs-table source of the LogQL engine (lq_table_source). Design note: docs/query.md
 * "Source".
 *
 * scan(): plans the scan (ig_plan_scan: tenant/account/day partitions, file bounds,
 * row-group statistics, WAL footers), then per planned row group reads the tenant,
 * account and timestamp columns first and builds the selection of rows of this tenant,
 * account and [start, end); only when some row remains are the other columns read, and
 * only for the selected rows (pages without a selected row are skipped by the reader).
 *
 * Label view (DESIGN §5): rows with source "loki" carry exactly their pushed stream
 * labels (resource_attributes) and structured metadata (attributes). OTLP rows follow
 * Loki's OTLP mapping (loki-notes §5): service_name plus the resource attributes in
 * Loki's default index-label list as stream labels, the other resource attributes, scope
 * fields and attributes, record fields and detected_level as structured metadata; names
 * normalised as Loki's distributor does. When the query has no account, a row's
 * account_id (when set) is a stream label (DESIGN §2).
 *
 * The stream selector is evaluated once per distinct stream label set (a cache keyed by
 * the label-set hash); leading `|=` / `!=` filters are checked on the raw line before any
 * label is built. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/labels.h"
#include "icegate/logql_eval.h"
#include "icegate/plan.h"
#include "icegate/time.h"
#include "query_int.h"

#define SCAN_ARENA_CAP (64u << 20)
#define ROW_ARENA_CAP (16u << 20)
#define CACHE_SLOTS 4096

/* ---- column helpers ------------------------------------------------------------------ */

typedef struct fcol {
    int col; /* leaf column index, -1 when the file lacks it */
    pq_colvec v;
    int32_t *row_val; /* per row: value index, -1 null */
    bool loaded;      /* read for the current row group */
    size_t cap_rows;
} fcol;

typedef struct mcol {
    fcol k, v;
    uint32_t *row_start; /* entries of row r: [row_start[r], row_start[r+1]) */
    int32_t *key_idx, *val_idx;
    size_t cap_rows, cap_ent;
} mcol;

static void fcol_free(fcol *c)
{
    pq_colvec_free(&c->v);
    ig_free(c->row_val);
}

static void mcol_free(mcol *m)
{
    fcol_free(&m->k);
    fcol_free(&m->v);
    ig_free(m->row_start);
    ig_free(m->key_idx);
    ig_free(m->val_idx);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = need < 64 ? 64 : need;
    void *np = ig_realloc(*p, nc * elem);
    if (!np)
        return IG_ENOMEM;
    *p = np;
    *cap = nc;
    return 0;
}

/* Reads a flat column and maps rows to value indices. */
static int fcol_read_flags(pq_file *f, size_t rg, fcol *c, const pq_rowsel *sel, unsigned flags,
                           ig_errbuf *eb)
{
    if (c->col < 0)
        return 0;
    int rc = pq_read_column(f, rg, (size_t)c->col, sel, flags, &c->v, eb);
    if (rc)
        return rc;
    c->loaded = true;
    if ((rc = grow((void **)&c->row_val, &c->cap_rows, c->v.nrows + 1, sizeof(int32_t))))
        return rc;
    int32_t k = 0;
    for (size_t i = 0; i < c->v.n; i++)
        c->row_val[i] = (!c->v.def || c->v.def[i] == c->v.max_def) ? k++ : -1;
    return 0;
}

static int fcol_read(pq_file *f, size_t rg, fcol *c, const pq_rowsel *sel, ig_errbuf *eb)
{
    return fcol_read_flags(f, rg, c, sel, 0, eb);
}

static ig_str fcol_str(const fcol *c, size_t row);

/* Per row: whether a string column equals want (a missing value never does). With a
 * dictionary-encoded chunk the comparison runs once per dictionary entry. mask has
 * room for nrows bytes. */
static void fcol_eq_rows(const fcol *c, ig_str want, uint8_t *mask, uint8_t *dmask, size_t dcap)
{
    size_t n = c->v.nrows;
    if (c->col < 0 || !c->loaded) {
        memset(mask, 0, n);
        return;
    }
    if (c->v.is_dict && c->v.ndict <= dcap) {
        for (size_t e = 0; e < c->v.ndict; e++)
            dmask[e] = ig_str_eq(pq_colvec_dict_bytes(&c->v, e), want);
        for (size_t r = 0; r < n; r++)
            mask[r] = c->row_val[r] >= 0 && dmask[c->v.idx[c->row_val[r]]];
        return;
    }
    for (size_t r = 0; r < n; r++)
        mask[r] = ig_str_eq(fcol_str(c, r), want);
}

static ig_str fcol_str(const fcol *c, size_t row)
{
    if (c->col < 0 || !c->loaded || row >= c->v.nrows || c->row_val[row] < 0)
        return IG_STR_NULL;
    return pq_colvec_bytes(&c->v, (size_t)c->row_val[row]);
}

static bool fcol_i64(const fcol *c, size_t row, int64_t *out)
{
    if (c->col < 0 || !c->loaded || row >= c->v.nrows || c->row_val[row] < 0)
        return false;
    size_t k = (size_t)c->row_val[row];
    if (c->v.phys == PQ_INT32)
        *out = *(const int32_t *)pq_colvec_fixed(&c->v, k);
    else
        *out = *(const int64_t *)pq_colvec_fixed(&c->v, k);
    return true;
}

static int mcol_read(pq_file *f, size_t rg, mcol *m, const pq_rowsel *sel, ig_errbuf *eb)
{
    if (m->k.col < 0)
        return 0;
    int rc = pq_read_column(f, rg, (size_t)m->k.col, sel, 0, &m->k.v, eb);
    m->k.loaded = rc == 0;
    if (rc == 0 && m->v.col >= 0)
        rc = pq_read_column(f, rg, (size_t)m->v.col, sel, 0, &m->v.v, eb);
    if (rc)
        return rc;
    const pq_colvec *K = &m->k.v, *V = m->v.col >= 0 ? &m->v.v : NULL;
    if (V && V->n != K->n)
        return ig_err(eb, IG_ECORRUPT, "map key and value columns differ in length");
    if ((rc = grow((void **)&m->row_start, &m->cap_rows, K->nrows + 2, sizeof(uint32_t))) ||
        (rc = grow((void **)&m->key_idx, &m->cap_ent, K->n + 1, sizeof(int32_t))))
        return rc;
    int32_t *vi = ig_realloc(m->val_idx, (K->n + 1) * sizeof(int32_t));
    if (!vi)
        return IG_ENOMEM;
    m->val_idx = vi;
    size_t r = 0, e = 0;
    int32_t kk = 0, vv = 0;
    for (size_t i = 0; i < K->n; i++) {
        if (!K->rep || K->rep[i] == 0)
            m->row_start[r++] = (uint32_t)e;
        if (K->def && K->def[i] != K->max_def) {
            if (V && V->def && V->def[i] == V->max_def)
                vv++;
            continue;
        }
        m->key_idx[e] = kk++;
        if (V && (!V->def || V->def[i] == V->max_def))
            m->val_idx[e] = vv++;
        else
            m->val_idx[e] = -1;
        e++;
    }
    m->row_start[r] = (uint32_t)e;
    return 0;
}

static size_t mcol_count(const mcol *m, size_t row)
{
    if (m->k.col < 0 || !m->k.loaded || row >= m->k.v.nrows)
        return 0;
    return m->row_start[row + 1] - m->row_start[row];
}

/* Entries of row `row` as labels (names/values are views into the column vectors). */
static size_t mcol_row(const mcol *m, size_t row, lq_label *out, size_t max)
{
    if (m->k.col < 0 || !m->k.loaded || row >= m->k.v.nrows)
        return 0;
    size_t n = 0;
    for (uint32_t e = m->row_start[row]; e < m->row_start[row + 1] && n < max; e++) {
        out[n].name = pq_colvec_bytes(&m->k.v, (size_t)m->key_idx[e]);
        out[n].value =
            m->val_idx[e] >= 0 ? pq_colvec_bytes(&m->v.v, (size_t)m->val_idx[e]) : IG_STR("");
        n++;
    }
    return n;
}

/* ---- OTLP mapping -------------------------------------------------------------------- */

/* lengths precomputed: this table is checked for every resource attribute of every row */
#define IDX_(lit) {(lit), sizeof(lit) - 1}
static const ig_str INDEX_ATTRS[] = {
    IDX_("service.name"),
    IDX_("service.namespace"),
    IDX_("service.instance.id"),
    IDX_("deployment.environment"),
    IDX_("deployment.environment.name"),
    IDX_("cloud.region"),
    IDX_("cloud.availability_zone"),
    IDX_("k8s.cluster.name"),
    IDX_("k8s.namespace.name"),
    IDX_("k8s.pod.name"),
    IDX_("k8s.container.name"),
    IDX_("container.name"),
    IDX_("k8s.replicaset.name"),
    IDX_("k8s.deployment.name"),
    IDX_("k8s.statefulset.name"),
    IDX_("k8s.daemonset.name"),
    IDX_("k8s.cronjob.name"),
    IDX_("k8s.job.name"),
};
#undef IDX_

static const char *const SERVICE_DISCOVERY[] = {"service",
                                                "app",
                                                "application",
                                                "app_name",
                                                "name",
                                                "app_kubernetes_io_name",
                                                "container",
                                                "container_name",
                                                "k8s_container_name",
                                                "component",
                                                "workload",
                                                "job",
                                                "k8s_job_name"};

static const char *const LEVEL_FIELDS[] = {
    "level",    "LEVEL",    "Level",         "log.level",     "log_level",
    "severity", "SEVERITY", "Severity",      "SeverityText",  "lvl",
    "LVL",      "Lvl",      "severity_text", "Severity_Text", "SEVERITY_TEXT"};

static bool is_index_attr(ig_str k)
{
    for (size_t i = 0; i < sizeof INDEX_ATTRS / sizeof INDEX_ATTRS[0]; i++)
        if (k.len == INDEX_ATTRS[i].len && memcmp(k.ptr, INDEX_ATTRS[i].ptr, k.len) == 0)
            return true;
    return false;
}

static const char *norm_level(ig_str v)
{
    static const struct {
        const char *in, *out;
    } T[] = {{"trace", "trace"},       {"trc", "trace"},   {"debug", "debug"},
             {"dbg", "debug"},         {"info", "info"},   {"inf", "info"},
             {"information", "info"},  {"warn", "warn"},   {"wrn", "warn"},
             {"warning", "warn"},      {"error", "error"}, {"err", "error"},
             {"critical", "critical"}, {"fatal", "fatal"}};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (ig_str_case_eq(v, T[i].in))
            return T[i].out;
    return NULL;
}

static bool word_at(ig_str line, size_t i, size_t n)
{
    bool lb = i == 0 || !((line.ptr[i - 1] >= 'a' && line.ptr[i - 1] <= 'z') ||
                          (line.ptr[i - 1] >= 'A' && line.ptr[i - 1] <= 'Z'));
    bool rb = i + n >= line.len || !((line.ptr[i + n] >= 'a' && line.ptr[i + n] <= 'z') ||
                                     (line.ptr[i + n] >= 'A' && line.ptr[i + n] <= 'Z'));
    return lb && rb;
}

/* Level from the line (Loki's last resort): a logfmt/JSON level field, else the earliest
 * word-bounded level keyword, else "unknown". */
static ig_str level_from_line(ig_str line)
{
    static const char *const keys[] = {"level=", "\"level\":\"",
                                       "lvl=", "severity=", "\"severity\":\""};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        size_t kl = strlen(keys[k]);
        const char *p = line.len >= kl ? memmem(line.ptr, line.len, keys[k], kl) : NULL;
        if (!p)
            continue;
        size_t st = (size_t)(p - line.ptr) + kl, e = st;
        while (e < line.len && line.ptr[e] != ' ' && line.ptr[e] != '"' && line.ptr[e] != ',')
            e++;
        const char *n = norm_level((ig_str){line.ptr + st, e - st});
        if (n)
            return ig_str_from(n);
    }
    static const struct {
        const char *w, *lvl;
    } W[] = {{"trace", "trace"},  {"debug", "debug"}, {"info", "info"},         {"warn", "warn"},
             {"warning", "warn"}, {"error", "error"}, {"critical", "critical"}, {"fatal", "fatal"},
             {"TRACE", "trace"},  {"DEBUG", "debug"}, {"INFO", "info"},         {"WARN", "warn"},
             {"WARNING", "warn"}, {"ERROR", "error"}, {"CRITICAL", "critical"}, {"FATAL", "fatal"},
             {"Trace", "trace"},  {"Debug", "debug"}, {"Info", "info"},         {"Warn", "warn"},
             {"Warning", "warn"}, {"Error", "error"}, {"Critical", "critical"}, {"Fatal", "fatal"}};
    size_t best = SIZE_MAX;
    const char *lvl = "unknown";
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++) {
        size_t wl = strlen(W[i].w), from = 0;
        while (from + wl <= line.len) {
            const char *p = memmem(line.ptr + from, line.len - from, W[i].w, wl);
            if (!p)
                break;
            size_t at = (size_t)(p - line.ptr);
            if (word_at(line, at, wl)) {
                if (at < best)
                    best = at, lvl = W[i].lvl;
                break;
            }
            from = at + 1;
        }
    }
    return ig_str_from(lvl);
}

static ig_str hex(ig_arena *a, ig_str raw)
{
    static const char H[] = "0123456789abcdef";
    char *o = ig_arena_alloc(a, raw.len * 2 + 1);
    if (!o)
        return IG_STR_NULL;
    for (size_t i = 0; i < raw.len; i++) {
        o[2 * i] = H[(unsigned char)raw.ptr[i] >> 4];
        o[2 * i + 1] = H[(unsigned char)raw.ptr[i] & 15];
    }
    return (ig_str){o, raw.len * 2};
}

static ig_str i64s(ig_arena *a, int64_t v)
{
    char *o = ig_arena_alloc(a, 24);
    if (!o)
        return IG_STR_NULL;
    int n = snprintf(o, 24, "%lld", (long long)v);
    return (ig_str){o, (size_t)n};
}

/* ---- the scan ------------------------------------------------------------------------- */

enum {
    C_TENANT,
    C_ACCOUNT,
    C_TS,
    C_BODY,
    C_SOURCE,
    C_SERVICE,
    C_OBSERVED,
    C_TRACE,
    C_SPAN,
    C_SEVNUM,
    C_SEVTEXT,
    C_EVENT,
    C_FLAGS,
    C_DROPPED,
    C_SCOPE_NAME,
    C_SCOPE_VERSION,
    C_SCOPE_DROPPED,
    C_NFLAT
};
static const char *const FLAT[C_NFLAT] = {"tenant_id",
                                          "account_id",
                                          "timestamp",
                                          "body",
                                          "source",
                                          "service_name",
                                          "observed_timestamp",
                                          "trace_id",
                                          "span_id",
                                          "severity_number",
                                          "severity_text",
                                          "event_name",
                                          "flags",
                                          "dropped_attributes_count",
                                          "scope_name",
                                          "scope_version",
                                          "scope_dropped_attributes_count"};
enum { M_RES, M_SCOPE, M_ATTR, M_N };
static const char *const MAPS[M_N] = {"resource_attributes", "scope_attributes", "attributes"};

typedef struct scan {
    lq_table_source *ts;
    const logql_log *log;
    int64_t start_ns, end_ns;
    lq_entry_fn fn;
    void *fnctx;
    ig_errbuf *eb;
    ig_arena a;   /* per scan */
    ig_arena row; /* per row */
    lq_matchers *ms;
    fcol *c; /* the columns of the row group being emitted (an rgbuf's) */
    mcol *m;
    /* selector cache */
    uint64_t *ch;
    int8_t *cv;
    /* leading line filters usable on the raw line */
    const logql_stage *pre;
    size_t npre;
    lq_label *tmp;
    /* the previous Loki-pushed row's raw stream labels (views into the current row
     * group's vectors; prev_valid is cleared per row group), its sorted copy and
     * selector result: consecutive rows of one stream skip sorting and matching */
    lq_label *prev_raw, *prev_sorted;
    size_t prev_n, prev_sn;
    ig_str prev_acct;
    bool prev_valid, prev_match;
} scan;

static bool prefilter(const scan *s, size_t from, ig_str line)
{
    for (size_t i = from; i < s->npre; i++) {
        const logql_stage *st = &s->pre[i];
        bool any = false;
        for (size_t k = 0; k < st->n_operands && !any; k++) {
            ig_str o = st->operands[k].value;
            any = o.len == 0 || (line.len >= o.len && lq__find(line.ptr, line.len, o));
        }
        if ((st->line_op == LOGQL_LINE_CONTAINS) != any)
            return false;
    }
    return true;
}

static bool selector_match(scan *s, const lq_labels *stream)
{
    uint64_t h = lq_labels_hash(stream);
    size_t slot = (size_t)(h % CACHE_SLOTS);
    if (s->ch && s->cv[slot] >= 0 && s->ch[slot] == h)
        return s->cv[slot] == 1;
    bool m = lq__matchers_match(s->ms, stream);
    if (s->ch) {
        s->ch[slot] = h;
        s->cv[slot] = m ? 1 : 0;
    }
    return m;
}

static int add(lq_label *v, size_t *n, size_t max, ig_str name, ig_str value)
{
    if (!name.ptr || !value.ptr)
        return name.ptr ? 0 : IG_ENOMEM;
    if (*n >= max)
        return 0;
    v[*n].name = name;
    v[*n].value = value;
    (*n)++;
    return 0;
}

/* Builds the entry of selected row j and calls back. */
static int emit_row(scan *s, size_t j, ig_str line, int64_t ts_us)
{
    ig_arena *a = &s->row;
    ig_arena_reset(a);
    ig_str src = fcol_str(&s->c[C_SOURCE], j);
    bool loki = ig_str_eq_cstr(src, "loki");
    /* room for this row's map entries plus the fields added below (not LQ_MAX_LABELS
     * each time: the row arena would then take a fresh block for every row) */
    size_t maxl = mcol_count(&s->m[M_RES], j) + mcol_count(&s->m[M_SCOPE], j) +
                  mcol_count(&s->m[M_ATTR], j) + 24;
    if (maxl > LQ_MAX_LABELS)
        maxl = LQ_MAX_LABELS;
    lq_label *sv = ig_arena_alloc(a, maxl * sizeof *sv), *mv = ig_arena_alloc(a, maxl * sizeof *mv);
    if (!sv || !mv)
        return ig_err(s->eb, IG_ENOMEM, "out of memory building a log entry");
    size_t ns = 0, nm = 0;
    ig_str acct = fcol_str(&s->c[C_ACCOUNT], j);
    if (loki) {
        ns = mcol_row(&s->m[M_RES], j, sv, maxl - 1);
        nm = mcol_row(&s->m[M_ATTR], j, mv, maxl);
    } else {
        size_t nr = mcol_row(&s->m[M_RES], j, s->tmp, maxl);
        ig_str service = fcol_str(&s->c[C_SERVICE], j);
        bool have_service = false;
        for (size_t i = 0; i < nr; i++) {
            ig_str k = s->tmp[i].name;
            bool is_service = k.len == sizeof "service.name" - 1 &&
                              memcmp(k.ptr, "service.name", k.len) == 0;
            if (is_service && s->tmp[i].value.len)
                have_service = true;
            ig_str nk = lq__otlp_name(a, k);
            if (!nk.ptr)
                continue; /* a name Loki would reject: not representable as a label */
            if (is_index_attr(k)) {
                if (!is_service)
                    add(sv, &ns, maxl - 2, nk, s->tmp[i].value);
            } else {
                add(mv, &nm, maxl, nk, s->tmp[i].value);
            }
        }
        if (!have_service) {
            /* Loki's service-name discovery over the index labels, else unknown_service */
            service = IG_STR("unknown_service");
            lq_labels tmpl = {sv, ns};
            lq__labels_sort(&tmpl);
            ns = tmpl.n;
            for (size_t d = 0; d < sizeof SERVICE_DISCOVERY / sizeof SERVICE_DISCOVERY[0]; d++) {
                ig_str v = lq_labels_get(&tmpl, ig_str_from(SERVICE_DISCOVERY[d]));
                if (v.ptr && v.len) {
                    service = v;
                    break;
                }
            }
        } else if (!service.ptr) {
            service = IG_STR("unknown_service");
        }
        add(sv, &ns, maxl - 1, IG_STR("service_name"), service);
        size_t nsc = mcol_row(&s->m[M_SCOPE], j, s->tmp, maxl);
        for (size_t i = 0; i < nsc; i++) {
            ig_str nk = lq__otlp_name(a, s->tmp[i].name);
            if (nk.ptr)
                add(mv, &nm, maxl, nk, s->tmp[i].value);
        }
        ig_str v = fcol_str(&s->c[C_SCOPE_NAME], j);
        if (v.ptr && v.len)
            add(mv, &nm, maxl, IG_STR("scope_name"), v);
        if ((v = fcol_str(&s->c[C_SCOPE_VERSION], j)).ptr && v.len)
            add(mv, &nm, maxl, IG_STR("scope_version"), v);
        int64_t x;
        if (fcol_i64(&s->c[C_SCOPE_DROPPED], j, &x) && x)
            add(mv, &nm, maxl, IG_STR("scope_dropped_attributes_count"), i64s(a, x));
        /* record attributes: the record fields below win over attributes of their name */
        size_t na = mcol_row(&s->m[M_ATTR], j, s->tmp, maxl);
        size_t attr_start = nm;
        for (size_t i = 0; i < na; i++) {
            ig_str nk = lq__otlp_name(a, s->tmp[i].name);
            if (nk.ptr)
                add(mv, &nm, maxl, nk, s->tmp[i].value);
        }
        (void)attr_start;
        lq_label rec[12];
        size_t nrec = 0;
        /* Loki adds observed_timestamp only when the record had both times; a record
         * without a time was stored with its observed time as timestamp, so equal times
         * are read as "time was missing" */
        if (fcol_i64(&s->c[C_OBSERVED], j, &x) && x != ts_us)
            add(rec, &nrec, 12, IG_STR("observed_timestamp"), i64s(a, x * 1000));
        int64_t sevnum = 0;
        if (fcol_i64(&s->c[C_SEVNUM], j, &sevnum) && sevnum)
            add(rec, &nrec, 12, IG_STR("severity_number"), i64s(a, sevnum));
        ig_str sevtext = fcol_str(&s->c[C_SEVTEXT], j);
        if (sevtext.ptr && sevtext.len)
            add(rec, &nrec, 12, IG_STR("severity_text"), sevtext);
        if (fcol_i64(&s->c[C_DROPPED], j, &x) && x)
            add(rec, &nrec, 12, IG_STR("dropped_attributes_count"), i64s(a, x));
        if (fcol_i64(&s->c[C_FLAGS], j, &x) && x)
            add(rec, &nrec, 12, IG_STR("flags"), i64s(a, x));
        if ((v = fcol_str(&s->c[C_TRACE], j)).ptr && v.len)
            add(rec, &nrec, 12, IG_STR("trace_id"), hex(a, v));
        if ((v = fcol_str(&s->c[C_SPAN], j)).ptr && v.len)
            add(rec, &nrec, 12, IG_STR("span_id"), hex(a, v));
        if ((v = fcol_str(&s->c[C_EVENT], j)).ptr && v.len)
            add(rec, &nrec, 12, IG_STR("event_name"), v);
        /* record fields replace attributes of the same name */
        for (size_t r = 0; r < nrec; r++) {
            bool set = false;
            for (size_t i = 0; i < nm && !set; i++)
                if (ig_str_eq(mv[i].name, rec[r].name))
                    mv[i].value = rec[r].value, set = true;
            if (!set)
                add(mv, &nm, maxl - 1, rec[r].name, rec[r].value);
        }
        /* detected_level */
        lq_labels sl = {sv, ns}, ml = {mv, nm};
        lq__labels_sort(&sl);
        lq__labels_sort(&ml);
        ns = sl.n;
        nm = ml.n;
        ig_str dl = lq_labels_get(&ml, IG_STR("detected_level"));
        const char *lvl = NULL;
        if (dl.ptr) {
            lvl = norm_level(dl);
            if (!lvl)
                lvl = ig_arena_cstr(a, dl);
        } else {
            ig_str found = IG_STR_NULL;
            for (int pass = 0; pass < 2 && !found.ptr; pass++)
                for (size_t f = 0; f < sizeof LEVEL_FIELDS / sizeof LEVEL_FIELDS[0] && !found.ptr;
                     f++) {
                    ig_str v2 = lq_labels_get(pass == 0 ? &sl : &ml, ig_str_from(LEVEL_FIELDS[f]));
                    if (v2.ptr && v2.len)
                        found = v2;
                }
            if (found.ptr) {
                lvl = norm_level(found);
                if (!lvl)
                    lvl = ig_arena_cstr(a, found);
            } else if (sevnum) {
                lvl = sevnum >= 1 && sevnum <= 4     ? "trace"
                      : sevnum >= 5 && sevnum <= 8   ? "debug"
                      : sevnum >= 9 && sevnum <= 12  ? "info"
                      : sevnum >= 13 && sevnum <= 16 ? "warn"
                      : sevnum >= 17 && sevnum <= 20 ? "error"
                      : sevnum >= 21 && sevnum <= 24 ? "fatal"
                                                     : "unknown";
            } else {
                lvl = ig_arena_cstr(a, level_from_line(line));
            }
            if (lvl)
                add(mv, &nm, maxl, IG_STR("detected_level"), ig_str_from(lvl));
        }
    }
    if (loki && s->prev_valid && ns == s->prev_n && ig_str_eq(acct, s->prev_acct)) {
        bool same = true;
        for (size_t i = 0; i < ns && same; i++)
            same = ig_str_eq(sv[i].name, s->prev_raw[i].name) &&
                   ig_str_eq(sv[i].value, s->prev_raw[i].value);
        if (same) {
            if (!s->prev_match)
                return 0;
            lq_entry e = {.ts_ns = ts_us * 1000,
                          .line = line,
                          .stream = {s->prev_sorted, s->prev_sn},
                          .meta = {mv, nm}};
            lq__labels_sort(&e.meta);
            s->ts->stats.entries++;
            return s->fn(s->fnctx, &e);
        }
    }
    size_t nraw = ns;
    if (loki && nraw <= LQ_MAX_LABELS - 1) {
        memcpy(s->prev_raw, sv, nraw * sizeof *sv);
        s->prev_n = nraw;
        s->prev_acct = acct;
    }
    if (!s->ts->account.ptr && acct.ptr && acct.len)
        add(sv, &ns, maxl, IG_STR("account_id"), acct);
    lq_entry e = {.ts_ns = ts_us * 1000, .line = line, .stream = {sv, ns}, .meta = {mv, nm}};
    lq__labels_sort(&e.stream);
    lq__labels_sort(&e.meta);
    bool match = selector_match(s, &e.stream);
    if (loki && nraw <= LQ_MAX_LABELS - 1) {
        memcpy(s->prev_sorted, e.stream.v, e.stream.n * sizeof *e.stream.v);
        s->prev_sn = e.stream.n;
        s->prev_match = match;
        s->prev_valid = true;
    } else {
        s->prev_valid = false;
    }
    if (!match)
        return 0;
    s->ts->stats.entries++;
    return s->fn(s->fnctx, &e);
}

/* Marks the values of the body vector that contain one of the operands of the first
 * `|=` stage, searching the whole decoded buffer at once (one memmem pass per operand,
 * not one call per row). */
static void mark_contains(const scan *s, const pq_colvec *v, uint8_t *mark)
{
    const logql_stage *st = &s->pre[0];
    memset(mark, 0, v->nvals);
    const char *data = (const char *)v->data;
    for (size_t o = 0; o < st->n_operands; o++) {
        ig_str nd = st->operands[o].value;
        if (nd.len == 0) {
            memset(mark, 1, v->nvals);
            return;
        }
        size_t pos = 0, end = v->nvals ? v->offs[v->nvals] : 0;
        while (pos + nd.len <= end) {
            const char *h = lq__find(data + pos, end - pos, nd);
            if (!h)
                break;
            size_t at = (size_t)(h - data);
            /* the value holding `at`: largest k with offs[k] <= at */
            size_t lo = 0, hi = v->nvals;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (v->offs[mid] <= at)
                    lo = mid;
                else
                    hi = mid;
            }
            if (at + nd.len <= v->offs[lo + 1]) {
                mark[lo] = 1;
                pos = v->offs[lo + 1]; /* next value */
            } else {
                pos = at + 1; /* straddles two values: not a match of either */
            }
        }
    }
}

/* A row group prepared for emission: its columns (read for the kept rows only), the
 * timestamps of the rows in range and which of them passed the leading line filters.
 * Two of them let the next row group be read on another thread while this one is
 * emitted (read-ahead); the order of emission stays the plan's. */
typedef struct rgbuf {
    fcol c[C_NFLAT];
    mcol m[M_N];
    pq_file *f; /* the open file of plan index fi */
    size_t fi;
    int64_t *tsv;
    uint32_t *keep;
    size_t cap, nkeep;
    int rc;
    ig_errbuf eb;
} rgbuf;

/* One planned row group: (1) tenant, account and timestamp of every row -> the rows in
 * range; (2) the body of those rows -> leading line filters (the first `|=` searched over
 * the whole decoded buffer); (3) the remaining columns only for the rows left, the
 * OTLP-only columns only when some of them came through OTLP. */
static int prepare_rg(scan *s, rgbuf *b, pq_file *f, size_t rg)
{
    fcol *C = b->c;
    mcol *M = b->m;
    ig_errbuf *eb = &b->eb;
    pq_rowsel sel = {0}, sel2 = {0};
    b->nkeep = 0;
    uint64_t n_rows = 0, n_bytes = 0; /* added once: row groups are prepared in parallel */
    for (int c = 0; c < C_NFLAT; c++)
        C[c].loaded = false;
    for (int m = 0; m < M_N; m++)
        M[m].k.loaded = false;
    int rc = fcol_read_flags(f, rg, &C[C_TENANT], NULL, PQ_READ_KEEP_DICT, eb);
    if (rc == 0)
        rc = fcol_read_flags(f, rg, &C[C_ACCOUNT], NULL, PQ_READ_KEEP_DICT, eb);
    if (rc == 0)
        rc = fcol_read(f, rg, &C[C_TS], NULL, eb);
    if (rc)
        return rc;
    size_t nrows = C[C_TS].v.nrows;
    int64_t lo_us = s->start_ns / 1000 + (s->start_ns % 1000 > 0);
    int64_t hi_ns = s->end_ns;
    /* tenant (and account) per row, compared once per dictionary entry */
    uint8_t *okt = ig_malloc(2 * nrows + 2 * 4096 + 2);
    if (!okt)
        return ig_err(eb, IG_ENOMEM, "out of memory");
    uint8_t *oka = okt + nrows + 1, *dm = oka + nrows + 1;
    if (C[C_TENANT].v.nrows != nrows)
        memset(okt, 0, nrows);
    else
        fcol_eq_rows(&C[C_TENANT], s->ts->tenant, okt, dm, 4096);
    if (s->ts->account.ptr) {
        if (C[C_ACCOUNT].v.nrows != nrows)
            memset(oka, 0, nrows);
        else
            fcol_eq_rows(&C[C_ACCOUNT], s->ts->account, oka, dm + 4096, 4096);
    }
    for (size_t r = 0; r < nrows && rc == 0; r++) {
        if (!okt[r] || (s->ts->account.ptr && !oka[r]))
            continue;
        int64_t us;
        if (!fcol_i64(&C[C_TS], r, &us) || us < lo_us || us * 1000 >= hi_ns)
            continue;
        if ((s->ts->ts_floor_ns &&
             us * 1000 < __atomic_load_n(s->ts->ts_floor_ns, __ATOMIC_RELAXED)) ||
            (s->ts->ts_ceil_ns && us * 1000 > __atomic_load_n(s->ts->ts_ceil_ns, __ATOMIC_RELAXED)))
            continue; /* cannot enter the consumer's full result */
        rc = pq_rowsel_add(&sel, (int64_t)r, (int64_t)r + 1);
    }
    ig_free(okt);
    if (rc || sel.n == 0) {
        pq_rowsel_free(&sel);
        return rc;
    }
    int64_t cnt = pq_rowsel_count(&sel);
    /* per selected row: original row, timestamp; then the body index of kept rows */
    if ((size_t)cnt > b->cap) {
        int64_t *nt = ig_realloc(b->tsv, (size_t)cnt * sizeof *nt);
        if (nt)
            b->tsv = nt;
        uint32_t *nk = ig_realloc(b->keep, (size_t)cnt * sizeof *nk);
        if (nk)
            b->keep = nk;
        if (nt && nk)
            b->cap = (size_t)cnt;
    }
    int64_t *tsv = b->cap >= (size_t)cnt ? b->tsv : NULL;
    uint32_t *keep = b->cap >= (size_t)cnt ? b->keep : NULL;
    int64_t *orig = ig_malloc((size_t)cnt * sizeof *orig);
    uint8_t *mark = NULL;
    if (!tsv || !orig || !keep) {
        rc = ig_err(eb, IG_ENOMEM, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < sel.n; i++)
        for (int64_t r = sel.r[i].begin; r < sel.r[i].end; r++) {
            orig[k] = r;
            fcol_i64(&C[C_TS], (size_t)r, &tsv[k++]);
        }
    __atomic_add_fetch(&s->ts->stats.row_groups, 1, __ATOMIC_RELAXED);
    fcol *body = &C[C_BODY];
    /* label-only consumers (labels, series, ...) without line filters never see lines */
    bool no_body = s->ts->labels_only && s->npre == 0;
    if (!no_body && (rc = fcol_read(f, rg, body, &sel, eb)))
        goto out;
    size_t first = 0;
    bool any_empty = false; /* `|= ""` matches null bodies too: no marking then */
    for (size_t o = 0; s->npre && o < s->pre[0].n_operands; o++)
        any_empty |= s->pre[0].operands[o].value.len == 0;
    if (!no_body && s->npre && s->pre[0].line_op == LOGQL_LINE_CONTAINS && !any_empty &&
        body->loaded && body->v.phys == PQ_BYTE_ARRAY && !body->v.is_dict) {
        mark = ig_malloc(body->v.nvals + 1);
        if (!mark) {
            rc = ig_err(eb, IG_ENOMEM, "out of memory");
            goto out;
        }
        mark_contains(s, &body->v, mark);
        first = 1;
    }
    size_t nkeep = 0;
    for (size_t j = 0; j < (size_t)cnt && rc == 0; j++) {
        ig_str line = no_body ? IG_STR("") : fcol_str(body, j);
        if (!line.ptr)
            line = IG_STR("");
        n_rows++;
        n_bytes += line.len;
        if (first && !(body->row_val[j] >= 0 && mark[body->row_val[j]]))
            continue;
        if (!prefilter(s, first, line))
            continue;
        keep[nkeep++] = (uint32_t)j;
        rc = pq_rowsel_add(&sel2, orig[j], orig[j] + 1);
    }
    if (rc || nkeep == 0)
        goto out;
    /* the remaining columns, for the rows left */
    if ((rc = fcol_read(f, rg, &C[C_SOURCE], &sel2, eb)))
        goto out;
    bool otlp = false;
    for (size_t i = 0; i < nkeep && !otlp; i++)
        otlp = !ig_str_eq_cstr(fcol_str(&C[C_SOURCE], i), "loki");
    for (int c = C_BODY + 1; c < C_NFLAT && rc == 0; c++) {
        if (c == C_SOURCE || (!otlp && c != C_ACCOUNT))
            continue;
        rc = fcol_read(f, rg, &C[c], &sel2, eb);
    }
    /* account_id again, in the order of the kept rows */
    if (rc == 0)
        rc = fcol_read(f, rg, &C[C_ACCOUNT], &sel2, eb);
    for (int m = 0; m < M_N && rc == 0; m++)
        if (otlp || m != M_SCOPE)
            rc = mcol_read(f, rg, &M[m], &sel2, eb);
    b->nkeep = nkeep;
out:
    __atomic_add_fetch(&s->ts->stats.rows, n_rows, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->ts->stats.bytes, n_bytes, __ATOMIC_RELAXED);
    ig_free(mark);
    ig_free(orig);
    pq_rowsel_free(&sel);
    pq_rowsel_free(&sel2);
    return rc;
}

/* The query's deadline and cancellation (client gone): IG_ETIMEDOUT / IG_ECANCELED. */
static int check_stop(const lq_table_source *ts, ig_errbuf *eb)
{
    if (ts->deadline_ns && ig_mono_ns() > ts->deadline_ns)
        return ig_err(eb, IG_ETIMEDOUT, "query timed out");
    if (ts->cancelled && ts->cancelled(ts->cancel_ud))
        return ig_err(eb, IG_ECANCELED, "the request was cancelled by the client");
    return 0;
}

/* Test fail point: ICEGATE_DEBUG_SCAN_DELAY_MS=N makes every row group take N ms longer
 * (in 10 ms slices that notice deadline and cancellation), so tests can hold a query in
 * flight. Unset in production. */
static void debug_delay(const lq_table_source *ts)
{
    static int64_t ms = -1;
    int64_t v = __atomic_load_n(&ms, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("ICEGATE_DEBUG_SCAN_DELAY_MS");
        if (!e || ig_str_to_i64(ig_str_from(e), &v) != 0 || v < 0)
            v = 0;
        __atomic_store_n(&ms, v, __ATOMIC_RELAXED);
    }
    ig_errbuf eb;
    for (int64_t end = ig_mono_ns() + v * 1000000; v && ig_mono_ns() < end;) {
        if (check_stop(ts, &eb) != 0)
            return;
        struct timespec d = {0, 10 * 1000000};
        nanosleep(&d, NULL);
    }
}

/* Emits the rows a prepare_rg kept, in order (on the scan's thread). */
static int emit_rg(scan *s, rgbuf *b)
{
    s->c = b->c;
    s->m = b->m;
    s->prev_valid = false; /* the previous row's views die with its row group */
    int rc = 0;
    fcol *body = &b->c[C_BODY];
    for (size_t i = 0; i < b->nkeep && rc == 0; i++) {
        if ((i & 1023) == 1023 && (rc = check_stop(s->ts, s->eb)) != 0)
            break;
        int64_t tns = b->tsv[b->keep[i]] * 1000;
        if ((s->ts->ts_floor_ns && tns < *s->ts->ts_floor_ns) ||
            (s->ts->ts_ceil_ns && tns > *s->ts->ts_ceil_ns))
            continue;
        ig_str line = body->loaded ? fcol_str(body, b->keep[i]) : IG_STR("");
        rc = emit_row(s, i, line.ptr ? line : IG_STR(""), b->tsv[b->keep[i]]);
    }
    return rc;
}

static void bind_columns(rgbuf *s, const pq_file *f)
{
    char path[96];
    for (int c = 0; c < C_NFLAT; c++)
        s->c[c].col = pq_schema_find(f->schema, FLAT[c]);
    for (int m = 0; m < M_N; m++) {
        snprintf(path, sizeof path, "%s.key_value.key", MAPS[m]);
        s->m[m].k.col = pq_schema_find(f->schema, path);
        snprintf(path, sizeof path, "%s.key_value.value", MAPS[m]);
        s->m[m].v.col = pq_schema_find(f->schema, path);
    }
}

typedef struct unit {
    size_t fi; /* plan file */
    size_t rg;
} unit;

/* Opens the unit's file when the buffer holds another one, then prepares the row group.
 * The outcome is in b->rc / b->eb (a vanished WAL segment is skipped: a snapshot newer
 * than the plan covers it). */
static void run_unit(scan *s, const ig_plan *plan, rgbuf *b, const unit *un)
{
    const ig_plan_file *pf = &plan->files[un->fi];
    b->nkeep = 0;
    b->rc = 0;
    b->eb.msg[0] = 0;
    if (b->fi != un->fi) {
        if (b->f)
            pq_close(b->f);
        b->f = NULL;
        b->fi = un->fi;
        int rc = ig_plan_open(s->ts->store, pf, &b->f, &b->eb);
        if (rc) {
            b->f = NULL;
            if (!(rc == IG_ENOENT && pf->wal))
                b->rc = rc;
            return;
        }
        __atomic_add_fetch(&s->ts->stats.files, 1, __ATOMIC_RELAXED);
        bind_columns(b, b->f);
    }
    if (!b->f || b->c[C_TENANT].col < 0 || b->c[C_TS].col < 0 || un->rg >= b->f->nrgs)
        return;
    debug_delay(s->ts);
    if ((b->rc = check_stop(s->ts, &b->eb)) != 0)
        return;
    b->rc = prepare_rg(s, b, b->f, un->rg);
}

/* A bounded window of W row-group buffers filled by worker threads in plan order: a
 * worker claims unit u only when the consumer has emitted unit u - W (whose buffer,
 * u % W, it reuses), so at most W prepared row groups are held; the consumer (the
 * scan's thread) emits unit after unit in order. */
typedef struct pool {
    scan *s;
    const ig_plan *plan;
    const unit *units;
    size_t nunits;
    rgbuf *B;
    size_t W;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next;    /* next unit to claim */
    size_t emitted; /* units the consumer is done with */
    uint8_t *ready; /* per buffer */
    bool stop;
} pool;

static void *pool_worker(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->mu);
    while (true) {
        while (!p->stop && p->next < p->nunits && p->next >= p->emitted + p->W)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop || p->next >= p->nunits)
            break;
        size_t u = p->next++;
        pthread_mutex_unlock(&p->mu);
        run_unit(p->s, p->plan, &p->B[u % p->W], &p->units[u]);
        pthread_mutex_lock(&p->mu);
        p->ready[u % p->W] = 1;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int scan_threads(const lq_table_source *ts)
{
    if (ts->threads > 0)
        return ts->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static void rgbuf_free(rgbuf *b)
{
    for (int c = 0; c < C_NFLAT; c++)
        fcol_free(&b->c[c]);
    for (int m = 0; m < M_N; m++)
        mcol_free(&b->m[m]);
    if (b->f)
        pq_close(b->f);
    ig_free(b->tsv);
    ig_free(b->keep);
}

/* Rows per row group from which reading the next one on another thread pays for the
 * thread (below it the next row group is read after this one is emitted). */
#define READ_AHEAD_MIN_ROWS 4096

static int table_scan(lq_source *src, const logql_log *log, int64_t start_ns, int64_t end_ns,
                      lq_entry_fn fn, void *fnctx, ig_errbuf *eb)
{
    lq_table_source *ts = src->ctx;
    if (end_ns <= start_ns)
        return 0;
    scan s = {.ts = ts,
              .log = log,
              .start_ns = start_ns,
              .end_ns = end_ns,
              .fn = fn,
              .fnctx = fnctx,
              .eb = eb};
    ig_arena_init(&s.a, SCAN_ARENA_CAP);
    ig_arena_init(&s.row, ROW_ARENA_CAP);
    int rc = lq__matchers_new(log->matchers, log->n_matchers, &s.a, &s.ms, eb);
    s.ch = ig_arena_alloc(&s.a, CACHE_SLOTS * sizeof *s.ch);
    s.cv = ig_arena_alloc(&s.a, CACHE_SLOTS);
    s.tmp = ig_arena_alloc(&s.a, LQ_MAX_LABELS * sizeof *s.tmp);
    s.prev_raw = ig_arena_alloc(&s.a, LQ_MAX_LABELS * sizeof *s.prev_raw);
    s.prev_sorted = ig_arena_alloc(&s.a, LQ_MAX_LABELS * sizeof *s.prev_sorted);
    if (rc == 0 && (!s.ch || !s.cv || !s.tmp || !s.prev_raw || !s.prev_sorted))
        rc = ig_err(eb, IG_ENOMEM, "out of memory");
    if (rc) {
        ig_arena_free(&s.a);
        ig_arena_free(&s.row);
        return rc;
    }
    memset(s.cv, -1, CACHE_SLOTS);
    /* leading substring filters */
    s.pre = log->stages;
    while (s.npre < log->n_stages) {
        const logql_stage *st = &log->stages[s.npre];
        if (st->kind != LOGQL_STAGE_LINE_FILTER ||
            (st->line_op != LOGQL_LINE_CONTAINS && st->line_op != LOGQL_LINE_NOT_CONTAINS))
            break;
        bool ip = false;
        for (size_t k = 0; k < st->n_operands; k++)
            ip |= st->operands[k].ip;
        if (ip)
            break;
        s.npre++;
    }
    /* No pruning predicate on service_name: an OTLP row without service.name has
     * "unknown_service" in the column while its Loki view may carry a discovered
     * service_name (k8s_container_name, app, ...), so the column cannot rule a row out. */
    int64_t start_us = start_ns / 1000 - (start_ns % 1000 < 0);
    int64_t end_us = end_ns / 1000 + (end_ns % 1000 > 0);
    ig_plan_req req = {.table = IG_TABLE_LOGS,
                       .tenant = ts->tenant,
                       .account = ts->account,
                       .start_us = start_us,
                       .end_us = end_us};
    ig_plan plan;
    rc = ig_plan_scan(ts->cat, ts->store, &req, &plan, eb);
    /* the units in visiting order: newest first when the consumer keeps the newest
     * entries (WAL segments are planned by ascending sequence after the Iceberg files) */
    size_t nunits = 0;
    uint64_t nrecords = 0;
    for (size_t i = 0; rc == 0 && i < plan.nfiles; i++) {
        nunits += plan.files[i].nrgs;
        nrecords += plan.files[i].records;
    }
    /* workers: one per CPU (loki.scan_threads), fewer for small scans; the window holds
     * one buffer more than there are workers, so a worker can fill one while the
     * consumer emits another */
    size_t nw = (size_t)scan_threads(ts);
    if (nw > nunits)
        nw = nunits;
    if (nunits < 2 || nrecords / (nunits ? nunits : 1) < READ_AHEAD_MIN_ROWS)
        nw = 0;
    size_t W = nw ? nw + 1 : 1;
    unit *units = rc ? NULL : ig_malloc((nunits + 1) * sizeof *units);
    rgbuf *B = rc ? NULL : ig_malloc(W * sizeof *B);
    uint8_t *ready = rc ? NULL : ig_calloc(W, 1);
    pthread_t *th = rc || !nw ? NULL : ig_malloc(nw * sizeof *th);
    if (rc == 0 && (!units || !B || !ready || (nw && !th)))
        rc = ig_err(eb, IG_ENOMEM, "out of memory");
    if (B) {
        memset(B, 0, W * sizeof *B);
        for (size_t i = 0; i < W; i++)
            B[i].fi = SIZE_MAX;
    }
    size_t k = 0;
    for (size_t fi = 0; rc == 0 && fi < plan.nfiles; fi++) {
        size_t i = ts->ts_floor_ns ? plan.nfiles - 1 - fi : fi;
        for (size_t g = 0; g < plan.files[i].nrgs; g++)
            units[k++] = (unit){i, plan.files[i].rgs[g]};
    }
    if (rc == 0 && !nw) {
        for (size_t u = 0; rc == 0 && u < nunits; u++) {
            run_unit(&s, &plan, &B[0], &units[u]);
            rc = B[0].rc ? ig_err(eb, B[0].rc, "%s", B[0].eb.msg) : emit_rg(&s, &B[0]);
        }
    } else if (rc == 0) {
        pool p = {.s = &s, .plan = &plan, .units = units, .nunits = nunits, .B = B, .W = W,
                  .ready = ready};
        pthread_mutex_init(&p.mu, NULL);
        pthread_cond_init(&p.cv, NULL);
        size_t started = 0;
        for (; started < nw; started++)
            if (pthread_create(&th[started], NULL, pool_worker, &p) != 0)
                break;
        for (size_t u = 0; !started && rc == 0 && u < nunits; u++) {
            /* no thread could start: one unit after the other here */
            run_unit(&s, &plan, &B[0], &units[u]);
            rc = B[0].rc ? ig_err(eb, B[0].rc, "%s", B[0].eb.msg) : emit_rg(&s, &B[0]);
        }
        for (size_t u = 0; started && rc == 0 && u < nunits; u++) {
            rgbuf *cur = &B[u % W];
            pthread_mutex_lock(&p.mu);
            while (!p.ready[u % W])
                pthread_cond_wait(&p.cv, &p.mu);
            pthread_mutex_unlock(&p.mu);
            rc = cur->rc ? ig_err(eb, cur->rc, "%s", cur->eb.msg) : emit_rg(&s, cur);
            pthread_mutex_lock(&p.mu);
            p.ready[u % W] = 0;
            p.emitted = u + 1;
            pthread_cond_broadcast(&p.cv);
            pthread_mutex_unlock(&p.mu);
        }
        pthread_mutex_lock(&p.mu);
        p.stop = true;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
        for (size_t i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        pthread_mutex_destroy(&p.mu);
        pthread_cond_destroy(&p.cv);
    }
    for (size_t i = 0; B && i < W; i++)
        rgbuf_free(&B[i]);
    ig_free(B);
    ig_free(ready);
    ig_free(th);
    ig_free(units);
    ig_plan_free(&plan);
    ig_arena_free(&s.row);
    ig_arena_free(&s.a);
    return rc;
}

void lq_table_source_init(lq_table_source *s, catalog *cat, ig_store *store, ig_str tenant,
                          ig_str account)
{
    memset(s, 0, sizeof *s);
    s->src.scan = table_scan;
    s->src.ctx = s;
    s->cat = cat;
    s->store = store;
    s->tenant = tenant;
    s->account = account;
}
