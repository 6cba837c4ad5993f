/* The engine: the only file that knows every stage. It owns the handle,
 * routes each API call through the stages in order and turns every refusal
 * into an error code, a detail text, a counter and a health event. */
#include <math.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cryptoscalp.h"
#include "cscalp_build_config.h"
#include "engine_internal.h"
#include "features/features.h"
#include "feed/feed.h"
#include "health/health.h"
#include "learn/learn.h"
#include "nn/nn.h"
#include "persist/checkpoint.h"
#include "persist/config.h"
#include "policy/policy.h"
#include "regime/regime.h"
#include "risk/desk.h"
#include "util/alloc.h"
#include "util/json_writer.h"

#define ERROR_TEXT_CAP 512

struct cscalp_engine {
    cscalp_allocator mem;
    cscalp_config cfg;
    cscalp_feed *feed;
    cscalp_feature_state *features;
    cscalp_health_state health;

    /* The models (docs/model.md) live in the learning stage, which serves
     * predictions and learns from delayed labels (docs/learning.md). The
     * engine assembles the input for each inference and sample here. */
    cscalp_nn_arch arch;
    const cscalp_nn_backend *backend;
    cscalp_learn *learn;
    float *model_input;
    /* The regime model (docs/regime.md): its posterior is the expert
     * gate's regime input. */
    cscalp_regime *regime;

    /* The decision path (docs/policy.md, docs/risk.md): the policy's
     * parameters, the margin tiers its liquidation cap reads, and the risk
     * desk that every order passes and that follows the host's orders and
     * fills. The policy decides on an event-time grid. */
    cscalp_policy_params policy;
    cscalp_liq_table brackets;
    cscalp_desk *desk;
    uint32_t rvol_index; /* rvol_60s in the feature vector */
    int64_t next_decide_ns;
    cscalp_policy_decision last_decision;
    double last_sigma_bps;
    uint64_t decisions;
    uint64_t decisions_without_signal;

    uint64_t inferences;
    uint64_t inference_failures;

    char *last_error;
    uint64_t api_errors;
    uint64_t config_changes;
    uint64_t config_rejected;
    uint64_t checkpoints_saved;
    uint64_t checkpoints_failed;

    /* The supervisor (docs/self-healing.md): its detectors, the path of a
     * failed save awaiting its retry, the learner watchdog's cadence, and
     * the fault-injection switches of engine_internal.h. */
    cscalp_supervisor sup;
    char *retry_path;
    uint32_t watchdog_countdown;
    uint32_t fault_write_failures;
    uint64_t orders_held_by_supervisor;
};

/* The learner's heartbeat is checked every this many events (and at
 * every cscalp_tick): a monotonic-clock read amortised to nothing. */
#define WATCHDOG_EVERY_EVENTS 1024u

/* ------------------------------------------------------------------------ */
/* Version and features                                                     */

unsigned int cscalp_version(void) { return CSCALP_VERSION_HEX; }

const char *cscalp_version_string(void) { return CSCALP_VERSION_STRING; }

int cscalp_has_feature(int feature)
{
    switch (feature) {
    case CSCALP_FEATURE_BLAS:
        return CSCALP_HAVE_BLAS;
    case CSCALP_FEATURE_CUDA:
        return CSCALP_HAVE_CUDA;
    case CSCALP_FEATURE_THREADS:
        return CSCALP_HAVE_THREADS;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void set_error(cscalp_engine *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->last_error, ERROR_TEXT_CAP, fmt, ap);
    va_end(ap);
}

static void clear_error(cscalp_engine *e) { e->last_error[0] = '\0'; }

/* A call the host made wrongly (NULL pointer, bad flags, small buffer). */
static int api_error(cscalp_engine *e, int code, const char *what)
{
    set_error(e, "%s", what);
    e->api_errors++;
    cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_WARNING,
                       CSCALP_COMPONENT_ENGINE, CSCALP_EVENT_INPUT_REJECTED, code,
                       CSCALP_ACTION_REJECTED, what);
    return code;
}

