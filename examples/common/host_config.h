/* The configuration of an example host (cscalp-backtest, cscalp-live): the
 * engine's JSON (docs/config.md) over the host's base, plus the simulated
 * venue's "venue" object (docs/sim.md), from a --config argument that is a
 * JSON text or a file holding one. */
#ifndef CSCALP_EXAMPLES_HOST_CONFIG_H
#define CSCALP_EXAMPLES_HOST_CONFIG_H

#include "cryptoscalp_sim.h"

/* Status of host_config_build. */
#define HOST_CONFIG_OK 0
#define HOST_CONFIG_EIO 1    /* the --config file cannot be read */
#define HOST_CONFIG_EUSAGE 2 /* not a JSON object, or a bad "venue" key */

/** The "venue" keys and their defaults, for usage texts. */
#define HOST_CONFIG_VENUE_KEYS                                                            \
    "                 maker_fee_bps (2), taker_fee_bps (5), order_latency_ms (5),\n"        \
    "                 report_latency_ms (5), wallet_quote (risk.initial_equity_quote),\n"  \
    "                 default_funding_rate (0.0001), funding_interval_h (8),\n"            \
    "                 liquidation_fee_rate (0.005)"

/** `config` (a JSON text starting with '{', else a file's path; NULL: none)
 *  merged over `base_json` key by key (objects recursively; `config` wins),
 *  with model.seed set to `seed` when seed >= 0. *engine_json (free()) gets
 *  the engine's configuration without the "venue" object, *venue the venue's
 *  (wallet_quote defaults to risk.initial_equity_quote, else 10 000); either
 *  may be NULL when not wanted. Messages go to stderr prefixed with `prog`.
 *  Returns HOST_CONFIG_OK, HOST_CONFIG_EIO or HOST_CONFIG_EUSAGE. */
int host_config_build(const char *prog, const char *base_json, const char *config, long long seed,
                      char **engine_json, cscalp_sim_venue_config *venue);

/** A JSON patch (`config` as above, "venue" dropped) for cscalp_configure;
 *  NULL when config is NULL; *status as host_config_build. */
char *host_config_patch(const char *prog, const char *config, int *status);

#endif
