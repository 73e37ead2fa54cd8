"""The sbatch script that submitit would submit, written without submitting it.

``python -m pipeline.submit --dry-run`` writes the job scripts of a sweep's
array and of its finishing job for a user to read (or to show their site's
support) before anything is submitted.  submitit makes a job's script only
as it submits it, in ``SlurmExecutor._make_submission_file_text`` (an array's
with the private parameter ``map_count``); :func:`sbatch_script` calls that
with the executor's own parameters, so the text is byte for byte what
``map_array`` and ``submit`` would give ``sbatch``.

Fallback, chosen at import (:data:`FAST`): where the switch of
:mod:`pipeline.adapters` is ``off``, or submitit has no such method, the
script is rendered here from the same sbatch options (``#SBATCH --name=value``
lines, the array's ``--array=0-N%M``, the setup lines): the same resources,
without submitit's own lines (``--signal``, ``--output``, the command).

Upstream: none to wait for; submitit has no public call that returns a
script without submitting it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

import submitit

from pipeline.adapters import fast_paths_allowed

FAST = fast_paths_allowed() and callable(
    getattr(submitit.SlurmExecutor, "_make_submission_file_text", None)
)
"""Whether :func:`sbatch_script` asks submitit for its own text."""

NONSLURM = ("setup", "teardown", "signal_delay_s", "stderr_to_stdout", "srun_args", "use_srun",
            "additional_parameters", "array_parallelism", "map_count")  # fmt: skip
"""submitit's parameters that are not sbatch options."""


def sbatch_script(executor: submitit.SlurmExecutor, tasks: int | None = None) -> str:
    """The script ``executor`` would submit: an array of ``tasks`` tasks, or one job."""
    parameters: dict[str, Any] = dict(executor.parameters)
    if tasks is not None:
        parameters["map_count"] = tasks
    if FAST:
        saved = executor.parameters
        executor.parameters = parameters
        try:
            command = " ".join([executor.python, "-u -m submitit.core._submit",
                                shlex.quote(str(executor.folder))])  # fmt: skip
            return executor._make_submission_file_text(command, "dry-run")
        finally:
            executor.parameters = saved
    return _rendered(parameters)


def _rendered(parameters: Mapping[str, Any]) -> str:
    """The sbatch options of submitit's ``parameters`` as ``#SBATCH`` lines, then the setup."""
    options = {k: v for k, v in parameters.items() if k not in NONSLURM and v is not None}
    options.update(parameters.get("additional_parameters") or {})
    if parameters.get("map_count"):
        count = parameters["map_count"]
        throttle = min(count, parameters.get("array_parallelism") or count)
        options["array"] = f"0-{count - 1}%{throttle}"
    lines = ["#!/bin/bash", ""]
    for name in sorted(options):
        value = options[name]
        flag = f"--{name.replace('_', '-')}"
        lines.append(f"#SBATCH {flag}" if value is True else f"#SBATCH {flag}={value}")
    lines += ["", *(parameters.get("setup") or []), ""]
    return "\n".join(lines)
