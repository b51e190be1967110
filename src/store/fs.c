/* Object store, filesystem backend. A key is the path of a regular file under the root
 * directory; see docs/storage.md for the guarantees.
 *
 * Writes go to a temporary file in the key's directory, which is written, fsync'd and then
 * renamed over the key (put) or linked/renamed without replacement (put-if-absent); the
 * directory is fsync'd afterwards, and so is the parent of every directory created on the
 * way. Temporary names start with ".ig-tmp\" : a backslash cannot occur in a key, so no
 * key can name a temporary file and listing skips them (and anything else that is not a
 * valid key segment). All paths are resolved relative to a descriptor of the root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "icegate/alloc.h"
#include "icegate/store.h"

#define TMP_PREFIX ".ig-tmp\\"
#define KEY_MAX 1024
/* Bound on retries when a concurrent delete removes a directory we are writing into. */
#define DIR_RACE_RETRIES 64

typedef struct fs_store {
    ig_store base;
    char *root; /* absolute, canonical, no trailing '/' (except "/" itself) */
    int rootfd;
} fs_store;

static atomic_ullong g_tmp_seq;

/* Maps an errno to an IceGate code. */
static int os_code(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return IG_ENOENT;
    case EEXIST:
        return IG_EEXIST;
    case ENOMEM:
        return IG_ENOMEM;
    case ENAMETOOLONG:
        return IG_EINVAL;
    default:
        return IG_EIO;
    }
}

static int os_err(ig_errbuf *eb, int e, const char *op, const char *key, const char *what)
{
    return ig_err(eb, os_code(e), "store %s %s: %s: %s", op, key, what, strerror(e));
}

/* Copies the directory part of key ("" for a top-level key) into dir (KEY_MAX+1 bytes) and
 * returns a pointer to the base name inside key. */
static const char *split_key(const char *key, char *dir)
{
    const char *slash = strrchr(key, '/');
    if (!slash) {
        dir[0] = 0;
        return key;
    }
    size_t n = (size_t)(slash - key);
    memcpy(dir, key, n);
    dir[n] = 0;
    return slash + 1;
}

