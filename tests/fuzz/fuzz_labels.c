/* libFuzzer target for the Prometheus label-string parser (src/ingest/labels.c).
 *
 * Byte 0 picks the flags (sort, drop empty). A successful parse is printed with
 * ig_labels_format and parsed again (unsorted, empty values kept): the printed form must
 * parse, to the same names and values in the same order. With IG_LABELS_SORT the result
 * is sorted; with IG_LABELS_DROP_EMPTY no value is empty. A failed parse must leave a
 * message "L:C: parse error: ...". The SM name normaliser runs on every name: its output
 * is a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/arena.h"
#include "icegate/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 3;
    ig_str in = ig_str_make(data + 1, size - 1);
    ig_arena a;
    ig_arena_init(&a, 64u << 20);
    ig_attrs at;
    ig_errbuf eb;
    int rc = ig_labels_parse(in, flags, &a, &at, &eb);
    if (rc < 0) {
        if (rc != IG_EINVAL && rc != IG_ENOMEM)
            abort();
        if (rc == IG_EINVAL && strstr(eb.msg, ": parse error: ") == NULL)
            abort();
        ig_arena_free(&a);
        return 0;
    }
    for (uint32_t i = 0; i < at.n; i++) {
        if (!at.items[i].key.ptr || !at.items[i].value.ptr)
            abort();
        if ((flags & IG_LABELS_DROP_EMPTY) && at.items[i].value.len == 0)
            abort();
        if ((flags & IG_LABELS_SORT) && i && ig_str_cmp(at.items[i - 1].key, at.items[i].key) > 0)
            abort();
        ig_str n1, n2;
        if (ig_label_name_normalize(at.items[i].key, &a, &n1, NULL) == 0) {
            if (ig_label_name_normalize(n1, &a, &n2, NULL) != 0 || !ig_str_eq(n1, n2))
                abort();
        }
    }
    ig_buf b;
    ig_buf_init(&b, 0);
    if (ig_labels_format(&b, at.items, at.n) != 0)
        abort();
    ig_attrs again;
    ig_errbuf eb2;
    if (ig_labels_parse(ig_buf_str(&b), 0, &a, &again, &eb2) != 0)
        abort();
    if (again.n != at.n)
        abort();
    for (uint32_t i = 0; i < at.n; i++)
        if (!ig_str_eq(again.items[i].key, at.items[i].key) ||
            !ig_str_eq(again.items[i].value, at.items[i].value))
            abort();
    ig_buf_free(&b);
    ig_arena_free(&a);
    return 0;
}
