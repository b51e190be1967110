/* Open-addressing hash map with linear probing and backward-shift deletion. */
#include <string.h>
#include <xxhash.h>

#include "icegate/alloc.h"
#include "icegate/err.h"
#include "icegate/map.h"

uint64_t ig_hash64(const void *p, size_t n)
{
    return XXH64(p, n, 0x1ce6a7e5eedULL);
}

void ig_map_init(ig_map *m, size_t max_entries)
{
    memset(m, 0, sizeof *m);
    m->max_entries = max_entries;
}

void ig_map_free(ig_map *m)
{
    for (size_t i = 0; i < m->nslots; i++)
        ig_free(m->slots[i].key);
    ig_free(m->slots);
    m->slots = NULL;
    m->nslots = 0;
    m->count = 0;
}

static size_t probe(const ig_map *m, ig_str key, uint64_t h, bool *found)
{
    size_t mask = m->nslots - 1;
    size_t i = (size_t)h & mask;
    for (;;) {
        ig_map_entry *e = &m->slots[i];
        if (!e->key) {
            *found = false;
            return i;
        }
        if (e->hash == h && e->key_len == key.len && memcmp(e->key, key.ptr, key.len) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

ig_map_entry *ig_map_find(const ig_map *m, ig_str key)
{
    if (!m->count)
        return NULL;
    bool found;
    size_t i = probe(m, key, ig_hash64(key.ptr, key.len), &found);
    return found ? &m->slots[i] : NULL;
}

static int grow(ig_map *m)
{
    size_t n = m->nslots ? m->nslots * 2 : 16;
    ig_map_entry *slots = ig_calloc(n, sizeof *slots);
    if (!slots)
        return IG_ENOMEM;
    ig_map_entry *old = m->slots;
    size_t oldn = m->nslots;
    m->slots = slots;
    m->nslots = n;
    for (size_t i = 0; i < oldn; i++) {
        if (!old[i].key)
            continue;
        size_t j = (size_t)old[i].hash & (n - 1);
        while (slots[j].key)
            j = (j + 1) & (n - 1);
        slots[j] = old[i];
    }
    ig_free(old);
    return 0;
}

int ig_map_upsert(ig_map *m, ig_str key, ig_map_entry **entry, bool *created)
{
    uint64_t h = ig_hash64(key.ptr, key.len);
    bool found = false;
    size_t i = 0;
    if (m->nslots) {
        i = probe(m, key, h, &found);
        if (found) {
            *entry = &m->slots[i];
            if (created)
                *created = false;
            return 0;
        }
    }
    if (m->max_entries && m->count >= m->max_entries)
        return IG_ETOOBIG;
    if ((m->count + 1) * 4 > m->nslots * 3) { /* keep load <= 0.75 */
        int rc = grow(m);
        if (rc)
            return rc;
        i = probe(m, key, h, &found);
    }
    char *k = ig_strndup(key.ptr ? key.ptr : "", key.len);
    if (!k)
        return IG_ENOMEM;
    ig_map_entry *e = &m->slots[i];
    e->key = k;
    e->key_len = key.len;
    e->hash = h;
    e->value = NULL;
    m->count++;
    *entry = e;
    if (created)
        *created = true;
    return 0;
}

int ig_map_put(ig_map *m, ig_str key, void *value, void **old)
{
    ig_map_entry *e;
    int rc = ig_map_upsert(m, key, &e, NULL);
    if (rc)
        return rc;
    if (old)
        *old = e->value;
    e->value = value;
    return 0;
}

void *ig_map_remove(ig_map *m, ig_str key)
{
    if (!m->count)
        return NULL;
    bool found;
    size_t i = probe(m, key, ig_hash64(key.ptr, key.len), &found);
    if (!found)
        return NULL;
    void *v = m->slots[i].value;
    ig_free(m->slots[i].key);
    size_t mask = m->nslots - 1;
    size_t j = i;
    /* Backward-shift: move later entries of the cluster into the hole when allowed. */
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].key)
            break;
        size_t home = (size_t)m->slots[j].hash & mask;
        /* Entry at j may move to i if home is not cyclically in (i, j]. */
        bool in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    memset(&m->slots[i], 0, sizeof m->slots[i]);
    m->count--;
    return v;
}

ig_map_entry *ig_map_next(const ig_map *m, size_t *i)
{
    while (*i < m->nslots) {
        ig_map_entry *e = &m->slots[(*i)++];
        if (e->key)
            return e;
    }
    return NULL;
}
