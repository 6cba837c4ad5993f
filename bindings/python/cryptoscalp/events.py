"""Market data as numpy arrays, in the engine's own layouts.

The structured dtypes below are byte-for-byte the C structs of
``cryptoscalp.h`` (``cscalp_trade``, ``cscalp_quote``, ``cscalp_funding``;
``book_dtype(50)`` is ``cscalp_book``), so an array of them goes to the batch
calls (``cscalp_push_trades`` ...) without a copy. A book array may carry
fewer levels a side (``book_dtype(levels)``) to save memory; it is widened to
the C layout chunk by chunk when pushed.

:class:`Events` is one recorded stream: one array per kind plus ``kinds``,
the kind of every event in stream order, so a merged feed (trades between
quotes between books) is replayed in exactly the order it was read. This is
what :mod:`cryptoscalp.data` readers return and what
:meth:`cryptoscalp.Engine.push_events` and :func:`cryptoscalp.backtest` take.

numpy is needed only here and by the functions that take arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

from .constants import KINDS

try:  # the scalar API works without numpy
    import numpy as np
except ImportError:  # pragma: no cover - exercised by the no-numpy test
    np = None  # type: ignore[assignment]

#: Event kinds, the values of ``cscalp_event_kind``.
KIND_TRADE = 0
KIND_QUOTE = 1
KIND_BOOK = 2
KIND_FUNDING = 3
KIND_NAMES = tuple(KINDS[k] for k in sorted(KINDS))

#: Most levels a side a book carries (``CSCALP_BOOK_MAX_LEVELS``).
BOOK_MAX_LEVELS = 50

#: Trade aggressor sides (``cscalp_side``).
SIDE_BUY = 1
SIDE_SELL = -1


def _require_numpy() -> Any:
    if np is None:
        raise ImportError("this function needs numpy (the scalar API does not): "
                          "install python3-numpy or pip install numpy")
    return np


def _dtypes() -> tuple:
    n = _require_numpy()
    trade = n.dtype([("ts_ns", "<i8"), ("price", "<f8"), ("size", "<f8"),
                     ("side", "<i4"), ("flags", "<u4"), ("trade_id", "<i8")])
    quote = n.dtype([("ts_ns", "<i8"), ("bid_price", "<f8"), ("bid_size", "<f8"),
                     ("ask_price", "<f8"), ("ask_size", "<f8")])
    funding = n.dtype([("ts_ns", "<i8"), ("funding_rate", "<f8"), ("mark_price", "<f8"),
                       ("index_price", "<f8"), ("next_funding_ts_ns", "<i8")])
    return trade, quote, funding


if np is not None:
    TRADE_DTYPE, QUOTE_DTYPE, FUNDING_DTYPE = _dtypes()
else:  # pragma: no cover
    TRADE_DTYPE = QUOTE_DTYPE = FUNDING_DTYPE = None


def book_dtype(levels: int = BOOK_MAX_LEVELS) -> Any:
    """The dtype of a book array keeping ``levels`` levels a side.

    Fields: ``ts_ns`` (int64), ``bid_count``/``ask_count`` (uint32, how many
    levels are real), ``bids``/``asks`` (float64, shape ``(levels, 2)``: price
    then size, best first). ``book_dtype(50)`` is the C ``cscalp_book``.
    """
    n = _require_numpy()
    if not 1 <= int(levels) <= BOOK_MAX_LEVELS:
        raise ValueError(f"levels: must be in 1..{BOOK_MAX_LEVELS}, got {levels}")
    return n.dtype([("ts_ns", "<i8"), ("bid_count", "<u4"), ("ask_count", "<u4"),
                    ("bids", "<f8", (int(levels), 2)), ("asks", "<f8", (int(levels), 2))])


def book_levels(arr: Any) -> int:
    """Levels a side that a book array's dtype holds."""
    return int(arr.dtype["bids"].shape[0])


def c_array(arr: Any) -> Any:
    """`arr` as the C calls need it: C-contiguous and 8-byte aligned (every
    struct has int64/double members). numpy's own "aligned" flag does not
    say so for packed structured dtypes, and arrays unpickled from out-of-
    band buffers (Dask, multiprocessing) may sit at any address: such an
    array is copied once into a fresh, aligned one."""
    if arr.flags.c_contiguous and arr.ctypes.data % 8 == 0:
        return arr
    out = np.empty(arr.shape, arr.dtype)  # fresh: malloc-aligned
    out[...] = arr
    return out


def trades_from_columns(ts_ns: Any, price: Any, size: Any, side: Any,
                        trade_id: Optional[Any] = None) -> Any:
    """A trade array from column arrays (any sequence numpy takes)."""
    n = _require_numpy()
    ts = n.asarray(ts_ns, dtype="<i8")
    out = n.zeros(ts.shape[0], TRADE_DTYPE)
    out["ts_ns"] = ts
    out["price"] = price
    out["size"] = size
    out["side"] = side
    if trade_id is not None:
        out["trade_id"] = trade_id
    return out


