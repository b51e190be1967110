/* Hash map: put/get/replace, removal with backward shift, growth, caps, iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/map.h"

/* Checks the linear-probing invariant: every entry is reachable from its home slot
 * without crossing an empty slot; and count matches the live slots. */
static void check_invariants(const ig_map *m)
{
    size_t live = 0;
    for (size_t i = 0; i < m->nslots; i++) {
        if (!m->slots[i].key)
            continue;
        live++;
        size_t mask = m->nslots - 1;
        for (size_t j = (size_t)m->slots[i].hash & mask; j != i; j = (j + 1) & mask)
            if (!m->slots[j].key)
                fail_msg("slot %zu unreachable from its home (hole at %zu)", i, j);
        assert_true(m->slots[i].hash == ig_hash64(m->slots[i].key, m->slots[i].key_len));
    }
    assert_int_equal(live, m->count);
    if (m->nslots)
        assert_true(m->count * 4 <= m->nslots * 3);
}

static ig_str key_of(char *buf, size_t n, int i)
{
    int l = snprintf(buf, n, "key-%d", i);
    return ig_str_make(buf, (size_t)l);
}

static void test_put_get_replace(void **state)
{
    (void)state;
    ig_map m;
    ig_map_init(&m, 0);
    assert_null(ig_map_find(&m, IG_STR("x")));
    assert_null(ig_map_remove(&m, IG_STR("x")));
    int a = 1, b = 2;
    void *old = &a;
    assert_int_equal(ig_map_put(&m, IG_STR("x"), &a, &old), 0);
    assert_null(old);
    assert_ptr_equal(ig_map_get(&m, IG_STR("x")), &a);
    assert_int_equal(ig_map_put(&m, IG_STR("x"), &b, &old), 0);
    assert_ptr_equal(old, &a);
    assert_ptr_equal(ig_map_get(&m, IG_STR("x")), &b);
    assert_int_equal(m.count, 1);
    /* Keys are copied and NUL-terminated; binary keys and the empty key work. */
    char kbuf[4] = {'k', 0, 'z', 0};
    assert_int_equal(ig_map_put(&m, ig_str_make(kbuf, 3), &a, NULL), 0);
    kbuf[0] = 'Q';
    assert_null(ig_map_get(&m, ig_str_make(kbuf, 3)));
    ig_map_entry *e = ig_map_find(&m, ig_str_make("k\0z", 3));
    assert_non_null(e);
    assert_int_equal(e->key_len, 3);
    assert_memory_equal(e->key, "k\0z", 4);
    assert_null(ig_map_get(&m, IG_STR("k"))); /* a prefix is another key */
    assert_int_equal(ig_map_put(&m, IG_STR(""), &b, NULL), 0);
    assert_ptr_equal(ig_map_get(&m, IG_STR("")), &b);
    assert_int_equal(m.count, 3);
    /* Upsert. */
    bool created = false;
    assert_int_equal(ig_map_upsert(&m, IG_STR("new"), &e, &created), 0);
    assert_true(created);
    assert_null(e->value);
    e->value = &a;
    assert_int_equal(ig_map_upsert(&m, IG_STR("new"), &e, &created), 0);
    assert_false(created);
    assert_ptr_equal(e->value, &a);
    assert_ptr_equal(ig_map_remove(&m, IG_STR("new")), &a);
    assert_null(ig_map_get(&m, IG_STR("new")));
    check_invariants(&m);
    ig_map_free(&m);
    assert_int_equal(m.count, 0);
    assert_null(m.slots);
}

