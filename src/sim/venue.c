/* The simulated venue of cryptoscalp_sim.h (docs/sim.md, "Simulated
 * venue"): a USDⓈ-M-style perpetual with latency, depth-walking taker
 * fills, queue-aware resting fills, fees by liquidity side, funding at the
 * settlement times and isolated-margin liquidation.
 *
 * It reuses the library's own pure accounting (src/risk/ledger.h, the
 * average-cost position) and Binance's liquidation formula
 * (src/risk/liquidation.h): the venue and the engine must agree on what a
 * fill does to a position, and the formula is the one the tests check
 * against Binance's published examples. Everything else — the order book
 * the venue keeps, queues, latency, fees, funding, liquidation — is the
 * venue's own. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cryptoscalp_sim.h"
#include "risk/ledger.h"
#include "risk/liquidation.h"
#include "util/alloc.h"
#include "util/json_writer.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MIN (60 * NS_PER_S)
/* Updates waiting for the host, at most. A host that polls after every
 * event holds a handful; this bounds a host that never polls. */
#define OUTBOX 8192u
/* sqrt(minutes in a 365-day year): 1-minute returns annualised. */
#define ANNUALISE_1MIN 724.98275841567

typedef struct venue_order {
    uint64_t id;
    int side, type, tif, reduce_only;
    double price;       /* limit, or a MARKET's protection price (0: none) */
    double qty, filled;
    double queue_ahead; /* contracts displayed ahead at arrival, less trades at the price */
    int64_t arrive_ns;
    int arrived;
    int64_t cancel_ns;  /* INT64_MAX: no cancel sent */
} venue_order;

typedef struct pending {
    cscalp_order_update u;
    int64_t deliver_ns;
    /* A liquidation marker, not an update: the position after it. */
    int liquidation;
    double position, entry;
} pending;

struct cscalp_sim_venue {
    cscalp_allocator mem;
    cscalp_sim_venue_config cfg;
    cscalp_liq_table table;
    int started;
    int64_t clock;

    /* The market as the venue sees it. */
    int has_top;
    double bid, ask, bid_size, ask_size;
    int64_t top_ns;
    /* Arrival order of the market events: which of the touch and the book
     * is newer, even when they share a time stamp. */
    uint64_t seq, top_seq, book_seq;
    uint32_t bid_count, ask_count; /* levels of the latest book, consumed by our takers */
    cscalp_level bids[CSCALP_BOOK_MAX_LEVELS], asks[CSCALP_BOOK_MAX_LEVELS];
    double funding_mark;
    int64_t funding_mark_ns;

    /* Funding: from events when there are any, else on the default grid. */
    int funding_events;
    double funding_rate;
    int64_t next_funding_ns, last_settled_ns;

    /* Orders not yet closed, in submission order. */
    venue_order *orders;
    uint32_t n_orders;
    uint64_t highest_id;
    uint64_t next_fill_id;

    /* Updates for the host. */
    pending *outbox;
    uint32_t out_head, out_count;
    uint64_t updates_lost;

    /* The account. */
    cscalp_ledger ledger;
    double liquidation_fees;
    uint64_t liquidations, rejects, maker_fills, taker_fills;
    uint64_t liquidations_reported;
    double position_reported, entry_reported;

    /* The report's accumulators. */
    int first_equity_set;
    int64_t first_ns, minute;          /* the last 1-minute boundary sampled */
    double minute_equity;              /* equity at that boundary */
    uint64_t returns;                  /* 1-minute returns seen */
    double ret_mean, ret_m2, downside_sq;
    double peak_equity, max_drawdown, max_drawdown_fraction;
    int64_t exposure_ns, last_ns;
    int64_t trip_start_ns;
    double trip_pnl;
    uint64_t trips, wins;
    double gross_win, gross_loss;
    int64_t holding_ns;
};

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */

int cscalp_sim_venue_config_init(cscalp_sim_venue_config *cfg)
{
    if (cfg == NULL)
        return CSCALP_EINVAL;
    if (cfg->size < sizeof *cfg)
        return CSCALP_ESTRUCT;
    const uint32_t size = cfg->size;
    memset(cfg, 0, sizeof *cfg);
    cfg->size = size;
    cfg->bracket_count = 10;
    cfg->maker_fee_bps = 2;
    cfg->taker_fee_bps = 5;
    cfg->order_latency_ns = 5000000;
    cfg->report_latency_ns = 5000000;
    cfg->wallet_quote = 10000;
    cfg->default_funding_rate = 0.0001;
    cfg->funding_interval_ns = 8 * 3600 * NS_PER_S;
    cfg->liquidation_fee_rate = 0.005;
    cfg->max_time_regression_ns = 100000000;
    cscalp_liq_table t;
    cscalp_liq_table_binance_btcusdt(&t);
    cfg->bracket_count = t.count;
    for (uint32_t i = 0; i < t.count; i++) {
        cfg->bracket_caps_quote[i] = t.brackets[i].notional_cap_usdt;
        cfg->bracket_rates[i] = t.brackets[i].maint_margin_rate;
        cfg->bracket_max_leverage[i] = t.brackets[i].max_leverage;
    }
    return CSCALP_OK;
}

