#include "features/features.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/fastmath.h"

enum {
    F_SPREAD_BPS, F_MICROPRICE_OFFSET_BPS, F_IMBALANCE_L1, F_DEPTH_IMBALANCE_5,
    F_DEPTH_IMBALANCE_10, F_OFI_1S, F_OFI_10S, F_SIGNED_VOLUME_1S,
    F_SIGNED_VOLUME_10S, F_SIGNED_VOLUME_60S, F_TRADE_COUNT_1S,
    F_TRADE_COUNT_10S, F_TRADE_COUNT_60S, F_RETURN_1S_BPS, F_RETURN_10S_BPS,
    F_RETURN_60S_BPS, F_RVOL_10S, F_RVOL_60S, F_RVOL_300S,
    F_VWAP_DEVIATION_BPS, F_TRADE_IMBALANCE_10S, F_FUNDING_RATE_BPS,
    F_TIME_TO_FUNDING_S, F_MARK_BASIS_BPS, F_COUNT_
};
_Static_assert(F_COUNT_ == CSCALP_FEATURE_COUNT, "feature table size");

static const char *const feature_names[CSCALP_FEATURE_COUNT] = {
    "spread_bps", "microprice_offset_bps", "imbalance_l1", "depth_imbalance_5",
    "depth_imbalance_10", "ofi_1s", "ofi_10s", "signed_volume_1s",
    "signed_volume_10s", "signed_volume_60s", "trade_count_1s",
    "trade_count_10s", "trade_count_60s", "return_1s_bps", "return_10s_bps",
    "return_60s_bps", "rvol_10s", "rvol_60s", "rvol_300s",
    "vwap_deviation_bps", "trade_imbalance_10s", "funding_rate_bps",
    "time_to_funding_s", "mark_basis_bps",
};

const char *cscalp_features_name(size_t i)
{
    return i < CSCALP_FEATURE_COUNT ? feature_names[i] : NULL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b > 0);
}

static double mid_of(const cscalp_top *t) { return 0.5 * (t->bid + t->ask); }

void cscalp_features_set_params(cscalp_feature_state *f, int64_t norm_interval_ns,
                                double norm_half_life_s, double z_clip,
                                uint64_t warmup_samples)
{
    f->norm_interval_ns = norm_interval_ns;
    f->next_norm_valid = 0;
    f->norm.alpha = cscalp_normalizer_alpha((double)norm_interval_ns * 1e-9,
                                            norm_half_life_s);
    f->norm.z_clip = z_clip;
    f->norm.warmup = warmup_samples;
}

void cscalp_features_init(cscalp_feature_state *f, int64_t norm_interval_ns,
                          double norm_half_life_s, double z_clip,
                          uint64_t warmup_samples)
{
    memset(f, 0, sizeof *f);
    cscalp_normalizer_init(&f->norm, CSCALP_FEATURE_COUNT, f->norm_mean,
                           f->norm_var, f->norm_sd, 0.0, z_clip, warmup_samples);
    cscalp_features_set_params(f, norm_interval_ns, norm_half_life_s, z_clip,
                               warmup_samples);
}

/* Decay factors of the top-of-book group, each from its own short series
 * (independent, so they overlap in the pipeline). */
typedef struct top_decay {
    double d1, d10, d60, d300;
} top_decay;

static top_decay top_decay_over(int64_t dt_ns)
{
    top_decay d = {1.0, 1.0, 1.0, 1.0};
    if (dt_ns > 0) {
        d.d1 = cscalp_decay_factor(dt_ns, 1.0);
        d.d10 = cscalp_decay_factor(dt_ns, 10.0);
        d.d60 = cscalp_decay_factor(dt_ns, 60.0);
        d.d300 = cscalp_decay_factor(dt_ns, 300.0);
    }
    return d;
}

/* Order-flow imbalance of one top-of-book change (Cont, Kukanov & Stoikov). */
static double ofi_contribution(const cscalp_top *p, const cscalp_top *c)
{
    double e = 0.0;
    if (c->bid >= p->bid)
        e += c->bid_size;
    if (c->bid <= p->bid)
        e -= p->bid_size;
    if (c->ask <= p->ask)
        e -= c->ask_size;
    if (c->ask >= p->ask)
        e += p->ask_size;
    return e;
}

