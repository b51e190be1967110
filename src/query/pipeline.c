/* The log pipeline (lq_pipeline_*): one entry through the stages of a log query, as Loki's
 * pkg/logql/log does it. Design note: docs/query.md "Pipeline".
 *
 * lq_pipeline_new compiles once per query: regexps (PCRE2 with JIT; RE2 syntax is close
 * enough for what the parser accepted), patterns, IP matchers, templates. lq_pipeline_run
 * is then pure per entry: every allocation goes to the caller's scratch arena, so
 * distinct threads may run the same pipeline with distinct arenas. PCRE2 match data is
 * created per call through ig_malloc and freed before returning.
 *
 * Labels: the entry's stream labels and structured metadata start the label set (a
 * metadata name equal to a stream label's is kept as <name>_extracted); a parsed label
 * whose name is taken by a stream label or metadata goes to <name>_extracted (Loki's
 * precedence stream > structured metadata > parsed). Failing stages set __error__ and
 * __error_details__ as Loki does; once __error__ is set, numeric label filters let the
 * line through untouched (only string matchers see __error__). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "icegate/alloc.h"
#include "icegate/json.h"
#include "icegate/logql_eval.h"
#include "query_int.h"
#include "template.h"

/* ---- regular expressions ------------------------------------------------------------ */

static void *re_alloc(size_t n, void *ud)
{
    (void)ud;
    return ig_malloc(n);
}
static void re_free(void *p, void *ud)
{
    (void)ud;
    ig_free(p);
}

static void re_code_free(void *p)
{
    pcre2_code_free((pcre2_code *)p);
}

/* Compiles re with PCRE2 (UTF, invalid UTF-8 tolerated in subjects) and JIT; the code is
 * freed with the arena. flags: PCRE2_DOTALL, PCRE2_ANCHORED|PCRE2_ENDANCHORED, ... */
