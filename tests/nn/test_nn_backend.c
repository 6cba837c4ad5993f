/* Backend parity (docs/model.md, "Backends"): every backend that
 * cscalp_nn_backend_get returns runs one table of cases per kernel (the
 * pattern of ggml's test-backend-ops), each checked against a double triple
 * loop, and the blas backend against the cpu one.
 *
 * Error measure. An element of a product sums k terms; its float rounding is
 * bounded by a small multiple of k·ε·Σ|terms|, not by the size of the
 * (possibly cancelling) result. So the relative error of an element is
 * |got − want| / (|α|·Σ_p |a_ip b_pj| + |β c_ij|), and the spec's 1e-5 bound
 * between backends (and towards the double result) applies to that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_util.h"

#define REL_TOL 1e-5
#define C_SENTINEL 12345.0f

typedef struct gemm_case {
    int m, n, k;
    int pad_a, pad_b, pad_c; /* extra columns in each stored row (lda > tight) */
} gemm_case;

static const gemm_case gemm_cases[] = {
    {1, 1, 1, 0, 0, 0},     {1, 1, 1, 3, 2, 5},   {1, 9, 4, 0, 0, 0},
    {7, 1, 5, 0, 0, 0},     {6, 5, 1, 0, 0, 0},   {1, 1, 37, 0, 0, 0},
    {2, 3, 4, 1, 1, 1},     {17, 33, 65, 0, 0, 0}, {17, 33, 65, 3, 5, 7},
    {65, 17, 33, 0, 2, 0},  {64, 16, 24, 0, 0, 0}, {3, 130, 2, 1, 0, 2},
    {100, 1, 100, 0, 0, 0}, {1, 100, 100, 0, 0, 3}, {128, 64, 32, 0, 0, 0},
};
#define N_GEMM (sizeof gemm_cases / sizeof gemm_cases[0])

static const float gemm_ab[][2] = {
    /* alpha, beta */
    {1.0f, 0.0f}, {1.0f, 1.0f}, {1.0f, 0.5f}, {-0.75f, 0.5f}, {2.5f, 0.0f},
};
#define N_AB (sizeof gemm_ab / sizeof gemm_ab[0])

typedef struct gemm_run {
    float *a, *b, *c0, *c;
    int lda, ldb, ldc;
    size_t na, nb, nc;
} gemm_run;

/* Stored shapes: A is m×k (k×m when transposed), B k×n (n×k), C m×n; every
 * stored row has pad extra elements, filled with NaN in A and B (a kernel
 * that reads them poisons its output) and with a sentinel in C (a kernel
 * that writes them is caught). */
static void gemm_setup(const gemm_case *gc, int ta, int tb, uint64_t seed, gemm_run *r)
{
    const int a_rows = ta ? gc->k : gc->m, a_cols = ta ? gc->m : gc->k;
    const int b_rows = tb ? gc->n : gc->k, b_cols = tb ? gc->k : gc->n;
    r->lda = a_cols + gc->pad_a;
    r->ldb = b_cols + gc->pad_b;
    r->ldc = gc->n + gc->pad_c;
    r->na = (size_t)a_rows * (size_t)r->lda;
    r->nb = (size_t)b_rows * (size_t)r->ldb;
    r->nc = (size_t)gc->m * (size_t)r->ldc;
    r->a = malloc(sizeof(float) * r->na);
    r->b = malloc(sizeof(float) * r->nb);
    r->c0 = malloc(sizeof(float) * r->nc);
    r->c = malloc(sizeof(float) * r->nc);
    nt_rng g;
    nt_seed(&g, seed);
    for (size_t i = 0; i < r->na; i++)
        r->a[i] = (int)(i % (size_t)r->lda) < a_cols ? (float)nt_range(&g, -1, 1) : NAN;
    for (size_t i = 0; i < r->nb; i++)
        r->b[i] = (int)(i % (size_t)r->ldb) < b_cols ? (float)nt_range(&g, -1, 1) : NAN;
    for (size_t i = 0; i < r->nc; i++)
        r->c0[i] = (int)(i % (size_t)r->ldc) < gc->n ? (float)nt_range(&g, -2, 2) : C_SENTINEL;
}

static void gemm_free(gemm_run *r)
{
    free(r->a), free(r->b), free(r->c0), free(r->c);
}

