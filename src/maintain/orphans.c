/* remove-orphans: delete objects under a table location that the metadata does not
 * reference and that are older than a safety age. Design note: docs/iceberg.md §8.2. */
#include <string.h>

#include "icegate/alloc.h"
#include "maintain/mj_internal.h"

#define MAP_CAP 50000000
#define PAGE 1000

void ig_mj_orphans_free(ig_mj_orphans *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        ig_free(o->keys[i]);
    ig_free(o->keys);
    o->keys = NULL;
    o->n = 0;
}

static int push_key(ig_mj_orphans *o, size_t *cap, const char *key)
{
    if (o->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **p = ig_realloc(o->keys, nc * sizeof *p);
        if (!p)
            return IG_ENOMEM;
        o->keys = p;
        *cap = nc;
    }
    char *k = ig_strdup(key);
    if (!k)
        return IG_ENOMEM;
    o->keys[o->n++] = k;
    return 0;
}

/* Store key of a referenced URI into the set (URIs outside the store are ignored: they
 * cannot be under the table's prefix either). */
static int add_ref_key(ig_store *store, ig_map *keys, ig_str uri)
{
    ig_buf k;
    ig_buf_init(&k, 4096);
    int rc = catalog_key_of_uri(store, uri, &k);
    if (rc == 0)
        rc = ig_map_put(keys, ig_buf_str(&k), (void *)1, NULL);
    else if (rc == IG_EINVAL)
        rc = 0; /* elsewhere: not ours to keep (any other error must stop the job, or a
                   referenced file would look unreferenced) */
    ig_buf_free(&k);
    return rc;
}

static int referenced(ig_store *store, const catalog_table *t, ig_map *keys, ig_errbuf *eb)
{
    const ice_metadata *m = &t->meta;
    ig_map lists, manifests, files;
    ig_map_init(&lists, MAP_CAP);
    ig_map_init(&manifests, MAP_CAP);
    ig_map_init(&files, MAP_CAP);
    int rc = add_ref_key(store, keys, ig_buf_str(&t->location));
    for (size_t i = 0; rc == 0 && i < m->nmetadata_log; i++)
        rc = add_ref_key(store, keys, m->metadata_log[i].metadata_file);
    /* every snapshot, every entry (any status): reachable from ANY snapshot is kept */
    for (size_t i = 0; rc == 0 && i < m->nsnapshots; i++)
        rc = mj__snapshot_paths(store, &m->snapshots[i], false, &lists, &manifests, &files, eb);
    ig_map *sets[] = {&lists, &manifests, &files};
    for (size_t s = 0; rc == 0 && s < 3; s++) {
        size_t it = 0;
        ig_map_entry *e;
        while (rc == 0 && (e = ig_map_next(sets[s], &it)))
            rc = add_ref_key(store, keys, ig_str_make(e->key, e->key_len));
    }
    ig_map_free(&lists);
    ig_map_free(&manifests);
    ig_map_free(&files);
    return rc;
}

int ig_mj_remove_orphans(catalog *cat, ig_store *store, ig_table_id table,
                         const ig_mj_orphan_opts *opts, ig_mj_orphans *out, ig_mj_result *res,
                         ig_errbuf *eb)
{
    ig_mj_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    ig_mj_orphans local = {0};
    if (!out)
        out = &local;
    memset(out, 0, sizeof *out);
    const char *tname = ig_table_name(table);
    int64_t now_ms = mj__now_ms(opts ? opts->now_ms : 0);
    int64_t min_age = opts && opts->min_age_ms ? opts->min_age_ms : 24LL * 3600 * 1000;
    bool dry = opts && opts->dry_run;
    size_t max_list = opts && opts->max_list ? opts->max_list : 10000000;
    catalog_table t;
    int rc = catalog_table_load(cat, store, MJ_NS, tname, &t, eb);
    if (rc)
        return rc;
    ig_map refs;
    ig_map_init(&refs, MAP_CAP);
    ig_buf prefix;
    ig_buf_init(&prefix, 4096);
    size_t cap = 0, listed = 0;
    char *after = NULL;
    if ((rc = referenced(store, &t, &refs, eb)))
        goto done;
    if (catalog_key_of_uri(store, t.meta.location, &prefix) || ig_buf_putc(&prefix, '/')) {
        rc = ig_err(eb, IG_EINVAL, "table %s: location %.*s is not in the store", tname,
                    (int)t.meta.location.len, t.meta.location.ptr);
        goto done;
    }
    /* The listing happens after the metadata was read: an object written after that by a
     * commit is younger than the safety age, so it is never taken for an orphan. */
    for (;;) {
        ig_store_listing l;
        if ((rc = ig_store_list(store, prefix.data, after, PAGE, &l, eb)))
            break;
        for (size_t i = 0; rc == 0 && i < l.count; i++) {
            const ig_store_entry *e = &l.entries[i];
            if (++listed > max_list) {
                rc = ig_err(eb, IG_ETOOBIG, "table %s: more than %zu objects under %s", tname,
                            max_list, prefix.data);
                break;
            }
            if (ig_map_find(&refs, ig_str_from(e->key)))
                continue;
            if (min_age >= 0 && now_ms - e->mtime_ns / 1000000 < min_age)
                continue;
            if ((rc = push_key(out, &cap, e->key)))
                break;
            if (!dry) {
                int d = ig_store_delete(store, e->key, eb);
                if (d == 0) {
                    res->objects_deleted++;
                    res->bytes_deleted += e->size;
                } else if (d != IG_ENOENT) {
                    rc = d;
                }
            }
        }
        ig_free(after);
        after = l.next_start_after ? ig_strdup(l.next_start_after) : NULL;
        bool more = l.next_start_after != NULL;
        ig_store_list_free(&l);
        if (rc || !more)
            break;
        if (!after) {
            rc = IG_ENOMEM;
            break;
        }
    }
done:
    ig_free(after);
    ig_buf_free(&prefix);
    ig_map_free(&refs);
    catalog_table_free(&t);
    ig_mj_orphans_free(&local);
    return rc;
}
