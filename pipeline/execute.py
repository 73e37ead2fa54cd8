"""Run a sweep: Dask maps blocks of points to workers, each streams its block to the store.

Where the workers are is chosen by ``cluster.scheduler`` (``conf/cluster/``);
nothing else here depends on it.  Each task computes one block and writes it
into the store itself, so the driver never holds more than the small per-block
summaries, and memory is bounded by the block size times the number of
workers, not by the size of the sweep.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import yaml
from dask.callbacks import Callback

from pipeline import provenance, store
from pipeline.config import ClusterConfig, Config
from pipeline.simulate import simulate_block
from pipeline.status import STATUS
from pipeline.sweep import Block, Grid

log = logging.getLogger(__name__)

EXECUTION_ONLY = {("store", "path"), ("store", "overwrite"), ("cluster",)}
"""Config keys that do not change the results, left out of the fingerprint."""


@dataclass(frozen=True)
class RunResult:
    """What a run did: the store, how it was opened, and the point counts after it."""

    path: Path
    opened: str
    blocks_computed: int
    counts: dict[str, int]
    failures: list[str]


def results_config(config: Config) -> dict[str, Any]:
    """The config as plain data, without the keys in :data:`EXECUTION_ONLY`."""
    tree = dataclasses.asdict(config)
    for key in EXECUTION_ONLY:
        parent = tree
        for part in key[:-1]:
            parent = parent[part]
        parent.pop(key[-1], None)
    return tree


def compute_block(config: Config, grid: Grid, block: Block, path: Path) -> dict[str, Any]:
    """Simulate, check and write one block; return its status counts.

    A block whose computation raises is marked ``failed`` (its data are not
    written) and the sweep goes on; an error while writing propagates, so
    nothing is marked done without its data.
    """
    try:
        ds = simulate_block(config, grid, block.slices)
    except Exception:  # a numerical failure of one block must not stop the sweep
        message = traceback.format_exc(limit=3)
        store.write_status(path, grid.dims, block, STATUS["failed"])
        size = int(np.prod([s.stop - s.start for s in block.slices]))
        return {"counts": {"failed": size}, "failure": f"block {block.index}: {message}"}
    store.write_block(path, ds, grid.dims, block)
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


def _run_tasks(tasks: list, cluster: ClusterConfig, progress: _Progress) -> list[dict]:
    with _client(cluster) as client:
        if client is None:
            with _TaskCallback(progress.block_done):
                return list(
                    dask.compute(*tasks, scheduler=cluster.scheduler, num_workers=cluster.n_workers)
                )
        from distributed import as_completed

        futures = client.compute(tasks)
        results = []
        for future in as_completed(futures):
            results.append(future.result())
            progress.block_done()
        return results


def run_sweep(config: Config) -> RunResult:
    """Create or resume the store of ``config`` and compute every pending block."""
    grid = Grid.from_config(config.sweep.grid)
    probe = simulate_block(config, grid, tuple(slice(0, 1) for _ in grid.dims))
    layout = store.layout_for(grid, probe, config.store.chunk_mb, config.store.chunk_points)
    settings = results_config(config)
    code = provenance.code_version()
    attrs = {
        "producer": store.PRODUCER,
        "schema_version": store.SCHEMA_VERSION,
        "title": f"rate-network sweep {config.sweep.name!r}",
        "sweep": config.sweep.name,
        "network": config.network.kind,
        "config": yaml.safe_dump(dataclasses.asdict(config), sort_keys=False),
        "fingerprint": provenance.fingerprint(settings, code),
        "code": code,
        "created": provenance.now(),
        "run_status": "incomplete",
    }
    path = Path(config.store.path)
    full = store.template(probe, grid, layout)
    opened = store.prepare(
        path,
        full,
        store.encoding(full, layout, config.store.compression_level, config.store.compressor),
        attrs,
        config.store.overwrite,
    )
    started = provenance.now()
    todo = store.pending_blocks(store.read_status(path), layout)
    log.info(
        "%s store %s: %d points in %d blocks of up to %d, %d blocks to compute",
        opened,
        path,
        grid.size,
        len(layout.blocks()),
        int(np.prod(layout.chunks)),
        len(todo),
    )
    task = dask.delayed(compute_block, pure=False)
    tasks = [task(config, grid, block, path, dask_key_name=f"compute_block-{i}")
             for i, block in enumerate(todo)]
    results = _run_tasks(tasks, config.cluster, _Progress(len(todo), int(np.prod(layout.chunks))))
    counts = store.finalize(
        path,
        {"started": started, "finished": provenance.now(), "environment": provenance.environment()},
    )
    return RunResult(
        path=path,
        opened=opened,
        blocks_computed=len(todo),
        counts=counts,
        failures=[r["failure"] for r in results if r["failure"]],
    )
