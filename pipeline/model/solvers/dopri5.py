"""The rate model with any transfer function, by Dormand-Prince 5(4) with step-size control.

``tau dv/dt = -v + f(M v + h(t))`` is integrated by the embedded
Runge-Kutta pair of Dormand and Prince (1980; the tableau of
``scipy.integrate.RK45`` and of Hairer, Norsett and Wanner, *Solving ODEs I*,
II.5): the fifth-order solution is kept, the difference to the fourth-order
one estimates the step's local error ``e``, and each step is sized so that
``|e_i| <= atol + rtol max(|v_i|, |v_new_i|)`` for every neuron.  A step
whose error passes that is taken again, shorter.

Every point of the batch advances together, each with its own step size,
through the same pieces as the exact solver
(:func:`pipeline.model.solvers.schedule.march`): every recording interval,
cut at the input's switches, so every step ends exactly on a switch and on a
recording time.  The clip transfer's kinks split a step as in the rk4
solver (:mod:`pipeline.model.solvers.kinks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.model.solvers.kinks import distance_past, kink_fraction, side
from pipeline.model.solvers.schedule import (
    Solution,
    Step,
    System,
    error_ratio,
    interval_pieces,
    march,
    point_first,
    right_hand_side,
)
from pipeline.model.transfer import Transfer

A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
)
"""Stage coefficients: stage ``s`` is ``F(v + step sum_j A[s][j] k_j)``."""

B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
"""Weights of the fifth-order solution; ``F`` of it is the next step's first stage."""

E = (-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40)
"""Fifth- minus fourth-order weights over the six stages and ``F(v_new)``: ``e = step sum E k``."""

SAFETY, SHRINK, GROW = 0.9, 0.2, 10.0
"""A new step is ``SAFETY err^(-1/5)`` times the last, within ``[SHRINK, GROW]``."""

SMALLEST_STEP = 1e-6
"""Fraction of a point's ``tau`` below which no step shrinks: one that short is taken whatever
its error, which is recorded (with ``solver.rtol`` above round-off it is not reached)."""

FIRST_STEP = 1e-3
"""Fraction of a point's ``tau`` that its first step tries."""


def dopri5_rate(
    system: System,
    times: np.ndarray,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_step: float | None = None,
) -> Solution:
    """Integrate ``tau dv/dt = -v + f(M v + h(t))`` from rest within ``rtol``/``atol`` per step.

    Parameters
    ----------
    system : System
        Its ``transfer`` is the ``f`` applied elementwise; its modes are not used.
    times : (n_time,) ndarray
        Uniformly spaced recording times in seconds.
    rtol, atol : float
        Tolerance of each step's local error: relative, and absolute in Hz.
    max_step : float or None
        Largest step in seconds; None: only the error and the pieces bound it.

    Returns
    -------
    Solution
        ``rate``, ``(n_batch, n_time, n_neuron)``: ``v`` at every recording time
        (non-finite where the solution overflows); ``error``, ``(n_batch,)``:
        the largest local error estimate over its tolerance of the steps
        taken while the state is finite, at most 1 unless a step reached
        :data:`SMALLEST_STEP`;
        ``steps``, ``(n_batch,)``: how many steps each point took.
    """
    schedule = interval_pieces(times, system.switch_times)
    inputs, tau = system.inputs, system.tau
    largest = np.inf if max_step is None else max_step
    steps = np.minimum(FIRST_STEP * tau, largest)
    worst, taken = np.zeros(len(tau)), np.zeros(len(tau), dtype=np.int64)
    integrator = _Stepper(system.weights, 1.0 / tau[:, None], system.transfer, rtol, atol)

    def propagator(duration: float, epoch: int) -> Step:
        def advance(v: np.ndarray, out: np.ndarray) -> None:
            out[...] = v
            integrator.cross(out, inputs[:, epoch], duration, steps, (worst, taken), tau, largest)

        return advance

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        rate = point_first(march(schedule, np.zeros(inputs[:, 0].shape), propagator))
    return Solution(rate, worst, taken)


@dataclass(frozen=True)
class _Batch:
    """Models under a constant input: ``F(v) = (f(M v + h) - v) / tau`` for each."""

    weights: np.ndarray
    rate_of_change: np.ndarray
    transfer: Transfer
    h: np.ndarray

    def __call__(self, v: np.ndarray) -> np.ndarray:
        return right_hand_side(self.weights, self.rate_of_change, self.transfer, self.h, v)

    def subset(self, pick: slice | np.ndarray) -> _Batch:
        return _Batch(self.weights[pick], self.rate_of_change[pick], self.transfer, self.h[pick])

    def side(self, v: np.ndarray) -> np.ndarray:
        """The piece of the clip each neuron is on (:func:`pipeline.model.solvers.kinks.side`)."""
        return side(self.weights, self.transfer, self.h, v)

    def past(self, before: np.ndarray, v: np.ndarray) -> np.ndarray:
        """:func:`pipeline.model.solvers.kinks.distance_past` the pieces ``before``."""
        return distance_past(self.weights, self.transfer, self.h, before, v)


