#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t floor_to(int64_t t, int64_t step)
{
    int64_t q = t / step;
    if (t % step != 0 && t < 0)
        q--;
    return q * step;
}

void ref_init(reference *r, unsigned book_levels_kept, int64_t norm_interval_ns,
              double half_life_s, double z_clip, uint64_t warmup)
{
    memset(r, 0, sizeof *r);
    r->book_levels_kept = book_levels_kept;
    r->norm_interval_ns = norm_interval_ns;
    r->alpha = 1.0 - pow(2.0, -((double)norm_interval_ns / 1e9) / half_life_s);
    r->z_clip = z_clip;
    r->warmup = warmup;
}

void ref_free(reference *r)
{
    free(r->tops);
    free(r->trades);
}

/* The normalisation sample the spec takes before an event at t moves the
 * clock across the grid. */
static void before(reference *r, int64_t t)
{
    if (r->started && t > r->clock) {
        const int64_t g_last = floor_to(t, r->norm_interval_ns);
        if (g_last > r->clock) {
            double x[REF_FEATURES];
            ref_eval(r, g_last, x);
            for (int k = 0; k < REF_FEATURES; k++) {
                if (r->samples == 0) {
                    r->mean[k] = x[k];
                    r->var[k] = 0.0;
                } else {
                    const double d = x[k] - r->mean[k];
                    r->mean[k] += r->alpha * d;
                    r->var[k] = (1.0 - r->alpha) * (r->var[k] + r->alpha * d * d);
                }
            }
            r->samples++;
        }
    }
    if (!r->started || t > r->clock)
        r->clock = t;
    r->started = 1;
}

static void push_top(reference *r, int64_t t, double b, double bq, double a, double aq)
{
    if (r->n_tops == r->cap_tops) {
        r->cap_tops = r->cap_tops ? 2 * r->cap_tops : 1024;
        r->tops = realloc(r->tops, r->cap_tops * sizeof *r->tops);
    }
    r->tops[r->n_tops++] = (ref_top_update){t, b, bq, a, aq};
}

void ref_quote(reference *r, const cscalp_quote *q)
{
    before(r, q->ts_ns);
    push_top(r, q->ts_ns, q->bid_price, q->bid_size, q->ask_price, q->ask_size);
}

void ref_book(reference *r, const cscalp_book *b)
{
    before(r, b->ts_ns);
    r->has_book = 1;
    r->book_bids = b->bid_count < r->book_levels_kept ? b->bid_count : r->book_levels_kept;
    r->book_asks = b->ask_count < r->book_levels_kept ? b->ask_count : r->book_levels_kept;
    memcpy(r->bids, b->bids, sizeof r->bids);
    memcpy(r->asks, b->asks, sizeof r->asks);
    push_top(r, b->ts_ns, b->bids[0].price, b->bids[0].size, b->asks[0].price,
             b->asks[0].size);
}

void ref_trade_event(reference *r, const cscalp_trade *t)
{
    before(r, t->ts_ns);
    if (r->n_trades == r->cap_trades) {
        r->cap_trades = r->cap_trades ? 2 * r->cap_trades : 1024;
        r->trades = realloc(r->trades, r->cap_trades * sizeof *r->trades);
    }
    r->trades[r->n_trades++] = (ref_trade){t->ts_ns, t->price, t->size, t->side};
}

void ref_funding(reference *r, const cscalp_funding *f)
{
    before(r, f->ts_ns);
    r->has_funding = 1;
    r->funding = *f;
}

void ref_tick(reference *r, int64_t t) { before(r, t); }

static double w(int64_t now, int64_t then, double tau_s)
{
    return exp(-((double)(now - then) / 1e9) / tau_s);
}

static double mid(const ref_top_update *u) { return (u->bid + u->ask) / 2.0; }

static double imb(double b, double a) { return b + a > 0 ? (b - a) / (b + a) : 0.0; }

static double depth_imb(const reference *r, unsigned levels)
{
    double b = 0, a = 0;
    for (unsigned i = 0; i < levels && i < r->book_bids; i++)
        b += r->bids[i].size;
    for (unsigned i = 0; i < levels && i < r->book_asks; i++)
        a += r->asks[i].size;
    return imb(b, a);
}

