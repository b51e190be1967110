/* LogQL parser and printer: every query of the conformance scripts parses (or fails with
 * the expected parse-time message), printing is idempotent, canonical outputs for
 * representative queries, error positions for invalid ones, allocation failures and
 * deep nesting fail cleanly. The conformance scripts are read from $SHARED_DIR or
 * ../shared relative to the repository root (the test's working directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/logql.h"

/* Parses q and prints it into out (caller frees). Returns the parse code. */
static int parse_print(const char *q, size_t qlen, ig_buf *out, ig_errbuf *eb)
{
    ig_arena a;
    ig_arena_init(&a, 16u << 20);
    logql_expr *e = NULL;
    int rc = logql_parse(ig_str_make(q, qlen), &a, &e, eb);
    if (rc == 0)
        rc = logql_print(e, out);
    ig_arena_free(&a);
    return rc;
}

/* Parse, print, re-parse, re-print: both prints must be equal. Returns the first print
 * (caller frees) or NULL with eb set. */
static char *canon(const char *q, ig_errbuf *eb)
{
    ig_buf b1, b2;
    ig_buf_init(&b1, 1 << 20);
    ig_buf_init(&b2, 1 << 20);
    int rc = parse_print(q, strlen(q), &b1, eb);
    if (rc != 0) {
        ig_buf_free(&b1);
        return NULL;
    }
    ig_errbuf eb2;
    rc = parse_print(b1.data, b1.len, &b2, &eb2);
    if (rc != 0)
        fail_msg("re-parse of %s (from %s) failed: %s", b1.data, q, eb2.msg);
    if (strcmp(b1.data, b2.data) != 0)
        fail_msg("not idempotent: %s -> %s -> %s", q, b1.data, b2.data);
    ig_buf_free(&b2);
    size_t len;
    return ig_buf_detach(&b1, &len);
}

/* ---------- conformance scripts ---------- */

static const char *shared_dir(void)
{
    const char *d = getenv("SHARED_DIR");
    return d && *d ? d : "../shared";
}

/* Messages of `expect fail` that Loki reports at parse time; our parser must produce
 * an error containing them. Other expected failures happen at run time and the query
 * must parse. */
static const char *const parse_time_msgs[] = {"grouping not allowed",
                                              "invalid aggregation",
                                              "expecting IDENTIFIER",
                                              "unexpected -",
                                              "invalid parameter",
                                              "parameter required",
                                              "ip: invalid operation",
                                              "ip: invalid pattern",
                                              "error parsing regexp",
                                              "named capture",
                                              "at least one capture is required",
                                              "duplicate extracted label name"};

static void test_conformance_queries(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/conformance/logql", shared_dir());
    DIR *d = opendir(dir);
    if (!d) {
        print_message("conformance dir %s not found; skipped\n", dir);
        skip();
    }
    int files = 0, parsed = 0, failed_ok = 0, bad = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 10 || strcmp(de->d_name + nl - 10, ".logqltest") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        files++;
        char line[8192], query[8192];
        int pending = 0;
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\n")] = 0;
            if (pending) {
                const char *l = line;
                while (*l == ' ' || *l == '\t')
                    l++;
                if (*l == 0 || *l == '#')
                    continue;
                pending = 0;
                const char *msg = strstr(l, "expect fail");
                ig_errbuf eb;
                char *c = canon(query, &eb);
                if (msg) {
                    const char *want = strstr(msg, "msg: ");
                    want = want ? want + 5 : "";
                    int parse_time = 0;
                    for (size_t k = 0; k < sizeof(parse_time_msgs) / sizeof(*parse_time_msgs); k++)
                        if (strstr(want, parse_time_msgs[k]))
                            parse_time = 1;
                    if (parse_time && c) {
                        print_message("should fail (%s): %s\n", want, query);
                        bad++;
                    } else if (parse_time && !strstr(eb.msg, want)) {
                        print_message("wrong error for %s: %s (want %s)\n", query, eb.msg, want);
                        bad++;
                    } else if (!parse_time && !c) {
                        print_message("should parse: %s: %s\n", query, eb.msg);
                        bad++;
                    } else {
                        failed_ok++;
                    }
                } else if (!c) {
                    print_message("does not parse: %s: %s\n", query, eb.msg);
                    bad++;
                } else {
                    parsed++;
                }
                ig_free(c);
            }
            if (strncmp(line, "eval ", 5) != 0)
                continue;
            /* eval instant at <t> <q> | eval range from <t0> to <t1> step <s> <q> */
            const char *p = line + 5;
            int skip_words = strncmp(p, "instant", 7) == 0 ? 3 : 7;
            for (int w = 0; w < skip_words && *p; w++) {
                while (*p && *p != ' ')
                    p++;
                while (*p == ' ')
                    p++;
            }
            snprintf(query, sizeof(query), "%s", p);
            pending = 1;
        }
        fclose(f);
    }
    closedir(d);
    print_message(
        "conformance: %d files, %d queries parsed, %d expected failures checked, %d bad\n", files,
        parsed, failed_ok, bad);
    assert_true(files > 0);
    assert_true(parsed > 300);
    assert_int_equal(bad, 0);
}

