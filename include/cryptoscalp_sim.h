/*
 * cryptoscalp_sim.h — simulation API of libcryptoscalp.
 *
 * What a backtest or a stress test needs besides the engine: the simulated
 * venue (cscalp_sim_venue_*), which executes the engine's intents against
 * recorded or generated market data, and the synthetic regime market
 * (cscalp_sim_market_*): a seeded generator
 * of market data - quotes, trades and L2 book snapshots - driven by a
 * Markov-switching process, that reports the true regime behind every event.
 * Researchers use it to stress strategies on markets whose regimes are
 * known; the library's own tests use it as ground truth. The process, its
 * formulas and what it does not model are in docs/sim.md.
 *
 * The conventions of cryptoscalp.h hold here too (error codes, ownership,
 * `uint32_t size` first in size-prefixed structs, one thread per handle);
 * this header includes it.
 */
#ifndef CRYPTOSCALP_SIM_H
#define CRYPTOSCALP_SIM_H

#include "cryptoscalp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Synthetic regime market                                                  */
/* ------------------------------------------------------------------------ */

/** Most regimes a market can have. */
#define CSCALP_SIM_MAX_REGIMES 8

/** The opaque generator handle. */
typedef struct cscalp_sim_market cscalp_sim_market;

/** One regime: how long it lasts, how the mid moves, how wide the spread is,
 *  how often and how one-sidedly the market trades in it.
 *  Ranges are inclusive unless a bound is marked open. */
typedef struct cscalp_sim_regime {
    /** Mean time spent in the regime per visit, s, in [0.001, 1e7]. The
     *  time is exponentially distributed (a continuous-time Markov chain). */
    double mean_duration_s;
    /** Drift of the log mid while in the regime, bps per second, in
     *  [-1000, 1000]. With drift_sign_random the sign is redrawn. */
    double drift_bps_per_s;
    /** Volatility of the log mid, bps per square root of a second, in
     *  [0, 1000] (1 bps/sqrt(s) is about 56 % a year). */
    double vol_bps_per_sqrt_s;
    /** Mean quoted spread, bps of the mid, in (0, 1000]; never under one
     *  tick (docs/sim.md: the floor raises the mean when the configured
     *  spread is under about two ticks). */
    double spread_bps;
    /** Trade arrival rate, trades per second, in [0, 1e6] (Poisson). */
    double trades_per_s;
    /** Probability that a trade repeats the aggressor side of the previous
     *  trade, in [0, 1); otherwise its side is drawn afresh. This is the
     *  lag-1 autocorrelation of the trade signs. */
    double flow_autocorrelation;
    /** Bias of a freshly drawn side towards the drift, in [0, 1]: it is
     *  BUY with probability (1 + flow_drift_bias * sign(drift)) / 2. */
    double flow_drift_bias;
    /** 1: the sign of drift_bps_per_s is drawn (+ or - with equal
     *  probability) at each entry into the regime, so a trend can go
     *  either way; 0: the drift is used as given. Other values refused. */
    uint32_t drift_sign_random;
    uint32_t reserved; /**< set to 0 (other values are refused) */
    /** Relative weight of moving to regime j when this regime ends, each
     *  finite and >= 0; the entry for the regime itself must be 0. Only the
     *  first regime_count entries are read; with more than one regime their
     *  sum must be > 0. The weights need not sum to 1. */
    double next_regime_weight[CSCALP_SIM_MAX_REGIMES];
} cscalp_sim_regime;

/** Configuration of a synthetic market. Set `size` to
 *  sizeof(cscalp_sim_market_config) and call cscalp_sim_market_config_init
 *  for the defaults (listed per field; docs/sim.md has them as a table),
 *  then change what you need. Prices are in quote currency per contract,
 *  sizes in contracts. */
