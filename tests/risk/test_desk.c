/* The risk desk (src/risk/desk.h) on the cases the public-API suite
 * reaches only by chance: an entry queued but not yet polled when the kill
 * switch trips, the kill-switch flatten in a market wider than the collar,
 * a cancel the venue refuses, and a checkpoint whose halted flag disagrees
 * with the switch. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "risk/desk.h"
#include "test_util.h"
#include "util/alloc.h"

static cscalp_desk_config config(void)
{
    cscalp_desk_config c;
    memset(&c, 0, sizeof c);
    c.limits.max_order_contracts = 1;
    c.limits.max_order_notional = 1e6;
    c.limits.max_position_contracts = 2;
    c.limits.max_leverage = 10;
    c.limits.price_collar_bps = 50;
    c.limits.max_orders_per_s = 10;
    c.limits.max_orders_per_min = 100;
    c.limits.max_open_orders = 8;
    c.limits.max_daily_drawdown = 1e6;
    c.limits.max_total_drawdown = 1e6;
    c.initial_equity = 100000;
    c.tick_size = 0.1;
    c.lot_size = 0.001;
    c.market_protection_bps = 10;
    c.intent_queue = 16;
    c.fill_id_memory = 64;
    return c;
}

static cscalp_desk *open_desk(void)
{
    cscalp_allocator mem;
    ck_assert_int_eq(cscalp_mem_init(&mem, NULL), CSCALP_OK);
    const cscalp_desk_config c = config();
    cscalp_desk *d = NULL;
    char why[256];
    ck_assert_int_eq(cscalp_desk_create(&mem, &c, &d, why, sizeof why), CSCALP_OK);
    ck_assert_int_eq(cscalp_desk_set_autonomy(d, CSCALP_AUTONOMY_AUTONOMOUS, 0, why, sizeof why),
                     CSCALP_OK);
    return d;
}

static cscalp_desk_order entry(int side, double price, double qty)
{
    cscalp_desk_order o;
    memset(&o, 0, sizeof o);
    o.kind = CSCALP_INTENT_NEW;
    o.side = side;
    o.type = CSCALP_ORDER_POST_ONLY;
    o.price = price;
    o.quantity = qty;
    o.reason = CSCALP_INTENT_ENTRY;
    return o;
}

static size_t poll_all(cscalp_desk *d, cscalp_intent *out, size_t cap)
{
    return cscalp_desk_poll(d, out, sizeof *out, cap);
}

/* An entry the host has not polled is taken back on a trip: the host never
 * sees it, its order is closed, and what the host does see is the trip's
 * own work only. */
START_TEST(unpolled_entry_is_withdrawn_on_a_trip)
{
    cscalp_desk *d = open_desk();
    cscalp_desk_mark(d, 30000.0, 30000.1, 1000);
    const cscalp_desk_order o = entry(CSCALP_SIDE_BUY, 30000.0, 0.5);
    ck_assert_int_eq(cscalp_desk_submit(d, &o, 1000), 1);
    ck_assert_uint_eq(cscalp_orders_working(cscalp_desk_orders(d)), 1);
    cscalp_desk_kill(d, 2000, "test");
    cscalp_intent its[16];
    const size_t n = poll_all(d, its, 16);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(its[i].kind != CSCALP_INTENT_NEW || (its[i].flags & CSCALP_INTENT_REDUCE_ONLY),
                      "intent %zu adds exposure after the trip", i);
    ck_assert_uint_eq(cscalp_orders_working(cscalp_desk_orders(d)), 0);
    ck_assert_int_eq(cscalp_desk_autonomy(d), CSCALP_AUTONOMY_MANUAL);
    /* The same when the host lowers autonomy to MANUAL. */
    char why[256];
    cscalp_desk_rearm(d, 3000);
    ck_assert_int_eq(cscalp_desk_set_autonomy(d, CSCALP_AUTONOMY_AUTONOMOUS, 3000, why, sizeof why),
                     CSCALP_OK);
    ck_assert_int_eq(cscalp_desk_submit(d, &o, 4000), 1);
    ck_assert_int_eq(cscalp_desk_set_autonomy(d, CSCALP_AUTONOMY_MANUAL, 5000, why, sizeof why),
                     CSCALP_OK);
    ck_assert_uint_eq(poll_all(d, its, 16), 0);
    ck_assert_uint_eq(cscalp_orders_working(cscalp_desk_orders(d)), 0);
    cscalp_desk_destroy(d);
}
END_TEST

