/* Options of the maintenance jobs from the configuration: defaults, explicit values, and
 * 0s meaning "no age protection / no age check". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/maintain_jobs.h"

static void load(ig_config *c, const char *yaml)
{
    char path[] = "/tmp/ig_mj_cfg.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    char *env[] = {NULL};
    ig_errbuf eb = {{0}};
    int rc = ig_config_load(c, path, env, &eb);
    unlink(path);
    if (rc)
        fail_msg("config: %s", eb.msg);
}

static void test_defaults(void **state)
{
    (void)state;
    ig_config c;
    load(&c, "{}\n");
    ig_mj_expire_opts e;
    ig_mj_orphan_opts o;
    ig_mj_compact_opts k;
    ig_mj_expire_opts_from_config(&c, &e);
    ig_mj_orphan_opts_from_config(&c, &o);
    ig_mj_compact_opts_from_config(&c, &k);
    assert_int_equal(e.keep_last, 100);
    assert_int_equal(e.keep_young_ms, 30 * 60 * 1000);
    assert_int_equal(o.min_age_ms, 24LL * 3600 * 1000);
    assert_false(o.dry_run);
    assert_int_equal(k.target_bytes, 128u << 20);
    assert_int_equal(k.row_group_rows, 65536);
    ig_config_free(&c);
}

static void test_values(void **state)
{
    (void)state;
    ig_config c;
    load(&c, "maintain:\n  expire_keep_snapshots: 7\n  expire_min_age: 0s\n"
             "  orphan_min_age: 3d\n  target_file_bytes: 8MiB\n");
    ig_mj_expire_opts e;
    ig_mj_orphan_opts o;
    ig_mj_compact_opts k;
    ig_mj_expire_opts_from_config(&c, &e);
    ig_mj_orphan_opts_from_config(&c, &o);
    ig_mj_compact_opts_from_config(&c, &k);
    assert_int_equal(e.keep_last, 7);
    assert_true(e.keep_young_ms < 0);
    assert_int_equal(o.min_age_ms, 3 * 24LL * 3600 * 1000);
    assert_int_equal(k.target_bytes, 8u << 20);
    ig_config_free(&c);
    load(&c, "maintain:\n  orphan_min_age: 0s\n");
    ig_mj_orphan_opts_from_config(&c, &o);
    assert_true(o.min_age_ms < 0);
    ig_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
