#include "risk/limits.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MIN (60 * NS_PER_S)
#define NS_PER_DAY (86400 * NS_PER_S)

static const char *const rule_names[CSCALP_RISK_RULE_COUNT] = {
    "passed",        "bad_order",  "kill_switch",  "cooldown",     "order_size",
    "order_notional", "position",  "leverage",     "price_collar", "no_mid",
    "rate_per_s",    "rate_per_min", "open_orders", "reduce_only"};

const char *cscalp_risk_rule_name(int rule)
{
    return rule >= 0 && rule < CSCALP_RISK_RULE_COUNT ? rule_names[rule] : "unknown";
}

struct cscalp_risk {
    cscalp_allocator mem;
    cscalp_risk_limits lim;
    /* Send times, oldest first, in a ring sized by the per-minute rate at
     * create: the k-th most recent is all a rate check needs. */
    int64_t *sent;
    uint32_t sent_cap, sent_head, sent_count;
    /* Drawdown marks. */
    int has_equity;
    int64_t day;
    double day_peak, peak;
    /* Loss streak and cool-down. */
    uint32_t losses;
    int64_t cooldown_until;
    int killed;
    cscalp_risk_counters c;
};

static int limits_check(const cscalp_risk_limits *l, uint32_t per_min_cap, char *why,
                        size_t cap)
{
#define NEED(cond, ...)                                                         \
    do {                                                                        \
        if (!(cond)) {                                                          \
            snprintf(why, cap, __VA_ARGS__);                                    \
            return CSCALP_ECONFIG_RANGE;                                        \
        }                                                                       \
    } while (0)
#define POSITIVE(field, name)                                                   \
    NEED(isfinite(l->field) && l->field > 0.0, "%s: %g, needs a finite value > 0", name,  \
         l->field)
    POSITIVE(max_order_contracts, "risk.max_order_contracts (max order size)");
    POSITIVE(max_order_notional, "risk.max_order_notional_quote (max order notional)");
    POSITIVE(max_position_contracts, "risk.max_position_contracts (max position)");
    POSITIVE(max_leverage, "risk.max_leverage_factor (max leverage)");
    POSITIVE(price_collar_bps, "risk.price_collar_bps (price collar)");
    POSITIVE(max_daily_drawdown, "risk.max_daily_drawdown_quote (max daily drawdown)");
    POSITIVE(max_total_drawdown, "risk.max_total_drawdown_quote (max total drawdown)");
    NEED(l->max_orders_per_s >= 1, "risk.max_orders_per_s (orders per second): %u, needs ≥ 1", l->max_orders_per_s);
    NEED(l->max_orders_per_min >= l->max_orders_per_s && l->max_orders_per_min <= per_min_cap,
         "risk.max_orders_per_min (orders per minute): %u, needs %u … %u", l->max_orders_per_min, l->max_orders_per_s,
         per_min_cap);
    NEED(l->max_open_orders >= 1, "risk.max_open_orders_count (open orders): %u, needs ≥ 1", l->max_open_orders);
    NEED(l->loss_cooldown_ns >= 0, "risk.loss_cooldown_ms (loss cool-down): %lld ns, needs ≥ 0",
         (long long)l->loss_cooldown_ns);
    return CSCALP_OK;
#undef POSITIVE
#undef NEED
}

