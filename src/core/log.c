/* JSON-lines logger: one write(2) per line so concurrent lines never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "icegate/buf.h"
#include "icegate/log.h"
#include "icegate/time.h"

static int g_level = IG_LOG_INFO;
static int g_fd = 1;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int ig_log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i <= IG_LOG_OFF; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return IG_LOG_WARN;
    return -1;
}

const char *ig_log_level_name(int level)
{
    return (level >= 0 && level <= IG_LOG_OFF) ? level_names[level] : "unknown";
}

void ig_log_set_level(int level)
{
    g_level = level;
}

int ig_log_get_level(void)
{
    return g_level;
}

void ig_log_set_fd(int fd)
{
    g_fd = fd;
}

/* Builds the line in a stack buffer-backed ig_buf capped at 16 KiB; longer values are cut. */
static void emit(int level, const char *msg, va_list *kv)
{
    char ts[40];
    ig_time_format_rfc3339(ig_now_ns(), 6, ts, sizeof ts);
    ig_buf b;
    ig_buf_init(&b, 16 * 1024);
    ig_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, ig_log_level_name(level));
    ig_buf_json_str(&b, ig_str_from(msg));
    if (kv) {
        const char *k;
        while ((k = va_arg(*kv, const char *)) != NULL) {
            const char *v = va_arg(*kv, const char *);
            ig_buf_putc(&b, ',');
            ig_buf_json_str(&b, ig_str_from(k));
            ig_buf_putc(&b, ':');
            ig_buf_json_str(&b, ig_str_from(v ? v : ""));
        }
    }
    if (ig_buf_append(&b, "}\n", 2) != 0 && b.data) {
        /* Cut: close what we have so the line is still one JSON object. */
        b.len = b.len > 64 ? b.len - 64 : 0;
        ig_buf_append_cstr(&b, "\",\"truncated\":\"true\"}\n");
    }
    if (b.data) {
        ssize_t off = 0;
        while ((size_t)off < b.len) {
            ssize_t w = write(g_fd, b.data + off, b.len - (size_t)off);
            if (w <= 0)
                break;
            off += w;
        }
    }
    ig_buf_free(&b);
}

void ig_log(int level, const char *msg, ...)
{
    if (level < g_level)
        return;
    va_list ap;
    va_start(ap, msg);
    emit(level, msg, &ap);
    va_end(ap);
}

void ig_logf(int level, const char *fmt, ...)
{
    if (level < g_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, msg, NULL);
}