static double a_at(const gemm_run *r, int ta, int i, int p)
{
    return ta ? (double)r->a[(size_t)p * (size_t)r->lda + (size_t)i]
              : (double)r->a[(size_t)i * (size_t)r->lda + (size_t)p];
}

static double b_at(const gemm_run *r, int tb, int p, int j)
{
    return tb ? (double)r->b[(size_t)j * (size_t)r->ldb + (size_t)p]
              : (double)r->b[(size_t)p * (size_t)r->ldb + (size_t)j];
}

/* Runs one backend's gemm on a fresh copy of C0 (NaN garbage in C's used
 * part when beta = 0, which must not be read). */
static void gemm_exec(const cscalp_nn_backend *be, const gemm_case *gc, int ta, int tb,
                      float alpha, float beta, gemm_run *r, float *out)
{
    memcpy(out, r->c0, sizeof(float) * r->nc);
    if (beta == 0.0f)
        for (int i = 0; i < gc->m; i++)
            for (int j = 0; j < gc->n; j++)
                out[(size_t)i * (size_t)r->ldc + (size_t)j] = (i + j) % 2 ? NAN : INFINITY;
    be->gemm(ta, tb, gc->m, gc->n, gc->k, alpha, r->a, r->lda, r->b, r->ldb, beta, out,
             r->ldc);
}

static double gemm_variant(int ta, int tb)
{
    const cscalp_nn_backend *bes[2];
    const int nbe = nt_backends(bes);
    double worst = 0.0, worst_pair = 0.0;
    for (size_t c = 0; c < N_GEMM; c++)
        for (size_t ab = 0; ab < N_AB; ab++) {
            const gemm_case *gc = &gemm_cases[c];
            const float alpha = gemm_ab[ab][0], beta = gemm_ab[ab][1];
            gemm_run r;
            gemm_setup(gc, ta, tb, 1000 * c + ab, &r);
            float *cpu_out = malloc(sizeof(float) * r.nc);
            for (int k = 0; k < nbe; k++) {
                gemm_exec(bes[k], gc, ta, tb, alpha, beta, &r, r.c);
                for (int i = 0; i < gc->m; i++) {
                    for (int j = 0; j < gc->n; j++) {
                        double s = 0.0, mag = 0.0;
                        for (int p = 0; p < gc->k; p++) {
                            const double t = a_at(&r, ta, i, p) * b_at(&r, tb, p, j);
                            s += t;
                            mag += fabs(t);
                        }
                        const size_t at = (size_t)i * (size_t)r.ldc + (size_t)j;
                        const double c0 = (double)r.c0[at];
                        const double want =
                            (double)alpha * s + (beta == 0.0f ? 0.0 : (double)beta * c0);
                        mag = fabs((double)alpha) * mag + fabs((double)beta) * fabs(c0);
                        const double got = (double)r.c[at];
                        const double err = fabs(got - want) / (mag + 1e-30);
                        worst = fmax(worst, err);
                        ck_assert_msg(isfinite(got) && err <= REL_TOL,
                                      "%s gemm(%c%c) m=%d n=%d k=%d lda=%d ldb=%d ldc=%d "
                                      "alpha=%g beta=%g: C[%d][%d] = %.9g, want %.9g",
                                      bes[k]->name, ta ? 'T' : 'N', tb ? 'T' : 'N', gc->m,
                                      gc->n, gc->k, r.lda, r.ldb, r.ldc, (double)alpha,
                                      (double)beta, i, j, got, want);
                        if (k > 0) {
                            const double d = fabs(got - (double)cpu_out[at]) / (mag + 1e-30);
                            worst_pair = fmax(worst_pair, d);
                            ck_assert_msg(d <= REL_TOL,
                                          "%s vs cpu gemm(%c%c) %dx%dx%d: C[%d][%d] %.9g vs %.9g",
                                          bes[k]->name, ta ? 'T' : 'N', tb ? 'T' : 'N', gc->m,
                                          gc->n, gc->k, i, j, got, (double)cpu_out[at]);
                        }
                    }
                    for (int j = gc->n; j < r.ldc; j++)
                        ck_assert_msg(r.c[(size_t)i * (size_t)r.ldc + (size_t)j] == C_SENTINEL,
                                      "%s gemm(%c%c) %dx%dx%d wrote C[%d][%d] past n (ldc %d)",
                                      bes[k]->name, ta ? 'T' : 'N', tb ? 'T' : 'N', gc->m,
                                      gc->n, gc->k, i, j, r.ldc);
                }
                if (k == 0)
                    memcpy(cpu_out, r.c, sizeof(float) * r.nc);
            }
            free(cpu_out);
            gemm_free(&r);
        }
    char what[80];
    snprintf(what, sizeof what, "gemm %c%c: max rel err vs double", ta ? 'T' : 'N',
             tb ? 'T' : 'N');
    nt_note(what, worst);
    if (nbe > 1) {
        snprintf(what, sizeof what, "gemm %c%c: max rel err blas vs cpu", ta ? 'T' : 'N',
                 tb ? 'T' : 'N');
        nt_note(what, worst_pair);
    }
    return worst;
}

