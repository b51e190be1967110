/* Shared internals of the maintenance jobs: snapshot views, the rewrite commit, rows of
 * data files. See mj_internal.h. */
#include <string.h>
#include <time.h>

#include "icegate/alloc.h"
#include "icegate/maintain.h"
#include "icegate/time.h"
#include "icegate/wal.h"
#include "maintain/mj_internal.h"

int64_t mj__now_ms(int64_t given)
{
    return given ? given : ig_now_ns() / IG_NS_PER_MS;
}

void mj__backoff(int attempt)
{
    long ms = 2L << (attempt < 6 ? attempt : 6); /* 2 .. 128 ms */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Grows an arena array by one zeroed slot. */
static void *apush(ig_arena *a, void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *p = ig_arena_alloc(a, nc * elem);
        if (!p)
            return NULL;
        if (*n)
            memcpy(p, *arr, *n * elem);
        *arr = p;
        *cap = nc;
    }
    void *slot = (char *)*arr + (*n)++ * elem;
    memset(slot, 0, elem);
    return slot;
}

int mj__get_uri(ig_store *store, ig_str uri, ig_buf *out, ig_errbuf *eb)
{
    ig_buf key;
    ig_buf_init(&key, 4096);
    int rc = catalog_key_of_uri(store, uri, &key);
    if (rc)
        rc = ig_err(eb, IG_EINVAL, "%.*s: not a location in the store", (int)uri.len, uri.ptr);
    else if ((rc = ig_store_get(store, key.data, out, eb)))
        rc = ig_err(eb, rc, "%.*s: cannot read: %s", (int)uri.len, uri.ptr,
                    eb && eb->msg[0] ? eb->msg : ig_strerror(rc));
    ig_buf_free(&key);
    return rc;
}

int mj__delete_uri(ig_store *store, ig_str uri, uint64_t *bytes, ig_errbuf *eb)
{
    ig_buf key;
    ig_buf_init(&key, 4096);
    int rc = catalog_key_of_uri(store, uri, &key);
    if (rc) {
        rc = ig_err(eb, IG_EINVAL, "%.*s: not a location in the store", (int)uri.len, uri.ptr);
    } else {
        ig_store_stat st = {0};
        if (bytes && ig_store_head(store, key.data, &st, NULL) == 0)
            *bytes += st.size;
        rc = ig_store_delete(store, key.data, eb);
        if (rc == IG_ENOENT)
            rc = 0;
    }
    ig_buf_free(&key);
    return rc;
}

void mj__view_free(mj__view *v)
{
    ig_arena_free(&v->arena);
    memset(v, 0, sizeof *v);
}

static void set_partition(mj__file *f, const ig_manifest_reader *r)
{
    for (size_t i = 0; i < f->e.file.npartition && i < r->npart; i++) {
        const ig_mf_pvalue *pv = &f->e.file.partition[i];
        if (r->part_ids[i] == ICE_PART_TENANT && pv->type == IG_MF_P_STRING)
            f->tenant = pv->s;
        else if (r->part_ids[i] == ICE_PART_ACCOUNT && pv->type == IG_MF_P_STRING)
            f->account = pv->s;
        else if (r->part_ids[i] == ICE_PART_DAY && pv->type == IG_MF_P_INT) {
            f->day = (int32_t)pv->i;
            f->has_day = true;
        }
    }
}

