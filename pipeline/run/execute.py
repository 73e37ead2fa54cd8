"""Run a sweep: Dask maps blocks of points to workers, each streams its block to the store.

Where the workers are is chosen by ``cluster.scheduler`` (``conf/cluster/``);
nothing else here depends on it.  Each task computes one block and writes it
into the store itself, so the driver never holds more than the small per-block
summaries, and memory is bounded by the block size times the number of
workers, not by the size of the sweep.

A run, in order: simulate one point to learn the layout; refuse, touching
nothing, a store path that holds something else; take the store's lease
(:mod:`pipeline.store.lease`); record the run in the catalog
(:mod:`pipeline.records.catalog`); create the store, or resume it: delete temporary
files of interrupted writes, find damaged chunks (:mod:`pipeline.store.integrity`)
and compute every block that is pending, failed or damaged; finally record
the point counts and this run in the store's ``history``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.local
import dask.threaded
import numpy as np
import xarray as xr
import yaml
from dask.callbacks import Callback

from pipeline.block import simulate_block
from pipeline.config.schema import ClusterConfig, Config
from pipeline.grid import Block, Grid
from pipeline.records import catalog, provenance
from pipeline.run import memory
from pipeline.store import integrity, lease
from pipeline.store import layout as store
from pipeline.store.status import STATUS

log = logging.getLogger(__name__)

EXECUTION_ONLY = {
    ("store", "path"),
    ("store", "overwrite"),
    ("store", "lease_seconds"),
    ("cluster",),
    ("catalog",),
}
"""Config keys that do not change the results, left out of the fingerprint."""


class RunStopped(RuntimeError):
    """A run that started writing stopped on an error; the store keeps what was written."""


@dataclass(frozen=True)
class RunResult:
    """What a run did: the store, how it was opened, and the point counts after it."""

    path: Path
    opened: str
    blocks_computed: int
    counts: dict[str, int]
    failures: list[str]
    run_id: int
    catalog: Path


@dataclass(frozen=True)
class Plan:
    """Everything a run writes, known before it touches the disk."""

    grid: Grid
    layout: store.Layout
    full: xr.Dataset
    encodings: dict[str, dict]
    attrs: dict[str, Any]
    execution: dict[str, Any]


def split_config(config: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config as plain data: the part that shapes the results, and :data:`EXECUTION_ONLY`."""
    results = dataclasses.asdict(config)
    execution: dict[str, Any] = {}
    for key in sorted(EXECUTION_ONLY):
        parent, target = results, execution
        for part in key[:-1]:
            parent = parent[part]
            target = target.setdefault(part, {})
        target[key[-1]] = parent.pop(key[-1])
    return results, execution


def plan_run(config: Config) -> Plan:
    """Layout, template and root attributes of the store of ``config``, from a probe."""
    grid = Grid.from_config(config.sweep.grid)
    probe = simulate_block(config, grid, tuple(slice(0, 1) for _ in grid.dims))
    layout = store.layout_for(grid, probe, config.store.chunk_mb, config.store.chunk_points)
    results, execution = split_config(config)
    code = provenance.code_version()
    attrs = {
        "producer": store.PRODUCER,
        "schema_version": store.SCHEMA_VERSION,
        "title": f"rate-network sweep {config.sweep.name!r}",
        "sweep": config.sweep.name,
        "network": config.network.kind,
        "config": yaml.safe_dump(results, sort_keys=False),
        "fingerprint": provenance.fingerprint(results, code),
        "code": code,
        "created": provenance.now(),
        "run_status": "incomplete",
        "history": [],
    }
    full = store.template(probe, grid, layout)
    encodings = store.encoding(
        full, layout, config.store.compression_level, config.store.compressor
    )
    return Plan(grid, layout, full, encodings, attrs, execution)


def compute_block(
    config: Config,
    grid: Grid,
    block: Block,
    path: Path,
    token: str,
    formats: dict[str, store.ChunkFormat],
) -> dict[str, Any]:
    """Simulate, check and write one block; return its status counts.

    A block whose computation raises is marked ``failed`` (its data are not
    written) and the sweep goes on.  An error while writing propagates and
    stops the run, so nothing is marked done without its data.  Nothing is
    written once the lease with ``token`` is lost.  ``formats`` are the
    store's chunk formats (:func:`store.chunk_formats`).
    """
    memory.keep_freed_memory()
    try:
        ds = simulate_block(config, grid, block.slices)
    except Exception:  # a numerical failure of one block must not stop the sweep
        message = traceback.format_exc(limit=3)
        lease.check(path, token)
        store.write_status(path, grid.dims, block, STATUS["failed"], formats)
        size = int(np.prod([s.stop - s.start for s in block.slices]))
        return {"counts": {"failed": size}, "failure": f"block {block.index}: {message}"}
    lease.check(path, token)
    store.write_block(path, ds, grid.dims, block, formats)
    return {"counts": store.status_counts(ds["status"].values), "failure": None}


