/* Object store: one interface over the local filesystem (and S3 later).
 *
 * Keys are '/'-separated relative paths: non-empty, at most 1024 bytes, no leading
 * '/', no empty, "." or ".." segments, no NUL or control bytes, no backslash.
 * Every operation validates its key and returns IG_EINVAL for a bad one.
 * Writes are atomic: a reader sees either nothing or the whole object.
 * Thread-safe: one ig_store may be used from many threads at once. */
#ifndef ICEGATE_STORE_H
#define ICEGATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/buf.h"
#include "icegate/err.h"

typedef struct ig_store ig_store;

typedef struct ig_store_stat {
    uint64_t size;
    int64_t mtime_ns; /* last modification, Unix ns */
} ig_store_stat;

typedef struct ig_store_entry {
    char *key;       /* full key, owned by the listing */
    uint64_t size;
    int64_t mtime_ns;
} ig_store_entry;

/* One page of a listing (the type is not called ig_store_list: that is the function). */
typedef struct ig_store_listing {
    ig_store_entry *entries; /* sorted by key (bytewise) */
    size_t count;
    char *next_start_after;  /* NULL when the listing is complete; else pass as start_after */
} ig_store_listing;

typedef struct ig_store_ops {
    int (*put)(ig_store *s, const char *key, const void *data, size_t len, bool if_absent,
               ig_errbuf *eb);
    int (*get_range)(ig_store *s, const char *key, uint64_t off, uint64_t len, ig_buf *out,
                     ig_errbuf *eb);
    int (*head)(ig_store *s, const char *key, ig_store_stat *st, ig_errbuf *eb);
    int (*list)(ig_store *s, const char *prefix, const char *start_after, size_t max,
                ig_store_listing *out, ig_errbuf *eb);
    int (*del)(ig_store *s, const char *key, ig_errbuf *eb);
    int (*uri)(ig_store *s, const char *key, ig_buf *out); /* absolute URI of a key */
    void (*close)(ig_store *s);
} ig_store_ops;

struct ig_store {
    const ig_store_ops *ops;
};

/* Opens the filesystem backend rooted at dir (created if missing). *out is owned by the
 * caller and freed with ig_store_close. */
int ig_store_open_fs(const char *dir, ig_store **out, ig_errbuf *eb);
void ig_store_close(ig_store *s);

/* true if key follows the rules above. */
bool ig_store_key_valid(const char *key);
/* The same check for a key given as a slice (bytes from the wire; an embedded NUL makes
 * it invalid). Returns NULL if valid, else a fixed English reason ("empty segment", ...). */
const char *ig_store_key_check(ig_str key);

/* Atomic put (replaces an existing object). */
int ig_store_put(ig_store *s, const char *key, const void *data, size_t len, ig_errbuf *eb);
/* Atomic put that fails with IG_EEXIST if the key exists (never overwrites). */
int ig_store_put_if_absent(ig_store *s, const char *key, const void *data, size_t len,
                           ig_errbuf *eb);
/* Whole object appended to out (respecting out's cap: IG_ETOOBIG). IG_ENOENT if missing. */
int ig_store_get(ig_store *s, const char *key, ig_buf *out, ig_errbuf *eb);
/* Bytes [off, off+len) appended to out; a range past the end is cut at the end
 * (IG_ERANGE if off is beyond the end). */
int ig_store_get_range(ig_store *s, const char *key, uint64_t off, uint64_t len, ig_buf *out,
                       ig_errbuf *eb);
int ig_store_head(ig_store *s, const char *key, ig_store_stat *st, ig_errbuf *eb);
/* One page (at most max entries, max > 0) of the keys starting with prefix, in key order,
 * strictly after start_after (NULL: from the beginning). Objects being written (temporary
 * files) are never listed. Free with ig_store_list_free. */
int ig_store_list(ig_store *s, const char *prefix, const char *start_after, size_t max,
                  ig_store_listing *out, ig_errbuf *eb);
void ig_store_list_free(ig_store_listing *l);
/* Deletes; IG_ENOENT if missing. */
int ig_store_delete(ig_store *s, const char *key, ig_errbuf *eb);
/* Absolute URI for key (file:///abs/path/key for the fs backend) appended to out. */
int ig_store_uri(ig_store *s, const char *key, ig_buf *out);

#endif
