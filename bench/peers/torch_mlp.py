#!/usr/bin/python3
"""PyTorch peer of cscalp-bench infer/train: the default model of docs/model.md
(24 inputs, hidden [64, 64] ReLU, 3 experts, 6 549 parameters, uniform regime
posterior), float32, one thread, eager and TorchScript.

usage: bench/peers/torch_mlp.py [--quick] [--cases infer,train] [--calls N]
                                [--seconds S] [--features CSV]
                                [--train-data fixed|cycle]

Prints one JSON line per case on stdout and nothing else:

  {"bench":"infer","impl":"torch_eager"|"torch_script","batch":1,"ns_p50":..,
   "ns_p99":..,"ns_p999":..,"ns_mean":..,"calls":N,"threads":1,"torch":"<ver>",...}
  {"bench":"train","impl":"torch_eager"|"torch_script","batch":1|256,
   "samples_per_s":..,"steps":N,"seconds":..,"threads":1,"torch":"<ver>",...}

infer: one module call on a 1x24 input (a different row of the input pool
each call) and the uniform regime posterior, under torch.inference_mode(),
timed alone with time.perf_counter_ns() (garbage collector off); the median
cost of an empty timed region is subtracted (as cscalp-bench subtracts its
timer's), clamped at 0. Percentiles are nearest-rank. TorchScript: the best
of torch.jit.script, + torch.jit.freeze, + torch.jit.optimize_for_inference
on a short trial ("variant" says which).

train: one step = zero_grad, forward, mixture loss (weighted mean NLL with
log p_y by logsumexp, class weights 1), backward, torch.optim.Adam (lr 1e-3)
step. Each case runs warm-up steps, then steps until --seconds (default 2)
have passed. As in cscalp-bench train, every step trains on the same batch
(drawn once from the input pool, random labels, uniform regime posterior);
--train-data cycle steps through distinct batches instead. TorchScript
scripts the forward+loss module (autograd and Adam as in eager). Adam's foreach implementation is used where a short trial shows
it faster ("adam_foreach").

Inputs: random normal clipped to +-5 (seeded), or --features CSV (e.g. the
output of cscalp-features: a header, then rows; the last 24 numeric columns
are standardised per column and clipped to +-5).
"""

import argparse
import gc
import json
import math
import sys
import time

import torch

# Before any parallel work (set_num_interop_threads fails afterwards).
torch.set_num_interop_threads(1)
torch.set_num_threads(1)

import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

INPUTS, HIDDEN, EXPERTS = 24, (64, 64), 3


class MoEModel(nn.Module):
    """MLP trunk + mixture-of-experts head (docs/model.md "Architecture")."""

    def __init__(self, inputs: int, hidden, experts: int):
        super().__init__()
        self.E = experts
        widths = [inputs] + list(hidden)
        self.trunk = nn.ModuleList(
            [nn.Linear(widths[i], widths[i + 1]) for i in range(len(hidden))])
        self.head = nn.Linear(widths[-1], 4 * experts)
        self.gate_regime = nn.Linear(experts, experts, bias=False)

    def logits(self, x: torch.Tensor, r: torch.Tensor):
        h = x
        for lin in self.trunk:
            h = F.relu(lin(h))
        u = self.head(h)
        E = self.E
        z = u[:, :3 * E].reshape(-1, E, 3)
        g = u[:, 3 * E:] + self.gate_regime(r) + torch.log(torch.clamp(r, min=1e-6))
        return z, g

    def forward(self, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        z, g = self.logits(x, r)
        pi = torch.softmax(g, dim=1)
        pe = torch.softmax(z, dim=2)
        return (pi.unsqueeze(2) * pe).sum(dim=1)


class MoELoss(nn.Module):
    """Forward + weighted mixture NLL, the training objective."""

    def __init__(self, model: MoEModel):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, r: torch.Tensor, y: torch.Tensor,
                w: torch.Tensor) -> torch.Tensor:
        z, g = self.model.logits(x, r)
        log_p = torch.logsumexp(F.log_softmax(g, dim=1).unsqueeze(2) + F.log_softmax(z, dim=2),
                                dim=1)
        nll = -log_p.gather(1, y.unsqueeze(1)).squeeze(1)
        wy = w[y]
        return (wy * nll).sum() / wy.sum()


