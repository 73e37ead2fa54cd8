"""What glibc's malloc does with one large request, seen from inside a process.

A fresh process's malloc serves a request of tens of MB with its own ``mmap``
(glibc's default threshold is 128 KiB, raised only by freeing such blocks);
after :func:`pipeline.adapters.glibc.keep_freed_memory` it serves anything
below 32 MB from its heap.  ``mallinfo2().hblkhd`` counts the bytes malloc
holds in such ``mmap`` blocks, so its change over one request tells which.
Probe once per process: freeing a block it mapped raises glibc's default
threshold to that block's size, so a second probe would find the heap.
"""

from __future__ import annotations

import ctypes
import platform

PROBE = 31 * 2**20
"""A request below the 32 MB threshold that :mod:`pipeline.adapters.glibc` sets."""

_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
           "fordblks", "keepcost")  # fmt: skip


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _FIELDS]


def can_probe() -> bool:
    """Whether this C library is glibc with ``mallinfo2`` (glibc 2.33 and later)."""
    return platform.libc_ver()[0] == "glibc" and hasattr(ctypes.CDLL(None), "mallinfo2")


def large_request_is_mmapped(size: int = PROBE) -> bool:
    """Whether malloc serves ``size`` bytes by a ``mmap`` of their own (glibc's default for
    a request this large) rather than from its heap (the adapter's setting)."""
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _Mallinfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(size)
    after = libc.mallinfo2().hblkhd
    libc.free(block)
    return after - before >= size


def probe_task() -> dict:
    """:func:`large_request_is_mmapped` as a task's result that the run's progress can count."""
    return {"counts": {}, "mmapped": large_request_is_mmapped()}
