/* Batch-1 inference, tuned for latency (docs/model.md "Batch-1 inference").
 * Each layer's weights are packed once into 16-wide output panels, [in][16]
 * contiguous per panel and zero-padded, so the inner loop streams memory in
 * order and keeps 16 accumulators in vector registers. Every output sums its
 * inputs in index order from its bias, so results do not depend on the
 * vector width the compiler picks. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn.h"
#include "util/alloc.h"

#define PANEL 16

typedef struct packed_layer {
    uint32_t in, out, out_padded;
    float *panels; /* out_padded / PANEL panels of in × PANEL, 64-byte aligned */
    float *bias;   /* out_padded, 64-byte aligned */
    void *panels_block, *bias_block; /* what the allocator gave */
} packed_layer;

/* n zeroed floats at a 64-byte boundary from the host's allocator (which
 * promises only malloc's alignment): a panel row (16 floats) is then one
 * cache line, and the vector loads never straddle two, whatever the heap
 * around looked like. (The default model alone took 360 ns with malloc's
 * alignment after an unrelated change moved the heap, 250 ns aligned:
 * cscalp-bench infer, 2026-12-02.) *block gets the pointer to free. */
static float *calloc_aligned(const cscalp_allocator *mem, size_t n, void **block)
{
    unsigned char *raw = cscalp_mem_calloc(mem, n * sizeof(float) + 64, 1);
    *block = raw;
    if (raw == NULL)
        return NULL;
    const uintptr_t at = ((uintptr_t)raw + 63u) & ~(uintptr_t)63u;
    return (float *)(void *)(raw + (at - (uintptr_t)raw));
}

struct cscalp_nn_packed {
    cscalp_allocator mem;
    cscalp_nn_arch arch;
    cscalp_nn_layout layout;
    packed_layer layers[CSCALP_NN_MAX_HIDDEN + 1]; /* trunk layers, then the head */
    float *gate_regime_w;                          /* E × E */
    float *act[2];                                 /* ping-pong activations, aligned */
    void *act_block[2];
    /* log of the floored regime prior, for the regime vector it was taken
     * of: the prior moves once per regime step, inferences come per quote. */
    float prior_of[CSCALP_NN_MAX_EXPERTS];
    float prior_log[CSCALP_NN_MAX_EXPERTS];
    int prior_valid;
};

static uint32_t padded(uint32_t n) { return (n + PANEL - 1) / PANEL * PANEL; }

void cscalp_nn_packed_destroy(cscalp_nn_packed *p)
{
    if (p == NULL)
        return;
    const cscalp_allocator mem = p->mem;
    for (uint32_t l = 0; l <= CSCALP_NN_MAX_HIDDEN; l++) {
        cscalp_mem_free(&mem, p->layers[l].panels_block);
        cscalp_mem_free(&mem, p->layers[l].bias_block);
    }
    cscalp_mem_free(&mem, p->gate_regime_w);
    cscalp_mem_free(&mem, p->act_block[0]);
    cscalp_mem_free(&mem, p->act_block[1]);
    cscalp_mem_free(&mem, p);
}

int cscalp_nn_packed_create(const cscalp_allocator *mem, const cscalp_nn_arch *arch,
                            cscalp_nn_packed **out)
{
    char why[128];
    *out = NULL;
    if (cscalp_nn_arch_check(arch, why, sizeof why) != CSCALP_OK)
        return CSCALP_EINVAL;
    cscalp_nn_packed *p = cscalp_mem_calloc(mem, 1, sizeof *p);
    if (p == NULL)
        return CSCALP_ENOMEM;
    p->mem = *mem;
    p->arch = *arch;
    cscalp_nn_layout_of(arch, &p->layout);

    /* Each allocation is checked before the next is asked for, so a failing
     * allocator sees no request after the one it refused. */
    const uint32_t K = arch->hidden_layers;
    uint32_t widest = padded(arch->inputs);
    for (uint32_t l = 0; l <= K; l++) {
        packed_layer *pl = &p->layers[l];
        pl->in = l == 0 ? arch->inputs : arch->hidden[l - 1];
        pl->out = l < K ? arch->hidden[l] : 4u * arch->experts;
        pl->out_padded = padded(pl->out);
        widest = pl->out_padded > widest ? pl->out_padded : widest;
        if (!(pl->panels = calloc_aligned(mem, (size_t)pl->in * pl->out_padded,
                                          &pl->panels_block)) ||
            !(pl->bias = calloc_aligned(mem, pl->out_padded, &pl->bias_block)))
            goto out_of_memory;
    }
    if (!(p->gate_regime_w =
              cscalp_mem_calloc(mem, (size_t)arch->experts * arch->experts, sizeof(float))) ||
        !(p->act[0] = calloc_aligned(mem, widest, &p->act_block[0])) ||
        !(p->act[1] = calloc_aligned(mem, widest, &p->act_block[1])))
        goto out_of_memory;
    *out = p;
    return CSCALP_OK;

out_of_memory:
    cscalp_nn_packed_destroy(p);
    return CSCALP_ENOMEM;
}