/* Record the previous mid for every grid point before at_ns not yet written.
 * After each update the ring is written up to the last grid point before
 * that update, so the points written are exactly those in [prev_ns, at_ns). */
static void fill_mid_ring(cscalp_feature_state *f, int64_t at_ns, double prev_mid)
{
    if (at_ns - f->ring_next_ns > CSCALP_RETURN_GRID_NS * CSCALP_RETURN_RING) {
        /* A long gap: only the newest ring's worth of points can be read. */
        const int64_t last = ceil_div(at_ns, CSCALP_RETURN_GRID_NS) - 1;
        f->ring_last_k = last - CSCALP_RETURN_RING;
        f->ring_next_ns = (f->ring_last_k + 1) * CSCALP_RETURN_GRID_NS;
    }
    while (f->ring_next_ns < at_ns) {
        f->ring_last_k++;
        f->mid_ring[f->ring_last_k & (CSCALP_RETURN_RING - 1)] = prev_mid;
        f->ring_next_ns += CSCALP_RETURN_GRID_NS;
    }
}

void cscalp_features_on_top(cscalp_feature_state *f, const cscalp_top *prev,
                            const cscalp_top *cur, int64_t at_ns)
{
    if (prev == NULL) {
        f->has_first_top = 1;
        f->first_top_ns = at_ns;
        f->top_last_ns = at_ns;
        f->ring_last_k = ceil_div(at_ns, CSCALP_RETURN_GRID_NS) - 1;
        f->ring_next_ns = (f->ring_last_k + 1) * CSCALP_RETURN_GRID_NS;
        return;
    }
    const top_decay d = top_decay_over(at_ns - f->top_last_ns);
    const double e = ofi_contribution(prev, cur);
    f->ofi[0] = f->ofi[0] * d.d1 + e;
    f->ofi[1] = f->ofi[1] * d.d10 + e;

    const double prev_mid = mid_of(prev), cur_mid = mid_of(cur);
    /* Most updates change sizes only; skip the log when the mid is unchanged. */
    const double r = cur_mid == prev_mid ? 0.0 : cscalp_log_ratio(cur_mid, prev_mid) * 1e4;
    f->sq_return[0] = f->sq_return[0] * d.d10 + r * r;
    f->sq_return[1] = f->sq_return[1] * d.d60 + r * r;
    f->sq_return[2] = f->sq_return[2] * d.d300 + r * r;
    f->top_last_ns = at_ns;

    fill_mid_ring(f, at_ns, prev_mid);
}

/* Log return of the mid looking back `window_steps` grid steps from the grid
 * index k_now = floor(t / grid): floor((t - w) / grid) = k_now - w / grid
 * because every window is a whole number of grid steps. */
static double grid_return_bps(const cscalp_feature_state *f, const cscalp_feed *feed,
                              int64_t k_now, int64_t window_steps)
{
    const int64_t k = k_now - window_steps;
    const int64_t g = k * CSCALP_RETURN_GRID_NS;
    if (!f->has_first_top || g < f->first_top_ns || g >= feed->top_ns)
        return 0.0; /* no mid yet at g, or the mid has not changed since g */
    if (k > f->ring_last_k || f->ring_last_k - k >= CSCALP_RETURN_RING)
        return 0.0; /* unreachable while the ring spans the longest window */
    const double then = f->mid_ring[k & (CSCALP_RETURN_RING - 1)];
    return cscalp_log_ratio(mid_of(&feed->top), then) * 1e4;
}

static double imbalance(double bid_qty, double ask_qty)
{
    const double total = bid_qty + ask_qty;
    return total > 0.0 ? (bid_qty - ask_qty) / total : 0.0;
}

/* depth_imbalance_5 and _10 in one pass over the kept levels. */
static void depth_imbalances(const cscalp_feed *feed, double *d5, double *d10)
{
    double bid5 = 0.0, ask5 = 0.0, bid10 = 0.0, ask10 = 0.0;
    for (uint32_t i = 0; i < 10 && i < feed->bid_count; i++) {
        bid10 += feed->bids[i].size;
        if (i == 4)
            bid5 = bid10;
    }
    for (uint32_t i = 0; i < 10 && i < feed->ask_count; i++) {
        ask10 += feed->asks[i].size;
        if (i == 4)
            ask5 = ask10;
    }
    if (feed->bid_count < 5)
        bid5 = bid10;
    if (feed->ask_count < 5)
        ask5 = ask10;
    *d5 = imbalance(bid5, ask5);
    *d10 = imbalance(bid10, ask10);
}

