/* The shift job (include/icegate/maintain.h, docs/iceberg.md "Shift"): WAL segments →
 * partitioned, sorted Parquet data files → one Iceberg append commit whose summary
 * records the WAL position it covers.
 *
 * Rows are decoded with pq_assemble into pq_value trees, deep-copied into one arena per
 * batch (capped by memory_bytes), grouped by partition in a map, sorted with an index of
 * pointers and written with pq_writer_append_row: generic over the four tables, and the
 * WAL and data files share the table schema, so nothing is converted. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/log.h"
#include "icegate/maintain.h"
#include "icegate/manifest.h"
#include "icegate/map.h"
#include "icegate/plan.h"
#include "icegate/time.h"
#include "icegate/wal.h"

#define SHIFT_TARGET_DEFAULT ((uint64_t)128 << 20)
#define SHIFT_MEMORY_DEFAULT ((uint64_t)512 << 20)
#define SHIFT_RG_ROWS_DEFAULT 65536
#define SHIFT_RETRIES 16
#define SHIFT_LIST_MAX ((size_t)64 << 20)
#define SHIFT_FILE_SLACK ((size_t)1 << 30) /* a data file may pass the target by a row group */
#define US_PER_DAY (86400LL * 1000000LL)

void ig_failpoint(const char *name)
{
    const char *fp = getenv("ICEGATE_FAILPOINT");
    if (fp && !strcmp(fp, name)) {
        ig_log(IG_LOG_WARN, "failpoint: exiting", "failpoint", name, NULL);
        _exit(137);
    }
}

void ig_shift_opts_from_config(const ig_config *cfg, ig_shift_opts *o)
{
    memset(o, 0, sizeof *o);
    o->target_file_bytes = (uint64_t)cfg->maintain.target_file_bytes;
    o->wal_grace_ns = cfg->maintain.wal_grace_ns;
    o->row_group_rows = (size_t)cfg->parquet.row_group_rows;
    o->memory_bytes = (uint64_t)cfg->maintain.shift_memory_bytes;
}

/* ---- rows and partitions ------------------------------------------------------------ */

typedef struct srow {
    pq_value *v;
    uint64_t ord; /* arrival order: ties keep it (stable sort) */
} srow;

typedef struct bucket {
    ig_str tenant;
    ig_str account; /* ptr NULL: null */
    int32_t day;
    srow *rows;
    size_t n, cap;
} bucket;

/* The sort order of a table as (top-level index, descending) pairs (docs/iceberg.md §2;
 * asc = nulls first, desc = nulls last, Iceberg's defaults). */
typedef struct sort_key {
    int idx;
    bool desc;
} sort_key;

typedef struct batch {
    ig_table_id t;
    int i_tenant, i_account, i_ts;
    sort_key keys[4];
    int nkeys;
    ig_arena arena; /* row copies and buckets */
    ig_map parts;   /* partition key -> bucket * */
    bucket **blist;
    size_t nb, bcap;
    uint64_t ord, rows;
    int err;
    ig_buf pkey;
    /* Decoded column vectors of every row group read, kept until the batch is written:
     * the rows' strings point into them (no copy). colbytes counts their memory. */
    pq_colvec **kept;
    size_t *kept_n;
    size_t nkept, capkept;
    uint64_t colbytes, cap;
    double bytes_per_row; /* segment bytes per row read (data file size estimate) */
} batch;

static int top_index(ig_table_id t, const char *name)
{
    size_t n;
    const pq_field *f = ig_table_fields(t, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i].name, name))
            return (int)i;
    return -1;
}

static void batch_init(batch *b, ig_table_id t, uint64_t mem)
{
    memset(b, 0, sizeof *b);
    b->t = t;
    b->i_tenant = top_index(t, "tenant_id");
    b->i_account = top_index(t, "account_id");
    b->i_ts = top_index(t, "timestamp");
    static const char *const order[IG_TABLE_COUNT_][3] = {
        [IG_TABLE_LOGS] = {"service_name", "-timestamp", NULL},
        [IG_TABLE_EVENTS] = {"service_name", "-timestamp", NULL},
        [IG_TABLE_SPANS] = {"trace_id", "timestamp", NULL},
        [IG_TABLE_METRICS] = {"metric_name", "service_name", "-timestamp"},
    };
    for (int k = 0; k < 3 && order[t][k]; k++) {
        const char *nm = order[t][k];
        bool desc = nm[0] == '-';
        int idx = top_index(t, desc ? nm + 1 : nm);
        if (idx >= 0)
            b->keys[b->nkeys++] = (sort_key){idx, desc};
    }
    ig_arena_init(&b->arena, (size_t)mem);
    b->cap = mem;
    ig_map_init(&b->parts, 0);
    ig_buf_init(&b->pkey, 1 << 16);
}

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->nkept; i++) {
        for (size_t c = 0; c < b->kept_n[i]; c++)
            pq_colvec_free(&b->kept[i][c]);
        ig_free(b->kept[i]);
    }
    ig_free(b->kept);
    ig_free(b->kept_n);
    for (size_t i = 0; i < b->nb; i++)
        ig_free(b->blist[i]->rows);
    ig_free(b->blist);
    ig_map_free(&b->parts);
    ig_arena_free(&b->arena);
    ig_buf_free(&b->pkey);
}

