/* Configuration: one table of keys; defaults, YAML file, then environment. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "icegate/alloc.h"
#include "icegate/buf.h"
#include "icegate/config.h"
#include "icegate/log.h"
#include "icegate/time.h"

typedef enum { K_STR, K_INT, K_PORT, K_BOOL, K_BYTES, K_DURATION, K_ENUM } key_type;

typedef struct key_desc {
    const char *key;  /* dotted path */
    key_type type;
    size_t off;       /* offset in ig_config */
    const char *def;  /* default as text */
    const char *env;  /* environment variable or NULL */
    int64_t min, max; /* for K_INT, K_BYTES, K_DURATION */
    const char *allowed; /* for K_ENUM: '|'-separated values; K_DURATION: "0" = 0 is
                            also allowed (disables what the key schedules) */
} key_desc;

#define OFF(f) offsetof(ig_config, f)
#define I64MAX INT64_MAX

static const key_desc KEYS[] = {
    {"listen_host", K_STR, OFF(listen_host), "0.0.0.0", "ICEGATE_LISTEN_HOST", 0, 0, NULL},
    {"data_dir", K_STR, OFF(data_dir), "./data", "ICEGATE_DATA_DIR", 0, 0, NULL},
    {"log_level", K_ENUM, OFF(log_level), "info", "ICEGATE_LOG_LEVEL", 0, 0,
     "debug|info|warn|error"},
    {"shutdown_timeout", K_DURATION, OFF(shutdown_timeout_ns), "30s", NULL, 0, 3600 * IG_NS_PER_S,
     NULL},
    {"max_connections", K_INT, OFF(max_connections), "1024", NULL, 1, 65536, NULL},
    {"http_max_inflight_bytes", K_BYTES, OFF(http_max_inflight_bytes), "1GiB", NULL, 1 << 20,
     1LL << 40, NULL},
    {"http_idle_timeout", K_DURATION, OFF(http_idle_timeout_ns), "60s", NULL, IG_NS_PER_S,
     3600 * IG_NS_PER_S, NULL},

    {"otlp_http.port", K_PORT, OFF(otlp_http.listen.port), "4318", "ICEGATE_OTLP_HTTP_PORT", 0, 0,
     NULL},
    {"otlp_http.max_body_bytes", K_BYTES, OFF(otlp_http.max_body_bytes), "16MiB", NULL, 1024,
     1LL << 32, NULL},
    {"otlp_grpc.port", K_PORT, OFF(otlp_grpc.listen.port), "4317", "ICEGATE_OTLP_GRPC_PORT", 0, 0,
     NULL},
    {"otlp_grpc.max_message_bytes", K_BYTES, OFF(otlp_grpc.max_message_bytes), "16MiB", NULL,
     1024, 1LL << 32, NULL},
    {"loki.port", K_PORT, OFF(loki.listen.port), "3100", "ICEGATE_LOKI_PORT", 0, 0, NULL},
    {"loki.max_body_bytes", K_BYTES, OFF(loki.max_body_bytes), "16MiB", NULL, 1024, 1LL << 32,
     NULL},
    {"loki.scan_threads", K_INT, OFF(loki.scan_threads), "0", "ICEGATE_SCAN_THREADS", 0, 256,
     NULL},
    {"tempo.port", K_PORT, OFF(tempo.listen.port), "3200", "ICEGATE_TEMPO_PORT", 0, 0, NULL},
    {"prometheus.port", K_PORT, OFF(prometheus.listen.port), "9090", "ICEGATE_PROMETHEUS_PORT", 0,
     0, NULL},

    {"storage.type", K_ENUM, OFF(storage.type), "fs", NULL, 0, 0, "fs"},
    {"storage.path", K_STR, OFF(storage.path), "", NULL, 0, 0, NULL},
    {"catalog.type", K_ENUM, OFF(catalog.type), "sqlite", NULL, 0, 0, "sqlite|postgres"},
    {"catalog.uri", K_STR, OFF(catalog.uri), "", NULL, 0, 0, NULL},
    {"catalog.rest.port", K_PORT, OFF(catalog.rest.port), "8181", "ICEGATE_CATALOG_PORT", 0, 0,
     NULL},
    {"catalog.rest.token", K_STR, OFF(catalog.rest_token), "", NULL, 0, 0, NULL},

    {"auth.enabled", K_BOOL, OFF(auth.enabled), "true", "ICEGATE_AUTH_ENABLED", 0, 0, NULL},
    {"auth.default_tenant", K_STR, OFF(auth.default_tenant), "default", NULL, 0, 0, NULL},
    {"auth.multi_tenant_queries", K_BOOL, OFF(auth.multi_tenant_queries), "false",
     "ICEGATE_MULTI_TENANT_QUERIES", 0, 0, NULL},

    {"wal.flush_interval", K_DURATION, OFF(wal.flush_interval_ns), "200ms", NULL, IG_NS_PER_MS,
     60 * IG_NS_PER_S, NULL},
    {"wal.flush_rows", K_INT, OFF(wal.flush_rows), "65536", NULL, 1, 1 << 24, NULL},
    {"wal.flush_bytes", K_BYTES, OFF(wal.flush_bytes), "64MiB", NULL, 4096, 1LL << 32, NULL},
    {"wal.queue_bytes", K_BYTES, OFF(wal.queue_bytes), "256MiB", NULL, 1 << 20, 1LL << 36, NULL},

    {"maintain.port", K_PORT, OFF(maintain.listen.port), "8080", "ICEGATE_MAINTAIN_PORT", 0, 0,
     NULL},
    {"maintain.shift_interval", K_DURATION, OFF(maintain.shift_interval_ns), "30s", NULL,
     IG_NS_PER_S / 10, 86400 * IG_NS_PER_S, "0"}, /* or 0: no schedule (run on request only) */
    {"maintain.compact_interval", K_DURATION, OFF(maintain.compact_interval_ns), "5m", NULL,
     IG_NS_PER_S, 86400 * IG_NS_PER_S, NULL},
    {"maintain.retention_interval", K_DURATION, OFF(maintain.retention_interval_ns), "1h", NULL,
     IG_NS_PER_S, 7 * 86400 * IG_NS_PER_S, NULL},
    {"maintain.wal_grace_period", K_DURATION, OFF(maintain.wal_grace_ns), "10m", NULL, 0,
     86400 * IG_NS_PER_S, NULL},
    {"maintain.target_file_bytes", K_BYTES, OFF(maintain.target_file_bytes), "128MiB", NULL,
     1 << 20, 1LL << 34, NULL},
    {"maintain.shift_memory", K_BYTES, OFF(maintain.shift_memory_bytes), "512MiB", NULL,
     16 << 20, 1LL << 40, NULL},
    {"maintain.lease_ttl", K_DURATION, OFF(maintain.lease_ttl_ns), "60s", NULL, IG_NS_PER_S,
     86400 * IG_NS_PER_S, NULL},
    {"maintain.expire_keep_snapshots", K_INT, OFF(maintain.expire_keep_snapshots), "100", NULL,
     1, 1000000, NULL},
    {"maintain.expire_min_age", K_DURATION, OFF(maintain.expire_min_age_ns), "30m", NULL, 0,
     3650 * 86400 * IG_NS_PER_S, NULL},
    {"maintain.orphan_min_age", K_DURATION, OFF(maintain.orphan_min_age_ns), "24h", NULL, 0,
     3650 * 86400 * IG_NS_PER_S, NULL}, /* 0: no age check (only when nothing else writes) */

    {"parquet.row_group_rows", K_INT, OFF(parquet.row_group_rows), "65536", NULL, 1, 1 << 24,
     NULL},
    {"parquet.page_bytes", K_BYTES, OFF(parquet.page_bytes), "1MiB", NULL, 1024, 1 << 30, NULL},

    /* Keep limits last: ig_config_dump prints the per-tenant defaults after these. The
     * per-tenant keys (limits.max_line_size, ...) are declared in src/core/limits.c. */
    {"limits.overrides_file", K_STR, OFF(limits.overrides_file), "", NULL, 0, 0, NULL},
    {"limits.overrides_period", K_DURATION, OFF(limits.overrides_period_ns), "10s", NULL,
     IG_NS_PER_S / 10, 3600 * IG_NS_PER_S, NULL},
    {"limits.storage_recount_period", K_DURATION, OFF(limits.storage_recount_period_ns), "1m",
     NULL, IG_NS_PER_S / 10, 86400 * IG_NS_PER_S, NULL},
};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static const key_desc *find_key(const char *path)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(KEYS[i].key, path) == 0)
            return &KEYS[i];
    return NULL;
}

