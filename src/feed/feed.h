/* Feed stage: validation of market data, the event clock, the kept book, the
 * last trade, funding state and the trade tape (time-decayed trade windows).
 *
 * Every push is two steps so nothing is half-applied: cscalp_feed_check_*
 * validates the event and admits its time without changing anything, then
 * cscalp_feed_apply_* changes state and cannot fail. */
#ifndef CSCALP_FEED_FEED_H
#define CSCALP_FEED_FEED_H

#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

/* Why an event was refused: error code, counter index and a detail text that
 * names the field and the value, e.g. "quote.bid_price: -1 is not positive". */
typedef struct cscalp_feed_reject {
    int error;  /* cscalp_error */
    int reason; /* cscalp_reject_reason */
    char detail[160];
} cscalp_feed_reject;

typedef struct cscalp_top {
    double bid, bid_size, ask, ask_size;
} cscalp_top;

/* Trade windows, decayed sums over trades (docs/features.md). Index 0/1/2 of
 * the arrays are the 1 s / 10 s / 60 s time constants. */
#define CSCALP_TAPE_WINDOWS 3
typedef struct cscalp_tape {
    int64_t last_ns;                          /* time the sums refer to */
    double signed_volume[CSCALP_TAPE_WINDOWS]; /* D[s*q] */
    double count[CSCALP_TAPE_WINDOWS];         /* D[1] */
    double volume_10s;                         /* D_10s[q] */
    double notional_60s;                       /* D_60s[p*q] */
    double volume_60s;                         /* D_60s[q] */
} cscalp_tape;

typedef struct cscalp_feed {
    /* limits from config */
    uint32_t levels_kept;
    int64_t max_regression_ns;

    /* the clock: latest accepted event or tick time */
    int started;
    int64_t clock_ns;

    int has_top;
    cscalp_top top;
    int64_t top_ns;

    int has_book;
    uint32_t bid_count, ask_count; /* levels kept, <= levels_kept */
    cscalp_level bids[CSCALP_BOOK_MAX_LEVELS];
    cscalp_level asks[CSCALP_BOOK_MAX_LEVELS];

    int has_trade;
    cscalp_trade last_trade;
    cscalp_tape tape;

    int has_funding;
    cscalp_funding funding;

    uint64_t accepted[CSCALP_KIND_COUNT];
    uint64_t rejected[CSCALP_REJECT_REASON_SLOTS];
    uint64_t time_clamped;
} cscalp_feed;

void cscalp_feed_init(cscalp_feed *feed, uint32_t levels_kept,
                      int64_t max_regression_ns);
/* New limits; the kept book is trimmed at once when levels shrink. */
void cscalp_feed_set_limits(cscalp_feed *feed, uint32_t levels_kept,
                            int64_t max_regression_ns);

/* Validate an event and admit its time. On success *effective_ns is the time
 * the event counts at (its own, or the clock when it is slightly late). On
 * failure *why is filled. The feed is not changed either way. */
int cscalp_feed_check_trade(const cscalp_feed *feed, const cscalp_trade *t,
                            int64_t *effective_ns, cscalp_feed_reject *why);
int cscalp_feed_check_quote(const cscalp_feed *feed, const cscalp_quote *q,
                            int64_t *effective_ns, cscalp_feed_reject *why);
int cscalp_feed_check_book(const cscalp_feed *feed, const cscalp_book *b,
                           int64_t *effective_ns, cscalp_feed_reject *why);
int cscalp_feed_check_funding(const cscalp_feed *feed, const cscalp_funding *f,
                              int64_t *effective_ns, cscalp_feed_reject *why);
int cscalp_feed_check_time(const cscalp_feed *feed, int64_t ts_ns,
                           int64_t *effective_ns, cscalp_feed_reject *why);

/* Apply a checked event at its effective time. */
void cscalp_feed_apply_trade(cscalp_feed *feed, const cscalp_trade *t, int64_t at_ns);
void cscalp_feed_apply_quote(cscalp_feed *feed, const cscalp_quote *q, int64_t at_ns);
void cscalp_feed_apply_book(cscalp_feed *feed, const cscalp_book *b, int64_t at_ns);
void cscalp_feed_apply_funding(cscalp_feed *feed, const cscalp_funding *f,
                               int64_t at_ns);
void cscalp_feed_advance(cscalp_feed *feed, int64_t at_ns);

/* Count a refused event under its reason. */
void cscalp_feed_count_reject(cscalp_feed *feed, const cscalp_feed_reject *why);

/* Checkpoints: the feed's state field by field (limits come from config).
 * Load checks every value (finite, in range, book ordered) and leaves the
 * feed unchanged on CSCALP_ECORRUPT. */
void cscalp_feed_save(const cscalp_feed *feed, cscalp_wbuf *w);
int cscalp_feed_load(cscalp_feed *feed, cscalp_rbuf *r, char *why, size_t cap);

/* The tape's sums decayed to time t (t >= tape->last_ns). */
void cscalp_tape_at(const cscalp_tape *tape, int64_t t_ns, cscalp_tape *out);

#endif
