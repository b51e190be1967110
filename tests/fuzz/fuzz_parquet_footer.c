/* libFuzzer target: Parquet footer decoding (file open, metadata walk, page index,
 * bloom header, statistics pruning). Arbitrary bytes are the whole file. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pq_reader_opts ro = {.max_footer_bytes = 1 << 20, .max_page_bytes = 1 << 20,
                         .max_vector_bytes = 8 << 20};
    pq_file *f;
    if (pq_open_mem(&f, data, size, &ro, NULL))
        return 0;
    for (size_t g = 0; g < f->nrgs && g < 64; g++)
        for (size_t c = 0; c < f->schema->ncols && c < 64; c++) {
            pq_page_index pi;
            if (pq_read_page_index(f, g, c, &pi, NULL) == 0)
                pq_page_index_free(&pi);
            pq_pred p = {.col = (int)c, .op = (pq_op)((g + c) % 7), .i = 1, .d = 1.0,
                         .s = {"abc", 3}};
            (void)pq_rg_may_match(f, g, &p);
            p.op = PQ_OP_EQ;
            bool maybe;
            (void)pq_bloom_check(f, g, &p, &maybe, NULL);
            pq_rowsel sel = {0};
            (void)pq_page_select(f, g, &p, &sel, NULL);
            pq_rowsel_free(&sel);
        }
    (void)pq_file_kv(f, "iceberg.schema");
    pq_close(f);
    return 0;
}
