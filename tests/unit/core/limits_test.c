/* Per-tenant limits: key table, config defaults, overrides file, reload, bad files; usage
 * state (token bucket, stored bytes, label cap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icegate/config.h"
#include "icegate/limits.h"
#include "icegate/log.h"
#include "icegate/time.h"
#include "icegate/usage.h"

static char g_path[64];
static char g_log[64];
static int g_logfd = -1;

static int setup(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "/tmp/ig_limits_test.XXXXXX");
    int fd = mkstemp(g_path);
    if (fd < 0)
        return -1;
    close(fd);
    snprintf(g_log, sizeof g_log, "/tmp/ig_limits_log.XXXXXX");
    g_logfd = mkstemp(g_log);
    if (g_logfd < 0)
        return -1;
    ig_log_set_fd(g_logfd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ig_log_set_fd(1);
    close(g_logfd);
    unlink(g_path);
    unlink(g_log);
    return 0;
}

static void write_file(const char *text)
{
    /* Write to a temporary name and rename, as operators' tools (and ConfigMaps) do. */
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%s.tmp", g_path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, g_path), 0);
}

/* Lines in the log containing needle. */
static int log_count(const char *needle)
{
    char buf[65536];
    ssize_t n = pread(g_logfd, buf, sizeof buf - 1, 0);
    assert_true(n >= 0);
    buf[n] = 0;
    int c = 0;
    for (char *p = buf; (p = strstr(p, needle)); p++)
        c++;
    return c;
}

static ig_tenant_limits get(ig_limits *l, const char *tenant)
{
    ig_tenant_limits t;
    ig_limits_get(l, ig_str_from(tenant), &t);
    return t;
}

static void test_defaults(void **state)
{
    (void)state;
    ig_tenant_limits l;
    ig_tenant_limits_defaults(&l);
    assert_true(l.ingestion_rate_bytes == 16LL << 20);
    assert_true(l.ingestion_burst_bytes == 32LL << 20);
    assert_true(l.max_line_size == 256 << 10);
    assert_true(l.max_label_names_per_series == 15);
    assert_true(l.max_request_size == 0);
    assert_true(l.storage_quota_bytes == 0);
    assert_true(l.retention_period_ns == 0);
    assert_true(l.max_entries_limit_per_query == 5000);
    assert_true(l.max_query_series == 500);
    assert_true(l.query_timeout_ns == 60 * IG_NS_PER_S);
    assert_true(l.max_query_length_ns == 721LL * 3600 * IG_NS_PER_S);
    assert_true(l.max_query_parallelism == 32);
    assert_true(ig_tenant_limits_nkeys() >= 14);
    assert_string_equal(ig_tenant_limits_key(0), "ingestion_rate_mb");
    assert_null(ig_tenant_limits_key(-1));
}

