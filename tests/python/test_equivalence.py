"""The Python bindings give the C examples' results on the same captures.

- numpy batch pushes (Engine.push_events over cryptoscalp.data arrays) end
  in the very stats JSON ``cscalp-learn`` prints after pushing the capture
  event by event (byte for byte);
- cryptoscalp.backtest gives the report of ``cscalp-backtest --report``:
  the venue's report, the engine's stats and configuration and the run's
  counters, value for value (plain, walk-forward, market-data latency).
"""
import json
import os
import subprocess

import pytest

from conftest import SAMPLE, shared, tool

import cryptoscalp as cs

TRADING = {"fees": {"maker_bps": -1, "taker_bps": 0}, "policy": {"untrained_size_factor": 1},
           "regime": {"entry_band_bps": [0]},
           "venue": {"maker_fee_bps": -1, "taker_fee_bps": 0}}


def _learn_stats(path):
    r = subprocess.run([tool("examples", "learn", "cscalp-learn"), path], check=True,
                       capture_output=True, text=True)
    return r.stdout.strip()


@pytest.mark.parametrize("capture", [SAMPLE, "binance-usdm/btcusdt_20230404.dat.gz",
                                     "fx-eurusd/20140504_quote.zip"])
def test_batch_push_equals_cscalp_learn(capture):
    path = capture if os.path.isabs(capture) else shared(capture)
    events = cs.data.read(path)
    with cs.Engine() as e:
        assert e.push_events(events, skip_invalid=True) <= len(events)
        got = e.stats_json()
    assert got == _learn_stats(path)
    stats = json.loads(got)
    assert sum(stats["feed"]["accepted"].values()) > 1000


def _c_backtest(tmp_path, path, config, *extra):
    report = tmp_path / "report.json"
    subprocess.run([tool("examples", "backtest", "cscalp-backtest"), "--config",
                    json.dumps(config), "--report", str(report), *extra, path], check=True,
                   capture_output=True, text=True)
    return json.loads(report.read_text())


@pytest.mark.parametrize("mode", ["plain", "walk_forward", "md_latency", "seed",
                                  "max_events"])
def test_backtest_equals_cscalp_backtest(tmp_path, mode):
    path = SAMPLE
    kwargs, extra = {}, []
    if mode == "walk_forward":
        kwargs["walk_forward"] = (60.0, 90.0)
        extra = ["--walk-forward", "60:90"]
    elif mode == "md_latency":
        kwargs["md_latency_ms"] = 20
        extra = ["--md-latency-ms", "20"]
    elif mode == "seed":
        kwargs["seed"] = 11
        extra = ["--seed", "11"]
    elif mode == "max_events":
        kwargs["max_events"] = 7000
        extra = ["--max-events", "7000"]
    want = _c_backtest(tmp_path, path, TRADING, *extra)
    result = cs.backtest(path, TRADING, **kwargs)
    try:
        got = result.report
        assert got["venue"] == want["venue"]
        assert got["engine"] == want["engine"]
        assert got["config"] == want["config"]
        assert got.get("engine_at_split") == want.get("engine_at_split")
        assert got["run"] == want["run"]
        assert want["venue"]["fills"] > 0, "the configuration should trade on the sample"
        eq = result.equity
        assert list(eq.columns) == ["t_s", "equity", "trade"] and len(eq) >= 2
        assert eq["equity"].iloc[-1] == pytest.approx(want["venue"]["end_equity"])
    finally:
        result.close()


def test_backtest_takes_arrays_and_existing_engines():
    events = cs.data.read(SAMPLE)
    a = cs.backtest(events, TRADING, as_frame=False)
    b = cs.backtest(SAMPLE, TRADING, as_frame=False)
    assert a.report["venue"] == b.report["venue"]
    assert a.equity.dtype.names == ("t_s", "equity", "trade")
    # Half the capture, then the engine (pickled, as to another process)
    # trades the second half: its configuration stands, the venue is new.
    half = len(events) // 2
    with cs.Engine(cs.sim.split_config(TRADING)[0]) as e:
        e.push_events(events.slice(0, half))
        import pickle
        moved = pickle.loads(pickle.dumps(e))
    c = cs.backtest(events.slice(half, len(events)), {"venue": TRADING["venue"]},
                    engine=moved)
    assert c.report["config"] == a.report["config"]
    assert c.report["run"]["events"] == len(events) - half
    for r in (a, b, c):
        r.close()
    with pytest.raises(cs.ConfigError, match="venue.colour"):
        cs.backtest(events, {"venue": {"colour": 1}})
    with pytest.raises(ValueError, match="walk_forward"):
        cs.backtest(events, walk_forward=(0, 1))


def test_a_sim_fed_in_pieces_equals_one_run():
    events = cs.data.read(SAMPLE)
    whole = cs.backtest(events, TRADING, as_frame=False)
    sim = cs.Sim(TRADING)
    for start in range(0, len(events), 1000):
        sim.run(events.slice(start, start + 1000))
    pieces = sim.finish(as_frame=False)
    try:
        assert pieces.report == whole.report
        assert pieces.report["run"]["files"] == [SAMPLE]
        assert (pieces.equity == whole.equity).all()
    finally:
        whole.close()
        pieces.close()


def test_an_existing_engine_learns_before_it_trades():
    """engine=: its configuration stands (the venue's wallet from it too),
    and a walk-forward's learning window is MANUAL whatever level it had."""
    events = cs.data.read(SAMPLE)
    cfg = cs.sim.split_config(TRADING)[0]
    cfg["risk"] = {"initial_equity_quote": 50000}
    with cs.Engine(cfg) as e:
        e.autonomy = "autonomous"
        res = cs.backtest(events, {"venue": TRADING["venue"]}, engine=e,
                          walk_forward=(60, 90), as_frame=False)
        split = res.report["engine_at_split"]
        assert split["intents"]["new"] == 0
        assert res.report["engine"]["intents"]["new"] > 0
        assert res.report["venue"]["start_equity"] == 50000
        with pytest.raises(ValueError, match="seed"):
            cs.backtest(events, engine=e, seed=3)
