/* Arenas: alignment, caps, hooks, reset and reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/arena.h"

static void test_alloc_alignment_and_content(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    ig_arena a;
    ig_arena_init(&a, 0);
    assert_null(a.head); /* init allocates nothing */
    char *prev = NULL;
    for (size_t n = 1; n < 3000; n += 37) {
        char *p = ig_arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, (int)(n & 0xff), n); /* ASan would catch an overlap past a block */
        if (prev)
            assert_ptr_not_equal(p, prev);
        prev = p;
    }
    unsigned char *z = ig_arena_zalloc(&a, 100);
    assert_non_null(z);
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    ig_str s = ig_arena_strdup(&a, ig_str_make("ab\0cd", 5));
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.ptr, "ab\0cd", 5);
    assert_int_equal(s.ptr[5], 0);
    char *c = ig_arena_cstr(&a, IG_STR("hello"));
    assert_string_equal(c, "hello");
    c = ig_arena_cstr(&a, IG_STR_NULL);
    assert_string_equal(c, "");
    /* Zero-byte allocations work too. */
    assert_non_null(ig_arena_alloc(&a, 0));
    /* A huge request fails without overflow. */
    assert_null(ig_arena_alloc(&a, SIZE_MAX));
    assert_null(ig_arena_alloc(&a, SIZE_MAX - 8));
    ig_arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
    assert_int_equal(ig_alloc_live_blocks(), live);
}

static void test_large_and_small_mix(void **state)
{
    (void)state;
    ig_arena a;
    ig_arena_init(&a, 0);
    char *s1 = ig_arena_alloc(&a, 32);
    char *big = ig_arena_alloc(&a, 1 << 20); /* a dedicated block */
    char *s2 = ig_arena_alloc(&a, 32);
    assert_non_null(s1);
    assert_non_null(big);
    assert_non_null(s2);
    memset(big, 1, 1 << 20);
    /* Small allocations continue in the first block after the large one. */
    assert_ptr_equal(s2, s1 + 32);
    ig_arena_free(&a);
}

static void test_cap(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    ig_arena a;
    ig_arena_init(&a, 256 * 1024);
    size_t total = 0;
    for (;;) {
        void *p = ig_arena_alloc(&a, 1000);
        if (!p)
            break;
        total += 1000;
        assert_true(a.used <= a.cap);
        assert_true(total < 1024 * 1024);
    }
    assert_true(total >= 150 * 1000); /* the cap is not hit far too early */
    assert_true(a.used <= a.cap);
    /* A single allocation larger than the cap fails. */
    assert_null(ig_arena_alloc(&a, 300 * 1024));
    ig_arena_free(&a);
    assert_int_equal(ig_alloc_live_blocks(), live);

    /* A cap smaller than the default block still allows allocations within it. */
    ig_arena_init(&a, 4096);
    char *p = ig_arena_alloc(&a, 100);
    assert_non_null(p);
    memset(p, 'x', 100);
    size_t got = 100;
    while (ig_arena_alloc(&a, 100))
        got += 100;
    assert_true(got >= 3000);
    assert_true(a.used <= 4096);
    assert_null(ig_arena_alloc(&a, 5000));
    ig_arena_free(&a);
    assert_int_equal(ig_alloc_live_blocks(), live);
}

static int g_order[8];
static int g_norder;

static void hook(void *arg)
{
    g_order[g_norder++] = (int)(intptr_t)arg;
}

static void test_hooks(void **state)
{
    (void)state;
    ig_arena a;
    ig_arena_init(&a, 0);
    g_norder = 0;
    assert_int_equal(ig_arena_on_free(&a, hook, (void *)1), 0);
    assert_int_equal(ig_arena_on_free(&a, hook, (void *)2), 0);
    assert_int_equal(ig_arena_on_free(&a, hook, (void *)3), 0);
    assert_int_equal(g_norder, 0);
    ig_arena_free(&a);
    assert_int_equal(g_norder, 3);
    assert_int_equal(g_order[0], 3); /* reverse order of registration */
    assert_int_equal(g_order[1], 2);
    assert_int_equal(g_order[2], 1);
    /* Freeing again runs nothing. */
    ig_arena_free(&a);
    assert_int_equal(g_norder, 3);

    /* Reset runs the hooks and keeps the arena usable. */
    g_norder = 0;
    assert_int_equal(ig_arena_on_free(&a, hook, (void *)7), 0);
    ig_arena_reset(&a);
    assert_int_equal(g_norder, 1);
    assert_int_equal(g_order[0], 7);
    ig_arena_reset(&a);
    assert_int_equal(g_norder, 1);
    ig_arena_free(&a);

    /* When the hook record cannot be allocated, the hook runs at once. */
    ig_arena_init(&a, 0);
    g_norder = 0;
    ig_alloc_fail_after(0);
    int rc = ig_arena_on_free(&a, hook, (void *)9);
    ig_alloc_fail_reset();
    assert_int_equal(rc, IG_ENOMEM);
    assert_int_equal(g_norder, 1);
    assert_int_equal(g_order[0], 9);
    ig_arena_free(&a);
    assert_int_equal(g_norder, 1); /* not run twice */
}

static void test_reset_reuses_first_block(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    ig_arena a;
    ig_arena_init(&a, 0);
    for (int i = 0; i < 100; i++)
        assert_non_null(ig_arena_alloc(&a, 4000)); /* several blocks */
    assert_true(ig_alloc_live_blocks() - live > 1);
    ig_arena_reset(&a);
    assert_int_equal(ig_alloc_live_blocks() - live, 1);
    assert_true(a.used > 0);
    uint64_t calls = ig_alloc_calls();
    char *p = ig_arena_alloc(&a, 100);
    assert_non_null(p);
    assert_int_equal(ig_alloc_calls(), calls); /* served from the kept block */
    ig_arena_free(&a);
    assert_int_equal(ig_alloc_live_blocks(), live);
    /* Usable after free. */
    assert_non_null(ig_arena_alloc(&a, 10));
    ig_arena_free(&a);
    assert_int_equal(ig_alloc_live_blocks(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_alignment_and_content),
        cmocka_unit_test(test_large_and_small_mix),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_hooks),
        cmocka_unit_test(test_reset_reuses_first_block),
    };
    return cmocka_run_group_tests_name("core/arena", tests, NULL, NULL);
}
