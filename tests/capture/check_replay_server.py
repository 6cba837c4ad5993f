"""cscalp-replay-server: a capture streamed over loopback TCP.

Checks: the server prints the port it took; a client receives exactly the
file's lines, in order, byte for byte, and then the server closes the
connection; at --speed 1000 the 178 s bundled sample takes about 0.18 s of
wall time (not less: the pacing holds); a second client, connected while the
first is served, is served from the first line once the first ends; SIGTERM
ends the server with status 0; bad arguments exit 2.

usage: check_replay_server.py CSCALP_REPLAY_SERVER SAMPLE_CAPTURE
"""
import gzip
import signal
import socket
import subprocess
import sys
import time

EXE, SAMPLE = sys.argv[1], sys.argv[2]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def start(*args):
    p = subprocess.Popen([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        fail("no port line: %r" % line)
        p.kill()
        return p, 0
    return p, int(line.rsplit(":", 1)[1])


def drain(s):
    """Everything until the server closes the connection."""
    chunks = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        chunks.append(b)
    s.close()
    return b"".join(chunks)


def receive(port):
    return drain(socket.create_connection(("127.0.0.1", port), timeout=30))


want = gzip.open(SAMPLE, "rb").read()
if not want.endswith(b"\n"):
    want += b"\n"

# As fast as possible: the bytes, then the close.
p, port = start("--speed", "0", SAMPLE)
t0 = time.monotonic()
got = receive(port)
fast = time.monotonic() - t0
if got != want:
    fail("speed 0: %d bytes received, the file has %d; same prefix up to %d" % (
        len(got), len(want), next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                                  min(len(got), len(want)))))

# Two clients: the second waits, then gets the whole stream too.
s1 = socket.create_connection(("127.0.0.1", port), timeout=30)
s2 = socket.create_connection(("127.0.0.1", port), timeout=30)
for name, s in (("first", s1), ("second", s2)):
    if drain(s) != want:
        fail("%s of two clients did not get the whole stream" % name)
p.send_signal(signal.SIGTERM)
rc = p.wait(timeout=10)
if rc != 0:
    fail("SIGTERM: exit %d" % rc)

# Paced: 178 s of recorded time at 1000x.
p, port = start("--speed", "1000", SAMPLE)
t0 = time.monotonic()
got = receive(port)
paced = time.monotonic() - t0
p.send_signal(signal.SIGTERM)
p.wait(timeout=10)
lines = want.split(b"\n")
span_s = (int(lines[-2].split(b" ", 1)[0]) - int(lines[0].split(b" ", 1)[0])) / 1e9
if got != want or paced < 0.9 * span_s / 1000:
    fail("speed 1000: %.3f s for %.1f s of data (%d bytes)" % (paced, span_s, len(got)))
print('{"test":"replay_server","bytes":%d,"lines":%d,"fast_s":%.3f,"paced_s":%.3f,'
      '"recorded_span_s":%.1f}' % (len(want), len(lines) - 1, fast, paced, span_s))

# Bad arguments.
for args in (["--speed", "-1", SAMPLE], ["--port", "70000", SAMPLE], []):
    r = subprocess.run([EXE, *args], capture_output=True, timeout=10)
    if r.returncode != 2:
        fail("%s: exit %d" % (args, r.returncode))

if failures:
    sys.exit(1)
print("check_replay_server: all checks passed")