def quotes_from_columns(ts_ns: Any, bid_price: Any, bid_size: Any, ask_price: Any,
                        ask_size: Any) -> Any:
    """A quote array from column arrays."""
    n = _require_numpy()
    ts = n.asarray(ts_ns, dtype="<i8")
    out = n.zeros(ts.shape[0], QUOTE_DTYPE)
    out["ts_ns"] = ts
    out["bid_price"] = bid_price
    out["bid_size"] = bid_size
    out["ask_price"] = ask_price
    out["ask_size"] = ask_size
    return out


def fundings_from_columns(ts_ns: Any, funding_rate: Any, mark_price: Any,
                          index_price: Any = 0.0, next_funding_ts_ns: Any = 0) -> Any:
    """A funding array from column arrays."""
    n = _require_numpy()
    ts = n.asarray(ts_ns, dtype="<i8")
    out = n.zeros(ts.shape[0], FUNDING_DTYPE)
    out["ts_ns"] = ts
    out["funding_rate"] = funding_rate
    out["mark_price"] = mark_price
    out["index_price"] = index_price
    out["next_funding_ts_ns"] = next_funding_ts_ns
    return out


def books_from_columns(ts_ns: Any, bid_price: Any, bid_size: Any, ask_price: Any,
                       ask_size: Any, bid_count: Optional[Any] = None,
                       ask_count: Optional[Any] = None) -> Any:
    """A book array from 2-D columns of shape ``(n, levels)`` (best first).

    Counts default to every level; give them when some books are shallower
    (levels past a count are ignored by the engine).
    """
    n = _require_numpy()
    ts = n.asarray(ts_ns, dtype="<i8")
    bp = n.asarray(bid_price, dtype="<f8")
    if bp.ndim != 2:
        raise ValueError("bid_price: must be 2-D, (books, levels)")
    levels = bp.shape[1]
    out = n.zeros(ts.shape[0], book_dtype(levels))
    out["ts_ns"] = ts
    out["bids"][:, :, 0] = bp
    out["bids"][:, :, 1] = bid_size
    out["asks"][:, :, 0] = ask_price
    out["asks"][:, :, 1] = ask_size
    out["bid_count"] = levels if bid_count is None else bid_count
    out["ask_count"] = levels if ask_count is None else ask_count
    return out


