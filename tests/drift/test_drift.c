/* Drift detectors (src/learn/drift.h, docs/drift.md):
 * - Page-Hinkley against the recursion written in drift.h, to rounding;
 * - ADWIN's window against the samples it claims to hold (mean, variance,
 *   width) and the histogram's invariants, on streams with cuts;
 * - constant input raises nothing; a large step raises both; a fall raises
 *   nothing (ADWIN only shrinks); a slow ramp is followed by the adapting
 *   Page-Hinkley reference but flagged by a cumulative one; one outlier
 *   cannot raise an alarm, ⌈λ / cap⌉ of them in a row do;
 * - parameter checks name the parameter and leave the target alone;
 * - non-finite and huge inputs are ignored and counted, nothing else moves;
 * - restart forgets the estimates and keeps the counters;
 * - checkpoints: save → load → continue gives the same alarms and the same
 *   bytes; every truncation, every single-byte corruption and a list of
 *   inconsistent fields are refused with the target unchanged. */
#include <stdio.h>
#include <string.h>

#include "drift_util.h"
#include "learn/drift.h"
#include "util/alloc.h"

static cscalp_drift make(const cscalp_drift_params *p)
{
    cscalp_drift d;
    char why[256] = "";
    ck_assert_msg(cscalp_drift_init(&d, p, why, sizeof why) == CSCALP_OK, "%s", why);
    return d;
}

static cscalp_drift make_default(void)
{
    cscalp_drift_params p;
    cscalp_drift_params_default(&p);
    return make(&p);
}

/* A detector's checkpoint bytes; the caller frees them with wbuf_free. */
static cscalp_wbuf saved(const cscalp_drift *d, const cscalp_allocator *mem)
{
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, mem);
    cscalp_drift_save(d, &w);
    ck_assert(!w.failed);
    return w;
}

static cscalp_allocator plain(void)
{
    cscalp_allocator a;
    cscalp_mem_init(&a, NULL);
    return a;
}

static void assert_same_bytes(const cscalp_drift *a, const cscalp_drift *b)
{
    const cscalp_allocator mem = plain();
    cscalp_wbuf wa = saved(a, &mem), wb = saved(b, &mem);
    ck_assert_uint_eq(wa.len, wb.len);
    ck_assert(memcmp(wa.data, wb.data, wa.len) == 0);
    cscalp_wbuf_free(&wa);
    cscalp_wbuf_free(&wb);
}

/* --------------------------------------------------------- Page-Hinkley */

START_TEST(ph_follows_the_documented_recursion)
{
    cscalp_drift_params p;
    cscalp_drift_params_default(&p);
    p.ph_warmup_samples = 50;
    p.ph_ref_half_life_samples = 300.0;
    p.ph_lambda_sigma = 6.0;
    cscalp_ph ph;
    char why[128];
    ck_assert_int_eq(cscalp_ph_init(&ph, &p, why, sizeof why), CSCALP_OK);

    /* drift.h's recursion, spelled out independently. */
    uint64_t n = 0;
    double mu = 0.0, v = 0.0, g = 0.0;
    const double floor_w = 1.0 - pow(2.0, -1.0 / p.ph_ref_half_life_samples);
    dt_rng rng = dt_seed(7);
    int alarms = 0;
    for (int t = 0; t < 20000; t++) {
        const double x = dt_normal(&rng) + (t / 2500 % 2 ? 1.5 : 0.0);
        int expect = 0;
        if (n >= p.ph_warmup_samples) {
            const double sd = sqrt(v) > p.ph_min_sigma ? sqrt(v) : p.ph_min_sigma;
            double z = (x - mu) / sd - p.ph_delta_sigma;
            z = z < p.ph_step_cap_sigma ? z : p.ph_step_cap_sigma;
            g = g + z > 0.0 ? g + z : 0.0;
            if (g > p.ph_lambda_sigma) {
                expect = 1;
                n = 0;
                mu = v = g = 0.0;
            }
        }
        n++;
        const double w = 1.0 / (double)n > floor_w ? 1.0 / (double)n : floor_w;
        const double d = x - mu;
        mu += w * d;
        v = (1.0 - w) * (v + w * d * d);

        ck_assert_int_eq(cscalp_ph_update(&ph, x), expect);
        alarms += expect;
        ck_assert_uint_eq(ph.n, n);
        ck_assert_msg(fabs(ph.mean - mu) <= 1e-12 * (1.0 + fabs(mu)), "mean at %d", t);
        ck_assert_msg(fabs(ph.var - v) <= 1e-12 * (1.0 + v), "variance at %d", t);
        ck_assert_msg(fabs(ph.stat - g) <= 1e-9, "statistic at %d", t);
    }
    /* Four rises of 1.5σ in the stream. */
    ck_assert_int_ge(alarms, 4);
}
END_TEST

