/* Loki push decoding and validation (lokipush.h, docs/ingest-loki.md).
 *
 * One pass over the body. Entries of a stream are appended to the row array as they are
 * decoded; when the stream's message/object ends (its labels may come after its
 * entries), the stream is validated as Loki's distributor does and its rows are
 * compacted in place, dropping what was rejected. A request-level failure anywhere
 * (malformed body, unparsable labels) discards everything: the rows live in the
 * caller's arena and are simply not returned. */
#include "icegate/lokipush.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "icegate/alloc.h"
#include "icegate/json.h"
#include "icegate/labels.h"
#include "icegate/pb.h"
#include "icegate/time.h"

#define MAX_GROUPS 32                   /* distinct validation messages kept */
#define MSG_MAX 4096                    /* one validation message */
#define ERROR_MAX 16384                 /* the whole HTTP error body */
#define GO_MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z (Go's zero time) */
#define GO_MAX_SECONDS 253402300800LL   /* 10000-01-01T00:00:00Z (exclusive) */

typedef struct entry_ts {
    int64_t sec;
    int32_t nsec;
} entry_ts;

typedef struct err_group {
    char *msg;
    uint64_t n;
} err_group;

typedef struct dec {
    const ig_loki_push_opts *o;
    ig_arena *a;
    ig_loki_push_result *out;
    ig_errbuf *eb;
    /* limits, defaults applied */
    size_t max_line, max_sm_bytes, max_entries;
    uint32_t max_labels, max_name, max_value, max_sm_entries;
    int64_t oldest_ns, newest_ns; /* accepted window (inclusive) */
    int64_t now_us;
    ig_str tenant, account;
    /* rows (arena, doubling) */
    ig_log_row *rows;
    size_t n, cap;
    size_t total_entries;
    /* timestamps of the current stream's entries (heap, freed at the end) */
    entry_ts *ts;
    size_t ts_cap;
    size_t stream_start;
    /* structured-metadata scratch for JSON (heap) */
    ig_attr *sm;
    size_t sm_n, sm_cap;
    /* validation messages */
    err_group groups[MAX_GROUPS];
    size_t ngroups;
    uint64_t nmore;
    ig_buf lbl; /* the current stream's labels as Loki prints them */
    bool lbl_done;
    char msg[MSG_MAX];
} dec;

/* ---- errors ---------------------------------------------------------------------- */

static void set_error(dec *d, int status, const char *text)
{
    ig_str e = ig_arena_strdup(d->a, ig_str_from(text));
    if (!e.ptr)
        e = IG_STR("out of memory while reporting an error");
    d->out->error = e;
    d->out->http_status = status;
    if (d->eb)
        snprintf(d->eb->msg, sizeof d->eb->msg, "%s", e.ptr);
}

