/* The ingest role's request handlers: OTLP/HTTP (/v1/logs, /v1/traces, /v1/metrics),
 * Loki push (/loki/api/v1/push) and OTLP/gRPC (the three Export services). Each handler
 * resolves the tenant, decompresses with the body cap applied to the decompressed size,
 * decodes into rows, appends them to the WAL (blocking until durable) and answers in the
 * request's encoding. Design note: docs/ingest.md. */
#ifndef ICEGATE_INGEST_H
#define ICEGATE_INGEST_H

#include "icegate/config.h"
#include "icegate/grpc.h"
#include "icegate/http.h"
#include "icegate/limits.h"
#include "icegate/wal.h"

typedef struct ig_ingest ig_ingest;

/* cfg and wal are borrowed and must outlive the ingest context. */
int ig_ingest_new(const ig_config *cfg, ig_wal *wal, ig_ingest **out);
void ig_ingest_free(ig_ingest *ing);
/* Per-tenant limits to enforce (borrowed; must outlive the ingest context). Without it the
 * configured defaults (cfg->limits.defaults) apply to every tenant. Rate, line size,
 * labels per stream, request size and storage quota: docs/multi-tenancy.md. */
void ig_ingest_set_limits(ig_ingest *ing, ig_limits *limits);

/* OTLP/HTTP routes and Loki push on the OTLP/HTTP listener. */
int ig_ingest_register_http(ig_ingest *ing, ig_http_server *s);
/* Loki push only (the Loki listener, when ingest runs in the same process). */
int ig_ingest_register_loki_push(ig_ingest *ing, ig_http_server *s);
/* The three OTLP Export services. */
int ig_ingest_register_grpc(ig_ingest *ing, ig_grpc_server *s);

#endif
