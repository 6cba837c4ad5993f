/* The synthetic regime market of cryptoscalp_sim.h (docs/sim.md).
 *
 * State between events: the regime, the time it ends, the signed drift, the
 * log mid, and the displayed touch (set at each quote, used by the trades
 * and books that follow it). The next event time is drawn from the total
 * event rate of the regime in force; when the regime ends first, the mid is
 * carried to the switch time, the next regime is drawn, and the wait starts
 * again (exponential waits are memoryless, so this is exact).
 *
 * Reproducible bit for bit: xoshiro256** (util/rng.h) and the portable exp
 * and log of util/portable_math.h; every other operation is IEEE + - * /,
 * sqrt, floor, frexp or ldexp, all exactly rounded. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptoscalp_sim.h"
#include "util/alloc.h"
#include "util/format.h"
#include "util/portable_math.h"
#include "util/rng.h"

/* No regime switch is pending (one regime). */
#define NEVER_NS INT64_MAX
/* Latest start time: leaves a century and more of simulated time. */
#define START_TIME_MAX_NS ((int64_t)1 << 62)
/* The latent mid is reflected into [MID_MIN_TICKS, MID_MAX_TICKS] so that
 * every price is a positive multiple of the tick below 2^53 ticks (exact in
 * a double). With spreads up to 10 % of the mid, the bid stays >= 8 ticks. */
#define MID_MIN_TICKS 10.0
#define MID_MAX_TICKS 1e15

/* Per regime, derived once at open. */
typedef struct regime_state {
    double vol_log_per_sqrt_s;
    double spread_fraction;
    double rate_per_s;    /* trades + quotes + books */
    double p_trade;       /* P(the event is a trade) */
    double p_trade_quote; /* P(a trade or a quote); 1 without books */
    double weight_sum;    /* of next_regime_weight */
} regime_state;

struct cscalp_sim_market {
    cscalp_allocator mem;
    cscalp_sim_market_config cfg;
    regime_state rs[CSCALP_SIM_MAX_REGIMES];
    cscalp_rng rng;
    double lo_x, hi_x; /* reflection bounds of the log mid */

    int64_t now_ns;
    int64_t switch_ns; /* when the current regime ends */
    uint64_t index;
    int64_t trade_id;
    uint32_t regime;
    int32_t last_side; /* 0 before the first trade */
    int started, exhausted;
    double drift_bps_per_s; /* signed, in force */
    double x;               /* ln(mid) */
    double spare_normal;
    int has_spare;

    /* displayed touch */
    int64_t bid_ticks, ask_ticks;
    double bid_size, ask_size;
};

/* ---- random variates ----------------------------------------------------- */

static double uniform(cscalp_sim_market *m) { return cscalp_rng_uniform_d(&m->rng); }

/* Exp(1): -ln(1 - U), 1 - U in (0, 1]. */
static double exponential(cscalp_sim_market *m) { return -cscalp_pm_log(1.0 - uniform(m)); }

