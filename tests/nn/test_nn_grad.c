/* Forward values and gradients against the double reference (nn_ref.c),
 * layer by layer and for the whole network (docs/model.md, "Architecture",
 * "Parameter layout", "Loss and gradients").
 *
 * Gradients are checked by central differences of the double reference:
 * ∂L/∂θ_i ≈ (L(θ + h e_i) − L(θ − h e_i)) / 2h. In double, with h = 1e-5
 * and O(1) parameters, the truncation error (h² f'''/6 ≈ 1e-11) and the
 * rounding error (1e-16 · |L| / h ≈ 1e-11) are both four orders below the
 * float rounding of the library's analytic gradient (≈ 1e-7 relative), so
 * any difference beyond the tolerances below is the library's.
 *
 * ReLU is not differentiable at 0. The whole-network checks (1) draw inputs
 * until every hidden pre-activation of the reference is at least 1e-3 away
 * from 0 (a perturbation of 1e-5 moves a pre-activation by far less), and
 * (2) compare the reference's ReLU sign pattern at θ ± h e_i with the one at
 * θ: a parameter whose difference crosses a kink is skipped and counted, and
 * the test fails if more than 1% are skipped (with the margin, none are). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_util.h"

#define FD_H 1e-5

/* ===================================================================== layout */

START_TEST(layout_and_count_match_the_spec)
{
    static const int h1[] = {64, 64};
    static const int h2[] = {1, 1, 3, 17, 2, 9, 4, 5};
    static const int h3[] = {33};
    struct {
        cscalp_nn_arch a;
        size_t want; /* 0: only compare with the reference formula */
    } cases[] = {
        /* the default model (docs/model.md): 6 549 parameters */
        {nt_arch(24, 2, h1, 3, CSCALP_NN_RELU), 6549},
        {nt_arch(7, 0, NULL, 1, CSCALP_NN_RELU), 7 * 4 + 4 + 1},
        {nt_arch(5, 0, NULL, 16, CSCALP_NN_SILU), 64 * 5 + 64 + 256},
        {nt_arch(3, 8, h2, 4, CSCALP_NN_SILU), 0},
        {nt_arch(1, 1, h3, 16, CSCALP_NN_RELU), 33 * 2 + 64 * 33 + 64 + 256},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const cscalp_nn_arch *a = &cases[c].a;
        nnref_arch ra;
        nt_ref_arch(a, &ra);
        nnref_layout want;
        nnref_layout_of(&ra, &want);
        cscalp_nn_layout got;
        cscalp_nn_layout_of(a, &got);
        ck_assert_uint_eq(want.count, nnref_param_count(&ra));
        if (cases[c].want)
            ck_assert_uint_eq(cases[c].want, want.count);
        ck_assert_uint_eq(got.count, want.count);
        ck_assert_uint_eq(cscalp_nn_param_count(a), want.count);
        ck_assert_uint_eq(cscalp_nn_trunk_width(a), (uint32_t)nnref_trunk_width(&ra));
        for (int l = 0; l < ra.layers; l++) {
            ck_assert_uint_eq(got.w[l], want.w[l]);
            ck_assert_uint_eq(got.b[l], want.b[l]);
        }
        ck_assert_uint_eq(got.head_w, want.head_w);
        ck_assert_uint_eq(got.head_b, want.head_b);
        ck_assert_uint_eq(got.gate_regime_w, want.w_gr);
        for (size_t i = 0; i < want.count; i++)
            ck_assert_msg(cscalp_nn_is_weight(&got, a, i) == nnref_is_weight(&ra, i),
                          "case %zu: is_weight(%zu) = %d, spec says %d", c, i,
                          cscalp_nn_is_weight(&got, a, i), nnref_is_weight(&ra, i));
    }
}
END_TEST

/* ====================================================================== dense */

static const int dense_shapes[][3] = {
    /* batch, in, out */
    {1, 1, 1}, {1, 7, 3}, {5, 1, 4}, {3, 6, 1}, {8, 17, 33}, {17, 24, 16}, {2, 65, 5},
};
#define N_DENSE (sizeof dense_shapes / sizeof dense_shapes[0])

