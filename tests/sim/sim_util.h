/* Helpers of the synthetic-market suites: a configuration with the
 * defaults, and a platform-neutral digest of an event (the fields that
 * carry meaning, as little-endian bit patterns, so two platforms that give
 * the same values give the same digest). Header-only: each suite is one
 * translation unit. */
#ifndef CSCALP_TESTS_SIM_UTIL_H
#define CSCALP_TESTS_SIM_UTIL_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "cryptoscalp_sim.h"

/* ck_assert for loops over 10^5..10^6 events: Check records the location
 * of every ck_assert (a write to its log in fork mode), which would cost
 * more than the generator; this one costs a branch until it fails. */
#define SU_CHECK(cond)                                                         \
    do {                                                                       \
        if (!(cond))                                                           \
            ck_abort_msg("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
    } while (0)

static inline cscalp_sim_market_config su_defaults(void)
{
    cscalp_sim_market_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    ck_assert_int_eq(cscalp_sim_market_config_init(&cfg), CSCALP_OK);
    return cfg;
}

static inline cscalp_sim_market *su_open(const cscalp_sim_market_config *cfg)
{
    cscalp_sim_market *m = NULL;
    char why[256];
    const int rc = cscalp_sim_market_open(&m, cfg, NULL, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_sim_market_open: %s (%s)", cscalp_error_name(rc), why);
    return m;
}

static inline cscalp_sim_market_event su_event(void)
{
    cscalp_sim_market_event ev;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    return ev;
}

/* FNV-1a over 64-bit words, byte by byte from the least significant. */
typedef struct su_digest {
    uint64_t h;
} su_digest;

static inline void su_word(su_digest *d, uint64_t w)
{
    for (int i = 0; i < 8; i++) {
        d->h ^= (w >> (8 * i)) & 0xffu;
        d->h *= 0x100000001b3ULL;
    }
}

static inline void su_double(su_digest *d, double v)
{
    uint64_t w;
    memcpy(&w, &v, sizeof w);
    su_word(d, w);
}

/* Every field the event defines for its kind. */
static inline void su_event_digest(su_digest *d, const cscalp_sim_market_event *ev)
{
    su_word(d, (uint64_t)(int64_t)ev->kind);
    su_word(d, (uint64_t)ev->ts_ns);
    su_word(d, ev->index);
    su_word(d, (uint64_t)(int64_t)ev->regime);
    su_double(d, ev->mid);
    su_double(d, ev->drift_bps_per_s);
    if (ev->kind == CSCALP_KIND_TRADE) {
        su_word(d, (uint64_t)ev->trade.ts_ns);
        su_double(d, ev->trade.price);
        su_double(d, ev->trade.size);
        su_word(d, (uint64_t)(int64_t)ev->trade.side);
        su_word(d, ev->trade.flags);
        su_word(d, (uint64_t)ev->trade.trade_id);
    } else if (ev->kind == CSCALP_KIND_QUOTE) {
        su_word(d, (uint64_t)ev->quote.ts_ns);
        su_double(d, ev->quote.bid_price);
        su_double(d, ev->quote.bid_size);
        su_double(d, ev->quote.ask_price);
        su_double(d, ev->quote.ask_size);
    } else {
        su_word(d, (uint64_t)ev->book.ts_ns);
        su_word(d, ev->book.bid_count);
        su_word(d, ev->book.ask_count);
        for (uint32_t i = 0; i < ev->book.bid_count; i++) {
            su_double(d, ev->book.bids[i].price);
            su_double(d, ev->book.bids[i].size);
        }
        for (uint32_t i = 0; i < ev->book.ask_count; i++) {
            su_double(d, ev->book.asks[i].price);
            su_double(d, ev->book.asks[i].size);
        }
    }
}

/* Digest of the first n events of a configuration. */
static inline uint64_t su_stream_digest(const cscalp_sim_market_config *cfg, long n)
{
    cscalp_sim_market *m = su_open(cfg);
    cscalp_sim_market_event ev = su_event();
    su_digest d = {0xcbf29ce484222325ULL};
    for (long i = 0; i < n; i++) {
        SU_CHECK(cscalp_sim_market_next(m, &ev) == CSCALP_OK);
        su_event_digest(&d, &ev);
    }
    cscalp_sim_market_close(m);
    return d.h;
}

#endif
