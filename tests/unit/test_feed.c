/* Feed validation: every refusal has its own code, a detail naming the field,
 * a counter and a health event, and never changes market state. Batch rules,
 * the time tolerance and component health are checked here too. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

typedef struct fixture {
    cscalp_engine *e;
    captured_events ev;
} fixture;

static fixture fx;

static void setup(void)
{
    memset(&fx, 0, sizeof fx);
    ck_assert_int_eq(cscalp_open(&fx.e, "{\"feed\":{\"max_time_regression_ms\":5}}"),
                     CSCALP_OK);
    cscalp_set_health_callback(fx.e, capture_event, &fx.ev);
    /* A valid market so later refusals have state to protect. */
    cscalp_quote q = {10 * NS_PER_S, 100.0, 2.0, 100.5, 1.0};
    ck_assert_int_eq(cscalp_push_quote(fx.e, &q), CSCALP_OK);
    cscalp_trade t = {10 * NS_PER_S + 1, 100.5, 0.5, CSCALP_SIDE_BUY, 0, 7};
    ck_assert_int_eq(cscalp_push_trade(fx.e, &t), CSCALP_OK);
}

static void teardown(void) { cscalp_close(fx.e); }

static void features_now(double *raw)
{
    ck_assert_int_eq(cscalp_features(fx.e, raw, NULL, 24, NULL), CSCALP_OK);
}

static void health_now(cscalp_health_report *r)
{
    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
    ck_assert_int_eq(cscalp_health(fx.e, r), CSCALP_OK);
}

/* A refused event: code, reason counter, health event, detail, no change. */
static void expect_refused(int rc, int code, int reason, const char *field)
{
    ck_assert_msg(rc == code, "got %s, want %s", cscalp_error_name(rc),
                  cscalp_error_name(code));
    ck_assert_msg(strstr(cscalp_last_error(fx.e), field) != NULL,
                  "detail '%s' does not name '%s'", cscalp_last_error(fx.e), field);
    ck_assert_int_eq(fx.ev.count, 1);
    ck_assert_int_eq(fx.ev.last.component, CSCALP_COMPONENT_FEED);
    ck_assert_int_eq(fx.ev.last.event, CSCALP_EVENT_INPUT_REJECTED);
    ck_assert_int_eq(fx.ev.last.error, code);
    ck_assert_int_eq(fx.ev.last.action, CSCALP_ACTION_REJECTED);
    ck_assert_int_eq(fx.ev.last.severity, CSCALP_SEVERITY_WARNING);
    ck_assert_ptr_nonnull(strstr(fx.ev.last_message, field));
    cscalp_health_report r;
    health_now(&r);
    ck_assert_uint_eq(r.feed_rejected[reason], 1);
    ck_assert_int_eq(r.components[CSCALP_COMPONENT_FEED].status, CSCALP_STATUS_DEGRADED);
}

typedef struct bad_quote_case {
    cscalp_quote q;
    int code, reason;
    const char *field;
} bad_quote_case;

static const bad_quote_case bad_quotes[] = {
    {{11 * NS_PER_S, (double)NAN, 1, 101, 1}, CSCALP_ENONFINITE, CSCALP_REJECT_NONFINITE, "quote.bid_price"},
    {{11 * NS_PER_S, 100, 1, (double)INFINITY, 1}, CSCALP_ENONFINITE, CSCALP_REJECT_NONFINITE, "quote.ask_price"},
    {{11 * NS_PER_S, 0, 1, 101, 1}, CSCALP_EPRICE, CSCALP_REJECT_PRICE, "quote.bid_price"},
    {{11 * NS_PER_S, 100, 1, -101, 1}, CSCALP_EPRICE, CSCALP_REJECT_PRICE, "quote.ask_price"},
    {{11 * NS_PER_S, 100, -1, 101, 1}, CSCALP_ESIZE, CSCALP_REJECT_SIZE, "quote.bid_size"},
    {{11 * NS_PER_S, 100, 1, 101, (double)NAN}, CSCALP_ENONFINITE, CSCALP_REJECT_NONFINITE, "quote.ask_size"},
    {{11 * NS_PER_S, 101, 1, 101, 1}, CSCALP_ECROSSED, CSCALP_REJECT_CROSSED, "quote.bid_price"},
    {{11 * NS_PER_S, 102, 1, 101, 1}, CSCALP_ECROSSED, CSCALP_REJECT_CROSSED, "quote.bid_price"},
    {{10 * NS_PER_S - 6000000, 100, 1, 101, 1}, CSCALP_ETIME, CSCALP_REJECT_TIME, "ts_ns"},
};

