/* Prometheus label strings as Loki's push path parses and prints them (labels.h).
 *
 * The parser is a small hand-written equivalent of the part of Prometheus' PromQL lexer
 * and yacc grammar that ParseMetric uses. It reports the first error, with the text and
 * the line:column that Prometheus would give for it: lexer errors at the start of the
 * token being lexed, grammar errors ("unexpected X in label set, expected Y") at the
 * offending token. */
#include "icegate/labels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"

/* ---- Go-style quoting ------------------------------------------------------------ */

/* Decodes one UTF-8 sequence at p[0..n). Returns its length (1..4) with *cp set, or 0 for
 * an invalid sequence (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_dec(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* Approximation of Go's unicode.IsPrint for code points >= 0x80: everything but the C1
 * controls, soft hyphen, the line/paragraph separators and the BOM/specials. */
static bool go_printable(uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7F)
        return false;
    if (cp < 0x80)
        return true;
    if (cp < 0xA0 || cp == 0xAD)
        return false;
    if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) ||
        cp == 0xFFFD) /* escaped (Go prints it raw) so that printed labels parse back */
        return false;
    if (cp >= 0xE000 && cp <= 0xF8FF) /* private use */
        return false;
    return true;
}

static int quote_rune_body(ig_buf *out, uint32_t cp, const uint8_t *raw, size_t rawlen, char q)
{
    char tmp[16];
    switch (cp) {
    case '\a':
        return ig_buf_append(out, "\\a", 2);
    case '\b':
        return ig_buf_append(out, "\\b", 2);
    case '\f':
        return ig_buf_append(out, "\\f", 2);
    case '\n':
        return ig_buf_append(out, "\\n", 2);
    case '\r':
        return ig_buf_append(out, "\\r", 2);
    case '\t':
        return ig_buf_append(out, "\\t", 2);
    case '\v':
        return ig_buf_append(out, "\\v", 2);
    case '\\':
        return ig_buf_append(out, "\\\\", 2);
    default:
        break;
    }
    if (cp == (uint32_t)(unsigned char)q) {
        tmp[0] = '\\';
        tmp[1] = q;
        return ig_buf_append(out, tmp, 2);
    }
    if (go_printable(cp))
        return ig_buf_append(out, raw, rawlen);
    if (cp < 0x80)
        snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)cp);
    else if (cp < 0x10000)
        snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)cp);
    else
        snprintf(tmp, sizeof tmp, "\\U%08x", (unsigned)cp);
    return ig_buf_append_cstr(out, tmp);
}

int ig_go_quote(ig_buf *out, ig_str s, size_t max_runes)
{
    int rc = ig_buf_putc(out, '"');
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t i = 0, runes = 0;
    while (rc == 0 && i < s.len && (max_runes == 0 || runes < max_runes)) {
        uint32_t cp;
        size_t n = utf8_dec(p + i, s.len - i, &cp);
        if (n == 0) {
            char tmp[8];
            snprintf(tmp, sizeof tmp, "\\x%02x", p[i]);
            rc = ig_buf_append_cstr(out, tmp);
            i++;
        } else {
            rc = quote_rune_body(out, cp, p + i, n, '"');
            i += n;
        }
        runes++;
    }
    if (rc == 0)
        rc = ig_buf_putc(out, '"');
    return rc;
}

