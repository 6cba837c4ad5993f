/* Isolated-margin liquidation price: see liquidation.h and docs/risk.md
 * ("Liquidation price"). */
#include "risk/liquidation.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/format.h"
#include "util/portable_math.h"

/* Binance USDⓈ-M BTCUSDT, "Updates to Leverage and Margin Tiers of Binance
 * Futures Contracts (2021-03-18)",
 * https://www.binance.com/en/support/announcement/86cf9aa472574b8cb2e05bb751c2a9a6
 * (position notional, max leverage, maintenance margin rate). Binance does
 * not list the maintenance amounts there; they follow from the cum formula
 * (its COIN-M liquidation FAQ states it) and agree with the "cum" of its
 * leverageBracket API for this table as client libraries quote it. The live
 * tiers change from time to time (and per account): load them from
 * GET /fapi/v1/leverageBracket for real trading. */
static const cscalp_liq_bracket binance_btcusdt[] = {
    {0.0, 50e3, 0.004, 0.0, 125.0},
    {50e3, 250e3, 0.005, 50.0, 100.0},
    {250e3, 1e6, 0.01, 1300.0, 50.0},
    {1e6, 10e6, 0.025, 16300.0, 20.0},
    {10e6, 20e6, 0.05, 266300.0, 10.0},
    {20e6, 50e6, 0.10, 1266300.0, 5.0},
    {50e6, 100e6, 0.125, 2516300.0, 4.0},
    {100e6, 200e6, 0.15, 5016300.0, 3.0},
    {200e6, 300e6, 0.25, 25016300.0, 2.0},
    {300e6, 500e6, 0.50, 100016300.0, 1.0},
};

void cscalp_liq_table_binance_btcusdt(cscalp_liq_table *t)
{
    memset(t, 0, sizeof *t);
    t->count = (uint32_t)(sizeof binance_btcusdt / sizeof binance_btcusdt[0]);
    memcpy(t->brackets, binance_btcusdt, sizeof binance_btcusdt);
}

static double cum_formula(const cscalp_liq_bracket *prev, const cscalp_liq_bracket *b)
{
    return prev->maint_amount_usdt +
           b->notional_floor_usdt * (b->maint_margin_rate - prev->maint_margin_rate);
}

void cscalp_liq_table_derive_amounts(cscalp_liq_table *t)
{
    const uint32_t n = t->count < 1                         ? 1
                       : t->count > CSCALP_LIQ_MAX_BRACKETS ? CSCALP_LIQ_MAX_BRACKETS
                                                            : t->count;
    t->brackets[0].maint_amount_usdt = 0.0;
    for (uint32_t i = 1; i < n; i++)
        t->brackets[i].maint_amount_usdt = cum_formula(&t->brackets[i - 1], &t->brackets[i]);
}

/* ------------------------------------------------------------ validation */

typedef struct checker {
    char *why;
    size_t cap;
    int rc;
} checker;


static void fail(checker *c, uint32_t i, const char *name, const char *rule, double got)
{
    if (c->rc != CSCALP_OK)
        return;
    c->rc = CSCALP_ECONFIG_RANGE;
    if (c->why == NULL || c->cap == 0)
        return;
    char value[32];
    cscalp_format_shortest(value, sizeof value, got);
    snprintf(c->why, c->cap, "brackets[%u].%s: must be %s, got %s", i, name, rule, value);
}