/* ---------- canonical forms ---------- */

static const struct {
    const char *in, *out;
} canon_cases[] = {
    {"{app=\"a\"}", "{app=\"a\"}"},
    {"{ app = \"a\" , env=~`prod|dev` }", "{app=\"a\", env=~\"prod|dev\"}"},
    {"{app!=\"\"}", "{app!=\"\"}"},
    {"{app=\"a\\tb\\\"c\"}", "{app=\"a\\tb\\\"c\"}"},
    {"{app=\"a\"} |= \"x\" != \"y\" |~ `a\\d` !~ \"z\"",
     "{app=\"a\"} |= \"x\" != \"y\" |~ \"a\\\\d\" !~ \"z\""},
    {"{app=\"a\"} |= \"a\" or \"b\" |> \"<_> x\" !> \"y <_>\"",
     "{app=\"a\"} |= \"a\" or \"b\" |> \"<_> x\" !> \"y <_>\""},
    {"{app=\"a\"} != ip(\"10.0.0.0/8\") or \"z\"", "{app=\"a\"} != ip(\"10.0.0.0/8\") or \"z\""},
    {"{app=\"a\"} | json", "{app=\"a\"} | json"},
    {"{app=\"a\"} | json a=\"x.y\", b", "{app=\"a\"} | json a=\"x.y\",b=\"b\""},
    {"{app=\"a\"} | logfmt --keep-empty --strict a, b=\"k\"",
     "{app=\"a\"} | logfmt --strict --keep-empty a=\"a\",b=\"k\""},
    {"{app=\"a\"} | regexp `(?P<x>\\w+)` | pattern \"<a> <_>\" | unpack",
     "{app=\"a\"} | regexp \"(?P<x>\\\\w+)\" | pattern \"<a> <_>\" | unpack"},
    {"{app=\"a\"} | level = \"error\"", "{app=\"a\"} | level=\"error\""},
    {"{app=\"a\"} | a=\"1\" or b=\"2\" and c=\"3\"",
     "{app=\"a\"} | ( a=\"1\" or ( b=\"2\" , c=\"3\" ) )"},
    {"{app=\"a\"} | a=\"1\", b!~\"2\" c=~\"3\"",
     "{app=\"a\"} | ( ( a=\"1\" , b!~\"2\" ) , c=~\"3\" )"},
    {"{app=\"a\"} | (a=\"1\" or b=\"2\") and c=\"3\"",
     "{app=\"a\"} | ( ( a=\"1\" or b=\"2\" ) , c=\"3\" )"},
    {"{app=\"a\"} | status >= 500", "{app=\"a\"} | status>=500"},
    {"{app=\"a\"} | v == 1.50 | w = 2 | x != -3", "{app=\"a\"} | v==1.5 | w==2 | x!=-3"},
    {"{app=\"a\"} | d > 1h30m | e <= 250ms", "{app=\"a\"} | d>1h30m0s | e<=250ms"},
    {"{app=\"a\"} | size > 20MB | s < 1KiB | t >= 1.5MiB | u == 2kb",
     "{app=\"a\"} | size>20MB | s<1KiB | t>=1.5MiB | u==2.0kB"},
    {"{app=\"a\"} |= ip(\"10.0.0.1-10.0.0.9\") | x != ip(\"::1/128\")",
     "{app=\"a\"} |= ip(\"10.0.0.1-10.0.0.9\") | x!=ip(\"::1/128\")"},
    {"{app=\"a\"} | addr = ip(\"1.2.3.4\")", "{app=\"a\"} | addr=ip(\"1.2.3.4\")"},
    {"{app=\"a\"} | line_format \"{{.a}}\"", "{app=\"a\"} | line_format \"{{.a}}\""},
    {"{app=\"a\"} | label_format x=y, z=\"{{.q}}\"", "{app=\"a\"} | label_format x=y,z=\"{{.q}}\""},
    {"{app=\"a\"} | drop a, b=\"v\" | keep c, d=~\"x.*\"",
     "{app=\"a\"} | drop a,b=\"v\" | keep c,d=~\"x.*\""},
    {"{app=\"a\"} | decolorize", "{app=\"a\"} | decolorize"},
    {"count_over_time({app=\"a\"}[5m])", "count_over_time({app=\"a\"}[5m])"},
    {"count_over_time({app=\"a\"} |= \"x\" [1h30m])",
     "count_over_time({app=\"a\"} |= \"x\"[1h30m])"},
    {"rate({app=\"a\"}[90s] offset 1m)", "rate({app=\"a\"}[1m30s] offset 1m0s)"},
    {"bytes_rate(({app=\"a\"} |= \"x\")[1m])", "bytes_rate({app=\"a\"} |= \"x\"[1m])"},
    {"count_over_time({app=\"a\"}[1m] | json)", "count_over_time({app=\"a\"} | json[1m])"},
    {"sum_over_time({app=\"a\"} | logfmt | unwrap v [1m])",
     "sum_over_time({app=\"a\"} | logfmt | unwrap v[1m])"},
    {"avg_over_time({app=\"a\"} | unwrap duration(d) | __error__=\"\" [1m]) by (x, y)",
     "avg_over_time({app=\"a\"} | unwrap duration(d) | __error__=\"\"[1m]) by (x,y)"},
    {"max_over_time({app=\"a\"} | unwrap duration_seconds(d) [1m]) without (x)",
     "max_over_time({app=\"a\"} | unwrap duration_seconds(d)[1m]) without (x)"},
    {"rate({app=\"a\"} | unwrap bytes(b) [1m])", "rate({app=\"a\"} | unwrap bytes(b)[1m])"},
    {"quantile_over_time(0.99, {app=\"a\"} | unwrap v [1m]) by (x)",
     "quantile_over_time(0.99,{app=\"a\"} | unwrap v[1m]) by (x)"},
    {"sum by (a) (rate({app=\"a\"}[1m]))", "sum by (a)(rate({app=\"a\"}[1m]))"},
    {"sum(rate({app=\"a\"}[1m])) without (a, b)", "sum without (a,b)(rate({app=\"a\"}[1m]))"},
    {"topk(3, rate({app=\"a\"}[1m]))", "topk(3,rate({app=\"a\"}[1m]))"},
    {"sum by () (rate({app=\"a\"}[1m]))", "sum(rate({app=\"a\"}[1m]))"},
    {"sum without () (rate({app=\"a\"}[1m]))", "sum without ()(rate({app=\"a\"}[1m]))"},
    {"avg_over_time({app=\"a\"} | unwrap v [1m]) by ()",
     "avg_over_time({app=\"a\"} | unwrap v[1m]) by ()"},
    {"bottomk by (x) (2, rate({app=\"a\"}[1m]))", "bottomk by (x)(2,rate({app=\"a\"}[1m]))"},
    {"sort_desc(rate({app=\"a\"}[1m]))", "sort_desc(rate({app=\"a\"}[1m]))"},
    {"1 + 2 * 3", "(1 + (2 * 3))"},
    {"2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"},
    {"1 - 2 - 3", "((1 - 2) - 3)"},
    {"-1.5", "-1.5"},
    {"1e6", "1e+06"},
    {"vector(1)", "vector(1)"},
    {"rate({a=\"b\"}[1m]) > bool 1", "(rate({a=\"b\"}[1m]) > bool 1)"},
    {"rate({a=\"b\"}[1m]) or rate({a=\"c\"}[1m]) and rate({a=\"d\"}[1m]) > 1",
     "(rate({a=\"b\"}[1m]) or (rate({a=\"c\"}[1m]) and (rate({a=\"d\"}[1m]) > 1)))"},
    {"sum by (x) (rate({a=\"b\"}[1m])) / on (x) group_left (y) sum by (x, y) (rate({a=\"c\"}[1m]))",
     "(sum by (x)(rate({a=\"b\"}[1m])) / on (x) group_left (y) sum by (x,y)(rate({a=\"c\"}[1m])))"},
    {"rate({a=\"b\"}[1m]) * ignoring (z) group_right rate({a=\"c\"}[1m])",
     "(rate({a=\"b\"}[1m]) * ignoring (z) group_right rate({a=\"c\"}[1m]))"},
    {"(rate({a=\"b\"}[1m]))", "rate({a=\"b\"}[1m])"},
    {"label_replace(rate({a=\"b\"}[1m]), \"dst\", \"$1\", \"src\", \"(.*)\")",
     "label_replace(rate({a=\"b\"}[1m]),\"dst\",\"$1\",\"src\",\"(.*)\")"},
    {"count_over_time({a=\"b\"} # a comment\n [1m])", "count_over_time({a=\"b\"}[1m])"},
};

