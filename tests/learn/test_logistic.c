/* The fallback model (src/learn/logistic.h, docs/learning.md "Fallback
 * model"):
 * - one update's step equals −η × the gradient of the per-sample loss
 *   (weighted cross-entropy + (λ/2)‖W‖²), by central finite differences;
 * - it learns a linearly separable 3-class problem (prequential accuracy
 *   above 0.95);
 * - it matches an independent float64 implementation written here (log-
 *   sum-exp softmax, the decay form of L2) to 1e-12 over a fixed stream at
 *   D = 768;
 * - non-finite inputs or results and bad labels are refused with the model
 *   unchanged and counted; predictions on them are errors (NaN out);
 * - save/load continues bit-identically, and damaged sections are refused
 *   with the model unchanged; runs are deterministic;
 * - argument ranges and allocation failure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "learn/logistic.h"
#include "test_util.h"
#include "util/alloc.h"

static cscalp_allocator plain(void)
{
    cscalp_allocator a;
    cscalp_mem_init(&a, NULL);
    return a;
}

static cscalp_logit *make(size_t d, double lr, double l2)
{
    cscalp_allocator mem = plain();
    cscalp_logit *m = NULL;
    ck_assert_int_eq(cscalp_logit_create(&mem, d, lr, l2, &m), CSCALP_OK);
    return m;
}

static void random_x(tu_rng *g, float *x, size_t d, double scale)
{
    for (size_t j = 0; j < d; j++)
        x[j] = (float)(scale * (2.0 * tu_uniform(g) - 1.0));
}

/* W and b in one array (W row-major, then b): a snapshot of the model. */
static double *snapshot(const cscalp_logit *m)
{
    const size_t d = cscalp_logit_inputs(m);
    double *s = malloc((3 * d + 3) * sizeof *s);
    memcpy(s, cscalp_logit_weights(m), 3 * d * sizeof *s);
    memcpy(s + 3 * d, cscalp_logit_bias(m), 3 * sizeof *s);
    return s;
}

static int same_params(const cscalp_logit *m, const double *snap)
{
    const size_t d = cscalp_logit_inputs(m);
    return memcmp(cscalp_logit_weights(m), snap, 3 * d * sizeof *snap) == 0 &&
           memcmp(cscalp_logit_bias(m), snap + 3 * d, 3 * sizeof *snap) == 0;
}

/* ------------------------------------------------------------ reference */

/* Per-sample loss at parameters theta (W then b), written out from the
 * definition: c_y·(−ln softmax(z)_y) + (λ/2)·‖W‖², z by log-sum-exp. */
static double ref_loss(const double *theta, size_t d, const float *x, int y, double l2,
                       const double c[3])
{
    double z[3], zmax = -(double)INFINITY;
    for (int k = 0; k < 3; k++) {
        z[k] = theta[3 * d + k];
        for (size_t j = 0; j < d; j++)
            z[k] += theta[k * d + j] * (double)x[j];
        zmax = fmax(zmax, z[k]);
    }
    double se = 0.0;
    for (int k = 0; k < 3; k++)
        se += exp(z[k] - zmax);
    const double lse = zmax + log(se);
    double sq = 0.0;
    for (size_t i = 0; i < 3 * d; i++)
        sq += theta[i] * theta[i];
    return c[y] * (lse - z[y]) + 0.5 * l2 * sq;
}

