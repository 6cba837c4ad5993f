/* Online normalisation (docs/features.md, "Online normalisation"):
 * - the internal normaliser (src/features/normalizer.h) directly;
 * - through the public API: warm-up, constant features, clipping, and the
 *   grid sampling rule (one sample per crossing, evaluated at g_last from the
 *   state before the event), with hand-worked numbers and with the
 *   independent reference of feat_ref.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "feat_common.h"
#include "feat_ref.h"
#include "features/normalizer.h"

#define MSEC(x) ((int64_t)(x) * FC_MS)
#define SEC(x) ((int64_t)(x) * FC_NS)

/* ============================================================ internal */

START_TEST(normalizer_alpha_is_one_minus_two_pow_minus_interval_over_half_life)
{
    FC_NEAR(cscalp_normalizer_alpha(1.0, 1.0), 0.5, 1e-15, "alpha(1, 1)");
    FC_NEAR(cscalp_normalizer_alpha(2.0, 1.0), 0.75, 1e-15, "alpha(2, 1)");
    FC_NEAR(cscalp_normalizer_alpha(300.0, 300.0), 0.5, 1e-15, "alpha(300, 300)");
    FC_NEAR(cscalp_normalizer_alpha(0.5, 1.0), 1.0 - sqrt(0.5), 1e-15, "alpha(0.5, 1)");
    const double a = cscalp_normalizer_alpha(1.0, 300.0);
    const double want = 1.0 - pow(2.0, -1.0 / 300.0);
    FC_NEAR(a, want, 1e-15 * want + 1e-18, "alpha(1, 300) (default grid and half-life)");
    const double b = cscalp_normalizer_alpha(0.1, 5.0);
    FC_NEAR(b, 1.0 - pow(2.0, -0.02), 1e-16, "alpha(0.1, 5)");
    ck_assert(a > 0.0 && a <= 1.0);
}
END_TEST

START_TEST(normalizer_init_binds_storage_and_parameters)
{
    double mean[3], var[3], sd[3] = {7, 7, 7};
    memset(mean, 0, sizeof mean);
    memset(var, 0, sizeof var);
    cscalp_normalizer n;
    cscalp_normalizer_init(&n, 3, mean, var, sd, 0.25, 4.0, 7);
    ck_assert_uint_eq(n.width, 3);
    ck_assert(n.alpha == 0.25);
    ck_assert(n.z_clip == 4.0);
    ck_assert_uint_eq(n.warmup, 7);
    ck_assert_uint_eq(n.samples, 0);
    ck_assert_ptr_eq(n.mean, mean);
    ck_assert_ptr_eq(n.var, var);
    ck_assert_ptr_eq(n.sd, sd);
    ck_assert(sd[0] == 0.0 && sd[2] == 0.0); /* zeroed */
    /* no sample yet: z is 0 */
    const double x[3] = {1.0, -2.0, 3.0};
    double z[3] = {9, 9, 9};
    cscalp_normalizer_apply(&n, x, z);
    for (int k = 0; k < 3; k++)
        ck_assert(z[k] == 0.0);
}
END_TEST

START_TEST(normalizer_first_sample_sets_mean_then_ewma_recursion)
{
    double mean[2] = {0, 0}, var[2] = {0, 0}, sd[2];
    cscalp_normalizer n;
    const double alpha = 0.3;
    cscalp_normalizer_init(&n, 2, mean, var, sd, alpha, 5.0, 1);
    const double xs[6][2] = {{10.0, -1.0}, {12.0, -1.0}, {9.0, -1.5},
                             {9.0, 4.0},   {15.5, 0.0}, {-3.0, 2.25}};
    double mu[2] = {0, 0}, s2[2] = {0, 0};
    for (int i = 0; i < 6; i++) {
        cscalp_normalizer_update(&n, xs[i]);
        for (int k = 0; k < 2; k++) {
            if (i == 0) {
                mu[k] = xs[i][k];
                s2[k] = 0.0;
            } else {
                const double d = xs[i][k] - mu[k];
                mu[k] = mu[k] + alpha * d;
                s2[k] = (1.0 - alpha) * (s2[k] + alpha * d * d);
            }
            char what[64];
            snprintf(what, sizeof what, "mean[%d] after sample %d", k, i + 1);
            FC_NEAR(n.mean[k], mu[k], 1e-13 * fmax(1.0, fabs(mu[k])), what);
            snprintf(what, sizeof what, "var[%d] after sample %d", k, i + 1);
            FC_NEAR(n.var[k], s2[k], 1e-13 * fmax(1.0, s2[k]), what);
        }
        ck_assert_uint_eq(n.samples, (uint64_t)(i + 1));
        if (i == 0) {
            ck_assert(n.mean[0] == 10.0 && n.mean[1] == -1.0);
            ck_assert(n.var[0] == 0.0 && n.var[1] == 0.0);
        }
    }
}
END_TEST

