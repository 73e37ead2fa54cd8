"""The driver in a job of its own (``python -m pipeline.submit --driver``).

Where a site forbids long processes on its login nodes, the driver of a
``cluster=slurm`` run (``python -m pipeline``: the Dask scheduler, the
progress, the summary) runs as a small SLURM job of ``cluster.driver``'s
resources, and submits the worker jobs from there.  Its output, with the
dashboard's address and the ssh command that reaches it, and the summary at
its end, goes to ``driver-<job id>.out`` in ``cluster.log_directory``; the
job ends with the run's exit code.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.config.schema import Config, ConfigError, SlurmCluster
from pipeline.run.array import executor, job_options
from pipeline.run.slurm import sbatch_flags, test_only

DRIVER_CORES = 1
"""Cores of the driver's job unless ``cluster.driver.cores`` says: the scheduler and the
progress need one."""


def submit_driver(config: Config, overrides: Sequence[str]) -> list[str]:
    """Submit the job that runs ``python -m pipeline OVERRIDES``; the lines to print."""
    cluster = config.cluster
    if not isinstance(cluster, SlurmCluster):
        raise ConfigError(
            "--driver runs the driver of cluster=slurm in a job of its own: give cluster=slurm "
            f"(got cluster={cluster.scheduler})"
        )
    logs = Path(cluster.log_directory).absolute()
    options = job_options(cluster, cluster.driver, DRIVER_CORES)
    test_only("#!/bin/bash\n", "the driver's job", sbatch_flags(options))
    # Not under srun: the driver submits the worker jobs itself, and its output is its log.
    output = {"output": f"{logs}/driver-%j.out"}
    name = f"rate-sweeps-{config.sweep.name}-driver"
    job = executor(cluster, logs, name, output, options, use_srun=False).submit(
        drive, list(overrides)
    )
    return [
        f"submitted the driver's job {job.job_id}: python -m pipeline {' '.join(overrides)}",
        f"its output (the dashboard's address, the progress, the summary): "
        f"{logs}/driver-{job.job_id}.out",
        f"follow with: squeue -j {job.job_id}",
    ]


def drive(overrides: Sequence[str]) -> None:
    """The driver's job: ``python -m pipeline OVERRIDES``; exits with its exit code."""
    sys.stdout.flush()
    # A process of its own, as the command a user types: SLURM's SIGTERM reaches it directly.
    code = subprocess.run([sys.executable, "-m", "pipeline", *overrides], check=False).returncode
    if code:
        sys.exit(code)
