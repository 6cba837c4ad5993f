/* The position and PnL ledger (src/risk/ledger.h, docs/risk.md "Positions
 * and PnL"):
 * - a worked example to the cent: open long, add, funding received, partial
 *   close, funding paid, flip to short, funding both ways, close with a
 *   maker rebate and a maker fee; a short flipped to long; the fee helper;
 *   funding's sign on long, short and flat positions;
 * - a reducing fill equal to the position up to rounding closes it exactly;
 * - a property test over 2 × 10⁶ random fills (two instruments, with
 *   funding and resyncs) against an independent replay: exact integer lots
 *   and cash flows, a long-double cost basis, realised PnL as cash flow +
 *   basis rather than per fill; position, entry, realised PnL, fees,
 *   funding within 1e-6 quote units (and the figures of a naive double sum
 *   beside them);
 * - compensated totals: 10⁶ cent fees sum to 10000.00 exactly;
 * - invalid inputs: each refused with its code, the ledger bit-identical;
 * - set_position reports the difference and keeps the totals;
 * - checkpoints: round trip bit-identical and continues identically, every
 *   truncation refused, every bit flip refused or a valid ledger that saves
 *   back to the same bytes, each invariant's refusal with its message. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "risk/ledger.h"
#include "test_util.h"
#include "util/alloc.h"

#define WHY_CAP 256

/* |actual − expected| below half a cent: both show the same cents. */
#define ASSERT_CENT(actual, expected)                                                              \
    do {                                                                                           \
        const double a_ = (actual), e_ = (expected);                                               \
        ck_assert_msg(fabs(a_ - e_) < 0.005, "%s = %.10f, expected %.2f", #actual, a_, e_);        \
    } while (0)

#define ASSERT_NEAR(actual, expected, tol)                                                         \
    do {                                                                                           \
        const double a_ = (actual), e_ = (expected);                                               \
        ck_assert_msg(fabs(a_ - e_) <= (tol), "%s = %.17g, expected %.17g", #actual, a_, e_);      \
    } while (0)

static const int BUY = CSCALP_SIDE_BUY, SELL = CSCALP_SIDE_SELL;

/* The helpers below run millions of times: they check with a plain `if`
 * and abort on failure, because every passing ck_assert records its
 * location with the forked runner (a system call each). */
static cscalp_ledger_fill fill(cscalp_ledger *l, int side, double price, double size, double fee)
{
    cscalp_ledger_fill f;
    const int rc = cscalp_ledger_apply_fill(l, side, price, size, fee, &f);
    if (rc != CSCALP_OK)
        ck_abort_msg("fill %+d %.17g @ %.17g (fee %.17g): %s", side, size, price, fee,
                     cscalp_error_name(rc));
    return f;
}

static double funding(cscalp_ledger *l, double rate, double mark)
{
    double pay = (double)NAN;
    const int rc = cscalp_ledger_apply_funding(l, rate, mark, &pay);
    if (rc != CSCALP_OK)
        ck_abort_msg("funding %.17g at %.17g: %s", rate, mark, cscalp_error_name(rc));
    return pay;
}

/* ---------------------------------------------------------- worked examples */

START_TEST(worked_example_long_flip_short_close)
{
    const double taker = 5.0, maker = 2.0, rebate = -0.5; /* bps of notional */
    cscalp_ledger l;
    cscalp_ledger_init(&l);

    /* 1. Open long: buy 0.5 @ 30000 taker. Notional 0.5 × 30000 = 15000;
     *    fee 15000 × 0.0005 = 7.50. Position +0.5, entry 30000. */
    cscalp_ledger_fill f = fill(&l, BUY, 30000, 0.5, cscalp_ledger_fee(30000, 0.5, taker));
    ASSERT_CENT(f.realised, 0.00);
    ASSERT_NEAR(cscalp_ledger_position(&l), 0.5, 1e-12);
    ASSERT_CENT(cscalp_ledger_entry_price(&l), 30000.00);
    ASSERT_CENT(cscalp_ledger_fees(&l), 7.50);

    /* 2. Add: buy 0.25 @ 30600 maker. Notional 7650; fee 7650 × 0.0002 =
     *    1.53. Entry (0.5 × 30000 + 0.25 × 30600) / 0.75 = 22650 / 0.75 =
     *    30200. Position +0.75. */
    f = fill(&l, BUY, 30600, 0.25, cscalp_ledger_fee(30600, 0.25, maker));
    ASSERT_CENT(f.realised, 0.00);
    ASSERT_NEAR(f.opened, 0.25, 1e-12);
    ASSERT_NEAR(cscalp_ledger_position(&l), 0.75, 1e-12);
    ASSERT_CENT(cscalp_ledger_entry_price(&l), 30200.00);
    ASSERT_CENT(cscalp_ledger_fees(&l), 9.03); /* 7.50 + 1.53 */
    /*    At mark 30400: unrealised 0.75 × (30400 − 30200) = 150.00;
     *    notional 0.75 × 30400 = 22800.00; equity on a 10000 wallet
     *    10000 + 0 − 9.03 − 0 + 150 = 10140.97. */
    ASSERT_CENT(cscalp_ledger_unrealised(&l, 30400), 150.00);
    ASSERT_CENT(cscalp_ledger_notional(&l, 30400), 22800.00);
    ASSERT_CENT(cscalp_ledger_equity(&l, 10000, 30400), 10140.97);

    /* 3. Funding at rate −0.03 % on the long, mark 30400: payment
     *    0.75 × 30400 × (−0.0003) = −6.84: the long receives 6.84. */
    ASSERT_CENT(funding(&l, -0.0003, 30400), -6.84);

    /* 4. Partial close: sell 0.4 @ 30500 taker. Notional 12200; fee 6.10.
     *    Realised (30500 − 30200) × 0.4 = +120.00. Position +0.35, entry
     *    stays 30200. */
    f = fill(&l, SELL, 30500, 0.4, cscalp_ledger_fee(30500, 0.4, taker));
    ASSERT_CENT(f.realised, 120.00);
    ASSERT_NEAR(f.closed, 0.4, 1e-12);
    ASSERT_NEAR(f.opened, 0.0, 0.0);
    ASSERT_NEAR(cscalp_ledger_position(&l), 0.35, 1e-12);
    ASSERT_CENT(cscalp_ledger_entry_price(&l), 30200.00);
    ASSERT_CENT(cscalp_ledger_realised(&l), 120.00);

    /* 5. Funding at +0.01 %, mark 30000: 0.35 × 30000 × 0.0001 = +1.05:
     *    the long pays 1.05. */
    ASSERT_CENT(funding(&l, 0.0001, 30000), 1.05);

    /* 6. Flip: sell 1.35 @ 30000 taker. Notional 40500; fee 20.25. Closes
     *    0.35: (30000 − 30200) × 0.35 = −70.00; opens 1.0 short @ 30000. */
    f = fill(&l, SELL, 30000, 1.35, cscalp_ledger_fee(30000, 1.35, taker));
    ASSERT_CENT(f.realised, -70.00);
    ASSERT_NEAR(f.closed, 0.35, 1e-12);
    ASSERT_NEAR(f.opened, 1.0, 1e-12);
    ASSERT_NEAR(cscalp_ledger_position(&l), -1.0, 1e-12);
    ASSERT_CENT(cscalp_ledger_entry_price(&l), 30000.00);
    ck_assert_uint_eq(l.flips, 1);
    /*    Short at mark 29900: unrealised −1 × (29900 − 30000) = +100.00. */
    ASSERT_CENT(cscalp_ledger_unrealised(&l, 29900), 100.00);
    ASSERT_CENT(cscalp_ledger_notional(&l, 29900), 29900.00);

    /* 7. Funding at +0.01 %, mark 29900: −1 × 29900 × 0.0001 = −2.99: the
     *    short receives 2.99. */
    ASSERT_CENT(funding(&l, 0.0001, 29900), -2.99);
    /* 8. Funding at −0.02 %, mark 29800: −1 × 29800 × (−0.0002) = +5.96:
     *    the short pays 5.96. */
    ASSERT_CENT(funding(&l, -0.0002, 29800), 5.96);

    /* 9. Partial cover with a maker rebate: buy 0.4 @ 29500 at −0.5 bps.
     *    Notional 11800; fee 11800 × (−0.00005) = −0.59 (received).
     *    Realised (29500 − 30000) × 0.4 × (−1) = +200.00. Position −0.6. */
    f = fill(&l, BUY, 29500, 0.4, cscalp_ledger_fee(29500, 0.4, rebate));
    ASSERT_CENT(f.realised, 200.00);
    ASSERT_NEAR(cscalp_ledger_position(&l), -0.6, 1e-12);
    ASSERT_CENT(cscalp_ledger_entry_price(&l), 30000.00);

    /* 10. Close: buy 0.6 @ 29700 maker. Notional 17820; fee 17820 × 0.0002
     *     = 3.564. Realised (29700 − 30000) × 0.6 × (−1) = +180.00. Flat. */
    f = fill(&l, BUY, 29700, 0.6, cscalp_ledger_fee(29700, 0.6, maker));
    ASSERT_CENT(f.realised, 180.00);
    ck_assert(cscalp_ledger_position(&l) == 0.0 && !signbit(cscalp_ledger_position(&l)));
    ck_assert(cscalp_ledger_entry_price(&l) == 0.0);
    ck_assert(cscalp_ledger_unrealised(&l, 12345) == 0.0);
    ck_assert(cscalp_ledger_notional(&l, 12345) == 0.0);

    /* Totals. Realised 120 − 70 + 200 + 180 = 430.00.
     * Fees 7.50 + 1.53 + 6.10 + 20.25 − 0.59 + 3.564 = 38.354.
     * Funding −6.84 + 1.05 − 2.99 + 5.96 = −2.82 (2.82 received).
     * Turnover 15000 + 7650 + 12200 + 40500 + 11800 + 17820 = 104970.
     * Equity on 10000: 10000 + 430 − 38.354 − (−2.82) = 10394.466. */
    ASSERT_CENT(cscalp_ledger_realised(&l), 430.00);
    ASSERT_CENT(cscalp_ledger_fees(&l), 38.35);
    ASSERT_CENT(cscalp_ledger_funding(&l), -2.82);
    ASSERT_CENT(cscalp_ledger_turnover(&l), 104970.00);
    ASSERT_CENT(cscalp_ledger_equity(&l, 10000, 29000), 10394.47);
    ck_assert_uint_eq(l.fills, 6);
    ck_assert_uint_eq(l.flips, 1);
    ck_assert_uint_eq(l.fundings, 4);
    ck_assert_uint_eq(l.resyncs, 0);
    char why[WHY_CAP];
    ck_assert_int_eq(cscalp_ledger_check(&l, why, sizeof why), CSCALP_OK);
}
END_TEST

START_TEST(flip_short_to_long)
{
    cscalp_ledger l;
    cscalp_ledger_init(&l);
    /* Sell 2 @ 100: short 2 @ 100. Buy 3 @ 90: closes 2 at
     * (90 − 100) × 2 × (−1) = +20.00, opens long 1 @ 90. */
    fill(&l, SELL, 100, 2, 0);
    cscalp_ledger_fill f = fill(&l, BUY, 90, 3, 0);
    ASSERT_CENT(f.realised, 20.00);
    ASSERT_NEAR(f.closed, 2, 0);
    ASSERT_NEAR(f.opened, 1, 0);
    ASSERT_NEAR(cscalp_ledger_position(&l), 1, 0);
    ASSERT_NEAR(cscalp_ledger_entry_price(&l), 90, 0);
    /* Long 1 @ 90 at mark 95: unrealised +5.00; equity 1000 + 20 + 5. */
    ASSERT_CENT(cscalp_ledger_unrealised(&l, 95), 5.00);
    ASSERT_CENT(cscalp_ledger_equity(&l, 1000, 95), 1025.00);
    ck_assert_uint_eq(l.flips, 1);
}
END_TEST

START_TEST(fee_helper_maker_taker_rebate)
{
    /* price × size × bps × 10⁻⁴: taker 5 bps on 15000 = 7.50, maker 2 bps
     * on 7650 = 1.53, rebate −0.5 bps on 11800 = −0.59, zero rate 0. */
    ASSERT_CENT(cscalp_ledger_fee(30000, 0.5, 5), 7.50);
    ASSERT_CENT(cscalp_ledger_fee(30600, 0.25, 2), 1.53);
    ASSERT_CENT(cscalp_ledger_fee(29500, 0.4, -0.5), -0.59);
    ck_assert(cscalp_ledger_fee(29500, 0.4, 0) == 0.0);
    /* A small coin: 100000 DOGE at 0.08123, taker 5 bps: 8123 × 0.0005 =
     * 4.0615 → 4.06. */
    ASSERT_CENT(cscalp_ledger_fee(0.08123, 100000, 5), 4.06);
    ck_assert(!isfinite(cscalp_ledger_fee((double)NAN, 1, 5)));
    cscalp_ledger l;
    cscalp_ledger_init(&l);
    ck_assert_int_eq(
        cscalp_ledger_apply_fill(&l, BUY, 1, 1, cscalp_ledger_fee(1, 1, (double)INFINITY), NULL),
        CSCALP_ENONFINITE);
}
END_TEST

START_TEST(funding_signs)
{
    cscalp_ledger l;
    cscalp_ledger_init(&l);
    /* Flat: pays nothing (+0, not −0), counted. */
    double pay = funding(&l, -0.0001, 100);
    ck_assert(pay == 0.0 && !signbit(pay));
    ck_assert_uint_eq(l.fundings, 1);
    /* Long 2 @ 100, mark 110: position × mark × rate. */
    fill(&l, BUY, 100, 2, 0);
    ASSERT_CENT(funding(&l, 0.001, 110), 0.22);   /* 2 × 110 × 0.001: long pays */
    ASSERT_CENT(funding(&l, -0.001, 110), -0.22); /* long receives */
    /* Short 2: sell 4 @ 100. */
    fill(&l, SELL, 100, 4, 0);
    ASSERT_CENT(funding(&l, 0.001, 110), -0.22); /* −2 × 110 × 0.001: short receives */
    ASSERT_CENT(funding(&l, -0.001, 110), 0.22); /* short pays */
    ASSERT_CENT(cscalp_ledger_funding(&l), 0.00);
    ck_assert_uint_eq(l.fundings, 5);
    /* Funding is a cost in equity: after a 0.22 payment, equity drops 0.22. */
    const double before = cscalp_ledger_equity(&l, 1000, 100);
    funding(&l, -0.001, 110);
    ASSERT_CENT(cscalp_ledger_equity(&l, 1000, 100), before - 0.22);
}
END_TEST

START_TEST(rounding_close_is_exact)
{
    cscalp_ledger l;
    cscalp_ledger_init(&l);
    /* 0.1 + 0.2 is 0.30000000000000004 in binary; selling 0.3 closes it. */
    fill(&l, BUY, 100, 0.1, 0);
    fill(&l, BUY, 100, 0.2, 0);
    ck_assert(cscalp_ledger_position(&l) != 0.3);
    cscalp_ledger_fill f = fill(&l, SELL, 101, 0.3, 0);
    ck_assert(cscalp_ledger_position(&l) == 0.0 && !signbit(cscalp_ledger_position(&l)));
    ck_assert(cscalp_ledger_entry_price(&l) == 0.0);
    ck_assert(f.opened == 0.0);
    ASSERT_CENT(f.realised, 0.30);
    ck_assert_uint_eq(l.flips, 0);
    /* Ten buys of 0.1 closed by one sell of 1.0, short side too. */
    for (int i = 0; i < 10; i++)
        fill(&l, SELL, 50, 0.1, 0);
    f = fill(&l, BUY, 49, 1.0, 0);
    ck_assert(cscalp_ledger_position(&l) == 0.0);
    ASSERT_CENT(f.realised, 1.00);
    /* A real remainder, 10⁻⁸ of the position, stays. */
    fill(&l, BUY, 100, 1.0, 0);
    fill(&l, SELL, 100, 1.0 - 1e-8, 0);
    ASSERT_NEAR(cscalp_ledger_position(&l), 1e-8, 1e-15);
    ck_assert(cscalp_ledger_entry_price(&l) == 100.0);
    /* So does a flip by 10⁻⁸. */
    fill(&l, SELL, 100, 2e-8, 0);
    ASSERT_NEAR(cscalp_ledger_position(&l), -1e-8, 1e-15);
    ck_assert_uint_eq(l.flips, 1);
}
END_TEST

/* ------------------------------------------------------ independent replay */

/* An instrument: prices are integer ticks, sizes integer lots. The ledger
 * gets them as doubles (p / ticks_per_quote, n / lots_per_contract); the
 * reference keeps the integers. */
typedef struct instrument {
    const char *name;
    int64_t ticks_per_quote, lots_per_contract;
    int64_t price0, price_floor, price_step; /* ticks */
    int64_t max_fill, max_position;          /* lots */
} instrument;

/* The reference: exact integers for the position (lots), the cash flow
 * and turnover (lot·tick units: −Σ q·p, Σ |q|·p) and the fees (lot·tick·
 * half-bps units: the rates are 5, 2 and −0.5 bps); a long-double signed
 * cost basis B = position · entry (quote) and funding. Realised PnL is
 * cash + B + what resyncs moved the basis by (resync_adjust): the identity
 * realised + unrealised = cash + position·mark of average-cost accounting,
 * never a per-fill difference as in the ledger. */
typedef struct ref {
    long double unit; /* quote per lot·tick */
    int64_t pos, cash, turnover, fees_half_bps;
    long double basis, resync_adjust, funding;
    uint64_t fills, flips;
} ref;

static long double ref_fees(const ref *r)
{
    return (long double)r->fees_half_bps * r->unit * 0.5e-4L;
}

static long double ref_realised(const ref *r)
{
    return (long double)r->cash * r->unit + r->basis + r->resync_adjust;
}

static void ref_fill(ref *r, int64_t q, int64_t p, int64_t half_bps)
{
    const int64_t old = r->pos, next = old + q;
    if (old == 0 || (old > 0) == (q > 0))
        r->basis += (long double)(q * p) * r->unit;
    else if (next == 0)
        r->basis = 0;
    else if ((next > 0) == (old > 0))
        r->basis *= (long double)next / (long double)old;
    else {
        r->basis = (long double)(next * p) * r->unit;
        r->flips++;
    }
    r->pos = next;
    r->cash -= q * p;
    r->fees_half_bps += llabs(q) * p * half_bps;
    r->turnover += llabs(q) * p;
    r->fills++;
}

typedef struct replay_figures {
    double pos, entry, realised, fees, funding, turnover_rel; /* largest differences */
    double naive_realised, naive_fees;                        /* of a naive double sum */
    long incr, reduce, close, flip, fund, resync;
} replay_figures;

/* The ledger's value a against the reference's b. */
static void track(double *worst, double a, long double b)
{
    const double d = (double)fabsl((long double)a - b);
    if (d > *worst)
        *worst = d;
}

/* n random fills (and fundings and resyncs between them) on `ins`, the
 * ledger against the reference after each event; figures printed when
 * verbose, the final ledger in *out (may be NULL). */
static replay_figures replay(const instrument *ins, uint64_t seed, long n, int verbose,
                             cscalp_ledger *out)
{
    static const int64_t half_bps[] = {10, 4, -1}; /* taker 5, maker 2, rebate −0.5 bps */
    tu_rng g = {seed};
    cscalp_ledger l;
    cscalp_ledger_init(&l);
    ref r = {0};
    r.unit = 1.0L / ((long double)ins->ticks_per_quote * (long double)ins->lots_per_contract);
    replay_figures fg = {0};
    double naive_realised = 0, naive_fees = 0;
    const double tpq = (double)ins->ticks_per_quote, lpc = (double)ins->lots_per_contract;
    int64_t p = ins->price0;
    for (long i = 0; i < n;) {
        p += tu_int(&g, (int)(2 * ins->price_step + 1)) - ins->price_step;
        if (p < ins->price_floor)
            p = ins->price_floor + tu_int(&g, (int)ins->price_step);
        const double price = (double)p / tpq;
        const double u = tu_uniform(&g);
        if (u < 0.04) { /* funding at up to ±0.3 %, mark a few ticks off */
            const int64_t rate_e6 = tu_int(&g, 6001) - 3000, mark = p + tu_int(&g, 7) - 3;
            const double pay = funding(&l, (double)rate_e6 / 1e6, (double)mark / tpq);
            const long double ref_pay =
                (long double)(r.pos * mark) * r.unit * ((long double)rate_e6 / 1e6L);
            r.funding += ref_pay;
            track(&fg.funding, pay, ref_pay);
            fg.fund++;
        } else if (u < 0.041 && r.pos != 0) { /* resync: the venue says otherwise */
            const int64_t to = r.pos + tu_int(&g, 21) - 10;
            const double entry = cscalp_ledger_entry_price(&l) + (double)(tu_int(&g, 5) - 2) / tpq;
            double diff = (double)NAN;
            if (cscalp_ledger_set_position(&l, (double)to / lpc, entry, &diff) != CSCALP_OK ||
                !(fabs(diff - (double)(to - r.pos) / lpc) <= 1e-9))
                ck_abort_msg("event %ld: resync to %lld lots at %.17g", i, (long long)to, entry);
            const long double basis =
                to == 0 ? 0.0L : (long double)to / (long double)lpc * (long double)entry;
            r.resync_adjust += r.basis - basis;
            r.basis = basis;
            r.pos = to;
            fg.resync++;
        } else {
            const int64_t held = llabs(r.pos);
            int side = tu_int(&g, 2) ? BUY : SELL;
            int64_t lots = 1 + tu_int(&g, (int)ins->max_fill);
            if (r.pos != 0) {
                const double k = tu_uniform(&g);
                const int against = r.pos > 0 ? SELL : BUY;
                if (k < 0.40 && held + lots <= ins->max_position) {
                    side = -against;
                    fg.incr++;
                } else if (k < 0.70 && held > 1) {
                    side = against;
                    lots = 1 + tu_int(&g, (int)(held - 1));
                    fg.reduce++;
                } else if (k < 0.82) {
                    side = against;
                    lots = held;
                    fg.close++;
                } else {
                    side = against;
                    lots = held + lots;
                    fg.flip++;
                }
            } else {
                fg.incr++;
            }
            const int64_t rate = half_bps[tu_int(&g, 3)];
            const double size = (double)lots / lpc;
            const double fee = cscalp_ledger_fee(price, size, 0.5 * (double)rate);
            const cscalp_ledger_fill f = fill(&l, side, price, size, fee);
            naive_realised += f.realised;
            naive_fees += fee;
            ref_fill(&r, side * lots, p, rate);
            i++;
        }
        /* After every event. */
        const double pos = cscalp_ledger_position(&l);
        if ((pos == 0.0) != (r.pos == 0))
            ck_abort_msg("event %ld: position %.17g, reference %lld lots", i, pos,
                         (long long)r.pos);
        const long double ref_pos = (long double)r.pos / (long double)lpc;
        track(&fg.pos, pos, ref_pos);
        if (r.pos != 0)
            track(&fg.entry, cscalp_ledger_entry_price(&l), r.basis / ref_pos);
        track(&fg.realised, cscalp_ledger_realised(&l), ref_realised(&r));
        track(&fg.fees, cscalp_ledger_fees(&l), ref_fees(&r));
        const long double turnover = (long double)r.turnover * r.unit;
        const double to_rel = (double)(fabsl((long double)cscalp_ledger_turnover(&l) - turnover) /
                                       (turnover > 1 ? turnover : 1));
        if (to_rel > fg.turnover_rel)
            fg.turnover_rel = to_rel;
        if (!(fg.pos <= 1e-9 && fg.entry <= 1e-6 && fg.realised <= 1e-6 && fg.fees <= 1e-6 &&
              fg.funding <= 1e-6 && fg.turnover_rel <= 1e-15))
            ck_abort_msg("event %ld: differences pos %g entry %g realised %g fees %g funding %g "
                         "turnover %g",
                         i, fg.pos, fg.entry, fg.realised, fg.fees, fg.funding, fg.turnover_rel);
    }
    track(&fg.naive_realised, naive_realised, ref_realised(&r));
    track(&fg.naive_fees, naive_fees, ref_fees(&r));
    ck_assert_uint_eq(l.fills, r.fills);
    ck_assert_uint_eq(l.flips, r.flips);
    ck_assert_uint_eq(l.fundings, (uint64_t)fg.fund);
    ck_assert_uint_eq(l.resyncs, (uint64_t)fg.resync);
    char why[WHY_CAP];
    ck_assert_msg(cscalp_ledger_check(&l, why, sizeof why) == CSCALP_OK, "%s", why);
    if (verbose)
        printf("%s, %ld fills (%ld increase/open, %ld reduce, %ld close, %ld flip), %ld fundings, "
               "%ld resyncs: realised %.2f, fees %.2f, funding %.2f, turnover %.0f\n"
               "  largest difference from the replay: position %.3g contracts, entry %.3g, "
               "realised %.3g, fees %.3g, funding %.3g (quote), turnover %.3g relative\n"
               "  a naive double sum of the same fills: realised off by %.3g, fees by %.3g\n",
               ins->name, n, fg.incr, fg.reduce, fg.close, fg.flip, fg.fund, fg.resync,
               cscalp_ledger_realised(&l), cscalp_ledger_fees(&l), cscalp_ledger_funding(&l),
               cscalp_ledger_turnover(&l), fg.pos, fg.entry, fg.realised, fg.fees, fg.funding,
               fg.turnover_rel, fg.naive_realised, fg.naive_fees);
    if (out != NULL)
        *out = l;
    return fg;
}

static const instrument btc = {
    "BTCUSDT-like (tick 0.1, lot 0.001)", 10, 1000, 300000, 100000, 50, 2000, 100000};
static const instrument doge = {
    "DOGEUSDT-like (tick 0.00001, lot 1)", 100000, 1, 8000, 2000, 5, 50000, 2000000};

START_TEST(random_fills_match_replay_btc) { replay(&btc, 0x5eed0001, 1000000, 1, NULL); }
END_TEST

START_TEST(random_fills_match_replay_doge) { replay(&doge, 0x5eed0002, 1000000, 1, NULL); }
END_TEST

START_TEST(compensated_totals_do_not_drift)
{
    cscalp_ledger l;
    cscalp_ledger_init(&l);
    /* 10⁶ fees of one cent and 10⁶ round trips each realising one cent
     * (buy 1 @ 100, sell 1 @ 100.01). The cent is not a binary fraction:
     * 0.01 is 0.01 + 2.1e-19 and 100.01 − 100 is 0.01 + 5.1e-15, so the
     * exact totals of what the ledger was given are 10000 + 2.1e-13 and
     * 10000 + 5.1e-9. */
    double naive = 0;
    for (int i = 0; i < 1000000; i++) {
        fill(&l, BUY, 100.0, 1.0, 0.01);
        fill(&l, SELL, 100.01, 1.0, 0.0);
        naive += 0.01;
    }
    ck_assert(cscalp_ledger_fees(&l) == 10000.0);
    ASSERT_NEAR(cscalp_ledger_realised(&l), 10000.0 + 1e6 * (100.01 - 100.0 - 0.01), 1e-9);
    ck_assert(cscalp_ledger_position(&l) == 0.0);
    printf("10^6 cent fees: compensated %.12f, naive %.12f\n", cscalp_ledger_fees(&l), naive);
}
END_TEST

/* ------------------------------------------------------------- refusals */

static void some_state(cscalp_ledger *l)
{
    cscalp_ledger_init(l);
    fill(l, BUY, 30000.1, 0.7, 3.1);
    fill(l, SELL, 30010.3, 0.2, -0.1);
    funding(l, 0.0001, 30005.5);
}

#define EXPECT_UNCHANGED(call, code)                                                               \
    do {                                                                                           \
        cscalp_ledger before_ = l;                                                                 \
        const int rc_ = (call);                                                                    \
        ck_assert_msg(rc_ == (code), "%s: %s, expected %s", #call, cscalp_error_name(rc_),         \
                      cscalp_error_name(code));                                                    \
        ck_assert_msg(memcmp(&before_, &l, sizeof l) == 0, "%s changed the ledger", #call);        \
    } while (0)

START_TEST(invalid_inputs_leave_state_unchanged)
{
    cscalp_ledger l;
    some_state(&l);
    cscalp_ledger_fill f;
    double d;
    /* Side first, then finiteness, then price, then size. */
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, 0, 100, 1, 0, &f), CSCALP_ESIDE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, 2, 100, 1, 0, &f), CSCALP_ESIDE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, -2, (double)NAN, 1, 0, &f), CSCALP_ESIDE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, (double)NAN, 1, 0, &f), CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, (double)INFINITY, 1, 0, &f),
                     CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, SELL, 100, (double)NAN, 0, &f),
                     CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, SELL, 100, (double)INFINITY, 0, &f),
                     CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, SELL, 100, 1, (double)NAN, &f),
                     CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, SELL, 100, 1, -(double)INFINITY, &f),
                     CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, -1, -1, 0, &f), CSCALP_EPRICE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, 0, 1, 0, &f), CSCALP_EPRICE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, -0.0, 1, 0, &f), CSCALP_EPRICE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, -100, 1, 0, &f), CSCALP_EPRICE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, 100, 0, 0, &f), CSCALP_ESIZE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, 100, -0.0, 0, &f), CSCALP_ESIZE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, SELL, 100, -1, 0, &f), CSCALP_ESIZE);
    /* Finite inputs whose results overflow. */
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, DBL_MAX, 2, 0, &f), CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, SELL, 1e300, 1e10, 0, &f), CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_fill(&l, BUY, 100, DBL_MAX, 0, &f), CSCALP_ENONFINITE);
    {
        cscalp_ledger big;
        cscalp_ledger_init(&big);
        fill(&big, BUY, 1, 1, DBL_MAX);
        cscalp_ledger before = big;
        ck_assert_int_eq(cscalp_ledger_apply_fill(&big, BUY, 1, 1, DBL_MAX, NULL),
                         CSCALP_ENONFINITE);
        ck_assert(memcmp(&before, &big, sizeof big) == 0);
        /* A realised PnL beyond the doubles: 10 long at 1e308 sold at 1. */
        ck_assert_int_eq(cscalp_ledger_set_position(&big, 10, 1e308, NULL), CSCALP_OK);
        before = big;
        ck_assert_int_eq(cscalp_ledger_apply_fill(&big, SELL, 1, 5, 0, NULL), CSCALP_ENONFINITE);
        ck_assert(memcmp(&before, &big, sizeof big) == 0);
    }
    /* Funding. */
    EXPECT_UNCHANGED(cscalp_ledger_apply_funding(&l, (double)NAN, 100, &d), CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_funding(&l, 0.0001, (double)INFINITY, &d),
                     CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_funding(&l, 0.0001, 0, &d), CSCALP_EPRICE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_funding(&l, 0.0001, -5, &d), CSCALP_EPRICE);
    EXPECT_UNCHANGED(cscalp_ledger_apply_funding(&l, DBL_MAX, DBL_MAX, &d), CSCALP_ENONFINITE);
    /* Resync. */
    EXPECT_UNCHANGED(cscalp_ledger_set_position(&l, (double)NAN, 100, &d), CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_set_position(&l, 0, (double)NAN, &d), CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_set_position(&l, 1, (double)INFINITY, &d), CSCALP_ENONFINITE);
    EXPECT_UNCHANGED(cscalp_ledger_set_position(&l, 1, 0, &d), CSCALP_EPRICE);
    EXPECT_UNCHANGED(cscalp_ledger_set_position(&l, -1, -100, &d), CSCALP_EPRICE);
    ck_assert_int_eq(cscalp_ledger_set_position(&l, -DBL_MAX, 1, &d), CSCALP_OK);
    EXPECT_UNCHANGED(cscalp_ledger_set_position(&l, DBL_MAX, 1, &d), CSCALP_ENONFINITE);
    char why[WHY_CAP];
    ck_assert_int_eq(cscalp_ledger_check(&l, why, sizeof why), CSCALP_OK);
}
END_TEST

