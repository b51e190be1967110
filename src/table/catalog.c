/* Catalog front end: picks the backend named by the configuration, and helpers shared
 * by every backend. The SQL (JDBC catalog schema) lives in the backend files. */
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"
#include "icegate/time.h"

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
        return catalog_open_pg(cfg->catalog.uri, out, eb);
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

#define METADATA_MAX ((size_t)64 << 20) /* a metadata file larger than this is refused */

int catalog_table_load(catalog *cat, ig_store *store, const char *ns, const char *table,
                       catalog_table *t, ig_errbuf *eb)
{
    memset(t, 0, sizeof *t);
    ig_buf_init(&t->location, 4096);
    ig_buf key, body;
    ig_buf_init(&key, 4096);
    ig_buf_init(&body, METADATA_MAX);
    int rc = catalog_load_table(cat, ns, table, &t->location, eb);
    if (rc)
        goto fail;
    if ((rc = catalog_key_of_uri(store, ig_buf_str(&t->location), &key))) {
        rc = ig_err(eb, IG_EINVAL, "table %s.%s: metadata location %s is not in the store", ns,
                    table, t->location.data);
        goto fail;
    }
    if ((rc = ig_store_get(store, key.data, &body, eb))) {
        ig_errbuf se = {{0}};
        if (eb)
            se = *eb;
        rc = ig_err(eb, rc, "table %s.%s: cannot read its metadata: %s", ns, table,
                    se.msg[0] ? se.msg : ig_strerror(rc));
        goto fail;
    }
    ig_errbuf pe = {{0}};
    if ((rc = ice_metadata_parse(ig_buf_str(&body), &t->meta, &pe))) {
        rc = ig_err(eb, rc, "table %s.%s: %s: %s", ns, table, t->location.data, pe.msg);
        goto fail;
    }
    ig_buf_free(&key);
    ig_buf_free(&body);
    return 0;
fail:
    ig_buf_free(&key);
    ig_buf_free(&body);
    ig_buf_free(&t->location);
    return rc;
}

void catalog_table_free(catalog_table *t)
{
    ig_buf_free(&t->location);
    ice_metadata_free(&t->meta);
}

int catalog_table_commit_append(catalog *cat, ig_store *store, const char *ns, const char *table,
                                const catalog_table *base, const ice_snapshot_new *snap,
                                ig_buf *new_location, ig_errbuf *eb)
{
    ig_buf key, json, uri;
    ig_buf_init(&key, 4096);
    ig_buf_init(&json, METADATA_MAX);
    ig_buf_init(&uri, 4096);
    char uuid[37];
    ig_str base_loc = ig_buf_str(&base->location);
    int rc = catalog_key_of_uri(store, base_loc, &key);
    if (rc) {
        rc = ig_err(eb, IG_EINVAL, "table %s.%s: metadata location %s is not in the store", ns,
                    table, base->location.data);
        goto done;
    }
    /* next file: same directory, version + 1 */
    long slash = -1;
    for (size_t i = 0; i < key.len; i++)
        if (key.data[i] == '/')
            slash = (long)i;
    int version = ice_metadata_file_version(base_loc);
    if (version < 0)
        version = (int)base->meta.nmetadata_log; /* a name we did not write: keep counting */
    key.len = slash < 0 ? 0 : (size_t)slash;
    if ((rc = ice_uuid4(uuid)) ||
        (rc = ig_buf_printf(&key, "%s%05d-%s.metadata.json", slash < 0 ? "" : "/", version + 1,
                            uuid)) ||
        (rc = ig_store_uri(store, key.data, &uri)))
        goto done;
    rc =
        ice_metadata_write_next(&base->meta, base_loc, snap, ig_now_ns() / IG_NS_PER_MS, &json, eb);
    if (rc)
        goto done;
    if ((rc = ig_store_put_if_absent(store, key.data, json.data, json.len, eb)))
        goto done;
    rc = catalog_commit_table(cat, ns, table, base->location.data, uri.data, eb);
    if (rc == IG_ECONFLICT || rc == IG_ENOENT) {
        /* The swap certainly did not happen: nobody can reference the file. */
        ig_store_delete(store, key.data, NULL);
    } else if (rc == 0 && new_location) {
        rc = ig_buf_append_str(new_location, ig_buf_str(&uri));
    }
done:
    ig_buf_free(&key);
    ig_buf_free(&json);
    ig_buf_free(&uri);
    return rc;
}
