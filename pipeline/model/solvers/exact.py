"""The linear rate model solved exactly, batched over sweep points (pure numpy).

Model (the lecture's, post-synaptic index first)::

    tau dv/dt = -v + M v + h(t)

with a piecewise-constant input ``h`` (:class:`pipeline.model.solvers.System`).
Over any interval of length ``s`` on which ``h`` is constant,

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
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from pipeline.model.solvers.schedule import (
    Schedule,
    Step,
    System,
    interval_pieces,
    march,
    matvec,
    point_first,
)


def exact_rate(system: System, times: np.ndarray) -> np.ndarray:
    """Solve ``tau dv/dt = -v + M v + h(t)`` exactly from rest at ``times[0]``.

    Each mode is stepped on its own from ``system.modes``; a matrix that is
    not diagonalisable (``system.modes.defective``) is stepped in neuron
    coordinates through a matrix exponential.

    Parameters
    ----------
    system : System
        Its transfer function must be linear: only ``f(x) = x`` has this solution.
    times : (n_time,) ndarray
        Uniformly spaced recording times in seconds.

    Returns
    -------
    rate : (n_batch, n_time, n_neuron) ndarray
        ``v`` at every recording time; non-finite where the solution overflows.
    """
    if not system.transfer.linear:
        raise ValueError(
            "the exact solver solves only the linear model, got transfer "
            f"{system.transfer.name!r}; use the rk4 method"
        )
    schedule = interval_pieces(times, system.switch_times)
    modes, tau, inputs = system.modes, system.tau, system.inputs
    # Orthonormal eigenvectors: the transpose is their inverse, exactly as far as
    # round-off goes, and it is what the trajectories have always been computed with.
    phi_inv = np.swapaxes(modes.vectors, -1, -2) if modes.symmetric else modes.inverse
    defective = modes.defective
    with np.errstate(over="ignore", invalid="ignore"):
        if not defective.any():
            return _modal_rate(modes.values, modes.vectors, phi_inv, tau, inputs, schedule)
        rate = np.empty((len(tau), times.size, inputs.shape[-1]))
        modal = ~defective
        rate[modal] = _modal_rate(
            modes.values[modal],
            modes.vectors[modal],
            phi_inv[modal],
            tau[modal],
            inputs[modal],
            schedule,
        )
        rate[defective] = _matrix_rate(
            system.weights[defective], tau[defective], inputs[defective], schedule
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
    mode_inputs = matvec(phi_inv, inputs)

    def interval_map(pieces: list[tuple[float, int]]) -> tuple[np.ndarray, np.ndarray]:
        """``(G, D)`` of ``c <- G c + D`` across the pieces of one recording interval."""
        growth, drive = np.ones_like(alpha), np.zeros_like(alpha)
        for duration, epoch in pieces:
            g, q = _mode_propagators(alpha, tau, duration)
            growth = g * growth
            drive = at_rest_product(g, drive) + at_rest_product(q, mode_inputs[:, epoch])
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
        finite = np.isfinite(powers).all()
        for k in range(start, end, JUMP):
            ahead = states[k + 1 : min(k + JUMP, end) + 1]
            np.multiply(powers[: len(ahead)], states[k], out=ahead)
            if not finite:
                # A power beyond float range times a mode at rest: the mode stays at rest.
                ahead[...] = at_rest_product(powers[: len(ahead)], states[k], ahead)
            ahead += sums[: len(ahead)]
    return states


def _jump_table(growth: np.ndarray, drive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``G^j`` and ``(1 + G + ... + G^{j-1}) D`` for ``j = 1 .. JUMP``, stacked first."""
    powers = np.empty((JUMP, *growth.shape), dtype=np.result_type(growth, drive))
    sums = np.empty_like(powers)
    powers[0], sums[0] = growth, drive
    for j in range(1, JUMP):
        np.multiply(powers[j - 1], growth, out=powers[j])
        sums[j] = at_rest_product(sums[j - 1], growth) + drive
    return powers, sums


def at_rest_product(a: np.ndarray, b: np.ndarray, product: np.ndarray | None = None) -> np.ndarray:
    """``a b`` elementwise, with ``0 x inf = 0``: a mode exactly at rest stays at rest.

    A mode growing more than ``e^709``-fold over one interval has a
    propagator beyond float range (``inf``).  Its true product with a state
    of exactly 0 (a mode before the input reaches it) is 0, not the NaN of
    IEEE arithmetic; a nonzero state it multiplies has truly left float
    range, which :mod:`pipeline.model.divergence` reads as a divergence at
    that sample.  Where ``a b`` is a number it is returned bit for bit.
    ``product``: ``a b`` if already computed.
    """
    product = a * b if product is None else product
    spoiled = np.isnan(product)
    if not spoiled.any():
        return product
    at_rest = (np.broadcast_to(a, product.shape) == 0) | (np.broadcast_to(b, product.shape) == 0)
    return np.where(spoiled & at_rest, 0.0, product)


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
        drive = _at_rest_matvec(f, inputs[:, epoch])
        if np.isfinite(p).all():

            def step(v: np.ndarray, out: np.ndarray) -> None:
                out[...] = matvec(p, v[:, None])[:, 0] + drive

        else:  # a propagator beyond float range: a state at rest stays at rest

            def step(v: np.ndarray, out: np.ndarray) -> None:
                out[...] = _at_rest_matvec(p, v) + drive

        return step

    return point_first(march(schedule, np.zeros(inputs[:, 0].shape), propagator))


def _at_rest_matvec(matrix: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``matrix[b] @ vectors[b]``, 0 where ``vectors[b]`` is exactly 0 (:func:`at_rest_product`).

    A propagator beyond float range holds ``inf`` (or the NaN of an
    exponential that overflowed): a state at rest stays at rest under it.
    """
    product = matvec(matrix, vectors[:, None])[:, 0]
    at_rest = ~vectors.any(axis=-1)
    if not (at_rest.any() and np.isnan(product).any()):
        return product
    return np.where(at_rest[:, None], 0.0, product)


def _expm_propagators(
    weights: np.ndarray, tau: np.ndarray, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """``P(s)`` and ``F(s)`` from one matrix exponential of an augmented system.

    ``expm(s [[A, I/tau], [0, 0]]) = [[P(s), F(s)], [0, I]]`` holds for any
    ``A``, diagonalisable or not.
    """
    import scipy.linalg  # slow to import, and only non-diagonalisable networks need it

    n_batch, n, _ = weights.shape
    a = (weights - np.eye(n)) / tau[:, None, None]
    augmented = np.zeros((n_batch, 2 * n, 2 * n), dtype=np.result_type(weights, float))
    augmented[:, :n, :n] = a
    augmented[:, :n, n:] = np.eye(n) / tau[:, None, None]
    block = scipy.linalg.expm(augmented * duration)
    return block[:, :n, :n], block[:, :n, n:]
