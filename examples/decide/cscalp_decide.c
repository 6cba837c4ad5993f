/*
 * cscalp-decide — the decision path end to end on recorded market data: one
 * engine learning inline at autonomy AUTONOMOUS, its intents executed by a
 * deliberately plain paper venue, every fill reported back, and a JSON
 * summary that explains what happened (intents by reason, fills, PnL, the
 * worst order rates and exposure seen, and an independent check of every
 * intent against the configured limits).
 *
 *   cscalp-decide [--config JSON] [--max-events N] [--stats] [FILE...]
 *
 * FILEs are Binance USDⓈ-M captures (gzip), read in order through one
 * engine; the bundled sample by default. --config replaces the default
 * configuration below (keys not given keep the library's defaults).
 *
 * The paper venue (not a market simulator: that is the backtest host's
 * job) answers at the next market event after an intent is polled:
 *   - POST_ONLY: acknowledged, unless it would cross the touch then
 *     (expired, as a GTX order is); it fills in full at its price when a
 *     trade prints through it (a buy when a trade prints below it) or the
 *     opposite touch reaches it. Maker fee fees.maker_bps.
 *   - MARKET (IOC): fills in full at the touch if the touch is within its
 *     protection price, else expires. Taker fee fees.taker_bps.
 *   - CANCEL: cancelled, unless it filled first.
 * Fill ids count from 1. The venue keeps its own position from the fills,
 * which the summary compares with the engine's.
 *
 * Exit status: 1 for an I/O error, 2 for bad arguments, 3 when a check
 * failed (a limit violated, positions disagree), else 0.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binance_capture.h"
#include "cryptoscalp.h"

#define EXIT_IO 1
#define EXIT_USAGE 2
#define EXIT_CHECK 3
#define MAX_ORDERS 256
#define INTENTS_PER_POLL 64
#define RATE_RING 8192

/* The configuration the run uses, before --config: learning inline, a
 * fast decision grid and limits sized for a 10 000 USDT account on BTC. */
static const char *const base_config =
    "{\"learn\":{\"mode\":\"inline\"},"
    "\"policy\":{\"decide_interval_ms\":250},"
    "\"risk\":{\"max_order_contracts\":0.05,\"max_position_contracts\":0.1,"
    "\"max_orders_per_s\":2,\"max_orders_per_min\":30}}";

typedef struct paper_order {
    uint64_t id;
    int side, type;
    double price, quantity;
    int acked, cancel_requested, live;
} paper_order;

typedef struct limits {
    double max_order, max_notional, max_position, collar_bps, tick, lot, maker_bps, taker_bps;
    long per_s, per_min, max_open;
} limits;

typedef struct run {
    cscalp_engine *engine;
    limits lim;
    paper_order orders[MAX_ORDERS];
    size_t n_orders;
    uint64_t next_fill_id;
    double bid, ask;
    int has_touch;
    int64_t now;
    /* What the host saw. */
    uint64_t events, intents_new, intents_cancel, by_reason[8], needs_confirmation;
    uint64_t fills, maker_fills, taker_fills, acks, expired, cancelled, update_errors;
    double venue_position, max_abs_position, fees_paid;
    int64_t sent_ns[RATE_RING];
    uint64_t sent_count;
    long worst_per_s, worst_per_min;
    uint64_t violations;
    char first_violation[256];
    uint64_t health_by_event[32];
    int killed; /* the kill switch tripped: only reducing intents may follow */
} run;

static void health(const cscalp_health_event *ev, void *user)
{
    run *r = user;
    if (ev->event >= 0 && ev->event < 32)
        r->health_by_event[ev->event]++;
    if (ev->event == CSCALP_EVENT_KILL_SWITCH && ev->severity == CSCALP_SEVERITY_CRITICAL)
        r->killed = 1;
}

/* `what` names the rule; a and b are the value and the limit. */
static void violation(run *r, const char *what, double a, double b)
{
    if (r->violations++ == 0)
        snprintf(r->first_violation, sizeof r->first_violation, "%s (%g against %g)", what, a,
                 b);
}