static void check_bracket(checker *c, const cscalp_liq_table *t, uint32_t i)
{
    const cscalp_liq_bracket *b = &t->brackets[i];
    const cscalp_liq_bracket *prev = i > 0 ? &t->brackets[i - 1] : NULL;
    char rule[128], num[32];

    if (prev == NULL) {
        if (b->notional_floor_usdt != 0.0)
            fail(c, i, "notional_floor_usdt", "0 (the first tier starts at 0)",
                 b->notional_floor_usdt);
    } else if (b->notional_floor_usdt != prev->notional_cap_usdt) {
        cscalp_format_shortest(num, sizeof num, prev->notional_cap_usdt);
        snprintf(rule, sizeof rule, "%s (brackets[%u].notional_cap_usdt: tiers are contiguous)",
                 num, i - 1);
        fail(c, i, "notional_floor_usdt", rule, b->notional_floor_usdt);
    }

    if (!isfinite(b->notional_cap_usdt) || !(b->notional_cap_usdt > b->notional_floor_usdt)) {
        cscalp_format_shortest(num, sizeof num, b->notional_floor_usdt);
        snprintf(rule, sizeof rule, "finite and above notional_floor_usdt %s", num);
        fail(c, i, "notional_cap_usdt", rule, b->notional_cap_usdt);
    }

    const double mmr = b->maint_margin_rate;
    if (!isfinite(mmr) || !(mmr > 0.0) || !(mmr < 1.0))
        fail(c, i, "maint_margin_rate", "in (0, 1)", mmr);
    else if (prev != NULL && !(mmr >= prev->maint_margin_rate)) {
        cscalp_format_shortest(num, sizeof num, prev->maint_margin_rate);
        snprintf(rule, sizeof rule, ">= %s (brackets[%u].maint_margin_rate: rates rise with "
                 "notional)", num, i - 1);
        fail(c, i, "maint_margin_rate", rule, mmr);
    }

    const double amount = b->maint_amount_usdt;
    const double expect = prev == NULL ? 0.0 : cum_formula(prev, b);
    if (!isfinite(amount) || !(fabs(amount - expect) <= CSCALP_LIQ_AMOUNT_TOLERANCE_USDT)) {
        /* %.15g: the formula's own rounding (16300.000000000002) is noise. */
        snprintf(num, sizeof num, "%.15g", expect);
        snprintf(rule, sizeof rule, "%s (cum formula: %s)", num,
                 prev == NULL ? "0 for the first tier"
                              : "previous amount + notional_floor_usdt x rate increase");
        fail(c, i, "maint_amount_usdt", rule, amount);
    }

    const double lev = b->max_leverage;
    /* 1e-12: 1 / mmr itself is rounded (1 / 0.004 need not be 250 exactly). */
    if (c->rc == CSCALP_OK && (!isfinite(lev) || !(lev >= 1.0) || !(lev * mmr <= 1.0 + 1e-12))) {
        snprintf(num, sizeof num, "%.15g", 1.0 / mmr);
        snprintf(rule, sizeof rule, "in [1, %s] (1 / maint_margin_rate)", num);
        fail(c, i, "max_leverage", rule, lev);
    } else if (prev != NULL && !(lev <= prev->max_leverage)) {
        cscalp_format_shortest(num, sizeof num, prev->max_leverage);
        snprintf(rule, sizeof rule, "<= %s (brackets[%u].max_leverage: leverage falls with "
                 "notional)", num, i - 1);
        fail(c, i, "max_leverage", rule, lev);
    }
}

int cscalp_liq_table_validate(const cscalp_liq_table *t, char *why, size_t cap)
{
    if (why != NULL && cap > 0)
        why[0] = '\0';
    if (t == NULL)
        return CSCALP_EINVAL;
    if (t->count < 1 || t->count > CSCALP_LIQ_MAX_BRACKETS) {
        if (why != NULL && cap > 0)
            snprintf(why, cap, "count: must be in [1, %u], got %u", CSCALP_LIQ_MAX_BRACKETS,
                     t->count);
        return CSCALP_ECONFIG_RANGE;
    }
    checker c = {why, cap, CSCALP_OK};
    for (uint32_t i = 0; i < t->count && c.rc == CSCALP_OK; i++)
        check_bracket(&c, t, i);
    return c.rc;
}

/* ------------------------------------------------------------ margins */

/* First tier whose cap holds N (caps inclusive); the last above its cap. */
static uint32_t tier_of(const cscalp_liq_table *t, double notional)
{
    for (uint32_t i = 0; i + 1 < t->count; i++)
        if (notional <= t->brackets[i].notional_cap_usdt)
            return i;
    return t->count - 1;
}

static double mm_in(const cscalp_liq_bracket *b, double notional)
{
    return notional * b->maint_margin_rate - b->maint_amount_usdt;
}

/* Common checks of the notional-taking functions. */
static int notional_args(const cscalp_liq_table *t, double notional, const void *out)
{
    if (t == NULL || out == NULL)
        return CSCALP_EINVAL;
    const int rc = cscalp_liq_table_validate(t, NULL, 0);
    if (rc != CSCALP_OK)
        return rc;
    if (!isfinite(notional))
        return CSCALP_ENONFINITE;
    if (notional < 0.0)
        return CSCALP_ESIZE;
    return CSCALP_OK;
}

int cscalp_liq_bracket_index(const cscalp_liq_table *t, double notional_usdt,
                             uint32_t *index)
{
    const int rc = notional_args(t, notional_usdt, index);
    if (rc != CSCALP_OK) {
        if (index != NULL)
            *index = UINT32_MAX;
        return rc;
    }
    *index = tier_of(t, notional_usdt);
    return CSCALP_OK;
}

int cscalp_liq_maintenance_margin(const cscalp_liq_table *t, double notional_usdt,
                                  double *mm_usdt)
{
    const int rc = notional_args(t, notional_usdt, mm_usdt);
    if (rc != CSCALP_OK) {
        if (mm_usdt != NULL)
            *mm_usdt = (double)NAN;
        return rc;
    }
    *mm_usdt = mm_in(&t->brackets[tier_of(t, notional_usdt)], notional_usdt);
    return CSCALP_OK;
}

int cscalp_liq_max_leverage(const cscalp_liq_table *t, double notional_usdt, double *leverage)
{
    int rc = notional_args(t, notional_usdt, leverage);
    if (rc == CSCALP_OK && notional_usdt > t->brackets[t->count - 1].notional_cap_usdt)
        rc = CSCALP_ESIZE;
    if (rc != CSCALP_OK) {
        if (leverage != NULL)
            *leverage = (double)NAN;
        return rc;
    }
    *leverage = t->brackets[tier_of(t, notional_usdt)].max_leverage;
    return CSCALP_OK;
}