const char *cscalp_last_error(const cscalp_engine *engine)
{
    return engine == NULL ? "engine is NULL" : engine->last_error;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

/* The learning stage's view of the learn.* and fees.* keys. */
static void learn_config_of(const cscalp_config *c, cscalp_learn_config *lc)
{
    memset(lc, 0, sizeof *lc);
    lc->mode = (int)c->learn_mode;
    lc->label.form = c->learn_label == CSCALP_CONFIG_LABEL_SMOOTHED ? CSCALP_LABEL_SMOOTHED
                                                                     : CSCALP_LABEL_POINT;
    lc->label.band = c->learn_band == CSCALP_CONFIG_BAND_FIXED      ? CSCALP_BAND_FIXED
                     : c->learn_band == CSCALP_CONFIG_BAND_QUANTILE ? CSCALP_BAND_QUANTILE
                                                                    : CSCALP_BAND_COST;
    lc->label.horizon_ns = c->learn_horizon_ms * 1000000;
    lc->label.horizon_events = (uint32_t)c->learn_horizon_events;
    lc->label.band_bps = c->learn_band_bps;
    lc->label.band_quantile = c->learn_band_quantile;
    lc->label.quantile_warmup = (uint32_t)c->learn_band_warmup_labels;
    lc->label.taker_fee_bps = c->fees_taker_bps;
    lc->max_pending = (uint32_t)c->learn_max_pending;
    lc->replay_capacity = (uint32_t)c->learn_replay_capacity;
    lc->batch = (uint32_t)c->learn_batch_size;
    lc->score_window = (uint32_t)c->learn_score_window;
    lc->async_queue = (uint32_t)c->learn_async_queue;
    lc->seed = (uint64_t)c->model_seed;
    lc->drift_ph_delta_sigma = c->learn_drift_ph_delta_sigma;
    lc->drift_ph_lambda_sigma = c->learn_drift_ph_lambda_sigma;
    lc->drift_adwin_delta = c->learn_drift_adwin_delta;
    lc->sample_every_events = (uint32_t)c->learn_sample_every_events;
    lc->sample_interval_ns = c->learn_sample_interval_ms * 1000000;
    lc->replay_recent = (uint32_t)c->learn_replay_recent_window;
    lc->replay_recent_fraction = c->learn_replay_recent_fraction;
    lc->replay_priority_exponent = c->learn_replay_priority_alpha;
    lc->min_replay = (uint32_t)c->learn_min_replay;
    lc->train_every_samples = (uint32_t)c->learn_train_every_samples;
    lc->train_steps = (uint32_t)c->learn_steps_per_train;
    lc->learning_rate = c->learn_learning_rate;
    lc->l2 = c->learn_l2;
    lc->max_grad_norm = c->learn_max_grad_norm;
    lc->promotion_margin_nats = c->learn_promotion_margin_nats;
    lc->rollback_margin_nats = c->learn_rollback_margin_nats;
    lc->fallback_learning_rate = c->learn_fallback_learning_rate;
    lc->fallback_l2 = c->learn_fallback_l2;
    lc->fallback_margin_nats = c->learn_fallback_margin_nats;
    lc->drift_lr_boost_factor = c->learn_drift_lr_boost;
    lc->drift_boost_samples = (uint32_t)c->learn_drift_boost_samples;
    lc->lr_cut_factor = c->health_lr_cut_factor;
    lc->lr_floor_factor = c->health_lr_floor_factor;
    lc->lr_recover_steps = (uint32_t)c->health_lr_recover_steps;
    lc->explode_grad_norm = c->health_explode_grad_norm;
    lc->stall_wall_ns = c->health_learner_stall_wall_ms * 1000000;
    lc->shed_fraction = c->health_learner_shed_fraction;
}

/* The supervisor's view of the health.* and feed.outlier_* keys. */
static void supervisor_config_of(const cscalp_config *c, cscalp_supervisor_config *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->outlier_sigmas = c->feed_outlier_sigmas;
    sc->outlier_min_bps = c->feed_outlier_min_bps;
    sc->outlier_confirm = (uint32_t)c->feed_outlier_confirm_events;
    sc->outlier_alpha = 1.0 - exp2(-1.0 / c->feed_outlier_half_life_events);
    sc->stale_ns = c->health_stale_feed_ms * 1000000;
    sc->resume_ns = c->health_feed_resume_ms * 1000000;
    sc->storm_count = (uint32_t)c->health_rollback_storm_count;
    sc->storm_window_ns = (int64_t)(c->health_rollback_storm_window_s * 1e9);
    sc->probation_ns = (int64_t)(c->health_autonomy_probation_s * 1e9);
    sc->breaker_count = (uint32_t)c->health_reject_breaker_count;
    sc->breaker_window_ns = c->health_reject_breaker_window_ms * 1000000;
    sc->breaker_cooldown_ns = c->health_reject_breaker_cooldown_ms * 1000000;
    sc->breaker_max_cooldown_ns = c->health_reject_breaker_max_cooldown_ms * 1000000;
    if (sc->breaker_max_cooldown_ns < sc->breaker_cooldown_ns)
        sc->breaker_max_cooldown_ns = sc->breaker_cooldown_ns;
    sc->retry_ns = c->health_checkpoint_retry_ms * 1000000;
    sc->retry_max_ns = c->health_checkpoint_retry_max_ms * 1000000;
    if (sc->retry_max_ns < sc->retry_ns)
        sc->retry_max_ns = sc->retry_ns;
}

_Static_assert(CSCALP_REGIME_LIST_MAX == CSCALP_CONFIG_LIST_MAX,
               "per-regime lists are copied whole from the configuration");
_Static_assert(CSCALP_HMM_MAX_STATES >= CSCALP_NN_MAX_EXPERTS,
               "one regime per expert head, whatever model.expert_count allows");

static void regime_config_of(const cscalp_config *c, cscalp_regime_config *rc)
{
    memset(rc, 0, sizeof *rc);
    rc->states = (uint32_t)c->model_expert_count;
    rc->warmup = (uint32_t)c->regime_warmup_steps;
    rc->stay_probability = c->regime_stay_probability;
    rc->transition_prior = c->regime_transition_prior_steps;
    rc->interval_ns = c->regime_interval_ms * 1000000;
    rc->half_life = c->regime_half_life_steps;
    rc->change_probability = c->regime_change_probability;
    rc->confirm_steps = (uint32_t)c->regime_confirm_steps;
    rc->size_count = (uint32_t)c->regime_size_factors.count;
    rc->band_count = (uint32_t)c->regime_entry_band_bps.count;
    rc->leverage_count = (uint32_t)c->regime_max_leverage_factors.count;
    memcpy(rc->size_factors, c->regime_size_factors.values, sizeof rc->size_factors);
    memcpy(rc->entry_band_bps, c->regime_entry_band_bps.values, sizeof rc->entry_band_bps);
    memcpy(rc->max_leverage, c->regime_max_leverage_factors.values, sizeof rc->max_leverage);
}

/* The risk desk's view of the risk.* and policy.* keys. */
static void desk_config_of(const cscalp_config *c, cscalp_desk_config *dc)
{
    memset(dc, 0, sizeof *dc);
    cscalp_risk_limits *l = &dc->limits;
    l->max_order_contracts = c->risk_max_order_contracts;
    l->max_order_notional = c->risk_max_order_notional_quote;
    l->max_position_contracts = c->risk_max_position_contracts;
    l->max_leverage = c->risk_max_leverage;
    l->price_collar_bps = c->risk_price_collar_bps;
    l->max_orders_per_s = (uint32_t)c->risk_max_orders_per_s;
    l->max_orders_per_min = (uint32_t)c->risk_max_orders_per_min;
    l->max_open_orders = (uint32_t)c->risk_max_open_orders;
    l->max_daily_drawdown = c->risk_max_daily_drawdown_quote;
    l->max_total_drawdown = c->risk_max_total_drawdown_quote;
    l->loss_streak = (uint32_t)c->risk_loss_streak;
    l->loss_cooldown_ns = c->risk_loss_cooldown_ms * 1000000;
    dc->initial_equity = c->risk_initial_equity_quote;
    dc->tick_size = c->policy_tick_size;
    dc->lot_size = c->policy_lot_size;
    dc->market_protection_bps = c->policy_market_protection_bps;
    dc->intent_queue = (uint32_t)c->risk_intent_queue;
    dc->fill_id_memory = (uint32_t)c->risk_fill_id_memory;
}

static void policy_params_of(const cscalp_config *c, cscalp_policy_params *p)
{
    memset(p, 0, sizeof *p);
    p->taker_fee_bps = c->fees_taker_bps;
    p->maker_fee_bps = c->fees_maker_bps;
    p->vol_target_bps = c->policy_vol_target_bps;
    p->max_position_contracts = c->risk_max_position_contracts;
    p->liquidation_sigmas = c->policy_liquidation_sigmas;
    p->tick_size = c->policy_tick_size;
    p->lot_size = c->policy_lot_size;
    p->order_ttl_ns = c->policy_order_ttl_ms * 1000000;
    p->reprice_ticks = c->policy_reprice_ticks;
}

/* The margin tiers from the three risk.margin_bracket_* lists (the same
 * length each), with the maintenance amounts from the cum formula. */
static int brackets_of(const cscalp_config *c, cscalp_liq_table *t, char *why, size_t cap)
{
    const int64_t n = c->risk_margin_bracket_caps_quote.count;
    if (c->risk_margin_bracket_rates.count != n ||
        c->risk_margin_bracket_max_leverage.count != n) {
        snprintf(why, cap,
                 "risk.margin_bracket_rate_fractions / risk.margin_bracket_max_leverage_factors: %lld and %lld "
                 "elements, risk.margin_bracket_caps_quote has %lld; one of each per tier",
                 (long long)c->risk_margin_bracket_rates.count,
                 (long long)c->risk_margin_bracket_max_leverage.count, (long long)n);
        return CSCALP_ECONFIG_RANGE;
    }
    memset(t, 0, sizeof *t);
    t->count = (uint32_t)n;
    for (int64_t i = 0; i < n; i++) {
        cscalp_liq_bracket *b = &t->brackets[i];
        b->notional_floor_usdt = i == 0 ? 0.0 : c->risk_margin_bracket_caps_quote.values[i - 1];
        b->notional_cap_usdt = c->risk_margin_bracket_caps_quote.values[i];
        b->maint_margin_rate = c->risk_margin_bracket_rates.values[i];
        b->max_leverage = c->risk_margin_bracket_max_leverage.values[i];
    }
    cscalp_liq_table_derive_amounts(t);
    char inner[200];
    if (cscalp_liq_table_validate(t, inner, sizeof inner) != CSCALP_OK) {
        snprintf(why, cap, "risk.margin_bracket_*: %s", inner);
        return CSCALP_ECONFIG_RANGE;
    }
    return CSCALP_OK;
}

/* The cross-key checks of the decision path's keys, before a configuration
 * is taken (open or cscalp_configure). */
static int decision_config_check(const cscalp_config *c, char *why, size_t cap)
{
    cscalp_liq_table t;
    int rc = brackets_of(c, &t, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    cscalp_desk_config dc;
    desk_config_of(c, &dc);
    rc = cscalp_desk_config_check(&dc, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    cscalp_policy_params pp;
    policy_params_of(c, &pp);
    return cscalp_policy_params_check(&pp, why, cap);
}

static void apply_config(cscalp_engine *e)
{
    const cscalp_config *c = &e->cfg;
    cscalp_feed_set_limits(e->feed, (uint32_t)c->feed_book_levels,
                           (int64_t)(c->feed_max_time_regression_ms * 1e6));
    cscalp_features_set_params(e->features, c->features_norm_interval_ms * 1000000,
                               c->features_norm_half_life_s, c->features_z_clip,
                               (uint64_t)c->features_norm_warmup_samples);
    e->health.degraded_hold_ns = (int64_t)(c->health_degraded_hold_s * 1e9);
    cscalp_supervisor_config sc;
    supervisor_config_of(c, &sc);
    cscalp_sup_set_config(&e->sup, &sc);
    if (e->learn != NULL) {
        cscalp_learn_config lc;
        learn_config_of(c, &lc);
        cscalp_learn_set_config(e->learn, &lc);
    }
    if (e->regime != NULL) {
        cscalp_regime_config rc;
        regime_config_of(c, &rc);
        cscalp_regime_set_config(e->regime, &rc);
    }
    if (e->desk != NULL) {
        /* Checked by decision_config_check before the configuration was
         * taken, so these cannot fail. */
        cscalp_desk_config dc;
        desk_config_of(c, &dc);
        char why[200];
        cscalp_desk_set_config(e->desk, &dc, why, sizeof why);
        policy_params_of(c, &e->policy);
        brackets_of(c, &e->brackets, why, sizeof why);
    }
}

/* After any call that reached the risk desk: its health events, and
 * risk.kill_switch kept equal to the switch (the desk trips it on a
 * drawdown), so the effective configuration shows it. */
static void desk_done(cscalp_engine *e)
{
    e->cfg.risk_kill_switch =
        cscalp_desk_killed(e->desk) ? CSCALP_CONFIG_KILL_TRIPPED : CSCALP_CONFIG_KILL_ARMED;
    cscalp_desk_event ev;
    while (cscalp_desk_next_event(e->desk, &ev)) {
        cscalp_health_emit(&e->health, ev.ts_ns, ev.severity, ev.component, ev.event,
                           ev.error, ev.action, ev.message);
        /* The risk actions are playbook rows too (docs/self-healing.md). */
        if ((ev.event == CSCALP_EVENT_KILL_SWITCH && ev.severity == CSCALP_SEVERITY_CRITICAL) ||
            ev.event == CSCALP_EVENT_LOSS_COOLDOWN ||
            (ev.event == CSCALP_EVENT_POSITION_RESYNC && ev.severity >= CSCALP_SEVERITY_WARNING))
            e->sup.actions[CSCALP_PLAYBOOK_RISK]++;
    }
}

/* The backend model.backend asks for; CSCALP_EUNSUPPORTED when the build
 * lacks it. */
static int resolve_backend(const cscalp_config *c, const cscalp_nn_backend **out,
                           char *why, size_t cap)
{
    switch (c->model_backend) {
    case CSCALP_CONFIG_BACKEND_CPU:
        *out = cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU);
        return CSCALP_OK;
    case CSCALP_CONFIG_BACKEND_BLAS:
        *out = cscalp_nn_backend_get(CSCALP_NN_BACKEND_BLAS);
        if (*out == NULL) {
            snprintf(why, cap,
                     "model.backend: \"blas\" is not built into this library "
                     "(cscalp_has_feature(CSCALP_FEATURE_BLAS) is 0)");
            return CSCALP_EUNSUPPORTED;
        }
        return CSCALP_OK;
    default:
        *out = cscalp_nn_backend_get(CSCALP_NN_BACKEND_BLAS);
        if (*out == NULL)
            *out = cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU);
        return CSCALP_OK;
    }
}

static void arch_of(const cscalp_config *c, cscalp_nn_arch *arch)
{
    memset(arch, 0, sizeof *arch);
    arch->inputs = (uint32_t)(CSCALP_FEATURE_COUNT * c->model_lag_count);
    arch->hidden_layers = (uint32_t)c->model_hidden_sizes.count;
    for (uint32_t l = 0; l < arch->hidden_layers; l++)
        arch->hidden[l] = (uint32_t)c->model_hidden_sizes.values[l];
    arch->experts = (uint32_t)c->model_expert_count;
    arch->activation = c->model_activation == CSCALP_CONFIG_ACTIVATION_SILU
                           ? CSCALP_NN_SILU
                           : CSCALP_NN_RELU;
}

/* Allocate the model and initialise it from model.seed. */
static int model_create(cscalp_engine *e, char *why, size_t cap)
{
    arch_of(&e->cfg, &e->arch);
    int rc = cscalp_nn_arch_check(&e->arch, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    rc = resolve_backend(&e->cfg, &e->backend, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    e->model_input = cscalp_mem_calloc(&e->mem, e->arch.inputs, sizeof *e->model_input);
    if (e->model_input == NULL) {
        snprintf(why, cap, "model: out of memory");
        return CSCALP_ENOMEM;
    }
    cscalp_learn_config lc;
    learn_config_of(&e->cfg, &lc);
    rc = cscalp_learn_create(&e->mem, &lc, &e->arch, e->backend, NULL, &e->learn, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    /* One regime per expert head. Until the regime model is ready its
     * posterior is uniform: the gate's regime term is constant and the
     * gate decides from the trunk alone (docs/model.md). */
    cscalp_regime_config regc;
    regime_config_of(&e->cfg, &regc);
    return cscalp_regime_create(&e->mem, &regc, &e->regime, why, cap);
}

/* The decision path: the risk desk, the policy's parameters and the margin
 * tiers (the configuration was checked by decision_config_check). */
static int decision_create(cscalp_engine *e, char *why, size_t cap)
{
    int rc = decision_config_check(&e->cfg, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    cscalp_desk_config dc;
    desk_config_of(&e->cfg, &dc);
    rc = cscalp_desk_create(&e->mem, &dc, &e->desk, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    policy_params_of(&e->cfg, &e->policy);
    brackets_of(&e->cfg, &e->brackets, why, cap);
    e->rvol_index = CSCALP_FEATURE_COUNT;
    for (uint32_t i = 0; i < CSCALP_FEATURE_COUNT; i++)
        if (strcmp(cscalp_features_name(i), "rvol_60s") == 0)
            e->rvol_index = i;
    if (e->rvol_index == CSCALP_FEATURE_COUNT) {
        snprintf(why, cap, "features: no rvol_60s feature for the policy's volatility");
        return CSCALP_EUNSUPPORTED;
    }
    e->next_decide_ns = INT64_MIN;
    return CSCALP_OK;
}

static void destroy(cscalp_engine *e)
{
    const cscalp_allocator mem = e->mem;
    cscalp_learn_destroy(e->learn);
    cscalp_regime_destroy(e->regime);
    cscalp_desk_destroy(e->desk);
    cscalp_mem_free(&mem, e->model_input);
    cscalp_mem_free(&mem, e->retry_path);
    cscalp_mem_free(&mem, e->last_error);
    cscalp_mem_free(&mem, e->features);
    cscalp_mem_free(&mem, e->feed);
    cscalp_mem_free(&mem, e);
}

static int open_failed(char *errbuf, size_t cap, int code, const char *what)
{
    if (errbuf != NULL && cap > 0 && what != errbuf)
        snprintf(errbuf, cap, "%s", what);
    return code;
}

/* A new engine for a validated configuration. */
static int engine_create(const cscalp_allocator *mem, const cscalp_config *cfg,
                         cscalp_engine **out, char *why, size_t cap)
{
    *out = NULL;
    cscalp_engine *e = cscalp_mem_calloc(mem, 1, sizeof *e);
    if (e == NULL) {
        snprintf(why, cap, "engine: out of memory");
        return CSCALP_ENOMEM;
    }
    e->mem = *mem;
    e->cfg = *cfg;
    e->feed = cscalp_mem_calloc(mem, 1, sizeof *e->feed);
    e->features = e->feed ? cscalp_mem_calloc(mem, 1, sizeof *e->features) : NULL;
    e->last_error = e->features ? cscalp_mem_calloc(mem, ERROR_TEXT_CAP, 1) : NULL;
    if (e->last_error == NULL) {
        destroy(e);
        snprintf(why, cap, "engine state: out of memory");
        return CSCALP_ENOMEM;
    }
    cscalp_feed_init(e->feed, (uint32_t)cfg->feed_book_levels, 0);
    cscalp_features_init(e->features, cfg->features_norm_interval_ms * 1000000,
                         cfg->features_norm_half_life_s, cfg->features_z_clip,
                         (uint64_t)cfg->features_norm_warmup_samples);
    cscalp_health_init(&e->health, 0);
    cscalp_supervisor_config sc;
    supervisor_config_of(cfg, &sc);
    cscalp_sup_init(&e->sup, &sc);
    e->watchdog_countdown = WATCHDOG_EVERY_EVENTS;
    int rc = model_create(e, why, cap);
    if (rc == CSCALP_OK)
        rc = decision_create(e, why, cap);
    if (rc != CSCALP_OK) {
        destroy(e);
        return rc;
    }
    apply_config(e);
    *out = e;
    return CSCALP_OK;
}

int cscalp_open_ex(cscalp_engine **out, const char *config_json,
                   const cscalp_allocator *allocator, char *errbuf,
                   size_t errbuf_cap)
{
    if (errbuf != NULL && errbuf_cap > 0)
        errbuf[0] = '\0';
    if (out == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "out: NULL pointer");
    *out = NULL;

    cscalp_allocator mem;
    if (cscalp_mem_init(&mem, allocator) != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL,
                           "allocator: alloc and free must both be set");

    cscalp_config cfg;
    cscalp_config_defaults(&cfg);
    char why[ERROR_TEXT_CAP];
    if (config_json != NULL) {
        const int rc = cscalp_config_apply_json(&cfg, config_json, why, sizeof why);
        if (rc != CSCALP_OK)
            return open_failed(errbuf, errbuf_cap, rc, why);
    }
    int rc = engine_create(&mem, &cfg, out, why, sizeof why);
    if (rc == CSCALP_OK && (rc = cscalp_learn_start((*out)->learn, why, sizeof why)) !=
                               CSCALP_OK) {
        destroy(*out);
        *out = NULL;
    }
    if (rc != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, rc, why);
    if ((*out)->cfg.risk_kill_switch == CSCALP_CONFIG_KILL_TRIPPED) {
        cscalp_desk_kill((*out)->desk, 0, "risk.kill_switch is \"tripped\" in the configuration");
        desk_done(*out); /* recorded in cscalp_health; no callback can be set yet */
    }
    return CSCALP_OK;
}

int cscalp_open(cscalp_engine **out, const char *config_json)
{
    return cscalp_open_ex(out, config_json, NULL, NULL, 0);
}

void cscalp_close(cscalp_engine *engine)
{
    if (engine != NULL)
        destroy(engine);
}

void cscalp_free(void *ptr)
{
    /* Nothing is handed out yet; when something is, it is malloc'ed. */
    free(ptr);
}

int cscalp_config_json(const cscalp_engine *engine, char *buf, size_t cap,
                       size_t *needed)
{
    if (engine == NULL || (buf == NULL && cap > 0))
        return CSCALP_EINVAL;
    const int rc = cscalp_config_write_json(&engine->cfg, buf, cap, needed);
    return buf == NULL ? CSCALP_OK : rc;
}

static void drain_learn_events(cscalp_engine *e);

int cscalp_configure(cscalp_engine *e, const char *json_patch)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (json_patch == NULL)
        return api_error(e, CSCALP_EINVAL, "json_patch: NULL pointer");

    cscalp_config next = e->cfg;
    char why[ERROR_TEXT_CAP];
    const cscalp_nn_backend *backend = e->backend;
    int rc = cscalp_config_apply_json(&next, json_patch, why, sizeof why);
    if (rc == CSCALP_OK) {
        const cscalp_config_key *fixed = cscalp_config_fixed_changed(&e->cfg, &next);
        if (fixed != NULL) {
            snprintf(why, sizeof why,
                     "%s: fixed when the engine opens; open a new engine to change it",
                     fixed->path);
            rc = CSCALP_ECONFIG_FIXED;
        }
    }
    if (rc == CSCALP_OK)
        rc = resolve_backend(&next, &backend, why, sizeof why);
    if (rc == CSCALP_OK)
        rc = decision_config_check(&next, why, sizeof why);
    if (rc != CSCALP_OK) {
        set_error(e, "%s", why);
        e->config_rejected++;
        cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_WARNING,
                           CSCALP_COMPONENT_ENGINE, CSCALP_EVENT_CONFIG_REJECTED, rc,
                           CSCALP_ACTION_REJECTED, why);
        return rc;
    }
    e->cfg = next;
    e->backend = backend;
    cscalp_learn_set_backend(e->learn, backend);
    apply_config(e);
    e->config_changes++;
    cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_INFO,
                       CSCALP_COMPONENT_ENGINE, CSCALP_EVENT_CONFIG_CHANGED, CSCALP_OK,
                       CSCALP_ACTION_APPLIED, "configuration patch applied");
    /* risk.kill_switch is the switch itself: "tripped" trips it by hand,
     * "armed" re-arms it. */
    const int killed = cscalp_desk_killed(e->desk);
    if (next.risk_kill_switch == CSCALP_CONFIG_KILL_TRIPPED && !killed)
        cscalp_desk_kill(e->desk, e->feed->clock_ns,
                         "risk.kill_switch set to \"tripped\" by cscalp_configure");
    else if (next.risk_kill_switch == CSCALP_CONFIG_KILL_ARMED && killed)
        cscalp_desk_rearm(e->desk, e->feed->clock_ns);
    desk_done(e);
    drain_learn_events(e); /* what the learner's watchdog found while the ring was full */
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Feed                                                                     */


static int reject_event(cscalp_engine *e, const cscalp_feed_reject *why)
{
    cscalp_feed_count_reject(e->feed, why);
    set_error(e, "%s", why->detail);
    cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_WARNING,
                       CSCALP_COMPONENT_FEED, CSCALP_EVENT_INPUT_REJECTED, why->error,
                       CSCALP_ACTION_REJECTED, why->detail);
    return why->error;
}

/* ------------------------------------------------------------------------ */
/* Supervisor (docs/self-healing.md)                                        */

#if defined(__GNUC__)
__attribute__((format(printf, 8, 9)))
#endif
static void sup_emit(cscalp_engine *e, int64_t at, int severity, int component, int event,
                     int error, int action, const char *fmt, ...)
{
    char msg[ERROR_TEXT_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cscalp_health_emit(&e->health, at, severity, component, event, error, action, msg);
}

static double ms_of(int64_t ns) { return (double)ns / 1e6; }

/* A rollback storm: autonomy one level down, on probation. */
static void on_rollback(cscalp_engine *e, int64_t at)
{
    int lower_to = 0;
    uint32_t in_window = 0;
    if (!cscalp_sup_on_rollback(&e->sup, at, cscalp_desk_autonomy(e->desk), &lower_to,
                                &in_window))
        return;
    e->sup.actions[CSCALP_PLAYBOOK_ROLLBACK_STORM]++;
    char why[200];
    snprintf(why, sizeof why,
             "supervisor: %u learner rollbacks within health.rollback_storm_window_s; "
             "restored after %.0f s without one",
             in_window, e->cfg.health_autonomy_probation_s);
    cscalp_desk_supervise_autonomy(e->desk, lower_to, at, why);
    desk_done(e);
}

/* The learning stage's health events, on the host's thread, and the
 * playbook rows they stand for. */
static void drain_learn_events(cscalp_engine *e)
{
    cscalp_learn_event ev;
    while (cscalp_learn_next_event(e->learn, &ev)) {
        cscalp_health_emit(&e->health, ev.ts_ns, ev.severity, ev.component, ev.event,
                           ev.error, ev.action, ev.message);
        switch (ev.event) {
        case CSCALP_EVENT_LEARNER_ROLLBACK:
            on_rollback(e, ev.ts_ns);
            break;
        case CSCALP_EVENT_LEARNING_RATE_CHANGED:
            if (ev.severity >= CSCALP_SEVERITY_WARNING)
                e->sup.actions[CSCALP_PLAYBOOK_NONFINITE_LEARNING]++;
            break;
        case CSCALP_EVENT_WEIGHTS_RESTORED:
            e->sup.actions[CSCALP_PLAYBOOK_NONFINITE_LEARNING]++;
            break;
        case CSCALP_EVENT_FALLBACK_ENGAGED:
            e->sup.actions[CSCALP_PLAYBOOK_FALLBACK]++;
            break;
        case CSCALP_EVENT_LEARNER_STALLED:
            e->sup.actions[CSCALP_PLAYBOOK_LEARNER_STALLED]++;
            break;
        case CSCALP_EVENT_LEARNER_SHEDDING:
            e->sup.actions[CSCALP_PLAYBOOK_LEARNER_BEHIND]++;
            break;
        default:
            break;
        }
    }
}

/* A trade, quote or book came at `at`: a silence the host never ticked
 * through is found here, and the feed's recovery ends here. */
static void on_data_transition(cscalp_engine *e, int64_t at, unsigned f, int64_t gap);

/* Inline for the common case (nothing to do); the transitions apart. */
static inline void supervise_data(cscalp_engine *e, int64_t at)
{
    int64_t gap = 0;
    const unsigned f = cscalp_sup_on_data(&e->sup, at, &gap);
    if (f != 0)
        on_data_transition(e, at, f, gap);
}

static void on_data_transition(cscalp_engine *e, int64_t at, unsigned f, int64_t gap)
{
    if (f & CSCALP_SUP_FEED_GAP) {
        e->sup.actions[CSCALP_PLAYBOOK_STALE_FEED]++;
        cscalp_desk_cancel_all(e->desk, CSCALP_INTENT_SUPERVISOR, at);
        sup_emit(e, at, CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_FEED, CSCALP_EVENT_FEED_STALE,
                 CSCALP_OK, CSCALP_ACTION_SUSPENDED,
                 "no market data for %.0f ms (over health.stale_feed_ms %lld): working orders "
                 "cancelled; exits only until data flows for health.feed_resume_ms",
                 ms_of(gap), (long long)e->cfg.health_stale_feed_ms);
    }
    if (f & CSCALP_SUP_FEED_RESUMED)
        sup_emit(e, at, CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_FEED, CSCALP_EVENT_FEED_RESUMED,
                 CSCALP_OK, CSCALP_ACTION_RESUMED,
                 "market data fresh for health.feed_resume_ms (%lld ms); stale since %lld: "
                 "entries allowed again",
                 (long long)e->cfg.health_feed_resume_ms,
                 (long long)cscalp_sup_stale_since(&e->sup));
}

/* The clock moved to `at` (an event or a tick): the detectors that go by
 * time, and every WATCHDOG_EVERY_EVENTS events (or at a tick) the
 * learner's heartbeat. Checkpoint retries run from cscalp_tick only. */
static void on_time_transition(cscalp_engine *e, int64_t at, unsigned f);

static inline void supervise_time(cscalp_engine *e, int64_t at, int is_tick)
{
    const unsigned f = cscalp_sup_on_time(&e->sup, at);
    if (f != 0)
        on_time_transition(e, at, f);
    if (is_tick || --e->watchdog_countdown == 0) {
        e->watchdog_countdown = WATCHDOG_EVERY_EVENTS;
        cscalp_learn_watchdog(e->learn);
    }
}

static void on_time_transition(cscalp_engine *e, int64_t at, unsigned f)
{
    if (f & CSCALP_SUP_FEED_STALE) {
        e->sup.actions[CSCALP_PLAYBOOK_STALE_FEED]++;
        cscalp_desk_cancel_all(e->desk, CSCALP_INTENT_SUPERVISOR, at);
        sup_emit(e, at, CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_FEED, CSCALP_EVENT_FEED_STALE,
                 CSCALP_OK, CSCALP_ACTION_SUSPENDED,
                 "no market data since %lld (over health.stale_feed_ms %lld): working orders "
                 "cancelled, nothing new sent until data flows again",
                 (long long)e->sup.last_data_ns, (long long)e->cfg.health_stale_feed_ms);
    }
    if (f & CSCALP_SUP_PROBATION_OVER) {
        const int to = cscalp_sup_lowered_from(&e->sup);
        /* Only the supervisor's own lowering is undone: a host's level or
         * the kill switch's MANUAL stands. */
        if (cscalp_desk_autonomy(e->desk) == cscalp_sup_lowered_to(&e->sup) &&
            !cscalp_desk_killed(e->desk))
            cscalp_desk_supervise_autonomy(
                e->desk, to, at,
                "supervisor: probation of health.autonomy_probation_s without a rollback");
    }
    if (f & CSCALP_SUP_BREAKER_HALF_OPEN)
        sup_emit(e, at, CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_RISK,
                 CSCALP_EVENT_BREAKER_HALF_OPEN, CSCALP_OK, CSCALP_ACTION_NONE,
                 "circuit breaker half-open after %.0f ms: one probe order may go",
                 ms_of(cscalp_sup_breaker_cooldown(&e->sup)));
}

/* The outlier screen for a trade's price or a quote's or book's new mid:
 * CSCALP_OK to apply the event (*confirmed when it confirmed a new level),
 * or CSCALP_EOUTLIER: counted, reported, nothing applied, never learned
 * from (docs/self-healing.md, "Quarantine"). */
static int screen_verdict(cscalp_engine *e, const char *what, double price, int64_t at,
                          int verdict, double jump, int *confirmed);

static inline int screen_price(cscalp_engine *e, const char *what, double price, int64_t at,
                               int *confirmed)
{
    *confirmed = 0;
    double jump = 0.0;
    const int verdict = cscalp_sup_screen(&e->sup, price, at, &jump);
    if (verdict == CSCALP_SCREEN_PASS)
        return CSCALP_OK;
    return screen_verdict(e, what, price, at, verdict, jump, confirmed);
}

static int screen_verdict(cscalp_engine *e, const char *what, double price, int64_t at,
                          int verdict, double jump, int *confirmed)
{
    if (verdict == CSCALP_SCREEN_RESET) {
        *confirmed = 1; /* a jump after a silence is no step of the mid */
        return CSCALP_OK;
    }
    if (verdict == CSCALP_SCREEN_CONFIRMED) {
        *confirmed = 1;
        sup_emit(e, at, CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_FEED,
                 CSCALP_EVENT_LEVEL_CONFIRMED, CSCALP_OK, CSCALP_ACTION_APPLIED,
                 "%s %.10g: %lld events agreed on a level %.1f bps from the old reference; "
                 "accepted as a real move",
                 what, price, (long long)e->cfg.feed_outlier_confirm_events, jump);
        return CSCALP_OK;
    }
    e->sup.actions[CSCALP_PLAYBOOK_QUARANTINE]++;
    cscalp_feed_reject why;
    why.error = CSCALP_EOUTLIER;
    why.reason = CSCALP_REJECT_OUTLIER;
    snprintf(why.detail, sizeof why.detail,
             "%s: %.10g is %.1f bps from the reference mid %.10g, beyond the outlier screen's "
             "%.1f bps: quarantined",
             what, price, jump, e->sup.ref_mid, cscalp_sup_screen_threshold_bps(&e->sup));
    cscalp_feed_count_reject(e->feed, &why);
    set_error(e, "%s", why.detail);
    cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_WARNING,
                       CSCALP_COMPONENT_FEED, CSCALP_EVENT_DATA_QUARANTINED, CSCALP_EOUTLIER,
                       CSCALP_ACTION_REJECTED, why.detail);
    return CSCALP_EOUTLIER;
}

/* Component conditions for cscalp_health (docs/health.md, "Status"). */
static void conditions_of(const cscalp_engine *e, uint32_t flags, int *cond)
{
    for (int c = 0; c < CSCALP_COMPONENT_COUNT; c++)
        cond[c] = CSCALP_STATUS_OK;
    if (flags & (CSCALP_SUPERVISOR_FEED_STALE | CSCALP_SUPERVISOR_FEED_RECOVERING |
                 CSCALP_SUPERVISOR_QUARANTINE))
        cond[CSCALP_COMPONENT_FEED] = CSCALP_STATUS_DEGRADED;
    if (flags & (CSCALP_SUPERVISOR_BREAKER_OPEN | CSCALP_SUPERVISOR_BREAKER_HALF_OPEN |
                 CSCALP_SUPERVISOR_AUTONOMY_LOWERED))
        cond[CSCALP_COMPONENT_RISK] = CSCALP_STATUS_DEGRADED;
    if (cscalp_desk_killed(e->desk))
        cond[CSCALP_COMPONENT_RISK] = CSCALP_STATUS_FAILED;
    if (flags & (CSCALP_SUPERVISOR_LEARNER_SHEDDING | CSCALP_SUPERVISOR_LR_LOWERED |
                 CSCALP_SUPERVISOR_FALLBACK_SERVING))
        cond[CSCALP_COMPONENT_LEARNER] = CSCALP_STATUS_DEGRADED;
    if (flags & CSCALP_SUPERVISOR_LEARNER_DOWN)
        cond[CSCALP_COMPONENT_LEARNER] = CSCALP_STATUS_FAILED;
    if (flags & CSCALP_SUPERVISOR_CHECKPOINT_RETRY)
        cond[CSCALP_COMPONENT_PERSIST] = CSCALP_STATUS_DEGRADED;
}

/* Work every accepted event does before the feed applies it: the features'
 * normalisation sample on the clock grid, the samples whose time horizon
 * has passed (labelled with what was known before this event), and the
 * report of a late event. */
static void before_event(cscalp_engine *e, int64_t event_ns, int64_t at_ns)
{
    cscalp_features_before_event(e->features, e->feed, at_ns);
    cscalp_learn_before_event(e->learn, at_ns);
    cscalp_desk_settle_funding(e->desk, at_ns);
    if (event_ns != at_ns) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "ts_ns %lld is %lld ns before the clock; accepted at the clock time",
                 (long long)event_ns, (long long)(at_ns - event_ns));
        cscalp_health_emit(&e->health, at_ns, CSCALP_SEVERITY_INFO,
                           CSCALP_COMPONENT_FEED, CSCALP_EVENT_TIME_REGRESSION,
                           CSCALP_OK, CSCALP_ACTION_CLAMPED, msg);
    }
}

/* A regime step on the grid (docs/regime.md), from the raw features at t;
 * a change of the current regime is an INFO health event. */
static void regime_step(cscalp_engine *e, int64_t at_ns)
{
    double raw[CSCALP_FEATURE_COUNT];
    cscalp_features_eval(e->features, e->feed, at_ns, raw);
    /* The observations use 60 s windows: steps before they cover a full
     * minute of market would describe the start of the data, not a regime. */
    const int warm = e->feed->has_top && cscalp_features_warm(e->features) &&
                     cscalp_features_history_ns(e->features, at_ns) >= 60 * 1000000000LL;
    cscalp_regime_change change;
    if (!cscalp_regime_step(e->regime, at_ns, raw, warm, &change))
        return;
    char msg[160];
    snprintf(msg, sizeof msg, "regime %u -> %u (posterior %.3f)", change.from, change.to,
             change.probability);
    cscalp_health_emit(&e->health, at_ns, CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_REGIME,
                       CSCALP_EVENT_REGIME_CHANGED, CSCALP_OK, CSCALP_ACTION_APPLIED, msg);
}

/* The first grid time after t on a grid of `step` ns (floor division, so
 * negative event times work too). */
static int64_t next_grid(int64_t t, int64_t step)
{
    int64_t q = t / step;
    if (t % step != 0 && t < 0)
        q--;
    return (q + 1) * step;
}

/* The signal at the engine clock from the live (or fallback) model.
 * CSCALP_ENONFINITE, with the detail in the engine's error text, when the
 * model's output is not finite; nothing else changes. */
static int signal_now(cscalp_engine *e, cscalp_signal *s)
{
    const int64_t now = e->feed->clock_ns;
    cscalp_features_model_input(e->features, e->feed, now, (uint32_t)e->cfg.model_lag_count,
                                e->model_input);
    cscalp_learn_prediction out;
    cscalp_learn_predict(e->learn, e->model_input, cscalp_regime_gate(e->regime), &out);
    /* Renormalised in double so the three sum to 1 to the last bit a host
     * can see; float rounding leaves them a few ulps off. */
    double total = (double)out.probs[0] + (double)out.probs[1] + (double)out.probs[2];
    if (!isfinite(total) && cscalp_learn_heal_live(e->learn)) {
        /* Corrupted live weights: the supervisor restored the last good
         * copy (docs/self-healing.md); this very call is answered by it. */
        drain_learn_events(e);
        cscalp_learn_predict(e->learn, e->model_input, cscalp_regime_gate(e->regime), &out);
        total = (double)out.probs[0] + (double)out.probs[1] + (double)out.probs[2];
    }
    const double p0 = (double)out.probs[0] / total, p1 = (double)out.probs[1] / total,
                 p2 = (double)out.probs[2] / total;
    if (!isfinite(p0 + p1 + p2) || !(total > 0.0)) {
        set_error(e, "model: non-finite output (%g, %g, %g)", (double)out.probs[0],
                  (double)out.probs[1], (double)out.probs[2]);
        return CSCALP_ENONFINITE;
    }
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->ts_ns = now;
    s->probabilities[CSCALP_CLASS_DOWN] = p0;
    s->probabilities[CSCALP_CLASS_FLAT] = p1;
    s->probabilities[CSCALP_CLASS_UP] = p2;
    s->expected_move_bps = (p2 - p0) * e->cfg.model_prior_move_bps;
    double entropy = 0.0;
    for (int c = 0; c < 3; c++)
        if (s->probabilities[c] > 0.0)
            entropy -= s->probabilities[c] * log(s->probabilities[c]);
    s->confidence = 1.0 - entropy / log(3.0);
    s->confidence = s->confidence < 0.0 ? 0.0 : s->confidence;
    s->regime = (int32_t)cscalp_regime_current(e->regime);
    s->regime_probability = cscalp_regime_current_probability(e->regime);
    s->autonomy = cscalp_desk_autonomy(e->desk);
    s->model_version = out.version;
    if (!e->feed->has_top)
        s->reasons |= CSCALP_REASON_NO_QUOTE;
    if (!cscalp_features_warm(e->features))
        s->reasons |= CSCALP_REASON_WARMUP;
    if (!out.trained)
        s->reasons |= CSCALP_REASON_UNTRAINED;
    if (out.source == CSCALP_LEARN_FALLBACK)
        s->reasons |= CSCALP_REASON_FALLBACK;
    return CSCALP_OK;
}

/* σ over the label horizon, bps: rvol_60s is in bps per √s and grows
 * with √H. The floor keeps a quiet (or not yet measured) market from
 * asking for an unbounded position; the caps bound it anyway. */
static double horizon_sigma_bps(const cscalp_engine *e)
{
    double raw[CSCALP_FEATURE_COUNT];
    cscalp_features_eval(e->features, e->feed, e->feed->clock_ns, raw);
    const double sigma = raw[e->rvol_index] * sqrt((double)e->cfg.learn_horizon_ms * 1e-3);
    return isfinite(sigma) && sigma > e->cfg.policy_min_sigma_bps ? sigma
                                                                  : e->cfg.policy_min_sigma_bps;
}

/* What the policy sees now: the signal, the touch, σ, the book-keeping and
 * the regime's parameters. `working` must hold CSCALP_DESK_MAX_WORKING
 * entries. Needs a quote. */
static void policy_input_of(cscalp_engine *e, const cscalp_signal *s, double sigma_bps,
                            cscalp_policy_working *working, cscalp_policy_input *in)
{
    const cscalp_feed *feed = e->feed;
    const int64_t now = feed->clock_ns;
    memset(in, 0, sizeof *in);
    /* A signal from zero inputs (no quote, normaliser warming up) says
     * nothing: no move, so the policy wants no position (and exits). */
    const int blind = (s->reasons & (CSCALP_REASON_NO_QUOTE | CSCALP_REASON_WARMUP)) != 0;
    in->expected_move_bps = blind ? 0.0 : s->expected_move_bps;
    in->confidence = blind ? 0.0 : s->confidence;
    in->bid = feed->top.bid;
    in->ask = feed->top.ask;
    in->sigma_bps = sigma_bps;
    in->position = cscalp_desk_position(e->desk);
    in->equity = cscalp_desk_equity(e->desk);
    cscalp_regime_policy_now(e->regime, &in->regime);
    /* An untrained model's moves are its initialisation's: it trades at
     * policy.untrained_size_factor of the size (0 by default: exits only). */
    if (s->reasons & CSCALP_REASON_UNTRAINED)
        in->regime.size_factor *= e->cfg.policy_untrained_size_factor;
    if (in->regime.max_leverage > e->cfg.risk_max_leverage)
        in->regime.max_leverage = e->cfg.risk_max_leverage;
    in->brackets = e->cfg.policy_liquidation_sigmas > 0.0 ? &e->brackets : NULL;
    const cscalp_orders *orders = cscalp_desk_orders(e->desk);
    const uint32_t n = cscalp_orders_working(orders);
    for (uint32_t i = 0; i < n && i < CSCALP_DESK_MAX_WORKING; i++) {
        const cscalp_order *o = cscalp_orders_at(orders, i);
        working[i].id = o->id;
        working[i].side = o->side;
        working[i].price = o->price;
        working[i].remaining = o->size - o->filled;
        working[i].created_ns = o->created_ns;
        working[i].cancelling = o->state == CSCALP_ORDER_PENDING_CANCEL;
    }
    in->working = working;
    in->working_count = n < CSCALP_DESK_MAX_WORKING ? n : CSCALP_DESK_MAX_WORKING;
    in->now_ns = now;
}

/* Policy decisions one grid step may take: a cancel and a new order on
 * each side at most. More would only be refused by the rate limits. */
#define DECISIONS_PER_STEP 4

/* One step of the decision grid (docs/policy.md): the kill switch's work
 * or the policy's orders through the desk (sent only above MANUAL). The
 * desk was marked at the touch by every change of it (after_event). */
static void decide_step(cscalp_engine *e, int64_t at_ns)
{
    if (!e->feed->has_top)
        return;
    if (cscalp_desk_killed(e->desk)) {
        cscalp_desk_halt_step(e->desk, at_ns);
        return;
    }
    const int manual = cscalp_desk_autonomy(e->desk) == CSCALP_AUTONOMY_MANUAL;
    cscalp_signal s;
    if (signal_now(e, &s) != CSCALP_OK) {
        e->decisions_without_signal++;
        clear_error(e);
        return;
    }
    const double sigma_bps = horizon_sigma_bps(e); /* the market does not move within a step */
    cscalp_policy_working working[CSCALP_DESK_MAX_WORKING];
    for (int k = 0; k < DECISIONS_PER_STEP; k++) {
        /* The supervisor's gate on new orders (a stale feed, the breaker);
         * cancels always go. */
        const int gate = cscalp_sup_gate(&e->sup);
        cscalp_policy_input in;
        policy_input_of(e, &s, sigma_bps, working, &in);
        cscalp_policy_decision d;
        if (cscalp_policy_decide(&e->policy, &in, &d) != CSCALP_OK)
            return;
        e->last_decision = d;
        e->last_sigma_bps = in.sigma_bps;
        e->decisions++;
        /* At MANUAL the policy still decides, for the signal's target and
         * the stats; nothing is sent. */
        if (d.action == CSCALP_POLICY_HOLD || manual)
            return;
        if (d.action != CSCALP_POLICY_CANCEL &&
            (gate == CSCALP_GATE_NONE ||
             ((gate == CSCALP_GATE_EXITS || gate == CSCALP_GATE_PROBE_EXITS) && !d.reduce_only))) {
            e->orders_held_by_supervisor++;
            return;
        }
        cscalp_desk_order o;
        memset(&o, 0, sizeof o);
        o.reason = d.reason; /* the policy's reasons are the intent reasons' first five */
        o.regime = s.regime;
        o.expected_move_bps = s.expected_move_bps;
        o.target_position = d.target;
        if (d.action == CSCALP_POLICY_CANCEL) {
            o.kind = CSCALP_INTENT_CANCEL;
            o.cancel_id = d.cancel_id;
        } else {
            o.kind = CSCALP_INTENT_NEW;
            o.side = d.side;
            o.type = d.type == CSCALP_POLICY_MARKET ? CSCALP_ORDER_MARKET : CSCALP_ORDER_POST_ONLY;
            o.price = d.price;
            o.quantity = d.size;
            o.reduce_only = d.reduce_only;
            o.edge_bps = d.type == CSCALP_POLICY_MARKET ? d.edge_taker_bps : d.edge_maker_bps;
        }
        if (!cscalp_desk_submit(e->desk, &o, at_ns))
            return;
        if (o.kind == CSCALP_INTENT_NEW &&
            (gate == CSCALP_GATE_PROBE || gate == CSCALP_GATE_PROBE_EXITS))
            cscalp_sup_probe_sent(&e->sup,
                                  cscalp_orders_next_id(cscalp_desk_orders(e->desk)) - 1, at_ns);
    }
}

_Static_assert((int)CSCALP_POLICY_ENTRY == (int)CSCALP_INTENT_ENTRY &&
                   (int)CSCALP_POLICY_EXIT == (int)CSCALP_INTENT_EXIT &&
                   (int)CSCALP_POLICY_REPRICE == (int)CSCALP_INTENT_REPRICE &&
                   (int)CSCALP_POLICY_TTL == (int)CSCALP_INTENT_TTL &&
                   (int)CSCALP_POLICY_STALE == (int)CSCALP_INTENT_STALE,
               "policy reasons are passed on as intent reasons");

/* Work after the feed applied an event: a quote or book (`moved_top`)
 * moves the mid the labels follow; then a decision sample when one is due,
 * on exactly the input cscalp_infer would see now. */
static void after_event(cscalp_engine *e, int64_t at_ns, int moved_top, int is_data,
                        int is_tick)
{
    const cscalp_feed *feed = e->feed;
    if (is_data)
        supervise_data(e, at_ns);
    supervise_time(e, at_ns, is_tick);
    if (moved_top && feed->has_top) {
        const double mid = 0.5 * (feed->top.bid + feed->top.ask);
        cscalp_learn_on_mid(e->learn, at_ns, mid);
        cscalp_desk_mark(e->desk, feed->top.bid, feed->top.ask, at_ns);
    }
    if (cscalp_regime_due(e->regime, at_ns))
        regime_step(e, at_ns);
    if (cscalp_learn_sample_due(e->learn, at_ns)) {
        double half_spread_bps = 0.0;
        if (feed->has_top) {
            const double mid = 0.5 * (feed->top.bid + feed->top.ask);
            half_spread_bps = 0.5 * (feed->top.ask - feed->top.bid) / mid * 1e4;
        }
        cscalp_features_model_input(e->features, feed, at_ns,
                                    (uint32_t)e->cfg.model_lag_count, e->model_input);
        cscalp_learn_take_sample(e->learn, at_ns, half_spread_bps, e->model_input,
                                 cscalp_regime_gate(e->regime),
                                 cscalp_features_warm(e->features));
    }
    drain_learn_events(e);
    if (at_ns >= e->next_decide_ns) {
        decide_step(e, at_ns);
        e->next_decide_ns = next_grid(at_ns, e->cfg.policy_decide_interval_ms * 1000000);
    }
    desk_done(e);
}

int cscalp_push_trade(cscalp_engine *e, const cscalp_trade *trade)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (trade == NULL)
        return api_error(e, CSCALP_EINVAL, "trade: NULL pointer");
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_trade(e->feed, trade, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    int confirmed = 0;
    const int screened = screen_price(e, "trade.price", trade->price, at, &confirmed);
    if (screened != CSCALP_OK)
        return screened;
    before_event(e, trade->ts_ns, at);
    cscalp_feed_apply_trade(e->feed, trade, at);
    after_event(e, at, 0, 1, 0);
    return CSCALP_OK;
}

/* Quotes and books both move the top of book, which the features follow
 * and the outlier screen takes as its reference. */
static void top_changed(cscalp_engine *e, const cscalp_top *prev, int had_top,
                        int64_t at, int jumped)
{
    cscalp_features_on_top(e->features, had_top ? prev : NULL, &e->feed->top, at);
    if (e->feed->has_top)
        cscalp_sup_accept_top(&e->sup, 0.5 * (e->feed->top.bid + e->feed->top.ask), jumped);
}

int cscalp_push_quote(cscalp_engine *e, const cscalp_quote *quote)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (quote == NULL)
        return api_error(e, CSCALP_EINVAL, "quote: NULL pointer");
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_quote(e->feed, quote, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    int confirmed = 0;
    const int screened = screen_price(e, "quote mid", 0.5 * (quote->bid_price + quote->ask_price),
                                      at, &confirmed);
    if (screened != CSCALP_OK)
        return screened;
    before_event(e, quote->ts_ns, at);
    const cscalp_top prev = e->feed->top;
    const int had_top = e->feed->has_top;
    cscalp_feed_apply_quote(e->feed, quote, at);
    top_changed(e, &prev, had_top, at, confirmed);
    after_event(e, at, 1, 1, 0);
    return CSCALP_OK;
}

int cscalp_push_book(cscalp_engine *e, const cscalp_book *book)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (book == NULL)
        return api_error(e, CSCALP_EINVAL, "book: NULL pointer");
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_book(e->feed, book, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    int confirmed = 0;
    if (book->bid_count > 0 && book->ask_count > 0) {
        const int screened =
            screen_price(e, "book mid", 0.5 * (book->bids[0].price + book->asks[0].price), at,
                         &confirmed);
        if (screened != CSCALP_OK)
            return screened;
    }
    before_event(e, book->ts_ns, at);
    const cscalp_top prev = e->feed->top;
    const int had_top = e->feed->has_top;
    cscalp_feed_apply_book(e->feed, book, at);
    top_changed(e, &prev, had_top, at, confirmed);
    after_event(e, at, 1, 1, 0);
    return CSCALP_OK;
}

int cscalp_push_funding(cscalp_engine *e, const cscalp_funding *funding)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (funding == NULL)
        return api_error(e, CSCALP_EINVAL, "funding: NULL pointer");
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_funding(e->feed, funding, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    before_event(e, funding->ts_ns, at);
    cscalp_feed_apply_funding(e->feed, funding, at);
    cscalp_desk_on_funding(e->desk, funding->funding_rate, funding->mark_price,
                           funding->next_funding_ts_ns);
    after_event(e, at, 0, 0, 0);
    return CSCALP_OK;
}

typedef int (*push_one_fn)(cscalp_engine *, const void *);

static int push_trade_any(cscalp_engine *e, const void *p) { return cscalp_push_trade(e, p); }
static int push_quote_any(cscalp_engine *e, const void *p) { return cscalp_push_quote(e, p); }
static int push_book_any(cscalp_engine *e, const void *p) { return cscalp_push_book(e, p); }
static int push_funding_any(cscalp_engine *e, const void *p) { return cscalp_push_funding(e, p); }

/* The batch rule of the header: stop at the first refusal, or with
 * CSCALP_BATCH_SKIP_INVALID try every event and return the first refusal. */
static int push_batch(cscalp_engine *e, const void *arr, size_t stride, size_t n,
                      unsigned int flags, size_t *accepted, push_one_fn push_one)
{
    if (accepted != NULL)
        *accepted = 0;
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (arr == NULL && n > 0)
        return api_error(e, CSCALP_EINVAL, "arr: NULL pointer with n > 0");
    if ((flags & ~CSCALP_BATCH_SKIP_INVALID) != 0)
        return api_error(e, CSCALP_EINVAL, "flags: unknown bits");

    const int skip = (flags & CSCALP_BATCH_SKIP_INVALID) != 0;
    const char *p = arr;
    size_t ok = 0;
    int first_error = CSCALP_OK;
    char first_detail[ERROR_TEXT_CAP] = "";
    for (size_t i = 0; i < n; i++, p += stride) {
        const int rc = push_one(e, p);
        if (rc == CSCALP_OK) {
            ok++;
            continue;
        }
        if (first_error == CSCALP_OK) {
            first_error = rc;
            snprintf(first_detail, sizeof first_detail, "event %zu: %s", i,
                     e->last_error);
        }
        if (!skip)
            break;
    }
    if (accepted != NULL)
        *accepted = ok;
    if (first_error != CSCALP_OK)
        set_error(e, "%s", first_detail);
    else
        clear_error(e);
    return first_error;
}

int cscalp_push_trades(cscalp_engine *e, const cscalp_trade *arr, size_t n,
                       unsigned int flags, size_t *accepted)
{
    return push_batch(e, arr, sizeof *arr, n, flags, accepted, push_trade_any);
}

int cscalp_push_quotes(cscalp_engine *e, const cscalp_quote *arr, size_t n,
                       unsigned int flags, size_t *accepted)
{
    return push_batch(e, arr, sizeof *arr, n, flags, accepted, push_quote_any);
}

int cscalp_push_books(cscalp_engine *e, const cscalp_book *arr, size_t n,
                      unsigned int flags, size_t *accepted)
{
    return push_batch(e, arr, sizeof *arr, n, flags, accepted, push_book_any);
}

int cscalp_push_fundings(cscalp_engine *e, const cscalp_funding *arr, size_t n,
                         unsigned int flags, size_t *accepted)
{
    return push_batch(e, arr, sizeof *arr, n, flags, accepted, push_funding_any);
}

static int write_checkpoint(cscalp_engine *e, const char *path, int retry);

int cscalp_tick(cscalp_engine *e, int64_t now_ns)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_time(e->feed, now_ns, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    /* A late tick is a no-op, not a clamped event: nothing is applied. */
    cscalp_features_before_event(e->features, e->feed, at);
    cscalp_learn_before_event(e->learn, at);
    cscalp_desk_settle_funding(e->desk, at);
    cscalp_feed_advance(e->feed, at);
    after_event(e, at, 0, 0, 1);
    /* A due checkpoint retry, once the tick's work is done: the file holds
     * the engine between calls, as a host's own cscalp_save does. */
    if (e->sup.retry_pending && at >= e->sup.retry_due_ns && e->retry_path != NULL) {
        write_checkpoint(e, e->retry_path, 1);
        drain_learn_events(e);
        clear_error(e); /* the tick itself succeeded; the event told the rest */
    }
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Features                                                                 */

size_t cscalp_feature_count(void) { return CSCALP_FEATURE_COUNT; }

int cscalp_feature_names(const char **names, size_t cap, size_t *count)
{
    if (count != NULL)
        *count = CSCALP_FEATURE_COUNT;
    if (names == NULL && cap > 0)
        return CSCALP_EINVAL;
    const size_t n = cap < CSCALP_FEATURE_COUNT ? cap : CSCALP_FEATURE_COUNT;
    for (size_t i = 0; i < n; i++)
        names[i] = cscalp_features_name(i);
    return cap < CSCALP_FEATURE_COUNT ? CSCALP_EBUFFER : CSCALP_OK;
}

int cscalp_features(const cscalp_engine *e, double *raw, double *normalized,
                    size_t cap, size_t *count)
{
    if (count != NULL)
        *count = CSCALP_FEATURE_COUNT;
    if (e == NULL)
        return CSCALP_EINVAL;
    if ((raw != NULL || normalized != NULL) && cap < CSCALP_FEATURE_COUNT)
        return CSCALP_EBUFFER;
    double x[CSCALP_FEATURE_COUNT];
    cscalp_features_eval(e->features, e->feed, e->feed->clock_ns, x);
    if (raw != NULL)
        memcpy(raw, x, sizeof x);
    if (normalized != NULL)
        cscalp_features_normalize(e->features, x, normalized);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Inference                                                                */

int cscalp_infer(cscalp_engine *e, cscalp_signal *signal)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (signal == NULL)
        return api_error(e, CSCALP_EINVAL, "signal: NULL pointer");
    if (signal->size < sizeof(cscalp_signal))
        return api_error(e, CSCALP_ESTRUCT,
                         "signal.size: smaller than the version-1 cscalp_signal");

    const int64_t now = e->feed->clock_ns;
    cscalp_signal s;
    if (signal_now(e, &s) != CSCALP_OK) {
        e->inference_failures++;
        cscalp_health_emit(&e->health, now, CSCALP_SEVERITY_ERROR, CSCALP_COMPONENT_MODEL,
                           CSCALP_EVENT_MODEL_OUTPUT_INVALID, CSCALP_ENONFINITE,
                           CSCALP_ACTION_REJECTED, e->last_error);
        return CSCALP_ENONFINITE;
    }
    e->inferences++;
    s.size = signal->size;
    /* The policy's target at the latest decision step: deciding here too
     * would cost more than the inference itself (the liquidation cap's
     * bisection), on a call the budget keeps under a microsecond. */
    s.target_position = e->last_decision.target;
    memcpy(signal, &s, sizeof s);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Learning                                                                 */

int cscalp_adapt(cscalp_engine *e, uint32_t budget_steps, cscalp_adapt_report *report)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (report != NULL && report->size < sizeof(cscalp_adapt_report))
        return api_error(e, CSCALP_ESTRUCT,
                         "report.size: smaller than the version-1 cscalp_adapt_report");
    cscalp_adapt_report r;
    memset(&r, 0, sizeof r);
    cscalp_learn_adapt(e->learn, budget_steps, &r);
    drain_learn_events(e);
    if (report != NULL) {
        r.size = report->size;
        memcpy(report, &r, sizeof r);
    }
    return CSCALP_OK;
}

const cscalp_learn *cscalp_engine_learner(const cscalp_engine *e) { return e->learn; }

int cscalp_fault_inject(cscalp_engine *e, int fault, uint32_t count)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    switch (fault) {
    case CSCALP_FAULT_NAN_GRADIENT:
        return cscalp_learn_fault(e->learn, CSCALP_LEARN_FAULT_NAN_STEP, count);
    case CSCALP_FAULT_EXPLODING_GRADIENT:
        return cscalp_learn_fault(e->learn, CSCALP_LEARN_FAULT_EXPLODE, count);
    case CSCALP_FAULT_CORRUPT_WEIGHTS:
        return cscalp_learn_fault(e->learn, CSCALP_LEARN_FAULT_CORRUPT, count);
    case CSCALP_FAULT_LEARNER_STALL:
        return cscalp_learn_fault(e->learn, CSCALP_LEARN_FAULT_STALL, count);
    case CSCALP_FAULT_LEARNER_DEATH:
        return cscalp_learn_fault(e->learn, CSCALP_LEARN_FAULT_DIE, count);
    case CSCALP_FAULT_SKEW_WEIGHTS:
        return cscalp_learn_fault(e->learn, CSCALP_LEARN_FAULT_SKEW, count);
    case CSCALP_FAULT_WRITE_FAILURE:
        e->fault_write_failures = count;
        return CSCALP_OK;
    default:
        return CSCALP_EINVAL;
    }
}

/* ------------------------------------------------------------------------ */
/* Decisions: intents, order updates, position, autonomy                    */

/* No struct of a later version will approach this; a larger size is an
 * uninitialised field, and writing with it as the stride would scatter
 * intents over the host's memory. */
#define POLL_STRIDE_MAX 65536u

/* An output array's stride (its first element's size): at least the
 * version-1 struct, at most POLL_STRIDE_MAX. */
static int stride_ok(size_t stride, size_t version1_size)
{
    return stride >= version1_size && stride <= POLL_STRIDE_MAX;
}

int cscalp_poll_intents(cscalp_engine *e, cscalp_intent *out, size_t cap)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (out == NULL && cap > 0)
        return api_error(e, CSCALP_EINVAL, "out: NULL pointer with cap > 0");
    if (cap == 0)
        return 0;
    if (!stride_ok(out[0].size, sizeof(cscalp_intent)))
        return api_error(e, CSCALP_ESTRUCT,
                         "out[0].size: smaller than the version-1 cscalp_intent, or above "
                         "65536 (not set?)");
    /* The return value is an int, and cap × stride must be addressable. */
    size_t most = cap > (size_t)INT32_MAX ? (size_t)INT32_MAX : cap;
    if (most > SIZE_MAX / out[0].size)
        most = SIZE_MAX / out[0].size;
    return (int)cscalp_desk_poll(e->desk, out, out[0].size, most);
}

