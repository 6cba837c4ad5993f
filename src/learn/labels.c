#include "learn/labels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cryptoscalp.h"

/* ------------------------------------------------------------------ P² */

void cscalp_p2_init(cscalp_p2_quantile *q, double p)
{
    memset(q, 0, sizeof *q);
    q->p = p;
}

static double p2_parabolic(const cscalp_p2_quantile *q, int i, double d)
{
    const double *h = q->q, *n = q->pos;
    return h[i] + d / (n[i + 1] - n[i - 1]) *
                      ((n[i] - n[i - 1] + d) * (h[i + 1] - h[i]) / (n[i + 1] - n[i]) +
                       (n[i + 1] - n[i] - d) * (h[i] - h[i - 1]) / (n[i] - n[i - 1]));
}

void cscalp_p2_add(cscalp_p2_quantile *q, double x)
{
    if (q->n < 5) {
        /* Keep the first five sorted (insertion). */
        int i = (int)q->n;
        while (i > 0 && q->q[i - 1] > x) {
            q->q[i] = q->q[i - 1];
            i--;
        }
        q->q[i] = x;
        q->n++;
        if (q->n == 5) {
            const double p = q->p;
            for (int k = 0; k < 5; k++)
                q->pos[k] = k + 1;
            q->want[0] = 1;
            q->want[1] = 1 + 2 * p;
            q->want[2] = 1 + 4 * p;
            q->want[3] = 3 + 2 * p;
            q->want[4] = 5;
        }
        return;
    }
    const double p = q->p;
    const double step[5] = {0, p / 2, p, (1 + p) / 2, 1};
    int k;
    if (x < q->q[0]) {
        q->q[0] = x;
        k = 0;
    } else if (x >= q->q[4]) {
        q->q[4] = x;
        k = 3;
    } else {
        k = 0;
        while (k < 3 && x >= q->q[k + 1])
            k++;
    }
    for (int i = k + 1; i < 5; i++)
        q->pos[i] += 1;
    for (int i = 0; i < 5; i++)
        q->want[i] += step[i];
    for (int i = 1; i <= 3; i++) {
        const double d = q->want[i] - q->pos[i];
        if ((d >= 1 && q->pos[i + 1] - q->pos[i] > 1) ||
            (d <= -1 && q->pos[i - 1] - q->pos[i] < -1)) {
            const double s = d > 0 ? 1.0 : -1.0;
            double h = p2_parabolic(q, i, s);
            if (!(q->q[i - 1] < h && h < q->q[i + 1])) {
                const int j = i + (int)s;
                h = q->q[i] + s * (q->q[j] - q->q[i]) / (q->pos[j] - q->pos[i]);
            }
            q->q[i] = h;
            q->pos[i] += s;
        }
    }
    q->n++;
}

double cscalp_p2_value(const cscalp_p2_quantile *q)
{
    if (q->n == 0)
        return 0.0;
    if (q->n <= 5) {
        const size_t at = (size_t)floor(q->p * (double)(q->n - 1) + 0.5);
        return q->q[at];
    }
    return q->q[2];
}

/* --------------------------------------------------------------- clock */

void cscalp_label_clock_init(cscalp_label_clock *c, const cscalp_label_params *p)
{
    memset(c, 0, sizeof *c);
    c->params = *p;
    cscalp_p2_init(&c->abs_move, p->band_quantile);
}

static int event_horizon(const cscalp_label_clock *c) { return c->params.horizon_events > 0; }

/* The time sum brought up to t (>= mid_ns): the mid has been constant since. */
static double time_sum_at(const cscalp_label_clock *c, int64_t t_ns)
{
    return c->sum_time + (c->mid - c->ref_mid) * (double)(t_ns - c->mid_ns) * 1e-9;
}

void cscalp_label_on_mid(cscalp_label_clock *c, int64_t t_ns, double mid)
{
    if (!c->has_mid) {
        c->has_mid = 1;
        c->ref_mid = mid;
        c->mid_ns = t_ns;
    }
    c->sum_time = time_sum_at(c, t_ns);
    c->mid_ns = t_ns;
    c->mid = mid;
    c->events++;
    c->sum_events += mid - c->ref_mid;
}

int cscalp_label_anchor_at(const cscalp_label_clock *c, int64_t t_ns,
                           double half_spread_bps, cscalp_label_anchor *out)
{
    if (!c->has_mid)
        return 0;
    out->t_ns = t_ns;
    out->event = c->events;
    out->mid = c->mid;
    out->half_spread_bps = half_spread_bps;
    out->sum = event_horizon(c) ? c->sum_events : time_sum_at(c, t_ns);
    return 1;
}

int cscalp_label_mature(const cscalp_label_clock *c, const cscalp_label_anchor *a,
                        int64_t now_ns)
{
    if (event_horizon(c))
        return c->events >= a->event + c->params.horizon_events;
    return now_ns - a->t_ns > c->params.horizon_ns;
}

