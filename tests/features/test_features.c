/* Features against docs/features.md: hand-worked cases, a brute-force
 * reference over random streams and over real Binance captures, the online
 * normaliser, and classic-indicator reference values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "cryptoscalp.h"
#include "features/normalizer.h"
#include "reference.h"
#include "test_util.h"
#ifdef HAVE_CAPTURE
#include "binance_capture.h"
#endif

#define S NS_PER_S
#define MS 1000000LL

enum {
    SPREAD, MICRO, IMB, DEPTH5, DEPTH10, OFI1, OFI10, SV1, SV10, SV60, TC1, TC10, TC60,
    RET1, RET10, RET60, RV10, RV60, RV300, VWAP, TIMB10, FUND, TTF, BASIS
};

static void raw_now(cscalp_engine *e, double *x)
{
    ck_assert_int_eq(cscalp_features(e, x, NULL, REF_FEATURES, NULL), CSCALP_OK);
}

static cscalp_engine *open_engine(const char *json)
{
    cscalp_engine *e = NULL;
    char err[256];
    ck_assert_msg(cscalp_open_ex(&e, json, NULL, err, sizeof err) == CSCALP_OK, "%s", err);
    /* Hand-made sequences (reference sheets, prices far from the quote) that
     * the outlier screen would hold back: the features are tested here, the
     * screen in tests/health. */
    ck_assert_int_eq(cscalp_configure(e, "{\"feed\":{\"outlier_min_bps\":0}}"), CSCALP_OK);
    return e;
}

static void push_quote(cscalp_engine *e, int64_t t, double b, double bq, double a, double aq)
{
    cscalp_quote q = {t, b, bq, a, aq};
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_OK);
}

static void push_trade(cscalp_engine *e, int64_t t, double p, double q, int side)
{
    cscalp_trade tr = {t, p, q, side, 0, 0};
    ck_assert_int_eq(cscalp_push_trade(e, &tr), CSCALP_OK);
}

