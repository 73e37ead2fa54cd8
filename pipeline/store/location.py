"""Where a store lives, opened as a zarr store, and the few key-level operations on it.

``store.path`` is a folder of this machine's file system (a path, or a
``file://`` URL), written through
:class:`pipeline.store.durable.DurableLocalStore`, or an ``s3://`` URL of an
S3-compatible object store, written through zarr's ``FsspecStore`` over
``s3fs`` (credentials and endpoint from ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` or ``store.storage_options``).
Everything the pipeline reads or deletes outside zarr's arrays (listing keys
for the integrity scan, deleting temporary files, hashing every key for the
digest) goes through the store's own API, so it does not depend on where
the store is.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import zarr
from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync  # zarr's own event loop, where its stores live
from zarr.errors import ZarrUserWarning
from zarr.storage import FsspecStore

from pipeline.store.durable import DurableLocalStore

OBJECT_STORES = ("s3",)
"""URL schemes of object stores the pipeline writes: those whose lease it can make safe
(put-if-absent, :mod:`pipeline.store.object_lease`)."""

REFUSED_SCHEMES = {
    "gs": "the store's one-writer lease needs a create-if-absent write that the pipeline "
    "uses only on S3-compatible stores",
    "memory": "a memory store lives only in the process that made it, so neither the "
    "workers of another process nor a resume could read it",
}
"""Schemes fsspec knows that the pipeline refuses, and why."""


def scheme_problem(url: str) -> str | None:
    """Why ``url`` cannot be a store path (its scheme), or None if it can."""
    if "://" not in url:
        return None
    scheme = url.partition("://")[0]
    if scheme == "s3" and importlib.util.find_spec("s3fs") is None:
        return "s3:// needs s3fs, which is not installed; nothing was written. pip install s3fs"
    if scheme == "file" or scheme in OBJECT_STORES:
        return None
    why = REFUSED_SCHEMES.get(scheme, "it is not a file system or object store the pipeline writes")
    return (
        f"{scheme}:// is not supported ({why}); nothing was written. Use a path, a file:// URL "
        f"or an {'/'.join(s + '://' for s in OBJECT_STORES)} URL"
    )


@dataclass(frozen=True)
class Location:
    """Where a store lives: a folder of this machine, or a prefix of an object store."""

    protocol: str
    """``file`` or one of :data:`OBJECT_STORES`."""
    root: str
    """The store's path in that file system: a folder, or ``bucket/prefix``."""
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        return self.protocol == "file"

    @property
    def path(self) -> Path:
        """The folder of a local store."""
        return Path(self.root)

    def __str__(self) -> str:
        return self.root if self.local else f"{self.protocol}://{self.root}"

    def _options(self) -> dict[str, Any]:
        # Other processes write the store: a cached listing would be stale.
        return {} if self.local else {"use_listings_cache": False, **self.storage_options}

    def fs(self) -> fsspec.AbstractFileSystem:
        """The file system the store lives in (fsspec)."""
        return fsspec.filesystem(self.protocol, **self._options())

    def store(self, *, read_only: bool = False) -> Store:
        """The store as zarr opens it; a local one writes durably unless ``read_only``."""
        if self.local:
            return DurableLocalStore(self.path, read_only=read_only)
        return FsspecStore.from_url(str(self), storage_options=self._options(), read_only=read_only)

    def sibling(self, name: str) -> Location:
        """The location ``name`` beside this one."""
        parent = self.root.rstrip("/").rpartition("/")[0]
        return Location(self.protocol, f"{parent}/{name}" if parent else name, self.storage_options)

    @property
    def target(self) -> Path | Location:
        """What the store's functions take: the folder of a local store, else this location."""
        return self.path if self.local else self

    @property
    def name(self) -> str:
        return self.root.rstrip("/").rpartition("/")[2]

    def exists(self) -> bool:
        """Whether anything is at this location (a file, or a folder or prefix with keys)."""
        if self.local:
            path = self.path
            return path.exists() and not (path.is_dir() and not any(path.iterdir()))
        fs = self.fs()
        fs.invalidate_cache()
        return bool(fs.exists(self.root) and fs.find(self.root, maxdepth=None))


