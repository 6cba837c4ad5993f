"""The shared library and its C declarations (ctypes).

Every function the bindings call is declared here with ``argtypes`` and
``restype``, and every struct mirrors ``include/cryptoscalp.h`` /
``include/cryptoscalp_sim.h`` field by field (the ABI is frozen for major
version 1; ``tests/python/test_api.py`` compiles a C program that prints
every ``sizeof`` and ``offsetof`` and compares).

The library is looked for, in order:

1. ``$CSCALP_LIBRARY`` — a path to ``libcryptoscalp.so.1`` (or any file name);
2. next to this package: ``cryptoscalp/libcryptoscalp.so.1`` (a wheel built
   with the library bundled, see bindings/python/README.md);
3. the system's search path: ``libcryptoscalp.so.1`` (after ``meson install``
   or with ``LD_LIBRARY_PATH``), then ``ctypes.util.find_library``.

Its major version must be :data:`SUPPORTED_MAJOR`; another one is refused at
import with :class:`LibraryVersionError`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int,
                    c_int32, c_int64, c_size_t, c_uint, c_uint32, c_uint64, c_void_p)
from typing import List, Optional

#: The major version of the C library these bindings speak.
SUPPORTED_MAJOR = 1

BOOK_MAX_LEVELS = 50
KIND_COUNT = 4
COMPONENT_SLOTS = 16
REJECT_REASON_SLOTS = 16
PLAYBOOK_SLOTS = 16
SIM_MAX_REGIMES = 8
SIM_MAX_BRACKETS = 16


class LibraryNotFoundError(ImportError):
    """No libcryptoscalp could be loaded; the message lists where it looked."""


class LibraryVersionError(ImportError):
    """The library found has another major version than these bindings."""


# ----------------------------------------------------------------- structs

class Trade(Structure):
    _fields_ = [("ts_ns", c_int64), ("price", c_double), ("size", c_double),
                ("side", c_int32), ("flags", c_uint32), ("trade_id", c_int64)]


class Quote(Structure):
    _fields_ = [("ts_ns", c_int64), ("bid_price", c_double), ("bid_size", c_double),
                ("ask_price", c_double), ("ask_size", c_double)]


class Level(Structure):
    _fields_ = [("price", c_double), ("size", c_double)]


class Book(Structure):
    _fields_ = [("ts_ns", c_int64), ("bid_count", c_uint32), ("ask_count", c_uint32),
                ("bids", Level * BOOK_MAX_LEVELS), ("asks", Level * BOOK_MAX_LEVELS)]


class Funding(Structure):
    _fields_ = [("ts_ns", c_int64), ("funding_rate", c_double), ("mark_price", c_double),
                ("index_price", c_double), ("next_funding_ts_ns", c_int64)]


class Signal(Structure):
    _fields_ = [("size", c_uint32), ("reasons", c_uint32), ("ts_ns", c_int64),
                ("probabilities", c_double * 3), ("expected_move_bps", c_double),
                ("confidence", c_double), ("regime", c_int32), ("autonomy", c_int32),
                ("regime_probability", c_double), ("target_position", c_double),
                ("model_version", c_uint64)]


class AdaptReport(Structure):
    _fields_ = [("size", c_uint32), ("mode", c_uint32), ("steps", c_uint64),
                ("promotions", c_uint64), ("rollbacks", c_uint64), ("steps_total", c_uint64),
                ("promotions_total", c_uint64), ("rollbacks_total", c_uint64),
                ("samples_matured", c_uint64), ("samples_pending", c_uint64),
                ("replay_size", c_uint64), ("model_version", c_uint64),
                ("serving", c_uint32), ("reserved", c_uint32)]


class Intent(Structure):
    _fields_ = [("size", c_uint32), ("kind", c_int32), ("client_id", c_uint64),
                ("ts_ns", c_int64), ("side", c_int32), ("type", c_int32),
                ("time_in_force", c_int32), ("reason", c_int32), ("price", c_double),
                ("quantity", c_double), ("flags", c_uint32), ("regime", c_int32),
                ("expected_move_bps", c_double), ("edge_bps", c_double),
                ("target_position", c_double), ("position", c_double)]


class OrderUpdate(Structure):
    _fields_ = [("size", c_uint32), ("type", c_int32), ("client_id", c_uint64),
                ("ts_ns", c_int64), ("fill_id", c_uint64), ("fill_price", c_double),
                ("fill_quantity", c_double), ("fee", c_double), ("liquidity", c_int32),
                ("flags", c_uint32), ("text", c_char_p)]


class Position(Structure):
    _fields_ = [("size", c_uint32), ("open_orders", c_uint32), ("position", c_double),
                ("entry_price", c_double), ("mark_price", c_double),
                ("realised_pnl", c_double), ("unrealised_pnl", c_double), ("fees", c_double),
                ("funding", c_double), ("equity", c_double), ("fills", c_uint64),
                ("kill_switch", c_int32), ("autonomy", c_int32)]


class WorkingOrder(Structure):
    _fields_ = [("size", c_uint32), ("side", c_int32), ("client_id", c_uint64),
                ("created_ns", c_int64), ("status", c_int32), ("flags", c_uint32),
                ("price", c_double), ("quantity", c_double), ("filled", c_double),
                ("acked", c_int32), ("type", c_int32)]


class HealthEvent(Structure):
    _fields_ = [("size", c_uint32), ("severity", c_int32), ("component", c_int32),
                ("event", c_int32), ("error", c_int32), ("action", c_int32),
                ("ts_ns", c_int64), ("message", c_char_p)]


class ComponentHealth(Structure):
    _fields_ = [("status", c_int32), ("last_event", c_int32), ("last_error", c_int32),
                ("last_severity", c_int32), ("last_event_ts_ns", c_int64),
                ("events", c_uint64)]


class HealthReport(Structure):
    _fields_ = [("size", c_uint32), ("component_count", c_uint32), ("clock_ns", c_int64),
                ("components", ComponentHealth * COMPONENT_SLOTS),
                ("feed_accepted", c_uint64 * KIND_COUNT),
                ("feed_rejected", c_uint64 * REJECT_REASON_SLOTS),
                ("time_clamped", c_uint64), ("supervisor_flags", c_uint32),
                ("playbook_count", c_uint32), ("playbook_actions", c_uint64 * PLAYBOOK_SLOTS)]


class SimVenueConfig(Structure):
    _fields_ = [("size", c_uint32), ("bracket_count", c_uint32),
                ("maker_fee_bps", c_double), ("taker_fee_bps", c_double),
                ("order_latency_ns", c_int64), ("report_latency_ns", c_int64),
                ("wallet_quote", c_double), ("default_funding_rate", c_double),
                ("funding_interval_ns", c_int64), ("liquidation_fee_rate", c_double),
                ("max_time_regression_ns", c_int64),
                ("bracket_caps_quote", c_double * SIM_MAX_BRACKETS),
                ("bracket_rates", c_double * SIM_MAX_BRACKETS),
                ("bracket_max_leverage", c_double * SIM_MAX_BRACKETS)]


class SimVenueAccount(Structure):
    _fields_ = [("size", c_uint32), ("working_orders", c_uint32), ("position", c_double),
                ("entry_price", c_double), ("wallet", c_double), ("equity", c_double),
                ("mark_price", c_double), ("liquidation_price", c_double),
                ("fills", c_uint64), ("liquidations", c_uint64),
                ("liquidations_reported", c_uint64), ("position_reported", c_double),
                ("entry_reported", c_double)]


HEALTH_FN = CFUNCTYPE(None, POINTER(HealthEvent), c_void_p)

# ----------------------------------------------------------------- loading

_SONAME = f"libcryptoscalp.so.{SUPPORTED_MAJOR}"
if sys.platform == "darwin":  # pragma: no cover - the project builds on Linux
    _SONAME = f"libcryptoscalp.{SUPPORTED_MAJOR}.dylib"


def _candidates() -> List[str]:
    out = []
    env = os.environ.get("CSCALP_LIBRARY")
    if env:
        out.append(env)
    here = os.path.dirname(os.path.abspath(__file__))
    out.append(os.path.join(here, _SONAME))
    out.append(_SONAME)
    found = ctypes.util.find_library("cryptoscalp")
    if found:
        out.append(found)
    return out


def _load() -> ctypes.CDLL:
    tried = []
    env = os.environ.get("CSCALP_LIBRARY")
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{path} (no such file)")
            if env and path == env:
                raise LibraryNotFoundError(
                    f"CSCALP_LIBRARY={env}: no such file (unset it to search the usual places)")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as exc:
            tried.append(f"{path} ({exc})")
            if env and path == env:
                raise LibraryNotFoundError(f"CSCALP_LIBRARY={env}: cannot load: {exc}") from exc
    raise LibraryNotFoundError(
        "libcryptoscalp not found; tried: " + "; ".join(tried) +
        ". Build it (meson setup build && ninja -C build) and set "
        "CSCALP_LIBRARY=build/src/" + _SONAME + ", or install it (meson install -C build).")


def _declare(lib: ctypes.CDLL) -> None:
    # The venue's market-data calls take c_void_p so that a backtest passes
    # rows of numpy arrays (the same layouts) by address, without a copy.
    E = c_void_p  # cscalp_engine *
    V = c_void_p  # cscalp_sim_venue *
    sz = POINTER(c_size_t)
    decl = {
        "cscalp_version": (c_uint, []),
        "cscalp_version_string": (c_char_p, []),
        "cscalp_has_feature": (c_int, [c_int]),
        "cscalp_strerror": (c_char_p, [c_int]),
        "cscalp_error_name": (c_char_p, [c_int]),
        "cscalp_open_ex": (c_int, [POINTER(E), c_char_p, c_void_p, c_char_p, c_size_t]),
        "cscalp_close": (None, [E]),
        "cscalp_last_error": (c_char_p, [E]),
        "cscalp_config_json": (c_int, [E, c_char_p, c_size_t, sz]),
        "cscalp_configure": (c_int, [E, c_char_p]),
        "cscalp_push_trade": (c_int, [E, POINTER(Trade)]),
        "cscalp_push_quote": (c_int, [E, POINTER(Quote)]),
        "cscalp_push_book": (c_int, [E, POINTER(Book)]),
        "cscalp_push_funding": (c_int, [E, POINTER(Funding)]),
        "cscalp_push_trades": (c_int, [E, c_void_p, c_size_t, c_uint, sz]),
        "cscalp_push_quotes": (c_int, [E, c_void_p, c_size_t, c_uint, sz]),
        "cscalp_push_books": (c_int, [E, c_void_p, c_size_t, c_uint, sz]),
        "cscalp_push_fundings": (c_int, [E, c_void_p, c_size_t, c_uint, sz]),
        "cscalp_tick": (c_int, [E, c_int64]),
        "cscalp_feature_count": (c_size_t, []),
        "cscalp_feature_names": (c_int, [POINTER(c_char_p), c_size_t, sz]),
        "cscalp_features": (c_int, [E, POINTER(c_double), POINTER(c_double), c_size_t, sz]),
        "cscalp_infer": (c_int, [E, POINTER(Signal)]),
        "cscalp_adapt": (c_int, [E, c_uint32, POINTER(AdaptReport)]),
        "cscalp_poll_intents": (c_int, [E, POINTER(Intent), c_size_t]),
        "cscalp_on_order": (c_int, [E, POINTER(OrderUpdate)]),
        "cscalp_set_position": (c_int, [E, c_double, c_double]),
        "cscalp_get_position": (c_int, [E, POINTER(Position)]),
        "cscalp_get_orders": (c_int, [E, POINTER(WorkingOrder), c_size_t]),
        "cscalp_set_autonomy": (c_int, [E, c_int]),
        "cscalp_get_autonomy": (c_int, [E]),
        "cscalp_save": (c_int, [E, c_char_p]),
        "cscalp_save_buffer": (c_int, [E, c_void_p, c_size_t, sz]),
        "cscalp_open_checkpoint": (c_int, [POINTER(E), c_char_p, c_void_p, c_char_p,
                                           c_size_t]),
        "cscalp_open_buffer": (c_int, [POINTER(E), c_char_p, c_size_t, c_void_p, c_char_p,
                                       c_size_t]),
        "cscalp_set_health_callback": (c_int, [E, HEALTH_FN, c_void_p]),
        "cscalp_health": (c_int, [E, POINTER(HealthReport)]),
        "cscalp_stats_json": (c_int, [E, c_char_p, c_size_t, sz]),
        "cscalp_sim_venue_config_init": (c_int, [POINTER(SimVenueConfig)]),
        "cscalp_sim_venue_open": (c_int, [POINTER(V), POINTER(SimVenueConfig), c_void_p,
                                          c_char_p, c_size_t]),
        "cscalp_sim_venue_on_trade": (c_int, [V, c_void_p]),
        "cscalp_sim_venue_on_quote": (c_int, [V, c_void_p]),
        "cscalp_sim_venue_on_book": (c_int, [V, c_void_p]),
        "cscalp_sim_venue_on_funding": (c_int, [V, c_void_p]),
        "cscalp_sim_venue_advance": (c_int, [V, c_int64]),
        "cscalp_sim_venue_submit": (c_int, [V, POINTER(Intent)]),
        "cscalp_sim_venue_poll": (c_int, [V, c_int64, POINTER(OrderUpdate), c_size_t]),
        "cscalp_sim_venue_get_account": (c_int, [V, POINTER(SimVenueAccount)]),
        "cscalp_sim_venue_report_json": (c_int, [V, c_char_p, c_size_t, sz]),
        "cscalp_sim_venue_close": (None, [V]),
    }
    for name, (restype, argtypes) in decl.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def _check_version(lib: ctypes.CDLL) -> None:
    lib.cscalp_version.restype = c_uint
    lib.cscalp_version.argtypes = []
    version = lib.cscalp_version()
    major = version >> 16
    if major != SUPPORTED_MAJOR:
        where = getattr(lib, "_name", "?")
        raise LibraryVersionError(
            f"{where} is libcryptoscalp {major}.{(version >> 8) & 0xff}.{version & 0xff}; "
            f"these bindings speak major version {SUPPORTED_MAJOR}: install the bindings "
            f"that match the library, or point CSCALP_LIBRARY at a {SUPPORTED_MAJOR}.x library")


def load() -> ctypes.CDLL:
    """Load, version-check and declare the library (done once at import)."""
    lib = _load()
    _check_version(lib)
    _declare(lib)
    return lib


lib = load()

_names_cache: Optional[List[str]] = None


def feature_names() -> List[str]:
    """The feature names in vector order (docs/features.md)."""
    global _names_cache
    if _names_cache is None:
        n = lib.cscalp_feature_count()
        arr = (c_char_p * n)()
        lib.cscalp_feature_names(arr, n, None)
        _names_cache = [s.decode() for s in arr]
    return list(_names_cache)


def json_text(fn, handle) -> str:
    """Run the library's JSON-writer contract (size, then text) to a str."""
    need = c_size_t(0)
    fn(handle, None, 0, ctypes.byref(need))
    for _ in range(4):  # async counters may grow between the two calls
        cap = need.value + 256
        buf = ctypes.create_string_buffer(cap)
        rc = fn(handle, buf, cap, ctypes.byref(need))
        if rc == 0:
            return buf.value.decode()
        if rc != -3:  # CSCALP_EBUFFER: grown in between, try again
            from .errors import error_from_code
            raise error_from_code(rc, "")
    raise RuntimeError("the library's JSON kept growing")  # pragma: no cover


__all__ = ["lib", "load", "feature_names", "json_text", "SUPPORTED_MAJOR",
           "LibraryNotFoundError", "LibraryVersionError"]