/* N(0, 1) by Marsaglia's polar method (log and sqrt only; no sin/cos). */
static double normal(cscalp_sim_market *m)
{
    if (m->has_spare) {
        m->has_spare = 0;
        return m->spare_normal;
    }
    double u, v, s;
    do {
        u = 2.0 * uniform(m) - 1.0;
        v = 2.0 * uniform(m) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = sqrt(-2.0 * cscalp_pm_log(s) / s);
    m->spare_normal = v * f;
    m->has_spare = 1;
    return u * f;
}

/* Lognormal with the given mean, rounded to whole lots (at least one). */
static double lot_size(cscalp_sim_market *m, double mean)
{
    const double sd = m->cfg.size_log_sd;
    const double raw = mean * cscalp_pm_exp(sd * normal(m) - 0.5 * sd * sd);
    double lots = floor(raw / m->cfg.lot_size_contracts + 0.5);
    if (lots < 1.0)
        lots = 1.0;
    return lots * m->cfg.lot_size_contracts;
}

/* Seconds to whole nanoseconds, for 0 <= s < 9e9. */
static int64_t to_ns(double s) { return (int64_t)(s * 1e9 + 0.5); }

/* ---- regimes ------------------------------------------------------------- */

static void enter_regime(cscalp_sim_market *m, uint32_t r)
{
    const cscalp_sim_regime *g = &m->cfg.regimes[r];
    m->regime = r;
    m->drift_bps_per_s = g->drift_bps_per_s;
    if (g->drift_sign_random && uniform(m) < 0.5)
        m->drift_bps_per_s = -m->drift_bps_per_s;
    if (m->cfg.regime_count == 1) {
        m->switch_ns = NEVER_NS;
        return;
    }
    const int64_t hold = to_ns(g->mean_duration_s * exponential(m));
    m->switch_ns = hold > NEVER_NS - m->now_ns ? NEVER_NS : m->now_ns + hold;
}

/* The regime after r, drawn by the weights of r. */
static uint32_t next_regime(cscalp_sim_market *m, uint32_t r)
{
    const double *w = m->cfg.regimes[r].next_regime_weight;
    const double target = uniform(m) * m->rs[r].weight_sum;
    double acc = 0.0;
    uint32_t last = r;
    for (uint32_t j = 0; j < m->cfg.regime_count; j++) {
        if (w[j] <= 0.0)
            continue;
        acc += w[j];
        last = j;
        if (target < acc)
            return j;
    }
    return last; /* target rounded up to the sum */
}

/* Carry the log mid over dt_ns with the regime in force; reflect it into
 * the representable band. */
static void diffuse(cscalp_sim_market *m, int64_t dt_ns)
{
    const regime_state *s = &m->rs[m->regime];
    const double dt = (double)dt_ns * 1e-9;
    const double z = normal(m);
    m->x += m->drift_bps_per_s * 1e-4 * dt + s->vol_log_per_sqrt_s * sqrt(dt) * z;
    if (m->x < m->lo_x)
        m->x = 2.0 * m->lo_x - m->x;
    if (m->x > m->hi_x)
        m->x = 2.0 * m->hi_x - m->x;
    if (m->x < m->lo_x) /* a step wider than the band itself */
        m->x = m->lo_x;
}

/* ---- events -------------------------------------------------------------- */

static double price_of(const cscalp_sim_market *m, int64_t ticks)
{
    return (double)ticks * m->cfg.tick_size;
}

/* New touch around the latent mid: spread = configured * U(0.5, 1.5),
 * stochastically rounded to whole ticks (mean preserved), at least one. */
static void refresh_touch(cscalp_sim_market *m, double mid)
{
    const double mid_ticks = mid / m->cfg.tick_size;
    const double want = m->rs[m->regime].spread_fraction * mid_ticks * (0.5 + uniform(m));
    double k = floor(want + uniform(m));
    if (k < 1.0)
        k = 1.0;
    m->bid_ticks = (int64_t)floor(mid_ticks - 0.5 * k + 0.5);
    m->ask_ticks = m->bid_ticks + (int64_t)k;
    m->bid_size = lot_size(m, m->cfg.quote_size_mean_contracts);
    m->ask_size = lot_size(m, m->cfg.quote_size_mean_contracts);
}

static void make_quote(cscalp_sim_market *m, cscalp_quote *q)
{
    q->ts_ns = m->now_ns;
    q->bid_price = price_of(m, m->bid_ticks);
    q->bid_size = m->bid_size;
    q->ask_price = price_of(m, m->ask_ticks);
    q->ask_size = m->ask_size;
}

/* Aggressor: repeat the previous side with probability rho, else draw one
 * biased towards the drift. */
static void make_trade(cscalp_sim_market *m, cscalp_trade *t)
{
    const cscalp_sim_regime *g = &m->cfg.regimes[m->regime];
    int32_t side = m->last_side;
    if (side == 0 || uniform(m) >= g->flow_autocorrelation) {
        const double sign = m->drift_bps_per_s > 0.0 ? 1.0 : m->drift_bps_per_s < 0.0 ? -1.0 : 0.0;
        const double p_buy = 0.5 * (1.0 + g->flow_drift_bias * sign);
        side = uniform(m) < p_buy ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL;
    }
    m->last_side = side;
    t->ts_ns = m->now_ns;
    t->price = price_of(m, side == CSCALP_SIDE_BUY ? m->ask_ticks : m->bid_ticks);
    t->size = lot_size(m, m->cfg.trade_size_mean_contracts);
    t->side = side;
    t->flags = 0;
    t->trade_id = ++m->trade_id;
}

static void make_book(cscalp_sim_market *m, cscalp_book *b)
{
    const uint32_t levels = m->cfg.book_levels;
    const int64_t gap = (int64_t)m->cfg.book_level_spacing_ticks;
    const double base = m->cfg.quote_size_mean_contracts;
    const double growth = m->cfg.depth_size_growth_per_level;
    b->ts_ns = m->now_ns;
    b->bids[0].price = price_of(m, m->bid_ticks);
    b->bids[0].size = m->bid_size;
    b->asks[0].price = price_of(m, m->ask_ticks);
    b->asks[0].size = m->ask_size;
    uint32_t bids = 1;
    for (uint32_t k = 1; k < levels; k++) {
        const double mean = base * (1.0 + growth * (double)k);
        const int64_t bid = m->bid_ticks - gap * (int64_t)k;
        /* Both sizes are drawn even when the bid side has run out of
         * positive prices, so the stream does not depend on the price. */
        const double bid_size = lot_size(m, mean);
        b->asks[k].price = price_of(m, m->ask_ticks + gap * (int64_t)k);
        b->asks[k].size = lot_size(m, mean);
        if (bid >= 1) {
            b->bids[k].price = price_of(m, bid);
            b->bids[k].size = bid_size;
            bids++;
        }
    }
    b->bid_count = bids;
    b->ask_count = levels;
}

/* ---- configuration ------------------------------------------------------- */

static const cscalp_sim_regime default_regimes[3] = {
    /* duration, drift, vol, spread, trades, rho, bias, random sign */
    {300.0, 0.0, 0.5, 2.0, 4.0, 0.2, 0.0, 0, 0, {0.0, 0.75, 0.25}},
    {120.0, 0.5, 1.2, 3.0, 12.0, 0.5, 0.3, 1, 0, {0.6, 0.0, 0.4}},
    {45.0, 0.0, 4.0, 8.0, 40.0, 0.3, 0.0, 0, 0, {0.7, 0.3, 0.0}},
};

int cscalp_sim_market_config_init(cscalp_sim_market_config *cfg)
{
    if (cfg == NULL)
        return CSCALP_EINVAL;
    if (cfg->size < sizeof *cfg)
        return CSCALP_ESTRUCT;
    const uint32_t size = cfg->size;
    memset(cfg, 0, sizeof *cfg);
    cfg->size = size;
    cfg->regime_count = 3;
    cfg->seed = 1;
    cfg->start_time_ns = INT64_C(1700000000000000000);
    cfg->start_price = 100.0;
    cfg->tick_size = 0.01;
    cfg->lot_size_contracts = 0.001;
    cfg->quotes_per_s = 20.0;
    cfg->books_per_s = 10.0;
    cfg->book_levels = 10;
    cfg->book_level_spacing_ticks = 1;
    cfg->quote_size_mean_contracts = 5.0;
    cfg->trade_size_mean_contracts = 0.5;
    cfg->size_log_sd = 0.8;
    cfg->depth_size_growth_per_level = 0.3;
    cfg->start_regime = 0;
    for (int r = 0; r < CSCALP_SIM_MAX_REGIMES; r++) {
        cfg->regimes[r] = default_regimes[r < 3 ? r : 1];
        if (r >= 3)
            memset(cfg->regimes[r].next_regime_weight, 0,
                   sizeof cfg->regimes[r].next_regime_weight);
    }
    return CSCALP_OK;
}

typedef struct checker {
    char *why;
    size_t cap;
    int rc;
} checker;


static void failf(checker *c, const char *field, const char *rule, double got)
{
    if (c->rc != CSCALP_OK)
        return;
    char value[32];
    cscalp_format_shortest(value, sizeof value, got);
    c->rc = CSCALP_ECONFIG_RANGE;
    snprintf(c->why, c->cap, "%s: must be %s, got %s", field, rule, value);
}

/* lo <= v <= hi (or lo < v with lo_open, v < hi with hi_open), finite. */
static void range(checker *c, const char *field, double v, double lo, int lo_open, double hi,
                  int hi_open)
{
    if (isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi))
        return;
    char rule[96];
    snprintf(rule, sizeof rule, "in %c%.15g, %.15g%c", lo_open ? '(' : '[', lo, hi,
             hi_open ? ')' : ']');
    failf(c, field, rule, v);
}

