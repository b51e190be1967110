/* libFuzzer target for the JSON reader, number helpers and base64/hex (src/format/json.c).
 *
 * 1. Walks every token with json_next, converting every number with json_num_*; the same
 *    input through json_skip + json_end must agree on validity.
 * 2. A valid document is re-written with json_writer; reading the output must give the
 *    same token sequence (types, decoded strings, raw numbers).
 * 3. The input as base64 / hex: whatever decodes must re-encode and decode to the same.
 * 4. The two UTF-8 validators agree: the input as the body of a JSON string (when it has
 *    no quote, backslash or control byte) is valid iff pb_utf8_invalid_at accepts it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/buf.h"
#include "icegate/json.h"
#include "icegate/pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void codecs(const uint8_t *data, size_t size)
{
    static uint8_t out[4096], again[4096];
    size_t n, m;
    ig_errbuf eb;
    if (size > 4096)
        return;
    if (json_b64_decode(ig_str_make(data, size), out, sizeof out, &n, &eb) == 0) {
        ig_buf b;
        ig_buf_init(&b, 0);
        if (json_b64_encode(&b, ig_str_make(out, n)) != 0 ||
            json_b64_decode(ig_buf_str(&b), again, sizeof again, &m, &eb) != 0 || m != n ||
            (n && memcmp(out, again, n) != 0))
            abort();
        ig_buf_free(&b);
    }
    if (size % 2 == 0 && json_hex_decode(ig_str_make(data, size), out, size / 2, &eb) == 0) {
        ig_buf b;
        ig_buf_init(&b, 0);
        if (json_hex_encode(&b, ig_str_make(out, size / 2)) != 0 || b.len != size ||
            json_hex_decode(ig_buf_str(&b), again, size / 2, &eb) != 0 ||
            (size && memcmp(out, again, size / 2) != 0))
            abort();
        ig_buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ig_errbuf eb;
    json_reader r;
    json_tok t;
    ig_str in = ig_str_make(data, size);
    unsigned flags = size && (data[0] & 1) ? JSON_LONE_SURROGATE_FFFD : 0;

    codecs(data, size);

    if (size < 4096) {
        static char quoted[4098];
        bool plain = true;
        for (size_t i = 0; i < size && plain; i++)
            plain = data[i] >= 0x20 && data[i] != '"' && data[i] != '\\';
        if (plain) {
            quoted[0] = '"';
            if (size)
                memcpy(quoted + 1, data, size);
            quoted[size + 1] = '"';
            json_reader_init(&r, ig_str_make(quoted, size + 2), &eb);
            ig_str s;
            int ok = json_str(&r, &s) == 0;
            json_reader_free(&r);
            if (ok != (pb_utf8_invalid_at(in) == SIZE_MAX))
                abort();
        }
    }

    /* 1 + 2: token walk, re-writing as we go */
    ig_buf out;
    ig_buf_init(&out, 4 * size + 64);
    json_writer w;
    json_writer_init(&w, &out);
    json_reader_init(&r, in, &eb);
    r.flags = flags;
    int rc;
    while ((rc = json_next(&r, &t)) > 0) {
        int64_t i;
        uint64_t u;
        double d;
        switch (t.type) {
        case JSON_OBJ:
            json_w_obj_begin(&w);
            break;
        case JSON_OBJ_END:
            json_w_obj_end(&w);
            break;
        case JSON_ARR:
            json_w_arr_begin(&w);
            break;
        case JSON_ARR_END:
            json_w_arr_end(&w);
            break;
        case JSON_KEY:
            json_w_key(&w, t.str);
            break;
        case JSON_STRING:
            json_w_str(&w, t.str);
            break;
        case JSON_NUMBER:
            if (!json_is_number(t.str))
                abort();
            json_num_i64(t.str, &i);
            json_num_u64(t.str, &u);
            json_num_f64(t.str, &d);
            json_w_raw(&w, t.str);
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            json_w_bool(&w, t.type == JSON_TRUE);
            break;
        case JSON_NULL:
            json_w_null(&w);
            break;
        default:
            abort();
        }
    }
    json_reader_free(&r);
    int valid = rc == 0;

    json_reader_init(&r, in, &eb);
    r.flags = flags;
    int rc2 = json_skip(&r);
    if (rc2 == 0)
        rc2 = json_end(&r);
    json_reader_free(&r);
    if ((rc2 == 0) != valid)
        abort();

    if (valid) {
        if (json_writer_finish(&w) != 0)
            abort();
        json_reader a, b;
        json_tok ta, tb;
        json_reader_init(&a, in, &eb);
        a.flags = flags;
        json_reader_init(&b, ig_buf_str(&out), &eb);
        for (;;) {
            int ra = json_next(&a, &ta), rb = json_next(&b, &tb);
            if (ra != rb || ra < 0 || ta.type != tb.type)
                abort();
            if (ra == 0)
                break;
            if ((ta.type == JSON_KEY || ta.type == JSON_STRING || ta.type == JSON_NUMBER) &&
                !ig_str_eq(ta.str, tb.str))
                abort();
        }
        json_reader_free(&a);
        json_reader_free(&b);
    }
    ig_buf_free(&out);
    return 0;
}
