/*
 * cryptoscalp.h — public API of libcryptoscalp.
 *
 * libcryptoscalp is an embeddable engine for crypto perpetual-futures scalping.
 * The host (your trading engine) owns all I/O: it pushes market data into an
 * opaque engine handle, advances time, and reads features, health and stats.
 * The library never opens a socket and never reads the wall clock for a
 * decision: event time (the ts_ns of the data you push, and cscalp_tick) is its
 * only clock, so a backtest and a live session run the same code.
 *
 * This header is the reference manual. Every function states what it does,
 * who owns what, which thread may call it and every error it returns.
 *
 * Conventions that hold for the whole API
 * ---------------------------------------
 * - Return values: functions that can fail return an int error code,
 *   CSCALP_OK (0) on success and a negative CSCALP_E* code on failure.
 *   cscalp_strerror() turns a code into text; cscalp_last_error() gives the
 *   detail (which field, which value, which config key) of the last failure on
 *   an engine handle. There is no global error state.
 * - Threads: one engine handle is used by one thread at a time. Different
 *   handles are independent and may be used from different threads at once.
 *   Functions marked "any thread" touch no engine state.
 * - Ownership: pointers you pass are only read during the call unless stated.
 *   Memory the library allocates for you is released with cscalp_free().
 * - ABI: output structs start with `uint32_t size`, which the caller sets to
 *   sizeof(the struct) before the call; the library fills only what fits, so
 *   fields appended in later versions never break older callers. Market-data
 *   input structs are frozen for ABI major 1.
 * - Errors on bad market data: the event is refused with a specific code,
 *   counted per reason, reported as a health event (component FEED) and never
 *   reaches features or any later stage. Everything accepted before it stays.
 */
#ifndef CRYPTOSCALP_H
#define CRYPTOSCALP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CSCALP_BUILDING_DLL)
#define CSCALP_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define CSCALP_API __attribute__((visibility("default")))
#else
#define CSCALP_API
#endif

/* ------------------------------------------------------------------------ */
/* Version and build features                                               */
/* ------------------------------------------------------------------------ */

#define CSCALP_VERSION_MAJOR 1
#define CSCALP_VERSION_MINOR 0
#define CSCALP_VERSION_PATCH 0
/** Version as one comparable number: 0xMMmmpp. */
#define CSCALP_VERSION_HEX                                                     \
    ((CSCALP_VERSION_MAJOR << 16) | (CSCALP_VERSION_MINOR << 8) |              \
     CSCALP_VERSION_PATCH)

/** Version of the linked library as CSCALP_VERSION_HEX would give it.
 *  Compare with the header's macro to detect a header/library mismatch.
 *  Any thread. Never fails. */
CSCALP_API unsigned int cscalp_version(void);

/** Version of the linked library as "MAJOR.MINOR.PATCH" (static string).
 *  Any thread. Never fails. */
CSCALP_API const char *cscalp_version_string(void);

/** Optional capabilities, fixed at build time (see cscalp_has_feature). */
typedef enum cscalp_feature {
    CSCALP_FEATURE_BLAS = 1,    /**< built with the OpenBLAS backend */
    CSCALP_FEATURE_CUDA = 2,    /**< built with the CUDA/cuBLAS backend */
    CSCALP_FEATURE_THREADS = 3  /**< built with the asynchronous learner thread */
} cscalp_feature;

/** 1 when the library was built with `feature`, 0 when not or when the
 *  value is unknown. A built feature may still be unusable at run time (no
 *  GPU); the engine reports that through health events. Any thread. */
CSCALP_API int cscalp_has_feature(int feature);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/* X-macro: the one list behind the enum, cscalp_strerror and
 * cscalp_error_name. Codes are pinned: never renumbered, only appended. */
#define CSCALP_ERROR_LIST(X)                                                   \
    X(OK, 0, "success")                                                        \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(EBUFFER, -3, "output buffer too small")                                  \
    X(ESTRUCT, -4, "struct size field too small")                              \
    X(EJSON, -5, "malformed JSON")                                             \
    X(ECONFIG_KEY, -6, "unknown configuration key")                            \
    X(ECONFIG_TYPE, -7, "configuration value has the wrong type")              \
    X(ECONFIG_RANGE, -8, "configuration value out of range")                   \
    X(ENONFINITE, -9, "non-finite number in market data")                      \
    X(EPRICE, -10, "price not positive")                                       \
    X(ESIZE, -11, "size negative or not allowed")                              \
    X(ESIDE, -12, "unknown side")                                              \
    X(ECROSSED, -13, "crossed or locked book (bid >= ask)")                    \
    X(ELEVELS, -14, "book levels not strictly ordered or bad level count")     \
    X(ETIME, -15, "timestamp before the engine clock beyond the tolerance")    \
    X(EUNSUPPORTED, -16, "feature not available in this build")               \
    X(ECONFIG_FIXED, -17, "configuration key is fixed when the engine opens") \
    X(ECORRUPT, -18, "checkpoint damaged: truncated, bad checksum or bad field") \
    X(EVERSION, -19, "checkpoint format version or byte order not supported") \
    X(EIO, -20, "file could not be opened, read, written or synced")            \
    X(EORDER_UNKNOWN, -21, "order update for a client id this engine never issued") \
    X(EORDER_CLOSED, -22, "order update for an order already closed")           \
    X(EOVERFILL, -23, "fill beyond the order's size")                          \
    X(ETRANSITION, -24, "order update impossible in the order's state")        \
    X(EKILLED, -25, "refused while the kill switch is tripped")                \
    X(ERISK, -26, "refused by a pre-trade risk control")                     \
    X(EOUTLIER, -27, "price jump beyond the outlier screen: quarantined")

typedef enum cscalp_error {
#define CSCALP_ERROR_ENUM_(name, code, text) CSCALP_##name = code,
    CSCALP_ERROR_LIST(CSCALP_ERROR_ENUM_)
#undef CSCALP_ERROR_ENUM_
    CSCALP_ERROR_END_ = 1 /**< not an error code; ends the list */
} cscalp_error;

/** Static English text for an error code ("unknown error" for unknown codes).
 *  Any thread. Never fails, never returns NULL. */
CSCALP_API const char *cscalp_strerror(int code);

/** Static symbolic name for an error code, e.g. "CSCALP_ECROSSED"
 *  ("CSCALP_EUNKNOWN" for unknown codes). Any thread. Never returns NULL. */
CSCALP_API const char *cscalp_error_name(int code);

/* ------------------------------------------------------------------------ */
/* Lifecycle and configuration                                              */
/* ------------------------------------------------------------------------ */

/** The opaque engine handle. */
typedef struct cscalp_engine cscalp_engine;

/** Optional per-engine allocator (like zstd's ZSTD_customMem). Every
 *  allocation the engine makes for its own state goes through it; `alloc`
 *  must return memory aligned for any object type (as malloc does) or NULL.
 *  Both functions are called only from inside API calls on that engine, on
 *  the caller's thread. Configuration JSON is parsed with cJSON, which uses
 *  the process allocator (the library never changes cJSON's global hooks, so
 *  a host that uses cJSON itself is not disturbed); that memory is released
 *  before the call returns. */
typedef struct cscalp_allocator {
    void *(*alloc)(void *opaque, size_t size);
    void (*free)(void *opaque, void *ptr);
    void *opaque;
} cscalp_allocator;

