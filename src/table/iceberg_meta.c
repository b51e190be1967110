/* Iceberg v2 table metadata JSON: writer (schema, partition spec, sort orders, new table),
 * parser, and the next-version writer used by commits. See include/icegate/iceberg.h and
 * docs/iceberg.md. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "icegate/alloc.h"
#include "icegate/iceberg.h"

#define K(w, lit) json_w_key((w), IG_STR(lit))
#define SL(w, lit) json_w_str((w), IG_STR(lit))

/* ---- writers ------------------------------------------------------------------------ */

static const char *prim_name(pq_itype t)
{
    switch (t) {
    case PQ_T_BOOLEAN:
        return "boolean";
    case PQ_T_INT:
        return "int";
    case PQ_T_LONG:
        return "long";
    case PQ_T_FLOAT:
        return "float";
    case PQ_T_DOUBLE:
        return "double";
    case PQ_T_DATE:
        return "date";
    case PQ_T_TIMESTAMP:
        return "timestamp";
    case PQ_T_TIMESTAMPTZ:
        return "timestamptz";
    case PQ_T_STRING:
        return "string";
    case PQ_T_BINARY:
        return "binary";
    case PQ_T_UUID:
        return "uuid";
    default:
        return NULL;
    }
}

static void w_fields(json_writer *w, const pq_field *fields, size_t n)
{
    json_w_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        const pq_field *f = &fields[i];
        json_w_obj_begin(w);
        K(w, "id");
        json_w_i64(w, f->id);
        K(w, "name");
        json_w_str(w, ig_str_from(f->name));
        K(w, "required");
        json_w_bool(w, f->required);
        K(w, "type");
        ice_w_type(w, f);
        json_w_obj_end(w);
    }
    json_w_arr_end(w);
}

void ice_w_type(json_writer *w, const pq_field *f)
{
    const char *p = prim_name(f->type);
    if (p) {
        json_w_str(w, ig_str_from(p));
        return;
    }
    switch (f->type) {
    case PQ_T_FIXED: {
        char tmp[32];
        int n = snprintf(tmp, sizeof tmp, "fixed[%d]", (int)f->fixed_len);
        json_w_str(w, ig_str_make(tmp, (size_t)n));
        return;
    }
    case PQ_T_STRUCT:
        json_w_obj_begin(w);
        K(w, "type");
        SL(w, "struct");
        K(w, "fields");
        w_fields(w, f->children, f->nchildren);
        json_w_obj_end(w);
        return;
    case PQ_T_LIST:
        if (f->nchildren != 1)
            break;
        json_w_obj_begin(w);
        K(w, "type");
        SL(w, "list");
        K(w, "element-id");
        json_w_i64(w, f->children[0].id);
        K(w, "element");
        ice_w_type(w, &f->children[0]);
        K(w, "element-required");
        json_w_bool(w, f->children[0].required);
        json_w_obj_end(w);
        return;
    case PQ_T_MAP:
        if (f->nchildren != 2)
            break;
        json_w_obj_begin(w);
        K(w, "type");
        SL(w, "map");
        K(w, "key-id");
        json_w_i64(w, f->children[0].id);
        K(w, "key");
        ice_w_type(w, &f->children[0]);
        K(w, "value-id");
        json_w_i64(w, f->children[1].id);
        K(w, "value");
        ice_w_type(w, &f->children[1]);
        K(w, "value-required");
        json_w_bool(w, f->children[1].required);
        json_w_obj_end(w);
        return;
    default:
        break;
    }
    /* A malformed field tree is our own bug; make the writer fail rather than emit junk. */
    w->rc = IG_EINTERNAL;
}

void ice_w_schema(json_writer *w, int32_t schema_id, const pq_field *fields, size_t n)
{
    json_w_obj_begin(w);
    K(w, "type");
    SL(w, "struct");
    K(w, "schema-id");
    json_w_i64(w, schema_id);
    K(w, "fields");
    w_fields(w, fields, n);
    json_w_obj_end(w);
}

static int32_t top_id(ig_table_id t, const char *name)
{
    size_t n;
    const pq_field *f = ig_table_fields(t, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i].name, name))
            return f[i].id;
    return -1;
}

static void w_part_field(json_writer *w, const char *name, const char *transform, int32_t src,
                         int32_t id)
{
    if (src < 0)
        w->rc = IG_EINTERNAL;
    json_w_obj_begin(w);
    K(w, "name");
    json_w_str(w, ig_str_from(name));
    K(w, "transform");
    json_w_str(w, ig_str_from(transform));
    K(w, "source-id");
    json_w_i64(w, src);
    K(w, "field-id");
    json_w_i64(w, id);
    json_w_obj_end(w);
}

void ice_w_partition_spec(json_writer *w, ig_table_id t)
{
    json_w_obj_begin(w);
    K(w, "spec-id");
    json_w_i64(w, 0);
    K(w, "fields");
    json_w_arr_begin(w);
    w_part_field(w, "tenant_id", "identity", top_id(t, "tenant_id"), ICE_PART_TENANT);
    w_part_field(w, "account_id", "identity", top_id(t, "account_id"), ICE_PART_ACCOUNT);
    w_part_field(w, "timestamp_day", "day", top_id(t, "timestamp"), ICE_PART_DAY);
    json_w_arr_end(w);
    json_w_obj_end(w);
}

/* One sort field; Iceberg's defaults: asc -> nulls-first, desc -> nulls-last. */
static void w_sort_field(json_writer *w, ig_table_id t, const char *col, bool desc)
{
    int32_t src = top_id(t, col);
    if (src < 0)
        w->rc = IG_EINTERNAL;
    json_w_obj_begin(w);
    K(w, "transform");
    SL(w, "identity");
    K(w, "source-id");
    json_w_i64(w, src);
    K(w, "direction");
    json_w_str(w, desc ? IG_STR("desc") : IG_STR("asc"));
    K(w, "null-order");
    json_w_str(w, desc ? IG_STR("nulls-last") : IG_STR("nulls-first"));
    json_w_obj_end(w);
}

