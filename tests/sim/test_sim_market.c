/* The synthetic market's contract (cryptoscalp_sim.h): defaults, every
 * configuration error with its code and the field it names, allocator use
 * and failure, argument errors, determinism (same seed: same values, on
 * every platform through a pinned digest; another seed: another stream),
 * time order, and the portable exp/log it is built on. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/test_util.h"
#include "sim_util.h"
#include "util/portable_math.h"

START_TEST(defaults_are_documented)
{
    const cscalp_sim_market_config cfg = su_defaults();
    ck_assert_uint_eq(cfg.size, sizeof cfg);
    ck_assert_uint_eq(cfg.regime_count, 3);
    ck_assert_uint_eq(cfg.seed, 1);
    ck_assert_int_eq(cfg.start_time_ns, INT64_C(1700000000000000000));
    ck_assert(cfg.start_price == 100.0 && cfg.tick_size == 0.01);
    ck_assert(cfg.lot_size_contracts == 0.001);
    ck_assert(cfg.quotes_per_s == 20.0 && cfg.books_per_s == 10.0);
    ck_assert_uint_eq(cfg.book_levels, 10);
    ck_assert_uint_eq(cfg.book_level_spacing_ticks, 1);
    ck_assert(cfg.quote_size_mean_contracts == 5.0 && cfg.trade_size_mean_contracts == 0.5);
    ck_assert(cfg.size_log_sd == 0.8 && cfg.depth_size_growth_per_level == 0.3);
    ck_assert_uint_eq(cfg.start_regime, 0);
    /* Ordered by volatility: calm, trending, violent. */
    static const double want[3][7] = {
        {300, 0, 0.5, 2, 4, 0.2, 0},
        {120, 0.5, 1.2, 3, 12, 0.5, 0.3},
        {45, 0, 4, 8, 40, 0.3, 0},
    };
    static const double weights[3][3] = {{0, 0.75, 0.25}, {0.6, 0, 0.4}, {0.7, 0.3, 0}};
    for (int r = 0; r < 3; r++) {
        const cscalp_sim_regime *g = &cfg.regimes[r];
        const double got[7] = {g->mean_duration_s, g->drift_bps_per_s, g->vol_bps_per_sqrt_s,
                               g->spread_bps, g->trades_per_s, g->flow_autocorrelation,
                               g->flow_drift_bias};
        for (int k = 0; k < 7; k++)
            ck_assert_msg(got[k] == want[r][k], "regime %d field %d: %g", r, k, got[k]);
        for (int j = 0; j < 3; j++)
            ck_assert(g->next_regime_weight[j] == weights[r][j]);
        ck_assert_uint_eq(g->drift_sign_random, r == 1);
    }
    ck_assert(cfg.regimes[0].vol_bps_per_sqrt_s < cfg.regimes[1].vol_bps_per_sqrt_s &&
              cfg.regimes[1].vol_bps_per_sqrt_s < cfg.regimes[2].vol_bps_per_sqrt_s);
}
END_TEST

START_TEST(config_init_arguments)
{
    ck_assert_int_eq(cscalp_sim_market_config_init(NULL), CSCALP_EINVAL);
    cscalp_sim_market_config cfg;
    memset(&cfg, 0xab, sizeof cfg);
    cfg.size = (uint32_t)sizeof cfg - 8;
    ck_assert_int_eq(cscalp_sim_market_config_init(&cfg), CSCALP_ESTRUCT);
    ck_assert_uint_eq(cfg.regime_count, 0xabababab); /* nothing written */
}
END_TEST

/* One configuration error: what to break, the code, the text to find. */
typedef struct bad_case {
    int id;
    int code;
    const char *names;
} bad_case;