START_TEST(normalizer_apply_warmup_zero_variance_and_clip)
{
    double mean[3] = {0, 0, 0}, var[3] = {0, 0, 0}, sd[3];
    cscalp_normalizer n;
    const double alpha = 0.5;
    cscalp_normalizer_init(&n, 3, mean, var, sd, alpha, 2.0, 3);
    /* column 0 varies, column 1 is constant, column 2 varies */
    const double s[3][3] = {{1.0, 7.0, 0.0}, {3.0, 7.0, 10.0}, {2.0, 7.0, 4.0}};
    const double probe[3] = {2.5, 100.0, -50.0};
    double z[3];
    for (int i = 0; i < 3; i++) {
        cscalp_normalizer_apply(&n, probe, z);
        for (int k = 0; k < 3; k++)
            ck_assert_msg(z[k] == 0.0, "z[%d] = %g with %d < 3 samples (warm-up)", k,
                          z[k], i);
        cscalp_normalizer_update(&n, s[i]);
    }
    /* by hand, alpha = 1/2:
     * col 0: mu 1, var 0 -> d=2: mu 2, var .5(0+.5*4)=1 -> d=0: mu 2, var .5
     * col 2: mu 0 -> d=10: mu 5, var .5(.5*100)=25 -> d=-1: mu 4.5,
     *        var .5(25+.5)=12.75 */
    FC_NEAR(n.mean[0], 2.0, 1e-15, "mean col 0");
    FC_NEAR(n.var[0], 0.5, 1e-15, "var col 0");
    FC_NEAR(n.mean[2], 4.5, 1e-15, "mean col 2");
    FC_NEAR(n.var[2], 12.75, 1e-14, "var col 2");
    ck_assert(n.var[1] == 0.0);
    ck_assert(n.sd[0] == sqrt(n.var[0]) && n.sd[1] == 0.0 && n.sd[2] == sqrt(n.var[2]));
    cscalp_normalizer_apply(&n, probe, z);
    FC_NEAR(z[0], 0.5 / sqrt(0.5), 1e-14, "z col 0 (inside the clip)");
    ck_assert_msg(z[1] == 0.0, "z of a constant column = %g (sigma 0)", z[1]);
    ck_assert_msg(z[2] == -2.0, "z col 2 = %.17g, expected the clip -2", z[2]);
    const double up[3] = {100.0, 7.0, 4.5};
    cscalp_normalizer_apply(&n, up, z);
    ck_assert_msg(z[0] == 2.0, "z col 0 = %.17g, expected the clip +2", z[0]);
    ck_assert(z[1] == 0.0);
    ck_assert_msg(z[2] == 0.0, "z at the mean = %g", z[2]);
}
END_TEST

/* =========================================================== public API */

/* Run the same events through the engine and the reference. */
typedef struct pair {
    cscalp_engine *e;
    ref_model m;
} pair;

static void pair_quote(pair *p, int64_t ts, double b, double bs, double a, double as)
{
    fc_quote(p->e, ts, b, bs, a, as);
    ref_quote(&p->m, ts, b, bs, a, as);
}

static void pair_trade(pair *p, int64_t ts, double px, double q, int side)
{
    fc_trade(p->e, ts, px, q, side);
    ref_trade_push(&p->m, ts, px, q, side);
}

static void pair_funding(pair *p, int64_t ts, double rate, double mark, int64_t next)
{
    fc_funding(p->e, ts, rate, mark, 0.0, next);
    ref_funding(&p->m, ts, rate, mark, next);
}

static void pair_tick(pair *p, int64_t ts)
{
    fc_tick(p->e, ts);
    ref_tick(&p->m, ts);
}

