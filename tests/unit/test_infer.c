/* cscalp_infer through the public API: the signal on defaults and on a real
 * capture, the size contract, reason flags, determinism by seed, lagged
 * inputs (checked against the internal model on a hand-assembled input),
 * and the model keys of the configuration (fixed at open, backends). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn.h"
#include "test_util.h"
#include "util/alloc.h"

#ifdef HAVE_CAPTURE
#include "binance_capture.h"
#endif

#define MS 1000000LL

static cscalp_engine *open_engine(const char *json)
{
    cscalp_engine *e = NULL;
    char err[256] = "";
    const int rc = cscalp_open_ex(&e, json, NULL, err, sizeof err);
    ck_assert_msg(rc == CSCALP_OK, "open %s: %s", json ? json : "NULL", err);
    return e;
}

static cscalp_signal infer_ok(cscalp_engine *e)
{
    cscalp_signal s;
    memset(&s, 0xA5, sizeof s);
    s.size = sizeof s;
    ck_assert_int_eq(cscalp_infer(e, &s), CSCALP_OK);
    return s;
}

static void assert_signal_well_formed(const cscalp_signal *s)
{
    double sum = 0.0;
    for (int c = 0; c < 3; c++) {
        ck_assert(isfinite(s->probabilities[c]));
        ck_assert(s->probabilities[c] >= 0.0 && s->probabilities[c] <= 1.0);
        sum += s->probabilities[c];
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-6);
    ck_assert(s->confidence >= 0.0 && s->confidence <= 1.0);
    double entropy = 0.0;
    for (int c = 0; c < 3; c++)
        entropy -= s->probabilities[c] * log(s->probabilities[c]);
    ck_assert_double_eq_tol(s->confidence, fmax(0.0, 1.0 - entropy / log(3.0)), 1e-12);
    /* a regime of the three, with its posterior (1/3 for regime 0 while
     * the regime model warms up: docs/regime.md) */
    ck_assert(s->regime >= 0 && s->regime < 3);
    ck_assert(s->regime_probability >= 0.0 && s->regime_probability <= 1.0);
    ck_assert_int_eq(s->autonomy, CSCALP_AUTONOMY_MANUAL);
    ck_assert_double_eq(s->target_position, 0.0);
    /* version 1 is the initialised network; each promotion adds one */
    ck_assert_uint_ge(s->model_version, 1);
}

/* A random walk with quotes, trades and books; deterministic. */
typedef struct walk {
    uint64_t rng;
    int64_t ts;
    double mid;
} walk;

static double unit(walk *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (double)(w->rng >> 11) * (1.0 / 9007199254740992.0);
}

/* Push one event; returns 1 when it was a quote. */
static int walk_push(cscalp_engine *e, walk *w, long i)
{
    w->ts += 20 * MS + (int64_t)(unit(w) * 200.0 * MS);
    w->mid *= 1.0 + (unit(w) - 0.5) * 4e-4;
    const double half = 0.05 + unit(w) * 0.1;
    if (i % 5 == 0) {
        cscalp_trade t = {w->ts, w->mid + (unit(w) < 0.5 ? -half : half), 0.01 + unit(w),
                          unit(w) < 0.5 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL, 0, i};
        ck_assert_int_eq(cscalp_push_trade(e, &t), CSCALP_OK);
        return 0;
    }
    if (i % 7 == 0) {
        cscalp_book b;
        memset(&b, 0, sizeof b);
        b.ts_ns = w->ts;
        b.bid_count = b.ask_count = 10;
        for (int k = 0; k < 10; k++) {
            b.bids[k] = (cscalp_level){w->mid - half - 0.1 * k, 0.1 + unit(w)};
            b.asks[k] = (cscalp_level){w->mid + half + 0.1 * k, 0.1 + unit(w)};
        }
        ck_assert_int_eq(cscalp_push_book(e, &b), CSCALP_OK);
        return 0;
    }
    cscalp_quote q = {w->ts, w->mid - half, 0.1 + unit(w), w->mid + half, 0.1 + unit(w)};
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_OK);
    return 1;
}