START_TEST(step_is_gradient)
{
    enum { D = 6 };
    const double lr = 0.05, l2 = 0.01, c[3] = {1.5, 0.7, 1.2};
    cscalp_logit *m = make(D, lr, l2);
    ck_assert_int_eq(cscalp_logit_set_class_weights(m, c), CSCALP_OK);
    tu_rng g = {11};
    float x[D];
    for (int i = 0; i < 40; i++) {
        random_x(&g, x, D, 2.0);
        ck_assert_int_eq(cscalp_logit_update(m, x, (uint8_t)tu_int(&g, 3)), CSCALP_OK);
    }
    for (int trial = 0; trial < 6; trial++) {
        random_x(&g, x, D, 2.0);
        const int y = trial % 3;
        double *before = snapshot(m), *theta = snapshot(m);
        ck_assert_int_eq(cscalp_logit_update(m, x, (uint8_t)y), CSCALP_OK);
        double *after = snapshot(m);
        const double h = 1e-5;
        for (size_t i = 0; i < 3 * D + 3; i++) {
            const double keep = theta[i];
            theta[i] = keep + h;
            const double up = ref_loss(theta, D, x, y, l2, c);
            theta[i] = keep - h;
            const double down = ref_loss(theta, D, x, y, l2, c);
            theta[i] = keep;
            const double fd = (up - down) / (2.0 * h);
            const double step = (before[i] - after[i]) / lr;
            const double err = fabs(step - fd) / (1.0 + fabs(fd));
            ck_assert_msg(err < 1e-8, "trial %d, parameter %zu: step/lr %.12g, FD %.12g",
                          trial, i, step, fd);
        }
        free(before);
        free(theta);
        free(after);
    }
    cscalp_logit_destroy(m);
}
END_TEST

START_TEST(learns_separable_problem)
{
    enum { D = 16, N = 40000, TAIL = 5000 };
    double a[3][D];
    tu_rng g = {2024};
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < D; j++)
            a[k][j] = 2.0 * tu_uniform(&g) - 1.0;
    /* The engine's defaults (learn.fallback_learning_rate, _l2). */
    cscalp_logit *m = make(D, 0.01, 1e-4);
    int seen = 0, hits = 0;
    float x[D];
    while (seen < N) {
        random_x(&g, x, D, 1.0);
        double z[3];
        for (int k = 0; k < 3; k++) {
            z[k] = 0.0;
            for (int j = 0; j < D; j++)
                z[k] += a[k][j] * (double)x[j];
        }
        int y = 0;
        for (int k = 1; k < 3; k++)
            if (z[k] > z[y])
                y = k;
        /* A margin makes the classes separable by a gap. */
        double second = -(double)INFINITY;
        for (int k = 0; k < 3; k++)
            if (k != y)
                second = fmax(second, z[k]);
        if (z[y] - second < 0.25)
            continue;
        float p[3];
        ck_assert_int_eq(cscalp_logit_predict(m, x, p), CSCALP_OK);
        int q = 0;
        for (int k = 1; k < 3; k++)
            if (p[k] > p[q])
                q = k;
        if (seen >= N - TAIL)
            hits += q == y;
        ck_assert_int_eq(cscalp_logit_update(m, x, (uint8_t)y), CSCALP_OK);
        seen++;
    }
    const double acc = (double)hits / TAIL;
    printf("learns_separable_problem: prequential accuracy over the last %d: %.4f\n", TAIL,
           acc);
    ck_assert_msg(acc > 0.95, "accuracy %.4f", acc);
    ck_assert_uint_eq(cscalp_logit_updates(m), N);
    cscalp_logit_destroy(m);
}
END_TEST

/* An independent float64 implementation: log-sum-exp probabilities, the
 * L2 term applied as a decay factor, sums in reverse order. */
typedef struct ref_model {
    size_t d;
    double *w, b[3];
    double lr, l2, c[3];
} ref_model;

static void ref_probs(const ref_model *r, const float *x, double p[3])
{
    double z[3];
    for (int k = 0; k < 3; k++) {
        double acc = 0.0;
        for (size_t j = r->d; j-- > 0;)
            acc += r->w[k * r->d + j] * (double)x[j];
        z[k] = acc + r->b[k];
    }
    const double zmax = fmax(z[0], fmax(z[1], z[2]));
    const double lse = zmax + log(exp(z[0] - zmax) + exp(z[1] - zmax) + exp(z[2] - zmax));
    for (int k = 0; k < 3; k++)
        p[k] = exp(z[k] - lse);
}

