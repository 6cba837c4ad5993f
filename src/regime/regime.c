#include "regime/regime.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

/* Feature indices (docs/features.md). */
enum { F_SPREAD_BPS = 0, F_TRADE_COUNT_10S = 11, F_RETURN_60S_BPS = 15, F_RVOL_10S = 16, F_RVOL_60S = 17 };

/* Variance floor of every observation: its scale is that of a logarithm,
 * so 1e-4 is a hundredth of a unit's spread. */
#define MIN_VARIANCE 1e-4

static const char *const observation_names[CSCALP_REGIME_OBSERVATIONS] = {
    "log_rvol_10s", "trend_strength_60s", "log_spread_bps", "log_trades_per_s_10s"};

struct cscalp_regime {
    cscalp_allocator mem;
    cscalp_regime_config cfg;
    cscalp_hmm *hmm;
    int has_next;
    int64_t next_ns;
    uint32_t current;
    int has_current; /* set at the first step after warm-up */
    uint32_t candidate, candidate_steps; /* a challenger to `current` and its run */
    uint64_t changes, skipped_warmup, skipped_nonfinite;
    float gate[CSCALP_HMM_MAX_STATES];
};

static void gate_update(cscalp_regime *r)
{
    const double *post = cscalp_hmm_posterior(r->hmm);
    const int ready = cscalp_hmm_ready(r->hmm);
    for (uint32_t k = 0; k < r->cfg.states; k++)
        r->gate[k] = ready ? (float)post[k] : 1.0f / (float)r->cfg.states;
}

int cscalp_regime_create(const cscalp_allocator *mem, const cscalp_regime_config *cfg,
                         cscalp_regime **out, char *why, size_t cap)
{
    *out = NULL;
    const cscalp_hmm_params p = {
        .states = cfg->states,
        .dims = CSCALP_REGIME_OBSERVATIONS,
        .warmup = cfg->warmup,
        .half_life = cfg->half_life,
        .stay_probability = cfg->stay_probability,
        .transition_prior = cfg->transition_prior,
        .min_variance = MIN_VARIANCE,
        .learn = 1,
    };
    cscalp_regime *r = cscalp_mem_calloc(mem, 1, sizeof *r);
    if (r == NULL) {
        snprintf(why, cap, "regime: out of memory");
        return CSCALP_ENOMEM;
    }
    r->mem = *mem;
    r->cfg = *cfg;
    const int rc = cscalp_hmm_create(mem, &p, &r->hmm, why, cap);
    if (rc != CSCALP_OK) {
        cscalp_mem_free(mem, r);
        return rc;
    }
    gate_update(r);
    *out = r;
    return CSCALP_OK;
}

void cscalp_regime_destroy(cscalp_regime *r)
{
    if (r == NULL)
        return;
    const cscalp_allocator mem = r->mem;
    cscalp_hmm_destroy(r->hmm);
    cscalp_mem_free(&mem, r);
}

void cscalp_regime_set_config(cscalp_regime *r, const cscalp_regime_config *cfg)
{
    cscalp_regime_config next = r->cfg;
    /* A new grid starts at the next event, not when the old one's next
     * point comes (which could be an hour away). */
    if (cfg->interval_ns != r->cfg.interval_ns)
        r->has_next = 0;
    next.interval_ns = cfg->interval_ns;
    next.half_life = cfg->half_life;
    next.change_probability = cfg->change_probability;
    next.confirm_steps = cfg->confirm_steps;
    next.size_count = cfg->size_count;
    next.band_count = cfg->band_count;
    next.leverage_count = cfg->leverage_count;
    memcpy(next.size_factors, cfg->size_factors, sizeof next.size_factors);
    memcpy(next.entry_band_bps, cfg->entry_band_bps, sizeof next.entry_band_bps);
    memcpy(next.max_leverage, cfg->max_leverage, sizeof next.max_leverage);
    r->cfg = next;
    cscalp_hmm_set_half_life(r->hmm, next.half_life);
}

int cscalp_regime_due(const cscalp_regime *r, int64_t t_ns)
{
    return !r->has_next || t_ns >= r->next_ns;
}

/* The five raw features the observations use, all finite? */
static int inputs_finite(const double *f)
{
    return isfinite(f[F_RVOL_10S]) && isfinite(f[F_RVOL_60S]) &&
           isfinite(f[F_RETURN_60S_BPS]) && isfinite(f[F_SPREAD_BPS]) &&
           isfinite(f[F_TRADE_COUNT_10S]);
}

/* The four observations of the header, from the raw feature vector.
 * Volatility and trade intensity over 10 s follow a switch within seconds
 * (60 s windows took a minute, and cost 7 points of accuracy on the
 * synthetic market); trend strength needs the longer window to tell a
 * drift from noise. */
