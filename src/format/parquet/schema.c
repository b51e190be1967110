/* Parquet schemas: the Iceberg-style builder and the derivation of parents, children,
 * levels and leaf columns shared with the footer reader. */
#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "pq_internal.h"
#include "pq_schema.h"

#define MAX_NESTING 64

void pq_schema_free(pq_schema *s)
{
    if (!s)
        return;
    ig_arena_free(&s->arena);
    ig_free(s);
}

int pq__schema_new(pq_schema **out, size_t nnodes, size_t arena_cap)
{
    pq_schema *s = ig_calloc(1, sizeof *s);
    if (!s)
        return IG_ENOMEM;
    ig_arena_init(&s->arena, arena_cap);
    size_t bytes;
    if (ig_size_mul(nnodes ? nnodes : 1, sizeof(pq_node), &bytes) ||
        !(s->nodes = ig_arena_zalloc(&s->arena, bytes))) {
        pq_schema_free(s);
        return IG_ENOMEM;
    }
    s->nnodes = nnodes;
    *out = s;
    return 0;
}

int pq__schema_finalize(pq_schema *s, ig_errbuf *eb)
{
    if (s->nnodes == 0)
        return ig_err(eb, IG_ECORRUPT, "parquet: empty schema");
    pq_node *nd = s->nodes;
    if (nd[0].nchildren < 0)
        return ig_err(eb, IG_ECORRUPT, "parquet: schema root has no children count");
    /* Pass 1: parents and child lists with an explicit stack (no recursion). */
    int32_t stack[MAX_NESTING + 1];
    int32_t left[MAX_NESTING + 1];
    int depth = 0;
    size_t nleaves = 0;
    stack[0] = 0;
    left[0] = nd[0].nchildren;
    nd[0].parent = -1;
    nd[0].repetition = -1;
    nd[0].def = nd[0].rep = 0;
    size_t bytes;
    if (ig_size_mul((size_t)nd[0].nchildren, sizeof(int32_t), &bytes) ||
        (size_t)nd[0].nchildren > s->nnodes ||
        !(nd[0].children = ig_arena_alloc(&s->arena, bytes ? bytes : 1)))
        return ig_err(eb, IG_ECORRUPT, "parquet: bad schema root");
    int32_t *fill = ig_arena_zalloc(&s->arena, s->nnodes * sizeof(int32_t));
    if (!fill)
        return IG_ENOMEM;
    for (size_t i = 1; i < s->nnodes; i++) {
        while (depth >= 0 && left[depth] == 0)
            depth--;
        if (depth < 0)
            return ig_err(eb, IG_ECORRUPT, "parquet: schema has %zu extra elements",
                          s->nnodes - i);
        int32_t p = stack[depth];
        left[depth]--;
        pq_node *n = &nd[i];
        n->parent = p;
        nd[p].children[fill[p]++] = (int32_t)i;
        if (n->repetition < 0 || n->repetition > 2)
            return ig_err(eb, IG_EUNSUPPORTED, "parquet: field %.*s has repetition %d",
                          (int)n->name.len, n->name.ptr, n->repetition);
        n->def = (int16_t)(nd[p].def + (n->repetition != PQ_REQUIRED));
        n->rep = (int16_t)(nd[p].rep + (n->repetition == PQ_REPEATED));
        if (n->nchildren > 0) {
            if (depth + 1 >= MAX_NESTING)
                return ig_err(eb, IG_ECORRUPT, "parquet: schema nested deeper than %d",
                              MAX_NESTING);
            if ((size_t)n->nchildren > s->nnodes - i - 1)
                return ig_err(eb, IG_ECORRUPT, "parquet: field %.*s claims %d children",
                              (int)n->name.len, n->name.ptr, n->nchildren);
            if (!(n->children = ig_arena_alloc(&s->arena, (size_t)n->nchildren * 4)))
                return IG_ENOMEM;
            n->phys = -1;
            n->col = -1;
            stack[++depth] = (int32_t)i;
            left[depth] = n->nchildren;
        } else {
            if (n->phys < 0 || n->phys > 7)
                return ig_err(eb, IG_ECORRUPT, "parquet: leaf %.*s has no valid type",
                              (int)n->name.len, n->name.ptr);
            if (n->phys == PQ_FIXED_LEN_BYTE_ARRAY && (n->type_length <= 0 ||
                                                       n->type_length > (1 << 24)))
                return ig_err(eb, IG_ECORRUPT, "parquet: leaf %.*s has bad type_length %d",
                              (int)n->name.len, n->name.ptr, n->type_length);
            n->nchildren = 0;
            n->col = (int32_t)nleaves++;
        }
    }
    while (depth >= 0 && left[depth] == 0)
        depth--;
    if (depth >= 0)
        return ig_err(eb, IG_ECORRUPT, "parquet: schema is missing elements");
    if (nleaves == 0)
        return ig_err(eb, IG_ECORRUPT, "parquet: schema has no columns");
    s->ncols = nleaves;
    if (!(s->cols = ig_arena_zalloc(&s->arena, nleaves * sizeof(pq_column))))
        return IG_ENOMEM;
    /* Pass 2: leaf columns and dotted paths. */
    for (size_t i = 1; i < s->nnodes; i++) {
        pq_node *n = &nd[i];
        if (n->col < 0)
            continue;
        pq_column *c = &s->cols[n->col];
        c->node = (int32_t)i;
        c->max_def = n->def;
        c->max_rep = n->rep;
        c->phys = (pq_phys)n->phys;
        c->type_length = n->type_length;
        c->field_id = n->has_field_id ? n->field_id : -1;
        size_t len = 0;
        for (int32_t k = (int32_t)i; k > 0; k = nd[k].parent)
            len += nd[k].name.len + 1;
        char *path = ig_arena_alloc(&s->arena, len + 1);
        if (!path)
            return IG_ENOMEM;
        size_t pos = len - 1;
        path[pos] = 0;
        for (int32_t k = (int32_t)i; k > 0; k = nd[k].parent) {
            pos -= nd[k].name.len;
            memcpy(path + pos, nd[k].name.ptr, nd[k].name.len);
            if (pos > 0)
                path[--pos] = '.';
        }
        c->path = path;
    }
    return 0;
}

