/* Engine configuration: one table of keys (path, type, unit, default, range)
 * drives parsing, validation, printing and the documentation check. */
#ifndef CSCALP_PERSIST_CONFIG_H
#define CSCALP_PERSIST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CSCALP_CONFIG_LIST_MAX 8

/* An integer-array value ([64, 64]). */
typedef struct cscalp_config_int_list {
    int64_t count;
    int64_t values[CSCALP_CONFIG_LIST_MAX];
} cscalp_config_int_list;

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

typedef struct cscalp_config {
    int64_t feed_book_levels;
    double feed_max_time_regression_ms;
    double features_norm_half_life_s;
    int64_t features_norm_interval_ms;
    double features_z_clip;
    int64_t features_norm_warmup_samples;
    double health_degraded_hold_s;
    cscalp_config_int_list model_hidden_sizes;
    int64_t model_activation; /* cscalp_config_activation */
    int64_t model_expert_count;
    int64_t model_lag_count;
    int64_t model_seed;
    int64_t model_backend; /* cscalp_config_backend */
    double model_prior_move_bps;
} cscalp_config;

typedef enum cscalp_config_type {
    CSCALP_CONFIG_INT,
    CSCALP_CONFIG_DOUBLE,
    CSCALP_CONFIG_CHOICE,  /* a string from `choices`, stored as its index (int64) */
    CSCALP_CONFIG_INT_LIST /* an array of integers in [min, max] */
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
    size_t default_list_len;
    size_t list_min_len, list_max_len; /* INT_LIST: element count range */
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
