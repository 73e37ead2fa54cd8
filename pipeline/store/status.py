"""Status of each sweep point, stored as the int8 variable ``status``.

A status chunk is written only after every data chunk it vouches for, so a
point reads ``ok`` or ``diverged`` only if its data are on disk.  A chunk that
was never written reads 0, ``pending``.
"""

from __future__ import annotations

STATUS: dict[str, int] = {"pending": 0, "ok": 1, "diverged": 2, "failed": 3}
"""Code of each point status."""

STATUS_ATTRS: dict[str, object] = {
    "long_name": "status of the sweep point",
    "units": "1",
    "flag_values": list(STATUS.values()),
    "flag_meanings": " ".join(STATUS),
}