static void eval_book(const cscalp_feature_state *f, const cscalp_feed *feed,
                      int64_t t_ns, double *x)
{
    const cscalp_top *top = &feed->top;
    const double m = mid_of(top);
    const double bps_of_mid = 1e4 / m; /* one division for every bps value */
    const double depth = top->bid_size + top->ask_size;
    x[F_SPREAD_BPS] = (top->ask - top->bid) * bps_of_mid;
    if (depth > 0.0) {
        const double micro = (top->bid * top->ask_size + top->ask * top->bid_size) / depth;
        x[F_MICROPRICE_OFFSET_BPS] = (micro - m) * bps_of_mid;
    }
    x[F_IMBALANCE_L1] = imbalance(top->bid_size, top->ask_size);
    if (feed->has_book) {
        depth_imbalances(feed, &x[F_DEPTH_IMBALANCE_5], &x[F_DEPTH_IMBALANCE_10]);
    } else {
        x[F_DEPTH_IMBALANCE_5] = x[F_IMBALANCE_L1];
        x[F_DEPTH_IMBALANCE_10] = x[F_IMBALANCE_L1];
    }

    const top_decay d = top_decay_over(t_ns - f->top_last_ns);
    x[F_OFI_1S] = f->ofi[0] * d.d1;
    x[F_OFI_10S] = f->ofi[1] * d.d10;
    x[F_RVOL_10S] = sqrt(f->sq_return[0] * d.d10 * (1.0 / 10.0));
    x[F_RVOL_60S] = sqrt(f->sq_return[1] * d.d60 * (1.0 / 60.0));
    x[F_RVOL_300S] = sqrt(f->sq_return[2] * d.d300 * (1.0 / 300.0));

    const int64_t k_now = floor_div(t_ns, CSCALP_RETURN_GRID_NS);
    x[F_RETURN_1S_BPS] = grid_return_bps(f, feed, k_now, 1000000000LL / CSCALP_RETURN_GRID_NS);
    x[F_RETURN_10S_BPS] = grid_return_bps(f, feed, k_now, 10000000000LL / CSCALP_RETURN_GRID_NS);
    x[F_RETURN_60S_BPS] = grid_return_bps(f, feed, k_now, 60000000000LL / CSCALP_RETURN_GRID_NS);
}

static void eval_tape(const cscalp_feed *feed, int64_t t_ns, double *x)
{
    cscalp_tape tape;
    cscalp_tape_at(&feed->tape, t_ns, &tape);
    x[F_SIGNED_VOLUME_1S] = tape.signed_volume[0];
    x[F_SIGNED_VOLUME_10S] = tape.signed_volume[1];
    x[F_SIGNED_VOLUME_60S] = tape.signed_volume[2];
    x[F_TRADE_COUNT_1S] = tape.count[0];
    x[F_TRADE_COUNT_10S] = tape.count[1];
    x[F_TRADE_COUNT_60S] = tape.count[2];
    if (tape.volume_10s > 0.0)
        x[F_TRADE_IMBALANCE_10S] = tape.signed_volume[1] / tape.volume_10s;
    if (feed->has_top && tape.volume_60s > 0.0) {
        const double vwap = tape.notional_60s / tape.volume_60s;
        x[F_VWAP_DEVIATION_BPS] = (mid_of(&feed->top) - vwap) / vwap * 1e4;
    }
}

static void eval_funding(const cscalp_feed *feed, int64_t t_ns, double *x)
{
    const cscalp_funding *fu = &feed->funding;
    x[F_FUNDING_RATE_BPS] = fu->funding_rate * 1e4;
    if (fu->next_funding_ts_ns > t_ns)
        x[F_TIME_TO_FUNDING_S] = (double)(fu->next_funding_ts_ns - t_ns) * 1e-9;
    if (feed->has_top) {
        const double m = mid_of(&feed->top);
        x[F_MARK_BASIS_BPS] = (fu->mark_price - m) / m * 1e4;
    }
}

