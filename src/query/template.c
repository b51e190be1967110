/* Go text/template subset for line_format / label_format (see template.h).
 *
 * Supported: text, {{ pipeline }} with `|` chains, {{- / -}} trimming, comments,
 * {{if}} / {{else if}} / {{else}} / {{end}}, fields `.name`, `.`, string/raw-string/
 * number/bool literals, parenthesised pipelines, and the functions in FUNCS. Values are
 * strings, integers, floats, booleans or times. Not supported (IG_EUNSUPPORTED naming
 * it): range, with, define, template, block, variables, and Loki's date/time parsing
 * functions (date, toDate, toDateInZone, unixToTime, now, fromJson, indent, nindent). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "icegate/alloc.h"
#include "icegate/http.h"
#include "icegate/json.h"
#include "template.h"

#define OUT_CAP (1u << 20) /* one rendered template */

/* ---- values ------------------------------------------------------------------------ */
enum { V_NIL, V_STR, V_INT, V_FLOAT, V_BOOL, V_TIME };
typedef struct tv {
    int t;
    ig_str s;
    int64_t i; /* INT; TIME: ns */
    double f;
    bool b;
} tv;

/* ---- AST --------------------------------------------------------------------------- */
enum { A_FIELD, A_DOT, A_STR, A_INT, A_FLOAT, A_BOOL, A_NIL, A_FUNC, A_PIPE };
typedef struct tpipe tpipe;
typedef struct targ {
    int kind;
    ig_str s; /* FIELD name, STR value */
    int64_t i;
    double f;
    bool b;
    int fn; /* FUNC */
    tpipe *pipe;
    pcre2_code *re; /* FUNC with a literal regexp first argument (precompiled) */
} targ;
typedef struct tcmd {
    targ *args;
    size_t n;
} tcmd;
struct tpipe {
    tcmd *cmds;
    size_t n;
};
enum { N_TEXT, N_ACTION, N_IF };
typedef struct tnode tnode;
struct tnode {
    int kind;
    ig_str text;
    tpipe *pipe;
    tnode *then, *els; /* lists (next-linked) */
    tnode *next;
};
struct lq_tmpl {
    tnode *root;
};

/* ---- functions --------------------------------------------------------------------- */
enum {
    F_TOLOWER,
    F_TOUPPER,
    F_LOWER,
    F_UPPER,
    F_TITLE,
    F_REPLACE_GO,
    F_REPLACE,
    F_TRIM_GO,
    F_TRIMLEFT,
    F_TRIMRIGHT,
    F_TRIMPREFIX_GO,
    F_TRIMSUFFIX_GO,
    F_TRIMSPACE,
    F_TRIM,
    F_TRIMALL,
    F_TRIMPREFIX,
    F_TRIMSUFFIX,
    F_RE_REPLACE_ALL,
    F_RE_REPLACE_ALL_LIT,
    F_COUNT,
    F_DEFAULT,
    F_PRINTF,
    F_PRINT,
    F_LEN,
    F_CONTAINS,
    F_HASPREFIX,
    F_HASSUFFIX,
    F_LINE,
    F_TIMESTAMP,
    F_UNIXEPOCH,
    F_UNIXEPOCH_MS,
    F_UNIXEPOCH_NS,
    F_EQ,
    F_NE,
    F_LT,
    F_LE,
    F_GT,
    F_GE,
    F_AND,
    F_OR,
    F_NOT,
    F_INT,
    F_FLOAT64,
    F_ADD,
    F_SUB,
    F_MUL,
    F_DIV,
    F_MOD,
    F_ADDF,
    F_SUBF,
    F_MULF,
    F_DIVF,
    F_MAX,
    F_MIN,
    F_MAXF,
    F_MINF,
    F_CEIL,
    F_FLOOR,
    F_ROUND,
    F_REPEAT,
    F_SUBSTR,
    F_TRUNC,
    F_ALIGNLEFT,
    F_ALIGNRIGHT,
    F_B64ENC,
    F_B64DEC,
    F_URLENCODE,
    F_URLDECODE,
    F_DATE,
    F_UNIXTOTIME,
    F_NOW,
    F_DURATION,
    F_BYTES,
    F_UNSUPPORTED
};
typedef struct fdef {
    const char *name;
    int id;
    int min, max; /* arity (max -1: variadic) */
} fdef;
static const fdef FUNCS[] = {
    {"ToLower", F_TOLOWER, 1, 1},
    {"ToUpper", F_TOUPPER, 1, 1},
    {"lower", F_LOWER, 1, 1},
    {"upper", F_UPPER, 1, 1},
    {"title", F_TITLE, 1, 1},
    {"Title", F_TITLE, 1, 1},
    {"Replace", F_REPLACE_GO, 4, 4},
    {"replace", F_REPLACE, 3, 3},
    {"Trim", F_TRIM_GO, 2, 2},
    {"TrimLeft", F_TRIMLEFT, 2, 2},
    {"TrimRight", F_TRIMRIGHT, 2, 2},
    {"TrimPrefix", F_TRIMPREFIX_GO, 2, 2},
    {"TrimSuffix", F_TRIMSUFFIX_GO, 2, 2},
    {"TrimSpace", F_TRIMSPACE, 1, 1},
    {"trim", F_TRIM, 1, 1},
    {"trimAll", F_TRIMALL, 2, 2},
    {"trimPrefix", F_TRIMPREFIX, 2, 2},
    {"trimSuffix", F_TRIMSUFFIX, 2, 2},
    {"regexReplaceAll", F_RE_REPLACE_ALL, 3, 3},
    {"regexReplaceAllLiteral", F_RE_REPLACE_ALL_LIT, 3, 3},
    {"count", F_COUNT, 2, 2},
    {"default", F_DEFAULT, 2, 2},
    {"printf", F_PRINTF, 1, -1},
    {"print", F_PRINT, 0, -1},
    {"len", F_LEN, 1, 1},
    {"contains", F_CONTAINS, 2, 2},
    {"hasPrefix", F_HASPREFIX, 2, 2},
    {"hasSuffix", F_HASSUFFIX, 2, 2},
    {"__line__", F_LINE, 0, 0},
    {"__timestamp__", F_TIMESTAMP, 0, 0},
    {"unixEpoch", F_UNIXEPOCH, 1, 1},
    {"unixEpochMillis", F_UNIXEPOCH_MS, 1, 1},
    {"unixEpochNanos", F_UNIXEPOCH_NS, 1, 1},
    {"eq", F_EQ, 2, -1},
    {"ne", F_NE, 2, 2},
    {"lt", F_LT, 2, 2},
    {"le", F_LE, 2, 2},
    {"gt", F_GT, 2, 2},
    {"ge", F_GE, 2, 2},
    {"and", F_AND, 1, -1},
    {"or", F_OR, 1, -1},
    {"not", F_NOT, 1, 1},
    {"int", F_INT, 1, 1},
    {"float64", F_FLOAT64, 1, 1},
    {"add", F_ADD, 1, -1},
    {"sub", F_SUB, 2, 2},
    {"mul", F_MUL, 1, -1},
    {"div", F_DIV, 2, 2},
    {"mod", F_MOD, 2, 2},
    {"addf", F_ADDF, 1, -1},
    {"subf", F_SUBF, 1, -1},
    {"mulf", F_MULF, 1, -1},
    {"divf", F_DIVF, 1, -1},
    {"max", F_MAX, 1, -1},
    {"min", F_MIN, 1, -1},
    {"maxf", F_MAXF, 1, -1},
    {"minf", F_MINF, 1, -1},
    {"ceil", F_CEIL, 1, 1},
    {"floor", F_FLOOR, 1, 1},
    {"round", F_ROUND, 2, 3},
    {"repeat", F_REPEAT, 2, 2},
    {"substr", F_SUBSTR, 3, 3},
    {"trunc", F_TRUNC, 2, 2},
    {"alignLeft", F_ALIGNLEFT, 2, 2},
    {"alignRight", F_ALIGNRIGHT, 2, 2},
    {"b64enc", F_B64ENC, 1, 1},
    {"b64dec", F_B64DEC, 1, 1},
    {"urlencode", F_URLENCODE, 1, 1},
    {"urldecode", F_URLDECODE, 1, 1},
    /* Loki template functions not built yet: IG_EUNSUPPORTED at compile time */
    {"date", F_DATE, 2, 2},
    {"toDate", F_UNSUPPORTED, 0, -1},
    {"toDateInZone", F_UNSUPPORTED, 0, -1},
    {"unixToTime", F_UNIXTOTIME, 1, 1},
    {"now", F_NOW, 0, 0},
    {"fromJson", F_UNSUPPORTED, 0, -1},
    {"indent", F_UNSUPPORTED, 0, -1},
    {"nindent", F_UNSUPPORTED, 0, -1},
    {"bytes", F_BYTES, 1, 1},
    {"duration", F_DURATION, 1, 1},
    {"duration_seconds", F_DURATION, 1, 1},
    {"index", F_UNSUPPORTED, 0, -1},
    {"slice", F_UNSUPPORTED, 0, -1},
    {"println", F_UNSUPPORTED, 0, -1},
    {"html", F_UNSUPPORTED, 0, -1},
    {"js", F_UNSUPPORTED, 0, -1},
    {"urlquery", F_UNSUPPORTED, 0, -1},
    {"call", F_UNSUPPORTED, 0, -1},
};