def build_model(seed=1):
    torch.manual_seed(seed)
    return MoEModel(INPUTS, HIDDEN, EXPERTS)


def input_pool(n, features_csv, seed=7):
    if features_csv:
        rows = []
        with open(features_csv, encoding="utf-8") as f:
            for line in f:
                vals = []
                for field in line.strip().split(","):
                    try:
                        vals.append(float(field))
                    except ValueError:
                        pass
                if len(vals) >= INPUTS:
                    rows.append(vals[-INPUTS:])
                if len(rows) >= n:
                    break
        if not rows:
            sys.exit("torch_mlp.py: no rows of >= %d numbers in %s" % (INPUTS, features_csv))
        x = torch.tensor(rows, dtype=torch.float64)
        x = (x - x.mean(0)) / x.std(0).clamp(min=1e-12)
        return x.clamp(-5.0, 5.0).to(torch.float32)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, INPUTS, generator=g).clamp(-5.0, 5.0)


def percentile(sorted_ns, per_mille):
    """Nearest rank."""
    k = max(1, math.ceil(len(sorted_ns) * per_mille / 1000.0))
    return float(sorted_ns[k - 1])


def timer_overhead(n=100000):
    clock = time.perf_counter_ns
    d = [0] * n
    for i in range(n):
        t0 = clock()
        t1 = clock()
        d[i] = t1 - t0
    d.sort()
    return d[n // 2]


def time_calls(fn, xs, r, calls, overhead):
    """Per-call ns of fn(x, r), x cycling through xs."""
    clock = time.perf_counter_ns
    n = len(xs)
    d = [0] * calls
    gc.collect()
    gc.disable()
    try:
        for i in range(calls):
            x = xs[i % n]
            t0 = clock()
            fn(x, r)
            t1 = clock()
            d[i] = t1 - t0
    finally:
        gc.enable()
    return sorted(max(0, v - overhead) for v in d)


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def bench_infer(args, pool):
    model = build_model().eval()
    xs = [pool[i:i + 1].clone() for i in range(min(len(pool), 4096))]
    r = torch.full((1, EXPERTS), 1.0 / EXPERTS)
    overhead = timer_overhead(20000 if args.quick else 100000)
    warm = 200 if args.quick else 2000
    trial = 2000 if args.quick else 20000

    with torch.inference_mode():
        candidates = {"eager": model}
        scripted = torch.jit.script(build_model().eval())
        candidates["script"] = scripted
        try:
            frozen = torch.jit.freeze(torch.jit.script(build_model().eval()))
            candidates["script+freeze"] = frozen
            candidates["script+freeze+optimize_for_inference"] = \
                torch.jit.optimize_for_inference(torch.jit.freeze(
                    torch.jit.script(build_model().eval())))
        except Exception as e:  # older torch: keep what works
            print("torch_mlp.py: freeze/optimize_for_inference: %s" % e, file=sys.stderr)
        # The variants must compute the same thing.
        want = model(xs[0], r)
        for name, m in candidates.items():
            for _ in range(warm):
                m(xs[0], r)
            got = m(xs[0], r)
            assert torch.allclose(got, want, atol=1e-6), name
        best_script, best_p50 = None, None
        for name, m in candidates.items():
            if name == "eager":
                continue
            p50 = percentile(time_calls(m, xs, r, trial, overhead), 500)
            if best_p50 is None or p50 < best_p50:
                best_script, best_p50 = name, p50
        for impl, name in (("torch_eager", "eager"), ("torch_script", best_script)):
            m = candidates[name]
            time_calls(m, xs, r, warm, overhead)
            ns = time_calls(m, xs, r, args.calls, overhead)
            emit({"bench": "infer", "impl": impl, "batch": 1,
                  "ns_p50": percentile(ns, 500), "ns_p99": percentile(ns, 990),
                  "ns_p999": percentile(ns, 999), "ns_mean": round(sum(ns) / len(ns), 1),
                  "calls": len(ns), "threads": torch.get_num_threads(),
                  "torch": torch.__version__, "variant": name,
                  "timer": "perf_counter_ns", "timer_overhead_ns": overhead,
                  "parameters": sum(p.numel() for p in model.parameters()),
                  "source": args.features or "randn_clip5"})


def train_run(loss_mod, params, batches, seconds, foreach, warmup=20):
    opt = torch.optim.Adam(params, lr=1e-3, foreach=foreach)
    w = torch.ones(3)
    n = len(batches)

    def step(i):
        x, r, y = batches[i % n]
        opt.zero_grad(set_to_none=True)
        loss = loss_mod(x, r, y, w)
        loss.backward()
        opt.step()
        return loss

    for i in range(warmup):
        step(i)
    steps, loss = 0, None
    gc.collect()
    t0 = time.perf_counter()
    while True:
        for _ in range(16):
            loss = step(steps)
            steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    return steps, elapsed, float(loss)


def bench_train(args, pool):
    g = torch.Generator().manual_seed(11)
    for batch in (1, 256):
        # As cscalp-bench train: one batch drawn once and trained on every step;
        # --train-data cycle steps through distinct batches instead.
        nb = 1 if args.train_data == "fixed" else max(16, min(4096, len(pool) // batch))
        batches = []
        for b in range(nb):
            idx = torch.randint(0, len(pool), (batch,), generator=g)
            batches.append((pool[idx].contiguous(), torch.full((batch, EXPERTS), 1.0 / EXPERTS),
                            torch.randint(0, 3, (batch,), generator=g)))
        for impl in ("torch_eager", "torch_script"):
            trial = 0.2 if args.quick else 0.5
            best = None
            for foreach in (False, True):
                model = build_model().train()
                lm = MoELoss(model)
                if impl == "torch_script":
                    lm = torch.jit.script(lm)
                try:
                    steps, el, _ = train_run(lm, list(model.parameters()), batches, trial,
                                             foreach)
                except (TypeError, RuntimeError):  # no foreach option
                    continue
                if best is None or steps / el > best[1]:
                    best = (foreach, steps / el)
            model = build_model().train()
            lm = MoELoss(model)
            if impl == "torch_script":
                lm = torch.jit.script(lm)
            steps, el, loss = train_run(lm, list(model.parameters()), batches, args.seconds,
                                        best[0])
            emit({"bench": "train", "impl": impl, "batch": batch,
                  "samples_per_s": round(steps * batch / el, 1), "steps": steps,
                  "seconds": round(el, 3), "loss": round(loss, 6),
                  "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "adam_foreach": best[0], "train_data": args.train_data,
                  "parameters": sum(p.numel() for p in model.parameters())})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke test: few calls, short runs")
    ap.add_argument("--cases", default="infer,train", help="comma list of infer, train")
    ap.add_argument("--calls", type=int, default=None, help="timed inference calls (100000)")
    ap.add_argument("--seconds", type=float, default=None, help="time per training case (2)")
    ap.add_argument("--features", default=None, help="CSV of feature rows for the inputs")
    ap.add_argument("--train-data", choices=("fixed", "cycle"), default="fixed",
                    help="train on one fixed batch (as cscalp-bench does; default) or cycle "
                    "through distinct batches")
    args = ap.parse_args()
    if args.calls is None:
        args.calls = 5000 if args.quick else 100000
    if args.seconds is None:
        args.seconds = 0.3 if args.quick else 2.0
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in ("infer", "train"):
            ap.error("unknown case %r" % c)
    pool = input_pool(65536, args.features)
    if "infer" in cases:
        bench_infer(args, pool)
    if "train" in cases:
        bench_train(args, pool)


if __name__ == "__main__":
    main()
