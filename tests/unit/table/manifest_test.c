/* Iceberg manifests and manifest lists: round trips, header keys, summaries, refusals,
 * hostile files, allocation failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/manifest.h"

static const char SCHEMA[] =
    "{\"type\":\"struct\",\"schema-id\":3,\"fields\":["
    "{\"id\":1,\"name\":\"tenant_id\",\"required\":true,\"type\":\"string\"},"
    "{\"id\":2,\"name\":\"account_id\",\"required\":false,\"type\":\"string\"},"
    "{\"id\":3,\"name\":\"timestamp\",\"required\":true,\"type\":\"timestamptz\"},"
    "{\"id\":4,\"name\":\"attrs\",\"required\":false,\"type\":{\"type\":\"map\",\"key-id\":5,"
    "\"key\":\"string\",\"value-id\":6,\"value-required\":false,\"value\":\"string\"}}]}";
static const char SPEC[] =
    "{\"spec-id\":0,\"fields\":["
    "{\"name\":\"tenant_id\",\"transform\":\"identity\",\"source-id\":1,\"field-id\":1000},"
    "{\"name\":\"account_id\",\"transform\":\"identity\",\"source-id\":2,\"field-id\":1001},"
    "{\"name\":\"timestamp_day\",\"transform\":\"day\",\"source-id\":3,\"field-id\":1002}]}";

static ig_manifest_writer_opts opts(avro_codec codec)
{
    return (ig_manifest_writer_opts){.schema_json = IG_STR(SCHEMA),
                                     .schema_id = 3,
                                     .spec_json = IG_STR(SPEC),
                                     .spec_id = 0,
                                     .format_version = 2,
                                     .content = IG_MF_CONTENT_DATA,
                                     .codec = codec};
}

static const ig_mf_pvalue P1[] = {{IG_MF_P_STRING, {"t-b", 3}, 0},
                                  {IG_MF_P_STRING, {"acc", 3}, 0},
                                  {IG_MF_P_INT, {NULL, 0}, 19723}};
static const ig_mf_pvalue P2[] = {
    {IG_MF_P_STRING, {"t-a", 3}, 0}, {IG_MF_P_NULL, {NULL, 0}, 0}, {IG_MF_P_INT, {NULL, 0}, -3}};
static const ig_mf_metric M1[] = {
    {1, 11, 5, 0, -1, {"t-b", 3}, {"t-b", 3}},
    {3,
     40,
     5,
     0,
     -1,
     {"\x01\x00\x00\x00\x00\x00\x00\x00", 8},
     {"\x02\x00\x00\x00\x00\x00\x00\x00", 8}},
    {6, -1, 9, 2, -1, {NULL, 0}, {NULL, 0}},
};
static const int64_t SPLITS[] = {4, 100, 5000};

static int write_sample(avro_codec codec, ig_buf *out, ig_mf_summary *sum)
{
    ig_errbuf eb;
    ig_manifest_writer_opts o = opts(codec);
    ig_manifest_writer *w;
    int rc = ig_manifest_writer_new(&o, &w, &eb);
    if (rc)
        return rc;
    ig_mf_entry e = {.status = IG_MF_ADDED,
                     .has_snapshot_id = true,
                     .snapshot_id = INT64_MAX - 5,
                     .file = {.path = IG_STR("file:///lake/a.parquet"),
                              .partition = P1,
                              .npartition = 3,
                              .record_count = 5,
                              .file_size = 1234,
                              .metrics = M1,
                              .nmetrics = 3,
                              .split_offsets = SPLITS,
                              .nsplit_offsets = 3,
                              .has_sort_order_id = true,
                              .sort_order_id = 0}};
    rc = ig_manifest_writer_add(w, &e, &eb);
    ig_mf_entry e2 = {.status = IG_MF_EXISTING,
                      .has_snapshot_id = true,
                      .snapshot_id = 77,
                      .has_sequence_number = true,
                      .sequence_number = 6,
                      .has_file_sequence_number = true,
                      .file_sequence_number = 5,
                      .file = {.path = IG_STR("file:///lake/b.parquet"),
                               .partition = P2,
                               .npartition = 3,
                               .record_count = 8,
                               .file_size = 99}};
    if (rc == 0)
        rc = ig_manifest_writer_add(w, &e2, &eb);
    if (rc == 0)
        rc = ig_manifest_writer_finish(w, out, sum, &eb);
    ig_manifest_writer_free(w);
    return rc;
}

static void test_manifest_roundtrip(void **state)
{
    for (int codec = 0; codec < 2; codec++) {
        ig_buf f;
        ig_buf_init(&f, 0);
        ig_mf_summary sum;
        assert_int_equal(write_sample((avro_codec)codec, &f, &sum), 0);
        assert_int_equal(sum.added_files, 1);
        assert_int_equal(sum.existing_files, 1);
        assert_int_equal(sum.added_rows, 5);
        assert_int_equal(sum.existing_rows, 8);
        assert_true(sum.has_min_seq && sum.min_seq == 6);
        assert_int_equal(sum.npartitions, 3);
        assert_true(ig_str_eq_cstr(sum.partitions[0].lower, "t-a"));
        assert_true(ig_str_eq_cstr(sum.partitions[0].upper, "t-b"));
        assert_false(sum.partitions[0].contains_null);
        assert_true(sum.partitions[1].contains_null);
        assert_true(ig_str_eq_cstr(sum.partitions[1].lower, "acc"));
        assert_true(ig_str_eq(sum.partitions[2].lower, IG_STR("\xfd\xff\xff\xff")));
        assert_true(ig_str_eq(sum.partitions[2].upper, IG_STR("\x0b\x4d\x00\x00")));

        ig_errbuf eb;
        ig_manifest_reader r;
        assert_int_equal(ig_manifest_reader_open(&r, ig_buf_str(&f), &eb), 0);
        assert_int_equal(r.spec_id, 0);
        assert_int_equal(r.schema_id, 3);
        assert_true(ig_str_eq_cstr(r.schema_json, SCHEMA));
        assert_true(r.spec_json.len > 0 && r.spec_json.ptr[0] == '[');
        assert_int_equal(r.npart, 3);
        assert_int_equal(r.part_ids[2], 1002);
        ig_str v;
        assert_int_equal(avro_reader_meta(&r.avro, "content", &v), 0);
        assert_true(ig_str_eq_cstr(v, "data"));
        assert_int_equal(avro_reader_meta(&r.avro, "format-version", &v), 0);
        assert_true(ig_str_eq_cstr(v, "2"));
        ig_arena a;
        ig_arena_init(&a, 1 << 20);
        ig_mf_entry e;
        assert_int_equal(ig_manifest_reader_next(&r, &a, &e, &eb), 1);
        assert_int_equal(e.status, IG_MF_ADDED);
        assert_true(e.has_snapshot_id && e.snapshot_id == INT64_MAX - 5);
        assert_false(e.has_sequence_number);
        assert_false(e.has_file_sequence_number);
        assert_true(ig_str_eq_cstr(e.file.path, "file:///lake/a.parquet"));
        assert_true(ig_str_eq_cstr(e.file.format, "PARQUET"));
        assert_int_equal(e.file.record_count, 5);
        assert_int_equal(e.file.file_size, 1234);
        assert_int_equal(e.file.npartition, 3);
        assert_int_equal(e.file.partition[0].type, IG_MF_P_STRING);
        assert_true(ig_str_eq_cstr(e.file.partition[1].s, "acc"));
        assert_int_equal(e.file.partition[2].type, IG_MF_P_INT);
        assert_int_equal(e.file.partition[2].i, 19723);
        assert_int_equal(e.file.nmetrics, 3);
        assert_int_equal(e.file.metrics[1].field_id, 3);
        assert_int_equal(e.file.metrics[1].column_size, 40);
        assert_int_equal(e.file.metrics[1].nan_count, -1);
        assert_true(ig_str_eq(e.file.metrics[1].upper, M1[1].upper));
        assert_int_equal(e.file.metrics[2].column_size, -1);
        assert_int_equal(e.file.metrics[2].null_count, 2);
        assert_null(e.file.metrics[2].lower.ptr);
        assert_int_equal(e.file.nsplit_offsets, 3);
        assert_int_equal(e.file.split_offsets[2], 5000);
        assert_true(e.file.has_sort_order_id);
        assert_null(e.file.key_metadata.ptr);
        assert_int_equal(ig_manifest_reader_next(&r, &a, &e, &eb), 1);
        assert_int_equal(e.status, IG_MF_EXISTING);
        assert_true(e.has_sequence_number && e.sequence_number == 6);
        assert_true(e.has_file_sequence_number && e.file_sequence_number == 5);
        assert_int_equal(e.file.partition[1].type, IG_MF_P_NULL);
        assert_int_equal(e.file.partition[2].i, -3);
        assert_int_equal(e.file.nmetrics, 0);
        assert_int_equal(e.file.nsplit_offsets, 0);
        assert_int_equal(ig_manifest_reader_next(&r, &a, &e, &eb), 0);
        ig_manifest_reader_close(&r);
        ig_arena_free(&a);

        /* the manifest list entry and file */
        ig_mf_list_entry le;
        ig_mf_list_entry_from_summary(&sum, IG_STR("file:///lake/m.avro"), (int64_t)f.len, 9, 42,
                                      &le);
        assert_int_equal(le.min_sequence_number, 6);
        assert_int_equal(le.sequence_number, 9);
        ig_mf_list_meta meta = {.snapshot_id = 42, .sequence_number = 9, .format_version = 2};
        ig_buf lf;
        ig_buf_init(&lf, 0);
        assert_int_equal(ig_manifest_list_write(&meta, &le, 1, (avro_codec)codec, NULL, &lf, &eb),
                         0);
        ig_arena_init(&a, 1 << 20);
        ig_mf_list_meta m2;
        ig_mf_list_entry *les;
        size_t n;
        assert_int_equal(ig_manifest_list_read(ig_buf_str(&lf), &a, &m2, &les, &n, &eb), 0);
        assert_int_equal(n, 1);
        assert_int_equal(m2.snapshot_id, 42);
        assert_false(m2.has_parent);
        assert_int_equal(m2.sequence_number, 9);
        assert_true(ig_str_eq_cstr(les[0].manifest_path, "file:///lake/m.avro"));
        assert_int_equal(les[0].manifest_length, (int64_t)f.len);
        assert_int_equal(les[0].added_files_count, 1);
        assert_int_equal(les[0].existing_rows_count, 8);
        assert_int_equal(les[0].min_sequence_number, 6);
        assert_int_equal(les[0].added_snapshot_id, 42);
        assert_true(les[0].has_partitions);
        assert_int_equal(les[0].npartitions, 3);
        assert_true(les[0].partitions[1].contains_null);
        assert_int_equal(les[0].partitions[1].contains_nan, 0);
        assert_true(ig_str_eq_cstr(les[0].partitions[0].upper, "t-b"));
        ig_arena_free(&a);
        ig_buf_free(&lf);
        ig_mf_summary_free(&sum);
        ig_buf_free(&f);
    }
}

