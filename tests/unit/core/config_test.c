/* Configuration: defaults, YAML, environment, precise one-line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/config.h"
#include "icegate/time.h"

static char g_path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "/tmp/ig_config_test.XXXXXX");
    int fd = mkstemp(g_path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_path);
    return 0;
}

static const char *yaml(const char *text)
{
    FILE *f = fopen(g_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return g_path;
}

/* Loads and expects failure; checks the message is one line containing every needle. */
static void expect_error(const char *text, char *const *env, const char *n1, const char *n2,
                         const char *n3)
{
    ig_config c;
    ig_errbuf eb = {""};
    int rc = ig_config_load(&c, text ? yaml(text) : NULL, env, &eb);
    ig_config_free(&c);
    if (rc == 0)
        fail_msg("expected an error for: %s", text ? text : "(env)");
    assert_int_equal(rc, IG_EINVAL);
    assert_null(strchr(eb.msg, '\n'));
    const char *needles[] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        if (needles[i] && !strstr(eb.msg, needles[i]))
            fail_msg("message \"%s\" lacks \"%s\"", eb.msg, needles[i]);
}

static void test_defaults(void **state)
{
    (void)state;
    ig_config c;
    ig_errbuf eb = {""};
    assert_int_equal(ig_config_load(&c, NULL, NULL, &eb), 0);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.otlp_http.listen.port, 4318);
    assert_int_equal(c.otlp_grpc.listen.port, 4317);
    assert_int_equal(c.loki.listen.port, 3100);
    assert_int_equal(c.tempo.listen.port, 3200);
    assert_int_equal(c.prometheus.listen.port, 9090);
    assert_int_equal(c.maintain.listen.port, 8080);
    assert_int_equal(c.catalog.rest.port, 8181);
    assert_string_equal(c.storage.type, "fs");
    assert_string_equal(c.storage.path, "./data/warehouse");
    assert_string_equal(c.catalog.type, "sqlite");
    assert_string_equal(c.catalog.uri, "./data/catalog.db");
    assert_true(c.auth.enabled);
    assert_false(c.auth.multi_tenant_queries);
    assert_string_equal(c.auth.default_tenant, "default");
    assert_true(c.wal.flush_interval_ns == 200 * IG_NS_PER_MS);
    assert_true(c.maintain.wal_grace_ns == 600 * IG_NS_PER_S);
    assert_true(c.otlp_http.max_body_bytes == 16 << 20);
    assert_true(c.shutdown_timeout_ns == 30 * IG_NS_PER_S);
    ig_config_free(&c);
    assert_null(c.listen_host);
    ig_config_free(&c); /* twice is harmless */
}

