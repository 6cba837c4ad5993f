/* Isolated-margin liquidation price (src/risk/liquidation.h, docs/risk.md
 * "Liquidation price"):
 * - the default table is Binance's BTCUSDT table of 2021-03-18, its
 *   maintenance amounts follow the cum formula, and the maintenance margin
 *   is continuous at every cap;
 * - worked examples, long and short, in tiers 1, 2, 3, 4 and 6, each
 *   computed by hand below, and Binance's own published example;
 * - the tier is the one of the notional at the liquidation price, not at
 *   entry; a liquidation price exactly on a cap takes the lower tier;
 * - more margin moves the price away, more leverage moves it closer;
 * - random tables and positions: at the returned price, wallet + unrealised
 *   PnL equals the maintenance margin to 1e-9, and a brute-force reference
 *   (every tier's formula, keep the self-consistent one) agrees;
 * - invalid tables and arguments are refused, naming the field. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "risk/liquidation.h"
#include "test_util.h"

static cscalp_liq_table btc(void)
{
    cscalp_liq_table t;
    cscalp_liq_table_binance_btcusdt(&t);
    return t;
}

static void assert_rel(double got, double want, double tol, const char *what)
{
    ck_assert_msg(fabs(got - want) <= tol * fmax(fabs(want), 1e-300),
                  "%s: got %.17g, want %.17g", what, got, want);
}

static cscalp_liq_result liq(const cscalp_liq_table *t, int side, double q, double ep, double wb)
{
    cscalp_liq_result r;
    ck_assert_int_eq(cscalp_liq_price(t, side, q, ep, wb, &r), CSCALP_OK);
    return r;
}

static double mm(const cscalp_liq_table *t, double notional)
{
    double v;
    ck_assert_int_eq(cscalp_liq_maintenance_margin(t, notional, &v), CSCALP_OK);
    return v;
}

/* ------------------------------------------------------------ the table */

START_TEST(default_table_is_binance_btcusdt)
{
    const cscalp_liq_table t = btc();
    char why[256];
    ck_assert_int_eq(cscalp_liq_table_validate(&t, why, sizeof why), CSCALP_OK);
    ck_assert_str_eq(why, "");
    ck_assert_uint_eq(t.count, 10);
    /* Binance, 2021-03-18: cap, max leverage, maintenance margin rate; the
     * maintenance amounts as its leverageBracket API gives them. */
    const double cap[] = {50e3, 250e3, 1e6, 10e6, 20e6, 50e6, 100e6, 200e6, 300e6, 500e6};
    const double lev[] = {125, 100, 50, 20, 10, 5, 4, 3, 2, 1};
    const double mmr[] = {0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50};
    const double cum[] = {0,         50,        1300,      16300,      266300,
                          1266300,   2516300,   5016300,   25016300,   100016300};
    for (uint32_t i = 0; i < 10; i++) {
        const cscalp_liq_bracket *b = &t.brackets[i];
        ck_assert(b->notional_floor_usdt == (i == 0 ? 0.0 : cap[i - 1]));
        ck_assert(b->notional_cap_usdt == cap[i]);
        ck_assert(b->max_leverage == lev[i]);
        ck_assert(b->maint_margin_rate == mmr[i]);
        ck_assert(b->maint_amount_usdt == cum[i]);
    }
    /* The amounts are the cum formula's: derive them afresh and compare. */
    cscalp_liq_table d = t;
    for (uint32_t i = 0; i < d.count; i++)
        d.brackets[i].maint_amount_usdt = -1.0;
    cscalp_liq_table_derive_amounts(&d);
    for (uint32_t i = 0; i < d.count; i++)
        ck_assert(fabs(d.brackets[i].maint_amount_usdt - cum[i]) < 1e-6);
}
END_TEST

START_TEST(maintenance_margin_values)
{
    const cscalp_liq_table t = btc();
    /* MM = N·mmr − cum of N's tier. */
    ck_assert(mm(&t, 0.0) == 0.0);
    assert_rel(mm(&t, 30e3), 120.0, 1e-15, "30k: 30000 x 0.4 %");
    assert_rel(mm(&t, 50e3), 200.0, 1e-15, "50k: 50000 x 0.4 %");
    assert_rel(mm(&t, 100e3), 450.0, 1e-15, "100k: 100000 x 0.5 % - 50");
    assert_rel(mm(&t, 250e3), 1200.0, 1e-15, "250k: 250000 x 0.5 % - 50");
    assert_rel(mm(&t, 1e6), 8700.0, 1e-15, "1M: 1e6 x 1 % - 1300");
    assert_rel(mm(&t, 5e6), 108700.0, 1e-15, "5M: 5e6 x 2.5 % - 16300");
    assert_rel(mm(&t, 600e6), 199983700.0, 1e-15, "600M: last tier extends, 6e8 x 50 % - 100016300");
    /* Continuous at every cap: both tiers' lines meet there. */
    for (uint32_t i = 0; i + 1 < t.count; i++) {
        const double c = t.brackets[i].notional_cap_usdt;
        const double lo = c * t.brackets[i].maint_margin_rate - t.brackets[i].maint_amount_usdt;
        const double hi =
            c * t.brackets[i + 1].maint_margin_rate - t.brackets[i + 1].maint_amount_usdt;
        assert_rel(hi, lo, 1e-12, "continuity at a cap");
        assert_rel(mm(&t, nextafter(c, (double)INFINITY)), lo, 1e-12, "just above a cap");
    }
}
END_TEST

