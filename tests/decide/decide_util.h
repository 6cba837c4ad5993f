/* Helpers of the decision suites (tests/decide): an independent host that
 * follows the engine through the public API only.
 *
 * - tu_ledger: positions and PnL recomputed from the fills the host
 *   reported and the engine accepted (average cost, docs/risk.md
 *   "Positions and PnL"), so the engine's cscalp_get_position can be
 *   compared with something it did not compute itself.
 * - du_host: the host's order table. It predicts the return code of every
 *   cscalp_on_order call from the transition table of docs/risk.md
 *   ("Orders"), so refusals, duplicates and state changes are checked, not
 *   just observed.
 * - du_ctx: one engine, its synthetic market and the host. After every call
 *   that may queue intents it polls them all and checks each NEW intent
 *   against every configured limit, as the host saw the world when the
 *   intent was decided (the last quote it pushed, its own position and
 *   working orders); then it compares the engine's position, open orders,
 *   kill switch and autonomy with its own record. A broken rule is counted
 *   per category with the first example kept, so one run reports every kind
 *   of violation it found, not just the first.
 *
 * Header-only (static functions): each suite is one translation unit. */
#ifndef CSCALP_TESTS_DECIDE_UTIL_H
#define CSCALP_TESTS_DECIDE_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/test_ledger.h"
#include "../common/test_util.h"
#include "cryptoscalp_sim.h"

/* ck_assert for the hot loops: Check logs the location of every ck_assert
 * (a write per call in fork mode); this costs a branch until it fails. */
#define DU_CHECK(cond)                                                         \
    do {                                                                       \
        if (!(cond))                                                           \
            ck_abort_msg("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
    } while (0)

#define DU_NS_PER_MS 1000000LL
#define DU_NS_PER_S 1000000000LL

/* ------------------------------------------------------------------------ */
/* Health events                                                             */

#define DU_EVENT_SLOTS 32

typedef struct du_health {
    uint64_t count[DU_EVENT_SLOTS];
    int32_t severity[DU_EVENT_SLOTS]; /* of the latest event of each code */
    int32_t component[DU_EVENT_SLOTS];
    int32_t error[DU_EVENT_SLOTS];
    int32_t action[DU_EVENT_SLOTS];
    int64_t ts[DU_EVENT_SLOTS];
    char message[DU_EVENT_SLOTS][256];
    uint64_t kill_trips;   /* KILL_SWITCH events with severity CRITICAL */
    uint64_t kill_rearms;  /* KILL_SWITCH events below CRITICAL */
    /* Called after the event is recorded (the property test books funding
     * here: the payment depends on the position at that moment). */
    void (*hook)(const cscalp_health_event *ev, void *user);
    void *hook_user;
} du_health;

static inline void du_health_cb(const cscalp_health_event *ev, void *user)
{
    du_health *h = user;
    const int code = ev->event;
    if (code >= 0 && code < DU_EVENT_SLOTS) {
        h->count[code]++;
        h->severity[code] = ev->severity;
        h->component[code] = ev->component;
        h->error[code] = ev->error;
        h->action[code] = ev->action;
        h->ts[code] = ev->ts_ns;
        snprintf(h->message[code], sizeof h->message[code], "%s",
                 ev->message != NULL ? ev->message : "(null)");
    }
    if (code == CSCALP_EVENT_KILL_SWITCH) {
        if (ev->severity == CSCALP_SEVERITY_CRITICAL)
            h->kill_trips++;
        else
            h->kill_rearms++;
    }
    if (h->hook != NULL)
        h->hook(ev, h->hook_user);
}

/* ------------------------------------------------------------------------ */
/* Violations                                                                */

enum {
    DU_V_RC = 0,        /* cscalp_on_order returned what the table does not say */
    DU_V_POSITION_SYNC, /* engine position != the independent ledger */
    DU_V_LEDGER_SYNC,   /* entry, realised, fees, funding, fills or equity differ */
    DU_V_OPEN_SYNC,     /* engine open_orders != the host's working orders */
    DU_V_FIELDS,        /* an intent field out of its domain */
    DU_V_ID,            /* client id not new, or 0 */
    DU_V_QTY,           /* quantity > risk.max_order_contracts */
    DU_V_NOTIONAL,      /* quantity × price > risk.max_order_notional_quote */
    DU_V_COLLAR,        /* price beyond risk.price_collar_bps of the mid */
    DU_V_POSITION,      /* worst-case position > risk.max_position_contracts */
    DU_V_LEVERAGE,      /* worst-case notional > risk.max_leverage × equity */
    DU_V_RATE_S,        /* > risk.max_orders_per_s NEW intents in 1 s */
    DU_V_RATE_MIN,      /* > risk.max_orders_per_min NEW intents in 60 s */
    DU_V_OPEN,          /* a NEW intent with risk.max_open_orders working */
    DU_V_TICK,          /* price off the policy.tick_size grid */
    DU_V_LOT,           /* quantity off the policy.lot_size grid */
    DU_V_REDUCE_ONLY,   /* reduce-only larger than the position or on its side */
    DU_V_KILL_EXPOSURE, /* exposure added while the kill switch is tripped */
    DU_V_KILL_AUTONOMY, /* tripped but autonomy above MANUAL */
    DU_V_KILL_SET,      /* set_autonomy above MANUAL while tripped not EKILLED */
    DU_V_KILL_CANCEL,   /* tripped: a working order left without a cancel */
    DU_V_KILL_FLATTEN,  /* tripped with a position and no flatten queued */
    DU_V_COOLDOWN,      /* exposure added during a loss cool-down */
    DU_V_MANUAL,        /* an intent at MANUAL other than kill/autonomy ones */
    DU_V_CONFIRM,       /* NEEDS_CONFIRMATION wrong for the autonomy */
    DU_V_CANCEL,        /* a cancel for an order not working, or cancelling */
    DU_V_AUTONOMY_CANCEL, /* lowered to MANUAL: a working order not cancelled */
    DU_V_POST_CROSS,    /* a post-only price through the touch */
    DU_V_TS,            /* intent time != the engine clock */
    DU_V_FUNDING,       /* funding not settled once per announced time */
    DU_V_AUTONOMY,      /* get_autonomy disagrees with what was set */
    DU_V_EVENT,         /* a refusal without ORDER_UPDATE_REFUSED, and so on */
    DU_V_CHECKPOINT,    /* a restored engine differs from the saved one */
    DU_V_CONFIG,        /* a valid run-time patch refused */
    DU_V_COUNT
};

static const char *const du_v_names[DU_V_COUNT] = {
    "order_update_rc", "position_sync",  "ledger_sync",     "open_orders_sync",
    "intent_fields",   "client_id",      "max_order_contracts", "max_order_notional",
    "price_collar",    "max_position",   "max_leverage",    "rate_per_s",
    "rate_per_min",    "max_open_orders", "tick_grid",      "lot_grid",
    "reduce_only",     "kill_exposure",  "kill_autonomy",   "kill_set_autonomy",
    "kill_cancel",     "kill_flatten",   "cooldown",        "manual_intent",
    "confirmation_flag", "cancel_target", "autonomy_cancel", "post_only_cross",
    "intent_ts",       "funding",        "autonomy",        "health_event",
    "checkpoint",      "config"};

typedef struct du_viol {
    uint64_t n[DU_V_COUNT];
    char first[DU_V_COUNT][320];
} du_viol;

static inline void du_violate(du_viol *v, int kind, const char *fmt, ...)
{
    if (v->n[kind]++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->first[kind], sizeof v->first[kind], fmt, ap);
        va_end(ap);
    }
}

static inline uint64_t du_viol_total(const du_viol *v)
{
    uint64_t t = 0;
    for (int k = 0; k < DU_V_COUNT; k++)
        t += v->n[k];
    return t;
}