/* True if path ("" for the root) is a section: some key starts with "path.". */
static bool is_section(const char *path, size_t plen)
{
    if (plen == 0)
        return true;
    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(KEYS[i].key, path, plen) == 0 && KEYS[i].key[plen] == '.')
            return true;
    return false;
}

/* Parses sizes: a plain integer, or a number with B, KB, MB, GB (1000s) or KiB, MiB,
 * GiB (1024s); K/M/G alone are taken as binary. */
static int parse_bytes(const char *v, int64_t *out);

int ig_config_parse_bytes(const char *v, int64_t *out)
{
    return parse_bytes(v, out);
}

static int parse_bytes(const char *v, int64_t *out)
{
    if (!(v[0] >= '0' && v[0] <= '9') && v[0] != '.')
        return IG_EINVAL; /* no sign, space, "inf" or "nan" */
    char *end;
    errno = 0;
    double n = strtod(v, &end);
    for (const char *c = v; c < end; c++)
        if (*c == 'x' || *c == 'X')
            return IG_EINVAL; /* no hexadecimal */
    if (end == v || errno || !(n >= 0)) /* !(n >= 0) also rejects NaN */
        return IG_EINVAL;
    while (*end == ' ')
        end++;
    static const struct {
        const char *u;
        double m;
    } units[] = {{"", 1},           {"B", 1},           {"KB", 1e3},        {"MB", 1e6},
                 {"GB", 1e9},       {"TB", 1e12},       {"K", 1024.0},      {"KiB", 1024.0},
                 {"M", 1048576.0},  {"MiB", 1048576.0}, {"G", 1073741824.0}, {"GiB", 1073741824.0},
                 {"Ki", 1024.0},    {"Mi", 1048576.0},  {"Gi", 1073741824.0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].u) == 0) {
            double r = n * units[i].m;
            if (r > 9.2e18)
                return IG_ERANGE;
            *out = (int64_t)r;
            return 0;
        }
    }
    return IG_EINVAL;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") ||
        !strcasecmp(v, "off")) {
        *out = false;
        return 0;
    }
    return IG_EINVAL;
}