START_TEST(bracket_index_at_boundaries)
{
    const cscalp_liq_table t = btc();
    uint32_t k;
    const struct {
        double n;
        uint32_t k;
    } cases[] = {{0.0, 0},        {50e3, 0},  {nextafter(50e3, (double)INFINITY), 1}, {250e3, 1},
                 {250e3 + 1, 2},  {1e6, 2},   {10e6, 3},                        {10e6 + 1, 4},
                 {500e6, 9},      {600e6, 9}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(cscalp_liq_bracket_index(&t, cases[i].n, &k), CSCALP_OK);
        ck_assert_msg(k == cases[i].k, "notional %.17g: tier %u, want %u", cases[i].n, k,
                      cases[i].k);
    }
    ck_assert_int_eq(cscalp_liq_bracket_index(&t, -1.0, &k), CSCALP_ESIZE);
    ck_assert_uint_eq(k, UINT32_MAX);
}
END_TEST

START_TEST(leverage_and_initial_margin)
{
    const cscalp_liq_table t = btc();
    double v;
    ck_assert_int_eq(cscalp_liq_max_leverage(&t, 0.0, &v), CSCALP_OK);
    ck_assert(v == 125.0);
    ck_assert_int_eq(cscalp_liq_max_leverage(&t, 50e3, &v), CSCALP_OK);
    ck_assert(v == 125.0);
    ck_assert_int_eq(cscalp_liq_max_leverage(&t, 50001.0, &v), CSCALP_OK);
    ck_assert(v == 100.0);
    ck_assert_int_eq(cscalp_liq_max_leverage(&t, 600e3, &v), CSCALP_OK);
    ck_assert(v == 50.0);
    ck_assert_int_eq(cscalp_liq_max_leverage(&t, 500e6, &v), CSCALP_OK);
    ck_assert(v == 1.0);
    ck_assert_int_eq(cscalp_liq_max_leverage(&t, 500e6 + 1, &v), CSCALP_ESIZE);
    ck_assert(isnan(v));

    /* 30 000 USDT at 20x: 1 500 USDT. */
    ck_assert_int_eq(cscalp_liq_initial_margin(&t, 30e3, 20.0, &v), CSCALP_OK);
    assert_rel(v, 1500.0, 1e-15, "IM 30k at 20x");
    ck_assert_int_eq(cscalp_liq_initial_margin(&t, 600e3, 50.0, &v), CSCALP_OK);
    assert_rel(v, 12000.0, 1e-15, "IM 600k at 50x");
    ck_assert_int_eq(cscalp_liq_initial_margin(&t, 600e3, 60.0, &v), CSCALP_EINVAL);
    ck_assert(isnan(v));
    ck_assert_int_eq(cscalp_liq_initial_margin(&t, 600e3, 0.5, &v), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_liq_initial_margin(&t, 600e6, 1.0, &v), CSCALP_ESIZE);
    ck_assert_int_eq(cscalp_liq_initial_margin(&t, 600e3, (double)NAN, &v), CSCALP_ENONFINITE);
    ck_assert_int_eq(cscalp_liq_initial_margin(&t, 600e3, 10.0, NULL), CSCALP_EINVAL);
}
END_TEST

/* ------------------------------------------------------------ examples */

