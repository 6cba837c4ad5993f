/* Double-precision reference of docs/model.md (see nn_ref.h). Written for
 * clarity, not speed: every formula is the spec's, evaluated in double. */
#include "nn_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int layer_in(const nnref_arch *a, int l)
{
    return l == 0 ? a->inputs : a->hidden[l - 1];
}

int nnref_trunk_width(const nnref_arch *a)
{
    return a->layers == 0 ? a->inputs : a->hidden[a->layers - 1];
}

void nnref_layout_of(const nnref_arch *a, nnref_layout *lay)
{
    memset(lay, 0, sizeof *lay);
    size_t at = 0;
    for (int l = 0; l < a->layers; l++) {
        lay->w[l] = at;                                   /* W_l: n_l × n_{l−1} */
        at += (size_t)a->hidden[l] * (size_t)layer_in(a, l);
        lay->b[l] = at;                                   /* b_l: n_l */
        at += (size_t)a->hidden[l];
    }
    const size_t E = (size_t)a->experts, H = (size_t)nnref_trunk_width(a);
    lay->head_w = at; /* W_head: 4E × H */
    at += 4 * E * H;
    lay->head_b = at; /* b_head: 4E */
    at += 4 * E;
    lay->w_gr = at; /* W_gr: E × E */
    at += E * E;
    lay->count = at;
}

size_t nnref_param_count(const nnref_arch *a)
{
    size_t n = 0;
    int prev = a->inputs;
    for (int l = 0; l < a->layers; l++) {
        n += (size_t)a->hidden[l] * ((size_t)prev + 1);
        prev = a->hidden[l];
    }
    const size_t E = (size_t)a->experts;
    return n + 4 * E * ((size_t)prev + 1) + E * E;
}

int nnref_is_weight(const nnref_arch *a, size_t i)
{
    nnref_layout lay;
    nnref_layout_of(a, &lay);
    for (int l = 0; l < a->layers; l++) {
        if (i >= lay.w[l] && i < lay.w[l] + (size_t)a->hidden[l] * (size_t)layer_in(a, l))
            return 1;
        if (i >= lay.b[l] && i < lay.b[l] + (size_t)a->hidden[l])
            return 0;
    }
    if (i >= lay.head_w && i < lay.head_b)
        return 1;
    if (i >= lay.head_b && i < lay.w_gr)
        return 0;
    return i >= lay.w_gr && i < lay.count;
}

double nnref_act(int silu, double z)
{
    if (silu)
        return z / (1.0 + exp(-z));
    return z > 0.0 ? z : 0.0;
}

void nnref_dense(int batch, int in, int out, const double *w, const double *b,
                 const double *x, double *y)
{
    for (int i = 0; i < batch; i++)
        for (int j = 0; j < out; j++) {
            double s = b[j];
            for (int k = 0; k < in; k++)
                s += w[(size_t)j * (size_t)in + (size_t)k] * x[(size_t)i * (size_t)in + (size_t)k];
            y[(size_t)i * (size_t)out + (size_t)j] = s;
        }
}

/* out = log softmax(v) over n values, shifted by the max for stability. */
static void log_softmax(int n, const double *v, double *out)
{
    double mx = v[0];
    for (int k = 1; k < n; k++)
        if (v[k] > mx)
            mx = v[k];
    double s = 0.0;
    for (int k = 0; k < n; k++)
        s += exp(v[k] - mx);
    const double lse = mx + log(s);
    for (int k = 0; k < n; k++)
        out[k] = v[k] - lse;
}

/* g = u[3E … 4E−1] + W_gr r + log(max(r, 1e−6)); returns log π. */
static void log_gate(int E, const double *u, const double *r, const double *w_gr,
                     double *log_pi)
{
    double g[NNREF_MAX_EXPERTS];
    for (int e = 0; e < E; e++) {
        double wr = 0.0;
        for (int j = 0; j < E; j++)
            wr += w_gr[e * E + j] * r[j];
        g[e] = u[3 * E + e] + wr + log(fmax(r[e], NNREF_PRIOR_FLOOR));
    }
    log_softmax(E, g, log_pi);
}

void nnref_moe(int experts, const double *u, const double *r, const double *w_gr,
               double *probs, double *gate, double *expert)
{
    const int E = experts;
    double log_pi[NNREF_MAX_EXPERTS];
    log_gate(E, u, r, w_gr, log_pi);
    double p[NNREF_CLASSES] = {0.0, 0.0, 0.0};
    for (int e = 0; e < E; e++) {
        double lz[NNREF_CLASSES];
        log_softmax(NNREF_CLASSES, u + 3 * e, lz); /* z_e = u[3e … 3e+2] */
        const double pi = exp(log_pi[e]);
        if (gate)
            gate[e] = pi;
        for (int c = 0; c < NNREF_CLASSES; c++) {
            const double pec = exp(lz[c]);
            if (expert)
                expert[3 * e + c] = pec;
            p[c] += pi * pec;
        }
    }
    if (probs)
        memcpy(probs, p, sizeof p);
}

