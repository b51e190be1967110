/* icegate command line: run, migrate, maintain, version, config check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/catalog.h"
#include "icegate/config.h"
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
          "  icegate maintain JOB [--config FILE]   (shift, compact, retention, "
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
        if (o.npos != 1 || strcmp(o.positional[0], "check")) {
            usage(stderr);
            return 2;
        }
        if (load_config(&o, &cfg))
            return 1;
        ig_config_dump(&cfg, stdout);
        ig_config_free(&cfg);
        return 0;
    }
    if (!strcmp(cmd, "run")) {
        if ((rc = parse_opts(argc, argv, 2, &o)))
            return rc;
        if (o.npos) {
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
        } else if (o.npos) {
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
        ig_config_free(&cfg);
        fprintf(stderr, "icegate %s: not implemented yet (Iceberg tables arrive with the maintain "
                        "role)\n",
                cmd);
        return 3;
    }
    fprintf(stderr, "icegate: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
