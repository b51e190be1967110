/* compact: merge the small files of each (tenant, account, day) partition into sorted
 * target-size files, one `replace` commit. Design note: docs/iceberg.md §8.4. */
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/log.h"
#include "icegate/maintain.h"
#include "maintain/mj_internal.h"

/* One batch: small files of one partition merged into new files. */
typedef struct batch {
    ig_str *old; /* full URIs of the files it replaces (in the job arena) */
    size_t nold;
    ig_mf_data_file *nf; /* the new files (in the job arena) */
    size_t nnf;
    bool dropped; /* no longer valid (a replaced file is gone): not committed */
} batch;

#define MERGE_MAX_FILES 256 /* inputs of one streaming merge */
#define MERGE_MAX_TARGETS 8 /* input bytes of one streaming merge, in target sizes */

typedef struct part_ref {
    const mj__file *f;
} part_ref;

static int cmp_ig_str_null(ig_str a, ig_str b)
{
    if (!a.ptr || !b.ptr)
        return (a.ptr != NULL) - (b.ptr != NULL);
    return ig_str_cmp(a, b);
}

/* partition, then path: groups the files of a partition together in a stable order */
static int cmp_part(const void *x, const void *y)
{
    const mj__file *a = ((const part_ref *)x)->f, *b = ((const part_ref *)y)->f;
    int c = ig_str_cmp(a->tenant, b->tenant);
    if (!c)
        c = cmp_ig_str_null(a->account, b->account);
    if (!c)
        c = a->day < b->day ? -1 : a->day > b->day;
    if (!c)
        c = ig_str_cmp(a->e.file.path, b->e.file.path);
    return c;
}

static bool same_part(const mj__file *a, const mj__file *b)
{
    return ig_str_eq(a->tenant, b->tenant) && !cmp_ig_str_null(a->account, b->account) &&
           a->has_day == b->has_day && a->day == b->day;
}

/* Decoded memory a file needs as row trees: a pq_value per leaf value (nulls included,
 * from the manifest's value counts) and per top-level field of each row, plus its bytes
 * several times over for decompressed strings. Without metrics: a pessimistic ratio. */
static uint64_t est_memory(const mj__file *f, size_t ntop)
{
    uint64_t values = 0;
    for (size_t i = 0; i < f->e.file.nmetrics; i++)
        if (f->e.file.metrics[i].value_count > 0)
            values += (uint64_t)f->e.file.metrics[i].value_count;
    if (!values)
        return (uint64_t)f->e.file.file_size * 64;
    values += (uint64_t)f->e.file.record_count * ntop;
    return values * sizeof(pq_value) + (uint64_t)f->e.file.file_size * 8;
}

/* The URIs of a batch's inputs, copied into the job arena. */
static int set_old(ig_arena *ja, const mj__file *const *fs, size_t n, batch *b)
{
    b->old = ig_arena_alloc(ja, n * sizeof *b->old);
    if (!b->old)
        return IG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        b->old[i] = ig_arena_strdup(ja, fs[i]->e.file.path);
        if (!b->old[i].ptr)
            return IG_ENOMEM;
    }
    b->nold = n;
    return 0;
}

/* The in-memory path (inputs not sorted): reads one batch whole, sorts it, writes one
 * file; fills b. */
static int run_batch(ig_store *store, ig_table_id table, const mj__file *const *fs, size_t n,
                     uint64_t max_memory, size_t rg_rows, ig_arena *ja, batch *b,
                     uint64_t *rows_out, ig_errbuf *eb)
{
    ig_arena ra;
    ig_arena_init(&ra, (size_t)max_memory * 2); /* slack over the estimate */
    mj__rows rows = {0};
    int64_t want = 0;
    int rc = set_old(ja, fs, n, b);
    b->nf = ig_arena_alloc(ja, sizeof *b->nf);
    if (rc == 0 && !b->nf)
        rc = IG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        want += fs[i]->e.file.record_count;
        rc = mj__read_rows(store, table, fs[i]->e.file.path, &ra, &rows, eb);
    }
    if (rc == 0 && (int64_t)rows.n != want)
        rc = ig_err(eb, IG_ECORRUPT,
                    "compact %s: files hold %zu rows, their manifest entries say %lld",
                    ig_table_name(table), rows.n, (long long)want);
    if (rc == 0)
        rc = mj__sort_rows(table, &rows);
    if (rc == 0)
        rc = mj__write_data_file(store, table, fs[0], rows.rows, rows.n, rg_rows, ja, b->nf, NULL,
                                 eb);
    if (rc == 0) {
        b->nnf = 1;
        *rows_out += rows.n;
    }
    mj__rows_free(&rows);
    ig_arena_free(&ra);
    return rc;
}