START_TEST(ph_outliers_are_capped)
{
    cscalp_drift_params p;
    cscalp_drift_params_default(&p);
    p.ph_lambda_sigma = 12.0;
    p.ph_step_cap_sigma = 2.5;
    cscalp_ph ph;
    char why[128];
    ck_assert_int_eq(cscalp_ph_init(&ph, &p, why, sizeof why), CSCALP_OK);
    /* 0, 1, 0, 1, …: μ = 0.5, σ = 0.5, so the steps are +0.5 and −1.5 and g
     * never exceeds 0.5 by more than rounding and the reference's wobble. */
    for (int t = 0; t < 2000; t++)
        ck_assert_int_eq(cscalp_ph_update(&ph, t % 2), 0);
    ck_assert(ph.stat <= 0.6);
    /* A loss of ln 10⁷ nats, 32σ above the mean: adds at most 2.5. */
    ck_assert_int_eq(cscalp_ph_update(&ph, 16.118), 0);
    ck_assert(ph.stat <= 3.1);
    for (int t = 0; t < 200; t++)
        ck_assert_int_eq(cscalp_ph_update(&ph, t % 2), 0);
    /* ⌈12 / 2.5⌉ = 5 in a row: the fifth raises the alarm. */
    for (int k = 1; k <= 5; k++)
        ck_assert_int_eq(cscalp_ph_update(&ph, 16.118), k == 5);
    ck_assert_uint_eq(ph.n, 1);
}
END_TEST

/* A level rising by 2σ over 200 000 samples: the adapting reference lags
 * it by ~0.07σ and raises nothing; a cumulative reference (H = 0) falls
 * ever further behind and raises alarms. */
START_TEST(ph_follows_a_slow_ramp)
{
    for (int cumulative = 0; cumulative <= 1; cumulative++) {
        cscalp_drift_params p;
        cscalp_drift_params_default(&p);
        if (cumulative)
            p.ph_ref_half_life_samples = 0.0;
        cscalp_ph ph;
        char why[128];
        ck_assert_int_eq(cscalp_ph_init(&ph, &p, why, sizeof why), CSCALP_OK);
        dt_rng rng = dt_seed(11);
        int alarms = 0;
        const int len = 200000;
        for (int t = 0; t < len; t++)
            alarms += cscalp_ph_update(&ph, dt_normal(&rng) + 2.0 * t / len);
        if (cumulative)
            ck_assert_int_gt(alarms, 0);
        else
            ck_assert_int_eq(alarms, 0);
    }
}
END_TEST

/* ---------------------------------------------------------------- ADWIN */

static void assert_histogram_invariants(const cscalp_adwin *a)
{
    uint64_t width = 0;
    ck_assert_uint_le(a->rows, CSCALP_ADWIN_MAX_ROWS);
    for (uint32_t r = 0; r < CSCALP_ADWIN_MAX_ROWS; r++) {
        ck_assert_uint_le(a->count[r], CSCALP_ADWIN_BUCKETS_PER_ROW);
        if (r >= a->rows)
            ck_assert_uint_eq(a->count[r], 0);
        width += (uint64_t)a->count[r] << r;
    }
    if (a->rows > 0)
        ck_assert_uint_gt(a->count[a->rows - 1], 0);
    ck_assert_uint_eq(width, a->width);
}

/* The window is always the newest `width` samples: its mean and variance
 * match a recomputation from the stream's history. */