static void observe(const double *f, double *x)
{
    const double rvol = fmax(f[F_RVOL_60S], 0.0);
    x[0] = log(fmax(f[F_RVOL_10S], 0.0) + 0.01);
    x[1] = fabs(f[F_RETURN_60S_BPS]) / (sqrt(60.0) * rvol + 0.01);
    x[2] = log(fmax(f[F_SPREAD_BPS], 0.0) + 0.01);
    x[3] = log1p(fmax(f[F_TRADE_COUNT_10S], 0.0) / 10.0);
}

int cscalp_regime_step(cscalp_regime *r, int64_t t_ns, const double *raw_features, int warm,
                       cscalp_regime_change *change)
{
    const int64_t dt = r->cfg.interval_ns;
    r->next_ns = (t_ns / dt + 1) * dt; /* the next grid point after t */
    r->has_next = 1;
    if (!warm) {
        r->skipped_warmup++;
        return 0;
    }
    if (!inputs_finite(raw_features)) {
        r->skipped_nonfinite++;
        return 0; /* the model stays as it was */
    }
    double x[CSCALP_REGIME_OBSERVATIONS];
    observe(raw_features, x);
    if (cscalp_hmm_step(r->hmm, x) != CSCALP_OK) {
        r->skipped_nonfinite++;
        return 0;
    }
    gate_update(r);
    if (!cscalp_hmm_ready(r->hmm))
        return 0;
    /* The states may have moved (re-ordered, or merged by a birth): the
     * current regime and its challenger follow theirs. */
    const uint32_t *moved = cscalp_hmm_moves(r->hmm);
    r->current = moved[r->current];
    r->candidate = moved[r->candidate];
    if (!r->has_current) {
        /* The first regime is the model's first answer, not a change. */
        r->has_current = 1;
        r->current = cscalp_hmm_map_state(r->hmm);
        return 0;
    }
    /* Hysteresis: another regime becomes current only once its posterior
     * reaches regime.change_probability, so a posterior hovering around
     * one half between two regimes does not flip the id at every step. */
    const uint32_t best = cscalp_hmm_map_state(r->hmm);
    const double p = cscalp_hmm_posterior(r->hmm)[best];
    if (best == r->current || p < r->cfg.change_probability) {
        r->candidate_steps = 0;
        return 0;
    }
    /* ... and keeps it for regime.confirm_steps steps in a row: a regime
     * is a state of the market that lasts, not one noisy window. */
    if (r->candidate_steps == 0 || best != r->candidate) {
        r->candidate = best;
        r->candidate_steps = 0;
    }
    if (++r->candidate_steps < r->cfg.confirm_steps)
        return 0;
    r->candidate_steps = 0;
    change->from = r->current;
    change->to = best;
    change->probability = p;
    r->current = best;
    r->changes++;
    return 1;
}

const float *cscalp_regime_gate(const cscalp_regime *r) { return r->gate; }
uint32_t cscalp_regime_current(const cscalp_regime *r) { return r->current; }
const cscalp_hmm *cscalp_regime_model(const cscalp_regime *r) { return r->hmm; }

double cscalp_regime_current_probability(const cscalp_regime *r)
{
    if (!cscalp_hmm_ready(r->hmm))
        return 1.0 / r->cfg.states;
    return cscalp_hmm_posterior(r->hmm)[r->current];
}

static double per_regime(const double *values, uint32_t count, uint32_t k)
{
    return values[k < count ? k : count - 1];
}

void cscalp_regime_policy_now(const cscalp_regime *r, cscalp_regime_policy *out)
{
    memset(out, 0, sizeof *out);
    const double *post = cscalp_hmm_posterior(r->hmm);
    const int ready = cscalp_hmm_ready(r->hmm);
    for (uint32_t k = 0; k < r->cfg.states; k++) {
        const double w = ready ? post[k] : 1.0 / r->cfg.states;
        out->size_factor += w * per_regime(r->cfg.size_factors, r->cfg.size_count, k);
        out->entry_band_bps += w * per_regime(r->cfg.entry_band_bps, r->cfg.band_count, k);
        out->max_leverage += w * per_regime(r->cfg.max_leverage, r->cfg.leverage_count, k);
    }
}

static void write_matrix(cscalp_json_writer *w, const char *key, const double *m,
                         uint32_t rows, uint32_t cols)
{
    cscalp_jw_begin_array(w, key);
    for (uint32_t i = 0; i < rows; i++) {
        cscalp_jw_begin_array(w, NULL);
        for (uint32_t j = 0; j < cols; j++)
            cscalp_jw_double(w, NULL, m[(size_t)i * cols + j]);
        cscalp_jw_end_array(w);
    }
    cscalp_jw_end_array(w);
}

