/* Arenas: one per unit of work (request, query, row group), freed at once.
 *
 * An arena hands out memory from blocks obtained with ig_malloc; everything is released
 * by ig_arena_free (or kept for reuse by ig_arena_reset). Every arena has a cap on the
 * total bytes it may allocate, so tenant input cannot grow it without bound: past the
 * cap, allocations return NULL. Cleanup hooks run (in reverse order of registration)
 * when the arena is freed or reset, for file descriptors, mappings and the like. */
#ifndef ICEGATE_ARENA_H
#define ICEGATE_ARENA_H

#include <stddef.h>
#include "icegate/buf.h"

typedef struct ig_arena_block ig_arena_block;
typedef struct ig_arena_hook ig_arena_hook;

typedef struct ig_arena {
    ig_arena_block *head;
    ig_arena_hook *hooks;
    size_t used;       /* bytes handed out plus block overhead */
    size_t cap;        /* maximum for `used`; 0 means no cap */
    size_t block_size; /* default block size */
} ig_arena;

/* Initialises an arena with a cap on the total bytes (0 = no cap). Allocates nothing. */
void ig_arena_init(ig_arena *a, size_t cap);
/* Releases every block and runs the hooks. The arena can be used again afterwards. */
void ig_arena_free(ig_arena *a);
/* Runs the hooks and frees all blocks but the first, which is kept for reuse. */
void ig_arena_reset(ig_arena *a);
/* Returns n bytes aligned to 16, or NULL past the cap or on allocation failure.
 * The memory belongs to the arena. */
void *ig_arena_alloc(ig_arena *a, size_t n);
void *ig_arena_zalloc(ig_arena *a, size_t n);
/* Copies s into the arena (NUL-terminated, the NUL not counted). */
ig_str ig_arena_strdup(ig_arena *a, ig_str s);
char *ig_arena_cstr(ig_arena *a, ig_str s);
/* Registers fn(arg) to run when the arena is freed or reset. Returns 0 or IG_ENOMEM
 * (in which case fn is called at once, so resources never leak). */
int ig_arena_on_free(ig_arena *a, void (*fn)(void *), void *arg);

#endif
