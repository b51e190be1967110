/* LogQL: lexer, recursive-descent parser into an arena-allocated AST, and a printer
 * producing Loki's canonical form (what /loki/api/v1/format_query returns, i.e. Loki's
 * String() of the parsed expression).
 *
 * Ownership: every node, list and decoded string of a parsed query lives in the arena
 * passed to logql_parse(); nothing points into the input text, so the input may be
 * freed once logql_parse() returns. Freeing the arena frees the whole AST. Memory use is
 * about 80 bytes per input byte at worst (the token array), so an arena cap of 16 MiB
 * admits every query up to LOGQL_MAX_QUERY_LEN; past the cap the parse fails with
 * IG_ENOMEM.
 *
 * Errors: logql_parse() returns 0 or a negative IG_* code (IG_EINVAL for a syntax or
 * semantic error, IG_ENOMEM when the arena cap is reached, IG_ETOOBIG for input longer
 * than LOGQL_MAX_QUERY_LEN) and writes a Loki-style message into eb, e.g.
 * `parse error at line 1, col 12: syntax error: unexpected IDENTIFIER, expecting STRING`.
 * Lines and columns are 1-based; columns count bytes. See docs/logql.md. */
#ifndef ICEGATE_LOGQL_H
#define ICEGATE_LOGQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"

#define LOGQL_MAX_QUERY_LEN 131072 /* Loki's limit */
/* Bound on the height of expression trees and label-filter trees (binary operators,
 * aggregations, and/or). The parser's recursion limit is a multiple of it, so that the
 * printed form of any accepted query (which parenthesises every binary node) re-parses. */
#define LOGQL_MAX_DEPTH 64

/* ---- matchers (stream selector, drop/keep, string label filters) ---- */
typedef enum logql_match_op {
    LOGQL_MATCH_EQ,  /* =  */
    LOGQL_MATCH_NEQ, /* != */
    LOGQL_MATCH_RE,  /* =~ */
    LOGQL_MATCH_NRE  /* !~ */
} logql_match_op;

typedef struct logql_matcher {
    ig_str name;
    logql_match_op op;
    ig_str value; /* decoded */
} logql_matcher;

/* ---- line filters ---- */
typedef enum logql_line_op {
    LOGQL_LINE_CONTAINS,     /* |= */
    LOGQL_LINE_NOT_CONTAINS, /* != */
    LOGQL_LINE_RE,           /* |~ */
    LOGQL_LINE_NOT_RE,       /* !~ */
    LOGQL_LINE_PATTERN,      /* |> */
    LOGQL_LINE_NOT_PATTERN   /* !> */
} logql_line_op;

typedef struct logql_line_operand {
    ig_str value;
    bool ip; /* ip("value") */
} logql_line_operand;

/* ---- label filters (a tree) ---- */
typedef enum logql_lf_kind {
    LOGQL_LF_STRING,   /* name op "value" (a logql_matcher) */
    LOGQL_LF_NUMBER,   /* name cmp number */
    LOGQL_LF_DURATION, /* name cmp 5s */
    LOGQL_LF_BYTES,    /* name cmp 20MB */
    LOGQL_LF_IP,       /* name = ip("...") / != */
    LOGQL_LF_AND,
    LOGQL_LF_OR
} logql_lf_kind;

typedef enum logql_cmp_op {
    LOGQL_CMP_EQ, /* == (also written =) */
    LOGQL_CMP_NE, /* != */
    LOGQL_CMP_GT,
    LOGQL_CMP_GE,
    LOGQL_CMP_LT,
    LOGQL_CMP_LE
} logql_cmp_op;

typedef struct logql_label_filter logql_label_filter;
struct logql_label_filter {
    logql_lf_kind kind;
    logql_matcher m;     /* STRING; for IP: name, op EQ/NEQ, value = the ip pattern */
    logql_cmp_op cmp;    /* NUMBER, DURATION, BYTES */
    double number;       /* NUMBER */
    int64_t duration_ns; /* DURATION */
    uint64_t bytes;      /* BYTES */
    ig_str literal;      /* DURATION/BYTES/NUMBER as written (printed back as written) */
    logql_label_filter *left, *right; /* AND / OR */
    int height;                       /* 1 for a leaf */
};

