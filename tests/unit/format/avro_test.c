/* Avro binary encoding, container writer/reader round trips and hostile files. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <zlib.h>

#include "icegate/alloc.h"
#include "icegate/avro.h"

static void enc_long(int64_t v, const char *hex)
{
    ig_buf b;
    ig_buf_init(&b, 0);
    assert_int_equal(avro_put_long(&b, v), 0);
    ig_buf h;
    ig_buf_init(&h, 0);
    json_hex_encode(&h, ig_buf_str(&b));
    assert_string_equal(h.data, hex);
    size_t pos = 0;
    int64_t back;
    assert_int_equal(avro_get_long(ig_buf_str(&b), &pos, &back), 0);
    assert_int_equal(pos, b.len);
    assert_true(back == v);
    ig_buf_free(&b);
    ig_buf_free(&h);
}

static void test_varint_edges(void **state)
{
    /* values from the Avro spec's zigzag table */
    enc_long(0, "00");
    enc_long(-1, "01");
    enc_long(1, "02");
    enc_long(-2, "03");
    enc_long(2, "04");
    enc_long(-64, "7f");
    enc_long(64, "8001");
    enc_long(INT32_MAX, "feffffff0f");
    enc_long(INT32_MIN, "ffffffff0f");
    enc_long(INT64_MAX, "feffffffffffffffff01");
    enc_long(INT64_MIN, "ffffffffffffffffff01");
    /* int: 5 bytes max, range-checked */
    size_t pos = 0;
    int32_t i;
    assert_int_equal(avro_get_int(IG_STR("\xfe\xff\xff\xff\x0f"), &pos, &i), 0);
    assert_int_equal(i, INT32_MAX);
    pos = 0;
    assert_int_equal(avro_get_int(IG_STR("\x80\x80\x80\x80\x10"), &pos, &i), IG_ECORRUPT);
    pos = 0;
    int64_t l;
    assert_int_equal(avro_get_long(IG_STR("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03"), &pos, &l),
                     IG_ECORRUPT); /* 65 bits */
    pos = 0;
    assert_int_equal(avro_get_long(IG_STR("\x80"), &pos, &l), IG_ECORRUPT); /* truncated */
}

static void test_other_encodings(void **state)
{
    ig_buf b;
    ig_buf_init(&b, 0);
    assert_int_equal(avro_put_bool(&b, true), 0);
    assert_int_equal(avro_put_bool(&b, false), 0);
    assert_int_equal(avro_put_float(&b, 1.0f), 0);           /* 0000803f */
    assert_int_equal(avro_put_double(&b, -2.0), 0);          /* 00000000000000c0 */
    assert_int_equal(avro_put_string(&b, IG_STR("foo")), 0); /* 06 66 6f 6f */
    assert_int_equal(avro_put_bytes(&b, IG_STR("")), 0);     /* 00 */
    assert_int_equal(avro_put_fixed(&b, "\x01\x02", 2), 0);
    assert_int_equal(avro_put_union(&b, 1), 0);
    assert_int_equal(avro_put_block(&b, 2), 0);
    assert_int_equal(avro_put_long(&b, 3), 0);
    assert_int_equal(avro_put_long(&b, 27), 0);
    assert_int_equal(avro_put_block_end(&b), 0);
    static const uint8_t want[] = {1,    0, 0,   0,   0x80, 0x3f, 0, 0, 0, 0, 0, 0,    0,
                                   0xc0, 6, 'f', 'o', 'o',  0,    1, 2, 2, 4, 6, 0x36, 0};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    ig_buf_free(&b);
}

static const char SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"t\",\"namespace\":\"ns\",\"fields\":["
    "{\"name\":\"l\",\"type\":\"long\",\"field-id\":1},"
    "{\"name\":\"s\",\"type\":[\"null\",\"string\"],\"field-id\":2},"
    "{\"name\":\"d\",\"type\":{\"type\":\"double\"},\"field-id\":3},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"by\",\"type\":\"bytes\"},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"f2\",\"size\":2}},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\",\"element-id\":9}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"f2\",\"key-id\":10,"
    "\"value-id\":11}},"
    "{\"name\":\"self\",\"type\":[\"null\",\"ns.t\"]}]}";