int mj__view_load(ig_store *store, const ice_metadata *m, mj__view *v, ig_errbuf *eb)
{
    memset(v, 0, sizeof *v);
    ig_arena_init(&v->arena, MJ_VIEW_ARENA_MAX);
    if (m->current_snapshot_id == -1)
        return 0;
    v->snap = ice_metadata_snapshot(m, m->current_snapshot_id);
    if (!v->snap)
        return ig_err(eb, IG_ECORRUPT, "current snapshot missing");
    ig_buf buf;
    ig_buf_init(&buf, MJ_LIST_MAX);
    ig_mf_list_meta lm;
    int rc = mj__get_uri(store, v->snap->manifest_list, &buf, eb);
    if (rc == 0)
        rc = ig_manifest_list_read(ig_buf_str(&buf), &v->arena, &lm, &v->manifests, &v->nmanifests,
                                   eb);
    ig_buf_free(&buf);
    size_t cap = 0;
    for (size_t i = 0; rc == 0 && i < v->nmanifests; i++) {
        const ig_mf_list_entry *le = &v->manifests[i];
        if (le->content != IG_MF_CONTENT_DATA) {
            rc = ig_err(eb, IG_EUNSUPPORTED, "%.*s: delete manifests are not supported",
                        (int)le->manifest_path.len, le->manifest_path.ptr);
            break;
        }
        ig_buf_init(&buf, MJ_MANIFEST_MAX);
        rc = mj__get_uri(store, le->manifest_path, &buf, eb);
        ig_manifest_reader r;
        if (rc == 0 && (rc = ig_manifest_reader_open(&r, ig_buf_str(&buf), eb)) == 0) {
            ig_mf_entry e;
            while ((rc = ig_manifest_reader_next(&r, &v->arena, &e, eb)) > 0) {
                if (e.status == IG_MF_DELETED)
                    continue;
                if (!e.has_sequence_number) {
                    e.has_sequence_number = true;
                    e.sequence_number = le->sequence_number;
                }
                if (!e.has_file_sequence_number) {
                    e.has_file_sequence_number = true;
                    e.file_sequence_number = le->sequence_number;
                }
                mj__file *f = apush(&v->arena, (void **)&v->files, &v->nfiles, &cap, sizeof *f);
                if (!f) {
                    rc = IG_ENOMEM;
                    break;
                }
                f->e = e;
                f->manifest = i;
                set_partition(f, &r);
            }
            ig_manifest_reader_close(&r);
        }
        ig_buf_free(&buf);
    }
    return rc < 0 ? rc : 0;
}

static int map_add(ig_map *m, ig_str k)
{
    if (!m || !k.len)
        return 0;
    return ig_map_put(m, k, (void *)1, NULL);
}

int mj__snapshot_paths(ig_store *store, const ice_snapshot *s, bool live_only, ig_map *lists,
                       ig_map *manifests, ig_map *files, ig_errbuf *eb)
{
    int rc = map_add(lists, s->manifest_list);
    if (rc)
        return rc;
    if (!manifests && !files)
        return 0;
    ig_arena a;
    ig_arena_init(&a, MJ_VIEW_ARENA_MAX);
    ig_buf buf;
    ig_buf_init(&buf, MJ_LIST_MAX);
    ig_mf_list_meta lm;
    ig_mf_list_entry *le = NULL;
    size_t n = 0;
    rc = mj__get_uri(store, s->manifest_list, &buf, eb);
    if (rc == 0)
        rc = ig_manifest_list_read(ig_buf_str(&buf), &a, &lm, &le, &n, eb);
    ig_buf_free(&buf);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (manifests && ig_map_find(manifests, le[i].manifest_path))
            continue; /* seen through another snapshot: its files are in already */
        if ((rc = map_add(manifests, le[i].manifest_path)))
            break;
        if (!files)
            continue;
        ig_buf_init(&buf, MJ_MANIFEST_MAX);
        rc = mj__get_uri(store, le[i].manifest_path, &buf, eb);
        ig_manifest_reader r;
        if (rc == 0 && (rc = ig_manifest_reader_open(&r, ig_buf_str(&buf), eb)) == 0) {
            ig_arena ea;
            ig_arena_init(&ea, MJ_VIEW_ARENA_MAX);
            ig_mf_entry e;
            while ((rc = ig_manifest_reader_next(&r, &ea, &e, eb)) > 0) {
                if (!live_only || e.status != IG_MF_DELETED)
                    if ((rc = map_add(files, e.file.path)))
                        break;
                ig_arena_reset(&ea);
            }
            ig_arena_free(&ea);
            ig_manifest_reader_close(&r);
        }
        ig_buf_free(&buf);
    }
    ig_arena_free(&a);
    return rc < 0 ? rc : 0;
}

/* ---- commits ------------------------------------------------------------------------ */

/* Store key prefix of the table location ("icegate/logs"), appended to out. */
static int table_prefix(ig_store *store, const ice_metadata *m, ig_buf *out, ig_errbuf *eb)
{
    if (catalog_key_of_uri(store, m->location, out))
        return ig_err(eb, IG_EINVAL, "table location %.*s is not in the store",
                      (int)m->location.len, m->location.ptr);
    return 0;
}

