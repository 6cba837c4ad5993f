/* The simulated venue (cryptoscalp_sim.h, docs/sim.md "Simulated venue"):
 * worked examples for every rule — latency, taker fills walking the book,
 * queue position and trades through, post-only rejection, fees by liquidity
 * side, reduce-only, funding at settlements (default grid and events),
 * isolated liquidation at Binance's formula with its fee — and the report's
 * numbers against hand arithmetic. All through the public header. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/test_util.h"
#include "cryptoscalp_sim.h"

#define MS 1000000LL
#define T0 1700000000000000000LL /* a multiple of 8 h? no: see funding test */

static cscalp_sim_venue *open_venue(cscalp_sim_venue_config *cfg)
{
    cscalp_sim_venue *v = NULL;
    char err[256];
    const int rc = cscalp_sim_venue_open(&v, cfg, NULL, err, sizeof err);
    ck_assert_msg(rc == CSCALP_OK, "open: %s", err);
    return v;
}

static cscalp_sim_venue_config defaults(void)
{
    cscalp_sim_venue_config c;
    c.size = sizeof c;
    ck_assert_int_eq(cscalp_sim_venue_config_init(&c), CSCALP_OK);
    return c;
}

static void quote(cscalp_sim_venue *v, int64_t t, double bid, double bsz, double ask, double asz)
{
    const cscalp_quote q = {t, bid, bsz, ask, asz};
    ck_assert_int_eq(cscalp_sim_venue_on_quote(v, &q), CSCALP_OK);
}

static void trade(cscalp_sim_venue *v, int64_t t, double price, double size, int side)
{
    const cscalp_trade tr = {t, price, size, side, 0, 0};
    ck_assert_int_eq(cscalp_sim_venue_on_trade(v, &tr), CSCALP_OK);
}

static uint64_t next_id = 1;

static uint64_t send_new(cscalp_sim_venue *v, int64_t t, int side, int type, double price,
                         double qty, uint32_t flags)
{
    cscalp_intent in;
    memset(&in, 0, sizeof in);
    in.size = sizeof in;
    in.kind = CSCALP_INTENT_NEW;
    in.client_id = next_id++;
    in.ts_ns = t;
    in.side = side;
    in.type = type;
    in.price = price;
    in.quantity = qty;
    in.flags = flags;
    ck_assert_int_eq(cscalp_sim_venue_submit(v, &in), CSCALP_OK);
    return in.client_id;
}

static int poll(cscalp_sim_venue *v, int64_t now, cscalp_order_update *u, int cap)
{
    u[0].size = sizeof u[0];
    const int n = cscalp_sim_venue_poll(v, now, u, (size_t)cap);
    ck_assert_int_ge(n, 0);
    return n;
}

static cscalp_sim_venue_account account(const cscalp_sim_venue *v)
{
    cscalp_sim_venue_account a;
    a.size = sizeof a;
    ck_assert_int_eq(cscalp_sim_venue_get_account(v, &a), CSCALP_OK);
    return a;
}

START_TEST(latency_then_taker_walks_the_book)
{
    cscalp_sim_venue_config c = defaults();
    ck_assert(c.maker_fee_bps == 2 && c.taker_fee_bps == 5);
    ck_assert_int_eq(c.order_latency_ns, 5 * MS);
    cscalp_sim_venue *v = open_venue(&c);
    cscalp_book b;
    memset(&b, 0, sizeof b);
    b.ts_ns = T0;
    b.bid_count = 1;
    b.ask_count = 3;
    b.bids[0] = (cscalp_level){100.0, 5};
    b.asks[0] = (cscalp_level){100.1, 1};
    b.asks[1] = (cscalp_level){100.2, 1};
    b.asks[2] = (cscalp_level){100.3, 5};
    ck_assert_int_eq(cscalp_sim_venue_on_book(v, &b), CSCALP_OK);
    const uint64_t id = send_new(v, T0, CSCALP_SIDE_BUY, CSCALP_ORDER_MARKET, 100.25, 2.5, 0);
    cscalp_order_update u[8];
    /* Not there yet at 4 ms; arrives at 5 ms, the host hears at 10 ms. */
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0 + 4 * MS), CSCALP_OK);
    ck_assert_uint_eq(account(v).fills, 0);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0 + 5 * MS), CSCALP_OK);
    ck_assert_int_eq(poll(v, T0 + 9 * MS, u, 8), 0);
    const int n = poll(v, T0 + 10 * MS, u, 8);
    /* ACK, 1 @ 100.1, 1 @ 100.2, then the protection price (100.25) stops
     * it before 100.3: the 0.5 left expires (IOC). */
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(u[0].type, CSCALP_UPDATE_ACK);
    ck_assert_int_eq(u[1].type, CSCALP_UPDATE_FILL);
    ck_assert_double_eq(u[1].fill_price, 100.1);
    ck_assert_double_eq(u[1].fill_quantity, 1);
    ck_assert_double_eq_tol(u[1].fee, 100.1 * 5e-4, 1e-12);
    ck_assert_int_eq(u[1].liquidity, CSCALP_LIQUIDITY_TAKER);
    ck_assert_double_eq(u[2].fill_price, 100.2);
    ck_assert_int_eq(u[3].type, CSCALP_UPDATE_EXPIRED);
    ck_assert_uint_eq(u[3].client_id, id);
    ck_assert(u[1].fill_id != 0 && u[2].fill_id != u[1].fill_id);
    const cscalp_sim_venue_account a = account(v);
    ck_assert_double_eq_tol(a.position, 2.0, 1e-12);
    ck_assert_double_eq_tol(a.entry_price, 100.15, 1e-9);
    cscalp_sim_venue_close(v);
}
END_TEST

