/* Test helper: a temporary warehouse (filesystem store), a SQLite catalog with the four
 * tables migrated, and a way to commit data the way a shift does (small Parquet files of
 * log rows written with pq_writer + ig_rows_write, manifest entries with
 * ig_mf_metrics_from_pq, a manifest list that keeps the previous manifests, an `append`
 * commit through catalog_table_commit_append with an icegate.wal-position summary), plus
 * readers of the current snapshot (live files, rows). Header-only (static functions), for
 * unit tests that include it after cmocka.h. */
#ifndef ICEGATE_TEST_ICE_FIXTURE_H
#define ICEGATE_TEST_ICE_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "icegate/catalog.h"
#include "icegate/iceberg.h"
#include "icegate/manifest.h"
#include "icegate/parquet.h"
#include "icegate/store.h"
#include "icegate/tables.h"
#include "icegate/time.h"

#define ICEFX_US_PER_DAY 86400000000LL

typedef struct icefx {
    char tmp[64];
    char db[128];
    char wh[128];
    catalog *cat;
    ig_store *store;
    bool foreign;  /* icefx_append writes files with only 4 columns (as another engine
                      might): tenant_id, account_id, timestamp, body */
    bool unsorted; /* icefx_append keeps the rows in the given order (else it sorts them
                      in the table's order, as shift does) */
} icefx;

static inline int icefx_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

/* 0 on success. */
static inline int icefx_setup(icefx *fx)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ig_icefx.XXXXXX");
    if (!mkdtemp(fx->tmp))
        return -1;
    snprintf(fx->db, sizeof fx->db, "%s/catalog.db", fx->tmp);
    snprintf(fx->wh, sizeof fx->wh, "%s/warehouse", fx->tmp);
    ig_errbuf eb = {{0}};
    if (catalog_open_sqlite(fx->db, &fx->cat, &eb) || ig_store_open_fs(fx->wh, &fx->store, &eb))
        return -1;
    FILE *devnull = fopen("/dev/null", "w");
    int rc = ig_migrate(fx->cat, fx->store, devnull, NULL, &eb);
    fclose(devnull);
    return rc;
}