/* Compare every z with the reference normaliser; returns the engine's z. */
static void pair_check(const pair *p, double z[F_COUNT], const char *when)
{
    double raw[F_COUNT], x[F_COUNT], sc[F_COUNT], zr[F_COUNT], sig[F_COUNT];
    fc_raw_z(p->e, raw, z);
    ref_eval(&p->m, p->m.clock, x, sc);
    ref_z(&p->m, x, zr, sig);
    for (int k = 0; k < F_COUNT; k++) {
        FC_NEAR(raw[k], x[k], 1e-9 * sc[k] + 1e-12, fc_spec_names[k]);
        double tol = 0.0;
        if (sig[k] > 0.0 && p->m.samples >= p->m.warmup)
            tol = 1e-6 + 1e-7 * (sc[k] + 1e-12) / sig[k] * (1.0 + fabs(zr[k]));
        ck_assert_msg(fabs(z[k] - zr[k]) <= tol,
                      "%s: z %s = %.17g, reference %.17g (tol %.3g; samples %llu, "
                      "ref mean %.17g, sigma %.17g)",
                      when, fc_spec_names[k], z[k], zr[k], tol,
                      (unsigned long long)p->m.samples, p->m.mu[k], sig[k]);
    }
}

START_TEST(normalised_grid_sampling_hand_worked)
{
    /* I = 1 s, h = 1 s: alpha = 1/2; warm-up 2 samples; clip 5 */
    pair p;
    p.e = fc_open("{\"features\":{\"norm_interval_ms\":1000,\"norm_half_life_s\":1,"
                  "\"norm_warmup_samples\":2,\"z_clip\":5}}");
    ref_init(&p.m, 100 * FC_MS, 10, 1000 * FC_MS, 1.0, 5.0, 2);
    double z[F_COUNT];
    const double a = 0.5;

    pair_funding(&p, MSEC(500), 1e-4, 100.0, 0); /* funding_rate_bps = 1 */
    pair_trade(&p, MSEC(500), 100.0, 1.0, CSCALP_SIDE_BUY);
    pair_check(&p, z, "t = 0.5 s");
    for (int k = 0; k < F_COUNT; k++)
        ck_assert_msg(z[k] == 0.0, "no sample yet: z %s = %g", fc_spec_names[k], z[k]);

    /* 1.5 s crosses g = 1: one sample of the state before the event, at 1.0 s
     * (funding 1 bps, trade_count_1s = e^-0.5) */
    pair_funding(&p, MSEC(1500), 3e-4, 100.0, 0);
    pair_check(&p, z, "t = 1.5 s");
    for (int k = 0; k < F_COUNT; k++)
        ck_assert_msg(z[k] == 0.0, "1 sample < warm-up 2: z %s = %g", fc_spec_names[k],
                      z[k]);

    /* 2.5 s crosses g = 2: sample (funding 3, trade_count_1s e^-1.5) */
    pair_funding(&p, MSEC(2500), 5e-4, 100.0, 0);
    double muF = 1.0, s2F = 0.0, muT = exp(-0.5), s2T = 0.0, d;
    d = 3.0 - muF;
    muF += a * d;
    s2F = (1 - a) * (s2F + a * d * d);
    d = exp(-1.5) - muT;
    muT += a * d;
    s2T = (1 - a) * (s2T + a * d * d);
    FC_NEAR(muF, 2.0, 1e-15, "hand mean");
    FC_NEAR(s2F, 1.0, 1e-15, "hand variance");
    pair_check(&p, z, "t = 2.5 s");
    FC_NEAR(z[F_FUND], (5.0 - 2.0) / 1.0, 1e-9,
            "z funding_rate_bps at 2.5 s (sample from the state before the event)");
    FC_NEAR(z[F_TC1], (exp(-2.0) - muT) / sqrt(s2T), 1e-7,
            "z trade_count_1s at 2.5 s (samples at g = 1 s and 2 s)");

    /* a gap: 2.5 s -> 10.7 s crosses g = 3..10, one sample at g_last = 10 */
    pair_tick(&p, MSEC(10700));
    d = 5.0 - muF;
    muF += a * d;
    s2F = (1 - a) * (s2F + a * d * d);
    d = exp(-9.5) - muT;
    muT += a * d;
    s2T = (1 - a) * (s2T + a * d * d);
    FC_NEAR(muF, 3.5, 1e-15, "hand mean after the gap");
    FC_NEAR(s2F, 2.75, 1e-15, "hand variance after the gap");
    pair_check(&p, z, "t = 10.7 s");
    FC_NEAR(z[F_FUND], (5.0 - 3.5) / sqrt(2.75), 1e-9,
            "z funding_rate_bps after a gap (a single sample)");
    FC_NEAR(z[F_TC1], (exp(-10.2) - muT) / sqrt(s2T), 1e-7,
            "z trade_count_1s after a gap (sampled at g_last = 10 s)");

    /* no grid point crossed: no sample */
    pair_funding(&p, MSEC(10900), 5e-4, 100.0, 0);
    pair_check(&p, z, "t = 10.9 s");
    FC_NEAR(z[F_FUND], (5.0 - 3.5) / sqrt(2.75), 1e-9, "z funding_rate_bps, no crossing");

    /* clip: 1e4 bps after a sample of 5 at g = 11 */
    pair_funding(&p, MSEC(11200), 1.0, 100.0, 0);
    d = 5.0 - muF;
    muF += a * d;
    s2F = (1 - a) * (s2F + a * d * d);
    FC_NEAR(muF, 4.25, 1e-15, "hand mean at 11.2 s");
    pair_check(&p, z, "t = 11.2 s");
    ck_assert_msg(z[F_FUND] == 5.0, "z funding_rate_bps = %.17g, expected the clip 5",
                  z[F_FUND]);
    pair_funding(&p, MSEC(11300), -1.0, 100.0, 0);
    pair_check(&p, z, "t = 11.3 s");
    ck_assert_msg(z[F_FUND] == -5.0, "z funding_rate_bps = %.17g, expected the clip -5",
                  z[F_FUND]);

    /* an event slightly in the past does not move the clock: no sample */
    pair_funding(&p, MSEC(11250), -1.0, 100.0, 0);
    pair_check(&p, z, "clamped event at 11.3 s");
    ck_assert(z[F_FUND] == -5.0);

    /* a tick exactly onto g = 12 samples the state (-1e4 bps) at 12 s */
    pair_tick(&p, SEC(12));
    d = -1e4 - muF;
    muF += a * d;
    s2F = (1 - a) * (s2F + a * d * d);
    pair_check(&p, z, "t = 12 s");
    FC_NEAR(z[F_FUND], (-1e4 - muF) / sqrt(s2F), 1e-9, "z funding_rate_bps at 12 s");
    ck_assert_uint_eq(p.m.samples, 5);

    ref_free(&p.m);
    cscalp_close(p.e);
}
END_TEST