static void test_set_types(void **state)
{
    (void)state;
    ig_tenant_limits l;
    ig_tenant_limits_defaults(&l);
    char msg[256];
    assert_int_equal(ig_tenant_limits_set(&l, "ingestion_rate_mb", "1.5", msg, sizeof msg), 0);
    assert_true(l.ingestion_rate_bytes == 1572864);
    assert_int_equal(ig_tenant_limits_set(&l, "ingestion_rate_bytes", "1000", msg, sizeof msg),
                     0);
    assert_true(l.ingestion_rate_bytes == 1000);
    assert_int_equal(ig_tenant_limits_set(&l, "ingestion_burst_size_bytes", "2KiB", msg,
                                          sizeof msg),
                     0);
    assert_true(l.ingestion_burst_bytes == 2048);
    assert_int_equal(ig_tenant_limits_set(&l, "max_line_size", "10KB", msg, sizeof msg), 0);
    assert_true(l.max_line_size == 10000);
    assert_int_equal(ig_tenant_limits_set(&l, "storage_quota_bytes", "1GiB", msg, sizeof msg), 0);
    assert_true(l.storage_quota_bytes == 1LL << 30);
    assert_int_equal(ig_tenant_limits_set(&l, "retention_period", "7d", msg, sizeof msg), 0);
    assert_true(l.retention_period_ns == 7 * 86400 * IG_NS_PER_S);
    assert_int_equal(ig_tenant_limits_set(&l, "max_queries_per_second", "2.5", msg, sizeof msg),
                     0);
    assert_true(l.max_queries_per_second == 2.5);

    assert_int_equal(ig_tenant_limits_set(&l, "max_line_size", "big", msg, sizeof msg),
                     IG_EINVAL);
    assert_non_null(strstr(msg, "value \"big\" is not allowed"));
    assert_int_equal(ig_tenant_limits_set(&l, "max_label_names_per_series", "0", msg, sizeof msg),
                     IG_EINVAL);
    assert_int_equal(ig_tenant_limits_set(&l, "ingestion_rate_mb", "-1", msg, sizeof msg),
                     IG_EINVAL);
    assert_int_equal(ig_tenant_limits_set(&l, "query_timeout", "fast", msg, sizeof msg),
                     IG_EINVAL);
    assert_non_null(strstr(msg, "duration"));
    assert_int_equal(ig_tenant_limits_set(&l, "max_lines", "1", msg, sizeof msg), IG_ENOENT);
    assert_non_null(strstr(msg, "unknown limit"));
    /* The failed sets left the values alone. */
    assert_true(l.max_line_size == 10000);
}

static void test_yaml_json(void **state)
{
    (void)state;
    ig_tenant_limits l;
    ig_tenant_limits_defaults(&l);
    ig_buf b;
    ig_buf_init(&b, 0);
    assert_int_equal(ig_tenant_limits_yaml(&l, 0, &b), 0);
    assert_non_null(strstr(b.data, "ingestion_rate_mb: 16\n"));
    assert_non_null(strstr(b.data, "max_line_size: 262144\n"));
    assert_non_null(strstr(b.data, "retention_period: 0s\n"));
    ig_buf_free(&b);
    ig_buf_init(&b, 0);
    assert_int_equal(ig_tenant_limits_json(&l, &b), 0);
    assert_non_null(strstr(b.data, "\"max_entries_limit_per_query\":5000"));
    assert_non_null(strstr(b.data, "\"query_timeout\":\"1m\""));
    ig_buf_free(&b);
}

static void test_config_section(void **state)
{
    (void)state;
    write_file("limits:\n"
               "  ingestion_rate_mb: 2\n"
               "  max_line_size: 1KiB\n"
               "  overrides_file: /tmp/x.yaml\n"
               "  overrides_period: 2s\n");
    ig_config c;
    ig_errbuf eb = {""};
    assert_int_equal(ig_config_load(&c, g_path, NULL, &eb), 0);
    assert_true(c.limits.defaults.ingestion_rate_bytes == 2 << 20);
    assert_true(c.limits.defaults.max_line_size == 1024);
    assert_true(c.limits.defaults.max_query_series == 500);
    assert_string_equal(c.limits.overrides_file, "/tmp/x.yaml");
    assert_true(c.limits.overrides_period_ns == 2 * IG_NS_PER_S);
    ig_config_free(&c);

    write_file("limits:\n  max_line_sise: 1KiB\n");
    assert_int_equal(ig_config_load(&c, g_path, NULL, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "limits.max_line_sise"));
    assert_non_null(strstr(eb.msg, "unknown limit"));
    ig_config_free(&c);
    write_file("limits:\n  max_line_size: lots\n");
    assert_int_equal(ig_config_load(&c, g_path, NULL, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "limits.max_line_size"));
    assert_non_null(strstr(eb.msg, "\"lots\""));
    ig_config_free(&c);
}

