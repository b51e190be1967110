/* Per-tenant usage state of this process (prefix ig_usage_): ingestion token buckets,
 * bytes stored (WAL + Iceberg) for the storage quota, and the tenant label used on
 * /metrics. Operator doc: docs/multi-tenancy.md.
 *
 * Tenants are tracked in one map capped at IG_USAGE_MAX_TENANTS entries; tenants seen
 * after the cap share one state (tenant "__overflow__"), so tenant input can never grow
 * the process without bound. Metric label values are capped separately and lower
 * (IG_USAGE_MAX_LABELS): the first tenants seen get their own label value, later ones
 * are reported as tenant="__overflow__".
 *
 * Stored bytes: a counter per tenant raised at ingest by the request's share of the WAL
 * segment bytes (estimated row bytes times this process's measured segment/row-bytes
 * ratio) and replaced by an exact recount (ig_usage_stored_set) from a listing of the
 * WAL and the Iceberg tables, done at start and periodically by the server.
 *
 * Thread-safe: one mutex around the map (a few hundred ns per request). */
#ifndef ICEGATE_USAGE_H
#define ICEGATE_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "icegate/buf.h"

#define IG_USAGE_MAX_TENANTS 100000
#define IG_USAGE_MAX_LABELS 10000
#define IG_USAGE_OVERFLOW "__overflow__"

/* Token bucket: takes n bytes from the tenant's bucket (refilled at rate bytes/s up to
 * burst bytes; a new tenant starts full). Returns true when allowed (the tokens are
 * taken), false when not (nothing taken; *retry_after_s gets the whole seconds, >= 1,
 * after which a request of n bytes would fit, or 0 when it never can: n > burst).
 * rate <= 0 means no limit. now_ns is monotonic. */
bool ig_usage_take(ig_str tenant, int64_t rate, int64_t burst, int64_t n, int64_t now_ns,
                   int64_t *retry_after_s);

/* Bytes stored for the tenant (counter; see above). */
int64_t ig_usage_stored(ig_str tenant);
void ig_usage_stored_add(ig_str tenant, int64_t bytes);
/* Replaces the counter after a recount. A recount running alongside ingest passes its
 * result plus what ig_usage_stored_added() grew by while it ran. */
void ig_usage_stored_set(ig_str tenant, int64_t bytes);
/* Counter of bytes ever added for the tenant by ig_usage_stored_add (for recounts). */
int64_t ig_usage_stored_added(ig_str tenant);

/* Calls fn for every tracked tenant (under no lock: names are copied first, at most
 * max of them). Returns the count visited. */
int ig_usage_foreach_tenant(void (*fn)(ig_str tenant, void *ud), void *ud, int max);

/* Writes the escaped label value for the tenant into dst ("__overflow__" past the label
 * cap; dst >= 2 * IG_TENANT_MAX_LEN + 2). */
void ig_usage_tenant_label(ig_str tenant, char *dst, size_t dstlen);

/* Counts a rejected ingest request of `records` records and `bytes` bytes for tenant,
 * signal ("logs", "traces", "metrics") and reason (a fixed word: rate_limited,
 * line_too_long, max_label_names_per_series, request_too_large, storage_quota, ...). */
void ig_usage_count_rejection(ig_str tenant, const char *signal, const char *reason,
                              uint64_t records, uint64_t bytes);

/* Counts a finished query-API request of tenant (every tenant of a multi-tenant query is
 * counted) on `api` ("loki", ...) and `endpoint` (a fixed word: query, query_range,
 * labels, ...), with outcome "ok" (2xx) or "error", and observes its latency in seconds:
 * icegate_query_requests_total and icegate_query_duration_seconds. */
void ig_usage_count_query(ig_str tenant, const char *api, const char *endpoint, int status,
                          double seconds);

/* Forgets every tenant (tests). */
void ig_usage_reset(void);

#endif
