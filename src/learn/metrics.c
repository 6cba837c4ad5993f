/* Prequential scores and the class prior: see metrics.h and
 * docs/learning.md ("Prequential scoring"). */
#include "learn/metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define K CSCALP_SCORE_CLASSES

/* A sum with Neumaier's compensation: value = sum + comp. Rounding error of
 * n additions stays near one ulp of the result instead of growing with n. */
typedef struct csum {
    double sum, comp;
} csum;

static void csum_add(csum *c, double v)
{
    const double t = c->sum + v;
    if (fabs(c->sum) >= fabs(v))
        c->comp += (c->sum - t) + v;
    else
        c->comp += (v - t) + c->sum;
    c->sum = t;
}

static double csum_value(const csum *c) { return c->sum + c->comp; }

struct cscalp_score {
    cscalp_allocator mem;
    uint32_t window;

    /* Cumulative. */
    uint64_t count, invalid;
    uint64_t conf[K][K];
    csum loss;

    /* Rolling: a ring of the last `window` scored samples. Slot `head` is
     * written next; until the ring is full, `filled` == `head`. */
    uint32_t filled, head;
    uint64_t rconf[K][K];
    /* Running sum of the ring's losses: each new loss added, each one leaving
     * the window subtracted. */
    csum rloss;
    /* The losses written since head last wrapped to slot 0, i.e. exactly
     * slots [0, head). When head wraps, the ring holds only those, so rloss
     * is replaced by this sum: whatever rounding rloss gathered from
     * subtractions is dropped every `window` updates and cannot build up
     * over a long stream, at O(1) per update. */
    csum fresh;
    uint8_t *label, *pred;
    double *ring_loss;
};

/* ln 10⁷: the largest loss one sample can contribute. */
static double loss_max(void) { return -log(CSCALP_SCORE_PROB_FLOOR); }

int cscalp_score_create(const cscalp_allocator *mem, uint32_t window, cscalp_score **out)
{
    *out = NULL;
    if (window < 1 || window > CSCALP_SCORE_MAX_WINDOW)
        return CSCALP_ECONFIG_RANGE;
    cscalp_score *s = cscalp_mem_calloc(mem, 1, sizeof *s);
    if (s == NULL)
        return CSCALP_ENOMEM;
    s->mem = *mem;
    s->window = window;
    s->label = cscalp_mem_calloc(mem, window, 1);
    s->pred = s->label ? cscalp_mem_calloc(mem, window, 1) : NULL;
    s->ring_loss = s->pred ? cscalp_mem_calloc(mem, window, sizeof *s->ring_loss) : NULL;
    if (s->ring_loss == NULL) {
        cscalp_score_destroy(s);
        return CSCALP_ENOMEM;
    }
    *out = s;
    return CSCALP_OK;
}

void cscalp_score_destroy(cscalp_score *s)
{
    if (s == NULL)
        return;
    const cscalp_allocator mem = s->mem;
    cscalp_mem_free(&mem, s->label);
    cscalp_mem_free(&mem, s->pred);
    cscalp_mem_free(&mem, s->ring_loss);
    cscalp_mem_free(&mem, s);
}

void cscalp_score_reset(cscalp_score *s)
{
    s->count = s->invalid = 0;
    memset(s->conf, 0, sizeof s->conf);
    memset(s->rconf, 0, sizeof s->rconf);
    s->loss = s->rloss = s->fresh = (csum){0.0, 0.0};
    s->filled = s->head = 0;
    /* Not needed for the scores (only [0, filled) is read); keeps a reset
     * scorer byte-for-byte like a new one. */
    memset(s->label, 0, s->window);
    memset(s->pred, 0, s->window);
    memset(s->ring_loss, 0, (size_t)s->window * sizeof *s->ring_loss);
}

uint32_t cscalp_score_window(const cscalp_score *s) { return s->window; }

