"""The progress line counts blocks and points exactly, edge blocks included."""

from __future__ import annotations

import logging
from pathlib import Path

from store_helpers import config

from pipeline.run.execute import run_sweep


def test_progress_counts_every_point_once(tmp_path: Path, caplog):
    """39 autapse points in blocks of 2 x 3 (the last 1 x 3): 7 blocks, 39 points."""
    with caplog.at_level(logging.INFO, logger="pipeline.run.progress"):
        run_sweep(config(tmp_path / "s.zarr", "store.chunk_points=6", sweep=("+sweep=autapse",)))
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.run.progress"]
    assert lines[-1].startswith("7/7 blocks (39 of 39 points) done in ")
