#include "persist/config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cryptoscalp.h"
#include "util/json_writer.h"

#define KEY(path_, type_, field_, def_, min_, max_, minx_, doc_)               \
    { .path = path_, .type = type_, .offset = offsetof(cscalp_config, field_),   \
      .default_value = def_, .min = min_, .max = max_, .min_exclusive = minx_,  \
      .doc = doc_ }

static const char *const activation_choices[] = {"relu", "silu", NULL};
static const char *const backend_choices[] = {"auto", "cpu", "blas", NULL};
static const int64_t default_hidden_sizes[] = {64, 64};
/* Per regime, calm → violent (docs/regime.md, "Per-regime parameters"). */
static const double default_regime_size_factors[] = {1.0, 0.6, 0.25};
static const double default_regime_entry_band_bps[] = {0.0, 1.0, 3.0};
static const double default_regime_max_leverage_factors[] = {5.0, 3.0, 1.0};

#define DOUBLE_LIST_KEY(path_, field_, defaults_, min_, max_, doc_)             \
    { .path = path_, .type = CSCALP_CONFIG_DOUBLE_LIST,                         \
      .offset = offsetof(cscalp_config, field_), .min = min_, .max = max_,      \
      .default_dlist = defaults_,                                               \
      .default_list_len = sizeof defaults_ / sizeof defaults_[0],               \
      .list_min_len = 1, .list_max_len = CSCALP_CONFIG_LIST_MAX, .doc = doc_ }
static const char *const kill_switch_choices[] = {"armed", "tripped", NULL};
/* Binance USDⓈ-M BTCUSDT maintenance-margin tiers of 2021-03-18
 * (docs/risk.md, "Liquidation price"); the amounts follow from the cum
 * formula. */
static const double default_bracket_caps[] = {50e3,  250e3, 1e6,   10e6,  20e6,
                                              50e6,  100e6, 200e6, 300e6, 500e6};
static const double default_bracket_rates[] = {0.004, 0.005, 0.01, 0.025, 0.05,
                                               0.10,  0.125, 0.15, 0.25,  0.50};
static const double default_bracket_leverage[] = {125, 100, 50, 20, 10, 5, 4, 3, 2, 1};
static const char *const learn_mode_choices[] = {"off", "inline", "async", NULL};
static const char *const label_choices[] = {"point", "smoothed", NULL};
static const char *const band_choices[] = {"cost", "fixed", "quantile", NULL};

#define CHOICE_KEY(path_, field_, choices_, def_, fixed_, doc_)                 \
    { .path = path_, .type = CSCALP_CONFIG_CHOICE,                              \
      .offset = offsetof(cscalp_config, field_), .choices = choices_,           \
      .default_value = def_, .fixed_at_open = fixed_, .doc = doc_ }
#define FIXED_KEY(path_, type_, field_, def_, min_, max_, doc_)                 \
    { .path = path_, .type = type_, .offset = offsetof(cscalp_config, field_),   \
      .default_value = def_, .min = min_, .max = max_, .fixed_at_open = 1,      \
      .doc = doc_ }

/* Sorted by section so the JSON output groups keys; docs/config.md mirrors
 * this table and a test checks that every key is documented there. */
