/* Online Gaussian hidden Markov model (docs/regime.md): K hidden states,
 * D-dimensional observations with a diagonal Gaussian per state, forward
 * filtering one observation at a time (O(K² + K·D)), parameters learned
 * online by stepwise EM with a forgetting step size, states kept in a
 * canonical order (ascending mean of observation dimension 0) so that
 * state ids stay stable while the parameters move.
 *
 * Life of a model:
 *   warm-up   the first `warmup` observations are stored; the posterior is
 *             uniform. At the last one the states are initialised from
 *             them by k-means on the standardised observations, started
 *             from K equal groups along dimension 0 (one-off cost
 *             O(n log n + 50·n·K·D), no allocation).
 *   running   every observation: predict (posterior × transitions), weigh
 *             by the emission densities, normalise (the filtered
 *             posterior); then, when learning, one stepwise-EM update of
 *             the sufficient statistics and the parameters, and the
 *             canonical re-ordering.
 *
 * A model can also be given fixed parameters (cscalp_hmm_set_params) and
 * run with learning off: the plain forward filter, for comparison with
 * other implementations. Everything is allocated at create; every other
 * call is allocation-free and deterministic (sums in a fixed order). */
#ifndef CSCALP_REGIME_HMM_H
#define CSCALP_REGIME_HMM_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

#define CSCALP_HMM_MAX_STATES 16
#define CSCALP_HMM_MAX_DIMS 8

typedef struct cscalp_hmm_params {
    uint32_t states;       /* K, 1 … CSCALP_HMM_MAX_STATES */
    uint32_t dims;         /* D, 1 … CSCALP_HMM_MAX_DIMS */
    uint32_t warmup;       /* observations before the first filtered step, ≥ K */
    double half_life;      /* stepwise-EM memory (observations), ≥ 1 */
    double stay_probability;  /* prior and initial self-transition probability, (0, 1) */
    double transition_prior;  /* Dirichlet pseudo-counts per row, ≥ 0 */
    double min_variance;   /* variance floor of every dimension, > 0 */
    int learn;             /* 0: parameters stay as set; 1: stepwise EM */
} cscalp_hmm_params;

typedef struct cscalp_hmm cscalp_hmm;

/* CSCALP_OK, CSCALP_ENOMEM, or CSCALP_ECONFIG_RANGE with `why` naming the
 * out-of-range parameter. */
int cscalp_hmm_create(const cscalp_allocator *mem, const cscalp_hmm_params *p,
                      cscalp_hmm **out, char *why, size_t cap);
void cscalp_hmm_destroy(cscalp_hmm *h);
const cscalp_hmm_params *cscalp_hmm_get_params(const cscalp_hmm *h);
/* A new stepwise-EM memory (≥ 1 observation); CSCALP_ECONFIG_RANGE else. */
int cscalp_hmm_set_half_life(cscalp_hmm *h, double half_life);

/* Fixed parameters, skipping warm-up: means and variances K × D row-major,
 * transition K × K row-major (rows sum to 1), initial K (sums to 1; the
 * posterior before the first observation). CSCALP_ECONFIG_RANGE when a
 * value is not finite, a variance ≤ 0, a probability outside [0, 1] or a
 * row does not sum to 1 within 1e-6. Does not re-order the states. */
int cscalp_hmm_set_params(cscalp_hmm *h, const double *means, const double *variances,
                          const double *transition, const double *initial);

/* One observation (D values). CSCALP_OK; CSCALP_ENONFINITE when a value is
 * not finite (nothing changes). During warm-up the posterior stays
 * uniform. */
int cscalp_hmm_step(cscalp_hmm *h, const double *x);

/* 1 once warm-up is over (or parameters were set). */
int cscalp_hmm_ready(const cscalp_hmm *h);
/* The filtered posterior P(state_t | x_1..t), K values summing to 1. */
const double *cscalp_hmm_posterior(const cscalp_hmm *h);
/* The most probable state now (0 during warm-up). */
uint32_t cscalp_hmm_map_state(const cscalp_hmm *h);
/* Current parameters (K × D, K × D, K × K). */
const double *cscalp_hmm_means(const cscalp_hmm *h);
const double *cscalp_hmm_variances(const cscalp_hmm *h);
const double *cscalp_hmm_transition(const cscalp_hmm *h);
/* Observations taken (warm-up included), and re-orderings done. */
uint64_t cscalp_hmm_steps(const cscalp_hmm *h);
uint64_t cscalp_hmm_reorders(const cscalp_hmm *h);
/* States born from runs of outliers (docs/regime.md, "Births"). */
uint64_t cscalp_hmm_births(const cscalp_hmm *h);
/* Where each state of before the latest cscalp_hmm_step is now: K ids.
 * Re-orderings permute the states; a birth merges one into another. */
const uint32_t *cscalp_hmm_moves(const cscalp_hmm *h);
/* ln p(x_t | x_1..t-1) of the latest observation (NaN during warm-up). */
double cscalp_hmm_last_log_likelihood(const cscalp_hmm *h);

/* Checkpoints: every field; load checks sizes, finiteness and ranges
 * (CSCALP_ECORRUPT with `why`). On error the model may hold part of the
 * warm-up observations: discard it (the engine does). */
void cscalp_hmm_save(const cscalp_hmm *h, cscalp_wbuf *w);
int cscalp_hmm_load(cscalp_hmm *h, cscalp_rbuf *r, char *why, size_t cap);

#endif