/* Every category with a count, and its first example, for the failure
 * message and the report. */
static inline void du_viol_print(const du_viol *v, FILE *f)
{
    for (int k = 0; k < DU_V_COUNT; k++)
        if (v->n[k] != 0)
            fprintf(f, "violation %s: %llu, first: %s\n", du_v_names[k],
                    (unsigned long long)v->n[k], v->first[k]);
}

#define DU_ASSERT_NO_VIOLATION(v)                                               \
    do {                                                                        \
        if (du_viol_total(v) != 0) {                                            \
            du_viol_print((v), stdout);                                         \
            fflush(stdout);                                                     \
            for (int k_ = 0; k_ < DU_V_COUNT; k_++)                             \
                if ((v)->n[k_] != 0)                                            \
                    ck_abort_msg("%llu violation(s) of %s, first: %s",          \
                                 (unsigned long long)(v)->n[k_], du_v_names[k_], \
                                 (v)->first[k_]);                               \
        }                                                                       \
    } while (0)

/* ------------------------------------------------------------------------ */
/* The host's order table                                                    */

typedef struct du_order {
    uint64_t id;          /* 0: never issued */
    int side, type, reason;
    double price, qty, filled;
    int reduce_only, needs_confirmation;
    int closed, acked, cancel_pending;
    int64_t created_ns;
} du_order;

/* A fill the host reported and the engine booked, to resend as a
 * duplicate later. */
typedef struct du_fill {
    uint64_t client_id, fill_id;
    double price, qty, fee;
} du_fill;

#define DU_RECENT_FILLS 64

typedef struct du_host {
    du_order *orders; /* indexed by client id */
    size_t cap;
    uint64_t max_id;          /* highest client id seen in a NEW intent */
    uint64_t working_ids[128]; /* orders not closed, oldest first */
    uint32_t working;
    double open_buy, open_sell; /* unfilled remainders of working orders */
    tu_ledger led;
    uint64_t next_fill_id;
    du_fill recent[DU_RECENT_FILLS]; /* ring of the latest booked fills */
    uint32_t recent_n, recent_at;
} du_host;

static inline void du_host_init(du_host *h)
{
    memset(h, 0, sizeof *h);
    h->cap = 1024;
    h->orders = calloc(h->cap, sizeof *h->orders);
    DU_CHECK(h->orders != NULL);
    h->next_fill_id = 1000;
}

static inline void du_host_free(du_host *h)
{
    free(h->orders);
    h->orders = NULL;
}

static inline du_order *du_find(du_host *h, uint64_t id)
{
    if (id == 0 || id >= h->cap || h->orders[id].id != id)
        return NULL;
    return &h->orders[id];
}

static inline du_order *du_add_order(du_host *h, uint64_t id)
{
    while (id >= h->cap) {
        const size_t ncap = h->cap * 2;
        du_order *n = realloc(h->orders, ncap * sizeof *n);
        DU_CHECK(n != NULL);
        memset(n + h->cap, 0, (ncap - h->cap) * sizeof *n);
        h->orders = n;
        h->cap = ncap;
    }
    du_order *o = &h->orders[id];
    memset(o, 0, sizeof *o);
    o->id = id;
    DU_CHECK(h->working < sizeof h->working_ids / sizeof h->working_ids[0]);
    h->working_ids[h->working++] = id;
    return o;
}

static inline void du_recompute_open(du_host *h)
{
    h->open_buy = h->open_sell = 0.0;
    for (uint32_t i = 0; i < h->working; i++) {
        const du_order *o = &h->orders[h->working_ids[i]];
        const double rem = o->qty - o->filled;
        if (o->side > 0)
            h->open_buy += rem;
        else
            h->open_sell += rem;
    }
}

static inline void du_close(du_host *h, du_order *o)
{
    o->closed = 1;
    for (uint32_t i = 0; i < h->working; i++)
        if (h->working_ids[i] == o->id) {
            memmove(&h->working_ids[i], &h->working_ids[i + 1],
                    (h->working - i - 1) * sizeof h->working_ids[0]);
            h->working--;
            break;
        }
    du_recompute_open(h);
}

static inline int du_fill_seen(const du_host *h, uint64_t client_id, uint64_t fill_id)
{
    for (uint32_t i = 0; i < h->recent_n; i++)
        if (h->recent[i].client_id == client_id && h->recent[i].fill_id == fill_id)
            return 1;
    return 0;
}

/* Order of the checks: the struct and the fields first (nothing about the
 * order is looked at for a malformed update), then the id, then the
 * transition table. Tests never combine two faults in one update, so the
 * order between faults of the same update is not relied on. */
static inline int du_predict(du_host *h, const cscalp_order_update *u)
{
    if (u->size < sizeof(cscalp_order_update))
        return CSCALP_ESTRUCT;
    if (u->type < CSCALP_UPDATE_ACK || u->type > CSCALP_UPDATE_EXPIRED)
        return CSCALP_EINVAL;
    if (u->type == CSCALP_UPDATE_FILL) {
        if (u->fill_id == 0)
            return CSCALP_EINVAL;
        if (!isfinite(u->fill_price) || !isfinite(u->fill_quantity) || !isfinite(u->fee))
            return CSCALP_ENONFINITE;
        if (!(u->fill_price > 0.0))
            return CSCALP_EPRICE;
        if (!(u->fill_quantity > 0.0))
            return CSCALP_ESIZE;
    }
    du_order *o = du_find(h, u->client_id);
    if (o == NULL)
        return CSCALP_EORDER_UNKNOWN;
    if (o->closed) {
        if (u->type == CSCALP_UPDATE_FILL && du_fill_seen(h, u->client_id, u->fill_id))
            return CSCALP_OK; /* duplicate, even after the order closed */
        return CSCALP_EORDER_CLOSED;
    }
    switch (u->type) {
    case CSCALP_UPDATE_ACK:
        return CSCALP_OK;
    case CSCALP_UPDATE_REJECTED:
        if (o->cancel_pending)
            return CSCALP_OK; /* the cancel (acked) or the order (not acked) */
        return o->acked ? CSCALP_ETRANSITION : CSCALP_OK;
    case CSCALP_UPDATE_FILL:
        if (du_fill_seen(h, u->client_id, u->fill_id))
            return CSCALP_OK;
        if (o->filled + u->fill_quantity > o->qty + 1e-12 * fmax(1.0, o->qty))
            return CSCALP_EOVERFILL;
        return CSCALP_OK;
    default:
        return CSCALP_OK;
    }
}

/* Apply an update the engine accepted. Returns 1 when a fill was booked. */
static inline int du_apply(du_host *h, const cscalp_order_update *u)
{
    du_order *o = du_find(h, u->client_id);
    DU_CHECK(o != NULL);
    if (o->closed)
        return 0; /* only a duplicate fill is accepted for a closed order */
    switch (u->type) {
    case CSCALP_UPDATE_ACK:
        o->acked = 1;
        return 0;
    case CSCALP_UPDATE_REJECTED:
        if (o->cancel_pending && o->acked)
            o->cancel_pending = 0; /* the cancel was refused: working again */
        else
            du_close(h, o);
        return 0;
    case CSCALP_UPDATE_FILL: {
        if (du_fill_seen(h, u->client_id, u->fill_id))
            return 0;
        o->acked = 1;
        o->filled += u->fill_quantity;
        tu_ledger_fill(&h->led, o->side, u->fill_quantity, u->fill_price, u->fee);
        du_fill *f = &h->recent[h->recent_at];
        f->client_id = u->client_id;
        f->fill_id = u->fill_id;
        f->price = u->fill_price;
        f->qty = u->fill_quantity;
        f->fee = u->fee;
        h->recent_at = (h->recent_at + 1) % DU_RECENT_FILLS;
        if (h->recent_n < DU_RECENT_FILLS)
            h->recent_n++;
        if (o->filled >= o->qty - 1e-12 * fmax(1.0, o->qty))
            du_close(h, o);
        else
            du_recompute_open(h);
        return 1;
    }
    default: /* CANCELLED, EXPIRED */
        du_close(h, o);
        return 0;
    }
}