int mj__commit_json(catalog *cat, ig_store *store, const char *table, const catalog_table *base,
                    ig_str json, ig_errbuf *eb)
{
    ig_buf key, uri;
    ig_buf_init(&key, 4096);
    ig_buf_init(&uri, 4096);
    char uuid[37];
    ig_str base_loc = ig_buf_str(&base->location);
    int rc = catalog_key_of_uri(store, base_loc, &key);
    if (rc) {
        rc = ig_err(eb, IG_EINVAL, "table %s: metadata location %s is not in the store", table,
                    base->location.data);
        goto done;
    }
    long slash = -1;
    for (size_t i = 0; i < key.len; i++)
        if (key.data[i] == '/')
            slash = (long)i;
    int version = ice_metadata_file_version(base_loc);
    if (version < 0)
        version = (int)base->meta.nmetadata_log;
    key.len = slash < 0 ? 0 : (size_t)slash;
    if ((rc = ice_uuid4(uuid)) ||
        (rc = ig_buf_printf(&key, "%s%05d-%s.metadata.json", slash < 0 ? "" : "/", version + 1,
                            uuid)) ||
        (rc = ig_store_uri(store, key.data, &uri)))
        goto done;
    if ((rc = ig_store_put_if_absent(store, key.data, json.ptr, json.len, eb)))
        goto done;
    rc = catalog_commit_table(cat, MJ_NS, table, base->location.data, uri.data, eb);
    if (rc == IG_ECONFLICT || rc == IG_ENOENT)
        ig_store_delete(store, key.data, NULL); /* certainly not referenced */
done:
    ig_buf_free(&key);
    ig_buf_free(&uri);
    return rc;
}

static ig_str arena_i64(ig_arena *a, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    return ig_arena_strdup(a, ig_str_make(tmp, (size_t)n));
}

