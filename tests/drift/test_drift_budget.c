/* The drift detectors' budget (the acceptance criterion; docs/drift.md
 * quotes these figures): with the default parameters,
 * - detection delay after a 1σ rise of the mean of N(0, 1) noise, the rise
 *   at a random point 1000–1999 samples into a fresh detector, over 1000
 *   trials: mean, median and p90 delay and misses (no alarm within 1000
 *   samples of the rise), per detector and combined;
 * - false alarms on 100 stationary streams of 100 000 N(0, 1) samples, a
 *   fresh detector each (so every warm-up is in the count);
 * and the same on a skewed, loss-like stream: the log-loss −ln p of a true
 *   class whose probability is p = U^(1/2) (a Beta(2, 1) draw; the loss is
 *   exponential with mean and σ 0.5 nats), floored like the scorer's at
 *   1e-7; the rise multiplies p by e^(−σ), i.e. adds σ = 0.5 nats to every
 *   loss.
 * Budgets, asserted on both streams: combined mean delay ≤ 30 samples, no
 * combined miss, combined false alarms ≤ 1 per 100 000 samples. One JSON
 * line per stream goes to stdout (meson test -v shows it). */
#include <stdio.h>
#include <string.h>

#include "drift_util.h"
#include "learn/drift.h"

#define TRIALS 1000
#define PRE_MIN 1000
#define PRE_SPREAD 1000
#define HORIZON 1000
#define STATIONARY_STREAMS 100
#define STATIONARY_LEN 100000

#define BUDGET_MEAN_DELAY 30.0
#define BUDGET_FALSE_PER_100K 1.0

enum { PH, ADWIN, COMBINED, KINDS };
static const char *const kind_names[KINDS] = {"ph", "adwin", "combined"};

typedef enum stream { GAUSSIAN, LOSS_LIKE } stream;

#define LOSS_SIGMA 0.5

static double sample(stream s, dt_rng *g, int shifted)
{
    if (s == GAUSSIAN)
        return dt_normal(g) + (shifted ? 1.0 : 0.0);
    double p = sqrt(dt_uniform(g));
    if (shifted)
        p *= exp(-LOSS_SIGMA);
    return -log(p > 1e-7 ? p : 1e-7);
}

typedef struct delay_stats {
    double mean, median, p90;
    int detected, misses;
} delay_stats;

static int cmp_int(const void *a, const void *b)
{
    const int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentiles over the detected trials. */
static delay_stats summarise(int *delays, int n)
{
    delay_stats st = {DT_NAN, DT_NAN, DT_NAN, 0, 0};
    int k = 0;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (delays[i] > 0) {
            delays[k++] = delays[i];
            sum += delays[i];
        }
    }
    st.detected = k;
    st.misses = n - k;
    if (k == 0)
        return st;
    qsort(delays, (size_t)k, sizeof *delays, cmp_int);
    st.mean = sum / k;
    st.median = delays[(k + 1) / 2 - 1];
    st.p90 = delays[(int)ceil(0.9 * k) - 1];
    return st;
}

typedef struct report {
    delay_stats delay[KINDS];
    long pre_shift_alarms[KINDS];
    double adwin_alarms_per_rise;
    long false_alarms[KINDS];
    long stationary_samples;
} report;

static int mask_has(int fired, int kind)
{
    return kind == PH ? (fired & CSCALP_DRIFT_PH) != 0
         : kind == ADWIN ? (fired & CSCALP_DRIFT_ADWIN) != 0 : fired != 0;
}

static void measure(stream s, report *rep)
{
    memset(rep, 0, sizeof *rep);
    cscalp_drift_params p;
    cscalp_drift_params_default(&p);
    char why[256];
    static int delays[KINDS][TRIALS];
    long adwin_after = 0;

    dt_rng g = dt_seed(s == GAUSSIAN ? 20261124 : 20261125);
    for (int t = 0; t < TRIALS; t++) {
        cscalp_drift d;
        ck_assert_int_eq(cscalp_drift_init(&d, &p, why, sizeof why), CSCALP_OK);
        const int pre = PRE_MIN + (int)dt_below(&g, PRE_SPREAD);
        for (int i = 0; i < pre; i++) {
            const int fired = cscalp_drift_update(&d, sample(s, &g, 0));
            for (int k = 0; k < KINDS; k++)
                rep->pre_shift_alarms[k] += mask_has(fired, k);
        }
        for (int k = 0; k < KINDS; k++)
            delays[k][t] = 0;
        for (int i = 1; i <= HORIZON; i++) {
            const int fired = cscalp_drift_update(&d, sample(s, &g, 1));
            for (int k = 0; k < KINDS; k++)
                if (delays[k][t] == 0 && mask_has(fired, k))
                    delays[k][t] = i;
            adwin_after += mask_has(fired, ADWIN);
        }
    }
    for (int k = 0; k < KINDS; k++)
        rep->delay[k] = summarise(delays[k], TRIALS);
    rep->adwin_alarms_per_rise = (double)adwin_after / TRIALS;

    g = dt_seed(s == GAUSSIAN ? 1124 : 1125);
    for (int t = 0; t < STATIONARY_STREAMS; t++) {
        cscalp_drift d;
        ck_assert_int_eq(cscalp_drift_init(&d, &p, why, sizeof why), CSCALP_OK);
        for (int i = 0; i < STATIONARY_LEN; i++) {
            const int fired = cscalp_drift_update(&d, sample(s, &g, 0));
            for (int k = 0; k < KINDS; k++)
                rep->false_alarms[k] += mask_has(fired, k);
        }
        rep->stationary_samples += STATIONARY_LEN;
    }
}