static int config_check(const cscalp_sim_venue_config *c, cscalp_liq_table *t, char *why,
                        size_t cap)
{
#define NEED(cond, ...)                                                         \
    do {                                                                        \
        if (!(cond)) {                                                          \
            snprintf(why, cap, __VA_ARGS__);                                    \
            return CSCALP_ECONFIG_RANGE;                                        \
        }                                                                       \
    } while (0)
    NEED(c->bracket_count >= 1 && c->bracket_count <= CSCALP_SIM_MAX_BRACKETS,
         "bracket_count: must be in 1 … %d, got %u", CSCALP_SIM_MAX_BRACKETS, c->bracket_count);
    NEED(isfinite(c->maker_fee_bps) && c->maker_fee_bps >= -100 && c->maker_fee_bps <= 1000,
         "maker_fee_bps: must be in [-100, 1000], got %g", c->maker_fee_bps);
    NEED(isfinite(c->taker_fee_bps) && c->taker_fee_bps >= 0 && c->taker_fee_bps <= 1000 &&
             c->taker_fee_bps >= c->maker_fee_bps,
         "taker_fee_bps: must be in [0, 1000] and at least maker_fee_bps, got %g",
         c->taker_fee_bps);
    NEED(c->order_latency_ns >= 0 && c->order_latency_ns <= 60 * NS_PER_S,
         "order_latency_ns: must be in [0, 6e10], got %lld", (long long)c->order_latency_ns);
    NEED(c->report_latency_ns >= 0 && c->report_latency_ns <= 60 * NS_PER_S,
         "report_latency_ns: must be in [0, 6e10], got %lld", (long long)c->report_latency_ns);
    NEED(isfinite(c->wallet_quote) && c->wallet_quote > 0 && c->wallet_quote <= 1e15,
         "wallet_quote: must be in (0, 1e15], got %g", c->wallet_quote);
    NEED(isfinite(c->default_funding_rate) && fabs(c->default_funding_rate) <= 0.03,
         "default_funding_rate: must be in [-0.03, 0.03], got %g", c->default_funding_rate);
    NEED(c->funding_interval_ns == 0 ||
             (c->funding_interval_ns >= NS_PER_S && c->funding_interval_ns <= 7 * 86400 * NS_PER_S),
         "funding_interval_ns: must be 0 or in [1e9, 6.048e14], got %lld",
         (long long)c->funding_interval_ns);
    NEED(isfinite(c->liquidation_fee_rate) && c->liquidation_fee_rate >= 0 &&
             c->liquidation_fee_rate <= 0.1,
         "liquidation_fee_rate: must be in [0, 0.1], got %g", c->liquidation_fee_rate);
    NEED(c->max_time_regression_ns >= 0 && c->max_time_regression_ns <= 3600 * NS_PER_S,
         "max_time_regression_ns: must be in [0, 3.6e12], got %lld",
         (long long)c->max_time_regression_ns);
#undef NEED
    memset(t, 0, sizeof *t);
    t->count = c->bracket_count;
    for (uint32_t i = 0; i < c->bracket_count; i++) {
        cscalp_liq_bracket *b = &t->brackets[i];
        b->notional_floor_usdt = i == 0 ? 0.0 : c->bracket_caps_quote[i - 1];
        b->notional_cap_usdt = c->bracket_caps_quote[i];
        b->maint_margin_rate = c->bracket_rates[i];
        b->max_leverage = c->bracket_max_leverage[i];
    }
    cscalp_liq_table_derive_amounts(t);
    char inner[200];
    if (cscalp_liq_table_validate(t, inner, sizeof inner) != CSCALP_OK) {
        /* The table's own names (brackets[i].field) map one to one. */
        snprintf(why, cap, "bracket_*: %s", inner);
        return CSCALP_ECONFIG_RANGE;
    }
    return CSCALP_OK;
}

static int open_failed(char *errbuf, size_t cap, int code, const char *what)
{
    if (errbuf != NULL && cap > 0 && what != errbuf)
        snprintf(errbuf, cap, "%s", what);
    return code;
}

int cscalp_sim_venue_open(cscalp_sim_venue **out, const cscalp_sim_venue_config *cfg,
                          const cscalp_allocator *allocator, char *errbuf, size_t errbuf_cap)
{
    if (errbuf != NULL && errbuf_cap > 0)
        errbuf[0] = '\0';
    if (out == NULL || cfg == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "out or cfg: NULL pointer");
    *out = NULL;
    if (cfg->size != sizeof *cfg)
        return open_failed(errbuf, errbuf_cap, CSCALP_ESTRUCT,
                           "cfg->size: not the size of this library's cscalp_sim_venue_config");
    cscalp_allocator mem;
    if (cscalp_mem_init(&mem, allocator) != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL,
                           "allocator: alloc and free must both be set");
    char why[256];
    cscalp_liq_table table;
    int rc = config_check(cfg, &table, why, sizeof why);
    if (rc != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, rc, why);
    cscalp_sim_venue *v = cscalp_mem_calloc(&mem, 1, sizeof *v);
    if (v != NULL) {
        v->orders = cscalp_mem_calloc(&mem, CSCALP_SIM_VENUE_MAX_ORDERS, sizeof *v->orders);
        v->outbox = cscalp_mem_calloc(&mem, OUTBOX, sizeof *v->outbox);
    }
    if (v == NULL || v->orders == NULL || v->outbox == NULL) {
        if (v != NULL) {
            cscalp_mem_free(&mem, v->orders);
            cscalp_mem_free(&mem, v->outbox);
            cscalp_mem_free(&mem, v);
        }
        return open_failed(errbuf, errbuf_cap, CSCALP_ENOMEM, "venue: out of memory");
    }
    v->mem = mem;
    v->cfg = *cfg;
    v->table = table;
    v->last_settled_ns = INT64_MIN;
    v->next_funding_ns = INT64_MAX;
    cscalp_ledger_init(&v->ledger);
    *out = v;
    return CSCALP_OK;
}

void cscalp_sim_venue_close(cscalp_sim_venue *v)
{
    if (v == NULL)
        return;
    const cscalp_allocator mem = v->mem;
    cscalp_mem_free(&mem, v->orders);
    cscalp_mem_free(&mem, v->outbox);
    cscalp_mem_free(&mem, v);
}

