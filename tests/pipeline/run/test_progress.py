"""The progress line counts blocks and points exactly, edge blocks included."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from store_helpers import config

from pipeline.run.execute import run_sweep
from pipeline.run.progress import Progress


def test_progress_counts_every_point_once(tmp_path: Path, caplog):
    """39 autapse points in blocks of 2 x 3 (the last 1 x 3): 7 blocks, 39 points."""
    with caplog.at_level(logging.INFO, logger="pipeline.run.progress"):
        run_sweep(config(tmp_path / "s.zarr", "store.chunk_points=6", sweep=("+sweep=autapse",)))
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.run.progress"]
    assert lines[-1].startswith("7/7 blocks (39 of 39 points) done in ")


def test_a_plain_line_at_most_every_few_seconds(caplog):
    """Off a terminal: no line before ``every`` seconds pass, and one at the end."""
    progress = Progress(7, 39, every=3600.0, bar=None)
    with caplog.at_level(logging.INFO, logger="pipeline.run.progress"):
        for _ in range(7):
            progress.block_done({"counts": {"ok": 6}})
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.run.progress"]
    assert len(lines) == 1 and lines[0].startswith("7/7 blocks (42 of 39 points) done in ")


def test_one_block_is_not_plural(caplog):
    with caplog.at_level(logging.INFO, logger="pipeline.run.progress"):
        Progress(1, 39, bar=None).block_done({"counts": {"ok": 39}})
    assert caplog.records[-1].getMessage().startswith("1/1 block (39 of 39 points) done in ")


def test_on_a_terminal_a_bar_counts_points_and_blocks():
    """The bar's last state: every point, every block, a rate in points per second."""
    stream = io.StringIO()
    progress = Progress(3, 30, bar=stream)
    for _ in range(3):
        progress.block_done({"counts": {"ok": 8, "diverged": 2}})
    last = stream.getvalue().split("\r")[-1]
    assert "30/30" in last and "3/3 blocks" in last and "points/s" in last


def test_the_time_left_is_counted_from_the_first_block_not_from_the_start(monkeypatch, caplog):
    """Workers that wait 100 s in SLURM's queue, then a block a second: 7 of 10 blocks are
    left after the third, so 7 s, not the 238 s that 102 s for 3 blocks would give."""
    clock = iter([0.0, 100.0, 101.0, 102.0])
    monkeypatch.setattr("pipeline.run.progress.time.monotonic", lambda: next(clock))
    progress = Progress(10, 10, every=0.0, bar=None)
    with caplog.at_level(logging.INFO, logger="pipeline.run.progress"):
        for _ in range(3):
            progress.block_done({"counts": {"ok": 1}})
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.run.progress"]
    assert lines[0].endswith("done in 100.0 s, time left not known yet")
    assert lines[1].endswith("done in 101.0 s, about 8 s left")
    assert lines[2].endswith("done in 102.0 s, about 7 s left")
