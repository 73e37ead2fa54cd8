"""One sweep as a SLURM job array, with no long-lived driver (``python -m pipeline.submit``).

:func:`submit` creates the store (or checks that it can be resumed) under its
lease, then submits an array of ``cluster.array_tasks`` tasks and a finishing
job that depends on the whole array (``afterany``).  Task ``k`` computes its
share of the blocks, those at positions ``k, k + n, k + 2n, ...`` of the
layout, that the store's point status does not already hold (ok or
diverged): a task that is preempted and requeued (``--requeue``), or run
again, resumes its own share.  Shares are disjoint, so no two tasks write the
same chunk; each holds the lease of its share only
(:mod:`pipeline.run.shares`), and a whole driver is refused while any does.
The finishing job waits until no share is held, then runs ``python -m
pipeline`` on the store: it computes whatever a lost task left pending,
writes the summary and the final metadata, and records the run.  Every task
records its own outcome in the catalog, with the array's job id.

submitit writes and submits the jobs: the array is one ``map_array`` of
:class:`ShareTask`, which submitit requeues near its time limit, and the
finishing job one call of :func:`finish`.
"""

from __future__ import annotations

import logging
import math
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import submitit

from pipeline.config.schema import (
    ClusterConfig,
    Config,
    ConfigError,
    SlurmCluster,
    walltime_seconds,
)
from pipeline.exits import terminate
from pipeline.records import catalog, provenance
from pipeline.run import shares
from pipeline.run.backends import run_tasks
from pipeline.run.execute import block_tasks, catalog_of, run_fields, store_of
from pipeline.run.plan import Plan, plan_run
from pipeline.run.progress import Progress
from pipeline.run.slurm import sbatch_flags, test_only
from pipeline.store.lifecycle import StoreError, pending_blocks
from pipeline.store.status import run_status, status_counts
from pipeline.store.sweep_store import SweepStore

log = logging.getLogger(__name__)


def array_settings(config: Config) -> SlurmCluster:
    """The SLURM settings of ``config``'s array; :class:`ConfigError` if it has none."""
    cluster = config.cluster
    if not isinstance(cluster, SlurmCluster) or cluster.array_tasks is None:
        raise ConfigError(
            "python -m pipeline.submit runs a sweep as a SLURM array: give cluster=slurm and "
            f"cluster.array_tasks=N (got cluster={cluster.scheduler}"
            + (", no cluster.array_tasks)" if isinstance(cluster, SlurmCluster) else ")")
        )
    return cluster


def share_of(plan: Plan, task: int, tasks: int) -> list:
    """The blocks of share ``task`` of ``tasks``: every ``tasks``-th block from the ``task``-th."""
    return plan.layout.blocks()[task::tasks]


def pending_in_share(store: SweepStore, plan: Plan, task: int, tasks: int) -> list:
    """The blocks of share ``task`` whose points are not all ok or diverged in the store."""
    pending = {b.index for b in pending_blocks(store.read_status(), plan.layout)}
    return [block for block in share_of(plan, task, tasks) if block.index in pending]


def prepare_store(config: Config, plan: Plan) -> str:
    """Create, replace or check for resuming the store of ``config`` under its lease."""
    store = store_of(config)
    store.check(plan.attrs, config.store.overwrite)
    with store.lease(config.store.lease_seconds):
        shares.refuse_if_shared(store)
        opened = store.prepare(plan.template, config.store.overwrite)
        if opened == "resumed":
            store.mark_incomplete()
    return opened


def _wait_until_free(key: SweepStore, seconds: float) -> None:
    """Wait (at most ``seconds``) until nobody holds the lease of ``key``."""
    deadline = time.monotonic() + seconds
    while key.lease_holder() is not None and time.monotonic() < deadline:
        time.sleep(0.5)


