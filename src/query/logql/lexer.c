/* LogQL lexer: the whole query becomes an arena array of tokens up front, so the parser
 * can look ahead freely. Strings are decoded (Go escapes; backtick strings raw), `#`
 * comments run to the end of the line, `[...]` becomes one RANGE token, and a token
 * starting with a digit is a NUMBER, a DURATION (`1h30m`) or BYTES (`20MB`). */
#include <stdio.h>
#include <string.h>

#include "query/logql/logql_int.h"

typedef struct lexer {
    ig_str q;
    size_t pos;
    int line;
    size_t line_start;
    ig_arena *a;
    ig_errbuf *eb;
} lexer;

const char *logql__tok_name(logql__tok_kind k)
{
    static const char *const names[] = {"end of input",
                                        "IDENTIFIER",
                                        "STRING",
                                        "NUMBER",
                                        "DURATION",
                                        "BYTES",
                                        "RANGE",
                                        "FLAG",
                                        "{",
                                        "}",
                                        "(",
                                        ")",
                                        ",",
                                        "=",
                                        "!=",
                                        "=~",
                                        "!~",
                                        "==",
                                        ">",
                                        ">=",
                                        "<",
                                        "<=",
                                        "|",
                                        "|=",
                                        "|~",
                                        "|>",
                                        "!>",
                                        "+",
                                        "-",
                                        "*",
                                        "/",
                                        "%",
                                        "^"};
    if ((size_t)k < sizeof(names) / sizeof(names[0]))
        return names[k];
    return "?";
}