static void regime_field(checker *c, uint32_t r, const char *name, double v, double lo,
                         int lo_open, double hi, int hi_open)
{
    char field[64];
    snprintf(field, sizeof field, "regimes[%u].%s", r, name);
    range(c, field, v, lo, lo_open, hi, hi_open);
}

static void check_regime(checker *c, const cscalp_sim_market_config *cfg, uint32_t r)
{
    const cscalp_sim_regime *g = &cfg->regimes[r];
    char field[64];
    regime_field(c, r, "mean_duration_s", g->mean_duration_s, 1e-3, 0, 1e7, 0);
    regime_field(c, r, "drift_bps_per_s", g->drift_bps_per_s, -1000.0, 0, 1000.0, 0);
    regime_field(c, r, "vol_bps_per_sqrt_s", g->vol_bps_per_sqrt_s, 0.0, 0, 1000.0, 0);
    regime_field(c, r, "spread_bps", g->spread_bps, 0.0, 1, 1000.0, 0);
    regime_field(c, r, "trades_per_s", g->trades_per_s, 0.0, 0, 1e6, 0);
    regime_field(c, r, "flow_autocorrelation", g->flow_autocorrelation, 0.0, 0, 1.0, 1);
    regime_field(c, r, "flow_drift_bias", g->flow_drift_bias, 0.0, 0, 1.0, 0);
    if (g->drift_sign_random > 1) {
        snprintf(field, sizeof field, "regimes[%u].drift_sign_random", r);
        failf(c, field, "0 or 1", (double)g->drift_sign_random);
    }
    if (g->reserved != 0) {
        snprintf(field, sizeof field, "regimes[%u].reserved", r);
        failf(c, field, "0", (double)g->reserved);
    }
    double sum = 0.0;
    for (uint32_t j = 0; j < cfg->regime_count; j++) {
        const double w = g->next_regime_weight[j];
        snprintf(field, sizeof field, "regimes[%u].next_regime_weight[%u]", r, j);
        if (j == r) {
            if (w != 0.0)
                failf(c, field, "0 (a regime does not switch to itself)", w);
        } else {
            if (!(isfinite(w) && w >= 0.0))
                failf(c, field, "finite and >= 0", w);
            sum += w;
        }
    }
    if (c->rc == CSCALP_OK && cfg->regime_count > 1 && !(sum > 0.0 && isfinite(sum))) {
        snprintf(field, sizeof field, "regimes[%u].next_regime_weight", r);
        failf(c, field, "finite with a positive sum over the other regimes", sum);
    }
}

