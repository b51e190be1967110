/* Iceberg metadata JSON: exact schema / partition spec / sort order text, new-table
 * metadata parsed back, the next-version writer (snapshot append) round trip, parser
 * errors and allocation-failure injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/iceberg.h"

static void expect_json(ig_buf *b, const char *want)
{
    if (strcmp(b->data ? b->data : "", want) != 0)
        fail_msg("JSON differs\n got: %s\nwant: %s", b->data ? b->data : "", want);
}

/* ---- exact text --------------------------------------------------------------------- */

static void test_schema_json_small(void **state)
{
    (void)state;
    static const pq_field map_kids[] = {{4, "key", true, PQ_T_STRING, 0, NULL, 0},
                                        {5, "value", false, PQ_T_STRING, 0, NULL, 0}};
    static const pq_field st_kids[] = {{8, "n", true, PQ_T_INT, 0, NULL, 0},
                                       {9, "ok", false, PQ_T_BOOLEAN, 0, NULL, 0}};
    static const pq_field list_elem[] = {{7, "element", true, PQ_T_STRUCT, 0, st_kids, 2}};
    static const pq_field dlist_elem[] = {{11, "element", false, PQ_T_DOUBLE, 0, NULL, 0}};
    static const pq_field fields[] = {
        {1, "tenant_id", true, PQ_T_STRING, 0, NULL, 0},
        {2, "ts", true, PQ_T_TIMESTAMPTZ, 0, NULL, 0},
        {3, "attrs", true, PQ_T_MAP, 0, map_kids, 2},
        {6, "items", false, PQ_T_LIST, 0, list_elem, 1},
        {10, "vals", false, PQ_T_LIST, 0, dlist_elem, 1},
        {12, "trace_id", false, PQ_T_FIXED, 16, NULL, 0},
        {13, "n", false, PQ_T_LONG, 0, NULL, 0},
    };
    ig_buf b;
    ig_buf_init(&b, 1 << 16);
    json_writer w;
    json_writer_init(&w, &b);
    ice_w_schema(&w, 0, fields, sizeof fields / sizeof fields[0]);
    assert_int_equal(json_writer_finish(&w), 0);
    expect_json(
        &b,
        "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
        "{\"id\":1,\"name\":\"tenant_id\",\"required\":true,\"type\":\"string\"},"
        "{\"id\":2,\"name\":\"ts\",\"required\":true,\"type\":\"timestamptz\"},"
        "{\"id\":3,\"name\":\"attrs\",\"required\":true,\"type\":{\"type\":\"map\",\"key-id\":4,"
        "\"key\":\"string\",\"value-id\":5,\"value\":\"string\",\"value-required\":false}},"
        "{\"id\":6,\"name\":\"items\",\"required\":false,\"type\":{\"type\":\"list\","
        "\"element-id\":7,\"element\":{\"type\":\"struct\",\"fields\":["
        "{\"id\":8,\"name\":\"n\",\"required\":true,\"type\":\"int\"},"
        "{\"id\":9,\"name\":\"ok\",\"required\":false,\"type\":\"boolean\"}]},"
        "\"element-required\":true}},"
        "{\"id\":10,\"name\":\"vals\",\"required\":false,\"type\":{\"type\":\"list\","
        "\"element-id\":11,\"element\":\"double\",\"element-required\":false}},"
        "{\"id\":12,\"name\":\"trace_id\",\"required\":false,\"type\":\"fixed[16]\"},"
        "{\"id\":13,\"name\":\"n\",\"required\":false,\"type\":\"long\"}]}");
    ig_buf_free(&b);
}

