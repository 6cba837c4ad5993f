/* Helpers shared by the tests/learn suites: a test-side random generator
 * (splitmix64, independent of src/util/rng.c), a counting allocator that
 * can fail at the k-th call, and the Check runner. Header-only (static
 * inline) so each test is one translation unit. */
#ifndef CSCALP_TESTS_LEARN_UTIL_H
#define CSCALP_TESTS_LEARN_UTIL_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "cryptoscalp.h"

typedef struct lt_rng {
    uint64_t s;
} lt_rng;

static inline uint64_t lt_next(lt_rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* [0, 1) with 53 random bits. */
static inline double lt_uniform(lt_rng *g) { return (double)(lt_next(g) >> 11) * 0x1p-53; }

static inline int lt_int(lt_rng *g, int n) { return (int)(lt_next(g) % (uint64_t)n); }

/* Allocator that counts live blocks and fails the fail_at-th call (0 =
 * never). */
typedef struct lt_alloc {
    long calls, live, fail_at;
} lt_alloc;

static inline void *lt_alloc_fn(void *opaque, size_t size)
{
    lt_alloc *st = opaque;
    if (++st->calls == st->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        st->live++;
    return p;
}

static inline void lt_free_fn(void *opaque, void *ptr)
{
    lt_alloc *st = opaque;
    if (ptr == NULL)
        return;
    st->live--;
    free(ptr);
}

static inline cscalp_allocator lt_allocator(lt_alloc *st)
{
    cscalp_allocator a = {lt_alloc_fn, lt_free_fn, st};
    return a;
}

static inline int lt_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
