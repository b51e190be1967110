/* Tenant and account id validation and resolution (DESIGN §2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/tenant.h"

static bool allowed(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '!' || c == '-' || c == '_' || c == '.' || c == '*' || c == '\'' || c == '(' ||
           c == ')';
}

const char *ig_tenant_check(ig_str id, const char *what, char *msg, size_t msglen)
{
    if (id.len == 0) {
        snprintf(msg, msglen, "%s is empty", what);
        return msg;
    }
    if (id.len > IG_TENANT_MAX_LEN) {
        snprintf(msg, msglen, "%s is too long: max %d characters", what, IG_TENANT_MAX_LEN);
        return msg;
    }
    if (ig_str_eq_cstr(id, ".") || ig_str_eq_cstr(id, "..")) {
        snprintf(msg, msglen, "%s is '.' or '..'", what);
        return msg;
    }
    for (size_t i = 0; i < id.len; i++) {
        unsigned char c = (unsigned char)id.ptr[i];
        if (!allowed(c)) {
            char shown[8];
            if (c >= 0x20 && c < 0x7f)
                snprintf(shown, sizeof shown, "%c", c);
            else
                snprintf(shown, sizeof shown, "\\x%02x", c);
            /* the id itself is quoted only when printable, so logs and bodies stay clean */
            bool printable = true;
            for (size_t j = 0; j < id.len; j++)
                printable &= id.ptr[j] >= 0x20 && id.ptr[j] < 0x7f;
            if (printable)
                snprintf(msg, msglen, "%s '%.*s' contains unsupported character '%s'", what,
                         (int)id.len, id.ptr, shown);
            else
                snprintf(msg, msglen, "%s contains unsupported character '%s'", what, shown);
            return msg;
        }
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return ig_str_cmp(*(const ig_str *)a, *(const ig_str *)b);
}

int ig_tenancy_resolve(const ig_tenant_opts *o, const char *org_header, int org_count,
                       const char *account_header, int account_count, ig_arena *arena,
                       ig_tenancy *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    if (account_header) {
        if (account_count > 1) {
            snprintf(msg, msglen, "multiple account IDs present");
            return 400;
        }
        ig_str acc = ig_str_trim(ig_str_from(account_header));
        if (ig_tenant_check(acc, "account ID", msg, msglen))
            return 400;
        out->account_id = acc;
    }
    if (!o->auth_enabled) {
        out->tenants[0] = ig_str_from(o->default_tenant);
        out->ntenants = 1;
        return 0;
    }
    if (!org_header || ig_str_trim(ig_str_from(org_header)).len == 0) {
        snprintf(msg, msglen, "no org id");
        return 401;
    }
    /* Several header lines are joined as several tenants would be: a single-tenant
     * endpoint then fails with "multiple org IDs present", never picks one. */
    ig_str h = ig_str_trim(ig_str_from(org_header)); /* HTTP OWS is not part of the value */
    int n = 0;
    size_t i = 0;
    while (i <= h.len) {
        size_t st = i;
        while (i < h.len && h.ptr[i] != '|')
            i++;
        ig_str id = {h.ptr + st, i - st};
        i++;
        if (ig_tenant_check(id, "tenant ID", msg, msglen))
            return 400;
        if (n >= IG_TENANTS_MAX) {
            snprintf(msg, msglen, "too many tenant IDs: max %d", IG_TENANTS_MAX);
            return 400;
        }
        out->tenants[n++] = id;
    }
    qsort(out->tenants, (size_t)n, sizeof out->tenants[0], cmp_str);
    int u = 0;
    for (int k = 0; k < n; k++)
        if (u == 0 || !ig_str_eq(out->tenants[u - 1], out->tenants[k]))
            out->tenants[u++] = out->tenants[k];
    out->ntenants = u;
    if ((u > 1 || org_count > 1) && !o->allow_multi) {
        snprintf(msg, msglen, "multiple org IDs present");
        return 400;
    }
    if (org_count > 1) {
        /* Several X-Scope-OrgID lines: libmicrohttpd hands us the first only; refuse rather
         * than guess which tenant was meant. */
        snprintf(msg, msglen, "multiple X-Scope-OrgID headers: send one header, tenants "
                              "separated by '|'");
        return 400;
    }
    (void)arena;
    return 0;
}
