/* The engine's regime model against ground truth (docs/regime.md,
 * "Validation"): streams of the synthetic regime market
 * (cryptoscalp_sim.h) through an engine with learning off; once a second
 * the signal's regime is compared with the generator's true regime.
 *
 *  - accuracy after warm-up ≥ 90 %, with the confusion matrix reported;
 *    the states' canonical order (by volatility) must match the
 *    generator's (calm, trending, violent), no relabelling;
 *  - delay to recognise a switch, in events and seconds, reported;
 *  - REGIME_CHANGED health events match the changes of the signal's
 *    regime, and the per-regime policy parameters move with the posterior.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"
#include "test_util.h"

#define NS_PER_S 1000000000LL

typedef struct change_log {
    long events;
    int last_to;
} change_log;

static void on_health(const cscalp_health_event *ev, void *user)
{
    change_log *log = user;
    if (ev->event != CSCALP_EVENT_REGIME_CHANGED)
        return;
    ck_assert_int_eq(ev->severity, CSCALP_SEVERITY_INFO);
    ck_assert_int_eq(ev->component, CSCALP_COMPONENT_REGIME);
    ck_assert_ptr_nonnull(strstr(ev->message, "posterior"));
    int from = -1, to = -1;
    ck_assert_int_eq(sscanf(ev->message, "regime %d -> %d", &from, &to), 2);
    ck_assert_int_ne(from, to);
    log->events++;
    log->last_to = to;
}

/* Regimes that last minutes, as in markets (the generator's defaults are
 * shorter, for stress): a 60 s volatility window needs tens of seconds to
 * see a switch, so 45 s regimes would be mostly transition. */
static void market_config(cscalp_sim_market_config *mc, uint64_t seed)
{
    mc->size = sizeof *mc;
    ck_assert_int_eq(cscalp_sim_market_config_init(mc), CSCALP_OK);
    mc->seed = seed;
    mc->books_per_s = 1;
    mc->regimes[0].mean_duration_s = 1200;
    mc->regimes[1].mean_duration_s = 600;
    mc->regimes[2].mean_duration_s = 400;
}

typedef struct truth_run {
    long steps;           /* seconds scored after warm-up */
    long correct;
    long confusion[3][3]; /* [true][engine] */
    long switches, recognised;
    double delay_events_sum, delay_s_sum;
    double delays_s[4096];
    long health_changes, signal_changes, state_moves;
} truth_run;

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run_truth(uint64_t seed, double hours, truth_run *out)
{
    memset(out, 0, sizeof *out);
    cscalp_sim_market_config mc;
    market_config(&mc, seed);
    cscalp_sim_market *m = NULL;
    char err[256];
    ck_assert_msg(cscalp_sim_market_open(&m, &mc, NULL, err, sizeof err) == CSCALP_OK, "%s",
                  err);
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, "{\"learn\":{\"mode\":\"off\"}}"), CSCALP_OK);
    change_log log = {0, -1};
    cscalp_set_health_callback(e, on_health, &log);

    cscalp_sim_market_event ev;
    ev.size = sizeof ev;
    const int64_t end = mc.start_time_ns + (int64_t)(hours * 3600.0 * NS_PER_S);
    int64_t next_check = mc.start_time_ns + NS_PER_S;
    int prev_true = -1, pending_switch = 0, prev_signal = 0;
    int64_t switch_ns = 0;
    long switch_index = 0, index = 0;
    for (;;) {
        ck_assert_int_eq(cscalp_sim_market_next(m, &ev), CSCALP_OK);
        if (ev.ts_ns > end)
            break;
        int rc = CSCALP_OK;
        if (ev.kind == CSCALP_KIND_QUOTE)
            rc = cscalp_push_quote(e, &ev.quote);
        else if (ev.kind == CSCALP_KIND_TRADE)
            rc = cscalp_push_trade(e, &ev.trade);
        else
            rc = cscalp_push_book(e, &ev.book);
        ck_assert_msg(rc == CSCALP_OK, "event %ld refused: %s", index, cscalp_last_error(e));
        index++;
        if (ev.regime != prev_true) {
            if (prev_true >= 0) {
                out->switches++;
                pending_switch = 1;
                switch_ns = ev.ts_ns;
                switch_index = index;
            }
            prev_true = ev.regime;
        }
        if (ev.ts_ns < next_check)
            continue;
        next_check = (ev.ts_ns / NS_PER_S + 1) * NS_PER_S;
        cscalp_signal s;
        s.size = sizeof s;
        ck_assert_int_eq(cscalp_infer(e, &s), CSCALP_OK);
        ck_assert(s.regime >= 0 && s.regime < 3);
        if (s.regime != prev_signal)
            out->signal_changes++;
        prev_signal = s.regime;
        if (pending_switch && s.regime == ev.regime) {
            pending_switch = 0;
            const double d = (double)(ev.ts_ns - switch_ns) / NS_PER_S;
            if (out->recognised < 4096)
                out->delays_s[out->recognised] = d;
            out->recognised++;
            out->delay_s_sum += d;
            out->delay_events_sum += (double)(index - switch_index);
        }
        /* scored once the regime model is past its warm-up (600 steps of
         * 1 s after the features' 30 s) and a minute of margin */
        if (ev.ts_ns - mc.start_time_ns < 700 * NS_PER_S)
            continue;
        out->steps++;
        out->confusion[ev.regime][s.regime]++;
        out->correct += s.regime == ev.regime;
    }
    out->health_changes = log.events;
    char stats[1 << 15];
    ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(stats, "\"ready\":true"));
    const char *ro = strstr(stats, "\"reorders\":"), *bi = strstr(stats, "\"births\":");
    ck_assert(ro != NULL && bi != NULL);
    out->state_moves = strtol(ro + 11, NULL, 10) + strtol(bi + 9, NULL, 10);
    cscalp_close(e);
    cscalp_sim_market_close(m);
}

