/* Position and PnL ledger: see ledger.h and docs/risk.md ("Positions and
 * PnL"). */
#include "risk/ledger.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The rounding error of s = fl(a + b), exactly (Neumaier's branch picks the
 * operand order that makes the subtraction exact). */
static double two_sum_err(double a, double b, double s)
{
    return fabs(a) >= fabs(b) ? (a - s) + b : (b - s) + a;
}

/* (hi, lo) + x, renormalised so that fl(hi + lo) == hi: the error of each
 * addition is carried in lo instead of lost, and the pair never holds more
 * in lo than half an ulp of hi, which load can check. */
static cscalp_ledger_sum sum_add(cscalp_ledger_sum a, double x)
{
    const double t = a.hi + x;
    const double lo = a.lo + two_sum_err(a.hi, x, t);
    cscalp_ledger_sum r;
    r.hi = t + lo;
    r.lo = two_sum_err(t, lo, r.hi);
    return r;
}

static int sum_finite(cscalp_ledger_sum s) { return isfinite(s.hi) && isfinite(s.lo); }

static int state_finite(const cscalp_ledger *l)
{
    return isfinite(l->position) && isfinite(l->entry_price) && sum_finite(l->realised) &&
           sum_finite(l->fees) && sum_finite(l->funding) && sum_finite(l->turnover);
}

void cscalp_ledger_init(cscalp_ledger *l) { memset(l, 0, sizeof *l); }

double cscalp_ledger_fee(double price, double size, double rate_bps)
{
    /* Divided by 10⁴ (exact) rather than times 1e-4 (not a binary
     * fraction), so fees carry no systematic bias into the totals. */
    return price * size * rate_bps / 1e4;
}

int cscalp_ledger_apply_fill(cscalp_ledger *l, int side, double price, double size, double fee,
                             cscalp_ledger_fill *out)
{
    if (side != CSCALP_SIDE_BUY && side != CSCALP_SIDE_SELL)
        return CSCALP_ESIDE;
    if (!isfinite(price) || !isfinite(size) || !isfinite(fee))
        return CSCALP_ENONFINITE;
    if (!(price > 0.0))
        return CSCALP_EPRICE;
    if (!(size > 0.0))
        return CSCALP_ESIZE;
    const double signed_size = side > 0 ? size : -size;
    const double pos = l->position, held = fabs(pos), entry = l->entry_price;
    cscalp_ledger n = *l;
    cscalp_ledger_fill f = {0.0, 0.0, size};
    if (pos == 0.0 || (pos > 0.0) == (side > 0)) {
        n.position = pos + signed_size;
        /* E + (p − E)·w rather than (|P|·E + s·p)/(|P| + s): one rounding
         * on top of E, and the result stays between E and p. */
        n.entry_price = pos == 0.0 ? price : entry + (price - entry) * (size / (held + size));
    } else {
        if (fabs(size - held) <= CSCALP_LEDGER_CLOSE_REL * fmax(size, held)) {
            f.closed = held;
            f.opened = 0.0;
            n.position = 0.0;
            n.entry_price = 0.0;
        } else if (size < held) {
            f.closed = size;
            f.opened = 0.0;
            n.position = pos + signed_size;
        } else {
            f.closed = held;
            f.opened = size - held;
            n.position = side > 0 ? f.opened : -f.opened;
            n.entry_price = price;
            n.flips++;
        }
        f.realised = (price - entry) * f.closed * (pos > 0.0 ? 1.0 : -1.0);
        n.realised = sum_add(n.realised, f.realised);
    }
    n.fees = sum_add(n.fees, fee);
    n.turnover = sum_add(n.turnover, price * size);
    n.fills++;
    if (!isfinite(f.realised) || !state_finite(&n))
        return CSCALP_ENONFINITE;
    *l = n;
    if (out != NULL)
        *out = f;
    return CSCALP_OK;
}