double cscalp_label_move_bps(const cscalp_label_clock *c, const cscalp_label_anchor *a)
{
    double future;
    if (c->params.form == CSCALP_LABEL_POINT) {
        /* At maturity the mid in force is the one at t + H: for the time form
         * no event came in (t + H, now), for the event form this is the k-th
         * event's mid. */
        future = c->mid;
    } else if (event_horizon(c)) {
        const double k = (double)c->params.horizon_events;
        future = c->ref_mid + (c->sum_events - a->sum) / k;
    } else {
        const int64_t end = a->t_ns + c->params.horizon_ns;
        const double seconds = (double)c->params.horizon_ns * 1e-9;
        future = c->ref_mid + (time_sum_at(c, end) - a->sum) / seconds;
    }
    return (future - a->mid) / a->mid * 1e4;
}

double cscalp_label_band_now(const cscalp_label_clock *c, double half_spread_bps)
{
    switch (c->params.band) {
    case CSCALP_BAND_FIXED:
        return c->params.band_bps;
    case CSCALP_BAND_QUANTILE:
        return c->moves_seen < c->params.quantile_warmup || c->moves_seen == 0
                   ? (double)NAN
                   : cscalp_p2_value(&c->abs_move);
    default:
        return 2.0 * c->params.taker_fee_bps + half_spread_bps;
    }
}

int cscalp_label_classify(cscalp_label_clock *c, const cscalp_label_anchor *a,
                          double move_bps, double *band_bps)
{
    const double band = cscalp_label_band_now(c, a->half_spread_bps);
    *band_bps = band;
    if (c->params.band == CSCALP_BAND_QUANTILE) {
        cscalp_p2_add(&c->abs_move, fabs(move_bps));
        c->moves_seen++;
    }
    if (isnan(band))
        return -1;
    /* Flat includes the band's edges: |move| <= band (BASELINES.md). */
    if (move_bps < -band)
        return 0;
    if (move_bps > band)
        return 2;
    return 1;
}

/* ---------------------------------------------------------- persistence */

void cscalp_label_clock_save(const cscalp_label_clock *c, cscalp_wbuf *w)
{
    cscalp_put_u32(w, (uint32_t)c->has_mid);
    cscalp_put_f64(w, c->mid);
    cscalp_put_i64(w, c->mid_ns);
    cscalp_put_u64(w, c->events);
    cscalp_put_f64(w, c->ref_mid);
    cscalp_put_f64(w, c->sum_events);
    cscalp_put_f64(w, c->sum_time);
    cscalp_put_f64(w, c->abs_move.p);
    cscalp_put_u64(w, c->abs_move.n);
    cscalp_put_f64s(w, c->abs_move.q, 5);
    cscalp_put_f64s(w, c->abs_move.pos, 5);
    cscalp_put_f64s(w, c->abs_move.want, 5);
    cscalp_put_u64(w, c->moves_seen);
}

int cscalp_label_clock_load(cscalp_label_clock *c, cscalp_rbuf *r, char *why, size_t cap)
{
    cscalp_label_clock t = *c;
    t.has_mid = (int)cscalp_get_u32(r);
    t.mid = cscalp_get_f64(r);
    t.mid_ns = cscalp_get_i64(r);
    t.events = cscalp_get_u64(r);
    t.ref_mid = cscalp_get_f64(r);
    t.sum_events = cscalp_get_f64(r);
    t.sum_time = cscalp_get_f64(r);
    t.abs_move.p = cscalp_get_f64(r);
    t.abs_move.n = cscalp_get_u64(r);
    cscalp_get_f64s(r, t.abs_move.q, 5);
    cscalp_get_f64s(r, t.abs_move.pos, 5);
    cscalp_get_f64s(r, t.abs_move.want, 5);
    t.moves_seen = cscalp_get_u64(r);
    if (r->failed) {
        snprintf(why, cap, "labels: truncated");
        return CSCALP_ECORRUPT;
    }
    int ok = (t.has_mid == 0 || t.has_mid == 1) && isfinite(t.mid) && isfinite(t.ref_mid) &&
             isfinite(t.sum_events) && isfinite(t.sum_time) &&
             t.abs_move.p == c->params.band_quantile && (!t.has_mid || t.mid > 0.0);
    for (int i = 0; i < 5; i++)
        ok = ok && isfinite(t.abs_move.q[i]) && isfinite(t.abs_move.pos[i]) &&
             isfinite(t.abs_move.want[i]);
    if (!ok) {
        snprintf(why, cap, "labels: a field is out of range or does not match the "
                           "configured learn.band_quantile_fraction");
        return CSCALP_ECORRUPT;
    }
    *c = t;
    return CSCALP_OK;
}

void cscalp_label_anchor_save(const cscalp_label_anchor *a, cscalp_wbuf *w)
{
    cscalp_put_i64(w, a->t_ns);
    cscalp_put_u64(w, a->event);
    cscalp_put_f64(w, a->mid);
    cscalp_put_f64(w, a->half_spread_bps);
    cscalp_put_f64(w, a->sum);
}

void cscalp_label_anchor_load(cscalp_label_anchor *a, cscalp_rbuf *r)
{
    a->t_ns = cscalp_get_i64(r);
    a->event = cscalp_get_u64(r);
    a->mid = cscalp_get_f64(r);
    a->half_spread_bps = cscalp_get_f64(r);
    a->sum = cscalp_get_f64(r);
}