class _Stepper:
    """Dormand-Prince steps of a batch of models under a constant input."""

    def __init__(
        self,
        weights: np.ndarray,
        rate_of_change: np.ndarray,
        transfer: Transfer,
        rtol: float,
        atol: float,
    ) -> None:
        self.weights, self.rate_of_change, self.transfer = weights, rate_of_change, transfer
        self.rtol, self.atol = rtol, atol

    def cross(
        self,
        v: np.ndarray,
        h: np.ndarray,
        duration: float,
        steps: np.ndarray,
        tally: tuple[np.ndarray, np.ndarray],
        tau: np.ndarray,
        largest: float,
    ) -> None:
        """Advance every point's ``v`` (in place) by ``duration`` under input ``h``.

        ``steps`` holds each point's next step size and is updated; ``tally``
        the largest error ratio of its accepted steps and their number.  Each
        round steps the points that have not arrived, each by its own step
        (cut to arrive exactly at ``duration``).
        """
        worst, taken = tally
        everyone = _Batch(self.weights, self.rate_of_change, self.transfer, h)
        elapsed = np.zeros(len(v))
        derivative = everyone(v)
        while True:
            left = duration - elapsed
            active = np.flatnonzero(left > 0)
            if active.size == 0:
                return
            every = active.size == len(v)
            pick = slice(None) if every else active
            batch = everyone if every else everyone.subset(active)
            start, k1 = v[pick], derivative[pick]
            # An overflowed state has nothing left to resolve: it crosses the rest at once.
            overflowed = ~np.isfinite(start).all(axis=-1)
            step = np.minimum(np.maximum(steps[pick], SMALLEST_STEP * tau[pick]), largest)
            # A step that would leave less than a hundredth of itself takes the rest too.
            step = np.where((left[pick] <= 1.01 * step) | overflowed, left[pick], step)
            new, k_new, error = self.step(batch, start, k1, step[:, None])
            forced = (step <= SMALLEST_STEP * tau[pick]) | overflowed
            accepted = (error <= 1.0) | forced
            if self.transfer.name == "clip":
                step = self.split_at_kinks(batch, start, k1, step, accepted, (new, k_new, error))
            with np.errstate(divide="ignore"):
                factor = np.clip(SAFETY * error ** (-0.2), SHRINK, GROW)
            factor = np.where(np.isnan(error), SHRINK, factor)
            # After a rejected step, the next may not grow (Hairer, Norsett and Wanner, II.4).
            steps[pick] = np.where(accepted, step * factor, step * np.minimum(factor, 1.0))
            done = active[accepted] if not every else np.flatnonzero(accepted)
            v[done] = new[accepted]
            derivative[done] = k_new[accepted]
            elapsed[done] += step[accepted]
            # Only while the state is finite: after an overflow the point is diverged.
            finite = np.where(np.isfinite(error[accepted]), error[accepted], np.nan)
            worst[done] = np.fmax(worst[done], finite)
            taken[done] += 1
            # A point that arrives within round-off of the end has arrived.
            arrived = duration - elapsed[done] <= 1e-12 * duration
            elapsed[done] = np.where(arrived, duration, elapsed[done])

    def step(
        self, batch: _Batch, v: np.ndarray, k1: np.ndarray, step: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One Dormand-Prince step per point (``step`` is ``(n, 1)``): ``v_new``,
        ``F(v_new)`` and the error ratio of :func:`error_ratio`."""
        stages = [k1]
        for row in A[1:]:
            increment = sum(a * k for a, k in zip(row, stages, strict=True) if a)
            stages.append(batch(v + step * increment))
        new = v + step * sum(b * k for b, k in zip(B, stages, strict=True) if b)
        stages.append(batch(new))
        error = step * sum(e * k for e, k in zip(E, stages, strict=True) if e)
        return new, stages[-1], error_ratio(error, v, new, self.rtol, self.atol)

    def split_at_kinks(
        self,
        batch: _Batch,
        v: np.ndarray,
        k1: np.ndarray,
        step: np.ndarray,
        accepted: np.ndarray,
        result: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """Cut, in ``result``, the accepted steps that cross a kink of the clip to end just
        past it (:func:`pipeline.model.solvers.kinks.kink_fraction`); the step lengths,
        so cut.  The next step starts on the new piece, so no step straddles a kink.
        """
        new, k_new, error = result
        before = batch.side(v)
        crossing = np.flatnonzero(accepted & (before != batch.side(new)).any(axis=-1))
        if crossing.size == 0:
            return step
        crossers = batch.subset(crossing)
        start, k, length, at = v[crossing], k1[crossing], step[crossing, None], before[crossing]
        fraction = kink_fraction(
            lambda f: self.step(crossers, start, k, f * length)[0],
            lambda x: crossers.past(at, x),
            start,
            new[crossing],
        )
        cut = fraction * length
        new[crossing], k_new[crossing], error[crossing] = self.step(crossers, start, k, cut)
        step = step.copy()
        step[crossing] = cut[:, 0]
        return step