void cscalp_features_eval(const cscalp_feature_state *f, const cscalp_feed *feed,
                          int64_t t_ns, double raw[CSCALP_FEATURE_COUNT])
{
    memset(raw, 0, CSCALP_FEATURE_COUNT * sizeof raw[0]);
    if (feed->has_top)
        eval_book(f, feed, t_ns, raw);
    if (feed->has_trade)
        eval_tape(feed, t_ns, raw);
    if (feed->has_funding)
        eval_funding(feed, t_ns, raw);
}

void cscalp_features_before_event(cscalp_feature_state *f, const cscalp_feed *feed,
                                  int64_t at_ns)
{
    const int64_t interval = f->norm_interval_ns;
    if (!feed->started) {
        f->next_norm_ns = (floor_div(at_ns, interval) + 1) * interval;
        f->next_norm_valid = 1;
        return;
    }
    if (!f->next_norm_valid) {
        f->next_norm_ns = (floor_div(feed->clock_ns, interval) + 1) * interval;
        f->next_norm_valid = 1;
    }
    if (at_ns < f->next_norm_ns)
        return; /* the common case: no grid point crossed, no division */
    const int64_t g_last = floor_div(at_ns, interval) * interval;
    double raw[CSCALP_FEATURE_COUNT];
    cscalp_features_eval(f, feed, g_last, raw);
    cscalp_normalizer_update(&f->norm, raw);
    f->next_norm_ns = g_last + interval;

    /* Keep the grid point's normalised vector for lagged model inputs. */
    double z[CSCALP_FEATURE_COUNT];
    cscalp_normalizer_apply(&f->norm, raw, z);
    f->lag_head = (f->lag_head + 1) % (CSCALP_MAX_LAGS - 1);
    for (size_t k = 0; k < CSCALP_FEATURE_COUNT; k++)
        f->lag_ring[f->lag_head][k] = (float)z[k];
    if (f->lag_filled < CSCALP_MAX_LAGS - 1)
        f->lag_filled++;
}

int cscalp_features_warm(const cscalp_feature_state *f)
{
    return f->norm.samples >= f->norm.warmup && f->norm.samples > 0;
}

int64_t cscalp_features_history_ns(const cscalp_feature_state *f, int64_t t_ns)
{
    return f->has_first_top && t_ns > f->first_top_ns ? t_ns - f->first_top_ns : 0;
}

void cscalp_features_model_input(const cscalp_feature_state *f, const cscalp_feed *feed,
                                 int64_t t_ns, uint32_t lag_count, float *out)
{
    double raw[CSCALP_FEATURE_COUNT], z[CSCALP_FEATURE_COUNT];
    cscalp_features_eval(f, feed, t_ns, raw);
    cscalp_normalizer_apply(&f->norm, raw, z);
    for (size_t k = 0; k < CSCALP_FEATURE_COUNT; k++)
        out[k] = (float)z[k];
    for (uint32_t lag = 1; lag < lag_count; lag++) {
        float *dst = out + (size_t)lag * CSCALP_FEATURE_COUNT;
        if (lag > f->lag_filled) {
            memset(dst, 0, CSCALP_FEATURE_COUNT * sizeof *dst);
            continue;
        }
        const uint32_t slot =
            (f->lag_head + (CSCALP_MAX_LAGS - 1) - (lag - 1)) % (CSCALP_MAX_LAGS - 1);
        memcpy(dst, f->lag_ring[slot], CSCALP_FEATURE_COUNT * sizeof *dst);
    }
}

void cscalp_features_normalize(const cscalp_feature_state *f,
                               const double raw[CSCALP_FEATURE_COUNT],
                               double z[CSCALP_FEATURE_COUNT])
{
    cscalp_normalizer_apply(&f->norm, raw, z);
}

/* ------------------------------------------------------------------------ */
/* Checkpoints                                                              */