START_TEST(defaults_before_any_data)
{
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, NULL), CSCALP_OK);
    const cscalp_signal s = infer_ok(e);
    ck_assert_uint_eq(s.size, sizeof s);
    ck_assert_int_eq(s.ts_ns, 0);
    ck_assert_uint_eq(s.reasons,
                      CSCALP_REASON_NO_QUOTE | CSCALP_REASON_WARMUP | CSCALP_REASON_UNTRAINED);
    assert_signal_well_formed(&s);
    /* no regime model yet: regime 0 at the uniform posterior */
    ck_assert_int_eq(s.regime, 0);
    ck_assert_double_eq_tol(s.regime_probability, 1.0 / 3.0, 1e-15);
    /* default prior move: 1 bps per class */
    ck_assert_double_eq_tol(s.expected_move_bps, s.probabilities[2] - s.probabilities[0],
                            1e-15);

    char stats[16384];
    ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(stats, "\"parameters\":6549"));
    ck_assert_ptr_nonnull(strstr(stats, "\"inferences\":1"));
    ck_assert_ptr_nonnull(strstr(stats, "\"version\":1"));
    ck_assert_ptr_nonnull(strstr(stats, cscalp_has_feature(CSCALP_FEATURE_BLAS)
                                            ? "\"backend\":\"blas\""
                                            : "\"backend\":\"cpu\""));
    cscalp_close(e);
}
END_TEST

START_TEST(signal_moves_with_the_market_and_reasons_clear)
{
    cscalp_engine *e = open_engine("{\"model\":{\"prior_move_bps\":2.5}}");
    walk w = {0x9E3779B97F4A7C15ull, 1700000000LL * NS_PER_S, 30000.0};
    cscalp_signal first = {0}, last = {0};
    int distinct = 0;
    for (long i = 0; i < 20000; i++) {
        if (!walk_push(e, &w, i))
            continue;
        const cscalp_signal s = infer_ok(e);
        ck_assert_int_eq(s.ts_ns, w.ts);
        assert_signal_well_formed(&s);
        ck_assert_double_eq_tol(s.expected_move_bps,
                                2.5 * (s.probabilities[2] - s.probabilities[0]), 1e-12);
        if (first.size == 0)
            first = s;
        if (last.size != 0 && memcmp(last.probabilities, s.probabilities,
                                     sizeof s.probabilities) != 0)
            distinct++;
        last = s;
    }
    /* First signals: only warm-up and untrained (a quote exists). */
    ck_assert_uint_eq(first.reasons, CSCALP_REASON_WARMUP | CSCALP_REASON_UNTRAINED);
    /* later: warm; UNTRAINED too once the learner has promoted a challenger */
    ck_assert_uint_eq(last.reasons & ~CSCALP_REASON_UNTRAINED, 0);
    /* The model really sees the market: consecutive signals differ. */
    ck_assert_int_gt(distinct, 1000);
    cscalp_close(e);
}
END_TEST

