/* pinned_constants: the public enum values and array-bound macros are part of
 * the ABI (hosts store them in the int32_t fields of the structs and size
 * arrays with them) but abidiff cannot see them: the exported functions take
 * plain ints, so no enum type is reachable in the ABI dump. This table,
 * written out by hand, fails on any renumbering. A value appended to an enum
 * is appended here too. The error codes have their own test (error_codes).
 *
 * The second table pins the size and member offsets of every public struct
 * as the x86-64/AArch64 (LP64) ABI lays them out, so a layout change is
 * caught in builds where abidiff is skipped (no debug info, no abigail-tools).
 * Size-prefixed output structs may grow at the end: then their size here
 * changes too, on purpose, with the ABI baseline and a CHANGELOG line. */
#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"

#include <stddef.h>
#include <stdio.h>

#define PIN(name, value) {#name, (long long)(name), value}
static const struct {
    const char *name;
    long long actual, pinned;
} constants[] = {
    PIN(CSCALP_FEATURE_BLAS, 1),
    PIN(CSCALP_FEATURE_CUDA, 2),
    PIN(CSCALP_FEATURE_THREADS, 3),
    PIN(CSCALP_SIDE_BUY, 1),
    PIN(CSCALP_SIDE_SELL, -1),
    PIN(CSCALP_BOOK_MAX_LEVELS, 50),
    PIN(CSCALP_BATCH_SKIP_INVALID, 1),
    PIN(CSCALP_SEVERITY_INFO, 0),
    PIN(CSCALP_SEVERITY_WARNING, 1),
    PIN(CSCALP_SEVERITY_ERROR, 2),
    PIN(CSCALP_SEVERITY_CRITICAL, 3),
    PIN(CSCALP_COMPONENT_ENGINE, 0),
    PIN(CSCALP_COMPONENT_FEED, 1),
    PIN(CSCALP_COMPONENT_FEATURES, 2),
    PIN(CSCALP_COMPONENT_MODEL, 3),
    PIN(CSCALP_COMPONENT_LEARNER, 4),
    PIN(CSCALP_COMPONENT_REGIME, 5),
    PIN(CSCALP_COMPONENT_POLICY, 6),
    PIN(CSCALP_COMPONENT_RISK, 7),
    PIN(CSCALP_COMPONENT_SUPERVISOR, 8),
    PIN(CSCALP_COMPONENT_PERSIST, 9),
    PIN(CSCALP_COMPONENT_SLOTS, 16),
    PIN(CSCALP_EVENT_INPUT_REJECTED, 1),
    PIN(CSCALP_EVENT_CONFIG_CHANGED, 2),
    PIN(CSCALP_EVENT_CONFIG_REJECTED, 3),
    PIN(CSCALP_EVENT_TIME_REGRESSION, 4),
    PIN(CSCALP_EVENT_MODEL_OUTPUT_INVALID, 5),
    PIN(CSCALP_EVENT_MODEL_PROMOTED, 6),
    PIN(CSCALP_EVENT_LEARNER_ROLLBACK, 7),
    PIN(CSCALP_EVENT_FALLBACK_ENGAGED, 8),
    PIN(CSCALP_EVENT_FALLBACK_RELEASED, 9),
    PIN(CSCALP_EVENT_DRIFT_DETECTED, 10),
    PIN(CSCALP_EVENT_SAMPLES_DROPPED, 11),
    PIN(CSCALP_EVENT_CHECKPOINT_SAVED, 12),
    PIN(CSCALP_EVENT_CHECKPOINT_FAILED, 13),
    PIN(CSCALP_EVENT_REGIME_CHANGED, 14),
    PIN(CSCALP_EVENT_INTENT_REFUSED, 15),
    PIN(CSCALP_EVENT_ORDER_UPDATE_REFUSED, 16),
    PIN(CSCALP_EVENT_ORDER_REJECTED, 17),
    PIN(CSCALP_EVENT_KILL_SWITCH, 18),
    PIN(CSCALP_EVENT_AUTONOMY_CHANGED, 19),
    PIN(CSCALP_EVENT_POSITION_RESYNC, 20),
    PIN(CSCALP_EVENT_INTENTS_DROPPED, 21),
    PIN(CSCALP_EVENT_FUNDING_SETTLED, 22),
    PIN(CSCALP_EVENT_LOSS_COOLDOWN, 23),
    PIN(CSCALP_ACTION_HALTED, 7),
    PIN(CSCALP_ACTION_DEGRADED, 8),
    PIN(CSCALP_INTENT_NEW, 1),
    PIN(CSCALP_INTENT_CANCEL, 2),
    PIN(CSCALP_ORDER_LIMIT, 0),
    PIN(CSCALP_ORDER_POST_ONLY, 1),
    PIN(CSCALP_ORDER_MARKET, 2),
    PIN(CSCALP_TIF_GTC, 0),
    PIN(CSCALP_TIF_IOC, 1),
    PIN(CSCALP_TIF_GTX, 2),
    PIN(CSCALP_INTENT_ENTRY, 1),
    PIN(CSCALP_INTENT_EXIT, 2),
    PIN(CSCALP_INTENT_REPRICE, 3),
    PIN(CSCALP_INTENT_TTL, 4),
    PIN(CSCALP_INTENT_STALE, 5),
    PIN(CSCALP_INTENT_KILL_SWITCH, 6),
    PIN(CSCALP_INTENT_AUTONOMY, 7),
    PIN(CSCALP_INTENT_REDUCE_ONLY, 1),
    PIN(CSCALP_INTENT_NEEDS_CONFIRMATION, 2),
    PIN(CSCALP_UPDATE_ACK, 1),
    PIN(CSCALP_UPDATE_REJECTED, 2),
    PIN(CSCALP_UPDATE_FILL, 3),
    PIN(CSCALP_UPDATE_CANCELLED, 4),
    PIN(CSCALP_UPDATE_EXPIRED, 5),
    PIN(CSCALP_LIQUIDITY_UNKNOWN, 0),
    PIN(CSCALP_LIQUIDITY_MAKER, 1),
    PIN(CSCALP_LIQUIDITY_TAKER, 2),
    PIN(CSCALP_CLASS_DOWN, 0),
    PIN(CSCALP_CLASS_FLAT, 1),
    PIN(CSCALP_CLASS_UP, 2),
    PIN(CSCALP_AUTONOMY_MANUAL, 0),
    PIN(CSCALP_AUTONOMY_ASSISTED, 1),
    PIN(CSCALP_AUTONOMY_AUTONOMOUS, 2),
    PIN(CSCALP_AUTONOMY_EVOLVING, 3),
    PIN(CSCALP_REASON_NO_QUOTE, 1),
    PIN(CSCALP_REASON_WARMUP, 2),
    PIN(CSCALP_REASON_UNTRAINED, 4),
    PIN(CSCALP_REASON_FALLBACK, 8),
    PIN(CSCALP_ACTION_NONE, 0),
    PIN(CSCALP_ACTION_REJECTED, 1),
    PIN(CSCALP_ACTION_APPLIED, 2),
    PIN(CSCALP_ACTION_CLAMPED, 3),
    PIN(CSCALP_ACTION_ROLLED_BACK, 4),
    PIN(CSCALP_ACTION_SWITCHED, 5),
    PIN(CSCALP_ACTION_DROPPED, 6),
    PIN(CSCALP_STATUS_OK, 0),
    PIN(CSCALP_STATUS_DEGRADED, 1),
    PIN(CSCALP_STATUS_FAILED, 2),
    PIN(CSCALP_REJECT_NONFINITE, 0),
    PIN(CSCALP_REJECT_PRICE, 1),
    PIN(CSCALP_REJECT_SIZE, 2),
    PIN(CSCALP_REJECT_SIDE, 3),
    PIN(CSCALP_REJECT_CROSSED, 4),
    PIN(CSCALP_REJECT_LEVELS, 5),
    PIN(CSCALP_REJECT_TIME, 6),
    PIN(CSCALP_REJECT_FIELD, 7),
    PIN(CSCALP_REJECT_REASON_SLOTS, 16),
    PIN(CSCALP_KIND_TRADE, 0),
    PIN(CSCALP_KIND_QUOTE, 1),
    PIN(CSCALP_KIND_BOOK, 2),
    PIN(CSCALP_KIND_FUNDING, 3),
    PIN(CSCALP_KIND_COUNT, 4),
    PIN(CSCALP_SIM_MAX_REGIMES, 8),
};
#undef PIN