static const cscalp_config_key config_keys[] = {
    KEY("fees.taker_bps", CSCALP_CONFIG_DOUBLE, fees_taker_bps, 5, 0, 1000, 0,
        "taker fee per side, of notional (bps); labels' cost band uses twice it"),
    KEY("fees.maker_bps", CSCALP_CONFIG_DOUBLE, fees_maker_bps, 2, -100, 1000, 0,
        "maker fee per side, of notional (bps); negative for a rebate"),
    KEY("feed.book_levels", CSCALP_CONFIG_INT, feed_book_levels, 10, 1,
        CSCALP_BOOK_MAX_LEVELS, 0, "book levels kept per side (count)"),
    KEY("feed.max_time_regression_ms", CSCALP_CONFIG_DOUBLE,
        feed_max_time_regression_ms, 100, 0, 3600e3, 0,
        "how far before the clock an event may be and still be accepted "
        "at the clock time (ms)"),
    KEY("feed.outlier_confirm_events", CSCALP_CONFIG_INT, feed_outlier_confirm_events, 3, 1,
        1000, 0,
        "consecutive quarantined events agreeing on a new price level that make it a real "
        "move, accepted (count)"),
    KEY("feed.outlier_half_life_events", CSCALP_CONFIG_DOUBLE, feed_outlier_half_life_events,
        500, 1, 1e7, 0,
        "half-life of the outlier screen's estimate of the mid's step size (changes of "
        "the mid)"),
    KEY("feed.outlier_min_bps", CSCALP_CONFIG_DOUBLE, feed_outlier_min_bps, 300, 0, 1e5, 0,
        "a price this far from the reference mid is screened at least; 0 turns the outlier "
        "screen off (bps)"),
    KEY("feed.outlier_sigmas", CSCALP_CONFIG_DOUBLE, feed_outlier_sigmas, 10, 0, 1e4, 0,
        "the screen's threshold in the mid's typical step sizes, when that is above "
        "feed.outlier_min_bps (standard deviations)"),
    KEY("features.norm_half_life_s", CSCALP_CONFIG_DOUBLE,
        features_norm_half_life_s, 300, 0, 30 * 86400.0, 1,
        "half-life of the normaliser's mean and variance (s)"),
    KEY("features.norm_interval_ms", CSCALP_CONFIG_INT,
        features_norm_interval_ms, 1000, 1, 3600e3, 0,
        "event-time grid on which the normaliser samples the vector (ms)"),
    KEY("features.norm_warmup_samples", CSCALP_CONFIG_INT,
        features_norm_warmup_samples, 30, 1, 1e9, 0,
        "normaliser samples before z-scores are non-zero (count)"),
    KEY("features.z_clip", CSCALP_CONFIG_DOUBLE, features_z_clip, 5, 0.1, 1000,
        0, "z-scores are clipped to [-z_clip, z_clip] (standard deviations)"),
    KEY("health.degraded_hold_s", CSCALP_CONFIG_DOUBLE, health_degraded_hold_s,
        10, 0, 86400, 0,
        "a component stays DEGRADED this long after a warning (s, event time)"),
    KEY("health.autonomy_probation_s", CSCALP_CONFIG_DOUBLE, health_autonomy_probation_s, 1800,
        0, 30 * 86400.0, 0,
        "after a rollback storm lowered autonomy, rollback-free time before it is restored "
        "(s, event time)"),
    KEY("health.checkpoint_retry_max_ms", CSCALP_CONFIG_INT, health_checkpoint_retry_max_ms,
        60000, 1, 86400e3, 0, "longest back-off between checkpoint retries (ms, event time)"),
    KEY("health.checkpoint_retry_ms", CSCALP_CONFIG_INT, health_checkpoint_retry_ms, 1000, 0,
        86400e3, 0,
        "first back-off before cscalp_tick retries a failed cscalp_save, doubling per "
        "failure; 0 = no retries (ms, event time)"),
    KEY("health.explode_grad_norm", CSCALP_CONFIG_DOUBLE, health_explode_grad_norm, 1e4, 0, 1e12,
        0,
        "a training step whose gradient norm (before clipping) exceeds this is refused like "
        "a non-finite one; 0 = off (L2 norm)"),
    KEY("health.feed_resume_ms", CSCALP_CONFIG_INT, health_feed_resume_ms, 1000, 0, 86400e3, 0,
        "after a stale feed, data must flow this long before entries resume; exits only "
        "meanwhile (ms, event time)"),
    KEY("health.learner_shed_fraction", CSCALP_CONFIG_DOUBLE, health_learner_shed_fraction, 0.5,
        0, 1, 0,
        "async learner queue fill at which training sheds load (half the steps; a quarter "
        "and half batches past the midpoint to full), until it falls below half this; "
        "0 = never shed (fraction)"),
    KEY("health.learner_stall_wall_ms", CSCALP_CONFIG_INT, health_learner_stall_wall_ms, 2000, 0,
        3600e3, 0,
        "async learner thread with work waiting and no progress this long is restarted; "
        "0 = off, and a drain then waits however long the thread takes (ms, monotonic "
        "wall clock: thread liveness is not a market-time matter)"),
    KEY("health.lr_cut_factor", CSCALP_CONFIG_DOUBLE, health_lr_cut_factor, 0.5, 0.01, 1, 0,
        "learning-rate multiplier applied at each refused (non-finite or exploding) step "
        "(factor)"),
    KEY("health.lr_floor_factor", CSCALP_CONFIG_DOUBLE, health_lr_floor_factor, 0.05, 1e-6, 1,
        0, "the cuts never take the learning rate below this share of learn.learning_rate "
           "(factor)"),
    KEY("health.lr_recover_steps", CSCALP_CONFIG_INT, health_lr_recover_steps, 1000, 1, 1e9, 0,
        "clean training steps after which one cut is undone (count)"),
    KEY("health.reject_breaker_cooldown_ms", CSCALP_CONFIG_INT,
        health_reject_breaker_cooldown_ms, 5000, 1, 86400e3, 0,
        "time the open breaker waits before one probe order, doubling after a rejected probe "
        "(ms, event time)"),
    KEY("health.reject_breaker_count", CSCALP_CONFIG_INT, health_reject_breaker_count, 5, 0, 64,
        0,
        "venue rejects within health.reject_breaker_window_ms that open the circuit breaker; "
        "0 = off (count)"),
    KEY("health.reject_breaker_max_cooldown_ms", CSCALP_CONFIG_INT,
        health_reject_breaker_max_cooldown_ms, 300000, 1, 86400e3, 0,
        "longest breaker cool-down (ms, event time)"),
    KEY("health.reject_breaker_window_ms", CSCALP_CONFIG_INT, health_reject_breaker_window_ms,
        10000, 1, 86400e3, 0, "window the breaker counts venue rejects in (ms, event time)"),
    KEY("health.rollback_storm_count", CSCALP_CONFIG_INT, health_rollback_storm_count, 3, 0, 64,
        0,
        "learner rollbacks within health.rollback_storm_window_s that lower autonomy one "
        "level; 0 = off (count)"),
    KEY("health.rollback_storm_window_s", CSCALP_CONFIG_DOUBLE, health_rollback_storm_window_s,
        600, 0.001, 30 * 86400.0, 0, "window of the rollback storm rule (s, event time)"),
    KEY("health.stale_feed_ms", CSCALP_CONFIG_INT, health_stale_feed_ms, 5000, 0, 86400e3, 0,
        "no trade, quote or book for this long (by cscalp_tick or an event's gap) makes the "
        "feed stale: working orders cancelled, nothing sent; 0 = off (ms, event time)"),
    FIXED_KEY("learn.async_queue_samples", CSCALP_CONFIG_INT, learn_async_queue, 4096, 16, 1 << 20,
              "async mode: matured samples waiting for the learner thread before new "
              "ones are dropped (count)"),
    FIXED_KEY("learn.band_quantile_fraction", CSCALP_CONFIG_DOUBLE, learn_band_quantile,
              0.333333333333, 0.001, 0.999,
              "quantile band: flat when |move| is at most this quantile of past |moves| "
              "(fraction)"),
    FIXED_KEY("learn.band_warmup_samples", CSCALP_CONFIG_INT, learn_band_warmup_labels, 100, 1,
              1e6, "quantile band: matured moves seen before labels are given (count)"),
    CHOICE_KEY("learn.band", learn_band, band_choices, CSCALP_CONFIG_BAND_COST, 1,
               "label band: cost (2 x fees.taker_bps + half spread), fixed "
               "(learn.band_bps) or quantile (learn.band_quantile_fraction)"),
    KEY("learn.band_bps", CSCALP_CONFIG_DOUBLE, learn_band_bps, 1, 0, 10000, 0,
        "fixed band: flat when |move| is at most this (bps)"),
    FIXED_KEY("learn.batch_samples", CSCALP_CONFIG_INT, learn_batch_size, 32, 1, 4096,
              "samples per training step (count)"),
    KEY("learn.drift_adwin_delta_probability", CSCALP_CONFIG_DOUBLE, learn_drift_adwin_delta, 1e-5, 1e-12,
        0.5, 0, "ADWIN confidence: smaller means fewer false alarms (probability)"),
    KEY("learn.drift_boost_samples", CSCALP_CONFIG_INT, learn_drift_boost_samples, 500, 0,
        1e7, 0, "after a drift, matured samples during which the boost lasts (count)"),
    KEY("learn.drift_lr_boost_factor", CSCALP_CONFIG_DOUBLE, learn_drift_lr_boost, 3, 1, 100, 0,
        "learning-rate multiplier after a drift (factor)"),
    KEY("learn.drift_ph_delta_sigma", CSCALP_CONFIG_DOUBLE, learn_drift_ph_delta_sigma, 0.5,
        0, 10, 0, "Page-Hinkley allowance (standard deviations of the loss)"),
    KEY("learn.drift_ph_lambda_sigma", CSCALP_CONFIG_DOUBLE, learn_drift_ph_lambda_sigma, 11,
        0.1, 1000, 0, "Page-Hinkley threshold (standard deviations of the loss)"),
    KEY("learn.fallback_l2", CSCALP_CONFIG_DOUBLE, learn_fallback_l2, 1e-4, 0, 0.5, 0,
        "L2 coefficient of the fallback logistic regression (per sample)"),
    KEY("learn.fallback_learning_rate", CSCALP_CONFIG_DOUBLE, learn_fallback_learning_rate,
        0.001, 0, 1, 1, "SGD step of the fallback logistic regression per independent sample's worth of overlapping ones (dimensionless)"),
    KEY("learn.fallback_margin_nats", CSCALP_CONFIG_DOUBLE, learn_fallback_margin_nats, 0, 0,
        10, 0,
        "serve the fallback when the network's rolling log-loss exceeds the "
        "fallback's by more than this (nats per sample)"),
    FIXED_KEY("learn.horizon_events", CSCALP_CONFIG_INT, learn_horizon_events, 0, 0, 1e6,
              "label horizon in counted events (quotes and books); 0 = use "
              "learn.horizon_ms (count)"),
    FIXED_KEY("learn.horizon_ms", CSCALP_CONFIG_INT, learn_horizon_ms, 1000, 1, 86400e3,
              "label horizon in event time when learn.horizon_events is 0 (ms)"),
    CHOICE_KEY("learn.label", learn_label, label_choices, CSCALP_CONFIG_LABEL_POINT, 1,
               "label form: point (mid at t+H) or smoothed (mean mid over (t, t+H])"),
    KEY("learn.l2", CSCALP_CONFIG_DOUBLE, learn_l2, 1e-3, 0, 1, 0,
        "L2 coefficient on the network's weights (per step)"),
    KEY("learn.learning_rate", CSCALP_CONFIG_DOUBLE, learn_learning_rate, 1e-4, 0, 1, 1,
        "Adam step size of the challenger (per step)"),
    FIXED_KEY("learn.max_pending_samples", CSCALP_CONFIG_INT, learn_max_pending, 4096, 1, 1 << 22,
              "decision samples waiting for their label; when full, new samples are "
              "skipped and counted (count)"),
    KEY("learn.max_grad_norm", CSCALP_CONFIG_DOUBLE, learn_max_grad_norm, 1, 0, 1e6, 0,
        "gradient-norm clipping of each step, 0 = off (L2 norm)"),
    KEY("learn.min_replay_samples", CSCALP_CONFIG_INT, learn_min_replay, 256, 1, 1 << 24, 0,
        "samples in the replay buffer before training starts (count)"),
    CHOICE_KEY("learn.mode", learn_mode, learn_mode_choices, CSCALP_CONFIG_LEARN_INLINE, 1,
               "off, inline (on the host's thread, deterministic) or async (a learner "
               "thread)"),
    KEY("learn.promotion_margin_nats", CSCALP_CONFIG_DOUBLE, learn_promotion_margin_nats,
        0.002, 0, 10, 0,
        "the challenger replaces the live network when its rolling log-loss is lower "
        "by more than this (nats per sample)"),
    FIXED_KEY("learn.replay_capacity_samples", CSCALP_CONFIG_INT, learn_replay_capacity, 16384, 1,
              1 << 24, "matured samples kept for training (count)"),
    KEY("learn.replay_priority_exponent", CSCALP_CONFIG_DOUBLE, learn_replay_priority_alpha, 0.6,
        0, 2, 0, "exponent of the loss in replay priorities, 0 = uniform (exponent)"),
    KEY("learn.replay_recent_fraction", CSCALP_CONFIG_DOUBLE, learn_replay_recent_fraction,
        0.5, 0, 1, 0, "share of each batch drawn from the newest samples (fraction)"),
    KEY("learn.replay_recent_samples", CSCALP_CONFIG_INT, learn_replay_recent_window, 512, 1,
        1 << 24, 0, "how many newest samples count as recent (count)"),
    KEY("learn.rollback_margin_nats", CSCALP_CONFIG_DOUBLE, learn_rollback_margin_nats, 0.05,
        0, 10, 1,
        "the challenger is reset to the live network when its rolling log-loss is "
        "higher by more than this (nats per sample)"),
    KEY("learn.sample_every_events", CSCALP_CONFIG_INT, learn_sample_every_events, 0, 0, 1e6,
        0,
        "take a decision sample every this many counted events; 0 = on the "
        "learn.sample_interval_ms clock (count)"),
    KEY("learn.sample_interval_ms", CSCALP_CONFIG_INT, learn_sample_interval_ms, 100, 1,
        3600e3, 0, "event-time grid of decision samples (ms)"),
    FIXED_KEY("learn.score_window_samples", CSCALP_CONFIG_INT, learn_score_window, 1000, 10, 1e6,
              "matured samples in the rolling scores that decide promotions, "
              "rollbacks and the fallback (count)"),
    KEY("learn.train_steps", CSCALP_CONFIG_INT, learn_steps_per_train, 1, 0, 1000, 0,
        "training steps per training round (count)"),
    KEY("learn.train_every_samples", CSCALP_CONFIG_INT, learn_train_every_samples, 0, 0, 1e6,
        0, "matured samples between automatic training rounds; 0 = one round per "
           "independent sample's worth of overlapping ones (count)"),
    {.path = "model.activation", .type = CSCALP_CONFIG_CHOICE,
     .offset = offsetof(cscalp_config, model_activation), .choices = activation_choices,
     .default_value = CSCALP_CONFIG_ACTIVATION_RELU, .fixed_at_open = 1,
     .doc = "hidden-layer activation: relu or silu"},
    {.path = "model.backend", .type = CSCALP_CONFIG_CHOICE,
     .offset = offsetof(cscalp_config, model_backend), .choices = backend_choices,
     .default_value = CSCALP_CONFIG_BACKEND_AUTO,
     .doc = "training backend: auto (blas when built), cpu or blas"},
    {.path = "model.expert_count", .type = CSCALP_CONFIG_INT,
     .offset = offsetof(cscalp_config, model_expert_count), .default_value = 3,
     .min = 1, .max = 16, .fixed_at_open = 1,
     .doc = "expert heads of the mixture, one per regime (count)"},
    {.path = "model.hidden_sizes", .type = CSCALP_CONFIG_INT_LIST,
     .offset = offsetof(cscalp_config, model_hidden_sizes), .min = 1, .max = 1024,
     .default_list = default_hidden_sizes, .default_list_len = 2, .list_min_len = 1,
     .list_max_len = 8 /* CSCALP_NN_MAX_HIDDEN */, .fixed_at_open = 1,
     .doc = "widths of the trunk's hidden layers (neurons per layer)"},
    {.path = "model.lag_count", .type = CSCALP_CONFIG_INT,
     .offset = offsetof(cscalp_config, model_lag_count), .default_value = 1, .min = 1,
     .max = 32, .fixed_at_open = 1,
     .doc = "feature vectors per model input: now and lag_count - 1 grid points back "
            "(count)"},
    {.path = "model.prior_move_bps", .type = CSCALP_CONFIG_DOUBLE,
     .offset = offsetof(cscalp_config, model_prior_move_bps), .default_value = 1,
     .min = 0, .max = 10000,
     .doc = "move an up/down class stands for in expected_move_bps until learning "
            "measures it (bps)"},
    {.path = "model.seed", .type = CSCALP_CONFIG_INT,
     .offset = offsetof(cscalp_config, model_seed), .default_value = 1, .min = 0,
     .max = 9007199254740991.0, .fixed_at_open = 1,
     .doc = "seed of the weight initialisation (any integer in [0, 2^53))"},
    KEY("policy.decide_interval_ms", CSCALP_CONFIG_INT, policy_decide_interval_ms, 1000, 1,
        3600e3, 0, "event-time grid on which the policy decides (ms)"),
    KEY("policy.liquidation_sigmas", CSCALP_CONFIG_DOUBLE, policy_liquidation_sigmas, 10, 0,
        1e6, 0,
        "liquidation price at least this many sigma(horizon) from the mid; 0 = no cap "
        "(sigmas)"),
    KEY("policy.lot_size_contracts", CSCALP_CONFIG_DOUBLE, policy_lot_size, 0.001, 0, 1e9, 1,
        "order size grid (contracts)"),
    KEY("policy.market_protection_bps", CSCALP_CONFIG_DOUBLE, policy_market_protection_bps,
        10, 0, 10000, 1,
        "protection price of a crossing order: this far beyond the touch (bps)"),
    KEY("policy.min_sigma_bps", CSCALP_CONFIG_DOUBLE, policy_min_sigma_bps, 1, 0, 10000, 1,
        "floor of the volatility over the horizon that sizes positions (bps)"),
    KEY("policy.order_ttl_ms", CSCALP_CONFIG_INT, policy_order_ttl_ms, 10000, 1, 86400e3, 0,
        "a working order older than this is cancelled (ms)"),
    KEY("policy.reprice_ticks", CSCALP_CONFIG_DOUBLE, policy_reprice_ticks, 2, 0, 1e6, 0,
        "a resting order this many ticks behind the touch is cancelled (ticks)"),
    KEY("policy.tick_size_quote", CSCALP_CONFIG_DOUBLE, policy_tick_size, 0.1, 0, 1e9, 1,
        "price grid (quote per contract)"),
    KEY("policy.untrained_size_factor", CSCALP_CONFIG_DOUBLE, policy_untrained_size_factor, 0,
        0, 1, 0,
        "multiplier of the wanted position while the model is untrained (factor); 0: exits "
        "only"),
    KEY("policy.vol_target_bps", CSCALP_CONFIG_DOUBLE, policy_vol_target_bps, 10, 0, 10000, 1,
        "standard deviation over the horizon of the PnL a position may carry (bps of "
        "equity)"),
    KEY("regime.change_probability", CSCALP_CONFIG_DOUBLE, regime_change_probability, 0.8,
        0.5, 1, 0,
        "posterior a new regime needs before it becomes the current one (probability)"),
    KEY("regime.confirm_steps", CSCALP_CONFIG_INT, regime_confirm_steps, 5, 1, 1e6, 0,
        "regime steps in a row another regime must lead before it becomes current "
        "(regime steps)"),
    DOUBLE_LIST_KEY("regime.entry_band_bps", regime_entry_band_bps,
                    default_regime_entry_band_bps, 0, 10000,
                    "per regime, calm first: edge beyond costs an entry needs (bps)"),
    KEY("regime.half_life_steps", CSCALP_CONFIG_DOUBLE, regime_half_life_steps, 21600, 1,
        1e9, 0, "memory of the regime model's online EM (regime steps)"),
    KEY("regime.interval_ms", CSCALP_CONFIG_INT, regime_interval_ms, 1000, 1, 3600e3, 0,
        "event-time grid of regime steps (ms)"),
    DOUBLE_LIST_KEY("regime.max_leverage_factors", regime_max_leverage_factors,
                    default_regime_max_leverage_factors, 0, 125,
                    "per regime, calm first: most notional per unit of equity (factor)"),
    DOUBLE_LIST_KEY("regime.size_factors", regime_size_factors, default_regime_size_factors,
                    0, 10, "per regime, calm first: multiplier of position size (factor)"),
    FIXED_KEY("regime.stay_probability", CSCALP_CONFIG_DOUBLE, regime_stay_probability, 0.995,
              0.5, 0.999999,
              "prior probability that a regime step stays in its regime (probability)"),
    FIXED_KEY("regime.transition_prior_steps", CSCALP_CONFIG_DOUBLE,
              regime_transition_prior_steps, 100, 0, 1e9,
              "weight of that prior in each transition row (regime steps)"),
    FIXED_KEY("regime.warmup_steps", CSCALP_CONFIG_INT, regime_warmup_steps, 600, 16, 1e6,
              "regime steps observed before the regime model starts (regime steps)"),
    FIXED_KEY("risk.fill_id_memory_count", CSCALP_CONFIG_INT, risk_fill_id_memory, 4096, 1, 1048576,
              "latest fills remembered to ignore a resent fill (count)"),
    FIXED_KEY("risk.initial_equity_quote", CSCALP_CONFIG_DOUBLE, risk_initial_equity_quote,
              10000, 0.01, 1e15, "account equity before the first fill (quote currency)"),
    FIXED_KEY("risk.intent_queue_count", CSCALP_CONFIG_INT, risk_intent_queue, 256, 1, 65536,
              "intents waiting for cscalp_poll_intents, at most (count)"),
    CHOICE_KEY("risk.kill_switch", risk_kill_switch, kill_switch_choices,
               CSCALP_CONFIG_KILL_ARMED, 0,
               "armed, or tripped: only cancels and reduce-only flattens; set \"armed\" "
               "to re-arm, \"tripped\" to trip by hand"),
    KEY("risk.loss_cooldown_ms", CSCALP_CONFIG_INT, risk_loss_cooldown_ms, 60000, 0, 86400e3,
        0, "how long entries are refused after a loss streak (ms)"),
    KEY("risk.loss_streak_count", CSCALP_CONFIG_INT, risk_loss_streak, 5, 0, 1e6, 0,
        "losing round trips in a row that start the cool-down; 0 = off (count)"),
    DOUBLE_LIST_KEY("risk.margin_bracket_caps_quote", risk_margin_bracket_caps_quote,
                    default_bracket_caps, 0, 1e15,
                    "maintenance-margin tiers: upper notional of each (quote currency)"),
    DOUBLE_LIST_KEY("risk.margin_bracket_max_leverage_factors", risk_margin_bracket_max_leverage,
                    default_bracket_leverage, 1, 1000,
                    "maintenance-margin tiers: highest leverage of each (factor)"),
    DOUBLE_LIST_KEY("risk.margin_bracket_rate_fractions", risk_margin_bracket_rates,
                    default_bracket_rates, 0, 1,
                    "maintenance-margin tiers: maintenance margin rate of each (fraction)"),
    KEY("risk.max_daily_drawdown_quote", CSCALP_CONFIG_DOUBLE, risk_max_daily_drawdown_quote,
        300, 0, 1e15, 1,
        "equity below the UTC day's peak that trips the kill switch (quote currency)"),
    KEY("risk.max_leverage_factor", CSCALP_CONFIG_DOUBLE, risk_max_leverage, 5, 0, 125, 1,
        "worst-case position notional per unit of equity (factor)"),
    KEY("risk.max_open_orders_count", CSCALP_CONFIG_INT, risk_max_open_orders, 4, 1, 64, 0,
        "working orders at most (count)"),
    KEY("risk.max_order_contracts", CSCALP_CONFIG_DOUBLE, risk_max_order_contracts, 1, 0, 1e12,
        1, "largest order (contracts)"),
    KEY("risk.max_order_notional_quote", CSCALP_CONFIG_DOUBLE, risk_max_order_notional_quote,
        100000, 0, 1e15, 1, "largest order notional (quote currency)"),
    KEY("risk.max_orders_per_min", CSCALP_CONFIG_INT, risk_max_orders_per_min, 60, 1, 6000, 0,
        "orders sent in any minute of event time, at most (count)"),
    KEY("risk.max_orders_per_s", CSCALP_CONFIG_INT, risk_max_orders_per_s, 5, 1, 1000, 0,
        "orders sent in any second of event time, at most (count)"),
    KEY("risk.max_position_contracts", CSCALP_CONFIG_DOUBLE, risk_max_position_contracts, 1, 0,
        1e12, 1, "largest position if every working order filled (contracts)"),
    KEY("risk.max_total_drawdown_quote", CSCALP_CONFIG_DOUBLE, risk_max_total_drawdown_quote,
        1000, 0, 1e15, 1,
        "equity below its all-time peak that trips the kill switch (quote currency)"),
    KEY("risk.price_collar_bps", CSCALP_CONFIG_DOUBLE, risk_price_collar_bps, 50, 0, 10000, 1,
        "farthest an order's price may be from the mid (bps)"),
};

