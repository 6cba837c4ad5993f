/* The synthetic market does what its configuration says: measured over 10^6
 * events, per regime, against the configured values (docs/sim.md gives the
 * formulas these expectations come from):
 *   realised volatility of the latent log mid (drift removed), bps/√s
 *   drift along its drawn sign, bps/s (none where none is configured), and
 *   its sign being + and - alike
 *   mean quoted spread, bps of the quote's mid
 *   trade rate, trades/s (trades per quote times the quote rate)
 *   occupancy (share of quotes, which arrive at one rate in every regime)
 *     against the stationary distribution of the regime chain
 *   mean duration of a visit, s, and where the chain goes next
 *   lag-1 autocorrelation of trade signs, and their bias towards the drift
 * The market is the default one with visits shortened to a few seconds so
 * that 10^6 events hold thousands of them. Tolerances: four standard errors
 * for the noisy estimates (drift, occupancy by batch means, visit length,
 * transitions, trade signs); a fixed 2-3 % for the precise ones (volatility,
 * spread, trade rate, whose standard errors are under 0.5 %), which a
 * market 10 % off fails (second test). Figures are printed. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/test_util.h"
#include "sim_util.h"

#define R CSCALP_SIM_MAX_REGIMES
/* Batches for the standard error of the occupancy (batch means). */
#define BATCHES 25

typedef struct regime_stats {
    double var_sum, dt_sum, drift_sum; /* latent log returns, s */
    double spread_sum;
    long quotes, trades;
    long batch_quotes[BATCHES];
    long visits;
    double duration_sum;
    long exits[R];
    long sign_pairs;
    double sign_product_sum, sign_sum;
    long aligned, with_drift;
    long drift_positive_visits, drift_negative_visits;
} regime_stats;

/* Stationary distribution of the continuous-time chain: rate of i -> j is
 * w_ij / sum_j w_ij / duration_i. Solves pi Q = 0 with sum pi = 1 by
 * Gaussian elimination (independent of the library). */
static void stationary(const cscalp_sim_market_config *cfg, double *pi)
{
    const int n = (int)cfg->regime_count;
    double a[R][R + 1];
    memset(a, 0, sizeof a);
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int j = 0; j < n; j++)
            sum += cfg->regimes[i].next_regime_weight[j];
        const double out = 1.0 / cfg->regimes[i].mean_duration_s;
        /* column i of Q is row i of the system (Q transposed) */
        for (int j = 0; j < n; j++)
            a[j][i] = j == i ? -out : out * cfg->regimes[i].next_regime_weight[j] / sum;
    }
    for (int i = 0; i < n; i++) /* replace the last equation by sum pi = 1 */
        a[n - 1][i] = 1.0;
    a[n - 1][n] = 1.0;
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r][c]) > fabs(a[p][c]))
                p = r;
        for (int k = 0; k <= n; k++) {
            const double t = a[c][k];
            a[c][k] = a[p][k];
            a[p][k] = t;
        }
        for (int r = 0; r < n; r++) {
            if (r == c)
                continue;
            const double f = a[r][c] / a[c][c];
            for (int k = c; k <= n; k++)
                a[r][k] -= f * a[c][k];
        }
    }
    for (int i = 0; i < n; i++)
        pi[i] = a[i][n] / a[i][i];
}

