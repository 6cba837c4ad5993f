/* Hand-worked cases for every feature of docs/features.md, through the public
 * API only. Expected values are computed here from the spec's formulas. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "feat_common.h"
#include "feat_ref.h"

#define MSEC(x) ((int64_t)(x) * FC_MS)
#define SEC(x) ((int64_t)(x) * FC_NS)

/* Tolerances: pure arithmetic is compared almost exactly; anything with exp()
 * or log() to 1e-9 relative (the implementation may use its own exp/log). */
#define ARITH_REL 1e-12
#define TRANS_REL 1e-9

static void expect_all_zero(const cscalp_engine *e, const char *when)
{
    double raw[F_COUNT], z[F_COUNT];
    fc_raw_z(e, raw, z);
    for (int k = 0; k < F_COUNT; k++) {
        ck_assert_msg(raw[k] == 0.0, "%s: raw %s = %.17g, expected 0", when,
                      fc_spec_names[k], raw[k]);
        ck_assert_msg(z[k] == 0.0, "%s: z %s = %.17g, expected 0", when,
                      fc_spec_names[k], z[k]);
    }
}

static void expect_raw_equal(const double *a, const double *b, const char *what)
{
    for (int k = 0; k < F_COUNT; k++)
        ck_assert_msg(a[k] == b[k] || (isnan(a[k]) && isnan(b[k])),
                      "%s: %s changed from %.17g to %.17g", what,
                      fc_spec_names[k], a[k], b[k]);
}

static double lnr(double a, double b)
{
    return log(a / b) * 1e4;
}

/* ------------------------------------------------------------------ names */

START_TEST(feature_names_and_order_match_spec)
{
    ck_assert_uint_eq(cscalp_feature_count(), F_COUNT);
    const char *names[F_COUNT + 4];
    size_t count = 0;
    ck_assert_int_eq(cscalp_feature_names(names, F_COUNT + 4, &count), CSCALP_OK);
    ck_assert_uint_eq(count, F_COUNT);
    for (int k = 0; k < F_COUNT; k++) {
        ck_assert_ptr_nonnull(names[k]);
        ck_assert_msg(strcmp(names[k], fc_spec_names[k]) == 0,
                      "feature %d is named '%s', the spec says '%s'", k,
                      names[k], fc_spec_names[k]);
    }
    /* cap smaller than the count: EBUFFER, the first cap filled */
    const char *few[3] = {NULL, NULL, NULL};
    count = 0;
    ck_assert_int_eq(cscalp_feature_names(few, 3, &count), CSCALP_EBUFFER);
    ck_assert_uint_eq(count, F_COUNT);
    for (int k = 0; k < 3; k++)
        ck_assert_str_eq(few[k], fc_spec_names[k]);
    ck_assert_int_eq(cscalp_feature_names(NULL, 5, &count), CSCALP_EINVAL);
}
END_TEST

START_TEST(features_buffer_too_small_writes_nothing)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, SEC(1), 100, 1, 101, 3);
    double raw[F_COUNT], z[F_COUNT];
    for (int k = 0; k < F_COUNT; k++)
        raw[k] = z[k] = -777.0;
    ck_assert_int_eq(cscalp_features(e, raw, z, F_COUNT - 1, NULL), CSCALP_EBUFFER);
    for (int k = 0; k < F_COUNT; k++) {
        ck_assert(raw[k] == -777.0);
        ck_assert(z[k] == -777.0);
    }
    ck_assert_int_eq(cscalp_features(NULL, raw, z, F_COUNT, NULL), CSCALP_EINVAL);
    /* either output may be NULL */
    ck_assert_int_eq(cscalp_features(e, NULL, NULL, F_COUNT, NULL), CSCALP_OK);
    ck_assert_int_eq(cscalp_features(e, raw, NULL, F_COUNT, NULL), CSCALP_OK);
    ck_assert(raw[F_SPREAD] > 0.0);
    cscalp_close(e);
}
END_TEST

/* ------------------------------------------------------- zero before data */

START_TEST(every_feature_is_zero_before_any_event_and_after_ticks)
{
    cscalp_engine *e = fc_open(NULL);
    expect_all_zero(e, "fresh engine");
    fc_tick(e, SEC(5));
    expect_all_zero(e, "after a tick with no data");
    fc_tick(e, SEC(500));
    expect_all_zero(e, "after a long tick with no data");
    cscalp_close(e);

    e = fc_open("{}");
    expect_all_zero(e, "engine from {}");
    cscalp_close(e);
}
END_TEST

START_TEST(trade_only_leaves_quote_features_zero)
{
    cscalp_engine *e = fc_open(NULL);
    fc_trade(e, SEC(1), 100.0, 2.0, CSCALP_SIDE_BUY);
    double r[F_COUNT];
    fc_raw(e, r);
    const int zero[] = {F_SPREAD, F_MICRO, F_IMB, F_DEPTH5, F_DEPTH10, F_OFI1,
                        F_OFI10, F_RET1, F_RET10, F_RET60, F_RVOL10, F_RVOL60,
                        F_RVOL300, F_VWAPDEV, F_FUND, F_TTF, F_BASIS};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        ck_assert_msg(r[zero[i]] == 0.0, "%s = %.17g with only a trade",
                      fc_spec_names[zero[i]], r[zero[i]]);
    FC_REL(r[F_SV1], 2.0, ARITH_REL, 1.0, "signed_volume_1s");
    FC_REL(r[F_SV10], 2.0, ARITH_REL, 1.0, "signed_volume_10s");
    FC_REL(r[F_SV60], 2.0, ARITH_REL, 1.0, "signed_volume_60s");
    FC_REL(r[F_TC1], 1.0, ARITH_REL, 1.0, "trade_count_1s");
    FC_REL(r[F_TC10], 1.0, ARITH_REL, 1.0, "trade_count_10s");
    FC_REL(r[F_TC60], 1.0, ARITH_REL, 1.0, "trade_count_60s");
    FC_REL(r[F_TIMB10], 1.0, ARITH_REL, 1.0, "trade_imbalance_10s");
    cscalp_close(e);
}
END_TEST

START_TEST(funding_only_leaves_mark_basis_zero)
{
    cscalp_engine *e = fc_open(NULL);
    fc_funding(e, SEC(10), 1.5e-4, 100.6, 100.55, SEC(3610));
    double r[F_COUNT];
    fc_raw(e, r);
    FC_REL(r[F_FUND], 1.5, ARITH_REL, 1.0, "funding_rate_bps");
    FC_REL(r[F_TTF], 3600.0, ARITH_REL, 1.0, "time_to_funding_s");
    ck_assert_msg(r[F_BASIS] == 0.0, "mark_basis_bps = %.17g before any mid",
                  r[F_BASIS]);
    for (int k = 0; k < F_FUND; k++)
        ck_assert_msg(r[k] == 0.0, "%s = %.17g with only a funding event",
                      fc_spec_names[k], r[k]);
    cscalp_close(e);
}
END_TEST

/* ------------------------------------------------------------ top of book */

