/* Regime stage (docs/regime.md): the market's regime in real time, from
 * the online HMM of hmm.h over four slow observations taken from the
 * feature vector on an event-time grid; the current regime (with
 * hysteresis), the posterior for the model's expert gate and the
 * per-regime policy parameters blended by it.
 *
 * Observations at a regime step (raw features, docs/features.md):
 *   0  ln(rvol_10s + 0.01)                       log volatility, bps/√s
 *   1  |return_60s_bps| / (√60 · rvol_60s + 0.01)  trend strength
 *   2  ln(spread_bps + 0.01)                      log spread, bps
 *   3  ln(1 + trade_count_10s / 10)               log trade intensity, trades/s
 * States are ordered by observation 0: regime 0 is the calmest.
 *
 * Call order for the engine: cscalp_regime_due(t) ? cscalp_regime_step(t,
 * raw features, warm) after the feed applied an event or tick. Everything
 * is allocated at create; every other call is allocation-free. */
#ifndef CSCALP_REGIME_REGIME_H
#define CSCALP_REGIME_REGIME_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "regime/hmm.h"
#include "util/bytes.h"
#include "util/json_writer.h"

#define CSCALP_REGIME_OBSERVATIONS 4
#define CSCALP_REGIME_LIST_MAX 16

typedef struct cscalp_regime_config {
    /* fixed at create */
    uint32_t states; /* one per expert head */
    uint32_t warmup;
    double stay_probability, transition_prior;
    /* may change while running */
    int64_t interval_ns;
    double half_life;
    double change_probability;
    uint32_t confirm_steps;
    uint32_t size_count, band_count, leverage_count;
    double size_factors[CSCALP_REGIME_LIST_MAX];
    double entry_band_bps[CSCALP_REGIME_LIST_MAX];
    double max_leverage[CSCALP_REGIME_LIST_MAX];
} cscalp_regime_config;

/* The policy parameters in force: each the posterior-weighted mean of the
 * per-regime values (a list shorter than the regime count repeats its last
 * value). */
typedef struct cscalp_regime_policy {
    double size_factor;
    double entry_band_bps;
    double max_leverage;
} cscalp_regime_policy;

/* A change of the current regime, for the engine's health event. */
typedef struct cscalp_regime_change {
    uint32_t from, to;
    double probability;
} cscalp_regime_change;

typedef struct cscalp_regime cscalp_regime;

int cscalp_regime_create(const cscalp_allocator *mem, const cscalp_regime_config *cfg,
                         cscalp_regime **out, char *why, size_t cap);
void cscalp_regime_destroy(cscalp_regime *r);
/* The keys that may change while running; the others are kept. */
void cscalp_regime_set_config(cscalp_regime *r, const cscalp_regime_config *cfg);

/* A regime step is due at the first event or tick at or after each grid
 * point. */
int cscalp_regime_due(const cscalp_regime *r, int64_t t_ns);
/* Take the step at t from the raw feature vector; `warm` 0 (the features
 * are still warming up) moves the grid on without observing. Returns 1 and
 * fills *change when the current regime changed. */
int cscalp_regime_step(cscalp_regime *r, int64_t t_ns, const double *raw_features, int warm,
                       cscalp_regime_change *change);

/* For the expert gate: the posterior as floats (uniform until the model is
 * ready), `states` values. */
const float *cscalp_regime_gate(const cscalp_regime *r);
uint32_t cscalp_regime_current(const cscalp_regime *r);
double cscalp_regime_current_probability(const cscalp_regime *r);
void cscalp_regime_policy_now(const cscalp_regime *r, cscalp_regime_policy *out);
/* The model itself (tests, tools). */
const cscalp_hmm *cscalp_regime_model(const cscalp_regime *r);

/* The "regime" object of cscalp_stats_json. */
void cscalp_regime_write_stats(const cscalp_regime *r, cscalp_json_writer *w);

void cscalp_regime_save(const cscalp_regime *r, cscalp_wbuf *w);
int cscalp_regime_load(cscalp_regime *r, cscalp_rbuf *in, char *why, size_t cap);

#endif
