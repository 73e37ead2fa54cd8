"""Trajectories of the rate model, batched over sweep points (pure numpy).

Model (the lecture's, post-synaptic index first)::

    tau dv/dt = -v + M v + h(t)

with a piecewise-constant input ``h``: epoch ``e`` holds ``inputs[:, e]`` from
``switch_times[e - 1]`` (or time 0) until ``switch_times[e]``.

The linear model is solved exactly.  Over any interval of length ``s`` on
which ``h`` is constant,

    v(t + s) = P(s) v(t) + F(s) h,   P(s) = exp(A s),
    F(s) = (1/tau) int_0^s exp(A u) du,   A = -(I - M) / tau.

With ``M = Phi Lambda Phi^-1`` every mode ``c = Phi^-1 v`` is an autapse with
rate ``alpha = -(1 - lam) / tau``, so ``P`` and ``F`` are diagonal in mode
coordinates:

    c(t + s) = g(s) c(t) + q(s) u,   g(s) = exp(alpha s),
    q(s) = expm1(alpha s) / (alpha tau)   (s / tau where alpha = 0),   u = Phi^-1 h.

The exponentials are evaluated once per distinct interval length (the
recording step, and the pieces an input switch between two samples cuts an
interval into), never per sample: the trajectory is the recurrence above,
crossed up to :data:`JUMP` samples per numpy operation from the powers of
``g`` (one multiply-add per mode and sample), and ``v = Phi c`` at the end.  Where
``M`` is not diagonalisable, ``P`` and ``F`` come from a matrix exponential and
the recurrence runs in neuron coordinates.  The recording grid only says
where the solution is sampled: no step size enters the result.

Every operation acts on each sweep point on its own (elementwise, or one
small matrix product per point), so a point's trajectory is the same bit for
bit whatever other points share its batch.

With a saturating transfer function, ``tau dv/dt = -v + f(M v + h(t))`` has
no closed form; :func:`rk4_rate` integrates it (any ``f``, the linear one
included) by classical Runge-Kutta with steps that end exactly on the input's
switch times.  Both take the same arguments, so a config chooses between them
by ``solver.method`` alone.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from pipeline.model.networks import eigenmodes
from pipeline.model.transfer import LINEAR, Transfer

EIGENVECTOR_CONDITION_LIMIT = 1e6
"""Above this condition number of ``Phi`` the propagators come from ``expm`` instead."""

Schedule = list[list[tuple[float, int]]]
"""For each recording interval, the (duration, epoch) pieces it is made of."""

Step = Callable[[np.ndarray, np.ndarray], None]
"""``step(state, out)`` writes into ``out`` the state one piece later."""


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
    modes: tuple[np.ndarray, np.ndarray] | None = None,
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
    modes : (eigenvalues, eigenvectors), optional
        ``eigenmodes(weights, symmetric)``, when the caller has them already.

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
    schedule = _interval_pieces(times, switch_times)
    eigenvalues, phi = modes if modes is not None else eigenmodes(weights, symmetric)
    if symmetric:
        phi_inv = np.swapaxes(phi, -1, -2)
        defective = np.zeros(len(weights), dtype=bool)
    else:
        defective = np.linalg.cond(phi) > EIGENVECTOR_CONDITION_LIMIT
        phi_inv = np.linalg.inv(np.where(defective[:, None, None], np.eye(phi.shape[-1]), phi))
    with np.errstate(over="ignore", invalid="ignore"):
        if not defective.any():
            return _modal_rate(eigenvalues, phi, phi_inv, tau, inputs, schedule)
        rate = np.empty((len(weights), times.size, weights.shape[-1]))
        modal = ~defective
        rate[modal] = _modal_rate(
            eigenvalues[modal], phi[modal], phi_inv[modal], tau[modal], inputs[modal], schedule
        )
        rate[defective] = _matrix_rate(
            weights[defective], tau[defective], inputs[defective], schedule
        )
    return rate


def _modal_rate(
    eigenvalues: np.ndarray,
    phi: np.ndarray,
    phi_inv: np.ndarray,
    tau: np.ndarray,
    inputs: np.ndarray,
    schedule: Schedule,
) -> np.ndarray:
    """``v = Phi c`` with every mode ``c`` stepped by ``c <- g c + q u`` (module docstring)."""
    alpha = -(1.0 - eigenvalues) / tau[:, None]
    mode_inputs = _matvec(phi_inv, inputs)

    def interval_map(pieces: list[tuple[float, int]]) -> tuple[np.ndarray, np.ndarray]:
        """``(G, D)`` of ``c <- G c + D`` across the pieces of one recording interval."""
        growth, drive = np.ones_like(alpha), np.zeros_like(alpha)
        for duration, epoch in pieces:
            g, q = _mode_propagators(alpha, tau, duration)
            growth, drive = g * growth, g * drive + q * mode_inputs[:, epoch]
        return growth, drive

    modes = _affine_march(schedule, np.zeros_like(alpha), interval_map)
    # v[b, t] = Phi[b] c[b, t]: one (n_time, n) x (n, n) product per point.
    rate = np.matmul(modes.transpose(1, 0, 2), np.swapaxes(phi, -1, -2))
    return np.ascontiguousarray(rate.real) if np.iscomplexobj(rate) else rate


JUMP = 16
"""Samples the modal march writes per numpy operation (:func:`_affine_march`)."""


def _affine_march(
    schedule: Schedule,
    initial: np.ndarray,
    interval_map: Callable[[list[tuple[float, int]]], tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """The state at every recording time, ``(n_time, n_batch, n)``, of ``c <- G c + D``.

    ``interval_map(pieces)`` gives the elementwise ``(G, D)`` across one
    recording interval.  A run of intervals with the same map is crossed up
    to :data:`JUMP` samples at a time,

        c_{k+j} = G^j c_k + (1 + G + ... + G^{j-1}) D,   j = 1 .. JUMP,

    from a table of the powers and sums built once per map.  Each operation
    then writes ``JUMP`` samples rather than one: a block of points is a few
    dozen long numpy calls instead of thousands of short ones, which spend
    their time in the interpreter and, under Dask threads, in handing the GIL
    back and forth.  Elementwise, so a point's trajectory is the same bit
    for bit whatever other points share its batch.
    """
    states = np.empty((len(schedule) + 1, *initial.shape), dtype=initial.dtype)
    states[0] = initial
    tables: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    end = 0
    for pieces, equal in itertools.groupby(schedule, key=tuple):
        start, end = end, end + sum(1 for _ in equal)
        if pieces not in tables:
            tables[pieces] = _jump_table(*interval_map(list(pieces)))
        powers, sums = tables[pieces]
        for k in range(start, end, JUMP):
            ahead = states[k + 1 : min(k + JUMP, end) + 1]
            np.multiply(powers[: len(ahead)], states[k], out=ahead)
            ahead += sums[: len(ahead)]
    return states


def _jump_table(growth: np.ndarray, drive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``G^j`` and ``(1 + G + ... + G^{j-1}) D`` for ``j = 1 .. JUMP``, stacked first."""
    powers = np.empty((JUMP, *growth.shape), dtype=np.result_type(growth, drive))
    sums = np.empty_like(powers)
    powers[0], sums[0] = growth, drive
    for j in range(1, JUMP):
        np.multiply(powers[j - 1], growth, out=powers[j])
        np.multiply(sums[j - 1], growth, out=sums[j])
        sums[j] += drive
    # A power that overflows (a mode growing more than 1e19-fold per sample) is
    # capped at the largest float, so that a mode at rest stays 0 instead of
    # 0 x inf = NaN; any other state it multiplies is past every divergence bound.
    np.nan_to_num(powers[1:], copy=False, nan=0.0)
    return powers, sums


