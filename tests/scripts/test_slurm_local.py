"""scripts/slurm/start.sh gives a SLURM that runs batch jobs; stop.sh stops it by PID."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from slurm_cluster import squeue


def test_a_batch_job_runs_and_its_output_is_read_back(slurm: Path, tmp_path: Path):
    out = tmp_path / "job.out"
    job = subprocess.run(
        ["sbatch", "--parsable", f"--output={out}", "--wrap", "echo $((6 * 7)) $SLURM_JOB_ID"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    deadline = time.monotonic() + 60
    while squeue("-j", job) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert out.read_text().split() == ["42", job]