#define KEY_COUNT (sizeof config_keys / sizeof config_keys[0])

size_t cscalp_config_key_count(void) { return KEY_COUNT; }


const cscalp_config_key *cscalp_config_key_at(size_t i)
{
    return i < KEY_COUNT ? &config_keys[i] : NULL;
}

static void *field(cscalp_config *cfg, const cscalp_config_key *k)
{
    return (char *)cfg + k->offset;
}

static size_t field_size(const cscalp_config_key *k)
{
    switch (k->type) {
    case CSCALP_CONFIG_INT_LIST:
        return sizeof(cscalp_config_int_list);
    case CSCALP_CONFIG_DOUBLE_LIST:
        return sizeof(cscalp_config_double_list);
    case CSCALP_CONFIG_DOUBLE:
        return sizeof(double);
    default:
        return sizeof(int64_t);
    }
}

static double field_value(const cscalp_config *cfg, const cscalp_config_key *k)
{
    const char *p = (const char *)cfg + k->offset;
    if (k->type == CSCALP_CONFIG_INT || k->type == CSCALP_CONFIG_CHOICE) {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return (double)v;
    }
    double d;
    memcpy(&d, p, sizeof d);
    return d;
}

void cscalp_config_defaults(cscalp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const cscalp_config_key *k = &config_keys[i];
        if (k->type == CSCALP_CONFIG_INT_LIST) {
            cscalp_config_int_list list = {(int64_t)k->default_list_len, {0}};
            for (size_t j = 0; j < k->default_list_len; j++)
                list.values[j] = k->default_list[j];
            memcpy(field(cfg, k), &list, sizeof list);
        } else if (k->type == CSCALP_CONFIG_DOUBLE_LIST) {
            cscalp_config_double_list list = {(int64_t)k->default_list_len, {0}};
            for (size_t j = 0; j < k->default_list_len; j++)
                list.values[j] = k->default_dlist[j];
            memcpy(field(cfg, k), &list, sizeof list);
        } else if (k->type == CSCALP_CONFIG_INT || k->type == CSCALP_CONFIG_CHOICE) {
            int64_t v = (int64_t)k->default_value;
            memcpy(field(cfg, k), &v, sizeof v);
        } else {
            memcpy(field(cfg, k), &k->default_value, sizeof k->default_value);
        }
    }
}