static void test_min_seq_only_added(void **state)
{
    ig_mf_summary s = {.added_files = 2, .has_inherited = true};
    ig_mf_list_entry le;
    ig_mf_list_entry_from_summary(&s, IG_STR("x"), 1, 4, 1, &le);
    assert_int_equal(le.min_sequence_number, 4);
    s.has_min_seq = true;
    s.min_seq = 2;
    ig_mf_list_entry_from_summary(&s, IG_STR("x"), 1, 4, 1, &le);
    assert_int_equal(le.min_sequence_number, 2);
    s.min_seq = 7; /* an explicit number above the list's (unusual but legal) */
    ig_mf_list_entry_from_summary(&s, IG_STR("x"), 1, 4, 1, &le);
    assert_int_equal(le.min_sequence_number, 4);
    s.has_inherited = false;
    ig_mf_list_entry_from_summary(&s, IG_STR("x"), 1, 4, 1, &le);
    assert_int_equal(le.min_sequence_number, 7);
    /* nothing live: the manifest's own sequence number */
    ig_mf_summary none = {.deleted_files = 1};
    ig_mf_list_entry_from_summary(&none, IG_STR("x"), 1, 4, 1, &le);
    assert_int_equal(le.min_sequence_number, 4);
}

static void test_refusals(void **state)
{
    ig_errbuf eb;
    ig_manifest_writer *w;
    ig_manifest_writer_opts o = opts(AVRO_CODEC_NULL);
    o.format_version = 1;
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), IG_EUNSUPPORTED);
    o = opts(AVRO_CODEC_NULL);
    o.spec_json = IG_STR("[{\"name\":\"b\",\"transform\":\"bucket[16]\",\"source-id\":1,"
                         "\"field-id\":1000},{\"name\":\"x\",\"transform\":\"identity\","
                         "\"source-id\":4,\"field-id\":1001}]");
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), IG_EUNSUPPORTED); /* map column */
    o.spec_json = IG_STR("[{\"name\":\"x\",\"transform\":\"identity\",\"source-id\":99,"
                         "\"field-id\":1000}]");
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), IG_EINVAL);
    assert_non_null(strstr(eb.msg, "99"));
    o.spec_json = IG_STR("[{\"name\":\"a-b\",\"transform\":\"identity\",\"source-id\":1,"
                         "\"field-id\":1000}]");
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), IG_EUNSUPPORTED);
    o.spec_json = IG_STR("{\"fields\":[{\"name\":\"x\"");
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), IG_EINVAL);
    o = opts(AVRO_CODEC_NULL);
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), 0);
    ig_mf_entry e = {.status = IG_MF_EXISTING,
                     .file = {.path = IG_STR("p"), .partition = P1, .npartition = 3}};
    assert_int_equal(ig_manifest_writer_add(w, &e, &eb), IG_EINVAL); /* no sequence numbers */
    e.status = IG_MF_ADDED;
    e.file.npartition = 2;
    assert_int_equal(ig_manifest_writer_add(w, &e, &eb), IG_EINVAL);
    ig_mf_pvalue bad[] = {{IG_MF_P_INT, {NULL, 0}, 1}, P1[1], P1[2]};
    e.file.partition = bad;
    e.file.npartition = 3;
    assert_int_equal(ig_manifest_writer_add(w, &e, &eb), IG_EINVAL);
    e.file.partition = P1;
    e.file.record_count = -1;
    assert_int_equal(ig_manifest_writer_add(w, &e, &eb), IG_EINVAL);
    e.file.record_count = 1;
    ig_mf_metric dup[] = {M1[0], M1[0]};
    e.file.metrics = dup;
    e.file.nmetrics = 2;
    assert_int_equal(ig_manifest_writer_add(w, &e, &eb), IG_EINVAL);
    e.file.nmetrics = 1;
    assert_int_equal(ig_manifest_writer_add(w, &e, &eb), 0);
    ig_buf out;
    ig_buf_init(&out, 0);
    ig_mf_summary s;
    assert_int_equal(ig_manifest_writer_finish(w, &out, &s, &eb), 0);
    assert_int_equal(ig_manifest_writer_add(w, &e, &eb), IG_EINVAL);
    ig_mf_summary_free(&s);
    ig_manifest_writer_free(w);
    ig_buf_free(&out);

    /* the output cap: too small for the header, then too small for the entries */
    o = opts(AVRO_CODEC_NULL);
    o.max_bytes = 100;
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), IG_ETOOBIG);
    assert_null(w);
    o.max_bytes = 5000;
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), 0);
    e.file.metrics = M1;
    e.file.nmetrics = 3;
    for (int i = 0; i < 20; i++)
        assert_int_equal(ig_manifest_writer_add(w, &e, &eb), 0);
    ig_buf_init(&out, 0);
    assert_int_equal(ig_manifest_writer_finish(w, &out, &s, &eb), IG_ETOOBIG);
    assert_int_equal(out.len, 0);
    ig_mf_summary_free(&s);
    ig_manifest_writer_free(w);
    ig_buf_free(&out);
}