/** Create an engine from a JSON configuration (see docs/config.md).
 *  `config_json` may be NULL or "{}" for the defaults; keys you give override
 *  the defaults. On success *out is a new handle; on failure *out is NULL.
 *  The model is created from `model.seed` (docs/model.md).
 *  Thread: any; the new handle then belongs to the calling thread.
 *  Errors: CSCALP_EINVAL (out is NULL), CSCALP_EJSON, CSCALP_ECONFIG_KEY,
 *  CSCALP_ECONFIG_TYPE, CSCALP_ECONFIG_RANGE, CSCALP_EUNSUPPORTED
 *  (model.backend names a backend this build lacks), CSCALP_ENOMEM. Use
 *  cscalp_open_ex to receive the detail text of a failure. */
CSCALP_API int cscalp_open(cscalp_engine **out, const char *config_json);

/** cscalp_open with an optional allocator (NULL: malloc/free) and an optional
 *  caller-owned buffer that receives the detail text of a failure (the key
 *  path of a bad config value, for example), NUL-terminated and truncated to
 *  `errbuf_cap` bytes. `errbuf` may be NULL when `errbuf_cap` is 0. The
 *  allocator struct is copied; its functions must stay valid until
 *  cscalp_close returns. Every allocation made before a failure is released.
 *  Errors: as cscalp_open, plus CSCALP_EINVAL when the allocator has a NULL
 *  function pointer. */
CSCALP_API int cscalp_open_ex(cscalp_engine **out, const char *config_json,
                              const cscalp_allocator *allocator, char *errbuf,
                              size_t errbuf_cap);

/** Destroy an engine and release everything it owns. NULL is a no-op.
 *  Thread: the thread that owns the handle. */
CSCALP_API void cscalp_close(cscalp_engine *engine);

/** Release memory the library allocated for the caller. NULL is a no-op.
 *  (No function in this version hands out such memory; it exists so that
 *  later functions can, without an ABI change.) Any thread. */
CSCALP_API void cscalp_free(void *ptr);

/** Detail of the last failed call on this engine, e.g.
 *  "quote.bid_price: -1 is not positive" or "features.z_clip: must be in
 *  [0.1, 1000], got 0". Empty string when the last call succeeded. The
 *  pointer stays valid until the next call on the engine. NULL engine gives
 *  a static message. Thread: the owning thread. */
CSCALP_API const char *cscalp_last_error(const cscalp_engine *engine);

/** Write the effective configuration (every key, defaults included) as a
 *  JSON object into `buf` (NUL-terminated). `*needed` (may be NULL) receives
 *  the length required, without the NUL. With buf NULL and cap 0 it only
 *  reports the length. Errors: CSCALP_EINVAL, CSCALP_EBUFFER (cap too small:
 *  nothing written beyond cap, *needed set). Thread: the owning thread. */
CSCALP_API int cscalp_config_json(const cscalp_engine *engine, char *buf,
                                  size_t cap, size_t *needed);

/** Change configuration at run time with a JSON patch holding only the keys
 *  to change. Validated as a whole and applied all or nothing: on any error
 *  nothing changes. A rejected patch is counted (stats `config_rejected`) and
 *  raises a health event (component ENGINE); an accepted one raises an INFO
 *  event. Errors: CSCALP_EINVAL, CSCALP_EJSON, CSCALP_ECONFIG_KEY,
 *  CSCALP_ECONFIG_TYPE, CSCALP_ECONFIG_RANGE. Thread: the owning thread. */
CSCALP_API int cscalp_configure(cscalp_engine *engine, const char *json_patch);

/* ------------------------------------------------------------------------ */
/* Market data (input structs: frozen layout for ABI 1)                     */
/* ------------------------------------------------------------------------ */

/** Aggressor side of a trade. Any other value is refused with CSCALP_ESIDE. */
typedef enum cscalp_side {
    CSCALP_SIDE_BUY = 1,  /**< buyer was the taker (lifted the ask) */
    CSCALP_SIDE_SELL = -1 /**< seller was the taker (hit the bid) */
} cscalp_side;

/** One trade print. Valid: finite price > 0, finite size > 0, side BUY or
 *  SELL. trade_id is informational (0 when unknown). */
typedef struct cscalp_trade {
    int64_t ts_ns;    /**< event time, ns (any epoch, used consistently) */
    double price;     /**< quote currency per contract */
    double size;      /**< contracts (base units) */
    int32_t side;     /**< cscalp_side */
    uint32_t flags;   /**< reserved, set to 0 */
    int64_t trade_id; /**< venue trade id, 0 when unknown */
} cscalp_trade;

/** Best bid/offer. Valid: finite prices > 0, finite sizes >= 0,
 *  bid_price < ask_price. */
typedef struct cscalp_quote {
    int64_t ts_ns;
    double bid_price;
    double bid_size;
    double ask_price;
    double ask_size;
} cscalp_quote;

/** Most levels a book snapshot can carry. */
#define CSCALP_BOOK_MAX_LEVELS 50

/** One price level. */
typedef struct cscalp_level {
    double price;
    double size;
} cscalp_level;

/** L2 top-N snapshot. bid_count and ask_count in 1..CSCALP_BOOK_MAX_LEVELS;
 *  levels past the counts are ignored. Valid: finite prices > 0, finite
 *  sizes > 0, bids strictly descending, asks strictly ascending, best bid <
 *  best ask. The engine keeps the first `feed.book_levels` levels. */
typedef struct cscalp_book {
    int64_t ts_ns;
    uint32_t bid_count;
    uint32_t ask_count;
    cscalp_level bids[CSCALP_BOOK_MAX_LEVELS]; /**< best (highest) first */
    cscalp_level asks[CSCALP_BOOK_MAX_LEVELS]; /**< best (lowest) first */
} cscalp_book;

/** Funding and mark price update of a perpetual. Valid: finite funding_rate
 *  (a fraction per funding interval, may be negative), finite mark_price > 0,
 *  index_price finite and > 0 or exactly 0 (unknown), next_funding_ts_ns >= 0
 *  (0 unknown). */
typedef struct cscalp_funding {
    int64_t ts_ns;
    double funding_rate;
    double mark_price;
    double index_price;
    int64_t next_funding_ts_ns;
} cscalp_funding;

/** The engine's time range: event and tick times must lie within
 *  [CSCALP_TIME_MIN_NS, CSCALP_TIME_MAX_NS], -2^61 to 2^62 ns (1896 to 2116
 *  as Unix time), so that every time derived from them, and the difference
 *  of any two, fits in int64; a time outside is refused with CSCALP_ETIME. */
#define CSCALP_TIME_MIN_NS (-((int64_t)1 << 61))
#define CSCALP_TIME_MAX_NS ((int64_t)1 << 62)

/** Push one event. The event time must lie within the time range
 *  (CSCALP_TIME_MIN_NS ... CSCALP_TIME_MAX_NS) and must not be earlier than the engine clock
 *  (the latest accepted event or tick time) by more than
 *  `feed.max_time_regression_ms`; an event within that tolerance is accepted
 *  and treated as happening at the clock time (time never runs backwards
 *  inside the engine). O(1), allocation-free.
 *  Errors: CSCALP_EINVAL (NULL argument, or a funding event with a negative
 *  next_funding_ts_ns), CSCALP_ENONFINITE, CSCALP_EPRICE,
 *  CSCALP_ESIZE, CSCALP_ESIDE (trades), CSCALP_ECROSSED (quotes, books),
 *  CSCALP_ELEVELS (books), CSCALP_ETIME. A refused event changes no market
 *  state; it is counted per reason and raises a health event.
 *  Thread: the owning thread. */
CSCALP_API int cscalp_push_trade(cscalp_engine *engine, const cscalp_trade *trade);
CSCALP_API int cscalp_push_quote(cscalp_engine *engine, const cscalp_quote *quote);
CSCALP_API int cscalp_push_book(cscalp_engine *engine, const cscalp_book *book);
CSCALP_API int cscalp_push_funding(cscalp_engine *engine,
                                   const cscalp_funding *funding);

