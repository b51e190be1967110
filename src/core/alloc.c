/* The allocation wrapper: counting and failure injection around libc malloc. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/err.h"

static atomic_ullong g_calls;
static atomic_llong g_live;
static atomic_long g_fail_after = -1; /* < 0: no injection */

void ig_alloc_fail_after(long after)
{
    atomic_store(&g_fail_after, after);
}

void ig_alloc_fail_reset(void)
{
    atomic_store(&g_fail_after, -1);
}

uint64_t ig_alloc_calls(void)
{
    return atomic_load(&g_calls);
}

int64_t ig_alloc_live_blocks(void)
{
    return atomic_load(&g_live);
}

/* True when this allocation must fail because of injection. */
static int inject_failure(void)
{
    atomic_fetch_add(&g_calls, 1);
    long n = atomic_load(&g_fail_after);
    if (n < 0)
        return 0;
    if (n == 0)
        return 1;
    /* Decrement; another thread may race, which only shifts the failure point. */
    atomic_compare_exchange_strong(&g_fail_after, &n, n - 1);
    return 0;
}

void *ig_malloc(size_t n)
{
    if (inject_failure())
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        atomic_fetch_add(&g_live, 1);
    return p;
}

void *ig_calloc(size_t count, size_t size)
{
    if (inject_failure())
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p)
        atomic_fetch_add(&g_live, 1);
    return p;
}

void *ig_realloc(void *p, size_t n)
{
    if (!p)
        return ig_malloc(n);
    if (inject_failure())
        return NULL;
    return realloc(p, n ? n : 1);
}

void ig_free(void *p)
{
    if (p) {
        atomic_fetch_sub(&g_live, 1);
        free(p);
    }
}

char *ig_strndup(const char *s, size_t n)
{
    char *d = ig_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *ig_strdup(const char *s)
{
    return ig_strndup(s, strlen(s));
}

int ig_size_mul(size_t a, size_t b, size_t *out)
{
    if (__builtin_mul_overflow(a, b, out))
        return IG_ERANGE;
    return 0;
}

int ig_size_add(size_t a, size_t b, size_t *out)
{
    if (__builtin_add_overflow(a, b, out))
        return IG_ERANGE;
    return 0;
}
