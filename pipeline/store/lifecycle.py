"""A store's life: refused or created, resumed (and repaired), finalized.

- A new store is built in a hidden sibling and renamed into place, so a
  store at its path always has all its metadata.
- A block's data chunks are written first and its ``status`` chunk last, and
  every chunk is written even when it equals the fill value, so a point that
  reads ``ok`` or ``diverged`` has its data on disk; a point that reads
  ``failed`` has none (its computation raised), and one that reads
  ``pending`` was never finished.
- Writing a block twice writes the same bytes (the computation is
  deterministic and each chunk file is replaced by an atomic rename), so a
  task that Dask runs twice, or two drivers of one config, are harmless.
- Root attributes hold the schema version, the resolved config (the part
  that determines the results), its fingerprint, the code version,
  ``run_status`` (``complete`` once every point is ok or diverged),
  ``point_counts``, ``created`` and a ``history`` of the runs that wrote it.
"""

from __future__ import annotations

import base64
import struct
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
import yaml
import zarr
from zarr.abc.store import Store

from pipeline.adapters import zarr as zarr_adapter
from pipeline.config.flat import flatten
from pipeline.grid import Block
from pipeline.store.base import StoreBase
from pipeline.store.chunks import read_status
from pipeline.store.integrity import Scan, leftover_keys
from pipeline.store.layout import PRODUCER, Layout, StoreTemplate, block_filled, chunk_keys
from pipeline.store.status import STATUS, run_status, status_counts


class StoreError(RuntimeError):
    """A store that cannot be written as asked; the message says what to do instead."""


def consolidate(store: Store, zarr_format: int) -> None:
    """Gather every array's metadata into the root (``.zmetadata`` or the root ``zarr.json``).

    Zarr v3 has no consolidated metadata in its specification yet; zarr-python
    and xarray read it, and without it ``xr.open_zarr`` lists the store.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
        zarr.consolidate_metadata(store, zarr_format=zarr_format)


def root_attrs(where: StoreBase) -> dict[str, Any] | None:
    """Root attributes of the pipeline store at ``where``; None if it is not one."""
    try:
        attrs = dict(zarr.open_group(where.zarr_store(read_only=True), mode="r").attrs)
    except (FileNotFoundError, NotADirectoryError, zarr.errors.GroupNotFoundError, ValueError):
        return None
    return attrs if attrs.get("producer") == PRODUCER else None


def _code(code: Mapping[str, Any]) -> str:
    if not code.get("dirty"):
        return f"commit {code['commit']}"
    return f"commit {code['commit']} with uncommitted changes {code.get('diff', '')[:12]}"


def describe_difference(stored: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The config keys and code versions in which two fingerprinted runs differ.

    ``stored`` and ``new`` hold ``config`` (a nested mapping) and ``code``
    (:func:`pipeline.records.provenance.code_version`).
    """
    old, cur = flatten(stored["config"]), flatten(new["config"])
    lines = [
        f"  {key}: {old.get(key, '(absent)')!r} in the store, {cur.get(key, '(absent)')!r} now"
        for key in sorted(old.keys() | cur.keys())
        if old.get(key) != cur.get(key)
    ]
    if stored["code"] != new["code"]:
        lines.append(f"  code: {_code(stored['code'])} in the store, {_code(new['code'])} now")
    return "\n".join(lines)


def check_path(where: StoreBase, attrs: Mapping[str, Any], overwrite: bool) -> str:
    """How a run whose root attributes are ``attrs`` may open ``path``, touching nothing.

    Returns ``"create"``, ``"resume"`` (a store of the same fingerprint, even
    with ``overwrite``: resuming gives the same bytes without discarding
    work) or ``"overwrite"``.  Raises :class:`StoreError` when ``path`` holds
    something other than this pipeline's store, or a store of another config
    and ``overwrite`` is false.
    """
    path = where
    if not path.exists():
        return "create"
    existing = root_attrs(path)
    if existing is None and path.interrupted_copy():
        return "create"  # prepare deletes the partial copy first
    if existing is None:
        raise StoreError(
            f"store.path={path} exists and is not a store of this pipeline; "
            "nothing was written. Choose another store.path."
        )
    if existing.get("fingerprint") == attrs["fingerprint"]:
        return "resume"
    if not overwrite:
        stored = {"config": yaml.safe_load(existing["config"]), "code": existing["code"]}
        new = {"config": yaml.safe_load(attrs["config"]), "code": attrs["code"]}
        raise StoreError(
            f"store.path={path} holds a sweep of a different config or code, so it "
            f"cannot be resumed:\n{describe_difference(stored, new)}\n"
            "Nothing was written. Run with another store.path=... for a new store, or "
            "with store.overwrite=true to replace this one."
        )
    return "overwrite"