/** Batch flag: skip refused events and carry on (each one still counted and
 *  reported). Without it a batch stops at the first refused event. */
#define CSCALP_BATCH_SKIP_INVALID 1u

/** Push `n` events in order, as if by n single pushes.
 *  Rule: without CSCALP_BATCH_SKIP_INVALID the batch stops at the first
 *  refused event and returns its code; events before it are accepted, the
 *  refused one and those after it are not looked at, and *accepted (may be
 *  NULL) equals the index of the refused event, so the caller can fix or drop
 *  it and resume at arr + *accepted + 1. With the flag every event is tried;
 *  the return is CSCALP_OK when all were accepted, else the code of the first
 *  refused one, and *accepted counts the accepted events. `n` = 0 is valid.
 *  Errors: CSCALP_EINVAL (NULL engine, or NULL array with n > 0, or unknown
 *  flag bits), and every error of the single push. Thread: the owning
 *  thread. */
CSCALP_API int cscalp_push_trades(cscalp_engine *engine, const cscalp_trade *arr,
                                  size_t n, unsigned int flags, size_t *accepted);
CSCALP_API int cscalp_push_quotes(cscalp_engine *engine, const cscalp_quote *arr,
                                  size_t n, unsigned int flags, size_t *accepted);
CSCALP_API int cscalp_push_books(cscalp_engine *engine, const cscalp_book *arr,
                                 size_t n, unsigned int flags, size_t *accepted);
CSCALP_API int cscalp_push_fundings(cscalp_engine *engine,
                                    const cscalp_funding *arr, size_t n,
                                    unsigned int flags, size_t *accepted);

/** Advance the engine clock to `now_ns` with no market data (drives the
 *  time-decayed features and, in later stages, watchdogs and time-outs).
 *  A time at or before the clock within the tolerance is a no-op.
 *  Errors: CSCALP_EINVAL, CSCALP_ETIME (earlier than the clock beyond
 *  `feed.max_time_regression_ms`; counted and reported like bad data).
 *  Thread: the owning thread. */
CSCALP_API int cscalp_tick(cscalp_engine *engine, int64_t now_ns);

/* ------------------------------------------------------------------------ */
/* Features                                                                 */
/* ------------------------------------------------------------------------ */

/** Number of features in the vector (the same for every engine of this
 *  library version). Any thread. */
CSCALP_API size_t cscalp_feature_count(void);

/** Fill `names` with up to `cap` pointers to the feature names, in vector
 *  order (static strings, valid for the life of the process; see
 *  docs/features.md for each definition). `*count` (may be NULL) receives the
 *  total number of features. Errors: CSCALP_EINVAL (names NULL with cap > 0),
 *  CSCALP_EBUFFER (cap smaller than the count; the first cap are filled).
 *  Any thread. */
CSCALP_API int cscalp_feature_names(const char **names, size_t cap,
                                    size_t *count);

/** The current feature vector, evaluated at the engine clock: `raw` receives
 *  the raw values (units in docs/features.md), `normalized` the online
 *  clipped z-scores the model sees. Either may be NULL. Each must hold `cap`
 *  doubles; `*count` (may be NULL) receives the feature count. Reading does
 *  not change engine state. O(features), allocation-free.
 *  Errors: CSCALP_EINVAL (NULL engine), CSCALP_EBUFFER (cap smaller than the
 *  count; nothing written). Thread: the owning thread. */
CSCALP_API int cscalp_features(const cscalp_engine *engine, double *raw,
                               double *normalized, size_t cap, size_t *count);

/* ------------------------------------------------------------------------ */
/* Inference                                                                */
/* ------------------------------------------------------------------------ */

/** Class indexes of cscalp_signal.probabilities. */
typedef enum cscalp_class {
    CSCALP_CLASS_DOWN = 0,
    CSCALP_CLASS_FLAT = 1,
    CSCALP_CLASS_UP = 2
} cscalp_class;

/** How much the engine may act on its own (values pinned). Every engine
 *  opens MANUAL; cscalp_set_autonomy raises it (docs/risk.md, "Autonomy"). */
typedef enum cscalp_autonomy {
    CSCALP_AUTONOMY_MANUAL = 0,     /**< signals only, no intents */
    CSCALP_AUTONOMY_ASSISTED = 1,   /**< intents only reduce risk unless confirmed */
    CSCALP_AUTONOMY_AUTONOMOUS = 2, /**< intents and online learning */
    CSCALP_AUTONOMY_EVOLVING = 3    /**< also searches hyper-parameters */
} cscalp_autonomy;

/** Why a signal should be read with care (bits of cscalp_signal.reasons). */
#define CSCALP_REASON_NO_QUOTE (1u << 0)  /**< no top of book yet: every input is 0 */
#define CSCALP_REASON_WARMUP (1u << 1)    /**< normaliser still warming up
                                               (features.norm_warmup_samples):
                                               the inputs are 0 */
#define CSCALP_REASON_UNTRAINED (1u << 2) /**< the model is as initialised from
                                               model.seed and never trained */
#define CSCALP_REASON_FALLBACK (1u << 3)  /**< the network scores worse than the
                                               fallback model lately: the
                                               probabilities are the fallback's
                                               (docs/learning.md) */

/** The model's view of the market at the engine clock (docs/model.md). */
typedef struct cscalp_signal {
    uint32_t size;             /**< set by the caller to sizeof(cscalp_signal) */
    uint32_t reasons;          /**< CSCALP_REASON_* bits, 0 when none */
    int64_t ts_ns;             /**< engine clock the signal is for */
    double probabilities[3];   /**< by cscalp_class; sum to 1 */
    double expected_move_bps;  /**< expected mid move over the horizon (bps) */
    double confidence;         /**< 1 - entropy / ln 3: 0 uniform, 1 certain */
    int32_t regime;            /**< current regime, 0 = calmest (docs/regime.md); 0
                                    until the regime model is warm */
    int32_t autonomy;          /**< cscalp_autonomy in force */
    double regime_probability; /**< its filtered posterior probability (1/K
                                    while the regime model warms up) */
    double target_position;    /**< contracts, signed: the position the policy
                                    wanted at its latest decision step
                                    (policy.decide_interval_ms; docs/policy.md),
                                    whatever the autonomy; 0 before the first */
    uint64_t model_version;    /**< 1 when initialised; +1 per published update */
} cscalp_signal;

/** Run the live model on the current feature vector (with the configured
 *  lags) and fill `signal` (caller sets signal->size first; the library
 *  fills the fields that fit and leaves size unchanged). Reading the
 *  features does not change market state. O(model size), allocation-free,
 *  no lock. Errors: CSCALP_EINVAL (NULL), CSCALP_ESTRUCT (size smaller than
 *  the version-1 struct), CSCALP_ENONFINITE (the model's output is not
 *  finite: nothing is filled beyond size, a health event ERROR on component
 *  MODEL is raised). Thread: the owning thread. */
CSCALP_API int cscalp_infer(cscalp_engine *engine, cscalp_signal *signal);

/* ------------------------------------------------------------------------ */
/* Learning                                                                 */
/* ------------------------------------------------------------------------ */

/** What the learner did (docs/learning.md). Counts named "since" cover the
 *  time since the previous cscalp_adapt call (or since open), including the
 *  learning that happened inside push calls; "_total" counts since open. */
