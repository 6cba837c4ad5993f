/*
 * fxcm.h — reader for FXCM quote ticks as QuantConnect Lean stores them:
 * one zip a day, YYYYMMDD_quote.zip, holding one CSV of rows
 * `ms_since_midnight,bid,ask` (e.g. 20140501_eurusd_tick_quote.csv).
 *
 * Several days are read one after the other, in the order given (the dates
 * must increase), each member streamed (no day is held in memory).
 *
 * Event: one cscalp_quote per row, bid and ask as written. The data carry no
 * sizes: both sizes are FXCM_QUOTE_SIZE (1.0), so every size-based feature
 * (imbalance, depth) is constant on this source.
 *
 * Time: ts_ns = UTC midnight of the date in the file name (its first eight
 * characters, YYYYMMDD) + the row's ms: the file's clock treated as UTC.
 * That clock is not UTC: in the 2014-05 files the busiest minutes sit at
 * 07:30 on 05-02 (US payrolls, 12:30 UTC) and 06:45 / 07:30 on 05-08 (ECB
 * decision 11:45 UTC, press conference 12:30 UTC), so it runs at UTC−5 (New
 * York standard time), and the epoch of ts_ns is 5 h early. Order and
 * intervals are right, which is all the engine uses.
 *
 * Skipped, counted by reason and reported to the log stream (the first 20):
 *  - malformed rows: not three fields, ms not an integer in 0..86399999, a
 *    price not a finite decimal > 0;
 *  - crossed (bid > ask) and locked (bid == ask) rows, which the engine
 *    refuses (cscalp_push_quote wants bid < ask). These are common in this
 *    data: 59,344 crossed and 69,809 locked of the 573,279 rows of
 *    2014-05-01..08 (22.6 %). With `keep_crossed` they are emitted instead
 *    (and counted in kept_crossed/kept_locked), for a host that needs every
 *    tick (e.g. to reproduce an offline protocol that used all rows) and
 *    handles the engine's refusal itself;
 *  - rows whose time is before the last emitted quote's (equal times are
 *    kept), across files too.
 * rows = events[QUOTE] + the sum of skipped.
 *
 * Return codes are binance_capture.h's BCAP_* and events are bcap_event, so
 * a host treats every source alike. One reader is used by one thread.
 */
#ifndef FXCM_H
#define FXCM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "binance_capture.h"
#include "cryptoscalp.h"

/** Bid and ask size of every quote: the files have none. */
#define FXCM_QUOTE_SIZE 1.0

typedef struct fxcm_options {
    /** Nonzero: emit crossed and locked rows instead of skipping them. */
    int keep_crossed;
    /** Where skipped rows are reported (NULL: nowhere). */
    FILE *log;
} fxcm_options;

/** Defaults: crossed and locked rows skipped, log to stderr. */
void fxcm_options_init(fxcm_options *options);

typedef enum fxcm_skip {
    FXCM_SKIP_MALFORMED = 0, /**< row did not parse */
    FXCM_SKIP_CROSSED,       /**< bid > ask (unless keep_crossed) */
    FXCM_SKIP_LOCKED,        /**< bid == ask (unless keep_crossed) */
    FXCM_SKIP_TIME,          /**< time before the last emitted quote */
    FXCM_SKIP_COUNT
} fxcm_skip;

/** "malformed", "crossed", "locked", "time"; "?" for others. */
const char *fxcm_skip_name(int reason);

typedef struct fxcm_counters {
    uint64_t files;                     /**< files begun */
    uint64_t rows;                      /**< rows read, all files */
    uint64_t kept_crossed;              /**< crossed rows emitted (keep_crossed) */
    uint64_t kept_locked;               /**< locked rows emitted (keep_crossed) */
    uint64_t skipped[FXCM_SKIP_COUNT];  /**< by fxcm_skip */
    uint64_t events[CSCALP_KIND_COUNT]; /**< events emitted, by cscalp_event_kind */
} fxcm_counters;

typedef struct fxcm_reader fxcm_reader;

/** Open `count` (>= 1) day files, read in that order. Each name must start
 *  with YYYYMMDD (after any directory), dates strictly increasing, and each
 *  zip must hold exactly one *.csv member; all are checked here. On failure
 *  *out is NULL and errbuf holds the reason. Returns BCAP_OK, BCAP_EINVAL
 *  (no files, a name without a date, dates out of order), BCAP_EIO
 *  (unreadable, not a zip, no single CSV) or BCAP_ENOMEM. */
int fxcm_open(fxcm_reader **out, const char *const *paths, size_t count,
              const fxcm_options *options, char *errbuf, size_t errbuf_cap);

/** Next quote. Returns 1 with *event filled, 0 after the last file, BCAP_EIO
 *  (read, zip or CRC error) or BCAP_ENOMEM, fxcm_last_error saying more;
 *  BCAP_EINVAL for NULL arguments. After an error the reader only returns
 *  it. */
int fxcm_next(fxcm_reader *reader, bcap_event *event);

/** Close the reader. NULL is a no-op. */
void fxcm_close(fxcm_reader *reader);

/** Counters so far (valid until fxcm_close). */
const fxcm_counters *fxcm_get_counters(const fxcm_reader *reader);

/** Detail of the last error ("" when none). */
const char *fxcm_last_error(const fxcm_reader *reader);

/** UTC midnight (ns since the Unix epoch) of file `index`'s date, or -1. */
int64_t fxcm_day_start_ns(const fxcm_reader *reader, size_t index);

/** Print the counters as one line of JSON (no newline). */
void fxcm_print_counters(FILE *stream, const fxcm_counters *counters);

#endif /* FXCM_H */