START_TEST(dense_forward_matches_reference)
{
    const cscalp_nn_backend *bes[2];
    const int nb = nt_backends(bes);
    double worst = 0.0;
    for (int k = 0; k < nb; k++)
        for (size_t s = 0; s < N_DENSE; s++) {
            const int B = dense_shapes[s][0], in = dense_shapes[s][1], out = dense_shapes[s][2];
            nt_rng g;
            nt_seed(&g, 100 + s);
            float *w = malloc(sizeof(float) * (size_t)(out * in));
            float *b = malloc(sizeof(float) * (size_t)out);
            float *x = malloc(sizeof(float) * (size_t)(B * in));
            float *y = malloc(sizeof(float) * (size_t)(B * out));
            nt_fill(&g, w, (size_t)(out * in), -1, 1);
            nt_fill(&g, b, (size_t)out, -1, 1);
            nt_fill(&g, x, (size_t)(B * in), -2, 2);
            for (int i = 0; i < B * out; i++)
                y[i] = NAN; /* the output is overwritten, never read */
            cscalp_nn_dense_forward(bes[k], B, in, out, w, b, x, y);
            for (int i = 0; i < B; i++)
                for (int j = 0; j < out; j++) {
                    double want = (double)b[j], mag = fabs((double)b[j]);
                    for (int p = 0; p < in; p++) {
                        const double t = (double)w[j * in + p] * (double)x[i * in + p];
                        want += t;
                        mag += fabs(t);
                    }
                    const double err = fabs((double)y[i * out + j] - want) / mag;
                    worst = fmax(worst, err);
                    ck_assert_msg(err <= 1e-5, "%s dense %dx%dx%d y[%d][%d] = %.9g, want %.9g",
                                  bes[k]->name, B, in, out, i, j, (double)y[i * out + j], want);
                }
            free(w);
            free(b);
            free(x);
            free(y);
        }
    nt_note("dense forward: max |y - ref| / sum|terms|", worst);
}
END_TEST

/* L = Σ dy ⊙ (x·Wᵀ + b) is linear in every one of w, b, x, so a central
 * difference is exact up to rounding for any step; h = 1e-3 keeps that
 * rounding (≈ 1e-16 |L| / h) negligible. Each gradient element is compared
 * relative to the sum of the absolute values of the products it adds up,
 * the scale of its float rounding. */