static int vcopy(ig_arena *a, pq_value *dst, const pq_value *src)
{
    *dst = *src;
    /* bytes stay in the batch's kept column vectors */
    if (src->kind == PQ_V_BYTES && !src->s.len)
        dst->s.ptr = "";
    if (src->n && src->items) {
        pq_value *it = ig_arena_alloc(a, src->n * sizeof *it);
        if (!it)
            return IG_ENOMEM;
        for (size_t i = 0; i < src->n; i++) {
            int rc = vcopy(a, &it[i], &src->items[i]);
            if (rc)
                return rc;
        }
        dst->items = it;
    } else {
        dst->items = NULL;
    }
    return 0;
}

static int64_t day_of_us(int64_t us)
{
    return us >= 0 ? us / US_PER_DAY : -((-us + US_PER_DAY - 1) / US_PER_DAY);
}

static int emit_row(void *ctx, const pq_value *row)
{
    batch *b = ctx;
    if (row->kind != PQ_V_STRUCT || (int)row->n <= b->i_ts || (int)row->n <= b->i_account ||
        (int)row->n <= b->i_tenant)
        return b->err = IG_ECORRUPT;
    pq_value *v = ig_arena_alloc(&b->arena, sizeof *v);
    if (!v || vcopy(&b->arena, v, row) || b->arena.used + b->colbytes > b->cap)
        return b->err = IG_ETOOBIG;
    const pq_value *tn = &v->items[b->i_tenant], *ac = &v->items[b->i_account],
                   *ts = &v->items[b->i_ts];
    if (tn->kind != PQ_V_BYTES || ts->kind != PQ_V_INT)
        return b->err = IG_ECORRUPT;
    int64_t day = day_of_us(ts->i);
    /* partition key: tenant \0 account-flag account \0 day */
    ig_buf_reset(&b->pkey);
    int rc = ig_buf_append_str(&b->pkey, tn->s);
    rc = rc ? rc : ig_buf_putc(&b->pkey, 0);
    rc = rc ? rc : ig_buf_putc(&b->pkey, ac->kind == PQ_V_BYTES ? 'v' : 'n');
    if (!rc && ac->kind == PQ_V_BYTES)
        rc = ig_buf_append_str(&b->pkey, ac->s);
    rc = rc ? rc : ig_buf_printf(&b->pkey, "%c%lld", 0, (long long)day);
    if (rc)
        return b->err = rc;
    ig_map_entry *e;
    bool created;
    if ((rc = ig_map_upsert(&b->parts, ig_buf_str(&b->pkey), &e, &created)))
        return b->err = rc;
    bucket *bk = e->value;
    if (!bk) {
        bk = ig_arena_zalloc(&b->arena, sizeof *bk);
        if (!bk)
            return b->err = IG_ETOOBIG;
        bk->tenant = tn->s;
        bk->account = ac->kind == PQ_V_BYTES ? ac->s : IG_STR_NULL;
        bk->day = (int32_t)day;
        if (b->nb == b->bcap) {
            size_t nc = b->bcap ? b->bcap * 2 : 16;
            bucket **nl = ig_realloc(b->blist, nc * sizeof *nl);
            if (!nl)
                return b->err = IG_ENOMEM;
            b->blist = nl;
            b->bcap = nc;
        }
        b->blist[b->nb++] = bk;
        e->value = bk;
    }
    if (bk->n == bk->cap) {
        size_t nc = bk->cap ? bk->cap * 2 : 256;
        srow *nr = ig_realloc(bk->rows, nc * sizeof *nr);
        if (!nr)
            return b->err = IG_ENOMEM;
        bk->rows = nr;
        bk->cap = nc;
    }
    bk->rows[bk->n++] = (srow){v, b->ord++};
    b->rows++;
    return 0;
}