/* ------------------------------------------------------------------------ */
/* Account                                                                  */

static double mid_of(const cscalp_sim_venue *v) { return 0.5 * (v->bid + v->ask); }

/* Binance marks positions at the mark price; the venue has it from funding
 * events while they are the newer news, else the mid. */
static double mark_of(const cscalp_sim_venue *v)
{
    if (v->funding_mark > 0 && (!v->has_top || v->funding_mark_ns > v->top_ns))
        return v->funding_mark;
    return v->has_top ? mid_of(v) : v->ledger.entry_price;
}

static double wallet_of(const cscalp_sim_venue *v)
{
    return v->cfg.wallet_quote + cscalp_ledger_realised(&v->ledger) -
           cscalp_ledger_fees(&v->ledger) - cscalp_ledger_funding(&v->ledger) -
           v->liquidation_fees;
}

static double equity_of(const cscalp_sim_venue *v)
{
    const double mark = mark_of(v);
    return wallet_of(v) + (mark > 0 ? cscalp_ledger_unrealised(&v->ledger, mark) : 0.0);
}

static void queue_update(cscalp_sim_venue *v, const cscalp_order_update *u)
{
    if (v->out_count == OUTBOX) {
        v->updates_lost++;
        return;
    }
    pending *p = &v->outbox[(v->out_head + v->out_count) % OUTBOX];
    v->out_count++;
    p->liquidation = 0;
    p->u = *u;
    p->u.size = sizeof p->u;
    p->u.ts_ns = v->clock;
    p->deliver_ns = v->clock + v->cfg.report_latency_ns;
}

static void simple_update(cscalp_sim_venue *v, uint64_t id, int type, const char *text)
{
    cscalp_order_update u;
    memset(&u, 0, sizeof u);
    u.type = type;
    u.client_id = id;
    u.text = text;
    queue_update(v, &u);
}

/* A round trip closes when the position returns to zero or flips. */
static void after_fill(cscalp_sim_venue *v, double before, double realised, double fee)
{
    const double after = v->ledger.position;
    if (before == 0.0) {
        v->trip_pnl = 0.0;
        v->trip_start_ns = v->clock;
    }
    v->trip_pnl += realised - fee;
    if (before != 0.0 && (after == 0.0 || (after > 0) != (before > 0))) {
        v->trips++;
        if (v->trip_pnl > 0) {
            v->wins++;
            v->gross_win += v->trip_pnl;
        } else {
            v->gross_loss -= v->trip_pnl;
        }
        v->holding_ns += v->clock - v->trip_start_ns;
        v->trip_pnl = 0.0;
        v->trip_start_ns = v->clock;
    }
}

/* Book one fill of order o and tell the host. */
static void fill(cscalp_sim_venue *v, venue_order *o, double price, double qty, int taker)
{
    const double fee =
        cscalp_ledger_fee(price, qty, taker ? v->cfg.taker_fee_bps : v->cfg.maker_fee_bps);
    const double before = v->ledger.position;
    cscalp_ledger_fill f;
    if (cscalp_ledger_apply_fill(&v->ledger, o->side, price, qty, fee, &f) != CSCALP_OK)
        return; /* finite positive prices and sizes only reach here */
    o->filled += qty;
    after_fill(v, before, f.realised, fee);
    if (taker)
        v->taker_fills++;
    else
        v->maker_fills++;
    cscalp_order_update u;
    memset(&u, 0, sizeof u);
    u.type = CSCALP_UPDATE_FILL;
    u.client_id = o->id;
    u.fill_id = ++v->next_fill_id;
    u.fill_price = price;
    u.fill_quantity = qty;
    u.fee = fee;
    u.liquidity = taker ? CSCALP_LIQUIDITY_TAKER : CSCALP_LIQUIDITY_MAKER;
    queue_update(v, &u);
}

/* How much of an order may still fill: a reduce-only order never past the
 * position it reduces. */
static double fillable(const cscalp_sim_venue *v, const venue_order *o)
{
    double left = o->qty - o->filled;
    if (o->reduce_only) {
        const double pos = v->ledger.position;
        const double reducible = (pos > 0 && o->side < 0) || (pos < 0 && o->side > 0) ? fabs(pos)
                                                                                      : 0.0;
        left = fmin(left, reducible);
    }
    return left > 1e-12 * fmax(1.0, o->qty) ? left : 0.0;
}

static int order_done(const venue_order *o)
{
    return o->qty - o->filled <= 1e-12 * fmax(1.0, o->qty);
}

/* ------------------------------------------------------------------------ */
/* Matching                                                                 */

static int same_price(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(fabs(a), 1.0); }

/* The depth a taker on `side` takes from: the latest book when it is at
 * least as new as the touch, else the touch alone. */
static uint32_t opposite_levels(cscalp_sim_venue *v, int side, cscalp_level **levels,
                                cscalp_level *touch)
{
    const int book_current = v->book_seq >= v->top_seq;
    if (side > 0) {
        if (book_current && v->ask_count > 0) {
            *levels = v->asks;
            return v->ask_count;
        }
        touch->price = v->ask;
        touch->size = v->ask_size;
    } else {
        if (book_current && v->bid_count > 0) {
            *levels = v->bids;
            return v->bid_count;
        }
        touch->price = v->bid;
        touch->size = v->bid_size;
    }
    *levels = touch;
    return 1;
}

/* Take liquidity up to the order's price (0: any), level by level; what
 * is taken is gone from the venue's copy of the book until the market
 * shows it again. */
