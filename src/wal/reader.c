/* WAL readers: segment keys, positions, listing after a position, opening a segment,
 * footer row-group facts, and the shift job's deleter (docs/wal.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/json.h"
#include "icegate/wal.h"
#include "wal/wal_internal.h"

#define SEQ_DIGITS 20
#define LIST_PAGE 1000

static bool writer_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool writer_valid_n(const char *s, size_t n)
{
    if (n == 0 || n > IG_WAL_WRITER_MAX || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!writer_char(s[i]))
            return false;
    return true;
}

bool ig_wal_writer_valid(const char *s)
{
    return s && writer_valid_n(s, strlen(s));
}

bool ig_wal_parse_key(const char *key, ig_table_id *table, char *writer, uint64_t *seq)
{
    if (strncmp(key, "wal/", 4) != 0)
        return false;
    const char *p = key + 4;
    const char *slash = strchr(p, '/');
    if (!slash)
        return false;
    int t = ig_table_by_name(ig_str_make(p, (size_t)(slash - p)));
    if (t < 0)
        return false;
    p = slash + 1;
    slash = strchr(p, '/');
    if (!slash || !writer_valid_n(p, (size_t)(slash - p)))
        return false;
    size_t wl = (size_t)(slash - p);
    const char *d = slash + 1;
    uint64_t v = 0;
    for (int i = 0; i < SEQ_DIGITS; i++) {
        if (d[i] < '0' || d[i] > '9')
            return false;
        uint64_t nv = v * 10 + (uint64_t)(d[i] - '0');
        if (nv / 10 != v) /* overflow past UINT64_MAX */
            return false;
        v = nv;
    }
    if (strcmp(d + SEQ_DIGITS, ".parquet") != 0)
        return false;
    if (table)
        *table = (ig_table_id)t;
    if (writer) {
        memcpy(writer, p, wl);
        writer[wl] = 0;
    }
    if (seq)
        *seq = v;
    return true;
}

/* ---- positions -------------------------------------------------------------------- */

void ig_wal_pos_free(ig_wal_pos *p)
{
    ig_free(p->e);
    p->e = NULL;
    p->n = p->cap = 0;
}

/* Index of writer in p, or the insertion point negated minus one. */
static long pos_find(const ig_wal_pos *p, const char *writer)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(p->e[mid].writer, writer);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

int ig_wal_pos_set(ig_wal_pos *p, const char *writer, uint64_t seq)
{
    if (!ig_wal_writer_valid(writer))
        return IG_EINVAL;
    long i = pos_find(p, writer);
    if (i >= 0) {
        p->e[i].seq = seq;
        return 0;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        ig_wal_pos_entry *e = ig_realloc(p->e, nc * sizeof *e);
        if (!e)
            return IG_ENOMEM;
        p->e = e;
        p->cap = nc;
    }
    size_t at = (size_t)(-i - 1);
    memmove(&p->e[at + 1], &p->e[at], (p->n - at) * sizeof *p->e);
    snprintf(p->e[at].writer, sizeof p->e[at].writer, "%s", writer);
    p->e[at].seq = seq;
    p->n++;
    return 0;
}

uint64_t ig_wal_pos_get(const ig_wal_pos *p, const char *writer)
{
    if (!p)
        return 0;
    long i = pos_find(p, writer);
    return i >= 0 ? p->e[i].seq : 0;
}

int ig_wal_pos_format(const ig_wal_pos *p, ig_buf *out)
{
    for (size_t i = 0; i < p->n; i++) {
        int rc = ig_buf_printf(out, "%s%s:%llu", i ? "," : "", p->e[i].writer,
                               (unsigned long long)p->e[i].seq);
        if (rc)
            return rc;
    }
    return ig_buf_append(out, "", 0);
}

