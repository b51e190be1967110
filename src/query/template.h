/* A subset of Go's text/template for line_format and label_format (Loki's functions).
 * Internal to src/query. */
#ifndef ICEGATE_QUERY_TEMPLATE_H
#define ICEGATE_QUERY_TEMPLATE_H

#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "query_int.h"

typedef struct lq_tmpl lq_tmpl;

/* Compiles src (AST and regexps in arena a). IG_EINVAL with Go's wording for a syntax
 * error or an unknown function; IG_EUNSUPPORTED naming a construct or a Loki template
 * function not built yet. */
int lq__tmpl_compile(ig_str src, ig_arena *a, lq_tmpl **out, ig_errbuf *eb);

/* Renders with labels (`.name`; absent renders ""), the current line (__line__) and
 * time (__timestamp__). The result is in scratch. A runtime failure (bad conversion)
 * returns IG_EINVAL with the detail in eb (the caller sets TemplateFormatErr). */
int lq__tmpl_exec(const lq_tmpl *t, const lq_lb *labels, ig_str line, int64_t ts_ns,
                  ig_arena *scratch, ig_str *out, ig_errbuf *eb);

/* Go's shortest float formatting as fmt %v prints a float64 (strconv 'g', -1). */
int lq__fmt_float(ig_buf *b, double v);

#endif