START_TEST(quote_100x1_101x3_gives_spread_microprice_imbalance)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, SEC(1), 100.0, 1.0, 101.0, 3.0);
    double r[F_COUNT];
    fc_raw(e, r);
    /* m = 100.5; spread = 1/100.5e4; mu = (100*3 + 101*1)/4 = 100.25 */
    const double m = 100.5;
    FC_REL(r[F_SPREAD], 1.0 / m * 1e4, ARITH_REL, 1.0, "spread_bps");
    FC_NEAR(r[F_MICRO], (100.25 - m) / m * 1e4, 1e-9, "microprice_offset_bps");
    FC_NEAR(r[F_IMB], -0.5, 1e-15, "imbalance_l1");
    /* before any snapshot the depth imbalances equal imbalance_l1 */
    FC_NEAR(r[F_DEPTH5], -0.5, 1e-15, "depth_imbalance_5 before a snapshot");
    FC_NEAR(r[F_DEPTH10], -0.5, 1e-15, "depth_imbalance_10 before a snapshot");
    /* the first top-of-book update contributes no OFI and no return */
    const int zero[] = {F_OFI1, F_OFI10, F_RET1, F_RET10, F_RET60, F_RVOL10,
                        F_RVOL60, F_RVOL300, F_VWAPDEV, F_SV1, F_TC60, F_TIMB10,
                        F_FUND, F_TTF, F_BASIS};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        ck_assert_msg(r[zero[i]] == 0.0, "%s = %.17g after one quote",
                      fc_spec_names[zero[i]], r[zero[i]]);

    /* the second quote replaces the top of book; depth still follows l1 */
    fc_quote(e, SEC(2), 99.0, 4.0, 99.5, 1.0);
    fc_raw(e, r);
    const double m2 = 99.25, mu2 = (99.0 * 1.0 + 99.5 * 4.0) / 5.0;
    FC_REL(r[F_SPREAD], 0.5 / m2 * 1e4, ARITH_REL, 1.0, "spread_bps (2nd)");
    FC_NEAR(r[F_MICRO], (mu2 - m2) / m2 * 1e4, 1e-9, "microprice_offset_bps (2nd)");
    FC_NEAR(r[F_IMB], 0.6, 1e-15, "imbalance_l1 (2nd)");
    FC_NEAR(r[F_DEPTH5], 0.6, 1e-15, "depth_imbalance_5 (2nd, no snapshot)");
    FC_NEAR(r[F_DEPTH10], 0.6, 1e-15, "depth_imbalance_10 (2nd, no snapshot)");
    cscalp_close(e);
}
END_TEST

START_TEST(microprice_and_imbalance_are_zero_when_both_sizes_are_zero)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, SEC(1), 100.0, 0.0, 101.0, 0.0);
    double r[F_COUNT];
    fc_raw(e, r);
    FC_REL(r[F_SPREAD], 1.0 / 100.5 * 1e4, ARITH_REL, 1.0, "spread_bps");
    ck_assert_msg(r[F_MICRO] == 0.0, "microprice_offset_bps = %g with B+A=0", r[F_MICRO]);
    ck_assert_msg(r[F_IMB] == 0.0, "imbalance_l1 = %g with B+A=0", r[F_IMB]);
    ck_assert_msg(r[F_DEPTH5] == 0.0 && r[F_DEPTH10] == 0.0,
                  "depth imbalances %g %g (must equal imbalance_l1 = 0)",
                  r[F_DEPTH5], r[F_DEPTH10]);
    /* one side zero: imbalance is +-1, microprice is the far price */
    fc_quote(e, SEC(1), 100.0, 2.0, 101.0, 0.0);
    fc_raw(e, r);
    FC_NEAR(r[F_IMB], 1.0, 1e-15, "imbalance_l1 with A = 0");
    FC_NEAR(r[F_MICRO], (101.0 - 100.5) / 100.5 * 1e4, 1e-9,
            "microprice_offset_bps with A = 0 (mu = a)");
    cscalp_close(e);
}
END_TEST

START_TEST(book_snapshot_level0_is_top_of_book)
{
    cscalp_engine *e = fc_open(NULL);
    const double bp[3] = {100.0, 99.9, 99.8}, bs[3] = {2.0, 5.0, 1.0};
    const double ap[2] = {100.2, 100.3}, as[2] = {6.0, 1.0};
    cscalp_book bk;
    fc_mk_book(&bk, SEC(1), 3, bp, bs, 2, ap, as);
    fc_book(e, &bk);
    double r[F_COUNT];
    fc_raw(e, r);
    const double m = 100.1, mu = (100.0 * 6.0 + 100.2 * 2.0) / 8.0;
    FC_REL(r[F_SPREAD], 0.2 / m * 1e4, 1e-11, 1.0, "spread_bps from book level 0");
    FC_NEAR(r[F_MICRO], (mu - m) / m * 1e4, 1e-9, "microprice from book level 0");
    FC_NEAR(r[F_IMB], (2.0 - 6.0) / 8.0, 1e-15, "imbalance_l1 from book level 0");
    /* depth over min(5, count) levels of the snapshot */
    FC_NEAR(r[F_DEPTH5], (8.0 - 7.0) / 15.0, 1e-15, "depth_imbalance_5 (3 bids, 2 asks)");
    FC_NEAR(r[F_DEPTH10], (8.0 - 7.0) / 15.0, 1e-15, "depth_imbalance_10 (3 bids, 2 asks)");
    cscalp_close(e);
}
END_TEST

/* ------------------------------------------------------------------ depth */

START_TEST(depth_imbalance_uses_first_5_and_10_levels_of_latest_snapshot)
{
    cscalp_engine *e = fc_open(NULL); /* feed.book_levels = 10 */
    double bp[12], bs[12], ap[12], as[12];
    for (int i = 0; i < 12; i++) {
        bp[i] = 100.0 - 0.1 * i;
        bs[i] = (double)(i + 1); /* 1, 2, 3, ... */
        ap[i] = 100.1 + 0.1 * i;
        as[i] = 0.5 * (double)(12 - i); /* 6, 5.5, 5, ... */
    }
    cscalp_book bk;
    fc_mk_book(&bk, SEC(1), 7, bp, bs, 12, ap, as);
    fc_book(e, &bk);
    double r[F_COUNT];
    fc_raw(e, r);
    double sb5 = 0, sa5 = 0, sb10 = 0, sa10 = 0;
    for (int i = 0; i < 5; i++) {
        sb5 += bs[i];
        sa5 += as[i];
    }
    for (int i = 0; i < 7; i++) /* only 7 bid levels in the snapshot */
        sb10 += bs[i];
    for (int i = 0; i < 10; i++) /* 12 ask levels, the first 10 */
        sa10 += as[i];
    FC_NEAR(r[F_DEPTH5], (sb5 - sa5) / (sb5 + sa5), 1e-14, "depth_imbalance_5");
    FC_NEAR(r[F_DEPTH10], (sb10 - sa10) / (sb10 + sa10), 1e-14,
            "depth_imbalance_10 (7 bid levels, 12 ask levels)");
    FC_NEAR(r[F_IMB], (1.0 - 6.0) / 7.0, 1e-15, "imbalance_l1 from the snapshot");

    /* a newer quote moves l1 but the depth features keep the snapshot */
    fc_quote(e, SEC(2), 100.0, 9.0, 100.1, 1.0);
    fc_raw(e, r);
    FC_NEAR(r[F_IMB], 0.8, 1e-15, "imbalance_l1 after a newer quote");
    FC_NEAR(r[F_DEPTH5], (sb5 - sa5) / (sb5 + sa5), 1e-14,
            "depth_imbalance_5 keeps the snapshot after a newer quote");
    FC_NEAR(r[F_DEPTH10], (sb10 - sa10) / (sb10 + sa10), 1e-14,
            "depth_imbalance_10 keeps the snapshot after a newer quote");

    /* a new snapshot with fewer than 5 levels replaces the old one */
    fc_mk_book(&bk, SEC(3), 2, bp, bs, 4, ap, as);
    fc_book(e, &bk);
    fc_raw(e, r);
    const double b2 = 1 + 2, a4 = 6 + 5.5 + 5 + 4.5;
    FC_NEAR(r[F_DEPTH5], (b2 - a4) / (b2 + a4), 1e-14, "depth_imbalance_5 (2 x 4 levels)");
    FC_NEAR(r[F_DEPTH10], (b2 - a4) / (b2 + a4), 1e-14, "depth_imbalance_10 (2 x 4 levels)");
    cscalp_close(e);
}
END_TEST