static void test_partition_spec_and_sort_orders(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 1 << 16);
    json_writer w;
    json_writer_init(&w, &b);
    ice_w_partition_spec(&w, IG_TABLE_LOGS);
    assert_int_equal(json_writer_finish(&w), 0);
    expect_json(&b, "{\"spec-id\":0,\"fields\":["
                    "{\"name\":\"tenant_id\",\"transform\":\"identity\",\"source-id\":1,"
                    "\"field-id\":1000},"
                    "{\"name\":\"account_id\",\"transform\":\"identity\",\"source-id\":2,"
                    "\"field-id\":1001},"
                    "{\"name\":\"timestamp_day\",\"transform\":\"day\",\"source-id\":4,"
                    "\"field-id\":1002}]}");

    ig_buf_reset(&b);
    json_writer_init(&w, &b);
    ice_w_sort_orders(&w, IG_TABLE_LOGS);
    assert_int_equal(json_writer_finish(&w), 0);
    expect_json(&b, "[{\"order-id\":0,\"fields\":[]},{\"order-id\":1,\"fields\":["
                    "{\"transform\":\"identity\",\"source-id\":3,\"direction\":\"asc\","
                    "\"null-order\":\"nulls-first\"},"
                    "{\"transform\":\"identity\",\"source-id\":4,\"direction\":\"desc\","
                    "\"null-order\":\"nulls-last\"}]}]");

    ig_buf_reset(&b);
    json_writer_init(&w, &b);
    ice_w_sort_orders(&w, IG_TABLE_SPANS);
    assert_int_equal(json_writer_finish(&w), 0);
    expect_json(&b, "[{\"order-id\":0,\"fields\":[]},{\"order-id\":1,\"fields\":["
                    "{\"transform\":\"identity\",\"source-id\":4,\"direction\":\"asc\","
                    "\"null-order\":\"nulls-first\"},"
                    "{\"transform\":\"identity\",\"source-id\":7,\"direction\":\"asc\","
                    "\"null-order\":\"nulls-first\"}]}]");

    ig_buf_reset(&b);
    json_writer_init(&w, &b);
    ice_w_sort_orders(&w, IG_TABLE_METRICS);
    assert_int_equal(json_writer_finish(&w), 0);
    expect_json(&b, "[{\"order-id\":0,\"fields\":[]},{\"order-id\":1,\"fields\":["
                    "{\"transform\":\"identity\",\"source-id\":8,\"direction\":\"asc\","
                    "\"null-order\":\"nulls-first\"},"
                    "{\"transform\":\"identity\",\"source-id\":3,\"direction\":\"asc\","
                    "\"null-order\":\"nulls-first\"},"
                    "{\"transform\":\"identity\",\"source-id\":5,\"direction\":\"desc\","
                    "\"null-order\":\"nulls-last\"}]}]");

    ig_buf_reset(&b);
    json_writer_init(&w, &b);
    ice_w_partition_spec(&w, IG_TABLE_METRICS);
    assert_int_equal(json_writer_finish(&w), 0);
    assert_non_null(strstr(b.data, "\"name\":\"timestamp_day\",\"transform\":\"day\","
                                   "\"source-id\":5,\"field-id\":1002"));
    ig_buf_free(&b);
}

/* ---- new table metadata parsed back ---------------------------------------------------- */

static void max_id(const pq_field *f, size_t n, int32_t *mx, size_t *count)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].id > *mx)
            *mx = f[i].id;
        ++*count;
        max_id(f[i].children, f[i].nchildren, mx, count);
    }
}