def _mode_propagators(
    alpha: np.ndarray, tau: np.ndarray, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """``g(s) = exp(alpha s)`` and ``q(s) = expm1(alpha s) / (alpha tau)`` of every mode."""
    is_zero = alpha == 0
    growth = np.exp(alpha * duration)
    integral = (
        np.where(is_zero, duration, np.expm1(alpha * duration) / np.where(is_zero, 1.0, alpha))
        / tau[:, None]
    )
    return growth, integral


def _matrix_rate(
    weights: np.ndarray, tau: np.ndarray, inputs: np.ndarray, schedule: Schedule
) -> np.ndarray:
    """``v <- P v + F h`` in neuron coordinates, ``P`` and ``F`` from a matrix exponential."""

    def propagator(duration: float, epoch: int) -> Step:
        p, f = _expm_propagators(weights, tau, duration)
        drive = _matvec(f, inputs[:, epoch : epoch + 1])[:, 0]

        def step(v: np.ndarray, out: np.ndarray) -> None:
            out[...] = _matvec(p, v[:, None])[:, 0] + drive

        return step

    return _point_first(_march(schedule, np.zeros(inputs[:, 0].shape), propagator))


def _point_first(states: np.ndarray) -> np.ndarray:
    """``(n_time, n_batch, n)`` states from :func:`_march` as ``(n_batch, n_time, n)`` rates."""
    return np.ascontiguousarray(states.transpose(1, 0, 2))


def _matvec(matrix: np.ndarray, vectors: np.ndarray) -> np.ndarray:
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


def _march(
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


def _interval_pieces(times: np.ndarray, switch_times: np.ndarray) -> Schedule:
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


def _expm_propagators(
    weights: np.ndarray, tau: np.ndarray, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """``P(s)`` and ``F(s)`` from one matrix exponential of an augmented system.

    ``expm(s [[A, I/tau], [0, 0]]) = [[P(s), F(s)], [0, I]]`` holds for any
    ``A``, diagonalisable or not.
    """
    import scipy.linalg  # 0.4 s to import, and only non-diagonalisable networks need it

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
    # Two passes without temporaries settle the common case; NaN fails both comparisons.
    bounded = (rate.max(axis=(1, 2)) <= bound) & (rate.min(axis=(1, 2)) >= -bound)
    diverged_at = np.full(len(rate), np.nan)
    escaping = np.flatnonzero(~bounded)
    with np.errstate(invalid="ignore"):
        escaped = ~(np.abs(rate[escaping]) <= bound).all(axis=-1)
    diverged_at[escaping] = times[np.argmax(escaped, axis=-1)]
    return diverged_at


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
    modes: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Integrate ``tau dv/dt = -v + f(M v + h(t))`` from rest by classical Runge-Kutta.

    Every point of the batch advances together, through the same pieces as
    the exact solver (:func:`_march`): every recording interval, cut at the
    input's switches (a switch within a billionth of the recording step of a
    sample is taken to fall on it).  Each piece is crossed in equal steps of
    at most ``max_step``, so no step straddles a switch and the fourth-order
    accuracy holds across it.

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
    modes
        Unused (part of the common interface).

    Returns
    -------
    rate : (n_batch, n_time, n_neuron) ndarray
        ``v`` at every recording time; non-finite where the solution overflows.
    """
    schedule = _interval_pieces(times, switch_times)
    largest = max_step or (times[1] - times[0] if times.size > 1 else 1.0)
    rate_of_change = 1.0 / tau[:, None]

    def derivative(v: np.ndarray, h: np.ndarray) -> np.ndarray:
        recurrent = np.matmul(weights, v[..., None])[..., 0]
        return (transfer(recurrent + h) - v) * rate_of_change

    def propagator(duration: float, epoch: int) -> Step:
        n_steps = max(1, math.ceil(duration / largest - 1e-9))
        step, h = duration / n_steps, inputs[:, epoch]

        def advance(v: np.ndarray, out: np.ndarray) -> None:
            for _ in range(n_steps):
                k1 = derivative(v, h)
                k2 = derivative(v + 0.5 * step * k1, h)
                k3 = derivative(v + 0.5 * step * k2, h)
                k4 = derivative(v + step * k3, h)
                v = v + step / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            out[...] = v

        return advance

    with np.errstate(over="ignore", invalid="ignore"):
        return _point_first(_march(schedule, np.zeros(inputs[:, 0].shape), propagator))


SOLVERS = {"exact": exact_rate, "rk4": rk4_rate}
"""Every solver by method name; each takes ``(weights, tau, inputs, switch_times, times,
symmetric=, transfer=, max_step=, modes=)``."""
