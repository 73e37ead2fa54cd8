"""Status of each sweep point, stored as the int8 variable ``status``.

A status chunk is written only after every data chunk it vouches for, so a
point reads ``ok`` or ``diverged`` only if its data are on disk.  A chunk that
was never written reads 0, ``pending``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

STATUS: dict[str, int] = {"pending": 0, "ok": 1, "diverged": 2, "failed": 3}
"""Code of each point status."""

STATUS_ATTRS: dict[str, object] = {
    "long_name": "status of the sweep point",
    "units": "1",
    "flag_values": list(STATUS.values()),
    "flag_meanings": " ".join(STATUS),
}


def status_counts(status: np.ndarray) -> dict[str, int]:
    """How many points have each status."""
    return {name: int(np.count_nonzero(status == code)) for name, code in STATUS.items()}


def run_status(counts: Mapping[str, int]) -> str:
    """``complete`` when every point is ok or diverged, else ``incomplete``."""
    return "incomplete" if counts["pending"] or counts["failed"] else "complete"