/* LP = (WB − side·Q·EP + cum) / (Q·mmr − side·Q), tier of Q·LP. */
START_TEST(worked_examples)
{
    const cscalp_liq_table t = btc();
    const struct {
        const char *what;
        int side;
        double q, ep, wb, lp;
        uint32_t tier;
    } ex[] = {
        /* 0.5 BTC at 60 000 (30 000 USDT), 20x: WB = 1 500. Tier 1.
         * long:  (1500 − 30000 + 0) / (0.5·0.004 − 0.5) = −28500 / −0.498
         *        = 57 228.915662650602; notional 28 614 <= 50 000.
         * short: (1500 + 30000 + 0) / (0.5·0.004 + 0.5) = 31500 / 0.502
         *        = 62 749.003984063745; notional 31 375. */
        {"tier 1 long", 1, 0.5, 60e3, 1500.0, 28500.0 / 0.498, 0},
        {"tier 1 short", -1, 0.5, 60e3, 1500.0, 31500.0 / 0.502, 0},
        /* 10 BTC at 60 000 (600 000 USDT), 25x: WB = 24 000. Tier 3
         * (250 k … 1 M, 1 %, cum 1 300).
         * long:  (24000 − 600000 + 1300) / (0.1 − 10) = −574700 / −9.9
         *        = 58 050.505050505051; notional 580 505.
         * short: (24000 + 600000 + 1300) / (0.1 + 10) = 625300 / 10.1
         *        = 61 910.891089108911; notional 619 109. */
        {"tier 3 long", 1, 10.0, 60e3, 24e3, 574700.0 / 9.9, 2},
        {"tier 3 short", -1, 10.0, 60e3, 24e3, 625300.0 / 10.1, 2},
        /* 50 BTC at 60 000 (3 M USDT), 10x: WB = 300 000. Tier 4
         * (1 M … 10 M, 2.5 %, cum 16 300).
         * long:  (300000 − 3000000 + 16300) / (1.25 − 50) = −2683700 / −48.75
         *        = 55 050.256410256410; notional 2 752 513.
         * short: (300000 + 3000000 + 16300) / (1.25 + 50) = 3316300 / 51.25
         *        = 64 708.292682926829; notional 3 235 415. */
        {"tier 4 long", 1, 50.0, 60e3, 300e3, 2683700.0 / 48.75, 3},
        {"tier 4 short", -1, 50.0, 60e3, 300e3, 3316300.0 / 51.25, 3},
        /* 500 BTC at 60 000 (30 M USDT), 4x: WB = 7 500 000. Tier 6
         * (20 M … 50 M, 10 %, cum 1 266 300).
         * long: (7500000 − 30000000 + 1266300) / (50 − 500) = −21233700 / −450
         *       = 47 186; notional 23 593 000. */
        {"tier 6 long", 1, 500.0, 60e3, 7.5e6, 47186.0, 5},
        /* The tier is the one at LP, not at entry.
         * 1 BTC long at 52 000 (tier 2 at entry), 10x: WB = 5 200.
         *   tier 2: (5200 − 52000 + 50) / (0.005 − 1) = 46 984.92; its
         *           notional 46 985 is in tier 1 — inconsistent;
         *   tier 1: (5200 − 52000 + 0) / (0.004 − 1) = −46800 / −0.996
         *           = 46 987.951807228916; notional 46 988 <= 50 000. */
        {"long leaves tier 2 for tier 1", 1, 1.0, 52e3, 5200.0, 46800.0 / 0.996, 0},
        /* 1 BTC short at 48 000 (tier 1 at entry), 10x: WB = 4 800.
         *   tier 1: (4800 + 48000) / 1.004 = 52 589.64; notional above 50 000;
         *   tier 2: (4800 + 48000 + 50) / 1.005 = 52850 / 1.005
         *           = 52 587.064676616915; notional in (50 000, 250 000]. */
        {"short leaves tier 1 for tier 2", -1, 1.0, 48e3, 4800.0, 52850.0 / 1.005, 1},
        /* 1 BTC short at 60 000, 1x: WB = 60 000.
         *   tier 2: (60000 + 60000 + 50) / 1.005 = 119 452.73631840796
         *   (a 1x short is liquidated near +99 %, not never). */
        {"1x short", -1, 1.0, 60e3, 60e3, 120050.0 / 1.005, 1},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        const cscalp_liq_result r = liq(&t, ex[i].side, ex[i].q, ex[i].ep, ex[i].wb);
        ck_assert_msg(r.liquidates == 1, "%s", ex[i].what);
        ck_assert_int_eq(r.side, ex[i].side);
        assert_rel(r.price, ex[i].lp, 1e-13, ex[i].what);
        ck_assert_msg(r.bracket == ex[i].tier, "%s: tier %u, want %u", ex[i].what, r.bracket,
                      ex[i].tier);
        assert_rel(r.notional_usdt, ex[i].q * ex[i].lp, 1e-13, ex[i].what);
        assert_rel(r.maint_margin_usdt, mm(&t, ex[i].q * ex[i].lp), 1e-12, ex[i].what);
    }
}
END_TEST

/* Binance's worked example in "How to Calculate Liquidation Price of USDⓈ-M
 * Futures Contracts" (cross margin, one-way): wallet 1 535 443.01 USDT,
 * BTCUSDT long 109.488 at 32 481.980 (mark 31 967.27, tier 2.5 % / cum
 * 16 300) and ETHUSDT long 3 683.979 at 1 456.84 (mark 1 335.18, tier 10 % /
 * cum 135 365); published LP 26 316.89 (BTC) and 1 153.26 (ETH). Cross
 * margin is the isolated formula with WB replaced by WB − TMM1 + UPNL1,
 * the other contract's maintenance margin and unrealised PnL at its mark:
 *   for BTC: ETH's MM = 3683.979·1335.18·10 % − 135365 = 356 512.508,
 *            ETH's UPNL = 3683.979·(1335.18 − 1456.84) = −448 192.885
 *            (Binance prints −448 192.89);
 *   for ETH: BTC's MM = 109.488·31967.27·2.5 % − 16300 = 71 200.811,
 *            BTC's UPNL = 109.488·(31967.27 − 32481.98) = −56 354.568. */
START_TEST(binance_published_example)
{
    const double wb = 1535443.01;
    const cscalp_liq_table t = btc();
    const double eth_mm = 3683.979 * 1335.18 * 0.10 - 135365.0;
    const double eth_upnl = 3683.979 * (1335.18 - 1456.84);
    const cscalp_liq_result b = liq(&t, CSCALP_LIQ_LONG, 109.488, 32481.98, wb - eth_mm + eth_upnl);
    ck_assert_uint_eq(b.bracket, 3);
    ck_assert_msg(fabs(b.price - 26316.89) < 0.005, "BTC LP %.6f", b.price);

    /* ETHUSDT tiers of that time (0.5 % up to 10 k, then 0.65 %, 1 %, 2 %,
     * 5 %, 10 % from 2 M to 5 M): only the tier holding the LP matters, and
     * its amount 135 365 is what the cum formula gives from those below. */
    cscalp_liq_table e = {0};
    const double caps[] = {10e3, 100e3, 500e3, 1e6, 2e6, 5e6, 10e6, 20e6, 50e6, 100e6};
    const double rates[] = {0.005, 0.0065, 0.01, 0.02, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50};
    const double levs[] = {100, 75, 50, 25, 10, 5, 4, 3, 2, 1};
    e.count = 10;
    for (uint32_t i = 0; i < e.count; i++) {
        e.brackets[i].notional_floor_usdt = i == 0 ? 0.0 : caps[i - 1];
        e.brackets[i].notional_cap_usdt = caps[i];
        e.brackets[i].maint_margin_rate = rates[i];
        e.brackets[i].max_leverage = levs[i];
    }
    cscalp_liq_table_derive_amounts(&e);
    ck_assert_int_eq(cscalp_liq_table_validate(&e, NULL, 0), CSCALP_OK);
    ck_assert(fabs(e.brackets[5].maint_amount_usdt - 135365.0) < 1e-6);
    const double btc_mm = 109.488 * 31967.27 * 0.025 - 16300.0;
    const double btc_upnl = 109.488 * (31967.27 - 32481.98);
    const cscalp_liq_result r = liq(&e, CSCALP_LIQ_LONG, 3683.979, 1456.84, wb - btc_mm + btc_upnl);
    ck_assert_uint_eq(r.bracket, 5);
    ck_assert_msg(fabs(r.price - 1153.26) < 0.005, "ETH LP %.6f", r.price);
}
END_TEST

