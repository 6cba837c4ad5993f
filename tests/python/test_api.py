"""Every API of the cryptoscalp package, round trip, against the C library.

Layouts are checked against a C program compiled here from the public
headers (offsets of every field), the name tables against the header's
enums, and each call against what the C library says about the same state.
"""
import ctypes
import gc
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import ROOT, SAMPLE, child_env

import cryptoscalp as cs
from cryptoscalp import _lib, constants
from cryptoscalp.events import (QUOTE_DTYPE, TRADE_DTYPE, book_dtype, books_from_columns,
                                quotes_from_columns, trades_from_columns)

T0 = 1721347021000000000
HEADER = os.path.join(ROOT, "include", "cryptoscalp.h")
TRADING = {"fees": {"maker_bps": -1, "taker_bps": 0}, "policy": {"untrained_size_factor": 1},
           "regime": {"entry_band_bps": [0]}}

STRUCTS = {
    "cscalp_trade": _lib.Trade, "cscalp_quote": _lib.Quote, "cscalp_book": _lib.Book,
    "cscalp_funding": _lib.Funding, "cscalp_signal": _lib.Signal,
    "cscalp_adapt_report": _lib.AdaptReport, "cscalp_intent": _lib.Intent,
    "cscalp_order_update": _lib.OrderUpdate, "cscalp_position": _lib.Position,
    "cscalp_working_order": _lib.WorkingOrder, "cscalp_health_event": _lib.HealthEvent,
    "cscalp_health_report": _lib.HealthReport, "cscalp_component_health": _lib.ComponentHealth,
    "cscalp_sim_venue_config": _lib.SimVenueConfig,
    "cscalp_sim_venue_account": _lib.SimVenueAccount,
}


def quote(i, bid=63943.9, ask=63944.0):
    return (T0 + i * 1_000_000, bid, 1.0, ask, 2.0)


@pytest.fixture(scope="module")
def sample():
    return cs.data.read(SAMPLE)


# ------------------------------------------------------------ layouts, names

