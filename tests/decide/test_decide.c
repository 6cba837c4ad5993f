/* Decisions through the public API (include/cryptoscalp.h, "Decisions:
 * order intents, order updates, position, autonomy"), scripted cases:
 *
 * - worked_example: fills and a funding settlement booked to the cent,
 *   read back with cscalp_get_position;
 * - order_update_refusals: every refusal code of cscalp_on_order, each with
 *   its health event and the position left as it was;
 * - set_position: the resync event (INFO when equal, WARNING when not),
 *   realised PnL and fees kept, bad values refused;
 * - autonomy: MANUAL emits nothing, ASSISTED flags only exposure-adding
 *   orders, lowering to MANUAL cancels, EVOLVING accepted, unknown refused;
 * - kill_switch_by_config / kill_switch_by_drawdown: cancels, a reduce-only
 *   market flatten, autonomy MANUAL, EKILLED until re-armed;
 * - checkpoint: a saved engine resumes with the same position, the same
 *   queued intents, client ids that keep growing and its working orders.
 *
 * The engine trades an untrained model: a large model.prior_move_bps, no
 * fees and no entry band make any asymmetry of its probabilities an edge
 * (decide_util.h, du_params_default). Which way it trades depends on the
 * market, so the scripts wait for what they need and take the sides from
 * the intents; the arithmetic below is written for a side s = ±1. Every
 * call also goes through the checks of decide_util.h (limits, the order
 * table, the independent ledger), asserted at the end of each test. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decide_util.h"

/* Money is compared far below a cent: the arithmetic is a handful of
 * operations on values of 10^4, exact to about 10^-11. */
#define MONEY_EPS 1e-6

static cscalp_sim_market_config btc_market(uint64_t seed)
{
    return du_market_config(seed, 50000.0, 0.1);
}

/* The latest call's intents, copied: du_send overwrites c->batch. */
typedef struct batch_copy {
    cscalp_intent in[DU_BATCH_MAX];
    int n;
} batch_copy;

static batch_copy *copy_batch(const du_ctx *c)
{
    static batch_copy b;
    b.n = c->batch_n;
    memcpy(b.in, c->batch, (size_t)c->batch_n * sizeof b.in[0]);
    return &b;
}

static void decline(du_ctx *c, uint64_t id)
{
    cscalp_order_update u = du_update(CSCALP_UPDATE_REJECTED, id);
    u.text = "declined";
    ck_assert_int_eq(du_send(c, &u), CSCALP_OK);
}

static void ack(du_ctx *c, uint64_t id)
{
    const cscalp_order_update u = du_update(CSCALP_UPDATE_ACK, id);
    ck_assert_int_eq(du_send(c, &u), CSCALP_OK);
}

static void fill(du_ctx *c, uint64_t id, double price, double qty, double fee)
{
    const cscalp_order_update u = du_fill_update(id, c->h.next_fill_id++, price, qty, fee);
    ck_assert_int_eq(du_send(c, &u), CSCALP_OK);
}

static void assert_money(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= MONEY_EPS, "%s: %.10f, want %.10f", what, got, want);
}

/* Two orders the worked example can fill: A of exactly 1 contract on a side
 * s and B of at least 0.4 on the other, both acknowledged and unfilled.
 * Anything else the engine asks for meanwhile is declined (the host's
 * REJECTED) so it closes; cancels are left unanswered, which keeps A and B
 * working (a fill is still booked while a cancel is pending). */
typedef struct two_orders {
    uint64_t a, b;
    int s;
} two_orders;

static two_orders get_two_orders(du_ctx *c, double max_s)
{
    two_orders t = {0, 0, 0};
    du_step(c);
    const int64_t end = c->clock + (int64_t)(max_s * 1e9);
    while (t.a == 0 || t.b == 0) {
        du_step(c);
        ck_assert_msg(c->clock < end, "no pair of orders within %g s (a %llu, b %llu)", max_s,
                      (unsigned long long)t.a, (unsigned long long)t.b);
        const batch_copy *b = copy_batch(c);
        for (int i = 0; i < b->n; i++) {
            const cscalp_intent *in = &b->in[i];
            if (in->kind != CSCALP_INTENT_NEW)
                continue;
            if (t.a == 0 && fabs(in->quantity - 1.0) < 1e-12) {
                t.a = in->client_id;
                t.s = in->side;
                ack(c, in->client_id);
            } else if (t.a != 0 && t.b == 0 && in->side == -t.s && in->quantity >= 0.4) {
                t.b = in->client_id;
                ack(c, in->client_id);
            } else {
                decline(c, in->client_id);
            }
        }
    }
    return t;
}

/* The first three fills of the worked example (docs in worked_example). */
static void book_three_fills(du_ctx *c, const two_orders *t)
{
    fill(c, t->a, 50000.0, 0.5, 5.0);
    fill(c, t->a, 50100.0, 0.5, 2.505);
    fill(c, t->b, 50300.0, 0.4, 4.024);
}

/* Worked example, for a side s = ±1 (s = +1 reads: buy 0.5 @ 50000 fee 5,
 * buy 0.5 @ 50100 fee 2.505, sell 0.4 @ 50300 fee 4.024, funding at rate
 * 0.0001 and mark 50200):
 *
 *   fill                  position @ entry      realised      fees
 *   s 0.5 @ 50000         s 0.5 @ 50000         0             5.000
 *   s 0.5 @ 50100         s 1.0 @ 50050         0             7.505
 *   -s 0.4 @ 50300        s 0.6 @ 50050         s 100.00      11.529
 *   (same fill again: a duplicate, nothing changes)
 *   funding 0.0001 @ 50200: payment s 0.6 × 50200 × 0.0001 = s 3.012
 *
 * equity = 10000 + s 100 − 11.529 − s 3.012 + s 0.6 × (mark − 50050). */