class _Progress:
    """Logs how many blocks are done, at most every few seconds."""

    def __init__(self, total_blocks: int, points_per_block: int, every: float = 2.0):
        self.total, self.points, self.every = total_blocks, points_per_block, every
        self.done, self.start, self.last = 0, time.monotonic(), 0.0

    def block_done(self) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        if self.done < self.total and elapsed - self.last < self.every:
            return
        self.last = elapsed
        left = elapsed / self.done * (self.total - self.done)
        log.info(
            "%d/%d blocks (~%d points) done in %.1f s, about %.0f s left",
            self.done,
            self.total,
            self.done * self.points,
            elapsed,
            left,
        )


class _TaskCallback(Callback):
    def __init__(self, on_block: Callable[[], None]):
        super().__init__()
        self.on_block = on_block

    def _posttask(self, key, result, dsk, state, worker_id):  # dask's callback signature
        name = key[0] if isinstance(key, tuple) else key
        if str(name).startswith("compute_block"):
            self.on_block()


@contextmanager
def _client(cluster: ClusterConfig) -> Iterator[Any]:
    """A distributed Client on a local cluster, or None for Dask's local schedulers."""
    if cluster.scheduler != "distributed":
        yield None
        return
    from distributed import Client, LocalCluster

    n_workers = cluster.n_workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        yield client


def _local_scheduler(name: str) -> Callable:
    """Dask's scheduler ``synchronous`` or ``processes`` as a function.

    dask.multiprocessing takes a quarter of a second to import, so only a
    run with processes imports it.
    """
    if name == "synchronous":
        return dask.local.get_sync
    from dask.multiprocessing import get

    return get


def _run_tasks(tasks: list, cluster: ClusterConfig, progress: _Progress) -> list[dict]:
    """Every task's result; the first task that raises stops the run.

    Tasks already running when one raises are let finish (local schedulers)
    or cancelled (distributed), and no new task starts.
    """
    with _client(cluster) as client:
        if client is None:
            with _TaskCallback(progress.block_done):
                # Schedulers as functions: given a name, dask would import
                # dask.distributed (a third of a second) to look for a Client.
                if cluster.scheduler == "threads":
                    # A pool of our own: leaving it waits for the running tasks.
                    with ThreadPoolExecutor(cluster.n_workers or os.cpu_count() or 1) as pool:
                        return list(dask.compute(*tasks, scheduler=dask.threaded.get, pool=pool))
                # chunksize 1: dask's process pool would hand out blocks six at a
                # time, so that a sweep of a few blocks ran in one process.
                return list(
                    dask.compute(
                        *tasks,
                        scheduler=_local_scheduler(cluster.scheduler),
                        num_workers=cluster.n_workers,
                        chunksize=1,
                    )
                )
        from distributed import as_completed

        futures = client.compute(tasks)
        results = []
        try:
            for future in as_completed(futures):
                results.append(future.result())
                progress.block_done()
        except BaseException:
            client.cancel(futures)
            raise
        return results


def _open_store(path: Path, plan: Plan, overwrite: bool) -> tuple[str, list[Block]]:
    """Create, replace or resume the store; the blocks this run computes."""
    opened = store.prepare(path, plan.full, plan.encodings, plan.attrs, overwrite)
    if opened != "resumed":
        return opened, plan.layout.blocks()
    scan = integrity.scan(path)
    for damage in scan.damage:
        again = "its block is computed" if damage.block is not None else "it is written"
        log.warning("%s %s: %s again", damage.key, damage.problem, again)
    if scan.leftovers:
        log.warning("deleting %d temporary files of interrupted writes", len(scan.leftovers))
    todo = store.pending_blocks(store.repair(path, scan, plan.full), plan.layout)
    if todo:
        store.mark_incomplete(path)
    return opened, todo


