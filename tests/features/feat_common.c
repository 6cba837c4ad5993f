#include "feat_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fc_spec_names[F_COUNT] = {
    "spread_bps",        "microprice_offset_bps", "imbalance_l1",
    "depth_imbalance_5", "depth_imbalance_10",    "ofi_1s",
    "ofi_10s",           "signed_volume_1s",      "signed_volume_10s",
    "signed_volume_60s", "trade_count_1s",        "trade_count_10s",
    "trade_count_60s",   "return_1s_bps",         "return_10s_bps",
    "return_60s_bps",    "rvol_10s",              "rvol_60s",
    "rvol_300s",         "vwap_deviation_bps",    "trade_imbalance_10s",
    "funding_rate_bps",  "time_to_funding_s",     "mark_basis_bps",
};

cscalp_engine *fc_open(const char *json)
{
    cscalp_engine *e = NULL;
    char err[256] = "";
    const int rc = cscalp_open_ex(&e, json, NULL, err, sizeof err);
    ck_assert_msg(rc == CSCALP_OK && e != NULL,
                  "cscalp_open(%s) failed: %d (%s) %s", json ? json : "NULL",
                  rc, cscalp_strerror(rc), err);
    /* Reference sequences the outlier screen would hold back (trades far
     * from the quote): the features are tested here, the screen in
     * tests/health. */
    ck_assert_int_eq(cscalp_configure(e, "{\"feed\":{\"outlier_min_bps\":0}}"), CSCALP_OK);
    return e;
}

void fc_raw_z(const cscalp_engine *e, double raw[F_COUNT], double z[F_COUNT])
{
    size_t count = 0;
    const int rc = cscalp_features(e, raw, z, F_COUNT, &count);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_features: %d (%s)", rc,
                  cscalp_strerror(rc));
    ck_assert_msg(count == F_COUNT, "feature count %zu, expected %d", count,
                  F_COUNT);
    for (int k = 0; k < F_COUNT; k++) {
        if (raw)
            ck_assert_msg(isfinite(raw[k]), "raw %s is not finite (%g)",
                          fc_spec_names[k], raw[k]);
        if (z)
            ck_assert_msg(isfinite(z[k]), "z %s is not finite (%g)",
                          fc_spec_names[k], z[k]);
    }
}

void fc_raw(const cscalp_engine *e, double raw[F_COUNT])
{
    fc_raw_z(e, raw, NULL);
}

double fc_get(const cscalp_engine *e, int k)
{
    double raw[F_COUNT];
    fc_raw(e, raw);
    return raw[k];
}

cscalp_quote fc_mk_quote(int64_t ts, double b, double bs, double a, double as)
{
    cscalp_quote q;
    memset(&q, 0, sizeof q);
    q.ts_ns = ts;
    q.bid_price = b;
    q.bid_size = bs;
    q.ask_price = a;
    q.ask_size = as;
    return q;
}

cscalp_trade fc_mk_trade(int64_t ts, double p, double q, int side)
{
    cscalp_trade t;
    memset(&t, 0, sizeof t);
    t.ts_ns = ts;
    t.price = p;
    t.size = q;
    t.side = side;
    return t;
}

cscalp_funding fc_mk_funding(int64_t ts, double rate, double mark, double index,
                             int64_t next_ns)
{
    cscalp_funding f;
    memset(&f, 0, sizeof f);
    f.ts_ns = ts;
    f.funding_rate = rate;
    f.mark_price = mark;
    f.index_price = index;
    f.next_funding_ts_ns = next_ns;
    return f;
}

void fc_quote(cscalp_engine *e, int64_t ts, double b, double bs, double a, double as)
{
    const cscalp_quote q = fc_mk_quote(ts, b, bs, a, as);
    const int rc = cscalp_push_quote(e, &q);
    ck_assert_msg(rc == CSCALP_OK, "push_quote(ts=%lld %g/%g %g/%g): %d (%s) %s",
                  (long long)ts, b, bs, a, as, rc, cscalp_strerror(rc),
                  cscalp_last_error(e));
}

void fc_trade(cscalp_engine *e, int64_t ts, double p, double q, int side)
{
    const cscalp_trade t = fc_mk_trade(ts, p, q, side);
    const int rc = cscalp_push_trade(e, &t);
    ck_assert_msg(rc == CSCALP_OK, "push_trade(ts=%lld %g x %g side %d): %d (%s) %s",
                  (long long)ts, p, q, side, rc, cscalp_strerror(rc),
                  cscalp_last_error(e));
}

void fc_funding(cscalp_engine *e, int64_t ts, double rate, double mark,
                double index, int64_t next_ns)
{
    const cscalp_funding f = fc_mk_funding(ts, rate, mark, index, next_ns);
    const int rc = cscalp_push_funding(e, &f);
    ck_assert_msg(rc == CSCALP_OK, "push_funding(ts=%lld): %d (%s) %s",
                  (long long)ts, rc, cscalp_strerror(rc), cscalp_last_error(e));
}

void fc_book(cscalp_engine *e, const cscalp_book *b)
{
    const int rc = cscalp_push_book(e, b);
    ck_assert_msg(rc == CSCALP_OK, "push_book(ts=%lld): %d (%s) %s",
                  (long long)b->ts_ns, rc, cscalp_strerror(rc),
                  cscalp_last_error(e));
}

void fc_tick(cscalp_engine *e, int64_t ts)
{
    const int rc = cscalp_tick(e, ts);
    ck_assert_msg(rc == CSCALP_OK, "tick(%lld): %d (%s) %s", (long long)ts, rc,
                  cscalp_strerror(rc), cscalp_last_error(e));
}

void fc_mk_book(cscalp_book *bk, int64_t ts, uint32_t nb, const double *bp,
                const double *bsz, uint32_t na, const double *ap,
                const double *asz)
{
    memset(bk, 0, sizeof *bk);
    bk->ts_ns = ts;
    bk->bid_count = nb;
    bk->ask_count = na;
    for (uint32_t i = 0; i < nb; i++) {
        bk->bids[i].price = bp[i];
        bk->bids[i].size = bsz[i];
    }
    for (uint32_t i = 0; i < na; i++) {
        bk->asks[i].price = ap[i];
        bk->asks[i].size = asz[i];
    }
}

const char *fc_shared_data_dir(void)
{
    const char *d = getenv("CSCALP_SHARED_DATA");
    if (d == NULL || d[0] == '\0')
        ck_abort_msg("CSCALP_SHARED_DATA is not set: it must name the shared "
                     "data folder (run through `meson test`, which sets it, or "
                     "export CSCALP_SHARED_DATA=/work/shared/data)");
    return d;
}

int fc_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