START_TEST(normalised_values_are_zero_during_default_warmup_of_30_samples)
{
    pair p;
    p.e = fc_open(NULL);
    ref_init(&p.m, 100 * FC_MS, 10, 1000 * FC_MS, 300.0, 5.0, 30);
    double z[F_COUNT];
    int seen_nonzero = 0;
    for (int i = 0; i < 80; i++) {
        const int64_t t = MSEC(250) + (int64_t)i * MSEC(500);
        const double px = 100.0 + 0.01 * (double)(i % 7);
        pair_quote(&p, t, px - 0.01 * (double)(1 + i % 2), 1.0 + (double)(i % 5),
                   px + 0.01, 2.0 + (double)(i % 3));
        pair_trade(&p, t, px, 0.5 + (double)(i % 4),
                   (i % 3) ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL);
        char when[64];
        snprintf(when, sizeof when, "event pair %d (t = %.2f s)", i, (double)t / 1e9);
        pair_check(&p, z, when);
        if (p.m.samples < 30) {
            for (int k = 0; k < F_COUNT; k++)
                ck_assert_msg(z[k] == 0.0, "%s: %llu samples: z %s = %g", when,
                              (unsigned long long)p.m.samples, fc_spec_names[k], z[k]);
        } else {
            if (z[F_SV1] != 0.0 && z[F_SPREAD] != 0.0)
                seen_nonzero = 1;
        }
    }
    ck_assert_msg(p.m.samples > 30, "the stream took %llu samples",
                  (unsigned long long)p.m.samples);
    ck_assert_msg(seen_nonzero, "no non-zero z after the warm-up");
    ref_free(&p.m);
    cscalp_close(p.e);
}
END_TEST