@dataclass
class Events:
    """One stream of market data in stream order.

    ``kinds[i]`` is the kind (``KIND_TRADE`` ...) of the i-th event; the j-th
    event of a kind is row j of that kind's array. ``levels`` is how many
    levels a side ``books`` keeps.
    """

    trades: Any
    quotes: Any
    books: Any
    fundings: Any
    kinds: Any
    source: str = ""
    counters: dict = field(default_factory=dict)

    @classmethod
    def empty(cls, levels: int = 10) -> "Events":
        n = _require_numpy()
        return cls(n.zeros(0, TRADE_DTYPE), n.zeros(0, QUOTE_DTYPE),
                   n.zeros(0, book_dtype(levels)), n.zeros(0, FUNDING_DTYPE),
                   n.zeros(0, n.uint8))

    def checked(self) -> "Events":
        """This stream as the C calls need it, or an error naming what is
        wrong: each array of its kind's dtype (books: ``book_dtype(levels)``
        for some level count), C-contiguous and 8-byte aligned (copied once
        when not), ``kinds`` only 0..3 and naming exactly as many events of
        each kind as its array holds. The pushes and backtests call it, so a
        malformed stream never reaches C."""
        n = _require_numpy()
        kinds = n.asarray(self.kinds)
        if kinds.ndim != 1 or kinds.dtype.kind not in "ui":
            raise TypeError(f"Events.kinds: expected a 1-D integer array, got {kinds.dtype} "
                            f"of shape {kinds.shape}")
        if kinds.size and (int(kinds.min()) < 0 or int(kinds.max()) > 3):
            raise ValueError("Events.kinds: values must be 0..3 (trade, quote, book, funding)")
        counts = n.bincount(kinds.astype(n.int64), minlength=4)
        wanted = (TRADE_DTYPE, QUOTE_DTYPE, None, FUNDING_DTYPE)
        out = []
        for k, arr in enumerate(self._arrays()):
            name = KIND_NAMES[k] + "s"
            if not isinstance(arr, n.ndarray) or arr.ndim != 1:
                raise TypeError(f"Events.{name}: expected a 1-D structured numpy array")
            dt = wanted[k] if k != 2 else (
                book_dtype(book_levels(arr)) if arr.dtype.names and "bids" in arr.dtype.names
                else None)
            if dt is None or arr.dtype != dt:
                raise TypeError(f"Events.{name}: dtype {arr.dtype} is not the "
                                f"{'book_dtype(levels)' if k == 2 else 'C layout'} "
                                "(cryptoscalp.events)")
            if counts[k] != arr.shape[0]:
                raise ValueError(f"Events.kinds: names {counts[k]} {name}, the array "
                                 f"holds {arr.shape[0]}")
            out.append(c_array(arr))
        return Events(out[0], out[1], out[2], out[3], kinds, self.source, self.counters)

    @classmethod
    def merge(cls, trades: Any = None, quotes: Any = None, books: Any = None,
              fundings: Any = None, levels: int = 10) -> "Events":
        """One stream from per-kind data, ordered by ``ts_ns``. Trades,
        quotes and fundings may be arrays of their dtype, other structured
        arrays, dicts of columns or DataFrames (as the push calls take);
        books an array of ``book_dtype(levels)``.

        Equal times: trades first, then quotes, books, fundings, each in its
        array's order (a stable sort). The readers of :mod:`cryptoscalp.data`
        keep their file's own order instead.
        """
        n = _require_numpy()
        from .engine import _records  # the push calls' conversion of columns
        if trades is not None:
            trades = _records(trades, {}, TRADE_DTYPE, ("ts_ns", "price", "size", "side"),
                              "Events.merge trades")
        if quotes is not None:
            quotes = _records(quotes, {}, QUOTE_DTYPE, ("ts_ns", "bid_price", "bid_size",
                                                       "ask_price", "ask_size"),
                              "Events.merge quotes")
        if fundings is not None:
            fundings = _records(fundings, {}, FUNDING_DTYPE,
                                ("ts_ns", "funding_rate", "mark_price"), "Events.merge fundings")
        e = cls.empty(levels if books is None else book_levels(books))
        arrs = [trades, quotes, books, fundings]
        defaults = [e.trades, e.quotes, e.books, e.fundings]
        arrs = [d if a is None else a for a, d in zip(arrs, defaults)]
        for i, a in enumerate(arrs):
            if a.shape[0] > 1 and n.any(n.diff(a["ts_ns"]) < 0):
                arrs[i] = a[n.argsort(a["ts_ns"], kind="stable")]
        ts = n.concatenate([a["ts_ns"] for a in arrs])
        kinds = n.concatenate([n.full(a.shape[0], k, n.uint8) for k, a in enumerate(arrs)])
        order = n.lexsort((kinds, ts))
        return cls(arrs[0], arrs[1], arrs[2], arrs[3], kinds[order])

    @property
    def levels(self) -> int:
        return book_levels(self.books)

    def __len__(self) -> int:
        return int(self.kinds.shape[0])

    def counts(self) -> dict:
        """Events per kind name."""
        return {"trade": int(self.trades.shape[0]), "quote": int(self.quotes.shape[0]),
                "book": int(self.books.shape[0]), "funding": int(self.fundings.shape[0])}

    def timestamps(self) -> Any:
        """Every event's ``ts_ns`` in stream order."""
        n = _require_numpy()
        ts = n.empty(len(self), n.int64)
        for k, a in enumerate(self._arrays()):
            ts[self.kinds == k] = a["ts_ns"]
        return ts

    def _arrays(self) -> Sequence[Any]:
        return (self.trades, self.quotes, self.books, self.fundings)

    def slice(self, start: int, stop: int) -> "Events":
        """Events ``start:stop`` of the stream (views, no copy)."""
        n = _require_numpy()
        start, stop, _ = slice(start, stop).indices(len(self))
        stop = max(stop, start)
        parts = []
        for k, a in enumerate(self._arrays()):
            before = int(n.count_nonzero(self.kinds[:start] == k))
            inside = int(n.count_nonzero(self.kinds[start:stop] == k))
            parts.append(a[before:before + inside])
        return Events(parts[0], parts[1], parts[2], parts[3], self.kinds[start:stop],
                      self.source)

    def between(self, t0_ns: int, t1_ns: int) -> "Events":
        """The events with ``t0_ns <= ts_ns < t1_ns`` (the stream is in time
        order, so this is one slice)."""
        n = _require_numpy()
        ts = self.timestamps()
        return self.slice(int(n.searchsorted(ts, t0_ns, "left")),
                          int(n.searchsorted(ts, t1_ns, "left")))

    def runs(self) -> Iterator[tuple]:
        """``(kind, first_row, count)`` for each run of consecutive events of
        one kind, in stream order (what the batch push calls take)."""
        n = _require_numpy()
        if len(self) == 0:
            return
        kinds = self.kinds
        edges = n.flatnonzero(kinds[1:] != kinds[:-1]) + 1
        starts = n.concatenate(([0], edges))
        ends = n.concatenate((edges, [len(self)]))
        run_kinds = kinds[starts]
        # Row of each run's first event within its kind's array.
        rows = n.zeros(starts.shape[0], n.int64)
        for k in range(4):
            sel = run_kinds == k
            lengths = (ends - starts)[sel]
            rows[sel] = n.concatenate(([0], n.cumsum(lengths)[:-1])) if lengths.size else []
        for k, r, s, e in zip(run_kinds.tolist(), rows.tolist(), starts.tolist(), ends.tolist()):
            yield k, r, e - s