int cscalp_on_order(cscalp_engine *e, const cscalp_order_update *update)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (update == NULL)
        return api_error(e, CSCALP_EINVAL, "update: NULL pointer");
    if (update->size < sizeof(cscalp_order_update)) {
        /* A refused update like the others: the host's order stream has
         * a hole it should know about. */
        const char *what = "update.size: smaller than the version-1 cscalp_order_update";
        set_error(e, "%s", what);
        e->api_errors++;
        cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_WARNING,
                           CSCALP_COMPONENT_RISK, CSCALP_EVENT_ORDER_UPDATE_REFUSED,
                           CSCALP_ESTRUCT, CSCALP_ACTION_REJECTED, what);
        return CSCALP_ESTRUCT;
    }
    /* An ASSISTED entry the host declined comes back REJECTED too; it says
     * nothing of the venue, so the breaker does not count it. */
    const cscalp_order *o = cscalp_orders_find(cscalp_desk_orders(e->desk), update->client_id);
    const int declined = o != NULL && o->needs_confirmation && !o->acked;
    char why[ERROR_TEXT_CAP] = "";
    const int64_t at = e->feed->clock_ns;
    const int rc = cscalp_desk_on_update(e->desk, update, at, why, sizeof why);
    if (rc != CSCALP_OK)
        set_error(e, "%s", why);
    desk_done(e);
    if (rc == CSCALP_OK && update->type == CSCALP_UPDATE_REJECTED && !declined) {
        uint32_t in_window = 0;
        const int64_t was_cooldown = cscalp_sup_breaker_cooldown(&e->sup);
        if (cscalp_sup_on_reject(&e->sup, at, update->client_id, &in_window) &
            CSCALP_SUP_BREAKER_OPENED) {
            e->sup.actions[CSCALP_PLAYBOOK_REJECT_BREAKER]++;
            if (in_window > 0)
                sup_emit(e, at, CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_RISK,
                         CSCALP_EVENT_BREAKER_OPENED, CSCALP_OK, CSCALP_ACTION_SUSPENDED,
                         "circuit breaker open: %u venue rejects within "
                         "health.reject_breaker_window_ms (%lld); no new orders for %.0f ms, "
                         "then one probe",
                         in_window, (long long)e->cfg.health_reject_breaker_window_ms,
                         ms_of(cscalp_sup_breaker_cooldown(&e->sup)));
            else
                sup_emit(e, at, CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_RISK,
                         CSCALP_EVENT_BREAKER_OPENED, CSCALP_OK, CSCALP_ACTION_SUSPENDED,
                         "circuit breaker open again: the probe order %llu was rejected; no "
                         "new orders for %.0f ms (was %.0f)",
                         (unsigned long long)update->client_id,
                         ms_of(cscalp_sup_breaker_cooldown(&e->sup)), ms_of(was_cooldown));
        }
    } else if (rc == CSCALP_OK && update->type != CSCALP_UPDATE_REJECTED) {
        if (cscalp_sup_on_answer(&e->sup, update->client_id) & CSCALP_SUP_BREAKER_CLOSED)
            sup_emit(e, at, CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_RISK,
                     CSCALP_EVENT_BREAKER_CLOSED, CSCALP_OK, CSCALP_ACTION_RESUMED,
                     "circuit breaker closed: the venue took the probe order %llu; orders "
                     "flow again",
                     (unsigned long long)update->client_id);
    }
    return rc;
}

