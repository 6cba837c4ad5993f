/* Validation of market data. Each check names the field and the value in the
 * refusal, so a host can find the bad record from cscalp_last_error alone. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "feed/feed.h"

static int refuse(cscalp_feed_reject *why, int error, int reason,
                  const char *field, double value, const char *problem)
{
    why->error = error;
    why->reason = reason;
    snprintf(why->detail, sizeof why->detail, "%s: %.17g %s", field, value, problem);
    return error;
}

/* Field checks classify without formatting; the detail text is built only on
 * the refusal path, so a valid 50-level book costs no snprintf. */
typedef struct field_problem {
    int error, reason;
    const char *text;
} field_problem;

static const field_problem no_problem = {CSCALP_OK, 0, NULL};

static field_problem price_problem(double v)
{
    if (!isfinite(v))
        return (field_problem){CSCALP_ENONFINITE, CSCALP_REJECT_NONFINITE, "is not finite"};
    if (v <= 0.0)
        return (field_problem){CSCALP_EPRICE, CSCALP_REJECT_PRICE, "is not positive"};
    return no_problem;
}

/* allow_zero: quote sizes may be 0 (an empty side); trade and level sizes not. */
static field_problem size_problem(double v, int allow_zero)
{
    if (!isfinite(v))
        return (field_problem){CSCALP_ENONFINITE, CSCALP_REJECT_NONFINITE, "is not finite"};
    if (v < 0.0 || (!allow_zero && v == 0.0))
        return (field_problem){CSCALP_ESIZE, CSCALP_REJECT_SIZE,
                               allow_zero ? "is negative" : "is not positive"};
    return no_problem;
}

static int refuse_problem(cscalp_feed_reject *why, field_problem p,
                          const char *field, double value)
{
    return refuse(why, p.error, p.reason, field, value, p.text);
}

static int check_price(double v, const char *field, cscalp_feed_reject *why)
{
    const field_problem p = price_problem(v);
    return p.error == CSCALP_OK ? CSCALP_OK : refuse_problem(why, p, field, v);
}

static int check_size(double v, int allow_zero, const char *field,
                      cscalp_feed_reject *why)
{
    const field_problem p = size_problem(v, allow_zero);
    return p.error == CSCALP_OK ? CSCALP_OK : refuse_problem(why, p, field, v);
}

int cscalp_feed_check_time(const cscalp_feed *feed, int64_t ts_ns,
                           int64_t *effective_ns, cscalp_feed_reject *why)
{
    if (!feed->started || ts_ns >= feed->clock_ns) {
        /* The clock stays within [CSCALP_TIME_MIN_NS, CSCALP_TIME_MAX_NS]
         * so that every time computed from it (a grid point, a label's
         * maturity, a venue latency) and every difference of two such
         * times (at most 1.5 * 2^62) fits in int64. One unsigned compare
         * tests both bounds. */
        if ((uint64_t)ts_ns - (uint64_t)CSCALP_TIME_MIN_NS >
            (uint64_t)CSCALP_TIME_MAX_NS - (uint64_t)CSCALP_TIME_MIN_NS) {
            why->error = CSCALP_ETIME;
            why->reason = CSCALP_REJECT_TIME;
            snprintf(why->detail, sizeof why->detail,
                     "ts_ns: %" PRId64 " is outside the engine's time range [-2^61, 2^62] ns",
                     ts_ns);
            return CSCALP_ETIME;
        }
        *effective_ns = ts_ns;
        return CSCALP_OK;
    }
    /* Compare the lag without overflow: clock - ts can exceed INT64_MAX. */
    if ((uint64_t)feed->clock_ns - (uint64_t)ts_ns > (uint64_t)feed->max_regression_ns) {
        why->error = CSCALP_ETIME;
        why->reason = CSCALP_REJECT_TIME;
        snprintf(why->detail, sizeof why->detail,
                 "ts_ns: %" PRId64 " is before the clock %" PRId64
                 " by more than feed.max_time_regression_ms",
                 ts_ns, feed->clock_ns);
        return CSCALP_ETIME;
    }
    *effective_ns = feed->clock_ns;
    return CSCALP_OK;
}

int cscalp_feed_check_trade(const cscalp_feed *feed, const cscalp_trade *t,
                            int64_t *effective_ns, cscalp_feed_reject *why)
{
    int rc;
    if ((rc = check_price(t->price, "trade.price", why)) != CSCALP_OK ||
        (rc = check_size(t->size, 0, "trade.size", why)) != CSCALP_OK)
        return rc;
    if (t->side != CSCALP_SIDE_BUY && t->side != CSCALP_SIDE_SELL)
        return refuse(why, CSCALP_ESIDE, CSCALP_REJECT_SIDE, "trade.side",
                      (double)t->side, "is neither CSCALP_SIDE_BUY nor CSCALP_SIDE_SELL");
    return cscalp_feed_check_time(feed, t->ts_ns, effective_ns, why);
}

