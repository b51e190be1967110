/* Iceberg v2 manifests and manifest lists. See icegate/manifest.h and
 * docs/iceberg-manifests.md. Field ids and layout from the Iceberg spec ("Manifests",
 * "Manifest Lists", Appendix A/D). */
#include "icegate/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/json.h"

#define MAX_PART_FIELDS 64

typedef struct pfield {
    char *name;
    int32_t field_id;
    int32_t source_id;
    ig_mf_ptype type;
    const char *avro_type; /* JSON of the non-null branch */
    /* summary */
    bool contains_null, has_bounds;
    int64_t lo_i, hi_i;
    ig_buf lo_s, hi_s;
} pfield;

struct ig_manifest_writer {
    ig_buf file;
    avro_writer aw;
    bool aw_init;
    ig_buf rec;
    pfield parts[MAX_PART_FIELDS];
    size_t nparts;
    int32_t spec_id;
    ig_mf_content content;
    ig_mf_summary sum;
    bool done;
};

/* ---- JSON helpers ---------------------------------------------------------------------- */

typedef struct scol {
    int32_t id;
    char type[32]; /* primitive type name, "" for nested */
} scol;

/* Top-level columns of an Iceberg schema JSON object. */
static int parse_schema_cols(ig_str json, scol *cols, size_t max, size_t *n, ig_errbuf *eb)
{
    json_reader r;
    json_reader_init(&r, json, eb);
    ig_str key;
    *n = 0;
    bool seen = false;
    int rc = json_obj_begin(&r);
    while (rc == 0 && (rc = json_obj_next_key(&r, &key)) > 0) {
        if (!ig_str_eq_cstr(key, "fields")) {
            rc = json_skip(&r);
            continue;
        }
        seen = true;
        rc = json_arr_begin(&r);
        while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
            if (*n == max) {
                rc = IG_ETOOBIG;
                break;
            }
            scol c = {.id = -1};
            rc = json_obj_begin(&r);
            ig_str k2;
            while (rc == 0 && (rc = json_obj_next_key(&r, &k2)) > 0) {
                if (ig_str_eq_cstr(k2, "id")) {
                    int64_t v;
                    rc = json_i64(&r, &v);
                    if (rc == 0 && (v < 0 || v > INT32_MAX))
                        rc = IG_ERANGE;
                    c.id = (int32_t)v;
                } else if (ig_str_eq_cstr(k2, "type") && json_peek(&r) == JSON_STRING) {
                    ig_str t;
                    rc = json_str(&r, &t);
                    if (rc == 0 && t.len < sizeof c.type) {
                        memcpy(c.type, t.ptr, t.len);
                        c.type[t.len] = 0;
                    }
                } else {
                    rc = json_skip(&r);
                }
            }
            if (rc == 0)
                cols[(*n)++] = c;
        }
    }
    if (rc == 0)
        rc = json_end(&r);
    json_reader_free(&r);
    if (rc < 0 || !seen)
        return ig_err(eb, IG_EINVAL,
                      "manifest: the table schema JSON is not an object with "
                      "\"fields\" (or is malformed)");
    return 0;
}

static const scol *find_col(const scol *cols, size_t n, int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (cols[i].id == id)
            return &cols[i];
    return NULL;
}

/* The "fields" array of a spec object, or the array itself. */
static int spec_fields_raw(ig_str json, ig_str *arr, int32_t *spec_id, ig_errbuf *eb)
{
    size_t i = 0;
    while (i < json.len && (json.ptr[i] == ' ' || json.ptr[i] == '\n' || json.ptr[i] == '\t' ||
                            json.ptr[i] == '\r'))
        i++;
    if (i < json.len && json.ptr[i] == '[') {
        *arr = json;
        return 0;
    }
    json_reader r;
    json_reader_init(&r, json, eb);
    ig_str key;
    *arr = IG_STR_NULL;
    int rc = json_obj_begin(&r);
    while (rc == 0 && (rc = json_obj_next_key(&r, &key)) > 0) {
        if (ig_str_eq_cstr(key, "fields")) {
            rc = json_raw(&r, arr);
        } else if (ig_str_eq_cstr(key, "spec-id")) {
            int64_t v;
            rc = json_i64(&r, &v);
            if (rc == 0 && spec_id && v >= 0 && v <= INT32_MAX)
                *spec_id = (int32_t)v;
        } else {
            rc = json_skip(&r);
        }
    }
    if (rc == 0)
        rc = json_end(&r);
    json_reader_free(&r);
    if (rc < 0 || !arr->ptr)
        return ig_err(eb, IG_EINVAL,
                      "manifest: the partition spec JSON is malformed or has no "
                      "\"fields\"");
    return 0;
}

static int part_type(pfield *p, ig_str transform, const scol *src, ig_errbuf *eb)
{
    const char *st = src ? src->type : "";
    bool is_ts = !strcmp(st, "timestamp") || !strcmp(st, "timestamptz");
    if (ig_str_eq_cstr(transform, "identity") ||
        ig_str_has_prefix(transform, IG_STR("truncate["))) {
        if (!strcmp(st, "string")) {
            p->type = IG_MF_P_STRING;
            p->avro_type = "\"string\"";
        } else if (!strcmp(st, "int")) {
            p->type = IG_MF_P_INT;
            p->avro_type = "\"int\"";
        } else if (!strcmp(st, "date")) {
            p->type = IG_MF_P_INT;
            p->avro_type = "{\"type\":\"int\",\"logicalType\":\"date\"}";
        } else if (!strcmp(st, "long")) {
            p->type = IG_MF_P_LONG;
            p->avro_type = "\"long\"";
        } else if (is_ts && transform.ptr[0] == 'i') {
            p->type = IG_MF_P_LONG;
            p->avro_type = !strcmp(st, "timestamptz")
                               ? "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\","
                                 "\"adjust-to-utc\":true}"
                               : "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\","
                                 "\"adjust-to-utc\":false}";
        } else {
            return ig_err(eb, IG_EUNSUPPORTED,
                          "manifest: partition field %s: %.*s of a %s column is not supported",
                          p->name, (int)transform.len, transform.ptr, st[0] ? st : "nested");
        }
        return 0;
    }
    if (ig_str_eq_cstr(transform, "day")) {
        p->type = IG_MF_P_INT;
        p->avro_type = "{\"type\":\"int\",\"logicalType\":\"date\"}";
    } else if (ig_str_eq_cstr(transform, "hour") || ig_str_eq_cstr(transform, "month") ||
               ig_str_eq_cstr(transform, "year") ||
               ig_str_has_prefix(transform, IG_STR("bucket["))) {
        p->type = IG_MF_P_INT;
        p->avro_type = "\"int\"";
    } else {
        return ig_err(eb, IG_EUNSUPPORTED,
                      "manifest: partition field %s: transform %.*s is not "
                      "supported",
                      p->name, (int)transform.len, transform.ptr);
    }
    if (src && !is_ts && strcmp(st, "date") != 0 && transform.ptr[0] != 'b')
        return ig_err(eb, IG_EINVAL,
                      "manifest: partition field %s: %.*s needs a date or "
                      "timestamp source column, not %s",
                      p->name, (int)transform.len, transform.ptr, st);
    return 0;
}

