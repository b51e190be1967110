/* Arena allocator: blocks from ig_malloc, freed at once, with a cap and cleanup hooks. */
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/err.h"

struct ig_arena_block {
    ig_arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t off;
    _Alignas(16) unsigned char mem[];
};

struct ig_arena_hook {
    ig_arena_hook *next;
    void (*fn)(void *);
    void *arg;
};

#define ARENA_DEFAULT_BLOCK (64 * 1024)

void ig_arena_init(ig_arena *a, size_t cap)
{
    memset(a, 0, sizeof *a);
    a->cap = cap;
    a->block_size = ARENA_DEFAULT_BLOCK;
}

static void run_hooks(ig_arena *a)
{
    while (a->hooks) {
        ig_arena_hook *h = a->hooks;
        a->hooks = h->next;
        h->fn(h->arg); /* the hook record itself lives in the arena */
    }
}

void ig_arena_free(ig_arena *a)
{
    run_hooks(a);
    ig_arena_block *b = a->head;
    while (b) {
        ig_arena_block *n = b->next;
        ig_free(b);
        b = n;
    }
    a->head = NULL;
    a->used = 0;
}

void ig_arena_reset(ig_arena *a)
{
    run_hooks(a);
    ig_arena_block *keep = NULL, *b = a->head;
    while (b) {
        ig_arena_block *n = b->next;
        if (!n) {
            keep = b;
        } else {
            ig_free(b);
        }
        b = n;
    }
    a->head = keep;
    a->used = 0;
    if (keep) {
        keep->off = 0;
        keep->next = NULL;
        a->used = keep->size + sizeof *keep;
    }
}

void *ig_arena_alloc(ig_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    ig_arena_block *b = a->head;
    if (b && b->size - b->off >= need) {
        void *p = b->mem + b->off;
        b->off += need;
        return p;
    }
    size_t bsize = need > a->block_size / 4 ? need : a->block_size;
    size_t total = bsize + sizeof(ig_arena_block);
    if (total < bsize)
        return NULL;
    if (a->cap && (a->used + total > a->cap || a->used + total < a->used)) {
        /* Near (or below) the cap: take a smaller block with just the room that is left. */
        size_t hdr = sizeof(ig_arena_block);
        size_t room = a->cap > a->used + hdr ? a->cap - a->used - hdr : 0;
        if (room < need)
            return NULL;
        bsize = room;
        total = bsize + hdr;
    }
    ig_arena_block *nb = ig_malloc(total);
    if (!nb)
        return NULL;
    nb->size = bsize;
    nb->off = need;
    a->used += total;
    if (b && need == bsize && b->size - b->off > 256) {
        /* A large dedicated block: keep the current block at the head for small allocations. */
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        a->head = nb;
    }
    return nb->mem;
}

void *ig_arena_zalloc(ig_arena *a, size_t n)
{
    void *p = ig_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

ig_str ig_arena_strdup(ig_arena *a, ig_str s)
{
    char *p = ig_arena_cstr(a, s);
    return p ? (ig_str){p, s.len} : IG_STR_NULL;
}

char *ig_arena_cstr(ig_arena *a, ig_str s)
{
    char *p = ig_arena_alloc(a, s.len + 1);
    if (!p)
        return NULL;
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = 0;
    return p;
}

int ig_arena_on_free(ig_arena *a, void (*fn)(void *), void *arg)
{
    ig_arena_hook *h = ig_arena_alloc(a, sizeof *h);
    if (!h) {
        fn(arg);
        return IG_ENOMEM;
    }
    h->fn = fn;
    h->arg = arg;
    h->next = a->hooks;
    a->hooks = h;
    return 0;
}