void cscalp_features_save(const cscalp_feature_state *f, cscalp_wbuf *w)
{
    cscalp_put_i64(w, f->top_last_ns);
    cscalp_put_f64s(w, f->ofi, 2);
    cscalp_put_f64s(w, f->sq_return, 3);
    cscalp_put_u32(w, (uint32_t)f->has_first_top);
    cscalp_put_i64(w, f->first_top_ns);
    cscalp_put_i64(w, f->ring_last_k);
    cscalp_put_i64(w, f->ring_next_ns);
    cscalp_put_f64s(w, f->mid_ring, CSCALP_RETURN_RING);
    cscalp_put_u32(w, (uint32_t)f->next_norm_valid);
    cscalp_put_i64(w, f->next_norm_ns);
    cscalp_put_u64(w, f->norm.samples);
    cscalp_put_f64s(w, f->norm_mean, CSCALP_FEATURE_COUNT);
    cscalp_put_f64s(w, f->norm_var, CSCALP_FEATURE_COUNT);
    cscalp_put_f32s(w, &f->lag_ring[0][0], (CSCALP_MAX_LAGS - 1) * CSCALP_FEATURE_COUNT);
    cscalp_put_u32(w, f->lag_head);
    cscalp_put_u32(w, f->lag_filled);
}

int cscalp_features_load(cscalp_feature_state *out, cscalp_rbuf *r, char *why, size_t cap)
{
    /* A dry pass validates everything first; the state (whose normaliser
     * points into it) is written only once the whole section is good. */
    static const size_t lag_values = (CSCALP_MAX_LAGS - 1) * CSCALP_FEATURE_COUNT;
    cscalp_rbuf probe = *r;
    cscalp_get_i64(&probe);
    double head[5];
    cscalp_get_f64s(&probe, head, 5);
    const uint32_t has_first_top = cscalp_get_u32(&probe);
    cscalp_get_i64(&probe);
    cscalp_get_i64(&probe);
    cscalp_get_i64(&probe);
    int ok = has_first_top <= 1;
    for (int i = 0; i < 5; i++)
        ok = ok && isfinite(head[i]);
    for (size_t i = 0; i < CSCALP_RETURN_RING; i++)
        ok = ok && isfinite(cscalp_get_f64(&probe));
    ok = ok && cscalp_get_u32(&probe) <= 1;
    cscalp_get_i64(&probe);
    cscalp_get_u64(&probe);
    for (size_t i = 0; i < 2 * CSCALP_FEATURE_COUNT; i++) {
        const double v = cscalp_get_f64(&probe);
        ok = ok && isfinite(v) && (i < CSCALP_FEATURE_COUNT || v >= 0.0);
    }
    for (size_t i = 0; i < lag_values; i++)
        ok = ok && isfinite(cscalp_get_f32(&probe));
    const uint32_t lag_head = cscalp_get_u32(&probe), lag_filled = cscalp_get_u32(&probe);
    if (probe.failed) {
        snprintf(why, cap, "features: truncated");
        return CSCALP_ECORRUPT;
    }
    if (!ok || lag_head >= CSCALP_MAX_LAGS - 1 || lag_filled > CSCALP_MAX_LAGS - 1) {
        snprintf(why, cap, "features: a value is not finite or a ring index is out of range");
        return CSCALP_ECORRUPT;
    }
    cscalp_feature_state *f = out;
    f->top_last_ns = cscalp_get_i64(r);
    cscalp_get_f64s(r, f->ofi, 2);
    cscalp_get_f64s(r, f->sq_return, 3);
    f->has_first_top = (int)cscalp_get_u32(r);
    f->first_top_ns = cscalp_get_i64(r);
    f->ring_last_k = cscalp_get_i64(r);
    f->ring_next_ns = cscalp_get_i64(r);
    cscalp_get_f64s(r, f->mid_ring, CSCALP_RETURN_RING);
    f->next_norm_valid = (int)cscalp_get_u32(r);
    f->next_norm_ns = cscalp_get_i64(r);
    f->norm.samples = cscalp_get_u64(r);
    cscalp_get_f64s(r, f->norm_mean, CSCALP_FEATURE_COUNT);
    cscalp_get_f64s(r, f->norm_var, CSCALP_FEATURE_COUNT);
    cscalp_normalizer_refresh(&f->norm);
    cscalp_get_f32s(r, &f->lag_ring[0][0], lag_values);
    f->lag_head = cscalp_get_u32(r);
    f->lag_filled = cscalp_get_u32(r);
    return CSCALP_OK;
}
