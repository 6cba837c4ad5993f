/* The risk desk (docs/risk.md): the risk stage's door for the engine. It
 * owns the working orders, the position and PnL ledger and the pre-trade
 * controls, and stands between what the policy wants and what the host
 * sees: every order passes the controls and the autonomy level here before
 * it is queued as an intent, every host update is applied here, and the
 * kill switch's actions (cancel everything, flatten reduce-only, autonomy
 * MANUAL) are taken here.
 *
 * Fixed memory, allocated at create; every call after that is O(working
 * orders) or O(1) and allocation-free. Health events are queued and the
 * engine drains them on the host's thread (cscalp_desk_next_event). */
#ifndef CSCALP_RISK_DESK_H
#define CSCALP_RISK_DESK_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "risk/ledger.h"
#include "risk/limits.h"
#include "risk/orders.h"
#include "util/bytes.h"
#include "util/json_writer.h"

/* Working orders the table can hold: the most risk.max_open_orders allows. */
#define CSCALP_DESK_MAX_WORKING 64u
/* Sends the rate history remembers: the most risk.max_orders_per_min allows. */
#define CSCALP_DESK_MAX_PER_MIN 6000u

typedef struct cscalp_desk_config {
    cscalp_risk_limits limits;
    double initial_equity;        /* quote; fixed at create */
    double tick_size, lot_size;   /* grids of intents */
    double market_protection_bps; /* a crossing order's worst price beyond the touch */
    uint32_t intent_queue;        /* fixed at create */
    uint32_t fill_id_memory;      /* fixed at create */
} cscalp_desk_config;

/* An order the policy wants (or a cancel), with its explanation. */
typedef struct cscalp_desk_order {
    int kind;           /* CSCALP_INTENT_NEW or CSCALP_INTENT_CANCEL */
    uint64_t cancel_id; /* CANCEL */
    int side;           /* NEW: +1 buy, −1 sell */
    int type;           /* NEW: CSCALP_ORDER_POST_ONLY or CSCALP_ORDER_MARKET */
    double price;       /* NEW POST_ONLY: on the tick grid; MARKET: ignored (the desk
                           sets the protection price from the touch) */
    double quantity;    /* NEW: contracts */
    int reduce_only;
    int reason;         /* cscalp_intent_reason */
    int regime;
    double expected_move_bps, edge_bps, target_position;
} cscalp_desk_order;

typedef struct cscalp_desk cscalp_desk;

/* CSCALP_OK or CSCALP_ECONFIG_RANGE with `why` naming the risk.* or policy.*
 * key (the cross-key rules: per-minute rate ≥ per-second rate). */
int cscalp_desk_config_check(const cscalp_desk_config *c, char *why, size_t cap);
int cscalp_desk_create(const cscalp_allocator *mem, const cscalp_desk_config *c,
                       cscalp_desk **out, char *why, size_t cap);
void cscalp_desk_destroy(cscalp_desk *d);
/* New limits and grids (intent_queue, fill_id_memory and initial_equity
 * are kept as created). Checked first: nothing changes on error. */
int cscalp_desk_set_config(cscalp_desk *d, const cscalp_desk_config *c, char *why, size_t cap);

/* The touch at now_ns (after every top-of-book change and on the decision
 * grid): marks the position, updates the drawdown marks and, when a limit
 * is passed, trips the kill switch and takes its actions. */
void cscalp_desk_mark(cscalp_desk *d, double bid, double ask, int64_t now_ns);
/* The latest funding announcement, and the settlement when the clock
 * reaches its time (call with each new clock time). */
void cscalp_desk_on_funding(cscalp_desk *d, double rate, double mark_price,
                            int64_t next_funding_ns);
void cscalp_desk_settle_funding(cscalp_desk *d, int64_t now_ns);

/* Run what the policy wants through autonomy, the queue's room and the
 * pre-trade controls; queue it as an intent when it passes. Returns 1 when
 * queued, 0 when held back (counted; a refusal is a health event). */
int cscalp_desk_submit(cscalp_desk *d, const cscalp_desk_order *o, int64_t now_ns);

/* While the kill switch is tripped: cancel what still works and send the
 * next reduce-only flatten. Called on the decision grid. */
void cscalp_desk_halt_step(cscalp_desk *d, int64_t now_ns);

int cscalp_desk_killed(const cscalp_desk *d);
/* Trip by hand (configuration, supervisor): events, cancels, flatten. */
void cscalp_desk_kill(cscalp_desk *d, int64_t now_ns, const char *why);
/* Re-arm (configuration): the drawdown peaks restart at the equity now;
 * autonomy stays MANUAL until the host raises it. */
void cscalp_desk_rearm(cscalp_desk *d, int64_t now_ns);

/* The supervisor's actions (docs/self-healing.md): cancel every working
 * order and withdraw unsent entries, for `reason` (a cscalp_intent_reason);
 * and set the autonomy as the engine: lowering is a WARNING (DEGRADED),
 * restoring an INFO (RESUMED) AUTONOMY_CHANGED event naming `why`; lowering
 * to MANUAL cancels the working orders. Refused (0) above MANUAL while the
 * kill switch is tripped. */
void cscalp_desk_cancel_all(cscalp_desk *d, int reason, int64_t now_ns);
int cscalp_desk_supervise_autonomy(cscalp_desk *d, int level, int64_t now_ns, const char *why);

int cscalp_desk_autonomy(const cscalp_desk *d);
/* CSCALP_OK, CSCALP_EINVAL (unknown level), CSCALP_EKILLED (above MANUAL
 * while tripped) with `why`. */
int cscalp_desk_set_autonomy(cscalp_desk *d, int level, int64_t now_ns, char *why, size_t cap);

/* A host update: CSCALP_OK (applied or a duplicate) or the error of the
 * header's cscalp_on_order, with `why`; a refusal is counted and queued as
 * a health event. */
int cscalp_desk_on_update(cscalp_desk *d, const cscalp_order_update *u, int64_t now_ns,
                          char *why, size_t cap);
/* The host's position; CSCALP_ENONFINITE / CSCALP_EPRICE with `why`. */
int cscalp_desk_set_position(cscalp_desk *d, double position, double entry_price,
                             int64_t now_ns, char *why, size_t cap);

/* Move up to cap intents into out (stride bytes apart, stride ≥ the
 * version-1 struct). Returns how many. */
size_t cscalp_desk_poll(cscalp_desk *d, void *out, size_t stride, size_t cap);

const cscalp_orders *cscalp_desk_orders(const cscalp_desk *d);
double cscalp_desk_position(const cscalp_desk *d);
double cscalp_desk_equity(const cscalp_desk *d);
void cscalp_desk_get_position(const cscalp_desk *d, cscalp_position *out);

/* Health events, oldest first; 0 when none is left. */
typedef struct cscalp_desk_event {
    int severity, component, event, error, action;
    int64_t ts_ns;
    char message[240];
} cscalp_desk_event;
int cscalp_desk_next_event(cscalp_desk *d, cscalp_desk_event *out);

/* The "position", "orders", "risk" and "intents" objects of the stats. */
void cscalp_desk_write_stats(const cscalp_desk *d, cscalp_json_writer *w);

void cscalp_desk_save(const cscalp_desk *d, cscalp_wbuf *w);
/* CSCALP_ECORRUPT with `why`; on error the desk is part-loaded: discard it. */
int cscalp_desk_load(cscalp_desk *d, cscalp_rbuf *r, char *why, size_t cap);

#endif
