#include "feat_ref.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Scale used for the bps features that are price ratios: a relative tolerance
 * of 1e-9 on it is a 1e-6 bps tolerance, i.e. 1e-10 of the price. */
#define PRICE_BPS_SCALE 1e3

int64_t ref_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && (a < 0))
        q--;
    return q;
}

void ref_init(ref_model *m, int64_t max_regress_ns, unsigned book_levels,
              int64_t norm_interval_ns, double half_life_s, double z_clip,
              uint64_t warmup)
{
    memset(m, 0, sizeof *m);
    m->max_regress_ns = max_regress_ns;
    m->book_levels = book_levels;
    m->norm_interval_ns = norm_interval_ns;
    /* alpha = 1 - 2^(-I/h) */
    m->alpha = 1.0 - pow(2.0, -((double)norm_interval_ns / 1e9) / half_life_s);
    m->z_clip = z_clip;
    m->warmup = warmup;
}

void ref_free(ref_model *m)
{
    free(m->tob);
    free(m->tr);
    m->tob = NULL;
    m->tr = NULL;
}

int ref_time_ok(const ref_model *m, int64_t ts)
{
    if (!m->has_clock)
        return 1;
    return ts >= m->clock - m->max_regress_ns;
}

static void norm_sample(ref_model *m, const double x[F_COUNT])
{
    for (int k = 0; k < F_COUNT; k++) {
        if (m->samples == 0) {
            m->mu[k] = x[k];
            m->var[k] = 0.0;
        } else {
            const double d = x[k] - m->mu[k];
            m->mu[k] += m->alpha * d;
            m->var[k] = (1.0 - m->alpha) * (m->var[k] + m->alpha * d * d);
        }
    }
    m->samples++;
}

/* Move the clock to ts (if later), sampling the normaliser from the state
 * before the event at g_last when a grid point is crossed. Returns the
 * effective time of an event stamped ts. */
static int64_t advance(ref_model *m, int64_t ts)
{
    if (!m->has_clock) {
        m->has_clock = 1;
        m->clock = ts;
        return ts;
    }
    if (ts <= m->clock)
        return m->clock;
    if (m->norm_interval_ns > 0) {
        const int64_t I = m->norm_interval_ns;
        const int64_t k0 = ref_floor_div(m->clock, I);
        const int64_t k1 = ref_floor_div(ts, I);
        if (k1 > k0) {
            double x[F_COUNT];
            ref_eval(m, k1 * I, x, NULL);
            norm_sample(m, x);
        }
    }
    m->clock = ts;
    return ts;
}

static void push_tob(ref_model *m, int64_t t, double b, double bs, double a, double as)
{
    if (m->ntob == m->cap_tob) {
        m->cap_tob = m->cap_tob ? 2 * m->cap_tob : 256;
        m->tob = realloc(m->tob, m->cap_tob * sizeof *m->tob);
        ck_assert_ptr_nonnull(m->tob);
    }
    ref_tob *q = &m->tob[m->ntob++];
    q->t = t;
    q->b = b;
    q->bs = bs;
    q->a = a;
    q->as = as;
}

void ref_quote(ref_model *m, int64_t ts, double b, double bs, double a, double as)
{
    const int64_t t = advance(m, ts);
    push_tob(m, t, b, bs, a, as);
}

void ref_book(ref_model *m, const cscalp_book *bk)
{
    const int64_t t = advance(m, bk->ts_ns);
    push_tob(m, t, bk->bids[0].price, bk->bids[0].size, bk->asks[0].price,
             bk->asks[0].size);
    m->has_book = 1;
    m->nbid = bk->bid_count < m->book_levels ? bk->bid_count : m->book_levels;
    m->nask = bk->ask_count < m->book_levels ? bk->ask_count : m->book_levels;
    for (unsigned i = 0; i < m->nbid; i++)
        m->bid_sz[i] = bk->bids[i].size;
    for (unsigned i = 0; i < m->nask; i++)
        m->ask_sz[i] = bk->asks[i].size;
}

