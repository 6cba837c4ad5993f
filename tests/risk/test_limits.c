/* Pre-trade controls (src/risk/limits.h, docs/risk.md "Pre-trade
 * controls"):
 *  - each rule refuses the order it is for, with its numbers;
 *  - 10⁶ random scenarios (random limits, book and order): every order that
 *    passes satisfies every limit by an independent check, and every
 *    refusal names a rule whose condition holds;
 *  - a flood of 10⁶ orders in 120 s of event time: no one-second window
 *    holds more than the per-second limit, no minute more than the
 *    per-minute one (a runaway is impossible by construction);
 *  - drawdown trips the kill switch; then only exposure-reducing orders
 *    pass, until the host re-arms; a loss streak starts a cool-down;
 *  - checkpoints round-trip. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk/limits.h"
#include "test_util.h"
#include "util/alloc.h"

#define S 1000000000LL

static cscalp_risk_limits limits(void)
{
    cscalp_risk_limits l;
    memset(&l, 0, sizeof l);
    l.max_order_contracts = 2.0;
    l.max_order_notional = 150000.0;
    l.max_position_contracts = 5.0;
    l.max_leverage = 3.0;
    l.price_collar_bps = 50.0;
    l.max_orders_per_s = 5;
    l.max_orders_per_min = 100;
    l.max_open_orders = 4;
    l.max_daily_drawdown = 1000.0;
    l.max_total_drawdown = 3000.0;
    l.loss_streak = 3;
    l.loss_cooldown_ns = 600 * S;
    return l;
}

static cscalp_risk *make(const cscalp_risk_limits *l)
{
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_risk *r = NULL;
    char why[160];
    ck_assert_msg(cscalp_risk_create(&mem, l, &r, why, sizeof why) == CSCALP_OK, "%s", why);
    return r;
}

static int check(cscalp_risk *r, int side, double price, double size, int ro,
                 const cscalp_risk_book *b, int64_t now)
{
    const cscalp_risk_order o = {side, price, size, ro};
    char why[256] = "";
    const int rule = cscalp_risk_check(r, &o, b, now, why, sizeof why);
    if (rule != CSCALP_RISK_PASSED)
        ck_assert_msg(strlen(why) > 10, "rule %s without numbers", cscalp_risk_rule_name(rule));
    return rule;
}

START_TEST(each_rule_refuses_its_order)
{
    const cscalp_risk_limits l = limits();
    cscalp_risk *r = make(&l);
    /* flat, mid 50 000, equity 100 000: 3× leverage allows 6 contracts,
     * the position limit 5 */
    cscalp_risk_book b = {0, 0, 0, 0, 50000.0, 100000.0};
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &b, 0), CSCALP_RISK_PASSED);
    ck_assert_int_eq(check(r, 2, 50000, 1, 0, &b, 0), CSCALP_RISK_BAD_ORDER);
    ck_assert_int_eq(check(r, 1, 50000, 0, 0, &b, 0), CSCALP_RISK_BAD_ORDER);
    ck_assert_int_eq(check(r, 1, 50000, 2.5, 0, &b, 0), CSCALP_RISK_ORDER_SIZE);
    /* 2 × 80 000 = 160 000 > 150 000 (the collar would refuse it too; the
     * notional rule comes first) */
    ck_assert_int_eq(check(r, 1, 80000, 2, 0, &b, 0), CSCALP_RISK_ORDER_NOTIONAL);
    cscalp_risk_book nomid = b;
    nomid.mid = 0;
    ck_assert_int_eq(check(r, 1, 0, 1, 0, &nomid, 0), CSCALP_RISK_NO_MID);
    /* long 4 with 0.5 working to buy: 4 + 0.5 + 1 > 5 */
    cscalp_risk_book pos = b;
    pos.position = 4;
    pos.open_buy = 0.5;
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &pos, 0), CSCALP_RISK_POSITION);
    /* equity 60 000: 3× = 180 000 = 3.6 contracts; 3 + 1 = 4 */
    cscalp_risk_book lev = b;
    lev.position = 3;
    lev.equity = 60000;
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &lev, 0), CSCALP_RISK_LEVERAGE);
    lev.equity = -5;
    ck_assert_int_eq(check(r, 1, 50000, 0.1, 0, &lev, 0), CSCALP_RISK_LEVERAGE);
    /* 50 bps of 50 000 is 250 */
    ck_assert_int_eq(check(r, 1, 50251, 1, 0, &b, 0), CSCALP_RISK_PRICE_COLLAR);
    ck_assert_int_eq(check(r, -1, 49749, 1, 0, &b, 0), CSCALP_RISK_PRICE_COLLAR);
    ck_assert_int_eq(check(r, -1, 49751, 1, 0, &b, 0), CSCALP_RISK_PASSED);
    cscalp_risk_book full = b;
    full.open_orders = 4;
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &full, 0), CSCALP_RISK_OPEN_ORDERS);
    ck_assert_int_eq(check(r, 1, 50000, 1, 1, &b, 0), CSCALP_RISK_REDUCE_ONLY);
    /* reducing: short 3, buy 2 with 1 working to buy: 1 + 2 ≤ 3 */
    cscalp_risk_book shrt = b;
    shrt.position = -3;
    shrt.open_buy = 1;
    ck_assert_int_eq(check(r, 1, 50000, 2, 1, &shrt, 0), CSCALP_RISK_PASSED);
    /* 1 + 1.5 ≤ 3 still reduces; with 2 working, 2 + 1.5 > 3 would flip */
    ck_assert_int_eq(check(r, 1, 50000, 1.5, 1, &shrt, 0), CSCALP_RISK_PASSED);
    shrt.open_buy = 2;
    ck_assert_int_eq(check(r, 1, 50000, 1.5, 1, &shrt, 0), CSCALP_RISK_REDUCE_ONLY);
    /* rates: 5 a second */
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(check(r, 1, 50000, 1, 0, &b, 10 * S + i), CSCALP_RISK_PASSED);
        cscalp_risk_on_sent(r, 10 * S + i);
    }
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &b, 10 * S + 5), CSCALP_RISK_RATE_PER_S);
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &b, 11 * S), CSCALP_RISK_PASSED);
    cscalp_risk_counters c;
    cscalp_risk_get_counters(r, &c);
    ck_assert_uint_eq(c.refused_by[CSCALP_RISK_RATE_PER_S], 1);
    ck_assert_uint_eq(c.refused_by[CSCALP_RISK_BAD_ORDER], 2);
    ck_assert_uint_eq(c.checked, c.passed + 14);
    cscalp_risk_destroy(r);
}
END_TEST

