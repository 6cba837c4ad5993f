/* The compact binary event file of `cscalp-backtest --convert`: the events a
 * reader decoded (bcap_event), stored so a replay reads them at memory speed
 * instead of parsing JSON or CSV again.
 *
 * Layout, little-endian:
 *   8 bytes  magic "CSCALPEV"
 *   4 bytes  format version (1)
 *   4 bytes  0 (reserved)
 *   then records, each: 1 byte kind (cscalp_event_kind), then
 *     TRADE    int64 ts, f64 price, f64 size, int32 side, uint32 flags, int64 trade_id
 *     QUOTE    int64 ts, f64 bid, f64 bid_size, f64 ask, f64 ask_size
 *     BOOK     int64 ts, uint8 bid_count, uint8 ask_count, then the levels
 *              (f64 price, f64 size), bids then asks
 *     FUNDING  int64 ts, f64 rate, f64 mark, f64 index, int64 next_funding_ts
 * A book takes only the levels it has (a 10-level book is 346 bytes, not
 * the 1 616 of cscalp_book). */
#ifndef CSCALP_EXAMPLES_EVENT_FILE_H
#define CSCALP_EXAMPLES_EVENT_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "binance_capture.h"

#define EVENT_FILE_MAGIC "CSCALPEV"

typedef struct event_writer event_writer;
typedef struct event_reader event_reader;

/* 1 when the file starts with the magic, 0 when not, -1 unreadable. */
int event_file_detect(const char *path);

/* BCAP_OK, or BCAP_EIO with a message. */
int event_writer_open(event_writer **out, const char *path, char *err, size_t cap);
int event_writer_put(event_writer *w, const bcap_event *ev);
/* Flushes and closes; BCAP_EIO when anything failed to write. */
int event_writer_close(event_writer *w, char *err, size_t cap);

/* BCAP_OK, or BCAP_EIO / BCAP_EINVAL (not an event file, another version). */
int event_reader_open(event_reader **out, const char *path, char *err, size_t cap);
/* An event file already in memory (`len` bytes from its magic on; kept by
 * the caller until event_reader_close): the replay then costs only the
 * decoding. BCAP_OK, BCAP_EINVAL, BCAP_ENOMEM. */
int event_reader_open_memory(event_reader **out, const void *data, size_t len, char *err,
                            size_t cap);
/* 1 with *ev (only the member of its kind is written; a book's levels up to
 * its counts), 0 at the end, BCAP_EIO on a truncated or damaged record. */
int event_reader_next(event_reader *r, bcap_event *ev);
const char *event_reader_error(const event_reader *r);
uint64_t event_reader_count(const event_reader *r);
void event_reader_close(event_reader *r);

#endif