static const cscalp_config_key *find_key(const char *path)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(config_keys[i].path, path) == 0)
            return &config_keys[i];
    return NULL;
}

/* A section is a path that prefixes some key followed by a dot. */
static int is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strncmp(config_keys[i].path, path, n) == 0 &&
            config_keys[i].path[n] == '.')
            return 1;
    return 0;
}

static int fail(char *err, size_t cap, int code, const char *path,
                const char *why)
{
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s: %s", path, why);
    return code;
}

/* Check one number against the key's range; `path` names it in the error. */
static int check_number(const cscalp_config_key *k, int integer, double v,
                        const char *path, char *err, size_t cap)
{
    char why[160];
    if (!isfinite(v))
        return fail(err, cap, CSCALP_ECONFIG_TYPE, path, "expected a finite number");
    if (integer && (v != floor(v) || fabs(v) > 9007199254740992.0)) {
        snprintf(why, sizeof why, "expected an integer, got %.17g", v);
        return fail(err, cap, CSCALP_ECONFIG_TYPE, path, why);
    }
    const int below = k->min_exclusive ? v <= k->min : v < k->min;
    if (below || v > k->max) {
        snprintf(why, sizeof why, "must be in %c%.15g, %.15g], got %.17g",
                 k->min_exclusive ? '(' : '[', k->min, k->max, v);
        return fail(err, cap, CSCALP_ECONFIG_RANGE, path, why);
    }
    return CSCALP_OK;
}