static ig_limits *open_with(const char *text, int64_t period_ns, bool thread, int *rc,
                            ig_errbuf *eb)
{
    write_file(text);
    ig_limits_opts o = {.overrides_file = g_path, .overrides_period_ns = period_ns,
                        .start_thread = thread};
    ig_tenant_limits_defaults(&o.defaults);
    ig_limits *l = NULL;
    *rc = ig_limits_open(&o, &l, eb);
    return l;
}

static void test_overrides(void **state)
{
    (void)state;
    int rc;
    ig_errbuf eb = {""};
    ig_limits *l = open_with("overrides:\n"
                             "  team-a:\n"
                             "    ingestion_rate_mb: 1\n"
                             "    max_line_size: 100\n"
                             "  \"b.c\":\n"
                             "    storage_quota_bytes: 5MB\n"
                             "  empty-one:\n",
                             0, false, &rc, &eb);
    assert_int_equal(rc, 0);
    assert_non_null(l);
    assert_true(get(l, "team-a").ingestion_rate_bytes == 1 << 20);
    assert_true(get(l, "team-a").max_line_size == 100);
    /* Unset keys of an overridden tenant keep the defaults. */
    assert_true(get(l, "team-a").max_query_series == 500);
    assert_true(get(l, "b.c").storage_quota_bytes == 5000000);
    assert_true(get(l, "b.c").max_line_size == 256 << 10);
    assert_true(get(l, "empty-one").max_line_size == 256 << 10);
    assert_true(get(l, "other").ingestion_rate_bytes == 16 << 20);
    assert_true(ig_limits_generation(l) == 1);

    /* Reload with a change. */
    write_file("overrides:\n  team-a:\n    max_line_size: 200\n");
    assert_int_equal(ig_limits_reload(l, &eb), 0);
    assert_true(get(l, "team-a").max_line_size == 200);
    assert_true(get(l, "team-a").ingestion_rate_bytes == 16 << 20);
    assert_true(get(l, "b.c").storage_quota_bytes == 0);
    assert_true(ig_limits_generation(l) == 2);
    /* Unchanged file: nothing re-applied. */
    assert_int_equal(ig_limits_reload(l, &eb), 0);
    assert_true(ig_limits_generation(l) == 2);
    ig_limits_close(l);
}

/* A bad file keeps the previous limits and logs one error line naming file, key, problem. */
static void check_bad(const char *text, const char *n1, const char *n2)
{
    int rc;
    ig_errbuf eb = {""};
    ig_limits *l = open_with("overrides:\n  t1:\n    max_line_size: 100\n", 0, false, &rc, &eb);
    assert_int_equal(rc, 0);
    int before = log_count("overrides file rejected");
    write_file(text);
    eb.msg[0] = 0;
    rc = ig_limits_reload(l, &eb);
    assert_true(rc < 0);
    assert_null(strchr(eb.msg, '\n'));
    assert_non_null(strstr(eb.msg, g_path));
    if (n1 && !strstr(eb.msg, n1))
        fail_msg("message \"%s\" lacks \"%s\"", eb.msg, n1);
    if (n2 && !strstr(eb.msg, n2))
        fail_msg("message \"%s\" lacks \"%s\"", eb.msg, n2);
    assert_true(get(l, "t1").max_line_size == 100);
    assert_true(ig_limits_generation(l) == 1);
    assert_int_equal(log_count("overrides file rejected"), before + 1);
    /* The same bad content again: still kept, not logged again. */
    assert_true(ig_limits_reload(l, &eb) < 0);
    assert_int_equal(log_count("overrides file rejected"), before + 1);
    ig_limits_close(l);
}

