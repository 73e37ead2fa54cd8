"""Check a sweep store on disk: ``python -m pipeline.verify PATH [--digest]``.

Every chunk that should exist is read and decoded (:mod:`pipeline.store.integrity`),
points are counted by status, temporary files of interrupted writes are
looked for, the consolidated metadata (what ``xr.open_zarr`` reads: in
Zarr v3 the root ``zarr.json``'s ``consolidated_metadata``, in v2 the file
``.zmetadata``) is compared with every array's own metadata, and the root
attributes with the status they summarise.

Exit code: 0 when the store is sound and complete; 1 when it is sound but
points are pending or failed (running the sweep's command again finishes
it); 2 when it is damaged (running the sweep's command again repairs it:
damaged blocks are computed again, temporary files deleted and the metadata
consolidated) or is not a store of this pipeline.

Two stores are *bit-identical* when :func:`content_digest` agrees: every
file has the same bytes, except the root attributes that record when and
by which runs the store was written (:data:`pipeline.store.lifecycle.RUN_RECORD_ATTRS`,
``created`` and ``history``), which are left out of the root attributes
(v3: the root ``zarr.json``; v2: ``.zattrs`` and its copy in
``.zmetadata``).  Array chunks, coordinates, array metadata and every other
root attribute count byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.store import integrity, lifecycle
from pipeline.store.base import StoreBase
from pipeline.store.durable import content_hash, content_hasher
from pipeline.store.status import run_status, status_counts

CONSOLIDATED = ".zmetadata"
"""Zarr v2's consolidated metadata."""
METADATA_FILES = (".zarray", ".zattrs", ".zgroup")
"""Zarr v2's metadata files."""
ROOT = "zarr.json"
"""Zarr v3's root metadata: the group's attributes and the consolidated metadata."""


@dataclass(frozen=True)
class Report:
    """What :func:`inspect` found."""

    path: StoreBase
    counts: dict[str, int]
    problems: list[str]

    @property
    def sound(self) -> bool:
        return not self.problems

    @property
    def complete(self) -> bool:
        return self.sound and run_status(self.counts) == "complete"

    @property
    def exit_code(self) -> int:
        return 0 if self.complete else 1 if self.sound else 2

    def lines(self) -> list[str]:
        counts = ", ".join(f"{n} {name}" for name, n in self.counts.items())
        lines = [f"store: {self.path.display}", f"points: {sum(self.counts.values())} ({counts})"]
        lines += [f"problem: {problem}" for problem in self.problems]
        if self.complete:
            verdict = "sound and complete"
        elif self.sound:
            verdict = "sound, incomplete: run the sweep's command again to finish it"
        else:
            verdict = (
                f"damaged ({len(self.problems)} problems): run the sweep's command again to "
                "repair it (damaged blocks are computed again)"
            )
        return [*lines, f"verdict: {verdict}"]


def _consolidated(store: StoreBase, keys: list[str]) -> tuple[str, dict[str, Any], set[str]]:
    """Where the consolidated metadata is, what it holds by key, and the metadata keys it
    should hold; raises ValueError (or KeyError, TypeError) where it cannot be read."""
    if ROOT in keys:
        found = (store.read_json(ROOT).get("consolidated_metadata") or {})["metadata"]
        held = {f"{name}/{ROOT}": meta for name, meta in found.items()}
        return (
            f"the consolidated metadata of {ROOT}",
            held,
            {k for k in keys if k.endswith(ROOT)} - {ROOT},
        )
    held = store.read_json(CONSOLIDATED)["metadata"]
    return CONSOLIDATED, held, {k for k in keys if k.rpartition("/")[2] in METADATA_FILES}