static void take(cscalp_sim_venue *v, venue_order *o)
{
    cscalp_level touch;
    cscalp_level *levels = NULL;
    const uint32_t n = opposite_levels(v, o->side, &levels, &touch);
    for (uint32_t i = 0; i < n; i++) {
        const double want = fillable(v, o);
        if (want <= 0)
            break;
        cscalp_level *l = &levels[i];
        if (o->price > 0 && (o->side > 0 ? l->price > o->price : l->price < o->price))
            break;
        const double q = fmin(want, l->size);
        if (q <= 0)
            continue;
        fill(v, o, l->price, q, 1);
        l->size -= q;
    }
    if (levels == &touch) {
        if (o->side > 0)
            v->ask_size = touch.size;
        else
            v->bid_size = touch.size;
    }
}

/* Size displayed at `price` on the order's own side when it arrives: the
 * queue it joins. Inside the spread nobody is ahead; between displayed
 * levels nobody; beyond the displayed depth the deepest level's size (we
 * cannot see it; assume as much as the last level we can). */
static double displayed_at(const cscalp_sim_venue *v, int side, double price)
{
    const double best = side > 0 ? v->bid : v->ask;
    if (side > 0 ? price > best : price < best)
        return 0.0;
    if (same_price(price, best))
        return side > 0 ? v->bid_size : v->ask_size;
    const uint32_t n = side > 0 ? v->bid_count : v->ask_count;
    const cscalp_level *l = side > 0 ? v->bids : v->asks;
    if (n == 0)
        return side > 0 ? v->bid_size : v->ask_size;
    for (uint32_t i = 0; i < n; i++) {
        if (same_price(l[i].price, price))
            return l[i].size;
        if (side > 0 ? l[i].price < price : l[i].price > price)
            return 0.0;
    }
    return l[n - 1].size;
}

static int would_cross(const cscalp_sim_venue *v, int side, double price)
{
    return side > 0 ? price >= v->ask : price <= v->bid;
}

/* Initial margin for the position this order could leave: its notional
 * over the tier's leverage must fit the equity. Reduce-only orders and
 * orders that shrink the position pass. */
static int margin_ok(const cscalp_sim_venue *v, const venue_order *o, double price)
{
    const double pos = v->ledger.position;
    double worst = pos + o->side * (o->qty - o->filled);
    for (uint32_t i = 0; i < v->n_orders; i++) {
        const venue_order *w = &v->orders[i];
        if (w != o && w->arrived && w->side == o->side && !w->reduce_only)
            worst += w->side * (w->qty - w->filled);
    }
    if (o->reduce_only || fabs(worst) <= fabs(pos))
        return 1;
    const double notional = fabs(worst) * price;
    double leverage = 0;
    if (cscalp_liq_max_leverage(&v->table, notional, &leverage) != CSCALP_OK)
        return 0; /* above the last tier */
    return notional / leverage <= equity_of(v);
}

static void close_order(cscalp_sim_venue *v, uint32_t i)
{
    memmove(&v->orders[i], &v->orders[i + 1], (v->n_orders - i - 1) * sizeof v->orders[0]);
    v->n_orders--;
}

/* An order reaches the venue. Returns 1 when it closed. */
static int arrive(cscalp_sim_venue *v, venue_order *o)
{
    o->arrived = 1;
    if (!v->has_top) {
        v->rejects++;
        simple_update(v, o->id, CSCALP_UPDATE_REJECTED, "no market: the venue has no quote");
        return 1;
    }
    if (o->reduce_only && fillable(v, o) <= 0) {
        v->rejects++;
        simple_update(v, o->id, CSCALP_UPDATE_REJECTED, "ReduceOnly Order is rejected.");
        return 1;
    }
    const double ref = o->price > 0 ? o->price : (o->side > 0 ? v->ask : v->bid);
    if (!margin_ok(v, o, ref)) {
        v->rejects++;
        simple_update(v, o->id, CSCALP_UPDATE_REJECTED, "Margin is insufficient.");
        return 1;
    }
    if (o->type == CSCALP_ORDER_POST_ONLY && would_cross(v, o->side, o->price)) {
        v->rejects++;
        simple_update(v, o->id, CSCALP_UPDATE_REJECTED,
                      "Post Only order will be rejected as it would take liquidity.");
        return 1;
    }
    simple_update(v, o->id, CSCALP_UPDATE_ACK, NULL);
    if (o->type == CSCALP_ORDER_MARKET) {
        take(v, o);
        if (!order_done(o))
            simple_update(v, o->id, CSCALP_UPDATE_EXPIRED, NULL); /* IOC remainder */
        return 1;
    }
    if (o->type == CSCALP_ORDER_LIMIT && would_cross(v, o->side, o->price)) {
        take(v, o);
        if (order_done(o))
            return 1;
    }
    if (o->tif == CSCALP_TIF_IOC) {
        /* Immediate or cancel: whatever did not fill now expires. */
        if (!order_done(o))
            simple_update(v, o->id, CSCALP_UPDATE_EXPIRED, NULL);
        return 1;
    }
    o->queue_ahead = displayed_at(v, o->side, o->price);
    return 0;
}

/* Orders that are done leave; a reduce-only order with no position left
 * to reduce expires (whatever closed the position: its own fill, another
 * order, a liquidation). */
static void sweep_closed(cscalp_sim_venue *v)
{
    for (uint32_t i = 0; i < v->n_orders;) {
        venue_order *o = &v->orders[i];
        if (o->arrived && order_done(o)) {
            close_order(v, i);
            continue;
        }
        if (o->arrived && o->reduce_only && fillable(v, o) <= 0) {
            simple_update(v, o->id, CSCALP_UPDATE_EXPIRED, NULL);
            close_order(v, i);
            continue;
        }
        i++;
    }
}

