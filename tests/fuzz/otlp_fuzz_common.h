/* Shared checks of the OTLP fuzz targets (fuzz_otlp_pb.c, fuzz_otlp_json.c). */
#ifndef OTLP_FUZZ_COMMON_H
#define OTLP_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/otlp.h"

static volatile uint8_t otlp_fuzz_sink;

static void otlp_fuzz_touch(ig_str s)
{
    for (size_t i = 0; i < s.len; i++)
        otlp_fuzz_sink ^= (uint8_t)s.ptr[i];
}

static void otlp_fuzz_attrs(const ig_attrs *a)
{
    for (uint32_t i = 0; i < a->n; i++) {
        otlp_fuzz_touch(a->items[i].key);
        otlp_fuzz_touch(a->items[i].value);
    }
}

static void otlp_fuzz_one(ig_signal s, ig_otlp_encoding e, const uint8_t *data, size_t size)
{
    ig_arena arena;
    ig_arena_init(&arena, 1u << 20);
    ig_ingest_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.tenant_id = IG_STR("fuzz");
    ctx.now_us = 1;
    ctx.arena = &arena;
    ctx.max_attrs_per_level = 64;
    ctx.max_records = 4096;
    ig_decode_result res;
    ig_errbuf eb;
    int rc = ig_otlp_decode(s, e, ig_str_make(data, size), &ctx, &res, &eb);
    if (rc < 0) {
        if (strncmp(eb.msg, ig_signal_name(s), strlen(ig_signal_name(s))) != 0)
            abort();
        for (int t = 0; t < IG_TABLE_COUNT_; t++)
            if (res.rows[t].n)
                abort();
    } else {
        uint64_t n =
            res.rows[IG_TABLE_LOGS].n + res.rows[IG_TABLE_SPANS].n + res.rows[IG_TABLE_METRICS].n;
        if (n != res.accepted || res.rows[IG_TABLE_EVENTS].n > res.rows[IG_TABLE_LOGS].n)
            abort();
        if (res.rejected && !res.reason[0])
            abort();
        for (size_t i = 0; i < res.rows[IG_TABLE_LOGS].n; i++) {
            const ig_log_row *r = &res.rows[IG_TABLE_LOGS].u.logs[i];
            if (!ig_str_eq_cstr(r->id.tenant_id, "fuzz") || !r->id.service_name.ptr)
                abort();
            otlp_fuzz_touch(r->body);
            otlp_fuzz_touch(r->severity_text);
            otlp_fuzz_touch(r->event_name);
            otlp_fuzz_attrs(&r->attributes);
            otlp_fuzz_attrs(&r->resource_attributes);
            otlp_fuzz_attrs(&r->scope_attributes);
        }
        for (size_t i = 0; i < res.rows[IG_TABLE_SPANS].n; i++) {
            const ig_span_row *r = &res.rows[IG_TABLE_SPANS].u.spans[i];
            if (!r->id.service_name.ptr || r->duration_nanos < 0 || !r->name.ptr)
                abort();
            otlp_fuzz_attrs(&r->attributes);
            for (uint32_t k = 0; k < r->nevents; k++)
                otlp_fuzz_attrs(&r->events[k].attributes);
            for (uint32_t k = 0; k < r->nlinks; k++)
                otlp_fuzz_attrs(&r->links[k].attributes);
        }
        for (size_t i = 0; i < res.rows[IG_TABLE_METRICS].n; i++) {
            const ig_metric_row *r = &res.rows[IG_TABLE_METRICS].u.metrics[i];
            if (!r->metric_name.ptr || !r->metric_type.ptr)
                abort();
            otlp_fuzz_touch(r->metric_name);
            otlp_fuzz_attrs(&r->attributes);
            otlp_fuzz_attrs(&r->metadata);
            for (uint32_t k = 0; k < r->bucket_counts.n; k++)
                otlp_fuzz_sink ^= (uint8_t)r->bucket_counts.v[k];
            for (uint32_t k = 0; k < r->nexemplars; k++)
                otlp_fuzz_attrs(&r->exemplars[k].attributes);
        }
    }
    ig_arena_free(&arena);
}

#endif
