/* Working orders (docs/risk.md, "Orders"): the engine's record of every
 * order it asked the host to place, from the intent to a terminal state,
 * driven by the host's order updates. It decides which updates are
 * possible, ignores duplicated fills, refuses the rest with a reason, and
 * hands each accepted fill on (to the ledger) exactly once.
 *
 * Client order ids come from a counter that only grows (it is in the
 * checkpoint), so an id is never reused for the engine's life, and an id
 * below the counter that is not working belongs to a closed order. Fixed
 * capacity, allocated at create; every call after that is allocation-free:
 * O(max_working) to find an order (a handful), O(1) expected to check a
 * fill id (open addressing over the remembered ones). */
#ifndef CSCALP_RISK_ORDERS_H
#define CSCALP_RISK_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

typedef enum cscalp_order_state {
    CSCALP_ORDER_PENDING_NEW = 0,    /* intent emitted, no answer yet */
    CSCALP_ORDER_OPEN = 1,           /* acknowledged, nothing filled */
    CSCALP_ORDER_PARTIAL = 2,        /* acknowledged or not, partly filled */
    CSCALP_ORDER_PENDING_CANCEL = 3, /* cancel intent emitted */
    CSCALP_ORDER_FILLED = 4,         /* terminal */
    CSCALP_ORDER_CANCELLED = 5,      /* terminal */
    CSCALP_ORDER_REJECTED = 6,       /* terminal */
    CSCALP_ORDER_EXPIRED = 7         /* terminal */
} cscalp_order_state;

typedef enum cscalp_order_event {
    CSCALP_ORDER_EV_ACK = 0,
    CSCALP_ORDER_EV_REJECT = 1,
    CSCALP_ORDER_EV_FILL = 2,
    CSCALP_ORDER_EV_CANCELLED = 3,
    CSCALP_ORDER_EV_EXPIRED = 4
} cscalp_order_event;

/* What became of an update. */
typedef enum cscalp_order_outcome {
    CSCALP_ORDER_APPLIED = 0,   /* the state moved (a fill: pass it on) */
    CSCALP_ORDER_DUPLICATE = 1, /* seen before (same fill id, repeated ack): ignored */
    CSCALP_ORDER_REFUSED = 2    /* unknown id, overfill, impossible transition, bad field */
} cscalp_order_outcome;

typedef struct cscalp_order {
    uint64_t id;          /* client order id, ≥ 1 */
    int side;             /* +1 buy, −1 sell */
    double price;         /* limit price; 0 for market */
    double size;          /* contracts, > 0 */
    double filled;        /* contracts filled so far */
    int state;            /* cscalp_order_state */
    int64_t created_ns;   /* engine clock when the intent was emitted */
    int reduce_only;
    int acked;            /* the venue has the order: acknowledged, or a fill came */
    int needs_confirmation; /* sent for the host's confirmation (an ASSISTED entry): a
                               REJECTED may be the host declining it, not the venue */
} cscalp_order;

typedef struct cscalp_order_book_params {
    uint32_t max_working;    /* orders not yet terminal, at most; 1 … 4096 */
    uint32_t fill_id_memory; /* latest fills remembered for de-duplication; 1 … 2²⁰ */
} cscalp_order_book_params;

typedef struct cscalp_orders cscalp_orders;

/* CSCALP_OK, CSCALP_ENOMEM, CSCALP_ECONFIG_RANGE with `why`. */
int cscalp_orders_create(const cscalp_allocator *mem, const cscalp_order_book_params *p,
                         cscalp_orders **out, char *why, size_t cap);
void cscalp_orders_destroy(cscalp_orders *o);

/* Record a new order (state PENDING_NEW) with the next client id, returned
 * in *id. CSCALP_EBUFFER when max_working orders are working (nothing
 * recorded), CSCALP_EINVAL for a bad side, size or price. */
