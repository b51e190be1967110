/* Object store: key validation and dispatch through the backend's ops table.
 * The backends (fs.c, later s3.c) receive only keys that passed these checks. */
#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/store.h"

#define KEY_MAX 1024

const char *ig_store_key_check(ig_str key)
{
    if (key.len == 0)
        return "empty key";
    if (key.len > KEY_MAX)
        return "longer than 1024 bytes";
    if (key.ptr[0] == '/')
        return "starts with '/' (keys are relative)";
    size_t seg = 0; /* start of the current segment */
    for (size_t i = 0; i <= key.len; i++) {
        if (i == key.len || key.ptr[i] == '/') {
            size_t n = i - seg;
            if (n == 0)
                return "empty segment";
            if (n == 1 && key.ptr[seg] == '.')
                return "'.' segment";
            if (n == 2 && key.ptr[seg] == '.' && key.ptr[seg + 1] == '.')
                return "'..' segment";
            seg = i + 1;
            continue;
        }
        unsigned char c = (unsigned char)key.ptr[i];
        if (c == 0)
            return "NUL byte";
        if (c < 0x20 || c == 0x7f)
            return "control byte";
        if (c == '\\')
            return "backslash";
    }
    return NULL;
}

bool ig_store_key_valid(const char *key)
{
    if (!key)
        return false;
    /* strnlen: never scan far past the limit in an unterminated or huge string. */
    return ig_store_key_check(ig_str_make(key, strnlen(key, KEY_MAX + 1))) == NULL;
}

/* Writes a printable, shortened form of s (control bytes and backslashes as \xNN) into dst. */
static const char *printable(const char *s, char *dst, size_t dstlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 5 < dstlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o >= 96 && dstlen > 100) { /* keep messages one short line */
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '"') {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = 0;
    return dst;
}

static int check_key(const char *op, const char *key, ig_errbuf *eb)
{
    if (!key)
        return ig_err(eb, IG_EINVAL, "store %s: invalid key: NULL", op);
    size_t n = strnlen(key, KEY_MAX + 1);
    const char *why = ig_store_key_check(ig_str_make(key, n));
    if (why) {
        char pk[128];
        return ig_err(eb, IG_EINVAL, "store %s \"%s\": invalid key: %s", op,
                      printable(key, pk, sizeof pk), why);
    }
    return 0;
}

/* A list prefix: "" or a key-like string whose directory part (up to the last '/') is a
 * valid key and whose last partial segment has no forbidden bytes. */
static int check_prefix(const char *prefix, ig_errbuf *eb)
{
    size_t n = strnlen(prefix, KEY_MAX + 1);
    if (n == 0)
        return 0;
    char pk[128];
    if (n > KEY_MAX)
        return ig_err(eb, IG_EINVAL, "store list \"%s\": invalid prefix: longer than 1024 bytes",
                      printable(prefix, pk, sizeof pk));
    const char *slash = memrchr(prefix, '/', n);
    size_t dirlen = slash ? (size_t)(slash - prefix) : 0;
    const char *why = NULL;
    if (slash)
        why = ig_store_key_check(ig_str_make(prefix, dirlen));
    for (size_t i = slash ? dirlen + 1 : 0; !why && i < n; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c < 0x20 || c == 0x7f)
            why = "control byte";
        else if (c == '\\')
            why = "backslash";
    }
    if (why)
        return ig_err(eb, IG_EINVAL, "store list \"%s\": invalid prefix: %s",
                      printable(prefix, pk, sizeof pk), why);
    return 0;
}

void ig_store_close(ig_store *s)
{
    if (s)
        s->ops->close(s);
}

int ig_store_put(ig_store *s, const char *key, const void *data, size_t len, ig_errbuf *eb)
{
    int rc = check_key("put", key, eb);
    if (rc)
        return rc;
    if (!data && len)
        return ig_err(eb, IG_EINVAL, "store put %s: NULL data with length %zu", key, len);
    return s->ops->put(s, key, data, len, false, eb);
}

int ig_store_put_if_absent(ig_store *s, const char *key, const void *data, size_t len,
                           ig_errbuf *eb)
{
    int rc = check_key("put-if-absent", key, eb);
    if (rc)
        return rc;
    if (!data && len)
        return ig_err(eb, IG_EINVAL, "store put-if-absent %s: NULL data with length %zu", key, len);
    return s->ops->put(s, key, data, len, true, eb);
}

int ig_store_get(ig_store *s, const char *key, ig_buf *out, ig_errbuf *eb)
{
    int rc = check_key("get", key, eb);
    if (rc)
        return rc;
    return s->ops->get_range(s, key, 0, UINT64_MAX, out, eb);
}

int ig_store_get_range(ig_store *s, const char *key, uint64_t off, uint64_t len, ig_buf *out,
                       ig_errbuf *eb)
{
    int rc = check_key("get", key, eb);
    if (rc)
        return rc;
    return s->ops->get_range(s, key, off, len, out, eb);
}

int ig_store_head(ig_store *s, const char *key, ig_store_stat *st, ig_errbuf *eb)
{
    int rc = check_key("head", key, eb);
    if (rc)
        return rc;
    return s->ops->head(s, key, st, eb);
}

int ig_store_list(ig_store *s, const char *prefix, const char *start_after, size_t max,
                  ig_store_listing *out, ig_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (!prefix)
        prefix = "";
    int rc = check_prefix(prefix, eb);
    if (rc)
        return rc;
    if (max == 0)
        return ig_err(eb, IG_EINVAL, "store list \"%s\": max must be at least 1", prefix);
    return s->ops->list(s, prefix, start_after, max, out, eb);
}

void ig_store_list_free(ig_store_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        ig_free(l->entries[i].key);
    ig_free(l->entries);
    ig_free(l->next_start_after);
    memset(l, 0, sizeof *l);
}

int ig_store_delete(ig_store *s, const char *key, ig_errbuf *eb)
{
    int rc = check_key("delete", key, eb);
    if (rc)
        return rc;
    return s->ops->del(s, key, eb);
}

int ig_store_uri(ig_store *s, const char *key, ig_buf *out)
{
    if (!ig_store_key_valid(key))
        return IG_EINVAL;
    return s->ops->uri(s, key, out);
}
