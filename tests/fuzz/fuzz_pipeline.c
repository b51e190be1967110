/* libFuzzer target for the log pipeline (src/query/pipeline.c, template.c): the input is
 * a log query and a line separated by the first NUL byte. A query that parses and
 * compiles runs over the line with a small label set and structured metadata; it must
 * neither crash nor leak, and its output labels must stay sorted with unique names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/logql.h"
#include "icegate/logql_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul)
        return 0;
    ig_str query = ig_str_make(data, (size_t)(nul - data));
    ig_str line = ig_str_make(nul + 1, size - (size_t)(nul - data) - 1);
    ig_arena a;
    ig_arena_init(&a, 16u << 20);
    ig_errbuf eb;
    logql_expr *e = NULL;
    if (logql_parse(query, &a, &e, &eb) == 0) {
        const logql_log *log = e->kind == LOGQL_EXPR_LOG         ? &e->u.log
                               : e->kind == LOGQL_EXPR_RANGE_AGG ? &e->u.range.log
                                                                 : NULL;
        lq_pipeline *p = NULL;
        if (log && lq_pipeline_new(log, &a, &p, &eb) == 0) {
            lq_label st[] = {{IG_STR("app"), IG_STR("a")}, {IG_STR("level"), IG_STR("info")}};
            lq_label sm[] = {{IG_STR("level"), IG_STR("warn")}, {IG_STR("trace_id"), IG_STR("t")}};
            lq_entry in = {
                .ts_ns = 1700000000123456789, .line = line, .stream = {st, 2}, .meta = {sm, 2}};
            ig_arena scratch;
            ig_arena_init(&scratch, 16u << 20);
            lq_out o;
            if (lq_pipeline_run(p, &in, &scratch, &o)) {
                for (size_t i = 1; i < o.labels.n; i++)
                    if (ig_str_cmp(o.labels.v[i - 1].name, o.labels.v[i].name) >= 0)
                        abort(); /* labels not sorted / not unique */
            }
            ig_arena_free(&scratch);
        }
    }
    ig_arena_free(&a);
    return 0;
}
