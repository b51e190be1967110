/* Process-wide metrics registry rendered in the Prometheus text format on /metrics.
 *
 * A series is a metric name plus a label set given as rendered text, e.g.
 * `tenant="a",signal="logs"` (label values must be escaped with ig_metrics_label_escape).
 * Series are created on first use and live for the process lifetime; the number of
 * series is capped (tenant-driven label values cannot grow memory without bound): past
 * the cap, updates go to one series per family labelled overflow="true".
 * Updates are lock-free after creation; thread-safe. */
#ifndef ICEGATE_METRICS_H
#define ICEGATE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "icegate/buf.h"

typedef struct ig_metric ig_metric;

/* Returns the counter/gauge series name{labels} (labels may be NULL or ""), creating it.
 * help is used for the family the first time it is seen. Never returns NULL (falls back
 * to the overflow series, or a static sink when even that cannot be allocated). */
ig_metric *ig_counter(const char *name, const char *help, const char *labels);
ig_metric *ig_gauge(const char *name, const char *help, const char *labels);
/* Histogram with the given upper bounds (ascending, +Inf implied). bounds are copied
 * the first time the family is created; later calls reuse them. */
ig_metric *ig_histogram(const char *name, const char *help, const char *labels,
                        const double *bounds, int nbounds);

void ig_metric_add(ig_metric *m, double v);  /* counter or gauge */
void ig_metric_set(ig_metric *m, double v);  /* gauge */
void ig_metric_observe(ig_metric *m, double v); /* histogram */

/* Standard latency buckets in seconds. */
extern const double IG_LATENCY_BUCKETS[];
extern const int IG_LATENCY_NBUCKETS;

/* Appends the exposition text of every series. */
int ig_metrics_render(ig_buf *out);
/* Escapes a label value (\, ", newline) into dst (NUL-terminated, truncated to dstlen). */
void ig_metrics_label_escape(const char *v, char *dst, size_t dstlen);

#endif
