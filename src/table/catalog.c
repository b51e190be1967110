/* Catalog front end: picks the backend named by the configuration, and helpers shared
 * by every backend. The SQL (JDBC catalog schema) lives in the backend files. */
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"

int catalog_open(const ig_config *cfg, catalog **out, ig_errbuf *eb)
{
    *out = NULL;
    const char *type = cfg->catalog.type ? cfg->catalog.type : "sqlite";
    if (!strcmp(type, "sqlite")) {
        const char *path = cfg->catalog.uri;
        /* Accept the PyIceberg-style "sqlite:///abs/path" as well as a plain path. */
        if (path && !strncmp(path, "sqlite://", 9))
            path += 9;
        if (!path || !path[0])
            return ig_err(eb, IG_EINVAL, "catalog.uri: empty (want the SQLite file path)");
        return catalog_open_sqlite(path, out, eb);
    }
    if (!strcmp(type, "postgres"))
        return ig_err(eb, IG_EUNSUPPORTED,
                      "catalog.type: \"postgres\" is not supported yet (use sqlite)");
    return ig_err(eb, IG_EINVAL, "catalog.type: \"%s\" is not allowed (sqlite, postgres)", type);
}

void catalog_close(catalog *c)
{
    if (c)
        c->ops->close(c);
}

void catalog_names_free(catalog_names *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        ig_free(l->names[i]);
    ig_free(l->names);
    l->names = NULL;
    l->n = 0;
}

int catalog_key_of_uri(ig_store *store, ig_str uri, ig_buf *key)
{
    /* The store's root URI: the URI of a probe key minus the key. */
    ig_buf root;
    ig_buf_init(&root, 8192);
    int rc = ig_store_uri(store, "k", &root);
    if (rc) {
        ig_buf_free(&root);
        return rc;
    }
    root.len -= 1; /* drop "k", keep the separator */
    ig_str prefix = ig_buf_str(&root);
    if (!ig_str_has_prefix(uri, prefix) || uri.len == prefix.len) {
        ig_buf_free(&root);
        return IG_EINVAL;
    }
    ig_str rest = ig_str_make(uri.ptr + prefix.len, uri.len - prefix.len);
    ig_buf_free(&root);
    if (ig_store_key_check(rest))
        return IG_EINVAL;
    return ig_buf_append_str(key, rest);
}
