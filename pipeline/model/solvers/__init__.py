"""Solvers of the rate model by method name (``solver.method``, ``conf/solver/``).

Each solver is a function ``solver(system, times, **settings)`` of a
:class:`System` and the recording times; ``settings`` are the solver config
keys it declares in ``reads``, and nothing else.  A solver added by another
package (:mod:`pipeline.extensions`) registers its own in :data:`SOLVERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.model.solvers.exact import exact_rate
from pipeline.model.solvers.rk4 import rk4_rate
from pipeline.model.solvers.schedule import System
from pipeline.registry import Registry

__all__ = ["SOLVERS", "Solver", "System", "solve"]


@dataclass(frozen=True)
class Solver:
    """A solver, the ``solver.*`` config keys it reads, and whether it needs ``f(x) = x``."""

    function: Callable[..., np.ndarray]
    reads: tuple[str, ...] = ()
    linear_only: bool = False


SOLVERS: Registry[str, Solver] = Registry(
    "solver",
    Solver,
    {
        "exact": Solver(exact_rate, linear_only=True),
        "rk4": Solver(rk4_rate, reads=("max_step",)),
    },
)
"""Every solver by method name; another package adds one with ``SOLVERS.register``."""


def solve(
    method: str, system: System, times: np.ndarray, settings: Mapping[str, Any]
) -> np.ndarray:
    """``v`` at ``times`` of every model of ``system``, ``(n_batch, n_time, n_neuron)``.

    ``settings`` holds the solver config (``solver.*``); the solver gets the
    keys it reads.
    """
    solver = SOLVERS[method]
    return solver.function(system, times, **{key: settings[key] for key in solver.reads})
