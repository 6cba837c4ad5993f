/* An independent, deliberately naive implementation of docs/features.md:
 * it keeps the whole event history and evaluates every feature from its
 * definition (explicit sums over all past events, explicit searches for the
 * return grid). Slow on purpose; it shares no code with src/. */
#ifndef CSCALP_TEST_FEATURE_REFERENCE_H
#define CSCALP_TEST_FEATURE_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"

#define REF_FEATURES 24

typedef struct ref_top_update {
    int64_t t;
    double bid, bid_size, ask, ask_size;
} ref_top_update;

typedef struct ref_trade {
    int64_t t;
    double price, size;
    int side;
} ref_trade;

typedef struct reference {
    ref_top_update *tops;
    size_t n_tops, cap_tops;
    ref_trade *trades;
    size_t n_trades, cap_trades;
    int has_book;
    unsigned book_levels_kept;     /* feed.book_levels */
    unsigned book_bids, book_asks; /* levels of the latest snapshot (<= 50) */
    cscalp_level bids[CSCALP_BOOK_MAX_LEVELS], asks[CSCALP_BOOK_MAX_LEVELS];
    int has_funding;
    cscalp_funding funding;
    int64_t clock;
    int started;

    /* online normalisation, per docs/features.md */
    int64_t norm_interval_ns;
    double alpha, z_clip;
    uint64_t warmup, samples;
    double mean[REF_FEATURES], var[REF_FEATURES];
} reference;

void ref_init(reference *r, unsigned book_levels_kept, int64_t norm_interval_ns,
              double half_life_s, double z_clip, uint64_t warmup);
void ref_free(reference *r);

/* Record events (already valid, times not going backwards). */
void ref_quote(reference *r, const cscalp_quote *q);
void ref_book(reference *r, const cscalp_book *b);
void ref_trade_event(reference *r, const cscalp_trade *t);
void ref_funding(reference *r, const cscalp_funding *f);
void ref_tick(reference *r, int64_t t);

/* Raw features at time t (>= the last event time). */
void ref_eval(const reference *r, int64_t t, double out[REF_FEATURES]);
/* z-scores of the raw vector at the clock. */
void ref_normalized(const reference *r, double out[REF_FEATURES]);

#endif