void ice_w_sort_orders(json_writer *w, ig_table_id t)
{
    json_w_arr_begin(w);
    json_w_obj_begin(w);
    K(w, "order-id");
    json_w_i64(w, 0);
    K(w, "fields");
    json_w_arr_begin(w);
    json_w_arr_end(w);
    json_w_obj_end(w);

    json_w_obj_begin(w);
    K(w, "order-id");
    json_w_i64(w, ICE_SORT_ORDER_ID);
    K(w, "fields");
    json_w_arr_begin(w);
    switch (t) {
    case IG_TABLE_LOGS:
    case IG_TABLE_EVENTS:
        w_sort_field(w, t, "service_name", false);
        w_sort_field(w, t, "timestamp", true);
        break;
    case IG_TABLE_SPANS:
        w_sort_field(w, t, "trace_id", false);
        w_sort_field(w, t, "timestamp", false);
        break;
    case IG_TABLE_METRICS:
        w_sort_field(w, t, "metric_name", false);
        w_sort_field(w, t, "service_name", false);
        w_sort_field(w, t, "timestamp", true);
        break;
    default:
        w->rc = IG_EINTERNAL;
    }
    json_w_arr_end(w);
    json_w_obj_end(w);
    json_w_arr_end(w);
}

void ice_w_properties(json_writer *w)
{
    json_w_obj_begin(w);
    K(w, "write.format.default");
    SL(w, "parquet");
    K(w, "write.parquet.compression-codec");
    SL(w, "zstd");
    json_w_obj_end(w);
}

int ice_schema_json(ig_table_id t, ig_buf *out)
{
    if ((unsigned)t >= IG_TABLE_COUNT_)
        return IG_EINVAL;
    size_t n;
    const pq_field *f = ig_table_fields(t, &n);
    json_writer w;
    json_writer_init(&w, out);
    ice_w_schema(&w, 0, f, n);
    return json_writer_finish(&w);
}

int ice_partition_spec_json(ig_table_id t, ig_buf *out)
{
    if ((unsigned)t >= IG_TABLE_COUNT_)
        return IG_EINVAL;
    json_writer w;
    json_writer_init(&w, out);
    ice_w_partition_spec(&w, t);
    return json_writer_finish(&w);
}

int ice_table_metadata_new(ig_table_id t, const char *uuid, const char *location, int64_t now_ms,
                           ig_buf *out)
{
    if ((unsigned)t >= IG_TABLE_COUNT_ || !uuid || !location)
        return IG_EINVAL;
    size_t n;
    const pq_field *f = ig_table_fields(t, &n);
    json_writer w;
    json_writer_init(&w, out);
    json_w_obj_begin(&w);
    K(&w, "format-version");
    json_w_i64(&w, 2);
    K(&w, "table-uuid");
    json_w_str(&w, ig_str_from(uuid));
    K(&w, "location");
    json_w_str(&w, ig_str_from(location));
    K(&w, "last-sequence-number");
    json_w_i64(&w, 0);
    K(&w, "last-updated-ms");
    json_w_i64(&w, now_ms);
    K(&w, "last-column-id");
    json_w_i64(&w, ig_table_last_column_id(t));
    K(&w, "current-schema-id");
    json_w_i64(&w, 0);
    K(&w, "schemas");
    json_w_arr_begin(&w);
    ice_w_schema(&w, 0, f, n);
    json_w_arr_end(&w);
    K(&w, "default-spec-id");
    json_w_i64(&w, 0);
    K(&w, "partition-specs");
    json_w_arr_begin(&w);
    ice_w_partition_spec(&w, t);
    json_w_arr_end(&w);
    K(&w, "last-partition-id");
    json_w_i64(&w, ICE_LAST_PARTITION_ID);
    K(&w, "default-sort-order-id");
    json_w_i64(&w, ICE_SORT_ORDER_ID);
    K(&w, "sort-orders");
    ice_w_sort_orders(&w, t);
    K(&w, "properties");
    ice_w_properties(&w);
    K(&w, "current-snapshot-id");
    json_w_i64(&w, -1);
    K(&w, "refs");
    json_w_obj_begin(&w);
    json_w_obj_end(&w);
    static const char *const empty[] = {"snapshots", "statistics", "partition-statistics",
                                        "snapshot-log", "metadata-log"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        json_w_key(&w, ig_str_from(empty[i]));
        json_w_arr_begin(&w);
        json_w_arr_end(&w);
    }
    json_w_obj_end(&w);
    return json_writer_finish(&w);
}

/* ---- ids and names ---------------------------------------------------------------- */

static int random_bytes(void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)p + got, n - got, 0);
        if (r <= 0)
            return IG_EIO;
        got += (size_t)r;
    }
    return 0;
}

int ice_uuid4(char out[37])
{
    uint8_t b[16];
    if (random_bytes(b, sizeof b))
        return IG_EIO;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = 0;
    return 0;
}

int ice_snapshot_id_new(int64_t *out)
{
    uint64_t v;
    if (random_bytes(&v, sizeof v))
        return IG_EIO;
    v &= (UINT64_C(1) << 53) - 1;
    *out = v ? (int64_t)v : 1;
    return 0;
}

int ice_metadata_file_key(ig_buf *out, const char *table_prefix, int version, const char *uuid)
{
    if (version < 0)
        return IG_EINVAL;
    return ig_buf_printf(out, "%s/metadata/%05d-%s.metadata.json", table_prefix, version, uuid);
}