static int put_row(ig_buf *b, int64_t i)
{
    int rc = avro_put_long(b, i * 1000003);
    rc |= avro_put_union(b, i % 2);
    if (i % 2)
        rc |= avro_put_string(b, IG_STR("str"));
    rc |= avro_put_double(b, (double)i / 3);
    rc |= avro_put_float(b, -0.5f);
    rc |= avro_put_bool(b, i % 3 == 0);
    rc |= avro_put_bytes(b, IG_STR("\x00\xff"));
    rc |= avro_put_fixed(b, "xy", 2);
    rc |= avro_put_int(b, (int32_t)(i % 2));
    rc |= avro_put_block(b, 2);
    rc |= avro_put_int(b, -1);
    rc |= avro_put_int(b, (int32_t)i);
    rc |= avro_put_block_end(b);
    rc |= avro_put_block(b, 1);
    rc |= avro_put_string(b, IG_STR("k"));
    rc |= avro_put_fixed(b, "zz", 2);
    rc |= avro_put_block_end(b);
    rc |= avro_put_union(b, 0);
    return rc;
}

static void write_file(ig_buf *out, avro_codec codec, int n)
{
    avro_writer w;
    avro_meta meta[] = {{"k1", IG_STR("v1")}};
    assert_int_equal(avro_writer_init(&w, out, IG_STR(SCHEMA), codec, meta, 1, NULL), 0);
    w.block_target = 500; /* several blocks */
    for (int i = 0; i < n; i++)
        assert_int_equal(avro_writer_end_datum(&w, put_row(avro_writer_datum(&w), i)), 0);
    assert_int_equal(avro_writer_finish(&w), 0);
    avro_writer_free(&w);
}

static void read_back(ig_str file, int n)
{
    avro_reader r;
    ig_errbuf eb;
    assert_int_equal(avro_reader_open(&r, file, NULL, &eb), 0);
    ig_str v;
    assert_int_equal(avro_reader_meta(&r, "k1", &v), 0);
    assert_true(ig_str_eq_cstr(v, "v1"));
    assert_int_equal(avro_reader_meta(&r, "nope", &v), IG_ENOENT);
    const avro_schema *s = r.schema;
    assert_int_equal(s->kind, AVRO_RECORD);
    assert_true(ig_str_eq_cstr(s->name, "ns.t"));
    assert_int_equal(s->fields[0].field_id, 1);
    assert_int_equal(s->fields[3].field_id, -1);
    assert_int_equal(s->fields[8].type->element_id, 9);
    assert_int_equal(s->fields[9].type->key_id, 10);
    assert_int_equal(s->fields[9].type->value_id, 11);
    ig_arena a;
    ig_arena_init(&a, 1 << 20);
    int i = 0;
    avro_value val;
    int rc;
    while ((rc = avro_reader_next(&r, &a, &val, &eb)) == 1) {
        assert_true(avro_value_get(&val, "l")->u.l == (int64_t)i * 1000003);
        const avro_value *sv = avro_value_get(&val, "s");
        assert_int_equal(sv->branch, i % 2);
        if (i % 2)
            assert_true(ig_str_eq_cstr(sv->u.s, "str"));
        else
            assert_int_equal(sv->kind, AVRO_NULL);
        assert_true(avro_value_get(&val, "d")->u.d == (double)i / 3);
        assert_true(avro_value_get(&val, "f")->u.f == -0.5f);
        assert_int_equal(avro_value_get(&val, "b")->u.b, i % 3 == 0);
        assert_true(ig_str_eq(avro_value_get(&val, "by")->u.s, IG_STR("\x00\xff")));
        assert_true(ig_str_eq_cstr(avro_value_get(&val, "fx")->u.s, "xy"));
        assert_int_equal(avro_value_get(&val, "e")->u.l, i % 2);
        const avro_value *arr = avro_value_get(&val, "a");
        assert_int_equal(arr->u.c.n, 2);
        assert_int_equal(arr->u.c.items[1].u.l, i);
        const avro_value *m = avro_value_get(&val, "m");
        assert_int_equal(m->u.c.n, 1);
        assert_true(ig_str_eq_cstr(m->u.c.keys[0], "k"));
        assert_true(ig_str_eq_cstr(m->u.c.items[0].u.s, "zz"));
        i++;
        ig_arena_reset(&a);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, n);
    ig_arena_free(&a);
    avro_reader_close(&r);
}

