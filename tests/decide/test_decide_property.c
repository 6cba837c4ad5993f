/* Property test of the decision path through the public API: many engines
 * with random seeds, instruments and risk limits, each driven by the
 * synthetic market (cryptoscalp_sim.h) and by ticks in between, deciding on
 * a fine event-time grid, against a host that answers like a venue would,
 * and badly at times: it acknowledges, rejects, fills in part or in full
 * (post-only at the order's price, market at or better than its protection
 * price), resends fills, cancels, expires, declines orders that need
 * confirmation, and sends updates the engine must refuse (unknown and
 * closed ids, overfills, impossible transitions, malformed fields). It trips
 * the kill switch by configuration now and then, lets tight drawdown limits
 * trip it, re-arms it, lowers autonomy to MANUAL and raises it again, and
 * announces funding.
 *
 * Every intent and every state is checked by decide_util.h (du_after):
 * each NEW intent against every configured limit as the host saw the world
 * when it was decided — quantity, notional, collar around the last quote,
 * worst-case position and leverage unless it only reduces, NEW intents per
 * 1 s and per 60 s window of event time, open orders, tick and lot grids,
 * reduce-only never past the position; nothing but reductions while the
 * kill switch is tripped or a loss cool-down runs; autonomy MANUAL after a
 * trip and EKILLED above it; the position, entry, realised PnL, fees,
 * funding, fills, equity and open orders equal to an independent
 * recomputation from the fills the engine accepted; every cscalp_on_order
 * return code equal to the order table's prediction.
 *
 * Size: ENGINES engines × at least DECISIONS_PER_ENGINE decision-grid steps
 * = 10^6 in total. The engines are small (one hidden layer of 8, one lag,
 * no learning) so the run stays short under the sanitizers; the
 * decisions, not the model, are under test. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "decide_util.h"

#define ENGINES 40
#define DECISIONS_PER_ENGINE 25000

typedef struct prop_totals {
    uint64_t decisions, engine_decisions, pushes, ticks, calls, updates, refused_updates, duplicates_sent, bogus;
    uint64_t intents_new, intents_cancel, post_only, market, reduce_only, flagged_confirm;
    uint64_t by_reason[8];
    uint64_t fills, kill_config, kill_trips, rearms, cooldowns, autonomy_dips;
    uint64_t reopens, reconfigs, resyncs;
    uint64_t funding_settlements, funding_announced, intent_refused_events, entries_in_trip_call;
    uint64_t market_inside_touch, assisted_engines, declined;
    uint32_t max_working;
    double max_abs_position, collar_used;
    uint64_t at_qty, at_notional, at_position, at_leverage, at_rate_s, at_rate_min, at_open;
    du_viol v;
} prop_totals;

typedef struct instrument {
    double price, tick, lot;
} instrument;

static const instrument instruments[] = {
    {50000.0, 0.1, 0.001}, /* BTC-like */
    {3000.0, 0.01, 0.01},  /* ETH-like */
    {100.0, 0.001, 1.0},   /* an alt: whole contracts */
};

static double uniform(tu_rng *g, double lo, double hi) { return lo + (hi - lo) * tu_uniform(g); }

static double lots(double v, double lot)
{
    const double k = floor(v / lot + 0.5);
    return (k < 1.0 ? 1.0 : k) * lot;
}

/* Random limits around what the instrument's prices make meaningful: B is
 * the position one unit of leverage buys. */