START_TEST(depth_imbalance_uses_only_feed_book_levels)
{
    cscalp_engine *e = fc_open("{\"feed\":{\"book_levels\":2}}");
    double bp[8], bs[8], ap[8], as[8];
    for (int i = 0; i < 8; i++) {
        bp[i] = 50.0 - 0.5 * i;
        bs[i] = (double)(i + 1);
        ap[i] = 50.5 + 0.5 * i;
        as[i] = 10.0 * (double)(i + 1);
    }
    cscalp_book bk;
    fc_mk_book(&bk, SEC(1), 8, bp, bs, 8, ap, as);
    fc_book(e, &bk);
    double r[F_COUNT];
    fc_raw(e, r);
    /* only 2 levels kept per side: bids 1+2, asks 10+20 */
    FC_NEAR(r[F_DEPTH5], (3.0 - 30.0) / 33.0, 1e-14, "depth_imbalance_5, book_levels 2");
    FC_NEAR(r[F_DEPTH10], (3.0 - 30.0) / 33.0, 1e-14, "depth_imbalance_10, book_levels 2");
    cscalp_close(e);

    /* book_levels 7: depth_5 over 5, depth_10 over the 7 kept */
    e = fc_open("{\"feed\":{\"book_levels\":7}}");
    fc_book(e, &bk);
    fc_raw(e, r);
    FC_NEAR(r[F_DEPTH5], (15.0 - 150.0) / 165.0, 1e-14, "depth_imbalance_5, book_levels 7");
    FC_NEAR(r[F_DEPTH10], (28.0 - 280.0) / 308.0, 1e-14, "depth_imbalance_10, book_levels 7");

    /* config.md: lowering feed.book_levels trims the kept book at once */
    ck_assert_int_eq(cscalp_configure(e, "{\"feed\":{\"book_levels\":3}}"), CSCALP_OK);
    fc_raw(e, r);
    FC_NEAR(r[F_DEPTH5], (6.0 - 60.0) / 66.0, 1e-14,
            "depth_imbalance_5 right after book_levels 7 -> 3");
    FC_NEAR(r[F_DEPTH10], (6.0 - 60.0) / 66.0, 1e-14,
            "depth_imbalance_10 right after book_levels 7 -> 3");
    cscalp_close(e);
}
END_TEST

/* -------------------------------------------------------------------- OFI */

typedef struct ofi_case {
    const char *name;
    double b, bs, a, as; /* second update; the first is 100 x 2 / 101 x 3 */
    double e;            /* expected e_n, worked by hand */
} ofi_case;

/* First update: b0 = 100, B0 = 2, a0 = 101, A0 = 3.
 * e = 1{b>=b0}B - 1{b<=b0}B0 - 1{a<=a0}A + 1{a>=a0}A0 */
static const ofi_case ofi_cases[] = {
    {"bid up, ask same", 100.5, 5.0, 101.0, 4.0, 5.0 - 4.0 + 3.0},
    {"bid same size up, ask same", 100.0, 6.0, 101.0, 3.0, 6.0 - 2.0 - 3.0 + 3.0},
    {"bid same size down, ask same", 100.0, 0.5, 101.0, 3.0, 0.5 - 2.0},
    {"bid down, ask same", 99.5, 7.0, 101.0, 3.0, -2.0 - 3.0 + 3.0},
    {"bid same, ask down", 100.0, 2.0, 100.5, 4.0, 2.0 - 2.0 - 4.0},
    {"bid same, ask same size down", 100.0, 2.0, 101.0, 1.0, -1.0 + 3.0},
    {"bid same, ask same size up", 100.0, 2.0, 101.0, 8.0, -8.0 + 3.0},
    {"bid same, ask up", 100.0, 2.0, 101.5, 9.0, 0.0 + 3.0},
    {"both up", 100.5, 1.0, 101.5, 9.0, 1.0 + 3.0},
    {"both down", 99.5, 1.0, 100.5, 9.0, -2.0 - 9.0},
    {"bid up, ask down (inside)", 100.25, 1.5, 100.75, 2.5, 1.5 - 2.5},
    {"unchanged", 100.0, 2.0, 101.0, 3.0, 0.0},
};

START_TEST(ofi_follows_cks_sign_conventions)
{
    const ofi_case *c = &ofi_cases[_i];
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, SEC(1), 100.0, 2.0, 101.0, 3.0);
    fc_quote(e, MSEC(1300), c->b, c->bs, c->a, c->as);
    double r[F_COUNT];
    fc_raw(e, r);
    char what[128];
    snprintf(what, sizeof what, "ofi_1s, case '%s'", c->name);
    FC_NEAR(r[F_OFI1], c->e, 1e-12, what);
    snprintf(what, sizeof what, "ofi_10s, case '%s'", c->name);
    FC_NEAR(r[F_OFI10], c->e, 1e-12, what);
    /* decays as e * exp(-dt / tau) under a tick */
    fc_tick(e, MSEC(2000));
    fc_raw(e, r);
    snprintf(what, sizeof what, "ofi_1s after 0.7 s, case '%s'", c->name);
    FC_NEAR(r[F_OFI1], c->e * exp(-0.7), TRANS_REL * fabs(c->e) + 1e-15, what);
    snprintf(what, sizeof what, "ofi_10s after 0.7 s, case '%s'", c->name);
    FC_NEAR(r[F_OFI10], c->e * exp(-0.07), TRANS_REL * fabs(c->e) + 1e-15, what);
    cscalp_close(e);
}
END_TEST

START_TEST(ofi_sums_decayed_updates_across_quotes_and_books)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, MSEC(1000), 100.0, 2.0, 101.0, 3.0);
    /* book: bid up to 100.5 x 4, ask same 101 x 1: e1 = 4 - 1 + 3 = 6 */
    const double bp[2] = {100.5, 100.0}, bs[2] = {4.0, 8.0};
    const double ap[2] = {101.0, 101.5}, as[2] = {1.0, 2.0};
    cscalp_book bk;
    fc_mk_book(&bk, MSEC(1500), 2, bp, bs, 2, ap, as);
    fc_book(e, &bk);
    /* quote: bid down to 100 x 9 (-4), ask down to 100.8 x 2 (-2): e2 = -6 */
    fc_quote(e, MSEC(2250), 100.0, 9.0, 100.8, 2.0);
    /* quote: same bid size 10 (10 - 9 = 1), ask up (+2): e3 = 3 */
    fc_quote(e, MSEC(2250), 100.0, 10.0, 100.9, 5.0);
    fc_tick(e, MSEC(4000));
    double r[F_COUNT];
    fc_raw(e, r);
    const double o1 = 6.0 * exp(-2.5) - 6.0 * exp(-1.75) + 3.0 * exp(-1.75);
    const double o10 = 6.0 * exp(-0.25) - 6.0 * exp(-0.175) + 3.0 * exp(-0.175);
    FC_NEAR(r[F_OFI1], o1, TRANS_REL * 15.0, "ofi_1s over quote/book/quote/quote");
    FC_NEAR(r[F_OFI10], o10, TRANS_REL * 15.0, "ofi_10s over quote/book/quote/quote");
    cscalp_close(e);
}
END_TEST