int cscalp_orders_add(cscalp_orders *o, int side, double price, double size, int reduce_only,
                      int64_t now_ns, uint64_t *id);
/* The order was sent for the host's confirmation (CSCALP_INTENT_NEEDS_CONFIRMATION). */
void cscalp_orders_mark_needs_confirmation(cscalp_orders *o, uint64_t id);
/* A cancel intent was emitted for a working order: PENDING_CANCEL.
 * CSCALP_EINVAL when the id is not working. */
int cscalp_orders_cancel(cscalp_orders *o, uint64_t id);

/* An order whose intent the host never received (still queued, withdrawn
 * by the engine): closed at once, no update expected; its id stays used.
 * CSCALP_EINVAL unless it is PENDING_NEW with nothing acknowledged or
 * filled. */
int cscalp_orders_withdraw(cscalp_orders *o, uint64_t id);

/* Why an update was refused; the engine maps these to the public error
 * codes of its order-update call. */
typedef enum cscalp_order_refusal {
    CSCALP_ORDER_OK = 0,
    CSCALP_ORDER_UNKNOWN_ID = 1, /* never issued by this engine */
    CSCALP_ORDER_CLOSED_ID = 2,  /* a terminal order (a late or repeated terminal update) */
    CSCALP_ORDER_OVERFILL = 3,   /* fills beyond the order's size */
    CSCALP_ORDER_TRANSITION = 4, /* the event is impossible in the order's state */
    CSCALP_ORDER_BAD_FILL = 5,   /* fill size not finite or ≤ 0, fill id 0, unknown event */
    CSCALP_ORDER_REFUSAL_COUNT = 6
} cscalp_order_refusal;

/* One host update. For FILL, `fill_size` > 0 and `fill_id` (the venue's,
 * non-zero) are read; the other events ignore them. Returns the outcome;
 * on REFUSED *reason says which rule and `why` explains it with the ids
 * and sizes. A FILL that APPLIED is the one to book. A fill arriving for a
 * PENDING_NEW order (before its ack) is accepted and implies the ack.
 * A REJECT for an order with a cancel pending means the cancel was refused
 * when the venue has the order (acked), and the order itself was refused
 * when it has not. A fill for an order already closed (a venue's cancel
 * answer overtaking its fill report) is refused as CLOSED_ID: the host
 * must resync the position (docs/risk.md, "Orders"). */
cscalp_order_outcome cscalp_orders_update(cscalp_orders *o, uint64_t id, int event,
                                          double fill_size, uint64_t fill_id,
                                          cscalp_order_refusal *reason, char *why, size_t cap);

/* The working order with this id, or NULL. */
const cscalp_order *cscalp_orders_find(const cscalp_orders *o, uint64_t id);
/* Working orders now, and the i-th of them (0 ≤ i < count, oldest
 * first). */
uint32_t cscalp_orders_working(const cscalp_orders *o);
const cscalp_order *cscalp_orders_at(const cscalp_orders *o, uint32_t i);
/* Contracts working on a side (+1 buy, −1 sell): the unfilled remainders,
 * a magnitude. */
double cscalp_orders_open_size(const cscalp_orders *o, int side);
uint64_t cscalp_orders_next_id(const cscalp_orders *o);

typedef struct cscalp_orders_counters {
    uint64_t added, applied, duplicates, refused, filled, cancelled, rejected, expired, withdrawn;
    uint64_t refused_by[CSCALP_ORDER_REFUSAL_COUNT];
} cscalp_orders_counters;
void cscalp_orders_get_counters(const cscalp_orders *o, cscalp_orders_counters *out);

/* Checkpoints. Load checks every field (CSCALP_ECORRUPT with `why`); on
 * error the table is left part-loaded: discard it (the engine does). */
void cscalp_orders_save(const cscalp_orders *o, cscalp_wbuf *w);
int cscalp_orders_load(cscalp_orders *o, cscalp_rbuf *r, char *why, size_t cap);

#endif
