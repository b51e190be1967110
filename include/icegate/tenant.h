/* Tenant identification (DESIGN §2, Loki's rules).
 *
 * A tenant id is 1–150 bytes of `A-Z a-z 0-9 ! - _ . * ' ( )`, not "." or "..".
 * The header X-Scope-OrgID may name several tenants separated by '|' (multi-tenant
 * queries); they are validated, sorted and de-duplicated. X-Account-ID (optional)
 * follows the same character rules. With auth disabled every request is the default
 * tenant and the header is ignored. */
#ifndef ICEGATE_TENANT_H
#define ICEGATE_TENANT_H

#include <stdbool.h>
#include <stddef.h>

#include "icegate/arena.h"
#include "icegate/buf.h"

#define IG_TENANT_MAX_LEN 150
#define IG_TENANTS_MAX 64

/* Validates one id. Returns NULL when valid, else a message in Loki's words written to
 * msg (e.g. "tenant ID 'a b' contains unsupported character ' '"). `what` is "tenant ID"
 * or "account ID". */
const char *ig_tenant_check(ig_str id, const char *what, char *msg, size_t msglen);

typedef struct ig_tenancy {
    ig_str tenants[IG_TENANTS_MAX]; /* sorted, unique; views into the header or arena */
    int ntenants;
    ig_str account_id;              /* ptr NULL when absent */
} ig_tenancy;

typedef struct ig_tenant_opts {
    bool auth_enabled;
    const char *default_tenant;
    bool allow_multi;   /* this endpoint (and the configuration) accepts a|b */
} ig_tenant_opts;

/* Resolves the tenancy of a request from its header values (NULL when absent;
 * org_count/account_count = how many header lines carried them). On error returns the
 * HTTP status to answer (401 for a missing id, 400 otherwise) and writes the message
 * (Loki's text: "no org id", "multiple org IDs present", or the validation error);
 * returns 0 on success. */
int ig_tenancy_resolve(const ig_tenant_opts *o, const char *org_header, int org_count,
                       const char *account_header, int account_count, ig_arena *arena,
                       ig_tenancy *out, char *msg, size_t msglen);

#endif