static void test_new_metadata_round_trip(void **state)
{
    (void)state;
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        char uuid[37];
        assert_int_equal(ice_uuid4(uuid), 0);
        ig_buf b;
        ig_buf_init(&b, 1 << 20);
        assert_int_equal(
            ice_table_metadata_new((ig_table_id)t, uuid, "file:///w/icegate/x", 1700000000123, &b),
            0);
        ice_metadata m;
        ig_errbuf eb = {{0}};
        int rc = ice_metadata_parse(ig_buf_str(&b), &m, &eb);
        if (rc)
            fail_msg("table %d: %d %s", t, rc, eb.msg);
        assert_int_equal(m.format_version, 2);
        assert_true(ig_str_eq_cstr(m.table_uuid, uuid));
        assert_true(ig_str_eq_cstr(m.location, "file:///w/icegate/x"));
        assert_int_equal(m.last_sequence_number, 0);
        assert_int_equal(m.last_updated_ms, 1700000000123);
        assert_int_equal(m.current_snapshot_id, -1);
        assert_int_equal(m.nsnapshots, 0);
        assert_int_equal(m.last_partition_id, 1002);
        assert_int_equal(m.default_sort_order_id, 1);
        assert_int_equal(m.default_spec_id, 0);
        size_t n, count = 0;
        int32_t mx = 0;
        const pq_field *f = ig_table_fields((ig_table_id)t, &n);
        max_id(f, n, &mx, &count);
        assert_int_equal(m.last_column_id, mx);
        assert_int_equal(m.last_column_id, ig_table_last_column_id((ig_table_id)t));
        assert_int_equal(m.nfield_ids, count);
        for (int32_t id = 1; id <= mx; id++)
            assert_true(ice_metadata_has_field_id(&m, id));
        ig_buf part;
        ig_buf_init(&part, 1 << 16);
        assert_int_equal(ice_schema_json((ig_table_id)t, &part), 0);
        assert_true(ig_str_eq(m.current_schema_json, ig_buf_str(&part)));
        ig_buf_reset(&part);
        assert_int_equal(ice_partition_spec_json((ig_table_id)t, &part), 0);
        assert_true(ig_str_eq(m.default_spec_json, ig_buf_str(&part)));
        ig_buf_free(&part);
        assert_true(ig_str_eq_cstr(ice_metadata_property(&m, "write.format.default"), "parquet"));
        assert_true(
            ig_str_eq_cstr(ice_metadata_property(&m, "write.parquet.compression-codec"), "zstd"));
        ice_metadata_free(&m);
        ig_buf_free(&b);
    }
}

/* Appends a snapshot to base and parses the result. */
static void append(const ice_metadata *base, const char *base_loc, int64_t id, int64_t ts,
                   ice_metadata *out, ig_buf *json)
{
    ice_kv summary[] = {{IG_STR("added-data-files"), IG_STR("2")},
                        {IG_STR("added-records"), IG_STR("10")}};
    char ml[128];
    snprintf(ml, sizeof ml, "file:///w/icegate/x/metadata/snap-%lld-1-u.avro", (long long)id);
    ice_snapshot_new s = {.snapshot_id = id,
                          .timestamp_ms = ts,
                          .manifest_list = ml,
                          .operation = "append",
                          .summary = summary,
                          .nsummary = 2};
    ig_errbuf eb = {{0}};
    ig_buf_reset(json);
    int rc = ice_metadata_write_next(base, ig_str_from(base_loc), &s, ts, json, &eb);
    if (rc)
        fail_msg("write_next: %d %s", rc, eb.msg);
    rc = ice_metadata_parse(ig_buf_str(json), out, &eb);
    if (rc)
        fail_msg("parse next: %d %s\n%s", rc, eb.msg, json->data);
}

