"""Durable, atomic writes on a local or shared file system: zarr's LocalStore, made to last.

zarr-python's :class:`zarr.storage.LocalStore` already writes each key to a
temporary file and renames it into place, so a reader never sees half a
chunk.  :class:`DurableLocalStore` keeps that and adds what a sweep's
resume relies on: a value of :data:`FLUSHED_BYTES` or more (the
trajectories) is on disk before it is renamed into place, and its pages are
dropped from the page cache, since a sweep writes far more than it reads
back.  The temporary names are this module's own (:data:`TEMPORARY_SUFFIX`),
so the integrity scan finds what an interrupted write left behind.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from zarr.core.buffer import Buffer
from zarr.storage import LocalStore

TEMPORARY_SUFFIX = ".partial"
"""Suffix of a file being written (``<key>.<random hex>.partial``); renamed when whole."""

FLUSHED_BYTES = 2**20
"""Values this large (the trajectories) are on disk before they are renamed into place."""

_datasync = getattr(os, "fdatasync", os.fsync)
"""Waits until a file's data and length are on disk (fsync where there is no fdatasync)."""


def flush_to_disk(fd: int) -> None:
    """Return once the data of the open file ``fd`` are on disk; drop its cached pages."""
    _datasync(fd)
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def put(path: Path, data: Any) -> None:
    """Replace the file ``path`` by ``data`` (any buffer) atomically: temporary file, rename.

    ``data`` of at least :data:`FLUSHED_BYTES` is on disk before the rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}")
    try:
        with open(partial, "wb") as file:
            file.write(data)
            if memoryview(data).nbytes >= FLUSHED_BYTES:
                file.flush()
                flush_to_disk(file.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


class DurableLocalStore(LocalStore):
    """zarr's LocalStore whose writes go through :func:`put`."""

    async def set(self, key: str, value: Buffer) -> None:
        if not self._is_open:
            await self._open()
        self._check_writable()
        await asyncio.to_thread(put, self.root / key, value.as_buffer_like())

    def set_sync(self, key: str, value: Buffer) -> None:
        self._ensure_open_sync()
        self._check_writable()
        put(self.root / key, value.as_buffer_like())

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        # Only metadata is written this way, under the store's lease: no race to guard.
        if not await self.exists(key):
            await self.set(key, value)