static void measure(const cscalp_sim_market_config *cfg, long n, regime_stats *st)
{
    memset(st, 0, sizeof(regime_stats) * R);
    cscalp_sim_market *m = su_open(cfg);
    cscalp_sim_market_event ev = su_event(), prev = su_event();
    int64_t visit_start = 0;
    int32_t last_side = 0;
    long visit = 0, last_trade_visit = -1;
    for (long i = 0; i < n; i++) {
        SU_CHECK(cscalp_sim_market_next(m, &ev) == CSCALP_OK);
        regime_stats *s = &st[ev.regime];
        const double drift_sign = ev.drift_bps_per_s > 0   ? 1.0
                                  : ev.drift_bps_per_s < 0 ? -1.0
                                                           : 0.0;
        if (i == 0 || ev.regime != prev.regime) {
            visit++;
            if (i > 0) {
                st[prev.regime].visits++;
                st[prev.regime].duration_sum += (double)(ev.ts_ns - visit_start) * 1e-9;
                st[prev.regime].exits[ev.regime]++;
            }
            visit_start = ev.ts_ns;
            if (drift_sign > 0)
                s->drift_positive_visits++;
            else if (drift_sign < 0)
                s->drift_negative_visits++;
        } else {
            const double dt = (double)(ev.ts_ns - prev.ts_ns) * 1e-9;
            const double r = log(ev.mid / prev.mid);
            const double mu = ev.drift_bps_per_s * 1e-4;
            s->var_sum += (r - mu * dt) * (r - mu * dt);
            s->drift_sum += drift_sign != 0.0 ? r * drift_sign : r; /* no drift: raw */
            s->dt_sum += dt;
        }
        if (ev.kind == CSCALP_KIND_QUOTE) {
            const double mid = 0.5 * (ev.quote.bid_price + ev.quote.ask_price);
            s->spread_sum += (ev.quote.ask_price - ev.quote.bid_price) / mid * 1e4;
            s->quotes++;
            s->batch_quotes[i * BATCHES / n]++;
        } else if (ev.kind == CSCALP_KIND_TRADE) {
            const int32_t side = ev.trade.side;
            s->trades++;
            s->sign_sum += side;
            if (last_trade_visit == visit) {
                s->sign_pairs++;
                s->sign_product_sum += (double)(side * last_side);
            }
            if (drift_sign != 0.0) {
                s->with_drift++;
                s->aligned += side == (drift_sign > 0 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL);
            }
            last_side = side;
            last_trade_visit = visit;
        }
        prev = ev;
    }
    cscalp_sim_market_close(m);
}

static cscalp_sim_market_config test_market(void)
{
    cscalp_sim_market_config cfg = su_defaults();
    cfg.seed = 2024;
    cfg.regimes[0].mean_duration_s = 4.0;
    cfg.regimes[1].mean_duration_s = 3.0;
    cfg.regimes[2].mean_duration_s = 2.0;
    return cfg;
}

/* Standard error of regime r's share of the quotes, from the spread of
 * its share across BATCHES consecutive stretches of the stream (the shares
 * of stretches are nearly independent: each holds hundreds of visits). */
static double occupancy_se(const regime_stats *st, uint32_t regimes, uint32_t r)
{
    double sum = 0.0, sum2 = 0.0;
    for (int b = 0; b < BATCHES; b++) {
        long all = 0;
        for (uint32_t k = 0; k < regimes; k++)
            all += st[k].batch_quotes[b];
        const double share = (double)st[r].batch_quotes[b] / (double)all;
        sum += share;
        sum2 += share * share;
    }
    const double mean = sum / BATCHES;
    return sqrt((sum2 / BATCHES - mean * mean) * BATCHES / (BATCHES - 1) / BATCHES);
}

/* |got - want| <= tol, with a line of figures either way. */
static int close_to(const char *what, int r, double got, double want, double tol)
{
    const int ok = fabs(got - want) <= tol;
    printf("  regime %d %-28s measured %10.4f configured %10.4f  tolerance %.4f%s\n", r, what,
           got, want, tol, ok ? "" : "  FAIL");
    return ok;
}