START_TEST(no_liquidation)
{
    const cscalp_liq_table t = btc();
    double d;
    /* Flat. */
    for (int side = -1; side <= 1; side += 2) {
        const cscalp_liq_result r = liq(&t, side, 0.0, 60e3, 100.0);
        ck_assert_int_eq(r.liquidates, 0);
        ck_assert(r.price == 0.0);
        ck_assert_int_eq(cscalp_liq_distance_sigma(&r, 60e3, 50.0, &d), CSCALP_OK);
        ck_assert(isinf(d) && d > 0);
    }
    /* A 1x long (WB = Q·EP) and a long with more: the formula gives LP <= 0,
     * (60000 − 60000 + 0) / (0.004 − 1) = 0 — nothing liquidates it. */
    const double wbs[] = {60e3, 60e3 + 0.01, 1e9};
    for (size_t i = 0; i < 3; i++) {
        const cscalp_liq_result r = liq(&t, CSCALP_LIQ_LONG, 1.0, 60e3, wbs[i]);
        ck_assert_int_eq(r.liquidates, 0);
        ck_assert(r.price == 0.0);
    }
    /* One cent less and there is a price, a few cents above 0:
     * (0.01 − 0) / 0.996. */
    const cscalp_liq_result r = liq(&t, CSCALP_LIQ_LONG, 1.0, 60e3, 60e3 - 0.01);
    ck_assert_int_eq(r.liquidates, 1);
    assert_rel(r.price, 0.01 / 0.996, 1e-6, "long a cent under 1x");
}
END_TEST

START_TEST(liquidated_at_entry)
{
    /* Margin below the maintenance margin at entry: 1 BTC long at 60 000
     * with WB = 100 < MM(60 000) = 60000·0.5 % − 50 = 250. LP = (100 − 60000
     * + 50) / (0.005 − 1) = 60 150.75... above the entry: liquidated now. */
    const cscalp_liq_table t = btc();
    const cscalp_liq_result r = liq(&t, CSCALP_LIQ_LONG, 1.0, 60e3, 100.0);
    ck_assert_int_eq(r.liquidates, 1);
    assert_rel(r.price, 59850.0 / 0.995, 1e-13, "long LP above entry");
    double d;
    ck_assert_int_eq(cscalp_liq_distance_sigma(&r, 60e3, 50.0, &d), CSCALP_OK);
    ck_assert(d < 0.0);
    /* Short with no margin at all: LP just under the entry. */
    const cscalp_liq_result s = liq(&t, CSCALP_LIQ_SHORT, 1.0, 60e3, 0.0);
    assert_rel(s.price, 60050.0 / 1.005, 1e-13, "short LP with WB 0");
    ck_assert(s.price < 60e3);
}
END_TEST

/* ------------------------------------------------------------ properties */

/* Sizes spanning tiers 1 … 9 at entry 60 000. */
static const double sweep_sizes[] = {0.01, 0.5, 1.0, 3.0, 10.0, 40.0, 200.0, 500.0, 1200.0,
                                     2500.0, 4000.0};

START_TEST(more_margin_moves_it_away)
{
    const cscalp_liq_table t = btc();
    const double ep = 60e3;
    for (size_t i = 0; i < sizeof sweep_sizes / sizeof sweep_sizes[0]; i++) {
        const double q = sweep_sizes[i], n = q * ep;
        for (int side = -1; side <= 1; side += 2) {
            double prev = side > 0 ? (double)INFINITY : 0.0;
            for (int j = 0; j <= 400; j++) {
                const double wb = n * j / 400.0;
                const cscalp_liq_result r = liq(&t, side, q, ep, wb);
                if (!r.liquidates) {
                    ck_assert(side > 0 && wb >= n);
                    continue;
                }
                ck_assert_msg(side > 0 ? r.price < prev : r.price > prev,
                              "side %d size %g wallet %g: LP %.17g after %.17g", side, q, wb,
                              r.price, prev);
                prev = r.price;
            }
        }
    }
}
END_TEST

START_TEST(more_leverage_moves_it_closer)
{
    const cscalp_liq_table t = btc();
    const double ep = 60e3;
    for (size_t i = 0; i < sizeof sweep_sizes / sizeof sweep_sizes[0]; i++) {
        const double q = sweep_sizes[i], n = q * ep;
        double max_lev;
        if (cscalp_liq_max_leverage(&t, n, &max_lev) != CSCALP_OK)
            continue;
        for (int side = -1; side <= 1; side += 2) {
            double prev_dist = (double)INFINITY;
            for (int j = 0; j <= 200; j++) {
                const double lev = 1.0 + (max_lev - 1.0) * j / 200.0;
                double wb;
                ck_assert_int_eq(cscalp_liq_initial_margin(&t, n, lev, &wb), CSCALP_OK);
                const cscalp_liq_result r = liq(&t, side, q, ep, wb);
                const double dist = r.liquidates ? fabs(r.price - ep) : (double)INFINITY;
                if (j > 0)
                    ck_assert_msg(dist < prev_dist, "side %d size %g lev %g: %.17g after %.17g",
                                  side, q, lev, dist, prev_dist);
                prev_dist = dist;
                /* At the tier's max leverage the price is still on the safe
                 * side of the entry: IM = N/L >= N·mmr > MM. */
                ck_assert(!r.liquidates || (side > 0 ? r.price < ep : r.price > ep));
            }
        }
    }
}
END_TEST