START_TEST(queue_position_and_trades_through)
{
    cscalp_sim_venue_config c = defaults();
    c.order_latency_ns = 0;
    c.report_latency_ns = 0;
    cscalp_sim_venue *v = open_venue(&c);
    quote(v, T0, 100.0, 3.0, 100.1, 4.0);
    /* Joins the bid behind the 3 displayed there. */
    send_new(v, T0, CSCALP_SIDE_BUY, CSCALP_ORDER_POST_ONLY, 100.0, 1.5, 0);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0), CSCALP_OK);
    cscalp_order_update u[8];
    ck_assert_int_eq(poll(v, T0, u, 8), 1);
    ck_assert_int_eq(u[0].type, CSCALP_UPDATE_ACK);
    trade(v, T0 + 1 * MS, 100.0, 2.0, CSCALP_SIDE_SELL); /* 1 left ahead */
    trade(v, T0 + 2 * MS, 100.0, 0.5, CSCALP_SIDE_BUY);  /* a buyer: not against us */
    ck_assert_int_eq(poll(v, T0 + 2 * MS, u, 8), 0);
    trade(v, T0 + 3 * MS, 100.0, 2.0, CSCALP_SIDE_SELL); /* 1 ahead, 1 fills us */
    ck_assert_int_eq(poll(v, T0 + 3 * MS, u, 8), 1);
    ck_assert_int_eq(u[0].type, CSCALP_UPDATE_FILL);
    ck_assert_double_eq(u[0].fill_quantity, 1.0);
    ck_assert_double_eq(u[0].fill_price, 100.0);
    ck_assert_int_eq(u[0].liquidity, CSCALP_LIQUIDITY_MAKER);
    ck_assert_double_eq_tol(u[0].fee, 100.0 * 2e-4, 1e-12);
    /* A trade below the price: through it, the rest (0.5) fills. */
    trade(v, T0 + 4 * MS, 99.9, 0.1, CSCALP_SIDE_SELL);
    ck_assert_int_eq(poll(v, T0 + 4 * MS, u, 8), 1);
    ck_assert_double_eq(u[0].fill_quantity, 0.5);
    ck_assert_uint_eq(account(v).working_orders, 0);

    /* The touch moving through a resting sell fills it. */
    send_new(v, T0 + 5 * MS, CSCALP_SIDE_SELL, CSCALP_ORDER_POST_ONLY, 100.2, 1.0, 0);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0 + 5 * MS), CSCALP_OK);
    quote(v, T0 + 6 * MS, 100.2, 1.0, 100.3, 1.0);
    const int n = poll(v, T0 + 6 * MS, u, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(u[1].type, CSCALP_UPDATE_FILL);
    ck_assert_double_eq(u[1].fill_price, 100.2);
    ck_assert_double_eq_tol(account(v).position, 0.5, 1e-12);
    cscalp_sim_venue_close(v);
}
END_TEST