static bool enum_allows(const char *allowed, const char *v)
{
    size_t n = strlen(v);
    const char *p = allowed;
    while (*p) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, v, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static char **str_field(ig_config *c, const key_desc *k)
{
    return (char **)((char *)c + k->off);
}

/* Applies one textual value; on error fills eb with "config: <src> key K: value "V" ...". */
static int apply(ig_config *c, const key_desc *k, const char *v, const char *src, ig_errbuf *eb)
{
    char *base = (char *)c + k->off;
    int64_t i64;
    switch (k->type) {
    case K_STR:
    case K_ENUM: {
        if (k->type == K_ENUM && !enum_allows(k->allowed, v))
            return ig_err(eb, IG_EINVAL, "config: %s %s: value \"%s\" is not allowed (one of %s)",
                          src, k->key, v, k->allowed);
        char *d = ig_strdup(v);
        if (!d)
            return IG_ENOMEM;
        char **f = str_field(c, k);
        ig_free(*f);
        *f = d;
        return 0;
    }
    case K_BOOL:
        if (parse_bool(v, (bool *)base))
            return ig_err(eb, IG_EINVAL,
                          "config: %s %s: value \"%s\" is not allowed (true or false)", src, k->key,
                          v);
        return 0;
    case K_PORT:
        if (ig_str_to_i64(ig_str_from(v), &i64) || i64 < 0 || i64 > 65535)
            return ig_err(eb, IG_EINVAL,
                          "config: %s %s: value \"%s\" is not allowed (a port 0..65535; 0 "
                          "disables the listener)",
                          src, k->key, v);
        *(int *)base = (int)i64;
        return 0;
    case K_INT:
        if (ig_str_to_i64(ig_str_from(v), &i64) || i64 < k->min || i64 > k->max)
            return ig_err(eb, IG_EINVAL,
                          "config: %s %s: value \"%s\" is not allowed (an integer %" PRId64
                          "..%" PRId64 ")",
                          src, k->key, v, k->min, k->max);
        *(int64_t *)base = i64;
        return 0;
    case K_BYTES:
        if (parse_bytes(v, &i64) || i64 < k->min || i64 > k->max)
            return ig_err(eb, IG_EINVAL,
                          "config: %s %s: value \"%s\" is not allowed (a size such as 16MiB, "
                          "from %" PRId64 " to %" PRId64 " bytes)",
                          src, k->key, v, k->min, k->max);
        *(int64_t *)base = i64;
        return 0;
    case K_DURATION: {
        char lo[32], hi[32];
        bool zero_ok = k->allowed && !strcmp(k->allowed, "0");
        if (ig_duration_parse(ig_str_from(v), 0, &i64) ||
            ((i64 < k->min || i64 > k->max) && !(zero_ok && i64 == 0))) {
            ig_duration_format(k->min, lo, sizeof lo);
            ig_duration_format(k->max, hi, sizeof hi);
            return ig_err(eb, IG_EINVAL,
                          "config: %s %s: value \"%s\" is not allowed (a duration such as 30s or "
                          "1h30m, %sfrom %s to %s)",
                          src, k->key, v, zero_ok ? "0 to disable, or " : "", lo, hi);
        }
        *(int64_t *)base = i64;
        return 0;
    }
    }
    return IG_EINTERNAL;
}

/* Walks a YAML mapping, building dotted paths. */
static int walk(ig_config *c, yaml_document_t *doc, yaml_node_t *node, char *path, size_t plen,
                const char *file, ig_errbuf *eb)
{
    if (node->type == YAML_MAPPING_NODE) {
        /* Only sections are mappings (this also bounds the depth of the walk). */
        if (!is_section(path, plen))
            return ig_err(eb, IG_EINVAL, "config: %s %s: unknown key", file, path);
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            yaml_node_t *v = yaml_document_get_node(doc, p->value);
            if (!k || k->type != YAML_SCALAR_NODE)
                return ig_err(eb, IG_EINVAL, "config: %s: keys must be plain names", file);
            const char *ks = (const char *)k->data.scalar.value;
            size_t kl = k->data.scalar.length;
            if (plen + kl + 2 > 256)
                return ig_err(eb, IG_EINVAL, "config: %s: key path too long", file);
            size_t n = plen;
            if (n)
                path[n++] = '.';
            memcpy(path + n, ks, kl);
            path[n + kl] = 0;
            int rc = walk(c, doc, v, path, n + kl, file, eb);
            path[plen] = 0;
            if (rc)
                return rc;
        }
        return 0;
    }
    const key_desc *kd = find_key(path);
    if (!kd && node->type == YAML_SCALAR_NODE && node->data.scalar.length == 0 &&
        node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && is_section(path, plen))
        return 0; /* "loki:" with every key below it commented out: an empty section */
    if (!kd && plen > 7 && strncmp(path, "limits.", 7) == 0 &&
        node->type == YAML_SCALAR_NODE) {
        /* A per-tenant limit's default (src/core/limits.c declares them). */
        char msg[sizeof eb->msg];
        int lrc = ig_tenant_limits_set(&c->limits.defaults, path + 7,
                                       (const char *)node->data.scalar.value, msg, sizeof msg);
        if (lrc)
            return ig_err(eb, IG_EINVAL, "config: %s %s: %s", file, path, msg);
        return 0;
    }
    if (!kd) {
        /* A section name used as a scalar, or a key we do not know. */
        return ig_err(eb, IG_EINVAL, "config: %s %s: unknown key", file, plen ? path : "(root)");
    }
    if (node->type != YAML_SCALAR_NODE)
        return ig_err(eb, IG_EINVAL, "config: %s %s: expected a single value, not a %s", file,
                      path, node->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
    char src[300];
    snprintf(src, sizeof src, "%s", file);
    return apply(c, kd, (const char *)node->data.scalar.value, src, eb);
}

static int load_yaml(ig_config *c, const char *path, ig_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ig_err(eb, IG_ENOENT, "config: cannot open %s: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = 0;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return IG_ENOMEM;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = ig_err(eb, IG_EINVAL, "config: %s line %zu: %s", path, parser.problem_mark.line + 1,
                    parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        fclose(f);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) {
        if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0) {
            /* empty document */
        } else if (root->type != YAML_MAPPING_NODE) {
            rc = ig_err(eb, IG_EINVAL, "config: %s: the top level must be a mapping of sections",
                        path);
        } else {
            char kp[256] = "";
            rc = walk(c, &doc, root, kp, 0, path, eb);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

int ig_roles_parse(const char *s, int *roles, ig_errbuf *eb)
{
    int r = 0;
    const char *p = s;
    if (!s || !*s)
        return ig_err(eb, IG_EINVAL, "--role: value \"\" is not allowed (all, or a comma list of "
                                     "ingest, query, maintain)");
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 3 && !strncmp(p, "all", 3))
            r |= IG_ROLE_ALL;
        else if (l == 6 && !strncmp(p, "ingest", 6))
            r |= IG_ROLE_INGEST;
        else if (l == 5 && !strncmp(p, "query", 5))
            r |= IG_ROLE_QUERY;
        else if (l == 8 && !strncmp(p, "maintain", 8))
            r |= IG_ROLE_MAINTAIN;
        else
            return ig_err(eb, IG_EINVAL,
                          "--role: value \"%s\" is not allowed (all, or a comma list of ingest, "
                          "query, maintain)",
                          s);
        if (!e)
            break;
        p = e + 1;
    }
    *roles = r;
    return 0;
}

static int config_load(ig_config *c, const char *path, char *const *envp, ig_errbuf *eb)
{
    memset(c, 0, sizeof *c);
    ig_tenant_limits_defaults(&c->limits.defaults);
    int rc;
    for (size_t i = 0; i < NKEYS; i++)
        if ((rc = apply(c, &KEYS[i], KEYS[i].def, "default", eb)))
            return rc;
    if (path && (rc = load_yaml(c, path, eb)))
        return rc;
    for (char *const *e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || strncmp(*e, "ICEGATE_", 8) != 0)
            continue;
        size_t nl = (size_t)(eq - *e);
        for (size_t i = 0; i < NKEYS; i++) {
            const char *ev = KEYS[i].env;
            if (ev && strlen(ev) == nl && strncmp(ev, *e, nl) == 0) {
                char key_src[128];
                snprintf(key_src, sizeof key_src, "environment %s sets", ev);
                if ((rc = apply(c, &KEYS[i], eq + 1, key_src, eb)))
                    return rc;
            }
        }
    }
    /* Derived defaults. */
    ig_buf b;
    if (!c->storage.path[0]) {
        ig_buf_init(&b, 4096);
        if (ig_buf_printf(&b, "%s/warehouse", c->data_dir))
            return IG_ENOMEM;
        ig_free(c->storage.path);
        c->storage.path = ig_buf_detach(&b, NULL);
    }
    if (!c->catalog.uri[0] && strcmp(c->catalog.type, "sqlite") == 0) {
        ig_buf_init(&b, 4096);
        if (ig_buf_printf(&b, "%s/catalog.db", c->data_dir))
            return IG_ENOMEM;
        ig_free(c->catalog.uri);
        c->catalog.uri = ig_buf_detach(&b, NULL);
    }
    if (!c->data_dir[0])
        return ig_err(eb, IG_EINVAL, "config: data_dir: value \"\" is not allowed (a directory)");
    /* Every enabled listener needs a port of its own. */
    for (size_t i = 0; i < NKEYS; i++) {
        if (KEYS[i].type != K_PORT)
            continue;
        int pi = *(const int *)((const char *)c + KEYS[i].off);
        for (size_t j = i + 1; pi && j < NKEYS; j++)
            if (KEYS[j].type == K_PORT && *(const int *)((const char *)c + KEYS[j].off) == pi)
                return ig_err(eb, IG_EINVAL,
                              "config: %s and %s: value \"%d\" is not allowed for both (each "
                              "listener needs its own port; 0 disables one)",
                              KEYS[i].key, KEYS[j].key, pi);
    }
    if (!c->auth.default_tenant[0])
        return ig_err(eb, IG_EINVAL,
                      "config: auth.default_tenant: value \"\" is not allowed (a tenant id)");
    return 0;
}