static void test_append_snapshots(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 1 << 20);
    assert_int_equal(ice_table_metadata_new(IG_TABLE_LOGS, "00000000-0000-4000-8000-000000000000",
                                            "file:///w/icegate/x", 1000, &b),
                     0);
    ice_metadata m0, m1, m2;
    ig_errbuf eb = {{0}};
    assert_int_equal(ice_metadata_parse(ig_buf_str(&b), &m0, &eb), 0);

    ig_buf j1, j2;
    ig_buf_init(&j1, 1 << 20);
    ig_buf_init(&j2, 1 << 20);
    append(&m0, "file:///w/icegate/x/metadata/00000-a.metadata.json", 111, 2000, &m1, &j1);
    assert_int_equal(m1.last_sequence_number, 1);
    assert_int_equal(m1.current_snapshot_id, 111);
    assert_int_equal(m1.last_updated_ms, 2000);
    assert_int_equal(m1.nsnapshots, 1);
    assert_int_equal(m1.snapshots[0].sequence_number, 1);
    assert_int_equal(m1.snapshots[0].parent_snapshot_id, -1);
    assert_int_equal(m1.snapshots[0].schema_id, 0);
    assert_true(ig_str_eq_cstr(m1.snapshots[0].operation, "append"));
    assert_int_equal(m1.snapshots[0].nsummary, 3);
    assert_true(ig_str_eq_cstr(m1.snapshots[0].manifest_list,
                               "file:///w/icegate/x/metadata/snap-111-1-u.avro"));
    assert_int_equal(m1.nsnapshot_log, 1);
    assert_int_equal(m1.snapshot_log[0].snapshot_id, 111);
    assert_int_equal(m1.nmetadata_log, 1);
    assert_int_equal(m1.metadata_log[0].timestamp_ms, 1000);
    assert_true(ig_str_eq_cstr(m1.metadata_log[0].metadata_file,
                               "file:///w/icegate/x/metadata/00000-a.metadata.json"));
    assert_non_null(
        strstr(j1.data, "\"refs\":{\"main\":{\"snapshot-id\":111,\"type\":\"branch\"}}"));
    /* untouched members are copied verbatim */
    assert_true(ig_str_eq_cstr(m1.table_uuid, "00000000-0000-4000-8000-000000000000"));
    assert_int_equal(m1.nfield_ids, m0.nfield_ids);

    /* the clock went backwards: last-updated-ms never decreases */
    append(&m1, "file:///w/icegate/x/metadata/00001-b.metadata.json", 222, 1500, &m2, &j2);
    assert_int_equal(m2.last_sequence_number, 2);
    assert_int_equal(m2.current_snapshot_id, 222);
    assert_int_equal(m2.last_updated_ms, 2000);
    assert_int_equal(m2.nsnapshots, 2);
    assert_int_equal(m2.snapshots[1].parent_snapshot_id, 111);
    assert_int_equal(m2.snapshots[1].sequence_number, 2);
    assert_int_equal(m2.nmetadata_log, 2);
    assert_int_equal(m2.nsnapshot_log, 2);
    assert_int_equal(m2.snapshot_log[1].timestamp_ms, 2000); /* raised to stay in order */
    assert_int_equal(m2.snapshots[1].timestamp_ms, 2000);

    /* a duplicate snapshot id is refused */
    ice_snapshot_new dup = {
        .snapshot_id = 111, .timestamp_ms = 1, .manifest_list = "x", .operation = "append"};
    ig_buf_reset(&j1);
    assert_int_equal(ice_metadata_write_next(&m2, IG_STR("file:///m"), &dup, 1, &j1, &eb),
                     IG_EEXIST);

    ice_metadata_free(&m0);
    ice_metadata_free(&m1);
    ice_metadata_free(&m2);
    ig_buf_free(&b);
    ig_buf_free(&j1);
    ig_buf_free(&j2);
}

/* metadata-log keeps the newest ICE_METADATA_LOG_MAX entries, oldest dropped first. */
static void test_metadata_log_trimmed(void **state)
{
    (void)state;
    ig_buf b, j;
    ig_buf_init(&b, 1 << 20);
    ig_buf_init(&j, 4 << 20);
    assert_int_equal(ice_table_metadata_new(IG_TABLE_LOGS, "u", "file:///t", 1, &b), 0);
    ice_metadata m;
    ig_errbuf eb = {{0}};
    assert_int_equal(ice_metadata_parse(ig_buf_str(&b), &m, &eb), 0);
    for (int i = 0; i < ICE_METADATA_LOG_MAX + 5; i++) {
        char loc[64];
        snprintf(loc, sizeof loc, "file:///t/metadata/%05d-u.metadata.json", i);
        ice_metadata next;
        append(&m, loc, 10 + i, 100 + i, &next, &j);
        ice_metadata_free(&m);
        m = next;
    }
    assert_int_equal(m.nmetadata_log, ICE_METADATA_LOG_MAX);
    assert_true(ig_str_eq_cstr(m.metadata_log[0].metadata_file,
                               "file:///t/metadata/00005-u.metadata.json"));
    assert_int_equal(m.nsnapshots, ICE_METADATA_LOG_MAX + 5);
    assert_int_equal(m.last_sequence_number, ICE_METADATA_LOG_MAX + 5);
    for (size_t i = 1; i < m.nmetadata_log; i++)
        assert_true(m.metadata_log[i].timestamp_ms >= m.metadata_log[i - 1].timestamp_ms);
    ice_metadata_free(&m);
    ig_buf_free(&b);
    ig_buf_free(&j);
}

