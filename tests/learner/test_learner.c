/* The engine's learner end to end (docs/learning.md), inline mode:
 *  - no look-ahead: altering every event after a time C changes nothing the
 *    engine said or held at or before C (signals, stats, weights), on a real
 *    Binance capture;
 *  - determinism: same data, config and seed give the same bytes;
 *  - it learns: on a synthetic market whose order-book imbalance predicts
 *    the next move, the challenger is promoted and the network beats the
 *    class prior on prequential log-loss;
 *  - rollbacks and the fallback engage when training is made to diverge;
 *  - cscalp_adapt, accounting of samples, dropped samples, mode off. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptoscalp.h"
#include "engine_internal.h"
#include "learn/learn.h"
#include "nn/nn.h"
#include "util/rng.h"
#ifdef HAVE_CAPTURE
#include "capture_stream.h"
#endif

#define MS 1000000LL

/* ------------------------------------------------------------- helpers */

typedef struct events_seen {
    int count[32];
    char last_message[32][256];
} events_seen;

static void on_event(const cscalp_health_event *ev, void *user)
{
    events_seen *s = user;
    if (ev->event >= 0 && ev->event < 32) {
        s->count[ev->event]++;
        snprintf(s->last_message[ev->event], sizeof s->last_message[0], "%s", ev->message);
    }
}

static cscalp_engine *open_engine(const char *json)
{
    cscalp_engine *e = NULL;
    char err[512] = "";
    ck_assert_msg(cscalp_open_ex(&e, json, NULL, err, sizeof err) == CSCALP_OK, "open: %s",
                  err);
    return e;
}

static cJSON *stats(const cscalp_engine *e)
{
    static char buf[1 << 16];
    size_t needed = 0;
    ck_assert_int_eq(cscalp_stats_json(e, buf, sizeof buf, &needed), CSCALP_OK);
    cJSON *j = cJSON_Parse(buf);
    ck_assert_ptr_nonnull(j);
    return j;
}

static double num(const cJSON *root, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    const cJSON *node = root;
    for (char *tok = strtok(copy, "."); tok; tok = strtok(NULL, ".")) {
        node = cJSON_GetObjectItemCaseSensitive(node, tok);
        ck_assert_msg(node != NULL, "stats: %s missing (at %s)", path, tok);
    }
    ck_assert_msg(cJSON_IsNumber(node), "stats: %s is not a number", path);
    return node->valuedouble;
}

static cscalp_signal infer(cscalp_engine *e)
{
    cscalp_signal s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    ck_assert_int_eq(cscalp_infer(e, &s), CSCALP_OK);
    return s;
}

/* A market whose future is partly visible: a hidden pressure in {-1, 0, 1}
 * (a Markov chain switching every ~2 s) pushes the mid one tick every 50 ms
 * in its direction and tilts the displayed sizes the same way, so the L1
 * imbalance predicts the next half second. Quotes every 10 ms. */
typedef struct synth {
    cscalp_rng g;
    int64_t t;
    int pressure;
    double mid;
    int step;
} synth;

static void synth_init(synth *s, uint64_t seed)
{
    cscalp_rng_seed(&s->g, seed);
    s->t = 1700000000LL * 1000000000LL;
    s->pressure = 0;
    s->mid = 100.0;
    s->step = 0;
}

static cscalp_quote synth_next(synth *s)
{
    s->t += 10 * MS;
    s->step++;
    if (cscalp_rng_below(&s->g, 200) == 0)
        s->pressure = (int)cscalp_rng_below(&s->g, 3) - 1;
    if (s->step % 5 == 0) {
        const double noise = cscalp_rng_uniform_d(&s->g) < 0.3 ? (cscalp_rng_uniform_d(&s->g) < 0.5 ? -1 : 1) : 0;
        s->mid += 0.01 * (s->pressure + noise);
    }
    const double tilt = 2.0 * s->pressure;
    cscalp_quote q;
    memset(&q, 0, sizeof q);
    q.ts_ns = s->t;
    q.bid_price = s->mid - 0.005;
    q.ask_price = s->mid + 0.005;
    q.bid_size = 3.0 + tilt + 2.0 * cscalp_rng_uniform_d(&s->g);
    q.ask_size = 3.0 - tilt + 2.0 * cscalp_rng_uniform_d(&s->g);
    return q;
}

/* Fast features and small windows so a test sees several promotions. A
 * second run_synth starts its walk afresh, a jump the outlier screen would
 * hold back (the screen's own tests are in tests/health). */
