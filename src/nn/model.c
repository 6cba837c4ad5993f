/* Architecture, parameter layout, initialisation, the batched layers and
 * the trainer (forward, loss, backward, optimiser). docs/model.md is the
 * specification; tests/nn and tests/torch check this file against it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/bytes.h"

/* ------------------------------------------------------------------------ */
/* Architecture and layout                                                  */

int cscalp_nn_arch_check(const cscalp_nn_arch *arch, char *why, size_t cap)
{
    if (arch->inputs < 1 || arch->inputs > CSCALP_NN_MAX_INPUTS) {
        snprintf(why, cap, "inputs: must be in [1, %d], got %u", CSCALP_NN_MAX_INPUTS,
                 arch->inputs);
        return CSCALP_ECONFIG_RANGE;
    }
    if (arch->hidden_layers > CSCALP_NN_MAX_HIDDEN) {
        snprintf(why, cap, "hidden layers: at most %d, got %u", CSCALP_NN_MAX_HIDDEN,
                 arch->hidden_layers);
        return CSCALP_ECONFIG_RANGE;
    }
    for (uint32_t l = 0; l < arch->hidden_layers; l++) {
        if (arch->hidden[l] < 1 || arch->hidden[l] > CSCALP_NN_MAX_WIDTH) {
            snprintf(why, cap, "hidden layer %u (0-based): width must be in [1, %d], got %u", l,
                     CSCALP_NN_MAX_WIDTH, arch->hidden[l]);
            return CSCALP_ECONFIG_RANGE;
        }
    }
    if (arch->experts < 1 || arch->experts > CSCALP_NN_MAX_EXPERTS) {
        snprintf(why, cap, "experts: must be in [1, %d], got %u", CSCALP_NN_MAX_EXPERTS,
                 arch->experts);
        return CSCALP_ECONFIG_RANGE;
    }
    if (arch->activation != CSCALP_NN_RELU && arch->activation != CSCALP_NN_SILU) {
        snprintf(why, cap, "activation: unknown value %d", arch->activation);
        return CSCALP_ECONFIG_RANGE;
    }
    return CSCALP_OK;
}

static uint32_t layer_in(const cscalp_nn_arch *arch, uint32_t l)
{
    return l == 0 ? arch->inputs : arch->hidden[l - 1];
}

uint32_t cscalp_nn_trunk_width(const cscalp_nn_arch *arch)
{
    return layer_in(arch, arch->hidden_layers);
}

void cscalp_nn_layout_of(const cscalp_nn_arch *arch, cscalp_nn_layout *layout)
{
    memset(layout, 0, sizeof *layout);
    size_t at = 0;
    for (uint32_t l = 0; l < arch->hidden_layers; l++) {
        layout->w[l] = at;
        at += (size_t)arch->hidden[l] * layer_in(arch, l);
        layout->b[l] = at;
        at += arch->hidden[l];
    }
    const size_t heads = 4u * (size_t)arch->experts;
    layout->head_w = at;
    at += heads * cscalp_nn_trunk_width(arch);
    layout->head_b = at;
    at += heads;
    layout->gate_regime_w = at;
    at += (size_t)arch->experts * arch->experts;
    layout->count = at;
}

size_t cscalp_nn_param_count(const cscalp_nn_arch *arch)
{
    cscalp_nn_layout layout;
    cscalp_nn_layout_of(arch, &layout);
    return layout.count;
}

int cscalp_nn_is_weight(const cscalp_nn_layout *layout, const cscalp_nn_arch *arch,
                        size_t i)
{
    for (uint32_t l = 0; l < arch->hidden_layers; l++)
        if (i >= layout->w[l] && i < layout->b[l])
            return 1;
    if (i >= layout->head_w && i < layout->head_b)
        return 1;
    return i >= layout->gate_regime_w && i < layout->count;
}

static void fill_uniform(cscalp_rng *rng, float *w, size_t n, float bound)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (2.0f * cscalp_rng_uniform_f(rng) - 1.0f) * bound;
}