/* --------------------------------------------------------- trades, decays */

START_TEST(signed_volume_and_trade_count_decay_after_ticks)
{
    cscalp_engine *e = fc_open(NULL);
    fc_trade(e, MSEC(1000), 100.0, 2.0, CSCALP_SIDE_BUY);
    fc_trade(e, MSEC(1400), 101.0, 0.5, CSCALP_SIDE_SELL);
    fc_trade(e, MSEC(2000), 100.5, 1.0, CSCALP_SIDE_BUY);
    const int64_t ts[3] = {MSEC(1000), MSEC(1400), MSEC(2000)};
    const double sq[3] = {2.0, -0.5, 1.0};
    const int64_t at[4] = {MSEC(2000), MSEC(2500), MSEC(30000), MSEC(400000)};
    for (int j = 0; j < 4; j++) {
        if (j > 0)
            fc_tick(e, at[j]);
        double r[F_COUNT];
        fc_raw(e, r);
        const double taus[3] = {1.0, 10.0, 60.0};
        for (int w = 0; w < 3; w++) {
            double sv = 0, tc = 0, absq = 0;
            for (int i = 0; i < 3; i++) {
                const double d = exp(-((double)(at[j] - ts[i]) / 1e9) / taus[w]);
                sv += sq[i] * d;
                tc += d;
                absq += fabs(sq[i]) * d;
            }
            char what[96];
            snprintf(what, sizeof what, "%s at t=%.1f s", fc_spec_names[F_SV1 + w],
                     (double)at[j] / 1e9);
            FC_NEAR(r[F_SV1 + w], sv, TRANS_REL * absq + 1e-300, what);
            snprintf(what, sizeof what, "%s at t=%.1f s", fc_spec_names[F_TC1 + w],
                     (double)at[j] / 1e9);
            FC_NEAR(r[F_TC1 + w], tc, TRANS_REL * tc + 1e-300, what);
        }
    }
    cscalp_close(e);
}
END_TEST

START_TEST(trade_imbalance_is_decayed_signed_over_decayed_volume)
{
    cscalp_engine *e = fc_open(NULL);
    fc_trade(e, SEC(1), 100.0, 2.0, CSCALP_SIDE_BUY);
    fc_trade(e, SEC(1), 100.0, 1.0, CSCALP_SIDE_SELL);
    FC_NEAR(fc_get(e, F_TIMB10), 1.0 / 3.0, 1e-15, "trade_imbalance_10s, 2 buy + 1 sell");
    /* the same decay on numerator and denominator: the ratio stays */
    fc_tick(e, SEC(101));
    FC_NEAR(fc_get(e, F_TIMB10), 1.0 / 3.0, 1e-12, "trade_imbalance_10s 100 s later");
    fc_tick(e, SEC(1001));
    FC_NEAR(fc_get(e, F_TIMB10), 1.0 / 3.0, 1e-12, "trade_imbalance_10s 1000 s later");
    /* a later trade weighs more */
    fc_trade(e, SEC(1001), 100.0, 3.0, CSCALP_SIDE_SELL);
    fc_trade(e, SEC(1006), 100.0, 1.0, CSCALP_SIDE_BUY);
    const double d = exp(-0.5);
    const double num = -3.0 * d + 1.0, den = 3.0 * d + 1.0;
    FC_NEAR(fc_get(e, F_TIMB10), num / den, 1e-9, "trade_imbalance_10s, sell 3 then buy 1 5 s later");
    cscalp_close(e);

    /* no trades: 0 */
    e = fc_open(NULL);
    fc_quote(e, SEC(1), 100, 1, 101, 1);
    ck_assert(fc_get(e, F_TIMB10) == 0.0);
    cscalp_close(e);
}
END_TEST

START_TEST(features_stay_finite_and_bounded_after_very_long_silence)
{
    /* After 10^5 s every exp(-dt/tau) underflows to 0 in double. The spec
     * keeps trade_imbalance_10s in [-1, 1] (0 for a zero denominator); no
     * feature may become NaN/inf. (vwap_deviation_bps is not defined by the
     * spec once D_60s[q] underflows; only finiteness is checked.) */
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, SEC(1), 100, 1, 101, 1);
    fc_trade(e, SEC(1), 100.0, 2.0, CSCALP_SIDE_BUY);
    fc_trade(e, SEC(1), 100.0, 1.0, CSCALP_SIDE_SELL);
    fc_tick(e, SEC(100001));
    double r[F_COUNT];
    fc_raw(e, r); /* asserts finiteness */
    ck_assert_msg(r[F_TIMB10] >= -1.0 && r[F_TIMB10] <= 1.0,
                  "trade_imbalance_10s = %g outside [-1, 1]", r[F_TIMB10]);
    ck_assert_msg(fabs(r[F_SV1]) <= 1e-300 && fabs(r[F_TC1]) <= 1e-300 &&
                      fabs(r[F_TC60]) <= 1e-300,
                  "decayed sums after 1e5 s: %g %g %g", r[F_SV1], r[F_TC1], r[F_TC60]);
    cscalp_close(e);
}
END_TEST

/* ------------------------------------------------------------------- VWAP */

START_TEST(vwap_deviation_hand_worked_and_zero_without_trade_or_quote)
{
    cscalp_engine *e = fc_open(NULL);
    fc_trade(e, SEC(1), 100.0, 2.0, CSCALP_SIDE_BUY);
    ck_assert_msg(fc_get(e, F_VWAPDEV) == 0.0, "vwap_deviation_bps before any quote");
    fc_quote(e, SEC(1), 100.0, 1.0, 101.0, 1.0); /* m = 100.5 */
    FC_NEAR(fc_get(e, F_VWAPDEV), (100.5 - 100.0) / 100.0 * 1e4, 1e-9,
            "vwap_deviation_bps with one trade at 100");
    fc_trade(e, SEC(3), 101.0, 1.0, CSCALP_SIDE_SELL);
    const double w = exp(-2.0 / 60.0);
    const double V = (100.0 * 2.0 * w + 101.0) / (2.0 * w + 1.0);
    FC_NEAR(fc_get(e, F_VWAPDEV), (100.5 - V) / V * 1e4, 1e-7,
            "vwap_deviation_bps, 2 trades 2 s apart");
    /* a tick decays both sums alike: V is unchanged */
    fc_tick(e, SEC(33));
    FC_NEAR(fc_get(e, F_VWAPDEV), (100.5 - V) / V * 1e4, 1e-7,
            "vwap_deviation_bps after a 30 s tick");
    cscalp_close(e);

    e = fc_open(NULL);
    fc_quote(e, SEC(1), 100.0, 1.0, 101.0, 1.0);
    ck_assert_msg(fc_get(e, F_VWAPDEV) == 0.0, "vwap_deviation_bps before any trade");
    cscalp_close(e);
}
END_TEST

