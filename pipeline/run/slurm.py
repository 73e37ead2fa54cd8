"""Dask workers as SLURM jobs: ``dask_jobqueue.SLURMCluster`` built from ``cluster=slurm``.

The driver (this process) runs the Dask scheduler and submits worker jobs
with ``sbatch``; each job runs ``cluster.processes`` workers on
``cluster.cores`` cores.  Closing the cluster cancels the jobs.  The store and
this checkout must be on a filesystem the nodes share.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.config.schema import ConfigError, SlurmCluster


def job_options(cluster: SlurmCluster) -> dict[str, Any]:
    """The keyword arguments of ``dask_jobqueue.SLURMCluster`` for ``cluster``."""
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
        "job_name": "rate-sweeps-worker",
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
    scaled as ``cluster`` says."""
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    options = {**job_options(cluster), "scheduler_options": {"dashboard_address": http}}
    with SLURMCluster(**options) as jobs:
        if cluster.adaptive_maximum_jobs is not None:
            jobs.adapt(
                minimum_jobs=cluster.adaptive_minimum_jobs,
                maximum_jobs=cluster.adaptive_maximum_jobs,
            )
        else:
            jobs.scale(jobs=cluster.jobs)
        with Client(jobs) as client:
            yield client