double nnref_moe_log_prob(int experts, const double *u, const double *r,
                          const double *w_gr, int y)
{
    const int E = experts;
    double log_pi[NNREF_MAX_EXPERTS], joint[NNREF_MAX_EXPERTS];
    log_gate(E, u, r, w_gr, log_pi);
    double mx = -(double)INFINITY;
    for (int e = 0; e < E; e++) {
        double lz[NNREF_CLASSES];
        log_softmax(NNREF_CLASSES, u + 3 * e, lz);
        joint[e] = log_pi[e] + lz[y];
        if (joint[e] > mx)
            mx = joint[e];
    }
    double s = 0.0;
    for (int e = 0; e < E; e++)
        s += exp(joint[e] - mx);
    return mx + log(s);
}

double nnref_moe_loss(int batch, int experts, const double *u, const double *r,
                      const double *w_gr, const int *labels,
                      const double *class_weights)
{
    double num = 0.0, den = 0.0;
    for (int i = 0; i < batch; i++) {
        const int y = labels[i];
        const double w = class_weights ? class_weights[y] : 1.0;
        const double lp = nnref_moe_log_prob(experts, u + (size_t)i * 4 * (size_t)experts,
                                             r + (size_t)i * (size_t)experts, w_gr, y);
        num += w * -lp;
        den += w;
    }
    return num / den;
}

void nnref_forward(const nnref_arch *a, const double *params, int batch, const double *x,
                   const double *r, double *probs, double *u, double *min_abs_pre)
{
    nnref_layout lay;
    nnref_layout_of(a, &lay);
    int widest = a->inputs;
    for (int l = 0; l < a->layers; l++)
        if (a->hidden[l] > widest)
            widest = a->hidden[l];
    const int E = a->experts;
    double *cur = malloc((size_t)batch * (size_t)widest * sizeof *cur);
    double *nxt = malloc((size_t)batch * (size_t)widest * sizeof *nxt);
    double *uu = malloc((size_t)batch * 4 * (size_t)E * sizeof *uu);
    memcpy(cur, x, (size_t)batch * (size_t)a->inputs * sizeof *cur);
    double kink = (double)INFINITY;
    for (int l = 0; l < a->layers; l++) {
        const int in = layer_in(a, l), out = a->hidden[l];
        nnref_dense(batch, in, out, params + lay.w[l], params + lay.b[l], cur, nxt);
        for (size_t k = 0; k < (size_t)batch * (size_t)out; k++) {
            if (fabs(nxt[k]) < kink)
                kink = fabs(nxt[k]);
            nxt[k] = nnref_act(a->silu, nxt[k]);
        }
        double *t = cur;
        cur = nxt;
        nxt = t;
    }
    const int H = nnref_trunk_width(a);
    nnref_dense(batch, H, 4 * E, params + lay.head_w, params + lay.head_b, cur, uu);
    for (int i = 0; i < batch; i++)
        nnref_moe(E, uu + (size_t)i * 4 * (size_t)E, r + (size_t)i * (size_t)E,
                  params + lay.w_gr, probs + (size_t)i * 3, NULL, NULL);
    if (u)
        memcpy(u, uu, (size_t)batch * 4 * (size_t)E * sizeof *u);
    if (min_abs_pre)
        *min_abs_pre = kink;
    free(cur);
    free(nxt);
    free(uu);
}

size_t nnref_relu_pattern(const nnref_arch *a, const double *params, int batch,
                          const double *x, unsigned char *pattern)
{
    nnref_layout lay;
    nnref_layout_of(a, &lay);
    int widest = a->inputs;
    for (int l = 0; l < a->layers; l++)
        if (a->hidden[l] > widest)
            widest = a->hidden[l];
    double *cur = malloc((size_t)batch * (size_t)widest * sizeof *cur);
    double *nxt = malloc((size_t)batch * (size_t)widest * sizeof *nxt);
    memcpy(cur, x, (size_t)batch * (size_t)a->inputs * sizeof *cur);
    size_t at = 0;
    for (int l = 0; l < a->layers; l++) {
        const int in = layer_in(a, l), out = a->hidden[l];
        nnref_dense(batch, in, out, params + lay.w[l], params + lay.b[l], cur, nxt);
        for (size_t k = 0; k < (size_t)batch * (size_t)out; k++) {
            pattern[at++] = nxt[k] > 0.0;
            nxt[k] = nnref_act(a->silu, nxt[k]);
        }
        double *t = cur;
        cur = nxt;
        nxt = t;
    }
    free(cur);
    free(nxt);
    return at;
}

double nnref_weight_sq(const nnref_arch *a, const double *params)
{
    nnref_layout lay;
    nnref_layout_of(a, &lay);
    double s = 0.0;
    for (size_t i = 0; i < lay.count; i++)
        if (nnref_is_weight(a, i))
            s += params[i] * params[i];
    return s;
}

double nnref_loss(const nnref_arch *a, const double *params, int batch, const double *x,
                  const double *r, const int *labels, const double *class_weights,
                  double l2)
{
    nnref_layout lay;
    nnref_layout_of(a, &lay);
    const int E = a->experts;
    double *probs = malloc((size_t)batch * 3 * sizeof *probs);
    double *u = malloc((size_t)batch * 4 * (size_t)E * sizeof *u);
    nnref_forward(a, params, batch, x, r, probs, u, NULL);
    double loss = nnref_moe_loss(batch, E, u, r, params + lay.w_gr, labels, class_weights);
    if (l2 != 0.0)
        loss += 0.5 * l2 * nnref_weight_sq(a, params);
    free(probs);
    free(u);
    return loss;
}