/* The independent check of every limit for an order that passed. */
static void assert_within(const cscalp_risk_limits *l, const cscalp_risk_order *o,
                          const cscalp_risk_book *b, int killed, int cooling)
{
    const double same = o->side > 0 ? b->open_buy : b->open_sell;
    const double after = b->position + o->side * (same + o->size);
    const int reduces = fabs(after) <= fabs(b->position) * (1 + 1e-12) &&
                        (after == 0.0 || (after > 0) == (b->position > 0));
    ck_assert(o->size <= l->max_order_contracts);
    const double ref = o->price > 0 ? o->price : b->mid;
    ck_assert(b->mid > 0 && o->size * ref <= l->max_order_notional);
    ck_assert(b->open_orders < l->max_open_orders);
    if (o->price > 0)
        ck_assert(fabs(o->price / b->mid - 1) * 1e4 <= l->price_collar_bps * (1 + 1e-9));
    if (!reduces) {
        ck_assert(fabs(after) <= l->max_position_contracts);
        ck_assert(b->equity > 0 && fabs(after) * b->mid <= l->max_leverage * b->equity);
        ck_assert(!killed && !cooling && !o->reduce_only);
    }
}

/* The independent check that a refusal's rule really applies. */
static void assert_refusal_holds(int rule, const cscalp_risk_limits *l,
                                 const cscalp_risk_order *o, const cscalp_risk_book *b,
                                 int killed)
{
    const double same = o->side > 0 ? b->open_buy : b->open_sell;
    const double after = b->position + o->side * (same + o->size);
    const int reduces = fabs(after) <= fabs(b->position) * (1 + 1e-12) &&
                        (after == 0.0 || (after > 0) == (b->position > 0));
    const double ref = o->price > 0 ? o->price : b->mid;
    switch (rule) {
    case CSCALP_RISK_KILL_SWITCH:
        ck_assert(killed && !reduces);
        break;
    case CSCALP_RISK_ORDER_SIZE:
        ck_assert(o->size > l->max_order_contracts);
        break;
    case CSCALP_RISK_NO_MID:
        ck_assert(!(b->mid > 0));
        break;
    case CSCALP_RISK_ORDER_NOTIONAL:
        ck_assert(o->size * ref > l->max_order_notional);
        break;
    case CSCALP_RISK_POSITION:
        ck_assert(!reduces && fabs(after) > l->max_position_contracts);
        break;
    case CSCALP_RISK_LEVERAGE:
        ck_assert(!reduces && !(b->equity > 0 && fabs(after) * b->mid <= l->max_leverage * b->equity));
        break;
    case CSCALP_RISK_PRICE_COLLAR:
        ck_assert(o->price > 0 && fabs(o->price / b->mid - 1) * 1e4 > l->price_collar_bps * (1 - 1e-9));
        break;
    case CSCALP_RISK_OPEN_ORDERS:
        ck_assert(b->open_orders >= l->max_open_orders);
        break;
    case CSCALP_RISK_REDUCE_ONLY:
        ck_assert(o->reduce_only && !reduces);
        break;
    default:
        ck_assert_msg(0, "rule %s cannot fire in this scenario", cscalp_risk_rule_name(rule));
    }
}

