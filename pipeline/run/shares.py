"""Leases of a sweep split among the tasks of a SLURM array: one lease per share.

A whole driver holds the store's lease (:mod:`pipeline.store.lease`).  The
tasks of an array (:mod:`pipeline.run.array`) write disjoint shares of the
blocks, so each holds a lease of its own share only: the same lease file
format, at ``<store>.share-K.lease``.  A share and a whole driver exclude each
other: each takes its own lease first and then looks for the other's, so of
two that start together at least one sees the other and stops, before
writing.  A share whose task died lapses like a driver's lease.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.store import lease
from pipeline.store.sweep_store import SweepStore

SHARE = "share-"


def share_key(store: SweepStore, task: int) -> SweepStore:
    """The name whose lease is that of share ``task`` of ``store`` (``<store>.share-K``)."""
    return store.part(f"{SHARE}{task}")


def live_shares(store: SweepStore) -> dict[int, dict[str, Any]]:
    """The shares of ``store`` whose task holds its lease now, by task index."""
    live = {}
    for name in store.lease_names(SHARE):
        task = name[len(SHARE) :]
        if task.isdigit() and (holder := share_key(store, int(task)).lease_holder()):
            live[int(task)] = holder
    return live


def refuse_if_shared(store: SweepStore) -> None:
    """Raise :class:`lease.LeaseHeld` if a task of an array writes a share of ``store``."""
    live = live_shares(store)
    if live:
        who = ", ".join(
            f"task {k} (process {h['pid']} on {h['host']})" for k, h in sorted(live.items())
        )
        raise lease.LeaseHeld(
            f"store.path={store} is being written by the tasks of a SLURM array: {who}. "
            "Nothing was written. The array's finishing job completes the store; or wait for "
            "the tasks to end (or their leases to lapse) and run the same command again."
        )


@contextmanager
def held_share(store: SweepStore, task: int, seconds: float) -> Iterator[lease.Lease]:
    """Hold the lease of share ``task`` of ``store``; :class:`lease.LeaseHeld` if a driver
    holds the whole store's lease (or another process this share's)."""
    with share_key(store, task).lease(seconds) as held:
        whole = store.lease_holder()
        if whole is not None:
            raise lease.LeaseHeld(
                f"store.path={store} is being written by a driver (process {whole['pid']} on "
                f"host {whole['host']}); share {task} of the array writes nothing"
            )
        yield held