/* ---------------------------------------------------------------- returns */

static void expect_returns(const cscalp_engine *e, double r1, double r10, double r60,
                           const char *when)
{
    double r[F_COUNT];
    fc_raw(e, r);
    char what[128];
    const double want[3] = {r1, r10, r60};
    for (int j = 0; j < 3; j++) {
        snprintf(what, sizeof what, "%s %s", fc_spec_names[F_RET1 + j], when);
        FC_NEAR(r[F_RET1 + j], want[j], 1e-7, what);
    }
}

START_TEST(returns_look_back_on_the_100ms_grid)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, MSEC(1000), 99.5, 1, 100.5, 1); /* q1: m = 100 at 1.0 s */
    expect_returns(e, 0, 0, 0, "at the first quote");
    fc_quote(e, MSEC(1550), 100.5, 1, 101.5, 1); /* q2: m = 101 at 1.55 s */
    fc_tick(e, MSEC(1500) + 400 * FC_MS);        /* 1.9 s: g1 = 0.9 s */
    expect_returns(e, 0, 0, 0, "at 1.9 s (lookback before the first event)");
    fc_tick(e, SEC(2) - 1); /* g1 = floor(0.999999999 / 0.1) * 0.1 = 0.9 s */
    expect_returns(e, 0, 0, 0, "at 2 s - 1 ns (g = 0.9 s, before the first event)");
    fc_tick(e, SEC(2)); /* g1 = 1.0 s exactly: q1 at 1.0 s counts */
    expect_returns(e, lnr(101, 100), 0, 0, "at 2.0 s (q1 exactly on the grid point)");
    fc_tick(e, MSEC(2550) - 1); /* g1 = 1.5 s: q2 (1.55 s) not yet */
    expect_returns(e, lnr(101, 100), 0, 0, "at 2.55 s - 1 ns");
    fc_tick(e, MSEC(2550)); /* g1 = 1.5 s still (grid is 100 ms) */
    expect_returns(e, lnr(101, 100), 0, 0, "at 2.55 s (looks back up to w + 100 ms)");
    fc_tick(e, MSEC(2600)); /* g1 = 1.6 s: q2 */
    expect_returns(e, 0, 0, 0, "at 2.6 s");
    fc_quote(e, MSEC(2650), 101.5, 1, 102.5, 1); /* q3: m = 102 */
    expect_returns(e, lnr(102, 101), 0, 0, "at q3 (2.65 s)");
    fc_tick(e, SEC(11));
    expect_returns(e, 0, lnr(102, 100), 0, "at 11 s");
    fc_tick(e, MSEC(11550));
    expect_returns(e, 0, lnr(102, 100), 0, "at 11.55 s");
    fc_tick(e, MSEC(11600));
    expect_returns(e, 0, lnr(102, 101), 0, "at 11.6 s");
    fc_tick(e, MSEC(12700));
    expect_returns(e, 0, 0, 0, "at 12.7 s");
    fc_tick(e, SEC(61) - 1);
    expect_returns(e, 0, 0, 0, "at 61 s - 1 ns (g60 = 0.9 s)");
    fc_tick(e, SEC(61));
    expect_returns(e, 0, 0, lnr(102, 100), "at 61 s");
    fc_tick(e, MSEC(61600));
    expect_returns(e, 0, 0, lnr(102, 101), "at 61.6 s");
    fc_tick(e, MSEC(62700));
    expect_returns(e, 0, 0, 0, "at 62.7 s");
    cscalp_close(e);
}
END_TEST

START_TEST(returns_after_a_long_tick_without_data)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, MSEC(500), 99.5, 1, 100.5, 1); /* m = 100 */
    fc_tick(e, SEC(200));
    expect_returns(e, 0, 0, 0, "200 s after the only quote");
    fc_quote(e, SEC(200), 100.5, 1, 101.5, 1); /* m = 101 at 200 s */
    /* every window looks back to a grid point before 200 s: mid 100 */
    expect_returns(e, lnr(101, 100), lnr(101, 100), lnr(101, 100),
                   "at the first quote after 200 s of silence");
    fc_quote(e, MSEC(200050), 101.5, 1, 102.5, 1); /* m = 102 at 200.05 s */
    expect_returns(e, lnr(102, 100), lnr(102, 100), lnr(102, 100), "at 200.05 s");
    fc_tick(e, SEC(201)); /* g1 = 200.0: the 200 s quote */
    expect_returns(e, lnr(102, 101), lnr(102, 100), lnr(102, 100), "at 201 s");
    fc_tick(e, MSEC(201100)); /* g1 = 200.1 */
    expect_returns(e, 0, lnr(102, 100), lnr(102, 100), "at 201.1 s");
    fc_tick(e, MSEC(260050)); /* g60 = 200.0 */
    expect_returns(e, 0, 0, lnr(102, 101), "at 260.05 s");
    fc_tick(e, MSEC(260100)); /* g60 = 200.1 */
    expect_returns(e, 0, 0, 0, "at 260.1 s");
    cscalp_close(e);

    /* a gap longer than the 102.4 s ring between two quotes */
    e = fc_open(NULL);
    fc_quote(e, MSEC(500), 99.5, 1, 100.5, 1);  /* m = 100 */
    fc_quote(e, SEC(150), 109.5, 1, 110.5, 1);  /* m = 110 */
    expect_returns(e, lnr(110, 100), lnr(110, 100), lnr(110, 100),
                   "150 s after the first quote");
    fc_tick(e, MSEC(209950)); /* g60 = 149.9 s */
    expect_returns(e, 0, 0, lnr(110, 100), "at 209.95 s");
    fc_tick(e, SEC(210));
    expect_returns(e, 0, 0, 0, "at 210 s");
    cscalp_close(e);
}
END_TEST

/* ------------------------------------------------------------------- rvol */

START_TEST(rvol_is_sqrt_of_decayed_squared_returns_per_second)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, SEC(1), 99.5, 1, 100.5, 1);        /* m = 100 */
    fc_quote(e, SEC(2), 100.5, 1, 101.5, 1);       /* m = 101 */
    fc_quote(e, SEC(3), 99.5, 3, 100.5, 1);        /* m = 100 */
    fc_quote(e, MSEC(3500), 99.0, 2, 101.0, 5);    /* m = 100 (r = 0) */
    fc_tick(e, SEC(5));
    double r[F_COUNT];
    fc_raw(e, r);
    const double r2 = lnr(101, 100), r3 = lnr(100, 101);
    const double w[3] = {10, 60, 300};
    for (int j = 0; j < 3; j++) {
        const double D = r2 * r2 * exp(-3.0 / w[j]) + r3 * r3 * exp(-2.0 / w[j]);
        const double want = sqrt(D / w[j]);
        FC_NEAR(r[F_RVOL10 + j], want, TRANS_REL * want, fc_spec_names[F_RVOL10 + j]);
    }
    cscalp_close(e);

    /* unchanged mids: rvol 0 */
    e = fc_open(NULL);
    fc_quote(e, SEC(1), 99.5, 1, 100.5, 1);
    fc_quote(e, SEC(2), 99.0, 7, 101.0, 2);
    fc_quote(e, SEC(3), 99.75, 1, 100.25, 4);
    fc_raw(e, r);
    ck_assert_msg(r[F_RVOL10] == 0.0 && r[F_RVOL60] == 0.0 && r[F_RVOL300] == 0.0,
                  "rvol with an unchanged mid: %g %g %g", r[F_RVOL10], r[F_RVOL60],
                  r[F_RVOL300]);
    cscalp_close(e);
}
END_TEST