START_TEST(set_position_resyncs)
{
    cscalp_ledger l;
    some_state(&l); /* long 0.5 @ 30000.1 */
    const double realised = cscalp_ledger_realised(&l), fees = cscalp_ledger_fees(&l);
    double diff = (double)NAN;
    /* The venue says long 0.8 @ 30050: a 0.3 buy was missed. */
    ck_assert_int_eq(cscalp_ledger_set_position(&l, 0.8, 30050, &diff), CSCALP_OK);
    ASSERT_NEAR(diff, 0.3, 1e-12);
    ck_assert(cscalp_ledger_position(&l) == 0.8 && cscalp_ledger_entry_price(&l) == 30050);
    ck_assert(cscalp_ledger_realised(&l) == realised && cscalp_ledger_fees(&l) == fees);
    /* Short 0.2 @ 30100. */
    ck_assert_int_eq(cscalp_ledger_set_position(&l, -0.2, 30100, &diff), CSCALP_OK);
    ASSERT_NEAR(diff, -1.0, 1e-12);
    /* Flat: the entry is ignored and stored as 0; −0 is stored as +0. */
    ck_assert_int_eq(cscalp_ledger_set_position(&l, -0.0, 123, &diff), CSCALP_OK);
    ASSERT_NEAR(diff, 0.2, 1e-12);
    ck_assert(cscalp_ledger_position(&l) == 0.0 && !signbit(cscalp_ledger_position(&l)));
    ck_assert(cscalp_ledger_entry_price(&l) == 0.0);
    ck_assert_int_eq(cscalp_ledger_set_position(&l, 0, 0, NULL), CSCALP_OK);
    ck_assert_uint_eq(l.resyncs, 4);
    ck_assert(cscalp_ledger_realised(&l) == realised && cscalp_ledger_fees(&l) == fees);
    char why[WHY_CAP];
    ck_assert_int_eq(cscalp_ledger_check(&l, why, sizeof why), CSCALP_OK);
    /* Fills after a resync work from the venue's position and entry. */
    ck_assert_int_eq(cscalp_ledger_set_position(&l, 1, 200, NULL), CSCALP_OK);
    cscalp_ledger_fill f = fill(&l, SELL, 210, 0.5, 0);
    ASSERT_CENT(f.realised, 5.00); /* (210 − 200) × 0.5 */
}
END_TEST

