"""The store at ``store.path``: a folder, or a prefix of an object store."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.store.base import scheme_problem
from pipeline.store.local import LocalSweepStore
from pipeline.store.objects import ObjectSweepStore
from pipeline.store.sweep_store import SweepStore


def open_sweep_store(
    where: str | Path | SweepStore, storage_options: Mapping[str, Any] | None = None
) -> SweepStore:
    """The store at ``where``: a path or ``file://`` URL (a
    :class:`~pipeline.store.local.LocalSweepStore`), or an ``s3://`` URL (an
    :class:`~pipeline.store.objects.ObjectSweepStore`, with ``storage_options``).

    Raises ValueError for a scheme the pipeline does not write (:func:`scheme_problem`).
    """
    if isinstance(where, SweepStore):
        return where
    text = str(where)
    problem = scheme_problem(text)
    if problem is not None:
        raise ValueError(problem)
    if "://" not in text:
        return LocalSweepStore(Path(text))
    protocol, _, root = text.partition("://")
    if protocol == "file":
        return LocalSweepStore(Path(root))
    return ObjectSweepStore(protocol, root.rstrip("/"), dict(storage_options or {}))