static void test_canonical(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(canon_cases) / sizeof(canon_cases[0]); k++) {
        ig_errbuf eb;
        char *c = canon(canon_cases[k].in, &eb);
        if (!c)
            fail_msg("%s: %s", canon_cases[k].in, eb.msg);
        if (strcmp(c, canon_cases[k].out) != 0)
            fail_msg("%s\n  got  %s\n  want %s", canon_cases[k].in, c, canon_cases[k].out);
        ig_free(c);
    }
}

/* ---------- errors ---------- */

static const struct {
    const char *in, *msg;
} err_cases[] = {
    {"", "parse error at line 1, col 1: syntax error: unexpected end of input"},
    {"{app=\"a\"",
     "parse error at line 1, col 9: syntax error: unexpected end of input, expecting }"},
    {"{app=a}",
     "parse error at line 1, col 6: syntax error: unexpected IDENTIFIER, expecting STRING"},
    {"{app=\"a}", "parse error at line 1, col 6: literal not terminated"},
    {"{app=\"a\"} | json a=b", "col 20: syntax error: unexpected IDENTIFIER, expecting STRING"},
    {"{app=\"a\"} |= foo", "col 14: syntax error: unexpected IDENTIFIER, expecting STRING"},
    {"rate({ foo = \"bar\" }[5minutes])",
     "col 22: unknown unit \"minutes\" in duration \"5minutes\""},
    {"rate({app=\"a\"})", "col 15: syntax error: unexpected ), expecting RANGE"},
    {"sum({app=\"a\"})", "col 14: syntax error: unexpected ), expecting RANGE"},
    {"{app=\"a\"}\n  |= \"x\" | json |",
     "line 2, col 18: syntax error: unexpected end of input, expecting IDENTIFIER"},
    {"{app=\"\"}", "queries require at least one regexp or equality matcher that does not have an "
                   "empty-compatible value"},
    {"{app=~\".*\", b!=\"x\"}", "col 1: queries require at least one regexp"},
    {"{app=~\"a?|b*\"}", "queries require at least one regexp"},
    {"{app=\"a\"} | unwrap x", "unwrap is only allowed in range aggregations"},
    {"count_over_time({app=\"a\"} | unwrap x [1m])",
     "col 1: invalid aggregation count_over_time with unwrap"},
    {"sum_over_time({app=\"a\"}[1m])", "invalid aggregation sum_over_time without unwrap"},
    {"rate({app=\"a\"}[1m]) by (x)", "grouping not allowed for rate aggregation"},
    {"quantile_over_time(-0.1, {app=\"a\"} | unwrap v [1m])",
     "col 20: syntax error: unexpected -, expecting NUMBER"},
    {"topk(1.5, rate({app=\"a\"}[1m]))", "col 6: invalid parameter topk(1.5,"},
    {"topk(rate({app=\"a\"}[1m]))", "parameter required for operation topk"},
    {"sum(1, rate({app=\"a\"}[1m]))", "unsupported parameter for operation sum"},
    {"sort by (a) (rate({app=\"a\"}[1m]))", "grouping not allowed for sort aggregation"},
    {"rate({app=\"a\"}[1m]) and 1",
     "col 21: unexpected literal for right-hand side of binary operation and"},
    {"{app=\"a\"} + 1", "col 11: binary operation + needs metric expressions"},
    {"{app=\"a\"} |~ ip(\"1.2.3.4\")", "col 14: ip: invalid operation"},
    {"{app=\"a\"} | drop", "col 17: syntax error: unexpected end of input, expecting IDENTIFIER"},
    {"rate({app=\"a\"}[1m]) +", "col 22: syntax error: unexpected end of input"},
    {"rate({app=\"a\"}[1m]) foo", "col 21: syntax error: unexpected IDENTIFIER"},
    {"{app=\"a\"} | x > \"s\"", "col 17: syntax error: unexpected STRING, expecting"},
    {"{app=\"a\"} | label_format a=b, a=\"c\"", "label a can only be set once"},
    {"{app=\"a\\q\"}", "col 8: invalid char escape"},
    {"{app=\"a\"} @", "col 11: syntax error: unexpected character @"},
    {"1 + 1e400", "col 5: invalid number"},
    {"{app=~\"(\"}", "col 7: error parsing regexp"},
    {"label_replace(rate({a=\"b\"}[1m]), \"1x\", \"r\", \"s\", \"(.*)\")",
     "col 34: invalid destination label name in label_replace(): 1x"},
    {"{app=\"a\"} |= ip(\"nope\")", "col 17: ip: invalid pattern"},
    {"{app=\"a\"} | x = ip(\"10.0.0.0/33\")", "col 20: ip: invalid pattern"},
    {"{app=\"a\"} |~ \"[\"", "col 14: error parsing regexp"},
    {"{app=\"a\"} | x !~ \"(\"", "col 18: error parsing regexp"},
    {"{app=\"a\"} | regexp \"x\"", "col 20: at least one named capture must be supplied"},
    {"{app=\"a\"} | regexp `(?P<x>.)(?P<x>.)`", "col 20: duplicate extracted label name"},
    {"{app=\"a\"} | pattern \"abc\"", "col 21: at least one capture is required"},
    {"{app=\"a\"} | pattern \"<a><b>\"", "col 21: found consecutive capture"},
    {"{app=\"a\"} |> \"<a> x\"", "col 14: named captures are not allowed"},
    {"label_replace(rate({a=\"b\"}[1m]), \"d\", \"r\", \"s\", \"(\")",
     "col 49: invalid regex in label_replace"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(err_cases) / sizeof(err_cases[0]); k++) {
        ig_errbuf eb;
        eb.msg[0] = 0;
        char *c = canon(err_cases[k].in, &eb);
        if (c)
            fail_msg("%s: parsed as %s, want error %s", err_cases[k].in, c, err_cases[k].msg);
        if (!strstr(eb.msg, err_cases[k].msg))
            fail_msg("%s:\n  got  %s\n  want %s", err_cases[k].in, eb.msg, err_cases[k].msg);
    }
}