static inline cscalp_order_update du_update(int type, uint64_t id)
{
    cscalp_order_update u;
    memset(&u, 0, sizeof u);
    u.size = sizeof u;
    u.type = type;
    u.client_id = id;
    return u;
}

static inline cscalp_order_update du_fill_update(uint64_t id, uint64_t fill_id, double price, double qty,
                                          double fee)
{
    cscalp_order_update u = du_update(CSCALP_UPDATE_FILL, id);
    u.fill_id = fill_id;
    u.fill_price = price;
    u.fill_quantity = qty;
    u.fee = fee;
    u.liquidity = CSCALP_LIQUIDITY_TAKER;
    return u;
}

/* ------------------------------------------------------------------------ */
/* Parameters: one struct gives both the engine's JSON and the limits the
 * checks hold it to, so the two cannot drift apart.                         */

typedef struct du_params {
    uint64_t model_seed;
    int hidden;           /* model.hidden_sizes [hidden] */
    const char *learn_mode;
    double prior_move_bps;
    double taker_bps, maker_bps;
    double entry_band_bps, size_factor, regime_max_leverage;
    int decide_interval_ms;
    double vol_target_bps, min_sigma_bps, liquidation_sigmas;
    double tick, lot;
    int order_ttl_ms;
    double reprice_ticks, market_protection_bps;
    double initial_equity, max_order_contracts, max_order_notional, max_position_contracts;
    double max_leverage, price_collar_bps;
    int max_orders_per_s, max_orders_per_min, max_open_orders;
    double max_daily_drawdown, max_total_drawdown;
    int loss_streak, loss_cooldown_ms;
    int fill_id_memory;
    int intent_queue;
} du_params;

/* Defaults of the tests: an untrained model that trades (a large prior
 * move, no fees, no entry band: any asymmetry of its probabilities clears
 * the costs), a normaliser that warms up in half a second, BTC-like grids. */
static inline du_params du_params_default(void)
{
    du_params p;
    memset(&p, 0, sizeof p);
    p.model_seed = 1;
    p.hidden = 8;
    p.learn_mode = "off";
    p.prior_move_bps = 2000;
    p.taker_bps = 0;
    p.maker_bps = 0;
    p.entry_band_bps = 0;
    p.size_factor = 1;
    p.regime_max_leverage = 10;
    p.decide_interval_ms = 100;
    p.vol_target_bps = 1000;
    p.min_sigma_bps = 1;
    p.liquidation_sigmas = 10;
    p.tick = 0.1;
    p.lot = 0.001;
    p.order_ttl_ms = 600000;
    p.reprice_ticks = 1e6;
    p.market_protection_bps = 10;
    p.initial_equity = 10000;
    p.max_order_contracts = 1;
    p.max_order_notional = 100000;
    p.max_position_contracts = 1;
    p.max_leverage = 10;
    p.price_collar_bps = 50;
    p.max_orders_per_s = 5;
    p.max_orders_per_min = 60;
    p.max_open_orders = 4;
    p.max_daily_drawdown = 1e9;
    p.max_total_drawdown = 1e9;
    p.loss_streak = 0;
    p.loss_cooldown_ms = 60000;
    p.fill_id_memory = 4096;
    p.intent_queue = 256;
    return p;
}

static inline void du_params_json(const du_params *p, char *buf, size_t cap)
{
    /* The engines here trade on untrained models on purpose (they test the
     * decision path, not the model): policy.untrained_size_factor 1. */
    const int n = snprintf(
        buf, cap,
        "{\"model\":{\"seed\":%llu,\"hidden_sizes\":[%d],\"lag_count\":1,"
        "\"prior_move_bps\":%.17g},"
        "\"learn\":{\"mode\":\"%s\"},"
        "\"features\":{\"norm_warmup_samples\":5,\"norm_interval_ms\":100},"
        "\"fees\":{\"taker_bps\":%.17g,\"maker_bps\":%.17g},"
        "\"regime\":{\"entry_band_bps\":[%.17g],\"size_factors\":[%.17g],"
        "\"max_leverage_factors\":[%.17g]},"
        "\"policy\":{\"decide_interval_ms\":%d,\"vol_target_bps\":%.17g,"
        "\"min_sigma_bps\":%.17g,\"liquidation_sigmas\":%.17g,\"tick_size_quote\":%.17g,"
        "\"lot_size_contracts\":%.17g,\"order_ttl_ms\":%d,\"reprice_ticks\":%.17g,"
        "\"market_protection_bps\":%.17g,\"untrained_size_factor\":1},"
        "\"risk\":{\"initial_equity_quote\":%.17g,\"max_order_contracts\":%.17g,"
        "\"max_order_notional_quote\":%.17g,\"max_position_contracts\":%.17g,"
        "\"max_leverage_factor\":%.17g,\"price_collar_bps\":%.17g,\"max_orders_per_s\":%d,"
        "\"max_orders_per_min\":%d,\"max_open_orders_count\":%d,"
        "\"max_daily_drawdown_quote\":%.17g,\"max_total_drawdown_quote\":%.17g,"
        "\"loss_streak_count\":%d,\"loss_cooldown_ms\":%d,\"fill_id_memory_count\":%d,"
        "\"intent_queue_count\":%d}}",
        (unsigned long long)p->model_seed, p->hidden, p->prior_move_bps, p->learn_mode,
        p->taker_bps, p->maker_bps, p->entry_band_bps, p->size_factor,
        p->regime_max_leverage, p->decide_interval_ms, p->vol_target_bps, p->min_sigma_bps,
        p->liquidation_sigmas, p->tick, p->lot, p->order_ttl_ms, p->reprice_ticks,
        p->market_protection_bps, p->initial_equity, p->max_order_contracts,
        p->max_order_notional, p->max_position_contracts, p->max_leverage,
        p->price_collar_bps, p->max_orders_per_s, p->max_orders_per_min,
        p->max_open_orders, p->max_daily_drawdown, p->max_total_drawdown, p->loss_streak,
        p->loss_cooldown_ms, p->fill_id_memory, p->intent_queue);
    DU_CHECK(n > 0 && (size_t)n < cap);
}

/* A BTC-like synthetic market on the same tick grid as the policy. */
static inline cscalp_sim_market_config du_market_config(uint64_t seed, double start_price, double tick)
{
    cscalp_sim_market_config mc;
    memset(&mc, 0, sizeof mc);
    mc.size = sizeof mc;
    DU_CHECK(cscalp_sim_market_config_init(&mc) == CSCALP_OK);
    mc.seed = seed;
    mc.start_price = start_price;
    mc.tick_size = tick;
    return mc;
}

/* ------------------------------------------------------------------------ */
/* One engine, its market and the host                                      */

enum { DU_CALL_MARKET = 0, DU_CALL_ORDER = 1, DU_CALL_CONFIGURE = 2, DU_CALL_AUTONOMY = 3,
       DU_CALL_RESYNC = 4 };

#define DU_BATCH_MAX 1024

