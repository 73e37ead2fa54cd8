"""Hydra multirun: each job's outcome, and every failed job listed at the end.

Hydra's basic sweeper runs every job of a batch, then raises the first
failed job's exception and skips the ``on_multirun_end`` callbacks, so one
failure would hide the others.  Jobs therefore never raise: each writes its
:class:`Outcome` to ``outcome.json`` in its own output directory, and
:class:`ReportFailures` (a Hydra callback, enabled in ``conf/config.yaml``)
reads them all when the multirun ends, prints every failed job with its
overrides and messages, and exits with 1 if any failed.  The outcomes go
through files rather than memory because a launcher may run the jobs on
other machines that share the sweep directory.

Each job writes only its own store, so a failing job leaves the others'
stores as they are.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

OUTCOME_FILE = "outcome.json"


@dataclass(frozen=True)
class Outcome:
    """How one run ended: its exit code, what it prints and what it reports as errors."""

    code: int
    lines: list[str]
    errors: list[str]


def record(outcome: Outcome) -> None:
    """Write ``outcome`` of the current Hydra job to its output directory."""
    hydra = HydraConfig.get()
    entry = {
        "job": hydra.job.num,
        "overrides": list(hydra.overrides.task),
        **asdict(outcome),
    }
    Path(hydra.runtime.output_dir, OUTCOME_FILE).write_text(json.dumps(entry, indent=1))


def failures(sweep_dir: Path) -> tuple[int, list[dict[str, Any]]]:
    """How many jobs of the multirun in ``sweep_dir`` recorded an outcome, and the failed ones."""
    outcomes = [json.loads(f.read_text()) for f in sweep_dir.rglob(OUTCOME_FILE)]
    failed = sorted((o for o in outcomes if o["code"]), key=lambda o: o["job"])
    return len(outcomes), failed


class ReportFailures(Callback):
    """At the end of a multirun, list every failed job and exit with 1 if there is one."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        total, failed = failures(Path(config.hydra.sweep.dir))
        if not failed:
            print(f"multirun: all {total} jobs passed")
            return
        lines = [f"multirun: {len(failed)} of {total} jobs failed:"]
        for job in failed:
            lines.append(f"  job {job['job']} ({' '.join(job['overrides'])}): exit {job['code']}")
            lines += [f"    {line}" for error in job["errors"] for line in error.splitlines()]
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(1)
