"""One writer per store: a lease that a live driver renews and a dead one lets lapse.

The lease is the JSON file ``<store>.lease`` beside the store: a random token,
the holder's host and process id, and the time until which it holds.  A
driver takes the lease before it creates, overwrites or resumes a store,
renews it from a background thread every third of its duration, and marks it
released when it ends.  A driver that dies (SIGKILL, a lost node) stops
renewing, so its lease lapses ``store.lease_seconds`` after the last renewal
and a new driver may take over; until then a second driver is refused with a
message that names the holder and says when the lease lapses.

Every task checks the token just before it writes a block (:func:`check`):
a driver that was stalled rather than dead, and whose lease was taken over
meanwhile, stops instead of writing on.  (Two drivers of one fingerprint
write identical bytes, so the narrow window between the check and the write
cannot corrupt a store.)

On an object store (``s3://``) the lease is a sequence of records created
with put-if-absent instead (:mod:`pipeline.store.object_lease`), with the
same rules.

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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.store import object_lease
from pipeline.store.location import Location, locate

log = logging.getLogger(__name__)


class LeaseHeld(RuntimeError):
    """Another driver holds the store's lease; the message names it."""


class LeaseLost(RuntimeError):
    """This driver's lease lapsed and another driver took the store over."""


def lease_path(store: Path) -> Path:
    """Where the lease of the store at ``store`` lives: ``<store>.lease`` beside it."""
    return store.with_name(store.name + ".lease")


def _object_store(store: Path | Location) -> tuple[Any, str] | None:
    """The file system and records folder of the lease of a store on an object store."""
    where = locate(store)
    return None if where.local else (where.fs(), f"{where.root}.lease")


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


def _describe(store: Path | Location, holder: dict[str, Any]) -> str:
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

    store: Path | Location
    token: str
    seconds: float
    lost: str | None = field(default=None)
    """Why the lease was lost, once a renewal found another holder."""

    def renew(self) -> None:
        """Push the lapse time ``seconds`` ahead; :class:`LeaseLost` if another driver holds it."""
        objects = _object_store(self.store)
        if objects is not None:
            fs, folder = objects
            number, holder = object_lease.latest(fs, folder)
            if not _holds(holder, self.token):
                raise LeaseLost(_lost_message(self.store, holder, self.token))
            now = time.time()
            try:
                object_lease.create(
                    fs,
                    folder,
                    number + 1,
                    {**holder, "renewed": now, "expires": now + self.seconds},
                )
            except FileExistsError:
                raise LeaseLost(
                    _lost_message(self.store, object_lease.latest(fs, folder)[1], self.token)
                ) from None
            return
        with _locked(lease_path(self.store), exclusive=True) as handle:
            holder = _read(handle)
            if not _holds(holder, self.token):
                raise LeaseLost(_lost_message(self.store, holder, self.token))
            now = time.time()
            _write(handle, {**holder, "renewed": now, "expires": now + self.seconds})

    def release(self) -> None:
        """Mark the lease released, unless another driver has taken it over."""
        objects = _object_store(self.store)
        if objects is not None:
            fs, folder = objects
            number, holder = object_lease.latest(fs, folder)
            if _holds(holder, self.token):
                released = {**holder, "released": True, "expires": time.time()}
                try:
                    object_lease.create(fs, folder, number + 1, released)
                except FileExistsError:  # taken over meanwhile: it is not ours to release
                    return
            return
        with _locked(lease_path(self.store), exclusive=True) as handle:
            holder = _read(handle)
            if _holds(holder, self.token):
                _write(handle, {**holder, "released": True, "expires": time.time()})


def _lost_message(store: Path | Location, holder: dict[str, Any] | None, token: str) -> str:
    if holder is None:
        return f"the lease file of store.path={store} is empty or unreadable; this driver stops"
    if holder["token"] == token:
        return f"this driver has released its lease on store.path={store}"
    return (
        f"the lease on store.path={store} lapsed and was taken over by process "
        f"{holder['pid']} on host {holder['host']} at {_clock(holder['acquired'])}; "
        "this driver stops without writing more"
    )


def _may_take(store: Path | Location, holder: dict[str, Any] | None) -> None:
    """Refuse (:class:`LeaseHeld`) while ``holder`` holds a live lease; say so on a takeover."""
    if holder is None or holder.get("released"):
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


def _acquire_object(store: Path | Location, seconds: float, fs: Any, folder: str) -> Lease:
    number, holder = object_lease.latest(fs, folder)
    _may_take(store, holder)
    record = object_lease.new_holder(seconds)
    try:
        object_lease.create(fs, folder, number + 1, record)
    except FileExistsError:  # another driver took it first
        raise LeaseHeld(_describe(store, object_lease.latest(fs, folder)[1])) from None
    return Lease(store=store, token=record["token"], seconds=seconds)


def acquire(store: Path | Location, seconds: float) -> Lease:
    """Take the lease on ``store`` for ``seconds``; :class:`LeaseHeld` if a live driver has it."""
    objects = _object_store(store)
    if objects is not None:
        return _acquire_object(store, seconds, *objects)
    path = lease_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path, exclusive=True) as handle:
        _may_take(store, _read(handle))
        now = time.time()
        token = uuid.uuid4().hex
        _write(
            handle,
            {
                "token": token,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "acquired": now,
                "renewed": now,
                "expires": now + seconds,
            },
        )
    return Lease(store=store, token=token, seconds=seconds)


def _current(store: Path | Location) -> dict[str, Any] | None:
    """The last holder recorded in the lease of ``store`` (perhaps released or lapsed)."""
    objects = _object_store(store)
    if objects is not None:
        return object_lease.latest(*objects)[1]
    path = lease_path(store)
    if not path.is_file():
        return None
    with _locked(path, exclusive=False) as handle:
        return _read(handle)


def holder(store: Path | Location) -> dict[str, Any] | None:
    """The driver that holds the lease on ``store`` now (host, pid, ...); None if none does."""
    current = _current(store)
    if current is None or current.get("released") or current["expires"] <= time.time():
        return None
    return current


def check(store: Path | Location, token: str) -> None:
    """Raise :class:`LeaseLost` unless the lease on ``store`` is still the one with ``token``."""
    objects = _object_store(store)
    if objects is not None:
        holder = object_lease.latest(*objects)[1]
    else:
        with _locked(lease_path(store), exclusive=False) as handle:
            holder = _read(handle)
    if not _holds(holder, token):
        raise LeaseLost(_lost_message(store, holder, token))


@contextmanager
def held(store: Path | Location, seconds: float) -> Iterator[Lease]:
    """Hold the lease on ``store`` while the block runs, renewing it in the background."""
    lease = acquire(store, seconds)
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
                log.warning("could not renew the lease on %s: %s", store, err)

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
            log.warning("could not release the lease on %s: %s", store, err)
