"""What a run needs of the machine, estimated from the config before anything is computed.

A block holds its points' trajectories, ``n_samples x n_neuron`` float64
values each, and while it is computed and checked about
:data:`WORKING_COPIES` arrays of that size (the solver's states, the mode
activity, the rates as stored, the compressed chunk).  ``store.chunk_mb`` is
the budget of one block's trajectories: blocks hold as many points as fit in
it, and a point that alone exceeds it is refused, as is a run whose blocks
cannot fit in the memory this machine has free, or whose recording cannot
fit on the disk at ``store.path``.  Each refusal (:class:`ResourceError`,
exit 2) names the key to change and a value that would fit, and comes
before the probe of the sweep allocates a single trajectory.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import psutil
from dask.utils import format_bytes, parse_bytes

from pipeline.config.schema import Config, ConfigError, SlurmCluster
from pipeline.grid import Grid, points_per_block
from pipeline.model.networks import NETWORKS

WORKING_COPIES = 8
"""Peak memory of a block over the bytes of its float64 trajectories: the solver's
states, the mode activity, the rates as stored and the chunk as encoded, with room
to spare, so that a run this estimate admits does not run out of memory.  A block
sized by ``store.chunk_mb`` holds at most that much of trajectories, so the blocks
of a run take at most ``WORKING_COPIES x workers x store.chunk_mb`` (the rule the
config reference and ``docs/performance.md`` state);
``tests/pipeline/run/test_resources.py`` checks that computing a block stays below it."""

COMPRESSED_FRACTION = 0.4
"""Smallest fraction of its size a recording takes on disk, below what lz4 keeps of
the default scenarios' trajectories: only a recording that cannot fit in the free
space even compressed is refused."""


class ResourceError(ConfigError):
    """A config whose run cannot fit in this machine's memory or disk."""


@dataclass(frozen=True)
class Needs:
    """Bytes a run needs: one block in memory, all blocks at once, and the recording."""

    point: int
    block_points: int
    concurrent: int
    recording: int

    @property
    def block(self) -> int:
        return self.block_points * self.point * WORKING_COPIES


def needs(config: Config, grid: Grid) -> Needs:
    """What ``config``'s run needs, from its shape alone (one network is built, nothing solved)."""
    first = grid.points(tuple(slice(0, 1) for _ in grid.dims))
    n_neuron = NETWORKS[config.network.kind].build(first, config.network).weights.shape[-1]
    samples = config.record.n_samples
    point = samples * n_neuron * 8
    block_points = points_per_block(
        grid.size, point, config.store.chunk_mb, config.store.chunk_points
    )
    cluster = config.cluster
    # Blocks in this machine's memory at once: one per local worker.
    local = cluster.scheduler in ("threads", "processes")
    concurrent = (cluster.n_workers or os.cpu_count() or 1) if local else 1
    itemsize = 4 if config.store.rate_dtype == "float32" else 8
    recording = grid.size * samples * n_neuron * itemsize
    return Needs(
        point, block_points, min(concurrent, math.ceil(grid.size / block_points)), recording
    )


def available_memory() -> int:
    """Bytes of memory a new process can take without swapping (``psutil``'s ``available``)."""
    return psutil.virtual_memory().available


def free_disk(path: Path) -> int:
    """Bytes free on the filesystem that ``path`` (or its nearest existing parent) is on."""
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free


def check_resources(
    config: Config, grid: Grid, memory: int | None = None, disk: int | None = None
) -> Needs:
    """Refuse ``config`` if one of its blocks cannot fit in ``memory`` or its recording on ``disk``.

    ``memory`` and ``disk`` default to what this machine has free now (the
    disk at ``store.path``, a local path).  Returns the estimate.
    """
    need = needs(config, grid)
    memory = available_memory() if memory is None else memory
    record = config.record
    budget = config.store.chunk_mb * 2**20
    if need.point > budget and config.store.chunk_points is None:
        per_sample = need.point // record.n_samples
        fits = int(budget // per_sample)
        raise ResourceError(
            f"record.dt={record.dt} with record.duration={record.duration} records "
            f"{record.n_samples:,} samples per point, {format_bytes(need.point)} of trajectories, "
            f"more than a block may hold (store.chunk_mb={config.store.chunk_mb}); "
            f"{fits:,} samples fit (record.dt >= {record.duration / max(fits - 1, 1):.3g}), "
            f"or raise store.chunk_mb to {math.ceil(need.point / 2**20)} if "
            f"{format_bytes(need.point * WORKING_COPIES)} of memory per block is free"
        )
    if need.point * WORKING_COPIES > memory:
        fits = memory // (WORKING_COPIES * need.point // record.n_samples)
        raise ResourceError(
            f"record.dt={record.dt} with record.duration={record.duration} records "
            f"{record.n_samples:,} samples per point: one point needs about "
            f"{format_bytes(need.point * WORKING_COPIES)} of memory and "
            f"{format_bytes(memory)} is free; "
            f"at most {fits:,} samples fit (record.dt >= {record.duration / max(fits - 1, 1):.3g})"
        )
    if need.block * need.concurrent > memory:
        fits = max(1, memory // (need.concurrent * need.point * WORKING_COPIES))
        raise ResourceError(
            f"store.chunk_mb={config.store.chunk_mb} (store.chunk_points="
            f"{config.store.chunk_points}) makes blocks of {need.block_points:,} points: "
            f"{need.concurrent} at once need about {format_bytes(need.block * need.concurrent)} "
            f"of memory and {format_bytes(memory)} is free; blocks of at most {fits:,} points fit "
            f"(store.chunk_points={fits}, or fewer cluster.n_workers)"
        )
    check_job_memory(config, need)
    disk = free_disk(Path(config.store.path)) if disk is None else disk
    if need.recording * COMPRESSED_FRACTION > disk:
        raise ResourceError(
            f"store.path={config.store.path}: the recording of {grid.size:,} points x "
            f"{record.n_samples:,} samples takes {format_bytes(need.recording)} "
            f"(at least {format_bytes(int(need.recording * COMPRESSED_FRACTION))} compressed) and "
            f"{format_bytes(disk)} is free there; choose another store.path, a shorter "
            "record.duration, a larger record.dt, fewer sweep.grid values or "
            "store.rate_dtype=float32"
        )
    return need


def check_job_memory(config: Config, need: Needs) -> None:
    """Refuse SLURM jobs whose memory cannot hold the blocks they compute at once.

    A worker job of ``cluster=slurm``, and a task of an array, computes a block
    on each of its ``cluster.cores`` threads within ``cluster.memory``; an
    array's finishing job one on each of ``cluster.finish.cores`` within
    ``cluster.finish.memory`` (null: a task's).  Each needs
    ``cores x WORKING_COPIES x`` a block's trajectories.
    """
    cluster = config.cluster
    if not isinstance(cluster, SlurmCluster):
        return
    finish = cluster.finish
    jobs = [("cluster", cluster.memory, cluster.cores)]
    if cluster.array_tasks is not None and (finish.memory or finish.cores):
        own = (finish.memory or cluster.memory, finish.cores or cluster.cores)
        jobs.append(("cluster.finish", *own))
    for key, memory, cores in jobs:
        if need.block * cores > parse_bytes(memory):
            raise ResourceError(
                f"{key}.memory={memory} cannot hold the {cores} blocks its jobs compute at once "
                f"({key}.cores={cores}, blocks of {need.block_points:,} points, about "
                f"{format_bytes(need.block)} each): give {key}.memory="
                f"{math.ceil(need.block * cores / 2**20)}MiB or more, fewer {key}.cores, or "
                "smaller blocks (store.chunk_points)"
            )