/* Reads every row of a WAL segment into the batch. */
static int read_segment(ig_store *store, batch *b, const char *key, ig_errbuf *eb)
{
    pq_file *f;
    int rc = ig_wal_segment_open(store, key, &f, eb);
    if (rc)
        return rc;
    const pq_schema *ts = ig_table_schema(b->t);
    if (f->schema->ncols != ts->ncols) {
        pq_close(f);
        return ig_err(eb, IG_EUNSUPPORTED,
                      "shift: %s has %zu columns, table %s has %zu (schema evolution is not "
                      "supported yet)",
                      key, f->schema->ncols, ig_table_name(b->t), ts->ncols);
    }
    size_t nc = f->schema->ncols;
    pq_colvec **vp = ig_calloc(nc, sizeof *vp);
    ig_arena scratch;
    ig_arena_init(&scratch, (size_t)256 << 20);
    if (!vp)
        rc = ig_err(eb, IG_ENOMEM, "shift: out of memory");
    for (size_t rg = 0; rc == 0 && rg < f->nrgs; rg++) {
        if (b->nkept == b->capkept) {
            size_t ncap = b->capkept ? b->capkept * 2 : 64;
            pq_colvec **nk = ig_realloc(b->kept, ncap * sizeof *nk);
            if (nk)
                b->kept = nk;
            size_t *nn = nk ? ig_realloc(b->kept_n, ncap * sizeof *nn) : NULL;
            if (nn)
                b->kept_n = nn;
            if (!nk || !nn) {
                rc = ig_err(eb, IG_ENOMEM, "shift: out of memory");
                break;
            }
            b->capkept = ncap;
        }
        pq_colvec *vecs = ig_calloc(nc, sizeof *vecs);
        if (!vecs) {
            rc = ig_err(eb, IG_ENOMEM, "shift: out of memory");
            break;
        }
        for (size_t c = 0; c < nc; c++) {
            pq_colvec_init(&vecs[c]);
            vp[c] = &vecs[c];
        }
        b->kept[b->nkept] = vecs;
        b->kept_n[b->nkept++] = nc;
        for (size_t c = 0; rc == 0 && c < nc; c++) {
            rc = pq_read_column(f, rg, c, NULL, 0, &vecs[c], eb);
            const pq_colvec *v = &vecs[c];
            b->colbytes += v->cap_def + v->cap_rep + v->cap_vals + v->cap_offs + v->cap_data +
                           v->cap_idx;
        }
        if (rc)
            break;
        if (b->arena.used + b->colbytes > b->cap) {
            rc = ig_err(eb, IG_ETOOBIG, "shift: rows of one batch exceed the memory cap");
            break;
        }
        b->err = 0;
        rc = pq_assemble(f->schema, vp, &scratch, emit_row, b, eb);
        if (rc && b->err) {
            rc = b->err == IG_ETOOBIG
                     ? ig_err(eb, IG_ETOOBIG, "shift: rows of one batch exceed the memory cap")
                     : ig_err(eb, b->err, "shift: %s: %s", key, ig_strerror(b->err));
        }
        ig_arena_reset(&scratch);
    }
    ig_free(vp);
    ig_arena_free(&scratch);
    pq_close(f);
    return rc;
}

/* read_segment naming the segment in every error but the two the caller acts on (an operator
 * has to find a corrupt segment). */
static int read_segment_named(ig_store *store, batch *b, const char *key, ig_errbuf *eb)
{
    int rc = read_segment(store, b, key, eb);
    if (rc && rc != IG_ENOENT && rc != IG_ETOOBIG && eb && !strstr(eb->msg, key)) {
        ig_errbuf inner = *eb;
        ig_err(eb, rc, "WAL segment %s: %s", key, inner.msg);
    }
    return rc;
}

/* ---- sorting -------------------------------------------------------------------------- */

static int cmp_val(const pq_value *a, const pq_value *b, bool desc)
{
    bool an = a->kind == PQ_V_NULL, bn = b->kind == PQ_V_NULL;
    if (an || bn) {
        if (an && bn)
            return 0;
        /* asc: nulls first; desc: nulls last */
        return desc ? (an ? 1 : -1) : (an ? -1 : 1);
    }
    int c = 0;
    switch (a->kind) {
    case PQ_V_INT:
    case PQ_V_BOOL: c = (a->i > b->i) - (a->i < b->i); break;
    case PQ_V_DOUBLE: c = (a->d > b->d) - (a->d < b->d); break;
    case PQ_V_BYTES: c = ig_str_cmp(a->s, b->s); break;
    default: c = 0;
    }
    return desc ? -c : c;
}

static int cmp_srow(const void *pa, const void *pb, void *ctx)
{
    const batch *b = ctx;
    const srow *x = pa, *y = pb;
    for (int k = 0; k < b->nkeys; k++) {
        int i = b->keys[k].idx;
        int c = cmp_val(&x->v->items[i], &y->v->items[i], b->keys[k].desc);
        if (c)
            return c;
    }
    return (x->ord > y->ord) - (x->ord < y->ord);
}

/* ---- writing data files ----------------------------------------------------------------- */