def run_share(config: Config, task: int, tasks: int, array_job: str) -> int:
    """Compute the pending blocks of share ``task`` of ``tasks``; return how many it computed.

    Records the task in the catalog when it ends, however it ends.  Refuses
    (:class:`~pipeline.store.lifecycle.StoreError`) a store that is not there to resume:
    ``python -m pipeline.submit`` creates it before the array starts.
    """
    plan = plan_run(config)
    store = store_of(config)
    if store.check(plan.attrs, overwrite=False) != "resume":
        raise StoreError(
            f"store.store={config.store.store} holds no store of this sweep to fill: "
            "python -m pipeline.submit creates it before it submits the array"
        )
    key = shares.share_key(store, task)
    # A requeued task may find the lease of its own earlier run, killed mid-share.
    _wait_until_free(key, 2 * config.store.lease_seconds)
    started = provenance.now()
    cores = config.cluster.cores  # type: ignore[attr-defined]
    label = _label(array_job, task, tasks)
    outcome: dict = {"status": "interrupted", "blocks_computed": 0}
    with shares.held_share(store, task, config.store.lease_seconds) as held:
        try:
            todo = pending_in_share(store, plan, task, tasks)
            log.info("%s: %d of its %d blocks to compute", label, len(todo),
                     len(share_of(plan, task, tasks)))  # fmt: skip
            writer = store.block_writer(plan.grid.dims, held.token, leased=key)
            results = run_tasks(
                block_tasks(plan, writer, todo),
                ClusterConfig(scheduler="threads", n_workers=cores),
                Progress(len(todo), sum(math.prod(block.shape) for block in todo)),
            )
            held.record.check(held.token)
            failed = sum(1 for r in results if r["failure"])
            outcome = {
                "blocks_computed": len(todo),
                "message": f"{label}: its share done, {len(todo)} blocks computed"
                + (f", {failed} failed" if failed else ""),
            }
            return len(todo)
        except BaseException as err:
            outcome["message"] = f"{label}: stopped ({type(err).__name__}: {err})"
            if isinstance(err, Exception):
                outcome["status"] = "error"
            raise
        finally:
            _record(config, plan, store, started, outcome)


def _record(config: Config, plan: Plan, store: SweepStore, started: str, outcome: dict) -> None:
    """One catalog row for an array task, written when it ends (tasks run side by side)."""
    try:
        counts = status_counts(store.read_status())
    except Exception:  # a damaged store: the finishing run repairs it and says more
        counts = {}
    fields = {
        "status": run_status(counts),
        **outcome,
        "finished": provenance.now(),
        "opened": "array task",
        **{catalog.COUNT_COLUMNS[name]: n for name, n in counts.items()},
    }
    file = catalog_of(config, store)
    try:
        run_id = catalog.start_run(file, run_fields(config, plan, store, started))
        catalog.update_run(file, run_id, fields)
    except Exception as err:  # the store says what was done; do not hide why the task ended
        log.error("could not record the array task in %s: %s", file, err)


def _label(array_job: str, task: int, tasks: int) -> str:
    return f"SLURM array {array_job} task {task} of {tasks}"


def wait_for_shares(config: Config, array_job: str) -> None:
    """Return once no task of array ``array_job`` holds a share of ``config``'s store.

    A task killed without its SIGTERM (SIGKILL, a lost node) holds its share
    until the lease lapses, ``store.lease_seconds`` after its last renewal.
    Then every task that recorded no outcome (cancelled before it started, or
    killed) gets one in the catalog, so that the catalog lists every task.
    """
    store = store_of(config)
    while live := shares.live_shares(store):
        log.info("waiting for array tasks %s to end", sorted(live))
        time.sleep(1)
    tasks = array_settings(config).array_tasks or 0
    file = catalog_of(config, store)
    recorded = catalog.runs(file)["message"].dropna().tolist() if file.exists() else []
    plan = plan_run(config)
    for task in range(tasks):
        label = _label(array_job, task, tasks)
        if not any(message.startswith(f"{label}:") for message in recorded):
            started = provenance.now()
            message = f"{label}: ended without recording an outcome (cancelled or killed)"
            _record(config, plan, store, started, {"status": "interrupted", "message": message})


