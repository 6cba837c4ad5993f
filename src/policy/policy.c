#include "policy/policy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/grid.h"

int cscalp_policy_params_check(const cscalp_policy_params *p, char *why, size_t cap)
{
#define NEED(cond, ...)                                                         \
    do {                                                                        \
        if (!(cond)) {                                                          \
            snprintf(why, cap, __VA_ARGS__);                                    \
            return CSCALP_ECONFIG_RANGE;                                        \
        }                                                                       \
    } while (0)
    NEED(isfinite(p->taker_fee_bps) && p->taker_fee_bps >= 0, "fees.taker_bps (taker fee): %g bps",
         p->taker_fee_bps);
    NEED(isfinite(p->maker_fee_bps) && p->maker_fee_bps <= p->taker_fee_bps &&
             p->maker_fee_bps > -p->taker_fee_bps - 100,
         "fees.maker_bps (maker fee): %g bps, must be at most fees.taker_bps and above -(fees.taker_bps + 100)", p->maker_fee_bps);
    NEED(isfinite(p->vol_target_bps) && p->vol_target_bps > 0, "policy.vol_target_bps (volatility target): %g bps",
         p->vol_target_bps);
    NEED(isfinite(p->max_position_contracts) && p->max_position_contracts > 0,
         "risk.max_position_contracts (max position): %g contracts", p->max_position_contracts);
    NEED(isfinite(p->liquidation_sigmas) && p->liquidation_sigmas >= 0,
         "policy.liquidation_sigmas (liquidation distance): %g σ", p->liquidation_sigmas);
    NEED(isfinite(p->tick_size) && p->tick_size > 0, "policy.tick_size_quote (tick size): %g", p->tick_size);
    NEED(isfinite(p->lot_size) && p->lot_size > 0, "policy.lot_size_contracts (lot size): %g", p->lot_size);
    NEED(p->order_ttl_ns > 0, "policy.order_ttl_ms (order time-to-live): %lld ns", (long long)p->order_ttl_ns);
    NEED(isfinite(p->reprice_ticks) && p->reprice_ticks >= 0, "policy.reprice_ticks (re-price distance): %g ticks",
         p->reprice_ticks);
    return CSCALP_OK;
#undef NEED
}

/* Largest size in [0, hi] whose isolated liquidation price, with the
 * whole equity as margin and entry at the mid, is at least k σ away. The
 * distance falls as the size grows, so bisection finds it. */
static int far_enough(const cscalp_liq_table *t, int side, double q, double mid,
                      double equity, double sigma_bps, double k)
{
    cscalp_liq_result r;
    double sigmas = 0.0;
    return q <= 0.0 || (cscalp_liq_price(t, side, q, mid, equity, &r) == CSCALP_OK &&
                        cscalp_liq_distance_sigma(&r, mid, sigma_bps, &sigmas) == CSCALP_OK &&
                        sigmas >= k);
}

static double liquidation_cap(const cscalp_liq_table *t, int side, double hi, double mid,
                              double equity, double sigma_bps, double k)
{
    if (far_enough(t, side, hi, mid, equity, sigma_bps, k))
        return hi;
    double lo = 0.0;
    for (int i = 0; i < 60; i++) {
        const double q = 0.5 * (lo + hi);
        if (far_enough(t, side, q, mid, equity, sigma_bps, k))
            lo = q;
        else
            hi = q;
    }
    return lo;
}

static int sign(double v) { return (v > 0) - (v < 0); }