typedef struct cscalp_sim_market_config {
    uint32_t size;              /**< set by the caller to sizeof(cscalp_sim_market_config) */
    uint32_t regime_count;      /**< 1..CSCALP_SIM_MAX_REGIMES; default 3 */
    uint64_t seed;              /**< any value; default 1 */
    int64_t start_time_ns;      /**< time of the first event, in [0, 2^62]; default
                                     1 700 000 000 000 000 000 (Nov 2023) */
    double start_price;         /**< first mid, > 0, in [100, 1e12] ticks; default 100 */
    double tick_size;           /**< price grid, in [1e-12, 1e6]; default 0.01 */
    double lot_size_contracts;  /**< size grid, in [1e-12, 1e9]; default 0.001 */
    double quotes_per_s;        /**< best bid/ask updates per second (Poisson), in
                                     [1e-6, 1e6]; default 20 */
    double books_per_s;         /**< L2 snapshots per second (Poisson), in [0, 1e6];
                                     0: no BOOK events; default 10 */
    uint32_t book_levels;       /**< levels per side in a snapshot, in
                                     0..CSCALP_BOOK_MAX_LEVELS; 0: no BOOK events;
                                     default 10 */
    uint32_t book_level_spacing_ticks; /**< gap between adjacent levels, in 1..1000;
                                            default 1 */
    double quote_size_mean_contracts;  /**< mean size at the touch, in [lot, 1e12];
                                            default 5 */
    double trade_size_mean_contracts;  /**< mean trade size, in [lot, 1e12]; default 0.5 */
    double size_log_sd;         /**< standard deviation of the log of every size
                                     (lognormal), in [0, 3]; default 0.8 */
    double depth_size_growth_per_level; /**< mean size at depth k (0 = touch) is
                                             quote_size_mean * (1 + growth * k), in
                                             [0, 100]; default 0.3 */
    uint32_t start_regime;      /**< regime of the first event, < regime_count; default 0 */
    uint32_t reserved;          /**< set to 0 (other values are refused) */
    /** Per regime; only the first regime_count are read. Defaults, ordered
     *  by volatility (mean_duration_s, drift_bps_per_s, vol_bps_per_sqrt_s,
     *  spread_bps, trades_per_s, flow_autocorrelation, flow_drift_bias,
     *  drift_sign_random, next_regime_weight):
     *  0 calm:     300, 0,   0.5, 2, 4,  0.2, 0,   0, {0, 0.75, 0.25}
     *  1 trending: 120, 0.5, 1.2, 3, 12, 0.5, 0.3, 1, {0.6, 0, 0.4}
     *  2 violent:  45,  0,   4,   8, 40, 0.3, 0,   0, {0.7, 0.3, 0}
     *  Regimes 3..7 are initialised like regime 1 with no weights. */
    cscalp_sim_regime regimes[CSCALP_SIM_MAX_REGIMES];
} cscalp_sim_market_config;

/** One generated event. Only the member named by `kind` is written (the
 *  others keep whatever they held); in a book, levels past the counts are
 *  not written either. */
typedef struct cscalp_sim_market_event {
    uint32_t size;          /**< set by the caller to sizeof(cscalp_sim_market_event) */
    int32_t kind;           /**< CSCALP_KIND_TRADE, CSCALP_KIND_QUOTE or CSCALP_KIND_BOOK */
    int64_t ts_ns;          /**< event time, equal to the member's ts_ns */
    uint64_t index;         /**< 0 for the first event, then +1 per event */
    int32_t regime;         /**< true regime in force at ts_ns */
    uint32_t reserved;      /**< 0 */
    double mid;             /**< latent (unrounded) mid at ts_ns */
    double drift_bps_per_s; /**< drift in force at ts_ns, sign included */
    cscalp_trade trade;     /**< kind TRADE: at the touch of the last quote */
    cscalp_quote quote;     /**< kind QUOTE */
    cscalp_book book;       /**< kind BOOK: its touch is the last quote's */
} cscalp_sim_market_event;

/** Fill `cfg` with the defaults (above). Set cfg->size first; fields past
 *  it are not written. Any thread.
 *  Errors: CSCALP_EINVAL (cfg NULL), CSCALP_ESTRUCT (cfg->size smaller
 *  than the version-1 struct). */