/* A wallet that puts LP exactly on tier k's cap: equity there equals
 * MM(cap), WB = MM(cap) − side·(cap − Q·EP). */
START_TEST(liquidation_on_a_cap_takes_the_lower_tier)
{
    const cscalp_liq_table t = btc();
    for (uint32_t k = 0; k + 1 < t.count; k++) {
        const cscalp_liq_bracket *b = &t.brackets[k];
        const double cap = b->notional_cap_usdt;
        const double mm_cap = cap * b->maint_margin_rate - b->maint_amount_usdt;
        for (int side = -1; side <= 1; side += 2) {
            /* Entry 5 % on the safe side of the cap's price: P* = 40 000. */
            const double p_star = 40e3, q = cap / p_star;
            const double ep = side > 0 ? p_star * 1.05 : p_star / 1.05;
            const double wb = mm_cap - side * (cap - q * ep);
            ck_assert(wb > 0.0);
            const cscalp_liq_result r = liq(&t, side, q, ep, wb);
            ck_assert_int_eq(r.liquidates, 1);
            assert_rel(r.price, p_star, 1e-12, "LP on a cap");
            /* WB was rounded, so equity − MM at the cap is 0 only to an
             * ulp: either tier, both give P* (exact cases below). */
            ck_assert_msg(r.bracket == k || r.bracket == k + 1, "side %d cap %g: tier %u", side,
                          cap, r.bracket);
            /* The upper tier's formula gives the same price (continuity). */
            const cscalp_liq_bracket *u = &t.brackets[k + 1];
            const double lp_up =
                (wb - side * q * ep + u->maint_amount_usdt) / (q * u->maint_margin_rate - side * q);
            assert_rel(lp_up, p_star, 1e-12, "upper tier's formula on the cap");
            /* A little more margin keeps LP in tier k, a little less pushes
             * it over the cap into tier k+1 (a long's LP rises as margin
             * falls; a short's falls — so for a short, less margin means
             * a lower LP and notional: tier k; more margin, tier k+1). */
            const double dw = wb * 1e-6;
            const cscalp_liq_result more = liq(&t, side, q, ep, wb + dw);
            const cscalp_liq_result less = liq(&t, side, q, ep, wb - dw);
            ck_assert_uint_eq(more.bracket, side > 0 ? k : k + 1);
            ck_assert_uint_eq(less.bracket, side > 0 ? k + 1 : k);
        }
    }
    /* Exactly on a cap (integers, so equity − MM there is exactly 0): the
     * lower tier, caps being inclusive.
     * 1 BTC long at 52 000, WB 2 200: at 50 000 equity = 2200 − 2000 = 200
     *   = MM(50 000) = 200; LP = (2200 − 52000) / (0.004 − 1) = 50 000.
     * 1 BTC short at 48 000, WB 2 200: equity = 2200 − 2000 = 200; LP =
     *   (2200 + 48000) / 1.004 = 50 000.
     * 5 BTC long at 52 000, WB 11 200: at 250 000 equity = 11200 − 10000 =
     *   1200 = MM(250 000) = 1250 − 50; LP = (11200 − 260000 + 50) / (0.025
     *   − 5) = 50 000. */
    const struct {
        int side;
        double q, ep, wb;
        uint32_t tier;
    } on_cap[] = {{1, 1.0, 52e3, 2200.0, 0}, {-1, 1.0, 48e3, 2200.0, 0},
                  {1, 5.0, 52e3, 11200.0, 1}, {-1, 5.0, 48e3, 11200.0, 1}};
    for (size_t i = 0; i < sizeof on_cap / sizeof on_cap[0]; i++) {
        const cscalp_liq_result r = liq(&t, on_cap[i].side, on_cap[i].q, on_cap[i].ep,
                                        on_cap[i].wb);
        assert_rel(r.price, 50e3, 1e-14, "exactly on a cap");
        ck_assert_uint_eq(r.bracket, on_cap[i].tier);
    }
}
END_TEST

static void random_table(tu_rng *g, cscalp_liq_table *t)
{
    memset(t, 0, sizeof *t);
    const uint32_t want = 1 + (uint32_t)tu_int(g, 12);
    double cap = 1e3 * pow(100.0, tu_uniform(g)), rate = 0.002 + 0.018 * tu_uniform(g);
    double lev = fmin(125.0, floor(0.5 / rate));
    for (uint32_t i = 0; i < want && rate < 0.9; i++) {
        cscalp_liq_bracket *b = &t->brackets[i];
        b->notional_floor_usdt = i == 0 ? 0.0 : t->brackets[i - 1].notional_cap_usdt;
        b->notional_cap_usdt = cap;
        b->maint_margin_rate = rate;
        b->max_leverage = lev;
        t->count = i + 1;
        cap *= 1.5 + 8.5 * tu_uniform(g);
        rate *= 1.0 + 1.5 * tu_uniform(g);
        lev = fmax(1.0, fmin(lev, floor(0.5 / rate)));
    }
    cscalp_liq_table_derive_amounts(t);
    ck_assert_int_eq(cscalp_liq_table_validate(t, NULL, 0), CSCALP_OK);
}