static int close_enough(double got, double want, double rel)
{
    return fabs(got - want) <= rel * (1.0 + fabs(want));
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *data_dir(void)
{
    const char *d = getenv("CSCALP_SHARED_DATA");
    ck_assert_msg(d != NULL && *d, "CSCALP_SHARED_DATA is not set: the real data "
                                   "(../shared/data) is required by this test");
    return d;
}

/* ------------------------------------------------------------------------ */

START_TEST(names_follow_the_documented_table)
{
    const char *root = getenv("CSCALP_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/features.md", root);
    char *doc = read_file(path);
    const char *names[REF_FEATURES];
    size_t n = 0;
    ck_assert_int_eq(cscalp_feature_names(names, REF_FEATURES, &n), CSCALP_OK);
    ck_assert_uint_eq(n, REF_FEATURES);
    for (size_t i = 0; i < n; i++) {
        char row[96];
        snprintf(row, sizeof row, "| %zu | `%s` |", i, names[i]);
        ck_assert_msg(strstr(doc, row) != NULL, "docs/features.md lacks row '%s'", row);
    }
    free(doc);
}
END_TEST

START_TEST(top_of_book_features_by_hand)
{
    cscalp_engine *e = open_engine(NULL);
    double x[REF_FEATURES];
    raw_now(e, x);
    for (int k = 0; k < REF_FEATURES; k++)
        ck_assert_double_eq(x[k], 0.0); /* nothing defined yet */
    push_quote(e, 5 * S, 100.0, 1.0, 101.0, 3.0);
    raw_now(e, x);
    ck_assert_double_eq_tol(x[SPREAD], 1.0 / 100.5 * 1e4, 1e-9);
    /* microprice (100*3 + 101*1) / 4 = 100.25 */
    ck_assert_double_eq_tol(x[MICRO], (100.25 - 100.5) / 100.5 * 1e4, 1e-9);
    ck_assert_double_eq_tol(x[IMB], -0.5, 1e-15);
    ck_assert_double_eq_tol(x[DEPTH5], -0.5, 1e-15); /* no snapshot yet: = L1 */
    ck_assert_double_eq_tol(x[DEPTH10], -0.5, 1e-15);
    push_quote(e, 6 * S, 100.0, 0.0, 101.0, 0.0);
    raw_now(e, x);
    ck_assert_double_eq(x[MICRO], 0.0);
    ck_assert_double_eq(x[IMB], 0.0);
    cscalp_close(e);
}
END_TEST

START_TEST(depth_imbalance_uses_the_snapshot_levels)
{
    cscalp_engine *e = open_engine("{\"feed\":{\"book_levels\":7}}");
    cscalp_book b;
    memset(&b, 0, sizeof b);
    b.ts_ns = S;
    b.bid_count = 12;
    b.ask_count = 3;
    for (int i = 0; i < 12; i++) {
        b.bids[i] = (cscalp_level){100.0 - i, 1.0};
        b.asks[i] = (cscalp_level){101.0 + i, 2.0};
    }
    ck_assert_int_eq(cscalp_push_book(e, &b), CSCALP_OK);
    double x[REF_FEATURES];
    raw_now(e, x);
    /* 5 levels: bids 5, asks 3 levels * 2 = 6; 10 levels: bids 7 kept, asks 6 */
    ck_assert_double_eq_tol(x[DEPTH5], (5.0 - 6.0) / 11.0, 1e-15);
    ck_assert_double_eq_tol(x[DEPTH10], (7.0 - 6.0) / 13.0, 1e-15);
    ck_assert_double_eq_tol(x[IMB], (1.0 - 2.0) / 3.0, 1e-15);
    /* A later quote moves L1 but not the snapshot features. */
    push_quote(e, 2 * S, 100.0, 9.0, 101.0, 1.0);
    raw_now(e, x);
    ck_assert_double_eq_tol(x[IMB], 0.8, 1e-15);
    ck_assert_double_eq_tol(x[DEPTH5], (5.0 - 6.0) / 11.0, 1e-15);
    cscalp_close(e);
}
END_TEST

/* One case of Cont-Kukanov-Stoikov: previous and new top, expected e. */
typedef struct ofi_case {
    double pb, pbq, pa, paq, b, bq, a, aq, e;
} ofi_case;

static const ofi_case ofi_cases[] = {
    {100, 2, 101, 3, 100, 5, 101, 3, 5 - 2},      /* bid same, size up */
    {100, 2, 101, 3, 100.5, 4, 101, 3, 4},        /* bid up: + new bid size */
    {100, 2, 101, 3, 99.5, 4, 101, 3, -2},        /* bid down: - old bid size */
    {100, 2, 101, 3, 100, 2, 101, 1, -1 + 3},     /* ask same, size down */
    {100, 2, 101, 3, 100, 2, 100.5, 1, 2 - 2 - 1}, /* ask down: - new ask size */
    {100, 2, 101, 3, 100, 2, 101.5, 6, 2 - 2 + 3}, /* ask up: + old ask size */
};

START_TEST(order_flow_imbalance_cases)
{
    const ofi_case *c = &ofi_cases[_i];
    cscalp_engine *e = open_engine(NULL);
    push_quote(e, S, c->pb, c->pbq, c->pa, c->paq);
    push_quote(e, S, c->b, c->bq, c->a, c->aq);
    double x[REF_FEATURES];
    raw_now(e, x);
    ck_assert_double_eq_tol(x[OFI1], c->e, 1e-12);
    ck_assert_double_eq_tol(x[OFI10], c->e, 1e-12);
    ck_assert_int_eq(cscalp_tick(e, 3 * S), CSCALP_OK);
    raw_now(e, x);
    ck_assert_double_eq_tol(x[OFI1], c->e * exp(-2.0), 1e-12);
    ck_assert_double_eq_tol(x[OFI10], c->e * exp(-0.2), 1e-12);
    cscalp_close(e);
}
END_TEST

START_TEST(trade_windows_decay_with_time)
{
    cscalp_engine *e = open_engine(NULL);
    push_quote(e, 10 * S, 99.5, 1, 100.5, 1);
    push_trade(e, 10 * S, 101.0, 2.0, CSCALP_SIDE_BUY);
    push_trade(e, 10 * S + 500 * MS, 99.0, 1.0, CSCALP_SIDE_SELL);
    ck_assert_int_eq(cscalp_tick(e, 12 * S), CSCALP_OK);
    double x[REF_FEATURES];
    raw_now(e, x);
    const double w1a = exp(-2.0), w1b = exp(-1.5);
    ck_assert_double_eq_tol(x[SV1], 2 * w1a - w1b, 1e-12);
    ck_assert_double_eq_tol(x[SV10], 2 * exp(-0.2) - exp(-0.15), 1e-12);
    ck_assert_double_eq_tol(x[SV60], 2 * exp(-2.0 / 60) - exp(-1.5 / 60), 1e-12);
    ck_assert_double_eq_tol(x[TC1], w1a + w1b, 1e-12);
    ck_assert_double_eq_tol(x[TC60], exp(-2.0 / 60) + exp(-1.5 / 60), 1e-12);
    const double v = (101 * 2 * exp(-2.0 / 60) + 99 * exp(-1.5 / 60)) /
                     (2 * exp(-2.0 / 60) + exp(-1.5 / 60));
    ck_assert_double_eq_tol(x[VWAP], (100 - v) / v * 1e4, 1e-9);
    ck_assert_double_eq_tol(x[TIMB10], (2 * exp(-0.2) - exp(-0.15)) / (2 * exp(-0.2) + exp(-0.15)),
                            1e-12);
    cscalp_close(e);
}
END_TEST

START_TEST(returns_look_back_on_the_100ms_grid)
{
    cscalp_engine *e = open_engine(NULL);
    double x[REF_FEATURES];
    push_quote(e, 950 * MS, 99.5, 1, 100.5, 1);   /* mid 100 */
    push_quote(e, 1000 * MS, 100.5, 1, 101.5, 1); /* mid 101, exactly on the grid */
    raw_now(e, x);
    ck_assert_double_eq(x[RET1], 0.0); /* look-back point 0 s: before the first mid */
    push_quote(e, 2050 * MS, 101.5, 1, 102.5, 1); /* mid 102 */
    raw_now(e, x);
    /* g = floor((2.05 - 1) / 0.1) * 0.1 = 1.0 s: the update at 1.0 s counts */
    ck_assert_double_eq_tol(x[RET1], log(102.0 / 101.0) * 1e4, 1e-9);
    ck_assert_int_eq(cscalp_tick(e, 1999 * MS + 2050 * MS - 1000 * MS), CSCALP_OK);
    raw_now(e, x); /* t = 3.049 s: g = 2.0 s, mid then 101 */
    ck_assert_double_eq_tol(x[RET1], log(102.0 / 101.0) * 1e4, 1e-9);
    ck_assert_int_eq(cscalp_tick(e, 3050 * MS), CSCALP_OK);
    raw_now(e, x); /* g = 2.0 s still (floor(2.05)) */
    ck_assert_double_eq_tol(x[RET1], log(102.0 / 101.0) * 1e4, 1e-9);
    ck_assert_int_eq(cscalp_tick(e, 3100 * MS), CSCALP_OK);
    raw_now(e, x); /* g = 2.1 s, after the 2.05 s update: no change since */
    ck_assert_double_eq(x[RET1], 0.0);
    ck_assert_double_eq(x[RET10], 0.0); /* look-back before the data */
    ck_assert_int_eq(cscalp_tick(e, 11 * S), CSCALP_OK);
    raw_now(e, x); /* 10 s back from 11 s is 1.0 s: mid 101 */
    ck_assert_double_eq_tol(x[RET10], log(102.0 / 101.0) * 1e4, 1e-9);
    ck_assert_int_eq(cscalp_tick(e, 500 * S), CSCALP_OK);
    raw_now(e, x); /* a long quiet spell: the mid has not moved for minutes */
    ck_assert_double_eq(x[RET60], 0.0);
    const double r1 = log(101.0 / 100.0) * 1e4, r2 = log(102.0 / 101.0) * 1e4;
    ck_assert_double_eq_tol(x[RV300],
                            sqrt((r1 * r1 * exp(-499.0 / 300) + r2 * r2 * exp(-497.95 / 300)) / 300),
                            1e-9);
    cscalp_close(e);
}
END_TEST

START_TEST(realised_volatility_and_funding_by_hand)
{
    cscalp_engine *e = open_engine(NULL);
    push_quote(e, 1 * S, 99, 1, 101, 1);   /* mid 100 */
    push_quote(e, 2 * S, 100, 1, 102, 1);  /* mid 101 */
    push_quote(e, 2 * S, 100, 2, 102, 1);  /* mid unchanged */
    cscalp_funding f = {3 * S, 0.0001, 101.5, 101.4, 60 * S};
    ck_assert_int_eq(cscalp_push_funding(e, &f), CSCALP_OK);
    double x[REF_FEATURES];
    raw_now(e, x);
    const double r = log(101.0 / 100.0) * 1e4;
    ck_assert_double_eq_tol(x[RV10], sqrt(r * r * exp(-0.1) / 10), 1e-9);
    ck_assert_double_eq_tol(x[RV60], sqrt(r * r * exp(-1.0 / 60) / 60), 1e-9);
    ck_assert_double_eq_tol(x[RV300], sqrt(r * r * exp(-1.0 / 300) / 300), 1e-9);
    ck_assert_double_eq_tol(x[FUND], 1.0, 1e-12);
    ck_assert_double_eq_tol(x[TTF], 57.0, 1e-12);
    ck_assert_double_eq_tol(x[BASIS], 0.5 / 101.0 * 1e4, 1e-9);
    ck_assert_int_eq(cscalp_tick(e, 61 * S), CSCALP_OK);
    raw_now(e, x);
    ck_assert_double_eq(x[TTF], 0.0); /* past the funding time */
    cscalp_close(e);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Random streams against the brute-force reference                          */

typedef struct rng {
    uint64_t s;
} rng;

static double unit(rng *g)
{
    g->s = g->s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(g->s >> 11) * (1.0 / 9007199254740992.0);
}

static void compare_raw(cscalp_engine *e, const reference *r, long step)
{
    double got[REF_FEATURES], want[REF_FEATURES];
    raw_now(e, got);
    ref_eval(r, r->clock, want);
    const char *names[REF_FEATURES];
    cscalp_feature_names(names, REF_FEATURES, NULL);
    for (int k = 0; k < REF_FEATURES; k++)
        if (!close_enough(got[k], want[k], 1e-9))
            ck_abort_msg("step %ld: %s = %.17g, reference %.17g", step, names[k], got[k],
                         want[k]);
}

static void compare_normalized(cscalp_engine *e, const reference *r, long step)
{
    double got[REF_FEATURES], want[REF_FEATURES];
    ck_assert_int_eq(cscalp_features(e, NULL, got, REF_FEATURES, NULL), CSCALP_OK);
    ref_normalized(r, want);
    for (int k = 0; k < REF_FEATURES; k++) {
        /* A near-zero variance amplifies rounding; compare where sigma is
         * clearly resolved. */
        if (r->var[k] <= 1e-12 * (1.0 + r->mean[k] * r->mean[k]))
            continue;
        if (fabs(got[k] - want[k]) > 1e-6)
            ck_abort_msg("step %ld: z[%d] = %.12g, reference %.12g", step, k, got[k], want[k]);
    }
}

START_TEST(random_stream_matches_the_reference)
{
    rng g = {0x5eed0000u + (uint64_t)_i};
    cscalp_engine *e = open_engine("{\"features\":{\"norm_warmup_samples\":5,"
                                   "\"norm_half_life_s\":20,\"norm_interval_ms\":100},"
                                   "\"feed\":{\"book_levels\":8}}");
    reference r;
    ref_init(&r, 8, 100 * MS, 20.0, 5.0, 5);
    int64_t t = (_i % 2 ? -40 : 1700000000) * S; /* negative epochs too */
    double mid = 2000.0;
    long compared = 0;
    for (long step = 0; step < 3000; step++) {
        const double u = unit(&g);
        /* time: mostly ms apart, some exactly on the grid, some equal, rare
         * gaps of seconds and of minutes (ring wrap). */
        if (u < 0.05)
            t += 0;
        else if (u < 0.1)
            t = (t / (100 * MS) + 1) * (100 * MS);
        else if (u < 0.97)
            t += (int64_t)(unit(&g) * 80.0 * MS) + 1;
        else if (u < 0.995)
            t += (int64_t)(unit(&g) * 20.0 * S);
        else
            t += (int64_t)(unit(&g) * 200.0 * S);
        const double kind = unit(&g);
        if (unit(&g) < 0.6)
            mid *= 1.0 + (unit(&g) - 0.5) * 1e-3 * (unit(&g) < 0.05 ? 20.0 : 1.0);
        const double half = 0.05 + 0.5 * unit(&g);
        if (kind < 0.40) {
            cscalp_quote q = {t, mid - half, unit(&g) * 3, mid + half, unit(&g) * 3};
            ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_OK);
            ref_quote(&r, &q);
        } else if (kind < 0.55) {
            cscalp_book b;
            memset(&b, 0, sizeof b);
            b.ts_ns = t;
            b.bid_count = 1 + (uint32_t)(unit(&g) * 15);
            b.ask_count = 1 + (uint32_t)(unit(&g) * 15);
            for (uint32_t i = 0; i < CSCALP_BOOK_MAX_LEVELS; i++) {
                b.bids[i] = (cscalp_level){mid - half - 0.1 * i, 0.01 + unit(&g)};
                b.asks[i] = (cscalp_level){mid + half + 0.1 * i, 0.01 + unit(&g)};
            }
            ck_assert_int_eq(cscalp_push_book(e, &b), CSCALP_OK);
            ref_book(&r, &b);
        } else if (kind < 0.92) {
            cscalp_trade tr = {t, mid + (unit(&g) - 0.5) * 2 * half, 0.001 + unit(&g),
                               unit(&g) < 0.5 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL, 0, step};
            ck_assert_int_eq(cscalp_push_trade(e, &tr), CSCALP_OK);
            ref_trade_event(&r, &tr);
        } else if (kind < 0.94) {
            cscalp_funding f = {t, (unit(&g) - 0.5) * 1e-3, mid * (1 + (unit(&g) - 0.5) * 1e-3),
                                unit(&g) < 0.5 ? 0.0 : mid, unit(&g) < 0.2 ? 0 : t + 8 * 3600 * S};
            if (f.next_funding_ts_ns < 0)
                f.next_funding_ts_ns = 0;
            ck_assert_int_eq(cscalp_push_funding(e, &f), CSCALP_OK);
            ref_funding(&r, &f);
        } else {
            ck_assert_int_eq(cscalp_tick(e, t), CSCALP_OK);
            ref_tick(&r, t);
        }
        if (step % 7 == 0 || step > 2900) {
            compare_raw(e, &r, step);
            compare_normalized(e, &r, step);
            compared++;
        }
    }
    ck_assert_uint_gt(r.samples, 100);
    ck_assert_int_gt(compared, 400);
    ref_free(&r);
    cscalp_close(e);
}
END_TEST

#ifdef HAVE_CAPTURE
/* Every feature, on a real Binance capture decoded by the example reader,
 * equals the reference at regular points of the stream. */
START_TEST(real_capture_matches_the_reference)
{
    static const char *files[] = {"binance-usdm/btcusdt_20240718.gz",
                                  "binance-usdm/btcusdt_20230404.dat.gz"};
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir(), files[_i]);
    bcap_reader *rd = NULL;
    char err[256];
    bcap_options opt;
    bcap_options_init(&opt);
    opt.log = NULL;
    ck_assert_msg(bcap_open(&rd, path, &opt, err, sizeof err) == BCAP_OK, "%s", err);
    cscalp_engine *e = open_engine("{\"features\":{\"norm_warmup_samples\":20,"
                                   "\"norm_interval_ms\":100}}");
    reference r;
    ref_init(&r, 10, 100 * MS, 300.0, 5.0, 20);
    bcap_event ev;
    long n = 0, compared = 0;
    int rc;
    while ((rc = bcap_next(rd, &ev)) == 1) {
        switch (ev.kind) {
        case CSCALP_KIND_TRADE:
            ck_assert_int_eq(cscalp_push_trade(e, &ev.trade), CSCALP_OK);
            ref_trade_event(&r, &ev.trade);
            break;
        case CSCALP_KIND_QUOTE:
            ck_assert_int_eq(cscalp_push_quote(e, &ev.quote), CSCALP_OK);
            ref_quote(&r, &ev.quote);
            break;
        case CSCALP_KIND_BOOK:
            ck_assert_int_eq(cscalp_push_book(e, &ev.book), CSCALP_OK);
            ref_book(&r, &ev.book);
            break;
        default:
            ck_assert_int_eq(cscalp_push_funding(e, &ev.funding), CSCALP_OK);
            ref_funding(&r, &ev.funding);
            break;
        }
        if (++n % 97 == 0) {
            compare_raw(e, &r, n);
            compare_normalized(e, &r, n);
            compared++;
        }
    }
    ck_assert_msg(rc == 0, "reader stopped with %d: %s", rc, bcap_last_error(rd));
    ck_assert_int_gt(compared, 50);
    ck_assert_uint_gt(r.samples, 100);
    bcap_close(rd);
    ref_free(&r);
    cscalp_close(e);
}
END_TEST
#endif

