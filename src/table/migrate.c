/* `icegate migrate`: creates namespace icegate and the four tables where missing, and checks
 * existing tables against our schema (by field id). Idempotent; safe against a concurrent
 * migrate (the catalog INSERT decides who created a table; the loser deletes its unused
 * metadata file). See docs/iceberg.md. */
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/catalog.h"
#include "icegate/iceberg.h"
#include "icegate/time.h"

/* Appends to out the fields (recursively: nested ids too) of ours that m lacks. */
static int missing_ids(const ice_metadata *m, const pq_field *f, size_t n, const char *parent,
                       ig_buf *out, int *count)
{
    for (size_t i = 0; i < n; i++) {
        if (!ice_metadata_has_field_id(m, f[i].id)) {
            int rc = ig_buf_printf(out, "%s%s%s%s (id %d)", *count ? ", " : "", parent,
                                   parent[0] ? "." : "", f[i].name, (int)f[i].id);
            if (rc)
                return rc;
            ++*count;
        }
        if (f[i].nchildren) {
            char path[256];
            snprintf(path, sizeof path, "%s%s%s", parent, parent[0] ? "." : "", f[i].name);
            int rc = missing_ids(m, f[i].children, f[i].nchildren, path, out, count);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Loads an existing table and checks its current schema. Returns 0 if up to date,
 * IG_EUNSUPPORTED if the schema lacks columns (printed), another error if the table or its
 * metadata cannot be read. */
static int check_table(catalog *cat, ig_store *store, ig_table_id t, FILE *out, ig_errbuf *eb)
{
    const char *name = ig_table_name(t);
    catalog_table tab;
    int rc = catalog_table_load(cat, store, CATALOG_NAMESPACE, name, &tab, eb);
    if (rc)
        return rc;
    size_t n;
    const pq_field *f = ig_table_fields(t, &n);
    ig_buf miss;
    ig_buf_init(&miss, 1 << 16);
    int count = 0;
    rc = missing_ids(&tab.meta, f, n, "", &miss, &count);
    if (rc == 0 && count) {
        fprintf(out,
                "table %s.%s: schema differs: the table lacks %d column(s) this version "
                "writes: %s (schema evolution is not supported yet)\n",
                CATALOG_NAMESPACE, name, count, miss.data);
        rc = ig_err(eb, IG_EUNSUPPORTED, "table %s.%s needs schema evolution", CATALOG_NAMESPACE,
                    name);
    }
    ig_buf_free(&miss);
    catalog_table_free(&tab);
    return rc;
}

/* Creates table t: writes metadata 00000 and inserts the catalog row. Returns 0 when
 * created, IG_EEXIST when another process created it first (our file is removed). */
static int create_table(catalog *cat, ig_store *store, ig_table_id t, FILE *out, ig_errbuf *eb)
{
    const char *name = ig_table_name(t);
    char uuid[37], prefix[64];
    int rc = ice_uuid4(uuid);
    if (rc)
        return ig_err(eb, rc, "migrate: no random bytes for a table uuid");
    snprintf(prefix, sizeof prefix, "%s/%s", CATALOG_NAMESPACE, name);
    ig_buf loc, key, uri, json;
    ig_buf_init(&loc, 4096);
    ig_buf_init(&key, 4096);
    ig_buf_init(&uri, 4096);
    ig_buf_init(&json, 1 << 20);
    char fuuid[37];
    if ((rc = ice_uuid4(fuuid)))
        goto done;
    if ((rc = ig_store_uri(store, prefix, &loc)) ||
        (rc = ice_metadata_file_key(&key, prefix, 0, fuuid)) ||
        (rc = ig_store_uri(store, key.data, &uri)) ||
        (rc = ice_table_metadata_new(t, uuid, loc.data, ig_now_ns() / IG_NS_PER_MS, &json))) {
        rc = ig_err(eb, rc, "migrate: table %s: cannot build metadata: %s", name, ig_strerror(rc));
        goto done;
    }
    rc = ig_store_put_if_absent(store, key.data, json.data, json.len, eb);
    if (rc)
        goto done;
    rc = catalog_create_table(cat, CATALOG_NAMESPACE, name, uri.data, eb);
    if (rc == IG_EEXIST) {
        ig_store_delete(store, key.data, NULL); /* never referenced: safe to remove */
        goto done;
    }
    if (rc)
        goto done; /* outcome unknown: keep the file (orphan cleanup may remove it) */
    fprintf(out, "created table %s.%s (metadata %s)\n", CATALOG_NAMESPACE, name, uri.data);
done:
    ig_buf_free(&loc);
    ig_buf_free(&key);
    ig_buf_free(&uri);
    ig_buf_free(&json);
    return rc;
}

int ig_migrate(catalog *cat, ig_store *store, FILE *out, int *changes_out, ig_errbuf *eb)
{
    int changes = 0, result = 0;
    int rc = catalog_create_namespace(cat, CATALOG_NAMESPACE, eb);
    if (rc == 0) {
        fprintf(out, "created namespace %s\n", CATALOG_NAMESPACE);
        changes++;
    } else if (rc != IG_EEXIST) {
        return rc;
    }
    for (int t = 0; t < IG_TABLE_COUNT_; t++) {
        const char *name = ig_table_name((ig_table_id)t);
        ig_buf loc;
        ig_buf_init(&loc, 4096);
        rc = catalog_load_table(cat, CATALOG_NAMESPACE, name, &loc, eb);
        ig_buf_free(&loc);
        if (rc == IG_ENOENT) {
            rc = create_table(cat, store, (ig_table_id)t, out, eb);
            if (rc == 0)
                changes++;
            else if (rc == IG_EEXIST) /* a concurrent migrate won: check its table */
                rc = check_table(cat, store, (ig_table_id)t, out, eb);
        } else if (rc == 0) {
            rc = check_table(cat, store, (ig_table_id)t, out, eb);
        }
        if (rc == IG_EUNSUPPORTED) {
            result = rc; /* report every table before failing */
            continue;
        }
        if (rc)
            return rc;
    }
    if (changes_out)
        *changes_out = changes;
    if (result == 0 && changes == 0)
        fprintf(out, "up to date\n");
    return result;
}