static int parse_spec(ig_manifest_writer *w, ig_str arr, const scol *cols, size_t ncols,
                      ig_errbuf *eb)
{
    json_reader r;
    json_reader_init(&r, arr, eb);
    int rc = json_arr_begin(&r);
    while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
        if (w->nparts == MAX_PART_FIELDS) {
            json_reader_free(&r);
            return ig_err(eb, IG_ETOOBIG, "manifest: more than %d partition fields",
                          MAX_PART_FIELDS);
        }
        pfield *p = &w->parts[w->nparts];
        memset(p, 0, sizeof *p);
        p->field_id = p->source_id = -1;
        ig_buf_init(&p->lo_s, 0);
        ig_buf_init(&p->hi_s, 0);
        char transform[64] = "";
        rc = json_obj_begin(&r);
        ig_str key;
        while (rc == 0 && (rc = json_obj_next_key(&r, &key)) > 0) {
            ig_str s;
            int64_t v;
            if (ig_str_eq_cstr(key, "name")) {
                rc = json_str(&r, &s);
                if (rc == 0 && !(p->name = ig_strndup(s.ptr, s.len)))
                    rc = IG_ENOMEM;
            } else if (ig_str_eq_cstr(key, "transform")) {
                rc = json_str(&r, &s);
                if (rc == 0 && s.len < sizeof transform) {
                    memcpy(transform, s.ptr, s.len);
                    transform[s.len] = 0;
                }
            } else if (ig_str_eq_cstr(key, "field-id") || ig_str_eq_cstr(key, "source-id")) {
                rc = json_i64(&r, &v);
                if (rc == 0 && (v < 0 || v > INT32_MAX))
                    rc = IG_ERANGE;
                if (rc == 0)
                    *(key.ptr[0] == 'f' ? &p->field_id : &p->source_id) = (int32_t)v;
            } else {
                rc = json_skip(&r);
            }
        }
        w->nparts++;
        if (rc < 0)
            break;
        if (!p->name || p->field_id < 0 || p->source_id < 0 || !transform[0]) {
            json_reader_free(&r);
            return ig_err(eb, IG_EINVAL,
                          "manifest: partition field %zu needs name, transform, "
                          "source-id and field-id",
                          w->nparts - 1);
        }
        bool ok_name = p->name[0] && !(p->name[0] >= '0' && p->name[0] <= '9');
        for (const char *c = p->name; *c && ok_name; c++)
            ok_name = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '_';
        if (!ok_name) {
            json_reader_free(&r);
            return ig_err(eb, IG_EUNSUPPORTED,
                          "manifest: partition field name \"%.64s\" is not a valid Avro name "
                          "([A-Za-z_][A-Za-z0-9_]*)",
                          p->name);
        }
        const scol *src = find_col(cols, ncols, p->source_id);
        if (!src) {
            json_reader_free(&r);
            return ig_err(eb, IG_EINVAL,
                          "manifest: partition field %s: source-id %d is not a top-level "
                          "column of the schema",
                          p->name, p->source_id);
        }
        rc = part_type(p, ig_str_from(transform), src, eb);
        if (rc) {
            json_reader_free(&r);
            return rc;
        }
    }
    if (rc == 0)
        rc = json_end(&r);
    json_reader_free(&r);
    if (rc < 0)
        return rc == IG_ENOMEM ? rc
                               : ig_err(eb, IG_EINVAL, "manifest: malformed partition spec JSON");
    return 0;
}

/* ---- schemas -------------------------------------------------------------------------- */

static int map_field(ig_buf *b, const char *name, int id, int kid, int vid, const char *vtype)
{
    return ig_buf_printf(b,
                         ",{\"name\":\"%s\",\"type\":[\"null\",{\"type\":\"array\",\"items\":"
                         "{\"type\":\"record\",\"name\":\"k%d_v%d\",\"fields\":[{\"name\":\"key\","
                         "\"type\":\"int\",\"field-id\":%d},{\"name\":\"value\",\"type\":\"%s\","
                         "\"field-id\":%d}]},\"logicalType\":\"map\"}],\"default\":null,"
                         "\"field-id\":%d}",
                         name, kid, vid, kid, vtype, vid, id);
}

static int entry_schema(const ig_manifest_writer *w, ig_buf *b)
{
    int rc = ig_buf_append_cstr(
        b,
        "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
        "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
        "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
        "{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,"
        "\"field-id\":3},"
        "{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,"
        "\"field-id\":4},"
        "{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
        "{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
        "{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
        "{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
        "{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":[");
    for (size_t i = 0; rc == 0 && i < w->nparts; i++) {
        rc = ig_buf_append_cstr(b, i ? ",{\"name\":" : "{\"name\":");
        if (rc == 0)
            rc = ig_buf_json_str(b, ig_str_from(w->parts[i].name));
        if (rc == 0)
            rc = ig_buf_printf(b, ",\"type\":[\"null\",%s],\"default\":null,\"field-id\":%d}",
                               w->parts[i].avro_type, w->parts[i].field_id);
    }
    if (rc == 0)
        rc = ig_buf_append_cstr(b, "]},\"field-id\":102},"
                                   "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
                                   "{\"name\":\"file_size_in_bytes\",\"type\":\"long\","
                                   "\"field-id\":104}");
    if (rc == 0)
        rc = map_field(b, "column_sizes", 108, 117, 118, "long");
    if (rc == 0)
        rc = map_field(b, "value_counts", 109, 119, 120, "long");
    if (rc == 0)
        rc = map_field(b, "null_value_counts", 110, 121, 122, "long");
    if (rc == 0)
        rc = map_field(b, "nan_value_counts", 137, 138, 139, "long");
    if (rc == 0)
        rc = map_field(b, "lower_bounds", 125, 126, 127, "bytes");
    if (rc == 0)
        rc = map_field(b, "upper_bounds", 128, 129, 130, "bytes");
    if (rc == 0)
        rc = ig_buf_append_cstr(
            b, ",{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,"
               "\"field-id\":131},"
               "{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\",\"items\":"
               "\"long\",\"element-id\":133}],\"default\":null,\"field-id\":132},"
               "{\"name\":\"equality_ids\",\"type\":[\"null\",{\"type\":\"array\",\"items\":"
               "\"int\",\"element-id\":136}],\"default\":null,\"field-id\":135},"
               "{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],\"default\":null,"
               "\"field-id\":140},"
               "{\"name\":\"referenced_data_file\",\"type\":[\"null\",\"string\"],"
               "\"default\":null,\"field-id\":143}"
               "]},\"field-id\":2}]}");
    return rc;
}

static const char LIST_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
    "{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
    "{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
    "{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":517},"
    "{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515},"
    "{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516},"
    "{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503},"
    "{\"name\":\"added_files_count\",\"type\":\"int\",\"field-id\":504},"
    "{\"name\":\"existing_files_count\",\"type\":\"int\",\"field-id\":505},"
    "{\"name\":\"deleted_files_count\",\"type\":\"int\",\"field-id\":506},"
    "{\"name\":\"added_rows_count\",\"type\":\"long\",\"field-id\":512},"
    "{\"name\":\"existing_rows_count\",\"type\":\"long\",\"field-id\":513},"
    "{\"name\":\"deleted_rows_count\",\"type\":\"long\",\"field-id\":514},"
    "{\"name\":\"partitions\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":"
    "\"record\",\"name\":\"r508\",\"fields\":["
    "{\"name\":\"contains_null\",\"type\":\"boolean\",\"field-id\":509},"
    "{\"name\":\"contains_nan\",\"type\":[\"null\",\"boolean\"],\"default\":null,"
    "\"field-id\":518},"
    "{\"name\":\"lower_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":510},"
    "{\"name\":\"upper_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":511}"
    "]},\"element-id\":508}],\"default\":null,\"field-id\":507},"
    "{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":519}"
    "]}";

