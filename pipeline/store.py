"""The Zarr store of a sweep: layout, creation, block writes, resume and provenance.

Layout (Zarr format 2, consolidated metadata, readable by ``xr.open_zarr``):

- every variable with the sweep dimensions is chunked by the sweep's blocks
  along them and whole along the others (``time``, ``neuron``, ``mode``, ...),
  so each Dask task writes whole chunks that no other task touches;
- a block's data chunks are written first and its ``status`` chunk last, so a
  point whose status is not ``pending`` has its data on disk;
- root attributes hold the schema version, the resolved config, its
  fingerprint, the code version, the environment, start and end times and
  ``run_status`` (``incomplete`` until every point is computed).
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array
import numcodecs
import numpy as np
import xarray as xr
import yaml
import zarr

from pipeline.status import STATUS
from pipeline.sweep import Block, Grid, block_shape, blocks, points_per_block

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


def layout_for(
    grid: Grid, probe: xr.Dataset, chunk_mb: float, chunk_points: int | None
) -> Layout:
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
    """The full store as a lazy Dataset: the probe's variables grown to the whole grid."""
    data_vars = {}
    for name, var in probe.data_vars.items():
        if not set(layout.dims) <= set(var.dims):
            data_vars[name] = var
            continue
        var = var.transpose(*layout.dims, ...)
        inner = var.shape[len(layout.dims) :]
        lazy = dask.array.zeros(
            layout.shape + inner, dtype=var.dtype, chunks=layout.chunks + inner
        )
        data_vars[name] = xr.Variable(var.dims, lazy, var.attrs)
    return xr.Dataset(data_vars, coords={**probe.coords, **grid.coords()})


def encoding(
    ds: xr.Dataset, layout: Layout, compression_level: int, compressor: str = "lz4"
) -> dict[str, dict]:
    """Zarr encodings: Blosc ``compressor``, byte shuffle; NaN fill for floats, none for codes."""
    codec = numcodecs.Blosc(compressor, compression_level, shuffle=numcodecs.Blosc.SHUFFLE)
    result = {}
    for name, var in ds.data_vars.items():
        entry: dict[str, Any] = {"compressors": [codec]}
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
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError):
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