/* ------------------------------------------------------------------------ */
/* Classic indicators (../shared/data/indicator-reference, StockCharts sheets) */

/* cs-vwap.csv holds a 14-period VWAP of typical price (H+L+C)/3. Each row is
 * reproduced by a fresh engine fed that row's window as trades 1 ns apart, so
 * the 60 s decay changes weights by under 3e-10, and V is recovered from
 * vwap_deviation_bps with a known mid. */
START_TEST(vwap_matches_the_stockcharts_sheet)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/indicator-reference/cs-vwap.csv", data_dir());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    double tp[64], vol[64], expect[64];
    int n = 0;
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    while (n < 64 && fgets(line, sizeof line, f)) {
        int idx;
        char date[32];
        double h, l, c, typical;
        ck_assert_int_eq(sscanf(line, "%d,%31[^,],%lf,%lf,%lf,%lf,%lf,%lf", &idx, date, &h, &l,
                                &c, &typical, &vol[n], &expect[n]),
                         8);
        tp[n++] = (h + l + c) / 3.0;
    }
    fclose(f);
    ck_assert_int_ge(n, 20);
    for (int i = 0; i < n; i++) {
        cscalp_engine *e = open_engine(NULL);
        const double m = 25.0;
        push_quote(e, S, m - 0.01, 1, m + 0.01, 1);
        const int first = i >= 13 ? i - 13 : 0;
        for (int j = first; j <= i; j++)
            push_trade(e, S + (j - first), tp[j], vol[j], CSCALP_SIDE_BUY);
        double x[REF_FEATURES];
        raw_now(e, x);
        const double v = m / (1.0 + x[VWAP] / 1e4);
        ck_assert_msg(close_enough(v, expect[i], 1e-8), "row %d: vwap %.12g, sheet %.12g", i,
                      v, expect[i]);
        cscalp_close(e);
    }
}
END_TEST

