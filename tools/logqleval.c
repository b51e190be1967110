/* logqleval: evaluates LogQL metric queries over entries given as JSON, with the real
 * parser, pipeline and metric engine but an in-memory source (no server, no storage).
 * For developing the engine against the conformance scripts without the HTTP path
 * (tests/integration/logql_conformance_test.py with LOGQL_CONFORMANCE_DIRECT=1).
 *
 *   logqleval FILE      FILE: {"entries":[{"ts":"<ns>","line":"..","stream":{..},
 *                                 "meta":{..}}, ...],
 *                              "queries":[{"q":"..","start":"<ns>","end":"<ns>",
 *                                 "step":"<ns>"}, ...]}   (step "0": instant at end)
 *
 * Prints one line per query: {"status":200,"data":<lq_result_json>} or
 * {"status":400|501|500,"error":"<message>"} (the status the Loki API would give). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/json.h"
#include "icegate/logql.h"
#include "icegate/logql_eval.h"
#include "query/query_int.h"

typedef struct ent {
    int64_t ts;
    ig_str line;
    lq_labels stream, meta;
} ent;

typedef struct mem {
    ent *e;
    size_t n;
} mem;

static int read_labels(json_reader *r, ig_arena *a, lq_labels *out)
{
    size_t cap = 16;
    out->v = ig_arena_alloc(a, cap * sizeof(lq_label));
    out->n = 0;
    int rc = json_obj_begin(r);
    ig_str k;
    while (rc == 0 && (rc = json_obj_next_key(r, &k)) > 0) {
        ig_str v;
        ig_str kc = ig_arena_strdup(a, k);
        if ((rc = json_str(r, &v)) < 0)
            break;
        rc = 0;
        if (out->n == cap) {
            lq_label *nv = ig_arena_alloc(a, 2 * cap * sizeof(lq_label));
            memcpy(nv, out->v, cap * sizeof(lq_label));
            out->v = nv;
            cap *= 2;
        }
        out->v[out->n++] = (lq_label){kc, ig_arena_strdup(a, v)};
    }
    lq__labels_sort(out);
    return rc < 0 ? rc : 0;
}

static int read_ns(json_reader *r, int64_t *out)
{
    ig_str s;
    int rc = json_str(r, &s);
    if (rc < 0)
        return rc;
    return ig_str_to_i64(s, out);
}

static int mem_scan(lq_source *s, const logql_log *log, int64_t start, int64_t end, lq_entry_fn fn,
                    void *ctx, ig_errbuf *eb)
{
    mem *m = s->ctx;
    ig_arena a;
    ig_arena_init(&a, 64u << 20);
    lq_matchers *ms;
    int rc = lq__matchers_new(log->matchers, log->n_matchers, &a, &ms, eb);
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        ent *e = &m->e[i];
        if (e->ts < start || e->ts >= end || !lq__matchers_match(ms, &e->stream))
            continue;
        lq_entry en = {e->ts, e->line, e->stream, e->meta};
        rc = fn(ctx, &en);
    }
    ig_arena_free(&a);
    return rc;
}

static int status_of(int rc)
{
    if (rc == IG_EINVAL || rc == IG_ETOOBIG)
        return 400;
    if (rc == IG_EUNSUPPORTED)
        return 501;
    if (rc == IG_ETIMEDOUT)
        return 504;
    return 500;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: logqleval FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    ig_buf in;
    ig_buf_init(&in, 1u << 30);
    char tmp[65536];
    size_t got;
    while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
        if (ig_buf_append(&in, tmp, got)) {
            fprintf(stderr, "input too large\n");
            return 2;
        }
    fclose(f);

    ig_arena data;
    ig_arena_init(&data, 0);
    ig_errbuf eb;
    json_reader r;
    json_reader_init(&r, ig_buf_str(&in), &eb);
    r.arena = &data;
    mem m = {NULL, 0};
    size_t ecap = 0;
    typedef struct qry {
        ig_str q;
        int64_t start, end, step;
    } qry;
    qry *qs = NULL;
    size_t nq = 0, qcap = 0;
    ig_str k;
    int rc = json_obj_begin(&r);
    while (rc == 0 && (rc = json_obj_next_key(&r, &k)) > 0) {
        rc = 0;
        bool entries = ig_str_eq_cstr(k, "entries");
        if (!entries && !ig_str_eq_cstr(k, "queries")) {
            rc = json_skip(&r);
            continue;
        }
        rc = json_arr_begin(&r);
        while (rc == 0 && (rc = json_arr_next(&r)) > 0) {
            rc = json_obj_begin(&r);
            ent e = {0};
            qry q = {0};
            while (rc == 0 && (rc = json_obj_next_key(&r, &k)) > 0) {
                if (ig_str_eq_cstr(k, "ts"))
                    rc = read_ns(&r, &e.ts);
                else if (ig_str_eq_cstr(k, "line")) {
                    rc = json_str(&r, &e.line);
                    e.line = ig_arena_strdup(&data, e.line);
                } else if (ig_str_eq_cstr(k, "stream"))
                    rc = read_labels(&r, &data, &e.stream);
                else if (ig_str_eq_cstr(k, "meta"))
                    rc = read_labels(&r, &data, &e.meta);
                else if (ig_str_eq_cstr(k, "q")) {
                    rc = json_str(&r, &q.q);
                    q.q = ig_arena_strdup(&data, q.q);
                } else if (ig_str_eq_cstr(k, "start"))
                    rc = read_ns(&r, &q.start);
                else if (ig_str_eq_cstr(k, "end"))
                    rc = read_ns(&r, &q.end);
                else if (ig_str_eq_cstr(k, "step"))
                    rc = read_ns(&r, &q.step);
                else
                    rc = json_skip(&r);
                if (rc > 0)
                    rc = 0;
            }
            if (rc < 0)
                break;
            rc = 0;
            if (entries) {
                if (m.n == ecap) {
                    ecap = ecap ? 2 * ecap : 256;
                    m.e = ig_realloc(m.e, ecap * sizeof(ent));
                }
                m.e[m.n++] = e;
            } else {
                if (nq == qcap) {
                    qcap = qcap ? 2 * qcap : 16;
                    qs = ig_realloc(qs, qcap * sizeof(qry));
                }
                qs[nq++] = q;
            }
        }
        if (rc > 0)
            rc = 0;
    }
    if (rc < 0) {
        fprintf(stderr, "bad input: %s\n", eb.msg);
        return 2;
    }
    lq_source src = {mem_scan, &m};
    ig_buf out;
    ig_buf_init(&out, 0);
    for (size_t i = 0; i < nq; i++) {
        ig_arena a;
        ig_arena_init(&a, 1u << 30);
        logql_expr *e;
        ig_errbuf qeb;
        qeb.msg[0] = 0;
        lq_result res;
        ig_buf_reset(&out);
        int qrc = logql_parse(qs[i].q, &a, &e, &qeb);
        if (qrc == 0 && !logql_is_metric(e))
            qrc = ig_err(&qeb, IG_EINVAL, "log queries are not supported here");
        if (qrc == 0) {
            lq_eval_opts o = {qs[i].start, qs[i].end, qs[i].step, qs[i].step == 0, 0, 0};
            qrc = lq_eval_metric(e, &src, &o, &a, &res, &qeb);
        }
        if (qrc == 0) {
            ig_buf_append_cstr(&out, "{\"status\":200,\"data\":");
            qrc = lq_result_json(&res, &out);
            ig_buf_putc(&out, '}');
        }
        if (qrc != 0) {
            ig_buf_reset(&out);
            ig_buf_printf(&out, "{\"status\":%d,\"error\":", status_of(qrc));
            ig_buf_json_str(&out, ig_str_from(qeb.msg));
            ig_buf_putc(&out, '}');
        }
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
        ig_arena_free(&a);
    }
    fflush(stdout);
    ig_buf_free(&out);
    ig_free(qs);
    ig_free(m.e);
    json_reader_free(&r);
    ig_arena_free(&data);
    ig_buf_free(&in);
    return 0;
}
