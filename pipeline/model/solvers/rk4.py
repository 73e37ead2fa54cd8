"""The rate model with any transfer function, integrated by classical Runge-Kutta (pure numpy).

With a saturating transfer function ``tau dv/dt = -v + f(M v + h(t))`` has
no closed form.  :func:`rk4_rate` integrates it (any ``f``, the linear one
included) through the same pieces as the exact solver, in equal steps of at
most ``max_step`` that end exactly on the input's switch times, so the
fourth-order accuracy holds across a switch.  The clip transfer has kinks
(where ``M v + h`` reaches ``+-ceiling``): a step that crosses one is split
at the crossing, found by bisection on the step's length, so the
fourth-order accuracy holds across a kink too.
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.model.solvers.schedule import Step, System, interval_pieces, march, point_first
from pipeline.model.transfer import Transfer


def rk4_rate(system: System, times: np.ndarray, *, max_step: float | None = None) -> np.ndarray:
    """Integrate ``tau dv/dt = -v + f(M v + h(t))`` from rest by classical Runge-Kutta.

    Every point of the batch advances together, through the same pieces as
    the exact solver (:func:`pipeline.model.solvers.schedule.march`): every
    recording interval, cut at the input's switches (a switch within a
    billionth of the recording step of a sample is taken to fall on it).
    Each piece is crossed in equal steps of at most ``max_step``, so no step
    straddles a switch and the fourth-order accuracy holds across it.

    Parameters
    ----------
    system : System
        Its ``transfer`` is the ``f`` applied elementwise; its modes are not used.
    times : (n_time,) ndarray
        Uniformly spaced recording times in seconds.
    max_step : float
        Largest integration step in seconds (default: the recording step).

    Returns
    -------
    rate : (n_batch, n_time, n_neuron) ndarray
        ``v`` at every recording time; non-finite where the solution overflows.
    """
    schedule = interval_pieces(times, system.switch_times)
    weights, inputs, transfer = system.weights, system.inputs, system.transfer
    largest = max_step or (times[1] - times[0] if times.size > 1 else 1.0)
    rate_of_change = 1.0 / system.tau[:, None]
    kinked = transfer.name == "clip"

    def propagator(duration: float, epoch: int) -> Step:
        n_steps = max(1, math.ceil(duration / largest - 1e-9))
        step, h = duration / n_steps, inputs[:, epoch]

        def advance(v: np.ndarray, out: np.ndarray) -> None:
            for _ in range(n_steps):
                new = _rk4_step(weights, rate_of_change, transfer, h, v, step)
                if kinked:
                    _split_at_kinks(weights, rate_of_change, transfer, h, v, new, step)
                v = new
            out[...] = v

        return advance

    with np.errstate(over="ignore", invalid="ignore"):
        return point_first(march(schedule, np.zeros(inputs[:, 0].shape), propagator))


KINK_BISECTIONS = 60
"""Halvings of a step that locate a kink: to 2^-60 of the step, far below round-off."""


def _rk4_step(
    weights: np.ndarray,
    rate_of_change: np.ndarray,
    transfer: Transfer,
    h: np.ndarray,
    v: np.ndarray,
    step: float | np.ndarray,
) -> np.ndarray:
    """One classical Runge-Kutta step of ``dv/dt = (f(M v + h) - v) / tau`` from ``v``.

    ``step`` is one length for every point, or one per point ``(n_batch, 1)``.
    """

    def derivative(x: np.ndarray) -> np.ndarray:
        recurrent = np.matmul(weights, x[..., None])[..., 0]
        return (transfer(recurrent + h) - x) * rate_of_change

    k1 = derivative(v)
    k2 = derivative(v + 0.5 * step * k1)
    k3 = derivative(v + 0.5 * step * k2)
    k4 = derivative(v + step * k3)
    return v + step / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def _side(weights: np.ndarray, transfer: Transfer, h: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Which piece of the clip each neuron's ``x = M v + h`` is on: -1, 0 (linear) or 1."""
    x = np.matmul(weights, v[..., None])[..., 0] + h
    return np.sign(x) * (np.abs(x) > transfer.ceiling)


def _split_at_kinks(
    weights: np.ndarray,
    rate_of_change: np.ndarray,
    transfer: Transfer,
    h: np.ndarray,
    v: np.ndarray,
    new: np.ndarray,
    step: float,
) -> None:
    """Redo, in ``new``, the steps from ``v`` that cross a kink of the clip: to it, then on.

    The crossing is the shortest fraction of the step at which some neuron's
    piece differs from its piece at the start, found by bisection; the
    step is then taken in two, each on one smooth piece.
    """
    before = _side(weights, transfer, h, v)
    crossing = np.flatnonzero((before != _side(weights, transfer, h, new)).any(axis=-1))
    if crossing.size == 0:
        return
    w, rate, inputs, start = weights[crossing], rate_of_change[crossing], h[crossing], v[crossing]
    low, high = np.zeros((crossing.size, 1)), np.ones((crossing.size, 1))
    for _ in range(KINK_BISECTIONS):
        middle = 0.5 * (low + high)
        trial = _rk4_step(w, rate, transfer, inputs, start, middle * step)
        moved = (_side(w, transfer, inputs, trial) != before[crossing]).any(axis=-1, keepdims=True)
        high = np.where(moved, middle, high)
        low = np.where(moved, low, middle)
    at_kink = _rk4_step(w, rate, transfer, inputs, start, high * step)
    new[crossing] = _rk4_step(w, rate, transfer, inputs, at_kink, (1.0 - high) * step)