/* A whole-request failure: nothing is stored. */
static int fatal(dec *d, int code, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fatal(dec *d, int code, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    set_error(d, status, d->msg);
    return code;
}

static int oom(dec *d)
{
    return fatal(d, IG_ENOMEM, 500, "out of memory: the request's memory limit was reached");
}

/* Records one validation failure (Loki's GroupedErrors). */
static void add_validation_error(dec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_validation_error(dec *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < d->ngroups; i++)
        if (strcmp(d->groups[i].msg, d->msg) == 0) {
            d->groups[i].n++;
            return;
        }
    if (d->ngroups < MAX_GROUPS) {
        ig_str c = ig_arena_strdup(d->a, ig_str_from(d->msg));
        if (c.ptr) {
            d->groups[d->ngroups].msg = (char *)c.ptr;
            d->groups[d->ngroups].n = 1;
            d->ngroups++;
            return;
        }
    }
    d->nmore++;
}

/* The final 400 body: "msg" alone, or "N errors like: msg; M errors like: msg2" (Loki's
 * GroupedErrors, in first-seen order), cut to ERROR_MAX bytes. */
static void finish_validation_errors(dec *d)
{
    if (d->ngroups == 0 && d->nmore == 0)
        return;
    ig_buf b;
    ig_buf_init(&b, ERROR_MAX);
    bool counted = d->ngroups > 1 || d->nmore > 0;
    size_t i = 0;
    for (; i < d->ngroups; i++) {
        char head[48] = "";
        if (counted || d->groups[i].n > 1)
            snprintf(head, sizeof head, "%" PRIu64 " errors like: ", d->groups[i].n);
        size_t need = (i ? 2 : 0) + strlen(head) + strlen(d->groups[i].msg);
        if (b.len + need > ERROR_MAX - 128)
            break;
        if (i)
            ig_buf_append(&b, "; ", 2);
        ig_buf_append_cstr(&b, head);
        ig_buf_append_cstr(&b, d->groups[i].msg);
    }
    for (size_t j = i; j < d->ngroups; j++)
        d->nmore += d->groups[j].n;
    if (d->nmore > 0)
        ig_buf_printf(&b, "%s%" PRIu64 " more errors not shown", b.len ? "; " : "", d->nmore);
    set_error(d, 400, b.data ? b.data : "");
    ig_buf_free(&b);
}

/* RFC 3339 in UTC without fraction, as Go's time.Format(time.RFC3339). */
static void fmt_time(int64_t sec, char *buf, size_t n)
{
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int y;
    unsigned m, dd;
    ig_civil_from_days(days, &y, &m, &dd);
    snprintf(buf, n, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, dd, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
}

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* Replaces each invalid UTF-8 byte of a line with U+FFFD (what a Loki client sees when
 * Loki serialises such a line as JSON), so Parquet string columns always hold valid
 * UTF-8 and every reader can read the segment. Valid lines are returned as they are. */
static int utf8_replace(dec *d, ig_str s, ig_str *out)
{
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t i = 0;
    while (i < s.len && p[i] < 0x80)
        i++;
    if (i == s.len || pb_utf8_invalid_at(ig_str_make(p + i, s.len - i)) == SIZE_MAX) {
        *out = s;
        return 0;
    }
    size_t cap;
    if (ig_size_mul(s.len, 3, &cap) < 0)
        return IG_ENOMEM;
    char *o = ig_arena_alloc(d->a, cap + 1);
    if (!o)
        return IG_ENOMEM;
    size_t n = 0;
    i = 0;
    while (i < s.len) {
        if (p[i] < 0x80) {
            o[n++] = (char)p[i++];
            continue;
        }
        size_t w = p[i] >= 0xC2 && p[i] <= 0xDF   ? 2
                   : p[i] >= 0xE0 && p[i] <= 0xEF ? 3
                   : p[i] >= 0xF0 && p[i] <= 0xF4 ? 4
                                                  : 0;
        if (w && i + w <= s.len && pb_utf8_invalid_at(ig_str_make(p + i, w)) == SIZE_MAX) {
            memcpy(o + n, p + i, w);
            n += w;
            i += w;
        } else {
            memcpy(o + n, "\xEF\xBF\xBD", 3);
            n += 3;
            i++;
        }
    }
    o[n] = 0;
    *out = ig_str_make(o, n);
    return 0;
}

/* ---- rows ------------------------------------------------------------------------ */

static int add_entry(dec *d, int64_t sec, int32_t nsec, ig_str line, ig_attrs sm)
{
    if (d->max_entries && d->total_entries >= d->max_entries)
        return fatal(d, IG_ETOOBIG, 413,
                     "request body too large: more than %zu entries, limit: %zu entries",
                     d->max_entries, d->max_entries);
    d->total_entries++;
    if (line.ptr && utf8_replace(d, line, &line) < 0)
        return oom(d);
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64, bytes;
        if (ig_size_mul(nc, sizeof(ig_log_row), &bytes) < 0)
            return oom(d);
        ig_log_row *nr = ig_arena_alloc(d->a, bytes);
        if (!nr)
            return oom(d);
        if (d->n)
            memcpy(nr, d->rows, d->n * sizeof(ig_log_row));
        d->rows = nr;
        d->cap = nc;
    }
    size_t k = d->n - d->stream_start;
    if (k == d->ts_cap) {
        size_t nc = d->ts_cap ? d->ts_cap * 2 : 64, bytes;
        if (ig_size_mul(nc, sizeof(entry_ts), &bytes) < 0)
            return oom(d);
        entry_ts *nt = ig_realloc(d->ts, bytes);
        if (!nt)
            return oom(d);
        d->ts = nt;
        d->ts_cap = nc;
    }
    d->ts[k].sec = sec;
    d->ts[k].nsec = nsec;
    ig_log_row *r = &d->rows[d->n++];
    memset(r, 0, sizeof *r);
    r->id.tenant_id = d->tenant;
    r->id.account_id = d->account;
    r->body = line.ptr ? line : IG_STR("");
    r->attributes = sm;
    r->ingested_us = d->now_us;
    r->source = IG_STR("loki");
    return 0;
}

static const char *stream_str(dec *d, const ig_attrs *labels)
{
    if (!d->lbl_done) {
        ig_buf_reset(&d->lbl);
        if (ig_labels_format(&d->lbl, labels->items, labels->n) < 0) {
            ig_buf_reset(&d->lbl);
            ig_buf_append_cstr(&d->lbl, "{...}");
        }
        d->lbl_done = true;
    }
    return d->lbl.data ? d->lbl.data : "{}";
}

static bool utf8_clean(ig_str s)
{
    /* true when s is valid UTF-8 without U+FFFD (what Go's ContainsRune(RuneError) tests) */
    const uint8_t *p = (const uint8_t *)s.ptr;
    for (size_t i = 0; i < s.len; i++) {
        if (p[i] < 0x80)
            continue;
        if (pb_utf8_invalid_at(ig_str_make(p + i, s.len - i)) != SIZE_MAX)
            return false;
        /* valid from here on: only U+FFFD can still matter */
        for (size_t j = i; j + 2 < s.len; j++)
            if (p[j] == 0xEF && p[j + 1] == 0xBF && p[j + 2] == 0xBD)
                return false;
        return true;
    }
    return true;
}

/* Drops invalid UTF-8 bytes and U+FFFD, as Loki's distributor does for SM values. */
static int utf8_scrub(dec *d, ig_str s, ig_str *out)
{
    char *o = ig_arena_alloc(d->a, s.len + 1);
    if (!o)
        return IG_ENOMEM;
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t n = 0, i = 0;
    while (i < s.len) {
        if (p[i] < 0x80) {
            o[n++] = (char)p[i++];
            continue;
        }
        size_t w = 0;
        unsigned c = p[i];
        if (c >= 0xC2 && c <= 0xDF)
            w = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            w = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            w = 4;
        if (w && i + w <= s.len && pb_utf8_invalid_at(ig_str_make(p + i, w)) == SIZE_MAX &&
            !(w == 3 && p[i] == 0xEF && p[i + 1] == 0xBF && p[i + 2] == 0xBD)) {
            memcpy(o + n, p + i, w);
            n += w;
            i += w;
        } else {
            i++;
        }
    }
    o[n] = 0;
    *out = ig_str_make(o, n);
    return 0;
}

typedef struct idx_key {
    ig_str key;
    uint32_t i;
} idx_key;

static int cmp_idx_key(const void *a, const void *b)
{
    const idx_key *x = a, *y = b;
    int c = ig_str_cmp(x->key, y->key);
    if (c)
        return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Removes earlier pairs whose key appears again later (the last one wins, as a map or
 * Loki's label builder keeps it), keeping the order of the survivors. */
static int dedupe_last_wins(ig_attrs *at)
{
    if (at->n < 2)
        return 0;
    if (at->n <= 16) {
        uint32_t o = 0;
        for (uint32_t i = 0; i < at->n; i++) {
            bool later = false;
            for (uint32_t j = i + 1; j < at->n && !later; j++)
                later = ig_str_eq(at->items[i].key, at->items[j].key);
            if (!later)
                at->items[o++] = at->items[i];
        }
        at->n = o;
        return 0;
    }
    idx_key *ix = ig_malloc(at->n * sizeof *ix);
    bool *drop = ig_calloc(at->n, sizeof *drop);
    if (!ix || !drop) {
        ig_free(ix);
        ig_free(drop);
        return IG_ENOMEM;
    }
    for (uint32_t i = 0; i < at->n; i++) {
        ix[i].key = at->items[i].key;
        ix[i].i = i;
    }
    qsort(ix, at->n, sizeof *ix, cmp_idx_key);
    for (uint32_t i = 0; i + 1 < at->n; i++)
        if (ig_str_eq(ix[i].key, ix[i + 1].key))
            drop[ix[i].i] = true;
    uint32_t o = 0;
    for (uint32_t i = 0; i < at->n; i++)
        if (!drop[i])
            at->items[o++] = at->items[i];
    at->n = o;
    ig_free(ix);
    ig_free(drop);
    return 0;
}

/* Normalises the structured metadata of an accepted entry (names as Loki's distributor
 * rewrites them, values without invalid UTF-8), copying the array when it changes. */
static int normalize_sm(dec *d, ig_attrs *sm)
{
    if (sm->n == 0)
        return 0;
    ig_attr *copy = NULL;
    for (uint32_t i = 0; i < sm->n; i++) {
        ig_str name, value = sm->items[i].value;
        ig_errbuf eb;
        int rc = ig_label_name_normalize(sm->items[i].key, d->a, &name, &eb);
        if (rc == IG_ENOMEM)
            return oom(d);
        if (rc < 0)
            return fatal(d, IG_EINVAL, 400, "%s", eb.msg);
        if (!utf8_clean(value) && utf8_scrub(d, value, &value) < 0)
            return oom(d);
        if (!copy && (name.ptr != sm->items[i].key.ptr || value.ptr != sm->items[i].value.ptr)) {
            copy = ig_arena_alloc(d->a, sm->n * sizeof(ig_attr));
            if (!copy)
                return oom(d);
            memcpy(copy, sm->items, sm->n * sizeof(ig_attr));
        }
        if (copy) {
            copy[i].key = name;
            copy[i].value = value;
        }
    }
    if (copy)
        sm->items = copy;
    if (dedupe_last_wins(sm) < 0)
        return oom(d);
    return 0;
}

static int64_t ts_ns(entry_ts t, bool *under, bool *over)
{
    int64_t ns;
    *under = *over = false;
    if (__builtin_mul_overflow(t.sec, (int64_t)1000000000, &ns) ||
        __builtin_add_overflow(ns, (int64_t)t.nsec, &ns)) {
        *under = t.sec < 0;
        *over = t.sec >= 0;
        return t.sec < 0 ? INT64_MIN : INT64_MAX;
    }
    return ns;
}

/* Validates the stream whose entries are rows[stream_start, n) and compacts them. labels
 * are sorted, empty values dropped. Returns 0 or a fatal error code. */
static int end_stream(dec *d, ig_attrs labels)
{
    size_t start = d->stream_start, count = d->n - start;
    d->lbl_done = false;
    if (count == 0)
        return 0; /* Loki skips streams without entries before validating them */

    /* stream-level checks (Loki's Validator.ValidateLabels) */
    bool bad = false;
    if (labels.n == 0) {
        add_validation_error(d, "error at least one label pair is required per stream");
        bad = true;
    }
    ig_str service = IG_STR_NULL;
    size_t nnames = labels.n;
    for (uint32_t i = 0; i < labels.n; i++)
        if (ig_str_eq_cstr(labels.items[i].key, "service_name")) {
            service = labels.items[i].value;
            break;
        }
    if (!bad && service.ptr)
        nnames--;
    if (!bad && nnames > d->max_labels) {
        add_validation_error(d, "entry for stream '%s' has %zu label names; limit %u",
                             stream_str(d, &labels), nnames, d->max_labels);
        bad = true;
    }
    for (uint32_t i = 0; !bad && i < labels.n; i++) {
        const ig_attr *l = &labels.items[i];
        if (l->key.len > d->max_name) {
            add_validation_error(d, "stream '%s' has label name too long: '%.*s'",
                                 stream_str(d, &labels), (int)l->key.len, l->key.ptr);
            bad = true;
        } else if (l->value.len > d->max_value) {
            add_validation_error(d, "stream '%s' has label value too long: '%.*s'",
                                 stream_str(d, &labels), (int)l->value.len, l->value.ptr);
            bad = true;
        } else if (i > 0 && ig_str_eq(labels.items[i - 1].key, l->key)) {
            add_validation_error(d, "stream '%s' has duplicate label name: '%.*s'",
                                 stream_str(d, &labels), (int)l->key.len, l->key.ptr);
            bad = true;
        }
    }
    if (bad) {
        d->out->rejected += count;
        d->n = start;
        return 0;
    }

    /* entry-level checks (Loki's Validator.ValidateEntry), then compaction */
    size_t o = start;
    for (size_t k = 0; k < count; k++) {
        ig_log_row *r = &d->rows[start + k];
        entry_ts t = d->ts[k];
        bool under, over;
        int64_t ns = ts_ns(t, &under, &over);
        char tb[48], tb2[48];
        if (under || ns < d->oldest_ns) {
            fmt_time(t.sec, tb, sizeof tb);
            fmt_time(d->oldest_ns / 1000000000LL, tb2, sizeof tb2);
            add_validation_error(d,
                                 "entry for stream '%s' has timestamp too old: %s, oldest "
                                 "acceptable timestamp is: %s",
                                 stream_str(d, &labels), tb, tb2);
            d->out->rejected++;
            continue;
        }
        if (over || ns > d->newest_ns) {
            fmt_time(t.sec, tb, sizeof tb);
            add_validation_error(d, "entry for stream '%s' has timestamp too new: %s",
                                 stream_str(d, &labels), tb);
            d->out->rejected++;
            continue;
        }
        if (d->max_line && r->body.len > d->max_line) {
            add_validation_error(d,
                                 "Max entry size '%zu' bytes exceeded for stream '%s' while "
                                 "adding an entry with length '%zu' bytes",
                                 d->max_line, stream_str(d, &labels), r->body.len);
            d->out->rejected++;
            continue;
        }
        size_t smbytes = 0;
        for (uint32_t i = 0; i < r->attributes.n; i++)
            smbytes += r->attributes.items[i].key.len + r->attributes.items[i].value.len;
        if (r->attributes.n > 0) {
            if (smbytes > d->max_sm_bytes) {
                add_validation_error(
                    d,
                    "stream '%s' has structured metadata too large: '%zu' bytes, limit: '%zu' "
                    "bytes. Please see `limits_config.max_structured_metadata_size` or contact "
                    "your Loki administrator to increase it",
                    stream_str(d, &labels), smbytes, d->max_sm_bytes);
                d->out->rejected++;
                continue;
            }
            if (r->attributes.n > d->max_sm_entries) {
                add_validation_error(
                    d,
                    "stream '%s' has too many structured metadata labels: '%u', limit: '%u'. "
                    "Please see `limits_config.max_structured_metadata_entries_count` or "
                    "contact your Loki administrator to increase it",
                    stream_str(d, &labels), r->attributes.n, d->max_sm_entries);
                d->out->rejected++;
                continue;
            }
        }
        int rc = normalize_sm(d, &r->attributes);
        if (rc < 0)
            return rc;
        /* floor division: timestamps are >= 0 here, but stay exact for any sign */
        int64_t us = ns / 1000;
        if (ns % 1000 < 0)
            us--;
        r->timestamp_us = us;
        r->resource_attributes = labels;
        r->id.service_name = service;
        d->out->bytes += r->body.len + smbytes;
        if (o != start + k)
            d->rows[o] = *r;
        o++;
    }
    d->n = o;
    return 0;
}

/* ---- JSON ------------------------------------------------------------------------ */

static int json_fail(dec *d, json_reader *r, int rc, const char *where)
{
    if (rc == IG_ENOMEM)
        return oom(d);
    (void)r;
    return fatal(d, rc == IG_ETOOBIG ? IG_ETOOBIG : IG_ECORRUPT, rc == IG_ETOOBIG ? 413 : 400,
                 "%s%s", where, d->eb ? d->eb->msg : "malformed JSON");
}

static int sm_push(dec *d, ig_str k, ig_str v)
{
    if (d->sm_n == d->sm_cap) {
        size_t nc = d->sm_cap ? d->sm_cap * 2 : 16, bytes;
        if (ig_size_mul(nc, sizeof(ig_attr), &bytes) < 0)
            return IG_ENOMEM;
        ig_attr *ns = ig_realloc(d->sm, bytes);
        if (!ns)
            return IG_ENOMEM;
        d->sm = ns;
        d->sm_cap = nc;
    }
    d->sm[d->sm_n].key = k;
    d->sm[d->sm_n].value = v;
    d->sm_n++;
    return 0;
}

/* jsonparser.ParseInt over the raw string bytes: optional '-', digits, no leading zero
 * followed by more digits, int64 range. 0, IG_EINVAL or IG_ERANGE. */
static int parse_ns(ig_str s, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (s.len == 0)
        return IG_EINVAL;
    if (s.ptr[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == s.len)
        return IG_EINVAL;
    uint64_t v = 0;
    for (size_t k = i; k < s.len; k++) {
        unsigned c = (unsigned char)s.ptr[k];
        if (c < '0' || c > '9')
            return IG_EINVAL;
        if (v == 0 && k != i)
            return IG_EINVAL; /* "00", "01" */
        if (v > (UINT64_MAX - 9) / 10)
            return IG_ERANGE;
        v = v * 10 + (c - '0');
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return IG_ERANGE;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return IG_ERANGE;
        *out = (int64_t)v;
    }
    return 0;
}

static int json_entry(dec *d, json_reader *r, size_t si, size_t ei)
{
    /* the location prefix of messages, formatted only on error paths */
    char where_buf[96];
#define where                                                                                      \
    (snprintf(where_buf, sizeof where_buf, "streams[%zu].values[%zu]: ", si, ei), where_buf)
    int rc = json_arr_begin(r);
    if (rc < 0)
        return json_fail(d, r, rc, where);
    int64_t ns = 0;
    ig_str line = IG_STR("");
    d->sm_n = 0;
    int idx = 0;
    while ((rc = json_arr_next(r)) > 0) {
        if (idx == 0) {
            json_tok t;
            int ty = json_peek(r);
            if (ty < 0)
                return json_fail(d, r, ty, where);
            if (ty != JSON_STRING)
                return fatal(d, IG_ECORRUPT, 400,
                             "%stimestamp must be a string of Unix epoch nanoseconds, got %s",
                             where, json_type_name(ty));
            rc = json_next(r, &t);
            if (rc < 0)
                return json_fail(d, r, rc, where);
            int prc = t.escaped ? IG_EINVAL : parse_ns(t.str, &ns);
            if (prc < 0)
                return fatal(d, IG_ECORRUPT, 400, "%sinvalid timestamp \"%.*s\": %s", where,
                             (int)(t.str.len > 64 ? 64 : t.str.len), t.str.ptr,
                             prc == IG_ERANGE
                                 ? "Value is number, but overflowed while parsing"
                                 : "expected an integer number of Unix epoch nanoseconds");
        } else if (idx == 1) {
            int ty = json_peek(r);
            if (ty < 0)
                return json_fail(d, r, ty, where);
            if (ty != JSON_STRING)
                return fatal(d, IG_ECORRUPT, 400, "%sline must be a string, got %s", where,
                             json_type_name(ty));
            rc = json_str(r, &line);
            if (rc < 0)
                return json_fail(d, r, rc, where);
        } else if (idx == 2) {
            int ty = json_peek(r);
            if (ty < 0)
                return json_fail(d, r, ty, where);
            if (ty != JSON_OBJ)
                return fatal(d, IG_ECORRUPT, 400, "%sstructured metadata must be an object, got %s",
                             where, json_type_name(ty));
            rc = json_obj_begin(r);
            ig_str key;
            while (rc == 0 && (rc = json_obj_next_key(r, &key)) > 0) {
                ty = json_peek(r);
                if (ty < 0)
                    return json_fail(d, r, ty, where);
                if (ty != JSON_STRING)
                    return fatal(d, IG_ECORRUPT, 400,
                                 "%sstructured metadata \"%.*s\" must be a string, got %s", where,
                                 (int)(key.len > 64 ? 64 : key.len), key.ptr, json_type_name(ty));
                ig_str v;
                rc = json_str(r, &v);
                if (rc < 0)
                    return json_fail(d, r, rc, where);
                if (sm_push(d, key, v) < 0)
                    return oom(d);
            }
            if (rc < 0)
                return json_fail(d, r, rc, where);
        } else {
            return fatal(d, IG_ECORRUPT, 400,
                         "%serror reading entry: array must have at least 2 and up to 3 values",
                         where);
        }
        idx++;
    }
    if (rc < 0)
        return json_fail(d, r, rc, where);
    if (idx < 2)
        return fatal(d, IG_ECORRUPT, 400,
                     "%serror reading entry: array must have at least 2 and up to 3 values", where);
    ig_attrs sm = {NULL, 0};
    if (d->sm_n) {
        if (d->sm_n > UINT32_MAX)
            return oom(d);
        sm.items = ig_arena_alloc(d->a, d->sm_n * sizeof(ig_attr));
        if (!sm.items)
            return oom(d);
        memcpy(sm.items, d->sm, d->sm_n * sizeof(ig_attr));
        sm.n = (uint32_t)d->sm_n;
    }
    int64_t sec = ns / 1000000000LL;
    int64_t nsec = ns % 1000000000LL;
    if (nsec < 0) {
        nsec += 1000000000LL;
        sec--;
    }
    return add_entry(d, sec, (int32_t)nsec, line, sm);
}
#undef where

static int cmp_attr_key(const void *a, const void *b)
{
    return ig_str_cmp(((const ig_attr *)a)->key, ((const ig_attr *)b)->key);
}

/* The "stream" object: a JSON map of label names to values. Loki turns it into a
 * Prometheus label string (sorted, Go-quoted values) and parses that; names that are not
 * legacy label names therefore fail with the label parser's error, which we reproduce by
 * doing the same in that (rare) case. */
static int json_labels(dec *d, json_reader *r, size_t si, ig_attrs *out)
{
    char where[64];
    snprintf(where, sizeof where, "streams[%zu].stream: ", si);
    out->items = NULL;
    out->n = 0;
    int rc = json_null(r);
    if (rc < 0)
        return json_fail(d, r, rc, where);
    if (rc == 1)
        return 0;
    rc = json_obj_begin(r);
    if (rc < 0)
        return json_fail(d, r, rc, where);
    d->sm_n = 0;
    ig_str key;
    while ((rc = json_obj_next_key(r, &key)) > 0) {
        json_tok t;
        int ty = json_peek(r);
        if (ty < 0)
            return json_fail(d, r, ty, where);
        if (ty == JSON_OBJ || ty == JSON_ARR)
            return fatal(d, IG_ECORRUPT, 400, "%slabel \"%.*s\" must have a string value, got %s",
                         where, (int)(key.len > 64 ? 64 : key.len), key.ptr, json_type_name(ty));
        rc = json_next(r, &t); /* strings; numbers, true, false, null as their text */
        if (rc < 0)
            return json_fail(d, r, rc, where);
        if (sm_push(d, key, t.str) < 0)
            return oom(d);
    }
    if (rc < 0)
        return json_fail(d, r, rc, where);
    if (d->sm_n == 0)
        return 0;
    if (d->sm_n > UINT32_MAX)
        return oom(d);
    ig_attrs at;
    at.n = (uint32_t)d->sm_n;
    at.items = ig_arena_alloc(d->a, d->sm_n * sizeof(ig_attr));
    if (!at.items)
        return oom(d);
    memcpy(at.items, d->sm, d->sm_n * sizeof(ig_attr));
    if (dedupe_last_wins(&at) < 0) /* a Go map: the last value of a key wins */
        return oom(d);
    qsort(at.items, at.n, sizeof(ig_attr), cmp_attr_key);
    bool names_ok = true;
    for (uint32_t i = 0; i < at.n; i++)
        if (!ig_label_name_valid(at.items[i].key))
            names_ok = false;
    if (!names_ok) {
        /* Build what Loki builds (LabelSet.String: names unquoted) and parse it. */
        ig_buf b;
        ig_buf_init(&b, IG_LOKI_MAX_LABELS_STRING + 1024);
        int brc = ig_buf_putc(&b, '{');
        for (uint32_t i = 0; brc == 0 && i < at.n; i++) {
            if (i)
                brc = ig_buf_append(&b, ", ", 2);
            if (brc == 0)
                brc = ig_buf_append_str(&b, at.items[i].key);
            if (brc == 0)
                brc = ig_buf_putc(&b, '=');
            if (brc == 0)
                brc = ig_go_quote(&b, at.items[i].value, 0);
        }
        if (brc == 0)
            brc = ig_buf_putc(&b, '}');
        ig_errbuf leb;
        ig_attrs tmp;
        /* parsed views point into the string: keep it in the arena */
        ig_str str = brc == 0 ? ig_arena_strdup(d->a, ig_buf_str(&b)) : IG_STR_NULL;
        ig_buf_free(&b);
        int prc = brc < 0    ? IG_ETOOBIG
                  : !str.ptr ? IG_ENOMEM
                             : ig_labels_parse(str, IG_LABELS_LOKI, d->a, &tmp, &leb);
        if (prc == IG_ENOMEM)
            return oom(d);
        if (prc == IG_ETOOBIG)
            return fatal(d, IG_ETOOBIG, 413, "request body too large: stream labels too large");
        if (prc < 0)
            return fatal(d, IG_EINVAL, 400, "couldn't parse labels: %s", leb.msg);
        /* It parsed: a key such as `a="1", b` spliced into the string makes more labels.
         * Loki takes what the parser returned, and so do we. */
        *out = tmp;
        return 0;
    }
    uint32_t o = 0;
    for (uint32_t i = 0; i < at.n; i++)
        if (at.items[i].value.len > 0)
            at.items[o++] = at.items[i];
    at.n = o;
    *out = at;
    return 0;
}

static int json_stream(dec *d, json_reader *r, size_t si)
{
    char where[64];
    snprintf(where, sizeof where, "streams[%zu]: ", si);
    d->out->streams++;
    d->stream_start = d->n;
    ig_attrs labels = {NULL, 0};
    int rc = json_null(r);
    if (rc < 0)
        return json_fail(d, r, rc, where);
    if (rc == 1)
        return end_stream(d, labels);
    rc = json_obj_begin(r);
    if (rc < 0)
        return json_fail(d, r, rc, where);
    ig_str key;
    while ((rc = json_obj_next_key(r, &key)) > 0) {
        if (ig_str_eq_cstr(key, "stream")) {
            rc = json_labels(d, r, si, &labels);
            if (rc < 0)
                return rc;
        } else if (ig_str_eq_cstr(key, "values")) {
            /* a repeated "values" key replaces the earlier entries, as in Loki */
            d->total_entries -= d->n - d->stream_start;
            d->n = d->stream_start;
            rc = json_null(r);
            if (rc < 0)
                return json_fail(d, r, rc, where);
            if (rc == 1)
                continue;
            rc = json_arr_begin(r);
            if (rc < 0)
                return json_fail(d, r, rc, where);
            size_t ei = 0;
            while ((rc = json_arr_next(r)) > 0) {
                int nrc = json_null(r);
                if (nrc < 0)
                    return json_fail(d, r, nrc, where);
                if (nrc == 0) {
                    nrc = json_entry(d, r, si, ei);
                    if (nrc < 0)
                        return nrc;
                }
                ei++;
            }
            if (rc < 0)
                return json_fail(d, r, rc, where);
        } else {
            rc = json_skip(r);
            if (rc < 0)
                return json_fail(d, r, rc, where);
        }
    }
    if (rc < 0)
        return json_fail(d, r, rc, where);
    return end_stream(d, labels);
}

static int decode_json(dec *d, ig_str body)
{
    json_reader r;
    json_reader_init(&r, body, d->eb);
    r.arena = d->a;
    r.flags = JSON_LONE_SURROGATE_FFFD;
    int rc;
    if (body.len == 0) {
        rc = fatal(d, IG_ECORRUPT, 400, "EOF");
        goto done;
    }
    rc = json_obj_begin(&r);
    if (rc < 0) {
        rc = json_fail(d, &r, rc, "");
        goto done;
    }
    ig_str key;
    while ((rc = json_obj_next_key(&r, &key)) > 0) {
        if (ig_str_eq_cstr(key, "streams")) {
            rc = json_null(&r);
            if (rc < 0) {
                rc = json_fail(d, &r, rc, "streams: ");
                goto done;
            }
            if (rc == 1)
                continue;
            rc = json_arr_begin(&r);
            if (rc < 0) {
                rc = json_fail(d, &r, rc, "streams: ");
                goto done;
            }
            size_t si = 0;
            while ((rc = json_arr_next(&r)) > 0) {
                rc = json_stream(d, &r, si++);
                if (rc < 0)
                    goto done;
            }
            if (rc < 0) {
                rc = json_fail(d, &r, rc, "streams: ");
                goto done;
            }
        } else {
            rc = json_skip(&r);
            if (rc < 0) {
                rc = json_fail(d, &r, rc, "");
                goto done;
            }
        }
    }
    if (rc < 0) {
        rc = json_fail(d, &r, rc, "");
        goto done;
    }
    rc = json_end(&r);
    if (rc < 0)
        rc = json_fail(d, &r, rc, "");
done:
    json_reader_free(&r);
    return rc < 0 ? rc : 0;
}

/* ---- protobuf -------------------------------------------------------------------- */

static int pb_fail(dec *d, int rc)
{
    if (rc == IG_ENOMEM)
        return oom(d);
    return fatal(d, IG_ECORRUPT, 400, "%s", d->eb ? d->eb->msg : "malformed protobuf");
}

static int pb_entry(dec *d, pb_reader *er)
{
    /* first pass: count the structured metadata pairs */
    pb_reader c = *er;
    size_t nsm = 0;
    int rc;
    while ((rc = pb_next(&c)) > 0)
        if (c.field == 3)
            nsm++;
    if (rc < 0)
        return pb_fail(d, rc);
    ig_attrs sm = {NULL, 0};
    if (nsm) {
        if (nsm > UINT32_MAX)
            return oom(d);
        sm.items = ig_arena_alloc(d->a, nsm * sizeof(ig_attr));
        if (!sm.items)
            return oom(d);
    }
    bool has_ts = false;
    int64_t sec = 0;
    int32_t nsec = 0;
    ig_str line = IG_STR("");
    while ((rc = pb_next(er)) > 0) {
        switch (er->field) {
        case 1: { /* google.protobuf.Timestamp (sub-messages merge: last value wins) */
            pb_reader tr;
            rc = pb_sub(er, &tr);
            has_ts = true;
            while (rc == 0 && (rc = pb_next(&tr)) > 0) {
                if (tr.field == 1)
                    rc = pb_int64(&tr, &sec);
                else if (tr.field == 2)
                    rc = pb_int32(&tr, &nsec);
                rc = rc < 0 ? rc : 0;
            }
            break;
        }
        case 2:
            rc = pb_bytes(er, &line);
            break;
        case 3: {
            pb_reader lr;
            ig_attr *a = &sm.items[sm.n++];
            a->key = IG_STR("");
            a->value = IG_STR("");
            rc = pb_sub(er, &lr);
            while (rc == 0 && (rc = pb_next(&lr)) > 0) {
                if (lr.field == 1)
                    rc = pb_bytes(&lr, &a->key);
                else if (lr.field == 2)
                    rc = pb_bytes(&lr, &a->value);
                rc = rc < 0 ? rc : 0;
            }
            break;
        }
        default:
            rc = 0;
            break;
        }
        if (rc < 0)
            return pb_fail(d, rc);
    }
    if (rc < 0)
        return pb_fail(d, rc);
    if (!has_ts) {
        sec = GO_MIN_SECONDS; /* Go's zero time: rejected as too old */
        nsec = 0;
    } else {
        if (sec < GO_MIN_SECONDS)
            return fatal(d, IG_ECORRUPT, 400,
                         "timestamp: seconds:%" PRId64 " nanos:%d before 0001-01-01", sec, nsec);
        if (sec >= GO_MAX_SECONDS)
            return fatal(d, IG_ECORRUPT, 400,
                         "timestamp: seconds:%" PRId64 " nanos:%d after 10000-01-01", sec, nsec);
        if (nsec < 0 || nsec >= 1000000000)
            return fatal(d, IG_ECORRUPT, 400,
                         "timestamp: seconds:%" PRId64 " nanos:%d: nanos not in range [0, 1e9)",
                         sec, nsec);
    }
    return add_entry(d, sec, nsec, line, sm);
}

static int pb_stream(dec *d, pb_reader *sr)
{
    d->out->streams++;
    d->stream_start = d->n;
    ig_str labels_str = IG_STR("");
    int rc;
    while ((rc = pb_next(sr)) > 0) {
        if (sr->field == 1) {
            rc = pb_bytes(sr, &labels_str);
        } else if (sr->field == 2) {
            pb_reader er;
            rc = pb_sub(sr, &er);
            if (rc == 0) {
                rc = pb_entry(d, &er);
                if (rc < 0)
                    return rc; /* already reported */
            }
        } else {
            rc = 0;
        }
        if (rc < 0)
            return pb_fail(d, rc);
    }
    if (rc < 0)
        return pb_fail(d, rc);
    if (labels_str.len > IG_LOKI_MAX_LABELS_STRING)
        return fatal(d, IG_ETOOBIG, 413,
                     "request body too large: stream labels size %zu bytes exceeds limit of %zu "
                     "bytes",
                     labels_str.len, IG_LOKI_MAX_LABELS_STRING);
    ig_attrs labels;
    ig_errbuf leb;
    rc = ig_labels_parse(labels_str, IG_LABELS_LOKI, d->a, &labels, &leb);
    if (rc == IG_ENOMEM)
        return oom(d);
    if (rc < 0)
        return fatal(d, IG_EINVAL, 400, "couldn't parse labels: %s", leb.msg);
    return end_stream(d, labels);
}

static int decode_protobuf(dec *d, ig_str body)
{
    size_t ulen = 0;
    if (body.len == 0 || snappy_uncompressed_length(body.ptr, body.len, &ulen) != SNAPPY_OK)
        return fatal(d, IG_ECORRUPT, 400, "snappy: corrupt input");
    size_t cap = d->o->max_decompressed_bytes ? d->o->max_decompressed_bytes
                                              : IG_LOKI_DEFAULT_MAX_DECOMPRESSED;
    if (ulen > cap)
        return fatal(d, IG_ETOOBIG, 413,
                     "request body too large: decompressed message size too large than max (%zu "
                     "vs %zu)",
                     ulen, cap);
    char *buf = ig_arena_alloc(d->a, ulen ? ulen : 1);
    if (!buf)
        return oom(d);
    size_t got = ulen;
    if (snappy_uncompress(body.ptr, body.len, buf, &got) != SNAPPY_OK || got != ulen)
        return fatal(d, IG_ECORRUPT, 400, "snappy: corrupt input");
    pb_reader r;
    pb_reader_init(&r, ig_str_make(buf, ulen), d->eb);
    int rc;
    while ((rc = pb_next(&r)) > 0) {
        if (r.field != 1)
            continue; /* format = 2 and unknown fields */
        pb_reader sr;
        rc = pb_sub(&r, &sr);
        if (rc < 0)
            return pb_fail(d, rc);
        rc = pb_stream(d, &sr);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return pb_fail(d, rc);
    return 0;
}

/* ---- entry point ----------------------------------------------------------------- */

int ig_loki_push_decode(ig_str body, bool is_protobuf, const ig_loki_push_opts *o,
                        ig_loki_push_result *out, ig_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    out->rows.table = IG_TABLE_LOGS;
    out->error = IG_STR("");
    out->http_status = 204;
    if (!o || !o->arena) {
        out->http_status = 500;
        out->error = IG_STR("loki push: no arena");
        return ig_err(eb, IG_EINVAL, "loki push: no arena");
    }
    dec *d = ig_calloc(1, sizeof *d);
    if (!d) {
        out->http_status = 500;
        out->error = IG_STR("out of memory");
        return ig_err(eb, IG_ENOMEM, "out of memory");
    }
    d->o = o;
    d->a = o->arena;
    d->out = out;
    d->eb = eb;
    ig_errbuf local_eb;
    if (!d->eb)
        d->eb = &local_eb;
    d->eb->msg[0] = 0;
    d->max_line = o->max_line_size;
    d->max_labels =
        o->max_labels_per_stream ? o->max_labels_per_stream : IG_LOKI_DEFAULT_MAX_LABELS;
    d->max_name =
        o->max_label_name_length ? o->max_label_name_length : IG_LOKI_DEFAULT_MAX_LABEL_NAME;
    d->max_value =
        o->max_label_value_length ? o->max_label_value_length : IG_LOKI_DEFAULT_MAX_LABEL_VALUE;
    d->max_sm_bytes = o->max_sm_bytes ? o->max_sm_bytes : IG_LOKI_DEFAULT_MAX_SM_BYTES;
    d->max_sm_entries = o->max_sm_entries ? o->max_sm_entries : IG_LOKI_DEFAULT_MAX_SM_ENTRIES;
    d->max_entries = o->max_entries;
    d->now_us = o->now_us;
    int64_t now_ns = o->now_us > INT64_MAX / 1000   ? INT64_MAX
                     : o->now_us < INT64_MIN / 1000 ? INT64_MIN
                                                    : o->now_us * 1000;
    int64_t fut = o->max_future_ns ? o->max_future_ns : IG_LOKI_DEFAULT_MAX_FUTURE_NS;
    d->newest_ns = fut < 0 ? now_ns : sat_add(now_ns, fut);
    d->oldest_ns = 0;
    if (o->max_age_ns > 0) {
        int64_t old = sat_add(now_ns, -o->max_age_ns);
        if (old > 0)
            d->oldest_ns = old;
    }
    ig_buf_init(&d->lbl, MSG_MAX);

    int rc;
    d->tenant = ig_arena_strdup(d->a, o->tenant_id.ptr ? o->tenant_id : IG_STR(""));
    d->account = o->account_id.ptr ? ig_arena_strdup(d->a, o->account_id) : IG_STR_NULL;
    if (!d->tenant.ptr || (o->account_id.ptr && !d->account.ptr)) {
        rc = oom(d);
        goto done;
    }

    rc = is_protobuf ? decode_protobuf(d, body) : decode_json(d, body);
    if (rc < 0)
        goto done;
    if (out->streams == 0) {
        rc = fatal(d, IG_EINVAL, 422, "error at least one valid stream is required for ingestion");
        goto done;
    }
    out->rows.u.logs = d->n ? d->rows : NULL;
    out->rows.n = d->n;
    out->accepted = d->n;
    finish_validation_errors(d);
    rc = 0;
done:
    if (rc < 0) {
        out->rows.n = 0;
        out->rows.u.logs = NULL;
        out->accepted = 0;
        if (out->http_status == 204)
            out->http_status = 500;
    }
    ig_buf_free(&d->lbl);
    ig_free(d->ts);
    ig_free(d->sm);
    ig_free(d);
    return rc;
}