/* ---- pipeline stages ---- */
typedef enum logql_stage_kind {
    LOGQL_STAGE_LINE_FILTER,
    LOGQL_STAGE_JSON,
    LOGQL_STAGE_LOGFMT,
    LOGQL_STAGE_REGEXP,
    LOGQL_STAGE_PATTERN,
    LOGQL_STAGE_UNPACK,
    LOGQL_STAGE_LABEL_FILTER,
    LOGQL_STAGE_LINE_FORMAT,
    LOGQL_STAGE_LABEL_FORMAT,
    LOGQL_STAGE_DROP,
    LOGQL_STAGE_KEEP,
    LOGQL_STAGE_DECOLORIZE
} logql_stage_kind;

/* `| json a="x.y", b` / `| logfmt a, b="k"`: a parameter; expr is the name when omitted. */
typedef struct logql_param {
    ig_str name;
    ig_str expr;
    bool has_expr;
} logql_param;

/* `| label_format dst=src` (rename) or `dst="template"`. */
typedef struct logql_label_fmt {
    ig_str dst;
    ig_str value;
    bool rename;
} logql_label_fmt;

/* `| drop a, b="v"`: a plain name (has_matcher false) or a matcher. */
typedef struct logql_name_or_matcher {
    logql_matcher m;
    bool has_matcher;
} logql_name_or_matcher;

typedef struct logql_stage {
    logql_stage_kind kind;
    /* LINE_FILTER: op applies to every operand (`|= "a" or "b"`). */
    logql_line_op line_op;
    logql_line_operand *operands;
    size_t n_operands;
    /* JSON, LOGFMT */
    logql_param *params;
    size_t n_params;
    bool strict, keep_empty; /* LOGFMT flags */
    /* REGEXP, PATTERN, LINE_FORMAT */
    ig_str str;
    /* LABEL_FILTER */
    logql_label_filter *filter;
    /* LABEL_FORMAT */
    logql_label_fmt *fmts;
    size_t n_fmts;
    /* DROP, KEEP */
    logql_name_or_matcher *names;
    size_t n_names;
} logql_stage;

typedef enum logql_unwrap_conv {
    LOGQL_UNWRAP_NONE,
    LOGQL_UNWRAP_DURATION,         /* duration(x) */
    LOGQL_UNWRAP_DURATION_SECONDS, /* duration_seconds(x) */
    LOGQL_UNWRAP_BYTES             /* bytes(x) */
} logql_unwrap_conv;

typedef struct logql_unwrap {
    ig_str label;
    logql_unwrap_conv conv;
    logql_stage *post; /* label-filter stages after the unwrap */
    size_t n_post;
} logql_unwrap;

/* ---- expressions ---- */
typedef enum logql_expr_kind {
    LOGQL_EXPR_LOG,          /* {selector} pipeline — a log query */
    LOGQL_EXPR_RANGE_AGG,    /* count_over_time(... [5m]) */
    LOGQL_EXPR_VECTOR_AGG,   /* sum by (a) (...) */
    LOGQL_EXPR_BINARY,       /* a op b */
    LOGQL_EXPR_LITERAL,      /* 1.5 */
    LOGQL_EXPR_VECTOR,       /* vector(1) */
    LOGQL_EXPR_LABEL_REPLACE /* label_replace(v, "dst", "repl", "src", "regex") */
} logql_expr_kind;

typedef enum logql_range_op {
    LOGQL_RANGE_COUNT,
    LOGQL_RANGE_RATE,
    LOGQL_RANGE_RATE_COUNTER,
    LOGQL_RANGE_BYTES,
    LOGQL_RANGE_BYTES_RATE,
    LOGQL_RANGE_ABSENT,
    LOGQL_RANGE_SUM,
    LOGQL_RANGE_AVG,
    LOGQL_RANGE_MIN,
    LOGQL_RANGE_MAX,
    LOGQL_RANGE_STDDEV,
    LOGQL_RANGE_STDVAR,
    LOGQL_RANGE_QUANTILE,
    LOGQL_RANGE_FIRST,
    LOGQL_RANGE_LAST
} logql_range_op;