#define SYNTH_CONFIG_BASE                                                        \
    "\"feed\":{\"outlier_min_bps\":0},"                                           \
    "\"features\":{\"norm_interval_ms\":100,\"norm_warmup_samples\":5,"          \
    "\"norm_half_life_s\":60},"                                                   \
    "\"learn\":{\"horizon_ms\":500,\"sample_interval_ms\":100,\"band\":\"fixed\","  \
    "\"band_bps\":2,\"score_window_samples\":200,\"min_replay_samples\":64"
#define SYNTH_CONFIG_BODY SYNTH_CONFIG_BASE ",\"learning_rate\":0.003"

static void run_synth(cscalp_engine *e, uint64_t seed, long quotes)
{
    synth s;
    synth_init(&s, seed);
    /* A second run continues from the engine's clock. */
    cscalp_health_report h;
    h.size = sizeof h;
    ck_assert_int_eq(cscalp_health(e, &h), CSCALP_OK);
    if (h.clock_ns > s.t)
        s.t = h.clock_ns;
    for (long i = 0; i < quotes; i++) {
        const cscalp_quote q = synth_next(&s);
        ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_OK);
    }
}

/* ------------------------------------------------------------ learning */

START_TEST(learns_and_promotes_on_a_predictable_market)
{
    cscalp_engine *e = open_engine("{" SYNTH_CONFIG_BODY "}}");
    events_seen seen;
    memset(&seen, 0, sizeof seen);
    cscalp_set_health_callback(e, on_event, &seen);
    ck_assert(infer(e).reasons & CSCALP_REASON_UNTRAINED);
    run_synth(e, 1, 120000); /* 20 minutes */
    cJSON *j = stats(e);
    const double promotions = num(j, "learn.training.promotions");
    const double net = num(j, "learn.scores.network.rolling.log_loss");
    const double prior = num(j, "learn.scores.prior.rolling.log_loss");
    const double fallback = num(j, "learn.scores.fallback.rolling.log_loss");
    const double f1 = num(j, "learn.scores.network.rolling.macro_f1");
    printf("{\"test\":\"learns\",\"promotions\":%g,\"steps\":%g,\"matured\":%g,"
           "\"network_log_loss\":%.4f,\"fallback_log_loss\":%.4f,\"prior_log_loss\":%.4f,"
           "\"network_macro_f1\":%.4f}\n",
           promotions, num(j, "learn.training.steps"), num(j, "learn.samples.matured"), net,
           fallback, prior, f1);
    ck_assert_msg(promotions >= 1, "no promotion");
    ck_assert_int_eq(seen.count[CSCALP_EVENT_MODEL_PROMOTED], (int)promotions);
    ck_assert_msg(strstr(seen.last_message[CSCALP_EVENT_MODEL_PROMOTED], "rolling log-loss"),
                  "%s", seen.last_message[CSCALP_EVENT_MODEL_PROMOTED]);
    ck_assert_msg(net < prior - 0.05, "network %.4f does not beat the prior %.4f", net, prior);
    ck_assert_msg(f1 > 0.5, "network macro-F1 %.3f", f1);
    const cscalp_signal sig = infer(e);
    ck_assert(!(sig.reasons & CSCALP_REASON_UNTRAINED));
    ck_assert_uint_eq(sig.model_version, 1 + (uint64_t)promotions);
    ck_assert_uint_eq(num(j, "model.version"), sig.model_version);
    /* every sample taken is matured, unlabelled or still pending */
    ck_assert(num(j, "learn.samples.taken") ==
              num(j, "learn.samples.matured") + num(j, "learn.samples.unlabelled") +
                  num(j, "learn.samples.pending"));
    ck_assert(num(j, "learn.labels.down") + num(j, "learn.labels.flat") +
                  num(j, "learn.labels.up") ==
              num(j, "learn.samples.matured"));
    cJSON_Delete(j);
    cscalp_close(e);
}
END_TEST

/* The learner's initial head (docs/learning.md, "Initialisation"): class
 * logits small, gate rows zero; after training the gate has learned and
 * the experts differ — the mixture did not collapse into one head. */
static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