static double engine_position(const run *r)
{
    cscalp_position p;
    p.size = sizeof p;
    cscalp_get_position(r->engine, &p);
    return p.position;
}

static int on_grid(double v, double step)
{
    const double k = v / step;
    return fabs(k - nearbyint(k)) < 1e-6;
}

/* Every NEW intent against the limits, checked here without the engine. */
static void check_new(run *r, const cscalp_intent *it)
{
    const limits *l = &r->lim;
    const double mid = 0.5 * (r->bid + r->ask);
    if (it->quantity > l->max_order * (1 + 1e-12))
        violation(r, "quantity above risk.max_order_contracts", it->quantity, l->max_order);
    if (it->quantity * it->price > l->max_notional * (1 + 1e-12))
        violation(r, "notional above risk.max_order_notional_quote", it->quantity * it->price, l->max_notional);
    if (fabs(it->price - mid) / mid * 1e4 > l->collar_bps * (1 + 1e-9))
        violation(r, "price outside the collar around the mid", it->price, mid);
    if (!on_grid(it->price, l->tick))
        violation(r, "price off the tick grid", it->price, l->tick);
    if (it->reason != CSCALP_INTENT_KILL_SWITCH && !on_grid(it->quantity, l->lot))
        violation(r, "quantity off the lot grid", it->quantity, l->lot);
    /* Worst case: every working order on the side fills. */
    double working = 0;
    long open = 0;
    for (size_t i = 0; i < r->n_orders; i++)
        if (r->orders[i].live) {
            open++;
            if (r->orders[i].side == it->side)
                working += r->orders[i].quantity;
        }
    const double pos = engine_position(r);
    const double worst = pos + it->side * (working + it->quantity);
    const int reduces = (pos > 0 && it->side < 0 && working + it->quantity <= pos + 1e-12) ||
                        (pos < 0 && it->side > 0 && working + it->quantity <= -pos + 1e-12);
    if (!reduces && fabs(worst) > l->max_position * (1 + 1e-12))
        violation(r, "worst-case position above risk.max_position_contracts", worst, l->max_position);
    if ((it->flags & CSCALP_INTENT_REDUCE_ONLY) && !reduces)
        violation(r, "reduce-only intent does not reduce the position", it->quantity, pos);
    if (r->killed && !(it->flags & CSCALP_INTENT_REDUCE_ONLY))
        violation(r, "an intent after the kill switch is not reduce-only", it->quantity, pos);
    if (open + 1 > l->max_open)
        violation(r, "open orders above risk.max_open_orders_count", (double)(open + 1), (double)l->max_open);
    /* Rates over the NEW intents sent, in event time. */
    r->sent_ns[r->sent_count % RATE_RING] = it->ts_ns;
    r->sent_count++;
    long in_s = 0, in_min = 0;
    for (uint64_t k = 0; k < r->sent_count && k < RATE_RING; k++) {
        const int64_t t = r->sent_ns[(r->sent_count - 1 - k) % RATE_RING];
        if (it->ts_ns - t < 1000000000LL)
            in_s++;
        if (it->ts_ns - t < 60000000000LL)
            in_min++;
        else
            break;
    }
    if (in_s > r->worst_per_s)
        r->worst_per_s = in_s;
    if (in_min > r->worst_per_min)
        r->worst_per_min = in_min;
    if (in_s > l->per_s)
        violation(r, "orders within a second above risk.max_orders_per_s", (double)in_s, (double)l->per_s);
    if (in_min > l->per_min)
        violation(r, "orders within a minute above risk.max_orders_per_min", (double)in_min, (double)l->per_min);
}

static void report(run *r, cscalp_order_update *u)
{
    u->size = sizeof *u;
    u->ts_ns = r->now;
    if (cscalp_on_order(r->engine, u) != CSCALP_OK)
        r->update_errors++;
}