START_TEST(worked_example)
{
    du_params p = du_params_default();
    const cscalp_sim_market_config mc = btc_market(7);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    const two_orders t = get_two_orders(c, 1200.0);
    const double s = t.s;
    cscalp_position ps = du_position(c);
    ck_assert(ps.position == 0.0 && ps.fills == 0);

    fill(c, t.a, 50000.0, 0.5, 5.0);
    ps = du_position(c);
    ck_assert(fabs(ps.position - s * 0.5) < 1e-12);
    assert_money(ps.entry_price, 50000.0, "entry after fill 1");
    assert_money(ps.fees, 5.0, "fees after fill 1");
    assert_money(ps.realised_pnl, 0.0, "realised after fill 1");

    fill(c, t.a, 50100.0, 0.5, 2.505);
    ps = du_position(c);
    ck_assert(fabs(ps.position - s * 1.0) < 1e-12);
    assert_money(ps.entry_price, 50050.0, "entry after fill 2");
    assert_money(ps.fees, 7.505, "fees after fill 2");

    const uint64_t fill3 = c->h.next_fill_id;
    fill(c, t.b, 50300.0, 0.4, 4.024);
    ps = du_position(c);
    ck_assert(fabs(ps.position - s * 0.6) < 1e-12);
    assert_money(ps.entry_price, 50050.0, "entry after fill 3");
    assert_money(ps.realised_pnl, s * 100.0, "realised after fill 3");
    assert_money(ps.fees, 11.529, "fees after fill 3");
    ck_assert_uint_eq(ps.fills, 3);

    /* The venue resends fill 3 (a reconnect): booked once only. */
    const uint64_t refused0 = c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED];
    const cscalp_order_update dup = du_fill_update(t.b, fill3, 50300.0, 0.4, 4.024);
    ck_assert_int_eq(du_send(c, &dup), CSCALP_OK);
    const cscalp_position pd = du_position(c);
    ck_assert(pd.position == ps.position && pd.realised_pnl == ps.realised_pnl &&
              pd.fees == ps.fees && pd.fills == 3);
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED], refused0);

    /* Funding announced for 1 ms ahead, settled when the clock passes it. */
    const uint64_t settled0 = c->hl.count[CSCALP_EVENT_FUNDING_SETTLED];
    du_push_funding(c, 0.0001, 50200.0, c->clock + DU_NS_PER_MS);
    du_tick(c, c->clock + 2 * DU_NS_PER_MS);
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_FUNDING_SETTLED], settled0 + 1);
    ck_assert_int_eq(c->hl.severity[CSCALP_EVENT_FUNDING_SETTLED], CSCALP_SEVERITY_INFO);
    ck_assert_int_eq(c->hl.component[CSCALP_EVENT_FUNDING_SETTLED], CSCALP_COMPONENT_RISK);
    /* Only once per announced time. */
    du_tick(c, c->clock + 1000 * DU_NS_PER_MS);
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_FUNDING_SETTLED], settled0 + 1);

    ps = du_position(c);
    ck_assert(fabs(ps.position - s * 0.6) < 1e-12);
    assert_money(ps.funding, s * 3.012, "funding");
    assert_money(ps.realised_pnl, s * 100.0, "realised");
    assert_money(ps.fees, 11.529, "fees");
    ck_assert_msg(ps.mark_price > 0.0 && fabs(ps.mark_price - c->mid) < 1e-9,
                  "mark %.17g, mid %.17g", ps.mark_price, c->mid);
    const double unreal = s * 0.6 * (ps.mark_price - 50050.0);
    assert_money(ps.unrealised_pnl, unreal, "unrealised");
    assert_money(ps.equity, 10000.0 + s * 100.0 - 11.529 - s * 3.012 + unreal, "equity");
    printf("{\"test\":\"decide_worked_example\",\"side\":%d,\"position\":%.3f,\"entry\":%.2f,"
           "\"realised\":%.2f,\"fees\":%.3f,\"funding\":%.3f,\"mark\":%.2f,\"equity\":%.4f}\n",
           t.s, ps.position, ps.entry_price, ps.realised_pnl, ps.fees, ps.funding,
           ps.mark_price, ps.equity);
    DU_ASSERT_NO_VIOLATION(&c->v);
    du_free(c);
}
END_TEST

/* One refused update: the code, its WARNING event on component RISK with
 * the code, a detail text, and nothing changed. */
static void refuse(du_ctx *c, cscalp_order_update u, int want, const char *what)
{
    const cscalp_position before = du_position(c);
    const uint64_t ev0 = c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED];
    const int rc = du_send(c, &u);
    ck_assert_msg(rc == want, "%s: %s, want %s (%s)", what, cscalp_error_name(rc),
                  cscalp_error_name(want), c->last_error);
    ck_assert_msg(strlen(c->last_error) > 0, "%s: no detail text", what);
    ck_assert_msg(c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED] == ev0 + 1,
                  "%s: %llu ORDER_UPDATE_REFUSED events", what,
                  (unsigned long long)(c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED] - ev0));
    ck_assert_int_eq(c->hl.severity[CSCALP_EVENT_ORDER_UPDATE_REFUSED], CSCALP_SEVERITY_WARNING);
    ck_assert_int_eq(c->hl.component[CSCALP_EVENT_ORDER_UPDATE_REFUSED], CSCALP_COMPONENT_RISK);
    ck_assert_msg(c->hl.error[CSCALP_EVENT_ORDER_UPDATE_REFUSED] == want,
                  "%s: event error %s", what,
                  cscalp_error_name(c->hl.error[CSCALP_EVENT_ORDER_UPDATE_REFUSED]));
    const cscalp_position after = du_position(c);
    ck_assert_msg(after.position == before.position && after.entry_price == before.entry_price &&
                      after.realised_pnl == before.realised_pnl && after.fees == before.fees &&
                      after.funding == before.funding && after.fills == before.fills,
                  "%s: the position changed", what);
    if (c->batch_n == 0)
        ck_assert_uint_eq(after.open_orders, before.open_orders);
}

START_TEST(order_update_refusals)
{
    du_params p = du_params_default();
    const cscalp_sim_market_config mc = btc_market(7);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    const two_orders t = get_two_orders(c, 1200.0);
    book_three_fills(c, &t); /* A filled (closed), B 0.4 of ≥ 0.4 filled */
    const du_order *ob = du_find(&c->h, t.b);
    ck_assert_ptr_nonnull(ob);
    const double b_left = ob->qty - ob->filled;

    /* Never issued. */
    refuse(c, du_update(CSCALP_UPDATE_ACK, c->h.max_id + 1000), CSCALP_EORDER_UNKNOWN,
           "ack of an id never issued");
    refuse(c, du_fill_update(c->h.max_id + 7, c->h.next_fill_id++, 50000, 0.1, 0),
           CSCALP_EORDER_UNKNOWN, "fill of an id never issued");
    refuse(c, du_fill_update(0, c->h.next_fill_id++, 50000, 0.1, 0), CSCALP_EORDER_UNKNOWN,
           "fill of id 0");

    /* Bad fields, on a working order. */
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, NAN, 0.1, 0), CSCALP_ENONFINITE,
           "NaN price");
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, 50000, INFINITY, 0), CSCALP_ENONFINITE,
           "infinite quantity");
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, 50000, 0.1, NAN), CSCALP_ENONFINITE,
           "NaN fee");
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, 0.0, 0.1, 0), CSCALP_EPRICE, "price 0");
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, -50000, 0.1, 0), CSCALP_EPRICE,
           "negative price");
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, 50000, 0.0, 0), CSCALP_ESIZE,
           "quantity 0");
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, 50000, -0.1, 0), CSCALP_ESIZE,
           "negative quantity");
    refuse(c, du_fill_update(t.b, 0, 50000, 0.1, 0), CSCALP_EINVAL, "fill id 0");
    refuse(c, du_update(9, t.b), CSCALP_EINVAL, "unknown update type");
    cscalp_order_update small = du_fill_update(t.b, c->h.next_fill_id++, 50000, 0.1, 0);
    small.size = 8; /* a host built against a struct that cannot exist */
    refuse(c, small, CSCALP_ESTRUCT, "size field too small");
    ck_assert_int_eq(cscalp_on_order(c->e, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_on_order(NULL, &small), CSCALP_EINVAL);

    /* Overfill: one lot more than B has left. */
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, 50000, b_left + 0.001, 0),
           CSCALP_EOVERFILL, "overfill");

    /* REJECTED after a fill: impossible. With a cancel pending the first
     * REJECTED is the venue refusing the cancel (accepted, the order works
     * again); the engine may cancel again at once, so try a few times. */
    int transition = 0;
    for (int i = 0; i < 5 && !transition; i++) {
        if (du_find(&c->h, t.b)->cancel_pending) {
            ck_assert_int_eq(du_send(c, &(cscalp_order_update){.size = sizeof(cscalp_order_update),
                                                                .type = CSCALP_UPDATE_REJECTED,
                                                                .client_id = t.b,
                                                                .text = "cancel refused"}),
                             CSCALP_OK);
            continue;
        }
        refuse(c, du_update(CSCALP_UPDATE_REJECTED, t.b), CSCALP_ETRANSITION,
               "REJECTED after a fill");
        transition = 1;
    }
    ck_assert_msg(transition, "order B never left PENDING_CANCEL");

    /* Closed orders: A completed; B cancelled now. */
    refuse(c, du_fill_update(t.a, c->h.next_fill_id++, 50000, 0.1, 0), CSCALP_EORDER_CLOSED,
           "fill for a filled order");
    ck_assert_int_eq(du_send(c, &(cscalp_order_update){.size = sizeof(cscalp_order_update),
                                                        .type = CSCALP_UPDATE_CANCELLED,
                                                        .client_id = t.b}),
                     CSCALP_OK);
    refuse(c, du_fill_update(t.b, c->h.next_fill_id++, 50300, 0.1, 0.5), CSCALP_EORDER_CLOSED,
           "fill after CANCELLED");
    refuse(c, du_update(CSCALP_UPDATE_ACK, t.b), CSCALP_EORDER_CLOSED, "ACK after CANCELLED");
    refuse(c, du_update(CSCALP_UPDATE_CANCELLED, t.b), CSCALP_EORDER_CLOSED,
           "CANCELLED twice");
    refuse(c, du_update(CSCALP_UPDATE_REJECTED, t.a), CSCALP_EORDER_CLOSED,
           "REJECTED after FILLED");

    /* A duplicate of B's booked fill, after B closed: still a duplicate. */
    const uint64_t ev0 = c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED];
    const cscalp_position before = du_position(c);
    const du_fill *f = NULL;
    for (uint32_t i = 0; i < c->h.recent_n; i++)
        if (c->h.recent[i].client_id == t.b)
            f = &c->h.recent[i];
    ck_assert_ptr_nonnull(f);
    const cscalp_order_update dup = du_fill_update(t.b, f->fill_id, f->price, f->qty, f->fee);
    ck_assert_int_eq(du_send(c, &dup), CSCALP_OK);
    const cscalp_position after = du_position(c);
    ck_assert(after.position == before.position && after.fills == before.fills &&
              after.fees == before.fees);
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED], ev0);

    printf("{\"test\":\"decide_order_refusals\",\"refused\":%llu,"
           "\"order_update_refused_events\":%llu}\n",
           (unsigned long long)c->refused_updates,
           (unsigned long long)c->hl.count[CSCALP_EVENT_ORDER_UPDATE_REFUSED]);
    DU_ASSERT_NO_VIOLATION(&c->v);
    du_free(c);
}
END_TEST

