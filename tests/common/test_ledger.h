/* An independent position ledger for tests (docs/risk.md, "Positions and
 * PnL"): average-cost position, realised PnL, fees and funding recomputed
 * from the fills a test host reported, so the engine's cscalp_get_position
 * can be compared with something it did not compute itself. Shared by the
 * decision suites (tests/decide) and the soak (tests/health). */
#ifndef CSCALP_TEST_LEDGER_H
#define CSCALP_TEST_LEDGER_H

#include <math.h>
#include <stdint.h>

typedef struct tu_ledger {
    double pos, entry;
    long double realised, fees, funding; /* long double: the reference must
                                            not drift over 10^4 fills */
    uint64_t fills;
} tu_ledger;

static inline void tu_ledger_fill(tu_ledger *l, int side, double q, double p, double fee)
{
    l->fees += fee;
    l->fills++;
    const double P = l->pos;
    if (P == 0.0 || (P > 0.0) == (side > 0)) {
        const double a = fabs(P);
        l->entry = (a * l->entry + q * p) / (a + q);
        l->pos = P + side * q;
        return;
    }
    const double a = fabs(P), sp = P > 0.0 ? 1.0 : -1.0;
    if (fabs(q - a) <= 1e-9 * a) { /* the documented rounding close */
        l->realised += (long double)((p - l->entry) * a * sp);
        l->pos = 0.0;
        l->entry = 0.0;
    } else if (q < a) {
        l->realised += (long double)((p - l->entry) * q * sp);
        l->pos = P + side * q;
    } else { /* flip: close at the entry, open the rest at the fill price */
        l->realised += (long double)((p - l->entry) * a * sp);
        l->pos = side * (q - a);
        l->entry = p;
    }
}

static inline double tu_ledger_equity(const tu_ledger *l, double initial, double mark)
{
    return (double)((long double)initial + l->realised - l->fees - l->funding) +
           (l->pos != 0.0 ? l->pos * (mark - l->entry) : 0.0);
}

#endif
