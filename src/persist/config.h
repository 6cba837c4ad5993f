/* Engine configuration: one table of keys (path, type, unit, default, range)
 * drives parsing, validation, printing and the documentation check. */
#ifndef CSCALP_PERSIST_CONFIG_H
#define CSCALP_PERSIST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct cscalp_config {
    int64_t feed_book_levels;
    double feed_max_time_regression_ms;
    double features_norm_half_life_s;
    int64_t features_norm_interval_ms;
    double features_z_clip;
    int64_t features_norm_warmup_samples;
    double health_degraded_hold_s;
} cscalp_config;

typedef enum cscalp_config_type {
    CSCALP_CONFIG_INT,
    CSCALP_CONFIG_DOUBLE
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

size_t cscalp_config_key_count(void);
const cscalp_config_key *cscalp_config_key_at(size_t i);

#endif
