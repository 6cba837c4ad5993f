"""cryptoscalp — Python bindings of libcryptoscalp (ctypes, no compiler).

The same engine a C/C++ trading host links, driven from Python for
research: push recorded data (numpy arrays, batch calls), read signals,
stats, health and reports, backtest against the simulated venue, and ship
engines between processes (they pickle through their checkpoint).

    import cryptoscalp as cs
    events = cs.data.read("btcusdt_20240718.gz")
    with cs.Engine({"learn": {"mode": "inline"}}) as engine:
        engine.push_events(events)
        print(engine.infer(), engine.stats()["feed"])
    result = cs.backtest(events, {"venue": {"taker_fee_bps": 4}}, seed=7)

The library is found through $CSCALP_LIBRARY, next to the package, or on the
system path (cryptoscalp._lib). numpy is needed only for arrays.
"""
from ._lib import SUPPORTED_MAJOR, LibraryNotFoundError, LibraryVersionError, feature_names
from .engine import (AdaptReport, ComponentHealth, Engine, HealthEvent, HealthReport, Intent,
                     Position, Signal, WorkingOrder, has_feature, version)
from .errors import (CallbackError, CheckpointError, ConfigError, Error, InvalidArgumentError,
                     IOFailure, MarketDataError, OrderError, OutOfMemoryError, RiskError,
                     UnsupportedError, error_name, strerror)
from .events import Events
from . import constants, events

__version__ = "1.0.0"

__all__ = [
    "Engine", "Signal", "AdaptReport", "Intent", "Position", "WorkingOrder", "HealthEvent",
    "HealthReport", "ComponentHealth", "Events", "Error", "InvalidArgumentError",
    "OutOfMemoryError", "ConfigError", "MarketDataError", "UnsupportedError",
    "CheckpointError", "IOFailure", "OrderError", "RiskError", "CallbackError",
    "LibraryNotFoundError", "LibraryVersionError", "SUPPORTED_MAJOR", "feature_names",
    "version", "has_feature", "error_name", "strerror", "constants", "events",
]

# Readers and the backtest need numpy; the scalar API above does not.
if events.np is not None:
    from .sim import BacktestResult, Sim, Venue, backtest
    __all__ += ["data", "Sim", "Venue", "backtest", "BacktestResult"]


def __getattr__(name: str):  # PEP 562: cryptoscalp.data loads on first use
    if name == "data":
        import importlib
        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module 'cryptoscalp' has no attribute {name!r}")

