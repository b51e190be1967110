/* libFuzzer target for the Avro container reader and the Iceberg manifest readers
 * (src/format/avro.c, src/table/manifest.c).
 *
 * 1. The input as a container file: header, schema, every object (values in a capped
 *    arena), each re-encoded as JSON.
 * 2. The input as an Iceberg manifest and as a manifest list.
 * 3. The input as a schema JSON text.
 * Everything must fail cleanly or succeed; sanitizers catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/avro.h"
#include "icegate/json.h"
#include "icegate/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_str in = ig_str_make(data, size);
    ig_errbuf eb;
    avro_reader_opts o = {.max_block_bytes = 1 << 20, .max_items = 4096, .max_depth = 16};
    avro_reader r;
    ig_arena a;
    ig_arena_init(&a, 4u << 20);
    if (avro_reader_open(&r, in, &o, &eb) == 0) {
        avro_value v;
        int n = 0;
        while (n++ < 1000 && avro_reader_next(&r, &a, &v, &eb) == 1) {
            ig_buf out;
            ig_buf_init(&out, 1 << 22);
            json_writer w;
            json_writer_init(&w, &out);
            avro_value_to_json(&v, &w);
            (void)json_writer_finish(&w);
            ig_buf_free(&out);
            ig_arena_reset(&a);
        }
    }
    avro_reader_close(&r);
    ig_arena_reset(&a);

    ig_manifest_reader mr;
    if (ig_manifest_reader_open(&mr, in, &eb) == 0) {
        ig_mf_entry e;
        int n = 0;
        while (n++ < 1000 && ig_manifest_reader_next(&mr, &a, &e, &eb) == 1) {
            for (size_t i = 0; i < e.file.nmetrics; i++)
                if (e.file.metrics[i].lower.ptr && e.file.metrics[i].lower.len > size)
                    abort();
            ig_arena_reset(&a);
        }
    }
    ig_manifest_reader_close(&mr);
    ig_arena_reset(&a);

    ig_mf_list_meta meta;
    ig_mf_list_entry *entries;
    size_t n;
    if (ig_manifest_list_read(in, &a, &meta, &entries, &n, &eb) == 0)
        for (size_t i = 0; i < n; i++)
            if (entries[i].manifest_path.len > size)
                abort();
    ig_arena_reset(&a);

    const avro_schema *s;
    (void)avro_schema_parse(in, &a, &s, &eb);
    ig_arena_free(&a);
    return 0;
}