START_TEST(random_orders_never_pass_a_limit)
{
    tu_rng g = {99};
    long passed = 0, refused = 0;
    cscalp_risk_limits l = limits();
    l.max_orders_per_s = 1000000;
    l.max_orders_per_min = 1000000;
    cscalp_risk *r = make(&l);
    for (long i = 0; i < 1000000; i++) {
        if (i % 1000 == 0) { /* new random limits now and then */
            l.max_order_contracts = 0.5 + 4 * tu_uniform(&g);
            l.max_order_notional = 1e4 + 3e5 * tu_uniform(&g);
            l.max_position_contracts = 1 + 10 * tu_uniform(&g);
            l.max_leverage = 0.5 + 10 * tu_uniform(&g);
            l.price_collar_bps = 5 + 100 * tu_uniform(&g);
            l.max_open_orders = 1 + (uint32_t)tu_int(&g, 6);
            char why[160];
            ck_assert_int_eq(cscalp_risk_set_limits(r, &l, why, sizeof why), CSCALP_OK);
            if (tu_int(&g, 4) == 0)
                cscalp_risk_kill(r);
            else
                cscalp_risk_rearm(r, 1e5, 0);
        }
        cscalp_risk_book b;
        b.position = (tu_uniform(&g) - 0.5) * 16;
        b.open_buy = tu_int(&g, 3) ? 0 : 3 * tu_uniform(&g);
        b.open_sell = tu_int(&g, 3) ? 0 : 3 * tu_uniform(&g);
        b.open_orders = (uint32_t)tu_int(&g, 7);
        b.mid = tu_int(&g, 50) ? 40000 + 20000 * tu_uniform(&g) : 0;
        b.equity = (tu_uniform(&g) - 0.1) * 3e5;
        cscalp_risk_order o;
        o.side = tu_int(&g, 2) ? 1 : -1;
        o.price = tu_int(&g, 4) ? b.mid * (1 + (tu_uniform(&g) - 0.5) * 0.02) : 0;
        o.size = 0.01 + 5 * tu_uniform(&g);
        o.reduce_only = tu_int(&g, 5) == 0;
        char why[256];
        const int rule = cscalp_risk_check(r, &o, &b, i, why, sizeof why);
        if (rule == CSCALP_RISK_PASSED) {
            passed++;
            assert_within(&l, &o, &b, cscalp_risk_killed(r), 0);
        } else {
            refused++;
            ck_assert(rule > 0 && rule < CSCALP_RISK_RULE_COUNT);
            assert_refusal_holds(rule, &l, &o, &b, cscalp_risk_killed(r));
        }
    }
    printf("{\"report\":\"risk_property\",\"scenarios\":1000000,\"passed\":%ld,\"refused\":%ld}\n",
           passed, refused);
    ck_assert(passed > 10000 && refused > 10000);
    cscalp_risk_destroy(r);
}
END_TEST