START_TEST(gemm_nn) { gemm_variant(0, 0); }
END_TEST
START_TEST(gemm_nt) { gemm_variant(0, 1); }
END_TEST
START_TEST(gemm_tn) { gemm_variant(1, 0); }
END_TEST
START_TEST(gemm_tt) { gemm_variant(1, 1); }
END_TEST

START_TEST(backend_table)
{
    const cscalp_nn_backend *cpu = cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU);
    ck_assert_ptr_nonnull(cpu);
    ck_assert_int_eq(cpu->id, CSCALP_NN_BACKEND_CPU);
    ck_assert_str_eq(cpu->name, "cpu");
    ck_assert(cpu->gemm != NULL);
    const cscalp_nn_backend *blas = cscalp_nn_backend_get(CSCALP_NN_BACKEND_BLAS);
    ck_assert_int_eq(blas != NULL, cscalp_has_feature(CSCALP_FEATURE_BLAS) != 0);
    if (blas != NULL) {
        ck_assert_int_eq(blas->id, CSCALP_NN_BACKEND_BLAS);
        ck_assert_str_eq(blas->name, "blas");
        ck_assert(blas->gemm != NULL);
    }
    ck_assert_ptr_null(cscalp_nn_backend_get(2));
    ck_assert_ptr_null(cscalp_nn_backend_get(-1));
}
END_TEST

/* ------------------------------------------------------------ dense layers */

static const int dense_shapes[][3] = {
    {1, 1, 1}, {1, 24, 64}, {32, 24, 64}, {7, 33, 17}, {64, 64, 12}, {3, 1, 9}, {256, 48, 64},
};