int ice_metadata_file_version(ig_str loc)
{
    size_t start = 0;
    for (size_t i = 0; i < loc.len; i++)
        if (loc.ptr[i] == '/')
            start = i + 1;
    ig_str name = ig_str_make(loc.ptr + start, loc.len - start);
    static const char suffix[] = ".metadata.json";
    if (name.len < sizeof suffix - 1 ||
        memcmp(name.ptr + name.len - (sizeof suffix - 1), suffix, sizeof suffix - 1))
        return -1;
    long dash = ig_str_index(name, '-');
    if (dash <= 0 || dash > 9)
        return -1;
    int v = 0;
    for (long i = 0; i < dash; i++) {
        char c = name.ptr[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

/* ---- parser ----------------------------------------------------------------------- */

/* Grows an arena array of elem-sized items by one slot; returns the new slot or NULL. */
static void *arena_push(ig_arena *a, void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
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
#define PUSH(m, arr, n, cap) arena_push(&(m)->arena, (void **)&(arr), &(n), &(cap), sizeof *(arr))

typedef struct parse_ctx {
    ice_metadata *m;
    ig_errbuf *eb;
    size_t cap_members, cap_snaps, cap_slog, cap_mlog, cap_props, cap_ids;
} parse_ctx;

static int sub_init(parse_ctx *c, json_reader *r, ig_str raw)
{
    json_reader_init(r, raw, c->eb);
    r->arena = &c->m->arena;
    return 0;
}

static int bad(parse_ctx *c, const char *field, const char *what)
{
    return ig_err(c->eb, IG_ECORRUPT, "iceberg metadata: field \"%s\": %s", field, what);
}

static int raw_i64(parse_ctx *c, const char *field, ig_str raw, int64_t *out)
{
    if (json_num_i64(raw, out))
        return bad(c, field, "expected an integer");
    return 0;
}

static int raw_i32(parse_ctx *c, const char *field, ig_str raw, int32_t *out)
{
    int64_t v;
    int rc = raw_i64(c, field, raw, &v);
    if (rc)
        return rc;
    if (v < INT32_MIN || v > INT32_MAX)
        return bad(c, field, "out of range");
    *out = (int32_t)v;
    return 0;
}

static int raw_str(parse_ctx *c, const char *field, ig_str raw, ig_str *out)
{
    json_reader r;
    sub_init(c, &r, raw);
    int rc = json_str(&r, out);
    json_reader_free(&r);
    return rc ? bad(c, field, "expected a string") : 0;
}

/* Reads a string-to-string object into kvs. */
static int read_str_map(parse_ctx *c, json_reader *r, ice_kv **kvs, size_t *n, size_t *cap)
{
    int rc = json_obj_begin(r);
    ig_str key;
    while (rc == 0 && (rc = json_obj_next_key(r, &key)) > 0) {
        ice_kv *kv = PUSH(c->m, *kvs, *n, *cap);
        if (!kv)
            return IG_ENOMEM;
        kv->key = ig_arena_strdup(&c->m->arena, key);
        if (!kv->key.ptr)
            return IG_ENOMEM;
        rc = json_str(r, &kv->value);
    }
    return rc < 0 ? rc : 0;
}

static int parse_snapshot(parse_ctx *c, json_reader *r, ice_snapshot *s)
{
    s->parent_snapshot_id = -1;
    s->schema_id = -1;
    s->sequence_number = 0; /* v1 snapshots have none: 0 by the spec */
    bool have_id = false, have_ts = false, have_ml = false;
    size_t cap = 0;
    int rc = json_obj_begin(r);
    ig_str key;
    while (rc == 0 && (rc = json_obj_next_key(r, &key)) > 0) {
        rc = 0;
        if (ig_str_eq_cstr(key, "snapshot-id")) {
            rc = json_i64(r, &s->snapshot_id);
            have_id = true;
        } else if (ig_str_eq_cstr(key, "parent-snapshot-id")) {
            if (json_null(r) != 1)
                rc = json_i64(r, &s->parent_snapshot_id);
        } else if (ig_str_eq_cstr(key, "sequence-number")) {
            rc = json_i64(r, &s->sequence_number);
        } else if (ig_str_eq_cstr(key, "timestamp-ms")) {
            rc = json_i64(r, &s->timestamp_ms);
            have_ts = true;
        } else if (ig_str_eq_cstr(key, "manifest-list")) {
            rc = json_str(r, &s->manifest_list);
            have_ml = true;
        } else if (ig_str_eq_cstr(key, "schema-id")) {
            int64_t v = -1;
            rc = json_i64(r, &v);
            s->schema_id = (int32_t)v;
        } else if (ig_str_eq_cstr(key, "summary")) {
            rc = read_str_map(c, r, &s->summary, &s->nsummary, &cap);
        } else {
            rc = json_skip(r);
        }
    }
    if (rc < 0)
        return bad(c, "snapshots", "malformed snapshot");
    if (!have_id || !have_ts || !have_ml)
        return bad(c, "snapshots", "a snapshot lacks snapshot-id, timestamp-ms or manifest-list");
    for (size_t i = 0; i < s->nsummary; i++)
        if (ig_str_eq_cstr(s->summary[i].key, "operation"))
            s->operation = s->summary[i].value;
    return 0;
}

static int parse_snapshots(parse_ctx *c, ig_str raw)
{
    json_reader r;
    sub_init(c, &r, raw);
    int rc = json_arr_begin(&r);
    while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
        ice_snapshot *s = PUSH(c->m, c->m->snapshots, c->m->nsnapshots, c->cap_snaps);
        rc = s ? parse_snapshot(c, &r, s) : IG_ENOMEM;
    }
    json_reader_free(&r);
    return rc < 0 ? (rc == IG_ENOMEM ? rc : bad(c, "snapshots", "expected an array of snapshots"))
                  : 0;
}

/* snapshot-log (metadata == false) or metadata-log entries. */
static int parse_log(parse_ctx *c, ig_str raw, bool metadata)
{
    const char *field = metadata ? "metadata-log" : "snapshot-log";
    ice_log_entry **arr = metadata ? &c->m->metadata_log : &c->m->snapshot_log;
    size_t *n = metadata ? &c->m->nmetadata_log : &c->m->nsnapshot_log;
    size_t *cap = metadata ? &c->cap_mlog : &c->cap_slog;
    json_reader r;
    sub_init(c, &r, raw);
    int rc = json_arr_begin(&r);
    while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
        ice_log_entry *e = arena_push(&c->m->arena, (void **)arr, n, cap, sizeof **arr);
        if (!e) {
            rc = IG_ENOMEM;
            break;
        }
        e->snapshot_id = -1;
        rc = json_obj_begin(&r);
        ig_str key;
        while (rc == 0 && (rc = json_obj_next_key(&r, &key)) > 0) {
            if (ig_str_eq_cstr(key, "timestamp-ms"))
                rc = json_i64(&r, &e->timestamp_ms);
            else if (ig_str_eq_cstr(key, "snapshot-id"))
                rc = json_i64(&r, &e->snapshot_id);
            else if (ig_str_eq_cstr(key, "metadata-file"))
                rc = json_str(&r, &e->metadata_file);
            else
                rc = json_skip(&r);
        }
    }
    json_reader_free(&r);
    if (rc == IG_ENOMEM)
        return rc;
    return rc < 0 ? bad(c, field, "expected an array of log entries") : 0;
}

static int push_id(parse_ctx *c, int64_t id)
{
    int32_t *p = PUSH(c->m, c->m->field_ids, c->m->nfield_ids, c->cap_ids);
    if (!p)
        return IG_ENOMEM;
    *p = (int32_t)id;
    return 0;
}

static int walk_fields(parse_ctx *c, json_reader *r);

static int walk_type(parse_ctx *c, json_reader *r)
{
    int t = json_peek(r);
    if (t < 0)
        return t;
    if (t != JSON_OBJ)
        return json_skip(r);
    int rc = json_obj_begin(r);
    ig_str key;
    while (rc == 0 && (rc = json_obj_next_key(r, &key)) > 0) {
        int64_t id;
        if (ig_str_eq_cstr(key, "fields")) {
            rc = walk_fields(c, r);
        } else if (ig_str_eq_cstr(key, "element-id") || ig_str_eq_cstr(key, "key-id") ||
                   ig_str_eq_cstr(key, "value-id")) {
            rc = json_i64(r, &id);
            if (rc == 0)
                rc = push_id(c, id);
        } else if (ig_str_eq_cstr(key, "element") || ig_str_eq_cstr(key, "key") ||
                   ig_str_eq_cstr(key, "value")) {
            rc = walk_type(c, r);
        } else {
            rc = json_skip(r);
        }
    }
    return rc < 0 ? rc : 0;
}

static int walk_fields(parse_ctx *c, json_reader *r)
{
    int rc = json_arr_begin(r);
    while (rc == 0 && (rc = json_arr_next(r)) > 0) {
        rc = json_obj_begin(r);
        ig_str key;
        while (rc == 0 && (rc = json_obj_next_key(r, &key)) > 0) {
            int64_t id;
            if (ig_str_eq_cstr(key, "id")) {
                rc = json_i64(r, &id);
                if (rc == 0)
                    rc = push_id(c, id);
            } else if (ig_str_eq_cstr(key, "type")) {
                rc = walk_type(c, r);
            } else {
                rc = json_skip(r);
            }
        }
    }
    return rc < 0 ? rc : 0;
}

/* The element of a raw JSON array of objects whose integer member id_key equals id (the
 * first one), as raw JSON in *elem; NULL ptr if none. */
static int find_by_id(parse_ctx *c, ig_str raw, const char *id_key, int64_t id, ig_str *elem)
{
    *elem = IG_STR_NULL;
    json_reader r;
    sub_init(c, &r, raw);
    int rc = json_arr_begin(&r);
    while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
        ig_str el;
        rc = json_raw(&r, &el);
        if (rc)
            break;
        json_reader er;
        sub_init(c, &er, el);
        int64_t v = INT64_MIN;
        ig_str key;
        int erc = json_obj_begin(&er);
        while (erc == 0 && (erc = json_obj_next_key(&er, &key)) > 0)
            erc = ig_str_eq_cstr(key, id_key) ? json_i64(&er, &v) : json_skip(&er);
        json_reader_free(&er);
        if (erc < 0) {
            rc = erc;
            break;
        }
        if (v == id && !elem->ptr)
            *elem = el;
    }
    json_reader_free(&r);
    return rc < 0 ? rc : 0;
}

/* Finds the current schema and the default spec; collects the schema's field ids. */
static int parse_schemas(parse_ctx *c, ig_str schemas, ig_str specs)
{
    ice_metadata *m = c->m;
    int rc = find_by_id(c, schemas, "schema-id", m->current_schema_id, &m->current_schema_json);
    if (rc == IG_ENOMEM)
        return rc;
    if (rc < 0)
        return bad(c, "schemas", "malformed schema");
    if (!m->current_schema_json.ptr)
        return bad(c, "current-schema-id", "no schema with this id in \"schemas\"");
    rc = find_by_id(c, specs, "spec-id", m->default_spec_id, &m->default_spec_json);
    if (rc == IG_ENOMEM)
        return rc;
    if (rc < 0)
        return bad(c, "partition-specs", "malformed partition spec");
    if (!m->default_spec_json.ptr)
        return bad(c, "default-spec-id", "no spec with this id in \"partition-specs\"");
    /* the schema object's fields */
    json_reader r;
    sub_init(c, &r, m->current_schema_json);
    ig_str key;
    rc = json_obj_begin(&r);
    while (rc == 0 && (rc = json_obj_next_key(&r, &key)) > 0)
        rc = ig_str_eq_cstr(key, "fields") ? walk_fields(c, &r) : json_skip(&r);
    json_reader_free(&r);
    if (rc == IG_ENOMEM)
        return rc;
    return rc < 0 ? bad(c, "schemas", "malformed schema") : 0;
}

enum {
    R_FORMAT = 1 << 0,
    R_UUID = 1 << 1,
    R_LOCATION = 1 << 2,
    R_LASTSEQ = 1 << 3,
    R_UPDATED = 1 << 4,
    R_LASTCOL = 1 << 5,
    R_CURSCHEMA = 1 << 6,
    R_SCHEMAS = 1 << 7,
    R_SPECID = 1 << 8,
    R_SPECS = 1 << 9,
    R_LASTPART = 1 << 10,
    R_SORTID = 1 << 11,
    R_SORTS = 1 << 12,
    R_ALL_ = (1 << 13) - 1
};
static const char *const REQUIRED[] = {
    "format-version",  "table-uuid",      "location",          "last-sequence-number",
    "last-updated-ms", "last-column-id",  "current-schema-id", "schemas",
    "default-spec-id", "partition-specs", "last-partition-id", "default-sort-order-id",
    "sort-orders"};

/* Members this parser interprets (or write_next rewrites): each may appear only once, as a
 * duplicate would make the parsed view and the rewritten file disagree. */
static const char *const INTERPRETED[] = {"current-snapshot-id", "snapshots",  "snapshot-log",
                                          "metadata-log",        "properties", "refs"};

static int parse_member(parse_ctx *c, ig_str key, ig_str raw, unsigned *seen, ig_str *schemas_raw)
{
    ice_metadata *m = c->m;
    for (int i = 0; i < 13 + 6; i++) {
        const char *k = i < 13 ? REQUIRED[i] : INTERPRETED[i - 13];
        if (!ig_str_eq_cstr(key, k))
            continue;
        if (*seen & (1u << i))
            return ig_err(c->eb, IG_ECORRUPT, "iceberg metadata: field \"%s\" appears twice", k);
        *seen |= 1u << i;
    }
    if (ig_str_eq_cstr(key, "format-version")) {
        int32_t v;
        int rc = raw_i32(c, "format-version", raw, &v);
        m->format_version = v;
        return rc;
    }
    if (ig_str_eq_cstr(key, "table-uuid"))
        return raw_str(c, "table-uuid", raw, &m->table_uuid);
    if (ig_str_eq_cstr(key, "location"))
        return raw_str(c, "location", raw, &m->location);
    if (ig_str_eq_cstr(key, "last-sequence-number"))
        return raw_i64(c, "last-sequence-number", raw, &m->last_sequence_number);
    if (ig_str_eq_cstr(key, "last-updated-ms"))
        return raw_i64(c, "last-updated-ms", raw, &m->last_updated_ms);
    if (ig_str_eq_cstr(key, "last-column-id"))
        return raw_i32(c, "last-column-id", raw, &m->last_column_id);
    if (ig_str_eq_cstr(key, "current-schema-id"))
        return raw_i32(c, "current-schema-id", raw, &m->current_schema_id);
    if (ig_str_eq_cstr(key, "default-spec-id"))
        return raw_i32(c, "default-spec-id", raw, &m->default_spec_id);
    if (ig_str_eq_cstr(key, "last-partition-id"))
        return raw_i32(c, "last-partition-id", raw, &m->last_partition_id);
    if (ig_str_eq_cstr(key, "default-sort-order-id"))
        return raw_i32(c, "default-sort-order-id", raw, &m->default_sort_order_id);
    if (ig_str_eq_cstr(key, "current-snapshot-id")) {
        if (ig_str_eq_cstr(raw, "null")) {
            m->current_snapshot_id = -1;
            return 0;
        }
        return raw_i64(c, "current-snapshot-id", raw, &m->current_snapshot_id);
    }
    if (ig_str_eq_cstr(key, "schemas") || ig_str_eq_cstr(key, "partition-specs") ||
        ig_str_eq_cstr(key, "sort-orders")) {
        if (!raw.len || raw.ptr[0] != '[')
            return ig_err(c->eb, IG_ECORRUPT, "iceberg metadata: field \"%.*s\": expected an array",
                          (int)key.len, key.ptr);
        if (ig_str_eq_cstr(key, "schemas"))
            *schemas_raw = raw;
        else if (ig_str_eq_cstr(raw, "[]"))
            return ig_err(c->eb, IG_ECORRUPT, "iceberg metadata: field \"%.*s\" is empty",
                          (int)key.len, key.ptr);
        return 0;
    }
    if (ig_str_eq_cstr(key, "snapshots"))
        return parse_snapshots(c, raw);
    if (ig_str_eq_cstr(key, "snapshot-log"))
        return parse_log(c, raw, false);
    if (ig_str_eq_cstr(key, "metadata-log"))
        return parse_log(c, raw, true);
    if (ig_str_eq_cstr(key, "properties")) {
        json_reader r;
        sub_init(c, &r, raw);
        int rc = read_str_map(c, &r, &m->properties, &m->nproperties, &c->cap_props);
        json_reader_free(&r);
        if (rc == IG_ENOMEM)
            return rc;
        return rc < 0 ? bad(c, "properties", "expected an object of strings") : 0;
    }
    return 0;
}

static ig_str member_raw(const ice_metadata *m, const char *key)
{
    for (size_t i = 0; i < m->nmembers; i++)
        if (ig_str_eq_cstr(m->members[i].key, key))
            return m->members[i].value;
    return IG_STR_NULL;
}

int ice_metadata_parse(ig_str json, ice_metadata *m, ig_errbuf *eb)
{
    memset(m, 0, sizeof *m);
    /* The arena holds a copy of the input plus decoded views: bounded by the input size. */
    size_t cap = 0;
    if (ig_size_mul(json.len, 8, &cap) || ig_size_add(cap, (size_t)1 << 20, &cap))
        return IG_ETOOBIG;
    ig_arena_init(&m->arena, cap);
    m->current_snapshot_id = -1;
    m->format_version = -1;
    parse_ctx c = {.m = m, .eb = eb};
    m->json = ig_arena_strdup(&m->arena, json);
    if (!m->json.ptr && json.len) {
        ice_metadata_free(m);
        return IG_ENOMEM;
    }
    json_reader r;
    sub_init(&c, &r, m->json);
    unsigned seen = 0;
    ig_str schemas_raw = IG_STR_NULL;
    int rc = json_obj_begin(&r);
    ig_str key;
    while (rc == 0 && (rc = json_obj_next_key(&r, &key)) > 0) {
        ice_kv *kv = PUSH(m, m->members, m->nmembers, c.cap_members);
        if (!kv) {
            rc = IG_ENOMEM;
            break;
        }
        kv->key = ig_arena_strdup(&m->arena, key);
        rc = kv->key.ptr ? json_raw(&r, &kv->value) : IG_ENOMEM;
        if (rc == 0)
            rc = parse_member(&c, kv->key, kv->value, &seen, &schemas_raw);
    }
    if (rc == 0)
        rc = json_end(&r);
    json_reader_free(&r);
    if (rc == 0 && m->format_version != 2)
        rc = ig_err(eb, m->format_version == 1 ? IG_EUNSUPPORTED : IG_ECORRUPT,
                    "iceberg metadata: format-version %d is not supported (want 2)",
                    m->format_version);
    if (rc == 0 && (seen & R_ALL_) != R_ALL_) {
        for (int i = 0; i < 13; i++)
            if (!(seen & (1u << i))) {
                rc = ig_err(eb, IG_ECORRUPT, "iceberg metadata: required field \"%s\" missing",
                            REQUIRED[i]);
                break;
            }
    }
    if (rc == 0)
        rc = parse_schemas(&c, schemas_raw, member_raw(m, "partition-specs"));
    if (rc == 0 && m->current_snapshot_id != -1 &&
        !ice_metadata_snapshot(m, m->current_snapshot_id))
        rc = bad(&c, "current-snapshot-id", "no snapshot with this id");
    if (rc < 0) {
        if (rc != IG_ENOMEM && rc != IG_EUNSUPPORTED && !(eb && eb->msg[0]))
            rc = ig_err(eb, IG_ECORRUPT, "iceberg metadata: malformed JSON");
        ice_metadata_free(m);
        return rc;
    }
    return 0;
}

void ice_metadata_free(ice_metadata *m)
{
    ig_arena_free(&m->arena);
    memset(m, 0, sizeof *m);
    m->current_snapshot_id = -1;
}

const ice_snapshot *ice_metadata_snapshot(const ice_metadata *m, int64_t snapshot_id)
{
    for (size_t i = 0; i < m->nsnapshots; i++)
        if (m->snapshots[i].snapshot_id == snapshot_id)
            return &m->snapshots[i];
    return NULL;
}

ig_str ice_metadata_property(const ice_metadata *m, const char *key)
{
    for (size_t i = 0; i < m->nproperties; i++)
        if (ig_str_eq_cstr(m->properties[i].key, key))
            return m->properties[i].value;
    return IG_STR_NULL;
}

bool ice_metadata_has_field_id(const ice_metadata *m, int32_t id)
{
    for (size_t i = 0; i < m->nfield_ids; i++)
        if (m->field_ids[i] == id)
            return true;
    return false;
}

/* ---- next version ------------------------------------------------------------------- */

/* Copies the elements of a raw JSON array (the writer is inside an open array). */
static int copy_arr_elems(json_writer *w, ig_str raw, ig_errbuf *eb)
{
    json_reader r;
    json_reader_init(&r, raw, eb);
    int rc = json_arr_begin(&r);
    while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
        ig_str el;
        rc = json_raw(&r, &el);
        if (rc == 0)
            json_w_raw(w, el);
    }
    json_reader_free(&r);
    return rc < 0 ? rc : 0;
}

