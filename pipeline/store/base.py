"""Where a sweep's store lives: the operations that depend on the kind of storage.

:class:`StoreBase` is what each kind implements (a folder:
:class:`~pipeline.store.local.LocalSweepStore`; an object store:
:class:`~pipeline.store.objects.ObjectSweepStore`) and all that the store's
modules (:mod:`~pipeline.store.lifecycle`, :mod:`~pipeline.store.integrity`,
:mod:`~pipeline.store.verify`, :mod:`~pipeline.store.chunks`,
:mod:`~pipeline.store.lease`) use of it; :class:`pipeline.store.sweep_store.SweepStore`
adds what a run does to a store on top.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

DEFAULT_CATALOG = Path("results") / "catalog.sqlite"
"""The catalog the commands read without ``--catalog`` (``pipeline.records.catalog``), and
the one a run into a store that is no local folder records itself in."""

if TYPE_CHECKING:
    from zarr.abc.store import Store

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


STAGING_SEPARATOR = "-"
"""Between the purpose and the random part of a staging sibling's name."""


class StoreBase(ABC):
    """Where one sweep's Zarr store lives, and the operations on it that depend on where."""

    # --- what depends on where the store lives -------------------------------------------

    @property
    @abstractmethod
    def name(self) -> str:
        """The last part of the store's path (``autapse.zarr``)."""

    @abstractmethod
    def __str__(self) -> str:
        """The store as ``store.path`` gave it (messages say ``store.path=...``)."""

    @property
    def display(self) -> str:
        """The store as a run's summary names it: a local folder's absolute path, or its URL."""
        return str(self)

    @abstractmethod
    def zarr_store(self, *, read_only: bool = False, keep_hashes: bool = False) -> Store:
        """The store as zarr opens it.  ``keep_hashes``: the store hashes what it puts
        (:meth:`~pipeline.store.durable.DurableLocalStore.take_hash`) where it can."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether anything is at this place (a file, or a folder or prefix with keys)."""

    @abstractmethod
    def sibling(self, name: str) -> Self:
        """The store named ``name`` beside this one, of the same kind."""

    @abstractmethod
    def siblings(self, pattern: str) -> list[Self]:
        """The existing stores beside this one whose names match the glob ``pattern``."""

    @abstractmethod
    def remove(self) -> None:
        """Delete everything at this place (nothing if there is nothing)."""

    @abstractmethod
    def move_to(self, target: StoreBase) -> None:
        """Put this store in place at ``target`` (which holds nothing)."""

    @abstractmethod
    def discard(self) -> None:
        """Delete the store here (one being replaced), never leaving half a store at its
        path where the storage can avoid it."""

    @abstractmethod
    def list_keys(self) -> list[str]:
        """Every key of the store, sorted."""

    @abstractmethod
    def read_keys(self, keys: Iterable[str], batch: int = 8) -> Iterator[tuple[str, bytes | None]]:
        """Each of ``keys``, in order, with its bytes (None if there are none); ``batch`` keys
        per round trip to the storage, and at most ``batch`` values in memory."""

    @abstractmethod
    def write_key(self, key: str, data: bytes) -> None:
        """Put ``data`` under ``key`` whole (a reader sees all of it or nothing)."""

    @abstractmethod
    def delete_keys(self, keys: Iterable[str]) -> None:
        """Delete every key of ``keys`` (a missing key is no error)."""

    @abstractmethod
    def lease_record(self) -> Any:
        """Where this store's one-writer lease is kept: a
        :class:`~pipeline.store.lease.LeaseRecord`."""

    @abstractmethod
    def lease_names(self, prefix: str) -> list[str]:
        """The names ``N`` of the stores ``<name>.N`` beside this one whose names start with
        ``prefix`` and that have a lease record (the shares of an array)."""

    def interrupted_copy(self) -> bool:
        """Whether this place, which has no root metadata, holds only a store being copied
        into place by a driver that was killed (:meth:`move_to` on an object store)."""
        return False

    @property
    def folder(self) -> Path | None:
        """The store's folder on this machine, beside which files that are not the store
        (the report) can be written; None where it has none (an object store)."""
        return None

    def default_catalog(self) -> Path:
        """Where a run's catalog goes when nothing names one: beside a store in a folder;
        for any other store, the catalog ``python -m pipeline.catalog`` reads by default
        (:data:`DEFAULT_CATALOG`: SQLite needs a local file)."""
        return DEFAULT_CATALOG

    # --- keys ------------------------------------------------------------------------------

    def read_key(self, key: str) -> bytes | None:
        """The bytes stored under ``key``; None if there are none."""
        return next(self.read_keys([key]))[1]

    def read_json(self, key: str) -> Any:
        """The JSON document under ``key``; None if there is none."""
        data = self.read_key(key)
        return None if data is None else json.loads(data)

    def staging(self, purpose: str) -> Self:
        """A new hidden sibling for a store being created (``creating``) or discarded
        (``replaced``): ``.<name>.<purpose>-<random>``."""
        return self.sibling(f".{self.name}.{purpose}{STAGING_SEPARATOR}{uuid.uuid4().hex[:12]}")

    def staged(self, purpose: str) -> list[Self]:
        """The existing siblings that :meth:`staging` made for ``purpose`` (by any driver)."""
        return self.siblings(f".{self.name}.{purpose}{STAGING_SEPARATOR}*")

    def part(self, suffix: str) -> Self:
        """``<store>.<suffix>`` beside this store: the name whose lease a share holds."""
        return self.sibling(f"{self.name}.{suffix}")