typedef struct du_ctx {
    cscalp_engine *e;
    cscalp_sim_market *m;
    cscalp_sim_market_event ev;
    du_params p;
    du_host h;
    du_viol v;
    du_health hl;

    /* What the host pushed. */
    double bid, ask, mid;
    int has_quote;
    int64_t clock;

    /* Intents of the latest call, as polled, for scripted tests. */
    cscalp_intent batch[DU_BATCH_MAX];
    int batch_n;

    /* NEW intent times, in order, for the sliding-window rate checks. */
    int64_t *new_ts;
    size_t new_n, new_cap;

    /* What the host believes about the engine. */
    int autonomy;        /* level in force, as last set or reported */
    int killed;          /* kill switch tripped (after the latest call) */
    int64_t cooldown_until;
    uint64_t seen_cooldowns;

    /* Decision grid cells visited by push and tick calls. */
    int64_t last_cell;
    uint64_t decisions;

    /* Funding: the latest announcement and whether it was settled. */
    double funding_rate, funding_mark;
    int64_t funding_next; /* 0: nothing announced */
    int funding_settled;
    uint64_t funding_settlements, funding_announced;

    /* cscalp_last_error right after the latest cscalp_on_order (the polls
     * after it succeed and clear it). */
    char last_error[512];
    /* Set while polling intents decided on earlier quotes (a test that
     * pushed without polling): their time, collar and touch are not
     * checked against the latest quote. */
    int lax;

    /* Tallies for the report. */
    uint64_t calls, pushes, ticks, updates, refused_updates, duplicates_sent;
    uint64_t intents_new, intents_cancel, intents_post_only, intents_market, intents_reduce_only;
    uint64_t by_reason[8];
    uint64_t flagged_confirm, entries_in_trip_call, market_inside_touch, trips_without_flatten;
    uint32_t max_working_seen;
    double max_abs_position;
    /* How close NEW intents came to each limit (a limit never approached
     * proves nothing): counts of intents at the limit, within 10^-9 (the
     * rates: the window then held exactly the limit), and the largest
     * fraction of the collar used. */
    uint64_t at_qty, at_notional, at_position, at_leverage, at_rate_s, at_rate_min, at_open;
    double collar_used;
} du_ctx;

static inline void du_funding_hook(const cscalp_health_event *ev, void *user);

/* Open the engine from c->p (set by the caller) and a market from `mc`
 * (NULL: no market; the test pushes quotes itself). */
static inline void du_open(du_ctx *c, const cscalp_sim_market_config *mc)
{
    char json[4096];
    du_params_json(&c->p, json, sizeof json);
    char why[512] = "";
    c->e = NULL;
    const int rc = cscalp_open_ex(&c->e, json, NULL, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_open_ex: %s (%s)\nconfig: %s", cscalp_error_name(rc),
                  why, json);
    memset(&c->hl, 0, sizeof c->hl);
    c->hl.hook = du_funding_hook;
    c->hl.hook_user = c;
    DU_CHECK(cscalp_set_health_callback(c->e, du_health_cb, &c->hl) == CSCALP_OK);
    du_host_init(&c->h);
    memset(&c->v, 0, sizeof c->v);
    c->m = NULL;
    if (mc != NULL) {
        char merr[256] = "";
        const int mrc = cscalp_sim_market_open(&c->m, mc, NULL, merr, sizeof merr);
        ck_assert_msg(mrc == CSCALP_OK, "cscalp_sim_market_open: %s", merr);
    }
    memset(&c->ev, 0, sizeof c->ev);
    c->ev.size = sizeof c->ev;
    c->new_cap = 4096;
    c->new_ts = malloc(c->new_cap * sizeof *c->new_ts);
    DU_CHECK(c->new_ts != NULL);
    c->autonomy = CSCALP_AUTONOMY_MANUAL;
    c->last_cell = INT64_MIN;
    c->cooldown_until = INT64_MIN;
    ck_assert_int_eq(cscalp_get_autonomy(c->e), CSCALP_AUTONOMY_MANUAL); /* opens MANUAL */
}

/* A context on the heap (it holds a thousand intents), opened. */
static inline du_ctx *du_new(const du_params *p, const cscalp_sim_market_config *mc)
{
    du_ctx *c = calloc(1, sizeof *c);
    DU_CHECK(c != NULL);
    c->p = *p;
    du_open(c, mc);
    return c;
}

static inline void du_free(du_ctx *c)
{
    if (c == NULL)
        return;
    cscalp_close(c->e);
    cscalp_sim_market_close(c->m);
    du_host_free(&c->h);
    free(c->new_ts);
    free(c);
}

static inline double du_equity_now(const du_ctx *c)
{
    return tu_ledger_equity(&c->h.led, c->p.initial_equity, c->mid);
}

/* Funding is booked at the settlement on the host's position of that
 * moment (fills only move it inside cscalp_on_order, never inside the push
 * that settles), with the rate and mark of the latest announcement. A loss
 * cool-down starts a window in which no exposure may be added. */
static inline void du_funding_hook(const cscalp_health_event *ev, void *user)
{
    du_ctx *c = user;
    if (ev->event == CSCALP_EVENT_FUNDING_SETTLED) {
        c->funding_settlements++;
        if (c->funding_next == 0 || c->funding_settled) {
            du_violate(&c->v, DU_V_FUNDING, "settlement at %lld with none due (next %lld, %s)",
                       (long long)ev->ts_ns, (long long)c->funding_next,
                       c->funding_settled ? "already settled" : "none announced");
            return;
        }
        if (ev->ts_ns < c->funding_next)
            du_violate(&c->v, DU_V_FUNDING, "settled at %lld before the announced %lld",
                       (long long)ev->ts_ns, (long long)c->funding_next);
        c->funding_settled = 1;
        c->h.led.funding += (long double)(c->h.led.pos * c->funding_mark * c->funding_rate);
    } else if (ev->event == CSCALP_EVENT_LOSS_COOLDOWN) {
        c->seen_cooldowns++;
        c->cooldown_until = ev->ts_ns + (int64_t)c->p.loss_cooldown_ms * DU_NS_PER_MS;
    }
}

/* On the grid within 10^-6 of a step: far below a step, far above the
 * rounding of a decimal grid in binary (10^-11 of a step at 10^5 steps). */
static inline int du_on_grid(double v, double step)
{
    const double k = v / step;
    return fabs(k - floor(k + 0.5)) <= 1e-6;
}

/* Check one NEW intent against every limit, then record it as working.
 * `killed` and `level` are what held when it was decided. */
