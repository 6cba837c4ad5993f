/* Brute-force reference of docs/features.md, written from the spec only.
 *
 * The model keeps the whole history of accepted events (with their effective
 * times) and evaluates every feature from it at any time t by the defining
 * formulas: decayed sums as explicit loops over all events with exp(), the
 * return grid as an explicit backwards search, and so on. It also keeps a
 * reference of the online normaliser, sampled by the grid rule of the spec.
 * It is slow (O(history) per evaluation) on purpose. */
#ifndef CSCALP_FEAT_REF_H
#define CSCALP_FEAT_REF_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "feat_common.h"

typedef struct ref_tob {
    int64_t t; /* effective time, ns */
    double b, bs, a, as;
} ref_tob;

typedef struct ref_trade {
    int64_t t;
    double p, q;
    int s;
} ref_trade;

typedef struct ref_model {
    int has_clock;
    int64_t clock; /* ns */
    int64_t max_regress_ns;
    unsigned book_levels;

    ref_tob *tob;
    size_t ntob, cap_tob;
    ref_trade *tr;
    size_t ntr, cap_tr;

    int has_book;
    unsigned nbid, nask; /* levels kept from the latest snapshot */
    double bid_sz[CSCALP_BOOK_MAX_LEVELS], ask_sz[CSCALP_BOOK_MAX_LEVELS];

    int has_funding;
    double rate, mark;
    int64_t next_ns;

    /* normaliser reference */
    int64_t norm_interval_ns;
    double alpha, z_clip;
    uint64_t warmup, samples;
    double mu[F_COUNT], var[F_COUNT];
} ref_model;

void ref_init(ref_model *m, int64_t max_regress_ns, unsigned book_levels,
              int64_t norm_interval_ns, double half_life_s, double z_clip,
              uint64_t warmup);
void ref_free(ref_model *m);

/* 1 when an event stamped ts passes the time check (not earlier than the
 * clock by more than the tolerance). */
int ref_time_ok(const ref_model *m, int64_t ts);

/* Accepted events (the caller has checked validity and ref_time_ok). Each
 * moves the clock first (taking a normaliser sample when a grid point is
 * crossed), then applies the event at its effective time. */
void ref_quote(ref_model *m, int64_t ts, double b, double bs, double a, double as);
void ref_book(ref_model *m, const cscalp_book *bk);
void ref_trade_push(ref_model *m, int64_t ts, double p, double q, int side);
void ref_funding(ref_model *m, int64_t ts, double rate, double mark,
                 int64_t next_ns);
void ref_tick(ref_model *m, int64_t ts);

/* Features at time t (ns, t >= every event time); scale[k] (may be NULL) is
 * the magnitude the value is computed from, for a relative tolerance. */
void ref_eval(const ref_model *m, int64_t t, double out[F_COUNT],
              double scale[F_COUNT]);

/* z-scores of x under the reference normaliser statistics. sigma (may be
 * NULL) receives the standard deviations. */
void ref_z(const ref_model *m, const double x[F_COUNT], double z[F_COUNT],
           double sigma[F_COUNT]);

/* floor(a / b) for b > 0, exact for negative a. */
int64_t ref_floor_div(int64_t a, int64_t b);

#endif
