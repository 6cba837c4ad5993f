/* Adaptation benefit of regime gating (docs/regime.md, "Validation"):
 * the same synthetic regime market through two engines that learn inline,
 * one with three expert heads gated by the regime posterior, one with a
 * single head. After every regime switch the prequential log-loss of the
 * live network jumps; the report gives, per engine, how many matured
 * samples pass before its loss over the trailing minute is back at the
 * level of the two minutes before the switch.
 *
 * The test asserts that the measurement is sound (switches seen, losses
 * finite, both engines learned); whether gating helps is reported, not
 * assumed: the closing note of the regime work quotes the figures. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"
#include "test_util.h"

#define NS_PER_S 1000000000LL
#define MAX_SECONDS (8 * 3600)

typedef struct per_second {
    double loss_sum[MAX_SECONDS]; /* cumulative network loss at the end of second s */
    double matured[MAX_SECONDS];  /* cumulative matured samples */
    int regime[MAX_SECONDS];      /* true regime at the end of second s */
    long seconds;
    double promotions;
} per_second;

static double num(const cJSON *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *node = root;
    for (char *tok = strtok(buf, "."); tok != NULL; tok = strtok(NULL, "."))
        node = cJSON_GetObjectItemCaseSensitive(node, tok);
    ck_assert_msg(cJSON_IsNumber(node), "%s is not a number", path);
    return node->valuedouble;
}

static void run(int experts, double hours, per_second *out)
{
    memset(out, 0, sizeof *out);
    cscalp_sim_market_config mc;
    mc.size = sizeof mc;
    ck_assert_int_eq(cscalp_sim_market_config_init(&mc), CSCALP_OK);
    mc.seed = 21;
    mc.books_per_s = 1;
    mc.regimes[0].mean_duration_s = 900;
    mc.regimes[1].mean_duration_s = 600;
    mc.regimes[2].mean_duration_s = 300;
    cscalp_sim_market *m = NULL;
    ck_assert_int_eq(cscalp_sim_market_open(&m, &mc, NULL, NULL, 0), CSCALP_OK);
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"model\":{\"expert_count\":%d},"
             "\"learn\":{\"horizon_ms\":5000,\"sample_interval_ms\":200,"
             "\"band\":\"quantile\",\"score_window_samples\":300,"
             "\"learning_rate\":0.0003}}",
             experts);
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, cfg), CSCALP_OK);
    cscalp_sim_market_event ev;
    ev.size = sizeof ev;
    const int64_t end = mc.start_time_ns + (int64_t)(hours * 3600.0 * NS_PER_S);
    int64_t next_second = mc.start_time_ns + NS_PER_S;
    static char stats[1 << 16];
    for (;;) {
        ck_assert_int_eq(cscalp_sim_market_next(m, &ev), CSCALP_OK);
        if (ev.ts_ns > end)
            break;
        if (ev.kind == CSCALP_KIND_QUOTE)
            ck_assert_int_eq(cscalp_push_quote(e, &ev.quote), CSCALP_OK);
        else if (ev.kind == CSCALP_KIND_TRADE)
            ck_assert_int_eq(cscalp_push_trade(e, &ev.trade), CSCALP_OK);
        else
            ck_assert_int_eq(cscalp_push_book(e, &ev.book), CSCALP_OK);
        if (ev.ts_ns < next_second || out->seconds >= MAX_SECONDS)
            continue;
        next_second = (ev.ts_ns / NS_PER_S + 1) * NS_PER_S;
        ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
        cJSON *j = cJSON_Parse(stats);
        ck_assert_ptr_nonnull(j);
        const double n = num(j, "learn.scores.network.cumulative.samples");
        const double ll = n > 0 ? num(j, "learn.scores.network.cumulative.log_loss") : 0.0;
        out->loss_sum[out->seconds] = ll * n;
        out->matured[out->seconds] = n;
        out->regime[out->seconds] = ev.regime;
        out->promotions = num(j, "learn.training.promotions");
        out->seconds++;
        cJSON_Delete(j);
    }
    cscalp_close(e);
    cscalp_sim_market_close(m);
}

/* Mean loss of the samples matured in seconds (a, b]. */
static double mean_loss(const per_second *p, long a, long b)
{
    const double n = p->matured[b] - p->matured[a];
    return n > 0 ? (p->loss_sum[b] - p->loss_sum[a]) / n : (double)NAN;
}

typedef struct recovery {
    long switches, measured, never;
    double samples_sum, jump_sum;
} recovery;

/* For each switch after the first hour (learning has started): the level
 * is the mean loss over the 120 s before it; recovered at the first second
 * s after it whose trailing 60 s mean is at or below the level, within the
 * new regime's stay. */
static void recoveries(const per_second *p, recovery *r)
{
    memset(r, 0, sizeof *r);
    for (long s = 3600; s < p->seconds - 1; s++) {
        if (p->regime[s] == p->regime[s - 1])
            continue;
        long stay = s;
        while (stay + 1 < p->seconds && p->regime[stay + 1] == p->regime[s])
            stay++;
        if (stay - s < 120)
            continue; /* too short a visit to judge */
        r->switches++;
        const double level = mean_loss(p, s - 120, s);
        const double first = mean_loss(p, s, s + 60);
        long t = s + 60;
        while (t <= stay && !(mean_loss(p, t - 60, t) <= level))
            t++;
        if (!isfinite(level) || !isfinite(first))
            continue;
        r->measured++;
        r->jump_sum += first - level;
        if (t > stay) {
            r->never++;
            r->samples_sum += p->matured[stay] - p->matured[s];
        } else {
            r->samples_sum += p->matured[t] - p->matured[s];
        }
    }
}

START_TEST(gating_against_a_single_head)
{
    static per_second gated, single;
    const double hours = 8.0;
    run(3, hours, &gated);
    run(1, hours, &single);
    recovery rg, rs;
    recoveries(&gated, &rg);
    recoveries(&single, &rs);
    const double whole_g = mean_loss(&gated, 3600, gated.seconds - 1);
    const double whole_s = mean_loss(&single, 3600, single.seconds - 1);
    printf("{\"report\":\"regime_adaptation\",\"hours\":%.0f,\"switches\":%ld,"
           "\"gated\":{\"mean_recovery_samples\":%.1f,\"not_recovered\":%ld,"
           "\"mean_jump_nats\":%.4f,\"log_loss_after_1h\":%.4f,\"promotions\":%.0f},"
           "\"single_head\":{\"mean_recovery_samples\":%.1f,\"not_recovered\":%ld,"
           "\"mean_jump_nats\":%.4f,\"log_loss_after_1h\":%.4f,\"promotions\":%.0f}}\n",
           hours, rg.switches, rg.samples_sum / (double)rg.measured, rg.never,
           rg.jump_sum / (double)rg.measured, whole_g, gated.promotions,
           rs.samples_sum / (double)rs.measured, rs.never, rs.jump_sum / (double)rs.measured,
           whole_s, single.promotions);
    /* the measurement is sound: the same stream, switches to judge, both
     * engines learned and scored */
    ck_assert_int_eq(rg.switches, rs.switches);
    ck_assert_int_ge(rg.switches, 10);
    ck_assert_int_eq(rg.measured, rg.switches);
    ck_assert_int_eq(rs.measured, rs.switches);
    ck_assert(isfinite(whole_g) && isfinite(whole_s));
    ck_assert(whole_g < log(3.0) && whole_s < log(3.0));
    ck_assert(gated.promotions >= 1 && single.promotions >= 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("regime_adaptation");
    TCase *tc = tcase_create("adaptation");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, gating_against_a_single_head);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
