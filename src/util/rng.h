/* Portable seeded random numbers: xoshiro256** (Blackman & Vigna) seeded
 * through splitmix64, so a seed gives the same sequence on every platform.
 * Used wherever a result must be reproducible from config (weight init,
 * replay sampling); never for anything secret. */
#ifndef CSCALP_UTIL_RNG_H
#define CSCALP_UTIL_RNG_H

#include <stdint.h>

typedef struct cscalp_rng {
    uint64_t s[4];
} cscalp_rng;

void cscalp_rng_seed(cscalp_rng *r, uint64_t seed);
uint64_t cscalp_rng_next(cscalp_rng *r);
/* Uniform in [0, 1) with 24 random bits: exact in float. */
float cscalp_rng_uniform_f(cscalp_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double cscalp_rng_uniform_d(cscalp_rng *r);
/* Uniform integer in [0, n) for n > 0 (unbiased). */
uint64_t cscalp_rng_below(cscalp_rng *r, uint64_t n);

#endif
