"""The engine: one ``cscalp_engine`` handle behind a Python object.

Everything goes through the same C calls a C++ trading engine makes, so a
research run and a live session run the same code. Batch pushes hand numpy
arrays to ``cscalp_push_trades`` and friends without a per-row Python loop.
"""
from __future__ import annotations

import ctypes
import json
import logging
import warnings
import weakref
from ctypes import byref, c_double, c_size_t, c_void_p
from dataclasses import dataclass
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union)

from . import _lib
from ._lib import lib
from .constants import (ACTIONS, AUTONOMY, COMPONENTS, EVENTS, INTENT_FLAGS, INTENT_KINDS,
                        INTENT_REASONS, KINDS, LIQUIDITY, ORDER_STATUSES, ORDER_TYPES,
                        PLAYBOOK_ROWS, REJECT_REASONS, SEVERITIES, SIDES, SIGNAL_REASONS,
                        STATUSES, SUPERVISOR_FLAGS, TIME_IN_FORCE, UPDATE_TYPES, bits_of,
                        name_of, value_of)
from .errors import CallbackError, Error, error_from_code, is_market_data_code
from .events import (BOOK_MAX_LEVELS, Events, FUNDING_DTYPE, QUOTE_DTYPE, TRADE_DTYPE,
                     book_dtype, book_levels, books_from_columns, c_array, np)

log = logging.getLogger("cryptoscalp")

ConfigLike = Union[None, str, Mapping[str, Any]]
#: How many exceptions raised by health callbacks an engine keeps.
CALLBACK_ERRORS_KEPT = 100
#: Books widened to the C layout per batch call (1 616 bytes each).
BOOK_CHUNK = 1024
_BATCH_SKIP_INVALID = 1
_ERRBUF = 1024


def _json_default(x: Any) -> Any:
    """numpy scalars and arrays in a configuration (a grid from np.linspace)."""
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"config: {type(x).__name__} is not JSON serialisable")


def _config_text(config: ConfigLike) -> Optional[bytes]:
    if config is None:
        return None
    if isinstance(config, (bytes, bytearray)):
        return bytes(config)
    if isinstance(config, str):
        return config.encode()
    if isinstance(config, Mapping):
        return json.dumps(config, allow_nan=False, default=_json_default).encode()
    raise TypeError(f"config: expected a dict, a JSON text or None, got {type(config).__name__}")


# ------------------------------------------------------------- result types

@dataclass(frozen=True)
class Signal:
    """``cscalp_signal``: the model's view at the engine clock."""

    ts_ns: int
    probabilities: Tuple[float, float, float]  #: down, flat, up
    expected_move_bps: float
    confidence: float
    regime: int
    regime_probability: float
    autonomy: str
    target_position: float
    model_version: int
    reasons: Tuple[str, ...]  #: "no_quote", "warmup", "untrained", "fallback"

    @property
    def down(self) -> float:
        return self.probabilities[0]

    @property
    def flat(self) -> float:
        return self.probabilities[1]

    @property
    def up(self) -> float:
        return self.probabilities[2]


@dataclass(frozen=True)
class AdaptReport:
    """``cscalp_adapt_report``: what the learner did (docs/learning.md)."""

    mode: str
    steps: int
    promotions: int
    rollbacks: int
    steps_total: int
    promotions_total: int
    rollbacks_total: int
    samples_matured: int
    samples_pending: int
    replay_size: int
    model_version: int
    serving: str  #: "network" or "fallback"


@dataclass(frozen=True)
class Intent:
    """``cscalp_intent``: an order the engine wants sent (or cancelled)."""

    kind: str  #: "new" or "cancel"
    client_id: int
    ts_ns: int
    side: str  #: "buy" or "sell"
    type: str  #: "post_only", "market" (NEW)
    time_in_force: str
    reason: str
    price: float
    quantity: float
    flags: Tuple[str, ...]  #: "reduce_only", "needs_confirmation"
    regime: int
    expected_move_bps: float
    edge_bps: float
    target_position: float
    position: float


@dataclass(frozen=True)
class Position:
    """``cscalp_position``: position and PnL (money in quote currency)."""

    position: float
    entry_price: float
    mark_price: float
    realised_pnl: float
    unrealised_pnl: float
    fees: float
    funding: float
    equity: float
    fills: int
    open_orders: int
    kill_switch: bool
    autonomy: str