START_TEST(constant_features_normalise_to_zero)
{
    pair p;
    p.e = fc_open("{\"features\":{\"norm_warmup_samples\":5}}");
    ref_init(&p.m, 100 * FC_MS, 10, 1000 * FC_MS, 300.0, 5.0, 5);
    double z[F_COUNT];
    pair_funding(&p, MSEC(100), 2e-4, 100.7, 0);
    for (int i = 0; i < 40; i++)
        pair_quote(&p, MSEC(100) + (int64_t)i * MSEC(300), 100.0, 2.0, 101.0, 3.0);
    pair_check(&p, z, "after 12 s of an unchanged quote");
    ck_assert_uint_ge(p.m.samples, 5);
    for (int k = 0; k < F_COUNT; k++)
        ck_assert_msg(z[k] == 0.0, "constant input: z %s = %g", fc_spec_names[k], z[k]);
    /* the raw value moves away, but sigma is still 0: z stays 0 */
    pair_quote(&p, MSEC(12100), 99.0, 2.0, 101.0, 3.0);
    pair_check(&p, z, "new spread, before the next sample");
    ck_assert_msg(z[F_SPREAD] == 0.0, "z spread_bps = %g with sigma 0", z[F_SPREAD]);
    /* the next sample gives the feature a variance */
    pair_quote(&p, MSEC(13050), 99.0, 2.0, 101.0, 3.0);
    pair_check(&p, z, "after the next sample");
    ck_assert_msg(z[F_SPREAD] != 0.0, "z spread_bps still 0 after a varying sample");
    ck_assert_msg(z[F_FUND] == 0.0, "z funding_rate_bps = %g (constant)", z[F_FUND]);
    ref_free(&p.m);
    cscalp_close(p.e);
}
END_TEST

START_TEST(changing_normaliser_parameters_keeps_the_statistics)
{
    /* docs/config.md: changing normaliser parameters keeps the statistics */
    pair p;
    p.e = fc_open("{\"features\":{\"norm_warmup_samples\":3,\"norm_half_life_s\":1}}");
    ref_init(&p.m, 100 * FC_MS, 10, 1000 * FC_MS, 1.0, 5.0, 3);
    double z[F_COUNT];
    const double rates[6] = {1e-4, 4e-4, -2e-4, 3e-4, 0.0, 2e-4};
    for (int i = 0; i < 6; i++)
        pair_funding(&p, MSEC(500) + SEC(i), rates[i], 100.0, 0);
    pair_check(&p, z, "after 5 samples");
    ck_assert(z[F_FUND] != 0.0);
    /* a tighter clip applies at once to the same statistics */
    ck_assert_int_eq(cscalp_configure(p.e, "{\"features\":{\"z_clip\":0.1}}"), CSCALP_OK);
    p.m.z_clip = 0.1;
    pair_check(&p, z, "after z_clip 0.1");
    ck_assert_msg(fabs(z[F_FUND]) == 0.1, "z funding_rate_bps = %g, expected +-0.1",
                  z[F_FUND]);
    /* a longer warm-up than the samples taken: z is 0 again */
    ck_assert_int_eq(cscalp_configure(p.e, "{\"features\":{\"norm_warmup_samples\":100}}"),
                     CSCALP_OK);
    p.m.warmup = 100;
    pair_check(&p, z, "after warm-up 100");
    for (int k = 0; k < F_COUNT; k++)
        ck_assert(z[k] == 0.0);
    ref_free(&p.m);
    cscalp_close(p.e);
}
END_TEST

static Suite *norm_suite(void)
{
    Suite *s = suite_create("features-norm");
    TCase *tc = tcase_create("internal");
    tcase_add_test(tc, normalizer_alpha_is_one_minus_two_pow_minus_interval_over_half_life);
    tcase_add_test(tc, normalizer_init_binds_storage_and_parameters);
    tcase_add_test(tc, normalizer_first_sample_sets_mean_then_ewma_recursion);
    tcase_add_test(tc, normalizer_apply_warmup_zero_variance_and_clip);
    suite_add_tcase(s, tc);
    tc = tcase_create("public");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, normalised_grid_sampling_hand_worked);
    tcase_add_test(tc, normalised_values_are_zero_during_default_warmup_of_30_samples);
    tcase_add_test(tc, constant_features_normalise_to_zero);
    tcase_add_test(tc, changing_normaliser_parameters_keeps_the_statistics);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fc_run_suite(norm_suite());
}
