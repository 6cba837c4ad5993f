/* One reader over the recorded-data formats the examples take: Binance
 * USDⓈ-M raw captures (gzip, binance_capture.h), tardis.dev CSV trades and
 * quotes (gzip, tardis.h), LOBSTER samples (zip, lobster.h) and FXCM quote
 * days (zip, fxcm.h), told apart by their contents. Every reader yields
 * bcap_event. */
#ifndef CSCALP_EXAMPLES_SOURCES_H
#define CSCALP_EXAMPLES_SOURCES_H

#include <stddef.h>
#include <stdio.h>

#include "binance_capture.h"
#include "binance_depth.h"
#include "fxcm.h"
#include "lobster.h"
#include "event_file.h"
#include "tardis.h"

typedef enum source_kind {
    SRC_BINANCE,
    SRC_LOBSTER,
    SRC_FXCM,
    SRC_TARDIS,
    SRC_EVENTS, /* the binary event file of cscalp-backtest --convert (event_file.h) */
    SRC_BINANCE_DEPTH /* Binance historical L2 CSV, snapshots and updates (binance_depth.h) */
} source_kind;

/** "binance", "lobster", "fxcm", "tardis", "events" or "binance-depth". */
const char *source_kind_name(source_kind kind);

typedef struct source {
    source_kind kind;
    const char *path;
    bcap_reader *bcap;
    lobster_reader *lob;
    fxcm_reader *fx;
    tardis_reader *td;
    event_reader *evf;
    bdepth_reader *depth;
} source;

/* Status of source_detect. */
#define SOURCE_OK 0
#define SOURCE_EIO 1     /* cannot open or read */
#define SOURCE_EFORMAT 2 /* neither a gzip capture nor a LOBSTER or FXCM zip */

/** A file starting with EVENT_FILE_MAGIC: an event file. A file (plain or
 *  gzip) whose first line is BDEPTH_HEADER: Binance historical depth. Gzip: a tardis CSV when its first line is a tardis trades or quotes
 *  header, else a Binance capture. Zip: LOBSTER when it holds a *_message_*.csv
 *  member, else an FXCM day (fxcm_open checks the rest). SOURCE_OK, or an
 *  error with a message in err. */
int source_detect(const char *path, source_kind *kind, char *err, size_t cap);

/** Open `path` as `kind`, keeping `levels` book levels a side (Binance,
 *  LOBSTER). The reader's status (BCAP_OK on success), message in err. */
int source_open(source *s, source_kind kind, const char *path, unsigned int levels, char *err,
                size_t cap);
/** Several files read as one stream: tardis files (a day's trades and
 *  quotes) merged by time, Binance depth files (snapshots and updates)
 *  merged by update id; any other kind takes exactly one path. */
int source_open_group(source *s, source_kind kind, const char *const *paths, size_t n,
                      unsigned int levels, char *err, size_t cap);
/** 1 with *ev, 0 at the end, < 0 on an error (source_error says which). */
/** How many of paths[0..n) form one stream with paths[0], whose kind is
 *  `kind`: the run of consecutive files of that kind, for the kinds read as
 *  a group (up to their reader's limit), else 1. */
size_t source_group_size(const char *const *paths, size_t n, source_kind kind);
int source_next(source *s, bcap_event *ev);
const char *source_error(const source *s);
void source_print_counters(const source *s, FILE *out);
void source_close(source *s);

#endif