/* ---- parser ------------------------------------------------------------------------ */
typedef struct tp {
    ig_str src;
    size_t pos; /* inside an action */
    ig_arena *a;
    ig_errbuf *eb;
    int depth;
} tp;

static int perr(tp *p, const char *msg)
{
    return ig_err(p->eb, IG_EINVAL, "template: line:1: %s", msg);
}

static void skip_ws(tp *p, size_t end)
{
    while (p->pos < end && (p->src.ptr[p->pos] == ' ' || p->src.ptr[p->pos] == '\t' ||
                            p->src.ptr[p->pos] == '\n' || p->src.ptr[p->pos] == '\r'))
        p->pos++;
}

static bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
}

static int parse_pipe(tp *p, size_t end, tpipe **out);

/* Decodes a Go double-quoted string at p->pos into the arena. */
static int parse_quoted(tp *p, size_t end, ig_str *out)
{
    ig_buf b;
    ig_buf_init(&b, end - p->pos + 1);
    p->pos++;
    int rc = 0;
    while (true) {
        if (p->pos >= end) {
            rc = perr(p, "unterminated quoted string");
            break;
        }
        char c = p->src.ptr[p->pos++];
        if (c == '"')
            break;
        if (c == '\\' && p->pos < end) {
            char e = p->src.ptr[p->pos++];
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'a':
                c = '\a';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'v':
                c = '\v';
                break;
            case '\\':
                c = '\\';
                break;
            case '"':
                c = '"';
                break;
            case '\'':
                c = '\'';
                break;
            case 'x': { /* \xHH: one byte */
                int v = 0, k = 0;
                for (; k < 2 && p->pos < end; k++) {
                    char h = p->src.ptr[p->pos];
                    int d = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (d < 0)
                        break;
                    v = v * 16 + d;
                    p->pos++;
                }
                if (k < 2)
                    rc = perr(p, "unsupported escape sequence in quoted string");
                c = (char)v;
                break;
            }
            default:
                rc = perr(p, "unsupported escape sequence in quoted string");
            }
            if (rc)
                break;
        }
        if ((rc = ig_buf_putc(&b, c)))
            break;
    }
    if (rc == 0) {
        *out = ig_arena_strdup(p->a, ig_buf_str(&b));
        if (!out->ptr)
            rc = ig_err(p->eb, IG_ENOMEM, "out of memory");
    }
    ig_buf_free(&b);
    return rc;
}

static int parse_arg(tp *p, size_t end, targ *t)
{
    memset(t, 0, sizeof *t);
    const char *s = p->src.ptr;
    char c = s[p->pos];
    if (c == '.') {
        p->pos++;
        size_t st = p->pos;
        while (p->pos < end && is_ident(s[p->pos]))
            p->pos++;
        if (p->pos == st) {
            t->kind = A_DOT;
            return 0;
        }
        if (p->pos < end && s[p->pos] == '.')
            return ig_err(p->eb, IG_EUNSUPPORTED, "line_format: nested field access not supported");
        t->kind = A_FIELD;
        t->s = (ig_str){s + st, p->pos - st};
        return 0;
    }
    if (c == '"')
        return t->kind = A_STR, parse_quoted(p, end, &t->s);
    if (c == '`') {
        size_t st = ++p->pos;
        while (p->pos < end && s[p->pos] != '`')
            p->pos++;
        if (p->pos >= end)
            return perr(p, "unterminated raw quoted string");
        t->kind = A_STR;
        t->s = (ig_str){s + st, p->pos - st};
        p->pos++;
        return 0;
    }
    if (c == '(') {
        p->pos++;
        int depth = 1;
        size_t st = p->pos, q = p->pos;
        bool inq = false;
        char qc = 0;
        for (; q < end; q++) {
            if (inq) {
                if (s[q] == '\\' && qc == '"')
                    q++;
                else if (s[q] == qc)
                    inq = false;
                continue;
            }
            if (s[q] == '"' || s[q] == '`')
                inq = true, qc = s[q];
            else if (s[q] == '(')
                depth++;
            else if (s[q] == ')' && --depth == 0)
                break;
        }
        if (q >= end)
            return perr(p, "unclosed left paren");
        p->pos = st;
        t->kind = A_PIPE;
        int rc = parse_pipe(p, q, &t->pipe);
        p->pos = q + 1;
        return rc;
    }
    if (c == '$')
        return ig_err(p->eb, IG_EUNSUPPORTED, "line_format: template variables not supported");
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
        size_t st = p->pos;
        bool fl = false;
        p->pos++;
        while (p->pos < end && (is_ident(s[p->pos]) || s[p->pos] == '.' ||
                                ((s[p->pos] == '-' || s[p->pos] == '+') &&
                                 (s[p->pos - 1] == 'e' || s[p->pos - 1] == 'E')))) {
            if (s[p->pos] == '.' || s[p->pos] == 'e' || s[p->pos] == 'E')
                fl = true;
            p->pos++;
        }
        ig_str num = {s + st, p->pos - st};
        if (!fl && ig_str_to_i64(num, &t->i) == 0) {
            t->kind = A_INT;
            return 0;
        }
        if (ig_str_to_f64(num, &t->f) == 0) {
            t->kind = A_FLOAT;
            return 0;
        }
        return ig_err(p->eb, IG_EINVAL, "template: line:1: bad number syntax: \"%.*s\"",
                      (int)num.len, num.ptr);
    }
    if (is_ident(c)) {
        size_t st = p->pos;
        while (p->pos < end && is_ident(s[p->pos]))
            p->pos++;
        ig_str id = {s + st, p->pos - st};
        if (ig_str_eq_cstr(id, "true") || ig_str_eq_cstr(id, "false")) {
            t->kind = A_BOOL;
            t->b = id.ptr[0] == 't';
            return 0;
        }
        if (ig_str_eq_cstr(id, "nil")) {
            t->kind = A_NIL;
            return 0;
        }
        for (size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++) {
            if (ig_str_eq_cstr(id, FUNCS[i].name)) {
                if (FUNCS[i].id == F_UNSUPPORTED)
                    return ig_err(p->eb, IG_EUNSUPPORTED,
                                  "template function %s is not supported yet", FUNCS[i].name);
                t->kind = A_FUNC;
                t->fn = (int)i;
                return 0;
            }
        }
        return ig_err(p->eb, IG_EINVAL, "template: line:1: function \"%.*s\" not defined",
                      (int)id.len, id.ptr);
    }
    return ig_err(p->eb, IG_EINVAL, "template: line:1: unexpected \"%c\" in command", c);
}

static int parse_pipe(tp *p, size_t end, tpipe **out)
{
    if (++p->depth > 32)
        return perr(p, "expression too deeply nested");
    tpipe *pp = ig_arena_zalloc(p->a, sizeof *pp);
    size_t cap = 4, acap;
    if (!pp || !(pp->cmds = ig_arena_zalloc(p->a, cap * sizeof *pp->cmds)))
        return ig_err(p->eb, IG_ENOMEM, "out of memory");
    while (true) {
        skip_ws(p, end);
        if (pp->n == cap)
            return perr(p, "too many commands in pipeline");
        tcmd *c = &pp->cmds[pp->n++];
        acap = 16;
        if (!(c->args = ig_arena_zalloc(p->a, acap * sizeof *c->args)))
            return ig_err(p->eb, IG_ENOMEM, "out of memory");
        while (true) {
            skip_ws(p, end);
            if (p->pos >= end || p->src.ptr[p->pos] == '|')
                break;
            if (c->n == acap)
                return perr(p, "too many arguments");
            int rc = parse_arg(p, end, &c->args[c->n]);
            if (rc)
                return rc;
            c->n++;
        }
        if (c->n == 0)
            return perr(p, "missing value for command");
        if (p->pos >= end)
            break;
        p->pos++; /* '|' */
    }
    /* arity checks and literal regexps */
    for (size_t i = 0; i < pp->n; i++) {
        tcmd *c = &pp->cmds[i];
        if (c->args[0].kind != A_FUNC) {
            if (c->n > 1)
                return ig_err(p->eb, IG_EINVAL,
                              "template: line:1: can't give argument to non-function");
            if (i > 0)
                return ig_err(p->eb, IG_EINVAL,
                              "template: line:1: non executable command in pipeline stage %zu",
                              i + 1);
            continue;
        }
        const fdef *f = &FUNCS[c->args[0].fn];
        int nargs = (int)c->n - 1 + (i > 0);
        if (nargs < f->min || (f->max >= 0 && nargs > f->max))
            return ig_err(p->eb, IG_EINVAL,
                          "template: line:1: wrong number of args for %s: want %d got %d", f->name,
                          f->min, nargs);
        if ((f->id == F_RE_REPLACE_ALL || f->id == F_RE_REPLACE_ALL_LIT || f->id == F_COUNT) &&
            c->n > 1 && c->args[1].kind == A_STR) {
            c->args[0].re = lq__re_compile(c->args[1].s, 0, p->a, p->eb);
            if (!c->args[0].re)
                return IG_EINVAL;
        }
    }
    p->depth--;
    *out = pp;
    return 0;
}