START_TEST(adwin_window_is_the_newest_samples)
{
    cscalp_drift_params p;
    cscalp_drift_params_default(&p);
    cscalp_adwin a;
    char why[128];
    ck_assert_int_eq(cscalp_adwin_init(&a, &p, why, sizeof why), CSCALP_OK);
    enum { LEN = 30000 };
    static double hist[LEN];
    dt_rng rng = dt_seed(3);
    int rises = 0, falls = 0;
    for (int t = 0; t < LEN; t++) {
        /* Steps up and down every 4000 samples. */
        hist[t] = dt_normal(&rng) + 2.0 * (t / 4000 % 2);
        const int cut = cscalp_adwin_update(&a, hist[t]);
        rises += cut > 0;
        falls += cut < 0;
        assert_histogram_invariants(&a);
        ck_assert_uint_le(a.width, (uint64_t)t + 1);
        if (t % 97 == 0 || cut != 0) {
            double sum = 0.0;
            for (int i = t + 1 - (int)a.width; i <= t; i++)
                sum += hist[i];
            const double mean = sum / (double)a.width;
            double m2 = 0.0;
            for (int i = t + 1 - (int)a.width; i <= t; i++)
                m2 += (hist[i] - mean) * (hist[i] - mean);
            ck_assert_msg(fabs(cscalp_adwin_mean(&a) - mean) <= 1e-9, "mean at %d", t);
            ck_assert_msg(fabs(cscalp_adwin_variance(&a) - m2 / (double)a.width) <= 1e-9,
                          "variance at %d", t);
        }
    }
    /* Four rises and three falls of 2σ. */
    ck_assert_int_ge(rises, 4);
    ck_assert_int_ge(falls, 3);
    /* The last step was 2000 samples ago: the window holds little more. */
    ck_assert_uint_lt(a.width, 2600);
}
END_TEST

START_TEST(adwin_empty_window)
{
    cscalp_drift_params p;
    cscalp_drift_params_default(&p);
    cscalp_adwin a;
    char why[128];
    ck_assert_int_eq(cscalp_adwin_init(&a, &p, why, sizeof why), CSCALP_OK);
    ck_assert(isnan(cscalp_adwin_mean(&a)));
    ck_assert(isnan(cscalp_adwin_variance(&a)));
    ck_assert_int_eq(cscalp_adwin_update(&a, 2.0), 0);
    ck_assert(cscalp_adwin_mean(&a) == 2.0);
    ck_assert(cscalp_adwin_variance(&a) == 0.0);
}
END_TEST

/* ------------------------------------------------------------- combined */

START_TEST(constant_input_raises_nothing)
{
    cscalp_drift d = make_default();
    for (int t = 0; t < 200000; t++)
        ck_assert_int_eq(cscalp_drift_update(&d, 0.7), 0);
    cscalp_drift_stats st;
    cscalp_drift_get_stats(&d, &st);
    ck_assert_uint_eq(st.samples, 200000);
    ck_assert_uint_eq(st.ph_alarms + st.adwin_alarms + st.adwin_shrinks, 0);
    ck_assert_int_eq(st.ph_armed, 1);
    ck_assert(st.ph_mean == 0.7);
    ck_assert(st.ph_sigma == 0.0);
    ck_assert(st.ph_statistic == 0.0);
    ck_assert_uint_eq(st.adwin_width, 200000);
    ck_assert(fabs(st.adwin_mean - 0.7) < 1e-12);
}
END_TEST

START_TEST(large_step_raises_both)
{
    cscalp_drift d = make_default();
    dt_rng rng = dt_seed(5);
    for (int t = 0; t < 3000; t++)
        ck_assert_int_eq(cscalp_drift_update(&d, 1.0 + 0.3 * dt_normal(&rng)), 0);
    int ph_at = 0, adwin_at = 0;
    for (int t = 1; t <= 500; t++) {
        const int fired = cscalp_drift_update(&d, 2.5 + 0.3 * dt_normal(&rng));
        if (!ph_at && (fired & CSCALP_DRIFT_PH))
            ph_at = t;
        if (!adwin_at && (fired & CSCALP_DRIFT_ADWIN))
            adwin_at = t;
    }
    /* 5σ: every Page-Hinkley step is capped at 2σ, so it needs ⌈11 / 2⌉ = 6
     * samples (fewer if g was above 0); ADWIN fires at one of its first
     * checks. */
    ck_assert_int_gt(ph_at, 0);
    ck_assert_int_le(ph_at, 6);
    ck_assert_int_gt(adwin_at, 0);
    ck_assert_int_le(adwin_at, 64);
    ck_assert_uint_ge(d.ph_alarms, 1);
    ck_assert_uint_ge(d.adwin_alarms, 1);
}
END_TEST