START_TEST(dense_backward_matches_finite_differences)
{
    const cscalp_nn_backend *bes[2];
    const int nb = nt_backends(bes);
    const double h = 1e-3;
    double worst = 0.0;
    for (int k = 0; k < nb; k++)
        for (size_t s = 0; s < N_DENSE; s++) {
            const int B = dense_shapes[s][0], in = dense_shapes[s][1], out = dense_shapes[s][2];
            const size_t nw = (size_t)(out * in), nx = (size_t)(B * in), ny = (size_t)(B * out);
            nt_rng g;
            nt_seed(&g, 200 + s);
            float *w = malloc(sizeof(float) * nw), *x = malloc(sizeof(float) * nx);
            float *dy = malloc(sizeof(float) * ny);
            float *dw = malloc(sizeof(float) * nw), *db = malloc(sizeof(float) * (size_t)out);
            float *dx = malloc(sizeof(float) * nx);
            float *dw2 = malloc(sizeof(float) * nw), *db2 = malloc(sizeof(float) * (size_t)out);
            nt_fill(&g, w, nw, -1, 1);
            nt_fill(&g, x, nx, -2, 2);
            nt_fill(&g, dy, ny, -1, 1);
            for (size_t i = 0; i < nw; i++)
                dw[i] = dw2[i] = NAN; /* overwritten, not accumulated */
            for (int j = 0; j < out; j++)
                db[j] = db2[j] = 1e30f;
            for (size_t i = 0; i < nx; i++)
                dx[i] = NAN;
            cscalp_nn_dense_backward(bes[k], B, in, out, w, x, dy, dw, db, dx);
            cscalp_nn_dense_backward(bes[k], B, in, out, w, x, dy, dw2, db2, NULL);
            nt_assert_same_bytes(dw, dw2, nw, "dw with and without dx");
            nt_assert_same_bytes(db, db2, (size_t)out, "db with and without dx");

            double *wd = malloc(sizeof(double) * nw), *xd = malloc(sizeof(double) * nx);
            double *bd = calloc((size_t)out, sizeof(double));
            double *yd = malloc(sizeof(double) * ny);
            nt_to_double(w, wd, nw);
            nt_to_double(x, xd, nx);
#define DENSE_L(out_)                                                            \
    do {                                                                         \
        nnref_dense(B, in, out, wd, bd, xd, yd);                                 \
        double l_ = 0.0;                                                         \
        for (size_t q_ = 0; q_ < ny; q_++)                                       \
            l_ += (double)dy[q_] * yd[q_];                                       \
        (out_) = l_;                                                             \
    } while (0)
#define DENSE_FD(arr_, idx_, fd_)                                                \
    do {                                                                         \
        const double keep_ = (arr_)[idx_];                                       \
        double lp_, lm_;                                                         \
        (arr_)[idx_] = keep_ + h;                                                \
        DENSE_L(lp_);                                                            \
        (arr_)[idx_] = keep_ - h;                                                \
        DENSE_L(lm_);                                                            \
        (arr_)[idx_] = keep_;                                                    \
        (fd_) = (lp_ - lm_) / (2 * h);                                           \
    } while (0)
            for (int j = 0; j < out; j++)
                for (int p = 0; p < in; p++) {
                    double fd, mag = 0.0;
                    DENSE_FD(wd, (size_t)(j * in + p), fd);
                    for (int i = 0; i < B; i++)
                        mag += fabs((double)dy[i * out + j] * (double)x[i * in + p]);
                    const double err = fabs((double)dw[j * in + p] - fd) / (mag + 1e-30);
                    worst = fmax(worst, err);
                    ck_assert_msg(err <= 1e-5, "%s %dx%dx%d dW[%d][%d] = %.9g, fd %.9g",
                                  bes[k]->name, B, in, out, j, p, (double)dw[j * in + p], fd);
                }
            for (int j = 0; j < out; j++) {
                double fd, mag = 0.0;
                DENSE_FD(bd, (size_t)j, fd);
                for (int i = 0; i < B; i++)
                    mag += fabs((double)dy[i * out + j]);
                const double err = fabs((double)db[j] - fd) / (mag + 1e-30);
                worst = fmax(worst, err);
                ck_assert_msg(err <= 1e-5, "%s %dx%dx%d db[%d] = %.9g, fd %.9g", bes[k]->name,
                              B, in, out, j, (double)db[j], fd);
            }
            for (int i = 0; i < B; i++)
                for (int p = 0; p < in; p++) {
                    double fd, mag = 0.0;
                    DENSE_FD(xd, (size_t)(i * in + p), fd);
                    for (int j = 0; j < out; j++)
                        mag += fabs((double)dy[i * out + j] * (double)w[j * in + p]);
                    const double err = fabs((double)dx[i * in + p] - fd) / (mag + 1e-30);
                    worst = fmax(worst, err);
                    ck_assert_msg(err <= 1e-5, "%s %dx%dx%d dX[%d][%d] = %.9g, fd %.9g",
                                  bes[k]->name, B, in, out, i, p, (double)dx[i * in + p], fd);
                }
#undef DENSE_FD
#undef DENSE_L
            free(w), free(x), free(dy), free(dw), free(db), free(dx), free(dw2), free(db2);
            free(wd), free(xd), free(bd), free(yd);
        }
    nt_note("dense backward: max |grad - fd| / sum|terms|", worst);
}
END_TEST

/* ================================================================ activations */

static void act_case(int act, double *worst_fwd, double *worst_bwd)
{
    enum { N = 400 };
    float z[N], a[N], da[N], dz[N];
    nt_rng g;
    nt_seed(&g, 300 + (uint64_t)act);
    for (int i = 0; i < N; i++) {
        double v = nt_range(&g, -8, 8);
        if (act == CSCALP_NN_RELU && fabs(v) < 1e-3)
            v = v < 0 ? -1e-3 : 1e-3; /* FD across ReLU's kink is meaningless */
        z[i] = (float)v;
        da[i] = (float)nt_range(&g, -2, 2);
    }
    if (act == CSCALP_NN_SILU) { /* 0, tiny and saturated arguments */
        const float special[] = {0.0f, 1e-4f, -1e-4f, 20.0f, -20.0f, 40.0f, -40.0f, 1.5f};
        memcpy(z, special, sizeof special);
    }
    cscalp_nn_act_forward(act, N, z, a);
    cscalp_nn_act_backward(act, N, z, da, dz);
    const int silu = act == CSCALP_NN_SILU;
    for (int i = 0; i < N; i++) {
        const double zi = (double)z[i];
        const double want = nnref_act(silu, zi);
        /* a few float ulps of |a|, or of 1e-7·|z| where SiLU's output is
         * tiny next to its input (z → −∞) */
        const double ef = fabs((double)a[i] - want) / (fabs(want) + 1e-7 * fabs(zi) + 1e-30);
        *worst_fwd = fmax(*worst_fwd, ef);
        ck_assert_msg(ef <= 1e-6, "act %d forward z = %.9g: got %.9g, want %.9g", act, zi,
                      (double)a[i], want);
        const double fd =
            (double)da[i] * (nnref_act(silu, zi + FD_H) - nnref_act(silu, zi - FD_H)) / (2 * FD_H);
        /* SiLU'(z) = σ(1 + z(1 − σ)); its float evaluation loses ≈ ulp·|z|. */
        const double eb = fabs((double)dz[i] - fd) / (fabs((double)da[i]) * (1.0 + fabs(zi)));
        *worst_bwd = fmax(*worst_bwd, eb);
        ck_assert_msg(eb <= 1e-6, "act %d backward z = %.9g: got %.9g, fd %.9g", act, zi,
                      (double)dz[i], fd);
    }
}