START_TEST(a_flood_cannot_pass_the_rate_limits)
{
    cscalp_risk_limits l = limits();
    l.max_orders_per_s = 20;
    l.max_orders_per_min = 300;
    cscalp_risk *r = make(&l);
    const cscalp_risk_book b = {0, 0, 0, 0, 50000.0, 100000.0};
    static int64_t sent[400000];
    long n = 0;
    /* 10⁶ attempts over 120 s of event time */
    for (long i = 0; i < 1000000; i++) {
        const int64_t now = i * 120;
        if (check(r, 1, 50000, 0.1, 0, &b, now * 1000) == CSCALP_RISK_PASSED) {
            cscalp_risk_on_sent(r, now * 1000);
            sent[n++] = now * 1000;
        }
    }
    /* every window of a second or a minute, started at each send */
    long worst_s = 0, worst_min = 0;
    for (long i = 0, j = 0, k = 0; i < n; i++) {
        while (j < n && sent[j] < sent[i] + S)
            j++;
        while (k < n && sent[k] < sent[i] + 60 * S)
            k++;
        worst_s = j - i > worst_s ? j - i : worst_s;
        worst_min = k - i > worst_min ? k - i : worst_min;
    }
    printf("{\"report\":\"risk_flood\",\"attempts\":1000000,\"seconds\":120,\"sent\":%ld,"
           "\"most_in_1s\":%ld,\"most_in_60s\":%ld}\n",
           n, worst_s, worst_min);
    ck_assert_int_le(worst_s, 20);
    ck_assert_int_le(worst_min, 300);
    ck_assert_int_ge(n, 590); /* the limit, not the rule, bounds it: 300 + 300 */
    cscalp_risk_destroy(r);
}
END_TEST

