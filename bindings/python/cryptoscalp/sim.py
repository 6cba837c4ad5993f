"""Backtests: the engine against the simulated venue of ``cryptoscalp_sim.h``.

:class:`Sim` runs the same loop as the C host ``cscalp-backtest``
(examples/backtest/cscalp_backtest.c): each accepted event goes to the engine
and the venue; the engine's intents go to the venue and the venue's updates
back through ``cscalp_on_order``; a liquidation the venue reports becomes
``cscalp_set_position``. Given the same events, configuration and seed the
report is the one ``cscalp-backtest --report`` writes, key for key and value
for value (the tests check it on real captures).

The loop itself runs in Python, a handful of C calls per event (about
4 µs an event with the engine's work on a 2-vCPU VM: bench/python_bindings.py);
pushing without a venue (:meth:`Engine.push_events`) is one batch call per
run of events of one kind instead.
"""
from __future__ import annotations

import copy
import ctypes
import json
import math
import os
from collections import deque
from ctypes import byref, c_void_p
from dataclasses import dataclass
from typing import Any, Deque, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _lib
from ._lib import lib
from .engine import ConfigLike, Engine, _BookWindow, _config_text
from .errors import ConfigError, error_from_code
from .events import Events, np

NS_PER_S = 1_000_000_000
_EXCHANGE_BATCH = 64
_MAX_ROUNDS = 16  # more would mean intents answered by intents forever
_INT64_MAX = (1 << 63) - 1

#: The engine configuration a backtest starts from (as cscalp-backtest):
#: inline learning, a decision every 250 ms. The caller's keys win.
BASE_ENGINE_CONFIG: Dict[str, Any] = {"learn": {"mode": "inline"},
                                      "policy": {"decide_interval_ms": 250}}

#: Keys of the "venue" object (docs/sim.md) and their defaults.
VENUE_KEYS = ("maker_fee_bps", "taker_fee_bps", "order_latency_ms", "report_latency_ms",
              "wallet_quote", "default_funding_rate", "funding_interval_h",
              "liquidation_fee_rate")


def _llround(x: float) -> int:
    """C's llround: halves away from zero (Python's round() goes to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _merge(dst: Dict[str, Any], patch: Mapping[str, Any]) -> None:
    for k, v in patch.items():
        if isinstance(v, Mapping) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


def split_config(config: ConfigLike, seed: Optional[int] = None,
                 base: Optional[Mapping[str, Any]] = None) -> Tuple[Dict[str, Any],
                                                                     Dict[str, Any]]:
    """The engine's configuration and the venue's, as cscalp-backtest builds
    them: `config` merged over `base` key by key (objects recursively), its
    "venue" object taken out, ``model.seed`` set to `seed` when given."""
    cfg: Dict[str, Any] = copy.deepcopy(BASE_ENGINE_CONFIG if base is None else dict(base))
    if config is not None:
        patch = json.loads(_config_text(config) or b"{}")
        if not isinstance(patch, dict):
            raise ConfigError(-5, "config: not a JSON object", "backtest")
        venue = patch.pop("venue", None)
        _merge(cfg, patch)
    else:
        venue = None
    if seed is not None:
        if not (isinstance(seed, int) and 0 <= seed < 2 ** 53):
            raise ConfigError(-8, f"seed: must be an integer in [0, 2^53), got {seed!r}",
                              "backtest")
        cfg.setdefault("model", {})["seed"] = seed
    if venue is not None and not isinstance(venue, dict):
        raise ConfigError(-7, "venue: expected an object", "backtest")
    return cfg, dict(venue or {})


class Venue:
    """The simulated venue (``cscalp_sim_venue``).

    ``config`` takes the keys of the "venue" object of cscalp-backtest
    (docs/sim.md): maker_fee_bps (2), taker_fee_bps (5), order_latency_ms
    (5), report_latency_ms (5), wallet_quote (10 000), default_funding_rate
    (0.0001), funding_interval_h (8), liquidation_fee_rate (0.005).
    """

    def __init__(self, config: Optional[Mapping[str, Any]] = None,
                 wallet_quote: float = 10000.0) -> None:
        vc = _lib.SimVenueConfig()
        vc.size = ctypes.sizeof(vc)
        lib.cscalp_sim_venue_config_init(byref(vc))
        vc.wallet_quote = wallet_quote
        for key, value in (config or {}).items():
            if key not in VENUE_KEYS:
                raise ConfigError(-6, f"venue.{key}: unknown key; one of "
                                  f"{', '.join(VENUE_KEYS)}", "venue")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(-7, f"venue.{key}: expected a number, got {value!r}", "venue")
            x = float(value)
            if key.endswith("_ms"):
                setattr(vc, key[:-3] + "_ns", _llround(x * 1e6))
            elif key == "funding_interval_h":
                vc.funding_interval_ns = _llround(x * 3600e9)
            else:
                setattr(vc, key, x)
        self.config = vc
        handle = c_void_p()
        err = ctypes.create_string_buffer(512)
        rc = lib.cscalp_sim_venue_open(byref(handle), byref(vc), None, err, 512)
        if rc != 0:
            raise error_from_code(rc, err.value.decode("utf-8", "replace"), "venue")
        self._h: Optional[c_void_p] = handle

    def close(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h:
            lib.cscalp_sim_venue_close(h)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover
            pass

    def __enter__(self) -> "Venue":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def handle(self) -> c_void_p:
        if not self._h:
            raise ValueError("the venue is closed")
        return self._h

    def account(self) -> Dict[str, float]:
        """``cscalp_sim_venue_account`` as a dict."""
        a = _lib.SimVenueAccount()
        a.size = ctypes.sizeof(a)
        lib.cscalp_sim_venue_get_account(self.handle, byref(a))
        return {name: getattr(a, name) for name, _ in a._fields_ if name != "size"}

    def report(self) -> Dict[str, Any]:
        """The venue's report (docs/sim.md)."""
        return json.loads(self.report_json())

    def report_json(self) -> str:
        return _lib.json_text(lib.cscalp_sim_venue_report_json, self.handle)