static inline void du_check_new(du_ctx *c, const cscalp_intent *in, int killed, int level)
{
    du_viol *v = &c->v;
    const du_params *p = &c->p;
    const double pos = c->h.led.pos;
    const int side = in->side;
    const double qty = in->quantity, price = in->price;
    const int ro = (in->flags & CSCALP_INTENT_REDUCE_ONLY) != 0;
    const int confirm = (in->flags & CSCALP_INTENT_NEEDS_CONFIRMATION) != 0;
    const double same_open = side > 0 ? c->h.open_buy : c->h.open_sell;
    /* docs/risk.md: against the position and, with the orders working on
     * its side, never past it. A reduce-only order no larger than the
     * position only reduces too: the venue cannot let it add exposure. */
    const int strictly_reducing =
        pos * side < 0.0 && same_open + qty <= fabs(pos) * (1.0 + 1e-12);
    const int ro_reducing = ro && pos * side < 0.0 && qty <= fabs(pos) * (1.0 + 1e-12);
    const int only_reduces = strictly_reducing || ro_reducing;
    const int kill = in->reason == CSCALP_INTENT_KILL_SWITCH;
    const unsigned long long id = (unsigned long long)in->client_id;

    if ((side != 1 && side != -1) ||
        (in->type != CSCALP_ORDER_POST_ONLY && in->type != CSCALP_ORDER_MARKET) ||
        (in->type == CSCALP_ORDER_POST_ONLY && in->time_in_force != CSCALP_TIF_GTX) ||
        (in->type == CSCALP_ORDER_MARKET && in->time_in_force != CSCALP_TIF_IOC) ||
        (in->reason != CSCALP_INTENT_ENTRY && in->reason != CSCALP_INTENT_EXIT && !kill) ||
        !isfinite(price) || !(price > 0.0) || !isfinite(qty) || !(qty > 0.0) ||
        (in->reason == CSCALP_INTENT_EXIT && !ro) ||
        (kill && (!ro || in->type != CSCALP_ORDER_MARKET)) ||
        fabs(in->position - pos) > 1e-9 || in->size != sizeof(cscalp_intent))
        du_violate(v, DU_V_FIELDS,
                   "NEW id %llu side %d type %d tif %d reason %d price %.17g qty %.17g flags %u "
                   "position %.17g (host %.17g)",
                   id, side, in->type, in->time_in_force, in->reason, price, qty, in->flags,
                   in->position, pos);
    if (in->client_id == 0 || in->client_id <= c->h.max_id || du_find(&c->h, in->client_id))
        du_violate(v, DU_V_ID, "NEW id %llu after id %llu", id,
                   (unsigned long long)c->h.max_id);
    if (in->ts_ns != c->clock && !c->lax)
        du_violate(v, DU_V_TS, "intent at %lld, clock %lld", (long long)in->ts_ns,
                   (long long)c->clock);
    if (qty >= p->max_order_contracts * (1.0 - 1e-9))
        c->at_qty++;
    if (qty * price >= p->max_order_notional * 0.99)
        c->at_notional++;
    if (c->has_quote && fabs(price - c->mid) / c->mid * 1e4 / p->price_collar_bps > c->collar_used)
        c->collar_used = fabs(price - c->mid) / c->mid * 1e4 / p->price_collar_bps;
    if (c->h.working + 1 == (uint32_t)p->max_open_orders)
        c->at_open++;
    if (c->new_n + 1 >= (size_t)p->max_orders_per_s &&
        (p->max_orders_per_s == 1 ||
         in->ts_ns - c->new_ts[c->new_n + 1 - (size_t)p->max_orders_per_s] < DU_NS_PER_S))
        c->at_rate_s++;
    if (c->new_n + 1 >= (size_t)p->max_orders_per_min &&
        (p->max_orders_per_min == 1 ||
         in->ts_ns - c->new_ts[c->new_n + 1 - (size_t)p->max_orders_per_min] < 60 * DU_NS_PER_S))
        c->at_rate_min++;
    if (qty > p->max_order_contracts * (1.0 + 1e-9))
        du_violate(v, DU_V_QTY, "id %llu qty %.17g > %.17g (reason %d)", id, qty,
                   p->max_order_contracts, in->reason);
    if (qty * price > p->max_order_notional * (1.0 + 1e-9))
        du_violate(v, DU_V_NOTIONAL, "id %llu %.17g x %.17g = %.17g > %.17g (type %d reason %d)",
                   id, qty, price, qty * price, p->max_order_notional, in->type, in->reason);
    if (c->has_quote && !c->lax && fabs(price - c->mid) / c->mid * 1e4 > p->price_collar_bps + 1e-6)
        du_violate(v, DU_V_COLLAR, "id %llu price %.17g is %.4f bps from mid %.17g, collar %g "
                   "(type %d reason %d)", id, price, fabs(price - c->mid) / c->mid * 1e4, c->mid,
                   p->price_collar_bps, in->type, in->reason);
    const double worst = pos + side * (same_open + qty);
    if (!only_reduces && fabs(worst) >= p->max_position_contracts * (1.0 - 1e-9))
        c->at_position++;
    if (!only_reduces && c->has_quote &&
        fabs(worst) * c->mid >= 0.99 * p->max_leverage * du_equity_now(c))
        c->at_leverage++;
    if (!only_reduces && fabs(worst) > p->max_position_contracts * (1.0 + 1e-9) + 1e-12)
        du_violate(v, DU_V_POSITION,
                   "id %llu side %d qty %.17g: pos %.17g + working %.17g -> %.17g > %.17g "
                   "(reason %d flags %u)", id, side, qty, pos, same_open, worst,
                   p->max_position_contracts, in->reason, in->flags);
    const double equity = du_equity_now(c);
    if (!only_reduces && c->has_quote &&
        fabs(worst) * c->mid > p->max_leverage * equity * (1.0 + 1e-9) + 1e-9)
        du_violate(v, DU_V_LEVERAGE, "id %llu worst %.17g x mid %.17g > %g x equity %.17g", id,
                   worst, c->mid, p->max_leverage, equity);
    /* Sliding windows: the (limit)-th NEW before this one must be at least
     * the window earlier, else some window of that length holds limit + 1. */
    if (c->new_n >= (size_t)p->max_orders_per_s &&
        in->ts_ns - c->new_ts[c->new_n - (size_t)p->max_orders_per_s] < DU_NS_PER_S)
        du_violate(v, DU_V_RATE_S, "id %llu: %d NEW intents within %lld ns (reason %d)", id,
                   p->max_orders_per_s + 1,
                   (long long)(in->ts_ns - c->new_ts[c->new_n - (size_t)p->max_orders_per_s]),
                   in->reason);
    if (c->new_n >= (size_t)p->max_orders_per_min &&
        in->ts_ns - c->new_ts[c->new_n - (size_t)p->max_orders_per_min] < 60 * DU_NS_PER_S)
        du_violate(v, DU_V_RATE_MIN, "id %llu: %d NEW intents within %lld ns (reason %d)", id,
                   p->max_orders_per_min + 1,
                   (long long)(in->ts_ns - c->new_ts[c->new_n - (size_t)p->max_orders_per_min]),
                   in->reason);
    if (c->h.working >= (uint32_t)p->max_open_orders)
        du_violate(v, DU_V_OPEN, "id %llu with %u working, limit %d (reason %d)", id,
                   c->h.working, p->max_open_orders, in->reason);
    if (!du_on_grid(price, p->tick))
        du_violate(v, DU_V_TICK, "id %llu price %.17g, tick %g (type %d reason %d)", id, price,
                   p->tick, in->type, in->reason);
    if (!kill && !du_on_grid(qty, p->lot))
        du_violate(v, DU_V_LOT, "id %llu qty %.17g, lot %g", id, qty, p->lot);
    if (ro && !(pos * side < 0.0 && qty <= fabs(pos) * (1.0 + 1e-12)))
        du_violate(v, DU_V_REDUCE_ONLY, "id %llu reduce-only side %d qty %.17g, position %.17g "
                   "(reason %d)", id, side, qty, pos, in->reason);
    /* docs/risk.md: the whole position, or as much as the order-size and
     * notional limits allow (the rest on later steps). */
    if (kill) {
        const double allowed =
            fmin(fabs(pos), fmin(p->max_order_contracts, p->max_order_notional / price));
        if (qty < allowed - p->lot - 1e-9 * fmax(1.0, allowed))
            du_violate(v, DU_V_KILL_FLATTEN, "flatten id %llu qty %.17g, position %.17g, "
                       "allowed %.17g", id, qty, pos, allowed);
    }
    if (killed && !only_reduces)
        du_violate(v, DU_V_KILL_EXPOSURE,
                   "id %llu side %d qty %.17g reason %d flags %u, position %.17g, working "
                   "same side %.17g", id, side, qty, in->reason, in->flags, pos, same_open);
    if (in->ts_ns < c->cooldown_until && !only_reduces)
        du_violate(v, DU_V_COOLDOWN, "id %llu at %lld, cool-down until %lld, side %d qty %.17g "
                   "position %.17g", id, (long long)in->ts_ns, (long long)c->cooldown_until,
                   side, qty, pos);
    if (level == CSCALP_AUTONOMY_MANUAL && !kill)
        du_violate(v, DU_V_MANUAL, "NEW id %llu reason %d at MANUAL", id, in->reason);
    if (level == CSCALP_AUTONOMY_ASSISTED && !kill) {
        if (!only_reduces && !confirm)
            du_violate(v, DU_V_CONFIRM, "ASSISTED: id %llu adds exposure unflagged (side %d qty "
                       "%.17g position %.17g)", id, side, qty, pos);
        if (ro && confirm)
            du_violate(v, DU_V_CONFIRM, "ASSISTED: reduce-only id %llu flagged", id);
    } else if (confirm) {
        du_violate(v, DU_V_CONFIRM, "id %llu flagged at level %d (reason %d)", id, level,
                   in->reason);
    }
    if (in->type == CSCALP_ORDER_POST_ONLY && c->has_quote && !c->lax &&
        ((side > 0 && !(price < c->ask)) || (side < 0 && !(price > c->bid))))
        du_violate(v, DU_V_POST_CROSS, "post-only id %llu side %d at %.17g, touch %.17g/%.17g",
                   id, side, price, c->bid, c->ask);
    if (in->type == CSCALP_ORDER_MARKET && c->has_quote &&
        ((side > 0 && price < c->ask) || (side < 0 && price > c->bid)))
        c->market_inside_touch++; /* could not fill at once: reported, not a limit */

    /* Record it. */
    if (c->new_n == c->new_cap) {
        c->new_cap *= 2;
        int64_t *n = realloc(c->new_ts, c->new_cap * sizeof *n);
        DU_CHECK(n != NULL);
        c->new_ts = n;
    }
    c->new_ts[c->new_n++] = in->ts_ns;
    if (in->client_id != 0 && du_find(&c->h, in->client_id) == NULL) {
        du_order *o = du_add_order(&c->h, in->client_id);
        o->side = side;
        o->type = in->type;
        o->reason = in->reason;
        o->price = price;
        o->qty = qty;
        o->reduce_only = ro;
        o->needs_confirmation = confirm;
        o->created_ns = in->ts_ns;
        du_recompute_open(&c->h);
    }
    if (in->client_id > c->h.max_id)
        c->h.max_id = in->client_id;
    c->intents_new++;
    if (in->type == CSCALP_ORDER_POST_ONLY)
        c->intents_post_only++;
    else
        c->intents_market++;
    if (ro)
        c->intents_reduce_only++;
    if (confirm)
        c->flagged_confirm++;
    if (c->h.working > c->max_working_seen)
        c->max_working_seen = c->h.working;
}