#define SIZE(type, value) {#type, sizeof(type), value}
#define OFF(type, member, value) {#type "." #member, offsetof(type, member), value}
static const struct {
    const char *name;
    size_t actual, pinned;
} layout[] = {
    SIZE(cscalp_allocator, 24),
    OFF(cscalp_allocator, alloc, 0),
    OFF(cscalp_allocator, free, 8),
    OFF(cscalp_allocator, opaque, 16),
    SIZE(cscalp_trade, 40),
    OFF(cscalp_trade, ts_ns, 0),
    OFF(cscalp_trade, price, 8),
    OFF(cscalp_trade, size, 16),
    OFF(cscalp_trade, side, 24),
    OFF(cscalp_trade, flags, 28),
    OFF(cscalp_trade, trade_id, 32),
    SIZE(cscalp_quote, 40),
    OFF(cscalp_quote, ts_ns, 0),
    OFF(cscalp_quote, bid_price, 8),
    OFF(cscalp_quote, bid_size, 16),
    OFF(cscalp_quote, ask_price, 24),
    OFF(cscalp_quote, ask_size, 32),
    SIZE(cscalp_level, 16),
    OFF(cscalp_level, price, 0),
    OFF(cscalp_level, size, 8),
    SIZE(cscalp_book, 1616),
    OFF(cscalp_book, ts_ns, 0),
    OFF(cscalp_book, bid_count, 8),
    OFF(cscalp_book, ask_count, 12),
    OFF(cscalp_book, bids, 16),
    OFF(cscalp_book, asks, 816),
    SIZE(cscalp_funding, 40),
    OFF(cscalp_funding, ts_ns, 0),
    OFF(cscalp_funding, funding_rate, 8),
    OFF(cscalp_funding, mark_price, 16),
    OFF(cscalp_funding, index_price, 24),
    OFF(cscalp_funding, next_funding_ts_ns, 32),
    SIZE(cscalp_health_event, 40),
    OFF(cscalp_health_event, size, 0),
    OFF(cscalp_health_event, severity, 4),
    OFF(cscalp_health_event, component, 8),
    OFF(cscalp_health_event, event, 12),
    OFF(cscalp_health_event, error, 16),
    OFF(cscalp_health_event, action, 20),
    OFF(cscalp_health_event, ts_ns, 24),
    OFF(cscalp_health_event, message, 32),
    SIZE(cscalp_component_health, 32),
    OFF(cscalp_component_health, status, 0),
    OFF(cscalp_component_health, last_event, 4),
    OFF(cscalp_component_health, last_error, 8),
    OFF(cscalp_component_health, last_severity, 12),
    OFF(cscalp_component_health, last_event_ts_ns, 16),
    OFF(cscalp_component_health, events, 24),
    SIZE(cscalp_health_report, 696),
    OFF(cscalp_health_report, size, 0),
    OFF(cscalp_health_report, component_count, 4),
    OFF(cscalp_health_report, clock_ns, 8),
    OFF(cscalp_health_report, components, 16),
    OFF(cscalp_health_report, feed_accepted, 528),
    OFF(cscalp_health_report, feed_rejected, 560),
    OFF(cscalp_health_report, time_clamped, 688),
    SIZE(cscalp_signal, 88),
    OFF(cscalp_signal, size, 0),
    OFF(cscalp_signal, reasons, 4),
    OFF(cscalp_signal, ts_ns, 8),
    OFF(cscalp_signal, probabilities, 16),
    OFF(cscalp_signal, expected_move_bps, 40),
    OFF(cscalp_signal, confidence, 48),
    OFF(cscalp_signal, regime, 56),
    OFF(cscalp_signal, autonomy, 60),
    OFF(cscalp_signal, regime_probability, 64),
    OFF(cscalp_signal, target_position, 72),
    OFF(cscalp_signal, model_version, 80),
    SIZE(cscalp_intent, 96),
    OFF(cscalp_intent, size, 0),
    OFF(cscalp_intent, kind, 4),
    OFF(cscalp_intent, client_id, 8),
    OFF(cscalp_intent, ts_ns, 16),
    OFF(cscalp_intent, side, 24),
    OFF(cscalp_intent, type, 28),
    OFF(cscalp_intent, time_in_force, 32),
    OFF(cscalp_intent, reason, 36),
    OFF(cscalp_intent, price, 40),
    OFF(cscalp_intent, quantity, 48),
    OFF(cscalp_intent, flags, 56),
    OFF(cscalp_intent, regime, 60),
    OFF(cscalp_intent, expected_move_bps, 64),
    OFF(cscalp_intent, edge_bps, 72),
    OFF(cscalp_intent, target_position, 80),
    OFF(cscalp_intent, position, 88),
    SIZE(cscalp_order_update, 72),
    OFF(cscalp_order_update, size, 0),
    OFF(cscalp_order_update, type, 4),
    OFF(cscalp_order_update, client_id, 8),
    OFF(cscalp_order_update, ts_ns, 16),
    OFF(cscalp_order_update, fill_id, 24),
    OFF(cscalp_order_update, fill_price, 32),
    OFF(cscalp_order_update, fill_quantity, 40),
    OFF(cscalp_order_update, fee, 48),
    OFF(cscalp_order_update, liquidity, 56),
    OFF(cscalp_order_update, flags, 60),
    OFF(cscalp_order_update, text, 64),
    SIZE(cscalp_position, 88),
    OFF(cscalp_position, size, 0),
    OFF(cscalp_position, open_orders, 4),
    OFF(cscalp_position, position, 8),
    OFF(cscalp_position, entry_price, 16),
    OFF(cscalp_position, mark_price, 24),
    OFF(cscalp_position, realised_pnl, 32),
    OFF(cscalp_position, unrealised_pnl, 40),
    OFF(cscalp_position, fees, 48),
    OFF(cscalp_position, funding, 56),
    OFF(cscalp_position, equity, 64),
    OFF(cscalp_position, fills, 72),
    OFF(cscalp_position, kill_switch, 80),
    OFF(cscalp_position, autonomy, 84),
    SIZE(cscalp_sim_regime, 128),
    OFF(cscalp_sim_regime, mean_duration_s, 0),
    OFF(cscalp_sim_regime, drift_bps_per_s, 8),
    OFF(cscalp_sim_regime, vol_bps_per_sqrt_s, 16),
    OFF(cscalp_sim_regime, spread_bps, 24),
    OFF(cscalp_sim_regime, trades_per_s, 32),
    OFF(cscalp_sim_regime, flow_autocorrelation, 40),
    OFF(cscalp_sim_regime, flow_drift_bias, 48),
    OFF(cscalp_sim_regime, drift_sign_random, 56),
    OFF(cscalp_sim_regime, reserved, 60),
    OFF(cscalp_sim_regime, next_regime_weight, 64),
    SIZE(cscalp_sim_market_config, 1136),
    OFF(cscalp_sim_market_config, size, 0),
    OFF(cscalp_sim_market_config, regime_count, 4),
    OFF(cscalp_sim_market_config, seed, 8),
    OFF(cscalp_sim_market_config, start_time_ns, 16),
    OFF(cscalp_sim_market_config, start_price, 24),
    OFF(cscalp_sim_market_config, tick_size, 32),
    OFF(cscalp_sim_market_config, lot_size_contracts, 40),
    OFF(cscalp_sim_market_config, quotes_per_s, 48),
    OFF(cscalp_sim_market_config, books_per_s, 56),
    OFF(cscalp_sim_market_config, book_levels, 64),
    OFF(cscalp_sim_market_config, book_level_spacing_ticks, 68),
    OFF(cscalp_sim_market_config, quote_size_mean_contracts, 72),
    OFF(cscalp_sim_market_config, trade_size_mean_contracts, 80),
    OFF(cscalp_sim_market_config, size_log_sd, 88),
    OFF(cscalp_sim_market_config, depth_size_growth_per_level, 96),
    OFF(cscalp_sim_market_config, start_regime, 104),
    OFF(cscalp_sim_market_config, reserved, 108),
    OFF(cscalp_sim_market_config, regimes, 112),
    SIZE(cscalp_sim_market_event, 1744),
    OFF(cscalp_sim_market_event, size, 0),
    OFF(cscalp_sim_market_event, kind, 4),
    OFF(cscalp_sim_market_event, ts_ns, 8),
    OFF(cscalp_sim_market_event, index, 16),
    OFF(cscalp_sim_market_event, regime, 24),
    OFF(cscalp_sim_market_event, reserved, 28),
    OFF(cscalp_sim_market_event, mid, 32),
    OFF(cscalp_sim_market_event, drift_bps_per_s, 40),
    OFF(cscalp_sim_market_event, trade, 48),
    OFF(cscalp_sim_market_event, quote, 88),
    OFF(cscalp_sim_market_event, book, 128),
};
#undef SIZE
#undef OFF