/* ---- writer --------------------------------------------------------------------------- */

void ig_manifest_writer_free(ig_manifest_writer *w)
{
    if (!w)
        return;
    if (w->aw_init)
        avro_writer_free(&w->aw);
    ig_buf_free(&w->file);
    ig_buf_free(&w->rec);
    for (size_t i = 0; i < w->nparts; i++) {
        ig_free(w->parts[i].name);
        ig_buf_free(&w->parts[i].lo_s);
        ig_buf_free(&w->parts[i].hi_s);
    }
    ig_free(w);
}

int ig_manifest_writer_new(const ig_manifest_writer_opts *o, ig_manifest_writer **out,
                           ig_errbuf *eb)
{
    *out = NULL;
    if (o->format_version != 2)
        return ig_err(eb, IG_EUNSUPPORTED, "manifest: format version %d (only 2 is written)",
                      o->format_version);
    if (o->content != IG_MF_CONTENT_DATA && o->content != IG_MF_CONTENT_DELETES)
        return ig_err(eb, IG_EINVAL, "manifest: content %d", (int)o->content);
    ig_manifest_writer *w = ig_calloc(1, sizeof *w);
    if (!w)
        return IG_ENOMEM;
    ig_buf_init(&w->file, o->max_bytes ? o->max_bytes : 256u << 20);
    ig_buf_init(&w->rec, 0);
    w->spec_id = o->spec_id;
    w->content = o->content;
    scol *cols = ig_malloc(4096 * sizeof *cols);
    size_t ncols = 0;
    ig_str arr = IG_STR_NULL;
    int rc = cols ? 0 : IG_ENOMEM;
    if (rc == 0)
        rc = parse_schema_cols(o->schema_json, cols, 4096, &ncols, eb);
    if (rc == 0)
        rc = spec_fields_raw(o->spec_json, &arr, NULL, eb);
    if (rc == 0)
        rc = parse_spec(w, arr, cols, ncols, eb);
    ig_free(cols);
    ig_buf schema;
    ig_buf_init(&schema, 0);
    if (rc == 0)
        rc = entry_schema(w, &schema);
    char sid[24], pid[24];
    snprintf(sid, sizeof sid, "%d", (int)o->schema_id);
    snprintf(pid, sizeof pid, "%d", (int)o->spec_id);
    avro_meta meta[] = {
        {"schema", o->schema_json},
        {"schema-id", ig_str_from(sid)},
        {"partition-spec", arr},
        {"partition-spec-id", ig_str_from(pid)},
        {"format-version", IG_STR("2")},
        {"content", o->content == IG_MF_CONTENT_DATA ? IG_STR("data") : IG_STR("deletes")},
    };
    if (rc == 0) {
        w->aw_init = true;
        rc = avro_writer_init(&w->aw, &w->file, ig_buf_str(&schema), o->codec, meta,
                              sizeof meta / sizeof meta[0], o->sync);
        if (rc)
            rc = ig_err(eb, rc, "manifest: writing the header: %s", ig_strerror(rc));
    }
    ig_buf_free(&schema);
    if (rc) {
        ig_manifest_writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

static int put_opt_long(ig_buf *b, bool has, int64_t v)
{
    int rc = avro_put_union(b, has ? 1 : 0);
    return rc == 0 && has ? avro_put_long(b, v) : rc;
}

static int put_opt_bytes(ig_buf *b, ig_str v)
{
    int rc = avro_put_union(b, v.ptr ? 1 : 0);
    return rc == 0 && v.ptr ? avro_put_bytes(b, v) : rc;
}

/* which: 0 column_size 1 value_count 2 null_count 3 nan_count 4 lower 5 upper */
static bool metric_has(const ig_mf_metric *m, int which)
{
    switch (which) {
    case 0:
        return m->column_size >= 0;
    case 1:
        return m->value_count >= 0;
    case 2:
        return m->null_count >= 0;
    case 3:
        return m->nan_count >= 0;
    case 4:
        return m->lower.ptr != NULL;
    default:
        return m->upper.ptr != NULL;
    }
}

static int put_metric_map(ig_buf *b, const ig_mf_data_file *f, int which)
{
    int64_t n = 0;
    for (size_t i = 0; i < f->nmetrics; i++)
        n += metric_has(&f->metrics[i], which);
    if (n == 0)
        return avro_put_union(b, 0);
    int rc = avro_put_union(b, 1);
    if (rc == 0)
        rc = avro_put_block(b, n);
    for (size_t i = 0; rc == 0 && i < f->nmetrics; i++) {
        const ig_mf_metric *m = &f->metrics[i];
        if (!metric_has(m, which))
            continue;
        rc = avro_put_int(b, m->field_id);
        if (rc)
            break;
        switch (which) {
        case 0:
            rc = avro_put_long(b, m->column_size);
            break;
        case 1:
            rc = avro_put_long(b, m->value_count);
            break;
        case 2:
            rc = avro_put_long(b, m->null_count);
            break;
        case 3:
            rc = avro_put_long(b, m->nan_count);
            break;
        case 4:
            rc = avro_put_bytes(b, m->lower);
            break;
        default:
            rc = avro_put_bytes(b, m->upper);
            break;
        }
    }
    if (rc == 0)
        rc = avro_put_block_end(b);
    return rc;
}

static int track_partition(pfield *p, const ig_mf_pvalue *v)
{
    if (v->type == IG_MF_P_NULL) {
        p->contains_null = true;
        return 0;
    }
    if (v->type != IG_MF_P_STRING) {
        if (!p->has_bounds || v->i < p->lo_i)
            p->lo_i = v->i;
        if (!p->has_bounds || v->i > p->hi_i)
            p->hi_i = v->i;
        p->has_bounds = true;
        return 0;
    }
    int rc = 0;
    if (!p->has_bounds || ig_str_cmp(v->s, ig_buf_str(&p->lo_s)) < 0) {
        ig_buf_reset(&p->lo_s);
        rc = ig_buf_append(&p->lo_s, v->s.ptr ? v->s.ptr : "", v->s.len);
    }
    if (rc == 0 && (!p->has_bounds || ig_str_cmp(v->s, ig_buf_str(&p->hi_s)) > 0)) {
        ig_buf_reset(&p->hi_s);
        rc = ig_buf_append(&p->hi_s, v->s.ptr ? v->s.ptr : "", v->s.len);
    }
    if (rc == 0)
        p->has_bounds = true;
    return rc;
}

int ig_manifest_writer_add(ig_manifest_writer *w, const ig_mf_entry *e, ig_errbuf *eb)
{
    if (w->done)
        return ig_err(eb, IG_EINVAL, "manifest: add after finish");
    if (w->aw.rc)
        return w->aw.rc;
    const ig_mf_data_file *f = &e->file;
    if (e->status != IG_MF_EXISTING && e->status != IG_MF_ADDED && e->status != IG_MF_DELETED)
        return ig_err(eb, IG_EINVAL, "manifest: entry status %d", (int)e->status);
    if (e->status != IG_MF_ADDED && (!e->has_sequence_number || !e->has_file_sequence_number))
        return ig_err(eb, IG_EINVAL, "manifest: %s entry %.*s needs explicit sequence numbers",
                      e->status == IG_MF_EXISTING ? "EXISTING" : "DELETED",
                      (int)(f->path.len > 200 ? 200 : f->path.len), f->path.ptr ? f->path.ptr : "");
    if (!f->path.ptr || !f->path.len)
        return ig_err(eb, IG_EINVAL, "manifest: data file without a path");
    if (f->record_count < 0 || f->file_size < 0)
        return ig_err(eb, IG_EINVAL, "manifest: negative record_count or file_size for %.*s",
                      (int)(f->path.len > 200 ? 200 : f->path.len), f->path.ptr);
    if (f->content < 0 || f->content > 2)
        return ig_err(eb, IG_EINVAL, "manifest: data file content %d", (int)f->content);
    if (f->npartition != w->nparts)
        return ig_err(eb, IG_EINVAL, "manifest: %zu partition values for a spec of %zu fields",
                      f->npartition, w->nparts);
    for (size_t i = 0; i < w->nparts; i++) {
        const ig_mf_pvalue *v = &f->partition[i];
        if (v->type != IG_MF_P_NULL && v->type != w->parts[i].type)
            return ig_err(eb, IG_EINVAL, "manifest: partition value %s has the wrong type",
                          w->parts[i].name);
        if (v->type == IG_MF_P_INT && (v->i < INT32_MIN || v->i > INT32_MAX))
            return ig_err(eb, IG_ERANGE, "manifest: partition value %s out of the int range",
                          w->parts[i].name);
    }
    for (size_t i = 0; i < f->nmetrics; i++)
        for (size_t j = 0; j < i; j++)
            if (f->metrics[i].field_id == f->metrics[j].field_id)
                return ig_err(eb, IG_EINVAL, "manifest: metrics for field id %d given twice",
                              (int)f->metrics[i].field_id);
    for (size_t i = 1; i < f->nsplit_offsets; i++)
        if (f->split_offsets[i] < f->split_offsets[i - 1])
            return ig_err(eb, IG_EINVAL, "manifest: split offsets not ascending");

    ig_buf *b = avro_writer_datum(&w->aw);
    size_t mark = b->len;
    int rc = avro_put_int(b, (int32_t)e->status);
    if (rc == 0)
        rc = put_opt_long(b, e->has_snapshot_id, e->snapshot_id);
    if (rc == 0)
        rc = put_opt_long(b, e->has_sequence_number, e->sequence_number);
    if (rc == 0)
        rc = put_opt_long(b, e->has_file_sequence_number, e->file_sequence_number);
    if (rc == 0)
        rc = avro_put_int(b, f->content);
    if (rc == 0)
        rc = avro_put_string(b, f->path);
    if (rc == 0)
        rc = avro_put_string(b, f->format.ptr ? f->format : IG_STR("PARQUET"));
    for (size_t i = 0; rc == 0 && i < w->nparts; i++) {
        const ig_mf_pvalue *v = &f->partition[i];
        rc = avro_put_union(b, v->type == IG_MF_P_NULL ? 0 : 1);
        if (rc == 0 && v->type == IG_MF_P_STRING)
            rc = avro_put_string(b, v->s.ptr ? v->s : IG_STR(""));
        else if (rc == 0 && v->type != IG_MF_P_NULL)
            rc = avro_put_long(b, v->i);
    }
    if (rc == 0)
        rc = avro_put_long(b, f->record_count);
    if (rc == 0)
        rc = avro_put_long(b, f->file_size);
    for (int which = 0; rc == 0 && which < 6; which++)
        rc = put_metric_map(b, f, which);
    if (rc == 0)
        rc = put_opt_bytes(b, f->key_metadata);
    if (rc == 0) {
        rc = avro_put_union(b, f->nsplit_offsets ? 1 : 0);
        if (rc == 0 && f->nsplit_offsets) {
            rc = avro_put_block(b, (int64_t)f->nsplit_offsets);
            for (size_t i = 0; rc == 0 && i < f->nsplit_offsets; i++)
                rc = avro_put_long(b, f->split_offsets[i]);
            if (rc == 0)
                rc = avro_put_block_end(b);
        }
    }
    if (rc == 0)
        rc = avro_put_union(b, 0); /* equality_ids: null for data files */
    if (rc == 0)
        rc = put_opt_long(b, f->has_sort_order_id, f->sort_order_id);
    if (rc == 0)
        rc = avro_put_union(b, 0); /* referenced_data_file */
    if (rc) {
        b->len = mark; /* the entry is dropped as a whole */
        return ig_err(eb, rc, "manifest: entry too large or out of memory: %s", ig_strerror(rc));
    }
    rc = avro_writer_end_datum(&w->aw, 0);
    if (rc)
        return ig_err(eb, rc, "manifest: file cap reached: %s", ig_strerror(rc));

    ig_mf_summary *s = &w->sum;
    switch (e->status) {
    case IG_MF_ADDED:
        s->added_files++;
        s->added_rows += f->record_count;
        if (!e->has_sequence_number) {
            s->has_inherited = true;
        } else {
            if (!s->has_min_seq || e->sequence_number < s->min_seq)
                s->min_seq = e->sequence_number;
            s->has_min_seq = true;
        }
        break;
    case IG_MF_EXISTING:
        s->existing_files++;
        s->existing_rows += f->record_count;
        if (!s->has_min_seq || e->sequence_number < s->min_seq)
            s->min_seq = e->sequence_number;
        s->has_min_seq = true;
        break;
    case IG_MF_DELETED:
        s->deleted_files++;
        s->deleted_rows += f->record_count;
        break;
    }
    for (size_t i = 0; rc == 0 && i < w->nparts; i++)
        rc = track_partition(&w->parts[i], &f->partition[i]);
    return rc;
}

static ig_str le_bytes(ig_arena *a, int64_t v, size_t n)
{
    uint8_t *p = ig_arena_alloc(a, n);
    if (!p)
        return IG_STR_NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((uint64_t)v >> (8 * i));
    return ig_str_make(p, n);
}

int ig_manifest_writer_finish(ig_manifest_writer *w, ig_buf *out, ig_mf_summary *sum, ig_errbuf *eb)
{
    if (sum)
        memset(sum, 0, sizeof *sum); /* always safe to pass to ig_mf_summary_free */
    if (w->done)
        return ig_err(eb, IG_EINVAL, "manifest: finished twice");
    w->done = true;
    int rc = avro_writer_finish(&w->aw);
    if (rc)
        return ig_err(eb, rc, "manifest: %s", ig_strerror(rc));
    rc = ig_buf_append(out, w->file.data, w->file.len);
    if (rc)
        return ig_err(eb, rc, "manifest: output buffer: %s", ig_strerror(rc));
    if (!sum)
        return 0;
    *sum = w->sum;
    sum->spec_id = w->spec_id;
    sum->content = (int32_t)w->content;
    ig_arena_init(&sum->arena, 0);
    sum->npartitions = w->nparts;
    sum->partitions = ig_arena_zalloc(&sum->arena, (w->nparts + 1) * sizeof *sum->partitions);
    if (!sum->partitions)
        return IG_ENOMEM;
    for (size_t i = 0; i < w->nparts; i++) {
        const pfield *p = &w->parts[i];
        ig_mf_field_summary *fs = &sum->partitions[i];
        fs->contains_null = p->contains_null;
        fs->contains_nan = 0;
        if (!p->has_bounds)
            continue;
        if (p->type == IG_MF_P_STRING) {
            fs->lower = ig_arena_strdup(&sum->arena, ig_buf_str(&p->lo_s));
            fs->upper = ig_arena_strdup(&sum->arena, ig_buf_str(&p->hi_s));
        } else {
            size_t n = p->type == IG_MF_P_INT ? 4 : 8;
            fs->lower = le_bytes(&sum->arena, p->lo_i, n);
            fs->upper = le_bytes(&sum->arena, p->hi_i, n);
        }
        if (!fs->lower.ptr || !fs->upper.ptr)
            return IG_ENOMEM;
    }
    return 0;
}

void ig_mf_summary_free(ig_mf_summary *s)
{
    ig_arena_free(&s->arena);
    s->partitions = NULL;
    s->npartitions = 0;
}

int ig_mf_metrics_from_pq(const pq_write_result *res, const pq_schema *schema, ig_arena *a,
                          ig_mf_metric **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    ig_mf_metric *m = ig_arena_zalloc(a, (res->ncols + 1) * sizeof *m);
    if (!m)
        return IG_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < res->ncols; i++) {
        const pq_col_result *c = &res->cols[i];
        if (c->field_id < 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            dup |= m[j].field_id == c->field_id;
        if (dup)
            continue;
        bool is_float = false;
        if (schema && i < schema->ncols)
            is_float = schema->cols[i].phys == PQ_FLOAT || schema->cols[i].phys == PQ_DOUBLE;
        m[k] = (ig_mf_metric){
            .field_id = c->field_id,
            .column_size = (int64_t)c->compressed_size,
            .value_count = (int64_t)c->value_count,
            .null_count = (int64_t)c->null_count,
            .nan_count = is_float || (!schema && c->nan_count) ? (int64_t)c->nan_count : -1,
            .lower = c->has_bounds ? c->lower : IG_STR_NULL,
            .upper = c->has_bounds ? c->upper : IG_STR_NULL,
        };
        if (c->has_bounds) {
            m[k].lower = ig_arena_strdup(a, c->lower);
            m[k].upper = ig_arena_strdup(a, c->upper);
            if (!m[k].lower.ptr || !m[k].upper.ptr)
                return IG_ENOMEM;
        }
        k++;
    }
    *out = m;
    *n = k;
    return 0;
}

/* ---- manifest list writer ------------------------------------------------------------- */

void ig_mf_list_entry_from_summary(const ig_mf_summary *sum, ig_str path, int64_t length,
                                   int64_t seq, int64_t snapshot_id, ig_mf_list_entry *e)
{
    memset(e, 0, sizeof *e);
    e->manifest_path = path;
    e->manifest_length = length;
    e->partition_spec_id = sum->spec_id;
    e->content = sum->content;
    e->sequence_number = seq;
    /* minimum data sequence number of the live files: explicit ones, and seq for ADDED
     * entries that inherit it; seq when nothing is live */
    int64_t min = sum->has_min_seq ? sum->min_seq : seq;
    if (sum->has_inherited && seq < min)
        min = seq;
    e->min_sequence_number = min;
    e->added_snapshot_id = snapshot_id;
    e->added_files_count = sum->added_files;
    e->existing_files_count = sum->existing_files;
    e->deleted_files_count = sum->deleted_files;
    e->added_rows_count = sum->added_rows;
    e->existing_rows_count = sum->existing_rows;
    e->deleted_rows_count = sum->deleted_rows;
    e->partitions = sum->partitions;
    e->npartitions = sum->npartitions;
    e->has_partitions = true;
}

int ig_manifest_list_write(const ig_mf_list_meta *meta, const ig_mf_list_entry *entries, size_t n,
                           avro_codec codec, const uint8_t *sync, ig_buf *out, ig_errbuf *eb)
{
    if (meta->format_version != 2)
        return ig_err(eb, IG_EUNSUPPORTED, "manifest list: format version %d (only 2)",
                      meta->format_version);
    char sid[24], pid[24], seq[24];
    snprintf(sid, sizeof sid, "%lld", (long long)meta->snapshot_id);
    if (meta->has_parent)
        snprintf(pid, sizeof pid, "%lld", (long long)meta->parent_snapshot_id);
    else
        snprintf(pid, sizeof pid, "null");
    snprintf(seq, sizeof seq, "%lld", (long long)meta->sequence_number);
    avro_meta md[] = {{"snapshot-id", ig_str_from(sid)},
                      {"parent-snapshot-id", ig_str_from(pid)},
                      {"sequence-number", ig_str_from(seq)},
                      {"format-version", IG_STR("2")}};
    avro_writer w;
    int rc = avro_writer_init(&w, out, IG_STR(LIST_SCHEMA), codec, md, 4, sync);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const ig_mf_list_entry *e = &entries[i];
        if (!e->manifest_path.ptr || e->manifest_length < 0 || e->added_files_count < 0 ||
            e->existing_files_count < 0 || e->deleted_files_count < 0 || e->added_rows_count < 0 ||
            e->existing_rows_count < 0 || e->deleted_rows_count < 0) {
            avro_writer_free(&w);
            return ig_err(eb, IG_EINVAL,
                          "manifest list: entry %zu has no path or a negative "
                          "count",
                          i);
        }
        ig_buf *b = avro_writer_datum(&w);
        rc = avro_put_string(b, e->manifest_path);
        if (rc == 0)
            rc = avro_put_long(b, e->manifest_length);
        if (rc == 0)
            rc = avro_put_int(b, e->partition_spec_id);
        if (rc == 0)
            rc = avro_put_int(b, e->content);
        if (rc == 0)
            rc = avro_put_long(b, e->sequence_number);
        if (rc == 0)
            rc = avro_put_long(b, e->min_sequence_number);
        if (rc == 0)
            rc = avro_put_long(b, e->added_snapshot_id);
        if (rc == 0)
            rc = avro_put_int(b, e->added_files_count);
        if (rc == 0)
            rc = avro_put_int(b, e->existing_files_count);
        if (rc == 0)
            rc = avro_put_int(b, e->deleted_files_count);
        if (rc == 0)
            rc = avro_put_long(b, e->added_rows_count);
        if (rc == 0)
            rc = avro_put_long(b, e->existing_rows_count);
        if (rc == 0)
            rc = avro_put_long(b, e->deleted_rows_count);
        if (rc == 0)
            rc = avro_put_union(b, e->has_partitions ? 1 : 0);
        if (rc == 0 && e->has_partitions) {
            rc = avro_put_block(b, (int64_t)e->npartitions);
            for (size_t j = 0; rc == 0 && j < e->npartitions; j++) {
                const ig_mf_field_summary *fs = &e->partitions[j];
                rc = avro_put_bool(b, fs->contains_null);
                if (rc == 0)
                    rc = avro_put_union(b, fs->contains_nan < 0 ? 0 : 1);
                if (rc == 0 && fs->contains_nan >= 0)
                    rc = avro_put_bool(b, fs->contains_nan > 0);
                if (rc == 0)
                    rc = put_opt_bytes(b, fs->lower);
                if (rc == 0)
                    rc = put_opt_bytes(b, fs->upper);
            }
            if (rc == 0)
                rc = avro_put_block_end(b);
        }
        if (rc == 0)
            rc = put_opt_bytes(b, e->key_metadata);
        rc = avro_writer_end_datum(&w, rc);
    }
    if (rc == 0)
        rc = avro_writer_finish(&w);
    avro_writer_free(&w);
    if (rc)
        return ig_err(eb, rc, "manifest list: %s", ig_strerror(rc));
    return 0;
}

/* ---- reading -------------------------------------------------------------------------- */

static const avro_value *by_id(const avro_value *rec, int32_t id)
{
    if (!rec || rec->kind != AVRO_RECORD)
        return NULL;
    for (size_t i = 0; i < rec->schema->nfields && i < rec->u.c.n; i++)
        if (rec->schema->fields[i].field_id == id)
            return &rec->u.c.items[i];
    return NULL;
}

static int need(const avro_value *v, avro_kind k, bool nullable, int32_t id, ig_errbuf *eb)
{
    if (!v)
        return ig_err(eb, IG_ECORRUPT, "manifest: field id %d missing", (int)id);
    if (v->kind == k || (nullable && v->kind == AVRO_NULL))
        return 0;
    return ig_err(eb, IG_ECORRUPT, "manifest: field id %d is %s, expected %s", (int)id,
                  avro_kind_name(v->kind), avro_kind_name(k));
}

static int get_long(const avro_value *rec, int32_t id, int64_t *out, ig_errbuf *eb)
{
    const avro_value *v = by_id(rec, id);
    if (v && v->kind == AVRO_INT) {
        *out = v->u.l;
        return 0;
    }
    int rc = need(v, AVRO_LONG, false, id, eb);
    if (rc == 0)
        *out = v->u.l;
    return rc;
}

static int get_int(const avro_value *rec, int32_t id, int32_t *out, ig_errbuf *eb)
{
    const avro_value *v = by_id(rec, id);
    int rc = need(v, AVRO_INT, false, id, eb);
    if (rc == 0)
        *out = (int32_t)v->u.l;
    return rc;
}

static int get_opt_long(const avro_value *rec, int32_t id, bool *has, int64_t *out, ig_errbuf *eb)
{
    const avro_value *v = by_id(rec, id);
    *has = false;
    *out = 0;
    if (!v)
        return 0; /* optional: absent field = null */
    if (v->kind == AVRO_INT || v->kind == AVRO_LONG) {
        *has = true;
        *out = v->u.l;
        return 0;
    }
    return need(v, AVRO_LONG, true, id, eb);
}

static int get_opt_bytes(const avro_value *rec, int32_t id, ig_str *out, ig_errbuf *eb)
{
    const avro_value *v = by_id(rec, id);
    *out = IG_STR_NULL;
    if (!v || v->kind == AVRO_NULL)
        return 0;
    if (v->kind != AVRO_BYTES && v->kind != AVRO_STRING && v->kind != AVRO_FIXED)
        return need(v, AVRO_BYTES, true, id, eb);
    *out = v->u.s.ptr ? v->u.s : IG_STR("");
    return 0;
}

static int meta_i64(const avro_reader *r, const char *key, bool required, int64_t *out,
                    ig_errbuf *eb)
{
    ig_str v;
    if (avro_reader_meta(r, key, &v) != 0)
        return required ? ig_err(eb, IG_ECORRUPT, "manifest: header key %s missing", key) : 1;
    if (ig_str_to_i64(v, out) != 0)
        return ig_err(eb, IG_ECORRUPT, "manifest: header key %s is not an integer", key);
    return 0;
}

int ig_manifest_reader_open(ig_manifest_reader *r, ig_str file, ig_errbuf *eb)
{
    memset(r, 0, sizeof *r);
    int rc = avro_reader_open(&r->avro, file, NULL, eb);
    if (rc)
        return rc;
    int64_t v;
    if ((rc = meta_i64(&r->avro, "format-version", true, &v, eb)) != 0)
        return r->avro.rc = rc;
    if (v != 2)
        return r->avro.rc =
                   ig_err(eb, IG_EUNSUPPORTED, "manifest: format-version %lld", (long long)v);
    r->format_version = 2;
    if ((rc = meta_i64(&r->avro, "partition-spec-id", true, &v, eb)) != 0)
        return r->avro.rc = rc;
    r->spec_id = (int32_t)v;
    r->schema_id = -1;
    if ((rc = meta_i64(&r->avro, "schema-id", false, &v, eb)) < 0)
        return r->avro.rc = rc;
    if (rc == 0)
        r->schema_id = (int32_t)v;
    avro_reader_meta(&r->avro, "schema", &r->schema_json);
    avro_reader_meta(&r->avro, "partition-spec", &r->spec_json);
    ig_str content = IG_STR("data");
    avro_reader_meta(&r->avro, "content", &content);
    if (ig_str_eq_cstr(content, "data"))
        r->content = IG_MF_CONTENT_DATA;
    else if (ig_str_eq_cstr(content, "deletes"))
        r->content = IG_MF_CONTENT_DELETES;
    else
        return r->avro.rc = ig_err(eb, IG_ECORRUPT, "manifest: content is not data/deletes");
    const avro_schema *s = r->avro.schema;
    const avro_schema *df = NULL, *part = NULL;
    if (s->kind == AVRO_RECORD)
        for (size_t i = 0; i < s->nfields; i++)
            if (s->fields[i].field_id == 2)
                df = s->fields[i].type;
    if (df && df->kind == AVRO_RECORD)
        for (size_t i = 0; i < df->nfields; i++)
            if (df->fields[i].field_id == 102)
                part = df->fields[i].type;
    if (!part || part->kind != AVRO_RECORD)
        return r->avro.rc = ig_err(eb, IG_ECORRUPT,
                                   "manifest: the schema has no data_file "
                                   "(2) record with a partition (102) record");
    r->npart = part->nfields;
    r->part_ids = ig_arena_alloc(&r->avro.arena, (part->nfields + 1) * sizeof(int32_t));
    if (!r->part_ids)
        return r->avro.rc = IG_ENOMEM;
    for (size_t i = 0; i < part->nfields; i++)
        r->part_ids[i] = part->fields[i].field_id;
    return 0;
}

typedef struct mitem {
    int32_t key;
    int which;
    const avro_value *val;
} mitem;

static int cmp_mitem(const void *a, const void *b)
{
    const mitem *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->which - y->which;
}

static const int32_t MAP_IDS[6] = {108, 109, 110, 137, 125, 128};

static int read_metrics(const avro_value *df, ig_arena *a, ig_mf_data_file *f, ig_errbuf *eb)
{
    size_t total = 0;
    const avro_value *maps[6];
    for (int w = 0; w < 6; w++) {
        maps[w] = by_id(df, MAP_IDS[w]);
        if (maps[w] && maps[w]->kind == AVRO_NULL)
            maps[w] = NULL;
        if (maps[w] && maps[w]->kind != AVRO_ARRAY)
            return ig_err(eb, IG_ECORRUPT,
                          "manifest: field id %d is not an array of key/value "
                          "records",
                          (int)MAP_IDS[w]);
        if (maps[w])
            total += maps[w]->u.c.n;
    }
    if (total == 0)
        return 0;
    mitem *items = ig_arena_alloc(a, total * sizeof *items);
    if (!items)
        return IG_ETOOBIG;
    size_t k = 0;
    for (int w = 0; w < 6; w++) {
        if (!maps[w])
            continue;
        for (size_t i = 0; i < maps[w]->u.c.n; i++) {
            const avro_value *kv = &maps[w]->u.c.items[i];
            const avro_value *key = avro_value_get(kv, "key"), *val = avro_value_get(kv, "value");
            bool bytes = w >= 4;
            if (!key || key->kind != AVRO_INT || !val ||
                (bytes ? val->kind != AVRO_BYTES : val->kind != AVRO_LONG))
                return ig_err(eb, IG_ECORRUPT, "manifest: bad key/value record in field id %d",
                              (int)MAP_IDS[w]);
            items[k++] = (mitem){(int32_t)key->u.l, w, val};
        }
    }
    qsort(items, k, sizeof *items, cmp_mitem);
    ig_mf_metric *m = ig_arena_alloc(a, k * sizeof *m);
    if (!m)
        return IG_ETOOBIG;
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (n == 0 || m[n - 1].field_id != items[i].key) {
            m[n++] = (ig_mf_metric){.field_id = items[i].key,
                                    .column_size = -1,
                                    .value_count = -1,
                                    .null_count = -1,
                                    .nan_count = -1};
        } else if (i && items[i - 1].which == items[i].which) {
            return ig_err(eb, IG_ECORRUPT, "manifest: field id %d twice in map %d",
                          (int)items[i].key, (int)MAP_IDS[items[i].which]);
        }
        ig_mf_metric *x = &m[n - 1];
        const avro_value *v = items[i].val;
        switch (items[i].which) {
        case 0:
            x->column_size = v->u.l;
            break;
        case 1:
            x->value_count = v->u.l;
            break;
        case 2:
            x->null_count = v->u.l;
            break;
        case 3:
            x->nan_count = v->u.l;
            break;
        case 4:
            x->lower = v->u.s.ptr ? v->u.s : IG_STR("");
            break;
        default:
            x->upper = v->u.s.ptr ? v->u.s : IG_STR("");
            break;
        }
    }
    f->metrics = m;
    f->nmetrics = n;
    return 0;
}