static void assert_resync(du_ctx *c, uint64_t before, int severity)
{
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_POSITION_RESYNC], before + 1);
    ck_assert_int_eq(c->hl.severity[CSCALP_EVENT_POSITION_RESYNC], severity);
    ck_assert_int_eq(c->hl.component[CSCALP_EVENT_POSITION_RESYNC], CSCALP_COMPONENT_RISK);
    ck_assert_int_eq(c->hl.action[CSCALP_EVENT_POSITION_RESYNC], CSCALP_ACTION_APPLIED);
}

START_TEST(set_position_resync)
{
    du_params p = du_params_default();
    const cscalp_sim_market_config mc = btc_market(11);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    const two_orders t = get_two_orders(c, 1200.0);
    book_three_fills(c, &t);
    const double s = t.s;
    const cscalp_position p0 = du_position(c);
    assert_money(p0.realised_pnl, s * 100.0, "realised before");

    /* Different: WARNING; position and entry replaced, the rest kept. */
    uint64_t r0 = c->hl.count[CSCALP_EVENT_POSITION_RESYNC];
    ck_assert_int_eq(du_set_position(c, s * 2.5, 50010.0), CSCALP_OK);
    assert_resync(c, r0, CSCALP_SEVERITY_WARNING);
    cscalp_position ps = du_position(c);
    ck_assert(ps.position == s * 2.5 && ps.entry_price == 50010.0);
    ck_assert(ps.realised_pnl == p0.realised_pnl && ps.fees == p0.fees &&
              ps.funding == p0.funding && ps.fills == p0.fills);
    if (c->batch_n == 0)
        ck_assert_uint_eq(ps.open_orders, p0.open_orders); /* working orders kept */

    /* The same again: INFO. */
    r0 = c->hl.count[CSCALP_EVENT_POSITION_RESYNC];
    ck_assert_int_eq(du_set_position(c, s * 2.5, 50010.0), CSCALP_OK);
    assert_resync(c, r0, CSCALP_SEVERITY_INFO);

    /* Refused values change nothing and raise no resync (docs/health.md:
     * the event is APPLIED only). */
    const struct {
        double pos, entry;
        int rc;
    } bad[] = {{NAN, 50000.0, CSCALP_ENONFINITE}, {INFINITY, 50000.0, CSCALP_ENONFINITE},
               {1.0, NAN, CSCALP_ENONFINITE},     {1.0, 0.0, CSCALP_EPRICE},
               {-1.0, -5.0, CSCALP_EPRICE}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r0 = c->hl.count[CSCALP_EVENT_POSITION_RESYNC];
        ck_assert_int_eq(du_set_position(c, bad[i].pos, bad[i].entry), bad[i].rc);
        ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_POSITION_RESYNC], r0);
    }
    r0 = c->hl.count[CSCALP_EVENT_POSITION_RESYNC];
    ck_assert_int_eq(cscalp_set_position(NULL, 1.0, 1.0), CSCALP_EINVAL);
    ps = du_position(c);
    ck_assert(ps.position == s * 2.5 && ps.entry_price == 50010.0);

    /* Flat: the entry is ignored (and reads 0). */
    ck_assert_int_eq(du_set_position(c, 0.0, -5.0), CSCALP_OK);
    assert_resync(c, r0, CSCALP_SEVERITY_WARNING);
    ps = du_position(c);
    ck_assert(ps.position == 0.0 && ps.entry_price == 0.0 && ps.unrealised_pnl == 0.0);
    ck_assert(ps.realised_pnl == p0.realised_pnl && ps.fees == p0.fees);

    /* Fills book on the resynced position: s 1 @ 50000, then B (side -s)
     * fills 0.2 @ 50100: realised s (50100 - 50000) 0.2 = s 20 more. */
    ck_assert_int_eq(du_set_position(c, s * 1.0, 50000.0), CSCALP_OK);
    const du_order *ob = du_find(&c->h, t.b);
    if (ob != NULL && !ob->closed && ob->qty - ob->filled >= 0.2) {
        fill(c, t.b, 50100.0, 0.2, 1.0);
        ps = du_position(c);
        assert_money(ps.realised_pnl, s * 120.0, "realised after a fill on the resync");
        assert_money(ps.fees, 12.529, "fees after a fill on the resync");
        ck_assert(fabs(ps.position - s * 0.8) < 1e-12 && ps.entry_price == 50000.0);
    }
    printf("{\"test\":\"decide_set_position\",\"resync_events\":%llu,\"realised\":%.2f}\n",
           (unsigned long long)c->hl.count[CSCALP_EVENT_POSITION_RESYNC],
           du_position(c).realised_pnl);
    DU_ASSERT_NO_VIOLATION(&c->v);
    du_free(c);
}
END_TEST

static cscalp_signal signal_now(du_ctx *c)
{
    cscalp_signal sg;
    memset(&sg, 0, sizeof sg);
    sg.size = sizeof sg;
    ck_assert_int_eq(cscalp_infer(c->e, &sg), CSCALP_OK);
    return sg;
}