static void test_metrics_from_pq(void **state)
{
    pq_col_result cols[3] = {
        {.field_id = 7,
         .value_count = 10,
         .null_count = 1,
         .nan_count = 0,
         .compressed_size = 100,
         .has_bounds = true,
         .lower = IG_STR("a"),
         .upper = IG_STR("z")},
        {.field_id = -1, .value_count = 3},
        {.field_id = 9, .value_count = 4, .nan_count = 2, .compressed_size = 8},
    };
    pq_write_result res = {.cols = cols, .ncols = 3};
    ig_arena a;
    ig_arena_init(&a, 0);
    ig_mf_metric *m;
    size_t n;
    assert_int_equal(ig_mf_metrics_from_pq(&res, NULL, &a, &m, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(m[0].field_id, 7);
    assert_int_equal(m[0].column_size, 100);
    assert_int_equal(m[0].nan_count, -1);
    assert_true(ig_str_eq_cstr(m[0].upper, "z"));
    assert_int_equal(m[1].field_id, 9);
    assert_int_equal(m[1].nan_count, 2);
    assert_null(m[1].lower.ptr);
    ig_arena_free(&a);
}

/* A real Parquet file: its pq_write_result metrics go into a manifest and come back with
 * bounds in single-value form (string bytes, 8-byte LE timestamps, LE doubles). */
static void test_metrics_from_real_parquet(void **state)
{
    static const pq_field fields[] = {
        {.id = 1, .name = "tenant_id", .required = true, .type = PQ_T_STRING},
        {.id = 3, .name = "timestamp", .required = true, .type = PQ_T_TIMESTAMPTZ},
        {.id = 7, .name = "value", .required = false, .type = PQ_T_DOUBLE},
    };
    ig_errbuf eb;
    pq_schema *schema;
    assert_int_equal(pq_schema_build(fields, 3, &schema, &eb), 0);
    ig_buf file;
    ig_buf_init(&file, 0);
    pq_writer *pw;
    pq_writer_opts po = {0};
    assert_int_equal(pq_writer_new(&pw, schema, &po, pq_sink_buf(&file), &eb), 0);
    const char *tenants[] = {"t-b", "t-a", "t-c"};
    int64_t ts[] = {1704067200000000, 1704067100000000, 1704153599999999};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pq_put_bytes(pw, 0, 0, tenants[i], 3), 0);
        assert_int_equal(pq_put_i64(pw, 1, 0, ts[i]), 0);
        if (i == 1)
            assert_int_equal(pq_put_null(pw, 2, 0, 0), 0);
        else
            assert_int_equal(pq_put_f64(pw, 2, 0, i == 0 ? NAN : -2.5), 0);
    }
    pq_write_result res;
    assert_int_equal(pq_writer_close(pw, &res, &eb), 0);
    pq_writer_free(pw);
    ig_arena a;
    ig_arena_init(&a, 0);
    ig_mf_metric *m;
    size_t n;
    assert_int_equal(ig_mf_metrics_from_pq(&res, schema, &a, &m, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(m[2].nan_count, 1);
    assert_int_equal(m[0].nan_count, -1);
    assert_int_equal(m[2].null_count, 1);

    ig_manifest_writer_opts o = opts(AVRO_CODEC_DEFLATE);
    ig_manifest_writer *w;
    assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), 0);
    ig_mf_entry e = {.status = IG_MF_ADDED,
                     .file = {.path = IG_STR("file:///x.parquet"),
                              .partition = P1,
                              .npartition = 3,
                              .record_count = (int64_t)res.num_rows,
                              .file_size = (int64_t)res.file_size,
                              .metrics = m,
                              .nmetrics = n,
                              .split_offsets = (const int64_t *)res.row_group_offsets,
                              .nsplit_offsets = res.nrow_groups}};
    assert_int_equal(ig_manifest_writer_add(w, &e, &eb), 0);
    ig_buf mf;
    ig_buf_init(&mf, 0);
    assert_int_equal(ig_manifest_writer_finish(w, &mf, NULL, &eb), 0);
    ig_manifest_writer_free(w);

    ig_manifest_reader r;
    assert_int_equal(ig_manifest_reader_open(&r, ig_buf_str(&mf), &eb), 0);
    ig_mf_entry got;
    assert_int_equal(ig_manifest_reader_next(&r, &a, &got, &eb), 1);
    assert_int_equal(got.file.record_count, 3);
    assert_int_equal(got.file.file_size, (int64_t)file.len);
    assert_int_equal(got.file.nsplit_offsets, 1);
    assert_int_equal(got.file.split_offsets[0], 4);
    assert_int_equal(got.file.nmetrics, 3);
    assert_true(ig_str_eq_cstr(got.file.metrics[0].lower, "t-a"));
    assert_true(ig_str_eq_cstr(got.file.metrics[0].upper, "t-c"));
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)((uint64_t)ts[1] >> (8 * i));
    assert_true(ig_str_eq(got.file.metrics[1].lower, ig_str_make(le, 8)));
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)((uint64_t)ts[2] >> (8 * i));
    assert_true(ig_str_eq(got.file.metrics[1].upper, ig_str_make(le, 8)));
    double d = -2.5;
    memcpy(le, &d, 8); /* little-endian host */
    assert_true(ig_str_eq(got.file.metrics[2].lower, ig_str_make(le, 8)));
    assert_int_equal(got.file.metrics[2].nan_count, 1);
    assert_int_equal(got.file.metrics[2].value_count, 3);
    assert_int_equal(ig_manifest_reader_next(&r, &a, &got, &eb), 0);
    ig_manifest_reader_close(&r);
    ig_buf_free(&mf);
    ig_arena_free(&a);
    pq_write_result_free(&res);
    pq_schema_free(schema);
    ig_buf_free(&file);
}

