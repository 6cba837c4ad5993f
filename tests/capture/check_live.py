"""cscalp-live against cscalp-replay-server on loopback: the integration test.

1. Paper mode with a checkpoint: the server streams the bundled sample at 5x;
   after 4 s the server is killed (SIGKILL) mid-stream, the live host keeps
   trying to reconnect with back-off, the server is restarted on the same
   port 1.5 s later, and the host runs on to its --duration-s. Checks: exit
   0, intents were produced, the engine's and the paper venue's
   positions agree, the health log reports, in order, the disconnect (with
   autonomy lowered to MANUAL by the engine), failed connects, the new
   connection and the recovery (autonomy restored), and interval
   checkpoints were written; the summary counts all of it.
2. The checkpoint loads: a second host resumes from it (resumed, the orders
   working in the checkpoint settled against the new paper account, none
   left), runs; the server stalls (SIGSTOP) longer than --feed-timeout-ms
   and the host drops the silent connection and recovers; it stops on
   SIGTERM with a final checkpoint, no order working, exit 0; the two paper
   runs filled something.
3. Router mode: --intents-out - writes intents as JSON lines (autonomy
   ASSISTED by default: entries flagged needs_confirmation); a router on
   --updates-in answers each NEW with ack and fill (declines those of the last
   1.5 s, so no fill is in flight at the stop); the engine's position is the
   sum of the fills; a bad update line is refused with its field named.
4. A damaged checkpoint is refused (exit 1, nothing traded); bad arguments
   (a regular file as --updates-in among them) exit 2.

usage: check_live.py CSCALP_LIVE CSCALP_REPLAY_SERVER SAMPLE_CAPTURE
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

LIVE, SERVER, SAMPLE = sys.argv[1], sys.argv[2], sys.argv[3]
tmp = tempfile.mkdtemp()
failures = []

# A configuration that warms up in seconds of host time and trades on the
# sample (no fees, the untrained model allowed to enter).
CONFIG = {
    "learn": {"mode": "async", "horizon_ms": 1000},
    "features": {"norm_interval_ms": 100, "norm_warmup_samples": 5},
    "fees": {"taker_bps": 0, "maker_bps": 0},
    "model": {"prior_move_bps": 5},
    "regime": {"interval_ms": 100, "warmup_steps": 16, "entry_band_bps": [0.1]},
    "risk": {"max_order_contracts": 0.05, "max_position_contracts": 0.1,
             "max_orders_per_s": 2, "max_orders_per_min": 60},
    "policy": {"untrained_size_factor": 1, "decide_interval_ms": 50},
    "venue": {"maker_fee_bps": 0, "taker_fee_bps": 0},
}


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def start_server(port=0):
    p = subprocess.Popen([SERVER, "--port", str(port), "--speed", "5", SAMPLE],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        raise SystemExit("FAIL: replay server printed %r" % line)
    return p, int(line.rsplit(":", 1)[1])


def summary_of(err):
    for line in err.splitlines():
        if line.startswith("cscalp-live: {"):
            return json.loads(line[len("cscalp-live: "):])
    return None


def read_log(path):
    events = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                events.append(json.loads(line))
            except ValueError:
                fail("health log line %d is not JSON: %r" % (n, line[:200]))
    return events


def host_events(log):
    return [e["event"] for e in log if e["source"] == "host"]


ckpt = os.path.join(tmp, "engine.ckpt")
log1 = os.path.join(tmp, "health1.jsonl")
stats1 = os.path.join(tmp, "stats1.json")

# 1. Paper mode, the server killed mid-stream and restarted.
server, port = start_server()
live = subprocess.Popen([LIVE, "--connect", "127.0.0.1:%d" % port, "--config", json.dumps(CONFIG),
                         "--checkpoint", ckpt, "--checkpoint-every-s", "1", "--health-log", log1,
                         "--stats", stats1, "--duration-s", "11", "--reconnect-min-ms", "100",
                         "--reconnect-max-ms", "400"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(4)
server.kill()
server.wait()
time.sleep(1.5)
server, _ = start_server(port)
try:
    out, err = live.communicate(timeout=60)
except subprocess.TimeoutExpired:
    live.kill()
    out, err = live.communicate()
    fail("paper: the live host did not stop after --duration-s")
server.kill()
server.wait()
err = err.decode(errors="replace")
s1 = summary_of(err)
print("paper run:", json.dumps(s1))
if live.returncode != 0 or s1 is None:
    fail("paper: exit %d, stderr %s" % (live.returncode, err[-800:]))
    s1 = {}
else:
    if s1["intents_new"] == 0:
        fail("paper: no intents: %s" % s1)
    if s1["position"] != s1["venue_position"]:
        fail("paper: engine position %r, venue %r" % (s1["position"], s1["venue_position"]))
    if s1["disconnects"] < 1 or s1["recoveries"] < 1 or s1["connects"] < 2:
        fail("paper: disconnect/recovery not counted: %s" % s1)
    if s1["connect_failures"] < 1:
        fail("paper: no failed connect while the server was down: %s" % s1)
    if s1["checkpoints"] < 3 or s1["checkpoint_failures"] != 0:
        fail("paper: checkpoints %s" % s1)
    if s1["open_orders"] != 0:
        fail("paper: %d orders still working after the stop's drain" % s1["open_orders"])
    if s1["refused"] != 0 or s1["parse_errors"] != 0:
        fail("paper: refused or unparsed data: %s" % s1)
log = read_log(log1)
names = host_events(log)
want = ["connected", "feed_started", "feed_disconnected", "connect_failed", "connected",
        "feed_recovered", "stopping", "checkpoint_saved"]
pos = 0
for e in names:
    if pos < len(want) and e == want[pos]:
        pos += 1
if pos != len(want):
    fail("paper: host events out of order or missing (matched %d of %s): %s"
         % (pos, want, names))
# The engine's side of the outage: autonomy dropped to MANUAL (event 19)
# between the disconnect and the recovery, and came back after it.
i_down = next((i for i, e in enumerate(log) if e.get("event") == "feed_disconnected"), None)
i_up = next((i for i, e in enumerate(log) if e.get("event") == "feed_recovered"), None)
if i_down is None or i_up is None:
    fail("paper: no disconnect or recovery in the health log")
else:
    if not any(e["source"] == "engine" and e["event"] == 19 for e in log[i_down - 2:i_down + 1]):
        fail("paper: the engine reported no autonomy change at the disconnect")
    if not any(e["source"] == "engine" and e["event"] == 19 for e in log[i_up - 2:i_up + 1]):
        fail("paper: the engine reported no autonomy change at the recovery")
engine_events = [e for e in log if e["source"] == "engine"]
if not any(e["event"] == 12 for e in engine_events):
    fail("paper: the engine reported no CHECKPOINT_SAVED")
with open(stats1) as f:
    st = json.load(f)
if st["learn"]["mode"] != "async" or st["intents"]["new"] != s1.get("intents_new"):
    fail("paper: --stats disagrees with the summary: mode %s, intents %s"
         % (st["learn"]["mode"], st["intents"]))
if not os.path.exists(ckpt):
    fail("paper: no checkpoint")

# 2. The checkpoint loads: resume, trade; the server stalls (SIGSTOP) past
# --feed-timeout-ms, the host drops the silent connection and comes back;
# stop on SIGTERM.
log2 = os.path.join(tmp, "health2.jsonl")
server, port = start_server()
live = subprocess.Popen([LIVE, "--connect", "127.0.0.1:%d" % port, "--checkpoint", ckpt,
                         "--checkpoint-every-s", "0", "--health-log", log2,
                         "--feed-timeout-ms", "700", "--reconnect-max-ms", "400"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(2)
server.send_signal(signal.SIGSTOP)
time.sleep(1.5)
server.send_signal(signal.SIGCONT)
time.sleep(3)
live.send_signal(signal.SIGTERM)
try:
    _, err = live.communicate(timeout=30)
except subprocess.TimeoutExpired:
    live.kill()
    _, err = live.communicate()
    fail("resume: SIGTERM did not stop the host")
server.kill()
server.wait()
s2 = summary_of(err.decode(errors="replace"))
print("resumed run:", json.dumps(s2))
log2_events = read_log(log2)
names2 = host_events(log2_events)
if live.returncode != 0 or s2 is None or not s2["resumed"] or s2["events"] == 0:
    fail("resume: exit %d, summary %s" % (live.returncode, s2))
for e in ("resumed", "orders_settled", "feed_started", "feed_disconnected", "feed_recovered",
          "stopping", "checkpoint_saved"):
    if e not in names2:
        fail("resume: no %s event: %s" % (e, names2))
settled = [e for e in log2_events if e.get("event") == "orders_settled"]
if not settled or not settled[0]["message"].endswith("0 working now"):
    fail("resume: orders left working after settling: %s" % settled)
if not any(e.get("event") == "feed_disconnected" and "no data for 700 ms" in e["message"]
           for e in log2_events):
    fail("resume: the stalled server was not noticed (no 'no data for 700 ms')")
if s2 and s2["open_orders"] != 0:
    fail("resume: %d orders working after the stop" % s2["open_orders"])
# The fill count is restored from the checkpoint: the resumed run's is both runs'.
if s2 and s2["fills"] == 0:
    fail("paper: the venue filled nothing in two runs: %s %s" % (s1, s2))
if s2 and s2["position"] != s2["venue_position"]:
    fail("resume: engine position %r, venue %r" % (s2["position"], s2["venue_position"]))

# 3. Router mode: intents on stdout, ack + fill for each NEW on --updates-in.
log3 = os.path.join(tmp, "health3.jsonl")
server, port = start_server()
live = subprocess.Popen([LIVE, "--connect", "127.0.0.1:%d" % port, "--config", json.dumps(CONFIG),
                         "--intents-out", "-", "--updates-in", "-", "--health-log", log3,
                         "--duration-s", "6"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
intents = []
filled = 0.0
router_start = time.monotonic()


def router():
    global filled
    fill_id = 0
    live.stdin.write(b'{"type":"fill","client_id":"x"}\n')  # a bad line: field named
    live.stdin.flush()
    for raw in live.stdout:
        it = json.loads(raw)
        intents.append(it)
        try:
            if it["kind"] == "new" and time.monotonic() - router_start > 4.5:
                # Near the host's stop: decline, so no fill is in flight then.
                live.stdin.write((json.dumps({"type": "rejected", "client_id": it["client_id"],
                                              "text": "declined"}) + "\n").encode())
            elif it["kind"] == "new":
                fill_id += 1
                q = it["quantity"] if it["side"] == "buy" else -it["quantity"]
                filled += q
                live.stdin.write((json.dumps({"type": "ack", "client_id": it["client_id"]}) + "\n"
                                  + json.dumps({"type": "fill", "client_id": it["client_id"],
                                                "fill_id": fill_id, "fill_price": it["price"],
                                                "fill_quantity": it["quantity"], "fee": 0,
                                                "liquidity": "taker"}) + "\n").encode())
            elif it["kind"] == "cancel":
                live.stdin.write((json.dumps({"type": "cancelled",
                                              "client_id": it["client_id"]}) + "\n").encode())
            live.stdin.flush()
        except (BrokenPipeError, ValueError):
            break


t = threading.Thread(target=router)
t.start()
try:
    live.wait(timeout=60)
except subprocess.TimeoutExpired:
    live.kill()
    fail("router: the host did not stop after --duration-s")
t.join(timeout=10)
err = live.stderr.read().decode(errors="replace")
server.kill()
server.wait()
s3 = summary_of(err)
print("router run:", json.dumps(s3), "intents:", len(intents))
news = [i for i in intents if i["kind"] == "new"]
if live.returncode != 0 or s3 is None:
    fail("router: exit %d, %s" % (live.returncode, err[-500:]))
elif not news:
    fail("router: no NEW intents on stdout")
else:
    for i in news:
        if not {"client_id", "side", "type", "time_in_force", "price", "quantity",
                "reduce_only", "needs_confirmation"} <= set(i):
            fail("router: intent without its fields: %s" % i)
    if not any(i["needs_confirmation"] for i in news):
        fail("router: ASSISTED autonomy flagged no entry for confirmation")
    if abs(s3["position"] - filled) > 1e-9:
        fail("router: engine position %r, the router filled %r" % (s3["position"], filled))
    if s3["update_errors"] < 1:
        fail("router: the bad update line was not counted")
log = read_log(log3)
if not any(e.get("event") == "update_refused" and e["message"].endswith(
        ": client_id: missing or not a positive integer") for e in log):
    fail("router: no update_refused event naming client_id")

# 4. Refusals.
bad = os.path.join(tmp, "bad.ckpt")
with open(ckpt, "rb") as f:
    blob = bytearray(f.read())
blob[len(blob) // 2] ^= 0x40
with open(bad, "wb") as f:
    f.write(blob)
p = subprocess.run([LIVE, "--connect", "127.0.0.1:9", "--checkpoint", bad, "--duration-s", "1"],
                   capture_output=True, timeout=30)
if p.returncode != 1 or b"bad.ckpt" not in p.stderr:
    fail("damaged checkpoint: exit %d, %r" % (p.returncode, p.stderr[-300:]))
plain = os.path.join(tmp, "plain.txt")
with open(plain, "w") as f:
    f.write("{}\n")
for args, needle in ((["--connect", "nowhere"], b"--connect"),
                     (["--connect", "127.0.0.1:1", "--intents-out", "-", "--updates-in", plain],
                      b"not a pipe or FIFO"),
                     (["--connect", "127.0.0.1:1", "--checkpoint-every-s", "0.001"],
                      b"--checkpoint-every-s"),
                     (["--connect", "127.0.0.1:1", "--tick-ms", "0"], b"--tick-ms"),
                     (["--connect", "127.0.0.1:1", "--updates-in", "-"], b"--updates-in"),
                     (["--connect", "127.0.0.1:1", "--config", '{"venue":{"maker_fee":1}}'],
                      b"venue.maker_fee")):
    p = subprocess.run([LIVE, *args], capture_output=True, timeout=30)
    if p.returncode != 2 or needle not in p.stderr:
        fail("bad arguments %s: exit %d, %r" % (args, p.returncode, p.stderr[:300]))

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("ok")
