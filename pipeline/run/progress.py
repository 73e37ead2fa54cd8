"""Progress of a run: a tqdm bar on a terminal, else a plain line at most every few seconds.

The bar counts points (blocks done beside it) and shows points per second
and the time left; when the output is not a terminal (CI, a log file, a
batch job) a bar would write a line per update, so a plain log line is
written instead, at most every ``every`` seconds and once at the end.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

from dask.callbacks import Callback

log = logging.getLogger(__name__)


def counted(n: int, noun: str) -> str:
    """``1 block``, ``4 blocks``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Progress:
    """Counts blocks and points as they finish; shows them as a bar or logs them.

    Rates and the time left are counted from the first block finished, not
    from the start: on a cluster the workers' jobs may wait in the queue a
    long time before any block runs, and that wait says nothing of how fast
    the blocks go once they do.
    """

    def __init__(
        self,
        total_blocks: int,
        total_points: int,
        every: float = 5.0,
        bar: IO[str] | None = None,
    ):
        """``bar``: the stream of a tqdm bar; by default standard error where it is a
        terminal, else none (plain log lines)."""
        self.total, self.total_points, self.every = total_blocks, total_points, every
        self.done, self.points, self.start, self.last = 0, 0, time.monotonic(), 0.0
        self.first: float | None = None
        """When the first block finished (``time.monotonic``)."""
        if bar is None and sys.stderr.isatty():
            bar = sys.stderr
        self.stream = bar if total_blocks else None
        self.bar: Any = None

    def _open_bar(self, points: int) -> None:
        """The bar, from the first block on: tqdm counts its rate from ``initial``."""
        from tqdm import tqdm

        self.bar = tqdm(
            total=self.total_points,
            initial=points,
            unit="points",
            unit_scale=self.total_points >= 10_000,
            file=self.stream,
            dynamic_ncols=True,
        )

    def block_done(self, result: Mapping[str, Any]) -> None:
        """Count a block, given what its task returned (its points' ``counts`` by status)."""
        self.done += 1
        points = sum(result["counts"].values())
        self.points += points
        now = time.monotonic()
        if self.first is None:
            self.first = now
        if self.stream is not None:
            if self.bar is None:
                self._open_bar(points)
            else:
                self.bar.update(points)
            self.bar.set_postfix_str(f"{self.done}/{counted(self.total, 'block')}")
            if self.done == self.total:
                self.bar.close()
            return
        elapsed = now - self.start
        if self.done < self.total and elapsed - self.last < self.every:
            return
        self.last = elapsed
        log.info(
            "%d/%s (%d of %d points) done in %.1f s, %s",
            self.done,
            counted(self.total, "block"),
            self.points,
            self.total_points,
            elapsed,
            self.left(now),
        )

    def left(self, now: float) -> str:
        """The time left, at the pace of the blocks finished since the first."""
        if self.done >= self.total:
            return "none left"
        if self.first is None or self.done < 2 or now <= self.first:
            return "time left not known yet"
        pace = (now - self.first) / (self.done - 1)
        return f"about {pace * (self.total - self.done):.0f} s left"

    def close(self) -> None:
        """End the bar, if any (a run that stopped before its last block)."""
        if self.bar is not None:
            self.bar.close()


class TaskCallback(Callback):
    """Hands the result of every block's task to ``on_block`` (Dask's local schedulers)."""

    def __init__(self, on_block: Callable[[Mapping[str, Any]], None]):
        super().__init__()
        self.on_block = on_block

    def _posttask(self, key, result, dsk, state, worker_id):  # dask's callback signature
        name = key[0] if isinstance(key, tuple) else key
        if str(name).startswith("compute_block"):
            self.on_block(result)
