/* LogQL recursive-descent parser. See docs/logql.md for the grammar as implemented.
 *
 * Binary operators use precedence climbing (or < and/unless < comparisons < + - <
 * * / % < ^, `^` right-associative). Every recursive entry point counts depth against
 * LOGQL_MAX_DEPTH so hostile input cannot exhaust the stack. All allocation goes to the
 * caller's arena; on failure nothing needs freeing beyond that arena. */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "icegate/alloc.h"

#include "query/logql/logql_int.h"

typedef struct parser {
    logql__tok *t;
    size_t n, i;
    ig_arena *a;
    ig_errbuf *eb;
    int depth;
} parser;

/* ---------- helpers ---------- */

static logql__tok *peek(parser *p)
{
    return &p->t[p->i];
}
static logql__tok *peek2(parser *p)
{
    return p->i + 1 < p->n ? &p->t[p->i + 1] : &p->t[p->n - 1];
}
static logql__tok *next(parser *p)
{
    logql__tok *t = &p->t[p->i];
    if (t->kind != LOGQL__T_EOF)
        p->i++;
    return t;
}
static bool is(parser *p, logql__tok_kind k)
{
    return peek(p)->kind == k;
}
static bool is_kw(const logql__tok *t, const char *kw)
{
    return t->kind == LOGQL__T_IDENT && ig_str_eq_cstr(t->text, kw);
}

static const char *tok_desc(const logql__tok *t)
{
    return logql__tok_name(t->kind);
}

/* "syntax error: unexpected X[, expecting Y]" at token t. */
static int syntax_err(parser *p, const logql__tok *t, const char *expecting)
{
    const char *what = tok_desc(t);
    if (expecting)
        return ig_err(p->eb, IG_EINVAL,
                      "parse error at line %d, col %d: syntax error: unexpected %s, expecting %s",
                      t->line, t->col, what, expecting);
    return ig_err(p->eb, IG_EINVAL, "parse error at line %d, col %d: syntax error: unexpected %s",
                  t->line, t->col, what);
}

static int sem_err(parser *p, const logql__tok *t, const char *fmt, const char *arg)
{
    char msg[200];
    snprintf(msg, sizeof(msg), fmt, arg);
    return ig_err(p->eb, IG_EINVAL, "parse error at line %d, col %d: %s", t->line, t->col, msg);
}

static int oom(parser *p)
{
    return ig_err(p->eb, IG_ENOMEM, "out of memory (query too complex)");
}

static int expect(parser *p, logql__tok_kind k, logql__tok **out)
{
    logql__tok *t = peek(p);
    if (out)
        *out = t;
    if (t->kind != k)
        return syntax_err(p, t, logql__tok_name(k));
    next(p);
    return 0;
}

#define MAX_RECURSION (4 * LOGQL_MAX_DEPTH + 16)

static int too_deep(parser *p, const logql__tok *t)
{
    return ig_err(p->eb, IG_EINVAL,
                  "parse error at line %d, col %d: query nested too deeply (max %d)", t->line,
                  t->col, LOGQL_MAX_DEPTH);
}

static int enter(parser *p)
{
    if (++p->depth > MAX_RECURSION)
        return too_deep(p, peek(p));
    return 0;
}

static int lf_height(const logql_label_filter *l, const logql_label_filter *r)
{
    return 1 + (l->height > r->height ? l->height : r->height);
}

/* Growable arena array: doubles into a fresh block (old block stays in the arena). */
static int grow(parser *p, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    void *na = ig_arena_alloc(p->a, nc * elem);
    if (!na)
        return oom(p);
    if (n)
        memcpy(na, *arr, n * elem);
    *arr = na;
    *cap = nc;
    return 0;
}

static ig_str dup_str(parser *p, ig_str s)
{
    return ig_arena_strdup(p->a, s);
}

/* ---------- regex "matches the empty string" (for the selector check) ---------- */

/* Conservative structural analysis of an RE2 pattern: can it match ""?  Parses one
 * alternation level; returns the position after it in *pos. */
static bool re_empty_alt(ig_str r, size_t *pos, int depth);

static bool re_empty_alt(ig_str r, size_t *pos, int depth)
{
    bool any_branch_empty = false, branch_empty = true;
    size_t i = *pos;
    while (i < r.len) {
        char c = r.ptr[i];
        if (c == ')')
            break;
        if (c == '|') {
            any_branch_empty = any_branch_empty || branch_empty;
            branch_empty = true;
            i++;
            continue;
        }
        bool atom_empty;
        if (c == '(') {
            i++;
            if (i < r.len && r.ptr[i] == '?') { /* (?:  (?P<n>  (?i) */
                i++;
                if (i < r.len && r.ptr[i] == 'P') {
                    while (i < r.len && r.ptr[i] != '>')
                        i++;
                    if (i < r.len)
                        i++;
                } else {
                    while (i < r.len && r.ptr[i] != ':' && r.ptr[i] != ')')
                        i++;
                    if (i < r.len && r.ptr[i] == ')') { /* flags group (?i) */
                        i++;
                        continue;
                    }
                    if (i < r.len)
                        i++;
                }
            }
            atom_empty = depth > 32 ? true : re_empty_alt(r, &i, depth + 1);
            if (i < r.len && r.ptr[i] == ')')
                i++;
        } else if (c == '[') {
            i++;
            if (i < r.len && r.ptr[i] == '^')
                i++;
            if (i < r.len && r.ptr[i] == ']')
                i++;
            while (i < r.len && r.ptr[i] != ']') {
                if (r.ptr[i] == '[' && i + 1 < r.len && r.ptr[i + 1] == ':') {
                    i += 2;
                    while (i + 1 < r.len && !(r.ptr[i] == ':' && r.ptr[i + 1] == ']'))
                        i++;
                    i += 2;
                    continue;
                }
                if (r.ptr[i] == '\\')
                    i++;
                i++;
            }
            i++;
            atom_empty = false;
        } else if (c == '^' || c == '$') {
            i++;
            atom_empty = true;
        } else if (c == '\\') {
            char e = i + 1 < r.len ? r.ptr[i + 1] : 0;
            i += 2;
            atom_empty = (e == 'b' || e == 'B' || e == 'A' || e == 'z');
            if (e == 'p' || e == 'P') {
                if (i < r.len && r.ptr[i] == '{') {
                    while (i < r.len && r.ptr[i] != '}')
                        i++;
                    i++;
                } else {
                    i++;
                }
            } else if (e == 'x' && i < r.len && r.ptr[i] == '{') {
                while (i < r.len && r.ptr[i] != '}')
                    i++;
                i++;
            } else if (e == 'Q') {
                size_t q0 = i;
                while (i + 1 < r.len && !(r.ptr[i] == '\\' && r.ptr[i + 1] == 'E'))
                    i++;
                atom_empty = i == q0;
                i += 2;
            }
        } else {
            i++;
            atom_empty = false;
        }
        /* quantifiers */
        while (i < r.len) {
            char q = r.ptr[i];
            if (q == '*' || q == '?') {
                atom_empty = true;
                i++;
            } else if (q == '+') {
                i++;
            } else if (q == '{') {
                size_t j = i + 1;
                while (j < r.len && r.ptr[j] >= '0' && r.ptr[j] <= '9')
                    j++;
                if (j == i + 1 || j >= r.len || (r.ptr[j] != ',' && r.ptr[j] != '}'))
                    break; /* a literal '{' */
                bool zero = true;
                for (size_t k = i + 1; k < j; k++)
                    if (r.ptr[k] != '0')
                        zero = false;
                while (j < r.len && r.ptr[j] != '}')
                    j++;
                if (zero)
                    atom_empty = true;
                i = j + 1;
            } else {
                break;
            }
            if (i < r.len && r.ptr[i] == '?') /* lazy */
                i++;
        }
        branch_empty = branch_empty && atom_empty;
    }
    *pos = i;
    return any_branch_empty || branch_empty;
}

