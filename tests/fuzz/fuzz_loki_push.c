/* libFuzzer target for Loki push decoding (src/ingest/loki_push.c).
 *
 * Byte 0 chooses the format: bit 0 clear = JSON body; set = protobuf, where bit 1 set
 * means the rest is handed over as is (snappy garbage, truncated blocks) and clear means
 * the rest is a raw PushRequest that the harness snappy-compresses first (so the protobuf
 * decoder sees fuzzed messages). Bits 2-3 pick tight limits.
 *
 * Checks: a failure returns no rows and a 4xx/5xx status with a message; a success has
 * status 204 (no message) or 400 (a message), accepted == rows.n, every row is a "loki"
 * row of the tenant with sorted, duplicate-free resource attributes, a timestamp inside the
 * accepted window, a line within max_line_size, and structured metadata names that the
 * normaliser leaves unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/labels.h"
#include "icegate/lokipush.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_US 1700000000000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    ig_str in = ig_str_make(data + 1, size - 1);
    ig_arena arena;
    ig_arena_init(&arena, 64u << 20);
    bool pb = mode & 1;
    char *z = NULL;
    if (pb && !(mode & 2)) {
        size_t cap = snappy_max_compressed_length(in.len);
        z = ig_malloc(cap ? cap : 1);
        if (!z || snappy_compress(in.ptr ? in.ptr : "", in.len, z, &cap) != SNAPPY_OK)
            abort();
        in = ig_str_make(z, cap);
    }
    ig_loki_push_opts o;
    memset(&o, 0, sizeof o);
    o.tenant_id = IG_STR("fuzz");
    o.account_id = (mode & 16) ? IG_STR("acct") : IG_STR_NULL;
    o.now_us = NOW_US;
    o.arena = &arena;
    o.max_line_size = (mode & 4) ? 16 : 0;
    o.max_labels_per_stream = (mode & 4) ? 2 : 0;
    o.max_sm_entries = (mode & 8) ? 1 : 0;
    o.max_sm_bytes = (mode & 8) ? 8 : 0;
    o.max_decompressed_bytes = (mode & 8) ? 256 : 1u << 20;
    o.max_age_ns = (mode & 32) ? 3600LL * 1000000000LL : 0;
    o.max_entries = (mode & 64) ? 4 : 0;

    ig_loki_push_result res;
    ig_errbuf eb;
    int rc = ig_loki_push_decode(in, pb, &o, &res, &eb);
    if (!res.error.ptr || res.error.ptr[res.error.len] != 0)
        abort();
    if (rc < 0) {
        if (res.rows.n != 0 || res.accepted != 0 || res.error.len == 0)
            abort();
        if (res.http_status != 400 && res.http_status != 413 && res.http_status != 422 &&
            res.http_status != 500)
            abort();
    } else {
        if (rc != 0 || res.accepted != res.rows.n || res.streams == 0)
            abort();
        if (res.http_status == 204
                ? res.error.len != 0 || res.rejected != 0
                : res.http_status != 400 || res.error.len == 0 || res.rejected == 0)
            abort();
        int64_t lo = 0, hi = NOW_US + 600LL * 1000000;
        if (o.max_age_ns)
            lo = NOW_US - 3600LL * 1000000;
        for (size_t i = 0; i < res.rows.n; i++) {
            const ig_log_row *r = &res.rows.u.logs[i];
            if (!ig_str_eq_cstr(r->source, "loki") || !ig_str_eq_cstr(r->id.tenant_id, "fuzz"))
                abort();
            if ((o.account_id.ptr != NULL) != (r->id.account_id.ptr != NULL))
                abort();
            if (r->timestamp_us < lo - 1 || r->timestamp_us > hi || r->ingested_us != NOW_US)
                abort();
            if (o.max_line_size && r->body.len > o.max_line_size)
                abort();
            if (!r->body.ptr || r->resource_attributes.n == 0)
                abort();
            const ig_attrs *ra = &r->resource_attributes;
            bool has_service = false;
            for (uint32_t k = 0; k < ra->n; k++) {
                if (ra->items[k].value.len == 0)
                    abort();
                if (k && ig_str_cmp(ra->items[k - 1].key, ra->items[k].key) >= 0)
                    abort();
                if (ig_str_eq_cstr(ra->items[k].key, "service_name")) {
                    has_service = true;
                    if (!ig_str_eq(r->id.service_name, ra->items[k].value))
                        abort();
                }
            }
            if (!has_service && r->id.service_name.ptr)
                abort();
            for (uint32_t k = 0; k < r->attributes.n; k++) {
                ig_str norm;
                if (ig_label_name_normalize(r->attributes.items[k].key, &arena, &norm, NULL) != 0 ||
                    !ig_str_eq(norm, r->attributes.items[k].key))
                    abort();
                for (uint32_t j = k + 1; j < r->attributes.n; j++)
                    if (ig_str_eq(r->attributes.items[k].key, r->attributes.items[j].key))
                        abort();
            }
        }
    }
    ig_free(z);
    ig_arena_free(&arena);
    return 0;
}
