"""One writer per store: a lease that a live driver renews and a dead one lets lapse.

The lease is the JSON file ``<store>.lease`` beside the store: a random token,
the holder's host, process id and the process's start time, and the time
until which it holds.  A driver takes the lease before it creates,
overwrites or resumes a store, renews it from a background thread every
third of its duration, and marks it released when it ends.  A driver that
dies (SIGKILL, a lost node) stops renewing, so its lease lapses
``store.lease_seconds`` after the last renewal and a new driver may take
over; until then a second driver is refused with a message that names the
holder and says when the lease lapses.  A driver of the same host whose
process has ended (its pid free, or reused by a process started at another
time) is known dead at once: its lease is taken over without waiting.

Every task checks the token just before it writes a block (:func:`check`):
a driver that was stalled rather than dead, and whose lease was taken over
meanwhile, stops instead of writing on.  (Two drivers of one fingerprint
write identical bytes, so the narrow window between the check and the write
cannot corrupt a store.)

Where the lease is kept depends on the kind of store, behind one interface
(:class:`LeaseRecord`): a file under ``flock`` beside a store on a file system
(:class:`FileLease`), a sequence of records created with put-if-absent on
an object store (:class:`ObjectLease`, :mod:`pipeline.store.object_lease`).
The rules above are written once, on top of that interface.

Reading and rewriting the file is serialised by ``flock`` on the file itself,
which the kernel drops when its holder dies, so a crash can never leave the
lock held.  Lapse times use the wall clock: hosts sharing a store need
clocks that agree to well within the lease duration.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from pipeline.store import object_lease

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from pipeline.store.base import StoreBase

log = logging.getLogger(__name__)


class LeaseHeld(RuntimeError):
    """Another driver holds the store's lease; the message names it."""


class LeaseLost(RuntimeError):
    """This driver's lease lapsed and another driver took the store over."""


Replace = Callable[[dict[str, Any]], None]
"""Replaces the newest record by another; FileExistsError if another process replaced it
since it was read."""


class LeaseRecord(ABC):
    """Where one store's lease is kept: the newest record of who holds it."""

    store: str
    """The store, as messages name it."""

    @abstractmethod
    def current(self) -> dict[str, Any] | None:
        """The newest record (perhaps released or lapsed); None if there is none or it is
        unreadable."""

    @abstractmethod
    def update(self) -> Any:
        """A context manager giving the newest record and a :data:`Replace` for it; no other
        process replaces the record in between without the replacement failing."""

    def take(self, seconds: float) -> Lease:
        """Take the lease for ``seconds``; :class:`LeaseHeld` while a live driver holds it."""
        record = object_lease.new_holder(seconds)
        try:
            with self.update() as (holder, replace):
                _may_take(self.store, holder)
                replace(record)
        except FileExistsError:  # another driver took it first
            raise LeaseHeld(_describe(self.store, self.current() or {})) from None
        return Lease(record=self, token=record["token"], seconds=seconds)

    def check(self, token: str) -> None:
        """Raise :class:`LeaseLost` unless the lease is still the one with ``token``."""
        holder = self.current()
        if not _holds(holder, token):
            raise LeaseLost(_lost_message(self.store, holder, token))

    def holder(self) -> dict[str, Any] | None:
        """The driver that holds the lease now (host, pid, ...); None if none does."""
        current = self.current()
        if current is None or current.get("released") or current["expires"] <= time.time():
            return None
        if dead_on_this_host(current):
            return None
        return current


