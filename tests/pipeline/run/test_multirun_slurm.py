"""Hydra multirun through hydra-submitit-launcher on a real SLURM: one array, one task a sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
from slurm_cluster import PARTITION
from store_helpers import run_driver

from pipeline.store import verify
from pipeline.store.kinds import open_sweep_store as S

LAUNCHER = ("hydra/launcher=submitit_slurm", f"hydra.launcher.partition={PARTITION}")


@pytest.mark.slow
def test_two_sweeps_run_as_tasks_of_one_slurm_array(slurm: Path, tmp_path: Path):
    """Each sweep is one array task (never one job per point); both stores pass their checks."""
    done = run_driver(
        "-m",
        "+sweep=autapse,pair",
        *LAUNCHER,
        "hydra.sweep.dir=multirun",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "multirun: all 2 jobs passed" in done.stdout
    for name in ("autapse", "pair"):
        store = tmp_path / "results" / f"{name}.zarr"
        assert verify.inspect(S(store)).exit_code == 0
        assert verify.inspect(S(store)).counts["pending"] == 0
    # submitit's folder per task: <array id>_<task index>, one array for both sweeps.
    folders = (tmp_path / "multirun" / ".submitit").iterdir()
    tasks = sorted(p.name for p in folders if p.is_dir() and "_" in p.name)
    assert len(tasks) == 2 and tasks[0].endswith("_0") and tasks[1].endswith("_1"), tasks
    assert tasks[0].split("_")[0] == tasks[1].split("_")[0], tasks
    # Named after the project, not "__main__" (Hydra's job name of python -m pipeline).
    scripts = list((tmp_path / "multirun" / ".submitit").rglob("*_submission.sh"))
    assert scripts and all("#SBATCH --job-name=rate-sweeps\n" in s.read_text() for s in scripts)


@pytest.mark.slow
def test_a_failed_array_task_is_reported_at_the_end(slurm: Path, tmp_path: Path):
    done = run_driver(
        "-m", "+sweep=autapse", "store.chunk_points=12", "sweep.grid.tau=[0.02],[-1]",
        "store.path=results/t${sweep.grid.tau.0}.zarr", *LAUNCHER, "hydra.sweep.dir=multirun",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    listing = done.stderr[done.stderr.index("multirun: 1 of 2 jobs failed:") :].splitlines()
    assert listing[1].startswith("  job 1 (") and listing[1].endswith("): exit 2"), listing
    assert "sweep.grid.tau=[-1]" in listing[1]
    assert listing[2] == "    error: sweep.grid.tau must be > 0 s, got sweep.grid.tau=[-1.0]"
    assert verify.inspect(S(tmp_path / "results" / "t0.02.zarr")).exit_code == 0