static void w_new_snapshot(json_writer *w, const ice_metadata *b, const ice_snapshot_new *s)
{
    json_w_obj_begin(w);
    K(w, "snapshot-id");
    json_w_i64(w, s->snapshot_id);
    if (b->current_snapshot_id != -1) {
        K(w, "parent-snapshot-id");
        json_w_i64(w, b->current_snapshot_id);
    }
    K(w, "sequence-number");
    json_w_i64(w, b->last_sequence_number + 1);
    K(w, "timestamp-ms");
    json_w_i64(w, s->timestamp_ms);
    K(w, "summary");
    json_w_obj_begin(w);
    K(w, "operation");
    json_w_str(w, ig_str_from(s->operation));
    for (size_t i = 0; i < s->nsummary; i++) {
        if (ig_str_eq_cstr(s->summary[i].key, "operation"))
            continue;
        json_w_key(w, s->summary[i].key);
        json_w_str(w, s->summary[i].value);
    }
    json_w_obj_end(w);
    K(w, "manifest-list");
    json_w_str(w, ig_str_from(s->manifest_list));
    K(w, "schema-id");
    json_w_i64(w, b->current_schema_id);
    json_w_obj_end(w);
}

/* The next version's metadata-log: the base's entries (the newest
 * ICE_METADATA_LOG_MAX - 1 of them) and then the base file itself. */