class FileLease(LeaseRecord):
    """The JSON file ``path`` (``<store>.lease``), read and rewritten under ``flock``, which
    the kernel drops when its holder dies, so a crash never leaves the lock held."""

    def __init__(self, path: Path, store: str) -> None:
        self.path = path
        self.store = store

    def current(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        with _locked(self.path, exclusive=False) as handle:
            return _read(handle)

    @contextmanager
    def update(self) -> Iterator[tuple[dict[str, Any] | None, Replace]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.path, exclusive=True) as handle:
            yield _read(handle), lambda holder: _write(handle, holder)


class ObjectLease(LeaseRecord):
    """The numbered records under ``folder`` (``<store>.lease/``) of an object store, each
    created only if absent (:mod:`pipeline.store.object_lease`)."""

    def __init__(self, fs: AbstractFileSystem, folder: str, store: str) -> None:
        self.fs = fs
        self.folder = folder
        self.store = store

    def current(self) -> dict[str, Any] | None:
        return object_lease.latest(self.fs, self.folder)[1]

    @contextmanager
    def update(self) -> Iterator[tuple[dict[str, Any] | None, Replace]]:
        number, holder = object_lease.latest(self.fs, self.folder)
        yield holder, lambda new: object_lease.create(self.fs, self.folder, number + 1, new)


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


@contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[Any]:
    """The lease file opened for reading and writing, under ``flock``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield handle


def _read(handle: Any) -> dict[str, Any] | None:
    """The last holder written to the lease file (perhaps released); None if there is none."""
    handle.seek(0)
    text = handle.read()
    try:
        holder = json.loads(text)
    except ValueError:  # empty (never held) or unreadable: nobody holds it
        return None
    return holder if isinstance(holder, dict) else None


def _holds(holder: dict[str, Any] | None, token: str) -> bool:
    return holder is not None and holder["token"] == token and not holder.get("released")


def _write(handle: Any, holder: dict[str, Any]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(holder, indent=1))
    handle.flush()
    os.fsync(handle.fileno())


def _describe(store: str, holder: dict[str, Any]) -> str:
    return (
        f"store.path={store} is being written by another driver (process {holder['pid']} "
        f"on host {holder['host']}, since {_clock(holder['acquired'])}); its lease was "
        f"renewed at {_clock(holder['renewed'])} and lapses at {_clock(holder['expires'])} "
        "if that driver has died. Nothing was written. Wait for that driver to finish "
        "(or for its lease to lapse) and run the same command again, or choose another "
        "store.path."
    )


@dataclass
class Lease:
    """A lease this process holds on one store."""

    record: LeaseRecord
    token: str
    seconds: float
    lost: str | None = field(default=None)
    """Why the lease was lost, once a renewal found another holder."""

    def renew(self) -> None:
        """Push the lapse time ``seconds`` ahead; :class:`LeaseLost` if another driver holds it."""
        try:
            with self.record.update() as (holder, replace):
                if not _holds(holder, self.token):
                    raise LeaseLost(_lost_message(self.record.store, holder, self.token))
                now = time.time()
                replace({**holder, "renewed": now, "expires": now + self.seconds})
        except FileExistsError:
            raise LeaseLost(
                _lost_message(self.record.store, self.record.current(), self.token)
            ) from None

    def release(self) -> None:
        """Mark the lease released, unless another driver has taken it over."""
        try:
            with self.record.update() as (holder, replace):
                if _holds(holder, self.token):
                    replace({**holder, "released": True, "expires": time.time()})
        except FileExistsError:  # taken over meanwhile: it is not ours to release
            return


def _lost_message(store: str, holder: dict[str, Any] | None, token: str) -> str:
    if holder is None:
        return f"the lease file of store.path={store} is empty or unreadable; this driver stops"
    if holder["token"] == token:
        return f"this driver has released its lease on store.path={store}"
    return (
        f"the lease on store.path={store} lapsed and was taken over by process "
        f"{holder['pid']} on host {holder['host']} at {_clock(holder['acquired'])}; "
        "this driver stops without writing more"
    )


def dead_on_this_host(holder: dict[str, Any]) -> bool:
    """Whether ``holder`` is a process of this host that no longer runs: its pid is free, or
    taken by a process started at another time.  False for another host's process, and for
    a record without the process's start time (it may not be told from a later process)."""
    if holder.get("host") != socket.gethostname() or "process_started" not in holder:
        return False
    try:
        started = psutil.Process(holder["pid"]).create_time()
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # not ours to inspect: assume it runs
        return False
    return abs(started - holder["process_started"]) > START_TIME_SLACK


START_TIME_SLACK = 0.01
"""Seconds by which two readings of one process's start time may differ (its clock ticks)."""


def _may_take(store: str, holder: dict[str, Any] | None) -> None:
    """Refuse (:class:`LeaseHeld`) while ``holder`` holds a live lease; say so on a takeover.

    A lease lapses ``store.lease_seconds`` after its last renewal; the lease of a driver
    of this host whose process has ended (:func:`dead_on_this_host`) is taken over at once.
    """
    if holder is None or holder.get("released"):
        return
    if dead_on_this_host(holder):
        log.warning(
            "taking over store %s: process %s on this host (%s), which held its lease, has ended",
            store,
            holder["pid"],
            holder["host"],
        )
        return
    if holder["expires"] > time.time():
        raise LeaseHeld(_describe(store, holder))
    log.warning(
        "taking over store %s: the lease of process %s on %s lapsed at %s",
        store,
        holder["pid"],
        holder["host"],
        _clock(holder["expires"]),
    )


def lease_path(store: Path) -> Path:
    """Where the lease of the store in the folder ``store`` lives: ``<store>.lease`` beside it."""
    return store.with_name(store.name + ".lease")


def acquire(store: StoreBase, seconds: float) -> Lease:
    """Take the lease on ``store`` for ``seconds``; :class:`LeaseHeld` if a live driver has it."""
    return store.lease_record().take(seconds)


def holder(store: StoreBase) -> dict[str, Any] | None:
    """The driver that holds the lease on ``store`` now (host, pid, ...); None if none does."""
    return store.lease_record().holder()


def check(store: StoreBase, token: str) -> None:
    """Raise :class:`LeaseLost` unless the lease on ``store`` is still the one with ``token``."""
    store.lease_record().check(token)


@contextmanager
def held(store: StoreBase, seconds: float) -> Iterator[Lease]:
    """Hold the lease on ``store`` while the block runs, renewing it in the background."""
    lease = acquire(store, seconds)
    where = lease.record.store
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(seconds / 3):
            try:
                lease.renew()
            except LeaseLost as err:
                lease.lost = str(err)
                log.error("%s", err)
                return
            except OSError as err:  # a full disk or a flaky mount: try again next beat
                log.warning("could not renew the lease on %s: %s", where, err)

    thread = threading.Thread(target=heartbeat, name="lease-heartbeat", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join()
        try:
            lease.release()
        except OSError as err:  # it lapses on its own; do not hide why the run ended
            log.warning("could not release the lease on %s: %s", where, err)
