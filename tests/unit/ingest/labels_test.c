/* Prometheus label strings (src/ingest/labels.c): parsing as Loki's syntax.ParseLabels,
 * Prometheus' error texts, printing as labels.String(), SM name normalisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/labels.h"

#define S(lit) ig_str_make(lit, sizeof(lit) - 1)

static ig_arena A;

static int setup(void **state)
{
    (void)state;
    ig_arena_init(&A, 1 << 20);
    return 0;
}
static int teardown(void **state)
{
    (void)state;
    ig_arena_free(&A);
    return 0;
}

static void assert_label(const ig_attrs *at, uint32_t i, const char *k, const char *v)
{
    assert_true(i < at->n);
    if (!ig_str_eq_cstr(at->items[i].key, k) || !ig_str_eq_cstr(at->items[i].value, v))
        fail_msg("label %u: got %.*s=%.*s, want %s=%s", i, (int)at->items[i].key.len,
                 at->items[i].key.ptr, (int)at->items[i].value.len, at->items[i].value.ptr, k, v);
}

/* Parses and expects failure with exactly `msg`. */
static void assert_parse_error(const char *in, const char *msg)
{
    ig_attrs at;
    ig_errbuf eb;
    int rc = ig_labels_parse(ig_str_from(in), IG_LABELS_LOKI, &A, &at, &eb);
    if (rc != IG_EINVAL)
        fail_msg("input %s: rc %d, want IG_EINVAL", in, rc);
    if (strcmp(eb.msg, msg) != 0)
        fail_msg("input %s:\n got  %s\n want %s", in, eb.msg, msg);
}

