/* Read-only Iceberg REST catalog over the JDBC-schema catalog (include/icegate/rest_catalog.h,
 * docs/iceberg.md §12; shapes from the REST OpenAPI spec as summarised in
 * reference/iceberg-notes.md §3). */
#include <string.h>
#include <strings.h>

#include "icegate/alloc.h"
#include "icegate/map.h"
#include "icegate/rest_catalog.h"

#define REST_METADATA_MAX ((size_t)64 << 20)
#define REST_MAX_SEGS 8

struct ig_rest_catalog {
    catalog *cat;
    ig_store *store;
    char *token; /* NULL: no auth */
};

static int rest_error(ig_http_resp *resp, int code, const char *type, const char *msg)
{
    resp->status = code;
    ig_http_resp_header(resp, "Content-Type", "application/json");
    ig_buf_reset(&resp->body);
    int rc = ig_buf_append_cstr(&resp->body, "{\"error\":{\"message\":");
    rc = rc ? rc : ig_buf_json_str(&resp->body, ig_str_from(msg));
    rc = rc ? rc : ig_buf_append_cstr(&resp->body, ",\"type\":");
    rc = rc ? rc : ig_buf_json_str(&resp->body, ig_str_from(type));
    return rc ? rc : ig_buf_printf(&resp->body, ",\"code\":%d}}", code);
}

static int json_ok(ig_http_resp *resp)
{
    resp->status = 200;
    return ig_http_resp_header(resp, "Content-Type", "application/json");
}

/* Constant-time comparison of the presented token with ours. */
static bool token_ok(const ig_rest_catalog *r, const char *auth)
{
    if (!r->token)
        return true;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) /* RFC 7235: scheme case-insensitive */
        return false;
    const char *t = auth + 7;
    size_t a = strlen(t), b = strlen(r->token);
    unsigned diff = a != b;
    for (size_t i = 0; i < a && i < b; i++)
        diff |= (unsigned)(t[i] ^ r->token[i]);
    return diff == 0;
}

/* Namespace levels (0x1F-separated in the path) as the JDBC namespace ("a.b"). */
static int ns_from_path(ig_str seg, ig_buf *out)
{
    for (size_t i = 0; i < seg.len; i++) {
        char c = seg.ptr[i] == 0x1f ? '.' : seg.ptr[i];
        int rc = ig_buf_putc(out, c);
        if (rc)
            return rc;
    }
    return 0;
}

/* ["a","b"] from "a.b". */
static int ns_json(ig_buf *b, const char *ns)
{
    int rc = ig_buf_putc(b, '[');
    const char *p = ns;
    while (rc == 0) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        rc = ig_buf_json_str(b, ig_str_make(p, n));
        if (rc || !dot)
            break;
        rc = ig_buf_putc(b, ',');
        p = dot + 1;
    }
    return rc ? rc : ig_buf_putc(b, ']');
}

static int h_config(ig_http_resp *resp)
{
    json_ok(resp);
    return ig_buf_append_cstr(
        &resp->body,
        "{\"defaults\":{},\"overrides\":{},\"endpoints\":["
        "\"GET /v1/{prefix}/namespaces\",\"GET /v1/{prefix}/namespaces/{namespace}\","
        "\"HEAD /v1/{prefix}/namespaces/{namespace}\","
        "\"GET /v1/{prefix}/namespaces/{namespace}/tables\","
        "\"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}\","
        "\"HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}\","
        "\"GET /v1/{prefix}/namespaces/{namespace}/views\"]}");
}

static int h_namespaces(ig_rest_catalog *r, ig_http_req *req, ig_http_resp *resp)
{
    ig_str parent = {0};
    bool has_parent = ig_http_param(req, "parent", &parent) && parent.len;
    ig_buf pb;
    ig_buf_init(&pb, 4096);
    if (has_parent && ns_from_path(parent, &pb)) {
        ig_buf_free(&pb);
        return rest_error(resp, 400, "BadRequestException", "parent namespace too long");
    }
    catalog_names l = {0};
    ig_errbuf eb = {{0}};
    int rc = catalog_list_namespaces(r->cat, &l, &eb);
    if (rc) {
        ig_buf_free(&pb);
        return rest_error(resp, 503, "ServiceUnavailableException", eb.msg);
    }
    json_ok(resp);
    ig_buf *b = &resp->body;
    rc = ig_buf_append_cstr(b, "{\"namespaces\":[");
    int n = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const char *ns = l.names[i];
        if (has_parent) {
            /* direct children of parent only */
            size_t pl = pb.len;
            if (strncmp(ns, pb.data, pl) != 0 || ns[pl] != '.' || strchr(ns + pl + 1, '.'))
                continue;
        } else if (strchr(ns, '.')) {
            continue; /* top level only */
        }
        rc = n++ ? ig_buf_putc(b, ',') : 0;
        rc = rc ? rc : ns_json(b, ns);
    }
    rc = rc ? rc : ig_buf_append_cstr(b, "],\"next-page-token\":null}");
    catalog_names_free(&l);
    ig_buf_free(&pb);
    return rc;
}

