#include "risk/desk.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/grid.h"

#define NS_PER_S 1000000000LL
/* A refusal by the same rule raises at most one health event per this much
 * event time; the ones in between are counted and the next event says how
 * many there were. A policy asking every 100 ms against a full position
 * would otherwise raise ten events a second for one condition. */
#define REFUSAL_EVENT_GAP_NS (60 * NS_PER_S)
#define EVENT_QUEUE 64u

/* Throttled event kinds beyond the risk rules. */
enum { THROTTLE_QUEUE_FULL = CSCALP_RISK_RULE_COUNT, THROTTLE_COUNT };

typedef struct desk_counters {
    uint64_t intents_new, intents_cancel, polled;
    uint64_t held_queue_full, refused, needs_confirmation;
    uint64_t venue_rejects, cancel_rejects, update_errors, duplicates, withdrawn;
    uint64_t resyncs, kills, rearms, autonomy_changes, fundings, round_trips, losing_trips;
    uint64_t events_dropped;
} desk_counters;

struct cscalp_desk {
    cscalp_allocator mem;
    cscalp_desk_config cfg;
    cscalp_orders *orders;
    cscalp_risk *risk;
    cscalp_ledger ledger;
    int autonomy;
    int halted; /* the kill switch's actions have run (cancels sent, flattening) */
    uint64_t flatten_id; /* the latest kill-switch flatten order (kept, not cancelled) */

    /* The touch and the mark (the mid). */
    int has_touch;
    double bid, ask;
    /* Flat and marked since the last change of equity: the mid cannot move
     * a flat equity, so marks may skip it. */
    int flat_marked;

    /* The round trip in progress: realised PnL less fees since the
     * position left zero. */
    double trip_pnl;

    /* Funding: the announced settlement, and the last one booked. */
    int funding_pending;
    double funding_rate, funding_mark;
    int64_t funding_ns, funding_settled_ns;

    /* Intents waiting for the host, oldest first. */
    cscalp_intent *queue;
    uint32_t q_head, q_count;

    /* Health events waiting for the engine. */
    cscalp_desk_event events[EVENT_QUEUE];
    uint32_t ev_head, ev_count;
    int64_t throttle_ns[THROTTLE_COUNT];
    uint64_t throttled[THROTTLE_COUNT];

    desk_counters c;
};

/* ------------------------------------------------------------------------ */

static void emit(cscalp_desk *d, int64_t ts, int severity, int event, int error, int action,
                 const char *fmt, ...)
{
    if (d->ev_count == EVENT_QUEUE) {
        /* The engine drains after every call; only a burst within one call
         * (a kill with many cancels raises one event, not one per order)
         * could fill it. The oldest is kept: it explains the rest. */
        d->c.events_dropped++;
        return;
    }
    cscalp_desk_event *ev = &d->events[(d->ev_head + d->ev_count) % EVENT_QUEUE];
    d->ev_count++;
    ev->severity = severity;
    ev->component = event == CSCALP_EVENT_INTENTS_DROPPED ? CSCALP_COMPONENT_POLICY
                                                          : CSCALP_COMPONENT_RISK;
    ev->event = event;
    ev->error = error;
    ev->action = action;
    ev->ts_ns = ts;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->message, sizeof ev->message, fmt, ap);
    va_end(ap);
}

int cscalp_desk_next_event(cscalp_desk *d, cscalp_desk_event *out)
{
    if (d->ev_count == 0)
        return 0;
    *out = d->events[d->ev_head];
    d->ev_head = (d->ev_head + 1) % EVENT_QUEUE;
    d->ev_count--;
    return 1;
}

/* 1 when an event of this kind may be raised now; otherwise counts it. */
static int throttle_pass(cscalp_desk *d, int kind, int64_t now, uint64_t *suppressed)
{
    const int64_t last = d->throttle_ns[kind];
    /* Unsigned difference: no overflow whatever a checkpoint held. */
    if (last != INT64_MIN && now >= last &&
        (uint64_t)now - (uint64_t)last < (uint64_t)REFUSAL_EVENT_GAP_NS) {
        d->throttled[kind]++;
        return 0;
    }
    *suppressed = d->throttled[kind];
    d->throttled[kind] = 0;
    d->throttle_ns[kind] = now;
    return 1;
}

/* ------------------------------------------------------------------------ */

int cscalp_desk_config_check(const cscalp_desk_config *c, char *why, size_t cap)
{
#define NEED(cond, ...)                                                         \
    do {                                                                        \
        if (!(cond)) {                                                          \
            snprintf(why, cap, __VA_ARGS__);                                    \
            return CSCALP_ECONFIG_RANGE;                                        \
        }                                                                       \
    } while (0)
    NEED(c->limits.max_orders_per_min >= c->limits.max_orders_per_s &&
             c->limits.max_orders_per_min <= CSCALP_DESK_MAX_PER_MIN,
         "risk.max_orders_per_min: %u, must be at least risk.max_orders_per_s (%u) and at "
         "most %u",
         c->limits.max_orders_per_min, c->limits.max_orders_per_s, CSCALP_DESK_MAX_PER_MIN);
    NEED(c->limits.max_open_orders >= 1 && c->limits.max_open_orders <= CSCALP_DESK_MAX_WORKING,
         "risk.max_open_orders_count: %u, must be in 1 … %u", c->limits.max_open_orders,
         CSCALP_DESK_MAX_WORKING);
    NEED(isfinite(c->tick_size) && c->tick_size > 0, "policy.tick_size_quote: %g, must be > 0",
         c->tick_size);
    NEED(isfinite(c->lot_size) && c->lot_size > 0, "policy.lot_size_contracts: %g, must be > 0",
         c->lot_size);
    NEED(isfinite(c->initial_equity) && c->initial_equity > 0,
         "risk.initial_equity_quote: %g, must be > 0", c->initial_equity);
    NEED(c->market_protection_bps < c->limits.price_collar_bps,
         "policy.market_protection_bps: %g, must be below risk.price_collar_bps (%g): a "
         "crossing order's protection price must be inside the collar",
         c->market_protection_bps, c->limits.price_collar_bps);
    NEED(c->intent_queue >= 1, "risk.intent_queue_count: must be ≥ 1");
    NEED(c->fill_id_memory >= 1, "risk.fill_id_memory_count: must be ≥ 1");
#undef NEED
    /* The limits themselves are checked by the controls (risk/limits.h)
     * when they are given to them. */
    return CSCALP_OK;
}

