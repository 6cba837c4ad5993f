"""examples/python/sweep.py runs on a tiny grid with a 2-worker LocalCluster,
and each row is what the same backtest gives in this process."""
import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT, SAMPLE, child_env

import cryptoscalp as cs

SWEEP = os.path.join(ROOT, "examples", "python", "sweep.py")


def test_sweep_tiny_grid_two_workers(tmp_path):
    out = tmp_path / "rows.csv"
    r = subprocess.run([sys.executable, SWEEP, "--workers", "2", "--grid", "tiny",
                        "--train-s", "60", "--test-s", "50", "--max-folds", "2",
                        "--out", str(out), SAMPLE], capture_output=True, text=True,
                       env=child_env(), timeout=600, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sweep: 4 tasks on " in r.stdout
    rows = pd.read_csv(out)
    assert len(rows) == 4 and set(rows["fold"]) == {0, 1}
    assert set(rows["entry_band_bps"]) == {0.0, 2.0}
    assert rows["positions_agree"].all()
    assert (rows["pid"] != os.getpid()).all()
    # A worker's row is the backtest this process gets for the same task.
    sys.path.insert(0, os.path.dirname(SWEEP))
    import sweep
    row = rows[(rows["fold"] == 1) & (rows["entry_band_bps"] == 0.0)].iloc[0]
    cfg = sweep.grid_config(sweep.DEFAULT_CONFIG, 1000, 0.0, 16, 1)
    res = cs.backtest(SAMPLE, cfg, walk_forward=(110.0, 50.0), as_frame=False)
    try:
        # (through CSV: the last digit may differ)
        assert res.report["venue"]["net_pnl"] == pytest.approx(row["net_pnl"], rel=1e-12,
                                                                abs=1e-12)
        assert res.report["venue"]["fills"] == row["fills"]
        assert res.report["run"]["events"] == row["events"]
    finally:
        res.close()
