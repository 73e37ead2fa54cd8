"""cluster=slurm on a real one-node SLURM: Dask workers as batch jobs write a local run's store."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from slurm_cluster import PARTITION, signal_job, squeue
from store_helpers import (
    SWEEP,
    clean_store,
    run_driver,
    start_driver,
    status_chunks,
    wait_until,
)

from pipeline.store import verify
from pipeline.store.kinds import open_sweep_store as S

SLURM = ("cluster=slurm", f"cluster.partition={PARTITION}", "cluster.memory=1GB")
"""Two one-core worker jobs of 1 GB: the two cores of the test machine."""


def _worker_jobs(logs: Path) -> list[str]:
    """Ids of the worker jobs whose output is in ``logs`` (``rate-sweeps-worker-<id>.err``)."""
    return sorted(p.stem.rsplit("-", 1)[1] for p in logs.glob("rate-sweeps-worker-*.err"))


@pytest.mark.slow
def test_a_sweep_on_slurm_worker_jobs_writes_the_store_of_a_local_run(slurm: Path, tmp_path: Path):
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    done = run_driver(*SWEEP, *SLURM, f"store.path={path}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    logs = tmp_path / "s.zarr.logs"
    jobs = _worker_jobs(logs)
    assert len(jobs) == 2, sorted(p.name for p in logs.iterdir())
    # The blocks ran in those jobs, and the jobs ended with the run.
    assert all("Starting Worker plugin" in (logs / f"rate-sweeps-worker-{j}.err").read_text()
               or "Start worker" in (logs / f"rate-sweeps-worker-{j}.err").read_text()
               for j in jobs)  # fmt: skip
    assert not set(jobs) & {line.strip() for line in squeue("-o", "%i")}
    # The terminal: the pipeline's lines, not Dask's.
    assert "Registering Worker plugin" in (logs / "dask.log").read_text()
    assert "distributed" not in done.stdout + done.stderr
    assert done.stderr == ""


@pytest.mark.slow
def test_a_worker_job_cancelled_mid_sweep_still_gives_the_identical_store(
    slurm: Path, tmp_path: Path
):
    """scancel of one of two worker jobs: Dask reruns its block on the other job."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    logs = tmp_path / "s.zarr.logs"
    driver = start_driver(
        *SWEEP, *SLURM, "store.lease_seconds=5", f"store.path={path}", cwd=tmp_path,
    )  # fmt: skip
    wait_until(lambda: bool(status_chunks(path)) or driver.poll() is not None, 120, "a block")
    wait_until(lambda: len(_worker_jobs(logs)) == 2 or driver.poll() is not None, 60, "2 jobs")
    jobs = _worker_jobs(logs)
    for job in jobs:  # hold both mid-sweep, however fast blocks are
        signal_job(job, signal.SIGSTOP)
    assert len(status_chunks(path)) < 6, "the sweep ended before the cancel"
    assert squeue("-j", jobs[0], "-o", "%T") == ["RUNNING"]
    subprocess.run(["scancel", jobs[0]], check=True)
    signal_job(jobs[1], signal.SIGCONT)
    code = driver.wait(180)
    log = (tmp_path / "driver.log").read_text()
    if code != 0:  # the run may stop instead: then the same command finishes it
        assert code == 3, log
        again = run_driver(*SWEEP, *SLURM, f"store.path={path}", cwd=tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
    assert verify.inspect(S(path)).exit_code == 0, log
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    assert "Remove worker" in (logs / "dask.log").read_text()


def test_a_partition_slurm_does_not_know_is_refused_before_anything_is_written(
    slurm: Path, tmp_path: Path
):
    done = run_driver(*SWEEP, "cluster=slurm", "cluster.partition=nosuch", "store.path=s.zarr",
                      cwd=tmp_path)  # fmt: skip
    assert (done.returncode, done.stderr) == (
        2,
        "error: SLURM refuses the worker jobs of cluster=slurm: invalid partition specified: "
        "nosuch; allocation failure: Invalid partition name specified; nothing was written\n",
    )
    assert list(tmp_path.iterdir()) == []


def test_the_driver_runs_as_a_job_of_its_own_and_prints_the_dashboards_ssh_tunnel(
    slurm: Path, tmp_path: Path
):
    """docs/cluster.md's driver job: python -m pipeline.submit --driver submits python -m
    pipeline as a one-core job, which submits the worker job itself; its output has the
    dashboard's address with the ssh command that reaches it, and the summary."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    done = run_driver(*SWEEP, *SLURM, "cluster.jobs=1", f"store.path={path}", cwd=tmp_path,
                      script=("-m", "pipeline.submit", "--driver"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    job = re.search(r"submitted the driver's job (\d+)", done.stdout).group(1)
    assert squeue("-j", job, "-o", "%C %j") in (["1 rate-sweeps-autapse-driver"], [])
    wait_until(lambda: not squeue("-j", job), 120, "the driver's job to end", 0.5)
    out = (tmp_path / "s.zarr.logs" / f"driver-{job}.out").read_text()
    assert "(complete, created;" in out and "verdict (autapse): PASS" in out, out
    link = re.search(r"Dask dashboard: http://([^:/]+):(\d+)/status", out)
    assert link, out
    host, port = link.groups()
    # SLURM_SUBMIT_HOST: the host the job was submitted from, this one.
    assert (
        f"ssh -N -L 8787:{host}:{port} {socket.gethostname()} and open "
        "http://localhost:8787/status" in out
    ), out
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    assert len(_worker_jobs(tmp_path / "s.zarr.logs")) == 1  # submitted from the driver's job
