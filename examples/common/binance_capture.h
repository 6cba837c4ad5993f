/*
 * binance_capture.h — reader for raw Binance USDⓈ-M websocket captures.
 *
 * A capture is a gzip file of lines `<local receive time> <json>`, as
 * recorded by the hftbacktest project: combined-stream messages
 * {"stream":..,"data":{..}} (depthUpdate, bookTicker, trade,
 * markPriceUpdate) and bare REST depth snapshots {"lastUpdateId":..}.
 * The local time is ns in `*.gz` files and µs in `*.dat.gz` files.
 *
 * The reader turns a capture into the engine's input structs, in file order:
 * a cscalp_quote per bookTicker, a cscalp_trade per trade, a cscalp_funding
 * per markPriceUpdate and, while the L2 book rebuilt from snapshot + diffs is
 * in sync, a top-N cscalp_book after each applied diff. Every event's ts_ns
 * is the local receive time in ns: the clock the engine would see live.
 *
 * Book rebuild follows Binance's rule for USDⓈ-M futures: diffs are buffered
 * until a snapshot arrives; diffs with u < lastUpdateId are dropped; the
 * first diff applied is the one with U <= lastUpdateId <= u; each later diff
 * must have pu equal to the previous diff's u. A break in that chain is a
 * gap: the book is cleared, no book event is emitted, and diffs are buffered
 * again until the next snapshot (a resync). A snapshot that arrives while the
 * book is in sync is counted and otherwise ignored: the chain proves the live
 * book is correct, and it is at least as new as the snapshot.
 *
 * Malformed lines are counted, reported to the log stream, and skipped.
 * One reader is used by one thread at a time.
 */
#ifndef BINANCE_CAPTURE_H
#define BINANCE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"

/** Return codes. */
#define BCAP_OK 0
#define BCAP_EINVAL (-1) /**< bad argument or option */
#define BCAP_EIO (-2)    /**< the file cannot be opened, read or decompressed */
#define BCAP_ENOMEM (-3) /**< out of memory */

/** Unit of the local receive time at the start of each line. */
typedef enum bcap_time_unit {
    BCAP_TIME_AUTO = 0, /**< µs when the file name ends in ".dat.gz", else ns */
    BCAP_TIME_NS = 1,
    BCAP_TIME_US = 2
} bcap_time_unit;

#define BCAP_DEFAULT_BOOK_LEVELS 10
/* A REST snapshot arrives a few hundred ms after it was requested; at the
 * fastest diff rate seen in these captures (~40/s) 256 diffs cover seconds. */
#define BCAP_DEFAULT_PENDING_DIFFS 256

typedef struct bcap_options {
    bcap_time_unit time_unit;
    /** Levels per side in each emitted cscalp_book, 1..CSCALP_BOOK_MAX_LEVELS. */
    unsigned int book_levels;
    /** Diffs kept while waiting for a snapshot; the oldest are dropped first. */
    size_t pending_diffs;
    /** Where skipped lines are reported (NULL: nowhere). */
    FILE *log;
} bcap_options;

/** Defaults: AUTO time unit, BCAP_DEFAULT_BOOK_LEVELS,
 *  BCAP_DEFAULT_PENDING_DIFFS, log to stderr. */
void bcap_options_init(bcap_options *options);

/** One decoded event; `kind` (a cscalp_event_kind) says which member is set. */
typedef struct bcap_event {
    int kind;
    union {
        cscalp_trade trade;
        cscalp_quote quote;
        cscalp_book book;
        cscalp_funding funding;
    };
} bcap_event;

/** Push `event` into `engine` with the cscalp_push_* call of its kind; the
 *  call's status (readers of every source yield bcap_event). */
int bcap_push(cscalp_engine *engine, const bcap_event *event);

/** The same event into a simulated venue (cscalp_sim_venue_on_* of its
 *  kind); the call's status. */
int bcap_push_venue(cscalp_sim_venue *venue, const bcap_event *event);

/** The event's time stamp (ns), whatever its kind. */
int64_t bcap_event_ts(const bcap_event *event);

