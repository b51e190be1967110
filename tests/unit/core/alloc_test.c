/* The allocation wrapper: counting, failure injection, and that every layer built on it
 * fails cleanly (IG_ENOMEM / NULL, state unchanged and still usable, nothing leaked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/map.h"

static int reset_injection(void **state)
{
    (void)state;
    ig_alloc_fail_reset();
    return 0;
}

static void test_wrapper(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    uint64_t calls = ig_alloc_calls();
    void *a = ig_malloc(0), *b = ig_malloc(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(ig_alloc_live_blocks(), live + 2);
    assert_true(ig_alloc_calls() >= calls + 2);
    ig_free(a);
    ig_free(b);
    ig_free(NULL);
    assert_int_equal(ig_alloc_live_blocks(), live);
    char *s = ig_strdup("text");
    assert_string_equal(s, "text");
    ig_free(s);
    s = ig_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    ig_free(s);
    int *z = ig_calloc(10, sizeof *z);
    for (int i = 0; i < 10; i++)
        assert_int_equal(z[i], 0);
    z = ig_realloc(z, 1000 * sizeof *z);
    assert_non_null(z);
    assert_int_equal(z[9], 0);
    ig_free(z);
    assert_int_equal(ig_alloc_live_blocks(), live);
    /* Overflow-checked arithmetic. */
    size_t r = 0;
    assert_int_equal(ig_size_mul(SIZE_MAX / 2, 3, &r), IG_ERANGE);
    assert_int_equal(ig_size_mul(1000, 1000, &r), 0);
    assert_int_equal(r, 1000000);
    assert_int_equal(ig_size_add(SIZE_MAX, 1, &r), IG_ERANGE);
    assert_int_equal(ig_size_add(2, 3, &r), 0);
    assert_int_equal(r, 5);
}

static void test_injection_counts(void **state)
{
    (void)state;
    ig_alloc_fail_after(0);
    assert_null(ig_malloc(8));
    assert_null(ig_calloc(1, 8));
    assert_null(ig_strdup("x"));
    ig_alloc_fail_reset();
    void *p = ig_malloc(8);
    assert_non_null(p);
    ig_free(p);

    /* after = 2: two succeed, then every one fails until reset. */
    ig_alloc_fail_after(2);
    void *a = ig_malloc(1), *b = ig_malloc(1);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(ig_malloc(1));
    assert_null(ig_malloc(1));
    /* A failed realloc keeps the old block. */
    assert_null(ig_realloc(a, 4096));
    ig_alloc_fail_reset();
    ig_free(a);
    ig_free(b);
    ig_alloc_fail_after(-1); /* negative: disabled */
    p = ig_malloc(1);
    assert_non_null(p);
    ig_free(p);
}

static void test_buf_under_failure(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    ig_buf b;
    ig_buf_init(&b, 0);
    /* First allocation fails: still empty, no data. */
    ig_alloc_fail_after(0);
    assert_int_equal(ig_buf_append(&b, "abc", 3), IG_ENOMEM);
    assert_int_equal(ig_buf_printf(&b, "%d", 5), IG_ENOMEM);
    ig_alloc_fail_reset();
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(ig_buf_append(&b, "abc", 3), 0);
    /* Growth fails: contents unchanged. */
    char big[4096];
    memset(big, 'x', sizeof big);
    ig_alloc_fail_after(0);
    assert_int_equal(ig_buf_append(&b, big, sizeof big), IG_ENOMEM);
    assert_int_equal(ig_buf_json_str(&b, ig_str_make(big, sizeof big)), IG_ENOMEM);
    char long_fmt[600];
    memset(long_fmt, 'f', sizeof long_fmt - 1);
    long_fmt[sizeof long_fmt - 1] = 0;
    assert_int_equal(ig_buf_printf(&b, "%s", long_fmt), IG_ENOMEM);
    ig_alloc_fail_reset();
    /* json_str may have appended its opening quote before failing; the text so far is
     * intact and still NUL-terminated. */
    assert_true(b.len >= 3);
    assert_memory_equal(b.data, "abc", 3);
    assert_int_equal(b.data[b.len], 0);
    ig_buf_reset(&b);
    assert_int_equal(ig_buf_append(&b, big, sizeof big), 0);
    assert_int_equal(b.len, sizeof big);
    ig_buf_free(&b);
    assert_int_equal(ig_alloc_live_blocks(), live);
}

static void check_map(const ig_map *m, int n)
{
    char kb[32];
    assert_int_equal(m->count, (size_t)n);
    for (int i = 0; i < n; i++) {
        int l = snprintf(kb, sizeof kb, "k%d", i);
        assert_int_equal((intptr_t)ig_map_get(m, ig_str_make(kb, (size_t)l)), i + 1);
    }
}

