"""A block's chunks, written and read through zarr-python.

A block is exactly one chunk of every array with the sweep dimensions, so
each write covers whole chunks and no two tasks write the same one.  Its
data chunks are written first and its ``status`` chunk last, so a point
whose status reads ``ok`` or ``diverged`` has its data in the store.

How a chunk reaches the store:

- on a local or shared file system, a whole chunk whose codecs all encode
  synchronously (``zarr.abc.codec.SupportsSyncCodec``: Zarr v3's bytes,
  Blosc, ...) is encoded by those codecs and put by the store in the task's
  own thread, as zarr's codec pipeline would, without its event loop;
- everything else (object stores, Zarr v2, a smaller block at the edge of
  the grid) goes through zarr's asynchronous ``setitem``, a block's arrays
  gathered at once.

Why: ``benchmarks/README.md``, "Design measurements".
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
import zarr
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync  # zarr's own event loop, where its stores live

from pipeline.grid import Block
from pipeline.store import durable


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
    group = zarr.open_group(store, mode="r+")
    return {
        name: array.with_config({"write_empty_chunks": True})
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


def _sync_codecs(array: zarr.Array) -> list[Any] | None:
    """The codecs of ``array`` in the order they encode, if the chunk can be encoded and put
    in this thread (see the module docstring); None if it goes through ``setitem``."""
    if not isinstance(array.store_path.store, durable.DurableLocalStore):
        return None
    pipeline = array.async_array.codec_pipeline
    try:
        codecs = [
            *pipeline.array_array_codecs,
            pipeline.array_bytes_codec,
            *pipeline.bytes_bytes_codecs,
        ]
    except AttributeError:  # a codec pipeline other than zarr's batched one
        return None
    # A method check, not isinstance of the runtime Protocol: that costs more than a chunk.
    return codecs if all(hasattr(codec, "_encode_sync") for codec in codecs) else None


def _put_chunk(array: zarr.Array, codecs: Sequence[Any], dims, block: Block, data) -> None:
    """Encode ``data``, the whole chunk of ``array`` that ``block`` is, with ``codecs``; put
    it."""
    coords, key = _chunk_key(array, dims, block)
    metadata = array.metadata
    prototype = default_buffer_prototype()
    spec = metadata.get_chunk_spec(coords, array.async_array.config, prototype)
    chunk = prototype.nd_buffer.from_ndarray_like(
        np.asarray(data, dtype=metadata.dtype.to_native_dtype())
    )
    for codec in codecs:
        chunk = codec._encode_sync(chunk, spec)
    array.store_path.store.set_sync(key, chunk)


def _put(
    arrays: Mapping[str, zarr.Array], values: Mapping[str, np.ndarray], dims, block: Block
) -> None:
    """Write ``values`` (by array name) as the chunks of ``block``: in this thread where
    :func:`_sync_codecs` allows, the rest through zarr's ``setitem`` at once."""
    rest = {}
    for name, data in values.items():
        array = arrays[name]
        codecs = _sync_codecs(array)
        if codecs is None or data.shape != array.metadata.chunks:
            rest[name] = data
            continue
        _put_chunk(array, codecs, dims, block, data)
    if rest:
        sync(_write(arrays, rest, dims, block))


async def _write(
    arrays: Mapping[str, zarr.Array], values: Mapping[str, np.ndarray], dims, block: Block
) -> None:
    await asyncio.gather(
        *(
            arrays[name].async_array.setitem(_selection(arrays[name], dims, block), data)
            for name, data in values.items()
        )
    )


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
    that this process wrote to a local store, by key (``rate/c.0.3.0``): what
    :func:`pipeline.store.verify.content_digest` would read back.  Empty for a store
    elsewhere (object stores keep no hashes)."""
    hashes = {}
    for array in arrays.values():
        store = array.store_path.store
        if not isinstance(store, durable.DurableLocalStore):
            return {}
        _, key = _chunk_key(array, dims, block)
        digest = durable.take_hash(store.root / key)
        if digest is not None:
            hashes[key] = digest
    return hashes


def write_status(
    arrays: Mapping[str, zarr.Array], dims: Sequence[str], block: Block, code: int
) -> None:
    """Mark every point of ``block`` with one status (``failed``: its data are not written)."""
    values = np.full(block.shape, code, dtype=np.int8)
    _put(arrays, {"status": values}, dims, block)


def read_status(store: Store) -> np.ndarray:
    """The status code of every sweep point."""
    return zarr.open_group(store, mode="r", use_consolidated=False)["status"][...]
