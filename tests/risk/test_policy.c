/* The policy stage (src/policy/policy.h, docs/policy.md): worked examples
 * of the edge, the band, volatility targeting and each cap; execution
 * style; the working-order rules (stale, time-to-live, re-price, one per
 * side); going through zero in two steps; and 10⁶ random inputs where
 * every decision respects the caps and the grids. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "test_util.h"

#define S 1000000000LL

static cscalp_policy_params params(void)
{
    cscalp_policy_params p;
    memset(&p, 0, sizeof p);
    p.taker_fee_bps = 5;
    p.maker_fee_bps = 2;
    p.vol_target_bps = 20;
    p.max_position_contracts = 10;
    p.liquidation_sigmas = 0; /* off unless a test turns it on */
    p.tick_size = 0.1;
    p.lot_size = 0.001;
    p.order_ttl_ns = 30 * S;
    p.reprice_ticks = 2;
    return p;
}

/* mid 50 000, spread 1 (0.1 bps half spread), σ 25 bps, equity 100 000 */
static cscalp_policy_input input(double move)
{
    cscalp_policy_input in;
    memset(&in, 0, sizeof in);
    in.expected_move_bps = move;
    in.confidence = 1;
    in.bid = 49999.5;
    in.ask = 50000.5;
    in.sigma_bps = 25;
    in.equity = 100000;
    in.regime.size_factor = 1;
    in.regime.entry_band_bps = 1;
    in.regime.max_leverage = 5;
    return in;
}

static cscalp_policy_decision decide(const cscalp_policy_params *p, const cscalp_policy_input *in)
{
    cscalp_policy_decision d;
    ck_assert_int_eq(cscalp_policy_decide(p, in, &d), CSCALP_OK);
    return d;
}

START_TEST(edge_band_and_volatility_target)
{
    const cscalp_policy_params p = params();
    /* move 10 bps, half spread 0.1 bps: maker edge 10 − 2 − 5 = 3 (the
     * half spread earned on entry is paid back on a crossing exit); taker
     * 10 − 2·0.1 − 2·5 = −0.2 */
    cscalp_policy_input in = input(10);
    cscalp_policy_decision d = decide(&p, &in);
    ck_assert_double_eq_tol(d.edge_maker_bps, 3.0, 1e-9);
    ck_assert_double_eq_tol(d.edge_taker_bps, -0.2, 1e-9);
    ck_assert_int_eq(d.direction, 1);
    /* |q| = 20 · 100 000 / (25 · 50 000) = 1.6 contracts */
    ck_assert_double_eq_tol(d.target_raw, 1.6, 1e-12);
    ck_assert_double_eq_tol(d.target, 1.6, 1e-12);
    ck_assert_int_eq(d.cap, 0);
    /* flat: buy 1.6 post-only at the bid (the taker edge does not pay) */
    ck_assert_int_eq(d.action, CSCALP_POLICY_NEW);
    ck_assert_int_eq(d.reason, CSCALP_POLICY_ENTRY);
    ck_assert_int_eq(d.side, 1);
    ck_assert_int_eq(d.type, CSCALP_POLICY_POST_ONLY);
    ck_assert_double_eq_tol(d.price, 49999.5, 1e-9);
    ck_assert_double_eq_tol(d.size, 1.6, 1e-12);
    ck_assert(!d.reduce_only);
    /* confidence and the regime factor scale it; a wider band stops it */
    in.confidence = 0.5;
    in.regime.size_factor = 0.5;
    ck_assert_double_eq_tol(decide(&p, &in).target, 0.4, 1e-12);
    in.regime.entry_band_bps = 3.1;
    d = decide(&p, &in);
    ck_assert_int_eq(d.direction, 0);
    ck_assert_double_eq(d.target, 0);
    ck_assert_int_eq(d.action, CSCALP_POLICY_HOLD);
    /* move −20: taker edge 20 − 0.2 − 10 = 9.8 > band: sell at market */
    in = input(-20);
    d = decide(&p, &in);
    ck_assert_int_eq(d.direction, -1);
    ck_assert_int_eq(d.side, -1);
    ck_assert_int_eq(d.type, CSCALP_POLICY_MARKET);
    ck_assert_double_eq(d.price, 0);
    /* rounding to the lot: 1.6 · 0.77 = 1.232 */
    in = input(10);
    in.confidence = 0.77;
    ck_assert_double_eq_tol(decide(&p, &in).target, 1.232, 1e-12);
}
END_TEST