static void test_bad_files(void **state)
{
    (void)state;
    check_bad("overrides:\n  t1:\n    max_line_size: [1\n", "line", NULL);
    check_bad("overrides:\n  t1:\n    max_lines: 3\n", "overrides.t1.max_lines", "unknown limit");
    check_bad("overrides:\n  t1:\n    max_line_size: huge\n", "overrides.t1.max_line_size",
              "\"huge\"");
    check_bad("overrides:\n  t1:\n    max_line_size: [1, 2]\n", "overrides.t1.max_line_size",
              "a list");
    check_bad("overrides:\n  t1: 5\n", "overrides.t1", "mapping");
    check_bad("overrides:\n  \"a b\":\n    max_line_size: 1\n", "overrides.a b",
              "unsupported character");
    check_bad("overides:\n  t1:\n    max_line_size: 1\n", "overides", "unknown key");
    check_bad("- 1\n- 2\n", "top level", NULL);
    check_bad("overrides: [1]\n", "overrides", "a list");
    check_bad("overrides:\n  t1:\n    query_timeout: 1x\n", "query_timeout", "duration");
    check_bad("overrides:\n  t1:\n    max_queries_per_second: abc\n", "max_queries_per_second",
              NULL);
    /* A missing file: kept as well. */
    int rc;
    ig_errbuf eb = {""};
    ig_limits *l = open_with("overrides:\n  t1:\n    max_line_size: 100\n", 0, false, &rc, &eb);
    unlink(g_path);
    assert_int_equal(ig_limits_reload(l, &eb), IG_ENOENT);
    assert_non_null(strstr(eb.msg, "cannot open"));
    assert_true(get(l, "t1").max_line_size == 100);
    ig_limits_close(l);
}

static void test_combined(void **state)
{
    (void)state;
    int rc;
    ig_errbuf eb = {""};
    ig_limits *l = open_with("overrides:\n"
                             "  a:\n"
                             "    max_query_series: 100\n"
                             "    query_timeout: 5m\n"
                             "    max_query_length: 0s\n"
                             "    max_concurrent_queries: 4\n"
                             "  b:\n"
                             "    max_query_series: 700\n"
                             "    max_entries_limit_per_query: 10\n"
                             "    max_queries_per_second: 2\n",
                             0, false, &rc, &eb);
    assert_int_equal(rc, 0);
    ig_str ts[] = {IG_STR("a"), IG_STR("b"), IG_STR("c")};
    ig_tenant_limits t;
    ig_limits_get_combined(l, ts, 3, &t);
    assert_true(t.max_query_series == 100);
    assert_true(t.max_entries_limit_per_query == 10);
    assert_true(t.query_timeout_ns == 300 * IG_NS_PER_S);
    assert_true(t.max_query_length_ns == 721LL * 3600 * IG_NS_PER_S); /* a's 0 = no limit */
    assert_true(t.max_concurrent_queries == 4);
    assert_true(t.max_queries_per_second == 2);
    ig_limits_get_combined(l, ts, 1, &t);
    assert_true(t.max_query_series == 100 && t.max_query_length_ns == 0);
    ig_limits_close(l);
}

static void test_bad_at_start(void **state)
{
    (void)state;
    int rc;
    ig_errbuf eb = {""};
    ig_limits *l = open_with("overrides:\n  t1:\n    nope: 1\n", 0, false, &rc, &eb);
    assert_null(l);
    assert_int_equal(rc, IG_EINVAL);
    assert_non_null(strstr(eb.msg, "overrides.t1.nope"));
    /* Empty file and no file: only defaults. */
    l = open_with("", 0, false, &rc, &eb);
    assert_int_equal(rc, 0);
    assert_true(get(l, "x").max_line_size == 256 << 10);
    ig_limits_close(l);
    ig_limits_opts o = {0};
    ig_tenant_limits_defaults(&o.defaults);
    o.defaults.max_line_size = 7;
    assert_int_equal(ig_limits_open(&o, &l, &eb), 0);
    assert_true(get(l, "x").max_line_size == 7);
    ig_limits_close(l);
    /* NULL limits: built-in defaults. */
    ig_tenant_limits t;
    ig_limits_get(NULL, IG_STR("x"), &t);
    assert_true(t.max_line_size == 256 << 10);
}