static void ref_update(ref_model *r, const float *x, int y)
{
    double p[3];
    ref_probs(r, x, p);
    const double shrink = 1.0 - r->lr * r->l2;
    for (int k = 0; k < 3; k++) {
        const double delta = r->c[y] * (p[k] - (k == y));
        r->b[k] -= r->lr * delta;
        for (size_t j = 0; j < r->d; j++)
            r->w[k * r->d + j] = shrink * r->w[k * r->d + j] - r->lr * delta * (double)x[j];
    }
}

START_TEST(matches_float64_reference)
{
    enum { D = 768, N = 3000 };
    const double lr = 0.01, l2 = 1e-4, c[3] = {1.0, 0.5, 2.0};
    cscalp_logit *m = make(D, lr, l2);
    ck_assert_int_eq(cscalp_logit_set_class_weights(m, c), CSCALP_OK);
    ref_model r = {D, calloc(3 * D, sizeof(double)), {0, 0, 0}, lr, l2, {1.0, 0.5, 2.0}};
    /* A noisy linear rule on the first 32 features, z-score-like inputs. */
    tu_rng g = {768};
    float *x = malloc(D * sizeof *x);
    double worst_p = 0.0, worst_w = 0.0;
    for (int i = 0; i < N; i++) {
        random_x(&g, x, D, 1.7);
        double s = 0.0;
        for (int j = 0; j < 32; j++)
            s += (j % 2 ? 1.0 : -0.5) * (double)x[j];
        s += 0.5 * (2.0 * tu_uniform(&g) - 1.0);
        const int y = s < -0.7 ? 0 : s > 0.7 ? 2 : 1;
        double p[3], q[3];
        ck_assert_int_eq(cscalp_logit_predict_d(m, x, p), CSCALP_OK);
        ref_probs(&r, x, q);
        for (int k = 0; k < 3; k++)
            worst_p = fmax(worst_p, fabs(p[k] - q[k]));
        ck_assert_int_eq(cscalp_logit_update(m, x, (uint8_t)y), CSCALP_OK);
        ref_update(&r, x, y);
        if (i % 250 == 0 || i == N - 1) {
            const double *w = cscalp_logit_weights(m), *b = cscalp_logit_bias(m);
            for (size_t j = 0; j < 3 * D; j++)
                worst_w = fmax(worst_w, fabs(w[j] - r.w[j]));
            for (int k = 0; k < 3; k++)
                worst_w = fmax(worst_w, fabs(b[k] - r.b[k]));
        }
    }
    double wmax = 0.0;
    for (size_t j = 0; j < 3 * D; j++)
        wmax = fmax(wmax, fabs(r.w[j]));
    printf("matches_float64_reference: largest |w| %.3g, worst parameter difference %.3g, "
           "worst probability difference %.3g\n",
           wmax, worst_w, worst_p);
    ck_assert_msg(worst_w <= 1e-12, "parameters differ by %.3g", worst_w);
    ck_assert_msg(worst_p <= 1e-12, "probabilities differ by %.3g", worst_p);
    ck_assert(wmax > 0.05); /* it did learn something */
    free(x);
    free(r.w);
    cscalp_logit_destroy(m);
}
END_TEST

/* --------------------------------------------------------------- refusal */

