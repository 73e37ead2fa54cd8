"""What every solver shares: the batch of models, and the recording grid cut at switches.

A :class:`System` is a batch of rate models (post-synaptic index first)::

    tau dv/dt = -v + f(M v + h(t)),   v(0) = 0,

with a piecewise-constant input ``h``: epoch ``e`` holds ``inputs[:, e]``
from ``switch_times[e - 1]`` (or time 0) until ``switch_times[e]``.  A solver
crosses each recording interval piece by piece (:func:`interval_pieces`), so
that no piece straddles a switch of the input.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.model.modes import Modes, eigenmodes
from pipeline.model.transfer import LINEAR, Transfer

Schedule = list[list[tuple[float, int]]]
"""For each recording interval, the (duration, epoch) pieces it is made of."""

Step = Callable[[np.ndarray, np.ndarray], None]
"""``step(state, out)`` writes into ``out`` the state one piece later."""


@dataclass(frozen=True)
class System:
    """A batch of rate models ``tau dv/dt = -v + f(M v + h(t))``, from rest.

    Attributes
    ----------
    weights : (n_batch, n_neuron, n_neuron) ndarray
        Recurrent weights ``M``.
    tau : (n_batch,) ndarray
        Time constants in seconds.
    inputs : (n_batch, n_epoch, n_neuron) ndarray
        Input ``h`` during each epoch.
    switch_times : (n_epoch - 1,) ndarray
        Times in seconds at which the input moves to the next epoch.
    modes : Modes
        Eigenmodes of ``weights`` (:func:`pipeline.model.modes.eigenmodes`).
    transfer : Transfer
        The transfer function ``f``.
    """

    weights: np.ndarray
    tau: np.ndarray
    inputs: np.ndarray
    switch_times: np.ndarray
    modes: Modes
    transfer: Transfer = LINEAR

    @classmethod
    def of(
        cls,
        weights: np.ndarray,
        tau: np.ndarray,
        inputs: np.ndarray,
        switch_times: np.ndarray,
        *,
        symmetric: bool = False,
        transfer: Transfer = LINEAR,
    ) -> System:
        """The system of these arrays, with the eigenmodes of ``weights`` computed here."""
        modes = eigenmodes(weights, symmetric)
        return cls(weights, tau, inputs, switch_times, modes, transfer)


@dataclass(frozen=True)
class Solution:
    """What a solver returns: the rates and, where it estimates them, its errors.

    Attributes
    ----------
    rate : (n_batch, n_time, n_neuron) ndarray
        ``v`` at every recording time.
    error : (n_batch,) ndarray or None
        Per point, the largest local error the solver estimated over its
        tolerance (:func:`error_ratio`); above 1, the trajectory does not meet
        ``solver.rtol``/``solver.atol``.  None for a solver with no
        truncation error (the exact one).
    steps : (n_batch,) ndarray or None
        Per point, the steps it took (rejected ones not counted), where the
        solver chooses them.
    """

    rate: np.ndarray
    error: np.ndarray | None = None
    steps: np.ndarray | None = None


def right_hand_side(
    weights: np.ndarray,
    rate_of_change: np.ndarray,
    transfer: Transfer,
    h: np.ndarray,
    v: np.ndarray,
) -> np.ndarray:
    """``F(v) = (f(M v + h) - v) / tau`` per point, ``rate_of_change = 1 / tau`` ``(n, 1)``."""
    recurrent = np.matmul(weights, v[..., None])[..., 0]
    return (transfer(recurrent + h) - v) * rate_of_change


def error_ratio(
    error: np.ndarray, start: np.ndarray, end: np.ndarray, rtol: float, atol: float
) -> np.ndarray:
    """``max_i |e_i| / (atol + rtol max(|start_i|, |end_i|))`` per point, over its neurons.

    The local error ``e`` of a step from ``start`` to ``end`` against the
    tolerance of ``solver.rtol`` and ``solver.atol`` (Hz); at most 1 where
    the step meets it.  Arrays are ``(n_points, n_neuron)``.
    """
    scale = atol + rtol * np.maximum(np.abs(start), np.abs(end))
    return np.max(np.abs(error) / scale, axis=-1)


def interval_pieces(times: np.ndarray, switch_times: np.ndarray) -> Schedule:
    """For each recording interval, the (duration, epoch) pieces it splits into.

    A switch within a billionth of the recording step of a sample is taken to
    fall on the sample, so round-off in the grid never creates a sliver piece.
    """
    dt = float(times[1] - times[0]) if times.size > 1 else 1.0
    snapped = np.asarray(switch_times, dtype=float)
    nearest = np.clip(np.searchsorted(times, snapped), 0, times.size - 1)
    close = np.abs(times[nearest] - snapped) <= 1e-9 * dt
    snapped = np.where(close, times[nearest], snapped)
    starts, stops = times[:-1], times[1:]
    epochs = np.searchsorted(snapped, starts, side="right")
    n_inside = np.searchsorted(snapped, stops, side="left") - epochs
    pieces = [[(dt, int(epoch))] for epoch in epochs]
    for k in np.flatnonzero(n_inside):
        edges = [starts[k], *snapped[epochs[k] : epochs[k] + n_inside[k]], stops[k]]
        pieces[k] = [
            (float(b - a), int(epochs[k]) + i) for i, (a, b) in enumerate(itertools.pairwise(edges))
        ]
    return pieces


def march(
    schedule: Schedule, initial: np.ndarray, propagator: Callable[[float, int], Step]
) -> np.ndarray:
    """The state at every recording time, ``(n_time, n_batch, n)``, time first.

    ``propagator(duration, epoch)`` returns the step that writes the state
    ``duration`` later under the input of ``epoch``; it is built once per
    distinct piece, and each recording interval is crossed piece by piece.
    Time first, so that each step reads and writes one contiguous slab.
    """
    steps: dict[tuple[float, int], Step] = {}
    states = np.empty((len(schedule) + 1, *initial.shape), dtype=initial.dtype)
    states[0] = initial
    for k, pieces in enumerate(schedule, start=1):
        previous, current = states[k - 1], states[k]
        for piece in pieces:
            if piece not in steps:
                steps[piece] = propagator(*piece)
            steps[piece](previous, current)
            previous = current
    return states


def point_first(states: np.ndarray) -> np.ndarray:
    """``(n_time, n_batch, n)`` states from :func:`march` as ``(n_batch, n_time, n)`` rates."""
    return np.ascontiguousarray(states.transpose(1, 0, 2))


def matvec(matrix: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``matrix[b] @ vectors[b, k]`` for every point ``b`` and vector ``k``.

    Parameters
    ----------
    matrix : (n_batch, n, n) ndarray
    vectors : (n_batch, n_vector, n) ndarray

    Returns
    -------
    (n_batch, n_vector, n) ndarray
    """
    return np.matmul(vectors, np.swapaxes(matrix, -1, -2))
