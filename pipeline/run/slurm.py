"""Dask workers as SLURM jobs: ``dask_jobqueue.SLURMCluster`` built from ``cluster=slurm``.

The driver (this process) runs the Dask scheduler and submits worker jobs
with ``sbatch``; each job runs ``cluster.processes`` workers on
``cluster.cores`` cores.  Closing the cluster cancels the jobs.  The store and
this checkout must be on a filesystem the nodes share.

A job ends at its walltime, and a sweep may outlive many jobs: each worker
retires before its job's walltime (Dask's ``--lifetime``, staggered so that
the workers of one start do not all leave together: :func:`lifetime`), handing
on what it holds, and dask-jobqueue's adaptive scaling submits a job in its
place, with a fixed ``cluster.jobs`` too (``adapt(minimum_jobs=jobs,
maximum_jobs=jobs)``: a plain ``scale`` does not replace a job that ended).
This is dask-jobqueue's own answer ("How to handle job queueing system
walltime killing workers", its docs' advanced tips).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask

from pipeline.config.schema import ConfigError, SlurmCluster, duration_seconds, walltime_seconds

LOST_WORKER_TIMEOUT = "5s"
"""How long after its worker left a job is cancelled and another submitted."""

MARGIN = (20.0, 300.0, 0.1)
"""A worker retires this long before its job's walltime by default: a tenth of the
walltime, at least 20 s (a worker's start and its retiring) and at most 5 minutes."""


def lifetime(cluster: SlurmCluster) -> tuple[float, float]:
    """Seconds a worker of ``cluster`` lives, and the stagger of that (Dask's ``--lifetime``
    and ``--lifetime-stagger``): each worker retires within ``lifetime +- stagger``.

    ``cluster.worker_lifetime``, else ``walltime - margin`` with the margin of
    :data:`MARGIN`.  The stagger is a quarter of what is left to the walltime,
    at most a tenth of the lifetime: the last worker still retires well before
    its job is killed.
    """
    walltime = walltime_seconds(cluster.walltime)
    least, most, share = MARGIN
    if cluster.worker_lifetime is not None:
        life = duration_seconds(cluster.worker_lifetime) or 0.0
    else:
        life = max(walltime - min(max(walltime * share, least), most), walltime / 2)
    return life, min((walltime - life) / 4, life / 10)


def job_options(cluster: SlurmCluster) -> dict[str, Any]:
    """The keyword arguments of ``dask_jobqueue.SLURMCluster`` for ``cluster``."""
    life, stagger = lifetime(cluster)
    return {
        "queue": cluster.partition,
        "account": cluster.account,
        "walltime": cluster.walltime,
        "cores": cluster.cores,
        "memory": cluster.memory,
        "processes": cluster.processes,
        "job_extra_directives": [*site_directives(cluster), *cluster.job_extra_directives],
        "python": cluster.python or sys.executable,
        "job_script_prologue": list(cluster.job_script_prologue),
        "local_directory": cluster.local_directory,
        "log_directory": str(Path(cluster.log_directory).absolute()),
        "job_name": cluster.job_name,
        # No nanny: the job's process is the worker, so a worker that retires ends its job
        # at once (a nanny lingers for seconds and is cancelled mid-exit, which leaves a
        # CANCELLED line and a leaked-semaphore warning in the log); a worker that dies
        # ends its job, and another job takes its place.
        "nanny": False,
        # No restart (--lifetime-restart): the job ends with its worker, and another takes
        # its place; a worker restarted in the job would meet the walltime all the same.
        "worker_extra_args": [f"--lifetime={life:.0f}s", f"--lifetime-stagger={stagger:.0f}s"],
    }


SITE_OPTIONS = ("qos", "mail_user", "mail_type")
"""Keys of ``cluster=slurm`` that are sbatch options of the same name (``--mail-user``) and
that dask-jobqueue takes only as extra directives (submitit by name)."""


def site_options(cluster: SlurmCluster) -> dict[str, str]:
    """The sbatch options of :data:`SITE_OPTIONS` that ``cluster`` sets, by submitit's names."""
    values = {key: getattr(cluster, key) for key in SITE_OPTIONS}
    return {key: value for key, value in values.items() if value is not None}


def site_directives(cluster: SlurmCluster) -> list[str]:
    """:func:`site_options` as ``#SBATCH`` directives (``--qos=high``)."""
    return sbatch_flags(site_options(cluster))


def check_submission(cluster: SlurmCluster) -> None:
    """Refuse, writing nothing, worker jobs that SLURM would not take (a partition or an
    account it does not know, a walltime above the partition's limit, a bad directive).

    ``sbatch --test-only`` checks the worker job's script without submitting it.
    """
    # No log directory: the job would create it, and --test-only reads no path.
    test_only(worker_script(cluster, logs=False), "the worker jobs of cluster=slurm")


SCHEDULER = "tcp://SCHEDULER:8786"
"""The scheduler's address in a worker's script written before the scheduler runs."""


def worker_script(cluster: SlurmCluster, logs: bool = True) -> str:
    """The job script of each worker job of ``cluster`` (dask-jobqueue's ``job_script()``),
    with :data:`SCHEDULER` where the run's scheduler address goes; without ``logs``, no
    ``--output`` to a folder."""
    from dask_jobqueue.slurm import SLURMJob

    options = job_options(cluster)
    if not logs:
        options["log_directory"] = None
    return SLURMJob(scheduler=SCHEDULER, name="dry-run", **options).job_script()


def sbatch_flags(options: Mapping[str, Any]) -> list[str]:
    """``options`` by name (``cpus_per_task``, ``requeue``) as sbatch's command-line flags."""
    return [
        f"--{name.replace('_', '-')}" + ("" if value is True else f"={value}")
        for name, value in options.items()
    ]


def test_only(script: str, what: str, options: Sequence[str] = ()) -> None:
    """Raise :class:`ConfigError` with sbatch's reason if it would refuse ``script`` with
    the command-line ``options``."""
    try:
        done = subprocess.run(
            ["sbatch", "--test-only", *options],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError as err:
        raise ConfigError(f"{what} need SLURM's sbatch, which is not on PATH here") from err
    if done.returncode != 0:
        lines = (line.strip().removeprefix("sbatch: error: ") for line in done.stderr.splitlines())
        reason = "; ".join(line for line in lines if line)
        raise ConfigError(f"SLURM refuses {what}: {reason}; nothing was written")


@contextmanager
def slurm_client(cluster: SlurmCluster, http: str) -> Iterator[Any]:
    """A Client of a scheduler here, serving HTTP at ``http``, whose workers are SLURM jobs
    scaled as ``cluster`` says.

    On leaving, the workers retire and their jobs end by themselves (a job
    cancelled mid-exit logs ``slurmstepd: error: *** JOB ... CANCELLED``); then
    it waits until no job of the run runs any more, those cancelled before
    included, so that no process of theirs writes while the run finalizes.
    """
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    options = {**job_options(cluster), "scheduler_options": {"dashboard_address": http}}
    started = time.time()
    # A job whose worker left is closed (and replaced) this long after: Dask's 15 s default
    # would leave a retired worker's place empty that long.
    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": LOST_WORKER_TIMEOUT}),
        SLURMCluster(**options) as jobs,
    ):
        low, high = cluster.adaptive_minimum_jobs, cluster.adaptive_maximum_jobs
        if high is None:  # a fixed number: jobs that end are replaced all the same
            low = high = cluster.jobs
        adaptive = jobs.adapt(minimum_jobs=low, maximum_jobs=high)
        with Client(jobs) as client:
            yield client
            adaptive.stop(reason="the run is done")
            client.retire_workers(list(client.nthreads()), close_workers=True)
            wait_for_jobs(run_jobs(cluster, started), "PD,R,CG")
    wait_for_jobs(run_jobs(cluster, started), "R,CG")


def run_jobs(cluster: SlurmCluster, since: float) -> list[str]:
    """Ids of the worker jobs of ``cluster`` that started since ``since`` (``time.time``):
    those whose output file (``<job_name>-<id>.err``) is that recent."""
    logs = Path(cluster.log_directory).absolute()
    found = [
        path.stem.rpartition("-")[2]
        for path in logs.glob(f"{cluster.job_name}-*.err")
        if path.stat().st_mtime >= since
    ]
    return [job for job in found if job.isdigit()]


def wait_for_jobs(job_ids: Sequence[str], states: str, timeout: float = 30.0) -> None:
    """Wait (up to ``timeout`` seconds) until none of ``job_ids`` is in one of ``states``
    (``squeue -t``)."""
    deadline, waited = time.monotonic() + timeout, set(job_ids)
    while waited and time.monotonic() < deadline:
        done = subprocess.run(
            ["squeue", "-h", "-o", "%i", "-t", states], capture_output=True, text=True
        )
        if done.returncode != 0 or not waited & set(done.stdout.split()):
            return
        time.sleep(0.2)