static bool matcher_matches_empty(const logql_matcher *m)
{
    size_t pos = 0;
    switch (m->op) {
    case LOGQL_MATCH_EQ:
        return m->value.len == 0;
    case LOGQL_MATCH_NEQ:
        return m->value.len != 0;
    case LOGQL_MATCH_RE:
        return re_empty_alt(m->value, &pos, 0);
    case LOGQL_MATCH_NRE:
        return !re_empty_alt(m->value, &pos, 0);
    }
    return true;
}

/* ---------- regex and pattern validation ---------- */

static void *re_alloc(size_t n, void *ud)
{
    (void)ud;
    return ig_malloc(n);
}
static void re_free(void *ptr, void *ud)
{
    (void)ud;
    ig_free(ptr);
}

enum { RE_PLAIN, RE_NAMED_CAPTURE };

/* Compiles re (PCRE2, close to RE2 for validation purposes) to report syntax errors at
 * parse time as Loki does (`error parsing regexp: ...`). RE_NAMED_CAPTURE also requires
 * at least one named group (the `regexp` stage). Memory goes through ig_malloc. */
static int check_regex(parser *p, const logql__tok *at, ig_str re, int mode)
{
    pcre2_general_context *gc = pcre2_general_context_create(re_alloc, re_free, NULL);
    if (!gc)
        return oom(p);
    pcre2_compile_context *cc = pcre2_compile_context_create(gc);
    if (!cc) {
        pcre2_general_context_free(gc);
        return oom(p);
    }
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)(re.ptr ? re.ptr : ""), re.len, 0, &errcode, &erroff, cc);
    int rc = 0;
    if (!code) {
        if (errcode == PCRE2_ERROR_HEAP_FAILED) {
            rc = oom(p);
        } else if (errcode == PCRE2_ERROR_DUPLICATE_SUBPATTERN_NAME && mode == RE_NAMED_CAPTURE) {
            rc = sem_err(p, at, "%s", "duplicate extracted label name");
        } else {
            PCRE2_UCHAR msg[160];
            if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
                snprintf((char *)msg, sizeof(msg), "invalid regular expression");
            rc = ig_err(p->eb, IG_EINVAL,
                        "parse error at line %d, col %d: error parsing regexp: %s at offset %zu: "
                        "`%.*s`",
                        at->line, at->col, (const char *)msg, (size_t)erroff,
                        (int)(re.len > 80 ? 80 : re.len), re.ptr ? re.ptr : "");
        }
    } else if (mode == RE_NAMED_CAPTURE) {
        uint32_t names = 0;
        pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &names);
        if (names == 0)
            rc = sem_err(p, at, "%s", "at least one named capture must be supplied");
    }
    if (code)
        pcre2_code_free(code);
    pcre2_compile_context_free(cc);
    pcre2_general_context_free(gc);
    return rc;
}

/* Loki pattern syntax: literals and captures `<name>` / `<_>`. A line filter (`|>`, `!>`)
 * allows only `<_>`; the `pattern` stage needs at least one named capture, no
 * duplicates and no two captures in a row. */
static int check_pattern(parser *p, const logql__tok *at, ig_str pat, bool line_filter)
{
    ig_str names[64];
    size_t n_names = 0;
    bool prev_capture = false;
    for (size_t i = 0; i < pat.len;) {
        if (pat.ptr[i] == '<') {
            size_t j = i + 1;
            while (j < pat.len && ((pat.ptr[j] >= 'a' && pat.ptr[j] <= 'z') ||
                                   (pat.ptr[j] >= 'A' && pat.ptr[j] <= 'Z') || pat.ptr[j] == '_' ||
                                   (j > i + 1 && pat.ptr[j] >= '0' && pat.ptr[j] <= '9')))
                j++;
            if (j > i + 1 && j < pat.len && pat.ptr[j] == '>') {
                ig_str name = ig_str_make(pat.ptr + i + 1, j - i - 1);
                if (prev_capture && !line_filter)
                    return sem_err(p, at, "%s", "found consecutive capture: invalid expression");
                if (!ig_str_eq_cstr(name, "_")) {
                    if (line_filter)
                        return sem_err(p, at, "%s", "named captures are not allowed");
                    for (size_t k = 0; k < n_names; k++)
                        if (ig_str_eq(names[k], name))
                            return sem_err(p, at, "duplicate capture name (%s): invalid expression",
                                           ig_arena_cstr(p->a, name));
                    if (n_names < sizeof(names) / sizeof(names[0]))
                        names[n_names++] = name;
                }
                prev_capture = true;
                i = j + 1;
                continue;
            }
        }
        prev_capture = false;
        i++;
    }
    if (!line_filter && n_names == 0)
        return sem_err(p, at, "%s", "at least one capture is required");
    return 0;
}

/* ---------- small pieces ---------- */

static int parse_string(parser *p, ig_str *out)
{
    logql__tok *t = NULL;
    int rc = expect(p, LOGQL__T_STRING, &t);
    if (rc)
        return rc;
    *out = t->text;
    return 0;
}

static int parse_ident(parser *p, ig_str *out)
{
    logql__tok *t = NULL;
    int rc = expect(p, LOGQL__T_IDENT, &t);
    if (rc)
        return rc;
    *out = dup_str(p, t->text);
    return out->ptr ? 0 : oom(p);
}

/* `( a, b, ... )` — possibly empty. */
static int parse_label_list(parser *p, ig_str **labels, size_t *n_labels)
{
    int rc = expect(p, LOGQL__T_LPAREN, NULL);
    if (rc)
        return rc;
    size_t cap = 0, n = 0;
    ig_str *arr = NULL;
    if (!is(p, LOGQL__T_RPAREN)) {
        for (;;) {
            if ((rc = grow(p, (void **)&arr, &cap, n, sizeof(*arr))))
                return rc;
            if ((rc = parse_ident(p, &arr[n])))
                return rc;
            n++;
            if (is(p, LOGQL__T_COMMA)) {
                next(p);
                continue;
            }
            break;
        }
    }
    if ((rc = expect(p, LOGQL__T_RPAREN, NULL)))
        return rc;
    *labels = arr;
    *n_labels = n;
    return 0;
}

static bool at_grouping(parser *p)
{
    return is_kw(peek(p), "by") || is_kw(peek(p), "without");
}

static int parse_grouping(parser *p, logql_grouping *g)
{
    logql__tok *t = next(p);
    g->present = true;
    g->without = is_kw(t, "without");
    return parse_label_list(p, &g->labels, &g->n_labels);
}

static int match_op_from_tok(const logql__tok *t, logql_match_op *op)
{
    switch (t->kind) {
    case LOGQL__T_EQ:
        *op = LOGQL_MATCH_EQ;
        return 0;
    case LOGQL__T_NEQ:
        *op = LOGQL_MATCH_NEQ;
        return 0;
    case LOGQL__T_RE:
        *op = LOGQL_MATCH_RE;
        return 0;
    case LOGQL__T_NRE:
        *op = LOGQL_MATCH_NRE;
        return 0;
    default:
        return -1;
    }
}

