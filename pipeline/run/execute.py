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

import functools
import json
import logging
import math
import os
import socket
import sqlite3
import time
import traceback
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr
import yaml

from analysis.summary import Summary, Tally, summarize, tally
from pipeline.block import BlockSpec, simulate_block
from pipeline.config.schema import Config
from pipeline.extensions import load_extensions
from pipeline.grid import Block, Grid
from pipeline.records import catalog, provenance
from pipeline.run import backends, shares
from pipeline.run.backends import run_tasks
from pipeline.run.plan import Plan, plan_run, recorded_config
from pipeline.run.progress import Progress, counted
from pipeline.run.resources import check_resources
from pipeline.store import lease, solves
from pipeline.store.chunks import BlockWriter
from pipeline.store.kinds import open_sweep_store
from pipeline.store.lifecycle import StoreError, pending_blocks
from pipeline.store.status import run_status, status_counts
from pipeline.store.sweep_store import SweepStore

log = logging.getLogger(__name__)


class RunStopped(RuntimeError):
    """A run that started writing stopped on an error; the store keeps what was written."""


@dataclass(frozen=True)
class RunResult:
    """What a run did: the store, how it was opened, and the point counts after it."""

    store: SweepStore
    """The store the run wrote."""
    opened: str
    blocks_computed: int
    counts: dict[str, int]
    failures: list[str]
    run_id: int
    catalog: Path
    summary: Summary
    """The run summary of the whole store, its verdict included."""
    tally: Tally | None = None
    """The summary's reduction of every point, where this run computed every block."""

    @property
    def where(self) -> str:
        """The store as the summary names it: an absolute path, or its URL."""
        return self.store.display

    @property
    def path(self) -> Path | str:
        """The store as ``xr.open_zarr`` takes it: its folder, or its URL."""
        return self.store.folder or str(self.store)


def compute_block(spec: BlockSpec, grid: Grid, block: Block, writer: BlockWriter) -> dict[str, Any]:
    """Simulate, check and write one block; return its status counts and its summary's tally.

    A block whose computation raises is marked ``failed`` (its data are not
    written) and the sweep goes on.  An error while writing propagates and
    stops the run, so nothing is marked done without its data.  Nothing is
    written once the lease of ``writer`` is lost (the store's, or a share's of
    an array, :mod:`pipeline.run.shares`).

    A block that a task of this run already wrote (the task ran again because
    its worker was lost after the block was written) is not solved again: what
    that task recorded (:mod:`pipeline.store.solves`) is returned, with no
    tally (the run's summary then reads the store back).
    """
    written_before = writer.solves.written(block)
    if written_before is not None:
        return {**written_before, "tally": None}
    load_extensions()
    writer.solves.started(block)
    try:
        ds = simulate_block(spec, grid, block.slices)
    except Exception:  # a numerical failure of one block must not stop the sweep
        message = traceback.format_exc(limit=3)
        written = writer.write_failed(block)
        result = {**written, "failure": f"block {block.index}: {message}", "tally": None}
    else:
        # Hashed as written: the run's digest of the store need not read them back.
        written = writer.write(ds, block)
        start = {dim: part.start for dim, part in zip(grid.dims, block.slices, strict=True)}
        result = {
            **written,
            "failure": None,
            # Reduced here, where the block is in memory: the driver never reads it back.
            "tally": tally(ds, start, dict(zip(grid.dims, grid.shape, strict=True))),
        }
    writer.solves.done(block, result)
    return result


def _open_store(store: SweepStore, plan: Plan, overwrite: bool) -> tuple[str, list[Block]]:
    """Create, replace or resume the store; the blocks this run computes."""
    opened = store.prepare(plan.template, overwrite)
    if opened != "resumed":
        return opened, plan.layout.blocks()
    scan = store.scan()
    for damage in scan.damage:
        again = "its block is computed" if damage.block is not None else "it is written"
        log.warning("%s %s: %s again", damage.key, damage.problem, again)
    if scan.leftovers:
        log.warning("deleting %d temporary files of interrupted writes", len(scan.leftovers))
    todo = pending_blocks(store.repair(scan, plan.full), plan.layout)
    if todo:
        store.mark_incomplete()
    return opened, todo


