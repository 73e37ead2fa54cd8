"""The Zarr store of a sweep: layout, creation, block writes, resume and provenance.

Layout (Zarr format 2, consolidated metadata, readable by ``xr.open_zarr``):

- every variable with the sweep dimensions is chunked by the sweep's blocks
  along them and whole along the others (``time``, ``neuron``, ``mode``, ...),
  so each Dask task writes whole chunks that no other task touches;
- a block's data chunks are written first and its ``status`` chunk last, and
  every chunk is written even when it equals the fill value, so a point that
  reads ``ok`` or ``diverged`` has its data on disk; a point that reads
  ``failed`` has none (its computation raised), and one that reads
  ``pending`` was never finished;
- writing a block twice writes the same bytes (the computation is
  deterministic and Zarr replaces each chunk file by an atomic rename), so a
  task that Dask runs twice, or two drivers of one config, are harmless;
- root attributes hold the schema version, the resolved config (the part
  that determines the results), its fingerprint, the code version,
  ``run_status`` (``complete`` once every point is ok or diverged),
  ``point_counts``, ``created`` and a ``history`` of the runs that wrote it.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import xarray as xr
import yaml
import zarr

from pipeline.grid import Block, Grid, block_shape, blocks, points_per_block
from pipeline.store.integrity import Scan, block_slices, leftover_files
from pipeline.store.status import STATUS

SCHEMA_VERSION = 1
PRODUCER = "rate-sweeps"
"""Root attribute ``producer``: marks a directory as a store of this pipeline."""


class StoreError(RuntimeError):
    """A store that cannot be written as asked; the message says what to do instead."""


@dataclass(frozen=True)
class Layout:
    """Sweep dimensions of a store and how they are cut into blocks."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]

    def blocks(self) -> list[Block]:
        return list(blocks(self.shape, self.chunks))


def layout_for(grid: Grid, probe: xr.Dataset, chunk_mb: float, chunk_points: int | None) -> Layout:
    """Blocks of about ``chunk_mb`` of data as computed, from a one-point ``probe``.

    ``rate`` counts as float64, the precision it is computed and checked in,
    whatever ``store.rate_dtype`` keeps on disk: so the memory a block takes
    does not depend on the storage type.
    """
    per_point = sum(v.nbytes for v in probe.data_vars.values() if set(grid.dims) <= set(v.dims))
    per_point += probe["rate"].size * (8 - probe["rate"].dtype.itemsize)
    n = points_per_block(grid.size, per_point, chunk_mb, chunk_points)
    return Layout(dims=grid.dims, shape=grid.shape, chunks=block_shape(grid.shape, n))


def template(probe: xr.Dataset, grid: Grid, layout: Layout) -> xr.Dataset:
    """The full store: the probe's variables grown to the whole grid.

    The variables with the sweep dimensions hold only placeholders (zeros
    that take no memory); everything else holds its values.
    """
    data_vars = {}
    for name, var in probe.data_vars.items():
        if not set(layout.dims) <= set(var.dims):
            data_vars[name] = var
            continue
        var = var.transpose(*layout.dims, ...)
        inner = var.shape[len(layout.dims) :]
        # A placeholder of the right shape that takes no memory: the blocks write
        # these arrays, :func:`prepare` only creates them.
        placeholder = np.broadcast_to(np.zeros((), var.dtype), layout.shape + inner)
        data_vars[name] = xr.Variable(var.dims, placeholder, var.attrs)
    return xr.Dataset(data_vars, coords={**probe.coords, **grid.coords()})


def encoding(
    ds: xr.Dataset, layout: Layout, compression_level: int, compressor: str = "lz4"
) -> dict[str, dict]:
    """Zarr encoding of every variable: one chunk per block of ``layout``, compressed.

    Blosc ``compressor`` with byte shuffle; NaN fill for floats, none for codes.
    """
    codec = numcodecs.Blosc(compressor, compression_level, shuffle=numcodecs.Blosc.SHUFFLE)
    result = {}
    for name, var in ds.data_vars.items():
        entry: dict[str, Any] = {"compressors": [codec]}
        if set(layout.dims) <= set(var.dims):
            entry["chunks"] = layout.chunks + var.shape[len(layout.dims) :]
        if np.issubdtype(var.dtype, np.floating):
            entry["_FillValue"] = np.nan
        else:
            entry["_FillValue"] = None
        result[name] = entry
    return result