static void write_metadata_log(json_writer *w, const ice_metadata *b, ig_str base_location)
{
    json_w_arr_begin(w);
    size_t keep = ICE_METADATA_LOG_MAX - 1;
    size_t from = b->nmetadata_log > keep ? b->nmetadata_log - keep : 0;
    for (size_t i = from; i < b->nmetadata_log; i++) {
        json_w_obj_begin(w);
        K(w, "timestamp-ms");
        json_w_i64(w, b->metadata_log[i].timestamp_ms);
        K(w, "metadata-file");
        json_w_str(w, b->metadata_log[i].metadata_file);
        json_w_obj_end(w);
    }
    json_w_obj_begin(w);
    K(w, "timestamp-ms");
    json_w_i64(w, b->last_updated_ms);
    K(w, "metadata-file");
    json_w_str(w, base_location);
    json_w_obj_end(w);
    json_w_arr_end(w);
}
static int w_member(json_writer *w, const ice_metadata *b, ig_str key, ig_str raw,
                    ig_str base_location, const ice_snapshot_new *s, int64_t updated_ms,
                    ig_errbuf *eb)
{
    int rc = 0;
    json_w_key(w, key);
    if (ig_str_eq_cstr(key, "last-sequence-number")) {
        json_w_i64(w, b->last_sequence_number + 1);
    } else if (ig_str_eq_cstr(key, "last-updated-ms")) {
        json_w_i64(w, updated_ms);
    } else if (ig_str_eq_cstr(key, "current-snapshot-id")) {
        json_w_i64(w, s->snapshot_id);
    } else if (ig_str_eq_cstr(key, "refs")) {
        json_w_obj_begin(w);
        K(w, "main");
        json_w_obj_begin(w);
        K(w, "snapshot-id");
        json_w_i64(w, s->snapshot_id);
        K(w, "type");
        SL(w, "branch");
        json_w_obj_end(w);
        if (raw.ptr) {
            json_reader r;
            json_reader_init(&r, raw, eb);
            rc = json_obj_begin(&r);
            ig_str k;
            while (rc == 0 && (rc = json_obj_next_key(&r, &k)) > 0) {
                ig_str v;
                rc = json_raw(&r, &v);
                if (rc == 0 && !ig_str_eq_cstr(k, "main")) {
                    json_w_key(w, k);
                    json_w_raw(w, v);
                }
            }
            json_reader_free(&r);
        }
        json_w_obj_end(w);
    } else if (ig_str_eq_cstr(key, "snapshots")) {
        json_w_arr_begin(w);
        if (raw.ptr)
            rc = copy_arr_elems(w, raw, eb);
        w_new_snapshot(w, b, s);
        json_w_arr_end(w);
    } else if (ig_str_eq_cstr(key, "snapshot-log")) {
        json_w_arr_begin(w);
        if (raw.ptr)
            rc = copy_arr_elems(w, raw, eb);
        json_w_obj_begin(w);
        K(w, "timestamp-ms");
        json_w_i64(w, s->timestamp_ms);
        K(w, "snapshot-id");
        json_w_i64(w, s->snapshot_id);
        json_w_obj_end(w);
        json_w_arr_end(w);
    } else if (ig_str_eq_cstr(key, "metadata-log")) {
        write_metadata_log(w, b, base_location);
    } else {
        json_w_raw(w, raw);
    }
    return rc < 0 ? rc : 0;
}

