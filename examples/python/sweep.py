#!/usr/bin/python3
"""Walk-forward configuration sweep of libcryptoscalp over real captures, on Dask.

Each task is one engine in its own worker process: it learns on the first
part of a capture (autonomy MANUAL, learning inline), then trades the next
part against the simulated venue with the configuration of its grid point,
exactly as ``cscalp-backtest --walk-forward`` would. The folds are an
expanding window: fold k learns on [0, train_s + k*test_s) and trades the
test_s after it. The results come back into one table (pandas), printed and
optionally written as CSV.

Dask does the scheduling (no home-made queue): a LocalCluster of worker
processes by default, or an existing cluster with --scheduler ADDRESS
(start one with ``dask-scheduler`` and ``dask-worker ADDRESS`` on each
machine; every worker needs the cryptoscalp package and the library). The
captures are read once by the driver and sent to the workers with
``Client.scatter``, so workers need not see the files.

    /usr/bin/python3 examples/python/sweep.py                     # default grid
    /usr/bin/python3 examples/python/sweep.py --workers 2 --grid tiny
    /usr/bin/python3 examples/python/sweep.py --scheduler tcp://10.0.0.5:8786 \\
        --horizon-ms 500 1000 2000 --entry-band-bps 0 1 3 --hidden 32 64 --out sweep.csv

Grid keys: learn.horizon_ms (label horizon, ms), regime.entry_band_bps (edge
beyond costs an entry needs, bps, every regime), model.hidden_sizes (trunk
width, two layers). Everything else comes from --config (docs/config.md, plus
a "venue" object as in cscalp-backtest).
"""
from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

def _import_cryptoscalp():
    """The installed package (pip install ./bindings/python) if it loads;
    else the checkout's, with the library of its build. The environment
    carries the choice to the worker processes Dask starts."""
    try:
        import cryptoscalp
        return cryptoscalp
    except ImportError:  # not installed, or installed without a library
        for name in [m for m in sys.modules if m.split(".")[0] == "cryptoscalp"]:
            del sys.modules[name]
    package_dir = os.path.join(ROOT, "bindings", "python")
    sys.path.insert(0, package_dir)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_dir, os.environ.get("PYTHONPATH")) if p)
    built = os.path.join(ROOT, "build", "src", "libcryptoscalp.so.1")
    if "CSCALP_LIBRARY" not in os.environ and os.path.exists(built):
        os.environ["CSCALP_LIBRARY"] = built
    import cryptoscalp
    return cryptoscalp


cs = _import_cryptoscalp()

