/* Internals shared by the LogQL lexer, parser and printer (prefix logql__). */
#ifndef ICEGATE_LOGQL_INT_H
#define ICEGATE_LOGQL_INT_H

#include "icegate/logql.h"

typedef enum logql__tok_kind {
    LOGQL__T_EOF,
    LOGQL__T_IDENT,
    LOGQL__T_STRING,
    LOGQL__T_NUMBER,
    LOGQL__T_DURATION,
    LOGQL__T_BYTES,
    LOGQL__T_RANGE, /* [5m] */
    LOGQL__T_FLAG,  /* --strict, --keep-empty */
    LOGQL__T_LBRACE,
    LOGQL__T_RBRACE,
    LOGQL__T_LPAREN,
    LOGQL__T_RPAREN,
    LOGQL__T_COMMA,
    LOGQL__T_EQ,
    LOGQL__T_NEQ,
    LOGQL__T_RE,
    LOGQL__T_NRE,
    LOGQL__T_EQEQ,
    LOGQL__T_GT,
    LOGQL__T_GE,
    LOGQL__T_LT,
    LOGQL__T_LE,
    LOGQL__T_PIPE,
    LOGQL__T_PIPE_EXACT,
    LOGQL__T_PIPE_MATCH,
    LOGQL__T_PIPE_PATTERN,
    LOGQL__T_NPA,
    LOGQL__T_ADD,
    LOGQL__T_SUB,
    LOGQL__T_MUL,
    LOGQL__T_DIV,
    LOGQL__T_MOD,
    LOGQL__T_POW
} logql__tok_kind;

typedef struct logql__tok {
    logql__tok_kind kind;
    int line, col; /* 1-based */
    /* the raw bytes in the input; for STRING the decoded value (in the arena); for
     * RANGE the inside of the brackets */
    ig_str text;
    union {
        double num;     /* NUMBER */
        int64_t dur;    /* DURATION, RANGE */
        uint64_t bytes; /* BYTES */
    };
} logql__tok;

/* Tokenises the whole query into an arena array (terminated by an EOF token).
 * Returns 0 or a negative code with a Loki-style message in eb. */
int logql__lex(ig_str q, ig_arena *a, logql__tok **toks, size_t *n, ig_errbuf *eb);
/* Display name of a token kind in error messages ("IDENTIFIER", "|=", ...). */
const char *logql__tok_name(logql__tok_kind k);
/* Humanize-style byte sizes ("20MB", "1KiB", "1.5kb"). 0 or IG_EINVAL. */
int logql__parse_bytes(ig_str s, uint64_t *out);

#endif