START_TEST(autonomy_levels)
{
    du_params p = du_params_default();
    p.max_position_contracts = 2;
    const cscalp_sim_market_config mc = btc_market(5);
    du_ctx *c = du_new(&p, &mc);

    /* MANUAL: the policy wants positions, nothing is asked for. */
    long wanted = 0;
    for (int i = 0; i < 4000; i++) {
        du_step(c);
        if (i % 20 == 0) {
            const cscalp_signal sg = signal_now(c);
            ck_assert_int_eq(sg.autonomy, CSCALP_AUTONOMY_MANUAL);
            wanted += sg.target_position != 0.0;
        }
    }
    ck_assert_uint_eq(c->intents_new + c->intents_cancel, 0);
    ck_assert_msg(wanted > 0, "the policy never wanted a position: the test proves nothing");

    /* ASSISTED. */
    uint64_t a0 = c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED];
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_ASSISTED), CSCALP_OK);
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED], a0 + 1);
    ck_assert_int_eq(c->hl.severity[CSCALP_EVENT_AUTONOMY_CHANGED], CSCALP_SEVERITY_INFO);
    ck_assert_int_eq(cscalp_get_autonomy(c->e), CSCALP_AUTONOMY_ASSISTED);
    /* Confirm (fill) the first flagged order, keep later ones working
     * unfilled; keep reduce-only ones working too. */
    long flagged = 0, reducing_unflagged = 0, confirmed = 0;
    const int64_t end = c->clock + 1800 * DU_NS_PER_S;
    while (!(flagged > 0 && reducing_unflagged > 0 && c->h.working > 0)) {
        du_step(c);
        ck_assert_msg(c->clock < end, "ASSISTED: flagged %ld, reducing %ld, working %u", flagged,
                      reducing_unflagged, c->h.working);
        const batch_copy *b = copy_batch(c);
        for (int i = 0; i < b->n; i++) {
            const cscalp_intent *in = &b->in[i];
            if (in->kind != CSCALP_INTENT_NEW)
                continue;
            const int conf = (in->flags & CSCALP_INTENT_NEEDS_CONFIRMATION) != 0;
            const int ro = (in->flags & CSCALP_INTENT_REDUCE_ONLY) != 0;
            flagged += conf;
            reducing_unflagged += ro && !conf;
            if (conf && confirmed == 0) {
                confirmed++;
                fill(c, in->client_id, in->price, in->quantity, 0.0);
            } else if (conf && c->h.working > 1) {
                decline(c, in->client_id);
            } else {
                ack(c, in->client_id);
            }
        }
    }

    /* Lower to MANUAL: every working order cancelled, reason AUTONOMY. */
    uint32_t working = 0;
    for (uint32_t i = 0; i < c->h.working; i++)
        working += !c->h.orders[c->h.working_ids[i]].cancel_pending;
    a0 = c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED];
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_MANUAL), CSCALP_OK);
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED], a0 + 1);
    ck_assert_int_eq(du_batch_count(c, CSCALP_INTENT_CANCEL, CSCALP_INTENT_AUTONOMY),
                     (int)working);
    ck_assert_int_eq(du_batch_count(c, CSCALP_INTENT_NEW, -1), 0);
    ck_assert_uint_gt(working, 0);
    /* The cancels are answered; at MANUAL nothing else comes. */
    while (c->h.working > 0) {
        const cscalp_order_update u = du_update(CSCALP_UPDATE_CANCELLED, c->h.working_ids[0]);
        ck_assert_int_eq(du_send(c, &u), CSCALP_OK);
    }
    const uint64_t new0 = c->intents_new, cancel0 = c->intents_cancel;
    for (int i = 0; i < 3000; i++)
        du_step(c);
    ck_assert_uint_eq(c->intents_new, new0);
    ck_assert_uint_eq(c->intents_cancel, cancel0);

    /* EVOLVING: accepted, kept and reported; trades like AUTONOMOUS. */
    a0 = c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED];
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_EVOLVING), CSCALP_OK);
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED], a0 + 1);
    ck_assert_int_eq(cscalp_get_autonomy(c->e), CSCALP_AUTONOMY_EVOLVING);
    ck_assert_int_eq(du_position(c).autonomy, CSCALP_AUTONOMY_EVOLVING);
    ck_assert_int_eq(signal_now(c).autonomy, CSCALP_AUTONOMY_EVOLVING);
    const int64_t end2 = c->clock + 600 * DU_NS_PER_S;
    while (c->intents_new == new0) {
        du_step(c);
        ck_assert_msg(c->clock < end2, "EVOLVING: no order in 600 s");
    }

    /* Unknown levels: refused, the level kept, no event. */
    a0 = c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED];
    ck_assert_int_eq(cscalp_set_autonomy(c->e, 4), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_set_autonomy(c->e, -1), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_set_autonomy(NULL, CSCALP_AUTONOMY_MANUAL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_get_autonomy(NULL), CSCALP_AUTONOMY_MANUAL);
    ck_assert_int_eq(cscalp_get_autonomy(c->e), CSCALP_AUTONOMY_EVOLVING);
    ck_assert_uint_eq(c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED], a0);
    printf("{\"test\":\"decide_autonomy\",\"manual_steps_wanting\":%ld,\"flagged\":%ld,"
           "\"reducing_unflagged\":%ld,\"autonomy_cancels\":%u,\"autonomy_events\":%llu}\n",
           wanted, flagged, reducing_unflagged, working,
           (unsigned long long)c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED]);
    DU_ASSERT_NO_VIOLATION(&c->v);
    du_free(c);
}
END_TEST

/* The next market event into the engine without polling its intents: the
 * host's quote and clock follow, nothing else. */
static void push_without_polling(du_ctx *c)
{
    DU_CHECK(cscalp_sim_market_next(c->m, &c->ev) == CSCALP_OK);
    int rc;
    if (c->ev.kind == CSCALP_KIND_QUOTE) {
        rc = cscalp_push_quote(c->e, &c->ev.quote);
        c->bid = c->ev.quote.bid_price;
        c->ask = c->ev.quote.ask_price;
        c->mid = 0.5 * (c->bid + c->ask);
    } else if (c->ev.kind == CSCALP_KIND_TRADE) {
        rc = cscalp_push_trade(c->e, &c->ev.trade);
    } else {
        rc = cscalp_push_book(c->e, &c->ev.book);
    }
    ck_assert_int_eq(rc, CSCALP_OK);
    c->clock = c->ev.ts_ns;
}

/* Drive until the engine holds a position and at least one order works:
 * the first order is filled in full, later ones are acknowledged only. */
static void get_position_and_working(du_ctx *c, double max_s)
{
    du_step(c);
    const int64_t end = c->clock + (int64_t)(max_s * 1e9);
    while (!(c->h.led.pos != 0.0 && c->h.working > 0)) {
        du_step(c);
        ck_assert_msg(c->clock < end, "no position with a working order in %g s", max_s);
        const batch_copy *b = copy_batch(c);
        for (int i = 0; i < b->n; i++) {
            const cscalp_intent *in = &b->in[i];
            if (in->kind != CSCALP_INTENT_NEW)
                continue;
            if (c->h.led.fills == 0)
                fill(c, in->client_id, in->price, in->quantity, 0.5);
            else
                ack(c, in->client_id);
        }
    }
}

