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

import dataclasses
import functools
import logging
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import submitit
import xarray as xr

from analysis.summary import Tally, summarize, tally, tally_variables
from pipeline.adapters.submitit import sbatch_script
from pipeline.config.schema import (
    ClusterConfig,
    Config,
    ConfigError,
    JobResources,
    SlurmCluster,
    walltime_seconds,
)
from pipeline.exits import terminate
from pipeline.records import catalog, provenance
from pipeline.run import shares
from pipeline.run.backends import run_tasks
from pipeline.run.execute import block_tasks, catalog_of, run_fields, store_of
from pipeline.run.plan import Plan, plan_run
from pipeline.run.progress import Progress, counted
from pipeline.run.resources import check_job_memory, needs
from pipeline.run.slurm import sbatch_flags, site_options, test_only, worker_script
from pipeline.store.lifecycle import StoreError, pending_blocks
from pipeline.store.status import STATUS, run_status, status_counts
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


def run_share(
    config: Config, task: int, tasks: int, array_job: str, overrides: Sequence[str] = ()
) -> int:
    """Compute the pending blocks of share ``task`` of ``tasks``; return how many it computed.

    Records the task in the catalog when it ends, however it ends
    (:func:`record_task`).  Refuses (:class:`~pipeline.store.lifecycle.StoreError`) a store
    that is not there to resume: ``python -m pipeline.submit`` creates it before the array
    starts.
    """
    plan = plan_run(config)
    store = store_of(config)
    if store.check(plan.attrs, overwrite=False) != "resume":
        raise StoreError(
            f"store.path={config.store.path} holds no store of this sweep to fill: "
            "python -m pipeline.submit creates it before it submits the array"
        )
    key = shares.share_key(store, task)
    # A requeued task may find the lease of its own earlier run, killed mid-share.
    _wait_until_free(key, 2 * config.store.lease_seconds)
    task_run = TaskRun(array_job, task, tasks, list(overrides))
    cores = config.cluster.cores  # type: ignore[attr-defined]
    todo: list = []
    outcome: dict = {"status": "interrupted"}
    with shares.held_share(store, task, config.store.lease_seconds) as held:
        try:
            todo = pending_in_share(store, plan, task, tasks)
            log.info("%s: %d of its %d blocks to compute", task_run.label, len(todo),
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
                "status": None,  # the share's: complete, or incomplete
                "message": f"{task_run.label}: its share done, {len(todo)} blocks computed"
                + (f", {failed} failed" if failed else ""),
            }
            return len(todo)
        except BaseException as err:
            outcome["message"] = f"{task_run.label}: stopped ({type(err).__name__}: {err})"
            if isinstance(err, Exception):
                outcome["status"] = "error"
            raise
        finally:
            record_task(config, plan, store, task_run, outcome, todo)


@dataclass
class TaskRun:
    """One run of one task of an array, as the catalog records it."""

    array_job: str
    task: int
    tasks: int
    overrides: list[str]
    started: str = dataclasses.field(default_factory=provenance.now)
    clock: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def label(self) -> str:
        return _label(self.array_job, self.task, self.tasks)


def written_blocks(status: np.ndarray, blocks: Sequence) -> int:
    """How many of ``blocks`` the store now holds (no point of theirs pending)."""
    return sum(1 for block in blocks if not (status[block.slices] == STATUS["pending"]).any())


def share_verdict(store: SweepStore, plan: Plan, blocks: Sequence, counts: dict) -> str:
    """The theory check's verdict over the points of ``blocks`` alone, as the summary gives
    a whole store's (PASS, FAIL or INCONCLUSIVE; points pending or failed make it FAIL),
    from the check variables the store holds for them."""
    sizes = dict(zip(plan.grid.dims, plan.grid.shape, strict=True))
    with xr.open_zarr(store.zarr_store(read_only=True), chunks=None) as ds:
        names = tally_variables(ds)
        parts = [
            tally(
                ds[names].isel(dict(zip(plan.grid.dims, block.slices, strict=True))).load(),
                {dim: part.start for dim, part in zip(plan.grid.dims, block.slices, strict=True)},
                sizes,
            )
            for block in blocks
        ]
        return summarize(ds, counts, functools.reduce(Tally.combine, parts)).verdict


