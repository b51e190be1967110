/* libFuzzer target for the OTLP protobuf decoder (src/ingest/otlp_pb.c).
 *
 * Input: one signal byte (0 logs, 1 traces, 2 metrics; taken modulo 3) followed by the
 * request body. Decodes with small caps (so cap paths are reached) and checks the
 * result's invariants: on error nothing is returned and the message names the signal;
 * on success every row belongs to the tenant, counts add up, and every string view lies
 * in the body, the arena, or static text (checked by reading every byte under ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/otlp.h"
#include "otlp_fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    otlp_fuzz_one((ig_signal)(data[0] % 3), IG_OTLP_PROTOBUF, data + 1, size - 1);
    return 0;
}