def metadata_problems(store: StoreBase, keys: list[str]) -> list[str]:
    """Where the consolidated metadata disagrees with the metadata documents it gathers."""
    if ROOT not in keys and CONSOLIDATED not in keys:
        return [f"{CONSOLIDATED} is missing"]
    try:
        where, consolidated, on_disk = _consolidated(store, keys)
    except (ValueError, KeyError, TypeError) as err:
        return [f"the consolidated metadata cannot be read ({err})"]
    problems = [f"{key} is not in {where}" for key in sorted(on_disk - set(consolidated))]
    for key in sorted(consolidated):
        if key not in on_disk:
            problems.append(f"{key} is in {where} but missing")
            continue
        try:
            actual = store.read_json(key)
        except ValueError as err:
            problems.append(f"{key} cannot be read ({err})")
            continue
        if actual != consolidated[key]:
            differing = (
                sorted(
                    k
                    for k in actual.keys() | consolidated[key].keys()
                    if actual.get(k) != consolidated[key].get(k)
                )
                if isinstance(actual, dict) and isinstance(consolidated[key], dict)
                else []
            )
            problems.append(
                f"{key} differs from its copy in {where}"
                + (f" ({', '.join(differing)})" if differing else "")
            )
    return problems


def _attribute_problems(attrs: dict[str, Any], counts: dict[str, int]) -> list[str]:
    if attrs.get("run_status") != "complete":
        return []
    problems = []
    if run_status(counts) != "complete":
        problems.append(
            f"root attribute run_status is 'complete' but {counts['pending']} points are "
            f"pending and {counts['failed']} failed"
        )
    if attrs.get("point_counts") != counts:
        problems.append(
            f"root attribute point_counts={attrs.get('point_counts')} does not match "
            f"the status variable ({counts})"
        )
    return problems


def inspect(where: StoreBase) -> Report:
    """Check the store at ``where``; ValueError if it is not a store of this pipeline."""
    path = where
    attrs = lifecycle.root_attrs(path)
    if attrs is None:
        raise ValueError(f"{path} is not a store of this pipeline")
    scan = integrity.scan(path)
    counts = status_counts(scan.status)
    problems = [
        f"{d.key} {d.problem}; "
        + (
            "its block is computed again on resume"
            if d.block is not None
            else "it is written again on resume"
        )
        for d in scan.damage
    ]
    problems += [f"temporary file left by an interrupted write: {key}" for key in scan.leftovers]
    problems += metadata_problems(path, path.list_keys())
    problems += _attribute_problems(attrs, counts)
    return Report(path=path, counts=counts, problems=problems)


def _without_run_records(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in lifecycle.RUN_RECORD_ATTRS}


def _canonical(tree: Any) -> bytes:
    return json.dumps(tree, sort_keys=True).encode()


def content_digest(where: StoreBase, known: Mapping[str, bytes] | None = None) -> str:
    """The hash (:func:`~pipeline.store.durable.content_hash`) of every key of the store and
    its value's hash, run-record root attributes left out.

    Equal digests mean bit-identical stores, as the module docstring defines.
    ``known``: the hashes of chunks that the caller wrote itself, by key
    (:func:`pipeline.store.chunks.written_hashes`); they are not read back.
    """
    known = known or {}
    store = where
    digest = content_hasher()
    keys = store.list_keys()
    unknown = store.read_keys([key for key in keys if key not in known])
    for key in keys:
        if key in known:
            digest.update(key.encode() + b"\0" + known[key])
            continue
        data = next(unknown)[1] or b""
        if key in (".zattrs", ROOT):
            tree = json.loads(data)
            if key == ROOT:
                tree["attributes"] = _without_run_records(tree.get("attributes", {}))
            else:
                tree = _without_run_records(tree)
            data = _canonical(tree)
        elif key == CONSOLIDATED:
            tree = json.loads(data)
            root = tree["metadata"].get(".zattrs", {})
            tree["metadata"][".zattrs"] = _without_run_records(root)
            data = _canonical(tree)
        digest.update(key.encode() + b"\0" + content_hash(data))
    return digest.hexdigest()
