/* Record assembly: rebuilds nested rows (pq_value trees) from column vectors using the
 * definition and repetition levels (the inverse of the writer's shredding). */
#include <string.h>

#include "icegate/alloc.h"
#include "pq_internal.h"

typedef struct cursor {
    pq_colvec *v;
    size_t e; /* next level entry */
    size_t k; /* next present value */
} cursor;

typedef struct asm_ctx {
    const pq_schema *s;
    cursor *cur;     /* per leaf column; v NULL when not projected */
    int32_t *first;  /* per node: first projected leaf column under it, or -1 */
    ig_arena *a;
    ig_errbuf *eb;
    int rc;
} asm_ctx;

static int fail(asm_ctx *x, const char *what)
{
    if (!x->rc)
        x->rc = ig_err(x->eb, IG_ECORRUPT, "parquet: inconsistent levels: %s", what);
    return x->rc;
}

static inline int16_t peek_def(asm_ctx *x, int col)
{
    cursor *c = &x->cur[col];
    if (c->e >= c->v->n)
        return -1;
    return c->v->def ? c->v->def[c->e] : c->v->max_def;
}

static inline int16_t peek_rep(asm_ctx *x, int col)
{
    cursor *c = &x->cur[col];
    if (c->e >= c->v->n)
        return -1;
    return c->v->rep ? c->v->rep[c->e] : 0;
}

/* Consumes one entry from every projected leaf under node. */
static void skip_node(asm_ctx *x, int node)
{
    const pq_node *n = &x->s->nodes[node];
    if (n->col >= 0) {
        cursor *c = &x->cur[n->col];
        if (!c->v)
            return;
        if (c->e >= c->v->n) {
            fail(x, "column ended early");
            return;
        }
        int16_t d = c->v->def ? c->v->def[c->e] : c->v->max_def;
        if (d == c->v->max_def)
            c->k++;
        c->e++;
        return;
    }
    for (int32_t i = 0; i < n->nchildren; i++)
        if (x->first[n->children[i]] >= 0)
            skip_node(x, n->children[i]);
}

static void leaf_value(asm_ctx *x, int col, pq_value *out)
{
    cursor *c = &x->cur[col];
    pq_colvec *v = c->v;
    if (c->e >= v->n) {
        fail(x, "column ended early");
        return;
    }
    int16_t d = v->def ? v->def[c->e] : v->max_def;
    c->e++;
    if (d != v->max_def) {
        out->kind = PQ_V_NULL;
        return;
    }
    size_t k = c->k++;
    if (k >= v->nvals) {
        fail(x, "more present entries than values");
        return;
    }
    switch (v->phys) {
    case PQ_BOOLEAN:
        out->kind = PQ_V_BOOL;
        out->b = *(const uint8_t *)pq_colvec_fixed(v, k) != 0;
        break;
    case PQ_INT32: {
        int32_t i;
        memcpy(&i, pq_colvec_fixed(v, k), 4);
        out->kind = PQ_V_INT;
        out->i = i;
        break;
    }
    case PQ_INT64:
        out->kind = PQ_V_INT;
        memcpy(&out->i, pq_colvec_fixed(v, k), 8);
        break;
    case PQ_FLOAT: {
        float f;
        memcpy(&f, pq_colvec_fixed(v, k), 4);
        out->kind = PQ_V_DOUBLE;
        out->d = f;
        break;
    }
    case PQ_DOUBLE:
        out->kind = PQ_V_DOUBLE;
        memcpy(&out->d, pq_colvec_fixed(v, k), 8);
        break;
    default:
        out->kind = PQ_V_BYTES;
        out->s = pq_colvec_bytes(v, k);
        break;
    }
}

/* Growable item array in the arena. */
typedef struct items {
    pq_value *p;
    size_t n, cap;
} items;

static pq_value *items_push(asm_ctx *x, items *it)
{
    if (it->n == it->cap) {
        size_t nc = it->cap ? it->cap * 2 : 4;
        pq_value *q = ig_arena_alloc(x->a, nc * sizeof *q);
        if (!q) {
            if (!x->rc)
                x->rc = ig_err(x->eb, IG_ETOOBIG, "parquet: row too large to assemble");
            return NULL;
        }
        if (it->n)
            memcpy(q, it->p, it->n * sizeof *q);
        it->p = q;
        it->cap = nc;
    }
    pq_value *v = &it->p[it->n++];
    memset(v, 0, sizeof *v);
    return v;
}

static void read_field(asm_ctx *x, int node, pq_value *out);

/* Reads the contents of one present instance of node (not considering its own
 * repetition). */
