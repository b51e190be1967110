/* avrotool: Avro container files and Iceberg manifests from the command line.
 *
 *   avrotool cat FILE                     one JSON line per object (bytes as hex)
 *   avrotool meta FILE                    the header metadata as one JSON object
 *   avrotool write-sample-manifest DIR    writes DIR/manifest.avro (deflate),
 *                                         DIR/manifest-null.avro (null codec),
 *                                         DIR/manifest-list.avro and DIR/expected.json
 *                                         (what was written, for the interop test)
 * Exit status 0 on success, 1 on error (message on stderr). */
#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/avro.h"
#include "icegate/buf.h"
#include "icegate/json.h"
#include "icegate/manifest.h"

static int read_file(const char *path, ig_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return IG_ENOENT;
    char tmp[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rc = ig_buf_append(out, tmp, n);
    if (ferror(f))
        rc = IG_EIO;
    fclose(f);
    return rc;
}

static int write_file(const char *dir, const char *name, ig_str data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return IG_EIO;
    size_t w = fwrite(data.ptr, 1, data.len, f);
    int rc = fclose(f);
    return w == data.len && rc == 0 ? 0 : IG_EIO;
}

static int cmd_cat(const char *path, bool meta_only)
{
    ig_buf file;
    ig_buf_init(&file, 1u << 30);
    ig_errbuf eb = {{0}};
    int rc = read_file(path, &file);
    if (rc) {
        fprintf(stderr, "avrotool: %s: %s\n", path, ig_strerror(rc));
        ig_buf_free(&file);
        return 1;
    }
    avro_reader r;
    rc = avro_reader_open(&r, ig_buf_str(&file), NULL, &eb);
    ig_buf line;
    ig_buf_init(&line, 0);
    if (rc == 0 && meta_only) {
        json_writer w;
        json_writer_init(&w, &line);
        json_w_obj_begin(&w);
        for (size_t i = 0; i < r.nmeta; i++) {
            json_w_key(&w, r.meta_keys[i]);
            json_w_str(&w, r.meta_vals[i]);
        }
        json_w_obj_end(&w);
        rc = json_writer_finish(&w);
        if (rc == 0)
            printf("%s\n", line.data);
    }
    while (rc == 0 && !meta_only) {
        ig_arena a;
        ig_arena_init(&a, 256u << 20);
        avro_value v;
        rc = avro_reader_next(&r, &a, &v, &eb);
        if (rc == 1) {
            ig_buf_reset(&line);
            json_writer w;
            json_writer_init(&w, &line);
            avro_value_to_json(&v, &w);
            rc = json_writer_finish(&w);
            if (rc == 0)
                printf("%s\n", line.data);
        } else if (rc == 0) {
            ig_arena_free(&a);
            break;
        }
        ig_arena_free(&a);
    }
    avro_reader_close(&r);
    ig_buf_free(&line);
    ig_buf_free(&file);
    if (rc < 0) {
        fprintf(stderr, "avrotool: %s: %s: %s\n", path, ig_strerror(rc), eb.msg);
        return 1;
    }
    return 0;
}

static const char SAMPLE_SCHEMA[] =
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"tenant_id\",\"required\":true,\"type\":\"string\"},"
    "{\"id\":2,\"name\":\"account_id\",\"required\":false,\"type\":\"string\"},"
    "{\"id\":3,\"name\":\"timestamp\",\"required\":true,\"type\":\"timestamptz\"},"
    "{\"id\":4,\"name\":\"body\",\"required\":false,\"type\":\"string\"},"
    "{\"id\":5,\"name\":\"value\",\"required\":false,\"type\":\"double\"}]}";
static const char SAMPLE_SPEC[] =
    "{\"spec-id\":0,\"fields\":["
    "{\"name\":\"tenant_id\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000},"
    "{\"name\":\"account_id\",\"transform\":\"identity\",\"source-id\":2,\"field-id\":1001},"
    "{\"name\":\"timestamp_day\",\"transform\":\"day\",\"source-id\":3,\"field-id\":1002}]}";

#define SNAP 7318923476283746231LL /* above 2^53: BigInt must keep it exact */
#define PARENT 5000000000000000001LL

static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int write_manifest(avro_codec codec, ig_buf *out, ig_mf_summary *sum, ig_errbuf *eb)
{
    ig_manifest_writer_opts o = {.schema_json = IG_STR(SAMPLE_SCHEMA),
                                 .schema_id = 0,
                                 .spec_json = IG_STR(SAMPLE_SPEC),
                                 .spec_id = 0,
                                 .format_version = 2,
                                 .content = IG_MF_CONTENT_DATA,
                                 .codec = codec};
    ig_manifest_writer *w;
    int rc = ig_manifest_writer_new(&o, &w, eb);
    if (rc)
        return rc;
    static uint8_t ts_lo[8], ts_hi[8], v_lo[8], v_hi[8];
    le(ts_lo, 1704067200000000ull, 8);
    le(ts_hi, 1704153599999999ull, 8);
    double d1 = -1.5, d2 = 1e300;
    uint64_t u;
    memcpy(&u, &d1, 8);
    le(v_lo, u, 8);
    memcpy(&u, &d2, 8);
    le(v_hi, u, 8);
    ig_mf_metric m1[] = {
        {1, 40, 10, 0, -1, IG_STR("acme"), IG_STR("acme")},
        {2, 30, 10, 4, -1, IG_STR("a1"), IG_STR("a2")},
        {3, 80, 10, 0, -1, ig_str_make(ts_lo, 8), ig_str_make(ts_hi, 8)},
        {4, 200, 10, 1, -1, IG_STR("hello"), IG_STR("w\xc3\xb6rld")},
        {5, 88, 10, 2, 1, ig_str_make(v_lo, 8), ig_str_make(v_hi, 8)},
    };
    ig_mf_pvalue p1[] = {{IG_MF_P_STRING, IG_STR("acme"), 0},
                         {IG_MF_P_STRING, IG_STR("a1"), 0},
                         {IG_MF_P_INT, IG_STR_NULL, 19723}};
    ig_mf_pvalue p2[] = {{IG_MF_P_STRING, IG_STR("acme"), 0},
                         {IG_MF_P_NULL, IG_STR_NULL, 0},
                         {IG_MF_P_INT, IG_STR_NULL, 19724}};
    int64_t splits[] = {4, 1048580};
    ig_mf_entry e1 = {.status = IG_MF_ADDED,
                      .has_snapshot_id = true,
                      .snapshot_id = SNAP,
                      .file = {.content = 0,
                               .path = IG_STR("s3://lake/icegate/logs/data/tenant_id=acme/"
                                              "account_id=a1/timestamp_day=2024-01-01/f1.parquet"),
                               .partition = p1,
                               .npartition = 3,
                               .record_count = 10,
                               .file_size = 4321,
                               .metrics = m1,
                               .nmetrics = 5,
                               .split_offsets = splits,
                               .nsplit_offsets = 2,
                               .has_sort_order_id = true,
                               .sort_order_id = 1}};
    ig_mf_entry e2 = {.status = IG_MF_EXISTING,
                      .has_snapshot_id = true,
                      .snapshot_id = PARENT,
                      .has_sequence_number = true,
                      .sequence_number = 3,
                      .has_file_sequence_number = true,
                      .file_sequence_number = 3,
                      .file = {.path = IG_STR("s3://lake/icegate/logs/data/tenant_id=acme/"
                                              "account_id=null/timestamp_day=2024-01-02/"
                                              "f2.parquet"),
                               .partition = p2,
                               .npartition = 3,
                               .record_count = 7,
                               .file_size = 999}};
    ig_mf_entry e3 = e2;
    e3.status = IG_MF_DELETED;
    e3.snapshot_id = SNAP;
    e3.sequence_number = 2;
    e3.file_sequence_number = 2;
    e3.file.path = IG_STR("s3://lake/icegate/logs/data/old.parquet");
    e3.file.record_count = 5;
    e3.file.partition = p1;
    if ((rc = ig_manifest_writer_add(w, &e1, eb)) == 0 &&
        (rc = ig_manifest_writer_add(w, &e2, eb)) == 0 &&
        (rc = ig_manifest_writer_add(w, &e3, eb)) == 0)
        rc = ig_manifest_writer_finish(w, out, sum, eb);
    ig_manifest_writer_free(w);
    return rc;
}

static int cmd_sample(const char *dir)
{
    ig_errbuf eb = {{0}};
    ig_buf m, mnull, list;
    ig_buf_init(&m, 0);
    ig_buf_init(&mnull, 0);
    ig_buf_init(&list, 0);
    ig_mf_summary sum = {0}, sum2 = {0};
    int rc = write_manifest(AVRO_CODEC_DEFLATE, &m, &sum, &eb);
    if (rc == 0)
        rc = write_manifest(AVRO_CODEC_NULL, &mnull, &sum2, &eb);
    ig_mf_list_entry le_[2];
    if (rc == 0) {
        ig_mf_list_entry_from_summary(&sum, IG_STR("s3://lake/icegate/logs/metadata/m0.avro"),
                                      (int64_t)m.len, 4, SNAP, &le_[0]);
        ig_mf_list_entry_from_summary(&sum2, IG_STR("s3://lake/icegate/logs/metadata/m1.avro"),
                                      (int64_t)mnull.len, 4, SNAP, &le_[1]);
        ig_mf_list_meta meta = {.snapshot_id = SNAP,
                                .has_parent = true,
                                .parent_snapshot_id = PARENT,
                                .sequence_number = 4,
                                .format_version = 2};
        rc = ig_manifest_list_write(&meta, le_, 2, AVRO_CODEC_DEFLATE, NULL, &list, &eb);
    }
    if (rc == 0 && ((rc = write_file(dir, "manifest.avro", ig_buf_str(&m))) != 0 ||
                    (rc = write_file(dir, "manifest-null.avro", ig_buf_str(&mnull))) != 0 ||
                    (rc = write_file(dir, "manifest-list.avro", ig_buf_str(&list))) != 0))
        snprintf(eb.msg, sizeof eb.msg, "writing to %s", dir);
    if (rc == 0) {
        char js[512];
        snprintf(js, sizeof js,
                 "{\"snapshot_id\":\"%lld\",\"parent_snapshot_id\":\"%lld\","
                 "\"manifest_length\":%zu,\"manifest_null_length\":%zu,"
                 "\"min_sequence_number\":%lld}\n",
                 (long long)SNAP, (long long)PARENT, m.len, mnull.len,
                 (long long)le_[0].min_sequence_number);
        rc = write_file(dir, "expected.json", ig_str_from(js));
    }
    ig_mf_summary_free(&sum);
    ig_mf_summary_free(&sum2);
    ig_buf_free(&m);
    ig_buf_free(&mnull);
    ig_buf_free(&list);
    if (rc) {
        fprintf(stderr, "avrotool: %s: %s\n", ig_strerror(rc), eb.msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "cat"))
        return cmd_cat(argv[2], false);
    if (argc == 3 && !strcmp(argv[1], "meta"))
        return cmd_cat(argv[2], true);
    if (argc == 3 && !strcmp(argv[1], "write-sample-manifest"))
        return cmd_sample(argv[2]);
    fprintf(stderr, "usage: avrotool cat FILE | meta FILE | write-sample-manifest DIR\n");
    return 2;
}