/* ----------------------------------------------------------- checkpoints */

typedef struct bytes {
    uint8_t *data;
    size_t len;
} bytes;

static bytes save(const cscalp_ledger *l)
{
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_ledger_save(l, &w);
    ck_assert(!w.failed);
    bytes b = {malloc(w.len), w.len};
    memcpy(b.data, w.data, w.len);
    cscalp_wbuf_free(&w);
    return b;
}

/* Load from a heap copy of exactly len bytes (ASan sees any overread). */
static int load(cscalp_ledger *l, const uint8_t *data, size_t len, char *why)
{
    uint8_t *c = malloc(len > 0 ? len : 1);
    if (len > 0)
        memcpy(c, data, len);
    cscalp_rbuf r;
    cscalp_rbuf_init(&r, c, len);
    why[0] = '\0';
    const int rc = cscalp_ledger_load(l, &r, why, WHY_CAP);
    free(c);
    return rc;
}

static int same(bytes a, bytes b) { return a.len == b.len && memcmp(a.data, b.data, a.len) == 0; }

START_TEST(save_load_round_trip)
{
    cscalp_ledger a;
    replay(&btc, 0x5eed0003, 20000, 0, &a);
    ck_assert(a.realised.lo != 0.0 || a.fees.lo != 0.0); /* the low parts travel too */
    bytes s = save(&a);
    ck_assert_uint_eq(s.len, 112);
    cscalp_ledger b;
    some_state(&b);
    char why[WHY_CAP];
    ck_assert_msg(load(&b, s.data, s.len, why) == CSCALP_OK, "%s", why);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    bytes s2 = save(&b);
    ck_assert(same(s, s2));
    /* Both continue identically. */
    for (int i = 0; i < 1000; i++) {
        const double price = 30000 + 0.1 * (i % 37), size = 0.001 * (1 + i % 13);
        const int side = (i * 7) % 3 ? BUY : SELL;
        fill(&a, side, price, size, 0.01 * (i % 5));
        fill(&b, side, price, size, 0.01 * (i % 5));
        if (i % 100 == 0) {
            funding(&a, 0.0001, price);
            funding(&b, 0.0001, price);
        }
    }
    bytes ea = save(&a), eb = save(&b);
    ck_assert(same(ea, eb));
    /* Deterministic: the same stream gives the same bytes. */
    cscalp_ledger c;
    replay(&btc, 0x5eed0003, 20000, 0, &c);
    bytes sc = save(&c);
    ck_assert(same(s, sc));
    free(s.data);
    free(s2.data);
    free(ea.data);
    free(eb.data);
    free(sc.data);
}
END_TEST