static void test_basic_sorted_views(void **state)
{
    (void)state;
    static const char in[] = "{job=\"app\", env=\"prod\"}";
    ig_attrs at;
    ig_errbuf eb;
    assert_int_equal(ig_labels_parse(S(in), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 2);
    assert_label(&at, 0, "env", "prod");
    assert_label(&at, 1, "job", "app");
    /* no escapes: views into the input */
    assert_ptr_equal(at.items[1].value.ptr, in + 6);
    /* unsorted, empty values kept when asked */
    assert_int_equal(ig_labels_parse(S("{b=\"\", a=\"1\"}"), 0, &A, &at, &eb), 0);
    assert_int_equal(at.n, 2);
    assert_label(&at, 0, "b", "");
    assert_label(&at, 1, "a", "1");
    assert_int_equal(ig_labels_parse(S("{b=\"\", a=\"1\"}"), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 1);
    assert_label(&at, 0, "a", "1");
}

static void test_escapes_and_spaces(void **state)
{
    (void)state;
    ig_attrs at;
    ig_errbuf eb;
    static const char in[] = " \t{ a = \"x\\\"y\\\\z\\n\" ,\n b='q\\'r\"' ,c=`raw\\n\nx`,"
                             " d=\"\\101\\x42\\u00e9\\U0001F600\\t\", # comment\n e=\"\", }\r\n";
    assert_int_equal(ig_labels_parse(S(in), 0, &A, &at, &eb), 0);
    assert_int_equal(at.n, 5);
    assert_label(&at, 0, "a", "x\"y\\z\n");
    assert_label(&at, 1, "b", "q'r\"");
    assert_label(&at, 2, "c", "raw\\n\nx");
    assert_label(&at, 3, "d", "AB\xc3\xa9\xf0\x9f\x98\x80\t");
    assert_label(&at, 4, "e", "");
    /* UTF-8 in values is kept as is */
    assert_int_equal(ig_labels_parse(S("{city=\"K\xc3\xb8"
                                       "benhavn\"}"),
                                     0, &A, &at, &eb),
                     0);
    assert_label(&at, 0, "city",
                 "K\xc3\xb8"
                 "benhavn");
}

static void test_metric_name_and_quoted_names(void **state)
{
    (void)state;
    ig_attrs at;
    ig_errbuf eb;
    assert_int_equal(
        ig_labels_parse(S("http_requests:rate5m{code=\"200\"}"), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 2);
    assert_label(&at, 0, "__name__", "http_requests:rate5m");
    assert_label(&at, 1, "code", "200");
    assert_int_equal(ig_labels_parse(S("up"), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 1);
    assert_label(&at, 0, "__name__", "up");
    /* UTF-8 quoted label names (Prometheus 3) and a lone quoted metric name */
    assert_int_equal(ig_labels_parse(S("{\"service.name\"=\"api\", \"my metric\"}"), IG_LABELS_LOKI,
                                     &A, &at, &eb),
                     0);
    assert_int_equal(at.n, 2);
    assert_label(&at, 0, "__name__", "my metric");
    assert_label(&at, 1, "service.name", "api");
}

static void test_empty(void **state)
{
    (void)state;
    ig_attrs at;
    ig_errbuf eb;
    assert_int_equal(ig_labels_parse(S(""), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 0);
    assert_int_equal(ig_labels_parse(S("{}"), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 0);
    assert_int_equal(ig_labels_parse(S(" { } "), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 0);
    assert_int_equal(ig_labels_parse(S("{a=\"\"}"), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 0);
    assert_int_equal(ig_labels_parse(IG_STR_NULL, IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 0);
}

static void test_duplicates_kept(void **state)
{
    (void)state;
    ig_attrs at;
    ig_errbuf eb;
    assert_int_equal(
        ig_labels_parse(S("{a=\"2\", b=\"x\", a=\"1\"}"), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 3);
    assert_label(&at, 0, "a", "1");
    assert_label(&at, 1, "a", "2");
    assert_label(&at, 2, "b", "x");
}

static void test_errors(void **state)
{
    (void)state;
    assert_parse_error("{a=\"b\"", "1:7: parse error: unexpected end of input inside braces");
    assert_parse_error(
        "{a=b}", "1:4: parse error: unexpected identifier \"b\" in label set, expected string");
    assert_parse_error("{a.b=\"c\"}", "1:3: parse error: unexpected character inside braces: '.'");
    assert_parse_error("{a}", "1:3: parse error: unexpected \"}\" in label set, expected \"=\"");
    assert_parse_error("{a=\"b\" c=\"d\"}",
                       "1:8: parse error: unexpected identifier \"c\" in label set, expected \",\" "
                       "or \"}\"");
    assert_parse_error(
        "{=\"b\"}",
        "1:2: parse error: unexpected \"=\" in label set, expected identifier or \"}\"");
    assert_parse_error(
        "{,}", "1:2: parse error: unexpected \",\" in label set, expected identifier or \"}\"");
    assert_parse_error("{a=~\"b\"}",
                       "1:3: parse error: unexpected <op:=~> in label set, expected \"=\"");
    assert_parse_error("{a=\"b\\q\"}", "1:4: parse error: unknown escape sequence U+0071 'q'");
    assert_parse_error("{a=\"b\nc\"}", "1:4: parse error: unterminated quoted string");
    assert_parse_error("{a=\"\\xZZ\"}",
                       "1:4: parse error: illegal character U+005A 'Z' in escape sequence");
    assert_parse_error("{a=\"\\uD800\"}",
                       "1:4: parse error: escape sequence is an invalid Unicode code point");
    assert_parse_error("{a=\"\xff\"}", "1:4: parse error: invalid UTF-8 rune");
    assert_parse_error("{a=\"\xef\xbf\xbd\"}", "1:4: parse error: invalid UTF-8 rune");
    assert_parse_error("{a=`b", "1:4: parse error: unterminated raw string");
    assert_parse_error("{a=\"b\"}x", "1:8: parse error: unexpected identifier \"x\"");
    assert_parse_error("{a=\"b\"}{", "1:8: parse error: unexpected \"{\"");
    assert_parse_error("a=\"b\"", "1:2: parse error: unexpected \"=\"");
    assert_parse_error("{a=\"b\"}}", "1:8: parse error: unexpected character: '}'");
    assert_parse_error("{{", "1:2: parse error: unexpected left brace '{'");
    assert_parse_error("{1a=\"b\"}", "1:2: parse error: unexpected character inside braces: '1'");
    assert_parse_error("{a=\"averyveryverylongvalue\" b}",
                       "1:29: parse error: unexpected identifier \"b\" in label set, expected "
                       "\",\" or \"}\"");
    assert_parse_error(
        "{a=\"x\",\nb=c}",
        "2:3: parse error: unexpected identifier \"c\" in label set, expected string");
    assert_parse_error("{a=\"x\"} \"averyveryverylongvalue\"",
                       "1:9: parse error: unexpected string \"\\\"averyvery\"...");
}

static void test_format_and_quote(void **state)
{
    (void)state;
    ig_attr items[] = {
        {S("a"), S("b")}, {S("c"), S("d\"e\\\n\x01\xff\xc3\xa9")}, {S("x.y"), S("")}};
    ig_buf b;
    ig_buf_init(&b, 1024);
    assert_int_equal(ig_labels_format(&b, items, 3), 0);
    assert_string_equal(b.data, "{a=\"b\", c=\"d\\\"e\\\\\\n\\x01\\xff\xc3\xa9\", \"x.y\"=\"\"}");
    /* the printed form parses back to the same labels */
    ig_attrs at;
    ig_errbuf eb;
    assert_int_equal(ig_labels_parse(ig_buf_str(&b), 0, &A, &at, &eb), 0);
    assert_int_equal(at.n, 3);
    assert_true(ig_str_eq(at.items[1].value, items[1].value));
    assert_true(ig_str_eq(at.items[2].key, items[2].key));
    ig_buf_reset(&b);
    assert_int_equal(ig_labels_format(&b, NULL, 0), 0);
    assert_string_equal(b.data, "{}");
    ig_buf_reset(&b);
    assert_int_equal(ig_go_quote(&b, S("abcdefghijkl"), 10), 0);
    assert_string_equal(b.data, "\"abcdefghij\"");
    ig_buf_free(&b);
    assert_true(ig_label_name_valid(S("_a1")));
    assert_false(ig_label_name_valid(S("1a")));
    assert_false(ig_label_name_valid(S("a-b")));
    assert_false(ig_label_name_valid(S("")));
}

static void assert_norm(const char *in, const char *want)
{
    ig_str out;
    ig_errbuf eb;
    int rc = ig_label_name_normalize(ig_str_from(in), &A, &out, &eb);
    if (rc != 0)
        fail_msg("normalize %s: rc %d (%s)", in, rc, eb.msg);
    if (!ig_str_eq_cstr(out, want))
        fail_msg("normalize %s: got %.*s want %s", in, (int)out.len, out.ptr, want);
}

static void test_normalize(void **state)
{
    (void)state;
    assert_norm("trace_id", "trace_id");
    assert_norm("trace.id", "trace_id");
    assert_norm("http.request..method", "http_request_method");
    assert_norm("a__b", "a_b");
    assert_norm("_private", "_private");
    assert_norm("1abc", "key_1abc");
    assert_norm("__name__", "__name__");
    assert_norm("__a.b__", "__a_b__");
    assert_norm("k\xc3\xb8ln", "k_ln");
    assert_norm("a-", "a_");
    /* unchanged names are returned as views */
    ig_str in = S("user_id"), out;
    ig_errbuf eb;
    assert_int_equal(ig_label_name_normalize(in, &A, &out, &eb), 0);
    assert_ptr_equal(out.ptr, in.ptr);
    assert_int_equal(ig_label_name_normalize(S(""), &A, &out, &eb), IG_EINVAL);
    assert_string_equal(eb.msg, "label name is empty");
    assert_int_equal(ig_label_name_normalize(S("..."), &A, &out, &eb), IG_EINVAL);
    assert_string_equal(eb.msg,
                        "normalization for label name \"...\" resulted in invalid name \"_\"");
    assert_int_equal(ig_label_name_normalize(S("____"), &A, &out, &eb), IG_EINVAL);
}

static void test_arena_full(void **state)
{
    (void)state;
    ig_arena small;
    ig_arena_init(&small, 256);
    ig_buf b;
    ig_buf_init(&b, 0);
    ig_buf_putc(&b, '{');
    for (int i = 0; i < 200; i++)
        ig_buf_printf(&b, "%sl%d=\"v\\n%d\"", i ? "," : "", i, i);
    ig_buf_putc(&b, '}');
    ig_attrs at;
    ig_errbuf eb;
    assert_int_equal(ig_labels_parse(ig_buf_str(&b), IG_LABELS_LOKI, &small, &at, &eb), IG_ENOMEM);
    assert_int_equal(ig_labels_parse(ig_buf_str(&b), IG_LABELS_LOKI, &A, &at, &eb), 0);
    assert_int_equal(at.n, 200);
    assert_label(&at, 0, "l0", "v\n0");
    ig_buf_free(&b);
    ig_arena_free(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_sorted_views),
        cmocka_unit_test(test_escapes_and_spaces),
        cmocka_unit_test(test_metric_name_and_quoted_names),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_duplicates_kept),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_format_and_quote),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_arena_full),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