START_TEST(head_starts_near_uniform_and_experts_grow_apart)
{
    cscalp_engine *e = open_engine("{" SYNTH_CONFIG_BODY "}}");
    const cscalp_learn *l = cscalp_engine_learner(e);
    const cscalp_nn_arch arch = {.inputs = 24, .hidden_layers = 2, .hidden = {64, 64},
                                 .experts = 3, .activation = CSCALP_NN_RELU};
    ck_assert_uint_eq(cscalp_learn_param_count(l), cscalp_nn_param_count(&arch));
    cscalp_nn_layout lay;
    cscalp_nn_layout_of(&arch, &lay);
    const size_t H = 64, E = 3, logits = 3 * E * H;
    const float *w0 = cscalp_learn_live_params(l) + lay.head_w;
    static const float zeros[3 * 3 * 64];
    ck_assert(max_abs_diff(w0 + logits, zeros, E * H) == 0.0); /* gate rows */
    const double bound = 0.1 * sqrt(6.0 / (double)(H + 4 * E));
    const double m = max_abs_diff(w0, zeros, logits);
    ck_assert_msg(m > 0.5 * bound && m <= bound * (1 + 1e-6), "logit rows: max %g", m);
    /* different experts start different */
    ck_assert(max_abs_diff(w0, w0 + 3 * H, 3 * H) > 0.0);

    run_synth(e, 3, 60000);
    const float *w = cscalp_learn_challenger_params(l) + lay.head_w;
    const double gate = max_abs_diff(w + logits, zeros, E * H);
    double apart = 1e300;
    for (size_t a = 0; a < E; a++)
        for (size_t b = a + 1; b < E; b++)
            apart = fmin(apart, max_abs_diff(w + a * 3 * H, w + b * 3 * H, 3 * H));
    printf("{\"test\":\"experts\",\"gate_row_max\":%.4g,\"closest_experts_max_diff\":%.4g}\n",
           gate, apart);
    ck_assert_msg(gate > 1e-3, "the gate did not learn: %g", gate);
    ck_assert_msg(apart > 1e-2, "two experts stayed alike: %g", apart);
    cscalp_close(e);
}
END_TEST

/* Training rounds follow the measured overlap of label windows
 * (docs/learning.md, "Overlapping labels"): one per independent sample's
 * worth of matured samples, whatever the clocks. */
static void cadence_case(const char *extra, double overlap)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "{" SYNTH_CONFIG_BODY ",%s}}", extra);
    cscalp_engine *e = open_engine(cfg);
    run_synth(e, 4, 30000);
    cJSON *j = stats(e);
    const double matured = num(j, "learn.samples.matured");
    const double steps = num(j, "learn.training.steps");
    /* rounds start once the replay buffer holds min_replay_samples (64) */
    const double want = (matured - 64) / overlap;
    printf("{\"test\":\"cadence\",\"overlap\":%g,\"matured\":%g,\"steps\":%g,"
           "\"expected\":%.0f}\n", overlap, matured, steps, want);
    ck_assert_msg(fabs(steps - want) <= 0.02 * want + 2, "%s: %g steps, expected %.0f", extra,
                  steps, want);
    cJSON_Delete(j);
    cscalp_close(e);
}

START_TEST(training_cadence_follows_the_label_overlap)
{
    /* events on both clocks: 50-event horizon, a sample every 10 events */
    cadence_case("\"horizon_events\":50,\"sample_every_events\":10", 5.0);
    /* time on both: 500 ms horizon, 100 ms grid. The quotes (every 10 ms)
     * fall on the grid, so the sample at exactly t + 500 ms is taken before
     * the event after t + 500 ms matures the one at t: 5 wait, overlap 6. */
    cadence_case("\"replay_recent_samples\":512", 6.0);
    /* mixed: a 500 ms horizon sampled every 5 events = every 50 ms: 10
     * wait (t + 50 … t + 500 ms), overlap 11 */
    cadence_case("\"sample_every_events\":5", 11.0);
    /* an explicit cadence wins */
    cadence_case("\"sample_every_events\":5,\"train_every_samples\":2", 2.0);
}
END_TEST

