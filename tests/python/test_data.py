"""cryptoscalp.data against the C readers of examples/common.

The reference is the C converter: every real file (or group of files) that
``cscalp-backtest`` takes is converted with ``cscalp-backtest --convert``,
the event file is read back with ``read_event_file`` and compared, bit for
bit, with what ``read`` gives from the originals; ``write_event_file`` of the
Python events must give the same bytes. The readers' counters are compared
with those ``cscalp-learn`` prints. Files written here (damaged, or crafted
around the readers' edge cases from seeded generators) go through both the
same way.
"""
import gzip
import json
import os
import random
import subprocess
import time
import zipfile

import numpy as np
import pytest

from conftest import SAMPLE, shared, tool

from cryptoscalp import data
from cryptoscalp.data import DataError, FormatError
from cryptoscalp.events import FUNDING_DTYPE, QUOTE_DTYPE, TRADE_DTYPE, Events, book_dtype

FIELDS = ("trades", "quotes", "books", "fundings", "kinds")


def backtest() -> str:
    return tool("examples", "backtest", "cscalp-backtest")


def learn() -> str:
    return tool("examples", "learn", "cscalp-learn")


# Every real file or group cscalp-backtest takes, with what detect() says.
REAL = {
    "sample": ([SAMPLE], ["binance"]),
    "usdm-20230404": ([("binance-usdm", "btcusdt_20230404.dat.gz")], ["binance"]),
    "usdm-20230405": ([("binance-usdm", "btcusdt_20230405.dat.gz")], ["binance"]),
    "usdm-20240718": ([("binance-usdm", "btcusdt_20240718.gz")], ["binance"]),
    "usdm-20240719": ([("binance-usdm", "btcusdt_20240719.gz")], ["binance"]),
    "usdm-20240808": ([("binance-usdm", "btcusdt_20240808.gz")], ["binance"]),
    "spot-20240808": ([("binance-spot", "btcusdt_20240808.gz")], ["binance"]),
    "depth-pair": ([("binance-usdm", "btcusdt-depth-snap.csv"),
                    ("binance-usdm", "btcusdt-depth-update.csv")],
                   ["binance-depth", "binance-depth"]),
    "tardis-pair": ([("tardis-binance-futures", f"binance-futures_{k}_BTCUSDT_2020-02-22.csv.gz")
                     for k in ("trades", "quotes")], ["tardis", "tardis"]),
    "lobster-aapl": ([("lobster", "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip")], ["lobster"]),
    "lobster-goog": ([("lobster", "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip")], ["lobster"]),
    "fxcm-20140501": ([("fx-eurusd", "20140501_quote.zip")], ["fxcm"]),
    "fxcm-20140502": ([("fx-eurusd", "20140502_quote.zip")], ["fxcm"]),
    "fxcm-20140504": ([("fx-eurusd", "20140504_quote.zip")], ["fxcm"]),
    "fxcm-20140508": ([("fx-eurusd", "20140508_quote.zip")], ["fxcm"]),
}

# The key that starts each reader's counters JSON in cscalp-learn's output.
COUNTER_KEYS = ('{"lines"', '{"rows"', '{"messages"', '{"files"')


def real_files(case: str) -> list:
    return [f if isinstance(f, str) else shared(*f) for f in REAL[case][0]]


# ------------------------------------------------------------------ helpers


