"""``python -m pipeline.submit +sweep=NAME cluster=slurm cluster.array_tasks=N [overrides]``.

Runs one sweep as a SLURM job array with no long-lived driver
(:mod:`pipeline.run.array`): creates the store, submits the array and its
finishing job, prints their job ids and exits.  The jobs call it again:

- ``--task OVERRIDES``: in array task ``$SLURM_ARRAY_TASK_ID``, compute its share;
- ``--wait=ARRAY_ID OVERRIDES``: in the finishing job, wait until no task
  holds a share, and record in the catalog each task that recorded nothing.

Exit codes as ``python -m pipeline``'s: 0 done, 2 refused before anything was
written (a config value, a store of another config, a store being written),
3 stopped after it started writing, 143 stopped by SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from hydra.errors import HydraException
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from pipeline.config.compose import compact_lists, compose_config
from pipeline.config.schema import ConfigError
from pipeline.run import array
from pipeline.run.startup import prepare_process
from pipeline.store.lease import LeaseHeld
from pipeline.store.lifecycle import StoreError

REFUSED, STOPPED, TERMINATED = 2, 3, 128 + signal.SIGTERM
MODES = ("--task", "--wait")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(TERMINATED)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _terminate)  # preemption: release the share's lease
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    mode = argv[0].split("=")[0] if argv and argv[0].split("=")[0] in MODES else None
    overrides = compact_lists(argv[1:] if mode else argv)
    try:
        config = compose_config(overrides)
        array.array_settings(config)
        if mode == "--task":
            task = int(os.environ["SLURM_ARRAY_TASK_ID"])
            tasks = config.cluster.array_tasks  # type: ignore[attr-defined]
            array.run_share(config, task, tasks, os.environ.get("SLURM_ARRAY_JOB_ID", "?"))
        elif mode == "--wait":
            array.wait_for_shares(config, argv[0].split("=", 1)[1])
        else:
            print("\n".join(array.submit(config, overrides)))
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
