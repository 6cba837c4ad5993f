/* Online normaliser: exponentially weighted mean and variance per feature,
 * clipped z-scores. Definition in docs/features.md ("Online normalisation"). */
#ifndef CSCALP_FEATURES_NORMALIZER_H
#define CSCALP_FEATURES_NORMALIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct cscalp_normalizer {
    size_t width;      /* number of values per sample */
    double alpha;      /* weight of a new sample, in (0, 1] */
    double z_clip;     /* |z| is clipped to this */
    uint64_t warmup;   /* z is 0 until this many samples */
    uint64_t samples;  /* samples taken so far */
    double *mean;      /* width values, caller-owned storage */
    double *var;       /* width values, caller-owned storage */
    double *sd;        /* sqrt(var), kept with var: apply runs per inference,
                          var moves once per normalisation step */
} cscalp_normalizer;

/* alpha of an update every interval_s under half-life half_life_s:
 * 1 - 2^(-interval/half_life). */
double cscalp_normalizer_alpha(double interval_s, double half_life_s);

/* Bind storage (3 * width doubles, zeroed) and parameters; no allocation. */
void cscalp_normalizer_init(cscalp_normalizer *n, size_t width, double *mean,
                            double *var, double *sd, double alpha, double z_clip,
                            uint64_t warmup);

/* Recompute sd from var (after var was written directly: a checkpoint). */
void cscalp_normalizer_refresh(cscalp_normalizer *n);

/* One sample: the first sets mean = x, var = 0; later ones apply the
 * exponentially weighted update. */
void cscalp_normalizer_update(cscalp_normalizer *n, const double *x);

/* z-scores of x under the current statistics (0 during warm-up or where the
 * variance is 0). */
void cscalp_normalizer_apply(const cscalp_normalizer *n, const double *x,
                             double *z);

#endif
