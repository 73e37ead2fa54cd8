"""``python tests/kill_driver.py ARGS``: ``python -m pipeline ARGS`` that SIGKILLs itself.

A test helper for killing a driver at an exact moment: the process kills
itself at the ``KILL_AT_COUNT``-th file write (default 1) whose path contains
``KILL_AT``.  Every file of a store is written through
:func:`pipeline.store.durable.put` (creation, metadata and every block).
With ``KILL_MID_WRITE=1`` it first writes half the bytes to the temporary
file that would be renamed into place, as a kill in the middle of a write
leaves it; otherwise it dies just before the write.
"""

from __future__ import annotations

import os
import runpy
import signal
import uuid

from pipeline.store import durable

KILL_AT = os.environ["KILL_AT"]
KILL_AT_COUNT = int(os.environ.get("KILL_AT_COUNT", "1"))
MID_WRITE = os.environ.get("KILL_MID_WRITE") == "1"
_put = durable.put
_count = 0


def _maybe_die(path, data: bytes) -> None:
    global _count
    if KILL_AT in path.as_posix():
        _count += 1
        if _count == KILL_AT_COUNT:
            if MID_WRITE:
                path.parent.mkdir(parents=True, exist_ok=True)
                name = f"{path.name}.{uuid.uuid4().hex}{durable.TEMPORARY_SUFFIX}"
                path.with_name(name).write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)


def put(path, data):
    _maybe_die(path, bytes(data))
    return _put(path, data)


durable.put = put
runpy.run_module("pipeline", run_name="__main__", alter_sys=True)
