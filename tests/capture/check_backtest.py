"""cscalp-backtest on real data: the engine and the simulated venue end to end.

Checks: with no argument it runs on the bundled sample and prints the summary;
on the Binance 2024-07-18/19 captures with a configuration that trades, the
report is one JSON object whose run, venue, engine and config parts agree with
each other (the engine's intents and fills equal the host's and the venue's
counts, the engine's and the venue's positions agree, net PnL = end - start
equity, gross - fees - funding - liquidation fees = net), the equity chart is
well-formed SVG with the fills marked, two runs write byte-identical reports,
--seed changes the run and is recorded, a walk-forward run trades only after
its split and reports the engine at the split, a configuration file works like
the same JSON text, a day of tardis trades and quotes is merged into one
stream the engine accepts whole, a run from the binary event file of --convert
equals the run from the captures, market data 100 ms late to the engine gives
another consistent run, and bad arguments exit 2 naming what is wrong.

usage: check_backtest.py CSCALP_BACKTEST   (CSCALP_SHARED_DATA set)
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.dom.minidom

EXE = sys.argv[1]
DATA = os.environ["CSCALP_SHARED_DATA"]
FILES = [os.path.join(DATA, "binance-usdm", f) for f in ("btcusdt_20240718.gz",
                                                         "btcusdt_20240719.gz")]
TRADING = {
    "learn": {"mode": "inline", "horizon_ms": 5000},
    "fees": {"taker_bps": 0, "maker_bps": 0},
    "model": {"prior_move_bps": 5},
    "regime": {"warmup_steps": 60, "entry_band_bps": [0.5]},
    "risk": {"max_order_contracts": 0.05, "max_position_contracts": 0.1,
             "max_orders_per_s": 2, "max_orders_per_min": 30},
    "venue": {"maker_fee_bps": 0, "taker_fee_bps": 0},
}
failures = []
tmp = tempfile.mkdtemp()


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(*args):
    p = subprocess.run([EXE, *args], capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode(errors="replace")


def close(a, b, tol=1e-6):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


# 1. No argument: the bundled sample, a human summary.
rc, out, err = run()
if rc != 0 or "cscalp-backtest:" not in out or "positions     engine and venue agree" not in out:
    fail("default run: exit %d, output %r %s" % (rc, out[:300], err[-300:]))
print(out)

# 2. Real data, a configuration that trades.
rep, svg = os.path.join(tmp, "r.json"), os.path.join(tmp, "e.svg")
rc, out, err = run("--config", json.dumps(TRADING), "--report", rep, "--equity-svg", svg,
                   *FILES)
if rc != 0:
    fail("trading: exit %d: %s" % (rc, err[-400:]))
r = json.load(open(rep))
raw = open(rep).read()
if '"clock_ns":%d' % r["engine"]["clock_ns"] not in raw or "e+18" in raw:
    fail("trading: a nanosecond time lost digits in the report")
ru, v, e = r["run"], r["venue"], r["engine"]
if not ru["positions_agree"] or not close(v["position"], e["position"]["contracts"]):
    fail("trading: positions differ: venue %s engine %s" % (v["position"], e["position"]))
if ru["intents_new"] == 0 or v["fills"] == 0:
    fail("trading: no intents or no fills: %s" % ru)
if ru["intents_new"] != e["intents"]["new"] or ru["intents_cancel"] != e["intents"]["cancel"]:
    fail("trading: host saw %s intents, engine counted %s" % (ru, e["intents"]))
if e["position"]["fills"] != v["fills"]:
    fail("trading: engine booked %d fills, venue made %d" % (e["position"]["fills"], v["fills"]))
if ru["updates_refused_by_engine"] != 0:
    fail("trading: the engine refused %d venue updates" % ru["updates_refused_by_engine"])
if not close(v["net_pnl"], v["end_equity"] - v["start_equity"]):
    fail("trading: net_pnl %s != end - start" % v["net_pnl"])
if not close(v["gross_pnl"] - v["fees"] - v["funding"] - v["liquidation_fees"], v["net_pnl"]):
    fail("trading: gross - costs != net: %s" % v)
if r["config"]["policy"]["decide_interval_ms"] != 250 or r["config"]["model"]["prior_move_bps"] != 5:
    fail("trading: the report's config is not the run's")
doc = xml.dom.minidom.parse(svg)
if len(doc.getElementsByTagName("circle")) == 0 or len(doc.getElementsByTagName("path")) < 2:
    fail("trading: the chart has no fills marked or no lines")
print(json.dumps({"run": "trading", "events": ru["events"], "intents_new": ru["intents_new"],
                  "intents_cancel": ru["intents_cancel"], "fills": v["fills"],
                  "maker_fills": v["maker_fills"], "taker_fills": v["taker_fills"],
                  "round_trips": v["round_trips"], "net_pnl": v["net_pnl"],
                  "max_drawdown": v["max_drawdown"], "sharpe": v["sharpe"]}))
rep2 = os.path.join(tmp, "r2.json")
run("--config", json.dumps(TRADING), "--report", rep2, *FILES)
if open(rep, "rb").read() != open(rep2, "rb").read():
    fail("trading: two runs wrote different reports")

# 3. --seed is the model's seed and changes the run.
rep3 = os.path.join(tmp, "r3.json")
rc, _, _ = run("--config", json.dumps(TRADING), "--seed", "7", "--report", rep3, *FILES)
r3 = json.load(open(rep3))
if rc != 0 or r3["config"]["model"]["seed"] != 7:
    fail("seed: not recorded")
if json.dumps(r3["engine"]["learn"]) == json.dumps(r["engine"]["learn"]):
    fail("seed: another seed gave the same learning")

# 4. Walk-forward: learn for 120 s, trade for 300 s.
rep4 = os.path.join(tmp, "r4.json")
rc, out, err = run("--config", json.dumps(TRADING), "--walk-forward", "120:300", "--report",
                   rep4, *FILES)
r4 = json.load(open(rep4))
wf = r4["run"].get("walk_forward")
split = r4.get("engine_at_split")
if rc != 0 or wf is None or split is None or split["intents"]["new"] != 0:
    fail("walk-forward: exit %d, %s" % (rc, split and split["intents"]))
if r4["venue"]["span_s"] > 420 + 1:
    fail("walk-forward: ran %s s past the test period" % r4["venue"]["span_s"])
print(json.dumps({"run": "walk_forward", "split_clock_ns": split and split["clock_ns"],
                  "intents_new": r4["run"]["intents_new"], "fills": r4["venue"]["fills"]}))

# 5. A configuration file is the same as its text.
cfg_path = os.path.join(tmp, "cfg.json")
with open(cfg_path, "w") as f:
    json.dump(TRADING, f)
rep5 = os.path.join(tmp, "r5.json")
run("--config", cfg_path, "--report", rep5, *FILES)
if open(rep5, "rb").read() != open(rep, "rb").read():
    fail("config file: the report differs from the JSON-text run")

# 6. tardis CSV trades and quotes of one day, merged by time into one stream.
T = os.path.join(DATA, "tardis-binance-futures")
rep6 = os.path.join(tmp, "r6.json")
rc, out, err = run("--report", rep6,
                   os.path.join(T, "binance-futures_quotes_BTCUSDT_2020-02-22.csv.gz"),
                   os.path.join(T, "binance-futures_trades_BTCUSDT_2020-02-22.csv.gz"))
r6 = json.load(open(rep6)) if rc == 0 else {}
acc = r6.get("engine", {}).get("feed", {}).get("accepted", {})
if rc != 0 or r6["run"]["refused"] != 0 or acc.get("trade") != 9999 or acc.get("quote") != 9999:
    fail("tardis: exit %d, accepted %s, %s" % (rc, acc, err[-300:]))
print(json.dumps({"run": "tardis", "events": r6.get("run", {}).get("events"), "accepted": acc}))

# 7. --convert: the same events in the binary event file replay to the same run.
evf = os.path.join(tmp, "events.bin")
rc, out, err = run("--convert", evf, *FILES)
rep7 = os.path.join(tmp, "r7.json")
rc2, _, err2 = run("--config", json.dumps(TRADING), "--report", rep7, evf)
r7 = json.load(open(rep7)) if rc == 0 and rc2 == 0 else {}
if rc != 0 or rc2 != 0 or r7.get("venue") != r["venue"] or r7.get("engine") != r["engine"]:
    fail("convert: exit %d/%d, the replay from the event file differs (%s %s)" %
         (rc, rc2, err[-200:], err2[-200:]))
print(json.dumps({"run": "convert", "bytes": os.path.getsize(evf),
                  "source_bytes": sum(os.path.getsize(f) for f in FILES), "output": out.strip()}))

# 8. Market data 100 ms late to the engine: a different run, still consistent.
rep8 = os.path.join(tmp, "r8.json")
rc, out, err = run("--config", json.dumps(TRADING), "--md-latency-ms", "100", "--report", rep8,
                   *FILES)
r8 = json.load(open(rep8)) if rc == 0 else {}
if rc != 0 or not r8["run"]["positions_agree"] or r8["run"]["updates_refused_by_engine"] != 0:
    fail("md latency: exit %d, %s" % (rc, r8.get("run")))
elif r8["venue"] == r["venue"]:
    fail("md latency: 100 ms of latency changed nothing")
elif r8["engine"]["feed"]["accepted"] != r["engine"]["feed"]["accepted"]:
    fail("md latency: the engine did not get every event")
print(json.dumps({"run": "md_latency_100ms", "intents_new": r8.get("run", {}).get("intents_new"),
                  "fills": r8.get("venue", {}).get("fills"),
                  "rejects": r8.get("venue", {}).get("rejects"),
                  "net_pnl": r8.get("venue", {}).get("net_pnl")}))
if "events/s" in err and " 0 events, " in err:
    fail("md latency: a progress line before any event")

# 9. Bad arguments.
for args, needle in ((["--config", '{"venue":{"maker_fee":1}}'], "venue.maker_fee"),
                     (["--config", '{"risk":{"max_leverage_factor":-1}}'], "risk.max_leverage_factor"),
                     (["--walk-forward", "10"], "--walk-forward"),
                     (["--md-latency-ms", "-5"], "--md-latency-ms"),
                     (["--bogus"], "--bogus")):
    rc, out, err = run(*args)
    if rc != 2 or needle not in err:
        fail("%s: exit %d, stderr %r" % (args, rc, err[-200:]))

if failures:
    sys.exit(1)
print("check_backtest: all checks passed")
