#include "features/normalizer.h"

#include <math.h>
#include <string.h>

double cscalp_normalizer_alpha(double interval_s, double half_life_s)
{
    return 1.0 - exp2(-interval_s / half_life_s);
}

void cscalp_normalizer_init(cscalp_normalizer *n, size_t width, double *mean,
                            double *var, double *sd, double alpha, double z_clip,
                            uint64_t warmup)
{
    n->width = width;
    n->mean = mean;
    n->var = var;
    n->sd = sd;
    n->alpha = alpha;
    n->z_clip = z_clip;
    n->warmup = warmup;
    n->samples = 0;
    memset(mean, 0, width * sizeof *mean);
    memset(var, 0, width * sizeof *var);
    memset(sd, 0, width * sizeof *sd);
}

void cscalp_normalizer_refresh(cscalp_normalizer *n)
{
    for (size_t k = 0; k < n->width; k++)
        n->sd[k] = n->var[k] > 0.0 ? sqrt(n->var[k]) : 0.0;
}

void cscalp_normalizer_update(cscalp_normalizer *n, const double *x)
{
    if (n->samples == 0) {
        memcpy(n->mean, x, n->width * sizeof *x);
        memset(n->var, 0, n->width * sizeof *n->var);
    } else {
        const double a = n->alpha;
        for (size_t k = 0; k < n->width; k++) {
            const double delta = x[k] - n->mean[k];
            n->mean[k] += a * delta;
            /* West's exponentially weighted variance: stays exactly 0 for a
             * constant input, so a constant feature gives z = 0, not noise. */
            n->var[k] = (1.0 - a) * (n->var[k] + a * delta * delta);
        }
    }
    cscalp_normalizer_refresh(n);
    n->samples++;
}

void cscalp_normalizer_apply(const cscalp_normalizer *n, const double *x,
                             double *z)
{
    const int warm = n->samples >= n->warmup && n->samples > 0;
    for (size_t k = 0; k < n->width; k++) {
        double v = 0.0;
        if (warm && n->var[k] > 0.0) {
            v = (x[k] - n->mean[k]) / n->sd[k]; /* sd = sqrt(var): same bits */
            if (v > n->z_clip)
                v = n->z_clip;
            else if (v < -n->z_clip)
                v = -n->z_clip;
        }
        z[k] = v;
    }
}
