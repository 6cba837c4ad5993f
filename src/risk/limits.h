/* Pre-trade controls (docs/risk.md, "Pre-trade controls"): every order the
 * engine wants to send is checked here first, in the spirit of SEC Rule
 * 15c3-5 market-access checks — size and capital thresholds, a price
 * collar against erroneous prices, rate limits — plus exposure and
 * leverage caps, drawdown limits that trip a kill switch, and a cool-down
 * after a run of losses. A refused order is never sent; the rule that
 * refused it is returned with the numbers.
 *
 * The checks read a snapshot of the book-keeping (position, working
 * orders, mid, equity) that the caller passes in, so they are pure apart
 * from the rate-limit history, the drawdown marks, the loss streak and the
 * kill switch kept here. Fixed memory, allocated at create; a check is
 * O(1) amortised and allocation-free; everything runs on event time. */
#ifndef CSCALP_RISK_LIMITS_H
#define CSCALP_RISK_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

typedef struct cscalp_risk_limits {
    double max_order_contracts;    /* > 0 */
    double max_order_notional;     /* quote currency, > 0 */
    double max_position_contracts; /* |position| if every working order on the side filled */
    double max_leverage;           /* that position's notional / equity, > 0 */
    double price_collar_bps;       /* |limit price − mid| / mid, > 0 */
    uint32_t max_orders_per_s;     /* ≥ 1 */
    uint32_t max_orders_per_min;   /* ≥ max_orders_per_s */
    uint32_t max_open_orders;      /* ≥ 1 */
    double max_daily_drawdown;     /* quote currency below the day's peak equity (UTC day), > 0 */
    double max_total_drawdown;     /* quote currency below the all-time peak equity, > 0 */
    uint32_t loss_streak;          /* losing round trips in a row that start a cool-down; 0 = off */
    int64_t loss_cooldown_ns;      /* how long entries are refused after it */
} cscalp_risk_limits;

/* The state an order is judged against. */
typedef struct cscalp_risk_book {
    double position;       /* signed contracts */
    double open_buy;       /* contracts working to buy (unfilled) */
    double open_sell;      /* contracts working to sell (unfilled) */
    uint32_t open_orders;  /* working orders */
    double mid;            /* 0 when there is no quote */
    double equity;         /* quote currency */
} cscalp_risk_book;

typedef struct cscalp_risk_order {
    int side;        /* +1 buy, −1 sell */
    double price;    /* limit price; 0 for a market order */
    double size;     /* contracts, > 0 */
    int reduce_only; /* the venue will not let it increase the position */
} cscalp_risk_order;

typedef enum cscalp_risk_rule {
    CSCALP_RISK_PASSED = 0,
    CSCALP_RISK_BAD_ORDER = 1,      /* side, size or price not valid */
    CSCALP_RISK_KILL_SWITCH = 2,    /* tripped: only exposure-reducing orders pass */
    CSCALP_RISK_COOLDOWN = 3,       /* after a loss streak: only exposure-reducing orders */
    CSCALP_RISK_ORDER_SIZE = 4,
    CSCALP_RISK_ORDER_NOTIONAL = 5,
    CSCALP_RISK_POSITION = 6,
    CSCALP_RISK_LEVERAGE = 7,
    CSCALP_RISK_PRICE_COLLAR = 8,
    CSCALP_RISK_NO_MID = 9,         /* no quote to judge the price or notional by */
    CSCALP_RISK_RATE_PER_S = 10,
    CSCALP_RISK_RATE_PER_MIN = 11,
    CSCALP_RISK_OPEN_ORDERS = 12,
    CSCALP_RISK_REDUCE_ONLY = 13,   /* a reduce-only order that would not reduce */
    CSCALP_RISK_RULE_COUNT = 14
} cscalp_risk_rule;

const char *cscalp_risk_rule_name(int rule);

typedef struct cscalp_risk cscalp_risk;

/* CSCALP_OK, CSCALP_ENOMEM, CSCALP_ECONFIG_RANGE with `why` naming the
 * limit. */
int cscalp_risk_create(const cscalp_allocator *mem, const cscalp_risk_limits *limits,
                       cscalp_risk **out, char *why, size_t cap);
void cscalp_risk_destroy(cscalp_risk *r);
/* New limits; the per-minute rate may not exceed the one given at create
 * (it sizes the history). CSCALP_ECONFIG_RANGE with `why`, else applied. */
int cscalp_risk_set_limits(cscalp_risk *r, const cscalp_risk_limits *limits, char *why,
                           size_t cap);

/* Judge an order at event time now_ns. CSCALP_RISK_PASSED, or the first
 * rule that refuses it (in the order of docs/risk.md), with `why` giving
 * the numbers. Changes nothing but the counters: call cscalp_risk_on_sent
 * when the order is sent. An order reduces exposure when it is on the
 * side opposite the position and, with the working orders on its side,
 * does not exceed the position (it can never flip it); such orders pass
 * the kill switch and the cool-down, are exempt from the position and
 * leverage caps (they lower both) and satisfy reduce-only; every other
 * rule applies to them. A snapshot with a value that is not finite (or a
 * negative working size) refuses the order as BAD_ORDER. */
int cscalp_risk_check(cscalp_risk *r, const cscalp_risk_order *order,
                      const cscalp_risk_book *book, int64_t now_ns, char *why, size_t cap);
/* An order passed and was sent at now_ns: it counts against the rates. */
void cscalp_risk_on_sent(cscalp_risk *r, int64_t now_ns);

/* Equity marked at now_ns: updates the day's and the all-time peaks and
 * trips the kill switch when a drawdown limit is passed. Returns 1 when
 * this call tripped it. */
int cscalp_risk_on_equity(cscalp_risk *r, double equity, int64_t now_ns);
/* A round trip closed with this realised PnL: a loss extends the streak,
 * a gain ends it; the streak reaching the limit starts the cool-down.
 * Returns 1 when this call started a cool-down. */
int cscalp_risk_on_round_trip(cscalp_risk *r, double pnl, int64_t now_ns);

int cscalp_risk_killed(const cscalp_risk *r);
/* Trip by hand (the supervisor) or re-arm (the host, through the
 * configuration). Re-arming resets the drawdown peaks to `equity`. */
void cscalp_risk_kill(cscalp_risk *r);
void cscalp_risk_rearm(cscalp_risk *r, double equity, int64_t now_ns);

typedef struct cscalp_risk_counters {
    uint64_t checked, passed, refused_by[CSCALP_RISK_RULE_COUNT], kills, cooldowns;
} cscalp_risk_counters;
void cscalp_risk_get_counters(const cscalp_risk *r, cscalp_risk_counters *out);

/* Checkpoints. Load checks every field (CSCALP_ECORRUPT with `why`); on
 * error the send history is left part-loaded: discard the stage. */
void cscalp_risk_save(const cscalp_risk *r, cscalp_wbuf *w);
int cscalp_risk_load(cscalp_risk *r, cscalp_rbuf *in, char *why, size_t cap);

#endif