START_TEST(same_seed_same_bytes_other_seed_differs)
{
    char *out[3];
    const char *cfgs[3] = {"{" SYNTH_CONFIG_BODY "}}",
                           "{" SYNTH_CONFIG_BODY "}}",
                           "{\"model\":{\"seed\":2}," SYNTH_CONFIG_BODY "}}"};
    size_t params_n = 0;
    float *params[3];
    for (int k = 0; k < 3; k++) {
        cscalp_engine *e = open_engine(cfgs[k]);
        run_synth(e, 7, 40000);
        static char buf[1 << 16];
        ck_assert_int_eq(cscalp_stats_json(e, buf, sizeof buf, NULL), CSCALP_OK);
        out[k] = strdup(buf);
        const cscalp_learn *l = cscalp_engine_learner(e);
        params_n = cscalp_learn_param_count(l);
        params[k] = malloc(params_n * 2 * sizeof(float));
        memcpy(params[k], cscalp_learn_live_params(l), params_n * sizeof(float));
        memcpy(params[k] + params_n, cscalp_learn_challenger_params(l),
               params_n * sizeof(float));
        cscalp_close(e);
    }
    ck_assert_str_eq(out[0], out[1]);
    ck_assert(memcmp(params[0], params[1], params_n * 2 * sizeof(float)) == 0);
    ck_assert(memcmp(params[0], params[2], params_n * 2 * sizeof(float)) != 0);
    for (int k = 0; k < 3; k++) {
        free(out[k]);
        free(params[k]);
    }
}
END_TEST

START_TEST(divergence_rolls_back_and_the_fallback_serves)
{
    /* A learning rate of 1 with Adam wrecks the challenger; with a tight
     * rollback margin it is reset again and again, the live network never
     * improves, and the fallback (which learns normally) beats it. */
    cscalp_engine *e = open_engine("{" SYNTH_CONFIG_BASE ",\"learning_rate\":1,"
                                   "\"max_grad_norm\":0,\"rollback_margin_nats\":0.01,"
                                   "\"fallback_margin_nats\":0.01}}");
    events_seen seen;
    memset(&seen, 0, sizeof seen);
    cscalp_set_health_callback(e, on_event, &seen);
    run_synth(e, 3, 60000);
    cJSON *j = stats(e);
    printf("{\"test\":\"divergence\",\"rollbacks\":%g,\"promotions\":%g,\"serving\":\"%s\","
           "\"network\":%.4f,\"fallback\":%.4f}\n",
           num(j, "learn.training.rollbacks"), num(j, "learn.training.promotions"),
           cJSON_GetObjectItem(cJSON_GetObjectItem(j, "learn"), "serving")->valuestring,
           num(j, "learn.scores.network.rolling.log_loss"),
           num(j, "learn.scores.fallback.rolling.log_loss"));
    ck_assert_msg(num(j, "learn.training.rollbacks") >= 1, "no rollback");
    ck_assert_int_eq(seen.count[CSCALP_EVENT_LEARNER_ROLLBACK],
                     (int)num(j, "learn.training.rollbacks"));
    ck_assert_int_ge(seen.count[CSCALP_EVENT_FALLBACK_ENGAGED], 1);
    ck_assert_msg(strstr(seen.last_message[CSCALP_EVENT_FALLBACK_ENGAGED], "fallback"), "%s",
                  seen.last_message[CSCALP_EVENT_FALLBACK_ENGAGED]);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "learn"), "serving")->valuestring,
                     "fallback");
    ck_assert(infer(e).reasons & CSCALP_REASON_FALLBACK);
    cJSON_Delete(j);

    /* Sane training again: the challenger learns, is promoted, and the
     * network takes over from the fallback once it is within half the
     * (now wider) fallback margin of it. The fallback is well specified for
     * this market (a linear signal), so the network need not beat it. */
    ck_assert_int_eq(cscalp_configure(e, "{\"learn\":{\"learning_rate\":0.003,"
                                         "\"max_grad_norm\":1,\"rollback_margin_nats\":0.05,"
                                         "\"fallback_margin_nats\":0.2}}"),
                     CSCALP_OK);
    run_synth(e, 4, 120000);
    j = stats(e);
    printf("{\"test\":\"recovery\",\"promotions\":%g,\"serving\":\"%s\",\"network\":%.4f,"
           "\"fallback\":%.4f}\n",
           num(j, "learn.training.promotions"),
           cJSON_GetObjectItem(cJSON_GetObjectItem(j, "learn"), "serving")->valuestring,
           num(j, "learn.scores.network.rolling.log_loss"),
           num(j, "learn.scores.fallback.rolling.log_loss"));
    ck_assert_int_ge(seen.count[CSCALP_EVENT_MODEL_PROMOTED], 1);
    ck_assert_int_ge(seen.count[CSCALP_EVENT_FALLBACK_RELEASED], 1);
    ck_assert(!(infer(e).reasons & CSCALP_REASON_FALLBACK));
    cJSON_Delete(j);
    cscalp_close(e);
}
END_TEST