static int set_choice(cscalp_config *cfg, const cscalp_config_key *k, const cJSON *item,
                      const char *path, char *err, size_t cap)
{
    char why[160];
    size_t used = (size_t)snprintf(why, sizeof why, "expected one of");
    for (size_t j = 0; k->choices[j] != NULL && used < sizeof why; j++)
        used += (size_t)snprintf(why + used, sizeof why - used, "%s \"%s\"",
                                 j == 0 ? "" : ",", k->choices[j]);
    if (!cJSON_IsString(item))
        return fail(err, cap, CSCALP_ECONFIG_TYPE, path, why);
    for (size_t j = 0; k->choices[j] != NULL; j++) {
        if (strcmp(item->valuestring, k->choices[j]) == 0) {
            const int64_t v = (int64_t)j;
            memcpy(field(cfg, k), &v, sizeof v);
            return CSCALP_OK;
        }
    }
    return fail(err, cap, CSCALP_ECONFIG_RANGE, path, why);
}

static int set_list(cscalp_config *cfg, const cscalp_config_key *k, const cJSON *item,
                    const char *path, char *err, size_t cap)
{
    char why[160];
    const int integer = k->type == CSCALP_CONFIG_INT_LIST;
    if (!cJSON_IsArray(item))
        return fail(err, cap, CSCALP_ECONFIG_TYPE, path,
                    integer ? "expected an array of integers" : "expected an array of numbers");
    const int n = cJSON_GetArraySize(item);
    if (n < (int)k->list_min_len || n > (int)k->list_max_len) {
        snprintf(why, sizeof why, "must have %zu to %zu elements, got %d", k->list_min_len,
                 k->list_max_len, n);
        return fail(err, cap, CSCALP_ECONFIG_RANGE, path, why);
    }
    cscalp_config_int_list list = {n, {0}};
    cscalp_config_double_list dlist = {n, {0}};
    int j = 0;
    for (const cJSON *el = item->child; el != NULL; el = el->next, j++) {
        char el_path[160];
        snprintf(el_path, sizeof el_path, "%s[%d]", path, j);
        if (!cJSON_IsNumber(el))
            return fail(err, cap, CSCALP_ECONFIG_TYPE, el_path,
                        integer ? "expected an integer" : "expected a number");
        const int rc = check_number(k, integer, el->valuedouble, el_path, err, cap);
        if (rc != CSCALP_OK)
            return rc;
        list.values[j] = (int64_t)el->valuedouble;
        dlist.values[j] = el->valuedouble;
    }
    if (integer)
        memcpy(field(cfg, k), &list, sizeof list);
    else
        memcpy(field(cfg, k), &dlist, sizeof dlist);
    return CSCALP_OK;
}