typedef struct cscalp_adapt_report {
    uint32_t size;             /**< set by the caller to sizeof(cscalp_adapt_report) */
    uint32_t mode;             /**< learn.mode: 0 off, 1 inline, 2 async */
    uint64_t steps;            /**< training steps since the previous call */
    uint64_t promotions;       /**< challenger promotions since the previous call */
    uint64_t rollbacks;        /**< challenger rollbacks since the previous call */
    uint64_t steps_total;      /**< training steps since open */
    uint64_t promotions_total; /**< promotions since open */
    uint64_t rollbacks_total;  /**< rollbacks since open */
    uint64_t samples_matured;  /**< decision samples labelled since open */
    uint64_t samples_pending;  /**< decision samples waiting for their label now */
    uint64_t replay_size;      /**< samples in the replay buffer now */
    uint64_t model_version;    /**< version of the live network now */
    uint32_t serving;          /**< 0 the network serves signals, 1 the fallback */
    uint32_t reserved;         /**< 0 */
} cscalp_adapt_report;

/** Learn now. Inline mode: run up to `budget_steps` extra training steps of
 *  the challenger on the replay buffer, on this thread, then evaluate it
 *  (deterministic). Async mode: wait until the learner thread has taken
 *  every matured sample queued so far and run the steps they call for, then
 *  ask it for up to `budget_steps` extra steps and wait for those too.
 *  Mode off: nothing to do. Then fill `report` (may be NULL). Learning also
 *  runs without this call, inside push calls, as samples mature
 *  (learn.train_every_samples). Allocation-free. Errors: CSCALP_EINVAL,
 *  CSCALP_ESTRUCT (report->size too small). Thread: the owning thread. */
CSCALP_API int cscalp_adapt(cscalp_engine *engine, uint32_t budget_steps,
                            cscalp_adapt_report *report);

/* ------------------------------------------------------------------------ */
/* Decisions: order intents, order updates, position, autonomy              */
/* ------------------------------------------------------------------------ */

/* The library decides; the host executes (docs/risk.md, docs/policy.md).
 * On the event-time grid `policy.decide_interval_ms` the engine asks the
 * policy what it wants (the edge after costs, a volatility-targeted
 * position within the caps), runs every order through the pre-trade
 * controls (risk.*) and the autonomy level, and queues what passes as
 * intents. The host polls them, sends them to its venue under the client
 * order id given, and reports every answer with cscalp_on_order. The
 * engine's position follows the host's fills only: an intent changes
 * nothing until a fill for it is reported. */

/** What an intent asks for. */
typedef enum cscalp_intent_kind {
    CSCALP_INTENT_NEW = 1,   /**< place a new order */
    CSCALP_INTENT_CANCEL = 2 /**< cancel the working order client_id */
} cscalp_intent_kind;

/** Order types. */
typedef enum cscalp_order_type {
    CSCALP_ORDER_LIMIT = 0,     /**< plain limit order (not used by this version) */
    CSCALP_ORDER_POST_ONLY = 1, /**< limit that must rest (maker or refused) */
    CSCALP_ORDER_MARKET = 2     /**< crosses now; `price` is the protection
                                     price: the worst acceptable, inside the
                                     risk.price_collar_bps collar. Send it as an
                                     IOC limit at that price, or as a market
                                     order with the venue's price protection */
} cscalp_order_type;

/** Time in force. */
typedef enum cscalp_time_in_force {
    CSCALP_TIF_GTC = 0, /**< good till cancelled */
    CSCALP_TIF_IOC = 1, /**< immediate or cancel (MARKET intents) */
    CSCALP_TIF_GTX = 2  /**< good till crossing: post-only (POST_ONLY intents) */
} cscalp_time_in_force;

/** Why an intent exists (values pinned). */
typedef enum cscalp_intent_reason {
    CSCALP_INTENT_ENTRY = 1,       /**< towards a larger position the policy wants */
    CSCALP_INTENT_EXIT = 2,        /**< towards a smaller one (reduce-only) */
    CSCALP_INTENT_REPRICE = 3,     /**< cancel: the touch moved away from the order */
    CSCALP_INTENT_TTL = 4,         /**< cancel: older than policy.order_ttl_ms */
    CSCALP_INTENT_STALE = 5,       /**< cancel: on the wrong side of, or larger
                                        than, what is wanted now */
    CSCALP_INTENT_KILL_SWITCH = 6, /**< cancel or reduce-only flatten after the
                                        kill switch tripped */
    CSCALP_INTENT_AUTONOMY = 7,    /**< cancel: autonomy lowered to MANUAL */
    CSCALP_INTENT_SUPERVISOR = 8   /**< cancel: the supervisor suspended trading
                                        (the feed went stale; docs/self-healing.md) */
} cscalp_intent_reason;

/** Bits of cscalp_intent.flags. */
#define CSCALP_INTENT_REDUCE_ONLY (1u << 0) /**< send it reduce-only */
#define CSCALP_INTENT_NEEDS_CONFIRMATION (1u << 1) /**< ASSISTED autonomy: an
    order that adds exposure; send it only if you confirm it, else report
    it CSCALP_UPDATE_REJECTED (e.g. with text "declined") */

/** One intent. Output struct: set out[0].size (see cscalp_poll_intents). */
typedef struct cscalp_intent {
    uint32_t size;         /**< set by the caller to sizeof(cscalp_intent) */
    int32_t kind;          /**< cscalp_intent_kind */
    uint64_t client_id;    /**< NEW: the id to send the order under (unique for
                                the engine's life, across checkpoints, >= 1);
                                CANCEL: the order to cancel */
    int64_t ts_ns;         /**< engine clock when it was decided */
    int32_t side;          /**< NEW: cscalp_side; CANCEL: the order's side */
    int32_t type;          /**< NEW: cscalp_order_type */
    int32_t time_in_force; /**< NEW: cscalp_time_in_force */
    int32_t reason;        /**< cscalp_intent_reason */
    double price;          /**< NEW: limit or protection price on the
                                policy.tick_size_quote grid (quote per contract) */
    double quantity;       /**< NEW: contracts on the policy.lot_size_contracts grid
                                (a kill-switch flatten: the exact position) */
    uint32_t flags;        /**< CSCALP_INTENT_* bits */
    int32_t regime;        /**< regime when decided (explanation) */
    double expected_move_bps; /**< the signal's expected move (explanation) */
    double edge_bps;       /**< the edge after costs that justified it:
                                maker edge for POST_ONLY, taker edge for
                                MARKET; 0 for cancels and flattens */
    double target_position; /**< what the policy wanted, contracts, signed */
    double position;       /**< the engine's position when decided */
} cscalp_intent;

/** Move up to `cap` queued intents, oldest first, into `out` and return how
 *  many (>= 0), or a negative error. The caller sets out[0].size to
 *  sizeof(cscalp_intent); it is the stride of the array, so a host compiled
 *  against an older, shorter struct still gets whole elements (each with
 *  size set to it). An intent is given out once. The queue holds
 *  risk.intent_queue_count intents; while it is full the policy waits (counted,
 *  CSCALP_EVENT_INTENTS_DROPPED). Intents are queued inside push, tick,
 *  cscalp_on_order, cscalp_set_position, cscalp_set_autonomy and
 *  cscalp_configure calls, and were checked against the market at their
 *  ts_ns: poll after every such call and send at once. A NEW intent not yet
 *  polled when the kill switch trips (or autonomy drops to MANUAL) and that
 *  would add exposure is taken back: it is never handed out, and its order
 *  is closed without an update from the host.
 *  Allocation-free. Errors: CSCALP_EINVAL (NULL engine, or out NULL with
 *  cap > 0), CSCALP_ESTRUCT (out[0].size smaller than the version-1 struct).
 *  Thread: the owning thread. */
CSCALP_API int cscalp_poll_intents(cscalp_engine *engine, cscalp_intent *out, size_t cap);