/* Members we do not interpret survive; missing optional members get written. */
static void test_unknown_members_kept(void **state)
{
    (void)state;
    const char *in =
        "{\"format-version\":2,\"table-uuid\":\"u\",\"location\":\"file:///t\","
        "\"last-sequence-number\":0,\"last-updated-ms\":5,\"last-column-id\":1,"
        "\"current-schema-id\":0,\"schemas\":[{\"type\":\"struct\",\"schema-id\":0,"
        "\"fields\":[{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":\"string\"}]}],"
        "\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,\"fields\":[]}],"
        "\"last-partition-id\":999,\"default-sort-order-id\":0,"
        "\"sort-orders\":[{\"order-id\":0,\"fields\":[]}],"
        "\"x-custom\":{\"k\":[1,2,\"\\u00e9\"]},\"current-snapshot-id\":null}";
    ice_metadata m, m1;
    ig_errbuf eb = {{0}};
    int rc = ice_metadata_parse(ig_str_from(in), &m, &eb);
    if (rc)
        fail_msg("%d %s", rc, eb.msg);
    assert_int_equal(m.current_snapshot_id, -1);
    ig_buf j;
    ig_buf_init(&j, 1 << 16);
    append(&m, "file:///t/metadata/00000-u.metadata.json", 7, 10, &m1, &j);
    assert_non_null(strstr(j.data, "\"x-custom\":{\"k\":[1,2,\"\\u00e9\"]}"));
    assert_non_null(strstr(j.data, "\"metadata-log\":[{\"timestamp-ms\":5,"));
    assert_int_equal(m1.current_snapshot_id, 7);
    ice_metadata_free(&m);
    ice_metadata_free(&m1);
    ig_buf_free(&j);
}

/* ---- errors ------------------------------------------------------------------------- */

