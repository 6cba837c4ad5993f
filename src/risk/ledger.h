/* The position and PnL ledger (docs/risk.md, "Positions and PnL"): one
 * linear, USDT-margined perpetual (Binance USDⓈ-M style) in one-way mode,
 * kept from the host's fills, which are authoritative.
 *
 * Units: sizes and positions in contracts (base units), prices in quote per
 * contract, every amount of money in quote currency (USDT).
 * Signs: position > 0 long, < 0 short. Fees and funding are costs: positive
 * = paid by us, negative = received (a maker rebate, funding received).
 * Realised PnL is before fees and funding.
 *
 * Average-cost accounting, fill q = side · size at price p on position P
 * with average entry E:
 *   P = 0 or same sign   increase:  E ← (|P|·E + size·p) / (|P| + size)
 *   opposite, size < |P| reduce:    realised += (p − E) · size · sign(P)
 *   opposite, size = |P| close:     realised += (p − E) · |P| · sign(P); E ← 0
 *   opposite, size > |P| flip:      the close above, then a new position of
 *                                   size − |P| on the fill's side at E = p
 * funding:  payment = P · mark · rate (longs pay when rate > 0)
 * unrealised(mark) = P · (mark − E);  notional(mark) = |P| · mark
 * equity = wallet_start + realised − fees − funding + unrealised(mark)
 *
 * Nothing is rounded to a venue's tick, lot or cent: values are doubles and
 * the host's own records are the reference (tests compare to the cent).
 * One tolerance is built in: a reducing fill within CSCALP_LEDGER_CLOSE_REL
 * of the position closes it exactly (position 0, entry 0), so positions
 * built from sizes like 0.1 + 0.2 and closed by 0.3 end flat instead of
 * leaving 5.5e-17 contracts; the dropped sliver is far below any lot.
 * Money totals are compensated sums (a normalised double-double, Neumaier's
 * two-sum), so 10⁶ fills add no visible drift.
 *
 * The ledger is a plain struct (no allocation); every call is O(1) and
 * deterministic. A call that returns an error changes nothing, not even a
 * counter: the caller counts refusals. Pointers must not be NULL (the
 * out-parameters noted as such may be). Not thread-safe: one owner. */
#ifndef CSCALP_RISK_LEDGER_H
#define CSCALP_RISK_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

/* Relative size difference below which a reducing fill closes the whole
 * position. Double rounding of a position summed from N fills is about
 * N·2⁻⁵³ relative; a real lot difference is at least 1 lot in 10⁹ for any
 * position under 10⁹ lots, so 1e-9 separates the two. */
#define CSCALP_LEDGER_CLOSE_REL 1e-9

/* A compensated total: the value is hi; lo holds what hi could not (the
 * pair is kept normalised, so hi + lo rounds to hi). */
typedef struct cscalp_ledger_sum {
    double hi, lo;
} cscalp_ledger_sum;

typedef struct cscalp_ledger {
    double position;            /* contracts, signed; exactly 0 when flat */
    double entry_price;         /* average entry, quote/contract; 0 when flat */
    cscalp_ledger_sum realised; /* quote, before fees and funding */
    cscalp_ledger_sum fees;     /* quote, > 0 paid, < 0 rebates */
    cscalp_ledger_sum funding;  /* quote, > 0 paid, < 0 received */
    cscalp_ledger_sum turnover; /* quote, Σ price · size of the fills */
    uint64_t fills;             /* fills applied */
    uint64_t flips;             /* fills that went through zero to the other side */
    uint64_t fundings;          /* funding payments applied (flat ones too) */
    uint64_t resyncs;           /* set_position calls */
} cscalp_ledger;

/* What one fill did. realised is this fill's PnL (before its fee); closed
 * and opened are contracts (closed + opened = size, except that a close
 * within CSCALP_LEDGER_CLOSE_REL opens nothing). */
typedef struct cscalp_ledger_fill {
    double realised;
    double closed;
    double opened;
} cscalp_ledger_fill;

/* Flat, every total and counter 0. */
void cscalp_ledger_init(cscalp_ledger *l);