int cscalp_feed_check_quote(const cscalp_feed *feed, const cscalp_quote *q,
                            int64_t *effective_ns, cscalp_feed_reject *why)
{
    int rc;
    if ((rc = check_price(q->bid_price, "quote.bid_price", why)) != CSCALP_OK ||
        (rc = check_price(q->ask_price, "quote.ask_price", why)) != CSCALP_OK ||
        (rc = check_size(q->bid_size, 1, "quote.bid_size", why)) != CSCALP_OK ||
        (rc = check_size(q->ask_size, 1, "quote.ask_size", why)) != CSCALP_OK)
        return rc;
    if (q->bid_price >= q->ask_price)
        return refuse(why, CSCALP_ECROSSED, CSCALP_REJECT_CROSSED, "quote.bid_price",
                      q->bid_price, "is not below quote.ask_price");
    return cscalp_feed_check_time(feed, q->ts_ns, effective_ns, why);
}

static int refuse_level(cscalp_feed_reject *why, field_problem p, const char *side,
                        uint32_t i, const char *member, double value)
{
    char field[48];
    snprintf(field, sizeof field, "book.%s[%u].%s", side, i, member);
    return refuse_problem(why, p, field, value);
}

/* One side of a book: count in range, every level valid, prices strictly
 * moving away from the touch (descending bids, ascending asks). */
static int check_side(const cscalp_level *lv, uint32_t count, int descending,
                      const char *side, cscalp_feed_reject *why)
{
    if (count < 1 || count > CSCALP_BOOK_MAX_LEVELS) {
        char field[48];
        snprintf(field, sizeof field, "book.%s_count", side);
        return refuse(why, CSCALP_ELEVELS, CSCALP_REJECT_LEVELS, field, (double)count,
                      "is outside 1..CSCALP_BOOK_MAX_LEVELS");
    }
    /* Fast path in integer arithmetic: a double is finite and > 0 exactly when
     * its bit pattern minus one is below that of the largest finite double,
     * and positive doubles order like their bit patterns. The detailed scan
     * below runs only for a book that is refused. */
    const uint64_t max_positive = 0x7FEFFFFFFFFFFFFFull;
    uint64_t prev = descending ? UINT64_MAX : 0;
    int all_valid = 1;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t p, q;
        memcpy(&p, &lv[i].price, sizeof p);
        memcpy(&q, &lv[i].size, sizeof q);
        all_valid &= (p - 1 < max_positive) & (q - 1 < max_positive) &
                     (descending ? p < prev : p > prev);
        prev = p;
    }
    if (all_valid)
        return CSCALP_OK;

    static const field_problem unordered[2] = {
        {CSCALP_ELEVELS, CSCALP_REJECT_LEVELS, "is not above the level before it"},
        {CSCALP_ELEVELS, CSCALP_REJECT_LEVELS, "is not below the level before it"},
    };
    for (uint32_t i = 0; i < count; i++) {
        field_problem p = price_problem(lv[i].price);
        if (p.error != CSCALP_OK)
            return refuse_level(why, p, side, i, "price", lv[i].price);
        p = size_problem(lv[i].size, 0);
        if (p.error != CSCALP_OK)
            return refuse_level(why, p, side, i, "size", lv[i].size);
        if (i > 0 && !(descending ? lv[i].price < lv[i - 1].price
                                  : lv[i].price > lv[i - 1].price))
            return refuse_level(why, unordered[descending != 0], side, i, "price",
                                lv[i].price);
    }
    return CSCALP_OK;
}

int cscalp_feed_check_book(const cscalp_feed *feed, const cscalp_book *b,
                           int64_t *effective_ns, cscalp_feed_reject *why)
{
    int rc;
    if ((rc = check_side(b->bids, b->bid_count, 1, "bids", why)) != CSCALP_OK ||
        (rc = check_side(b->asks, b->ask_count, 0, "asks", why)) != CSCALP_OK)
        return rc;
    if (b->bids[0].price >= b->asks[0].price)
        return refuse(why, CSCALP_ECROSSED, CSCALP_REJECT_CROSSED, "book.bids[0].price",
                      b->bids[0].price, "is not below book.asks[0].price");
    return cscalp_feed_check_time(feed, b->ts_ns, effective_ns, why);
}

int cscalp_feed_check_funding(const cscalp_feed *feed, const cscalp_funding *f,
                              int64_t *effective_ns, cscalp_feed_reject *why)
{
    int rc;
    if (!isfinite(f->funding_rate))
        return refuse(why, CSCALP_ENONFINITE, CSCALP_REJECT_NONFINITE,
                      "funding.funding_rate", f->funding_rate, "is not finite");
    if ((rc = check_price(f->mark_price, "funding.mark_price", why)) != CSCALP_OK)
        return rc;
    if (f->index_price != 0.0 &&
        (rc = check_price(f->index_price, "funding.index_price", why)) != CSCALP_OK)
        return rc;
    if (f->next_funding_ts_ns < 0)
        return refuse(why, CSCALP_EINVAL, CSCALP_REJECT_FIELD, "funding.next_funding_ts_ns",
                      (double)f->next_funding_ts_ns, "is negative");
    return cscalp_feed_check_time(feed, f->ts_ns, effective_ns, why);
}
