"""How the C library's allocator treats the large arrays every block allocates and frees.

A block allocates and frees arrays of tens of MB (its trajectories, their
mode activity, compressed chunks).  By default glibc's malloc hands memory
that large back to the kernel when it is freed, and the next block's arrays
fault in fresh pages, which the kernel must clear (on a virtual machine, the
host must first provide them).  Kept by malloc instead, the same pages serve
block after block (what that saves: ``benchmarks/README.md``).
"""

from __future__ import annotations

import ctypes
import functools
import os

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


@functools.cache
def keep_freed_memory() -> bool:
    """Have malloc keep freed allocations of up to 32 MB for reuse, in at most
    :data:`ARENAS` arenas; once per process.

    Returns whether the C library took the settings: False where it is not
    glibc (macOS, musl), which changes nothing but speed.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(
        mallopt(M_ARENA_MAX, ARENAS)
        and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