START_TEST(non_finite_refused)
{
    enum { D = 8 };
    cscalp_logit *m = make(D, 0.01, 1e-4);
    tu_rng g = {5};
    float x[D];
    for (int i = 0; i < 20; i++) {
        random_x(&g, x, D, 1.0);
        cscalp_logit_update(m, x, (uint8_t)tu_int(&g, 3));
    }
    double *snap = snapshot(m);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    uint64_t refused = 0;
    for (int b = 0; b < 3; b++)
        for (int pos = 0; pos < D; pos += 3) {
            random_x(&g, x, D, 1.0);
            x[pos] = bad[b];
            ck_assert_int_eq(cscalp_logit_update(m, x, 1), CSCALP_ENONFINITE);
            refused++;
            float p[3];
            double pd[3];
            ck_assert_int_eq(cscalp_logit_predict(m, x, p), CSCALP_ENONFINITE);
            ck_assert_int_eq(cscalp_logit_predict_d(m, x, pd), CSCALP_ENONFINITE);
            for (int k = 0; k < 3; k++)
                ck_assert(isnan(p[k]) && isnan(pd[k]));
        }
    /* Finite inputs whose step would overflow (a huge class weight). */
    const double huge[3] = {1e300, 1e300, 1e300};
    ck_assert_int_eq(cscalp_logit_set_class_weights(m, huge), CSCALP_OK);
    for (int j = 0; j < D; j++)
        x[j] = 1e30f;
    ck_assert_int_eq(cscalp_logit_update(m, x, 2), CSCALP_ENONFINITE);
    refused++;
    /* A label outside 0..2. */
    random_x(&g, x, D, 1.0);
    ck_assert_int_eq(cscalp_logit_update(m, x, 3), CSCALP_EINVAL);
    refused++;
    ck_assert(same_params(m, snap));
    ck_assert_uint_eq(cscalp_logit_updates(m), 20);
    ck_assert_uint_eq(cscalp_logit_refused(m), refused);
    free(snap);
    cscalp_logit_destroy(m);
}
END_TEST

START_TEST(starts_uniform)
{
    cscalp_logit *m = make(3, 0.01, 0.0);
    const float x[3] = {1.0f, -2.0f, 3.0f};
    double p[3];
    float f[3];
    ck_assert_int_eq(cscalp_logit_predict_d(m, x, p), CSCALP_OK);
    ck_assert_int_eq(cscalp_logit_predict(m, x, f), CSCALP_OK);
    for (int k = 0; k < 3; k++) {
        ck_assert(p[k] == 1.0 / 3.0);
        ck_assert(f[k] == (float)(1.0 / 3.0));
    }
    /* Logits far apart: the softmax saturates without overflow. */
    const double big[3] = {1e3, 1e3, 1e3};
    ck_assert_int_eq(cscalp_logit_set_class_weights(m, big), CSCALP_OK);
    const float one[3] = {100.0f, 100.0f, 100.0f};
    ck_assert_int_eq(cscalp_logit_update(m, one, 2), CSCALP_OK);
    ck_assert_int_eq(cscalp_logit_predict_d(m, one, p), CSCALP_OK);
    ck_assert(p[2] == 1.0 && p[0] == 0.0 && p[1] == 0.0);
    cscalp_logit_destroy(m);
}
END_TEST

/* ------------------------------------------------------------ arguments */

START_TEST(argument_ranges)
{
    cscalp_allocator mem = plain();
    cscalp_logit *m = (cscalp_logit *)&mem;
    const struct {
        size_t d;
        double lr, l2;
    } bad[] = {
        {0, 0.01, 0.0},
        {4097, 0.01, 0.0},
        {4, 0.0, 0.0},
        {4, -0.1, 0.0},
        {4, (double)NAN, 0.0},
        {4, (double)INFINITY, 0.0},
        {4, 0.01, -1e-9},
        {4, 0.01, (double)NAN},
        {4, 0.01, (double)INFINITY},
        {4, 10.0, 0.1}, /* η·λ = 1 */
        {4, 2.0, 0.75},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(cscalp_logit_create(&mem, bad[i].d, bad[i].lr, bad[i].l2, &m) ==
                          CSCALP_ECONFIG_RANGE,
                      "case %zu", i);
        ck_assert_ptr_null(m);
    }
    ck_assert_int_eq(cscalp_logit_create(&mem, 4096, 10.0, 0.0999, &m), CSCALP_OK);
    cscalp_logit_destroy(m);

    /* Refused rates and weights leave the model as it was: it trains like
     * one that never saw the calls. */
    cscalp_logit *a = make(4, 0.1, 0.01), *b = make(4, 0.1, 0.01);
    ck_assert_int_eq(cscalp_logit_set_rates(a, 0.0, 0.01), CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_logit_set_rates(a, 0.1, -1.0), CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_logit_set_rates(a, 5.0, 0.5), CSCALP_ECONFIG_RANGE);
    const double w0[3] = {1, 0, 1}, wn[3] = {1, (double)NAN, 1}, wneg[3] = {1, 1, -2};
    ck_assert_int_eq(cscalp_logit_set_class_weights(a, w0), CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_logit_set_class_weights(a, wn), CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_logit_set_class_weights(a, wneg), CSCALP_ECONFIG_RANGE);
    tu_rng g = {8};
    float x[4];
    for (int i = 0; i < 100; i++) {
        random_x(&g, x, 4, 1.0);
        const uint8_t y = (uint8_t)tu_int(&g, 3);
        cscalp_logit_update(a, x, y);
        cscalp_logit_update(b, x, y);
    }
    double *sb = snapshot(b);
    ck_assert(same_params(a, sb));
    /* Accepted rates take effect. */
    ck_assert_int_eq(cscalp_logit_set_rates(a, 0.2, 0.0), CSCALP_OK);
    cscalp_logit_update(a, x, 0);
    cscalp_logit_update(b, x, 0);
    free(sb);
    sb = snapshot(b);
    ck_assert(!same_params(a, sb));
    free(sb);
    cscalp_logit_destroy(a);
    cscalp_logit_destroy(b);
}
END_TEST