START_TEST(adapt_reports_and_runs_steps)
{
    cscalp_engine *e = open_engine("{" SYNTH_CONFIG_BODY ",\"train_steps\":0}}");
    cscalp_adapt_report r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    ck_assert_int_eq(cscalp_adapt(e, 5, &r), CSCALP_OK);
    ck_assert_uint_eq(r.mode, 1);
    ck_assert_uint_eq(r.steps, 0); /* nothing to learn from yet */
    ck_assert_uint_eq(r.model_version, 1);
    run_synth(e, 5, 30000);
    /* train_steps 0: no automatic training, so only cscalp_adapt trains */
    ck_assert_int_eq(cscalp_adapt(e, 0, &r), CSCALP_OK);
    ck_assert_uint_eq(r.steps_total, 0);
    ck_assert_uint_gt(r.samples_matured, 500);
    ck_assert_uint_gt(r.replay_size, 64);
    ck_assert_int_eq(cscalp_adapt(e, 25, &r), CSCALP_OK);
    ck_assert_uint_eq(r.steps, 25);
    ck_assert_uint_eq(r.steps_total, 25);
    ck_assert_int_eq(cscalp_adapt(e, 0, NULL), CSCALP_OK);
    ck_assert_int_eq(cscalp_adapt(e, 0, &r), CSCALP_OK);
    ck_assert_uint_eq(r.steps, 0); /* "since the previous call" */
    ck_assert_uint_eq(r.steps_total, 25);
    ck_assert_uint_eq(r.reserved, 0);
    r.size = 8;
    ck_assert_int_eq(cscalp_adapt(e, 0, &r), CSCALP_ESTRUCT);
    ck_assert_int_eq(cscalp_adapt(NULL, 0, NULL), CSCALP_EINVAL);
    cscalp_close(e);

    e = open_engine("{\"learn\":{\"mode\":\"off\"}}");
    run_synth(e, 5, 5000);
    r.size = sizeof r;
    ck_assert_int_eq(cscalp_adapt(e, 10, &r), CSCALP_OK);
    ck_assert_uint_eq(r.mode, 0);
    ck_assert_uint_eq(r.steps_total, 0);
    ck_assert_uint_eq(r.samples_matured + r.samples_pending, 0);
    cscalp_close(e);
}
END_TEST

START_TEST(full_pending_queue_drops_with_an_event)
{
    cscalp_engine *e = open_engine("{\"features\":{\"norm_interval_ms\":100,"
                                   "\"norm_warmup_samples\":5},\"learn\":{\"horizon_ms\":"
                                   "10000,\"sample_interval_ms\":100,\"max_pending_samples\":"
                                   "8}}");
    events_seen seen;
    memset(&seen, 0, sizeof seen);
    cscalp_set_health_callback(e, on_event, &seen);
    run_synth(e, 9, 3000); /* 30 s: 100 samples per 10 s horizon, room for 8 */
    cJSON *j = stats(e);
    ck_assert(num(j, "learn.samples.dropped") > 0);
    ck_assert_int_ge(seen.count[CSCALP_EVENT_SAMPLES_DROPPED], 1);
    ck_assert_msg(strstr(seen.last_message[CSCALP_EVENT_SAMPLES_DROPPED],
                         "learn.max_pending_samples"),
                  "%s", seen.last_message[CSCALP_EVENT_SAMPLES_DROPPED]);
    ck_assert(num(j, "learn.samples.pending") <= 8);
    cJSON_Delete(j);
    cscalp_close(e);
}
END_TEST

START_TEST(event_horizon_and_event_clock)
{
    cscalp_engine *e = open_engine("{" SYNTH_CONFIG_BODY ",\"horizon_events\":50,"
                                   "\"sample_every_events\":10,\"label\":\"smoothed\"}}");
    run_synth(e, 2, 20000);
    cJSON *j = stats(e);
    /* 20000 quotes, a sample every 10 events once warm, each maturing 50
     * events later: at most 5 pending */
    const double taken = num(j, "learn.samples.taken");
    ck_assert_msg(taken > 1800 && taken <= 2000, "taken %g", taken);
    ck_assert(num(j, "learn.samples.pending") <= 5);
    ck_assert(num(j, "learn.samples.matured") >= taken - 5);
    cJSON_Delete(j);
    cscalp_close(e);
}
END_TEST