static void test_reload_thread(void **state)
{
    (void)state;
    int rc;
    ig_errbuf eb = {""};
    ig_limits *l = open_with("overrides:\n  t1:\n    max_line_size: 100\n", 50 * IG_NS_PER_MS,
                             true, &rc, &eb);
    assert_int_equal(rc, 0);
    write_file("overrides:\n  t1:\n    max_line_size: 300\n");
    for (int i = 0; i < 100 && get(l, "t1").max_line_size != 300; i++)
        usleep(20000);
    assert_true(get(l, "t1").max_line_size == 300);
    ig_limits_set_process(l);
    assert_ptr_equal(ig_limits_process(), l);
    ig_limits_set_process(NULL);
    ig_limits_close(l);
}

static void test_token_bucket(void **state)
{
    (void)state;
    ig_usage_reset();
    int64_t ra;
    ig_str a = IG_STR("bucket-a"), b = IG_STR("bucket-b");
    int64_t t0 = 1000 * IG_NS_PER_S;
    /* A new tenant starts with a full burst. */
    assert_true(ig_usage_take(a, 100, 300, 300, t0, &ra));
    assert_false(ig_usage_take(a, 100, 300, 50, t0, &ra));
    assert_true(ra == 1);
    /* Another tenant is unaffected. */
    assert_true(ig_usage_take(b, 100, 300, 300, t0, &ra));
    /* Refill at the rate. */
    assert_true(ig_usage_take(a, 100, 300, 50, t0 + IG_NS_PER_S / 2, &ra));
    assert_false(ig_usage_take(a, 100, 300, 250, t0 + IG_NS_PER_S / 2, &ra));
    assert_true(ra == 3);
    /* Never more than the burst. */
    assert_true(ig_usage_take(a, 100, 300, 300, t0 + 100 * IG_NS_PER_S, &ra));
    assert_false(ig_usage_take(a, 100, 300, 1, t0 + 100 * IG_NS_PER_S, &ra));
    /* A request larger than the burst never fits. */
    assert_false(ig_usage_take(a, 100, 300, 301, t0 + 1000 * IG_NS_PER_S, &ra));
    assert_true(ra == 0);
    /* rate 0: no limit. */
    assert_true(ig_usage_take(a, 0, 0, 1LL << 40, t0, &ra));
}

static void test_stored_and_labels(void **state)
{
    (void)state;
    ig_usage_reset();
    ig_str a = IG_STR("st-a");
    assert_true(ig_usage_stored(a) == 0);
    ig_usage_stored_add(a, 100);
    ig_usage_stored_add(a, 50);
    assert_true(ig_usage_stored(a) == 150);
    assert_true(ig_usage_stored_added(a) == 150);
    ig_usage_stored_set(a, 40);
    assert_true(ig_usage_stored(a) == 40);
    assert_true(ig_usage_stored(IG_STR("st-b")) == 0);

    char lab[400];
    ig_usage_tenant_label(IG_STR("x\"y"), lab, sizeof lab);
    assert_string_equal(lab, "x\\\"y");
    /* Past the label cap, tenants share the overflow label. */
    char name[32];
    for (int i = 0; i < IG_USAGE_MAX_LABELS + 5; i++) {
        snprintf(name, sizeof name, "cap-%d", i);
        ig_usage_tenant_label(ig_str_from(name), lab, sizeof lab);
    }
    assert_string_equal(lab, IG_USAGE_OVERFLOW);
    ig_usage_tenant_label(IG_STR("st-a"), lab, sizeof lab);
    assert_string_equal(lab, "st-a");
    ig_usage_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_types),
        cmocka_unit_test(test_yaml_json),
        cmocka_unit_test_setup_teardown(test_config_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_combined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_thread, setup, teardown),
        cmocka_unit_test(test_token_bucket),
        cmocka_unit_test(test_stored_and_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