/* cs-macd.csv: 12- and 26-period EMAs seeded with the first close, the
 * normaliser's mean with alpha = 2/(n+1) (an interval and half-life chosen so
 * that 1 - 2^(-interval/half_life) equals it). */
START_TEST(normalizer_mean_is_the_stockcharts_ema)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/indicator-reference/cs-macd.csv", data_dir());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    const double a12 = 2.0 / 13.0, a26 = 2.0 / 27.0;
    double mean[2], var[2], sd[2];
    cscalp_normalizer n12, n26;
    const double h12 = -1.0 / log2(1.0 - a12), h26 = -1.0 / log2(1.0 - a26);
    ck_assert_double_eq_tol(cscalp_normalizer_alpha(1.0, h12), a12, 1e-15);
    cscalp_normalizer_init(&n12, 1, &mean[0], &var[0], &sd[0], cscalp_normalizer_alpha(1.0, h12), 5, 1);
    cscalp_normalizer_init(&n26, 1, &mean[1], &var[1], &sd[1], cscalp_normalizer_alpha(1.0, h26), 5, 1);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char date[32];
        double close, ema12, ema26;
        if (sscanf(line, "%31[^,],%lf,%lf,%lf", date, &close, &ema12, &ema26) != 4)
            continue;
        cscalp_normalizer_update(&n12, &close);
        cscalp_normalizer_update(&n26, &close);
        ck_assert_msg(fabs(mean[0] - ema12) < 1e-7, "row %d: ema12 %.10f sheet %.10f", rows,
                      mean[0], ema12);
        ck_assert_msg(fabs(mean[1] - ema26) < 1e-7, "row %d: ema26 %.10f sheet %.10f", rows,
                      mean[1], ema26);
        rows++;
    }
    fclose(f);
    ck_assert_int_gt(rows, 100);
}
END_TEST