START_TEST(activations_match_reference_and_finite_differences)
{
    double wf = 0.0, wb = 0.0;
    act_case(CSCALP_NN_RELU, &wf, &wb);
    act_case(CSCALP_NN_SILU, &wf, &wb);
    nt_note("activation forward: max rel err", wf);
    nt_note("activation backward: max |dz - fd| / (|da| (1 + |z|))", wb);

    /* ReLU at exactly 0: the spec is silent; the derivative used is 0, the
     * convention of PyTorch's threshold_backward (relu'(0) = 0), which the
     * tests/torch fixtures rely on. */
    const float z0[2] = {0.0f, -0.0f}, da0[2] = {1.0f, 1.0f};
    float a0[2], dz0[2];
    cscalp_nn_act_forward(CSCALP_NN_RELU, 2, z0, a0);
    cscalp_nn_act_backward(CSCALP_NN_RELU, 2, z0, da0, dz0);
    ck_assert(a0[0] == 0.0f && a0[1] == 0.0f);
    ck_assert(dz0[0] == 0.0f && dz0[1] == 0.0f);
}
END_TEST

/* ======================================================================= MoE */

static const int moe_experts[] = {1, 2, 3, 4, 16};
#define N_MOE_E (sizeof moe_experts / sizeof moe_experts[0])
#define MOE_B 9

typedef struct moe_data {
    int E;
    float u[MOE_B * 4 * 16], r[MOE_B * 16], w_gr[16 * 16];
    uint8_t labels[MOE_B];
    int ilabels[MOE_B];
} moe_data;

static void moe_make(int E, uint64_t seed, moe_data *d)
{
    nt_rng g;
    nt_seed(&g, seed);
    d->E = E;
    nt_fill(&g, d->u, (size_t)(MOE_B * 4 * E), -3, 3);
    nt_fill(&g, d->w_gr, (size_t)(E * E), -0.7, 0.7);
    nt_regimes(&g, E, MOE_B, d->r); /* includes rows with exact zeros */
    for (int i = 0; i < MOE_B; i++) {
        d->labels[i] = (uint8_t)((i + nt_int(&g, 3)) % 3);
        d->ilabels[i] = d->labels[i];
    }
    d->labels[0] = 0, d->labels[1] = 1, d->labels[2] = 2; /* every class */
    d->ilabels[0] = 0, d->ilabels[1] = 1, d->ilabels[2] = 2;
}

START_TEST(moe_forward_matches_reference)
{
    double worst = 0.0;
    for (size_t c = 0; c < N_MOE_E; c++) {
        const int E = moe_experts[c];
        moe_data d;
        moe_make(E, 400 + c, &d);
        float probs[MOE_B * 3], gate[MOE_B * 16], expert[MOE_B * 16 * 3];
        cscalp_nn_moe_forward(MOE_B, E, d.u, d.r, d.w_gr, probs, gate, expert);
        double ud[4 * 16], rd[16], wd[16 * 16];
        nt_to_double(d.w_gr, wd, (size_t)(E * E));
        for (int i = 0; i < MOE_B; i++) {
            double p[3], pi[16], pe[16 * 3];
            nt_to_double(d.u + i * 4 * E, ud, (size_t)(4 * E));
            nt_to_double(d.r + i * E, rd, (size_t)E);
            nnref_moe(E, ud, rd, wd, p, pi, pe);
            double sum = 0.0;
            for (int k = 0; k < 3; k++) {
                worst = fmax(worst, fabs((double)probs[i * 3 + k] - p[k]));
                NT_NEAR(probs[i * 3 + k], p[k], 1e-6, "E=%d p[%d][%d]", E, i, k);
                sum += (double)probs[i * 3 + k];
            }
            NT_NEAR(sum, 1.0, 1e-6, "E=%d sum p[%d]", E, i);
            for (int e = 0; e < E; e++) {
                worst = fmax(worst, fabs((double)gate[i * E + e] - pi[e]));
                NT_NEAR(gate[i * E + e], pi[e], 1e-6, "E=%d gate[%d][%d]", E, i, e);
                for (int k = 0; k < 3; k++)
                    NT_NEAR(expert[(i * E + e) * 3 + k], pe[3 * e + k], 1e-6,
                            "E=%d expert[%d][%d][%d]", E, i, e, k);
            }
        }
    }
    nt_note("moe forward: max |p - ref|", worst);
}
END_TEST

