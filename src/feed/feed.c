#include "feed/feed.h"

#include <math.h>
#include <stdio.h>
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

/* ------------------------------------------------------------------------ */
/* Checkpoints                                                              */

static void put_top(cscalp_wbuf *w, const cscalp_top *t)
{
    cscalp_put_f64(w, t->bid);
    cscalp_put_f64(w, t->bid_size);
    cscalp_put_f64(w, t->ask);
    cscalp_put_f64(w, t->ask_size);
}

static void put_levels(cscalp_wbuf *w, const cscalp_level *l, uint32_t n)
{
    cscalp_put_u32(w, n);
    for (uint32_t i = 0; i < n; i++) {
        cscalp_put_f64(w, l[i].price);
        cscalp_put_f64(w, l[i].size);
    }
}

void cscalp_feed_save(const cscalp_feed *f, cscalp_wbuf *w)
{
    cscalp_put_u32(w, (uint32_t)f->started);
    cscalp_put_i64(w, f->clock_ns);
    cscalp_put_u32(w, (uint32_t)f->has_top);
    put_top(w, &f->top);
    cscalp_put_i64(w, f->top_ns);
    cscalp_put_u32(w, (uint32_t)f->has_book);
    put_levels(w, f->bids, f->bid_count);
    put_levels(w, f->asks, f->ask_count);
    cscalp_put_u32(w, (uint32_t)f->has_trade);
    cscalp_put_i64(w, f->last_trade.ts_ns);
    cscalp_put_f64(w, f->last_trade.price);
    cscalp_put_f64(w, f->last_trade.size);
    cscalp_put_u32(w, (uint32_t)f->last_trade.side);
    cscalp_put_u32(w, f->last_trade.flags);
    cscalp_put_i64(w, f->last_trade.trade_id);
    cscalp_put_i64(w, f->tape.last_ns);
    cscalp_put_f64s(w, f->tape.signed_volume, CSCALP_TAPE_WINDOWS);
    cscalp_put_f64s(w, f->tape.count, CSCALP_TAPE_WINDOWS);
    cscalp_put_f64(w, f->tape.volume_10s);
    cscalp_put_f64(w, f->tape.notional_60s);
    cscalp_put_f64(w, f->tape.volume_60s);
    cscalp_put_u32(w, (uint32_t)f->has_funding);
    cscalp_put_i64(w, f->funding.ts_ns);
    cscalp_put_f64(w, f->funding.funding_rate);
    cscalp_put_f64(w, f->funding.mark_price);
    cscalp_put_f64(w, f->funding.index_price);
    cscalp_put_i64(w, f->funding.next_funding_ts_ns);
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        cscalp_put_u64(w, f->accepted[k]);
    for (int k = 0; k < CSCALP_REJECT_REASON_SLOTS; k++)
        cscalp_put_u64(w, f->rejected[k]);
    cscalp_put_u64(w, f->time_clamped);
}

static int get_levels(cscalp_rbuf *r, cscalp_level *l, uint32_t *n, uint32_t kept)
{
    *n = cscalp_get_u32(r);
    if (r->failed || *n > kept)
        return 0;
    for (uint32_t i = 0; i < *n; i++) {
        l[i].price = cscalp_get_f64(r);
        l[i].size = cscalp_get_f64(r);
        if (!(l[i].price > 0.0) || !isfinite(l[i].price) || !(l[i].size >= 0.0) ||
            !isfinite(l[i].size))
            return 0;
    }
    return !r->failed;
}

static int flag_ok(uint32_t v) { return v <= 1; }