void ref_trade_push(ref_model *m, int64_t ts, double p, double q, int side)
{
    const int64_t t = advance(m, ts);
    if (m->ntr == m->cap_tr) {
        m->cap_tr = m->cap_tr ? 2 * m->cap_tr : 256;
        m->tr = realloc(m->tr, m->cap_tr * sizeof *m->tr);
        ck_assert_ptr_nonnull(m->tr);
    }
    ref_trade *r = &m->tr[m->ntr++];
    r->t = t;
    r->p = p;
    r->q = q;
    r->s = side;
}

void ref_funding(ref_model *m, int64_t ts, double rate, double mark, int64_t next_ns)
{
    (void)advance(m, ts);
    m->has_funding = 1;
    m->rate = rate;
    m->mark = mark;
    m->next_ns = next_ns;
}

void ref_tick(ref_model *m, int64_t ts)
{
    (void)advance(m, ts);
}

static double mid_of(const ref_tob *q)
{
    return (q->b + q->a) / 2.0;
}

void ref_eval(const ref_model *m, int64_t t, double out[F_COUNT],
              double scale_out[F_COUNT])
{
    double sc[F_COUNT];
    for (int k = 0; k < F_COUNT; k++) {
        out[k] = 0.0;
        sc[k] = 0.0;
    }
    const int have_tob = m->ntob > 0;
    double mid = 0.0;

    /* top of book */
    if (have_tob) {
        const ref_tob *q = &m->tob[m->ntob - 1];
        mid = mid_of(q);
        out[F_SPREAD] = (q->a - q->b) / mid * 1e4;
        const double den = q->bs + q->as;
        if (den != 0.0) {
            const double mu = (q->b * q->as + q->a * q->bs) / den;
            out[F_MICRO] = (mu - mid) / mid * 1e4;
            out[F_IMB] = (q->bs - q->as) / den;
        }
    }
    sc[F_SPREAD] = fabs(out[F_SPREAD]);
    sc[F_MICRO] = PRICE_BPS_SCALE;
    sc[F_IMB] = 1.0;

    /* depth */
    if (m->has_book) {
        const unsigned lv[2] = {5, 10};
        for (int j = 0; j < 2; j++) {
            const unsigned nb = lv[j] < m->nbid ? lv[j] : m->nbid;
            const unsigned na = lv[j] < m->nask ? lv[j] : m->nask;
            double sb = 0.0, sa = 0.0;
            for (unsigned i = 0; i < nb; i++)
                sb += m->bid_sz[i];
            for (unsigned i = 0; i < na; i++)
                sa += m->ask_sz[i];
            out[F_DEPTH5 + j] = (sb - sa) / (sb + sa);
        }
    } else {
        out[F_DEPTH5] = out[F_IMB];
        out[F_DEPTH10] = out[F_IMB];
    }
    sc[F_DEPTH5] = sc[F_DEPTH10] = 1.0;

    /* OFI and realised variance: over top-of-book updates after the first */
    double rv10 = 0.0, rv60 = 0.0, rv300 = 0.0;
    for (size_t n = 1; n < m->ntob; n++) {
        const ref_tob *p = &m->tob[n - 1];
        const ref_tob *c = &m->tob[n];
        double e = 0.0, abs_terms = 0.0;
        if (c->b >= p->b) {
            e += c->bs;
            abs_terms += c->bs;
        }
        if (c->b <= p->b) {
            e -= p->bs;
            abs_terms += p->bs;
        }
        if (c->a <= p->a) {
            e -= c->as;
            abs_terms += c->as;
        }
        if (c->a >= p->a) {
            e += p->as;
            abs_terms += p->as;
        }
        const double dt = (double)(t - c->t) / 1e9;
        const double w1 = exp(-dt / 1.0), w10 = exp(-dt / 10.0);
        out[F_OFI1] += e * w1;
        out[F_OFI10] += e * w10;
        sc[F_OFI1] += abs_terms * w1;
        sc[F_OFI10] += abs_terms * w10;

        const double r = log(mid_of(c) / mid_of(p)) * 1e4;
        rv10 += r * r * w10;
        rv60 += r * r * exp(-dt / 60.0);
        rv300 += r * r * exp(-dt / 300.0);
    }
    out[F_RVOL10] = sqrt(rv10 / 10.0);
    out[F_RVOL60] = sqrt(rv60 / 60.0);
    out[F_RVOL300] = sqrt(rv300 / 300.0);
    for (int k = F_RVOL10; k <= F_RVOL300; k++)
        sc[k] = fmax(out[k], 1e-3);

    /* trades */
    double pq60 = 0.0, q60 = 0.0, sq10 = 0.0, q10 = 0.0, q1 = 0.0;
    for (size_t i = 0; i < m->ntr; i++) {
        const ref_trade *r = &m->tr[i];
        const double dt = (double)(t - r->t) / 1e9;
        const double w1 = exp(-dt / 1.0), w10 = exp(-dt / 10.0),
                     w60 = exp(-dt / 60.0);
        const double sq = (double)r->s * r->q;
        out[F_SV1] += sq * w1;
        out[F_SV10] += sq * w10;
        out[F_SV60] += sq * w60;
        out[F_TC1] += w1;
        out[F_TC10] += w10;
        out[F_TC60] += w60;
        q1 += r->q * w1;
        q10 += r->q * w10;
        q60 += r->q * w60;
        sq10 += sq * w10;
        pq60 += r->p * r->q * w60;
    }
    sc[F_SV1] = q1;
    sc[F_SV10] = q10;
    sc[F_SV60] = q60;
    sc[F_TC1] = out[F_TC1];
    sc[F_TC10] = out[F_TC10];
    sc[F_TC60] = out[F_TC60];

    /* returns on the 100 ms grid */
    if (have_tob) {
        const int64_t win[3] = {1 * FC_NS, 10 * FC_NS, 60 * FC_NS};
        for (int j = 0; j < 3; j++) {
            const int64_t g = ref_floor_div(t - win[j], 100 * FC_MS) * (100 * FC_MS);
            for (size_t n = m->ntob; n-- > 0;) {
                if (m->tob[n].t <= g) {
                    out[F_RET1 + j] = log(mid / mid_of(&m->tob[n])) * 1e4;
                    break;
                }
            }
        }
    }
    sc[F_RET1] = sc[F_RET10] = sc[F_RET60] = PRICE_BPS_SCALE;

    /* VWAP deviation */
    if (m->ntr > 0 && have_tob && q60 > 0.0) {
        const double V = pq60 / q60;
        out[F_VWAPDEV] = (mid - V) / V * 1e4;
    }
    sc[F_VWAPDEV] = PRICE_BPS_SCALE;

    out[F_TIMB10] = q10 != 0.0 ? sq10 / q10 : 0.0;
    sc[F_TIMB10] = 1.0;

    /* funding */
    if (m->has_funding) {
        out[F_FUND] = m->rate * 1e4;
        if (m->next_ns != 0)
            out[F_TTF] = fmax(0.0, (double)(m->next_ns - t) / 1e9);
        if (have_tob)
            out[F_BASIS] = (m->mark - mid) / mid * 1e4;
    }
    sc[F_FUND] = fmax(fabs(out[F_FUND]), 1.0);
    sc[F_TTF] = fmax(out[F_TTF], 1.0);
    sc[F_BASIS] = PRICE_BPS_SCALE;

    if (scale_out)
        memcpy(scale_out, sc, sizeof sc);
}

void ref_z(const ref_model *m, const double x[F_COUNT], double z[F_COUNT],
           double sigma[F_COUNT])
{
    for (int k = 0; k < F_COUNT; k++) {
        const double s = sqrt(m->var[k]);
        if (sigma)
            sigma[k] = s;
        if (m->samples < m->warmup || s == 0.0) {
            z[k] = 0.0;
            continue;
        }
        double v = (x[k] - m->mu[k]) / s;
        if (v > m->z_clip)
            v = m->z_clip;
        if (v < -m->z_clip)
            v = -m->z_clip;
        z[k] = v;
    }
}