START_TEST(regimes_match_configuration)
{
    const cscalp_sim_market_config cfg = test_market();
    static regime_stats st[R];
    const long n = 1000000;
    measure(&cfg, n, st);
    double pi[R];
    stationary(&cfg, pi);
    long quotes = 0, visits = 0;
    for (uint32_t r = 0; r < cfg.regime_count; r++) {
        quotes += st[r].quotes;
        visits += st[r].visits;
    }
    printf("%ld events, %ld visits\n", n, visits);
    int ok = 1;
    for (uint32_t r = 0; r < cfg.regime_count; r++) {
        const cscalp_sim_regime *g = &cfg.regimes[r];
        const regime_stats *s = &st[r];
        const int i = (int)r;
        ck_assert(s->visits > 1000 && s->trades > 10000);
        ok &= close_to("vol_bps_per_sqrt_s", i, sqrt(s->var_sum / s->dt_sum) * 1e4,
                       g->vol_bps_per_sqrt_s, 0.02 * g->vol_bps_per_sqrt_s);
        /* standard error of the drift estimate: vol / sqrt(time) */
        const double drift_se = g->vol_bps_per_sqrt_s / sqrt(s->dt_sum);
        ok &= close_to("drift along its sign, bps/s", i, s->drift_sum / s->dt_sum * 1e4,
                       fabs(g->drift_bps_per_s), 4 * drift_se);
        ok &= close_to("spread_bps", i, s->spread_sum / (double)s->quotes, g->spread_bps,
                       0.02 * g->spread_bps);
        ok &= close_to("trades_per_s", i, (double)s->trades / (double)s->quotes * cfg.quotes_per_s,
                       g->trades_per_s, 0.03 * g->trades_per_s);
        ok &= close_to("occupancy", i, (double)s->quotes / (double)quotes, pi[r],
                       4 * occupancy_se(st, cfg.regime_count, r));
        ok &= close_to("mean_duration_s", i, s->duration_sum / (double)s->visits,
                       g->mean_duration_s, 4 * g->mean_duration_s / sqrt((double)s->visits));
        double wsum = 0.0;
        for (uint32_t j = 0; j < cfg.regime_count; j++)
            wsum += g->next_regime_weight[j];
        for (uint32_t j = 0; j < cfg.regime_count; j++) {
            if (j == r)
                continue;
            char what[40];
            snprintf(what, sizeof what, "P(next regime = %u)", j);
            const double p = g->next_regime_weight[j] / wsum;
            ok &= close_to(what, i, (double)s->exits[j] / (double)s->visits, p,
                           4 * sqrt(p * (1 - p) / (double)s->visits) + 1e-9);
        }
        /* Signs: s' = s with probability rho, else fresh with mean m = b
         * sign(drift); the centred lag-1 autocorrelation is rho. */
        const double m = g->drift_bps_per_s != 0.0 ? g->flow_drift_bias : 0.0;
        const double raw = s->sign_product_sum / (double)s->sign_pairs;
        ok &= close_to("flow_autocorrelation", i, (raw - m * m) / (1 - m * m),
                       g->flow_autocorrelation,
                       4 * sqrt((1 - g->flow_autocorrelation * g->flow_autocorrelation) /
                                (double)s->sign_pairs));
        if (g->drift_bps_per_s != 0.0) {
            ok &= close_to("trades along the drift", i, (double)s->aligned / (double)s->with_drift,
                           0.5 * (1 + g->flow_drift_bias), 0.015);
            /* drift_sign_random: half the visits go each way */
            const double up = (double)s->drift_positive_visits /
                              (double)(s->drift_positive_visits + s->drift_negative_visits);
            ok &= close_to("visits with drift up", i, up, g->drift_sign_random ? 0.5 : 1.0,
                           g->drift_sign_random ? 4 * 0.5 / sqrt((double)s->visits) : 0.0);
        } else {
            ok &= close_to("buy share (no drift)", i, 0.5 * (1 + s->sign_sum / (double)s->trades),
                           0.5, 4 * 0.5 * sqrt((1 + g->flow_autocorrelation) /
                                               (1 - g->flow_autocorrelation) / (double)s->trades));
        }
    }
    ck_assert_msg(ok, "a measured figure is out of tolerance (see the lines marked FAIL)");
}
END_TEST

/* The tolerances above can fail: the same measurement against a market
 * whose volatility, spread, trade rate and durations are all 10 % off. */
START_TEST(tolerances_reject_a_wrong_market)
{
    cscalp_sim_market_config cfg = test_market();
    cscalp_sim_market_config wrong = cfg;
    for (int r = 0; r < 3; r++) {
        wrong.regimes[r].vol_bps_per_sqrt_s *= 1.1;
        wrong.regimes[r].spread_bps *= 1.1;
        wrong.regimes[r].trades_per_s *= 1.1;
    }
    static regime_stats st[R];
    measure(&wrong, 300000, st);
    for (uint32_t r = 0; r < cfg.regime_count; r++) {
        const cscalp_sim_regime *g = &cfg.regimes[r];
        const regime_stats *s = &st[r];
        const double vol = sqrt(s->var_sum / s->dt_sum) * 1e4;
        const double spread = s->spread_sum / (double)s->quotes;
        const double rate = (double)s->trades / (double)s->quotes * cfg.quotes_per_s;
        printf("  regime %u, 10 %% off: vol %.4f vs %.4f, spread %.4f vs %.4f, "
               "trades %.3f vs %.3f\n",
               r, vol, g->vol_bps_per_sqrt_s, spread, g->spread_bps, rate, g->trades_per_s);
        ck_assert(fabs(vol - g->vol_bps_per_sqrt_s) > 0.02 * g->vol_bps_per_sqrt_s);
        ck_assert(fabs(spread - g->spread_bps) > 0.02 * g->spread_bps);
        ck_assert(fabs(rate - g->trades_per_s) > 0.03 * g->trades_per_s);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sim_stats");
    TCase *tc = tcase_create("regimes");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, regimes_match_configuration);
    tcase_add_test(tc, tolerances_reject_a_wrong_market);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