/** Move the event `by` ns in time; a funding event's announced settlement
 *  (when known) moves with it, so "the next settlement is in 3 h" stays
 *  true. For replays shifted in time and hosts that stamp their own clock. */
void bcap_event_shift(bcap_event *event, int64_t by);


/** Counters since bcap_open. */
typedef struct bcap_counters {
    uint64_t lines;         /**< lines read */
    uint64_t parse_errors;  /**< malformed lines, skipped */
    uint64_t ignored;       /**< well-formed messages of other kinds */
    uint64_t snapshots;     /**< REST depth snapshots read */
    uint64_t gaps;          /**< breaks in the diff chain (book cleared) */
    uint64_t resyncs;       /**< times a snapshot brought the book back after a gap */
    uint64_t diffs_applied; /**< depth diffs applied to the book */
    uint64_t diffs_dropped; /**< depth diffs never applied (stale, before a
                                 usable snapshot, or buffered past the cap) */
    uint64_t events[CSCALP_KIND_COUNT]; /**< events emitted, by cscalp_event_kind */
} bcap_counters;

typedef struct bcap_reader bcap_reader;

/** Open a capture. `options` may be NULL for the defaults. On failure *out is
 *  NULL and, when errbuf_cap > 0, errbuf holds the reason (NUL-terminated).
 *  Returns BCAP_OK, BCAP_EINVAL, BCAP_EIO or BCAP_ENOMEM. */
int bcap_open(bcap_reader **out, const char *path, const bcap_options *options,
              char *errbuf, size_t errbuf_cap);

/** Read up to the next event. Returns 1 with *event filled, 0 at the end of
 *  the capture, BCAP_EIO on a read or decompression error (a truncated file
 *  included), BCAP_ENOMEM (bcap_last_error says more for both), BCAP_EINVAL
 *  for NULL arguments. After an error the reader only returns it. */
int bcap_next(bcap_reader *reader, bcap_event *event);

/** A reader fed line by line (a live connection) instead of from a file:
 *  `name` names the stream in messages; with BCAP_TIME_AUTO the times are ns.
 *  Returns as bcap_open, without BCAP_EIO. */
int bcap_open_stream(bcap_reader **out, const char *name, const bcap_options *options,
                     char *errbuf, size_t errbuf_cap);

/** Decode one line `<local time> <json>` (`len` bytes, no NUL needed, a
 *  trailing end-of-line ignored) of a stream reader: 1 with *event filled, 0
 *  when the line yields no event (other kinds, a diff applied while the book
 *  is out of sync, a malformed line: counted), BCAP_ENOMEM, or BCAP_EINVAL
 *  (NULL arguments, or a reader opened on a file). Lines are taken in the
 *  order received; each yields at most one event. */
int bcap_feed_line(bcap_reader *reader, const char *line, size_t len, bcap_event *event);

/** The stream broke (the connection dropped): diffs after the break cannot
 *  chain to those before it, so the book is cleared (counted as a gap when
 *  it was in use) and buffered diffs are dropped; the book comes back with
 *  the next snapshot. */
void bcap_stream_broken(bcap_reader *reader);

/** Close the reader. NULL is a no-op. */
void bcap_close(bcap_reader *reader);

/** Counters so far (valid until bcap_close). */
const bcap_counters *bcap_get_counters(const bcap_reader *reader);

/** Detail of the last error ("" when none). Valid until the next call. */
const char *bcap_last_error(const bcap_reader *reader);

/** 1 while the rebuilt book is in sync, else 0. */
int bcap_book_in_sync(const bcap_reader *reader);

/** The full rebuilt book side (`side` CSCALP_SIDE_BUY for bids,
 *  CSCALP_SIDE_SELL for asks), best level first: copies up to `cap` levels to
 *  `out` and returns how many levels the side has (0 when out of sync). */
size_t bcap_book_side(const bcap_reader *reader, int side, cscalp_level *out,
                      size_t cap);

/** Print the counters as one line of JSON (no newline). */
void bcap_print_counters(FILE *stream, const bcap_counters *counters);

#endif /* BINANCE_CAPTURE_H */