int ig_manifest_reader_next(ig_manifest_reader *r, ig_arena *a, ig_mf_entry *e, ig_errbuf *eb)
{
    avro_value v;
    int rc = avro_reader_next(&r->avro, a, &v, eb);
    if (rc <= 0)
        return rc;
    memset(e, 0, sizeof *e);
    int32_t status;
    if ((rc = get_int(&v, 0, &status, eb)) != 0)
        return r->avro.rc = rc;
    if (status < 0 || status > 2)
        return r->avro.rc = ig_err(eb, IG_ECORRUPT, "manifest: status %d", (int)status);
    e->status = (ig_mf_status)status;
    if ((rc = get_opt_long(&v, 1, &e->has_snapshot_id, &e->snapshot_id, eb)) != 0 ||
        (rc = get_opt_long(&v, 3, &e->has_sequence_number, &e->sequence_number, eb)) != 0 ||
        (rc = get_opt_long(&v, 4, &e->has_file_sequence_number, &e->file_sequence_number, eb)) != 0)
        return r->avro.rc = rc;
    const avro_value *df = by_id(&v, 2);
    if ((rc = need(df, AVRO_RECORD, false, 2, eb)) != 0)
        return r->avro.rc = rc;
    ig_mf_data_file *f = &e->file;
    const avro_value *x;
    int32_t content = 0;
    if (by_id(df, 134) && (rc = get_int(df, 134, &content, eb)) != 0)
        return r->avro.rc = rc;
    f->content = content;
    x = by_id(df, 100);
    if ((rc = need(x, AVRO_STRING, false, 100, eb)) != 0)
        return r->avro.rc = rc;
    f->path = x->u.s;
    x = by_id(df, 101);
    if ((rc = need(x, AVRO_STRING, false, 101, eb)) != 0)
        return r->avro.rc = rc;
    f->format = x->u.s;
    if ((rc = get_long(df, 103, &f->record_count, eb)) != 0 ||
        (rc = get_long(df, 104, &f->file_size, eb)) != 0)
        return r->avro.rc = rc;
    const avro_value *part = by_id(df, 102);
    if ((rc = need(part, AVRO_RECORD, false, 102, eb)) != 0)
        return r->avro.rc = rc;
    ig_mf_pvalue *pv = ig_arena_zalloc(a, (part->u.c.n + 1) * sizeof *pv);
    if (!pv)
        return r->avro.rc = IG_ETOOBIG;
    for (size_t i = 0; i < part->u.c.n; i++) {
        const avro_value *p = &part->u.c.items[i];
        switch (p->kind) {
        case AVRO_NULL:
            pv[i].type = IG_MF_P_NULL;
            break;
        case AVRO_STRING:
            pv[i].type = IG_MF_P_STRING;
            pv[i].s = p->u.s.ptr ? p->u.s : IG_STR("");
            break;
        case AVRO_INT:
            pv[i].type = IG_MF_P_INT;
            pv[i].i = p->u.l;
            break;
        case AVRO_LONG:
            pv[i].type = IG_MF_P_LONG;
            pv[i].i = p->u.l;
            break;
        default:
            return r->avro.rc = ig_err(eb, IG_EUNSUPPORTED, "manifest: partition value of type %s",
                                       avro_kind_name(p->kind));
        }
    }
    f->partition = pv;
    f->npartition = part->u.c.n;
    if ((rc = read_metrics(df, a, f, eb)) != 0)
        return r->avro.rc = rc;
    if ((rc = get_opt_bytes(df, 131, &f->key_metadata, eb)) != 0)
        return r->avro.rc = rc;
    x = by_id(df, 132);
    if (x && x->kind == AVRO_ARRAY) {
        int64_t *so = ig_arena_alloc(a, (x->u.c.n + 1) * sizeof *so);
        if (!so)
            return r->avro.rc = IG_ETOOBIG;
        for (size_t i = 0; i < x->u.c.n; i++) {
            if (x->u.c.items[i].kind != AVRO_LONG)
                return r->avro.rc = ig_err(eb, IG_ECORRUPT, "manifest: split offset not a long");
            so[i] = x->u.c.items[i].u.l;
        }
        f->split_offsets = so;
        f->nsplit_offsets = x->u.c.n;
    } else if (x && x->kind != AVRO_NULL) {
        return r->avro.rc = ig_err(eb, IG_ECORRUPT, "manifest: split_offsets not an array");
    }
    int64_t so_id;
    if ((rc = get_opt_long(df, 140, &f->has_sort_order_id, &so_id, eb)) != 0)
        return r->avro.rc = rc;
    f->sort_order_id = (int32_t)so_id;
    return 1;
}