static void test_map_under_failure(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    char kb[32];
    /* Fail at each allocation point of an insert that also grows the table: the
     * table allocation, then the key copy. */
    for (long fail_at = 0; fail_at < 2; fail_at++) {
        ig_map m;
        ig_map_init(&m, 0);
        int n = 0;
        while (n < 12) { /* 12 of 16 slots: the next insert grows */
            int l = snprintf(kb, sizeof kb, "k%d", n);
            assert_int_equal(
                ig_map_put(&m, ig_str_make(kb, (size_t)l), (void *)(intptr_t)(n + 1), NULL), 0);
            n++;
        }
        size_t slots = m.nslots;
        ig_alloc_fail_after(fail_at);
        int l = snprintf(kb, sizeof kb, "k%d", n);
        int rc = ig_map_put(&m, ig_str_make(kb, (size_t)l), (void *)(intptr_t)(n + 1), NULL);
        ig_alloc_fail_reset();
        assert_int_equal(rc, IG_ENOMEM);
        assert_null(ig_map_get(&m, ig_str_make(kb, (size_t)l)));
        check_map(&m, n); /* nothing lost, nothing half-inserted */
        assert_true(m.nslots >= slots);
        /* Replacing an existing key needs no allocation. */
        ig_alloc_fail_after(0);
        assert_int_equal(ig_map_put(&m, IG_STR("k0"), (void *)1, NULL), 0);
        ig_alloc_fail_reset();
        /* Usable afterwards. */
        assert_int_equal(
            ig_map_put(&m, ig_str_make(kb, (size_t)l), (void *)(intptr_t)(n + 1), NULL), 0);
        check_map(&m, n + 1);
        ig_map_free(&m);
    }
    assert_int_equal(ig_alloc_live_blocks(), live);
}

static void test_arena_under_failure(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    ig_arena a;
    ig_arena_init(&a, 0);
    ig_alloc_fail_after(0);
    assert_null(ig_arena_alloc(&a, 10));
    assert_null(ig_arena_cstr(&a, IG_STR("x")));
    ig_str s = ig_arena_strdup(&a, IG_STR("x"));
    assert_null(s.ptr);
    assert_int_equal(s.len, 0);
    ig_alloc_fail_reset();
    assert_null(a.head);
    assert_int_equal(a.used, 0);
    char *p = ig_arena_alloc(&a, 10);
    assert_non_null(p);
    /* A new block is needed and cannot be had: NULL, the old block stays valid. */
    memcpy(p, "keepme", 7);
    size_t used = a.used;
    ig_alloc_fail_after(0);
    assert_null(ig_arena_alloc(&a, 1 << 20));
    ig_alloc_fail_reset();
    assert_int_equal(a.used, used);
    assert_string_equal(p, "keepme");
    assert_non_null(ig_arena_alloc(&a, 1 << 20));
    ig_arena_free(&a);
    assert_int_equal(ig_alloc_live_blocks(), live);
}

/* Torture: run a whole sequence with the n-th allocation failing, for every n, until
 * it completes; each failure must be clean and leak nothing. */
static int sequence(void)
{
    int rc;
    ig_buf b;
    ig_map m;
    ig_arena a;
    ig_buf_init(&b, 0);
    ig_map_init(&m, 0);
    ig_arena_init(&a, 0);
    char kb[32];
    for (int i = 0; i < 40; i++) {
        int l = snprintf(kb, sizeof kb, "key-%d", i);
        if ((rc = ig_map_put(&m, ig_str_make(kb, (size_t)l), NULL, NULL)))
            goto out;
        if ((rc = ig_buf_printf(&b, "%s,", kb)))
            goto out;
        if (!ig_arena_alloc(&a, 3000)) {
            rc = IG_ENOMEM;
            goto out;
        }
    }
    rc = (m.count == 40 && b.len > 0) ? 0 : IG_EINTERNAL;
out:
    ig_buf_free(&b);
    ig_map_free(&m);
    ig_arena_free(&a);
    return rc;
}

static void test_torture(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    long n;
    for (n = 0; n < 10000; n++) {
        ig_alloc_fail_after(n);
        int rc = sequence();
        ig_alloc_fail_reset();
        assert_int_equal(ig_alloc_live_blocks(), live);
        if (rc == 0)
            break;
        assert_int_equal(rc, IG_ENOMEM);
    }
    assert_true(n > 5);     /* it did need allocations */
    assert_true(n < 10000); /* and eventually succeeded */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_wrapper, reset_injection),
        cmocka_unit_test_teardown(test_injection_counts, reset_injection),
        cmocka_unit_test_teardown(test_buf_under_failure, reset_injection),
        cmocka_unit_test_teardown(test_map_under_failure, reset_injection),
        cmocka_unit_test_teardown(test_arena_under_failure, reset_injection),
        cmocka_unit_test_teardown(test_torture, reset_injection),
    };
    return cmocka_run_group_tests_name("core/alloc", tests, NULL, NULL);
}