static du_params random_params(tu_rng *g, const instrument *ins)
{
    du_params p = du_params_default();
    p.model_seed = tu_next(g) >> 20;
    p.prior_move_bps = exp(uniform(g, log(5.0), log(3000.0)));
    p.taker_bps = uniform(g, 0.0, 4.0);
    p.maker_bps = p.taker_bps * uniform(g, -0.5, 1.0) - (tu_uniform(g) < 0.2 ? 0.5 : 0.0);
    p.entry_band_bps = uniform(g, 0.0, 3.0);
    p.size_factor = uniform(g, 0.5, 2.0);
    p.regime_max_leverage = uniform(g, 0.5, 10.0);
    p.decide_interval_ms = 1 + tu_int(g, 20);
    p.vol_target_bps = exp(uniform(g, log(5.0), log(1000.0)));
    p.liquidation_sigmas = tu_uniform(g) < 0.3 ? 0.0 : uniform(g, 1.0, 30.0);
    p.tick = ins->tick;
    p.lot = ins->lot;
    p.order_ttl_ms = 200 + tu_int(g, 20000);
    p.reprice_ticks = 1 + tu_int(g, 10);
    p.price_collar_bps = uniform(g, 2.0, 80.0);
    p.market_protection_bps = p.price_collar_bps * uniform(g, 0.05, 0.9); /* below the collar */
    p.initial_equity = uniform(g, 2000.0, 50000.0);
    const double B = p.initial_equity / ins->price;
    p.max_order_contracts = lots(B * uniform(g, 0.05, 2.0), ins->lot);
    p.max_position_contracts = lots(B * uniform(g, 0.05, 4.0), ins->lot);
    p.max_order_notional = p.initial_equity * uniform(g, 0.3, 5.0);
    p.max_leverage = uniform(g, 0.5, 10.0);
    p.max_orders_per_s = 1 + tu_int(g, 10);
    p.max_orders_per_min = p.max_orders_per_s + tu_int(g, p.max_orders_per_s * 59 + 1);
    p.max_open_orders = 1 + tu_int(g, 8);
    p.max_daily_drawdown = tu_uniform(g) < 0.2 ? uniform(g, 5.0, 50.0) : 300.0;
    p.max_total_drawdown = tu_uniform(g) < 0.2 ? uniform(g, 20.0, 200.0) : 1000.0;
    p.loss_streak = tu_uniform(g) < 0.5 ? 0 : 1 + tu_int(g, 4);
    p.loss_cooldown_ms = 500 + tu_int(g, 20000);
    return p;
}

/* New limits at run time (all valid): the checks follow them from the
 * patch on. The per-minute rate may rise above its value at open. */
static void reconfigure(du_ctx *c, tu_rng *g, const instrument *ins)
{
    du_params q = random_params(g, ins);
    du_params n = c->p;
    n.max_order_contracts = q.max_order_contracts;
    n.max_position_contracts = q.max_position_contracts;
    n.max_order_notional = q.max_order_notional * c->p.initial_equity / q.initial_equity;
    n.max_leverage = q.max_leverage;
    n.price_collar_bps = c->p.market_protection_bps * uniform(g, 1.1, 5.0);
    n.max_orders_per_s = q.max_orders_per_s;
    n.max_orders_per_min = q.max_orders_per_min;
    n.max_open_orders = q.max_open_orders;
    char patch[1024];
    snprintf(patch, sizeof patch,
             "{\"risk\":{\"max_order_contracts\":%.17g,\"max_position_contracts\":%.17g,"
             "\"max_order_notional_quote\":%.17g,\"max_leverage_factor\":%.17g,"
             "\"price_collar_bps\":%.17g,\"max_orders_per_s\":%d,\"max_orders_per_min\":%d,"
             "\"max_open_orders_count\":%d}}",
             n.max_order_contracts, n.max_position_contracts, n.max_order_notional,
             n.max_leverage, n.price_collar_bps, n.max_orders_per_s, n.max_orders_per_min,
             n.max_open_orders);
    const int rc = cscalp_configure(c->e, patch);
    if (rc != CSCALP_OK) {
        du_violate(&c->v, DU_V_CONFIG, "%s: %s (%s)", patch, cscalp_error_name(rc),
                   cscalp_last_error(c->e));
        return;
    }
    c->p = n;
    du_after(c, DU_CALL_CONFIGURE);
}