/** Kinds of order update. */
typedef enum cscalp_update_type {
    CSCALP_UPDATE_ACK = 1,       /**< the venue accepted the order */
    CSCALP_UPDATE_REJECTED = 2,  /**< the venue (or the host) refused the order
                                      or, for an order with a cancel pending,
                                      the cancel; `text` says why */
    CSCALP_UPDATE_FILL = 3,      /**< a partial or full fill */
    CSCALP_UPDATE_CANCELLED = 4, /**< the order is cancelled (remainder) */
    CSCALP_UPDATE_EXPIRED = 5    /**< the venue expired it (IOC remainder, GTX
                                      that would have crossed) */
} cscalp_update_type;

/** Liquidity side of a fill. */
typedef enum cscalp_liquidity {
    CSCALP_LIQUIDITY_UNKNOWN = 0,
    CSCALP_LIQUIDITY_MAKER = 1,
    CSCALP_LIQUIDITY_TAKER = 2
} cscalp_liquidity;

/** The host's report of what happened to an order. Input struct with a size
 *  field: set size to sizeof(cscalp_order_update); fields may be appended. */
typedef struct cscalp_order_update {
    uint32_t size;          /**< sizeof(cscalp_order_update) */
    int32_t type;           /**< cscalp_update_type */
    uint64_t client_id;     /**< from the intent */
    int64_t ts_ns;          /**< venue time (informational; the engine clock
                                 stays the market data's) */
    uint64_t fill_id;       /**< FILL: the venue's trade id, non-zero; the same
                                 (client_id, fill_id) again is a duplicate and
                                 ignored */
    double fill_price;      /**< FILL: > 0, quote per contract */
    double fill_quantity;   /**< FILL: > 0, contracts */
    double fee;             /**< FILL: quote currency charged, < 0 for a rebate */
    int32_t liquidity;      /**< FILL: cscalp_liquidity */
    uint32_t flags;         /**< reserved: set 0 (ignored in this version) */
    const char *text;       /**< REJECTED: the venue's reason (may be NULL);
                                 copied into the health event */
} cscalp_order_update;

/** Apply an order update. The order table follows the update (docs/risk.md,
 *  "Orders"); an applied fill is booked in the position (average entry,
 *  realised PnL, fees) exactly once. A duplicated fill id returns CSCALP_OK
 *  and changes nothing (counted). A refused update changes nothing, is
 *  counted and raises CSCALP_EVENT_ORDER_UPDATE_REFUSED. A venue rejection
 *  raises CSCALP_EVENT_ORDER_REJECTED. O(open orders), allocation-free.
 *  Errors: CSCALP_EINVAL (NULL, unknown type, FILL with fill_id 0),
 *  CSCALP_ESTRUCT (size smaller than the version-1 struct),
 *  CSCALP_ENONFINITE, CSCALP_EPRICE, CSCALP_ESIZE (FILL fields),
 *  CSCALP_EORDER_UNKNOWN (an id this engine never issued),
 *  CSCALP_EORDER_CLOSED (the order is closed: a fill after its cancel; the
 *  fill is not booked, resync with cscalp_set_position), CSCALP_EOVERFILL,
 *  CSCALP_ETRANSITION (e.g. REJECTED after a fill).
 *  Thread: the owning thread. */
CSCALP_API int cscalp_on_order(cscalp_engine *engine, const cscalp_order_update *update);

/** The host's authoritative position: `position` contracts (signed, > 0
 *  long) at average entry `entry_price` (ignored when position is 0). Use it
 *  after a restart, a reconnect or a refused fill. Realised PnL, fees and
 *  funding so far are kept. Working orders are kept (report their fate with
 *  cscalp_on_order). Raises CSCALP_EVENT_POSITION_RESYNC: INFO when it
 *  matched, WARNING with the difference. Errors (counted as API errors,
 *  CSCALP_EVENT_INPUT_REJECTED on component ENGINE, nothing changed):
 *  CSCALP_EINVAL, CSCALP_ENONFINITE, CSCALP_EPRICE (entry <= 0 with a
 *  position).
 *  Thread: the owning thread. */
CSCALP_API int cscalp_set_position(cscalp_engine *engine, double position,
                                   double entry_price);

/** The position and PnL now (docs/risk.md, "Positions and PnL"). Money in
 *  quote currency; fees and funding > 0 are paid, < 0 received. */
typedef struct cscalp_position {
    uint32_t size;            /**< set by the caller to sizeof(cscalp_position) */
    uint32_t open_orders;     /**< working orders (not yet closed) */
    double position;          /**< contracts, signed */
    double entry_price;       /**< average entry, 0 when flat */
    double mark_price;        /**< the mid the unrealised PnL is marked at (0: no quote) */
    double realised_pnl;      /**< before fees and funding */
    double unrealised_pnl;    /**< position × (mark − entry) */
    double fees;
    double funding;
    double equity;            /**< risk.initial_equity_quote + realised − fees −
                                   funding + unrealised */
    uint64_t fills;           /**< fills booked */
    int32_t kill_switch;      /**< 1 while tripped */
    int32_t autonomy;         /**< cscalp_autonomy in force */
} cscalp_position;

/** Fill `out` (caller sets out->size first). Errors: CSCALP_EINVAL,
 *  CSCALP_ESTRUCT. Thread: the owning thread. */
CSCALP_API int cscalp_get_position(const cscalp_engine *engine, cscalp_position *out);

/** Where a working order stands (values pinned). */
typedef enum cscalp_order_status {
    CSCALP_ORDER_STATUS_PENDING_NEW = 0,   /**< intent handed out, no answer yet */
    CSCALP_ORDER_STATUS_OPEN = 1,          /**< acknowledged, nothing filled */
    CSCALP_ORDER_STATUS_PARTIAL = 2,       /**< partly filled */
    CSCALP_ORDER_STATUS_PENDING_CANCEL = 3 /**< its cancel intent was handed out */
} cscalp_order_status;

/** One working order (not yet filled in full, cancelled, rejected or
 *  expired). Output struct: set out[0].size (see cscalp_get_orders). */
typedef struct cscalp_working_order {
    uint32_t size;       /**< set by the caller to sizeof(cscalp_working_order) */
    int32_t side;        /**< cscalp_side */
    uint64_t client_id;  /**< the id the order was sent under */
    int64_t created_ns;  /**< engine clock when its intent was decided */
    int32_t status;      /**< cscalp_order_status */
    uint32_t flags;      /**< CSCALP_INTENT_REDUCE_ONLY when sent reduce-only */
    double price;        /**< limit price of a POST_ONLY order; 0 for a MARKET order
                              (its protection price was in the intent) */
    double quantity;     /**< contracts ordered */
    double filled;       /**< contracts filled so far */
    int32_t acked;       /**< 1 once the venue acknowledged it (or filled part) */
    int32_t type;        /**< cscalp_order_type */
} cscalp_working_order;

/** The engine's working orders, oldest first: copies up to `cap` of them
 *  into `out` and returns how many there are (which may exceed `cap`; cap
 *  0 with out NULL only counts), or a negative error. The caller sets
 *  out[0].size to sizeof(cscalp_working_order); it is the stride, as in
 *  cscalp_poll_intents. For a host's reconciliation: after
 *  cscalp_open_checkpoint (report each order's fate with cscalp_on_order,
 *  e.g. CANCELLED for an order the venue no longer has), after a
 *  reconnect, or to compare with the venue's open orders. Allocation-free.
 *  Errors: CSCALP_EINVAL (NULL engine, or out NULL with cap > 0),
 *  CSCALP_ESTRUCT (out[0].size smaller than the version-1 struct or above
 *  65536). Thread: the owning thread. */
CSCALP_API int cscalp_get_orders(const cscalp_engine *engine, cscalp_working_order *out,
                                 size_t cap);