/* name op "value" */
static int parse_matcher(parser *p, logql_matcher *m)
{
    int rc = parse_ident(p, &m->name);
    if (rc)
        return rc;
    logql__tok *t = peek(p);
    if (match_op_from_tok(t, &m->op) != 0)
        return syntax_err(p, t, "=, !=, =~ or !~");
    next(p);
    logql__tok *vt = peek(p);
    int rc2 = parse_string(p, &m->value);
    if (rc2 == 0 && (m->op == LOGQL_MATCH_RE || m->op == LOGQL_MATCH_NRE))
        rc2 = check_regex(p, vt, m->value, RE_PLAIN);
    return rc2;
}

/* { matchers } */
static int parse_selector(parser *p, logql_log *log)
{
    logql__tok *open = NULL;
    int rc = expect(p, LOGQL__T_LBRACE, &open);
    if (rc)
        return rc;
    size_t cap = 0, n = 0;
    logql_matcher *arr = NULL;
    if (!is(p, LOGQL__T_RBRACE)) {
        for (;;) {
            if (!is(p, LOGQL__T_IDENT))
                return syntax_err(p, peek(p), "IDENTIFIER");
            if ((rc = grow(p, (void **)&arr, &cap, n, sizeof(*arr))))
                return rc;
            if ((rc = parse_matcher(p, &arr[n])))
                return rc;
            n++;
            if (is(p, LOGQL__T_COMMA)) {
                next(p);
                continue;
            }
            break;
        }
    }
    if ((rc = expect(p, LOGQL__T_RBRACE, NULL)))
        return rc;
    bool ok = false;
    for (size_t k = 0; k < n; k++)
        if (!matcher_matches_empty(&arr[k]))
            ok = true;
    if (!ok)
        return sem_err(p, open, "%s",
                       "queries require at least one regexp or equality matcher that does not "
                       "have an empty-compatible value. For instance, app=~\".*\" does not meet "
                       "this requirement, but app=~\".+\" will");
    log->matchers = arr;
    log->n_matchers = n;
    return 0;
}

/* ---------- pipeline ---------- */

static bool is_line_filter_tok(logql__tok_kind k)
{
    return k == LOGQL__T_PIPE_EXACT || k == LOGQL__T_NEQ || k == LOGQL__T_PIPE_MATCH ||
           k == LOGQL__T_NRE || k == LOGQL__T_PIPE_PATTERN || k == LOGQL__T_NPA;
}

static bool parse_ip_addr(ig_str s, int *family)
{
    char tmp[64];
    unsigned char buf[16];
    s = ig_str_trim(s);
    if (s.len == 0 || s.len >= sizeof(tmp))
        return false;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = 0;
    if (inet_pton(AF_INET, tmp, buf) == 1) {
        *family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, tmp, buf) == 1) {
        *family = 6;
        return true;
    }
    return false;
}

/* ip("<addr>" | "<addr>-<addr>" | "<addr>/<bits>"), as Loki's ip matcher accepts. */
static bool valid_ip_pattern(ig_str s)
{
    int f1, f2;
    long dash = ig_str_index(s, '-'), slash = ig_str_index(s, '/');
    if (dash >= 0)
        return parse_ip_addr(ig_str_make(s.ptr, (size_t)dash), &f1) &&
               parse_ip_addr(ig_str_make(s.ptr + dash + 1, s.len - (size_t)dash - 1), &f2) &&
               f1 == f2;
    if (slash >= 0) {
        int64_t bits;
        if (!parse_ip_addr(ig_str_make(s.ptr, (size_t)slash), &f1) ||
            ig_str_to_i64(ig_str_make(s.ptr + slash + 1, s.len - (size_t)slash - 1), &bits) != 0)
            return false;
        return bits >= 0 && bits <= (f1 == 4 ? 32 : 128);
    }
    return parse_ip_addr(s, &f1);
}

static int parse_ip_call(parser *p, ig_str *out)
{
    next(p); /* ip */
    int rc = expect(p, LOGQL__T_LPAREN, NULL);
    logql__tok *vt = peek(p);
    if (!rc)
        rc = parse_string(p, out);
    if (!rc && !valid_ip_pattern(*out))
        return sem_err(p, vt, "ip: invalid pattern: \"%s\"", ig_arena_cstr(p->a, *out));
    if (!rc)
        rc = expect(p, LOGQL__T_RPAREN, NULL);
    return rc;
}

static int parse_line_filter(parser *p, logql_stage *st)
{
    logql__tok *optok = next(p);
    switch (optok->kind) {
    case LOGQL__T_PIPE_EXACT:
        st->line_op = LOGQL_LINE_CONTAINS;
        break;
    case LOGQL__T_NEQ:
        st->line_op = LOGQL_LINE_NOT_CONTAINS;
        break;
    case LOGQL__T_PIPE_MATCH:
        st->line_op = LOGQL_LINE_RE;
        break;
    case LOGQL__T_NRE:
        st->line_op = LOGQL_LINE_NOT_RE;
        break;
    case LOGQL__T_PIPE_PATTERN:
        st->line_op = LOGQL_LINE_PATTERN;
        break;
    default:
        st->line_op = LOGQL_LINE_NOT_PATTERN;
        break;
    }
    st->kind = LOGQL_STAGE_LINE_FILTER;
    size_t cap = 0, n = 0;
    logql_line_operand *arr = NULL;
    int rc;
    for (;;) {
        if ((rc = grow(p, (void **)&arr, &cap, n, sizeof(*arr))))
            return rc;
        logql__tok *t = peek(p);
        arr[n].ip = false;
        if (is_kw(t, "ip") && peek2(p)->kind == LOGQL__T_LPAREN) {
            if (st->line_op != LOGQL_LINE_CONTAINS && st->line_op != LOGQL_LINE_NOT_CONTAINS)
                return sem_err(p, t, "%s",
                               "ip: invalid operation: only |= and != are allowed with ip()");
            arr[n].ip = true;
            if ((rc = parse_ip_call(p, &arr[n].value)))
                return rc;
        } else if (t->kind == LOGQL__T_STRING) {
            arr[n].value = t->text;
            next(p);
            if (st->line_op == LOGQL_LINE_RE || st->line_op == LOGQL_LINE_NOT_RE)
                rc = check_regex(p, t, t->text, RE_PLAIN);
            else if (st->line_op == LOGQL_LINE_PATTERN || st->line_op == LOGQL_LINE_NOT_PATTERN)
                rc = check_pattern(p, t, t->text, true);
            if (rc)
                return rc;
        } else {
            return syntax_err(p, t, "STRING");
        }
        n++;
        if (is_kw(peek(p), "or")) {
            next(p);
            continue;
        }
        break;
    }
    st->operands = arr;
    st->n_operands = n;
    return 0;
}

/* json/logfmt parameters: ident [= "expr"] {, ...} */
static int parse_params(parser *p, logql_stage *st)
{
    size_t cap = 0, n = 0;
    logql_param *arr = NULL;
    int rc;
    while (is(p, LOGQL__T_IDENT)) {
        if ((rc = grow(p, (void **)&arr, &cap, n, sizeof(*arr))))
            return rc;
        logql_param *pr = &arr[n];
        if ((rc = parse_ident(p, &pr->name)))
            return rc;
        pr->has_expr = false;
        pr->expr = pr->name;
        if (is(p, LOGQL__T_EQ)) {
            next(p);
            if ((rc = parse_string(p, &pr->expr)))
                return rc;
            pr->has_expr = true;
        }
        n++;
        if (!is(p, LOGQL__T_COMMA))
            break;
        next(p);
        if (!is(p, LOGQL__T_IDENT))
            return syntax_err(p, peek(p), "IDENTIFIER");
    }
    st->params = arr;
    st->n_params = n;
    return 0;
}

