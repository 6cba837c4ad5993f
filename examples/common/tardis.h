/* Reader for tardis.dev CSV exports (gzip), as in ../shared/data/tardis-
 * binance-futures: trades
 *   exchange,symbol,timestamp,local_timestamp,id,side,price,amount
 * and quotes (best bid/offer)
 *   exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
 * Times are µs since the epoch. Several files (a day's trades and quotes)
 * are merged into one stream ordered by local_timestamp — the time the
 * data reached the recorder, which is what a live host sees, as in the
 * Binance raw captures — ties going to the file given first. Each line
 * becomes one bcap_event (CSCALP_KIND_TRADE or CSCALP_KIND_QUOTE). */
#ifndef CSCALP_EXAMPLES_TARDIS_H
#define CSCALP_EXAMPLES_TARDIS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "binance_capture.h"

#define TARDIS_MAX_FILES 8

typedef struct tardis_counters {
    uint64_t lines;        /* data lines read (headers not counted) */
    uint64_t bad_lines;    /* malformed lines, skipped */
    uint64_t trades, quotes;
} tardis_counters;

typedef struct tardis_reader tardis_reader;

/* 1 when the first line of the gzip file at `path` is a tardis trades or
 * quotes header, 0 when not, -1 when it cannot be read. */
int tardis_detect(const char *path);

/* Open 1 … TARDIS_MAX_FILES files. BCAP_OK, or BCAP_EINVAL / BCAP_EIO /
 * BCAP_ENOMEM with a message in errbuf (an unknown header names the file). */
int tardis_open(tardis_reader **out, const char *const *paths, size_t n, char *errbuf,
                size_t errbuf_cap);
/* 1 with *ev, 0 at the end of every file, BCAP_EIO on a read error. */
int tardis_next(tardis_reader *r, bcap_event *ev);
const char *tardis_last_error(const tardis_reader *r);
const tardis_counters *tardis_get_counters(const tardis_reader *r);
void tardis_print_counters(FILE *out, const tardis_counters *c);
void tardis_close(tardis_reader *r);

#endif