int mj__commit_rewrite(catalog *cat, ig_store *store, const char *table, const catalog_table *base,
                       const mj__view *v, const mj__rewrite *rw, ig_errbuf *eb)
{
    const ice_metadata *m = &base->meta;
    int64_t sid, seq = m->last_sequence_number + 1;
    char uuid[37];
    ig_arena a;
    ig_arena_init(&a, (size_t)64 << 20);
    ig_buf prefix, mkey, lkey, muri, luri, mbytes, lbytes;
    ig_buf_init(&prefix, 4096);
    ig_buf_init(&mkey, 4096);
    ig_buf_init(&lkey, 4096);
    ig_buf_init(&muri, 4096);
    ig_buf_init(&luri, 4096);
    ig_buf_init(&mbytes, MJ_MANIFEST_MAX);
    ig_buf_init(&lbytes, MJ_LIST_MAX);
    ig_manifest_writer *w = NULL;
    ig_mf_summary sum;
    memset(&sum, 0, sizeof sum);
    bool wrote_m = false, wrote_l = false;
    bool *touched = NULL;
    int rc;
    if ((rc = ice_snapshot_id_new(&sid)) || (rc = ice_uuid4(uuid)) ||
        (rc = table_prefix(store, m, &prefix, eb)))
        goto done;
    touched = ig_calloc(v->nmanifests + 1, sizeof *touched);
    if (!touched) {
        rc = IG_ENOMEM;
        goto done;
    }
    /* which manifests change; and check every file to remove is live */
    size_t nremoved = 0;
    int64_t live_records = 0, live_bytes = 0, rm_records = 0, rm_bytes = 0;
    for (size_t i = 0; i < v->nfiles; i++) {
        const mj__file *f = &v->files[i];
        live_records += f->e.file.record_count;
        live_bytes += f->e.file.file_size;
        if (rw->merge_all)
            touched[f->manifest] = true;
        if (rw->remove && ig_map_find(rw->remove, f->e.file.path)) {
            touched[f->manifest] = true;
            nremoved++;
            rm_records += f->e.file.record_count;
            rm_bytes += f->e.file.file_size;
        }
    }
    if (rw->remove && nremoved != rw->remove->count) {
        rc = ig_err(eb, IG_EINVAL, "rewrite of %s: %zu of %zu files to remove are not live", table,
                    rw->remove->count - nremoved, rw->remove->count);
        goto done;
    }
    ig_manifest_writer_opts mo = {.schema_json = m->current_schema_json,
                                  .schema_id = m->current_schema_id,
                                  .spec_json = m->default_spec_json,
                                  .spec_id = m->default_spec_id,
                                  .format_version = 2,
                                  .content = IG_MF_CONTENT_DATA,
                                  .codec = AVRO_CODEC_DEFLATE};
    if ((rc = ig_manifest_writer_new(&mo, &w, eb)))
        goto done;
    size_t nentries = 0;
    for (size_t i = 0; i < v->nfiles && rc == 0; i++) {
        const mj__file *f = &v->files[i];
        if (!touched[f->manifest])
            continue;
        if (v->manifests[f->manifest].partition_spec_id != m->default_spec_id) {
            rc = ig_err(eb, IG_EUNSUPPORTED, "rewrite of %s: a manifest of partition spec %d",
                        table, (int)v->manifests[f->manifest].partition_spec_id);
            break;
        }
        ig_mf_entry e = f->e;
        if (rw->remove && ig_map_find(rw->remove, f->e.file.path)) {
            e.status = IG_MF_DELETED;
            e.has_snapshot_id = true;
            e.snapshot_id = sid;
        } else {
            e.status = IG_MF_EXISTING;
        }
        rc = ig_manifest_writer_add(w, &e, eb);
        nentries++;
    }
    int64_t add_records = 0, add_bytes = 0;
    for (size_t i = 0; i < rw->nadd && rc == 0; i++) {
        ig_mf_entry e = {.status = IG_MF_ADDED, .has_snapshot_id = true, .snapshot_id = sid};
        e.file = rw->add[i];
        add_records += e.file.record_count;
        add_bytes += e.file.file_size;
        rc = ig_manifest_writer_add(w, &e, eb);
        nentries++;
    }
    if (rc || (rc = ig_manifest_writer_finish(w, &mbytes, &sum, eb)))
        goto done;
    /* the manifest list: untouched manifests as they were, then the new one */
    ig_mf_list_entry *le = ig_arena_zalloc(&a, (v->nmanifests + 1) * sizeof *le);
    if (!le) {
        rc = IG_ENOMEM;
        goto done;
    }
    size_t nle = 0;
    for (size_t i = 0; i < v->nmanifests; i++) {
        if (touched[i])
            continue;
        /* a manifest without live files (only DELETED entries of an earlier snapshot)
         * has served its purpose: it leaves the list (Java drops them too) */
        if (v->manifests[i].added_files_count + v->manifests[i].existing_files_count == 0)
            continue;
        le[nle++] = v->manifests[i];
    }
    if (nentries) {
        if ((rc = ig_buf_printf(&mkey, "%s/metadata/%s-m0.avro", prefix.data, uuid)) ||
            (rc = ig_store_uri(store, mkey.data, &muri)) ||
            (rc = ig_store_put_if_absent(store, mkey.data, mbytes.data, mbytes.len, eb)))
            goto done;
        wrote_m = true;
        ig_mf_list_entry_from_summary(&sum, ig_buf_str(&muri), (int64_t)mbytes.len, seq, sid,
                                      &le[nle++]);
    }
    ig_mf_list_meta lm = {.snapshot_id = sid,
                          .has_parent = m->current_snapshot_id != -1,
                          .parent_snapshot_id = m->current_snapshot_id,
                          .sequence_number = seq,
                          .format_version = 2};
    if ((rc = ig_manifest_list_write(&lm, le, nle, AVRO_CODEC_DEFLATE, NULL, &lbytes, eb)) ||
        (rc = ig_buf_printf(&lkey, "%s/metadata/snap-%lld-1-%s.avro", prefix.data, (long long)sid,
                            uuid)) ||
        (rc = ig_store_uri(store, lkey.data, &luri)) ||
        (rc = ig_store_put_if_absent(store, lkey.data, lbytes.data, lbytes.len, eb)))
        goto done;
    wrote_l = true;
    /* summary: Iceberg's metrics (spec Appendix F), then the kept IceGate keys */
    ice_kv kv[32];
    size_t nkv = 0;
#define KV(k, val)                                                                                 \
    do {                                                                                           \
        kv[nkv].key = IG_STR(k);                                                                   \
        kv[nkv].value = arena_i64(&a, (val));                                                      \
        nkv++;                                                                                     \
    } while (0)
    KV("added-data-files", (int64_t)rw->nadd);
    KV("deleted-data-files", (int64_t)nremoved);
    KV("added-records", add_records);
    KV("deleted-records", rm_records);
    KV("added-files-size", add_bytes);
    KV("removed-files-size", rm_bytes);
    KV("total-records", live_records - rm_records + add_records);
    KV("total-files-size", live_bytes - rm_bytes + add_bytes);
    KV("total-data-files", (int64_t)(v->nfiles - nremoved + rw->nadd));
    KV("total-delete-files", 0);
    KV("total-position-deletes", 0);
    KV("total-equality-deletes", 0);
#undef KV
    for (size_t i = 0; v->snap && i < v->snap->nsummary; i++) {
        if (!ig_str_has_prefix(v->snap->summary[i].key, IG_STR(IG_MJ_SUMMARY_KEEP_PREFIX)))
            continue;
        if (nkv == sizeof kv / sizeof kv[0]) {
            rc = ig_err(eb, IG_ETOOBIG, "rewrite of %s: too many summary keys to keep", table);
            goto done;
        }
        kv[nkv++] = v->snap->summary[i];
    }
    for (size_t i = 0; i < nkv; i++)
        if (!kv[i].value.ptr) {
            rc = IG_ENOMEM;
            goto done;
        }
    ice_snapshot_new sn = {.snapshot_id = sid,
                           .timestamp_ms = mj__now_ms(0),
                           .manifest_list = luri.data,
                           .operation = rw->operation,
                           .summary = kv,
                           .nsummary = nkv};
    if (rw->failpoint)
        ig_failpoint(rw->failpoint); /* crash tests: everything written, nothing swapped */
    rc = catalog_table_commit_append(cat, store, MJ_NS, table, base, &sn, NULL, eb);
    if (rc == 0)
        wrote_m = wrote_l = false; /* committed: keep */
    else if (rc != IG_ECONFLICT && rc != IG_ENOENT)
        wrote_m = wrote_l = false; /* unknown outcome: never delete */
done:
    if (wrote_m)
        ig_store_delete(store, mkey.data, NULL);
    if (wrote_l)
        ig_store_delete(store, lkey.data, NULL);
    ig_manifest_writer_free(w);
    ig_mf_summary_free(&sum);
    ig_free(touched);
    ig_buf_free(&prefix);
    ig_buf_free(&mkey);
    ig_buf_free(&lkey);
    ig_buf_free(&muri);
    ig_buf_free(&luri);
    ig_buf_free(&mbytes);
    ig_buf_free(&lbytes);
    ig_arena_free(&a);
    return rc;
}