/* The gate's log prior: with a one-hot posterior on regime e and nothing
 * learned (gate logits from u and W_gr zero), the other experts get
 * 1e-6 / (1 + (E−1)·1e-6) of the weight each (log max(0, 1e-6)). */
START_TEST(moe_log_prior_floors_zero_posteriors)
{
    const int E = 4;
    float u[16] = {0}, r[4] = {0, 0, 1, 0}, w_gr[16] = {0};
    float probs[3], gate[4], expert[12];
    for (int k = 0; k < 12; k++)
        u[k] = (float)(k % 5) * 0.3f;
    cscalp_nn_moe_forward(1, E, u, r, w_gr, probs, gate, expert);
    const double other = 1e-6 / (1.0 + 3e-6);
    for (int e = 0; e < E; e++) {
        if (e == 2)
            NT_NEAR(gate[e], 1.0 - 3 * other, 1.2e-7, "gate[%d] (the posterior's regime)", e);
        else
            NT_NEAR(gate[e], other, 1e-5 * other, "gate[%d] (a floored regime)", e);
    }
}
END_TEST

START_TEST(moe_loss_and_gradients_match_finite_differences)
{
    static const float cw_sets[][3] = {{1, 1, 1}, {0.5f, 2.0f, 1.25f}, {1.0f, 0.0f, 3.0f}};
    double worst_loss = 0.0, worst_du = 0.0, worst_dw = 0.0;
    for (size_t c = 0; c < N_MOE_E; c++)
        for (size_t w = 0; w < 3; w++) {
            const int E = moe_experts[c];
            moe_data d;
            moe_make(E, 500 + 7 * c + w, &d);
            const float *cw = cw_sets[w];
            float probs[MOE_B * 3], gate[MOE_B * 16], expert[MOE_B * 16 * 3];
            float du[MOE_B * 4 * 16], dw[16 * 16];
            for (int i = 0; i < MOE_B * 4 * E; i++)
                du[i] = NAN; /* overwritten */
            for (int i = 0; i < E * E; i++)
                dw[i] = NAN;
            cscalp_nn_moe_forward(MOE_B, E, d.u, d.r, d.w_gr, probs, gate, expert);
            const double loss = cscalp_nn_moe_loss(MOE_B, E, d.u, d.r, d.w_gr, gate, expert,
                                                   d.labels, w == 0 ? NULL : cw, du, dw);
            const double loss_nograd = cscalp_nn_moe_loss(
                MOE_B, E, d.u, d.r, d.w_gr, gate, expert, d.labels, w == 0 ? NULL : cw, NULL,
                NULL);
            ck_assert_msg(loss == loss_nograd, "loss with and without gradients");

            const int nu = MOE_B * 4 * E, nr = MOE_B * E, nw = E * E;
            double *ud = malloc(sizeof(double) * (size_t)nu);
            double *rd = malloc(sizeof(double) * (size_t)nr);
            double *wd = malloc(sizeof(double) * (size_t)nw);
            const double cwd[3] = {(double)cw[0], (double)cw[1], (double)cw[2]};
            nt_to_double(d.u, ud, (size_t)nu);
            nt_to_double(d.r, rd, (size_t)nr);
            nt_to_double(d.w_gr, wd, (size_t)nw);
            const double want = nnref_moe_loss(MOE_B, E, ud, rd, wd, d.ilabels, cwd);
            const double el = fabs(loss - want) / fabs(want);
            worst_loss = fmax(worst_loss, el);
            ck_assert_msg(el <= 1e-5, "E=%d weights %zu: loss %.9g, reference %.9g", E, w,
                          loss, want);

            /* Tolerance 1e-4 relative plus 2.5e-7 absolute. The absolute part
             * is two float ulps of 1: du = s·ρ·(p − [c = y]) with s, ρ ≤ 1,
             * and when p is within a few ulps of 1 the float difference
             * p − 1 is all rounding (likewise π − ρ in the gate part). */
            double *fdu = malloc(sizeof(double) * (size_t)nu);
            for (int i = 0; i < nu; i++) {
                const double keep = ud[i];
                ud[i] = keep + FD_H;
                const double lp = nnref_moe_loss(MOE_B, E, ud, rd, wd, d.ilabels, cwd);
                ud[i] = keep - FD_H;
                const double lm = nnref_moe_loss(MOE_B, E, ud, rd, wd, d.ilabels, cwd);
                ud[i] = keep;
                fdu[i] = (lp - lm) / (2 * FD_H);
            }
            for (int i = 0; i < nu; i++) {
                const double err = fabs((double)du[i] - fdu[i]) / (1e-4 * fabs(fdu[i]) + 2.5e-7);
                worst_du = fmax(worst_du, err);
                ck_assert_msg(err <= 1.0, "E=%d weights %zu: du[%d][%d] = %.9g, fd %.9g", E, w,
                              i / (4 * E), i % (4 * E), (double)du[i], fdu[i]);
            }
            for (int i = 0; i < nw; i++) {
                const double keep = wd[i];
                wd[i] = keep + FD_H;
                const double lp = nnref_moe_loss(MOE_B, E, ud, rd, wd, d.ilabels, cwd);
                wd[i] = keep - FD_H;
                const double lm = nnref_moe_loss(MOE_B, E, ud, rd, wd, d.ilabels, cwd);
                wd[i] = keep;
                const double fd = (lp - lm) / (2 * FD_H);
                const double err = fabs((double)dw[i] - fd) / (1e-4 * fabs(fd) + 2.5e-7);
                worst_dw = fmax(worst_dw, err);
                ck_assert_msg(err <= 1.0, "E=%d weights %zu: dW_gr[%d][%d] = %.9g, fd %.9g", E,
                              w, i / E, i % E, (double)dw[i], fd);
            }
            free(ud), free(rd), free(wd), free(fdu);
        }
    nt_note("moe loss: max rel err", worst_loss);
    nt_note("moe du: max |du - fd| / (1e-4 |fd| + 2.5e-7) (fails above 1)", worst_du);
    nt_note("moe dW_gr: max |dw - fd| / (1e-4 |fd| + 2.5e-7) (fails above 1)", worst_dw);
}
END_TEST

