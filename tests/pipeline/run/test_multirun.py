"""Hydra multirun: failing jobs do not stop or spoil the others, and every failure is listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import SMALL, config

from pipeline.run.execute import run_sweep
from pipeline.store import verify
from pipeline.store.kinds import open_sweep_store as S


@pytest.mark.slow
def test_failing_jobs_are_all_listed_and_the_others_stores_are_intact(tmp_path: Path, run_cli):
    reference = tmp_path / "reference" / "s.zarr"
    run_sweep(config(reference))
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "mine").mkdir()  # a user's directory, not a store
    (tmp_path / "results" / "mine" / "notes.txt").write_text("mine")
    done = run_cli(
        "-m",
        *SMALL,
        "record.dt=0.001,-1",
        "store.path=results/a.zarr,results/mine",
        "hydra.sweep.dir=multirun",
    )
    assert done.returncode == 1, done.stderr
    common = " ".join(SMALL)
    listing = done.stderr[done.stderr.index("multirun: 3 of 4 jobs failed:") :].splitlines()
    assert listing[1:] == [
        f"  job 1 ({common} record.dt=0.001 store.path=results/mine): exit 2",
        "    error: store.path=results/mine exists and is not a store of this pipeline; "
        "nothing was written. Choose another store.path.",
        f"  job 2 ({common} record.dt=-1 store.path=results/a.zarr): exit 2",
        "    error: record.dt must be > 0 s, got record.dt=-1.0",
        f"  job 3 ({common} record.dt=-1 store.path=results/mine): exit 2",
        "    error: record.dt must be > 0 s, got record.dt=-1.0",
    ]
    store = tmp_path / "results" / "a.zarr"
    assert verify.inspect(S(store)).exit_code == 0
    assert verify.content_digest(S(store)) == verify.content_digest(S(reference))
    assert [p.name for p in (tmp_path / "results" / "mine").iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_multirun_of_passing_jobs_exits_zero(tmp_path: Path, run_cli):
    done = run_cli(
        "-m", *SMALL, "sweep.grid.tau=[0.02],[0.05]", "store.path=results/t${sweep.grid.tau.0}.zarr"
    )
    assert done.returncode == 0, done.stderr
    assert "multirun: all 2 jobs passed" in done.stdout
    for name in ("t0.02.zarr", "t0.05.zarr"):
        assert verify.inspect(S(tmp_path / "results" / name)).exit_code == 0