START_TEST(rejections_and_cancels)
{
    cscalp_sim_venue_config c = defaults();
    c.order_latency_ns = 0;
    c.report_latency_ns = 0;
    cscalp_sim_venue *v = open_venue(&c);
    quote(v, T0, 100.0, 3.0, 100.1, 4.0);
    cscalp_order_update u[8];
    /* Post-only at the ask would take liquidity. */
    send_new(v, T0, CSCALP_SIDE_BUY, CSCALP_ORDER_POST_ONLY, 100.1, 1, 0);
    /* Reduce-only with no position. */
    send_new(v, T0, CSCALP_SIDE_SELL, CSCALP_ORDER_MARKET, 99.0, 1, CSCALP_INTENT_REDUCE_ONLY);
    /* 1 000 contracts at 100: 100 000 notional, tier 2 (50x): 2 000 of
     * margin, within the 10 000 wallet; 10 000 contracts: 1 M notional at
     * 50x = 20 000: refused. */
    send_new(v, T0, CSCALP_SIDE_BUY, CSCALP_ORDER_POST_ONLY, 99.0, 10000, 0);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0), CSCALP_OK);
    ck_assert_int_eq(poll(v, T0, u, 8), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(u[i].type, CSCALP_UPDATE_REJECTED);
    ck_assert_ptr_nonnull(strstr(u[0].text, "Post Only"));
    ck_assert_ptr_nonnull(strstr(u[1].text, "ReduceOnly"));
    ck_assert_ptr_nonnull(strstr(u[2].text, "Margin"));
    /* A cancel: the order rests, then is cancelled when the cancel arrives. */
    const uint64_t id = send_new(v, T0 + MS, CSCALP_SIDE_BUY, CSCALP_ORDER_POST_ONLY, 99.5, 1, 0);
    cscalp_intent cancel;
    memset(&cancel, 0, sizeof cancel);
    cancel.size = sizeof cancel;
    cancel.kind = CSCALP_INTENT_CANCEL;
    cancel.client_id = id;
    cancel.ts_ns = T0 + MS;
    ck_assert_int_eq(cscalp_sim_venue_submit(v, &cancel), CSCALP_OK);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0 + 2 * MS), CSCALP_OK);
    ck_assert_int_eq(poll(v, T0 + 2 * MS, u, 8), 2);
    ck_assert_int_eq(u[0].type, CSCALP_UPDATE_ACK);
    ck_assert_int_eq(u[1].type, CSCALP_UPDATE_CANCELLED);
    /* Bad intents. */
    cscalp_intent bad = cancel;
    bad.kind = CSCALP_INTENT_NEW;
    bad.client_id = 1; /* used */
    bad.side = CSCALP_SIDE_BUY;
    bad.quantity = 1;
    bad.price = 100;
    ck_assert_int_eq(cscalp_sim_venue_submit(v, &bad), CSCALP_EINVAL);
    bad.size = 8;
    ck_assert_int_eq(cscalp_sim_venue_submit(v, &bad), CSCALP_ESTRUCT);
    /* Late by 1 ms: taken at the clock, as the engine does; by 200 ms:
     * refused. */
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0 + MS), CSCALP_OK);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0 - 200 * MS), CSCALP_ETIME);
    cscalp_sim_venue_close(v);
}
END_TEST

START_TEST(funding_on_the_default_grid_and_from_events)
{
    cscalp_sim_venue_config c = defaults();
    c.order_latency_ns = 0;
    c.report_latency_ns = 0;
    cscalp_sim_venue *v = open_venue(&c);
    const int64_t eight_h = 8 * 3600 * 1000000000LL;
    const int64_t t = (T0 / eight_h + 1) * eight_h - 1000 * MS; /* 1 s before a settlement */
    quote(v, t, 99.9, 3.0, 100.1, 4.0);
    send_new(v, t, CSCALP_SIDE_BUY, CSCALP_ORDER_MARKET, 101, 2, 0);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, t), CSCALP_OK);
    ck_assert_double_eq_tol(account(v).position, 2.0, 1e-12);
    const double wallet0 = account(v).wallet;
    /* The settlement: 2 × mark 100 × 0.0001 = 0.02 paid by the long. */
    ck_assert_int_eq(cscalp_sim_venue_advance(v, t + 2000 * MS), CSCALP_OK);
    ck_assert_double_eq_tol(wallet0 - account(v).wallet, 0.02, 1e-9);
    /* From a funding event on: its rate, its time, its mark (100.5, newer
     * than the quote): 2 × 100.5 × −0.0003 = −0.0603, received. */
    const cscalp_funding f = {t + 3000 * MS, -0.0003, 100.5, 0, t + 3600 * 1000 * MS};
    ck_assert_int_eq(cscalp_sim_venue_on_funding(v, &f), CSCALP_OK);
    const double wallet1 = account(v).wallet;
    ck_assert_int_eq(cscalp_sim_venue_advance(v, t + 3600 * 1000 * MS), CSCALP_OK);
    ck_assert_double_eq_tol(account(v).wallet - wallet1, 0.0603, 1e-9);
    /* No default settlement 8 h later: events are the schedule now. */
    const double wallet2 = account(v).wallet;
    ck_assert_int_eq(cscalp_sim_venue_advance(v, t + eight_h + 2000 * MS), CSCALP_OK);
    ck_assert_double_eq(account(v).wallet, wallet2);
    cscalp_sim_venue_close(v);
}
END_TEST

