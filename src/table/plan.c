/* Scan planning (include/icegate/plan.h, docs/iceberg.md "Planning"): the current
 * snapshot's data files pruned by partition summaries, partition values, column bounds and
 * row-group statistics, then the WAL segments after the snapshot's position pruned by the
 * footer's per-row-group tenant and time range. */
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/manifest.h"
#include "icegate/plan.h"
#include "icegate/time.h"

#define PLAN_ARENA_CAP (512u << 20)   /* keys, row-group arrays, manifests' decoded entries */
#define PLAN_FILE_MAX (64u << 20)     /* largest manifest list / manifest read whole */
#define PLAN_RETRIES 3                /* a WAL segment vanished: a newer snapshot covers it */
#define US_PER_DAY (86400LL * 1000000LL)

/* floor(us / day), defined for every int64 (INT64_MIN included). */
static int64_t day_of_us(int64_t us)
{
    int64_t q = us / US_PER_DAY;
    return (us % US_PER_DAY < 0) ? q - 1 : q;
}

static int64_t le_i64(ig_str s)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v |= (uint64_t)(uint8_t)s.ptr[i] << (8 * i);
    return (int64_t)v;
}

static int32_t le_i32(ig_str s)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++)
        v |= (uint32_t)(uint8_t)s.ptr[i] << (8 * i);
    return (int32_t)v;
}

/* Field id of a top-level column of table t, or -1. */
static int32_t top_field_id(ig_table_id t, const char *name)
{
    size_t n;
    const pq_field *f = ig_table_fields(t, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i].name, name))
            return f[i].id;
    return -1;
}

void ig_plan_free(ig_plan *p)
{
    if (!p)
        return;
    ig_free(p->files);
    p->files = NULL;
    p->nfiles = 0;
    ig_wal_pos_free(&p->pos);
    ig_arena_free(&p->arena);
}

static int plan_reset(ig_plan *p)
{
    ig_plan_free(p);
    memset(p, 0, sizeof *p);
    ig_arena_init(&p->arena, PLAN_ARENA_CAP);
    p->snapshot_id = -1;
    return 0;
}

/* Appends a file (key copied) with its kept row groups. */
static int plan_add(ig_plan *p, size_t *cap, const char *key, bool wal, uint64_t size,
                    uint64_t records, const uint32_t *rgs, size_t nrgs, ig_errbuf *eb)
{
    if (p->nfiles == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        ig_plan_file *f = ig_realloc(p->files, nc * sizeof *f);
        if (!f)
            return ig_err(eb, IG_ENOMEM, "plan: out of memory");
        p->files = f;
        *cap = nc;
    }
    ig_plan_file *f = &p->files[p->nfiles];
    f->key = ig_arena_cstr(&p->arena, ig_str_from(key));
    f->rgs = ig_arena_alloc(&p->arena, (nrgs ? nrgs : 1) * sizeof *f->rgs);
    if (!f->key || !f->rgs)
        return ig_err(eb, IG_ENOMEM, "plan: out of memory (arena cap)");
    memcpy(f->rgs, rgs, nrgs * sizeof *rgs);
    f->nrgs = nrgs;
    f->wal = wal;
    f->size = size;
    f->records = records;
    p->nfiles++;
    return 0;
}

/* Row-group pruning by the request's predicates (columns absent from the file keep the
 * row group: pruning is only ever conservative). */
static bool rg_preds_match(const pq_file *f, size_t rg, const ig_plan_req *req)
{
    for (size_t i = 0; i < req->npreds; i++) {
        const ig_plan_pred *pp = &req->preds[i];
        int col = pp->column ? pq_schema_find(f->schema, pp->column) : -1;
        if (col < 0)
            continue;
        pq_pred q = {col, pp->op, pp->i, pp->d, pp->s};
        if (!pq_rg_may_match(f, rg, &q))
            return false;
    }
    return true;
}

/* ---- WAL part ----------------------------------------------------------------------- */