/* Mid after the last top-of-book update at or before g, by a plain search. */
static int mid_asof(const reference *r, int64_t g, double *out)
{
    int found = 0;
    for (size_t i = 0; i < r->n_tops && r->tops[i].t <= g; i++) {
        *out = mid(&r->tops[i]);
        found = 1;
    }
    return found;
}

void ref_eval(const reference *r, int64_t t, double x[REF_FEATURES])
{
    memset(x, 0, REF_FEATURES * sizeof x[0]);
    if (r->n_tops > 0) {
        const ref_top_update *u = &r->tops[r->n_tops - 1];
        const double m = mid(u);
        x[0] = (u->ask - u->bid) / m * 1e4;
        if (u->bid_size + u->ask_size > 0) {
            const double micro =
                (u->bid * u->ask_size + u->ask * u->bid_size) / (u->bid_size + u->ask_size);
            x[1] = (micro - m) / m * 1e4;
        }
        x[2] = imb(u->bid_size, u->ask_size);
        x[3] = r->has_book ? depth_imb(r, 5) : x[2];
        x[4] = r->has_book ? depth_imb(r, 10) : x[2];
        for (size_t n = 1; n < r->n_tops; n++) {
            const ref_top_update *p = &r->tops[n - 1], *c = &r->tops[n];
            double e = 0;
            e += c->bid >= p->bid ? c->bid_size : 0;
            e -= c->bid <= p->bid ? p->bid_size : 0;
            e -= c->ask <= p->ask ? c->ask_size : 0;
            e += c->ask >= p->ask ? p->ask_size : 0;
            x[5] += e * w(t, c->t, 1);
            x[6] += e * w(t, c->t, 10);
            const double ret = log(mid(c) / mid(p)) * 1e4;
            x[16] += ret * ret * w(t, c->t, 10);
            x[17] += ret * ret * w(t, c->t, 60);
            x[18] += ret * ret * w(t, c->t, 300);
        }
        x[16] = sqrt(x[16] / 10);
        x[17] = sqrt(x[17] / 60);
        x[18] = sqrt(x[18] / 300);
        const int64_t windows[3] = {1000000000LL, 10000000000LL, 60000000000LL};
        for (int k = 0; k < 3; k++) {
            const int64_t g = floor_to(t - windows[k], 100000000LL);
            double then;
            if (mid_asof(r, g, &then))
                x[13 + k] = log(m / then) * 1e4;
        }
    }
    double vol10 = 0, pq60 = 0, q60 = 0;
    for (size_t i = 0; i < r->n_trades; i++) {
        const ref_trade *tr = &r->trades[i];
        const double s = tr->side == CSCALP_SIDE_BUY ? 1.0 : -1.0;
        x[7] += s * tr->size * w(t, tr->t, 1);
        x[8] += s * tr->size * w(t, tr->t, 10);
        x[9] += s * tr->size * w(t, tr->t, 60);
        x[10] += w(t, tr->t, 1);
        x[11] += w(t, tr->t, 10);
        x[12] += w(t, tr->t, 60);
        vol10 += tr->size * w(t, tr->t, 10);
        pq60 += tr->price * tr->size * w(t, tr->t, 60);
        q60 += tr->size * w(t, tr->t, 60);
    }
    if (vol10 > 0)
        x[20] = x[8] / vol10;
    if (r->n_tops > 0 && q60 > 0) {
        const double v = pq60 / q60;
        x[19] = (mid(&r->tops[r->n_tops - 1]) - v) / v * 1e4;
    }
    if (r->has_funding) {
        x[21] = r->funding.funding_rate * 1e4;
        if (r->funding.next_funding_ts_ns > t)
            x[22] = (double)(r->funding.next_funding_ts_ns - t) / 1e9;
        if (r->n_tops > 0) {
            const double m = mid(&r->tops[r->n_tops - 1]);
            x[23] = (r->funding.mark_price - m) / m * 1e4;
        }
    }
}

void ref_normalized(const reference *r, double z[REF_FEATURES])
{
    double x[REF_FEATURES];
    ref_eval(r, r->clock, x);
    for (int k = 0; k < REF_FEATURES; k++) {
        z[k] = 0.0;
        if (r->samples >= r->warmup && r->var[k] > 0) {
            const double v = (x[k] - r->mean[k]) / sqrt(r->var[k]);
            z[k] = v > r->z_clip ? r->z_clip : v < -r->z_clip ? -r->z_clip : v;
        }
    }
}
