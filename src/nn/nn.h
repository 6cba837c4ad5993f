/* Neural-network stage: an MLP trunk and a mixture-of-experts head over
 * down/flat/up (docs/model.md is the specification: architecture, parameter
 * layout, loss, optimisers). Parameters are float32 in one flat array.
 * Batched forward/backward run on a backend (plain C reference or OpenBLAS);
 * batch-1 inference runs on a packed copy of the weights. No function here
 * allocates except the *_create ones. */
#ifndef CSCALP_NN_NN_H
#define CSCALP_NN_NN_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

#define CSCALP_NN_CLASSES 3
#define CSCALP_NN_MAX_HIDDEN 8
#define CSCALP_NN_MAX_WIDTH 1024
#define CSCALP_NN_MAX_INPUTS 4096
#define CSCALP_NN_MAX_EXPERTS 16
/* Floor of the regime posterior inside log() in the gate prior. */
#define CSCALP_NN_PRIOR_FLOOR 1e-6f

typedef enum cscalp_nn_activation {
    CSCALP_NN_RELU = 0,
    CSCALP_NN_SILU = 1
} cscalp_nn_activation;

typedef struct cscalp_nn_arch {
    uint32_t inputs;
    uint32_t hidden_layers;
    uint32_t hidden[CSCALP_NN_MAX_HIDDEN];
    uint32_t experts;
    int activation; /* cscalp_nn_activation */
} cscalp_nn_arch;

/* Offsets (in floats) of every tensor in the flat parameter array. */
typedef struct cscalp_nn_layout {
    size_t w[CSCALP_NN_MAX_HIDDEN];
    size_t b[CSCALP_NN_MAX_HIDDEN];
    size_t head_w, head_b, gate_regime_w;
    size_t count;
} cscalp_nn_layout;

/* CSCALP_OK, or CSCALP_ECONFIG_RANGE with `why` naming the bad size. */
int cscalp_nn_arch_check(const cscalp_nn_arch *arch, char *why, size_t cap);
void cscalp_nn_layout_of(const cscalp_nn_arch *arch, cscalp_nn_layout *layout);
size_t cscalp_nn_param_count(const cscalp_nn_arch *arch);
/* Width of the trunk's output (the last hidden layer, or the inputs). */
uint32_t cscalp_nn_trunk_width(const cscalp_nn_arch *arch);
/* 1 where parameter i is a weight (L2 applies), 0 for a bias. */
int cscalp_nn_is_weight(const cscalp_nn_layout *layout, const cscalp_nn_arch *arch,
                        size_t i);

/* Deterministic initialisation from a seed (docs/model.md). */
void cscalp_nn_init_params(const cscalp_nn_arch *arch, uint64_t seed, float *params);

/* ------------------------------------------------------------------------ */
/* Backends                                                                 */

typedef enum cscalp_nn_backend_id {
    CSCALP_NN_BACKEND_CPU = 0,
    CSCALP_NN_BACKEND_BLAS = 1
} cscalp_nn_backend_id;

/* Row-major matrix product: C(m×n) = alpha·op(A)·op(B) + beta·C, op(X) = X
 * or Xᵀ by trans_a / trans_b; lda/ldb/ldc are row strides of the stored
 * matrices. beta = 0 overwrites C (its old contents are not read). */
typedef void (*cscalp_nn_gemm_fn)(int trans_a, int trans_b, int m, int n, int k,
                                  float alpha, const float *a, int lda,
                                  const float *b, int ldb, float beta, float *c,
                                  int ldc);

typedef struct cscalp_nn_backend {
    int id;           /* cscalp_nn_backend_id */
    const char *name; /* "cpu", "blas" */
    cscalp_nn_gemm_fn gemm;
} cscalp_nn_backend;

/* The backend, or NULL when this build lacks it. */
const cscalp_nn_backend *cscalp_nn_backend_get(int id);

/* ------------------------------------------------------------------------ */
/* Layers (batched, row-major [batch][width]); exposed for the backends and  */
/* the gradient tests                                                       */

/* Y = X·Wᵀ + b   (X: batch×in, W: out×in, Y: batch×out) */
void cscalp_nn_dense_forward(const cscalp_nn_backend *be, int batch, int in, int out,
                             const float *w, const float *b, const float *x, float *y);
/* dW = dYᵀ·X, db = Σ_rows dY (both overwritten), dX = dY·W (skipped when
 * dx is NULL). */
void cscalp_nn_dense_backward(const cscalp_nn_backend *be, int batch, int in, int out,
                              const float *w, const float *x, const float *dy,
                              float *dw, float *db, float *dx);

void cscalp_nn_act_forward(int activation, size_t n, const float *z, float *a);
/* dz = da ⊙ φ'(z) */
void cscalp_nn_act_backward(int activation, size_t n, const float *z, const float *da,
                            float *dz);

/* Mixture-of-experts output. `u` is batch×4E (the head layer's output),
 * `regime` batch×E posteriors, `w_gr` the E×E gate-regime weights. Fills
 * `probs` (batch×3) and the caches `gate` (batch×E, π) and `expert`
 * (batch×E×3, p_e). */
void cscalp_nn_moe_forward(int batch, int experts, const float *u, const float *regime,
                           const float *w_gr, float *probs, float *gate, float *expert);
/* Weighted cross-entropy of the mixture (docs/model.md) from the forward
 * caches; returns the loss (without L2). When du is not NULL fills du
 * (batch×4E) and dw_gr (E×E, overwritten). labels in 0..2; class_weights
 * may be NULL (all 1). */
