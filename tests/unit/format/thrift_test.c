/* Thrift compact protocol: round trips, skipping, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "icegate/err.h"
#include "icegate/thrift.h"

static void test_roundtrip(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 0);
    th_writer w;
    th_writer_init(&w, &b);
    th_struct_begin(&w);
    th_field_i32(&w, 1, -7);
    th_field_i64(&w, 2, INT64_MIN);
    th_field_binary(&w, 3, "hello", 5);
    th_field_bool(&w, 4, true);
    th_field_bool(&w, 40, false); /* long-form field header (delta > 15) */
    th_field(&w, 41, TH_LIST);
    th_list_begin(&w, TH_I64, 20);
    for (int i = 0; i < 20; i++)
        th_i64(&w, (int64_t)i * 1000000007LL - 5);
    th_field(&w, 42, TH_STRUCT);
    th_struct_begin(&w);
    th_field_i64(&w, 1, INT64_MAX);
    th_struct_end(&w);
    th_field(&w, 43, TH_LIST);
    th_list_begin(&w, TH_TRUE, 3);
    th_bool_elem(&w, true);
    th_bool_elem(&w, false);
    th_bool_elem(&w, true);
    th_field(&w, 44, TH_DOUBLE);
    th_double(&w, -2.5);
    th_struct_end(&w);
    assert_int_equal(th_writer_finish(&w), 0);

    th_reader r;
    th_reader_init(&r, b.data, b.len);
    uint8_t t;
    int16_t id;
    int seen = 0;
    th_struct_enter(&r);
    while (th_next_field(&r, &t, &id)) {
        switch (id) {
        case 1: assert_int_equal(th_read_i32(&r), -7); seen |= 1; break;
        case 2: assert_true(th_read_i64(&r) == INT64_MIN); seen |= 2; break;
        case 3: {
            ig_str s = th_read_binary(&r);
            assert_int_equal(s.len, 5);
            assert_memory_equal(s.ptr, "hello", 5);
            seen |= 4;
            break;
        }
        case 4: assert_int_equal(t, TH_TRUE); seen |= 8; break;
        case 40: assert_int_equal(t, TH_FALSE); seen |= 16; break;
        case 41: {
            uint8_t et;
            uint32_t n = th_read_list(&r, &et);
            assert_int_equal(n, 20);
            assert_int_equal(et, TH_I64);
            for (int i = 0; i < 20; i++)
                assert_true(th_read_i64(&r) == (int64_t)i * 1000000007LL - 5);
            seen |= 32;
            break;
        }
        case 42: th_skip(&r, t); seen |= 64; break;
        case 43: {
            uint8_t et;
            assert_int_equal(th_read_list(&r, &et), 3);
            assert_true(th_read_bool_elem(&r));
            assert_false(th_read_bool_elem(&r));
            assert_true(th_read_bool_elem(&r));
            seen |= 128;
            break;
        }
        case 44: assert_true(th_read_double(&r) == -2.5); seen |= 256; break;
        default: fail();
        }
    }
    th_struct_leave(&r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(seen, 511);
    assert_true(r.p == r.end);
    ig_buf_free(&b);
}

static void test_truncated(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 0);
    th_writer w;
    th_writer_init(&w, &b);
    th_struct_begin(&w);
    th_field_binary(&w, 1, "abcdefgh", 8);
    th_field(&w, 2, TH_LIST);
    th_list_begin(&w, TH_STRUCT, 2);
    for (int i = 0; i < 2; i++) {
        th_struct_begin(&w);
        th_field_i64(&w, 1, 123456789);
        th_struct_end(&w);
    }
    th_struct_end(&w);
    assert_int_equal(th_writer_finish(&w), 0);
    /* Every strict prefix must fail cleanly when skipped. */
    for (size_t n = 0; n < b.len; n++) {
        th_reader r;
        th_reader_init(&r, b.data, n);
        th_skip(&r, TH_STRUCT);
        assert_int_equal(r.rc, IG_ECORRUPT);
    }
    th_reader r;
    th_reader_init(&r, b.data, b.len);
    th_skip(&r, TH_STRUCT);
    assert_int_equal(r.rc, 0);
    ig_buf_free(&b);
}

static void test_hostile(void **state)
{
    (void)state;
    /* A list claiming 2^31 elements in 6 bytes. */
    const uint8_t big_list[] = {0x19, 0xF5, 0xff, 0xff, 0xff, 0x07};
    th_reader r;
    th_reader_init(&r, big_list, sizeof big_list);
    uint8_t t;
    int16_t id;
    th_struct_enter(&r);
    assert_true(th_next_field(&r, &t, &id));
    uint8_t et;
    assert_int_equal(th_read_list(&r, &et), 0);
    assert_int_equal(r.rc, IG_ECORRUPT);

    /* Deep nesting: 1000 nested struct fields. */
    uint8_t deep[1001];
    memset(deep, 0x1C, 1000); /* field delta 1, type struct */
    deep[1000] = 0;
    th_reader_init(&r, deep, sizeof deep);
    th_skip(&r, TH_STRUCT);
    assert_int_equal(r.rc, IG_ECORRUPT);

    /* Binary longer than the input. */
    const uint8_t bin[] = {0x18, 0x7f, 'a'};
    th_reader_init(&r, bin, sizeof bin);
    th_skip(&r, TH_STRUCT);
    assert_int_equal(r.rc, IG_ECORRUPT);

    /* Overlong varint. */
    const uint8_t vi[] = {0x15, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0};
    th_reader_init(&r, vi, sizeof vi);
    th_struct_enter(&r);
    assert_true(th_next_field(&r, &t, &id));
    (void)th_read_i32(&r);
    assert_int_equal(r.rc, IG_ECORRUPT);

    /* Invalid type nibble. */
    const uint8_t bad[] = {0x1E, 0};
    th_reader_init(&r, bad, sizeof bad);
    th_skip(&r, TH_STRUCT);
    assert_int_equal(r.rc, IG_ECORRUPT);
}

static void test_writer_cap(void **state)
{
    (void)state;
    ig_buf b;
    ig_buf_init(&b, 16);
    th_writer w;
    th_writer_init(&w, &b);
    th_struct_begin(&w);
    th_field_binary(&w, 1, "0123456789abcdefghij", 20);
    th_struct_end(&w);
    assert_int_equal(th_writer_finish(&w), IG_ETOOBIG);
    ig_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_writer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