static const bad_case bad_cases[] = {
    {0, CSCALP_ECONFIG_RANGE, "regime_count: must be in 1..CSCALP_SIM_MAX_REGIMES (8), got 0"},
    {1, CSCALP_ECONFIG_RANGE, "regime_count: must be in 1..CSCALP_SIM_MAX_REGIMES (8), got 9"},
    {2, CSCALP_ECONFIG_RANGE, "start_time_ns: must be in [0, 2^62], got -1"},
    {3, CSCALP_ECONFIG_RANGE, "tick_size: must be in [1e-12, 1000000], got 0"},
    {4, CSCALP_ECONFIG_RANGE, "tick_size: must be in"},
    {5, CSCALP_ECONFIG_RANGE,
     "start_price: must be between 100 and 1e12 ticks of tick_size 0.01, got 0.5"},
    {6, CSCALP_ECONFIG_RANGE, "start_price: must be between 100 and 1e12 ticks"},
    {7, CSCALP_ECONFIG_RANGE, "lot_size_contracts: must be in"},
    {8, CSCALP_ECONFIG_RANGE, "quotes_per_s: must be in [1e-06, 1000000], got 0"},
    {9, CSCALP_ECONFIG_RANGE, "books_per_s: must be in [0, 1000000], got -1"},
    {10, CSCALP_ECONFIG_RANGE, "book_levels: must be in 0..CSCALP_BOOK_MAX_LEVELS (50), got 51"},
    {11, CSCALP_ECONFIG_RANGE, "book_level_spacing_ticks: must be in 1..1000, got 0"},
    {12, CSCALP_ECONFIG_RANGE,
     "quote_size_mean_contracts: must be in [0.001, 1000000000000], got 0.0001"},
    {13, CSCALP_ECONFIG_RANGE,
     "trade_size_mean_contracts: must be in [0.001, 1000000000000], got nan"},
    {14, CSCALP_ECONFIG_RANGE, "size_log_sd: must be in [0, 3], got 3.5"},
    {15, CSCALP_ECONFIG_RANGE, "depth_size_growth_per_level: must be in [0, 100], got -0.1"},
    {16, CSCALP_ECONFIG_RANGE, "start_regime: must be below regime_count, got 3"},
    {17, CSCALP_ECONFIG_RANGE, "reserved: must be 0, got 1"},
    {18, CSCALP_ECONFIG_RANGE, "regimes[1].mean_duration_s: must be in [0.001, 10000000], got 0"},
    {19, CSCALP_ECONFIG_RANGE, "regimes[2].drift_bps_per_s: must be in [-1000, 1000], got 2000"},
    {20, CSCALP_ECONFIG_RANGE, "regimes[1].vol_bps_per_sqrt_s: must be in [0, 1000], got -1"},
    {21, CSCALP_ECONFIG_RANGE, "regimes[0].spread_bps: must be in (0, 1000], got 0"},
    {22, CSCALP_ECONFIG_RANGE, "regimes[2].trades_per_s: must be in [0, 1000000], got -1"},
    {23, CSCALP_ECONFIG_RANGE, "regimes[1].flow_autocorrelation: must be in [0, 1), got 1"},
    {24, CSCALP_ECONFIG_RANGE, "regimes[0].flow_drift_bias: must be in [0, 1], got 1.5"},
    {25, CSCALP_ECONFIG_RANGE, "regimes[1].drift_sign_random: must be 0 or 1, got 2"},
    {26, CSCALP_ECONFIG_RANGE, "regimes[2].reserved: must be 0, got 7"},
    {27, CSCALP_ECONFIG_RANGE,
     "regimes[1].next_regime_weight[1]: must be 0 (a regime does not switch to itself), got 0.5"},
    {28, CSCALP_ECONFIG_RANGE, "regimes[0].next_regime_weight[2]: must be finite and >= 0, got -1"},
    {29, CSCALP_ECONFIG_RANGE,
     "regimes[2].next_regime_weight: must be finite with a positive sum over the other "
     "regimes, got 0"},
    {30, CSCALP_ESTRUCT, "size: "},
    {31, CSCALP_ESTRUCT, "size: "},
    {32, CSCALP_ECONFIG_RANGE, "regimes[0].vol_bps_per_sqrt_s: must be in [0, 1000], got inf"},
    {33, CSCALP_ECONFIG_RANGE,
     "regimes[1].next_regime_weight[0]: must be finite and >= 0, got nan"},
};