def test_struct_layouts_match_the_c_headers(tmp_path):
    """offsetof of every field and sizeof of every struct, from the C
    compiler, equal the ctypes declarations."""
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "cryptoscalp_sim.h"',
             'int main(void) {']
    for cname, py in STRUCTS.items():
        lines.append(f'printf("{cname} :sizeof %zu\\n", sizeof({cname}));')
        for fname, _ in py._fields_:
            lines.append(f'printf("{cname} {fname} %zu\\n", offsetof({cname}, {fname}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=c11", "-I", os.path.join(ROOT, "include"), str(src), "-o",
                    str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    checked = 0
    for line in out.splitlines():
        cname, field, value = line.split()
        py = STRUCTS[cname]
        got = ctypes.sizeof(py) if field == ":sizeof" else getattr(py, field).offset
        assert got == int(value), f"{cname}.{field}: ctypes {got}, C {value}"
        checked += 1
    assert checked == sum(len(py._fields_) + 1 for py in STRUCTS.values())


def test_numpy_dtypes_are_the_c_layouts():
    assert TRADE_DTYPE.itemsize == ctypes.sizeof(_lib.Trade)
    assert QUOTE_DTYPE.itemsize == ctypes.sizeof(_lib.Quote)
    assert book_dtype(50).itemsize == ctypes.sizeof(_lib.Book)
    for name, _ in _lib.Trade._fields_:
        assert TRADE_DTYPE.fields[name][1] == getattr(_lib.Trade, name).offset
    assert book_dtype(50).fields["asks"][1] == _lib.Book.asks.offset


def _header_enum(prefix, text):
    return {int(v): n.lower() for n, v in re.findall(r"\b" + prefix + r"([A-Z0-9_]+)\s*=\s*(-?\d+)",
                                                    text)}


def _header_enum_block(typedef, prefix, text):
    block = re.search(r"typedef enum " + typedef + r" \{(.*?)\}", text, re.S).group(1)
    return _header_enum(prefix, block)


def test_name_tables_match_the_header():
    h = open(HEADER).read()
    pairs = [("cscalp_severity", "CSCALP_SEVERITY_", constants.SEVERITIES),
             ("cscalp_component", "CSCALP_COMPONENT_", constants.COMPONENTS),
             ("cscalp_event_code", "CSCALP_EVENT_", constants.EVENTS),
             ("cscalp_action", "CSCALP_ACTION_", constants.ACTIONS),
             ("cscalp_status", "CSCALP_STATUS_", constants.STATUSES),
             ("cscalp_reject_reason", "CSCALP_REJECT_", constants.REJECT_REASONS),
             ("cscalp_playbook_row", "CSCALP_PLAYBOOK_", constants.PLAYBOOK_ROWS),
             ("cscalp_event_kind", "CSCALP_KIND_", constants.KINDS),
             ("cscalp_autonomy", "CSCALP_AUTONOMY_", constants.AUTONOMY),
             ("cscalp_intent_kind", "CSCALP_INTENT_", constants.INTENT_KINDS),
             ("cscalp_intent_reason", "CSCALP_INTENT_", constants.INTENT_REASONS),
             ("cscalp_order_type", "CSCALP_ORDER_", constants.ORDER_TYPES),
             ("cscalp_time_in_force", "CSCALP_TIF_", constants.TIME_IN_FORCE),
             ("cscalp_update_type", "CSCALP_UPDATE_", constants.UPDATE_TYPES),
             ("cscalp_liquidity", "CSCALP_LIQUIDITY_", constants.LIQUIDITY),
             ("cscalp_order_status", "CSCALP_ORDER_STATUS_", constants.ORDER_STATUSES)]
    for typedef, prefix, table in pairs:
        assert _header_enum_block(typedef, prefix, h) == table, typedef
    bits = dict(re.findall(r"#define CSCALP_SUPERVISOR_(\w+) \(1u << (\d+)\)", h))
    assert {1 << int(v): k.lower() for k, v in bits.items()} == constants.SUPERVISOR_FLAGS
    bits = dict(re.findall(r"#define CSCALP_REASON_(\w+) \(1u << (\d+)\)", h))
    assert {1 << int(v): k.lower() for k, v in bits.items()} == constants.SIGNAL_REASONS


def test_error_codes_and_classes():
    h = open(HEADER).read()
    codes = {int(c): n for n, c in re.findall(r"X\((\w+), (-?\d+),", h)}
    assert len(codes) >= 28
    for code, name in codes.items():
        assert cs.error_name(code) == "CSCALP_" + name
        assert cs.strerror(code) != "unknown error"
        if code:
            err = cs.errors.error_from_code(code, "detail")
            assert isinstance(err, cs.Error) and err.code == code and err.name.endswith(name)
    assert isinstance(cs.errors.error_from_code(-13), cs.MarketDataError)
    assert isinstance(cs.errors.error_from_code(-6), cs.ConfigError)
    assert isinstance(cs.errors.error_from_code(-18), cs.CheckpointError)
    assert isinstance(cs.errors.error_from_code(-20), OSError)
    assert type(cs.errors.error_from_code(-999)) is cs.Error


# ------------------------------------------------------------ lifecycle, config

def test_open_close_and_configuration(tmp_path):
    assert cs.version() == "1.0.0" and cs.SUPPORTED_MAJOR == 1
    # model.backend "auto" takes OpenBLAS exactly when the build has it.
    with cs.Engine() as e:
        assert cs.has_feature(constants.FEATURE_BLAS) == (e.stats()["model"]["backend"] == "blas")
    assert cs.has_feature(999) is False
    with cs.Engine({"feed": {"book_levels": 5}}) as e:
        assert e.config["feed"]["book_levels"] == 5
        e.configure({"policy": {"order_ttl_ms": 1234}})
        assert e.config["policy"]["order_ttl_ms"] == 1234
        with pytest.raises(cs.ConfigError) as err:
            e.configure({"policy": {"no_such_key": 1}})
        assert "policy.no_such_key" in str(err.value) and err.value.code == -6
        assert e.config["policy"]["order_ttl_ms"] == 1234  # all or nothing
        assert e.stats()["engine"]["config_rejected"] == 1
        assert "autonomy=manual" in repr(e)
    assert e.closed
    with pytest.raises(ValueError, match="closed"):
        e.infer()
    e.close()  # idempotent
    assert cs.Engine('{"feed":{"book_levels":3}}').config["feed"]["book_levels"] == 3
    assert cs.Engine(None).config["feed"]["book_levels"] == cs.Engine().config["feed"][
        "book_levels"]
    with pytest.raises(cs.ConfigError) as err:
        cs.Engine({"features": {"z_clip": 0}})
    assert "features.z_clip" in err.value.detail and err.value.code == -8
    with pytest.raises(cs.ConfigError):
        cs.Engine("{not json")
    with pytest.raises(TypeError):
        cs.Engine(42)


# ------------------------------------------------------------ market data

def test_single_pushes_and_refusals():
    seen = []
    with cs.Engine(on_health=seen.append) as e:
        e.push_quote(*quote(0))
        e.push_trade(T0 + 1, 63944.0, 0.01, "buy", trade_id=7)
        e.push_trade(T0 + 2, 63943.9, 0.02, -1)
        e.push_book(T0 + 3, [(63943.9, 1.0), (63943.8, 2.0)], [(63944.0, 1.5)])
        e.push_funding(T0 + 4, 0.0001, 63944.0, 63940.0, T0 + 10**12)
        e.tick(T0 + 10)
        with pytest.raises(cs.MarketDataError) as err:
            e.push_quote(T0 + 11, 63944.0, 1.0, 63943.0, 1.0)
        assert err.value.code == -13 and "quote.bid_price" in err.value.detail
        with pytest.raises(ValueError, match="trade.side"):
            e.push_trade(T0 + 12, 1.0, 1.0, "sideways")
        h = e.health()
        assert h.feed_accepted == {"trade": 2, "quote": 1, "book": 1, "funding": 1}
        assert h.feed_rejected["crossed"] == 1 and h.clock_ns == T0 + 10
        assert h.components["feed"].last_event == "input_rejected"
        assert set(h.components) == set(constants.COMPONENTS.values())
        assert set(h.playbook_actions) == set(constants.PLAYBOOK_ROWS.values())
        assert isinstance(h.supervisor, tuple)
    ev = [x for x in seen if x.event == "input_rejected"]
    assert len(ev) == 1 and ev[0].error_name == "CSCALP_ECROSSED"
    assert ev[0].component == "feed" and ev[0].action == "rejected"
    assert "bid_price" in ev[0].message and ev[0].ts_ns == T0 + 10


def test_batch_push_forms_agree():
    n = 200
    ts = T0 + np.arange(n, dtype=np.int64) * 1_000_000
    bid = 63900.0 + np.arange(n) * 0.1
    q = quotes_from_columns(ts, bid, 1.0, bid + 0.1, 2.0)
    t = trades_from_columns(ts + 500, bid + 0.1, 0.01, np.where(np.arange(n) % 2, 1, -1))
    outs = []
    for form in ("array", "columns", "kwargs", "frame", "foreign_dtype"):
        with cs.Engine() as e:
            for i in range(0, n, 50):
                qs, tr = q[i:i + 50], t[i:i + 50]
                if form == "array":
                    a = e.push_quotes(qs)
                elif form == "columns":
                    a = e.push_quotes({k: qs[k] for k in QUOTE_DTYPE.names})
                elif form == "kwargs":
                    a = e.push_quotes(ts_ns=qs["ts_ns"], bid_price=qs["bid_price"],
                                      bid_size=qs["bid_size"], ask_price=qs["ask_price"],
                                      ask_size=qs["ask_size"])
                elif form == "frame":
                    import pandas as pd
                    a = e.push_quotes(pd.DataFrame({k: qs[k] for k in QUOTE_DTYPE.names}))
                else:
                    other = np.zeros(len(qs), [("ask_size", "f4"), ("ts_ns", "i8"),
                                               ("bid_price", "f8"), ("bid_size", "f4"),
                                               ("ask_price", "f8")])
                    for k in other.dtype.names:
                        other[k] = qs[k]
                    a = e.push_quotes(other)
                assert a == len(qs)
                assert e.push_trades(tr) == len(tr)
            outs.append(e.stats_json())
    assert all(o == outs[0] for o in outs)
    with cs.Engine() as e:
        with pytest.raises(ValueError, match="missing column"):
            e.push_quotes(ts_ns=ts)
        with pytest.raises(ValueError, match="unknown column"):
            e.push_trades(ts_ns=ts, price=bid, size=1.0, side=1, colour=1)


def test_batch_stops_at_a_refusal_and_keeps_what_went_in():
    ts = T0 + np.arange(10, dtype=np.int64) * 1_000_000
    q = quotes_from_columns(ts, 100.0, 1.0, 100.1, 1.0)
    q["ask_price"][4] = 99.0  # crossed
    q["bid_price"][7] = np.nan
    with cs.Engine() as e:
        with pytest.raises(cs.MarketDataError) as err:
            e.push_quotes(q)
        assert err.value.accepted == 4 and err.value.index == 4 and err.value.kind == "quote"
        assert e.health().feed_accepted["quote"] == 4
        assert e.push_quotes(q[5:], skip_invalid=True) == 4
        h = e.health()
        assert h.feed_accepted["quote"] == 8
        assert h.feed_rejected["crossed"] == 1 and h.feed_rejected["nonfinite"] == 1


def test_books_of_any_depth_push_the_same():
    n = 1500  # more than one widening chunk
    ts = T0 + np.arange(n, dtype=np.int64) * 1_000_000
    mid = 100.0 + 0.01 * np.sin(np.arange(n) / 50.0)
    lv = np.arange(10)
    bp = np.round(mid[:, None] - 0.05 - 0.01 * lv, 2)
    ap = np.round(mid[:, None] + 0.05 + 0.01 * lv, 2)
    b10 = books_from_columns(ts, bp, 1.0 + lv, ap, 2.0 + lv)
    b50 = np.zeros(n, book_dtype(50))
    for k in b10.dtype.names:
        if k in ("bids", "asks"):
            b50[k][:, :10] = b10[k]
        else:
            b50[k] = b10[k]
    stats = []
    for arr in (b10, b50):
        with cs.Engine({"feed": {"book_levels": 10}}) as e:
            assert e.push_books(arr) == n
            stats.append(e.stats_json())
            feats = e.features()
    with cs.Engine({"feed": {"book_levels": 10}}) as e:
        for i in range(n):
            row = b10[i]
            e.push_book(int(row["ts_ns"]), [tuple(x) for x in row["bids"]],
                        [tuple(x) for x in row["asks"]])
        stats.append(e.stats_json())
        assert np.array_equal(e.features(), feats)
    assert stats[0] == stats[1] == stats[2]
    with cs.Engine() as e, pytest.raises(TypeError):
        e.push_books(np.zeros(3, QUOTE_DTYPE))


# ------------------------------------------------------------ model, decisions

def test_features_infer_adapt(sample):
    with cs.Engine() as e:
        assert e.feature_names == cs.feature_names() and len(e.feature_names) == len(
            e.features())
        assert e.push_events(sample.slice(0, 5000)) == 5000
        raw, z = e.features(), e.features(normalized=True)
        assert raw.dtype == np.float64 and np.all(np.isfinite(raw)) and not np.array_equal(raw, z)
        names = e.feature_names
        assert raw[names.index("spread_bps")] > 0
        s = e.infer()
        assert abs(sum(s.probabilities) - 1) < 1e-12 and s.up == s.probabilities[2]
        assert s.ts_ns == e.health().clock_ns and s.autonomy == "manual"
        assert all(r in constants.SIGNAL_REASONS.values() for r in s.reasons)
        before = e.adapt(0)
        r = e.adapt(8)
        assert r.mode == "inline" and 1 <= r.steps <= 8
        assert r.steps_total == before.steps_total + r.steps
        with pytest.raises(ValueError, match="budget_steps"):
            e.adapt(-1)
        st = e.stats()["learn"]
        assert r.steps_total == st["training"]["steps"]
        assert r.samples_matured == st["samples"]["matured"]
        assert r.serving in ("network", "fallback")


def test_intents_orders_fills_position(sample):
    with cs.Engine(TRADING) as e:
        e.autonomy = "autonomous"
        assert e.autonomy == "autonomous"
        got = []
        pos = 0
        step = 200
        while not got and pos < len(sample):
            e.push_events(sample.slice(pos, pos + step))
            pos += step
            got = [i for i in e.intents() if i.kind == "new"]
        assert got, "the trading configuration gave no intent on the sample"
        it = got[0]
        assert it.side in ("buy", "sell") and it.quantity > 0 and it.client_id >= 1
        assert it.reason in constants.INTENT_REASONS.values()
        orders = {o.client_id: o for o in e.orders()}
        assert orders[it.client_id].status == "pending_new"
        e.on_order("ack", it.client_id, ts_ns=it.ts_ns)
        assert {o.client_id: o for o in e.orders()}[it.client_id].acked
        e.on_order("fill", it.client_id, fill_id=99, fill_price=it.price,
                   fill_quantity=it.quantity, fee=0.01, liquidity="taker")
        p = e.position()
        sign = 1 if it.side == "buy" else -1
        assert p.position == pytest.approx(sign * it.quantity) and p.fills == 1
        assert p.fees == pytest.approx(0.01) and p.autonomy == "autonomous"
        with pytest.raises(cs.OrderError) as err:
            e.on_order("ack", 10**9)
        assert err.value.code == -21
        e.set_position(0.0)
        assert e.position().position == 0
        with pytest.raises(ValueError):
            e.on_order("bogus", 1)
        e.autonomy = 0
        assert e.autonomy == "manual"


# ------------------------------------------------------------ checkpoints

def test_save_load_bytes(tmp_path, sample):
    with cs.Engine() as e:
        e.push_events(sample.slice(0, 3000))
        path = tmp_path / "e.ckpt"
        blob = e.to_bytes()
        e.save(str(path))  # the file is what the buffer held (save then counts itself)
        assert path.read_bytes() == blob
        assert e.to_bytes() != blob
        with cs.Engine.load(str(path)) as a, cs.Engine.from_bytes(blob) as b:
            assert a.stats_json() == b.stats_json()
            assert a.infer() == b.infer()
        bad = bytearray(blob)
        bad[len(bad) // 2] ^= 0xFF
        with pytest.raises(cs.CheckpointError) as err:
            cs.Engine.from_bytes(bytes(bad))
        assert err.value.code == -18 and err.value.detail
        with pytest.raises(cs.IOFailure):
            e.save(str(tmp_path / "no" / "such" / "dir" / "x"))
        with pytest.raises(cs.IOFailure):
            cs.Engine.load(str(tmp_path / "missing"))


# ------------------------------------------------------------ callbacks

def test_a_callback_that_raises_is_reported_and_the_call_goes_on(caplog):
    calls = []

    def bad(ev):
        calls.append(ev)
        raise RuntimeError("boom in the callback")

    e = cs.Engine(on_health=bad)
    del bad
    gc.collect()  # the engine keeps the callable alive
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        e.push_quote(*quote(0))
        with pytest.raises(cs.MarketDataError):
            e.push_quote(T0 + 5, 2.0, 1.0, 1.0, 1.0)  # crossed: one event
        e.push_quote(*quote(6))  # still works
    assert len(calls) == 1 and e.callback_error_count == 1
    assert isinstance(e.callback_errors[0], RuntimeError)
    assert any(issubclass(x.category, cs.CallbackError) for x in w)
    assert "boom in the callback" in caplog.text
    assert e.health().feed_accepted["quote"] == 2
    e.set_health_callback(None)
    with pytest.raises(cs.MarketDataError):
        e.push_quote(T0 + 7, 2.0, 1.0, 1.0, 1.0)
    assert len(calls) == 1
    with pytest.raises(TypeError):
        e.set_health_callback(42)
    e.close()


def test_keyboard_interrupt_in_a_callback_is_raised_after_the_call():
    def stop(ev):
        raise KeyboardInterrupt

    with cs.Engine(on_health=stop) as e:
        e.push_quote(*quote(0))
        with pytest.raises(KeyboardInterrupt):
            e.push_quote(T0 + 5, 2.0, 1.0, 1.0, 1.0)
        e.push_quote(*quote(6))
        assert e.health().feed_accepted["quote"] == 2


# ------------------------------------------------------------ loading

def _child(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=child_env(**env), cwd="/")


def test_wrong_major_library_is_refused(tmp_path):
    src = tmp_path / "fake.c"
    src.write_text('unsigned int cscalp_version(void) { return 0x020100u; }\n')
    fake = tmp_path / "libcryptoscalp.so.2"
    subprocess.run(["cc", "-shared", "-fPIC", str(src), "-o", str(fake)], check=True)
    r = _child("import cryptoscalp", CSCALP_LIBRARY=str(fake))
    assert r.returncode != 0
    assert "LibraryVersionError" in r.stderr and "libcryptoscalp 2.1.0" in r.stderr
    assert "major version 1" in r.stderr
    r = _child("import cryptoscalp", CSCALP_LIBRARY=str(tmp_path / "nope.so"))
    assert r.returncode != 0 and "LibraryNotFoundError" in r.stderr and "nope.so" in r.stderr


def test_scalar_api_without_numpy():
    code = ("import sys; sys.modules['numpy'] = None\n"
            "import cryptoscalp as cs\n"
            "e = cs.Engine()\n"
            f"e.push_quote({T0}, 100.0, 1.0, 100.1, 1.0)\n"
            f"e.push_trade({T0 + 1}, 100.1, 0.5, 'buy')\n"
            "f = e.features(); assert isinstance(f, list) and len(f) == len(e.feature_names)\n"
            "print(e.infer().probabilities, e.health().feed_accepted['quote'])\n"
            "try:\n    e.push_quotes(ts_ns=[1])\nexcept ImportError as x:\n    print('IE', x)\n"
            "print(hasattr(cs, 'backtest'))\n")
    r = _child(code)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0].endswith(" 1") and out[1].startswith("IE") and "numpy" in out[1]
    assert out[2] == "False"


def test_misaligned_and_strided_arrays_are_copied_aligned(sample):
    """Arrays at odd addresses (e.g. unpickled from out-of-band buffers, as
    Dask sends them) or with strides reach C aligned (UBSan checks it in the
    sanitizer build) and push what aligned ones push."""
    q = sample.quotes
    raw = b"\0" + q.tobytes()
    odd = np.frombuffer(raw, dtype=QUOTE_DTYPE, offset=1)
    assert odd.ctypes.data % 8 != 0
    fixed = cs.engine.c_array(odd)
    assert fixed.ctypes.data % 8 == 0 and np.array_equal(fixed, q)
    stats = []
    for arr in (q, odd):
        with cs.Engine() as e:
            e.push_quotes(arr)
            stats.append(e.stats_json())
    with cs.Engine() as e:
        wide = np.zeros(len(q) * 2, QUOTE_DTYPE)
        wide[::2] = q
        e.push_quotes(wide[::2])  # strided view
        stats.append(e.stats_json())
    assert stats[0] == stats[1] == stats[2]
    shifted = cs.Events(np.frombuffer(b"\0" + sample.trades.tobytes(), sample.trades.dtype,
                                      offset=1), odd, sample.books, sample.fundings,
                        sample.kinds)
    with cs.Engine() as a, cs.Engine() as b:
        a.push_events(sample)
        b.push_events(shifted)
        assert a.stats_json() == b.stats_json()


def test_events_helpers(sample):
    ts = sample.timestamps()
    assert len(ts) == len(sample) and np.all(np.diff(ts) >= 0)
    part = sample.slice(100, 2100)
    assert len(part) == 2000 and np.array_equal(part.timestamps(), ts[100:2100])
    # The runs rebuild the stream: kind by kind, row by row.
    rebuilt = np.concatenate([part._arrays()[k]["ts_ns"][row:row + count]
                              for k, row, count in part.runs()])
    assert np.array_equal(rebuilt, part.timestamps())
    assert [k for k, _, c in part.runs() for _ in range(c)] == part.kinds.tolist()
    t0, t1 = int(ts[500]), int(ts[900])
    win = sample.between(t0, t1)
    assert np.array_equal(win.timestamps(), ts[(ts >= t0) & (ts < t1)]) and len(win) > 0
    merged = cs.Events.merge(trades=sample.trades, quotes=sample.quotes, books=sample.books)
    assert len(merged) == len(sample) and np.all(np.diff(merged.timestamps()) >= 0)
    assert merged.counts() == sample.counts()
    import pandas as pd
    frame = cs.Events.merge(trades=pd.DataFrame(sample.trades[["ts_ns", "price", "size", "side"]]),
                            quotes={k: sample.quotes[k] for k in QUOTE_DTYPE.names})
    assert frame.counts() == {**sample.counts(), "book": 0}


def test_malformed_streams_never_reach_c(sample):
    bad_kinds = cs.Events(sample.trades, sample.quotes[:5], sample.books, sample.fundings,
                          sample.kinds)
    packed = np.zeros(5, [("ts_ns", "i8"), ("price", "f8"), ("size", "f4"), ("side", "i4"),
                          ("flags", "u4"), ("trade_id", "i8")])
    bad_dtype = cs.Events(packed, sample.quotes[:0], sample.books[:0], sample.fundings,
                          np.zeros(5, np.uint8))
    bad_value = cs.Events(sample.trades[:1], sample.quotes[:0], sample.books[:0],
                          sample.fundings, np.array([7], np.uint8))
    with cs.Engine() as e:
        with pytest.raises(ValueError, match="names 7113 quotes, the array holds 5"):
            e.push_events(bad_kinds)
        with pytest.raises(TypeError, match="Events.trades: dtype"):
            e.push_events(bad_dtype)
        with pytest.raises(ValueError, match="0..3"):
            e.push_events(bad_value)
        assert sum(e.health().feed_accepted.values()) == 0
    with pytest.raises(ValueError, match="names 7113 quotes"):
        cs.backtest(bad_kinds)


def test_a_refusal_in_a_stream_names_its_position(sample):
    ev = sample.slice(0, 4000)
    quotes = ev.quotes.copy()
    # The 50th quote of the stream, crossed.
    quotes["bid_price"][49] = quotes["ask_price"][49] + 1
    broken = cs.Events(ev.trades, quotes, ev.books, ev.fundings, ev.kinds)
    where = int(np.flatnonzero(ev.kinds == 1)[49])
    with cs.Engine() as e:
        with pytest.raises(cs.MarketDataError) as err:
            e.push_events(broken)
        assert err.value.index == where and err.value.kind == "quote"
        assert f"quote at index {where}" in str(err.value)
        assert sum(e.health().feed_accepted.values()) == where
        assert e.push_events(broken.slice(where + 1, len(broken))) == len(broken) - where - 1
    with cs.Engine() as e:
        assert e.push_events(broken, skip_invalid=True) == len(broken) - 1


def test_fundings_and_book_columns_and_numpy_values():
    f = cs.events.fundings_from_columns([T0, T0 + 1, T0 + 2], 0.0001, 100.0, 0.0,
                                        [0, -5, 0])
    with cs.Engine() as e:
        e.push_quote(T0, 99.9, 1.0, 100.1, 1.0)
        with pytest.raises(cs.InvalidArgumentError) as err:
            e.push_fundings(f)
        assert err.value.index == 1 and err.value.accepted == 1
        assert "next_funding_ts_ns" in err.value.detail
        assert e.push_fundings(f[2:]) == 1
        assert e.health().feed_accepted["funding"] == 2
        assert e.push_fundings(ts_ns=[T0 + 3], funding_rate=np.float32(0.0002),
                               mark_price=100.0) == 1
        lv = np.arange(3)
        n = e.push_books(ts_ns=[T0 + 4, T0 + 5], bid_price=[100.0 - 0.1 * (lv + 1)] * 2,
                         bid_size=np.ones((2, 3)), ask_price=[100.0 + 0.1 * (lv + 1)] * 2,
                         ask_size=np.ones((2, 3)))
        assert n == 2 and e.health().feed_accepted["book"] == 2
        assert e.push_trades(ts_ns=[T0 + 6, T0 + 7], price=100.0, size=0.1,
                             side=["buy", "sell"]) == 2
        e.push_trade(np.int64(T0 + 8), np.float64(100.0), 0.1, np.int32(1))
        e.autonomy = np.int64(1)
        assert e.autonomy == "assisted"
    with cs.Engine({"policy": {"order_ttl_ms": np.int64(777)},
                    "regime": {"entry_band_bps": np.array([0.0, 1.0])}}) as e:
        assert e.config["policy"]["order_ttl_ms"] == 777


def test_a_callback_may_not_call_its_engine():
    def nosy(ev):
        holder[0].stats()

    holder = []
    with cs.Engine(on_health=nosy) as e:
        holder.append(e)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(cs.MarketDataError):
                e.push_quote(T0, 2.0, 1.0, 1.0, 1.0)
        assert e.callback_error_count == 1
        assert isinstance(e.callback_errors[0], RuntimeError)
        assert "inside its own health callback" in str(e.callback_errors[0])
        e.push_quote(*quote(1))  # the engine works on


def test_an_engine_with_a_callback_is_freed_without_the_cycle_collector():
    import weakref
    gc.disable()
    try:
        e = cs.Engine(on_health=lambda ev: None)
        ref = weakref.ref(e)
        del e
        assert ref() is None
    finally:
        gc.enable()
