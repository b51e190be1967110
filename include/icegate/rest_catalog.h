/* Read-only Iceberg REST catalog (prefix ig_rest_) on the catalog listener (default 8181):
 * GET /v1/config, GET /v1/[{prefix}/]namespaces, GET|HEAD .../namespaces/{ns},
 * GET .../namespaces/{ns}/tables, GET|HEAD .../namespaces/{ns}/tables/{table} (LoadTableResult
 * with the metadata JSON verbatim), GET .../namespaces/{ns}/views (empty). Every other
 * method answers 501 (the catalog is read-only). Errors are the REST spec's
 * {"error":{"message","type","code"}}. Design note: docs/iceberg.md §12.
 *
 * It exposes every tenant's data: an operator endpoint. When a token is configured
 * (catalog.rest.token) every request must carry `Authorization: Bearer <token>` (401
 * otherwise). */
#ifndef ICEGATE_REST_CATALOG_H
#define ICEGATE_REST_CATALOG_H

#include "icegate/catalog.h"
#include "icegate/http.h"
#include "icegate/store.h"

typedef struct ig_rest_catalog ig_rest_catalog;

/* Registers the routes on s (before its catch-all). cat and store are borrowed and must
 * outlive the server; token (may be NULL or "": no auth) is copied. *out is freed with
 * ig_rest_catalog_free after the server is freed. */
int ig_rest_catalog_register(ig_http_server *s, catalog *cat, ig_store *store, const char *token,
                             ig_rest_catalog **out);
void ig_rest_catalog_free(ig_rest_catalog *r);

#endif
