/* Page-Hinkley and ADWIN on the live loss: see drift.h and docs/drift.md. */
#include "learn/drift.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define M CSCALP_ADWIN_BUCKETS_PER_ROW
#define R CSCALP_ADWIN_MAX_ROWS
#define MAX_BUCKETS (M * R)

static int input_ok(double x)
{
    /* Written so that NaN fails too. */
    return fabs(x) <= CSCALP_DRIFT_MAX_ABS_INPUT;
}

/* ------------------------------------------------------------------------ */
/* Parameters                                                               */

void cscalp_drift_params_default(cscalp_drift_params *p)
{
    p->ph_delta_sigma = 0.5;
    p->ph_lambda_sigma = 11.0;
    p->ph_step_cap_sigma = 2.0;
    p->ph_warmup_samples = 100;
    p->ph_ref_half_life_samples = 5000.0;
    p->ph_min_sigma = 1e-6;
    p->adwin_delta = 1e-5;
    p->adwin_clock_samples = 32;
    p->adwin_min_subwindow_samples = 5;
}

static int out_of_range(char *why, size_t cap, const char *name, double value,
                        const char *range)
{
    snprintf(why, cap, "drift: %s = %.17g is out of range: %s", name, value, range);
    return CSCALP_ECONFIG_RANGE;
}

static int check_ph(const cscalp_drift_params *p, char *why, size_t cap)
{
    if (!(p->ph_delta_sigma >= 0.0 && p->ph_delta_sigma <= 10.0))
        return out_of_range(why, cap, "ph_delta_sigma", p->ph_delta_sigma,
                            "must be in [0, 10] standard deviations");
    if (!(p->ph_lambda_sigma > 0.0 && p->ph_lambda_sigma <= 1e6))
        return out_of_range(why, cap, "ph_lambda_sigma", p->ph_lambda_sigma,
                            "must be in (0, 1e6] standard deviations");
    if (!(p->ph_step_cap_sigma > 0.0 && p->ph_step_cap_sigma <= 1e6))
        return out_of_range(why, cap, "ph_step_cap_sigma", p->ph_step_cap_sigma,
                            "must be in (0, 1e6] standard deviations");
    if (p->ph_warmup_samples < 2 || p->ph_warmup_samples > 100000000u)
        return out_of_range(why, cap, "ph_warmup_samples", (double)p->ph_warmup_samples,
                            "must be in [2, 1e8] samples (a standard deviation needs two)");
    const double h = p->ph_ref_half_life_samples;
    if (!(h == 0.0 || (h >= 1.0 && h <= 1e12)))
        return out_of_range(why, cap, "ph_ref_half_life_samples", h,
                            "must be 0 (cumulative) or in [1, 1e12] samples");
    if (!(p->ph_min_sigma > 0.0 && isfinite(p->ph_min_sigma)))
        return out_of_range(why, cap, "ph_min_sigma", p->ph_min_sigma,
                            "must be finite and > 0 (units of the stream)");
    return CSCALP_OK;
}

static int check_adwin(const cscalp_drift_params *p, char *why, size_t cap)
{
    if (!(p->adwin_delta > 0.0 && p->adwin_delta < 1.0))
        return out_of_range(why, cap, "adwin_delta", p->adwin_delta,
                            "must be a probability in (0, 1)");
    if (p->adwin_clock_samples < 1 || p->adwin_clock_samples > CSCALP_ADWIN_MAX_CLOCK)
        return out_of_range(why, cap, "adwin_clock_samples", (double)p->adwin_clock_samples,
                            "must be in [1, 1048576] samples");
    if (p->adwin_min_subwindow_samples < 1 ||
        p->adwin_min_subwindow_samples > CSCALP_ADWIN_MAX_CLOCK)
        return out_of_range(why, cap, "adwin_min_subwindow_samples",
                            (double)p->adwin_min_subwindow_samples,
                            "must be in [1, 1048576] samples");
    return CSCALP_OK;
}

int cscalp_drift_params_check(const cscalp_drift_params *p, char *why, size_t cap)
{
    const int rc = check_ph(p, why, cap);
    return rc != CSCALP_OK ? rc : check_adwin(p, why, cap);
}

/* ------------------------------------------------------------------------ */
/* Page-Hinkley                                                             */