/* ---------------------------------------------------------------- funding */

START_TEST(funding_rate_time_to_funding_and_mark_basis)
{
    cscalp_engine *e = fc_open(NULL);
    fc_funding(e, SEC(10), 1.5e-4, 100.6, 100.55, SEC(3610));
    fc_quote(e, SEC(10), 100.0, 1, 101.0, 1); /* m = 100.5 */
    double r[F_COUNT];
    fc_raw(e, r);
    FC_REL(r[F_FUND], 1.5, ARITH_REL, 1.0, "funding_rate_bps");
    FC_REL(r[F_TTF], 3600.0, ARITH_REL, 1.0, "time_to_funding_s");
    FC_NEAR(r[F_BASIS], (100.6 - 100.5) / 100.5 * 1e4, 1e-9,
            "mark_basis_bps once a mid exists");
    fc_tick(e, MSEC(110250));
    FC_NEAR(fc_get(e, F_TTF), 3499.75, 1e-9, "time_to_funding_s after 100.25 s");
    fc_tick(e, SEC(3610));
    ck_assert_msg(fc_get(e, F_TTF) == 0.0, "time_to_funding_s at the funding time");
    fc_tick(e, SEC(3700));
    ck_assert_msg(fc_get(e, F_TTF) == 0.0, "time_to_funding_s = %g after the funding time (max(0, .))",
                  fc_get(e, F_TTF));
    /* a new funding event replaces rate, mark and next time */
    fc_funding(e, SEC(3700), -2.5e-4, 100.2, 0.0, SEC(3700 + 8 * 3600));
    fc_raw(e, r);
    FC_REL(r[F_FUND], -2.5, ARITH_REL, 1.0, "funding_rate_bps (negative)");
    FC_REL(r[F_TTF], 8 * 3600.0, ARITH_REL, 1.0, "time_to_funding_s (new)");
    FC_NEAR(r[F_BASIS], (100.2 - 100.5) / 100.5 * 1e4, 1e-9, "mark_basis_bps (new mark)");
    /* the basis follows the mid */
    fc_quote(e, SEC(3701), 99.0, 1, 100.0, 1); /* m = 99.5 */
    FC_NEAR(fc_get(e, F_BASIS), (100.2 - 99.5) / 99.5 * 1e4, 1e-9, "mark_basis_bps (new mid)");
    cscalp_close(e);

    /* next funding time unknown (0): time_to_funding_s is 0 */
    e = fc_open(NULL);
    fc_funding(e, SEC(10), 1e-4, 100.0, 0.0, 0);
    fc_raw(e, r);
    FC_REL(r[F_FUND], 1.0, ARITH_REL, 1.0, "funding_rate_bps");
    ck_assert_msg(r[F_TTF] == 0.0, "time_to_funding_s = %g with unknown next time", r[F_TTF]);
    cscalp_close(e);
}
END_TEST

/* ----------------------------------------------------------- time clamping */

START_TEST(event_slightly_in_the_past_is_applied_at_the_clock_time)
{
    cscalp_engine *e = fc_open(NULL); /* tolerance 100 ms */
    fc_quote(e, SEC(10), 100.0, 1, 101.0, 1);
    /* 50 ms in the past: accepted at t = 10 s, so no decay at the clock */
    fc_trade(e, MSEC(9950), 100.0, 2.0, CSCALP_SIDE_BUY);
    FC_NEAR(fc_get(e, F_SV1), 2.0, 1e-12, "signed_volume_1s of a clamped trade");
    FC_NEAR(fc_get(e, F_TC1), 1.0, 1e-12, "trade_count_1s of a clamped trade");
    fc_tick(e, SEC(11));
    FC_NEAR(fc_get(e, F_SV1), 2.0 * exp(-1.0), 1e-9, "signed_volume_1s 1 s after the clock");
    double before[F_COUNT], after[F_COUNT];
    fc_raw(e, before);
    /* a tick back within the tolerance is a no-op */
    fc_tick(e, MSEC(10950));
    fc_raw(e, after);
    expect_raw_equal(before, after, "tick 50 ms back");
    /* 100 ms + 1 ns in the past: refused, nothing changes */
    cscalp_trade t = fc_mk_trade(SEC(11) - 100 * FC_MS - 1, 100.0, 5.0, CSCALP_SIDE_SELL);
    ck_assert_int_eq(cscalp_push_trade(e, &t), CSCALP_ETIME);
    fc_raw(e, after);
    expect_raw_equal(before, after, "trade refused with ETIME");
    ck_assert_int_eq(cscalp_tick(e, SEC(11) - 100 * FC_MS - 1), CSCALP_ETIME);
    /* exactly 100 ms in the past: accepted at 11 s */
    fc_trade(e, SEC(11) - 100 * FC_MS, 100.0, 1.0, CSCALP_SIDE_SELL);
    FC_NEAR(fc_get(e, F_SV1), 2.0 * exp(-1.0) - 1.0, 1e-9,
            "signed_volume_1s after a trade exactly 100 ms in the past");
    fc_tick(e, MSEC(11500));
    FC_NEAR(fc_get(e, F_SV1), 2.0 * exp(-1.5) - exp(-0.5), 1e-9,
            "signed_volume_1s 0.5 s later (clamped trade decays from 11 s)");

    cscalp_health_report h;
    memset(&h, 0, sizeof h);
    h.size = sizeof h;
    ck_assert_int_eq(cscalp_health(e, &h), CSCALP_OK);
    /* two clamped events (whether the no-op tick back counts is not said) */
    ck_assert_msg(h.time_clamped >= 2 && h.time_clamped <= 3, "time_clamped = %llu",
                  (unsigned long long)h.time_clamped);
    ck_assert_uint_eq(h.feed_rejected[CSCALP_REJECT_TIME], 2);
    cscalp_close(e);

    /* tolerance 0: any step back is refused, the same time is accepted */
    e = fc_open("{\"feed\":{\"max_time_regression_ms\":0}}");
    fc_quote(e, SEC(10), 100.0, 1, 101.0, 1);
    cscalp_quote q = fc_mk_quote(SEC(10) - 1, 100.0, 1, 101.0, 2);
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_ETIME);
    fc_quote(e, SEC(10), 100.0, 1, 101.0, 3);
    FC_NEAR(fc_get(e, F_IMB), -0.5, 1e-15, "imbalance_l1 after a same-time quote");
    cscalp_close(e);
}
END_TEST