START_TEST(filtered_regime_matches_the_truth)
{
    static truth_run r;
    run_truth(11, 24.0, &r);
    const double acc = (double)r.correct / (double)r.steps;
    qsort(r.delays_s, (size_t)(r.recognised < 4096 ? r.recognised : 4096), sizeof(double),
          cmp_double);
    const double median = r.recognised > 0 ? r.delays_s[(r.recognised < 4096 ? r.recognised
                                                                              : 4096) / 2]
                                           : (double)NAN;
    printf("{\"report\":\"regime_truth\",\"hours\":24,\"scored_steps\":%ld,\"accuracy\":%.4f,"
           "\"confusion\":[[%ld,%ld,%ld],[%ld,%ld,%ld],[%ld,%ld,%ld]],"
           "\"switches\":%ld,\"recognised\":%ld,\"mean_delay_s\":%.1f,\"median_delay_s\":%.1f,"
           "\"mean_delay_events\":%.0f,\"regime_changes\":%ld,\"signal_changes\":%ld,"
           "\"state_moves\":%ld}\n",
           r.steps, acc, r.confusion[0][0], r.confusion[0][1], r.confusion[0][2],
           r.confusion[1][0], r.confusion[1][1], r.confusion[1][2], r.confusion[2][0],
           r.confusion[2][1], r.confusion[2][2], r.switches, r.recognised,
           r.delay_s_sum / (double)r.recognised, median,
           r.delay_events_sum / (double)r.recognised, r.health_changes, r.signal_changes,
           r.state_moves);
    ck_assert_msg(acc >= 0.90, "filtered regime accuracy %.4f below 0.90", acc);
    /* every regime was visited and recognised */
    for (int k = 0; k < 3; k++) {
        long row = 0;
        for (int j = 0; j < 3; j++)
            row += r.confusion[k][j];
        ck_assert_msg(row > 0 && (double)r.confusion[k][k] / (double)row > 0.75,
                      "regime %d: %ld of %ld", k, r.confusion[k][k], row);
    }
    ck_assert_msg(r.recognised >= r.switches * 8 / 10, "%ld of %ld switches recognised",
                  r.recognised, r.switches);
    /* one health event per change of the signal's regime, except its first
     * value after warm-up and the renumbering of states the model moved
     * (re-orderings, births), which are no market change */
    ck_assert_int_ge(r.signal_changes, r.health_changes);
    ck_assert_int_le(r.signal_changes, r.health_changes + 1 + r.state_moves);
}
END_TEST

START_TEST(policy_parameters_follow_the_posterior)
{
    cscalp_sim_market_config mc;
    market_config(&mc, 5);
    mc.start_regime = 2;
    mc.regimes[2].mean_duration_s = 1e6; /* violent for good */
    cscalp_sim_market *m = NULL;
    ck_assert_int_eq(cscalp_sim_market_open(&m, &mc, NULL, NULL, 0), CSCALP_OK);
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, "{\"learn\":{\"mode\":\"off\"},\"regime\":{"
                                     "\"warmup_steps\":60,\"size_factors\":[1,0.5,0.2]}}"),
                     CSCALP_OK);
    cscalp_sim_market_event ev;
    ev.size = sizeof ev;
    char stats[1 << 15];
    double first_size = (double)NAN;
    for (;;) {
        ck_assert_int_eq(cscalp_sim_market_next(m, &ev), CSCALP_OK);
        if (ev.ts_ns > mc.start_time_ns + 400 * NS_PER_S)
            break;
        if (ev.kind == CSCALP_KIND_QUOTE)
            cscalp_push_quote(e, &ev.quote);
        else if (ev.kind == CSCALP_KIND_TRADE)
            cscalp_push_trade(e, &ev.trade);
        else
            cscalp_push_book(e, &ev.book);
        if (isnan(first_size) && ev.ts_ns > mc.start_time_ns + 10 * NS_PER_S) {
            ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
            const char *p = strstr(stats, "\"size_factor\":");
            ck_assert_ptr_nonnull(p);
            first_size = strtod(p + 14, NULL);
        }
    }
    /* during warm-up the posterior is uniform: the mean of the three */
    ck_assert_double_eq_tol(first_size, (1 + 0.5 + 0.2) / 3.0, 1e-6);
    ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
    const char *post = strstr(stats, "\"posterior\":[");
    ck_assert_ptr_nonnull(post);
    double p[3];
    ck_assert_int_eq(sscanf(post + 13, "%lf,%lf,%lf", &p[0], &p[1], &p[2]), 3);
    const char *sz = strstr(stats, "\"size_factor\":");
    const double size = strtod(sz + 14, NULL);
    ck_assert_double_eq_tol(size, p[0] * 1 + p[1] * 0.5 + p[2] * 0.2, 1e-6);
    printf("{\"report\":\"regime_policy\",\"posterior\":[%.4f,%.4f,%.4f],\"size_factor\":%.4f}\n",
           p[0], p[1], p[2], size);
    cscalp_close(e);
    cscalp_sim_market_close(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("regime_truth");
    TCase *tc = tcase_create("truth");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, filtered_regime_matches_the_truth);
    tcase_add_test(tc, policy_parameters_follow_the_posterior);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