/* After a trip: the cancels and the flatten of the tripping call. */
static void assert_trip(du_ctx *c, uint32_t working_before, double pos, int closing_working,
                        uint64_t trips0)
{
    ck_assert_uint_eq(c->hl.kill_trips, trips0 + 1);
    ck_assert_int_eq(c->hl.severity[CSCALP_EVENT_KILL_SWITCH], CSCALP_SEVERITY_CRITICAL);
    ck_assert_int_eq(c->hl.component[CSCALP_EVENT_KILL_SWITCH], CSCALP_COMPONENT_RISK);
    ck_assert_int_eq(c->hl.action[CSCALP_EVENT_KILL_SWITCH], CSCALP_ACTION_HALTED);
    ck_assert_int_eq(c->hl.severity[CSCALP_EVENT_AUTONOMY_CHANGED], CSCALP_SEVERITY_WARNING);
    ck_assert_int_eq(c->hl.action[CSCALP_EVENT_AUTONOMY_CHANGED], CSCALP_ACTION_DEGRADED);
    const cscalp_position ps = du_position(c);
    ck_assert_int_eq(ps.kill_switch, 1);
    ck_assert_int_eq(cscalp_get_autonomy(c->e), CSCALP_AUTONOMY_MANUAL);
    ck_assert_int_eq(du_batch_count(c, CSCALP_INTENT_CANCEL, CSCALP_INTENT_KILL_SWITCH),
                     (int)working_before);
    /* The flatten: for the whole position, or the largest order allowed;
     * it waits while an order (being cancelled) works on the closing side. */
    int flattens = 0;
    for (int i = 0; i < c->batch_n; i++) {
        const cscalp_intent *in = &c->batch[i];
        if (in->kind != CSCALP_INTENT_NEW)
            continue;
        ck_assert_int_eq(in->reason, CSCALP_INTENT_KILL_SWITCH);
        ck_assert_int_eq(in->type, CSCALP_ORDER_MARKET);
        ck_assert_int_eq(in->time_in_force, CSCALP_TIF_IOC);
        ck_assert(in->flags & CSCALP_INTENT_REDUCE_ONLY);
        ck_assert_int_eq(in->side, pos > 0.0 ? CSCALP_SIDE_SELL : CSCALP_SIDE_BUY);
        const double want = fmin(fabs(pos), c->p.max_order_contracts);
        ck_assert_msg(fabs(in->quantity - want) < 1e-12, "flatten %.17g, position %.17g",
                      in->quantity, pos);
        flattens++;
    }
    ck_assert_int_eq(flattens, pos != 0.0 && !closing_working ? 1 : 0);
    /* Above MANUAL is refused until re-armed; MANUAL itself is fine. */
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_EKILLED);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_ASSISTED), CSCALP_EKILLED);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_EVOLVING), CSCALP_EKILLED);
    ck_assert_int_eq(cscalp_get_autonomy(c->e), CSCALP_AUTONOMY_MANUAL);
}

/* While tripped: cancels answered, the flatten filled at its price; the
 * market goes on and nothing adds exposure (checked per intent). */
static void ride_out_trip(du_ctx *c, int steps)
{
    for (int k = 0; k < steps || c->h.working > 0; k++) {
        ck_assert_msg(k < 10 * steps, "still %u working orders", c->h.working);
        du_step(c);
        for (uint32_t i = 0; i < c->h.working;) {
            const du_order *o = &c->h.orders[c->h.working_ids[i]];
            const uint64_t id = o->id;
            if (o->reason == CSCALP_INTENT_KILL_SWITCH) {
                fill(c, id, o->price, o->qty - o->filled, 0.1);
            } else if (o->cancel_pending) {
                const cscalp_order_update u = du_update(CSCALP_UPDATE_CANCELLED, id);
                ck_assert_int_eq(du_send(c, &u), CSCALP_OK);
            } else {
                i++;
            }
        }
    }
}

START_TEST(kill_switch_by_config)
{
    du_params p = du_params_default();
    p.max_position_contracts = 2;
    const cscalp_sim_market_config mc = btc_market(3);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    get_position_and_working(c, 1200.0);
    uint32_t working = 0;
    int closing = 0;
    for (uint32_t i = 0; i < c->h.working; i++) {
        const du_order *o = &c->h.orders[c->h.working_ids[i]];
        working += !o->cancel_pending;
        closing |= o->side * c->h.led.pos < 0.0;
    }
    const double pos = c->h.led.pos;
    const uint64_t trips0 = c->hl.kill_trips, aut0 = c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED];

    ck_assert_int_eq(du_configure(c, "{\"risk\":{\"kill_switch\":\"tripped\"}}"), CSCALP_OK);
    assert_trip(c, working, pos, closing, trips0);
    ck_assert_uint_gt(c->hl.count[CSCALP_EVENT_AUTONOMY_CHANGED], aut0);
    ride_out_trip(c, 3000);
    ck_assert_msg(c->h.led.pos == 0.0, "flatten filled, position %.17g", c->h.led.pos);
    ck_assert_uint_eq(c->h.working, 0);

    /* Re-arm: INFO event, the switch reads armed, autonomy can rise. */
    const uint64_t rearm0 = c->hl.kill_rearms, new0 = c->intents_new;
    ck_assert_int_eq(du_configure(c, "{\"risk\":{\"kill_switch\":\"armed\"}}"), CSCALP_OK);
    ck_assert_uint_eq(c->hl.kill_rearms, rearm0 + 1);
    ck_assert_int_eq(c->hl.severity[CSCALP_EVENT_KILL_SWITCH], CSCALP_SEVERITY_INFO);
    ck_assert_int_eq(du_position(c).kill_switch, 0);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    const int64_t end = c->clock + 600 * DU_NS_PER_S;
    while (c->intents_new == new0) {
        du_step(c);
        ck_assert_msg(c->clock < end, "no order within 600 s of re-arming");
    }
    printf("{\"test\":\"decide_kill_switch_config\",\"position\":%.3f,\"cancels\":%u,"
           "\"kill_intents\":%llu}\n",
           pos, working, (unsigned long long)c->by_reason[CSCALP_INTENT_KILL_SWITCH]);
    DU_ASSERT_NO_VIOLATION(&c->v);
    du_free(c);
}
END_TEST

/* A fill 200 quote per contract worse than the mid puts equity 200 below
 * its peak: more than the 50 allowed, so the next equity mark trips. */
START_TEST(kill_switch_by_drawdown)
{
    du_params p = du_params_default();
    p.max_daily_drawdown = 50;
    const cscalp_sim_market_config mc = btc_market(9);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    du_step(c);
    const int64_t end = c->clock + 1200 * DU_NS_PER_S;
    uint64_t id = 0;
    double qty = 0.0;
    int side = 0;
    while (id == 0) {
        du_step(c);
        ck_assert_msg(c->clock < end, "no order within 1200 s");
        const batch_copy *b = copy_batch(c);
        for (int i = 0; i < b->n; i++)
            if (b->in[i].kind == CSCALP_INTENT_NEW && id == 0 && b->in[i].quantity >= 0.5) {
                id = b->in[i].client_id;
                qty = b->in[i].quantity;
                side = b->in[i].side;
            } else if (b->in[i].kind == CSCALP_INTENT_NEW) {
                decline(c, b->in[i].client_id);
            }
    }
    const uint64_t trips0 = c->hl.kill_trips;
    fill(c, id, c->mid + side * 400.0, qty, 0.0);
    const double pos = c->h.led.pos;
    int steps = 0;
    while (!c->killed) {
        du_step(c);
        ck_assert_msg(++steps < 1000, "no trip within 1000 events; equity %.2f",
                      du_position(c).equity);
    }
    /* The trip may come inside the fill's own call (then this step found
     * it tripped already) or at the next mark. */
    ck_assert_uint_eq(c->hl.kill_trips, trips0 + 1);
    ck_assert_int_eq(cscalp_get_autonomy(c->e), CSCALP_AUTONOMY_MANUAL);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_EKILLED);
    ck_assert_uint_ge(c->by_reason[CSCALP_INTENT_KILL_SWITCH], 1); /* the flatten */
    ride_out_trip(c, 2000);
    ck_assert(c->h.led.pos == 0.0);
    printf("{\"test\":\"decide_kill_switch_drawdown\",\"position\":%.3f,\"events_to_trip\":%d,"
           "\"equity\":%.2f}\n",
           pos, steps, du_position(c).equity);
    DU_ASSERT_NO_VIOLATION(&c->v);
    du_free(c);
}
END_TEST