static int ns_check(ig_rest_catalog *r, const char *ns, ig_http_resp *resp)
{
    ig_errbuf eb = {{0}};
    int rc = catalog_namespace_exists(r->cat, ns, &eb);
    if (rc == IG_ENOENT) {
        char msg[300];
        snprintf(msg, sizeof msg, "Namespace does not exist: %s", ns);
        rest_error(resp, 404, "NoSuchNamespaceException", msg);
        return rc;
    }
    if (rc)
        rest_error(resp, 503, "ServiceUnavailableException", eb.msg);
    return rc;
}

static int h_table(ig_rest_catalog *r, ig_http_req *req, ig_http_resp *resp, const char *ns,
                   const char *table)
{
    ig_buf loc, key, md;
    ig_buf_init(&loc, 4096);
    ig_buf_init(&key, 4096);
    ig_buf_init(&md, REST_METADATA_MAX);
    ig_errbuf eb = {{0}};
    int rc = catalog_load_table(r->cat, ns, table, &loc, &eb);
    if (rc == IG_ENOENT) {
        char msg[600];
        snprintf(msg, sizeof msg, "Table does not exist: %s.%s", ns, table);
        rc = rest_error(resp, 404, "NoSuchTableException", msg);
    } else if (rc) {
        rc = rest_error(resp, 503, "ServiceUnavailableException", eb.msg);
    } else if (!strcmp(req->method, "HEAD")) {
        resp->status = 204;
    } else {
        /* The metadata file named by a location never changes: its hash is a strong ETag. */
        char etag[24];
        snprintf(etag, sizeof etag, "\"%016llx\"",
                 (unsigned long long)ig_hash64(loc.data, loc.len));
        ig_http_resp_header(resp, "ETag", etag);
        const char *inm = ig_http_header(req, "If-None-Match");
        if (inm && strstr(inm, etag)) {
            resp->status = 304;
            goto out;
        }
        if (catalog_key_of_uri(r->store, ig_buf_str(&loc), &key) != 0)
            rc = rest_error(resp, 500, "ServerError", "metadata location is not in the store");
        else if ((rc = ig_store_get(r->store, key.data, &md, &eb)) != 0)
            rc = rest_error(resp, 500, "ServerError", eb.msg);
        else {
            json_ok(resp);
            ig_buf *b = &resp->body;
            rc = ig_buf_append_cstr(b, "{\"metadata-location\":");
            rc = rc ? rc : ig_buf_json_str(b, ig_buf_str(&loc));
            rc = rc ? rc : ig_buf_append_cstr(b, ",\"metadata\":");
            rc = rc ? rc : ig_buf_append(b, md.data, md.len); /* verbatim: it is JSON */
            rc = rc ? rc : ig_buf_append_cstr(b, ",\"config\":{}}");
        }
    }
out:
    ig_buf_free(&loc);
    ig_buf_free(&key);
    ig_buf_free(&md);
    return rc;
}