START_TEST(each_cap_binds)
{
    cscalp_policy_params p = params();
    cscalp_policy_input in = input(10);
    in.sigma_bps = 2; /* raw 20 contracts */
    cscalp_policy_decision d = decide(&p, &in);
    ck_assert_double_eq_tol(d.target_raw, 20, 1e-9);
    ck_assert_int_eq(d.cap, 1); /* max position 10 */
    ck_assert_double_eq_tol(d.target, 10, 1e-12);
    /* leverage 2: 2 · 100 000 / 50 000 = 4 contracts */
    in.regime.max_leverage = 2;
    d = decide(&p, &in);
    ck_assert_int_eq(d.cap, 2);
    ck_assert_double_eq_tol(d.target, 4, 1e-12);
    /* liquidation: with the whole equity as isolated margin, a long of q at
     * 50 000 is liquidated where 100 000 + q (LP − 50 000) = MM(q·LP); at
     * k = 40 σ of 25 bps (10 %) the cap is where LP = 50 000 · e^−0.1 */
    cscalp_liq_table t;
    cscalp_liq_table_binance_btcusdt(&t);
    p.liquidation_sigmas = 40;
    in = input(10);
    in.sigma_bps = 25;
    in.equity = 10000;
    in.regime.max_leverage = 125;
    p.vol_target_bps = 500; /* raw 4 contracts, 20× */
    in.brackets = &t;
    d = decide(&p, &in);
    ck_assert_int_eq(d.cap, 3);
    ck_assert(d.target > 0 && d.target < 4);
    /* at the target the liquidation price is at least 40 σ away, a lot
     * more would not be */
    cscalp_liq_result r;
    double sig = 0;
    ck_assert_int_eq(cscalp_liq_price(&t, 1, d.target, 50000, 10000, &r), CSCALP_OK);
    ck_assert_int_eq(cscalp_liq_distance_sigma(&r, 50000, 25, &sig), CSCALP_OK);
    ck_assert_msg(sig >= 40, "%g σ at %g contracts", sig, d.target);
    ck_assert_int_eq(cscalp_liq_price(&t, 1, d.target + 2 * p.lot_size, 50000, 10000, &r),
                     CSCALP_OK);
    ck_assert_int_eq(cscalp_liq_distance_sigma(&r, 50000, 25, &sig), CSCALP_OK);
    ck_assert_msg(sig < 40, "%g σ two lots above the cap", sig);
    printf("{\"report\":\"policy_liquidation_cap\",\"target\":%.3f,\"leverage\":%.2f}\n",
           d.target, d.target * 50000 / 10000);
}
END_TEST