/* In-memory batches over fs (greedy: at most `target` input bytes and `max_memory`
 * decoded, estimated; at least two files each), appended to bs. */
static int fallback(ig_store *store, ig_table_id table, const mj__file *const *fs, size_t n,
                    uint64_t target, uint64_t max_memory, size_t rg_rows, size_t ntop, ig_arena *ja,
                    batch *bs, size_t *nb, uint64_t *rows, uint64_t *skipped, ig_errbuf *eb)
{
    const mj__file **sel = ig_malloc(n * sizeof *sel);
    if (!sel)
        return IG_ENOMEM;
    int rc = 0;
    size_t k = 0;
    while (rc == 0 && k < n) {
        size_t ns = 0;
        uint64_t bytes = 0, mem = 0;
        while (k < n) {
            uint64_t fb = (uint64_t)fs[k]->e.file.file_size;
            uint64_t fm = est_memory(fs[k], ntop);
            if (ns && (bytes + fb > target || mem + fm > max_memory))
                break;
            if (!ns && fm > max_memory / 2) {
                k++; /* too big to merge with anything within the memory cap */
                continue;
            }
            bytes += fb;
            mem += fm;
            sel[ns++] = fs[k++];
        }
        if (ns < 2)
            continue;
        ig_errbuf be = {{0}};
        rc = run_batch(store, table, sel, ns, max_memory, rg_rows, ja, &bs[*nb], rows, &be);
        if (rc == 0) {
            (*nb)++;
        } else if (rc == IG_ENOMEM || rc == IG_ETOOBIG || rc == IG_EUNSUPPORTED) {
            ig_log(IG_LOG_WARN, "compact: batch skipped", "table", ig_table_name(table), "error",
                   be.msg[0] ? be.msg : ig_strerror(rc), NULL);
            (*skipped)++;
            rc = 0;
        } else if (eb) {
            *eb = be;
        }
    }
    ig_free(sel);
    return rc;
}

