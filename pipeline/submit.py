"""``python -m pipeline.submit +sweep=NAME cluster=slurm cluster.array_tasks=N [overrides]``.

Runs one sweep as a SLURM job array with no long-lived driver
(:mod:`pipeline.run.array`): creates the store, submits the array and its
finishing job through submitit, prints their job ids and exits.

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
from pipeline.run.startup import prepare_process
from pipeline.store.lease import LeaseHeld
from pipeline.store.lifecycle import StoreError


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, terminate)  # stopped while it creates the store: release it
    overrides = compact_lists(argv)
    try:
        print("\n".join(array.submit(compose_config(overrides), overrides)))
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
