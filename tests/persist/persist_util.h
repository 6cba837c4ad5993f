/* Helpers shared by the tests/persist suites: a test-side random generator
 * (splitmix64, independent of src/util/rng.c), a counting allocator that
 * can fail at the k-th call, and the Check runner. Header-only (static
 * inline) so each test is one translation unit. */
#ifndef CSCALP_TESTS_PERSIST_UTIL_H
#define CSCALP_TESTS_PERSIST_UTIL_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "cryptoscalp.h"

typedef struct pt_rng {
    uint64_t s;
} pt_rng;

static inline uint64_t pt_next(pt_rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline size_t pt_below(pt_rng *g, size_t n) { return (size_t)(pt_next(g) % n); }

/* Allocator that counts live blocks and fails the fail_at-th call (0 =
 * never). */
typedef struct pt_alloc {
    long calls, live, fail_at;
} pt_alloc;

static inline void *pt_alloc_fn(void *opaque, size_t size)
{
    pt_alloc *st = opaque;
    if (++st->calls == st->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        st->live++;
    return p;
}

static inline void pt_free_fn(void *opaque, void *ptr)
{
    pt_alloc *st = opaque;
    if (ptr == NULL)
        return;
    st->live--;
    free(ptr);
}

static inline cscalp_allocator pt_allocator(pt_alloc *st)
{
    cscalp_allocator a = {pt_alloc_fn, pt_free_fn, st};
    return a;
}

static inline int pt_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