START_TEST(fall_is_not_drift)
{
    cscalp_drift d = make_default();
    dt_rng rng = dt_seed(6);
    for (int t = 0; t < 3000; t++)
        ck_assert_int_eq(cscalp_drift_update(&d, 2.5 + 0.3 * dt_normal(&rng)), 0);
    for (int t = 0; t < 3000; t++)
        ck_assert_int_eq(cscalp_drift_update(&d, 1.0 + 0.3 * dt_normal(&rng)), 0);
    ck_assert_uint_eq(d.ph_alarms + d.adwin_alarms, 0);
    ck_assert_uint_ge(d.adwin_shrinks, 1);
    cscalp_drift_stats st;
    cscalp_drift_get_stats(&d, &st);
    /* ADWIN dropped the old level; the Page-Hinkley reference follows it
     * at its own pace (1/n, then the half-life). */
    ck_assert_uint_le(st.adwin_width, 3200);
    ck_assert(fabs(st.adwin_mean - 1.0) < 0.05);
}
END_TEST

START_TEST(restart_keeps_counters)
{
    cscalp_drift d = make_default();
    dt_rng rng = dt_seed(8);
    for (int t = 0; t < 2000; t++)
        cscalp_drift_update(&d, dt_normal(&rng) + (t >= 1000 ? 4.0 : 0.0));
    cscalp_drift_update(&d, DT_NAN);
    cscalp_drift before;
    memcpy(&before, &d, sizeof d); /* with its padding, for memcmp */
    ck_assert_uint_ge(before.ph_alarms, 1);
    cscalp_drift_restart(&d);
    ck_assert_uint_eq(d.samples, before.samples);
    ck_assert_uint_eq(d.ignored, 1);
    ck_assert_uint_eq(d.ph_alarms, before.ph_alarms);
    ck_assert_uint_eq(d.adwin_alarms, before.adwin_alarms);
    cscalp_drift_stats st;
    cscalp_drift_get_stats(&d, &st);
    ck_assert_int_eq(st.ph_armed, 0);
    ck_assert(isnan(st.ph_mean));
    ck_assert_uint_eq(st.adwin_width, 0);
    ck_assert(isnan(st.adwin_mean));
    /* A restarted detector behaves like a new one with the same counters. */
    cscalp_drift fresh = make_default();
    fresh.samples = d.samples;
    fresh.ignored = d.ignored;
    fresh.ph_alarms = d.ph_alarms;
    fresh.adwin_alarms = d.adwin_alarms;
    fresh.adwin_shrinks = d.adwin_shrinks;
    assert_same_bytes(&d, &fresh);
}
END_TEST

/* ----------------------------------------------------------- parameters */

typedef struct bad_param {
    const char *name;
    void (*spoil)(cscalp_drift_params *p);
} bad_param;

#define SPOIL(tag, field, value)                                                         \
    static void spoil_##tag(cscalp_drift_params *p) { p->field = value; }
SPOIL(delta_neg, ph_delta_sigma, -0.1)
SPOIL(delta_big, ph_delta_sigma, 10.5)
SPOIL(delta_nan, ph_delta_sigma, DT_NAN)
SPOIL(lambda_zero, ph_lambda_sigma, 0.0)
SPOIL(lambda_inf, ph_lambda_sigma, DT_INF)
SPOIL(cap_zero, ph_step_cap_sigma, 0.0)
SPOIL(cap_nan, ph_step_cap_sigma, DT_NAN)
SPOIL(warmup_one, ph_warmup_samples, 1)
SPOIL(warmup_big, ph_warmup_samples, 100000001u)
SPOIL(half_life_half, ph_ref_half_life_samples, 0.5)
SPOIL(half_life_neg, ph_ref_half_life_samples, -1.0)
SPOIL(half_life_inf, ph_ref_half_life_samples, DT_INF)
SPOIL(min_sigma_zero, ph_min_sigma, 0.0)
SPOIL(min_sigma_inf, ph_min_sigma, DT_INF)
SPOIL(adwin_delta_zero, adwin_delta, 0.0)
SPOIL(adwin_delta_one, adwin_delta, 1.0)
SPOIL(adwin_delta_nan, adwin_delta, DT_NAN)
SPOIL(clock_zero, adwin_clock_samples, 0)
SPOIL(clock_big, adwin_clock_samples, CSCALP_ADWIN_MAX_CLOCK + 1)
SPOIL(subwindow_zero, adwin_min_subwindow_samples, 0)
SPOIL(subwindow_big, adwin_min_subwindow_samples, CSCALP_ADWIN_MAX_CLOCK + 1)