static void fill(run *r, paper_order *o, double price, int taker)
{
    const double fee = price * o->quantity * (taker ? r->lim.taker_bps : r->lim.maker_bps) * 1e-4;
    cscalp_order_update u = {0};
    u.type = CSCALP_UPDATE_FILL;
    u.client_id = o->id;
    u.fill_id = ++r->next_fill_id;
    u.fill_price = price;
    u.fill_quantity = o->quantity;
    u.fee = fee;
    u.liquidity = taker ? CSCALP_LIQUIDITY_TAKER : CSCALP_LIQUIDITY_MAKER;
    o->live = 0;
    r->fills++;
    r->taker_fills += taker;
    r->maker_fills += !taker;
    r->fees_paid += fee;
    r->venue_position += o->side * o->quantity;
    if (fabs(r->venue_position) > r->max_abs_position)
        r->max_abs_position = fabs(r->venue_position);
    report(r, &u);
}

static void simple_update(run *r, paper_order *o, int type)
{
    cscalp_order_update u = {0};
    u.type = type;
    u.client_id = o->id;
    if (type != CSCALP_UPDATE_ACK)
        o->live = 0;
    report(r, &u);
}

/* The venue's turn at a market event: answers, then fills. */
static void venue_step(run *r, const bcap_event *ev)
{
    for (size_t i = 0; i < r->n_orders; i++) {
        paper_order *o = &r->orders[i];
        if (!o->live)
            continue;
        if (!o->acked) {
            o->acked = 1;
            if (o->type == CSCALP_ORDER_MARKET) {
                const double touch = o->side > 0 ? r->ask : r->bid;
                if ((o->side > 0 && touch <= o->price) || (o->side < 0 && touch >= o->price))
                    fill(r, o, touch, 1);
                else {
                    r->expired++;
                    simple_update(r, o, CSCALP_UPDATE_EXPIRED);
                }
                continue;
            }
            if ((o->side > 0 && o->price >= r->ask) || (o->side < 0 && o->price <= r->bid)) {
                r->expired++;
                simple_update(r, o, CSCALP_UPDATE_EXPIRED);
                continue;
            }
            r->acks++;
            simple_update(r, o, CSCALP_UPDATE_ACK);
        }
        if (!o->live)
            continue;
        int through = 0;
        if (ev->kind == CSCALP_KIND_TRADE)
            through = o->side > 0 ? ev->trade.price < o->price : ev->trade.price > o->price;
        through |= o->side > 0 ? r->ask <= o->price : r->bid >= o->price;
        if (through) {
            fill(r, o, o->price, 0);
        } else if (o->cancel_requested) {
            r->cancelled++;
            simple_update(r, o, CSCALP_UPDATE_CANCELLED);
        }
    }
    /* Compact the table: closed orders leave. */
    size_t k = 0;
    for (size_t i = 0; i < r->n_orders; i++)
        if (r->orders[i].live)
            r->orders[k++] = r->orders[i];
    r->n_orders = k;
}

static void poll(run *r)
{
    cscalp_intent its[INTENTS_PER_POLL];
    its[0].size = sizeof its[0];
    int n;
    while ((n = cscalp_poll_intents(r->engine, its, INTENTS_PER_POLL)) > 0) {
        for (int i = 0; i < n; i++) {
            const cscalp_intent *it = &its[i];
            if (it->reason >= 0 && it->reason < 8)
                r->by_reason[it->reason]++;
            if (it->kind == CSCALP_INTENT_CANCEL) {
                r->intents_cancel++;
                for (size_t j = 0; j < r->n_orders; j++)
                    if (r->orders[j].id == it->client_id)
                        r->orders[j].cancel_requested = 1;
                continue;
            }
            r->intents_new++;
            r->needs_confirmation += (it->flags & CSCALP_INTENT_NEEDS_CONFIRMATION) != 0;
            check_new(r, it);
            if (r->n_orders == MAX_ORDERS)
                continue;
            paper_order *o = &r->orders[r->n_orders++];
            memset(o, 0, sizeof *o);
            o->id = it->client_id;
            o->side = it->side;
            o->type = it->type;
            o->price = it->price;
            o->quantity = it->quantity;
            o->live = 1;
        }
        its[0].size = sizeof its[0];
    }
}