int cscalp_set_position(cscalp_engine *e, double position, double entry_price)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    char why[ERROR_TEXT_CAP] = "";
    const int rc = cscalp_desk_set_position(e->desk, position, entry_price, e->feed->clock_ns,
                                            why, sizeof why);
    if (rc != CSCALP_OK)
        return api_error(e, rc, why);
    desk_done(e);
    return CSCALP_OK;
}

int cscalp_get_position(const cscalp_engine *e, cscalp_position *out)
{
    if (e == NULL || out == NULL)
        return CSCALP_EINVAL;
    if (out->size < sizeof(cscalp_position))
        return CSCALP_ESTRUCT;
    cscalp_position p;
    memset(&p, 0, sizeof p);
    cscalp_desk_get_position(e->desk, &p);
    p.size = out->size;
    memcpy(out, &p, sizeof p);
    return CSCALP_OK;
}

int cscalp_get_orders(const cscalp_engine *e, cscalp_working_order *out, size_t cap)
{
    if (e == NULL || (out == NULL && cap > 0))
        return CSCALP_EINVAL;
    const cscalp_orders *orders = cscalp_desk_orders(e->desk);
    const uint32_t n = cscalp_orders_working(orders);
    if (cap == 0)
        return (int)n;
    const size_t stride = out[0].size;
    if (!stride_ok(stride, sizeof(cscalp_working_order)))
        return CSCALP_ESTRUCT;
    unsigned char *at = (unsigned char *)out;
    for (uint32_t i = 0; i < n && i < cap; i++, at += stride) {
        const cscalp_order *o = cscalp_orders_at(orders, i);
        cscalp_working_order w;
        memset(&w, 0, sizeof w);
        w.size = (uint32_t)stride;
        w.side = o->side > 0 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL;
        w.client_id = o->id;
        w.created_ns = o->created_ns;
        w.status = o->state == CSCALP_ORDER_PENDING_NEW    ? CSCALP_ORDER_STATUS_PENDING_NEW
                   : o->state == CSCALP_ORDER_OPEN         ? CSCALP_ORDER_STATUS_OPEN
                   : o->state == CSCALP_ORDER_PARTIAL      ? CSCALP_ORDER_STATUS_PARTIAL
                                                           : CSCALP_ORDER_STATUS_PENDING_CANCEL;
        w.flags = o->reduce_only ? CSCALP_INTENT_REDUCE_ONLY : 0u;
        w.price = o->price;
        w.quantity = o->size;
        w.filled = o->filled;
        w.acked = o->acked ? 1 : 0;
        w.type = o->price > 0.0 ? CSCALP_ORDER_POST_ONLY : CSCALP_ORDER_MARKET;
        memcpy(at, &w, sizeof w); /* bytes past the struct are the caller's, as in polling */
    }
    return (int)n;
}

