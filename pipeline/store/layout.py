"""The layout of a sweep's Zarr store: its blocks, its template and every array's encoding.

Zarr format 3 (or 2, ``store.zarr_format=2``), consolidated metadata,
readable by ``xr.open_zarr`` and by other Zarr implementations.  Every
variable with the sweep dimensions is chunked by the sweep's blocks along
them and whole along the others (``time``, ``neuron``, ``mode``, ...), so
each Dask task writes whole chunks that no other task touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
import xarray as xr
from zarr.codecs import BloscCodec

from pipeline.grid import Block, Grid, block_shape, blocks, points_per_block

SCHEMA_VERSION = 1
PRODUCER = "rate-sweeps"
"""Root attribute ``producer``: marks a directory as a store of this pipeline."""


@dataclass(frozen=True)
class StoreTemplate:
    """What a new store holds before its first block: every variable (``full``, the
    block-filled ones as templates), their encodings, the root attributes and the Zarr
    format (2 or 3)."""

    full: xr.Dataset
    encodings: dict[str, dict]
    attrs: dict[str, Any]
    zarr_format: int = 3


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


def blosc(zarr_format: int, compressor: str, compression_level: int) -> Any:
    """The Blosc codec ``compressor`` at ``compression_level`` with byte shuffle, as the
    Zarr format expects it (a v3 codec, or numcodecs' for v2)."""
    if zarr_format == 3:
        return BloscCodec(cname=compressor, clevel=compression_level, shuffle="shuffle")
    return numcodecs.Blosc(compressor, compression_level, shuffle=numcodecs.Blosc.SHUFFLE)


CHUNK_KEYS_V3 = {"name": "default", "separator": "."}
"""Zarr v3 chunk keys ``c.3.0.0``: every chunk of an array in its own folder, as in v2,
not a folder per index (``c/3/0/0``), which costs each new chunk its folders."""

CHUNK_KEYS_V2 = {"name": "v2", "separator": "."}
"""Zarr v2 chunk keys ``3.0.0``, as xarray writes them."""


def chunk_keys(zarr_format: int) -> dict[str, str]:
    """The chunk key encoding of the store's arrays in ``zarr_format``."""
    return CHUNK_KEYS_V3 if zarr_format == 3 else CHUNK_KEYS_V2


def encoding(
    ds: xr.Dataset,
    layout: Layout,
    compression_level: int,
    compressor: str = "lz4",
    zarr_format: int = 3,
) -> dict[str, dict]:
    """Zarr encoding of every variable: one chunk per block of ``layout``, compressed.

    Blosc ``compressor`` with byte shuffle; NaN fill for floats, none for codes;
    in Zarr v3 the chunk keys of :data:`CHUNK_KEYS_V3`.
    """
    codec = blosc(zarr_format, compressor, compression_level)
    result = {}
    for name, var in ds.data_vars.items():
        entry: dict[str, Any] = {"compressors": [codec]}
        if zarr_format == 3:
            entry["chunk_key_encoding"] = CHUNK_KEYS_V3
        if set(layout.dims) <= set(var.dims):
            entry["chunks"] = layout.chunks + var.shape[len(layout.dims) :]
        if np.issubdtype(var.dtype, np.floating):
            entry["_FillValue"] = np.nan
        else:
            entry["_FillValue"] = None
        result[name] = entry
    return result


def block_filled(ds: xr.Dataset) -> list[str]:
    """The variables the blocks write: those with every dimension of ``status``."""
    sweep_dims = set(ds["status"].dims)
    return [str(name) for name, var in ds.data_vars.items() if sweep_dims <= set(var.dims)]