/* Finds the next action at or after pos: sets [*ab, *ae) to the action's inside and
 * open/close to the delimiters' extent. Returns false when there is none. */
static bool next_action(ig_str s, size_t pos, size_t *open, size_t *ab, size_t *ae, size_t *close,
                        bool *ltrim, bool *rtrim, ig_errbuf *eb, int *rc)
{
    long f = -1;
    for (size_t i = pos; i + 1 < s.len; i++)
        if (s.ptr[i] == '{' && s.ptr[i + 1] == '{') {
            f = (long)i;
            break;
        }
    if (f < 0)
        return false;
    *open = (size_t)f;
    size_t b = (size_t)f + 2;
    *ltrim = b + 1 < s.len && s.ptr[b] == '-' &&
             (s.ptr[b + 1] == ' ' || s.ptr[b + 1] == '\t' || s.ptr[b + 1] == '\n');
    if (*ltrim)
        b += 1;
    /* find the closing }} outside quotes */
    bool inq = false;
    char qc = 0;
    for (size_t i = b; i + 1 < s.len; i++) {
        if (inq) {
            if (s.ptr[i] == '\\' && qc == '"')
                i++;
            else if (s.ptr[i] == qc)
                inq = false;
            continue;
        }
        if (s.ptr[i] == '"' || s.ptr[i] == '`') {
            inq = true, qc = s.ptr[i];
            continue;
        }
        if (s.ptr[i] == '}' && s.ptr[i + 1] == '}') {
            size_t e = i;
            *rtrim = e >= b + 2 && s.ptr[e - 1] == '-' &&
                     (s.ptr[e - 2] == ' ' || s.ptr[e - 2] == '\t' || s.ptr[e - 2] == '\n');
            if (*rtrim)
                e--;
            *ab = b;
            *ae = e;
            *close = i + 2;
            return true;
        }
    }
    *rc = ig_err(eb, IG_EINVAL, "template: line:1: unclosed action");
    return false;
}

static ig_str trim_right_ws(ig_str s)
{
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t' ||
                     s.ptr[s.len - 1] == '\n' || s.ptr[s.len - 1] == '\r'))
        s.len--;
    return s;
}

/* Parses a node list until {{end}}/{{else}} (reported through *stop: 0 eof, 1 end,
 * 2 else, 3 else if with *elif_pipe set). */
static int parse_list(tp *p, size_t *pos, tnode **head, int *stop, tpipe **elif_pipe,
                      bool *pending_ltrim)
{
    tnode **tail = head;
    *head = NULL;
    ig_str s = p->src;
    while (true) {
        size_t open, ab, ae, close;
        bool lt = false, rt = false;
        int rc = 0;
        bool found = next_action(s, *pos, &open, &ab, &ae, &close, &lt, &rt, p->eb, &rc);
        if (rc)
            return rc;
        ig_str text = {s.ptr + *pos, (found ? open : s.len) - *pos};
        if (*pending_ltrim) {
            while (text.len && (text.ptr[0] == ' ' || text.ptr[0] == '\t' || text.ptr[0] == '\n' ||
                                text.ptr[0] == '\r'))
                text.ptr++, text.len--;
            *pending_ltrim = false;
        }
        if (found && lt)
            text = trim_right_ws(text);
        if (text.len) {
            tnode *n = ig_arena_zalloc(p->a, sizeof *n);
            if (!n)
                return ig_err(p->eb, IG_ENOMEM, "out of memory");
            n->kind = N_TEXT;
            n->text = text;
            *tail = n;
            tail = &n->next;
        }
        if (!found) {
            *pos = s.len;
            *stop = 0;
            return 0;
        }
        *pos = close;
        *pending_ltrim = rt;
        p->pos = ab;
        skip_ws(p, ae);
        ig_str in = trim_right_ws((ig_str){s.ptr + p->pos, ae - p->pos});
        if (in.len >= 2 && in.ptr[0] == '/' && in.ptr[1] == '*')
            continue; /* comment */
        size_t kw = 0;
        while (kw < in.len && is_ident(in.ptr[kw]))
            kw++;
        ig_str word = {in.ptr, kw};
        bool kwend = kw == in.len || in.ptr[kw] == ' ' || in.ptr[kw] == '\t';
        if (kwend && ig_str_eq_cstr(word, "end")) {
            *stop = 1;
            return 0;
        }
        if (kwend && ig_str_eq_cstr(word, "else")) {
            p->pos += kw;
            skip_ws(p, ae);
            if (p->pos == ae) {
                *stop = 2;
                return 0;
            }
            ig_str rest = {s.ptr + p->pos, ae - p->pos};
            if (rest.len >= 2 && rest.ptr[0] == 'i' && rest.ptr[1] == 'f' &&
                (rest.len == 2 || rest.ptr[2] == ' ')) {
                p->pos += 2;
                int r2 = parse_pipe(p, ae, elif_pipe);
                if (r2)
                    return r2;
                *stop = 3;
                return 0;
            }
            return perr(p, "unexpected token after else");
        }
        if (kwend && (ig_str_eq_cstr(word, "range") || ig_str_eq_cstr(word, "with") ||
                      ig_str_eq_cstr(word, "define") || ig_str_eq_cstr(word, "template") ||
                      ig_str_eq_cstr(word, "block") || ig_str_eq_cstr(word, "break") ||
                      ig_str_eq_cstr(word, "continue")))
            return ig_err(p->eb, IG_EUNSUPPORTED, "template action %.*s is not supported yet",
                          (int)word.len, word.ptr);
        tnode *n = ig_arena_zalloc(p->a, sizeof *n);
        if (!n)
            return ig_err(p->eb, IG_ENOMEM, "out of memory");
        if (kwend && ig_str_eq_cstr(word, "if")) {
            if (++p->depth > 32)
                return perr(p, "if nested too deeply");
            n->kind = N_IF;
            p->pos += kw;
            if ((rc = parse_pipe(p, ae, &n->pipe)))
                return rc;
            tnode *cur = n;
            while (true) {
                int st = 0;
                tpipe *ep = NULL;
                tnode *list = NULL;
                if ((rc = parse_list(p, pos, &list, &st, &ep, pending_ltrim)))
                    return rc;
                if (cur->kind == N_IF && !cur->then && st != 0 && cur == n)
                    cur->then = list;
                else
                    cur->then = list;
                if (st == 0)
                    return perr(p, "unexpected EOF");
                if (st == 1)
                    break;
                if (st == 2) {
                    int st2 = 0;
                    tnode *el = NULL;
                    if ((rc = parse_list(p, pos, &el, &st2, &ep, pending_ltrim)))
                        return rc;
                    if (st2 != 1)
                        return perr(p, "expected end after else");
                    cur->els = el;
                    break;
                }
                tnode *en = ig_arena_zalloc(p->a, sizeof *en);
                if (!en)
                    return ig_err(p->eb, IG_ENOMEM, "out of memory");
                en->kind = N_IF;
                en->pipe = ep;
                cur->els = en;
                cur = en;
            }
            p->depth--;
        } else {
            n->kind = N_ACTION;
            if (p->pos == ae)
                return perr(p, "missing value for command");
            if ((rc = parse_pipe(p, ae, &n->pipe)))
                return rc;
        }
        *tail = n;
        tail = &n->next;
    }
}

