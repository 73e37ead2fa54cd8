"""A sweep's store under a prefix of an S3-compatible object store (fsspec, s3fs).

Credentials and endpoint come from ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` or ``store.storage_options``.
Keys are read, copied and deleted through fsspec's own batched calls, zarr's
arrays through zarr's ``FsspecStore``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import fsspec
from zarr.storage import FsspecStore

from pipeline.store.base import StoreBase
from pipeline.store.lease import ObjectLease
from pipeline.store.lifecycle import StoreError
from pipeline.store.sweep_store import SweepStore

ROOT_METADATA = ("zarr.json", ".zgroup", ".zattrs", ".zmetadata")
"""Keys of a store's root metadata (v3, v2): without them a prefix is no store."""

# botocore logs every credentials and endpoint lookup at INFO: not news for a run's log.
logging.getLogger("botocore").setLevel(logging.WARNING)
logging.getLogger("aiobotocore").setLevel(logging.WARNING)


CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")
"""The environment variables that give an S3 client its credentials (botocore's)."""


def _missing_credentials(err: BaseException) -> bool:
    """Whether ``err`` is botocore's: no credentials found, only some of them, or a profile
    (``AWS_PROFILE``) that names none."""
    names = ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound")
    return type(err).__name__ in names


class ObjectSweepStore(SweepStore):
    """A store under ``protocol://root`` (``root`` is ``bucket/prefix``)."""

    def check(self, attrs: Mapping[str, Any], overwrite: bool) -> str:
        """As :meth:`SweepStore.check`; a client with no credentials is refused
        (:class:`~pipeline.store.lifecycle.StoreError`) with the variables that give them."""
        try:
            return super().check(attrs, overwrite)
        except Exception as err:
            if not _missing_credentials(err):
                raise
            raise StoreError(
                f"store.path={self}: no credentials for the object store ({err}): set "
                f"{' and '.join(CREDENTIAL_VARIABLES[:2])} (or {CREDENTIAL_VARIABLES[2]}, a "
                "profile of ~/.aws/credentials), or give them in store.storage_options "
                "(key, secret); nothing was written"
            ) from None

    def __init__(self, protocol: str, root: str, storage_options: Mapping[str, Any]) -> None:
        self.protocol = protocol
        self.root = root.rstrip("/")
        self.storage_options = dict(storage_options)

    def __repr__(self) -> str:
        return f"ObjectSweepStore({str(self)!r})"

    def __str__(self) -> str:
        return f"{self.protocol}://{self.root}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectSweepStore) and str(other) == str(self)

    def __hash__(self) -> int:
        return hash(str(self))

    @property
    def name(self) -> str:
        return self.root.rpartition("/")[2]

    def _options(self) -> dict[str, Any]:
        # Other processes write the store: a cached listing would be stale.
        return {"use_listings_cache": False, **self.storage_options}

    def fs(self) -> fsspec.AbstractFileSystem:
        """The object store's file system (fsspec)."""
        return fsspec.filesystem(self.protocol, **self._options())

    def zarr_store(self, *, read_only: bool = False, keep_hashes: bool = False):
        # keep_hashes: not here; the digest reads an object store's chunks back.
        return FsspecStore.from_url(str(self), storage_options=self._options(), read_only=read_only)

    def exists(self) -> bool:
        fs = self.fs()
        fs.invalidate_cache()
        return bool(fs.exists(self.root) and fs.find(self.root, maxdepth=None))

    def sibling(self, name: str) -> ObjectSweepStore:
        parent = self.root.rpartition("/")[0]
        root = f"{parent}/{name}" if parent else name
        return ObjectSweepStore(self.protocol, root, self.storage_options)

    def siblings(self, pattern: str) -> list[ObjectSweepStore]:
        fs = self.fs()
        fs.invalidate_cache()
        found = fs.glob(self.sibling(pattern).root)
        return [ObjectSweepStore(self.protocol, p, self.storage_options) for p in sorted(found)]

    def remove(self) -> None:
        fs = self.fs()
        if fs.exists(self.root):
            fs.rm(self.root, recursive=True)

    def _paths(self, keys: Iterable[str]) -> list[str]:
        return [f"{self.root}/{key}" for key in keys]

    def list_keys(self) -> list[str]:
        fs = self.fs()
        fs.invalidate_cache()
        start = len(self.root) + 1
        return sorted(path[start:] for path in fs.find(self.root))

    def read_keys(self, keys: Iterable[str], batch: int = 8) -> Iterator[tuple[str, bytes | None]]:
        fs, keys = self.fs(), list(keys)
        for first in range(0, len(keys), batch):
            part = keys[first : first + batch]
            found = fs.cat(self._paths(part), on_error="omit")
            for key, path in zip(part, self._paths(part), strict=True):
                yield key, found.get(path)

    def write_key(self, key: str, data: bytes) -> None:
        self.fs().pipe_file(f"{self.root}/{key}", data)  # one PUT: whole or not at all

    def delete_keys(self, keys: Iterable[str]) -> None:
        paths = self._paths(keys)
        if paths:
            try:
                self.fs().rm(paths)
            except FileNotFoundError:
                pass

    def move_to(self, target: StoreBase) -> None:
        """Copy every key to ``target``, the root metadata last, so that a copy cut short
        leaves no store that looks whole; then delete this store (object stores have no
        rename)."""
        assert isinstance(target, ObjectSweepStore)
        fs, keys = self.fs(), self.list_keys()
        for part in (
            [k for k in keys if k not in ROOT_METADATA],
            [k for k in keys if k in ROOT_METADATA],
        ):
            if part:
                fs.copy(self._paths(part), target._paths(part))
        self.remove()

    def discard(self) -> None:
        """Every key deleted (nothing to rename; the new store is then copied in place)."""
        self.remove()

    def interrupted_copy(self) -> bool:
        """Whether this prefix, which has no root metadata, holds only keys of a new store
        staged beside it (:meth:`~pipeline.store.base.StoreBase.staging`): a copy into place that a
        killed driver cut short.  Nothing else may be deleted: anything else is the user's."""
        keys = set(self.list_keys())
        if not keys or keys & set(ROOT_METADATA):
            return False
        return any(keys <= set(staged.list_keys()) for staged in self.staged("creating"))

    def lease_record(self) -> ObjectLease:
        return ObjectLease(self.fs(), f"{self.root}.lease", str(self))

    def lease_names(self, prefix: str) -> list[str]:
        start, end = f"{self.root}.", ".lease"
        fs = self.fs()
        fs.invalidate_cache()
        found = fs.glob(f"{start}{prefix}*{end}")
        return sorted(p[len(start) : -len(end)] for p in found)
