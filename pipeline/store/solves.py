"""The record of a run's solves: which blocks its tasks began to solve, and what each wrote.

A Dask task whose worker is lost (a job cancelled, preempted, or at its
walltime) runs again on another worker.  A block is the store's, not the
worker's: so that no block written is solved a second time, each task writes
two kinds of small records beside the store, in ``<store>.solves/``, keyed by
the lease token of the run (or of an array's share) that wrote them:

- ``<token>/<block>/start-<random>`` as it begins to solve ``block``, one per attempt;
- ``<token>/<block>/done.json`` once the block's chunks and status are written:
  its point counts by status, its failure (or null) and the hash of each chunk
  it wrote (:func:`pipeline.store.chunks.written_hashes`).

A task that finds ``done.json`` for its block returns what it holds and solves
nothing (:meth:`Solves.written`); the number of ``start-`` records of a block
is the number of times it was solved, which the run records in the store's
``history`` (:func:`tally_solves`) and tests count.  A run removes the records
of its token when it ends; a whole run (not an array's share) removes every
record when it starts, since none of another token can be of use to it.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pipeline.grid import Block
from pipeline.store.base import StoreBase

SUFFIX = "solves"
"""The records of ``<store>`` are under ``<store>.solves``."""
DONE = "done.json"
START = "start-"


def records_of(store: StoreBase) -> StoreBase:
    """Where the solve records of ``store`` are kept (``<store>.solves``)."""
    return store.part(SUFFIX)


def block_name(block: Block) -> str:
    """``2.0.3``: block ``(2, 0, 3)`` of the layout."""
    return ".".join(str(i) for i in block.index)


@dataclass(frozen=True)
class Solves:
    """The solve records of one run (or share) of a store: sent with every task."""

    where: StoreBase
    """``<store>.solves``."""
    token: str
    """The lease token of the run or share that writes them."""

    def _key(self, block: Block, name: str) -> str:
        return f"{self.token}/{block_name(block)}/{name}"

    def started(self, block: Block) -> None:
        """Record that a task begins to solve ``block`` (one record per attempt)."""
        note = {"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()}
        self.where.write_key(self._key(block, f"{START}{uuid.uuid4().hex}"), _json(note))

    def done(self, block: Block, written: dict[str, Any]) -> None:
        """Record what ``block``'s task wrote: ``counts``, ``failure`` and chunk ``hashes``."""
        record = {
            "counts": written["counts"],
            "failure": written["failure"],
            "hashes": {key: value.hex() for key, value in written["hashes"].items()},
        }
        self.where.write_key(self._key(block, DONE), _json(record))

    def written(self, block: Block) -> dict[str, Any] | None:
        """What a task of this run wrote for ``block`` (as :meth:`done` took it, the chunk
        hashes as bytes); None if no task of this run wrote it."""
        data = self.where.read_key(self._key(block, DONE))
        if data is None:
            return None
        record = json.loads(data)
        record["hashes"] = {key: bytes.fromhex(value) for key, value in record["hashes"].items()}
        return record

    def clear(self) -> None:
        """Remove this token's records (its run or share has ended)."""
        prefix = f"{self.token}/"
        self.where.delete_keys([k for k in self.where.list_keys() if k.startswith(prefix)])


def solve_counts(where: StoreBase, token: str) -> Counter[str]:
    """How many times a task of token ``token`` began to solve each block, by block name."""
    counts: Counter[str] = Counter()
    for key in where.list_keys():
        owner, _, rest = key.partition("/")
        block, _, name = rest.partition("/")
        if owner == token and name.startswith(START):
            counts[block] += 1
    return counts


def tally_solves(counts: Counter[str]) -> dict[str, Any]:
    """The run record's ``solves``: blocks solved, solves in all, and each block solved more
    than once with its number of solves."""
    return {
        "blocks": len(counts),
        "solves": sum(counts.values()),
        "again": {block: n for block, n in sorted(counts.items()) if n > 1},
    }


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()
