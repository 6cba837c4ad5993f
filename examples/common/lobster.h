/*
 * lobster.h — reader for LOBSTER NASDAQ limit-order-book samples (zip).
 *
 * A LOBSTER zip holds TICKER_YYYY-MM-DD_START_END_message_L.csv and
 * TICKER_YYYY-MM-DD_START_END_orderbook_L.csv (L levels); row i of the
 * order-book file is the book after message i. Both members are streamed in
 * lock-step (nothing is held in memory beyond one row of each).
 *
 * Message rows: time (seconds after midnight, decimals to the ns), type
 * (1 submission, 2 partial cancel, 3 delete, 4 execution of a visible order,
 * 5 execution of a hidden order, 7 trading halt), order id, size, price
 * (dollars × 10000), direction (1 buy limit order, −1 sell limit order).
 * Order-book rows: ask price, ask size, bid price, bid size for level 1, 2,
 * … L; a missing level has price 9999999999 (ask) or −9999999999 (bid) and
 * size 0.
 *
 * Events, per message row, in order:
 *  - types 4 and 5: a cscalp_trade at the message's price (÷ 10000) and size
 *    (shares). The direction is that of the resting order that was hit, so
 *    the aggressor is its opposite: executing a sell limit order (−1) is a
 *    buyer-initiated trade, side CSCALP_SIDE_BUY, and executing a buy limit
 *    order (+1) is CSCALP_SIDE_SELL (LOBSTER's ReadMe: "Execution of a sell
 *    (buy) limit order corresponds to a buyer (seller) initiated trade").
 *    trade_id is 0: LOBSTER gives the resting order's id, not a trade id.
 *  - every type: the cscalp_book of the order-book row, its first
 *    `book_levels` levels a side with the dummy levels dropped.
 * Type 7 (halt) gives no trade; its order-book row repeats the book before
 * it and is emitted like any other. So do types this ReadMe does not list
 * (6, a cross/auction trade in later LOBSTER versions, prints no trade here:
 * it does not hit a resting order, so it has no aggressor side); they are
 * counted in by_type.
 *
 * Time: ts_ns = UTC midnight of the date in the member name + the message
 * time. LOBSTER times are exchange local time (New York); they are treated
 * as UTC, so the day's clock is right and ordering is kept, but the epoch is
 * off by the UTC offset (4 h in June). Trade and book of one message share
 * its ts_ns.
 *
 * Skipped, counted by reason and reported to the log stream (the first 20):
 *  - rows that do not parse (either file): no event for that message;
 *  - messages whose time is before the previous message's: no event;
 *  - executions with size <= 0, price <= 0 or a direction other than ±1: no
 *    trade (the book is still emitted);
 *  - book states the engine would refuse (cscalp_push_book in
 *    src/feed/validate.c): a side with no level left (one-sided), a level
 *    with price or size <= 0 or out of order, best bid above (crossed) or
 *    equal to (locked) the best ask. Skipping here rather than letting the
 *    engine refuse keeps the event stream equal to what a fresh engine
 *    accepts. The 2012-06-21 GOOG (10 levels) and AAPL (1 level) samples
 *    hold none of these: every one of their 147,916 and 118,497 book states
 *    is two-sided, ordered and uncrossed.
 * The two files ending at different rows is an error (BCAP_EIO).
 *
 * Return codes are binance_capture.h's BCAP_* and events are bcap_event, so
 * a host treats every source alike. One reader is used by one thread.
 */
#ifndef LOBSTER_H
#define LOBSTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "binance_capture.h"
#include "cryptoscalp.h"

#define LOBSTER_DEFAULT_BOOK_LEVELS 10
/** Message types counted in lobster_counters.by_type (index = type). */
#define LOBSTER_TYPE_SLOTS 8

