/* Helpers shared by the test suites: a test-side random generator
 * (splitmix64, independent of src/util/rng.c), a counting allocator that
 * can fail at the k-th call, and the Check runner. Header-only (static
 * inline) so each test is one translation unit. */
#ifndef CSCALP_TESTS_TEST_UTIL_H
#define CSCALP_TESTS_TEST_UTIL_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "cryptoscalp.h"

typedef struct tu_rng {
    uint64_t s;
} tu_rng;

static inline uint64_t tu_next(tu_rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* [0, 1) with 53 random bits. */
static inline double tu_uniform(tu_rng *g) { return (double)(tu_next(g) >> 11) * 0x1p-53; }

static inline int tu_int(tu_rng *g, int n) { return (int)(tu_next(g) % (uint64_t)n); }

/* Uniform in [0, n). */
static inline size_t tu_below(tu_rng *g, size_t n) { return (size_t)(tu_next(g) % n); }

/* Allocator that counts live blocks and fails the fail_at-th call (0 =
 * never). */
typedef struct tu_alloc {
    long calls, live, fail_at;
} tu_alloc;

static inline void *tu_alloc_fn(void *opaque, size_t size)
{
    tu_alloc *st = opaque;
    if (++st->calls == st->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        st->live++;
    return p;
}

static inline void tu_free_fn(void *opaque, void *ptr)
{
    tu_alloc *st = opaque;
    if (ptr == NULL)
        return;
    st->live--;
    free(ptr);
}

static inline cscalp_allocator tu_allocator(tu_alloc *st)
{
    cscalp_allocator a = {tu_alloc_fn, tu_free_fn, st};
    return a;
}

static inline int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