static void test_limits(void **state)
{
    (void)state;
    ig_errbuf eb;
    /* deep nesting is bounded, not a crash */
    ig_buf q;
    ig_buf_init(&q, 1 << 20);
    for (int k = 0; k < 5000; k++)
        assert_int_equal(ig_buf_putc(&q, '('), 0);
    assert_int_equal(ig_buf_append_cstr(&q, "1"), 0);
    for (int k = 0; k < 5000; k++)
        assert_int_equal(ig_buf_putc(&q, ')'), 0);
    assert_null(canon(q.data, &eb));
    assert_non_null(strstr(eb.msg, "nested too deeply"));
    ig_buf_reset(&q);
    assert_int_equal(ig_buf_append_cstr(&q, "{a=\"b\"} | "), 0);
    for (int k = 0; k < 5000; k++)
        assert_int_equal(ig_buf_putc(&q, '('), 0);
    assert_null(canon(q.data, &eb));
    assert_non_null(strstr(eb.msg, "nested too deeply"));
    /* modest nesting works */
    char *c = canon("((((((((1))))))))", &eb);
    assert_non_null(c);
    assert_string_equal(c, "1");
    ig_free(c);
    /* input size limit */
    ig_buf_reset(&q);
    assert_int_equal(ig_buf_append_cstr(&q, "{a=\""), 0);
    for (int k = 0; k < LOGQL_MAX_QUERY_LEN; k++)
        assert_int_equal(ig_buf_putc(&q, 'x'), 0);
    assert_int_equal(ig_buf_append_cstr(&q, "\"}"), 0);
    ig_arena a;
    ig_arena_init(&a, 0);
    logql_expr *e;
    assert_int_equal(logql_parse(ig_buf_str(&q), &a, &e, &eb), IG_ETOOBIG);
    assert_non_null(strstr(eb.msg, "input size too long"));
    ig_arena_free(&a);
    /* a query at the size limit made of many strings parses within a 16 MiB arena */
    ig_buf_reset(&q);
    assert_int_equal(ig_buf_append_cstr(&q, "{a=\"b\"}"), 0);
    while (q.len + 16 < LOGQL_MAX_QUERY_LEN)
        assert_int_equal(ig_buf_append_cstr(&q, " |= \"x\" or \"y\""), 0);
    ig_arena_init(&a, 16u << 20);
    assert_int_equal(logql_parse(ig_buf_str(&q), &a, &e, &eb), 0);
    ig_arena_free(&a);
    ig_buf_reset(&q);
    while (q.len + 1 < LOGQL_MAX_QUERY_LEN)
        assert_int_equal(ig_buf_putc(&q, '('), 0);
    ig_arena_init(&a, 16u << 20);
    assert_int_equal(logql_parse(ig_buf_str(&q), &a, &e, &eb), IG_EINVAL);
    ig_arena_free(&a);
    ig_buf_free(&q);
}