int ig_config_load(ig_config *c, const char *path, char *const *envp, ig_errbuf *eb)
{
    int rc = config_load(c, path, envp, eb);
    /* Messages quote keys and values from the file: keep them on one line. */
    if (rc && eb)
        for (char *p = eb->msg; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
    return rc;
}

void ig_config_free(ig_config *c)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (KEYS[i].type == K_STR || KEYS[i].type == K_ENUM) {
            char **f = str_field(c, &KEYS[i]);
            ig_free(*f);
            *f = NULL;
        }
}

static void dump_value(const ig_config *c, const key_desc *k, FILE *out)
{
    const char *base = (const char *)c + k->off;
    char tmp[64];
    switch (k->type) {
    case K_STR:
    case K_ENUM: {
        ig_buf b;
        ig_buf_init(&b, 0);
        ig_buf_json_str(&b, ig_str_from(*(char *const *)base));
        fputs(b.data ? b.data : "\"\"", out);
        ig_buf_free(&b);
        break;
    }
    case K_BOOL: fputs(*(const bool *)base ? "true" : "false", out); break;
    case K_PORT: fprintf(out, "%d", *(const int *)base); break;
    case K_INT:
    case K_BYTES: fprintf(out, "%" PRId64, *(const int64_t *)base); break;
    case K_DURATION:
        ig_duration_format(*(const int64_t *)base, tmp, sizeof tmp);
        fputs(tmp, out);
        break;
    }
}

