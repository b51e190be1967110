/* JSON-lines logger. Every line is one JSON object on stdout:
 *   {"ts":"2026-12-03T18:00:00.123456Z","level":"info","msg":"...","key":"value",...}
 * Thread-safe (one write(2) per line). The level is set once at start-up. */
#ifndef ICEGATE_LOG_H
#define ICEGATE_LOG_H

enum { IG_LOG_DEBUG = 0, IG_LOG_INFO = 1, IG_LOG_WARN = 2, IG_LOG_ERROR = 3, IG_LOG_OFF = 4 };

/* Parses "debug", "info", "warn"/"warning", "error", "off"; returns the level or -1. */
int ig_log_level_parse(const char *s);
const char *ig_log_level_name(int level);
void ig_log_set_level(int level);
int ig_log_get_level(void);
/* Redirects output to fd (default 1). For tests. */
void ig_log_set_fd(int fd);

/* Logs msg with key/value string pairs, terminated by NULL:
 *   ig_log(IG_LOG_INFO, "listening", "listener", "loki", "port", "3100", NULL); */
void ig_log(int level, const char *msg, ...) __attribute__((sentinel));
/* Logs a printf-formatted message with no extra fields. */
void ig_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