static const bad_param bad_params[] = {
    {"ph_delta_sigma", spoil_delta_neg},
    {"ph_delta_sigma", spoil_delta_big},
    {"ph_delta_sigma", spoil_delta_nan},
    {"ph_lambda_sigma", spoil_lambda_zero},
    {"ph_lambda_sigma", spoil_lambda_inf},
    {"ph_step_cap_sigma", spoil_cap_zero},
    {"ph_step_cap_sigma", spoil_cap_nan},
    {"ph_warmup_samples", spoil_warmup_one},
    {"ph_warmup_samples", spoil_warmup_big},
    {"ph_ref_half_life_samples", spoil_half_life_half},
    {"ph_ref_half_life_samples", spoil_half_life_neg},
    {"ph_ref_half_life_samples", spoil_half_life_inf},
    {"ph_min_sigma", spoil_min_sigma_zero},
    {"ph_min_sigma", spoil_min_sigma_inf},
    {"adwin_delta", spoil_adwin_delta_zero},
    {"adwin_delta", spoil_adwin_delta_one},
    {"adwin_delta", spoil_adwin_delta_nan},
    {"adwin_clock_samples", spoil_clock_zero},
    {"adwin_clock_samples", spoil_clock_big},
    {"adwin_min_subwindow_samples", spoil_subwindow_zero},
    {"adwin_min_subwindow_samples", spoil_subwindow_big},
};

START_TEST(parameters_are_checked)
{
    cscalp_drift_params def;
    cscalp_drift_params_default(&def);
    char why[256];
    ck_assert_int_eq(cscalp_drift_params_check(&def, why, sizeof why), CSCALP_OK);

    /* The edges of every range are accepted, including the learner's
     * configuration ranges (learn.drift_*). */
    cscalp_drift_params edge = def;
    edge.ph_delta_sigma = 10.0;
    edge.ph_lambda_sigma = 0.1;
    edge.ph_warmup_samples = 2;
    edge.ph_ref_half_life_samples = 0.0;
    edge.adwin_delta = 1e-12;
    edge.adwin_clock_samples = 1;
    edge.adwin_min_subwindow_samples = 1;
    ck_assert_int_eq(cscalp_drift_params_check(&edge, why, sizeof why), CSCALP_OK);
    edge.ph_delta_sigma = 0.0;
    edge.ph_lambda_sigma = 1000.0;
    edge.ph_ref_half_life_samples = 1.0;
    edge.adwin_delta = 0.5;
    ck_assert_int_eq(cscalp_drift_params_check(&edge, why, sizeof why), CSCALP_OK);

    for (size_t i = 0; i < sizeof bad_params / sizeof bad_params[0]; i++) {
        cscalp_drift_params p = def;
        bad_params[i].spoil(&p);
        why[0] = '\0';
        ck_assert_int_eq(cscalp_drift_params_check(&p, why, sizeof why),
                         CSCALP_ECONFIG_RANGE);
        ck_assert_msg(strstr(why, bad_params[i].name) != NULL, "case %zu: \"%s\"", i, why);

        cscalp_drift d = make_default();
        cscalp_drift_update(&d, 1.0);
        cscalp_drift before;
        memcpy(&before, &d, sizeof d); /* with its padding, for memcmp */
        why[0] = '\0';
        ck_assert_int_eq(cscalp_drift_init(&d, &p, why, sizeof why), CSCALP_ECONFIG_RANGE);
        ck_assert_msg(strstr(why, bad_params[i].name) != NULL, "case %zu: \"%s\"", i, why);
        ck_assert(memcmp(&d, &before, sizeof d) == 0);
    }
    /* A small buffer gets a truncated, terminated message. */
    cscalp_drift_params p = def;
    p.adwin_delta = 2.0;
    char tiny[8];
    ck_assert_int_eq(cscalp_drift_params_check(&p, tiny, sizeof tiny), CSCALP_ECONFIG_RANGE);
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
}
END_TEST

/* ------------------------------------------------------------ bad input */