static void expect_parse_error(const char *in, int code, const char *msg_part)
{
    ice_metadata m;
    ig_errbuf eb = {{0}};
    int rc = ice_metadata_parse(ig_str_from(in), &m, &eb);
    if (rc != code)
        fail_msg("want %d, got %d (%s) for %s", code, rc, eb.msg, in);
    if (msg_part && !strstr(eb.msg, msg_part))
        fail_msg("message \"%s\" lacks \"%s\"", eb.msg, msg_part);
    ice_metadata_free(&m); /* harmless after an error */
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("", IG_ECORRUPT, NULL);
    expect_parse_error("[]", IG_ECORRUPT, NULL);
    expect_parse_error("{\"format-version\":1}", IG_EUNSUPPORTED, "format-version 1");
    expect_parse_error("{\"format-version\":2,\"table-uuid\":\"u\"}", IG_ECORRUPT,
                       "\"location\" missing");
    expect_parse_error("{\"format-version\":2,\"table-uuid\":7}", IG_ECORRUPT, "table-uuid");
    expect_parse_error("{\"format-version\":2,\"snapshots\":[],\"snapshots\":[]}", IG_ECORRUPT,
                       "\"snapshots\" appears twice");
    expect_parse_error("{\"format-version\":2,\"partition-specs\":{}}", IG_ECORRUPT,
                       "\"partition-specs\": expected an array");
    expect_parse_error("{\"format-version\":2,\"sort-orders\":[]}", IG_ECORRUPT,
                       "\"sort-orders\" is empty");
    /* current snapshot that does not exist; schema id that does not exist */
    char buf[2048];
    const char *base =
        "{\"format-version\":2,\"table-uuid\":\"u\",\"location\":\"file:///t\","
        "\"last-sequence-number\":0,\"last-updated-ms\":5,\"last-column-id\":1,"
        "\"current-schema-id\":%d,\"schemas\":[{\"type\":\"struct\",\"schema-id\":0,"
        "\"fields\":[]}],\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,\"fields\":[]}],"
        "\"last-partition-id\":999,\"default-sort-order-id\":0,"
        "\"sort-orders\":[{\"order-id\":0,\"fields\":[]}],\"current-snapshot-id\":%s}";
    snprintf(buf, sizeof buf, base, 0, "42");
    expect_parse_error(buf, IG_ECORRUPT, "no snapshot with this id");
    snprintf(buf, sizeof buf, base, 3, "-1");
    expect_parse_error(buf, IG_ECORRUPT, "current-schema-id");
    snprintf(buf, sizeof buf, base, 0, "-1");
    expect_parse_error(buf, 0, NULL);
    {
        char buf2[2200];
        snprintf(buf2, sizeof buf2, "%.*s,\"default-spec-id\":4}", (int)strlen(buf) - 1, buf);
        expect_parse_error(buf2, IG_ECORRUPT, "appears twice");
        snprintf(buf2, sizeof buf2, "%s", buf);
        char *p = strstr(buf2, "\"default-spec-id\":0");
        assert_non_null(p);
        p[strlen("\"default-spec-id\":")] = '4';
        expect_parse_error(buf2, IG_ECORRUPT, "no spec with this id");
    }
    size_t n = strlen(buf);
    memcpy(buf + n - 1, ",}", 3);
    expect_parse_error(buf, IG_ECORRUPT, NULL);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 1 << 20);
    assert_int_equal(ice_table_metadata_new(IG_TABLE_SPANS, "u", "file:///t", 1, &b), 0);
    int ok = 0;
    for (long i = 0; i < 2000 && !ok; i++) {
        ice_metadata m;
        ig_errbuf eb = {{0}};
        ig_alloc_fail_after(i);
        int rc = ice_metadata_parse(ig_buf_str(&b), &m, &eb);
        ig_alloc_fail_reset();
        if (rc == 0) {
            ok = 1;
            ice_metadata_free(&m);
        } else {
            assert_int_equal(rc, IG_ENOMEM);
        }
    }
    assert_true(ok);
    ig_buf_free(&b);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(
        ice_metadata_file_version(IG_STR("file:///a/metadata/00042-u-v.metadata.json")), 42);
    assert_int_equal(ice_metadata_file_version(IG_STR("00000-x.metadata.json")), 0);
    assert_int_equal(ice_metadata_file_version(IG_STR("s3://b/m/00007-x.gz.metadata.json")), 7);
    assert_int_equal(ice_metadata_file_version(IG_STR("file:///a/v1.metadata.json")), -1);
    assert_int_equal(ice_metadata_file_version(IG_STR("file:///a/00001-x.json")), -1);
    ig_buf b;
    ig_buf_init(&b, 256);
    assert_int_equal(ice_metadata_file_key(&b, "icegate/logs", 3, "abc"), 0);
    assert_string_equal(b.data, "icegate/logs/metadata/00003-abc.metadata.json");
    ig_buf_free(&b);

    char u1[37], u2[37];
    assert_int_equal(ice_uuid4(u1), 0);
    assert_int_equal(ice_uuid4(u2), 0);
    assert_int_equal(strlen(u1), 36);
    assert_string_not_equal(u1, u2);
    assert_int_equal(u1[8], '-');
    assert_int_equal(u1[14], '4');
    assert_non_null(strchr("89ab", u1[19]));
    int64_t id;
    assert_int_equal(ice_snapshot_id_new(&id), 0);
    assert_true(id > 0 && id < (INT64_C(1) << 53));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_json_small),
        cmocka_unit_test(test_partition_spec_and_sort_orders),
        cmocka_unit_test(test_new_metadata_round_trip),
        cmocka_unit_test(test_append_snapshots),
        cmocka_unit_test(test_metadata_log_trimmed),
        cmocka_unit_test(test_unknown_members_kept),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("table/iceberg_meta", tests, NULL, NULL);
}