int cscalp_ledger_apply_funding(cscalp_ledger *l, double rate, double mark_price, double *payment)
{
    if (!isfinite(rate) || !isfinite(mark_price))
        return CSCALP_ENONFINITE;
    if (!(mark_price > 0.0))
        return CSCALP_EPRICE;
    double pay = l->position * mark_price * rate;
    if (pay == 0.0)
        pay = 0.0; /* no −0 from a flat position and a negative rate */
    const cscalp_ledger_sum total = sum_add(l->funding, pay);
    if (!isfinite(pay) || !sum_finite(total))
        return CSCALP_ENONFINITE;
    l->funding = total;
    l->fundings++;
    if (payment != NULL)
        *payment = pay;
    return CSCALP_OK;
}

int cscalp_ledger_set_position(cscalp_ledger *l, double position, double entry_price,
                               double *difference)
{
    if (!isfinite(position) || !isfinite(entry_price))
        return CSCALP_ENONFINITE;
    if (position != 0.0 && !(entry_price > 0.0))
        return CSCALP_EPRICE;
    double diff = position - l->position;
    if (!isfinite(diff))
        return CSCALP_ENONFINITE;
    if (diff == 0.0)
        diff = 0.0;
    if (position == 0.0) {
        l->position = 0.0;
        l->entry_price = 0.0;
    } else {
        l->position = position;
        l->entry_price = entry_price;
    }
    l->resyncs++;
    if (difference != NULL)
        *difference = diff;
    return CSCALP_OK;
}

double cscalp_ledger_position(const cscalp_ledger *l) { return l->position; }

double cscalp_ledger_entry_price(const cscalp_ledger *l) { return l->entry_price; }

double cscalp_ledger_realised(const cscalp_ledger *l) { return l->realised.hi; }

double cscalp_ledger_fees(const cscalp_ledger *l) { return l->fees.hi; }

double cscalp_ledger_funding(const cscalp_ledger *l) { return l->funding.hi; }

double cscalp_ledger_turnover(const cscalp_ledger *l) { return l->turnover.hi; }

double cscalp_ledger_unrealised(const cscalp_ledger *l, double mark_price)
{
    if (l->position == 0.0)
        return 0.0;
    return l->position * (mark_price - l->entry_price);
}

double cscalp_ledger_notional(const cscalp_ledger *l, double mark_price)
{
    if (l->position == 0.0)
        return 0.0;
    return fabs(l->position) * mark_price;
}

double cscalp_ledger_equity(const cscalp_ledger *l, double wallet_start, double mark_price)
{
    /* The low parts go in too: the money totals are summed as the pairs
     * they are before the one rounding to double. */
    cscalp_ledger_sum net = {wallet_start, 0.0};
    net = sum_add(net, l->realised.hi);
    net = sum_add(net, l->realised.lo);
    net = sum_add(net, -l->fees.hi);
    net = sum_add(net, -l->fees.lo);
    net = sum_add(net, -l->funding.hi);
    net = sum_add(net, -l->funding.lo);
    net = sum_add(net, cscalp_ledger_unrealised(l, mark_price));
    return net.hi;
}

/* One total: finite and normalised (what sum_add leaves). */
static int check_sum(cscalp_ledger_sum s, const char *name, char *why, size_t cap)
{
    if (!sum_finite(s)) {
        snprintf(why, cap, "%s is not finite", name);
        return 0;
    }
    if (s.hi + s.lo != s.hi) {
        snprintf(why, cap, "%s: compensation %.17g is not below half an ulp of %.17g", name, s.lo,
                 s.hi);
        return 0;
    }
    return 1;
}