/* The reference: every tier's formula; keep those whose notional lies in
 * their own tier (edges loose by 1e-12). 0 when none does. */
static int reference_lp(const cscalp_liq_table *t, int side, double q, double ep, double wb,
                        double *lp)
{
    int found = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        const cscalp_liq_bracket *b = &t->brackets[i];
        const double p = (wb - side * q * ep + b->maint_amount_usdt) /
                         (q * b->maint_margin_rate - side * q);
        const double n = q * p;
        const int above_floor = p > 0.0 && n >= b->notional_floor_usdt * (1.0 - 1e-12);
        const int below_cap = i + 1 == t->count || n <= b->notional_cap_usdt * (1.0 + 1e-12);
        if (above_floor && below_cap) {
            if (found)
                assert_rel(p, *lp, 1e-9, "two consistent tiers disagree");
            *lp = p;
            found = 1;
        }
    }
    return found;
}

START_TEST(random_positions_hold_the_identity)
{
    tu_rng g = {20260512};
    enum { TABLES = 400, POSITIONS = 500 };
    long checked = 0, near_zero = 0, none = 0;
    double worst = 0.0;
    uint32_t default_tiers_seen = 0;
    for (int tb = 0; tb < TABLES; tb++) {
        cscalp_liq_table t;
        if (tb == 0)
            t = btc();
        else
            random_table(&g, &t);
        const double top = t.brackets[t.count - 1].notional_cap_usdt;
        for (int i = 0; i < POSITIONS; i++) {
            const int side = tu_int(&g, 2) ? CSCALP_LIQ_LONG : CSCALP_LIQ_SHORT;
            const double ep = pow(10.0, 5.0 * tu_uniform(&g));
            const double n = top * pow(10.0, -4.0 * tu_uniform(&g));
            const double q = n / ep;
            double max_lev, wb;
            ck_assert_int_eq(cscalp_liq_max_leverage(&t, n, &max_lev), CSCALP_OK);
            const double lev = pow(max_lev, tu_uniform(&g));
            ck_assert_int_eq(cscalp_liq_initial_margin(&t, n, lev, &wb), CSCALP_OK);
            wb *= 1.0 + 0.25 * tu_uniform(&g); /* margin added */
            const cscalp_liq_result r = liq(&t, side, q, ep, wb);
            double ref = 0.0;
            const int ref_found = reference_lp(&t, side, q, ep, wb, &ref);
            ck_assert_int_eq(r.liquidates, ref_found);
            if (!r.liquidates) {
                ck_assert(side > 0 && wb >= q * ep);
                none++;
                continue;
            }
            assert_rel(r.price, ref, 1e-9, "brute-force reference");
            uint32_t k;
            ck_assert_int_eq(cscalp_liq_bracket_index(&t, r.notional_usdt, &k), CSCALP_OK);
            /* Off by one tier only when the notional is on a cap. */
            if (k != r.bracket) {
                ck_assert(k == r.bracket + 1 || k + 1 == r.bracket);
                assert_rel(r.notional_usdt,
                           t.brackets[k < r.bracket ? k : r.bracket].notional_cap_usdt, 1e-12,
                           "tier differs off a cap");
            }
            if (tb == 0)
                default_tiers_seen |= 1u << r.bracket;
            /* Wallet + unrealised PnL at LP = maintenance margin at LP. */
            const double equity = wb + side * q * (r.price - ep);
            const double mm_lp = mm(&t, r.notional_usdt);
            if (r.price < 0.01 * ep) {
                /* A long within 1 % of a zero price: LP is the difference of
                 * two nearly equal wallets, known to double rounding of the
                 * entry notional, not to 1e-9 of its tiny margin. */
                ck_assert(fabs(equity - mm_lp) <= 1e-12 * q * ep);
                near_zero++;
                continue;
            }
            ck_assert_msg(fabs(equity - mm_lp) <= 1e-9 * mm_lp,
                          "side %d q %.17g ep %.17g wb %.17g: equity %.17g, MM %.17g", side, q,
                          ep, wb, equity, mm_lp);
            worst = fmax(worst, fabs(equity - mm_lp) / mm_lp);
            checked++;
        }
    }
    ck_assert_int_ge(checked, TABLES * POSITIONS * 8 / 10);
    uint32_t tiers = 0;
    for (uint32_t k = 0; k < 32; k++)
        tiers += (default_tiers_seen >> k) & 1u;
    ck_assert_uint_ge(tiers, 5);
    printf("liquidation identity: %ld positions to 1e-9 (worst %.2g), %ld near a zero price, "
           "%ld without liquidation; default tiers hit 0x%x\n",
           checked, worst, near_zero, none, default_tiers_seen);
}
END_TEST

