/* LogQL printer: Loki's String() form of a parsed expression (what
 * /loki/api/v1/format_query returns). Strings are Go-quoted (strconv.Quote), numbers use
 * the shortest round-trip decimal (strconv.FormatFloat 'f', -1), ranges and offsets are
 * Prometheus durations, binary operations are parenthesised. Label-filter durations and
 * byte sizes are printed as written. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/time.h"
#include "query/logql/logql_int.h"

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Go strconv.Quote (approximation: every valid non-ASCII rune is treated as printable,
 * except U+0080..U+009F, U+FEFF and U+FFFD which Go escapes as \u). */
static int put_quoted(ig_buf *b, ig_str s)
{
    int rc = ig_buf_putc(b, '"');
    const unsigned char *u = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len && rc == 0;) {
        unsigned c = u[i];
        if (c >= 0x80) {
            size_t l = utf8_len(u + i, s.len - i);
            if (l == 0) {
                rc = ig_buf_printf(b, "\\x%02x", c);
                i++;
                continue;
            }
            uint32_t cp = l == 2 ? ((c & 0x1Fu) << 6) | (u[i + 1] & 0x3Fu) : 0;
            if (l == 2 && cp < 0xA0) {
                rc = ig_buf_printf(b, "\\u%04x", (unsigned)cp);
            } else if (l == 3 && ((c == 0xEF && u[i + 1] == 0xBB && u[i + 2] == 0xBF) ||
                                  (c == 0xEF && u[i + 1] == 0xBF && u[i + 2] == 0xBD))) {
                rc = ig_buf_append_cstr(b, u[i + 1] == 0xBB ? "\\ufeff" : "\\ufffd");
            } else {
                rc = ig_buf_append(b, u + i, l);
            }
            i += l;
            continue;
        }
        switch (c) {
        case '"':
            rc = ig_buf_append_cstr(b, "\\\"");
            break;
        case '\\':
            rc = ig_buf_append_cstr(b, "\\\\");
            break;
        case '\a':
            rc = ig_buf_append_cstr(b, "\\a");
            break;
        case '\b':
            rc = ig_buf_append_cstr(b, "\\b");
            break;
        case '\f':
            rc = ig_buf_append_cstr(b, "\\f");
            break;
        case '\n':
            rc = ig_buf_append_cstr(b, "\\n");
            break;
        case '\r':
            rc = ig_buf_append_cstr(b, "\\r");
            break;
        case '\t':
            rc = ig_buf_append_cstr(b, "\\t");
            break;
        case '\v':
            rc = ig_buf_append_cstr(b, "\\v");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                rc = ig_buf_printf(b, "\\x%02x", c);
            else
                rc = ig_buf_putc(b, (char)c);
        }
        i++;
    }
    if (rc == 0)
        rc = ig_buf_putc(b, '"');
    return rc;
}

/* strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, no exponent. */
static int put_float(ig_buf *b, double v)
{
    if (isnan(v))
        return ig_buf_append_cstr(b, "NaN");
    if (isinf(v))
        return ig_buf_append_cstr(b, v > 0 ? "+Inf" : "-Inf");
    char tmp[64];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    if (prec > 17)
        prec = 17;
    const char *e = strchr(tmp, 'e');
    int exp10 = e ? (int)strtol(e + 1, NULL, 10) : 0;
    int decimals = (prec - 1) - exp10;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 400)
        decimals = 400;
    return ig_buf_printf(b, "%.*f", decimals, v);
}

/* fmt.Sprint(float64) (Go %v = strconv 'g', -1): shortest digits, %e form when the
 * decimal exponent is < -4 or >= 6, e.g. 1e+06, 1e-05, 123456, 1.5. */
static int put_float_g(ig_buf *b, double v)
{
    if (isnan(v) || isinf(v))
        return put_float(b, v);
    char tmp[64];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    if (prec > 17)
        prec = 17;
    const char *e = strchr(tmp, 'e');
    int exp10 = e ? (int)strtol(e + 1, NULL, 10) : 0;
    if (exp10 < -4 || exp10 >= 6) {
        /* Go writes at least two exponent digits: 1e+21, 1e-05 */
        char mant[40];
        size_t ml = (size_t)(e - tmp);
        if (ml >= sizeof(mant))
            ml = sizeof(mant) - 1;
        memcpy(mant, tmp, ml);
        mant[ml] = 0;
        return ig_buf_printf(b, "%se%c%02d", mant, exp10 < 0 ? '-' : '+',
                             exp10 < 0 ? -exp10 : exp10);
    }
    return put_float(b, v);
}