static double fee_of(const du_ctx *c, const du_order *o, double price, double qty)
{
    const double bps = o->type == CSCALP_ORDER_POST_ONLY ? c->p.maker_bps : c->p.taker_bps;
    return price * qty * bps * 1e-4;
}

/* A fill price a venue could give: post-only at its price; market at or
 * better than the protection price. */
static double fill_price(const du_ctx *c, const du_order *o, tu_rng *g)
{
    if (o->type == CSCALP_ORDER_POST_ONLY)
        return o->price;
    const double better = c->p.tick * tu_int(g, 4);
    const double px = o->price - o->side * better;
    return px > 0.0 ? px : o->price;
}

/* A partial quantity: whole lots short of the remainder when it spans more
 * than one, else all of it. */
static double partial_qty(const du_ctx *c, const du_order *o, tu_rng *g)
{
    const double rem = o->qty - o->filled;
    const double n = floor(rem / c->p.lot + 1e-9);
    if (n < 2.0)
        return rem;
    return c->p.lot * (1.0 + (double)tu_below(g, (size_t)(n - 1.0)));
}

static void send_fill(du_ctx *c, const du_order *o, double qty, tu_rng *g)
{
    const double px = fill_price(c, o, g);
    double fee = fee_of(c, o, px, qty);
    if (tu_uniform(g) < 0.05)
        fee = -fabs(fee); /* a rebate */
    const cscalp_order_update u = du_fill_update(o->id, c->h.next_fill_id++, px, qty, fee);
    du_send(c, &u);
}

/* One malformed or impossible update; du_send checks its code against the
 * table and that nothing changed. */
static void send_bogus(du_ctx *c, tu_rng *g)
{
    const uint64_t any = c->h.working > 0 ? c->h.working_ids[tu_below(g, c->h.working)] : 0;
    cscalp_order_update u;
    switch (tu_int(g, 11)) {
    case 0:
        u = du_update(CSCALP_UPDATE_ACK, c->h.max_id + 1 + tu_below(g, 1000));
        break;
    case 1:
        u = du_fill_update(0, c->h.next_fill_id++, c->mid, c->p.lot, 0.0);
        break;
    case 2: /* an update for a closed order, if there is one */
        if (c->h.max_id == 0)
            return;
        {
            const uint64_t id = 1 + tu_below(g, c->h.max_id);
            const du_order *o = du_find(&c->h, id);
            if (o == NULL || !o->closed)
                return;
            if (tu_uniform(g) < 0.5) {
                /* A fill that overtook nothing: the order closed before it
                 * came. Refused (EORDER_CLOSED); the host then resyncs the
                 * position as if the venue had filled it, as the header
                 * says to. */
                const int side = o->side;
                u = du_fill_update(id, c->h.next_fill_id++, c->mid, c->p.lot, 0.0);
                if (du_send(c, &u) == CSCALP_EORDER_CLOSED && tu_uniform(g) < 0.5) {
                    tu_ledger l = c->h.led;
                    tu_ledger_fill(&l, side, c->p.lot, c->mid, 0.0);
                    DU_CHECK(du_set_position(c, l.pos, l.pos != 0.0 ? l.entry : 0.0) ==
                             CSCALP_OK);
                }
                return;
            }
            u = du_update(CSCALP_UPDATE_CANCELLED + tu_int(g, 2), id);
        }
        break;
    case 3: /* overfill */
        if (any == 0)
            return;
        {
            const du_order *o = du_find(&c->h, any);
            u = du_fill_update(any, c->h.next_fill_id++, o->price, o->qty - o->filled + c->p.lot,
                               0.0);
        }
        break;
    case 4:
        if (any == 0)
            return;
        u = du_fill_update(any, c->h.next_fill_id++, NAN, c->p.lot, 0.0);
        break;
    case 5:
        if (any == 0)
            return;
        u = du_fill_update(any, c->h.next_fill_id++, tu_uniform(g) < 0.5 ? 0.0 : -c->mid,
                           c->p.lot, 0.0);
        break;
    case 6:
        if (any == 0)
            return;
        u = du_fill_update(any, c->h.next_fill_id++, c->mid, tu_uniform(g) < 0.5 ? 0.0 : -1.0,
                           0.0);
        break;
    case 7:
        if (any == 0)
            return;
        u = du_fill_update(any, 0, c->mid, c->p.lot, 0.0);
        break;
    case 8:
        if (any == 0)
            return;
        u = du_fill_update(any, c->h.next_fill_id++, c->mid, c->p.lot, 0.0);
        u.size = (uint32_t)tu_below(g, sizeof u);
        break;
    case 9: /* REJECTED: impossible once acked, unless a cancel is pending */
        if (any == 0)
            return;
        u = du_update(CSCALP_UPDATE_REJECTED, any);
        break;
    default:
        if (any == 0)
            return;
        u = du_update(tu_uniform(g) < 0.5 ? 0 : 6 + tu_int(g, 100), any);
        break;
    }
    du_send(c, &u);
}

