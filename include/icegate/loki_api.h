/* The Loki query API on port 3100 (prefix lq_loki_): query, query_range, labels,
 * label/NAME/values, series, format_query, status/buildinfo; every other path under
 * /loki/api/v1 answers 501 naming it. Design note: docs/query.md "API".
 *
 * Ownership: the API object owns the object store it opens (cfg->storage.path); the
 * catalog is opened per query (cfg->catalog) so no connection is shared across request
 * threads. cfg is borrowed and must outlive the object. */
#ifndef ICEGATE_LOKI_API_H
#define ICEGATE_LOKI_API_H

#include "icegate/config.h"
#include "icegate/err.h"
#include "icegate/http.h"

typedef struct lq_loki_api lq_loki_api;

int lq_loki_api_new(const ig_config *cfg, lq_loki_api **out, ig_errbuf *eb);
/* Adds the routes (before the listener's catch-all). */
int lq_loki_api_register(lq_loki_api *api, ig_http_server *s);
void lq_loki_api_free(lq_loki_api *api);

#endif