START_TEST(struct_size_contract)
{
    cscalp_engine *e = open_engine(NULL);
    captured_events ev = {0};
    cscalp_set_health_callback(e, capture_event, &ev);

    cscalp_signal small;
    memset(&small, 0, sizeof small);
    small.size = sizeof small - 8;
    ck_assert_int_eq(cscalp_infer(e, &small), CSCALP_ESTRUCT);
    ck_assert_ptr_nonnull(strstr(cscalp_last_error(e), "signal.size"));
    ck_assert_int_eq(ev.count, 1);
    ck_assert_int_eq(ev.last.error, CSCALP_ESTRUCT);
    ck_assert_int_eq(cscalp_infer(e, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_infer(NULL, &small), CSCALP_EINVAL);

    /* A caller built against a later header (larger struct): the library
     * fills what it knows, leaves the rest and keeps the caller's size. */
    unsigned char big[sizeof(cscalp_signal) + 32];
    memset(big, 0x5A, sizeof big);
    cscalp_signal head;
    memset(&head, 0, sizeof head);
    head.size = (uint32_t)sizeof big;
    memcpy(big, &head.size, sizeof head.size);
    ck_assert_int_eq(cscalp_infer(e, (cscalp_signal *)(void *)big), CSCALP_OK);
    cscalp_signal got;
    memcpy(&got, big, sizeof got);
    ck_assert_uint_eq(got.size, sizeof big);
    ck_assert_uint_eq(got.model_version, 1);
    for (size_t i = sizeof(cscalp_signal); i < sizeof big; i++)
        ck_assert_uint_eq(big[i], 0x5A);
    cscalp_close(e);
}
END_TEST

/* Same config and data give the same bytes; another seed another model. */
START_TEST(signals_are_deterministic_by_seed)
{
    cscalp_engine *a = open_engine("{\"model\":{\"seed\":42}}");
    cscalp_engine *b = open_engine("{\"model\":{\"seed\":42}}");
    cscalp_engine *c = open_engine("{\"model\":{\"seed\":43}}");
    walk wa = {12345, 1700000000LL * NS_PER_S, 100.0}, wb = wa, wc = wa;
    int differ = 0;
    for (long i = 0; i < 5000; i++) {
        const int qa = walk_push(a, &wa, i);
        walk_push(b, &wb, i);
        walk_push(c, &wc, i);
        if (!qa)
            continue;
        const cscalp_signal sa = infer_ok(a), sb = infer_ok(b), sc = infer_ok(c);
        ck_assert_int_eq(memcmp(&sa, &sb, sizeof sa), 0);
        differ += memcmp(sa.probabilities, sc.probabilities, sizeof sa.probabilities) != 0;
    }
    ck_assert_int_gt(differ, 0);
    cscalp_close(a);
    cscalp_close(b);
    cscalp_close(c);
}
END_TEST

/* With lag_count 3, the model input is [z(now), z(g_-1), z(g_-2)]: the
 * signal equals the internal model run on that input assembled by hand from
 * cscalp_features read right after ticks at the grid points. */
START_TEST(lagged_input_is_now_and_the_last_grid_points)
{
    /* learn.mode off: the network stays the initialised one checked here */
    const char *cfg = "{\"model\":{\"lag_count\":3,\"seed\":9},\"learn\":{\"mode\":\"off\"},"
                      "\"features\":{\"norm_interval_ms\":1000,\"norm_warmup_samples\":5}}";
    cscalp_engine *e = open_engine(cfg);
    walk w = {777, 1700000000LL * NS_PER_S, 500.0};
    double lag1[24], lag2[24], now[24];
    for (long i = 0; i < 3000; i++) {
        const int64_t before = w.ts;
        walk_push(e, &w, i);
        (void)before;
    }
    /* Two grid points with ticks exactly on them, then an event between. */
    const int64_t g1 = (w.ts / NS_PER_S + 1) * NS_PER_S;
    ck_assert_int_eq(cscalp_tick(e, g1), CSCALP_OK);
    ck_assert_int_eq(cscalp_features(e, NULL, lag2, 24, NULL), CSCALP_OK);
    const int64_t g2 = g1 + NS_PER_S;
    cscalp_quote q = {g1 + 300 * MS, w.mid - 0.1, 1.0, w.mid + 0.1, 2.0};
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_OK);
    ck_assert_int_eq(cscalp_tick(e, g2), CSCALP_OK);
    ck_assert_int_eq(cscalp_features(e, NULL, lag1, 24, NULL), CSCALP_OK);
    cscalp_quote q2 = {g2 + 400 * MS, w.mid - 0.2, 3.0, w.mid + 0.05, 1.0};
    ck_assert_int_eq(cscalp_push_quote(e, &q2), CSCALP_OK);
    ck_assert_int_eq(cscalp_features(e, NULL, now, 24, NULL), CSCALP_OK);
    const cscalp_signal s = infer_ok(e);

    cscalp_nn_arch arch = {.inputs = 72, .hidden_layers = 2, .hidden = {64, 64},
                           .experts = 3, .activation = CSCALP_NN_RELU};
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    static float params[16384];
    ck_assert_uint_le(cscalp_nn_param_count(&arch), 16384);
    cscalp_nn_init_params(&arch, 9, params);
    cscalp_nn_packed *p = NULL;
    ck_assert_int_eq(cscalp_nn_packed_create(&mem, &arch, &p), CSCALP_OK);
    cscalp_nn_pack(p, params);
    float x[72];
    int nonzero = 0;
    for (int k = 0; k < 24; k++) {
        x[k] = (float)now[k];
        x[24 + k] = (float)lag1[k];
        x[48 + k] = (float)lag2[k];
        nonzero += now[k] != 0.0 && lag1[k] != 0.0 && lag2[k] != 0.0;
    }
    ck_assert_int_gt(nonzero, 5); /* past warm-up: real inputs */
    const float regime[3] = {1.0f / 3, 1.0f / 3, 1.0f / 3};
    cscalp_nn_result r;
    cscalp_nn_infer(p, x, regime, &r);
    for (int c = 0; c < 3; c++)
        ck_assert_double_eq_tol(s.probabilities[c], (double)r.probs[c], 1e-7);

    /* A different order of lags gives a different answer: the check bites. */
    for (int k = 0; k < 24; k++) {
        x[24 + k] = (float)lag2[k];
        x[48 + k] = (float)lag1[k];
    }
    cscalp_nn_infer(p, x, regime, &r);
    ck_assert(s.probabilities[0] != (double)r.probs[0] ||
              s.probabilities[2] != (double)r.probs[2]);
    cscalp_nn_packed_destroy(p);
    cscalp_close(e);
}
END_TEST

