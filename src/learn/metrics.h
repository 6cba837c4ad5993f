/* Prequential scoring (docs/learning.md, "Prequential scoring"): when a
 * sample's label matures, the prediction each model made at the sample's
 * time is scored here before anything learns from it (test-then-train).
 *
 * A scorer keeps, for one model's predictions over the classes 0 = down,
 * 1 = flat, 2 = up, cumulative scores (since create or reset) and rolling
 * scores over the last `window` scored samples: count, mean log-loss,
 * accuracy, macro-F1 and the confusion matrices. Definitions, exactly:
 *
 *   - probabilities are renormalised by their sum (a proper score cannot be
 *     gamed by unnormalised outputs, and float softmax rounding goes away);
 *     a prediction with a non-finite or negative value, or a zero sum, or a
 *     label above 2, is not scored: it only counts as invalid;
 *   - log-loss of a sample = −ln max(p_label / Σp, 1e-7), in nats, so one
 *     sample contributes at most ln 10⁷ ≈ 16.118;
 *   - predicted class = argmax p, ties to the lowest index;
 *   - F1 of class k = 2·TP / (2·TP + FP + FN) over the view's confusion
 *     matrix; macro-F1 = mean of F1 over the classes that occur among the
 *     view's true or predicted labels (scikit-learn's f1_score(average=
 *     'macro', zero_division=0) with `labels` left unset: classes absent
 *     from both are not averaged in; a present class with TP = 0 counts 0).
 *
 * Counts are integers and cannot drift. Log-loss sums are Neumaier-
 * compensated; the rolling sum is also re-based once per W updates on a sum
 * of only the entries now in the window (accumulated as they arrive), so
 * its rounding error is bounded by W operations however long the stream.
 *
 * Memory comes from the allocator at create only; update is O(1) and
 * allocation-free. Not thread-safe: one owner. */
#ifndef CSCALP_LEARN_METRICS_H
#define CSCALP_LEARN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

#define CSCALP_SCORE_CLASSES 3
/* Floor of p_label inside the log. */
#define CSCALP_SCORE_PROB_FLOOR 1e-7
/* The largest window a scorer accepts (samples). */
#define CSCALP_SCORE_MAX_WINDOW 16777216u

/* One view (cumulative or rolling) of a scorer, by value. */
typedef struct cscalp_score_summary {
    uint64_t count;   /* samples scored in this view */
    uint64_t invalid; /* updates refused since create or reset (both views) */
    double log_loss;  /* mean, nats per sample; NaN when count is 0 */
    double accuracy;  /* fraction; NaN when count is 0 */
    double macro_f1;  /* NaN when count is 0 */
    /* Per class; NaN for a class that is neither a true nor a predicted
     * label in this view (it is left out of macro_f1). */
    double f1[CSCALP_SCORE_CLASSES];
    uint64_t confusion[CSCALP_SCORE_CLASSES][CSCALP_SCORE_CLASSES]; /* [true][predicted] */
} cscalp_score_summary;

typedef struct cscalp_score cscalp_score;

/* A scorer with a rolling window of `window` samples (1 … 2²⁴).
 * CSCALP_ECONFIG_RANGE for a window outside that, CSCALP_ENOMEM; *out is
 * NULL on failure. */
int cscalp_score_create(const cscalp_allocator *mem, uint32_t window, cscalp_score **out);
void cscalp_score_destroy(cscalp_score *s);
/* Forget every score (cumulative, rolling, invalid). */
void cscalp_score_reset(cscalp_score *s);
uint32_t cscalp_score_window(const cscalp_score *s);

/* Score one matured prediction. CSCALP_OK; CSCALP_ENONFINITE (a non-finite
 * probability) or CSCALP_EINVAL (a negative one, a zero sum, label > 2):
 * not scored, counted as invalid. O(1). */
int cscalp_score_update(cscalp_score *s, const float probs[CSCALP_SCORE_CLASSES],
                        uint8_t label);

/* The view since create or reset, and the view of the last `window`
 * scored samples (fewer until that many have been scored). */
void cscalp_score_cumulative(const cscalp_score *s, cscalp_score_summary *out);
void cscalp_score_rolling(const cscalp_score *s, cscalp_score_summary *out);

/* Checkpoints: every field, little-endian, so that a loaded scorer goes on
 * bit-identically. Load checks the whole section before it changes
 * anything: CSCALP_ECORRUPT with `why` when it is truncated, saved with a
 * different window, or inconsistent (counts against the stored window,
 * non-finite or out-of-range losses); the scorer is unchanged then. */
void cscalp_score_save(const cscalp_score *s, cscalp_wbuf *w);
int cscalp_score_load(cscalp_score *s, cscalp_rbuf *r, char *why, size_t cap);

/* ------------------------------------------------------------------------ */
/* Class prior: the baseline every model should beat                        */

/* Probability of class k = (n_k + 1) / (Σn + 3): running class counts with
 * a Laplace (+1) prior. With a half-life h > 0 (samples) the counts forget
 * exponentially: every update first multiplies them by 2^(−1/h), so a label
 * seen h updates ago weighs half as much as the newest; h = 0 keeps plain
 * counts. O(1), no allocation. */
typedef struct cscalp_prior {
    double count[CSCALP_SCORE_CLASSES]; /* (decayed) counts, without the +1 */
    double half_life;                   /* samples; 0 = cumulative */
    double decay;                       /* 2^(−1/half_life), 1 when cumulative */
    uint64_t updates;
} cscalp_prior;

/* The smallest non-zero and the largest half-life accepted (samples). */
#define CSCALP_PRIOR_MIN_HALF_LIFE 1.0
#define CSCALP_PRIOR_MAX_HALF_LIFE 1e12

/* Cumulative (no forgetting): uniform 1/3 until the first label. */
void cscalp_prior_init(cscalp_prior *p);
/* half_life 0 (cumulative) or in [1, 10¹²] samples; CSCALP_ECONFIG_RANGE
 * otherwise (p is then initialised cumulative). */
int cscalp_prior_init_half_life(cscalp_prior *p, double half_life);
/* CSCALP_EINVAL (nothing changes) when label > 2. */
int cscalp_prior_update(cscalp_prior *p, uint8_t label);
void cscalp_prior_predict(const cscalp_prior *p, float probs[CSCALP_SCORE_CLASSES]);
void cscalp_prior_predict_d(const cscalp_prior *p, double probs[CSCALP_SCORE_CLASSES]);

/* Load refuses (CSCALP_ECORRUPT, p unchanged) a truncated section, a
 * different half-life, non-finite or negative counts, and counts that no
 * sequence of updates gives (cumulative: whole numbers summing to the
 * update count; forgetting: a total above 1 / (1 − decay)). */
void cscalp_prior_save(const cscalp_prior *p, cscalp_wbuf *w);
int cscalp_prior_load(cscalp_prior *p, cscalp_rbuf *r, char *why, size_t cap);

#endif