static void test_roundtrip(void **state)
{
    for (int codec = 0; codec < 2; codec++) {
        for (int n = 0; n < 200; n += 67) {
            ig_buf f;
            ig_buf_init(&f, 0);
            write_file(&f, (avro_codec)codec, n);
            read_back(ig_buf_str(&f), n);
            ig_buf_free(&f);
        }
    }
}

static int open_rc(ig_str file)
{
    avro_reader r;
    ig_errbuf eb;
    int rc = avro_reader_open(&r, file, NULL, &eb);
    ig_arena a;
    ig_arena_init(&a, 1 << 20);
    avro_value v;
    while (rc == 0 && (rc = avro_reader_next(&r, &a, &v, &eb)) == 1)
        rc = 0;
    ig_arena_free(&a);
    avro_reader_close(&r);
    return rc;
}

static void test_hostile(void **state)
{
    ig_buf f;
    ig_buf_init(&f, 0);
    write_file(&f, AVRO_CODEC_DEFLATE, 50);
    assert_int_equal(open_rc(ig_buf_str(&f)), 0);
    /* every truncation fails cleanly (or, cut at a block boundary, reads fewer rows) */
    for (size_t n = 0; n < f.len; n++) {
        int rc = open_rc(ig_str_make(f.data, n));
        assert_true(rc <= 0);
    }
    /* every single-byte corruption: no crash, no sanitizer report */
    for (size_t i = 0; i < f.len; i += 3) {
        char save = f.data[i];
        f.data[i] ^= 0x5a;
        (void)open_rc(ig_buf_str(&f));
        f.data[i] = save;
    }
    ig_buf_free(&f);
    assert_int_equal(open_rc(IG_STR("Obj")), IG_ECORRUPT);
    assert_int_equal(open_rc(IG_STR("PAR1xxxx")), IG_ECORRUPT);
    /* unknown codec */
    ig_buf b;
    ig_buf_init(&b, 0);
    ig_buf_append(&b, "Obj\x01", 4);
    avro_put_block(&b, 2);
    avro_put_string(&b, IG_STR("avro.schema"));
    avro_put_bytes(&b, IG_STR("\"long\""));
    avro_put_string(&b, IG_STR("avro.codec"));
    avro_put_bytes(&b, IG_STR("snappy"));
    avro_put_block_end(&b);
    ig_buf_append(&b, "0123456789abcdef", 16);
    assert_int_equal(open_rc(ig_buf_str(&b)), IG_EUNSUPPORTED);
    /* huge object count with a null schema: capped */
    ig_buf_reset(&b);
    ig_buf_append(&b, "Obj\x01", 4);
    avro_put_block(&b, 1);
    avro_put_string(&b, IG_STR("avro.schema"));
    avro_put_bytes(&b, IG_STR("\"null\""));
    avro_put_block_end(&b);
    ig_buf_append(&b, "0123456789abcdef", 16);
    avro_put_long(&b, INT64_MAX);
    avro_put_long(&b, 0);
    ig_buf_append(&b, "0123456789abcdef", 16);
    assert_int_equal(open_rc(ig_buf_str(&b)), IG_ETOOBIG);
    /* an array of nulls claiming 2^40 items in one block */
    ig_buf_reset(&b);
    ig_buf_append(&b, "Obj\x01", 4);
    avro_put_block(&b, 1);
    avro_put_string(&b, IG_STR("avro.schema"));
    avro_put_bytes(&b, IG_STR("{\"type\":\"array\",\"items\":\"null\"}"));
    avro_put_block_end(&b);
    ig_buf_append(&b, "0123456789abcdef", 16);
    avro_put_long(&b, 1);
    avro_put_long(&b, 7);
    avro_put_long(&b, (int64_t)1 << 40);
    avro_put_long(&b, 0);
    ig_buf_append(&b, "0123456789abcdef", 16);
    assert_int_equal(open_rc(ig_buf_str(&b)), IG_ETOOBIG);
    ig_buf_free(&b);
}