pcre2_code *lq__re_compile(ig_str re, uint32_t flags, ig_arena *a, ig_errbuf *eb)
{
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_general_context *gc = pcre2_general_context_create(re_alloc, re_free, NULL);
    pcre2_compile_context *cc = gc ? pcre2_compile_context_create(gc) : NULL;
    pcre2_code *c = NULL;
    if (cc)
        c = pcre2_compile((PCRE2_SPTR)(re.ptr ? re.ptr : ""), re.len,
                          flags | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, cc);
    if (cc)
        pcre2_compile_context_free(cc);
    if (gc)
        pcre2_general_context_free(gc);
    if (!c) {
        PCRE2_UCHAR msg[160];
        if (err == 0 || pcre2_get_error_message(err, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "out of memory");
        ig_err(eb, IG_EINVAL, "error parsing regexp: %s at offset %zu: `%.*s`", (char *)msg,
               (size_t)off, (int)(re.len > 80 ? 80 : re.len), re.ptr ? re.ptr : "");
        return NULL;
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* best effort: interpreted when it fails */
    if (ig_arena_on_free(a, re_code_free, c) != 0) {
        ig_err(eb, IG_ENOMEM, "out of memory");
        return NULL;
    }
    return c;
}

/* Finds the first match of c in s at or after off; 1 with ov[0..2*n) set, 0 no match. */
static int re_search(const pcre2_code *c, pcre2_match_data *md, ig_str s, size_t off)
{
    int rc = pcre2_match(c, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, off, 0, md, NULL);
    return rc > 0 ? 1 : 0;
}

bool lq__re_match(const pcre2_code *c, ig_str s)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
    if (!md)
        return false;
    int r = re_search(c, md, s, 0);
    pcre2_match_data_free(md);
    return r == 1;
}

/* ---- stream-selector / label matchers --------------------------------------------- */

struct lq_matchers {
    const logql_matcher *m;
    pcre2_code **re;
    size_t n;
};

int lq__matchers_new(const logql_matcher *m, size_t n, ig_arena *a, lq_matchers **out,
                     ig_errbuf *eb)
{
    lq_matchers *ms = ig_arena_zalloc(a, sizeof *ms);
    if (!ms || !(ms->re = ig_arena_zalloc(a, (n ? n : 1) * sizeof *ms->re)))
        return ig_err(eb, IG_ENOMEM, "out of memory");
    ms->m = m;
    ms->n = n;
    for (size_t i = 0; i < n; i++) {
        if (m[i].op == LOGQL_MATCH_RE || m[i].op == LOGQL_MATCH_NRE) {
            ms->re[i] = lq__re_compile(m[i].value, PCRE2_ANCHORED | PCRE2_ENDANCHORED, a, eb);
            if (!ms->re[i])
                return IG_EINVAL;
        }
    }
    *out = ms;
    return 0;
}

bool lq__matcher_match(const lq_matchers *ms, size_t i, ig_str v)
{
    const logql_matcher *m = &ms->m[i];
    if (!v.ptr)
        v = IG_STR("");
    switch (m->op) {
    case LOGQL_MATCH_EQ:
        return ig_str_eq(v, m->value);
    case LOGQL_MATCH_NEQ:
        return !ig_str_eq(v, m->value);
    case LOGQL_MATCH_RE:
        return lq__re_match(ms->re[i], v);
    case LOGQL_MATCH_NRE:
        return !lq__re_match(ms->re[i], v);
    }
    return false;
}

bool lq__matchers_match(const lq_matchers *ms, const lq_labels *l)
{
    for (size_t i = 0; i < ms->n; i++)
        if (!lq__matcher_match(ms, i, lq_labels_get(l, ms->m[i].name)))
            return false;
    return true;
}

/* ---- IP matching ------------------------------------------------------------------- */

typedef struct ipm {
    uint8_t lo[16], hi[16];
} ipm;

static bool parse_ip(ig_str s, uint8_t out[16])
{
    char tmp[64];
    if (s.len == 0 || s.len >= sizeof tmp)
        return false;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = 0;
    uint8_t v4[4];
    if (inet_pton(AF_INET, tmp, v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, tmp, out) == 1;
}

static int ipm_compile(ig_str pat, ipm *m, ig_errbuf *eb)
{
    long slash = ig_str_index(pat, '/'), dash = ig_str_index(pat, '-');
    if (slash >= 0) {
        ig_str addr = {pat.ptr, (size_t)slash}, bits = {pat.ptr + slash + 1, pat.len - slash - 1};
        int64_t nb;
        if (!parse_ip(addr, m->lo) || ig_str_to_i64(bits, &nb) != 0)
            return ig_err(eb, IG_EINVAL, "invalid ip pattern \"%.*s\"", (int)pat.len, pat.ptr);
        bool v4 = ig_str_index(addr, ':') < 0;
        if (v4)
            nb += 96;
        if (nb < 0 || nb > 128)
            return ig_err(eb, IG_EINVAL, "invalid ip pattern \"%.*s\"", (int)pat.len, pat.ptr);
        for (int i = 0; i < 16; i++) {
            int keep = (int)nb - i * 8;
            uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
            m->lo[i] &= mask;
            m->hi[i] = m->lo[i] | (uint8_t)~mask;
        }
        return 0;
    }
    if (dash >= 0) {
        ig_str a = ig_str_trim((ig_str){pat.ptr, (size_t)dash});
        ig_str b = ig_str_trim((ig_str){pat.ptr + dash + 1, pat.len - dash - 1});
        if (!parse_ip(a, m->lo) || !parse_ip(b, m->hi))
            return ig_err(eb, IG_EINVAL, "invalid ip pattern \"%.*s\"", (int)pat.len, pat.ptr);
        return 0;
    }
    if (!parse_ip(pat, m->lo))
        return ig_err(eb, IG_EINVAL, "invalid ip pattern \"%.*s\"", (int)pat.len, pat.ptr);
    memcpy(m->hi, m->lo, 16);
    return 0;
}

static bool ipm_match_addr(const ipm *m, const uint8_t a[16])
{
    return memcmp(a, m->lo, 16) >= 0 && memcmp(a, m->hi, 16) <= 0;
}

static bool ipm_match_value(const ipm *m, ig_str v)
{
    uint8_t a[16];
    return parse_ip(ig_str_trim(v), a) && ipm_match_addr(m, a);
}

static bool ip_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
           c == ':';
}

/* Whether any IP address in the line falls in m. */
static bool ipm_match_line(const ipm *m, ig_str line)
{
    size_t i = 0;
    while (i < line.len) {
        if (!ip_char((unsigned char)line.ptr[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < line.len && ip_char((unsigned char)line.ptr[j]))
            j++;
        ig_str tok = {line.ptr + i, j - i};
        while (tok.len && (tok.ptr[tok.len - 1] == '.' || tok.ptr[tok.len - 1] == ':'))
            tok.len--;
        if (ipm_match_value(m, tok))
            return true;
        i = j;
    }
    return false;
}

/* ---- patterns ------------------------------------------------------------------------ */

typedef struct pat_node {
    bool capture;
    ig_str lit;  /* literal */
    ig_str name; /* capture ("_" unnamed) */
} pat_node;

typedef struct pat {
    pat_node *n;
    size_t len;
} pat;

static bool ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

static int pat_compile(ig_str s, ig_arena *a, pat *p)
{
    p->n = ig_arena_zalloc(a, (s.len + 1) * sizeof *p->n);
    p->len = 0;
    if (!p->n)
        return IG_ENOMEM;
    size_t i = 0, lit = 0;
    while (i < s.len) {
        if (s.ptr[i] == '<' && i + 1 < s.len && ident_start(s.ptr[i + 1])) {
            size_t j = i + 1;
            while (j < s.len && ident_char(s.ptr[j]))
                j++;
            if (j < s.len && s.ptr[j] == '>') {
                if (i > lit)
                    p->n[p->len++] = (pat_node){false, {s.ptr + lit, i - lit}, IG_STR_NULL};
                p->n[p->len++] = (pat_node){true, IG_STR_NULL, {s.ptr + i + 1, j - i - 1}};
                i = lit = j + 1;
                continue;
            }
        }
        i++;
    }
    if (s.len > lit)
        p->n[p->len++] = (pat_node){false, {s.ptr + lit, s.len - lit}, IG_STR_NULL};
    return 0;
}

static bool pat_unnamed(const pat_node *n)
{
    return n->name.len == 1 && n->name.ptr[0] == '_';
}

static long str_find(ig_str h, ig_str n, size_t from)
{
    if (n.len == 0)
        return (long)from;
    if (from > h.len || h.len - from < n.len)
        return -1;
    const char *r = memmem(h.ptr + from, h.len - from, n.ptr, n.len);
    return r ? (long)(r - h.ptr) : -1;
}

/* Loki's pattern parser matching: anchored at the start, captures take text up to the
 * next literal's first occurrence, a trailing capture takes the rest. Stores up to max
 * captures (named ones only) in caps/names, returns how many. */
static size_t pat_extract(const pat *p, ig_str in, ig_str *caps, ig_str *names, size_t max)
{
    size_t nc = 0, k = 0;
    if (in.len == 0 || p->len == 0)
        return 0;
    if (!p->n[0].capture) {
        if (str_find(in, p->n[0].lit, 0) != 0)
            return 0;
        in.ptr += p->n[0].lit.len;
        in.len -= p->n[0].lit.len;
        k = 1;
    }
    while (k < p->len) {
        const pat_node *c = &p->n[k];
        if (k + 1 == p->len) {
            if (!pat_unnamed(c) && nc < max)
                caps[nc] = in, names[nc++] = c->name;
            return nc;
        }
        const pat_node *l = &p->n[k + 1];
        k += 2;
        long i = str_find(in, l->lit, 0);
        if (i < 0) {
            if (!pat_unnamed(c) && nc < max)
                caps[nc] = in, names[nc++] = c->name;
            return nc;
        }
        if (!pat_unnamed(c) && nc < max)
            caps[nc] = (ig_str){in.ptr, (size_t)i}, names[nc++] = c->name;
        in.ptr += (size_t)i + l->lit.len;
        in.len -= (size_t)i + l->lit.len;
    }
    return nc;
}

/* Line filter |> : the whole line must match, <_> matching any text. Glob matching:
 * the leading literal is a prefix, the trailing literal a suffix, the literals between
 * are found leftmost in order (which is exact for a single wildcard kind). */
static bool pat_test(const pat *p, ig_str s)
{
    if (p->len == 0)
        return s.len == 0;
    size_t first = 0, last = p->len, pos = 0, end = s.len;
    if (!p->n[0].capture) {
        ig_str l = p->n[0].lit;
        if (s.len < l.len || memcmp(s.ptr, l.ptr, l.len) != 0)
            return false;
        if (p->len == 1)
            return s.len == l.len;
        pos = l.len;
        first = 1;
    }
    if (!p->n[p->len - 1].capture) {
        ig_str l = p->n[p->len - 1].lit;
        if (end - pos < l.len || memcmp(s.ptr + end - l.len, l.ptr, l.len) != 0)
            return false;
        end -= l.len;
        last = p->len - 1;
    }
    ig_str win = {s.ptr, end};
    for (size_t k = first; k < last; k++) {
        if (p->n[k].capture)
            continue;
        long f = str_find(win, p->n[k].lit, pos);
        if (f < 0)
            return false;
        pos = (size_t)f + p->n[k].lit.len;
    }
    return true;
}

/* ---- conversions (Go strconv.ParseFloat, time.ParseDuration, humanize.ParseBytes) ---- */

int lq__parse_float(ig_str v, double *out)
{
    if (v.len == 0 || v.ptr[0] == ' ' || v.ptr[v.len - 1] == ' ')
        return IG_EINVAL;
    return ig_str_to_f64(v, out);
}

/* Go's time.ParseDuration, result in ns (as a double to keep fractions exact enough). */
int lq__parse_go_duration(ig_str s, double *out_ns)
{
    size_t i = 0;
    bool neg = false;
    if (i < s.len && (s.ptr[i] == '-' || s.ptr[i] == '+'))
        neg = s.ptr[i++] == '-';
    if (s.len - i == 1 && s.ptr[i] == '0') {
        *out_ns = 0;
        return 0;
    }
    if (i == s.len)
        return IG_EINVAL;
    double total = 0;
    while (i < s.len) {
        size_t st = i;
        while (i < s.len && ((s.ptr[i] >= '0' && s.ptr[i] <= '9') || s.ptr[i] == '.'))
            i++;
        if (i == st)
            return IG_EINVAL;
        double num;
        if (ig_str_to_f64((ig_str){s.ptr + st, i - st}, &num) != 0)
            return IG_EINVAL;
        size_t us = i;
        while (i < s.len && !((s.ptr[i] >= '0' && s.ptr[i] <= '9') || s.ptr[i] == '.'))
            i++;
        ig_str u = {s.ptr + us, i - us};
        double mul;
        if (ig_str_eq_cstr(u, "ns"))
            mul = 1;
        else if (ig_str_eq_cstr(u, "us") || ig_str_eq_cstr(u, "\xc2\xb5s") ||
                 ig_str_eq_cstr(u, "\xce\xbcs"))
            mul = 1e3;
        else if (ig_str_eq_cstr(u, "ms"))
            mul = 1e6;
        else if (ig_str_eq_cstr(u, "s"))
            mul = 1e9;
        else if (ig_str_eq_cstr(u, "m"))
            mul = 60e9;
        else if (ig_str_eq_cstr(u, "h"))
            mul = 3600e9;
        else
            return IG_EINVAL;
        total += num * mul;
    }
    *out_ns = neg ? -total : total;
    return 0;
}

/* humanize.ParseBytes: a number, optional spaces, an optional unit (case-insensitive):
 * b, k/kb (1000), ki/kib (1024), m, mb, mi, mib, ... up to e/eb/ei/eib. */
int lq__parse_bytes(ig_str s, double *out)
{
    size_t i = 0;
    while (i < s.len &&
           ((s.ptr[i] >= '0' && s.ptr[i] <= '9') || s.ptr[i] == '.' || s.ptr[i] == ','))
        i++;
    char num[64];
    size_t k = 0;
    for (size_t j = 0; j < i && k + 1 < sizeof num; j++)
        if (s.ptr[j] != ',')
            num[k++] = s.ptr[j];
    double n;
    if (k == 0 || ig_str_to_f64((ig_str){num, k}, &n) != 0)
        return IG_EINVAL;
    while (i < s.len && s.ptr[i] == ' ')
        i++;
    char u[8];
    size_t ul = s.len - i;
    if (ul >= sizeof u)
        return IG_EINVAL;
    for (size_t j = 0; j < ul; j++) {
        char c = s.ptr[i + j];
        u[j] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    u[ul] = 0;
    static const char *const pre = "kmgtpe";
    double mul = 1;
    if (ul == 0 || !strcmp(u, "b")) {
        mul = 1;
    } else {
        const char *q = strchr(pre, u[0]);
        if (!q || u[0] == 0)
            return IG_EINVAL;
        int e = (int)(q - pre) + 1;
        if (ul == 1 || !strcmp(u + 1, "b"))
            mul = pow(1000, e);
        else if (!strcmp(u + 1, "i") || !strcmp(u + 1, "ib"))
            mul = pow(1024, e);
        else
            return IG_EINVAL;
    }
    *out = trunc(n * mul); /* humanize.ParseBytes returns uint64(f * unit) */
    return 0;
}

/* ---- compiled pipeline -------------------------------------------------------------- */

enum { LF_SUB, LF_RE, LF_PAT, LF_IP };
typedef struct lfo {
    int kind;
    ig_str s;
    pcre2_code *re;
    pat pt;
    ipm ip;
} lfo;

typedef struct lfc lfc;
struct lfc {
    const logql_label_filter *f;
    pcre2_code *re;
    ipm ip;
    lfc *l, *r;
};

typedef struct jseg {
    ig_str key; /* ptr NULL: index */
    int64_t idx;
} jseg;
typedef struct jpath {
    jseg *s;
    size_t n;
} jpath;

typedef struct cstage {
    const logql_stage *st;
    lfo *ops;
    pcre2_code *re;
    pat pt;
    lq_tmpl *tmpl;
    lq_tmpl **ltmpl;
    lfc *filter;
    lq_matchers *names;
    jpath *jp;
} cstage;

struct lq_pipeline {
    cstage *st;
    size_t n;
    cstage *post;
    size_t npost;
    const logql_unwrap *unwrap;
    pcre2_code *ansi;
};

static int compile_lf(const logql_label_filter *f, ig_arena *a, lfc **out, ig_errbuf *eb)
{
    lfc *c = ig_arena_zalloc(a, sizeof *c);
    if (!c)
        return ig_err(eb, IG_ENOMEM, "out of memory");
    c->f = f;
    int rc = 0;
    if (f->kind == LOGQL_LF_AND || f->kind == LOGQL_LF_OR) {
        if ((rc = compile_lf(f->left, a, &c->l, eb)) || (rc = compile_lf(f->right, a, &c->r, eb)))
            return rc;
    } else if (f->kind == LOGQL_LF_STRING &&
               (f->m.op == LOGQL_MATCH_RE || f->m.op == LOGQL_MATCH_NRE)) {
        c->re = lq__re_compile(f->m.value, PCRE2_ANCHORED | PCRE2_ENDANCHORED, a, eb);
        if (!c->re)
            return IG_EINVAL;
    } else if (f->kind == LOGQL_LF_IP) {
        if ((rc = ipm_compile(f->m.value, &c->ip, eb)))
            return rc;
    }
    *out = c;
    return 0;
}

/* JSON path of a `json` parameter: a.b[0]["c d"] */
static int compile_jpath(ig_str e, ig_arena *a, jpath *jp, ig_errbuf *eb)
{
    jp->s = ig_arena_zalloc(a, (e.len + 1) * sizeof *jp->s);
    jp->n = 0;
    if (!jp->s)
        return ig_err(eb, IG_ENOMEM, "out of memory");
    size_t i = 0;
    while (i < e.len) {
        if (e.ptr[i] == '.') {
            i++;
            continue;
        }
        if (e.ptr[i] == '[') {
            i++;
            if (i < e.len && (e.ptr[i] == '"' || e.ptr[i] == '\'')) {
                char q = e.ptr[i++];
                size_t st = i;
                while (i < e.len && e.ptr[i] != q)
                    i++;
                jp->s[jp->n++] = (jseg){{e.ptr + st, i - st}, 0};
                i++;
            } else {
                size_t st = i;
                while (i < e.len && e.ptr[i] != ']')
                    i++;
                int64_t idx;
                if (ig_str_to_i64((ig_str){e.ptr + st, i - st}, &idx) != 0 || idx < 0)
                    return ig_err(eb, IG_EINVAL,
                                  "cannot parse expression [%.*s]: invalid json path", (int)e.len,
                                  e.ptr);
                jp->s[jp->n++] = (jseg){IG_STR_NULL, idx};
            }
            if (i >= e.len || e.ptr[i] != ']')
                return ig_err(eb, IG_EINVAL, "cannot parse expression [%.*s]: invalid json path",
                              (int)e.len, e.ptr);
            i++;
            continue;
        }
        size_t st = i;
        while (i < e.len && e.ptr[i] != '.' && e.ptr[i] != '[')
            i++;
        jp->s[jp->n++] = (jseg){{e.ptr + st, i - st}, 0};
    }
    return 0;
}

static int compile_stage(const logql_stage *st, cstage *c, ig_arena *a, ig_errbuf *eb)
{
    c->st = st;
    int rc = 0;
    switch (st->kind) {
    case LOGQL_STAGE_LINE_FILTER:
        c->ops = ig_arena_zalloc(a, (st->n_operands + 1) * sizeof *c->ops);
        if (!c->ops)
            return ig_err(eb, IG_ENOMEM, "out of memory");
        for (size_t i = 0; i < st->n_operands; i++) {
            lfo *o = &c->ops[i];
            o->s = st->operands[i].value;
            if (st->operands[i].ip) {
                o->kind = LF_IP;
                if ((rc = ipm_compile(o->s, &o->ip, eb)))
                    return rc;
            } else if (st->line_op == LOGQL_LINE_RE || st->line_op == LOGQL_LINE_NOT_RE) {
                o->kind = LF_RE;
                if (!(o->re = lq__re_compile(o->s, PCRE2_DOTALL, a, eb)))
                    return IG_EINVAL;
            } else if (st->line_op == LOGQL_LINE_PATTERN || st->line_op == LOGQL_LINE_NOT_PATTERN) {
                o->kind = LF_PAT;
                if ((rc = pat_compile(o->s, a, &o->pt)))
                    return ig_err(eb, rc, "out of memory");
            } else {
                o->kind = LF_SUB;
            }
        }
        return 0;
    case LOGQL_STAGE_JSON:
        if (st->n_params) {
            c->jp = ig_arena_zalloc(a, st->n_params * sizeof *c->jp);
            if (!c->jp)
                return ig_err(eb, IG_ENOMEM, "out of memory");
            for (size_t i = 0; i < st->n_params; i++)
                if ((rc = compile_jpath(st->params[i].has_expr ? st->params[i].expr
                                                               : st->params[i].name,
                                        a, &c->jp[i], eb)))
                    return rc;
        }
        return 0;
    case LOGQL_STAGE_REGEXP:
        c->re = lq__re_compile(st->str, 0, a, eb);
        return c->re ? 0 : IG_EINVAL;
    case LOGQL_STAGE_PATTERN:
        if ((rc = pat_compile(st->str, a, &c->pt)))
            return ig_err(eb, rc, "out of memory");
        return 0;
    case LOGQL_STAGE_LABEL_FILTER:
        return compile_lf(st->filter, a, &c->filter, eb);
    case LOGQL_STAGE_LINE_FORMAT:
        return lq__tmpl_compile(st->str, a, &c->tmpl, eb);
    case LOGQL_STAGE_LABEL_FORMAT:
        c->ltmpl = ig_arena_zalloc(a, (st->n_fmts + 1) * sizeof *c->ltmpl);
        if (!c->ltmpl)
            return ig_err(eb, IG_ENOMEM, "out of memory");
        for (size_t i = 0; i < st->n_fmts; i++)
            if (!st->fmts[i].rename &&
                (rc = lq__tmpl_compile(st->fmts[i].value, a, &c->ltmpl[i], eb)))
                return rc;
        return 0;
    case LOGQL_STAGE_DROP:
    case LOGQL_STAGE_KEEP: {
        logql_matcher *ms = ig_arena_zalloc(a, (st->n_names + 1) * sizeof *ms);
        if (!ms)
            return ig_err(eb, IG_ENOMEM, "out of memory");
        for (size_t i = 0; i < st->n_names; i++)
            ms[i] = st->names[i].m;
        /* plain names are compiled as EQ matchers but tested by name only */
        for (size_t i = 0; i < st->n_names; i++)
            if (!st->names[i].has_matcher)
                ms[i].op = LOGQL_MATCH_EQ;
        return lq__matchers_new(ms, st->n_names, a, &c->names, eb);
    }
    default:
        return 0;
    }
}

int lq_pipeline_new(const logql_log *log, ig_arena *a, lq_pipeline **out, ig_errbuf *eb)
{
    lq_pipeline *p = ig_arena_zalloc(a, sizeof *p);
    if (!p || !(p->st = ig_arena_zalloc(a, (log->n_stages + 1) * sizeof *p->st)))
        return ig_err(eb, IG_ENOMEM, "out of memory");
    int rc;
    for (size_t i = 0; i < log->n_stages; i++) {
        if ((rc = compile_stage(&log->stages[i], &p->st[i], a, eb)))
            return rc;
        if (log->stages[i].kind == LOGQL_STAGE_DECOLORIZE && !p->ansi) {
            p->ansi = lq__re_compile(
                IG_STR(
                    "[\\x{1b}\\x{9b}][[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\\x{07})|"
                    "(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))"),
                0, a, eb);
            if (!p->ansi)
                return IG_EINVAL;
        }
    }
    p->n = log->n_stages;
    p->unwrap = log->unwrap;
    if (log->unwrap && log->unwrap->n_post) {
        p->post = ig_arena_zalloc(a, log->unwrap->n_post * sizeof *p->post);
        if (!p->post)
            return ig_err(eb, IG_ENOMEM, "out of memory");
        for (size_t i = 0; i < log->unwrap->n_post; i++)
            if ((rc = compile_stage(&log->unwrap->post[i], &p->post[i], a, eb)))
                return rc;
        p->npost = log->unwrap->n_post;
    }
    *out = p;
    return 0;
}

/* ---- run ------------------------------------------------------------------------------ */

typedef struct run {
    lq_lb lb;
    ig_str line;
    int64_t ts;
    ig_arena *a;
    /* names set by the current parser call (first occurrence wins) */
    ig_str *seen;
    size_t nseen, capseen;
    const lq_pipeline *p;
} run;

static const ig_str ERR = {"__error__", 9};
static const ig_str ERR_DETAILS = {"__error_details__", 17};

static bool has_err(const run *r)
{
    return lq__lb_has(&r->lb, ERR);
}

static void set_err(run *r, const char *err, ig_str details)
{
    if (has_err(r))
        return; /* Loki keeps the first error */
    lq__lb_set(&r->lb, ERR, ig_str_from(err), LQ_CAT_PARSED);
    if (details.len)
        lq__lb_set(&r->lb, ERR_DETAILS, ig_arena_strdup(r->a, details), LQ_CAT_PARSED);
}

/* Adds a parsed label with Loki's precedence (a name held by a stream label or
 * structured metadata goes to <name>_extracted) and first-occurrence-wins within one
 * parser call. */
static int set_parsed(run *r, ig_str name, ig_str value)
{
    if (name.len == 0)
        return 0;
    for (size_t i = 0; i < r->nseen; i++)
        if (r->seen[i].len == name.len && r->seen[i].ptr[0] == name.ptr[0] &&
            memcmp(r->seen[i].ptr, name.ptr, name.len) == 0)
            return 0;
    if (r->nseen == r->capseen) {
        size_t nc = r->capseen ? r->capseen * 2 : 16;
        if (nc > LQ_MAX_LABELS)
            return 0;
        ig_str *ns = ig_arena_alloc(r->a, nc * sizeof *ns);
        if (!ns)
            return IG_ENOMEM;
        if (r->nseen)
            memcpy(ns, r->seen, r->nseen * sizeof *ns);
        r->seen = ns;
        r->capseen = nc;
    }
    r->seen[r->nseen++] = name;
    uint8_t cat;
    ig_str cur = lq__lb_get(&r->lb, name, &cat);
    if (cur.ptr && cat != LQ_CAT_PARSED) {
        char *n2 = ig_arena_alloc(r->a, name.len + 11);
        if (!n2)
            return IG_ENOMEM;
        memcpy(n2, name.ptr, name.len);
        memcpy(n2 + name.len, "_extracted", 10);
        name = (ig_str){n2, name.len + 10};
    }
    int rc = lq__lb_set(&r->lb, name, value, LQ_CAT_PARSED);
    return rc == IG_ETOOBIG ? 0 : rc;
}

static bool line_filter(const cstage *c, ig_str line)
{
    const logql_stage *st = c->st;
    bool neg = st->line_op == LOGQL_LINE_NOT_CONTAINS || st->line_op == LOGQL_LINE_NOT_RE ||
               st->line_op == LOGQL_LINE_NOT_PATTERN;
    bool any = false;
    for (size_t i = 0; i < st->n_operands && !any; i++) {
        const lfo *o = &c->ops[i];
        switch (o->kind) {
        case LF_SUB:
            any = o->s.len == 0 || (line.len >= o->s.len && lq__find(line.ptr, line.len, o->s));
            break;
        case LF_RE:
            any = lq__re_match(o->re, line);
            break;
        case LF_PAT:
            any = pat_test(&o->pt, line);
            break;
        case LF_IP:
            any = ipm_match_line(&o->ip, line);
            break;
        }
    }
    return neg ? !any : any;
}

/* -- json -- */

ig_str lq__json_key_sanitize(ig_arena *a, ig_str k, bool first)
{
    k = ig_str_trim(k);
    if (k.len == 0)
        return k;
    if (!first && k.ptr[0] >= '0' && k.ptr[0] <= '9') {
        /* only the first part gets the '_' prefix for a leading digit */
        bool ok = true;
        for (size_t i = 0; i < k.len && ok; i++) {
            char c = k.ptr[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_';
        }
        if (ok)
            return k;
        char *o = ig_arena_alloc(a, k.len + 1);
        if (!o)
            return IG_STR_NULL;
        for (size_t i = 0; i < k.len; i++) {
            char c = k.ptr[i];
            o[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_')
                       ? c
                       : '_';
        }
        return (ig_str){o, k.len};
    }
    return lq__sanitize_name(a, k);
}

static int json_walk(run *r, json_reader *jr, ig_str prefix, int depth)
{
    int rc = json_obj_begin(jr);
    if (rc < 0)
        return rc;
    ig_str key;
    while ((rc = json_obj_next_key(jr, &key)) == 1) {
        ig_str k = lq__json_key_sanitize(r->a, key, prefix.len == 0);
        if (!k.ptr)
            return IG_ENOMEM;
        ig_str name = k;
        if (prefix.len) {
            char *n = ig_arena_alloc(r->a, prefix.len + 1 + k.len);
            if (!n)
                return IG_ENOMEM;
            memcpy(n, prefix.ptr, prefix.len);
            n[prefix.len] = '_';
            memcpy(n + prefix.len + 1, k.ptr, k.len);
            name = (ig_str){n, prefix.len + 1 + k.len};
        } else if (k.ptr == key.ptr) {
            name = ig_arena_strdup(r->a, k); /* keys may live in the reader's scratch */
            if (!name.ptr)
                return IG_ENOMEM;
        }
        int t = json_peek(jr);
        if (t < 0)
            return t;
        json_tok tok;
        switch (t) {
        case JSON_OBJ:
            if (depth >= 64)
                return ig_err(jr->eb, IG_ECORRUPT, "json nested too deeply");
            if ((rc = json_walk(r, jr, name, depth + 1)))
                return rc;
            break;
        case JSON_ARR:
        case JSON_NULL:
            if ((rc = json_skip(jr)) < 0)
                return rc;
            break;
        default:
            if ((rc = json_next(jr, &tok)) < 0)
                return rc;
            if ((rc = set_parsed(r, name, tok.str)))
                return rc;
        }
    }
    return rc < 0 ? rc : 0;
}

static int json_reader_setup(json_reader *jr, ig_str line, ig_errbuf *eb, ig_arena *a)
{
    json_reader_init(jr, line, eb);
    jr->arena = a;
    jr->max_depth = 128;
    return 0;
}

static void stage_json(run *r, const cstage *c)
{
    ig_errbuf eb = {{0}};
    json_reader jr;
    json_reader_setup(&jr, r->line, &eb, r->a);
    r->nseen = 0;
    int rc;
    if (!c->jp) {
        rc = json_walk(r, &jr, IG_STR_NULL, 0);
        if (rc == 0)
            rc = json_end(&jr);
    } else {
        /* validate the whole line first, then look each path up */
        ig_str raw;
        rc = json_raw(&jr, &raw);
        if (rc == 0)
            rc = json_end(&jr);
        json_reader_free(&jr);
        if (rc == 0 && (r->line.len == 0 || ig_str_trim(r->line).ptr[0] != '{'))
            rc = ig_err(&eb, IG_ECORRUPT, "expected object");
        for (size_t i = 0; rc == 0 && i < c->st->n_params; i++) {
            const jpath *jp = &c->jp[i];
            ig_str val = IG_STR("");
            json_reader_setup(&jr, r->line, NULL, r->a);
            bool found = true;
            for (size_t s = 0; s < jp->n && found; s++) {
                int t = json_peek(&jr);
                if (jp->s[s].key.ptr) {
                    if (t != JSON_OBJ || json_obj_begin(&jr) < 0) {
                        found = false;
                        break;
                    }
                    ig_str k;
                    int kr;
                    found = false;
                    while ((kr = json_obj_next_key(&jr, &k)) == 1) {
                        if (ig_str_eq(k, jp->s[s].key)) {
                            found = true;
                            break;
                        }
                        if (json_skip(&jr) < 0)
                            break;
                    }
                } else {
                    if (t != JSON_ARR || json_arr_begin(&jr) < 0) {
                        found = false;
                        break;
                    }
                    found = false;
                    for (int64_t k = 0; json_arr_next(&jr) == 1; k++) {
                        if (k == jp->s[s].idx) {
                            found = true;
                            break;
                        }
                        if (json_skip(&jr) < 0)
                            break;
                    }
                }
            }
            if (found) {
                int t = json_peek(&jr);
                json_tok tok;
                if (t == JSON_OBJ || t == JSON_ARR) {
                    if (json_raw(&jr, &val) < 0)
                        val = IG_STR("");
                } else if (t == JSON_NULL) {
                    val = IG_STR("");
                } else if (t > 0 && json_next(&jr, &tok) >= 0) {
                    val = tok.str;
                }
            }
            if (val.len)
                val = ig_arena_strdup(r->a, val);
            json_reader_free(&jr);
            rc = set_parsed(r, c->st->params[i].name, val.ptr ? val : IG_STR(""));
        }
        if (rc && rc != IG_ENOMEM)
            set_err(r, "JSONParserErr", ig_str_from(eb.msg));
        return;
    }
    json_reader_free(&jr);
    if (rc && rc != IG_ENOMEM)
        set_err(r, "JSONParserErr", ig_str_from(eb.msg[0] ? eb.msg : "invalid JSON"));
}

static void stage_unpack(run *r)
{
    ig_errbuf eb = {{0}};
    json_reader jr;
    json_reader_setup(&jr, r->line, &eb, r->a);
    r->nseen = 0;
    int rc = json_obj_begin(&jr);
    ig_str key, entry = IG_STR_NULL;
    while (rc >= 0 && (rc = json_obj_next_key(&jr, &key)) == 1) {
        int t = json_peek(&jr);
        if (t != JSON_STRING) {
            rc = json_skip(&jr);
            continue;
        }
        ig_str k = ig_arena_strdup(r->a, key), v;
        if ((rc = json_str(&jr, &v)) < 0)
            break;
        if (ig_str_eq_cstr(k, "_entry")) {
            entry = v;
            continue;
        }
        ig_str name = lq__sanitize_name(r->a, k);
        if (!name.ptr || (rc = set_parsed(r, name, v)))
            break;
    }
    if (rc >= 0)
        rc = json_end(&jr);
    json_reader_free(&jr);
    if (rc < 0 && rc != IG_ENOMEM) {
        set_err(r, "JSONParserErr", ig_str_from(eb.msg[0] ? eb.msg : "invalid JSON"));
        return;
    }
    if (entry.ptr)
        r->line = entry;
}

/* -- logfmt (go-logfmt's grammar) -- */

static void stage_logfmt(run *r, const cstage *c)
{
    const logql_stage *st = c->st;
    ig_str s = r->line;
    size_t i = 0;
    r->nseen = 0;
    while (i < s.len) {
        while (i < s.len && (unsigned char)s.ptr[i] <= ' ')
            i++;
        if (i >= s.len)
            break;
        size_t ks = i;
        char bad = 0;
        while (i < s.len && (unsigned char)s.ptr[i] > ' ' && s.ptr[i] != '=') {
            if (s.ptr[i] == '"')
                bad = '"';
            i++;
        }
        ig_str key = {s.ptr + ks, i - ks};
        ig_str val = IG_STR("");
        bool has_eq = i < s.len && s.ptr[i] == '=';
        char ebuf[96];
        if (key.len == 0 || bad) {
            snprintf(ebuf, sizeof ebuf, "logfmt syntax error at pos %zu : unexpected '%c'",
                     (bad ? ks : i) + 1, bad ? bad : '=');
            if (st->strict) {
                set_err(r, "LogfmtParserErr", ig_str_from(ebuf));
                return;
            }
            /* skip to the next space */
            while (i < s.len && (unsigned char)s.ptr[i] > ' ')
                i++;
            continue;
        }
        if (has_eq) {
            i++;
            if (i < s.len && s.ptr[i] == '"') {
                size_t vs = ++i;
                bool esc = false, closed = false;
                while (i < s.len) {
                    if (s.ptr[i] == '\\') {
                        esc = true;
                        i += 2;
                        continue;
                    }
                    if (s.ptr[i] == '"') {
                        closed = true;
                        break;
                    }
                    i++;
                }
                if (!closed) {
                    snprintf(ebuf, sizeof ebuf,
                             "logfmt syntax error at pos %zu : unterminated quoted value",
                             s.len + 1);
                    if (st->strict) {
                        set_err(r, "LogfmtParserErr", ig_str_from(ebuf));
                        return;
                    }
                    break;
                }
                val = (ig_str){s.ptr + vs, i - vs};
                i++;
                if (esc) {
                    /* unescape the JSON-style escapes go-logfmt accepts */
                    json_reader jr;
                    ig_str q = {s.ptr + vs - 1, val.len + 2}, out;
                    json_reader_setup(&jr, q, NULL, r->a);
                    if (json_str(&jr, &out) == 0)
                        val = out;
                    json_reader_free(&jr);
                }
            } else {
                size_t vs = i;
                while (i < s.len && (unsigned char)s.ptr[i] > ' ') {
                    if (s.ptr[i] == '=' || s.ptr[i] == '"')
                        bad = s.ptr[i];
                    i++;
                }
                val = (ig_str){s.ptr + vs, i - vs};
                if (bad) {
                    snprintf(
                        ebuf, sizeof ebuf, "logfmt syntax error at pos %zu : unexpected '%c'",
                        vs +
                            (size_t)(memchr(val.ptr, bad, val.len)
                                         ? (const char *)memchr(val.ptr, bad, val.len) - val.ptr
                                         : 0) +
                            1,
                        bad);
                    if (st->strict) {
                        set_err(r, "LogfmtParserErr", ig_str_from(ebuf));
                        return;
                    }
                    continue;
                }
            }
        }
        if (val.len == 0 && !st->keep_empty)
            continue;
        ig_str name = key;
        ig_str target = IG_STR_NULL;
        if (st->n_params) {
            for (size_t p = 0; p < st->n_params; p++) {
                ig_str want = st->params[p].has_expr ? st->params[p].expr : st->params[p].name;
                if (ig_str_eq(want, key)) {
                    target = st->params[p].name;
                    break;
                }
            }
            if (!target.ptr)
                continue;
            name = target;
        } else {
            name = lq__sanitize_name(r->a, key);
            if (!name.ptr)
                return;
        }
        if (set_parsed(r, name, val))
            return;
    }
    /* logfmt params that were not found get an empty value? Loki: only found keys. */
}

static void stage_regexp(run *r, const cstage *c)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(c->re, NULL);
    if (!md)
        return;
    r->nseen = 0;
    int m = pcre2_match(c->re, (PCRE2_SPTR)(r->line.ptr ? r->line.ptr : ""), r->line.len, 0, 0, md,
                        NULL);
    if (m > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        uint32_t cnt = 0, esz = 0;
        PCRE2_SPTR tab = NULL;
        pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &cnt);
        pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &esz);
        pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &tab);
        for (uint32_t i = 0; i < cnt; i++) {
            const unsigned char *e = tab + (size_t)i * esz;
            int g = (e[0] << 8) | e[1];
            ig_str name = ig_str_from((const char *)e + 2);
            if (g >= m || ov[2 * g] == PCRE2_UNSET)
                continue;
            ig_str v = {r->line.ptr + ov[2 * g], ov[2 * g + 1] - ov[2 * g]};
            name = ig_arena_strdup(r->a, lq__sanitize_name(r->a, name));
            if (!name.ptr || set_parsed(r, name, v))
                break;
        }
    }
    pcre2_match_data_free(md);
}

static void stage_pattern(run *r, const cstage *c)
{
    ig_str caps[64], names[64];
    size_t n = pat_extract(&c->pt, r->line, caps, names, 64);
    r->nseen = 0;
    for (size_t i = 0; i < n; i++)
        if (set_parsed(r, names[i], caps[i]))
            break;
}

/* -- label filters -- */

static int cmp_num(logql_cmp_op op, double a, double b)
{
    switch (op) {
    case LOGQL_CMP_EQ:
        return a == b;
    case LOGQL_CMP_NE:
        return a != b;
    case LOGQL_CMP_GT:
        return a > b;
    case LOGQL_CMP_GE:
        return a >= b;
    case LOGQL_CMP_LT:
        return a < b;
    case LOGQL_CMP_LE:
        return a <= b;
    }
    return 0;
}

static bool eval_lf(run *r, const lfc *c)
{
    const logql_label_filter *f = c->f;
    switch (f->kind) {
    case LOGQL_LF_AND: {
        bool l = eval_lf(r, c->l);
        bool rr = eval_lf(r, c->r);
        return l && rr;
    }
    case LOGQL_LF_OR:
        if (eval_lf(r, c->l))
            return true;
        return eval_lf(r, c->r);
    case LOGQL_LF_STRING: {
        ig_str v = lq__lb_get(&r->lb, f->m.name, NULL);
        if (!v.ptr)
            v = IG_STR("");
        switch (f->m.op) {
        case LOGQL_MATCH_EQ:
            return ig_str_eq(v, f->m.value);
        case LOGQL_MATCH_NEQ:
            return !ig_str_eq(v, f->m.value);
        case LOGQL_MATCH_RE:
            return lq__re_match(c->re, v);
        case LOGQL_MATCH_NRE:
            return !lq__re_match(c->re, v);
        }
        return false;
    }
    case LOGQL_LF_IP: {
        if (has_err(r))
            return true;
        ig_str v = lq__lb_get(&r->lb, f->m.name, NULL);
        if (!v.ptr)
            return false;
        bool m = ipm_match_value(&c->ip, v);
        return f->m.op == LOGQL_MATCH_NEQ ? !m : m;
    }
    default: {
        if (has_err(r))
            return true;
        ig_str v = lq__lb_get(&r->lb, f->m.name, NULL);
        if (!v.ptr)
            return false;
        double x, want;
        int rc;
        if (f->kind == LOGQL_LF_NUMBER) {
            rc = lq__parse_float(v, &x);
            want = f->number;
        } else if (f->kind == LOGQL_LF_DURATION) {
            rc = lq__parse_go_duration(v, &x);
            want = (double)f->duration_ns;
        } else {
            rc = lq__parse_bytes(v, &x);
            want = (double)f->bytes;
        }
        if (rc != 0) {
            ig_buf b;
            ig_buf_init(&b, 512);
            if (f->kind == LOGQL_LF_NUMBER)
                ig_buf_append_cstr(&b, "strconv.ParseFloat: parsing ");
            else if (f->kind == LOGQL_LF_DURATION)
                ig_buf_append_cstr(&b, "time: invalid duration ");
            else
                ig_buf_append_cstr(&b, "strconv.ParseFloat: parsing ");
            lq__quote(&b, v.len > 100 ? (ig_str){v.ptr, 100} : v);
            if (f->kind != LOGQL_LF_DURATION)
                ig_buf_append_cstr(&b, ": invalid syntax");
            set_err(r, "LabelFilterErr", ig_buf_str(&b));
            ig_buf_free(&b);
            return true;
        }
        return cmp_num(f->cmp, x, want);
    }
    }
}

/* -- formatters -- */

static void stage_line_format(run *r, const cstage *c)
{
    ig_errbuf eb = {{0}};
    ig_str out;
    int rc = lq__tmpl_exec(c->tmpl, &r->lb, r->line, r->ts, r->a, &out, &eb);
    if (rc == 0)
        r->line = out;
    else
        set_err(r, "TemplateFormatErr", ig_str_from(eb.msg));
}

static void stage_label_format(run *r, const cstage *c)
{
    const logql_stage *st = c->st;
    /* templates see the labels as they were before this stage */
    lq_lb snap;
    if (lq__lb_init(&snap, r->a, r->lb.n + 1) != 0)
        return;
    memcpy(snap.v, r->lb.v, r->lb.n * sizeof *snap.v);
    memcpy(snap.cat, r->lb.cat, r->lb.n);
    snap.n = r->lb.n;
    for (size_t i = 0; i < st->n_fmts; i++) {
        const logql_label_fmt *f = &st->fmts[i];
        if (f->rename) {
            uint8_t cat;
            ig_str v = lq__lb_get(&r->lb, f->value, &cat);
            if (v.ptr) {
                lq__lb_set(&r->lb, f->dst, v, cat);
                if (!ig_str_eq(f->dst, f->value))
                    lq__lb_del(&r->lb, f->value);
            }
            continue;
        }
        ig_errbuf eb = {{0}};
        ig_str out;
        if (lq__tmpl_exec(c->ltmpl[i], &snap, r->line, r->ts, r->a, &out, &eb) != 0) {
            set_err(r, "TemplateFormatErr", ig_str_from(eb.msg));
            continue;
        }
        lq__lb_set(&r->lb, f->dst, out, LQ_CAT_PARSED);
    }
}

static void stage_drop_keep(run *r, const cstage *c, bool keep)
{
    const logql_stage *st = c->st;
    if (!keep) {
        for (size_t i = 0; i < st->n_names; i++) {
            ig_str v = lq__lb_get(&r->lb, st->names[i].m.name, NULL);
            if (!v.ptr)
                continue;
            if (!st->names[i].has_matcher || lq__matcher_match(c->names, i, v))
                lq__lb_del(&r->lb, st->names[i].m.name);
        }
        return;
    }
    size_t o = 0;
    for (size_t k = 0; k < r->lb.n; k++) {
        lq_label l = r->lb.v[k];
        bool ok = ig_str_eq(l.name, ERR) || ig_str_eq(l.name, ERR_DETAILS);
        for (size_t i = 0; i < st->n_names && !ok; i++) {
            if (!ig_str_eq(st->names[i].m.name, l.name))
                continue;
            ok = !st->names[i].has_matcher || lq__matcher_match(c->names, i, l.value);
        }
        if (ok) {
            r->lb.v[o] = l;
            r->lb.cat[o] = r->lb.cat[k];
            o++;
        }
    }
    r->lb.n = o;
}

static void stage_decolorize(run *r)
{
    ig_str out;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->p->ansi, NULL);
    if (!md)
        return;
    if (pcre2_match(r->p->ansi, (PCRE2_SPTR)(r->line.ptr ? r->line.ptr : ""), r->line.len, 0, 0, md,
                    NULL) <= 0) {
        pcre2_match_data_free(md);
        return;
    }
    char *o = ig_arena_alloc(r->a, r->line.len + 1);
    size_t n = 0, pos = 0;
    if (!o) {
        pcre2_match_data_free(md);
        return;
    }
    while (pos <= r->line.len &&
           pcre2_match(r->p->ansi, (PCRE2_SPTR)r->line.ptr, r->line.len, pos, 0, md, NULL) > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        memcpy(o + n, r->line.ptr + pos, ov[0] - pos);
        n += ov[0] - pos;
        pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    if (pos < r->line.len) {
        memcpy(o + n, r->line.ptr + pos, r->line.len - pos);
        n += r->line.len - pos;
    }
    pcre2_match_data_free(md);
    out = (ig_str){o, n};
    r->line = out;
}

static bool run_stage(run *r, const cstage *c)
{
    switch (c->st->kind) {
    case LOGQL_STAGE_LINE_FILTER:
        return line_filter(c, r->line);
    case LOGQL_STAGE_JSON:
        stage_json(r, c);
        return true;
    case LOGQL_STAGE_LOGFMT:
        stage_logfmt(r, c);
        return true;
    case LOGQL_STAGE_REGEXP:
        stage_regexp(r, c);
        return true;
    case LOGQL_STAGE_PATTERN:
        stage_pattern(r, c);
        return true;
    case LOGQL_STAGE_UNPACK:
        stage_unpack(r);
        return true;
    case LOGQL_STAGE_LABEL_FILTER:
        return eval_lf(r, c->filter);
    case LOGQL_STAGE_LINE_FORMAT:
        stage_line_format(r, c);
        return true;
    case LOGQL_STAGE_LABEL_FORMAT:
        stage_label_format(r, c);
        return true;
    case LOGQL_STAGE_DROP:
        stage_drop_keep(r, c, false);
        return true;
    case LOGQL_STAGE_KEEP:
        stage_drop_keep(r, c, true);
        return true;
    case LOGQL_STAGE_DECOLORIZE:
        stage_decolorize(r);
        return true;
    }
    return true;
}

bool lq_pipeline_run(lq_pipeline *p, const lq_entry *in, ig_arena *scratch, lq_out *out)
{
    run r = {.line = in->line, .ts = in->ts_ns, .a = scratch, .p = p};
    memset(out, 0, sizeof *out);
    if (lq__lb_init(&r.lb, scratch, in->stream.n + in->meta.n + 8) != 0)
        return false;
    for (size_t i = 0; i < in->stream.n; i++)
        lq__lb_set(&r.lb, in->stream.v[i].name, in->stream.v[i].value, LQ_CAT_STREAM);
    for (size_t i = 0; i < in->meta.n; i++) {
        ig_str name = in->meta.v[i].name;
        uint8_t cat;
        if (lq__lb_get(&r.lb, name, &cat).ptr && cat == LQ_CAT_STREAM) {
            char *n2 = ig_arena_alloc(scratch, name.len + 11);
            if (!n2)
                return false;
            memcpy(n2, name.ptr, name.len);
            memcpy(n2 + name.len, "_extracted", 10);
            name = (ig_str){n2, name.len + 10};
        }
        lq__lb_set(&r.lb, name, in->meta.v[i].value, LQ_CAT_META);
    }
    for (size_t i = 0; i < p->n; i++)
        if (!run_stage(&r, &p->st[i]))
            return false;
    if (p->unwrap) {
        ig_str v = lq__lb_get(&r.lb, p->unwrap->label, NULL);
        if (!v.ptr || v.len == 0)
            return false;
        double x = 0;
        int rc;
        const char *what;
        if (p->unwrap->conv == LOGQL_UNWRAP_DURATION ||
            p->unwrap->conv == LOGQL_UNWRAP_DURATION_SECONDS) {
            rc = lq__parse_go_duration(v, &x);
            x /= 1e9;
            what = "time: invalid duration ";
        } else if (p->unwrap->conv == LOGQL_UNWRAP_BYTES) {
            rc = lq__parse_bytes(v, &x);
            what = "strconv.ParseFloat: parsing ";
        } else {
            rc = lq__parse_float(v, &x);
            what = "strconv.ParseFloat: parsing ";
        }
        if (rc != 0) {
            ig_buf b;
            ig_buf_init(&b, 512);
            ig_buf_append_cstr(&b, what);
            lq__quote(&b, v.len > 100 ? (ig_str){v.ptr, 100} : v);
            if (p->unwrap->conv != LOGQL_UNWRAP_DURATION &&
                p->unwrap->conv != LOGQL_UNWRAP_DURATION_SECONDS)
                ig_buf_append_cstr(&b, ": invalid syntax");
            set_err(&r, "SampleExtractionErr", ig_buf_str(&b));
            ig_buf_free(&b);
        } else {
            out->value = x;
            out->has_value = true;
        }
        /* post-unwrap filters still see the unwrapped label (`| unwrap v | v > 3`) */
        for (size_t i = 0; i < p->npost; i++)
            if (!run_stage(&r, &p->post[i]))
                return false;
        lq__lb_del(&r.lb, p->unwrap->label);
    }
    out->labels = lq__lb_labels(&r.lb);
    out->cats = r.lb.cat;
    out->line = r.line;
    return true;
}
