"""The README's benchmark command runs and reports every figure (timing is not tested)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_command_prints_every_figure_beside_its_target(tmp_path, _slurm_session):
    # With the tests' SLURM, if it runs ($SLURM_CONF): figure 8 submits to it.
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--workdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    rows = [line for line in done.stdout.splitlines() if line.rstrip().endswith(("met", "NOT MET"))]
    labels = [row.split()[0] for row in rows]
    assert labels == [
        "1",
        "largest",
        "2",
        "3",
        "4",
        "5",
        "6",
        "peak",
        "points/s",
        "7",
        "8",
        "9",
        "10",
        "report's",
        "11",
        "12",
    ], done.stdout
    if _slurm_session.conf is not None:  # measured, not "no SLURM"
        assert "with 1 job" in done.stdout and "first block on disk" in done.stdout
    assert "the 10x run without its compute" in done.stdout  # the bound on figure 3
    assert list(tmp_path.iterdir()) == []  # every store removed