static int plan_wal(ig_store *store, const ig_plan_req *req, ig_plan *p, size_t *cap,
                    ig_errbuf *eb)
{
    ig_wal_seglist l;
    int rc = ig_wal_list(store, req->table, &p->pos, &l, eb);
    uint32_t *keep = NULL;
    size_t keepcap = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        pq_file *f = NULL;
        rc = ig_wal_segment_open(store, l.segs[i].key, &f, eb);
        if (rc)
            break; /* IG_ENOENT: the caller re-plans */
        ig_wal_seginfo si;
        rc = ig_wal_segment_info(f, &si, eb);
        if (rc == 0 && si.nrgs > keepcap) {
            uint32_t *k = ig_realloc(keep, si.nrgs * sizeof *k);
            if (!k)
                rc = ig_err(eb, IG_ENOMEM, "plan: out of memory");
            else {
                keep = k;
                keepcap = si.nrgs;
            }
        }
        size_t nkeep = 0;
        for (size_t rg = 0; rc == 0 && rg < si.nrgs; rg++) {
            const ig_wal_rg *g = &si.rgs[rg];
            bool ok = ig_str_eq(g->tenant, req->tenant) && g->max_ts_us >= req->start_us &&
                      g->min_ts_us < req->end_us && rg_preds_match(f, rg, req);
            if (ok && req->account.ptr) {
                int ca = pq_schema_find(f->schema, "account_id");
                if (ca >= 0) {
                    pq_pred q = {.col = ca, .op = PQ_OP_EQ, .s = req->account};
                    ok = pq_rg_may_match(f, rg, &q);
                }
            }
            if (ok)
                keep[nkeep++] = (uint32_t)rg;
            else
                p->rgs_pruned++;
        }
        if (rc == 0) {
            if (nkeep)
                rc = plan_add(p, cap, l.segs[i].key, true, l.segs[i].size,
                              (uint64_t)f->num_rows, keep, nkeep, eb);
            else
                p->files_pruned++;
        }
        ig_wal_seginfo_free(&si);
        pq_close(f);
    }
    ig_free(keep);
    ig_wal_seglist_free(&l);
    return rc;
}

/* ---- Iceberg part ------------------------------------------------------------------- */

/* Whole object at an absolute URI of the store. */
static int get_uri(ig_store *store, ig_str uri, ig_buf *out, ig_errbuf *eb)
{
    ig_buf key;
    ig_buf_init(&key, 4096);
    int rc = catalog_key_of_uri(store, uri, &key);
    if (rc) {
        ig_buf_free(&key);
        return ig_err(eb, rc == IG_EINVAL ? IG_ECORRUPT : rc, "plan: %.*s is not in the store",
                      (int)(uri.len > 200 ? 200 : uri.len), uri.ptr);
    }
    rc = ig_store_get(store, key.data, out, eb);
    ig_buf_free(&key);
    return rc;
}

/* Manifest-list partition summaries: false when the manifest holds no file of the request. */
static bool summary_may_match(const ig_mf_list_entry *e, const ig_plan_req *req, int64_t d0,
                              int64_t d1)
{
    if (!e->has_partitions || e->npartitions < 3)
        return true;
    const ig_mf_field_summary *t = &e->partitions[0], *a = &e->partitions[1],
                              *d = &e->partitions[2];
    if (!t->lower.ptr && !t->upper.ptr)
        return false; /* tenant always null: never ours */
    if (t->lower.ptr && ig_str_cmp(req->tenant, t->lower) < 0)
        return false;
    if (t->upper.ptr && ig_str_cmp(req->tenant, t->upper) > 0)
        return false;
    if (req->account.ptr) {
        if (!a->lower.ptr && !a->upper.ptr)
            return false;
        if (a->lower.ptr && ig_str_cmp(req->account, a->lower) < 0)
            return false;
        if (a->upper.ptr && ig_str_cmp(req->account, a->upper) > 0)
            return false;
    }
    if (d->lower.ptr && d->lower.len == 4 && le_i32(d->lower) > d1)
        return false;
    if (d->upper.ptr && d->upper.len == 4 && le_i32(d->upper) < d0)
        return false;
    return true;
}

