/* Internals shared by the LogQL engine's files (src/query). */
#ifndef ICEGATE_QUERY_INT_H
#define ICEGATE_QUERY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/logql_eval.h"

/* Cap on the labels of one entry (stream + structured metadata + parsed): a line with
 * more extracted fields keeps the first ones and the rest are dropped with
 * __error__ unchanged (Loki has no such cap; 1024 keeps memory bounded per entry). */
#define LQ_MAX_LABELS 1024

/* Label categories, as categorize-labels reports them. */
enum { LQ_CAT_STREAM = 0, LQ_CAT_META = 1, LQ_CAT_PARSED = 2 };

/* A sorted label builder in an arena. cat[i] is the category of v[i]. */
typedef struct lq_lb {
    ig_arena *a;
    lq_label *v;
    uint8_t *cat;
    size_t n, cap;
} lq_lb;

int lq__lb_init(lq_lb *b, ig_arena *a, size_t cap);
/* Sets name=value (replacing an existing value and its category). IG_ETOOBIG past
 * LQ_MAX_LABELS, IG_ENOMEM. name and value must outlive the builder. */
int lq__lb_set(lq_lb *b, ig_str name, ig_str value, uint8_t cat);
/* Value of name, ptr NULL when absent; *cat (may be NULL) gets its category. */
ig_str lq__lb_get(const lq_lb *b, ig_str name, uint8_t *cat);
bool lq__lb_has(const lq_lb *b, ig_str name);
void lq__lb_del(lq_lb *b, ig_str name);
lq_labels lq__lb_labels(const lq_lb *b);

/* Sorts by name, keeping the first of equal names. */
void lq__labels_sort(lq_labels *l);
/* Go strconv.Quote of v appended to b. */
int lq__quote(ig_buf *b, ig_str v);
/* First occurrence of nd in h[0, n) (SSE2 scan of the needle's first and last bytes,
 * memmem for short haystacks), or NULL. */
const char *lq__find(const char *h, size_t n, ig_str nd);
/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
size_t lq__utf8_len(const unsigned char *p, size_t n);

/* Loki's name sanitising of extracted keys: bytes outside [A-Za-z0-9_] become '_', a
 * leading digit gets a '_' prefix. Returns name itself when already valid, else a copy in
 * a (ptr NULL on allocation failure). */
ig_str lq__sanitize_name(ig_arena *a, ig_str name);
/* A key of the json parser as Loki sanitises it (trimmed; a leading digit gets '_' only
 * in the first part of a flattened name). Returns k or a copy in a. */
ig_str lq__json_key_sanitize(ig_arena *a, ig_str k, bool first);
/* OTLP/Prometheus label-name normalisation (loki-notes §5): non-alphanumerics to '_',
 * runs of '_' collapsed, leading digit gets "key_". */
ig_str lq__otlp_name(ig_arena *a, ig_str name);

/* A compiled stream-selector matcher set. */
typedef struct lq_matchers lq_matchers;
int lq__matchers_new(const logql_matcher *m, size_t n, ig_arena *a, lq_matchers **out,
                     ig_errbuf *eb);
bool lq__matchers_match(const lq_matchers *m, const lq_labels *l);
/* One matcher (string label filter semantics: an absent label reads as ""). */
bool lq__matcher_match(const lq_matchers *m, size_t i, ig_str value);

/* PCRE2 helpers (pipeline.c). lq__re_compile: UTF with invalid UTF-8 tolerated, JIT,
 * freed with the arena; NULL with the message in eb. */
struct pcre2_real_code_8;
struct pcre2_real_code_8 *lq__re_compile(ig_str re, uint32_t flags, ig_arena *a, ig_errbuf *eb);
bool lq__re_match(const struct pcre2_real_code_8 *c, ig_str s);

/* Conversions as Loki does them: Go strconv.ParseFloat, time.ParseDuration (ns),
 * humanize.ParseBytes. 0 or IG_EINVAL. */
int lq__parse_float(ig_str v, double *out);
int lq__parse_go_duration(ig_str s, double *out_ns);
int lq__parse_bytes(ig_str s, double *out);

/* Go %v float formatting (template.c). */
int lq__fmt_float(ig_buf *b, double v);

#endif
