/* Engine configuration: one table of keys (path, type, unit, default, range)
 * drives parsing, validation, printing and the documentation check. */
#ifndef CSCALP_PERSIST_CONFIG_H
#define CSCALP_PERSIST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CSCALP_CONFIG_LIST_MAX 16

/* An integer-array value ([64, 64]). */
typedef struct cscalp_config_int_list {
    int64_t count;
    int64_t values[CSCALP_CONFIG_LIST_MAX];
} cscalp_config_int_list;

/* A number-array value ([1, 0.6, 0.25]). */
typedef struct cscalp_config_double_list {
    int64_t count;
    double values[CSCALP_CONFIG_LIST_MAX];
} cscalp_config_double_list;

/* Choices of the string-valued keys, stored as their index. */
typedef enum cscalp_config_activation {
    CSCALP_CONFIG_ACTIVATION_RELU = 0,
    CSCALP_CONFIG_ACTIVATION_SILU = 1
} cscalp_config_activation;

typedef enum cscalp_config_backend {
    CSCALP_CONFIG_BACKEND_AUTO = 0,
    CSCALP_CONFIG_BACKEND_CPU = 1,
    CSCALP_CONFIG_BACKEND_BLAS = 2
} cscalp_config_backend;

typedef enum cscalp_config_learn_mode {
    CSCALP_CONFIG_LEARN_OFF = 0,
    CSCALP_CONFIG_LEARN_INLINE = 1,
    CSCALP_CONFIG_LEARN_ASYNC = 2
} cscalp_config_learn_mode;

typedef enum cscalp_config_label {
    CSCALP_CONFIG_LABEL_POINT = 0,
    CSCALP_CONFIG_LABEL_SMOOTHED = 1
} cscalp_config_label;

typedef enum cscalp_config_band {
    CSCALP_CONFIG_BAND_COST = 0,
    CSCALP_CONFIG_BAND_FIXED = 1,
    CSCALP_CONFIG_BAND_QUANTILE = 2
} cscalp_config_band;

typedef enum cscalp_config_kill_switch {
    CSCALP_CONFIG_KILL_ARMED = 0,
    CSCALP_CONFIG_KILL_TRIPPED = 1
} cscalp_config_kill_switch;

typedef struct cscalp_config {
    int64_t feed_book_levels;
    double feed_max_time_regression_ms;
    double features_norm_half_life_s;
    int64_t features_norm_interval_ms;
    double features_z_clip;
    int64_t features_norm_warmup_samples;
    double health_degraded_hold_s;
    double feed_outlier_sigmas;
    double feed_outlier_min_bps;
    int64_t feed_outlier_confirm_events;
    double feed_outlier_half_life_events;
    int64_t health_stale_feed_ms;
    int64_t health_feed_resume_ms;
    int64_t health_rollback_storm_count;
    double health_rollback_storm_window_s;
    double health_autonomy_probation_s;
    double health_lr_cut_factor;
    double health_lr_floor_factor;
    int64_t health_lr_recover_steps;
    double health_explode_grad_norm;
    int64_t health_reject_breaker_count;
    int64_t health_reject_breaker_window_ms;
    int64_t health_reject_breaker_cooldown_ms;
    int64_t health_reject_breaker_max_cooldown_ms;
    int64_t health_learner_stall_wall_ms;
    double health_learner_shed_fraction;
    int64_t health_checkpoint_retry_ms;
    int64_t health_checkpoint_retry_max_ms;
    cscalp_config_int_list model_hidden_sizes;
    int64_t model_activation; /* cscalp_config_activation */
    int64_t model_expert_count;
    int64_t model_lag_count;
    int64_t model_seed;
    int64_t model_backend; /* cscalp_config_backend */
    double model_prior_move_bps;
    double fees_taker_bps;
    int64_t learn_mode; /* cscalp_config_learn_mode */
    int64_t learn_sample_interval_ms;
    int64_t learn_sample_every_events;
    int64_t learn_horizon_ms;
    int64_t learn_horizon_events;
    int64_t learn_label; /* cscalp_config_label */
    int64_t learn_band;  /* cscalp_config_band */
    double learn_band_bps;
    double learn_band_quantile;
    int64_t learn_band_warmup_labels;
    int64_t learn_max_pending;
    int64_t learn_replay_capacity;
    int64_t learn_replay_recent_window;
    double learn_replay_recent_fraction;
    double learn_replay_priority_alpha;
    int64_t learn_batch_size;
    int64_t learn_min_replay;
    int64_t learn_train_every_samples;
    int64_t learn_steps_per_train;
    double learn_learning_rate;
    double learn_l2;
    double learn_max_grad_norm;
    int64_t learn_score_window;
    double learn_promotion_margin_nats;
    double learn_rollback_margin_nats;
    double learn_fallback_learning_rate;
    double learn_fallback_l2;
    double learn_fallback_margin_nats;
    double learn_drift_lr_boost;
    int64_t learn_drift_boost_samples;
    double learn_drift_ph_delta_sigma;
    double learn_drift_ph_lambda_sigma;
    double learn_drift_adwin_delta;
    int64_t learn_async_queue;
    int64_t regime_interval_ms;
    int64_t regime_warmup_steps;
    double regime_half_life_steps;
    double regime_stay_probability;
    double regime_transition_prior_steps;
    double regime_change_probability;
    int64_t regime_confirm_steps;
    cscalp_config_double_list regime_size_factors;
    cscalp_config_double_list regime_entry_band_bps;
    cscalp_config_double_list regime_max_leverage_factors;
    double fees_maker_bps;
    int64_t policy_decide_interval_ms;
    double policy_vol_target_bps;
    double policy_min_sigma_bps;
    double policy_liquidation_sigmas;
    double policy_tick_size;
    double policy_lot_size;
    int64_t policy_order_ttl_ms;
    double policy_reprice_ticks;
    double policy_market_protection_bps;
    double policy_untrained_size_factor;
    double risk_initial_equity_quote;
    double risk_max_order_contracts;
    double risk_max_order_notional_quote;
    double risk_max_position_contracts;
    double risk_max_leverage;
    double risk_price_collar_bps;
    int64_t risk_max_orders_per_s;
    int64_t risk_max_orders_per_min;
    int64_t risk_max_open_orders;
    double risk_max_daily_drawdown_quote;
    double risk_max_total_drawdown_quote;
    int64_t risk_loss_streak;
    int64_t risk_loss_cooldown_ms;
    int64_t risk_kill_switch; /* cscalp_config_kill_switch */
    int64_t risk_intent_queue;
    int64_t risk_fill_id_memory;
    cscalp_config_double_list risk_margin_bracket_caps_quote;
    cscalp_config_double_list risk_margin_bracket_rates;
    cscalp_config_double_list risk_margin_bracket_max_leverage;
} cscalp_config;