def record_task(
    config: Config, plan: Plan, store: SweepStore, run: TaskRun, outcome: dict, todo: Sequence
) -> None:
    """One catalog row for a run of an array task, written when it ends (tasks run side by
    side): the command's overrides, its duration, the blocks of ``todo`` (those it set out
    to compute) that the store holds now, and its share's point counts, status and verdict
    (the run's status ``interrupted`` or ``error`` where it did not end its share)."""
    blocks = share_of(plan, run.task, run.tasks)
    fields: dict = {"status": outcome["status"], "message": outcome.get("message")}
    try:
        status = store.read_status()
        points = np.concatenate([status[block.slices].ravel() for block in blocks])
        counts = status_counts(points)
        fields["blocks_computed"] = written_blocks(status, todo)
        fields["verdict"] = share_verdict(store, plan, blocks, counts)
    except Exception:  # a damaged store: the finishing run repairs it and says more
        counts = {}
    fields |= {
        "status": fields["status"] or run_status(counts),
        "finished": provenance.now(),
        "opened": "array task",
        "duration_s": round(time.monotonic() - run.clock, 3),
        **{catalog.COUNT_COLUMNS[name]: n for name, n in counts.items()},
    }
    file = catalog_of(config, store)
    try:
        started = run_fields(config, plan, store, run.started, run.overrides)
        run_id = catalog.start_run(file, started)
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
        run = TaskRun(array_job, task, tasks, [])
        if not any(message.startswith(f"{run.label}:") for message in recorded):
            message = f"{run.label}: ended without recording an outcome (cancelled or killed)"
            record_task(config, plan, store, run, {"status": "interrupted", "message": message}, [])


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


