"""cluster=slurm on a real one-node SLURM: Dask workers as batch jobs write a local run's store."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from slurm_cluster import PARTITION, signal_job, squeue
from store_helpers import (
    SWEEP,
    clean_store,
    config,
    run_driver,
    start_driver,
    status_chunks,
    wait_until,
)

from pipeline.run.execute import run_sweep
from pipeline.store import verify
from pipeline.store.kinds import open_sweep_store as S

SLURM = ("cluster=slurm", f"cluster.partition={PARTITION}", "cluster.memory=1GB")
"""Two one-core worker jobs of 1 GB: the two cores of the test machine."""


def _worker_jobs(logs: Path, name: str = "rate-sweeps-autapse") -> list[str]:
    """Ids of the worker jobs whose output is in ``logs`` (``<job name>-<id>.err``; the job
    name is the sweep's)."""
    return sorted((p.stem.rsplit("-", 1)[1] for p in logs.glob(f"{name}-*.err")), key=int)


def _solves(path: Path) -> dict:
    """The run's count of its solves (:mod:`pipeline.store.solves`), from the store's history."""
    return json.loads((path / "zarr.json").read_text())["attributes"]["history"][-1]["solves"]


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
    errors = [(logs / f"rate-sweeps-autapse-{j}.err").read_text() for j in jobs]
    assert all("Starting Worker plugin" in e or "Start worker" in e for e in errors)
    # The jobs ended with their workers: not cancelled, no process killed mid-way.
    assert not [e for e in errors if "CANCELLED" in e or "leaked semaphore" in e], errors
    assert not set(jobs) & {line.strip() for line in squeue("-o", "%i")}
    # The terminal: the pipeline's lines, not Dask's.
    assert "Registering Worker plugin" in (logs / "dask.log").read_text()
    assert "distributed" not in done.stdout + done.stderr
    assert done.stderr == ""


@pytest.mark.slow
def test_a_worker_job_cancelled_mid_sweep_still_gives_the_identical_store(
    slurm: Path, tmp_path: Path
):
    """scancel of one of two worker jobs: only the block it was running is solved again."""
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
    if code == 0:  # one worker of one thread lost: at most its one running block again
        assert _solves(path)["solves"] <= 6 + 1, _solves(path)


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


@pytest.mark.slow
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


MANY = (
    "+sweep=saturating_memory",
    "sweep.grid.tau=[0.01,0.011,0.012,0.013,0.014,0.015,0.016,0.017,0.018,0.019]",
    "store.chunk_points=1",
    "report=false",
    "solver=rk4",
    "solver.max_step=1e-4",
)
"""100 blocks of one point, a few tenths of a second of rk4 each: about a minute on 2 cores."""
LIFETIME = "cluster.worker_lifetime=8s"
"""Workers that retire after 8 +- 1 s, as they would before a walltime: a run outlives
every job several times over."""
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", re.M)


def _job_seconds(log: str) -> float:
    """How long a worker job lived: from the first time stamp of its log to the last before
    SLURM ended it, if it did (a worker still closing 5 s after it left is cancelled)."""
    log = log.partition("CANCELLED AT")[0]
    stamps = [datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in STAMP.findall(log)]
    return (max(stamps) - min(stamps)).total_seconds() if stamps else 0.0


@pytest.mark.slow
@pytest.mark.parametrize(
    "scaling",
    [("cluster.jobs=2",), ("cluster.adaptive_minimum_jobs=1", "cluster.adaptive_maximum_jobs=2")],
    ids=["fixed jobs", "adaptive"],
)
def test_a_sweep_outlives_its_worker_jobs_and_solves_no_written_block_again(
    slurm: Path, tmp_path: Path, scaling: tuple[str, ...]
):
    """Worker jobs that each live well under a third of the run, replaced as they end:
    the run completes by itself to the local run's store, and solves a block again only
    where it was running when its worker retired (one thread per worker)."""
    clean = tmp_path / "clean" / "s.zarr"
    run_sweep(config(clean, sweep=MANY))
    path = tmp_path / "s.zarr"
    done = run_driver(*MANY, *SLURM, *scaling, LIFETIME, f"store.path={path}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    logs = tmp_path / "s.zarr.logs"
    jobs = _worker_jobs(logs, "rate-sweeps-saturating_memory")
    run_seconds = float(re.findall(r"done in ([\d.]+) s", done.stdout)[-1])
    errors = [(logs / f"rate-sweeps-saturating_memory-{j}.err").read_text() for j in jobs]
    lived = [_job_seconds(log) for log in errors]
    assert max(lived) < run_seconds / 3, (lived, run_seconds)
    retired = len(jobs) - 1  # jobs that ended before the run did (at least one lasts)
    solves = _solves(path)
    assert solves["blocks"] == 100
    assert 100 <= solves["solves"] <= 100 + retired, (solves, jobs)
    assert done.stderr == ""  # no Dask or bokeh warning reaches the terminal
    assert not [e for e in errors if "leaked semaphore" in e]


@pytest.mark.slow
def test_a_run_no_worker_can_be_had_for_stops_with_exit_3_and_the_same_command_resumes(
    slurm: Path, tmp_path: Path
):
    """Worker jobs held in the queue (--hold): after cluster.worker_wait the run stops,
    says why, cancels its jobs; once jobs can run, the same command finishes the store."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    held = run_driver(
        *SWEEP, *SLURM, "cluster.worker_wait=4", "cluster.job_extra_directives=['--hold']",
        f"store.path={path}", cwd=tmp_path,
    )  # fmt: skip
    out = held.stdout + held.stderr
    assert held.returncode == 3, out
    assert "no Dask worker connected for 4 s (cluster.worker_wait=4)" in out
    assert "run the same command again to resume" in out
    assert squeue("-t", "PD,R", "-o", "%i") == []  # its jobs went with it
    again = run_driver(*SWEEP, *SLURM, f"store.path={path}", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