/* ============================================================ whole network */

typedef struct grad_case {
    int inputs, layers, hidden[3], experts, act;
    float cw[3];
    float l2;
} grad_case;

static const grad_case grad_cases[] = {
    {7, 0, {0}, 1, CSCALP_NN_RELU, {1, 1, 1}, 0.0f},
    {5, 0, {0}, 4, CSCALP_NN_SILU, {0.5f, 2.0f, 1.25f}, 0.01f},
    {5, 1, {9}, 2, CSCALP_NN_SILU, {0.5f, 2.0f, 1.25f}, 0.01f},
    {4, 1, {6}, 1, CSCALP_NN_RELU, {1, 1, 1}, 0.05f},
    {6, 1, {10}, 4, CSCALP_NN_RELU, {1.0f, 0.0f, 2.0f}, 0.0f},
    {6, 3, {8, 5, 7}, 4, CSCALP_NN_RELU, {2.0f, 1.0f, 0.5f}, 0.003f},
    {4, 3, {6, 3, 5}, 2, CSCALP_NN_SILU, {1, 1, 1}, 0.0f},
    {3, 3, {5, 1, 4}, 4, CSCALP_NN_SILU, {0.7f, 1.3f, 1.0f}, 0.02f},
    {5, 3, {7, 6, 5}, 1, CSCALP_NN_RELU, {1, 1, 1}, 0.1f},
};
#define N_GRAD (sizeof grad_cases / sizeof grad_cases[0])
#define GB 7

