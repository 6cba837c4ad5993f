/* Per-engine memory: every allocation of an engine goes through the host's
 * cscalp_allocator (or malloc/free), so hosts can count, cap or fault-inject. */
#ifndef CSCALP_UTIL_ALLOC_H
#define CSCALP_UTIL_ALLOC_H

#include <stddef.h>

#include "cryptoscalp.h"

/* Fill `out` from `in`, or with malloc/free when `in` is NULL.
 * Returns CSCALP_EINVAL when `in` has a NULL function pointer. */
int cscalp_mem_init(cscalp_allocator *out, const cscalp_allocator *in);

/* Zeroed allocation of n * size bytes; NULL on failure or overflow. */
void *cscalp_mem_calloc(const cscalp_allocator *mem, size_t n, size_t size);

/* NULL-safe release. */
void cscalp_mem_free(const cscalp_allocator *mem, void *ptr);

#endif