static inline void du_check_cancel(du_ctx *c, const cscalp_intent *in, int level)
{
    du_order *o = du_find(&c->h, in->client_id);
    const int r = in->reason;
    if (o == NULL || o->closed || o->cancel_pending || o->side != in->side)
        du_violate(&c->v, DU_V_CANCEL, "CANCEL id %llu (reason %d): %s",
                   (unsigned long long)in->client_id, r,
                   o == NULL ? "never issued"
                   : o->closed ? "closed"
                   : o->cancel_pending ? "cancel already pending"
                                       : "side differs");
    if (r != CSCALP_INTENT_REPRICE && r != CSCALP_INTENT_TTL && r != CSCALP_INTENT_STALE &&
        r != CSCALP_INTENT_KILL_SWITCH && r != CSCALP_INTENT_AUTONOMY)
        du_violate(&c->v, DU_V_FIELDS, "CANCEL id %llu reason %d",
                   (unsigned long long)in->client_id, r);
    if (in->ts_ns != c->clock && !c->lax)
        du_violate(&c->v, DU_V_TS, "cancel at %lld, clock %lld", (long long)in->ts_ns,
                   (long long)c->clock);
    if (level == CSCALP_AUTONOMY_MANUAL && r != CSCALP_INTENT_KILL_SWITCH &&
        r != CSCALP_INTENT_AUTONOMY)
        du_violate(&c->v, DU_V_MANUAL, "CANCEL id %llu reason %d at MANUAL",
                   (unsigned long long)in->client_id, r);
    if (o != NULL && !o->closed)
        o->cancel_pending = 1;
    c->intents_cancel++;
}

/* The engine's position and PnL against the host's. */
static inline void du_check_position(du_ctx *c)
{
    cscalp_position ps;
    memset(&ps, 0, sizeof ps);
    ps.size = sizeof ps;
    DU_CHECK(cscalp_get_position(c->e, &ps) == CSCALP_OK);
    const tu_ledger *l = &c->h.led;
    if (fabs(ps.position - l->pos) > 1e-9)
        du_violate(&c->v, DU_V_POSITION_SYNC, "engine %.17g, host %.17g (fills %llu)",
                   ps.position, l->pos, (unsigned long long)l->fills);
    const double tol = 1e-6 + 1e-9 * fabs((double)l->fees);
    if (fabs(ps.entry_price - l->entry) > 1e-9 * fmax(1.0, l->entry) ||
        fabs(ps.realised_pnl - (double)l->realised) > 1e-6 + 1e-9 * fabs((double)l->realised) ||
        fabs(ps.fees - (double)l->fees) > tol ||
        fabs(ps.funding - (double)l->funding) > 1e-6 + 1e-9 * fabs((double)l->funding) ||
        ps.fills != l->fills)
        du_violate(&c->v, DU_V_LEDGER_SYNC,
                   "engine entry %.17g realised %.17g fees %.17g funding %.17g fills %llu; "
                   "host %.17g %.17Lg %.17Lg %.17Lg %llu",
                   ps.entry_price, ps.realised_pnl, ps.fees, ps.funding,
                   (unsigned long long)ps.fills, l->entry, l->realised, l->fees, l->funding,
                   (unsigned long long)l->fills);
    if (c->has_quote) {
        const double eq = tu_ledger_equity(l, c->p.initial_equity, ps.mark_price);
        if (fabs(ps.mark_price - c->mid) > 1e-9 * c->mid ||
            fabs(ps.equity - eq) > 1e-6 + 1e-9 * fabs(eq) ||
            fabs(ps.unrealised_pnl - (l->pos != 0.0 ? l->pos * (ps.mark_price - l->entry) : 0.0)) >
                1e-6 + 1e-9 * fabs(ps.unrealised_pnl))
            du_violate(&c->v, DU_V_LEDGER_SYNC,
                       "mark %.17g (mid %.17g) equity %.17g (host %.17g) unrealised %.17g",
                       ps.mark_price, c->mid, ps.equity, eq, ps.unrealised_pnl);
    }
    if (ps.open_orders != c->h.working)
        du_violate(&c->v, DU_V_OPEN_SYNC, "engine %u working, host %u", ps.open_orders,
                   c->h.working);
    /* cscalp_get_orders lists what the host's table holds, oldest first. */
    cscalp_working_order wo[128];
    wo[0].size = sizeof wo[0];
    const int nw = cscalp_get_orders(c->e, wo, 128);
    if (nw != (int)ps.open_orders || cscalp_get_orders(c->e, NULL, 0) != nw)
        du_violate(&c->v, DU_V_OPEN_SYNC, "get_orders %d, position.open_orders %u", nw,
                   ps.open_orders);
    for (int i = 0; i < nw && i < (int)c->h.working; i++) {
        const du_order *o = &c->h.orders[c->h.working_ids[i]];
        const int want = o->cancel_pending ? CSCALP_ORDER_STATUS_PENDING_CANCEL
                         : o->filled > 0.0 ? CSCALP_ORDER_STATUS_PARTIAL
                         : o->acked        ? CSCALP_ORDER_STATUS_OPEN
                                           : CSCALP_ORDER_STATUS_PENDING_NEW;
        if (wo[i].client_id != o->id || wo[i].side != o->side ||
            fabs(wo[i].quantity - o->qty) > 1e-12 || fabs(wo[i].filled - o->filled) > 1e-9 ||
            wo[i].price != (o->type == CSCALP_ORDER_MARKET ? 0.0 : o->price) ||
            wo[i].type != o->type || wo[i].created_ns != o->created_ns ||
            (wo[i].flags != 0) != (o->reduce_only != 0) || wo[i].status != want ||
            wo[i].acked != (o->acked || o->filled > 0.0))
            du_violate(&c->v, DU_V_OPEN_SYNC,
                       "get_orders[%d]: id %llu side %d qty %.17g filled %.17g status %d acked %d price %.17g t %lld flags %u; "
                       "host id %llu side %d qty %.17g filled %.17g status %d acked %d price %.17g t %lld ro %d",
                       i, (unsigned long long)wo[i].client_id, wo[i].side, wo[i].quantity,
                       wo[i].filled, wo[i].status, wo[i].acked, wo[i].price, (long long)wo[i].created_ns, wo[i].flags, (unsigned long long)o->id,
                       o->side, o->qty, o->filled, want, o->acked, o->price, (long long)o->created_ns, o->reduce_only);
    }
    const int level = cscalp_get_autonomy(c->e);
    if (ps.autonomy != level)
        du_violate(&c->v, DU_V_AUTONOMY, "position.autonomy %d, get_autonomy %d", ps.autonomy,
                   level);
    c->killed = ps.kill_switch != 0;
    if (c->killed && level != CSCALP_AUTONOMY_MANUAL)
        du_violate(&c->v, DU_V_KILL_AUTONOMY, "tripped at level %d", level);
    if (fabs(l->pos) > c->max_abs_position)
        c->max_abs_position = fabs(l->pos);
}