/* A second host on a restored engine: the same orders and ledger. */
static du_ctx *clone_ctx(const du_ctx *c, cscalp_engine *e2)
{
    du_ctx *d = malloc(sizeof *d);
    DU_CHECK(d != NULL);
    memcpy(d, c, sizeof *d);
    d->e = e2;
    d->m = NULL;
    d->h.orders = malloc(c->h.cap * sizeof *d->h.orders);
    d->new_ts = malloc(c->new_cap * sizeof *d->new_ts);
    DU_CHECK(d->h.orders != NULL && d->new_ts != NULL);
    memcpy(d->h.orders, c->h.orders, c->h.cap * sizeof *d->h.orders);
    memcpy(d->new_ts, c->new_ts, c->new_cap * sizeof *d->new_ts);
    d->hl.hook_user = d;
    DU_CHECK(cscalp_set_health_callback(e2, du_health_cb, &d->hl) == CSCALP_OK);
    return d;
}

static void assert_same_intents(const du_ctx *a, const du_ctx *b)
{
    ck_assert_int_eq(a->batch_n, b->batch_n);
    for (int i = 0; i < a->batch_n; i++) {
        const cscalp_intent *x = &a->batch[i], *y = &b->batch[i];
        ck_assert_msg(x->kind == y->kind && x->client_id == y->client_id && x->ts_ns == y->ts_ns &&
                          x->side == y->side && x->type == y->type &&
                          x->time_in_force == y->time_in_force && x->reason == y->reason &&
                          x->price == y->price && x->quantity == y->quantity &&
                          x->flags == y->flags && x->regime == y->regime &&
                          x->expected_move_bps == y->expected_move_bps &&
                          x->edge_bps == y->edge_bps && x->target_position == y->target_position &&
                          x->position == y->position,
                      "intent %d differs: id %llu / %llu, kind %d / %d", i,
                      (unsigned long long)x->client_id, (unsigned long long)y->client_id,
                      x->kind, y->kind);
    }
}

static void assert_same_position(const du_ctx *a, const du_ctx *b)
{
    const cscalp_position x = du_position(a), y = du_position(b);
    ck_assert_msg(x.position == y.position && x.entry_price == y.entry_price &&
                      x.mark_price == y.mark_price && x.realised_pnl == y.realised_pnl &&
                      x.unrealised_pnl == y.unrealised_pnl && x.fees == y.fees &&
                      x.funding == y.funding && x.equity == y.equity && x.fills == y.fills &&
                      x.open_orders == y.open_orders && x.kill_switch == y.kill_switch &&
                      x.autonomy == y.autonomy,
                  "positions differ: %.17g / %.17g, open %u / %u", x.position, y.position,
                  x.open_orders, y.open_orders);
}

static void *save(cscalp_engine *e, size_t *len)
{
    size_t need = 0;
    ck_assert_int_eq(cscalp_save_buffer(e, NULL, 0, &need), CSCALP_OK);
    void *buf = malloc(need);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(cscalp_save_buffer(e, buf, need, len), CSCALP_OK);
    ck_assert_uint_eq(*len, need);
    return buf;
}

