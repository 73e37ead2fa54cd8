"""Solvers of the rate model by method name (``solver.method``, ``conf/solver/``).

Each solver is a function ``solver(system, times, **settings)`` of a
:class:`System` and the recording times; ``settings`` are the solver config
keys it declares in ``reads``, and nothing else.  It returns the rates, or a
:class:`Solution` of the rates and its error estimate per point.  A solver added by another
package (:mod:`pipeline.extensions`) registers its own in :data:`SOLVERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.model.solvers.dopri5 import dopri5_rate
from pipeline.model.solvers.exact import exact_rate
from pipeline.model.solvers.rk4 import rk4_rate
from pipeline.model.solvers.schedule import Solution, System
from pipeline.registry import Registry

__all__ = ["SOLVERS", "Solution", "Solver", "System", "solve"]


@dataclass(frozen=True)
class Solver:
    """A solver, the ``solver.*`` config keys it reads, and whether it needs ``f(x) = x``."""

    function: Callable[..., np.ndarray | Solution]
    reads: tuple[str, ...] = ()
    linear_only: bool = False


SOLVERS: Registry[str, Solver] = Registry(
    "solver",
    Solver,
    {
        "exact": Solver(exact_rate, linear_only=True),
        "rk4": Solver(rk4_rate, reads=("max_step", "rtol", "atol")),
        "dopri5": Solver(dopri5_rate, reads=("rtol", "atol", "max_step")),
    },
)
"""Every solver by method name; another package adds one with ``SOLVERS.register``."""


def solve(method: str, system: System, times: np.ndarray, settings: Mapping[str, Any]) -> Solution:
    """``v`` at ``times`` of every model of ``system``, ``(n_batch, n_time, n_neuron)``, and
    the solver's error estimate per point where it makes one.

    ``settings`` holds the solver config (``solver.*``); the solver gets the
    keys it reads.
    """
    solver = SOLVERS[method]
    result = solver.function(system, times, **{key: settings[key] for key in solver.reads})
    return result if isinstance(result, Solution) else Solution(result)
