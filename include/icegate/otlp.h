/* OTLP request decoding: ExportLogsServiceRequest, ExportTraceServiceRequest and
 * ExportMetricsServiceRequest, as protobuf (zero-copy, include/icegate/pb.h) or OTLP/JSON
 * (include/icegate/json.h), straight into ig_rows batches (include/icegate/tables.h).
 * Design note and the full field mapping: docs/ingest-otlp.md.
 *
 * Two kinds of bad input (DESIGN §4):
 *   - the request does not decode: malformed protobuf or JSON, invalid UTF-8 in a
 *     protobuf string, a JSON value of the wrong type, an OTLP/JSON id that is not hex of
 *     the right length, an unknown enum name, a number out of its field's range, a cap
 *     exceeded. ig_otlp_decode returns a negative code, eb names the place
 *     (resourceLogs[0].scopeLogs[0].logRecords[3].traceId) and the problem, and nothing
 *     of the request may be stored (the caller answers 400, or 413 for IG_ETOOBIG);
 *   - the request decodes but some records are unusable (span ids all zero or of the
 *     wrong length, span without start time, metric point without time or value,
 *     unspecified temporality, histogram buckets not matching bounds, ...): those records
 *     are counted in out->rejected with the first reason in out->reason (OTLP partial
 *     success); every other record is in out->rows.
 *
 * Memory: every row, attribute array, rendered value and copied string is allocated in
 * ctx->arena; strings that need no rewriting are views into `body`. Both must outlive
 * the rows (until the request is answered). Transient scratch (growing vectors, the
 * JSON reader's buffers) comes from ig_malloc, is bounded by the arena cap, and is freed
 * before ig_otlp_decode returns, on success and on error. Nothing is allocated per
 * attribute on the heap. */
#ifndef ICEGATE_OTLP_H
#define ICEGATE_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/tables.h"

typedef enum ig_signal {
    IG_SIGNAL_LOGS = 0,
    IG_SIGNAL_TRACES = 1,
    IG_SIGNAL_METRICS = 2,
    IG_SIGNAL_COUNT_ = 3
} ig_signal;

typedef enum ig_otlp_encoding {
    IG_OTLP_PROTOBUF = 0, /* application/x-protobuf, and gRPC messages */
    IG_OTLP_JSON = 1      /* application/json (OTLP/JSON) */
} ig_otlp_encoding;

/* Defaults used when the ctx caps are 0. */
#define IG_OTLP_DEFAULT_MAX_ATTRS 1024u
#define IG_OTLP_DEFAULT_MAX_RECORDS 1000000u

typedef struct ig_ingest_ctx {
    ig_str tenant_id;             /* validated by the caller; copied by view into every row */
    ig_str account_id;            /* ptr NULL = no account */
    int64_t now_us;               /* ingest time: ingested_timestamp, and a log record's time when
                                     it has neither time nor observed time */
    ig_arena *arena;              /* all output memory; its cap bounds what one request may use
                                     (past it: IG_ETOOBIG "decoded request exceeds ... bytes") */
    uint32_t max_attrs_per_level; /* cap on the entries of any one attribute list
                          (resource, scope, record/span/point, span event, link,
                          exemplar, metric metadata); more → the whole request fails
                          with IG_EINVAL naming the list (400, as Loki does for too many
                          labels). 0 = IG_OTLP_DEFAULT_MAX_ATTRS. */
    size_t max_records;           /* cap on records per request (log records + spans + data
                                    points, rejected ones included); more → IG_ETOOBIG (413).
                                    0 = IG_OTLP_DEFAULT_MAX_RECORDS. */
} ig_ingest_ctx;

typedef struct ig_decode_result {
    /* rows[IG_TABLE_LOGS] and rows[IG_TABLE_EVENTS] from a logs request (a record with an
     * event name is in both), rows[IG_TABLE_SPANS] from traces, rows[IG_TABLE_METRICS]
     * from metrics (one row per data point). Tables not produced have n == 0. Rows are in
     * request order (not sorted). */
    ig_rows rows[IG_TABLE_COUNT_];
    uint64_t accepted; /* log records / spans / data points stored (events not counted
                          again) */
    uint64_t rejected; /* records that decoded but are unusable (OTLP partial success:
                          rejected_log_records / rejected_spans / rejected_data_points) */
    char reason[256];  /* first rejection reason (place and problem), "" if none */
    uint64_t bytes;    /* request body bytes (after decompression), for usage metrics */
} ig_decode_result;

/* Decodes one Export{Logs,Trace,Metrics}ServiceRequest (`body`, borrowed; rows keep views
 * into it) for `signal` in `encoding` into *out (fully overwritten). Returns 0 — also
 * when some records were rejected, see out->rejected — or a negative code with a message
 * in eb: IG_ECORRUPT (malformed input), IG_EINVAL (well-formed but not valid OTLP: wrong
 * JSON type, bad id, unknown enum name, attribute cap), IG_ETOOBIG (record cap or arena
 * cap), IG_ENOMEM (allocation failure). On error *out is zeroed and rows must not be
 * used; arena memory already handed out stays in the arena (freed with it). */
int ig_otlp_decode(ig_signal signal, ig_otlp_encoding encoding, ig_str body,
                   const ig_ingest_ctx *ctx, ig_decode_result *out, ig_errbuf *eb);

/* "logs", "traces", "metrics". */
const char *ig_signal_name(ig_signal s);

#endif
