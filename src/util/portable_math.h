/* exp and log computed the same way on every platform, for results that must
 * be reproducible bit for bit from a seed (the synthetic market of
 * cryptoscalp_sim.h). libm's exp and log are allowed to differ by an ulp
 * between implementations (glibc, musl, Apple, MSVC); these use only + - * /
 * in a fixed order and the exact functions frexp, ldexp and floor, so IEEE
 * double arithmetic gives the same bits everywhere. About 1 ulp from the
 * true value, which is all their users need.
 *
 * The order must not be changed by the compiler either: a fused
 * multiply-add rounds once where the source rounds twice. GCC contracts
 * only in GNU modes (the project builds as ISO C11: -ffp-contract=off);
 * clang contracts within an expression unless told not to, hence the
 * pragma, which holds from here to the end of the including file.
 * Targets that compute double in extended precision (FLT_EVAL_METHOD != 0,
 * i386 without SSE2) give other bits. */
#ifndef CSCALP_UTIL_PORTABLE_MATH_H
#define CSCALP_UTIL_PORTABLE_MATH_H

#include <math.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ln 2 split so that k * LN2_HI is exact for |k| < 2^20 (fdlibm's split). */
#define CSCALP_PM_LN2_HI 6.93147180369123816490e-01
#define CSCALP_PM_LN2_LO 1.90821492927058770002e-10
#define CSCALP_PM_INV_LN2 1.44269504088896338700e+00

/* Natural log of a positive finite x (subnormals included), as fdlibm
 * computes it: x = m 2^e with m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f / (2 + f);
 * ln m = 2 atanh(s) = f - (f^2/2 - s (f^2/2 + R)), R = 2s^2/3 + 2s^4/5 + ...
 * (|s| <= 0.1716: ten terms reach 2^-53), so the large term f is exact and
 * only the small correction is rounded. */
static inline double cscalp_pm_log(double x)
{
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    const double f = m - 1.0; /* exact (Sterbenz) */
    const double s = f / (2.0 + f);
    const double z = s * s;
    double r = 2.0 / 21.0;
    r = 2.0 / 19.0 + z * r;
    r = 2.0 / 17.0 + z * r;
    r = 2.0 / 15.0 + z * r;
    r = 2.0 / 13.0 + z * r;
    r = 2.0 / 11.0 + z * r;
    r = 2.0 / 9.0 + z * r;
    r = 2.0 / 7.0 + z * r;
    r = 2.0 / 5.0 + z * r;
    r = 2.0 / 3.0 + z * r;
    r *= z;
    const double hfsq = 0.5 * f * f;
    const double k = (double)e;
    return k * CSCALP_PM_LN2_HI - ((hfsq - (s * (hfsq + r) + k * CSCALP_PM_LN2_LO)) - f);
}

/* e^x for |x| <= 700. x = k ln 2 + r with |r| <= ln2/2 (Cody-Waite), e^r by
 * its Taylor series to r^13 (the rest is under 5e-18), then scaled by 2^k. */
static inline double cscalp_pm_exp(double x)
{
    const double k = floor(x * CSCALP_PM_INV_LN2 + 0.5);
    const double r = (x - k * CSCALP_PM_LN2_HI) - k * CSCALP_PM_LN2_LO;
    double p = 1.0 / 6227020800.0; /* 1/13! */
    p = 1.0 / 479001600.0 + r * p;
    p = 1.0 / 39916800.0 + r * p;
    p = 1.0 / 3628800.0 + r * p;
    p = 1.0 / 362880.0 + r * p;
    p = 1.0 / 40320.0 + r * p;
    p = 1.0 / 5040.0 + r * p;
    p = 1.0 / 720.0 + r * p;
    p = 1.0 / 120.0 + r * p;
    p = 1.0 / 24.0 + r * p;
    p = 1.0 / 6.0 + r * p;
    p = 0.5 + r * p;
    p = 1.0 + r * p;
    p = 1.0 + r * p;
    return ldexp(p, (int)k);
}

#endif
