/* icegate command line: run, migrate, maintain, version, config check. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/catalog.h"
#include "icegate/config.h"
#include "icegate/limits.h"
#include "icegate/maintain.h"
#include "icegate/store.h"
#include "icegate/log.h"
#include "icegate/version.h"
#include "server/server.h"

extern char **environ;

static void usage(FILE *out)
{
    fputs("usage:\n"
          "  icegate run [--config FILE] [--role all|ingest,query,maintain]\n"
          "  icegate migrate [--config FILE]\n"
          "  icegate maintain JOB [--config FILE] [--dry-run]   (shift, compact, retention, "
          "expire-snapshots, remove-orphans)\n"
          "  icegate version\n"
          "  icegate config check [--config FILE]\n",
          out);
}

typedef struct cli_opts {
    const char *config;
    const char *role;
    const char *positional[4];
    int npos;
    bool dry_run; /* maintain remove-orphans --dry-run */
} cli_opts;

static int parse_opts(int argc, char **argv, int start, cli_opts *o)
{
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        const char *name = NULL;
        if (!strncmp(a, "--config", 8) || !strncmp(a, "--role", 6) || !strcmp(a, "-c")) {
            const char *eq = strchr(a, '=');
            name = a;
            if (eq) {
                val = eq + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                fprintf(stderr, "icegate: option %s needs a value\n", a);
                return 2;
            }
            if (!strncmp(name, "--config", 8) || !strcmp(name, "-c"))
                o->config = val;
            else
                o->role = val;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "icegate: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (o->npos < 4) {
            o->positional[o->npos++] = a;
        } else {
            fprintf(stderr, "icegate: too many arguments\n");
            return 2;
        }
    }
    return 0;
}

static int load_config(const cli_opts *o, ig_config *cfg)
{
    ig_errbuf eb = {{0}};
    int rc = ig_config_load(cfg, o->config, environ, &eb);
    if (rc) {
        fprintf(stderr, "%s\n", eb.msg[0] ? eb.msg : "config: invalid configuration");
        ig_config_free(cfg);
        return 1;
    }
    ig_log_set_level(ig_log_level_parse(cfg->log_level));
    return 0;
}

/* `icegate migrate`: exit 0 when every table is present and current (created or not),
 * MIGRATE_EXIT_SCHEMA when a table needs schema evolution, 1 on any other error. */
static int run_migrate(const ig_config *cfg)
{
    ig_errbuf eb = {{0}};
    if (strcmp(cfg->storage.type, "fs") != 0) {
        fprintf(stderr, "icegate migrate: storage.type \"%s\" is not supported yet (fs)\n",
                cfg->storage.type);
        return 1;
    }
    ig_store *store = NULL;
    catalog *cat = NULL;
    int rc = ig_store_open_fs(cfg->storage.path, &store, &eb);
    if (rc == 0)
        rc = catalog_open(cfg, &cat, &eb);
    if (rc == 0)
        rc = ig_migrate(cat, store, stdout, NULL, &eb);
    fflush(stdout);
    if (rc)
        fprintf(stderr, "icegate migrate: %s\n", eb.msg[0] ? eb.msg : ig_strerror(rc));
    catalog_close(cat);
    if (store)
        ig_store_close(store);
    if (rc == IG_EUNSUPPORTED)
        return MIGRATE_EXIT_SCHEMA;
    return rc ? 1 : 0;
}

/* Loads the per-tenant limits (defaults + overrides file, no reload thread) as the
 * process's limits for a one-shot command; a bad overrides file is one line on stderr
 * naming the file, the key and the problem. */
static int load_limits(const ig_config *cfg, ig_limits **out)
{
    ig_errbuf eb = {{0}};
    ig_limits_opts lo = {.defaults = cfg->limits.defaults,
                         .overrides_file = cfg->limits.overrides_file};
    int level = ig_log_get_level();
    ig_log_set_level(IG_LOG_WARN); /* no "overrides file loaded" line on stdout */
    int rc = ig_limits_open(&lo, out, &eb);
    ig_log_set_level(level);
    if (rc) {
        fprintf(stderr, "icegate: %s\n", eb.msg[0] ? eb.msg : ig_strerror(rc));
        return 1;
    }
    ig_limits_set_process(*out);
    return 0;
}

static void unload_limits(ig_limits *l)
{
    ig_limits_set_process(NULL);
    ig_limits_close(l);
}

/* `icegate maintain JOB`: runs the job once over every table (creating missing tables
 * first, quietly) and prints a one-line summary. Exit 0 on success, 3 for a job not built
 * yet, 1 on any other error. The leader lease is not taken: every job is safe beside a
 * concurrent run (docs/iceberg.md "The maintain role"). */