@dataclass(frozen=True)
class WorkingOrder:
    """``cscalp_working_order``."""

    client_id: int
    side: str
    created_ns: int
    status: str
    reduce_only: bool
    price: float
    quantity: float
    filled: float
    acked: bool
    type: str


@dataclass(frozen=True)
class HealthEvent:
    """``cscalp_health_event`` as delivered to a health callback."""

    severity: str
    component: str
    event: str
    error: int
    error_name: str
    action: str
    ts_ns: int
    message: str


@dataclass(frozen=True)
class ComponentHealth:
    status: str
    last_event: str  #: "" when none yet
    last_error: int
    last_severity: str
    last_event_ts_ns: int
    events: int


@dataclass(frozen=True)
class HealthReport:
    """``cscalp_health_report``: every component, the feed counters and the
    supervisor's conditions and actions."""

    clock_ns: int
    components: Dict[str, ComponentHealth]
    feed_accepted: Dict[str, int]
    feed_rejected: Dict[str, int]
    time_clamped: int
    supervisor: Tuple[str, ...]  #: conditions held now (SUPERVISOR_FLAGS names)
    playbook_actions: Dict[str, int]

    @property
    def ok(self) -> bool:
        """Every component OK."""
        return all(c.status == "ok" for c in self.components.values())


def _health_event(ev: "_lib.HealthEvent") -> HealthEvent:
    return HealthEvent(name_of(SEVERITIES, ev.severity), name_of(COMPONENTS, ev.component),
                       name_of(EVENTS, ev.event), ev.error,
                       lib.cscalp_error_name(ev.error).decode() if ev.error else "",
                       name_of(ACTIONS, ev.action), ev.ts_ns,
                       ev.message.decode("utf-8", "replace") if ev.message else "")


def _intent(it: "_lib.Intent") -> Intent:
    return Intent(name_of(INTENT_KINDS, it.kind), it.client_id, it.ts_ns,
                  name_of(SIDES, it.side), name_of(ORDER_TYPES, it.type),
                  name_of(TIME_IN_FORCE, it.time_in_force), name_of(INTENT_REASONS, it.reason),
                  it.price, it.quantity, bits_of(INTENT_FLAGS, it.flags), it.regime,
                  it.expected_move_bps, it.edge_bps, it.target_position, it.position)


# ------------------------------------------------------------- array input

def _columns_of(data: Any) -> Optional[Mapping[str, Any]]:
    """A mapping of columns from a dict, a pandas DataFrame or a structured
    array; None when `data` is none of these."""
    if data is None:
        return None
    if np is not None and isinstance(data, np.ndarray) and data.dtype.names:
        return {n: data[n] for n in data.dtype.names}
    if hasattr(data, "columns") and hasattr(data, "__getitem__"):  # pandas
        return {str(c): data[c].to_numpy() for c in data.columns}
    if isinstance(data, Mapping):
        return data
    raise TypeError("expected a numpy structured array, a dict of columns or a DataFrame, "
                    f"got {type(data).__name__}")


def _records(data: Any, columns: Dict[str, Any], dtype: Any, required: Sequence[str],
             what: str) -> Any:
    """`data` (or keyword `columns`) as a C-contiguous array of `dtype`,
    without a copy when it already is one."""
    if np is None:
        raise ImportError(f"{what}: batch pushes need numpy (use the single push_* calls)")
    if (data is not None and not columns and isinstance(data, np.ndarray)
            and data.dtype == dtype and data.ndim == 1):
        return c_array(data)
    cols = dict(_columns_of(data) or {})
    cols.update(columns)
    missing = [r for r in required if r not in cols]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; "
                         f"expected {', '.join(dtype.names)}")
    unknown = [c for c in cols if c not in dtype.names]
    if unknown:
        raise ValueError(f"{what}: unknown column(s) {', '.join(map(str, unknown))}; "
                         f"expected {', '.join(dtype.names)}")
    first = np.asarray(cols[required[0]])
    if first.ndim != 1:
        raise ValueError(f"{what}.{required[0]}: expected a 1-D column")
    n = first.shape[0]
    out = np.zeros(n, dtype)
    for name, col in cols.items():
        arr = np.asarray(col)
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
            raise ValueError(f"{what}.{name}: shape {arr.shape}, {required[0]} has {n} rows")
        if name == "side" and arr.dtype.kind in "UOS":  # "buy"/"sell" columns
            arr = np.vectorize(lambda v: value_of(SIDES, v.decode() if isinstance(v, bytes)
                                                  else v, f"{what}.side"), otypes=[np.int32])(arr)
        out[name] = arr  # a scalar applies to every row
    return out