/* Plans and writes the batches of the view. */
static int plan(ig_store *store, ig_table_id table, const mj__view *v, uint64_t target,
                uint32_t min_files, uint64_t max_memory, size_t rg_rows, ig_arena *ja, batch **out,
                size_t *nout, uint64_t *rows, uint64_t *skipped, ig_errbuf *eb)
{
    *out = NULL;
    *nout = 0;
    if (!v->nfiles)
        return 0;
    part_ref *refs = ig_malloc(v->nfiles * sizeof *refs);
    const mj__file **sel = ig_malloc(v->nfiles * sizeof *sel);
    batch *bs = ig_calloc(v->nfiles, sizeof *bs);
    if (!refs || !sel || !bs) {
        ig_free(refs);
        ig_free(sel);
        ig_free(bs);
        return IG_ENOMEM;
    }
    size_t nr = 0;
    for (size_t i = 0; i < v->nfiles; i++)
        if ((uint64_t)v->files[i].e.file.file_size < target && v->files[i].has_day)
            refs[nr++].f = &v->files[i];
    qsort(refs, nr, sizeof *refs, cmp_part);
    size_t nb = 0;
    int rc = 0;
    size_t ntop = 0;
    ig_table_fields(table, &ntop);
    for (size_t i = 0; rc == 0 && i < nr;) {
        size_t j = i;
        while (j < nr && same_part(refs[i].f, refs[j].f))
            j++;
        if (j - i >= min_files) {
            /* streaming merges of up to MERGE_MAX_FILES inputs and MERGE_MAX_TARGETS
             * targets of input bytes (at least two files each) */
            size_t k = i;
            while (rc == 0 && k < j) {
                size_t ns = 0;
                uint64_t bytes = 0, mem = 0;
                while (k < j && ns < MERGE_MAX_FILES) {
                    uint64_t fb = (uint64_t)refs[k].f->e.file.file_size;
                    if (ns >= 2 && bytes + fb > target * MERGE_MAX_TARGETS)
                        break;
                    bytes += fb;
                    mem += est_memory(refs[k].f, ntop) /
                           (refs[k].f->e.file.record_count > 0
                                ? (uint64_t)refs[k].f->e.file.record_count
                                : 1);
                    sel[ns++] = refs[k++].f;
                }
                if (ns < 2)
                    continue;
                /* window: the memory cap shared by the inputs (mem = sum of row sizes) */
                uint64_t w = max_memory / (2 * (mem ? mem : 1));
                size_t window = w < 64 ? 64 : w > 65536 ? 65536 : (size_t)w;
                ig_errbuf be = {{0}};
                batch *b = &bs[nb];
                rc = set_old(ja, sel, ns, b);
                if (rc == 0)
                    rc = mj__merge_files(store, table, sel, ns, target, rg_rows, window, ja, &b->nf,
                                         &b->nnf, rows, &be);
                if (rc == 0) {
                    nb++;
                } else if (rc == IG_EAGAIN) {
                    /* an input is not in the table's order: sort in memory instead */
                    ig_log(IG_LOG_WARN, "compact: an input is not sorted, merging in memory",
                           "table", ig_table_name(table), NULL);
                    rc = fallback(store, table, sel, ns, target, max_memory, rg_rows, ntop, ja, bs,
                                  &nb, rows, skipped, eb);
                } else if (rc == IG_ENOMEM || rc == IG_ETOOBIG || rc == IG_EUNSUPPORTED) {
                    /* a file not in the table's layout (written by another engine), or
                     * out of memory: leave this batch as it is */
                    ig_log(IG_LOG_WARN, "compact: batch skipped", "table", ig_table_name(table),
                           "error", be.msg[0] ? be.msg : ig_strerror(rc), NULL);
                    (*skipped)++;
                    rc = 0;
                } else if (eb) {
                    *eb = be;
                }
            }
        }
        i = j;
    }
    ig_free(refs);
    ig_free(sel);
    if (rc) {
        /* nothing committed: the files written so far are orphans already; delete them */
        for (size_t i = 0; i < nb; i++)
            for (size_t k = 0; k < bs[i].nnf; k++)
                mj__delete_uri(store, bs[i].nf[k].path, NULL, NULL);
        ig_free(bs);
        return rc;
    }
    *out = bs;
    *nout = nb;
    return 0;
}

static bool live_in(const mj__view *v, const ig_map *live, const batch *b)
{
    (void)v;
    for (size_t i = 0; i < b->nold; i++)
        if (!ig_map_find(live, b->old[i]))
            return false;
    return true;
}