/* The host answers what the engine just asked for: declines some orders
 * that need confirmation, answers market (IOC) orders at once. */
static uint64_t answer_batch(du_ctx *c, tu_rng *g)
{
    static cscalp_intent in[DU_BATCH_MAX];
    const int n = c->batch_n;
    memcpy(in, c->batch, (size_t)n * sizeof in[0]);
    uint64_t declined = 0;
    for (int i = 0; i < n; i++) {
        if (in[i].kind != CSCALP_INTENT_NEW)
            continue;
        const du_order *o = du_find(&c->h, in[i].client_id);
        if (o == NULL || o->closed)
            continue;
        if ((in[i].flags & CSCALP_INTENT_NEEDS_CONFIRMATION) && tu_uniform(g) < 0.3) {
            cscalp_order_update u = du_update(CSCALP_UPDATE_REJECTED, o->id);
            u.text = "declined";
            du_send(c, &u);
            declined++;
            continue;
        }
        if (o->type != CSCALP_ORDER_MARKET || tu_uniform(g) < 0.05)
            continue;
        const double r = tu_uniform(g);
        if (r < 0.6) {
            send_fill(c, o, o->qty - o->filled, g);
        } else if (r < 0.85) {
            send_fill(c, o, partial_qty(c, o, g), g);
            o = du_find(&c->h, in[i].client_id);
            if (!o->closed) {
                const cscalp_order_update u = du_update(CSCALP_UPDATE_EXPIRED, o->id);
                du_send(c, &u);
            }
        } else {
            const cscalp_order_update u = du_update(CSCALP_UPDATE_EXPIRED, o->id);
            du_send(c, &u);
        }
    }
    return declined;
}

/* The venue moves on the working orders: each step, up to two of them
 * with probability `pace` each (per engine: a slow venue lets orders age
 * into TTL and re-price cancels). */