CSCALP_API int cscalp_sim_market_config_init(cscalp_sim_market_config *cfg);

/** Create a generator from `cfg` (copied; not needed after the call).
 *  Every field the regime count makes relevant is checked; the first bad
 *  one is named, with its value and its range, in `errbuf` (may be NULL
 *  when errbuf_cap is 0; NUL-terminated, truncated to errbuf_cap), e.g.
 *  "regimes[1].vol_bps_per_sqrt_s: must be in [0, 1000], got -1".
 *  `allocator` as in cscalp_open_ex (NULL: malloc/free); the generator
 *  allocates only here. On failure *out is NULL and nothing is allocated.
 *  The same configuration gives the same events on every platform
 *  (docs/sim.md). Thread: any; the handle then belongs to the caller.
 *  Errors: CSCALP_EINVAL (out or cfg NULL, an allocator with a NULL
 *  function), CSCALP_ESTRUCT (cfg->size is not the size of a
 *  cscalp_sim_market_config this library knows: smaller than version 1,
 *  or larger than this library's, i.e. a newer header), CSCALP_ECONFIG_RANGE
 *  (a field out of its range, non-finite, or a reserved field not 0),
 *  CSCALP_ENOMEM. */
CSCALP_API int cscalp_sim_market_open(cscalp_sim_market **out,
                                      const cscalp_sim_market_config *cfg,
                                      const cscalp_allocator *allocator, char *errbuf,
                                      size_t errbuf_cap);

/** Produce the next event, in time order (ts_ns never decreases; events
 *  may share a time). The first event is a QUOTE at start_time_ns. Every
 *  event is valid market data for cscalp_push_trade/quote/book: a fresh
 *  engine accepts all of them. Set event->size first; the library fills
 *  what fits and leaves size as it is. Allocation-free, O(book_levels).
 *  Errors: CSCALP_EINVAL (NULL argument), CSCALP_ESTRUCT (event->size
 *  smaller than the version-1 struct): nothing is written and the
 *  generator does not move. CSCALP_ETIME: the next time would pass
 *  INT64_MAX (more than a century of simulated time after the latest
 *  start); nothing is written and every later call fails the same way.
 *  Thread: the owning thread. */
CSCALP_API int cscalp_sim_market_next(cscalp_sim_market *market,
                                      cscalp_sim_market_event *event);

/** The configured regime count; 0 for NULL. Thread: the owning thread. */
CSCALP_API uint32_t cscalp_sim_market_regime_count(const cscalp_sim_market *market);

/** Destroy a generator (through the allocator it was opened with). NULL is
 *  a no-op. Thread: the owning thread. */
CSCALP_API void cscalp_sim_market_close(cscalp_sim_market *market);

/* ------------------------------------------------------------------------ */
/* Simulated venue                                                          */
/* ------------------------------------------------------------------------ */

/* A USDⓈ-M-style perpetual venue for backtests and paper trading
 * (docs/sim.md, "Simulated venue"): it takes the same market events as the
 * engine and the engine's intents, and answers with order updates in the
 * cscalp_on_order format after the configured latencies. Honest about what
 * backtests usually get wrong: taker orders walk the displayed depth, a
 * resting order waits behind the size displayed at its price when it
 * arrived, fees are charged by liquidity side, funding is paid at the
 * settlement times, and an isolated position is liquidated at Binance's
 * maintenance-margin rule with a liquidation fee. Deterministic: the same
 * calls give the same updates and the same report. */

/** Most maintenance-margin tiers a venue takes. */
#define CSCALP_SIM_MAX_BRACKETS 16

/** The opaque venue handle. */
typedef struct cscalp_sim_venue cscalp_sim_venue;

/** Venue configuration. Set `size`, call cscalp_sim_venue_config_init for
 *  the defaults (per field), change what you need. Money in quote currency,
 *  sizes in contracts. */
