/* Helpers shared by the tests/drift suites: a seeded generator written here
 * (splitmix64, independent of src/util/rng.c, so the measured figures in
 * docs/drift.md do not move when the library's generator does), Gaussian
 * and loss-like samples, and the Check runner. Header-only (static inline)
 * so each test is one translation unit. */
#ifndef CSCALP_TESTS_DRIFT_UTIL_H
#define CSCALP_TESTS_DRIFT_UTIL_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* math.h's NAN and INFINITY are floats; the tests work in double. */
#define DT_NAN ((double)NAN)
#define DT_INF ((double)INFINITY)

typedef struct dt_rng {
    uint64_t s;
    int has_spare;
    double spare;
} dt_rng;

static inline dt_rng dt_seed(uint64_t seed)
{
    dt_rng g = {seed, 0, 0.0};
    return g;
}

static inline uint64_t dt_next(dt_rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1] with 53 random bits: never 0, so its log is finite. */
static inline double dt_uniform(dt_rng *g)
{
    return (double)((dt_next(g) >> 11) + 1) * 0x1p-53;
}

static inline uint64_t dt_below(dt_rng *g, uint64_t n) { return dt_next(g) % n; }

/* Standard normal by Box–Muller, both outputs used. */
static inline double dt_normal(dt_rng *g)
{
    if (g->has_spare) {
        g->has_spare = 0;
        return g->spare;
    }
    const double r = sqrt(-2.0 * log(dt_uniform(g)));
    const double t = 6.283185307179586 * dt_uniform(g);
    g->spare = r * sin(t);
    g->has_spare = 1;
    return r * cos(t);
}

static inline int dt_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