/* Many entries: several Avro blocks, both codecs, summaries over all of them. */
static void test_many_entries(void **state)
{
    for (int codec = 0; codec < 2; codec++) {
        ig_errbuf eb;
        ig_manifest_writer_opts o = opts((avro_codec)codec);
        ig_manifest_writer *w;
        assert_int_equal(ig_manifest_writer_new(&o, &w, &eb), 0);
        char path[64];
        for (int i = 0; i < 3000; i++) {
            snprintf(path, sizeof path, "file:///lake/data/f%05d.parquet", i);
            ig_mf_pvalue pv[] = {{IG_MF_P_STRING, IG_STR("t"), 0},
                                 {i % 7 ? IG_MF_P_STRING : IG_MF_P_NULL, IG_STR("acc"), 0},
                                 {IG_MF_P_INT, IG_STR_NULL, 19000 + i % 100}};
            ig_mf_entry e = {.status = IG_MF_ADDED,
                             .file = {.path = ig_str_from(path),
                                      .partition = pv,
                                      .npartition = 3,
                                      .record_count = i,
                                      .file_size = 1000 + i,
                                      .metrics = M1,
                                      .nmetrics = 3}};
            assert_int_equal(ig_manifest_writer_add(w, &e, &eb), 0);
        }
        ig_buf f;
        ig_buf_init(&f, 0);
        ig_mf_summary sum;
        assert_int_equal(ig_manifest_writer_finish(w, &f, &sum, &eb), 0);
        ig_manifest_writer_free(w);
        assert_true(f.len > 3 * 65536 || codec == AVRO_CODEC_DEFLATE);
        assert_int_equal(sum.added_files, 3000);
        assert_int_equal(sum.added_rows, 2999 * 3000 / 2);
        assert_true(sum.partitions[1].contains_null);
        assert_true(ig_str_eq(sum.partitions[2].lower, IG_STR("\x38\x4a\x00\x00"))); /* 19000 */
        assert_true(ig_str_eq(sum.partitions[2].upper, IG_STR("\x9b\x4a\x00\x00"))); /* 19099 */
        ig_manifest_reader r;
        assert_int_equal(ig_manifest_reader_open(&r, ig_buf_str(&f), &eb), 0);
        ig_arena a;
        ig_arena_init(&a, 1 << 20);
        ig_mf_entry e;
        int n = 0, rc;
        while ((rc = ig_manifest_reader_next(&r, &a, &e, &eb)) == 1) {
            snprintf(path, sizeof path, "file:///lake/data/f%05d.parquet", n);
            assert_true(ig_str_eq_cstr(e.file.path, path));
            assert_int_equal(e.file.record_count, n);
            assert_int_equal(e.file.partition[1].type, n % 7 ? IG_MF_P_STRING : IG_MF_P_NULL);
            assert_int_equal(e.file.nmetrics, 3);
            n++;
            ig_arena_reset(&a);
        }
        assert_int_equal(rc, 0);
        assert_int_equal(n, 3000);
        ig_manifest_reader_close(&r);
        ig_arena_free(&a);
        ig_mf_summary_free(&sum);
        ig_buf_free(&f);
    }
}