int cscalp_set_autonomy(cscalp_engine *e, int level)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    char why[ERROR_TEXT_CAP] = "";
    const int rc = cscalp_desk_set_autonomy(e->desk, level, e->feed->clock_ns, why, sizeof why);
    if (rc != CSCALP_OK) {
        desk_done(e);
        return api_error(e, rc, why);
    }
    cscalp_sup_host_autonomy(&e->sup); /* the host's level stands: no probation */
    desk_done(e);
    return CSCALP_OK;
}

int cscalp_get_autonomy(const cscalp_engine *e)
{
    return e == NULL ? CSCALP_AUTONOMY_MANUAL : cscalp_desk_autonomy(e->desk);
}

/* ------------------------------------------------------------------------ */
/* Checkpoints (docs/checkpoint.md)                                         */

/* Section ids; a checkpoint needs every one. */
enum {
    SECTION_CONFIG = 1,
    SECTION_ENGINE = 2,
    SECTION_HEALTH = 3,
    SECTION_FEED = 4,
    SECTION_FEATURES = 5,
    SECTION_LEARN = 6,
    SECTION_REGIME = 7,
    SECTION_DECISIONS = 8,
    SECTION_SUPERVISOR = 9 /* optional: a checkpoint without it loads with every detector clear */
};

/* No checkpoint this library writes comes near this; a bigger file is
 * refused before it is read. */