/* ---- rows ------------------------------------------------------------------------- */

void mj__rows_free(mj__rows *r)
{
    ig_free(r->rows);
    memset(r, 0, sizeof *r);
}

static int copy_value(ig_arena *a, pq_value *dst, const pq_value *src)
{
    *dst = *src;
    if (src->s.ptr) {
        char *p = ig_arena_alloc(a, src->s.len ? src->s.len : 1);
        if (!p)
            return IG_ENOMEM;
        memcpy(p, src->s.ptr, src->s.len);
        dst->s = ig_str_make(p, src->s.len);
    }
    if (src->n) {
        pq_value *items = ig_arena_alloc(a, src->n * sizeof *items);
        if (!items)
            return IG_ENOMEM;
        for (size_t i = 0; i < src->n; i++) {
            int rc = copy_value(a, &items[i], &src->items[i]);
            if (rc)
                return rc;
        }
        dst->items = items;
    } else {
        dst->items = NULL;
    }
    return 0;
}

typedef struct emit_ctx {
    ig_arena *a;
    mj__rows *out;
} emit_ctx;

pq_value *mj__copy_row(ig_arena *a, const pq_value *row)
{
    pq_value *v = ig_arena_alloc(a, sizeof *v);
    if (!v || copy_value(a, v, row))
        return NULL;
    return v;
}

static int emit_row(void *ctx, const pq_value *row)
{
    emit_ctx *c = ctx;
    mj__rows *o = c->out;
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 1024;
        pq_value **p = ig_realloc(o->rows, nc * sizeof *p);
        if (!p)
            return IG_ENOMEM;
        o->rows = p;
        o->cap = nc;
    }
    pq_value *v = ig_arena_alloc(c->a, sizeof *v);
    if (!v)
        return IG_ENOMEM;
    int rc = copy_value(c->a, v, row);
    if (rc)
        return rc;
    o->rows[o->n++] = v;
    return 0;
}