def _remove_stale_staging(path: StoreBase) -> None:
    """Delete what a killed driver left while creating or replacing the store at ``path``."""
    for purpose in ("creating", "replaced"):
        for folder in path.staged(purpose):
            folder.remove()


def prepare(where: StoreBase, template: StoreTemplate, overwrite: bool) -> str:
    """Create the store, replace it, or check that it can be resumed (hold its lease).

    Returns ``"created"``, ``"overwritten"`` or ``"resumed"``; refuses as
    :func:`check_path` does.  A new store is built beside ``where`` and
    moved into place (:meth:`~pipeline.store.sweep_store.SweepStore.move_to`), so a
    store there always has all its metadata: a driver killed while creating
    leaves only a hidden sibling, which the next driver deletes.
    """
    path = where
    action = check_path(path, template.attrs, overwrite)
    if action == "create" and path.exists():  # a copy into place cut short: redone whole
        path.remove()
    _remove_stale_staging(path)
    if action == "resume":
        return "resumed"
    staged = path.staging("creating")
    try:
        _create(staged, template)
        if action == "overwrite":
            path.discard()
        staged.move_to(path)
    finally:
        staged.remove()
    return "overwritten" if action == "overwrite" else "created"


def _create(path: StoreBase, template: StoreTemplate) -> None:
    """Write the metadata of every array of ``full`` and the values of those without sweep dims.

    xarray writes the coordinates and the variables without the sweep
    dimensions.  The arrays the blocks fill (those with every dimension of
    ``status``) are created through zarr with the metadata xarray would give
    them: xarray would need them as lazy Dask arrays, which is slower
    (``benchmarks/README.md``, "Design measurements").
    """
    store = path.zarr_store()
    full, encodings, zarr_format = template.full, template.encodings, template.zarr_format
    swept = block_filled(full)
    fixed = full.drop_vars(swept)
    if zarr_format == 3:
        fixed = _variable_length_strings(fixed)
    fixed.attrs = dict(template.attrs)
    # Every chunk is written, even one equal to the fill value: a missing chunk means damage.
    fixed.to_zarr(
        store,
        mode="w-",
        zarr_format=zarr_format,
        consolidated=False,
        encoding={name: encodings[name] for name in fixed.data_vars},
        write_empty_chunks=True,
    )
    arrays: dict[str, dict[str, Any]] = {}
    for name in swept:
        var, encoding = full.variables[name], encodings[name]
        attributes = _json_attrs(var.attrs)
        layout: dict[str, Any] = {"chunk_key_encoding": chunk_keys(zarr_format)}
        if zarr_format == 3:
            layout["dimension_names"] = list(var.dims)
            if encoding["_FillValue"] is not None:  # xarray's CF attribute beside zarr's own
                attributes["_FillValue"] = _cf_fill_value(encoding["_FillValue"])
        else:
            attributes["_ARRAY_DIMENSIONS"] = list(var.dims)
        arrays[str(name)] = {
            "shape": var.shape,
            "chunks": encoding["chunks"],
            "dtype": var.dtype,
            "fill_value": encoding["_FillValue"],
            "compressors": encoding["compressors"],
            "attributes": attributes,
            **layout,
        }
    zarr_adapter.create_arrays(store, arrays)
    consolidate(store, zarr_format)


def _cf_fill_value(value: float) -> str:
    """A float fill value as xarray writes its ``_FillValue`` attribute in Zarr v3: the
    base64 of the little-endian double."""
    return base64.standard_b64encode(struct.pack("<d", float(value))).decode()


