/* Drift detectors for the live loss stream (docs/drift.md): the learner
 * feeds every matured sample's log-loss to cscalp_drift_update; on an alarm
 * it boosts the learning rate for a while and raises a health event.
 *
 * Only a rise of the loss's mean is drift here: the model got worse and
 * must learn faster. A fall (the model got better, or the market got
 * easier) needs no reaction, so neither detector raises an alarm for it.
 *
 * Two detectors with different strengths run side by side:
 *
 * Page-Hinkley (one-sided, for an increase), in units of the stream's
 * standard deviation. A reference mean μ and variance v are estimated from
 * the stream itself; for every sample x, in this order:
 *
 *   armed (n ≥ warmup):
 *     σ    = max(√v, min_sigma)
 *     z    = min((x − μ) / σ − δ, cap)           δ = ph_delta_sigma,
 *     g    ← max(0, g + z)                        cap = ph_step_cap_sigma
 *     g > λ  (λ = ph_lambda_sigma): alarm, then n = μ = v = g = 0
 *   always (the reference learns x, also the sample that raised an alarm):
 *     n    ← n + 1
 *     w    = max(1/n, 1 − 2^(−1/H))               H = ph_ref_half_life_samples
 *     d    = x − μ
 *     μ    ← μ + w·d
 *     v    ← (1 − w)·(v + w·d²)
 *
 * With a fixed reference this is exactly Page-Hinkley's m_T − min_t m_t
 * for m_T = Σ (x_t − μ − δσ) / σ, i.e. a one-sided CUSUM. While w = 1/n
 * (the warm-up and the first 1/(1 − 2^(−1/H)) samples after a reset) μ and
 * v are Welford's running mean and population variance; after that they
 * are exponentially weighted with half-life H, so a level that moves by
 * much less than δσ per H samples is followed rather than flagged. The
 * reference learns every sample, also while g is rising: excluding high
 * samples would bias μ low and cause false alarms, and over the
 * ~λ/(shift − δ) samples a real rise needs to be flagged μ follows it by
 * that many times w, a few percent at most. The cap bounds what one sample
 * can add to g: a single confident mistake (a loss of ln 10⁷ nats) cannot
 * raise an alarm by itself, at least ⌈λ / cap⌉ high samples are needed.
 * H = 0 keeps the cumulative (Welford) reference until the next alarm.
 *
 * ADWIN (Bifet & Gavaldà 2007, ADWIN2): a window of the most recent samples
 * kept as an exponential histogram: row r holds up to M =
 * CSCALP_ADWIN_BUCKETS_PER_ROW buckets of 2^r consecutive samples each
 * (count, sum and sum of squared deviations from the bucket's mean); a full
 * row merges its two oldest buckets into one of the next row. Every
 * `adwin_clock_samples` samples every split of the window at a bucket
 * boundary into an older part W0 (n0 samples, mean μ0) and a newer part W1
 * (n1, μ1), both at least `adwin_min_subwindow_samples` long, is tested:
 *
 *   1/m  = 1/n0 + 1/n1,   n = n0 + n1,   σ²_W = the window's variance,
 *   L    = ln(2 · ln(n) / δ)                      (δ' = δ / ln n)
 *   cut when |μ1 − μ0| > √(2 · σ²_W · L / m) + 2 · L / (3m)
 *
 * On a cut the oldest bucket is dropped and the window is tested again,
 * until no split is significant. A check that cut with μ1 > μ0 at least
 * once is an alarm, unless everything it dropped was already in the window
 * when the previous alarm's check ended: cutting stops as soon as the rest
 * of the window no longer differs significantly, so some samples from
 * before a rise stay and are cut at later checks; those cuts belong to the
 * change already reported (without this rule one 1σ rise raises about 3.5
 * alarms). Every other check that cut (with falling means only, or only
 * the residue of the last alarm's change) just shrinks the window and is
 * counted as a shrink.
 *
 * The second term of the bound is Bernstein's for values in a range of
 * about 1, as in the paper, MOA and river: it suits a log-loss in nats; a
 * stream on a much larger scale makes ADWIN less sensitive. The window
 * holds at most M·(2^R − 1) samples, R = CSCALP_ADWIN_MAX_ROWS; beyond that
 * the oldest bucket is dropped.
 *
 * Page-Hinkley reacts fast to a clear step; ADWIN catches smaller or slower
 * rises that Page-Hinkley's adapting reference follows.
 *
 * Everything is a plain struct with fixed-size arrays: no allocation, no
 * clock, no randomness; the same stream gives the same bits. Updates are
 * O(1) (Page-Hinkley) and amortised O(log n) (ADWIN: O(M·R) per check,
 * every clock samples, plus the merges). Not thread-safe: one owner. */
