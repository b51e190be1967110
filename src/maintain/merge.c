/* Streaming k-way merge of sorted data files, for compaction: each input is read through
 * ranged reads one window of rows at a time, the smallest head row (table sort order,
 * ties to the earlier input: stable) goes to the output, and the output rolls over to a
 * new file at the target size. Memory: n windows of decoded rows plus the writer's row
 * group. See mj_internal.h. */
#include <string.h>

#include "icegate/alloc.h"
#include "maintain/mj_internal.h"

typedef struct cursor {
    pq_file *f;
    size_t rg;     /* current row group */
    int64_t pos;   /* next row of rg to load */
    ig_arena a[2]; /* windows alternate: the previous row stays valid for the check */
    mj__rows win[2];
    int cur;
    size_t wpos;
    const pq_value *prev; /* last row taken: inputs must be sorted */
    bool eof;
} cursor;

typedef struct merger {
    ig_table_id t;
    size_t ncols;
    size_t window;
    pq_colvec *vecs;
    pq_colvec **ptrs;
    ig_arena scratch;
    mj__sort sort;
    cursor *cs;
    size_t n;
    size_t *heap;
    size_t nheap;
} merger;

typedef struct win_ctx {
    ig_arena *a;
    mj__rows *out;
} win_ctx;

static int win_emit(void *ctx, const pq_value *row)
{
    win_ctx *w = ctx;
    mj__rows *o = w->out;
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 256;
        pq_value **p = ig_realloc(o->rows, nc * sizeof *p);
        if (!p)
            return IG_ENOMEM;
        o->rows = p;
        o->cap = nc;
    }
    pq_value *v = mj__copy_row(w->a, row);
    if (!v)
        return IG_ENOMEM;
    o->rows[o->n++] = v;
    return 0;
}

/* Loads the next window of rows of c (c->eof at the end). */
static int load_window(merger *m, cursor *c, ig_errbuf *eb)
{
    for (;;) {
        if (c->rg >= c->f->nrgs) {
            c->eof = true;
            return 0;
        }
        if (c->pos < c->f->rgs[c->rg].num_rows)
            break;
        c->rg++;
        c->pos = 0;
    }
    int nx = c->cur ^ 1;
    ig_arena_reset(&c->a[nx]);
    c->win[nx].n = 0;
    int64_t end = c->pos + (int64_t)m->window;
    if (end > c->f->rgs[c->rg].num_rows)
        end = c->f->rgs[c->rg].num_rows;
    pq_rowsel sel = {0};
    int rc = pq_rowsel_add(&sel, c->pos, end);
    for (size_t col = 0; rc == 0 && col < m->ncols; col++)
        rc = pq_read_column(c->f, c->rg, col, &sel, 0, &m->vecs[col], eb);
    win_ctx wc = {&c->a[nx], &c->win[nx]};
    if (rc == 0)
        rc = pq_assemble(c->f->schema, m->ptrs, &m->scratch, win_emit, &wc, eb);
    pq_rowsel_free(&sel);
    if (rc)
        return rc;
    if (c->win[nx].n != (size_t)(end - c->pos))
        return ig_err(eb, IG_ECORRUPT, "merge: a window of %lld rows gave %zu",
                      (long long)(end - c->pos), c->win[nx].n);
    c->pos = end;
    c->cur = nx;
    c->wpos = 0;
    return 0;
}

static const pq_value *head(const cursor *c)
{
    return c->win[c->cur].rows[c->wpos];
}

/* Moves past the head row; IG_EAGAIN when the input turns out not to be sorted. */
static int advance(merger *m, cursor *c, ig_errbuf *eb)
{
    c->prev = head(c);
    if (++c->wpos < c->win[c->cur].n)
        return mj__cmp_rows(&m->sort, c->prev, head(c)) > 0 ? IG_EAGAIN : 0;
    int rc = load_window(m, c, eb);
    if (rc || c->eof)
        return rc;
    return mj__cmp_rows(&m->sort, c->prev, head(c)) > 0 ? IG_EAGAIN : 0;
}

static bool less(const merger *m, size_t a, size_t b)
{
    int r = mj__cmp_rows(&m->sort, head(&m->cs[a]), head(&m->cs[b]));
    return r < 0 || (r == 0 && a < b);
}

static void sift_down(merger *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->nheap && less(m, m->heap[l], m->heap[s]))
            s = l;
        if (r < m->nheap && less(m, m->heap[r], m->heap[s]))
            s = r;
        if (s == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
}