def block_tasks(plan: Plan, writer: BlockWriter, todo: list[Block]) -> list:
    """One Dask task per block of ``todo``, each writing its block with ``writer``."""
    # Each shared argument enters the graph once, as a key: passed as is, it
    # would be searched for Dask collections in every task and, on a
    # distributed cluster, sent with every task.
    shared = {
        name: dask.delayed(value, name=f"{name}-{writer.token}", traverse=False)
        for name, value in (("spec", plan.spec), ("grid", plan.grid), ("writer", writer))
    }
    task = dask.delayed(compute_block, pure=False)
    return [
        task(
            shared["spec"],
            shared["grid"],
            block,
            shared["writer"],
            dask_key_name=f"compute_block-{i}",
        )
        for i, block in enumerate(todo)
    ]


@dataclass(frozen=True)
class Computed:
    """How the store was opened, how many blocks were computed, the failure of each block
    whose computation raised, the tally of every point where this run computed them all,
    and the hash (:func:`~pipeline.store.durable.content_hash`) of every chunk the blocks
    wrote, by key; and how often its tasks began to solve blocks
    (:func:`pipeline.store.solves.tally_solves`)."""

    opened: str
    blocks: int
    failures: list[str]
    tally: Tally | None
    hashes: dict[str, bytes]
    solves: dict[str, Any]


def _compute(config: Config, plan: Plan, store: SweepStore, held: lease.Lease) -> Computed:
    """Open the store under the lease ``held`` and compute what it lacks."""
    opened, todo = _open_store(store, plan, config.store.overwrite)
    log.info(
        "%s store %s: %s in %s of up to %d, %s to compute",
        opened,
        store,
        counted(plan.grid.size, "point"),
        counted(len(plan.layout.blocks()), "block"),
        int(np.prod(plan.layout.chunks)),
        counted(len(todo), "block"),
    )
    records = solves.records_of(store)
    records.remove()  # an earlier run's: of no use under this run's token
    writer = store.block_writer(plan.grid.dims, held.token)
    tasks = block_tasks(plan, writer, todo)
    progress = Progress(len(todo), sum(math.prod(block.shape) for block in todo))
    try:
        results = run_tasks(tasks, config.cluster, progress)
    finally:
        progress.close()
    held.record.check(held.token)
    solved = solves.tally_solves(solves.solve_counts(records, held.token))
    records.remove()
    failures = [r["failure"] for r in results if r["failure"]]
    whole = len(todo) == len(plan.layout.blocks()) and all(r["tally"] is not None for r in results)
    total = functools.reduce(Tally.combine, (r["tally"] for r in results)) if whole else None
    hashes = {key: h for r in results for key, h in r["hashes"].items()}
    return Computed(opened, len(todo), failures, total, hashes, solved)


def run_sweep(config: Config, overrides: Sequence[str] = ()) -> RunResult:
    """Create or resume the store of ``config`` and compute every block it lacks.

    Raises :class:`~pipeline.store.lifecycle.StoreError` or :class:`lease.LeaseHeld` before
    writing anything when the store path cannot be used, and
    :class:`RunStopped` when the run stops after it has started writing
    (a full disk, a lost lease, workers that keep dying): the store keeps
    every block written so far, and running the same config again resumes.
    ``overrides``, the command line's, are recorded in the run catalog.
    """
    # Before the probe of plan_run, which allocates one point's trajectories.
    check_resources(config, Grid.from_config(config.sweep.grid))
    plan = plan_run(config)
    store = store_of(config)
    store.check(plan.attrs, config.store.overwrite)
    backends.check(config.cluster)
    catalog_file = catalog_of(config, store)
    with ExitStack() as stack:
        try:
            held = stack.enter_context(store.lease(config.store.lease_seconds))
        except OSError as err:
            raise StoreError(f"store.path={store} cannot be written: {err}") from err
        shares.refuse_if_shared(store)
        return _recorded_run(config, plan, store, held, catalog_file, overrides)


def store_of(config: Config) -> SweepStore:
    """The store at ``config``'s ``store.path`` (with its ``storage_options``)."""
    return open_sweep_store(config.store.path, config.store.storage_options)


def catalog_of(config: Config, store: SweepStore) -> Path:
    """The catalog a run of ``config`` on ``store`` records itself in."""
    return catalog.catalog_path(store.default_catalog(), config.catalog.path)


