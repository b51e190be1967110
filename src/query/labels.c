/* Label sets of the LogQL engine (lq_labels_*): Loki's text form, hashing, ordering,
 * lookup, and a small builder used by the source and the pipeline. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "icegate/logql_eval.h"
#include "icegate/labels.h"
#include "query_int.h"

/* Bytewise compare of short strings (label names): a plain loop beats a memcmp call. */
static inline int name_cmp(ig_str a, ig_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b.ptr[i];
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a.len < b.len ? -1 : a.len > b.len;
}

int lq__quote(ig_buf *b, ig_str v)
{
    return ig_go_quote(b, v, 0);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
size_t lq__utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t l;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
        l = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        l = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        l = 4, cp = c & 0x07;
    else
        return 0;
    if (n < l)
        return 0;
    for (size_t i = 1; i < l; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((l == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (l == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return l;
}

int lq_labels_print(const lq_labels *l, ig_buf *b)
{
    int rc = ig_buf_putc(b, '{');
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        if (i)
            rc = ig_buf_append(b, ", ", 2);
        if (rc == 0)
            rc = ig_buf_append_str(b, l->v[i].name);
        if (rc == 0)
            rc = ig_buf_putc(b, '=');
        if (rc == 0)
            rc = lq__quote(b, l->v[i].value);
    }
    return rc ? rc : ig_buf_putc(b, '}');
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint64_t lq_labels_hash(const lq_labels *l)
{
    uint64_t h = 14695981039346656037ull;
    static const unsigned char sep = 0xff; /* never in UTF-8 text, so no ambiguity */
    for (size_t i = 0; i < l->n; i++) {
        h = fnv(h, l->v[i].name.ptr, l->v[i].name.len);
        h = fnv(h, &sep, 1);
        h = fnv(h, l->v[i].value.ptr, l->v[i].value.len);
        h = fnv(h, &sep, 1);
    }
    return h;
}

int lq_labels_cmp(const lq_labels *a, const lq_labels *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        int c = ig_str_cmp(a->v[i].name, b->v[i].name);
        if (c)
            return c;
        c = ig_str_cmp(a->v[i].value, b->v[i].value);
        if (c)
            return c;
    }
    return a->n < b->n ? -1 : a->n > b->n;
}

ig_str lq_labels_get(const lq_labels *l, ig_str name)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = name_cmp(l->v[mid].name, name);
        if (c == 0)
            return l->v[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return IG_STR_NULL;
}

/* ---- builder ------------------------------------------------------------------------ */

int lq__lb_init(lq_lb *b, ig_arena *a, size_t cap)
{
    b->a = a;
    b->n = 0;
    b->cap = cap < 8 ? 8 : cap;
    b->v = ig_arena_alloc(a, b->cap * sizeof *b->v);
    b->cat = ig_arena_alloc(a, b->cap);
    return b->v && b->cat ? 0 : IG_ENOMEM;
}

static bool lb_find(const lq_lb *b, ig_str name, size_t *pos)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = name_cmp(b->v[mid].name, name);
        if (c == 0) {
            *pos = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return false;
}

int lq__lb_set(lq_lb *b, ig_str name, ig_str value, uint8_t cat)
{
    size_t pos;
    if (!value.ptr)
        value = IG_STR("");
    if (lb_find(b, name, &pos)) {
        b->v[pos].value = value;
        b->cat[pos] = cat;
        return 0;
    }
    if (b->n == LQ_MAX_LABELS)
        return IG_ETOOBIG;
    if (b->n == b->cap) {
        size_t nc = b->cap * 2;
        lq_label *nv = ig_arena_alloc(b->a, nc * sizeof *nv);
        uint8_t *ncat = ig_arena_alloc(b->a, nc);
        if (!nv || !ncat)
            return IG_ENOMEM;
        memcpy(nv, b->v, b->n * sizeof *nv);
        memcpy(ncat, b->cat, b->n);
        b->v = nv;
        b->cat = ncat;
        b->cap = nc;
    }
    memmove(b->v + pos + 1, b->v + pos, (b->n - pos) * sizeof *b->v);
    memmove(b->cat + pos + 1, b->cat + pos, b->n - pos);
    b->v[pos].name = name;
    b->v[pos].value = value;
    b->cat[pos] = cat;
    b->n++;
    return 0;
}

ig_str lq__lb_get(const lq_lb *b, ig_str name, uint8_t *cat)
{
    size_t pos;
    if (!lb_find(b, name, &pos))
        return IG_STR_NULL;
    if (cat)
        *cat = b->cat[pos];
    return b->v[pos].value;
}

bool lq__lb_has(const lq_lb *b, ig_str name)
{
    size_t pos;
    return lb_find(b, name, &pos);
}

void lq__lb_del(lq_lb *b, ig_str name)
{
    size_t pos;
    if (!lb_find(b, name, &pos))
        return;
    memmove(b->v + pos, b->v + pos + 1, (b->n - pos - 1) * sizeof *b->v);
    memmove(b->cat + pos, b->cat + pos + 1, b->n - pos - 1);
    b->n--;
}

lq_labels lq__lb_labels(const lq_lb *b)
{
    return (lq_labels){b->v, b->n};
}

/* Insertion sort (sets are small; stable, so the first of equal names is kept). */
void lq__labels_sort(lq_labels *l)
{
    for (size_t i = 1; i < l->n; i++) {
        lq_label x = l->v[i];
        size_t j = i;
        while (j > 0 && name_cmp(l->v[j - 1].name, x.name) > 0) {
            l->v[j] = l->v[j - 1];
            j--;
        }
        l->v[j] = x;
    }
    size_t o = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (o > 0 && ig_str_eq(l->v[o - 1].name, l->v[i].name))
            continue;
        l->v[o++] = l->v[i];
    }
    l->n = o;
}

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

ig_str lq__sanitize_name(ig_arena *a, ig_str name)
{
    bool ok = name.len > 0 && !(name.ptr[0] >= '0' && name.ptr[0] <= '9');
    for (size_t i = 0; ok && i < name.len; i++)
        ok = is_alnum((unsigned char)name.ptr[i]) || name.ptr[i] == '_';
    if (ok)
        return name;
    bool digit = name.len > 0 && name.ptr[0] >= '0' && name.ptr[0] <= '9';
    char *o = ig_arena_alloc(a, name.len + 2);
    if (!o)
        return IG_STR_NULL;
    size_t k = 0;
    if (digit)
        o[k++] = '_';
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        o[k++] = (is_alnum(c) || c == '_') ? (char)c : '_';
    }
    o[k] = 0;
    return ig_str_make(o, k);
}

ig_str lq__otlp_name(ig_arena *a, ig_str name)
{
    ig_str out;
    if (ig_label_name_normalize(name, a, &out, NULL) != 0)
        return IG_STR_NULL;
    return out;
}

/* First occurrence of nd (len >= 1) in h[0, n): the first and last bytes of the needle
 * compared 16 positions at a time (SSE2), candidates confirmed with memcmp; several
 * times faster than a byte-wise two-way search on log text. */
const char *lq__find(const char *h, size_t n, ig_str nd)
{
#ifdef __SSE2__
    if (nd.len >= 2 && n >= nd.len + 16) {
        const __m128i f = _mm_set1_epi8(nd.ptr[0]), l = _mm_set1_epi8(nd.ptr[nd.len - 1]);
        size_t i = 0, last = n - nd.len; /* candidate starts 0..last */
        for (; i + 16 <= last + 1; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(h + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(h + i + nd.len - 1));
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_and_si128(_mm_cmpeq_epi8(a, f), _mm_cmpeq_epi8(b, l)));
            while (m) {
                unsigned bit = (unsigned)__builtin_ctz(m);
                if (memcmp(h + i + bit + 1, nd.ptr + 1, nd.len - 2) == 0)
                    return h + i + bit;
                m &= m - 1;
            }
        }
        if (i <= last) {
            const char *r = memmem(h + i, n - i, nd.ptr, nd.len);
            return r;
        }
        return NULL;
    }
#endif
    return memmem(h, n, nd.ptr, nd.len);
}
