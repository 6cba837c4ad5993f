/* Flood: the engine decides every millisecond (policy.decide_interval_ms 1)
 * on a market whose quote moves every millisecond for 120 s of event time,
 * and the host declines every order at once, so the policy wants a new one
 * at every decision. The rate limits alone stand between it and the venue:
 * NEW intents must never exceed risk.max_orders_per_s in any 1 s window
 * nor risk.max_orders_per_min in any 60 s window (checked per intent by
 * decide_util.h, with every other limit), and the flood must actually
 * reach the per-minute limit, or the test proves nothing. Run for the
 * docs/risk.md flood limits (20 / s, 300 / min) and the defaults (5, 60). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decide_util.h"

static void flood(int per_s, int per_min, uint64_t seed)
{
    du_params p = du_params_default();
    p.decide_interval_ms = 1;
    p.max_orders_per_s = per_s;
    p.max_orders_per_min = per_min;
    p.max_open_orders = 64;
    du_ctx *c = du_new(&p, NULL);
    /* The host declines every order: the circuit breaker would stop the
     * flood that the rate limits are tested against here (the breaker's own
     * test is tests/health). */
    DU_CHECK(cscalp_configure(c->e, "{\"health\":{\"reject_breaker_count\":0}}") == CSCALP_OK);
    ck_assert_int_eq(du_set_autonomy(c, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);

    /* A random walk of the mid on the 0.1 grid, one quote per ms, spread of
     * one or two ticks; a trade now and then so the flow features move. */
    tu_rng g = {seed};
    const int64_t t0 = 1700000000000000000LL;
    long mid_ticks = 500000; /* 50000.0 */
    int64_t first_new = 0;
    for (int ms = 0; ms < 120000; ms++) {
        const int64_t t = t0 + (int64_t)ms * DU_NS_PER_MS;
        mid_ticks += tu_int(&g, 3) - 1;
        const int spread = 1 + tu_int(&g, 2);
        cscalp_quote q;
        q.ts_ns = t;
        q.bid_price = (double)mid_ticks * 0.1;
        q.ask_price = (double)(mid_ticks + spread) * 0.1;
        q.bid_size = 0.5 + tu_uniform(&g);
        q.ask_size = 0.5 + tu_uniform(&g);
        DU_CHECK(du_push_quote(c, &q) == CSCALP_OK);
        if (tu_uniform(&g) < 0.2) {
            cscalp_trade tr;
            memset(&tr, 0, sizeof tr);
            tr.ts_ns = t;
            tr.side = tu_uniform(&g) < 0.5 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL;
            tr.price = tr.side > 0 ? q.ask_price : q.bid_price;
            tr.size = 0.01 + tu_uniform(&g);
            DU_CHECK(cscalp_push_trade(c->e, &tr) == CSCALP_OK);
            du_after(c, DU_CALL_MARKET);
        }
        /* Decline everything at once: nothing works, the policy asks again. */
        while (c->h.working > 0) {
            const uint64_t id = c->h.working_ids[0];
            if (first_new == 0)
                first_new = c->h.orders[id].created_ns;
            cscalp_order_update u = du_update(CSCALP_UPDATE_REJECTED, id);
            u.text = "declined";
            DU_CHECK(du_send(c, &u) == CSCALP_OK);
        }
    }
    /* The densest windows, measured. */
    uint64_t max_s = 0, max_min = 0;
    for (size_t i = 0, j1 = 0, j60 = 0; i < c->new_n; i++) {
        while (c->new_ts[i] - c->new_ts[j1] >= DU_NS_PER_S)
            j1++;
        while (c->new_ts[i] - c->new_ts[j60] >= 60 * DU_NS_PER_S)
            j60++;
        if (i - j1 + 1 > max_s)
            max_s = i - j1 + 1;
        if (i - j60 + 1 > max_min)
            max_min = i - j60 + 1;
    }
    printf("{\"test\":\"decide_flood\",\"max_orders_per_s\":%d,\"max_orders_per_min\":%d,"
           "\"decisions\":%llu,\"intents_new\":%llu,\"densest_1s\":%llu,\"densest_60s\":%llu,"
           "\"first_new_ms\":%.1f,\"intent_refused_events\":%llu}\n",
           per_s, per_min, (unsigned long long)c->decisions,
           (unsigned long long)c->intents_new, (unsigned long long)max_s,
           (unsigned long long)max_min, first_new ? (double)(first_new - t0) / 1e6 : -1.0,
           (unsigned long long)c->hl.count[CSCALP_EVENT_INTENT_REFUSED]);
    DU_ASSERT_NO_VIOLATION(&c->v);
    ck_assert_uint_le(max_s, (uint64_t)per_s);
    ck_assert_uint_le(max_min, (uint64_t)per_min);
    ck_assert_uint_ge(c->decisions, 119000);
    /* The limit was reached: a full minute's worth went out within one
     * minute, and the refusals were reported. */
    ck_assert_uint_eq(max_min, (uint64_t)per_min);
    ck_assert_uint_gt(c->intents_new, (uint64_t)per_min);
    ck_assert_uint_gt(c->hl.count[CSCALP_EVENT_INTENT_REFUSED], 0);
    du_free(c);
}

START_TEST(flood_20_300) { flood(20, 300, 11); }
END_TEST

START_TEST(flood_defaults) { flood(5, 60, 12); }
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("decide_flood");
    TCase *tc = tcase_create("flood");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, flood_20_300);
    tcase_add_test(tc, flood_defaults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