def describe_difference(stored: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The config keys and code versions in which two fingerprinted runs differ."""
    old, cur = _flatten(stored), _flatten(new)
    lines = [
        f"  {key}: {old.get(key, '(absent)')!r} in the store, {cur.get(key, '(absent)')!r} now"
        for key in sorted(old.keys() | cur.keys())
        if old.get(key) != cur.get(key)
    ]
    return "\n".join(lines) or "  (nothing in the config; the code version differs)"


def prepare(
    path: Path,
    full: xr.Dataset,
    encodings: dict[str, dict],
    attrs: dict[str, Any],
    overwrite: bool,
) -> str:
    """Create the store, or check that an existing one can be resumed.

    Returns ``"created"``, ``"overwritten"`` or ``"resumed"``.  Raises
    :class:`StoreError` before touching anything when ``path`` holds
    something other than this pipeline's store, or a store of another config
    (unless ``overwrite``).
    """
    if path.exists() and not (path.is_dir() and not any(path.iterdir())):
        existing = root_attrs(path)
        if existing is None:
            raise StoreError(
                f"store.path={path} exists and is not a store of this pipeline; "
                "nothing was written. Choose another store.path."
            )
        if existing.get("fingerprint") == attrs["fingerprint"]:
            return "resumed"
        if not overwrite:
            stored = {"config": yaml.safe_load(existing["config"]), "code": existing["code"]}
            new = {"config": yaml.safe_load(attrs["config"]), "code": attrs["code"]}
            raise StoreError(
                f"store.path={path} holds a sweep of a different config or code, so it "
                f"cannot be resumed:\n{describe_difference(stored, new)}\n"
                "Run with another store.path=... for a new store, or with "
                "store.overwrite=true to replace this one."
            )
        shutil.rmtree(path)
        _create(path, full, encodings, attrs)
        return "overwritten"
    _create(path, full, encodings, attrs)
    return "created"


def _create(path: Path, full: xr.Dataset, encodings: dict[str, dict], attrs: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    full.attrs = attrs
    full.to_zarr(
        str(path), mode="w-", compute=False, zarr_format=2, consolidated=True, encoding=encodings
    )


def _write_chunk(
    array_path: Path,
    values: np.ndarray,
    dims: Sequence[str],
    sweep_dims: Sequence[str],
    block: Block,
) -> None:
    """Write ``values`` (dims ``dims``) as the chunk of ``block`` in the Zarr v2 ``array_path``.

    A block is exactly one chunk of every array with the sweep dimensions, so
    the chunk file is written whole, encoded as the array's ``.zarray`` says
    (dtype, order, filters, compressor), and renamed into place so that it is
    never seen half written.  Going through zarr-python's ``Array.__setitem__``
    costs about 2 ms of interpreter time per array, more than compressing
    the chunk; a block writes some twenty arrays.
    """
    meta = json.loads((array_path / ".zarray").read_text())
    array_dims = json.loads((array_path / ".zattrs").read_text())["_ARRAY_DIMENSIONS"]
    values = np.asarray(values).transpose([list(dims).index(d) for d in array_dims])
    chunk = np.require(values, np.dtype(meta["dtype"]), meta["order"])
    if chunk.shape != tuple(meta["chunks"]):
        # An edge block is smaller than a chunk; Zarr v2 stores edge chunks padded.
        chunk = np.zeros(meta["chunks"], dtype=np.dtype(meta["dtype"]), order=meta["order"])
        chunk[tuple(slice(0, n) for n in values.shape)] = values
    encoded = chunk.ravel(order="A")
    for config in [*(meta["filters"] or []), meta["compressor"]]:
        if config is not None:
            encoded = numcodecs.get_codec(config).encode(encoded)
    index = dict(zip(sweep_dims, block.index, strict=True))
    key = meta.get("dimension_separator", ".").join(str(index.get(d, 0)) for d in array_dims)
    _replace_file(array_path / key, encoded)


def _replace_file(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` through a temporary file, as zarr does (``*.partial``)."""
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_block(path: Path, ds: xr.Dataset, dims: Sequence[str], block: Block) -> None:
    """Write one block's data chunks, then its status chunk."""
    for name in ds.data_vars:
        var = ds.variables[name]
        if name == "status" or not set(dims) <= set(var.dims):
            continue
        _write_chunk(path / str(name), var.values, var.dims, dims, block)
    status = ds.variables["status"]
    _write_chunk(path / "status", status.values, status.dims, dims, block)


def write_status(path: Path, dims: Sequence[str], block: Block, code: int) -> None:
    """Mark every point of ``block`` with one status (``failed``: its data are not written)."""
    shape = tuple(s.stop - s.start for s in block.slices)
    _write_chunk(path / "status", np.full(shape, code, dtype=np.int8), dims, dims, block)


def read_status(path: Path) -> np.ndarray:
    """The status code of every sweep point."""
    return zarr.open_group(str(path), mode="r", zarr_format=2)["status"][...]


def pending_blocks(status: np.ndarray, layout: Layout) -> list[Block]:
    """Blocks that still hold a pending point."""
    pending = status == STATUS["pending"]
    return [block for block in layout.blocks() if pending[block.slices].any()]


def status_counts(status: np.ndarray) -> dict[str, int]:
    """How many points have each status."""
    return {name: int(np.count_nonzero(status == code)) for name, code in STATUS.items()}


def finalize(path: Path, attrs: Mapping[str, Any]) -> dict[str, int]:
    """Record the end of a run and the point counts; consolidate the metadata."""
    counts = status_counts(read_status(path))
    group = zarr.open_group(str(path), mode="r+", zarr_format=2, use_consolidated=False)
    group.attrs.update(
        {
            **attrs,
            "point_counts": counts,
            "run_status": "incomplete" if counts["pending"] else "complete",
        }
    )
    zarr.consolidate_metadata(str(path), zarr_format=2)
    return counts


def total_points(shape: Iterable[int]) -> int:
    return math.prod(shape)
