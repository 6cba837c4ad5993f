#include "util/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void cscalp_rng_seed(cscalp_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t cscalp_rng_next(cscalp_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float cscalp_rng_uniform_f(cscalp_rng *r)
{
    return (float)(cscalp_rng_next(r) >> 40) * 0x1.0p-24f;
}

uint64_t cscalp_rng_below(cscalp_rng *r, uint64_t n)
{
    /* Reject the top partial block so every residue is equally likely. */
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = cscalp_rng_next(r);
    while (x >= limit);
    return x % n;
}

double cscalp_rng_uniform_d(cscalp_rng *r)
{
    return (double)(cscalp_rng_next(r) >> 11) * 0x1.0p-53;
}
