/* Cheap exact-enough math for the hot path: exponential time decay and log
 * ratios of nearby prices.
 *
 * All decayed sums of one group share a last-update time, so moving a group
 * to a new time costs one short series per time constant. */
#ifndef CSCALP_UTIL_FASTMATH_H
#define CSCALP_UTIL_FASTMATH_H

#include <math.h>
#include <stdint.h>

/* exp(-y) for 0 <= y < 0.125 by its Taylor series to y^11 (truncation below
 * 0.125^12/12!, about 1e-20), in Estrin's form so the multiplications run in
 * parallel rather than as one long dependent chain. */
static inline double cscalp_exp_neg_small(double y)
{
    const double z = -y;
    const double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    const double p01 = 1.0 + z;
    const double p23 = 1.0 / 2 + z * (1.0 / 6);
    const double p45 = 1.0 / 24 + z * (1.0 / 120);
    const double p67 = 1.0 / 720 + z * (1.0 / 5040);
    const double p89 = 1.0 / 40320 + z * (1.0 / 362880);
    const double pab = 1.0 / 3628800 + z * (1.0 / 39916800);
    return (p01 + z2 * p23) + z4 * (p45 + z2 * p67) + z8 * (p89 + z2 * pab);
}

/* exp(-dt_ns / tau_s), for dt_ns >= 0. Events are usually micro- to
 * milliseconds apart, where the series is exact in double and several times
 * cheaper than exp(). */
static inline double cscalp_decay_factor(int64_t dt_ns, double tau_s)
{
    const double y = (double)dt_ns * 1e-9 / tau_s;
    return y < 0.125 ? cscalp_exp_neg_small(y) : exp(-y);
}

/* ln(a / b) for positive a, b, as log1p of the relative difference (log(a/b)
 * would lose digits when a/b rounds near 1). Consecutive mids differ by well
 * under 0.1 %, where the 6-term series is exact in double; larger moves take
 * log1p(). */
static inline double cscalp_log_ratio(double a, double b)
{
    const double x = (a - b) / b;
    if (fabs(x) < 1e-3)
        return x * (1.0 - x * (0.5 - x * (1.0 / 3.0 - x * (0.25 - x * (0.2 - x * (1.0 / 6.0))))));
    return log1p(x);
}

#endif