typedef struct lobster_options {
    /** Levels per side in each cscalp_book, 1..CSCALP_BOOK_MAX_LEVELS; a file
     *  with fewer levels gives what it has. */
    unsigned int book_levels;
    /** Nonzero: no trade events (executions still counted). */
    int skip_trades;
    /** Where skipped rows are reported (NULL: nowhere). */
    FILE *log;
} lobster_options;

/** Defaults: LOBSTER_DEFAULT_BOOK_LEVELS, trades on, log to stderr. */
void lobster_options_init(lobster_options *options);

/** Why a row, a trade or a book state gave no event. */
typedef enum lobster_skip {
    LOBSTER_SKIP_MALFORMED = 0, /**< message or order-book row did not parse */
    LOBSTER_SKIP_TIME,          /**< message time before the previous one */
    LOBSTER_SKIP_BAD_TRADE,     /**< execution with bad size, price or direction */
    LOBSTER_SKIP_ONE_SIDED,     /**< book with no level on a side */
    LOBSTER_SKIP_BAD_LEVELS,    /**< level with price/size <= 0, or out of order */
    LOBSTER_SKIP_CROSSED,       /**< best bid > best ask */
    LOBSTER_SKIP_LOCKED,        /**< best bid == best ask */
    LOBSTER_SKIP_COUNT
} lobster_skip;

/** "malformed", "time", "bad_trade", "one_sided", "bad_levels", "crossed",
 *  "locked"; "?" for others. */
const char *lobster_skip_name(int reason);

/** Counters since lobster_open. messages = events[BOOK] + the skipped rows
 *  and book states (every reason but BAD_TRADE); executions counted in
 *  by_type[4] + by_type[5] = events[TRADE] + skipped[BAD_TRADE] (with trades
 *  on), over rows that parsed and kept time order. */
typedef struct lobster_counters {
    uint64_t messages;                      /**< message rows read */
    uint64_t by_type[LOBSTER_TYPE_SLOTS];   /**< rows that parsed and kept time
                                                 order, by type 1..7; [0] other */
    uint64_t skipped[LOBSTER_SKIP_COUNT];   /**< by lobster_skip */
    uint64_t events[CSCALP_KIND_COUNT];     /**< events emitted, by cscalp_event_kind */
} lobster_counters;

typedef struct lobster_reader lobster_reader;

/** Open a LOBSTER zip: finds the message and order-book members (exactly one
 *  each, with matching names), takes ticker, date and level count from the
 *  name. `options` may be NULL for the defaults. On failure *out is NULL and
 *  errbuf holds the reason. Returns BCAP_OK, BCAP_EINVAL (bad option),
 *  BCAP_EIO (unreadable, not a zip, not a LOBSTER zip) or BCAP_ENOMEM. */
int lobster_open(lobster_reader **out, const char *path, const lobster_options *options,
                 char *errbuf, size_t errbuf_cap);

/** Next event. Returns 1 with *event filled, 0 at the end of both files,
 *  BCAP_EIO (read, zip or CRC error, files of different lengths) or
 *  BCAP_ENOMEM, lobster_last_error saying more; BCAP_EINVAL for NULL
 *  arguments. After an error the reader only returns it. */
int lobster_next(lobster_reader *reader, bcap_event *event);

/** Close the reader. NULL is a no-op. */
void lobster_close(lobster_reader *reader);

/** Counters so far (valid until lobster_close). */
const lobster_counters *lobster_get_counters(const lobster_reader *reader);

/** Detail of the last error ("" when none). */
const char *lobster_last_error(const lobster_reader *reader);

/** Ticker from the member names ("GOOG"). */
const char *lobster_ticker(const lobster_reader *reader);

/** Levels per side in the files (L in the names). */
unsigned int lobster_file_levels(const lobster_reader *reader);

/** UTC midnight of the file's date, ns since the Unix epoch. */
int64_t lobster_day_start_ns(const lobster_reader *reader);

/** Print the counters as one line of JSON (no newline). */
void lobster_print_counters(FILE *stream, const lobster_counters *counters);

#endif /* LOBSTER_H */
