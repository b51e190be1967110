/* Internals shared by the WAL writer and reader (src/wal/). */
#ifndef ICEGATE_WAL_INTERNAL_H
#define ICEGATE_WAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "icegate/tables.h"

/* sizeof the row struct of table t. */
size_t wal__row_size(ig_table_id t);
/* "wal/<table>/<writer>/<seq 20 digits>.parquet" into dst (n >= IG_WAL_KEY_MAX). */
void wal__segment_key(char *dst, size_t n, ig_table_id t, const char *writer, uint64_t seq);

#endif