SHARED = os.environ.get("CSCALP_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
DEFAULT_CAPTURES = [os.path.join(ROOT, "examples", "data", "btcusdt_20240718.gz"),
                    os.path.join(SHARED, "binance-usdm", "btcusdt_20240719.gz"),
                    os.path.join(SHARED, "binance-usdm", "btcusdt_20240808.gz")]
GRIDS = {
    "tiny": {"horizon_ms": [1000], "entry_band_bps": [0.0, 2.0], "hidden": [16]},
    "default": {"horizon_ms": [500, 1000, 2000], "entry_band_bps": [0.0, 1.0, 3.0],
                "hidden": [32, 64]},
}
# Costs low enough that the policy trades on these short captures; override
# with --config.
DEFAULT_CONFIG = {"fees": {"maker_bps": -1, "taker_bps": 0},
                  "policy": {"untrained_size_factor": 1},
                  "venue": {"maker_fee_bps": -1, "taker_fee_bps": 0}}


def grid_config(base: Dict[str, Any], horizon_ms: int, entry_band_bps: float,
                hidden: int, seed: int) -> Dict[str, Any]:
    """The base configuration with one grid point's values set."""
    cfg = copy.deepcopy(base)
    cfg.setdefault("learn", {})["horizon_ms"] = int(horizon_ms)
    cfg.setdefault("regime", {})["entry_band_bps"] = [float(entry_band_bps)]
    cfg.setdefault("model", {})["hidden_sizes"] = [int(hidden), int(hidden)]
    cfg["model"]["seed"] = seed
    return cfg


def _test_log_loss(end: Dict[str, Any], split: Optional[Dict[str, Any]]) -> float:
    """Prequential log loss of the live network over the test period only."""
    def cum(stats: Optional[Dict[str, Any]]) -> tuple:
        if not stats:
            return 0, 0.0
        c = stats["learn"]["scores"]["network"]["cumulative"]
        return c["samples"], c["log_loss"] * c["samples"]
    n1, s1 = cum(end)
    n0, s0 = cum(split)
    return (s1 - s0) / (n1 - n0) if n1 > n0 else float("nan")


def run_task(events: "cs.Events", capture: str, fold: int, train_s: float, test_s: float,
             point: Dict[str, Any], base: Dict[str, Any], seed: int) -> Dict[str, Any]:
    """One walk-forward fold of one grid point on one capture, in a worker."""
    t0 = time.perf_counter()
    cfg = grid_config(base, point["horizon_ms"], point["entry_band_bps"], point["hidden"],
                      seed)
    result = cs.backtest(events, cfg, walk_forward=(train_s + fold * test_s, test_s),
                         as_frame=False)
    try:
        rep = result.report
        v = rep["venue"]
        return {"capture": os.path.basename(capture), "fold": fold,
                "train_s": train_s + fold * test_s, "test_s": test_s, **point,
                "events": rep["run"]["events"], "net_pnl": v["net_pnl"],
                "return": v["return"], "sharpe": v["sharpe"],
                "max_drawdown": v["max_drawdown"], "fills": v["fills"],
                "round_trips": v["round_trips"], "win_rate": v["win_rate"],
                "test_log_loss": _test_log_loss(rep["engine"], rep.get("engine_at_split")),
                "promotions": rep["engine"]["learn"]["training"]["promotions"],
                "positions_agree": rep["run"]["positions_agree"],
                "wall_s": round(time.perf_counter() - t0, 3), "pid": os.getpid()}
    finally:
        result.close()


def folds_of(events: "cs.Events", train_s: float, test_s: float, max_folds: int) -> int:
    """How many whole test windows fit after the first training window."""
    if len(events) == 0:
        return 0
    ts = events.timestamps()
    span_s = (int(ts[-1]) - int(ts[0])) / 1e9
    return max(0, min(max_folds, int((span_s - train_s) // test_s)))


def sweep(client: Any, captures: Sequence[str], grid: Dict[str, List[Any]],
          base: Dict[str, Any], train_s: float, test_s: float, max_folds: int,
          seed: int) -> "Any":
    """Submit every (capture, fold, grid point) task and gather one table."""
    import pandas as pd
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    futures = []
    for path in captures:
        events = cs.data.read(path)
        n_folds = folds_of(events, train_s, test_s, max_folds)
        if n_folds == 0:
            print(f"sweep: {path}: shorter than train_s + test_s, skipped", file=sys.stderr)
            continue
        remote = client.scatter(events, broadcast=True)
        for fold in range(n_folds):
            for point in points:
                futures.append(client.submit(run_task, remote, path, fold, train_s, test_s,
                                             point, base, seed, pure=False))
    rows = client.gather(futures)
    table = pd.DataFrame(rows)
    return table


def summarise(table: "Any", grid: Dict[str, List[Any]]) -> "Any":
    """Mean over captures and folds per grid point, best net PnL first."""
    keys = list(grid)
    agg = table.groupby(keys).agg(tasks=("net_pnl", "size"), net_pnl=("net_pnl", "mean"),
                                  sharpe=("sharpe", "mean"), fills=("fills", "mean"),
                                  test_log_loss=("test_log_loss", "mean"))
    return agg.sort_values("net_pnl", ascending=False).reset_index()


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="*", help="capture files (default: three Binance "
                    "USDⓈ-M captures: the bundled sample and two from ../shared/data)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler "
                    "(default: a LocalCluster of --workers processes)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                    help="LocalCluster worker processes (default: the CPU count)")
    ap.add_argument("--grid", choices=sorted(GRIDS), default="default")
    ap.add_argument("--horizon-ms", type=int, nargs="+", help="learn.horizon_ms values")
    ap.add_argument("--entry-band-bps", type=float, nargs="+",
                    help="regime.entry_band_bps values (one band for every regime)")
    ap.add_argument("--hidden", type=int, nargs="+", help="model.hidden_sizes widths")
    ap.add_argument("--train-s", type=float, default=90.0,
                    help="event-time seconds of the first training window (default 90)")
    ap.add_argument("--test-s", type=float, default=60.0,
                    help="event-time seconds of each test window (default 60)")
    ap.add_argument("--max-folds", type=int, default=3)
    ap.add_argument("--config", help="base configuration: a JSON text or file "
                    "(default: low fees so the short captures trade)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="write every task's row as CSV here")
    args = ap.parse_args(argv)

    grid = dict(GRIDS[args.grid])
    for key, values in (("horizon_ms", args.horizon_ms),
                        ("entry_band_bps", args.entry_band_bps), ("hidden", args.hidden)):
        if values:
            grid[key] = values
    if args.config:
        text = args.config
        if not text.lstrip().startswith("{"):
            with open(text, encoding="utf-8") as f:
                text = f.read()
        base = json.loads(text)
    else:
        base = DEFAULT_CONFIG
    captures = args.captures or DEFAULT_CAPTURES
    missing = [c for c in captures if not os.path.exists(c)]
    if missing:
        print(f"sweep: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2

    from dask.distributed import Client, LocalCluster
    t0 = time.perf_counter()
    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        # One engine per process: worker processes, one thread each.
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        table = sweep(client, captures, grid, base, args.train_s, args.test_s,
                      args.max_folds, args.seed)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    wall = time.perf_counter() - t0
    if table.empty:
        print("sweep: no task ran (every capture is shorter than --train-s + --test-s)",
              file=sys.stderr)
        return 1
    import pandas as pd
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(index=False))
        print()
        print(summarise(table, grid).to_string(index=False))
    print(f"\nsweep: {len(table)} tasks on {table['pid'].nunique()} worker processes "
          f"in {wall:.1f} s")
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"sweep: rows written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