def _compute(
    config: Config, plan: Plan, path: Path, held: lease.Lease
) -> tuple[str, int, list[str]]:
    """Open the store under the lease ``held`` and compute what it lacks.

    Returns how the store was opened, how many blocks were computed and the
    failure of each block whose computation raised.
    """
    opened, todo = _open_store(path, plan, config.store.overwrite)
    log.info(
        "%s store %s: %d points in %d blocks of up to %d, %d blocks to compute",
        opened,
        path,
        plan.grid.size,
        len(plan.layout.blocks()),
        int(np.prod(plan.layout.chunks)),
        len(todo),
    )
    formats = store.chunk_formats(path)
    # Each shared argument enters the graph once, as a key: passed as is, it
    # would be searched for Dask collections in every task (seconds per 100
    # blocks) and, on a distributed cluster, sent with every task.
    shared = {
        name: dask.delayed(value, name=f"{name}-{held.token}", traverse=False)
        for name, value in (("config", config), ("grid", plan.grid), ("formats", formats))
    }
    task = dask.delayed(compute_block, pure=False)
    tasks = [
        task(
            shared["config"],
            shared["grid"],
            block,
            path,
            held.token,
            shared["formats"],
            dask_key_name=f"compute_block-{i}",
        )
        for i, block in enumerate(todo)
    ]
    progress = _Progress(len(todo), int(np.prod(plan.layout.chunks)))
    results = _run_tasks(tasks, config.cluster, progress)
    lease.check(path, held.token)
    return opened, len(todo), [r["failure"] for r in results if r["failure"]]


def run_sweep(config: Config) -> RunResult:
    """Create or resume the store of ``config`` and compute every block it lacks.

    Raises :class:`store.StoreError` or :class:`lease.LeaseHeld` before
    writing anything when the store path cannot be used, and
    :class:`RunStopped` when the run stops after it has started writing
    (a full disk, a lost lease, workers that keep dying): the store keeps
    every block written so far, and running the same config again resumes.
    """
    plan = plan_run(config)
    path = Path(config.store.path)
    store.check_path(path, plan.attrs, config.store.overwrite)
    catalog_file = catalog.catalog_path(path, config.catalog.path)
    with ExitStack() as stack:
        try:
            held = stack.enter_context(lease.held(path, config.store.lease_seconds))
        except OSError as err:
            raise store.StoreError(f"store.path={path} cannot be written: {err}") from err
        return _recorded_run(config, plan, path, held, catalog_file)


def _recorded_run(
    config: Config, plan: Plan, path: Path, held: lease.Lease, catalog_file: Path
) -> RunResult:
    started = provenance.now()
    code = plan.attrs["code"]
    environment = provenance.environment()
    try:
        run_id = catalog.start_run(
            catalog_file,
            {
                "sweep": config.sweep.name,
                "store": str(path.resolve()),
                "fingerprint": plan.attrs["fingerprint"],
                "code_version": code["commit"] + ("-dirty" if code["dirty"] else ""),
                "started": started,
                "host": environment["host"],
                "pid": os.getpid(),
                "config": yaml.safe_dump(dataclasses.asdict(config), sort_keys=False),
            },
        )
    except (sqlite3.Error, OSError) as err:
        raise store.StoreError(
            f"the run catalog {catalog_file} cannot be written ({err}); nothing was written "
            "to the store. Choose another catalog.path, or free the disk."
        ) from err
    try:
        opened, blocks_computed, failures = _compute(config, plan, path, held)
        counts = store.finalize(
            path,
            {
                "run": run_id,
                "catalog": str(catalog_file.resolve()),
                "opened": opened,
                "started": started,
                "finished": provenance.now(),
                "blocks_computed": blocks_computed,
                **environment,
                "execution": plan.execution,
            },
        )
    except Exception as err:
        message = f"{type(err).__name__}: {err}"
        _end_record(catalog_file, run_id, {"status": "error", "message": message}, path)
        raise RunStopped(
            f"the run on store.path={path} stopped: {message}\n"
            "Every block written before is kept; run the same command again to resume."
        ) from err
    except BaseException:
        _end_record(catalog_file, run_id, {"status": "interrupted"}, path)
        raise
    _end_record(
        catalog_file,
        run_id,
        {
            "status": store.run_status(counts),
            "opened": opened,
            "blocks_computed": blocks_computed,
            "message": f"{len(failures)} blocks failed" if failures else None,
        },
        path,
        counts,
    )
    return RunResult(path, opened, blocks_computed, counts, failures, run_id, catalog_file)


def _end_record(
    catalog_file: Path,
    run_id: int,
    fields: dict[str, Any],
    path: Path,
    counts: dict[str, int] | None = None,
) -> None:
    """Record how run ``run_id`` ended; a catalog that cannot be written does not hide it.

    Point ``counts``, when not given, are read from the store at ``path``, if it can be read.
    """
    if counts is None:
        try:
            counts = store.status_counts(store.read_status(path)) if path.exists() else {}
        except Exception:  # a damaged store: the next run or verify says more
            counts = {}
    counted = {catalog.COUNT_COLUMNS[name]: n for name, n in counts.items()}
    try:
        catalog.update_run(
            catalog_file, run_id, {"finished": provenance.now(), **counted, **fields}
        )
    except Exception as err:  # sqlite3 or OS errors: the store already says what happened
        log.error("could not record the end of run %d in %s: %s", run_id, catalog_file, err)