START_TEST(liquidation_at_the_binance_price)
{
    cscalp_sim_venue_config c = defaults();
    c.order_latency_ns = 0;
    c.report_latency_ns = 0;
    c.taker_fee_bps = 0;
    c.maker_fee_bps = 0;
    c.wallet_quote = 1000;
    cscalp_sim_venue *v = open_venue(&c);
    quote(v, T0, 999.9, 100, 1000.0, 100);
    /* Long 10 @ 1000 on a 1 000 wallet (10x; tier 1, 0.4 %, 125x):
     * LP = (WB − Q·EP + cum) / (Q·mmr − Q) = (1000 − 10 000) / (0.04 − 10)
     *    = 903.6144578... */
    send_new(v, T0, CSCALP_SIDE_BUY, CSCALP_ORDER_MARKET, 1000.1, 10, 0);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0), CSCALP_OK);
    cscalp_sim_venue_account a = account(v);
    ck_assert_double_eq_tol(a.position, 10, 1e-12);
    ck_assert_double_eq_tol(a.liquidation_price, 9000.0 / 9.96, 1e-9);
    /* A resting sell far away is cancelled by the liquidation. */
    send_new(v, T0 + MS, CSCALP_SIDE_SELL, CSCALP_ORDER_POST_ONLY, 1100, 1, 0);
    quote(v, T0 + 2 * MS, 903.7, 1, 903.8, 1); /* mid 903.75: above LP, alive */
    ck_assert_uint_eq(account(v).liquidations, 0);
    quote(v, T0 + 3 * MS, 903.5, 1, 903.6, 1); /* mid 903.55 <= LP */
    a = account(v);
    ck_assert_uint_eq(a.liquidations, 1);
    ck_assert_double_eq(a.position, 0.0);
    /* Wallet: 1000 + (903.55 − 1000) × 10 = 35.5 left; the fee (903.55 ×
     * 10 × 0.005 = 45.18) takes what is left, not more: isolated margin
     * loses the wallet at most. */
    ck_assert_double_eq_tol(a.wallet, 0.0, 1e-9);
    /* The host hears of it in the stream: first the updates before it
     * (ACK, FILL of the buy, ACK of the sell, its CANCELLED), then the
     * liquidation itself on the next poll. */
    ck_assert_uint_eq(a.liquidations_reported, 0);
    cscalp_order_update u[8];
    const int n = poll(v, T0 + 3 * MS, u, 8);
    ck_assert_int_eq(u[n - 1].type, CSCALP_UPDATE_CANCELLED);
    ck_assert_uint_eq(account(v).liquidations_reported, 0);
    ck_assert_int_eq(poll(v, T0 + 3 * MS, u, 8), 0);
    a = account(v);
    ck_assert_uint_eq(a.liquidations_reported, 1);
    ck_assert_double_eq(a.position_reported, 0.0);
    cscalp_sim_venue_close(v);

    /* A gap past the bankruptcy price (1000 − 1000 / 10 = 900): closed at
     * 900, the wallet at 0, never below. */
    v = open_venue(&c);
    quote(v, T0, 999.9, 100, 1000.0, 100);
    send_new(v, T0, CSCALP_SIDE_BUY, CSCALP_ORDER_MARKET, 1000.1, 10, 0);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0), CSCALP_OK);
    quote(v, T0 + MS, 850.0, 1, 850.1, 1);
    a = account(v);
    ck_assert_uint_eq(a.liquidations, 1);
    ck_assert_double_eq_tol(a.wallet, 0.0, 1e-9);
    cscalp_sim_venue_close(v);
}
END_TEST

/* One trade's volume is not counted twice: two bids at the touch with
 * nobody ahead share a 1-contract sell, the earlier one first. And a
 * reduce-only order whose position went away (another order closed it)
 * expires. */