/* Opens a directory relative to the root ("" is the root itself). */
static int open_dir(fs_store *fs, const char *rel)
{
    return openat(fs->rootfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int fsync_dir(fs_store *fs, const char *rel)
{
    int fd = open_dir(fs, rel);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* Creates every missing directory of rel (a valid key or ""), fsyncing the parent of each
 * directory it creates so the new entry is durable. Returns 0 or -1 with errno set. */
static int make_dirs(fs_store *fs, const char *rel)
{
    char path[KEY_MAX + 1];
    size_t n = strlen(rel);
    if (n == 0)
        return 0;
    memcpy(path, rel, n + 1);
    for (size_t i = 0; i <= n; i++) {
        if (i < n && path[i] != '/')
            continue;
        path[i] = 0;
        if (mkdirat(fs->rootfd, path, 0755) == 0) {
            /* Make the new entry durable: fsync the directory that holds it. */
            char *slash = strrchr(path, '/');
            if (slash)
                *slash = 0;
            int r = fsync_dir(fs, slash ? path : "");
            if (slash)
                *slash = '/';
            if (r < 0)
                return -1;
        } else if (errno != EEXIST) {
            return -1;
        }
        if (i < n)
            path[i] = '/';
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The final step of put-if-absent: moves tmp to base in dirfd unless base exists.
 * Returns 0, or -1 with errno (EEXIST when the key exists). */
static int publish_noreplace(int dirfd, const char *tmp, const char *base)
{
    if (renameat2(dirfd, tmp, dirfd, base, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    /* The filesystem lacks RENAME_NOREPLACE: link(2) never replaces either. */
    if (linkat(dirfd, tmp, dirfd, base, 0) < 0)
        return -1;
    unlinkat(dirfd, tmp, 0);
    return 0;
}

static int fs_put(ig_store *s, const char *key, const void *data, size_t len, bool if_absent,
                  ig_errbuf *eb)
{
    fs_store *fs = (fs_store *)s;
    const char *op = if_absent ? "put-if-absent" : "put";
    char dir[KEY_MAX + 1];
    const char *base = split_key(key, dir);
    char tmp[64];
    snprintf(tmp, sizeof tmp, TMP_PREFIX "%ld.%llu", (long)getpid(),
             (unsigned long long)atomic_fetch_add(&g_tmp_seq, 1));

    /* Open the directory and create the temporary file in it. A concurrent delete may
     * remove the (empty) directory between the two steps: then create it again. */
    int dirfd = -1, fd = -1;
    for (int attempt = 0;; attempt++) {
        dirfd = open_dir(fs, dir);
        if (dirfd < 0 && errno == ENOENT) {
            if (make_dirs(fs, dir) < 0) {
                int e = errno;
                if ((e == ENOENT && attempt < DIR_RACE_RETRIES))
                    continue;
                if (e == ENOTDIR || e == EEXIST)
                    return ig_err(eb, IG_EUNSUPPORTED,
                                  "store %s %s: a prefix of the key is an object (the filesystem "
                                  "store cannot hold both a/b and a)",
                                  op, key);
                return os_err(eb, e, op, key, "create directories");
            }
            dirfd = open_dir(fs, dir);
        }
        if (dirfd < 0) {
            int e = errno;
            if (e == ENOENT && attempt < DIR_RACE_RETRIES)
                continue;
            if (e == ENOTDIR)
                return ig_err(eb, IG_EUNSUPPORTED,
                              "store %s %s: a prefix of the key is an object (the filesystem "
                              "store cannot hold both a/b and a)",
                              op, key);
            return os_err(eb, e, op, key, "open directory");
        }
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0)
            break;
        int e = errno;
        close(dirfd);
        if (e == ENOENT && attempt < DIR_RACE_RETRIES)
            continue;
        return os_err(eb, e, op, key, "create temporary file");
    }

    int rc = 0;
    if (write_all(fd, data, len) < 0) {
        rc = os_err(eb, errno, op, key, "write");
    } else if (fsync(fd) < 0) {
        rc = os_err(eb, errno, op, key, "fsync");
    }
    if (close(fd) < 0 && rc == 0)
        rc = os_err(eb, errno, op, key, "close");
    if (rc == 0) {
        int r = if_absent ? publish_noreplace(dirfd, tmp, base) : renameat(dirfd, tmp, dirfd, base);
        if (r < 0) {
            int e = errno;
            struct stat st;
            bool is_dir = (e == EEXIST || e == EISDIR || e == ENOTEMPTY) &&
                          fstatat(dirfd, base, &st, 0) == 0 && S_ISDIR(st.st_mode);
            if (is_dir)
                rc = ig_err(eb, IG_EUNSUPPORTED,
                            "store %s %s: other keys start with \"%s/\" (the filesystem store "
                            "cannot hold both a/b and a)",
                            op, key, key);
            else if (e == EEXIST)
                rc = ig_err(eb, IG_EEXIST, "store %s %s: the object already exists", op, key);
            else
                rc = os_err(eb, e, op, key, "rename into place");
        }
    }
    if (rc) {
        unlinkat(dirfd, tmp, 0);
    } else if (fsync(dirfd) < 0) {
        /* The object is in place but its directory entry may not be durable. */
        rc = os_err(eb, errno, op, key, "fsync directory");
    }
    close(dirfd);
    return rc;
}

static int fs_get_range(ig_store *s, const char *key, uint64_t off, uint64_t len, ig_buf *out,
                        ig_errbuf *eb)
{
    fs_store *fs = (fs_store *)s;
    int fd = openat(fs->rootfd, key, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return ig_err(eb, IG_ENOENT, "store get %s: no such object", key);
        return os_err(eb, e, "get", key, "open");
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = os_err(eb, errno, "get", key, "stat");
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ig_err(eb, IG_ENOENT, "store get %s: no such object (a directory of keys)", key);
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (off > size) {
        rc = ig_err(eb, IG_ERANGE,
                    "store get %s: offset %llu is beyond the end of the object (%llu bytes)", key,
                    (unsigned long long)off, (unsigned long long)size);
        goto done;
    }
    uint64_t n = size - off < len ? size - off : len;
    if (n > SIZE_MAX / 2) {
        rc = ig_err(eb, IG_ETOOBIG, "store get %s: %llu bytes do not fit in memory", key,
                    (unsigned long long)n);
        goto done;
    }
    rc = ig_buf_reserve(out, (size_t)n);
    if (rc) {
        if (rc == IG_ETOOBIG)
            ig_err(eb, rc, "store get %s: %llu bytes exceed the buffer limit of %zu bytes", key,
                   (unsigned long long)n, out->max - out->len);
        else
            ig_err(eb, rc, "store get %s: out of memory for %llu bytes", key,
                   (unsigned long long)n);
        goto done;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, out->data + out->len + got, (size_t)n - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = os_err(eb, errno, "get", key, "read");
            break;
        }
        if (r == 0) { /* objects are replaced, never truncated: a short file is damage */
            rc = ig_err(eb, IG_EIO, "store get %s: object shrank while reading (%zu of %llu bytes)",
                        key, got, (unsigned long long)n);
            break;
        }
        got += (size_t)r;
    }
    if (rc == 0)
        out->len += got;
    if (out->data)
        out->data[out->len] = 0;
done:
    close(fd);
    return rc;
}

static int fs_head(ig_store *s, const char *key, ig_store_stat *st, ig_errbuf *eb)
{
    fs_store *fs = (fs_store *)s;
    struct stat sb;
    if (fstatat(fs->rootfd, key, &sb, 0) < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return ig_err(eb, IG_ENOENT, "store head %s: no such object", key);
        return os_err(eb, e, "head", key, "stat");
    }
    if (!S_ISREG(sb.st_mode))
        return ig_err(eb, IG_ENOENT, "store head %s: no such object (a directory of keys)", key);
    if (st) {
        st->size = (uint64_t)sb.st_size;
        st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    }
    return 0;
}

/* ---- listing ---------------------------------------------------------------------- */

typedef struct dirent_item {
    char *name;
    bool is_dir;
} dirent_item;

typedef struct list_ctx {
    fs_store *fs;
    const char *prefix;
    size_t prefix_len;
    const char *start_after; /* NULL: none */
    size_t want;             /* max + 1: one more than a page tells whether more follow */
    ig_store_listing *out;
    size_t cap;
    ig_errbuf *eb;
} list_ctx;

/* Orders names as their keys sort: a directory d stands for the keys "d/...", so it
 * compares as "d/" (every key below it shares that prefix; no sibling name contains '/'). */
static int item_cmp(const void *pa, const void *pb)
{
    const dirent_item *a = pa, *b = pb;
    const unsigned char *x = (const unsigned char *)a->name, *y = (const unsigned char *)b->name;
    for (;;) {
        int cx = *x ? *x : (a->is_dir ? '/' : 0);
        int cy = *y ? *y : (b->is_dir ? '/' : 0);
        if (cx != cy || cx == 0 || cx == '/')
            return cx == cy ? 0 : cx - cy;
        x++;
        y++;
    }
}

/* True if a name read from a directory could be a key segment (temporary files contain a
 * backslash and are never listed; neither is "." or ".."). */
static bool valid_segment(const char *name)
{
    ig_str n = ig_str_from(name);
    return n.len && ig_str_index(n, '/') < 0 && ig_store_key_check(n) == NULL;
}

static int add_entry(list_ctx *c, const char *key, size_t klen, const struct stat *sb)
{
    ig_store_listing *l = c->out;
    if (l->count == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        if (ncap > c->want)
            ncap = c->want;
        ig_store_entry *ne = ig_realloc(l->entries, ncap * sizeof *ne);
        if (!ne)
            return ig_err(c->eb, IG_ENOMEM, "store list %s: out of memory", c->prefix);
        l->entries = ne;
        c->cap = ncap;
    }
    char *k = ig_strndup(key, klen);
    if (!k)
        return ig_err(c->eb, IG_ENOMEM, "store list %s: out of memory", c->prefix);
    ig_store_entry *e = &l->entries[l->count++];
    e->key = k;
    e->size = (uint64_t)sb->st_size;
    e->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
    return 0;
}

/* Reads the names in directory rel (relative to the root), keeping those that may hold
 * keys matching the prefix and after start_after. Sorted in key order. */
static int read_dir(list_ctx *c, const char *rel, size_t rel_len, dirent_item **items,
                    size_t *count)
{
    *items = NULL;
    *count = 0;
    int fd = open_dir(c->fs, rel);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0; /* nothing under this prefix (or removed meanwhile) */
        return os_err(c->eb, errno, "list", c->prefix, rel[0] ? rel : "open root");
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return os_err(c->eb, e, "list", c->prefix, "opendir");
    }
    dirent_item *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    char key[KEY_MAX + 2];
    memcpy(key, rel, rel_len);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                rc = os_err(c->eb, errno, "list", c->prefix, "readdir");
            break;
        }
        if (!valid_segment(de->d_name))
            continue;
        size_t nl = strlen(de->d_name);
        size_t kl = rel_len + nl;
        if (kl > KEY_MAX)
            continue; /* cannot be a key */
        bool is_dir;
        if (de->d_type == DT_DIR || de->d_type == DT_REG) {
            is_dir = de->d_type == DT_DIR;
        } else {
            struct stat sb;
            if (fstatat(dirfd(d), de->d_name, &sb, 0) < 0)
                continue; /* vanished, or a dangling link */
            if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
                continue;
            is_dir = S_ISDIR(sb.st_mode);
        }
        /* Full key of the entry ("k" for a file, "k/" for a directory). */
        memcpy(key + rel_len, de->d_name, nl);
        if (is_dir)
            key[kl++] = '/';
        ig_str k = {key, kl};
        ig_str p = {c->prefix, c->prefix_len};
        /* Must be able to match the prefix: either k starts with it, or (directories)
         * the prefix continues below k. */
        if (!ig_str_has_prefix(k, p) && !(is_dir && ig_str_has_prefix(p, k)))
            continue;
        if (c->start_after) {
            ig_str sa = ig_str_from(c->start_after);
            /* A file must sort after start_after; a directory's keys all start with k and
             * sort after k, so it can be skipped only if k < start_after and start_after does
             * not itself start with k. */
            if (!is_dir && ig_str_cmp(k, sa) <= 0)
                continue;
            if (is_dir && ig_str_cmp(k, sa) < 0 && !ig_str_has_prefix(sa, k))
                continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            dirent_item *nv = ig_realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = ig_err(c->eb, IG_ENOMEM, "store list %s: out of memory", c->prefix);
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[n].name = ig_strndup(de->d_name, nl);
        if (!v[n].name) {
            rc = ig_err(c->eb, IG_ENOMEM, "store list %s: out of memory", c->prefix);
            break;
        }
        v[n].is_dir = is_dir;
        n++;
    }
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            ig_free(v[i].name);
        ig_free(v);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, item_cmp);
    *items = v;
    *count = n;
    return 0;
}

/* Depth-first walk in key order of directory rel ("" or "a/b/"), appending matches until
 * want entries are collected. */
static int walk(list_ctx *c, char *rel, size_t rel_len)
{
    dirent_item *items;
    size_t n;
    int rc = read_dir(c, rel, rel_len, &items, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc && c->out->count < c->want; i++) {
        size_t nl = strlen(items[i].name);
        memcpy(rel + rel_len, items[i].name, nl);
        rel[rel_len + nl] = 0;
        if (items[i].is_dir) {
            rel[rel_len + nl] = '/';
            rel[rel_len + nl + 1] = 0;
            rc = walk(c, rel, rel_len + nl + 1);
        } else {
            struct stat sb;
            if (fstatat(c->fs->rootfd, rel, &sb, 0) == 0 && S_ISREG(sb.st_mode))
                rc = add_entry(c, rel, rel_len + nl, &sb);
            /* else: deleted since readdir; not part of the listing */
        }
        rel[rel_len] = 0;
    }
    for (size_t i = 0; i < n; i++)
        ig_free(items[i].name);
    ig_free(items);
    return rc;
}

static int fs_list(ig_store *s, const char *prefix, const char *start_after, size_t max,
                   ig_store_listing *out, ig_errbuf *eb)
{
    list_ctx c = {.fs = (fs_store *)s,
                  .prefix = prefix,
                  .prefix_len = strlen(prefix),
                  .start_after = start_after,
                  .want = max < SIZE_MAX ? max + 1 : max,
                  .out = out,
                  .eb = eb};
    /* Start at the prefix's directory: everything up to its last '/'. */
    char rel[KEY_MAX + 2];
    const char *slash = strrchr(prefix, '/');
    size_t rl = slash ? (size_t)(slash - prefix) + 1 : 0;
    memcpy(rel, prefix, rl);
    rel[rl] = 0;
    int rc = walk(&c, rel, rl);
    if (rc == 0 && out->count > max) {
        /* One more than a page: drop it and tell the caller where to continue. */
        ig_store_entry *extra = &out->entries[--out->count];
        ig_free(extra->key);
        out->next_start_after = ig_strdup(out->entries[out->count - 1].key);
        if (!out->next_start_after)
            rc = ig_err(eb, IG_ENOMEM, "store list %s: out of memory", prefix);
    }
    if (rc)
        ig_store_list_free(out);
    return rc;
}

static int fs_del(ig_store *s, const char *key, ig_errbuf *eb)
{
    fs_store *fs = (fs_store *)s;
    struct stat sb;
    if (fstatat(fs->rootfd, key, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode))
        return ig_err(eb, IG_ENOENT, "store delete %s: no such object (a directory of keys)", key);
    if (unlinkat(fs->rootfd, key, 0) < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return ig_err(eb, IG_ENOENT, "store delete %s: no such object", key);
        return os_err(eb, e, "delete", key, "unlink");
    }
    char dir[KEY_MAX + 1];
    split_key(key, dir);
    if (fsync_dir(fs, dir) < 0 && errno != ENOENT)
        return os_err(eb, errno, "delete", key, "fsync directory");
    /* Best effort: remove the directories that became empty, never the root. A put racing
     * with this recreates what it needs (see fs_put). */
    for (;;) {
        if (!dir[0] || unlinkat(fs->rootfd, dir, AT_REMOVEDIR) < 0)
            break;
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = 0;
    }
    return 0;
}

static int fs_uri(ig_store *s, const char *key, ig_buf *out)
{
    fs_store *fs = (fs_store *)s;
    const char *sep = strcmp(fs->root, "/") == 0 ? "" : "/";
    return ig_buf_printf(out, "file://%s%s%s", fs->root, sep, key);
}

static void fs_close(ig_store *s)
{
    fs_store *fs = (fs_store *)s;
    if (fs->rootfd >= 0)
        close(fs->rootfd);
    ig_free(fs->root);
    ig_free(fs);
}

static const ig_store_ops FS_OPS = {
    .put = fs_put,
    .get_range = fs_get_range,
    .head = fs_head,
    .list = fs_list,
    .del = fs_del,
    .uri = fs_uri,
    .close = fs_close,
};

/* mkdir -p for the root (an operator path, absolute or relative). */
static int mkdir_p(const char *dir)
{
    size_t n = strlen(dir);
    char *p = ig_strndup(dir, n);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    int r = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && p[i] != '/')
            continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            r = -1;
            p[i] = c;
            break;
        }
        p[i] = c;
    }
    int e = errno;
    ig_free(p);
    errno = e;
    return r;
}

int ig_store_open_fs(const char *dir, ig_store **out, ig_errbuf *eb)
{
    *out = NULL;
    if (!dir || !dir[0])
        return ig_err(eb, IG_EINVAL, "store: the filesystem root directory is empty");
    if (mkdir_p(dir) < 0)
        return ig_err(eb, os_code(errno), "store: cannot create root directory %s: %s", dir,
                      strerror(errno));
    char abs[PATH_MAX];
    if (!realpath(dir, abs))
        return ig_err(eb, os_code(errno), "store: cannot resolve root directory %s: %s", dir,
                      strerror(errno));
    fs_store *fs = ig_calloc(1, sizeof *fs);
    char *root = ig_strdup(abs);
    if (!fs || !root) {
        ig_free(fs);
        ig_free(root);
        return ig_err(eb, IG_ENOMEM, "store: out of memory opening %s", dir);
    }
    fs->base.ops = &FS_OPS;
    fs->root = root;
    fs->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->rootfd < 0) {
        int e = errno;
        fs_close(&fs->base);
        return ig_err(eb, os_code(e), "store: cannot open root directory %s: %s", dir, strerror(e));
    }
    *out = &fs->base;
    return 0;
}