START_TEST(dense_layers_blas_vs_cpu)
{
    const cscalp_nn_backend *bes[2];
    if (nt_backends(bes) < 2)
        return; /* nothing to compare in a build without blas */
    double worst = 0.0;
    for (size_t s = 0; s < sizeof dense_shapes / sizeof dense_shapes[0]; s++) {
        const int B = dense_shapes[s][0], in = dense_shapes[s][1], out = dense_shapes[s][2];
        const size_t nw = (size_t)(out * in), nx = (size_t)(B * in), ny = (size_t)(B * out);
        nt_rng g;
        nt_seed(&g, 50 + s);
        float *w = malloc(sizeof(float) * nw), *bias = malloc(sizeof(float) * (size_t)out);
        float *x = malloc(sizeof(float) * nx), *dy = malloc(sizeof(float) * ny);
        float *y[2], *dw[2], *db[2], *dx[2];
        for (int k = 0; k < 2; k++) {
            y[k] = malloc(sizeof(float) * ny);
            dw[k] = malloc(sizeof(float) * nw);
            db[k] = malloc(sizeof(float) * (size_t)out);
            dx[k] = malloc(sizeof(float) * nx);
        }
        nt_fill(&g, w, nw, -1, 1);
        nt_fill(&g, bias, (size_t)out, -1, 1);
        nt_fill(&g, x, nx, -2, 2);
        nt_fill(&g, dy, ny, -1, 1);
        for (int k = 0; k < 2; k++) {
            cscalp_nn_dense_forward(bes[k], B, in, out, w, bias, x, y[k]);
            cscalp_nn_dense_backward(bes[k], B, in, out, w, x, dy, dw[k], db[k], dx[k]);
        }
        for (int i = 0; i < B; i++)
            for (int j = 0; j < out; j++) {
                double mag = fabs((double)bias[j]);
                for (int p = 0; p < in; p++)
                    mag += fabs((double)w[j * in + p] * (double)x[i * in + p]);
                const double e = fabs((double)y[1][i * out + j] - (double)y[0][i * out + j]) / mag;
                worst = fmax(worst, e);
                ck_assert_msg(e <= REL_TOL, "%dx%dx%d y[%d][%d]: blas %.9g cpu %.9g", B, in, out,
                              i, j, (double)y[1][i * out + j], (double)y[0][i * out + j]);
            }
        for (int j = 0; j < out; j++) {
            double magb = 0.0;
            for (int i = 0; i < B; i++)
                magb += fabs((double)dy[i * out + j]);
            const double eb = fabs((double)db[1][j] - (double)db[0][j]) / (magb + 1e-30);
            worst = fmax(worst, eb);
            ck_assert_msg(eb <= REL_TOL, "%dx%dx%d db[%d]", B, in, out, j);
            for (int p = 0; p < in; p++) {
                double mag = 0.0;
                for (int i = 0; i < B; i++)
                    mag += fabs((double)dy[i * out + j] * (double)x[i * in + p]);
                const double e =
                    fabs((double)dw[1][j * in + p] - (double)dw[0][j * in + p]) / (mag + 1e-30);
                worst = fmax(worst, e);
                ck_assert_msg(e <= REL_TOL, "%dx%dx%d dW[%d][%d]: blas %.9g cpu %.9g", B, in,
                              out, j, p, (double)dw[1][j * in + p], (double)dw[0][j * in + p]);
            }
        }
        for (int i = 0; i < B; i++)
            for (int p = 0; p < in; p++) {
                double mag = 0.0;
                for (int j = 0; j < out; j++)
                    mag += fabs((double)dy[i * out + j] * (double)w[j * in + p]);
                const double e =
                    fabs((double)dx[1][i * in + p] - (double)dx[0][i * in + p]) / (mag + 1e-30);
                worst = fmax(worst, e);
                ck_assert_msg(e <= REL_TOL, "%dx%dx%d dX[%d][%d]", B, in, out, i, p);
            }
        free(w), free(bias), free(x), free(dy);
        for (int k = 0; k < 2; k++)
            free(y[k]), free(dw[k]), free(db[k]), free(dx[k]);
    }
    nt_note("dense layers: max rel err blas vs cpu", worst);
}
END_TEST

/* ------------------------------------------------------------- train step */

/* Several full training steps on each backend from the same parameters and
 * data. Per step: the loss to 1e-5 relative; every gradient element to 1e-5
 * of the gradient's largest element (a gradient element is a sum over the
 * batch and the layers above of terms up to that size); the parameters:
 * - SGD (linear in the gradient): each to 1e-5 relative, floored at the
 *   learning rate (an update moves a parameter by about lr·g, so a
 *   parameter near 0 is compared at that scale);
 * - Adam: as a vector, ‖p_blas − p_cpu‖ ≤ 1e-5·‖p_cpu − p_start‖, the
 *   relative error of the distance trained. Element-wise Adam is
 *   ill-conditioned where a gradient is tiny: its update is about
 *   lr·g/(|g| + ε), so a gradient of 1e-6 whose last bits differ between
 *   the backends (1e-7 of the largest gradient) moves its parameter by
 *   1e-4·lr differently; next to a parameter of 1e-3 that is 1e-4
 *   relative, though both backends are right. */