/* Resting orders against a trade. Through the price, the level was
 * cleared: the rest of each order fills. At the price, the trade's volume
 * first goes to the size that was displayed ahead of an order when it
 * arrived, and what is left fills our orders in the order they arrived;
 * one trade's volume is never counted twice. */
static void trade_against_resting(cscalp_sim_venue *v, const cscalp_trade *t)
{
    double pool = t->size; /* volume at the price not yet given to our orders */
    for (uint32_t i = 0; i < v->n_orders; i++) {
        venue_order *o = &v->orders[i];
        /* A buy rests on the bid: sellers (SELL aggressors) trade with it. */
        if (!o->arrived || o->type == CSCALP_ORDER_MARKET || t->side == o->side)
            continue;
        double q = 0.0;
        if (o->side > 0 ? t->price < o->price : t->price > o->price) {
            q = fillable(v, o);
        } else if (same_price(t->price, o->price)) {
            const double excess = pool - o->queue_ahead;
            o->queue_ahead = o->queue_ahead > t->size ? o->queue_ahead - t->size : 0.0;
            if (excess > 0) {
                q = fmin(fillable(v, o), excess);
                pool -= q;
            }
        }
        if (q > 0)
            fill(v, o, o->price, q, 0);
    }
    sweep_closed(v);
}

/* The touch moved through resting orders: they traded on the way. */
static void touch_against_resting(cscalp_sim_venue *v)
{
    for (uint32_t i = 0; i < v->n_orders; i++) {
        venue_order *o = &v->orders[i];
        if (!o->arrived || o->type == CSCALP_ORDER_MARKET ||
            !(o->side > 0 ? v->ask <= o->price : v->bid >= o->price))
            continue;
        const double q = fillable(v, o);
        if (q > 0)
            fill(v, o, o->price, q, 0);
    }
    sweep_closed(v);
}

/* ------------------------------------------------------------------------ */
/* Time                                                                     */

static void settle_funding(cscalp_sim_venue *v, int64_t t)
{
    const double rate = v->funding_events ? v->funding_rate : v->cfg.default_funding_rate;
    const double mark = mark_of(v);
    double payment = 0.0;
    if (mark > 0)
        cscalp_ledger_apply_funding(&v->ledger, rate, mark, &payment);
    v->trip_pnl -= payment;
    v->last_settled_ns = t;
}

static void next_default_settlement(cscalp_sim_venue *v, int64_t after)
{
    const int64_t k = v->cfg.funding_interval_ns;
    if (v->funding_events || k == 0) {
        if (!v->funding_events)
            v->next_funding_ns = INT64_MAX;
        return;
    }
    int64_t q = after / k;
    if (after % k != 0 && after < 0)
        q--;
    v->next_funding_ns = (q + 1) * k;
}

static void liquidate_if_due(cscalp_sim_venue *v)
{
    const double pos = v->ledger.position;
    const double mark = mark_of(v);
    if (pos == 0.0 || !(mark > 0))
        return;
    double mm = 0;
    if (cscalp_liq_maintenance_margin(&v->table, fabs(pos) * mark, &mm) != CSCALP_OK)
        return;
    if (equity_of(v) > mm)
        return;
    /* Working orders are cancelled, as the venue does. */
    for (uint32_t i = 0; i < v->n_orders; i++)
        if (v->orders[i].arrived)
            simple_update(v, v->orders[i].id, CSCALP_UPDATE_CANCELLED, NULL);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < v->n_orders; i++)
        if (!v->orders[i].arrived)
            v->orders[kept++] = v->orders[i];
    v->n_orders = kept;
    /* Closed at the mark, or at the bankruptcy price (equity 0) when the
     * mark has gone past it: isolated margin loses the wallet at most, the
     * insurance fund takes the rest. The fee comes out of what is left. */
    const double wallet = wallet_of(v);
    /* Equity wallet + pos·(P − entry) is 0 at P = entry − wallet / pos,
     * for a long and a short alike. */
    const double bankrupt = v->ledger.entry_price - wallet / pos;
    double price = mark;
    if (pos > 0 && mark < bankrupt)
        price = bankrupt;
    if (pos < 0 && mark > bankrupt)
        price = bankrupt;
    if (!(price > 0))
        price = mark;
    const double before = v->ledger.position;
    cscalp_ledger_fill f;
    const int side = pos > 0 ? CSCALP_SIDE_SELL : CSCALP_SIDE_BUY;
    if (cscalp_ledger_apply_fill(&v->ledger, side, price, fabs(pos), 0.0, &f) != CSCALP_OK)
        return;
    const double left = wallet_of(v);
    const double fee = fmin(fabs(pos) * price * v->cfg.liquidation_fee_rate, left > 0 ? left : 0.0);
    v->liquidation_fees += fee;
    after_fill(v, before, f.realised, fee);
    v->liquidations++;
    /* The host hears of it in the update stream, after what came before. */
    if (v->out_count == OUTBOX) {
        v->updates_lost++;
        return;
    }
    pending *p = &v->outbox[(v->out_head + v->out_count) % OUTBOX];
    v->out_count++;
    memset(p, 0, sizeof *p);
    p->liquidation = 1;
    p->position = v->ledger.position;
    p->entry = v->ledger.entry_price;
    p->deliver_ns = v->clock + v->cfg.report_latency_ns;
}

/* The equity path for the report: a sample at every whole minute of event
 * time (the equity then is the one before the event at t applies). */