START_TEST(bad_quote_is_refused_counted_reported_and_changes_nothing)
{
    const bad_quote_case *c = &bad_quotes[_i];
    double before[24], after[24];
    features_now(before);
    expect_refused(cscalp_push_quote(fx.e, &c->q), c->code, c->reason, c->field);
    features_now(after);
    ck_assert_mem_eq(before, after, sizeof before);
    cscalp_health_report r;
    health_now(&r);
    ck_assert_uint_eq(r.feed_accepted[CSCALP_KIND_QUOTE], 1);
    ck_assert_int_eq(r.clock_ns, 10 * NS_PER_S + 1);
}
END_TEST

typedef struct bad_trade_case {
    cscalp_trade t;
    int code, reason;
    const char *field;
} bad_trade_case;

static const bad_trade_case bad_trades[] = {
    {{11 * NS_PER_S, (double)NAN, 1, CSCALP_SIDE_BUY, 0, 0}, CSCALP_ENONFINITE, CSCALP_REJECT_NONFINITE, "trade.price"},
    {{11 * NS_PER_S, -3, 1, CSCALP_SIDE_BUY, 0, 0}, CSCALP_EPRICE, CSCALP_REJECT_PRICE, "trade.price"},
    {{11 * NS_PER_S, 100, 0, CSCALP_SIDE_BUY, 0, 0}, CSCALP_ESIZE, CSCALP_REJECT_SIZE, "trade.size"},
    {{11 * NS_PER_S, 100, -2, CSCALP_SIDE_SELL, 0, 0}, CSCALP_ESIZE, CSCALP_REJECT_SIZE, "trade.size"},
    {{11 * NS_PER_S, 100, 1, 0, 0, 0}, CSCALP_ESIDE, CSCALP_REJECT_SIDE, "trade.side"},
    {{11 * NS_PER_S, 100, 1, 2, 0, 0}, CSCALP_ESIDE, CSCALP_REJECT_SIDE, "trade.side"},
    {{9 * NS_PER_S, 100, 1, CSCALP_SIDE_BUY, 0, 0}, CSCALP_ETIME, CSCALP_REJECT_TIME, "ts_ns"},
};

START_TEST(bad_trade_is_refused_counted_reported_and_changes_nothing)
{
    const bad_trade_case *c = &bad_trades[_i];
    double before[24], after[24];
    features_now(before);
    expect_refused(cscalp_push_trade(fx.e, &c->t), c->code, c->reason, c->field);
    features_now(after);
    ck_assert_mem_eq(before, after, sizeof before);
}
END_TEST

static cscalp_book good_book(int64_t ts)
{
    cscalp_book b;
    memset(&b, 0, sizeof b);
    b.ts_ns = ts;
    b.bid_count = b.ask_count = 3;
    for (int i = 0; i < 3; i++) {
        b.bids[i].price = 100.0 - 0.5 * i;
        b.bids[i].size = 1.0 + i;
        b.asks[i].price = 100.5 + 0.5 * i;
        b.asks[i].size = 2.0 + i;
    }
    return b;
}

START_TEST(bad_book_is_refused_with_the_level_named)
{
    cscalp_book b = good_book(11 * NS_PER_S);
    double before[24], after[24];
    features_now(before);
    switch (_i) {
    case 0:
        b.bids[2].price = b.bids[1].price; /* not strictly descending */
        expect_refused(cscalp_push_book(fx.e, &b), CSCALP_ELEVELS, CSCALP_REJECT_LEVELS,
                       "book.bids[2].price");
        break;
    case 1:
        b.asks[1].price = 100.4; /* below asks[0] */
        expect_refused(cscalp_push_book(fx.e, &b), CSCALP_ELEVELS, CSCALP_REJECT_LEVELS,
                       "book.asks[1].price");
        break;
    case 2:
        b.bid_count = 0;
        expect_refused(cscalp_push_book(fx.e, &b), CSCALP_ELEVELS, CSCALP_REJECT_LEVELS,
                       "book.bids_count");
        break;
    case 3:
        b.ask_count = CSCALP_BOOK_MAX_LEVELS + 1;
        expect_refused(cscalp_push_book(fx.e, &b), CSCALP_ELEVELS, CSCALP_REJECT_LEVELS,
                       "book.asks_count");
        break;
    case 4:
        b.bids[0].price = 100.6; /* crosses asks[0] */
        b.bids[1].price = 100.0;
        b.bids[2].price = 99.5;
        expect_refused(cscalp_push_book(fx.e, &b), CSCALP_ECROSSED, CSCALP_REJECT_CROSSED,
                       "book.bids[0].price");
        break;
    case 5:
        b.asks[2].size = 0.0;
        expect_refused(cscalp_push_book(fx.e, &b), CSCALP_ESIZE, CSCALP_REJECT_SIZE,
                       "book.asks[2].size");
        break;
    case 6:
        b.bids[1].size = (double)NAN;
        expect_refused(cscalp_push_book(fx.e, &b), CSCALP_ENONFINITE,
                       CSCALP_REJECT_NONFINITE, "book.bids[1].size");
        break;
    default:
        ck_abort();
    }
    features_now(after);
    ck_assert_mem_eq(before, after, sizeof before);
}
END_TEST

