"""``python tests/kill_driver.py ARGS``: ``python -m pipeline ARGS`` that SIGKILLs itself.

A test helper for killing a driver at an exact moment: the process kills
itself at the ``KILL_AT_COUNT``-th file write (default 1) whose path contains
``KILL_AT``.  With ``KILL_MID_WRITE=1`` it first writes half the bytes to the
temporary file Zarr would rename into place, as a kill in the middle of a
write leaves it; otherwise it dies just before the write.
"""

from __future__ import annotations

import os
import runpy
import signal
import uuid

import zarr.storage._local as local_store

KILL_AT = os.environ["KILL_AT"]
KILL_AT_COUNT = int(os.environ.get("KILL_AT_COUNT", "1"))
MID_WRITE = os.environ.get("KILL_MID_WRITE") == "1"
_original = local_store._put
_count = 0


def _put(path, value, exclusive=False):
    global _count
    if KILL_AT in path.as_posix():
        _count += 1
        if _count == KILL_AT_COUNT:
            if MID_WRITE:
                data = bytes(value.as_buffer_like())
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(f".{uuid.uuid4().hex}.partial")
                partial.write_bytes(data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
    return _original(path, value, exclusive)


local_store._put = _put
runpy.run_module("pipeline", run_name="__main__", alter_sys=True)