int cscalp_desk_create(const cscalp_allocator *mem, const cscalp_desk_config *c,
                       cscalp_desk **out, char *why, size_t cap)
{
    *out = NULL;
    int rc = cscalp_desk_config_check(c, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    cscalp_desk *d = cscalp_mem_calloc(mem, 1, sizeof *d);
    if (d == NULL) {
        snprintf(why, cap, "risk desk: out of memory");
        return CSCALP_ENOMEM;
    }
    d->mem = *mem;
    d->cfg = *c;
    d->autonomy = CSCALP_AUTONOMY_MANUAL;
    d->funding_settled_ns = INT64_MIN;
    for (int k = 0; k < THROTTLE_COUNT; k++)
        d->throttle_ns[k] = INT64_MIN;
    cscalp_ledger_init(&d->ledger);
    const cscalp_order_book_params op = {CSCALP_DESK_MAX_WORKING, c->fill_id_memory};
    /* The rate history is sized for the largest per-minute limit the key
     * allows, so the limit can change at run time. */
    cscalp_risk_limits sized = c->limits;
    sized.max_orders_per_min = CSCALP_DESK_MAX_PER_MIN;
    d->queue = cscalp_mem_calloc(mem, c->intent_queue, sizeof *d->queue);
    if (d->queue == NULL) {
        snprintf(why, cap, "risk desk: out of memory");
        rc = CSCALP_ENOMEM;
    }
    if (rc == CSCALP_OK)
        rc = cscalp_orders_create(mem, &op, &d->orders, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_risk_create(mem, &sized, &d->risk, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_risk_set_limits(d->risk, &c->limits, why, cap);
    if (rc != CSCALP_OK) {
        cscalp_desk_destroy(d);
        return rc;
    }
    *out = d;
    return CSCALP_OK;
}

void cscalp_desk_destroy(cscalp_desk *d)
{
    if (d == NULL)
        return;
    const cscalp_allocator mem = d->mem;
    cscalp_orders_destroy(d->orders);
    cscalp_risk_destroy(d->risk);
    cscalp_mem_free(&mem, d->queue);
    cscalp_mem_free(&mem, d);
}

int cscalp_desk_set_config(cscalp_desk *d, const cscalp_desk_config *c, char *why, size_t cap)
{
    cscalp_desk_config next = *c;
    next.intent_queue = d->cfg.intent_queue;
    next.fill_id_memory = d->cfg.fill_id_memory;
    next.initial_equity = d->cfg.initial_equity;
    int rc = cscalp_desk_config_check(&next, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_risk_set_limits(d->risk, &next.limits, why, cap);
    if (rc == CSCALP_OK)
        d->cfg = next;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Book-keeping                                                             */

static double mid_of(const cscalp_desk *d)
{
    return d->has_touch ? 0.5 * (d->bid + d->ask) : 0.0;
}

/* Mark: the mid, or the entry while there is no quote (no unrealised PnL). */
static double mark_of(const cscalp_desk *d)
{
    return d->has_touch ? mid_of(d) : d->ledger.entry_price;
}

double cscalp_desk_equity(const cscalp_desk *d)
{
    const double mark = mark_of(d);
    return cscalp_ledger_equity(&d->ledger, d->cfg.initial_equity, mark > 0 ? mark : 1.0);
}

double cscalp_desk_position(const cscalp_desk *d) { return cscalp_ledger_position(&d->ledger); }

const cscalp_orders *cscalp_desk_orders(const cscalp_desk *d) { return d->orders; }

int cscalp_desk_killed(const cscalp_desk *d) { return cscalp_risk_killed(d->risk); }

int cscalp_desk_autonomy(const cscalp_desk *d) { return d->autonomy; }

void cscalp_desk_get_position(const cscalp_desk *d, cscalp_position *out)
{
    const cscalp_ledger *l = &d->ledger;
    out->open_orders = cscalp_orders_working(d->orders);
    out->position = l->position;
    out->entry_price = l->entry_price;
    out->mark_price = mid_of(d);
    out->realised_pnl = cscalp_ledger_realised(l);
    out->unrealised_pnl = d->has_touch ? cscalp_ledger_unrealised(l, mid_of(d)) : 0.0;
    out->fees = cscalp_ledger_fees(l);
    out->funding = cscalp_ledger_funding(l);
    out->equity = cscalp_desk_equity(d);
    out->fills = l->fills;
    out->kill_switch = cscalp_desk_killed(d);
    out->autonomy = d->autonomy;
}

/* ------------------------------------------------------------------------ */
/* Intents                                                                  */

static int queue_full(const cscalp_desk *d) { return d->q_count == d->cfg.intent_queue; }

static cscalp_intent *queue_push(cscalp_desk *d)
{
    cscalp_intent *it = &d->queue[(d->q_head + d->q_count) % d->cfg.intent_queue];
    d->q_count++;
    memset(it, 0, sizeof *it);
    it->size = sizeof *it;
    return it;
}

size_t cscalp_desk_poll(cscalp_desk *d, void *out, size_t stride, size_t cap)
{
    size_t n = 0;
    char *p = out;
    const size_t copy = stride < sizeof(cscalp_intent) ? stride : sizeof(cscalp_intent);
    while (n < cap && d->q_count > 0) {
        cscalp_intent it = d->queue[d->q_head];
        it.size = (uint32_t)stride;
        memcpy(p + n * stride, &it, copy);
        d->q_head = (d->q_head + 1) % d->cfg.intent_queue;
        d->q_count--;
        n++;
    }
    d->c.polled += n;
    return n;
}

static void risk_book_of(const cscalp_desk *d, cscalp_risk_book *b)
{
    b->position = d->ledger.position;
    b->open_buy = cscalp_orders_open_size(d->orders, CSCALP_SIDE_BUY);
    b->open_sell = cscalp_orders_open_size(d->orders, CSCALP_SIDE_SELL);
    b->open_orders = cscalp_orders_working(d->orders);
    b->mid = mid_of(d);
    b->equity = cscalp_desk_equity(d);
}

/* The worst price a crossing order accepts: the touch it takes, moved
 * market_protection_bps further, but never past the collar around the mid
 * (the collar is measured from the mid, the protection from the touch: in
 * a wide market the collar is the tighter), rounded towards the touch onto
 * the grid. When the touch itself lies beyond the collar the touch is
 * returned and the collar refuses the order: nothing crosses into a market
 * that far from its mid. */
static double protection_price(const cscalp_desk *d, int side)
{
    const double f = d->cfg.market_protection_bps * 1e-4;
    const double mid = mid_of(d);
    const double collar = d->cfg.limits.price_collar_bps * 1e-4;
    if (side > 0) {
        const double p = cscalp_grid_floor(fmin(d->ask * (1.0 + f), mid * (1.0 + collar)),
                                           d->cfg.tick_size);
        return p < d->ask ? d->ask : p;
    }
    const double p = cscalp_grid_ceil(fmax(d->bid * (1.0 - f), mid * (1.0 - collar)),
                                      d->cfg.tick_size);
    return p > d->bid ? d->bid : p;
}

/* `why` (may be NULL) carries the policy's explanation of a cancel. */
static void queue_cancel(cscalp_desk *d, const cscalp_order *o, int reason,
                         const cscalp_desk_order *why, int64_t now)
{
    cscalp_intent *it = queue_push(d);
    it->kind = CSCALP_INTENT_CANCEL;
    it->client_id = o->id;
    it->ts_ns = now;
    it->side = o->side;
    it->reason = reason;
    it->price = o->price;
    it->quantity = o->size - o->filled;
    it->position = d->ledger.position;
    if (why != NULL) {
        it->regime = why->regime;
        it->expected_move_bps = why->expected_move_bps;
        it->target_position = why->target_position;
    }
    cscalp_orders_cancel(d->orders, o->id);
    d->c.intents_cancel++;
}

/* A NEW order past the controls: record it and queue the intent. */
static int send_new(cscalp_desk *d, const cscalp_desk_order *o, double price, int64_t now,
                    uint32_t flags)
{
    uint64_t id = 0;
    const double table_price = o->type == CSCALP_ORDER_MARKET ? 0.0 : price;
    if (cscalp_orders_add(d->orders, o->side, table_price, o->quantity, o->reduce_only, now,
                          &id) != CSCALP_OK)
        return 0; /* the open-orders control keeps the table from filling */
    cscalp_risk_on_sent(d->risk, now);
    cscalp_intent *it = queue_push(d);
    it->kind = CSCALP_INTENT_NEW;
    it->client_id = id;
    it->ts_ns = now;
    it->side = o->side;
    it->type = o->type;
    it->time_in_force = o->type == CSCALP_ORDER_MARKET ? CSCALP_TIF_IOC : CSCALP_TIF_GTX;
    it->reason = o->reason;
    it->price = price;
    it->quantity = o->quantity;
    it->flags = flags | (o->reduce_only ? CSCALP_INTENT_REDUCE_ONLY : 0u);
    it->regime = o->regime;
    it->expected_move_bps = o->expected_move_bps;
    it->edge_bps = o->edge_bps;
    it->target_position = o->target_position;
    it->position = d->ledger.position;
    d->c.intents_new++;
    return 1;
}

static void queue_full_event(cscalp_desk *d, int64_t now)
{
    d->c.held_queue_full++;
    uint64_t more = 0;
    if (throttle_pass(d, THROTTLE_QUEUE_FULL, now, &more))
        emit(d, now, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_INTENTS_DROPPED, CSCALP_EBUFFER,
             CSCALP_ACTION_DROPPED,
             "intent queue full (%u intents not polled): the policy waits; %llu more "
             "since the last report",
             d->cfg.intent_queue, (unsigned long long)more);
}

/* Run an order through the controls; 1 and queued when it passes. */
static int check_and_send(cscalp_desk *d, const cscalp_desk_order *o, int64_t now,
                          uint32_t flags)
{
    if (queue_full(d)) {
        queue_full_event(d, now);
        return 0;
    }
    const double price = o->type == CSCALP_ORDER_MARKET
                             ? (d->has_touch ? protection_price(d, o->side) : 0.0)
                             : o->price;
    cscalp_risk_book book;
    risk_book_of(d, &book);
    const cscalp_risk_order ro = {o->side, price, o->quantity, o->reduce_only};
    char why[200];
    const int rule = cscalp_risk_check(d->risk, &ro, &book, now, why, sizeof why);
    if (rule != CSCALP_RISK_PASSED) {
        d->c.refused++;
        uint64_t more = 0;
        /* A refused flatten leaves a tripped engine holding risk: ERROR. */
        if (throttle_pass(d, rule, now, &more))
            emit(d, now,
                 o->reason == CSCALP_INTENT_KILL_SWITCH ? CSCALP_SEVERITY_ERROR
                                                        : CSCALP_SEVERITY_WARNING,
                 CSCALP_EVENT_INTENT_REFUSED, CSCALP_ERISK,
                 CSCALP_ACTION_REJECTED,
                 "%s %g @ %g (reason %d) refused by risk rule %s: %s; %llu more by this "
                 "rule since the last report",
                 o->side > 0 ? "buy" : "sell", o->quantity, price, o->reason,
                 cscalp_risk_rule_name(rule), why, (unsigned long long)more);
        return 0;
    }
    return send_new(d, o, price, now, flags);
}

int cscalp_desk_submit(cscalp_desk *d, const cscalp_desk_order *o, int64_t now)
{
    if (o->kind == CSCALP_INTENT_CANCEL) {
        const cscalp_order *w = cscalp_orders_find(d->orders, o->cancel_id);
        if (w == NULL || w->state == CSCALP_ORDER_PENDING_CANCEL)
            return 0;
        if (queue_full(d)) {
            queue_full_event(d, now);
            return 0;
        }
        queue_cancel(d, w, o->reason, o, now);
        return 1;
    }
    if (d->autonomy == CSCALP_AUTONOMY_MANUAL)
        return 0;
    uint32_t flags = 0;
    if (d->autonomy == CSCALP_AUTONOMY_ASSISTED && !o->reduce_only) {
        flags |= CSCALP_INTENT_NEEDS_CONFIRMATION;
    }
    const int sent = check_and_send(d, o, now, flags);
    if (sent && flags != 0) {
        d->c.needs_confirmation++;
        cscalp_orders_mark_needs_confirmation(d->orders, cscalp_orders_next_id(d->orders) - 1);
    }
    return sent;
}

/* Intents the host has not polled yet that add exposure are taken back
 * (their orders closed here: the host never saw them) rather than followed
 * by a cancel: a host must never be handed an entry after a trip. */
static void withdraw_unsent(cscalp_desk *d)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < d->q_count; i++) {
        cscalp_intent *it = &d->queue[(d->q_head + i) % d->cfg.intent_queue];
        if (it->kind == CSCALP_INTENT_NEW && !(it->flags & CSCALP_INTENT_REDUCE_ONLY) &&
            cscalp_orders_withdraw(d->orders, it->client_id) == CSCALP_OK) {
            d->c.withdrawn++;
            continue;
        }
        d->queue[(d->q_head + kept) % d->cfg.intent_queue] = *it;
        kept++;
    }
    d->q_count = kept;
}

/* Cancel every working order not already being cancelled. */
static void cancel_all(cscalp_desk *d, int reason, int64_t now)
{
    withdraw_unsent(d);
    for (uint32_t i = 0; i < cscalp_orders_working(d->orders); i++) {
        const cscalp_order *o = cscalp_orders_at(d->orders, i);
        if (o->state == CSCALP_ORDER_PENDING_CANCEL ||
            (reason == CSCALP_INTENT_KILL_SWITCH && o->id == d->flatten_id))
            continue;
        if (queue_full(d)) {
            queue_full_event(d, now); /* the next step tries again */
            break;
        }
        queue_cancel(d, o, reason, NULL, now); /* stays working: index moves on */
    }
}

void cscalp_desk_halt_step(cscalp_desk *d, int64_t now)
{
    if (!cscalp_desk_killed(d))
        return;
    cancel_all(d, CSCALP_INTENT_KILL_SWITCH, now);
    const double pos = d->ledger.position;
    if (pos == 0.0 || !d->has_touch)
        return;
    const int side = pos > 0 ? CSCALP_SIDE_SELL : CSCALP_SIDE_BUY;
    /* One flatten at a time: while one works, wait for its fate. */
    for (uint32_t i = 0; i < cscalp_orders_working(d->orders); i++)
        if (cscalp_orders_at(d->orders, i)->side == side)
            return;
    const double price = protection_price(d, side);
    double qty = fabs(pos);
    const double cap_qty = fmin(d->cfg.limits.max_order_contracts,
                                d->cfg.limits.max_order_notional / price);
    if (qty > cap_qty)
        qty = cscalp_grid_floor(cap_qty, d->cfg.lot_size);
    if (!(qty > 0.0))
        return;
    const cscalp_desk_order o = {.kind = CSCALP_INTENT_NEW,
                                 .side = side,
                                 .type = CSCALP_ORDER_MARKET,
                                 .quantity = qty,
                                 .reduce_only = 1,
                                 .reason = CSCALP_INTENT_KILL_SWITCH};
    if (check_and_send(d, &o, now, 0))
        d->flatten_id = cscalp_orders_next_id(d->orders) - 1;
}

/* Who changed the autonomy, which sets the event's severity and action. */
enum { BY_HOST = 0, BY_ENGINE_LOWERING = 1, BY_ENGINE_RESTORING = 2 };

static void set_autonomy(cscalp_desk *d, int level, int64_t now, int by, const char *why)
{
    if (level == d->autonomy)
        return;
    static const char *const names[] = {"MANUAL", "ASSISTED", "AUTONOMOUS", "EVOLVING"};
    static const int severity[] = {CSCALP_SEVERITY_INFO, CSCALP_SEVERITY_WARNING,
                                   CSCALP_SEVERITY_INFO};
    static const int action[] = {CSCALP_ACTION_APPLIED, CSCALP_ACTION_DEGRADED,
                                 CSCALP_ACTION_RESUMED};
    const int from = d->autonomy;
    d->autonomy = level;
    d->c.autonomy_changes++;
    emit(d, now, severity[by], CSCALP_EVENT_AUTONOMY_CHANGED, CSCALP_OK, action[by],
         "autonomy %s -> %s (%s)", names[from], names[level], why);
    if (level == CSCALP_AUTONOMY_MANUAL && by == BY_HOST)
        cancel_all(d, CSCALP_INTENT_AUTONOMY, now);
}

void cscalp_desk_cancel_all(cscalp_desk *d, int reason, int64_t now) { cancel_all(d, reason, now); }

int cscalp_desk_supervise_autonomy(cscalp_desk *d, int level, int64_t now, const char *why)
{
    if (level != CSCALP_AUTONOMY_MANUAL && level != d->autonomy && cscalp_desk_killed(d))
        return 0;
    const int lowering = level < d->autonomy;
    set_autonomy(d, level, now, lowering ? BY_ENGINE_LOWERING : BY_ENGINE_RESTORING, why);
    if (lowering && level == CSCALP_AUTONOMY_MANUAL)
        cancel_all(d, CSCALP_INTENT_AUTONOMY, now);
    return 1;
}

int cscalp_desk_set_autonomy(cscalp_desk *d, int level, int64_t now, char *why, size_t cap)
{
    if (level < CSCALP_AUTONOMY_MANUAL || level > CSCALP_AUTONOMY_EVOLVING) {
        snprintf(why, cap, "level: %d is not a cscalp_autonomy value (0 … 3)", level);
        return CSCALP_EINVAL;
    }
    if (level != CSCALP_AUTONOMY_MANUAL && cscalp_desk_killed(d)) {
        snprintf(why, cap,
                 "level: the kill switch is tripped; re-arm it first with "
                 "{\"risk\":{\"kill_switch\":\"armed\"}}");
        return CSCALP_EKILLED;
    }
    set_autonomy(d, level, now, BY_HOST, "set by the host");
    return CSCALP_OK;
}

/* The kill switch's actions, once per trip. */
static void halt(cscalp_desk *d, int64_t now, const char *why)
{
    if (d->halted)
        return;
    d->halted = 1;
    d->c.kills++;
    emit(d, now, CSCALP_SEVERITY_CRITICAL, CSCALP_EVENT_KILL_SWITCH, CSCALP_OK,
         CSCALP_ACTION_HALTED,
         "kill switch tripped (%s): equity %.2f, position %g; cancelling %u working orders, "
         "flattening reduce-only, autonomy MANUAL until re-armed",
         why, cscalp_desk_equity(d), d->ledger.position, cscalp_orders_working(d->orders));
    set_autonomy(d, CSCALP_AUTONOMY_MANUAL, now, BY_ENGINE_LOWERING, "kill switch");
    cscalp_desk_halt_step(d, now);
}

void cscalp_desk_kill(cscalp_desk *d, int64_t now, const char *why)
{
    cscalp_risk_kill(d->risk);
    halt(d, now, why);
}

void cscalp_desk_rearm(cscalp_desk *d, int64_t now)
{
    if (!cscalp_desk_killed(d) && !d->halted)
        return;
    cscalp_risk_rearm(d->risk, cscalp_desk_equity(d), now);
    d->halted = 0;
    d->c.rearms++;
    emit(d, now, CSCALP_SEVERITY_INFO, CSCALP_EVENT_KILL_SWITCH, CSCALP_OK, CSCALP_ACTION_APPLIED,
         "kill switch re-armed at equity %.2f; autonomy stays MANUAL until the host raises it",
         cscalp_desk_equity(d));
}

static void mark_equity(cscalp_desk *d, int64_t now)
{
    d->flat_marked = d->ledger.position == 0.0;
    const double equity = cscalp_desk_equity(d);
    if (!isfinite(equity))
        return;
    if (cscalp_risk_on_equity(d->risk, equity, now))
        halt(d, now, "drawdown limit passed");
}

void cscalp_desk_mark(cscalp_desk *d, double bid, double ask, int64_t now)
{
    d->has_touch = 1;
    d->bid = bid;
    d->ask = ask;
    /* Flat, the mid does not move the equity: only fills, funding and
     * resyncs do, and they mark it themselves. So a flat engine marks once
     * (the drawdown peaks need that mark) and its push path is then a few
     * stores. A UTC day that turns while flat is seen at the next mark,
     * whose equity is the same. */
    if (d->ledger.position != 0.0 || !d->flat_marked)
        mark_equity(d, now);
}

void cscalp_desk_on_funding(cscalp_desk *d, double rate, double mark_price,
                            int64_t next_funding_ns)
{
    d->funding_rate = rate;
    d->funding_mark = mark_price;
    if (next_funding_ns > 0 && next_funding_ns > d->funding_settled_ns) {
        d->funding_ns = next_funding_ns;
        d->funding_pending = 1;
    }
}

void cscalp_desk_settle_funding(cscalp_desk *d, int64_t now)
{
    if (!d->funding_pending || now < d->funding_ns)
        return;
    d->funding_pending = 0;
    d->funding_settled_ns = d->funding_ns;
    double payment = 0.0;
    if (cscalp_ledger_apply_funding(&d->ledger, d->funding_rate, d->funding_mark, &payment) !=
        CSCALP_OK)
        return; /* the feed admits only finite rates and positive marks */
    d->c.fundings++;
    d->trip_pnl -= payment;
    emit(d, now, CSCALP_SEVERITY_INFO, CSCALP_EVENT_FUNDING_SETTLED, CSCALP_OK,
         CSCALP_ACTION_APPLIED, "funding at %lld: rate %g, mark %g, position %g: %s %.6f",
         (long long)d->funding_settled_ns, d->funding_rate, d->funding_mark, d->ledger.position,
         payment >= 0 ? "paid" : "received", fabs(payment));
    mark_equity(d, now);
}

/* ------------------------------------------------------------------------ */
/* Host updates                                                             */

static int update_error(cscalp_desk *d, int64_t now, int code, char *why, size_t cap,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    d->c.update_errors++;
    emit(d, now, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_ORDER_UPDATE_REFUSED, code,
         CSCALP_ACTION_REJECTED, "%s", why);
    return code;
}

static const int refusal_codes[CSCALP_ORDER_REFUSAL_COUNT] = {
    CSCALP_OK, CSCALP_EORDER_UNKNOWN, CSCALP_EORDER_CLOSED, CSCALP_EOVERFILL,
    CSCALP_ETRANSITION, CSCALP_EINVAL};

/* A fill was booked: round trips, the loss streak, the drawdown marks. */
static void after_fill(cscalp_desk *d, double before, const cscalp_ledger_fill *f, double fee,
                       int64_t now)
{
    const double after = d->ledger.position;
    if (before == 0.0)
        d->trip_pnl = 0.0;
    d->trip_pnl += f->realised - fee;
    const int closed = before != 0.0 && (after == 0.0 || (after > 0) != (before > 0));
    if (closed) {
        d->c.round_trips++;
        d->c.losing_trips += d->trip_pnl < 0.0;
        if (cscalp_risk_on_round_trip(d->risk, d->trip_pnl, now))
            emit(d, now, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_LOSS_COOLDOWN, CSCALP_OK,
                 CSCALP_ACTION_APPLIED,
                 "%u losing round trips in a row (last %.2f): entries refused for %lld ms",
                 d->cfg.limits.loss_streak, d->trip_pnl,
                 (long long)(d->cfg.limits.loss_cooldown_ns / 1000000));
        d->trip_pnl = 0.0;
    }
    mark_equity(d, now);
}

int cscalp_desk_on_update(cscalp_desk *d, const cscalp_order_update *u, int64_t now, char *why,
                          size_t cap)
{
    static const int events[] = {-1, CSCALP_ORDER_EV_ACK, CSCALP_ORDER_EV_REJECT,
                                 CSCALP_ORDER_EV_FILL, CSCALP_ORDER_EV_CANCELLED,
                                 CSCALP_ORDER_EV_EXPIRED};
    if (u->type < CSCALP_UPDATE_ACK || u->type > CSCALP_UPDATE_EXPIRED)
        return update_error(d, now, CSCALP_EINVAL, why, cap,
                            "update.type: %d is not a cscalp_update_type (1 … 5)", u->type);
    const uint64_t id = u->client_id;
    cscalp_ledger next = d->ledger;
    cscalp_ledger_fill fill = {0, 0, 0};
    const cscalp_order *o = cscalp_orders_find(d->orders, id);
    if (u->type == CSCALP_UPDATE_FILL) {
        if (u->fill_id == 0)
            return update_error(d, now, CSCALP_EINVAL, why, cap,
                                "update.fill_id: 0 for a fill of order %llu (the venue's "
                                "trade id is needed to recognise a resent fill)",
                                (unsigned long long)id);
        if (!isfinite(u->fill_price) || !isfinite(u->fill_quantity) || !isfinite(u->fee))
            return update_error(d, now, CSCALP_ENONFINITE, why, cap,
                                "update: fill of order %llu has a non-finite %s",
                                (unsigned long long)id,
                                !isfinite(u->fill_price)      ? "fill_price"
                                : !isfinite(u->fill_quantity) ? "fill_quantity"
                                                              : "fee");
        if (u->fill_price <= 0.0)
            return update_error(d, now, CSCALP_EPRICE, why, cap,
                                "update.fill_price: %g is not positive (order %llu)",
                                u->fill_price, (unsigned long long)id);
        if (u->fill_quantity <= 0.0)
            return update_error(d, now, CSCALP_ESIZE, why, cap,
                                "update.fill_quantity: %g is not positive (order %llu)",
                                u->fill_quantity, (unsigned long long)id);
        /* Book it on a copy first: if the ledger cannot take it (an
         * overflow), the order table must not move either. */
        if (o != NULL) {
            const int rc = cscalp_ledger_apply_fill(&next, o->side, u->fill_price,
                                                    u->fill_quantity, u->fee, &fill);
            if (rc != CSCALP_OK)
                return update_error(d, now, rc, why, cap,
                                    "update: fill of order %llu (%g @ %g, fee %g) would "
                                    "overflow the position or PnL",
                                    (unsigned long long)id, u->fill_quantity, u->fill_price,
                                    u->fee);
        }
    }
    const int side = o != NULL ? o->side : 0;
    /* A REJECTED for an acknowledged order with a cancel pending is the
     * cancel's refusal: the order works on. */
    const int cancel_refused = u->type == CSCALP_UPDATE_REJECTED && o != NULL &&
                               o->state == CSCALP_ORDER_PENDING_CANCEL && o->acked;
    cscalp_order_refusal reason = CSCALP_ORDER_OK;
    char inner[200] = "";
    const cscalp_order_outcome out =
        cscalp_orders_update(d->orders, id, events[u->type], u->fill_quantity, u->fill_id,
                             &reason, inner, sizeof inner);
    if (out == CSCALP_ORDER_REFUSED) {
        const int code = reason > 0 && reason < CSCALP_ORDER_REFUSAL_COUNT ? refusal_codes[reason]
                                                                            : CSCALP_EINVAL;
        return update_error(d, now, code, why, cap, "update of order %llu refused: %s%s",
                            (unsigned long long)id, inner,
                            reason == CSCALP_ORDER_CLOSED_ID && u->type == CSCALP_UPDATE_FILL
                                ? " (the fill is not booked: resync with cscalp_set_position)"
                                : "");
    }
    if (out == CSCALP_ORDER_DUPLICATE) {
        d->c.duplicates++;
        return CSCALP_OK;
    }
    if (u->type == CSCALP_UPDATE_FILL) {
        const double before = d->ledger.position;
        d->ledger = next;
        after_fill(d, before, &fill, u->fee, now);
    } else if (u->type == CSCALP_UPDATE_REJECTED) {
        if (cancel_refused)
            d->c.cancel_rejects++;
        else
            d->c.venue_rejects++;
        emit(d, now, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_ORDER_REJECTED, CSCALP_OK,
             CSCALP_ACTION_NONE, "%s %llu (%s) rejected: %.160s",
             cancel_refused ? "cancel of order" : "order", (unsigned long long)id,
             side > 0 ? "buy" : "sell", u->text != NULL ? u->text : "(no text)");
    }
    return CSCALP_OK;
}

int cscalp_desk_set_position(cscalp_desk *d, double position, double entry_price, int64_t now,
                             char *why, size_t cap)
{
    cscalp_ledger next = d->ledger;
    double diff = 0.0;
    const int rc = cscalp_ledger_set_position(&next, position, entry_price, &diff);
    if (rc != CSCALP_OK) {
        snprintf(why, cap, "%s: %g (entry %g) %s",
                 rc == CSCALP_EPRICE ? "entry_price" : "position", position, entry_price,
                 rc == CSCALP_EPRICE ? "must be > 0 with a position" : "is not finite");
        return rc; /* the engine reports it as a refused call */
    }
    const double old_pos = d->ledger.position, old_entry = d->ledger.entry_price;
    d->ledger = next;
    d->c.resyncs++;
    /* A resync ends the round trip the engine was following: its PnL is
     * the venue's to know. */
    d->trip_pnl = 0.0;
    const int same = diff == 0.0 && (position == 0.0 || entry_price == old_entry);
    emit(d, now, same ? CSCALP_SEVERITY_INFO : CSCALP_SEVERITY_WARNING,
         CSCALP_EVENT_POSITION_RESYNC, CSCALP_OK, CSCALP_ACTION_APPLIED,
         "position resync: %g @ %g -> %g @ %g (difference %g contracts)", old_pos, old_entry,
         next.position, next.entry_price, diff);
    mark_equity(d, now);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Stats and checkpoints                                                    */

void cscalp_desk_write_stats(const cscalp_desk *d, cscalp_json_writer *w)
{
    static const char *const autonomy_names[] = {"manual", "assisted", "autonomous",
                                                 "evolving"};
    cscalp_position p;
    cscalp_desk_get_position(d, &p);
    cscalp_jw_begin_object(w, "position");
    cscalp_jw_double(w, "contracts", p.position);
    cscalp_jw_double(w, "entry_price", p.entry_price);
    cscalp_jw_double(w, "mark_price", p.mark_price);
    cscalp_jw_double(w, "realised_pnl", p.realised_pnl);
    cscalp_jw_double(w, "unrealised_pnl", p.unrealised_pnl);
    cscalp_jw_double(w, "fees", p.fees);
    cscalp_jw_double(w, "funding", p.funding);
    cscalp_jw_double(w, "equity", p.equity);
    cscalp_jw_double(w, "turnover", cscalp_ledger_turnover(&d->ledger));
    cscalp_jw_uint(w, "fills", d->ledger.fills);
    cscalp_jw_uint(w, "flips", d->ledger.flips);
    cscalp_jw_uint(w, "fundings", d->c.fundings);
    cscalp_jw_uint(w, "resyncs", d->c.resyncs);
    cscalp_jw_uint(w, "round_trips", d->c.round_trips);
    cscalp_jw_uint(w, "losing_round_trips", d->c.losing_trips);
    cscalp_jw_end_object(w);

    cscalp_orders_counters oc;
    cscalp_orders_get_counters(d->orders, &oc);
    cscalp_jw_begin_object(w, "orders");
    cscalp_jw_uint(w, "working", cscalp_orders_working(d->orders));
    cscalp_jw_uint(w, "next_client_id", cscalp_orders_next_id(d->orders));
    cscalp_jw_uint(w, "filled", oc.filled);
    cscalp_jw_uint(w, "cancelled", oc.cancelled);
    cscalp_jw_uint(w, "rejected", oc.rejected);
    cscalp_jw_uint(w, "expired", oc.expired);
    cscalp_jw_uint(w, "updates_applied", oc.applied);
    cscalp_jw_uint(w, "duplicate_fills", d->c.duplicates);
    cscalp_jw_uint(w, "updates_refused", d->c.update_errors);
    cscalp_jw_begin_object(w, "refused_by");
    static const char *const refusal_names[CSCALP_ORDER_REFUSAL_COUNT] = {
        "ok", "unknown_id", "closed_id", "overfill", "transition", "bad_fill"};
    for (int k = 1; k < CSCALP_ORDER_REFUSAL_COUNT; k++)
        cscalp_jw_uint(w, refusal_names[k], oc.refused_by[k]);
    cscalp_jw_end_object(w);
    cscalp_jw_end_object(w);

    cscalp_risk_counters rc;
    cscalp_risk_get_counters(d->risk, &rc);
    cscalp_jw_begin_object(w, "risk");
    cscalp_jw_bool(w, "kill_switch", cscalp_desk_killed(d));
    cscalp_jw_string(w, "autonomy", autonomy_names[d->autonomy]);
    cscalp_jw_uint(w, "checked", rc.checked);
    cscalp_jw_uint(w, "passed", rc.passed);
    cscalp_jw_begin_object(w, "refused_by");
    for (int k = 1; k < CSCALP_RISK_RULE_COUNT; k++)
        cscalp_jw_uint(w, cscalp_risk_rule_name(k), rc.refused_by[k]);
    cscalp_jw_end_object(w);
    cscalp_jw_uint(w, "kills", d->c.kills);
    cscalp_jw_uint(w, "rearms", d->c.rearms);
    cscalp_jw_uint(w, "cooldowns", rc.cooldowns);
    cscalp_jw_uint(w, "autonomy_changes", d->c.autonomy_changes);
    cscalp_jw_end_object(w);

    cscalp_jw_begin_object(w, "intents");
    cscalp_jw_uint(w, "new", d->c.intents_new);
    cscalp_jw_uint(w, "cancel", d->c.intents_cancel);
    cscalp_jw_uint(w, "polled", d->c.polled);
    cscalp_jw_uint(w, "queued", d->q_count);
    cscalp_jw_uint(w, "needs_confirmation", d->c.needs_confirmation);
    cscalp_jw_uint(w, "refused", d->c.refused);
    cscalp_jw_uint(w, "held_queue_full", d->c.held_queue_full);
    cscalp_jw_uint(w, "venue_rejects", d->c.venue_rejects);
    cscalp_jw_uint(w, "cancel_rejects", d->c.cancel_rejects);
    cscalp_jw_uint(w, "withdrawn", d->c.withdrawn);
    cscalp_jw_uint(w, "events_dropped", d->c.events_dropped);
    cscalp_jw_end_object(w);
}

static void save_intent(const cscalp_intent *it, cscalp_wbuf *w)
{
    cscalp_put_u32(w, (uint32_t)it->kind);
    cscalp_put_u64(w, it->client_id);
    cscalp_put_i64(w, it->ts_ns);
    cscalp_put_u32(w, (uint32_t)it->side);
    cscalp_put_u32(w, (uint32_t)it->type);
    cscalp_put_u32(w, (uint32_t)it->time_in_force);
    cscalp_put_u32(w, (uint32_t)it->reason);
    cscalp_put_f64(w, it->price);
    cscalp_put_f64(w, it->quantity);
    cscalp_put_u32(w, it->flags);
    cscalp_put_u32(w, (uint32_t)it->regime);
    cscalp_put_f64(w, it->expected_move_bps);
    cscalp_put_f64(w, it->edge_bps);
    cscalp_put_f64(w, it->target_position);
    cscalp_put_f64(w, it->position);
}

static void load_intent(cscalp_intent *it, cscalp_rbuf *r)
{
    memset(it, 0, sizeof *it);
    it->size = sizeof *it;
    it->kind = (int32_t)cscalp_get_u32(r);
    it->client_id = cscalp_get_u64(r);
    it->ts_ns = cscalp_get_i64(r);
    it->side = (int32_t)cscalp_get_u32(r);
    it->type = (int32_t)cscalp_get_u32(r);
    it->time_in_force = (int32_t)cscalp_get_u32(r);
    it->reason = (int32_t)cscalp_get_u32(r);
    it->price = cscalp_get_f64(r);
    it->quantity = cscalp_get_f64(r);
    it->flags = cscalp_get_u32(r);
    it->regime = (int32_t)cscalp_get_u32(r);
    it->expected_move_bps = cscalp_get_f64(r);
    it->edge_bps = cscalp_get_f64(r);
    it->target_position = cscalp_get_f64(r);
    it->position = cscalp_get_f64(r);
}

#define COUNTER_WORDS (sizeof(desk_counters) / sizeof(uint64_t))
_Static_assert(sizeof(desk_counters) % sizeof(uint64_t) == 0, "counters are u64 words");

void cscalp_desk_save(const cscalp_desk *d, cscalp_wbuf *w)
{
    cscalp_orders_save(d->orders, w);
    cscalp_ledger_save(&d->ledger, w);
    cscalp_risk_save(d->risk, w);
    cscalp_put_u32(w, (uint32_t)d->autonomy);
    cscalp_put_u32(w, (uint32_t)d->halted);
    cscalp_put_u64(w, d->flatten_id);
    cscalp_put_u32(w, (uint32_t)d->has_touch);
    cscalp_put_u32(w, (uint32_t)d->flat_marked);
    cscalp_put_f64(w, d->bid);
    cscalp_put_f64(w, d->ask);
    cscalp_put_f64(w, d->trip_pnl);
    cscalp_put_u32(w, (uint32_t)d->funding_pending);
    cscalp_put_f64(w, d->funding_rate);
    cscalp_put_f64(w, d->funding_mark);
    cscalp_put_i64(w, d->funding_ns);
    cscalp_put_i64(w, d->funding_settled_ns);
    for (int k = 0; k < THROTTLE_COUNT; k++) {
        cscalp_put_i64(w, d->throttle_ns[k]);
        cscalp_put_u64(w, d->throttled[k]);
    }
    uint64_t words[COUNTER_WORDS];
    memcpy(words, &d->c, sizeof words);
    for (size_t i = 0; i < COUNTER_WORDS; i++)
        cscalp_put_u64(w, words[i]);
    cscalp_put_u32(w, d->q_count);
    for (uint32_t i = 0; i < d->q_count; i++)
        save_intent(&d->queue[(d->q_head + i) % d->cfg.intent_queue], w);
}

int cscalp_desk_load(cscalp_desk *d, cscalp_rbuf *r, char *why, size_t cap)
{
    int rc = cscalp_orders_load(d->orders, r, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_ledger_load(&d->ledger, r, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_risk_load(d->risk, r, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    const uint32_t autonomy = cscalp_get_u32(r);
    const uint32_t halted = cscalp_get_u32(r);
    d->flatten_id = cscalp_get_u64(r);
    const uint32_t has_touch = cscalp_get_u32(r);
    const uint32_t flat_marked = cscalp_get_u32(r);
    d->bid = cscalp_get_f64(r);
    d->ask = cscalp_get_f64(r);
    d->trip_pnl = cscalp_get_f64(r);
    const uint32_t funding_pending = cscalp_get_u32(r);
    d->funding_rate = cscalp_get_f64(r);
    d->funding_mark = cscalp_get_f64(r);
    d->funding_ns = cscalp_get_i64(r);
    d->funding_settled_ns = cscalp_get_i64(r);
    for (int k = 0; k < THROTTLE_COUNT; k++) {
        d->throttle_ns[k] = cscalp_get_i64(r);
        d->throttled[k] = cscalp_get_u64(r);
    }
    uint64_t words[COUNTER_WORDS];
    for (size_t i = 0; i < COUNTER_WORDS; i++)
        words[i] = cscalp_get_u64(r);
    memcpy(&d->c, words, sizeof words);
    const uint32_t queued = cscalp_get_u32(r);
    if (r->failed) {
        snprintf(why, cap, "desk: truncated");
        return CSCALP_ECORRUPT;
    }
    if (autonomy > CSCALP_AUTONOMY_EVOLVING || halted > 1 || has_touch > 1 || flat_marked > 1 ||
        funding_pending > 1 || queued > d->cfg.intent_queue ||
        d->flatten_id >= cscalp_orders_next_id(d->orders) || !isfinite(d->trip_pnl) ||
        !isfinite(d->funding_rate) || !isfinite(d->funding_mark) ||
        (has_touch && !(d->bid > 0 && d->ask > d->bid && isfinite(d->ask)))) {
        snprintf(why, cap, "desk: a field is out of range (autonomy %u, halted %u, queued %u)",
                 autonomy, halted, queued);
        return CSCALP_ECORRUPT;
    }
    if (autonomy != CSCALP_AUTONOMY_MANUAL && cscalp_risk_killed(d->risk)) {
        snprintf(why, cap, "desk: autonomy above MANUAL with the kill switch tripped");
        return CSCALP_ECORRUPT;
    }
    /* The kill switch's actions run exactly while it is tripped: a halted
     * flag out of step would skip the next trip's actions. */
    if ((int)halted != cscalp_risk_killed(d->risk)) {
        snprintf(why, cap, "desk: halted flag %u with the kill switch %s", halted,
                 cscalp_risk_killed(d->risk) ? "tripped" : "armed");
        return CSCALP_ECORRUPT;
    }
    if (funding_pending && d->funding_ns <= d->funding_settled_ns) {
        snprintf(why, cap, "desk: pending funding at %lld, not after the last settled %lld",
                 (long long)d->funding_ns, (long long)d->funding_settled_ns);
        return CSCALP_ECORRUPT;
    }
    d->autonomy = (int)autonomy;
    d->halted = (int)halted;
    d->has_touch = (int)has_touch;
    d->flat_marked = (int)flat_marked;
    d->funding_pending = (int)funding_pending;
    d->q_head = 0;
    d->q_count = 0;
    const uint64_t next_id = cscalp_orders_next_id(d->orders);
    for (uint32_t i = 0; i < queued; i++) {
        cscalp_intent *it = &d->queue[i];
        load_intent(it, r);
        if (r->failed)
            break;
        if ((it->kind != CSCALP_INTENT_NEW && it->kind != CSCALP_INTENT_CANCEL) ||
            it->client_id == 0 || it->client_id >= next_id ||
            (it->side != CSCALP_SIDE_BUY && it->side != CSCALP_SIDE_SELL) ||
            it->type < CSCALP_ORDER_LIMIT || it->type > CSCALP_ORDER_MARKET ||
            it->time_in_force < CSCALP_TIF_GTC || it->time_in_force > CSCALP_TIF_GTX ||
            it->reason < CSCALP_INTENT_ENTRY || it->reason > CSCALP_INTENT_AUTONOMY ||
            (it->flags & ~(CSCALP_INTENT_REDUCE_ONLY | CSCALP_INTENT_NEEDS_CONFIRMATION)) != 0 ||
            !isfinite(it->price) || !isfinite(it->quantity) || it->quantity < 0 ||
            !isfinite(it->expected_move_bps) || !isfinite(it->edge_bps) ||
            !isfinite(it->target_position) || !isfinite(it->position)) {
            snprintf(why, cap, "desk: queued intent %u is not one the engine could make", i);
            return CSCALP_ECORRUPT;
        }
        d->q_count++;
    }
    if (r->failed) {
        snprintf(why, cap, "desk: truncated in the intent queue");
        return CSCALP_ECORRUPT;
    }
    return CSCALP_OK;
}