START_TEST(normalizer_warmup_clip_and_constant_input)
{
    double mean[2], var[2], sd[2], z[2];
    cscalp_normalizer n;
    cscalp_normalizer_init(&n, 2, mean, var, sd, 0.5, 2.0, 3);
    const double xs[3][2] = {{1, 7}, {3, 7}, {5, 7}};
    for (int i = 0; i < 3; i++) {
        cscalp_normalizer_apply(&n, xs[i], z);
        ck_assert_double_eq(z[0], 0.0); /* still warming up */
        cscalp_normalizer_update(&n, xs[i]);
    }
    /* by hand: mean 1 -> 2 -> 3.5; var 0 -> 0.5*(0+0.5*4)=1 -> 0.5*(1+0.5*9)=2.75 */
    ck_assert_double_eq_tol(mean[0], 3.5, 1e-15);
    ck_assert_double_eq_tol(var[0], 2.75, 1e-15);
    ck_assert_double_eq(var[1], 0.0);
    const double probe[2] = {4.0, 8.0};
    cscalp_normalizer_apply(&n, probe, z);
    ck_assert_double_eq_tol(z[0], 0.5 / sqrt(2.75), 1e-15);
    ck_assert_double_eq(z[1], 0.0); /* zero variance: no z-score */
    const double far[2] = {100.0, 7.0};
    cscalp_normalizer_apply(&n, far, z);
    ck_assert_double_eq(z[0], 2.0); /* clipped */
}
END_TEST

static Suite *features_suite(void)
{
    Suite *s = suite_create("features");
    TCase *tc = tcase_create("features");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, names_follow_the_documented_table);
    tcase_add_test(tc, top_of_book_features_by_hand);
    tcase_add_test(tc, depth_imbalance_uses_the_snapshot_levels);
    tcase_add_loop_test(tc, order_flow_imbalance_cases, 0,
                        (int)(sizeof ofi_cases / sizeof ofi_cases[0]));
    tcase_add_test(tc, trade_windows_decay_with_time);
    tcase_add_test(tc, returns_look_back_on_the_100ms_grid);
    tcase_add_test(tc, realised_volatility_and_funding_by_hand);
    tcase_add_loop_test(tc, random_stream_matches_the_reference, 0, 4);
#ifdef HAVE_CAPTURE
    tcase_add_loop_test(tc, real_capture_matches_the_reference, 0, 2);
#endif
    tcase_add_test(tc, vwap_matches_the_stockcharts_sheet);
    tcase_add_test(tc, normalizer_mean_is_the_stockcharts_ema);
    tcase_add_test(tc, normalizer_warmup_clip_and_constant_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(features_suite()); }