int lq__tmpl_compile(ig_str src, ig_arena *a, lq_tmpl **out, ig_errbuf *eb)
{
    tp p = {.src = src, .a = a, .eb = eb};
    lq_tmpl *t = ig_arena_zalloc(a, sizeof *t);
    if (!t)
        return ig_err(eb, IG_ENOMEM, "out of memory");
    size_t pos = 0;
    int stop = 0;
    bool lt = false;
    int rc = parse_list(&p, &pos, &t->root, &stop, &(tpipe *){NULL}, &lt);
    if (rc)
        return rc;
    if (stop == 1)
        return perr(&p, "unexpected {{end}}");
    if (stop >= 2)
        return perr(&p, "unexpected {{else}}");
    *out = t;
    return 0;
}

/* ---- evaluation -------------------------------------------------------------------- */
typedef struct tx {
    const lq_lb *labels;
    ig_str line;
    int64_t ts;
    ig_arena *a;
    ig_errbuf *eb;
} tx;

static int xerr(tx *x, const char *fmt, const char *arg)
{
    return ig_err(x->eb, IG_EINVAL, fmt, arg);
}

int lq__fmt_float(ig_buf *b, double v)
{
    if (isnan(v))
        return ig_buf_append_cstr(b, "NaN");
    if (isinf(v))
        return ig_buf_append_cstr(b, v > 0 ? "+Inf" : "-Inf");
    if (v == 0)
        return ig_buf_append_cstr(b, signbit(v) ? "-0" : "0");
    char tmp[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        double back;
        if (ig_str_to_f64(ig_str_from(tmp), &back) == 0 && back == v)
            break;
    }
    /* tmp is d.ddde±XX: digits and exponent */
    char digs[24];
    size_t nd = 0;
    const char *q = tmp;
    bool neg = *q == '-';
    if (neg)
        q++;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9')
            digs[nd++] = *q;
    int exp = 0;
    if (*q == 'e') {
        int64_t e64 = 0;
        ig_str_to_i64(ig_str_from(q + 1), &e64);
        exp = (int)e64;
    }
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
    int rc = neg ? ig_buf_putc(b, '-') : 0;
    if (exp < -4 || exp >= 6) { /* strconv shortest %g: precision 6 decides */
        rc = rc ? rc : ig_buf_putc(b, digs[0]);
        if (nd > 1) {
            rc = rc ? rc : ig_buf_putc(b, '.');
            rc = rc ? rc : ig_buf_append(b, digs + 1, nd - 1);
        }
        return rc ? rc : ig_buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    if (exp < 0) {
        rc = rc ? rc : ig_buf_append_cstr(b, "0.");
        for (int i = -1; i > exp && rc == 0; i--)
            rc = ig_buf_putc(b, '0');
        return rc ? rc : ig_buf_append(b, digs, nd);
    }
    for (int i = 0; i <= exp && rc == 0; i++)
        rc = ig_buf_putc(b, (size_t)i < nd ? digs[i] : '0');
    if ((size_t)exp + 1 < nd) {
        rc = rc ? rc : ig_buf_putc(b, '.');
        rc = rc ? rc : ig_buf_append(b, digs + exp + 1, nd - (size_t)exp - 1);
    }
    return rc;
}

static int fmt_time(ig_buf *b, int64_t ns)
{
    time_t s = (time_t)(ns / 1000000000);
    int64_t frac = ns % 1000000000;
    if (frac < 0)
        frac += 1000000000, s--;
    struct tm tm;
    gmtime_r(&s, &tm);
    int rc = ig_buf_printf(b, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (rc == 0 && frac) {
        char f[12];
        snprintf(f, sizeof f, "%09lld", (long long)frac);
        size_t n = 9;
        while (n > 0 && f[n - 1] == '0')
            n--;
        rc = ig_buf_putc(b, '.');
        rc = rc ? rc : ig_buf_append(b, f, n);
    }
    return rc ? rc : ig_buf_append_cstr(b, " +0000 UTC");
}

/* Appends the %v form of v. */
static int v_print(ig_buf *b, const tv *v)
{
    switch (v->t) {
    case V_STR:
        return ig_buf_append_str(b, v->s);
    case V_INT:
        return ig_buf_printf(b, "%lld", (long long)v->i);
    case V_FLOAT:
        return lq__fmt_float(b, v->f);
    case V_BOOL:
        return ig_buf_append_cstr(b, v->b ? "true" : "false");
    case V_TIME:
        return fmt_time(b, v->i);
    default:
        return ig_buf_append_cstr(b, "<no value>");
    }
}

static tv v_str(ig_str s)
{
    return (tv){.t = V_STR, .s = s.ptr ? s : IG_STR("")};
}

/* String form in the arena. */
static int v_to_str(tx *x, const tv *v, ig_str *out)
{
    if (v->t == V_STR) {
        *out = v->s;
        return 0;
    }
    ig_buf b;
    ig_buf_init(&b, 4096);
    int rc = v_print(&b, v);
    if (rc == 0) {
        *out = ig_arena_strdup(x->a, ig_buf_str(&b));
        if (!out->ptr)
            rc = IG_ENOMEM;
    }
    ig_buf_free(&b);
    return rc;
}

static bool v_truth(const tv *v)
{
    switch (v->t) {
    case V_STR:
        return v->s.len > 0;
    case V_INT:
        return v->i != 0;
    case V_FLOAT:
        return v->f != 0;
    case V_BOOL:
        return v->b;
    case V_TIME:
        return true;
    default:
        return false;
    }
}

/* sprig's toInt64 / toFloat64 (strings are parsed; failures give 0). */
static int64_t v_int(const tv *v)
{
    int64_t i = 0;
    double d;
    switch (v->t) {
    case V_INT:
        return v->i;
    case V_FLOAT:
        return (int64_t)v->f;
    case V_BOOL:
        return v->b;
    case V_STR:
        if (ig_str_to_i64(ig_str_trim(v->s), &i) == 0)
            return i;
        if (ig_str_to_f64(ig_str_trim(v->s), &d) == 0 && isfinite(d))
            return (int64_t)d;
        return 0;
    default:
        return 0;
    }
}
static double v_float(const tv *v)
{
    double d = 0;
    switch (v->t) {
    case V_INT:
        return (double)v->i;
    case V_FLOAT:
        return v->f;
    case V_BOOL:
        return v->b;
    case V_STR:
        return ig_str_to_f64(ig_str_trim(v->s), &d) == 0 ? d : 0;
    default:
        return 0;
    }
}

static int v_cmp(const tv *a, const tv *b, int *out, tx *x)
{
    if ((a->t == V_INT || a->t == V_FLOAT) && (b->t == V_INT || b->t == V_FLOAT)) {
        double p = v_float(a), q = v_float(b);
        *out = p < q ? -1 : p > q;
        return 0;
    }
    if (a->t == V_STR && b->t == V_STR) {
        int c = ig_str_cmp(a->s, b->s);
        *out = c < 0 ? -1 : c > 0;
        return 0;
    }
    if (a->t == V_BOOL && b->t == V_BOOL) {
        *out = a->b != b->b;
        return 0;
    }
    return xerr(x, "error calling %s: incompatible types for comparison", "eq");
}

static ig_str s_dup(tx *x, const char *p, size_t n)
{
    return ig_arena_strdup(x->a, (ig_str){p, n});
}

static bool in_cutset(ig_str cut, char c)
{
    return memchr(cut.ptr ? cut.ptr : "", c, cut.len) != NULL;
}

static ig_str trim_set(ig_str s, ig_str cut, bool left, bool right)
{
    while (left && s.len && in_cutset(cut, s.ptr[0]))
        s.ptr++, s.len--;
    while (right && s.len && in_cutset(cut, s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static int replace_all(tx *x, ig_str s, ig_str old, ig_str nw, int64_t n, ig_str *out)
{
    ig_buf b;
    ig_buf_init(&b, OUT_CAP);
    int rc = 0;
    size_t pos = 0;
    int64_t done = 0;
    if (old.len == 0) {
        /* Go: inserts nw before every rune and at the end */
        for (size_t i = 0; i <= s.len && rc == 0 && (n < 0 || done < n); done++) {
            rc = ig_buf_append_str(&b, nw);
            if (i < s.len) {
                size_t l = lq__utf8_len((const unsigned char *)s.ptr + i, s.len - i);
                l = l ? l : 1;
                rc = rc ? rc : ig_buf_append(&b, s.ptr + i, l);
                i += l;
            } else {
                i++;
            }
            pos = i;
        }
        if (pos < s.len)
            rc = rc ? rc : ig_buf_append(&b, s.ptr + pos, s.len - pos);
    } else {
        while (rc == 0 && (n < 0 || done < n)) {
            long f = -1;
            if (pos <= s.len && s.len - pos >= old.len) {
                const char *r = memmem(s.ptr + pos, s.len - pos, old.ptr, old.len);
                f = r ? (long)(r - s.ptr) : -1;
            }
            if (f < 0)
                break;
            rc = ig_buf_append(&b, s.ptr + pos, (size_t)f - pos);
            rc = rc ? rc : ig_buf_append_str(&b, nw);
            pos = (size_t)f + old.len;
            done++;
        }
        if (rc == 0)
            rc = ig_buf_append(&b, s.ptr + pos, s.len - pos);
    }
    if (rc == 0)
        *out = s_dup(x, b.data ? b.data : "", b.len);
    ig_buf_free(&b);
    return rc ? rc : (out->ptr ? 0 : IG_ENOMEM);
}

/* regexReplaceAll: $1 / ${name} / $$ expansion when expand is true. */
static int re_replace(tx *x, const pcre2_code *re, ig_str s, ig_str repl, bool expand, ig_str *out)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md)
        return IG_ENOMEM;
    ig_buf b;
    ig_buf_init(&b, OUT_CAP);
    int rc = 0;
    size_t pos = 0, last = 0;
    while (rc == 0 && pos <= s.len) {
        int m = pcre2_match(re, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, pos, 0, md, NULL);
        if (m <= 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        rc = ig_buf_append(&b, s.ptr + last, ov[0] - last);
        if (!expand) {
            rc = rc ? rc : ig_buf_append_str(&b, repl);
        } else {
            for (size_t i = 0; i < repl.len && rc == 0; i++) {
                if (repl.ptr[i] != '$' || i + 1 >= repl.len) {
                    rc = ig_buf_putc(&b, repl.ptr[i]);
                    continue;
                }
                if (repl.ptr[i + 1] == '$') {
                    rc = ig_buf_putc(&b, '$');
                    i++;
                    continue;
                }
                size_t j = i + 1, st, en;
                bool brace = repl.ptr[j] == '{';
                if (brace)
                    j++;
                st = j;
                while (j < repl.len && is_ident(repl.ptr[j]))
                    j++;
                en = j;
                if (brace && (j >= repl.len || repl.ptr[j] != '}')) {
                    rc = ig_buf_putc(&b, '$');
                    continue;
                }
                ig_str name = {repl.ptr + st, en - st};
                i = brace ? j : j - 1;
                int64_t gi;
                int grp = -1;
                if (ig_str_to_i64(name, &gi) == 0)
                    grp = (int)gi;
                else if (name.len) {
                    char nm[64];
                    if (name.len < sizeof nm) {
                        memcpy(nm, name.ptr, name.len);
                        nm[name.len] = 0;
                        grp = pcre2_substring_number_from_name(re, (PCRE2_SPTR)nm);
                    }
                }
                if (grp >= 0 && grp < m && ov[2 * grp] != PCRE2_UNSET)
                    rc = ig_buf_append(&b, s.ptr + ov[2 * grp], ov[2 * grp + 1] - ov[2 * grp]);
            }
        }
        last = ov[1];
        pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
        if (ov[1] == ov[0] && ov[0] < s.len)
            rc = rc ? rc : ig_buf_putc(&b, s.ptr[ov[0]]), last = ov[0] + 1;
    }
    if (rc == 0 && last < s.len)
        rc = ig_buf_append(&b, s.ptr + last, s.len - last);
    pcre2_match_data_free(md);
    if (rc == 0)
        *out = s_dup(x, b.data ? b.data : "", b.len);
    ig_buf_free(&b);
    return rc ? rc : (out->ptr ? 0 : IG_ENOMEM);
}

/* Go fmt subset for printf: %s %v %d %f %e %g %q %x %X %t %% with flags, width, prec. */
static int go_printf(tx *x, ig_str f, const tv *args, size_t n, ig_buf *b)
{
    size_t ai = 0;
    int rc = 0;
    for (size_t i = 0; i < f.len && rc == 0; i++) {
        if (f.ptr[i] != '%') {
            rc = ig_buf_putc(b, f.ptr[i]);
            continue;
        }
        size_t st = i++;
        while (i < f.len && strchr("+-# 0", f.ptr[i]))
            i++;
        while (i < f.len && f.ptr[i] >= '0' && f.ptr[i] <= '9')
            i++;
        if (i < f.len && f.ptr[i] == '.') {
            i++;
            while (i < f.len && f.ptr[i] >= '0' && f.ptr[i] <= '9')
                i++;
        }
        if (i >= f.len) {
            rc = ig_buf_append_cstr(b, "%!(NOVERB)");
            break;
        }
        char verb = f.ptr[i];
        if (verb == '%') {
            rc = ig_buf_putc(b, '%');
            continue;
        }
        char spec[32];
        size_t sl = i - st;
        if (sl > 20) {
            rc = ig_buf_append_cstr(b, "%!(BADWIDTH)");
            continue;
        }
        memcpy(spec, f.ptr + st, sl);
        if (ai >= n) {
            rc = ig_buf_printf(b, "%%!%c(MISSING)", verb);
            continue;
        }
        const tv *a = &args[ai++];
        switch (verb) {
        case 'd':
            if (a->t == V_INT) {
                memcpy(spec + sl, "lld", 4);
                rc = ig_buf_printf(b, spec, (long long)a->i);
            } else {
                ig_str s;
                rc = v_to_str(x, a, &s);
                rc = rc ? rc
                        : ig_buf_printf(b, "%%!d(%s=%.*s)",
                                        a->t == V_STR     ? "string"
                                        : a->t == V_FLOAT ? "float64"
                                                          : "bool",
                                        (int)s.len, s.ptr);
            }
            break;
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
            if (a->t == V_FLOAT || a->t == V_INT) {
                spec[sl] = verb == 'F' ? 'f' : verb;
                spec[sl + 1] = 0;
                if (a->t == V_INT)
                    rc = ig_buf_printf(b, "%%!%c(int=%lld)", verb, (long long)a->i);
                else
                    rc = ig_buf_printf(b, spec, a->f);
            } else {
                ig_str s;
                rc = v_to_str(x, a, &s);
                rc = rc ? rc : ig_buf_printf(b, "%%!%c(string=%.*s)", verb, (int)s.len, s.ptr);
            }
            break;
        case 's':
        case 'v': {
            ig_str s;
            rc = v_to_str(x, a, &s);
            memcpy(spec + sl, ".*s", 4);
            /* width/precision in spec apply to the string as C does for ASCII */
            char spec2[32];
            memcpy(spec2, f.ptr + st, sl);
            spec2[sl] = 0;
            if (rc == 0) {
                if (strchr(spec2, '.')) {
                    memcpy(spec2 + sl, "s", 2);
                    char *cs = ig_arena_cstr(x->a, s);
                    rc = cs ? ig_buf_printf(b, spec2, cs) : IG_ENOMEM;
                } else {
                    memcpy(spec2 + sl, ".*s", 4);
                    rc = ig_buf_printf(b, spec2, (int)s.len, s.ptr);
                }
            }
            break;
        }
        case 'q': {
            ig_str s;
            rc = v_to_str(x, a, &s);
            rc = rc ? rc : lq__quote(b, s);
            break;
        }
        case 'x':
        case 'X':
            if (a->t == V_INT) {
                memcpy(spec + sl, verb == 'x' ? "llx" : "llX", 4);
                rc = ig_buf_printf(b, spec, (unsigned long long)a->i);
            } else {
                ig_str s;
                rc = v_to_str(x, a, &s);
                for (size_t k = 0; k < s.len && rc == 0; k++)
                    rc = ig_buf_printf(b, verb == 'x' ? "%02x" : "%02X", (unsigned char)s.ptr[k]);
            }
            break;
        case 't':
            rc = a->t == V_BOOL ? ig_buf_append_cstr(b, a->b ? "true" : "false")
                                : ig_buf_append_cstr(b, "%!t(?)");
            break;
        default:
            rc = ig_buf_printf(b, "%%!%c(?)", verb);
        }
    }
    while (rc == 0 && ai < n) {
        /* Go: %!(EXTRA type=value) */
        ig_str s;
        rc = v_to_str(x, &args[ai], &s);
        rc = rc ? rc : ig_buf_printf(b, "%%!(EXTRA string=%.*s)", (int)s.len, s.ptr);
        ai++;
    }
    return rc;
}

/* Go's Time.Format(layout) for a UTC time (sprig's `date`): the standard layout
 * elements (2006 06 01 1 Jan January 02 2 _2 002 15 03 3 04 4 05 5 PM pm Mon Monday MST,
 * zone forms -0700 -07:00 -07 Z0700 Z07:00 Z07 and their seconds variants, fractional
 * seconds .000 / .999 / ,000); everything else is copied. */
static int go_time_format(ig_buf *b, ig_str l, int64_t ns)
{
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    time_t sec = (time_t)(ns / 1000000000);
    int64_t frac = ns % 1000000000;
    if (frac < 0)
        frac += 1000000000, sec--;
    struct tm tm;
    gmtime_r(&sec, &tm);
    int rc = 0;
    size_t i = 0;
#define HAS(lit) (l.len - i >= sizeof(lit) - 1 && memcmp(l.ptr + i, lit, sizeof(lit) - 1) == 0)
    while (i < l.len && rc == 0) {
        int h12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
        if (HAS("January")) {
            rc = ig_buf_append_cstr(b, months[tm.tm_mon]), i += 7;
        } else if (HAS("Jan")) {
            rc = ig_buf_append(b, months[tm.tm_mon], 3), i += 3;
        } else if (HAS("Monday")) {
            rc = ig_buf_append_cstr(b, days[tm.tm_wday]), i += 6;
        } else if (HAS("Mon")) {
            rc = ig_buf_append(b, days[tm.tm_wday], 3), i += 3;
        } else if (HAS("MST")) {
            rc = ig_buf_append_cstr(b, "UTC"), i += 3;
        } else if (HAS("2006")) {
            rc = ig_buf_printf(b, "%04d", tm.tm_year + 1900), i += 4;
        } else if (HAS("002")) {
            rc = ig_buf_printf(b, "%03d", tm.tm_yday + 1), i += 3;
        } else if (HAS("01")) {
            rc = ig_buf_printf(b, "%02d", tm.tm_mon + 1), i += 2;
        } else if (HAS("02")) {
            rc = ig_buf_printf(b, "%02d", tm.tm_mday), i += 2;
        } else if (HAS("03")) {
            rc = ig_buf_printf(b, "%02d", h12), i += 2;
        } else if (HAS("04")) {
            rc = ig_buf_printf(b, "%02d", tm.tm_min), i += 2;
        } else if (HAS("05")) {
            rc = ig_buf_printf(b, "%02d", tm.tm_sec), i += 2;
        } else if (HAS("06")) {
            rc = ig_buf_printf(b, "%02d", (tm.tm_year + 1900) % 100), i += 2;
        } else if (HAS("15")) {
            rc = ig_buf_printf(b, "%02d", tm.tm_hour), i += 2;
        } else if (HAS("_2")) {
            rc = ig_buf_printf(b, "%2d", tm.tm_mday), i += 2;
        } else if (HAS("1")) {
            rc = ig_buf_printf(b, "%d", tm.tm_mon + 1), i += 1;
        } else if (HAS("2")) {
            rc = ig_buf_printf(b, "%d", tm.tm_mday), i += 1;
        } else if (HAS("3")) {
            rc = ig_buf_printf(b, "%d", h12), i += 1;
        } else if (HAS("4")) {
            rc = ig_buf_printf(b, "%d", tm.tm_min), i += 1;
        } else if (HAS("5")) {
            rc = ig_buf_printf(b, "%d", tm.tm_sec), i += 1;
        } else if (HAS("PM")) {
            rc = ig_buf_append_cstr(b, tm.tm_hour >= 12 ? "PM" : "AM"), i += 2;
        } else if (HAS("pm")) {
            rc = ig_buf_append_cstr(b, tm.tm_hour >= 12 ? "pm" : "am"), i += 2;
        } else if (HAS("Z07:00:00") || HAS("Z070000") || HAS("Z07:00") || HAS("Z0700") ||
                   HAS("Z07")) {
            size_t n = HAS("Z07:00:00") ? 9
                       : HAS("Z070000") ? 7
                       : HAS("Z07:00")  ? 6
                       : HAS("Z0700")   ? 5
                                        : 3;
            rc = ig_buf_putc(b, 'Z'), i += n;
        } else if (HAS("-07:00:00") || HAS("-070000") || HAS("-07:00") || HAS("-0700") ||
                   HAS("-07")) {
            const char *z = HAS("-07:00:00") ? "+00:00:00"
                            : HAS("-070000") ? "+000000"
                            : HAS("-07:00")  ? "+00:00"
                            : HAS("-0700")   ? "+0000"
                                             : "+00";
            rc = ig_buf_append_cstr(b, z), i += strlen(z);
        } else if ((l.ptr[i] == '.' || l.ptr[i] == ',') && i + 1 < l.len &&
                   (l.ptr[i + 1] == '0' || l.ptr[i + 1] == '9')) {
            char d = l.ptr[i + 1];
            size_t j = i + 1;
            while (j < l.len && l.ptr[j] == d)
                j++;
            if (j < l.len && l.ptr[j] >= '0' && l.ptr[j] <= '9') {
                rc = ig_buf_putc(b, l.ptr[i]), i++; /* not a fraction element */
                continue;
            }
            size_t nd = j - i - 1;
            if (nd > 9)
                nd = 9;
            char f[12];
            snprintf(f, sizeof f, "%09lld", (long long)frac);
            size_t keep = nd;
            if (d == '9')
                while (keep > 0 && f[keep - 1] == '0')
                    keep--;
            if (keep > 0 || d == '0') {
                rc = ig_buf_putc(b, l.ptr[i]);
                rc = rc ? rc : ig_buf_append(b, f, keep);
            }
            i = j;
        } else {
            rc = ig_buf_putc(b, l.ptr[i]), i++;
        }
    }
#undef HAS
    return rc;
}

static int eval_pipe(tx *x, const tpipe *p, tv *out);
static int call(tx *x, const targ *fa, const tv *av, size_t n, tv *out);

static int eval_arg(tx *x, const targ *a, tv *out)
{
    switch (a->kind) {
    case A_FIELD:
        *out = v_str(lq__lb_get(x->labels, a->s, NULL));
        return 0;
    case A_DOT:
        *out = (tv){.t = V_NIL};
        return 0; /* the data map: not printable usefully */
    case A_STR:
        *out = v_str(a->s);
        return 0;
    case A_INT:
        *out = (tv){.t = V_INT, .i = a->i};
        return 0;
    case A_FLOAT:
        *out = (tv){.t = V_FLOAT, .f = a->f};
        return 0;
    case A_BOOL:
        *out = (tv){.t = V_BOOL, .b = a->b};
        return 0;
    case A_NIL:
        *out = (tv){.t = V_NIL};
        return 0;
    case A_PIPE:
        return eval_pipe(x, a->pipe, out);
    default:
        /* a function named as an argument is called without arguments (Go) */
        if (FUNCS[a->fn].min == 0)
            return call(x, a, NULL, 0, out);
        return xerr(x, "wrong number of args for %s: want 1 got 0", FUNCS[a->fn].name);
    }
}

static int call(tx *x, const targ *fa, const tv *av, size_t n, tv *out)
{
    const fdef *f = &FUNCS[fa->fn];
    ig_str s0 = IG_STR_NULL, s1 = IG_STR_NULL, s2 = IG_STR_NULL;
    int rc = 0;
    if (n > 0 && (rc = v_to_str(x, &av[0], &s0)))
        return rc;
    if (n > 1 && (rc = v_to_str(x, &av[1], &s1)))
        return rc;
    if (n > 2 && (rc = v_to_str(x, &av[2], &s2)))
        return rc;
    *out = (tv){.t = V_STR, .s = IG_STR("")};
    switch (f->id) {
    case F_TOLOWER:
    case F_LOWER:
    case F_TOUPPER:
    case F_UPPER:
    case F_TITLE: {
        char *o = ig_arena_alloc(x->a, s0.len + 1);
        if (!o)
            return IG_ENOMEM;
        bool word_start = true;
        for (size_t i = 0; i < s0.len; i++) {
            char c = s0.ptr[i];
            if (f->id == F_TOLOWER || f->id == F_LOWER)
                c = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
            else if (f->id == F_TOUPPER || f->id == F_UPPER)
                c = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
            else {
                if (word_start && c >= 'a' && c <= 'z')
                    c = (char)(c - 32);
                word_start = c == ' ' || c == '\t' || c == '\n' || c == '-' || c == '_'
                                 ? c == ' ' || c == '\t' || c == '\n'
                                 : false;
            }
            o[i] = c;
        }
        *out = v_str((ig_str){o, s0.len});
        return 0;
    }
    case F_REPLACE_GO:
        return replace_all(x, s0, s1, s2, v_int(&av[3]), &out->s);
    case F_REPLACE:
        return replace_all(x, s2, s0, s1, -1, &out->s);
    case F_TRIM_GO:
        out->s = trim_set(s0, s1, true, true);
        return 0;
    case F_TRIMLEFT:
        out->s = trim_set(s0, s1, true, false);
        return 0;
    case F_TRIMRIGHT:
        out->s = trim_set(s0, s1, false, true);
        return 0;
    case F_TRIMSPACE:
    case F_TRIM:
        out->s = trim_set(s0, IG_STR(" \t\n\r\v\f"), true, true);
        return 0;
    case F_TRIMALL:
        out->s = trim_set(s1, s0, true, true);
        return 0;
    case F_TRIMPREFIX_GO:
    case F_TRIMPREFIX: {
        ig_str s = f->id == F_TRIMPREFIX ? s1 : s0, pre = f->id == F_TRIMPREFIX ? s0 : s1;
        out->s = ig_str_has_prefix(s, pre) ? (ig_str){s.ptr + pre.len, s.len - pre.len} : s;
        return 0;
    }
    case F_TRIMSUFFIX_GO:
    case F_TRIMSUFFIX: {
        ig_str s = f->id == F_TRIMSUFFIX ? s1 : s0, suf = f->id == F_TRIMSUFFIX ? s0 : s1;
        out->s = (s.len >= suf.len && memcmp(s.ptr + s.len - suf.len, suf.ptr, suf.len) == 0)
                     ? (ig_str){s.ptr, s.len - suf.len}
                     : s;
        return 0;
    }
    case F_RE_REPLACE_ALL:
    case F_RE_REPLACE_ALL_LIT:
    case F_COUNT: {
        const pcre2_code *re = fa->re;
        if (!re) {
            re = lq__re_compile(s0, 0, x->a, x->eb);
            if (!re)
                return IG_EINVAL;
        }
        if (f->id == F_COUNT) {
            pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
            if (!md)
                return IG_ENOMEM;
            int64_t c = 0;
            size_t pos = 0;
            while (pos <= s1.len && pcre2_match(re, (PCRE2_SPTR)(s1.ptr ? s1.ptr : ""), s1.len, pos,
                                                0, md, NULL) > 0) {
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                c++;
                pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
            }
            pcre2_match_data_free(md);
            *out = (tv){.t = V_INT, .i = c};
            return 0;
        }
        return re_replace(x, re, s1, s2, f->id == F_RE_REPLACE_ALL, &out->s);
    }
    case F_DEFAULT:
        *out = v_truth(&av[1]) ? av[1] : av[0];
        return 0;
    case F_PRINTF:
    case F_PRINT: {
        ig_buf b;
        ig_buf_init(&b, OUT_CAP);
        if (f->id == F_PRINTF) {
            rc = go_printf(x, s0, av + 1, n - 1, &b);
        } else {
            for (size_t i = 0; i < n && rc == 0; i++) {
                if (i > 0 && av[i].t != V_STR && av[i - 1].t != V_STR)
                    rc = ig_buf_putc(&b, ' ');
                rc = rc ? rc : v_print(&b, &av[i]);
            }
        }
        if (rc == 0)
            out->s = s_dup(x, b.data ? b.data : "", b.len);
        ig_buf_free(&b);
        return rc ? rc : (out->s.ptr ? 0 : IG_ENOMEM);
    }
    case F_LEN:
        *out = (tv){.t = V_INT, .i = (int64_t)s0.len};
        return 0;
    case F_CONTAINS:
        *out =
            (tv){.t = V_BOOL,
                 .b = s0.len == 0 || (s1.len >= s0.len && memmem(s1.ptr, s1.len, s0.ptr, s0.len))};
        return 0;
    case F_HASPREFIX:
        *out = (tv){.t = V_BOOL, .b = ig_str_has_prefix(s1, s0)};
        return 0;
    case F_HASSUFFIX:
        *out = (tv){.t = V_BOOL,
                    .b = s1.len >= s0.len && memcmp(s1.ptr + s1.len - s0.len, s0.ptr, s0.len) == 0};
        return 0;
    case F_LINE:
        *out = v_str(x->line);
        return 0;
    case F_TIMESTAMP:
        *out = (tv){.t = V_TIME, .i = x->ts};
        return 0;
    case F_UNIXEPOCH:
    case F_UNIXEPOCH_MS:
    case F_UNIXEPOCH_NS: {
        if (av[0].t != V_TIME)
            return xerr(x, "error calling %s: wrong type for value; expected time.Time", f->name);
        int64_t ns = av[0].i, d = f->id == F_UNIXEPOCH      ? 1000000000
                                  : f->id == F_UNIXEPOCH_MS ? 1000000
                                                            : 1;
        int64_t q = ns / d;
        if (ns % d < 0)
            q--;
        *out = (tv){.t = V_INT, .i = q};
        return 0;
    }
    case F_EQ: {
        bool any = false;
        for (size_t i = 1; i < n && !any; i++) {
            int c;
            if ((rc = v_cmp(&av[0], &av[i], &c, x)))
                return rc;
            any = c == 0;
        }
        *out = (tv){.t = V_BOOL, .b = any};
        return 0;
    }
    case F_NE:
    case F_LT:
    case F_LE:
    case F_GT:
    case F_GE: {
        int c;
        if ((rc = v_cmp(&av[0], &av[1], &c, x)))
            return rc;
        bool r = f->id == F_NE   ? c != 0
                 : f->id == F_LT ? c < 0
                 : f->id == F_LE ? c <= 0
                 : f->id == F_GT ? c > 0
                                 : c >= 0;
        *out = (tv){.t = V_BOOL, .b = r};
        return 0;
    }
    case F_AND:
    case F_OR: {
        size_t i = 0;
        for (; i + 1 < n; i++)
            if (v_truth(&av[i]) == (f->id == F_OR))
                break;
        *out = av[i];
        return 0;
    }
    case F_NOT:
        *out = (tv){.t = V_BOOL, .b = !v_truth(&av[0])};
        return 0;
    case F_INT:
        *out = (tv){.t = V_INT, .i = v_int(&av[0])};
        return 0;
    case F_FLOAT64:
        *out = (tv){.t = V_FLOAT, .f = v_float(&av[0])};
        return 0;
    case F_ADD:
    case F_MUL:
    case F_MAX:
    case F_MIN: {
        int64_t acc = v_int(&av[0]);
        for (size_t i = 1; i < n; i++) {
            int64_t v = v_int(&av[i]);
            acc = f->id == F_ADD   ? acc + v
                  : f->id == F_MUL ? acc * v
                  : f->id == F_MAX ? (v > acc ? v : acc)
                                   : (v < acc ? v : acc);
        }
        *out = (tv){.t = V_INT, .i = acc};
        return 0;
    }
    case F_SUB:
        *out = (tv){.t = V_INT, .i = v_int(&av[0]) - v_int(&av[1])};
        return 0;
    case F_DIV:
    case F_MOD: {
        int64_t d = v_int(&av[1]);
        if (d == 0)
            return xerr(x, "error calling %s: integer divide by zero", f->name);
        *out = (tv){.t = V_INT, .i = f->id == F_DIV ? v_int(&av[0]) / d : v_int(&av[0]) % d};
        return 0;
    }
    case F_ADDF:
    case F_SUBF:
    case F_MULF:
    case F_DIVF:
    case F_MAXF:
    case F_MINF: {
        double acc = v_float(&av[0]);
        for (size_t i = 1; i < n; i++) {
            double v = v_float(&av[i]);
            acc = f->id == F_ADDF   ? acc + v
                  : f->id == F_SUBF ? acc - v
                  : f->id == F_MULF ? acc * v
                  : f->id == F_DIVF ? acc / v
                  : f->id == F_MAXF ? fmax(acc, v)
                                    : fmin(acc, v);
        }
        *out = (tv){.t = V_FLOAT, .f = acc};
        return 0;
    }
    case F_CEIL:
        *out = (tv){.t = V_FLOAT, .f = ceil(v_float(&av[0]))};
        return 0;
    case F_FLOOR:
        *out = (tv){.t = V_FLOAT, .f = floor(v_float(&av[0]))};
        return 0;
    case F_ROUND: {
        double v = v_float(&av[0]), p = pow(10, (double)v_int(&av[1]));
        *out = (tv){.t = V_FLOAT, .f = round(v * p) / p};
        return 0;
    }
    case F_REPEAT: {
        int64_t c = v_int(&av[0]);
        if (c < 0 || (s1.len && (uint64_t)c > OUT_CAP / s1.len))
            return xerr(x, "error calling %s: repeat count out of range", "repeat");
        char *o = ig_arena_alloc(x->a, (size_t)c * s1.len + 1);
        if (!o)
            return IG_ENOMEM;
        for (int64_t i = 0; i < c; i++)
            memcpy(o + (size_t)i * s1.len, s1.ptr, s1.len);
        *out = v_str((ig_str){o, (size_t)c * s1.len});
        return 0;
    }
    case F_SUBSTR: {
        int64_t st = v_int(&av[0]), en = v_int(&av[1]);
        ig_str s = s2;
        if (st < 0)
            *out = v_str((ig_str){s.ptr, en < 0 || (size_t)en > s.len ? s.len : (size_t)en});
        else if (en < 0 || (size_t)en > s.len)
            *out =
                v_str((size_t)st > s.len ? IG_STR("") : (ig_str){s.ptr + st, s.len - (size_t)st});
        else if (st > en)
            *out = v_str(IG_STR(""));
        else
            *out = v_str((ig_str){s.ptr + st, (size_t)(en - st)});
        return 0;
    }
    case F_TRUNC: {
        int64_t c = v_int(&av[0]);
        ig_str s = s1;
        if (c < 0 && (size_t)(-c) < s.len)
            *out = v_str((ig_str){s.ptr + s.len + c, (size_t)(-c)});
        else if (c >= 0 && (size_t)c < s.len)
            *out = v_str((ig_str){s.ptr, (size_t)c});
        else
            *out = v_str(s);
        return 0;
    }
    case F_ALIGNLEFT:
    case F_ALIGNRIGHT: {
        int64_t c = v_int(&av[0]);
        ig_str s = s1;
        if (c < 0 || c > OUT_CAP)
            return xerr(x, "error calling %s: bad count", f->name);
        if ((size_t)c <= s.len) {
            *out = v_str(f->id == F_ALIGNLEFT ? (ig_str){s.ptr, (size_t)c}
                                              : (ig_str){s.ptr + s.len - (size_t)c, (size_t)c});
            return 0;
        }
        char *o = ig_arena_alloc(x->a, (size_t)c);
        if (!o)
            return IG_ENOMEM;
        size_t pad = (size_t)c - s.len;
        if (f->id == F_ALIGNLEFT) {
            memcpy(o, s.ptr, s.len);
            memset(o + s.len, ' ', pad);
        } else {
            memset(o, ' ', pad);
            memcpy(o + pad, s.ptr, s.len);
        }
        *out = v_str((ig_str){o, (size_t)c});
        return 0;
    }
    case F_B64ENC: {
        ig_buf b;
        ig_buf_init(&b, OUT_CAP);
        rc = json_b64_encode(&b, s0);
        if (rc == 0)
            out->s = s_dup(x, b.data ? b.data : "", b.len);
        ig_buf_free(&b);
        return rc;
    }
    case F_B64DEC: {
        char *o = ig_arena_alloc(x->a, s0.len + 1);
        size_t on = 0;
        if (!o)
            return IG_ENOMEM;
        if (json_b64_decode(s0, o, s0.len + 1, &on, NULL) != 0)
            return xerr(x, "error calling %s: illegal base64 data", "b64dec");
        *out = v_str((ig_str){o, on});
        return 0;
    }
    case F_URLENCODE: {
        ig_buf b;
        ig_buf_init(&b, OUT_CAP);
        for (size_t i = 0; i < s0.len && rc == 0; i++) {
            unsigned char c = (unsigned char)s0.ptr[i];
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~')
                rc = ig_buf_putc(&b, (char)c);
            else if (c == ' ')
                rc = ig_buf_putc(&b, '+');
            else
                rc = ig_buf_printf(&b, "%%%02X", c);
        }
        if (rc == 0)
            out->s = s_dup(x, b.data ? b.data : "", b.len);
        ig_buf_free(&b);
        return rc;
    }
    case F_DATE: {
        int64_t t;
        if (av[1].t == V_TIME)
            t = av[1].i;
        else if (av[1].t == V_INT)
            t = av[1].i * 1000000000;
        else
            return xerr(x, "error calling %s: wrong type for value; expected time.Time", "date");
        ig_buf b;
        ig_buf_init(&b, OUT_CAP);
        rc = go_time_format(&b, s0, t);
        if (rc == 0)
            out->s = s_dup(x, b.data ? b.data : "", b.len);
        ig_buf_free(&b);
        return rc ? rc : (out->s.ptr ? 0 : IG_ENOMEM);
    }
    case F_UNIXTOTIME: {
        int64_t e;
        if (ig_str_to_i64(s0, &e) != 0)
            return xerr(x, "error calling unixToTime: unable to parse time '%s'",
                        ig_arena_cstr(x->a, s0));
        int64_t mul = s0.len == 5    ? 86400LL * 1000000000
                      : s0.len == 10 ? 1000000000
                      : s0.len == 13 ? 1000000
                      : s0.len == 16 ? 1000
                      : s0.len == 19 ? 1
                                     : 0;
        if (!mul || (mul > 1 && (e > INT64_MAX / mul || e < INT64_MIN / mul)))
            return xerr(x, "error calling unixToTime: unable to parse time '%s'",
                        ig_arena_cstr(x->a, s0));
        *out = (tv){.t = V_TIME, .i = e * mul};
        return 0;
    }
    case F_NOW: {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        *out = (tv){.t = V_TIME, .i = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec};
        return 0;
    }
    case F_DURATION: {
        double d;
        if (lq__parse_go_duration(s0, &d) != 0)
            return xerr(x, "error calling duration: time: invalid duration \"%s\"",
                        ig_arena_cstr(x->a, s0));
        *out = (tv){.t = V_FLOAT, .f = d / 1e9};
        return 0;
    }
    case F_BYTES: {
        double d;
        if (lq__parse_bytes(s0, &d) != 0)
            return xerr(x,
                        "error calling bytes: strconv.ParseFloat: parsing \"%s\": invalid syntax",
                        ig_arena_cstr(x->a, s0));
        *out = (tv){.t = V_FLOAT, .f = d};
        return 0;
    }
    case F_URLDECODE:
        out->s = ig_http_urldecode(x->a, s0, true);
        return out->s.ptr ? 0 : IG_ENOMEM;
    default:
        break;
    }
    return xerr(x, "function %s is not supported", f->name);
}

static int eval_cmd(tx *x, const tcmd *c, const tv *piped, tv *out)
{
    if (c->args[0].kind != A_FUNC)
        return eval_arg(x, &c->args[0], out);
    tv av[20];
    size_t n = 0;
    for (size_t i = 1; i < c->n && n < 19; i++) {
        int rc = eval_arg(x, &c->args[i], &av[n]);
        if (rc)
            return rc;
        n++;
    }
    if (piped)
        av[n++] = *piped;
    return call(x, &c->args[0], av, n, out);
}

static int eval_pipe(tx *x, const tpipe *p, tv *out)
{
    tv cur = {.t = V_NIL};
    for (size_t i = 0; i < p->n; i++) {
        tv nx;
        int rc = eval_cmd(x, &p->cmds[i], i ? &cur : NULL, &nx);
        if (rc)
            return rc;
        cur = nx;
    }
    *out = cur;
    return 0;
}

static int exec_list(tx *x, const tnode *n, ig_buf *b)
{
    for (; n; n = n->next) {
        int rc = 0;
        if (n->kind == N_TEXT) {
            rc = ig_buf_append_str(b, n->text);
        } else if (n->kind == N_ACTION) {
            tv v;
            rc = eval_pipe(x, n->pipe, &v);
            if (rc == 0 && v.t != V_NIL)
                rc = v_print(b, &v);
            else if (rc == 0)
                rc = ig_buf_append_cstr(b, "<no value>");
        } else {
            tv v;
            rc = eval_pipe(x, n->pipe, &v);
            if (rc == 0)
                rc = exec_list(x, v_truth(&v) ? n->then : n->els, b);
        }
        if (rc == IG_ETOOBIG)
            return ig_err(x->eb, IG_EINVAL, "template output too large");
        if (rc)
            return rc;
    }
    return 0;
}

int lq__tmpl_exec(const lq_tmpl *t, const lq_lb *labels, ig_str line, int64_t ts_ns,
                  ig_arena *scratch, ig_str *out, ig_errbuf *eb)
{
    tx x = {labels, line, ts_ns, scratch, eb};
    ig_buf b;
    ig_buf_init(&b, OUT_CAP);
    int rc = exec_list(&x, t->root, &b);
    if (rc == 0) {
        *out = ig_arena_strdup(scratch, ig_buf_str(&b));
        if (!out->ptr)
            *out = b.len ? IG_STR_NULL : IG_STR("");
        if (!out->ptr)
            rc = IG_ENOMEM;
    }
    ig_buf_free(&b);
    return rc;
}