/** Set the autonomy level (cscalp_autonomy). MANUAL: signals only, no
 *  intents (lowering to MANUAL cancels the working orders, reason
 *  AUTONOMY, and takes back unpolled intents that add exposure). ASSISTED: orders that reduce exposure and cancels are queued
 *  as usual; orders that add exposure are queued flagged
 *  CSCALP_INTENT_NEEDS_CONFIRMATION (a declined one is proposed again while
 *  the policy still wants it, within the rate limits). Every level trades
 *  an untrained model only at policy.untrained_size_factor (0: exits
 *  only). AUTONOMOUS: every intent. EVOLVING: as
 *  AUTONOMOUS in this version (hyper-parameter search comes later; the
 *  level is kept and reported as EVOLVING). Learning runs at every level as
 *  learn.mode says. Kill-switch cancels and flattens are queued at every
 *  level. A change raises CSCALP_EVENT_AUTONOMY_CHANGED. The level is in
 *  checkpoints. Errors: CSCALP_EINVAL (NULL, unknown level), CSCALP_EKILLED
 *  (a level above MANUAL while the kill switch is tripped: re-arm first
 *  with cscalp_configure {"risk":{"kill_switch":"armed"}}).
 *  Thread: the owning thread. */
CSCALP_API int cscalp_set_autonomy(cscalp_engine *engine, int level);

/** The autonomy level in force (cscalp_autonomy); MANUAL for NULL. */
CSCALP_API int cscalp_get_autonomy(const cscalp_engine *engine);

/* ------------------------------------------------------------------------ */
/* Checkpoints                                                              */
/* ------------------------------------------------------------------------ */

/** Save everything the engine needs to resume (docs/checkpoint.md): the
 *  configuration, the feed's state, the features and their normalisers,
 *  the live, challenger and fallback models, the optimiser's state, the
 *  replay buffer, the samples waiting for labels, the drift detectors, the
 *  scores, the regime model and every counter. Not saved: the health callback (register it
 *  again after opening). The file is replaced atomically: written to
 *  "<path>.tmp.<pid>", fsynced, renamed over `path`, then the directory is
 *  fsynced; on failure an existing file at `path` is left as it was. Raises
 *  CHECKPOINT_SAVED (INFO) or CHECKPOINT_FAILED (ERROR) on component
 *  ENGINE. In learn.mode "async" the learner thread is drained first, as by
 *  cscalp_adapt(engine, 0, NULL). Allocates (the checkpoint is built in
 *  memory first); not for the hot path.
 *  Errors: CSCALP_EINVAL (NULL argument, empty path), CSCALP_EIO (the step,
 *  the file and the system's error text in cscalp_last_error),
 *  CSCALP_ENOMEM. Thread: the owning thread. */
CSCALP_API int cscalp_save(cscalp_engine *engine, const char *path);

/** The checkpoint cscalp_save would write, into a caller's buffer. `*needed`
 *  (may be NULL) receives its length in bytes. With buf NULL and cap 0 only
 *  the length is reported. Raises no health event.
 *  Errors: CSCALP_EINVAL, CSCALP_EBUFFER (cap too small: nothing written,
 *  *needed set), CSCALP_ENOMEM. Thread: the owning thread. */
CSCALP_API int cscalp_save_buffer(cscalp_engine *engine, void *buf, size_t cap,
                                  size_t *needed);

/** Open an engine from a checkpoint file. The whole file is verified
 *  (every CRC, every length, every field's range) before the engine exists:
 *  on failure *out is NULL, nothing is left allocated and `errbuf` (may be
 *  NULL when errbuf_cap is 0) says what failed. The engine continues
 *  exactly where the saved one stood: in learn.mode "inline" the same
 *  events then give byte-identical signals and checkpoints. `allocator`
 *  as in cscalp_open_ex. Change configuration afterwards with
 *  cscalp_configure. Thread: any; the handle then belongs to this thread.
 *  Errors: CSCALP_EINVAL, CSCALP_EIO (cannot read the file),
 *  CSCALP_ECORRUPT (damaged: truncated, a flipped bit, a value out of
 *  range), CSCALP_EVERSION (another checkpoint format version or byte
 *  order), CSCALP_EUNSUPPORTED (the saved configuration needs something this
 *  build lacks), CSCALP_ENOMEM. */
CSCALP_API int cscalp_open_checkpoint(cscalp_engine **out, const char *path,
                                      const cscalp_allocator *allocator, char *errbuf,
                                      size_t errbuf_cap);

/** cscalp_open_checkpoint from `len` bytes in memory (not kept after the
 *  call). Errors: as cscalp_open_checkpoint, without CSCALP_EIO. */
CSCALP_API int cscalp_open_buffer(cscalp_engine **out, const void *data, size_t len,
                                  const cscalp_allocator *allocator, char *errbuf,
                                  size_t errbuf_cap);

/* ------------------------------------------------------------------------ */
/* Health                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum cscalp_severity {
    CSCALP_SEVERITY_INFO = 0,
    CSCALP_SEVERITY_WARNING = 1,
    CSCALP_SEVERITY_ERROR = 2,
    CSCALP_SEVERITY_CRITICAL = 3
} cscalp_severity;

/** Engine components; values are pinned. */
typedef enum cscalp_component {
    CSCALP_COMPONENT_ENGINE = 0,
    CSCALP_COMPONENT_FEED = 1,
    CSCALP_COMPONENT_FEATURES = 2,
    CSCALP_COMPONENT_MODEL = 3,
    CSCALP_COMPONENT_LEARNER = 4,
    CSCALP_COMPONENT_REGIME = 5,
    CSCALP_COMPONENT_POLICY = 6,
    CSCALP_COMPONENT_RISK = 7,
    CSCALP_COMPONENT_SUPERVISOR = 8,
    CSCALP_COMPONENT_PERSIST = 9
} cscalp_component;
#define CSCALP_COMPONENT_COUNT 10
/** Room reserved in cscalp_health_report for components added later. */
#define CSCALP_COMPONENT_SLOTS 16