int pq_schema_find(const pq_schema *s, const char *path)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i].path, path) == 0)
            return (int)i;
    return -1;
}

int pq_schema_find_field_id(const pq_schema *s, int32_t field_id)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (s->cols[i].field_id == field_id && s->nodes[s->cols[i].node].has_field_id)
            return (int)i;
    return -1;
}

int pq_schema_top(const pq_schema *s, ig_str name)
{
    const pq_node *r = &s->nodes[0];
    for (int32_t k = 0; k < r->nchildren; k++)
        if (ig_str_eq(s->nodes[r->children[k]].name, name))
            return r->children[k];
    return -1;
}

int pq_schema_top_of_col(const pq_schema *s, int col)
{
    int32_t k = s->cols[col].node;
    while (s->nodes[k].parent > 0)
        k = s->nodes[k].parent;
    return k;
}

int pq_node_list_element(const pq_schema *s, int node)
{
    const pq_node *n = &s->nodes[node];
    if (n->nchildren != 1 || (n->logical != PQ_LT_LIST && n->converted != PQ_CT_LIST))
        return -1;
    const pq_node *r = &s->nodes[n->children[0]];
    if (r->repetition != PQ_REPEATED)
        return -1;
    /* 3-level list: repeated group with one child that is not itself named like a
     * legacy 2-level element ("array" or "<name>_tuple"). */
    if (r->nchildren == 1 && !ig_str_eq_cstr(r->name, "array")) {
        size_t nl = n->name.len;
        bool tuple = r->name.len == nl + 6 && memcmp(r->name.ptr, n->name.ptr, nl) == 0 &&
                     memcmp(r->name.ptr + nl, "_tuple", 6) == 0;
        if (!tuple)
            return r->children[0];
    }
    return n->children[0];
}

