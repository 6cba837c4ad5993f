/* Optimiser arithmetic (docs/model.md, "Optimisers"): Adam (bias-corrected,
 * PyTorch's form), SGD with and without momentum, global-norm clipping
 * after L2, and the refusal of non-finite steps.
 *
 * Every step is checked against a double re-implementation applied to the
 * library's own parameters before the step and to the gradient the step
 * used. That gradient comes from a second trainer on the same backend
 * (cscalp_nn_gradient at the same parameters and data: the same code on the
 * same numbers, so the same bytes; the test checks that too when nothing
 * clips). The moments are carried in double across steps.
 *
 * Tolerance per parameter: |p_lib − p_ref| ≤ ulp(p_ref) + 1e-5·U, where U
 * is the update computed with the first moment (or momentum buffer)
 * replaced by the same recursion over |g|: m_abs ← β1 m_abs + (1−β1)|g|.
 * The first term is the final float rounding of the parameter; the second
 * the float evaluation of the update, whose error is relative to the sizes
 * of the terms summed into m, not to m itself (m can cancel: 0.9·(−0.0043)
 * + 0.1·0.0389 = 1.3e-5 carries a float error of 2e-5 of itself). A wrong
 * β, a missing bias correction or a misplaced ε changes the update by far
 * more than 1e-5 of U. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_util.h"

enum { B = 8, MAXP = 4096 };

typedef struct fixture {
    cscalp_nn_arch arch;
    size_t n;
    float x[B * 6], r[B * 3];
    uint8_t labels[B];
    nt_rng g;
} fixture;

static void fixture_init(fixture *f, int act, uint64_t seed)
{
    static const int hid[] = {9, 7};
    f->arch = nt_arch(6, 2, hid, 3, act);
    f->n = cscalp_nn_param_count(&f->arch);
    ck_assert_uint_le(f->n, MAXP);
    nt_seed(&f->g, seed);
}

/* New batch for the next step. */
static void fixture_batch(fixture *f)
{
    nt_fill(&f->g, f->x, B * 6, -2, 2);
    nt_regimes(&f->g, 3, B, f->r);
    for (int i = 0; i < B; i++)
        f->labels[i] = (uint8_t)nt_int(&f->g, 3);
}

static cscalp_nn_trainer *trainer(const fixture *f)
{
    cscalp_allocator mem = nt_plain_allocator();
    cscalp_nn_trainer *t = NULL;
    ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &f->arch, B,
                                              cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU), &t),
                     CSCALP_OK);
    return t;
}

static double ulp(double v)
{
    const float f = (float)fabs(v);
    return (double)nextafterf(f, INFINITY) - (double)f;
}

/* Compares params after the step with before − update, element-wise;
 * scale is U above (NULL: |update|). */
static void check_update(const float *before, const float *after, const double *update,
                         const double *scale, size_t n, const char *what, int step,
                         double *worst)
{
    for (size_t i = 0; i < n; i++) {
        const double want = (double)before[i] - update[i];
        const double tol = ulp(want) + 1e-5 * (scale ? scale[i] : fabs(update[i]));
        const double err = fabs((double)after[i] - want);
        *worst = fmax(*worst, err / tol);
        ck_assert_msg(err <= tol,
                      "%s step %d: param[%zu] = %.9g, want %.9g (before %.9g, update %.6g)",
                      what, step, i, (double)after[i], want, (double)before[i], update[i]);
    }
}

/* The gradient the next step of `subject` will use (after L2, before
 * clipping): from the twin trainer. Returns its squared norm. */
static double twin_gradient(cscalp_nn_trainer *twin, const fixture *f, const float *params,
                            const cscalp_nn_hparams *hp, double *g)
{
    ck_assert_int_eq(cscalp_nn_gradient(twin, params, f->x, f->r, f->labels, B, hp, NULL),
                     CSCALP_OK);
    const float *gf = cscalp_nn_trainer_grad(twin);
    double n2 = 0.0;
    for (size_t i = 0; i < f->n; i++) {
        g[i] = (double)gf[i];
        n2 += g[i] * g[i];
    }
    return n2;
}

/* PyTorch's clip_grad_norm_: multiply by max / (‖g‖ + 1e-6) only when that
 * is below 1. */
static double clip_coef(const cscalp_nn_hparams *hp, double norm2)
{
    if (!(hp->max_grad_norm > 0.0f))
        return 1.0;
    const double c = (double)hp->max_grad_norm / (sqrt(norm2) + 1e-6);
    return c < 1.0 ? c : 1.0;
}

