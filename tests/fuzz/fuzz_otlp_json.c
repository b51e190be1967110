/* libFuzzer target for the OTLP/JSON decoder (src/ingest/otlp_json.c).
 *
 * Input: the request body; the signal is taken from the first top-level key the body
 * names ("resourceSpans" → traces, "resourceMetrics" → metrics, else logs), so corpus
 * files work as seeds unchanged. Same invariants as fuzz_otlp_pb. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/otlp.h"
#include "otlp_fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_signal s = IG_SIGNAL_LOGS;
    if (memmem(data, size, "esourceSpans", 12) || memmem(data, size, "esource_spans", 13))
        s = IG_SIGNAL_TRACES;
    else if (memmem(data, size, "esourceMetrics", 14) || memmem(data, size, "esource_metrics", 15))
        s = IG_SIGNAL_METRICS;
    otlp_fuzz_one(s, IG_OTLP_JSON, data, size);
    return 0;
}
