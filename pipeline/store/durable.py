"""Durable, atomic writes on a local or shared file system: zarr's LocalStore, made to last.

zarr-python's :class:`zarr.storage.LocalStore` already writes each key to a
temporary file and renames it into place, so a reader never sees half a
chunk.  :class:`DurableLocalStore` keeps that and adds what a sweep's
resume relies on: a value of :data:`FLUSHED_BYTES` or more (the
trajectories) is on disk before it is renamed into place.  Such a value is
written past the page cache (``O_DIRECT``), since a sweep writes far more
than it reads back: the disk reads it from this process's memory instead of
from fresh page-cache pages that would first be filled and then written
back (what that saves: ``benchmarks/README.md``).  Where ``O_DIRECT`` is
refused (tmpfs, for instance) or missing (macOS), the file is written
through the page cache, flushed, and its pages dropped.  The temporary
names are this module's own (:data:`TEMPORARY_SUFFIX`), so the integrity
scan finds what an interrupted write left behind.

A store made with ``keep_hashes=True`` also hashes each value it puts
(:func:`content_hash`) while the value is in memory, and keeps the hash until
the writer takes it (:meth:`DurableLocalStore.take_hash`): a run's digest of
its store then reads back only what it did not write itself.

Only zarr's public API is used here: ``LocalStore``'s constructor, its
``read_only`` property and the ``Buffer`` protocol (``as_buffer_like``).
"""

from __future__ import annotations

import asyncio
import errno
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xxhash
from zarr.storage import LocalStore

if TYPE_CHECKING:
    from zarr.abc.buffer import Buffer

TEMPORARY_SUFFIX = ".partial"
"""Suffix of a file being written (``<key>.<random hex>.partial``); renamed when whole."""

FLUSHED_BYTES = 2**20
"""Values this large (the trajectories) are on disk before they are renamed into place."""

DIRECT_ALIGNMENT = 4096
"""Alignment of the memory, offset and length of an ``O_DIRECT`` write: a page,
a multiple of every common logical block size."""

_datasync = getattr(os, "fdatasync", os.fsync)
"""Waits until a file's data and length are on disk (fsync where there is no fdatasync)."""


def content_hash(data: Any) -> bytes:
    """The 128-bit XXH3 hash of ``data`` (any buffer): what tells two stores' bytes apart.

    Not a cryptographic hash: a digest compares stores a user wrote, and
    an accidental difference goes unseen with probability 2**-128.  It is
    hashed as each chunk is written, so its speed counts (XXH3 against
    SHA-256: ``benchmarks/README.md``).
    """
    return xxhash.xxh3_128_digest(data)


def content_hasher() -> Any:
    """A running :func:`content_hash` (``update(data)``, then ``hexdigest()``)."""
    return xxhash.xxh3_128()