struct int64_alignment {
    char c;
    int64_t v;
};

int main(void)
{
    size_t i;
    int failures = 0;
    for (i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (constants[i].actual != constants[i].pinned) {
            printf("FAIL: %s is %lld, pinned %lld\n", constants[i].name, constants[i].actual,
                   constants[i].pinned);
            failures++;
        }
    if (CSCALP_COMPONENT_COUNT > CSCALP_COMPONENT_SLOTS ||
        CSCALP_REJECT_REASON_COUNT > CSCALP_REJECT_REASON_SLOTS) {
        printf("FAIL: a *_COUNT outgrew its reserved *_SLOTS\n");
        failures++;
    }
    printf("%u pinned constants checked\n", (unsigned)(sizeof constants / sizeof constants[0]));

    if (sizeof(void *) != 8 || offsetof(struct int64_alignment, v) != 8) {
        printf("struct layouts not checked: the table is for LP64 ABIs (x86-64, AArch64)\n");
    } else {
        for (i = 0; i < sizeof layout / sizeof layout[0]; i++)
            if (layout[i].actual != layout[i].pinned) {
                printf("FAIL: %s is %u, pinned %u\n", layout[i].name, (unsigned)layout[i].actual,
                       (unsigned)layout[i].pinned);
                failures++;
            }
        printf("%u struct sizes and offsets checked\n", (unsigned)(sizeof layout / sizeof layout[0]));
    }
    printf("%d failures\n", failures);
    return failures != 0;
}
