"""The kinks of the clip transfer, where a stepping solver splits its step.

``f(x) = min(max(x, -ceiling), ceiling)`` has kinks at ``x = +-ceiling``:
across one, ``dv/dt`` is continuous but its derivative jumps, so a step
that straddles a kink loses the order of its method.  A solver finds the
fraction of its step at which ``x = M v + h`` first changes piece
(:func:`kink_fraction`) and steps to there, then on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipeline.model.transfer import Transfer

KINK_BISECTIONS = 60
"""Halvings of a step that locate a kink: to 2^-60 of the step, far below round-off."""


def side(weights: np.ndarray, transfer: Transfer, h: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Which piece of the clip each neuron's ``x = M v + h`` is on: -1, 0 (linear) or 1."""
    x = np.matmul(weights, v[..., None])[..., 0] + h
    return np.sign(x) * (np.abs(x) > transfer.ceiling)


def kink_fraction(
    advance: Callable[[np.ndarray], np.ndarray],
    moved: Callable[[np.ndarray], np.ndarray],
    n_points: int,
) -> np.ndarray:
    """The shortest fraction ``(n_points, 1)`` of a step after which some neuron changed piece.

    ``advance(fraction)`` is the state after that fraction of each point's
    step; ``moved(state)`` says, per point, whether it is on another piece
    than at the start.  Bisection: the fraction returned is the upper end,
    so the state after it is already on the new piece.
    """
    low, high = np.zeros((n_points, 1)), np.ones((n_points, 1))
    for _ in range(KINK_BISECTIONS):
        middle = 0.5 * (low + high)
        crossed = moved(advance(middle))[:, None]
        high = np.where(crossed, middle, high)
        low = np.where(crossed, low, middle)
    return high
