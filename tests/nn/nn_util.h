/* Helpers shared by the tests/nn suites: a test-side random generator
 * (independent of src/util/rng.c), the list of built backends, random
 * architectures and data, a counting / failing allocator and assertion
 * macros that say what was compared. */
#ifndef CSCALP_TESTS_NN_UTIL_H
#define CSCALP_TESTS_NN_UTIL_H

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"
#include "nn_ref.h"

/* ---------------------------------------------------------------- random */

/* splitmix64 stream: test data only (never the library's generator). */
typedef struct nt_rng {
    uint64_t s;
} nt_rng;

void nt_seed(nt_rng *g, uint64_t seed);
uint64_t nt_next(nt_rng *g);
double nt_uniform(nt_rng *g);                    /* [0, 1) */
double nt_range(nt_rng *g, double lo, double hi); /* [lo, hi) */
int nt_int(nt_rng *g, int n);                     /* [0, n) */
void nt_fill(nt_rng *g, float *v, size_t n, double lo, double hi);

/* A posterior row of E values, non-negative, summing to 1 (in float):
 * kind 0 random, 1 uniform 1/E, 2 one-hot on `hot`, 3 random with exact
 * zeros at every other index (at least one non-zero). */
void nt_regime_row(nt_rng *g, int experts, int kind, int hot, float *r);
/* batch rows, cycling through the kinds above so every batch of >= 4 rows
 * holds a random row, a uniform row, a one-hot row and a row with zeros. */
void nt_regimes(nt_rng *g, int experts, int batch, float *r);

/* ------------------------------------------------------------ arch, params */

cscalp_nn_arch nt_arch(int inputs, int layers, const int *hidden, int experts,
                       int activation);
void nt_ref_arch(const cscalp_nn_arch *a, nnref_arch *out);
/* cscalp_nn_init_params, then every bias and W_gr set to random values in
 * ±bias_scale, so that no parameter is at its (zero) initial value. */
void nt_random_params(const cscalp_nn_arch *a, uint64_t seed, double bias_scale,
                      float *params);
void nt_to_double(const float *f, double *d, size_t n);

/* --------------------------------------------------------------- backends */

/* Every backend cscalp_nn_backend_get returns (cpu first); the count. */
int nt_backends(const cscalp_nn_backend *out[2]);

/* -------------------------------------------------------------- allocator */

/* Counting allocator over malloc: every call counted; the call numbered
 * fail_at (1-based; 0 = never) and, when fail_all_after is set, every later
 * one returns NULL. live counts blocks not yet freed. */
typedef struct nt_alloc {
    long calls;
    long fail_at;
    int fail_all_after;
    long live;
    long frees;
    long failed;
} nt_alloc;

cscalp_allocator nt_allocator(nt_alloc *state);
/* malloc/free, no counting. */
cscalp_allocator nt_plain_allocator(void);

/* ------------------------------------------------------------- assertions */

#define NT_NEAR(got, want, tol, ...)                                             \
    do {                                                                         \
        const double nt_g_ = (double)(got), nt_w_ = (double)(want), nt_t_ = (double)(tol);             \
        if (!(fabs(nt_g_ - nt_w_) <= nt_t_)) {                                   \
            char nt_what_[256];                                                  \
            snprintf(nt_what_, sizeof nt_what_, __VA_ARGS__);                    \
            ck_abort_msg("%s: got %.9g, expected %.9g (|diff| %.3g > tol %.3g)", \
                         nt_what_, nt_g_, nt_w_, fabs(nt_g_ - nt_w_), nt_t_);    \
        }                                                                        \
    } while (0)

/* Largest |a_i − b_i| / (scale_i) helpers live in the test files; this one
 * is the common "bytes equal" check with the first differing index. */
void nt_assert_same_bytes(const float *a, const float *b, size_t n, const char *what);

/* Print a measured figure (a worst error, a count) to stderr as
 * "[nn] <name>: <value>", for the test log. Tests run in forked children,
 * so figures are printed where they are measured. */
void nt_note(const char *name, double value);

/* Run the suite (Check honours CK_FORK); the process exit code. */
int nt_run(Suite *s);

#endif