int cscalp_score_update(cscalp_score *s, const float probs[K], uint8_t label)
{
    const double p0 = (double)probs[0], p1 = (double)probs[1], p2 = (double)probs[2];
    if (!isfinite(p0) || !isfinite(p1) || !isfinite(p2)) {
        s->invalid++;
        return CSCALP_ENONFINITE;
    }
    /* Three floats summed in double cannot overflow, and with no negative
     * term the rounded sum is at least each term, so p_label / sum <= 1. */
    const double total = p0 + p1 + p2;
    if (label >= K || p0 < 0.0 || p1 < 0.0 || p2 < 0.0 || !(total > 0.0)) {
        s->invalid++;
        return CSCALP_EINVAL;
    }
    double p = (label == 0 ? p0 : label == 1 ? p1 : p2) / total;
    if (p < CSCALP_SCORE_PROB_FLOOR)
        p = CSCALP_SCORE_PROB_FLOOR;
    /* 0.0 − ln 1 is +0, never −0, so stored losses compare cleanly. */
    const double loss = 0.0 - log(p);
    uint8_t pred = 0;
    if (probs[1] > probs[pred])
        pred = 1;
    if (probs[2] > probs[pred])
        pred = 2;

    s->count++;
    s->conf[label][pred]++;
    csum_add(&s->loss, loss);

    const uint32_t slot = s->head;
    if (s->filled == s->window) {
        s->rconf[s->label[slot]][s->pred[slot]]--;
        csum_add(&s->rloss, -s->ring_loss[slot]);
    } else {
        s->filled++;
    }
    s->label[slot] = label;
    s->pred[slot] = pred;
    s->ring_loss[slot] = loss;
    s->rconf[label][pred]++;
    csum_add(&s->rloss, loss);
    csum_add(&s->fresh, loss);
    s->head = slot + 1 == s->window ? 0 : slot + 1;
    if (s->head == 0) {
        s->rloss = s->fresh;
        s->fresh = (csum){0.0, 0.0};
    }
    return CSCALP_OK;
}

static void summarise(uint64_t count, uint64_t invalid, const uint64_t conf[K][K],
                      double loss_sum, cscalp_score_summary *out)
{
    memset(out, 0, sizeof *out);
    out->count = count;
    out->invalid = invalid;
    memcpy(out->confusion, conf, sizeof out->confusion);
    if (count == 0) {
        out->log_loss = out->accuracy = out->macro_f1 = (double)NAN;
        for (int k = 0; k < K; k++)
            out->f1[k] = (double)NAN;
        return;
    }
    /* Compensated sums can land a hair below 0 when every loss is 0. */
    out->log_loss = loss_sum > 0.0 ? loss_sum / (double)count : 0.0;
    uint64_t correct = 0;
    double f1_sum = 0.0;
    int present = 0;
    for (int k = 0; k < K; k++) {
        uint64_t row = 0, col = 0;
        for (int j = 0; j < K; j++) {
            row += conf[k][j];
            col += conf[j][k];
        }
        const uint64_t tp = conf[k][k], fn = row - tp, fp = col - tp;
        correct += tp;
        if (tp + fn + fp == 0) {
            out->f1[k] = (double)NAN;
            continue;
        }
        out->f1[k] = 2.0 * (double)tp / (2.0 * (double)tp + (double)fp + (double)fn);
        f1_sum += out->f1[k];
        present++;
    }
    out->accuracy = (double)correct / (double)count;
    out->macro_f1 = f1_sum / present; /* count > 0: some class is present */
}

void cscalp_score_cumulative(const cscalp_score *s, cscalp_score_summary *out)
{
    summarise(s->count, s->invalid, s->conf, csum_value(&s->loss),
              out);
}

void cscalp_score_rolling(const cscalp_score *s, cscalp_score_summary *out)
{
    summarise(s->filled, s->invalid, s->rconf, csum_value(&s->rloss),
              out);
}

/* ------------------------------------------------------------ checkpoints */

static void put_conf(cscalp_wbuf *w, const uint64_t conf[K][K])
{
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            cscalp_put_u64(w, conf[i][j]);
}

static void get_conf(cscalp_rbuf *r, uint64_t conf[K][K])
{
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            conf[i][j] = cscalp_get_u64(r);
}

static void put_csum(cscalp_wbuf *w, const csum *c)
{
    cscalp_put_f64(w, c->sum);
    cscalp_put_f64(w, c->comp);
}

static csum get_csum(cscalp_rbuf *r)
{
    csum c;
    c.sum = cscalp_get_f64(r);
    c.comp = cscalp_get_f64(r);
    return c;
}

/* Layout: window, count, invalid, conf[3][3], loss, filled, head,
 * rconf[3][3], rloss, fresh, then the ring's `filled` slots in slot order:
 * labels (u8), predicted classes (u8), losses (f64). */
void cscalp_score_save(const cscalp_score *s, cscalp_wbuf *w)
{
    cscalp_put_u32(w, s->window);
    cscalp_put_u64(w, s->count);
    cscalp_put_u64(w, s->invalid);
    put_conf(w, s->conf);
    put_csum(w, &s->loss);
    cscalp_put_u32(w, s->filled);
    cscalp_put_u32(w, s->head);
    put_conf(w, s->rconf);
    put_csum(w, &s->rloss);
    put_csum(w, &s->fresh);
    cscalp_put_bytes(w, s->label, s->filled);
    cscalp_put_bytes(w, s->pred, s->filled);
    cscalp_put_f64s(w, s->ring_loss, s->filled);
}

static int csum_finite(const csum *c)
{
    return isfinite(c->sum) && isfinite(c->comp) && isfinite(csum_value(c));
}

