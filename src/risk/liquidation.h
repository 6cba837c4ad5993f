/* Isolated-margin liquidation price of a linear USDⓈ-M perpetual, by
 * Binance's formula (docs/risk.md, "Liquidation price"), and the
 * maintenance-margin bracket table it needs.
 *
 * A position of size Q (base units, e.g. BTC) at entry price EP holds an
 * isolated wallet balance WB (USDT). At price P its equity is
 * WB + side·Q·(P − EP) (side +1 long, −1 short) and its maintenance margin
 * is MM(N) = N·mmr_i − cum_i for the notional N = Q·P in bracket i.
 * It is liquidated where equity = maintenance margin:
 *
 *   LP = (WB − side·Q·EP + cum_B) / (Q·mmr_B − side·Q)
 *
 * with B the bracket of the notional *at LP*, not at entry. Because the
 * maintenance amounts follow cum_i = cum_{i−1} + floor_i·(mmr_i − mmr_{i−1}),
 * MM is continuous in N, and equity − MM is strictly monotone in P
 * (slope Q·(1 − mmr) for a long, −Q·(1 + mmr) for a short), so there is
 * exactly one root. cscalp_liq_price finds its bracket by evaluating
 * equity − MM at the bracket caps: the first cap where it changes sign
 * holds the root (a root exactly on a cap belongs to the lower bracket,
 * caps being inclusive; both brackets' formulas give the same price
 * there). No iteration, no dependence on where the search starts.
 *
 * All functions are pure: no allocation, no state, deterministic, callable
 * from any thread. Money in USDT, prices in USDT per base unit. */
#ifndef CSCALP_RISK_LIQUIDATION_H
#define CSCALP_RISK_LIQUIDATION_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"

#define CSCALP_LIQ_MAX_BRACKETS 32u
/* Largest accepted gap between a maintenance amount and its cum-formula
 * value: Binance publishes the amounts in whole USDT (cents at most), and
 * a difference of a cent is a one-cent step in the maintenance margin. */
#define CSCALP_LIQ_AMOUNT_TOLERANCE_USDT 0.01

/* Position direction, the `side` of the formula (same values as
 * cscalp_side's BUY/SELL). */
typedef enum cscalp_liq_side {
    CSCALP_LIQ_SHORT = -1,
    CSCALP_LIQ_LONG = 1
} cscalp_liq_side;

/* One tier: notional in (floor, cap] (the first tier also takes 0). */
typedef struct cscalp_liq_bracket {
    double notional_floor_usdt;
    double notional_cap_usdt;
    double maint_margin_rate;  /* fraction: 0.004 is 0.4 % */
    double maint_amount_usdt;  /* Binance's "cum" */
    double max_leverage;       /* highest initial leverage in the tier */
} cscalp_liq_bracket;

/* brackets[0 … count−1], sorted by notional. Valid (see validate): count
 * in 1 … 32; floor[0] = 0; floor[i] = cap[i−1]; cap > floor, finite;
 * mmr in (0, 1) and non-decreasing (equal rates are harmless: a tier may
 * differ only in leverage); cum[0] = 0 and cum[i] = cum[i−1] +
 * floor[i]·(mmr[i] − mmr[i−1]) within CSCALP_LIQ_AMOUNT_TOLERANCE_USDT;
 * max_leverage in [1, 1/mmr] (a higher one would open a position below
 * its own maintenance margin) and non-increasing.
 * Above the last cap no position may be opened (max_leverage and
 * initial_margin refuse it), but the maintenance margin keeps the last
 * tier's rate there: a short's notional grows as the price rises, and its
 * liquidation notional may lie above the cap. */
typedef struct cscalp_liq_table {
    uint32_t count;
    cscalp_liq_bracket brackets[CSCALP_LIQ_MAX_BRACKETS];
} cscalp_liq_table;

/* Binance USDⓈ-M BTCUSDT perpetual tiers, as announced by Binance on
 * 2021-03-18 ("Updates to Leverage and Margin Tiers of Binance Futures
 * Contracts"): 10 tiers from 0.4 % / 125x up to 50 k notional to
 * 50 % / 1x up to 500 M; the table is in docs/risk.md. */
void cscalp_liq_table_binance_btcusdt(cscalp_liq_table *t);

/* Sets every maint_amount_usdt from the cum formula (cum[0] = 0), for a
 * table given as floors, caps and rates only. Reads count brackets
 * (count clamped to 1 … 32); validates nothing. */