static int parse_label_filter_or(parser *p, logql_label_filter **out);

static int cmp_from_tok(const logql__tok *t, logql_cmp_op *op)
{
    switch (t->kind) {
    case LOGQL__T_EQ:
    case LOGQL__T_EQEQ:
        *op = LOGQL_CMP_EQ;
        return 0;
    case LOGQL__T_NEQ:
        *op = LOGQL_CMP_NE;
        return 0;
    case LOGQL__T_GT:
        *op = LOGQL_CMP_GT;
        return 0;
    case LOGQL__T_GE:
        *op = LOGQL_CMP_GE;
        return 0;
    case LOGQL__T_LT:
        *op = LOGQL_CMP_LT;
        return 0;
    case LOGQL__T_LE:
        *op = LOGQL_CMP_LE;
        return 0;
    default:
        return -1;
    }
}

static int parse_label_filter_atom(parser *p, logql_label_filter **out)
{
    int rc;
    if ((rc = enter(p)))
        return rc;
    logql_label_filter *f = ig_arena_zalloc(p->a, sizeof(*f));
    if (!f)
        return oom(p);
    if (is(p, LOGQL__T_LPAREN)) {
        next(p);
        if ((rc = parse_label_filter_or(p, out)))
            return rc;
        if ((rc = expect(p, LOGQL__T_RPAREN, NULL)))
            return rc;
        p->depth--;
        return 0;
    }
    if (!is(p, LOGQL__T_IDENT))
        return syntax_err(p, peek(p), "IDENTIFIER");
    if ((rc = parse_ident(p, &f->m.name)))
        return rc;
    logql__tok *optok = peek(p);
    logql__tok *v = peek2(p);
    if ((optok->kind == LOGQL__T_EQ || optok->kind == LOGQL__T_NEQ) && is_kw(v, "ip") &&
        p->i + 2 < p->n && p->t[p->i + 2].kind == LOGQL__T_LPAREN) {
        next(p);
        f->kind = LOGQL_LF_IP;
        f->m.op = optok->kind == LOGQL__T_EQ ? LOGQL_MATCH_EQ : LOGQL_MATCH_NEQ;
        if ((rc = parse_ip_call(p, &f->m.value)))
            return rc;
    } else if (match_op_from_tok(optok, &f->m.op) == 0 && v->kind == LOGQL__T_STRING) {
        next(p);
        next(p);
        f->kind = LOGQL_LF_STRING;
        f->m.value = v->text;
        if ((f->m.op == LOGQL_MATCH_RE || f->m.op == LOGQL_MATCH_NRE) &&
            (rc = check_regex(p, v, v->text, RE_PLAIN)))
            return rc;
    } else if (cmp_from_tok(optok, &f->cmp) == 0 &&
               (v->kind == LOGQL__T_NUMBER || v->kind == LOGQL__T_DURATION ||
                v->kind == LOGQL__T_BYTES || v->kind == LOGQL__T_SUB)) {
        next(p);
        bool neg = false;
        if (v->kind == LOGQL__T_SUB) {
            next(p);
            neg = true;
            v = peek(p);
            if (v->kind != LOGQL__T_NUMBER)
                return syntax_err(p, v, "NUMBER");
        }
        next(p);
        f->literal = dup_str(p, v->text);
        if (!f->literal.ptr)
            return oom(p);
        if (v->kind == LOGQL__T_NUMBER) {
            f->kind = LOGQL_LF_NUMBER;
            f->number = neg ? -v->num : v->num;
            if (neg) {
                char *s = ig_arena_alloc(p->a, v->text.len + 2);
                if (!s)
                    return oom(p);
                s[0] = '-';
                memcpy(s + 1, v->text.ptr, v->text.len);
                s[v->text.len + 1] = 0;
                f->literal = ig_str_make(s, v->text.len + 1);
            }
        } else if (v->kind == LOGQL__T_DURATION) {
            f->kind = LOGQL_LF_DURATION;
            f->duration_ns = v->dur;
        } else {
            f->kind = LOGQL_LF_BYTES;
            f->bytes = v->bytes;
        }
    } else if (match_op_from_tok(optok, &f->m.op) == 0 || cmp_from_tok(optok, &f->cmp) == 0) {
        next(p);
        return syntax_err(p, v,
                          optok->kind == LOGQL__T_RE || optok->kind == LOGQL__T_NRE
                              ? "STRING"
                              : "STRING, NUMBER, DURATION or BYTES");
    } else {
        return syntax_err(p, optok, "=, !=, =~, !~, ==, >, >=, < or <=");
    }
    f->height = 1;
    *out = f;
    p->depth--;
    return 0;
}

static bool starts_lf_atom(parser *p)
{
    logql__tok *t = peek(p);
    if (t->kind == LOGQL__T_LPAREN)
        return true;
    if (t->kind != LOGQL__T_IDENT || is_kw(t, "or") || is_kw(t, "and"))
        return false;
    logql__tok_kind k = peek2(p)->kind;
    logql_cmp_op c;
    logql_match_op m;
    return cmp_from_tok(peek2(p), &c) == 0 || match_op_from_tok(peek2(p), &m) == 0 ||
           k == LOGQL__T_EQEQ;
}

static int parse_label_filter_and(parser *p, logql_label_filter **out)
{
    logql_label_filter *l = NULL;
    int rc = parse_label_filter_atom(p, &l);
    if (rc)
        return rc;
    for (;;) {
        if (is_kw(peek(p), "and") || is(p, LOGQL__T_COMMA)) {
            next(p);
        } else if (!starts_lf_atom(p)) {
            break;
        }
        logql_label_filter *r = NULL, *b;
        if ((rc = parse_label_filter_atom(p, &r)))
            return rc;
        if (!(b = ig_arena_zalloc(p->a, sizeof(*b))))
            return oom(p);
        b->kind = LOGQL_LF_AND;
        b->left = l;
        b->right = r;
        b->height = lf_height(l, r);
        if (b->height > LOGQL_MAX_DEPTH)
            return too_deep(p, peek(p));
        l = b;
    }
    *out = l;
    return 0;
}

static int parse_label_filter_or(parser *p, logql_label_filter **out)
{
    int rc;
    if ((rc = enter(p)))
        return rc;
    logql_label_filter *l = NULL;
    if ((rc = parse_label_filter_and(p, &l)))
        return rc;
    while (is_kw(peek(p), "or")) {
        next(p);
        logql_label_filter *r = NULL, *b;
        if ((rc = parse_label_filter_and(p, &r)))
            return rc;
        if (!(b = ig_arena_zalloc(p->a, sizeof(*b))))
            return oom(p);
        b->kind = LOGQL_LF_OR;
        b->left = l;
        b->right = r;
        b->height = lf_height(l, r);
        if (b->height > LOGQL_MAX_DEPTH)
            return too_deep(p, peek(p));
        l = b;
    }
    *out = l;
    p->depth--;
    return 0;
}