START_TEST(allocation_failure)
{
    for (long k = 1;; k++) {
        tu_alloc st = {0, 0, k};
        cscalp_allocator a = tu_allocator(&st);
        cscalp_logit *m = NULL;
        const int rc = cscalp_logit_create(&a, 768, 0.01, 1e-4, &m);
        if (rc == CSCALP_OK) {
            ck_assert_int_gt(k, 1);
            /* No allocation after create. */
            const long calls = st.calls;
            float x[768] = {0};
            x[5] = 1.0f;
            float p[3];
            for (int i = 0; i < 10; i++) {
                cscalp_logit_predict(m, x, p);
                cscalp_logit_update(m, x, (uint8_t)(i % 3));
            }
            ck_assert_int_eq(st.calls, calls);
            cscalp_logit_destroy(m);
            ck_assert_int_eq(st.live, 0);
            break;
        }
        ck_assert_int_eq(rc, CSCALP_ENOMEM);
        ck_assert_ptr_null(m);
        ck_assert_int_eq(st.live, 0);
    }
}
END_TEST

/* ---------------------------------------------- determinism, checkpoints */

static void train(cscalp_logit *m, uint64_t seed, int n)
{
    const size_t d = cscalp_logit_inputs(m);
    float *x = malloc(d * sizeof *x);
    tu_rng g = {seed};
    for (int i = 0; i < n; i++) {
        random_x(&g, x, d, 1.5);
        float p[3];
        cscalp_logit_predict(m, x, p);
        cscalp_logit_update(m, x, (uint8_t)((x[0] > 0.3f) + (x[1] > 0.0f)));
    }
    free(x);
}

START_TEST(deterministic)
{
    cscalp_logit *a = make(50, 0.02, 1e-3), *b = make(50, 0.02, 1e-3);
    train(a, 42, 1000);
    train(b, 42, 1000);
    double *sa = snapshot(a);
    ck_assert(same_params(b, sa));
    cscalp_logit_reset(b);
    ck_assert_uint_eq(cscalp_logit_updates(b), 0);
    train(b, 42, 1000);
    ck_assert(same_params(b, sa));
    free(sa);
    cscalp_logit_destroy(a);
    cscalp_logit_destroy(b);
}
END_TEST

typedef struct bytes {
    uint8_t *data;
    size_t len;
} bytes;

static bytes save_model(const cscalp_logit *m)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_logit_save(m, &w);
    ck_assert(!w.failed);
    bytes b = {malloc(w.len), w.len};
    memcpy(b.data, w.data, w.len);
    cscalp_wbuf_free(&w);
    return b;
}

static int load_model(cscalp_logit *m, const uint8_t *data, size_t len, char *why,
                      size_t cap)
{
    cscalp_rbuf r;
    cscalp_rbuf_init(&r, data, len);
    return cscalp_logit_load(m, &r, why, cap);
}