int cscalp_liq_initial_margin(const cscalp_liq_table *t, double notional_usdt,
                              double leverage, double *im_usdt)
{
    double max_lev = (double)NAN;
    int rc = im_usdt == NULL ? CSCALP_EINVAL : cscalp_liq_max_leverage(t, notional_usdt, &max_lev);
    if (rc == CSCALP_OK && !isfinite(leverage))
        rc = CSCALP_ENONFINITE;
    else if (rc == CSCALP_OK && !(leverage >= 1.0 && leverage <= max_lev))
        rc = CSCALP_EINVAL;
    if (rc != CSCALP_OK) {
        if (im_usdt != NULL)
            *im_usdt = (double)NAN;
        return rc;
    }
    *im_usdt = notional_usdt / leverage;
    return CSCALP_OK;
}

/* ------------------------------------------------------------ liquidation */

/* The tier of the liquidation notional. f(P) = equity − MM(Q·P) is
 * strictly increasing in P for a long and strictly decreasing for a short
 * (liquidation.h), so the root lies in the first tier at whose cap f has
 * reached the liquidation side: f >= 0 for a long, f <= 0 for a short.
 * At the cap N = Q·P, equity is WB + side·(N − Q·EP). */
static uint32_t liquidation_tier(const cscalp_liq_table *t, double side, double wallet,
                                 double entry_notional)
{
    for (uint32_t i = 0; i + 1 < t->count; i++) {
        const cscalp_liq_bracket *b = &t->brackets[i];
        const double cap = b->notional_cap_usdt;
        const double f = wallet + side * (cap - entry_notional) - mm_in(b, cap);
        if (side > 0.0 ? f >= 0.0 : f <= 0.0)
            return i;
    }
    return t->count - 1;
}

int cscalp_liq_price(const cscalp_liq_table *t, int side, double size, double entry_price,
                     double isolated_wallet_usdt, cscalp_liq_result *out)
{
    if (out == NULL || t == NULL)
        return CSCALP_EINVAL;
    out->liquidates = 0;
    out->side = side;
    out->price = out->notional_usdt = out->maint_margin_usdt = (double)NAN;
    out->bracket = UINT32_MAX;

    int rc = cscalp_liq_table_validate(t, NULL, 0);
    if (rc != CSCALP_OK)
        return rc;
    if (side != CSCALP_LIQ_LONG && side != CSCALP_LIQ_SHORT)
        return CSCALP_ESIDE;
    if (!isfinite(size) || !isfinite(entry_price) || !isfinite(isolated_wallet_usdt))
        return CSCALP_ENONFINITE;
    if (size < 0.0)
        return CSCALP_ESIZE;
    if (!(entry_price > 0.0))
        return CSCALP_EPRICE;
    if (isolated_wallet_usdt < 0.0)
        return CSCALP_EINVAL;
    const double entry_notional = size * entry_price;
    if (!isfinite(entry_notional))
        return CSCALP_ENONFINITE;

    const double s = (double)side, wb = isolated_wallet_usdt;
    /* Flat, or a long whose wallet covers its entry notional: equity at
     * P → 0 is WB − Q·EP >= 0 = MM(0), and f only rises from there. */
    if (size == 0.0 || (side == CSCALP_LIQ_LONG && wb >= entry_notional)) {
        out->price = out->notional_usdt = out->maint_margin_usdt = 0.0;
        out->bracket = 0;
        return CSCALP_OK;
    }

    const uint32_t k = liquidation_tier(t, s, wb, entry_notional);
    const cscalp_liq_bracket *b = &t->brackets[k];
    const double lp = (wb - s * entry_notional + b->maint_amount_usdt) /
                      (size * b->maint_margin_rate - s * size);
    out->liquidates = 1;
    out->price = lp;
    out->bracket = k;
    out->notional_usdt = size * lp;
    out->maint_margin_usdt = mm_in(b, out->notional_usdt);
    return CSCALP_OK;
}

int cscalp_liq_distance_sigma(const cscalp_liq_result *liq, double mark_price,
                              double sigma_bps, double *sigmas)
{
    int rc = CSCALP_OK;
    if (liq == NULL || sigmas == NULL)
        rc = CSCALP_EINVAL;
    else if (liq->side != CSCALP_LIQ_LONG && liq->side != CSCALP_LIQ_SHORT)
        rc = CSCALP_ESIDE;
    else if (!isfinite(mark_price) || !isfinite(sigma_bps) ||
             (liq->liquidates && !isfinite(liq->price)))
        rc = CSCALP_ENONFINITE;
    else if (!(mark_price > 0.0) || (liq->liquidates && !(liq->price > 0.0)))
        rc = CSCALP_EPRICE;
    else if (!(sigma_bps > 0.0))
        rc = CSCALP_EINVAL;
    if (rc != CSCALP_OK) {
        if (sigmas != NULL)
            *sigmas = (double)NAN;
        return rc;
    }
    *sigmas = liq->liquidates
                  ? (double)liq->side * cscalp_pm_log(mark_price / liq->price) * 1e4 / sigma_bps
                  : (double)INFINITY;
    return CSCALP_OK;
}