START_TEST(non_finite_inputs_are_ignored)
{
    cscalp_drift d = make_default(), twin = make_default();
    dt_rng rng = dt_seed(9);
    const double junk[] = {DT_NAN, DT_INF, -DT_INF, 1e300, -1e101};
    uint64_t ignored = 0;
    for (int t = 0; t < 20000; t++) {
        const double x = dt_normal(&rng) + (t >= 10000 ? 3.0 : 0.0);
        if (t % 7 == 0) {
            ck_assert_int_eq(cscalp_drift_update(&d, junk[t % 5]), 0);
            ignored++;
        }
        ck_assert_int_eq(cscalp_drift_update(&d, x), cscalp_drift_update(&twin, x));
    }
    ck_assert_uint_eq(d.ignored, ignored);
    ck_assert_uint_eq(d.samples, 20000);
    ck_assert_uint_ge(d.ph_alarms, 1);
    twin.ignored = d.ignored;
    assert_same_bytes(&d, &twin);
    /* The detectors alone refuse them too. */
    cscalp_drift before;
    memcpy(&before, &d, sizeof d); /* with its padding, for memcmp */
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        ck_assert_int_eq(cscalp_ph_update(&d.ph, junk[i]), 0);
        ck_assert_int_eq(cscalp_adwin_update(&d.adwin, junk[i]), 0);
    }
    ck_assert(memcmp(&d, &before, sizeof d) == 0);
    /* The largest accepted magnitude does not overflow anything. */
    for (int t = 0; t < 5000; t++)
        cscalp_drift_update(&d, (t % 2 ? 1.0 : -1.0) * CSCALP_DRIFT_MAX_ABS_INPUT);
    cscalp_drift_stats st;
    cscalp_drift_get_stats(&d, &st);
    ck_assert(isfinite(st.ph_mean) && isfinite(st.ph_sigma) && isfinite(st.ph_statistic));
    ck_assert(isfinite(st.adwin_mean) && isfinite(st.adwin_sigma));
}
END_TEST

/* ---------------------------------------------------------- checkpoints */

/* A stream with rises and falls, so both detectors have alarmed, shrunk
 * and hold a mid-warm-up or mid-window state somewhere. */
static double stream_at(dt_rng *rng, int t)
{
    static const double level[] = {0.0, 1.5, 0.5, 3.0, 1.0};
    return 0.8 + 0.4 * (level[t / 1700 % 5] + dt_normal(rng));
}

START_TEST(save_load_continues_identically)
{
    const cscalp_allocator mem = plain();
    /* Checkpoints at several points: inside the first warm-up, just after
     * an alarm, in the middle of an ADWIN clock period. */
    const int cut_at[] = {0, 37, 1750, 3461, 5000, 6843};
    for (size_t c = 0; c < sizeof cut_at / sizeof cut_at[0]; c++) {
        cscalp_drift d = make_default();
        dt_rng rng = dt_seed(12);
        int t = 0;
        for (; t < cut_at[c]; t++)
            cscalp_drift_update(&d, stream_at(&rng, t));
        cscalp_drift_update(&d, DT_NAN);

        cscalp_wbuf w = saved(&d, &mem);
        cscalp_drift loaded = make_default();
        cscalp_rbuf r;
        cscalp_rbuf_init(&r, w.data, w.len);
        char why[256] = "";
        ck_assert_msg(cscalp_drift_load(&loaded, &r, why, sizeof why) == CSCALP_OK, "%s", why);
        ck_assert_uint_eq(cscalp_rbuf_left(&r), 0);
        cscalp_wbuf_free(&w);
        assert_same_bytes(&d, &loaded);

        int alarms = 0;
        for (; t < 20000; t++) {
            const double x = stream_at(&rng, t);
            const int a = cscalp_drift_update(&d, x), b = cscalp_drift_update(&loaded, x);
            ck_assert_int_eq(a, b);
            alarms += a != 0;
        }
        ck_assert_int_gt(alarms, 2);
        assert_same_bytes(&d, &loaded);
        cscalp_drift_stats sa, sb;
        cscalp_drift_get_stats(&d, &sa);
        cscalp_drift_get_stats(&loaded, &sb);
        ck_assert(memcmp(&sa, &sb, sizeof sa) == 0);
    }
}
END_TEST

/* A checkpoint of a busy detector, for the corruption tests. */
static cscalp_wbuf busy_checkpoint(const cscalp_allocator *mem)
{
    cscalp_drift d = make_default();
    dt_rng rng = dt_seed(13);
    for (int t = 0; t < 7777; t++)
        cscalp_drift_update(&d, stream_at(&rng, t));
    return saved(&d, mem);
}

/* A detector that has seen other data, so "unchanged" is visible. */
static cscalp_drift bystander(void)
{
    cscalp_drift d = make_default();
    dt_rng rng = dt_seed(14);
    for (int t = 0; t < 999; t++)
        cscalp_drift_update(&d, dt_normal(&rng));
    return d;
}

static int try_load(cscalp_drift *d, const uint8_t *data, size_t len, char *why, size_t cap)
{
    cscalp_rbuf r;
    cscalp_rbuf_init(&r, data, len);
    return cscalp_drift_load(d, &r, why, cap);
}