START_TEST(drawdown_kill_switch_and_cooldown)
{
    const cscalp_risk_limits l = limits();
    cscalp_risk *r = make(&l);
    const cscalp_risk_book flat = {0, 0, 0, 0, 50000.0, 100000.0};
    ck_assert_int_eq(cscalp_risk_on_equity(r, 100000, 0), 0);
    ck_assert_int_eq(cscalp_risk_on_equity(r, 100800, S), 0); /* peak 100 800 */
    ck_assert_int_eq(cscalp_risk_on_equity(r, 99801, 2 * S), 0); /* 999 below */
    ck_assert_int_eq(cscalp_risk_on_equity(r, 99799, 3 * S), 1); /* 1001 below: tripped */
    ck_assert(cscalp_risk_killed(r));
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &flat, 4 * S), CSCALP_RISK_KILL_SWITCH);
    cscalp_risk_book lng = flat;
    lng.position = 2;
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &lng, 4 * S), CSCALP_RISK_KILL_SWITCH);
    ck_assert_int_eq(check(r, -1, 50000, 2, 1, &lng, 4 * S), CSCALP_RISK_PASSED); /* flatten */
    ck_assert_int_eq(check(r, -1, 50000, 2.5, 0, &lng, 4 * S), CSCALP_RISK_KILL_SWITCH); /* flip */
    cscalp_risk_rearm(r, 99799, 5 * S);
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &flat, 5 * S), CSCALP_RISK_PASSED);
    /* the daily peak resets at the UTC day: 1200 below yesterday's peak is
     * the new day's start, not a daily breach */
    ck_assert_int_eq(cscalp_risk_on_equity(r, 98599, 86400 * S + 1), 0);
    ck_assert(!cscalp_risk_killed(r));
    /* total: days of < 1000 each add up past 3000 below the peak 99 799 */
    ck_assert_int_eq(cscalp_risk_on_equity(r, 97700, 86400 * S + 2), 0);   /* day 1: −899 */
    ck_assert_int_eq(cscalp_risk_on_equity(r, 96900, 2 * 86400 * S), 0);   /* day 2: −800 */
    ck_assert_int_eq(cscalp_risk_on_equity(r, 96800, 3 * 86400 * S), 0);   /* day 3: −100 */
    ck_assert_int_eq(cscalp_risk_on_equity(r, 96798, 3 * 86400 * S + 1), 1); /* 3001 below */
    cscalp_risk_rearm(r, 96798, 3 * 86400 * S + 3);
    /* three losing round trips start a 10-minute cool-down; a gain resets */
    ck_assert_int_eq(cscalp_risk_on_round_trip(r, -5, 0), 0);
    ck_assert_int_eq(cscalp_risk_on_round_trip(r, 1, 0), 0);
    ck_assert_int_eq(cscalp_risk_on_round_trip(r, -5, 0), 0);
    ck_assert_int_eq(cscalp_risk_on_round_trip(r, -5, 0), 0);
    ck_assert_int_eq(cscalp_risk_on_round_trip(r, -5, 100 * S), 1);
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &flat, 699 * S), CSCALP_RISK_COOLDOWN);
    ck_assert_int_eq(check(r, -1, 50000, 1, 0, &lng, 699 * S), CSCALP_RISK_PASSED);
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &flat, 700 * S), CSCALP_RISK_PASSED);
    /* a snapshot that is not finite judges nothing */
    cscalp_risk_book inf = flat;
    inf.position = -(double)INFINITY;
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &inf, 700 * S), CSCALP_RISK_BAD_ORDER);
    inf = flat;
    inf.open_sell = -1;
    ck_assert_int_eq(check(r, 1, 50000, 1, 0, &inf, 700 * S), CSCALP_RISK_BAD_ORDER);
    cscalp_risk_counters c;
    cscalp_risk_get_counters(r, &c);
    ck_assert_uint_eq(c.kills, 2);
    ck_assert_uint_eq(c.cooldowns, 1);

    /* checkpoints: the copy answers like the original */
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    for (int i = 0; i < 7; i++)
        cscalp_risk_on_sent(r, 800 * S + i);
    cscalp_risk_save(r, &w);
    cscalp_risk *copy = make(&l);
    cscalp_rbuf in;
    cscalp_rbuf_init(&in, w.data, w.len);
    char why[200];
    ck_assert_msg(cscalp_risk_load(copy, &in, why, sizeof why) == CSCALP_OK, "%s", why);
    ck_assert_uint_eq(cscalp_rbuf_left(&in), 0);
    for (int64_t t = 800 * S; t < 802 * S; t += S / 4)
        ck_assert_int_eq(check(r, 1, 50000, 1, 0, &flat, t), check(copy, 1, 50000, 1, 0, &flat, t));
    for (size_t cut = 0; cut < w.len; cut++) {
        cscalp_risk *bad = make(&l);
        cscalp_rbuf_init(&in, w.data, cut);
        ck_assert_int_eq(cscalp_risk_load(bad, &in, why, sizeof why), CSCALP_ECORRUPT);
        cscalp_risk_destroy(bad);
    }
    cscalp_wbuf_free(&w);
    cscalp_risk_destroy(copy);
    cscalp_risk_destroy(r);
}
END_TEST

START_TEST(bad_limits_are_refused)
{
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_risk *r = NULL;
    char why[160];
    cscalp_risk_limits l = limits();
    l.max_leverage = 0;
    ck_assert_int_eq(cscalp_risk_create(&mem, &l, &r, why, sizeof why), CSCALP_ECONFIG_RANGE);
    ck_assert_ptr_nonnull(strstr(why, "max leverage"));
    l = limits();
    l.max_orders_per_min = 2; /* below the per-second rate */
    ck_assert_int_eq(cscalp_risk_create(&mem, &l, &r, why, sizeof why), CSCALP_ECONFIG_RANGE);
    ck_assert_ptr_nonnull(strstr(why, "orders per minute"));
    l = limits();
    l.price_collar_bps = (double)NAN;
    ck_assert_int_eq(cscalp_risk_create(&mem, &l, &r, why, sizeof why), CSCALP_ECONFIG_RANGE);
    ck_assert_ptr_null(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, each_rule_refuses_its_order);
    tcase_add_test(tc, random_orders_never_pass_a_limit);
    tcase_add_test(tc, a_flood_cannot_pass_the_rate_limits);
    tcase_add_test(tc, drawdown_kill_switch_and_cooldown);
    tcase_add_test(tc, bad_limits_are_refused);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