static void break_config(cscalp_sim_market_config *c, int id)
{
    switch (id) {
    case 0: c->regime_count = 0; break;
    case 1: c->regime_count = 9; break;
    case 2: c->start_time_ns = -1; break;
    case 3: c->tick_size = 0.0; break;
    case 4: c->tick_size = NAN; break;
    case 5: c->start_price = 0.5; break; /* 50 ticks */
    case 6: c->start_price = INFINITY; break;
    case 7: c->lot_size_contracts = 0.0; break;
    case 8: c->quotes_per_s = 0.0; break;
    case 9: c->books_per_s = -1.0; break;
    case 10: c->book_levels = 51; break;
    case 11: c->book_level_spacing_ticks = 0; break;
    case 12: c->quote_size_mean_contracts = 0.0001; break;
    case 13: c->trade_size_mean_contracts = NAN; break;
    case 14: c->size_log_sd = 3.5; break;
    case 15: c->depth_size_growth_per_level = -0.1; break;
    case 16: c->start_regime = 3; break;
    case 17: c->reserved = 1; break;
    case 18: c->regimes[1].mean_duration_s = 0.0; break;
    case 19: c->regimes[2].drift_bps_per_s = 2000.0; break;
    case 20: c->regimes[1].vol_bps_per_sqrt_s = -1.0; break;
    case 21: c->regimes[0].spread_bps = 0.0; break;
    case 22: c->regimes[2].trades_per_s = -1.0; break;
    case 23: c->regimes[1].flow_autocorrelation = 1.0; break;
    case 24: c->regimes[0].flow_drift_bias = 1.5; break;
    case 25: c->regimes[1].drift_sign_random = 2; break;
    case 26: c->regimes[2].reserved = 7; break;
    case 27: c->regimes[1].next_regime_weight[1] = 0.5; break;
    case 28: c->regimes[0].next_regime_weight[2] = -1.0; break;
    case 29: c->regimes[2].next_regime_weight[0] = 0.0;
             c->regimes[2].next_regime_weight[1] = 0.0; break;
    case 30: c->size = (uint32_t)sizeof *c - 8; break;
    case 31: c->size = (uint32_t)sizeof *c + 8; break;
    case 32: c->regimes[0].vol_bps_per_sqrt_s = INFINITY; break;
    case 33: c->regimes[1].next_regime_weight[0] = NAN; break;
    default: ck_abort_msg("no case %d", id);
    }
}

/* Each bad field: the specific code, a message naming the field (and its
 * value and range), *out NULL, nothing allocated. */
START_TEST(each_bad_field_is_named)
{
    const bad_case *bc = &bad_cases[_i];
    cscalp_sim_market_config cfg = su_defaults();
    break_config(&cfg, bc->id);
    tu_alloc counts = {0, 0, 0};
    const cscalp_allocator a = tu_allocator(&counts);
    cscalp_sim_market *m = (cscalp_sim_market *)&cfg;
    char why[256];
    const int rc = cscalp_sim_market_open(&m, &cfg, &a, why, sizeof why);
    ck_assert_msg(rc == bc->code, "case %d: %s, want %s (%s)", bc->id, cscalp_error_name(rc),
                  cscalp_error_name(bc->code), why);
    ck_assert_msg(strstr(why, bc->names) == why, "case %d: \"%s\" does not start with \"%s\"",
                  bc->id, why, bc->names);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(counts.calls, 0);
}
END_TEST

/* Edge values inside the ranges, and fields the regime count makes
 * irrelevant, are accepted. */