static double per_100k(const report *rep, int kind)
{
    return 1e5 * (double)rep->false_alarms[kind] / (double)rep->stationary_samples;
}

static int within_budget(const report *rep)
{
    const delay_stats *c = &rep->delay[COMBINED];
    return c->misses == 0 && c->mean <= BUDGET_MEAN_DELAY &&
           per_100k(rep, COMBINED) <= BUDGET_FALSE_PER_100K;
}

static void print_report(const char *name, const report *rep)
{
    cscalp_drift_params p;
    cscalp_drift_params_default(&p);
    printf("{\"report\":\"drift_budget\",\"stream\":\"%s\",\"params\":{\"ph_delta_sigma\":%g,"
           "\"ph_lambda_sigma\":%g,\"ph_step_cap_sigma\":%g,\"ph_warmup_samples\":%u,"
           "\"ph_ref_half_life_samples\":%g,\"adwin_delta\":%g,\"adwin_clock_samples\":%u,"
           "\"adwin_min_subwindow_samples\":%u},\"trials\":%d,\"shift_sigma\":1,"
           "\"horizon_samples\":%d,\"delay\":{",
           name, p.ph_delta_sigma, p.ph_lambda_sigma, p.ph_step_cap_sigma,
           p.ph_warmup_samples, p.ph_ref_half_life_samples, p.adwin_delta,
           p.adwin_clock_samples, p.adwin_min_subwindow_samples, TRIALS, HORIZON);
    for (int k = 0; k < KINDS; k++) {
        const delay_stats *st = &rep->delay[k];
        printf("%s\"%s\":{\"mean\":%.2f,\"median\":%.0f,\"p90\":%.0f,\"misses\":%d}",
               k ? "," : "", kind_names[k], st->mean, st->median, st->p90, st->misses);
    }
    printf("},\"pre_shift_alarms\":{\"ph\":%ld,\"adwin\":%ld,\"combined\":%ld},"
           "\"adwin_alarms_per_rise\":%.3f,\"stationary_samples\":%ld,\"false_alarms\":{",
           rep->pre_shift_alarms[PH], rep->pre_shift_alarms[ADWIN],
           rep->pre_shift_alarms[COMBINED], rep->adwin_alarms_per_rise,
           rep->stationary_samples);
    for (int k = 0; k < KINDS; k++)
        printf("%s\"%s\":%ld", k ? "," : "", kind_names[k], rep->false_alarms[k]);
    printf("},\"false_alarms_per_100k\":{");
    for (int k = 0; k < KINDS; k++)
        printf("%s\"%s\":%.3f", k ? "," : "", kind_names[k], per_100k(rep, k));
    printf("},\"budget\":{\"combined_mean_delay_max\":%g,\"combined_false_alarms_per_100k_max\":"
           "%g},\"within_budget\":%s}\n",
           BUDGET_MEAN_DELAY, BUDGET_FALSE_PER_100K, within_budget(rep) ? "true" : "false");
    fflush(stdout);
}

static void assert_budget(const report *rep)
{
    const delay_stats *c = &rep->delay[COMBINED];
    ck_assert_msg(c->misses == 0, "%d of %d rises never detected", c->misses, TRIALS);
    ck_assert_msg(c->mean <= BUDGET_MEAN_DELAY, "combined mean delay %.2f > %g samples",
                  c->mean, BUDGET_MEAN_DELAY);
    ck_assert_msg(per_100k(rep, COMBINED) <= BUDGET_FALSE_PER_100K,
                  "%.3f false alarms per 100k stationary samples > %g", per_100k(rep, COMBINED),
                  BUDGET_FALSE_PER_100K);
}

START_TEST(budget_gaussian)
{
    report rep;
    measure(GAUSSIAN, &rep);
    print_report("gaussian", &rep);
    assert_budget(&rep);
}
END_TEST

START_TEST(budget_loss_like)
{
    report rep;
    measure(LOSS_LIKE, &rep);
    print_report("loss_like", &rep);
    assert_budget(&rep);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("drift_budget");
    TCase *tc = tcase_create("budget");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, budget_gaussian);
    tcase_add_test(tc, budget_loss_like);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return dt_run(suite()); }
