#include "paper.h"

#include <string.h>

#define BATCH 64
#define MAX_ROUNDS 16 /* more would mean intents answered by intents forever */

void paper_apply(paper_link *p, const cscalp_order_update *u)
{
    p->updates++;
    if (cscalp_on_order(p->engine, u) != CSCALP_OK)
        p->update_errors++;
}

static void submit(paper_link *p, const cscalp_intent *it, int64_t now_ns)
{
    if (cscalp_sim_venue_submit(p->venue, it) == CSCALP_OK || it->kind != CSCALP_INTENT_NEW)
        return; /* a CANCEL the venue cannot take: the order is gone there already */
    p->submit_errors++;
    cscalp_order_update rej;
    memset(&rej, 0, sizeof rej);
    rej.size = sizeof rej;
    rej.type = CSCALP_UPDATE_REJECTED;
    rej.client_id = it->client_id;
    rej.ts_ns = now_ns;
    rej.text = "the simulated venue refused the order";
    paper_apply(p, &rej);
}

uint64_t paper_exchange(paper_link *p, int64_t now_ns)
{
    uint64_t fills = 0;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        cscalp_intent its[BATCH];
        its[0].size = sizeof its[0];
        int n = cscalp_poll_intents(p->engine, its, BATCH);
        int moved = n > 0;
        for (int i = 0; i < n; i++) {
            if (its[i].kind == CSCALP_INTENT_NEW)
                p->intents_new++;
            else
                p->intents_cancel++;
            submit(p, &its[i], now_ns);
        }
        cscalp_order_update us[BATCH];
        us[0].size = sizeof us[0];
        n = cscalp_sim_venue_poll(p->venue, now_ns, us, BATCH);
        moved |= n > 0;
        for (int i = 0; i < n; i++) {
            fills += us[i].type == CSCALP_UPDATE_FILL;
            paper_apply(p, &us[i]);
        }
        cscalp_sim_venue_account acc;
        acc.size = sizeof acc;
        cscalp_sim_venue_get_account(p->venue, &acc);
        if (acc.liquidations_reported != p->venue_liquidations) {
            /* The venue closed the position; the stream has just told us
             * (after every update before it): the engine hears it as a
             * resync, as a live host would from its account stream. */
            p->venue_liquidations = acc.liquidations_reported;
            cscalp_set_position(p->engine, acc.position_reported, acc.entry_reported);
            p->resyncs++;
            moved = 1;
        }
        if (!moved)
            break;
    }
    return fills;
}