/* ------------------------------------------------------------------ Adam */

/* With clip set, each step's limit is 0.6 or 1.5 times that step's gradient
 * norm, alternately, so that both branches run whatever the data. */
static float clip_limit(int step, double norm2)
{
    return (float)((step % 2 ? 1.5 : 0.6) * sqrt(norm2));
}

static void run_adam(const cscalp_nn_hparams *hp_in, int act, int steps, int reset_at,
                     int clip, const char *what)
{
    cscalp_nn_hparams hpv = *hp_in;
    cscalp_nn_hparams *hp = &hpv;
    fixture f;
    fixture_init(&f, act, 11);
    cscalp_nn_trainer *t = trainer(&f), *twin = trainer(&f);
    float p[MAXP], before[MAXP];
    double g[MAXP], m[MAXP], v[MAXP], mabs[MAXP], upd[MAXP], mag[MAXP];
    nt_random_params(&f.arch, 5, 0.2, p);
    memset(m, 0, sizeof m);
    memset(v, 0, sizeof v);
    memset(mabs, 0, sizeof mabs);
    const double b1 = (double)hp->beta1, b2 = (double)hp->beta2, eps = (double)hp->epsilon,
                 lr = (double)hp->learning_rate;
    int tstep = 0, clipped = 0;
    double worst = 0.0;
    for (int s = 0; s < steps; s++) {
        if (s == reset_at) {
            cscalp_nn_trainer_reset(t);
            ck_assert_uint_eq(cscalp_nn_trainer_steps(t), 0);
            memset(m, 0, sizeof m);
            memset(v, 0, sizeof v);
            memset(mabs, 0, sizeof mabs);
            tstep = 0;
        }
        fixture_batch(&f);
        memcpy(before, p, sizeof(float) * f.n);
        const double norm2 = twin_gradient(twin, &f, p, hp, g);
        if (clip)
            hp->max_grad_norm = clip_limit(s, norm2);
        const double coef = clip_coef(hp, norm2);
        clipped += coef < 1.0;
        tstep++;
        const double bc1 = 1.0 - pow(b1, tstep), bc2 = 1.0 - pow(b2, tstep);
        for (size_t i = 0; i < f.n; i++) {
            const double gi = g[i] * coef;
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            mabs[i] = b1 * mabs[i] + (1.0 - b1) * fabs(gi);
            const double denom = sqrt(v[i]) / sqrt(bc2) + eps;
            upd[i] = (lr / bc1) * m[i] / denom;
            mag[i] = (lr / bc1) * mabs[i] / denom;
        }
        double loss;
        ck_assert_int_eq(cscalp_nn_train_step(t, p, f.x, f.r, f.labels, B, hp, &loss),
                         CSCALP_OK);
        ck_assert_uint_eq(cscalp_nn_trainer_steps(t), (uint64_t)tstep);
        if (coef == 1.0)
            nt_assert_same_bytes(cscalp_nn_trainer_grad(t), cscalp_nn_trainer_grad(twin), f.n,
                                 "the step's gradient and the twin's");
        check_update(before, p, upd, mag, f.n, what, s, &worst);
    }
    if (clip)
        ck_assert_msg(clipped == steps / 2, "%s: %d of %d steps clipped", what, clipped, steps);
    char note[96];
    snprintf(note, sizeof note, "%s: max |p - ref| / tol", what);
    nt_note(note, worst);
    cscalp_nn_trainer_destroy(t);
    cscalp_nn_trainer_destroy(twin);
}

START_TEST(adam_default_hparams)
{
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    /* the documented defaults */
    ck_assert(hp.optimizer == CSCALP_NN_ADAM);
    ck_assert(hp.learning_rate == 1e-3f && hp.beta1 == 0.9f && hp.beta2 == 0.999f);
    ck_assert(hp.epsilon == 1e-8f && hp.l2 == 0.0f && hp.max_grad_norm == 0.0f);
    ck_assert(hp.class_weights[0] == 1.0f && hp.class_weights[1] == 1.0f &&
              hp.class_weights[2] == 1.0f);
    run_adam(&hp, CSCALP_NN_RELU, 6, -1, 0, "adam default");
}
END_TEST

