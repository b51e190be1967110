/* libFuzzer target for the protobuf wire decoder (src/format/pb.c).
 *
 * Walks every field of the input; reads each value with the reader for its wire type and
 * tries every length-delimited field as a sub-message (recursively, up to PB_MAX_DEPTH) and
 * as packed varints / fixed64 / fixed32. Then checks a round trip: the top-level fields are
 * re-encoded with pb_writer (canonical form), and decoding that must give the same fields
 * and values. Groups are skipped (they are not re-encoded). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/buf.h"
#include "icegate/pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(pb_reader *r)
{
    int rc;
    while ((rc = pb_next(r)) > 0) {
        uint64_t v;
        uint32_t v32;
        ig_str s;
        pb_reader sub;
        pb_packed it;
        switch (r->wire) {
        case PB_VARINT:
            rc = pb_varint(r, &v);
            break;
        case PB_I64:
            rc = pb_fixed64(r, &v);
            break;
        case PB_I32:
            rc = pb_fixed32(r, &v32);
            break;
        case PB_SGROUP:
            rc = pb_skip(r);
            break;
        case PB_LEN: {
            pb_reader save = *r;
            if (pb_sub(r, &sub) == 0)
                walk(&sub);
            static const enum pb_wire elems[] = {PB_VARINT, PB_I64, PB_I32};
            for (int i = 0; i < 3; i++) {
                pb_reader again = save;
                if (pb_packed_begin(&again, &it, elems[i]) == 0) {
                    size_t n = pb_packed_count(&it), got = 0;
                    int prc;
                    while ((prc = elems[i] == PB_VARINT ? pb_packed_varint(&it, &v)
                                  : elems[i] == PB_I64  ? pb_packed_fixed64(&it, &v)
                                                        : pb_packed_fixed32(&it, &v32)) > 0)
                        got++;
                    if (prc == 0 && got != n)
                        abort();
                }
            }
            *r = save;
            rc = pb_bytes(r, &s);
            if (rc == 0 &&
                ((const uint8_t *)s.ptr < save.p || (const uint8_t *)s.ptr + s.len > r->end))
                abort(); /* a view always lies inside the enclosing message */
            break;
        }
        default:
            abort(); /* pb_next never returns other wire types */
        }
        if (rc < 0)
            return;
    }
}

typedef struct fv {
    uint32_t field;
    uint8_t wire;
    uint64_t v;
    ig_str s;
} fv;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_errbuf eb;
    pb_reader r;
    pb_reader_init(&r, ig_str_make(data, size), &eb);
    walk(&r);

    /* round trip of the top level */
    static fv fields[4096];
    size_t n = 0;
    int rc;
    pb_reader_init(&r, ig_str_make(data, size), &eb);
    ig_buf out;
    ig_buf_init(&out, 2 * size + 64);
    pb_writer w;
    pb_writer_init(&w, &out);
    while (n < 4096 && (rc = pb_next(&r)) > 0) {
        fv *f = &fields[n];
        uint32_t v32;
        f->field = r.field;
        f->wire = r.wire;
        f->s = IG_STR_NULL;
        f->v = 0;
        switch (r.wire) {
        case PB_VARINT:
            rc = pb_varint(&r, &f->v);
            pb_put_varint(&w, f->field, f->v);
            break;
        case PB_I64:
            rc = pb_fixed64(&r, &f->v);
            pb_put_fixed64(&w, f->field, f->v);
            break;
        case PB_I32:
            rc = pb_fixed32(&r, &v32);
            f->v = v32;
            pb_put_fixed32(&w, f->field, v32);
            break;
        case PB_LEN:
            rc = pb_bytes(&r, &f->s);
            pb_put_bytes(&w, f->field, f->s);
            break;
        default:
            rc = pb_skip(&r);
            continue;
        }
        if (rc < 0)
            break;
        n++;
    }
    if (rc >= 0 && n < 4096) {
        if (pb_writer_finish(&w) != 0)
            abort();
        if (out.len > size)
            abort(); /* canonical re-encoding is never longer (groups dropped) */
        pb_reader_init(&r, ig_buf_str(&out), &eb);
        for (size_t i = 0; i < n; i++) {
            if (pb_next(&r) != 1 || r.field != fields[i].field || r.wire != fields[i].wire)
                abort();
            uint64_t v = 0;
            uint32_t v32;
            ig_str s = IG_STR_NULL;
            switch (r.wire) {
            case PB_VARINT:
                rc = pb_varint(&r, &v);
                break;
            case PB_I64:
                rc = pb_fixed64(&r, &v);
                break;
            case PB_I32:
                rc = pb_fixed32(&r, &v32);
                v = v32;
                break;
            default:
                rc = pb_bytes(&r, &s);
                break;
            }
            if (rc != 0 || v != fields[i].v || !ig_str_eq(s, fields[i].s))
                abort();
        }
        if (pb_next(&r) != 0)
            abort();
    }
    ig_buf_free(&out);
    return 0;
}