/* A saved sum agrees with one recomputed from the ring to well within what
 * rounding can explain (the compensated sums are good to ~1e-15). */
static int sum_agrees(double saved, double recomputed, double scale)
{
    return fabs(saved - recomputed) <= 1e-9 * (1.0 + scale);
}

int cscalp_score_load(cscalp_score *s, cscalp_rbuf *r, char *why, size_t cap)
{
    /* Everything goes into this temporary first; s changes only at the end. */
    struct {
        uint32_t window, filled, head;
        uint64_t count, invalid, conf[K][K], rconf[K][K];
        csum loss, rloss, fresh;
    } t;
    t.window = cscalp_get_u32(r);
    t.count = cscalp_get_u64(r);
    t.invalid = cscalp_get_u64(r);
    get_conf(r, t.conf);
    t.loss = get_csum(r);
    t.filled = cscalp_get_u32(r);
    t.head = cscalp_get_u32(r);
    get_conf(r, t.rconf);
    t.rloss = get_csum(r);
    t.fresh = get_csum(r);
    if (r->failed) {
        snprintf(why, cap, "scores: truncated");
        return CSCALP_ECORRUPT;
    }
    if (t.window != s->window) {
        snprintf(why, cap,
                 "scores: saved with a rolling window of %u samples; this engine has %u "
                 "(learn.score_window_samples is fixed at open)",
                 t.window, s->window);
        return CSCALP_ECORRUPT;
    }
    const uint64_t expect_filled = t.count < t.window ? t.count : t.window;
    if (t.filled != expect_filled || t.head >= t.window ||
        (t.filled < t.window && t.head != t.filled)) {
        snprintf(why, cap,
                 "scores: window fill %u / position %u inconsistent with %llu samples in a "
                 "window of %u",
                 t.filled, t.head, (unsigned long long)t.count, t.window);
        return CSCALP_ECORRUPT;
    }
    uint64_t total = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            total += t.conf[i][j];
            if (t.rconf[i][j] > t.conf[i][j]) {
                snprintf(why, cap, "scores: rolling confusion count above the cumulative one");
                return CSCALP_ECORRUPT;
            }
        }
    if (total != t.count) {
        snprintf(why, cap, "scores: confusion matrix holds %llu samples, count says %llu",
                 (unsigned long long)total, (unsigned long long)t.count);
        return CSCALP_ECORRUPT;
    }
    const double lmax = loss_max() * (1.0 + 1e-12);
    const double cum = csum_value(&t.loss);
    if (!csum_finite(&t.loss) || !csum_finite(&t.rloss) || !csum_finite(&t.fresh) ||
        cum < -1e-9 || cum > (double)t.count * lmax + 1e-9) {
        snprintf(why, cap, "scores: a log-loss sum is not finite or out of range");
        return CSCALP_ECORRUPT;
    }
    if (cscalp_rbuf_left(r) < (size_t)t.filled * 10) {
        snprintf(why, cap, "scores: truncated");
        r->failed = 1;
        return CSCALP_ECORRUPT;
    }

    /* Check the ring against the saved counts and sums before copying it. */
    cscalp_rbuf probe = *r;
    uint64_t rconf[K][K] = {{0}};
    const uint8_t *labels = probe.data + probe.pos;
    const uint8_t *preds = labels + t.filled;
    for (uint32_t i = 0; i < t.filled; i++) {
        if (labels[i] >= K || preds[i] >= K) {
            snprintf(why, cap, "scores: slot %u has a class outside 0..2", i);
            return CSCALP_ECORRUPT;
        }
        rconf[labels[i]][preds[i]]++;
    }
    if (memcmp(rconf, t.rconf, sizeof rconf) != 0) {
        snprintf(why, cap, "scores: rolling confusion matrix differs from the window's samples");
        return CSCALP_ECORRUPT;
    }
    probe.pos += 2 * (size_t)t.filled;
    csum window_sum = {0.0, 0.0}, fresh_sum = {0.0, 0.0};
    for (uint32_t i = 0; i < t.filled; i++) {
        const double l = cscalp_get_f64(&probe);
        if (!(l >= 0.0 && l <= lmax)) {
            snprintf(why, cap, "scores: loss of slot %u is not in [0, ln 1e7]", i);
            return CSCALP_ECORRUPT;
        }
        csum_add(&window_sum, l);
        if (i < t.head)
            csum_add(&fresh_sum, l);
    }
    const double ws = csum_value(&window_sum), fs = csum_value(&fresh_sum);
    if (!sum_agrees(csum_value(&t.rloss), ws, ws) ||
        !sum_agrees(csum_value(&t.fresh), fs, fs) || cum < ws - 1e-9 * (1.0 + ws)) {
        snprintf(why, cap, "scores: log-loss sums differ from the window's samples");
        return CSCALP_ECORRUPT;
    }

    s->count = t.count;
    s->invalid = t.invalid;
    memcpy(s->conf, t.conf, sizeof s->conf);
    memcpy(s->rconf, t.rconf, sizeof s->rconf);
    s->loss = t.loss;
    s->rloss = t.rloss;
    s->fresh = t.fresh;
    s->filled = t.filled;
    s->head = t.head;
    cscalp_get_bytes(r, s->label, t.filled);
    cscalp_get_bytes(r, s->pred, t.filled);
    cscalp_get_f64s(r, s->ring_loss, t.filled);
    return CSCALP_OK;
}