/* ---------------------------------------------------------- look-ahead */

#ifdef HAVE_CAPTURE
/* Every price after the cut moves 0.3 % and every size doubles: a different
 * future. */
static void alter(bcap_event *ev)
{
    const double k = 1.003;
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        ev->trade.price *= k;
        ev->trade.size *= 2;
        break;
    case CSCALP_KIND_QUOTE:
        ev->quote.bid_price *= k;
        ev->quote.ask_price *= k;
        ev->quote.bid_size *= 2;
        break;
    case CSCALP_KIND_BOOK:
        for (uint32_t i = 0; i < ev->book.bid_count; i++)
            ev->book.bids[i].price *= k;
        for (uint32_t i = 0; i < ev->book.ask_count; i++)
            ev->book.asks[i].price *= k;
        break;
    default:
        break;
    }
}

typedef struct trace {
    cscalp_signal *signals;
    uint64_t *state_hash;
    size_t n;
} trace;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* Run the stream and record, after every event, the signal and a hash of
 * the stats JSON and both networks' weights. */
static trace run_trace(const stream *s, const char *config)
{
    trace t = {calloc(s->n, sizeof(cscalp_signal)), calloc(s->n, sizeof(uint64_t)), s->n};
    cscalp_engine *e = open_engine(config);
    const cscalp_learn *l = cscalp_engine_learner(e);
    const size_t np = cscalp_learn_param_count(l);
    static char buf[1 << 16];
    for (size_t i = 0; i < s->n; i++) {
        (void)bcap_push(e, &s->ev[i]);
        t.signals[i] = infer(e);
        ck_assert_int_eq(cscalp_stats_json(e, buf, sizeof buf, NULL), CSCALP_OK);
        uint64_t h = fnv(0xcbf29ce484222325ULL, buf, strlen(buf));
        h = fnv(h, cscalp_learn_live_params(l), np * sizeof(float));
        h = fnv(h, cscalp_learn_challenger_params(l), np * sizeof(float));
        t.state_hash[i] = h;
    }
    cscalp_close(e);
    return t;
}

START_TEST(no_look_ahead_on_a_real_capture)
{
    stream a = load_capture();
    stream b = {malloc(a.n * sizeof *a.ev), a.n};
    memcpy(b.ev, a.ev, a.n * sizeof *a.ev);
    /* Cut two thirds in: training, promotions and maturities happen before
     * it with the configuration below. */
    const int64_t t0 = bcap_event_ts(&a.ev[0]), t1 = bcap_event_ts(&a.ev[a.n - 1]);
    const int64_t cut = t0 + (t1 - t0) * 2 / 3;
    size_t first_after = a.n;
    for (size_t i = 0; i < b.n; i++)
        if (bcap_event_ts(&b.ev[i]) > cut) {
            if (first_after == a.n)
                first_after = i;
            alter(&b.ev[i]);
        }
    const char *config = "{\"features\":{\"norm_interval_ms\":200,\"norm_warmup_samples\":10},"
                         "\"learn\":{\"horizon_ms\":2000,\"sample_interval_ms\":100,"
                         "\"score_window_samples\":100,\"min_replay_samples\":64,"
                         "\"band\":\"fixed\",\"band_bps\":0.5}}";
    trace ta = run_trace(&a, config), tb = run_trace(&b, config);
    for (size_t i = 0; i < first_after; i++) {
        ck_assert_msg(memcmp(&ta.signals[i], &tb.signals[i], sizeof(cscalp_signal)) == 0,
                      "signal after event %zu (before the cut) differs", i);
        ck_assert_msg(ta.state_hash[i] == tb.state_hash[i],
                      "learning state after event %zu (before the cut) differs", i);
    }
    /* The altered future does matter afterwards (else the check above
     * proves nothing). */
    ck_assert(ta.state_hash[a.n - 1] != tb.state_hash[a.n - 1]);
    /* And there was learning before the cut. */
    cscalp_engine *e = open_engine(config);
    for (size_t i = 0; i < first_after; i++)
        (void)bcap_push(e, &a.ev[i]);
    cJSON *j = stats(e);
    printf("{\"test\":\"look_ahead\",\"events_before_cut\":%zu,\"events\":%zu,"
           "\"matured_before_cut\":%g,\"steps_before_cut\":%g,\"promotions_before_cut\":%g}\n",
           first_after, a.n, num(j, "learn.samples.matured"), num(j, "learn.training.steps"),
           num(j, "learn.training.promotions"));
    ck_assert(num(j, "learn.training.steps") > 0);
    ck_assert(num(j, "learn.samples.matured") > 100);
    cJSON_Delete(j);
    cscalp_close(e);
    free(ta.signals), free(ta.state_hash), free(tb.signals), free(tb.state_hash);
    free(a.ev), free(b.ev);
}
END_TEST
#endif


