/* libFuzzer target: the configuration loader (YAML file, then environment).
 * The input is written to a temporary YAML file and loaded with ig_config_load; on
 * success the effective configuration is dumped too. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icegate/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_path[64];
static int g_fd = -1;
static FILE *g_null;

static void cleanup(void)
{
    if (g_fd >= 0)
        unlink(g_path);
    if (g_null)
        fclose(g_null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_fd < 0) {
        snprintf(g_path, sizeof g_path, "/tmp/ig_fuzz_config.XXXXXX");
        g_fd = mkstemp(g_path);
        if (g_fd < 0)
            abort();
        g_null = fopen("/dev/null", "w");
        atexit(cleanup);
    }
    if (ftruncate(g_fd, 0) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(g_fd, data + off, size - off, (off_t)off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    /* One environment variable, so the env layer sees the file's results too. */
    char *env[] = {"ICEGATE_DATA_DIR=/fuzz", NULL};
    ig_config c;
    ig_errbuf eb;
    eb.msg[0] = 0;
    int rc = ig_config_load(&c, g_path, (size & 1) ? env : NULL, &eb);
    if (rc == 0) {
        if (g_null)
            ig_config_dump(&c, g_null);
    } else if (memchr(eb.msg, '\n', strnlen(eb.msg, sizeof eb.msg))) {
        abort(); /* error messages are one line, whatever the input quotes */
    }
    ig_config_free(&c);
    return 0;
}