static int same_bytes(bytes a, bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

START_TEST(save_load_continues_identically)
{
    enum { D = 20 };
    cscalp_logit *a = make(D, 0.05, 1e-3), *b = make(D, 0.05, 1e-3);
    train(a, 1, 300);
    float nanx[D] = {0};
    nanx[2] = NAN;
    cscalp_logit_update(a, nanx, 0); /* a refusal, to save a non-zero counter */
    bytes s = save_model(a);
    ck_assert_uint_eq(s.len, 4 + 8 + 8 + 8 * (3 * D + 3));
    char why[200] = "";
    ck_assert_msg(load_model(b, s.data, s.len, why, sizeof why) == CSCALP_OK, "%s", why);
    ck_assert_uint_eq(cscalp_logit_updates(b), 300);
    ck_assert_uint_eq(cscalp_logit_refused(b), 1);
    train(a, 2, 300);
    train(b, 2, 300);
    bytes ea = save_model(a), eb = save_model(b);
    ck_assert(same_bytes(ea, eb));
    free(ea.data);
    free(eb.data);
    free(s.data);
    cscalp_logit_destroy(a);
    cscalp_logit_destroy(b);
}
END_TEST

static void expect_refused(cscalp_logit *t, const uint8_t *data, size_t len, const char *what,
                           const char *needle)
{
    bytes before = save_model(t);
    char why[200] = "";
    const int rc = load_model(t, data, len, why, sizeof why);
    ck_assert_msg(rc == CSCALP_ECORRUPT, "%s: got %d", what, rc);
    ck_assert_msg(why[0] != '\0' && (needle == NULL || strstr(why, needle) != NULL),
                  "%s: message \"%s\"", what, why);
    bytes after = save_model(t);
    ck_assert_msg(same_bytes(before, after), "%s: model changed", what);
    free(before.data);
    free(after.data);
}

START_TEST(load_refuses_corruption)
{
    enum { D = 5 };
    cscalp_logit *a = make(D, 0.05, 0.0), *t = make(D, 0.05, 0.0);
    train(a, 3, 50);
    train(t, 4, 7);
    bytes s = save_model(a);
    for (size_t len = 0; len < s.len; len++)
        expect_refused(t, s.data, len, "truncated", "truncated");
    cscalp_logit *other = make(D + 1, 0.05, 0.0);
    expect_refused(other, s.data, s.len, "other input count", "inputs");
    cscalp_logit_destroy(other);
    uint8_t *buf = malloc(s.len);
    const double poison[] = {(double)NAN, (double)INFINITY, -(double)INFINITY};
    const size_t where[] = {20, 20 + 8 * 7, 20 + 8 * (3 * D + 2)}; /* W[0], W[7], b[2] */
    for (int p = 0; p < 3; p++)
        for (int w = 0; w < 3; w++) {
            memcpy(buf, s.data, s.len);
            uint64_t bits;
            memcpy(&bits, &poison[p], 8);
            for (int i = 0; i < 8; i++)
                buf[where[w] + i] = (uint8_t)(bits >> (8 * i));
            expect_refused(t, buf, s.len, "non-finite parameter", "finite");
        }
    char why[200];
    ck_assert_int_eq(load_model(t, s.data, s.len, why, sizeof why), CSCALP_OK);
    free(buf);
    free(s.data);
    cscalp_logit_destroy(a);
    cscalp_logit_destroy(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("logistic");
    TCase *tc = tcase_create("logistic");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, step_is_gradient);
    tcase_add_test(tc, learns_separable_problem);
    tcase_add_test(tc, matches_float64_reference);
    tcase_add_test(tc, non_finite_refused);
    tcase_add_test(tc, starts_uniform);
    tcase_add_test(tc, argument_ranges);
    tcase_add_test(tc, allocation_failure);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, save_load_continues_identically);
    tcase_add_test(tc, load_refuses_corruption);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