static int parse_label_fmts(parser *p, logql_stage *st)
{
    size_t cap = 0, n = 0;
    logql_label_fmt *arr = NULL;
    int rc;
    for (;;) {
        if ((rc = grow(p, (void **)&arr, &cap, n, sizeof(*arr))))
            return rc;
        logql_label_fmt *f = &arr[n];
        if ((rc = parse_ident(p, &f->dst)))
            return rc;
        if ((rc = expect(p, LOGQL__T_EQ, NULL)))
            return rc;
        logql__tok *v = peek(p);
        if (v->kind == LOGQL__T_STRING) {
            f->value = v->text;
            f->rename = false;
            next(p);
        } else if (v->kind == LOGQL__T_IDENT) {
            if ((rc = parse_ident(p, &f->value)))
                return rc;
            f->rename = true;
        } else {
            return syntax_err(p, v, "STRING or IDENTIFIER");
        }
        for (size_t k = 0; k < n; k++)
            if (ig_str_eq(arr[k].dst, f->dst))
                return sem_err(p, v, "label_format: label %s can only be set once per stage",
                               ig_arena_cstr(p->a, f->dst));
        n++;
        if (!is(p, LOGQL__T_COMMA))
            break;
        next(p);
    }
    st->fmts = arr;
    st->n_fmts = n;
    return 0;
}

static int parse_names(parser *p, logql_stage *st)
{
    size_t cap = 0, n = 0;
    logql_name_or_matcher *arr = NULL;
    int rc;
    for (;;) {
        if (!is(p, LOGQL__T_IDENT))
            return syntax_err(p, peek(p), "IDENTIFIER");
        if ((rc = grow(p, (void **)&arr, &cap, n, sizeof(*arr))))
            return rc;
        logql_name_or_matcher *nm = &arr[n];
        memset(nm, 0, sizeof(*nm));
        logql_match_op op;
        if (match_op_from_tok(peek2(p), &op) == 0) {
            if ((rc = parse_matcher(p, &nm->m)))
                return rc;
            nm->has_matcher = true;
        } else if ((rc = parse_ident(p, &nm->m.name))) {
            return rc;
        }
        n++;
        if (!is(p, LOGQL__T_COMMA))
            break;
        next(p);
    }
    st->names = arr;
    st->n_names = n;
    return 0;
}

/* After `|` (consumed). */
static int parse_pipe_stage(parser *p, logql_stage *st)
{
    logql__tok *t = peek(p);
    int rc;
    memset(st, 0, sizeof(*st));
    if (t->kind != LOGQL__T_IDENT && t->kind != LOGQL__T_LPAREN)
        return syntax_err(p, t, "IDENTIFIER");
    if (is_kw(t, "json") || is_kw(t, "logfmt")) {
        next(p);
        st->kind = is_kw(t, "json") ? LOGQL_STAGE_JSON : LOGQL_STAGE_LOGFMT;
        while (st->kind == LOGQL_STAGE_LOGFMT && is(p, LOGQL__T_FLAG)) {
            logql__tok *f = next(p);
            if (ig_str_eq_cstr(f->text, "--strict"))
                st->strict = true;
            else if (ig_str_eq_cstr(f->text, "--keep-empty"))
                st->keep_empty = true;
            else
                return sem_err(p, f, "invalid logfmt flag %s", ig_arena_cstr(p->a, f->text));
        }
        return parse_params(p, st);
    }
    if (is_kw(t, "regexp") || is_kw(t, "pattern") || is_kw(t, "line_format")) {
        next(p);
        st->kind = is_kw(t, "regexp")    ? LOGQL_STAGE_REGEXP
                   : is_kw(t, "pattern") ? LOGQL_STAGE_PATTERN
                                         : LOGQL_STAGE_LINE_FORMAT;
        logql__tok *vt = peek(p);
        if ((rc = parse_string(p, &st->str)))
            return rc;
        if (st->kind == LOGQL_STAGE_REGEXP)
            return check_regex(p, vt, st->str, RE_NAMED_CAPTURE);
        if (st->kind == LOGQL_STAGE_PATTERN)
            return check_pattern(p, vt, st->str, false);
        return 0;
    }
    if (is_kw(t, "unpack") || is_kw(t, "decolorize")) {
        next(p);
        st->kind = is_kw(t, "unpack") ? LOGQL_STAGE_UNPACK : LOGQL_STAGE_DECOLORIZE;
        return 0;
    }
    if (is_kw(t, "label_format")) {
        next(p);
        st->kind = LOGQL_STAGE_LABEL_FORMAT;
        return parse_label_fmts(p, st);
    }
    if (is_kw(t, "drop") || is_kw(t, "keep")) {
        next(p);
        st->kind = is_kw(t, "drop") ? LOGQL_STAGE_DROP : LOGQL_STAGE_KEEP;
        return parse_names(p, st);
    }
    st->kind = LOGQL_STAGE_LABEL_FILTER;
    if ((rc = parse_label_filter_or(p, &st->filter)))
        return rc;
    return 0;
}

static int parse_unwrap(parser *p, logql_unwrap **out)
{
    logql_unwrap *u = ig_arena_zalloc(p->a, sizeof(*u));
    if (!u)
        return oom(p);
    int rc;
    logql__tok *t = peek(p);
    if (t->kind == LOGQL__T_IDENT && peek2(p)->kind == LOGQL__T_LPAREN) {
        if (is_kw(t, "duration"))
            u->conv = LOGQL_UNWRAP_DURATION;
        else if (is_kw(t, "duration_seconds"))
            u->conv = LOGQL_UNWRAP_DURATION_SECONDS;
        else if (is_kw(t, "bytes"))
            u->conv = LOGQL_UNWRAP_BYTES;
        else
            return sem_err(p, t,
                           "invalid unwrap conversion %s, expecting duration, "
                           "duration_seconds or bytes",
                           ig_arena_cstr(p->a, t->text));
        next(p);
        next(p);
        if ((rc = parse_ident(p, &u->label)) || (rc = expect(p, LOGQL__T_RPAREN, NULL)))
            return rc;
    } else if ((rc = parse_ident(p, &u->label))) {
        return rc;
    }
    *out = u;
    return 0;
}

/* Pipeline stages after a selector (or after a range). Appends to log->stages; after
 * `| unwrap`, only label filters are accepted and go to unwrap->post. */
static int parse_pipeline(parser *p, logql_log *log, logql__tok **unwrap_tok)
{
    size_t cap = log->n_stages, n = log->n_stages;
    logql_stage *arr = log->stages;
    size_t pcap = log->unwrap ? log->unwrap->n_post : 0;
    int rc;
    for (;;) {
        logql__tok *t = peek(p);
        logql_stage st;
        if (is_line_filter_tok(t->kind)) {
            if (log->unwrap)
                return syntax_err(p, t, "| or [");
            memset(&st, 0, sizeof(st));
            if ((rc = parse_line_filter(p, &st)))
                return rc;
        } else if (t->kind == LOGQL__T_PIPE) {
            next(p);
            if (is_kw(peek(p), "unwrap")) {
                if (log->unwrap)
                    return syntax_err(p, peek(p), "label filter");
                if (unwrap_tok)
                    *unwrap_tok = peek(p);
                next(p);
                if ((rc = parse_unwrap(p, &log->unwrap)))
                    return rc;
                continue;
            }
            logql__tok *st_tok = peek(p);
            if ((rc = parse_pipe_stage(p, &st)))
                return rc;
            if (log->unwrap) {
                if (st.kind != LOGQL_STAGE_LABEL_FILTER)
                    return syntax_err(p, st_tok, "label filter after unwrap");
                logql_unwrap *u = log->unwrap;
                if ((rc = grow(p, (void **)&u->post, &pcap, u->n_post, sizeof(st))))
                    return rc;
                u->post[u->n_post++] = st;
                continue;
            }
        } else {
            break;
        }
        if ((rc = grow(p, (void **)&arr, &cap, n, sizeof(*arr))))
            return rc;
        arr[n++] = st;
        log->stages = arr;
        log->n_stages = n;
    }
    return 0;
}