def _json_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as JSON holds them: numpy arrays as lists, numpy scalars as numbers."""
    return {
        key: value.tolist() if isinstance(value, np.ndarray | np.generic) else value
        for key, value in attrs.items()
    }


def _variable_length_strings(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its fixed-length strings (``phase``, ...) as Python strings: Zarr v3
    specifies variable-length UTF-8 strings, not numpy's fixed-length ones."""
    strings = {
        name: var.astype(object) for name, var in ds.variables.items() if var.dtype.kind == "U"
    }
    return ds.assign_coords({n: v for n, v in strings.items() if n in ds.coords}).assign(
        {n: v for n, v in strings.items() if n not in ds.coords}
    )


def _open_group(where: StoreBase) -> zarr.Group:
    return zarr.open_group(where.zarr_store(), mode="r+", use_consolidated=False)


def repair(where: StoreBase, scan: Scan, full: xr.Dataset) -> np.ndarray:
    """Make a store that is being resumed whole again; return its status after repair.

    Temporary files of interrupted writes are deleted; a block with a
    damaged chunk loses its ``status`` chunk, so it is pending and is
    recomputed; an array written at creation that is damaged is written
    again from ``full``.  Call it holding the store's lease.
    """
    path = where
    path.delete_keys(scan.leftovers)
    status = scan.status.copy()
    status_array = _open_group(path)["status"]
    # A damaged chunk goes too: a sharded array reads the shard it rewrites.
    path.delete_keys([d.key for d in scan.damage if d.block is not None])
    for block in scan.damaged_blocks():
        path.delete_keys([f"status/{status_array.metadata.encode_chunk_key(block)}"])
        status[scan.block_slices(block)] = STATUS["pending"]
    damaged = sorted(scan.damaged_arrays())
    if damaged:
        rewrite = full[damaged]
        rewrite.attrs = {}  # root attributes stay as the store has them
        rewrite.to_zarr(path.zarr_store(), mode="r+", consolidated=False)
    return status


def pending_blocks(status: np.ndarray, layout: Layout) -> list[Block]:
    """Blocks that still hold a pending or failed point: a resume computes them."""
    todo = np.isin(status, (STATUS["pending"], STATUS["failed"]))
    return [block for block in layout.blocks() if todo[block.slices].any()]


def mark_incomplete(path: StoreBase) -> None:
    """Say in the root attributes (and their consolidated copy) that points are being computed."""
    group = _open_group(path)
    group.attrs["run_status"] = "incomplete"
    consolidate(group.store, group.metadata.zarr_format)


RUN_RECORD_ATTRS = ("created", "history")
"""Root attributes that record when, where and by which runs a store was written.

They necessarily differ between two runs of one config; every other byte of
the store is the same (see :func:`pipeline.store.verify.content_digest`).
"""


def record_verdict(path: StoreBase, verdict: str) -> None:
    """Write the store's overall verdict into the attributes of ``check``; consolidate the
    metadata (after :func:`finalize`)."""
    group = _open_group(path)
    group["check"].attrs["verdict"] = verdict
    consolidate(group.store, group.metadata.zarr_format)


def finalize(where: StoreBase, run: Mapping[str, Any]) -> dict[str, int]:
    """Record point counts, ``run_status`` and this run in ``history``.

    Call it when no task writes any more: it deletes the temporary files that
    writers killed mid-write left behind.  Then :func:`record_verdict`, which
    consolidates the metadata.
    """
    path = where
    path.delete_keys(leftover_keys(path.list_keys()))
    store = path.zarr_store()
    counts = status_counts(read_status(store))
    # Opened with its consolidated metadata, which the update keeps (v3: in the root's
    # zarr.json; v2: .zmetadata is not touched): it still describes every array, so the
    # summary reads the store through it, and record_verdict consolidates once, at the end.
    group = zarr.open_group(store, mode="r+")
    group.update_attributes(  # one write (attrs.update writes the root once per key)
        {
            "point_counts": counts,
            "run_status": run_status(counts),
            "history": [*group.attrs.get("history", []), dict(run)],
        }
    )
    return counts