int mj__open_data_file(ig_store *store, ig_table_id t, ig_str uri, pq_file **out, ig_errbuf *eb)
{
    *out = NULL;
    const pq_schema *ts = ig_table_schema(t);
    ig_buf key;
    ig_buf_init(&key, 4096);
    pq_file *f = NULL;
    int rc = catalog_key_of_uri(store, uri, &key);
    if (rc) {
        rc = ig_err(eb, IG_EINVAL, "%.*s: not a location in the store", (int)uri.len, uri.ptr);
        goto done;
    }
    /* ranged reads: the footer, then each column chunk as it is decoded */
    if ((rc = ig_wal_segment_open(store, key.data, &f, eb)))
        goto done;
    /* the file must have the table's columns, in order, by field id */
    if (f->schema->ncols != ts->ncols || f->schema->nnodes != ts->nnodes) {
        rc = ig_err(eb, IG_EUNSUPPORTED, "%.*s: schema differs from table %s", (int)uri.len,
                    uri.ptr, ig_table_name(t));
        goto done;
    }
    for (size_t c = 0; c < ts->ncols; c++)
        if (f->schema->cols[c].field_id != ts->cols[c].field_id) {
            rc = ig_err(eb, IG_EUNSUPPORTED, "%.*s: column %zu has field id %d, table %s wants %d",
                        (int)uri.len, uri.ptr, c, (int)f->schema->cols[c].field_id,
                        ig_table_name(t), (int)ts->cols[c].field_id);
            goto done;
        }
done:
    ig_buf_free(&key);
    if (rc && f)
        pq_close(f);
    else
        *out = f;
    return rc;
}

int mj__scan_rows(ig_store *store, ig_table_id t, ig_str uri,
                  int (*emit)(void *ctx, const pq_value *row), void *ctx, ig_errbuf *eb)
{
    pq_file *f = NULL;
    pq_colvec *vecs = NULL;
    pq_colvec **ptrs = NULL;
    ig_arena scratch;
    ig_arena_init(&scratch, (size_t)256 << 20);
    const pq_schema *ts = ig_table_schema(t);
    int rc = mj__open_data_file(store, t, uri, &f, eb);
    if (rc)
        goto done;
    vecs = ig_calloc(ts->ncols, sizeof *vecs);
    ptrs = ig_calloc(ts->ncols, sizeof *ptrs);
    if (!vecs || !ptrs) {
        rc = IG_ENOMEM;
        goto done;
    }
    for (size_t c = 0; c < ts->ncols; c++) {
        pq_colvec_init(&vecs[c]);
        ptrs[c] = &vecs[c];
    }
    for (size_t rg = 0; rg < f->nrgs && rc == 0; rg++) {
        for (size_t c = 0; c < ts->ncols && rc == 0; c++)
            rc = pq_read_column(f, rg, c, NULL, 0, &vecs[c], eb);
        if (rc == 0)
            rc = pq_assemble(f->schema, ptrs, &scratch, emit, ctx, eb);
    }
done:
    if (vecs)
        for (size_t c = 0; c < ts->ncols; c++)
            pq_colvec_free(&vecs[c]);
    ig_free(vecs);
    ig_free(ptrs);
    if (f)
        pq_close(f);
    ig_arena_free(&scratch);
    return rc;
}

int mj__read_rows(ig_store *store, ig_table_id t, ig_str uri, ig_arena *a, mj__rows *out,
                  ig_errbuf *eb)
{
    emit_ctx ec = {a, out};
    return mj__scan_rows(store, t, uri, emit_row, &ec, eb);
}

int mj__top_index(ig_table_id t, const char *name)
{
    const pq_schema *s = ig_table_schema(t);
    int node = pq_schema_top(s, ig_str_from(name));
    if (node < 0)
        return -1;
    for (int32_t k = 0; k < s->nodes[0].nchildren; k++)
        if (s->nodes[0].children[k] == node)
            return (int)k;
    return -1;
}