/* ---------- expressions ---------- */

static int parse_expr(parser *p, int min_prec, logql_expr **out);

static const struct {
    const char *name;
    logql_range_op op;
} range_ops[] = {
    {"count_over_time", LOGQL_RANGE_COUNT},       {"rate", LOGQL_RANGE_RATE},
    {"rate_counter", LOGQL_RANGE_RATE_COUNTER},   {"bytes_over_time", LOGQL_RANGE_BYTES},
    {"bytes_rate", LOGQL_RANGE_BYTES_RATE},       {"absent_over_time", LOGQL_RANGE_ABSENT},
    {"sum_over_time", LOGQL_RANGE_SUM},           {"avg_over_time", LOGQL_RANGE_AVG},
    {"min_over_time", LOGQL_RANGE_MIN},           {"max_over_time", LOGQL_RANGE_MAX},
    {"stddev_over_time", LOGQL_RANGE_STDDEV},     {"stdvar_over_time", LOGQL_RANGE_STDVAR},
    {"quantile_over_time", LOGQL_RANGE_QUANTILE}, {"first_over_time", LOGQL_RANGE_FIRST},
    {"last_over_time", LOGQL_RANGE_LAST}};

static const struct {
    const char *name;
    logql_vec_op op;
} vec_ops[] = {{"sum", LOGQL_VEC_SUM},
               {"avg", LOGQL_VEC_AVG},
               {"min", LOGQL_VEC_MIN},
               {"max", LOGQL_VEC_MAX},
               {"count", LOGQL_VEC_COUNT},
               {"stddev", LOGQL_VEC_STDDEV},
               {"stdvar", LOGQL_VEC_STDVAR},
               {"topk", LOGQL_VEC_TOPK},
               {"bottomk", LOGQL_VEC_BOTTOMK},
               {"sort", LOGQL_VEC_SORT},
               {"sort_desc", LOGQL_VEC_SORT_DESC},
               {"approx_topk", LOGQL_VEC_APPROX_TOPK}};

const char *logql_range_op_name(logql_range_op op)
{
    for (size_t k = 0; k < sizeof(range_ops) / sizeof(range_ops[0]); k++)
        if (range_ops[k].op == op)
            return range_ops[k].name;
    return "?";
}

const char *logql_vec_op_name(logql_vec_op op)
{
    for (size_t k = 0; k < sizeof(vec_ops) / sizeof(vec_ops[0]); k++)
        if (vec_ops[k].op == op)
            return vec_ops[k].name;
    return "?";
}