START_TEST(bad_funding_is_refused)
{
    cscalp_funding f = {11 * NS_PER_S, 0.0001, 100.2, 100.1, 12 * NS_PER_S};
    switch (_i) {
    case 0:
        f.funding_rate = (double)NAN;
        expect_refused(cscalp_push_funding(fx.e, &f), CSCALP_ENONFINITE,
                       CSCALP_REJECT_NONFINITE, "funding.funding_rate");
        break;
    case 1:
        f.mark_price = 0;
        expect_refused(cscalp_push_funding(fx.e, &f), CSCALP_EPRICE, CSCALP_REJECT_PRICE,
                       "funding.mark_price");
        break;
    case 2:
        f.index_price = -1;
        expect_refused(cscalp_push_funding(fx.e, &f), CSCALP_EPRICE, CSCALP_REJECT_PRICE,
                       "funding.index_price");
        break;
    case 3:
        f.next_funding_ts_ns = -5;
        expect_refused(cscalp_push_funding(fx.e, &f), CSCALP_EINVAL, CSCALP_REJECT_FIELD,
                       "funding.next_funding_ts_ns");
        break;
    default:
        ck_abort();
    }
    f.index_price = 0; /* unknown index is allowed */
    f.funding_rate = -0.0003;
    f.mark_price = 100.2;
    f.next_funding_ts_ns = 0;
    ck_assert_int_eq(cscalp_push_funding(fx.e, &f), CSCALP_OK);
}
END_TEST

START_TEST(late_event_within_tolerance_is_accepted_at_the_clock)
{
    cscalp_trade late = {10 * NS_PER_S - 4000000, 100.0, 1.0, CSCALP_SIDE_SELL, 0, 0};
    ck_assert_int_eq(cscalp_push_trade(fx.e, &late), CSCALP_OK);
    ck_assert_int_eq(fx.ev.count, 1);
    ck_assert_int_eq(fx.ev.last.event, CSCALP_EVENT_TIME_REGRESSION);
    ck_assert_int_eq(fx.ev.last.action, CSCALP_ACTION_CLAMPED);
    ck_assert_int_eq(fx.ev.last.severity, CSCALP_SEVERITY_INFO);
    cscalp_health_report r;
    health_now(&r);
    ck_assert_uint_eq(r.time_clamped, 1);
    ck_assert_int_eq(r.clock_ns, 10 * NS_PER_S + 1);
    ck_assert_uint_eq(r.feed_accepted[CSCALP_KIND_TRADE], 2);
    /* Both trades count at the clock: signed volume 0.5 - 1.0, undecayed. */
    double raw[24];
    features_now(raw);
    ck_assert_double_eq_tol(raw[7], -0.5, 1e-12);
    ck_assert_int_eq(r.components[CSCALP_COMPONENT_FEED].status, CSCALP_STATUS_OK);
}
END_TEST

START_TEST(tick_advances_the_clock_and_refuses_time_travel)
{
    ck_assert_int_eq(cscalp_tick(fx.e, 12 * NS_PER_S), CSCALP_OK);
    cscalp_health_report r;
    health_now(&r);
    ck_assert_int_eq(r.clock_ns, 12 * NS_PER_S);
    ck_assert_int_eq(cscalp_tick(fx.e, 12 * NS_PER_S - 1000), CSCALP_OK); /* no-op */
    health_now(&r);
    ck_assert_int_eq(r.clock_ns, 12 * NS_PER_S);
    expect_refused(cscalp_tick(fx.e, 11 * NS_PER_S), CSCALP_ETIME, CSCALP_REJECT_TIME,
                   "ts_ns");
}
END_TEST