static double config_number(const char *json, const char *section, const char *key)
{
    /* The effective configuration is flat enough to find "key": value
     * after "section": {. */
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", section);
    const char *s = strstr(json, pat);
    if (s == NULL)
        return (double)NAN;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *k = strstr(s, pat);
    return k == NULL ? (double)NAN : strtod(k + strlen(pat), NULL);
}

static void read_limits(run *r)
{
    size_t need = 0;
    cscalp_config_json(r->engine, NULL, 0, &need);
    char *json = malloc(need + 1);
    if (json == NULL)
        return;
    cscalp_config_json(r->engine, json, need + 1, NULL);
    limits *l = &r->lim;
    l->max_order = config_number(json, "risk", "max_order_contracts");
    l->max_notional = config_number(json, "risk", "max_order_notional_quote");
    l->max_position = config_number(json, "risk", "max_position_contracts");
    l->collar_bps = config_number(json, "risk", "price_collar_bps");
    l->per_s = (long)config_number(json, "risk", "max_orders_per_s");
    l->per_min = (long)config_number(json, "risk", "max_orders_per_min");
    l->max_open = (long)config_number(json, "risk", "max_open_orders_count");
    l->tick = config_number(json, "policy", "tick_size_quote");
    l->lot = config_number(json, "policy", "lot_size_contracts");
    l->maker_bps = config_number(json, "fees", "maker_bps");
    l->taker_bps = config_number(json, "fees", "taker_bps");
    free(json);
}