/* A deflate block that inflates past max_block_bytes stops at the cap. */
static void test_deflate_bomb(void **state)
{
    size_t n = 8u << 20;
    char *zeros = ig_calloc(1, n);
    assert_non_null(zeros);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&z, (uLong)n);
    char *zbuf = ig_malloc(bound);
    assert_non_null(zbuf);
    z.next_in = (Bytef *)zeros;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)zbuf;
    z.avail_out = (uInt)bound;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t zlen = z.total_out;
    deflateEnd(&z);
    ig_buf b;
    ig_buf_init(&b, 0);
    ig_buf_append(&b, "Obj\x01", 4);
    avro_put_block(&b, 2);
    avro_put_string(&b, IG_STR("avro.schema"));
    avro_put_bytes(&b, IG_STR("\"boolean\""));
    avro_put_string(&b, IG_STR("avro.codec"));
    avro_put_bytes(&b, IG_STR("deflate"));
    avro_put_block_end(&b);
    ig_buf_append(&b, "0123456789abcdef", 16);
    avro_put_long(&b, 1);
    avro_put_long(&b, (int64_t)zlen);
    ig_buf_append(&b, zbuf, zlen);
    ig_buf_append(&b, "0123456789abcdef", 16);
    avro_reader r;
    ig_errbuf eb;
    avro_reader_opts o = {.max_block_bytes = 1u << 20};
    assert_int_equal(avro_reader_open(&r, ig_buf_str(&b), &o, &eb), 0);
    ig_arena a;
    ig_arena_init(&a, 1 << 20);
    avro_value v;
    assert_int_equal(avro_reader_next(&r, &a, &v, &eb), IG_ETOOBIG);
    assert_true(r.block.cap <= (1u << 20) + 1);
    avro_reader_close(&r);
    /* with a large enough cap the block inflates, and the 8 MiB left over after the one
     * object are refused */
    o.max_block_bytes = 16u << 20;
    assert_int_equal(avro_reader_open(&r, ig_buf_str(&b), &o, &eb), 0);
    assert_int_equal(avro_reader_next(&r, &a, &v, &eb), 1);
    assert_int_equal(avro_reader_next(&r, &a, &v, &eb), IG_ECORRUPT);
    avro_reader_close(&r);
    ig_arena_free(&a);
    ig_buf_free(&b);
    ig_free(zbuf);
    ig_free(zeros);
}

static void test_schema_errors(void **state)
{
    ig_arena a;
    ig_arena_init(&a, 1 << 20);
    ig_errbuf eb;
    const avro_schema *s;
    assert_int_equal(avro_schema_parse(IG_STR("\"nope\""), &a, &s, &eb), IG_ECORRUPT);
    assert_int_equal(avro_schema_parse(IG_STR("[]"), &a, &s, &eb), IG_ECORRUPT);
    assert_int_equal(avro_schema_parse(IG_STR("[\"null\",\"null\"]"), &a, &s, &eb), IG_ECORRUPT);
    assert_int_equal(avro_schema_parse(IG_STR("{\"type\":\"record\",\"name\":\"r\"}"), &a, &s, &eb),
                     IG_ECORRUPT);
    assert_int_equal(avro_schema_parse(IG_STR("{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                                              "{\"name\":\"x\",\"type\":\"int\"},"
                                              "{\"name\":\"x\",\"type\":\"int\"}]}"),
                                       &a, &s, &eb),
                     IG_ECORRUPT);
    /* deep nesting is refused, not a stack overflow */
    ig_buf deep;
    ig_buf_init(&deep, 0);
    for (int i = 0; i < 100; i++)
        ig_buf_append_cstr(&deep, "{\"type\":\"array\",\"items\":");
    ig_buf_append_cstr(&deep, "\"int\"");
    for (int i = 0; i < 100; i++)
        ig_buf_putc(&deep, '}');
    assert_int_equal(avro_schema_parse(ig_buf_str(&deep), &a, &s, &eb), IG_ETOOBIG);
    ig_buf_free(&deep);
    assert_int_equal(
        avro_schema_parse(IG_STR("{\"type\":\"map\",\"values\":\"long\"}"), &a, &s, &eb), 0);
    assert_int_equal(s->kind, AVRO_MAP);
    ig_arena_free(&a);
}

static void test_alloc_failures(void **state)
{
    ig_buf f;
    ig_buf_init(&f, 0);
    write_file(&f, AVRO_CODEC_DEFLATE, 20);
    for (long n = 0; n < 200; n++) {
        ig_alloc_fail_after(n);
        int rc = open_rc(ig_buf_str(&f));
        ig_alloc_fail_reset();
        assert_true(rc == 0 || rc == IG_ENOMEM || rc == IG_ETOOBIG || rc == IG_ECORRUPT);
        if (rc == 0)
            break;
    }
    ig_buf_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_edges),   cmocka_unit_test(test_other_encodings),
        cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_deflate_bomb),   cmocka_unit_test(test_schema_errors),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