START_TEST(edges_and_unused_fields_accepted)
{
    cscalp_sim_market_config cfg = su_defaults();
    cfg.regimes[1].flow_autocorrelation = 0.999;
    cfg.regimes[0].flow_drift_bias = 1.0;
    cfg.regimes[0].vol_bps_per_sqrt_s = 0.0;
    cfg.book_levels = CSCALP_BOOK_MAX_LEVELS;
    cfg.start_price = 100 * cfg.tick_size;
    cfg.regimes[5].spread_bps = -1.0; /* regime 5 does not exist */
    cscalp_sim_market *m = su_open(&cfg);
    ck_assert_uint_eq(cscalp_sim_market_regime_count(m), 3);
    cscalp_sim_market_close(m);

    /* Two regimes: the weight towards regime 2 is not read. */
    cfg = su_defaults();
    cfg.regime_count = 2;
    m = su_open(&cfg);
    ck_assert_uint_eq(cscalp_sim_market_regime_count(m), 2);
    cscalp_sim_market_close(m);

    /* One regime needs no weights and never switches. */
    cfg = su_defaults();
    cfg.regime_count = 1;
    memset(cfg.regimes[0].next_regime_weight, 0, sizeof cfg.regimes[0].next_regime_weight);
    m = su_open(&cfg);
    cscalp_sim_market_event ev = su_event();
    for (int i = 0; i < 20000; i++) {
        SU_CHECK(cscalp_sim_market_next(m, &ev) == CSCALP_OK);
        SU_CHECK(ev.regime == 0);
    }
    cscalp_sim_market_close(m);
    ck_assert_uint_eq(cscalp_sim_market_regime_count(NULL), 0);
}
END_TEST

START_TEST(argument_errors)
{
    cscalp_sim_market_config cfg = su_defaults();
    cscalp_sim_market *m = NULL;
    char why[128];
    ck_assert_int_eq(cscalp_sim_market_open(NULL, &cfg, NULL, why, sizeof why), CSCALP_EINVAL);
    ck_assert_str_eq(why, "out: NULL pointer");
    ck_assert_int_eq(cscalp_sim_market_open(&m, NULL, NULL, why, sizeof why), CSCALP_EINVAL);
    ck_assert_str_eq(why, "cfg: NULL pointer");
    const cscalp_allocator half = {tu_alloc_fn, NULL, NULL};
    ck_assert_int_eq(cscalp_sim_market_open(&m, &cfg, &half, why, sizeof why), CSCALP_EINVAL);
    ck_assert_str_eq(why, "allocator: alloc and free must both be set");
    ck_assert_ptr_null(m);
    /* No error buffer at all, and a short one (truncated, terminated). */
    cfg.regime_count = 0;
    ck_assert_int_eq(cscalp_sim_market_open(&m, &cfg, NULL, NULL, 0), CSCALP_ECONFIG_RANGE);
    char small[8];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(cscalp_sim_market_open(&m, &cfg, NULL, small, sizeof small),
                     CSCALP_ECONFIG_RANGE);
    ck_assert_str_eq(small, "regime_");

    cfg = su_defaults();
    m = su_open(&cfg);
    cscalp_sim_market_event ev = su_event();
    ck_assert_int_eq(cscalp_sim_market_next(NULL, &ev), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_sim_market_next(m, NULL), CSCALP_EINVAL);
    ev.size = (uint32_t)sizeof ev - 1;
    ck_assert_int_eq(cscalp_sim_market_next(m, &ev), CSCALP_ESTRUCT);
    ck_assert_uint_eq(ev.index, 0); /* nothing written */
    /* The refused calls did not move the generator: the first event is
     * still the opening quote. */
    ev.size = sizeof ev;
    ck_assert_int_eq(cscalp_sim_market_next(m, &ev), CSCALP_OK);
    ck_assert_int_eq(ev.kind, CSCALP_KIND_QUOTE);
    ck_assert_int_eq(ev.ts_ns, cfg.start_time_ns);
    cscalp_sim_market_close(m);
    cscalp_sim_market_close(NULL);
}
END_TEST