START_TEST(load_refuses_truncation)
{
    const cscalp_allocator mem = plain();
    cscalp_wbuf w = busy_checkpoint(&mem);
    for (size_t len = 0; len < w.len; len++) {
        cscalp_drift d = bystander();
        cscalp_drift before;
        memcpy(&before, &d, sizeof d); /* with its padding, for memcmp */
        char why[256] = "";
        ck_assert_int_eq(try_load(&d, w.data, len, why, sizeof why), CSCALP_ECORRUPT);
        ck_assert_msg(strncmp(why, "drift: ", 7) == 0, "len %zu: \"%s\"", len, why);
        ck_assert(memcmp(&d, &before, sizeof d) == 0);
    }
    cscalp_wbuf_free(&w);
}
END_TEST

/* Every byte flipped in turn: refused with the target unchanged, or (a flip
 * in a mantissa, a counter) accepted as a state that stays sane. */
START_TEST(load_survives_every_byte_flip)
{
    const cscalp_allocator mem = plain();
    cscalp_wbuf w = busy_checkpoint(&mem);
    int refused = 0;
    for (size_t i = 0; i < w.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            w.data[i] ^= (uint8_t)(1u << bit);
            cscalp_drift d = bystander();
            cscalp_drift before;
            memcpy(&before, &d, sizeof d); /* with its padding, for memcmp */
            char why[256] = "";
            const int rc = try_load(&d, w.data, w.len, why, sizeof why);
            w.data[i] ^= (uint8_t)(1u << bit);
            if (rc != CSCALP_OK) {
                ck_assert_int_eq(rc, CSCALP_ECORRUPT);
                ck_assert(memcmp(&d, &before, sizeof d) == 0);
                refused++;
                continue;
            }
            dt_rng rng = dt_seed(15);
            for (int t = 0; t < 300; t++)
                cscalp_drift_update(&d, dt_normal(&rng));
            cscalp_drift_stats st;
            cscalp_drift_get_stats(&d, &st);
            ck_assert(isfinite(st.ph_mean) && isfinite(st.ph_sigma));
            ck_assert(isfinite(st.ph_statistic) && st.ph_statistic >= 0.0);
            assert_histogram_invariants(&d.adwin);
        }
    }
    ck_assert_int_gt(refused, 0);
    cscalp_wbuf_free(&w);
}
END_TEST

/* The checkpoint layout (drift.c, cscalp_drift_save): offsets of fields. */
enum {
    OFF_M = 0,
    OFF_R = 4,
    OFF_SAMPLES = 8,
    OFF_PH_ALARMS = 24,
    OFF_PH_N = 48,
    OFF_PH_MEAN = 56,
    OFF_PH_VAR = 64,
    OFF_PH_STAT = 72,
    OFF_SINCE_CHECK = 80,
    OFF_WIDTH = 84,
    OFF_RESIDUE = 92,
    OFF_ROWS = 100,
    OFF_ROW0_COUNT = 104,
    OFF_ROW0_SUM = 108,
    OFF_ROW0_M2 = 116
};

