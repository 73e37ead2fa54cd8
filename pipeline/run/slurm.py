"""Dask workers as SLURM jobs: ``dask_jobqueue.SLURMCluster`` built from ``cluster=slurm``.

The driver (this process) runs the Dask scheduler and submits worker jobs
with ``sbatch``; each job runs ``cluster.processes`` workers on
``cluster.cores`` cores.  Closing the cluster cancels the jobs.  The store and
this checkout must be on a filesystem the nodes share.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.config.schema import SlurmCluster


def job_options(cluster: SlurmCluster) -> dict[str, Any]:
    """The keyword arguments of ``dask_jobqueue.SLURMCluster`` for ``cluster``."""
    return {
        "queue": cluster.partition,
        "account": cluster.account,
        "walltime": cluster.walltime,
        "cores": cluster.cores,
        "memory": cluster.memory,
        "processes": cluster.processes,
        "job_extra_directives": list(cluster.job_extra_directives),
        "python": cluster.python or sys.executable,
        "job_script_prologue": list(cluster.job_script_prologue),
        "local_directory": cluster.local_directory,
        "log_directory": str(Path(cluster.log_directory).absolute()),
        "job_name": "rate-sweeps-worker",
        # No dashboard: on a shared login node its port is often taken, and nobody looks.
        "scheduler_options": {"dashboard_address": None},
    }


@contextmanager
def slurm_client(cluster: SlurmCluster) -> Iterator[Any]:
    """A Client of a scheduler here whose workers are SLURM jobs, scaled as ``cluster`` says."""
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    with SLURMCluster(**job_options(cluster)) as jobs:
        if cluster.adaptive_maximum_jobs is not None:
            jobs.adapt(
                minimum_jobs=cluster.adaptive_minimum_jobs,
                maximum_jobs=cluster.adaptive_maximum_jobs,
            )
        else:
            jobs.scale(jobs=cluster.jobs)
        with Client(jobs) as client:
            yield client