/* Go's %q of a rune: 'x', '\n', '\'', '\x00', '\u00a0'. */
static int go_quote_rune(ig_buf *out, uint32_t cp)
{
    uint8_t raw[4];
    size_t n;
    if (cp < 0x80) {
        raw[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        raw[0] = (uint8_t)(0xC0 | (cp >> 6));
        raw[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        raw[0] = (uint8_t)(0xE0 | (cp >> 12));
        raw[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        raw[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        raw[0] = (uint8_t)(0xF0 | (cp >> 18));
        raw[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        raw[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        raw[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    int rc = ig_buf_putc(out, '\'');
    if (rc == 0)
        rc = quote_rune_body(out, cp, raw, n, '\'');
    if (rc == 0)
        rc = ig_buf_putc(out, '\'');
    return rc;
}

bool ig_label_name_valid(ig_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool alpha = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha && (i == 0 || c < '0' || c > '9'))
            return false;
    }
    return true;
}

int ig_labels_format(ig_buf *out, const ig_attr *items, size_t n)
{
    int rc = ig_buf_putc(out, '{');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0)
            rc = ig_buf_append(out, ", ", 2);
        if (rc == 0)
            rc = ig_label_name_valid(items[i].key) ? ig_buf_append_str(out, items[i].key)
                                                   : ig_go_quote(out, items[i].key, 0);
        if (rc == 0)
            rc = ig_buf_putc(out, '=');
        if (rc == 0)
            rc = ig_go_quote(out, items[i].value.ptr ? items[i].value : IG_STR(""), 0);
    }
    if (rc == 0)
        rc = ig_buf_putc(out, '}');
    return rc;
}

/* ---- Lexer ----------------------------------------------------------------------- */

enum tok_type {
    T_EOF,
    T_ERROR, /* lexer error; message already formatted */
    T_IDENT, /* identifier (inside braces) or metric identifier / keyword (outside) */
    T_STRING,
    T_NUMBER,
    T_LBRACE,
    T_RBRACE,
    T_COMMA,
    T_EQL,
    T_PUNCT, /* other items whose description is their quoted text: ( ) [ ] : */
    T_OP     /* operators, described as <op:X> */
};

typedef struct lex {
    const uint8_t *in;
    size_t len;
    size_t pos;
    bool brace_open;
    ig_errbuf *eb;
    /* current token */
    int type;
    size_t start, end; /* token text in.[start, end) */
    char err[160];     /* T_ERROR message */
    size_t err_pos;
} lex;

static bool is_alpha(unsigned c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}
static bool is_space(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int lex_error(lex *l, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lex_error(lex *l, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, sizeof l->err, fmt, ap);
    va_end(ap);
    l->err_pos = at;
    l->type = T_ERROR;
    l->start = at;
    l->end = at;
    return T_ERROR;
}

/* Go's %#U: U+0071 'q' (printable) or U+000A. */
static void fmt_hash_u(char *buf, size_t n, uint32_t cp)
{
    if (go_printable(cp) && cp != '\'') {
        ig_buf b;
        ig_buf_init(&b, 64);
        if (go_quote_rune(&b, cp) == 0)
            snprintf(buf, n, "U+%04X %s", (unsigned)cp, b.data);
        else
            snprintf(buf, n, "U+%04X", (unsigned)cp);
        ig_buf_free(&b);
    } else if (cp == '\'') {
        snprintf(buf, n, "U+0027 '''");
    } else {
        snprintf(buf, n, "U+%04X", (unsigned)cp);
    }
}

/* Rune at pos (for messages): decodes UTF-8, invalid bytes give U+FFFD. *w = its width. */
static uint32_t rune_at(const lex *l, size_t pos, size_t *w)
{
    uint32_t cp;
    size_t n = utf8_dec(l->in + pos, l->len - pos, &cp);
    if (n == 0) {
        *w = 1;
        return 0xFFFD;
    }
    *w = n;
    return cp;
}

static int lex_rune_error(lex *l, size_t at, const char *prefix, uint32_t cp)
{
    ig_buf b;
    ig_buf_init(&b, 64);
    int rc = go_quote_rune(&b, cp);
    lex_error(l, at, "%s%s", prefix, rc == 0 ? b.data : "?");
    ig_buf_free(&b);
    return T_ERROR;
}

static int hexval(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return 99;
}

/* Lexes a quoted string starting at l->pos (the opening quote). */
static int lex_string(lex *l)
{
    size_t start = l->pos;
    unsigned q = l->in[l->pos++];
    for (;;) {
        if (l->pos >= l->len) {
            if (q == '`')
                return lex_error(l, start, "unterminated raw string");
            return lex_error(l, start, "unterminated quoted string");
        }
        unsigned c = l->in[l->pos];
        if (c == q) {
            l->pos++;
            break;
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t n = utf8_dec(l->in + l->pos, l->len - l->pos, &cp);
            if (n == 0 || cp == 0xFFFD)
                return lex_error(l, start, "invalid UTF-8 rune");
            l->pos += n;
            continue;
        }
        if (q == '`') {
            l->pos++;
            continue;
        }
        if (c == '\n')
            return lex_error(l, start, "unterminated quoted string");
        if (c != '\\') {
            l->pos++;
            continue;
        }
        /* escape */
        l->pos++;
        if (l->pos >= l->len)
            return lex_error(l, start, "escape sequence not terminated");
        size_t w;
        uint32_t ch = rune_at(l, l->pos, &w);
        l->pos += w;
        int n;
        uint32_t base, maxv;
        switch (ch) {
        case 'a':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
        case 'v':
        case '\\':
            continue;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
            n = 3;
            base = 8;
            maxv = 255;
            break;
        case 'x':
        case 'u':
        case 'U':
            n = ch == 'x' ? 2 : ch == 'u' ? 4 : 8;
            base = 16;
            maxv = ch == 'x' ? 255 : 0x10FFFF;
            if (l->pos >= l->len)
                return lex_error(l, start, "escape sequence not terminated");
            ch = rune_at(l, l->pos, &w);
            l->pos += w;
            break;
        default:
            if (ch == q)
                continue;
            {
                char u[48];
                fmt_hash_u(u, sizeof u, ch);
                return lex_error(l, start, "unknown escape sequence %s", u);
            }
        }
        uint32_t x = 0;
        for (;;) {
            uint32_t d = ch < 128 ? (uint32_t)hexval(ch) : 99;
            if (d >= base) {
                char u[48];
                fmt_hash_u(u, sizeof u, ch);
                return lex_error(l, start, "illegal character %s in escape sequence", u);
            }
            x = x * base + d;
            if (--n == 0)
                break;
            if (l->pos >= l->len)
                return lex_error(l, start, "escape sequence not terminated");
            ch = rune_at(l, l->pos, &w);
            l->pos += w;
        }
        if (x > maxv || (x >= 0xD800 && x < 0xE000))
            return lex_error(l, start, "escape sequence is an invalid Unicode code point");
    }
    l->type = T_STRING;
    l->start = start;
    l->end = l->pos;
    return T_STRING;
}

static void skip_space_comments(lex *l)
{
    for (;;) {
        while (l->pos < l->len && is_space(l->in[l->pos]))
            l->pos++;
        if (l->pos < l->len && l->in[l->pos] == '#') {
            while (l->pos < l->len && l->in[l->pos] != '\n' && l->in[l->pos] != '\r')
                l->pos++;
            continue;
        }
        return;
    }
}

static int emit(lex *l, int type, size_t start)
{
    l->type = type;
    l->start = start;
    l->end = l->pos;
    return type;
}

static int lex_next(lex *l)
{
    skip_space_comments(l);
    size_t s = l->pos;
    if (l->pos >= l->len) {
        if (l->brace_open)
            return lex_error(l, s, "unexpected end of input inside braces");
        return emit(l, T_EOF, s);
    }
    unsigned c = l->in[l->pos];
    if (l->brace_open) {
        if (is_alpha(c)) {
            while (l->pos < l->len && (is_alpha(l->in[l->pos]) || is_digit(l->in[l->pos])))
                l->pos++;
            return emit(l, T_IDENT, s);
        }
        switch (c) {
        case ',':
            l->pos++;
            return emit(l, T_COMMA, s);
        case '"':
        case '\'':
        case '`':
            return lex_string(l);
        case '=':
            l->pos++;
            if (l->pos < l->len && l->in[l->pos] == '~') {
                l->pos++;
                return emit(l, T_OP, s);
            }
            return emit(l, T_EQL, s);
        case '!':
            l->pos++;
            if (l->pos < l->len && (l->in[l->pos] == '~' || l->in[l->pos] == '=')) {
                l->pos++;
                return emit(l, T_OP, s);
            } else {
                size_t w;
                uint32_t cp = l->pos < l->len ? rune_at(l, l->pos, &w) : 0xFFFD;
                return lex_rune_error(l, s, "unexpected character after '!' inside braces: ", cp);
            }
        case '{':
            return lex_error(l, s, "unexpected left brace '{'");
        case '}':
            l->pos++;
            l->brace_open = false;
            return emit(l, T_RBRACE, s);
        default: {
            size_t w;
            uint32_t cp = rune_at(l, l->pos, &w);
            return lex_rune_error(l, s, "unexpected character inside braces: ", cp);
        }
        }
    }
    /* outside braces (lexStatements) */
    if (is_alpha(c) || c == ':') {
        while (l->pos < l->len &&
               (is_alpha(l->in[l->pos]) || is_digit(l->in[l->pos]) || l->in[l->pos] == ':'))
            l->pos++;
        return emit(l, T_IDENT, s);
    }
    if (is_digit(c) || (c == '.' && l->pos + 1 < l->len && is_digit(l->in[l->pos + 1]))) {
        while (l->pos < l->len &&
               (is_alpha(l->in[l->pos]) || is_digit(l->in[l->pos]) || l->in[l->pos] == '.' ||
                l->in[l->pos] == '+' || l->in[l->pos] == '-'))
            l->pos++;
        return emit(l, T_NUMBER, s);
    }
    switch (c) {
    case '{':
        l->pos++;
        l->brace_open = true;
        return emit(l, T_LBRACE, s);
    case '"':
    case '\'':
    case '`':
        return lex_string(l);
    case ',':
        l->pos++;
        return emit(l, T_COMMA, s);
    case '=':
        l->pos++;
        if (l->pos < l->len && l->in[l->pos] == '=') {
            l->pos++;
            return emit(l, T_OP, s);
        }
        if (l->pos < l->len && l->in[l->pos] == '~')
            return lex_error(l, s, "unexpected character after '=': '~'");
        return emit(l, T_EQL, s);
    case '(':
    case ')':
    case '[':
    case ']':
        l->pos++;
        return emit(l, T_PUNCT, s);
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '^':
    case '@':
        l->pos++;
        return emit(l, T_OP, s);
    case '<':
    case '>':
        l->pos++;
        if (l->pos < l->len && (l->in[l->pos] == '=' || l->in[l->pos] == '/'))
            l->pos++;
        return emit(l, T_OP, s);
    case '!':
        l->pos++;
        if (l->pos < l->len && l->in[l->pos] == '=') {
            l->pos++;
            return emit(l, T_OP, s);
        } else {
            size_t w;
            uint32_t cp = l->pos < l->len ? rune_at(l, l->pos, &w) : 0xFFFD;
            return lex_rune_error(l, s, "unexpected character after '!': ", cp);
        }
    default: {
        size_t w;
        uint32_t cp = rune_at(l, l->pos, &w);
        return lex_rune_error(l, s, "unexpected character: ", cp);
    }
    }
}

/* ---- Parser ---------------------------------------------------------------------- */

/* "1:7" for a byte offset (1-based line and column, columns count bytes). */
static void pos_str(const lex *l, size_t pos, char *buf, size_t n)
{
    size_t line = 1;
    size_t last_nl = (size_t)-1;
    for (size_t i = 0; i < pos && i < l->len; i++)
        if (l->in[i] == '\n') {
            line++;
            last_nl = i;
        }
    snprintf(buf, n, "%zu:%zu", line, pos - last_nl);
}

static int parse_fail(lex *l, size_t pos, const char *msg)
{
    char p[48];
    pos_str(l, pos, p, sizeof p);
    return ig_err(l->eb, IG_EINVAL, "%s: parse error: %s", p, msg);
}

/* Reports the current token as Prometheus' parser.unexpected(context, expected) does. */
static int unexpected(lex *l, const char *context, const char *expected)
{
    if (l->type == T_ERROR)
        return parse_fail(l, l->err_pos, l->err);
    ig_buf b;
    ig_buf_init(&b, 512);
    ig_str text = ig_str_make(l->in + l->start, l->end - l->start);
    int rc = ig_buf_append_cstr(&b, "unexpected ");
    switch (l->type) {
    case T_EOF:
        rc = rc ? rc : ig_buf_append_cstr(&b, "end of input");
        break;
    case T_IDENT:
        rc = rc ? rc : ig_buf_append_cstr(&b, "identifier ");
        rc = rc ? rc : ig_go_quote(&b, text, 0);
        break;
    case T_STRING:
        rc = rc ? rc : ig_buf_append_cstr(&b, "string ");
        {
            /* Go: len(Val) > 10 ? %.10q... : %q (len in bytes, truncation in runes) */
            rc = rc ? rc : ig_go_quote(&b, text, text.len > 10 ? 10 : 0);
            if (rc == 0 && text.len > 10)
                rc = ig_buf_append_cstr(&b, "...");
        }
        break;
    case T_NUMBER:
        rc = rc ? rc : ig_buf_append_cstr(&b, "number ");
        rc = rc ? rc : ig_go_quote(&b, text, text.len > 10 ? 10 : 0);
        if (rc == 0 && text.len > 10)
            rc = ig_buf_append_cstr(&b, "...");
        break;
    case T_OP:
        rc = rc ? rc : ig_buf_printf(&b, "<op:%.*s>", (int)text.len, text.ptr);
        break;
    default: /* { } , = ( ) [ ] : */
        rc = rc ? rc : ig_go_quote(&b, text, 0);
        break;
    }
    if (rc == 0 && context && *context)
        rc = ig_buf_printf(&b, " in %s", context);
    if (rc == 0 && expected && *expected)
        rc = ig_buf_printf(&b, ", expected %s", expected);
    int ret = parse_fail(l, l->start, rc == 0 ? b.data : "unexpected input");
    ig_buf_free(&b);
    return ret;
}

/* Growable label array in the arena. */
typedef struct lblvec {
    ig_attr *v;
    size_t n, cap;
    ig_arena *arena;
} lblvec;

static int vec_push(lblvec *lv, ig_str k, ig_str v)
{
    if (lv->n == lv->cap) {
        size_t nc = lv->cap ? lv->cap * 2 : 8;
        size_t bytes;
        if (ig_size_mul(nc, sizeof(ig_attr), &bytes) < 0)
            return IG_ENOMEM;
        ig_attr *nv = ig_arena_alloc(lv->arena, bytes);
        if (!nv)
            return IG_ENOMEM;
        if (lv->n)
            memcpy(nv, lv->v, lv->n * sizeof(ig_attr));
        lv->v = nv;
        lv->cap = nc;
    }
    lv->v[lv->n].key = k;
    lv->v[lv->n].value = v;
    lv->n++;
    return 0;
}

/* Unquotes the string token in[start,end) (already validated by the lexer). */
static int unquote(lex *l, ig_arena *arena, ig_str *out)
{
    const uint8_t *p = l->in + l->start;
    size_t n = l->end - l->start;
    unsigned q = p[0];
    ig_str body = ig_str_make(p + 1, n - 2);
    if (q == '`' || memchr(body.ptr, '\\', body.len) == NULL) {
        *out = body;
        return 0;
    }
    char *dst = ig_arena_alloc(arena, body.len + 1);
    if (!dst)
        return IG_ENOMEM;
    size_t o = 0;
    const uint8_t *s = (const uint8_t *)body.ptr;
    size_t i = 0;
    while (i < body.len) {
        if (s[i] != '\\') {
            dst[o++] = (char)s[i++];
            continue;
        }
        i++;
        unsigned c = s[i++];
        switch (c) {
        case 'a':
            dst[o++] = '\a';
            continue;
        case 'b':
            dst[o++] = '\b';
            continue;
        case 'f':
            dst[o++] = '\f';
            continue;
        case 'n':
            dst[o++] = '\n';
            continue;
        case 'r':
            dst[o++] = '\r';
            continue;
        case 't':
            dst[o++] = '\t';
            continue;
        case 'v':
            dst[o++] = '\v';
            continue;
        case 'x':
            dst[o++] = (char)(hexval(s[i]) * 16 + hexval(s[i + 1]));
            i += 2;
            continue;
        case 'u':
        case 'U': {
            int nd = c == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < nd; k++)
                cp = cp * 16 + (uint32_t)hexval(s[i + (size_t)k]);
            i += (size_t)nd;
            /* the encoded form is never longer than the escape (>= 6 bytes) */
            if (cp < 0x80) {
                dst[o++] = (char)cp;
            } else if (cp < 0x800) {
                dst[o++] = (char)(0xC0 | (cp >> 6));
                dst[o++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                dst[o++] = (char)(0xE0 | (cp >> 12));
                dst[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                dst[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                dst[o++] = (char)(0xF0 | (cp >> 18));
                dst[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                dst[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                dst[o++] = (char)(0x80 | (cp & 0x3F));
            }
            continue;
        }
        default:
            if (c >= '0' && c <= '7') {
                unsigned v =
                    (c - '0') * 64 + (unsigned)(s[i] - '0') * 8 + (unsigned)(s[i + 1] - '0');
                i += 2;
                dst[o++] = (char)v;
                continue;
            }
            dst[o++] = (char)c; /* \\ and the quote */
            continue;
        }
    }
    dst[o] = 0;
    *out = ig_str_make(dst, o);
    return 0;
}

static int cmp_attr(const void *a, const void *b)
{
    const ig_attr *x = a, *y = b;
    int c = ig_str_cmp(x->key, y->key);
    if (c)
        return c;
    return ig_str_cmp(x->value, y->value);
}

int ig_labels_parse(ig_str in, unsigned flags, ig_arena *arena, ig_attrs *out, ig_errbuf *eb)
{
    out->items = NULL;
    out->n = 0;
    lex l;
    memset(&l, 0, sizeof l);
    l.in = (const uint8_t *)(in.ptr ? in.ptr : "");
    l.len = in.ptr ? in.len : 0;
    l.eb = eb;
    lblvec lv = {NULL, 0, 0, arena};
    int rc;

    int t = lex_next(&l);
    if (t == T_IDENT) {
        /* metric name: becomes __name__ */
        rc = vec_push(&lv, IG_STR("__name__"), ig_str_make(l.in + l.start, l.end - l.start));
        if (rc < 0)
            return ig_err(eb, rc, "out of memory while parsing labels");
        t = lex_next(&l);
    }
    if (t == T_LBRACE) {
        bool need_item = true; /* at the start or after a comma */
        for (;;) {
            t = lex_next(&l);
            if (need_item) {
                if (t == T_RBRACE)
                    break; /* "{}" or trailing comma */
                ig_str name;
                bool quoted_name = false;
                if (t == T_IDENT) {
                    name = ig_str_make(l.in + l.start, l.end - l.start);
                } else if (t == T_STRING) {
                    rc = unquote(&l, arena, &name);
                    if (rc < 0)
                        return ig_err(eb, rc, "out of memory while parsing labels");
                    quoted_name = true;
                } else {
                    return unexpected(&l, "label set", "identifier or \"}\"");
                }
                t = lex_next(&l);
                if (t != T_EQL) {
                    if (!quoted_name)
                        return unexpected(&l, "label set", "\"=\"");
                    /* a lone quoted name is the metric name */
                    rc = vec_push(&lv, IG_STR("__name__"), name);
                    if (rc < 0)
                        return ig_err(eb, rc, "out of memory while parsing labels");
                    need_item = false;
                    goto after_item; /* t is the token after the item */
                }
                t = lex_next(&l);
                if (t != T_STRING)
                    return unexpected(&l, "label set", "string");
                ig_str value;
                rc = unquote(&l, arena, &value);
                if (rc == 0)
                    rc = vec_push(&lv, name, value);
                if (rc < 0)
                    return ig_err(eb, rc, "out of memory while parsing labels");
                need_item = false;
                continue;
            }
        after_item:
            if (t == T_RBRACE)
                break;
            if (t == T_COMMA) {
                need_item = true;
                continue;
            }
            return unexpected(&l, "label set", "\",\" or \"}\"");
        }
        t = lex_next(&l);
    }
    if (t != T_EOF)
        return unexpected(&l, "", "");

    size_t n = lv.n;
    if (flags & IG_LABELS_DROP_EMPTY) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
            if (lv.v[i].value.len > 0)
                lv.v[o++] = lv.v[i];
        n = o;
    }
    if ((flags & IG_LABELS_SORT) && n > 1)
        qsort(lv.v, n, sizeof(ig_attr), cmp_attr);
    if (n > UINT32_MAX)
        return ig_err(eb, IG_ERANGE, "too many labels");
    out->items = n ? lv.v : NULL;
    out->n = (uint32_t)n;
    return 0;
}

/* ---- Structured-metadata name normalisation ---------------------------------------- */

static bool is_alnum(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int ig_label_name_normalize(ig_str s, ig_arena *arena, ig_str *out, ig_errbuf *eb)
{
    *out = s;
    if (s.len == 0)
        return ig_err(eb, IG_EINVAL, "label name is empty");
    const uint8_t *p = (const uint8_t *)s.ptr;
    bool reserved =
        s.len >= 4 && p[0] == '_' && p[1] == '_' && p[s.len - 1] == '_' && p[s.len - 2] == '_';
    size_t from = reserved ? 2 : 0, to = reserved ? s.len - 2 : s.len;

    /* Fast path: unchanged when the body has no run of non-alnum longer than '_' alone
     * and the name does not start with a digit. */
    bool same = true;
    bool prev_us = false;
    bool only_us = true;
    for (size_t i = from; i < to; i++) {
        if (is_alnum(p[i])) {
            prev_us = false;
            only_us = false;
        } else {
            if (p[i] != '_' || prev_us) {
                same = false;
                break;
            }
            prev_us = true;
        }
    }
    if (same && !is_digit(p[0]) && !only_us)
        return 0;

    /* worst case: "key_" + body + "__" x2 */
    char *d = ig_arena_alloc(arena, s.len + 9);
    if (!d)
        return ig_err(eb, IG_ENOMEM, "out of memory while normalizing a label name");
    size_t o = 0;
    char *body = d + 4; /* room for "key_" */
    if (reserved) {
        body[o++] = '_';
        body[o++] = '_';
    }
    prev_us = false;
    for (size_t i = from; i < to; i++) {
        if (is_alnum(p[i])) {
            body[o++] = (char)p[i];
            prev_us = false;
        } else if (!prev_us) {
            body[o++] = '_';
            prev_us = true;
        }
    }
    if (reserved) {
        body[o++] = '_';
        body[o++] = '_';
    }
    char *res = body;
    if (o > 0 && is_digit((unsigned char)body[0])) {
        memcpy(d, "key_", 4);
        res = d;
        o += 4;
    }
    res[o] = 0;
    bool all_us = true;
    for (size_t i = 0; i < o; i++)
        if (res[i] != '_')
            all_us = false;
    if (o == 0 || all_us) {
        ig_buf b1, b2;
        ig_buf_init(&b1, 256);
        ig_buf_init(&b2, 256);
        ig_str r = ig_str_make(res, o);
        int rc1 = ig_go_quote(&b1, s, 0), rc2 = ig_go_quote(&b2, r, 0);
        int rc =
            ig_err(eb, IG_EINVAL, "normalization for label name %s resulted in invalid name %s",
                   rc1 == 0 ? b1.data : "?", rc2 == 0 ? b2.data : "?");
        ig_buf_free(&b1);
        ig_buf_free(&b2);
        return rc;
    }
    *out = ig_str_make(res, o);
    return 0;
}