#define CHECKPOINT_MAX_BYTES ((size_t)1 << 34 > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)1 << 34)

static void save_engine_counters(const cscalp_engine *e, cscalp_wbuf *w)
{
    cscalp_put_u32(w, CSCALP_FEATURE_COUNT);
    cscalp_put_u64(w, e->inferences);
    cscalp_put_u64(w, e->inference_failures);
    cscalp_put_u64(w, e->api_errors);
    cscalp_put_u64(w, e->config_changes);
    cscalp_put_u64(w, e->config_rejected);
    cscalp_put_u64(w, e->checkpoints_saved);
    cscalp_put_u64(w, e->checkpoints_failed);
}

/* The decision path: the engine's grid and counters, then the desk. */
static void save_decisions(const cscalp_engine *e, cscalp_wbuf *w)
{
    cscalp_put_i64(w, e->next_decide_ns);
    cscalp_put_u64(w, e->decisions);
    cscalp_put_u64(w, e->decisions_without_signal);
    /* The last decision's reasoning, for the stats. */
    const cscalp_policy_decision *d = &e->last_decision;
    cscalp_put_f64(w, d->edge_maker_bps);
    cscalp_put_f64(w, d->edge_taker_bps);
    cscalp_put_u32(w, (uint32_t)(d->direction + 1));
    cscalp_put_f64(w, d->target_raw);
    cscalp_put_f64(w, d->target);
    cscalp_put_u32(w, (uint32_t)d->cap);
    cscalp_put_f64(w, e->last_sigma_bps);
    cscalp_desk_save(e->desk, w);
}