START_TEST(network_gradient_matches_finite_differences)
{
    const grad_case *gc = &grad_cases[_i];
    const cscalp_nn_arch a =
        nt_arch(gc->inputs, gc->layers, gc->hidden, gc->experts, gc->act);
    nnref_arch ra;
    nt_ref_arch(&a, &ra);
    const size_t n = cscalp_nn_param_count(&a);
    const int D = gc->inputs, E = gc->experts;
    float *params = malloc(sizeof(float) * n);
    nt_random_params(&a, 1000 + (uint64_t)_i, 0.3, params);
    double *pd = malloc(sizeof(double) * n);
    nt_to_double(params, pd, n);

    nt_rng g;
    nt_seed(&g, 2000 + (uint64_t)_i);
    float x[GB * 8], r[GB * 4];
    double xd[GB * 8], rd[GB * 4];
    uint8_t labels[GB];
    int il[GB];
    for (int i = 0; i < GB; i++)
        il[i] = i < 3 ? i : nt_int(&g, 3), labels[i] = (uint8_t)il[i];
    nt_regimes(&g, E, GB, r);
    nt_to_double(r, rd, (size_t)(GB * E));
    /* inputs away from every ReLU kink (see the file comment) */
    double kink = 0.0;
    double pref[GB * 3];
    for (int attempt = 0; attempt < 1000; attempt++) {
        nt_fill(&g, x, (size_t)(GB * D), -1.5, 1.5);
        nt_to_double(x, xd, (size_t)(GB * D));
        nnref_forward(&ra, pd, GB, xd, rd, pref, NULL, &kink);
        if (gc->act != CSCALP_NN_RELU || kink >= 1e-3)
            break;
    }
    ck_assert_msg(gc->act != CSCALP_NN_RELU || kink >= 1e-3, "no input away from the kinks");

    const double cwd[3] = {(double)gc->cw[0], (double)gc->cw[1], (double)gc->cw[2]};
    const double want_data = nnref_loss(&ra, pd, GB, xd, rd, il, cwd, 0.0);

    /* central differences of the full objective, data + L2 */
    double *fd = malloc(sizeof(double) * n);
    size_t npat = 0;
    for (int l = 0; l < ra.layers; l++)
        npat += (size_t)GB * (size_t)ra.hidden[l];
    unsigned char *pat0 = malloc(npat + 1), *pat1 = malloc(npat + 1);
    nnref_relu_pattern(&ra, pd, GB, xd, pat0);
    int *skip = calloc(n, sizeof(int));
    size_t skipped = 0;
    double scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double keep = pd[i];
        pd[i] = keep + FD_H;
        const double lp = nnref_loss(&ra, pd, GB, xd, rd, il, cwd, (double)gc->l2);
        if (gc->act == CSCALP_NN_RELU) {
            nnref_relu_pattern(&ra, pd, GB, xd, pat1);
            skip[i] |= memcmp(pat0, pat1, npat) != 0;
        }
        pd[i] = keep - FD_H;
        const double lm = nnref_loss(&ra, pd, GB, xd, rd, il, cwd, (double)gc->l2);
        if (gc->act == CSCALP_NN_RELU) {
            nnref_relu_pattern(&ra, pd, GB, xd, pat1);
            skip[i] |= memcmp(pat0, pat1, npat) != 0;
        }
        pd[i] = keep;
        fd[i] = (lp - lm) / (2 * FD_H);
        skipped += (size_t)skip[i];
        if (!skip[i])
            scale = fmax(scale, fabs(fd[i]));
    }
    ck_assert_msg(skipped * 100 <= n, "case %d: %zu of %zu parameters cross a ReLU kink", _i,
                  skipped, n);

    const cscalp_nn_backend *bes[2];
    const int nb = nt_backends(bes);
    double worst_g = 0.0, worst_p = 0.0, worst_l = 0.0;
    for (int k = 0; k < nb; k++) {
        cscalp_allocator mem = nt_plain_allocator();
        cscalp_nn_trainer *t = NULL;
        ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &a, GB, bes[k], &t), CSCALP_OK);
        cscalp_nn_hparams hp;
        cscalp_nn_hparams_default(&hp);
        memcpy(hp.class_weights, gc->cw, sizeof hp.class_weights);
        hp.l2 = gc->l2;

        float probs[GB * 3];
        ck_assert_int_eq(cscalp_nn_forward(t, params, x, r, GB, probs), CSCALP_OK);
        for (int i = 0; i < GB * 3; i++) {
            worst_p = fmax(worst_p, fabs((double)probs[i] - pref[i]));
            NT_NEAR(probs[i], pref[i], 1e-5, "case %d %s: p[%d][%d]", _i, bes[k]->name, i / 3,
                    i % 3);
        }
        double loss = (double)NAN;
        ck_assert_int_eq(cscalp_nn_gradient(t, params, x, r, labels, GB, &hp, &loss),
                         CSCALP_OK);
        worst_l = fmax(worst_l, fabs(loss - want_data) / want_data);
        NT_NEAR(loss, want_data, 1e-5 * want_data, "case %d %s: data loss", _i, bes[k]->name);

        /* float gradients: relative error, floored at 1e-2 of the largest
         * element (elements near 0 carry the absolute rounding of the sums
         * that produce them, of the size of the largest terms) */
        const float *grad = cscalp_nn_trainer_grad(t);
        for (size_t i = 0; i < n; i++) {
            if (skip[i])
                continue;
            const double err = fabs((double)grad[i] - fd[i]) / (fabs(fd[i]) + 1e-2 * scale);
            worst_g = fmax(worst_g, err);
            ck_assert_msg(err <= 1e-4,
                          "case %d %s: grad[%zu] = %.9g, finite difference %.9g (rel %.3g)", _i,
                          bes[k]->name, i, (double)grad[i], fd[i], err);
        }
        cscalp_nn_trainer_destroy(t);
    }
    char what[96];
    snprintf(what, sizeof what, "case %d: max |p - ref|", _i);
    nt_note(what, worst_p);
    snprintf(what, sizeof what, "case %d: data loss rel err", _i);
    nt_note(what, worst_l);
    snprintf(what, sizeof what, "case %d: grad |g - fd| / (|fd| + 1e-2 max|fd|)", _i);
    nt_note(what, worst_g);
    snprintf(what, sizeof what, "case %d: parameters skipped at kinks (of %zu)", _i, n);
    nt_note(what, (double)skipped);
    free(params), free(pd), free(fd), free(pat0), free(pat1), free(skip);
}
END_TEST