START_TEST(adam_custom_hparams_l2_and_reset)
{
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    hp.learning_rate = 0.01f;
    hp.beta1 = 0.8f;
    hp.beta2 = 0.95f;
    hp.epsilon = 1e-3f; /* large enough to matter next to √v̂ */
    hp.l2 = 0.01f;
    hp.class_weights[1] = 2.0f;
    run_adam(&hp, CSCALP_NN_SILU, 8, 5, 0, "adam custom + reset");
}
END_TEST

START_TEST(adam_with_clipping)
{
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    hp.learning_rate = 0.02f;
    hp.epsilon = 1e-2f; /* Adam is scale-free but for ε: make clipping show */
    hp.l2 = 0.05f;
    run_adam(&hp, CSCALP_NN_RELU, 8, -1, 1, "adam clipped");
}
END_TEST

/* ------------------------------------------------------------------- SGD */

static void run_sgd(float momentum, int clip, int steps, int reset_at, const char *what)
{
    fixture f;
    fixture_init(&f, CSCALP_NN_SILU, 12);
    cscalp_nn_trainer *t = trainer(&f), *twin = trainer(&f);
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    hp.optimizer = CSCALP_NN_SGD;
    hp.learning_rate = 0.1f;
    hp.momentum = momentum;
    hp.l2 = 0.02f;
    float p[MAXP], before[MAXP];
    double g[MAXP], buf[MAXP], babs[MAXP], upd[MAXP], mag[MAXP];
    nt_random_params(&f.arch, 6, 0.2, p);
    const double lr = (double)hp.learning_rate, mu = (double)hp.momentum;
    int first = 1, clipped = 0;
    double worst = 0.0;
    for (int s = 0; s < steps; s++) {
        if (s == reset_at) {
            cscalp_nn_trainer_reset(t);
            first = 1;
        }
        fixture_batch(&f);
        memcpy(before, p, sizeof(float) * f.n);
        const double norm2 = twin_gradient(twin, &f, p, &hp, g);
        if (clip)
            hp.max_grad_norm = clip_limit(s, norm2);
        const double coef = clip_coef(&hp, norm2);
        clipped += coef < 1.0;
        for (size_t i = 0; i < f.n; i++) {
            const double gi = g[i] * coef;
            buf[i] = (first || mu == 0.0) ? gi : mu * buf[i] + gi;
            babs[i] = (first || mu == 0.0) ? fabs(gi) : mu * babs[i] + fabs(gi);
            upd[i] = lr * buf[i];
            mag[i] = lr * babs[i];
        }
        first = 0;
        ck_assert_int_eq(cscalp_nn_train_step(t, p, f.x, f.r, f.labels, B, &hp, NULL),
                         CSCALP_OK);
        check_update(before, p, upd, mag, f.n, what, s, &worst);
    }
    if (clip)
        ck_assert_msg(clipped == steps / 2, "%s: %d of %d steps clipped", what, clipped, steps);
    char note[96];
    snprintf(note, sizeof note, "%s: max |p - ref| / tol", what);
    nt_note(note, worst);
    cscalp_nn_trainer_destroy(t);
    cscalp_nn_trainer_destroy(twin);
}

START_TEST(sgd_plain) { run_sgd(0.0f, 0, 5, -1, "sgd"); }
END_TEST
START_TEST(sgd_momentum_and_reset) { run_sgd(0.9f, 0, 8, 4, "sgd momentum + reset"); }
END_TEST
START_TEST(sgd_momentum_clipped) { run_sgd(0.5f, 1, 10, -1, "sgd momentum clipped"); }
END_TEST

/* ------------------------------------------------------------- clipping */

/* One plain-SGD step with lr = 1 shows the applied gradient directly.
 * Clipping uses the norm of the gradient with the L2 term (docs/model.md:
 * "applied after L2"); λ is large here so that the norm without it would
 * give a visibly different step. A limit above the norm leaves the step
 * byte-identical to an unclipped one. */
