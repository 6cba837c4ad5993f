#!/usr/bin/python3
"""Throughput of the Python bindings against the C paths they wrap.

One JSON line per case on stdout (nothing else), each the best of --repeat
runs (wall clock, time.perf_counter):

- read:           cryptoscalp.data.read of the capture (decode into arrays)
- push_events:    Engine.push_events, one batch C call per run of one kind
- push_single:    the same events one Python call each (push_trade, ...)
- c_learn:        cscalp-learn on the same capture (C, event by event, the
                  same engine work as push_events; process start included)
- backtest:       cryptoscalp.backtest (the Python loop of cscalp-backtest)
- c_backtest:     cscalp-backtest on the same capture and configuration
                  (process start included)

Every engine: the defaults of cscalp-learn (learn.mode inline) for the push
cases; the trading configuration of tests/python/test_equivalence.py for
the backtests, so orders flow. Reproduce with one command:

    /usr/bin/python3 bench/python_bindings.py [--repeat 5] [CAPTURE]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("CSCALP_BUILD_ROOT", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
os.environ.setdefault("CSCALP_LIBRARY", os.path.join(BUILD, "src", "libcryptoscalp.so.1"))

import cryptoscalp as cs  # noqa: E402

TRADING = {"fees": {"maker_bps": -1, "taker_bps": 0}, "policy": {"untrained_size_factor": 1},
           "regime": {"entry_band_bps": [0]},
           "venue": {"maker_fee_bps": -1, "taker_fee_bps": 0}}


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def push_single(engine, ev):
    t, q, b, f = ev.trades, ev.quotes, ev.books, ev.fundings
    rows = [0, 0, 0, 0]
    for k in ev.kinds.tolist():
        i = rows[k]
        rows[k] += 1
        if k == 1:
            r = q[i]
            engine.push_quote(int(r["ts_ns"]), float(r["bid_price"]), float(r["bid_size"]),
                              float(r["ask_price"]), float(r["ask_size"]))
        elif k == 0:
            r = t[i]
            engine.push_trade(int(r["ts_ns"]), float(r["price"]), float(r["size"]),
                              int(r["side"]), int(r["trade_id"]))
        elif k == 2:
            r = b[i]
            engine.push_book(int(r["ts_ns"]),
                             [tuple(x) for x in r["bids"][:int(r["bid_count"])].tolist()],
                             [tuple(x) for x in r["asks"][:int(r["ask_count"])].tolist()])
        else:
            r = f[i]
            engine.push_funding(int(r["ts_ns"]), float(r["funding_rate"]),
                                float(r["mark_price"]), float(r["index_price"]),
                                int(r["next_funding_ts_ns"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture", nargs="?",
                    default=os.path.join(ROOT, "examples", "data", "btcusdt_20240718.gz"))
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    source = os.path.basename(a.capture)
    ev = cs.data.read(a.capture)
    n = len(ev)

    def line(case, seconds, events=n, **extra):
        print(json.dumps({"bench": "python", "case": case, "events": events,
                          "seconds": round(seconds, 6),
                          "events_per_s": round(events / seconds) if seconds > 0 else None,
                          "source": source, **extra}), flush=True)

    line("read", best(lambda: cs.data.read(a.capture), a.repeat))

    def batch():
        with cs.Engine() as e:
            e.push_events(ev)
    line("push_events", best(batch, a.repeat))

    def single():
        with cs.Engine() as e:
            push_single(e, ev)
    line("push_single", best(single, a.repeat))

    learn = os.path.join(BUILD, "examples", "learn", "cscalp-learn")
    line("c_learn", best(lambda: subprocess.run([learn, a.capture], check=True,
                                                capture_output=True), a.repeat))

    def py_backtest():
        cs.backtest(ev, TRADING, as_frame=False).close()
    line("backtest", best(py_backtest, a.repeat))
    backtest = os.path.join(BUILD, "examples", "backtest", "cscalp-backtest")
    line("c_backtest", best(lambda: subprocess.run(
        [backtest, "--config", json.dumps(TRADING), a.capture], check=True,
        capture_output=True), a.repeat))


if __name__ == "__main__":
    main()