void ig_manifest_reader_close(ig_manifest_reader *r)
{
    avro_reader_close(&r->avro);
}

int ig_manifest_list_read(ig_str file, ig_arena *a, ig_mf_list_meta *meta,
                          ig_mf_list_entry **entries, size_t *n, ig_errbuf *eb)
{
    avro_reader r;
    *entries = NULL;
    *n = 0;
    memset(meta, 0, sizeof *meta);
    int rc = avro_reader_open(&r, file, NULL, eb);
    int64_t v;
    if (rc == 0 && (rc = meta_i64(&r, "format-version", true, &v, eb)) == 0 && v != 2)
        rc = ig_err(eb, IG_EUNSUPPORTED, "manifest list: format-version %lld", (long long)v);
    if (rc == 0) {
        meta->format_version = 2;
        if ((rc = meta_i64(&r, "snapshot-id", false, &meta->snapshot_id, eb)) > 0)
            rc = 0;
    }
    if (rc == 0 && (rc = meta_i64(&r, "sequence-number", false, &meta->sequence_number, eb)) > 0)
        rc = 0;
    ig_str pv;
    if (rc == 0 && avro_reader_meta(&r, "parent-snapshot-id", &pv) == 0 &&
        !ig_str_eq_cstr(pv, "null")) {
        if (ig_str_to_i64(pv, &meta->parent_snapshot_id) != 0)
            rc = ig_err(eb, IG_ECORRUPT, "manifest list: parent-snapshot-id not an integer");
        meta->has_parent = true;
    }
    size_t cap = 0;
    ig_mf_list_entry *out = NULL;
    avro_value rec;
    while (rc == 0 && (rc = avro_reader_next(&r, a, &rec, eb)) > 0) {
        rc = 0;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            ig_mf_list_entry *ne = ig_arena_alloc(a, ncap * sizeof *ne);
            if (!ne) {
                rc = ig_err(eb, IG_ETOOBIG, "manifest list: memory cap reached");
                break;
            }
            if (*n)
                memcpy(ne, out, *n * sizeof *ne);
            out = ne;
            cap = ncap;
        }
        ig_mf_list_entry *e = &out[*n];
        memset(e, 0, sizeof *e);
        const avro_value *x = by_id(&rec, 500);
        if ((rc = need(x, AVRO_STRING, false, 500, eb)) != 0)
            break;
        e->manifest_path = x->u.s;
        if ((rc = get_long(&rec, 501, &e->manifest_length, eb)) != 0 ||
            (rc = get_int(&rec, 502, &e->partition_spec_id, eb)) != 0 ||
            (by_id(&rec, 517) && (rc = get_int(&rec, 517, &e->content, eb)) != 0) ||
            (rc = get_long(&rec, 515, &e->sequence_number, eb)) != 0 ||
            (rc = get_long(&rec, 516, &e->min_sequence_number, eb)) != 0 ||
            (rc = get_long(&rec, 503, &e->added_snapshot_id, eb)) != 0 ||
            (rc = get_int(&rec, 504, &e->added_files_count, eb)) != 0 ||
            (rc = get_int(&rec, 505, &e->existing_files_count, eb)) != 0 ||
            (rc = get_int(&rec, 506, &e->deleted_files_count, eb)) != 0 ||
            (rc = get_long(&rec, 512, &e->added_rows_count, eb)) != 0 ||
            (rc = get_long(&rec, 513, &e->existing_rows_count, eb)) != 0 ||
            (rc = get_long(&rec, 514, &e->deleted_rows_count, eb)) != 0 ||
            (rc = get_opt_bytes(&rec, 519, &e->key_metadata, eb)) != 0)
            break;
        x = by_id(&rec, 507);
        if (x && x->kind == AVRO_ARRAY) {
            ig_mf_field_summary *fs = ig_arena_zalloc(a, (x->u.c.n + 1) * sizeof *fs);
            if (!fs) {
                rc = ig_err(eb, IG_ETOOBIG, "manifest list: memory cap reached");
                break;
            }
            for (size_t i = 0; rc == 0 && i < x->u.c.n; i++) {
                const avro_value *s = &x->u.c.items[i];
                const avro_value *cn = by_id(s, 509), *nan = by_id(s, 518);
                if ((rc = need(cn, AVRO_BOOLEAN, false, 509, eb)) != 0)
                    break;
                fs[i].contains_null = cn->u.b;
                fs[i].contains_nan = -1;
                if (nan && nan->kind == AVRO_BOOLEAN)
                    fs[i].contains_nan = nan->u.b;
                if ((rc = get_opt_bytes(s, 510, &fs[i].lower, eb)) != 0 ||
                    (rc = get_opt_bytes(s, 511, &fs[i].upper, eb)) != 0)
                    break;
            }
            e->partitions = fs;
            e->npartitions = x->u.c.n;
            e->has_partitions = true;
        } else if (x && x->kind != AVRO_NULL) {
            rc = ig_err(eb, IG_ECORRUPT, "manifest list: partitions not an array");
        }
        if (rc == 0)
            (*n)++;
    }
    avro_reader_close(&r);
    if (rc < 0)
        return rc;
    *entries = out;
    return 0;
}