class _BookWindow:
    """Books of any level count widened, chunk by chunk, into the C layout
    (50 levels a side). Levels past a book's own are left zero (ignored)."""

    def __init__(self, books: Any) -> None:
        self.levels = book_levels(books)
        self.direct = self.levels == BOOK_MAX_LEVELS
        self.books = c_array(books) if self.direct else books
        self.buf = None if self.direct else np.zeros(BOOK_CHUNK, book_dtype(BOOK_MAX_LEVELS))
        self.lo = self.hi = 0

    def pointer(self, row: int, count: int) -> Tuple[int, int]:
        """Address of `row` in C layout and how many rows from it (<= count)
        are available there."""
        if self.direct:
            return self.books.ctypes.data + row * self.books.itemsize, count
        if not self.lo <= row < self.hi:
            self.lo = row
            self.hi = min(row + BOOK_CHUNK, self.books.shape[0])
            src = self.books[self.lo:self.hi]
            m = self.hi - self.lo
            dst = self.buf[:m]
            dst["ts_ns"] = src["ts_ns"]
            dst["bid_count"] = src["bid_count"]
            dst["ask_count"] = src["ask_count"]
            dst["bids"][:, :self.levels] = src["bids"]
            dst["asks"][:, :self.levels] = src["asks"]
        return (self.buf.ctypes.data + (row - self.lo) * self.buf.itemsize,
                min(count, self.hi - row))


# ------------------------------------------------------------- the engine