/** What happened; values are pinned. */
typedef enum cscalp_event_code {
    CSCALP_EVENT_INPUT_REJECTED = 1,  /**< a market-data event was refused */
    CSCALP_EVENT_CONFIG_CHANGED = 2,  /**< cscalp_configure applied a patch */
    CSCALP_EVENT_CONFIG_REJECTED = 3, /**< cscalp_configure refused a patch */
    CSCALP_EVENT_TIME_REGRESSION = 4, /**< an event came earlier than the clock
                                           but within tolerance; it was
                                           accepted at the clock time */
    CSCALP_EVENT_MODEL_OUTPUT_INVALID = 5, /**< the model produced a non-finite
                                               output; no signal was given */
    CSCALP_EVENT_MODEL_PROMOTED = 6,   /**< the challenger beat the live network
                                            on recent labels and replaced it;
                                            the message has both scores */
    CSCALP_EVENT_LEARNER_ROLLBACK = 7, /**< the challenger diverged (worse by
                                            learn.rollback_margin_nats, or a
                                            refused step) and was reset to the
                                            live network */
    CSCALP_EVENT_FALLBACK_ENGAGED = 8, /**< the network scores worse than the
                                            fallback: signals come from the
                                            fallback model */
    CSCALP_EVENT_FALLBACK_RELEASED = 9, /**< the network recovered: signals
                                             come from it again */
    CSCALP_EVENT_DRIFT_DETECTED = 10,   /**< the live loss stream changed
                                             (Page-Hinkley or ADWIN); learning
                                             rate boosted for a while */
    CSCALP_EVENT_SAMPLES_DROPPED = 11,  /**< decision samples were not learned
                                             from (pending or learner queue
                                             full); the message has the count */
    CSCALP_EVENT_CHECKPOINT_SAVED = 12, /**< cscalp_save wrote a checkpoint */
    CSCALP_EVENT_CHECKPOINT_FAILED = 13, /**< cscalp_save could not write one;
                                             the previous file is intact */
    CSCALP_EVENT_REGIME_CHANGED = 14,    /**< the current regime changed (INFO,
                                             component REGIME): "regime FROM -> TO
                                             (posterior P)"; docs/regime.md */
    CSCALP_EVENT_INTENT_REFUSED = 15,    /**< a pre-trade control refused an order
                                             the policy wanted; it was not emitted
                                             (WARNING, RISK, error CSCALP_ERISK; the
                                             message names the rule and its numbers) */
    CSCALP_EVENT_ORDER_UPDATE_REFUSED = 16, /**< cscalp_on_order refused an update
                                             (WARNING, RISK): unknown or closed id,
                                             overfill, impossible transition, bad
                                             field; nothing changed */
    CSCALP_EVENT_ORDER_REJECTED = 17,    /**< the venue rejected an order (WARNING,
                                             RISK); the message has its text */
    CSCALP_EVENT_KILL_SWITCH = 18,       /**< the kill switch tripped (CRITICAL) or
                                             was re-armed (INFO), component RISK */
    CSCALP_EVENT_AUTONOMY_CHANGED = 19,  /**< the autonomy level changed (INFO by
                                             the host, WARNING by the engine) */
    CSCALP_EVENT_POSITION_RESYNC = 20,   /**< cscalp_set_position replaced the
                                             position (INFO when it matched,
                                             WARNING with the difference) */
    CSCALP_EVENT_INTENTS_DROPPED = 21,   /**< the intent queue was full: the
                                             policy's orders were held back
                                             (WARNING, POLICY); poll more often */
    CSCALP_EVENT_FUNDING_SETTLED = 22,   /**< a funding payment was booked (INFO,
                                             RISK) */
    CSCALP_EVENT_LOSS_COOLDOWN = 23,     /**< a run of losing round trips started
                                             the cool-down (WARNING, RISK) */
    /* The supervisor's playbook (docs/self-healing.md). */
    CSCALP_EVENT_FEED_STALE = 24,        /**< no market data for
                                             health.stale_feed_ms: working orders
                                             cancelled, no new orders (WARNING,
                                             FEED, SUSPENDED) */
    CSCALP_EVENT_FEED_RESUMED = 25,      /**< data flowed again for
                                             health.feed_resume_ms: entries
                                             allowed again (INFO, FEED, RESUMED) */
    CSCALP_EVENT_DATA_QUARANTINED = 26,  /**< an event's price jumped beyond the
                                             outlier screen: not applied, never
                                             learned from (WARNING, FEED, error
                                             CSCALP_EOUTLIER) */
    CSCALP_EVENT_LEVEL_CONFIRMED = 27,   /**< feed.outlier_confirm_events events
                                             agreed on the new price level: it is
                                             accepted as a real move (INFO, FEED) */
    CSCALP_EVENT_BREAKER_OPENED = 28,    /**< venue rejects passed
                                             health.reject_breaker_count in the
                                             window, or the probe was rejected: no
                                             new orders (WARNING, RISK, SUSPENDED) */
    CSCALP_EVENT_BREAKER_HALF_OPEN = 29, /**< the breaker's cool-down ended: one
                                             probe order may go (INFO, RISK) */
    CSCALP_EVENT_BREAKER_CLOSED = 30,    /**< the venue accepted the probe: orders
                                             flow again (INFO, RISK, RESUMED) */
    CSCALP_EVENT_LEARNER_STALLED = 31,   /**< the learner thread made no progress
                                             for health.learner_stall_wall_ms with
                                             work waiting, or died (ERROR, LEARNER) */
    CSCALP_EVENT_LEARNER_RESTARTED = 32, /**< a new learner thread runs from the
                                             live weights (INFO, LEARNER, RESTARTED) */
    CSCALP_EVENT_LEARNER_SHEDDING = 33,  /**< the learner's queue filled past
                                             health.learner_shed_fraction: fewer
                                             steps, smaller batches (WARNING,
                                             LEARNER, SHED) */
    CSCALP_EVENT_LEARNER_CAUGHT_UP = 34, /**< the queue drained: full training
                                             again (INFO, LEARNER, RESUMED) */
    CSCALP_EVENT_WEIGHTS_RESTORED = 35,  /**< the live network's weights were not
                                             finite: the last good copy was
                                             restored (ERROR, MODEL, ROLLED_BACK) */
    CSCALP_EVENT_LEARNING_RATE_CHANGED = 36 /**< the supervisor cut the learning
                                             rate after a refused step (WARNING) or
                                             restored it after clean steps (INFO),
                                             component LEARNER */
} cscalp_event_code;

/** What the engine did about it; values are pinned. */
typedef enum cscalp_action {
    CSCALP_ACTION_NONE = 0,
    CSCALP_ACTION_REJECTED = 1, /**< input refused, state unchanged */
    CSCALP_ACTION_APPLIED = 2,  /**< change applied */
    CSCALP_ACTION_CLAMPED = 3,  /**< input accepted with its time clamped */
    CSCALP_ACTION_ROLLED_BACK = 4, /**< state returned to the last good one */
    CSCALP_ACTION_SWITCHED = 5,    /**< a different model now serves signals */
    CSCALP_ACTION_DROPPED = 6,     /**< data skipped, nothing else changed */
    CSCALP_ACTION_HALTED = 7,      /**< trading stopped: orders cancelled, the
                                        position flattened, autonomy MANUAL */
    CSCALP_ACTION_DEGRADED = 8,    /**< autonomy lowered */
    CSCALP_ACTION_SUSPENDED = 9,   /**< working orders cancelled or new orders
                                        held back until the condition clears */
    CSCALP_ACTION_RESUMED = 10,    /**< a suspension or degradation ended */
    CSCALP_ACTION_RESTARTED = 11,  /**< a component was started afresh */
    CSCALP_ACTION_SHED = 12,       /**< less work done to keep up */
    CSCALP_ACTION_RETRYING = 13    /**< failed; tried again after a back-off */
} cscalp_action;

/** A health event, delivered to the callback. */
typedef struct cscalp_health_event {
    uint32_t size;       /**< sizeof(cscalp_health_event) of the library */
    int32_t severity;    /**< cscalp_severity */
    int32_t component;   /**< cscalp_component */
    int32_t event;       /**< cscalp_event_code */
    int32_t error;       /**< related cscalp_error code, 0 if none */
    int32_t action;      /**< cscalp_action */
    int64_t ts_ns;       /**< engine clock when it happened */
    const char *message; /**< detail text; valid only during the callback */
} cscalp_health_event;

/** Health callback. The contract:
 *  - Which thread: the thread that called into the engine (the handle's
 *    owner), never a library thread. What the async learner thread finds
 *    (a refused step, a stall) is queued and delivered during the owner's
 *    next call that does work (a push, cscalp_tick, cscalp_adapt,
 *    cscalp_save, cscalp_configure).
 *  - When: synchronously inside that call, before it returns, in the order
 *    the engine acted; ts_ns is the engine clock of the action.
 *  - An API call that returns an error has delivered every event about it
 *    before it returns (typically one, naming the field); no event about
 *    it arrives later, and none arrives after cscalp_close.
 *  - It must not call back into the same engine (it may record, log or
 *    post to another thread), and must not block for long: it runs on
 *    the hot path.
 *  - `event` and its message are valid only during the callback. */
typedef void (*cscalp_health_fn)(const cscalp_health_event *event,
                                 void *user_data);

/** Register (or with fn NULL, remove) the health callback and its user data.
 *  Replaces any previous registration. Errors: CSCALP_EINVAL (NULL engine).
 *  Thread: the owning thread. */
CSCALP_API int cscalp_set_health_callback(cscalp_engine *engine,
                                          cscalp_health_fn fn, void *user_data);