/* Every arena cap from tiny to sufficient fails cleanly with IG_ENOMEM or succeeds. */
static void test_arena_caps(void **state)
{
    (void)state;
    const char *q = "sum by (a) (rate({app=\"a\", b=~\"x.+\"} |= \"err\" | json x=\"y\" | "
                    "level=\"error\" or v > 5 | line_format \"{{.x}}\" [5m])) / "
                    "on (a) group_left (b) count(quantile_over_time(0.5, {app=\"b\"} | "
                    "logfmt | unwrap duration(d) | __error__=\"\" [1m]) by (a))";
    int ok = 0;
    for (size_t cap = 64; cap < 256 * 1024; cap += cap / 8 + 16) {
        ig_arena a;
        ig_arena_init(&a, cap);
        logql_expr *e = NULL;
        ig_errbuf eb;
        int rc = logql_parse(ig_str_from(q), &a, &e, &eb);
        assert_true(rc == 0 || rc == IG_ENOMEM);
        if (rc == 0)
            ok++;
        ig_arena_free(&a);
    }
    assert_true(ok > 0);
    /* injected heap failures as well */
    for (long after = 0; after < 40; after++) {
        ig_arena a;
        ig_arena_init(&a, 0);
        logql_expr *e = NULL;
        ig_errbuf eb;
        ig_alloc_fail_after(after);
        int rc = logql_parse(ig_str_from(q), &a, &e, &eb);
        ig_alloc_fail_reset();
        assert_true(rc == 0 || rc == IG_ENOMEM);
        ig_arena_free(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformance_queries),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_arena_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