def root_attrs(path: Path) -> dict[str, Any] | None:
    """Root attributes of the pipeline store at ``path``; None if it is not one."""
    try:
        attrs = dict(zarr.open_group(str(path), mode="r", zarr_format=2).attrs)
    except (FileNotFoundError, NotADirectoryError, zarr.errors.GroupNotFoundError, ValueError):
        return None
    return attrs if attrs.get("producer") == PRODUCER else None


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _code(code: Mapping[str, Any]) -> str:
    if not code.get("dirty"):
        return f"commit {code['commit']}"
    return f"commit {code['commit']} with uncommitted changes {code.get('diff', '')[:12]}"


def describe_difference(stored: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The config keys and code versions in which two fingerprinted runs differ.

    ``stored`` and ``new`` hold ``config`` (a nested mapping) and ``code``
    (:func:`pipeline.records.provenance.code_version`).
    """
    old, cur = _flatten(stored["config"]), _flatten(new["config"])
    lines = [
        f"  {key}: {old.get(key, '(absent)')!r} in the store, {cur.get(key, '(absent)')!r} now"
        for key in sorted(old.keys() | cur.keys())
        if old.get(key) != cur.get(key)
    ]
    if stored["code"] != new["code"]:
        lines.append(f"  code: {_code(stored['code'])} in the store, {_code(new['code'])} now")
    return "\n".join(lines)


def _occupied(path: Path) -> bool:
    return path.exists() and not (path.is_dir() and not any(path.iterdir()))


def check_path(path: Path, attrs: Mapping[str, Any], overwrite: bool) -> str:
    """How a run whose root attributes are ``attrs`` may open ``path``, touching nothing.

    Returns ``"create"``, ``"resume"`` (a store of the same fingerprint, even
    with ``overwrite``: resuming gives the same bytes without discarding
    work) or ``"overwrite"``.  Raises :class:`StoreError` when ``path`` holds
    something other than this pipeline's store, or a store of another config
    and ``overwrite`` is false.
    """
    if not _occupied(path):
        return "create"
    existing = root_attrs(path)
    if existing is None:
        raise StoreError(
            f"store.path={path} exists and is not a store of this pipeline; "
            "nothing was written. Choose another store.path."
        )
    if existing.get("fingerprint") == attrs["fingerprint"]:
        return "resume"
    if not overwrite:
        stored = {"config": yaml.safe_load(existing["config"]), "code": existing["code"]}
        new = {"config": yaml.safe_load(attrs["config"]), "code": attrs["code"]}
        raise StoreError(
            f"store.path={path} holds a sweep of a different config or code, so it "
            f"cannot be resumed:\n{describe_difference(stored, new)}\n"
            "Nothing was written. Run with another store.path=... for a new store, or "
            "with store.overwrite=true to replace this one."
        )
    return "overwrite"


def _staging(path: Path, purpose: str) -> Path:
    """A hidden sibling of ``path`` for a store being created or discarded."""
    return path.with_name(f".{path.name}.{purpose}-{uuid.uuid4().hex[:12]}")


def _remove_stale_staging(path: Path) -> None:
    """Delete what a killed driver left while creating or replacing the store at ``path``."""
    for purpose in ("creating", "replaced"):
        for stale in path.parent.glob(f".{path.name}.{purpose}-*"):
            shutil.rmtree(stale, ignore_errors=True)


def prepare(
    path: Path,
    full: xr.Dataset,
    encodings: dict[str, dict],
    attrs: dict[str, Any],
    overwrite: bool,
) -> str:
    """Create the store, replace it, or check that it can be resumed (hold its lease).

    Returns ``"created"``, ``"overwritten"`` or ``"resumed"``; refuses as
    :func:`check_path` does.  A new store is built beside ``path`` and
    renamed into place, so a store at ``path`` always has all its metadata:
    a driver killed while creating leaves only a hidden sibling, which the
    next driver deletes.
    """
    action = check_path(path, attrs, overwrite)
    _remove_stale_staging(path)
    if action == "resume":
        return "resumed"
    staged = _staging(path, "creating")
    try:
        _create(staged, full, encodings, attrs)
        if action == "overwrite":
            retired = _staging(path, "replaced")
            path.rename(retired)
            staged.rename(path)
            shutil.rmtree(retired)
        else:
            staged.rename(path)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return "overwritten" if action == "overwrite" else "created"


def _create(path: Path, full: xr.Dataset, encodings: dict[str, dict], attrs: dict) -> None:
    """Write the metadata of every array of ``full`` and the values of those without sweep dims.

    xarray writes the coordinates and the variables without the sweep
    dimensions.  The arrays the blocks fill (those with every dimension of
    ``status``) are created through zarr with the metadata xarray would give
    them: xarray would need them as lazy Dask arrays, and writing through
    Dask took twice as long (0.45 s against 0.25 s for the benchmarks' store).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    swept = _block_filled(full)
    fixed = full.drop_vars(swept)
    fixed.attrs = dict(attrs)
    # Every chunk is written, even one equal to the fill value: a missing chunk means damage.
    fixed.to_zarr(
        str(path),
        mode="w-",
        zarr_format=2,
        consolidated=False,
        encoding={name: encodings[name] for name in fixed.data_vars},
        write_empty_chunks=True,
    )
    group = zarr.open_group(str(path), mode="r+", zarr_format=2)
    for name in swept:
        var, encoding = full.variables[name], encodings[name]
        group.create_array(
            str(name),
            shape=var.shape,
            chunks=encoding["chunks"],
            dtype=var.dtype,
            fill_value=encoding["_FillValue"],
            compressors=encoding["compressors"],
            chunk_key_encoding={"name": "v2", "separator": "."},
            attributes={**_json_attrs(var.attrs), "_ARRAY_DIMENSIONS": list(var.dims)},
        )
    zarr.consolidate_metadata(str(path), zarr_format=2)


def _block_filled(ds: xr.Dataset) -> list[str]:
    """The variables the blocks write: those with every dimension of ``status``."""
    sweep_dims = set(ds["status"].dims)
    return [str(name) for name, var in ds.data_vars.items() if sweep_dims <= set(var.dims)]


def _json_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as JSON holds them: numpy arrays as lists, numpy scalars as numbers."""
    return {
        key: value.tolist() if isinstance(value, np.ndarray | np.generic) else value
        for key, value in attrs.items()
    }


def _open_group(path: Path) -> zarr.Group:
    return zarr.open_group(str(path), mode="r+", zarr_format=2, use_consolidated=False)


@dataclass(frozen=True)
class ChunkFormat:
    """How the chunks of one Zarr v2 array are laid out and encoded (its ``.zarray``)."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: np.dtype
    order: str
    codecs: tuple[numcodecs.abc.Codec, ...]
    separator: str
    array_shape: tuple[int, ...]
    fill_value: Any
    """What a chunk that was never written reads as."""

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

    def decode(self, data: bytes) -> np.ndarray:
        """The chunk array of a chunk file: the inverse of :meth:`encode`, padding included."""
        for codec in reversed(self.codecs):
            data = codec.decode(data)
        return np.frombuffer(data, self.dtype).reshape(self.shape, order=self.order)

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
            array_shape=tuple(meta["shape"]),
            fill_value=_fill_value(meta["fill_value"]),
        )
    return formats


def _fill_value(stored: Any) -> Any:
    """A ``.zarray`` fill value as a number (JSON spells NaN as a string, complex as a pair)."""
    if stored is None:
        return 0  # zarr-python reads unwritten chunks of an array without a fill value as 0
    if isinstance(stored, list):
        return complex(*(_fill_value(part) for part in stored))
    return float(stored) if isinstance(stored, str) else stored


def read_array(path: Path, name: str, form: ChunkFormat) -> np.ndarray:
    """The whole array ``name`` of the store at ``path``, read chunk file by chunk file.

    Reading through zarr-python costs about 0.8 ms per chunk, ten times the
    file read and decode: the summary of a sweep of 100 blocks reads a dozen
    such arrays.
    """
    values = np.full(form.array_shape, form.fill_value, dtype=form.dtype)
    grid = [
        range(-(-size // chunk)) for size, chunk in zip(form.array_shape, form.shape, strict=True)
    ]
    for index in itertools.product(*grid):
        try:
            data = (path / name / form.separator.join(map(str, index))).read_bytes()
        except FileNotFoundError:
            continue
        region = tuple(
            slice(i * chunk, min((i + 1) * chunk, size))
            for i, chunk, size in zip(index, form.shape, form.array_shape, strict=True)
        )
        values[region] = form.decode(data)[tuple(slice(0, r.stop - r.start) for r in region)]
    return values


def load_point_variables(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """``ds``, opened from ``path``, with every variable of one value per point in memory.

    That is every variable with all the sweep dimensions (those of
    ``status``) but the trajectories (``time``), read by :func:`read_array`.
    """
    formats = chunk_formats(path)
    return ds.assign(
        {
            name: ds[name].copy(data=read_array(path, name, formats[name]))
            for name in _block_filled(ds)
            if "time" not in ds[name].dims
        }
    )


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
    them: measured, about 3.5 ns per byte, more than compressing the chunk),
    and then written back; and the pages nobody reads would fill memory.
    With ``O_DIRECT`` the disk reads the chunk from this process's memory
    instead: copied into an aligned buffer, padded to whole blocks, written,
    then truncated to its length.  That cut the system time of a 200 000-point
    sweep from 4.9 s to 3.3 s.  Where ``O_DIRECT`` is refused (tmpfs, for
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
    :func:`chunk_formats`; read from the store when not given) says.  Going
    through zarr-python's ``Array.__setitem__`` would cost about 2 ms of
    interpreter time per array, more than compressing the chunk.
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
    shape = tuple(s.stop - s.start for s in block.slices)
    values = np.full(shape, code, dtype=np.int8)
    _replace_file(path / "status" / form.key(dims, block), form.encode(values, dims))


def read_status(path: Path) -> np.ndarray:
    """The status code of every sweep point."""
    return zarr.open_group(str(path), mode="r", zarr_format=2)["status"][...]


def repair(path: Path, scan: Scan, full: xr.Dataset) -> np.ndarray:
    """Make a store that is being resumed whole again; return its status after repair.

    Temporary files of interrupted writes are deleted; a block with a
    damaged chunk loses its ``status`` chunk, so it is pending and is
    recomputed; an array written at creation that is damaged is written
    again from ``full``.  Call it holding the store's lease.
    """
    for leftover in scan.leftovers:
        leftover.unlink(missing_ok=True)
    status = scan.status.copy()
    status_array = _open_group(path)["status"]
    for block in scan.damaged_blocks():
        key = status_array.metadata.encode_chunk_key(block)
        (path / "status" / key).unlink(missing_ok=True)
        status[block_slices(block, scan.chunks)] = STATUS["pending"]
    damaged = sorted(scan.damaged_arrays())
    if damaged:
        rewrite = full[damaged]
        rewrite.attrs = {}  # root attributes stay as the store has them
        rewrite.to_zarr(str(path), mode="r+", zarr_format=2, consolidated=False)
    return status


def pending_blocks(status: np.ndarray, layout: Layout) -> list[Block]:
    """Blocks that still hold a pending or failed point: a resume computes them."""
    todo = np.isin(status, (STATUS["pending"], STATUS["failed"]))
    return [block for block in layout.blocks() if todo[block.slices].any()]


def status_counts(status: np.ndarray) -> dict[str, int]:
    """How many points have each status."""
    return {name: int(np.count_nonzero(status == code)) for name, code in STATUS.items()}


def run_status(counts: Mapping[str, int]) -> str:
    """``complete`` when every point is ok or diverged, else ``incomplete``."""
    return "incomplete" if counts["pending"] or counts["failed"] else "complete"


def mark_incomplete(path: Path) -> None:
    """Say in the root attributes (and their consolidated copy) that points are being computed."""
    group = _open_group(path)
    group.attrs["run_status"] = "incomplete"
    zarr.consolidate_metadata(str(path), zarr_format=2)


RUN_RECORD_ATTRS = ("created", "history")
"""Root attributes that record when, where and by which runs a store was written.

They necessarily differ between two runs of one config; every other byte of
the store is the same (see :func:`pipeline.store.verify.content_digest`).
"""


def finalize(path: Path, run: Mapping[str, Any]) -> dict[str, int]:
    """Record point counts, ``run_status`` and this run in ``history``; consolidate.

    Call it when no task writes any more: it deletes the temporary files that
    writers killed mid-write left behind.
    """
    for leftover in leftover_files(path):
        leftover.unlink(missing_ok=True)
    counts = status_counts(read_status(path))
    group = _open_group(path)
    group.attrs.update(
        {
            "point_counts": counts,
            "run_status": run_status(counts),
            "history": [*group.attrs.get("history", []), dict(run)],
        }
    )
    zarr.consolidate_metadata(str(path), zarr_format=2)
    return counts
