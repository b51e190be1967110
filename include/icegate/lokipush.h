/* Loki push (POST /loki/api/v1/push): decodes a request body into rows of the logs
 * table and validates it the way Loki's distributor does. Design note:
 * docs/ingest-loki.md (mapping, validation order, limits, error texts).
 *
 *     ig_loki_push_opts o = {.tenant_id = t, .now_us = now, .arena = &req_arena,
 *                            .max_line_size = 256 << 10};
 *     ig_loki_push_result res;
 *     int rc = ig_loki_push_decode(body, is_protobuf, &o, &res, &eb);
 *     if (rc < 0)      answer res.http_status (400/413/422/500) with res.error, store nothing
 *     else             store res.rows (may be 0 rows), then answer res.http_status:
 *                      204, or 400 with res.error when some entries or streams were rejected
 *
 * Formats. JSON (Content-Type application/json):
 *     {"streams":[{"stream":{"k":"v",...},"values":[["<ns>","<line>"{,{"sm":"v"}}],...]}]}
 * the timestamp a string of Unix nanoseconds. Protobuf (any other Content-Type): a raw
 * (block, unframed) snappy-compressed logproto.PushRequest. A gzip/deflate
 * Content-Encoding is undone by the caller; the body handed here is what is left.
 *
 * Mapping (DESIGN §5: nothing added or derived): stream labels -> resource_attributes
 * (sorted by name, empty values dropped, as Loki's label parser does); structured
 * metadata -> attributes (names normalised as Loki's distributor does, e.g.
 * "trace.id" -> "trace_id"); service_name = the stream's service_name label or NULL;
 * body = line; timestamp = entry time in µs (floor of ns); observed null; ingested =
 * now_us; severity, trace and scope fields null; source = "loki"; tenant and account
 * from the options. Rows keep the order of the request (streams, then entries).
 *
 * Results. Whole-request failures (return < 0, nothing to store): a body that does not
 * decode or a label string that does not parse (400), the decompressed size over its cap
 * or too many entries (413, IG_ETOOBIG), a request with no stream (422, Loki's
 * "error at least one valid stream is required for ingestion"), the arena full (500,
 * IG_ENOMEM). Per-stream and per-entry validation failures (labels count, names,
 * duplicates, timestamps out of the accepted window, line or structured metadata too
 * large) reject only that stream or entry: the rest is returned as rows and the answer
 * is 400 with Loki's grouped message ("2 errors like: ...; 1 errors like: ..."), as
 * Loki stores the valid part of a push and reports the rest.
 *
 * Ownership: rows, their attribute arrays and every decoded or decompressed byte live in
 * o->arena; views into `body` are kept as well, so body and arena must outlive the rows
 * (until the WAL segment holding them is durable). tenant_id and account_id are copied
 * into the arena. Memory is bounded by the arena's cap (rows are about 300 bytes each;
 * a cap of 8x the decompressed body is ample for real clients). */
#ifndef ICEGATE_LOKIPUSH_H
#define ICEGATE_LOKIPUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/tables.h"

#define IG_LOKI_DEFAULT_MAX_DECOMPRESSED ((size_t)100 << 20) /* Loki max_recv_msg_size */
#define IG_LOKI_DEFAULT_MAX_LABELS 15u                       /* max_label_names_per_series */
#define IG_LOKI_DEFAULT_MAX_LABEL_NAME 1024u                 /* max_label_name_length */
#define IG_LOKI_DEFAULT_MAX_LABEL_VALUE 2048u                /* max_label_value_length */
#define IG_LOKI_DEFAULT_MAX_FUTURE_NS (600LL * 1000000000LL) /* creation_grace_period 10m */
#define IG_LOKI_DEFAULT_MAX_SM_BYTES ((size_t)64 << 10)      /* max_structured_metadata_size */
#define IG_LOKI_DEFAULT_MAX_SM_ENTRIES 128u         /* max_structured_metadata_entries_count */
#define IG_LOKI_MAX_LABELS_STRING ((size_t)1 << 24) /* Loki maxStreamLabelsSize, 16 MiB */

/* Limits of one push, normally the tenant's limits. For each limit 0 means "the default"
 * named above, except where said; SIZE_MAX / UINT32_MAX / INT64_MAX mean "no limit". */
typedef struct ig_loki_push_opts {
    ig_str tenant_id;               /* required (already validated) */
    ig_str account_id;              /* ptr NULL: no account */
    int64_t now_us;                 /* ingest time: ingested_timestamp and the future check */
    ig_arena *arena;                /* required: the request's arena */
    size_t max_decompressed_bytes;  /* protobuf: cap on the snappy-decoded size (413) */
    size_t max_line_size;           /* bytes per line; 0 = no limit (as Loki) */
    uint32_t max_labels_per_stream; /* label names per stream, service_name not counted */
    uint32_t max_label_name_length;
    uint32_t max_label_value_length;
    int64_t max_future_ns;   /* how far past now a timestamp may be */
    int64_t max_age_ns;      /* reject entries older than now - max_age; 0 = accept
                              * everything from 1970-01-01 on (DESIGN §2) */
    size_t max_sm_bytes;     /* structured metadata bytes per entry (names + values) */
    uint32_t max_sm_entries; /* structured metadata pairs per entry */
    size_t max_entries;      /* entries per request (413); 0 = no limit */
} ig_loki_push_opts;

typedef struct ig_loki_push_result {
    ig_rows rows;      /* IG_TABLE_LOGS, accepted entries in request order (arena) */
    uint64_t streams;  /* streams in the request */
    uint64_t accepted; /* == rows.n */
    uint64_t rejected; /* entries rejected by validation (whole streams included) */
    uint64_t bytes;    /* line + structured metadata bytes of the accepted entries (what
                        * Loki's ingestion rate limit counts) */
    int http_status;   /* 204, 400, 413, 422 or 500 */
    ig_str error;      /* Loki's text for the HTTP body, "" when none (arena or static;
                        * NUL-terminated) */
} ig_loki_push_result;

/* Decodes and validates one push body (see the top of this header). Returns 0 when the
 * request decoded (out->http_status 204, or 400 when something was rejected), or a
 * negative code with out->http_status and out->error set and no rows. eb (may be NULL)
 * receives the same message, truncated to its size. */
int ig_loki_push_decode(ig_str body, bool is_protobuf, const ig_loki_push_opts *o,
                        ig_loki_push_result *out, ig_errbuf *eb);

#endif
