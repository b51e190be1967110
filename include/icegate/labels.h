/* Prometheus label strings, as Loki's push path reads and prints them.
 * Design note: docs/ingest-loki.md.
 *
 * Parsing follows Loki's syntax.ParseLabels, which is Prometheus' ParseMetric
 * (promql/parser) followed by dropping labels with empty values:
 *
 *     [metric_name] [ "{" [ item { "," item } [","] ] "}" ]
 *     item  := name "=" string | string "=" string | string      (the last: __name__)
 *     name  := [a-zA-Z_][a-zA-Z0-9_]*          (a quoted name may hold any UTF-8)
 *     string:= "..." | '...' with Go escapes (\a \b \f \n \r \t \v \\ \<quote>, \NNN octal,
 *               \xHH, \uHHHH, \UHHHHHHHH) | `raw` (no escapes, may span lines)
 *
 * Whitespace (space, tab, CR, LF) and `#` comments may separate tokens. A metric name
 * ([a-zA-Z_:][a-zA-Z0-9_:]*) before the braces becomes the label __name__. An empty input
 * and "{}" are valid and give no labels (the push path then reports Loki's "error at
 * least one label pair is required per stream"). Duplicate names are kept (the push
 * path reports them with Loki's text). Invalid UTF-8 and U+FFFD inside a quoted string
 * are rejected, as Prometheus' lexer does.
 *
 * Errors have Prometheus' wording, with the 1-based line:column of the offending token:
 *     1:7: parse error: unexpected end of input inside braces
 *     1:4: parse error: unexpected identifier "b" in label set, expected string
 *     1:3: parse error: unexpected character inside braces: '.'
 *
 * Ownership: names and values are views into `in` when they had no escapes, else copies
 * in the arena; the array is allocated in the arena. Nothing else is allocated. */
#ifndef ICEGATE_LABELS_H
#define ICEGATE_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/tables.h"

enum ig_labels_flags {
    IG_LABELS_SORT = 1,       /* sort by name (bytewise), then value */
    IG_LABELS_DROP_EMPTY = 2, /* drop labels whose value is "" (Prometheus WithoutEmpty) */
    IG_LABELS_LOKI = 3        /* both: what Loki's syntax.ParseLabels returns */
};

/* Parses a label string. 0 with *out set (items in the arena; n may be 0), IG_EINVAL
 * with a Prometheus-style message in eb for a syntax error, IG_ENOMEM when the arena is
 * full. The arena and eb are borrowed; eb may be NULL. */
int ig_labels_parse(ig_str in, unsigned flags, ig_arena *arena, ig_attrs *out, ig_errbuf *eb);

/* Whether s is a legacy Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
bool ig_label_name_valid(ig_str s);

/* Appends the labels as Prometheus' labels.String() prints them:
 * {a="b", c="d\"e"} (values quoted as Go's strconv.Quote; names that are not legacy
 * names are quoted too). The order is the given one. 0, IG_ETOOBIG or IG_ENOMEM. */
int ig_labels_format(ig_buf *out, const ig_attr *items, size_t n);

/* Appends s quoted as Go's strconv.Quote does ("..." with \" \\ \n \t \xNN \u00NN ...).
 * With max_runes > 0 only the first max_runes characters are quoted, as Go's %.Nq does. */
int ig_go_quote(ig_buf *out, ig_str s, size_t max_runes);

/* Loki's structured-metadata name normalisation (Prometheus otlptranslator LabelNamer,
 * which Loki's distributor applies to every pushed structured-metadata name): every
 * character outside [A-Za-z0-9] becomes '_' with runs collapsed to one '_', "__x__"
 * keeps its double underscores, a leading digit gets the prefix "key_". Returns 0 with
 * *out = s (a view) when nothing changes, or a copy in the arena; IG_EINVAL with Loki's
 * message ("label name is empty", "normalization for label name \"...\" resulted in
 * invalid name \"_\"") for an empty name or one that is only underscores afterwards;
 * IG_ENOMEM. */
int ig_label_name_normalize(ig_str s, ig_arena *arena, ig_str *out, ig_errbuf *eb);

#endif