START_TEST(shared_volume_and_reduce_only_expiry)
{
    cscalp_sim_venue_config c = defaults();
    c.order_latency_ns = 0;
    c.report_latency_ns = 0;
    cscalp_sim_venue *v = open_venue(&c);
    quote(v, T0, 99.9, 3.0, 100.1, 4.0);
    const uint64_t a = send_new(v, T0, CSCALP_SIDE_BUY, CSCALP_ORDER_POST_ONLY, 100.0, 1, 0);
    send_new(v, T0, CSCALP_SIDE_BUY, CSCALP_ORDER_POST_ONLY, 100.0, 1, 0);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0), CSCALP_OK);
    cscalp_order_update u[8];
    ck_assert_int_eq(poll(v, T0, u, 8), 2);
    trade(v, T0 + MS, 100.0, 1.0, CSCALP_SIDE_SELL);
    ck_assert_int_eq(poll(v, T0 + MS, u, 8), 1);
    ck_assert_uint_eq(u[0].client_id, a);
    ck_assert_double_eq(account(v).position, 1.0);

    /* Long 1: a resting reduce-only sell, then a market sell closes the
     * position: the resting one expires. */
    const uint64_t ro = send_new(v, T0 + 2 * MS, CSCALP_SIDE_SELL, CSCALP_ORDER_POST_ONLY, 100.5,
                                 1, CSCALP_INTENT_REDUCE_ONLY);
    send_new(v, T0 + 2 * MS, CSCALP_SIDE_SELL, CSCALP_ORDER_MARKET, 99.0, 1,
             CSCALP_INTENT_REDUCE_ONLY);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0 + 2 * MS), CSCALP_OK);
    const int n = poll(v, T0 + 2 * MS, u, 8);
    int expired = 0;
    for (int i = 0; i < n; i++)
        expired |= u[i].type == CSCALP_UPDATE_EXPIRED && u[i].client_id == ro;
    ck_assert_msg(expired, "the reduce-only order with nothing to reduce did not expire");
    ck_assert_double_eq(account(v).position, 0.0);
    /* The first bid still rests and is the only order left. */
    ck_assert_uint_eq(account(v).working_orders, 1);
    cscalp_sim_venue_close(v);
}
END_TEST

/* A quote after a book at the same time stamp is the newer news: a taker
 * takes the quote's touch, not the book's levels. A LIMIT IOC that crosses
 * takes what is there and the rest expires (it does not rest). */
START_TEST(newest_touch_and_limit_ioc)
{
    cscalp_sim_venue_config c = defaults();
    c.order_latency_ns = 0;
    c.report_latency_ns = 0;
    cscalp_sim_venue *v = open_venue(&c);
    cscalp_book b;
    memset(&b, 0, sizeof b);
    b.ts_ns = T0;
    b.bid_count = 1;
    b.ask_count = 1;
    b.bids[0] = (cscalp_level){100.0, 5};
    b.asks[0] = (cscalp_level){100.1, 5};
    ck_assert_int_eq(cscalp_sim_venue_on_book(v, &b), CSCALP_OK);
    quote(v, T0, 100.2, 5, 100.3, 2); /* same time, later */
    cscalp_intent in;
    memset(&in, 0, sizeof in);
    in.size = sizeof in;
    in.kind = CSCALP_INTENT_NEW;
    in.client_id = next_id++;
    in.ts_ns = T0;
    in.side = CSCALP_SIDE_BUY;
    in.type = CSCALP_ORDER_LIMIT;
    in.time_in_force = CSCALP_TIF_IOC;
    in.price = 100.3;
    in.quantity = 3;
    ck_assert_int_eq(cscalp_sim_venue_submit(v, &in), CSCALP_OK);
    ck_assert_int_eq(cscalp_sim_venue_advance(v, T0), CSCALP_OK);
    cscalp_order_update u[8];
    ck_assert_int_eq(poll(v, T0, u, 8), 3);
    ck_assert_int_eq(u[1].type, CSCALP_UPDATE_FILL);
    ck_assert_double_eq(u[1].fill_price, 100.3);
    ck_assert_double_eq(u[1].fill_quantity, 2);
    ck_assert_int_eq(u[2].type, CSCALP_UPDATE_EXPIRED);
    ck_assert_uint_eq(account(v).working_orders, 0);
    cscalp_sim_venue_close(v);
}
END_TEST

