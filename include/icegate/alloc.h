/* The one allocation wrapper. Every heap allocation in IceGate goes through these
 * functions, so that usage can be counted and failures injected in tests.
 *
 * Out-of-memory policy: code that handles requests returns IG_ENOMEM up to the
 * request boundary, which answers 503/500 for that request only; start-up code may
 * treat failure as fatal. */
#ifndef ICEGATE_ALLOC_H
#define ICEGATE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Like malloc/calloc/realloc/free/strdup; return NULL on failure (or injected failure).
 * ig_malloc(0) returns a unique non-NULL pointer. The caller owns the result. */
void *ig_malloc(size_t n);
void *ig_calloc(size_t count, size_t size);
void *ig_realloc(void *p, size_t n);
void ig_free(void *p);
char *ig_strdup(const char *s);
char *ig_strndup(const char *s, size_t n);

/* Failure injection (tests): the next `after` allocations succeed, then every
 * following one fails until ig_alloc_fail_reset(). after < 0 disables injection. */
void ig_alloc_fail_after(long after);
void ig_alloc_fail_reset(void);

/* Number of allocation calls made so far (successful or not) and the number of
 * currently live blocks, for tests and /metrics. */
uint64_t ig_alloc_calls(void);
int64_t ig_alloc_live_blocks(void);

/* Overflow-checked size arithmetic: return 0 and store the result, or IG_ERANGE. */
int ig_size_mul(size_t a, size_t b, size_t *out);
int ig_size_add(size_t a, size_t b, size_t *out);

#endif