typedef enum cscalp_config_type {
    CSCALP_CONFIG_INT,
    CSCALP_CONFIG_DOUBLE,
    CSCALP_CONFIG_CHOICE,  /* a string from `choices`, stored as its index (int64) */
    CSCALP_CONFIG_INT_LIST,   /* an array of integers in [min, max] */
    CSCALP_CONFIG_DOUBLE_LIST /* an array of numbers in [min, max] */
} cscalp_config_type;

typedef struct cscalp_config_key {
    const char *path;      /* "section.name" */
    cscalp_config_type type;
    size_t offset;         /* into cscalp_config */
    double default_value;
    double min;            /* inclusive unless min_exclusive */
    double max;            /* inclusive */
    int min_exclusive;
    const char *doc;       /* one line: meaning and unit */
    const char *const *choices;  /* CHOICE: NULL-terminated names */
    const int64_t *default_list; /* INT_LIST: default values */
    const double *default_dlist; /* DOUBLE_LIST: default values */
    size_t default_list_len;     /* either list */
    size_t list_min_len, list_max_len; /* lists: element count range */
    int fixed_at_open;           /* cscalp_configure may not change it */
} cscalp_config_key;

void cscalp_config_defaults(cscalp_config *cfg);

/* Apply a JSON object of overrides onto *cfg. On error *cfg may be partly
 * changed (callers apply to a copy for all-or-nothing) and `err` receives the
 * key path and the reason. Returns CSCALP_OK, CSCALP_EJSON,
 * CSCALP_ECONFIG_KEY, CSCALP_ECONFIG_TYPE or CSCALP_ECONFIG_RANGE. */
int cscalp_config_apply_json(cscalp_config *cfg, const char *json, char *err,
                             size_t err_cap);

/* Every key with its effective value, nested by section. */
int cscalp_config_write_json(const cscalp_config *cfg, char *buf, size_t cap,
                             size_t *needed);

/* The first key whose value differs between a and b among the keys fixed
 * at open, or NULL. */
const cscalp_config_key *cscalp_config_fixed_changed(const cscalp_config *a,
                                                      const cscalp_config *b);

size_t cscalp_config_key_count(void);
const cscalp_config_key *cscalp_config_key_at(size_t i);

#endif