/* Times past the range would overflow the grids and horizons derived from
 * them (found by a fuzzed tardis file under UBSan: a normalisation grid
 * point at 2^63 - 1e9). Refused like any bad time, whatever the clock. */
START_TEST(times_outside_the_range_are_refused)
{
    const int64_t bad[] = {CSCALP_TIME_MAX_NS + 1, INT64_MAX, INT64_MAX - 1000000000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cscalp_quote q = {bad[i], 100, 1, 101, 1};
        ck_assert_int_eq(cscalp_push_quote(fx.e, &q), CSCALP_ETIME);
        ck_assert_ptr_nonnull(strstr(cscalp_last_error(fx.e), "time range"));
        ck_assert_int_eq(cscalp_tick(fx.e, bad[i]), CSCALP_ETIME);
    }
    cscalp_health_report r;
    health_now(&r);
    ck_assert_uint_eq(r.feed_rejected[CSCALP_REJECT_TIME], 6);
    ck_assert_int_eq(r.clock_ns, 10 * NS_PER_S + 1);
    /* Before any event: below the minimum is refused, the minimum taken,
     * and the clock may then cross the whole range in one step. */
    cscalp_engine *fresh;
    ck_assert_int_eq(cscalp_open(&fresh, NULL), CSCALP_OK);
    cscalp_quote below = {CSCALP_TIME_MIN_NS - 1, 100, 1, 101, 1};
    ck_assert_int_eq(cscalp_push_quote(fresh, &below), CSCALP_ETIME);
    ck_assert_int_eq(cscalp_tick(fresh, INT64_MIN), CSCALP_ETIME);
    cscalp_quote lo = {CSCALP_TIME_MIN_NS, 100, 1, 101, 1};
    ck_assert_int_eq(cscalp_push_quote(fresh, &lo), CSCALP_OK);
    ck_assert_int_eq(cscalp_tick(fresh, CSCALP_TIME_MAX_NS), CSCALP_OK);
    cscalp_quote hi = {CSCALP_TIME_MAX_NS, 100, 1, 101, 1};
    ck_assert_int_eq(cscalp_push_quote(fresh, &hi), CSCALP_OK);
    cscalp_close(fresh);
}
END_TEST

