/* Randomised brute-force comparison: a seeded pseudo-random stream of a few
 * thousand mixed events (quotes, trades, books, funding, ticks, events slightly
 * in the past, events too far in the past, invalid events) is pushed through
 * the public API and, after every event, every raw feature (and, where the
 * case says so, every normalised value) is compared with the brute-force
 * reference of feat_ref.c evaluated from the full event history. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "feat_common.h"
#include "feat_ref.h"

#define RAW_REL 1e-9

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_u64(rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unif(rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

/* integer in [lo, hi] */
static int64_t rng_range(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_u64(r) % (uint64_t)(hi - lo + 1));
}

typedef struct stream_case {
    const char *name;
    uint64_t seed;
    int64_t base_ns;       /* stream starts a little after this (a grid point) */
    const char *json;      /* engine configuration */
    int64_t max_regress_ns;
    unsigned book_levels;
    int64_t norm_interval_ns;
    double half_life_s;
    double z_clip;
    uint64_t warmup;
    int check_z;
    int n_events;
} stream_case;

static const stream_case cases[] = {
    {"defaults", 0x5eed0001ull, 0, NULL, 100 * FC_MS, 10, 1000 * FC_MS, 300.0, 5.0, 30,
     1, 4000},
    {"epoch timestamps, book_levels 7, tolerance 250 ms", 0x5eed0002ull,
     1721347021000000000LL,
     "{\"feed\":{\"book_levels\":7,\"max_time_regression_ms\":250}}", 250 * FC_MS, 7,
     1000 * FC_MS, 300.0, 5.0, 30, 1, 4000},
    {"book_levels 3, 100 ms normaliser grid, clip 2.5", 0x5eed0003ull, 0,
     "{\"feed\":{\"book_levels\":3},\"features\":{\"norm_interval_ms\":100,"
     "\"norm_half_life_s\":5,\"norm_warmup_samples\":10,\"z_clip\":2.5}}",
     100 * FC_MS, 3, 100 * FC_MS, 5.0, 2.5, 10, 1, 4000},
    {"250 ms grid, half-life 2 s, warm-up 3, clip 1.5", 0x5eed0004ull, 0,
     "{\"features\":{\"norm_interval_ms\":250,\"norm_half_life_s\":2,"
     "\"norm_warmup_samples\":3,\"z_clip\":1.5}}",
     100 * FC_MS, 10, 250 * FC_MS, 2.0, 1.5, 3, 1, 3000},
    {"negative timestamps crossing zero", 0x5eed0006ull, -600 * FC_NS, NULL, 100 * FC_MS,
     10, 1000 * FC_MS, 300.0, 5.0, 30, 1, 3000},
    {"defaults, second seed", 0x5eed0005ull, 3600 * FC_NS, NULL, 100 * FC_MS, 10,
     1000 * FC_MS, 300.0, 5.0, 30, 1, 4000},
};

enum { EV_QUOTE, EV_TRADE, EV_BOOK, EV_FUNDING, EV_TICK, EV_INVALID };
static const char *const ev_names[] = {"quote", "trade", "book", "funding", "tick",
                                       "invalid"};

static void compare(const stream_case *c, const cscalp_engine *e, const ref_model *m,
                    int i, int kind, int64_t stamp)
{
    double raw[F_COUNT], z[F_COUNT], x[F_COUNT], sc[F_COUNT];
    fc_raw_z(e, raw, z);
    ref_eval(m, m->clock, x, sc);
    for (int k = 0; k < F_COUNT; k++) {
        const double tol = RAW_REL * sc[k] + 1e-12;
        ck_assert_msg(fabs(raw[k] - x[k]) <= tol,
                      "[%s] event %d (%s stamped %lld, clock %lld): raw %s = %.17g, "
                      "reference %.17g (diff %.3g > tol %.3g)",
                      c->name, i, ev_names[kind], (long long)stamp,
                      (long long)m->clock, fc_spec_names[k], raw[k], x[k],
                      fabs(raw[k] - x[k]), tol);
    }
    if (!c->check_z)
        return;
    double zr[F_COUNT], sig[F_COUNT];
    ref_z(m, x, zr, sig);
    for (int k = 0; k < F_COUNT; k++) {
        if (m->samples < m->warmup || sig[k] == 0.0) {
            ck_assert_msg(z[k] == 0.0,
                          "[%s] event %d (%s, clock %lld): z %s = %.17g, expected 0 "
                          "(samples %llu, warm-up %llu, sigma %g)",
                          c->name, i, ev_names[kind], (long long)m->clock,
                          fc_spec_names[k], z[k], (unsigned long long)m->samples,
                          (unsigned long long)m->warmup, sig[k]);
            continue;
        }
        const double tol = 1e-6 + 1e-7 * (sc[k] + 1e-12) / sig[k] * (1.0 + fabs(zr[k]));
        ck_assert_msg(fabs(z[k] - zr[k]) <= tol,
                      "[%s] event %d (%s, clock %lld): z %s = %.17g, reference %.17g "
                      "(diff %.3g > tol %.3g; raw %.17g, ref mean %.17g, sigma %.17g, "
                      "samples %llu)",
                      c->name, i, ev_names[kind], (long long)m->clock,
                      fc_spec_names[k], z[k], zr[k], fabs(z[k] - zr[k]), tol, raw[k],
                      m->mu[k], sig[k], (unsigned long long)m->samples);
    }
}