int pq_node_map_kv(const pq_schema *s, int node, int *key, int *value)
{
    const pq_node *n = &s->nodes[node];
    if (n->nchildren != 1 ||
        (n->logical != PQ_LT_MAP && n->converted != PQ_CT_MAP && n->converted != PQ_CT_MAP_KEY_VALUE))
        return -1;
    const pq_node *r = &s->nodes[n->children[0]];
    if (r->repetition != PQ_REPEATED || r->nchildren < 1 || r->nchildren > 2)
        return -1;
    *key = r->children[0];
    *value = r->nchildren == 2 ? r->children[1] : -1;
    return n->children[0];
}

/* ---- Builder ---------------------------------------------------------------------- */

static int count_nodes(const pq_field *f, int depth, size_t *n, ig_errbuf *eb)
{
    if (depth > MAX_NESTING / 3)
        return ig_err(eb, IG_EINVAL, "schema: field %s nested too deeply",
                      f->name ? f->name : "?");
    switch (f->type) {
    case PQ_T_STRUCT:
        *n += 1;
        for (size_t i = 0; i < f->nchildren; i++) {
            int rc = count_nodes(&f->children[i], depth + 1, n, eb);
            if (rc)
                return rc;
        }
        return 0;
    case PQ_T_LIST:
        if (f->nchildren != 1 || !f->children)
            return ig_err(eb, IG_EINVAL, "schema: list %s needs exactly one element",
                          f->name ? f->name : "?");
        *n += 2;
        return count_nodes(&f->children[0], depth + 1, n, eb);
    case PQ_T_MAP: {
        if (f->nchildren != 2 || !f->children)
            return ig_err(eb, IG_EINVAL, "schema: map %s needs a key and a value",
                          f->name ? f->name : "?");
        *n += 2;
        int rc = count_nodes(&f->children[0], depth + 1, n, eb);
        return rc ? rc : count_nodes(&f->children[1], depth + 1, n, eb);
    }
    default:
        if ((unsigned)f->type > PQ_T_MAP)
            return ig_err(eb, IG_EINVAL, "schema: field %s has unknown type %d",
                          f->name ? f->name : "?", (int)f->type);
        *n += 1;
        return 0;
    }
}

typedef struct build_ctx {
    pq_schema *s;
    size_t next;
    ig_errbuf *eb;
} build_ctx;

static pq_node *new_node(build_ctx *b, const char *name, int32_t id, bool has_id, int rep)
{
    pq_node *n = &b->s->nodes[b->next++];
    memset(n, 0, sizeof *n);
    n->name = ig_arena_strdup(&b->s->arena, ig_str_from(name));
    n->field_id = id;
    n->has_field_id = has_id;
    n->repetition = (int8_t)rep;
    n->phys = -1;
    n->converted = PQ_CT_NONE;
    n->col = -1;
    return n;
}