/* Go time.Duration.String(): "1h30m0s", "5m0s", "1.5s", "250ms", "0s". */
static int put_go_duration(ig_buf *b, int64_t ns)
{
    char tmp[48];
    size_t n = 0;
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    const char *sign = ns < 0 ? "-" : "";
    if (u == 0)
        return ig_buf_append_cstr(b, "0s");
    if (u < 1000000000ULL) {
        uint64_t div;
        if (u < 1000ULL)
            return ig_buf_printf(b, "%s%lluns", sign, (unsigned long long)u);
        div = u < 1000000ULL ? 1000ULL : 1000000ULL;
        uint64_t whole = u / div, frac = u % div;
        n = (size_t)snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)whole);
        if (frac) {
            char f[16];
            int digits = div == 1000ULL ? 3 : 6;
            snprintf(f, sizeof(f), "%0*llu", digits, (unsigned long long)frac);
            int l = digits;
            while (l > 0 && f[l - 1] == '0')
                l--;
            f[l] = 0;
            n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, ".%s", f);
        }
        return ig_buf_printf(b, "%s%.*s%s", sign, (int)n, tmp, div == 1000ULL ? "\xc2\xb5s" : "ms");
    }
    uint64_t secs = u / 1000000000ULL, frac = u % 1000000000ULL;
    uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
    int rc = ig_buf_append_cstr(b, sign);
    if (!rc && h)
        rc = ig_buf_printf(b, "%lluh", (unsigned long long)h);
    if (!rc && (h || m))
        rc = ig_buf_printf(b, "%llum", (unsigned long long)m);
    if (!rc)
        rc = ig_buf_printf(b, "%llu", (unsigned long long)s);
    if (!rc && frac) {
        char f[16];
        snprintf(f, sizeof(f), "%09llu", (unsigned long long)frac);
        int l = 9;
        while (l > 0 && f[l - 1] == '0')
            l--;
        f[l] = 0;
        rc = ig_buf_printf(b, ".%s", f);
    }
    return rc ? rc : ig_buf_putc(b, 's');
}

/* go-humanize Bytes() with the space removed, as Loki prints byte label filters:
 * "20MB", "1.0kB", "5B". */