/* The flatten's protection price stays inside the collar in a wide market
 * (33 bps half spread, 10 bps protection, 50 bps collar: the touch plus the
 * protection would be 43 bps out; still inside) and is refused, with an
 * ERROR event, when the touch itself is beyond the collar. */
START_TEST(flatten_protection_stays_inside_the_collar)
{
    cscalp_desk *d = open_desk();
    char why[256];
    ck_assert_int_eq(cscalp_desk_set_position(d, 0.5, 30000.0, 0, why, sizeof why), CSCALP_OK);
    cscalp_desk_mark(d, 29900.0, 30100.0, 1000);
    cscalp_desk_kill(d, 1000, "test");
    cscalp_intent its[16];
    size_t n = poll_all(d, its, 16);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(its[0].kind, CSCALP_INTENT_NEW);
    ck_assert_int_eq(its[0].side, CSCALP_SIDE_SELL);
    ck_assert_int_eq(its[0].type, CSCALP_ORDER_MARKET);
    ck_assert_int_eq(its[0].reason, CSCALP_INTENT_KILL_SWITCH);
    ck_assert(its[0].flags & CSCALP_INTENT_REDUCE_ONLY);
    ck_assert_double_eq_tol(its[0].quantity, 0.5, 1e-12);
    const double mid = 30000.0;
    ck_assert(its[0].price <= 29900.0); /* it crosses: at or below the bid */
    ck_assert(fabs(its[0].price - mid) / mid * 1e4 <= 50.0);
    ck_assert_double_eq_tol(its[0].price, 29870.1, 1e-9); /* bid − 10 bps, on the grid */
    cscalp_desk_destroy(d);

    /* 66 bps half spread: the touch is outside the collar. */
    d = open_desk();
    ck_assert_int_eq(cscalp_desk_set_position(d, 0.5, 30000.0, 0, why, sizeof why), CSCALP_OK);
    cscalp_desk_mark(d, 29800.0, 30200.0, 1000);
    cscalp_desk_event ev;
    while (cscalp_desk_next_event(d, &ev))
        ;
    cscalp_desk_kill(d, 1000, "test");
    n = poll_all(d, its, 16);
    ck_assert_uint_eq(n, 0);
    int refused_error = 0;
    while (cscalp_desk_next_event(d, &ev))
        refused_error |= ev.event == CSCALP_EVENT_INTENT_REFUSED &&
                         ev.severity == CSCALP_SEVERITY_ERROR && strstr(ev.message, "price_collar");
    ck_assert_msg(refused_error, "no ERROR refusal of the flatten by the collar");
    /* The market comes back: the next step flattens. */
    cscalp_desk_mark(d, 29990.0, 30010.0, 2000);
    cscalp_desk_halt_step(d, 2000);
    ck_assert_uint_eq(poll_all(d, its, 16), 1);
    ck_assert_int_eq(its[0].reason, CSCALP_INTENT_KILL_SWITCH);
    cscalp_desk_destroy(d);
}
END_TEST

/* REJECTED for an acknowledged order whose cancel is pending refuses the
 * cancel, not the order: it works on and is counted as a cancel refusal. */