/* After every call that may queue intents: poll them all, check each as
 * the world stood when it was decided, then compare states. */
static inline void du_after(du_ctx *c, int call)
{
    c->calls++;
    const int killed_before = c->killed;
    const uint64_t trips_before = c->hl.kill_trips;
    const int level_before = c->autonomy;
    c->batch_n = 0;
    for (;;) {
        cscalp_intent buf[64];
        buf[0].size = sizeof buf[0];
        const int n = cscalp_poll_intents(c->e, buf, 64);
        DU_CHECK(n >= 0 && n <= 64);
        for (int i = 0; i < n && c->batch_n < DU_BATCH_MAX; i++)
            c->batch[c->batch_n++] = buf[i];
        if (n < 64)
            break;
    }
    /* The autonomy the intents were decided under: a set_autonomy call
     * decides under the new level, any other call under the one before. */
    const int level_now = cscalp_get_autonomy(c->e);
    int level = call == DU_CALL_AUTONOMY ? level_now : level_before;
    const int tripped_in_call = c->hl.kill_trips != trips_before;
    int kill_seen = 0;
    for (int i = 0; i < c->batch_n; i++) {
        const cscalp_intent *in = &c->batch[i];
        if (in->reason >= 0 && in->reason < 8)
            c->by_reason[in->reason]++;
        if (in->reason == CSCALP_INTENT_KILL_SWITCH) {
            kill_seen = 1;
            level = CSCALP_AUTONOMY_MANUAL; /* a trip lowers the level at once */
        }
        /* A trip by configuration decides nothing else; one by a drawdown
         * mark inside a push may come after that push's decision, so an
         * entry before the first kill intent of that call is only counted. */
        int killed = killed_before || kill_seen || (tripped_in_call && call != DU_CALL_MARKET &&
                                                     call != DU_CALL_ORDER);
        if (in->kind == CSCALP_INTENT_NEW) {
            if (tripped_in_call && !killed && in->reason == CSCALP_INTENT_ENTRY)
                c->entries_in_trip_call++;
            du_check_new(c, in, killed, level);
        } else if (in->kind == CSCALP_INTENT_CANCEL) {
            du_check_cancel(c, in, level);
        } else {
            du_violate(&c->v, DU_V_FIELDS, "intent kind %d", in->kind);
        }
    }
    du_check_position(c);
    c->autonomy = cscalp_get_autonomy(c->e);
    if (tripped_in_call || (!killed_before && c->killed)) {
        /* docs/risk.md: a cancel for every working order not already being
         * cancelled. The flatten is subject to every other control (a rate
         * limit may hold it to a later step) and waits while an order works
         * on the closing side, so its absence here is only counted. */
        int flatten = 0, closing = 0;
        for (uint32_t i = 0; i < c->h.working; i++) {
            const du_order *o = &c->h.orders[c->h.working_ids[i]];
            if (o->side * c->h.led.pos < 0.0)
                closing = 1;
            if (o->reason == CSCALP_INTENT_KILL_SWITCH)
                flatten = 1;
            else if (!o->cancel_pending)
                du_violate(&c->v, DU_V_KILL_CANCEL, "order %llu still working after the trip",
                           (unsigned long long)o->id);
        }
        if (c->killed && fabs(c->h.led.pos) > 0.0 && !flatten && !closing)
            c->trips_without_flatten++;
    }
    if (c->h.working > c->max_working_seen)
        c->max_working_seen = c->h.working;
    /* An announced funding time the clock has passed must be settled. */
    if (c->funding_next != 0 && !c->funding_settled && c->clock >= c->funding_next)
        du_violate(&c->v, DU_V_FUNDING, "clock %lld reached %lld without a settlement",
                   (long long)c->clock, (long long)c->funding_next);
}

static inline void du_count_decision(du_ctx *c, int64_t t)
{
    const int64_t cell = t / ((int64_t)c->p.decide_interval_ms * DU_NS_PER_MS);
    if (cell != c->last_cell) {
        c->last_cell = cell;
        c->decisions++;
    }
}

static inline int du_push_quote(du_ctx *c, const cscalp_quote *q)
{
    const int rc = cscalp_push_quote(c->e, q);
    if (rc == CSCALP_OK) {
        c->bid = q->bid_price;
        c->ask = q->ask_price;
        c->mid = 0.5 * (q->bid_price + q->ask_price);
        c->has_quote = 1;
        if (q->ts_ns > c->clock)
            c->clock = q->ts_ns;
        du_count_decision(c, c->clock);
    }
    c->pushes++;
    du_after(c, DU_CALL_MARKET);
    return rc;
}

/* Push one synthetic-market event (every one is valid market data). */
static inline void du_push_event(du_ctx *c, const cscalp_sim_market_event *ev)
{
    int rc;
    switch (ev->kind) {
    case CSCALP_KIND_QUOTE:
        rc = du_push_quote(c, &ev->quote);
        DU_CHECK(rc == CSCALP_OK);
        return;
    case CSCALP_KIND_TRADE:
        rc = cscalp_push_trade(c->e, &ev->trade);
        break;
    default:
        rc = cscalp_push_book(c->e, &ev->book);
        break;
    }
    DU_CHECK(rc == CSCALP_OK);
    if (ev->ts_ns > c->clock)
        c->clock = ev->ts_ns;
    du_count_decision(c, c->clock);
    c->pushes++;
    du_after(c, DU_CALL_MARKET);
}

/* Push the market's next event. */
static inline void du_step(du_ctx *c)
{
    DU_CHECK(cscalp_sim_market_next(c->m, &c->ev) == CSCALP_OK);
    du_push_event(c, &c->ev);
}

static inline void du_tick(du_ctx *c, int64_t t)
{
    DU_CHECK(cscalp_tick(c->e, t) == CSCALP_OK);
    if (t > c->clock)
        c->clock = t;
    du_count_decision(c, c->clock);
    c->ticks++;
    du_after(c, DU_CALL_MARKET);
}