START_TEST(model_keys_fixed_at_open)
{
    cscalp_engine *e = open_engine("{\"model\":{\"hidden_sizes\":[32,16,8]}}");
    char before[4096], after[4096];
    ck_assert_int_eq(cscalp_config_json(e, before, sizeof before, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(before, "\"hidden_sizes\":[32,16,8]"));

    static const char *const changes[] = {
        "{\"model\":{\"hidden_sizes\":[32,16]}}", "{\"model\":{\"activation\":\"silu\"}}",
        "{\"model\":{\"expert_count\":2}}",       "{\"model\":{\"lag_count\":2}}",
        "{\"model\":{\"seed\":2}}",
    };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        ck_assert_int_eq(cscalp_configure(e, changes[i]), CSCALP_ECONFIG_FIXED);
        ck_assert_ptr_nonnull(strstr(cscalp_last_error(e), "fixed when the engine opens"));
        ck_assert_int_eq(cscalp_config_json(e, after, sizeof after, NULL), CSCALP_OK);
        ck_assert_str_eq(before, after);
    }
    /* Repeating the current value is fine, as is a patch of changeable keys. */
    ck_assert_int_eq(cscalp_configure(e, "{\"model\":{\"hidden_sizes\":[32,16,8],"
                                         "\"prior_move_bps\":3,\"backend\":\"cpu\"}}"),
                     CSCALP_OK);
    char stats[16384];
    ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(stats, "\"backend\":\"cpu\""));
    ck_assert_ptr_nonnull(strstr(stats, "\"config_rejected\":5"));
    cscalp_close(e);
}
END_TEST

typedef struct bad_model_config {
    const char *json;
    int code;
    const char *detail;
} bad_model_config;