START_TEST(distance_in_sigmas)
{
    const cscalp_liq_table t = btc();
    double d;
    /* The tier 1 examples: long LP 57 228.92, short LP 62 749.00, mark
     * 60 000, σ 50 bps: ln(60000 / 57228.9157)·10⁴ / 50 = 9.4571 and
     * ln(62749.0040 / 60000)·10⁴ / 50 = 8.9596. */
    const cscalp_liq_result l = liq(&t, CSCALP_LIQ_LONG, 0.5, 60e3, 1500.0);
    ck_assert_int_eq(cscalp_liq_distance_sigma(&l, 60e3, 50.0, &d), CSCALP_OK);
    assert_rel(d, log(60e3 / (28500.0 / 0.498)) * 200.0, 1e-13, "long distance");
    ck_assert(fabs(d - 9.457054598) < 1e-8);
    const cscalp_liq_result s = liq(&t, CSCALP_LIQ_SHORT, 0.5, 60e3, 1500.0);
    ck_assert_int_eq(cscalp_liq_distance_sigma(&s, 60e3, 50.0, &d), CSCALP_OK);
    ck_assert(fabs(d - 8.959628580) < 1e-8);
    /* At LP: 0; past it: negative. */
    ck_assert_int_eq(cscalp_liq_distance_sigma(&l, l.price, 50.0, &d), CSCALP_OK);
    ck_assert(d == 0.0);
    ck_assert_int_eq(cscalp_liq_distance_sigma(&s, s.price * 1.01, 50.0, &d), CSCALP_OK);
    ck_assert(d < 0.0);
    /* Symmetric in log terms. */
    cscalp_liq_result half = l, twice = s;
    half.price = 30e3;
    twice.price = 120e3;
    double a, b;
    ck_assert_int_eq(cscalp_liq_distance_sigma(&half, 60e3, 100.0, &a), CSCALP_OK);
    ck_assert_int_eq(cscalp_liq_distance_sigma(&twice, 60e3, 100.0, &b), CSCALP_OK);
    assert_rel(a, b, 1e-15, "ln 2 either way");
    /* Refusals. */
    ck_assert_int_eq(cscalp_liq_distance_sigma(&l, 0.0, 50.0, &d), CSCALP_EPRICE);
    ck_assert(isnan(d));
    ck_assert_int_eq(cscalp_liq_distance_sigma(&l, 60e3, 0.0, &d), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_liq_distance_sigma(&l, 60e3, -1.0, &d), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_liq_distance_sigma(&l, (double)NAN, 50.0, &d), CSCALP_ENONFINITE);
    ck_assert_int_eq(cscalp_liq_distance_sigma(NULL, 60e3, 50.0, &d), CSCALP_EINVAL);
    cscalp_liq_result bad = l;
    bad.side = 0;
    ck_assert_int_eq(cscalp_liq_distance_sigma(&bad, 60e3, 50.0, &d), CSCALP_ESIDE);
}
END_TEST

/* ------------------------------------------------------------ refusals */