static inline void du_push_funding(du_ctx *c, double rate, double mark, int64_t next)
{
    cscalp_funding f;
    memset(&f, 0, sizeof f);
    f.ts_ns = c->clock;
    f.funding_rate = rate;
    f.mark_price = mark;
    f.index_price = 0.0;
    f.next_funding_ts_ns = next;
    DU_CHECK(cscalp_push_funding(c->e, &f) == CSCALP_OK);
    if (next != c->funding_next) {
        c->funding_next = next;
        c->funding_settled = 0;
        c->funding_announced++;
    }
    c->funding_rate = rate;
    c->funding_mark = mark;
    du_after(c, DU_CALL_MARKET);
}

/* Send an update; its return code must be what the table predicts. A
 * refusal must raise ORDER_UPDATE_REFUSED and change nothing; a venue
 * rejection must raise ORDER_REJECTED. Returns the engine's code. */
static inline int du_send(du_ctx *c, const cscalp_order_update *u)
{
    const int want = du_predict(&c->h, u);
    const uint64_t refused_before = c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED];
    const uint64_t rejected_before = c->hl.count[CSCALP_EVENT_ORDER_REJECTED];
    const tu_ledger before = c->h.led;
    const int rc = cscalp_on_order(c->e, u);
    snprintf(c->last_error, sizeof c->last_error, "%s", cscalp_last_error(c->e));
    c->updates++;
    if (rc != want)
        du_violate(&c->v, DU_V_RC, "update type %d id %llu fill %llu qty %.17g price %.17g: "
                   "engine %s, table %s (%s)", u->type, (unsigned long long)u->client_id,
                   (unsigned long long)u->fill_id, u->fill_quantity, u->fill_price,
                   cscalp_error_name(rc), cscalp_error_name(want), c->last_error);
    if (rc == CSCALP_OK && want == CSCALP_OK) {
        du_apply(&c->h, u);
    } else if (rc != CSCALP_OK) {
        c->refused_updates++;
        if (c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED] != refused_before + 1)
            du_violate(&c->v, DU_V_EVENT, "refusal %s raised %llu ORDER_UPDATE_REFUSED events",
                       cscalp_error_name(rc),
                       (unsigned long long)(c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED] -
                                            refused_before));
        c->h.led = before;
    }
    if (rc == CSCALP_OK && want == CSCALP_OK && u->type == CSCALP_UPDATE_REJECTED &&
        c->hl.count[CSCALP_EVENT_ORDER_REJECTED] == rejected_before)
        du_violate(&c->v, DU_V_EVENT, "REJECTED of %llu raised no ORDER_REJECTED",
                   (unsigned long long)u->client_id);
    du_after(c, DU_CALL_ORDER);
    return rc;
}

static inline int du_configure(du_ctx *c, const char *patch)
{
    const int rc = cscalp_configure(c->e, patch);
    du_after(c, DU_CALL_CONFIGURE);
    return rc;
}

/* Set the level; while tripped anything above MANUAL must be EKILLED.
 * Lowering to MANUAL must cancel every working order not yet cancelling. */
static inline int du_set_autonomy(du_ctx *c, int level)
{
    const int was_killed = c->killed;
    const int rc = cscalp_set_autonomy(c->e, level);
    if (was_killed && level > CSCALP_AUTONOMY_MANUAL && level <= CSCALP_AUTONOMY_EVOLVING &&
        rc != CSCALP_EKILLED)
        du_violate(&c->v, DU_V_KILL_SET, "set_autonomy(%d) while tripped returned %s", level,
                   cscalp_error_name(rc));
    du_after(c, DU_CALL_AUTONOMY);
    if (rc == CSCALP_OK && cscalp_get_autonomy(c->e) != level)
        du_violate(&c->v, DU_V_AUTONOMY, "set %d, get_autonomy %d", level,
                   cscalp_get_autonomy(c->e));
    if (rc == CSCALP_OK && level == CSCALP_AUTONOMY_MANUAL)
        for (uint32_t i = 0; i < c->h.working; i++) {
            const du_order *o = &c->h.orders[c->h.working_ids[i]];
            if (!o->cancel_pending)
                du_violate(&c->v, DU_V_AUTONOMY_CANCEL, "order %llu working after MANUAL",
                           (unsigned long long)o->id);
        }
    return rc;
}

static inline int du_set_position(du_ctx *c, double position, double entry)
{
    const int rc = cscalp_set_position(c->e, position, entry);
    if (rc == CSCALP_OK) {
        c->h.led.pos = position;
        c->h.led.entry = position != 0.0 ? entry : 0.0;
    }
    du_after(c, DU_CALL_RESYNC);
    return rc;
}

/* Save the engine to memory, open the copy and carry on with it: the
 * position, the autonomy and the kill switch must read the same, and from
 * then on every check runs against the restored engine (rates, ids,
 * announced funding, cool-downs and working orders must all have been
 * saved for them to keep holding). The queue is empty here: the host polls
 * after every call. */
static inline void du_reopen(du_ctx *c)
{
    size_t need = 0, len = 0;
    DU_CHECK(cscalp_save_buffer(c->e, NULL, 0, &need) == CSCALP_OK);
    void *buf = malloc(need);
    DU_CHECK(buf != NULL);
    DU_CHECK(cscalp_save_buffer(c->e, buf, need, &len) == CSCALP_OK && len == need);
    cscalp_position a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    DU_CHECK(cscalp_get_position(c->e, &a) == CSCALP_OK);
    cscalp_engine *e2 = NULL;
    char why[256] = "";
    const int rc = cscalp_open_buffer(&e2, buf, len, NULL, why, sizeof why);
    free(buf);
    if (rc != CSCALP_OK) {
        du_violate(&c->v, DU_V_CHECKPOINT, "cscalp_open_buffer: %s (%s)", cscalp_error_name(rc),
                   why);
        return;
    }
    cscalp_close(c->e);
    c->e = e2;
    DU_CHECK(cscalp_set_health_callback(c->e, du_health_cb, &c->hl) == CSCALP_OK);
    cscalp_position b;
    memset(&b, 0, sizeof b);
    b.size = sizeof b;
    DU_CHECK(cscalp_get_position(c->e, &b) == CSCALP_OK);
    if (a.position != b.position || a.entry_price != b.entry_price ||
        a.mark_price != b.mark_price || a.realised_pnl != b.realised_pnl || a.fees != b.fees ||
        a.funding != b.funding || a.equity != b.equity || a.fills != b.fills ||
        a.open_orders != b.open_orders || a.kill_switch != b.kill_switch ||
        a.autonomy != b.autonomy)
        du_violate(&c->v, DU_V_CHECKPOINT,
                   "restored: position %.17g/%.17g equity %.17g/%.17g open %u/%u kill %d/%d "
                   "autonomy %d/%d", a.position, b.position, a.equity, b.equity, a.open_orders,
                   b.open_orders, a.kill_switch, b.kill_switch, a.autonomy, b.autonomy);
    du_after(c, DU_CALL_RESYNC);
}

/* Intents of the latest call with this kind (and reason, -1 any). */
static inline int du_batch_count(const du_ctx *c, int kind, int reason)
{
    int n = 0;
    for (int i = 0; i < c->batch_n; i++)
        if (c->batch[i].kind == kind && (reason < 0 || c->batch[i].reason == reason))
            n++;
    return n;
}

static inline cscalp_position du_position(const du_ctx *c)
{
    cscalp_position ps;
    memset(&ps, 0, sizeof ps);
    ps.size = sizeof ps;
    DU_CHECK(cscalp_get_position(c->e, &ps) == CSCALP_OK);
    return ps;
}

/* A stats counter by key name, or -1 when absent (for reports only). */
static inline double du_stat(const cscalp_engine *e, const char *key)
{
    static char buf[1 << 16];
    size_t need = 0;
    if (cscalp_stats_json(e, buf, sizeof buf, &need) != CSCALP_OK)
        return -1;
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *s = strstr(buf, pat);
    return s != NULL ? strtod(s + strlen(pat), NULL) : -1;
}

#endif