void ig_config_dump(const ig_config *c, FILE *out)
{
    /* Keys are declared grouped by section, so sections can be opened as they change. */
    char open[3][64] = {"", "", ""};
    for (size_t i = 0; i < NKEYS; i++) {
        const char *k = KEYS[i].key;
        const char *parts[4];
        size_t lens[4];
        int n = 0;
        const char *p = k;
        while (n < 4) {
            const char *d = strchr(p, '.');
            parts[n] = p;
            lens[n] = d ? (size_t)(d - p) : strlen(p);
            n++;
            if (!d)
                break;
            p = d + 1;
        }
        for (int lvl = 0; lvl < n - 1 && lvl < 3; lvl++) {
            if (strlen(open[lvl]) != lens[lvl] || strncmp(open[lvl], parts[lvl], lens[lvl])) {
                snprintf(open[lvl], sizeof open[lvl], "%.*s", (int)lens[lvl], parts[lvl]);
                for (int j = lvl + 1; j < 3; j++)
                    open[j][0] = 0;
                fprintf(out, "%*s%s:\n", lvl * 2, "", open[lvl]);
            }
        }
        if (n == 1)
            open[0][0] = 0;
        fprintf(out, "%*s%.*s: ", (n - 1) * 2, "", (int)lens[n - 1], parts[n - 1]);
        dump_value(c, &KEYS[i], out);
        fputc('\n', out);
    }
    /* The limits section is last (see KEYS): its per-tenant defaults follow. */
    ig_buf b;
    ig_buf_init(&b, 0);
    if (ig_tenant_limits_yaml(&c->limits.defaults, 2, &b) == 0 && b.data)
        fputs(b.data, out);
    ig_buf_free(&b);
}
