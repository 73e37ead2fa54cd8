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
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pipeline.config.schema import ClusterConfig, Config, ConfigError, SlurmCluster
from pipeline.records import catalog, provenance
from pipeline.run import shares
from pipeline.run.backends import run_tasks
from pipeline.run.execute import block_tasks, run_fields
from pipeline.run.plan import Plan, plan_run
from pipeline.run.progress import Progress
from pipeline.run.slurm import test_only
from pipeline.store.kinds import open_sweep_store
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
    store = open_sweep_store(config.store.path)
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
    path = open_sweep_store(config.store.path)
    if path.check(plan.attrs, overwrite=False) != "resume":
        raise StoreError(
            f"store.path={config.store.path} holds no store of this sweep to fill: "
            "python -m pipeline.submit creates it before it submits the array"
        )
    key = shares.share_key(path, task)
    # A requeued task may find the lease of its own earlier run, killed mid-share.
    _wait_until_free(key, 2 * config.store.lease_seconds)
    started = provenance.now()
    cores = config.cluster.cores  # type: ignore[attr-defined]
    label = _label(array_job, task, tasks)
    outcome: dict = {"status": "interrupted", "blocks_computed": 0}
    with shares.held_share(path, task, config.store.lease_seconds) as held:
        try:
            todo = pending_in_share(path, plan, task, tasks)
            log.info("%s: %d of its %d blocks to compute", label, len(todo),
                     len(share_of(plan, task, tasks)))  # fmt: skip
            writer = path.block_writer(plan.grid.dims, held.token, leased=key)
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
            _record(config, plan, path, started, outcome)


def _record(config: Config, plan: Plan, path: SweepStore, started: str, outcome: dict) -> None:
    """One catalog row for an array task, written when it ends (tasks run side by side)."""
    try:
        counts = status_counts(path.read_status())
    except Exception:  # a damaged store: the finishing run repairs it and says more
        counts = {}
    fields = {
        "status": run_status(counts),
        **outcome,
        "finished": provenance.now(),
        "opened": "array task",
        **{catalog.COUNT_COLUMNS[name]: n for name, n in counts.items()},
    }
    file = catalog.catalog_path(path.default_catalog(), config.catalog.path)
    try:
        run_id = catalog.start_run(file, run_fields(config, plan, path, started))
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
    path = open_sweep_store(config.store.path)
    while live := shares.live_shares(path):
        log.info("waiting for array tasks %s to end", sorted(live))
        time.sleep(1)
    tasks = array_settings(config).array_tasks or 0
    file = catalog.catalog_path(path.default_catalog(), config.catalog.path)
    recorded = catalog.runs(file)["message"].dropna().tolist() if file.exists() else []
    plan = plan_run(config)
    for task in range(tasks):
        label = _label(array_job, task, tasks)
        if not any(message.startswith(f"{label}:") for message in recorded):
            started = provenance.now()
            message = f"{label}: ended without recording an outcome (cancelled or killed)"
            _record(config, plan, path, started, {"status": "interrupted", "message": message})


def _memory_mb(memory: str) -> int:
    from dask.utils import parse_bytes

    return max(1, parse_bytes(memory) // 2**20)


def without_cluster(overrides: Sequence[str]) -> list[str]:
    """``overrides`` without those of ``cluster``: the finishing run runs where its job is."""
    return [o for o in overrides if not o.lstrip("+~").split("=")[0].split(".")[0] == "cluster"]


def job_script(cluster: SlurmCluster, directives: Sequence[str], commands: Sequence[str]) -> str:
    """An sbatch script with ``cluster``'s resources, ``directives`` and ``commands``."""
    lines = ["#!/bin/bash", *(f"#SBATCH {d}" for d in directives)]
    options = {"--partition": cluster.partition, "--account": cluster.account}
    lines += [f"#SBATCH {name}={value}" for name, value in options.items() if value]
    lines += [
        f"#SBATCH --time={cluster.walltime}",
        f"#SBATCH --cpus-per-task={cluster.cores}",
        f"#SBATCH --mem={_memory_mb(cluster.memory)}M",
        f"#SBATCH --chdir={os.getcwd()}",
        *(f"#SBATCH {d}" for d in cluster.job_extra_directives),
        *cluster.job_script_prologue,
        *commands,
    ]
    return "\n".join(lines) + "\n"


def _sbatch(script: Path) -> str:
    done = subprocess.run(
        ["sbatch", "--parsable", str(script)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"sbatch {script} failed: {done.stderr.strip()}")
    return done.stdout.strip().split(";")[0]


def submit(config: Config, overrides: Sequence[str]) -> list[str]:
    """Create the store, submit the array and its finishing job; the lines to print."""
    cluster = array_settings(config)
    plan = plan_run(config)
    logs = Path(cluster.log_directory).absolute()
    python = shlex.quote(cluster.python or sys.executable)
    args = " ".join(shlex.quote(o) for o in overrides)
    name = f"rate-sweeps-{config.sweep.name}"
    tasks = job_script(
        cluster,
        [f"--job-name={name}", f"--array=0-{cluster.array_tasks - 1}", "--requeue",
         f"--output={logs}/array-%A_%a.out"],
        [f"exec {python} -m pipeline.submit --task {args}"],
    )  # fmt: skip
    open_sweep_store(config.store.path).check(plan.attrs, config.store.overwrite)
    test_only(tasks, "the array's tasks")
    opened = prepare_store(config, plan)
    logs.mkdir(parents=True, exist_ok=True)
    array = logs / "array.sbatch"
    array.write_text(tasks)
    array_id = _sbatch(array)
    finish = logs / "finish.sbatch"
    finishing = " ".join(shlex.quote(o) for o in without_cluster(overrides))
    finish.write_text(job_script(
        cluster,
        [f"--job-name={name}-finish", f"--dependency=afterany:{array_id}",
         "--kill-on-invalid-dep=no", f"--output={logs}/finish-%j.out"],
        [f"{python} -m pipeline.submit --wait={array_id} {args} || exit $?",
         f"exec {python} -m pipeline {finishing} cluster=threads "
         f"cluster.n_workers={cluster.cores}"],
    ))  # fmt: skip
    finish_id = _sbatch(finish)
    return [
        f"store: {Path(config.store.path).absolute()} ({opened})",
        f"submitted SLURM array {array_id} ({cluster.array_tasks} tasks) and its finishing "
        f"job {finish_id}; their output: {logs}/",
        f"follow with: squeue -j {array_id},{finish_id}",
    ]
