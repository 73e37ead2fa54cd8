"""Trajectories of the rate model, batched over sweep points (pure numpy).

Model (the lecture's, post-synaptic index first)::

    tau dv/dt = -v + M v + h(t)

with a piecewise-constant input ``h``: epoch ``e`` holds ``inputs[:, e]`` from
``switch_times[e - 1]`` (or time 0) until ``switch_times[e]``.

The linear model is solved exactly.  Over any interval of length ``s`` on
which ``h`` is constant,

    v(t + s) = P(s) v(t) + F(s) h,   P(s) = exp(A s),
    F(s) = (1/tau) int_0^s exp(A u) du,   A = -(I - M) / tau,

and ``P`` and ``F`` come from the eigendecomposition ``M = Phi Lambda Phi^-1``
(each mode is an autapse with rate ``alpha = -(1 - lam) / tau``), or from a
matrix exponential where ``M`` is not diagonalisable.  The recording grid only
says where the solution is sampled: no step size enters the result.

With a saturating transfer function, ``tau dv/dt = -v + f(M v + h(t))`` has
no closed form; :func:`rk4_rate` integrates it (any ``f``, the linear one
included) by classical Runge-Kutta with steps that end exactly on the input's
switch times.  Both take the same arguments, so a config chooses between them
by ``solver.method`` alone.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from pipeline.networks import eigenmodes
from pipeline.transfer import LINEAR, Transfer

EIGENVECTOR_CONDITION_LIMIT = 1e6
"""Above this condition number of ``Phi`` the propagators come from ``expm`` instead."""


def exact_rate(
    weights: np.ndarray,
    tau: np.ndarray,
    inputs: np.ndarray,
    switch_times: np.ndarray,
    times: np.ndarray,
    *,
    symmetric: bool = False,
    transfer: Transfer = LINEAR,
    max_step: float | None = None,
) -> np.ndarray:
    """Solve ``tau dv/dt = -v + M v + h(t)`` exactly from rest at ``times[0]``.

    Parameters
    ----------
    weights : (n_batch, n_neuron, n_neuron) ndarray
        Recurrent weights ``M``.
    tau : (n_batch,) ndarray
        Time constants in seconds.
    inputs : (n_batch, n_epoch, n_neuron) ndarray
        Input ``h`` during each epoch.
    switch_times : (n_epoch - 1,) ndarray
        Times in seconds at which the input moves to the next epoch.
    times : (n_time,) ndarray
        Uniformly spaced recording times in seconds.
    symmetric : bool
        Every ``M`` is symmetric (real modes; cheaper and more accurate).
    transfer : Transfer
        Must be linear: the exact solution exists only for ``f(x) = x``.
    max_step : float, optional
        Ignored: no step size enters the exact solution (part of the common interface).

    Returns
    -------
    rate : (n_batch, n_time, n_neuron) ndarray
        ``v`` at every recording time; non-finite where the solution overflows.
    """
    if not transfer.linear:
        raise ValueError(
            f"the exact solver solves only the linear model, got transfer {transfer.name!r}; "
            "use the rk4 method"
        )
    n_batch, n_epoch, n_neuron = inputs.shape
    propagate = _propagator_factory(weights, tau, symmetric)
    rate = np.empty((n_batch, times.size, n_neuron))
    rate[:, 0] = 0.0
    pieces = _interval_pieces(times, switch_times)
    cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def step(v: np.ndarray, duration: float, epoch: int) -> np.ndarray:
        if duration not in cache:
            cache[duration] = propagate(duration)
        p, f = cache[duration]
        return _apply(p, v) + _apply(f, inputs[:, epoch])

    v = rate[:, 0]
    with np.errstate(over="ignore", invalid="ignore"):
        for k, interval in enumerate(pieces, start=1):
            for duration, epoch in interval:
                v = step(v, duration, epoch)
            rate[:, k] = v
    return rate


def _apply(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` for every batch item: (b, n, n), (b, n) -> (b, n)."""
    return np.einsum("bij,bj->bi", matrix, vector)


def _interval_pieces(
    times: np.ndarray, switch_times: np.ndarray
) -> list[list[tuple[float, int]]]:
    """For each recording interval, the (duration, epoch) pieces it splits into.

    A switch within a billionth of the recording step of a sample is taken to
    fall on the sample, so round-off in the grid never creates a sliver piece.
    """
    dt = times[1] - times[0] if times.size > 1 else 1.0
    snapped = np.asarray(switch_times, dtype=float)
    nearest = np.clip(np.searchsorted(times, snapped), 0, times.size - 1)
    close = np.abs(times[nearest] - snapped) <= 1e-9 * dt
    snapped = np.where(close, times[nearest], snapped)
    grid_dt = float(dt)
    pieces = []
    for start, stop in zip(times[:-1], times[1:], strict=True):
        epoch = int(np.searchsorted(snapped, start, side="right"))
        inside = snapped[(snapped > start) & (snapped < stop)]
        if inside.size == 0:
            pieces.append([(grid_dt, epoch)])
            continue
        edges = [start, *inside, stop]
        pieces.append(
            [(float(b - a), epoch + i) for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]
        )
    return pieces