START_TEST(truncation_and_bit_flips)
{
    cscalp_ledger a;
    replay(&btc, 0x5eed0004, 5000, 0, &a);
    ck_assert(cscalp_ledger_position(&a) != 0.0);
    bytes s = save(&a);
    cscalp_ledger t;
    some_state(&t);
    const cscalp_ledger keep = t;
    char why[WHY_CAP];
    for (size_t len = 0; len < s.len; len++) {
        ck_assert_int_eq(load(&t, s.data, len, why), CSCALP_ECORRUPT);
        ck_assert_msg(strcmp(why, "ledger: truncated") == 0, "cut at %zu: %s", len, why);
        ck_assert(memcmp(&t, &keep, sizeof t) == 0);
    }
    long refused = 0, valid = 0;
    for (size_t i = 0; i < s.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            s.data[i] ^= (uint8_t)(1u << bit);
            cscalp_ledger u = keep;
            const int rc = load(&u, s.data, s.len, why);
            if (rc == CSCALP_OK) {
                /* A state the ledger can be in, that saves to these bytes. */
                char why2[WHY_CAP];
                ck_assert_msg(cscalp_ledger_check(&u, why2, sizeof why2) == CSCALP_OK,
                              "byte %zu bit %d loaded an invalid ledger: %s", i, bit, why2);
                bytes back = save(&u);
                ck_assert(same(back, s));
                free(back.data);
                valid++;
            } else {
                ck_assert_msg(rc == CSCALP_ECORRUPT, "byte %zu bit %d: %s", i, bit,
                              cscalp_error_name(rc));
                ck_assert(strncmp(why, "ledger: ", 8) == 0 && strlen(why) > 12);
                ck_assert(memcmp(&u, &keep, sizeof u) == 0);
                refused++;
            }
            s.data[i] ^= (uint8_t)(1u << bit);
        }
    printf("checkpoint of %zu bytes: %zu truncations refused; %ld bit flips: %ld refused, %ld "
           "load a valid ledger\n",
           s.len, s.len, refused + valid, refused, valid);
    free(s.data);
}
END_TEST