def job_options(
    cluster: SlurmCluster, own: JobResources | None = None, cores: int | None = None
) -> dict[str, Any]:
    """The sbatch options of the array's tasks by name, as submitit takes them: the resources
    of ``cluster``, its site's options (qos, mail) and its extra directives; for a job with
    resources of its ``own`` (the finishing job's, the driver's), those where given, else
    ``cores`` (if given) and the tasks' other resources."""
    own = own or JobResources()
    options = {
        "partition": cluster.partition,
        "account": cluster.account,
        "time": walltime_minutes(own.walltime or cluster.walltime),
        "cpus_per_task": own.cores or cores or cluster.cores,
        "mem": f"{_memory_mb(own.memory or cluster.memory)}M",
        **site_options(cluster),
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


def finish_command(config: Config, overrides: Sequence[str]) -> list[str]:
    """The finishing job's run: ``python -m pipeline OVERRIDES`` with a thread per core of
    the job (``cluster.finish.cores``, else a task's ``cluster.cores``)."""
    cluster = array_settings(config)
    cores = cluster.finish.cores or cluster.cores
    return [sys.executable, "-m", "pipeline", *without_cluster(overrides),
            "cluster=threads", f"cluster.n_workers={cores}"]  # fmt: skip


def finish(config: Config, overrides: Sequence[str], array_job: str) -> None:
    """The finishing job: once no task of ``array_job`` holds a share, ``python -m pipeline
    OVERRIDES`` on the store, which computes what the tasks left and ends the store; exits
    with its exit code."""
    _log_to_stdout()
    wait_for_shares(config, array_job)
    command = finish_command(config, overrides)
    sys.stdout.flush()
    # A process of its own, as the command a user types: SLURM's SIGTERM reaches it
    # directly, while submitit's handler keeps this process waiting for it.
    code = subprocess.run(command, check=False).returncode
    if code:
        sys.exit(code)


def executor(
    cluster: SlurmCluster,
    logs: Path,
    name: str,
    extra: dict[str, Any],
    resources: dict[str, Any] | None = None,
    **parameters: Any,
) -> Any:
    """A submitit executor of jobs named ``name`` with ``cluster``'s options (or the sbatch
    options ``resources``, :func:`job_options`) and the sbatch options ``extra``, writing
    into ``logs``; ``parameters`` are submitit's own."""
    made = submitit.SlurmExecutor(
        folder=logs, python=shlex.quote(cluster.python) if cluster.python else None
    )
    options = (resources or job_options(cluster)) | extra
    made.update_parameters(
        job_name=name,
        time=options["time"],  # submitit counts a task's timeouts from it, in minutes
        setup=list(cluster.job_script_prologue),
        stderr_to_stdout=True,
        wckey=None,  # submitit's default ("submitit") would be charged where wckeys count
        additional_parameters=options,
        **parameters,
    )
    return made


@dataclass(frozen=True)
class Jobs:
    """The jobs of one sweep as an array, before they are submitted."""

    config: Config
    """The config every job runs, with ``cluster.array_tasks`` at most the sweep's blocks."""
    array: Any
    """submitit's executor of the array's tasks."""
    finishing: Any
    """submitit's executor of the finishing job."""
    tasks: int
    logs: Path
    notes: list[str]
    """What was changed, to print (an array trimmed to the sweep's blocks)."""


def array_jobs(config: Config, plan: Plan) -> Jobs:
    """The array's and the finishing job's executors for ``config``, whose blocks ``plan``
    lays out; an array of more tasks than blocks is trimmed to one task per block.  Jobs
    whose memory cannot hold their blocks are refused (:func:`check_job_memory`)."""
    cluster = array_settings(config)
    check_job_memory(config, needs(config, plan.grid))
    tasks, blocks = cluster.array_tasks or 1, len(plan.layout.blocks())
    notes = []
    if tasks > blocks:
        notes.append(
            f"cluster.array_tasks={tasks} but the sweep has {counted(blocks, 'block')}: "
            f"submitting {counted(blocks, 'task')}, one block each"
        )
        tasks = blocks
        cluster = dataclasses.replace(cluster, array_tasks=tasks)
        config = dataclasses.replace(config, cluster=cluster)
    logs = Path(cluster.log_directory).absolute()
    name = f"rate-sweeps-{config.sweep.name}"
    requeue = {"requeue": True}  # SLURM may requeue a task it preempts
    array = executor(cluster, logs, name, requeue,
                      array_parallelism=cluster.array_parallelism or tasks)  # fmt: skip
    # Not under srun: the finishing job's own output, the summary at its end, is its log.
    output = {"output": f"{logs}/finish-%j.out", "kill_on_invalid_dep": "no"}
    own = job_options(cluster, cluster.finish)
    finishing = executor(cluster, logs, f"{name}-finish", output, own, use_srun=False)
    return Jobs(config, array, finishing, tasks, logs, notes)


def _array_flag(tasks: int, parallelism: int | None) -> str:
    """sbatch's ``--array`` of ``tasks`` tasks, at most ``parallelism`` at once."""
    return f"0-{tasks - 1}" + (f"%{parallelism}" if parallelism else "")


def submit(config: Config, overrides: Sequence[str]) -> list[str]:
    """Create the store, submit the array and its finishing job; the lines to print."""
    plan = plan_run(config)
    jobs = array_jobs(config, plan)
    config, cluster = jobs.config, array_settings(jobs.config)
    store_of(config).check(plan.attrs, config.store.overwrite)
    array = _array_flag(jobs.tasks, cluster.array_parallelism)
    every = {"array": array, **job_options(cluster), "requeue": True}
    test_only("#!/bin/bash\n", "the array's tasks", sbatch_flags(every))
    finishing = job_options(cluster, cluster.finish)
    test_only("#!/bin/bash\n", "the array's finishing job", sbatch_flags(finishing))
    opened = prepare_store(config, plan)
    tasks = jobs.tasks
    submitted = jobs.array.map_array(ShareTask(), [config] * tasks, range(tasks),
                                     [list(overrides)] * tasks)  # fmt: skip
    array_id = submitted[0].job_id.split("_")[0]  # "<array>_<task>"; one task is a plain job
    jobs.finishing.update_parameters(dependency=f"afterany:{array_id}")
    finish_id = jobs.finishing.submit(finish, config, list(overrides), array_id).job_id
    return [
        *jobs.notes,
        f"store: {Path(config.store.path).absolute()} ({opened})",
        f"submitted SLURM array {array_id} ({tasks} tasks) and its finishing "
        f"job {finish_id}; their output: {jobs.logs}/",
        f"follow with: squeue -j {array_id},{finish_id}",
    ]


DRY_RUN = "job-scripts"
"""The folder in ``cluster.log_directory`` where ``--dry-run`` writes the job scripts."""


def dry_run(config: Config) -> list[str]:
    """Write the job scripts of ``config``'s worker jobs (``cluster=slurm``) and, with
    ``cluster.array_tasks``, of its array and finishing job, submitting nothing and
    writing no store; the lines to print."""
    cluster = config.cluster
    if not isinstance(cluster, SlurmCluster):
        raise ConfigError(
            f"--dry-run writes the job scripts of cluster=slurm, got cluster={cluster.scheduler}"
        )
    folder = Path(cluster.log_directory).absolute() / DRY_RUN
    folder.mkdir(parents=True, exist_ok=True)
    scripts = {"worker.sh": worker_script(cluster)}
    notes: list[str] = []
    if cluster.array_tasks is not None:
        jobs = array_jobs(config, plan_run(config))
        notes = jobs.notes
        scripts["array.sh"] = sbatch_script(jobs.array, jobs.tasks)
        scripts["finish.sh"] = sbatch_script(jobs.finishing)
    for name, text in scripts.items():
        (folder / name).write_text(text)
    return [
        *notes,
        *(f"{folder / name}" for name in scripts),
        "nothing was submitted: python -m pipeline (the worker jobs) or "
        "python -m pipeline.submit (the array) without --dry-run submits them",
    ]


class ShareTask(submitit.helpers.Checkpointable):
    """One task of the array, as submitit runs it in its job: :func:`run_share`.

    Near its walltime (``--signal=USR2@90``) submitit requeues the task with the
    same arguments, and the requeued task resumes its share from the point
    status; after three such timeouts it gives up and the finishing job
    computes what is left.
    """

    def __call__(self, config: Config, task: int, overrides: Sequence[str] = ()) -> int:
        # submitit ignores SIGTERM and waits for its USR2; SLURM cancels and preempts with
        # SIGTERM, after which the share must still be released and the task recorded.
        signal.signal(signal.SIGTERM, terminate)
        _log_to_stdout()
        job = submitit.JobEnvironment()
        tasks = array_settings(config).array_tasks or 1
        array_job = job.array_job_id or job.job_id
        # SLURM appends each run of a requeued task to the same output file: each starts
        # with its attempt (SLURM_RESTART_COUNT counts the requeues, unset before the first).
        attempt = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
        log.info("%s: attempt %d on %s at %s", _label(array_job, task, tasks), attempt + 1,
                 socket.gethostname(), provenance.now())  # fmt: skip
        return run_share(config, task, tasks, array_job, overrides)

    def __submitit_checkpoint__(
        self, config: Config, task: int, overrides: Sequence[str] = ()
    ) -> Any:
        """The same task again, to requeue: its share resumes from the point status."""
        # submitit requeues the job next, and SLURM's requeue sends SIGTERM while the share
        # is being released: a second SystemExit there cut the release short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return submitit.helpers.DelayedSubmission(self, config, task, overrides)
