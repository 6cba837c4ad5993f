/* Online multinomial logistic regression: see logistic.h and
 * docs/learning.md ("Fallback model"). */
#include "learn/logistic.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define K CSCALP_LOGIT_CLASSES

struct cscalp_logit {
    cscalp_allocator mem;
    size_t inputs;
    double lr, l2;
    double class_weight[K];
    uint64_t updates, refused;
    double *w;    /* K × inputs, row k = class k */
    double b[K];
    double *next; /* K × inputs: the candidate weights of an update */
};

static int rates_ok(double lr, double l2)
{
    return isfinite(lr) && lr > 0.0 && isfinite(l2) && l2 >= 0.0 && lr * l2 < 1.0;
}

int cscalp_logit_create(const cscalp_allocator *mem, size_t inputs, double learning_rate,
                        double l2, cscalp_logit **out)
{
    *out = NULL;
    if (inputs < 1 || inputs > CSCALP_LOGIT_MAX_INPUTS || !rates_ok(learning_rate, l2))
        return CSCALP_ECONFIG_RANGE;
    cscalp_logit *m = cscalp_mem_calloc(mem, 1, sizeof *m);
    if (m == NULL)
        return CSCALP_ENOMEM;
    m->mem = *mem;
    m->inputs = inputs;
    m->lr = learning_rate;
    m->l2 = l2;
    for (int k = 0; k < K; k++)
        m->class_weight[k] = 1.0;
    m->w = cscalp_mem_calloc(mem, K * inputs, sizeof *m->w);
    m->next = m->w ? cscalp_mem_calloc(mem, K * inputs, sizeof *m->next) : NULL;
    if (m->next == NULL) {
        cscalp_logit_destroy(m);
        return CSCALP_ENOMEM;
    }
    *out = m;
    return CSCALP_OK;
}

void cscalp_logit_destroy(cscalp_logit *m)
{
    if (m == NULL)
        return;
    const cscalp_allocator mem = m->mem;
    cscalp_mem_free(&mem, m->w);
    cscalp_mem_free(&mem, m->next);
    cscalp_mem_free(&mem, m);
}

int cscalp_logit_set_rates(cscalp_logit *m, double learning_rate, double l2)
{
    if (!rates_ok(learning_rate, l2))
        return CSCALP_ECONFIG_RANGE;
    m->lr = learning_rate;
    m->l2 = l2;
    return CSCALP_OK;
}

int cscalp_logit_set_class_weights(cscalp_logit *m, const double weights[K])
{
    for (int k = 0; k < K; k++)
        if (!isfinite(weights[k]) || !(weights[k] > 0.0))
            return CSCALP_ECONFIG_RANGE;
    memcpy(m->class_weight, weights, sizeof m->class_weight);
    return CSCALP_OK;
}

void cscalp_logit_reset(cscalp_logit *m)
{
    memset(m->w, 0, K * m->inputs * sizeof *m->w);
    memset(m->b, 0, sizeof m->b);
    m->updates = m->refused = 0;
}

/* Softmax of x under the current parameters, into p. 0, or
 * CSCALP_ENONFINITE when x or a logit is not finite. */
static int forward(const cscalp_logit *m, const float *x, double p[K])
{
    const size_t D = m->inputs;
    for (size_t j = 0; j < D; j++)
        if (!isfinite(x[j]))
            return CSCALP_ENONFINITE;
    double z[K];
    for (int k = 0; k < K; k++) {
        const double *wk = m->w + (size_t)k * D;
        double acc = m->b[k];
        for (size_t j = 0; j < D; j++)
            acc += wk[j] * (double)x[j];
        z[k] = acc;
    }
    if (!isfinite(z[0]) || !isfinite(z[1]) || !isfinite(z[2]))
        return CSCALP_ENONFINITE;
    /* Subtracting the largest logit keeps every exp() in (0, 1]: no overflow,
     * and the largest term is exactly 1 so the sum is at least 1. */
    const double zmax = z[0] > z[1] ? (z[0] > z[2] ? z[0] : z[2]) : (z[1] > z[2] ? z[1] : z[2]);
    double e[K], sum = 0.0;
    for (int k = 0; k < K; k++) {
        e[k] = exp(z[k] - zmax);
        sum += e[k];
    }
    for (int k = 0; k < K; k++)
        p[k] = e[k] / sum;
    return CSCALP_OK;
}