/* ------------------------------------------------------------ class prior */

static void prior_set(cscalp_prior *p, double half_life)
{
    memset(p, 0, sizeof *p);
    p->half_life = half_life;
    p->decay = half_life > 0.0 ? pow(2.0, -1.0 / half_life) : 1.0;
}

void cscalp_prior_init(cscalp_prior *p) { prior_set(p, 0.0); }

int cscalp_prior_init_half_life(cscalp_prior *p, double half_life)
{
    if (!(half_life == 0.0 || (half_life >= CSCALP_PRIOR_MIN_HALF_LIFE &&
                               half_life <= CSCALP_PRIOR_MAX_HALF_LIFE))) {
        prior_set(p, 0.0);
        return CSCALP_ECONFIG_RANGE;
    }
    prior_set(p, half_life);
    return CSCALP_OK;
}

int cscalp_prior_update(cscalp_prior *p, uint8_t label)
{
    if (label >= K)
        return CSCALP_EINVAL;
    if (p->half_life > 0.0)
        for (int k = 0; k < K; k++)
            p->count[k] *= p->decay;
    p->count[label] += 1.0;
    p->updates++;
    return CSCALP_OK;
}

void cscalp_prior_predict_d(const cscalp_prior *p, double probs[K])
{
    const double total = p->count[0] + p->count[1] + p->count[2] + K;
    for (int k = 0; k < K; k++)
        probs[k] = (p->count[k] + 1.0) / total;
}

void cscalp_prior_predict(const cscalp_prior *p, float probs[K])
{
    double d[K];
    cscalp_prior_predict_d(p, d);
    for (int k = 0; k < K; k++)
        probs[k] = (float)d[k];
}

void cscalp_prior_save(const cscalp_prior *p, cscalp_wbuf *w)
{
    cscalp_put_f64(w, p->half_life);
    cscalp_put_u64(w, p->updates);
    cscalp_put_f64s(w, p->count, K);
}

int cscalp_prior_load(cscalp_prior *p, cscalp_rbuf *r, char *why, size_t cap)
{
    const double half_life = cscalp_get_f64(r);
    const uint64_t updates = cscalp_get_u64(r);
    double count[K];
    cscalp_get_f64s(r, count, K);
    if (r->failed) {
        snprintf(why, cap, "class prior: truncated");
        return CSCALP_ECORRUPT;
    }
    if (!(half_life == p->half_life)) {
        snprintf(why, cap, "class prior: saved with a half-life of %g samples; this one has %g",
                 half_life, p->half_life);
        return CSCALP_ECORRUPT;
    }
    double total = 0.0;
    for (int k = 0; k < K; k++) {
        if (!isfinite(count[k]) || count[k] < 0.0) {
            snprintf(why, cap, "class prior: count %d is not a finite non-negative number", k);
            return CSCALP_ECORRUPT;
        }
        total += count[k];
    }
    if (p->half_life == 0.0) {
        /* Whole numbers below 2⁵³ add exactly. */
        for (int k = 0; k < K; k++)
            if (count[k] != floor(count[k]) || count[k] > 9007199254740992.0) {
                snprintf(why, cap, "class prior: count %d is not a whole number", k);
                return CSCALP_ECORRUPT;
            }
        if (updates <= (1ull << 53) && total != (double)updates) {
            snprintf(why, cap, "class prior: counts add up to %.17g, not %llu updates", total,
                     (unsigned long long)updates);
            return CSCALP_ECORRUPT;
        }
    } else {
        /* The total after n updates is Σ_{i<n} decay^i < 1 / (1 − decay). */
        const double bound = 1.0 / (1.0 - p->decay);
        if (total > bound * (1.0 + 1e-9) + 1e-9 || (updates == 0 && total != 0.0) ||
            (updates > 0 && total < 1.0 - 1e-9)) {
            snprintf(why, cap, "class prior: decayed counts total %.17g, impossible after %llu "
                               "updates with a half-life of %g",
                     total, (unsigned long long)updates, p->half_life);
            return CSCALP_ECORRUPT;
        }
    }
    p->updates = updates;
    memcpy(p->count, count, sizeof count);
    return CSCALP_OK;
}
