"""scripts/slurm/start.sh gives a SLURM that runs batch jobs; stop.sh stops it by PID."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from slurm_cluster import START, local_slurm, squeue


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


def test_a_second_slurm_starts_beside_the_first_on_ports_of_its_own(
    slurm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two SLURMs on one host: each takes the jobs sent with its own SLURM_CONF, and only those."""
    first = {**os.environ, "SLURM_CONF": str(slurm)}
    monkeypatch.delenv("SLURM_CONF")
    with local_slurm(tmp_path / "second") as second:
        assert second.conf is not None, second.reason
        ports = re.findall(r"^Slurm(?:ctld|d)Port=(\d+)$", second.conf.read_text(), re.M)
        assert len(ports) == 2 and not {"6817", "6818"} & set(ports)
        job = subprocess.run(
            ["sbatch", "--parsable", "--hold", "--job-name=second-only", "--wrap", "true"],
            capture_output=True, text=True, check=True, cwd=tmp_path,
        ).stdout.strip()  # fmt: skip
        try:
            assert squeue("-j", job, "-o", "%j") == ["second-only"]
            in_first = subprocess.run(
                ["squeue", "-h", "-o", "%j"], capture_output=True, text=True, check=True, env=first
            ).stdout.split()
            assert "second-only" not in in_first
        finally:
            subprocess.run(["scancel", job], check=True)


def test_ports_that_are_not_numbers_are_refused_before_anything_starts(tmp_path: Path):
    done = subprocess.run(
        ["bash", str(START), str(tmp_path / "s"), "68x7", "6818"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "port '68x7' is not a number" in done.stderr
    assert not (tmp_path / "s").exists()
