/* expire-snapshots: drop old snapshots from the table metadata, then delete the files only
 * they reached. Design note: docs/iceberg.md §8.1. */
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "maintain/mj_internal.h"

#define MAP_CAP 50000000 /* paths of one table: a cap, far above real tables */

typedef struct ts_idx {
    int64_t ts;
    size_t i;
} ts_idx;

static int cmp_ts_desc(const void *a, const void *b)
{
    const ts_idx *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts > y->ts ? -1 : 1;
    return x->i > y->i ? -1 : x->i < y->i; /* later in the file first */
}

/* Ids of the snapshots to expire (ig_malloc'd *out). */
static int choose(const ice_metadata *m, const ig_mj_expire_opts *o, int64_t now_ms, int64_t **out,
                  size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (!m->nsnapshots)
        return 0;
    uint32_t keep_last = o && o->keep_last ? o->keep_last : 100; /* >= 1: k - 1 below is valid */
    int64_t young = o && o->keep_young_ms ? o->keep_young_ms : 30 * 60 * 1000;
    if (young < 0)
        young = 0;
    ts_idx *order = ig_malloc(m->nsnapshots * sizeof *order);
    int64_t *ids = ig_malloc(m->nsnapshots * sizeof *ids);
    if (!order || !ids) {
        ig_free(order);
        ig_free(ids);
        return IG_ENOMEM;
    }
    for (size_t i = 0; i < m->nsnapshots; i++)
        order[i] = (ts_idx){m->snapshots[i].timestamp_ms, i};
    qsort(order, m->nsnapshots, sizeof *order, cmp_ts_desc);
    /* heads of refs are kept too */
    ig_str refs = IG_STR_NULL;
    for (size_t i = 0; i < m->nmembers; i++)
        if (ig_str_eq_cstr(m->members[i].key, "refs"))
            refs = m->members[i].value;
    size_t n = 0;
    for (size_t k = keep_last; k < m->nsnapshots; k++) {
        const ice_snapshot *s = &m->snapshots[order[k].i];
        /* young: committed, or superseded (the next newer snapshot's time), less than
         * `young` ago - a query that planned it while it was current may still read it */
        if (s->snapshot_id == m->current_snapshot_id || now_ms - order[k - 1].ts < young)
            continue;
        /* a ref head: its id appears as "snapshot-id":<id> in refs */
        char pat[48];
        int pl = snprintf(pat, sizeof pat, "\"snapshot-id\":%lld", (long long)s->snapshot_id);
        bool head = false;
        for (size_t j = 0; refs.ptr && j + (size_t)pl <= refs.len && !head; j++)
            if (!memcmp(refs.ptr + j, pat, (size_t)pl) &&
                (j + (size_t)pl == refs.len ||
                 !(refs.ptr[j + pl] >= '0' && refs.ptr[j + pl] <= '9')))
                head = true;
        if (!head)
            ids[n++] = s->snapshot_id;
    }
    ig_free(order);
    *out = ids;
    *nout = n;
    return 0;
}

static bool has_id(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* Deletes every key of cand that is not in keep. */
static int delete_unreachable(ig_store *store, const ig_map *cand, const ig_map *keep,
                              ig_mj_result *res, ig_errbuf *eb)
{
    size_t it = 0;
    ig_map_entry *e;
    int first = 0;
    while ((e = ig_map_next(cand, &it))) {
        ig_str k = ig_str_make(e->key, e->key_len);
        if (keep && ig_map_find(keep, k))
            continue;
        uint64_t bytes = 0;
        int rc = mj__delete_uri(store, k, &bytes, eb);
        if (rc) {
            if (!first)
                first = rc; /* keep going: what is left is an orphan for remove-orphans */
            continue;
        }
        res->objects_deleted++;
        res->bytes_deleted += bytes;
    }
    return first;
}

int ig_mj_expire_snapshots(catalog *cat, ig_store *store, ig_table_id table,
                           const ig_mj_expire_opts *opts, ig_mj_result *res, ig_errbuf *eb)
{
    ig_mj_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    const char *tname = ig_table_name(table);
    int64_t now_ms = mj__now_ms(opts ? opts->now_ms : 0);
    int rc = 0;
    for (int attempt = 0; attempt < IG_MJ_RETRIES; attempt++) {
        catalog_table t;
        if ((rc = catalog_table_load(cat, store, MJ_NS, tname, &t, eb)))
            return rc;
        ig_str gc = ice_metadata_property(&t.meta, "gc.enabled");
        if (gc.ptr && ig_str_case_eq(gc, "false")) {
            catalog_table_free(&t);
            return ig_err(eb, IG_EPERM, "table %s: gc.enabled=false: not expiring snapshots",
                          tname);
        }
        int64_t *ids = NULL;
        size_t n = 0;
        if ((rc = choose(&t.meta, opts, now_ms, &ids, &n)) || n == 0) {
            catalog_table_free(&t);
            ig_free(ids);
            return rc;
        }
        /* reachable sets first: retained snapshots' live files, expired snapshots' files */
        ig_map keep_l, keep_m, keep_f, cand_l, cand_m, cand_f;
        ig_map_init(&keep_l, MAP_CAP);
        ig_map_init(&keep_m, MAP_CAP);
        ig_map_init(&keep_f, MAP_CAP);
        ig_map_init(&cand_l, MAP_CAP);
        ig_map_init(&cand_m, MAP_CAP);
        ig_map_init(&cand_f, MAP_CAP);
        for (size_t i = 0; rc == 0 && i < t.meta.nsnapshots; i++) {
            const ice_snapshot *s = &t.meta.snapshots[i];
            if (!has_id(ids, n, s->snapshot_id))
                rc = mj__snapshot_paths(store, s, true, &keep_l, &keep_m, &keep_f, eb);
        }
        for (size_t i = 0; rc == 0 && i < t.meta.nsnapshots; i++) {
            const ice_snapshot *s = &t.meta.snapshots[i];
            if (has_id(ids, n, s->snapshot_id))
                rc = mj__snapshot_paths(store, s, false, &cand_l, &cand_m, &cand_f, eb);
        }
        ig_buf json;
        ig_buf_init(&json, (size_t)64 << 20);
        if (rc == 0)
            rc = ice_metadata_write_expire(&t.meta, ig_buf_str(&t.location), ids, n, now_ms, &json,
                                           eb);
        if (rc == 0)
            rc = mj__commit_json(cat, store, tname, &t, ig_buf_str(&json), eb);
        ig_buf_free(&json);
        if (rc == 0) {
            res->commits++;
            res->snapshots_expired = n;
            /* only now, with the commit done, delete what nothing retained reaches */
            int d1 = delete_unreachable(store, &cand_f, &keep_f, res, eb);
            int d2 = delete_unreachable(store, &cand_m, &keep_m, res, eb);
            int d3 = delete_unreachable(store, &cand_l, &keep_l, res, eb);
            rc = d1 ? d1 : d2 ? d2 : d3;
        }
        ig_map_free(&keep_l);
        ig_map_free(&keep_m);
        ig_map_free(&keep_f);
        ig_map_free(&cand_l);
        ig_map_free(&cand_m);
        ig_map_free(&cand_f);
        ig_free(ids);
        catalog_table_free(&t);
        if (rc != IG_ECONFLICT)
            return rc;
        res->conflicts++;
        mj__backoff(attempt);
    }
    return ig_err(eb, IG_ECONFLICT, "table %s: expire-snapshots lost %d commits in a row", tname,
                  IG_MJ_RETRIES);
}