#ifndef CSCALP_LEARN_DRIFT_H
#define CSCALP_LEARN_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

/* Bits of cscalp_drift_update's result. */
#define CSCALP_DRIFT_PH 0x1
#define CSCALP_DRIFT_ADWIN 0x2

/* ADWIN's exponential histogram: buckets per row (M) and rows (R). The
 * window holds at most M·(2^R − 1) ≈ 2.1·10¹⁰ samples. */
#define CSCALP_ADWIN_BUCKETS_PER_ROW 5
#define CSCALP_ADWIN_MAX_ROWS 32

/* Inputs with |x| above this are ignored like non-finite ones: squares and
 * sums of up to 2^32 of them stay far from overflow. */
#define CSCALP_DRIFT_MAX_ABS_INPUT 1e100

/* Largest accepted adwin_clock_samples and adwin_min_subwindow_samples. */
#define CSCALP_ADWIN_MAX_CLOCK 1048576u

typedef struct cscalp_drift_params {
    /* Page-Hinkley */
    double ph_delta_sigma;            /* allowance δ, in σ: [0, 10]; default 0.5 */
    double ph_lambda_sigma;           /* threshold λ, in σ: (0, 10⁶]; default 11 */
    double ph_step_cap_sigma;         /* most one sample adds to g, in σ: (0, 10⁶];
                                         default 2 */
    uint32_t ph_warmup_samples;       /* samples estimating μ, σ before the detector
                                         arms, after init and after every alarm:
                                         [2, 10⁸]; default 100 */
    double ph_ref_half_life_samples;  /* H: 0 (cumulative) or [1, 10¹²];
                                         default 5000 */
    double ph_min_sigma;              /* floor of σ, in the stream's units: finite,
                                         > 0; default 1e-6 */
    /* ADWIN */
    double adwin_delta;               /* confidence δ: (0, 1); default 1e-5 */
    uint32_t adwin_clock_samples;     /* samples between checks: [1, 2²⁰];
                                         default 32 */
    uint32_t adwin_min_subwindow_samples; /* shortest W0 and W1: [1, 2²⁰];
                                             default 5 */
} cscalp_drift_params;

typedef struct cscalp_ph {
    /* parameters (from cscalp_drift_params) */
    double delta_sigma, lambda_sigma, step_cap_sigma, min_sigma;
    double ref_weight_floor; /* 1 − 2^(−1/H); 0 when H = 0 */
    uint32_t warmup_samples;
    /* state */
    uint64_t n;       /* samples in the reference since init or the last alarm */
    double mean, var; /* reference μ and v */
    double stat;      /* g, in σ */
} cscalp_ph;

typedef struct cscalp_adwin {
    /* parameters */
    double delta;
    uint32_t clock_samples, min_subwindow_samples;
    /* state */
    uint32_t since_check; /* samples since the last check */
    uint32_t rows;        /* rows in use: row rows−1 holds the oldest buckets */
    uint32_t count[CSCALP_ADWIN_MAX_ROWS];
    /* bucket i of row r (i = 0 the oldest): sum of its 2^r samples and
     * their sum of squared deviations from its own mean */
    double sum[CSCALP_ADWIN_MAX_ROWS][CSCALP_ADWIN_BUCKETS_PER_ROW];
    double m2[CSCALP_ADWIN_MAX_ROWS][CSCALP_ADWIN_BUCKETS_PER_ROW];
    uint64_t width; /* samples in the window: Σ_r count[r]·2^r */
    /* The oldest samples of the window that were already in it when the
     * last alarm's check ended (0 before the first alarm). */
    uint64_t alarm_residue;
} cscalp_adwin;

typedef struct cscalp_drift {
    cscalp_drift_params params;
    cscalp_ph ph;
    cscalp_adwin adwin;
    uint64_t samples;       /* inputs used */
    uint64_t ignored;       /* inputs refused: not finite or |x| > 1e100 */
    uint64_t ph_alarms;     /* alarms raised by Page-Hinkley */
    uint64_t adwin_alarms;  /* ADWIN checks that cut with a rising mean */
    uint64_t adwin_shrinks; /* ADWIN checks that cut without an alarm */
} cscalp_drift;

