"""A block's chunks, written and read through zarr-python.

A block is exactly one chunk of every array with the sweep dimensions, so
each write covers whole chunks and no two tasks write the same one.  Its
data chunks are written first and its ``status`` chunk last, so a point
whose status reads ``ok`` or ``diverged`` has its data in the store.

How a chunk reaches the store: on a store that puts values in the caller's
thread (``set_sync``: the durable local store), a whole chunk that the zarr
adapter can encode there (:func:`pipeline.adapters.zarr.encode_chunk`) is
encoded and put in the task's own thread; everything else (object stores,
Zarr v2, a smaller block at the edge of the grid, the adapter's public-API
fallback) is written through zarr's ``Array`` (:func:`pipeline.adapters.zarr.write_regions`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
import zarr
from zarr.abc.store import Store

from pipeline.adapters import zarr as zarr_adapter
from pipeline.grid import Block
from pipeline.store.lease import LeaseRecord
from pipeline.store.solves import Solves
from pipeline.store.status import STATUS, status_counts


def dimension_names(array: zarr.Array) -> tuple[str, ...]:
    """The dimensions of ``array``: Zarr v3's ``dimension_names``, or xarray's v2 attribute."""
    if array.metadata.zarr_format == 3:
        return tuple(array.metadata.dimension_names or ())
    return tuple(array.attrs.get("_ARRAY_DIMENSIONS", ()))


def block_arrays(store: Store, sweep_dims: Sequence[str]) -> dict[str, zarr.Array]:
    """Every array the blocks write (those with every sweep dimension), opened for writing.

    Opened once per run and handed to the tasks, so that writing a block
    opens no metadata; through the consolidated metadata where there is one
    (only attributes change after a store is created, and the blocks write
    none).  Every chunk is written, even one equal to the fill value: a
    missing chunk means damage (:mod:`pipeline.store.integrity`).
    """
    # An array takes its config from zarr's global config when it is opened.
    with zarr.config.set({"array.write_empty_chunks": True}):
        group = zarr.open_group(store, mode="r+")
        return {
            name: array
            for name, array in group.arrays()
            if set(sweep_dims) <= set(dimension_names(array))
        }


def _chunk_key(array: zarr.Array, dims: Sequence[str], block: Block) -> tuple:
    """The chunk of ``array`` that ``block`` is (a block is one chunk of every array it
    writes): its coordinates, and its key in the store (``rate/c.0.3.0``)."""
    index = dict(zip(dims, block.index, strict=True))
    coords = tuple(index.get(d, 0) for d in dimension_names(array))
    return coords, f"{array.path}/{array.metadata.encode_chunk_key(coords)}"


def _selection(array: zarr.Array, dims: Sequence[str], block: Block) -> tuple[slice, ...]:
    where = block.region(dims)
    return tuple(where.get(d, slice(None)) for d in dimension_names(array))


def _put(
    arrays: Mapping[str, zarr.Array], values: Mapping[str, np.ndarray], dims, block: Block
) -> None:
    """Write ``values`` (by array name) as the chunks of ``block``: each encoded and put in
    this thread where the store and the zarr adapter allow it, the rest through zarr."""
    rest = []
    for name, data in values.items():
        array = arrays[name]
        store = array.store_path.store
        if _puts_sync(store):
            coords, key = _chunk_key(array, dims, block)
            encoded = zarr_adapter.encode_chunk(array, coords, data)
            if encoded is not None:
                store.set_sync(key, encoded)
                continue
        rest.append((array, _selection(array, dims, block), data))
    if rest:
        zarr_adapter.write_regions(rest)


def _puts_sync(store: Store) -> bool:
    """Whether ``store`` puts a value in the caller's thread (zarr's ``SupportsSetSync``: the
    durable local store)."""
    return callable(getattr(store, "set_sync", None))


def write_block(
    arrays: Mapping[str, zarr.Array], ds: xr.Dataset, dims: Sequence[str], block: Block
) -> None:
    """Write one block's data chunks (every array of ``arrays`` but status), then its status.

    ``arrays``: from :func:`block_arrays`; ``ds``: the block as
    :func:`pipeline.block.simulate_block` returns it.
    """
    # Variables, not DataArrays: building a DataArray with its coordinates per array costs
    # more than encoding it.
    data = {
        name: ds.variables[name].transpose(*dimension_names(array)).values
        for name, array in arrays.items()
        if name != "status"
    }
    _put(arrays, data, dims, block)
    status = ds.variables["status"].transpose(*dims).values
    _put(arrays, {"status": status}, dims, block)


def written_hashes(
    arrays: Mapping[str, zarr.Array], dims: Sequence[str], block: Block
) -> dict[str, bytes]:
    """The hash (:func:`~pipeline.store.durable.content_hash`) of each chunk of ``block``
    that its store kept as it wrote it, by key (``rate/c.0.3.0``): what
    :func:`pipeline.store.verify.content_digest` need not read back.  Empty for a store
    that keeps none (object stores)."""
    hashes = {}
    for array in arrays.values():
        take = getattr(array.store_path.store, "take_hash", None)
        if take is None:
            return {}
        _, key = _chunk_key(array, dims, block)
        digest = take(key)
        if digest is not None:
            hashes[key] = digest
    return hashes


def write_status(
    arrays: Mapping[str, zarr.Array], dims: Sequence[str], block: Block, code: int
) -> None:
    """Mark every point of ``block`` with one status (``failed``: its data are not written)."""
    values = np.full(block.shape, code, dtype=np.int8)
    _put(arrays, {"status": values}, dims, block)


@dataclass(frozen=True)
class BlockWriter:
    """What a task writes its block with: the arrays the blocks fill, opened once for the
    run (:func:`block_arrays`), the lease whose ``token`` must still hold when it writes,
    and the run's record of its solves (:mod:`pipeline.store.solves`).

    Made by :meth:`pipeline.store.sweep_store.SweepStore.block_writer`; sent to the workers.
    """

    arrays: Mapping[str, zarr.Array]
    dims: tuple[str, ...]
    lease: LeaseRecord
    token: str
    solves: Solves

    def write(self, ds: xr.Dataset, block: Block) -> dict[str, Any]:
        """Write ``block``'s data, then its status; its status counts and chunk hashes.

        Raises :class:`~pipeline.store.lease.LeaseLost`, writing nothing, once the lease is
        no longer this run's.
        """
        self.lease.check(self.token)
        write_block(self.arrays, ds, self.dims, block)
        return {
            "counts": status_counts(ds["status"].values),
            "hashes": written_hashes(self.arrays, self.dims, block),
        }

    def write_failed(self, block: Block) -> dict[str, Any]:
        """Mark every point of ``block`` failed (its computation raised; no data written)."""
        self.lease.check(self.token)
        write_status(self.arrays, self.dims, block, STATUS["failed"])
        return {
            "counts": {"failed": math.prod(block.shape)},
            "hashes": written_hashes({"status": self.arrays["status"]}, self.dims, block),
        }


def read_status(store: Store) -> np.ndarray:
    """The status code of every sweep point."""
    return zarr.open_group(store, mode="r", use_consolidated=False)["status"][...]