static int cmp_value(const pq_value *a, const pq_value *b)
{
    bool an = a->kind == PQ_V_NULL, bn = b->kind == PQ_V_NULL;
    if (an || bn)
        return an == bn ? 0 : an ? -1 : 1;
    switch (a->kind) {
    case PQ_V_BOOL:
        return (int)a->b - (int)b->b;
    case PQ_V_INT:
        return a->i < b->i ? -1 : a->i > b->i;
    case PQ_V_DOUBLE:
        return a->d < b->d ? -1 : a->d > b->d;
    case PQ_V_BYTES: {
        int c = ig_str_cmp(a->s, b->s);
        return c < 0 ? -1 : c > 0;
    }
    default:
        return 0;
    }
}

int mj__cmp_rows(const mj__sort *c, const pq_value *a, const pq_value *b)
{
    for (int k = 0; k < c->nkeys; k++) {
        const mj__sort_key *sk = &c->keys[k];
        const pq_value *x = &a->items[sk->idx], *y = &b->items[sk->idx];
        bool xn = x->kind == PQ_V_NULL, yn = y->kind == PQ_V_NULL;
        int r;
        if (xn || yn)
            /* nulls first for ascending keys, last for descending ones (the table's order) */
            r = xn == yn ? 0 : (xn ? (sk->desc ? 1 : -1) : (sk->desc ? -1 : 1));
        else
            r = sk->desc ? -cmp_value(x, y) : cmp_value(x, y);
        if (r)
            return r;
    }
    return 0;
}

int mj__sort_init(ig_table_id t, mj__sort *c)
{
    memset(c, 0, sizeof *c);
    static const char *const logs[] = {"account_id", "service_name", "-timestamp", NULL};
    static const char *const spans[] = {"account_id", "trace_id", "timestamp", NULL};
    static const char *const metrics[] = {"account_id", "metric_name", "service_name",
                                          "-timestamp"};
    const char *const *keys = t == IG_TABLE_SPANS ? spans : t == IG_TABLE_METRICS ? metrics : logs;
    int nk = t == IG_TABLE_METRICS ? 4 : 3;
    for (int k = 0; k < nk; k++) {
        bool desc = keys[k][0] == '-';
        int idx = mj__top_index(t, keys[k] + desc);
        if (idx < 0)
            return IG_EINTERNAL;
        c->keys[c->nkeys++] = (mj__sort_key){idx, desc};
    }
    return 0;
}

