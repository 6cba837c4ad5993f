/* Policy stage (docs/policy.md): from the model's signal to what the
 * engine wants in the market — the edge after costs, the target position
 * and, given the position and the orders already working, the one order
 * to send or cancel next. Pure: the caller passes every input (the
 * signal, the touch, the volatility, the position, equity, the regime's
 * blended parameters, the working orders) and gets a decision; nothing is
 * kept between calls. No allocation; O(brackets × 60) at most, for the
 * liquidation cap's bisection.
 *
 * The decision is a wish, not an order: the engine runs it through the
 * pre-trade controls (src/risk/limits.h) and the autonomy level before
 * anything reaches the host. */
#ifndef CSCALP_POLICY_POLICY_H
#define CSCALP_POLICY_POLICY_H

#include <stdint.h>

#include "regime/regime.h"
#include "risk/liquidation.h"

typedef struct cscalp_policy_params {
    double taker_fee_bps;      /* per side, of notional */
    double maker_fee_bps;      /* per side; negative = rebate */
    double vol_target_bps;     /* PnL σ over the horizon the position may carry, bps of equity */
    double max_position_contracts;
    double liquidation_sigmas; /* k: the liquidation price at least k σ(horizon) away */
    double tick_size;          /* price grid, > 0 */
    double lot_size;           /* size grid, > 0 */
    int64_t order_ttl_ns;      /* a working order older than this is cancelled */
    double reprice_ticks;      /* …and one this many ticks behind the touch */
} cscalp_policy_params;

/* What an order is for (docs/policy.md). */
typedef enum cscalp_policy_reason {
    CSCALP_POLICY_NONE = 0,
    CSCALP_POLICY_ENTRY = 1,   /* towards a larger target */
    CSCALP_POLICY_EXIT = 2,    /* towards a smaller one (reduce-only) */
    CSCALP_POLICY_REPRICE = 3, /* cancel: the touch moved away */
    CSCALP_POLICY_TTL = 4,     /* cancel: too old */
    CSCALP_POLICY_STALE = 5    /* cancel: on the wrong side of what is wanted now */
} cscalp_policy_reason;

typedef enum cscalp_policy_action {
    CSCALP_POLICY_HOLD = 0,
    CSCALP_POLICY_NEW = 1,
    CSCALP_POLICY_CANCEL = 2
} cscalp_policy_action;

typedef enum cscalp_policy_order_type {
    CSCALP_POLICY_POST_ONLY = 0, /* limit at the touch, maker or nothing */
    CSCALP_POLICY_MARKET = 1     /* crosses the spread: only when the edge pays the taker fee */
} cscalp_policy_order_type;

/* A working order as the policy sees it. */
typedef struct cscalp_policy_working {
    uint64_t id;
    int side;              /* +1 buy, −1 sell */
    double price;          /* 0: market */
    double remaining;      /* contracts still to fill */
    int64_t created_ns;
    int cancelling;        /* a cancel was sent: not cancelled again, still counted */
} cscalp_policy_working;

typedef struct cscalp_policy_input {
    double expected_move_bps;  /* signed, over the horizon (the signal's) */
    double confidence;         /* [0, 1] (the signal's) */
    double bid, ask;           /* touch; bid < ask */
    double sigma_bps;          /* volatility over the horizon, bps, > 0 */
    double position;           /* signed contracts */
    double equity;             /* quote currency */
    cscalp_regime_policy regime;       /* blended size factor, entry band, max leverage */
    const cscalp_liq_table *brackets;  /* NULL: no liquidation cap */
    const cscalp_policy_working *working;
    uint32_t working_count;
    int64_t now_ns;
} cscalp_policy_input;

typedef struct cscalp_policy_decision {
    /* The reasoning, always filled (explainable decisions). */
    double edge_maker_bps;  /* |move| − maker − taker fee */
    double edge_taker_bps;  /* |move| − spread − 2 × taker fee */
    int direction;          /* sign of the expected move; 0 when no edge clears the band */
    double target_raw;      /* vol-targeted size × confidence × regime factor, before caps */
    double target;          /* after the caps, on the lot grid, signed */
    int cap;                /* which cap bound it: 0 none, 1 position, 2 leverage, 3 liquidation */
    /* What to do now. */
    int action;             /* cscalp_policy_action */
    int reason;             /* cscalp_policy_reason */
    uint64_t cancel_id;     /* CANCEL */
    int side;               /* NEW */
    int type;               /* NEW: cscalp_policy_order_type */
    double price;           /* NEW: on the tick grid; 0 for MARKET */
    double size;            /* NEW: on the lot grid, > 0 */
    int reduce_only;        /* NEW */
} cscalp_policy_decision;

/* CSCALP_OK, or CSCALP_ECONFIG_RANGE with `why` naming the parameter. */
int cscalp_policy_params_check(const cscalp_policy_params *p, char *why, size_t cap);

/* Decide. CSCALP_OK (out filled), or CSCALP_EINVAL when an input is not
 * finite or out of range (no touch, σ ≤ 0): then out says HOLD. */
int cscalp_policy_decide(const cscalp_policy_params *p, const cscalp_policy_input *in,
                         cscalp_policy_decision *out);

#endif