/* Current estimates, for stats. */
typedef struct cscalp_drift_stats {
    uint64_t samples, ignored, ph_alarms, adwin_alarms, adwin_shrinks;
    int ph_armed;        /* 1 once the warm-up since init or the last alarm is over */
    double ph_mean;      /* reference μ; NaN before the first sample */
    double ph_sigma;     /* √v (without the floor); NaN before the first sample */
    double ph_statistic; /* g in σ; an alarm when it would exceed ph_lambda_sigma */
    uint64_t adwin_width; /* samples in ADWIN's window */
    double adwin_mean;    /* the window's mean; NaN when it is empty */
    double adwin_sigma;   /* the window's standard deviation; NaN when empty */
} cscalp_drift_stats;

/* The documented defaults (see cscalp_drift_params; docs/drift.md shows
 * the detection delays and false-alarm rates they give). */
void cscalp_drift_params_default(cscalp_drift_params *p);

/* CSCALP_OK, or CSCALP_ECONFIG_RANGE with `why` naming the first parameter
 * outside its range (see cscalp_drift_params). */
int cscalp_drift_params_check(const cscalp_drift_params *p, char *why, size_t cap);

/* Both detectors from p, empty, counters 0. CSCALP_ECONFIG_RANGE (see
 * cscalp_drift_params_check) leaves d untouched. */
int cscalp_drift_init(cscalp_drift *d, const cscalp_drift_params *p, char *why, size_t cap);

/* Forget what both detectors learnt (a new warm-up, an empty window) but
 * keep the counters, e.g. when another model starts producing the loss. */
void cscalp_drift_restart(cscalp_drift *d);

/* Feed one sample (a loss: higher is worse). Returns 0, or a mask of
 * CSCALP_DRIFT_PH and CSCALP_DRIFT_ADWIN for the detectors that raised an
 * alarm on this sample. A non-finite x or |x| > CSCALP_DRIFT_MAX_ABS_INPUT
 * changes nothing but the `ignored` counter and returns 0. O(1) amortised,
 * with an O(log n) ADWIN check every adwin_clock_samples samples. */
int cscalp_drift_update(cscalp_drift *d, double x);

void cscalp_drift_get_stats(const cscalp_drift *d, cscalp_drift_stats *out);

/* Checkpoints: the state and the counters, field by field, little-endian;
 * not the parameters, which load takes from d (its init), so a changed
 * configuration applies to a loaded detector. With the same parameters a
 * loaded detector continues bit-identically. Load checks the whole section
 * before it changes anything: CSCALP_ECORRUPT with `why` when it is
 * truncated, written with another histogram layout, or inconsistent (a
 * count beyond its array, bucket counts that do not add up to the width,
 * non-finite or impossible numbers, more alarms or window than samples);
 * d is unchanged then. */
void cscalp_drift_save(const cscalp_drift *d, cscalp_wbuf *w);
int cscalp_drift_load(cscalp_drift *d, cscalp_rbuf *r, char *why, size_t cap);

/* ------------------------------------------------------------------------ */
/* The detectors alone (cscalp_drift runs both)                             */

/* From p's ph_* fields; CSCALP_ECONFIG_RANGE (ph untouched) when one is out
 * of range. */
int cscalp_ph_init(cscalp_ph *ph, const cscalp_drift_params *p, char *why, size_t cap);
/* Back to the start of a warm-up; parameters stay. */
void cscalp_ph_reset(cscalp_ph *ph);
/* 1 when x raised an alarm (the detector has then reset and starts a new
 * warm-up with x), else 0. x must be finite with |x| ≤ 1e100; otherwise
 * nothing changes and 0 is returned. O(1). */
int cscalp_ph_update(cscalp_ph *ph, double x);
/* σ the next sample is standardised by: max(√v, min_sigma). */
double cscalp_ph_sigma(const cscalp_ph *ph);

/* From p's adwin_* fields; CSCALP_ECONFIG_RANGE (a untouched) when one is
 * out of range. */
int cscalp_adwin_init(cscalp_adwin *a, const cscalp_drift_params *p, char *why, size_t cap);
/* Empty window; parameters stay. */
void cscalp_adwin_reset(cscalp_adwin *a);
/* Add x; on every adwin_clock_samples-th call test the window. Returns 1
 * when the window was cut with a rising mean (an alarm, see above), −1
 * when it was cut without an alarm (a shrink), else 0. x must be finite with
 * |x| ≤ 1e100; otherwise nothing changes and 0 is returned. */
int cscalp_adwin_update(cscalp_adwin *a, double x);
/* The window's mean and variance (population); NaN when it is empty. */
double cscalp_adwin_mean(const cscalp_adwin *a);
double cscalp_adwin_variance(const cscalp_adwin *a);

#endif
