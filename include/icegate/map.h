/* A hash map from byte-string keys to pointer-sized values (open addressing,
 * linear probing, xxHash64 of the key). Keys are copied into the map; values are
 * opaque to it. Not thread-safe. The map may be given a cap on the number of
 * entries; inserting past it fails with IG_ETOOBIG. */
#ifndef ICEGATE_MAP_H
#define ICEGATE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "icegate/buf.h"

typedef struct ig_map_entry {
    char *key; /* owned copy, NUL-terminated */
    size_t key_len;
    uint64_t hash;
    void *value;
} ig_map_entry;

typedef struct ig_map {
    ig_map_entry *slots; /* key == NULL: empty */
    size_t nslots;       /* power of two or 0 */
    size_t count;
    size_t max_entries; /* 0 = no cap */
} ig_map;

void ig_map_init(ig_map *m, size_t max_entries);
/* Frees the keys and the table; values are not touched (free them first with ig_map_foreach). */
void ig_map_free(ig_map *m);
/* Returns the entry for key or NULL. */
ig_map_entry *ig_map_find(const ig_map *m, ig_str key);
static inline void *ig_map_get(const ig_map *m, ig_str key)
{
    ig_map_entry *e = ig_map_find(m, key);
    return e ? e->value : NULL;
}
/* Inserts or replaces. If old is not NULL, it receives the replaced value (or NULL). */
int ig_map_put(ig_map *m, ig_str key, void *value, void **old);
/* Finds key, inserting it with value NULL if absent. *created tells which happened. */
int ig_map_upsert(ig_map *m, ig_str key, ig_map_entry **entry, bool *created);
/* Removes key; returns its value (or NULL if absent). */
void *ig_map_remove(ig_map *m, ig_str key);
/* Iteration: i starts at 0; returns the next live entry or NULL at the end. */
ig_map_entry *ig_map_next(const ig_map *m, size_t *i);

uint64_t ig_hash64(const void *p, size_t n);

#endif