/* Fee of a fill of `size` contracts at `price` at a rate in basis points of
 * notional: price · size · rate_bps / 10⁴ (quote). A negative rate (maker
 * rebate) gives a negative fee. Not rounded. Non-finite inputs give a
 * non-finite result, which apply_fill refuses. */
double cscalp_ledger_fee(double price, double size, double rate_bps);

/* Books a fill of ours: side CSCALP_SIDE_BUY (+1) or CSCALP_SIDE_SELL (−1),
 * size > 0 contracts at price > 0, and its fee (quote, as charged by the
 * venue; negative for a rebate). `out` (may be NULL) tells what it did.
 * Errors, checked in this order: CSCALP_ESIDE (side not ±1),
 * CSCALP_ENONFINITE (price, size or fee not finite), CSCALP_EPRICE
 * (price <= 0), CSCALP_ESIZE (size <= 0), CSCALP_ENONFINITE (a result, an
 * entry price or a total, would overflow). */
int cscalp_ledger_apply_fill(cscalp_ledger *l, int side, double price, double size, double fee,
                             cscalp_ledger_fill *out);

/* Books a funding settlement at `rate` (per interval, e.g. 0.0001 = 0.01 %)
 * and the mark price: payment = position · mark · rate, added to the
 * funding total (> 0 paid: longs pay and shorts receive when rate > 0).
 * A flat position pays 0 but the settlement is counted. `payment` (may be
 * NULL) gets it. Errors: CSCALP_ENONFINITE (rate, mark or the result),
 * CSCALP_EPRICE (mark <= 0). */
int cscalp_ledger_apply_funding(cscalp_ledger *l, double rate, double mark_price, double *payment);

/* Replaces the position and entry with the venue's (the host resyncs after
 * a reconnect or a missed fill). Totals stay: the ledger does not invent
 * the PnL of fills it never saw. `difference` (may be NULL) gets
 * new − old position (contracts). With position 0 the entry is ignored and
 * stored as 0. Errors: CSCALP_ENONFINITE (position or entry, or the
 * difference would overflow), CSCALP_EPRICE (position != 0 and
 * entry <= 0). */
int cscalp_ledger_set_position(cscalp_ledger *l, double position, double entry_price,
                               double *difference);

double cscalp_ledger_position(const cscalp_ledger *l);
double cscalp_ledger_entry_price(const cscalp_ledger *l);
double cscalp_ledger_realised(const cscalp_ledger *l);
double cscalp_ledger_fees(const cscalp_ledger *l);
double cscalp_ledger_funding(const cscalp_ledger *l);
double cscalp_ledger_turnover(const cscalp_ledger *l);
/* position · (mark − entry), quote; 0 when flat. */
double cscalp_ledger_unrealised(const cscalp_ledger *l, double mark_price);
/* |position| · mark, quote; 0 when flat. */
double cscalp_ledger_notional(const cscalp_ledger *l, double mark_price);
/* wallet_start + realised − fees − funding + unrealised(mark), quote:
 * what the wallet plus the open position is worth at `mark`. */
double cscalp_ledger_equity(const cscalp_ledger *l, double wallet_start, double mark_price);

/* CSCALP_OK when l is a state the ledger can be in: every value finite,
 * position 0 exactly when entry is 0 (and neither −0), entry > 0 otherwise,
 * every total normalised, turnover >= 0, flips <= fills, and realised,
 * fees and turnover 0 while there has been no fill. Otherwise
 * CSCALP_ECORRUPT with the first violation in `why`. */
int cscalp_ledger_check(const cscalp_ledger *l, char *why, size_t cap);

/* Checkpoints: every field (112 bytes: 10 f64, 4 u64, little-endian).
 * Load reads into a copy and checks it (cscalp_ledger_check) before it
 * changes anything: CSCALP_ECORRUPT with `why` ("ledger: ...") when
 * truncated or a value is not a state the ledger can be in; l unchanged
 * then. */
void cscalp_ledger_save(const cscalp_ledger *l, cscalp_wbuf *w);
int cscalp_ledger_load(cscalp_ledger *l, cscalp_rbuf *r, char *why, size_t cap);

#endif