static int check_config(const cscalp_sim_market_config *cfg, char *why, size_t cap)
{
    checker c = {why, cap, CSCALP_OK};
    if (cfg->regime_count < 1 || cfg->regime_count > CSCALP_SIM_MAX_REGIMES) {
        failf(&c, "regime_count", "in 1..CSCALP_SIM_MAX_REGIMES (8)", (double)cfg->regime_count);
        return c.rc;
    }
    if (cfg->start_time_ns < 0 || cfg->start_time_ns > START_TIME_MAX_NS)
        failf(&c, "start_time_ns", "in [0, 2^62]", (double)cfg->start_time_ns);
    range(&c, "tick_size", cfg->tick_size, 1e-12, 0, 1e6, 0);
    if (c.rc == CSCALP_OK && !(cfg->start_price / cfg->tick_size >= 100.0 &&
                               cfg->start_price / cfg->tick_size <= 1e12)) {
        char rule[96];
        char tick[32];
        cscalp_format_shortest(tick, sizeof tick, cfg->tick_size);
        snprintf(rule, sizeof rule, "between 100 and 1e12 ticks of tick_size %s", tick);
        failf(&c, "start_price", rule, cfg->start_price);
    }
    range(&c, "lot_size_contracts", cfg->lot_size_contracts, 1e-12, 0, 1e9, 0);
    range(&c, "quotes_per_s", cfg->quotes_per_s, 1e-6, 0, 1e6, 0);
    range(&c, "books_per_s", cfg->books_per_s, 0.0, 0, 1e6, 0);
    if (cfg->book_levels > CSCALP_BOOK_MAX_LEVELS)
        failf(&c, "book_levels", "in 0..CSCALP_BOOK_MAX_LEVELS (50)", (double)cfg->book_levels);
    if (cfg->book_level_spacing_ticks < 1 || cfg->book_level_spacing_ticks > 1000)
        failf(&c, "book_level_spacing_ticks", "in 1..1000",
              (double)cfg->book_level_spacing_ticks);
    if (c.rc == CSCALP_OK) {
        range(&c, "quote_size_mean_contracts", cfg->quote_size_mean_contracts,
              cfg->lot_size_contracts, 0, 1e12, 0);
        range(&c, "trade_size_mean_contracts", cfg->trade_size_mean_contracts,
              cfg->lot_size_contracts, 0, 1e12, 0);
    }
    range(&c, "size_log_sd", cfg->size_log_sd, 0.0, 0, 3.0, 0);
    range(&c, "depth_size_growth_per_level", cfg->depth_size_growth_per_level, 0.0, 0, 100.0,
          0);
    if (cfg->start_regime >= cfg->regime_count)
        failf(&c, "start_regime", "below regime_count", (double)cfg->start_regime);
    if (cfg->reserved != 0)
        failf(&c, "reserved", "0", (double)cfg->reserved);
    for (uint32_t r = 0; r < cfg->regime_count && c.rc == CSCALP_OK; r++)
        check_regime(&c, cfg, r);
    return c.rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int open_failed(char *errbuf, size_t cap, int rc, const char *what)
{
    if (errbuf != NULL && cap > 0 && what != errbuf)
        snprintf(errbuf, cap, "%s", what);
    return rc;
}

int cscalp_sim_market_open(cscalp_sim_market **out, const cscalp_sim_market_config *cfg,
                           const cscalp_allocator *allocator, char *errbuf, size_t errbuf_cap)
{
    char why[192];
    if (errbuf != NULL && errbuf_cap > 0)
        errbuf[0] = '\0';
    if (out == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "out: NULL pointer");
    *out = NULL;
    if (cfg == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "cfg: NULL pointer");
    if (cfg->size != sizeof *cfg) {
        snprintf(why, sizeof why,
                 "size: %u is not sizeof(cscalp_sim_market_config), %u in this library",
                 (unsigned)cfg->size, (unsigned)sizeof *cfg);
        return open_failed(errbuf, errbuf_cap, CSCALP_ESTRUCT, why);
    }
    cscalp_allocator mem;
    if (cscalp_mem_init(&mem, allocator) != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL,
                           "allocator: alloc and free must both be set");
    int rc = check_config(cfg, why, sizeof why);
    if (rc != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, rc, why);

    cscalp_sim_market *m = cscalp_mem_calloc(&mem, 1, sizeof *m);
    if (m == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_ENOMEM, "market: out of memory");
    m->mem = mem;
    m->cfg = *cfg;
    const double book_rate = cfg->book_levels > 0 ? cfg->books_per_s : 0.0;
    for (uint32_t r = 0; r < cfg->regime_count; r++) {
        const cscalp_sim_regime *g = &cfg->regimes[r];
        regime_state *s = &m->rs[r];
        s->vol_log_per_sqrt_s = g->vol_bps_per_sqrt_s * 1e-4;
        s->spread_fraction = g->spread_bps * 1e-4;
        s->rate_per_s = g->trades_per_s + cfg->quotes_per_s + book_rate;
        s->p_trade = g->trades_per_s / s->rate_per_s;
        s->p_trade_quote = book_rate > 0.0 ? (g->trades_per_s + cfg->quotes_per_s) / s->rate_per_s
                                            : 1.0;
        for (uint32_t j = 0; j < cfg->regime_count; j++)
            s->weight_sum += g->next_regime_weight[j];
    }
    m->lo_x = cscalp_pm_log(MID_MIN_TICKS * cfg->tick_size);
    m->hi_x = cscalp_pm_log(MID_MAX_TICKS * cfg->tick_size);
    m->x = cscalp_pm_log(cfg->start_price);
    m->now_ns = cfg->start_time_ns;
    cscalp_rng_seed(&m->rng, cfg->seed);
    enter_regime(m, cfg->start_regime);
    *out = m;
    return CSCALP_OK;
}

void cscalp_sim_market_close(cscalp_sim_market *market)
{
    if (market != NULL) {
        const cscalp_allocator mem = market->mem;
        cscalp_mem_free(&mem, market);
    }
}

uint32_t cscalp_sim_market_regime_count(const cscalp_sim_market *market)
{
    return market != NULL ? market->cfg.regime_count : 0;
}

/* Advance to the next event time (through any regime switches before it)
 * and pick its kind. */
static int advance(cscalp_sim_market *m, int32_t *kind)
{
    for (;;) {
        const regime_state *s = &m->rs[m->regime];
        const int64_t wait = to_ns(exponential(m) / s->rate_per_s);
        if (wait > INT64_MAX - m->now_ns)
            return CSCALP_ETIME;
        const int64_t at = m->now_ns + wait;
        if (m->switch_ns != NEVER_NS && at >= m->switch_ns) {
            diffuse(m, m->switch_ns - m->now_ns);
            m->now_ns = m->switch_ns;
            enter_regime(m, next_regime(m, m->regime));
            continue;
        }
        diffuse(m, wait);
        m->now_ns = at;
        const double u = uniform(m);
        *kind = u < s->p_trade ? CSCALP_KIND_TRADE
                : u < s->p_trade_quote ? CSCALP_KIND_QUOTE
                                       : CSCALP_KIND_BOOK;
        return CSCALP_OK;
    }
}

int cscalp_sim_market_next(cscalp_sim_market *market, cscalp_sim_market_event *event)
{
    cscalp_sim_market *m = market;
    if (m == NULL || event == NULL)
        return CSCALP_EINVAL;
    if (event->size < sizeof *event)
        return CSCALP_ESTRUCT;
    if (m->exhausted)
        return CSCALP_ETIME;
    int32_t kind = CSCALP_KIND_QUOTE;
    if (m->started) {
        if (advance(m, &kind) != CSCALP_OK) {
            m->exhausted = 1;
            return CSCALP_ETIME;
        }
    }
    m->started = 1;
    const double mid = cscalp_pm_exp(m->x);
    switch (kind) {
    case CSCALP_KIND_TRADE:
        make_trade(m, &event->trade);
        break;
    case CSCALP_KIND_QUOTE:
        refresh_touch(m, mid);
        make_quote(m, &event->quote);
        break;
    default:
        make_book(m, &event->book);
        break;
    }
    event->kind = kind;
    event->ts_ns = m->now_ns;
    event->index = m->index++;
    event->regime = (int32_t)m->regime;
    event->reserved = 0;
    event->mid = mid;
    event->drift_bps_per_s = m->drift_bps_per_s;
    return CSCALP_OK;
}
