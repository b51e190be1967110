/* libFuzzer target for the LogQL parser and printer (src/query/logql/).
 *
 * The input is a query. It must parse or fail cleanly; when it parses, print → parse →
 * print must give the same text (the printed form is a fixed point), and the second
 * parse must succeed. Nesting is bounded by LOGQL_MAX_DEPTH, memory by the arena cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/logql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_arena a;
    ig_arena_init(&a, 8u << 20);
    ig_errbuf eb;
    logql_expr *e = NULL;
    if (logql_parse(ig_str_make(data, size), &a, &e, &eb) == 0) {
        ig_buf p1, p2;
        ig_buf_init(&p1, 4u << 20);
        ig_buf_init(&p2, 4u << 20);
        if (logql_print(e, &p1) == 0) {
            logql_expr *e2 = NULL;
            int rc = logql_parse(ig_buf_str(&p1), &a, &e2, &eb);
            if (rc == IG_ENOMEM || rc == IG_ETOOBIG) {
                /* the printed form may be longer than the input: caps are fine */
            } else if (rc != 0) {
                abort(); /* printed form does not re-parse */
            } else if (logql_print(e2, &p2) == 0 &&
                       (p1.len != p2.len || memcmp(p1.data, p2.data, p1.len) != 0)) {
                abort(); /* printing is not idempotent */
            }
        }
        ig_buf_free(&p1);
        ig_buf_free(&p2);
    }
    ig_arena_free(&a);
    return 0;
}