int cscalp_ph_init(cscalp_ph *ph, const cscalp_drift_params *p, char *why, size_t cap)
{
    const int rc = check_ph(p, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    memset(ph, 0, sizeof *ph);
    ph->delta_sigma = p->ph_delta_sigma;
    ph->lambda_sigma = p->ph_lambda_sigma;
    ph->step_cap_sigma = p->ph_step_cap_sigma;
    ph->min_sigma = p->ph_min_sigma;
    ph->warmup_samples = p->ph_warmup_samples;
    const double h = p->ph_ref_half_life_samples;
    ph->ref_weight_floor = h > 0.0 ? -expm1(-log(2.0) / h) : 0.0;
    return CSCALP_OK;
}

void cscalp_ph_reset(cscalp_ph *ph)
{
    ph->n = 0;
    ph->mean = 0.0;
    ph->var = 0.0;
    ph->stat = 0.0;
}

double cscalp_ph_sigma(const cscalp_ph *ph)
{
    const double s = sqrt(ph->var);
    return s > ph->min_sigma ? s : ph->min_sigma;
}

static void ph_learn(cscalp_ph *ph, double x)
{
    ph->n++;
    double w = 1.0 / (double)ph->n;
    if (w < ph->ref_weight_floor)
        w = ph->ref_weight_floor;
    const double d = x - ph->mean;
    ph->mean += w * d;
    ph->var = (1.0 - w) * (ph->var + w * d * d);
}

int cscalp_ph_update(cscalp_ph *ph, double x)
{
    if (!input_ok(x))
        return 0;
    int alarm = 0;
    if (ph->n >= ph->warmup_samples) {
        /* |x − μ| ≤ 2e100 and σ > 0: the quotient is never NaN; an infinite
         * one is capped above or floored at 0 below. */
        double step = (x - ph->mean) / cscalp_ph_sigma(ph) - ph->delta_sigma;
        if (step > ph->step_cap_sigma)
            step = ph->step_cap_sigma;
        const double g = ph->stat + step;
        ph->stat = g > 0.0 ? g : 0.0;
        if (ph->stat > ph->lambda_sigma) {
            alarm = 1;
            cscalp_ph_reset(ph);
        }
    }
    ph_learn(ph, x);
    return alarm;
}

/* ------------------------------------------------------------------------ */
/* ADWIN                                                                    */

int cscalp_adwin_init(cscalp_adwin *a, const cscalp_drift_params *p, char *why, size_t cap)
{
    const int rc = check_adwin(p, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    memset(a, 0, sizeof *a);
    a->delta = p->adwin_delta;
    a->clock_samples = p->adwin_clock_samples;
    a->min_subwindow_samples = p->adwin_min_subwindow_samples;
    return CSCALP_OK;
}

void cscalp_adwin_reset(cscalp_adwin *a)
{
    a->since_check = 0;
    a->rows = 0;
    a->width = 0;
    a->alarm_residue = 0;
    memset(a->count, 0, sizeof a->count);
    memset(a->sum, 0, sizeof a->sum);
    memset(a->m2, 0, sizeof a->m2);
}

static double bucket_size(uint32_t row) { return ldexp(1.0, (int)row); }

/* Remove the oldest bucket of `row` by shifting the newer ones down. */
static void remove_oldest_in_row(cscalp_adwin *a, uint32_t row)
{
    for (uint32_t j = 1; j < a->count[row]; j++) {
        a->sum[row][j - 1] = a->sum[row][j];
        a->m2[row][j - 1] = a->m2[row][j];
    }
    a->count[row]--;
    a->sum[row][a->count[row]] = 0.0;
    a->m2[row][a->count[row]] = 0.0;
}

/* Drop the window's oldest bucket (the first of the top row). Returns 1
 * when it held samples that came after the last alarm's check, i.e. it was
 * not all residue of the change that alarm reported. */
static int drop_oldest(cscalp_adwin *a)
{
    const uint32_t top = a->rows - 1;
    const uint64_t size = (uint64_t)1 << top;
    a->width -= size;
    remove_oldest_in_row(a, top);
    while (a->rows > 0 && a->count[a->rows - 1] == 0)
        a->rows--;
    if (a->alarm_residue >= size) {
        a->alarm_residue -= size;
        return 0;
    }
    a->alarm_residue = 0;
    return 1;
}

/* Make room for one more bucket in `row`: a full row merges its two oldest
 * buckets into one of the next row (making room there first); the last row
 * has no next one, so its oldest bucket leaves the window. Merging before
 * appending gives the same histogram as the paper's append-then-merge. */
static void make_room(cscalp_adwin *a, uint32_t row)
{
    if (a->count[row] < M)
        return;
    if (row + 1 == R) {
        drop_oldest(a);
        return;
    }
    make_room(a, row + 1);
    const double s0 = a->sum[row][0], s1 = a->sum[row][1];
    const double diff = s0 - s1;
    /* Two buckets of k samples each: m2 = m2₀ + m2₁ + (k·k / 2k)·(μ₀ − μ₁)²
     * = m2₀ + m2₁ + (s₀ − s₁)² / 2k. */
    const double merged_m2 =
        a->m2[row][0] + a->m2[row][1] + diff * diff / (2.0 * bucket_size(row));
    const uint32_t next = row + 1;
    a->sum[next][a->count[next]] = s0 + s1;
    a->m2[next][a->count[next]] = merged_m2;
    a->count[next]++;
    if (a->rows < next + 1)
        a->rows = next + 1;
    remove_oldest_in_row(a, row);
    remove_oldest_in_row(a, row);
}

static void adwin_insert(cscalp_adwin *a, double x)
{
    make_room(a, 0);
    a->sum[0][a->count[0]] = x;
    a->m2[0][a->count[0]] = 0.0;
    a->count[0]++;
    if (a->rows == 0)
        a->rows = 1;
    a->width++;
}

/* Count, sum and squared deviations of a run of samples. */
typedef struct moments {
    double n, sum, m2;
} moments;

/* Chan et al.'s pairwise combination; `older` comes first, so the window is
 * always combined in the same order and gives the same bits. */
static moments combine(moments older, moments newer)
{
    if (older.n == 0.0)
        return newer;
    if (newer.n == 0.0)
        return older;
    const double n = older.n + newer.n;
    const double d = older.sum / older.n - newer.sum / newer.n;
    const moments out = {n, older.sum + newer.sum,
                         older.m2 + newer.m2 + older.n * newer.n / n * d * d};
    return out;
}

/* The window's buckets oldest first; returns how many. */
static int list_buckets(const cscalp_adwin *a, moments out[MAX_BUCKETS])
{
    int k = 0;
    for (uint32_t r = a->rows; r-- > 0;)
        for (uint32_t i = 0; i < a->count[r]; i++) {
            out[k].n = bucket_size(r);
            out[k].sum = a->sum[r][i];
            out[k].m2 = a->m2[r][i];
            k++;
        }
    return k;
}

static moments window_moments(const cscalp_adwin *a)
{
    moments b[MAX_BUCKETS];
    const int k = list_buckets(a, b);
    moments w = {0.0, 0.0, 0.0};
    for (int i = 0; i < k; i++)
        w = combine(w, b[i]);
    return w;
}

double cscalp_adwin_mean(const cscalp_adwin *a)
{
    const moments w = window_moments(a);
    return w.n > 0.0 ? w.sum / w.n : (double)NAN;
}

double cscalp_adwin_variance(const cscalp_adwin *a)
{
    const moments w = window_moments(a);
    return w.n > 0.0 ? w.m2 / w.n : (double)NAN;
}

/* The first split (oldest first) whose means differ by more than the bound:
 * 0 when none, else +1 when the newer part's mean is higher, −1 when lower. */
static int find_cut(const cscalp_adwin *a)
{
    moments b[MAX_BUCKETS];
    const int k = list_buckets(a, b);
    if (k < 2)
        return 0;
    /* Newer-part sums from the newest end, so that no part is the
     * difference of two large sums. */
    double newer_sum[MAX_BUCKETS + 1];
    newer_sum[k] = 0.0;
    for (int i = k - 1; i >= 0; i--)
        newer_sum[i] = newer_sum[i + 1] + b[i].sum;
    moments w = {0.0, 0.0, 0.0};
    for (int i = 0; i < k; i++)
        w = combine(w, b[i]);
    const double n = w.n;
    const double var = w.m2 > 0.0 ? w.m2 / n : 0.0;
    const double log_term = log(2.0 * log(n) / a->delta);
    const double min_len = (double)a->min_subwindow_samples;

    double n0 = 0.0, sum0 = 0.0;
    for (int split = 1; split < k; split++) {
        n0 += b[split - 1].n;
        sum0 += b[split - 1].sum;
        const double n1 = n - n0;
        if (n0 < min_len)
            continue;
        if (n1 < min_len)
            break;
        const double inv_m = 1.0 / n0 + 1.0 / n1;
        const double bound = sqrt(2.0 * var * log_term * inv_m) + 2.0 / 3.0 * log_term * inv_m;
        const double mean0 = sum0 / n0, mean1 = newer_sum[split] / n1;
        if (fabs(mean1 - mean0) > bound)
            return mean1 > mean0 ? 1 : -1;
    }
    return 0;
}

int cscalp_adwin_update(cscalp_adwin *a, double x)
{
    if (!input_ok(x))
        return 0;
    adwin_insert(a, x);
    if (++a->since_check < a->clock_samples)
        return 0;
    a->since_check = 0;
    int rose = 0, shrank = 0, fresh = 0, cut;
    while ((cut = find_cut(a)) != 0) {
        rose |= cut > 0;
        shrank = 1;
        fresh |= drop_oldest(a);
    }
    if (rose && fresh) {
        a->alarm_residue = a->width;
        return 1;
    }
    return shrank ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Both                                                                     */

int cscalp_drift_init(cscalp_drift *d, const cscalp_drift_params *p, char *why, size_t cap)
{
    cscalp_drift t;
    memset(&t, 0, sizeof t);
    int rc = cscalp_ph_init(&t.ph, p, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_adwin_init(&t.adwin, p, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    t.params = *p;
    *d = t;
    return CSCALP_OK;
}

void cscalp_drift_restart(cscalp_drift *d)
{
    cscalp_ph_reset(&d->ph);
    cscalp_adwin_reset(&d->adwin);
}

int cscalp_drift_update(cscalp_drift *d, double x)
{
    if (!input_ok(x)) {
        d->ignored++;
        return 0;
    }
    d->samples++;
    int fired = 0;
    if (cscalp_ph_update(&d->ph, x)) {
        fired |= CSCALP_DRIFT_PH;
        d->ph_alarms++;
    }
    const int cut = cscalp_adwin_update(&d->adwin, x);
    if (cut > 0) {
        fired |= CSCALP_DRIFT_ADWIN;
        d->adwin_alarms++;
    } else if (cut < 0) {
        d->adwin_shrinks++;
    }
    return fired;
}

void cscalp_drift_get_stats(const cscalp_drift *d, cscalp_drift_stats *out)
{
    memset(out, 0, sizeof *out);
    out->samples = d->samples;
    out->ignored = d->ignored;
    out->ph_alarms = d->ph_alarms;
    out->adwin_alarms = d->adwin_alarms;
    out->adwin_shrinks = d->adwin_shrinks;
    out->ph_armed = d->ph.n >= d->ph.warmup_samples;
    out->ph_mean = d->ph.n > 0 ? d->ph.mean : (double)NAN;
    out->ph_sigma = d->ph.n > 0 ? sqrt(d->ph.var) : (double)NAN;
    out->ph_statistic = d->ph.stat;
    const moments w = window_moments(&d->adwin);
    out->adwin_width = d->adwin.width;
    out->adwin_mean = w.n > 0.0 ? w.sum / w.n : (double)NAN;
    out->adwin_sigma = w.n > 0.0 ? sqrt(w.m2 / w.n) : (double)NAN;
}

/* ------------------------------------------------------------------------ */
/* Checkpoints                                                              */

void cscalp_drift_save(const cscalp_drift *d, cscalp_wbuf *w)
{
    cscalp_put_u32(w, M);
    cscalp_put_u32(w, R);
    cscalp_put_u64(w, d->samples);
    cscalp_put_u64(w, d->ignored);
    cscalp_put_u64(w, d->ph_alarms);
    cscalp_put_u64(w, d->adwin_alarms);
    cscalp_put_u64(w, d->adwin_shrinks);

    cscalp_put_u64(w, d->ph.n);
    cscalp_put_f64(w, d->ph.mean);
    cscalp_put_f64(w, d->ph.var);
    cscalp_put_f64(w, d->ph.stat);

    const cscalp_adwin *a = &d->adwin;
    cscalp_put_u32(w, a->since_check);
    cscalp_put_u64(w, a->width);
    cscalp_put_u64(w, a->alarm_residue);
    cscalp_put_u32(w, a->rows);
    for (uint32_t r = 0; r < a->rows; r++) {
        cscalp_put_u32(w, a->count[r]);
        for (uint32_t i = 0; i < a->count[r]; i++) {
            cscalp_put_f64(w, a->sum[r][i]);
            cscalp_put_f64(w, a->m2[r][i]);
        }
    }
}

static int corrupt(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "drift: %s", what);
    return CSCALP_ECORRUPT;
}

static int load_ph(cscalp_ph *ph, cscalp_rbuf *r, uint64_t samples, char *why, size_t cap)
{
    ph->n = cscalp_get_u64(r);
    ph->mean = cscalp_get_f64(r);
    ph->var = cscalp_get_f64(r);
    ph->stat = cscalp_get_f64(r);
    if (r->failed)
        return corrupt(why, cap, "truncated");
    if (ph->n > samples)
        return corrupt(why, cap, "Page-Hinkley reference holds more samples than were fed");
    const double lim = CSCALP_DRIFT_MAX_ABS_INPUT;
    if (!(fabs(ph->mean) <= lim) || !(ph->var >= 0.0 && ph->var <= 4.0 * lim * lim) ||
        !(ph->stat >= 0.0 && isfinite(ph->stat)))
        return corrupt(why, cap,
                       "Page-Hinkley mean, variance or statistic not finite or out of range");
    if (ph->n == 0 && (ph->mean != 0.0 || ph->var != 0.0 || ph->stat != 0.0))
        return corrupt(why, cap, "Page-Hinkley estimates without samples");
    return CSCALP_OK;
}

static int load_adwin(cscalp_adwin *a, cscalp_rbuf *r, uint64_t samples, char *why, size_t cap)
{
    cscalp_adwin_reset(a);
    a->since_check = cscalp_get_u32(r);
    a->width = cscalp_get_u64(r);
    a->alarm_residue = cscalp_get_u64(r);
    a->rows = cscalp_get_u32(r);
    if (r->failed)
        return corrupt(why, cap, "truncated");
    if (a->since_check >= CSCALP_ADWIN_MAX_CLOCK)
        return corrupt(why, cap, "ADWIN check counter beyond the largest clock");
    if (a->rows > R)
        return corrupt(why, cap, "ADWIN uses more histogram rows than there are");
    if (a->width > samples)
        return corrupt(why, cap, "ADWIN window holds more samples than were fed");
    if (a->alarm_residue > a->width)
        return corrupt(why, cap, "ADWIN alarm residue larger than the window");
    const double lim = CSCALP_DRIFT_MAX_ABS_INPUT;
    uint64_t width = 0;
    for (uint32_t row = 0; row < a->rows; row++) {
        const uint32_t count = cscalp_get_u32(r);
        if (r->failed)
            return corrupt(why, cap, "truncated");
        if (count > M)
            return corrupt(why, cap, "ADWIN row holds more buckets than fit");
        if (count == 0 && row + 1 == a->rows)
            return corrupt(why, cap, "ADWIN oldest row is empty");
        a->count[row] = count;
        const double size = bucket_size(row);
        for (uint32_t i = 0; i < count; i++) {
            const double s = cscalp_get_f64(r), m2 = cscalp_get_f64(r);
            if (r->failed)
                return corrupt(why, cap, "truncated");
            if (!(fabs(s) <= size * lim) || !(m2 >= 0.0 && m2 <= size * 4.0 * lim * lim) ||
                (row == 0 && m2 != 0.0))
                return corrupt(why, cap, "ADWIN bucket sum or deviations impossible");
            a->sum[row][i] = s;
            a->m2[row][i] = m2;
        }
        width += (uint64_t)count << row;
    }
    if (width != a->width)
        return corrupt(why, cap, "ADWIN bucket counts do not add up to the window width");
    return CSCALP_OK;
}

int cscalp_drift_load(cscalp_drift *d, cscalp_rbuf *r, char *why, size_t cap)
{
    /* Loaded into a copy (keeping d's parameters); d changes only at the end. */
    cscalp_drift t = *d;
    const uint32_t buckets_per_row = cscalp_get_u32(r), rows = cscalp_get_u32(r);
    t.samples = cscalp_get_u64(r);
    t.ignored = cscalp_get_u64(r);
    t.ph_alarms = cscalp_get_u64(r);
    t.adwin_alarms = cscalp_get_u64(r);
    t.adwin_shrinks = cscalp_get_u64(r);
    if (r->failed)
        return corrupt(why, cap, "truncated");
    if (buckets_per_row != M || rows != R) {
        snprintf(why, cap,
                 "drift: ADWIN histogram saved with %u buckets per row and %u rows; this "
                 "build has %d and %d",
                 buckets_per_row, rows, M, R);
        return CSCALP_ECORRUPT;
    }
    if (t.ph_alarms > t.samples || t.adwin_alarms > t.samples || t.adwin_shrinks > t.samples)
        return corrupt(why, cap, "more alarms than samples");
    int rc = load_ph(&t.ph, r, t.samples, why, cap);
    if (rc == CSCALP_OK)
        rc = load_adwin(&t.adwin, r, t.samples, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    *d = t;
    return CSCALP_OK;
}