START_TEST(report_numbers)
{
    cscalp_sim_venue_config c = defaults();
    c.order_latency_ns = 0;
    c.report_latency_ns = 0;
    c.funding_interval_ns = 0;
    cscalp_sim_venue *v = open_venue(&c);
    const int64_t m0 = (T0 / (60000 * MS)) * 60000 * MS;
    quote(v, m0, 99.9, 10, 100.1, 10);
    send_new(v, m0, CSCALP_SIDE_BUY, CSCALP_ORDER_MARKET, 101, 1, 0); /* 1 @ 100.1 */
    ck_assert_int_eq(cscalp_sim_venue_advance(v, m0), CSCALP_OK);
    quote(v, m0 + 60000 * MS, 100.9, 10, 101.1, 10);                   /* minute 1 */
    send_new(v, m0 + 60000 * MS, CSCALP_SIDE_SELL, CSCALP_ORDER_MARKET, 100, 1,
             CSCALP_INTENT_REDUCE_ONLY); /* 1 @ 100.9 */
    ck_assert_int_eq(cscalp_sim_venue_advance(v, m0 + 60000 * MS), CSCALP_OK);
    quote(v, m0 + 180000 * MS, 100.9, 10, 101.1, 10); /* minute 3: two quiet minutes */
    size_t need = 0;
    ck_assert_int_eq(cscalp_sim_venue_report_json(v, NULL, 0, &need), CSCALP_OK);
    char *json = malloc(need + 1);
    ck_assert_int_eq(cscalp_sim_venue_report_json(v, json, need + 1, NULL), CSCALP_OK);
    /* Gross 0.8, fees 5 bps of 100.1 and of 100.9: 0.1005; net 0.6995. */
    ck_assert_ptr_nonnull(strstr(json, "\"round_trips\":1"));
    ck_assert_ptr_nonnull(strstr(json, "\"win_rate\":1"));
    ck_assert_ptr_nonnull(strstr(json, "\"minute_returns\":3"));
    double net = 0, fees = 0, hold = 0;
    ck_assert(sscanf(strstr(json, "\"net_pnl\":") + 10, "%lf", &net) == 1);
    ck_assert(sscanf(strstr(json, "\"fees\":") + 7, "%lf", &fees) == 1);
    ck_assert(sscanf(strstr(json, "\"average_holding_s\":") + 20, "%lf", &hold) == 1);
    ck_assert_double_eq_tol(fees, 0.1005, 1e-9);
    ck_assert_double_eq_tol(net, 0.8 - 0.1005, 1e-9);
    ck_assert_double_eq_tol(hold, 60.0, 1e-9);
    printf("%s\n", json);
    free(json);
    cscalp_sim_venue_close(v);
}
END_TEST

START_TEST(config_errors_name_the_field)
{
    cscalp_sim_venue_config c = defaults();
    cscalp_sim_venue *v = NULL;
    char err[256];
    c.taker_fee_bps = 1;
    ck_assert_int_eq(cscalp_sim_venue_open(&v, &c, NULL, err, sizeof err), CSCALP_ECONFIG_RANGE);
    ck_assert_ptr_nonnull(strstr(err, "taker_fee_bps"));
    ck_assert_ptr_null(v);
    c = defaults();
    c.bracket_rates[2] = 0.001; /* decreasing */
    ck_assert_int_eq(cscalp_sim_venue_open(&v, &c, NULL, err, sizeof err), CSCALP_ECONFIG_RANGE);
    ck_assert_ptr_nonnull(strstr(err, "bracket"));
    c = defaults();
    c.size = 8;
    ck_assert_int_eq(cscalp_sim_venue_open(&v, &c, NULL, err, sizeof err), CSCALP_ESTRUCT);
    ck_assert_int_eq(cscalp_sim_venue_open(NULL, &c, NULL, err, sizeof err), CSCALP_EINVAL);
    cscalp_sim_venue_close(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_venue");
    TCase *tc = tcase_create("venue");
    tcase_add_test(tc, latency_then_taker_walks_the_book);
    tcase_add_test(tc, queue_position_and_trades_through);
    tcase_add_test(tc, rejections_and_cancels);
    tcase_add_test(tc, funding_on_the_default_grid_and_from_events);
    tcase_add_test(tc, liquidation_at_the_binance_price);
    tcase_add_test(tc, report_numbers);
    tcase_add_test(tc, shared_volume_and_reduce_only_expiry);
    tcase_add_test(tc, newest_touch_and_limit_ioc);
    tcase_add_test(tc, config_errors_name_the_field);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