START_TEST(clipping_scales_only_when_it_shrinks)
{
    fixture f;
    fixture_init(&f, CSCALP_NN_RELU, 13);
    fixture_batch(&f);
    cscalp_nn_trainer *t = trainer(&f), *twin = trainer(&f);
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    hp.optimizer = CSCALP_NN_SGD;
    hp.learning_rate = 1.0f;
    hp.l2 = 0.5f;
    float p0[MAXP], p[MAXP], p_free[MAXP];
    double g[MAXP], upd[MAXP];
    nt_random_params(&f.arch, 8, 0.3, p0);
    const double norm2 = twin_gradient(twin, &f, p0, &hp, g);
    const double norm = sqrt(norm2);

    /* the L2 part is a large share of the norm */
    cscalp_nn_hparams no_l2 = hp;
    no_l2.l2 = 0.0f;
    double g_data[MAXP];
    const double norm_data = sqrt(twin_gradient(twin, &f, p0, &no_l2, g_data));
    ck_assert_msg(fabs(norm - norm_data) > 0.05 * norm, "norms %g and %g", norm, norm_data);

    /* unclipped reference step */
    memcpy(p_free, p0, sizeof(float) * f.n);
    ck_assert_int_eq(cscalp_nn_train_step(t, p_free, f.x, f.r, f.labels, B, &hp, NULL),
                     CSCALP_OK);

    static const double factors[] = {0.25, 0.7, 1.01, 2.0, 1e6};
    for (size_t k = 0; k < sizeof factors / sizeof factors[0]; k++) {
        cscalp_nn_hparams h2 = hp;
        h2.max_grad_norm = (float)(factors[k] * norm);
        memcpy(p, p0, sizeof(float) * f.n);
        ck_assert_int_eq(cscalp_nn_train_step(t, p, f.x, f.r, f.labels, B, &h2, NULL),
                         CSCALP_OK);
        if (factors[k] > 1.0) {
            nt_assert_same_bytes(p, p_free, f.n, "a step whose norm is under the limit");
            continue;
        }
        const double coef = (double)h2.max_grad_norm / (norm + 1e-6);
        for (size_t i = 0; i < f.n; i++)
            upd[i] = coef * g[i];
        double worst = 0.0;
        check_update(p0, p, upd, NULL, f.n, "clipped sgd step", (int)k, &worst);
        /* the norm of what was applied is the limit */
        double applied2 = 0.0;
        for (size_t i = 0; i < f.n; i++) {
            const double d = (double)p0[i] - (double)p[i];
            applied2 += d * d;
        }
        NT_NEAR(sqrt(applied2), (double)h2.max_grad_norm, 1e-4 * (double)h2.max_grad_norm,
                "norm of the clipped step (factor %g)", factors[k]);
    }
    cscalp_nn_trainer_destroy(t);
    cscalp_nn_trainer_destroy(twin);
}
END_TEST

/* ---------------------------------------------------------- non-finite */

typedef enum bad_kind {
    BAD_X_NAN,
    BAD_X_INF,
    BAD_REGIME_NAN,
    BAD_PARAM_NAN_HEAD,
    BAD_PARAM_INF_HEAD,
    BAD_PARAM_HUGE, /* finite parameters whose logits overflow */
    BAD_PARAM_NAN_GATE,
    BAD_PARAM_NAN_TRUNK, /* W_1; caught through the L2 gradient λ·NaN (see
                            test_nn_relu_nan.c for the ReLU case without L2) */
    BAD_KINDS
} bad_kind;

static const char *const bad_names[] = {"NaN input", "+Inf input", "NaN regime",
                                        "NaN head weight", "-Inf head weight",
                                        "3e38 head weight", "NaN W_gr", "NaN W_1"};

/* `subject` and `twin` train on the same batches; before good step number
 * bad_at, subject is given a bad one. It must return CSCALP_ENONFINITE,
 * leave its parameter array and step count untouched, and (checked by the
 * later steps) its optimiser state: from then on both must produce
 * byte-identical parameters. */
