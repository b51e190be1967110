/* libFuzzer target: the runtime overrides file (src/core/limits.c). The input is written
 * to a temporary file and loaded with ig_limits_open, then reloaded with a mutation;
 * lookups and the YAML/JSON renderings run on success. Errors must be one line; nothing
 * may crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/limits.h"
#include "icegate/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_path[64];
static int g_fd = -1;

static void cleanup(void)
{
    if (g_fd >= 0)
        unlink(g_path);
}

static void put(const uint8_t *data, size_t size)
{
    if (ftruncate(g_fd, 0) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(g_fd, data + off, size - off, (off_t)off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
}

static void check_msg(const ig_errbuf *eb)
{
    if (memchr(eb->msg, '\n', strnlen(eb->msg, sizeof eb->msg)))
        abort(); /* error messages are one line, whatever the file quotes */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_fd < 0) {
        snprintf(g_path, sizeof g_path, "/tmp/ig_fuzz_overrides.XXXXXX");
        g_fd = mkstemp(g_path);
        if (g_fd < 0)
            abort();
        atexit(cleanup);
        ig_log_set_level(IG_LOG_OFF);
    }
    put(data, size);
    ig_limits_opts o = {.overrides_file = g_path};
    ig_tenant_limits_defaults(&o.defaults);
    ig_limits *l = NULL;
    ig_errbuf eb;
    eb.msg[0] = 0;
    if (ig_limits_open(&o, &l, &eb)) {
        check_msg(&eb);
        return 0;
    }
    static const char *const tenants[] = {"a", "t1", "team-a", "", "x.y"};
    ig_buf b;
    ig_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < sizeof tenants / sizeof tenants[0]; i++) {
        ig_tenant_limits t;
        ig_limits_get(l, ig_str_from(tenants[i]), &t);
        ig_tenant_limits_yaml(&t, 2, &b);
        ig_tenant_limits_json(&t, &b);
        ig_buf_reset(&b);
    }
    ig_str ts[] = {IG_STR("a"), IG_STR("t1")};
    ig_tenant_limits t;
    ig_limits_get_combined(l, ts, 2, &t);
    ig_buf_free(&b);
    /* Reload with the first half: the previous snapshot stays on error. */
    put(data, size / 2);
    eb.msg[0] = 0;
    if (ig_limits_reload(l, &eb))
        check_msg(&eb);
    ig_limits_close(l);
    return 0;
}