static int set_value(cscalp_config *cfg, const cscalp_config_key *k,
                     const cJSON *item, const char *path, char *err,
                     size_t cap)
{
    if (k->type == CSCALP_CONFIG_CHOICE)
        return set_choice(cfg, k, item, path, err, cap);
    if (k->type == CSCALP_CONFIG_INT_LIST || k->type == CSCALP_CONFIG_DOUBLE_LIST)
        return set_list(cfg, k, item, path, err, cap);
    if (!cJSON_IsNumber(item))
        return fail(err, cap, CSCALP_ECONFIG_TYPE, path,
                    k->type == CSCALP_CONFIG_INT ? "expected an integer"
                                                 : "expected a number");
    const double v = item->valuedouble;
    const int rc = check_number(k, k->type == CSCALP_CONFIG_INT, v, path, err, cap);
    if (rc != CSCALP_OK)
        return rc;
    if (k->type == CSCALP_CONFIG_INT) {
        int64_t iv = (int64_t)v;
        memcpy(field(cfg, k), &iv, sizeof iv);
    } else {
        memcpy(field(cfg, k), &v, sizeof v);
    }
    return CSCALP_OK;
}

static int apply_object(cscalp_config *cfg, const cJSON *obj,
                        const char *prefix, char *err, size_t cap)
{
    for (const cJSON *item = obj->child; item != NULL; item = item->next) {
        char path[128];
        int n = prefix[0] ? snprintf(path, sizeof path, "%s.%s", prefix, item->string)
                          : snprintf(path, sizeof path, "%s", item->string);
        if (n < 0 || (size_t)n >= sizeof path)
            return fail(err, cap, CSCALP_ECONFIG_KEY, prefix[0] ? prefix : "(root)",
                        "key name too long");
        for (const cJSON *prev = obj->child; prev != item; prev = prev->next)
            if (strcmp(prev->string, item->string) == 0)
                return fail(err, cap, CSCALP_ECONFIG_KEY, path, "duplicate key");

        const cscalp_config_key *k = find_key(path);
        int rc;
        if (k != NULL) {
            rc = set_value(cfg, k, item, path, err, cap);
        } else if (is_section(path)) {
            rc = cJSON_IsObject(item)
                     ? apply_object(cfg, item, path, err, cap)
                     : fail(err, cap, CSCALP_ECONFIG_TYPE, path, "expected an object");
        } else {
            rc = fail(err, cap, CSCALP_ECONFIG_KEY, path,
                      "unknown key (see docs/config.md)");
        }
        if (rc != CSCALP_OK)
            return rc;
    }
    return CSCALP_OK;
}

