/* The paper-trading link between an engine and the simulated venue, as
 * cscalp-backtest and cscalp-live run it: the engine's intents go to the
 * venue, the venue's updates back through cscalp_on_order, and a
 * liquidation the venue reports becomes cscalp_set_position. */
#ifndef CSCALP_EXAMPLES_PAPER_H
#define CSCALP_EXAMPLES_PAPER_H

#include <stdint.h>

#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"

typedef struct paper_link {
    cscalp_engine *engine;
    cscalp_sim_venue *venue;
    uint64_t intents_new, intents_cancel;
    uint64_t updates;       /* order updates given to the engine */
    uint64_t update_errors; /* of those, refused by the engine (it counts and reports why) */
    uint64_t submit_errors; /* NEW intents the venue would not take: answered REJECTED */
    uint64_t resyncs;       /* liquidations passed on as cscalp_set_position */
    uint64_t venue_liquidations; /* liquidations the venue has reported so far */
} paper_link;

/** An update to the engine, counted. */
void paper_apply(paper_link *p, const cscalp_order_update *u);

/** Intents to the venue (one it refuses is answered REJECTED, so the engine
 *  never waits for an answer that will not come), the venue's updates due
 *  by `now_ns` to the engine, a reported liquidation as a resync — until
 *  neither side has more at this time. Returns the fills applied. */
uint64_t paper_exchange(paper_link *p, int64_t now_ns);

#endif
