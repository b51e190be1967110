/* IceGate configuration: defaults, then a YAML file, then ICEGATE_* environment
 * variables. Every key is declared once in a table (src/core/config.c) with its type,
 * default, allowed range and environment variable; unknown keys and bad values are
 * rejected with one line naming the key, the value and what is allowed. */
#ifndef ICEGATE_CONFIG_H
#define ICEGATE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "icegate/err.h"
#include "icegate/limits.h"

typedef struct ig_listener_cfg {
    int port;     /* 0 disables the listener */
} ig_listener_cfg;

typedef struct ig_config {
    char *listen_host;
    char *data_dir;
    char *log_level;
    int64_t shutdown_timeout_ns;
    int64_t max_connections;
    int64_t http_idle_timeout_ns;
    int64_t http_max_inflight_bytes;

    struct {
        ig_listener_cfg listen;
        int64_t max_body_bytes;
    } otlp_http;
    struct {
        ig_listener_cfg listen;
        int64_t max_message_bytes;
    } otlp_grpc;
    struct {
        ig_listener_cfg listen;
        int64_t max_body_bytes;
        int64_t scan_threads; /* row groups read and filtered at once per query; 0 = CPUs */
    } loki;
    struct {
        ig_listener_cfg listen;
    } tempo;
    struct {
        ig_listener_cfg listen;
    } prometheus;

    struct {
        char *type;     /* "fs" (s3 later) */
        char *path;     /* fs root; default <data_dir>/warehouse */
    } storage;
    struct {
        char *type;     /* "sqlite" or "postgres" */
        char *uri;      /* sqlite file path or postgresql:// URI; default <data_dir>/catalog.db */
        ig_listener_cfg rest;
        char *rest_token;
    } catalog;
    struct {
        bool enabled;
        char *default_tenant;
        bool multi_tenant_queries;
    } auth;
    struct {
        int64_t flush_interval_ns;
        int64_t flush_rows;
        int64_t flush_bytes;
        int64_t queue_bytes;
    } wal;
    struct {
        ig_listener_cfg listen;
        int64_t shift_interval_ns;
        int64_t compact_interval_ns;
        int64_t retention_interval_ns;
        int64_t wal_grace_ns;
        int64_t target_file_bytes;
        int64_t lease_ttl_ns; /* leader lease lifetime (renewed at every scheduled run) */
        int64_t shift_memory_bytes; /* cap on the decoded rows of one shift commit */
        int64_t expire_keep_snapshots; /* expire-snapshots keeps the newest N */
        int64_t expire_min_age_ns;     /* ... and every snapshot younger than this (0: none) */
        int64_t orphan_min_age_ns;     /* remove-orphans safety age (0: no age check) */
    } maintain;
    struct {
        int64_t row_group_rows;
        int64_t page_bytes;
    } parquet;
    struct {
        ig_tenant_limits defaults; /* limits.<key> (include/icegate/limits.h) */
        char *overrides_file;      /* "" = none */
        int64_t overrides_period_ns;
        int64_t storage_recount_period_ns; /* recount of bytes stored per tenant */
    } limits;
} ig_config;

/* Role bits for `icegate run --role`. */
enum { IG_ROLE_INGEST = 1, IG_ROLE_QUERY = 2, IG_ROLE_MAINTAIN = 4, IG_ROLE_ALL = 7 };
/* Parses "all" or a comma list of ingest, query, maintain. */
int ig_roles_parse(const char *s, int *roles, ig_errbuf *eb);

/* Loads defaults, then `path` (if not NULL) and the environment `envp` (NULL-terminated
 * "K=V" strings; NULL means none). On error returns a negative code and a one-line
 * message in eb naming the key, the value and what is allowed. cfg must be freed with
 * ig_config_free even after an error. */
int ig_config_load(ig_config *cfg, const char *path, char *const *envp, ig_errbuf *eb);
void ig_config_free(ig_config *cfg);
/* Parses a size: a plain integer, or a number with B, KB, MB, GB, TB (1000s) or KiB, MiB,
 * GiB (1024s). 0 or IG_EINVAL / IG_ERANGE. */
int ig_config_parse_bytes(const char *v, int64_t *out);
/* Writes the effective configuration as YAML. */
void ig_config_dump(const ig_config *cfg, FILE *out);

#endif
