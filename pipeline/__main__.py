"""Entry point: ``python -m pipeline +sweep=NAME [overrides]``.

Hydra composes the config from ``conf/``; it is converted and validated once
here, the sweep runs, and a summary of the store is printed.  Exit codes:

- 0: the store is complete and every measurable quantity agrees with theory;
- 1: the sweep ran, but a check disagrees or points failed;
- 2: refused before anything was written: a config value, an unknown key
  or sweep, a store path that holds something else, a store that another
  driver is writing;
- 3: the run stopped after it started writing (a full disk, a lost lease,
  workers that keep dying); the store keeps every block written so far and
  the same command resumes it;
- 4: the sweep ran and nothing disagrees, but a quantity that applies was
  measured at no point (INCONCLUSIVE: no evidence, so no pass);
- 143 and 130: stopped by SIGTERM (as a batch system does on preemption)
  or Ctrl-C; the run is recorded as interrupted and its lease released, so
  the same command resumes at once.

With ``-m`` (Hydra multirun) every job runs even when others fail; at the
end each failed job is listed and the exit code is 1 (see
:mod:`pipeline.run.multirun`).
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import traceback

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from pipeline.config.compose import (
    PRIMARY,
    compact_lists,
    load_config,
    register_resolvers,
    skip_mode_composition,
    store_schemas,
    unknown_key_message,
)
from pipeline.config.schema import ConfigError
from pipeline.exits import INTERRUPTED, REFUSED, STOPPED, VERDICT_CODES, terminate
from pipeline.records import tracking
from pipeline.run import multirun
from pipeline.run.execute import RunStopped, run_sweep
from pipeline.run.report import record_report, report_folder, write_store_report
from pipeline.run.startup import prepare_process
from pipeline.store.lease import LeaseHeld
from pipeline.store.lifecycle import StoreError
from pipeline.store.status import run_status

log = logging.getLogger("pipeline")

register_resolvers()
store_schemas()


def execute(cfg: DictConfig) -> multirun.Outcome:
    """Validate ``cfg``, run its sweep and summarise the store; never exits."""
    try:
        app = HydraConfig.get() if HydraConfig.initialized() else None
        config = load_config(cfg)
        result = run_sweep(config, list(app.overrides.task) if app else [])
    except MissingMandatoryValue as err:
        return multirun.Outcome(
            REFUSED, [], [f"error: {err.full_key} is missing: give it a value ({err.full_key}=...)"]
        )
    except (ConfigError, StoreError, LeaseHeld) as err:
        return multirun.Outcome(REFUSED, [], [f"error: {err}"])
    except RunStopped as err:
        return multirun.Outcome(STOPPED, [], [f"error: {err}"])
    summary = result.summary
    lines = [
        f"store: {result.where} ({run_status(result.counts)}, {result.opened}; "
        f"run {result.run_id} in {result.catalog})",
        *summary.lines,
    ]
    errors = [f"failed: {failure}" for failure in result.failures]
    if config.report:
        folder = report_folder(result, config.report_dir)
        page = write_store_report(result, summary, folder).resolve()
        lines.insert(1, f"report: {page}")  # beside the store's line: the verdict stays last
        errors += record_report(result, page.parent)
    sweep_dir = app.sweep.dir if app and app.mode == RunMode.MULTIRUN else None
    untracked = tracking.track(config, result, sweep_dir)
    if untracked:
        errors.append(f"warning: {untracked}")
    return multirun.Outcome(VERDICT_CODES[summary.verdict], lines, errors)


@hydra.main(version_base="1.3", config_path="../conf", config_name=PRIMARY)
def main(cfg: DictConfig) -> None:
    # A process of ours (this command, or a launcher's job of it): before any block runs.
    prepare_process()
    in_multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        outcome = execute(cfg)
    except Exception:
        if not in_multirun:
            raise
        # One job's bug must not keep the other jobs from running or being listed.
        outcome = multirun.Outcome(1, [], [traceback.format_exc()])
    for line in outcome.lines:
        print(line)
    for line in outcome.errors:
        print(line, file=sys.stderr)
    if in_multirun:
        multirun.record(outcome)
    elif outcome.code:
        sys.exit(outcome.code)


def cli() -> None:
    """Run :func:`main`; a config that Hydra itself refuses exits with :data:`REFUSED` too."""
    signal.signal(signal.SIGTERM, terminate)
    sys.argv[1:] = compact_lists(sys.argv[1:])
    skip_mode_composition(sys.argv[1:])
    # The objects so far are the imported modules', alive until exit: frozen, the
    # collector never walks them again, here or at exit.
    gc.freeze()
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: the run is recorded as interrupted, its lease released
        print("interrupted: run the same command again to resume", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except SystemExit as done:
        # Hydra reports a config it cannot compose (unknown key or sweep, wrong type)
        # by exiting with 1 while handling the error; the pipeline says 2 for refusals.
        refused = done.__context__
        if done.code == 1 and isinstance(refused, HydraException | OmegaConfBaseException):
            # Hydra's hint for an unknown key (use +key=value) leads to the same refusal.
            message = unknown_key_message(refused.__cause__)
            if message:
                print(f"error: {message}", file=sys.stderr)
            sys.exit(REFUSED)
        raise


if __name__ == "__main__":
    cli()