# botocore logs every credentials and endpoint lookup at INFO: not news for a run's log.
logging.getLogger("botocore").setLevel(logging.WARNING)
logging.getLogger("aiobotocore").setLevel(logging.WARNING)


def display(where: Path | Location) -> str:
    """A store as a run names it: a local folder's absolute path, or its URL."""
    return str(where.resolve()) if isinstance(where, Path) else str(where)


def locate(
    where: str | Path | Location, storage_options: Mapping[str, Any] | None = None
) -> Location:
    """The location of ``where``: a path, a ``file://`` URL or an object-store URL.

    Raises ValueError for a scheme the pipeline does not write (:func:`scheme_problem`).
    """
    if isinstance(where, Location):
        return where
    text = str(where)
    problem = scheme_problem(text)
    if problem is not None:
        raise ValueError(problem)
    if "://" not in text:
        return Location("file", text)
    protocol, _, root = text.partition("://")
    if protocol == "file":
        return Location("file", root)
    return Location(protocol, root.rstrip("/"), dict(storage_options or {}))


def open_store(where: str | Path | Location, *, read_only: bool = False) -> Store:
    """The zarr store at ``where``, writes durable on a local file system unless ``read_only``."""
    return locate(where).store(read_only=read_only)


def store_format(store: Store) -> int:
    """The Zarr format (2 or 3) of the group at the root of ``store``."""
    return zarr.open_group(store, mode="r", use_consolidated=False).metadata.zarr_format


async def _keys(store: Store) -> list[str]:
    return [key async for key in store.list()]


def list_keys(store: Store) -> list[str]:
    """Every key of ``store``, sorted."""
    return sorted(sync(_keys(store)))


async def _get(store: Store, keys: list[str]) -> list[Any]:
    prototype = default_buffer_prototype()
    return await asyncio.gather(*(store.get(key, prototype) for key in keys))


def read_keys(store: Store, keys: Iterable[str], batch: int = 8) -> Iterator[tuple[str, Any]]:
    """Each key of ``keys``, in order, with its bytes (None if there are none).

    ``batch`` keys are read at once: one round trip to the store (an object
    store's latency, or zarr's event loop) per batch, not per key, and at
    most ``batch`` values in memory.
    """
    keys = list(keys)
    for start in range(0, len(keys), batch):
        part = keys[start : start + batch]
        for key, buffer in zip(part, sync(_get(store, part)), strict=True):
            yield key, None if buffer is None else buffer.to_bytes()


def read_key(store: Store, key: str) -> bytes | None:
    """The bytes stored under ``key``; None if there are none."""
    return next(read_keys(store, [key]))[1]


def read_json(store: Store, key: str) -> Any:
    """The JSON document under ``key``; None if there is none."""
    data = read_key(store, key)
    return None if data is None else json.loads(data)


async def _copy(source: Store, target: Store, keys: list[str]) -> None:
    prototype = default_buffer_prototype()

    async def copy(key: str) -> None:
        value = await source.get(key, prototype)
        if value is not None:
            await target.set(key, value)

    await asyncio.gather(*(copy(key) for key in keys))


def copy_keys(source: Store, target: Store, keys: Iterable[str]) -> None:
    """Copy every key of ``keys`` from ``source`` to ``target``, byte for byte."""
    sync(_copy(source, target, list(keys)))


async def _delete(store: Store, keys: Iterable[str]) -> None:
    await asyncio.gather(*(store.delete(key) for key in keys))


def delete_keys(store: Store, keys: Iterable[str]) -> None:
    """Delete every key of ``keys`` from ``store`` (a missing key is no error)."""
    sync(_delete(store, list(keys)))


def consolidate(store: Store, zarr_format: int) -> None:
    """Gather every array's metadata into the root (``.zmetadata`` or the root ``zarr.json``).

    Zarr v3 has no consolidated metadata in its specification yet; zarr-python
    and xarray read it, and without it ``xr.open_zarr`` lists the store.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Consolidated metadata", ZarrUserWarning)
        zarr.consolidate_metadata(store, zarr_format=zarr_format)