typedef enum cscalp_status {
    CSCALP_STATUS_OK = 0,
    CSCALP_STATUS_DEGRADED = 1,
    CSCALP_STATUS_FAILED = 2
} cscalp_status;

/** Health of one component. */
typedef struct cscalp_component_health {
    int32_t status;            /**< cscalp_status */
    int32_t last_event;        /**< cscalp_event_code of the last event, 0 if none */
    int32_t last_error;        /**< error of the last event, 0 if none */
    int32_t last_severity;     /**< severity of the last event */
    int64_t last_event_ts_ns;  /**< clock time of the last event, 0 if none */
    uint64_t events;           /**< health events raised by this component */
} cscalp_component_health;

/** Refusal reasons counted by the feed (indexes of feed_rejected). */
typedef enum cscalp_reject_reason {
    CSCALP_REJECT_NONFINITE = 0,
    CSCALP_REJECT_PRICE = 1,
    CSCALP_REJECT_SIZE = 2,
    CSCALP_REJECT_SIDE = 3,
    CSCALP_REJECT_CROSSED = 4,
    CSCALP_REJECT_LEVELS = 5,
    CSCALP_REJECT_TIME = 6,
    CSCALP_REJECT_FIELD = 7, /**< another field out of its domain (CSCALP_EINVAL) */
    CSCALP_REJECT_OUTLIER = 8 /**< quarantined by the outlier screen (CSCALP_EOUTLIER) */
} cscalp_reject_reason;
#define CSCALP_REJECT_REASON_COUNT 9
/** Room reserved in cscalp_health_report for reasons added later. */
#define CSCALP_REJECT_REASON_SLOTS 16

/** Kinds of market data (indexes of feed_accepted). */
typedef enum cscalp_event_kind {
    CSCALP_KIND_TRADE = 0,
    CSCALP_KIND_QUOTE = 1,
    CSCALP_KIND_BOOK = 2,
    CSCALP_KIND_FUNDING = 3
} cscalp_event_kind;
#define CSCALP_KIND_COUNT 4

/** The supervisor's playbook rows (docs/self-healing.md; indexes of
 *  cscalp_health_report.playbook_actions; values pinned). */
typedef enum cscalp_playbook_row {
    CSCALP_PLAYBOOK_NONFINITE_LEARNING = 0, /**< refused step, restored weights */
    CSCALP_PLAYBOOK_FALLBACK = 1,           /**< network worse than the fallback */
    CSCALP_PLAYBOOK_ROLLBACK_STORM = 2,     /**< repeated rollbacks: autonomy down */
    CSCALP_PLAYBOOK_STALE_FEED = 3,         /**< no data: cancel, no new orders */
    CSCALP_PLAYBOOK_QUARANTINE = 4,         /**< outlier or bad data */
    CSCALP_PLAYBOOK_REJECT_BREAKER = 5,     /**< venue rejects: circuit breaker */
    CSCALP_PLAYBOOK_LEARNER_STALLED = 6,    /**< learner thread stalled or dead */
    CSCALP_PLAYBOOK_LEARNER_BEHIND = 7,     /**< learner behind: load shed */
    CSCALP_PLAYBOOK_RISK = 8,               /**< kill switch, cool-down, position resync */
    CSCALP_PLAYBOOK_CHECKPOINT = 9          /**< checkpoint write failed: retry */
} cscalp_playbook_row;
#define CSCALP_PLAYBOOK_COUNT 10
/** Room reserved in cscalp_health_report for rows added later. */
#define CSCALP_PLAYBOOK_SLOTS 16

/** Conditions the supervisor holds now (bits of
 *  cscalp_health_report.supervisor_flags). */
#define CSCALP_SUPERVISOR_FEED_STALE (1u << 0)       /**< no data: nothing sent */
#define CSCALP_SUPERVISOR_FEED_RECOVERING (1u << 1)  /**< data back: exits only */
#define CSCALP_SUPERVISOR_QUARANTINE (1u << 2)       /**< a new level awaits confirmation */
#define CSCALP_SUPERVISOR_BREAKER_OPEN (1u << 3)     /**< no new orders */
#define CSCALP_SUPERVISOR_BREAKER_HALF_OPEN (1u << 4) /**< one probe order */
#define CSCALP_SUPERVISOR_AUTONOMY_LOWERED (1u << 5) /**< on probation */
#define CSCALP_SUPERVISOR_FALLBACK_SERVING (1u << 6) /**< the fallback gives signals */
#define CSCALP_SUPERVISOR_LR_LOWERED (1u << 7)       /**< learning rate cut */
#define CSCALP_SUPERVISOR_LEARNER_SHEDDING (1u << 8) /**< fewer steps, smaller batches */
#define CSCALP_SUPERVISOR_LEARNER_DOWN (1u << 9)     /**< no learner thread runs */
#define CSCALP_SUPERVISOR_CHECKPOINT_RETRY (1u << 10) /**< a failed save awaits its retry */

/** Snapshot of every component's status, the feed counters and the
 *  supervisor's state. A component is
 *  - FAILED while a condition that stops it holds (the kill switch for
 *    RISK, until re-armed; no learner thread for LEARNER, until one is
 *    restarted);
 *  - DEGRADED while a supervisor condition degrades it (a stale feed or a
 *    level in quarantine for FEED; the breaker or lowered autonomy for
 *    RISK; shedding, a cut learning rate or the fallback serving for
 *    LEARNER; a pending checkpoint retry for PERSIST), or while its last
 *    WARNING-or-worse event is younger (in event time) than
 *    `health.degraded_hold_s`;
 *  - OK otherwise. */
typedef struct cscalp_health_report {
    uint32_t size;            /**< set by the caller to sizeof(cscalp_health_report) */
    uint32_t component_count; /**< CSCALP_COMPONENT_COUNT */
    int64_t clock_ns;         /**< engine clock */
    cscalp_component_health components[CSCALP_COMPONENT_SLOTS]; /**< by cscalp_component */
    uint64_t feed_accepted[CSCALP_KIND_COUNT];
    uint64_t feed_rejected[CSCALP_REJECT_REASON_SLOTS]; /**< by cscalp_reject_reason */
    uint64_t time_clamped;    /**< events accepted with their time clamped */
    uint32_t supervisor_flags; /**< CSCALP_SUPERVISOR_* conditions held now */
    uint32_t playbook_count;   /**< CSCALP_PLAYBOOK_COUNT */
    uint64_t playbook_actions[CSCALP_PLAYBOOK_SLOTS]; /**< actions taken per
                                        cscalp_playbook_row since open */
} cscalp_health_report;

/** Fill `report` (caller sets report->size first; the library fills the
 *  fields that fit and leaves report->size unchanged).
 *  Errors: CSCALP_EINVAL (NULL), CSCALP_ESTRUCT (size smaller than the
 *  version-1 struct). Thread: the owning thread. */
CSCALP_API int cscalp_health(const cscalp_engine *engine,
                             cscalp_health_report *report);

/* ------------------------------------------------------------------------ */
/* Stats                                                                    */
/* ------------------------------------------------------------------------ */

/** Write engine statistics as a JSON object (counters per stage; the keys
 *  are listed in docs/stats.md). Same buffer contract as cscalp_config_json;
 *  in learn.mode "async" the learner's counters may grow between a sizing
 *  call and the next, so give the second call some slack (or retry on
 *  CSCALP_EBUFFER).
 *  Errors: CSCALP_EINVAL, CSCALP_EBUFFER. Thread: the owning thread. */
CSCALP_API int cscalp_stats_json(const cscalp_engine *engine, char *buf,
                                 size_t cap, size_t *needed);

#ifdef __cplusplus
}
#endif

#endif /* CRYPTOSCALP_H */
