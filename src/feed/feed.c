#include "feed/feed.h"

#include <string.h>

#include "util/fastmath.h"

void cscalp_feed_init(cscalp_feed *feed, uint32_t levels_kept,
                      int64_t max_regression_ns)
{
    memset(feed, 0, sizeof *feed);
    feed->levels_kept = levels_kept;
    feed->max_regression_ns = max_regression_ns;
}

void cscalp_feed_set_limits(cscalp_feed *feed, uint32_t levels_kept,
                            int64_t max_regression_ns)
{
    feed->levels_kept = levels_kept;
    feed->max_regression_ns = max_regression_ns;
    if (feed->bid_count > levels_kept)
        feed->bid_count = levels_kept;
    if (feed->ask_count > levels_kept)
        feed->ask_count = levels_kept;
}

void cscalp_feed_advance(cscalp_feed *feed, int64_t at_ns)
{
    if (!feed->started || at_ns > feed->clock_ns)
        feed->clock_ns = at_ns;
    feed->started = 1;
}

static void accept(cscalp_feed *feed, int kind, int64_t event_ns, int64_t at_ns)
{
    if (event_ns != at_ns)
        feed->time_clamped++;
    feed->accepted[kind]++;
    cscalp_feed_advance(feed, at_ns);
}

/* Trade windows: time constants 1 s, 10 s, 60 s. */
static void tape_decay(cscalp_tape *tape, int64_t to_ns)
{
    const int64_t dt = to_ns - tape->last_ns;
    if (dt <= 0)
        return;
    const double d1 = cscalp_decay_factor(dt, 1.0);
    const double d10 = cscalp_decay_factor(dt, 10.0);
    const double d60 = cscalp_decay_factor(dt, 60.0);
    const double d[CSCALP_TAPE_WINDOWS] = {d1, d10, d60};
    for (int w = 0; w < CSCALP_TAPE_WINDOWS; w++) {
        tape->signed_volume[w] *= d[w];
        tape->count[w] *= d[w];
    }
    tape->volume_10s *= d10;
    tape->notional_60s *= d60;
    tape->volume_60s *= d60;
    tape->last_ns = to_ns;
}

void cscalp_tape_at(const cscalp_tape *tape, int64_t t_ns, cscalp_tape *out)
{
    *out = *tape;
    tape_decay(out, t_ns);
}

void cscalp_feed_apply_trade(cscalp_feed *feed, const cscalp_trade *t, int64_t at_ns)
{
    cscalp_tape *tape = &feed->tape;
    if (!feed->has_trade)
        tape->last_ns = at_ns;
    tape_decay(tape, at_ns);
    const double signed_size = t->side == CSCALP_SIDE_BUY ? t->size : -t->size;
    for (int w = 0; w < CSCALP_TAPE_WINDOWS; w++) {
        tape->signed_volume[w] += signed_size;
        tape->count[w] += 1.0;
    }
    tape->volume_10s += t->size;
    tape->notional_60s += t->price * t->size;
    tape->volume_60s += t->size;

    feed->last_trade = *t;
    feed->last_trade.ts_ns = at_ns;
    feed->has_trade = 1;
    accept(feed, CSCALP_KIND_TRADE, t->ts_ns, at_ns);
}

static void set_top(cscalp_feed *feed, double bid, double bid_size, double ask,
                    double ask_size, int64_t at_ns)
{
    feed->top.bid = bid;
    feed->top.bid_size = bid_size;
    feed->top.ask = ask;
    feed->top.ask_size = ask_size;
    feed->top_ns = at_ns;
    feed->has_top = 1;
}

void cscalp_feed_apply_quote(cscalp_feed *feed, const cscalp_quote *q, int64_t at_ns)
{
    set_top(feed, q->bid_price, q->bid_size, q->ask_price, q->ask_size, at_ns);
    accept(feed, CSCALP_KIND_QUOTE, q->ts_ns, at_ns);
}

void cscalp_feed_apply_book(cscalp_feed *feed, const cscalp_book *b, int64_t at_ns)
{
    const uint32_t nb = b->bid_count < feed->levels_kept ? b->bid_count : feed->levels_kept;
    const uint32_t na = b->ask_count < feed->levels_kept ? b->ask_count : feed->levels_kept;
    memcpy(feed->bids, b->bids, nb * sizeof b->bids[0]);
    memcpy(feed->asks, b->asks, na * sizeof b->asks[0]);
    feed->bid_count = nb;
    feed->ask_count = na;
    feed->has_book = 1;
    set_top(feed, b->bids[0].price, b->bids[0].size, b->asks[0].price,
            b->asks[0].size, at_ns);
    accept(feed, CSCALP_KIND_BOOK, b->ts_ns, at_ns);
}

void cscalp_feed_apply_funding(cscalp_feed *feed, const cscalp_funding *f,
                               int64_t at_ns)
{
    feed->funding = *f;
    feed->funding.ts_ns = at_ns;
    feed->has_funding = 1;
    accept(feed, CSCALP_KIND_FUNDING, f->ts_ns, at_ns);
}

void cscalp_feed_count_reject(cscalp_feed *feed, const cscalp_feed_reject *why)
{
    if (why->reason >= 0 && why->reason < CSCALP_REJECT_REASON_SLOTS)
        feed->rejected[why->reason]++;
}