START_TEST(clamped_quote_enters_return_grid_and_decays_at_clock_time)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, MSEC(10000), 99.5, 1, 100.5, 1);  /* m = 100 */
    fc_quote(e, MSEC(10250), 100.5, 1, 101.5, 1); /* m = 101 */
    fc_quote(e, MSEC(10200), 101.5, 1, 102.5, 1); /* stamped 10.2, effective 10.25; m = 102 */
    /* at 11.2 s, g1 = 10.2 s: the last update with effective time <= 10.2 s is
     * the first quote (the clamped one counts at 10.25 s, not at its stamp) */
    fc_tick(e, MSEC(11200));
    double r[F_COUNT];
    fc_raw(e, r);
    FC_NEAR(r[F_RET1], lnr(102, 100), 1e-7, "return_1s at 11.2 s with a clamped quote");
    /* rvol: r = ln(101/100), ln(102/101), both at 10.25 s */
    const double a = lnr(101, 100), b = lnr(102, 101);
    const double want = sqrt((a * a + b * b) * exp(-0.95 / 10.0) / 10.0);
    FC_NEAR(r[F_RVOL10], want, TRANS_REL * want, "rvol_10s with a clamped quote");
    /* OFI: e1 = bid up (+1) + ask up (+1) = 2 at 10.25; e2 = 2 at 10.25 */
    FC_NEAR(r[F_OFI1], 4.0 * exp(-0.95), 1e-9, "ofi_1s with a clamped quote");
    /* g1 = 10.2 s until 11.3 s; then the 10.25 s updates count */
    fc_tick(e, MSEC(11300) - 1);
    FC_NEAR(fc_get(e, F_RET1), lnr(102, 100), 1e-7, "return_1s at 11.3 s - 1 ns");
    fc_tick(e, MSEC(11300));
    FC_NEAR(fc_get(e, F_RET1), 0.0, 1e-7, "return_1s at 11.3 s");
    cscalp_close(e);
}
END_TEST

/* ------------------------------------------------------------- validation */

START_TEST(refused_events_never_reach_the_features)
{
    cscalp_engine *e = fc_open(NULL);
    fc_quote(e, SEC(1), 100.0, 1, 101.0, 3);
    fc_trade(e, SEC(1), 100.5, 1.0, CSCALP_SIDE_BUY);
    fc_funding(e, SEC(1), 1e-4, 100.4, 0.0, SEC(100));
    double before[F_COUNT], after[F_COUNT];
    fc_raw(e, before);

    cscalp_quote q = fc_mk_quote(SEC(1), 101.0, 1, 101.0, 1); /* locked */
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_ECROSSED);
    q = fc_mk_quote(SEC(1), 100.0, -1, 101.0, 1);
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_ESIZE);
    q = fc_mk_quote(SEC(1), (double)NAN, 1, 101.0, 1);
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_ENONFINITE);
    q = fc_mk_quote(SEC(1), 0.0, 1, 101.0, 1);
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_EPRICE);
    cscalp_trade t = fc_mk_trade(SEC(1), 100.0, 0.0, CSCALP_SIDE_BUY);
    ck_assert_int_eq(cscalp_push_trade(e, &t), CSCALP_ESIZE);
    t = fc_mk_trade(SEC(1), 100.0, 1.0, 0);
    ck_assert_int_eq(cscalp_push_trade(e, &t), CSCALP_ESIDE);
    t = fc_mk_trade(SEC(1), (double)INFINITY, 1.0, CSCALP_SIDE_SELL);
    ck_assert_int_eq(cscalp_push_trade(e, &t), CSCALP_ENONFINITE);
    cscalp_book bk;
    const double bp[2] = {100.0, 100.0}, bs[2] = {1, 1}, ap[1] = {101.0}, as[1] = {1};
    fc_mk_book(&bk, SEC(1), 2, bp, bs, 1, ap, as); /* not strictly descending */
    ck_assert_int_eq(cscalp_push_book(e, &bk), CSCALP_ELEVELS);
    cscalp_funding f = fc_mk_funding(SEC(1), 1e-4, 0.0, 0.0, 0);
    ck_assert_int_eq(cscalp_push_funding(e, &f), CSCALP_EPRICE);
    f = fc_mk_funding(SEC(1), 1e-4, 100.0, -1.0, 0);
    ck_assert(cscalp_push_funding(e, &f) != CSCALP_OK);
    fc_raw(e, after);
    expect_raw_equal(before, after, "after refused events");
    cscalp_close(e);
}
END_TEST

START_TEST(returns_survive_gaps_of_exactly_the_ring_length)
{
    /* The spec's ring is 1024 slots of 100 ms (102.4 s). Gaps of exactly one
     * and two ring lengths must not alias old slots: compare every return
     * with the brute-force reference after each step. */
    cscalp_engine *e = fc_open(NULL);
    ref_model m;
    ref_init(&m, 100 * FC_MS, 10, 1000 * FC_MS, 300.0, 5.0, 30);
    int64_t t = MSEC(50);
    for (int k = 0; k < 100; k++, t += MSEC(100)) { /* mids 100.00 .. 100.99 */
        const double mid = 100.0 + 0.01 * k;
        fc_quote(e, t, mid - 0.005, 1, mid + 0.005, 1);
        ref_quote(&m, t, mid - 0.005, 1, mid + 0.005, 1);
    }
    const int64_t gaps[3] = {MSEC(102400), MSEC(204800), MSEC(102400) - MSEC(1000)};
    double mid = 105.0;
    for (int j = 0; j < 3; j++) {
        t += gaps[j];
        for (int k = 0; k < 30; k++, t += MSEC(50)) {
            if (k % 3 == 0) {
                mid += 0.01;
                fc_quote(e, t, mid - 0.005, 1, mid + 0.005, 1);
                ref_quote(&m, t, mid - 0.005, 1, mid + 0.005, 1);
            } else {
                fc_tick(e, t);
                ref_tick(&m, t);
            }
            double raw[F_COUNT], x[F_COUNT];
            fc_raw(e, raw);
            ref_eval(&m, m.clock, x, NULL);
            char what[128];
            for (int w = 0; w < 3; w++) {
                snprintf(what, sizeof what, "%s, gap %d, step %d (t = %.2f s)",
                         fc_spec_names[F_RET1 + w], j, k, (double)t / 1e9);
                FC_NEAR(raw[F_RET1 + w], x[F_RET1 + w], 1e-6, what);
            }
        }
    }
    ref_free(&m);
    cscalp_close(e);
}
END_TEST

START_TEST(fractional_max_time_regression_ms_is_honoured)
{
    cscalp_engine *e = fc_open("{\"feed\":{\"max_time_regression_ms\":0.5}}");
    fc_quote(e, SEC(10), 100.0, 1, 101.0, 1);
    fc_trade(e, SEC(10) - 400000, 100.5, 1.0, CSCALP_SIDE_BUY); /* 0.4 ms back */
    FC_NEAR(fc_get(e, F_SV1), 1.0, 1e-12, "trade 0.4 ms back, applied at the clock");
    cscalp_trade t = fc_mk_trade(SEC(10) - 600000, 100.5, 1.0, CSCALP_SIDE_BUY);
    ck_assert_int_eq(cscalp_push_trade(e, &t), CSCALP_ETIME);
    cscalp_close(e);
}
END_TEST

START_TEST(tick_sets_the_clock_that_later_events_are_checked_against)
{
    cscalp_engine *e = fc_open(NULL);
    fc_tick(e, SEC(100));
    /* 50 ms before the tick time: accepted at the clock (100 s) */
    fc_quote(e, SEC(100) - 50 * FC_MS, 100.0, 1, 101.0, 1);
    fc_trade(e, SEC(100) - 50 * FC_MS, 100.5, 1.0, CSCALP_SIDE_BUY);
    FC_NEAR(fc_get(e, F_SV1), 1.0, 1e-12, "signed_volume_1s at the tick time");
    fc_tick(e, SEC(101));
    FC_NEAR(fc_get(e, F_SV1), exp(-1.0), 1e-9, "signed_volume_1s 1 s after the tick time");
    cscalp_quote q = fc_mk_quote(SEC(100) + 900 * FC_MS - 1, 100.0, 1, 101.0, 1);
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_ETIME);
    cscalp_close(e);
}
END_TEST