START_TEST(checkpoint_resumes)
{
    du_params p = du_params_default();
    p.learn_mode = "inline"; /* deterministic, and the learner's state is saved too */
    p.max_position_contracts = 2;
    p.order_ttl_ms = 3000; /* a working order is cancelled 3 s on: a queued intent */
    const cscalp_sim_market_config mc = btc_market(21);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    get_position_and_working(c, 1200.0);
    const uint64_t kept = c->h.working_ids[c->h.working - 1];

    /* 5 s of market without polling: the TTL (or a stale) cancel waits in
     * the queue. The host's quote and clock follow, nothing else. */
    const int64_t until = c->clock + 5 * DU_NS_PER_S;
    while (c->clock < until) {
        push_without_polling(c);
    }
    const uint64_t max_id_saved = c->h.max_id;
    size_t len = 0;
    void *bytes = save(c->e, &len);
    cscalp_engine *e2 = NULL;
    char why[256] = "";
    const int rc = cscalp_open_buffer(&e2, bytes, len, NULL, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_open_buffer: %s (%s)", cscalp_error_name(rc), why);
    free(bytes);
    du_ctx *d = clone_ctx(c, e2);
    ck_assert_int_eq(cscalp_get_autonomy(e2), CSCALP_AUTONOMY_AUTONOMOUS);
    assert_same_position(c, d);

    /* The queued intents, from both. They were decided on earlier quotes:
     * the collar and touch checks use the latest, which is within a few
     * bps over 5 s and far inside the 50 bps collar. */
    c->lax = d->lax = 1;
    du_after(c, DU_CALL_MARKET);
    du_after(d, DU_CALL_MARKET);
    c->lax = d->lax = 0;
    const int queued = c->batch_n;
    ck_assert_int_ge(queued, 1);
    ck_assert_int_ge(du_batch_count(c, CSCALP_INTENT_CANCEL, -1), 1);
    assert_same_intents(c, d);

    /* Lockstep: the same market and the same answers to both. */
    tu_rng g = {42};
    uint64_t first_new = 0;
    int kept_filled = 0;
    for (int step = 0; step < 6000; step++) {
        DU_CHECK(cscalp_sim_market_next(c->m, &c->ev) == CSCALP_OK);
        du_push_event(c, &c->ev);
        du_push_event(d, &c->ev);
        assert_same_intents(c, d);
        for (int i = 0; i < c->batch_n; i++)
            if (c->batch[i].kind == CSCALP_INTENT_NEW && first_new == 0)
                first_new = c->batch[i].client_id;
        /* The order working at the save fills on both. */
        const du_order *ko = du_find(&c->h, kept);
        if (!kept_filled && ko != NULL && !ko->closed) {
            const cscalp_order_update u =
                du_fill_update(kept, c->h.next_fill_id++, ko->price, ko->qty - ko->filled, 0.2);
            ck_assert_int_eq(du_send(c, &u), CSCALP_OK);
            ck_assert_int_eq(du_send(d, &u), CSCALP_OK);
            d->h.next_fill_id = c->h.next_fill_id;
            kept_filled = 1;
            assert_same_position(c, d);
        }
        /* Answer one working order at random, identically. */
        if (c->h.working > 0 && tu_uniform(&g) < 0.3) {
            const du_order *o = &c->h.orders[c->h.working_ids[tu_below(&g, c->h.working)]];
            cscalp_order_update u;
            if (o->cancel_pending)
                u = du_update(CSCALP_UPDATE_CANCELLED, o->id);
            else if (tu_uniform(&g) < 0.5)
                u = du_fill_update(o->id, c->h.next_fill_id++, o->price, o->qty - o->filled, 0.1);
            else
                u = du_update(CSCALP_UPDATE_ACK, o->id);
            const int r1 = du_send(c, &u), r2 = du_send(d, &u);
            ck_assert_int_eq(r1, r2);
            d->h.next_fill_id = c->h.next_fill_id;
            assert_same_intents(c, d);
        }
        assert_same_position(c, d);
    }
    ck_assert_msg(kept_filled, "the order working at the save was closed before its fill");
    ck_assert_msg(first_new > max_id_saved, "first id after the restore %llu, last before %llu",
                  (unsigned long long)first_new, (unsigned long long)max_id_saved);

    /* The same events gave the same state: byte-identical checkpoints. */
    size_t l1 = 0, l2 = 0;
    void *b1 = save(c->e, &l1), *b2 = save(d->e, &l2);
    ck_assert_uint_eq(l1, l2);
    size_t diff = 0;
    while (diff < l1 && ((const unsigned char *)b1)[diff] == ((const unsigned char *)b2)[diff])
        diff++;
    ck_assert_msg(diff == l1, "checkpoints differ from byte %zu of %zu", diff, l1);
    printf("{\"test\":\"decide_checkpoint\",\"checkpoint_bytes\":%zu,\"queued_intents\":%d,"
           "\"max_id_saved\":%llu,\"first_id_after\":%llu,\"lockstep_new\":%llu}\n",
           len, queued, (unsigned long long)max_id_saved, (unsigned long long)first_new,
           (unsigned long long)c->intents_new);
    free(b1);
    free(b2);
    DU_ASSERT_NO_VIOLATION(&c->v);
    DU_ASSERT_NO_VIOLATION(&d->v);
    du_free(d);
    du_free(c);
}
END_TEST

/* The kill switch set at open, and kept by a checkpoint. */
START_TEST(kill_switch_at_open_and_checkpoint)
{
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, "{\"risk\":{\"kill_switch\":\"tripped\"}}"), CSCALP_OK);
    cscalp_position ps;
    memset(&ps, 0, sizeof ps);
    ps.size = sizeof ps;
    ck_assert_int_eq(cscalp_get_position(e, &ps), CSCALP_OK);
    ck_assert_int_eq(ps.kill_switch, 1);
    ck_assert_int_eq(cscalp_set_autonomy(e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_EKILLED);
    ck_assert_int_eq(cscalp_set_autonomy(e, CSCALP_AUTONOMY_MANUAL), CSCALP_OK);
    static char cfg[1 << 16];
    ck_assert_int_eq(cscalp_config_json(e, cfg, sizeof cfg, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(cfg, "\"kill_switch\":\"tripped\""));

    size_t len = 0;
    void *bytes = save(e, &len);
    cscalp_engine *e2 = NULL;
    ck_assert_int_eq(cscalp_open_buffer(&e2, bytes, len, NULL, NULL, 0), CSCALP_OK);
    free(bytes);
    memset(&ps, 0, sizeof ps);
    ps.size = sizeof ps;
    ck_assert_int_eq(cscalp_get_position(e2, &ps), CSCALP_OK);
    ck_assert_int_eq(ps.kill_switch, 1);
    ck_assert_int_eq(cscalp_set_autonomy(e2, CSCALP_AUTONOMY_ASSISTED), CSCALP_EKILLED);
    ck_assert_int_eq(cscalp_configure(e2, "{\"risk\":{\"kill_switch\":\"armed\"}}"), CSCALP_OK);
    ck_assert_int_eq(cscalp_set_autonomy(e2, CSCALP_AUTONOMY_ASSISTED), CSCALP_OK);
    ck_assert_int_eq(cscalp_config_json(e2, cfg, sizeof cfg, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(cfg, "\"kill_switch\":\"armed\""));
    cscalp_close(e2);
    cscalp_close(e);
}
END_TEST

/* A trip while the intent queue is full: the kill switch's cancels and
 * flatten must not be lost, only held until the host polls (docs/risk.md:
 * "at once and on every decision step after"). */
START_TEST(kill_switch_with_full_queue)
{
    du_params p = du_params_default();
    p.max_position_contracts = 2;
    p.intent_queue = 1;
    p.order_ttl_ms = 1000;
    const cscalp_sim_market_config mc = btc_market(3);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    get_position_and_working(c, 1200.0);
    /* Fill the queue without polling: a TTL or stale cancel comes within
     * the order's 1 s life. */
    int pushed = 0;
    while (du_stat(c->e, "queued") < 1.0) {
        push_without_polling(c);
        ck_assert_msg(++pushed < 100000, "nothing queued");
    }
    ck_assert_int_eq(cscalp_configure(c->e, "{\"risk\":{\"kill_switch\":\"tripped\"}}"),
                     CSCALP_OK);
    c->lax = 1; /* the queued intent was decided on an earlier quote */
    du_after(c, DU_CALL_CONFIGURE);
    c->lax = 0;
    ck_assert(c->killed);
    /* What the full queue held back is not a violation of the trip call;
     * what matters is that it comes once there is room. */
    const uint64_t held = c->v.n[DU_V_KILL_CANCEL];
    c->v.n[DU_V_KILL_CANCEL] = 0;
    int steps = 0;
    for (;;) {
        int open = 0;
        for (uint32_t i = 0; i < c->h.working; i++) {
            const du_order *o = &c->h.orders[c->h.working_ids[i]];
            open += !o->cancel_pending && o->reason != CSCALP_INTENT_KILL_SWITCH;
        }
        if (open == 0)
            break;
        du_step(c);
        ck_assert_msg(++steps < 2000, "%d working orders never cancelled after the trip", open);
    }
    ride_out_trip(c, 2000);
    ck_assert_msg(c->h.led.pos == 0.0, "never flattened: position %.17g", c->h.led.pos);
    printf("{\"test\":\"decide_kill_full_queue\",\"held_back\":%llu,\"steps_to_cancel\":%d,"
           "\"dropped_events\":%llu}\n",
           (unsigned long long)held, steps,
           (unsigned long long)c->hl.count[CSCALP_EVENT_INTENTS_DROPPED]);
    DU_ASSERT_NO_VIOLATION(&c->v);
    du_free(c);
}
END_TEST

/* out[0].size is the stride: a host built against a longer (newer) struct
 * gets whole intents at its stride, each with size set to it. */
START_TEST(poll_stride)
{
    du_params p = du_params_default();
    p.intent_queue = 8;
    const cscalp_sim_market_config mc = btc_market(5);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(cscalp_set_autonomy(c->e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    /* Push without polling until two intents wait. */
    int pushed = 0;
    while (du_stat(c->e, "queued") < 2.0) {
        DU_CHECK(cscalp_sim_market_next(c->m, &c->ev) == CSCALP_OK);
        int rc = CSCALP_OK;
        if (c->ev.kind == CSCALP_KIND_QUOTE)
            rc = cscalp_push_quote(c->e, &c->ev.quote);
        else if (c->ev.kind == CSCALP_KIND_TRADE)
            rc = cscalp_push_trade(c->e, &c->ev.trade);
        else
            rc = cscalp_push_book(c->e, &c->ev.book);
        ck_assert_int_eq(rc, CSCALP_OK);
        ck_assert_msg(++pushed < 200000, "fewer than two intents queued");
    }
    const size_t stride = sizeof(cscalp_intent) + 24;
    unsigned char *buf = calloc(3, stride);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0xA5, 3 * stride);
    cscalp_intent first;
    memcpy(&first, buf, sizeof first);
    first.size = (uint32_t)stride;
    memcpy(buf, &first, sizeof first);
    const int n = cscalp_poll_intents(c->e, (cscalp_intent *)(void *)buf, 2);
    ck_assert_int_eq(n, 2);
    for (int i = 0; i < n; i++) {
        cscalp_intent in;
        memcpy(&in, buf + (size_t)i * stride, sizeof in);
        ck_assert_uint_eq(in.size, stride);
        ck_assert(in.kind == CSCALP_INTENT_NEW || in.kind == CSCALP_INTENT_CANCEL);
        ck_assert_uint_ge(in.client_id, 1);
        ck_assert(in.side == 1 || in.side == -1);
        /* Bytes past the library's struct are the caller's: untouched. */
        for (size_t k = sizeof(cscalp_intent); k < stride; k++)
            ck_assert_uint_eq(buf[(size_t)i * stride + k], 0xA5);
    }
    free(buf);
    du_free(c);
}
END_TEST

/* cscalp_get_orders: counting with cap 0, a larger stride (the tail left
 * as it was), a short cap, the errors; the property run compares every
 * listing with the host's table. */
START_TEST(get_orders_contract)
{
    du_params p = du_params_default();
    const cscalp_sim_market_config mc = btc_market(5);
    du_ctx *c = du_new(&p, &mc);
    ck_assert_int_eq(cscalp_set_autonomy(c->e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    ck_assert_int_eq(cscalp_get_orders(c->e, NULL, 0), 0);
    int steps = 0;
    while (cscalp_get_orders(c->e, NULL, 0) < 2) {
        du_step(c); /* intents polled, left unanswered: their orders stay working */
        ck_assert_msg(++steps < 200000, "fewer than two working orders");
    }
    const int n = cscalp_get_orders(c->e, NULL, 0);
    const size_t stride = sizeof(cscalp_working_order) + 16;
    unsigned char *buf = malloc((size_t)n * stride);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0xA5, (size_t)n * stride);
    cscalp_working_order first;
    memset(&first, 0, sizeof first);
    first.size = (uint32_t)stride;
    memcpy(buf, &first, sizeof first);
    ck_assert_int_eq(cscalp_get_orders(c->e, (cscalp_working_order *)(void *)buf, 1), n);
    cscalp_working_order w0;
    memcpy(&w0, buf, sizeof w0);
    ck_assert_uint_eq(w0.size, stride);
    ck_assert_uint_ge(w0.client_id, 1);
    for (size_t k = sizeof(cscalp_working_order); k < stride; k++)
        ck_assert_uint_eq(buf[k], 0xA5);
    ck_assert_uint_eq(buf[stride], 0xA5); /* cap 1: the second slot untouched */
    ck_assert_int_eq(cscalp_get_orders(c->e, (cscalp_working_order *)(void *)buf, (size_t)n), n);
    uint64_t prev = 0;
    for (int i = 0; i < n; i++) {
        cscalp_working_order w;
        memcpy(&w, buf + (size_t)i * stride, sizeof w);
        ck_assert_uint_gt(w.client_id, prev); /* oldest first */
        prev = w.client_id;
        ck_assert(w.side == CSCALP_SIDE_BUY || w.side == CSCALP_SIDE_SELL);
        ck_assert(w.quantity > 0 && w.filled == 0.0 && w.acked == 0);
        /* never answered: waiting for its ack, or for its cancel's (a re-price) */
        ck_assert(w.status == CSCALP_ORDER_STATUS_PENDING_NEW ||
                  w.status == CSCALP_ORDER_STATUS_PENDING_CANCEL);
    }
    cscalp_working_order small;
    small.size = sizeof small - 8;
    ck_assert_int_eq(cscalp_get_orders(c->e, &small, 1), CSCALP_ESTRUCT);
    small.size = 65537;
    ck_assert_int_eq(cscalp_get_orders(c->e, &small, 1), CSCALP_ESTRUCT);
    ck_assert_int_eq(cscalp_get_orders(c->e, NULL, 1), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_get_orders(NULL, NULL, 0), CSCALP_EINVAL);
    /* Lowering to MANUAL cancels them: each is then PENDING_CANCEL. */
    ck_assert_int_eq(cscalp_set_autonomy(c->e, CSCALP_AUTONOMY_MANUAL), CSCALP_OK);
    ck_assert_int_eq(cscalp_get_orders(c->e, (cscalp_working_order *)(void *)buf, (size_t)n), n);
    for (int i = 0; i < n; i++) {
        cscalp_working_order w;
        memcpy(&w, buf + (size_t)i * stride, sizeof w);
        ck_assert_int_eq(w.status, CSCALP_ORDER_STATUS_PENDING_CANCEL);
    }
    free(buf);
    du_free(c);
}
END_TEST

START_TEST(api_contract)
{
    du_params p = du_params_default();
    du_ctx *c = du_new(&p, NULL);
    cscalp_intent in[2];
    in[0].size = sizeof in[0];
    ck_assert_int_eq(cscalp_poll_intents(c->e, in, 2), 0);
    ck_assert_int_eq(cscalp_poll_intents(c->e, NULL, 0), 0);
    ck_assert_int_eq(cscalp_poll_intents(c->e, NULL, 1), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_poll_intents(NULL, in, 2), CSCALP_EINVAL);
    in[0].size = 8;
    ck_assert_int_eq(cscalp_poll_intents(c->e, in, 2), CSCALP_ESTRUCT);
    cscalp_position ps;
    memset(&ps, 0, sizeof ps);
    ps.size = 8;
    ck_assert_int_eq(cscalp_get_position(c->e, &ps), CSCALP_ESTRUCT);
    ck_assert_int_eq(cscalp_get_position(c->e, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_get_position(NULL, &ps), CSCALP_EINVAL);
    ps.size = sizeof ps;
    ck_assert_int_eq(cscalp_get_position(c->e, &ps), CSCALP_OK);
    ck_assert(ps.position == 0.0 && ps.entry_price == 0.0 && ps.mark_price == 0.0 &&
              ps.fills == 0 && ps.open_orders == 0 && ps.kill_switch == 0 &&
              ps.autonomy == CSCALP_AUTONOMY_MANUAL && ps.equity == p.initial_equity);
    /* Fixed at open. */
    ck_assert_int_eq(cscalp_configure(c->e, "{\"risk\":{\"initial_equity_quote\":5}}"),
                     CSCALP_ECONFIG_FIXED);
    ck_assert_int_eq(cscalp_configure(c->e, "{\"risk\":{\"intent_queue_count\":5}}"),
                     CSCALP_ECONFIG_FIXED);
    ck_assert_int_eq(cscalp_configure(c->e, "{\"risk\":{\"fill_id_memory_count\":5}}"),
                     CSCALP_ECONFIG_FIXED);
    ck_assert_int_eq(cscalp_configure(c->e, "{\"risk\":{\"kill_switch\":\"maybe\"}}"),
                     CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_configure(c->e, "{\"risk\":{\"max_orders_per_min\":6001}}"),
                     CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_configure(c->e, "{\"risk\":{\"max_open_orders_count\":65}}"),
                     CSCALP_ECONFIG_RANGE);
    DU_ASSERT_NO_VIOLATION(&c->v);
    du_free(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("scripted");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, api_contract);
    tcase_add_test(tc, worked_example);
    tcase_add_test(tc, order_update_refusals);
    tcase_add_test(tc, set_position_resync);
    tcase_add_test(tc, autonomy_levels);
    tcase_add_test(tc, kill_switch_by_config);
    tcase_add_test(tc, kill_switch_by_drawdown);
    tcase_add_test(tc, checkpoint_resumes);
    tcase_add_test(tc, kill_switch_at_open_and_checkpoint);
    tcase_add_test(tc, kill_switch_with_full_queue);
    tcase_add_test(tc, poll_stride);
    tcase_add_test(tc, get_orders_contract);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