double cscalp_nn_moe_loss(int batch, int experts, const float *u, const float *regime,
                          const float *w_gr, const float *gate, const float *expert,
                          const uint8_t *labels, const float *class_weights,
                          float *du, float *dw_gr);

/* ------------------------------------------------------------------------ */
/* Batched model: forward, loss and gradients, optimiser step               */

typedef enum cscalp_nn_optimizer {
    CSCALP_NN_ADAM = 0,
    CSCALP_NN_SGD = 1
} cscalp_nn_optimizer;

typedef struct cscalp_nn_hparams {
    int optimizer;         /* cscalp_nn_optimizer */
    float learning_rate;
    float beta1, beta2, epsilon; /* Adam */
    float momentum;        /* SGD, 0 = plain */
    float l2;              /* λ, on weights only */
    float max_grad_norm;   /* 0 = no clipping */
    float refuse_grad_norm; /* 0 = off; a larger norm (before clipping) refuses the
                               step with CSCALP_NN_EXPLODED */
    float class_weights[CSCALP_NN_CLASSES];
} cscalp_nn_hparams;

/* cscalp_nn_train_step's refusal of an exploding gradient: positive, so it
 * is never mistaken for (or returned as) a public error code. */
#define CSCALP_NN_EXPLODED 2

/* Adam 1e-3, β (0.9, 0.999), ε 1e-8, no L2, no clipping, weights 1. */
void cscalp_nn_hparams_default(cscalp_nn_hparams *hp);

/* Workspace, gradients and optimiser state for one model, sized for batches
 * of up to max_batch. */
typedef struct cscalp_nn_trainer cscalp_nn_trainer;

int cscalp_nn_trainer_create(const cscalp_allocator *mem, const cscalp_nn_arch *arch,
                             uint32_t max_batch, const cscalp_nn_backend *backend,
                             cscalp_nn_trainer **out);
void cscalp_nn_trainer_destroy(cscalp_nn_trainer *t);
void cscalp_nn_trainer_set_backend(cscalp_nn_trainer *t, const cscalp_nn_backend *be);
/* Forget the optimiser state (moments, momentum, step count). */
void cscalp_nn_trainer_reset(cscalp_nn_trainer *t);

/* Forward pass of `batch` samples (x: batch×inputs, regime: batch×E);
 * probs (batch×3) may be NULL. Keeps the activations for backward. */
int cscalp_nn_forward(cscalp_nn_trainer *t, const float *params, const float *x,
                      const float *regime, uint32_t batch, float *probs);

/* Forward + loss + backward; gradients (with L2) are kept in the trainer and
 * readable through cscalp_nn_trainer_grad. *loss (may be NULL) receives the
 * data loss without the L2 term. */
int cscalp_nn_gradient(cscalp_nn_trainer *t, const float *params, const float *x,
                       const float *regime, const uint8_t *labels, uint32_t batch,
                       const cscalp_nn_hparams *hp, double *loss);
const float *cscalp_nn_trainer_grad(const cscalp_nn_trainer *t);
uint64_t cscalp_nn_trainer_steps(const cscalp_nn_trainer *t);
/* Mixture probabilities (batch×3) of the last forward pass, i.e. of the
 * parameters before the last training step: per-sample losses for replay
 * priorities come from here without a second forward pass. */
const float *cscalp_nn_trainer_probs(const cscalp_nn_trainer *t);

/* Optimiser state (moments and step count), copied or saved for checkpoints;
 * copies need the same architecture on both sides. */
void cscalp_nn_trainer_copy_state(cscalp_nn_trainer *dst, const cscalp_nn_trainer *src);


void cscalp_nn_trainer_save(const cscalp_nn_trainer *t, cscalp_wbuf *w);
/* CSCALP_ECORRUPT (state unchanged) when the stream is short, a value is not
 * finite or the parameter count differs. */
int cscalp_nn_trainer_load(cscalp_nn_trainer *t, cscalp_rbuf *r, char *why,
                           size_t cap);

/* One training step: cscalp_nn_gradient, then clipping and the optimiser
 * update of params. Returns CSCALP_ENONFINITE, with params and optimiser
 * state untouched, when the loss or a gradient is not finite. */
int cscalp_nn_train_step(cscalp_nn_trainer *t, float *params, const float *x,
                         const float *regime, const uint8_t *labels, uint32_t batch,
                         const cscalp_nn_hparams *hp, double *loss);
/* The L2 norm of the last step's gradient before clipping (NaN or Inf when
 * that step was refused as non-finite). */
double cscalp_nn_trainer_grad_norm(const cscalp_nn_trainer *t);

/* ------------------------------------------------------------------------ */
/* Batch-1 inference on packed weights                                      */

typedef struct cscalp_nn_packed cscalp_nn_packed;

int cscalp_nn_packed_create(const cscalp_allocator *mem, const cscalp_nn_arch *arch,
                            cscalp_nn_packed **out);
void cscalp_nn_packed_destroy(cscalp_nn_packed *p);
/* Re-pack from the flat parameters (O(parameters); call when they change). */
void cscalp_nn_pack(cscalp_nn_packed *p, const float *params);

typedef struct cscalp_nn_result {
    float probs[CSCALP_NN_CLASSES];
    float gate[CSCALP_NN_MAX_EXPERTS];
} cscalp_nn_result;

/* One forward pass: x has arch.inputs floats, regime arch.experts. O(params),
 * no allocation. */
void cscalp_nn_infer(cscalp_nn_packed *p, const float *x, const float *regime,
                     cscalp_nn_result *out);

#endif
