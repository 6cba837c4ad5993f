/* cscalp-bench backtest: events per second replaying a capture through the
 * engine and the simulated venue on one core, the host loop of
 * examples/backtest without its output. The capture is decoded into memory
 * first (not timed) and replayed, shifted in time each pass, until at least
 * MIN_EVENTS events went through:
 *   feed_only        engine (learning off, autonomy MANUAL) + venue
 *   infer_per_quote  the same + cscalp_infer after every quote and book
 *   learning         learning inline, autonomy AUTONOMOUS: intents polled
 *                    into the venue, its updates into the engine
 * One JSON line per case. */
#include "bench_backtest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binance_capture.h"
#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"

#define MIN_EVENTS 2000000u
#define GAP_NS 1000000000LL

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct events {
    bcap_event *v;
    size_t n, cap;
} events;

static int load(const char *path, events *out)
{
    bcap_reader *r = NULL;
    char err[512];
    if (bcap_open(&r, path, NULL, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-bench: %s\n", err);
        return -1;
    }
    bcap_event ev;
    int rc;
    while ((rc = bcap_next(r, &ev)) == 1) {
        if (out->n == out->cap) {
            const size_t cap = out->cap ? out->cap * 2 : 4096;
            bcap_event *v = realloc(out->v, cap * sizeof *v);
            if (v == NULL) {
                rc = -1;
                break;
            }
            out->v = v;
            out->cap = cap;
        }
        out->v[out->n++] = ev;
    }
    if (rc < 0)
        fprintf(stderr, "cscalp-bench: %s: %s\n", path, bcap_last_error(r));
    bcap_close(r);
    return rc < 0 ? -1 : 0;
}

static void shift(bcap_event *ev, int64_t by)
{
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        ev->trade.ts_ns += by;
        break;
    case CSCALP_KIND_QUOTE:
        ev->quote.ts_ns += by;
        break;
    case CSCALP_KIND_BOOK:
        ev->book.ts_ns += by;
        break;
    default:
        ev->funding.ts_ns += by;
        if (ev->funding.next_funding_ts_ns > 0)
            ev->funding.next_funding_ts_ns += by;
        break;
    }
}

static int venue_push(cscalp_sim_venue *v, const bcap_event *ev)
{
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        return cscalp_sim_venue_on_trade(v, &ev->trade);
    case CSCALP_KIND_QUOTE:
        return cscalp_sim_venue_on_quote(v, &ev->quote);
    case CSCALP_KIND_BOOK:
        return cscalp_sim_venue_on_book(v, &ev->book);
    default:
        return cscalp_sim_venue_on_funding(v, &ev->funding);
    }
}

enum { CASE_FEED, CASE_INFER, CASE_LEARN };
static const char *const case_names[] = {"feed_only", "infer_per_quote", "learning"};

static int run_case(int which, events *e, const char *source)
{
    cscalp_engine *engine = NULL;
    cscalp_sim_venue *venue = NULL;
    const char *cfg = which == CASE_LEARN ? "{\"learn\":{\"mode\":\"inline\"}}"
                                          : "{\"learn\":{\"mode\":\"off\"}}";
    cscalp_sim_venue_config vc;
    vc.size = sizeof vc;
    cscalp_sim_venue_config_init(&vc);
    if (cscalp_open(&engine, cfg) != CSCALP_OK ||
        cscalp_sim_venue_open(&venue, &vc, NULL, NULL, 0) != CSCALP_OK) {
        fprintf(stderr, "cscalp-bench: backtest: cannot open the engine or the venue\n");
        cscalp_close(engine);
        return -1;
    }
    if (which == CASE_LEARN)
        cscalp_set_autonomy(engine, CSCALP_AUTONOMY_AUTONOMOUS);
    const int64_t period = bcap_event_ts(&e->v[e->n - 1]) - bcap_event_ts(&e->v[0]) + GAP_NS;
    const size_t passes = (MIN_EVENTS + e->n - 1) / e->n;
    uint64_t pushed = 0, intents = 0, updates = 0, refused = 0;
    cscalp_signal sig;
    cscalp_intent its[64];
    cscalp_order_update us[64];
    const double t0 = now_s();
    for (size_t p = 0; p < passes; p++) {
        for (size_t i = 0; i < e->n; i++) {
            bcap_event *ev = &e->v[i];
            if (p > 0)
                shift(ev, period);
            if (bcap_push(engine, ev) != CSCALP_OK) {
                refused++;
                continue;
            }
            venue_push(venue, ev);
            pushed++;
            if (which == CASE_INFER &&
                (ev->kind == CSCALP_KIND_QUOTE || ev->kind == CSCALP_KIND_BOOK)) {
                sig.size = sizeof sig;
                cscalp_infer(engine, &sig);
            }
            if (which == CASE_LEARN) {
                its[0].size = sizeof its[0];
                const int n = cscalp_poll_intents(engine, its, 64);
                for (int k = 0; k < n; k++)
                    cscalp_sim_venue_submit(venue, &its[k]);
                intents += (uint64_t)(n > 0 ? n : 0);
                us[0].size = sizeof us[0];
                const int m = cscalp_sim_venue_poll(venue, bcap_event_ts(ev), us, 64);
                for (int k = 0; k < m; k++)
                    cscalp_on_order(engine, &us[k]);
                updates += (uint64_t)(m > 0 ? m : 0);
            }
        }
    }
    const double dt = now_s() - t0;
    printf("{\"bench\":\"backtest\",\"case\":\"%s\",\"events\":%llu,\"seconds\":%.3f,"
           "\"events_per_s\":%.0f,\"intents\":%llu,\"venue_updates\":%llu,\"refused\":%llu,"
           "\"source\":\"%s\"}\n",
           case_names[which], (unsigned long long)pushed, dt, dt > 0 ? (double)pushed / dt : 0.0,
           (unsigned long long)intents, (unsigned long long)updates,
           (unsigned long long)refused, source);
    cscalp_sim_venue_close(venue);
    cscalp_close(engine);
    return 0;
}

int bench_backtest(const char *path, const char *source)
{
    int rc = 0;
    for (int which = CASE_FEED; which <= CASE_LEARN && rc == 0; which++) {
        /* Each case replays the capture from its recorded times. */
        events e = {NULL, 0, 0};
        rc = load(path, &e);
        if (rc == 0 && e.n == 0) {
            fprintf(stderr, "cscalp-bench: %s: no events\n", path);
            rc = -1;
        }
        if (rc == 0)
            rc = run_case(which, &e, source);
        free(e.v);
    }
    return rc;
}