START_TEST(random_stream_matches_brute_force_reference)
{
    const stream_case *c = &cases[_i];
    rng r = {c->seed};
    cscalp_engine *e = fc_open(c->json);
    ref_model m;
    ref_init(&m, c->max_regress_ns, c->book_levels, c->norm_interval_ns,
             c->half_life_s, c->z_clip, c->warmup);

    /* start strictly inside the first normaliser interval after base */
    int64_t now = c->base_ns + rng_range(&r, 1, c->norm_interval_ns - 1);
    int64_t mid_t = 10000; /* mid in cents */
    int accepted = 0, refused_time = 0, clamped = 0, invalid = 0;

    for (int i = 0; i < c->n_events; i++) {
        /* ---- time of the event */
        int64_t stamp;
        const double u = rng_unif(&r);
        int expect_etime = 0;
        /* stamps stay positive unless the case is about negative times */
        const int may_go_back =
            m.has_clock && (c->base_ns < 0 || m.clock > c->max_regress_ns + 2 * FC_NS);
        if (i == 0) {
            stamp = now;
        } else if (u < 0.05 && may_go_back) { /* slightly in the past: clamped */
            stamp = m.clock - rng_range(&r, 0, c->max_regress_ns);
            clamped++;
        } else if (u < 0.07 && may_go_back) { /* too far in the past: ETIME */
            stamp = m.clock - c->max_regress_ns - rng_range(&r, 1, 2 * FC_NS);
            expect_etime = 1;
        } else {
            const double v = rng_unif(&r);
            int64_t dt;
            if (v < 0.2)
                dt = 0;
            else if (v < 0.6)
                dt = rng_range(&r, 1, 200 * FC_MS);
            else if (v < 0.7) /* exactly onto the next 100 ms grid point */
                dt = (ref_floor_div(now, 100 * FC_MS) + 1) * 100 * FC_MS - now;
            else if (v < 0.8) /* exactly onto the next normaliser grid point */
                dt = (ref_floor_div(now, c->norm_interval_ns) + 1) * c->norm_interval_ns -
                     now;
            else if (v < 0.985)
                dt = rng_range(&r, 1, 2 * FC_NS);
            else if (v < 0.995)
                dt = rng_range(&r, 5 * FC_NS, 60 * FC_NS);
            else
                dt = rng_range(&r, 100 * FC_NS, 160 * FC_NS);
            now += dt;
            stamp = now;
        }

        /* ---- kind of the event */
        const double w = rng_unif(&r);
        int kind;
        if (w < 0.36)
            kind = EV_QUOTE;
        else if (w < 0.64)
            kind = EV_TRADE;
        else if (w < 0.74)
            kind = EV_BOOK;
        else if (w < 0.79)
            kind = EV_FUNDING;
        else if (w < 0.92)
            kind = EV_TICK;
        else
            kind = EV_INVALID;
        if (i == 0)
            kind = EV_QUOTE;
        if (kind == EV_INVALID && expect_etime)
            kind = EV_TRADE; /* keep one reason per refused event */
        if (kind == EV_INVALID && stamp < m.clock)
            stamp = now;

        if ((kind == EV_QUOTE || kind == EV_BOOK) && rng_unif(&r) < 0.35)
            mid_t += rng_range(&r, -3, 3);
        if (mid_t < 200)
            mid_t = 200;

        int rc = 0;
        int want = expect_etime ? CSCALP_ETIME : CSCALP_OK;
        switch (kind) {
        case EV_QUOTE: {
            const int64_t bt = mid_t - rng_range(&r, 0, 2);
            const int64_t at = bt + rng_range(&r, 1, 3);
            const double sz0 = rng_unif(&r) < 0.03 ? 0.0 : 0.1 + 9.9 * rng_unif(&r);
            const double sz1 = rng_unif(&r) < 0.03 ? 0.0 : 0.1 + 9.9 * rng_unif(&r);
            const cscalp_quote q = fc_mk_quote(stamp, (double)bt / 100.0, sz0,
                                               (double)at / 100.0, sz1);
            rc = cscalp_push_quote(e, &q);
            if (rc == CSCALP_OK && want == CSCALP_OK)
                ref_quote(&m, stamp, q.bid_price, q.bid_size, q.ask_price, q.ask_size);
            break;
        }
        case EV_TRADE: {
            const double p = (double)(mid_t + rng_range(&r, -3, 3)) / 100.0;
            const double q = 0.001 + 3.0 * rng_unif(&r);
            const int side = rng_unif(&r) < 0.5 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL;
            const cscalp_trade t = fc_mk_trade(stamp, p, q, side);
            rc = cscalp_push_trade(e, &t);
            if (rc == CSCALP_OK && want == CSCALP_OK)
                ref_trade_push(&m, stamp, p, q, side);
            break;
        }
        case EV_BOOK: {
            cscalp_book bk;
            memset(&bk, 0, sizeof bk);
            bk.ts_ns = stamp;
            bk.bid_count = (uint32_t)rng_range(&r, 1, 15);
            bk.ask_count = (uint32_t)rng_range(&r, 1, 15);
            int64_t bt = mid_t - rng_range(&r, 0, 2);
            int64_t at = bt + rng_range(&r, 1, 3);
            for (uint32_t l = 0; l < bk.bid_count; l++) {
                bk.bids[l].price = (double)bt / 100.0;
                bk.bids[l].size = 0.01 + 5.0 * rng_unif(&r);
                bt -= rng_range(&r, 1, 2);
            }
            for (uint32_t l = 0; l < bk.ask_count; l++) {
                bk.asks[l].price = (double)at / 100.0;
                bk.asks[l].size = 0.01 + 5.0 * rng_unif(&r);
                at += rng_range(&r, 1, 2);
            }
            rc = cscalp_push_book(e, &bk);
            if (rc == CSCALP_OK && want == CSCALP_OK)
                ref_book(&m, &bk);
            break;
        }
        case EV_FUNDING: {
            const double mid = (double)mid_t / 100.0;
            const double rate = (rng_unif(&r) - 0.5) * 1e-3;
            const double mark = mid * (1.0 + (rng_unif(&r) - 0.5) * 2e-3);
            const double index = rng_unif(&r) < 0.5 ? 0.0 : mid;
            int64_t next = stamp + rng_range(&r, -20 * FC_NS, 8 * 3600 * FC_NS);
            if (next <= 0)
                next = 1;
            const cscalp_funding f = fc_mk_funding(stamp, rate, mark, index, next);
            rc = cscalp_push_funding(e, &f);
            if (rc == CSCALP_OK && want == CSCALP_OK)
                ref_funding(&m, stamp, rate, mark, next);
            break;
        }
        case EV_TICK:
            rc = cscalp_tick(e, stamp);
            if (rc == CSCALP_OK && want == CSCALP_OK)
                ref_tick(&m, stamp);
            break;
        default: { /* an invalid event at a valid time */
            const int which = (int)rng_range(&r, 0, 5);
            const double mid = (double)mid_t / 100.0;
            invalid++;
            if (which == 0) {
                const cscalp_quote q = fc_mk_quote(stamp, mid + 0.01, 1.0, mid, 1.0);
                want = CSCALP_ECROSSED;
                rc = cscalp_push_quote(e, &q);
            } else if (which == 1) {
                const cscalp_trade t = fc_mk_trade(stamp, mid, 0.0, CSCALP_SIDE_BUY);
                want = CSCALP_ESIZE;
                rc = cscalp_push_trade(e, &t);
            } else if (which == 2) {
                const cscalp_trade t = fc_mk_trade(stamp, mid, 1.0, 2);
                want = CSCALP_ESIDE;
                rc = cscalp_push_trade(e, &t);
            } else if (which == 3) {
                const cscalp_quote q = fc_mk_quote(stamp, (double)NAN, 1.0, mid, 1.0);
                want = CSCALP_ENONFINITE;
                rc = cscalp_push_quote(e, &q);
            } else if (which == 4) {
                cscalp_book bk;
                const double bp[2] = {mid - 0.01, mid - 0.01}, bs[2] = {1.0, 1.0};
                const double ap[1] = {mid + 0.01}, as[1] = {1.0};
                fc_mk_book(&bk, stamp, 2, bp, bs, 1, ap, as);
                want = CSCALP_ELEVELS;
                rc = cscalp_push_book(e, &bk);
            } else {
                const cscalp_funding f = fc_mk_funding(stamp, 1e-4, -1.0, 0.0, 0);
                want = CSCALP_EPRICE;
                rc = cscalp_push_funding(e, &f);
            }
            break;
        }
        }
        ck_assert_msg(rc == want,
                      "[%s] event %d (%s stamped %lld, clock %lld): rc %d (%s), "
                      "expected %d (%s): %s",
                      c->name, i, ev_names[kind], (long long)stamp, (long long)m.clock,
                      rc, cscalp_error_name(rc), want, cscalp_error_name(want),
                      cscalp_last_error(e));
        if (rc == CSCALP_OK)
            accepted++;
        if (rc == CSCALP_ETIME)
            refused_time++;
        compare(c, e, &m, i, kind, stamp);
    }
    /* the stream exercised what it was meant to */
    ck_assert_int_gt(accepted, c->n_events * 8 / 10);
    ck_assert_int_gt(refused_time, 10);
    ck_assert_int_gt(clamped, 50);
    ck_assert_int_gt(invalid, 50);
    ck_assert_uint_gt(m.ntob, 500);
    ck_assert_uint_gt(m.ntr, 500);
    if (c->check_z)
        ck_assert_uint_gt(m.samples, m.warmup + 100);
    ref_free(&m);
    cscalp_close(e);
}
END_TEST

static Suite *random_suite(void)
{
    Suite *s = suite_create("features-random");
    TCase *tc = tcase_create("brute-force");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, random_stream_matches_brute_force_reference, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fc_run_suite(random_suite());
}
