/* The fallback model (docs/learning.md, "Fallback model"): online
 * multinomial logistic regression over down/flat/up on the feature vector,
 * trained by plain SGD one sample at a time. It always learns beside the
 * network and serves signals when the network scores worse.
 *
 *   z = W·x + b  (W: 3×D, b: 3, double),  p = softmax(z)  (max subtracted)
 *   per-sample loss  L = c_y · (−ln p_y) + (λ/2)·‖W‖²   (bias not decayed)
 *   update           W ← W − η·(c_y·(p − e_y)·xᵀ + λ·W),  b ← b − η·c_y·(p − e_y)
 *
 * η is the learning rate per sample, λ the L2 coefficient, c the per-class
 * weights (1 unless set). Parameters start at 0 (uniform predictions).
 * predict and update are O(D) and allocation-free (memory comes from the
 * allocator at create), and deterministic: the same stream gives the same
 * bits. The caller orders test-then-train: predict (and score) a sample,
 * then update on it. Not thread-safe: one owner. */
#ifndef CSCALP_LEARN_LOGISTIC_H
#define CSCALP_LEARN_LOGISTIC_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

#define CSCALP_LOGIT_CLASSES 3
/* The network's input limit (CSCALP_NN_MAX_INPUTS): the fallback reads the
 * same vector. */
#define CSCALP_LOGIT_MAX_INPUTS 4096u

typedef struct cscalp_logit cscalp_logit;

/* A model on `inputs` floats (1 … 4096). CSCALP_ECONFIG_RANGE when inputs
 * is out of range or the rates are (see set_rates), CSCALP_ENOMEM; *out is
 * NULL on failure. */
int cscalp_logit_create(const cscalp_allocator *mem, size_t inputs, double learning_rate,
                        double l2, cscalp_logit **out);
void cscalp_logit_destroy(cscalp_logit *m);

/* learning_rate finite and > 0 (per sample), l2 finite and >= 0, and
 * learning_rate · l2 < 1 (otherwise the decay factor 1 − η·λ would flip or
 * zero the weights). CSCALP_ECONFIG_RANGE leaves the old rates. */
int cscalp_logit_set_rates(cscalp_logit *m, double learning_rate, double l2);
/* Per-class loss weights c (finite, > 0; all 1 by default).
 * CSCALP_ECONFIG_RANGE leaves the old ones. */
int cscalp_logit_set_class_weights(cscalp_logit *m,
                                   const double weights[CSCALP_LOGIT_CLASSES]);
/* Parameters back to 0 and counters to 0; rates and weights stay. */
void cscalp_logit_reset(cscalp_logit *m);

/* Class probabilities for x (`inputs` floats). CSCALP_ENONFINITE, with
 * probs all NaN so nothing can mistake them for a prediction, when x or a
 * logit is not finite. */
int cscalp_logit_predict(const cscalp_logit *m, const float *x,
                         float probs[CSCALP_LOGIT_CLASSES]);
int cscalp_logit_predict_d(const cscalp_logit *m, const float *x,
                           double probs[CSCALP_LOGIT_CLASSES]);

/* One SGD step on (x, label). Refused, with the parameters and the update
 * count unchanged and `refused` counting it: CSCALP_ENONFINITE when x, a
 * logit or an updated parameter would not be finite; CSCALP_EINVAL when
 * label > 2. */
int cscalp_logit_update(cscalp_logit *m, const float *x, uint8_t label);

size_t cscalp_logit_inputs(const cscalp_logit *m);
uint64_t cscalp_logit_updates(const cscalp_logit *m);
uint64_t cscalp_logit_refused(const cscalp_logit *m);
/* Read-only views: W row-major (row k = class k, `inputs` columns), b.
 * The weights' pointer is valid until the next update, reset or load (an
 * update swaps in its buffer of new weights rather than copy them). */
const double *cscalp_logit_weights(const cscalp_logit *m);
const double *cscalp_logit_bias(const cscalp_logit *m);

/* Checkpoints: the learned state (input count, counters, W, b), field by
 * field; the rates and class weights are configuration and stay as set.
 * Load checks everything before it changes anything: CSCALP_ECORRUPT with
 * `why` when truncated, saved for another input count, or a parameter is
 * not finite; the model is unchanged then. */
void cscalp_logit_save(const cscalp_logit *m, cscalp_wbuf *w);
int cscalp_logit_load(cscalp_logit *m, cscalp_rbuf *r, char *why, size_t cap);

#endif