static int load_decisions(cscalp_engine *e, cscalp_rbuf *r, char *why, size_t cap)
{
    e->next_decide_ns = cscalp_get_i64(r);
    e->decisions = cscalp_get_u64(r);
    e->decisions_without_signal = cscalp_get_u64(r);
    cscalp_policy_decision *d = &e->last_decision;
    memset(d, 0, sizeof *d);
    d->edge_maker_bps = cscalp_get_f64(r);
    d->edge_taker_bps = cscalp_get_f64(r);
    const uint32_t direction = cscalp_get_u32(r);
    d->target_raw = cscalp_get_f64(r);
    d->target = cscalp_get_f64(r);
    const uint32_t bound = cscalp_get_u32(r);
    e->last_sigma_bps = cscalp_get_f64(r);
    if (!r->failed && (direction > 2 || bound > 3 || !isfinite(d->target) ||
                       !isfinite(d->target_raw) || !isfinite(e->last_sigma_bps))) {
        snprintf(why, cap, "checkpoint: the last decision is out of range");
        return CSCALP_ECORRUPT;
    }
    d->direction = (int)direction - 1;
    d->cap = (int)bound;
    const int rc = cscalp_desk_load(e->desk, r, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    const int tripped = e->cfg.risk_kill_switch == CSCALP_CONFIG_KILL_TRIPPED;
    if (tripped != cscalp_desk_killed(e->desk)) {
        snprintf(why, cap, "checkpoint: risk.kill_switch is \"%s\" but the saved switch is %s",
                 tripped ? "tripped" : "armed", tripped ? "armed" : "tripped");
        return CSCALP_ECORRUPT;
    }
    return CSCALP_OK;
}

/* The whole checkpoint into w. */
static int build_checkpoint(cscalp_engine *e, cscalp_wbuf *w, char *why, size_t cap)
{
    size_t json_len = 0;
    cscalp_config_write_json(&e->cfg, NULL, 0, &json_len);
    char *json = cscalp_mem_calloc(&e->mem, json_len + 1, 1);
    if (json == NULL) {
        snprintf(why, cap, "checkpoint: out of memory");
        return CSCALP_ENOMEM;
    }
    cscalp_config_write_json(&e->cfg, json, json_len + 1, NULL);

    cscalp_ckpt_writer cw;
    cscalp_ckpt_begin(&cw, w);
    cscalp_ckpt_begin_section(&cw, SECTION_CONFIG);
    cscalp_put_bytes(w, json, json_len);
    cscalp_ckpt_end_section(&cw);
    cscalp_mem_free(&e->mem, json);
    cscalp_ckpt_begin_section(&cw, SECTION_ENGINE);
    save_engine_counters(e, w);
    cscalp_ckpt_end_section(&cw);
    cscalp_ckpt_begin_section(&cw, SECTION_HEALTH);
    cscalp_health_save(&e->health, w);
    cscalp_ckpt_end_section(&cw);
    cscalp_ckpt_begin_section(&cw, SECTION_FEED);
    cscalp_feed_save(e->feed, w);
    cscalp_ckpt_end_section(&cw);
    cscalp_ckpt_begin_section(&cw, SECTION_FEATURES);
    cscalp_features_save(e->features, w);
    cscalp_ckpt_end_section(&cw);
    cscalp_ckpt_begin_section(&cw, SECTION_LEARN);
    cscalp_learn_save(e->learn, w);
    cscalp_ckpt_end_section(&cw);
    cscalp_ckpt_begin_section(&cw, SECTION_REGIME);
    cscalp_regime_save(e->regime, w);
    cscalp_ckpt_end_section(&cw);
    cscalp_ckpt_begin_section(&cw, SECTION_DECISIONS);
    save_decisions(e, w);
    cscalp_ckpt_end_section(&cw);
    cscalp_ckpt_begin_section(&cw, SECTION_SUPERVISOR);
    cscalp_sup_save(&e->sup, w);
    cscalp_put_f64(w, cscalp_learn_lr_factor(e->learn));
    cscalp_put_u64(w, cscalp_learn_lr_changed_at_step(e->learn));
    cscalp_ckpt_end_section(&cw);
    const int rc = cscalp_ckpt_finish(&cw);
    if (rc != CSCALP_OK || w->failed) {
        snprintf(why, cap, "checkpoint: out of memory");
        return CSCALP_ENOMEM;
    }
    return CSCALP_OK;
}

/* Fault injection (engine_internal.h): the checkpoint's write(2) fails
 * with ENOSPC while the engine's count lasts; the other calls are real. */
static ssize_t failing_write(void *ctx, int fd, const void *buf, size_t n)
{
    cscalp_engine *e = ctx;
    if (e->fault_write_failures > 0) {
        e->fault_write_failures--;
        errno = ENOSPC;
        return -1;
    }
    const cscalp_ckpt_io *sys = cscalp_ckpt_system_io();
    return sys->write(sys->ctx, fd, buf, n);
}

/* Write a checkpoint to `path` (docs/checkpoint.md). A failure keeps the
 * previous file (the write is atomic) and, unless health.checkpoint_retry_ms
 * is 0, schedules a retry that cscalp_tick runs after a doubling back-off
 * (docs/self-healing.md); a success ends any retry. */
static int write_checkpoint(cscalp_engine *e, const char *path, int retry)
{
    char why[ERROR_TEXT_CAP] = "";
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &e->mem);
    int rc = build_checkpoint(e, &w, why, sizeof why);
    if (rc == CSCALP_OK) {
        const cscalp_ckpt_io *sys = cscalp_ckpt_system_io();
        const cscalp_ckpt_io faulty = {failing_write, sys->fsync, sys->close, sys->rename, e};
        rc = cscalp_ckpt_write_file_io(e->fault_write_failures > 0 ? &faulty : NULL, path,
                                       w.data, w.len, why, sizeof why);
    }
    const size_t len = w.len;
    cscalp_wbuf_free(&w);
    const int64_t now = e->feed->clock_ns;
    if (rc != CSCALP_OK) {
        e->checkpoints_failed++;
        e->sup.actions[CSCALP_PLAYBOOK_CHECKPOINT]++;
        set_error(e, "%s", why);
        int64_t backoff = cscalp_sup_checkpoint_failed(&e->sup, now);
        if (backoff > 0 && !retry && (e->retry_path == NULL || strcmp(e->retry_path, path) != 0)) {
            const size_t n = strlen(path) + 1;
            char *copy = cscalp_mem_calloc(&e->mem, n, 1);
            if (copy != NULL) {
                memcpy(copy, path, n);
                cscalp_mem_free(&e->mem, e->retry_path);
                e->retry_path = copy;
            } else {
                /* No room even for the path: the host must save again. */
                cscalp_sup_checkpoint_saved(&e->sup);
                backoff = 0;
            }
        }
        if (backoff > 0)
            sup_emit(e, now, CSCALP_SEVERITY_ERROR, CSCALP_COMPONENT_PERSIST,
                     CSCALP_EVENT_CHECKPOINT_FAILED, rc, CSCALP_ACTION_RETRYING,
                     "%s; the previous checkpoint is intact; cscalp_tick retries in %.0f ms "
                     "(failure %u in a row)",
                     why, ms_of(backoff), e->sup.retry_failures);
        else
            sup_emit(e, now, CSCALP_SEVERITY_ERROR, CSCALP_COMPONENT_PERSIST,
                     CSCALP_EVENT_CHECKPOINT_FAILED, rc, CSCALP_ACTION_REJECTED,
                     "%s; the previous checkpoint is intact", why);
        return rc;
    }
    e->checkpoints_saved++;
    const uint32_t failures = e->sup.retry_failures;
    cscalp_sup_checkpoint_saved(&e->sup);
    /* `path` may be the retry's copy: freed only after the event names it. */
    char *done_path = e->retry_path;
    e->retry_path = NULL;
    if (retry)
        sup_emit(e, now, CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_PERSIST,
                 CSCALP_EVENT_CHECKPOINT_SAVED, CSCALP_OK, CSCALP_ACTION_RESUMED,
                 "checkpoint of %zu bytes saved to %.400s by the retry after %u failures", len,
                 path, failures);
    else
        sup_emit(e, now, CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_PERSIST,
                 CSCALP_EVENT_CHECKPOINT_SAVED, CSCALP_OK, CSCALP_ACTION_APPLIED,
                 "checkpoint of %zu bytes saved to %.400s", len, path);
    cscalp_mem_free(&e->mem, done_path);
    return CSCALP_OK;
}

int cscalp_save(cscalp_engine *e, const char *path)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (path == NULL || path[0] == '\0')
        return api_error(e, CSCALP_EINVAL, "path: NULL or empty");
    const int rc = write_checkpoint(e, path, 0);
    drain_learn_events(e); /* saving drained the learner: what it found */
    return rc;
}

int cscalp_save_buffer(cscalp_engine *e, void *buf, size_t cap, size_t *needed)
{
    if (e == NULL || (buf == NULL && cap > 0))
        return CSCALP_EINVAL;
    clear_error(e);
    char why[ERROR_TEXT_CAP] = "";
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &e->mem);
    int rc = build_checkpoint(e, &w, why, sizeof why);
    drain_learn_events(e); /* what the learner's drain found (a restart) */
    if (rc != CSCALP_OK) {
        cscalp_wbuf_free(&w);
        set_error(e, "%s", why);
        return rc;
    }
    if (needed != NULL)
        *needed = w.len;
    if (buf != NULL) {
        if (cap < w.len) {
            rc = CSCALP_EBUFFER;
            set_error(e, "cap: %zu bytes, the checkpoint needs %zu", cap, w.len);
        } else {
            memcpy(buf, w.data, w.len);
        }
    }
    cscalp_wbuf_free(&w);
    return rc;
}

/* Read one section with `load`, which must consume it exactly. */
static int load_section(const cscalp_ckpt_reader *rd, uint32_t id, const char *name,
                        cscalp_rbuf *r, char *why, size_t cap)
{
    if (cscalp_ckpt_section(rd, id, r, why, cap) != CSCALP_OK) {
        snprintf(why, cap, "checkpoint: the %s section (id %u) is missing", name, id);
        return CSCALP_ECORRUPT;
    }
    return CSCALP_OK;
}

static int section_done(const cscalp_rbuf *r, const char *name, int rc, char *why,
                        size_t cap)
{
    if (rc != CSCALP_OK)
        return rc;
    if (r->failed) {
        snprintf(why, cap, "checkpoint: the %s section ends early", name);
        return CSCALP_ECORRUPT;
    }
    if (cscalp_rbuf_left(r) != 0) {
        snprintf(why, cap, "checkpoint: %zu bytes after the %s section's last field",
                 cscalp_rbuf_left(r), name);
        return CSCALP_ECORRUPT;
    }
    return CSCALP_OK;
}

static int load_engine_counters(cscalp_engine *e, cscalp_rbuf *r, char *why, size_t cap)
{
    const uint32_t features = cscalp_get_u32(r);
    if (!r->failed && features != CSCALP_FEATURE_COUNT) {
        snprintf(why, cap,
                 "checkpoint: written by a library with %u features, this one has %d",
                 features, CSCALP_FEATURE_COUNT);
        return CSCALP_EVERSION;
    }
    e->inferences = cscalp_get_u64(r);
    e->inference_failures = cscalp_get_u64(r);
    e->api_errors = cscalp_get_u64(r);
    e->config_changes = cscalp_get_u64(r);
    e->config_rejected = cscalp_get_u64(r);
    e->checkpoints_saved = cscalp_get_u64(r);
    e->checkpoints_failed = cscalp_get_u64(r);
    return CSCALP_OK;
}