/* The L2 term is on weights only: with every bias and weight equal to the
 * same value, the gradient difference between λ > 0 and λ = 0 is λ·θ at the
 * weights and exactly 0 at the biases. */
START_TEST(l2_applies_to_weights_only)
{
    static const int hid[] = {5, 4};
    const cscalp_nn_arch a = nt_arch(3, 2, hid, 3, CSCALP_NN_SILU);
    nnref_arch ra;
    nt_ref_arch(&a, &ra);
    const size_t n = cscalp_nn_param_count(&a);
    float *params = malloc(sizeof(float) * n), *g0 = malloc(sizeof(float) * n);
    nt_random_params(&a, 77, 0.5, params);
    nt_rng g;
    nt_seed(&g, 78);
    float x[4 * 3], r[4 * 3];
    uint8_t labels[4] = {0, 1, 2, 1};
    nt_fill(&g, x, 12, -1, 1);
    nt_regimes(&g, 3, 4, r);
    cscalp_allocator mem = nt_plain_allocator();
    cscalp_nn_trainer *t = NULL;
    ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &a, 4, cscalp_nn_backend_get(0), &t),
                     CSCALP_OK);
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    double l0, l1;
    ck_assert_int_eq(cscalp_nn_gradient(t, params, x, r, labels, 4, &hp, &l0), CSCALP_OK);
    memcpy(g0, cscalp_nn_trainer_grad(t), sizeof(float) * n);
    hp.l2 = 0.25f;
    ck_assert_int_eq(cscalp_nn_gradient(t, params, x, r, labels, 4, &hp, &l1), CSCALP_OK);
    ck_assert_msg(l0 == l1, "the reported loss excludes the L2 term");
    const float *g1 = cscalp_nn_trainer_grad(t);
    for (size_t i = 0; i < n; i++) {
        const double want = nnref_is_weight(&ra, i) ? 0.25 * (double)params[i] : 0.0;
        NT_NEAR((double)g1[i] - (double)g0[i], want, 1e-6, "L2 part of grad[%zu]", i);
    }
    cscalp_nn_trainer_destroy(t);
    free(params), free(g0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nn_grad");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, layout_and_count_match_the_spec);
    tcase_add_test(tc, dense_forward_matches_reference);
    tcase_add_test(tc, dense_backward_matches_finite_differences);
    tcase_add_test(tc, activations_match_reference_and_finite_differences);
    tcase_add_test(tc, moe_forward_matches_reference);
    tcase_add_test(tc, moe_log_prior_floors_zero_posteriors);
    tcase_add_test(tc, moe_loss_and_gradients_match_finite_differences);
    tcase_add_loop_test(tc, network_gradient_matches_finite_differences, 0, (int)N_GRAD);
    tcase_add_test(tc, l2_applies_to_weights_only);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return nt_run(suite()); }
