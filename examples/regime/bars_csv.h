/*
 * bars_csv.h — reader for OHLCV bar CSV files (plain or gzip), held whole in
 * memory and put in time order.
 *
 * Layout: optional banner lines, then a header line, then one bar a row.
 * The header is the first line (of the first BARS_MAX_BANNER_LINES + 1) that
 * names a time column and a close column; the lines before it are banners
 * (CryptoDataDownload files start with one). Columns are found by name,
 * case-insensitive, surrounding blanks and double quotes ignored:
 *   time    the first of "timestamp", "date", "time", "datetime",
 *           "unix timestamp", "unix", "open_time", "open time"
 *   open, high, low, close
 *   volume  the one named by the caller, else the first whose name begins
 *           with "volume" ("Volume BTC", "VolumeFrom", "volume").
 *
 * Times (UTC; a trailing "Z" or "+00:00" is allowed, other offsets are not):
 *   YYYY-MM-DD, YYYY-MM-DD[ T]HH:MM[:SS[.fraction]],
 *   YYYY-MM-DD HH-AM / HH-PM (CryptoDataDownload's hourly files; 12-AM is
 *   midnight), '/' also taken as the date separator;
 *   or a plain integer of Unix time: seconds, or ms / µs / ns when it has
 *   more than 11 / 14 / 17 digits.
 *
 * A row is skipped and counted (bars_counters) when it has too few fields,
 * its time does not parse, a number does not parse or is not finite, a
 * price is ≤ 0, low > high, open or close lies outside [low, high], or the
 * volume is < 0. Blank lines are counted apart. After a stable sort by time
 * the later rows (in file order) of an equal time are skipped as duplicates.
 */
#ifndef BARS_CSV_H
#define BARS_CSV_H

#include <stddef.h>
#include <stdint.h>

#define BARS_OK 0
#define BARS_EIO (-1)      /**< cannot open or read the file */
#define BARS_EFORMAT (-2)  /**< no header line, or a column is missing */
#define BARS_ENOMEM (-3)

/** Banner lines tolerated before the header. */
#define BARS_MAX_BANNER_LINES 5

typedef struct bars_bar {
    int64_t time_ms; /**< bar time as written (UTC), ms since 1970-01-01 */
    double open, high, low, close, volume;
} bars_bar;

typedef enum bars_skip {
    BARS_SKIP_FIELDS = 0, /**< fewer fields than the header's columns need */
    BARS_SKIP_TIME,       /**< time does not parse */
    BARS_SKIP_NUMBER,     /**< a price or the volume is not a finite decimal */
    BARS_SKIP_RANGE,      /**< price ≤ 0, low > high, open/close outside [low, high], volume < 0 */
    BARS_SKIP_DUPLICATE,  /**< same time as an earlier row */
    BARS_SKIP_LONG,       /**< line longer than BARS_MAX_LINE_BYTES */
    BARS_SKIP_COUNT
} bars_skip;

#define BARS_MAX_LINE_BYTES 4096

/** "fields", "time", "number", "range", "duplicate", "long_line"; "?" else. */
const char *bars_skip_name(int reason);

typedef enum bars_order {
    BARS_ORDER_ASCENDING = 0, /**< rows in the file already in time order */
    BARS_ORDER_DESCENDING,    /**< newest first */
    BARS_ORDER_MIXED
} bars_order;

typedef struct bars_series {
    bars_bar *bar;        /**< n bars, time strictly increasing */
    size_t n;
    uint64_t lines;       /**< lines read, banner and header included */
    uint64_t banner_lines;
    uint64_t blank_lines;
    uint64_t rows;        /**< data rows (lines after the header, not blank) */
    uint64_t skipped[BARS_SKIP_COUNT];
    bars_order order;     /**< of the accepted rows as the file had them */
    char time_column[64];
    char volume_column[64];
} bars_series;

/** Read `path` (gzip or plain: zlib tells them apart) into *out, sorted by
 *  time. `volume_column` NULL: the first "volume…" column. On error *out is
 *  empty and `err` says why (with the path). */
int bars_read(const char *path, const char *volume_column, bars_series *out, char *err,
              size_t cap);
void bars_free(bars_series *s);

/** Total of s->skipped. */
uint64_t bars_skipped_total(const bars_series *s);

/** One time as the reader takes it (the whole string); 0 or -1. */
int bars_parse_time(const char *s, int64_t *time_ms);

/** "YYYY-MM-DDTHH:MM:SSZ" (with ".mmm" when the ms are not zero). */
void bars_format_time(int64_t time_ms, char *buf, size_t cap);

/** Calendar fields of a time (UTC, proleptic Gregorian). */
typedef struct bars_civil {
    int year, month, day, hour, minute, second;
} bars_civil;
void bars_to_civil(int64_t time_ms, bars_civil *c);
/** ms at 00:00 UTC of a date (month 1..12, day 1..31, not checked). */
int64_t bars_from_civil(int year, int month, int day);

#endif