def _memory_mb(memory: str) -> int:
    from dask.utils import parse_bytes

    return max(1, parse_bytes(memory) // 2**20)


def walltime_minutes(walltime: str) -> int:
    """SLURM's time limit ``walltime`` (``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M`` or
    ``D-H:M:S``) in whole minutes, rounded up as SLURM rounds it."""
    return -(-walltime_seconds(walltime) // 60)


def directive_options(directives: Sequence[str]) -> dict[str, Any]:
    """``cluster.job_extra_directives`` as sbatch options by name, as submitit takes them:
    ``--qos=high`` is ``{"qos": "high"}``, ``--exclusive`` is ``{"exclusive": True}``."""
    options: dict[str, Any] = {}
    for directive in directives:
        name, _, value = directive.strip().partition("=")
        if not value and " " in name:  # "--constraint intel"
            name, value = name.split(None, 1)
        if not name.startswith("--") or len(name) < 3:
            raise ConfigError(
                "the array's jobs take each of cluster.job_extra_directives in its long form "
                f"(--qos=high, not -q high), got cluster.job_extra_directives={list(directives)}"
            )
        options[name[2:]] = value.strip() or True
    return options


def job_options(cluster: SlurmCluster) -> dict[str, Any]:
    """The sbatch options of every job of the array by name, as submitit takes them: the
    resources of ``cluster`` and its extra directives."""
    options = {
        "partition": cluster.partition,
        "account": cluster.account,
        "time": walltime_minutes(cluster.walltime),
        "cpus_per_task": cluster.cores,
        "mem": f"{_memory_mb(cluster.memory)}M",
    }
    return {name: value for name, value in options.items() if value is not None} | (
        directive_options(cluster.job_extra_directives)
    )


def without_cluster(overrides: Sequence[str]) -> list[str]:
    """``overrides`` without those of ``cluster``: the finishing run runs where its job is."""
    return [o for o in overrides if not o.lstrip("+~").split("=")[0].split(".")[0] == "cluster"]


def _log_to_stdout() -> None:
    """Log records to the job's output, beside submitit's own."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("submitit").propagate = False  # it prints its records itself


def finish(config: Config, overrides: Sequence[str], array_job: str) -> None:
    """The finishing job: once no task of ``array_job`` holds a share, ``python -m pipeline
    OVERRIDES`` on the store, which computes what the tasks left and ends the store; exits
    with its exit code."""
    _log_to_stdout()
    wait_for_shares(config, array_job)
    cores = array_settings(config).cores
    command = [sys.executable, "-m", "pipeline", *without_cluster(overrides),
               "cluster=threads", f"cluster.n_workers={cores}"]  # fmt: skip
    sys.stdout.flush()
    # A process of its own, as the command a user types: SLURM's SIGTERM reaches it
    # directly, while submitit's handler keeps this process waiting for it.
    code = subprocess.run(command, check=False).returncode
    if code:
        sys.exit(code)


def _executor(
    cluster: SlurmCluster, logs: Path, name: str, extra: dict[str, Any], **parameters: Any
) -> Any:
    """A submitit executor of jobs named ``name`` with ``cluster``'s options and the sbatch
    options ``extra``, writing into ``logs``; ``parameters`` are submitit's own."""
    executor = submitit.SlurmExecutor(
        folder=logs, python=shlex.quote(cluster.python) if cluster.python else None
    )
    options = job_options(cluster) | extra
    executor.update_parameters(
        job_name=name,
        time=options["time"],  # submitit counts a task's timeouts from it, in minutes
        setup=list(cluster.job_script_prologue),
        stderr_to_stdout=True,
        wckey=None,  # submitit's default ("submitit") would be charged where wckeys count
        additional_parameters=options,
        **parameters,
    )
    return executor


def submit(config: Config, overrides: Sequence[str]) -> list[str]:
    """Create the store, submit the array and its finishing job; the lines to print."""
    cluster = array_settings(config)
    plan = plan_run(config)
    logs = Path(cluster.log_directory).absolute()
    tasks = cluster.array_tasks or 1
    name = f"rate-sweeps-{config.sweep.name}"
    requeue = {"requeue": True}  # SLURM may requeue a task it preempts
    store_of(config).check(plan.attrs, config.store.overwrite)
    every = {"array": f"0-{tasks - 1}", **job_options(cluster), **requeue}
    test_only("#!/bin/bash\n", "the array's tasks", sbatch_flags(every))
    array = _executor(cluster, logs, name, requeue, array_parallelism=tasks)
    # Not under srun: the finishing job's own output, the summary at its end, is its log.
    output = {"output": f"{logs}/finish-%j.out", "kill_on_invalid_dep": "no"}
    finishing = _executor(cluster, logs, f"{name}-finish", output, use_srun=False)
    opened = prepare_store(config, plan)
    jobs = array.map_array(ShareTask(), [config] * tasks, range(tasks))
    array_id = jobs[0].job_id.split("_")[0]  # "<array>_<task>"; one task is a plain job
    finishing.update_parameters(dependency=f"afterany:{array_id}")
    finish_id = finishing.submit(finish, config, list(overrides), array_id).job_id
    return [
        f"store: {Path(config.store.path).absolute()} ({opened})",
        f"submitted SLURM array {array_id} ({tasks} tasks) and its finishing "
        f"job {finish_id}; their output: {logs}/",
        f"follow with: squeue -j {array_id},{finish_id}",
    ]


class ShareTask(submitit.helpers.Checkpointable):
    """One task of the array, as submitit runs it in its job: :func:`run_share`.

    Near its walltime (``--signal=USR2@90``) submitit requeues the task with the
    same arguments, and the requeued task resumes its share from the point
    status; after three such timeouts it gives up and the finishing job
    computes what is left.
    """

    def __call__(self, config: Config, task: int) -> int:
        # submitit ignores SIGTERM and waits for its USR2; SLURM cancels and preempts with
        # SIGTERM, after which the share must still be released and the task recorded.
        signal.signal(signal.SIGTERM, terminate)
        _log_to_stdout()
        job = submitit.JobEnvironment()
        tasks = array_settings(config).array_tasks or 1
        return run_share(config, task, tasks, job.array_job_id or job.job_id)

    def __submitit_checkpoint__(self, config: Config, task: int) -> Any:
        """The same task again, to requeue: its share resumes from the point status."""
        # submitit requeues the job next, and SLURM's requeue sends SIGTERM while the share
        # is being released: a second SystemExit there cut the release short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return submitit.helpers.DelayedSubmission(self, config, task)