void cscalp_nn_init_params(const cscalp_nn_arch *arch, uint64_t seed, float *params)
{
    cscalp_nn_layout layout;
    cscalp_nn_layout_of(arch, &layout);
    memset(params, 0, layout.count * sizeof *params);
    cscalp_rng rng;
    cscalp_rng_seed(&rng, seed);
    for (uint32_t l = 0; l < arch->hidden_layers; l++) {
        const float fan_in = (float)layer_in(arch, l);
        const float fan_out = (float)arch->hidden[l];
        const float bound = arch->activation == CSCALP_NN_RELU
                                ? sqrtf(6.0f / fan_in)
                                : sqrtf(6.0f / (fan_in + fan_out));
        fill_uniform(&rng, params + layout.w[l], layout.b[l] - layout.w[l], bound);
    }
    const float heads = 4.0f * (float)arch->experts;
    const float h = (float)cscalp_nn_trunk_width(arch);
    fill_uniform(&rng, params + layout.head_w, layout.head_b - layout.head_w,
                 sqrtf(6.0f / (h + heads)));
}

void cscalp_nn_hparams_default(cscalp_nn_hparams *hp)
{
    memset(hp, 0, sizeof *hp);
    hp->optimizer = CSCALP_NN_ADAM;
    hp->learning_rate = 1e-3f;
    hp->beta1 = 0.9f;
    hp->beta2 = 0.999f;
    hp->epsilon = 1e-8f;
    for (int c = 0; c < CSCALP_NN_CLASSES; c++)
        hp->class_weights[c] = 1.0f;
}

/* ------------------------------------------------------------------------ */
/* Layers                                                                   */