@dataclass
class BacktestResult:
    """What a backtest gives: the report (the ``--report`` JSON of
    cscalp-backtest: "run", "venue", "engine", "config" and, with a
    walk-forward, "engine_at_split"), the equity curve (a numpy structured
    array ``t_s``, ``equity``, ``trade``, or a pandas DataFrame when pandas
    is installed and ``as_frame`` was not False) and the engine itself (still
    open: read its stats, save it, keep trading it; close it when done)."""

    report: Dict[str, Any]
    equity: Any
    engine: Engine

    def close(self) -> None:
        self.engine.close()


class Sim:
    """An engine and a venue linked as cscalp-backtest links them.

    Feed it one or more :class:`Events` streams with :meth:`run` (in time
    order), then :meth:`finish` for the result. ``walk_forward=(train_s,
    test_s)``: autonomy MANUAL (learning only) for train_s seconds of event
    time, then AUTONOMOUS for test_s, then stop. ``md_latency_ms``: market
    data reaches the engine that much after the venue. ``max_events``: stop
    after that many events accepted by the engine.
    """

    def __init__(self, config: ConfigLike = None, *, seed: Optional[int] = None,
                 walk_forward: Optional[Tuple[float, float]] = None,
                 md_latency_ms: float = 0.0, max_events: Optional[int] = None,
                 engine: Optional[Engine] = None, on_health: Any = None) -> None:
        if engine is not None and seed is not None:
            raise ValueError("seed: an existing engine keeps its own model.seed")
        engine_cfg, venue_cfg = split_config(config, seed)
        if engine is not None:
            # Its configuration stands; only the venue comes from `config`.
            engine_cfg = engine.config
        risk = engine_cfg.get("risk")
        eq = risk.get("initial_equity_quote") if isinstance(risk, dict) else None
        wallet = float(eq) if isinstance(eq, (int, float)) and not isinstance(eq, bool) \
            else 10000.0
        if walk_forward is not None:
            train_s, test_s = (float(x) for x in walk_forward)
            if not (0 < train_s <= 1e9 and 0 < test_s <= 1e9):
                raise ValueError("walk_forward: needs (train_s, test_s), two positive seconds")
            self.train_s, self.test_s = train_s, test_s
        else:
            self.train_s = self.test_s = 0.0
        if not (0 <= md_latency_ms <= 60000):
            raise ValueError("md_latency_ms: must be in [0, 60000]")
        self.md_latency_ns = int(md_latency_ms * 1e6 + 0.5)
        if max_events is not None and max_events <= 0:
            raise ValueError("max_events: must be positive")
        self.max_events = max_events or 0
        if engine is None:
            self.engine = Engine(engine_cfg, on_health=on_health)
        else:
            self.engine = engine
            if on_health is not None:
                engine.set_health_callback(on_health)
            if self.train_s > 0:
                # The learning window trades nothing, whatever level the
                # engine came with (a fresh one opens MANUAL).
                engine.autonomy = "manual"
        self.venue = Venue(venue_cfg, wallet)
        # Counters of the run (the "run" object of the report).
        self.events = self.refused = self.venue_refused = 0
        self.intents_new = self.intents_cancel = 0
        self.updates = self.update_errors = self.submit_errors = 0
        self.resyncs = self.venue_liquidations = 0
        self.files: List[str] = []
        self.started = self.trading = self.stopped = False
        self.first_ns = self.now_ns = self.split_ns = 0
        self.stop_ns = _INT64_MAX
        self.split_stats: Optional[str] = None
        self.points: List[Tuple[float, float, int]] = []
        self.next_point_ns = 0
        self._position = _lib.Position()
        self._position.size = ctypes.sizeof(self._position)
        self._pos = self.engine.position().position
        self.pending_trade = 0
        self._late: Deque[Tuple[int, Any, int]] = deque()
        self._finished: Optional[BacktestResult] = None
        # C buffers reused every event.
        self._intents = (_lib.Intent * _EXCHANGE_BATCH)()
        self._intents[0].size = ctypes.sizeof(_lib.Intent)
        self._updates = (_lib.OrderUpdate * _EXCHANGE_BATCH)()
        self._updates[0].size = ctypes.sizeof(_lib.OrderUpdate)
        self._account = _lib.SimVenueAccount()
        self._account.size = ctypes.sizeof(self._account)
        self._reject = _lib.OrderUpdate()
        self._reject.size = ctypes.sizeof(self._reject)
        self._reject.type = 2  # REJECTED
        self._reject.text = b"the simulated venue refused the order"

    # -- the paper link (examples/common/paper.c) --------------------------
    def _apply(self, update: Any) -> None:
        self.updates += 1
        if lib.cscalp_on_order(self.engine._h, byref(update)) != 0:
            self.update_errors += 1

    def _exchange(self, now_ns: int) -> None:
        """Intents to the venue (one it refuses answered REJECTED), its
        updates due by now to the engine, a reported liquidation as a
        resync, until neither side has more. A fill marks the chart."""
        eng, ven = self.engine._h, self.venue._h
        its, ups, acc = self._intents, self._updates, self._account
        fills = 0
        applied = False
        for _ in range(_MAX_ROUNDS):
            n = lib.cscalp_poll_intents(eng, its, _EXCHANGE_BATCH)
            moved = n > 0
            for i in range(n):
                it = its[i]
                if it.kind == 1:
                    self.intents_new += 1
                else:
                    self.intents_cancel += 1
                if lib.cscalp_sim_venue_submit(ven, byref(it)) != 0 and it.kind == 1:
                    self.submit_errors += 1
                    rej = self._reject
                    rej.client_id = it.client_id
                    rej.ts_ns = now_ns
                    self._apply(rej)
                    applied = True
            n = lib.cscalp_sim_venue_poll(ven, now_ns, ups, _EXCHANGE_BATCH)
            if n > 0:
                moved = applied = True
            for i in range(n):
                if ups[i].type == 3:
                    fills += 1
                self._apply(ups[i])
            lib.cscalp_sim_venue_get_account(ven, byref(acc))
            if acc.liquidations_reported != self.venue_liquidations:
                self.venue_liquidations = acc.liquidations_reported
                lib.cscalp_set_position(eng, acc.position_reported, acc.entry_reported)
                self.resyncs += 1
                moved = applied = True
            if not moved:
                break
        if applied:
            # The position moves only through updates and resyncs, all here:
            # the cached one is the engine's between exchanges.
            pos = self._position
            lib.cscalp_get_position(eng, byref(pos))
            self._pos = pos.position
        if fills > 0:
            self.pending_trade = 1  # its side: from the position, by the caller
        self.engine._after_call()

    # -- the run (examples/backtest/cscalp_backtest.c) ----------------------
    def _on_time(self, t: int) -> None:
        if not self.started:
            self.started = True
            self.first_ns = t
            self.next_point_ns = t
            if self.train_s > 0:
                self.split_ns = t + int(self.train_s * 1e9)
                self.stop_ns = self.split_ns + int(self.test_s * 1e9)
            else:
                self.split_ns = t
                self.stop_ns = _INT64_MAX
        if not self.trading and t >= self.split_ns:
            self.trading = True
            if self.train_s > 0:
                self.split_stats = self.engine.stats_json()
            lib.cscalp_set_autonomy(self.engine._h, 2)

    def _add_point(self, t: int) -> None:
        acc = self._account
        lib.cscalp_sim_venue_get_account(self.venue._h, byref(acc))
        self.points.append(((t - self.first_ns) / 1e9, acc.equity, self.pending_trade))
        self.pending_trade = 0

    def run(self, events: Union[Events, str, Sequence[str]], levels: int = 10) -> "Sim":
        """Feed a stream (an :class:`Events`, or files read with
        :func:`cryptoscalp.data.read` at `levels`). May be called again with
        the next stream; returns self."""
        if self._finished is not None:
            raise ValueError("run: this Sim has finished")
        if not isinstance(events, Events):
            from . import data
            paths = [events] if isinstance(events, (str, os.PathLike)) else list(events)
            self.files.extend(os.fspath(p) for p in paths)
            events = data.read(paths, levels=levels)
        elif events.source and events.source not in self.files:
            self.files.append(events.source)
        if self.stopped or len(events) == 0:
            return self
        self._run(events)
        return self

    def _run(self, ev: Events) -> None:
        ev = ev.checked()
        ven = self.venue._h
        window = _BookWindow(ev.books)
        arrays = (ev.trades, ev.quotes, None, ev.fundings)
        bases = [a.ctypes.data if a is not None else 0 for a in arrays]
        sizes = [a.itemsize if a is not None else 0 for a in arrays]
        push = (lib.cscalp_push_trades, lib.cscalp_push_quotes, lib.cscalp_push_books,
                lib.cscalp_push_fundings)
        on = (lib.cscalp_sim_venue_on_trade, lib.cscalp_sim_venue_on_quote,
              lib.cscalp_sim_venue_on_book, lib.cscalp_sim_venue_on_funding)
        ts_of = [a["ts_ns"] if a is not None else None for a in arrays]
        book_ts = ev.books["ts_ns"]
        rows = [0, 0, 0, 0]
        latency = self.md_latency_ns
        for kind in ev.kinds.tolist():
            row = rows[kind]
            rows[kind] = row + 1
            if kind == 2:
                ptr = window.pointer(row, 1)[0]
                t = int(book_ts[row])
            else:
                ptr = bases[kind] + row * sizes[kind]
                t = int(ts_of[kind][row])
            if self.started and t >= self.stop_ns:
                self.stopped = True
                break
            if latency > 0:
                self._deliver_due(t)
                if on[kind](ven, ptr) != 0:
                    self.venue_refused += 1
                self.now_ns = max(self.now_ns, t)
                if not self.started:
                    self._on_time(t)
                self._late.append((kind, self._copy_event(kind, ptr, t + latency), t + latency))
            else:
                if not self._engine_event(push[kind], ptr, t):
                    continue
                if on[kind](ven, ptr) != 0:
                    self.venue_refused += 1
            p0 = self._pos
            self._exchange(self.now_ns)
            if self.pending_trade:
                # The chart marks buys and sells by how the position moved.
                p1 = self._pos
                self.pending_trade = 1 if p1 > p0 else -1 if p1 < p0 else 0
            if t >= self.next_point_ns or self.pending_trade:
                self._add_point(t)
                if t >= self.next_point_ns:
                    minute = 60 * NS_PER_S
                    self.next_point_ns = t + minute - (t - self.first_ns) % minute
            if self.max_events and self.events >= self.max_events:
                self.stopped = True
                break

    @staticmethod
    def _copy_event(kind: int, ptr: int, t: int) -> Any:
        struct = (_lib.Trade, _lib.Quote, _lib.Book, _lib.Funding)[kind]()
        ctypes.memmove(byref(struct), ptr, ctypes.sizeof(struct))
        struct.ts_ns = t  # a funding's settlement times are the venue's: unchanged
        return struct

    def _engine_event(self, push: Any, ptr: int, t: int) -> bool:
        """One event into the engine at time t (its own, or its arrival with
        md_latency_ms); False when refused (counted per reason by the
        engine)."""
        if push(self.engine._h, ptr, 1, 0, None) != 0:
            self.refused += 1
            self.engine._after_call()
            return False
        self._on_time(t)
        self.now_ns = t
        self.events += 1
        return True

    def _deliver_due(self, t: int) -> None:
        push = (lib.cscalp_push_trades, lib.cscalp_push_quotes, lib.cscalp_push_books,
                lib.cscalp_push_fundings)
        while self._late and self._late[0][2] <= t:
            kind, struct, at = self._late.popleft()
            lib.cscalp_sim_venue_advance(self.venue._h, at)
            if self._engine_event(push[kind], ctypes.addressof(struct), at):
                self._exchange(self.now_ns)

    def finish(self, as_frame: Optional[bool] = None) -> BacktestResult:
        """Let what is in flight land (orders reach the venue, its last
        updates the engine), then the report and the equity curve."""
        if self._finished is not None:
            return self._finished
        if self.started and self.md_latency_ns > 0:
            self._deliver_due(_INT64_MAX)
        if self.started:
            vc = self.venue.config
            self.now_ns += vc.order_latency_ns + vc.report_latency_ns
            lib.cscalp_sim_venue_advance(self.venue._h, self.now_ns)
            self._exchange(self.now_ns)
            self._add_point(self.now_ns)
        acc = self.venue.account()
        agree = abs(acc["position"] - self.engine.position().position) < 1e-9
        run: Dict[str, Any] = {
            "files": list(self.files), "events": self.events, "refused": self.refused,
            "refused_by_venue": self.venue_refused, "submit_errors": self.submit_errors,
            "intents_new": self.intents_new, "intents_cancel": self.intents_cancel,
            "updates": self.updates, "updates_refused_by_engine": self.update_errors,
            "liquidation_resyncs": self.resyncs, "positions_agree": agree}
        if self.train_s > 0:
            run["walk_forward"] = {"train_s": self.train_s, "test_s": self.test_s}
        report: Dict[str, Any] = {"run": run, "venue": self.venue.report(),
                                  "engine": self.engine.stats(), "config": self.engine.config}
        if self.train_s > 0:
            report["engine_at_split"] = (json.loads(self.split_stats)
                                         if self.split_stats else None)
        self._finished = BacktestResult(report, self._equity(as_frame), self.engine)
        self.venue.close()
        return self._finished

    def _equity(self, as_frame: Optional[bool]) -> Any:
        if np is None:
            return list(self.points)
        arr = np.array(self.points, dtype=[("t_s", "<f8"), ("equity", "<f8"),
                                           ("trade", "<i1")])
        if as_frame is False:
            return arr
        try:
            import pandas as pd
        except ImportError:
            if as_frame:
                raise
            return arr
        return pd.DataFrame(arr)