static void venue_acts(du_ctx *c, tu_rng *g, double pace)
{
    for (int k = 0; k < 2 && c->h.working > 0; k++) {
        if (tu_uniform(g) >= pace)
            continue;
        const du_order *o = du_find(&c->h, c->h.working_ids[tu_below(g, c->h.working)]);
        const double r = tu_uniform(g);
        cscalp_order_update u;
        if (o->cancel_pending) {
            if (r < 0.6)
                u = du_update(CSCALP_UPDATE_CANCELLED, o->id);
            else if (r < 0.75) {
                send_fill(c, o, tu_uniform(g) < 0.5 ? o->qty - o->filled : partial_qty(c, o, g), g);
                continue;
            } else if (r < 0.9) {
                u = du_update(CSCALP_UPDATE_REJECTED, o->id);
                u.text = "cancel refused";
            } else
                u = du_update(CSCALP_UPDATE_EXPIRED, o->id);
        } else if (!o->acked) {
            if (r < 0.5)
                u = du_update(CSCALP_UPDATE_ACK, o->id);
            else if (r < 0.7) {
                send_fill(c, o, partial_qty(c, o, g), g);
                continue;
            } else if (r < 0.8) {
                u = du_update(CSCALP_UPDATE_REJECTED, o->id);
                u.text = "insufficient margin";
            } else if (r < 0.9)
                u = du_update(CSCALP_UPDATE_EXPIRED, o->id); /* GTX would have crossed */
            else
                u = du_update(CSCALP_UPDATE_CANCELLED, o->id);
        } else {
            if (r < 0.35) {
                send_fill(c, o, partial_qty(c, o, g), g);
                continue;
            } else if (r < 0.6) {
                send_fill(c, o, o->qty - o->filled, g);
                continue;
            } else if (r < 0.75)
                u = du_update(CSCALP_UPDATE_ACK, o->id); /* a repeated ack */
            else if (r < 0.9)
                u = du_update(CSCALP_UPDATE_CANCELLED, o->id); /* the venue cancelled it */
            else
                u = du_update(CSCALP_UPDATE_EXPIRED, o->id);
        }
        du_send(c, &u);
    }
}

static void resend_fill(du_ctx *c, tu_rng *g, uint64_t *dups)
{
    if (c->h.recent_n == 0)
        return;
    const du_fill *f = &c->h.recent[tu_below(g, c->h.recent_n)];
    const cscalp_order_update u = du_fill_update(f->client_id, f->fill_id, f->price, f->qty, f->fee);
    du_send(c, &u);
    (*dups)++;
}

static void merge_viol(du_viol *into, const du_viol *from, int engine)
{
    for (int k = 0; k < DU_V_COUNT; k++) {
        if (from->n[k] == 0)
            continue;
        if (into->n[k] == 0)
            snprintf(into->first[k], sizeof into->first[k], "engine %d: %s", engine,
                     from->first[k]);
        into->n[k] += from->n[k];
    }
}

