"""Where a store lives, opened as a zarr store, and the few key-level operations on it.

A local ``store.path`` is a folder written through
:class:`pipeline.store.durable.DurableLocalStore`.  Everything the pipeline
reads or deletes outside zarr's arrays (listing keys for the integrity
scan, deleting temporary files, hashing every key for the digest) goes
through the store's own API, so it does not depend on where the store is.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import zarr
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.errors import ZarrUserWarning

from pipeline.store.durable import DurableLocalStore


def open_store(path: str | Path, *, read_only: bool = False) -> Store:
    """The zarr store at ``path`` (a folder), writes durable unless ``read_only``."""
    return DurableLocalStore(Path(path), read_only=read_only)


def store_format(store: Store) -> int:
    """The Zarr format (2 or 3) of the group at the root of ``store``."""
    return zarr.open_group(store, mode="r", use_consolidated=False).metadata.zarr_format


async def _keys(store: Store) -> list[str]:
    return [key async for key in store.list()]


def list_keys(store: Store) -> list[str]:
    """Every key of ``store``, sorted."""
    return sorted(asyncio.run(_keys(store)))


def read_key(store: Store, key: str) -> bytes | None:
    """The bytes stored under ``key``; None if there are none."""
    buffer = asyncio.run(store.get(key, default_buffer_prototype()))
    return None if buffer is None else buffer.to_bytes()


def read_json(store: Store, key: str) -> Any:
    """The JSON document under ``key``; None if there is none."""
    data = read_key(store, key)
    return None if data is None else json.loads(data)


async def _delete(store: Store, keys: Iterable[str]) -> None:
    await asyncio.gather(*(store.delete(key) for key in keys))


def delete_keys(store: Store, keys: Iterable[str]) -> None:
    """Delete every key of ``keys`` from ``store`` (a missing key is no error)."""
    asyncio.run(_delete(store, list(keys)))


def consolidate(store: Store, zarr_format: int) -> None:
    """Gather every array's metadata into the root (``.zmetadata`` or the root ``zarr.json``).

    Zarr v3 has no consolidated metadata in its specification yet; zarr-python
    and xarray read it, and without it ``xr.open_zarr`` lists the store.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Consolidated metadata", ZarrUserWarning)
        zarr.consolidate_metadata(store, zarr_format=zarr_format)