static int h_rest(ig_http_req *req, ig_http_resp *resp, void *ud)
{
    ig_rest_catalog *r = ud;
    if (!token_ok(r, ig_http_header(req, "Authorization")))
        return rest_error(resp, 401, "NotAuthorizedException",
                          "a bearer token is required (Authorization: Bearer <catalog.rest.token>)");
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    /* split the path after /v1/ */
    ig_str segs[REST_MAX_SEGS];
    size_t n = 0;
    const char *p = req->path + 4; /* "/v1/" */
    while (*p && n < REST_MAX_SEGS) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        segs[n++] = ig_str_make(p, len);
        if (!slash)
            break;
        p = slash + 1;
    }
    if (!get) {
        char msg[300];
        snprintf(msg, sizeof msg, "the Iceberg REST catalog is read-only: %s %.200s is not supported",
                 req->method, req->path);
        return rest_error(resp, 501, "UnsupportedOperationException", msg);
    }
    if (n == 1 && ig_str_eq_cstr(segs[0], "config"))
        return h_config(resp);
    size_t k = 0; /* index of "namespaces" (an optional {prefix} before it) */
    if (n >= 1 && ig_str_eq_cstr(segs[0], "namespaces"))
        k = 0;
    else if (n >= 2 && ig_str_eq_cstr(segs[1], "namespaces"))
        k = 1;
    else
        return rest_error(resp, 404, "NoSuchEndpointException", "no such endpoint");
    size_t rest = n - k - 1;
    if (rest == 0)
        return h_namespaces(r, req, resp);
    ig_buf ns;
    ig_buf_init(&ns, 1024);
    char table[256];
    int rc = ns_from_path(segs[k + 1], &ns);
    if (rc || ns.len == 0) {
        ig_buf_free(&ns);
        return rest_error(resp, 400, "BadRequestException", "bad namespace");
    }
    if (rest == 1) {
        rc = ns_check(r, ns.data, resp);
        if (rc == 0 && !strcmp(req->method, "HEAD")) {
            resp->status = 204;
        } else if (rc == 0) {
            json_ok(resp);
            rc = ig_buf_append_cstr(&resp->body, "{\"namespace\":");
            rc = rc ? rc : ns_json(&resp->body, ns.data);
            rc = rc ? rc : ig_buf_append_cstr(&resp->body, ",\"properties\":{}}");
        } else {
            rc = 0;
        }
    } else if (rest == 2 && ig_str_eq_cstr(segs[k + 2], "tables")) {
        catalog_names l = {0};
        ig_errbuf eb = {{0}};
        if (ns_check(r, ns.data, resp) != 0)
            rc = 0;
        else if ((rc = catalog_list_tables(r->cat, ns.data, &l, &eb)) != 0)
            rc = rest_error(resp, 503, "ServiceUnavailableException", eb.msg);
        else {
            json_ok(resp);
            ig_buf *b = &resp->body;
            rc = ig_buf_append_cstr(b, "{\"identifiers\":[");
            for (size_t i = 0; rc == 0 && i < l.n; i++) {
                rc = ig_buf_append_cstr(b, i ? ",{\"namespace\":" : "{\"namespace\":");
                rc = rc ? rc : ns_json(b, ns.data);
                rc = rc ? rc : ig_buf_append_cstr(b, ",\"name\":");
                rc = rc ? rc : ig_buf_json_str(b, ig_str_from(l.names[i]));
                rc = rc ? rc : ig_buf_putc(b, '}');
            }
            rc = rc ? rc : ig_buf_append_cstr(b, "],\"next-page-token\":null}");
        }
        catalog_names_free(&l);
    } else if (rest == 2 && ig_str_eq_cstr(segs[k + 2], "views")) {
        if (ns_check(r, ns.data, resp) == 0) {
            json_ok(resp);
            rc = ig_buf_append_cstr(&resp->body, "{\"identifiers\":[],\"next-page-token\":null}");
        }
    } else if (rest == 3 && ig_str_eq_cstr(segs[k + 2], "tables") && segs[k + 3].len &&
               segs[k + 3].len < sizeof table) {
        memcpy(table, segs[k + 3].ptr, segs[k + 3].len);
        table[segs[k + 3].len] = 0;
        rc = h_table(r, req, resp, ns.data, table);
    } else {
        rc = rest_error(resp, 404, "NoSuchEndpointException", "no such endpoint");
    }
    ig_buf_free(&ns);
    return rc;
}

int ig_rest_catalog_register(ig_http_server *s, catalog *cat, ig_store *store, const char *token,
                             ig_rest_catalog **out)
{
    *out = NULL;
    ig_rest_catalog *r = ig_calloc(1, sizeof *r);
    if (!r)
        return IG_ENOMEM;
    r->cat = cat;
    r->store = store;
    if (token && token[0] && !(r->token = ig_strdup(token))) {
        ig_free(r);
        return IG_ENOMEM;
    }
    int rc = ig_http_route(s, "*", "/v1/*", h_rest, r);
    if (rc) {
        ig_rest_catalog_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void ig_rest_catalog_free(ig_rest_catalog *r)
{
    if (!r)
        return;
    ig_free(r->token);
    ig_free(r);
}
