"""Chunk files of a store: their format, and durable, atomic writes of them.

A block is exactly one chunk of every array with the sweep dimensions, so
each chunk file is written whole: encoded as the array's ``.zarray`` says,
written to a temporary name and renamed into place.  Large chunk files (the
trajectories) are on disk before they are renamed.
"""

from __future__ import annotations

import errno
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import xarray as xr
import zarr

from pipeline.grid import Block


@dataclass(frozen=True)
class ChunkFormat:
    """How the chunks of one Zarr v2 array are laid out and encoded (its ``.zarray``)."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: np.dtype
    order: str
    codecs: tuple[numcodecs.abc.Codec, ...]
    separator: str

    def encode(self, values: np.ndarray, dims: Sequence[str]) -> bytes:
        """The chunk file of ``values`` (dims ``dims``): transposed, padded, cast and encoded."""
        values = np.asarray(values).transpose([list(dims).index(d) for d in self.dims])
        chunk = np.require(values, self.dtype, self.order)
        if chunk.shape != self.shape:
            # An edge block is smaller than a chunk; Zarr v2 stores edge chunks padded.
            chunk = np.zeros(self.shape, dtype=self.dtype, order=self.order)
            chunk[tuple(slice(0, n) for n in values.shape)] = values
        encoded = chunk.ravel(order="A")
        for codec in self.codecs:
            encoded = codec.encode(encoded)
        return encoded

    def key(self, sweep_dims: Sequence[str], block: Block) -> str:
        """The chunk key of ``block`` (index 0 along the dimensions that are not swept)."""
        index = dict(zip(sweep_dims, block.index, strict=True))
        return self.separator.join(str(index.get(d, 0)) for d in self.dims)


def chunk_formats(path: Path) -> dict[str, ChunkFormat]:
    """The chunk format of every array of the store at ``path``, read from its metadata.

    Read once per run and handed to the tasks, so that writing a block opens
    no metadata file.
    """
    formats = {}
    for meta_file in sorted(path.glob("*/.zarray")):
        meta = json.loads(meta_file.read_text())
        attrs = json.loads((meta_file.parent / ".zattrs").read_text())
        formats[meta_file.parent.name] = ChunkFormat(
            dims=tuple(attrs["_ARRAY_DIMENSIONS"]),
            shape=tuple(meta["chunks"]),
            dtype=np.dtype(meta["dtype"]),
            order=meta["order"],
            codecs=tuple(
                numcodecs.get_codec(config)
                for config in [*(meta["filters"] or []), meta["compressor"]]
                if config is not None
            ),
            separator=meta.get("dimension_separator", "."),
        )
    return formats


def _replace_file(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` through a temporary file, as zarr does (``*.partial``).

    A file of at least :data:`FLUSHED_BYTES` is on disk, and not in the page
    cache, before it is renamed into place (:func:`_write_to_disk`).
    """
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
    try:
        if memoryview(data).nbytes >= FLUSHED_BYTES:
            _write_to_disk(partial, data)
        else:
            _write_through_cache(partial, data, to_disk=False)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


FLUSHED_BYTES = 2**20
"""Chunk files this large (the trajectories) go to disk past the page cache."""

DIRECT_ALIGNMENT = 4096
"""Alignment of the memory, offset and length of an ``O_DIRECT`` write: a page,
a multiple of every common logical block size."""

_datasync = getattr(os, "fdatasync", os.fsync)
"""Waits until a file's data and length are on disk (fsync where there is no fdatasync)."""


def _write_to_disk(partial: Path, data: Any) -> None:
    """Write ``data`` to the new file ``partial`` and return once it is on disk.

    A sweep writes far more than it reads back.  Through the page cache,
    every chunk would first be copied into fresh pages, which the kernel
    must find and clear (on a virtual machine the host must first provide
    them), and then written back; and the pages nobody reads would fill
    memory.  With ``O_DIRECT`` the disk reads the chunk from this process's
    memory instead: copied into an aligned buffer, padded to whole blocks,
    written, then truncated to its length (what that saves:
    ``benchmarks/README.md``).  Where ``O_DIRECT`` is refused (tmpfs, for
    instance) or missing (macOS), the file is written through the page cache,
    flushed, and its pages dropped.
    """
    direct = getattr(os, "O_DIRECT", None)
    if direct is not None:
        try:
            _write_direct(partial, data, direct)
            return
        except OSError as err:
            if err.errno != errno.EINVAL:
                raise
    _write_through_cache(partial, data, to_disk=True)


def _write_through_cache(partial: Path, data: Any, *, to_disk: bool) -> None:
    """Write ``data`` to ``partial`` (replacing what is there) through the page cache.

    ``to_disk``: return once it is on disk, with its pages dropped from the cache.
    """
    with open(partial, "wb") as file:
        file.write(data)
        if to_disk:
            file.flush()
            _datasync(file.fileno())
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def _write_direct(partial: Path, data: Any, direct: int) -> None:
    """Write ``data`` to the new file ``partial`` opened with flag ``direct`` (``O_DIRECT``).

    Raises OSError with errno EINVAL where the file system refuses it, at
    the open (before any copy is made) or at the write.
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


def write_block(
    path: Path,
    ds: xr.Dataset,
    dims: Sequence[str],
    block: Block,
    formats: Mapping[str, ChunkFormat] | None = None,
) -> None:
    """Write one block's data chunks, then its status chunk.

    A block is exactly one chunk of every array with the sweep dimensions, so
    each chunk file is written whole, encoded as ``formats`` (from
    :func:`chunk_formats`; read from the store when not given) says, rather
    than through zarr-python's ``Array.__setitem__``, whose interpreter time
    per array exceeded compressing the chunk (``benchmarks/README.md``).
    """
    formats = formats if formats is not None else chunk_formats(path)
    names = [n for n in ds.data_vars if n != "status" and set(dims) <= set(ds.variables[n].dims)]
    for name in [*names, "status"]:
        var, form = ds.variables[name], formats[str(name)]
        _replace_file(path / str(name) / form.key(dims, block), form.encode(var.values, var.dims))


def write_status(
    path: Path,
    dims: Sequence[str],
    block: Block,
    code: int,
    formats: Mapping[str, ChunkFormat] | None = None,
) -> None:
    """Mark every point of ``block`` with one status (``failed``: its data are not written)."""
    form = (formats if formats is not None else chunk_formats(path))["status"]
    values = np.full(block.shape, code, dtype=np.int8)
    _replace_file(path / "status" / form.key(dims, block), form.encode(values, dims))


def read_status(path: Path) -> np.ndarray:
    """The status code of every sweep point."""
    return zarr.open_group(str(path), mode="r", zarr_format=2)["status"][...]
