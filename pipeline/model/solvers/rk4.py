"""The rate model with any transfer function, integrated by classical Runge-Kutta (pure numpy).

With a saturating transfer function ``tau dv/dt = -v + f(M v + h(t))`` has
no closed form.  :func:`rk4_rate` integrates it (any ``f``, the linear one
included) through the same pieces as the exact solver, in equal steps of at
most ``max_step`` that end exactly on the input's switch times, so the
fourth-order accuracy holds across a switch.  The clip transfer has kinks
(where ``M v + h`` reaches ``+-ceiling``): a step that crosses one is split
at the crossing (:mod:`pipeline.model.solvers.kinks`), so the fourth-order
accuracy holds across a kink too.

The steps are fixed, so nothing keeps their error within a tolerance; each
step estimates it, and the solution reports the largest estimate over
``solver.rtol``/``solver.atol`` per point (:class:`Solution`): where that
passes 1, ``max_step`` is too coarse for the point.
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.model.solvers.kinks import distance_past, kink_fraction, side
from pipeline.model.solvers.schedule import (
    Solution,
    Step,
    System,
    interval_pieces,
    march,
    point_first,
    right_hand_side,
)
from pipeline.model.transfer import Transfer


def rk4_rate(
    system: System,
    times: np.ndarray,
    *,
    max_step: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> Solution:
    """Integrate ``tau dv/dt = -v + f(M v + h(t))`` from rest by classical Runge-Kutta.

    Every point of the batch advances together, through the same pieces as
    the exact solver (:func:`pipeline.model.solvers.schedule.march`): every
    recording interval, cut at the input's switches (a switch within a
    billionth of the recording step of a sample is taken to fall on it).
    Each piece is crossed in equal steps of at most ``max_step``, so no step
    straddles a switch and the fourth-order accuracy holds across it.

    The error of each step is estimated by the embedded third-order method
    of the same stages and ``k5 = F(v_new)`` (the next step's first stage):
    ``e = step/6 (k4 - k5)``, which is ``O(step^4)`` and so bounds rk4's own
    ``O(step^5)`` error from above for small steps; it is compared with
    ``atol + rtol |v|`` at the larger ``|v|`` of the recording interval's ends.

    Parameters
    ----------
    system : System
        Its ``transfer`` is the ``f`` applied elementwise; its modes are not used.
    times : (n_time,) ndarray
        Uniformly spaced recording times in seconds.
    max_step : float
        Largest integration step in seconds (default: the recording step).
    rtol, atol : float
        The tolerance (relative, and absolute in Hz) the error estimate is reported against.

    Returns
    -------
    Solution
        ``rate``, ``(n_batch, n_time, n_neuron)``: ``v`` at every recording time
        (non-finite where the solution overflows); ``error``, ``(n_batch,)``:
        the largest estimated local error over its tolerance, while the state
        is finite.
    """
    schedule = interval_pieces(times, system.switch_times)
    weights, inputs, transfer = system.weights, system.inputs, system.transfer
    largest = max_step or (times[1] - times[0] if times.size > 1 else 1.0)
    rate_of_change = 1.0 / system.tau[:, None]
    kinked = transfer.name == "clip"
    worst = np.zeros(len(weights))

    def propagator(duration: float, epoch: int) -> Step:
        n_steps = max(1, math.ceil(duration / largest - 1e-9))
        step, h = duration / n_steps, inputs[:, epoch]

        def advance(v: np.ndarray, out: np.ndarray) -> None:
            k1 = right_hand_side(weights, rate_of_change, transfer, h, v)
            # Per neuron, the largest |k4 - k5| of the piece's steps (the fewest operations
            # per step: a tenth of rk4's time when scaled at each step), over the tolerance
            # at the larger |v| of the piece's ends, as scipy's norm takes the larger of a
            # step's ends.
            largest_change = np.zeros_like(v)
            start = v
            for _ in range(n_steps):
                new, k4 = _rk4_step(weights, rate_of_change, transfer, h, v, step, k1)
                k5 = right_hand_side(weights, rate_of_change, transfer, h, new)
                change = np.abs(k4 - k5, out=k4)
                if kinked:
                    _split_at_kinks(
                        weights, rate_of_change, transfer, h, v, step, (new, k5, change)
                    )
                np.fmax(largest_change, change, out=largest_change)
                v, k1 = new, k5
            out[...] = v
            scale = atol + rtol * np.maximum(np.abs(start), np.abs(v))
            error = step / 6.0 * largest_change / scale
            # Only while the state is finite: after an overflow the point is diverged.
            np.fmax(worst, np.where(np.isfinite(error), error, np.nan).max(axis=-1), out=worst)

        return advance

    with np.errstate(over="ignore", invalid="ignore"):
        rate = point_first(march(schedule, np.zeros(inputs[:, 0].shape), propagator))
    return Solution(rate, worst)


def _rk4_step(
    weights: np.ndarray,
    rate_of_change: np.ndarray,
    transfer: Transfer,
    h: np.ndarray,
    v: np.ndarray,
    step: float | np.ndarray,
    k1: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One classical Runge-Kutta step of ``dv/dt = F(v)`` from ``v``, and its last stage ``k4``.

    ``step`` is one length for every point, or one per point ``(n_batch, 1)``;
    ``k1 = F(v)`` where the caller has it.
    """

    def derivative(x: np.ndarray) -> np.ndarray:
        return right_hand_side(weights, rate_of_change, transfer, h, x)

    k1 = derivative(v) if k1 is None else k1
    k2 = derivative(v + 0.5 * step * k1)
    k3 = derivative(v + 0.5 * step * k2)
    k4 = derivative(v + step * k3)
    return v + step / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4), k4


def _split_at_kinks(
    weights: np.ndarray,
    rate_of_change: np.ndarray,
    transfer: Transfer,
    h: np.ndarray,
    v: np.ndarray,
    step: float,
    result: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Redo, in ``result`` (new state, its ``F``, ``|k4 - k5|`` per neuron), the steps from
    ``v`` that cross a kink of the clip: to it, then on.

    The crossing is the shortest fraction of the step at which some
    neuron's piece differs from its piece at the start
    (:func:`pipeline.model.solvers.kinks.kink_fraction`); the step is then
    taken in two, each on one smooth piece, and its ``|k4 - k5|`` is the
    larger of the two pieces' (each times its share of the step, so that
    ``step/6`` times it is the estimate).
    """
    new, k_new, change = result
    before = side(weights, transfer, h, v)
    crossing = np.flatnonzero((before != side(weights, transfer, h, new)).any(axis=-1))
    if crossing.size == 0:
        return
    w, rate, inputs, start = weights[crossing], rate_of_change[crossing], h[crossing], v[crossing]
    at = before[crossing]

    def stepped(x: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        end, k4 = _rk4_step(w, rate, transfer, inputs, x, share * step)
        k_end = right_hand_side(w, rate, transfer, inputs, end)
        return end, k_end, share * np.abs(k4 - k_end)

    fraction = kink_fraction(
        lambda f: _rk4_step(w, rate, transfer, inputs, start, f * step)[0],
        lambda x: distance_past(w, transfer, inputs, at, x),
        start,
        new[crossing],
    )
    at_kink, _, first = stepped(start, fraction)
    new[crossing], k_new[crossing], second = stepped(at_kink, 1.0 - fraction)
    change[crossing] = np.maximum(first, second)
