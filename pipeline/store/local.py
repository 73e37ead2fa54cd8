"""A sweep's store in a folder of a local or shared file system."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.store.base import StoreBase
from pipeline.store.durable import DurableLocalStore, put
from pipeline.store.lease import FileLease, lease_path
from pipeline.store.sweep_store import SweepStore


class LocalSweepStore(SweepStore):
    """A store in the folder ``path``: written durably (:mod:`pipeline.store.durable`), its
    lease the file ``<path>.lease`` beside it (:class:`~pipeline.store.lease.FileLease`)."""

    def __init__(self, path: Path) -> None:
        self.given = Path(path)
        """The path as the user gave it (relative ones name files as the user does)."""
        # Absolute: workers elsewhere (SLURM jobs, a cluster of their own) have another cwd.
        self.path = self.given.absolute()

    def __repr__(self) -> str:
        return f"LocalSweepStore({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.given)

    @property
    def display(self) -> str:
        return str(self.path.resolve())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalSweepStore) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    def zarr_store(self, *, read_only: bool = False, keep_hashes: bool = False):
        return DurableLocalStore(self.path, read_only=read_only, keep_hashes=keep_hashes)

    def exists(self) -> bool:
        path = self.path
        return path.exists() and not (path.is_dir() and not any(path.iterdir()))

    def sibling(self, name: str) -> LocalSweepStore:
        return LocalSweepStore(self.path.with_name(name))

    def siblings(self, pattern: str) -> list[LocalSweepStore]:
        return [LocalSweepStore(p) for p in sorted(self.path.parent.glob(pattern))]

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def move_to(self, target: StoreBase) -> None:
        assert isinstance(target, LocalSweepStore)
        self.path.rename(target.path)

    def discard(self) -> None:
        """Renamed aside first, then deleted: a killed driver leaves no half store here."""
        retired = self.staging("replaced")
        self.move_to(retired)
        retired.remove()

    def list_keys(self) -> list[str]:
        root = self.path
        keys = []
        for folder, _, files in os.walk(root):
            prefix = Path(folder).relative_to(root).as_posix()
            keys += [name if prefix == "." else f"{prefix}/{name}" for name in files]
        return sorted(keys)

    def read_keys(self, keys: Iterable[str], batch: int = 8) -> Iterator[tuple[str, bytes | None]]:
        for key in keys:
            try:
                yield key, (self.path / key).read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                yield key, None

    def write_key(self, key: str, data: bytes) -> None:
        put(self.path / key, data)

    def delete_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            (self.path / key).unlink(missing_ok=True)

    def lease_record(self) -> FileLease:
        return FileLease(lease_path(self.path), str(self))

    def lease_names(self, prefix: str) -> list[str]:
        start, end = f"{self.name}.", ".lease"
        files = self.path.parent.glob(f"{start}{prefix}*{end}")
        return sorted(f.name[len(start) : -len(end)] for f in files)

    @property
    def folder(self) -> Path:
        return self.path

    def default_catalog(self) -> Path:
        return self.given.parent / "catalog.sqlite"
