"""Readers for the recorded market data that ``cscalp-backtest`` takes.

Every format the C example host reads (``examples/common/``) is read here
into an :class:`~cryptoscalp.events.Events` — the same events, with the same
values (bit for bit) and in the same order as the C readers yield them:

* Binance USDⓈ-M raw websocket captures (gzip, lines ``<local time> <json>``;
  the L2 book rebuilt from a REST snapshot and the ``depthUpdate`` diffs):
  :func:`read_binance_capture` (``binance_capture.c``);
* Binance historical depth CSVs, snapshots and updates merged by update id:
  :func:`read_binance_depth` (``binance_depth.c``);
* tardis.dev trades and quotes CSVs (gzip), merged by local time:
  :func:`read_tardis` (``tardis.c``);
* LOBSTER zips (message + order-book CSVs): :func:`read_lobster`
  (``lobster.c``);
* FXCM day zips of ``ms_since_midnight,bid,ask``: :func:`read_fxcm`
  (``fxcm.c``);
* the binary event files of ``cscalp-backtest --convert``:
  :func:`read_event_file` and :func:`write_event_file` (``event_file.c``).

:func:`detect` tells the formats apart by content as ``source_detect`` does,
and :func:`read` takes one path or several, grouping consecutive tardis files
(and consecutive Binance depth files) into one stream as
``cscalp-backtest FILE...`` does, and concatenating the streams in order.

Malformed rows and lines are skipped and counted as the C readers count
them (``Events.counters`` holds the same names as the C reader's counters
JSON). A damaged file — broken compression, a CRC mismatch, a truncated
event file, LOBSTER members of different lengths — raises :class:`DataError`
naming the file and the line or record; a file of no known format raises
:class:`FormatError` (both are :class:`ValueError`).

CSV columns are parsed with numpy (the rows the fast path cannot prove valid
are parsed one by one with the C readers' rules); JSON captures and the depth
CSVs rebuild an order book, which is necessarily a loop over messages.

Known differences from the C readers, all on input no recorder writes: JSON
syntax is Python's (cJSON also takes a few non-standard forms such as
leading zeros in numbers or form feeds between tokens, and rejects lone
surrogates); zip archives are read with :mod:`zipfile` (which takes ZIP64
end records that ``zip_reader.c`` refuses); a NUL byte inside a capture line
longer than 64 KiB may be handled differently.
"""
from __future__ import annotations

import bisect
import datetime
import json
import logging
import math
import os
import re
import struct
import zipfile
import zlib
from array import array
from fractions import Fraction
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from .events import (BOOK_MAX_LEVELS, FUNDING_DTYPE, KIND_BOOK, KIND_FUNDING, KIND_QUOTE,
                     KIND_TRADE, QUOTE_DTYPE, SIDE_BUY, SIDE_SELL, TRADE_DTYPE, Events,
                     book_dtype)

__all__ = [
    "FormatError", "DataError", "SOURCE_KINDS", "detect", "group_size", "read",
    "read_binance_capture", "read_binance_depth", "read_tardis", "read_lobster", "read_fxcm",
    "read_event_file", "write_event_file",
]

PathLike = Union[str, "os.PathLike[str]"]
Paths = Union[PathLike, Sequence[PathLike]]

_log = logging.getLogger(__name__)


class FormatError(ValueError):
    """A file is none of the formats :func:`detect` knows, or is not the
    format the reader it was given to reads (a wrong header, no message
    member in a LOBSTER zip ...). The message names the file."""


class DataError(ValueError):
    """A file of a known format is damaged: broken compression, a CRC
    mismatch, a truncated or corrupt record. The message names the file and
    the line or record (and the field) where the damage was found."""


#: The kinds :func:`detect` returns (``source_kind_name`` of sources.c).
SOURCE_KINDS = ("binance", "lobster", "fxcm", "tardis", "events", "binance-depth")

#: Files read as one stream at most (TARDIS_MAX_FILES, BDEPTH_MAX_FILES).
_GROUP_LIMIT = {"tardis": 8, "binance-depth": 8}

_INT64_MAX = (1 << 63) - 1
_U64_MAX = (1 << 64) - 1
_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_S
_INF = math.inf
_DBL_MIN = 2.2250738585072014e-308
_EXACT_ID_MAX = 9007199254740992  # 2^53: integers above it do not survive a double
_POW10 = np.array([10.0 ** k for k in range(23)])  # all exact
_LOG_LIMIT = 20


# ------------------------------------------------------------------ helpers


def _fspath(path: PathLike) -> str:
    """The path as a str."""
    return os.fspath(path)


def _check_levels(levels: int) -> int:
    """`levels` checked: an int in 1..50."""
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)):
        raise TypeError(f"levels: must be an int in 1..{BOOK_MAX_LEVELS}, got {levels!r}")
    if not 1 <= int(levels) <= BOOK_MAX_LEVELS:
        raise ValueError(f"levels: must be in 1..{BOOK_MAX_LEVELS}, got {levels}")
    return int(levels)


def _check_max(max_events: Optional[int]) -> Optional[int]:
    """`max_events` checked: None or an int >= 0."""
    if max_events is None:
        return None
    if isinstance(max_events, bool) or not isinstance(max_events, (int, np.integer)):
        raise TypeError(f"max_events: must be an int >= 0 or None, got {max_events!r}")
    if max_events < 0:
        raise ValueError(f"max_events: must be >= 0, got {max_events}")
    return int(max_events)


def _path_list(paths: Paths) -> List[str]:
    """One path or several as a list of str (at least one)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        return [_fspath(paths)]  # type: ignore[arg-type]
    out = [_fspath(p) for p in paths]
    if not out:
        raise ValueError("paths: no file given")
    return out


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days from 1970-01-01 to y-m-d (proleptic Gregorian)."""
    return datetime.date(y, m, d).toordinal() - 719163


_MDAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_date(y: int, m: int, d: int) -> bool:
    """A real date of 1970..2261, as the C readers accept it."""
    if y < 1970 or y > 2261 or m < 1 or m > 12 or d < 1 or d > _MDAYS[m - 1]:
        return False
    if m == 2 and d == 29 and not ((y % 4 == 0 and y % 100 != 0) or y % 400 == 0):
        return False
    return True


def _base_name(name: str) -> str:
    """After the last '/', as strrchr(name, '/') in the C readers."""
    return name[name.rfind("/") + 1:]


class _Builder:
    """Events collected one at a time (the JSON and depth readers), kept in
    compact typed arrays until the end."""

    def __init__(self, levels: int) -> None:
        """Empty, for books of `levels` levels a side."""
        self.levels = levels
        self.kinds = bytearray()
        self.t_ts = array("q")
        self.t_price = array("d")
        self.t_size = array("d")
        self.t_side = array("i")
        self.t_id = array("q")
        self.q = array("d")       # bid, bid size, ask, ask size per quote
        self.q_ts = array("q")
        self.f = array("d")       # rate, mark, index per funding
        self.f_ts = array("q")
        self.f_next = array("q")
        self.b_ts = array("q")
        self.b_nb = array("I")
        self.b_na = array("I")
        self.b_bp = array("d")    # `levels` values a book, zero padded
        self.b_bs = array("d")
        self.b_ak = array("d")    # ask keys (-price), padded with -0.0
        self.b_as = array("d")

    def events(self, source: str, counters: dict) -> Events:
        """The collected events as an Events."""
        n_t = len(self.t_ts)
        trades = np.zeros(n_t, TRADE_DTYPE)
        if n_t:
            trades["ts_ns"] = np.frombuffer(self.t_ts, np.int64)
            trades["price"] = np.frombuffer(self.t_price, np.float64)
            trades["size"] = np.frombuffer(self.t_size, np.float64)
            trades["side"] = np.frombuffer(self.t_side, np.int32)
            trades["trade_id"] = np.frombuffer(self.t_id, np.int64)
        n_q = len(self.q_ts)
        quotes = np.zeros(n_q, QUOTE_DTYPE)
        if n_q:
            q = np.frombuffer(self.q, np.float64).reshape(n_q, 4)
            quotes["ts_ns"] = np.frombuffer(self.q_ts, np.int64)
            quotes["bid_price"] = q[:, 0]
            quotes["bid_size"] = q[:, 1]
            quotes["ask_price"] = q[:, 2]
            quotes["ask_size"] = q[:, 3]
        n_f = len(self.f_ts)
        fundings = np.zeros(n_f, FUNDING_DTYPE)
        if n_f:
            f = np.frombuffer(self.f, np.float64).reshape(n_f, 3)
            fundings["ts_ns"] = np.frombuffer(self.f_ts, np.int64)
            fundings["funding_rate"] = f[:, 0]
            fundings["mark_price"] = f[:, 1]
            fundings["index_price"] = f[:, 2]
            fundings["next_funding_ts_ns"] = np.frombuffer(self.f_next, np.int64)
        n_b = len(self.b_ts)
        lv = self.levels
        books = np.zeros(n_b, book_dtype(lv))
        if n_b:
            books["ts_ns"] = np.frombuffer(self.b_ts, np.int64)
            books["bid_count"] = np.frombuffer(self.b_nb, np.uint32)
            books["ask_count"] = np.frombuffer(self.b_na, np.uint32)
            books["bids"][:, :, 0] = np.frombuffer(self.b_bp, np.float64).reshape(n_b, lv)
            books["bids"][:, :, 1] = np.frombuffer(self.b_bs, np.float64).reshape(n_b, lv)
            books["asks"][:, :, 0] = -np.frombuffer(self.b_ak, np.float64).reshape(n_b, lv)
            books["asks"][:, :, 1] = np.frombuffer(self.b_as, np.float64).reshape(n_b, lv)
        kinds = np.frombuffer(bytes(self.kinds), np.uint8).copy()
        return Events(trades, quotes, books, fundings, kinds, source, counters)


class _Book:
    """Full-depth price-level book (l2_book.c): one sorted list a side,
    worst level first, so the best level sits at the end. Asks are kept by
    key -price, which sorts them the same way."""

    __slots__ = ("bk", "bs", "ak", "as_")

    def __init__(self) -> None:
        """An empty book."""
        self.bk: List[float] = []   # bid prices, ascending
        self.bs: List[float] = []
        self.ak: List[float] = []   # -ask price, ascending
        self.as_: List[float] = []

    def clear(self) -> None:
        """Remove every level."""
        self.bk.clear()
        self.bs.clear()
        self.ak.clear()
        self.as_.clear()

    def emit(self, out: _Builder, ts: int) -> bool:
        """The top of the book as a book event (emit_book); none while a side
        is empty."""
        bk = self.bk
        ak = self.ak
        nb = len(bk)
        na = len(ak)
        if nb == 0 or na == 0:
            return False
        lv = out.levels
        cb = nb if nb < lv else lv
        ca = na if na < lv else lv
        out.kinds.append(KIND_BOOK)
        out.b_ts.append(ts)
        out.b_nb.append(cb)
        out.b_na.append(ca)
        out.b_bp.extend(bk[-1:-cb - 1:-1])
        out.b_bs.extend(self.bs[-1:-cb - 1:-1])
        out.b_ak.extend(ak[-1:-ca - 1:-1])
        out.b_as.extend(self.as_[-1:-ca - 1:-1])
        if cb < lv:
            out.b_bp.extend(_ZEROS[:lv - cb])
            out.b_bs.extend(_ZEROS[:lv - cb])
        if ca < lv:
            out.b_ak.extend(_NEG_ZEROS[:lv - ca])
            out.b_as.extend(_ZEROS[:lv - ca])
        return True


_ZEROS = [0.0] * BOOK_MAX_LEVELS
_NEG_ZEROS = [-0.0] * BOOK_MAX_LEVELS


def _apply_side(keys: List[float], sizes: List[float],
                levels: Iterable[Tuple[float, float]], sign: float) -> None:
    """Set each (price, size) on one side, in order, as l2_book_set does:
    size 0 removes the level. Keys are sign * price (bids +1, asks -1), kept
    ascending."""
    find = bisect.bisect_left
    for p, size in levels:
        key = sign * p
        i = find(keys, key)
        if i < len(keys) and keys[i] == key:
            if size == 0.0:
                del keys[i]
                del sizes[i]
            else:
                sizes[i] = size
        elif size != 0.0:
            keys.insert(i, key)
            sizes.insert(i, size)


# ------------------------------------------------------- C number parsing