int mj__merge_files(ig_store *store, ig_table_id t, const mj__file *const *fs, size_t n,
                    uint64_t target, size_t rg_rows, size_t window, ig_arena *ja,
                    ig_mf_data_file **out, size_t *nout, uint64_t *rows, ig_errbuf *eb)
{
    *out = NULL;
    *nout = 0;
    merger m = {.t = t, .window = window ? window : 1024, .n = n};
    m.ncols = ig_table_schema(t)->ncols;
    ig_arena_init(&m.scratch, (size_t)256 << 20);
    m.vecs = ig_calloc(m.ncols, sizeof *m.vecs);
    m.ptrs = ig_calloc(m.ncols, sizeof *m.ptrs);
    m.cs = ig_calloc(n, sizeof *m.cs);
    m.heap = ig_calloc(n, sizeof *m.heap);
    int64_t want = 0;
    for (size_t i = 0; i < n; i++)
        want += fs[i]->e.file.record_count;
    size_t maxout = 16; /* grows */
    ig_mf_data_file *res = ig_malloc(maxout * sizeof *res);
    mj__dfw d;
    bool open = false;
    size_t nres = 0;
    int64_t count = 0;
    int rc = 0;
    if (!m.vecs || !m.ptrs || !m.cs || !m.heap || !res) {
        rc = IG_ENOMEM;
        goto done;
    }
    for (size_t c = 0; c < m.ncols; c++) {
        pq_colvec_init(&m.vecs[c]);
        m.ptrs[c] = &m.vecs[c];
    }
    if ((rc = mj__sort_init(t, &m.sort)))
        goto done;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cursor *c = &m.cs[i];
        ig_arena_init(&c->a[0], (size_t)2 << 30);
        ig_arena_init(&c->a[1], (size_t)2 << 30);
        c->cur = 1; /* the first window goes to arena 0 */
        rc = mj__open_data_file(store, t, fs[i]->e.file.path, &c->f, eb);
        if (rc == 0)
            rc = load_window(&m, c, eb);
        if (rc == 0 && !c->eof)
            m.heap[m.nheap++] = i;
    }
    for (size_t i = m.nheap; rc == 0 && i-- > 0;)
        sift_down(&m, i);
    while (rc == 0 && m.nheap) {
        cursor *c = &m.cs[m.heap[0]];
        if (!open) {
            if (nres == maxout) {
                ig_mf_data_file *p = ig_realloc(res, 2 * maxout * sizeof *res);
                if (!p) {
                    rc = IG_ENOMEM;
                    break;
                }
                res = p;
                maxout *= 2;
            }
            if ((rc = mj__dfw_open(&d, store, t, fs[0], rg_rows, eb)))
                break;
            open = true;
        }
        if ((rc = mj__dfw_add(&d, head(c), eb)))
            break;
        count++;
        if ((rc = advance(&m, c, eb)))
            break;
        if (c->eof)
            m.heap[0] = m.heap[--m.nheap];
        sift_down(&m, 0);
        /* roll over at the target (the file grows a row group at a time) */
        if (target && pq_writer_bytes_written(d.w) >= target) {
            rc = mj__dfw_finish(&d, store, ja, &res[nres], eb);
            mj__dfw_free(&d);
            open = false;
            if (rc)
                break;
            nres++;
        }
    }
    if (rc == 0 && open) {
        rc = mj__dfw_finish(&d, store, ja, &res[nres], eb);
        if (rc == 0)
            nres++;
    }
    if (open)
        mj__dfw_free(&d);
    if (rc == 0 && count != want)
        rc = ig_err(eb, IG_ECORRUPT, "merge: files hold %lld rows, their manifest entries say %lld",
                    (long long)count, (long long)want);
done:
    if (rc) {
        for (size_t i = 0; i < nres; i++) /* unreferenced: nothing committed yet */
            mj__delete_uri(store, res[i].path, NULL, NULL);
        nres = 0;
    }
    for (size_t i = 0; m.cs && i < n; i++) {
        if (m.cs[i].f)
            pq_close(m.cs[i].f);
        for (int k = 0; k < 2; k++) {
            ig_arena_free(&m.cs[i].a[k]);
            mj__rows_free(&m.cs[i].win[k]);
        }
    }
    for (size_t c = 0; m.vecs && c < m.ncols; c++)
        pq_colvec_free(&m.vecs[c]);
    ig_free(m.vecs);
    ig_free(m.ptrs);
    ig_free(m.cs);
    ig_free(m.heap);
    ig_arena_free(&m.scratch);
    if (rc == 0 && nres) {
        /* the entries themselves point into ja already; the array moves there too */
        ig_mf_data_file *keep = ig_arena_alloc(ja, nres * sizeof *keep);
        if (!keep) {
            for (size_t i = 0; i < nres; i++)
                mj__delete_uri(store, res[i].path, NULL, NULL);
            rc = IG_ENOMEM;
        } else {
            memcpy(keep, res, nres * sizeof *keep);
            *out = keep;
            *nout = nres;
        }
    }
    if (rc == 0)
        *rows += (uint64_t)count;
    ig_free(res);
    return rc;
}
