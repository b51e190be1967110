/* libFuzzer target: Parquet page and column decoding. Arbitrary bytes are opened as a
 * file; every column of every row group is decoded (with and without dictionary
 * indices, with a row selection) and rows are assembled. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int none(void *ctx, const pq_value *row)
{
    (void)ctx;
    (void)row;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pq_reader_opts ro = {.max_footer_bytes = 1 << 20, .max_page_bytes = 4 << 20,
                         .max_vector_bytes = 16 << 20};
    pq_file *f;
    if (pq_open_mem(&f, data, size, &ro, NULL))
        return 0;
    size_t nc = f->schema->ncols;
    pq_colvec *v = ig_calloc(nc, sizeof *v);
    pq_colvec **pv = ig_calloc(nc, sizeof *pv);
    ig_arena a;
    ig_arena_init(&a, 4 << 20);
    if (v && pv) {
        for (size_t g = 0; g < f->nrgs && g < 16; g++) {
            bool ok = true;
            for (size_t c = 0; c < nc; c++) {
                pv[c] = &v[c];
                pq_rowsel sel = {0};
                pq_rowsel_add(&sel, 1, 3);
                pq_rowsel_add(&sel, 7, 100);
                (void)pq_read_column(f, g, c, &sel, PQ_READ_KEEP_DICT, &v[c], NULL);
                pq_rowsel_free(&sel);
                if (pq_read_column(f, g, c, NULL, (c & 1) ? PQ_READ_KEEP_DICT : 0, &v[c], NULL))
                    ok = false;
            }
            if (ok)
                (void)pq_assemble(f->schema, pv, &a, none, NULL, NULL);
        }
        for (size_t c = 0; c < nc; c++)
            pq_colvec_free(&v[c]);
    }
    ig_free(v);
    ig_free(pv);
    ig_arena_free(&a);
    pq_close(f);
    return 0;
}