static void expect_matches_ref(const cscalp_engine *e, const ref_model *m, const char *when)
{
    double raw[F_COUNT], x[F_COUNT], sc[F_COUNT];
    fc_raw(e, raw);
    ref_eval(m, m->clock, x, sc);
    char what[128];
    for (int k = 0; k < F_COUNT; k++) {
        snprintf(what, sizeof what, "%s: %s", when, fc_spec_names[k]);
        FC_NEAR(raw[k], x[k], 1e-9 * sc[k] + 1e-12, what);
    }
}

START_TEST(batch_pushes_apply_each_accepted_event_like_a_single_push)
{
    cscalp_engine *e = fc_open(NULL);
    ref_model m;
    ref_init(&m, 100 * FC_MS, 10, 1000 * FC_MS, 300.0, 5.0, 30);
    cscalp_quote qs[5] = {
        fc_mk_quote(MSEC(1000), 100.0, 1, 100.2, 2),
        fc_mk_quote(MSEC(1200), 100.1, 3, 100.2, 1),
        fc_mk_quote(MSEC(1300), 100.3, 3, 100.2, 1), /* crossed: refused */
        /* 150 ms before the refused event, 50 ms before the clock: accepted
         * (clamped to 1.2 s) only if the refused event left the clock alone */
        fc_mk_quote(MSEC(1150), 100.0, 2, 100.1, 4),
        fc_mk_quote(MSEC(2500), 99.9, 1, 100.1, 1),
    };
    size_t acc = 99;
    ck_assert_int_eq(cscalp_push_quotes(e, qs, 5, CSCALP_BATCH_SKIP_INVALID, &acc),
                     CSCALP_ECROSSED);
    ck_assert_uint_eq(acc, 4);
    for (int i = 0; i < 5; i++)
        if (i != 2)
            ref_quote(&m, qs[i].ts_ns, qs[i].bid_price, qs[i].bid_size,
                      qs[i].ask_price, qs[i].ask_size);
    expect_matches_ref(e, &m, "after a quote batch with a refused event");

    cscalp_trade ts[4] = {
        fc_mk_trade(MSEC(2600), 100.0, 1.0, CSCALP_SIDE_BUY),
        fc_mk_trade(MSEC(2700), 100.1, 2.0, CSCALP_SIDE_SELL),
        fc_mk_trade(MSEC(2800), 100.1, 2.0, 7), /* bad side */
        fc_mk_trade(MSEC(2900), 100.2, 0.5, CSCALP_SIDE_BUY),
    };
    acc = 99;
    ck_assert_int_eq(cscalp_push_trades(e, ts, 4, 0, &acc), CSCALP_ESIDE);
    ck_assert_uint_eq(acc, 2);
    ref_trade_push(&m, ts[0].ts_ns, ts[0].price, ts[0].size, ts[0].side);
    ref_trade_push(&m, ts[1].ts_ns, ts[1].price, ts[1].size, ts[1].side);
    expect_matches_ref(e, &m, "after a trade batch stopped at a refused event");
    ck_assert_int_eq(cscalp_push_trades(e, ts + 3, 1, 0, &acc), CSCALP_OK);
    ck_assert_uint_eq(acc, 1);
    ref_trade_push(&m, ts[3].ts_ns, ts[3].price, ts[3].size, ts[3].side);

    cscalp_funding fs[1] = {fc_mk_funding(MSEC(3000), 2e-4, 100.3, 0.0, SEC(3600))};
    ck_assert_int_eq(cscalp_push_fundings(e, fs, 1, 0, NULL), CSCALP_OK);
    ref_funding(&m, fs[0].ts_ns, 2e-4, 100.3, SEC(3600));
    cscalp_book bk[1];
    const double bp[2] = {100.0, 99.9}, bsz[2] = {1.0, 2.0}, ap[2] = {100.2, 100.3},
                 asz[2] = {3.0, 4.0};
    fc_mk_book(&bk[0], MSEC(3100), 2, bp, bsz, 2, ap, asz);
    ck_assert_int_eq(cscalp_push_books(e, bk, 1, 0, NULL), CSCALP_OK);
    ref_book(&m, &bk[0]);
    fc_tick(e, MSEC(4000));
    ref_tick(&m, MSEC(4000));
    expect_matches_ref(e, &m, "after batches of every kind and a tick");
    ref_free(&m);
    cscalp_close(e);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("features-api");
    TCase *tc = tcase_create("hand-worked");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, feature_names_and_order_match_spec);
    tcase_add_test(tc, features_buffer_too_small_writes_nothing);
    tcase_add_test(tc, every_feature_is_zero_before_any_event_and_after_ticks);
    tcase_add_test(tc, trade_only_leaves_quote_features_zero);
    tcase_add_test(tc, funding_only_leaves_mark_basis_zero);
    tcase_add_test(tc, quote_100x1_101x3_gives_spread_microprice_imbalance);
    tcase_add_test(tc, microprice_and_imbalance_are_zero_when_both_sizes_are_zero);
    tcase_add_test(tc, book_snapshot_level0_is_top_of_book);
    tcase_add_test(tc, depth_imbalance_uses_first_5_and_10_levels_of_latest_snapshot);
    tcase_add_test(tc, depth_imbalance_uses_only_feed_book_levels);
    tcase_add_loop_test(tc, ofi_follows_cks_sign_conventions, 0,
                        (int)(sizeof ofi_cases / sizeof ofi_cases[0]));
    tcase_add_test(tc, ofi_sums_decayed_updates_across_quotes_and_books);
    tcase_add_test(tc, signed_volume_and_trade_count_decay_after_ticks);
    tcase_add_test(tc, trade_imbalance_is_decayed_signed_over_decayed_volume);
    tcase_add_test(tc, features_stay_finite_and_bounded_after_very_long_silence);
    tcase_add_test(tc, vwap_deviation_hand_worked_and_zero_without_trade_or_quote);
    tcase_add_test(tc, returns_look_back_on_the_100ms_grid);
    tcase_add_test(tc, returns_after_a_long_tick_without_data);
    tcase_add_test(tc, rvol_is_sqrt_of_decayed_squared_returns_per_second);
    tcase_add_test(tc, funding_rate_time_to_funding_and_mark_basis);
    tcase_add_test(tc, event_slightly_in_the_past_is_applied_at_the_clock_time);
    tcase_add_test(tc, clamped_quote_enters_return_grid_and_decays_at_clock_time);
    tcase_add_test(tc, refused_events_never_reach_the_features);
    tcase_add_test(tc, tick_sets_the_clock_that_later_events_are_checked_against);
    tcase_add_test(tc, returns_survive_gaps_of_exactly_the_ring_length);
    tcase_add_test(tc, fractional_max_time_regression_ms_is_honoured);
    tcase_add_test(tc, batch_pushes_apply_each_accepted_event_like_a_single_push);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fc_run_suite(api_suite());
}