static void pack_layer(packed_layer *pl, const float *w, const float *b)
{
    memset(pl->panels, 0, (size_t)pl->in * pl->out_padded * sizeof(float));
    memset(pl->bias, 0, pl->out_padded * sizeof(float));
    for (uint32_t j = 0; j < pl->out; j++) {
        float *panel = pl->panels + (size_t)(j / PANEL) * PANEL * pl->in;
        for (uint32_t i = 0; i < pl->in; i++)
            panel[(size_t)i * PANEL + j % PANEL] = w[(size_t)j * pl->in + i];
        pl->bias[j] = b[j];
    }
}

void cscalp_nn_pack(cscalp_nn_packed *p, const float *params)
{
    const cscalp_nn_layout *lay = &p->layout;
    const uint32_t K = p->arch.hidden_layers;
    for (uint32_t l = 0; l < K; l++)
        pack_layer(&p->layers[l], params + lay->w[l], params + lay->b[l]);
    pack_layer(&p->layers[K], params + lay->head_w, params + lay->head_b);
    memcpy(p->gate_regime_w, params + lay->gate_regime_w,
           (size_t)p->arch.experts * p->arch.experts * sizeof(float));
}

/* Sixteen float accumulators as two 8-wide GCC vectors: one AVX register
 * each where the CPU has AVX2 (the clone below), two SSE registers each on
 * the x86-64 baseline. Every lane is one output and sums its inputs in the
 * scalar order with separate multiply and add (no FMA), so both clones give
 * the same bits: results do not depend on the machine. */
typedef float v8f __attribute__((vector_size(32)));

/* A macro, not a function: a 32-byte vector passed by value would change
 * the calling convention between the clones. */
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(dst))

/* CSCALP_NO_CPU_CLONES builds the baseline only (a check that both give
 * the same bits; toolchains without ifunc). ThreadSanitizer's runtime does
 * not take ifunc resolvers well: baseline there too. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute) && \
    !defined(CSCALP_NO_CPU_CLONES)
#if __has_attribute(target_clones) && !defined(__SANITIZE_THREAD__)
#define CSCALP_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef CSCALP_AVX2_CLONE
#define CSCALP_AVX2_CLONE
#endif

/* `panels` (1, 2 or 4, a constant after inlining) 16-wide panels from
 * output jb through the inputs together: 2 × panels independent chains of
 * additions keep the adder busy where one panel's two chains would wait on
 * each other's latency. Each output still sums its inputs in index order. */
static inline __attribute__((always_inline)) void
panel_group(const packed_layer *pl, const float *x, float *y, uint32_t jb, int panels)
{
    const uint32_t in = pl->in;
    const size_t step = (size_t)PANEL * in; /* from one panel to the next */
    const float *w = pl->panels + (size_t)jb * in;
    v8f acc[8], wv;
#pragma GCC unroll 8
    for (int k = 0; k < 2 * panels; k++)
        LOAD8(acc[k], pl->bias + jb + 8 * k);
    for (uint32_t i = 0; i < in; i++) {
        const float xi = x[i];
        if (xi == 0.0f)
            continue;
        const float *wi = w + (size_t)i * PANEL;
#pragma GCC unroll 8
        for (int k = 0; k < 2 * panels; k++) {
            LOAD8(wv, wi + (size_t)(k / 2) * step + 8 * (k % 2));
            const v8f m = xi * wv;
            acc[k] += m;
        }
    }
#pragma GCC unroll 8
    for (int k = 0; k < 2 * panels; k++)
        memcpy(y + jb + 8 * k, &acc[k], sizeof acc[k]);
}

