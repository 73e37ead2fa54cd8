"""How the C library's allocator treats the large arrays every block allocates and frees.

A block allocates and frees arrays of tens of MB (its trajectories, their
mode activity, compressed chunks).  By default glibc's malloc hands memory
that large back to the kernel when it is freed, and the next block's arrays
fault in fresh pages, which the kernel must clear (on a virtual machine, the
host must first provide them).  Kept by malloc instead, the same pages serve
block after block.  What that spares is measured in ``benchmarks/README.md``.

The setting is glibc's ``mallopt``, reached through ``ctypes``, and it holds
for the whole process: so it is made only in processes this package starts
(the driver of ``python -m pipeline``, the worker processes of Dask's
``processes`` scheduler in a run, the workers of a local or SLURM cluster the
run starts: :func:`pipeline.run.backends.run_tasks`), never in a user's own
Python or in the workers of a scheduler the user runs (``cluster.address``).

Fallback, chosen at import (:data:`FAST`): where the switch of
:mod:`pipeline.adapters` is ``off``, or the C library has no ``mallopt``
(macOS, musl), nothing is set and malloc keeps its defaults; every result is
the same, only slower.

Upstream: none to wait for.  No library API sets these for one's own
allocations; glibc's tunables (``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=...:
glibc.malloc.trim_threshold=...:glibc.malloc.arena_max=...``) set the same
values, but only from the environment of a process before it starts, which
would make them the job of whoever launches each worker.
"""

from __future__ import annotations

import ctypes
import functools
import os
from typing import Any

from pipeline.adapters import fast_paths_allowed

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
"""``mallopt`` parameters, from glibc's ``malloc.h``."""

MMAP_THRESHOLD = 32 * 2**20
"""Allocations below this size come from the heap, which keeps them (glibc's largest setting)."""

TRIM_THRESHOLD = 2**30
"""Free memory at the top of the heap kept for reuse rather than returned to the kernel."""

ARENAS = os.cpu_count() or 1
"""Malloc arenas: one per core (glibc's default is eight).  Every arena keeps the
buffers freed in it, and zarr encodes and writes on a pool of its own threads,
each of which would otherwise get an arena of its own."""


def _mallopt() -> Any | None:
    """The C library's ``mallopt``, or None where it has none."""
    try:
        return ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return None


FAST = fast_paths_allowed() and _mallopt() is not None
"""Whether :func:`keep_freed_memory` sets malloc's parameters: the switch allows it and
the C library has ``mallopt``."""


@functools.cache
def keep_freed_memory() -> bool:
    """Have malloc keep freed allocations of up to 32 MB for reuse, in at most
    :data:`ARENAS` arenas; once per process.  Call it only in a process this
    package started.

    Returns whether the C library took the settings: False on the fallback
    (:data:`FAST`), which changes nothing but speed.
    """
    mallopt = _mallopt() if FAST else None
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(
        mallopt(M_ARENA_MAX, ARENAS)
        and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
