/* Rounding onto a price or size grid (tick, lot), shared by the policy and
 * the risk desk so both put orders on the same grid points. */
#ifndef CSCALP_UTIL_GRID_H
#define CSCALP_UTIL_GRID_H

#include <math.h>

/* Down to the grid, with a little room for a value that is on it but came
 * out a hair below (0.3 / 0.1 = 2.9999999999999996) — and never above v:
 * a limit checked without tolerance must still hold for the result. */
static inline double cscalp_grid_floor(double v, double step)
{
    const double r = floor(v / step + 1e-9) * step;
    return r > v ? v : r;
}

/* Up to the grid, never below v. */
static inline double cscalp_grid_ceil(double v, double step)
{
    const double r = ceil(v / step - 1e-9) * step;
    return r < v ? v : r;
}

#endif