static void run_engine(int index, tu_rng *g, prop_totals *T)
{
    const instrument *ins = &instruments[tu_int(g, 3)];
    const du_params p = random_params(g, ins);
    cscalp_sim_market_config mc = du_market_config(tu_next(g), ins->price, ins->tick);
    mc.quotes_per_s = uniform(g, 20.0, 60.0);
    const double vol_scale = uniform(g, 1.0, 6.0); /* livelier markets trip drawdowns */
    for (int r = 0; r < 3; r++)
        mc.regimes[r].vol_bps_per_sqrt_s *= vol_scale;
    du_ctx *c = du_new(&p, &mc);
    const int levels[4] = {CSCALP_AUTONOMY_AUTONOMOUS, CSCALP_AUTONOMY_AUTONOMOUS,
                           CSCALP_AUTONOMY_ASSISTED, CSCALP_AUTONOMY_EVOLVING};
    const int base = levels[tu_int(g, 4)];
    T->assisted_engines += base == CSCALP_AUTONOMY_ASSISTED;
    DU_CHECK(du_set_autonomy(c, base) == CSCALP_OK);

    const double pace = exp(uniform(g, log(0.002), log(0.2)));
    uint64_t dups = 0, bogus = 0, declined = 0, kill_config = 0, dips = 0, reopens = 0,
             reconfigs = 0;
    double engine_decisions = 0.0;
    int64_t rearm_at = 0, restore_at = 0, next_funding_push = 0;
    int dipped = 0;
    cscalp_sim_market_event ev;
    memset(&ev, 0, sizeof ev);
    ev.size = sizeof ev;
    /* Until the engine itself counts enough policy decisions (stats
     * policy.decisions; none while MANUAL or tripped). */
    for (uint64_t step = 0; engine_decisions < DECISIONS_PER_ENGINE; step++) {
        if (step % 256 == 0)
            engine_decisions = du_stat(c->e, "decisions");
        DU_CHECK(engine_decisions >= 0.0);
        DU_CHECK(cscalp_sim_market_next(c->m, &ev) == CSCALP_OK);
        /* A tick between two events now and then: decisions with no data. */
        if (c->has_quote && tu_uniform(g) < 0.2 && ev.ts_ns > c->clock + 1) {
            du_tick(c, c->clock + 1 + (int64_t)tu_below(g, (size_t)(ev.ts_ns - c->clock - 1)));
            answer_batch(c, g);
        }
        du_push_event(c, &ev);
        declined += answer_batch(c, g);
        venue_acts(c, g, pace);
        if (tu_uniform(g) < 0.01)
            resend_fill(c, g, &dups);
        if (tu_uniform(g) < 0.003) {
            send_bogus(c, g);
            bogus++;
        }
        /* Funding: announce a time ahead; restate the rate until it passes. */
        if (c->has_quote && c->clock >= next_funding_push) {
            int64_t next = c->funding_next;
            if (next == 0 || c->funding_settled)
                next = c->clock + (int64_t)(uniform(g, 2.0, 20.0) * 1e9);
            if (next > c->clock) {
                du_push_funding(c, uniform(g, -1e-3, 1e-3),
                                c->mid * (1.0 + uniform(g, -5e-4, 5e-4)), next);
                answer_batch(c, g);
            }
            next_funding_push = c->clock + (int64_t)(uniform(g, 1.0, 5.0) * 1e9);
        }
        /* The kill switch: by hand now and then; re-armed a while later. */
        if (!c->killed && tu_uniform(g) < 1.0 / 15000.0) {
            DU_CHECK(du_configure(c, "{\"risk\":{\"kill_switch\":\"tripped\"}}") == CSCALP_OK);
            kill_config++;
            answer_batch(c, g);
        }
        if (c->killed && rearm_at == 0) {
            rearm_at = c->clock + (int64_t)(uniform(g, 2.0, 20.0) * 1e9);
            /* Above MANUAL is refused while tripped (du_set_autonomy checks). */
            du_set_autonomy(c, base);
        }
        if (c->killed && rearm_at != 0 && c->clock >= rearm_at) {
            DU_CHECK(du_configure(c, "{\"risk\":{\"kill_switch\":\"armed\"}}") == CSCALP_OK);
            DU_CHECK(!c->killed);
            DU_CHECK(du_set_autonomy(c, base) == CSCALP_OK);
            rearm_at = 0;
            dipped = 0;
            answer_batch(c, g);
        }
        /* Save and carry on with the restored engine; new limits. */
        if (tu_uniform(g) < 1.0 / 20000.0) {
            du_reopen(c);
            reopens++;
        }
        if (tu_uniform(g) < 1.0 / 20000.0) {
            reconfigure(c, g, ins);
            reconfigs++;
            answer_batch(c, g);
        }
        /* Autonomy down to MANUAL and back. */
        if (!c->killed && !dipped && tu_uniform(g) < 1.0 / 5000.0) {
            DU_CHECK(du_set_autonomy(c, CSCALP_AUTONOMY_MANUAL) == CSCALP_OK);
            dipped = 1;
            dips++;
            restore_at = c->clock + (int64_t)(uniform(g, 1.0, 10.0) * 1e9);
        }
        if (dipped && !c->killed && c->clock >= restore_at) {
            DU_CHECK(du_set_autonomy(c, base) == CSCALP_OK);
            dipped = 0;
            answer_batch(c, g);
        }
    }

    T->decisions += c->decisions;
    T->engine_decisions += (uint64_t)du_stat(c->e, "decisions");
    T->pushes += c->pushes;
    T->ticks += c->ticks;
    T->calls += c->calls;
    T->updates += c->updates;
    T->refused_updates += c->refused_updates;
    T->duplicates_sent += dups;
    T->bogus += bogus;
    T->declined += declined;
    T->intents_new += c->intents_new;
    T->intents_cancel += c->intents_cancel;
    T->post_only += c->intents_post_only;
    T->market += c->intents_market;
    T->reduce_only += c->intents_reduce_only;
    T->flagged_confirm += c->flagged_confirm;
    for (int r = 0; r < 8; r++)
        T->by_reason[r] += c->by_reason[r];
    T->fills += c->h.led.fills;
    T->kill_config += kill_config;
    T->kill_trips += c->hl.kill_trips;
    T->rearms += c->hl.kill_rearms;
    T->cooldowns += c->seen_cooldowns;
    T->autonomy_dips += dips;
    T->reopens += reopens;
    T->reconfigs += reconfigs;
    T->resyncs += c->hl.count[CSCALP_EVENT_POSITION_RESYNC];
    T->funding_settlements += c->funding_settlements;
    T->funding_announced += c->funding_announced;
    T->intent_refused_events += c->hl.count[CSCALP_EVENT_INTENT_REFUSED];
    T->entries_in_trip_call += c->entries_in_trip_call;
    T->market_inside_touch += c->market_inside_touch;
    T->at_qty += c->at_qty;
    T->at_notional += c->at_notional;
    T->at_position += c->at_position;
    T->at_leverage += c->at_leverage;
    T->at_rate_s += c->at_rate_s;
    T->at_rate_min += c->at_rate_min;
    T->at_open += c->at_open;
    if (c->collar_used > T->collar_used)
        T->collar_used = c->collar_used;
    if (c->max_working_seen > T->max_working)
        T->max_working = c->max_working_seen;
    if (c->max_abs_position > T->max_abs_position)
        T->max_abs_position = c->max_abs_position;
    merge_viol(&T->v, &c->v, index);
    du_free(c);
}