/* One allocation, at open, through the caller's allocator; none in next();
 * a failing allocator gives CSCALP_ENOMEM with nothing left allocated. */
START_TEST(allocator_use_and_failure)
{
    const cscalp_sim_market_config cfg = su_defaults();
    tu_alloc counts = {0, 0, 1};
    cscalp_allocator a = tu_allocator(&counts);
    cscalp_sim_market *m = (cscalp_sim_market *)&counts;
    char why[128];
    ck_assert_int_eq(cscalp_sim_market_open(&m, &cfg, &a, why, sizeof why), CSCALP_ENOMEM);
    ck_assert_str_eq(why, "market: out of memory");
    ck_assert_ptr_null(m);
    ck_assert_int_eq(counts.live, 0);

    counts = (tu_alloc){0, 0, 0};
    ck_assert_int_eq(cscalp_sim_market_open(&m, &cfg, &a, why, sizeof why), CSCALP_OK);
    ck_assert_str_eq(why, "");
    ck_assert_int_eq(counts.calls, 1);
    cscalp_sim_market_event ev = su_event();
    for (int i = 0; i < 200000; i++)
        SU_CHECK(cscalp_sim_market_next(m, &ev) == CSCALP_OK);
    ck_assert_int_eq(counts.calls, 1);
    ck_assert_int_eq(counts.live, 1);
    cscalp_sim_market_close(m);
    ck_assert_int_eq(counts.live, 0);
}
END_TEST

/* The stream is a pure function of the configuration. */
START_TEST(same_seed_same_stream_other_seed_other_stream)
{
    cscalp_sim_market_config cfg = su_defaults();
    cfg.seed = 42;
    const long n = 200000;
    const uint64_t a = su_stream_digest(&cfg, n);
    ck_assert_uint_eq(su_stream_digest(&cfg, n), a);

    /* Byte for byte too, event by event, from two live generators. */
    cscalp_sim_market *m1 = su_open(&cfg), *m2 = su_open(&cfg);
    cscalp_sim_market_event e1 = su_event(), e2 = su_event();
    for (long i = 0; i < 50000; i++) {
        SU_CHECK(cscalp_sim_market_next(m1, &e1) == CSCALP_OK);
        SU_CHECK(cscalp_sim_market_next(m2, &e2) == CSCALP_OK);
        if (memcmp(&e1, &e2, sizeof e1) != 0)
            ck_abort_msg("event %ld differs", i);
    }
    cscalp_sim_market_close(m1);
    cscalp_sim_market_close(m2);

    cfg.seed = 43;
    ck_assert_uint_ne(su_stream_digest(&cfg, n), a);
    /* Every other field feeds the stream too. */
    cfg.seed = 42;
    cfg.regimes[2].vol_bps_per_sqrt_s *= 1.01;
    ck_assert_uint_ne(su_stream_digest(&cfg, n), a);
}
END_TEST

/* The values are pinned: a platform, compiler or libm that changes one bit
 * of one field of the first 100 000 default events fails here. Only
 * targets that compute double in double (FLT_EVAL_METHOD 0) are covered.
 * A deliberate change of the process changes these digests, with a
 * CHANGELOG line (hosts may rely on reproducing a published stream). */