static inline void icefx_teardown(icefx *fx)
{
    catalog_close(fx->cat);
    if (fx->store)
        ig_store_close(fx->store);
    nftw(fx->tmp, icefx_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reads the whole object at an absolute URI of the store into out. */
static inline int icefx_get_uri(icefx *fx, ig_str uri, ig_buf *out)
{
    ig_buf key;
    ig_buf_init(&key, 4096);
    int rc = catalog_key_of_uri(fx->store, uri, &key);
    if (rc == 0)
        rc = ig_store_get(fx->store, key.data, out, NULL);
    ig_buf_free(&key);
    return rc;
}

/* A log row of the test data. */
typedef struct icefx_row {
    int64_t ts_us;
    const char *service; /* may be NULL */
    const char *body;
} icefx_row;

/* Commits one Parquet data file of log rows (all of tenant/account, all on the day of
 * rows[0]) to icegate.<table> (logs or events layout: IG_TABLE_LOGS) as an append
 * snapshot at time snap_ms, with summary icegate.wal-position = wal_pos (may be NULL).
 * *snapshot_id (may be NULL) receives the new id. Retries on conflict. 0 or an error. */
static inline int icefx_append(icefx *fx, const char *tenant, const char *account,
                               const icefx_row *rows, size_t n, int64_t snap_ms,
                               const char *wal_pos, int64_t *snapshot_id)
{
    ig_table_id t = IG_TABLE_LOGS;
    ig_errbuf eb = {{0}};
    ig_log_row *lr = calloc(n, sizeof *lr);
    for (size_t i = 0; i < n; i++) {
        lr[i].id.tenant_id = ig_str_from(tenant);
        lr[i].id.account_id = account ? ig_str_from(account) : IG_STR_NULL;
        lr[i].id.service_name = rows[i].service ? ig_str_from(rows[i].service) : IG_STR_NULL;
        lr[i].timestamp_us = rows[i].ts_us;
        lr[i].ingested_us = rows[i].ts_us;
        lr[i].body = ig_str_from(rows[i].body);
        lr[i].source = IG_STR("otlp");
    }
    ig_rows rs = {.table = t, .n = n, .u.logs = lr};
    if (!fx->unsorted)
        ig_rows_sort(&rs);
    ig_buf file, key, uri, mbytes, mkey, muri, lbytes, lkey, luri, prev;
    ig_buf_init(&file, 0);
    ig_buf_init(&key, 0);
    ig_buf_init(&uri, 0);
    ig_buf_init(&mbytes, 0);
    ig_buf_init(&mkey, 0);
    ig_buf_init(&muri, 0);
    ig_buf_init(&lbytes, 0);
    ig_buf_init(&lkey, 0);
    ig_buf_init(&luri, 0);
    ig_buf_init(&prev, 0);
    pq_writer *w = NULL;
    pq_write_result res;
    memset(&res, 0, sizeof res);
    char uuid[37];
    int64_t day = ig_days_from_ns(rows[0].ts_us * 1000);
    int y;
    unsigned mo, d;
    ig_civil_from_days(day, &y, &mo, &d);
    pq_writer_opts po = {0};
    static const pq_field foreign_fields[] = {{1, "tenant_id", true, PQ_T_STRING, 0, NULL, 0},
                                              {2, "account_id", false, PQ_T_STRING, 0, NULL, 0},
                                              {4, "timestamp", true, PQ_T_TIMESTAMPTZ, 0, NULL, 0},
                                              {11, "body", false, PQ_T_STRING, 0, NULL, 0}};
    pq_schema *fs = NULL;
    const pq_schema *ws = ig_table_schema(t);
    int rc = 0;
    if (fx->foreign) {
        rc = pq_schema_build(foreign_fields, 4, &fs, &eb);
        ws = fs;
    }
    if (rc == 0)
        rc = pq_writer_new(&w, ws, &po, pq_sink_buf(&file), &eb);
    if (rc == 0 && !fx->foreign)
        rc = ig_rows_write(w, &rs, 0, n, &eb);
    for (size_t i = 0; rc == 0 && fx->foreign && i < n; i++) {
        rc = pq_put_bytes(w, 0, 0, tenant, strlen(tenant));
        if (rc == 0)
            rc =
                account ? pq_put_bytes(w, 1, 0, account, strlen(account)) : pq_put_null(w, 1, 0, 0);
        if (rc == 0)
            rc = pq_put_i64(w, 2, 0, rows[i].ts_us);
        if (rc == 0)
            rc = pq_put_bytes(w, 3, 0, rows[i].body, strlen(rows[i].body));
    }
    if (rc == 0)
        rc = pq_writer_close(w, &res, &eb);
    pq_writer_free(w);
    ice_uuid4(uuid);
    ig_buf_printf(
        &key,
        "icegate/logs/data/tenant_id=%s/account_id=%s/timestamp_day=%04d-%02u-%02u/%s.parquet",
        tenant, account ? account : "null", y, mo, d, uuid);
    if (rc == 0)
        rc = ig_store_put_if_absent(fx->store, key.data, file.data, file.len, &eb);
    ig_store_uri(fx->store, key.data, &uri);
    ig_arena a;
    ig_arena_init(&a, 0);
    ig_mf_metric *metrics = NULL;
    size_t nm = 0;
    if (rc == 0)
        rc = ig_mf_metrics_from_pq(&res, ws, &a, &metrics, &nm);
    ig_mf_pvalue pv[3] = {{.type = IG_MF_P_STRING, .s = ig_str_from(tenant)},
                          {.type = account ? IG_MF_P_STRING : IG_MF_P_NULL,
                           .s = account ? ig_str_from(account) : IG_STR_NULL},
                          {.type = IG_MF_P_INT, .i = day}};
    for (int attempt = 0; rc == 0 && attempt < 100; attempt++) {
        catalog_table ct;
        if ((rc = catalog_table_load(fx->cat, fx->store, "icegate", ig_table_name(t), &ct, &eb)))
            break;
        int64_t sid;
        ice_snapshot_id_new(&sid);
        int64_t seq = ct.meta.last_sequence_number + 1;
        ig_manifest_writer_opts mo2 = {.schema_json = ct.meta.current_schema_json,
                                       .schema_id = ct.meta.current_schema_id,
                                       .spec_json = ct.meta.default_spec_json,
                                       .spec_id = ct.meta.default_spec_id,
                                       .format_version = 2,
                                       .content = IG_MF_CONTENT_DATA,
                                       .codec = AVRO_CODEC_DEFLATE};
        ig_manifest_writer *mw = NULL;
        ig_mf_summary sum;
        memset(&sum, 0, sizeof sum);
        ig_mf_entry e = {.status = IG_MF_ADDED, .has_snapshot_id = true, .snapshot_id = sid};
        e.file.path = ig_buf_str(&uri);
        e.file.partition = pv;
        e.file.npartition = 3;
        e.file.record_count = (int64_t)res.num_rows;
        e.file.file_size = (int64_t)file.len;
        e.file.metrics = metrics;
        e.file.nmetrics = nm;
        e.file.has_sort_order_id = true;
        e.file.sort_order_id = 1;
        ig_buf_reset(&mbytes);
        ig_buf_reset(&mkey);
        ig_buf_reset(&muri);
        ig_buf_reset(&lbytes);
        ig_buf_reset(&lkey);
        ig_buf_reset(&luri);
        ig_buf_reset(&prev);
        char cu[37];
        ice_uuid4(cu);
        rc = ig_manifest_writer_new(&mo2, &mw, &eb);
        if (rc == 0)
            rc = ig_manifest_writer_add(mw, &e, &eb);
        if (rc == 0)
            rc = ig_manifest_writer_finish(mw, &mbytes, &sum, &eb);
        ig_manifest_writer_free(mw);
        ig_buf_printf(&mkey, "icegate/logs/metadata/%s-m0.avro", cu);
        ig_store_uri(fx->store, mkey.data, &muri);
        if (rc == 0)
            rc = ig_store_put_if_absent(fx->store, mkey.data, mbytes.data, mbytes.len, &eb);
        /* previous manifests first, then ours */
        ig_arena la;
        ig_arena_init(&la, 0);
        ig_mf_list_entry *old = NULL;
        size_t nold = 0;
        ig_mf_list_meta lm0;
        if (rc == 0 && ct.meta.current_snapshot_id != -1) {
            const ice_snapshot *cs = ice_metadata_snapshot(&ct.meta, ct.meta.current_snapshot_id);
            rc = icefx_get_uri(fx, cs->manifest_list, &prev);
            if (rc == 0)
                rc = ig_manifest_list_read(ig_buf_str(&prev), &la, &lm0, &old, &nold, &eb);
        }
        ig_mf_list_entry *le = calloc(nold + 1, sizeof *le);
        for (size_t i = 0; i < nold; i++)
            le[i] = old[i];
        ig_mf_list_entry_from_summary(&sum, ig_buf_str(&muri), (int64_t)mbytes.len, seq, sid,
                                      &le[nold]);
        ig_mf_list_meta lm = {.snapshot_id = sid,
                              .has_parent = ct.meta.current_snapshot_id != -1,
                              .parent_snapshot_id = ct.meta.current_snapshot_id,
                              .sequence_number = seq,
                              .format_version = 2};
        if (rc == 0)
            rc = ig_manifest_list_write(&lm, le, nold + 1, AVRO_CODEC_DEFLATE, NULL, &lbytes, &eb);
        ig_buf_printf(&lkey, "icegate/logs/metadata/snap-%lld-1-%s.avro", (long long)sid, cu);
        ig_store_uri(fx->store, lkey.data, &luri);
        if (rc == 0)
            rc = ig_store_put_if_absent(fx->store, lkey.data, lbytes.data, lbytes.len, &eb);
        char nrec[32];
        snprintf(nrec, sizeof nrec, "%zu", n);
        ice_kv kv[2] = {{IG_STR("added-records"), ig_str_from(nrec)},
                        {IG_STR("icegate.wal-position"), ig_str_from(wal_pos ? wal_pos : "")}};
        ice_snapshot_new sn = {.snapshot_id = sid,
                               .timestamp_ms = snap_ms,
                               .manifest_list = luri.data,
                               .operation = "append",
                               .summary = kv,
                               .nsummary = wal_pos ? 2 : 1};
        if (rc == 0)
            rc = catalog_table_commit_append(fx->cat, fx->store, "icegate", ig_table_name(t), &ct,
                                             &sn, NULL, &eb);
        free(le);
        ig_arena_free(&la);
        ig_mf_summary_free(&sum);
        catalog_table_free(&ct);
        if (rc == 0 && snapshot_id)
            *snapshot_id = sid;
        if (rc != IG_ECONFLICT)
            break;
        ig_store_delete(fx->store, mkey.data, NULL);
        ig_store_delete(fx->store, lkey.data, NULL);
        rc = 0;
    }
    if (rc)
        fprintf(stderr, "icefx_append: %d %s\n", rc, eb.msg);
    if (fs)
        pq_schema_free(fs);
    ig_arena_free(&a);
    pq_write_result_free(&res);
    ig_buf_free(&file);
    ig_buf_free(&key);
    ig_buf_free(&uri);
    ig_buf_free(&mbytes);
    ig_buf_free(&mkey);
    ig_buf_free(&muri);
    ig_buf_free(&lbytes);
    ig_buf_free(&lkey);
    ig_buf_free(&luri);
    ig_buf_free(&prev);
    free(lr);
    return rc;
}

/* The live data files of the current snapshot of icegate.logs: their URIs (malloc'd,
 * NUL-terminated; free with icefx_strs_free) and the sum of their record counts. */
typedef struct icefx_strs {
    char **v;
    size_t n;
} icefx_strs;

static inline void icefx_strs_free(icefx_strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static inline void icefx_strs_push(icefx_strs *s, ig_str x)
{
    s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n] = calloc(1, x.len + 1);
    memcpy(s->v[s->n], x.ptr, x.len);
    s->n++;
}

static inline int icefx_live(icefx *fx, icefx_strs *files, int64_t *records, int64_t *snapshot_id)
{
    memset(files, 0, sizeof *files);
    *records = 0;
    catalog_table ct;
    ig_errbuf eb = {{0}};
    int rc = catalog_table_load(fx->cat, fx->store, "icegate", "logs", &ct, &eb);
    if (rc)
        return rc;
    if (snapshot_id)
        *snapshot_id = ct.meta.current_snapshot_id;
    if (ct.meta.current_snapshot_id == -1) {
        catalog_table_free(&ct);
        return 0;
    }
    const ice_snapshot *cs = ice_metadata_snapshot(&ct.meta, ct.meta.current_snapshot_id);
    ig_buf lb;
    ig_buf_init(&lb, 0);
    ig_arena a;
    ig_arena_init(&a, 0);
    ig_mf_list_meta lm;
    ig_mf_list_entry *le = NULL;
    size_t n = 0;
    rc = icefx_get_uri(fx, cs->manifest_list, &lb);
    if (rc == 0)
        rc = ig_manifest_list_read(ig_buf_str(&lb), &a, &lm, &le, &n, &eb);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ig_buf mb;
        ig_buf_init(&mb, 0);
        rc = icefx_get_uri(fx, le[i].manifest_path, &mb);
        ig_manifest_reader r;
        if (rc == 0 && (rc = ig_manifest_reader_open(&r, ig_buf_str(&mb), &eb)) == 0) {
            ig_mf_entry e;
            while ((rc = ig_manifest_reader_next(&r, &a, &e, &eb)) > 0)
                if (e.status != IG_MF_DELETED) {
                    icefx_strs_push(files, e.file.path);
                    *records += e.file.record_count;
                }
            ig_manifest_reader_close(&r);
        }
        ig_buf_free(&mb);
    }
    ig_arena_free(&a);
    ig_buf_free(&lb);
    catalog_table_free(&ct);
    return rc < 0 ? rc : 0;
}

/* Every row of the live files as "<ts>|<service>|<body>" strings, sorted (a multiset
 * to compare before/after a rewrite). Also checks each file's row count. */
static inline int icefx_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline int icefx_rows(icefx *fx, icefx_strs *out)
{
    memset(out, 0, sizeof *out);
    icefx_strs files;
    int64_t records;
    int rc = icefx_live(fx, &files, &records, NULL);
    for (size_t i = 0; rc == 0 && i < files.n; i++) {
        ig_buf fb;
        ig_buf_init(&fb, 0);
        pq_file *f = NULL;
        rc = icefx_get_uri(fx, ig_str_from(files.v[i]), &fb);
        if (rc == 0)
            rc = pq_open_mem(&f, fb.data, fb.len, NULL, NULL);
        int cts = f ? pq_schema_find(f->schema, "timestamp") : -1;
        int csv = f ? pq_schema_find(f->schema, "service_name") : -1;
        int cb = f ? pq_schema_find(f->schema, "body") : -1;
        for (size_t rg = 0; rc == 0 && rg < f->nrgs; rg++) {
            pq_colvec vts, vsv, vb;
            pq_colvec_init(&vts);
            pq_colvec_init(&vsv);
            pq_colvec_init(&vb);
            rc = pq_read_column(f, rg, (size_t)cts, NULL, 0, &vts, NULL);
            if (rc == 0)
                rc = pq_read_column(f, rg, (size_t)csv, NULL, 0, &vsv, NULL);
            if (rc == 0)
                rc = pq_read_column(f, rg, (size_t)cb, NULL, 0, &vb, NULL);
            size_t ksv = 0, kb = 0;
            for (size_t r = 0; rc == 0 && r < vts.nvals; r++) {
                char line[512];
                ig_str sv = IG_STR("-"), bd = IG_STR("-");
                if (!vsv.def || vsv.def[r] == vsv.max_def)
                    sv = pq_colvec_bytes(&vsv, ksv++);
                if (!vb.def || vb.def[r] == vb.max_def)
                    bd = pq_colvec_bytes(&vb, kb++);
                snprintf(line, sizeof line, "%lld|%.*s|%.*s", (long long)((int64_t *)vts.vals)[r],
                         (int)sv.len, sv.ptr, (int)bd.len, bd.ptr);
                icefx_strs_push(out, ig_str_from(line));
            }
            pq_colvec_free(&vts);
            pq_colvec_free(&vsv);
            pq_colvec_free(&vb);
        }
        if (f)
            pq_close(f);
        ig_buf_free(&fb);
    }
    icefx_strs_free(&files);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, icefx_cmp_str);
    return rc;
}

/* Number of objects under a store prefix. */
static inline size_t icefx_count(icefx *fx, const char *prefix)
{
    ig_store_listing l;
    if (ig_store_list(fx->store, prefix, NULL, 100000, &l, NULL))
        return (size_t)-1;
    size_t n = l.count;
    ig_store_list_free(&l);
    return n;
}

/* true if the object at an absolute URI exists. */
static inline bool icefx_exists(icefx *fx, ig_str uri)
{
    ig_buf key;
    ig_buf_init(&key, 0);
    ig_store_stat st;
    bool ok = catalog_key_of_uri(fx->store, uri, &key) == 0 &&
              ig_store_head(fx->store, key.data, &st, NULL) == 0;
    ig_buf_free(&key);
    return ok;
}

#endif