static int emit_field(build_ctx *b, const pq_field *f, const char *name, bool force_required)
{
    if (!name || !*name)
        return ig_err(b->eb, IG_EINVAL, "schema: field id %d has no name", f->id);
    int rep = (f->required || force_required) ? PQ_REQUIRED : PQ_OPTIONAL;
    pq_node *n = new_node(b, name, f->id, true, rep);
    if (!n->name.ptr)
        return IG_ENOMEM;
    switch (f->type) {
    case PQ_T_BOOLEAN: n->phys = PQ_BOOLEAN; return 0;
    case PQ_T_INT: n->phys = PQ_INT32; return 0;
    case PQ_T_LONG: n->phys = PQ_INT64; return 0;
    case PQ_T_FLOAT: n->phys = PQ_FLOAT; return 0;
    case PQ_T_DOUBLE: n->phys = PQ_DOUBLE; return 0;
    case PQ_T_DATE:
        n->phys = PQ_INT32;
        n->logical = PQ_LT_DATE;
        n->converted = PQ_CT_DATE;
        return 0;
    case PQ_T_TIMESTAMP:
    case PQ_T_TIMESTAMPTZ:
        n->phys = PQ_INT64;
        n->logical = PQ_LT_TIMESTAMP;
        n->unit = PQ_UNIT_MICROS;
        n->ts_utc = f->type == PQ_T_TIMESTAMPTZ;
        if (n->ts_utc)
            n->converted = PQ_CT_TIMESTAMP_MICROS;
        return 0;
    case PQ_T_STRING:
        n->phys = PQ_BYTE_ARRAY;
        n->logical = PQ_LT_STRING;
        n->converted = PQ_CT_UTF8;
        return 0;
    case PQ_T_BINARY: n->phys = PQ_BYTE_ARRAY; return 0;
    case PQ_T_FIXED:
        if (f->fixed_len <= 0 || f->fixed_len > (1 << 20))
            return ig_err(b->eb, IG_EINVAL, "schema: field %s: fixed length %d out of range",
                          name, f->fixed_len);
        n->phys = PQ_FIXED_LEN_BYTE_ARRAY;
        n->type_length = f->fixed_len;
        return 0;
    case PQ_T_UUID:
        n->phys = PQ_FIXED_LEN_BYTE_ARRAY;
        n->type_length = 16;
        n->logical = PQ_LT_UUID;
        return 0;
    case PQ_T_STRUCT:
        n->nchildren = (int32_t)f->nchildren;
        if (f->nchildren == 0)
            return ig_err(b->eb, IG_EINVAL, "schema: struct %s has no fields", name);
        for (size_t i = 0; i < f->nchildren; i++) {
            int rc = emit_field(b, &f->children[i], f->children[i].name, false);
            if (rc)
                return rc;
        }
        return 0;
    case PQ_T_LIST: {
        n->nchildren = 1;
        n->logical = PQ_LT_LIST;
        n->converted = PQ_CT_LIST;
        pq_node *r = new_node(b, "list", 0, false, PQ_REPEATED);
        if (!r->name.ptr)
            return IG_ENOMEM;
        r->nchildren = 1;
        return emit_field(b, &f->children[0], "element", false);
    }
    case PQ_T_MAP: {
        n->nchildren = 1;
        n->logical = PQ_LT_MAP;
        n->converted = PQ_CT_MAP;
        pq_node *r = new_node(b, "key_value", 0, false, PQ_REPEATED);
        if (!r->name.ptr)
            return IG_ENOMEM;
        r->nchildren = 2;
        int rc = emit_field(b, &f->children[0], "key", true);
        return rc ? rc : emit_field(b, &f->children[1], "value", false);
    }
    }
    return ig_err(b->eb, IG_EINVAL, "schema: field %s has unknown type", name);
}

int pq_schema_build(const pq_field *fields, size_t nfields, pq_schema **out, ig_errbuf *eb)
{
    if (nfields == 0)
        return ig_err(eb, IG_EINVAL, "schema: no fields");
    size_t n = 1;
    for (size_t i = 0; i < nfields; i++) {
        int rc = count_nodes(&fields[i], 0, &n, eb);
        if (rc)
            return rc;
    }
    pq_schema *s;
    int rc = pq__schema_new(&s, n, 0);
    if (rc)
        return rc;
    build_ctx b = {s, 0, eb};
    pq_node *root = new_node(&b, "schema", 0, false, -1);
    root->nchildren = (int32_t)nfields;
    for (size_t i = 0; i < nfields && !rc; i++)
        rc = emit_field(&b, &fields[i], fields[i].name, false);
    if (!rc)
        rc = pq__schema_finalize(s, eb);
    /* Duplicate field ids. */
    for (size_t i = 1; !rc && i < s->nnodes; i++)
        for (size_t j = i + 1; !rc && j < s->nnodes; j++)
            if (s->nodes[i].has_field_id && s->nodes[j].has_field_id &&
                s->nodes[i].field_id == s->nodes[j].field_id)
                rc = ig_err(eb, IG_EINVAL, "schema: field id %d used by %.*s and %.*s",
                            s->nodes[i].field_id, (int)s->nodes[i].name.len,
                            s->nodes[i].name.ptr, (int)s->nodes[j].name.len,
                            s->nodes[j].name.ptr);
    if (rc) {
        pq_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