def assert_same_array(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Same dtype, shape and bytes; the first differing row otherwise."""
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if got.tobytes() == want.tobytes():
        return
    g = got.view(np.uint8).reshape(got.shape[0], -1)
    w = want.view(np.uint8).reshape(want.shape[0], -1)
    row = int(np.flatnonzero((g != w).any(axis=1))[0])
    pytest.fail(f"{what}: row {row} differs: {got[row]!r} != {want[row]!r}")


def assert_same_events(got: Events, want: Events, what: str) -> None:
    for name in FIELDS:
        assert_same_array(getattr(got, name), getattr(want, name), f"{what}: {name}")


def convert(out_dir, files: list, levels: int = 10, name: str = "out.ev") -> str:
    """cscalp-backtest --convert OUT --levels N FILES...: OUT."""
    out = os.path.join(str(out_dir), name)
    r = subprocess.run([backtest(), "--convert", out, "--levels", str(levels), *files],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"cscalp-backtest --convert failed: {r.stderr[-2000:]}"
    return out


def convert_fails(out_dir, files: list) -> str:
    """The stderr of a --convert that must fail."""
    out = os.path.join(str(out_dir), "fail.ev")
    r = subprocess.run([backtest(), "--convert", out, *files], capture_output=True, text=True)
    assert r.returncode != 0, "cscalp-backtest --convert took a damaged file"
    return r.stderr


def c_counters(path: str, levels: int = 10, max_events: int = 0) -> dict:
    """The counters cscalp-learn prints for one file (its own reader)."""
    args = [learn(), "--summary-json", "--levels", str(levels)]
    if max_events:
        args += ["--max-events", str(max_events)]
    r = subprocess.run(args + [path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    for line in r.stderr.splitlines():
        head, _, rest = line.partition(f"{path}: ")
        if head.startswith("cscalp-learn") and rest.startswith(COUNTER_KEYS):
            return json.loads(rest)
    pytest.fail(f"no counters in cscalp-learn's output: {r.stderr[-2000:]}")


def check_against_c(tmp_path, files: list, levels: int = 10, counters: bool = True) -> Events:
    """read(files) equals the C conversion (and, for one file, its counters);
    write_event_file gives the converter's bytes."""
    out = convert(tmp_path, files, levels)
    want = data.read_event_file(out, levels=levels)
    got = data.read(files, levels=levels)
    assert_same_events(got, want, f"{files} at {levels} levels")
    mine = os.path.join(str(tmp_path), "mine.ev")
    assert data.write_event_file(mine, got) == len(got)
    with open(mine, "rb") as a, open(out, "rb") as b:
        assert a.read() == b.read(), "write_event_file differs from the converter"
    if counters and len(files) == 1:
        assert got.counters == c_counters(files[0], levels)
    return got


@pytest.fixture(scope="module")
def conversions(tmp_path_factory):
    """Each real case converted once: case -> (files, event file)."""
    cache = {}

    def get(case: str):
        if case not in cache:
            files = real_files(case)
            cache[case] = (files, convert(tmp_path_factory.mktemp(case), files))
        return cache[case]
    return get


# ------------------------------------------------------------------ real data


@pytest.mark.parametrize("case", sorted(REAL))
def test_real_file_matches_converter(case, conversions, tmp_path):
    files, out = conversions(case)
    t0 = time.perf_counter()
    got = data.read(files)
    took = time.perf_counter() - t0
    want = data.read_event_file(out, levels=10)
    assert_same_events(got, want, case)
    assert len(got) == want.counters["events"]
    mine = str(tmp_path / "mine.ev")
    data.write_event_file(mine, got)
    with open(mine, "rb") as a, open(out, "rb") as b:
        assert a.read() == b.read(), f"{case}: write_event_file differs from the converter"
    assert [data.detect(f) for f in files] == REAL[case][1]
    assert got.source == " + ".join(files)
    print(f"{case}: {len(got)} events read in {took:.3f} s")


def test_real_files_have_every_kind(conversions):
    """The comparisons above compare real values: every kind occurs."""
    seen = set()
    for case in ("usdm-20230404", "lobster-aapl", "tardis-pair"):
        files, out = conversions(case)
        ev = data.read_event_file(out)
        seen |= {k for k, a in zip(("t", "q", "b", "f"), (ev.trades, ev.quotes, ev.books,
                                                            ev.fundings)) if a.size}
    assert seen == {"t", "q", "b", "f"}
    files, out = conversions("usdm-20230404")
    ev = data.read(files)
    assert ev.books.size and (ev.books["bid_count"] == 10).all()
    assert ev.fundings["next_funding_ts_ns"].min() > 0


@pytest.mark.parametrize("case", ["sample", "usdm-20230404", "spot-20240808", "lobster-aapl",
                                  "fxcm-20140504"])
def test_counters_match_c(case):
    files = real_files(case)
    got = data.read(files)
    assert got.counters == c_counters(files[0])
    if case == "spot-20240808":  # spot diffs have no pu, spot bookTickers no "e"
        assert got.counters["parse_errors"] > 0 and got.counters["quotes"] == 0


@pytest.mark.parametrize("levels", [1, 50])
@pytest.mark.parametrize("case", ["sample", "usdm-20230404"])
def test_capture_levels(case, levels, tmp_path):
    ev = check_against_c(tmp_path, real_files(case), levels)
    assert ev.levels == levels
    assert ev.books["bid_count"].max() == levels


def test_read_event_file_levels(conversions, tmp_path):
    _, out = conversions("lobster-aapl")
    narrow = data.read_event_file(out)
    assert narrow.levels == 1  # the widest count recorded
    wide = data.read_event_file(out, levels=10)
    assert_same_array(wide.books["bids"][:, :1], narrow.books["bids"], "bids")
    assert not wide.books["bids"][:, 1:].any()
    _, out = conversions("sample")
    cut = data.read_event_file(out, levels=3)
    full = data.read_event_file(out)
    assert full.levels == 10
    assert (cut.books["bid_count"] == np.minimum(full.books["bid_count"], 3)).all()
    assert_same_array(cut.books["asks"], full.books["asks"][:, :3], "asks")
    assert data.read_event_file(out, max_events=5).counters == {"events": 5}
    assert_same_events(data.read_event_file(out, max_events=100), full.slice(0, 100), "slice")


def test_several_streams_and_max_events(conversions, tmp_path):
    """Several FILE arguments: groups merged, streams concatenated, as the
    converter does; max_events cuts the stream."""
    files = (real_files("sample") + real_files("fxcm-20140504") + real_files("tardis-pair")
             + real_files("depth-pair") + [conversions("usdm-20230404")[1]])
    out = convert(tmp_path, files, 10)
    want = data.read_event_file(out, levels=10)
    got = data.read(files)
    assert_same_events(got, want, "several streams")
    streams = got.counters["streams"]
    assert [s["kind"] for s in streams] == ["binance", "fxcm", "tardis", "binance-depth",
                                            "events"]
    assert [len(s["paths"]) for s in streams] == [1, 1, 2, 2, 1]
    for n in (0, 1, 3321, 11408, 11409, 20000):
        part = data.read(files, max_events=n)
        assert_same_events(part, want.slice(0, n), f"max_events={n}")
    assert len(data.read(files, max_events=10 ** 9)) == len(want)


@pytest.mark.parametrize("case", ["sample", "lobster-aapl", "fxcm-20140504"])
def test_max_events_counters_match_c(case):
    path = real_files(case)[0]
    for n in (1, 777):
        assert data.read(path, max_events=n).counters == c_counters(path, max_events=n)


def test_detect_and_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.detect(tmp_path / "missing.gz")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(FormatError, match="notes.txt"):
        data.detect(text)
    with pytest.raises(FormatError, match="notes.txt"):
        data.read(str(text))
    assert issubclass(FormatError, ValueError) and issubclass(DataError, ValueError)
    with pytest.raises(ValueError):
        data.read(SAMPLE, levels=0)
    with pytest.raises(ValueError):
        data.read(SAMPLE, levels=51)


def test_truncated_event_file(conversions, tmp_path):
    _, out = conversions("sample")
    with open(out, "rb") as f:
        blob = f.read()
    bad = tmp_path / "cut.ev"
    bad.write_bytes(blob[:-3])
    err = convert_fails(tmp_path, [str(bad)])
    with pytest.raises(DataError) as e:
        data.read_event_file(bad)
    n = data.read_event_file(out).counters["events"] - 1
    assert f"{bad}: event file: record {n}: truncated book levels" in str(e.value)
    assert f"record {n}: truncated book levels" in err
    with pytest.raises(DataError, match=f"{bad}: event file: record {n}"):
        data.read(str(bad))
    # a kind byte that is none, a version that is not 1, a file too short
    kind = bytearray(blob)
    kind[16] = 9
    bad.write_bytes(bytes(kind))
    with pytest.raises(DataError, match="record 0: unknown record kind"):
        data.read_event_file(bad)
    version = bytearray(blob)
    version[8] = 2
    bad.write_bytes(bytes(version))
    with pytest.raises(DataError, match="version 2"):
        data.read_event_file(bad)
    bad.write_bytes(blob[:12])
    with pytest.raises(FormatError, match="not a cscalp event file"):
        data.read_event_file(bad)


def test_damaged_gzip(tmp_path):
    with open(SAMPLE, "rb") as f:
        blob = f.read()
    corrupt = bytearray(blob)
    corrupt[len(blob) // 2] ^= 0xFF
    cases = {"corrupt.gz": bytes(corrupt), "truncated.gz": blob[:len(blob) // 2],
             "truncated-end.gz": blob[:-4]}
    for name, content in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        convert_fails(tmp_path, [str(p)])
        with pytest.raises(DataError, match=rf"{p}: line \d+: read error"):
            data.read(str(p))
    # a damaged member of a zip
    with open(shared("fx-eurusd", "20140504_quote.zip"), "rb") as f:
        z = bytearray(f.read())
    z[1000] ^= 0xFF
    p = tmp_path / "20140504_quote.zip"
    p.write_bytes(bytes(z))
    convert_fails(tmp_path, [str(p)])
    with pytest.raises(DataError, match="20140504_eurusd_tick_quote.csv"):
        data.read(str(p))
    # what gzread ignores or takes, taken alike
    p = tmp_path / "twice.gz"
    p.write_bytes(blob + blob + b"trailing garbage")
    check_against_c(tmp_path, [str(p)])


def test_lobster_members_of_different_lengths(tmp_path):
    p = str(tmp_path / "lob.zip")
    lobster_zip(p, 5, 2, extra_book_rows=1)
    err = convert_fails(tmp_path, [p])
    assert "the message file ends at row" in err
    with pytest.raises(DataError, match="the message file ends at row"):
        data.read(p)
    full = data.read_lobster(p, max_events=1)  # stops before the end: no error
    assert len(full) == 1


def test_write_event_file_checks(tmp_path):
    ev = data.read(SAMPLE, max_events=50)
    bad = Events(ev.trades, ev.quotes, ev.books, ev.fundings, ev.kinds[:-1])
    with pytest.raises(ValueError):
        data.write_event_file(tmp_path / "x.ev", bad)
    books = ev.books.copy()
    books["bid_count"][0] = 11
    with pytest.raises(ValueError):
        data.write_event_file(tmp_path / "x.ev",
                              Events(ev.trades, ev.quotes, books, ev.fundings, ev.kinds))
    merged = Events.merge(trades=ev.trades, quotes=ev.quotes, books=ev.books)
    data.write_event_file(tmp_path / "m.ev", merged)
    back = data.read_event_file(tmp_path / "m.ev", levels=10)
    for name in FIELDS:
        assert_same_array(getattr(back, name), getattr(merged, name), name)
    assert ev.trades.dtype == TRADE_DTYPE and ev.quotes.dtype == QUOTE_DTYPE
    assert ev.fundings.dtype == FUNDING_DTYPE and ev.books.dtype == book_dtype(10)


# ---------------------------------------------------------------- crafted files
#
# Seeded generators of files full of what the readers must skip, count or
# decode oddly: malformed lines, number forms strtod takes and float() does
# not (and the reverse), gaps and resyncs, crossed books, times going back,
# lines longer than the C line buffers, NUL bytes.


ODD_DECIMALS = ["1e3", "0x1p3", "-0x1p3", " 1", "1 ", "+1", ".5", "-.5", "1_0", "inf", "-inf",
                "nan", "1e400", "1e-400", "", "-0", "0", "00.5", "5.", "1e", "0x", "-1.5",
                "1\u0661", "1.5e-310", "0X1.8P1", "1E+2"]


def capture_file(path: str, seed: int) -> None:
    r = random.Random(seed)
    rare_snapshots = r.random() < 0.5
    us = path.endswith(".dat.gz")  # the line times are µs there
    ts = 1700000000000000 if us else 1700000000000000000
    uid = 1000

    def dec():
        if r.random() < 0.75:
            return f"{r.uniform(100, 200):.{r.randint(0, 4)}f}"
        return r.choice(ODD_DECIMALS)

    def lv(n, base):
        return [[f"{round(base + 0.1 * r.randint(0, 30), 1):.1f}",
                 r.choice(["0", "0.000", "1.5", "2", "0.25"]) if r.random() < 0.9 else dec()]
                for _ in range(n)]

    lines = []
    for _ in range(1500):
        ts += r.randint(0, 10 ** 4 if us else 10 ** 7)
        pref = f"{ts} "
        x = r.random()
        if x < 0.03:
            lines.append(r.choice([
                "", "\r", " {}", "abc {}", "12a {}", str(2 ** 63) + " {}", "0" * 5000 + "1 {}",
                pref + "[1,2]", pref + "{bad", pref + '{"e":"trade"} trailing',
                pref + ' \t{"data":{"e":"x"}}', pref + '\ufeff{"e":"x"}', pref + "null",
                pref + '{"data":null}', pref + '{"data":{"e":5}}',
                pref + '{"data":{"lastUpdateId":5}}', pref + '{"e":NaN}',
                pref + '{"e":"trade","p":"1","q":"1","m":true,"t":1,"t":2}',
                pref + '{"e":"tr\\u0061de","p":"1","q":"1","m":false,"t":3}',
                pref + '{"e":"trade\\u0000x","p":"1\\u0000z","q":"1","m":false,"t":3}',
                pref + '{"e\\u0000":"trade","p":"1","q":"2","m":false,"t":3}',
                pref + "x\x00y", pref + '{"e":"trade",\x00"p":"1"}', "\x00" + pref]))
            continue
        if x < 0.25:
            d = {"e": "trade", "E": 1, "s": "BTCUSDT", "p": dec(), "q": dec(),
                 "t": (r.choice([1.0, -1, 2 ** 53, 2 ** 53 + 1, 2 ** 53 + 2, 1.5, "5", True,
                                 10 ** 30]) if r.random() < 0.1 else r.randint(0, 10 ** 9)),
                 "m": r.choice([True, False]) if r.random() < 0.95 else r.choice([0, "true"])}
        elif x < 0.5:
            d = {"e": "bookTicker", "u": 1, "b": dec(), "B": dec(), "a": dec(), "A": dec()}
        elif x < 0.55:
            d = {"e": "markPriceUpdate", "p": dec(), "r": dec(),
                 "T": r.choice([1700000000000, 0, -1, 1.5, 10 ** 20, "x"])}
            if r.random() < 0.5:
                d["i"] = dec()
            if r.random() < 0.3:
                del d["T"]
        elif x < 0.57:
            d = {"e": r.choice(["aggTrade", "kline"]), "x": 1}
        elif x < 0.6 and (not rare_snapshots or r.random() < 0.05):
            snap = {"lastUpdateId": uid + r.randint(-20, 5), "bids": lv(r.randint(0, 30), 100),
                    "asks": lv(r.randint(0, 30), 103.1)}
            if r.random() < 0.05:
                snap["lastUpdateId"] = r.choice([-5, 1.5, "7", None])
            lines.append(pref + json.dumps(snap, separators=(",", ":")))
            continue
        else:
            first, last, prev = uid + 1, uid + r.randint(1, 4), uid
            y = r.random()
            if y < 0.03:
                prev = uid - 7  # a gap
            elif y < 0.05:
                first, last, prev = uid - 10, uid - 8, uid - 11  # stale
            if y >= 0.05:
                uid = last
            d = {"e": "depthUpdate", "U": first, "u": last, "pu": prev,
                 "b": lv(r.randint(0, 6), 100), "a": lv(r.randint(0, 6), 103.1)}
            if r.random() < 0.01:
                del d["pu"]
        msg = {"stream": "x", "data": d} if r.random() < 0.9 else d
        s = json.dumps(msg, separators=(",", ":"), ensure_ascii=r.random() < 0.5)
        lines.append(pref + s + ("\r" if r.random() < 0.02 else ""))
    blob = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n" * r.randint(0, 1)
    with gzip.open(path, "wb") as f:
        f.write(blob)


@pytest.mark.parametrize("seed", range(4))
def test_crafted_capture(seed, tmp_path):
    name = "cap.dat.gz" if seed % 2 else "cap.gz"  # µs and ns times
    p = str(tmp_path / name)
    capture_file(p, seed)
    for levels in (1, 3, 50):
        ev = check_against_c(tmp_path, [p], levels, counters=levels == 3)
    c = ev.counters
    assert c["parse_errors"] > 0 and c["trades"] > 0 and c["books"] > 0
    for n in (1, 100):
        assert data.read(p, levels=3, max_events=n).counters == c_counters(p, 3, n)


def fxcm_zip(path: str, seed: int) -> None:
    r = random.Random(seed)
    odd = ["", "\r", "12345678,1.3,1.4", "123456789,1.3,1.4", "86400000,1.3,1.4",
           "86399999,1.3,1.4", "a,1,2", "1,,2", "1,1.0,2.0,", "1,1.0", "1,1..0,2", "1,.5,0.6",
           "1,5.,6", "1,0,1", "1,0.0,1", "1,1e5,2", "1,-1,2", " 1,2,3", "1,2,3\r", "1,2\r,3",
           "1,2\x00,3", "1," + "1" * 62 + ",2" + "0" * 62, "1," + "1" * 63 + ",2",
           "1,0.000000000000000000000001,1", "1,12345678901234567890,99999999999999999999",
           "00000001,1,2", ",1,2", "1,.,2", "1,9007199254740993,9007199254740995",
           "1,0.1234567890123456789012345,0.2"]
    rows = []
    ms = 1000
    for _ in range(600):
        ms = max(0, ms + r.choice([0, 1, 5, 100, -50]))
        if r.random() < 0.85:
            bid = round(r.uniform(1.3, 1.4), r.randint(0, 6))
            ask = bid + r.choice([0.0001, 0.0002, 0, -0.0001, 0.00005])
            rows.append(f"{ms},{bid},{ask:.{r.randint(1, 7)}f}")
        else:
            rows.append(r.choice(odd))
    eol = r.choice(["\n", "\r\n"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(os.path.basename(path)[:8] + "_eurusd_tick_quote.csv",
                   (eol.join(rows) + eol * r.randint(0, 1)).encode("latin-1"))


@pytest.mark.parametrize("seed", range(3))
def test_crafted_fxcm(seed, tmp_path):
    p = str(tmp_path / "20140601_quote.zip")
    fxcm_zip(p, seed)
    ev = check_against_c(tmp_path, [p])
    assert ev.counters["skipped"]["malformed"] > 0 and len(ev) > 0
    for n in (1, 50):
        assert data.read(p, max_events=n).counters == c_counters(p, max_events=n)


def lobster_zip(path: str, seed: int, levels: int, extra_book_rows: int = 0) -> None:
    r = random.Random(seed)
    msgs, books = [], []
    t = 34200.0
    for _ in range(400):
        t += -0.05 if r.random() < 0.03 else r.choice([0.0, 0.001, 0.1234567891, 0.01, 0.02])
        tt = (f"{t:.{r.randint(3, 12)}f}" if r.random() < 0.95 else
              r.choice(["", "86400", "86400.0", "1234567.5", "12.", ".5", "12.3.4", "1e3",
                        "34200.1234567890123456789", "-1", "0"]))
        m = (f"{tt},{r.choice([1, 2, 3, 4, 5, 4, 5, 6, 7, 9, 0])},{r.randint(0, 10 ** 8)},"
             f"{r.choice([100, 1, 0, -5])},{r.choice([5794000, 5802300, 0, -1])},"
             f"{r.choice([1, -1, 1, -1, 0, 2])}")
        if r.random() < 0.03:
            m = r.choice(["", "1,2,3", m + ",7", m.replace(",", ",,", 1), m + "\x00",
                          "+" + m, m.replace("1", "1" * 19, 1), m.replace(",", ", ", 1)])
        msgs.append(m)
        vals = []
        ask = 5800000 + r.randint(-20, 20) * 100
        bid = ask - r.choice([100, 200, 0, -100, 300])
        for k in range(levels):
            ap = ask + k * 100 * (1 if r.random() < 0.97 else r.choice([0, -1]))
            bp = bid - k * 100 * (1 if r.random() < 0.97 else r.choice([0, -1]))
            asz = r.choice([100, 5, 0, -1]) if r.random() < 0.05 else 100
            bsz = r.choice([100, 5, 0, -1]) if r.random() < 0.05 else 100
            if r.random() < 0.05:
                ap, asz = 9999999999, 0
            if r.random() < 0.05:
                bp, bsz = -9999999999, 0
            vals += [ap, asz, bp, bsz]
        b = ",".join(map(str, vals))
        if r.random() < 0.03:
            b = r.choice(["", b + ",1", b.rsplit(",", 1)[0], b.replace(",", ",-", 1),
                          b.replace(",", ",0", 1), b.replace("1", "x", 1), "-" + b, "--" + b,
                          b + ",", "," + b, b.replace(",", "\r,", 1), "1" * 20 + b[1:]])
        books.append(b)
    books += ["1,2,3,4"] * extra_book_rows
    eol = r.choice(["\n", "\r\n"])
    base = f"GOOG_2012-06-21_34200000_57600000_%s_{levels}.csv"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(base % "orderbook", (eol.join(books) + eol).encode("latin-1"))
        z.writestr(base % "message", (eol.join(msgs) + eol).encode("latin-1"))


@pytest.mark.parametrize("seed,file_levels,levels", [(0, 1, 10), (1, 5, 2), (2, 2, 1),
                                                      (3, 5, 10)])
def test_crafted_lobster(seed, file_levels, levels, tmp_path):
    p = str(tmp_path / "lob.zip")
    lobster_zip(p, seed, file_levels)
    ev = check_against_c(tmp_path, [p], levels)
    skipped = ev.counters["skipped"]
    assert skipped["malformed"] > 0 and skipped["time"] > 0 and ev.counters["books"] > 0
    for n in (1, 20):
        assert data.read(p, levels=levels, max_events=n).counters == c_counters(p, levels, n)


def tardis_file(path: str, seed: int, trades: bool) -> None:
    r = random.Random(seed)
    head = ("exchange,symbol,timestamp,local_timestamp,id,side,price,amount" if trades else
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount")
    odd_numbers = ["nan", "inf", "-inf", "1e3", "0x1p3", " 5", "5 ", "+5", "", ".", "1e400",
                   "1e-400", "-0", "1.5e-310", "INFINITY", "nan(1)", "-nan(0x10)",
                   "nan(99999999999999999999)", "00012.5", "1" * 30, "0." + "0" * 50 + "1"]

    def num():
        return (f"{r.uniform(9000, 10000):.{r.randint(0, 3)}f}" if r.random() < 0.9
                else r.choice(odd_numbers))

    def integer(v):
        return str(v) if r.random() < 0.95 else r.choice(
            ["", f"+{v}", f" {v}", f"{v} ", f"-{v}", "9" * 20, "0x10", "1e3", f"00{v}"])

    rows = [head + r.choice(["", "\r", "\r\r"])]
    loc = 1582329602418379
    for i in range(300):
        loc += r.choice([0, 1, 1000, 100000, -200000])
        if trades:
            row = ["binance-futures", "BTCUSDT", integer(loc - 300000), integer(loc),
                   integer(42377944 + i),
                   r.choice(["buy", "sell"]) if r.random() < 0.95 else r.choice(["BUY", "", "b"]),
                   num(), num()]
        else:
            row = ["binance-futures", "BTCUSDT", integer(loc - 300000), integer(loc), num(),
                   num(), num(), num()]
        line = ",".join(row)
        if r.random() < 0.03:
            line = r.choice(["", "\r", line + ",x", line.rsplit(",", 1)[0], line + "\r",
                             line + "\x00zz", "\x00" + line, head, "x" * 600,
                             line + "," + "y" * 600, "a," * 7 + "b",
                             "b,B,1,9223372036854775,1,buy,1,1",
                             "b,B,1,9223372036854774,1,buy,1,1"])
        rows.append(line)
    with gzip.open(path, "wb") as f:
        f.write(("\n".join(rows) + "\n" * r.randint(0, 1)).encode("latin-1"))


@pytest.mark.parametrize("seed", range(4))
def test_crafted_tardis(seed, tmp_path):
    """Up to three files merged (their times go back now and then)."""
    n = 1 + seed % 3
    files = [str(tmp_path / f"t{i}.csv.gz") for i in range(n)]
    for i, f in enumerate(files):
        tardis_file(f, seed * 10 + i, (seed + i) % 2 == 0)
    ev = check_against_c(tmp_path, files)
    assert ev.counters["bad_lines"] > 0 and len(ev) > 0
    if n == 1:
        for m in (1, 40):
            assert data.read(files, max_events=m).counters == c_counters(files[0], max_events=m)


def depth_files(paths: list, seed: int) -> None:
    r = random.Random(seed)
    head = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"
    uid = 1000
    ts = 1667346579146
    rows = [[head] for _ in paths]
    for _ in range(120):
        ts += r.choice([0, 1, 50, -100])
        snap = r.random() < 0.12
        if snap:
            lid = uid + r.randint(-5, 3)
            first, last, pu = lid, lid, -1
        else:
            first = uid + 1 if r.random() < 0.9 else uid + r.randint(-5, 5)
            last = first + r.randint(0, 3)
            pu = uid if r.random() < 0.9 else uid + r.randint(-3, 3)
            if r.random() < 0.05:
                first, last, pu = uid - 10, uid - 8, uid - 11
            else:
                uid = last
        target = rows[r.randrange(len(paths))]
        for _ in range(r.randint(0, 12)):
            side = r.choice("ba")
            p = 20000 - 0.1 * r.randint(0, 20) if side == "b" else 20001 + 0.1 * r.randint(0, 20)
            if r.random() < 0.05:
                p = 20000.5  # crosses the book
            q = (r.choice(["0.000", "1.5", "0.25", "3"]) if r.random() < 0.95 else
                 r.choice(["-1", "1e3", "1e-400", "", "x", "inf", "0x1", ".5", "5.", "+1"]))
            row = ["BTCUSDT", str(ts), str(first), str(last), side, "snap" if snap else "set",
                   f"{p:.1f}" if r.random() < 0.97 else r.choice(["0", "-5", "1e5", "nan"]),
                   q, str(pu)]
            if r.random() < 0.03:
                row[r.randrange(9)] = r.choice(["", "x", "-1", "9" * 23, "+5", " 5", "c"])
            line = ",".join(row)
            if r.random() < 0.02:
                line = r.choice(["", "\r", line + ",", line + "\r\r", head, "a" * 1100,
                                 line + "\x00junk", "\x00" + line, "x" * 1022, "y" * 1023])
            target.append(line)
    for p, lines in zip(paths, rows):
        blob = ("\n".join(lines) + "\n" * r.randint(0, 1)).encode()
        if p.endswith(".gz"):
            blob = gzip.compress(blob)
        with open(p, "wb") as f:
            f.write(blob)


@pytest.mark.parametrize("seed", range(4))
def test_crafted_depth(seed, tmp_path):
    """Snapshots and updates spread over files (plain and gzip), merged by
    update id; chains, gaps, repeats, crossed books, times going back."""
    n = 1 + seed % 3
    files = [str(tmp_path / (f"d{i}.csv" if (seed + i) % 2 else f"d{i}.csv.gz"))
             for i in range(n)]
    depth_files(files, seed)
    levels = (1, 3, 10, 50)[seed]
    ev = check_against_c(tmp_path, files, levels)
    if n == 1:
        for m in (1, 5):
            got = data.read(files, levels=levels, max_events=m).counters
            assert got == c_counters(files[0], levels, m)
    assert ev.counters["bad_rows"] > 0


def test_real_depth_rows_rebuilt(tmp_path):
    """The real depth rows made to chain: a two-sided snapshot (the update's
    asks joined to the snapshot's bids) and the update chained to it."""
    snap_rows = open(shared("binance-usdm", "btcusdt-depth-snap.csv")).read().splitlines()
    upd_rows = open(shared("binance-usdm", "btcusdt-depth-update.csv")).read().splitlines()
    head = snap_rows[0]
    asks = [r for r in upd_rows[1:] if ",a,set," in r and not r.split(",")[7].startswith("0.000")]
    snap = snap_rows[1:] + [
        ",".join(snap_rows[1].split(",")[:4] + ["a", "snap"] + r.split(",")[6:8] + ["-1"])
        for r in asks]
    # the update ends at the snapshot's id: the snapshot must go first although
    # its file is given second
    upd = [",".join(r.split(",")[:2] + ["2098021528330", "2098021528332"] + r.split(",")[4:8]
                    + ["2098021528300"]) for r in upd_rows[1:]]
    a, b = tmp_path / "snap.csv", tmp_path / "upd.csv"
    a.write_text("\n".join([head] + snap) + "\n")
    b.write_text("\n".join([head] + upd) + "\n")
    ev = check_against_c(tmp_path, [str(b), str(a)])
    assert ev.counters["books"] == 2 and ev.counters["updates_applied"] == 1


def test_group_limit_and_fxcm_days(tmp_path):
    """At most 8 tardis files a group, as the converter groups them; FXCM
    days read together are the days read one by one, in order."""
    src = shared("tardis-binance-futures", "binance-futures_quotes_BTCUSDT_2020-02-22.csv.gz")
    files = []
    for i in range(9):
        files.append(str(tmp_path / f"q{i}.csv.gz"))
        with open(src, "rb") as a, open(files[-1], "wb") as b:
            b.write(a.read())
    assert data.group_size(files) == 8
    ev = check_against_c(tmp_path, files)
    assert [len(s["paths"]) for s in ev.counters["streams"]] == [8, 1]
    days = [shared("fx-eurusd", "20140501_quote.zip"), shared("fx-eurusd", "20140502_quote.zip")]
    both = data.read_fxcm(days)
    one, two = data.read_fxcm(days[0]), data.read_fxcm(days[1])
    assert_same_array(both.quotes, np.concatenate([one.quotes, two.quotes]), "quotes")
    assert both.counters["files"] == 2
    assert both.counters["rows"] == one.counters["rows"] + two.counters["rows"]
    with pytest.raises(ValueError, match="dates must increase"):
        data.read_fxcm(days[::-1])