/* y = W x + b over packed panels, four at a time, then two, then one. Zero
 * inputs (most ReLU outputs) are skipped: adding 0·w changes nothing for
 * finite weights. */
CSCALP_AVX2_CLONE
static void panel_layer(const packed_layer *pl, const float *x, float *y)
{
    uint32_t jb = 0;
    for (; jb + 4 * PANEL <= pl->out_padded; jb += 4 * PANEL)
        panel_group(pl, x, y, jb, 4);
    for (; jb + 2 * PANEL <= pl->out_padded; jb += 2 * PANEL)
        panel_group(pl, x, y, jb, 2);
    for (; jb < pl->out_padded; jb += PANEL)
        panel_group(pl, x, y, jb, 1);
}

static void activate(int activation, uint32_t n, float *v)
{
    if (activation == CSCALP_NN_RELU) {
        for (uint32_t i = 0; i < n; i++)
            v[i] = (v[i] > 0.0f || v[i] != v[i]) ? v[i] : 0.0f; /* NaN propagates */
    } else {
        for (uint32_t i = 0; i < n; i++)
            v[i] = v[i] / (1.0f + expf(-v[i]));
    }
}

static void softmax(uint32_t n, const float *v, float *out)
{
    float mx = v[0];
    for (uint32_t k = 1; k < n; k++)
        mx = v[k] > mx ? v[k] : mx;
    float sum = 0.0f;
    for (uint32_t k = 0; k < n; k++) {
        out[k] = expf(v[k] - mx);
        sum += out[k];
    }
    const float inv = 1.0f / sum;
    for (uint32_t k = 0; k < n; k++)
        out[k] *= inv;
}

void cscalp_nn_infer(cscalp_nn_packed *p, const float *x, const float *regime,
                     cscalp_nn_result *out)
{
    const cscalp_nn_arch *arch = &p->arch;
    const uint32_t K = arch->hidden_layers, E = arch->experts;
    const float *in = x;
    int side = 0;
    for (uint32_t l = 0; l < K; l++) {
        float *y = p->act[side];
        panel_layer(&p->layers[l], in, y);
        activate(arch->activation, p->layers[l].out, y);
        in = y;
        side ^= 1;
    }
    float *u = p->act[side];
    panel_layer(&p->layers[K], in, u);

    if (!p->prior_valid || memcmp(p->prior_of, regime, E * sizeof *regime) != 0) {
        for (uint32_t e = 0; e < E; e++) {
            const float re = regime[e] > CSCALP_NN_PRIOR_FLOOR ? regime[e] : CSCALP_NN_PRIOR_FLOOR;
            p->prior_log[e] = logf(re);
        }
        memcpy(p->prior_of, regime, E * sizeof *regime);
        p->prior_valid = 1;
    }
    float g[CSCALP_NN_MAX_EXPERTS];
    for (uint32_t e = 0; e < E; e++) {
        float v = u[3 * E + e];
        const float *wrow = p->gate_regime_w + (size_t)e * E;
        for (uint32_t j = 0; j < E; j++)
            v += wrow[j] * regime[j];
        g[e] = v + p->prior_log[e];
    }
    softmax(E, g, out->gate);
    float probs[CSCALP_NN_CLASSES] = {0.0f, 0.0f, 0.0f};
    for (uint32_t e = 0; e < E; e++) {
        float pe[CSCALP_NN_CLASSES];
        softmax(CSCALP_NN_CLASSES, u + 3 * e, pe);
        for (int c = 0; c < CSCALP_NN_CLASSES; c++)
            probs[c] += out->gate[e] * pe[c];
    }
    memcpy(out->probs, probs, sizeof probs);
    for (uint32_t e = E; e < CSCALP_NN_MAX_EXPERTS; e++)
        out->gate[e] = 0.0f;
}