typedef struct cscalp_sim_venue_config {
    uint32_t size;               /**< set by the caller to sizeof(cscalp_sim_venue_config) */
    uint32_t bracket_count;      /**< 1..CSCALP_SIM_MAX_BRACKETS; default 10 */
    double maker_fee_bps;        /**< per fill, of notional, in [-100, 1000]; < 0 a
                                      rebate; default 2 (0.02 %) */
    double taker_fee_bps;        /**< in [0, 1000], >= maker_fee_bps; default 5 (0.05 %) */
    int64_t order_latency_ns;    /**< an intent reaches the venue this long after its
                                      ts_ns, in [0, 60 s]; default 5 ms */
    int64_t report_latency_ns;   /**< an update reaches the host this long after it
                                      happened at the venue, in [0, 60 s]; default 5 ms */
    double wallet_quote;         /**< the isolated wallet at the start, > 0; default 10 000 */
    double default_funding_rate; /**< per interval, used at settlements no funding
                                      event announced, in [-0.03, 0.03]; default
                                      0.0001 (0.01 %) */
    int64_t funding_interval_ns; /**< settlements at multiples of this since the epoch
                                      when no funding event gives the next time, in
                                      [1 s, 7 days]; 0 = no funding without events;
                                      default 8 h */
    double liquidation_fee_rate; /**< of the notional liquidated, charged to what is left
                                      of the wallet (never below 0), in [0, 0.1];
                                      default 0.005 */
    int64_t max_time_regression_ns; /**< a market event this much before the venue's
                                      clock is taken at the clock time, as the engine
                                      does (feed.max_time_regression_ms), in [0, 1 h];
                                      default 100 ms */
    double bracket_caps_quote[CSCALP_SIM_MAX_BRACKETS]; /**< tier caps, increasing;
                                      default Binance BTCUSDT (docs/risk.md) */
    double bracket_rates[CSCALP_SIM_MAX_BRACKETS];       /**< maintenance margin rates */
    double bracket_max_leverage[CSCALP_SIM_MAX_BRACKETS]; /**< tier leverage */
} cscalp_sim_venue_config;

/** The venue's account now. */
typedef struct cscalp_sim_venue_account {
    uint32_t size;            /**< set by the caller to sizeof(cscalp_sim_venue_account) */
    uint32_t working_orders;  /**< orders arrived or in flight, not closed */
    double position;          /**< contracts, signed */
    double entry_price;       /**< average entry, 0 when flat */
    double wallet;            /**< wallet_quote + realised − fees − funding − liquidation fees */
    double equity;            /**< wallet + unrealised at the mark */
    double mark_price;        /**< the mark: the last funding event's mark price while it is
                                   newer than the last quote, else the mid */
    double liquidation_price; /**< 0 when flat or when nothing can liquidate it */
    uint64_t fills;           /**< fills of orders (maker + taker); liquidations apart */
    uint64_t liquidations;    /**< positions the venue closed, as they happened */
    /** Liquidations the host has been told of through cscalp_sim_venue_poll,
     *  in the update stream's order (docs/sim.md): when this grows, resync
     *  the engine with cscalp_set_position(position_reported,
     *  entry_reported) before applying later updates. */
    uint64_t liquidations_reported;
    double position_reported; /**< the position right after the latest reported liquidation */
    double entry_reported;    /**< its entry (0: flat) */
} cscalp_sim_venue_account;

/** Fill `cfg` with the defaults. Errors: CSCALP_EINVAL, CSCALP_ESTRUCT. Any thread. */
CSCALP_API int cscalp_sim_venue_config_init(cscalp_sim_venue_config *cfg);

/** Create a venue. Every field is checked; the first bad one is named in
 *  errbuf. `allocator` as in cscalp_open_ex. Errors: CSCALP_EINVAL,
 *  CSCALP_ESTRUCT, CSCALP_ECONFIG_RANGE, CSCALP_ENOMEM. Thread: any; the
 *  handle then belongs to the caller. */
CSCALP_API int cscalp_sim_venue_open(cscalp_sim_venue **out, const cscalp_sim_venue_config *cfg,
                                     const cscalp_allocator *allocator, char *errbuf,
                                     size_t errbuf_cap);