void cscalp_liq_table_derive_amounts(cscalp_liq_table *t);

/* CSCALP_OK, or CSCALP_ECONFIG_RANGE with `why` naming the first bad field
 * and the rule, e.g. "brackets[3].maint_amount_usdt: must be 16300 (cum
 * formula), got 16000". CSCALP_EINVAL when t is NULL. why may be NULL. */
int cscalp_liq_table_validate(const cscalp_liq_table *t, char *why, size_t cap);

/* Every function below checks the table as validate does (O(count)) and
 * returns CSCALP_ECONFIG_RANGE for an invalid one, CSCALP_EINVAL for a
 * NULL pointer, and CSCALP_ENONFINITE for a NaN or infinite argument.
 * On any error the numeric outputs are NaN, so nothing mistakes them for
 * a value. */

/* Index of the tier holding `notional_usdt` (>= 0; the last tier above
 * its cap). CSCALP_ESIZE for a negative notional. */
int cscalp_liq_bracket_index(const cscalp_liq_table *t, double notional_usdt,
                             uint32_t *index);

/* MM = N·mmr − cum of N's tier (N >= 0; 0 at N = 0). CSCALP_ESIZE for a
 * negative notional. */
int cscalp_liq_maintenance_margin(const cscalp_liq_table *t, double notional_usdt,
                                  double *mm_usdt);

/* Highest leverage allowed for a position of notional N (> 0 … last cap;
 * the first tier's at 0). CSCALP_ESIZE for a negative notional or one above
 * the last cap (no such position may be opened). */
int cscalp_liq_max_leverage(const cscalp_liq_table *t, double notional_usdt,
                            double *leverage);

/* Initial margin N / leverage, the isolated wallet balance a position
 * opened at that leverage starts with (fees aside). CSCALP_EINVAL when
 * leverage < 1 or above max_leverage for N; CSCALP_ESIZE as
 * max_leverage. */
int cscalp_liq_initial_margin(const cscalp_liq_table *t, double notional_usdt,
                              double leverage, double *im_usdt);

typedef struct cscalp_liq_result {
    /* 1: `price` is where the position is liquidated; 0: nothing can
     * liquidate it (flat, or a long whose wallet covers its whole entry
     * notional, WB >= Q·EP, so LP <= 0: Binance shows "--"). */
    int liquidates;
    int side;                 /* as given */
    double price;             /* LP; 0 when liquidates is 0 */
    uint32_t bracket;         /* tier of the notional at LP */
    double notional_usdt;     /* Q·LP */
    double maint_margin_usdt; /* MM at LP = WB + side·Q·(LP − EP) there */
} cscalp_liq_result;

/* Liquidation price of an isolated one-way position (Binance's formula
 * above with TMM = UPNL = 0). size >= 0 in base units (0: flat, no
 * liquidation), entry_price > 0, isolated_wallet_usdt >= 0 (the margin
 * assigned to the position plus what was added, net of the position's
 * realised funding and fees; a venue never lets it go negative).
 * A long liquidated above its entry (WB below the maintenance margin at
 * entry) is reported as such: it is liquidated at once at the entry price.
 * Errors: CSCALP_ESIDE (side not ±1), CSCALP_ESIZE (size < 0),
 * CSCALP_EPRICE (entry_price <= 0), CSCALP_EINVAL (wallet < 0),
 * CSCALP_ENONFINITE (a non-finite argument, or size·entry_price
 * overflows); *out then has liquidates 0 and NaN numbers. */
int cscalp_liq_price(const cscalp_liq_table *t, int side, double size, double entry_price,
                     double isolated_wallet_usdt, cscalp_liq_result *out);

/* Distance from the mark price to the liquidation price in units of σ,
 * the standard deviation of the log return over the policy's horizon in
 * bps: side·ln(mark / LP)·10⁴ / sigma_bps. Positive while the position is
 * safe, <= 0 once the mark has reached LP; +∞ when nothing liquidates it.
 * In log terms because prices move multiplicatively: a long's LP at half
 * the mark and a short's at double it are equally far (ln 2), and for
 * small distances it equals the distance in bps of the mark. Errors:
 * CSCALP_EPRICE (mark <= 0), CSCALP_EINVAL (sigma_bps <= 0, NULL), with
 * *sigmas NaN. */
int cscalp_liq_distance_sigma(const cscalp_liq_result *liq, double mark_price,
                              double sigma_bps, double *sigmas);

#endif