void cscalp_nn_dense_forward(const cscalp_nn_backend *be, int batch, int in, int out,
                             const float *w, const float *b, const float *x, float *y)
{
    for (int i = 0; i < batch; i++)
        memcpy(y + (size_t)i * (size_t)out, b, (size_t)out * sizeof *y);
    be->gemm(0, 1, batch, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

void cscalp_nn_dense_backward(const cscalp_nn_backend *be, int batch, int in, int out,
                              const float *w, const float *x, const float *dy,
                              float *dw, float *db, float *dx)
{
    be->gemm(1, 0, out, in, batch, 1.0f, dy, out, x, in, 0.0f, dw, in);
    for (int j = 0; j < out; j++)
        db[j] = 0.0f;
    for (int i = 0; i < batch; i++) {
        const float *row = dy + (size_t)i * (size_t)out;
        for (int j = 0; j < out; j++)
            db[j] += row[j];
    }
    if (dx != NULL)
        be->gemm(0, 0, batch, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
}

static float sigmoidf(float z) { return 1.0f / (1.0f + expf(-z)); }

void cscalp_nn_act_forward(int activation, size_t n, const float *z, float *a)
{
    if (activation == CSCALP_NN_RELU) {
        /* NaN passes through (as in PyTorch): `z > 0 ? z : 0` alone would map a
         * NaN weight's output to 0, keep the loss finite and let the NaN live on
         * in the parameters; propagated, it makes the loss non-finite and the
         * step is refused. */
        for (size_t i = 0; i < n; i++)
            a[i] = (z[i] > 0.0f || z[i] != z[i]) ? z[i] : 0.0f;
    } else {
        for (size_t i = 0; i < n; i++)
            a[i] = z[i] * sigmoidf(z[i]);
    }
}

void cscalp_nn_act_backward(int activation, size_t n, const float *z, const float *da,
                            float *dz)
{
    if (activation == CSCALP_NN_RELU) {
        for (size_t i = 0; i < n; i++)
            dz[i] = z[i] > 0.0f ? da[i] : 0.0f;
    } else {
        for (size_t i = 0; i < n; i++) {
            const float s = sigmoidf(z[i]);
            dz[i] = da[i] * s * (1.0f + z[i] * (1.0f - s));
        }
    }
}

/* log-softmax of n values into out; returns nothing, out[k] = v[k] - lse. */
static void log_softmax(int n, const float *v, float *out)
{
    float mx = v[0];
    for (int k = 1; k < n; k++)
        mx = v[k] > mx ? v[k] : mx;
    float sum = 0.0f;
    for (int k = 0; k < n; k++)
        sum += expf(v[k] - mx);
    const float lse = mx + logf(sum);
    for (int k = 0; k < n; k++)
        out[k] = v[k] - lse;
}

/* Gate logits of one sample: u's gate part + W_gr·r + log(max(r, floor)). */
static void gate_logits(int experts, const float *u, const float *r, const float *w_gr,
                        float *g)
{
    for (int e = 0; e < experts; e++) {
        float v = u[3 * experts + e];
        const float *wrow = w_gr + (size_t)e * (size_t)experts;
        for (int j = 0; j < experts; j++)
            v += wrow[j] * r[j];
        const float re = r[e] > CSCALP_NN_PRIOR_FLOOR ? r[e] : CSCALP_NN_PRIOR_FLOOR;
        g[e] = v + logf(re);
    }
}

void cscalp_nn_moe_forward(int batch, int experts, const float *u, const float *regime,
                           const float *w_gr, float *probs, float *gate, float *expert)
{
    const int E = experts;
    for (int i = 0; i < batch; i++) {
        const float *ui = u + (size_t)i * 4u * (size_t)E;
        const float *ri = regime + (size_t)i * (size_t)E;
        float *pi = gate + (size_t)i * (size_t)E;
        float *pe = expert + (size_t)i * 3u * (size_t)E;
        float g[CSCALP_NN_MAX_EXPERTS], lg[CSCALP_NN_MAX_EXPERTS];
        gate_logits(E, ui, ri, w_gr, g);
        log_softmax(E, g, lg);
        float p[CSCALP_NN_CLASSES] = {0.0f, 0.0f, 0.0f};
        for (int e = 0; e < E; e++) {
            float lz[CSCALP_NN_CLASSES];
            log_softmax(CSCALP_NN_CLASSES, ui + 3 * e, lz);
            pi[e] = expf(lg[e]);
            for (int c = 0; c < CSCALP_NN_CLASSES; c++) {
                pe[3 * e + c] = expf(lz[c]);
                p[c] += pi[e] * pe[3 * e + c];
            }
        }
        memcpy(probs + (size_t)i * 3u, p, sizeof p);
    }
}

double cscalp_nn_moe_loss(int batch, int experts, const float *u, const float *regime,
                          const float *w_gr, const float *gate, const float *expert,
                          const uint8_t *labels, const float *class_weights, float *du,
                          float *dw_gr)
{
    const int E = experts;
    double weight_sum = 0.0;
    for (int i = 0; i < batch; i++)
        weight_sum += class_weights ? (double)class_weights[labels[i]] : 1.0;
    if (du != NULL) {
        memset(du, 0, (size_t)batch * 4u * (size_t)E * sizeof *du);
        memset(dw_gr, 0, (size_t)E * (size_t)E * sizeof *dw_gr);
    }
    if (!(weight_sum > 0.0))
        return 0.0; /* nothing carries weight: nothing to learn */

    double loss = 0.0;
    for (int i = 0; i < batch; i++) {
        const float *ui = u + (size_t)i * 4u * (size_t)E;
        const float *ri = regime + (size_t)i * (size_t)E;
        const float *pi = gate + (size_t)i * (size_t)E;
        const float *pe = expert + (size_t)i * 3u * (size_t)E;
        const int y = labels[i];
        const float wy = class_weights ? class_weights[y] : 1.0f;

        /* log p_y = logsumexp_e(log π_e + log p_{e,y}), from the logits for
         * precision rather than from the cached probabilities. */
        float g[CSCALP_NN_MAX_EXPERTS], lg[CSCALP_NN_MAX_EXPERTS];
        float joint[CSCALP_NN_MAX_EXPERTS];
        gate_logits(E, ui, ri, w_gr, g);
        log_softmax(E, g, lg);
        float mx = -INFINITY;
        for (int e = 0; e < E; e++) {
            float lz[CSCALP_NN_CLASSES];
            log_softmax(CSCALP_NN_CLASSES, ui + 3 * e, lz);
            joint[e] = lg[e] + lz[y];
            mx = joint[e] > mx ? joint[e] : mx;
        }
        float sum = 0.0f;
        for (int e = 0; e < E; e++)
            sum += expf(joint[e] - mx);
        const float log_py = mx + logf(sum);
        loss += (double)wy * (double)(-log_py);

        if (du == NULL)
            continue;
        const float s = (float)((double)wy / weight_sum);
        float *dui = du + (size_t)i * 4u * (size_t)E;
        for (int e = 0; e < E; e++) {
            const float rho = expf(joint[e] - log_py); /* responsibility */
            for (int c = 0; c < CSCALP_NN_CLASSES; c++)
                dui[3 * e + c] = s * rho * (pe[3 * e + c] - (c == y ? 1.0f : 0.0f));
            const float dg = s * (pi[e] - rho);
            dui[3 * E + e] = dg;
            for (int j = 0; j < E; j++)
                dw_gr[(size_t)e * (size_t)E + (size_t)j] += dg * ri[j];
        }
    }
    return loss / weight_sum;
}

/* ------------------------------------------------------------------------ */
/* Trainer                                                                  */

struct cscalp_nn_trainer {
    cscalp_allocator mem;
    cscalp_nn_arch arch;
    cscalp_nn_layout layout;
    const cscalp_nn_backend *backend;
    uint32_t max_batch;
    float *z[CSCALP_NN_MAX_HIDDEN]; /* pre-activations, batch × n_l */
    float *a[CSCALP_NN_MAX_HIDDEN]; /* activations, batch × n_l */
    float *u;      /* head output, batch × 4E */
    float *gate;   /* batch × E */
    float *expert; /* batch × E × 3 */
    float *probs;  /* batch × 3 */
    float *du;     /* batch × 4E */
    float *d_act;  /* batch × widest layer: gradient w.r.t. an activation */
    float *d_pre;  /* batch × widest layer: gradient w.r.t. a pre-activation */
    float *grad;   /* one per parameter */
    float *moment1; /* Adam m, or SGD momentum buffer */
    float *moment2; /* Adam v */
    const float *x; /* inputs of the last forward pass */
    uint32_t batch; /* its batch size */
    double grad_norm; /* of the last step's gradient, before clipping */
    uint64_t steps;
};

void cscalp_nn_trainer_destroy(cscalp_nn_trainer *t)
{
    if (t == NULL)
        return;
    const cscalp_allocator mem = t->mem;
    for (uint32_t l = 0; l < CSCALP_NN_MAX_HIDDEN; l++) {
        cscalp_mem_free(&mem, t->z[l]);
        cscalp_mem_free(&mem, t->a[l]);
    }
    float *bufs[] = {t->u, t->gate, t->expert, t->probs, t->du, t->d_act, t->d_pre,
                     t->grad, t->moment1, t->moment2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cscalp_mem_free(&mem, bufs[i]);
    cscalp_mem_free(&mem, t);
}

int cscalp_nn_trainer_create(const cscalp_allocator *mem, const cscalp_nn_arch *arch,
                             uint32_t max_batch, const cscalp_nn_backend *backend,
                             cscalp_nn_trainer **out)
{
    char why[128];
    *out = NULL;
    if (backend == NULL || max_batch == 0 || cscalp_nn_arch_check(arch, why, sizeof why))
        return CSCALP_EINVAL;
    cscalp_nn_trainer *t = cscalp_mem_calloc(mem, 1, sizeof *t);
    if (t == NULL)
        return CSCALP_ENOMEM;
    t->mem = *mem;
    t->arch = *arch;
    t->backend = backend;
    t->max_batch = max_batch;
    cscalp_nn_layout_of(arch, &t->layout);

    /* Each allocation is checked before the next is asked for. */
    const size_t B = max_batch, E = arch->experts;
    size_t widest = arch->inputs;
    for (uint32_t l = 0; l < arch->hidden_layers; l++) {
        widest = arch->hidden[l] > widest ? arch->hidden[l] : widest;
        if (!(t->z[l] = cscalp_mem_calloc(mem, B * arch->hidden[l], sizeof(float))) ||
            !(t->a[l] = cscalp_mem_calloc(mem, B * arch->hidden[l], sizeof(float))))
            goto out_of_memory;
    }
    if (!(t->u = cscalp_mem_calloc(mem, B * 4 * E, sizeof(float))) ||
        !(t->gate = cscalp_mem_calloc(mem, B * E, sizeof(float))) ||
        !(t->expert = cscalp_mem_calloc(mem, B * 3 * E, sizeof(float))) ||
        !(t->probs = cscalp_mem_calloc(mem, B * 3, sizeof(float))) ||
        !(t->du = cscalp_mem_calloc(mem, B * 4 * E, sizeof(float))) ||
        !(t->d_act = cscalp_mem_calloc(mem, B * widest, sizeof(float))) ||
        !(t->d_pre = cscalp_mem_calloc(mem, B * widest, sizeof(float))) ||
        !(t->grad = cscalp_mem_calloc(mem, t->layout.count, sizeof(float))) ||
        !(t->moment1 = cscalp_mem_calloc(mem, t->layout.count, sizeof(float))) ||
        !(t->moment2 = cscalp_mem_calloc(mem, t->layout.count, sizeof(float))))
        goto out_of_memory;
    *out = t;
    return CSCALP_OK;

out_of_memory:
    cscalp_nn_trainer_destroy(t);
    return CSCALP_ENOMEM;
}

void cscalp_nn_trainer_set_backend(cscalp_nn_trainer *t, const cscalp_nn_backend *be)
{
    if (be != NULL)
        t->backend = be;
}

void cscalp_nn_trainer_reset(cscalp_nn_trainer *t)
{
    memset(t->moment1, 0, t->layout.count * sizeof *t->moment1);
    memset(t->moment2, 0, t->layout.count * sizeof *t->moment2);
    t->steps = 0;
}

const float *cscalp_nn_trainer_grad(const cscalp_nn_trainer *t) { return t->grad; }

uint64_t cscalp_nn_trainer_steps(const cscalp_nn_trainer *t) { return t->steps; }

const float *cscalp_nn_trainer_probs(const cscalp_nn_trainer *t) { return t->probs; }

void cscalp_nn_trainer_copy_state(cscalp_nn_trainer *dst, const cscalp_nn_trainer *src)
{
    const size_t n = dst->layout.count;
    memcpy(dst->moment1, src->moment1, n * sizeof *dst->moment1);
    memcpy(dst->moment2, src->moment2, n * sizeof *dst->moment2);
    dst->steps = src->steps;
}

void cscalp_nn_trainer_save(const cscalp_nn_trainer *t, cscalp_wbuf *w)
{
    const size_t n = t->layout.count;
    cscalp_put_u64(w, (uint64_t)n);
    cscalp_put_u64(w, t->steps);
    cscalp_put_f32s(w, t->moment1, n);
    cscalp_put_f32s(w, t->moment2, n);
}

int cscalp_nn_trainer_load(cscalp_nn_trainer *t, cscalp_rbuf *r, char *why, size_t cap)
{
    const size_t n = t->layout.count;
    const uint64_t count = cscalp_get_u64(r);
    const uint64_t steps = cscalp_get_u64(r);
    if (r->failed || count != n) {
        snprintf(why, cap, "optimiser state: %s", r->failed ? "truncated" : "parameter count differs");
        return CSCALP_ECORRUPT;
    }
    if (cscalp_rbuf_left(r) / 8 < n) {
        snprintf(why, cap, "optimiser state: truncated");
        r->failed = 1;
        return CSCALP_ECORRUPT;
    }
    /* Validate before touching the trainer: read into place only after a
     * dry pass over the bytes. */
    cscalp_rbuf probe = *r;
    for (size_t i = 0; i < 2 * n; i++) {
        if (!isfinite(cscalp_get_f32(&probe))) {
            snprintf(why, cap, "optimiser state: value %zu is not finite", i);
            return CSCALP_ECORRUPT;
        }
    }
    cscalp_get_f32s(r, t->moment1, n);
    cscalp_get_f32s(r, t->moment2, n);
    t->steps = steps;
    return CSCALP_OK;
}

/* Activations feeding layer l (l = hidden_layers: the head). */
static const float *layer_input(const cscalp_nn_trainer *t, uint32_t l)
{
    return l == 0 ? t->x : t->a[l - 1];
}

int cscalp_nn_forward(cscalp_nn_trainer *t, const float *params, const float *x,
                      const float *regime, uint32_t batch, float *probs)
{
    if (batch == 0 || batch > t->max_batch || params == NULL || x == NULL ||
        regime == NULL)
        return CSCALP_EINVAL;
    const cscalp_nn_arch *arch = &t->arch;
    const cscalp_nn_layout *lay = &t->layout;
    const int B = (int)batch, E = (int)arch->experts;
    t->x = x;
    t->batch = batch;
    for (uint32_t l = 0; l < arch->hidden_layers; l++) {
        const int in = (int)layer_in(arch, l), out = (int)arch->hidden[l];
        cscalp_nn_dense_forward(t->backend, B, in, out, params + lay->w[l],
                                params + lay->b[l], layer_input(t, l), t->z[l]);
        cscalp_nn_act_forward(arch->activation, (size_t)B * (size_t)out, t->z[l], t->a[l]);
    }
    const int H = (int)cscalp_nn_trunk_width(arch);
    cscalp_nn_dense_forward(t->backend, B, H, 4 * E, params + lay->head_w,
                            params + lay->head_b, layer_input(t, arch->hidden_layers), t->u);
    cscalp_nn_moe_forward(B, E, t->u, regime, params + lay->gate_regime_w, t->probs,
                          t->gate, t->expert);
    if (probs != NULL)
        memcpy(probs, t->probs, (size_t)B * 3u * sizeof *probs);
    return CSCALP_OK;
}

int cscalp_nn_gradient(cscalp_nn_trainer *t, const float *params, const float *x,
                       const float *regime, const uint8_t *labels, uint32_t batch,
                       const cscalp_nn_hparams *hp, double *loss)
{
    /* batch is checked before labels[] is read: labels holds `batch` entries
     * only when batch is one the trainer accepts. */
    if (labels == NULL || hp == NULL || batch == 0 || batch > t->max_batch)
        return CSCALP_EINVAL;
    for (uint32_t i = 0; i < batch; i++)
        if (labels[i] >= CSCALP_NN_CLASSES)
            return CSCALP_EINVAL;
    int rc = cscalp_nn_forward(t, params, x, regime, batch, NULL);
    if (rc != CSCALP_OK)
        return rc;
    const cscalp_nn_arch *arch = &t->arch;
    const cscalp_nn_layout *lay = &t->layout;
    const int B = (int)batch, E = (int)arch->experts;
    const int H = (int)cscalp_nn_trunk_width(arch);
    float *grad = t->grad;

    const double data_loss =
        cscalp_nn_moe_loss(B, E, t->u, regime, params + lay->gate_regime_w, t->gate,
                           t->expert, labels, hp->class_weights, t->du,
                           grad + lay->gate_regime_w);
    const uint32_t K = arch->hidden_layers;
    cscalp_nn_dense_backward(t->backend, B, H, 4 * E, params + lay->head_w,
                             layer_input(t, K), t->du, grad + lay->head_w,
                             grad + lay->head_b, K > 0 ? t->d_act : NULL);
    for (uint32_t l = K; l-- > 0;) {
        const int in = (int)layer_in(arch, l), out = (int)arch->hidden[l];
        cscalp_nn_act_backward(arch->activation, (size_t)B * (size_t)out, t->z[l],
                               t->d_act, t->d_pre);
        cscalp_nn_dense_backward(t->backend, B, in, out, params + lay->w[l],
                                 layer_input(t, l), t->d_pre, grad + lay->w[l],
                                 grad + lay->b[l], l > 0 ? t->d_act : NULL);
    }
    if (hp->l2 != 0.0f) {
        for (uint32_t l = 0; l < K; l++)
            for (size_t i = lay->w[l]; i < lay->b[l]; i++)
                grad[i] += hp->l2 * params[i];
        for (size_t i = lay->head_w; i < lay->head_b; i++)
            grad[i] += hp->l2 * params[i];
        for (size_t i = lay->gate_regime_w; i < lay->count; i++)
            grad[i] += hp->l2 * params[i];
    }
    if (loss != NULL)
        *loss = data_loss;
    return CSCALP_OK;
}

/* The Adam update in PyTorch's arithmetic. restrict tells the compiler the
 * four arrays never overlap, so the loop vectorises without run-time
 * checks (the update is the whole cost of a batch-1 step). */
static void adam_update(size_t n, float *restrict params, const float *restrict g,
                        float *restrict m1, float *restrict m2, float b1, float b2,
                        float eps, float step_size, float bc2_sqrt)
{
    for (size_t i = 0; i < n; i++) {
        m1[i] = b1 * m1[i] + (1.0f - b1) * g[i];
        m2[i] = b2 * m2[i] + (1.0f - b2) * g[i] * g[i];
        const float denom = sqrtf(m2[i]) / bc2_sqrt + eps;
        params[i] -= step_size * m1[i] / denom;
    }
}

double cscalp_nn_trainer_grad_norm(const cscalp_nn_trainer *t) { return t->grad_norm; }

int cscalp_nn_train_step(cscalp_nn_trainer *t, float *params, const float *x,
                         const float *regime, const uint8_t *labels, uint32_t batch,
                         const cscalp_nn_hparams *hp, double *loss)
{
    double data_loss = 0.0;
    int rc = cscalp_nn_gradient(t, params, x, regime, labels, batch, hp, &data_loss);
    if (rc != CSCALP_OK)
        return rc;
    if (loss != NULL)
        *loss = data_loss;
    const size_t n = t->layout.count;
    float *g = t->grad;
    double norm2 = 0.0;
    for (size_t i = 0; i < n; i++)
        norm2 += (double)g[i] * (double)g[i];
    t->grad_norm = sqrt(norm2);
    /* One check covers every gradient: a NaN or Inf anywhere makes the sum
     * non-finite. The update is refused before anything changes. */
    if (!isfinite(data_loss) || !isfinite(norm2))
        return CSCALP_ENONFINITE;
    /* A finite but exploding gradient says the step is broken too
     * (docs/self-healing.md); clipping would only hide it. */
    if (hp->refuse_grad_norm > 0.0f &&
        norm2 > (double)hp->refuse_grad_norm * (double)hp->refuse_grad_norm)
        return CSCALP_NN_EXPLODED;

    if (hp->max_grad_norm > 0.0f) {
        /* PyTorch's clip_grad_norm_: scale by max / (norm + 1e-6) when < 1. */
        const double coef = (double)hp->max_grad_norm / (sqrt(norm2) + 1e-6);
        if (coef < 1.0)
            for (size_t i = 0; i < n; i++)
                g[i] *= (float)coef;
    }

    t->steps++;
    float *m1 = t->moment1, *m2 = t->moment2;
    const float lr = hp->learning_rate;
    if (hp->optimizer == CSCALP_NN_SGD) {
        const float mu = hp->momentum;
        if (mu == 0.0f) {
            for (size_t i = 0; i < n; i++)
                params[i] -= lr * g[i];
        } else {
            const int first = t->steps == 1;
            for (size_t i = 0; i < n; i++) {
                m1[i] = first ? g[i] : mu * m1[i] + g[i];
                params[i] -= lr * m1[i];
            }
        }
        return CSCALP_OK;
    }
    const double tt = (double)t->steps;
    const float step_size = (float)((double)lr / (1.0 - pow((double)hp->beta1, tt)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow((double)hp->beta2, tt));
    adam_update(n, params, g, m1, m2, hp->beta1, hp->beta2, hp->epsilon, step_size,
                bc2_sqrt);
    return CSCALP_OK;
}
