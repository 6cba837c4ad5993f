"""cscalp-decide on real data: the decision path end to end (engine learning
inline at autonomy AUTONOMOUS, intents executed by the example's paper
venue, fills reported back).

Checks: on the bundled sample with the default configuration the run is
clean (no limit violated, positions agree); on the contiguous Binance
USDⓈ-M captures of 2024-07-18/19 with a zero-fee configuration that lets
the policy trade, intents appear (entries, exits and cancels), fills happen,
every intent keeps every limit (checked independently by the example: size,
notional, collar, grids, worst-case position, reduce-only, open orders,
orders per second and per minute), the engine's position equals the venue's,
the engine's own counters agree with what the host saw, and two runs are
byte-identical; with a drawdown limit of a cent the kill switch trips, the
engine drops to MANUAL and nothing after the trip adds exposure.

usage: check_decide.py CSCALP_DECIDE   (CSCALP_SHARED_DATA set)
"""
import json
import os
import subprocess
import sys

EXE = sys.argv[1]
DATA = os.environ["CSCALP_SHARED_DATA"]
FILES = [os.path.join(DATA, "binance-usdm", f) for f in ("btcusdt_20240718.gz",
                                                         "btcusdt_20240719.gz")]
TRADING = {
    "learn": {"mode": "inline", "horizon_ms": 5000},
    "fees": {"taker_bps": 0, "maker_bps": 0},
    "model": {"prior_move_bps": 5},
    "regime": {"warmup_steps": 60, "entry_band_bps": [0.5]},
    "policy": {"decide_interval_ms": 250},
    "risk": {"max_order_contracts": 0.05, "max_position_contracts": 0.1,
             "max_orders_per_s": 2, "max_orders_per_min": 30},
}
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(config, files, stats=False):
    args = [EXE] + (["--config", json.dumps(config)] if config else []) + \
        (["--stats"] if stats else []) + files
    p = subprocess.run(args, capture_output=True, timeout=300)
    out = p.stdout.decode()
    try:
        summary = json.loads(out)
    except ValueError:
        fail("not one JSON object: %r / %s" % (out[:200], p.stderr.decode()[-400:]))
        summary = {}
    engine_stats = json.loads(p.stderr.decode().strip().splitlines()[-1]) if stats else None
    return p.returncode, out, summary, engine_stats


def clean(name, rc, s):
    if rc != 0:
        fail("%s: exit %d (3 = a check failed)" % (name, rc))
    lim = s.get("limits", {})
    if lim.get("violations") != 0:
        fail("%s: %s limit violations, first: %s" % (name, lim.get("violations"),
                                                     lim.get("first_violation")))
    if not s.get("position", {}).get("agree"):
        fail("%s: engine and venue positions differ: %s" % (name, s.get("position")))
    if lim.get("worst_per_s", 0) > lim.get("max_orders_per_s", 0):
        fail("%s: %d orders in a second" % (name, lim["worst_per_s"]))
    if lim.get("worst_per_min", 0) > lim.get("max_orders_per_min", 0):
        fail("%s: %d orders in a minute" % (name, lim["worst_per_min"]))
    if s.get("position", {}).get("max_abs", 0) > lim.get("max_position_contracts", 0) + 1e-12:
        fail("%s: position reached %g" % (name, s["position"]["max_abs"]))


# 1. The bundled sample, defaults.
rc, _, s, _ = run(None, [])
clean("sample", rc, s)
print(json.dumps({"run": "sample", "events": s.get("events"), "intents": s.get("intents")}))

# 2. Real data, a configuration that trades.
rc, out, s, st = run(TRADING, FILES, stats=True)
clean("trading", rc, s)
it = s.get("intents", {})
reasons = it.get("by_reason", {})
if it.get("new", 0) == 0 or it.get("cancel", 0) == 0:
    fail("trading: no intents (%s)" % it)
if reasons.get("entry", 0) == 0 or reasons.get("exit", 0) == 0:
    fail("trading: entries and exits expected: %s" % reasons)
if sum(reasons.values()) != it.get("new", 0) + it.get("cancel", 0):
    fail("trading: an intent without a known reason: %s" % it)
if s.get("venue", {}).get("fills", 0) == 0:
    fail("trading: nothing filled")
if st is not None:
    if st["intents"]["new"] != it.get("new") or st["intents"]["cancel"] != it.get("cancel"):
        fail("trading: engine counted %s, the host saw %s" % (st["intents"], it))
    if st["position"]["fills"] != s["venue"]["fills"]:
        fail("trading: engine booked %d fills, venue made %d" % (st["position"]["fills"],
                                                                 s["venue"]["fills"]))
    if sum(st["risk"]["refused_by"].values()) != st["intents"]["refused"]:
        fail("trading: refusals by rule do not add up: %s" % st["risk"])
    if st["risk"]["checked"] != st["risk"]["passed"] + st["intents"]["refused"]:
        fail("trading: checked != passed + refused: %s" % st["risk"])
    if st["policy"]["decisions"] == 0:
        fail("trading: the policy never decided")
print(json.dumps({"run": "trading", "events": s.get("events"), "intents": it,
                  "venue": s.get("venue"), "position": s.get("position"),
                  "limits": s.get("limits"),
                  "risk_refused_by": st["risk"]["refused_by"] if st else None}))
rc2, out2, _, _ = run(TRADING, FILES, stats=True)
if out2 != out:
    fail("trading: two runs differ")

# 3. A drawdown limit of a cent: the kill switch.
killer = json.loads(json.dumps(TRADING))
killer["risk"]["max_total_drawdown_quote"] = 0.01
rc, _, s, st = run(killer, FILES, stats=True)
clean("kill", rc, s)
if s.get("health", {}).get("kill_switch", 0) < 1 or s.get("kill_switch") != 1:
    fail("kill: the kill switch did not trip: %s" % s.get("health"))
if s.get("autonomy") != 0:
    fail("kill: autonomy %s, expected MANUAL (0)" % s.get("autonomy"))
print(json.dumps({"run": "kill", "intents": s.get("intents"), "position": s.get("position"),
                  "health": s.get("health")}))

if failures:
    sys.exit(1)
print("check_decide: all checks passed")