int ice_metadata_write_next(const ice_metadata *b, ig_str base_location, const ice_snapshot_new *s,
                            int64_t now_ms, ig_buf *out, ig_errbuf *eb)
{
    if (!s->manifest_list || !s->operation || s->snapshot_id <= 0 || !base_location.len)
        return ig_err(eb, IG_EINVAL,
                      "iceberg commit: snapshot without id, manifest list, "
                      "operation or base location");
    if (ice_metadata_snapshot(b, s->snapshot_id))
        return ig_err(eb, IG_EEXIST, "iceberg commit: snapshot id %lld already in the table",
                      (long long)s->snapshot_id);
    /* Readers (Java) want snapshot-log in time order: a committer whose clock is behind the
     * last snapshot's gets that snapshot's time. */
    ice_snapshot_new adj = *s;
    if (b->nsnapshot_log && adj.timestamp_ms < b->snapshot_log[b->nsnapshot_log - 1].timestamp_ms)
        adj.timestamp_ms = b->snapshot_log[b->nsnapshot_log - 1].timestamp_ms;
    s = &adj;
    int64_t updated = now_ms;
    if (s->timestamp_ms > updated)
        updated = s->timestamp_ms;
    if (b->last_updated_ms > updated)
        updated = b->last_updated_ms;
    static const char *const must[] = {"current-snapshot-id", "refs", "snapshots", "snapshot-log",
                                       "metadata-log"};
    bool have[5] = {false};
    json_writer w;
    json_writer_init(&w, out);
    json_w_obj_begin(&w);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->nmembers; i++) {
        for (size_t j = 0; j < 5; j++)
            if (ig_str_eq_cstr(b->members[i].key, must[j]))
                have[j] = true;
        rc = w_member(&w, b, b->members[i].key, b->members[i].value, base_location, s, updated, eb);
    }
    for (size_t j = 0; rc == 0 && j < 5; j++)
        if (!have[j])
            rc = w_member(&w, b, ig_str_from(must[j]), IG_STR_NULL, base_location, s, updated, eb);
    json_w_obj_end(&w);
    if (rc)
        return rc;
    return json_writer_finish(&w);
}

