"""``python -m pipeline.submit [--dry-run | --driver] +sweep=NAME cluster=slurm [overrides]``.

Runs one sweep as a SLURM job array with no long-lived driver
(:mod:`pipeline.run.array`, ``cluster.array_tasks=N``): creates the store,
submits the array and its finishing job through submitit, prints their job
ids and exits.  ``--driver`` instead submits the driver of a ``cluster=slurm``
run as a job of its own (:mod:`pipeline.run.driver_job`); ``--dry-run``
writes the job scripts (the worker jobs', and the array's and its finishing
job's) to ``<cluster.log_directory>/job-scripts/`` and submits nothing.

Exit codes as ``python -m pipeline``'s (:mod:`pipeline.exits`): 0 submitted,
2 refused before anything was written (a config value, a store of another
config, a store being written, jobs SLURM would refuse), 3 stopped after it
started writing (a submission that failed), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import signal
import sys

from hydra.errors import HydraException
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from pipeline.config.compose import compact_lists, compose_config
from pipeline.config.schema import ConfigError
from pipeline.exits import REFUSED, STOPPED, terminate
from pipeline.run import array
from pipeline.run.driver_job import submit_driver
from pipeline.run.startup import prepare_process
from pipeline.store.lease import LeaseHeld
from pipeline.store.lifecycle import StoreError

FLAGS = {
    "--dry-run": "write the job scripts to <cluster.log_directory>/job-scripts/, submit nothing",
    "--driver": "run python -m pipeline (cluster=slurm) as a SLURM job of its own",
}
"""This command's own flags; every other argument is an override."""


def _submitted(flags: set[str], overrides: list[str]) -> list[str]:
    config = compose_config(overrides)
    if "--dry-run" in flags:
        return array.dry_run(config)
    if "--driver" in flags:
        return submit_driver(config, overrides)
    return array.submit(config, overrides)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, terminate)  # stopped while it creates the store: release it
    flags = {arg for arg in argv if arg.startswith("--")}
    unknown = sorted(flags - set(FLAGS))
    if unknown:
        known = "; ".join(f"{flag}: {what}" for flag, what in FLAGS.items())
        print(f"error: unknown flag {unknown[0]} (known: {known})", file=sys.stderr)
        return REFUSED
    overrides = compact_lists([arg for arg in argv if arg not in flags])
    try:
        print("\n".join(_submitted(flags, overrides)))
    except MissingMandatoryValue as err:
        print(f"error: {err.full_key} is missing: give it a value ({err.full_key}=...)",
              file=sys.stderr)  # fmt: skip
        return REFUSED
    except (ConfigError, StoreError, LeaseHeld, HydraException, OmegaConfBaseException) as err:
        print(f"error: {err}", file=sys.stderr)
        return REFUSED
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return STOPPED
    return 0


if __name__ == "__main__":
    prepare_process()  # this command's own process: the driver, or a job of its array
    sys.exit(main(sys.argv[1:]))