static const bad_model_config bad_model_configs[] = {
    {"{\"model\":{\"hidden_sizes\":[]}}", CSCALP_ECONFIG_RANGE, "model.hidden_sizes"},
    {"{\"model\":{\"hidden_sizes\":[1,2,3,4,5,6,7,8,9]}}", CSCALP_ECONFIG_RANGE,
     "model.hidden_sizes"},
    {"{\"model\":{\"hidden_sizes\":[64,0]}}", CSCALP_ECONFIG_RANGE, "model.hidden_sizes[1]"},
    {"{\"model\":{\"hidden_sizes\":[64,2000]}}", CSCALP_ECONFIG_RANGE,
     "model.hidden_sizes[1]"},
    {"{\"model\":{\"hidden_sizes\":[64,1.5]}}", CSCALP_ECONFIG_TYPE, "model.hidden_sizes[1]"},
    {"{\"model\":{\"hidden_sizes\":[\"64\"]}}", CSCALP_ECONFIG_TYPE, "model.hidden_sizes[0]"},
    {"{\"model\":{\"hidden_sizes\":64}}", CSCALP_ECONFIG_TYPE, "model.hidden_sizes"},
    {"{\"model\":{\"activation\":\"tanh\"}}", CSCALP_ECONFIG_RANGE, "model.activation"},
    {"{\"model\":{\"activation\":1}}", CSCALP_ECONFIG_TYPE, "model.activation"},
    {"{\"model\":{\"backend\":\"gpu\"}}", CSCALP_ECONFIG_RANGE, "model.backend"},
    {"{\"model\":{\"expert_count\":0}}", CSCALP_ECONFIG_RANGE, "model.expert_count"},
    {"{\"model\":{\"expert_count\":17}}", CSCALP_ECONFIG_RANGE, "model.expert_count"},
    {"{\"model\":{\"lag_count\":33}}", CSCALP_ECONFIG_RANGE, "model.lag_count"},
    {"{\"model\":{\"seed\":-1}}", CSCALP_ECONFIG_RANGE, "model.seed"},
    {"{\"model\":{\"prior_move_bps\":-1}}", CSCALP_ECONFIG_RANGE, "model.prior_move_bps"},
    {"{\"model\":{\"layers\":2}}", CSCALP_ECONFIG_KEY, "model.layers"},
};

START_TEST(bad_model_config_is_refused_naming_the_key)
{
    const bad_model_config *c = &bad_model_configs[_i];
    cscalp_engine *e = (cscalp_engine *)&e;
    char err[256] = "";
    ck_assert_int_eq(cscalp_open_ex(&e, c->json, NULL, err, sizeof err), c->code);
    ck_assert_ptr_null(e);
    ck_assert_msg(strncmp(err, c->detail, strlen(c->detail)) == 0 &&
                      err[strlen(c->detail)] == ':',
                  "detail \"%s\" does not start with \"%s:\"", err, c->detail);
    /* The same patch on a running engine: refused, nothing changes. */
    cscalp_engine *ok = open_engine(NULL);
    ck_assert_int_eq(cscalp_configure(ok, c->json), c->code);
    cscalp_close(ok);
}
END_TEST

START_TEST(backend_choice_follows_the_build)
{
    cscalp_engine *e = NULL;
    char err[256] = "";
    const int rc = cscalp_open_ex(&e, "{\"model\":{\"backend\":\"blas\"}}", NULL, err,
                                  sizeof err);
    if (cscalp_has_feature(CSCALP_FEATURE_BLAS)) {
        ck_assert_int_eq(rc, CSCALP_OK);
        cscalp_close(e);
    } else {
        ck_assert_int_eq(rc, CSCALP_EUNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(err, "model.backend"));
        cscalp_engine *c = open_engine("{\"model\":{\"backend\":\"cpu\"}}");
        ck_assert_int_eq(cscalp_configure(c, "{\"model\":{\"backend\":\"blas\"}}"),
                         CSCALP_EUNSUPPORTED);
        cscalp_close(c);
    }
    /* The effective config round-trips the string and array keys. */
    cscalp_engine *a = open_engine("{\"model\":{\"activation\":\"silu\",\"backend\":\"cpu\","
                                   "\"hidden_sizes\":[7]}}");
    char ja[4096], jb[4096];
    ck_assert_int_eq(cscalp_config_json(a, ja, sizeof ja, NULL), CSCALP_OK);
    cscalp_engine *b = open_engine(ja);
    ck_assert_int_eq(cscalp_config_json(b, jb, sizeof jb, NULL), CSCALP_OK);
    ck_assert_str_eq(ja, jb);
    ck_assert_ptr_nonnull(strstr(ja, "\"activation\":\"silu\""));
    ck_assert_ptr_nonnull(strstr(ja, "\"hidden_sizes\":[7]"));
    /* Same seed, same architecture: the same signal from both engines. */
    const cscalp_signal sa = infer_ok(a), sb = infer_ok(b);
    ck_assert_int_eq(memcmp(&sa, &sb, sizeof sa), 0);
    cscalp_close(a);
    cscalp_close(b);
}
END_TEST