/* Partition values and the timestamp bounds of one data file. */
static bool file_may_match(const ig_mf_data_file *df, const ig_plan_req *req, int64_t d0,
                           int64_t d1, int32_t ts_id)
{
    if (df->npartition >= 3) {
        const ig_mf_pvalue *t = &df->partition[0], *a = &df->partition[1], *d = &df->partition[2];
        if (t->type != IG_MF_P_STRING || !ig_str_eq(t->s, req->tenant))
            return false;
        if (req->account.ptr && (a->type != IG_MF_P_STRING || !ig_str_eq(a->s, req->account)))
            return false;
        if (d->type == IG_MF_P_INT && (d->i < d0 || d->i > d1))
            return false;
    }
    for (size_t i = 0; i < df->nmetrics; i++) {
        const ig_mf_metric *m = &df->metrics[i];
        if (m->field_id != ts_id)
            continue;
        if (m->lower.ptr && m->lower.len == 8 && le_i64(m->lower) >= req->end_us)
            return false;
        if (m->upper.ptr && m->upper.len == 8 && le_i64(m->upper) < req->start_us)
            return false;
    }
    return true;
}

/* Opens a data file and keeps the row groups whose statistics may match. */
static int plan_data_file(ig_store *store, const char *key, uint64_t size, const ig_plan_req *req,
                          ig_plan *p, size_t *cap, ig_errbuf *eb)
{
    ig_plan_file tmp = {.key = key};
    pq_file *f;
    int rc = ig_plan_open(store, &tmp, &f, eb);
    if (rc)
        return rc;
    uint32_t *keep = f->nrgs ? ig_malloc(f->nrgs * sizeof *keep) : NULL;
    if (f->nrgs && !keep) {
        pq_close(f);
        return ig_err(eb, IG_ENOMEM, "plan: out of memory");
    }
    int ct = pq_schema_find(f->schema, "tenant_id");
    int cts = pq_schema_find(f->schema, "timestamp");
    int ca = pq_schema_find(f->schema, "account_id");
    size_t nkeep = 0;
    for (size_t rg = 0; rg < f->nrgs; rg++) {
        bool ok = true;
        if (ct >= 0) {
            pq_pred q = {.col = ct, .op = PQ_OP_EQ, .s = req->tenant};
            ok = pq_rg_may_match(f, rg, &q);
        }
        if (ok && ca >= 0 && req->account.ptr) {
            pq_pred q = {.col = ca, .op = PQ_OP_EQ, .s = req->account};
            ok = pq_rg_may_match(f, rg, &q);
        }
        if (ok && cts >= 0) {
            pq_pred lo = {.col = cts, .op = PQ_OP_GE, .i = req->start_us};
            pq_pred hi = {.col = cts, .op = PQ_OP_LT, .i = req->end_us};
            ok = pq_rg_may_match(f, rg, &lo) && pq_rg_may_match(f, rg, &hi);
        }
        if (ok)
            ok = rg_preds_match(f, rg, req);
        if (ok)
            keep[nkeep++] = (uint32_t)rg;
        else
            p->rgs_pruned++;
    }
    if (nkeep) {
        rc = plan_add(p, cap, key, false, size, (uint64_t)f->num_rows, keep, nkeep, eb);
    } else {
        p->files_pruned++;
    }
    ig_free(keep);
    pq_close(f);
    return rc;
}