/** Market events, in time order, as the engine gets them (the venue keeps
 *  the touch, the book, the trades through resting orders, funding). Each
 *  call first processes what the venue had due up to the event's time
 *  (arrivals of intents, funding settlements), then the event. An event up
 *  to max_time_regression_ns before the venue's clock is taken at the clock
 *  time. Errors: CSCALP_EINVAL (NULL; a book with a level count of 0 or
 *  above CSCALP_BOOK_MAX_LEVELS), CSCALP_ETIME (earlier than that). The
 *  event is not validated beyond that: push to the engine first and give
 *  the venue what the engine accepted. */
CSCALP_API int cscalp_sim_venue_on_trade(cscalp_sim_venue *v, const cscalp_trade *t);
CSCALP_API int cscalp_sim_venue_on_quote(cscalp_sim_venue *v, const cscalp_quote *q);
CSCALP_API int cscalp_sim_venue_on_book(cscalp_sim_venue *v, const cscalp_book *b);
CSCALP_API int cscalp_sim_venue_on_funding(cscalp_sim_venue *v, const cscalp_funding *f);
/** Advance the venue's clock with no market event. Errors as above. */
CSCALP_API int cscalp_sim_venue_advance(cscalp_sim_venue *v, int64_t now_ns);

/** Most orders a venue holds at once (in flight or resting). */
#define CSCALP_SIM_VENUE_MAX_ORDERS 1024

/** Send an intent (from cscalp_poll_intents). It reaches the venue at
 *  ts_ns + order_latency_ns (not before the venue's clock). A CANCEL for
 *  an order the venue no longer holds is ignored, as a venue answers
 *  "unknown order" to it. Errors: CSCALP_EINVAL (NULL, unknown kind, side
 *  or type, a quantity or price out of range, a NEW whose client id is not
 *  above every earlier one), CSCALP_ESTRUCT, CSCALP_EBUFFER (the venue
 *  holds CSCALP_SIM_VENUE_MAX_ORDERS orders). Thread: the owning thread. */
CSCALP_API int cscalp_sim_venue_submit(cscalp_sim_venue *v, const cscalp_intent *intent);

/** Updates that reached the host by `now_ns` (happened by now_ns −
 *  report_latency_ns), oldest first, at most `cap`; each one's size set
 *  and the bytes past this library's struct zeroed. A liquidation in the
 *  stream ends a batch: the call returns the updates before it, and the
 *  next call takes the liquidation (liquidations_reported grows: resync the
 *  engine) before going on. Returns how many (>= 0) or a negative error
 *  (CSCALP_EINVAL, CSCALP_ESTRUCT: out[0].size is the stride as in
 *  cscalp_poll_intents). `text` of a REJECTED points to a static string. */
CSCALP_API int cscalp_sim_venue_poll(cscalp_sim_venue *v, int64_t now_ns,
                                     cscalp_order_update *out, size_t cap);

/** The account now. Errors: CSCALP_EINVAL, CSCALP_ESTRUCT. */
CSCALP_API int cscalp_sim_venue_get_account(const cscalp_sim_venue *v,
                                            cscalp_sim_venue_account *out);

/** The venue's report as a JSON object (docs/sim.md lists the keys): PnL
 *  gross and net, fees, funding, liquidation fees, return, Sharpe and
 *  Sortino of 1-minute equity returns (annualised by √525 600), maximum
 *  drawdown, round trips, win rate, profit factor, turnover, time in the
 *  market, average holding time, and the configuration. Buffer contract
 *  of cscalp_config_json. Errors: CSCALP_EINVAL, CSCALP_EBUFFER. */
CSCALP_API int cscalp_sim_venue_report_json(const cscalp_sim_venue *v, char *buf, size_t cap,
                                            size_t *needed);

/** Destroy a venue. NULL is a no-op. */
CSCALP_API void cscalp_sim_venue_close(cscalp_sim_venue *v);

#ifdef __cplusplus
}
#endif

#endif /* CRYPTOSCALP_SIM_H */