static int put_humanize_bytes(ig_buf *b, uint64_t v)
{
    static const char *const sizes[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    if (v < 10)
        return ig_buf_printf(b, "%lluB", (unsigned long long)v);
    double e = floor(log((double)v) / log(1000.0));
    if (e > 6)
        e = 6;
    double val = floor((double)v / pow(1000.0, e) * 10 + 0.5) / 10;
    if (val < 10)
        return ig_buf_printf(b, "%.1f%s", val, sizes[(int)e]);
    return ig_buf_printf(b, "%.0f%s", val, sizes[(int)e]);
}

static int put_duration(ig_buf *b, int64_t ns)
{
    char tmp[40];
    size_t n = ig_duration_format(ns, tmp, sizeof(tmp));
    return ig_buf_append(b, tmp, n);
}

static const char *match_op_str(logql_match_op op)
{
    switch (op) {
    case LOGQL_MATCH_EQ:
        return "=";
    case LOGQL_MATCH_NEQ:
        return "!=";
    case LOGQL_MATCH_RE:
        return "=~";
    case LOGQL_MATCH_NRE:
        return "!~";
    }
    return "?";
}

static int put_matcher(ig_buf *b, const logql_matcher *m)
{
    int rc = ig_buf_append_str(b, m->name);
    if (!rc)
        rc = ig_buf_append_cstr(b, match_op_str(m->op));
    if (!rc)
        rc = put_quoted(b, m->value);
    return rc;
}

static const char *cmp_str(logql_cmp_op op)
{
    static const char *const s[] = {"==", "!=", ">", ">=", "<", "<="};
    return s[op];
}

static int put_label_filter(ig_buf *b, const logql_label_filter *f, int depth)
{
    int rc = 0;
    if (depth > LOGQL_MAX_DEPTH * 4)
        return IG_ETOOBIG;
    switch (f->kind) {
    case LOGQL_LF_STRING:
        return put_matcher(b, &f->m);
    case LOGQL_LF_IP:
        rc = ig_buf_printf(b, "%.*s%s", (int)f->m.name.len, f->m.name.ptr, match_op_str(f->m.op));
        if (!rc)
            rc = ig_buf_append_cstr(b, "ip(");
        if (!rc)
            rc = put_quoted(b, f->m.value);
        if (!rc)
            rc = ig_buf_putc(b, ')');
        return rc;
    case LOGQL_LF_NUMBER:
        rc = ig_buf_printf(b, "%.*s%s", (int)f->m.name.len, f->m.name.ptr, cmp_str(f->cmp));
        return rc ? rc : put_float(b, f->number);
    case LOGQL_LF_DURATION:
        rc = ig_buf_printf(b, "%.*s%s", (int)f->m.name.len, f->m.name.ptr, cmp_str(f->cmp));
        return rc ? rc : put_go_duration(b, f->duration_ns);
    case LOGQL_LF_BYTES: {
        rc = ig_buf_printf(b, "%.*s%s", (int)f->m.name.len, f->m.name.ptr, cmp_str(f->cmp));
        if (rc)
            return rc;
        /* Loki prints humanize.Bytes (rounded to 2-3 digits); keep that only when it
         * denotes the same value, else the literal as written, so printing never
         * changes the meaning of a query. */
        ig_buf h;
        ig_buf_init(&h, 64);
        uint64_t back = 0;
        rc = put_humanize_bytes(&h, f->bytes);
        if (rc == 0 && logql__parse_bytes(ig_buf_str(&h), &back) == 0 && back == f->bytes)
            rc = ig_buf_append_str(b, ig_buf_str(&h));
        else if (rc == 0)
            rc = ig_buf_append_str(b, f->literal);
        ig_buf_free(&h);
        return rc;
    }
    case LOGQL_LF_AND:
    case LOGQL_LF_OR:
        rc = ig_buf_append_cstr(b, "( ");
        if (!rc)
            rc = put_label_filter(b, f->left, depth + 1);
        if (!rc)
            rc = ig_buf_append_cstr(b, f->kind == LOGQL_LF_AND ? " , " : " or ");
        if (!rc)
            rc = put_label_filter(b, f->right, depth + 1);
        if (!rc)
            rc = ig_buf_append_cstr(b, " )");
        return rc;
    }
    return IG_EINTERNAL;
}

static const char *line_op_str(logql_line_op op)
{
    static const char *const s[] = {"|=", "!=", "|~", "!~", "|>", "!>"};
    return s[op];
}

static int put_params(ig_buf *b, const logql_param *ps, size_t n)
{
    int rc = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        rc = ig_buf_append_cstr(b, k ? "," : " ");
        if (!rc)
            rc = ig_buf_append_str(b, ps[k].name);
        if (!rc) { /* Loki prints every parameter as name="expr" */
            rc = ig_buf_putc(b, '=');
            if (!rc)
                rc = put_quoted(b, ps[k].expr);
        }
    }
    return rc;
}