START_TEST(working_orders_and_going_through_zero)
{
    const cscalp_policy_params p = params();
    cscalp_policy_input in = input(10); /* target +1.6 */
    cscalp_policy_working w = {7, 1, 49999.5, 1.0, 0, 0};
    in.working = &w;
    in.working_count = 1;
    in.now_ns = 10 * S;
    /* a buy works towards the target: wait, one order per side */
    cscalp_policy_decision d = decide(&p, &in);
    ck_assert_int_eq(d.action, CSCALP_POLICY_HOLD);
    /* the touch moved up 3 ticks: re-price */
    in.bid += 0.3;
    in.ask += 0.3;
    d = decide(&p, &in);
    ck_assert_int_eq(d.action, CSCALP_POLICY_CANCEL);
    ck_assert_int_eq(d.reason, CSCALP_POLICY_REPRICE);
    ck_assert_uint_eq(d.cancel_id, 7);
    in.bid -= 0.3;
    in.ask -= 0.3;
    /* too old */
    in.now_ns = 31 * S;
    d = decide(&p, &in);
    ck_assert_int_eq(d.reason, CSCALP_POLICY_TTL);
    /* the wish turned to selling: the buy is stale */
    in = input(-10);
    in.working = &w;
    in.working_count = 1;
    d = decide(&p, &in);
    ck_assert_int_eq(d.action, CSCALP_POLICY_CANCEL);
    ck_assert_int_eq(d.reason, CSCALP_POLICY_STALE);
    /* the target shrank below what works: the buy of 1.0 goes (0.4 wanted) */
    in = input(10);
    in.confidence = 0.25;
    in.working = &w;
    in.working_count = 1;
    in.now_ns = 0;
    d = decide(&p, &in);
    ck_assert_int_eq(d.action, CSCALP_POLICY_CANCEL);
    ck_assert_int_eq(d.reason, CSCALP_POLICY_STALE);
    /* an order being cancelled is not cancelled again, and blocks its side */
    cscalp_policy_working wc = w;
    wc.cancelling = 1;
    in.working = &wc;
    ck_assert_int_eq(decide(&p, &in).action, CSCALP_POLICY_HOLD);
    /* whole lots within rounding: position 0.9 (0.8 + 0.1) towards 1.0 */
    cscalp_policy_params lots = params();
    lots.lot_size = 0.1;
    lots.max_position_contracts = 1.0;
    in = input(10);
    in.position = 0.8 + 0.1;
    d = decide(&lots, &in);
    ck_assert_int_eq(d.action, CSCALP_POLICY_NEW);
    ck_assert_double_eq_tol(d.size, 0.1, 1e-12);
    /* on the grid but never above a limit: a 0.3 cap stays ≤ 0.3 */
    lots.max_position_contracts = 0.3;
    in.position = 0;
    d = decide(&lots, &in);
    ck_assert(d.target <= 0.3 && d.size <= 0.3);
    ck_assert_double_eq_tol(d.target, 0.3, 1e-12);
    /* long 2, target −1.6: first close 2 (reduce-only, exit) … */
    in = input(-10);
    in.position = 2;
    d = decide(&p, &in);
    ck_assert_int_eq(d.action, CSCALP_POLICY_NEW);
    ck_assert_int_eq(d.side, -1);
    ck_assert_double_eq_tol(d.size, 2, 1e-12);
    ck_assert(d.reduce_only);
    ck_assert_int_eq(d.reason, CSCALP_POLICY_EXIT);
    ck_assert_double_eq_tol(d.price, 50000.5, 1e-9); /* sell post-only at the ask */
    /* … then, flat, open the short */
    in.position = 0;
    d = decide(&p, &in);
    ck_assert_double_eq_tol(d.size, 1.6, 1e-12);
    ck_assert(!d.reduce_only);
    /* no edge: the target is 0 and a position is exited patiently */
    in = input(0.5);
    in.position = -0.7;
    d = decide(&p, &in);
    ck_assert_int_eq(d.action, CSCALP_POLICY_NEW);
    ck_assert_int_eq(d.side, 1);
    ck_assert_int_eq(d.type, CSCALP_POLICY_POST_ONLY);
    ck_assert(d.reduce_only);
    /* bad inputs */
    in = input(10);
    in.ask = in.bid;
    ck_assert_int_eq(cscalp_policy_decide(&p, &in, &d), CSCALP_EINVAL);
    ck_assert_int_eq(d.action, CSCALP_POLICY_HOLD);
    in = input(10);
    in.sigma_bps = 0;
    ck_assert_int_eq(cscalp_policy_decide(&p, &in, &d), CSCALP_EINVAL);
    char why[160];
    cscalp_policy_params bad = params();
    bad.lot_size = 0;
    ck_assert_int_eq(cscalp_policy_params_check(&bad, why, sizeof why), CSCALP_ECONFIG_RANGE);
    ck_assert_ptr_nonnull(strstr(why, "lot size"));
    ck_assert_int_eq(cscalp_policy_params_check(&p, why, sizeof why), CSCALP_OK);
}
END_TEST

static double grid_floor_for_test(double v, double step)
{
    return floor(v / step) * step;
}

static int on_grid(double v, double step)
{
    const double k = v / step;
    return fabs(k - nearbyint(k)) < 1e-6;
}

