/* Every event of the synthetic market is valid market data: a fresh engine
 * accepts all of them (default market, 10^6 events; and a market at the
 * edges of its ranges, where prices reach the bottom of the tick grid),
 * and the checks an engine makes are repeated here independently (prices on
 * the tick grid, bid < ask, strictly ordered levels, positive sizes, time
 * never decreasing). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/test_util.h"
#include "sim_util.h"

typedef struct tally {
    long events, kinds[3], refused;
    double min_price, max_price;
    uint32_t min_bid_count;
} tally;

static int on_tick_grid(double price, double tick)
{
    const double ticks = price / tick;
    return fabs(ticks - floor(ticks + 0.5)) < 1e-6;
}

static void check_event(const cscalp_sim_market_event *ev, double tick, tally *t)
{
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        SU_CHECK(ev->trade.price > 0.0 && ev->trade.size > 0.0);
        SU_CHECK(ev->trade.side == CSCALP_SIDE_BUY || ev->trade.side == CSCALP_SIDE_SELL);
        SU_CHECK(on_tick_grid(ev->trade.price, tick));
        t->min_price = fmin(t->min_price, ev->trade.price);
        break;
    case CSCALP_KIND_QUOTE:
        SU_CHECK(ev->quote.bid_price > 0.0 && ev->quote.bid_price < ev->quote.ask_price);
        SU_CHECK(ev->quote.bid_size > 0.0 && ev->quote.ask_size > 0.0);
        SU_CHECK(on_tick_grid(ev->quote.bid_price, tick));
        SU_CHECK(on_tick_grid(ev->quote.ask_price, tick));
        t->min_price = fmin(t->min_price, ev->quote.bid_price);
        t->max_price = fmax(t->max_price, ev->quote.ask_price);
        break;
    default: {
        const cscalp_book *b = &ev->book;
        SU_CHECK(b->bid_count >= 1 && b->ask_count >= 1);
        SU_CHECK(b->bids[0].price < b->asks[0].price);
        for (uint32_t i = 0; i < b->bid_count; i++) {
            SU_CHECK(b->bids[i].price > 0.0 && b->bids[i].size > 0.0);
            SU_CHECK(i == 0 || b->bids[i].price < b->bids[i - 1].price);
        }
        for (uint32_t i = 0; i < b->ask_count; i++) {
            SU_CHECK(b->asks[i].size > 0.0);
            SU_CHECK(i == 0 || b->asks[i].price > b->asks[i - 1].price);
        }
        t->min_price = fmin(t->min_price, b->bids[b->bid_count - 1].price);
        if (b->bid_count < t->min_bid_count)
            t->min_bid_count = b->bid_count;
        break;
    }
    }
}

/* n events of cfg into a fresh engine opened with `config`; returns the
 * tally. */
static tally push_all(const cscalp_sim_market_config *cfg, long n, const char *config)
{
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, config), CSCALP_OK);
    cscalp_sim_market *m = su_open(cfg);
    cscalp_sim_market_event ev = su_event();
    tally t = {0, {0, 0, 0}, 0, INFINITY, 0.0, UINT32_MAX};
    int64_t prev = INT64_MIN;
    for (long i = 0; i < n; i++) {
        SU_CHECK(cscalp_sim_market_next(m, &ev) == CSCALP_OK);
        SU_CHECK(ev.ts_ns >= prev);
        prev = ev.ts_ns;
        check_event(&ev, cfg->tick_size, &t);
        int rc;
        switch (ev.kind) {
        case CSCALP_KIND_TRADE: rc = cscalp_push_trade(e, &ev.trade); break;
        case CSCALP_KIND_QUOTE: rc = cscalp_push_quote(e, &ev.quote); break;
        default: rc = cscalp_push_book(e, &ev.book); break;
        }
        if (rc != CSCALP_OK && t.refused++ == 0)
            printf("first refusal at event %ld: %s (%s)\n", i, cscalp_error_name(rc),
                   cscalp_last_error(e));
        t.kinds[ev.kind]++;
        t.events++;
    }
    cscalp_health_report h;
    memset(&h, 0, sizeof h);
    h.size = sizeof h;
    ck_assert_int_eq(cscalp_health(e, &h), CSCALP_OK);
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(h.feed_accepted[k], (uint64_t)t.kinds[k]);
    for (int r = 0; r < CSCALP_REJECT_REASON_COUNT; r++)
        ck_assert_uint_eq(h.feed_rejected[r], 0);
    ck_assert_uint_eq(h.time_clamped, 0);
    cscalp_sim_market_close(m);
    cscalp_close(e);
    return t;
}

START_TEST(default_market_is_accepted)
{
    const cscalp_sim_market_config cfg = su_defaults();
    const tally t = push_all(&cfg, 1000000, NULL);
    printf("default market: %ld events (%ld trades, %ld quotes, %ld books), %ld refused, "
           "prices %.2f..%.2f\n",
           t.events, t.kinds[0], t.kinds[1], t.kinds[2], t.refused, t.min_price, t.max_price);
    ck_assert_int_eq(t.refused, 0);
    SU_CHECK(t.kinds[0] > 0 && t.kinds[1] > 0 && t.kinds[2] > 0);
}
END_TEST

/* The edges (with the outlier screen off: a mid moving 10 % per √s jumps
 * past it by design, and this test is about validation): the widest spread, 50 levels 1000 ticks apart, a mid that
 * starts 100 ticks above zero and moves 10 % per √s, so the book runs off
 * the bottom of the grid (its bid side is cut short) and the mid is
 * reflected at 10 ticks. */
START_TEST(edge_market_is_accepted)
{
    cscalp_sim_market_config cfg = su_defaults();
    cfg.seed = 3;
    cfg.start_price = 100 * cfg.tick_size;
    cfg.book_levels = CSCALP_BOOK_MAX_LEVELS;
    cfg.book_level_spacing_ticks = 1000;
    cfg.size_log_sd = 3.0;
    cfg.books_per_s = 50.0;
    for (int r = 0; r < 3; r++) {
        cfg.regimes[r].vol_bps_per_sqrt_s = 1000.0;
        cfg.regimes[r].spread_bps = 1000.0;
        cfg.regimes[r].mean_duration_s = 1.0;
        cfg.regimes[r].drift_bps_per_s = r == 1 ? 1000.0 : -1000.0;
    }
    const tally t =
        push_all(&cfg, 50000, "{\"feed\":{\"book_levels\":50,\"outlier_min_bps\":0}}");
    printf("edge market: %ld events, %ld refused, prices %.4g..%.4g, fewest bid levels %u\n",
           t.events, t.refused, t.min_price, t.max_price, t.min_bid_count);
    ck_assert_int_eq(t.refused, 0);
    ck_assert_uint_lt(t.min_bid_count, CSCALP_BOOK_MAX_LEVELS); /* the edge was reached */
    SU_CHECK(t.min_price >= cfg.tick_size);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sim_engine");
    TCase *tc = tcase_create("accepted");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, default_market_is_accepted);
    tcase_add_test(tc, edge_market_is_accepted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