int ig_wal_pos_parse(ig_str s, ig_wal_pos *p, ig_errbuf *eb)
{
    p->n = 0;
    size_t i = 0;
    while (i < s.len) {
        size_t j = i;
        while (j < s.len && s.ptr[j] != ',')
            j++;
        ig_str item = ig_str_make(s.ptr + i, j - i);
        long colon = ig_str_index(item, ':');
        if (colon <= 0 || !writer_valid_n(item.ptr, (size_t)colon))
            return ig_err(eb, IG_EINVAL, "wal position: bad entry \"%.*s\" (want writer:seq)",
                          (int)(item.len > 80 ? 80 : item.len), item.ptr);
        int64_t v;
        ig_str num = ig_str_make(item.ptr + colon + 1, item.len - (size_t)colon - 1);
        if (num.len == 0 || num.ptr[0] == '-' || num.ptr[0] == '+' || ig_str_to_i64(num, &v) != 0)
            return ig_err(eb, IG_EINVAL, "wal position: bad sequence number in \"%.*s\"",
                          (int)(item.len > 80 ? 80 : item.len), item.ptr);
        char w[IG_WAL_WRITER_MAX + 1];
        memcpy(w, item.ptr, (size_t)colon);
        w[colon] = 0;
        if (pos_find(p, w) >= 0)
            return ig_err(eb, IG_EINVAL, "wal position: writer %s appears twice", w);
        int rc = ig_wal_pos_set(p, w, (uint64_t)v);
        if (rc)
            return ig_err(eb, rc, "wal position: %s", ig_strerror(rc));
        i = j + 1;
        if (j + 1 == s.len) /* trailing comma */
            return ig_err(eb, IG_EINVAL, "wal position: trailing comma");
    }
    return 0;
}

/* ---- listing ---------------------------------------------------------------------- */

void ig_wal_seglist_free(ig_wal_seglist *l)
{
    ig_free(l->segs);
    l->segs = NULL;
    l->n = 0;
    ig_arena_free(&l->arena);
}

static int cmp_seg(const void *a, const void *b)
{
    const ig_wal_seg *x = a, *y = b;
    int c = strcmp(x->writer, y->writer);
    if (c)
        return c;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

int ig_wal_list(ig_store *store, ig_table_id table, const ig_wal_pos *after, ig_wal_seglist *out,
                ig_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    ig_arena_init(&out->arena, 0);
    if ((unsigned)table >= IG_TABLE_COUNT_)
        return ig_err(eb, IG_EINVAL, "wal list: unknown table %d", (int)table);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "wal/%s/", ig_table_name(table));
    size_t cap = 0;
    char *start = NULL;
    int rc = 0;
    for (;;) {
        ig_store_listing l = {0};
        rc = ig_store_list(store, prefix, start, LIST_PAGE, &l, eb);
        ig_free(start);
        start = NULL;
        if (rc) {
            ig_store_list_free(&l);
            break;
        }
        for (size_t i = 0; i < l.count && !rc; i++) {
            ig_table_id t;
            char w[IG_WAL_WRITER_MAX + 1];
            uint64_t seq;
            if (!ig_wal_parse_key(l.entries[i].key, &t, w, &seq) || t != table)
                continue;
            if (seq <= ig_wal_pos_get(after, w))
                continue;
            if (out->n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                ig_wal_seg *s = ig_realloc(out->segs, nc * sizeof *s);
                if (!s) {
                    rc = ig_err(eb, IG_ENOMEM, "wal list: out of memory");
                    break;
                }
                out->segs = s;
                cap = nc;
            }
            char *key = ig_arena_cstr(&out->arena, ig_str_from(l.entries[i].key));
            char *wc = ig_arena_cstr(&out->arena, ig_str_from(w));
            if (!key || !wc) {
                rc = ig_err(eb, IG_ENOMEM, "wal list: out of memory");
                break;
            }
            out->segs[out->n++] =
                (ig_wal_seg){key, wc, seq, l.entries[i].size, l.entries[i].mtime_ns};
        }
        if (!rc && l.next_start_after) {
            start = l.next_start_after;
            l.next_start_after = NULL;
        }
        ig_store_list_free(&l);
        if (rc || !start)
            break;
    }
    ig_free(start);
    if (rc)
        return rc;
    if (out->n > 1)
        qsort(out->segs, out->n, sizeof *out->segs, cmp_seg);
    return 0;
}