/* ---- next version without some snapshots (expire-snapshots) ------------------------- */

static bool id_in(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* snapshot-id of a raw ref object, or -1. */
static int64_t ref_snapshot_id(ig_str raw, ig_errbuf *eb)
{
    json_reader r;
    json_reader_init(&r, raw, eb);
    int64_t id = -1;
    int rc = json_obj_begin(&r);
    ig_str k;
    while (rc == 0 && (rc = json_obj_next_key(&r, &k)) > 0) {
        if (ig_str_eq_cstr(k, "snapshot-id"))
            rc = json_i64(&r, &id);
        else
            rc = json_skip(&r);
    }
    json_reader_free(&r);
    return rc < 0 ? -1 : id;
}

static int w_expire_member(json_writer *w, const ice_metadata *b, ig_str key, ig_str raw,
                           ig_str base_location, const int64_t *rm, size_t nrm, int64_t updated_ms,
                           ig_errbuf *eb)
{
    int rc = 0;
    json_w_key(w, key);
    if (ig_str_eq_cstr(key, "last-updated-ms")) {
        json_w_i64(w, updated_ms);
    } else if (ig_str_eq_cstr(key, "snapshots")) {
        /* b->snapshots is in array order: keep the raw text of every element not removed */
        json_reader r;
        json_reader_init(&r, raw, eb);
        json_w_arr_begin(w);
        size_t i = 0;
        rc = json_arr_begin(&r);
        while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
            ig_str el;
            rc = json_raw(&r, &el);
            if (rc == 0 && i < b->nsnapshots && !id_in(rm, nrm, b->snapshots[i].snapshot_id))
                json_w_raw(w, el);
            i++;
        }
        json_reader_free(&r);
        json_w_arr_end(w);
        if (rc == 0 && i != b->nsnapshots)
            rc = ig_err(eb, IG_EINTERNAL, "iceberg expire: snapshots array does not match");
    } else if (ig_str_eq_cstr(key, "snapshot-log")) {
        /* Java's rule (TableMetadata.updateSnapshotLog): an entry naming a removed snapshot
         * drops it and every earlier entry, so the log stays a contiguous history. */
        size_t from = 0;
        for (size_t i = 0; i < b->nsnapshot_log; i++)
            if (id_in(rm, nrm, b->snapshot_log[i].snapshot_id) ||
                !ice_metadata_snapshot(b, b->snapshot_log[i].snapshot_id))
                from = i + 1;
        json_w_arr_begin(w);
        for (size_t i = from; i < b->nsnapshot_log; i++) {
            json_w_obj_begin(w);
            K(w, "timestamp-ms");
            json_w_i64(w, b->snapshot_log[i].timestamp_ms);
            K(w, "snapshot-id");
            json_w_i64(w, b->snapshot_log[i].snapshot_id);
            json_w_obj_end(w);
        }
        json_w_arr_end(w);
    } else if (ig_str_eq_cstr(key, "refs")) {
        /* refs pointing at a removed snapshot go with it (never main: the current
         * snapshot is never removed) */
        json_reader r;
        json_reader_init(&r, raw, eb);
        json_w_obj_begin(w);
        rc = json_obj_begin(&r);
        ig_str k;
        while (rc == 0 && (rc = json_obj_next_key(&r, &k)) > 0) {
            ig_str v;
            rc = json_raw(&r, &v);
            if (rc == 0 && !id_in(rm, nrm, ref_snapshot_id(v, NULL))) {
                json_w_key(w, k);
                json_w_raw(w, v);
            }
        }
        json_reader_free(&r);
        json_w_obj_end(w);
    } else if ((ig_str_eq_cstr(key, "statistics") || ig_str_eq_cstr(key, "partition-statistics")) &&
               raw.len && raw.ptr[0] == '[') {
        /* statistics files belong to one snapshot each: they go with it (Java does too) */
        json_reader r;
        json_reader_init(&r, raw, eb);
        json_w_arr_begin(w);
        rc = json_arr_begin(&r);
        while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
            ig_str el;
            rc = json_raw(&r, &el);
            if (rc == 0 && !id_in(rm, nrm, ref_snapshot_id(el, NULL)))
                json_w_raw(w, el);
        }
        json_reader_free(&r);
        json_w_arr_end(w);
    } else if (ig_str_eq_cstr(key, "metadata-log")) {
        write_metadata_log(w, b, base_location);
    } else {
        json_w_raw(w, raw);
    }
    return rc < 0 ? rc : 0;
}

