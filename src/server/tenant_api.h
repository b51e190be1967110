/* Per-tenant limits and usage on the listeners (docs/multi-tenancy.md):
 *   GET /config/tenant/v1/limits        the caller's effective limits as YAML
 *   GET /loki/api/v1/drilldown-limits   Loki's JSON for Grafana Logs Drilldown
 * and the background recount of bytes stored per tenant (storage quota). */
#ifndef ICEGATE_SERVER_TENANT_API_H
#define ICEGATE_SERVER_TENANT_API_H

#include "icegate/config.h"
#include "icegate/http.h"
#include "icegate/limits.h"
#include "icegate/store.h"

typedef struct ig_tenant_api ig_tenant_api;

/* cfg, limits and store (NULL when this process has no store) are borrowed. */
int ig_tenant_api_new(const ig_config *cfg, ig_limits *limits, ig_store *store,
                      ig_tenant_api **out);
/* Registers the two routes on a listener (before any catch-all of the same prefix). */
int ig_tenant_api_register(ig_tenant_api *api, ig_http_server *s);
/* Starts the stored-bytes recount thread: at once, then every limits.storage_recount_period.
 * No-op without a store. */
int ig_tenant_api_start_recount(ig_tenant_api *api);
/* One recount of every tenant known to this process or found in the WAL (tests). */
void ig_tenant_api_recount(ig_tenant_api *api);
void ig_tenant_api_free(ig_tenant_api *api);

#endif