static void test_yaml_sections(void **state)
{
    (void)state;
    ig_config c;
    ig_errbuf eb = {""};
    const char *text = "# comment\n"
                       "listen_host: 127.0.0.1\n"
                       "log_level: debug\n"
                       "loki:\n"
                       "  port: 3101\n"
                       "  max_body_bytes: 8MiB\n"
                       "otlp_http:\n"
                       "  port: 0\n"
                       "storage:\n"
                       "  path: /srv/wh\n"
                       "catalog:\n"
                       "  type: postgres\n"
                       "  uri: postgresql://u@h/db\n"
                       "  rest:\n"
                       "    port: 0\n"
                       "    token: s3cret\n"
                       "auth:\n"
                       "  enabled: false\n"
                       "  default_tenant: \"team-a\"\n"
                       "  multi_tenant_queries: yes\n"
                       "wal:\n"
                       "  flush_interval: 50ms\n"
                       "  flush_bytes: 1MB\n"
                       "maintain:\n"
                       "  wal_grace_period: 1h30m\n"
                       "  shift_interval: 1.5s\n"
                       "parquet: {row_group_rows: 1000, page_bytes: 64KiB}\n";
    assert_int_equal(ig_config_load(&c, yaml(text), NULL, &eb), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_string_equal(c.log_level, "debug");
    assert_int_equal(c.loki.listen.port, 3101);
    assert_true(c.loki.max_body_bytes == 8 << 20);
    assert_int_equal(c.otlp_http.listen.port, 0);
    assert_int_equal(c.otlp_grpc.listen.port, 4317); /* untouched */
    assert_string_equal(c.storage.path, "/srv/wh");
    assert_string_equal(c.catalog.type, "postgres");
    assert_string_equal(c.catalog.uri, "postgresql://u@h/db");
    assert_int_equal(c.catalog.rest.port, 0);
    assert_string_equal(c.catalog.rest_token, "s3cret");
    assert_false(c.auth.enabled);
    assert_string_equal(c.auth.default_tenant, "team-a");
    assert_true(c.auth.multi_tenant_queries);
    assert_true(c.wal.flush_interval_ns == 50 * IG_NS_PER_MS);
    assert_true(c.wal.flush_bytes == 1000000);
    assert_true(c.maintain.wal_grace_ns == 5400 * IG_NS_PER_S);
    assert_true(c.maintain.shift_interval_ns == 1500 * IG_NS_PER_MS);
    assert_true(c.parquet.row_group_rows == 1000);
    assert_true(c.parquet.page_bytes == 65536);
    ig_config_free(&c);

    /* Empty file, and a file with only comments: defaults. */
    assert_int_equal(ig_config_load(&c, yaml(""), NULL, &eb), 0);
    assert_int_equal(c.loki.listen.port, 3100);
    ig_config_free(&c);
    assert_int_equal(ig_config_load(&c, yaml("# nothing\n"), NULL, &eb), 0);
    ig_config_free(&c);
    /* A section whose keys are all commented out. */
    assert_int_equal(
        ig_config_load(&c, yaml("loki:\n#  port: 1\ntempo:\n  port: 3201\n"), NULL, &eb), 0);
    assert_int_equal(c.loki.listen.port, 3100);
    assert_int_equal(c.tempo.listen.port, 3201);
    ig_config_free(&c);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_error("loki:\n  prot: 3100\n", NULL, "loki.prot", "unknown", NULL);
    expect_error("lokii:\n  port: 3100\n", NULL, "lokii", "unknown", NULL);
    expect_error("bogus: 1\n", NULL, "bogus", "unknown", NULL);
    expect_error("\"bo\\ngus\": 1\n", NULL, "bo gus", "unknown", NULL); /* one line */
    expect_error("loki:\n  port: \"1\\n2\"\n", NULL, "loki.port", "1 2", NULL);
    expect_error("bogus: {}\n", NULL, "bogus", "unknown", NULL);
    expect_error("loki:\n  extra:\n    deep: {}\n", NULL, "loki.extra", "unknown", NULL);
    expect_error("loki: 3100\n", NULL, "loki", NULL, NULL); /* a section used as a value */
    expect_error("loki:\n  port: [1, 2]\n", NULL, "loki.port", "list", NULL);
    expect_error("loki:\n  port:\n    x: 1\n", NULL, "loki.port", NULL, NULL);
    expect_error("- a\n- b\n", NULL, "mapping", NULL, NULL);
    expect_error("just a scalar\n", NULL, "mapping", NULL, NULL);
    expect_error("loki:\n  port: 1\n bad indent\n", NULL, "line", NULL, NULL);
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_error("loki:\n  port: 70000\n", NULL, "loki.port", "70000", "0..65535");
    expect_error("loki:\n  port: -1\n", NULL, "loki.port", "\"-1\"", "0..65535");
    expect_error("loki:\n  port: http\n", NULL, "loki.port", "http", "port");
    expect_error("loki:\n  port:\n", NULL, "loki.port", "\"\"", "port");
    expect_error("auth:\n  enabled: maybe\n", NULL, "auth.enabled", "maybe", "true or false");
    expect_error("maintain:\n  shift_interval: 5 minutes\n", NULL, "maintain.shift_interval",
                 "5 minutes", "duration");
    expect_error("maintain:\n  shift_interval: 1ms\n", NULL, "maintain.shift_interval", "1ms",
                 "100ms");
    {
        /* 0 disables the shift schedule (docs/configuration.md) */
        ig_config c;
        ig_errbuf eb = {""};
        assert_int_equal(ig_config_load(&c, yaml("maintain:\n  shift_interval: 0s\n"), NULL, &eb), 0);
        assert_int_equal(c.maintain.shift_interval_ns, 0);
        ig_config_free(&c);
    }
    expect_error("wal:\n  flush_bytes: lots\n", NULL, "wal.flush_bytes", "lots", "size");
    expect_error("wal:\n  flush_bytes: 1\n", NULL, "wal.flush_bytes", "\"1\"", "4096");
    expect_error("wal:\n  flush_bytes: nan\n", NULL, "wal.flush_bytes", "nan", "size");
    expect_error("wal:\n  flush_bytes: inf\n", NULL, "wal.flush_bytes", "inf", "size");
    expect_error("wal:\n  flush_bytes: -5MiB\n", NULL, "wal.flush_bytes", "-5MiB", "size");
    expect_error("wal:\n  flush_bytes: 0x1000\n", NULL, "wal.flush_bytes", "0x1000", "size");
    expect_error("wal:\n  flush_rows: 1.5\n", NULL, "wal.flush_rows", "1.5", "integer");
    expect_error("log_level: loud\n", NULL, "log_level", "loud", "debug|info|warn|error");
    expect_error("storage:\n  type: s4\n", NULL, "storage.type", "s4", "fs");
    expect_error("data_dir: \"\"\n", NULL, "data_dir", NULL, NULL);
    expect_error("auth:\n  default_tenant: \"\"\n", NULL, "auth.default_tenant", NULL, NULL);
}

static void test_env_overrides(void **state)
{
    (void)state;
    ig_config c;
    ig_errbuf eb = {""};
    char *env[] = {"PATH=/usr/bin",
                   "ICEGATE_LOKI_PORT=4000",
                   "ICEGATE_AUTH_ENABLED=false",
                   "ICEGATE_MULTI_TENANT_QUERIES=true",
                   "ICEGATE_LISTEN_HOST=::1",
                   "ICEGATE_LOG_LEVEL=warn",
                   "ICEGATE_OTLP_HTTP_PORT=0",
                   "ICEGATE_UNRELATED=1",
                   "ICEGATE_NOEQUALS",
                   NULL};
    assert_int_equal(
        ig_config_load(&c, yaml("loki:\n  port: 3101\nauth:\n  enabled: true\n"), env, &eb), 0);
    assert_int_equal(c.loki.listen.port, 4000); /* env beats YAML */
    assert_false(c.auth.enabled);
    assert_true(c.auth.multi_tenant_queries);
    assert_string_equal(c.listen_host, "::1");
    assert_string_equal(c.log_level, "warn");
    assert_int_equal(c.otlp_http.listen.port, 0);
    ig_config_free(&c);

    /* Every documented port variable. */
    char *ports[] = {"ICEGATE_OTLP_HTTP_PORT=1001",  "ICEGATE_OTLP_GRPC_PORT=1002",
                     "ICEGATE_LOKI_PORT=1003",       "ICEGATE_TEMPO_PORT=1004",
                     "ICEGATE_PROMETHEUS_PORT=1005", "ICEGATE_MAINTAIN_PORT=1006",
                     "ICEGATE_CATALOG_PORT=1007",    NULL};
    assert_int_equal(ig_config_load(&c, NULL, ports, &eb), 0);
    assert_int_equal(c.otlp_http.listen.port, 1001);
    assert_int_equal(c.otlp_grpc.listen.port, 1002);
    assert_int_equal(c.loki.listen.port, 1003);
    assert_int_equal(c.tempo.listen.port, 1004);
    assert_int_equal(c.prometheus.listen.port, 1005);
    assert_int_equal(c.maintain.listen.port, 1006);
    assert_int_equal(c.catalog.rest.port, 1007);
    ig_config_free(&c);

    /* A bad environment value names the variable. */
    char *bad[] = {"ICEGATE_LOKI_PORT=99999", NULL};
    expect_error(NULL, bad, "ICEGATE_LOKI_PORT", "99999", "0..65535");
    char *badb[] = {"ICEGATE_AUTH_ENABLED=sometimes", NULL};
    expect_error(NULL, badb, "ICEGATE_AUTH_ENABLED", "sometimes", "true or false");
}

static void test_data_dir_derivation(void **state)
{
    (void)state;
    ig_config c;
    ig_errbuf eb = {""};
    char *env[] = {"ICEGATE_DATA_DIR=/var/lib/icegate", NULL};
    assert_int_equal(ig_config_load(&c, NULL, env, &eb), 0);
    assert_string_equal(c.data_dir, "/var/lib/icegate");
    assert_string_equal(c.storage.path, "/var/lib/icegate/warehouse");
    assert_string_equal(c.catalog.uri, "/var/lib/icegate/catalog.db");
    ig_config_free(&c);
    /* data_dir from YAML, overridden by the environment. */
    assert_int_equal(ig_config_load(&c, yaml("data_dir: /yaml/dir\n"), env, &eb), 0);
    assert_string_equal(c.storage.path, "/var/lib/icegate/warehouse");
    ig_config_free(&c);
    assert_int_equal(ig_config_load(&c, yaml("data_dir: /yaml/dir\n"), NULL, &eb), 0);
    assert_string_equal(c.storage.path, "/yaml/dir/warehouse");
    assert_string_equal(c.catalog.uri, "/yaml/dir/catalog.db");
    ig_config_free(&c);
    /* An explicit path wins over the derived one. */
    assert_int_equal(ig_config_load(&c, yaml("storage:\n  path: /fast/wh\n"), env, &eb), 0);
    assert_string_equal(c.storage.path, "/fast/wh");
    assert_string_equal(c.catalog.uri, "/var/lib/icegate/catalog.db");
    ig_config_free(&c);
}

static void test_missing_file(void **state)
{
    (void)state;
    ig_config c;
    ig_errbuf eb = {""};
    assert_int_equal(ig_config_load(&c, "/nonexistent/icegate.yaml", NULL, &eb), IG_ENOENT);
    assert_non_null(strstr(eb.msg, "/nonexistent/icegate.yaml"));
    ig_config_free(&c);
}

static void test_dump_round_trip(void **state)
{
    (void)state;
    ig_config a, b;
    ig_errbuf eb = {""};
    char *env[] = {"ICEGATE_LOKI_PORT=4001", "ICEGATE_DATA_DIR=/d", NULL};
    assert_int_equal(ig_config_load(&a,
                                    yaml("maintain:\n  wal_grace_period: 1h30m\ncatalog:\n  rest:\n"
                                         "    token: \"a \\\"quoted\\\" token\"\n"),
                                    env, &eb),
                     0);
    char dump_path[64];
    snprintf(dump_path, sizeof dump_path, "/tmp/ig_config_dump.XXXXXX");
    int fd = mkstemp(dump_path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    ig_config_dump(&a, f);
    fclose(f);
    int rc = ig_config_load(&b, dump_path, NULL, &eb);
    unlink(dump_path);
    if (rc)
        fail_msg("reloading the dump: %s", eb.msg);
    assert_int_equal(b.loki.listen.port, 4001);
    assert_string_equal(b.data_dir, "/d");
    assert_string_equal(b.storage.path, a.storage.path);
    assert_string_equal(b.catalog.uri, a.catalog.uri);
    assert_string_equal(b.catalog.rest_token, "a \"quoted\" token");
    assert_true(b.maintain.wal_grace_ns == 5400 * IG_NS_PER_S);
    assert_true(b.wal.flush_interval_ns == a.wal.flush_interval_ns);
    assert_true(b.otlp_grpc.max_message_bytes == a.otlp_grpc.max_message_bytes);
    assert_int_equal(b.auth.enabled, a.auth.enabled);
    ig_config_free(&a);
    ig_config_free(&b);
}

static void test_roles(void **state)
{
    (void)state;
    int r = 0;
    ig_errbuf eb = {""};
    assert_int_equal(ig_roles_parse("all", &r, &eb), 0);
    assert_int_equal(r, IG_ROLE_ALL);
    assert_int_equal(ig_roles_parse("ingest,query", &r, &eb), 0);
    assert_int_equal(r, IG_ROLE_INGEST | IG_ROLE_QUERY);
    assert_int_equal(ig_roles_parse("maintain", &r, &eb), 0);
    assert_int_equal(r, IG_ROLE_MAINTAIN);
    assert_int_equal(ig_roles_parse("ingest,bogus", &r, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "ingest,bogus"));
    assert_int_equal(ig_roles_parse("", &r, &eb), IG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_dir_derivation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
    };
    return cmocka_run_group_tests_name("core/config", tests, NULL, NULL);
}