int mj__sort_rows(ig_table_id t, mj__rows *r)
{
    mj__sort c;
    int rc = mj__sort_init(t, &c);
    if (rc)
        return rc;
    if (r->n < 2)
        return 0;
    /* stable bottom-up merge sort of the row pointers */
    pq_value **tmp = ig_malloc(r->n * sizeof *tmp);
    if (!tmp)
        return IG_ENOMEM;
    pq_value **src = r->rows, **dst = tmp;
    for (size_t width = 1; width < r->n; width *= 2) {
        for (size_t lo = 0; lo < r->n; lo += 2 * width) {
            size_t mid = lo + width < r->n ? lo + width : r->n;
            size_t hi = lo + 2 * width < r->n ? lo + 2 * width : r->n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = mj__cmp_rows(&c, src[j], src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        pq_value **sw = src;
        src = dst;
        dst = sw;
    }
    if (src != r->rows)
        memcpy(r->rows, src, r->n * sizeof *src);
    ig_free(tmp);
    return 0;
}

/* Appends a partition path segment value: [A-Za-z0-9._-] as is, other bytes %XX. */
static int path_escape(ig_buf *b, ig_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        int rc =
            ok ? ig_buf_putc(b, (char)ch) : ig_buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
        if (rc)
            return rc;
    }
    return 0;
}

void mj__dfw_free(mj__dfw *d)
{
    pq_writer_free(d->w);
    d->w = NULL;
    ig_buf_free(&d->fb);
    ig_buf_free(&d->key);
    ig_buf_free(&d->uri);
}

int mj__dfw_open(mj__dfw *d, ig_store *store, ig_table_id t, const mj__file *like, size_t rg_rows,
                 ig_errbuf *eb)
{
    memset(d, 0, sizeof *d);
    d->t = t;
    d->like = like;
    ig_buf_init(&d->fb, MJ_DATA_FILE_MAX);
    ig_buf_init(&d->key, 4096);
    ig_buf_init(&d->uri, 8192);
    ig_buf sj;
    ig_buf_init(&sj, (size_t)1 << 20);
    char uuid[37];
    int y = 1970;
    unsigned mo = 1, dd = 1;
    ig_civil_from_days(like->day, &y, &mo, &dd);
    ig_buf *key = &d->key;
    int rc = ice_uuid4(uuid);
    if (rc || (rc = ig_buf_printf(key, "icegate/%s/data/tenant_id=", ig_table_name(t))) ||
        (rc = path_escape(key, like->tenant)) || (rc = ig_buf_append_cstr(key, "/account_id=")) ||
        (rc = like->account.ptr ? path_escape(key, like->account)
                                : ig_buf_append_cstr(key, "null")) ||
        (rc = ig_buf_printf(key, "/timestamp_day=%04d-%02u-%02u/%s.parquet", y, mo, dd, uuid)) ||
        (rc = ig_store_uri(store, key->data, &d->uri)) || (rc = ice_schema_json(t, &sj)))
        goto done;
    pq_writer_opts o = {.row_group_rows = rg_rows ? rg_rows : 65536};
    if ((rc = pq_writer_new(&d->w, ig_table_schema(t), &o, pq_sink_buf(&d->fb), eb)) == 0)
        rc = pq_writer_add_kv(d->w, "iceberg.schema", sj.data);
done:
    ig_buf_free(&sj);
    if (rc)
        mj__dfw_free(d);
    return rc;
}

int mj__dfw_add(mj__dfw *d, const pq_value *row, ig_errbuf *eb)
{
    int rc = pq_writer_append_row(d->w, row, eb);
    if (rc == 0)
        d->rows++;
    return rc;
}

int mj__dfw_finish(mj__dfw *d, ig_store *store, ig_arena *a, ig_mf_data_file *out, ig_errbuf *eb)
{
    const pq_schema *sch = ig_table_schema(d->t);
    const mj__file *like = d->like;
    pq_write_result res;
    memset(&res, 0, sizeof res);
    memset(out, 0, sizeof *out);
    int rc = pq_writer_close(d->w, &res, eb);
    if (rc) {
        pq_write_result_free(&res);
        return rc;
    }
    if ((rc = ig_store_put_if_absent(store, d->key.data, d->fb.data, d->fb.len, eb)))
        goto done;
    ig_mf_metric *metrics = NULL;
    size_t nm = 0;
    if ((rc = ig_mf_metrics_from_pq(&res, sch, a, &metrics, &nm)))
        goto done;
    ig_mf_pvalue *pv = ig_arena_alloc(a, (like->e.file.npartition + 1) * sizeof *pv);
    int64_t *splits = ig_arena_alloc(a, (res.nrow_groups + 1) * sizeof *splits);
    ig_str path = ig_arena_strdup(a, ig_buf_str(&d->uri));
    if (!pv || !splits || !path.ptr) {
        rc = IG_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < like->e.file.npartition; i++) {
        pv[i] = like->e.file.partition[i];
        if (pv[i].s.ptr && !(pv[i].s = ig_arena_strdup(a, pv[i].s)).ptr) {
            rc = IG_ENOMEM;
            goto done;
        }
    }
    for (size_t i = 0; i < res.nrow_groups; i++)
        splits[i] = (int64_t)res.row_group_offsets[i];
    out->content = 0;
    out->path = path;
    out->partition = pv;
    out->npartition = like->e.file.npartition;
    out->record_count = (int64_t)res.num_rows;
    out->file_size = (int64_t)d->fb.len;
    out->metrics = metrics;
    out->nmetrics = nm;
    out->split_offsets = splits;
    out->nsplit_offsets = res.nrow_groups;
    out->has_sort_order_id = true;
    out->sort_order_id = ICE_SORT_ORDER_ID;
done:
    pq_write_result_free(&res);
    return rc;
}

int mj__write_data_file(ig_store *store, ig_table_id t, const mj__file *like, pq_value *const *rows,
                        size_t n, size_t rg_rows, ig_arena *a, ig_mf_data_file *out,
                        ig_buf *key_out, ig_errbuf *eb)
{
    mj__dfw d;
    int rc = mj__dfw_open(&d, store, t, like, rg_rows, eb);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = mj__dfw_add(&d, rows[i], eb);
    if (rc == 0)
        rc = mj__dfw_finish(&d, store, a, out, eb);
    if (rc == 0 && key_out)
        rc = ig_buf_append_str(key_out, ig_buf_str(&d.key));
    mj__dfw_free(&d);
    return rc;
}