#ifdef HAVE_CAPTURE
/* The bar: defaults, cscalp_open(&e, NULL), a real capture. */
START_TEST(real_capture_on_defaults)
{
    const char *root = getenv("CSCALP_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/data/btcusdt_20240718.gz", root);
    bcap_reader *rd = NULL;
    char err[256];
    bcap_options opt;
    bcap_options_init(&opt);
    opt.log = NULL;
    ck_assert_msg(bcap_open(&rd, path, &opt, err, sizeof err) == BCAP_OK, "%s", err);
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, NULL), CSCALP_OK);
    bcap_event ev;
    long quotes = 0, warm = 0;
    double lo = 1.0, hi = 0.0;
    int rc;
    while ((rc = bcap_next(rd, &ev)) == 1) {
        if (ev.kind == CSCALP_KIND_QUOTE) {
            ck_assert_int_eq(cscalp_push_quote(e, &ev.quote), CSCALP_OK);
            const cscalp_signal s = infer_ok(e);
            assert_signal_well_formed(&s);
            quotes++;
            if (!(s.reasons & CSCALP_REASON_WARMUP)) {
                warm++;
                lo = fmin(lo, s.probabilities[2]);
                hi = fmax(hi, s.probabilities[2]);
            }
        } else if (ev.kind == CSCALP_KIND_TRADE) {
            ck_assert_int_eq(cscalp_push_trade(e, &ev.trade), CSCALP_OK);
        } else if (ev.kind == CSCALP_KIND_BOOK) {
            ck_assert_int_eq(cscalp_push_book(e, &ev.book), CSCALP_OK);
        } else {
            ck_assert_int_eq(cscalp_push_funding(e, &ev.funding), CSCALP_OK);
        }
    }
    ck_assert_int_eq(rc, 0);
    bcap_close(rd);
    ck_assert_int_gt(quotes, 5000);
    ck_assert_int_gt(warm, quotes / 2);
    ck_assert_double_gt(hi - lo, 1e-4); /* the untrained model still responds */
    cscalp_close(e);
}
END_TEST
#endif

static Suite *infer_suite(void)
{
    Suite *s = suite_create("infer");
    TCase *tc = tcase_create("infer");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, defaults_before_any_data);
    tcase_add_test(tc, signal_moves_with_the_market_and_reasons_clear);
    tcase_add_test(tc, struct_size_contract);
    tcase_add_test(tc, signals_are_deterministic_by_seed);
    tcase_add_test(tc, lagged_input_is_now_and_the_last_grid_points);
    tcase_add_test(tc, model_keys_fixed_at_open);
    tcase_add_loop_test(tc, bad_model_config_is_refused_naming_the_key, 0,
                        (int)(sizeof bad_model_configs / sizeof bad_model_configs[0]));
    tcase_add_test(tc, backend_choice_follows_the_build);
#ifdef HAVE_CAPTURE
    tcase_add_test(tc, real_capture_on_defaults);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(infer_suite()); }