static int load_supervisor(cscalp_engine *e, cscalp_rbuf *r, char *why, size_t cap)
{
    const int rc = cscalp_sup_load(&e->sup, r, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    const double lr = cscalp_get_f64(r);
    const uint64_t changed_at = cscalp_get_u64(r);
    if (!r->failed && !(lr > 0.0 && lr <= 1.0)) {
        snprintf(why, cap, "supervisor: learning-rate factor %g outside (0, 1]", lr);
        return CSCALP_ECORRUPT;
    }
    if (!r->failed)
        cscalp_learn_set_lr_state(e->learn, lr, changed_at);
    return CSCALP_OK;
}

/* Verify, then build an engine from verified bytes; nothing is left on error. */
static int open_from_bytes(const cscalp_allocator *mem, const void *data, size_t len,
                           cscalp_engine **out, char *why, size_t cap)
{
    cscalp_ckpt_reader rd;
    int rc = cscalp_ckpt_parse(data, len, &rd, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    cscalp_rbuf r;
    rc = load_section(&rd, SECTION_CONFIG, "config", &r, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    const size_t json_len = cscalp_rbuf_left(&r);
    char *json = cscalp_mem_calloc(mem, json_len + 1, 1);
    if (json == NULL) {
        snprintf(why, cap, "checkpoint: out of memory");
        return CSCALP_ENOMEM;
    }
    cscalp_get_bytes(&r, json, json_len);
    cscalp_config cfg;
    cscalp_config_defaults(&cfg);
    char inner[ERROR_TEXT_CAP] = "a NUL byte inside the JSON text";
    rc = strlen(json) != json_len ? CSCALP_EJSON
                                  : cscalp_config_apply_json(&cfg, json, inner, sizeof inner);
    cscalp_mem_free(mem, json);
    if (rc != CSCALP_OK) {
        snprintf(why, cap, "checkpoint: the saved configuration is refused: %.400s", inner);
        return rc == CSCALP_EUNSUPPORTED ? rc : CSCALP_ECORRUPT;
    }
    cscalp_engine *e = NULL;
    rc = engine_create(mem, &cfg, &e, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    if (rc == CSCALP_OK && (rc = load_section(&rd, SECTION_ENGINE, "engine", &r, why, cap)) ==
                               CSCALP_OK)
        rc = section_done(&r, "engine", load_engine_counters(e, &r, why, cap), why, cap);
    if (rc == CSCALP_OK && (rc = load_section(&rd, SECTION_HEALTH, "health", &r, why, cap)) ==
                               CSCALP_OK)
        rc = section_done(&r, "health", cscalp_health_load(&e->health, &r, why, cap), why,
                          cap);
    if (rc == CSCALP_OK &&
        (rc = load_section(&rd, SECTION_FEED, "feed", &r, why, cap)) == CSCALP_OK)
        rc = section_done(&r, "feed", cscalp_feed_load(e->feed, &r, why, cap), why, cap);
    if (rc == CSCALP_OK && (rc = load_section(&rd, SECTION_FEATURES, "features", &r, why,
                                              cap)) == CSCALP_OK)
        rc = section_done(&r, "features", cscalp_features_load(e->features, &r, why, cap),
                          why, cap);
    if (rc == CSCALP_OK &&
        (rc = load_section(&rd, SECTION_LEARN, "learn", &r, why, cap)) == CSCALP_OK)
        rc = section_done(&r, "learn", cscalp_learn_load(e->learn, &r, why, cap), why, cap);
    if (rc == CSCALP_OK &&
        (rc = load_section(&rd, SECTION_REGIME, "regime", &r, why, cap)) == CSCALP_OK)
        rc = section_done(&r, "regime", cscalp_regime_load(e->regime, &r, why, cap), why,
                          cap);
    if (rc == CSCALP_OK && (rc = load_section(&rd, SECTION_DECISIONS, "decisions", &r, why,
                                              cap)) == CSCALP_OK)
        rc = section_done(&r, "decisions", load_decisions(e, &r, why, cap), why, cap);
    if (rc == CSCALP_OK && cscalp_ckpt_section(&rd, SECTION_SUPERVISOR, &r, why, cap) ==
                               CSCALP_OK)
        rc = section_done(&r, "supervisor", load_supervisor(e, &r, why, cap), why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_learn_start(e->learn, why, cap);
    if (rc != CSCALP_OK) {
        destroy(e);
        return rc;
    }
    *out = e;
    return CSCALP_OK;
}

int cscalp_open_buffer(cscalp_engine **out, const void *data, size_t len,
                       const cscalp_allocator *allocator, char *errbuf, size_t errbuf_cap)
{
    if (errbuf != NULL && errbuf_cap > 0)
        errbuf[0] = '\0';
    if (out == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "out: NULL pointer");
    *out = NULL;
    if (data == NULL && len > 0)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "data: NULL with len > 0");
    cscalp_allocator mem;
    if (cscalp_mem_init(&mem, allocator) != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL,
                           "allocator: alloc and free must both be set");
    char why[ERROR_TEXT_CAP] = "";
    const int rc = open_from_bytes(&mem, data, len, out, why, sizeof why);
    return rc == CSCALP_OK ? rc : open_failed(errbuf, errbuf_cap, rc, why);
}

int cscalp_open_checkpoint(cscalp_engine **out, const char *path,
                           const cscalp_allocator *allocator, char *errbuf, size_t errbuf_cap)
{
    if (errbuf != NULL && errbuf_cap > 0)
        errbuf[0] = '\0';
    if (out == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "out: NULL pointer");
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "path: NULL or empty");
    cscalp_allocator mem;
    if (cscalp_mem_init(&mem, allocator) != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL,
                           "allocator: alloc and free must both be set");
    char why[ERROR_TEXT_CAP] = "";
    void *data = NULL;
    size_t len = 0;
    int rc = cscalp_ckpt_read_file(&mem, path, CHECKPOINT_MAX_BYTES, &data, &len, why,
                                   sizeof why);
    if (rc == CSCALP_OK) {
        rc = open_from_bytes(&mem, data, len, out, why, sizeof why);
        cscalp_mem_free(&mem, data);
    }
    return rc == CSCALP_OK ? rc : open_failed(errbuf, errbuf_cap, rc, why);
}

/* ------------------------------------------------------------------------ */
/* Health                                                                   */

int cscalp_set_health_callback(cscalp_engine *e, cscalp_health_fn fn,
                               void *user_data)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    e->health.fn = fn;
    e->health.user_data = fn != NULL ? user_data : NULL;
    return CSCALP_OK;
}

int cscalp_health(const cscalp_engine *e, cscalp_health_report *report)
{
    if (e == NULL || report == NULL)
        return CSCALP_EINVAL;
    if (report->size < sizeof(cscalp_health_report))
        return CSCALP_ESTRUCT;
    cscalp_health_report r;
    memset(&r, 0, sizeof r);
    r.size = report->size;
    r.component_count = CSCALP_COMPONENT_COUNT;
    r.clock_ns = e->feed->clock_ns;
    r.supervisor_flags = cscalp_sup_flags(&e->sup) | cscalp_learn_flags(e->learn);
    int conditions[CSCALP_COMPONENT_COUNT];
    conditions_of(e, r.supervisor_flags, conditions);
    cscalp_health_snapshot(&e->health, e->feed->clock_ns, conditions, r.components);
    memcpy(r.feed_accepted, e->feed->accepted, sizeof r.feed_accepted);
    memcpy(r.feed_rejected, e->feed->rejected, sizeof r.feed_rejected);
    r.time_clamped = e->feed->time_clamped;
    r.playbook_count = CSCALP_PLAYBOOK_COUNT;
    memcpy(r.playbook_actions, e->sup.actions, sizeof e->sup.actions);
    memcpy(report, &r, sizeof r);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Stats                                                                    */

static const char *const kind_names[CSCALP_KIND_COUNT] = {"trade", "quote", "book",
                                                         "funding"};
static const char *const reject_names[CSCALP_REJECT_REASON_COUNT] = {
    "nonfinite", "price", "size", "side", "crossed", "levels", "time", "field", "outlier"};

int cscalp_stats_json(const cscalp_engine *e, char *buf, size_t cap, size_t *needed)
{
    if (e == NULL || (buf == NULL && cap > 0))
        return CSCALP_EINVAL;
    const cscalp_feed *feed = e->feed;
    cscalp_json_writer w;
    cscalp_jw_init(&w, buf, cap);
    cscalp_jw_begin_object(&w, NULL);
    cscalp_jw_int(&w, "clock_ns", feed->clock_ns);

    cscalp_jw_begin_object(&w, "feed");
    cscalp_jw_begin_object(&w, "accepted");
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        cscalp_jw_uint(&w, kind_names[k], feed->accepted[k]);
    cscalp_jw_end_object(&w);
    cscalp_jw_begin_object(&w, "rejected");
    for (int r = 0; r < CSCALP_REJECT_REASON_COUNT; r++)
        cscalp_jw_uint(&w, reject_names[r], feed->rejected[r]);
    cscalp_jw_end_object(&w);
    cscalp_jw_uint(&w, "time_clamped", feed->time_clamped);
    cscalp_jw_uint(&w, "book_levels_kept", feed->levels_kept);
    cscalp_jw_end_object(&w);

    cscalp_jw_begin_object(&w, "features");
    cscalp_jw_uint(&w, "count", CSCALP_FEATURE_COUNT);
    cscalp_jw_uint(&w, "norm_samples", e->features->norm.samples);
    cscalp_jw_end_object(&w);

    cscalp_jw_begin_object(&w, "model");
    cscalp_jw_uint(&w, "parameters", cscalp_nn_param_count(&e->arch));
    cscalp_jw_uint(&w, "inputs", e->arch.inputs);
    cscalp_jw_string(&w, "backend", e->backend->name);
    cscalp_jw_uint(&w, "version", cscalp_learn_model_version(e->learn));
    cscalp_jw_uint(&w, "inferences", e->inferences);
    cscalp_jw_uint(&w, "inference_failures", e->inference_failures);
    cscalp_jw_end_object(&w);

    cscalp_learn_write_stats(e->learn, &w);
    cscalp_regime_write_stats(e->regime, &w);

    const cscalp_policy_decision *d = &e->last_decision;
    cscalp_jw_begin_object(&w, "policy");
    cscalp_jw_uint(&w, "decisions", e->decisions);
    cscalp_jw_uint(&w, "decisions_without_signal", e->decisions_without_signal);
    cscalp_jw_begin_object(&w, "last");
    cscalp_jw_double(&w, "edge_maker_bps", d->edge_maker_bps);
    cscalp_jw_double(&w, "edge_taker_bps", d->edge_taker_bps);
    cscalp_jw_int(&w, "direction", d->direction);
    cscalp_jw_double(&w, "sigma_bps", e->last_sigma_bps);
    cscalp_jw_double(&w, "target_raw", d->target_raw);
    cscalp_jw_double(&w, "target", d->target);
    static const char *const cap_names[] = {"none", "position", "leverage", "liquidation"};
    cscalp_jw_string(&w, "cap", d->cap >= 0 && d->cap <= 3 ? cap_names[d->cap] : "none");
    cscalp_jw_end_object(&w);
    cscalp_jw_end_object(&w);
    cscalp_desk_write_stats(e->desk, &w);

    cscalp_jw_begin_object(&w, "engine");
    cscalp_jw_uint(&w, "health_events", e->health.events_total);
    cscalp_jw_uint(&w, "api_errors", e->api_errors);
    cscalp_jw_uint(&w, "config_changes", e->config_changes);
    cscalp_jw_uint(&w, "config_rejected", e->config_rejected);
    cscalp_jw_uint(&w, "checkpoints_saved", e->checkpoints_saved);
    cscalp_jw_uint(&w, "checkpoints_failed", e->checkpoints_failed);
    cscalp_jw_end_object(&w);

    cscalp_sup_write_stats(&e->sup, cscalp_sup_flags(&e->sup) | cscalp_learn_flags(e->learn),
                           e->orders_held_by_supervisor, &w);

    cscalp_jw_end_object(&w);
    const int rc = cscalp_jw_finish(&w, needed);
    return buf == NULL ? CSCALP_OK : rc;
}
