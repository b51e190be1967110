/* Tenant and account id rules (DESIGN §2, Loki's texts). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "icegate/tenant.h"

static const ig_tenant_opts ON = {true, "default", false};
static const ig_tenant_opts MULTI = {true, "default", true};
static const ig_tenant_opts OFF = {false, "default", false};

static int resolve(const ig_tenant_opts *o, const char *org, int orgc, const char *acc,
                   ig_tenancy *t, char *msg)
{
    return ig_tenancy_resolve(o, org, orgc, acc, acc ? 1 : 0, NULL, t, msg, 256);
}

static void test_valid_ids(void **state)
{
    char msg[256];
    const char *ok[] = {"tenant-123", "a", "A.b_c-d!*'()", "0", "..."};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_null(ig_tenant_check(ig_str_from(ok[i]), "tenant ID", msg, sizeof msg));
    char long150[151];
    memset(long150, 'x', 150);
    long150[150] = 0;
    assert_null(ig_tenant_check(ig_str_from(long150), "tenant ID", msg, sizeof msg));
}

static void test_invalid_ids(void **state)
{
    char msg[256];
    assert_non_null(ig_tenant_check(IG_STR("a b"), "tenant ID", msg, sizeof msg));
    assert_string_equal(msg, "tenant ID 'a b' contains unsupported character ' '");
    assert_non_null(ig_tenant_check(IG_STR("a/b"), "tenant ID", msg, sizeof msg));
    assert_string_equal(msg, "tenant ID 'a/b' contains unsupported character '/'");
    assert_non_null(ig_tenant_check(IG_STR("."), "tenant ID", msg, sizeof msg));
    assert_string_equal(msg, "tenant ID is '.' or '..'");
    assert_non_null(ig_tenant_check(IG_STR(".."), "tenant ID", msg, sizeof msg));
    char long151[152];
    memset(long151, 'x', 151);
    long151[151] = 0;
    assert_non_null(ig_tenant_check(ig_str_from(long151), "tenant ID", msg, sizeof msg));
    assert_string_equal(msg, "tenant ID is too long: max 150 characters");
    assert_non_null(ig_tenant_check(IG_STR("caf\xc3\xa9"), "account ID", msg, sizeof msg));
    assert_string_equal(msg, "account ID contains unsupported character '\\xc3'");
    assert_non_null(ig_tenant_check(ig_str_make("a\0b", 3), "tenant ID", msg, sizeof msg));
}

static void test_resolve(void **state)
{
    ig_tenancy t;
    char msg[256];
    assert_int_equal(resolve(&ON, NULL, 0, NULL, &t, msg), 401);
    assert_string_equal(msg, "no org id");
    assert_int_equal(resolve(&ON, "", 1, NULL, &t, msg), 401);
    assert_int_equal(resolve(&ON, "t1", 1, NULL, &t, msg), 0);
    assert_int_equal(t.ntenants, 1);
    assert_true(ig_str_eq_cstr(t.tenants[0], "t1"));
    assert_null(t.account_id.ptr);
    assert_int_equal(resolve(&ON, "t1", 1, "acc-1", &t, msg), 0);
    assert_true(ig_str_eq_cstr(t.account_id, "acc-1"));
    assert_int_equal(resolve(&ON, "t1", 1, "bad acc", &t, msg), 400);
    assert_string_equal(msg, "account ID 'bad acc' contains unsupported character ' '");
    assert_int_equal(resolve(&ON, "a|b", 1, NULL, &t, msg), 400);
    assert_string_equal(msg, "multiple org IDs present");
    assert_int_equal(resolve(&ON, "a|a", 1, NULL, &t, msg), 0); /* one tenant, as Loki */
    assert_int_equal(resolve(&ON, "a|", 1, NULL, &t, msg), 400);
    assert_int_equal(resolve(&ON, "t1", 2, NULL, &t, msg), 400);
    assert_int_equal(resolve(&MULTI, "b|a|b", 1, NULL, &t, msg), 0);
    assert_int_equal(t.ntenants, 2);
    assert_true(ig_str_eq_cstr(t.tenants[0], "a") && ig_str_eq_cstr(t.tenants[1], "b"));
    assert_int_equal(resolve(&OFF, NULL, 0, NULL, &t, msg), 0);
    assert_true(ig_str_eq_cstr(t.tenants[0], "default"));
    assert_int_equal(resolve(&OFF, "other", 1, NULL, &t, msg), 0);
    assert_true(ig_str_eq_cstr(t.tenants[0], "default")); /* header ignored when auth is off */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid_ids),
                                       cmocka_unit_test(test_invalid_ids),
                                       cmocka_unit_test(test_resolve)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