int cscalp_ledger_check(const cscalp_ledger *l, char *why, size_t cap)
{
    if (!isfinite(l->position)) {
        snprintf(why, cap, "position is not finite");
        return CSCALP_ECORRUPT;
    }
    if (!isfinite(l->entry_price)) {
        snprintf(why, cap, "entry price is not finite");
        return CSCALP_ECORRUPT;
    }
    if (!check_sum(l->realised, "realised PnL", why, cap) ||
        !check_sum(l->fees, "fees", why, cap) || !check_sum(l->funding, "funding", why, cap) ||
        !check_sum(l->turnover, "turnover", why, cap))
        return CSCALP_ECORRUPT;
    if (l->position == 0.0) {
        if (signbit(l->position)) {
            snprintf(why, cap, "position is -0 (flat is stored as +0)");
            return CSCALP_ECORRUPT;
        }
        if (l->entry_price != 0.0 || signbit(l->entry_price)) {
            snprintf(why, cap, "flat but the entry price is %.17g (must be 0)", l->entry_price);
            return CSCALP_ECORRUPT;
        }
    } else if (!(l->entry_price > 0.0)) {
        snprintf(why, cap, "position %.17g with entry price %.17g (must be > 0)", l->position,
                 l->entry_price);
        return CSCALP_ECORRUPT;
    }
    if (l->turnover.hi < 0.0) {
        snprintf(why, cap, "turnover %.17g is negative", l->turnover.hi);
        return CSCALP_ECORRUPT;
    }
    if (l->flips > l->fills) {
        snprintf(why, cap, "%llu flips but only %llu fills", (unsigned long long)l->flips,
                 (unsigned long long)l->fills);
        return CSCALP_ECORRUPT;
    }
    if (l->fills == 0 && (l->realised.hi != 0.0 || l->realised.lo != 0.0 || l->fees.hi != 0.0 ||
                          l->fees.lo != 0.0 || l->turnover.hi != 0.0 || l->turnover.lo != 0.0)) {
        snprintf(why, cap, "no fills but non-zero realised PnL, fees or turnover");
        return CSCALP_ECORRUPT;
    }
    return CSCALP_OK;
}

/* Layout: position, entry price, then hi and lo of realised, fees,
 * funding, turnover (f64); fills, flips, fundings, resyncs (u64). */
static void put_sum(cscalp_wbuf *w, cscalp_ledger_sum s)
{
    cscalp_put_f64(w, s.hi);
    cscalp_put_f64(w, s.lo);
}

static cscalp_ledger_sum get_sum(cscalp_rbuf *r)
{
    cscalp_ledger_sum s;
    s.hi = cscalp_get_f64(r);
    s.lo = cscalp_get_f64(r);
    return s;
}

void cscalp_ledger_save(const cscalp_ledger *l, cscalp_wbuf *w)
{
    cscalp_put_f64(w, l->position);
    cscalp_put_f64(w, l->entry_price);
    put_sum(w, l->realised);
    put_sum(w, l->fees);
    put_sum(w, l->funding);
    put_sum(w, l->turnover);
    cscalp_put_u64(w, l->fills);
    cscalp_put_u64(w, l->flips);
    cscalp_put_u64(w, l->fundings);
    cscalp_put_u64(w, l->resyncs);
}

int cscalp_ledger_load(cscalp_ledger *l, cscalp_rbuf *r, char *why, size_t cap)
{
    cscalp_ledger n;
    n.position = cscalp_get_f64(r);
    n.entry_price = cscalp_get_f64(r);
    n.realised = get_sum(r);
    n.fees = get_sum(r);
    n.funding = get_sum(r);
    n.turnover = get_sum(r);
    n.fills = cscalp_get_u64(r);
    n.flips = cscalp_get_u64(r);
    n.fundings = cscalp_get_u64(r);
    n.resyncs = cscalp_get_u64(r);
    if (r->failed) {
        snprintf(why, cap, "ledger: truncated");
        return CSCALP_ECORRUPT;
    }
    char detail[160];
    if (cscalp_ledger_check(&n, detail, sizeof detail) != CSCALP_OK) {
        snprintf(why, cap, "ledger: %s", detail);
        return CSCALP_ECORRUPT;
    }
    *l = n;
    return CSCALP_OK;
}