START_TEST(stream_is_pinned)
{
#if FLT_EVAL_METHOD == 0
    cscalp_sim_market_config cfg = su_defaults();
    const uint64_t got_default = su_stream_digest(&cfg, 100000);
    cfg.seed = 7;
    cfg.book_levels = CSCALP_BOOK_MAX_LEVELS;
    cfg.regimes[2].vol_bps_per_sqrt_s = 40.0;
    cfg.regimes[2].mean_duration_s = 5.0;
    const uint64_t got_wild = su_stream_digest(&cfg, 100000);
    printf("stream digests: default %016llx, wild %016llx\n", (unsigned long long)got_default,
           (unsigned long long)got_wild);
    ck_assert_uint_eq(got_default, UINT64_C(0xb83053349716de2f));
    ck_assert_uint_eq(got_wild, UINT64_C(0xe75c0e1be70b7d52));
#else
    printf("stream digests not checked: FLT_EVAL_METHOD %d\n", (int)FLT_EVAL_METHOD);
#endif
}
END_TEST

/* Time never decreases, index counts, the opening event is a quote, every
 * kind appears at about its configured share, and the event's own time is
 * the member's. */
START_TEST(time_order_and_kinds)
{
    cscalp_sim_market_config cfg = su_defaults();
    cfg.regime_count = 1; /* calm: 4 trades, 20 quotes, 10 books per s */
    cscalp_sim_market *m = su_open(&cfg);
    cscalp_sim_market_event ev = su_event();
    long kinds[3] = {0, 0, 0};
    int64_t prev = INT64_MIN;
    const long n = 300000;
    for (long i = 0; i < n; i++) {
        SU_CHECK(cscalp_sim_market_next(m, &ev) == CSCALP_OK);
        SU_CHECK(ev.index == (uint64_t)i);
        SU_CHECK(ev.ts_ns >= prev);
        prev = ev.ts_ns;
        SU_CHECK(ev.kind >= CSCALP_KIND_TRADE && ev.kind <= CSCALP_KIND_BOOK);
        kinds[ev.kind]++;
        const int64_t own = ev.kind == CSCALP_KIND_TRADE   ? ev.trade.ts_ns
                            : ev.kind == CSCALP_KIND_QUOTE ? ev.quote.ts_ns
                                                           : ev.book.ts_ns;
        SU_CHECK(own == ev.ts_ns);
        if (i == 0) {
            ck_assert_int_eq(ev.kind, CSCALP_KIND_QUOTE);
            ck_assert_int_eq(ev.ts_ns, cfg.start_time_ns);
            ck_assert_double_eq_tol(ev.mid, cfg.start_price, 1e-12);
        }
        if (ev.kind == CSCALP_KIND_BOOK) {
            SU_CHECK(ev.book.bid_count == cfg.book_levels);
            SU_CHECK(ev.book.ask_count == cfg.book_levels);
        }
    }
    const double seconds = (double)(prev - cfg.start_time_ns) * 1e-9;
    printf("calm only: %.0f s, trades %.3f/s quotes %.3f/s books %.3f/s\n", seconds,
           (double)kinds[0] / seconds, (double)kinds[1] / seconds, (double)kinds[2] / seconds);
    ck_assert_double_eq_tol((double)kinds[0] / seconds, 4.0, 4.0 * 0.03);
    ck_assert_double_eq_tol((double)kinds[1] / seconds, 20.0, 20.0 * 0.02);
    ck_assert_double_eq_tol((double)kinds[2] / seconds, 10.0, 10.0 * 0.02);
    cscalp_sim_market_close(m);

    /* book_levels 0 or books_per_s 0: no BOOK events. */
    for (int variant = 0; variant < 2; variant++) {
        cfg = su_defaults();
        if (variant == 0)
            cfg.book_levels = 0;
        else
            cfg.books_per_s = 0.0;
        m = su_open(&cfg);
        for (long i = 0; i < 50000; i++) {
            SU_CHECK(cscalp_sim_market_next(m, &ev) == CSCALP_OK);
            SU_CHECK(ev.kind != CSCALP_KIND_BOOK);
        }
        cscalp_sim_market_close(m);
    }
}
END_TEST

/* The clock cannot overflow: from the latest start, at the slowest rate
 * (one quote per 10^6 s), the generator runs until the next time would pass
 * INT64_MAX, then refuses with CSCALP_ETIME, writing nothing, every time. */