static void refuse_case(int optimizer, int act, bad_kind kind, int bad_at)
{
    fixture f;
    fixture_init(&f, act, 20 + (uint64_t)kind);
    cscalp_nn_trainer *subject = trainer(&f), *twin = trainer(&f);
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    hp.optimizer = optimizer;
    hp.learning_rate = optimizer == CSCALP_NN_ADAM ? 0.01f : 0.05f;
    hp.momentum = 0.9f;
    hp.l2 = 1e-3f;
    float p[MAXP], q[MAXP], bad[MAXP], bad_copy[MAXP];
    nt_random_params(&f.arch, 9, 0.2, p);
    memcpy(q, p, sizeof(float) * f.n);
    cscalp_nn_layout lay;
    cscalp_nn_layout_of(&f.arch, &lay);
    for (int s = 0; s < 5; s++) {
        fixture_batch(&f);
        if (s == bad_at) {
            float x[B * 6], r[B * 3];
            memcpy(x, f.x, sizeof x);
            memcpy(r, f.r, sizeof r);
            memcpy(bad, p, sizeof(float) * f.n);
            switch (kind) {
            case BAD_X_NAN:
                x[3 * 6 + 2] = NAN;
                break;
            case BAD_X_INF:
                x[5 * 6 + 4] = INFINITY;
                break;
            case BAD_REGIME_NAN:
                r[2 * 3 + 1] = NAN;
                break;
            case BAD_PARAM_NAN_HEAD:
                bad[lay.head_w + 5] = NAN;
                break;
            case BAD_PARAM_INF_HEAD:
                bad[lay.head_w + 2] = -INFINITY;
                break;
            case BAD_PARAM_HUGE:
                for (size_t i = lay.head_w; i < lay.head_b; i++)
                    bad[i] = 3e38f;
                break;
            case BAD_PARAM_NAN_GATE:
                bad[lay.gate_regime_w + 4] = NAN;
                break;
            case BAD_PARAM_NAN_TRUNK:
                bad[lay.w[0] + 3] = NAN;
                break;
            default:
                break;
            }
            memcpy(bad_copy, bad, sizeof(float) * f.n);
            const uint64_t steps = cscalp_nn_trainer_steps(subject);
            double loss = 0.0;
            const int rc = cscalp_nn_train_step(subject, bad, x, r, f.labels, B, &hp, &loss);
            ck_assert_msg(rc == CSCALP_ENONFINITE, "%s, %s, bad step %d: rc %d", bad_names[kind],
                          optimizer == CSCALP_NN_ADAM ? "adam" : "sgd", bad_at, rc);
            ck_assert_msg(memcmp(bad, bad_copy, sizeof(float) * f.n) == 0,
                          "%s: the refused step changed the parameters", bad_names[kind]);
            ck_assert_uint_eq(cscalp_nn_trainer_steps(subject), steps);
            if (kind < BAD_PARAM_NAN_HEAD) {
                /* a bad batch with the real parameters must not touch them */
                float keep[MAXP];
                memcpy(keep, p, sizeof(float) * f.n);
                ck_assert_int_eq(cscalp_nn_train_step(subject, p, x, r, f.labels, B, &hp, NULL),
                                 CSCALP_ENONFINITE);
                ck_assert_msg(memcmp(p, keep, sizeof(float) * f.n) == 0,
                              "%s: refused step changed params", bad_names[kind]);
            }
        }
        ck_assert_int_eq(cscalp_nn_train_step(subject, p, f.x, f.r, f.labels, B, &hp, NULL),
                         CSCALP_OK);
        ck_assert_int_eq(cscalp_nn_train_step(twin, q, f.x, f.r, f.labels, B, &hp, NULL),
                         CSCALP_OK);
        char what[96];
        snprintf(what, sizeof what, "%s at step %d, after good step %d", bad_names[kind],
                 bad_at, s);
        nt_assert_same_bytes(p, q, f.n, what);
        ck_assert_uint_eq(cscalp_nn_trainer_steps(subject), cscalp_nn_trainer_steps(twin));
    }
    cscalp_nn_trainer_destroy(subject);
    cscalp_nn_trainer_destroy(twin);
}

START_TEST(non_finite_step_is_refused_adam)
{
    for (int k = 0; k < BAD_KINDS; k++)
        for (int at = 0; at < 3; at += 2) {
            refuse_case(CSCALP_NN_ADAM, CSCALP_NN_SILU, (bad_kind)k, at);
            refuse_case(CSCALP_NN_ADAM, CSCALP_NN_RELU, (bad_kind)k, at);
        }
}
END_TEST

START_TEST(non_finite_step_is_refused_sgd_momentum)
{
    for (int k = 0; k < BAD_KINDS; k++)
        for (int at = 0; at < 3; at += 2) {
            refuse_case(CSCALP_NN_SGD, CSCALP_NN_SILU, (bad_kind)k, at);
            refuse_case(CSCALP_NN_SGD, CSCALP_NN_RELU, (bad_kind)k, at);
        }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nn_optim");
    TCase *tc = tcase_create("optim");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, adam_default_hparams);
    tcase_add_test(tc, adam_custom_hparams_l2_and_reset);
    tcase_add_test(tc, adam_with_clipping);
    tcase_add_test(tc, sgd_plain);
    tcase_add_test(tc, sgd_momentum_and_reset);
    tcase_add_test(tc, sgd_momentum_clipped);
    tcase_add_test(tc, clipping_scales_only_when_it_shrinks);
    tcase_add_test(tc, non_finite_step_is_refused_adam);
    tcase_add_test(tc, non_finite_step_is_refused_sgd_momentum);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return nt_run(suite()); }