int ice_metadata_write_expire(const ice_metadata *b, ig_str base_location, const int64_t *remove,
                              size_t nremove, int64_t now_ms, ig_buf *out, ig_errbuf *eb)
{
    if (!base_location.len)
        return ig_err(eb, IG_EINVAL, "iceberg expire: no base location");
    for (size_t i = 0; i < nremove; i++) {
        if (remove[i] == b->current_snapshot_id)
            return ig_err(eb, IG_EINVAL, "iceberg expire: snapshot %lld is the current one",
                          (long long)remove[i]);
        if (!ice_metadata_snapshot(b, remove[i]))
            return ig_err(eb, IG_ENOENT, "iceberg expire: no snapshot %lld in the table",
                          (long long)remove[i]);
    }
    int64_t updated = now_ms > b->last_updated_ms ? now_ms : b->last_updated_ms;
    static const char *const must[] = {"snapshots", "snapshot-log", "metadata-log"};
    bool have[3] = {false};
    json_writer w;
    json_writer_init(&w, out);
    json_w_obj_begin(&w);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->nmembers; i++) {
        for (size_t j = 0; j < 3; j++)
            if (ig_str_eq_cstr(b->members[i].key, must[j]))
                have[j] = true;
        rc = w_expire_member(&w, b, b->members[i].key, b->members[i].value, base_location, remove,
                             nremove, updated, eb);
    }
    for (size_t j = 0; rc == 0 && j < 3; j++)
        if (!have[j])
            rc = w_expire_member(&w, b, ig_str_from(must[j]), IG_STR("[]"), base_location, remove,
                                 nremove, updated, eb);
    json_w_obj_end(&w);
    if (rc)
        return rc;
    return json_writer_finish(&w);
}