START_TEST(clock_runs_out_cleanly)
{
    cscalp_sim_market_config cfg = su_defaults();
    cfg.regime_count = 1;
    cfg.start_time_ns = (int64_t)1 << 62;
    cfg.quotes_per_s = 1e-6;
    cfg.books_per_s = 0.0;
    cfg.regimes[0].trades_per_s = 0.0;
    cscalp_sim_market *m = su_open(&cfg);
    cscalp_sim_market_event ev = su_event();
    int64_t prev = cfg.start_time_ns;
    long events = 0;
    int rc;
    while ((rc = cscalp_sim_market_next(m, &ev)) == CSCALP_OK) {
        SU_CHECK(ev.ts_ns >= prev);
        prev = ev.ts_ns;
        events++;
    }
    ck_assert_int_eq(rc, CSCALP_ETIME);
    printf("clock: %ld events to %lld, %.0f years after the start\n", events, (long long)prev,
           (double)(prev - cfg.start_time_ns) * 1e-9 / 3.15576e7);
    ck_assert_int_gt(events, 4000);
    ck_assert_uint_eq(ev.index, (uint64_t)events - 1); /* nothing written */
    ck_assert_int_eq(cscalp_sim_market_next(m, &ev), CSCALP_ETIME);
    ck_assert_int_eq(ev.ts_ns, prev);
    cscalp_sim_market_close(m);
}
END_TEST

/* The portable exp and log stay within 2 ulp of libm's over the ranges the
 * generator uses and well beyond. */
START_TEST(portable_exp_log)
{
    tu_rng g = {99};
    double worst_exp = 0.0, worst_log = 0.0;
    ck_assert(cscalp_pm_log(1.0) == 0.0);
    ck_assert(cscalp_pm_exp(0.0) == 1.0);
    ck_assert_double_eq_tol(cscalp_pm_log(DBL_MIN / 4), log(DBL_MIN / 4), 1e-12);
    for (int i = 0; i < 1000000; i++) {
        const double x = -700.0 + 1400.0 * tu_uniform(&g);
        const double small = (tu_uniform(&g) - 0.5) * 1e-3;
        const double y = ldexp(0.5 + tu_uniform(&g), tu_int(&g, 2000) - 1000);
        const double re = fabs(cscalp_pm_exp(x) - exp(x)) / exp(x);
        const double rs = fabs(cscalp_pm_exp(small) - exp(small)) / exp(small);
        const double rl = fabs(cscalp_pm_log(y) - log(y)) / fmax(fabs(log(y)), DBL_MIN);
        const double u = 1.0 - tu_uniform(&g); /* as the generator uses it */
        const double ru = log(u) == 0.0 ? fabs(cscalp_pm_log(u))
                                        : fabs(cscalp_pm_log(u) - log(u)) / fabs(log(u));
        worst_exp = fmax(worst_exp, fmax(re, rs));
        worst_log = fmax(worst_log, fmax(rl, ru));
    }
    printf("portable math: worst relative error exp %.3g, log %.3g (ulp %.3g)\n", worst_exp,
           worst_log, DBL_EPSILON);
    ck_assert_double_le(worst_exp, 2 * DBL_EPSILON);
    ck_assert_double_le(worst_log, 2 * DBL_EPSILON);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sim_market");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, defaults_are_documented);
    tcase_add_test(tc, config_init_arguments);
    tcase_add_loop_test(tc, each_bad_field_is_named, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, edges_and_unused_fields_accepted);
    tcase_add_test(tc, argument_errors);
    tcase_add_test(tc, allocator_use_and_failure);
    tcase_add_test(tc, same_seed_same_stream_other_seed_other_stream);
    tcase_add_test(tc, stream_is_pinned);
    tcase_add_test(tc, time_order_and_kinds);
    tcase_add_test(tc, clock_runs_out_cleanly);
    tcase_add_test(tc, portable_exp_log);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