int cscalp_config_apply_json(cscalp_config *cfg, const char *json, char *err,
                             size_t err_cap)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (root == NULL) {
        char why[96];
        const size_t at = end != NULL && end >= json ? (size_t)(end - json) : 0;
        snprintf(why, sizeof why, "malformed JSON near byte %zu", at);
        return fail(err, err_cap, CSCALP_EJSON, "config", why);
    }
    int rc = cJSON_IsObject(root)
                 ? apply_object(cfg, root, "", err, err_cap)
                 : fail(err, err_cap, CSCALP_ECONFIG_TYPE, "config",
                        "expected a JSON object at the top level");
    cJSON_Delete(root);
    return rc;
}

int cscalp_config_write_json(const cscalp_config *cfg, char *buf, size_t cap,
                             size_t *needed)
{
    cscalp_json_writer w;
    cscalp_jw_init(&w, buf, cap);
    cscalp_jw_begin_object(&w, NULL);
    char section[64] = "";
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const cscalp_config_key *k = &config_keys[i];
        const char *dot = strchr(k->path, '.');
        const size_t slen = (size_t)(dot - k->path);
        if (strlen(section) != slen || strncmp(section, k->path, slen) != 0) {
            if (section[0])
                cscalp_jw_end_object(&w);
            memcpy(section, k->path, slen);
            section[slen] = '\0';
            cscalp_jw_begin_object(&w, section);
        }
        if (k->type == CSCALP_CONFIG_INT_LIST) {
            cscalp_config_int_list list;
            memcpy(&list, (const char *)cfg + k->offset, sizeof list);
            cscalp_jw_begin_array(&w, dot + 1);
            for (int64_t j = 0; j < list.count; j++)
                cscalp_jw_int(&w, NULL, list.values[j]);
            cscalp_jw_end_array(&w);
        } else if (k->type == CSCALP_CONFIG_DOUBLE_LIST) {
            cscalp_config_double_list list;
            memcpy(&list, (const char *)cfg + k->offset, sizeof list);
            cscalp_jw_begin_array(&w, dot + 1);
            for (int64_t j = 0; j < list.count; j++)
                cscalp_jw_double(&w, NULL, list.values[j]);
            cscalp_jw_end_array(&w);
        } else if (k->type == CSCALP_CONFIG_CHOICE) {
            cscalp_jw_string(&w, dot + 1, k->choices[(int64_t)field_value(cfg, k)]);
        } else if (k->type == CSCALP_CONFIG_INT) {
            cscalp_jw_int(&w, dot + 1, (int64_t)field_value(cfg, k));
        } else {
            cscalp_jw_double(&w, dot + 1, field_value(cfg, k));
        }
    }
    if (section[0])
        cscalp_jw_end_object(&w);
    cscalp_jw_end_object(&w);
    return cscalp_jw_finish(&w, needed);
}

const cscalp_config_key *cscalp_config_fixed_changed(const cscalp_config *a,
                                                      const cscalp_config *b)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const cscalp_config_key *k = &config_keys[i];
        if (k->fixed_at_open && memcmp((const char *)a + k->offset,
                                       (const char *)b + k->offset, field_size(k)) != 0)
            return k;
    }
    return NULL;
}
