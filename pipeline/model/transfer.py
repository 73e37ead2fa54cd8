"""Transfer functions ``f`` of the rate model ``tau dv/dt = -v + f(M v + h)``.

The lecture's neurons are linear, ``f(x) = x``; its memory network needs a
rate that saturates on both sides.  Both saturating functions here have slope
1 at the origin (small activity behaves linearly) and saturate at
``+-ceiling``:

- ``tanh``: ``f(x) = ceiling tanh(x / ceiling)``;
- ``clip``: ``f(x) = min(max(x, -ceiling), ceiling)``, linear up to the ceiling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TRANSFERS = ("linear", "tanh", "clip")
"""Names a config may give in ``network.transfer``."""


@dataclass(frozen=True)
class Transfer:
    """The transfer function ``f`` by name, saturating at ``+-ceiling``."""

    name: str = "linear"
    ceiling: float = math.inf

    def __post_init__(self) -> None:
        if self.name not in TRANSFERS:
            raise ValueError(f"transfer must be one of {TRANSFERS}, got {self.name!r}")
        if not self.ceiling > 0:
            raise ValueError(f"the ceiling of a transfer function must be > 0, got {self.ceiling}")

    @property
    def linear(self) -> bool:
        return self.name == "linear"

    @property
    def saturation(self) -> float:
        """Hz; the rate at which ``f`` levels off: ``ceiling``, or ``inf`` for the linear ``f``.

        A linear ``f`` never reads ``ceiling`` (``network.ceiling`` keeps its default there).
        """
        return math.inf if self.linear else self.ceiling

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``f(x)``, elementwise."""
        if self.name == "tanh":
            return self.ceiling * np.tanh(x / self.ceiling)
        if self.name == "clip":
            return np.clip(x, -self.ceiling, self.ceiling)
        return x


LINEAR = Transfer()
"""``f(x) = x``: the linear model that the exact solver solves."""
