"""Progress of a run: how many blocks are done, logged at most every few seconds."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from dask.callbacks import Callback

log = logging.getLogger(__name__)


class Progress:
    """Logs how many blocks are done, at most every few seconds."""

    def __init__(self, total_blocks: int, total_points: int, every: float = 2.0):
        self.total, self.total_points, self.every = total_blocks, total_points, every
        self.done, self.points, self.start, self.last = 0, 0, time.monotonic(), 0.0

    def block_done(self, result: Mapping[str, Any]) -> None:
        """Count a block, given what its task returned (its points' ``counts`` by status)."""
        self.done += 1
        self.points += sum(result["counts"].values())
        elapsed = time.monotonic() - self.start
        if self.done < self.total and elapsed - self.last < self.every:
            return
        self.last = elapsed
        left = elapsed / self.done * (self.total - self.done)
        log.info(
            "%d/%d blocks (%d of %d points) done in %.1f s, about %.0f s left",
            self.done,
            self.total,
            self.points,
            self.total_points,
            elapsed,
            left,
        )


class TaskCallback(Callback):
    """Hands the result of every block's task to ``on_block`` (Dask's local schedulers)."""

    def __init__(self, on_block: Callable[[Mapping[str, Any]], None]):
        super().__init__()
        self.on_block = on_block

    def _posttask(self, key, result, dsk, state, worker_id):  # dask's callback signature
        name = key[0] if isinstance(key, tuple) else key
        if str(name).startswith("compute_block"):
            self.on_block(result)
