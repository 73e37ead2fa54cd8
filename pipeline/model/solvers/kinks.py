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

KINK_ITERATIONS = 60
"""Most rounds of the root search that locates a kink (it stops earlier once located)."""

KINK_WIDTH = 1e-13
"""Fraction of a step to which a kink is located: far below round-off of the rates."""


def side(weights: np.ndarray, transfer: Transfer, h: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Which piece of the clip each neuron's ``x = M v + h`` is on: -1, 0 (linear) or 1."""
    x = np.matmul(weights, v[..., None])[..., 0] + h
    return np.sign(x) * (np.abs(x) > transfer.ceiling)


def distance_past(
    weights: np.ndarray, transfer: Transfer, h: np.ndarray, before: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """How far past the edge of its piece ``before`` the point's furthest neuron is, ``(n,)``.

    Per neuron ``|x| - ceiling`` where it was linear, ``ceiling - before x``
    where it was saturated; positive where the neuron has left its piece.
    Continuous in ``v``, so a root search can use its size and not only its sign.
    """
    x = np.matmul(weights, v[..., None])[..., 0] + h
    past = np.where(before == 0, np.abs(x) - transfer.ceiling, transfer.ceiling - before * x)
    return past.max(axis=-1)


def kink_fraction(
    advance: Callable[[np.ndarray], np.ndarray],
    past: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    end: np.ndarray,
) -> np.ndarray:
    """The shortest fraction ``(n, 1)`` of a step after which some neuron changed piece.

    ``advance(fraction)`` is the state after that fraction of each point's
    step, from ``start`` to ``end``; ``past(state)`` is :func:`distance_past`
    (``<= 0`` at ``start``, ``> 0`` at ``end``).  Regula falsi with the
    Illinois modification (Dowell and Jarratt 1971), which keeps a bracket
    and converges superlinearly where ``x`` is smooth (before the kink);
    the fraction returned is the bracket's upper end, so the state after it
    is already on the new piece.
    """
    n = len(start)
    low, high = np.zeros(n), np.ones(n)
    at_low, at_high = np.minimum(past(start), 0.0), past(end)
    last = np.zeros(n)  # which end moved last: -1 low, 1 high
    for _ in range(KINK_ITERATIONS):
        open_ = high - low > KINK_WIDTH
        if not open_.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            guess = high - at_high * (high - low) / (at_high - at_low)
        # A guess at or beyond the bracket (round-off) bisects instead.
        inside = (guess > low) & (guess < high)
        guess = np.where(inside, guess, 0.5 * (low + high))
        value = past(advance(guess[:, None]))
        beyond = open_ & (value > 0)
        before = open_ & ~(value > 0)
        # Illinois: an end kept twice in a row has its value halved, so the other end moves.
        at_low = np.where(beyond & (last == 1), 0.5 * at_low, at_low)
        at_high = np.where(before & (last == -1), 0.5 * at_high, at_high)
        high, at_high = np.where(beyond, guess, high), np.where(beyond, value, at_high)
        low, at_low = np.where(before, guess, low), np.where(before, value, at_low)
        last = np.where(beyond, 1.0, np.where(before, -1.0, last))
    return high[:, None]