_C_SPACE = " \t\n\v\f\r"
_HEX_RE = re.compile(r"[+-]?0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                     r"(?:[pP][+-]?[0-9]+)?)")
_DEC_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INFNAN_RE = re.compile(r"[+-]?(?:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)
_STRTOLL_RE = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+")


def _exact_value(text: str) -> Fraction:
    """The exact rational value of a decimal or hex floating literal."""
    t = text.strip(_C_SPACE)
    neg = t.startswith("-")
    t = t.lstrip("+-")
    if t[:2].lower() == "0x":
        body = t[2:]
        exp = 0
        if "p" in body.lower():
            k = body.lower().index("p")
            exp = int(body[k + 1:])
            body = body[:k]
        if "." in body:
            ip, fp = body.split(".", 1)
        else:
            ip, fp = body, ""
        mant = int((ip + fp) or "0", 16)
        v = Fraction(mant) * Fraction(2) ** (exp - 4 * len(fp))
    else:
        v = Fraction(t)
    return -v if neg else v


def _c_strtod(text: str) -> Tuple[float, int, bool]:
    """glibc strtod(text, &end): (value, characters consumed, errno ==
    ERANGE). Consumed 0: no conversion."""
    i = 0
    n = len(text)
    while i < n and text[i] in _C_SPACE:
        i += 1
    m = _HEX_RE.match(text, i)
    if m:
        lit = m.group(0)  # an exponent is consumed only with its digits
        try:
            v = float.fromhex(lit)
        except OverflowError:
            v = -math.inf if lit.startswith("-") else math.inf
        end = m.end()
    else:
        m = _INFNAN_RE.match(text, i)
        if m:
            lit = m.group(0)
            low = lit.lower().lstrip("+-")
            erange = False
            if low.startswith("nan"):
                v = math.nan
                if "(" in low:  # glibc: the n-char-sequence, read by strtoull base 0, is
                    seq = low[low.index("(") + 1:-1]  # the payload (its low 51 bits)
                    full = re.fullmatch(r"0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*", seq)
                    if full:
                        mant = (int(seq[2:], 16) if seq.startswith("0x") else
                                int(seq, 8) if seq.startswith("0") else int(seq))
                        if mant > _U64_MAX:
                            mant, erange = _U64_MAX, True
                        mant &= (1 << 51) - 1
                        if mant:
                            bits = 0x7FF8000000000000 | mant
                            v = struct.unpack("<d", struct.pack("<Q", bits))[0]
            else:
                v = math.inf
            if lit.startswith("-"):
                v = -v
            return v, m.end(), erange
        m = _DEC_RE.match(text, i)  # "0x" without a hex digit: the "0"
        if not m:
            return 0.0, 0, False
        lit = m.group(0)
        v = float(lit)
        end = m.end()
    erange = False
    if math.isinf(v):
        erange = True
    elif abs(v) < _DBL_MIN and _exact_value(lit) != Fraction(v):
        erange = True
    return v, end, erange


def _c_number(text: str) -> Optional[float]:
    """tardis.c number(): strtod consuming everything, errno 0."""
    v, used, erange = _c_strtod(text)
    if used == 0 or used != len(text) or erange:
        return None
    return v


def _c_integer(text: str) -> Optional[int]:
    """tardis.c integer(): strtoll base 10 consuming everything, errno 0."""
    if not _STRTOLL_RE.fullmatch(text):
        return None
    v = int(text.strip(_C_SPACE))
    if v > _INT64_MAX or v < -_INT64_MAX - 1:
        return None
    return v


_DEC_FIRST = frozenset("0123456789-.")


def _decimal_exact(s: Any) -> Optional[float]:
    """binance_capture.c parse_decimal on a JSON value: a string whose first
    character is a digit, '-' or '.', that strtod takes whole, finite."""
    if type(s) is not str:
        return None
    if "\0" in s:
        s = s[:s.index("\0")]  # a C string ends there
    if not s or s[0] not in _DEC_FIRST:
        return None
    v, used, _ = _c_strtod(s)
    if used != len(s) or v - v != 0.0:
        return None
    return v


def _decimal_fast(s: Any) -> Optional[float]:
    """_decimal_exact for a value of a line holding only ASCII, no '_' and
    no escape: Python's float() then takes exactly what strtod takes, save
    hex (handed to the exact parser)."""
    if type(s) is not str or not s or s[0] not in _DEC_FIRST or s[-1] <= " ":
        return None
    try:
        v = float(s)
    except ValueError:
        return _decimal_exact(s)
    if v - v != 0.0:
        return None
    return v


# ------------------------------------------------------------ compressed input


class _GzError(Exception):
    """A read or decompression error (zlib's message)."""


def _gz_chunks(path: str, chunk: int = 1 << 17) -> Iterator[bytes]:
    """The decompressed bytes of `path` as zlib's gzread gives them: a file
    that does not start with the gzip magic is read as it is; gzip members
    follow one another; anything after a member that is not another member
    is ignored. Raises _GzError (after yielding what decompressed)."""
    with open(path, "rb") as f:
        raw = f.read(chunk)
        if raw[:2] != b"\x1f\x8b":
            while raw:
                yield raw
                raw = f.read(chunk)
            return
        d = zlib.decompressobj(31)
        while True:
            if not raw:
                if not d.eof:
                    raise _GzError("unexpected end of file")
                return
            try:
                out = d.decompress(raw)
            except zlib.error as e:
                raise _GzError(str(e).replace("Error -3 while decompressing data: ", "")) from None
            if out:
                yield out
            if d.eof:
                rest = d.unused_data
                while len(rest) < 2:
                    more = f.read(chunk)
                    if not more:
                        break
                    rest += more
                if rest[:2] != b"\x1f\x8b":
                    return  # trailing garbage: ignored, as gzread does
                d = zlib.decompressobj(31)
                raw = rest
            else:
                raw = f.read(chunk)


class _GzLines:
    """zlib's gzgets / gzgetc / gzeof over _gz_chunks, for the readers whose
    line semantics depend on their fixed line buffer."""

    def __init__(self, path: str) -> None:
        """Lines of the (plain or gzip) file at `path`."""
        self._chunks = _gz_chunks(path)
        self._buf = b""
        self._pos = 0
        self.past = False  # gzeof(): a read hit the end of the data

    def _fill(self) -> bool:
        """Append the next chunk; False at the end of the data."""
        try:
            c = next(self._chunks)
        except StopIteration:
            return False
        self._buf = self._buf[self._pos:] + c
        self._pos = 0
        return True

    def gets(self, size: int) -> Optional[bytes]:
        """gzgets(buf, size): up to size - 1 bytes, or through a newline;
        None when nothing is left."""
        want = size - 1
        parts = []
        got = 0
        while True:
            buf = self._buf
            pos = self._pos
            if pos < len(buf):
                stop = min(len(buf), pos + want - got)
                nl = buf.find(b"\n", pos, stop)
                if nl >= 0:
                    parts.append(buf[pos:nl + 1])
                    self._pos = nl + 1
                    return b"".join(parts)
                parts.append(buf[pos:stop])
                got += stop - pos
                self._pos = stop
                if got == want:
                    return b"".join(parts)
            if not self._fill():
                self.past = True
                return b"".join(parts) if got else None

    def getc(self) -> int:
        """gzgetc: the next byte, or -1 at the end."""
        if self._pos >= len(self._buf) and not self._fill():
            self.past = True
            return -1
        c = self._buf[self._pos]
        self._pos += 1
        return c

    def rest(self) -> Iterator[bytes]:
        """Everything not read yet, in chunks."""
        if self._pos < len(self._buf):
            yield self._buf[self._pos:]
        self._buf = b""
        self._pos = 0
        yield from self._chunks

    def rest_of_line(self) -> None:
        """while ((ch = gzgetc()) != -1 && ch != '\\n');"""
        while True:
            buf = self._buf
            nl = buf.find(b"\n", self._pos)
            if nl >= 0:
                self._pos = nl + 1
                return
            self._pos = len(buf)
            if not self._fill():
                self.past = True
                return


def _first_line(path: str, size: int) -> Optional[bytes]:
    """gzgets(line, size) on a fresh gzopen of `path`: the first line (at most
    size - 1 bytes); None when nothing can be read."""
    try:
        return _GzLines(path).gets(size)
    except _GzError:
        return None


def _chomp(line: bytes) -> bytes:
    """strlen, then strip trailing newlines and carriage returns."""
    k = line.find(b"\0")
    if k >= 0:
        line = line[:k]
    return line.rstrip(b"\r\n")


# ------------------------------------------------------------ detection

_BDEPTH_HEADER = b"symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"
_TARDIS_TRADES = b"exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
_TARDIS_QUOTES = (b"exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,"
                  b"bid_amount")
_EVENT_MAGIC = b"CSCALPEV"


def _depth_header_ok(path: str) -> bool:
    """bdepth_detect: the first line (plain or gzip) is the depth header."""
    line = _first_line(path, 1024)
    return line is not None and _chomp(line) == _BDEPTH_HEADER


def _zip_names(path: str) -> List[str]:
    """The member names of a zip, in central-directory order."""
    try:
        with zipfile.ZipFile(path) as z:
            return [i.filename for i in z.infolist()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as e:
        raise DataError(f"{path}: not a readable zip archive: {e}") from None


def detect(path: PathLike) -> str:
    """The format of the file at `path`, as ``source_detect`` (sources.c)
    tells it: ``"events"`` (starts with the event file magic),
    ``"binance-depth"`` (plain or gzip, first line the Binance depth CSV
    header), ``"tardis"`` (gzip, first line a tardis trades or quotes header),
    ``"binance"`` (any other gzip), ``"lobster"`` (a zip with a
    ``*_message_*.csv`` member) or ``"fxcm"`` (any other zip).

    Raises :class:`FormatError` naming the file when it is none of them,
    :class:`DataError` for a zip whose directory cannot be read, and lets
    :class:`OSError` through for a file that cannot be opened or read.
    """
    p = _fspath(path)
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic == _EVENT_MAGIC:
        return "events"
    if _depth_header_ok(p):
        return "binance-depth"
    if magic[:2] == b"\x1f\x8b":
        line = _first_line(p, 512)
        if line is not None and _chomp(line) in (_TARDIS_TRADES, _TARDIS_QUOTES):
            return "tardis"
        return "binance"
    if magic[:4] != b"PK\x03\x04":
        raise FormatError(f"{p}: not a gzip Binance capture, a Binance depth CSV, nor a "
                          "LOBSTER or FXCM zip")
    for name in _zip_names(p):
        if "_message_" in name and ".csv" in name:
            return "lobster"
    return "fxcm"


def group_size(paths: Sequence[PathLike], kind: Optional[str] = None) -> int:
    """How many of `paths` form one stream with ``paths[0]`` (of kind `kind`,
    detected when None): the run of consecutive files of that kind for the
    kinds read as a group — tardis and Binance depth, up to 8 — else 1
    (``source_group_size``)."""
    ps = [_fspath(p) for p in paths]
    if not ps:
        return 0
    if kind is None:
        kind = detect(ps[0])
    limit = _GROUP_LIMIT.get(kind, 1)
    count = 1
    while count < len(ps) and count < limit:
        try:
            nxt = detect(ps[count])
        except (OSError, ValueError):
            break
        if nxt != kind:
            break
        count += 1
    return count


# ------------------------------------------------------------ Binance captures

_MAX_CAPTURE_LINE = 64 << 20  # binance_capture.c MAX_LINE_BYTES
_WAIT_SNAPSHOT, _WAIT_FIRST_DIFF, _IN_SYNC = 0, 1, 2


class _Overlong(str):
    """A capture line of MAX_LINE_BYTES or more (skipped as too long)."""


def _capture_batches(path: str) -> Iterator[List[str]]:
    """The lines of a capture in batches, as binance_capture.c read_line
    takes them: split at newlines (a NUL byte cuts its line there and the
    next line continues it, as strlen on the line buffer does), the last line
    kept without a newline. Lines are decoded as UTF-8 (other bytes kept as
    surrogate escapes)."""
    tail = b""
    carry: Optional[str] = None
    ended = False
    chunks = _gz_chunks(path)
    while not ended:
        try:
            c = next(chunks)
        except StopIteration:
            ended = True
            if not tail:
                if carry:
                    yield [carry]
                return
            block = tail
            tail = b""
        else:
            buf = tail + c if tail else c
            k = buf.rfind(b"\n")
            if k < 0:
                tail = buf
                continue
            block = buf[:k]
            tail = buf[k + 1:]
        lines = block.decode("utf-8", "surrogateescape").split("\n")
        if carry is not None or b"\0" in block:
            out = []
            for ln in lines:
                k0 = ln.find("\0")
                piece = ln if k0 < 0 else ln[:k0]
                acc = piece if carry is None else carry + piece
                if k0 >= 0:
                    carry = acc
                else:
                    out.append(acc)
                    carry = None
            if ended and carry:
                out.append(carry)
                carry = None
            lines = out
        if len(block) >= _MAX_CAPTURE_LINE - 1:
            lines = [_mark_overlong(ln, ended) for ln in lines]
        yield lines


def _mark_overlong(line: str, last: bool) -> str:
    """The line, marked _Overlong when read_line would cut it (MAX_LINE_BYTES
    or more with its newline; `last`: it has none)."""
    n = 0
    if len(line) >= _MAX_CAPTURE_LINE >> 2:  # a character is at most 4 bytes
        n = len(line.encode("utf-8", "surrogateescape"))
    if n + (0 if last else 1) >= _MAX_CAPTURE_LINE:
        return _Overlong(line)
    return line


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are no JSON to cJSON."""
    raise ValueError(f"not JSON: {name}")


def _first_wins(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    """cJSON_GetObjectItemCaseSensitive finds the first of repeated keys."""
    if len(pairs) < 2:
        return dict(pairs)
    return dict(reversed(pairs))


def _first_wins_c_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    """As _first_wins, keys compared as C strings (up to a NUL)."""
    return dict(reversed([(k.split("\0", 1)[0], v) for k, v in pairs]))


_JSON_FAST = json.JSONDecoder(strict=False, parse_constant=_reject_constant,
                              object_pairs_hook=_first_wins).raw_decode
_JSON_EXACT = json.JSONDecoder(strict=False, parse_constant=_reject_constant,
                               object_pairs_hook=_first_wins_c_keys).raw_decode


def _json_id(v: Any) -> Optional[int]:
    """get_id: a JSON number that is an integer in 0 .. 2^53 (as a double)."""
    t = type(v)
    if t is int:
        if 0 <= v <= _EXACT_ID_MAX:
            return v
        if v > 0:
            try:
                f = float(v)
            except OverflowError:
                return None
            if f <= _EXACT_ID_MAX:
                return int(f)
        return None
    if t is float:
        if 0.0 <= v <= 9007199254740992.0 and v == math.floor(v):
            return int(v)
    return None


def _json_levels(arr: Any, dec: Callable[[Any], Optional[float]]
                 ) -> Optional[List[Tuple[float, float]]]:
    """get_levels: [["price","size"], ...] with price > 0, size >= 0."""
    if type(arr) is not list:
        return None
    out = []
    for pair in arr:
        if type(pair) is not list or len(pair) < 2:
            return None
        p = dec(pair[0])
        if p is None:
            return None
        s = dec(pair[1])
        if s is None or not p > 0.0 or s < 0.0:
            return None
        out.append((p, s))
    return out


_LEVEL_STRINGS = re.compile("(?:[0-9.\\-](?:[^\x01]*[!-\x7f])?\x01)*")


def _json_levels_fast(arr: Any) -> Optional[List[Tuple[float, float]]]:
    """_json_levels for a line of only ASCII, no '_' and no escape, a list at
    a time: the checks on each string done by a regular expression over all
    of them, the conversion by float(); anything unusual goes to the exact
    one-by-one parser."""
    if type(arr) is not list:
        return None
    try:
        if not all([type(pair) is list and len(pair) >= 2 for pair in arr]):
            return None
        ps = [pair[0] for pair in arr]
        ss = [pair[1] for pair in arr]
        text = "\x01".join(ps) + "\x01" + "\x01".join(ss) + "\x01"
        if not arr or not _LEVEL_STRINGS.fullmatch(text):
            return _json_levels(arr, _decimal_fast)
        pv = list(map(float, ps))
        sv = list(map(float, ss))
    except (TypeError, ValueError):
        return _json_levels(arr, _decimal_fast)
    tp = sum(pv)
    ts = sum(sv)
    if tp - tp != 0.0 or ts - ts != 0.0 or not min(pv) > 0.0 or min(sv) < 0.0:
        return _json_levels(arr, _decimal_fast)  # non-finite, or a bad value
    return list(zip(pv, sv))


def _c_string(v: Any) -> Any:
    """A JSON string as C sees it (up to a NUL)."""
    return v.split("\0", 1)[0] if type(v) is str else v


def _json_start(line: str, j: int) -> int:
    """cJSON's start of a value: a UTF-8 BOM skipped, then bytes <= 32."""
    if line.startswith("\ufeff", j):
        j += 1
    n = len(line)
    while j < n and line[j] <= " ":
        j += 1
    return j


def read_binance_capture(path: PathLike, levels: int = 10, max_events: Optional[int] = None,
                         *, time_unit: str = "auto", pending_diffs: int = 256) -> Events:
    """Read a Binance USDⓈ-M raw websocket capture (``binance_capture.c``).

    A capture is a gzip file (a plain file is read as it is) of lines
    ``<local receive time> <json>``; the time is µs when the file name ends
    in ``.dat.gz`` and ns otherwise (`time_unit` ``"auto"``; ``"ns"`` or
    ``"us"`` force one). Per line, in file order: a trade per ``trade``, a
    quote per ``bookTicker``, a funding per ``markPriceUpdate`` and, while the
    L2 book rebuilt from the REST snapshot and the ``depthUpdate`` diffs
    (U/u/pu chain, `pending_diffs` diffs buffered before a snapshot) is in
    sync, the top `levels` levels a side after each applied diff. A break in
    the chain is a gap: the book is cleared and no book is emitted until a
    snapshot brings it back. Every event is stamped with the local receive
    time in ns.

    Malformed lines are counted (``parse_errors``) and skipped.
    ``counters`` holds the C reader's counters (``lines``,
    ``parse_errors``, ``ignored``, ``snapshots``, ``gaps``, ``resyncs``,
    ``diffs_applied``, ``diffs_dropped``, ``trades``, ``quotes``, ``books``,
    ``fundings``). `max_events` stops after that many events (the counters
    then stop there too, as the C reader's would). Raises :class:`DataError`
    when the compressed data is damaged or truncated.
    """
    p = _fspath(path)
    lv = _check_levels(levels)
    limit = _check_max(max_events)
    if time_unit == "auto":
        mult = 1000 if p.endswith(".dat.gz") else 1
    elif time_unit in ("ns", "us"):
        mult = 1 if time_unit == "ns" else 1000
    else:
        raise ValueError(f"time_unit: 'auto', 'ns' or 'us', got {time_unit!r}")
    if isinstance(pending_diffs, bool) or not isinstance(pending_diffs, int) or pending_diffs < 0:
        raise ValueError(f"pending_diffs: must be an int >= 0, got {pending_diffs!r}")
    return _read_capture(p, lv, limit, mult, pending_diffs)


def _read_capture(path: str, levels: int, limit: Optional[int], mult: int,
                  pending_cap: int) -> Events:
    """binance_capture.c bcap_next over the whole capture (up to `limit`
    events); `mult` converts the line times to ns."""
    from collections import deque

    out = _Builder(levels)
    if limit == 0:
        return out.events(path, dict(lines=0, parse_errors=0, ignored=0, snapshots=0, gaps=0,
                                     resyncs=0, diffs_applied=0, diffs_dropped=0, trades=0,
                                     quotes=0, books=0, fundings=0))
    book = _Book()
    kinds = out.kinds
    t_ts, t_price, t_size, t_side, t_id = out.t_ts, out.t_price, out.t_size, out.t_side, out.t_id
    q_vals, q_ts = out.q, out.q_ts
    f_vals, f_ts, f_next = out.f, out.f_ts, out.f_next
    ts_limit = _INT64_MAX // mult
    pending: deque = deque()
    c = dict(lines=0, parse_errors=0, ignored=0, snapshots=0, gaps=0, resyncs=0,
             diffs_applied=0, diffs_dropped=0)
    st = {"state": _WAIT_SNAPSHOT, "after_gap": False, "last_id": 0}
    n_events = 0
    n_trades = n_quotes = n_books = n_fundings = 0
    lines = 0
    errors = 0
    fast_dec = _decimal_fast
    exact_dec = _decimal_exact
    raw_fast = _JSON_FAST
    raw_exact = _JSON_EXACT

    def levels_of(arr: Any, dec: Callable) -> Optional[List[Tuple[float, float]]]:
        """get_levels, by the fast or the exact parser."""
        return _json_levels_fast(arr) if dec is fast_dec else _json_levels(arr, dec)

    def bad(why: str) -> None:
        """A malformed line: counted (and logged, the first few)."""
        nonlocal errors
        if errors < _LOG_LIMIT:
            _log.debug("%s:%d: skipped: %s", path, lines, why)
        errors += 1

    def lose_sync() -> None:
        """A gap: the book is cleared until a snapshot."""
        c["gaps"] += 1
        st["after_gap"] = True
        st["state"] = _WAIT_SNAPSHOT
        book.clear()

    def buffer_diff(d: tuple) -> None:
        """Keep a diff for the next snapshot (the oldest dropped when full)."""
        if pending_cap == 0:
            c["diffs_dropped"] += 1
            return
        if len(pending) == pending_cap:
            pending.popleft()
            c["diffs_dropped"] += 1
        pending.append(d)

    def apply_diff(d: tuple) -> None:
        """Apply a diff; the book is in sync after it."""
        _apply_side(book.bk, book.bs, d[3], 1.0)
        _apply_side(book.ak, book.as_, d[4], -1.0)
        st["last_id"] = d[1]
        st["state"] = _IN_SYNC
        c["diffs_applied"] += 1

    def note_sync() -> None:
        """The book is (back) in sync: a resync when after a gap."""
        if st["after_gap"]:
            c["resyncs"] += 1
        st["after_gap"] = False

    def replay_pending() -> None:
        """Apply the buffered diffs that continue from the snapshot just
        loaded (older ones dropped; a break is a gap)."""
        while pending:
            d = pending[0]
            if st["state"] == _WAIT_FIRST_DIFF and d[1] < st["last_id"]:
                pending.popleft()
                c["diffs_dropped"] += 1
                continue
            if st["state"] == _WAIT_FIRST_DIFF:
                connects = d[0] <= st["last_id"]
            else:
                connects = d[2] == st["last_id"]
            if not connects:
                lose_sync()
                return
            apply_diff(d)
            pending.popleft()

    def on_snapshot(root: dict, ts: int, dec: Callable) -> int:
        """-1 malformed, 0 no event, 1 a book emitted."""
        lid = _json_id(root["lastUpdateId"])
        bids = asks = None
        if lid is not None:
            bids = levels_of(root.get("bids"), dec)
            if bids is not None:
                asks = levels_of(root.get("asks"), dec)
        if asks is None:
            bad("depth snapshot without a valid lastUpdateId, bids or asks")
            return -1
        c["snapshots"] += 1
        if st["state"] == _IN_SYNC:
            return 0
        book.clear()
        _apply_side(book.bk, book.bs, bids, 1.0)
        _apply_side(book.ak, book.as_, asks, -1.0)
        st["last_id"] = lid
        st["state"] = _WAIT_FIRST_DIFF
        replay_pending()
        if st["state"] != _IN_SYNC:
            return 0
        note_sync()
        return 1 if book.emit(out, ts) else 0

    def on_diff(data: dict, ts: int, dec: Callable) -> int:
        """A depthUpdate: -1 malformed, 0 no event, 1 a book emitted."""
        first = _json_id(data.get("U"))
        last = _json_id(data.get("u"))
        prev = _json_id(data.get("pu"))
        b = a = None
        if first is not None and last is not None and prev is not None:
            b = levels_of(data.get("b"), dec)
            if b is not None:
                a = levels_of(data.get("a"), dec)
        if a is None:
            bad("depthUpdate without valid U, u, pu, b or a")
            return -1
        d = (first, last, prev, b, a)
        state = st["state"]
        if state == _WAIT_SNAPSHOT:
            buffer_diff(d)
            return 0
        if state == _WAIT_FIRST_DIFF:
            if last < st["last_id"]:
                c["diffs_dropped"] += 1
                return 0
            if first > st["last_id"]:  # updates after the snapshot were missed
                lose_sync()
                buffer_diff(d)
                return 0
        elif prev != st["last_id"]:
            lose_sync()
            buffer_diff(d)
            return 0
        apply_diff(d)
        note_sync()
        return 1 if book.emit(out, ts) else 0

    stopped = False
    try:
        for batch in _capture_batches(path):
            for ln in batch:
                lines += 1
                if type(ln) is _Overlong:
                    bad("line too long")
                    continue
                if ln and ln[-1] == "\r":
                    ln = ln.rstrip("\r")
                if not ln:
                    continue
                i = ln.find(" ")
                tss = ln[:i] if i > 0 else ""
                if not (tss.isascii() and tss.isdigit()):
                    bad("no local receive time before the JSON")
                    continue
                if len(tss) > 19:
                    tss = tss.lstrip("0") or "0"
                    if len(tss) > 19:
                        bad("no local receive time before the JSON")
                        continue
                v = int(tss)
                if v > ts_limit:
                    bad("no local receive time before the JSON")
                    continue
                ts = v * mult
                j = i + 1
                if ln[j:j + 1] != "{":
                    j = _json_start(ln, j)
                fast = ln.isascii() and "_" not in ln and "\\" not in ln
                try:
                    root = (raw_fast if fast else raw_exact)(ln, j)[0]
                except (ValueError, RecursionError):
                    bad("malformed JSON")
                    continue
                if type(root) is not dict:
                    bad("not a JSON object")
                    continue
                dec = fast_dec if fast else exact_dec
                if "lastUpdateId" in root:
                    rc = on_snapshot(root, ts, dec)
                    if rc <= 0:
                        continue
                    n_books += 1
                else:
                    data = root["data"] if "data" in root else root
                    typ = data.get("e") if type(data) is dict else None
                    if type(typ) is not str:
                        bad('message without an event type "e"')
                        continue
                    if not fast:
                        typ = _c_string(typ)
                    if typ == "depthUpdate":
                        rc = on_diff(data, ts, dec)
                        if rc <= 0:
                            continue
                        n_books += 1
                    elif typ == "bookTicker":
                        bp = dec(data.get("b"))
                        bs = dec(data.get("B")) if bp is not None else None
                        ap = dec(data.get("a")) if bs is not None else None
                        az = dec(data.get("A")) if ap is not None else None
                        if az is None:
                            bad("bookTicker without numeric b, B, a, A")
                            continue
                        kinds.append(KIND_QUOTE)
                        q_ts.append(ts)
                        q_vals.extend((bp, bs, ap, az))
                        n_quotes += 1
                    elif typ == "trade":
                        price = dec(data.get("p"))
                        size = dec(data.get("q")) if price is not None else None
                        maker = data.get("m")
                        tid = _json_id(data.get("t"))
                        if size is None or type(maker) is not bool or tid is None:
                            bad("trade without numeric p, q, t or boolean m")
                            continue
                        kinds.append(KIND_TRADE)
                        t_ts.append(ts)
                        t_price.append(price)
                        t_size.append(size)
                        # m: the buyer was the maker, so the seller was the aggressor
                        t_side.append(SIDE_SELL if maker else SIDE_BUY)
                        t_id.append(tid)
                        n_trades += 1
                    elif typ == "markPriceUpdate":
                        mark = dec(data.get("p"))
                        rate = dec(data.get("r")) if mark is not None else None
                        index = 0.0
                        ok = rate is not None
                        if ok and "i" in data:
                            index = dec(data["i"])
                            ok = index is not None
                        nxt = 0
                        if ok and "T" in data:
                            ms = _json_id(data["T"])
                            ok = ms is not None and ms <= _INT64_MAX // _NS_PER_MS
                            if ok:
                                nxt = ms * _NS_PER_MS
                        if not ok:
                            bad("markPriceUpdate without numeric p, r, or with a bad i or T")
                            continue
                        kinds.append(KIND_FUNDING)
                        f_ts.append(ts)
                        f_vals.extend((rate, mark, index))
                        f_next.append(nxt)
                        n_fundings += 1
                    else:
                        c["ignored"] += 1
                        continue
                n_events += 1
                if limit is not None and n_events >= limit:
                    stopped = True
                    break
            if stopped:
                break
    except _GzError as e:
        raise DataError(f"{path}: line {lines + 1}: read error: {e}") from None
    if not stopped:
        c["diffs_dropped"] += len(pending)  # never reached by a snapshot
    c["lines"] = lines
    c["parse_errors"] = errors
    counters = dict(c)
    counters.update(trades=n_trades, quotes=n_quotes, books=n_books, fundings=n_fundings)
    return out.events(path, counters)


# ------------------------------------------------------------ event files

_EVENT_HEAD = 16
_FIXED_NAMES = {KIND_TRADE: "trade", KIND_QUOTE: "quote", KIND_FUNDING: "funding"}


def _scan_records(buf: bytes, path: str, limit: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Offsets and kinds of the records of an event file (after its head),
    checked as event_reader_next checks them."""
    n = len(buf)
    if (n - _EVENT_HEAD) % 41 == 0:
        # no book at all (trades, quotes, fundings: 41 bytes each): one check
        fixed = np.arange(_EVENT_HEAD, n, 41, dtype=np.int64)
        k = np.frombuffer(buf, np.uint8)[fixed]
        if fixed.size and np.all((k < 4) & (k != KIND_BOOK)):
            if limit is not None:
                fixed, k = fixed[:limit], k[:limit]
            return fixed, k.copy()
    offs = array("q")
    kinds = bytearray()
    add_off = offs.append
    add_kind = kinds.append
    pos = _EVENT_HEAD
    count = 0
    stop = n if limit is None else None
    while pos < n:
        if stop is None and count >= limit:  # type: ignore[operator]
            break
        k = buf[pos]
        if k == KIND_BOOK:
            if pos + 11 > n:
                raise DataError(f"{path}: event file: record {count}: truncated book")
            nb = buf[pos + 9]
            na = buf[pos + 10]
            if nb > BOOK_MAX_LEVELS or na > BOOK_MAX_LEVELS:
                raise DataError(f"{path}: event file: record {count}: book level count "
                                "above 50")
            size = 11 + 16 * (nb + na)
            if pos + size > n:
                raise DataError(f"{path}: event file: record {count}: truncated book levels")
        elif k < 4:
            size = 41
            if pos + size > n:
                raise DataError(f"{path}: event file: record {count}: truncated "
                                f"{_FIXED_NAMES[k]}")
        else:
            raise DataError(f"{path}: event file: record {count}: unknown record kind {k}")
        add_off(pos)
        add_kind(k)
        pos += size
        count += 1
    return (np.frombuffer(offs, np.int64) if offs else np.zeros(0, np.int64),
            np.frombuffer(bytes(kinds), np.uint8).copy())


def _windows(u8: np.ndarray, width: int) -> np.ndarray:
    """Every `width`-byte window of `u8` (a view): row i is u8[i:i + width].
    Indexing it with record offsets copies whole records, with no index
    array per byte."""
    return np.lib.stride_tricks.as_strided(u8, shape=(max(u8.size - width + 1, 0), width),
                                           strides=(1, 1))


def _level_offsets(first: np.ndarray, count: np.ndarray, levels: int
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """For books whose levels start at byte `first` (16 bytes a level), the
    (books, levels) mask of the levels kept (under count) and their offsets,
    in row order."""
    j = np.arange(levels)
    mask = j < count[:, None]
    return mask, (first[:, None] + 16 * j)[mask]


def read_event_file(path: PathLike, levels: Optional[int] = None,
                    max_events: Optional[int] = None) -> Events:
    """Read an event file of ``cscalp-backtest --convert`` (``event_file.c``).

    The books keep the levels recorded: with `levels` None the book array is
    ``book_dtype(w)`` with ``w`` the widest level count present (at least 1);
    with `levels` given it is ``book_dtype(levels)`` and a book recorded with
    more levels a side keeps its first `levels` (its count cut to that), as a
    reader built with that many levels would have given it. Unused levels are
    zero. ``counters`` is ``{"events": n}``.

    Raises :class:`FormatError` when the file does not start with the magic,
    :class:`DataError` for another version or a truncated or damaged record
    (the message names the file and the record number, counted from 0).
    """
    p = _fspath(path)
    lv = None if levels is None else _check_levels(levels)
    limit = _check_max(max_events)
    with open(p, "rb") as f:
        buf = f.read()
    if len(buf) < _EVENT_HEAD or buf[:8] != _EVENT_MAGIC:
        raise FormatError(f"{p}: not a cscalp event file")
    version = int.from_bytes(buf[8:12], "little")
    reserved = int.from_bytes(buf[12:16], "little")
    if version != 1 or reserved != 0:
        raise DataError(f"{p}: event file version {version}, this reader knows 1")
    offs, kinds = _scan_records(buf, p, limit)
    return _decode_records(buf, offs, kinds, lv, p, {"events": int(kinds.size)})


def _decode_records(buf: bytes, offs: np.ndarray, kinds: np.ndarray, levels: Optional[int],
                    source: str, counters: dict) -> Events:
    """The records at `offs` (of `kinds`) decoded with numpy."""
    u8 = np.frombuffer(buf, np.uint8)
    arrays = {}
    w40 = _windows(u8, 40)
    for k, dt in ((KIND_TRADE, TRADE_DTYPE), (KIND_QUOTE, QUOTE_DTYPE),
                  (KIND_FUNDING, FUNDING_DTYPE)):
        arrays[k] = w40[offs[kinds == k] + 1].view(dt).reshape(-1)
    bo = offs[kinds == KIND_BOOK]
    nb = u8[bo + 9].astype(np.int64)
    na = u8[bo + 10].astype(np.int64)
    widest = int(max(nb.max(initial=0), na.max(initial=0), 1))
    lv = widest if levels is None else levels
    books = np.zeros(bo.size, book_dtype(lv))
    if bo.size:
        books["ts_ns"] = _windows(u8, 8)[bo + 1].view("<i8").reshape(-1)
        cb = np.minimum(nb, lv)
        ca = np.minimum(na, lv)
        books["bid_count"] = cb
        books["ask_count"] = ca
        w16 = _windows(u8, 16)
        for name, count, first in (("bids", cb, bo + 11), ("asks", ca, bo + 11 + 16 * nb)):
            mask, at = _level_offsets(first, count, lv)
            books[name][mask] = w16[at].view("<f8")
    return Events(arrays[KIND_TRADE], arrays[KIND_QUOTE], books, arrays[KIND_FUNDING], kinds,
                  source, counters)


def _as_dtype(arr: Any, dt: np.dtype, what: str) -> np.ndarray:
    """`arr` as a contiguous array of dtype `dt` (copied field by field when
    its dtype differs)."""
    a = np.asarray(arr)
    if a.dtype == dt:
        return np.ascontiguousarray(a)
    if a.dtype.names is None or set(dt.names) - set(a.dtype.names):
        raise TypeError(f"write_event_file: {what} must have the fields {dt.names}")
    out = np.zeros(a.shape[0], dt)
    for name in dt.names:
        out[name] = a[name]
    return out


def write_event_file(path: PathLike, events: Events) -> int:
    """Write `events` to `path` as an event file (``event_file.c``), byte for
    byte what ``cscalp-backtest --convert`` writes for the same events: the
    16-byte head, then one record per event in ``events.kinds`` order, a
    book with only its ``bid_count``/``ask_count`` levels. Returns the number
    of events written.

    Raises :class:`ValueError` when the arrays do not match ``kinds`` or a
    book count is above 50 or above the levels its array holds.
    """
    p = _fspath(path)
    kinds = np.asarray(events.kinds)
    if kinds.ndim != 1 or (kinds.size and (kinds.min() < 0 or kinds.max() > 3)):
        raise ValueError("write_event_file: kinds must be a 1-D array of 0..3")
    kinds = kinds.astype(np.uint8)
    trades = _as_dtype(events.trades, TRADE_DTYPE, "trades")
    quotes = _as_dtype(events.quotes, QUOTE_DTYPE, "quotes")
    fundings = _as_dtype(events.fundings, FUNDING_DTYPE, "fundings")
    books = np.asarray(events.books)
    per_kind = np.bincount(kinds, minlength=4)
    for k, a, name in ((KIND_TRADE, trades, "trades"), (KIND_QUOTE, quotes, "quotes"),
                       (KIND_BOOK, books, "books"), (KIND_FUNDING, fundings, "fundings")):
        if a.shape[0] != per_kind[k]:
            raise ValueError(f"write_event_file: {per_kind[k]} {name} in kinds but "
                             f"{a.shape[0]} in the array")
    lv = int(books.dtype["bids"].shape[0])
    nb = books["bid_count"].astype(np.int64)
    na = books["ask_count"].astype(np.int64)
    if books.shape[0] and (max(nb.max(), na.max()) > min(lv, BOOK_MAX_LEVELS)):
        raise ValueError(f"write_event_file: a book count is above {min(lv, BOOK_MAX_LEVELS)}"
                         " (the levels its array holds, at most 50)")
    sizes = np.full(kinds.size, 41, np.int64)
    is_book = kinds == KIND_BOOK
    sizes[is_book] = 11 + 16 * (nb + na)
    offs = _EVENT_HEAD + np.cumsum(sizes) - sizes
    out = np.zeros(_EVENT_HEAD + int(sizes.sum()), np.uint8)
    out[:8] = np.frombuffer(_EVENT_MAGIC, np.uint8)
    out[8] = 1  # the version, little-endian; then 4 reserved zero bytes
    out[offs] = kinds
    w40 = _windows(out, 40)
    for k, a in ((KIND_TRADE, trades), (KIND_QUOTE, quotes), (KIND_FUNDING, fundings)):
        if a.shape[0]:
            w40[offs[kinds == k] + 1] = a.view(np.uint8).reshape(-1, 40)
    bo = offs[is_book]
    if bo.size:
        ts = np.ascontiguousarray(books["ts_ns"], dtype="<i8")
        _windows(out, 8)[bo + 1] = ts.view(np.uint8).reshape(-1, 8)
        out[bo + 9] = nb
        out[bo + 10] = na
        w16 = _windows(out, 16)
        for name, count, first in (("bids", nb, bo + 11), ("asks", na, bo + 11 + 16 * nb)):
            mask, at = _level_offsets(first, count, lv)
            vals = np.ascontiguousarray(books[name][mask], dtype="<f8")
            w16[at] = vals.view(np.uint8).reshape(-1, 16)
    with open(p, "wb") as f:
        f.write(out.data)
    return int(kinds.size)


# ------------------------------------------------------- vectorized CSV parsing
#
# The CSV readers parse their columns with numpy: a column's fields are
# gathered into an (n, width) byte matrix, checked against the grammar the C
# reader accepts and converted with Horner's rule. A decimal is converted as
# mantissa / 10^k, which is the correctly rounded value (as strtod's) when the
# mantissa fits 53 bits and k <= 22; other decimals go through float().


def _line_bounds(a: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, without the newline) of every line of `a`:
    a last line without a newline counts, an empty one after a final newline
    does not."""
    nl = np.flatnonzero(a == 10)
    starts = np.concatenate((np.zeros(1, np.int64), nl + 1))
    ends = np.concatenate((nl, np.array([a.size], np.int64)))
    if starts[-1] == a.size:
        starts = starts[:-1]
        ends = ends[:-1]
    return starts, ends


def _strip_one_cr(a: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """zipr_getline: one carriage return before the newline is dropped."""
    if a.size == 0:
        return e
    has = (e > s) & (a[np.maximum(e - 1, 0)] == 13)
    return e - has


def _split_fields(a: np.ndarray, s: np.ndarray, e: np.ndarray, k: int
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lines [s, e) holding exactly k comma-separated fields: their mask
    and the (n_ok, k) field starts and ends."""
    cpos = np.flatnonzero(a == 44)
    c0 = np.searchsorted(cpos, s)
    c1 = np.searchsorted(cpos, e)
    ok = (c1 - c0) == k - 1
    n_ok = int(ok.sum())
    fs = np.empty((n_ok, k), np.int64)
    fe = np.empty((n_ok, k), np.int64)
    fs[:, 0] = s[ok]
    fe[:, k - 1] = e[ok]
    if k > 1 and n_ok:
        cm = cpos[c0[ok][:, None] + np.arange(k - 1)]
        fs[:, 1:] = cm + 1
        fe[:, :k - 1] = cm
    return ok, fs, fe


def _gather(a: np.ndarray, fs: np.ndarray, fe: np.ndarray, width: int
            ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, width) bytes of the fields [fs, fe) (zero past a field's end),
    the in-field mask and the field lengths."""
    length = fe - fs
    j = np.arange(width)
    idx = fs[:, None] + j
    if a.size:
        np.minimum(idx, a.size - 1, out=idx)
        m = a[idx]
    else:
        m = np.zeros(idx.shape, np.uint8)
    inside = j < length[:, None]
    m = np.where(inside, m, 0).astype(np.uint8)
    return m, inside, length


def _horner(d: np.ndarray, use: np.ndarray) -> np.ndarray:
    """The integer of the digits d[:, j] where use[:, j], left to right."""
    v = np.zeros(d.shape[0], np.int64)
    for j in range(d.shape[1]):
        col = use[:, j]
        if col.any():
            v = np.where(col, v * 10 + d[:, j], v)
    return v


def _parse_ints(a: np.ndarray, fs: np.ndarray, fe: np.ndarray, max_digits: int,
                minus: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Fields matching -?[0-9]{1,max_digits} ('-' only when `minus`): values
    (int64) and the mask of the fields that match."""
    width = max_digits + (1 if minus else 0)
    if fs.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    length = fe - fs
    m, inside, _ = _gather(a, fs, fe, int(min(width, max(1, int(length.max())))))
    neg = (m[:, 0] == 45) if minus else np.zeros(fs.shape[0], bool)
    d = m.astype(np.int64) - 48
    is_dig = (d >= 0) & (d <= 9)
    digit_pos = inside.copy()
    digit_pos[:, 0] &= ~neg
    ndig = length - neg
    ok = (length >= 1) & (length <= width) & (ndig >= 1) & (ndig <= max_digits)
    ok &= np.all(~digit_pos | is_dig, axis=1)
    v = _horner(np.where(is_dig, d, 0), digit_pos & is_dig)
    return np.where(neg, -v, v), ok


def _parse_plain_decimals(a: np.ndarray, fs: np.ndarray, fe: np.ndarray, max_len: int
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """Fields of at most `max_len` characters, digits with at most one '.',
    at least one digit: their value (strtod's) and the mask of those that are
    such fields."""
    n = fs.shape[0]
    if n == 0:
        return np.zeros(0), np.zeros(0, bool)
    length = fe - fs
    width = int(min(max_len, max(1, int(length.max()))))
    m, inside, _ = _gather(a, fs, fe, width)
    is_dot = inside & (m == 46)
    d = m.astype(np.int64) - 48
    is_dig = inside & (d >= 0) & (d <= 9)
    ndots = is_dot.sum(axis=1)
    ndig = is_dig.sum(axis=1)
    ok = (length >= 1) & (length <= max_len) & (ndots <= 1) & (ndig >= 1)
    ok &= np.all(~inside | is_dig | is_dot, axis=1)
    mant = _horner(np.where(is_dig, d, 0), is_dig)
    dot_at = np.where(ndots > 0, np.argmax(is_dot, axis=1), length)
    k = np.where(ndots > 0, length - dot_at - 1, 0)
    fast = ok & (ndig <= 18) & (mant <= (1 << 53)) & (k <= 22)
    val = mant.astype(np.float64) / _POW10[np.minimum(k, 22)]
    slow = np.flatnonzero(ok & ~fast)
    if slow.size:
        raw = a.tobytes() if slow.size else b""
        val[slow] = [float(raw[fs[i]:fe[i]]) for i in slow]
    return val, ok


def _runs_at_least(flag: np.ndarray, k: int) -> np.ndarray:
    """Positions i where flag[i:i + k] are all true."""
    r = flag.copy()
    have = 1
    while have < k:
        step = min(have, k - have)
        r[:r.size - step] &= r[step:]
        r[r.size - step:] = False
        have += step
    return r


def _int_table(a: np.ndarray, s: np.ndarray, e: np.ndarray, k: int
               ) -> Tuple[np.ndarray, np.ndarray]:
    """The lines [s, e) of `a` that are k comma-separated fields each
    matching -?[0-9]{1,18} (lobster.c parse_int): their mask and their values
    (n_ok, k). Checked byte by byte, converted by numpy's C parser; done in
    blocks of lines (a few MB: the temporaries stay in reused memory)."""
    nl = s.size
    if nl == 0:
        return np.zeros(0, bool), np.zeros((0, k), np.int64)
    bounds = np.concatenate((s, [a.size]))
    oks = []
    vals = []
    i = 0
    while i < nl:
        j = int(np.searchsorted(bounds, bounds[i] + (4 << 20), "right"))
        j = min(max(j - 1, i + 1), nl)
        base = bounds[i]
        ok, v = _int_block(a[base:bounds[j]], s[i:j] - base, e[i:j] - base, k)
        oks.append(ok)
        vals.append(v)
        i = j
    return np.concatenate(oks), np.concatenate(vals)


def _int_block(a: np.ndarray, s: np.ndarray, e: np.ndarray, k: int
               ) -> Tuple[np.ndarray, np.ndarray]:
    """_int_table on one block of lines."""
    n = a.size
    digit = (a - np.uint8(48)) < 10
    comma = a == 44
    minus = a == 45
    lf = a == 10
    cr_at = e[(e < n) & (a[np.minimum(e, n - 1)] == 13)]
    term = lf.copy()
    term[cr_at] = True
    fsep = comma | lf  # what may come before a field
    bad = ~(digit | comma | minus | term)
    # '-' only first in a field and followed by a digit
    bad[1:] |= minus[1:] & ~fsep[:-1]
    bad[:-1] |= minus[:-1] & ~digit[1:]
    # no empty field: a comma neither first in a line nor before a comma or the end
    bad[:-1] |= comma[:-1] & (comma[1:] | term[1:])
    bad[1:] |= comma[1:] & lf[:-1]
    bad[0] |= comma[0]
    bad[-1] |= comma[-1] | minus[-1]
    # at most 18 digits
    bad |= _runs_at_least(digit, 19)
    pos = np.flatnonzero(bad)
    ok = e > s
    if pos.size:
        ok[np.searchsorted(s, pos, "right") - 1] = False
    cpos = np.flatnonzero(comma)
    ok &= (np.searchsorted(cpos, e) - np.searchsorted(cpos, s)) == k - 1
    n_ok = int(ok.sum())
    if n_ok == 0:
        return ok, np.zeros((0, k), np.int64)
    keep = np.repeat(ok, np.diff(np.concatenate((s, [n]))))
    keep[cr_at] = False
    text = a[keep]
    text[text == 10] = 44
    vals = np.fromstring(text.tobytes(), dtype=np.int64, sep=",")
    if vals.size != n_ok * k:  # pragma: no cover - the checks above rule it out
        raise AssertionError("int table: parse count mismatch")
    return ok, vals.reshape(n_ok, k)


def _read_member(z: zipfile.ZipFile, name: str, path: str) -> bytes:
    """A member's bytes (CRC checked); DataError naming file and member."""
    try:
        return z.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
        raise DataError(f"{path}: {name}: {e}") from None


def _lines_of(data: bytes) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """zipr_getline's lines of a member: the bytes and each line's [s, e)."""
    a = np.frombuffer(data, np.uint8)
    s, e = _line_bounds(a)
    return a, s, _strip_one_cr(a, s, e)


def _prefix_end(emitting: np.ndarray, limit: Optional[int]) -> int:
    """Rows to keep so that the events of rows[:end] are the first `limit`:
    `emitting` is the number of events of each row."""
    if limit is None:
        return emitting.shape[0]
    cum = np.cumsum(emitting)
    if cum.size == 0 or cum[-1] < limit:
        return emitting.shape[0]
    return int(np.searchsorted(cum, limit, "left")) + 1


# ------------------------------------------------------------ FXCM days

_FXCM_SKIPS = ("malformed", "crossed", "locked", "time")


def _fxcm_day(path: str) -> int:
    """fxcm.c name_date: UTC midnight (ns) of the YYYYMMDD starting the base
    name, or -1."""
    s = _base_name(path)
    head = s[:8]
    if len(head) < 8 or not all("0" <= ch <= "9" for ch in head):
        return -1
    y, m, d = int(head[:4]), int(head[4:6]), int(head[6:8])
    if not _valid_date(y, m, d):
        return -1
    return _days_from_civil(y, m, d) * _NS_PER_DAY


def _fxcm_rows(data: bytes) -> Dict[str, np.ndarray]:
    """Every row of a day's CSV: whether it parsed, ms, bid, ask."""
    a, s, e = _lines_of(data)
    n = s.size
    ok3, fs, fe = _split_fields(a, s, e, 3)
    ms, ok_ms = _parse_ints(a, fs[:, 0], fe[:, 0], 8, False)
    bid, ok_bid = _parse_plain_decimals(a, fs[:, 1], fe[:, 1], 63)
    ask, ok_ask = _parse_plain_decimals(a, fs[:, 2], fe[:, 2], 63)
    good = ok_ms & (ms < 86_400_000) & ok_bid & (bid > 0.0) & ok_ask & (ask > 0.0)
    valid = np.zeros(n, bool)
    valid[np.flatnonzero(ok3)[good]] = True
    out = {"valid": valid, "ms": np.zeros(n, np.int64), "bid": np.zeros(n), "ask": np.zeros(n)}
    rows = np.flatnonzero(ok3)[good]
    out["ms"][rows] = ms[good]
    out["bid"][rows] = bid[good]
    out["ask"][rows] = ask[good]
    return out


def read_fxcm(paths: Paths, max_events: Optional[int] = None, *,
              keep_crossed: bool = False) -> Events:
    """Read FXCM quote days (``fxcm.c``): one zip a day, ``YYYYMMDD*.zip``,
    holding one ``*.csv`` of rows ``ms_since_midnight,bid,ask``.

    One quote per row, sizes 1.0 (the data have none), stamped with UTC
    midnight of the date in the file name plus the row's ms. Several days
    (one path or a list) are read in order, dates strictly increasing.
    Skipped and counted: malformed rows, crossed (bid > ask) and locked
    (bid == ask) rows unless `keep_crossed`, and rows earlier than the last
    emitted quote. ``counters``: ``files``, ``rows``, ``quotes``,
    ``kept_crossed``, ``kept_locked``, ``skipped`` (``malformed``,
    ``crossed``, ``locked``, ``time``).

    Raises :class:`FormatError` for a name without a date or a zip without
    exactly one CSV member, :class:`ValueError` for dates out of order,
    :class:`DataError` for a damaged zip.
    """
    ps = _path_list(paths)
    limit = _check_max(max_events)
    days = []
    prev = -1
    for p in ps:
        day = _fxcm_day(p)
        if day < 0:
            raise FormatError(f"{p}: file name does not start with a date YYYYMMDD")
        if day <= prev:
            raise ValueError(f"{p}: dates must increase from file to file")
        prev = day
        names = [n for n in _zip_names(p) if len(n) > 4 and n.endswith(".csv")]
        if len(names) != 1:
            raise FormatError(f"{p}: " + ("no *.csv member" if not names
                                         else "more than one *.csv member"))
        days.append((p, day, names[0]))
    c = {"files": 0, "rows": 0, "quotes": 0, "kept_crossed": 0, "kept_locked": 0}
    skipped = dict.fromkeys(_FXCM_SKIPS, 0)
    quotes = []
    last_ts = -(1 << 63)
    left = limit
    for p, day, member in days:
        if left == 0:
            break
        c["files"] += 1
        with zipfile.ZipFile(p) as z:
            rows = _fxcm_rows(_read_member(z, member, p))
        valid = rows["valid"]
        bid, ask = rows["bid"], rows["ask"]
        ts = day + rows["ms"] * _NS_PER_MS
        crossed = valid & (bid > ask)
        locked = valid & (bid == ask)
        cand = valid if keep_crossed else valid & ~crossed & ~locked
        cts = np.where(cand, ts, np.iinfo(np.int64).min)
        before = np.maximum.accumulate(np.concatenate(([last_ts], cts)))[:-1]
        emit = cand & (ts >= before)
        end = _prefix_end(emit, left)
        valid, crossed, locked, cand, emit = (x[:end] for x in (valid, crossed, locked, cand,
                                                                emit))
        c["rows"] += end
        skipped["malformed"] += int(end - valid.sum())
        if not keep_crossed:
            skipped["crossed"] += int(crossed.sum())
            skipped["locked"] += int(locked.sum())
        else:
            c["kept_crossed"] += int((emit & crossed).sum())
            c["kept_locked"] += int((emit & locked).sum())
        skipped["time"] += int((cand & ~emit).sum())
        idx = np.flatnonzero(emit)
        q = np.zeros(idx.size, QUOTE_DTYPE)
        q["ts_ns"] = ts[idx]
        q["bid_price"] = bid[idx]
        q["bid_size"] = 1.0
        q["ask_price"] = ask[idx]
        q["ask_size"] = 1.0
        quotes.append(q)
        if idx.size:
            last_ts = max(last_ts, int(ts[idx].max()))
        if left is not None:
            left -= idx.size
    allq = np.concatenate(quotes) if quotes else np.zeros(0, QUOTE_DTYPE)
    c["quotes"] = int(allq.size)
    counters = dict(c)
    counters["skipped"] = skipped
    e = Events.empty(10)
    return Events(e.trades, allq, e.books, e.fundings, np.full(allq.size, KIND_QUOTE, np.uint8),
                  " + ".join(ps), counters)


# ------------------------------------------------------------ LOBSTER

_LOBSTER_SKIPS = ("malformed", "time", "bad_trade", "one_sided", "bad_levels", "crossed",
                  "locked")
_DUMMY_ASK = 9999999999
_DUMMY_BID = -9999999999
_LOBSTER_TIME_RE = re.compile(rb"([0-9]{1,6})(?:\.([0-9]+))?")


def _lobster_members(names: List[str], path: str) -> Tuple[str, str, int, int]:
    """lobster.c find_members: the message and order-book members, the day
    (UTC midnight, ns) and the file's levels."""
    found = None
    for name in names:
        n = _base_name(name)
        if "_message_" in n and len(n) > 4 and n.endswith(".csv"):
            if found is not None:
                raise FormatError(f"{path}: more than one *_message_*.csv member")
            found = name
    if found is None:
        raise FormatError(f"{path}: no *_message_*.csv member (not a LOBSTER zip?)")
    full = found
    n = _base_name(full)
    us = n.find("_")
    if us <= 0 or us >= 64:
        raise FormatError(f"{path}: message member name does not start with TICKER_")
    s = n[us + 1:]
    day = -1
    if len(s) >= 11 and s[10] == "_" and s[4] == "-" and s[7] == "-":
        parts = (s[0:4], s[5:7], s[8:10])
        if all(all("0" <= ch <= "9" for ch in x) for x in parts):
            y, m, d = (int(x) for x in parts)
            if _valid_date(y, m, d):
                day = _days_from_civil(y, m, d) * _NS_PER_DAY
    if day < 0:
        raise FormatError(f"{path}: message member name has no TICKER_YYYY-MM-DD_ date "
                          "(1970..2261)")
    tag = n.find("_message_")
    lv_at = tag + len("_message_")
    levels = 0
    q = lv_at
    while q < len(n) and "0" <= n[q] <= "9" and levels <= 1000:
        levels = levels * 10 + ord(n[q]) - 48
        q += 1
    if q == lv_at or n[q:] != ".csv" or levels < 1 or levels > 1000:
        raise FormatError(f"{path}: message member name does not end in _message_<levels>.csv")
    head = len(full) - len(n) + tag
    want = full[:head] + "_orderbook_" + n[lv_at:]
    if want not in names:
        raise FormatError(f"{path}: no order-book member named like the message member")
    return full, want, day, levels


def _lobster_times(a: np.ndarray, fs: np.ndarray, fe: np.ndarray
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """lobster.c parse_time on each field: ns after midnight, and the mask of
    the fields that parse (seconds 1..6 digits < 86400, decimals cut at 9)."""
    width = 16
    m, inside, length = _gather(a, fs, fe, width)
    is_dot = inside & (m == 46)
    d = m.astype(np.int64) - 48
    is_dig = inside & (d >= 0) & (d <= 9)
    dd = np.where(is_dig, d, 0)
    ndots = is_dot.sum(axis=1)
    dot_at = np.where(ndots > 0, np.argmax(is_dot, axis=1), length)
    ok = (length >= 1) & (length <= width) & (ndots <= 1)
    ok &= np.all(~inside | is_dig | is_dot, axis=1)
    ok &= (dot_at >= 1) & (dot_at <= 6) & ((ndots == 0) | (length - dot_at - 1 >= 1))
    j = np.arange(width)
    sec = _horner(dd, is_dig & (j < dot_at[:, None]))
    frac_use = is_dig & (j > dot_at[:, None]) & (j - dot_at[:, None] - 1 < 9)
    frac = _horner(dd, frac_use)
    frac = frac * (10 ** (9 - frac_use.sum(axis=1))).astype(np.int64)
    ok &= sec < 86_400
    ns = sec * _NS_PER_S + frac
    long_fields = np.flatnonzero(length > width)
    if long_fields.size:
        raw = a.tobytes()
        for i in long_fields:
            mt = _LOBSTER_TIME_RE.fullmatch(raw[fs[i]:fe[i]])
            if mt and int(mt.group(1)) < 86_400:
                fr = (mt.group(2) or b"")[:9].ljust(9, b"0")
                ns[i] = int(mt.group(1)) * _NS_PER_S + int(fr)
                ok[i] = True
    return ns, ok


def read_lobster(path: PathLike, levels: int = 10, max_events: Optional[int] = None, *,
                 skip_trades: bool = False) -> Events:
    """Read a LOBSTER zip (``lobster.c``): the message and order-book CSVs of
    one day, row i of the order book being the book after message i.

    Per message row, in order: for an execution (types 4 and 5) a trade at
    price ÷ 10000 and the size in shares, the aggressor opposite to the hit
    order's direction (``trade_id`` 0); then the book of the order-book row,
    its first `levels` real levels a side (LOBSTER's dummy levels dropped).
    Stamped with UTC midnight of the date in the member name plus the
    message time. Skipped and counted: rows that do not parse, messages
    earlier than the previous one, executions with a bad size, price or
    direction (no trade; the book still goes), and book states the engine
    refuses (one-sided, bad or unordered levels, crossed, locked).
    ``counters``: ``messages``, ``by_type`` (``"1"`` .. ``"7"``,
    ``"other"``), ``skipped`` (``malformed``, ``time``, ``bad_trade``,
    ``one_sided``, ``bad_levels``, ``crossed``, ``locked``), ``trades``,
    ``books``. `skip_trades` gives no trades (executions still counted).

    Raises :class:`FormatError` when the zip is no LOBSTER zip,
    :class:`DataError` when it is damaged or its two files have different
    lengths.
    """
    p = _fspath(path)
    lv_opt = _check_levels(levels)
    limit = _check_max(max_events)
    names = _zip_names(p)
    msg_name, book_name, day_ns, file_levels = _lobster_members(names, p)
    lv = min(lv_opt, file_levels)
    with zipfile.ZipFile(p) as z:
        msg_data = _read_member(z, msg_name, p)
        book_data = _read_member(z, book_name, p)

    am, sm, em = _lines_of(msg_data)
    ab, sb, eb = _lines_of(book_data)
    n_msg, n_book = sm.size, sb.size
    n = min(n_msg, n_book)
    if n < n_msg:
        am = am[:sm[n]]
    if n < n_book:
        ab = ab[:sb[n]]
    sm, em, sb, eb = sm[:n], em[:n], sb[:n], eb[:n]

    # message rows: time,type,order_id,size,price,direction
    ok6, fs, fe = _split_fields(am, sm, em, 6)
    t_ns, ok_t = _lobster_times(am, fs[:, 0], fe[:, 0])
    cols = []
    ok_m = ok_t
    for k in range(1, 6):
        v, okv = _parse_ints(am, fs[:, k], fe[:, k], 18, True)
        cols.append(v)
        ok_m = ok_m & okv
    msg_ok = np.zeros(n, bool)
    rows6 = np.flatnonzero(ok6)
    msg_ok[rows6[ok_m]] = True
    mtype = np.zeros(n, np.int64)
    size = np.zeros(n, np.int64)
    price = np.zeros(n, np.int64)
    direction = np.zeros(n, np.int64)
    ns = np.zeros(n, np.int64)
    ns[rows6] = t_ns
    mtype[rows6] = cols[0]
    size[rows6] = cols[2]
    price[rows6] = cols[3]
    direction[rows6] = cols[4]

    # order-book rows: ask price, ask size, bid price, bid size per level
    nf = 4 * file_levels
    book_ok, vals = _int_table(ab, sb, eb, nf)
    book_vals = np.zeros((n, nf), np.int64)
    book_vals[book_ok] = vals
    del vals

    valid = msg_ok & book_ok
    ts = day_ns + ns
    vts = np.where(valid, ts, np.iinfo(np.int64).min)
    before = np.maximum.accumulate(np.concatenate(([np.iinfo(np.int64).min], vts)))[:-1]
    kept = valid & (ts >= before)

    execution = kept & ((mtype == 4) | (mtype == 5))
    bad_trade = execution & ((size <= 0) | (price <= 0) | ((direction != 1) & (direction != -1)))
    trade = execution & ~bad_trade & (not skip_trades)

    # the books: the first lv real levels a side
    ap_all = book_vals[:, 0::4]
    as_all = book_vals[:, 1::4]
    bp_all = book_vals[:, 2::4]
    bs_all = book_vals[:, 3::4]
    side = {}
    for name, pr, sz, dummy in (("asks", ap_all, as_all, _DUMMY_ASK),
                                ("bids", bp_all, bs_all, _DUMMY_BID)):
        real = pr != dummy
        rank = np.cumsum(real, axis=1) - 1
        keep = real & (rank < lv)
        count = np.minimum(real.sum(axis=1), lv)
        px = np.zeros((n, lv))
        qty = np.zeros((n, lv))
        r, c_ = np.nonzero(keep)
        px[r, rank[r, c_]] = pr[r, c_] / 10000.0
        qty[r, rank[r, c_]] = sz[r, c_].astype(np.float64)
        side[name] = (px, qty, count)
    bpx, bqty, nbid = side["bids"]
    apx, aqty, nask = side["asks"]
    j = np.arange(lv)
    in_b = j < nbid[:, None]
    in_a = j < nask[:, None]
    bad_b = in_b & ~((bpx > 0.0) & (bqty > 0.0))
    bad_b[:, 1:] |= in_b[:, 1:] & ~(bpx[:, 1:] < bpx[:, :-1])
    bad_a = in_a & ~((apx > 0.0) & (aqty > 0.0))
    bad_a[:, 1:] |= in_a[:, 1:] & ~(apx[:, 1:] > apx[:, :-1])
    one_sided = (nbid == 0) | (nask == 0)
    bad_levels = ~one_sided & (bad_b.any(axis=1) | bad_a.any(axis=1))
    fine = ~one_sided & ~bad_levels
    crossed = fine & (bpx[:, 0] > apx[:, 0])
    locked = fine & (bpx[:, 0] == apx[:, 0])
    book = kept & fine & ~crossed & ~locked

    emitting = trade.astype(np.int64) + book
    end = _prefix_end(emitting, limit)
    if end == n and n_msg != n_book and (limit is None or emitting.sum() < limit):
        shorter = "message" if n_msg < n_book else "order-book"
        longer = "order-book" if n_msg < n_book else "message"
        raise DataError(f"{p}: the {shorter} file ends at row {n} but the {longer} file "
                        "goes on")
    rows = slice(0, end)
    kept_r = kept[rows]
    tr = trade[rows].copy()
    bk = book[rows].copy()
    if limit is not None and int(tr.sum() + bk.sum()) > limit:
        # the limit fell between the trade and the book of the last row
        bk[end - 1] = False
    mt = mtype[rows]
    by_type = np.bincount(np.where((mt >= 1) & (mt <= 7), mt, 0)[kept_r], minlength=8)
    skipped = {
        "malformed": int(end - valid[rows].sum()),
        "time": int((valid[rows] & ~kept_r).sum()),
        "bad_trade": int(bad_trade[rows].sum()),
        "one_sided": int((kept_r & one_sided[rows]).sum()),
        "bad_levels": int((kept_r & bad_levels[rows]).sum()),
        "crossed": int((kept_r & crossed[rows]).sum()),
        "locked": int((kept_r & locked[rows]).sum()),
    }
    ti = np.flatnonzero(tr)
    trades = np.zeros(ti.size, TRADE_DTYPE)
    trades["ts_ns"] = ts[ti]
    trades["price"] = price[ti] / 10000.0
    trades["size"] = size[ti].astype(np.float64)
    trades["side"] = np.where(direction[ti] == -1, SIDE_BUY, SIDE_SELL)
    bi = np.flatnonzero(bk)
    books = np.zeros(bi.size, book_dtype(lv_opt))
    books["ts_ns"] = ts[bi]
    books["bid_count"] = nbid[bi]
    books["ask_count"] = nask[bi]
    books["bids"][:, :lv, 0] = bpx[bi]
    books["bids"][:, :lv, 1] = bqty[bi]
    books["asks"][:, :lv, 0] = apx[bi]
    books["asks"][:, :lv, 1] = aqty[bi]
    pair = np.zeros((end, 2), np.uint8)
    pair[:, 1] = KIND_BOOK
    kinds = pair[np.stack((tr, bk), axis=1)]
    counters = {
        "messages": int(end),
        "by_type": {**{str(t): int(by_type[t]) for t in range(1, 8)}, "other": int(by_type[0])},
        "skipped": skipped,
        "trades": int(ti.size),
        "books": int(bi.size),
    }
    e = Events.empty(lv_opt)
    return Events(trades, e.quotes, books, e.fundings, kinds, p, counters)


# ------------------------------------------------------------ tardis.dev CSVs

_TARDIS_LINE = 512  # tardis.c LINE_BYTES
_TS_US_LIMIT = _INT64_MAX // 1000


def _line_blocks(chunks: Iterable[bytes], size: int = 8 << 20) -> Iterator[bytes]:
    """The data in blocks of whole lines (the last may lack its newline)."""
    parts: List[bytes] = []
    have = 0
    for c in chunks:
        parts.append(c)
        have += len(c)
        if have >= size:
            buf = b"".join(parts)
            k = buf.rfind(b"\n")
            if k < 0:
                parts = [buf]
                continue
            yield buf[:k + 1]
            rest = buf[k + 1:]
            parts = [rest] if rest else []
            have = len(rest)
    if have:
        yield b"".join(parts)


class _TardisRows:
    """Valid rows of a tardis file: record index (non-empty lines counted
    from 0), local time (µs), trade id, side, and four values (trades: price,
    amount; quotes: ask amount, ask price, bid price, bid amount)."""

    def __init__(self, idx: np.ndarray, local: np.ndarray, tid: np.ndarray, side: np.ndarray,
                 vals: np.ndarray) -> None:
        """The columns, one row per valid record."""
        self.idx = idx
        self.local = local
        self.tid = tid
        self.side = side
        self.vals = vals

    @staticmethod
    def concat(parts: List["_TardisRows"]) -> "_TardisRows":
        """The rows of several blocks, in order."""
        if not parts:
            return _TardisRows(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                               np.zeros(0, np.int32), np.zeros((0, 4)))
        return _TardisRows(*(np.concatenate([getattr(p, f) for p in parts])
                             for f in ("idx", "local", "tid", "side", "vals")))

    @staticmethod
    def from_list(rows: List[Tuple[int, tuple]]) -> "_TardisRows":
        """Rows from (record index, _tardis_record tuple) pairs."""
        n = len(rows)
        idx = np.array([r[0] for r in rows], np.int64).reshape(n)
        local = np.array([r[1][0] for r in rows], np.int64).reshape(n)
        tid = np.array([r[1][1] for r in rows], np.int64).reshape(n)
        side = np.array([r[1][2] for r in rows], np.int32).reshape(n)
        vals = np.array([r[1][3:] for r in rows], np.float64).reshape(n, 4)
        return _TardisRows(idx, local, tid, side, vals)


def _tardis_record(rec: bytes, trades: bool) -> Optional[tuple]:
    """One tardis line (chomped, not empty) by tardis.c's rules: (local µs,
    trade id, side, four values) or None when malformed."""
    f = rec.decode("latin-1").split(",")
    if len(f) != 8:
        return None
    ts = _c_integer(f[2])
    local = _c_integer(f[3])
    if ts is None or local is None or not 0 < local < _TS_US_LIMIT:
        return None
    if trades:
        tid = _c_integer(f[4])
        price = _c_number(f[6])
        size = _c_number(f[7])
        if tid is None or price is None or size is None or f[5] not in ("buy", "sell"):
            return None
        return (local, tid, SIDE_BUY if f[5] == "buy" else SIDE_SELL, price, size, 0.0, 0.0)
    vals = [_c_number(x) for x in f[4:8]]
    if any(v is None for v in vals):
        return None
    return (local, 0, 0, vals[0], vals[1], vals[2], vals[3])


def _tardis_block_slow(block: bytes, trades: bool) -> Tuple[int, _TardisRows]:
    """A block line by line as gzgets with tardis.c's 512-byte buffer reads
    it (a longer line is several records; a NUL ends a record)."""
    count = 0
    good = []
    lines = block.split(b"\n")
    last = len(lines) - 1
    for i, ln in enumerate(lines):
        if i == last:
            if not ln:
                break
            raw = ln
        else:
            raw = ln + b"\n"
        for k in range(0, len(raw), _TARDIS_LINE - 1):
            rec = _chomp(raw[k:k + _TARDIS_LINE - 1])
            if not rec:
                continue
            r = _tardis_record(rec, trades)
            if r is not None:
                good.append((count, r))
            count += 1
    return count, _TardisRows.from_list(good)


def _tardis_block(block: bytes, trades: bool) -> Tuple[int, _TardisRows]:
    """The records of a block of whole lines: how many, and the valid ones."""
    a = np.frombuffer(block, np.uint8)
    s, e = _line_bounds(a)
    if b"\0" in block or (s.size and int((e - s).max()) >= _TARDIS_LINE - 1):
        return _tardis_block_slow(block, trades)
    while True:  # chomp: trailing carriage returns
        cr = (e > s) & (a[np.maximum(e - 1, 0)] == 13)
        if not cr.any():
            break
        e = e - cr
    nonempty = e > s
    s, e = s[nonempty], e[nonempty]
    count = int(s.size)
    ok8, fs, fe = _split_fields(a, s, e, 8)
    rows = np.flatnonzero(ok8)
    _, strict = _parse_ints(a, fs[:, 2], fe[:, 2], 18, False)
    local, ok_local = _parse_ints(a, fs[:, 3], fe[:, 3], 18, False)
    strict &= ok_local
    vals = np.zeros((rows.size, 4))
    if trades:
        tid, ok_id = _parse_ints(a, fs[:, 4], fe[:, 4], 18, False)
        side_b, _, side_len = _gather(a, fs[:, 5], fe[:, 5], 4)
        buy = (side_len == 3) & np.all(side_b[:, :3] == np.frombuffer(b"buy", np.uint8), axis=1)
        sell = (side_len == 4) & np.all(side_b == np.frombuffer(b"sell", np.uint8), axis=1)
        vals[:, 0], ok_p = _parse_plain_decimals(a, fs[:, 6], fe[:, 6], 40)
        vals[:, 1], ok_s = _parse_plain_decimals(a, fs[:, 7], fe[:, 7], 40)
        strict &= ok_id & (buy | sell) & ok_p & ok_s
        side = np.where(buy, SIDE_BUY, SIDE_SELL).astype(np.int32)
    else:
        tid = np.zeros(rows.size, np.int64)
        side = np.zeros(rows.size, np.int32)
        for k in range(4):
            vals[:, k], okv = _parse_plain_decimals(a, fs[:, 4 + k], fe[:, 4 + k], 40)
            strict &= okv
    fast = strict & (local > 0) & (local < _TS_US_LIMIT)
    out = _TardisRows(rows[fast], local[fast], tid[fast], side[fast], vals[fast])
    # rows the strict grammar does not cover go through the C rules
    extra = []
    for r in np.flatnonzero(~strict):
        i = int(rows[r])
        parsed = _tardis_record(block[s[i]:e[i]], trades)
        if parsed is not None:
            extra.append((i, parsed))
    if extra:
        out = _TardisRows.concat([out, _TardisRows.from_list(extra)])
        order = np.argsort(out.idx, kind="stable")
        out = _TardisRows(out.idx[order], out.local[order], out.tid[order], out.side[order],
                          out.vals[order])
    return count, out


def read_tardis(paths: Paths, max_events: Optional[int] = None) -> Events:
    """Read tardis.dev CSV exports (``tardis.c``), gzip (or plain): trades
    ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount`` and
    quotes ``exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,
    bid_price,bid_amount`` (times in µs), told apart by their header.

    One event per line, stamped with ``local_timestamp`` (the time the data
    reached the recorder) in ns. Up to 8 files (a day's trades and quotes)
    are merged into one stream by local time as the C reader merges them:
    the file whose next line has the smallest time goes next (ties to the
    file given first). Malformed lines are counted and skipped.
    ``counters``: ``lines``, ``bad_lines``, ``trades``, ``quotes``.
    `max_events` stops after that many events (the counters then hold what
    the C reader had read by then: each file's next event is read ahead).

    Raises :class:`FormatError` for a file without a tardis header,
    :class:`DataError` when the compressed data is damaged.
    """
    ps = _path_list(paths)
    limit = _check_max(max_events)
    if len(ps) > 8:
        raise ValueError(f"tardis: 1 to 8 files, got {len(ps)}")
    files = []
    for p in ps:
        src = _GzLines(p)
        try:
            head = src.gets(_TARDIS_LINE)
        except _GzError:
            head = None
        if head is None:
            raise DataError(f"{p}: cannot open or read")
        head = _chomp(head)
        if head not in (_TARDIS_TRADES, _TARDIS_QUOTES):
            raise FormatError(f"{p}: not a tardis trades or quotes CSV (header "
                              f"{head[:80].decode('latin-1')})")
        files.append((p, src, head == _TARDIS_TRADES))
    per_file = []
    for p, src, is_trades in files:
        counted = 0
        parts = []
        try:
            for block in _line_blocks(src.rest()):
                n_rec, rows = _tardis_block(block, is_trades)
                rows.idx += counted
                parts.append(rows)
                counted += n_rec
        except _GzError as e:
            raise DataError(f"{p}: line {counted + 2}: read error: {e}") from None
        per_file.append((is_trades, counted, _TardisRows.concat(parts)))
    # The C reader's merge (the smallest next time first, ties to the earlier
    # file) orders the events by (their file's running maximum time, file,
    # position): a stable sort of that key over the files in order.
    keys = np.concatenate([np.maximum.accumulate(r.local) if r.local.size else r.local
                           for _, _, r in per_file])
    order = np.argsort(keys, kind="stable")
    if limit is not None:
        order = order[:limit]
    file_of = np.concatenate([np.full(r.local.size, i, np.int64)
                              for i, (_, _, r) in enumerate(per_file)])[order]
    lines = bad = n_trades = n_quotes = 0
    for i, (is_trades, counted, rows) in enumerate(per_file):
        used = int((file_of == i).sum())
        if used < rows.idx.size:  # its next event read ahead
            read, valid = int(rows.idx[used]) + 1, used + 1
        else:
            read, valid = counted, rows.idx.size
        lines += read
        bad += read - valid
        if is_trades:
            n_trades += used
        else:
            n_quotes += used
    allrows = _TardisRows.concat([r for _, _, r in per_file])
    is_trade_file = np.array([t for t, _, _ in per_file], bool)
    kinds = np.where(is_trade_file[file_of], KIND_TRADE, KIND_QUOTE).astype(np.uint8)
    tsel = order[kinds == KIND_TRADE]
    qsel = order[kinds == KIND_QUOTE]
    trades = np.zeros(tsel.size, TRADE_DTYPE)
    trades["ts_ns"] = allrows.local[tsel] * 1000
    trades["trade_id"] = allrows.tid[tsel]
    trades["side"] = allrows.side[tsel]
    trades["price"] = allrows.vals[tsel, 0]
    trades["size"] = allrows.vals[tsel, 1]
    quotes = np.zeros(qsel.size, QUOTE_DTYPE)
    quotes["ts_ns"] = allrows.local[qsel] * 1000
    quotes["ask_size"] = allrows.vals[qsel, 0]
    quotes["ask_price"] = allrows.vals[qsel, 1]
    quotes["bid_price"] = allrows.vals[qsel, 2]
    quotes["bid_size"] = allrows.vals[qsel, 3]
    counters = {"lines": lines, "bad_lines": bad, "trades": n_trades, "quotes": n_quotes}
    e = Events.empty(10)
    return Events(trades, quotes, e.books, e.fundings, kinds, " + ".join(ps), counters)


# ------------------------------------------------------- Binance depth CSVs

_DEPTH_LINE = 1024  # binance_depth.c LINE_BYTES
_DEPTH_DEC_RE = re.compile(r"[0-9.\-][0-9.eE+\-]*")
_TS_MS_LIMIT = _INT64_MAX // _NS_PER_MS


def _depth_u64(s: str) -> Optional[int]:
    """binance_depth.c parse_u64: ASCII digits only, no overflow."""
    if not s or not (s.isascii() and s.isdigit()):
        return None
    if len(s) > 20:
        s = s.lstrip("0") or "0"
        if len(s) > 20:
            return None
    v = int(s)
    return v if v <= _U64_MAX else None


def _depth_decimal(s: str) -> Optional[float]:
    """binance_depth.c parse_decimal: [0-9.-] then [0-9.eE+-]*, taken whole
    by strtod without ERANGE, finite."""
    if not _DEPTH_DEC_RE.fullmatch(s):
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    if v - v != 0.0:
        return None
    if v == 0.0 or abs(v) < _DBL_MIN:
        if _c_number(s) is None:  # underflow: ERANGE
            return None
    return v


def _depth_row(line: bytes) -> Optional[tuple]:
    """binance_depth.c parse_row: (ts_ms, first_id, last_id, pu, side, snap,
    price, qty) or None."""
    f = line.decode("latin-1").split(",")
    if len(f) != 9 or not f[0]:
        return None
    ts = _depth_u64(f[1])
    first = _depth_u64(f[2])
    last = _depth_u64(f[3])
    if ts is None or ts > _TS_MS_LIMIT or first is None or last is None or first > last:
        return None
    if f[4] == "b":
        side = SIDE_BUY
    elif f[4] == "a":
        side = SIDE_SELL
    else:
        return None
    if f[5] == "snap":
        snap = True
    elif f[5] == "set":
        snap = False
    else:
        return None
    if f[8] == "-1":
        pu = -1
    else:
        pu = _depth_u64(f[8])
        if pu is None or pu > _INT64_MAX:
            return None
    price = _depth_decimal(f[6])
    if price is None or not price > 0:
        return None
    qty = _depth_decimal(f[7])
    if qty is None or not qty >= 0:
        return None
    return (ts, first, last, pu, side, snap, price, qty)


class _DepthFile:
    """One depth CSV with its next valid row read ahead (advance)."""

    def __init__(self, path: str, counters: dict) -> None:
        """The file at `path`, counting rows in `counters`."""
        self.path = path
        self.src = _GzLines(path)
        self.c = counters
        self.next: Optional[tuple] = None

    def advance(self) -> None:
        """Read up to the next valid row (binance_depth.c advance)."""
        c = self.c
        src = self.src
        self.next = None
        while True:
            try:
                line = src.gets(_DEPTH_LINE)
            except _GzError as e:
                raise DataError(f"{self.path}: row {c['rows'] + 1}: read error: {e}") from None
            if line is None:
                return
            k = line.find(b"\0")
            if k >= 0:
                line = line[:k]
            if line and line[-1] != 10 and not src.past:
                # longer than any real row: the rest of it is consumed, counted bad
                try:
                    src.rest_of_line()
                except _GzError as e:
                    raise DataError(f"{self.path}: row {c['rows'] + 1}: read error: {e}") \
                        from None
                c["rows"] += 1
                c["bad_rows"] += 1
                continue
            line = line.rstrip(b"\r\n")
            if not line or line == _BDEPTH_HEADER:
                continue
            c["rows"] += 1
            row = _depth_row(line)
            if row is None:
                c["bad_rows"] += 1
                continue
            self.next = row
            return


def read_binance_depth(paths: Paths, levels: int = 10, max_events: Optional[int] = None
                       ) -> Events:
    """Read Binance USDⓈ-M historical L2 CSVs (``binance_depth.c``), plain or
    gzip: rows ``symbol,timestamp,first_update_id,last_update_id,side,
    update_type,price,qty,pu``, one per level, the rows of a message sharing
    its time, ids and type (``snap`` or ``set``).

    The files given together (up to 8: a snapshot file and its update file,
    or several days) are one stream ordered by ``last_update_id`` (a snapshot
    before an update with the same id). The book follows Binance's rule: a
    snapshot loads it, stale updates are skipped, the first update must cover
    the snapshot and each later one chain by ``pu``; a break is a gap (book
    cleared until the next snapshot), and so is a crossed book. After every
    snapshot or applied update leaving both sides non-empty, a book of the
    top `levels` levels a side, stamped with the message time in ns (held at
    the previous event's time when it goes back). ``counters``: ``rows``,
    ``bad_rows``, ``snapshots``, ``updates``, ``updates_applied``,
    ``updates_stale``, ``updates_unsynced``, ``gaps``, ``resyncs``,
    ``one_sided``, ``time_held``, ``books``.

    Raises :class:`FormatError` for a file without the header,
    :class:`DataError` when the compressed data is damaged.
    """
    ps = _path_list(paths)
    lv = _check_levels(levels)
    limit = _check_max(max_events)
    if len(ps) > 8:
        raise ValueError(f"binance depth: 1 to 8 files, got {len(ps)}")
    c = dict(rows=0, bad_rows=0, snapshots=0, updates=0, updates_applied=0, updates_stale=0,
             updates_unsynced=0, gaps=0, resyncs=0, one_sided=0, time_held=0, books=0)
    files = []
    for p in ps:
        head = _first_line(p, _DEPTH_LINE)
        if head is None or _chomp(head) != _BDEPTH_HEADER:
            with open(p, "rb"):
                pass  # an unreadable file is an OSError
            raise FormatError(f"{p}: not a Binance depth CSV (header "
                              f"{_BDEPTH_HEADER.decode()} expected)")
        f = _DepthFile(p, c)
        f.advance()
        files.append(f)
    out = _Builder(lv)
    book = _Book()
    state = _WAIT_SNAPSHOT
    after_gap = False
    last_id = 0
    last_ts = 0

    def lose_sync() -> None:
        """A gap: the book is cleared until a snapshot."""
        nonlocal state, after_gap
        c["gaps"] += 1
        after_gap = True
        state = _WAIT_SNAPSHOT
        book.clear()

    n_books = 0
    while limit is None or n_books < limit:
        best = None
        for f in files:
            nx = f.next
            if nx is None:
                continue
            if best is None or nx[2] < best.next[2] or (nx[2] == best.next[2] and nx[5]
                                                        and not best.next[5]):
                best = f
        if best is None:
            break
        key = best.next
        msg = []
        while best.next is not None and best.next[:4] == key[:4] and best.next[5] == key[5]:
            r = best.next
            msg.append((r[4], r[6], r[7]))
            best.advance()
        # apply_message
        if key[5]:
            c["snapshots"] += 1
            if state == _IN_SYNC:
                continue  # the chain proves the book, which is at least as new
            book.clear()
            _apply_message(book, msg)
            if after_gap:
                c["resyncs"] += 1
            after_gap = False
            state = _WAIT_FIRST_DIFF
            last_id = key[2]
        else:
            c["updates"] += 1
            if state == _WAIT_SNAPSHOT:
                c["updates_unsynced"] += 1
                continue
            if key[2] < last_id or (state == _IN_SYNC and key[2] == last_id):
                c["updates_stale"] += 1
                continue
            if state == _WAIT_FIRST_DIFF:
                chained = key[1] <= last_id <= key[2]
            else:
                chained = key[3] == last_id
            if not chained:
                lose_sync()
                c["updates_unsynced"] += 1
                continue
            _apply_message(book, msg)
            c["updates_applied"] += 1
            state = _IN_SYNC
            last_id = key[2]
        if not book.bk or not book.ak:
            c["one_sided"] += 1
            continue
        ts = key[0] * _NS_PER_MS
        if ts < last_ts:
            c["time_held"] += 1
            ts = last_ts
        last_ts = ts
        if book.bk[-1] >= -book.ak[-1]:
            lose_sync()  # a crossed book is a broken one: wait for the next snapshot
            continue
        book.emit(out, ts)
        c["books"] += 1
        n_books += 1
    return out.events(" + ".join(ps), dict(c))


def _apply_message(book: _Book, msg: List[Tuple[int, float, float]]) -> None:
    """Set each (side, price, qty) of a depth message, in order."""
    for side, price, qty in msg:
        if side == SIDE_BUY:
            _apply_side(book.bk, book.bs, ((price, qty),), 1.0)
        else:
            _apply_side(book.ak, book.as_, ((price, qty),), -1.0)


# ------------------------------------------------------------ any format


def _read_stream(kind: str, paths: List[str], levels: int, limit: Optional[int]) -> Events:
    """One stream (a file or a group) by the reader of its kind."""
    if kind == "binance":
        return read_binance_capture(paths[0], levels, limit)
    if kind == "binance-depth":
        return read_binance_depth(paths, levels, limit)
    if kind == "tardis":
        return read_tardis(paths, limit)
    if kind == "lobster":
        return read_lobster(paths[0], levels, limit)
    if kind == "events":
        return read_event_file(paths[0], levels, limit)
    return read_fxcm(paths[0], limit)


def _widen_books(ev: Events, levels: int) -> Events:
    """The same events with books of `levels` levels a side (the readers
    without books give book_dtype(10) arrays)."""
    if ev.books.dtype == book_dtype(levels):
        return ev
    books = np.zeros(ev.books.shape[0], book_dtype(levels))
    if ev.books.shape[0]:  # pragma: no cover - every reader honours `levels`
        raise AssertionError("books of another width")
    return Events(ev.trades, ev.quotes, books, ev.fundings, ev.kinds, ev.source, ev.counters)


def read(paths: Paths, levels: int = 10, max_events: Optional[int] = None) -> Events:
    """Read one file or several, of any format :func:`detect` knows, as
    ``cscalp-backtest FILE...`` reads them: consecutive tardis files (a day's
    trades and quotes) are one stream merged by time, consecutive Binance
    depth CSVs (snapshots and updates) one stream merged by update id (up to
    8 files a group); any other file is a stream of its own. The streams are
    concatenated in the order given.

    `levels` (1..50) is the levels a side kept in each book (Binance,
    depth, LOBSTER; an event file's books are cut to it) and the width of
    the ``books`` array. `max_events` stops after that many events in all.

    ``source`` names the files read (joined by ``" + "``); ``counters`` is the
    reader's counters for one stream, else ``{"streams": [{"kind": ...,
    "paths": [...], "counters": {...}}, ...]}``.

    Raises :class:`FormatError` for a file of no known format,
    :class:`DataError` for a damaged one, :class:`OSError` for one that
    cannot be read.
    """
    ps = _path_list(paths)
    lv = _check_levels(levels)
    limit = _check_max(max_events)
    parts: List[Events] = []
    streams = []
    i = 0
    while i < len(ps):
        if limit is not None and limit <= 0:
            break
        kind = detect(ps[i])
        n = group_size(ps[i:], kind)
        group = ps[i:i + n]
        ev = _widen_books(_read_stream(kind, group, lv, limit), lv)
        parts.append(ev)
        streams.append({"kind": kind, "paths": group, "counters": ev.counters})
        if limit is not None:
            limit -= len(ev)
        i += n
    if not parts:
        e = Events.empty(lv)
        e.source = " + ".join(ps)
        return e
    if len(parts) == 1:
        ev = parts[0]
        return Events(ev.trades, ev.quotes, ev.books, ev.fundings, ev.kinds, " + ".join(ps),
                      ev.counters)
    return Events(np.concatenate([e.trades for e in parts]),
                  np.concatenate([e.quotes for e in parts]),
                  np.concatenate([e.books for e in parts]),
                  np.concatenate([e.fundings for e in parts]),
                  np.concatenate([e.kinds for e in parts]),
                  " + ".join(ps), {"streams": streams})