int cscalp_risk_create(const cscalp_allocator *mem, const cscalp_risk_limits *limits,
                       cscalp_risk **out, char *why, size_t cap)
{
    *out = NULL;
    const int rc = limits_check(limits, 1000000, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    cscalp_risk *r = cscalp_mem_calloc(mem, 1, sizeof *r);
    if (r == NULL) {
        snprintf(why, cap, "risk: out of memory");
        return CSCALP_ENOMEM;
    }
    r->mem = *mem;
    r->lim = *limits;
    r->sent_cap = limits->max_orders_per_min;
    r->cooldown_until = INT64_MIN; /* event times may be negative */
    r->sent = cscalp_mem_calloc(mem, r->sent_cap, sizeof *r->sent);
    if (r->sent == NULL) {
        cscalp_mem_free(mem, r);
        snprintf(why, cap, "risk: out of memory");
        return CSCALP_ENOMEM;
    }
    *out = r;
    return CSCALP_OK;
}

void cscalp_risk_destroy(cscalp_risk *r)
{
    if (r == NULL)
        return;
    const cscalp_allocator mem = r->mem;
    cscalp_mem_free(&mem, r->sent);
    cscalp_mem_free(&mem, r);
}

int cscalp_risk_set_limits(cscalp_risk *r, const cscalp_risk_limits *limits, char *why,
                           size_t cap)
{
    const int rc = limits_check(limits, r->sent_cap, why, cap);
    if (rc == CSCALP_OK)
        r->lim = *limits;
    return rc;
}

/* The k-th most recent send time (k ≥ 1), or INT64_MIN when fewer. */
static int64_t recent(const cscalp_risk *r, uint32_t k)
{
    if (k > r->sent_count)
        return INT64_MIN;
    return r->sent[(r->sent_head + r->sent_count - k) % r->sent_cap];
}

void cscalp_risk_on_sent(cscalp_risk *r, int64_t now_ns)
{
    /* The history stays in time order even if a caller's clock stepped
     * back: a send counts at the latest time seen. */
    const int64_t last = recent(r, 1);
    if (now_ns < last)
        now_ns = last;
    if (r->sent_count == r->sent_cap) {
        r->sent_head = (r->sent_head + 1) % r->sent_cap;
        r->sent_count--;
    }
    r->sent[(r->sent_head + r->sent_count) % r->sent_cap] = now_ns;
    r->sent_count++;
}

static int refuse(cscalp_risk *r, int rule)
{
    r->c.refused_by[rule]++;
    return rule;
}

int cscalp_risk_check(cscalp_risk *r, const cscalp_risk_order *o, const cscalp_risk_book *b,
                      int64_t now_ns, char *why, size_t cap)
{
    const cscalp_risk_limits *l = &r->lim;
    r->c.checked++;
    if ((o->side != 1 && o->side != -1) || !isfinite(o->size) || !(o->size > 0.0) ||
        !isfinite(o->price) || o->price < 0.0) {
        snprintf(why, cap, "order: side %d, size %g, price %g", o->side, o->size, o->price);
        return refuse(r, CSCALP_RISK_BAD_ORDER);
    }
    /* A snapshot that is not finite judges nothing: an infinite position
     * would make every order "reducing". */
    if (!isfinite(b->position) || !isfinite(b->open_buy) || !(b->open_buy >= 0.0) ||
        !isfinite(b->open_sell) || !(b->open_sell >= 0.0) || !isfinite(b->mid) ||
        !isfinite(b->equity)) {
        snprintf(why, cap, "book snapshot: position %g, working %g / %g, mid %g, equity %g",
                 b->position, b->open_buy, b->open_sell, b->mid, b->equity);
        return refuse(r, CSCALP_RISK_BAD_ORDER);
    }
    const double same_open = o->side > 0 ? b->open_buy : b->open_sell;
    /* Reduces exposure: against the position, and with the working orders
     * on its side no larger than the position (never flips it). */
    const int reducing = b->position * o->side < 0.0 &&
                         same_open + o->size <= fabs(b->position) * (1.0 + 1e-12);
    if (r->killed && !reducing) {
        snprintf(why, cap, "kill switch tripped: only orders that reduce the position pass");
        return refuse(r, CSCALP_RISK_KILL_SWITCH);
    }
    if (now_ns < r->cooldown_until && !reducing) {
        /* The streak's counter restarted when the cool-down began: the
         * configured streak is what started it. */
        snprintf(why, cap, "cool-down after %u losing round trips until %lld ns", r->lim.loss_streak,
                 (long long)r->cooldown_until);
        return refuse(r, CSCALP_RISK_COOLDOWN);
    }
    if (o->size > l->max_order_contracts) {
        snprintf(why, cap, "order size %g above %g contracts", o->size, l->max_order_contracts);
        return refuse(r, CSCALP_RISK_ORDER_SIZE);
    }
    /* Notional at the limit price, or at the mid for a market order. */
    const double ref = o->price > 0.0 ? o->price : b->mid;
    if (!(ref > 0.0) || !isfinite(ref) || !(b->mid > 0.0)) {
        snprintf(why, cap, "no mid to judge the order by");
        return refuse(r, CSCALP_RISK_NO_MID);
    }
    if (o->size * ref > l->max_order_notional) {
        snprintf(why, cap, "order notional %g above %g", o->size * ref, l->max_order_notional);
        return refuse(r, CSCALP_RISK_ORDER_NOTIONAL);
    }
    /* Worst case: every working order on this side fills, then this one. */
    const double worst = b->position + o->side * (same_open + o->size);
    if (!reducing && fabs(worst) > l->max_position_contracts) {
        snprintf(why, cap, "position could reach %g contracts, limit %g", worst,
                 l->max_position_contracts);
        return refuse(r, CSCALP_RISK_POSITION);
    }
    if (!reducing && !(b->equity > 0.0 && fabs(worst) * b->mid <= l->max_leverage * b->equity)) {
        snprintf(why, cap, "leverage could reach %g (notional %g, equity %g), limit %g",
                 b->equity > 0.0 ? fabs(worst) * b->mid / b->equity : HUGE_VAL,
                 fabs(worst) * b->mid, b->equity, l->max_leverage);
        return refuse(r, CSCALP_RISK_LEVERAGE);
    }
    if (o->price > 0.0 && fabs(o->price - b->mid) / b->mid * 1e4 > l->price_collar_bps) {
        snprintf(why, cap, "price %g is %.2f bps from the mid %g, collar %g bps", o->price,
                 fabs(o->price - b->mid) / b->mid * 1e4, b->mid, l->price_collar_bps);
        return refuse(r, CSCALP_RISK_PRICE_COLLAR);
    }
    if (recent(r, l->max_orders_per_s) > now_ns - NS_PER_S) {
        snprintf(why, cap, "%u orders sent in the last second already", l->max_orders_per_s);
        return refuse(r, CSCALP_RISK_RATE_PER_S);
    }
    if (recent(r, l->max_orders_per_min) > now_ns - NS_PER_MIN) {
        snprintf(why, cap, "%u orders sent in the last minute already", l->max_orders_per_min);
        return refuse(r, CSCALP_RISK_RATE_PER_MIN);
    }
    if (b->open_orders >= l->max_open_orders) {
        snprintf(why, cap, "%u orders working, limit %u", b->open_orders, l->max_open_orders);
        return refuse(r, CSCALP_RISK_OPEN_ORDERS);
    }
    if (o->reduce_only && !reducing) {
        snprintf(why, cap, "reduce-only order would not reduce the position %g", b->position);
        return refuse(r, CSCALP_RISK_REDUCE_ONLY);
    }
    r->c.passed++;
    return CSCALP_RISK_PASSED;
}

int cscalp_risk_on_equity(cscalp_risk *r, double equity, int64_t now_ns)
{
    if (!isfinite(equity))
        return 0;
    const int64_t day = now_ns >= 0 ? now_ns / NS_PER_DAY : -((-now_ns - 1) / NS_PER_DAY) - 1;
    if (!r->has_equity) {
        r->has_equity = 1;
        r->peak = r->day_peak = equity;
        r->day = day;
    }
    if (day != r->day) {
        r->day = day;
        r->day_peak = equity;
    }
    r->day_peak = fmax(r->day_peak, equity);
    r->peak = fmax(r->peak, equity);
    if (r->killed)
        return 0;
    if (r->day_peak - equity > r->lim.max_daily_drawdown ||
        r->peak - equity > r->lim.max_total_drawdown) {
        r->killed = 1;
        r->c.kills++;
        return 1;
    }
    return 0;
}

int cscalp_risk_on_round_trip(cscalp_risk *r, double pnl, int64_t now_ns)
{
    if (!isfinite(pnl))
        return 0;
    if (pnl >= 0.0) {
        r->losses = 0;
        return 0;
    }
    r->losses++;
    if (r->lim.loss_streak == 0 || r->losses < r->lim.loss_streak)
        return 0;
    r->losses = 0;
    r->cooldown_until = now_ns + r->lim.loss_cooldown_ns;
    r->c.cooldowns++;
    return 1;
}

int cscalp_risk_killed(const cscalp_risk *r) { return r->killed; }

void cscalp_risk_kill(cscalp_risk *r)
{
    if (!r->killed)
        r->c.kills++;
    r->killed = 1;
}

void cscalp_risk_rearm(cscalp_risk *r, double equity, int64_t now_ns)
{
    r->killed = 0;
    r->has_equity = 0;
    cscalp_risk_on_equity(r, equity, now_ns);
}

void cscalp_risk_get_counters(const cscalp_risk *r, cscalp_risk_counters *out) { *out = r->c; }

/* ---------------------------------------------------------- checkpoints */

_Static_assert(sizeof(cscalp_risk_counters) % sizeof(uint64_t) == 0,
               "the counters are saved as an array of u64");

void cscalp_risk_save(const cscalp_risk *r, cscalp_wbuf *w)
{
    cscalp_put_u32(w, r->sent_cap);
    cscalp_put_u32(w, r->sent_count);
    for (uint32_t i = 0; i < r->sent_count; i++)
        cscalp_put_i64(w, r->sent[(r->sent_head + i) % r->sent_cap]);
    cscalp_put_u32(w, (uint32_t)r->has_equity);
    cscalp_put_i64(w, r->day);
    cscalp_put_f64(w, r->day_peak);
    cscalp_put_f64(w, r->peak);
    cscalp_put_u32(w, r->losses);
    cscalp_put_i64(w, r->cooldown_until);
    cscalp_put_u32(w, (uint32_t)r->killed);
    uint64_t counters[sizeof r->c / sizeof(uint64_t)];
    memcpy(counters, &r->c, sizeof counters);
    cscalp_put_u32(w, (uint32_t)(sizeof counters / sizeof counters[0]));
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        cscalp_put_u64(w, counters[i]);
}

int cscalp_risk_load(cscalp_risk *r, cscalp_rbuf *in, char *why, size_t cap)
{
#define FAIL(...)                                                               \
    do {                                                                        \
        snprintf(why, cap, __VA_ARGS__);                                        \
        return CSCALP_ECORRUPT;                                                 \
    } while (0)
    const uint32_t sent_cap = cscalp_get_u32(in), sent_count = cscalp_get_u32(in);
    if (in->failed || sent_cap != r->sent_cap || sent_count > sent_cap)
        FAIL("risk: send history of %u / %u where this engine keeps %u", sent_count, sent_cap,
             r->sent_cap);
    int64_t last = INT64_MIN;
    for (uint32_t i = 0; i < sent_count; i++) {
        const int64_t t = cscalp_get_i64(in);
        if (in->failed || t < last)
            FAIL("risk: send times damaged at %u", i);
        r->sent[i] = t; /* the caller discards the stage on error */
        last = t;
    }
    const uint32_t has_equity = cscalp_get_u32(in);
    const int64_t day = cscalp_get_i64(in);
    const double day_peak = cscalp_get_f64(in), peak = cscalp_get_f64(in);
    const uint32_t losses = cscalp_get_u32(in);
    const int64_t cooldown_until = cscalp_get_i64(in);
    const uint32_t killed = cscalp_get_u32(in);
    uint64_t counters[sizeof r->c / sizeof(uint64_t)];
    const uint32_t n = cscalp_get_u32(in);
    if (in->failed || has_equity > 1 || killed > 1 || !isfinite(day_peak) || !isfinite(peak) ||
        day_peak > peak || n != sizeof counters / sizeof counters[0])
        FAIL("risk: drawdown marks, kill switch or counters damaged");
    for (uint32_t i = 0; i < n; i++)
        counters[i] = cscalp_get_u64(in);
    if (in->failed)
        FAIL("risk: the section ends early");
    r->sent_head = 0;
    r->sent_count = sent_count;
    r->has_equity = (int)has_equity;
    r->day = day;
    r->day_peak = day_peak;
    r->peak = peak;
    r->losses = losses;
    r->cooldown_until = cooldown_until;
    r->killed = (int)killed;
    memcpy(&r->c, counters, sizeof counters);
    return CSCALP_OK;
#undef FAIL
}
