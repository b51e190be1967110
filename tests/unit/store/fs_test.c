/* Object store, filesystem backend. Each test runs in its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/store.h"
#include "icegate/time.h"

typedef struct fixture {
    char tmp[64];   /* mkdtemp directory */
    char root[128]; /* store root: tmp/root/sub (created by open) */
    ig_store *st;
} fixture;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ig_fs_test.XXXXXX");
    if (!mkdtemp(fx->tmp))
        return -1;
    snprintf(fx->root, sizeof fx->root, "%s/root/sub", fx->tmp);
    ig_errbuf eb;
    if (ig_store_open_fs(fx->root, &fx->st, &eb) != 0) {
        fprintf(stderr, "open: %s\n", eb.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ig_store_close(fx->st);
    nftw(fx->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void put_str(ig_store *st, const char *key, const char *v)
{
    ig_errbuf eb = {""};
    int rc = ig_store_put(st, key, v, strlen(v), &eb);
    if (rc)
        fail_msg("put %s: %d %s", key, rc, eb.msg);
}

static void expect_get(ig_store *st, const char *key, const char *want)
{
    ig_buf b;
    ig_buf_init(&b, 1 << 20);
    ig_errbuf eb = {""};
    int rc = ig_store_get(st, key, &b, &eb);
    if (rc)
        fail_msg("get %s: %d %s", key, rc, eb.msg);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_int_equal(b.data[b.len], 0);
    ig_buf_free(&b);
}

/* Names in a directory of the root (relative path), excluding "." and "..". */
static int count_dir_entries(fixture *fx, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", fx->root, rel);
    DIR *d = opendir(p);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static bool path_exists(fixture *fx, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", fx->root, rel);
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* ---- basic operations ----------------------------------------------------------------- */

static void test_put_get(void **state)
{
    fixture *fx = *state;
    put_str(fx->st, "a/b/c.txt", "hello");
    expect_get(fx->st, "a/b/c.txt", "hello");
    /* Overwrite replaces, shorter and longer. */
    put_str(fx->st, "a/b/c.txt", "hi");
    expect_get(fx->st, "a/b/c.txt", "hi");
    put_str(fx->st, "a/b/c.txt", "a longer value than before");
    expect_get(fx->st, "a/b/c.txt", "a longer value than before");
    /* Empty object. */
    ig_errbuf eb;
    assert_int_equal(ig_store_put(fx->st, "empty", NULL, 0, &eb), 0);
    expect_get(fx->st, "empty", "");
    /* Top-level key and binary content with NULs. */
    const char bin[] = {0, 1, 2, 0, (char)0xff};
    assert_int_equal(ig_store_put(fx->st, "bin", bin, sizeof bin, &eb), 0);
    ig_buf b;
    ig_buf_init(&b, 100);
    ig_buf_append_cstr(&b, "pre:");
    assert_int_equal(ig_store_get(fx->st, "bin", &b, &eb), 0);
    assert_int_equal(b.len, 4 + sizeof bin); /* appended, not replaced */
    assert_memory_equal(b.data, "pre:", 4);
    assert_memory_equal(b.data + 4, bin, sizeof bin);
    ig_buf_free(&b);
    /* The put left no temporary file behind. */
    assert_int_equal(count_dir_entries(fx, "a/b"), 1);
}

static void test_get_missing(void **state)
{
    fixture *fx = *state;
    ig_buf b;
    ig_buf_init(&b, 100);
    ig_errbuf eb = {""};
    assert_int_equal(ig_store_get(fx->st, "no/such/key", &b, &eb), IG_ENOENT);
    assert_non_null(strstr(eb.msg, "no/such/key"));
    assert_int_equal(b.len, 0);
    /* A directory of keys is not an object. */
    put_str(fx->st, "dir/x", "1");
    assert_int_equal(ig_store_get(fx->st, "dir", &b, &eb), IG_ENOENT);
    /* A key below an object. */
    assert_int_equal(ig_store_get(fx->st, "dir/x/y", &b, &eb), IG_ENOENT);
    ig_buf_free(&b);
}

static void test_get_range(void **state)
{
    fixture *fx = *state;
    put_str(fx->st, "r", "0123456789");
    ig_buf b;
    ig_buf_init(&b, 100);
    ig_errbuf eb = {""};
    assert_int_equal(ig_store_get_range(fx->st, "r", 2, 3, &b, &eb), 0);
    assert_string_equal(b.data, "234");
    ig_buf_reset(&b);
    assert_int_equal(ig_store_get_range(fx->st, "r", 8, 100, &b, &eb), 0); /* cut at the end */
    assert_string_equal(b.data, "89");
    ig_buf_reset(&b);
    assert_int_equal(ig_store_get_range(fx->st, "r", 0, 0, &b, &eb), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(ig_store_get_range(fx->st, "r", 10, 5, &b, &eb), 0); /* at the end: empty */
    assert_int_equal(b.len, 0);
    assert_int_equal(ig_store_get_range(fx->st, "r", 11, 1, &b, &eb), IG_ERANGE);
    assert_non_null(strstr(eb.msg, "offset 11"));
    assert_int_equal(ig_store_get_range(fx->st, "r", UINT64_MAX, 1, &b, &eb), IG_ERANGE);
    assert_int_equal(ig_store_get_range(fx->st, "r", 0, UINT64_MAX, &b, &eb), 0);
    assert_string_equal(b.data, "0123456789");
    assert_int_equal(ig_store_get_range(fx->st, "missing", 0, 1, &b, &eb), IG_ENOENT);
    ig_buf_free(&b);
}

static void test_get_cap(void **state)
{
    fixture *fx = *state;
    put_str(fx->st, "big", "0123456789");
    ig_buf b;
    ig_buf_init(&b, 9);
    ig_errbuf eb = {""};
    assert_int_equal(ig_store_get(fx->st, "big", &b, &eb), IG_ETOOBIG);
    assert_int_equal(b.len, 0);
    assert_non_null(strstr(eb.msg, "big"));
    /* Exactly at the cap fits; then nothing more does. */
    ig_buf_free(&b);
    ig_buf_init(&b, 10);
    assert_int_equal(ig_store_get(fx->st, "big", &b, &eb), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(ig_store_get_range(fx->st, "big", 0, 1, &b, &eb), IG_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    ig_buf_free(&b);
    /* A range within the cap works even though the object is larger. */
    ig_buf_init(&b, 4);
    assert_int_equal(ig_store_get_range(fx->st, "big", 3, 4, &b, &eb), 0);
    assert_string_equal(b.data, "3456");
    ig_buf_free(&b);
}

static void test_head(void **state)
{
    fixture *fx = *state;
    int64_t before = ig_now_ns() - 2 * IG_NS_PER_S;
    put_str(fx->st, "h/one", "12345");
    ig_store_stat st = {0, 0};
    ig_errbuf eb = {""};
    assert_int_equal(ig_store_head(fx->st, "h/one", &st, &eb), 0);
    assert_int_equal(st.size, 5);
    assert_true(st.mtime_ns >= before);
    assert_true(st.mtime_ns <= ig_now_ns() + 2 * IG_NS_PER_S);
    assert_int_equal(ig_store_head(fx->st, "h/two", &st, &eb), IG_ENOENT);
    assert_non_null(strstr(eb.msg, "h/two"));
    assert_int_equal(ig_store_head(fx->st, "h", &st, &eb), IG_ENOENT); /* a directory */
    assert_int_equal(ig_store_head(fx->st, "h/one", NULL, &eb), 0);
}

/* ---- listing -------------------------------------------------------------------------- */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists prefix page by page with page size max, checks every page and returns all keys
 * (caller frees) in *keys; returns the count. */
static size_t list_all(ig_store *st, const char *prefix, const char *start_after, size_t max,
                       char ***keys)
{
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof *v);
    char *after = start_after ? strdup(start_after) : NULL;
    int pages = 0;
    for (;;) {
        ig_store_listing l;
        ig_errbuf eb = {""};
        int rc = ig_store_list(st, prefix, after, max, &l, &eb);
        if (rc)
            fail_msg("list %s: %d %s", prefix, rc, eb.msg);
        assert_true(l.count <= max);
        if (l.next_start_after) {
            assert_int_equal(l.count, max); /* only a full page can be followed by another */
            assert_string_equal(l.next_start_after, l.entries[l.count - 1].key);
        }
        for (size_t i = 0; i < l.count; i++) {
            if (n == cap)
                v = realloc(v, (cap *= 2) * sizeof *v);
            v[n++] = strdup(l.entries[i].key);
            assert_true(strncmp(l.entries[i].key, prefix, strlen(prefix)) == 0);
            if (after)
                assert_true(strcmp(l.entries[i].key, after) > 0);
        }
        free(after);
        after = l.next_start_after ? strdup(l.next_start_after) : NULL;
        ig_store_list_free(&l);
        assert_null(l.entries);
        pages++;
        assert_true(pages < 100000);
        if (!after)
            break;
    }
    *keys = v;
    return n;
}

static void free_keys(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Keys whose bytewise order differs from a naive directory walk ('-' < '.' < '/' < '0'). */
static const char *const TRICKY[] = {
    "p/a-",
    "p/a.c",
    "p/a/b",
    "p/a/b0",
    "p/a/b/c",
    "p/a0",
    "p/ab",
    "p/a/-x",
    "p/b/x/y",
    "p/b/x-",
    "p/b/x.y",
    "p/ba",
    "q",
    "p/A",
    "p/~",
    "p/a/b/c2",
    "p/\xc3\xa9t\xc3\xa9",
    "p/a/b/c/d/e/f/g",
    "p-",
    "p.x",
};

static void test_list_order_and_prefix(void **state)
{
    fixture *fx = *state;
    size_t nt = sizeof TRICKY / sizeof TRICKY[0];
    /* p/a/b/c is a directory because of p/a/b/c/d/...; drop the conflicting object key. */
    char *want[64];
    size_t nw = 0;
    for (size_t i = 0; i < nt; i++) {
        if (strcmp(TRICKY[i], "p/a/b/c") == 0 || strcmp(TRICKY[i], "p/a/b") == 0)
            continue;
        put_str(fx->st, TRICKY[i], TRICKY[i]);
        want[nw++] = (char *)TRICKY[i];
    }
    qsort(want, nw, sizeof want[0], cmp_cstr);

    for (size_t max = 1; max <= nw + 1; max++) {
        char **got;
        size_t ng = list_all(fx->st, "", NULL, max, &got);
        assert_int_equal(ng, nw);
        for (size_t i = 0; i < nw; i++)
            assert_string_equal(got[i], want[i]);
        free_keys(got, ng);
    }

    /* Prefixes: a directory, a partial segment, a whole key, nothing. */
    struct {
        const char *prefix;
        size_t count;
    } cases[] = {{"p/", 0}, {"p/a", 0}, {"p/a/", 0}, {"p/a/b/", 0}, {"p/b", 0},
                 {"q", 0},  {"p", 0},   {"zz", 0},   {"p/zz/", 0},  {"p/a.", 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t expect = 0;
        for (size_t i = 0; i < nw; i++)
            expect += strncmp(want[i], cases[c].prefix, strlen(cases[c].prefix)) == 0;
        for (size_t max = 1; max <= 3; max++) {
            char **got;
            size_t ng = list_all(fx->st, cases[c].prefix, NULL, max, &got);
            assert_int_equal(ng, expect);
            /* In order, and exactly the expected ones. */
            size_t j = 0;
            for (size_t i = 0; i < nw; i++)
                if (strncmp(want[i], cases[c].prefix, strlen(cases[c].prefix)) == 0)
                    assert_string_equal(got[j++], want[i]);
            free_keys(got, ng);
        }
    }

    /* start_after: every existing key, plus strings between keys. */
    for (size_t s = 0; s < nw; s++) {
        char **got;
        size_t ng = list_all(fx->st, "", want[s], 2, &got);
        assert_int_equal(ng, nw - s - 1);
        for (size_t i = 0; i < ng; i++)
            assert_string_equal(got[i], want[s + 1 + i]);
        free_keys(got, ng);
    }
    const char *betweens[] = {"", "p/a", "p/a/", "p/a/b/c", "p/a/b/c/", "p/a/c", "p/b/", "zzz"};
    for (size_t s = 0; s < sizeof betweens / sizeof betweens[0]; s++) {
        size_t expect = 0;
        for (size_t i = 0; i < nw; i++)
            expect += strcmp(want[i], betweens[s]) > 0;
        char **got;
        size_t ng = list_all(fx->st, "", betweens[s], 3, &got);
        assert_int_equal(ng, expect);
        free_keys(got, ng);
    }
}

static void test_list_many_paged(void **state)
{
    fixture *fx = *state;
    enum { N = 600 };
    char *want[N];
    for (int i = 0; i < N; i++) {
        char k[64];
        /* Spread over nested prefixes of different depths. */
        snprintf(k, sizeof k, "wal/t%d/w%02d/%05d.parquet", i % 3, (i * 7) % 11, i);
        if (i % 5 == 0)
            snprintf(k, sizeof k, "wal/t%d/%d", i % 3, i);
        want[i] = strdup(k);
        put_str(fx->st, k, k);
    }
    qsort(want, N, sizeof want[0], cmp_cstr);
    size_t pages[] = {1, 7, 100, 599, 600, 601, 100000};
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
        char **got;
        size_t ng = list_all(fx->st, "wal/", NULL, pages[p], &got);
        assert_int_equal(ng, N);
        for (size_t i = 0; i < N; i++)
            assert_string_equal(got[i], want[i]);
        free_keys(got, ng);
    }
    /* Sizes and times are filled in. */
    ig_store_listing l;
    ig_errbuf eb;
    assert_int_equal(ig_store_list(fx->st, "wal/t1/", NULL, 5, &l, &eb), 0);
    assert_int_equal(l.count, 5);
    assert_non_null(l.next_start_after);
    for (size_t i = 0; i < l.count; i++) {
        assert_int_equal(l.entries[i].size, strlen(l.entries[i].key));
        assert_true(l.entries[i].mtime_ns > 0);
        if (i)
            assert_true(strcmp(l.entries[i - 1].key, l.entries[i].key) < 0);
    }
    ig_store_list_free(&l);
    /* The complete listing in one page has no continuation. */
    assert_int_equal(ig_store_list(fx->st, "wal/t1/", NULL, N, &l, &eb), 0);
    assert_int_equal(l.count, N / 3);
    assert_null(l.next_start_after);
    ig_store_list_free(&l);
    for (int i = 0; i < N; i++)
        free(want[i]);
}

static void test_list_skips_temp_files(void **state)
{
    fixture *fx = *state;
    put_str(fx->st, "t/a", "1");
    put_str(fx->st, "t/b", "2");
    /* Leftovers of a crashed writer, and odd names no key can produce. */
    const char *junk[] = {"t/.ig-tmp\\123.4", "t/.ig-tmp\\9", "t/x\\y", "t/ctl\x01"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", fx->root, junk[i]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs("partial", f);
        fclose(f);
    }
    char **got;
    size_t ng = list_all(fx->st, "", NULL, 10, &got);
    assert_int_equal(ng, 2);
    assert_string_equal(got[0], "t/a");
    assert_string_equal(got[1], "t/b");
    free_keys(got, ng);
}

static void test_list_args(void **state)
{
    fixture *fx = *state;
    ig_store_listing l;
    ig_errbuf eb = {""};
    assert_int_equal(ig_store_list(fx->st, "", NULL, 0, &l, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "max"));
    assert_int_equal(ig_store_list(fx->st, "../", NULL, 5, &l, &eb), IG_EINVAL);
    assert_int_equal(ig_store_list(fx->st, "a//b", NULL, 5, &l, &eb), IG_EINVAL);
    assert_int_equal(ig_store_list(fx->st, "/abs", NULL, 5, &l, &eb), IG_EINVAL);
    assert_int_equal(ig_store_list(fx->st, "a\\b", NULL, 5, &l, &eb), IG_EINVAL);
    assert_int_equal(ig_store_list(fx->st, "a/./", NULL, 5, &l, &eb), IG_EINVAL);
    assert_int_equal(l.count, 0);
    assert_null(l.entries);
    /* An empty store, and a prefix with nothing under it. */
    assert_int_equal(ig_store_list(fx->st, "", NULL, 5, &l, &eb), 0);
    assert_int_equal(l.count, 0);
    assert_null(l.next_start_after);
    ig_store_list_free(&l);
    assert_int_equal(ig_store_list(fx->st, "nothing/here/", NULL, 5, &l, &eb), 0);
    assert_int_equal(l.count, 0);
    ig_store_list_free(&l);
    /* A prefix naming an object's directory part that is an object. */
    put_str(fx->st, "obj", "x");
    assert_int_equal(ig_store_list(fx->st, "obj/", NULL, 5, &l, &eb), 0);
    assert_int_equal(l.count, 0);
    ig_store_list_free(&l);
    assert_int_equal(ig_store_list(fx->st, "obj", NULL, 5, &l, &eb), 0);
    assert_int_equal(l.count, 1);
    ig_store_list_free(&l);
}

/* ---- put-if-absent -------------------------------------------------------------------- */

static void test_put_if_absent(void **state)
{
    fixture *fx = *state;
    ig_errbuf eb = {""};
    assert_int_equal(ig_store_put_if_absent(fx->st, "meta/v1.json", "one", 3, &eb), 0);
    assert_int_equal(ig_store_put_if_absent(fx->st, "meta/v1.json", "two", 3, &eb), IG_EEXIST);
    assert_non_null(strstr(eb.msg, "meta/v1.json"));
    expect_get(fx->st, "meta/v1.json", "one");
    assert_int_equal(count_dir_entries(fx, "meta"), 1); /* the loser's temp file is gone */
    /* After a delete, the key can be created again. */
    assert_int_equal(ig_store_delete(fx->st, "meta/v1.json", &eb), 0);
    assert_int_equal(ig_store_put_if_absent(fx->st, "meta/v1.json", "three", 5, &eb), 0);
    expect_get(fx->st, "meta/v1.json", "three");
}

enum { RACERS = 8, RACE_KEYS = 25 };

typedef struct racer {
    ig_store *st;
    int id;
    pthread_barrier_t *bar;
    int rc[RACE_KEYS];
} racer;

static void *race_main(void *arg)
{
    racer *r = arg;
    for (int k = 0; k < RACE_KEYS; k++) {
        char key[64], val[32];
        snprintf(key, sizeof key, "race/%d/v%d.metadata.json", k % 4, k);
        snprintf(val, sizeof val, "writer-%d", r->id);
        pthread_barrier_wait(r->bar);
        ig_errbuf eb;
        r->rc[k] = ig_store_put_if_absent(r->st, key, val, strlen(val), &eb);
    }
    return NULL;
}

static void test_put_if_absent_race(void **state)
{
    fixture *fx = *state;
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, RACERS);
    racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (racer){.st = fx->st, .id = i, .bar = &bar};
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &rs[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    for (int k = 0; k < RACE_KEYS; k++) {
        int winners = 0, winner = -1;
        for (int i = 0; i < RACERS; i++) {
            if (rs[i].rc[k] == 0) {
                winners++;
                winner = i;
            } else {
                assert_int_equal(rs[i].rc[k], IG_EEXIST);
            }
        }
        assert_int_equal(winners, 1);
        char key[64], val[32];
        snprintf(key, sizeof key, "race/%d/v%d.metadata.json", k % 4, k);
        snprintf(val, sizeof val, "writer-%d", winner);
        expect_get(fx->st, key, val);
    }
    /* No temporary files left anywhere. */
    for (int d = 0; d < 4; d++) {
        char rel[32];
        snprintf(rel, sizeof rel, "race/%d", d);
        int expect = 0;
        for (int k = 0; k < RACE_KEYS; k++)
            expect += k % 4 == d;
        assert_int_equal(count_dir_entries(fx, rel), expect);
    }
}

/* ---- atomicity ------------------------------------------------------------------------ */

typedef struct atom_ctx {
    ig_store *st;
    volatile int stop;
    int writes;
    int write_err;
} atom_ctx;

/* Version i is (i % 2 ? 'B' : 'A') repeated 40000 + 997 * (i % 13) bytes. */
static size_t version_len(int i)
{
    return 40000 + 997 * (size_t)(i % 13);
}

static void *atom_writer(void *arg)
{
    atom_ctx *c = arg;
    char *buf = malloc(version_len(12) + 1);
    for (int i = 1; i <= 300; i++) {
        size_t n = version_len(i);
        memset(buf, i % 2 ? 'B' : 'A', n);
        ig_errbuf eb;
        if (ig_store_put(c->st, "atomic/obj", buf, n, &eb))
            c->write_err++;
        c->writes++;
    }
    free(buf);
    __atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_atomic_rewrite(void **state)
{
    fixture *fx = *state;
    char *init = malloc(version_len(0));
    memset(init, 'A', version_len(0));
    ig_errbuf eb;
    assert_int_equal(ig_store_put(fx->st, "atomic/obj", init, version_len(0), &eb), 0);
    free(init);
    atom_ctx c = {.st = fx->st};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, atom_writer, &c), 0);
    int reads = 0;
    ig_buf b;
    ig_buf_init(&b, 1 << 20);
    while (!__atomic_load_n(&c.stop, __ATOMIC_SEQ_CST) || reads < 50) {
        ig_buf_reset(&b);
        int rc = ig_store_get(fx->st, "atomic/obj", &b, &eb);
        if (rc)
            fail_msg("get during rewrite: %d %s", rc, eb.msg);
        /* Whole: one letter throughout, and a length that some version has. */
        assert_true(b.len >= version_len(0));
        char ch = b.data[0];
        assert_true(ch == 'A' || ch == 'B');
        for (size_t i = 0; i < b.len; i++)
            if (b.data[i] != ch)
                fail_msg("torn read at byte %zu of %zu", i, b.len);
        assert_int_equal((b.len - 40000) % 997, 0);
        reads++;
        /* Listing never shows the temporary file. */
        if (reads % 10 == 0) {
            ig_store_listing l;
            assert_int_equal(ig_store_list(fx->st, "atomic/", NULL, 10, &l, &eb), 0);
            assert_int_equal(l.count, 1);
            assert_string_equal(l.entries[0].key, "atomic/obj");
            ig_store_list_free(&l);
        }
    }
    pthread_join(th, NULL);
    ig_buf_free(&b);
    assert_int_equal(c.write_err, 0);
    assert_int_equal(c.writes, 300);
    assert_true(reads >= 50);
    ig_store_stat st;
    assert_int_equal(ig_store_head(fx->st, "atomic/obj", &st, &eb), 0);
    assert_int_equal(st.size, version_len(300));
}

/* ---- keys ----------------------------------------------------------------------------- */

static void test_invalid_keys(void **state)
{
    fixture *fx = *state;
    char too_long[1100];
    memset(too_long, 'a', 1025);
    too_long[1025] = 0;
    const char *bad[] = {"",       "/abs", "a/../b",    "..",    ".",     "a/./b",
                         "a//b",   "a/",   "a\\b",      "a\nb",  "a\x01", "\x7f",
                         "a/b/..", "./a",  "tab\there", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(ig_store_key_valid(bad[i]));
        ig_errbuf eb = {""};
        ig_buf b;
        ig_buf_init(&b, 100);
        ig_store_stat st;
        assert_int_equal(ig_store_put(fx->st, bad[i], "x", 1, &eb), IG_EINVAL);
        assert_non_null(strstr(eb.msg, "invalid key"));
        assert_null(strchr(eb.msg, '\n')); /* one line even for a key with a newline */
        assert_int_equal(ig_store_put_if_absent(fx->st, bad[i], "x", 1, &eb), IG_EINVAL);
        assert_int_equal(ig_store_get(fx->st, bad[i], &b, &eb), IG_EINVAL);
        assert_int_equal(ig_store_get_range(fx->st, bad[i], 0, 1, &b, &eb), IG_EINVAL);
        assert_int_equal(ig_store_head(fx->st, bad[i], &st, &eb), IG_EINVAL);
        assert_int_equal(ig_store_delete(fx->st, bad[i], &eb), IG_EINVAL);
        assert_int_equal(ig_store_uri(fx->st, bad[i], &b), IG_EINVAL);
        assert_int_equal(b.len, 0);
        ig_buf_free(&b);
    }
    assert_false(ig_store_key_valid(NULL));
    /* Reasons. */
    assert_string_equal(ig_store_key_check(ig_str_make("a\0b", 3)), "NUL byte");
    assert_string_equal(ig_store_key_check(IG_STR("a//b")), "empty segment");
    assert_string_equal(ig_store_key_check(IG_STR("a/..")), "'..' segment");
    assert_string_equal(ig_store_key_check(IG_STR("a\\b")), "backslash");
    assert_string_equal(ig_store_key_check(IG_STR("a\tb")), "control byte");
    assert_null(ig_store_key_check(IG_STR("a/...")));
    /* The message names the key, with control bytes escaped, and the reason. */
    ig_errbuf eb;
    assert_int_equal(ig_store_get(fx->st, "x/../y", NULL, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "x/../y"));
    assert_non_null(strstr(eb.msg, "'..' segment"));
    assert_int_equal(ig_store_put(fx->st, "a\nb", "x", 1, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "a\\x0ab"));

    /* Valid keys, including the longest, odd but legal bytes and dot names. */
    char longest[1100];
    size_t o = 0;
    while (o < 1024) {
        size_t seg = 1024 - o > 200 ? 199 : 1024 - o;
        memset(longest + o, 'k', seg);
        o += seg;
        if (o < 1024)
            longest[o++] = '/';
    }
    longest[1024] = 0;
    assert_int_equal(strlen(longest), 1024);
    const char *good[] = {"solo",   "a/b/c",         "...",      ".hidden/x", "a/..b",
                          "sp ace", "p%2Fq=r&s?t#u", "\xc3\xa9", "x..",       longest};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(ig_store_key_valid(good[i]));
        put_str(fx->st, good[i], good[i]);
        expect_get(fx->st, good[i], good[i]);
    }
    char **got;
    size_t ng = list_all(fx->st, "", NULL, 3, &got);
    assert_int_equal(ng, sizeof good / sizeof good[0]);
    free_keys(got, ng);
}

static void test_segment_too_long_for_fs(void **state)
{
    fixture *fx = *state;
    char k[400];
    memset(k, 'z', 300); /* valid key, but longer than NAME_MAX for one file name */
    k[300] = 0;
    assert_true(ig_store_key_valid(k));
    ig_errbuf eb = {""};
    int rc = ig_store_put(fx->st, k, "x", 1, &eb);
    assert_int_not_equal(rc, 0);
    assert_true(strlen(eb.msg) > 0);
}

static void test_prefix_conflicts(void **state)
{
    fixture *fx = *state;
    ig_errbuf eb = {""};
    put_str(fx->st, "x/y", "1");
    /* "x" is a directory of keys: the fs store cannot also hold an object "x". */
    assert_int_equal(ig_store_put(fx->st, "x", "2", 1, &eb), IG_EUNSUPPORTED);
    assert_non_null(strstr(eb.msg, "x"));
    assert_int_equal(ig_store_put_if_absent(fx->st, "x", "2", 1, &eb), IG_EUNSUPPORTED);
    /* "x/y" is an object: nothing can live below it. */
    assert_int_equal(ig_store_put(fx->st, "x/y/z", "3", 1, &eb), IG_EUNSUPPORTED);
    assert_int_equal(ig_store_put(fx->st, "x/y/z/w", "3", 1, &eb), IG_EUNSUPPORTED);
    expect_get(fx->st, "x/y", "1");
    char **got;
    size_t ng = list_all(fx->st, "", NULL, 10, &got);
    assert_int_equal(ng, 1);
    free_keys(got, ng);
}

/* ---- delete --------------------------------------------------------------------------- */

static void test_delete(void **state)
{
    fixture *fx = *state;
    ig_errbuf eb = {""};
    put_str(fx->st, "d/e/f/x", "1");
    put_str(fx->st, "d/e/y", "2");
    put_str(fx->st, "top", "3");
    assert_int_equal(ig_store_delete(fx->st, "d/e/f/x", &eb), 0);
    ig_buf b;
    ig_buf_init(&b, 10);
    assert_int_equal(ig_store_get(fx->st, "d/e/f/x", &b, &eb), IG_ENOENT);
    assert_int_equal(ig_store_delete(fx->st, "d/e/f/x", &eb), IG_ENOENT);
    assert_non_null(strstr(eb.msg, "d/e/f/x"));
    /* The emptied directory is gone, its non-empty parent stays. */
    assert_false(path_exists(fx, "d/e/f"));
    assert_true(path_exists(fx, "d/e"));
    expect_get(fx->st, "d/e/y", "2");
    /* Deleting the last key removes every empty directory up to, not including, the root. */
    assert_int_equal(ig_store_delete(fx->st, "d/e/y", &eb), 0);
    assert_false(path_exists(fx, "d"));
    assert_int_equal(ig_store_delete(fx->st, "top", &eb), 0);
    assert_true(path_exists(fx, ""));
    assert_int_equal(count_dir_entries(fx, ""), 0);
    /* A directory of keys cannot be deleted as an object. */
    put_str(fx->st, "k/l", "4");
    assert_int_equal(ig_store_delete(fx->st, "k", &eb), IG_ENOENT);
    expect_get(fx->st, "k/l", "4");
    /* Keys below an object do not exist. */
    assert_int_equal(ig_store_delete(fx->st, "k/l/m", &eb), IG_ENOENT);
    /* The store still works after the root was emptied. */
    put_str(fx->st, "again/x", "5");
    expect_get(fx->st, "again/x", "5");
    ig_buf_free(&b);
}

typedef struct churn_ctx {
    ig_store *st;
    const char *key;
    int errors;
} churn_ctx;

static void *churn_main(void *arg)
{
    churn_ctx *c = arg;
    for (int i = 0; i < 300; i++) {
        ig_errbuf eb;
        if (ig_store_put(c->st, c->key, "v", 1, &eb)) {
            fprintf(stderr, "put: %s\n", eb.msg);
            c->errors++;
        }
        if (ig_store_delete(c->st, c->key, &eb)) {
            fprintf(stderr, "delete: %s\n", eb.msg);
            c->errors++;
        }
    }
    return NULL;
}

/* Puts racing with deletes that remove the directories they write into. */
static void test_put_delete_dir_race(void **state)
{
    fixture *fx = *state;
    churn_ctx cs[4] = {{fx->st, "c/d/e/k1", 0},
                       {fx->st, "c/d/e/k2", 0},
                       {fx->st, "c/d/k3", 0},
                       {fx->st, "c/k4", 0}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, churn_main, &cs[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(cs[i].errors, 0);
    assert_false(path_exists(fx, "c"));
}

/* ---- uri and open --------------------------------------------------------------------- */

static void test_uri(void **state)
{
    fixture *fx = *state;
    char real[PATH_MAX];
    assert_non_null(realpath(fx->root, real));
    ig_buf b;
    ig_buf_init(&b, 4096);
    assert_int_equal(ig_store_uri(fx->st, "icegate/logs/metadata/v1.json", &b), 0);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "file://%s/icegate/logs/metadata/v1.json", real);
    assert_string_equal(b.data, want);
    assert_memory_equal(b.data, "file:///", 8);
    ig_buf_free(&b);
}

static void test_open_relative_and_errors(void **state)
{
    fixture *fx = *state;
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(fx->tmp), 0);
    ig_store *st = NULL;
    ig_errbuf eb = {""};
    int rc = ig_store_open_fs("rel/warehouse", &st, &eb);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    ig_buf b;
    ig_buf_init(&b, 4096);
    assert_int_equal(ig_store_uri(st, "k", &b), 0);
    char want[PATH_MAX + 64];
    char real[PATH_MAX];
    assert_non_null(realpath(fx->tmp, real));
    snprintf(want, sizeof want, "file://%s/rel/warehouse/k", real);
    assert_string_equal(b.data, want);
    ig_buf_free(&b);
    /* Still usable after the working directory changed. */
    put_str(st, "k", "v");
    expect_get(st, "k", "v");
    ig_store_close(st);

    assert_int_equal(ig_store_open_fs("", &st, &eb), IG_EINVAL);
    assert_null(st);
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/plainfile", fx->tmp);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    rc = ig_store_open_fs(file, &st, &eb);
    assert_int_not_equal(rc, 0);
    assert_null(st);
    assert_non_null(strstr(eb.msg, "plainfile"));
    ig_store_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order_and_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_many_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_skips_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_if_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_if_absent_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_rewrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_too_long_for_fs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_delete_dir_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uri, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_relative_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("store/fs", tests, NULL, NULL);
}