/* ------------------------------------------------------------- async */

#define ASYNC_CONFIG_BODY SYNTH_CONFIG_BODY ",\"mode\":\"async\",\"async_queue_samples\":256"

/* Publication under load: the host pushes and infers after every event
 * while the learner thread trains and publishes; signals stay well formed,
 * versions only grow, promotions happen, and cscalp_adapt drains. (TSan
 * checks the hand-over in the sanitizer configuration.) */
START_TEST(async_learns_and_publishes_under_load)
{
    ck_assert(cscalp_has_feature(CSCALP_FEATURE_THREADS));
    cscalp_engine *e = open_engine("{" ASYNC_CONFIG_BODY "}}");
    events_seen seen;
    memset(&seen, 0, sizeof seen);
    cscalp_set_health_callback(e, on_event, &seen);
    synth s;
    synth_init(&s, 1);
    uint64_t version = 1;
    for (long i = 0; i < 120000; i++) {
        const cscalp_quote q = synth_next(&s);
        ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_OK);
        const cscalp_signal sig = infer(e);
        ck_assert(isfinite(sig.probabilities[0] + sig.probabilities[1] + sig.probabilities[2]));
        ck_assert_uint_ge(sig.model_version, version);
        version = sig.model_version;
    }
    cscalp_adapt_report r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    ck_assert_int_eq(cscalp_adapt(e, 0, &r), CSCALP_OK);
    cJSON *j = stats(e);
    printf("{\"test\":\"async\",\"steps\":%llu,\"promotions\":%llu,\"matured\":%llu,"
           "\"sent\":%g,\"dropped\":%g,\"network_log_loss\":%.4f,\"prior_log_loss\":%.4f}\n",
           (unsigned long long)r.steps_total, (unsigned long long)r.promotions_total,
           (unsigned long long)r.samples_matured, num(j, "learn.async.sent"),
           num(j, "learn.async.dropped"), num(j, "learn.scores.network.rolling.log_loss"),
           num(j, "learn.scores.prior.rolling.log_loss"));
    ck_assert_uint_eq(r.mode, 2);
    ck_assert_uint_gt(r.steps_total, 1000);
    ck_assert_uint_ge(r.promotions_total, 1);
    ck_assert_uint_eq(r.model_version, version);
    ck_assert_int_eq(seen.count[CSCALP_EVENT_MODEL_PROMOTED], (int)r.promotions_total);
    ck_assert(num(j, "learn.async.queued") == 0);
    /* every matured sample was handed over or counted as dropped */
    ck_assert(num(j, "learn.async.sent") + num(j, "learn.async.dropped") >=
              (double)r.samples_matured);
    ck_assert(num(j, "learn.scores.network.rolling.log_loss") <
              num(j, "learn.scores.prior.rolling.log_loss"));
    cJSON_Delete(j);
    cscalp_close(e);
}
END_TEST