static void put_u32_at(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64_at(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f64_at(uint8_t *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_u64_at(p, u);
}

static uint64_t get_u64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

START_TEST(load_refuses_inconsistent_fields)
{
    const cscalp_allocator mem = plain();
    cscalp_wbuf w = busy_checkpoint(&mem);
    const uint64_t samples = get_u64_at(w.data + OFF_SAMPLES);
    ck_assert_uint_eq(samples, 7777);

    uint8_t *copy = malloc(w.len);
    ck_assert_ptr_nonnull(copy);
    struct {
        const char *what;
        size_t off;
        int kind; /* 0 u32, 1 u64, 2 f64 := value; 3 u64 += value */
        double value;
        const char *expect; /* in the message */
    } cases[] = {
        {"buckets per row", OFF_M, 0, 4, "histogram saved with"},
        {"rows", OFF_R, 0, 33, "histogram saved with"},
        {"ph alarms > samples", OFF_PH_ALARMS, 1, 7778, "more alarms than samples"},
        {"ph n > samples", OFF_PH_N, 1, 7778, "reference holds more samples"},
        {"ph mean NaN", OFF_PH_MEAN, 2, DT_NAN, "not finite or out of range"},
        {"ph mean huge", OFF_PH_MEAN, 2, 1e101, "not finite or out of range"},
        {"ph variance negative", OFF_PH_VAR, 2, -1.0, "not finite or out of range"},
        {"ph variance infinite", OFF_PH_VAR, 2, DT_INF, "not finite or out of range"},
        {"ph statistic negative", OFF_PH_STAT, 2, -0.5, "not finite or out of range"},
        {"ph statistic NaN", OFF_PH_STAT, 2, DT_NAN, "not finite or out of range"},
        {"check counter", OFF_SINCE_CHECK, 0, CSCALP_ADWIN_MAX_CLOCK, "check counter"},
        {"width off by one", OFF_WIDTH, 3, 1, "do not add up"},
        {"width > samples", OFF_WIDTH, 1, 7778, "ADWIN window holds more"},
        {"alarm residue > width", OFF_RESIDUE, 1, 7778, "alarm residue"},
        {"rows beyond the histogram", OFF_ROWS, 0, 33, "more histogram rows"},
        {"row count beyond the row", OFF_ROW0_COUNT, 0, 6, "more buckets than fit"},
        {"bucket sum NaN", OFF_ROW0_SUM, 2, DT_NAN, "bucket sum or deviations"},
        {"single-sample bucket with deviations", OFF_ROW0_M2, 2, 0.25,
         "bucket sum or deviations"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(copy, w.data, w.len);
        uint8_t *at = copy + cases[i].off;
        if (cases[i].kind == 0)
            put_u32_at(at, (uint32_t)cases[i].value);
        else if (cases[i].kind == 1)
            put_u64_at(at, (uint64_t)cases[i].value);
        else if (cases[i].kind == 2)
            put_f64_at(at, cases[i].value);
        else
            put_u64_at(at, get_u64_at(at) + (uint64_t)cases[i].value);
        cscalp_drift d = bystander();
        cscalp_drift before;
        memcpy(&before, &d, sizeof d); /* with its padding, for memcmp */
        char why[256] = "";
        ck_assert_msg(try_load(&d, copy, w.len, why, sizeof why) == CSCALP_ECORRUPT,
                      "%s accepted", cases[i].what);
        ck_assert_msg(strncmp(why, "drift: ", 7) == 0 && strstr(why, cases[i].expect) != NULL,
                      "%s: \"%s\"", cases[i].what, why);
        ck_assert(memcmp(&d, &before, sizeof d) == 0);
    }

    /* An empty oldest row: a checkpoint of a one-sample window, its single
     * bucket's count set to 0. */
    cscalp_drift one = make_default();
    cscalp_drift_update(&one, 1.0);
    cscalp_wbuf w1 = saved(&one, &mem);
    put_u32_at(w1.data + OFF_ROW0_COUNT, 0);
    put_u64_at(w1.data + OFF_WIDTH, 0);
    cscalp_drift d = bystander();
    cscalp_drift before;
    memcpy(&before, &d, sizeof d); /* with its padding, for memcmp */
    char why[256] = "";
    ck_assert_int_eq(try_load(&d, w1.data, w1.len, why, sizeof why), CSCALP_ECORRUPT);
    ck_assert_msg(strstr(why, "oldest row is empty") != NULL, "\"%s\"", why);
    ck_assert(memcmp(&d, &before, sizeof d) == 0);
    cscalp_wbuf_free(&w1);
    free(copy);
    cscalp_wbuf_free(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("drift");
    TCase *tp = tcase_create("page_hinkley");
    tcase_set_timeout(tp, 120);
    tcase_add_test(tp, ph_follows_the_documented_recursion);
    tcase_add_test(tp, ph_outliers_are_capped);
    tcase_add_test(tp, ph_follows_a_slow_ramp);
    suite_add_tcase(s, tp);
    TCase *ta = tcase_create("adwin");
    tcase_set_timeout(ta, 120);
    tcase_add_test(ta, adwin_window_is_the_newest_samples);
    tcase_add_test(ta, adwin_empty_window);
    suite_add_tcase(s, ta);
    TCase *tc = tcase_create("combined");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, constant_input_raises_nothing);
    tcase_add_test(tc, large_step_raises_both);
    tcase_add_test(tc, fall_is_not_drift);
    tcase_add_test(tc, restart_keeps_counters);
    tcase_add_test(tc, parameters_are_checked);
    tcase_add_test(tc, non_finite_inputs_are_ignored);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("checkpoints");
    tcase_set_timeout(tk, 120);
    tcase_add_test(tk, save_load_continues_identically);
    tcase_add_test(tk, load_refuses_truncation);
    tcase_add_test(tk, load_survives_every_byte_flip);
    tcase_add_test(tk, load_refuses_inconsistent_fields);
    suite_add_tcase(s, tk);
    return s;
}

int main(void) { return dt_run(suite()); }
