/* Schema internals shared by schema.c and the reader. */
#ifndef ICEGATE_PQ_SCHEMA_H
#define ICEGATE_PQ_SCHEMA_H

#include "icegate/parquet.h"

/* Allocates a schema with nnodes zeroed nodes (arena cap arena_cap, 0 = none). */
int pq__schema_new(pq_schema **out, size_t nnodes, size_t arena_cap);
/* Given nodes with name, repetition, phys, type_length, nchildren set in depth-first
 * order, derives parents, children, levels and leaf columns; rejects inconsistent
 * child counts and nesting deeper than 64. */
int pq__schema_finalize(pq_schema *s, ig_errbuf *eb);

#endif