static int put_stage(ig_buf *b, const logql_stage *st)
{
    int rc = 0;
    switch (st->kind) {
    case LOGQL_STAGE_LINE_FILTER:
        rc = ig_buf_append_cstr(b, line_op_str(st->line_op));
        for (size_t k = 0; k < st->n_operands && !rc; k++) {
            rc = ig_buf_append_cstr(b, k ? " or " : " ");
            if (!rc && st->operands[k].ip)
                rc = ig_buf_append_cstr(b, "ip(");
            if (!rc)
                rc = put_quoted(b, st->operands[k].value);
            if (!rc && st->operands[k].ip)
                rc = ig_buf_putc(b, ')');
        }
        return rc;
    case LOGQL_STAGE_JSON:
        rc = ig_buf_append_cstr(b, "| json");
        return rc ? rc : put_params(b, st->params, st->n_params);
    case LOGQL_STAGE_LOGFMT:
        rc = ig_buf_append_cstr(b, "| logfmt");
        if (!rc && st->strict)
            rc = ig_buf_append_cstr(b, " --strict");
        if (!rc && st->keep_empty)
            rc = ig_buf_append_cstr(b, " --keep-empty");
        return rc ? rc : put_params(b, st->params, st->n_params);
    case LOGQL_STAGE_REGEXP:
    case LOGQL_STAGE_PATTERN:
    case LOGQL_STAGE_LINE_FORMAT:
        rc = ig_buf_append_cstr(b, st->kind == LOGQL_STAGE_REGEXP    ? "| regexp "
                                   : st->kind == LOGQL_STAGE_PATTERN ? "| pattern "
                                                                     : "| line_format ");
        return rc ? rc : put_quoted(b, st->str);
    case LOGQL_STAGE_UNPACK:
        return ig_buf_append_cstr(b, "| unpack");
    case LOGQL_STAGE_DECOLORIZE:
        return ig_buf_append_cstr(b, "| decolorize");
    case LOGQL_STAGE_LABEL_FILTER:
        rc = ig_buf_append_cstr(b, "| ");
        return rc ? rc : put_label_filter(b, st->filter, 0);
    case LOGQL_STAGE_LABEL_FORMAT:
        rc = ig_buf_append_cstr(b, "| label_format ");
        for (size_t k = 0; k < st->n_fmts && !rc; k++) {
            if (k)
                rc = ig_buf_putc(b, ',');
            if (!rc)
                rc = ig_buf_append_str(b, st->fmts[k].dst);
            if (!rc)
                rc = ig_buf_putc(b, '=');
            if (!rc)
                rc = st->fmts[k].rename ? ig_buf_append_str(b, st->fmts[k].value)
                                        : put_quoted(b, st->fmts[k].value);
        }
        return rc;
    case LOGQL_STAGE_DROP:
    case LOGQL_STAGE_KEEP:
        rc = ig_buf_append_cstr(b, st->kind == LOGQL_STAGE_DROP ? "| drop " : "| keep ");
        for (size_t k = 0; k < st->n_names && !rc; k++) {
            if (k)
                rc = ig_buf_putc(b, ',');
            if (!rc)
                rc = st->names[k].has_matcher ? put_matcher(b, &st->names[k].m)
                                              : ig_buf_append_str(b, st->names[k].m.name);
        }
        return rc;
    }
    return IG_EINTERNAL;
}

static int put_log(ig_buf *b, const logql_log *l)
{
    int rc = ig_buf_putc(b, '{');
    for (size_t k = 0; k < l->n_matchers && !rc; k++) {
        if (k)
            rc = ig_buf_append_cstr(b, ", ");
        if (!rc)
            rc = put_matcher(b, &l->matchers[k]);
    }
    if (!rc)
        rc = ig_buf_putc(b, '}');
    for (size_t k = 0; k < l->n_stages && !rc; k++) {
        rc = ig_buf_putc(b, ' ');
        if (!rc)
            rc = put_stage(b, &l->stages[k]);
    }
    if (!rc && l->unwrap) {
        static const char *const conv[] = {"", "duration", "duration_seconds", "bytes"};
        const logql_unwrap *u = l->unwrap;
        if (u->conv == LOGQL_UNWRAP_NONE)
            rc = ig_buf_printf(b, " | unwrap %.*s", (int)u->label.len, u->label.ptr);
        else
            rc = ig_buf_printf(b, " | unwrap %s(%.*s)", conv[u->conv], (int)u->label.len,
                               u->label.ptr);
        for (size_t k = 0; k < u->n_post && !rc; k++) {
            rc = ig_buf_putc(b, ' ');
            if (!rc)
                rc = put_stage(b, &u->post[k]);
        }
    }
    return rc;
}

static int put_labels(ig_buf *b, const ig_str *ls, size_t n)
{
    int rc = ig_buf_putc(b, '(');
    for (size_t k = 0; k < n && !rc; k++) {
        if (k)
            rc = ig_buf_putc(b, ',');
        if (!rc)
            rc = ig_buf_append_str(b, ls[k]);
    }
    return rc ? rc : ig_buf_putc(b, ')');
}

static int put_grouping(ig_buf *b, const logql_grouping *g)
{
    if (!g->present)
        return 0;
    int rc = ig_buf_append_cstr(b, g->without ? " without " : " by ");
    return rc ? rc : put_labels(b, g->labels, g->n_labels);
}

