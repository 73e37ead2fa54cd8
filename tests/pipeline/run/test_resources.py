"""Runs that cannot fit are refused from the config alone, before anything is written."""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from store_helpers import config

import pipeline.config.schema
from pipeline.block import simulate_block
from pipeline.grid import Grid
from pipeline.run import array
from pipeline.run.plan import block_spec, plan_run
from pipeline.run.resources import WORKING_COPIES, ResourceError, check_resources, needs

ROOT = Path(__file__).resolve().parents[3]


def _grid(cfg):
    return Grid.from_config(cfg.sweep.grid)


def test_needs_count_the_trajectories_of_a_point_a_block_and_the_run(tmp_path: Path):
    """Autapse, 0.5 s at 1 ms: 501 samples of one neuron, 8 bytes each, 39 points."""
    cfg = config(tmp_path / "s.zarr", "cluster.n_workers=2", sweep=("+sweep=autapse",))
    need = needs(cfg, _grid(cfg))
    assert need.point == 501 * 1 * 8
    assert need.block_points == 39  # all 39 fit in 32 MB
    assert need.concurrent == 1  # one block: only one can run at a time
    assert need.recording == 39 * 501 * 8
    assert need.block == 39 * 501 * 8 * WORKING_COPIES


@pytest.mark.parametrize(
    ("sweep", "taus"), [("autapse", "${linspace:0.02,0.1,40}"), ("pair", "${linspace:0.02,0.1,4}")]
)
def test_computing_a_block_takes_less_than_the_working_copies_less_two(
    tmp_path: Path, sweep: str, taus: str
):
    """Solving and checking a block of a few MB (520 autapses, 448 pairs, every point of
    the grid) peaks below WORKING_COPIES - 2 times its float64 trajectories: the two
    copies left are for the chunk as encoded and as written."""
    cfg = config(tmp_path / "s.zarr", f"sweep.grid.tau={taus}", sweep=(f"+sweep={sweep}",))
    grid = _grid(cfg)
    spec = block_spec(cfg)
    simulate_block(spec, grid, tuple(slice(0, 1) for _ in grid.dims))  # imports, caches
    tracemalloc.start()
    try:
        ds = simulate_block(spec, grid, tuple(slice(0, n) for n in grid.shape))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    trajectories = ds["rate"].size * 8
    assert trajectories > 2e6
    assert peak < (WORKING_COPIES - 2) * trajectories


def test_the_schema_and_the_docs_state_the_memory_rule_of_working_copies():
    """The config reference (from the schema) names the constant; docs/performance.md
    quotes its value in the same rule."""
    schema = Path(pipeline.config.schema.__file__).read_text(encoding="utf-8")
    chunk_mb = re.search(r'chunk_mb: float = .*?\n    """(.*?)"""', schema, re.DOTALL)
    assert chunk_mb is not None
    rule = " ".join(chunk_mb[1].split())
    assert ":data:`pipeline.run.resources.WORKING_COPIES` x workers x this" in rule
    performance = " ".join((ROOT / "docs" / "performance.md").read_text(encoding="utf-8").split())
    assert f"plus {WORKING_COPIES} x `cluster.n_workers` x `store.chunk_mb`" in performance
    assert f"up to {WORKING_COPIES} times the bytes of its trajectories" in performance


def test_a_block_larger_than_free_memory_is_refused_naming_the_chunk_size(tmp_path: Path):
    cfg = config(
        tmp_path / "s.zarr",
        "store.chunk_points=13",
        "cluster.n_workers=2",
        sweep=("+sweep=autapse",),
    )
    need = needs(cfg, _grid(cfg))
    # Two blocks of 13 points at once need 2 x 13 x 4008 x 8 bytes; give one byte less.
    with pytest.raises(ResourceError, match=r"store.chunk_mb=32.0 \(store.chunk_points=13\)"):
        check_resources(cfg, _grid(cfg), memory=2 * need.block - 1, disk=2**40)
    assert check_resources(cfg, _grid(cfg), memory=2 * need.block, disk=2**40) == need


def test_a_recording_larger_than_the_free_disk_is_refused_naming_the_store_path(tmp_path: Path):
    cfg = config(tmp_path / "s.zarr", sweep=("+sweep=autapse",))
    need = needs(cfg, _grid(cfg))
    with pytest.raises(ResourceError, match=f"store.path={tmp_path / 's.zarr'}: the recording"):
        check_resources(cfg, _grid(cfg), memory=2**40, disk=int(need.recording * 0.39))
    check_resources(cfg, _grid(cfg), memory=2**40, disk=need.recording)


@pytest.mark.slow
def test_a_sample_interval_too_fine_for_a_block_is_refused_by_the_cli(tmp_path: Path):
    """record.dt=1e-8: exit 2 naming record.dt and a value that fits; no store, no probe."""
    path = tmp_path / "fine.zarr"
    command = [sys.executable, "-m", "pipeline", "+sweep=autapse", "record.dt=1e-8"]
    command.append(f"store.path={path}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "+sweep=autapse",
            "record.dt=1e-8",
            f"store.path={path}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "record.dt=1e-08 with record.duration=0.5 records 50,000,001 samples" in result.stderr
    assert "(record.dt >= 1.19e-07)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not path.exists()


def test_slurm_jobs_whose_memory_cannot_hold_their_blocks_are_refused(tmp_path: Path):
    """Blocks of 13 points of 501 samples: 13 x 501 x 8 bytes x 8 working copies = 416,832
    bytes each. A job of 3 cores computes 3 at once: 1,250,496 bytes, more than 1 MiB; a
    job of 2 cores, 833,664 bytes, fits. The finishing job is checked with its own keys."""
    slurm = ("cluster=slurm", "store.chunk_points=13", "cluster.memory=1MiB")
    cfg = config(tmp_path / "s.zarr", *slurm, "cluster.cores=3", sweep=("+sweep=autapse",))
    assert needs(cfg, _grid(cfg)).block == 416_832
    with pytest.raises(ResourceError) as refused:
        check_resources(cfg, _grid(cfg), memory=2**40, disk=2**40)
    assert str(refused.value) == (
        "cluster.memory=1MiB cannot hold the 3 blocks its jobs compute at once (cluster.cores=3, "
        "blocks of 13 points, about 407.06 kiB each): give cluster.memory=2MiB or more, fewer "
        "cluster.cores, or smaller blocks (store.chunk_points)"
    )
    fits = config(tmp_path / "s.zarr", *slurm, "cluster.cores=2", sweep=("+sweep=autapse",))
    check_resources(fits, _grid(fits), memory=2**40, disk=2**40)
    finishing = config(tmp_path / "s.zarr", *slurm, "cluster.cores=2", "cluster.array_tasks=3",
                       "cluster.finish.cores=3", sweep=("+sweep=autapse",))  # fmt: skip
    with pytest.raises(ResourceError, match=r"^cluster.finish.memory=1MiB cannot hold the 3 "):
        array.array_jobs(finishing, plan_run(finishing))