def run_fields(
    config: Config,
    plan: Plan,
    store: SweepStore,
    started: str,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """The catalog's record of a run of ``config`` on ``store``, as it starts."""
    code = plan.attrs["code"]
    return {
        "overrides": json.dumps(list(overrides)),
        "tags": json.dumps(list(config.tags or [])),
        "sweep": config.sweep.name,
        "store": store.display,
        "fingerprint": plan.attrs["fingerprint"],
        "code_version": code["commit"] + ("-dirty" if code["dirty"] else ""),
        "started": started,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "config": yaml.safe_dump(recorded_config(config), sort_keys=False),
    }


def _recorded_run(
    config: Config,
    plan: Plan,
    store: SweepStore,
    held: lease.Lease,
    catalog_file: Path,
    overrides: Sequence[str],
) -> RunResult:
    started = provenance.now()
    clock = time.monotonic()
    environment = provenance.environment()
    try:
        run_id = catalog.start_run(
            catalog_file, run_fields(config, plan, store, started, overrides)
        )
    except (sqlite3.Error, OSError) as err:
        raise StoreError(
            f"the run catalog {catalog_file} cannot be written ({err}); nothing was written "
            "to the store. Choose another catalog.path, or free the disk."
        ) from err
    try:
        computed = _compute(config, plan, store, held)
        opened, blocks_computed, failures = computed.opened, computed.blocks, computed.failures
        counts = store.finalize(
            {
                "run": run_id,
                "catalog": str(catalog_file.resolve()),
                "opened": opened,
                "started": started,
                "finished": provenance.now(),
                "blocks_computed": blocks_computed,
                "solves": computed.solves,
                **environment,
                "execution": plan.execution,
            },
        )
        # The verdict belongs to the store as much as its counts: recorded
        # under the same lease, so a resumed and a clean run of one config agree.
        # No Dask: the summary reads the store slab by slab; a task per chunk only adds overhead.
        with xr.open_zarr(store.zarr_store(read_only=True), chunks=None) as ds:
            summary = summarize(ds, counts, computed.tally)
        store.record_verdict(summary.verdict)
        digest = store.digest(computed.hashes)
    except Exception as err:
        message = f"{type(err).__name__}: {err}"
        _end_record(catalog_file, run_id, {"status": "error", "message": message}, store)
        raise RunStopped(
            f"the run on store.path={store} stopped: {message}\n"
            "Every block written before is kept; run the same command again to resume."
        ) from err
    except BaseException:
        _end_record(catalog_file, run_id, {"status": "interrupted"}, store)
        raise
    _end_record(
        catalog_file,
        run_id,
        {
            "status": run_status(counts),
            "verdict": summary.verdict,
            "opened": opened,
            "blocks_computed": blocks_computed,
            "message": _end_message(opened, blocks_computed, failures),
            "duration_s": round(time.monotonic() - clock, 3),
            "digest": digest,
        },
        store,
        counts,
        summary.figures,
    )
    return RunResult(
        store,
        opened,
        blocks_computed,
        counts,
        failures,
        run_id,
        catalog_file,
        summary,
        computed.tally,
    )


def _end_message(opened: str, blocks_computed: int, failures: list[str]) -> str | None:
    if failures:
        return f"{len(failures)} blocks failed"
    if opened == "resumed" and blocks_computed == 0:
        return "no-op: the store was already complete"
    return None


def _end_record(
    catalog_file: Path,
    run_id: int,
    fields: dict[str, Any],
    store: SweepStore,
    counts: dict[str, int] | None = None,
    figures: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Record how run ``run_id`` ended; a catalog that cannot be written does not hide it.

    Point ``counts``, when not given, are read from ``store``, if it can be read.
    """
    if counts is None:
        try:
            counts = status_counts(store.read_status())
        except Exception:  # a damaged store: the next run or verify says more
            counts = {}
    counted = {catalog.COUNT_COLUMNS[name]: n for name, n in counts.items()}
    try:
        catalog.update_run(
            catalog_file, run_id, {"finished": provenance.now(), **counted, **fields}, figures
        )
    except Exception as err:  # sqlite3 or OS errors: the store already says what happened
        log.error("could not record the end of run %d in %s: %s", run_id, catalog_file, err)