int cscalp_logit_predict_d(const cscalp_logit *m, const float *x, double probs[K])
{
    const int rc = forward(m, x, probs);
    if (rc != CSCALP_OK)
        for (int k = 0; k < K; k++)
            probs[k] = (double)NAN;
    return rc;
}

int cscalp_logit_predict(const cscalp_logit *m, const float *x, float probs[K])
{
    double p[K];
    const int rc = cscalp_logit_predict_d(m, x, p);
    for (int k = 0; k < K; k++)
        probs[k] = (float)p[k];
    return rc;
}

int cscalp_logit_update(cscalp_logit *m, const float *x, uint8_t label)
{
    if (label >= K) {
        m->refused++;
        return CSCALP_EINVAL;
    }
    double p[K];
    if (forward(m, x, p) != CSCALP_OK) {
        m->refused++;
        return CSCALP_ENONFINITE;
    }
    const size_t D = m->inputs;
    const double lr = m->lr, l2 = m->l2, cy = m->class_weight[label];
    /* ∂L/∂z_k = c_y·(p_k − [k = y]); the weights' gradient adds λ·W. The new
     * values go to `next` first so a non-finite result can be refused with
     * the model untouched. */
    double g[K], nb[K];
    int finite = 1;
    for (int k = 0; k < K; k++) {
        g[k] = cy * (p[k] - (k == label ? 1.0 : 0.0));
        nb[k] = m->b[k] - lr * g[k];
        finite &= isfinite(nb[k]) != 0;
        const double *wk = m->w + (size_t)k * D;
        double *nk = m->next + (size_t)k * D;
        for (size_t j = 0; j < D; j++) {
            nk[j] = wk[j] - lr * (g[k] * (double)x[j] + l2 * wk[j]);
            finite &= isfinite(nk[j]) != 0;
        }
    }
    if (!finite) {
        m->refused++;
        return CSCALP_ENONFINITE;
    }
    double *swap = m->w;
    m->w = m->next;
    m->next = swap;
    memcpy(m->b, nb, sizeof m->b);
    m->updates++;
    return CSCALP_OK;
}

size_t cscalp_logit_inputs(const cscalp_logit *m) { return m->inputs; }

uint64_t cscalp_logit_updates(const cscalp_logit *m) { return m->updates; }

uint64_t cscalp_logit_refused(const cscalp_logit *m) { return m->refused; }

const double *cscalp_logit_weights(const cscalp_logit *m) { return m->w; }

const double *cscalp_logit_bias(const cscalp_logit *m) { return m->b; }

/* Layout: inputs (u32), updates, refused (u64), W (K × inputs f64, row
 * major), b (K f64). */
void cscalp_logit_save(const cscalp_logit *m, cscalp_wbuf *w)
{
    cscalp_put_u32(w, (uint32_t)m->inputs);
    cscalp_put_u64(w, m->updates);
    cscalp_put_u64(w, m->refused);
    cscalp_put_f64s(w, m->w, K * m->inputs);
    cscalp_put_f64s(w, m->b, K);
}

int cscalp_logit_load(cscalp_logit *m, cscalp_rbuf *r, char *why, size_t cap)
{
    const uint32_t inputs = cscalp_get_u32(r);
    const uint64_t updates = cscalp_get_u64(r), refused = cscalp_get_u64(r);
    if (r->failed) {
        snprintf(why, cap, "fallback model: truncated");
        return CSCALP_ECORRUPT;
    }
    if (inputs != m->inputs) {
        snprintf(why, cap,
                 "fallback model: saved for %u inputs; this engine's model has %zu "
                 "(the feature set and the model are fixed at open)",
                 inputs, m->inputs);
        return CSCALP_ECORRUPT;
    }
    const size_t n = K * m->inputs + K;
    if (cscalp_rbuf_left(r) < n * 8) {
        snprintf(why, cap, "fallback model: truncated");
        r->failed = 1;
        return CSCALP_ECORRUPT;
    }
    cscalp_rbuf probe = *r;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(cscalp_get_f64(&probe))) {
            snprintf(why, cap, "fallback model: parameter %zu is not finite", i);
            return CSCALP_ECORRUPT;
        }
    cscalp_get_f64s(r, m->w, K * m->inputs);
    cscalp_get_f64s(r, m->b, K);
    m->updates = updates;
    m->refused = refused;
    return CSCALP_OK;
}