typedef enum logql_vec_op {
    LOGQL_VEC_SUM,
    LOGQL_VEC_AVG,
    LOGQL_VEC_MIN,
    LOGQL_VEC_MAX,
    LOGQL_VEC_COUNT,
    LOGQL_VEC_STDDEV,
    LOGQL_VEC_STDVAR,
    LOGQL_VEC_TOPK,
    LOGQL_VEC_BOTTOMK,
    LOGQL_VEC_SORT,
    LOGQL_VEC_SORT_DESC,
    LOGQL_VEC_APPROX_TOPK
} logql_vec_op;

typedef enum logql_bin_op {
    LOGQL_BIN_OR,
    LOGQL_BIN_AND,
    LOGQL_BIN_UNLESS,
    LOGQL_BIN_EQ,
    LOGQL_BIN_NE,
    LOGQL_BIN_GT,
    LOGQL_BIN_GE,
    LOGQL_BIN_LT,
    LOGQL_BIN_LE,
    LOGQL_BIN_ADD,
    LOGQL_BIN_SUB,
    LOGQL_BIN_MUL,
    LOGQL_BIN_DIV,
    LOGQL_BIN_MOD,
    LOGQL_BIN_POW
} logql_bin_op;

/* `by (a, b)` / `without (a)`; present false when no grouping was written. */
typedef struct logql_grouping {
    bool present;
    bool without;
    ig_str *labels;
    size_t n_labels;
} logql_grouping;

typedef struct logql_expr logql_expr;

/* The log part shared by log queries and range aggregations. */
typedef struct logql_log {
    logql_matcher *matchers;
    size_t n_matchers;
    logql_stage *stages;
    size_t n_stages;
    logql_unwrap *unwrap; /* NULL unless `| unwrap` (only inside range aggregations) */
} logql_log;

struct logql_expr {
    logql_expr_kind kind;
    int height; /* 1 for a leaf (log query, literal, range aggregation) */
    union {
        logql_log log; /* LOG */
        struct {       /* RANGE_AGG */
            logql_range_op op;
            bool has_param;
            double param; /* quantile φ */
            logql_log log;
            int64_t range_ns;
            int64_t offset_ns; /* 0 when no offset */
            logql_grouping grouping;
        } range;
        struct { /* VECTOR_AGG */
            logql_vec_op op;
            bool has_param;
            int64_t param; /* topk/bottomk/approx_topk k */
            logql_expr *arg;
            logql_grouping grouping;
        } vec;
        struct { /* BINARY */
            logql_bin_op op;
            bool return_bool;
            bool has_matching; /* on(...) / ignoring(...) */
            bool on;           /* true: on, false: ignoring */
            ig_str *match_labels;
            size_t n_match_labels;
            int group; /* 0 none, 1 group_left, 2 group_right */
            ig_str *include;
            size_t n_include;
            logql_expr *lhs, *rhs;
        } bin;
        double literal; /* LITERAL, VECTOR */
        struct {        /* LABEL_REPLACE */
            logql_expr *arg;
            ig_str dst, replacement, src, regex;
        } lrep;
    } u;
};

/* Parses query (any bytes; need not be NUL-terminated) into an AST allocated in `a`.
 * On success stores the root in *out and returns 0; on failure returns a negative code
 * and writes the message into eb (may be NULL). The AST is owned by `a`. */
int logql_parse(ig_str query, ig_arena *a, logql_expr **out, ig_errbuf *eb);

/* Appends the canonical (Loki String()) form of e to b. Returns 0, IG_ETOOBIG or IG_ENOMEM. */
int logql_print(const logql_expr *e, ig_buf *b);

/* True when e is a metric (sample) expression, false for a log query. */
bool logql_is_metric(const logql_expr *e);

/* Names for diagnostics and printing ("count_over_time", "sum", "+", ...). */
const char *logql_range_op_name(logql_range_op op);
const char *logql_vec_op_name(logql_vec_op op);
const char *logql_bin_op_name(logql_bin_op op);

#endif
