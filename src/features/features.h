/* Features stage: the fixed feature vector of docs/features.md, kept
 * incrementally from the feed, and its online normalisation. */
#ifndef CSCALP_FEATURES_FEATURES_H
#define CSCALP_FEATURES_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "feed/feed.h"
#include "features/normalizer.h"
#include "util/bytes.h"

#define CSCALP_FEATURE_COUNT 24

/* Mid history on a 100 ms grid for the return features: 1024 slots cover
 * 102.4 s, more than the longest look-back (60 s + one grid step). */
#define CSCALP_RETURN_GRID_NS 100000000LL
#define CSCALP_RETURN_RING 1024

/* Most feature vectors one model input may hold (model.lag_count). */
#define CSCALP_MAX_LAGS 32

typedef struct cscalp_feature_state {
    /* decayed sums over top-of-book updates; time constants 1/10 s (OFI),
     * 10/60/300 s (squared returns) */
    int64_t top_last_ns;
    double ofi[2];
    double sq_return[3];

    int has_first_top;
    int64_t first_top_ns;
    int64_t ring_last_k;  /* highest grid index written */
    int64_t ring_next_ns; /* time of grid point ring_last_k + 1 */
    double mid_ring[CSCALP_RETURN_RING];

    int64_t norm_interval_ns;
    int next_norm_valid;  /* next_norm_ns is stale after a parameter change */
    int64_t next_norm_ns; /* first normalisation grid point after the clock */
    cscalp_normalizer norm;
    double norm_mean[CSCALP_FEATURE_COUNT];
    double norm_var[CSCALP_FEATURE_COUNT];
    double norm_sd[CSCALP_FEATURE_COUNT];

    /* Normalised vectors at the last CSCALP_MAX_LAGS - 1 grid samples, for
     * lagged model inputs: lag_ring[(lag_head - k) mod ...] is lag k + 1. */
    float lag_ring[CSCALP_MAX_LAGS - 1][CSCALP_FEATURE_COUNT];
    uint32_t lag_head;
    uint32_t lag_filled;
} cscalp_feature_state;

const char *cscalp_features_name(size_t i);

/* Bind the state; no allocation. */
void cscalp_features_init(cscalp_feature_state *f, int64_t norm_interval_ns,
                          double norm_half_life_s, double z_clip,
                          uint64_t warmup_samples);
/* New normaliser parameters; the statistics gathered so far are kept. */
void cscalp_features_set_params(cscalp_feature_state *f, int64_t norm_interval_ns,
                                double norm_half_life_s, double z_clip,
                                uint64_t warmup_samples);

/* Called before the feed applies an event (or tick) at time at_ns: takes the
 * normalisation sample when the clock crosses the grid. */
void cscalp_features_before_event(cscalp_feature_state *f, const cscalp_feed *feed,
                                  int64_t at_ns);

/* Called after the feed applied a quote or book: prev is the top of book
 * before it (NULL for the first). */
void cscalp_features_on_top(cscalp_feature_state *f, const cscalp_top *prev,
                            const cscalp_top *cur, int64_t at_ns);

/* The raw vector at time t_ns (>= the feed clock). */
void cscalp_features_eval(const cscalp_feature_state *f, const cscalp_feed *feed,
                          int64_t t_ns, double raw[CSCALP_FEATURE_COUNT]);

/* z-scores of a raw vector under the current statistics. */
void cscalp_features_normalize(const cscalp_feature_state *f,
                               const double raw[CSCALP_FEATURE_COUNT],
                               double z[CSCALP_FEATURE_COUNT]);

/* 1 once the normaliser has taken its warm-up samples (z-scores non-zero). */
int cscalp_features_warm(const cscalp_feature_state *f);

/* How long the features have watched the market at t_ns: time since the
 * first top of book (0 before one). A window feature of length w covers
 * only market time once this reaches w. */
int64_t cscalp_features_history_ns(const cscalp_feature_state *f, int64_t t_ns);

/* The model input at t_ns: the normalised vector now, then lag_count - 1
 * earlier ones from the normalisation grid (zeros before they exist), as
 * lag_count * CSCALP_FEATURE_COUNT floats. lag_count in 1..CSCALP_MAX_LAGS.
 * O(lag_count * features), no allocation. */
void cscalp_features_model_input(const cscalp_feature_state *f, const cscalp_feed *feed,
                                 int64_t t_ns, uint32_t lag_count, float *out);

/* Checkpoints: the running state field by field (the normaliser's
 * parameters come from config). Load checks every value and leaves the
 * state unchanged on CSCALP_ECORRUPT. */
void cscalp_features_save(const cscalp_feature_state *f, cscalp_wbuf *w);
int cscalp_features_load(cscalp_feature_state *f, cscalp_rbuf *r, char *why, size_t cap);

#endif