START_TEST(random_inputs_respect_caps_and_grids)
{
    tu_rng g = {2024};
    cscalp_liq_table t;
    cscalp_liq_table_binance_btcusdt(&t);
    cscalp_policy_working w[2];
    long news = 0, cancels = 0, holds = 0;
    for (long i = 0; i < 1000000; i++) {
        cscalp_policy_params p = params();
        p.max_position_contracts = 0.01 + 20 * tu_uniform(&g);
        p.vol_target_bps = 1 + 100 * tu_uniform(&g);
        p.liquidation_sigmas = tu_int(&g, 2) ? 0 : 20 * tu_uniform(&g);
        cscalp_policy_input in = input((tu_uniform(&g) - 0.5) * 60);
        const double mid = 20000 + 60000 * tu_uniform(&g);
        const double spread = 0.1 * (1 + tu_int(&g, 20));
        in.bid = grid_floor_for_test(mid, 0.1);
        in.ask = in.bid + spread;
        in.confidence = tu_uniform(&g);
        in.sigma_bps = 1 + 50 * tu_uniform(&g);
        in.equity = tu_int(&g, 20) ? 1000 + 2e5 * tu_uniform(&g) : -100;
        in.position = tu_int(&g, 3) ? 0 : (tu_uniform(&g) - 0.5) * 10;
        in.regime.size_factor = tu_uniform(&g);
        in.regime.entry_band_bps = 5 * tu_uniform(&g);
        in.regime.max_leverage = 0.5 + 10 * tu_uniform(&g);
        in.brackets = tu_int(&g, 2) ? &t : NULL;
        in.working_count = (uint32_t)tu_int(&g, 3);
        for (uint32_t k = 0; k < in.working_count; k++) {
            w[k].id = 1 + k;
            w[k].side = tu_int(&g, 2) ? 1 : -1;
            w[k].price = in.bid + (tu_uniform(&g) - 0.5);
            w[k].remaining = 0.001 + tu_uniform(&g);
            w[k].created_ns = -(int64_t)tu_int(&g, 60) * S;
            w[k].cancelling = tu_int(&g, 5) == 0;
        }
        in.working = w;
        const cscalp_policy_decision d = decide(&p, &in);
        const double m = 0.5 * (in.bid + in.ask);
        /* the target respects every cap and the lot grid */
        ck_assert(fabs(d.target) <= p.max_position_contracts);
        ck_assert(in.equity <= 0 || fabs(d.target) * m <= in.regime.max_leverage * in.equity * (1 + 1e-9));
        ck_assert(in.equity > 0 || d.target == 0);
        ck_assert(on_grid(d.target, p.lot_size));
        ck_assert(d.direction == 0 || d.direction == (in.expected_move_bps > 0 ? 1 : -1));
        if (d.action == CSCALP_POLICY_NEW) {
            news++;
            ck_assert(d.size >= p.lot_size && on_grid(d.size, p.lot_size));
            /* never beyond the target, never more than the position when reducing */
            ck_assert(d.side == (d.target - in.position > 0 ? 1 : -1));
            ck_assert(d.size <= fabs(d.target - in.position) * (1 + 1e-12));
            if (d.reduce_only)
                ck_assert(d.size <= fabs(in.position) + 1e-9 && in.position * d.side < 0);
            if (d.type == CSCALP_POLICY_POST_ONLY) {
                ck_assert(on_grid(d.price, p.tick_size));
                ck_assert(d.side > 0 ? d.price <= in.bid : d.price >= in.ask);
            } else {
                ck_assert(d.edge_taker_bps > in.regime.entry_band_bps);
            }
            for (uint32_t k = 0; k < in.working_count; k++)
                ck_assert(w[k].side != d.side); /* one per side, cancelling or not */
        } else if (d.action == CSCALP_POLICY_CANCEL) {
            cancels++;
            ck_assert(d.cancel_id >= 1 && d.cancel_id <= in.working_count);
            ck_assert(!w[d.cancel_id - 1].cancelling);
        } else {
            holds++;
        }
    }
    printf("{\"report\":\"policy_property\",\"decisions\":1000000,\"new\":%ld,\"cancel\":%ld,"
           "\"hold\":%ld}\n",
           news, cancels, holds);
    ck_assert(news > 10000 && cancels > 10000 && holds > 10000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, edge_band_and_volatility_target);
    tcase_add_test(tc, each_cap_binds);
    tcase_add_test(tc, working_orders_and_going_through_zero);
    tcase_add_test(tc, random_inputs_respect_caps_and_grids);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
