/* A double-precision reference of the model, written from docs/model.md
 * alone (no code shared with src/nn): parameter layout, trunk, expert heads,
 * log-prior gate, mixture, weighted cross-entropy of the mixture and the L2
 * term. The finite-difference gradient checks differentiate these functions
 * numerically; the forward checks compare the library against them.
 *
 * Nothing here includes src/nn/nn.h: the architecture has its own struct so
 * that a wrong constant or layout in the library cannot leak in. */
#ifndef CSCALP_TESTS_NN_REF_H
#define CSCALP_TESTS_NN_REF_H

#include <stddef.h>
#include <stdint.h>

#define NNREF_MAX_LAYERS 8
#define NNREF_MAX_EXPERTS 16
#define NNREF_CLASSES 3
/* docs/model.md: the regime posterior is floored at 1e-6 inside the log. */
#define NNREF_PRIOR_FLOOR 1e-6

typedef struct nnref_arch {
    int inputs;                    /* D */
    int layers;                    /* K */
    int hidden[NNREF_MAX_LAYERS];  /* n_1 .. n_K */
    int experts;                   /* E */
    int silu;                      /* 0: ReLU, 1: SiLU */
} nnref_arch;

/* Offsets of every tensor in the flat parameter array (docs/model.md,
 * "Parameter layout"). */
typedef struct nnref_layout {
    size_t w[NNREF_MAX_LAYERS], b[NNREF_MAX_LAYERS];
    size_t head_w, head_b, w_gr;
    size_t count;
} nnref_layout;

void nnref_layout_of(const nnref_arch *a, nnref_layout *lay);
/* Σ n_l (n_{l-1} + 1) + 4E (H + 1) + E², straight from the formula. */
size_t nnref_param_count(const nnref_arch *a);
int nnref_trunk_width(const nnref_arch *a);
/* 1 when parameter i is a weight (W_l, W_head, W_gr), 0 for a bias. */
int nnref_is_weight(const nnref_arch *a, size_t i);

/* φ(z): ReLU max(z, 0) or SiLU z·σ(z). */
double nnref_act(int silu, double z);

/* y (batch×out) = x (batch×in) · Wᵀ + b, W row-major [out][in]. */
void nnref_dense(int batch, int in, int out, const double *w, const double *b,
                 const double *x, double *y);

/* Mixture of experts for one sample from the head output u (4E), posterior
 * r (E) and W_gr (E×E): gate π (E), expert probabilities p_e (E×3) and the
 * mixture p (3). Any output pointer may be NULL. */
void nnref_moe(int experts, const double *u, const double *r, const double *w_gr,
               double *probs, double *gate, double *expert);
/* log p_y of one sample, as logsumexp_e(log π_e + log softmax(z_e)_y). */
double nnref_moe_log_prob(int experts, const double *u, const double *r,
                          const double *w_gr, int y);
/* Weighted mean cross-entropy of a batch from the head outputs u (batch×4E):
 * Σ w_{y_i} (−log p_{i,y_i}) / Σ w_{y_i}. class_weights NULL = all 1. */
double nnref_moe_loss(int batch, int experts, const double *u, const double *r,
                      const double *w_gr, const int *labels,
                      const double *class_weights);

/* Full forward pass for a batch: x (batch×D), r (batch×E). Writes probs
 * (batch×3) and, when not NULL, the head output u (batch×4E). When
 * min_abs_pre is not NULL it receives min |z| over every hidden
 * pre-activation of every sample (the distance to the nearest ReLU kink);
 * +inf when there is no hidden layer. */
void nnref_forward(const nnref_arch *a, const double *params, int batch, const double *x,
                   const double *r, double *probs, double *u, double *min_abs_pre);

/* Signs of every hidden pre-activation (1 when z > 0), batch × Σ n_l bytes
 * into pattern (which must hold that many); the count. Two parameter
 * vectors with the same pattern are on the same linear piece of a ReLU
 * network, so a central difference between them crosses no kink. */
size_t nnref_relu_pattern(const nnref_arch *a, const double *params, int batch,
                          const double *x, unsigned char *pattern);

/* Σ over weights of w² (biases excluded). */
double nnref_weight_sq(const nnref_arch *a, const double *params);

/* The training objective: weighted cross-entropy + (λ/2) Σ ‖weights‖². */
double nnref_loss(const nnref_arch *a, const double *params, int batch, const double *x,
                  const double *r, const int *labels, const double *class_weights,
                  double l2);

#endif