static void expect_bad(const cscalp_liq_table *t, const char *what, const char *needle)
{
    char why[256];
    ck_assert_msg(cscalp_liq_table_validate(t, why, sizeof why) == CSCALP_ECONFIG_RANGE, "%s",
                  what);
    ck_assert_msg(strstr(why, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, why,
                  needle);
    /* Every computation refuses the table too. */
    cscalp_liq_result r;
    ck_assert_int_eq(cscalp_liq_price(t, 1, 1.0, 60e3, 1e3, &r), CSCALP_ECONFIG_RANGE);
    ck_assert(isnan(r.price) && r.liquidates == 0);
    double v;
    ck_assert_int_eq(cscalp_liq_maintenance_margin(t, 1e3, &v), CSCALP_ECONFIG_RANGE);
    ck_assert(isnan(v));
}

START_TEST(invalid_tables_refused)
{
    const cscalp_liq_table good = btc();
    cscalp_liq_table t;

    t = good;
    t.count = 0;
    expect_bad(&t, "no tiers", "count: must be in [1, 32], got 0");
    t.count = 33;
    expect_bad(&t, "too many tiers", "count");

    t = good;
    t.brackets[0].notional_floor_usdt = 10.0;
    expect_bad(&t, "first floor", "brackets[0].notional_floor_usdt: must be 0");

    t = good;
    t.brackets[2].notional_floor_usdt = 260e3;
    expect_bad(&t, "gap", "brackets[2].notional_floor_usdt: must be 250000 "
                          "(brackets[1].notional_cap_usdt");

    t = good;
    t.brackets[4].notional_cap_usdt = 10e6;
    expect_bad(&t, "empty tier", "brackets[4].notional_cap_usdt: must be finite and above");
    t = good;
    t.brackets[9].notional_cap_usdt = (double)INFINITY;
    expect_bad(&t, "infinite cap", "brackets[9].notional_cap_usdt");

    t = good;
    t.brackets[1].maint_margin_rate = 0.003;
    expect_bad(&t, "falling rate", "brackets[1].maint_margin_rate: must be >= 0.004");
    t = good;
    t.brackets[0].maint_margin_rate = 0.0;
    expect_bad(&t, "zero rate", "brackets[0].maint_margin_rate: must be in (0, 1)");
    t = good;
    t.brackets[9].maint_margin_rate = 1.0;
    expect_bad(&t, "rate 1", "brackets[9].maint_margin_rate: must be in (0, 1)");
    t = good;
    t.brackets[3].maint_margin_rate = (double)NAN;
    expect_bad(&t, "NaN rate", "brackets[3].maint_margin_rate");

    t = good;
    t.brackets[3].maint_amount_usdt = 16000.0;
    expect_bad(&t, "wrong cum", "brackets[3].maint_amount_usdt: must be 16300 (cum formula");
    t = good;
    t.brackets[0].maint_amount_usdt = 5.0;
    expect_bad(&t, "first cum", "brackets[0].maint_amount_usdt: must be 0");
    t = good;
    t.brackets[1].maint_amount_usdt = 50.02;
    expect_bad(&t, "cum off by 2 cents", "brackets[1].maint_amount_usdt");
    t = good;
    t.brackets[1].maint_amount_usdt = 50.005;
    ck_assert_int_eq(cscalp_liq_table_validate(&t, NULL, 0), CSCALP_OK);
    /* A changed rate without the amounts that follow it. */
    t = good;
    t.brackets[2].maint_margin_rate = 0.0125;
    expect_bad(&t, "rate without amounts", "brackets[2].maint_amount_usdt");
    cscalp_liq_table_derive_amounts(&t);
    ck_assert_int_eq(cscalp_liq_table_validate(&t, NULL, 0), CSCALP_OK);

    t = good;
    t.brackets[0].max_leverage = 300.0;
    expect_bad(&t, "leverage above 1/mmr", "brackets[0].max_leverage: must be in [1, 250]");
    t = good;
    t.brackets[9].max_leverage = 0.5;
    expect_bad(&t, "leverage below 1", "brackets[9].max_leverage");
    t = good;
    t.brackets[1].max_leverage = 150.0; /* within 1 / 0.5 %, above tier 1's 125 */
    expect_bad(&t, "rising leverage", "brackets[1].max_leverage: must be <= 125");

    char why[8];
    ck_assert_int_eq(cscalp_liq_table_validate(NULL, why, sizeof why), CSCALP_EINVAL);
    t = good;
    t.brackets[3].maint_amount_usdt = 1.0;
    ck_assert_int_eq(cscalp_liq_table_validate(&t, why, sizeof why), CSCALP_ECONFIG_RANGE);
    ck_assert_uint_eq(strlen(why), sizeof why - 1); /* truncated, terminated */
}
END_TEST

START_TEST(invalid_inputs_refused)
{
    const cscalp_liq_table t = btc();
    cscalp_liq_result r;
    const struct {
        int side;
        double q, ep, wb;
        int rc;
    } bad[] = {
        {0, 1.0, 60e3, 1e3, CSCALP_ESIDE},
        {2, 1.0, 60e3, 1e3, CSCALP_ESIDE},
        {1, -1.0, 60e3, 1e3, CSCALP_ESIZE},
        {1, (double)NAN, 60e3, 1e3, CSCALP_ENONFINITE},
        {-1, (double)INFINITY, 60e3, 1e3, CSCALP_ENONFINITE},
        {1, 1.0, 0.0, 1e3, CSCALP_EPRICE},
        {-1, 1.0, -5.0, 1e3, CSCALP_EPRICE},
        {1, 1.0, (double)NAN, 1e3, CSCALP_ENONFINITE},
        {1, 1.0, 60e3, -1.0, CSCALP_EINVAL},
        {-1, 1.0, 60e3, (double)INFINITY, CSCALP_ENONFINITE},
        {1, 1e300, 1e300, 1e3, CSCALP_ENONFINITE}, /* Q·EP overflows */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const int rc = cscalp_liq_price(&t, bad[i].side, bad[i].q, bad[i].ep, bad[i].wb, &r);
        ck_assert_msg(rc == bad[i].rc, "case %zu: %d, want %d", i, rc, bad[i].rc);
        ck_assert(r.liquidates == 0 && isnan(r.price) && isnan(r.notional_usdt) &&
                  isnan(r.maint_margin_usdt) && r.bracket == UINT32_MAX);
    }
    ck_assert_int_eq(cscalp_liq_price(NULL, 1, 1.0, 60e3, 1e3, &r), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_liq_price(&t, 1, 1.0, 60e3, 1e3, NULL), CSCALP_EINVAL);
    double v;
    ck_assert_int_eq(cscalp_liq_maintenance_margin(&t, -1.0, &v), CSCALP_ESIZE);
    ck_assert(isnan(v));
    ck_assert_int_eq(cscalp_liq_maintenance_margin(&t, (double)NAN, &v), CSCALP_ENONFINITE);
    ck_assert_int_eq(cscalp_liq_maintenance_margin(NULL, 1.0, &v), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_liq_maintenance_margin(&t, 1.0, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_liq_max_leverage(&t, -1.0, &v), CSCALP_ESIZE);
}
END_TEST

START_TEST(deterministic)
{
    const cscalp_liq_table t = btc();
    cscalp_liq_result a, b;
    ck_assert_int_eq(cscalp_liq_price(&t, -1, 3.25, 61234.5, 9876.5, &a), CSCALP_OK);
    ck_assert_int_eq(cscalp_liq_price(&t, -1, 3.25, 61234.5, 9876.5, &b), CSCALP_OK);
    ck_assert(memcmp(&a.price, &b.price, sizeof a.price) == 0);
    ck_assert(a.bracket == b.bracket);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("liquidation");
    TCase *tc = tcase_create("liquidation");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, default_table_is_binance_btcusdt);
    tcase_add_test(tc, maintenance_margin_values);
    tcase_add_test(tc, bracket_index_at_boundaries);
    tcase_add_test(tc, leverage_and_initial_margin);
    tcase_add_test(tc, worked_examples);
    tcase_add_test(tc, binance_published_example);
    tcase_add_test(tc, no_liquidation);
    tcase_add_test(tc, liquidated_at_entry);
    tcase_add_test(tc, more_margin_moves_it_away);
    tcase_add_test(tc, more_leverage_moves_it_closer);
    tcase_add_test(tc, liquidation_on_a_cap_takes_the_lower_tier);
    tcase_add_test(tc, random_positions_hold_the_identity);
    tcase_add_test(tc, distance_in_sigmas);
    tcase_add_test(tc, invalid_tables_refused);
    tcase_add_test(tc, invalid_inputs_refused);
    tcase_add_test(tc, deterministic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