def backtest(data: Union[Events, str, Sequence[str]], config: ConfigLike = None, *,
             seed: Optional[int] = None, walk_forward: Optional[Tuple[float, float]] = None,
             md_latency_ms: float = 0.0, max_events: Optional[int] = None, levels: int = 10,
             engine: Optional[Engine] = None, as_frame: Optional[bool] = None,
             on_health: Any = None) -> BacktestResult:
    """Run the engine and the simulated venue over `data` (an
    :class:`Events` or file paths in any format of :mod:`cryptoscalp.data`)
    as ``cscalp-backtest`` does, and return the :class:`BacktestResult`.

    ``config``: the engine's configuration (docs/config.md) merged over
    :data:`BASE_ENGINE_CONFIG`, plus an optional "venue" object
    (:class:`Venue`). ``engine``: run an existing engine (e.g. one trained
    elsewhere and unpickled) instead of opening one from ``config``; its
    configuration stands and ``config`` then only gives the venue.
    """
    sim = Sim(config, seed=seed, walk_forward=walk_forward, md_latency_ms=md_latency_ms,
              max_events=max_events, engine=engine, on_health=on_health)
    try:
        sim.run(data, levels=levels)
        return sim.finish(as_frame)
    except BaseException:
        if engine is None:
            sim.engine.close()
        sim.venue.close()
        raise
