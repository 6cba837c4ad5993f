/* Reader for Binance USDⓈ-M historical L2 CSV files (the tick-level order
 * book data Binance gives out as *_depth_snap.csv and *_depth_update.csv,
 * plain or gzip):
 *   symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu
 * One row per level; the rows of one message share timestamp (ms), the
 * update ids and update_type ("snap": a full snapshot, "set": the new size
 * of a level, 0 removes it); side is "b" or "a"; pu is the last_update_id of
 * the previous update message (-1 in snapshots).
 *
 * The files given together (a snapshot file and its update file, or several
 * days of them) are read as one stream ordered by last_update_id (the
 * exchange's sequence; a snapshot goes before an update with the same id).
 * The book follows Binance's rule for USDⓈ-M futures: nothing until a
 * snapshot; then updates with last_update_id below the snapshot's (or, in
 * sync, not above the last applied one: a repeat) are stale and skipped;
 * the first one applied must cover it (first_update_id <= snapshot id <=
 * last_update_id); each later one must have pu equal to the previous one's
 * last_update_id. A break is a gap: the book is cleared until the next
 * snapshot. A snapshot that comes while the book is in sync is counted and
 * otherwise ignored (the chain proves the book). After every snapshot or applied update with both
 * sides non-empty a top-N cscalp_book is emitted, stamped with the message
 * time in ns (never earlier than the previous event: a time that goes back
 * is held at the last one and counted). Malformed rows are counted and
 * skipped. */
#ifndef CSCALP_EXAMPLES_BINANCE_DEPTH_H
#define CSCALP_EXAMPLES_BINANCE_DEPTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "binance_capture.h"

#define BDEPTH_MAX_FILES 8
#define BDEPTH_HEADER "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"

typedef struct bdepth_counters {
    uint64_t rows;           /* data rows read (headers not counted) */
    uint64_t bad_rows;       /* malformed rows, skipped */
    uint64_t snapshots;      /* snapshot messages */
    uint64_t updates;        /* update messages */
    uint64_t updates_applied;
    uint64_t updates_stale;  /* older than the book (last_update_id below it) */
    uint64_t updates_unsynced; /* before any snapshot, or after a gap */
    uint64_t gaps;           /* breaks in the update chain (book cleared) */
    uint64_t resyncs;        /* a snapshot brought the book back after a gap */
    uint64_t one_sided;      /* a message left a side empty: no book emitted */
    uint64_t time_held;      /* messages stamped earlier than the previous event */
    uint64_t books;          /* book events emitted */
} bdepth_counters;

typedef struct bdepth_reader bdepth_reader;

/* 1 when the first line of the (plain or gzip) file at `path` is
 * BDEPTH_HEADER, 0 when not, -1 when it cannot be read. */
int bdepth_detect(const char *path);

/* Open 1 … BDEPTH_MAX_FILES files with `levels` (1 … CSCALP_BOOK_MAX_LEVELS)
 * levels a side in each emitted book. BCAP_OK, or BCAP_EINVAL / BCAP_EIO /
 * BCAP_ENOMEM with a message in errbuf (a file without the header is named). */
int bdepth_open(bdepth_reader **out, const char *const *paths, size_t n, unsigned int levels,
                char *errbuf, size_t errbuf_cap);
/* 1 with *ev (a CSCALP_KIND_BOOK), 0 at the end of every file, BCAP_EIO on a
 * read error, BCAP_ENOMEM. */
int bdepth_next(bdepth_reader *r, bcap_event *ev);
const char *bdepth_last_error(const bdepth_reader *r);
const bdepth_counters *bdepth_get_counters(const bdepth_reader *r);
void bdepth_print_counters(FILE *out, const bdepth_counters *c);
void bdepth_close(bdepth_reader *r);

#endif