int ig_mj_compact(catalog *cat, ig_store *store, ig_table_id table, const ig_mj_compact_opts *opts,
                  ig_mj_result *res, ig_errbuf *eb)
{
    ig_mj_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    ig_mj_compact_opts o = {0};
    if (opts)
        o = *opts;
    uint64_t target = o.target_bytes ? o.target_bytes : (uint64_t)128 << 20;
    uint32_t min_files = o.min_files >= 2 ? o.min_files : 2;
    uint32_t merge_at = o.merge_manifests_at ? o.merge_manifests_at : 16;
    uint64_t max_memory = o.max_memory ? o.max_memory : (uint64_t)1 << 30;
    size_t rg_rows = o.row_group_rows ? o.row_group_rows : 65536;
    const char *tname = ig_table_name(table);
    ig_arena ja; /* the batches and their new files' entries: live across retries */
    ig_arena_init(&ja, (size_t)1 << 30);
    batch *bs = NULL;
    size_t nb = 0;
    uint64_t rows = 0;
    int rc = 0;
    bool planned = false;
    for (int attempt = 0; attempt < IG_MJ_RETRIES; attempt++) {
        catalog_table t;
        if ((rc = catalog_table_load(cat, store, MJ_NS, tname, &t, eb)))
            break;
        mj__view v;
        ig_map live, remove;
        ig_map_init(&live, 0);
        ig_map_init(&remove, 0);
        ig_mf_data_file *adds = NULL;
        size_t nadd = 0;
        if ((rc = mj__view_load(store, &t.meta, &v, eb)))
            goto next;
        if (!planned) {
            planned = true;
            if ((rc = plan(store, table, &v, target, min_files, max_memory, rg_rows, &ja, &bs, &nb,
                           &rows, &res->partitions_skipped, eb)))
                goto next;
            if (nb)
                ig_failpoint("compact-after-data"); /* crash tests: data files written */
            if (o.before_commit && nb && (rc = o.before_commit(o.hook_ctx)))
                goto next; /* the simulated crash: files written, nothing committed */
        } else {
            /* re-validate after a lost swap: a batch whose files are not all live any more
             * (another compaction or retention replaced them) is dropped from this run */
            for (size_t i = 0; rc == 0 && i < v.nfiles; i++)
                rc = ig_map_put(&live, v.files[i].e.file.path, (void *)1, NULL);
            for (size_t i = 0; rc == 0 && i < nb; i++)
                if (!bs[i].dropped && !live_in(&v, &live, &bs[i])) {
                    bs[i].dropped = true;
                    res->partitions_skipped++;
                    for (size_t k = 0; k < bs[i].nnf; k++)
                        mj__delete_uri(store, bs[i].nf[k].path, NULL, NULL);
                }
            if (rc)
                goto next;
        }
        size_t total = 1;
        for (size_t i = 0; i < nb; i++)
            total += bs[i].nnf;
        adds = ig_malloc(total * sizeof *adds);
        if (!adds) {
            rc = IG_ENOMEM;
            goto next;
        }
        for (size_t i = 0; rc == 0 && i < nb; i++) {
            if (bs[i].dropped)
                continue;
            for (size_t k = 0; k < bs[i].nnf; k++)
                adds[nadd++] = bs[i].nf[k];
            for (size_t k = 0; rc == 0 && k < bs[i].nold; k++)
                rc = ig_map_put(&remove, bs[i].old[k], (void *)1, NULL);
        }
        bool merge = v.nmanifests >= merge_at;
        if (rc || (!nadd && !merge))
            goto next; /* nothing to do */
        mj__rewrite rw = {.operation = "replace",
                          .remove = &remove,
                          .add = adds,
                          .nadd = nadd,
                          .merge_all = merge,
                          .failpoint = "compact-before-commit"};
        rc = mj__commit_rewrite(cat, store, tname, &t, &v, &rw, eb);
        if (rc == IG_ETOOBIG && merge && nadd) {
            /* all manifests in one would be too big: commit the batches alone */
            ig_log(IG_LOG_WARN, "compact: manifests too big to merge into one", "table", tname,
                   NULL);
            rw.merge_all = false;
            rc = mj__commit_rewrite(cat, store, tname, &t, &v, &rw, eb);
        } else if (rc == IG_ETOOBIG && merge) {
            /* a manifest-only run that cannot be done: nothing changed */
            ig_log(IG_LOG_WARN, "compact: manifests too big to merge into one", "table", tname,
                   NULL);
            rc = 0;
            goto next;
        }
        if (rc == 0)
            ig_failpoint("compact-after-commit");
        if (rc == 0) {
            res->commits++;
            res->files_removed = remove.count;
            res->files_added = nadd;
            res->rows_rewritten = 0;
            for (size_t i = 0; i < nb; i++)
                for (size_t k = 0; !bs[i].dropped && k < bs[i].nnf; k++)
                    res->rows_rewritten += (uint64_t)bs[i].nf[k].record_count;
        }
    next:
        ig_free(adds);
        ig_map_free(&live);
        ig_map_free(&remove);
        mj__view_free(&v);
        catalog_table_free(&t);
        if (rc != IG_ECONFLICT)
            break;
        res->conflicts++;
        mj__backoff(attempt);
    }
    if (rc == IG_ECONFLICT)
        rc = ig_err(eb, IG_ECONFLICT, "table %s: compact lost %d commits in a row", tname,
                    IG_MJ_RETRIES);
    (void)rows;
    ig_free(bs);
    ig_arena_free(&ja);
    return rc;
}