static int run_maintain(const ig_config *cfg, const char *job, bool dry_run)
{
    ig_errbuf eb = {{0}};
    if (strcmp(cfg->storage.type, "fs") != 0) {
        fprintf(stderr, "icegate maintain: storage.type \"%s\" is not supported yet (fs)\n",
                cfg->storage.type);
        return 1;
    }
    int j = ig_maint_job_by_name(ig_str_from(job));
    ig_store *store = NULL;
    catalog *cat = NULL;
    int rc = ig_store_open_fs(cfg->storage.path, &store, &eb);
    if (rc == 0)
        rc = catalog_open(cfg, &cat, &eb);
    if (rc == 0) {
        /* create missing tables; say so only when something changed */
        char text[4096] = {0};
        FILE *mf = fmemopen(text, sizeof text - 1, "w");
        int changes = 0;
        rc = mf ? ig_migrate(cat, store, mf, &changes, &eb) : IG_ENOMEM;
        if (mf)
            fclose(mf);
        if (changes)
            fputs(text, stdout);
        if (rc == IG_EUNSUPPORTED)
            rc = 0; /* an older table schema: the job itself says what it cannot do */
    }
    ig_maint_outcome o;
    memset(&o, 0, sizeof o);
    if (rc == 0) {
        ig_buf orphans;
        ig_buf_init(&orphans, (size_t)64 << 20);
        ig_maint_run_opts ro = {.dry_run = dry_run, .orphans = &orphans};
        rc = ig_maint_run_job(cat, store, cfg, (ig_maint_job)j, &ro, &o);
        if (rc == 0 && j == IG_JOB_ORPHANS && orphans.len > 2)
            printf("%s orphans: %s\n", dry_run ? "would delete" : "deleted", orphans.data);
        ig_buf_free(&orphans);
        if (rc)
            snprintf(eb.msg, sizeof eb.msg, "%s", o.error);
    }
    if (rc == 0 && j == IG_JOB_SHIFT) {
        double secs = (double)o.duration_ns / 1e9;
        printf("shift: %llu segments, %llu rows, %llu files, %llu bytes, %llu commits, "
               "%llu WAL segments deleted in %.3f s (%.0f rows/s)\n",
               (unsigned long long)o.shift.segments, (unsigned long long)o.shift.rows,
               (unsigned long long)o.shift.files, (unsigned long long)o.shift.bytes,
               (unsigned long long)o.shift.commits, (unsigned long long)o.shift.wal_deleted, secs,
               secs > 0 ? (double)o.shift.rows / secs : 0.0);
    } else if (rc == 0) {
        printf("%s%s: %llu files, %llu rows, %llu commits in %.3f s\n", job,
               o.dry_run ? " (dry run)" : "",
               (unsigned long long)o.files, (unsigned long long)o.rows,
               (unsigned long long)o.commits, (double)o.duration_ns / 1e9);
    }
    fflush(stdout);
    if (rc)
        fprintf(stderr, "icegate maintain %s: %s\n", job, eb.msg[0] ? eb.msg : ig_strerror(rc));
    catalog_close(cat);
    if (store)
        ig_store_close(store);
    return rc == 0 ? 0 : rc == IG_EUNSUPPORTED ? 3 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    cli_opts o = {0};
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("icegate %s\n", IG_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    int rc;
    ig_config cfg;
    if (!strcmp(cmd, "config")) {
        if ((rc = parse_opts(argc, argv, 2, &o)))
            return rc;
        if (o.npos != 1 || strcmp(o.positional[0], "check") || o.dry_run) {
            usage(stderr);
            return 2;
        }
        if (load_config(&o, &cfg))
            return 1;
        ig_limits *lim = NULL;
        if (load_limits(&cfg, &lim)) { /* the overrides file is part of the configuration */
            ig_config_free(&cfg);
            return 1;
        }
        unload_limits(lim);
        ig_config_dump(&cfg, stdout);
        ig_config_free(&cfg);
        return 0;
    }
    if (!strcmp(cmd, "run")) {
        if ((rc = parse_opts(argc, argv, 2, &o)))
            return rc;
        if (o.npos || o.dry_run) {
            usage(stderr);
            return 2;
        }
        int roles = IG_ROLE_ALL;
        ig_errbuf eb = {{0}};
        if (o.role && ig_roles_parse(o.role, &roles, &eb)) {
            fprintf(stderr, "icegate: %s\n", eb.msg);
            return 1;
        }
        if (load_config(&o, &cfg))
            return 1;
        rc = ig_server_run(&cfg, roles);
        ig_config_free(&cfg);
        return rc;
    }
    if (!strcmp(cmd, "migrate") || !strcmp(cmd, "maintain")) {
        if ((rc = parse_opts(argc, argv, 2, &o)))
            return rc;
        if (!strcmp(cmd, "maintain")) {
            static const char *jobs[] = {"shift", "compact", "retention", "expire-snapshots",
                                         "remove-orphans"};
            int ok = 0;
            for (size_t i = 0; o.npos == 1 && i < sizeof jobs / sizeof jobs[0]; i++)
                ok |= !strcmp(o.positional[0], jobs[i]);
            if (!ok) {
                fprintf(stderr, "icegate maintain: job \"%s\" is not allowed (shift, compact, "
                                "retention, expire-snapshots, remove-orphans)\n",
                        o.npos ? o.positional[0] : "");
                return 2;
            }
        } else if (o.npos || o.dry_run) {
            usage(stderr);
            return 2;
        }
        if (load_config(&o, &cfg))
            return 1;
        if (!strcmp(cmd, "migrate")) {
            rc = run_migrate(&cfg);
            ig_config_free(&cfg);
            return rc;
        }
        ig_limits *lim = NULL;
        if (load_limits(&cfg, &lim)) { /* retention reads per-tenant retention_period */
            ig_config_free(&cfg);
            return 1;
        }
        if (o.dry_run && strcmp(o.positional[0], "remove-orphans") != 0) {
            fprintf(stderr, "icegate maintain: --dry-run applies to remove-orphans only\n");
            ig_config_free(&cfg);
            return 2;
        }
        rc = run_maintain(&cfg, o.positional[0], o.dry_run);
        unload_limits(lim);
        ig_config_free(&cfg);
        return rc;
    }
    fprintf(stderr, "icegate: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