int ig_wal_pos_cover(ig_wal_pos *p, const ig_wal_seglist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->segs[i].seq <= ig_wal_pos_get(p, l->segs[i].writer))
            continue;
        int rc = ig_wal_pos_set(p, l->segs[i].writer, l->segs[i].seq);
        if (rc)
            return rc;
    }
    return 0;
}

int ig_wal_delete_upto(ig_store *store, ig_table_id table, const ig_wal_pos *pos,
                       int64_t older_than_ns, size_t *ndeleted, ig_errbuf *eb)
{
    if (ndeleted)
        *ndeleted = 0;
    ig_wal_seglist l;
    int rc = ig_wal_list(store, table, NULL, &l, eb);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const ig_wal_seg *s = &l.segs[i];
        /* A writer's newest segment is kept: it is the high-water mark from which a
         * writer restarted with the same id continues (positions already cover the
         * numbers below it; reusing them would hide new rows). */
        bool newest = i + 1 == l.n || strcmp(l.segs[i + 1].writer, s->writer) != 0;
        if (newest || s->seq > ig_wal_pos_get(pos, s->writer) || s->mtime_ns >= older_than_ns)
            continue;
        int drc = ig_store_delete(store, s->key, eb);
        if (drc == IG_ENOENT)
            continue;
        if (drc) {
            rc = drc;
            break;
        }
        if (ndeleted)
            (*ndeleted)++;
    }
    ig_wal_seglist_free(&l);
    return rc;
}

/* ---- opening a segment ------------------------------------------------------------ */

typedef struct seg_src {
    ig_store *store;
    char key[]; /* NUL-terminated */
} seg_src;

static int seg_read(void *ctx, uint64_t off, void *dst, size_t n)
{
    seg_src *s = ctx;
    ig_buf b;
    ig_buf_init(&b, n ? n : 1);
    int rc = ig_store_get_range(s->store, s->key, off, n, &b, NULL);
    if (rc == 0 && b.len != n)
        rc = IG_ECORRUPT; /* the object is shorter than its footer says */
    if (rc == 0 && n)
        memcpy(dst, b.data, n);
    ig_buf_free(&b);
    return rc;
}

static void seg_src_free(void *p)
{
    ig_free(p);
}

int ig_wal_segment_open(ig_store *store, const char *key, pq_file **out, ig_errbuf *eb)
{
    *out = NULL;
    ig_store_stat st;
    int rc = ig_store_head(store, key, &st, eb);
    if (rc)
        return rc;
    size_t kl = strlen(key);
    seg_src *s = ig_malloc(sizeof *s + kl + 1);
    if (!s)
        return ig_err(eb, IG_ENOMEM, "wal: out of memory opening %s", key);
    s->store = store;
    memcpy(s->key, key, kl + 1);
    pq_source src = {seg_read, s, st.size};
    pq_file *f;
    rc = pq_open(&f, &src, NULL, eb);
    if (rc) {
        ig_free(s);
        return rc;
    }
    /* The source context lives as long as the file: freed with its metadata arena. */
    rc = ig_arena_on_free(&f->arena, seg_src_free, s); /* on failure s is freed already */
    if (rc) {
        f->src.ctx = NULL;
        pq_close(f);
        return ig_err(eb, rc, "wal: out of memory opening %s", key);
    }
    *out = f;
    return 0;
}

/* ---- footer facts ----------------------------------------------------------------- */

void ig_wal_seginfo_free(ig_wal_seginfo *si)
{
    ig_arena_free(&si->arena);
    si->rgs = NULL;
    si->nrgs = 0;
}

bool ig_wal_rg_is_tenant(const ig_wal_seginfo *si, size_t rg, ig_str tenant)
{
    return rg < si->nrgs && ig_str_eq(si->rgs[rg].tenant, tenant);
}

