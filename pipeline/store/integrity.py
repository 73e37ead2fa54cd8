"""What a store holds on disk, chunk by chunk: missing, unreadable and leftover files.

Both ``python -m pipeline.verify`` and a resumed run read a store through
:func:`scan`.  The rules it applies follow from how the store is written:

- a variable with every sweep dimension is written block by block, its data
  chunks before the block's ``status`` chunk; a block whose status says
  ``ok`` or ``diverged`` anywhere must have every such chunk, and each must
  decode (a block ``pending`` or ``failed`` need not have them);
- every other array (coordinates, ``onset``, ...) is written whole when the
  store is created, so all its chunks must exist and decode;
- a ``status`` chunk that does not decode vouches for nothing: its block
  counts as pending;
- each file is written to a temporary ``*.partial`` name and renamed
  (:mod:`pipeline.store.durable`); a process killed in between leaves the
  temporary file behind.

The store is read through zarr: one listing of its keys, and every chunk
decoded by the array it belongs to.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import zarr

from pipeline.grid import block_slices
from pipeline.store.base import StoreBase
from pipeline.store.chunks import dimension_names
from pipeline.store.durable import TEMPORARY_SUFFIX
from pipeline.store.status import STATUS

MISSING = "is missing"

DATA_STATUSES = (STATUS["ok"], STATUS["diverged"])
"""Point statuses that vouch for data on disk."""


@dataclass(frozen=True)
class Damage:
    """One chunk that should be readable and is not."""

    key: str
    """The chunk's key in the store, e.g. ``rate/0.1.0.0``."""
    problem: str
    """What is wrong, as a predicate: ``is missing``, ``does not decode (...)``."""
    block: tuple[int, ...] | None
    """The sweep block it belongs to; None for arrays written whole at creation."""


@dataclass(frozen=True)
class Scan:
    """A store read chunk by chunk."""

    dims: tuple[str, ...]
    """Sweep dimensions (those of ``status``)."""
    chunks: tuple[int, ...]
    """Block shape along the sweep dimensions."""
    status: np.ndarray
    """Status of every point; points of an unreadable status chunk read ``pending``."""
    damage: list[Damage]
    leftovers: list[str]
    """Keys of temporary files left by an interrupted write."""

    def block_slices(self, index: tuple[int, ...]) -> tuple[slice, ...]:
        """The sweep points of block ``index``."""
        return block_slices(index, self.chunks, self.status.shape)

    def damaged_blocks(self) -> set[tuple[int, ...]]:
        """Blocks with a damaged chunk: they are recomputed on resume."""
        return {d.block for d in self.damage if d.block is not None}

    def damaged_arrays(self) -> set[str]:
        """Arrays written whole at creation that have a damaged chunk."""
        return {d.key.split("/")[0] for d in self.damage if d.block is None}


def leftover_keys(keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` of temporary files that an interrupted write left."""
    return [k for k in keys if k.endswith(TEMPORARY_SUFFIX)]


def _chunk_indices(array: zarr.Array) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(n) for n in array.cdata_shape))


def _key(name: str, array: zarr.Array, index: tuple[int, ...]) -> str:
    return f"{name}/{array.metadata.encode_chunk_key(index)}"


def _read_problem(
    keys: set[str], name: str, array: zarr.Array, index: tuple[int, ...]
) -> str | None:
    """Why chunk ``index`` of ``array`` cannot be read, or None if it decodes."""
    if _key(name, array, index) not in keys:
        return MISSING
    try:
        array.blocks[index]
    except Exception as err:  # any codec error means the bytes on disk are damaged
        return f"does not decode ({type(err).__name__}: {err})"
    return None


def _scan_status(keys: set[str], status: zarr.Array) -> tuple[np.ndarray, list[Damage]]:
    values = np.full(status.shape, STATUS["pending"], dtype=np.int8)
    damage = []
    for index in _chunk_indices(status):
        problem = _read_problem(keys, "status", status, index)
        region = block_slices(index, status.chunks, status.shape)
        if problem is None:
            values[region] = status.blocks[index]
        elif problem != MISSING:  # a missing status chunk is simply pending
            damage.append(Damage(_key("status", status, index), problem, index))
    return values, damage


def scan(where: StoreBase) -> Scan:
    """Read every chunk of the store at ``where`` once and report what is wrong."""
    path = where
    store = path.zarr_store(read_only=True)
    all_keys = path.list_keys()
    keys = set(all_keys)
    group = zarr.open_group(store, mode="r", use_consolidated=False)
    with warnings.catch_warnings():  # temporary files are reported below, not warned about
        warnings.filterwarnings("ignore", "Object at .* is not recognized", UserWarning)
        arrays = sorted(group.arrays())
    status_array = group["status"]
    dims = dimension_names(status_array)
    chunks = tuple(status_array.chunks)
    status, damage = _scan_status(keys, status_array)
    for name, array in arrays:
        if name == "status":
            continue
        array_dims = dimension_names(array)
        written_by_blocks = set(dims) <= set(array_dims)
        positions = [array_dims.index(d) for d in dims] if written_by_blocks else []
        if written_by_blocks and tuple(array.chunks[p] for p in positions) != chunks:
            damage.append(
                Damage(f"{name} metadata", f"chunks {array.chunks} do not match status", None)
            )
            continue
        for index in _chunk_indices(array):
            block = tuple(index[p] for p in positions) if written_by_blocks else None
            if block is not None:
                vouched = np.isin(
                    status[block_slices(block, chunks, status.shape)], DATA_STATUSES
                ).any()
                if not vouched and _key(name, array, index) not in keys:
                    continue
            problem = _read_problem(keys, name, array, index)
            if problem is not None:
                damage.append(Damage(_key(name, array, index), problem, block))
    return Scan(
        dims=dims,
        chunks=chunks,
        status=status,
        damage=damage,
        leftovers=leftover_keys(all_keys),
    )