static void test_many_keys_and_removal(void **state)
{
    (void)state;
    int64_t live = ig_alloc_live_blocks();
    enum { N = 20000 };
    ig_map m;
    ig_map_init(&m, 0);
    char kb[32];
    for (int i = 0; i < N; i++)
        assert_int_equal(ig_map_put(&m, key_of(kb, sizeof kb, i), (void *)(intptr_t)(i + 1), NULL),
                         0);
    assert_int_equal(m.count, N);
    check_invariants(&m);
    for (int i = 0; i < N; i++)
        assert_int_equal((intptr_t)ig_map_get(&m, key_of(kb, sizeof kb, i)), i + 1);
    /* Remove two thirds in an interleaved pattern: backward shift must keep every
     * remaining key reachable. */
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            continue;
        assert_int_equal((intptr_t)ig_map_remove(&m, key_of(kb, sizeof kb, i)), i + 1);
        if (i % 997 == 1)
            check_invariants(&m);
    }
    check_invariants(&m);
    assert_int_equal(m.count, (N + 2) / 3);
    for (int i = 0; i < N; i++) {
        void *v = ig_map_get(&m, key_of(kb, sizeof kb, i));
        if (i % 3 == 0)
            assert_int_equal((intptr_t)v, i + 1);
        else
            assert_null(v);
    }
    /* Removing absent keys changes nothing. */
    assert_null(ig_map_remove(&m, IG_STR("absent")));
    assert_null(ig_map_remove(&m, key_of(kb, sizeof kb, 1)));
    assert_int_equal(m.count, (N + 2) / 3);
    /* Re-insert and iterate: every key exactly once. */
    for (int i = 0; i < N; i++)
        assert_int_equal(ig_map_put(&m, key_of(kb, sizeof kb, i), (void *)(intptr_t)(i + 1), NULL),
                         0);
    assert_int_equal(m.count, N);
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    size_t it = 0, visited = 0;
    ig_map_entry *e;
    while ((e = ig_map_next(&m, &it))) {
        int v = (int)(intptr_t)e->value - 1;
        assert_true(v >= 0 && v < N);
        assert_int_equal(seen[v], 0);
        seen[v] = 1;
        visited++;
    }
    assert_int_equal(visited, N);
    /* Remove everything. */
    for (int i = N - 1; i >= 0; i--)
        assert_non_null(ig_map_remove(&m, key_of(kb, sizeof kb, i)));
    assert_int_equal(m.count, 0);
    check_invariants(&m);
    ig_map_free(&m);
    assert_int_equal(ig_alloc_live_blocks(), live);
}

/* Removal inside a wrap-around cluster at the end of the table. */
static void test_removal_wraparound(void **state)
{
    (void)state;
    ig_map m;
    ig_map_init(&m, 0);
    char kb[32];
    /* Find keys whose home is the last slot of a 16-slot table (the first table size). */
    int found[6], nf = 0;
    for (int i = 0; nf < 6 && i < 100000; i++) {
        ig_str k = key_of(kb, sizeof kb, i);
        if ((ig_hash64(k.ptr, k.len) & 15) == 15)
            found[nf++] = i;
    }
    assert_int_equal(nf, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(
            ig_map_put(&m, key_of(kb, sizeof kb, found[i]), (void *)(intptr_t)(i + 1), NULL), 0);
    assert_int_equal(m.nslots, 16); /* 6 entries: no growth, so they wrap to slots 0..4 */
    check_invariants(&m);
    for (int r = 0; r < 6; r++) {
        assert_int_equal((intptr_t)ig_map_remove(&m, key_of(kb, sizeof kb, found[r])), r + 1);
        check_invariants(&m);
        for (int i = r + 1; i < 6; i++)
            assert_int_equal((intptr_t)ig_map_get(&m, key_of(kb, sizeof kb, found[i])), i + 1);
    }
    assert_int_equal(m.count, 0);
    ig_map_free(&m);
}

static void test_cap(void **state)
{
    (void)state;
    ig_map m;
    ig_map_init(&m, 3);
    assert_int_equal(ig_map_put(&m, IG_STR("a"), (void *)1, NULL), 0);
    assert_int_equal(ig_map_put(&m, IG_STR("b"), (void *)2, NULL), 0);
    assert_int_equal(ig_map_put(&m, IG_STR("c"), (void *)3, NULL), 0);
    assert_int_equal(ig_map_put(&m, IG_STR("d"), (void *)4, NULL), IG_ETOOBIG);
    assert_int_equal(m.count, 3);
    assert_null(ig_map_get(&m, IG_STR("d")));
    ig_map_entry *e;
    assert_int_equal(ig_map_upsert(&m, IG_STR("e"), &e, NULL), IG_ETOOBIG);
    /* Replacing an existing key is not an insertion. */
    assert_int_equal(ig_map_put(&m, IG_STR("b"), (void *)22, NULL), 0);
    assert_int_equal((intptr_t)ig_map_get(&m, IG_STR("b")), 22);
    /* After a removal there is room again. */
    assert_int_equal((intptr_t)ig_map_remove(&m, IG_STR("a")), 1);
    assert_int_equal(ig_map_put(&m, IG_STR("d"), (void *)4, NULL), 0);
    assert_int_equal(m.count, 3);
    check_invariants(&m);
    ig_map_free(&m);
}

static void test_hash_stable(void **state)
{
    (void)state;
    assert_true(ig_hash64("abc", 3) == ig_hash64("abc", 3));
    assert_true(ig_hash64("abc", 3) != ig_hash64("abd", 3));
    assert_true(ig_hash64("", 0) == ig_hash64(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace),    cmocka_unit_test(test_many_keys_and_removal),
        cmocka_unit_test(test_removal_wraparound), cmocka_unit_test(test_cap),
        cmocka_unit_test(test_hash_stable),
    };
    return cmocka_run_group_tests_name("core/map", tests, NULL, NULL);
}
