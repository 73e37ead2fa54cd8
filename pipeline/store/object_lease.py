"""The one-writer lease on an object store, built on put-if-absent.

An object store has no ``flock`` and no atomic rewrite of an object that a
reader could compare against, but S3 (and S3-compatible servers) create an
object only if it is absent when asked to (``If-None-Match: *``; s3fs's
``pipe_file(..., mode="create")``).  The lease is therefore a numbered
sequence of records under ``<store>.lease/``: the record with the highest
number says who holds the lease, until when, and whether it was released.

- Taking the lease (a new holder, or a takeover once the last holder's
  lease lapsed) creates the next record.
- Renewing creates the next record too, with the holder's token.
- Releasing creates the next record marked ``released``.

Two drivers that race for the same number cannot both create it: one gets
``FileExistsError`` and learns that another driver took the lease first.
Older records are deleted as new ones are made.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from typing import Any

import psutil
from fsspec import AbstractFileSystem

RECORD_DIGITS = 12


def _records(fs: AbstractFileSystem, folder: str) -> list[str]:
    """The record names under ``folder``, oldest first (a fresh listing, never a cached one)."""
    fs.invalidate_cache(folder)
    try:
        names = [path.rstrip("/").rpartition("/")[2] for path in fs.ls(folder, detail=False)]
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.endswith(".json") and n[:-5].isdigit())


def latest(fs: AbstractFileSystem, folder: str) -> tuple[int, dict[str, Any] | None]:
    """The number of the newest record under ``folder`` (0 if none) and what it holds."""
    while True:
        records = _records(fs, folder)
        if not records:
            return 0, None
        name = records[-1]
        try:
            holder = json.loads(fs.cat_file(f"{folder}/{name}"))
        except FileNotFoundError:
            # Pruned between the listing and the read, which a newer record does: read that
            # one (a renewal by this driver's own heartbeat does this, a lease_seconds apart).
            continue
        except ValueError:  # unreadable: nobody holds it
            holder = None
        return int(name[:-5]), holder if isinstance(holder, dict) else None


def create(fs: AbstractFileSystem, folder: str, number: int, record: dict[str, Any]) -> None:
    """Create record ``number`` and delete the older ones; FileExistsError if another driver
    created it first."""
    path = f"{folder}/{number:0{RECORD_DIGITS}d}.json"
    fs.pipe_file(path, json.dumps(record, indent=1).encode(), mode="create")
    fs.invalidate_cache(folder)
    prune(fs, folder, number)


def prune(fs: AbstractFileSystem, folder: str, keep_from: int) -> None:
    """Delete the records older than ``keep_from`` (they say nothing any more)."""
    for name in _records(fs, folder):
        if int(name[:-5]) < keep_from:
            try:
                fs.rm_file(f"{folder}/{name}")
            except FileNotFoundError:
                pass


def new_holder(seconds: float) -> dict[str, Any]:
    """A record of this process taking the lease now for ``seconds``."""
    now = time.time()
    return {
        "token": uuid.uuid4().hex,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        # With the pid, tells this process from a later one that reuses its pid.
        "process_started": psutil.Process().create_time(),
        "acquired": now,
        "renewed": now,
        "expires": now + seconds,
    }