START_TEST(degraded_status_clears_after_the_hold_time)
{
    cscalp_quote bad = {11 * NS_PER_S, 101, 1, 100, 1};
    ck_assert_int_eq(cscalp_push_quote(fx.e, &bad), CSCALP_ECROSSED);
    cscalp_health_report r;
    health_now(&r);
    ck_assert_int_eq(r.components[CSCALP_COMPONENT_FEED].status, CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(r.components[CSCALP_COMPONENT_FEED].events, 1);
    ck_assert_int_eq(r.components[CSCALP_COMPONENT_FEED].last_error, CSCALP_ECROSSED);
    ck_assert_int_eq(cscalp_tick(fx.e, 10 * NS_PER_S + 1 + 10 * NS_PER_S), CSCALP_OK);
    health_now(&r);
    /* The warning's hold is over, but ten seconds without data made the
     * feed stale (health.stale_feed_ms): DEGRADED for that, until data has
     * flowed for health.feed_resume_ms again and FEED_STALE's own warning
     * has aged past the hold. */
    ck_assert_int_eq(r.components[CSCALP_COMPONENT_FEED].status, CSCALP_STATUS_DEGRADED);
    ck_assert_uint_ne(r.supervisor_flags & CSCALP_SUPERVISOR_FEED_STALE, 0);
    for (int64_t t = 20 * NS_PER_S + 2; t <= 31 * NS_PER_S + 2; t += NS_PER_S / 10) {
        const cscalp_quote q = {t, 100, 1, 101, 1};
        ck_assert_int_eq(cscalp_push_quote(fx.e, &q), CSCALP_OK);
    }
    health_now(&r);
    ck_assert_uint_eq(r.supervisor_flags & (CSCALP_SUPERVISOR_FEED_STALE |
                                            CSCALP_SUPERVISOR_FEED_RECOVERING), 0);
    ck_assert_int_eq(r.components[CSCALP_COMPONENT_FEED].status, CSCALP_STATUS_OK);
    ck_assert_int_eq(r.components[CSCALP_COMPONENT_ENGINE].status, CSCALP_STATUS_OK);
}
END_TEST

START_TEST(health_report_checks_its_size_field)
{
    cscalp_health_report r;
    memset(&r, 0, sizeof r);
    r.size = 8;
    ck_assert_int_eq(cscalp_health(fx.e, &r), CSCALP_ESTRUCT);
    ck_assert_int_eq(cscalp_health(fx.e, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_health(NULL, &r), CSCALP_EINVAL);
}
END_TEST

START_TEST(null_arguments_are_refused_and_reported)
{
    ck_assert_int_eq(cscalp_push_quote(fx.e, NULL), CSCALP_EINVAL);
    ck_assert_ptr_nonnull(strstr(cscalp_last_error(fx.e), "quote"));
    ck_assert_int_eq(fx.ev.count, 1);
    ck_assert_int_eq(fx.ev.last.component, CSCALP_COMPONENT_ENGINE);
    ck_assert_int_eq(cscalp_push_trade(NULL, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_push_book(fx.e, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_push_funding(fx.e, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_push_quotes(fx.e, NULL, 3, 0, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_push_quotes(fx.e, NULL, 0, 0, NULL), CSCALP_OK);
    cscalp_quote q = {11 * NS_PER_S, 100, 1, 101, 1};
    ck_assert_int_eq(cscalp_push_quotes(fx.e, &q, 1, 0x80, NULL), CSCALP_EINVAL);
    ck_assert_ptr_nonnull(strstr(cscalp_last_error(fx.e), "flags"));
    ck_assert_str_eq(cscalp_last_error(NULL), "engine is NULL");
    char stats[16384];
    ck_assert_int_eq(cscalp_stats_json(fx.e, stats, sizeof stats, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(stats, "\"api_errors\":5"));
}
END_TEST

static void make_quotes(cscalp_quote *q, int n, int bad_index)
{
    for (int i = 0; i < n; i++) {
        q[i] = (cscalp_quote){11 * NS_PER_S + i * 1000, 100.0 + 0.1 * i, 1, 100.5 + 0.1 * i, 1};
        if (i == bad_index)
            q[i].ask_price = q[i].bid_price; /* locked */
    }
}

START_TEST(batch_stops_at_the_first_refusal)
{
    cscalp_quote q[6];
    make_quotes(q, 6, 3);
    size_t accepted = 99;
    ck_assert_int_eq(cscalp_push_quotes(fx.e, q, 6, 0, &accepted), CSCALP_ECROSSED);
    ck_assert_uint_eq(accepted, 3);
    ck_assert_ptr_nonnull(strstr(cscalp_last_error(fx.e), "event 3"));
    cscalp_health_report r;
    health_now(&r);
    ck_assert_uint_eq(r.feed_accepted[CSCALP_KIND_QUOTE], 1 + 3);
    ck_assert_uint_eq(r.feed_rejected[CSCALP_REJECT_CROSSED], 1);
    /* Resume after the refused one, as the header documents. */
    ck_assert_int_eq(cscalp_push_quotes(fx.e, q + accepted + 1, 6 - accepted - 1, 0,
                                        &accepted),
                     CSCALP_OK);
    ck_assert_uint_eq(accepted, 2);
    ck_assert_str_eq(cscalp_last_error(fx.e), "");
}
END_TEST

START_TEST(batch_with_skip_tries_every_event)
{
    cscalp_quote q[6];
    make_quotes(q, 6, 1);
    q[4].bid_size = -1;
    size_t accepted = 0;
    ck_assert_int_eq(cscalp_push_quotes(fx.e, q, 6, CSCALP_BATCH_SKIP_INVALID, &accepted),
                     CSCALP_ECROSSED);
    ck_assert_uint_eq(accepted, 4);
    ck_assert_int_eq(fx.ev.count, 2);
    cscalp_health_report r;
    health_now(&r);
    ck_assert_uint_eq(r.feed_accepted[CSCALP_KIND_QUOTE], 1 + 4);
    ck_assert_uint_eq(r.feed_rejected[CSCALP_REJECT_CROSSED], 1);
    ck_assert_uint_eq(r.feed_rejected[CSCALP_REJECT_SIZE], 1);
}
END_TEST

START_TEST(batch_equals_single_pushes)
{
    cscalp_trade t[50];
    for (int i = 0; i < 50; i++)
        t[i] = (cscalp_trade){11 * NS_PER_S + i * 7000000LL, 100.0 + (i % 7) * 0.1,
                              0.1 * (1 + i % 3), i % 2 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL, 0, i};
    cscalp_engine *single;
    ck_assert_int_eq(cscalp_open(&single, "{\"feed\":{\"max_time_regression_ms\":5}}"),
                     CSCALP_OK);
    cscalp_quote q = {10 * NS_PER_S, 100.0, 2.0, 100.5, 1.0};
    cscalp_push_quote(single, &q);
    cscalp_trade t0 = {10 * NS_PER_S + 1, 100.5, 0.5, CSCALP_SIDE_BUY, 0, 7};
    cscalp_push_trade(single, &t0);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(cscalp_push_trade(single, &t[i]), CSCALP_OK);
    size_t accepted;
    ck_assert_int_eq(cscalp_push_trades(fx.e, t, 50, 0, &accepted), CSCALP_OK);
    ck_assert_uint_eq(accepted, 50);
    double a[24], b[24], za[24], zb[24];
    ck_assert_int_eq(cscalp_features(single, a, za, 24, NULL), CSCALP_OK);
    ck_assert_int_eq(cscalp_features(fx.e, b, zb, 24, NULL), CSCALP_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_mem_eq(za, zb, sizeof za);
    cscalp_close(single);
}
END_TEST

START_TEST(book_levels_beyond_the_config_are_not_kept)
{
    ck_assert_int_eq(cscalp_configure(fx.e, "{\"feed\":{\"book_levels\":2}}"), CSCALP_OK);
    cscalp_book b = good_book(11 * NS_PER_S);
    ck_assert_int_eq(cscalp_push_book(fx.e, &b), CSCALP_OK);
    double raw[24];
    features_now(raw);
    /* depth_imbalance_5 over two kept levels per side: (1+2 - (2+3)) / 8 */
    ck_assert_double_eq_tol(raw[3], -2.0 / 8.0, 1e-15);
    char stats[16384];
    cscalp_stats_json(fx.e, stats, sizeof stats, NULL);
    ck_assert_ptr_nonnull(strstr(stats, "\"book_levels_kept\":2"));
}
END_TEST

START_TEST(features_buffer_contract)
{
    double raw[24];
    size_t count = 0;
    ck_assert_int_eq(cscalp_features(fx.e, raw, NULL, 23, &count), CSCALP_EBUFFER);
    ck_assert_uint_eq(count, 24);
    ck_assert_int_eq(cscalp_features(fx.e, NULL, NULL, 0, &count), CSCALP_OK);
    ck_assert_int_eq(cscalp_features(NULL, raw, NULL, 24, NULL), CSCALP_EINVAL);
    const char *names[24];
    ck_assert_int_eq(cscalp_feature_names(names, 3, &count), CSCALP_EBUFFER);
    ck_assert_str_eq(names[0], "spread_bps");
    ck_assert_int_eq(cscalp_feature_names(NULL, 3, NULL), CSCALP_EINVAL);
    ck_assert_uint_eq(cscalp_feature_count(), 24);
}
END_TEST

static Suite *feed_suite(void)
{
    Suite *s = suite_create("feed");
    TCase *tc = tcase_create("feed");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, bad_quote_is_refused_counted_reported_and_changes_nothing, 0,
                        (int)(sizeof bad_quotes / sizeof bad_quotes[0]));
    tcase_add_loop_test(tc, bad_trade_is_refused_counted_reported_and_changes_nothing, 0,
                        (int)(sizeof bad_trades / sizeof bad_trades[0]));
    tcase_add_loop_test(tc, bad_book_is_refused_with_the_level_named, 0, 7);
    tcase_add_loop_test(tc, bad_funding_is_refused, 0, 4);
    tcase_add_test(tc, late_event_within_tolerance_is_accepted_at_the_clock);
    tcase_add_test(tc, tick_advances_the_clock_and_refuses_time_travel);
    tcase_add_test(tc, degraded_status_clears_after_the_hold_time);
    tcase_add_test(tc, health_report_checks_its_size_field);
    tcase_add_test(tc, null_arguments_are_refused_and_reported);
    tcase_add_test(tc, batch_stops_at_the_first_refusal);
    tcase_add_test(tc, batch_with_skip_tries_every_event);
    tcase_add_test(tc, batch_equals_single_pushes);
    tcase_add_test(tc, book_levels_beyond_the_config_are_not_kept);
    tcase_add_test(tc, features_buffer_contract);
    tcase_add_test(tc, times_outside_the_range_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(feed_suite()); }