static int lex_err(lexer *lx, size_t at, const char *msg, ig_str detail)
{
    int col = (int)(at - lx->line_start) + 1;
    if (detail.ptr)
        return ig_err(lx->eb, IG_EINVAL, "parse error at line %d, col %d: %s %.*s", lx->line, col,
                      msg, (int)(detail.len > 64 ? 64 : detail.len), detail.ptr);
    return ig_err(lx->eb, IG_EINVAL, "parse error at line %d, col %d: %s", lx->line, col, msg);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Scans a string starting at lx->pos (the quote). Decoded value goes to t->text. */
static int lex_string(lexer *lx, logql__tok *t)
{
    const char *s = lx->q.ptr;
    size_t n = lx->q.len, start = lx->pos;
    char quote = s[start];
    size_t i = start + 1;
    /* decoded output is never longer than the raw text up to the closing quote */
    size_t end = i;
    while (end < n && s[end] != quote && (quote == '`' || s[end] != '\n'))
        end += (quote != '`' && s[end] == '\\' && end + 1 < n) ? 2 : 1;
    char *out = ig_arena_alloc(lx->a, end - start + 1);
    size_t o = 0;
    if (!out)
        return ig_err(lx->eb, IG_ENOMEM, "out of memory");
    for (;;) {
        if (i >= n)
            return lex_err(lx, start, "literal not terminated", IG_STR_NULL);
        char c = s[i];
        if (c == quote) {
            i++;
            break;
        }
        if (quote == '`') {
            if (c == '\n') {
                lx->line++;
                lx->line_start = i + 1;
            }
            out[o++] = c;
            i++;
            continue;
        }
        if (c == '\n')
            return lex_err(lx, start, "literal not terminated", IG_STR_NULL);
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        if (i + 1 >= n)
            return lex_err(lx, start, "literal not terminated", IG_STR_NULL);
        char e = s[i + 1];
        size_t esc_at = i;
        i += 2;
        switch (e) {
        case 'a':
            out[o++] = '\a';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'v':
            out[o++] = '\v';
            break;
        case '\\':
            out[o++] = '\\';
            break;
        case '"':
            out[o++] = '"';
            break;
        case '\'':
            out[o++] = '\'';
            break;
        case 'x': {
            int h1 = i < n ? hexval(s[i]) : -1, h2 = i + 1 < n ? hexval(s[i + 1]) : -1;
            if (h1 < 0 || h2 < 0)
                return lex_err(lx, esc_at, "invalid char escape", IG_STR_NULL);
            out[o++] = (char)(h1 * 16 + h2);
            i += 2;
            break;
        }
        case 'u':
        case 'U': {
            int digits = e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < digits; k++) {
                int h = i < n ? hexval(s[i]) : -1;
                if (h < 0)
                    return lex_err(lx, esc_at, "invalid char escape", IG_STR_NULL);
                cp = cp * 16 + (uint32_t)h;
                i++;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return lex_err(lx, esc_at, "invalid char escape", IG_STR_NULL);
            o += put_utf8(out + o, cp); /* at most 4 bytes for >= 6 raw bytes */
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                unsigned v = (unsigned)(e - '0');
                for (int k = 0; k < 2; k++) {
                    if (i >= n || s[i] < '0' || s[i] > '7')
                        return lex_err(lx, esc_at, "invalid char escape", IG_STR_NULL);
                    v = v * 8 + (unsigned)(s[i] - '0');
                    i++;
                }
                if (v > 255)
                    return lex_err(lx, esc_at, "invalid char escape", IG_STR_NULL);
                out[o++] = (char)v;
                break;
            }
            return lex_err(lx, esc_at, "invalid char escape", IG_STR_NULL);
        }
    }
    out[o] = 0;
    t->kind = LOGQL__T_STRING;
    t->text = ig_str_make(out, o);
    lx->pos = i;
    return 0;
}

int logql__parse_bytes(ig_str s, uint64_t *out)
{
    size_t i = 0;
    while (i < s.len && ((s.ptr[i] >= '0' && s.ptr[i] <= '9') || s.ptr[i] == '.'))
        i++;
    if (i == 0)
        return IG_EINVAL;
    double v;
    if (ig_str_to_f64(ig_str_make(s.ptr, i), &v) != 0 || v < 0)
        return IG_EINVAL;
    char unit[8];
    size_t ul = s.len - i;
    if (ul >= sizeof(unit))
        return IG_EINVAL;
    for (size_t k = 0; k < ul; k++) {
        char c = s.ptr[i + k];
        unit[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    unit[ul] = 0;
    static const struct {
        const char *u;
        double m;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"k", 1e3},
                 {"kb", 1e3},
                 {"ki", 1024.0},
                 {"kib", 1024.0},
                 {"m", 1e6},
                 {"mb", 1e6},
                 {"mi", 1048576.0},
                 {"mib", 1048576.0},
                 {"g", 1e9},
                 {"gb", 1e9},
                 {"gi", 1073741824.0},
                 {"gib", 1073741824.0},
                 {"t", 1e12},
                 {"tb", 1e12},
                 {"ti", 1099511627776.0},
                 {"tib", 1099511627776.0},
                 {"p", 1e15},
                 {"pb", 1e15},
                 {"pi", 1125899906842624.0},
                 {"pib", 1125899906842624.0},
                 {"e", 1e18},
                 {"eb", 1e18},
                 {"ei", 1152921504606846976.0},
                 {"eib", 1152921504606846976.0}};
    for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
        if (strcmp(units[k].u, unit) == 0) {
            double r = v * units[k].m;
            if (r >= 18446744073709551615.0)
                return IG_ERANGE;
            *out = (uint64_t)r;
            return 0;
        }
    }
    return IG_EINVAL;
}

/* Exact duration parser (integer arithmetic, so printing and re-parsing round-trips):
 * a sequence of <digits>[.<digits>]<unit>, units ns us µs ms s m h d w y. */
static int parse_duration_exact(ig_str s, int64_t *out)
{
    static const struct {
        const char *u;
        int64_t ns;
    } units[] = {{"ns", 1},
                 {"us", 1000},
                 {"\xc2\xb5s", 1000},
                 {"\xce\xbcs", 1000},
                 {"ms", 1000000},
                 {"s", 1000000000LL},
                 {"m", 60000000000LL},
                 {"h", 3600000000000LL},
                 {"d", 86400000000000LL},
                 {"w", 604800000000000LL},
                 {"y", 31536000000000000LL}};
    size_t i = 0;
    __int128 total = 0;
    if (s.len == 1 && s.ptr[0] == '0') {
        *out = 0;
        return 0;
    }
    if (s.len == 0)
        return IG_EINVAL;
    while (i < s.len) {
        __int128 whole = 0, frac = 0, scale = 1;
        size_t st = i;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            whole = whole * 10 + (s.ptr[i++] - '0');
            if (whole > (__int128)INT64_MAX)
                return IG_ERANGE;
        }
        size_t nd = i - st;
        if (i < s.len && s.ptr[i] == '.') {
            i++;
            size_t fs = i;
            while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
                if (i - fs < 18) {
                    frac = frac * 10 + (s.ptr[i] - '0');
                    scale *= 10;
                }
                i++;
            }
            nd += i - fs;
        }
        if (nd == 0)
            return IG_EINVAL;
        size_t us = i;
        while (i < s.len && !(s.ptr[i] >= '0' && s.ptr[i] <= '9') && s.ptr[i] != '.')
            i++;
        ig_str u = ig_str_make(s.ptr + us, i - us);
        int64_t mult = 0;
        for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
            if (ig_str_eq_cstr(u, units[k].u))
                mult = units[k].ns;
        if (mult == 0)
            return IG_EINVAL;
        total += whole * mult + frac * mult / scale;
        if (total > (__int128)INT64_MAX)
            return IG_ERANGE;
    }
    *out = (int64_t)total;
    return 0;
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int lex_numeric(lexer *lx, logql__tok *t)
{
    const char *s = lx->q.ptr;
    size_t n = lx->q.len, start = lx->pos, i = start;
    while (i < n) {
        char c = s[i];
        if (is_ident_char(c) || c == '.') {
            i++;
        } else if ((c == '+' || c == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E') && i + 1 < n &&
                   is_digit(s[i + 1])) {
            /* exponent sign, only when everything before is a plain mantissa */
            bool mantissa = true;
            for (size_t k = start; k < i - 1; k++)
                if (!is_digit(s[k]) && s[k] != '.')
                    mantissa = false;
            if (!mantissa)
                break;
            i++;
        } else if ((unsigned char)c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xB5) {
            i += 2; /* µ */
        } else {
            break;
        }
    }
    ig_str txt = ig_str_make(s + start, i - start);
    t->text = txt;
    lx->pos = i;
    bool plain = true;
    for (size_t k = 0; k < txt.len; k++) {
        char c = txt.ptr[k];
        if (!is_digit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-')
            plain = false;
    }
    if (plain) {
        if (ig_str_to_f64(txt, &t->num) == 0) {
            t->kind = LOGQL__T_NUMBER;
            return 0;
        }
        return lex_err(lx, start, "invalid number", txt);
    }
    if (parse_duration_exact(txt, &t->dur) == 0) {
        t->kind = LOGQL__T_DURATION;
        return 0;
    }
    if (logql__parse_bytes(txt, &t->bytes) == 0) {
        t->kind = LOGQL__T_BYTES;
        return 0;
    }
    size_t u = 0;
    while (u < txt.len && (is_digit(txt.ptr[u]) || txt.ptr[u] == '.'))
        u++;
    int col = (int)(start - lx->line_start) + 1;
    return ig_err(lx->eb, IG_EINVAL,
                  "parse error at line %d, col %d: unknown unit \"%.*s\" in duration \"%.*s\"",
                  lx->line, col, (int)(txt.len - u), txt.ptr + u, (int)txt.len, txt.ptr);
}

static int lex_range(lexer *lx, logql__tok *t)
{
    const char *s = lx->q.ptr;
    size_t n = lx->q.len, start = lx->pos, i = start + 1;
    while (i < n && s[i] != ']' && s[i] != '\n')
        i++;
    if (i >= n || s[i] != ']')
        return lex_err(lx, start, "syntax error: unclosed range", IG_STR_NULL);
    ig_str inner = ig_str_trim(ig_str_make(s + start + 1, i - start - 1));
    t->kind = LOGQL__T_RANGE;
    t->text = inner;
    lx->pos = i + 1;
    if (parse_duration_exact(inner, &t->dur) != 0 || t->dur <= 0) {
        size_t u = 0;
        while (u < inner.len && (is_digit(inner.ptr[u]) || inner.ptr[u] == '.'))
            u++;
        int col = (int)(start - lx->line_start) + 2;
        if (u > 0 && u < inner.len)
            return ig_err(lx->eb, IG_EINVAL,
                          "parse error at line %d, col %d: unknown unit \"%.*s\" in duration "
                          "\"%.*s\"",
                          lx->line, col, (int)(inner.len - u), inner.ptr + u, (int)inner.len,
                          inner.ptr);
        return ig_err(lx->eb, IG_EINVAL,
                      "parse error at line %d, col %d: invalid duration \"%.*s\"", lx->line, col,
                      (int)(inner.len > 64 ? 64 : inner.len), inner.ptr);
    }
    return 0;
}

int logql__lex(ig_str q, ig_arena *a, logql__tok **toks, size_t *ntoks, ig_errbuf *eb)
{
    lexer lx = {.q = q, .pos = 0, .line = 1, .line_start = 0, .a = a, .eb = eb};
    /* every token but EOF spans at least one byte: len + 1 slots never need to grow */
    size_t cap = q.len + 1, n = 0;
    logql__tok *arr = ig_arena_alloc(a, cap * sizeof(*arr));
    if (!arr)
        return ig_err(eb, IG_ENOMEM, "out of memory");
    const char *s = q.ptr;
    for (;;) {
        /* skip blanks and comments */
        while (lx.pos < q.len) {
            char c = s[lx.pos];
            if (c == '\n') {
                lx.pos++;
                lx.line++;
                lx.line_start = lx.pos;
            } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
                lx.pos++;
            } else if (c == '#') {
                while (lx.pos < q.len && s[lx.pos] != '\n')
                    lx.pos++;
            } else {
                break;
            }
        }
        if (n + 1 >= cap) {
            logql__tok *na = ig_arena_alloc(a, cap * 2 * sizeof(*arr));
            if (!na)
                return ig_err(eb, IG_ENOMEM, "out of memory");
            memcpy(na, arr, n * sizeof(*arr));
            arr = na;
            cap *= 2;
        }
        logql__tok *t = &arr[n];
        memset(t, 0, sizeof(*t));
        t->line = lx.line;
        t->col = (int)(lx.pos - lx.line_start) + 1;
        if (lx.pos >= q.len) {
            t->kind = LOGQL__T_EOF;
            t->text = ig_str_make(s + q.len, 0);
            n++;
            break;
        }
        size_t p = lx.pos;
        char c = s[p], c1 = p + 1 < q.len ? s[p + 1] : 0;
        int rc = 0;
        size_t len = 1;
        logql__tok_kind k = LOGQL__T_EOF;
        if (c == '"' || c == '`') {
            rc = lex_string(&lx, t);
        } else if (is_digit(c) || (c == '.' && is_digit(c1))) {
            rc = lex_numeric(&lx, t);
        } else if (is_ident_start(c)) {
            size_t i = p;
            while (i < q.len && is_ident_char(s[i]))
                i++;
            t->kind = LOGQL__T_IDENT;
            t->text = ig_str_make(s + p, i - p);
            lx.pos = i;
        } else if (c == '[') {
            rc = lex_range(&lx, t);
        } else if (c == '-' && c1 == '-' && p + 2 < q.len && is_ident_start(s[p + 2])) {
            size_t i = p + 2;
            while (i < q.len && (is_ident_char(s[i]) || s[i] == '-'))
                i++;
            t->kind = LOGQL__T_FLAG;
            t->text = ig_str_make(s + p, i - p);
            lx.pos = i;
        } else {
            switch (c) {
            case '{':
                k = LOGQL__T_LBRACE;
                break;
            case '}':
                k = LOGQL__T_RBRACE;
                break;
            case '(':
                k = LOGQL__T_LPAREN;
                break;
            case ')':
                k = LOGQL__T_RPAREN;
                break;
            case ',':
                k = LOGQL__T_COMMA;
                break;
            case '+':
                k = LOGQL__T_ADD;
                break;
            case '-':
                k = LOGQL__T_SUB;
                break;
            case '*':
                k = LOGQL__T_MUL;
                break;
            case '/':
                k = LOGQL__T_DIV;
                break;
            case '%':
                k = LOGQL__T_MOD;
                break;
            case '^':
                k = LOGQL__T_POW;
                break;
            case '=':
                if (c1 == '=') {
                    k = LOGQL__T_EQEQ;
                    len = 2;
                } else if (c1 == '~') {
                    k = LOGQL__T_RE;
                    len = 2;
                } else
                    k = LOGQL__T_EQ;
                break;
            case '!':
                if (c1 == '=') {
                    k = LOGQL__T_NEQ;
                    len = 2;
                } else if (c1 == '~') {
                    k = LOGQL__T_NRE;
                    len = 2;
                } else if (c1 == '>') {
                    k = LOGQL__T_NPA;
                    len = 2;
                } else
                    return lex_err(&lx, p, "syntax error: unexpected character",
                                   ig_str_make(s + p, 1));
                break;
            case '|':
                if (c1 == '=') {
                    k = LOGQL__T_PIPE_EXACT;
                    len = 2;
                } else if (c1 == '~') {
                    k = LOGQL__T_PIPE_MATCH;
                    len = 2;
                } else if (c1 == '>') {
                    k = LOGQL__T_PIPE_PATTERN;
                    len = 2;
                } else
                    k = LOGQL__T_PIPE;
                break;
            case '>':
                if (c1 == '=') {
                    k = LOGQL__T_GE;
                    len = 2;
                } else
                    k = LOGQL__T_GT;
                break;
            case '<':
                if (c1 == '=') {
                    k = LOGQL__T_LE;
                    len = 2;
                } else
                    k = LOGQL__T_LT;
                break;
            default: {
                char shown[8];
                unsigned char uc = (unsigned char)c;
                if (uc >= 0x20 && uc < 0x7f)
                    snprintf(shown, sizeof(shown), "%c", c);
                else
                    snprintf(shown, sizeof(shown), "\\x%02x", uc);
                return lex_err(&lx, p, "syntax error: unexpected character", ig_str_from(shown));
            }
            }
            t->kind = k;
            t->text = ig_str_make(s + p, len);
            lx.pos = p + len;
        }
        if (rc != 0)
            return rc;
        n++;
    }
    *toks = arr;
    *ntoks = n;
    return 0;
}