def flush_to_disk(fd: int) -> None:
    """Return once the data of the open file ``fd`` are on disk; drop its cached pages."""
    _datasync(fd)
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def write_direct(partial: Path, data: Any, direct: int) -> None:
    """Write ``data`` to the new file ``partial`` opened with flag ``direct`` (``O_DIRECT``).

    Copied into an aligned buffer, padded to whole blocks, written, then cut
    back to its length and flushed.  Raises OSError with errno EINVAL where
    the file system refuses it, at the open (before any copy is made) or at
    the write.
    """
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | direct, 0o644)
    try:
        source = np.frombuffer(data, dtype=np.uint8)
        padded = -(-source.size // DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT
        buffer = np.empty(padded + DIRECT_ALIGNMENT, dtype=np.uint8)
        start = -buffer.ctypes.data % DIRECT_ALIGNMENT
        aligned = buffer[start : start + padded]
        aligned[: source.size] = source
        written = 0
        while written < padded:
            written += os.write(fd, aligned[written:])
        os.ftruncate(fd, source.size)  # the padding goes; the blocks past the end are freed
        _datasync(fd)  # the new length, and data in the disk's cache
    finally:
        os.close(fd)


def _write_to_disk(partial: Path, data: Any) -> None:
    """Write ``data`` to the new file ``partial``; return once it is on disk."""
    direct = getattr(os, "O_DIRECT", None)
    if direct is not None:
        try:
            write_direct(partial, data, direct)
            return
        except OSError as err:
            if err.errno != errno.EINVAL:
                raise
    with open(partial, "wb") as file:  # replaces what a refused O_DIRECT write began
        file.write(data)
        file.flush()
        flush_to_disk(file.fileno())


def _write_partial(partial: Path, data: Any) -> None:
    if memoryview(data).nbytes >= FLUSHED_BYTES:
        _write_to_disk(partial, data)
    else:
        with open(partial, "wb") as file:
            file.write(data)


def _unique_partial(path: Path) -> Path:
    return path.with_name(f"{path.name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}")


def _write_new(partial: Path, path: Path, data: Any) -> None:
    """Write ``data`` to the new file ``partial``, making ``path``'s folders if they are
    missing (the first key of a folder: a mkdir per key costs more than this retry)."""
    try:
        _write_partial(partial, data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_partial(partial, data)


def put(path: Path, data: Any) -> None:
    """Replace the file ``path`` by ``data`` (any buffer) atomically: temporary file, rename.

    ``data`` of at least :data:`FLUSHED_BYTES` is on disk before the rename.
    """
    partial = _unique_partial(path)
    try:
        _write_new(partial, path, data)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def put_if_absent(path: Path, data: Any) -> bool:
    """Create the file ``path`` holding ``data`` unless it exists; whether it was created.

    Atomic: the whole file is written under a temporary name and hard-linked
    to ``path``, which fails when ``path`` exists, so of two writers exactly
    one creates it and no reader sees a part of it.
    """
    partial = _unique_partial(path)
    try:
        _write_new(partial, path, data)
        try:
            os.link(partial, path)
        except FileExistsError:
            return False
        return True
    finally:
        partial.unlink(missing_ok=True)


class DurableLocalStore(LocalStore):
    """zarr's LocalStore whose writes go through :func:`put` (and :func:`put_if_absent`).

    With ``keep_hashes=True`` it keeps the :func:`content_hash` of every value
    it puts, by key, until :meth:`take_hash` takes it.
    """

    def __init__(self, root: Path | str, *, read_only: bool = False, keep_hashes: bool = False):
        super().__init__(root, read_only=read_only)
        self.keep_hashes = keep_hashes
        self._hashes: dict[str, bytes] = {}

    def with_read_only(self, read_only: bool = False) -> DurableLocalStore:
        return type(self)(self.root, read_only=read_only, keep_hashes=self.keep_hashes)

    def __getstate__(self) -> dict[str, Any]:
        # Hashes belong to the process that wrote the values: a copy starts with none.
        return {**self.__dict__, "_hashes": {}}

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise ValueError("store was opened in read-only mode and does not support writing")

    def _put(self, key: str, data: Any) -> None:
        put(self.root / key, data)
        if self.keep_hashes:
            self._hashes[key] = content_hash(data)

    async def set(self, key: str, value: Buffer) -> None:
        self._refuse_if_read_only()
        await asyncio.to_thread(self._put, key, value.as_buffer_like())

    def set_sync(self, key: str, value: Buffer) -> None:
        """Put ``value`` at ``key`` in this thread (zarr's ``SupportsSetSync``)."""
        self._refuse_if_read_only()
        self._put(key, value.as_buffer_like())

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        self._refuse_if_read_only()
        await asyncio.to_thread(put_if_absent, self.root / key, value.as_buffer_like())

    def take_hash(self, key: str) -> bytes | None:
        """The :func:`content_hash` of the value last put at ``key``, forgotten here; None if
        none was put since it was last taken (or hashes are not kept)."""
        return self._hashes.pop(key, None)