START_TEST(async_adapt_budget_configure_and_checkpoint)
{
    /* Whole rounds of learn.train_steps are counted below: load shedding
     * (a slow learner under a sanitizer) would halve them, so it is off. */
    cscalp_engine *e = open_engine("{\"health\":{\"learner_shed_fraction\":0},"
                                   ASYNC_CONFIG_BODY ",\"train_steps\":0}}");
    run_synth(e, 5, 30000);
    cscalp_adapt_report r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    ck_assert_int_eq(cscalp_adapt(e, 0, &r), CSCALP_OK);
    ck_assert_uint_eq(r.steps_total, 0); /* train_steps 0: only adapt trains */
    ck_assert_uint_gt(r.replay_size, 64);
    ck_assert_int_eq(cscalp_adapt(e, 25, &r), CSCALP_OK);
    ck_assert_uint_eq(r.steps, 25);
    /* a new training configuration reaches the thread in order */
    const uint64_t matured_before = r.samples_matured;
    ck_assert_int_eq(cscalp_configure(e, "{\"learn\":{\"train_steps\":2}}"), CSCALP_OK);
    run_synth(e, 6, 2000);
    ck_assert_int_eq(cscalp_adapt(e, 0, &r), CSCALP_OK);
    /* two steps per matured sample handed over (a full queue drops some) */
    ck_assert_uint_gt(r.steps, 0);
    ck_assert_uint_le(r.steps, 2 * (r.samples_matured - matured_before));
    ck_assert_uint_eq(r.steps % 2, 0);
    ck_assert_int_eq(cscalp_configure(e, "{\"learn\":{\"mode\":\"inline\"}}"),
                     CSCALP_ECONFIG_FIXED);

    /* A checkpoint drains the thread; the reopened engine is async again
     * and carries on from the same state. */
    size_t len = 0;
    ck_assert_int_eq(cscalp_save_buffer(e, NULL, 0, &len), CSCALP_OK);
    void *buf = malloc(len);
    ck_assert_int_eq(cscalp_save_buffer(e, buf, len, NULL), CSCALP_OK);
    cscalp_engine *f = NULL;
    char err[512];
    ck_assert_msg(cscalp_open_buffer(&f, buf, len, NULL, err, sizeof err) == CSCALP_OK, "%s",
                  err);
    size_t len2 = 0;
    ck_assert_int_eq(cscalp_save_buffer(f, NULL, 0, &len2), CSCALP_OK);
    void *buf2 = malloc(len2);
    ck_assert_int_eq(cscalp_save_buffer(f, buf2, len2, NULL), CSCALP_OK);
    ck_assert_uint_eq(len, len2);
    ck_assert_int_eq(memcmp(buf, buf2, len), 0);
    cscalp_adapt_report rf;
    memset(&rf, 0, sizeof rf);
    rf.size = sizeof rf;
    ck_assert_int_eq(cscalp_adapt(f, 0, &rf), CSCALP_OK);
    ck_assert_uint_eq(rf.mode, 2);
    ck_assert_uint_eq(rf.replay_size, r.replay_size);
    run_synth(f, 7, 3000);
    ck_assert_int_eq(cscalp_adapt(f, 3, &rf), CSCALP_OK);
    ck_assert_uint_ge(rf.steps, 3);
    free(buf);
    free(buf2);
    cscalp_close(f);
    cscalp_close(e);
}
END_TEST

START_TEST(async_divergence_rolls_back_and_close_is_prompt)
{
    cscalp_engine *e = open_engine("{" SYNTH_CONFIG_BASE ",\"mode\":\"async\",\"learning_rate\":1,"
                                   "\"max_grad_norm\":0,\"rollback_margin_nats\":0.01,"
                                   "\"train_steps\":20}}");
    events_seen seen;
    memset(&seen, 0, sizeof seen);
    cscalp_set_health_callback(e, on_event, &seen);
    run_synth(e, 3, 40000);
    cscalp_adapt_report r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    ck_assert_int_eq(cscalp_adapt(e, 0, &r), CSCALP_OK);
    ck_assert_uint_ge(r.rollbacks_total, 1);
    ck_assert_int_eq(seen.count[CSCALP_EVENT_LEARNER_ROLLBACK], (int)r.rollbacks_total);
    /* Close with work queued: the thread stops between messages. */
    run_synth(e, 4, 5000);
    cscalp_close(e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("learner");
    TCase *tc = tcase_create("learner");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, learns_and_promotes_on_a_predictable_market);
    tcase_add_test(tc, same_seed_same_bytes_other_seed_differs);
    tcase_add_test(tc, divergence_rolls_back_and_the_fallback_serves);
    tcase_add_test(tc, adapt_reports_and_runs_steps);
    tcase_add_test(tc, full_pending_queue_drops_with_an_event);
    tcase_add_test(tc, event_horizon_and_event_clock);
    tcase_add_test(tc, head_starts_near_uniform_and_experts_grow_apart);
    tcase_add_test(tc, training_cadence_follows_the_label_overlap);
#ifdef HAVE_CAPTURE
    tcase_add_test(tc, no_look_ahead_on_a_real_capture);
#endif
    suite_add_tcase(s, tc);
    TCase *ta = tcase_create("async");
    tcase_set_timeout(ta, 600);
    tcase_add_test(ta, async_learns_and_publishes_under_load);
    tcase_add_test(ta, async_adapt_budget_configure_and_checkpoint);
    tcase_add_test(ta, async_divergence_rolls_back_and_close_is_prompt);
    suite_add_tcase(s, ta);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