/* A ledger with one invariant broken, saved (save does not check) and
 * loaded: refused with `needle` in the message. */
static void expect_refused(const cscalp_ledger *bad, const char *needle)
{
    bytes s = save(bad);
    cscalp_ledger t;
    some_state(&t);
    const cscalp_ledger keep = t;
    char why[WHY_CAP];
    ck_assert_int_eq(load(&t, s.data, s.len, why), CSCALP_ECORRUPT);
    ck_assert_msg(strstr(why, needle) != NULL, "message \"%s\" lacks \"%s\"", why, needle);
    ck_assert(memcmp(&t, &keep, sizeof t) == 0);
    char why2[WHY_CAP];
    ck_assert_int_eq(cscalp_ledger_check(bad, why2, sizeof why2), CSCALP_ECORRUPT);
    free(s.data);
}

/* A copy of `good` edited by the statements `edit` (on b), refused. */
#define REFUSED(edit, needle)                                                                      \
    do {                                                                                           \
        cscalp_ledger b = good;                                                                    \
        edit;                                                                                      \
        expect_refused(&b, needle);                                                                \
    } while (0)

START_TEST(load_refuses_each_invariant)
{
    cscalp_ledger good;
    some_state(&good); /* long 0.5 @ 30000.1, non-zero totals */
    REFUSED(b.position = (double)NAN, "position is not finite");
    REFUSED(b.entry_price = (double)INFINITY, "entry price is not finite");
    REFUSED(b.realised.lo = (double)NAN, "realised PnL is not finite");
    REFUSED(b.fees.hi = -(double)INFINITY, "fees is not finite");
    REFUSED(b.funding.lo = b.funding.hi, "funding: compensation");
    REFUSED(b.turnover.lo = 1.0, "turnover: compensation");
    REFUSED(b.position = 0.0, "flat but the entry price");
    REFUSED(b.position = -0.0; b.entry_price = 0.0, "position is -0");
    REFUSED(b.position = 0.0; b.entry_price = -0.0, "flat but the entry price is -0");
    REFUSED(b.entry_price = 0.0, "must be > 0");
    REFUSED(b.entry_price = -5.0, "must be > 0");
    REFUSED(b.turnover.hi = -1.0; b.turnover.lo = 0.0, "turnover -1 is negative");
    REFUSED(b.flips = b.fills + 1, "flips but only");
    REFUSED(b.fills = 0; b.flips = 0, "no fills but");
    /* The edge cases that are valid: flat after fills, new, resynced
     * without fills. */
    char why[WHY_CAP];
    cscalp_ledger b = good;
    b.position = 0.0;
    b.entry_price = 0.0;
    ck_assert_msg(cscalp_ledger_check(&b, why, sizeof why) == CSCALP_OK, "%s", why);
    cscalp_ledger_init(&b);
    ck_assert_msg(cscalp_ledger_check(&b, why, sizeof why) == CSCALP_OK, "%s", why);
    ck_assert_int_eq(cscalp_ledger_set_position(&b, 2, 50, NULL), CSCALP_OK);
    ck_assert_msg(cscalp_ledger_check(&b, why, sizeof why) == CSCALP_OK, "%s", why);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc = tcase_create("ledger");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, worked_example_long_flip_short_close);
    tcase_add_test(tc, flip_short_to_long);
    tcase_add_test(tc, fee_helper_maker_taker_rebate);
    tcase_add_test(tc, funding_signs);
    tcase_add_test(tc, rounding_close_is_exact);
    tcase_add_test(tc, random_fills_match_replay_btc);
    tcase_add_test(tc, random_fills_match_replay_doge);
    tcase_add_test(tc, compensated_totals_do_not_drift);
    tcase_add_test(tc, invalid_inputs_leave_state_unchanged);
    tcase_add_test(tc, set_position_resyncs);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, truncation_and_bit_flips);
    tcase_add_test(tc, load_refuses_each_invariant);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