static void test_hostile_manifest(void **state)
{
    ig_buf f;
    ig_buf_init(&f, 0);
    ig_mf_summary sum;
    assert_int_equal(write_sample(AVRO_CODEC_NULL, &f, &sum), 0);
    ig_mf_summary_free(&sum);
    for (size_t cut = 0; cut <= f.len; cut += 7) {
        for (int flip = 0; flip < 2; flip++) {
            ig_buf g;
            ig_buf_init(&g, 0);
            ig_buf_append(&g, f.data, f.len);
            if (flip)
                g.data[cut < f.len ? cut : 0] ^= 0x41;
            else
                g.len = cut;
            ig_errbuf eb;
            ig_manifest_reader r;
            ig_arena a;
            ig_arena_init(&a, 1 << 20);
            int rc = ig_manifest_reader_open(&r, ig_buf_str(&g), &eb);
            ig_mf_entry e;
            while (rc == 0 && (rc = ig_manifest_reader_next(&r, &a, &e, &eb)) == 1)
                rc = 0;
            ig_manifest_reader_close(&r);
            ig_arena_free(&a);
            ig_buf_free(&g);
            if (!flip && cut < f.len)
                assert_true(rc < 0 || cut > 0);
        }
    }
    ig_buf_free(&f);
}

static void test_alloc_failures(void **state)
{
    for (long n = 0; n < 500; n++) {
        ig_buf f;
        ig_buf_init(&f, 0);
        ig_mf_summary sum;
        memset(&sum, 0, sizeof sum);
        ig_alloc_fail_after(n);
        int rc = write_sample(AVRO_CODEC_DEFLATE, &f, &sum);
        ig_alloc_fail_reset();
        ig_mf_summary_free(&sum);
        ig_buf_free(&f);
        assert_true(rc == 0 || rc == IG_ENOMEM || rc == IG_EINVAL);
        if (rc == 0)
            break;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_roundtrip),
        cmocka_unit_test(test_min_seq_only_added),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_metrics_from_pq),
        cmocka_unit_test(test_metrics_from_real_parquet),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_hostile_manifest),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
