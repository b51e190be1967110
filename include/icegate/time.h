/* Time parsing and formatting. Internally time is int64 nanoseconds since the Unix
 * epoch (UTC) unless a name says otherwise; durations are int64 nanoseconds. */
#ifndef ICEGATE_TIME_H
#define ICEGATE_TIME_H

#include <stddef.h>
#include <stdint.h>
#include "icegate/buf.h"

#define IG_NS_PER_US 1000LL
#define IG_NS_PER_MS 1000000LL
#define IG_NS_PER_S 1000000000LL

/* Wall clock and monotonic clock, in ns. */
int64_t ig_now_ns(void);
int64_t ig_mono_ns(void);

/* RFC 3339 with optional fraction (up to 9 digits) and a zone `Z` or `±hh:mm`,
 * e.g. "2026-12-03T18:00:00Z", "2026-12-03T18:00:00.123456789+01:00".
 * IG_EINVAL if malformed, IG_ERANGE if outside the int64 ns range. */
int ig_time_parse_rfc3339(ig_str s, int64_t *ns);
/* Formats ns as RFC 3339 in UTC. frac_digits: 0 (seconds), 3, 6, 9, or -1 for
 * RFC3339Nano style (fraction with trailing zeros removed, as Go's time.RFC3339Nano).
 * buf needs at least 36 bytes. Returns the length written. */
size_t ig_time_format_rfc3339(int64_t ns, int frac_digits, char *buf, size_t bufsz);

/* Unix seconds with an optional fraction ("1700000000", "1700000000.123"). */
int ig_time_parse_unix_seconds(ig_str s, int64_t *ns);

/* A timestamp as the Loki API accepts it: a string containing '.' that parses as a
 * float is Unix seconds (fraction rounded to milliseconds); an integer of at most 10
 * characters is Unix seconds, a longer one Unix nanoseconds; otherwise RFC 3339 (Nano). */
int ig_time_parse_loki(ig_str s, int64_t *ns);
/* A timestamp as the Prometheus API accepts it: Unix seconds with optional fraction, or RFC 3339. */
int ig_time_parse_prom(ig_str s, int64_t *ns);

/* Prometheus/Loki-style durations: a sequence of <number><unit> with units
 * y, w, d, h, m, s, ms, us, µs, ns ("1h30m", "250ms", "1.5h" is accepted as Go's
 * time.ParseDuration does). A leading '-' is accepted when allow_negative. */
int ig_duration_parse(ig_str s, int allow_negative, int64_t *ns);
/* Formats a duration the way Prometheus does ("1h30m", "250ms", "0s"). buf >= 32. */
size_t ig_duration_format(int64_t ns, char *buf, size_t bufsz);

/* Days since the epoch for a time (floor), and the civil date of a day number. */
int64_t ig_days_from_ns(int64_t ns);
void ig_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);
int64_t ig_days_from_civil(int y, unsigned m, unsigned d);

#endif