static void read_instance(asm_ctx *x, int node, pq_value *out)
{
    const pq_node *n = &x->s->nodes[node];
    if (n->col >= 0) {
        leaf_value(x, n->col, out);
        return;
    }
    /* LIST and MAP annotations. */
    int key, val;
    int elem = pq_node_list_element(x->s, node);
    int kv = elem < 0 ? pq_node_map_kv(x->s, node, &key, &val) : -1;
    if (elem >= 0 || kv >= 0) {
        int rnode = n->children[0];
        const pq_node *r = &x->s->nodes[rnode];
        int lead = x->first[rnode];
        items it = {0};
        out->kind = elem >= 0 ? PQ_V_LIST : PQ_V_MAP;
        if (peek_def(x, lead) < r->def) {
            skip_node(x, rnode); /* empty list / map */
            return;
        }
        for (;;) {
            if (elem >= 0) {
                pq_value *e = items_push(x, &it);
                if (!e)
                    return;
                if (elem == rnode)
                    read_instance(x, rnode, e); /* 2-level list: the repeated node is the element */
                else if (x->first[elem] >= 0)
                    read_field(x, elem, e);
                else
                    e->absent = 1;
            } else {
                pq_value *k = items_push(x, &it);
                pq_value *v = k ? items_push(x, &it) : NULL;
                if (!v)
                    return;
                k = &it.p[it.n - 2];
                if (x->first[key] >= 0)
                    read_field(x, key, k);
                else
                    k->absent = 1;
                if (val >= 0 && x->first[val] >= 0)
                    read_field(x, val, v);
                else
                    v->absent = 1;
            }
            if (x->rc)
                return;
            if (peek_rep(x, lead) != r->rep)
                break;
        }
        out->items = it.p;
        out->n = it.n;
        return;
    }
    out->kind = PQ_V_STRUCT;
    out->n = (size_t)n->nchildren;
    out->items = ig_arena_zalloc(x->a, (out->n ? out->n : 1) * sizeof(pq_value));
    if (!out->items) {
        if (!x->rc)
            x->rc = ig_err(x->eb, IG_ETOOBIG, "parquet: row too large to assemble");
        return;
    }
    for (int32_t i = 0; i < n->nchildren && !x->rc; i++) {
        int ch = n->children[i];
        if (x->first[ch] < 0)
            out->items[i].absent = 1;
        else
            read_field(x, ch, &out->items[i]);
    }
}

static void read_field(asm_ctx *x, int node, pq_value *out)
{
    const pq_node *n = &x->s->nodes[node];
    int lead = x->first[node];
    memset(out, 0, sizeof *out);
    if (n->repetition == PQ_REPEATED) {
        /* Unannotated repeated field: a list of instances. */
        items it = {0};
        out->kind = PQ_V_LIST;
        if (peek_def(x, lead) < n->def) {
            skip_node(x, node);
            return;
        }
        for (;;) {
            pq_value *e = items_push(x, &it);
            if (!e)
                return;
            read_instance(x, node, e);
            if (x->rc || peek_rep(x, lead) != n->rep)
                break;
        }
        out->items = it.p;
        out->n = it.n;
        return;
    }
    if (n->repetition == PQ_OPTIONAL) {
        int16_t d = peek_def(x, lead);
        if (d < 0) {
            fail(x, "column ended early");
            return;
        }
        if (d < n->def) {
            skip_node(x, node);
            out->kind = PQ_V_NULL;
            return;
        }
    }
    read_instance(x, node, out);
}

int pq_assemble(const pq_schema *s, pq_colvec *const *cols, ig_arena *scratch,
                int (*emit)(void *ctx, const pq_value *row), void *ctx, ig_errbuf *eb)
{
    asm_ctx x = {s, NULL, NULL, scratch, eb, 0};
    x.cur = ig_calloc(s->ncols, sizeof *x.cur);
    x.first = ig_malloc(s->nnodes * sizeof *x.first);
    if (!x.cur || !x.first) {
        ig_free(x.cur);
        ig_free(x.first);
        return IG_ENOMEM;
    }
    size_t nrows = SIZE_MAX;
    for (size_t i = 0; i < s->ncols; i++) {
        x.cur[i].v = cols[i];
        if (cols[i]) {
            if (nrows == SIZE_MAX)
                nrows = cols[i]->nrows;
            else if (cols[i]->nrows != nrows) {
                ig_free(x.cur);
                ig_free(x.first);
                return ig_err(eb, IG_EINVAL, "parquet: column vectors cover different rows");
            }
        }
    }
    if (nrows == SIZE_MAX)
        nrows = 0;
    for (size_t k = s->nnodes; k-- > 0;) {
        const pq_node *n = &s->nodes[k];
        x.first[k] = -1;
        if (n->col >= 0)
            x.first[k] = cols[n->col] ? n->col : -1;
        else
            for (int32_t i = 0; i < n->nchildren; i++)
                if (x.first[n->children[i]] >= 0) {
                    x.first[k] = x.first[n->children[i]];
                    break;
                }
    }
    int rc = 0;
    const pq_node *root = &s->nodes[0];
    for (size_t row = 0; row < nrows && !rc; row++) {
        ig_arena_reset(scratch);
        pq_value r;
        memset(&r, 0, sizeof r);
        r.kind = PQ_V_STRUCT;
        r.n = (size_t)root->nchildren;
        r.items = ig_arena_zalloc(scratch, (r.n ? r.n : 1) * sizeof(pq_value));
        if (!r.items) {
            rc = IG_ENOMEM;
            break;
        }
        for (int32_t i = 0; i < root->nchildren && !x.rc; i++) {
            int ch = root->children[i];
            if (x.first[ch] < 0)
                r.items[i].absent = 1;
            else
                read_field(&x, ch, &r.items[i]);
        }
        if (x.rc) {
            rc = x.rc;
            break;
        }
        /* Every projected column must now be at a row boundary. */
        for (size_t i = 0; i < s->ncols; i++)
            if (x.cur[i].v && peek_rep(&x, (int)i) > 0) {
                rc = fail(&x, "row did not consume all repeated values");
                break;
            }
        if (!rc)
            rc = emit(ctx, &r);
    }
    ig_free(x.cur);
    ig_free(x.first);
    return rc;
}