START_TEST(refused_cancel_keeps_the_order)
{
    cscalp_desk *d = open_desk();
    cscalp_desk_mark(d, 30000.0, 30000.1, 1000);
    const cscalp_desk_order o = entry(CSCALP_SIDE_BUY, 30000.0, 0.5);
    ck_assert_int_eq(cscalp_desk_submit(d, &o, 1000), 1);
    cscalp_intent its[4];
    ck_assert_uint_eq(poll_all(d, its, 4), 1);
    cscalp_order_update u;
    memset(&u, 0, sizeof u);
    u.size = sizeof u;
    u.type = CSCALP_UPDATE_ACK;
    u.client_id = its[0].client_id;
    char why[256];
    ck_assert_int_eq(cscalp_desk_on_update(d, &u, 1100, why, sizeof why), CSCALP_OK);
    cscalp_desk_order c;
    memset(&c, 0, sizeof c);
    c.kind = CSCALP_INTENT_CANCEL;
    c.cancel_id = its[0].client_id;
    c.reason = CSCALP_INTENT_TTL;
    c.target_position = 0.25;
    ck_assert_int_eq(cscalp_desk_submit(d, &c, 1200), 1);
    ck_assert_uint_eq(poll_all(d, its + 1, 3), 1);
    ck_assert_int_eq(its[1].kind, CSCALP_INTENT_CANCEL);
    ck_assert_double_eq(its[1].target_position, 0.25); /* the explanation travels */
    u.type = CSCALP_UPDATE_REJECTED;
    u.text = "Unknown order sent.";
    cscalp_desk_event ev;
    while (cscalp_desk_next_event(d, &ev))
        ;
    ck_assert_int_eq(cscalp_desk_on_update(d, &u, 1300, why, sizeof why), CSCALP_OK);
    ck_assert_uint_eq(cscalp_orders_working(cscalp_desk_orders(d)), 1);
    ck_assert_int_eq(cscalp_desk_next_event(d, &ev), 1);
    ck_assert_int_eq(ev.event, CSCALP_EVENT_ORDER_REJECTED);
    ck_assert_ptr_nonnull(strstr(ev.message, "cancel of order"));
    cscalp_desk_destroy(d);
}
END_TEST

/* A checkpoint whose halted flag disagrees with the kill switch would skip
 * the next trip's actions: refused. Found by flipping the flag's byte: the
 * one whose change alone makes the load fail with that message. */
START_TEST(halted_flag_out_of_step_is_refused)
{
    cscalp_desk *d = open_desk();
    cscalp_desk_mark(d, 30000.0, 30000.1, 1000);
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_desk_save(d, &w);
    ck_assert(!w.failed);
    int found = 0;
    char why[256];
    for (size_t i = 0; i < w.len && !found; i++) {
        w.data[i] ^= 1;
        cscalp_desk *e = open_desk();
        cscalp_rbuf r;
        cscalp_rbuf_init(&r, w.data, w.len);
        why[0] = '\0';
        const int rc = cscalp_desk_load(e, &r, why, sizeof why);
        found = rc == CSCALP_ECORRUPT && strstr(why, "halted flag") != NULL;
        cscalp_desk_destroy(e);
        w.data[i] ^= 1;
    }
    ck_assert_msg(found, "no single-bit change of the halted flag was refused");
    /* And the unchanged bytes load. */
    cscalp_desk *e = open_desk();
    cscalp_rbuf r;
    cscalp_rbuf_init(&r, w.data, w.len);
    ck_assert_int_eq(cscalp_desk_load(e, &r, why, sizeof why), CSCALP_OK);
    cscalp_desk_destroy(e);
    cscalp_wbuf_free(&w);
    cscalp_desk_destroy(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("risk_desk");
    TCase *tc = tcase_create("desk");
    tcase_add_test(tc, unpolled_entry_is_withdrawn_on_a_trip);
    tcase_add_test(tc, flatten_protection_stays_inside_the_collar);
    tcase_add_test(tc, refused_cancel_keeps_the_order);
    tcase_add_test(tc, halted_flag_out_of_step_is_refused);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
