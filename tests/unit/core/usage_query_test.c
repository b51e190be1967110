/* Per-tenant query usage on /metrics: ig_usage_count_query counts requests by tenant, API,
 * endpoint and outcome and observes their latency per tenant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "icegate/buf.h"
#include "icegate/metrics.h"
#include "icegate/usage.h"

static void test_query_counts(void **state)
{
    (void)state;
    ig_usage_reset();
    ig_usage_count_query(IG_STR("uq-a"), "loki", "query_range", 200, 0.02);
    ig_usage_count_query(IG_STR("uq-a"), "loki", "query_range", 200, 0.03);
    ig_usage_count_query(IG_STR("uq-a"), "loki", "query_range", 400, 0.001);
    ig_usage_count_query(IG_STR("uq-b"), "loki", "labels", 200, 0.5);
    ig_buf b;
    ig_buf_init(&b, 1u << 24);
    assert_int_equal(ig_metrics_render(&b), 0);
    const char *t = (const char *)b.data;
    assert_non_null(strstr(t, "icegate_query_requests_total{tenant=\"uq-a\",api=\"loki\","
                              "endpoint=\"query_range\",outcome=\"ok\"} 2\n"));
    assert_non_null(strstr(t, "icegate_query_requests_total{tenant=\"uq-a\",api=\"loki\","
                              "endpoint=\"query_range\",outcome=\"error\"} 1\n"));
    assert_non_null(strstr(t, "icegate_query_requests_total{tenant=\"uq-b\",api=\"loki\","
                              "endpoint=\"labels\",outcome=\"ok\"} 1\n"));
    assert_non_null(strstr(t, "icegate_query_duration_seconds_count{tenant=\"uq-a\",api=\"loki\","
                              "endpoint=\"query_range\"} 3\n"));
    /* one tenant's queries never show up in another's series */
    assert_null(strstr(t, "icegate_query_requests_total{tenant=\"uq-b\",api=\"loki\","
                          "endpoint=\"query_range\""));
    ig_buf_free(&b);
    ig_usage_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