static void sample_equity(cscalp_sim_venue *v, int64_t t)
{
    const double e = equity_of(v);
    if (!v->first_equity_set) {
        v->first_equity_set = 1;
        v->first_ns = t;
        v->minute = t / NS_PER_MIN;
        v->minute_equity = e;
        v->peak_equity = e;
        v->last_ns = t;
        return;
    }
    if (v->ledger.position != 0.0)
        v->exposure_ns += t - v->last_ns;
    v->last_ns = t;
    const int64_t m = t / NS_PER_MIN;
    if (m > v->minute) {
        /* One return for the minute the equity moved in, then zeros for
         * the minutes with no event (merged in one step: Chan et al.'s
         * pairwise update with a block of m zeros). */
        const double r = v->minute_equity > 0 ? e / v->minute_equity - 1.0 : 0.0;
        v->returns++;
        const double d = r - v->ret_mean;
        v->ret_mean += d / (double)v->returns;
        v->ret_m2 += d * (r - v->ret_mean);
        if (r < 0)
            v->downside_sq += r * r;
        const double zeros = (double)(m - v->minute - 1);
        if (zeros > 0) {
            const double n = (double)v->returns, total = n + zeros;
            const double dz = -v->ret_mean;
            v->ret_mean += dz * zeros / total;
            v->ret_m2 += dz * dz * n * zeros / total;
            v->returns += (uint64_t)zeros;
        }
        v->minute = m;
        v->minute_equity = e;
    }
    if (e > v->peak_equity)
        v->peak_equity = e;
    if (v->peak_equity - e > v->max_drawdown)
        v->max_drawdown = v->peak_equity - e;
    if (v->peak_equity > 0 && (v->peak_equity - e) / v->peak_equity > v->max_drawdown_fraction)
        v->max_drawdown_fraction = (v->peak_equity - e) / v->peak_equity;
}

/* Everything due up to t, in time order: settlements and arrivals. */
static int advance(cscalp_sim_venue *v, int64_t t)
{
    if (v->started && t < v->clock) {
        if (v->clock - t > v->cfg.max_time_regression_ns)
            return CSCALP_ETIME;
        t = v->clock; /* late within the tolerance: at the clock, as the engine takes it */
    }
    if (!v->started) {
        v->started = 1;
        v->clock = t;
        next_default_settlement(v, t - 1);
    }
    for (;;) {
        /* The earliest of: the next settlement, the next arrival, the next
         * cancel, all at or before t. */
        int64_t when = INT64_MAX;
        int what = 0;
        uint32_t which = 0;
        if (v->next_funding_ns <= t) {
            when = v->next_funding_ns;
            what = 1;
        }
        for (uint32_t i = 0; i < v->n_orders; i++) {
            const venue_order *o = &v->orders[i];
            if (!o->arrived && o->arrive_ns <= t && o->arrive_ns < when) {
                when = o->arrive_ns;
                what = 2;
                which = i;
            }
            if (o->cancel_ns <= t && o->cancel_ns < when && o->arrived) {
                when = o->cancel_ns;
                what = 3;
                which = i;
            }
        }
        if (what == 0)
            break;
        if (when > v->clock)
            v->clock = when;
        if (what == 1) {
            settle_funding(v, when);
            if (v->funding_events)
                v->next_funding_ns = INT64_MAX;
            else
                next_default_settlement(v, when);
        } else if (what == 2) {
            if (arrive(v, &v->orders[which]))
                close_order(v, which);
        } else {
            simple_update(v, v->orders[which].id, CSCALP_UPDATE_CANCELLED, NULL);
            close_order(v, which);
        }
        sweep_closed(v);
        liquidate_if_due(v);
    }
    sample_equity(v, t);
    v->clock = t;
    return CSCALP_OK;
}

int cscalp_sim_venue_advance(cscalp_sim_venue *v, int64_t now_ns)
{
    return v == NULL ? CSCALP_EINVAL : advance(v, now_ns);
}

int cscalp_sim_venue_on_trade(cscalp_sim_venue *v, const cscalp_trade *t)
{
    if (v == NULL || t == NULL)
        return CSCALP_EINVAL;
    const int rc = advance(v, t->ts_ns);
    if (rc != CSCALP_OK)
        return rc;
    trade_against_resting(v, t);
    liquidate_if_due(v);
    sweep_closed(v);
    return CSCALP_OK;
}

static void set_top(cscalp_sim_venue *v, double bid, double bid_size, double ask, double ask_size,
                    int64_t t)
{
    v->has_top = 1;
    v->top_seq = ++v->seq;
    v->bid = bid;
    v->bid_size = bid_size;
    v->ask = ask;
    v->ask_size = ask_size;
    v->top_ns = t;
}

int cscalp_sim_venue_on_quote(cscalp_sim_venue *v, const cscalp_quote *q)
{
    if (v == NULL || q == NULL)
        return CSCALP_EINVAL;
    const int rc = advance(v, q->ts_ns);
    if (rc != CSCALP_OK)
        return rc;
    set_top(v, q->bid_price, q->bid_size, q->ask_price, q->ask_size, v->clock);
    touch_against_resting(v);
    liquidate_if_due(v);
    return CSCALP_OK;
}

int cscalp_sim_venue_on_book(cscalp_sim_venue *v, const cscalp_book *b)
{
    if (v == NULL || b == NULL || b->bid_count < 1 || b->ask_count < 1 ||
        b->bid_count > CSCALP_BOOK_MAX_LEVELS || b->ask_count > CSCALP_BOOK_MAX_LEVELS)
        return CSCALP_EINVAL;
    const int rc = advance(v, b->ts_ns);
    if (rc != CSCALP_OK)
        return rc;
    v->bid_count = b->bid_count;
    v->ask_count = b->ask_count;
    memcpy(v->bids, b->bids, b->bid_count * sizeof b->bids[0]);
    memcpy(v->asks, b->asks, b->ask_count * sizeof b->asks[0]);
    v->book_seq = v->seq + 1; /* the touch below takes the same number: the book is current */
    set_top(v, b->bids[0].price, b->bids[0].size, b->asks[0].price, b->asks[0].size, v->clock);
    touch_against_resting(v);
    liquidate_if_due(v);
    return CSCALP_OK;
}