static int plan_iceberg(catalog *cat, ig_store *store, const ig_plan_req *req, ig_plan *p,
                        size_t *cap, ig_errbuf *eb)
{
    catalog_table t;
    int rc = catalog_table_load(cat, store, CATALOG_NAMESPACE, ig_table_name(req->table), &t, eb);
    if (rc == IG_ENOENT)
        return 0; /* no table yet (not migrated): the WAL alone */
    if (rc)
        return rc;
    const ice_snapshot *snap = t.meta.current_snapshot_id >= 0
                                   ? ice_metadata_snapshot(&t.meta, t.meta.current_snapshot_id)
                                   : NULL;
    if (!snap) {
        catalog_table_free(&t);
        return 0;
    }
    p->snapshot_id = snap->snapshot_id;
    for (size_t i = 0; i < snap->nsummary; i++)
        if (ig_str_eq_cstr(snap->summary[i].key, IG_PLAN_SUMMARY_WAL_POS)) {
            rc = ig_wal_pos_parse(snap->summary[i].value, &p->pos, eb);
            if (rc) {
                catalog_table_free(&t);
                return rc;
            }
        }
    int64_t d0 = day_of_us(req->start_us),
            d1 = day_of_us(req->end_us == INT64_MIN ? INT64_MIN : req->end_us - 1);
    int32_t ts_id = top_field_id(req->table, "timestamp");
    ig_buf list, mf, key;
    ig_buf_init(&list, PLAN_FILE_MAX);
    ig_buf_init(&mf, PLAN_FILE_MAX);
    ig_buf_init(&key, 4096);
    ig_arena a;
    ig_arena_init(&a, PLAN_ARENA_CAP);
    ig_mf_list_meta lm;
    ig_mf_list_entry *entries = NULL;
    size_t n = 0;
    rc = get_uri(store, snap->manifest_list, &list, eb);
    if (rc == 0)
        rc = ig_manifest_list_read(ig_buf_str(&list), &a, &lm, &entries, &n, eb);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const ig_mf_list_entry *e = &entries[i];
        if (e->content != 0 || !summary_may_match(e, req, d0, d1)) {
            p->files_pruned += (uint64_t)(e->added_files_count + e->existing_files_count);
            continue;
        }
        ig_buf_reset(&mf);
        rc = get_uri(store, e->manifest_path, &mf, eb);
        if (rc)
            break;
        ig_manifest_reader r;
        rc = ig_manifest_reader_open(&r, ig_buf_str(&mf), eb);
        if (rc)
            break;
        ig_arena ea;
        ig_arena_init(&ea, PLAN_ARENA_CAP);
        ig_mf_entry me;
        while ((rc = ig_manifest_reader_next(&r, &ea, &me, eb)) > 0) {
            if (me.status == IG_MF_DELETED || me.file.content != 0)
                continue;
            if (!file_may_match(&me.file, req, d0, d1, ts_id)) {
                p->files_pruned++;
                continue;
            }
            ig_buf_reset(&key);
            rc = catalog_key_of_uri(store, me.file.path, &key);
            if (rc) {
                rc = ig_err(eb, IG_ECORRUPT, "plan: data file %.*s is not in the store",
                            (int)(me.file.path.len > 200 ? 200 : me.file.path.len),
                            me.file.path.ptr);
                break;
            }
            rc = plan_data_file(store, key.data,
                                me.file.file_size > 0 ? (uint64_t)me.file.file_size : 0, req, p,
                                cap, eb);
            if (rc)
                break;
        }
        ig_arena_free(&ea);
        ig_manifest_reader_close(&r);
    }
    ig_arena_free(&a);
    ig_buf_free(&list);
    ig_buf_free(&mf);
    ig_buf_free(&key);
    catalog_table_free(&t);
    return rc < 0 ? rc : 0;
}

int ig_plan_scan(catalog *cat, ig_store *store, const ig_plan_req *req, ig_plan *out,
                 ig_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    ig_arena_init(&out->arena, PLAN_ARENA_CAP);
    out->snapshot_id = -1;
    if ((unsigned)req->table >= IG_TABLE_COUNT_)
        return ig_err(eb, IG_EINVAL, "plan: unknown table %d", (int)req->table);
    if (!req->tenant.ptr || !req->tenant.len)
        return ig_err(eb, IG_EINVAL, "plan: a tenant is required");
    int rc = 0;
    for (int attempt = 0; attempt < PLAN_RETRIES; attempt++) {
        if (attempt)
            plan_reset(out);
        size_t cap = 0;
        if (req->end_us <= req->start_us)
            return 0; /* empty range */
        rc = cat ? plan_iceberg(cat, store, req, out, &cap, eb) : 0;
        if (rc == 0)
            rc = plan_wal(store, req, out, &cap, eb);
        if (rc != IG_ENOENT)
            break;
        /* A planned WAL segment or data file vanished between loading the snapshot and
         * opening it: a newer commit covers or replaced it. Plan again on the new view. */
    }
    return rc;
}

int ig_plan_open(ig_store *store, const ig_plan_file *f, pq_file **out, ig_errbuf *eb)
{
    /* Any store object opens the same way: a HEAD, then ranged reads of the footer. */
    return ig_wal_segment_open(store, f->key, out, eb);
}