class Engine:
    """One engine (``cscalp_engine``).

    ``Engine(config)`` opens it from a configuration (a dict, a JSON text or
    None for the defaults; keys in docs/config.md). Use it as a context
    manager or call :meth:`close`. Like the C handle, an engine belongs to
    one thread at a time. It pickles through its checkpoint, so it can be
    shipped to another process (the health callback is not pickled).
    """

    def __init__(self, config: ConfigLike = None, *,
                 on_health: Optional[Callable[[HealthEvent], Any]] = None) -> None:
        handle = c_void_p()
        err = ctypes.create_string_buffer(_ERRBUF)
        rc = lib.cscalp_open_ex(byref(handle), _config_text(config), None, err, _ERRBUF)
        if rc != 0:
            raise error_from_code(rc, err.value.decode("utf-8", "replace"), "open")
        self._init(handle, on_health)

    def _init(self, handle: c_void_p,
              on_health: Optional[Callable[[HealthEvent], Any]]) -> None:
        self._h: Optional[c_void_p] = handle
        self._callback = None  # the ctypes trampoline, kept alive while registered
        self._in_callback = False
        self._interrupt: Optional[BaseException] = None
        self.callback_errors: List[BaseException] = []
        self.callback_error_count = 0
        self._signal = _lib.Signal()
        self._signal.size = ctypes.sizeof(_lib.Signal)
        self._intents = (_lib.Intent * 64)()
        self._intents[0].size = ctypes.sizeof(_lib.Intent)
        self._accepted = c_size_t(0)
        if on_health is not None:
            self.set_health_callback(on_health)

    @classmethod
    def _adopt(cls, handle: c_void_p,
               on_health: Optional[Callable[[HealthEvent], Any]] = None) -> "Engine":
        self = cls.__new__(cls)
        self._init(handle, on_health)
        return self

    # -- lifecycle ---------------------------------------------------------
    @classmethod
    def load(cls, path: str, *,
             on_health: Optional[Callable[[HealthEvent], Any]] = None) -> "Engine":
        """Open an engine from a checkpoint file (``cscalp_open_checkpoint``):
        it continues exactly where the saved one stood."""
        handle = c_void_p()
        err = ctypes.create_string_buffer(_ERRBUF)
        rc = lib.cscalp_open_checkpoint(byref(handle), str(path).encode(), None, err, _ERRBUF)
        if rc != 0:
            raise error_from_code(rc, err.value.decode("utf-8", "replace"), str(path))
        return cls._adopt(handle, on_health)

    @classmethod
    def from_bytes(cls, data: bytes, *,
                   on_health: Optional[Callable[[HealthEvent], Any]] = None) -> "Engine":
        """Open an engine from a checkpoint held in memory (``cscalp_open_buffer``)."""
        handle = c_void_p()
        err = ctypes.create_string_buffer(_ERRBUF)
        blob = bytes(data)
        rc = lib.cscalp_open_buffer(byref(handle), blob, len(blob), None, err, _ERRBUF)
        if rc != 0:
            raise error_from_code(rc, err.value.decode("utf-8", "replace"), "checkpoint buffer")
        return cls._adopt(handle, on_health)

    def close(self) -> None:
        """Destroy the engine (idempotent)."""
        if getattr(self, "_in_callback", False):
            raise RuntimeError("close: not from inside the engine's own health callback")
        h, self._h = getattr(self, "_h", None), None
        if h:
            lib.cscalp_close(h)
        self._callback = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    @property
    def closed(self) -> bool:
        return not self._h

    @property
    def handle(self) -> int:
        """The ``cscalp_engine *`` as an int (for C extensions of your own)."""
        return self._handle().value or 0

    def _handle(self) -> c_void_p:
        if not self._h:
            raise ValueError("the engine is closed")
        if self._in_callback:
            # The C contract: a callback must not call back into its engine.
            raise RuntimeError("an engine may not be called from inside its own health "
                               "callback (record the event, act after the call returns)")
        return self._h

    def _fail(self, rc: int, context: str = "") -> Error:
        detail = lib.cscalp_last_error(self._h).decode("utf-8", "replace") if self._h else ""
        return error_from_code(rc, detail, context)

    def _after_call(self) -> None:
        # A KeyboardInterrupt/SystemExit raised inside a callback cannot cross
        # the C frames; it is raised here, once the call has returned.
        if self._interrupt is not None:
            exc, self._interrupt = self._interrupt, None
            raise exc

    # -- pickling and checkpoints -----------------------------------------
    def to_bytes(self) -> bytes:
        """The checkpoint ``save`` would write, as bytes (``cscalp_save_buffer``)."""
        h = self._handle()
        need = c_size_t(0)
        rc = lib.cscalp_save_buffer(h, None, 0, byref(need))
        if rc != 0:
            raise self._fail(rc, "to_bytes")
        for _ in range(4):
            buf = ctypes.create_string_buffer(need.value + 4096)
            rc = lib.cscalp_save_buffer(h, buf, len(buf), byref(need))
            if rc == 0:
                return buf.raw[:need.value]
            if rc != -3:
                raise self._fail(rc, "to_bytes")
        raise self._fail(rc, "to_bytes")  # pragma: no cover

    def __reduce__(self) -> Tuple[Any, ...]:
        return (Engine.from_bytes, (self.to_bytes(),))

    def save(self, path: str) -> None:
        """Write a checkpoint file atomically (``cscalp_save``)."""
        rc = lib.cscalp_save(self._handle(), str(path).encode())
        self._after_call()
        if rc != 0:
            raise self._fail(rc, str(path))

    # -- configuration -----------------------------------------------------
    @property
    def config(self) -> Dict[str, Any]:
        """The effective configuration, every key (``cscalp_config_json``)."""
        return json.loads(_lib.json_text(lib.cscalp_config_json, self._handle()))

    def configure(self, patch: Union[str, Mapping[str, Any]]) -> None:
        """Apply a configuration patch, all or nothing (``cscalp_configure``)."""
        rc = lib.cscalp_configure(self._handle(), _config_text(patch))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "configure")

    # -- market data: single events (no numpy needed) ------------------------
    def push_trade(self, ts_ns: int, price: float, size: float, side: Union[int, str],
                   trade_id: int = 0) -> None:
        """One trade; side 1/"buy" (buyer took) or -1/"sell"."""
        t = _lib.Trade(ts_ns, price, size, value_of(SIDES, side, "trade.side"), 0, trade_id)
        rc = lib.cscalp_push_trade(self._handle(), byref(t))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "push_trade")

    def push_quote(self, ts_ns: int, bid_price: float, bid_size: float, ask_price: float,
                   ask_size: float) -> None:
        """One best bid/ask."""
        q = _lib.Quote(ts_ns, bid_price, bid_size, ask_price, ask_size)
        rc = lib.cscalp_push_quote(self._handle(), byref(q))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "push_quote")

    def push_book(self, ts_ns: int, bids: Sequence[Tuple[float, float]],
                  asks: Sequence[Tuple[float, float]]) -> None:
        """One L2 snapshot: ``bids``/``asks`` as (price, size) pairs, best first."""
        if len(bids) > BOOK_MAX_LEVELS or len(asks) > BOOK_MAX_LEVELS:
            raise ValueError(f"push_book: at most {BOOK_MAX_LEVELS} levels a side")
        b = _lib.Book()
        b.ts_ns, b.bid_count, b.ask_count = ts_ns, len(bids), len(asks)
        for i, (p, s) in enumerate(bids):
            b.bids[i].price, b.bids[i].size = p, s
        for i, (p, s) in enumerate(asks):
            b.asks[i].price, b.asks[i].size = p, s
        rc = lib.cscalp_push_book(self._handle(), byref(b))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "push_book")

    def push_funding(self, ts_ns: int, funding_rate: float, mark_price: float,
                     index_price: float = 0.0, next_funding_ts_ns: int = 0) -> None:
        """One funding and mark price update."""
        f = _lib.Funding(ts_ns, funding_rate, mark_price, index_price, next_funding_ts_ns)
        rc = lib.cscalp_push_funding(self._handle(), byref(f))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "push_funding")

    def tick(self, now_ns: int) -> None:
        """Advance the engine clock with no data (``cscalp_tick``)."""
        rc = lib.cscalp_tick(self._handle(), now_ns)
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "tick")

    # -- market data: batches ------------------------------------------------
    def _batch(self, fn: Any, ptr: int, n: int, skip_invalid: bool, what: str,
               base: int = 0) -> int:
        """One batch C call over `n` records at `ptr`; returns the accepted
        count, raises MarketDataError (with .accepted/.index) when the batch
        stopped at a refused event."""
        accepted = self._accepted
        rc = fn(self._handle(), ptr, n, _BATCH_SKIP_INVALID if skip_invalid else 0,
                byref(accepted))
        self._after_call()
        # With skip_invalid the call returns the first refusal's code after
        # trying every event; the refused ones are counted by the engine.
        # Our arguments are never NULL, so EINVAL is a field's domain.
        if rc == 0 or (skip_invalid and (is_market_data_code(rc) or rc == -1)):
            return accepted.value
        index = base + accepted.value
        err = self._fail(rc, f"{what} at index {index}")
        # A refused event: MarketDataError, or InvalidArgumentError for a
        # field out of its domain (a funding's next_funding_ts_ns). Either
        # says where the batch stopped; what came before it stays in.
        err.accepted = err.index = index
        err.kind = what
        raise err

    def push_trades(self, data: Any = None, *, skip_invalid: bool = False,
                    **columns: Any) -> int:
        """Push trades in order with one C call (``cscalp_push_trades``).

        ``data``: an array of :data:`~cryptoscalp.events.TRADE_DTYPE` (no copy),
        another structured array, a dict of columns or a DataFrame; or columns
        as keywords (``ts_ns``, ``price``, ``size``, ``side``, optional
        ``trade_id``). Returns how many were accepted. Without
        ``skip_invalid`` the batch stops at the first refused trade and raises
        :class:`~cryptoscalp.MarketDataError` whose ``accepted`` says how many
        went in (they stay in); with it, refused trades are skipped (each
        counted in the stats and reported to the health callback).
        """
        arr = _records(data, columns, TRADE_DTYPE, ("ts_ns", "price", "size", "side"),
                       "push_trades")
        return self._batch(lib.cscalp_push_trades, arr.ctypes.data, arr.shape[0],
                           skip_invalid, "trade")

    def push_quotes(self, data: Any = None, *, skip_invalid: bool = False,
                    **columns: Any) -> int:
        """Push quotes in order (``cscalp_push_quotes``); columns ``ts_ns``,
        ``bid_price``, ``bid_size``, ``ask_price``, ``ask_size``. As
        :meth:`push_trades` otherwise."""
        arr = _records(data, columns, QUOTE_DTYPE,
                       ("ts_ns", "bid_price", "bid_size", "ask_price", "ask_size"),
                       "push_quotes")
        return self._batch(lib.cscalp_push_quotes, arr.ctypes.data, arr.shape[0],
                           skip_invalid, "quote")

    def push_fundings(self, data: Any = None, *, skip_invalid: bool = False,
                      **columns: Any) -> int:
        """Push funding updates in order (``cscalp_push_fundings``); columns
        ``ts_ns``, ``funding_rate``, ``mark_price``, optional ``index_price``,
        ``next_funding_ts_ns``."""
        arr = _records(data, columns, FUNDING_DTYPE, ("ts_ns", "funding_rate", "mark_price"),
                       "push_fundings")
        return self._batch(lib.cscalp_push_fundings, arr.ctypes.data, arr.shape[0],
                           skip_invalid, "funding")

    def push_books(self, books: Any = None, *, skip_invalid: bool = False,
                   **columns: Any) -> int:
        """Push L2 snapshots in order (``cscalp_push_books``): an array of
        ``book_dtype(levels)`` for any level count (``book_dtype(50)`` goes
        without a copy; others are widened chunk by chunk), or columns as
        keywords: ``ts_ns`` and 2-D ``(books, levels)`` ``bid_price``,
        ``bid_size``, ``ask_price``, ``ask_size``, optional ``bid_count``,
        ``ask_count`` (:func:`~cryptoscalp.events.books_from_columns`)."""
        if np is None:
            raise ImportError("push_books: batch pushes need numpy (use push_book)")
        if columns:
            if books is not None:
                raise TypeError("push_books: give an array or columns, not both")
            books = books_from_columns(**columns)
        if not (isinstance(books, np.ndarray) and books.dtype.names and
                "bids" in books.dtype.names):
            raise TypeError("push_books: expected an array of cryptoscalp.events.book_dtype"
                            "(levels); build one with books_from_columns()")
        if books.dtype != book_dtype(book_levels(books)):
            raise TypeError(f"push_books: dtype {books.dtype} is not book_dtype(levels)")
        window = _BookWindow(books)
        total = 0
        row = 0
        n = books.shape[0]
        while row < n:
            ptr, m = window.pointer(row, n - row)
            total += self._batch(lib.cscalp_push_books, ptr, m, skip_invalid, "book", row)
            row += m
        return total

    def push_events(self, events: Events, *, skip_invalid: bool = False) -> int:
        """Push a whole stream (:class:`~cryptoscalp.events.Events`, e.g. from
        :func:`cryptoscalp.data.read`) in its order: one batch call per run
        of events of one kind. Returns how many were accepted. Without
        ``skip_invalid`` it stops at the first refused event and raises
        :class:`~cryptoscalp.MarketDataError` with ``index`` its position in
        the stream (every event before it is in)."""
        events = events.checked()
        arrays = (events.trades, events.quotes, None, events.fundings)
        fns = (lib.cscalp_push_trades, lib.cscalp_push_quotes, lib.cscalp_push_books,
               lib.cscalp_push_fundings)
        window = _BookWindow(events.books)
        total = 0
        pos = 0
        for kind, row, count in events.runs():
            done = 0
            while done < count:
                if kind == 2:
                    ptr, m = window.pointer(row + done, count - done)
                else:
                    a = arrays[kind]
                    ptr, m = a.ctypes.data + (row + done) * a.itemsize, count - done
                total += self._batch(fns[kind], ptr, m, skip_invalid, KINDS[kind], pos + done)
                done += m
            pos += count
        return total

    # -- features and inference --------------------------------------------
    @property
    def feature_names(self) -> List[str]:
        """The feature names in vector order (docs/features.md)."""
        return _lib.feature_names()

    def features(self, normalized: bool = False) -> Any:
        """The feature vector at the engine clock: raw values (units in
        docs/features.md) or, with ``normalized``, the clipped z-scores the
        model sees. A numpy array (a list without numpy)."""
        n = lib.cscalp_feature_count()
        buf = (c_double * n)()
        raw, z = (None, buf) if normalized else (buf, None)
        rc = lib.cscalp_features(self._handle(), raw, z, n, None)
        if rc != 0:
            raise self._fail(rc, "features")
        if np is None:
            return list(buf)
        return np.frombuffer(buf, dtype=np.float64)  # owns buf (fresh per call): no copy

    def infer(self) -> Signal:
        """Run the live model now (``cscalp_infer``)."""
        s = self._signal
        rc = lib.cscalp_infer(self._handle(), byref(s))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "infer")
        return Signal(s.ts_ns, (s.probabilities[0], s.probabilities[1], s.probabilities[2]),
                      s.expected_move_bps, s.confidence, s.regime, s.regime_probability,
                      name_of(AUTONOMY, s.autonomy), s.target_position, s.model_version,
                      bits_of(SIGNAL_REASONS, s.reasons))

    def adapt(self, budget_steps: int = 0) -> AdaptReport:
        """Learn now (``cscalp_adapt``) and report what the learner did."""
        if not 0 <= int(budget_steps) < 2 ** 32:
            raise ValueError(f"adapt: budget_steps must be in [0, 2^32), got {budget_steps}")
        r = _lib.AdaptReport()
        r.size = ctypes.sizeof(r)
        rc = lib.cscalp_adapt(self._handle(), budget_steps, byref(r))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "adapt")
        return AdaptReport({0: "off", 1: "inline", 2: "async"}.get(r.mode, str(r.mode)),
                           r.steps, r.promotions, r.rollbacks, r.steps_total,
                           r.promotions_total, r.rollbacks_total, r.samples_matured,
                           r.samples_pending, r.replay_size, r.model_version,
                           "fallback" if r.serving else "network")

    # -- decisions -----------------------------------------------------------
    def intents(self) -> List[Intent]:
        """Every queued intent, oldest first (``cscalp_poll_intents``). Send
        each, then report its fate with :meth:`on_order`."""
        out: List[Intent] = []
        buf = self._intents
        while True:
            n = lib.cscalp_poll_intents(self._handle(), buf, len(buf))
            if n < 0:
                raise self._fail(n, "intents")
            out.extend(_intent(buf[i]) for i in range(n))
            if n < len(buf):
                return out

    def on_order(self, update_type: Union[int, str], client_id: int, *, ts_ns: int = 0,
                 fill_id: int = 0, fill_price: float = 0.0, fill_quantity: float = 0.0,
                 fee: float = 0.0, liquidity: Union[int, str] = 0,
                 text: Optional[str] = None) -> None:
        """Report what happened to an order (``cscalp_on_order``):
        ``update_type`` "ack", "rejected", "fill", "cancelled" or "expired";
        a fill carries ``fill_id`` (non-zero), ``fill_price``,
        ``fill_quantity``, ``fee`` and ``liquidity`` ("maker"/"taker")."""
        u = _lib.OrderUpdate()
        u.size = ctypes.sizeof(u)
        u.type = value_of(UPDATE_TYPES, update_type, "update.type")
        u.client_id = client_id
        u.ts_ns = ts_ns
        u.fill_id = fill_id
        u.fill_price = fill_price
        u.fill_quantity = fill_quantity
        u.fee = fee
        u.liquidity = value_of(LIQUIDITY, liquidity, "update.liquidity")
        u.text = text.encode() if text is not None else None
        rc = lib.cscalp_on_order(self._handle(), byref(u))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "on_order")

    def set_position(self, position: float, entry_price: float = 0.0) -> None:
        """The host's authoritative position (``cscalp_set_position``)."""
        rc = lib.cscalp_set_position(self._handle(), position, entry_price)
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "set_position")

    def position(self) -> Position:
        """Position and PnL now (``cscalp_get_position``)."""
        p = _lib.Position()
        p.size = ctypes.sizeof(p)
        rc = lib.cscalp_get_position(self._handle(), byref(p))
        if rc != 0:
            raise self._fail(rc, "position")
        return Position(p.position, p.entry_price, p.mark_price, p.realised_pnl,
                        p.unrealised_pnl, p.fees, p.funding, p.equity, p.fills, p.open_orders,
                        bool(p.kill_switch), name_of(AUTONOMY, p.autonomy))

    def orders(self) -> List[WorkingOrder]:
        """The working orders, oldest first (``cscalp_get_orders``)."""
        h = self._handle()
        cap = 64
        while True:
            buf = (_lib.WorkingOrder * cap)()
            buf[0].size = ctypes.sizeof(_lib.WorkingOrder)
            n = lib.cscalp_get_orders(h, buf, cap)
            if n < 0:
                raise self._fail(n, "orders")
            if n <= cap:
                return [WorkingOrder(o.client_id, name_of(SIDES, o.side), o.created_ns,
                                     name_of(ORDER_STATUSES, o.status), bool(o.flags & 1),
                                     o.price, o.quantity, o.filled, bool(o.acked),
                                     name_of(ORDER_TYPES, o.type)) for o in buf[:n]]
            cap = n

    @property
    def autonomy(self) -> str:
        """The autonomy level: "manual", "assisted", "autonomous" or
        "evolving" (docs/risk.md). Assign a name or an int to change it."""
        return name_of(AUTONOMY, lib.cscalp_get_autonomy(self._handle()))

    @autonomy.setter
    def autonomy(self, level: Union[int, str]) -> None:
        rc = lib.cscalp_set_autonomy(self._handle(), value_of(AUTONOMY, level, "autonomy"))
        self._after_call()
        if rc != 0:
            raise self._fail(rc, "autonomy")

    # -- health and stats ----------------------------------------------------
    def stats(self) -> Dict[str, Any]:
        """Counters per stage (``cscalp_stats_json``; keys in docs/stats.md)."""
        return json.loads(self.stats_json())

    def stats_json(self) -> str:
        """The stats as the library wrote them (64-bit counters exact)."""
        return _lib.json_text(lib.cscalp_stats_json, self._handle())

    def health(self) -> HealthReport:
        """Every component's status, the feed's counters, the supervisor's
        conditions and actions (``cscalp_health``)."""
        r = _lib.HealthReport()
        r.size = ctypes.sizeof(r)
        rc = lib.cscalp_health(self._handle(), byref(r))
        if rc != 0:
            raise self._fail(rc, "health")
        comps = {}
        for i in range(min(r.component_count, len(r.components))):
            c = r.components[i]
            comps[name_of(COMPONENTS, i)] = ComponentHealth(
                name_of(STATUSES, c.status), EVENTS.get(c.last_event, "") if c.last_event else "",
                c.last_error, name_of(SEVERITIES, c.last_severity), c.last_event_ts_ns, c.events)
        return HealthReport(
            r.clock_ns, comps, {KINDS[k]: r.feed_accepted[k] for k in KINDS},
            {REJECT_REASONS[k]: r.feed_rejected[k] for k in REJECT_REASONS}, r.time_clamped,
            bits_of(SUPERVISOR_FLAGS, r.supervisor_flags),
            {PLAYBOOK_ROWS[k]: r.playbook_actions[k] for k in PLAYBOOK_ROWS
             if k < r.playbook_count})

    def set_health_callback(self, fn: Optional[Callable[[HealthEvent], Any]]) -> None:
        """Call ``fn(event: HealthEvent)`` for every health event, on the
        thread that called into the engine, inside that call (the C
        contract in cryptoscalp.h). ``None`` removes it.

        The callable is kept alive by the engine. It must not call back into
        this engine. An exception it raises cannot cross the C library: it
        is logged (logger "cryptoscalp"), warned as
        :class:`~cryptoscalp.CallbackError`, kept in ``callback_errors`` (the
        latest 100) and counted in ``callback_error_count``; the engine call
        goes on. KeyboardInterrupt and SystemExit are raised again as soon
        as that call returns.
        """
        h = self._handle()
        if fn is None:
            lib.cscalp_set_health_callback(h, _lib.HEALTH_FN(), None)
            self._callback = None
            return
        if not callable(fn):
            raise TypeError("set_health_callback: expected a callable or None")
        # A weak reference: the engine holds the trampoline, the trampoline
        # must not hold the engine (a cycle would keep the C handle alive
        # until the cyclic collector runs).
        engine_ref = weakref.ref(self)

        def trampoline(ev_ptr: Any, _user: Any) -> None:
            engine = engine_ref()
            if engine is None:  # pragma: no cover - closing clears the callback first
                return
            engine._in_callback = True
            try:
                fn(_health_event(ev_ptr.contents))
            except (KeyboardInterrupt, SystemExit) as exc:
                engine._interrupt = exc
            except BaseException as exc:  # noqa: BLE001 - nothing may cross C
                engine._callback_failed(exc)
            finally:
                engine._in_callback = False

        cb = _lib.HEALTH_FN(trampoline)
        rc = lib.cscalp_set_health_callback(h, cb, None)
        if rc != 0:
            raise self._fail(rc, "set_health_callback")
        self._callback = cb

    def _callback_failed(self, exc: BaseException) -> None:
        self.callback_error_count += 1
        self.callback_errors.append(exc)
        del self.callback_errors[:-CALLBACK_ERRORS_KEPT]
        log.error("health callback raised %r (the engine call went on)", exc,
                  exc_info=(type(exc), exc, exc.__traceback__))
        warnings.warn(f"health callback raised {exc!r}; the engine call went on",
                      CallbackError, stacklevel=2)

    def __repr__(self) -> str:
        if self.closed:
            return "<cryptoscalp.Engine closed>"
        return f"<cryptoscalp.Engine autonomy={self.autonomy}>"


def version() -> str:
    """The linked library's version, "MAJOR.MINOR.PATCH"."""
    return lib.cscalp_version_string().decode()


def has_feature(feature: int) -> bool:
    """Whether the library was built with a capability (constants.FEATURE_*)."""
    return bool(lib.cscalp_has_feature(feature))