void cscalp_regime_write_stats(const cscalp_regime *r, cscalp_json_writer *w)
{
    const uint32_t K = r->cfg.states, D = CSCALP_REGIME_OBSERVATIONS;
    cscalp_jw_begin_object(w, "regime");
    cscalp_jw_uint(w, "states", K);
    cscalp_jw_bool(w, "ready", cscalp_hmm_ready(r->hmm));
    cscalp_jw_uint(w, "steps", cscalp_hmm_steps(r->hmm));
    cscalp_jw_uint(w, "skipped_warmup", r->skipped_warmup);
    cscalp_jw_uint(w, "skipped_nonfinite", r->skipped_nonfinite);
    cscalp_jw_uint(w, "current", r->current);
    cscalp_jw_double(w, "current_probability", cscalp_regime_current_probability(r));
    cscalp_jw_uint(w, "changes", r->changes);
    cscalp_jw_uint(w, "reorders", cscalp_hmm_reorders(r->hmm));
    cscalp_jw_uint(w, "births", cscalp_hmm_births(r->hmm));
    cscalp_jw_begin_array(w, "posterior");
    const double *post = cscalp_hmm_posterior(r->hmm);
    for (uint32_t k = 0; k < K; k++)
        cscalp_jw_double(w, NULL, cscalp_hmm_ready(r->hmm) ? post[k] : 1.0 / K);
    cscalp_jw_end_array(w);
    cscalp_jw_begin_array(w, "observations");
    for (uint32_t d = 0; d < D; d++)
        cscalp_jw_string(w, NULL, observation_names[d]);
    cscalp_jw_end_array(w);
    write_matrix(w, "means", cscalp_hmm_means(r->hmm), K, D);
    write_matrix(w, "variances", cscalp_hmm_variances(r->hmm), K, D);
    write_matrix(w, "transition", cscalp_hmm_transition(r->hmm), K, K);
    cscalp_regime_policy pol;
    cscalp_regime_policy_now(r, &pol);
    cscalp_jw_begin_object(w, "policy");
    cscalp_jw_double(w, "size_factor", pol.size_factor);
    cscalp_jw_double(w, "entry_band_bps", pol.entry_band_bps);
    cscalp_jw_double(w, "max_leverage_factor", pol.max_leverage);
    cscalp_jw_end_object(w);
    cscalp_jw_end_object(w);
}

void cscalp_regime_save(const cscalp_regime *r, cscalp_wbuf *w)
{
    cscalp_put_u32(w, (uint32_t)r->has_next);
    cscalp_put_i64(w, r->next_ns);
    cscalp_put_u32(w, r->current);
    cscalp_put_u32(w, (uint32_t)r->has_current);
    cscalp_put_u32(w, r->candidate);
    cscalp_put_u32(w, r->candidate_steps);
    cscalp_put_u64(w, r->changes);
    cscalp_put_u64(w, r->skipped_warmup);
    cscalp_put_u64(w, r->skipped_nonfinite);
    cscalp_hmm_save(r->hmm, w);
}

int cscalp_regime_load(cscalp_regime *r, cscalp_rbuf *in, char *why, size_t cap)
{
    const uint32_t has_next = cscalp_get_u32(in);
    const int64_t next_ns = cscalp_get_i64(in);
    const uint32_t current = cscalp_get_u32(in);
    const uint32_t has_current = cscalp_get_u32(in);
    const uint32_t candidate = cscalp_get_u32(in);
    const uint32_t candidate_steps = cscalp_get_u32(in);
    const uint64_t changes = cscalp_get_u64(in);
    const uint64_t skipped = cscalp_get_u64(in);
    const uint64_t skipped_nonfinite = cscalp_get_u64(in);
    if (in->failed || has_next > 1 || has_current > 1 || current >= r->cfg.states ||
        candidate >= r->cfg.states || candidate_steps > 1000000) {
        snprintf(why, cap, "regime: grid or current regime damaged (current %u of %u)",
                 current, r->cfg.states);
        return CSCALP_ECORRUPT;
    }
    const int rc = cscalp_hmm_load(r->hmm, in, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    r->has_next = (int)has_next;
    r->next_ns = next_ns;
    r->current = current;
    r->has_current = (int)has_current;
    r->candidate = candidate;
    r->candidate_steps = candidate_steps;
    r->changes = changes;
    r->skipped_warmup = skipped;
    r->skipped_nonfinite = skipped_nonfinite;
    gate_update(r);
    return CSCALP_OK;
}
