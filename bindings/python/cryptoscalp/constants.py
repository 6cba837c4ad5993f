"""Names of the C header's pinned enum values and flag bits.

The bindings report enums as lower-case names (``"warning"``,
``"feed_stale"``); the integer values are those of ``cryptoscalp.h``
(``tests/python/test_api.py`` checks every table against the header).
"""
from __future__ import annotations

import operator
from typing import Dict, List, Tuple

SEVERITIES = {0: "info", 1: "warning", 2: "error", 3: "critical"}
COMPONENTS = {0: "engine", 1: "feed", 2: "features", 3: "model", 4: "learner", 5: "regime",
              6: "policy", 7: "risk", 8: "supervisor", 9: "persist"}
EVENTS = {1: "input_rejected", 2: "config_changed", 3: "config_rejected",
          4: "time_regression", 5: "model_output_invalid", 6: "model_promoted",
          7: "learner_rollback", 8: "fallback_engaged", 9: "fallback_released",
          10: "drift_detected", 11: "samples_dropped", 12: "checkpoint_saved",
          13: "checkpoint_failed", 14: "regime_changed", 15: "intent_refused",
          16: "order_update_refused", 17: "order_rejected", 18: "kill_switch",
          19: "autonomy_changed", 20: "position_resync", 21: "intents_dropped",
          22: "funding_settled", 23: "loss_cooldown", 24: "feed_stale", 25: "feed_resumed",
          26: "data_quarantined", 27: "level_confirmed", 28: "breaker_opened",
          29: "breaker_half_open", 30: "breaker_closed", 31: "learner_stalled",
          32: "learner_restarted", 33: "learner_shedding", 34: "learner_caught_up",
          35: "weights_restored", 36: "learning_rate_changed"}
ACTIONS = {0: "none", 1: "rejected", 2: "applied", 3: "clamped", 4: "rolled_back",
           5: "switched", 6: "dropped", 7: "halted", 8: "degraded", 9: "suspended",
           10: "resumed", 11: "restarted", 12: "shed", 13: "retrying"}
STATUSES = {0: "ok", 1: "degraded", 2: "failed"}
REJECT_REASONS = {0: "nonfinite", 1: "price", 2: "size", 3: "side", 4: "crossed",
                  5: "levels", 6: "time", 7: "field", 8: "outlier"}
PLAYBOOK_ROWS = {0: "nonfinite_learning", 1: "fallback", 2: "rollback_storm",
                 3: "stale_feed", 4: "quarantine", 5: "reject_breaker",
                 6: "learner_stalled", 7: "learner_behind", 8: "risk", 9: "checkpoint"}
KINDS = {0: "trade", 1: "quote", 2: "book", 3: "funding"}
AUTONOMY = {0: "manual", 1: "assisted", 2: "autonomous", 3: "evolving"}
INTENT_KINDS = {1: "new", 2: "cancel"}
INTENT_REASONS = {1: "entry", 2: "exit", 3: "reprice", 4: "ttl", 5: "stale",
                  6: "kill_switch", 7: "autonomy", 8: "supervisor"}
ORDER_TYPES = {0: "limit", 1: "post_only", 2: "market"}
TIME_IN_FORCE = {0: "gtc", 1: "ioc", 2: "gtx"}
UPDATE_TYPES = {1: "ack", 2: "rejected", 3: "fill", 4: "cancelled", 5: "expired"}
LIQUIDITY = {0: "unknown", 1: "maker", 2: "taker"}
ORDER_STATUSES = {0: "pending_new", 1: "open", 2: "partial", 3: "pending_cancel"}
SIDES = {1: "buy", -1: "sell"}

#: Bits of ``Signal.reasons``.
SIGNAL_REASONS = {1 << 0: "no_quote", 1 << 1: "warmup", 1 << 2: "untrained",
                  1 << 3: "fallback"}
#: Bits of ``Intent.flags``.
INTENT_FLAGS = {1 << 0: "reduce_only", 1 << 1: "needs_confirmation"}
#: Bits of ``HealthReport.supervisor_flags``.
SUPERVISOR_FLAGS = {1 << 0: "feed_stale", 1 << 1: "feed_recovering", 1 << 2: "quarantine",
                    1 << 3: "breaker_open", 1 << 4: "breaker_half_open",
                    1 << 5: "autonomy_lowered", 1 << 6: "fallback_serving",
                    1 << 7: "lr_lowered", 1 << 8: "learner_shedding",
                    1 << 9: "learner_down", 1 << 10: "checkpoint_retry"}

FEATURE_BLAS = 1
FEATURE_CUDA = 2
FEATURE_THREADS = 3


def name_of(table: Dict[int, str], value: int) -> str:
    """The name of `value`, or ``"unknown(N)"`` for a value this version of
    the bindings does not know (a newer library may add values)."""
    return table.get(int(value), f"unknown({int(value)})")


def bits_of(table: Dict[int, str], mask: int) -> Tuple[str, ...]:
    """Names of the bits set in `mask`, lowest first."""
    return tuple(name for bit, name in sorted(table.items()) if mask & bit)


def value_of(table: Dict[int, str], name: object, what: str) -> int:
    """The integer for a name (or an int passed through); ValueError naming
    `what` when unknown."""
    if isinstance(name, bool):
        raise ValueError(f"{what}: expected a name or an int, got {name!r}")
    if isinstance(name, str):
        for v, n in table.items():
            if n == name.lower():
                return v
    else:
        try:
            return operator.index(name)  # int, numpy integer
        except TypeError:
            pass
    raise ValueError(f"{what}: unknown value {name!r}; one of {sorted(table.values())}")


__all__: List[str] = [n for n in dir() if n.isupper()] + ["name_of", "bits_of", "value_of"]