int cscalp_sim_venue_on_funding(cscalp_sim_venue *v, const cscalp_funding *f)
{
    if (v == NULL || f == NULL)
        return CSCALP_EINVAL;
    const int rc = advance(v, f->ts_ns);
    if (rc != CSCALP_OK)
        return rc;
    v->funding_mark = f->mark_price;
    v->funding_mark_ns = v->clock;
    v->funding_rate = f->funding_rate;
    if (f->next_funding_ts_ns > 0) {
        /* From the first announcement on, the events are the schedule. */
        v->funding_events = 1;
        v->next_funding_ns =
            f->next_funding_ts_ns > v->last_settled_ns ? f->next_funding_ts_ns : INT64_MAX;
    }
    liquidate_if_due(v);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Orders and updates                                                       */

int cscalp_sim_venue_submit(cscalp_sim_venue *v, const cscalp_intent *in)
{
    if (v == NULL || in == NULL)
        return CSCALP_EINVAL;
    if (in->size < sizeof *in)
        return CSCALP_ESTRUCT;
    if (in->kind == CSCALP_INTENT_CANCEL) {
        for (uint32_t i = 0; i < v->n_orders; i++)
            if (v->orders[i].id == in->client_id && v->orders[i].cancel_ns == INT64_MAX) {
                v->orders[i].cancel_ns = in->ts_ns + v->cfg.order_latency_ns;
                /* A cancel cannot overtake its order. */
                if (v->orders[i].cancel_ns < v->orders[i].arrive_ns)
                    v->orders[i].cancel_ns = v->orders[i].arrive_ns;
            }
        return CSCALP_OK; /* an order already closed: nothing to do, as a venue's "unknown order" */
    }
    if (in->kind != CSCALP_INTENT_NEW ||
        (in->side != CSCALP_SIDE_BUY && in->side != CSCALP_SIDE_SELL) ||
        in->type < CSCALP_ORDER_LIMIT || in->type > CSCALP_ORDER_MARKET ||
        !(in->quantity > 0) || !isfinite(in->quantity) || !isfinite(in->price) ||
        in->price < 0 || (in->type != CSCALP_ORDER_MARKET && !(in->price > 0)) ||
        in->client_id <= v->highest_id)
        return CSCALP_EINVAL;
    if (v->n_orders == CSCALP_SIM_VENUE_MAX_ORDERS)
        return CSCALP_EBUFFER;
    venue_order *o = &v->orders[v->n_orders++];
    memset(o, 0, sizeof *o);
    o->id = in->client_id;
    o->side = in->side;
    o->type = in->type;
    o->tif = in->time_in_force;
    o->reduce_only = (in->flags & CSCALP_INTENT_REDUCE_ONLY) != 0;
    o->price = in->price;
    o->qty = in->quantity;
    o->arrive_ns = in->ts_ns + v->cfg.order_latency_ns;
    if (v->started && o->arrive_ns < v->clock)
        o->arrive_ns = v->clock; /* an intent from the past arrives now */
    o->cancel_ns = INT64_MAX;
    v->highest_id = in->client_id;
    return CSCALP_OK;
}

int cscalp_sim_venue_poll(cscalp_sim_venue *v, int64_t now_ns, cscalp_order_update *out,
                          size_t cap)
{
    if (v == NULL || (out == NULL && cap > 0))
        return CSCALP_EINVAL;
    if (cap == 0)
        return 0;
    const size_t stride = out[0].size;
    if (stride < sizeof *out || stride > 65536)
        return CSCALP_ESTRUCT;
    size_t n = 0;
    char *p = (char *)out;
    while (n < cap && n < (size_t)INT32_MAX && v->out_count > 0 &&
           v->outbox[v->out_head].deliver_ns <= now_ns) {
        const pending *q = &v->outbox[v->out_head];
        if (q->liquidation) {
            if (n > 0)
                break; /* the host applies what came before, then hears of it */
            v->liquidations_reported++;
            v->position_reported = q->position;
            v->entry_reported = q->entry;
            v->out_head = (v->out_head + 1) % OUTBOX;
            v->out_count--;
            continue;
        }
        cscalp_order_update u = q->u;
        u.size = (uint32_t)stride;
        memset(p + n * stride, 0, stride);
        memcpy(p + n * stride, &u, sizeof u);
        v->out_head = (v->out_head + 1) % OUTBOX;
        v->out_count--;
        n++;
    }
    return (int)n;
}

int cscalp_sim_venue_get_account(const cscalp_sim_venue *v, cscalp_sim_venue_account *out)
{
    if (v == NULL || out == NULL)
        return CSCALP_EINVAL;
    if (out->size < sizeof *out)
        return CSCALP_ESTRUCT;
    cscalp_sim_venue_account a;
    memset(&a, 0, sizeof a);
    a.size = out->size;
    a.working_orders = v->n_orders;
    a.position = v->ledger.position;
    a.entry_price = v->ledger.entry_price;
    a.wallet = wallet_of(v);
    a.equity = equity_of(v);
    a.mark_price = mark_of(v);
    a.fills = v->maker_fills + v->taker_fills;
    a.liquidations = v->liquidations;
    a.liquidations_reported = v->liquidations_reported;
    a.position_reported = v->position_reported;
    a.entry_reported = v->entry_reported;
    if (a.position != 0.0) {
        cscalp_liq_result r;
        const double wallet = a.wallet > 0 ? a.wallet : 0.0;
        if (cscalp_liq_price(&v->table, a.position > 0 ? CSCALP_LIQ_LONG : CSCALP_LIQ_SHORT,
                             fabs(a.position), a.entry_price, wallet, &r) == CSCALP_OK &&
            r.liquidates)
            a.liquidation_price = r.price;
    }
    memcpy(out, &a, sizeof a);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Report                                                                   */

int cscalp_sim_venue_report_json(const cscalp_sim_venue *v, char *buf, size_t cap,
                                 size_t *needed)
{
    if (v == NULL || (buf == NULL && cap > 0))
        return CSCALP_EINVAL;
    const cscalp_ledger *l = &v->ledger;
    const double equity = equity_of(v);
    const double fees = cscalp_ledger_fees(l), funding = cscalp_ledger_funding(l);
    const double mark = mark_of(v);
    const double gross = cscalp_ledger_realised(l) +
                         (mark > 0 ? cscalp_ledger_unrealised(l, mark) : 0.0);
    const double net = equity - v->cfg.wallet_quote;
    const double sd = v->returns > 1 ? sqrt(v->ret_m2 / (double)(v->returns - 1)) : 0.0;
    const double downside = v->returns > 0 ? sqrt(v->downside_sq / (double)v->returns) : 0.0;
    const int64_t span = v->first_equity_set ? v->last_ns - v->first_ns : 0;

    cscalp_json_writer w;
    cscalp_jw_init(&w, buf, cap);
    cscalp_jw_begin_object(&w, NULL);
    cscalp_jw_double(&w, "net_pnl", net);
    cscalp_jw_double(&w, "gross_pnl", gross);
    cscalp_jw_double(&w, "fees", fees);
    cscalp_jw_double(&w, "funding", funding);
    cscalp_jw_double(&w, "liquidation_fees", v->liquidation_fees);
    cscalp_jw_double(&w, "start_equity", v->cfg.wallet_quote);
    cscalp_jw_double(&w, "end_equity", equity);
    cscalp_jw_double(&w, "return", net / v->cfg.wallet_quote);
    cscalp_jw_uint(&w, "minute_returns", v->returns);
    cscalp_jw_double(&w, "sharpe", sd > 0 ? v->ret_mean / sd * ANNUALISE_1MIN : 0.0);
    /* No losing minute: unbounded (null) when the mean is positive. */
    cscalp_jw_double(&w, "sortino",
                     downside > 0      ? v->ret_mean / downside * ANNUALISE_1MIN
                     : v->ret_mean > 0 ? (double)NAN
                                       : 0.0);
    cscalp_jw_double(&w, "max_drawdown", v->max_drawdown);
    cscalp_jw_double(&w, "max_drawdown_fraction", v->max_drawdown_fraction);
    cscalp_jw_uint(&w, "round_trips", v->trips);
    cscalp_jw_double(&w, "win_rate", v->trips > 0 ? (double)v->wins / (double)v->trips : 0.0);
    /* No losing trip: the factor is unbounded; JSON has no infinity, so
     * null (and 0 with no trip at all). */
    cscalp_jw_double(&w, "profit_factor",
                     v->gross_loss > 0 ? v->gross_win / v->gross_loss
                     : v->gross_win > 0 ? (double)NAN
                                        : 0.0);
    cscalp_jw_double(&w, "turnover", cscalp_ledger_turnover(l));
    cscalp_jw_uint(&w, "fills", v->maker_fills + v->taker_fills);
    cscalp_jw_uint(&w, "maker_fills", v->maker_fills);
    cscalp_jw_uint(&w, "taker_fills", v->taker_fills);
    cscalp_jw_uint(&w, "rejects", v->rejects);
    cscalp_jw_uint(&w, "liquidations", v->liquidations);
    cscalp_jw_double(&w, "exposure_fraction",
                     span > 0 ? (double)v->exposure_ns / (double)span : 0.0);
    cscalp_jw_double(&w, "average_holding_s",
                     v->trips > 0 ? (double)v->holding_ns / (double)v->trips / 1e9 : 0.0);
    cscalp_jw_double(&w, "span_s", (double)span / 1e9);
    cscalp_jw_double(&w, "position", l->position);
    cscalp_jw_uint(&w, "updates_lost", v->updates_lost);
    cscalp_jw_begin_object(&w, "config");
    cscalp_jw_double(&w, "maker_fee_bps", v->cfg.maker_fee_bps);
    cscalp_jw_double(&w, "taker_fee_bps", v->cfg.taker_fee_bps);
    cscalp_jw_int(&w, "order_latency_ns", v->cfg.order_latency_ns);
    cscalp_jw_int(&w, "report_latency_ns", v->cfg.report_latency_ns);
    cscalp_jw_double(&w, "wallet_quote", v->cfg.wallet_quote);
    cscalp_jw_double(&w, "default_funding_rate", v->cfg.default_funding_rate);
    cscalp_jw_int(&w, "funding_interval_ns", v->cfg.funding_interval_ns);
    cscalp_jw_double(&w, "liquidation_fee_rate", v->cfg.liquidation_fee_rate);
    cscalp_jw_int(&w, "max_time_regression_ns", v->cfg.max_time_regression_ns);
    cscalp_jw_uint(&w, "bracket_count", v->cfg.bracket_count);
    cscalp_jw_end_object(&w);
    cscalp_jw_end_object(&w);
    const int rc = cscalp_jw_finish(&w, needed);
    return buf == NULL ? CSCALP_OK : rc;
}