int cscalp_policy_decide(const cscalp_policy_params *p, const cscalp_policy_input *in,
                         cscalp_policy_decision *out)
{
    memset(out, 0, sizeof *out);
    if (!isfinite(in->bid) || !isfinite(in->ask) || !(in->bid > 0) || !(in->ask > in->bid) ||
        !isfinite(in->sigma_bps) || !(in->sigma_bps > 0) || !isfinite(in->expected_move_bps) ||
        !isfinite(in->confidence) || !isfinite(in->position) || !isfinite(in->equity) ||
        (in->working_count > 0 && in->working == NULL))
        return CSCALP_EINVAL;
    const double mid = 0.5 * (in->bid + in->ask);
    const double half_spread_bps = 0.5 * (in->ask - in->bid) / mid * 1e4;
    const double move = fabs(in->expected_move_bps);

    /* Costs of a round trip whose exit may have to cross (it pays the half
     * spread and the taker fee): a passive entry earns the half spread
     * back and pays the maker fee; a crossing one pays both again. */
    out->edge_maker_bps = move - p->maker_fee_bps - p->taker_fee_bps;
    out->edge_taker_bps = move - 2.0 * half_spread_bps - 2.0 * p->taker_fee_bps;
    const double band = in->regime.entry_band_bps;
    const double best = fmax(out->edge_maker_bps, out->edge_taker_bps);
    out->direction = best > band ? sign(in->expected_move_bps) : 0;

    /* Volatility targeting: |q| · mid · σ / 10⁴ = target · equity / 10⁴. */
    const double confidence = fmin(fmax(in->confidence, 0.0), 1.0);
    double size = 0.0;
    if (out->direction != 0 && in->equity > 0)
        size = p->vol_target_bps * in->equity / (in->sigma_bps * mid) * confidence *
               fmax(in->regime.size_factor, 0.0);
    out->target_raw = out->direction * size;
    if (size > p->max_position_contracts) {
        size = p->max_position_contracts;
        out->cap = 1;
    }
    const double by_leverage =
        in->equity > 0 ? fmax(in->regime.max_leverage, 0.0) * in->equity / mid : 0.0;
    if (size > by_leverage) {
        size = by_leverage;
        out->cap = 2;
    }
    if (size > 0 && in->brackets != NULL && p->liquidation_sigmas > 0) {
        const double by_liq = liquidation_cap(in->brackets, out->direction, size, mid,
                                              in->equity, in->sigma_bps, p->liquidation_sigmas);
        if (by_liq < size) {
            size = by_liq;
            out->cap = 3;
        }
    }
    out->target = out->direction * cscalp_grid_floor(size, p->lot_size);

    /* What is wanted: a whole lot at least (within rounding). */
    const double delta = out->target - in->position;
    const int want = fabs(delta) >= p->lot_size * (1.0 - 1e-9) ? sign(delta) : 0;
    /* Through zero in two steps: first close (reduce-only), then open. */
    const int reduces = in->position * want < 0;
    const double need = reduces ? fmin(fabs(delta), fabs(in->position)) : fabs(delta);

    /* Working orders first: one that no longer fits goes — wrong side,
     * more than is needed now (the target shrank), too old, or behind the
     * touch. One already being cancelled is left to its cancel. */
    int working_on_side = 0;
    for (uint32_t i = 0; i < in->working_count; i++) {
        const cscalp_policy_working *w = &in->working[i];
        if (w->side == want)
            working_on_side = 1;
        if (w->cancelling)
            continue;
        int reason = CSCALP_POLICY_NONE;
        if (w->side != want || w->remaining > need + 0.5 * p->lot_size)
            reason = CSCALP_POLICY_STALE;
        else if (in->now_ns - w->created_ns >= p->order_ttl_ns)
            reason = CSCALP_POLICY_TTL;
        else if (w->price > 0 &&
                 (w->side > 0 ? w->price < in->bid - p->reprice_ticks * p->tick_size * (1 + 1e-9)
                              : w->price > in->ask + p->reprice_ticks * p->tick_size * (1 + 1e-9)))
            reason = CSCALP_POLICY_REPRICE;
        if (reason != CSCALP_POLICY_NONE) {
            out->action = CSCALP_POLICY_CANCEL;
            out->reason = reason;
            out->cancel_id = w->id;
            return CSCALP_OK;
        }
    }
    /* One working order on the wanted side at a time: while it works (or
     * is being cancelled), wait. */
    if (want == 0 || working_on_side)
        return CSCALP_OK;
    const double qty = cscalp_grid_floor(need, p->lot_size);
    if (!(qty >= p->lot_size * (1.0 - 1e-9)))
        return CSCALP_OK;
    out->action = CSCALP_POLICY_NEW;
    out->side = want;
    out->size = qty;
    out->reduce_only = reduces;
    out->reason = reduces ? CSCALP_POLICY_EXIT : CSCALP_POLICY_ENTRY;
    /* Cross only when the edge in this direction pays the taker fee. */
    if (out->direction == want && out->edge_taker_bps > band) {
        out->type = CSCALP_POLICY_MARKET;
        out->price = 0.0;
    } else {
        out->type = CSCALP_POLICY_POST_ONLY;
        /* The touch itself when it is on the grid (the venue's own number,
         * not a rounding of it); else the nearest grid price behind it. */
        const double touch = want > 0 ? in->bid : in->ask;
        const double k = touch / p->tick_size;
        out->price = fabs(k - round(k)) < 1e-9 ? touch
                     : want > 0                    ? cscalp_grid_floor(touch, p->tick_size)
                                                   : cscalp_grid_ceil(touch, p->tick_size);
    }
    return CSCALP_OK;
}
