"""zarr-python's internals, behind zarr's public API as the fallback.

Two fast paths, each chosen once at import (:data:`SYNC_ENCODE`,
:data:`GATHER`); with ``RATE_SWEEPS_ADAPTERS=off`` neither is taken:

- **Encoding a whole chunk in the caller's thread.**  A block is one whole
  chunk of every array it writes.  zarr's own ``Array.__setitem__`` hands
  each chunk to its event loop and from there to a thread pool, to encode
  and write it.  :func:`encode_chunk` instead encodes the chunk with the
  array's own codec objects (``SupportsSyncCodec._encode_sync``, the codec
  pipeline's ``array_array_codecs``, ``array_bytes_codec`` and
  ``bytes_bytes_codecs``, ``ArrayV3Metadata.get_chunk_spec``) so that the
  caller puts the bytes itself, with no hop between threads.  The bytes are
  those zarr would write (``tests/pipeline/store/test_chunks.py``).  Upstream:
  zarr-developers/zarr-python#4243 asks for a public synchronous encode API
  (``SupportsSyncCodec`` is a public protocol since zarr 3.1, but its
  methods are underscored).  Fallback: :func:`encode_chunk` answers None
  and the caller writes through ``Array.__setitem__``.
- **Many zarr coroutines at once on zarr's own event loop**
  (``zarr.core.sync.sync``): a block's arrays written side by side, a new
  store's arrays created side by side.  Upstream: zarr-developers/
  zarr-python#3997 (a public ``zarr.run`` for zarr's loop) and #1805
  (batched array and group access).  Fallback: the same calls one after
  another through the synchronous public API.

What each buys is measured in ``benchmarks/README.md`` ("Adapters"), which
``python -m benchmarks`` prints with the adapters on and off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import zarr

from pipeline.adapters import fast_paths_allowed


def _sync_encode_available() -> bool:
    try:
        from zarr.abc.codec import SupportsSyncCodec  # noqa: F401
        from zarr.core.buffer import default_buffer_prototype  # noqa: F401
    except ImportError:  # zarr < 3.1: its codecs encode only on the event loop
        return False
    return True


def _gather_available() -> bool:
    try:
        from zarr.core.sync import sync  # noqa: F401
    except ImportError:
        return False
    return True


SYNC_ENCODE = fast_paths_allowed() and _sync_encode_available()
"""Whether :func:`encode_chunk` encodes chunks in the caller's thread."""

GATHER = fast_paths_allowed() and _gather_available()
"""Whether :func:`write_regions` and :func:`create_arrays` run their calls side by side."""


def _async(array: zarr.Array) -> Any:
    """The ``AsyncArray`` behind ``array`` (public ``async_array`` from zarr 3.1 on)."""
    return getattr(array, "async_array", None) or array._async_array


def _sync_codecs(array: zarr.Array) -> list[Any] | None:
    """The codecs of ``array`` in the order they encode, if all of them encode synchronously;
    None otherwise (a codec pipeline other than zarr's batched one, a codec without
    ``_encode_sync``, or Zarr v2's ``V2Codec``)."""
    pipeline = _async(array).codec_pipeline
    try:
        codecs = [
            *pipeline.array_array_codecs,
            pipeline.array_bytes_codec,
            *pipeline.bytes_bytes_codecs,
        ]
    except AttributeError:
        return None
    # A method check, not isinstance of the runtime Protocol, which costs more than a chunk.
    return codecs if all(hasattr(codec, "_encode_sync") for codec in codecs) else None


def encode_chunk(array: zarr.Array, coords: tuple[int, ...], data: np.ndarray) -> Any | None:
    """The bytes zarr would store for chunk ``coords`` of ``array`` holding ``data`` (the whole
    chunk), as a zarr ``Buffer``; None where this adapter cannot encode it (then write it
    with ``array[...] = data``)."""
    if not SYNC_ENCODE or data.shape != array.metadata.chunks:
        return None
    codecs = _sync_codecs(array)
    if codecs is None:
        return None
    from zarr.core.buffer import default_buffer_prototype

    metadata = array.metadata
    prototype = default_buffer_prototype()
    spec = metadata.get_chunk_spec(coords, _async(array).config, prototype)
    chunk = prototype.nd_buffer.from_ndarray_like(
        np.asarray(data, dtype=metadata.dtype.to_native_dtype())
    )
    for codec in codecs:
        chunk = codec._encode_sync(chunk, spec)
    return chunk


def write_regions(writes: Sequence[tuple[zarr.Array, tuple[slice, ...], np.ndarray]]) -> None:
    """``array[selection] = data`` for each of ``writes``: side by side on zarr's loop, or one
    after another."""
    if not GATHER:
        for array, selection, data in writes:
            array[selection] = data
        return
    from zarr.core.sync import sync

    async def gathered() -> None:
        await asyncio.gather(
            *(_async(array).setitem(selection, data) for array, selection, data in writes)
        )

    sync(gathered())


def create_arrays(store: Any, arrays: Mapping[str, dict[str, Any]]) -> None:
    """``create_array(name, **arguments)`` for each of ``arrays`` in the group at the root of
    ``store``: side by side on zarr's loop (their metadata documents written at once), or one
    after another."""
    if not GATHER:
        group = zarr.open_group(store, mode="r+", use_consolidated=False)
        for name, arguments in arrays.items():
            group.create_array(name, **arguments)
        return
    from zarr.api.asynchronous import open_group
    from zarr.core.sync import sync

    async def gathered() -> None:
        group = await open_group(store, mode="r+", use_consolidated=False)
        await asyncio.gather(*(group.create_array(name, **kw) for name, kw in arrays.items()))

    sync(gathered())
