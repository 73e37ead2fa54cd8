"""The allocator setting of the workers."""

from __future__ import annotations

import platform

from pipeline.run import memory


def test_malloc_keeps_freed_memory_where_the_c_library_is_glibc():
    """The setting that spares each block fresh pages takes where it exists (glibc's mallopt)."""
    glibc = platform.libc_ver()[0] == "glibc"
    assert memory.keep_freed_memory() is glibc
