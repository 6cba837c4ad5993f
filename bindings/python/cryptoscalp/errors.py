"""Exceptions: one class per family of C error codes.

Every exception raised for a failed C call is a :class:`Error` carrying the
``code`` (``cscalp_error``), its symbolic ``name`` (``"CSCALP_ECROSSED"``),
the library's ``strerror`` text and ``detail``, the engine's
``cscalp_last_error`` text that names the field or key.
"""
from __future__ import annotations

from typing import Dict, Type

from ._lib import LibraryNotFoundError, LibraryVersionError, lib

# Codes pinned by the C header (CSCALP_ERROR_LIST).
OK = 0
EINVAL = -1
ENOMEM = -2
EBUFFER = -3
ESTRUCT = -4
EJSON = -5
ECONFIG_KEY = -6
ECONFIG_TYPE = -7
ECONFIG_RANGE = -8
ENONFINITE = -9
EPRICE = -10
ESIZE = -11
ESIDE = -12
ECROSSED = -13
ELEVELS = -14
ETIME = -15
EUNSUPPORTED = -16
ECONFIG_FIXED = -17
ECORRUPT = -18
EVERSION = -19
EIO = -20
EORDER_UNKNOWN = -21
EORDER_CLOSED = -22
EOVERFILL = -23
ETRANSITION = -24
EKILLED = -25
ERISK = -26
EOUTLIER = -27


class Error(Exception):
    """A C call failed. ``code``, ``name``, ``text`` (strerror), ``detail``
    (cscalp_last_error: the field or key, with the value)."""

    def __init__(self, code: int, detail: str = "", context: str = "") -> None:
        self.code = int(code)
        self.name = lib.cscalp_error_name(self.code).decode()
        self.text = lib.cscalp_strerror(self.code).decode()
        self.detail = detail
        self.context = context
        msg = f"{self.name}: {detail or self.text}"
        if context:
            msg = f"{context}: {msg}"
        super().__init__(msg)


class InvalidArgumentError(Error, ValueError):
    """CSCALP_EINVAL, CSCALP_ESTRUCT, CSCALP_EBUFFER: a bad argument."""


class OutOfMemoryError(Error, MemoryError):
    """CSCALP_ENOMEM."""


class ConfigError(Error, ValueError):
    """CSCALP_EJSON, CSCALP_ECONFIG_KEY/TYPE/RANGE/FIXED: the configuration
    was refused; ``detail`` names the key."""


class MarketDataError(Error, ValueError):
    """An event was refused (non-finite, price, size, side, crossed, levels,
    time, outlier). From a batch push (and, for a field out of its domain,
    the InvalidArgumentError a batch raises) ``accepted`` is how many events
    of the call went in before it (they stay in), ``index`` the refused
    one's position in what was passed (the stream, for push_events) and
    ``kind`` its kind name."""

    accepted: int = 0
    index: int = -1
    kind: str = ""


class UnsupportedError(Error, NotImplementedError):
    """CSCALP_EUNSUPPORTED: this build lacks the feature."""


class CheckpointError(Error, ValueError):
    """CSCALP_ECORRUPT, CSCALP_EVERSION: a damaged or foreign checkpoint."""


class IOFailure(Error, OSError):
    """CSCALP_EIO: a file could not be read or written (detail: the step and
    the system's text)."""


class OrderError(Error, ValueError):
    """An order update was refused (unknown or closed id, overfill,
    impossible transition)."""


class RiskError(Error):
    """CSCALP_EKILLED, CSCALP_ERISK: refused by the kill switch or a
    pre-trade control."""


_BY_CODE: Dict[int, Type[Error]] = {
    EINVAL: InvalidArgumentError, ESTRUCT: InvalidArgumentError,
    EBUFFER: InvalidArgumentError, ENOMEM: OutOfMemoryError,
    EJSON: ConfigError, ECONFIG_KEY: ConfigError, ECONFIG_TYPE: ConfigError,
    ECONFIG_RANGE: ConfigError, ECONFIG_FIXED: ConfigError,
    ENONFINITE: MarketDataError, EPRICE: MarketDataError, ESIZE: MarketDataError,
    ESIDE: MarketDataError, ECROSSED: MarketDataError, ELEVELS: MarketDataError,
    ETIME: MarketDataError, EOUTLIER: MarketDataError,
    EUNSUPPORTED: UnsupportedError, ECORRUPT: CheckpointError, EVERSION: CheckpointError,
    EIO: IOFailure, EORDER_UNKNOWN: OrderError, EORDER_CLOSED: OrderError,
    EOVERFILL: OrderError, ETRANSITION: OrderError, EKILLED: RiskError, ERISK: RiskError,
}


def is_market_data_code(code: int) -> bool:
    """A code of a refused market-data event (MarketDataError)."""
    return _BY_CODE.get(int(code)) is MarketDataError


def error_from_code(code: int, detail: str = "", context: str = "") -> Error:
    """The exception for a C error code (:class:`Error` itself for codes this
    version does not know)."""
    return _BY_CODE.get(int(code), Error)(code, detail, context)


def error_name(code: int) -> str:
    """``cscalp_error_name``: e.g. ``"CSCALP_ECROSSED"``."""
    return lib.cscalp_error_name(int(code)).decode()


def strerror(code: int) -> str:
    """``cscalp_strerror``: the English text of a code."""
    return lib.cscalp_strerror(int(code)).decode()


class CallbackError(RuntimeWarning):
    """Warning issued when a health callback raised (the exception is kept on
    the engine: ``Engine.callback_errors``)."""


__all__ = ["Error", "InvalidArgumentError", "OutOfMemoryError", "ConfigError",
           "MarketDataError", "UnsupportedError", "CheckpointError", "IOFailure",
           "OrderError", "RiskError", "CallbackError", "LibraryNotFoundError",
           "LibraryVersionError", "error_from_code", "is_market_data_code", "error_name", "strerror"]