int cscalp_feed_load(cscalp_feed *feed, cscalp_rbuf *r, char *why, size_t cap)
{
    cscalp_feed f = *feed;
    uint32_t started = cscalp_get_u32(r);
    f.clock_ns = cscalp_get_i64(r);
    uint32_t has_top = cscalp_get_u32(r);
    f.top.bid = cscalp_get_f64(r);
    f.top.bid_size = cscalp_get_f64(r);
    f.top.ask = cscalp_get_f64(r);
    f.top.ask_size = cscalp_get_f64(r);
    f.top_ns = cscalp_get_i64(r);
    uint32_t has_book = cscalp_get_u32(r);
    int ok = get_levels(r, f.bids, &f.bid_count, f.levels_kept) &&
             get_levels(r, f.asks, &f.ask_count, f.levels_kept);
    if (!ok) {
        snprintf(why, cap, "feed: the kept book is damaged or deeper than feed.book_levels "
                           "(%u)", f.levels_kept);
        return CSCALP_ECORRUPT;
    }
    uint32_t has_trade = cscalp_get_u32(r);
    f.last_trade.ts_ns = cscalp_get_i64(r);
    f.last_trade.price = cscalp_get_f64(r);
    f.last_trade.size = cscalp_get_f64(r);
    f.last_trade.side = (int32_t)cscalp_get_u32(r);
    f.last_trade.flags = cscalp_get_u32(r);
    f.last_trade.trade_id = cscalp_get_i64(r);
    f.tape.last_ns = cscalp_get_i64(r);
    cscalp_get_f64s(r, f.tape.signed_volume, CSCALP_TAPE_WINDOWS);
    cscalp_get_f64s(r, f.tape.count, CSCALP_TAPE_WINDOWS);
    f.tape.volume_10s = cscalp_get_f64(r);
    f.tape.notional_60s = cscalp_get_f64(r);
    f.tape.volume_60s = cscalp_get_f64(r);
    uint32_t has_funding = cscalp_get_u32(r);
    f.funding.ts_ns = cscalp_get_i64(r);
    f.funding.funding_rate = cscalp_get_f64(r);
    f.funding.mark_price = cscalp_get_f64(r);
    f.funding.index_price = cscalp_get_f64(r);
    f.funding.next_funding_ts_ns = cscalp_get_i64(r);
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        f.accepted[k] = cscalp_get_u64(r);
    for (int k = 0; k < CSCALP_REJECT_REASON_SLOTS; k++)
        f.rejected[k] = cscalp_get_u64(r);
    f.time_clamped = cscalp_get_u64(r);
    if (r->failed) {
        snprintf(why, cap, "feed: truncated");
        return CSCALP_ECORRUPT;
    }
    ok = flag_ok(started) && flag_ok(has_top) && flag_ok(has_book) && flag_ok(has_trade) &&
         flag_ok(has_funding);
    if (ok && has_top)
        ok = isfinite(f.top.bid) && isfinite(f.top.ask) && f.top.bid > 0.0 &&
             f.top.bid < f.top.ask && isfinite(f.top.bid_size) && isfinite(f.top.ask_size) &&
             f.top.bid_size >= 0.0 && f.top.ask_size >= 0.0;
    double sums[CSCALP_TAPE_WINDOWS * 2 + 3];
    memcpy(sums, f.tape.signed_volume, sizeof f.tape.signed_volume);
    memcpy(sums + CSCALP_TAPE_WINDOWS, f.tape.count, sizeof f.tape.count);
    sums[2 * CSCALP_TAPE_WINDOWS] = f.tape.volume_10s;
    sums[2 * CSCALP_TAPE_WINDOWS + 1] = f.tape.notional_60s;
    sums[2 * CSCALP_TAPE_WINDOWS + 2] = f.tape.volume_60s;
    for (size_t i = 0; ok && i < sizeof sums / sizeof sums[0]; i++)
        ok = isfinite(sums[i]);
    if (ok && has_trade)
        ok = isfinite(f.last_trade.price) && isfinite(f.last_trade.size);
    if (ok && has_funding)
        ok = isfinite(f.funding.funding_rate) && isfinite(f.funding.mark_price) &&
             isfinite(f.funding.index_price);
    if (!ok) {
        snprintf(why, cap, "feed: a flag or value is out of range (not finite, crossed top)");
        return CSCALP_ECORRUPT;
    }
    f.started = (int)started;
    f.has_top = (int)has_top;
    f.has_book = (int)has_book;
    f.has_trade = (int)has_trade;
    f.has_funding = (int)has_funding;
    *feed = f;
    return CSCALP_OK;
}