def _propagator_factory(weights: np.ndarray, tau: np.ndarray, symmetric: bool):
    """A function ``duration -> (P, F)`` for every batch item (see module docstring)."""
    n_batch, n, _ = weights.shape
    eigenvalues, phi = eigenmodes(weights, symmetric)
    if symmetric:
        phi_inv = np.swapaxes(phi, -1, -2)
        defective = np.zeros(n_batch, dtype=bool)
    else:
        defective = np.linalg.cond(phi) > EIGENVECTOR_CONDITION_LIMIT
        phi_inv = np.linalg.inv(np.where(defective[:, None, None], np.eye(n), phi))
    alpha = -(1.0 - eigenvalues) / tau[:, None]
    real = np.isrealobj(weights)

    def propagators(duration: float) -> tuple[np.ndarray, np.ndarray]:
        growth = np.exp(alpha * duration)
        is_zero = alpha == 0
        integral = np.where(
            is_zero, duration, np.expm1(alpha * duration) / np.where(is_zero, 1.0, alpha)
        ) / tau[:, None]
        p = (phi * growth[:, None, :]) @ phi_inv
        f = (phi * integral[:, None, :]) @ phi_inv
        if real:
            p, f = p.real, f.real
        if defective.any():
            p[defective], f[defective] = _expm_propagators(
                weights[defective], tau[defective], duration
            )
        return p, f

    return propagators


def _expm_propagators(
    weights: np.ndarray, tau: np.ndarray, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """``P(s)`` and ``F(s)`` from one matrix exponential of an augmented system.

    ``expm(s [[A, I/tau], [0, 0]]) = [[P(s), F(s)], [0, I]]`` holds for any
    ``A``, diagonalisable or not.
    """
    n_batch, n, _ = weights.shape
    a = (weights - np.eye(n)) / tau[:, None, None]
    augmented = np.zeros((n_batch, 2 * n, 2 * n), dtype=np.result_type(weights, float))
    augmented[:, :n, :n] = a
    augmented[:, :n, n:] = np.eye(n) / tau[:, None, None]
    block = scipy.linalg.expm(augmented * duration)
    return block[:, :n, :n], block[:, :n, n:]


def first_divergence(rate: np.ndarray, times: np.ndarray, bound: float) -> np.ndarray:
    """Time at which each point's ``|v|`` first exceeds ``bound`` or stops being finite.

    Parameters
    ----------
    rate : (n_batch, n_time, n_neuron) ndarray
    times : (n_time,) ndarray
    bound : float

    Returns
    -------
    (n_batch,) ndarray
        The first such recording time, NaN where the trajectory stays bounded.
    """
    with np.errstate(invalid="ignore"):
        escaped = ~(np.abs(rate) <= bound).all(axis=-1)
    first = np.argmax(escaped, axis=-1)
    return np.where(escaped.any(axis=-1), times[first], np.nan)


def rk4_rate(
    weights: np.ndarray,
    tau: np.ndarray,
    inputs: np.ndarray,
    switch_times: np.ndarray,
    times: np.ndarray,
    *,
    symmetric: bool = False,
    transfer: Transfer = LINEAR,
    max_step: float | None = None,
) -> np.ndarray:
    """Integrate ``tau dv/dt = -v + f(M v + h(t))`` from rest by classical Runge-Kutta.

    Every point of the batch advances together.  The integration stops at
    every recording time and every switch of the input (a switch within a
    billionth of the recording step of a sample is taken to fall on it), and
    each stretch between stops is cut into equal steps of at most
    ``max_step``, so no step straddles a switch and the fourth-order accuracy
    holds across it.

    Parameters
    ----------
    weights, tau, inputs, switch_times, times
        As for :func:`exact_rate`.
    symmetric : bool
        Unused (part of the common interface).
    transfer : Transfer
        The transfer function ``f``, applied elementwise.
    max_step : float
        Largest integration step in seconds (default: the recording step).

    Returns
    -------
    rate : (n_batch, n_time, n_neuron) ndarray
        ``v`` at every recording time; non-finite where the solution overflows.
    """
    n_batch, _, n_neuron = inputs.shape
    rate = np.zeros((n_batch, times.size, n_neuron))
    dt = times[1] - times[0] if times.size > 1 else 1.0
    switches = np.asarray(switch_times, dtype=float)
    between = switches[(switches > times[0]) & (switches < times[-1])]
    off_grid = between[np.abs(between[:, None] - times[None, :]).min(axis=-1) > 1e-9 * dt]
    stops = np.union1d(times, off_grid)
    sample = np.minimum(np.searchsorted(times, stops), times.size - 1)
    recorded = times[sample] == stops
    epochs = np.searchsorted(switches, stops[:-1] + 1e-9 * dt, side="right")
    rate_of_change = 1.0 / tau[:, None]

    def derivative(v: np.ndarray, h: np.ndarray) -> np.ndarray:
        recurrent = np.matmul(weights, v[..., None])[..., 0]
        return (transfer(recurrent + h) - v) * rate_of_change

    v = rate[:, 0]
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(stops.size - 1):
            span = stops[k + 1] - stops[k]
            n_steps = max(1, math.ceil(span / (max_step or dt) - 1e-9))
            step = span / n_steps
            h = inputs[:, epochs[k]]
            for _ in range(n_steps):
                k1 = derivative(v, h)
                k2 = derivative(v + 0.5 * step * k1, h)
                k3 = derivative(v + 0.5 * step * k2, h)
                k4 = derivative(v + step * k3, h)
                v = v + step / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            if recorded[k + 1]:
                rate[:, sample[k + 1]] = v
    return rate


SOLVERS = {"exact": exact_rate, "rk4": rk4_rate}
"""Every solver by method name; each takes ``(weights, tau, inputs, switch_times, times,
symmetric=, transfer=, max_step=)``."""