static int parse_rgs(const char *text, ig_wal_seginfo *si, size_t nrgs, ig_errbuf *eb)
{
    json_reader r;
    json_reader_init(&r, ig_str_from(text), eb);
    size_t n = 0;
    int rc = json_arr_begin(&r);
    while (rc >= 0 && (rc = json_arr_next(&r)) > 0) {
        if (n >= nrgs) {
            rc = ig_err(eb, IG_ECORRUPT, "wal segment: %s lists more row groups than the file",
                        IG_WAL_KV_RGS);
            break;
        }
        ig_wal_rg *g = &si->rgs[n++];
        bool have_tenant = false;
        ig_str key;
        rc = json_obj_begin(&r);
        while (rc >= 0 && (rc = json_obj_next_key(&r, &key)) > 0) {
            if (ig_str_eq_cstr(key, "tenant")) {
                ig_str v;
                if ((rc = json_str(&r, &v)) < 0)
                    break;
                g->tenant = ig_arena_strdup(&si->arena, v);
                if (!g->tenant.ptr) {
                    rc = IG_ENOMEM;
                    break;
                }
                have_tenant = true;
            } else if (ig_str_eq_cstr(key, "rows")) {
                rc = json_u64(&r, &g->rows);
            } else if (ig_str_eq_cstr(key, "min_ts")) {
                rc = json_i64(&r, &g->min_ts_us);
            } else if (ig_str_eq_cstr(key, "max_ts")) {
                rc = json_i64(&r, &g->max_ts_us);
            } else {
                rc = json_skip(&r);
            }
        }
        if (rc >= 0 && !have_tenant)
            rc = ig_err(eb, IG_ECORRUPT, "wal segment: row group %zu has no tenant", n - 1);
    }
    if (rc >= 0)
        rc = json_end(&r);
    json_reader_free(&r);
    if (rc < 0)
        return rc == IG_ENOMEM ? rc : IG_ECORRUPT;
    if (n != nrgs)
        return ig_err(eb, IG_ECORRUPT, "wal segment: %s lists %zu row groups, the file has %zu",
                      IG_WAL_KV_RGS, n, nrgs);
    return 0;
}

int ig_wal_segment_info(const pq_file *f, ig_wal_seginfo *out, ig_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    ig_arena_init(&out->arena, 0);
    const char *writer = pq_file_kv(f, IG_WAL_KV_WRITER);
    const char *seq = pq_file_kv(f, IG_WAL_KV_SEQ);
    const char *table = pq_file_kv(f, IG_WAL_KV_TABLE);
    const char *rgs = pq_file_kv(f, IG_WAL_KV_RGS);
    if (!writer || !seq || !table || !rgs)
        return ig_err(eb, IG_ECORRUPT, "wal segment: footer lacks the icegate.wal.* keys");
    int t = ig_table_by_name(ig_str_from(table));
    int64_t sv;
    if (t < 0 || !ig_wal_writer_valid(writer) || ig_str_to_i64(ig_str_from(seq), &sv) || sv < 0)
        return ig_err(eb, IG_ECORRUPT,
                      "wal segment: bad footer (table %.32s, writer %.80s, seq %.32s)", table,
                      writer, seq);
    out->table = (ig_table_id)t;
    out->seq = (uint64_t)sv;
    out->writer = ig_arena_cstr(&out->arena, ig_str_from(writer));
    out->rgs = f->nrgs ? ig_arena_zalloc(&out->arena, f->nrgs * sizeof *out->rgs) : NULL;
    if (!out->writer || (f->nrgs && !out->rgs))
        return ig_err(eb, IG_ENOMEM, "wal segment: out of memory");
    int rc = parse_rgs(rgs, out, f->nrgs, eb);
    if (rc)
        return rc == IG_ENOMEM ? ig_err(eb, rc, "wal segment: out of memory") : rc;
    out->nrgs = f->nrgs;
    for (size_t i = 0; i < f->nrgs; i++)
        if ((int64_t)out->rgs[i].rows != f->rgs[i].num_rows)
            return ig_err(eb, IG_ECORRUPT,
                          "wal segment: row group %zu has %lld rows, the footer says %llu", i,
                          (long long)f->rgs[i].num_rows, (unsigned long long)out->rgs[i].rows);
    return 0;
}