static void train_parity(int optimizer)
{
    const cscalp_nn_backend *bes[2];
    if (nt_backends(bes) < 2)
        return;
    static const int hid[] = {64, 33};
    const cscalp_nn_arch a = nt_arch(24, 2, hid, 3, CSCALP_NN_RELU);
    const size_t n = cscalp_nn_param_count(&a);
    enum { B = 32, STEPS = 8 };
    float *p[2], x[B * 24], r[B * 3];
    uint8_t labels[B];
    cscalp_nn_trainer *t[2];
    cscalp_allocator mem = nt_plain_allocator();
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    hp.optimizer = optimizer;
    hp.learning_rate = optimizer == CSCALP_NN_ADAM ? 1e-3f : 0.05f;
    hp.momentum = 0.9f;
    hp.l2 = 1e-3f;
    hp.class_weights[0] = 1.5f;
    hp.class_weights[2] = 0.75f;
    for (int k = 0; k < 2; k++) {
        p[k] = malloc(sizeof(float) * n);
        cscalp_nn_init_params(&a, 42, p[k]);
        ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &a, B, bes[k], &t[k]), CSCALP_OK);
    }
    nt_rng g;
    nt_seed(&g, 7);
    double worst_l = 0.0, worst_g = 0.0, worst_p = 0.0;
    float *start = malloc(sizeof(float) * n);
    memcpy(start, p[0], sizeof(float) * n);
    for (int s = 0; s < STEPS; s++) {
        nt_fill(&g, x, (size_t)B * 24, -2, 2);
        nt_regimes(&g, 3, B, r);
        for (int i = 0; i < B; i++)
            labels[i] = (uint8_t)nt_int(&g, 3);
        double loss[2];
        for (int k = 0; k < 2; k++)
            ck_assert_int_eq(cscalp_nn_train_step(t[k], p[k], x, r, labels, B, &hp, &loss[k]),
                             CSCALP_OK);
        const double el = fabs(loss[1] - loss[0]) / loss[0];
        worst_l = fmax(worst_l, el);
        ck_assert_msg(el <= REL_TOL, "step %d: loss blas %.9g cpu %.9g", s, loss[1], loss[0]);
        const float *g0 = cscalp_nn_trainer_grad(t[0]), *g1 = cscalp_nn_trainer_grad(t[1]);
        double gmax = 0.0;
        for (size_t i = 0; i < n; i++)
            gmax = fmax(gmax, fabs((double)g0[i]));
        for (size_t i = 0; i < n; i++) {
            const double e = fabs((double)g1[i] - (double)g0[i]) / gmax;
            worst_g = fmax(worst_g, e);
            ck_assert_msg(e <= REL_TOL, "step %d: grad[%zu] blas %.9g cpu %.9g", s, i,
                          (double)g1[i], (double)g0[i]);
        }
        if (optimizer == CSCALP_NN_SGD) {
            for (size_t i = 0; i < n; i++) {
                const double e = fabs((double)p[1][i] - (double)p[0][i]) /
                                 fmax(fabs((double)p[0][i]), (double)hp.learning_rate);
                worst_p = fmax(worst_p, e);
                ck_assert_msg(e <= REL_TOL, "step %d: param[%zu] blas %.9g cpu %.9g", s, i,
                              (double)p[1][i], (double)p[0][i]);
            }
        } else {
            double d2 = 0.0, m2 = 0.0;
            for (size_t i = 0; i < n; i++) {
                const double d = (double)p[1][i] - (double)p[0][i];
                const double m = (double)p[0][i] - (double)start[i];
                d2 += d * d;
                m2 += m * m;
            }
            const double e = sqrt(d2 / m2);
            worst_p = fmax(worst_p, e);
            ck_assert_msg(e <= REL_TOL, "step %d: |p_blas - p_cpu| / |p_cpu - p_start| = %.3g",
                          s, e);
        }
    }
    ck_assert_uint_eq(cscalp_nn_trainer_steps(t[0]), STEPS);
    ck_assert_uint_eq(cscalp_nn_trainer_steps(t[1]), STEPS);
    const char *name = optimizer == CSCALP_NN_ADAM ? "adam" : "sgd+momentum";
    char what[96];
    snprintf(what, sizeof what, "train step %s: loss rel err blas vs cpu", name);
    nt_note(what, worst_l);
    snprintf(what, sizeof what, "train step %s: grad err / max|grad| blas vs cpu", name);
    nt_note(what, worst_g);
    snprintf(what, sizeof what, "train step %s: param %s blas vs cpu", name,
             optimizer == CSCALP_NN_SGD ? "max rel err" : "normwise rel err of the distance trained");
    nt_note(what, worst_p);
    for (int k = 0; k < 2; k++) {
        cscalp_nn_trainer_destroy(t[k]);
        free(p[k]);
    }
    free(start);
}

START_TEST(train_step_adam_blas_vs_cpu) { train_parity(CSCALP_NN_ADAM); }
END_TEST
START_TEST(train_step_sgd_momentum_blas_vs_cpu) { train_parity(CSCALP_NN_SGD); }
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nn_backend");
    TCase *tc = tcase_create("parity");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, backend_table);
    tcase_add_test(tc, gemm_nn);
    tcase_add_test(tc, gemm_nt);
    tcase_add_test(tc, gemm_tn);
    tcase_add_test(tc, gemm_tt);
    tcase_add_test(tc, dense_layers_blas_vs_cpu);
    tcase_add_test(tc, train_step_adam_blas_vs_cpu);
    tcase_add_test(tc, train_step_sgd_momentum_blas_vs_cpu);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return nt_run(suite()); }