static int put_expr(ig_buf *b, const logql_expr *e, int depth)
{
    int rc = 0;
    if (depth > LOGQL_MAX_DEPTH * 4)
        return IG_ETOOBIG;
    switch (e->kind) {
    case LOGQL_EXPR_LOG:
        return put_log(b, &e->u.log);
    case LOGQL_EXPR_RANGE_AGG:
        rc = ig_buf_printf(b, "%s(", logql_range_op_name(e->u.range.op));
        if (!rc && e->u.range.has_param) {
            rc = put_float(b, e->u.range.param);
            if (!rc)
                rc = ig_buf_putc(b, ',');
        }
        if (!rc)
            rc = put_log(b, &e->u.range.log);
        if (!rc)
            rc = ig_buf_putc(b, '[');
        if (!rc)
            rc = put_duration(b, e->u.range.range_ns);
        if (!rc)
            rc = ig_buf_putc(b, ']');
        if (!rc && e->u.range.offset_ns) {
            rc = ig_buf_append_cstr(b, " offset ");
            if (!rc)
                rc = put_go_duration(b, e->u.range.offset_ns);
        }
        if (!rc)
            rc = ig_buf_putc(b, ')');
        return rc ? rc : put_grouping(b, &e->u.range.grouping);
    case LOGQL_EXPR_VECTOR_AGG:
        rc = ig_buf_append_cstr(b, logql_vec_op_name(e->u.vec.op));
        /* `by ()` is the same as no grouping (Loki's Grouping.Singleton) */
        if (!rc && (e->u.vec.grouping.without || e->u.vec.grouping.n_labels))
            rc = put_grouping(b, &e->u.vec.grouping);
        if (!rc)
            rc = ig_buf_putc(b, '(');
        if (!rc && e->u.vec.has_param)
            rc = ig_buf_printf(b, "%lld,", (long long)e->u.vec.param);
        if (!rc)
            rc = put_expr(b, e->u.vec.arg, depth + 1);
        return rc ? rc : ig_buf_putc(b, ')');
    case LOGQL_EXPR_BINARY:
        rc = ig_buf_putc(b, '(');
        if (!rc)
            rc = put_expr(b, e->u.bin.lhs, depth + 1);
        if (!rc)
            rc = ig_buf_printf(b, " %s", logql_bin_op_name(e->u.bin.op));
        if (!rc && e->u.bin.return_bool)
            rc = ig_buf_append_cstr(b, " bool");
        if (!rc && e->u.bin.has_matching) {
            rc = ig_buf_append_cstr(b, e->u.bin.on ? " on " : " ignoring ");
            if (!rc)
                rc = put_labels(b, e->u.bin.match_labels, e->u.bin.n_match_labels);
            if (!rc && e->u.bin.group) {
                rc = ig_buf_append_cstr(b, e->u.bin.group == 1 ? " group_left" : " group_right");
                if (!rc && e->u.bin.n_include) {
                    rc = ig_buf_putc(b, ' ');
                    if (!rc)
                        rc = put_labels(b, e->u.bin.include, e->u.bin.n_include);
                }
            }
        }
        if (!rc)
            rc = ig_buf_putc(b, ' ');
        if (!rc)
            rc = put_expr(b, e->u.bin.rhs, depth + 1);
        return rc ? rc : ig_buf_putc(b, ')');
    case LOGQL_EXPR_LITERAL:
        return put_float_g(b, e->u.literal);
    case LOGQL_EXPR_VECTOR:
        rc = ig_buf_append_cstr(b, "vector(");
        if (!rc)
            rc = put_float_g(b, e->u.literal);
        return rc ? rc : ig_buf_putc(b, ')');
    case LOGQL_EXPR_LABEL_REPLACE: {
        rc = ig_buf_append_cstr(b, "label_replace(");
        if (!rc)
            rc = put_expr(b, e->u.lrep.arg, depth + 1);
        const ig_str *args[4] = {&e->u.lrep.dst, &e->u.lrep.replacement, &e->u.lrep.src,
                                 &e->u.lrep.regex};
        for (int k = 0; k < 4 && !rc; k++) {
            rc = ig_buf_putc(b, ',');
            if (!rc)
                rc = put_quoted(b, *args[k]);
        }
        return rc ? rc : ig_buf_putc(b, ')');
    }
    }
    return IG_EINTERNAL;
}

int logql_print(const logql_expr *e, ig_buf *b)
{
    return put_expr(b, e, 0);
}