int main(int argc, char **argv)
{
    const char *paths[16] = {CSCALP_SAMPLE_CAPTURE};
    size_t n_paths = 0;
    const char *config = base_config;
    unsigned long long max_events = 0;
    int print_stats = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--stats") == 0)
            print_stats = 1;
        else if (strcmp(argv[i], "--max-events") == 0 && i + 1 < argc)
            max_events = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--help") == 0) {
            puts("usage: cscalp-decide [--config JSON] [--max-events N] [--stats] [FILE...]\n"
                 "  --stats  also print the engine's cscalp_stats_json on stderr");
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "cscalp-decide: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        } else if (n_paths < 16)
            paths[n_paths++] = argv[i];
    }
    if (n_paths == 0)
        n_paths = 1;
    static run r;
    char err[512];
    if (cscalp_open_ex(&r.engine, config, NULL, err, sizeof err) != CSCALP_OK) {
        fprintf(stderr, "cscalp-decide: configuration: %s\n", err);
        return EXIT_USAGE;
    }
    cscalp_set_health_callback(r.engine, health, &r);
    cscalp_set_autonomy(r.engine, CSCALP_AUTONOMY_AUTONOMOUS);
    read_limits(&r);

    for (size_t f = 0; f < n_paths; f++) {
        bcap_reader *reader = NULL;
        if (bcap_open(&reader, paths[f], NULL, err, sizeof err) != BCAP_OK) {
            fprintf(stderr, "cscalp-decide: %s\n", err);
            cscalp_close(r.engine);
            return EXIT_IO;
        }
        bcap_event ev;
        int rc;
        while ((rc = bcap_next(reader, &ev)) == 1) {
            if (bcap_push(r.engine, &ev) != CSCALP_OK)
                continue;
            r.events++;
            r.now = bcap_event_ts(&ev);
            if (ev.kind == CSCALP_KIND_QUOTE || ev.kind == CSCALP_KIND_BOOK) {
                r.has_touch = 1;
                r.bid = ev.kind == CSCALP_KIND_QUOTE ? ev.quote.bid_price : ev.book.bids[0].price;
                r.ask = ev.kind == CSCALP_KIND_QUOTE ? ev.quote.ask_price : ev.book.asks[0].price;
            }
            if (r.has_touch)
                venue_step(&r, &ev);
            poll(&r);
            if (max_events > 0 && r.events >= max_events)
                break;
        }
        if (rc < 0) {
            fprintf(stderr, "cscalp-decide: %s: %s\n", paths[f], bcap_last_error(reader));
            bcap_close(reader);
            cscalp_close(r.engine);
            return EXIT_IO;
        }
        bcap_close(reader);
    }

    cscalp_position p;
    p.size = sizeof p;
    cscalp_get_position(r.engine, &p);
    const int agree = fabs(p.position - r.venue_position) < 1e-9;
    static const char *const reasons[8] = {"none", "entry", "exit", "reprice", "ttl",
                                           "stale", "kill_switch", "autonomy"};
    printf("{\"events\":%llu,\"intents\":{\"new\":%llu,\"cancel\":%llu,\"by_reason\":{",
           (unsigned long long)r.events, (unsigned long long)r.intents_new,
           (unsigned long long)r.intents_cancel);
    for (int k = 1; k < 8; k++)
        printf("%s\"%s\":%llu", k > 1 ? "," : "", reasons[k], (unsigned long long)r.by_reason[k]);
    printf("}},\"venue\":{\"acks\":%llu,\"fills\":%llu,\"maker_fills\":%llu,\"taker_fills\":%llu,"
           "\"expired\":%llu,\"cancelled\":%llu,\"update_errors\":%llu},",
           (unsigned long long)r.acks, (unsigned long long)r.fills,
           (unsigned long long)r.maker_fills, (unsigned long long)r.taker_fills,
           (unsigned long long)r.expired, (unsigned long long)r.cancelled,
           (unsigned long long)r.update_errors);
    printf("\"position\":{\"engine\":%.17g,\"venue\":%.17g,\"agree\":%s,\"max_abs\":%.17g,"
           "\"realised_pnl\":%.6f,\"unrealised_pnl\":%.6f,\"fees\":%.6f,\"equity\":%.6f},",
           p.position, r.venue_position, agree ? "true" : "false", r.max_abs_position,
           p.realised_pnl, p.unrealised_pnl, p.fees, p.equity);
    printf("\"limits\":{\"max_order_contracts\":%g,\"max_position_contracts\":%g,"
           "\"max_orders_per_s\":%ld,\"max_orders_per_min\":%ld,\"worst_per_s\":%ld,"
           "\"worst_per_min\":%ld,\"violations\":%llu,\"first_violation\":\"%s\"},",
           r.lim.max_order, r.lim.max_position, r.lim.per_s, r.lim.per_min, r.worst_per_s,
           r.worst_per_min, (unsigned long long)r.violations, r.first_violation);
    printf("\"health\":{\"intent_refused\":%llu,\"order_update_refused\":%llu,"
           "\"kill_switch\":%llu,\"model_promoted\":%llu,\"regime_changed\":%llu},",
           (unsigned long long)r.health_by_event[CSCALP_EVENT_INTENT_REFUSED],
           (unsigned long long)r.health_by_event[CSCALP_EVENT_ORDER_UPDATE_REFUSED],
           (unsigned long long)r.health_by_event[CSCALP_EVENT_KILL_SWITCH],
           (unsigned long long)r.health_by_event[CSCALP_EVENT_MODEL_PROMOTED],
           (unsigned long long)r.health_by_event[CSCALP_EVENT_REGIME_CHANGED]);
    printf("\"autonomy\":%d,\"kill_switch\":%d}\n", p.autonomy, p.kill_switch);
    if (print_stats) {
        size_t need = 0;
        cscalp_stats_json(r.engine, NULL, 0, &need);
        char *json = malloc(need + 1);
        if (json != NULL && cscalp_stats_json(r.engine, json, need + 1, NULL) == CSCALP_OK)
            fprintf(stderr, "%s\n", json);
        free(json);
    }
    cscalp_close(r.engine);
    return r.violations == 0 && agree && r.update_errors == 0 ? 0 : EXIT_CHECK;
}