/* Percent-encodes a partition value for a path segment (Iceberg escapes values in paths). */
static int path_escape(ig_buf *out, ig_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.';
        int rc = plain ? ig_buf_putc(out, (char)c)
                       : ig_buf_printf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Everything one commit attempt of a batch needs (all memory in `a`). */
typedef struct written {
    ig_arena a;
    ig_mf_data_file *files;
    size_t n, cap;
    char **keys; /* store keys of the data files (for cleanup) */
    uint64_t bytes, rows;
} written;

static int trace_col(ig_table_id t)
{
    return t == IG_TABLE_METRICS ? -1 : pq_schema_find(ig_table_schema(t), "trace_id");
}

/* Writes rows[from, to) of a bucket as one data file. */
static int write_file(ig_store *store, batch *b, const bucket *bk, srow *rows, size_t from,
                      size_t *next, const ig_shift_opts *o, ig_str schema_json, written *w,
                      ig_errbuf *eb)
{
    const pq_schema *schema = ig_table_schema(b->t);
    uint64_t target = o->target_file_bytes ? o->target_file_bytes : SHIFT_TARGET_DEFAULT;
    ig_buf file;
    ig_buf_init(&file, (size_t)target + SHIFT_FILE_SLACK);
    /* Reserve about what the rows will take (their share of the segments' bytes), so the
     * buffer is not grown, copied and faulted in again at every doubling. */
    double est = (double)(bk->n - from) * b->bytes_per_row * 1.25 + (double)(1 << 20);
    if (est > (double)target + (double)(16 << 20))
        est = (double)target + (double)(16 << 20);
    (void)ig_buf_reserve(&file, (size_t)est); /* a hint: failure is harmless */
    pq_writer_opts po = {0};
    po.row_group_rows = o->row_group_rows ? o->row_group_rows : SHIFT_RG_ROWS_DEFAULT;
    pq_writer *pw = NULL;
    int rc = pq_writer_new(&pw, schema, &po, pq_sink_buf(&file), eb);
    int tc = trace_col(b->t);
    if (rc == 0 && tc >= 0)
        rc = pq_writer_set_bloom(pw, tc, true);
    char *sj = rc == 0 ? ig_arena_cstr(&w->a, schema_json) : NULL;
    if (rc == 0 && !sj)
        rc = ig_err(eb, IG_ENOMEM, "shift: out of memory");
    if (rc == 0)
        rc = pq_writer_add_kv(pw, "iceberg.schema", sj);
    size_t i = from;
    for (; rc == 0 && i < bk->n; i++) {
        rc = pq_writer_append_row(pw, rows[i].v, eb);
        if (rc == 0 && file.len >= target) {
            i++;
            break;
        }
    }
    *next = i;
    pq_write_result res = {0};
    if (rc == 0)
        rc = pq_writer_close(pw, &res, eb);
    pq_writer_free(pw);
    /* key: icegate/<table>/data/tenant_id=<t>/account_id=<a>/timestamp_day=<date>/<uuid>.parquet */
    ig_buf key;
    ig_buf_init(&key, 1024);
    char uuid[37];
    int y;
    unsigned mo, d;
    ig_civil_from_days(bk->day, &y, &mo, &d);
    if (rc == 0 && (rc = ice_uuid4(uuid)) != 0)
        rc = ig_err(eb, rc, "shift: no random bytes for a file name");
    if (rc == 0) {
        rc = ig_buf_printf(&key, "icegate/%s/data/tenant_id=", ig_table_name(b->t));
        rc = rc ? rc : path_escape(&key, bk->tenant);
        rc = rc ? rc : ig_buf_append_cstr(&key, "/account_id=");
        if (!rc)
            rc = bk->account.ptr ? path_escape(&key, bk->account) : ig_buf_append_cstr(&key, "null");
        rc = rc ? rc : ig_buf_printf(&key, "/timestamp_day=%04d-%02u-%02u/%s.parquet", y, mo, d, uuid);
        if (rc)
            rc = ig_err(eb, rc, "shift: data file key too long");
    }
    if (rc == 0)
        rc = ig_store_put_if_absent(store, key.data, file.data, file.len, eb);
    ig_buf uri;
    ig_buf_init(&uri, 4096);
    if (rc == 0)
        rc = ig_store_uri(store, key.data, &uri);
    if (rc == 0 && w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 16;
        ig_mf_data_file *nf = ig_arena_alloc(&w->a, nc * sizeof *nf);
        char **nk = ig_arena_alloc(&w->a, nc * sizeof *nk);
        if (!nf || !nk)
            rc = ig_err(eb, IG_ENOMEM, "shift: out of memory");
        else {
            if (w->n) {
                memcpy(nf, w->files, w->n * sizeof *nf);
                memcpy(nk, w->keys, w->n * sizeof *nk);
            }
            w->files = nf;
            w->keys = nk;
            w->cap = nc;
        }
    }
    if (rc == 0) {
        ig_mf_data_file *df = &w->files[w->n];
        memset(df, 0, sizeof *df);
        w->keys[w->n] = ig_arena_cstr(&w->a, ig_buf_str(&key));
        df->path = ig_arena_strdup(&w->a, ig_buf_str(&uri));
        ig_mf_pvalue *pv = ig_arena_zalloc(&w->a, 3 * sizeof *pv);
        int64_t *splits = ig_arena_alloc(&w->a, (res.nrow_groups ? res.nrow_groups : 1) * 8);
        if (!w->keys[w->n] || !df->path.ptr || !pv || !splits)
            rc = ig_err(eb, IG_ENOMEM, "shift: out of memory");
        if (rc == 0) {
            pv[0] = (ig_mf_pvalue){IG_MF_P_STRING, ig_arena_strdup(&w->a, bk->tenant), 0};
            pv[1] = bk->account.ptr
                        ? (ig_mf_pvalue){IG_MF_P_STRING, ig_arena_strdup(&w->a, bk->account), 0}
                        : (ig_mf_pvalue){IG_MF_P_NULL, IG_STR_NULL, 0};
            pv[2] = (ig_mf_pvalue){IG_MF_P_INT, IG_STR_NULL, bk->day};
            for (size_t k = 0; k < res.nrow_groups; k++)
                splits[k] = (int64_t)res.row_group_offsets[k];
            df->content = 0;
            df->partition = pv;
            df->npartition = 3;
            df->record_count = (int64_t)res.num_rows;
            df->file_size = (int64_t)res.file_size;
            df->split_offsets = splits;
            df->nsplit_offsets = res.nrow_groups;
            df->has_sort_order_id = true;
            df->sort_order_id = ICE_SORT_ORDER_ID;
            ig_mf_metric *m;
            size_t nm;
            rc = ig_mf_metrics_from_pq(&res, schema, &w->a, &m, &nm);
            if (rc)
                rc = ig_err(eb, rc, "shift: metrics: %s", ig_strerror(rc));
            df->metrics = m;
            df->nmetrics = nm;
        }
        if (rc == 0) {
            w->n++;
            w->bytes += res.file_size;
            w->rows += res.num_rows;
        }
    }
    pq_write_result_free(&res);
    ig_buf_free(&file);
    ig_buf_free(&key);
    ig_buf_free(&uri);
    return rc;
}

static void delete_written(ig_store *store, const written *w)
{
    for (size_t i = 0; i < w->n; i++)
        (void)ig_store_delete(store, w->keys[i], NULL);
}

/* ---- commit --------------------------------------------------------------------------- */

static ig_str summary_get(const ice_snapshot *s, const char *key)
{
    for (size_t i = 0; s && i < s->nsummary; i++)
        if (ig_str_eq_cstr(s->summary[i].key, key))
            return s->summary[i].value;
    return IG_STR_NULL;
}

/* Position recorded by the current snapshot of m (empty when none). */
static int meta_pos(const ice_metadata *m, ig_wal_pos *pos, ig_errbuf *eb)
{
    pos->n = 0;
    const ice_snapshot *s =
        m->current_snapshot_id >= 0 ? ice_metadata_snapshot(m, m->current_snapshot_id) : NULL;
    ig_str v = summary_get(s, IG_PLAN_SUMMARY_WAL_POS);
    return v.ptr ? ig_wal_pos_parse(v, pos, eb) : 0;
}

static int get_uri(ig_store *store, ig_str uri, ig_buf *out, ig_errbuf *eb)
{
    ig_buf key;
    ig_buf_init(&key, 4096);
    int rc = catalog_key_of_uri(store, uri, &key);
    if (rc == 0)
        rc = ig_store_get(store, key.data, out, eb);
    else
        rc = ig_err(eb, IG_ECORRUPT, "shift: %.*s is not in the store",
                    (int)(uri.len > 200 ? 200 : uri.len), uri.ptr);
    ig_buf_free(&key);
    return rc;
}

static int add_kv(ice_kv *kv, size_t *n, ig_arena *a, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int add_kv(ice_kv *kv, size_t *n, ig_arena *a, const char *k, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    ig_str ks = ig_arena_strdup(a, ig_str_from(k)), vs = ig_arena_strdup(a, ig_str_from(tmp));
    if (!ks.ptr || !vs.ptr)
        return IG_ENOMEM;
    kv[(*n)++] = (ice_kv){ks, vs};
    return 0;
}

/* One commit attempt on base: manifest list (new manifest + the base's manifests), next
 * metadata, compare-and-swap. */
static int commit_once(catalog *cat, ig_store *store, ig_table_id t, const catalog_table *base,
                       int64_t sid, int attempt, ig_str manifest_uri, const ig_mf_summary *msum,
                       int64_t manifest_len, const ig_wal_pos *newpos, const written *w,
                       int64_t now_ms, ig_errbuf *eb)
{
    const char *tn = ig_table_name(t);
    const ice_metadata *m = &base->meta;
    const ice_snapshot *parent =
        m->current_snapshot_id >= 0 ? ice_metadata_snapshot(m, m->current_snapshot_id) : NULL;
    int64_t seq = m->last_sequence_number + 1;
    ig_arena a;
    ig_arena_init(&a, (size_t)256 << 20);
    ig_buf buf, key, uri;
    ig_buf_init(&buf, SHIFT_LIST_MAX);
    ig_buf_init(&key, 1024);
    ig_buf_init(&uri, 4096);
    ig_mf_list_meta old_meta;
    ig_mf_list_entry *old = NULL;
    size_t nold = 0;
    int rc = 0;
    if (parent) {
        rc = get_uri(store, parent->manifest_list, &buf, eb);
        if (rc == 0)
            rc = ig_manifest_list_read(ig_buf_str(&buf), &a, &old_meta, &old, &nold, eb);
    }
    ig_mf_list_entry *all = rc == 0 ? ig_arena_alloc(&a, (nold + 1) * sizeof *all) : NULL;
    if (rc == 0 && !all)
        rc = ig_err(eb, IG_ENOMEM, "shift: out of memory");
    if (rc == 0) {
        ig_mf_list_entry_from_summary(msum, manifest_uri, manifest_len, seq, sid, &all[0]);
        if (nold)
            memcpy(&all[1], old, nold * sizeof *old);
        ig_mf_list_meta lm = {sid, parent != NULL, parent ? parent->snapshot_id : -1, seq, 2};
        ig_buf_reset(&buf);
        rc = ig_manifest_list_write(&lm, all, nold + 1, AVRO_CODEC_DEFLATE, NULL, &buf, eb);
    }
    char uuid[37];
    if (rc == 0 && (rc = ice_uuid4(uuid)) != 0)
        rc = ig_err(eb, rc, "shift: no random bytes");
    if (rc == 0)
        rc = ig_buf_printf(&key, "icegate/%s/metadata/snap-%lld-%d-%s.avro", tn, (long long)sid,
                           attempt, uuid);
    if (rc == 0)
        rc = ig_store_put_if_absent(store, key.data, buf.data, buf.len, eb);
    bool list_written = rc == 0;
    if (rc == 0)
        rc = ig_store_uri(store, key.data, &uri);
    /* summary */
    ice_kv kv[16];
    size_t nkv = 0;
    ig_buf posb;
    ig_buf_init(&posb, 1 << 20);
    if (rc == 0)
        rc = ig_wal_pos_format(newpos, &posb);
    if (rc == 0) {
        kv[nkv++] = (ice_kv){IG_STR(IG_PLAN_SUMMARY_WAL_POS), ig_buf_str(&posb)};
        rc = add_kv(kv, &nkv, &a, "added-data-files", "%zu", w->n);
        rc = rc ? rc : add_kv(kv, &nkv, &a, "added-records", "%llu", (unsigned long long)w->rows);
        rc = rc ? rc
                : add_kv(kv, &nkv, &a, "added-files-size", "%llu", (unsigned long long)w->bytes);
        /* totals, when the parent has them (or there is no parent) */
        static const char *const tk[3] = {"total-data-files", "total-records", "total-files-size"};
        uint64_t add[3] = {w->n, w->rows, w->bytes};
        for (int k = 0; rc == 0 && k < 3; k++) {
            int64_t prev = 0;
            ig_str v = summary_get(parent, tk[k]);
            if (parent && (!v.ptr || ig_str_to_i64(v, &prev)))
                continue;
            rc = add_kv(kv, &nkv, &a, tk[k], "%llu", (unsigned long long)prev + add[k]);
        }
        if (rc)
            rc = ig_err(eb, rc, "shift: out of memory");
    }
    if (rc == 0) {
        ig_failpoint("shift-before-commit");
        ice_snapshot_new sn = {sid, now_ms, uri.data, "append", kv, nkv};
        rc = catalog_table_commit_append(cat, store, CATALOG_NAMESPACE, tn, base, &sn, NULL, eb);
        if (rc == IG_ECONFLICT && list_written)
            (void)ig_store_delete(store, key.data, NULL);
    }
    ig_buf_free(&posb);
    ig_buf_free(&buf);
    ig_buf_free(&key);
    ig_buf_free(&uri);
    ig_arena_free(&a);
    return rc;
}

/* ---- one table ------------------------------------------------------------------------ */

/* Rough decoded size of a segment's rows (for choosing a batch under the memory cap):
 * `ratio` decoded bytes per segment byte, learnt from the batches of the run. */
static uint64_t seg_mem_estimate(const ig_wal_seg *s, double ratio)
{
    return (uint64_t)((double)s->size * ratio) + 4096;
}

/* Deletes the WAL segments covered by the newest snapshot older than the grace period. */
static int delete_wal(catalog *cat, ig_store *store, ig_table_id t, const ig_shift_opts *o,
                      int64_t now_ns, ig_shift_result *res, ig_errbuf *eb)
{
    if (o->wal_grace_ns < 0)
        return 0;
    catalog_table ct;
    int rc = catalog_table_load(cat, store, CATALOG_NAMESPACE, ig_table_name(t), &ct, eb);
    if (rc)
        return rc;
    int64_t cutoff_ms = (now_ns - o->wal_grace_ns) / IG_NS_PER_MS;
    const ice_snapshot *best = NULL;
    for (size_t i = 0; i < ct.meta.nsnapshots; i++) {
        const ice_snapshot *s = &ct.meta.snapshots[i];
        if (s->timestamp_ms <= cutoff_ms && summary_get(s, IG_PLAN_SUMMARY_WAL_POS).ptr &&
            (!best || s->sequence_number > best->sequence_number))
            best = s;
    }
    ig_wal_pos pos = {0};
    if (best)
        rc = ig_wal_pos_parse(summary_get(best, IG_PLAN_SUMMARY_WAL_POS), &pos, eb);
    size_t n = 0;
    if (rc == 0 && best && pos.n)
        rc = ig_wal_delete_upto(store, t, &pos, now_ns - o->wal_grace_ns, &n, eb);
    res->wal_deleted += n;
    ig_wal_pos_free(&pos);
    catalog_table_free(&ct);
    return rc;
}

int ig_shift_table(catalog *cat, ig_store *store, ig_table_id t, const ig_shift_opts *o,
                   ig_shift_result *res, ig_errbuf *eb)
{
    ig_shift_opts dflt = {0};
    if (!o)
        o = &dflt;
    const char *tn = ig_table_name(t);
    uint64_t mem = o->memory_bytes ? o->memory_bytes : SHIFT_MEMORY_DEFAULT;
    /* The cover set: listed before anything is read. */
    catalog_table base;
    int rc = catalog_table_load(cat, store, CATALOG_NAMESPACE, tn, &base, eb);
    if (rc)
        return rc;
    bool have_base = true;
    ig_wal_pos pos = {0}, newpos = {0};
    ig_wal_seglist cover = {0};
    rc = meta_pos(&base.meta, &pos, eb);
    if (rc == 0)
        rc = ig_wal_list(store, t, &pos, &cover, eb);
    else
        ig_arena_init(&cover.arena, 0);
    bool *taken = rc == 0 ? ig_calloc(cover.n ? cover.n : 1, sizeof *taken) : NULL;
    if (rc == 0 && !taken)
        rc = ig_err(eb, IG_ENOMEM, "shift: out of memory");
    int restarts = 0;
    double ratio = 64; /* decoded row trees are ~60x the compressed segment bytes for logs */
    while (rc == 0) {
        /* (Re)load the base unless the previous step left a fresh one. */
        if (!have_base) {
            rc = catalog_table_load(cat, store, CATALOG_NAMESPACE, tn, &base, eb);
            if (rc)
                break;
            have_base = true;
            if ((rc = meta_pos(&base.meta, &pos, eb)))
                break;
        }
        /* The batch: per writer, a prefix of the cover set not yet covered, under the cap. */
        uint64_t est = 0;
        size_t nbatch = 0;
        const char *stop_writer = NULL;
        for (size_t i = 0; i < cover.n; i++) {
            const ig_wal_seg *s = &cover.segs[i];
            taken[i] = false;
            if (s->seq <= ig_wal_pos_get(&pos, s->writer))
                continue;
            if (stop_writer && !strcmp(stop_writer, s->writer))
                continue;
            if (nbatch && est + seg_mem_estimate(s, ratio) > mem) {
                stop_writer = s->writer; /* keep each writer's part a prefix */
                continue;
            }
            stop_writer = NULL;
            est += seg_mem_estimate(s, ratio);
            taken[i] = true;
            nbatch++;
        }
        if (!nbatch)
            break;
        /* Hard cap on the decoded rows: the budget, or twice the estimate when a single
         * segment is larger than the budget (a batch has at least one segment). */
        uint64_t hard = (mem > 2 * est ? mem : 2 * est) + ((uint64_t)64 << 20);
        batch b;
        batch_init(&b, t, hard);
        written w = {0};
        ig_arena_init(&w.a, 0);
        uint64_t segs = 0, seg_bytes = 0;
        bool vanished = false, shrink = false;
        for (size_t i = 0; rc == 0 && i < cover.n; i++) {
            if (!taken[i])
                continue;
            rc = read_segment_named(store, &b, cover.segs[i].key, eb);
            if (rc == IG_ENOENT) {
                vanished = true; /* another shift covered and deleted it: re-derive */
                rc = 0;
                break;
            }
            if (rc == IG_ETOOBIG && nbatch > 1 && ratio < 65536) {
                shrink = true; /* the estimate was low: a smaller batch, nothing written yet */
                rc = 0;
                break;
            }
            segs++;
            seg_bytes += cover.segs[i].size;
        }
        if (shrink) {
            batch_free(&b);
            ig_arena_free(&w.a);
            ratio *= 4;
            continue; /* same base, smaller batch */
        }
        if (b.rows)
            b.bytes_per_row = (double)seg_bytes / (double)b.rows;
        if (rc == 0 && seg_bytes) {
            /* learn the ratio for the next batch (at least what this one needed) */
            double r = (double)(b.arena.used + b.colbytes) / (double)seg_bytes * 1.25;
            ratio = r > 8 ? r : 8;
        }
        int64_t sid = 0;
        if (rc == 0 && !vanished && (rc = ice_snapshot_id_new(&sid)) != 0)
            rc = ig_err(eb, rc, "shift: no random bytes");
        for (size_t k = 0; rc == 0 && !vanished && k < b.nb; k++) {
            bucket *bk = b.blist[k];
            qsort_r(bk->rows, bk->n, sizeof *bk->rows, cmp_srow, &b);
            size_t from = 0;
            while (rc == 0 && from < bk->n)
                rc = write_file(store, &b, bk, bk->rows, from, &from, o,
                                base.meta.current_schema_json, &w, eb);
        }
        /* the manifest of the new files */
        ig_buf mbuf, mkey, muri;
        ig_buf_init(&mbuf, (size_t)256 << 20);
        ig_buf_init(&mkey, 1024);
        ig_buf_init(&muri, 4096);
        ig_mf_summary msum;
        memset(&msum, 0, sizeof msum);
        bool manifest_written = false;
        if (rc == 0 && !vanished) {
            ig_manifest_writer_opts mo = {0};
            mo.schema_json = base.meta.current_schema_json;
            mo.schema_id = base.meta.current_schema_id;
            mo.spec_json = base.meta.default_spec_json;
            mo.spec_id = base.meta.default_spec_id;
            mo.format_version = 2;
            mo.content = IG_MF_CONTENT_DATA;
            mo.codec = AVRO_CODEC_DEFLATE;
            ig_manifest_writer *mw = NULL;
            rc = ig_manifest_writer_new(&mo, &mw, eb);
            for (size_t i = 0; rc == 0 && i < w.n; i++) {
                ig_mf_entry e = {0};
                e.status = IG_MF_ADDED;
                e.has_snapshot_id = true;
                e.snapshot_id = sid;
                e.file = w.files[i];
                rc = ig_manifest_writer_add(mw, &e, eb);
            }
            if (rc == 0)
                rc = ig_manifest_writer_finish(mw, &mbuf, &msum, eb);
            ig_manifest_writer_free(mw);
            char uuid[37];
            if (rc == 0 && (rc = ice_uuid4(uuid)) != 0)
                rc = ig_err(eb, rc, "shift: no random bytes");
            if (rc == 0)
                rc = ig_buf_printf(&mkey, "icegate/%s/metadata/%s-m0.avro", tn, uuid);
            if (rc == 0)
                rc = ig_store_put_if_absent(store, mkey.data, mbuf.data, mbuf.len, eb);
            manifest_written = rc == 0;
            if (rc == 0)
                rc = ig_store_uri(store, mkey.data, &muri);
        }
        if (rc == 0 && !vanished)
            ig_failpoint("shift-after-data");
        /* new position: the base's raised by the batch */
        bool abandoned = vanished;
        int attempt = 0;
        while (rc == 0 && !abandoned) {
            newpos.n = 0;
            for (size_t i = 0; rc == 0 && i < pos.n; i++)
                rc = ig_wal_pos_set(&newpos, pos.e[i].writer, pos.e[i].seq);
            for (size_t i = 0; rc == 0 && i < cover.n; i++)
                if (taken[i] && cover.segs[i].seq > ig_wal_pos_get(&newpos, cover.segs[i].writer))
                    rc = ig_wal_pos_set(&newpos, cover.segs[i].writer, cover.segs[i].seq);
            if (rc)
                break;
            rc = commit_once(cat, store, t, &base, sid, attempt, ig_buf_str(&muri), &msum,
                             (int64_t)mbuf.len, &newpos, &w, ig_now_ns() / IG_NS_PER_MS, eb);
            if (rc != IG_ECONFLICT)
                break;
            res->conflicts++;
            if (++attempt >= SHIFT_RETRIES) {
                rc = ig_err(eb, IG_ECONFLICT, "shift %s: %d commits lost the race in a row", tn,
                            attempt);
                break;
            }
            usleep((useconds_t)(1000 * attempt * attempt));
            catalog_table_free(&base);
            have_base = false;
            rc = catalog_table_load(cat, store, CATALOG_NAMESPACE, tn, &base, eb);
            if (rc)
                break;
            have_base = true;
            if ((rc = meta_pos(&base.meta, &pos, eb)))
                break;
            /* the winner covered part of this batch: these files would duplicate rows */
            for (size_t i = 0; i < cover.n; i++)
                if (taken[i] && cover.segs[i].seq <= ig_wal_pos_get(&pos, cover.segs[i].writer))
                    abandoned = true;
        }
        if (rc == 0 && !abandoned) {
            ig_failpoint("shift-after-commit");
            res->segments += segs;
            res->rows += w.rows;
            res->files += w.n;
            res->bytes += w.bytes;
            res->commits++;
            ig_log(IG_LOG_INFO, "shift committed", "table", tn, NULL);
        } else if (abandoned || rc == IG_ECONFLICT) {
            /* nothing references this batch's files (the compare-and-swap failed) */
            delete_written(store, &w);
            if (manifest_written)
                (void)ig_store_delete(store, mkey.data, NULL);
        }
        /* else: the outcome of the swap may be unknown; keep the files (remove-orphans) */
        ig_mf_summary_free(&msum);
        ig_buf_free(&mbuf);
        ig_buf_free(&mkey);
        ig_buf_free(&muri);
        ig_arena_free(&w.a);
        batch_free(&b);
        if (rc)
            break;
        if (abandoned && ++restarts > SHIFT_RETRIES) {
            rc = ig_err(eb, IG_ECONFLICT, "shift %s: concurrent shifts kept covering this run",
                        tn);
            break;
        }
        /* next batch (or the re-derived one) on a fresh base */
        catalog_table_free(&base);
        have_base = false;
    }
    if (have_base)
        catalog_table_free(&base);
    ig_free(taken);
    ig_wal_seglist_free(&cover);
    ig_wal_pos_free(&pos);
    ig_wal_pos_free(&newpos);
    if (rc == 0) {
        int64_t now = o->now_ns ? o->now_ns : ig_now_ns();
        rc = delete_wal(cat, store, t, o, now, res, eb);
    }
    return rc;
}

int ig_shift_run(catalog *cat, ig_store *store, const ig_shift_opts *o, ig_shift_result *res,
                 ig_errbuf *eb)
{
    memset(res, 0, sizeof *res);
    int64_t t0 = ig_mono_ns();
    int rc = 0;
    /* Every table is tried: one table that cannot be shifted does not hold back the others.
     * The first error is returned (its message in eb). */
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        ig_errbuf teb = {{0}};
        int trc = ig_shift_table(cat, store, (ig_table_id)t, o, res, &teb);
        if (trc && rc == 0) {
            rc = trc;
            if (!strstr(teb.msg, ig_table_name((ig_table_id)t)))
                ig_err(eb, rc, "table %s: %s", ig_table_name((ig_table_id)t), teb.msg);
            else
                ig_err(eb, rc, "%s", teb.msg);
        }
    }
    res->duration_ns = ig_mono_ns() - t0;
    return rc;
}