START_TEST(decide_property)
{
    static prop_totals T;
    memset(&T, 0, sizeof T);
    tu_rng g = {20261202};
    const clock_t t0 = clock();
    for (int i = 0; i < ENGINES; i++)
        run_engine(i, &g, &T);
    const double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("{\"test\":\"decide_property\",\"engines\":%d,\"decisions\":%llu,"
           "\"grid_steps\":%llu,\"pushes\":%llu,"
           "\"ticks\":%llu,\"api_calls\":%llu,\"order_updates\":%llu,\"refused_updates\":%llu,"
           "\"duplicate_fills_sent\":%llu,\"bogus_updates\":%llu,\"declined\":%llu,"
           "\"intents_new\":%llu,\"intents_cancel\":%llu,\"post_only\":%llu,\"market\":%llu,"
           "\"reduce_only\":%llu,\"needs_confirmation\":%llu,\"entry\":%llu,\"exit\":%llu,"
           "\"reprice\":%llu,\"ttl\":%llu,\"stale\":%llu,\"kill_switch_intents\":%llu,"
           "\"autonomy_cancels\":%llu,\"fills_booked\":%llu,\"kill_by_config\":%llu,"
           "\"kill_trips\":%llu,\"rearms\":%llu,\"cooldowns\":%llu,\"autonomy_dips\":%llu,"
           "\"funding_announced\":%llu,\"funding_settled\":%llu,\"intent_refused_events\":%llu,"
           "\"entries_in_trip_call\":%llu,\"market_protection_inside_touch\":%llu,"
           "\"assisted_engines\":%llu,\"checkpoint_restores\":%llu,\"reconfigurations\":%llu,"
           "\"resyncs\":%llu,\"max_working\":%u,\"max_abs_position\":%.6g,"
           "\"violations\":%llu,\"cpu_s\":%.1f}\n",
           ENGINES, (unsigned long long)T.engine_decisions, (unsigned long long)T.decisions,
           (unsigned long long)T.pushes,
           (unsigned long long)T.ticks, (unsigned long long)T.calls,
           (unsigned long long)T.updates, (unsigned long long)T.refused_updates,
           (unsigned long long)T.duplicates_sent, (unsigned long long)T.bogus,
           (unsigned long long)T.declined, (unsigned long long)T.intents_new,
           (unsigned long long)T.intents_cancel, (unsigned long long)T.post_only,
           (unsigned long long)T.market, (unsigned long long)T.reduce_only,
           (unsigned long long)T.flagged_confirm,
           (unsigned long long)T.by_reason[CSCALP_INTENT_ENTRY],
           (unsigned long long)T.by_reason[CSCALP_INTENT_EXIT],
           (unsigned long long)T.by_reason[CSCALP_INTENT_REPRICE],
           (unsigned long long)T.by_reason[CSCALP_INTENT_TTL],
           (unsigned long long)T.by_reason[CSCALP_INTENT_STALE],
           (unsigned long long)T.by_reason[CSCALP_INTENT_KILL_SWITCH],
           (unsigned long long)T.by_reason[CSCALP_INTENT_AUTONOMY], (unsigned long long)T.fills,
           (unsigned long long)T.kill_config, (unsigned long long)T.kill_trips,
           (unsigned long long)T.rearms, (unsigned long long)T.cooldowns,
           (unsigned long long)T.autonomy_dips, (unsigned long long)T.funding_announced,
           (unsigned long long)T.funding_settlements,
           (unsigned long long)T.intent_refused_events,
           (unsigned long long)T.entries_in_trip_call,
           (unsigned long long)T.market_inside_touch, (unsigned long long)T.assisted_engines,
           (unsigned long long)T.reopens, (unsigned long long)T.reconfigs,
           (unsigned long long)T.resyncs,
           T.max_working, T.max_abs_position, (unsigned long long)du_viol_total(&T.v), secs);
    printf("{\"test\":\"decide_property_limits_reached\",\"at_max_order_contracts\":%llu,"
           "\"near_max_order_notional\":%llu,\"at_max_position\":%llu,\"near_max_leverage\":%llu,"
           "\"full_1s_window\":%llu,\"full_60s_window\":%llu,\"at_max_open_orders\":%llu,"
           "\"largest_collar_fraction\":%.3f}\n",
           (unsigned long long)T.at_qty, (unsigned long long)T.at_notional,
           (unsigned long long)T.at_position, (unsigned long long)T.at_leverage,
           (unsigned long long)T.at_rate_s, (unsigned long long)T.at_rate_min,
           (unsigned long long)T.at_open, T.collar_used);
    fflush(stdout);
    DU_ASSERT_NO_VIOLATION(&T.v);
    /* The run must have exercised what it claims to check. */
    ck_assert_uint_ge(T.engine_decisions, 1000000);
    ck_assert_uint_ge(T.intents_new, 10000);
    ck_assert_uint_gt(T.fills, 1000);
    ck_assert_uint_gt(T.post_only, 0);
    ck_assert_uint_gt(T.market, 0);
    ck_assert_uint_gt(T.reduce_only, 0);
    ck_assert_uint_gt(T.flagged_confirm, 0);
    ck_assert_uint_gt(T.by_reason[CSCALP_INTENT_KILL_SWITCH], 0);
    ck_assert_uint_gt(T.by_reason[CSCALP_INTENT_AUTONOMY], 0);
    ck_assert_uint_gt(T.kill_trips, T.kill_config); /* drawdowns tripped it too */
    ck_assert_uint_gt(T.funding_settlements, 100);
    ck_assert_uint_gt(T.refused_updates, 100);
    ck_assert_uint_gt(T.intent_refused_events, 0);
    ck_assert_uint_gt(T.reopens, 10);
    ck_assert_uint_gt(T.reconfigs, 10);
    ck_assert_uint_gt(T.resyncs, 10);
    ck_assert_uint_gt(T.at_qty, 0);
    ck_assert_uint_gt(T.at_position, 0);
    ck_assert_uint_gt(T.at_rate_s, 0);
    ck_assert_uint_gt(T.at_rate_min, 0);
    ck_assert_uint_gt(T.at_open, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("decide_property");
    TCase *tc = tcase_create("property");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, decide_property);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
