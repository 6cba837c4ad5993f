/* Labels from the feed (docs/learning.md, "Labels"): the mid-price move over
 * a horizon after a decision sample, classed down/flat/up against a band.
 *
 * The clock side only: this file follows the mid (after every quote or book,
 * the "counted events"), keeps running sums for the smoothed form and the
 * band's quantile estimate. A decision sample stores a cscalp_label_anchor
 * taken at its time; when the sample matures the anchor and the clock give
 * its label. Every operation is O(1) and allocation-free.
 *
 * Maturity, so that nothing looks ahead:
 *   - horizon in time H: the label needs the mid in force at t + H, known
 *     for sure only once an event (or tick) with a time after t + H arrives;
 *     the sample matures then, *before* that event is applied.
 *   - horizon in events k: the label needs the mid after the k-th counted
 *     event after t; the sample matures right after that event. */
#ifndef CSCALP_LEARN_LABELS_H
#define CSCALP_LEARN_LABELS_H

#include <stdint.h>

#include "util/bytes.h"

typedef enum cscalp_label_form {
    CSCALP_LABEL_POINT = 0,   /* mid[t+H] - mid[t] */
    CSCALP_LABEL_SMOOTHED = 1 /* mean of mid over (t, t+H] - mid[t] */
} cscalp_label_form;

typedef enum cscalp_label_band {
    CSCALP_BAND_COST = 0,    /* 2 x taker fee + half spread at t, in bps */
    CSCALP_BAND_FIXED = 1,   /* band_bps */
    CSCALP_BAND_QUANTILE = 2 /* running quantile of |move| over matured labels */
} cscalp_label_band;

typedef struct cscalp_label_params {
    int form;                 /* cscalp_label_form */
    int band;                 /* cscalp_label_band */
    int64_t horizon_ns;       /* used when horizon_events is 0 */
    uint32_t horizon_events;  /* > 0: horizon counted in events */
    double band_bps;          /* BAND_FIXED */
    double band_quantile;     /* BAND_QUANTILE, in (0, 1) */
    uint32_t quantile_warmup; /* BAND_QUANTILE: |moves| seen before it is used */
    double taker_fee_bps;     /* BAND_COST */
} cscalp_label_params;

/* P² running quantile (Jain & Chlamtac 1985): five markers, O(1), no
 * allocation, deterministic. */
typedef struct cscalp_p2_quantile {
    double p;
    uint64_t n;
    double q[5];  /* marker heights */
    double pos[5]; /* actual positions (1-based, whole numbers stored as double) */
    double want[5]; /* desired positions */
} cscalp_p2_quantile;

void cscalp_p2_init(cscalp_p2_quantile *q, double p);
void cscalp_p2_add(cscalp_p2_quantile *q, double x);
/* The estimate; exact (the sorted sample's order statistic) below 5 values,
 * 0 with none. */
double cscalp_p2_value(const cscalp_p2_quantile *q);

typedef struct cscalp_label_clock {
    cscalp_label_params params;
    int has_mid;
    double mid;        /* the mid in force */
    int64_t mid_ns;    /* since when */
    uint64_t events;   /* counted events so far */
    /* Running sums for the smoothed form, of (mid - ref_mid) so that they stay
     * small: over counted events, and over time in seconds up to mid_ns. */
    double ref_mid;
    double sum_events;
    double sum_time;
    cscalp_p2_quantile abs_move;
    uint64_t moves_seen;
} cscalp_label_clock;

/* What a decision sample keeps to be labelled later. */
typedef struct cscalp_label_anchor {
    int64_t t_ns;
    uint64_t event;       /* counted events at t */
    double mid;           /* mid[t] */
    double half_spread_bps;
    double sum;           /* the running sum (events or time form) at t */
} cscalp_label_anchor;

void cscalp_label_clock_init(cscalp_label_clock *c, const cscalp_label_params *p);

/* A counted event (quote or book) was applied at t_ns; mid > 0. */
void cscalp_label_on_mid(cscalp_label_clock *c, int64_t t_ns, double mid);

/* Anchor a decision sample at t_ns (>= the last mid time); 0 when there is
 * no mid yet. */
int cscalp_label_anchor_at(const cscalp_label_clock *c, int64_t t_ns,
                           double half_spread_bps, cscalp_label_anchor *out);

/* 1 when the sample is mature. Time horizon: before an event or tick at
 * now_ns is applied (now_ns > t + H). Event horizon: after the counted
 * events reached event + k (now_ns unused). */
int cscalp_label_mature(const cscalp_label_clock *c, const cscalp_label_anchor *a,
                        int64_t now_ns);

/* The move in bps of a mature sample; valid only while it is mature and no
 * later counted event has been applied (the engine labels at maturity). */
double cscalp_label_move_bps(const cscalp_label_clock *c, const cscalp_label_anchor *a);

/* The class (0 down, 1 flat, 2 up) of a move, or -1 while the quantile band
 * is warming up; *band_bps receives the band used. Feeds |move| to the
 * quantile estimate afterwards, so a label never sees itself. */
int cscalp_label_classify(cscalp_label_clock *c, const cscalp_label_anchor *a,
                          double move_bps, double *band_bps);

/* The band the next label would get, for stats (NaN while warming up). */
double cscalp_label_band_now(const cscalp_label_clock *c, double half_spread_bps);

void cscalp_label_clock_save(const cscalp_label_clock *c, cscalp_wbuf *w);
/* Restores the running state; params stay those of `c` (from config). */
int cscalp_label_clock_load(cscalp_label_clock *c, cscalp_rbuf *r, char *why, size_t cap);

void cscalp_label_anchor_save(const cscalp_label_anchor *a, cscalp_wbuf *w);
void cscalp_label_anchor_load(cscalp_label_anchor *a, cscalp_rbuf *r);

#endif