const char *logql_bin_op_name(logql_bin_op op)
{
    static const char *const names[] = {"or", "and", "unless", "==", "!=", ">", ">=", "<",
                                        "<=", "+",   "-",      "*",  "/",  "%", "^"};
    return (size_t)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

bool logql_is_metric(const logql_expr *e)
{
    return e->kind != LOGQL_EXPR_LOG;
}

/* Log range inside a range aggregation: `{sel} pipeline [d] [offset d] [pipeline]`,
 * `({sel} pipeline)[d]`, `({sel} pipeline [d])`. Sets *have_range. */
static int parse_log_range(parser *p, logql_log *log, int64_t *range_ns, int64_t *offset_ns,
                           bool *have_range, logql__tok **unwrap_tok)
{
    int rc;
    if ((rc = enter(p)))
        return rc;
    if (is(p, LOGQL__T_LPAREN)) {
        next(p);
        if ((rc = parse_log_range(p, log, range_ns, offset_ns, have_range, unwrap_tok)))
            return rc;
        if ((rc = expect(p, LOGQL__T_RPAREN, NULL)))
            return rc;
    } else if (is(p, LOGQL__T_LBRACE)) {
        if ((rc = parse_selector(p, log)))
            return rc;
        if ((rc = parse_pipeline(p, log, unwrap_tok)))
            return rc;
    } else {
        return syntax_err(p, peek(p), "{ or (");
    }
    if (is(p, LOGQL__T_RANGE)) {
        if (*have_range)
            return syntax_err(p, peek(p), ")");
        logql__tok *r = next(p);
        *range_ns = r->dur;
        *have_range = true;
        if (is_kw(peek(p), "offset")) {
            next(p);
            logql__tok *d = peek(p);
            if (d->kind != LOGQL__T_DURATION)
                return syntax_err(p, d, "DURATION");
            next(p);
            *offset_ns = d->dur;
        }
        if ((rc = parse_pipeline(p, log, unwrap_tok)))
            return rc;
    }
    p->depth--;
    return 0;
}

static int validate_range(parser *p, logql_expr *e, logql__tok *at)
{
    logql_range_op op = e->u.range.op;
    const char *name = logql_range_op_name(op);
    if (e->u.range.grouping.present) {
        switch (op) {
        case LOGQL_RANGE_AVG:
        case LOGQL_RANGE_STDDEV:
        case LOGQL_RANGE_STDVAR:
        case LOGQL_RANGE_QUANTILE:
        case LOGQL_RANGE_MAX:
        case LOGQL_RANGE_MIN:
        case LOGQL_RANGE_FIRST:
        case LOGQL_RANGE_LAST:
            break;
        default:
            return sem_err(p, at, "grouping not allowed for %s aggregation", name);
        }
    }
    if (e->u.range.log.unwrap) {
        switch (op) {
        case LOGQL_RANGE_COUNT:
        case LOGQL_RANGE_BYTES:
        case LOGQL_RANGE_BYTES_RATE:
            return sem_err(p, at, "invalid aggregation %s with unwrap", name);
        default:
            return 0;
        }
    }
    switch (op) {
    case LOGQL_RANGE_BYTES:
    case LOGQL_RANGE_BYTES_RATE:
    case LOGQL_RANGE_COUNT:
    case LOGQL_RANGE_RATE:
    case LOGQL_RANGE_ABSENT:
        return 0;
    default:
        return sem_err(p, at, "invalid aggregation %s without unwrap", name);
    }
}

static int parse_range_agg(parser *p, logql_range_op op, logql_expr *e)
{
    logql__tok *fn = next(p);
    int rc;
    e->kind = LOGQL_EXPR_RANGE_AGG;
    e->u.range.op = op;
    if ((rc = expect(p, LOGQL__T_LPAREN, NULL)))
        return rc;
    if (op == LOGQL_RANGE_QUANTILE) {
        logql__tok *t = peek(p);
        if (t->kind != LOGQL__T_NUMBER)
            return syntax_err(p, t, "NUMBER");
        next(p);
        e->u.range.has_param = true;
        e->u.range.param = t->num;
        if ((rc = expect(p, LOGQL__T_COMMA, NULL)))
            return rc;
    }
    bool have_range = false;
    logql__tok *unwrap_tok = NULL;
    if ((rc = parse_log_range(p, &e->u.range.log, &e->u.range.range_ns, &e->u.range.offset_ns,
                              &have_range, &unwrap_tok)))
        return rc;
    if (!have_range)
        return syntax_err(p, peek(p), "RANGE");
    if ((rc = expect(p, LOGQL__T_RPAREN, NULL)))
        return rc;
    if (at_grouping(p) && (rc = parse_grouping(p, &e->u.range.grouping)))
        return rc;
    return validate_range(p, e, fn);
}

static int parse_vec_agg(parser *p, logql_vec_op op, logql_expr *e)
{
    logql__tok *fn = next(p);
    const char *name = logql_vec_op_name(op);
    int rc;
    e->kind = LOGQL_EXPR_VECTOR_AGG;
    e->u.vec.op = op;
    if (at_grouping(p) && (rc = parse_grouping(p, &e->u.vec.grouping)))
        return rc;
    if ((rc = expect(p, LOGQL__T_LPAREN, NULL)))
        return rc;
    bool needs_param =
        op == LOGQL_VEC_TOPK || op == LOGQL_VEC_BOTTOMK || op == LOGQL_VEC_APPROX_TOPK;
    logql__tok *pt = peek(p);
    if (pt->kind == LOGQL__T_NUMBER && peek2(p)->kind == LOGQL__T_COMMA) {
        next(p);
        next(p);
        if (!needs_param)
            return sem_err(p, pt, "unsupported parameter for operation %s", name);
        double k = pt->num;
        if (k != floor(k) || k > 9.2e18 || k < -9.2e18) {
            char msg[160];
            snprintf(msg, sizeof(msg), "invalid parameter %s(%.*s,", name,
                     (int)(pt->text.len > 64 ? 64 : pt->text.len), pt->text.ptr);
            return sem_err(p, pt, "%s", msg);
        }
        if (k <= 0) {
            char msg[160];
            snprintf(msg, sizeof(msg), "invalid parameter (must be greater than 0) %s(%.*s", name,
                     (int)(pt->text.len > 64 ? 64 : pt->text.len), pt->text.ptr);
            return sem_err(p, pt, "%s", msg);
        }
        e->u.vec.has_param = true;
        e->u.vec.param = (int64_t)k;
    } else if (needs_param) {
        return sem_err(p, fn, "parameter required for operation %s", name);
    }
    logql__tok *body = peek(p);
    if ((rc = parse_expr(p, 0, &e->u.vec.arg)))
        return rc;
    if (!logql_is_metric(e->u.vec.arg))
        return syntax_err(p, peek(p), "RANGE");
    (void)body;
    if ((rc = expect(p, LOGQL__T_RPAREN, NULL)))
        return rc;
    if (at_grouping(p)) {
        if (e->u.vec.grouping.present)
            return syntax_err(p, peek(p), NULL);
        if ((rc = parse_grouping(p, &e->u.vec.grouping)))
            return rc;
    }
    if (e->u.vec.grouping.present &&
        (op == LOGQL_VEC_SORT || op == LOGQL_VEC_SORT_DESC || op == LOGQL_VEC_APPROX_TOPK))
        return sem_err(p, fn, "grouping not allowed for %s aggregation", name);
    return 0;
}

static int parse_label_replace(parser *p, logql_expr *e)
{
    next(p);
    int rc;
    e->kind = LOGQL_EXPR_LABEL_REPLACE;
    if ((rc = expect(p, LOGQL__T_LPAREN, NULL)))
        return rc;
    if ((rc = parse_expr(p, 0, &e->u.lrep.arg)))
        return rc;
    if (!logql_is_metric(e->u.lrep.arg))
        return syntax_err(p, peek(p), "RANGE");
    ig_str *dst[4] = {&e->u.lrep.dst, &e->u.lrep.replacement, &e->u.lrep.src, &e->u.lrep.regex};
    logql__tok *re_tok = NULL, *dst_tok = NULL;
    for (int k = 0; k < 4; k++) {
        if ((rc = expect(p, LOGQL__T_COMMA, NULL)))
            return rc;
        re_tok = peek(p);
        if (k == 0)
            dst_tok = re_tok;
        if ((rc = parse_string(p, dst[k])))
            return rc;
    }
    if ((rc = check_regex(p, re_tok, e->u.lrep.regex, RE_PLAIN))) {
        if (rc == IG_EINVAL) {
            char msg[sizeof(p->eb->msg)];
            const char *m = p->eb ? strstr(p->eb->msg, "error parsing regexp: ") : NULL;
            snprintf(msg, sizeof(msg), "%s", m ? m + 22 : "");
            return ig_err(p->eb, IG_EINVAL,
                          "parse error at line %d, col %d: invalid regex in label_replace: %s",
                          re_tok->line, re_tok->col, msg);
        }
        return rc;
    }
    bool dst_ok = e->u.lrep.dst.len > 0;
    for (size_t k = 0; k < e->u.lrep.dst.len && dst_ok; k++) {
        char c = e->u.lrep.dst.ptr[k];
        dst_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (k > 0 && c >= '0' && c <= '9');
    }
    if (!dst_ok)
        return sem_err(p, dst_tok, "invalid destination label name in label_replace(): %s",
                       ig_arena_cstr(p->a, e->u.lrep.dst));
    return expect(p, LOGQL__T_RPAREN, NULL);
}

static int parse_primary(parser *p, logql_expr **out)
{
    int rc;
    if ((rc = enter(p)))
        return rc;
    logql_expr *e = ig_arena_zalloc(p->a, sizeof(*e));
    if (!e)
        return oom(p);
    logql__tok *t = peek(p);
    switch (t->kind) {
    case LOGQL__T_LBRACE:
        e->kind = LOGQL_EXPR_LOG;
        if ((rc = parse_selector(p, &e->u.log)) || (rc = parse_pipeline(p, &e->u.log, NULL)))
            return rc;
        if (is(p, LOGQL__T_RANGE))
            return syntax_err(p, peek(p), NULL);
        break;
    case LOGQL__T_LPAREN:
        next(p);
        if ((rc = parse_expr(p, 0, &e)))
            return rc;
        if ((rc = expect(p, LOGQL__T_RPAREN, NULL)))
            return rc;
        if (e->kind == LOGQL_EXPR_LOG && is(p, LOGQL__T_RANGE))
            return syntax_err(p, peek(p), NULL);
        break;
    case LOGQL__T_NUMBER:
        next(p);
        e->kind = LOGQL_EXPR_LITERAL;
        e->u.literal = t->num;
        break;
    case LOGQL__T_ADD:
    case LOGQL__T_SUB: {
        next(p);
        logql__tok *nt = peek(p);
        if (nt->kind != LOGQL__T_NUMBER)
            return syntax_err(p, nt, "NUMBER");
        next(p);
        e->kind = LOGQL_EXPR_LITERAL;
        e->u.literal = t->kind == LOGQL__T_SUB ? -nt->num : nt->num;
        break;
    }
    case LOGQL__T_IDENT: {
        bool found = false;
        if (peek2(p)->kind == LOGQL__T_LPAREN || at_grouping(p) || is_kw(peek2(p), "by") ||
            is_kw(peek2(p), "without")) {
            for (size_t k = 0; k < sizeof(range_ops) / sizeof(range_ops[0]) && !found; k++)
                if (is_kw(t, range_ops[k].name)) {
                    found = true;
                    if ((rc = parse_range_agg(p, range_ops[k].op, e)))
                        return rc;
                }
            for (size_t k = 0; k < sizeof(vec_ops) / sizeof(vec_ops[0]) && !found; k++)
                if (is_kw(t, vec_ops[k].name)) {
                    found = true;
                    if ((rc = parse_vec_agg(p, vec_ops[k].op, e)))
                        return rc;
                }
            if (!found && is_kw(t, "vector")) {
                found = true;
                next(p);
                next(p);
                logql__tok *nt = peek(p);
                bool neg = false;
                if (nt->kind == LOGQL__T_SUB || nt->kind == LOGQL__T_ADD) {
                    neg = nt->kind == LOGQL__T_SUB;
                    next(p);
                    nt = peek(p);
                }
                if (nt->kind != LOGQL__T_NUMBER)
                    return syntax_err(p, nt, "NUMBER");
                next(p);
                e->kind = LOGQL_EXPR_VECTOR;
                e->u.literal = neg ? -nt->num : nt->num;
                if ((rc = expect(p, LOGQL__T_RPAREN, NULL)))
                    return rc;
            }
            if (!found && is_kw(t, "label_replace")) {
                found = true;
                if ((rc = parse_label_replace(p, e)))
                    return rc;
            }
        }
        if (!found)
            return syntax_err(p, t, NULL);
        break;
    }
    default:
        return syntax_err(p, t, NULL);
    }
    if (e->kind == LOGQL_EXPR_VECTOR_AGG)
        e->height = 1 + e->u.vec.arg->height;
    else if (e->kind == LOGQL_EXPR_LABEL_REPLACE)
        e->height = 1 + e->u.lrep.arg->height;
    else if (e->height == 0)
        e->height = 1;
    if (e->height > LOGQL_MAX_DEPTH)
        return too_deep(p, t);
    *out = e;
    p->depth--;
    return 0;
}

static int bin_prec(const logql__tok *t, logql_bin_op *op)
{
    switch (t->kind) {
    case LOGQL__T_IDENT:
        if (is_kw(t, "or")) {
            *op = LOGQL_BIN_OR;
            return 1;
        }
        if (is_kw(t, "and")) {
            *op = LOGQL_BIN_AND;
            return 2;
        }
        if (is_kw(t, "unless")) {
            *op = LOGQL_BIN_UNLESS;
            return 2;
        }
        return 0;
    case LOGQL__T_EQEQ:
        *op = LOGQL_BIN_EQ;
        return 3;
    case LOGQL__T_NEQ:
        *op = LOGQL_BIN_NE;
        return 3;
    case LOGQL__T_GT:
        *op = LOGQL_BIN_GT;
        return 3;
    case LOGQL__T_GE:
        *op = LOGQL_BIN_GE;
        return 3;
    case LOGQL__T_LT:
        *op = LOGQL_BIN_LT;
        return 3;
    case LOGQL__T_LE:
        *op = LOGQL_BIN_LE;
        return 3;
    case LOGQL__T_ADD:
        *op = LOGQL_BIN_ADD;
        return 4;
    case LOGQL__T_SUB:
        *op = LOGQL_BIN_SUB;
        return 4;
    case LOGQL__T_MUL:
        *op = LOGQL_BIN_MUL;
        return 5;
    case LOGQL__T_DIV:
        *op = LOGQL_BIN_DIV;
        return 5;
    case LOGQL__T_MOD:
        *op = LOGQL_BIN_MOD;
        return 5;
    case LOGQL__T_POW:
        *op = LOGQL_BIN_POW;
        return 6;
    default:
        return 0;
    }
}

static bool is_scalar_literal(const logql_expr *e)
{
    return e->kind == LOGQL_EXPR_LITERAL;
}

static int parse_expr(parser *p, int min_prec, logql_expr **out)
{
    int rc;
    if ((rc = enter(p)))
        return rc;
    logql_expr *lhs = NULL;
    if ((rc = parse_primary(p, &lhs)))
        return rc;
    for (;;) {
        logql__tok *optok = peek(p);
        logql_bin_op op;
        int prec = bin_prec(optok, &op);
        if (prec == 0 || prec < min_prec)
            break;
        next(p);
        logql_expr *b = ig_arena_zalloc(p->a, sizeof(*b));
        if (!b)
            return oom(p);
        b->kind = LOGQL_EXPR_BINARY;
        b->u.bin.op = op;
        if (is_kw(peek(p), "bool")) {
            if (prec != 3)
                return syntax_err(p, peek(p), NULL);
            next(p);
            b->u.bin.return_bool = true;
        }
        if (is_kw(peek(p), "on") || is_kw(peek(p), "ignoring")) {
            b->u.bin.has_matching = true;
            b->u.bin.on = is_kw(next(p), "on");
            if ((rc = parse_label_list(p, &b->u.bin.match_labels, &b->u.bin.n_match_labels)))
                return rc;
            if (is_kw(peek(p), "group_left") || is_kw(peek(p), "group_right")) {
                if (prec == 1 || prec == 2)
                    return sem_err(p, peek(p), "%s",
                                   "no grouping allowed for \"and\", \"or\" and \"unless\" "
                                   "operations");
                b->u.bin.group = is_kw(next(p), "group_left") ? 1 : 2;
                if (is(p, LOGQL__T_LPAREN) &&
                    (rc = parse_label_list(p, &b->u.bin.include, &b->u.bin.n_include)))
                    return rc;
            }
        }
        logql_expr *rhs = NULL;
        /* `^` is right-associative; everything else left */
        if ((rc = parse_expr(p, op == LOGQL_BIN_POW ? prec : prec + 1, &rhs)))
            return rc;
        if (!logql_is_metric(lhs) || !logql_is_metric(rhs))
            return sem_err(p, optok, "binary operation %s needs metric expressions on both sides",
                           logql_bin_op_name(op));
        if (prec <= 2 && (is_scalar_literal(lhs) || is_scalar_literal(rhs)))
            return sem_err(p, optok,
                           "unexpected literal for right-hand side of binary operation %s",
                           logql_bin_op_name(op));
        b->u.bin.lhs = lhs;
        b->u.bin.rhs = rhs;
        b->height = 1 + (lhs->height > rhs->height ? lhs->height : rhs->height);
        if (b->height > LOGQL_MAX_DEPTH)
            return too_deep(p, optok);
        lhs = b;
    }
    *out = lhs;
    p->depth--;
    return 0;
}

/* Unwrap outside a range aggregation is rejected: the selector/pipeline of a log query
 * never gets one because parse_pipeline is called with unwrap allowed only in
 * parse_log_range; a top-level `{..} | unwrap x` reaches here. */
int logql_parse(ig_str query, ig_arena *a, logql_expr **out, ig_errbuf *eb)
{
    if (query.len > LOGQL_MAX_QUERY_LEN)
        return ig_err(eb, IG_ETOOBIG, "input size too long (%zu > %d)", query.len,
                      LOGQL_MAX_QUERY_LEN);
    parser p = {.a = a, .eb = eb};
    int rc = logql__lex(query, a, &p.t, &p.n, eb);
    if (rc)
        return rc;
    if (p.n == 1)
        return ig_err(eb, IG_EINVAL,
                      "parse error at line %d, col %d: syntax error: unexpected "
                      "end of input",
                      p.t[0].line, p.t[0].col);
    logql_expr *e;
    if ((rc = parse_expr(&p, 0, &e)))
        return rc;
    if (!is(&p, LOGQL__T_EOF))
        return syntax_err(&p, peek(&p), NULL);
    if (e->kind == LOGQL_EXPR_LOG && e->u.log.unwrap)
        return ig_err(eb, IG_EINVAL,
                      "parse error at line 1, col 1: unwrap is only allowed in "
                      "range aggregations (e.g. sum_over_time(... | unwrap x [1m]))");
    *out = e;
    return 0;
}
