"""What theory predicts for the quantities the scenario checks add to the mode check.

:mod:`analysis.theory.linear` holds each mode's autapse theory (gain, time
constant, persistence, ramp); this module the rest of the lecture and what
lies beyond it: a mode's growth and held value, the pair network's
eigen-structure, steady states and gain matrices of whole networks,
rotation of complex modes, the state-space loop of two autapses, and the
fixed point of a saturating autapse.  Undefined values are NaN.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.theory.linear import DRIVE_TOLERANCE, UNIT_TOLERANCE, is_integrator


def growth_rate_theory(eigenvalues: xr.DataArray, tau: xr.DataArray) -> xr.DataArray:
    """Rate ``(lam - 1) / tau`` at which a mode with ``lam > 1`` grows (``exp(rate t)``)."""
    return ((np.real(eigenvalues) - 1) / tau).assign_attrs(
        long_name="growth rate of the mode, theory", units="1/s", formula="(lam-1)/tau"
    )


def held_value_theory(
    mode_input: xr.DataArray, tau: xr.DataArray, onset: float, offset: float
) -> xr.DataArray:
    """Value an integrator mode holds after the input stops: ``h_a (offset - onset) / tau``.

    From rest, ``tau dc/dt = h_a`` integrates to ``c = h_a T / tau`` over the
    step's duration ``T``, and with no input ``c`` stays there.
    """
    return (np.real(mode_input) * (offset - onset) / tau).assign_attrs(
        long_name="value an integrator mode holds after the input stops, theory",
        units="Hz",
        formula="h_a T/tau",
    )


def pair_eigenvalues_theory(coupling: xr.DataArray) -> xr.DataArray:
    """Eigenvalues ``-|w|, |w|`` of ``[[0, w], [w, 0]]``, by mode (ascending)."""
    magnitude = abs(coupling)
    return (
        xr.concat([-magnitude, magnitude], dim="mode")
        .transpose(..., "mode")
        .assign_attrs(long_name="eigenvalue of the weights, theory", units="1", formula="+-w")
    )


def pair_eigenvectors_theory(coupling: xr.DataArray) -> xr.DataArray:
    """Eigenvectors of ``[[0, w], [w, 0]]``: ``+w`` on (1, 1)/sqrt2, ``-w`` on (1, -1)/sqrt2.

    Columns by ascending eigenvalue, each with its first largest component
    positive (the convention of :func:`pipeline.model.modes.eigenmodes`): for
    ``w > 0`` mode 0 is (1, -1)/sqrt2, for ``w < 0`` it is (1, 1)/sqrt2.  At
    ``w = 0`` every vector is an eigenvector; the values given there are
    those for ``w < 0``.
    """
    same = xr.DataArray(np.array([1.0, 1.0]) / np.sqrt(2), dims="neuron")
    opposite = xr.DataArray(np.array([1.0, -1.0]) / np.sqrt(2), dims="neuron")
    positive = coupling > 0
    first = xr.where(positive, opposite, same)
    second = xr.where(positive, same, opposite)
    return (
        xr.concat([first, second], dim="mode")
        .transpose(..., "neuron", "mode")
        .assign_attrs(
            long_name="unit eigenvector of the weights, theory",
            units="1",
            formula="(1,+-1)/sqrt2",
        )
    )


CONDITION_LIMIT = 1e8
"""Eigenvectors with a condition number above this are taken as defective (a Jordan block):
a mode decomposition through them would lose more than half the digits."""


def steady_states(weights: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``(I - M)^-1 rhs`` for stacks of weights (..., n, n) and of inputs (..., n, k).

    Where ``I - M`` is singular (an eigenvalue 1), each column is solved mode
    by mode (:func:`_modal_steady_state`): a steady state exists where the
    input leaves every integrator mode at rest, and is NaN elsewhere.
    """
    matrix = np.eye(weights.shape[-1]) - weights
    singular = np.linalg.matrix_rank(matrix) < matrix.shape[-1]
    safe = np.where(singular[..., None, None], np.eye(matrix.shape[-1]), matrix)
    solved = np.linalg.solve(safe, rhs)
    if singular.any():
        solved = solved.astype(np.result_type(solved, weights, rhs, float))
        solved[singular] = _modal_steady_state(weights[singular], rhs[singular])
    return solved


def _modal_steady_state(weights: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Steady state mode by mode: ``v = sum_a phi_a u_a / (1 - lam_a)`` with ``u = Phi^-1 h``.

    For weights (m, n, n) with an eigenvalue 1 and inputs (m, n, k).  A mode
    at ``lam = 1`` that the input does not drive (``|u_a|`` within
    :data:`~analysis.theory.linear.DRIVE_TOLERANCE` of the largest) stays at
    rest and adds nothing; one that it drives integrates and has no steady
    state (NaN), nor has any input where ``M`` is defective (no eigenbasis).
    """
    lam, phi = np.linalg.eig(weights)
    defective = np.linalg.cond(phi) > CONDITION_LIMIT
    safe = np.where(defective[:, None, None], np.eye(weights.shape[-1]), phi)
    u = np.linalg.solve(safe, rhs.astype(complex))  # (m, n, k)
    integrator = is_integrator(lam)[..., None]
    at_rest = abs(u) <= DRIVE_TOLERANCE * abs(u).max(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        steady = np.where(integrator, 0.0, u / (1 - lam[..., None]))
    v = safe @ steady
    v = np.where((integrator & ~at_rest).any(axis=-2, keepdims=True), np.nan, v)
    v = np.where(defective[:, None, None], np.nan, v)
    return v if np.iscomplexobj(rhs) or np.iscomplexobj(weights) else v.real


def steady_state_theory(weights: xr.DataArray, h: xr.DataArray) -> xr.DataArray:
    """Steady state ``v_inf = (I - M)^-1 h`` of every point; dims of ``h``.

    At an eigenvalue 1 it exists where the input leaves the integrator
    mode at rest (``v_inf = sum_a phi_a u_a/(1 - lam_a)`` over the other
    modes), and is NaN where it drives it.
    """
    v = xr.apply_ufunc(
        steady_states,
        weights,
        h.expand_dims(_column=1, axis=-1),
        input_core_dims=[["neuron", "source"], ["neuron", "_column"]],
        output_core_dims=[["neuron", "_column"]],
        dask="parallelized",
        output_dtypes=[np.result_type(weights.dtype, h.dtype)],
    ).isel(_column=0, drop=True)
    return v.transpose(*h.dims).assign_attrs(
        long_name="steady state, theory", units="Hz", formula="(I-M)^-1 h"
    )


def transfer_theory(weights: xr.DataArray, feedforward_weights: xr.DataArray) -> xr.DataArray:
    """Steady-state response to each input neuron at unit rate: ``(I - M)^-1 W``.

    At an eigenvalue 1, the columns of input neurons that drive the
    integrator mode are NaN (:func:`steady_state_theory`).
    """
    return xr.apply_ufunc(
        steady_states,
        weights,
        feedforward_weights,
        input_core_dims=[["neuron", "source"], ["neuron", "input"]],
        output_core_dims=[["neuron", "input"]],
        dask="parallelized",
        output_dtypes=[float],
    ).assign_attrs(
        long_name="steady-state response to each input neuron at unit rate, theory",
        units="1",
        formula="(I-M)^-1 W",
    )


def gain_matrix_theory(
    design_eigenvalues: xr.DataArray, design_eigenvectors: xr.DataArray
) -> xr.DataArray:
    """Gain matrix ``(I - M)^-1 = Q diag(1 / (1 - lam)) Q^T`` of ``M = Q diag(lam) Q^T``.

    NaN where an eigenvalue is 1 or more: without a steady state of every mode
    there is none of every input.
    """
    stable = design_eigenvalues < 1 - UNIT_TOLERANCE
    scaled = design_eigenvectors / (1 - design_eigenvalues.where(stable))
    gain = xr.dot(scaled, design_eigenvectors.rename(neuron="source"), dim="mode")
    return gain.transpose(..., "neuron", "source").assign_attrs(
        long_name="steady-state gain matrix, theory", units="1", formula="(I-M)^-1"
    )


def decay_rate_theory(eigenvalues: xr.DataArray, tau: xr.DataArray) -> xr.DataArray:
    """Rate ``(1 - Re lam) / tau`` at which a mode decays (negative: growth)."""
    return ((1 - np.real(eigenvalues)) / tau).assign_attrs(
        long_name="decay rate of the mode, theory", units="1/s", formula="(1-Re lam)/tau"
    )


def angular_frequency_theory(eigenvalues: xr.DataArray, tau: xr.DataArray) -> xr.DataArray:
    """Angular frequency ``Im lam / tau`` at which a mode turns."""
    return (np.imag(eigenvalues) / tau).assign_attrs(
        long_name="angular frequency of the mode, theory", units="rad/s", formula="Im lam/tau"
    )


def loop_area_theory(
    lam: xr.DataArray,
    h: xr.DataArray,
    tau: xr.DataArray,
    onset: float,
    offset: float,
    end: float,
) -> xr.DataArray:
    """Signed area of the state-space loop of two autapses, ``1/2 int (v1 dv2 - v2 dv1)``.

    Neuron ``i`` relaxes at rate ``k_i = (1 - lam_i) / tau`` towards
    ``a_i = h_i / (1 - lam_i)`` while the input is on (for ``T = offset -
    onset``) and back towards 0 after it (for ``S = end - offset``), from
    ``b_i = a_i (1 - exp(-k_i T))``.  Integrating the exponentials, with
    ``E(k, t) = (1 - exp(-k t)) / k`` and ``k_12 = k_1 + k_2``,

        A = a_1 a_2 [exp(-k_1 T) - exp(-k_2 T) - (k_2 - k_1) E(k_12, T)] / 2
            + b_1 b_2 (k_1 - k_2) E(k_12, S) / 2.

    The fast neuron moves first on the way out and on the way back, so the
    loop turns from the fast axis to the slow one; it vanishes when the two
    time constants are equal or either neuron gets no input.  NaN unless
    both ``lam < 1``.
    """
    stable = lam < 1 - UNIT_TOLERANCE
    k = ((1 - lam) / tau).where(stable)
    a = h / (1 - lam.where(stable))
    b = a * (1 - np.exp(-k * (offset - onset)))
    k1, k2 = k.isel(neuron=0, drop=True), k.isel(neuron=1, drop=True)
    a1, a2 = a.isel(neuron=0, drop=True), a.isel(neuron=1, drop=True)
    b1, b2 = b.isel(neuron=0, drop=True), b.isel(neuron=1, drop=True)

    def e(rate: xr.DataArray, t: float) -> xr.DataArray:
        return -np.expm1(-rate * t) / rate

    on = np.exp(-k1 * (offset - onset)) - np.exp(-k2 * (offset - onset))
    on = on - (k2 - k1) * e(k1 + k2, offset - onset)
    area = 0.5 * a1 * a2 * on + 0.5 * b1 * b2 * (k1 - k2) * e(k1 + k2, end - offset)
    return area.assign_attrs(
        long_name="signed area of the state-space loop, theory",
        units="Hz^2",
        formula="1/2 int(v1 dv2 - v2 dv1)",
    )


def fixed_point_theory(
    lam: xr.DataArray, sign: xr.DataArray, transfer: str, ceiling: float
) -> xr.DataArray:
    """Where a saturating autapse settles: the stable solution of ``v* = f(lam v*)``.

    For ``lam < 1`` the only fixed point is 0 (``|f(x)| <= |x|``).  For
    ``lam > 1`` 0 is unstable and the activity settles at ``sign c u`` with
    ``c`` the ceiling and ``u > 0`` the root of ``u = tanh(lam u)`` (``tanh``)
    or ``u = 1`` (``clip``, since ``f(lam c) = c``); ``sign`` is the sign of
    the input that pushed it off 0.  A linear ``f`` has no fixed point for
    ``lam > 1`` (NaN).  NaN at ``lam = 1``, where every small ``v`` is fixed.
    """
    grows = lam > 1 + UNIT_TOLERANCE
    if transfer == "tanh":
        u = _tanh_fixed_point(lam.where(grows, 2.0))
    elif transfer == "clip":
        u = xr.ones_like(lam)
    else:
        u = xr.full_like(lam, np.nan)
    value = xr.where(grows, sign * ceiling * u, 0.0).where(~is_integrator(lam))
    return value.assign_attrs(
        long_name="stable fixed point of v = f(lam v) reached from the input's side, theory",
        units="Hz",
        formula="v* = f(lam v*)",
    )


def _tanh_fixed_point(lam: xr.DataArray) -> xr.DataArray:
    """The root ``u`` in (0, 1) of ``u = tanh(lam u)`` for ``lam > 1``, by bisection.

    ``g(u) = tanh(lam u) - u`` is positive just above 0 (slope ``lam - 1``)
    and negative at 1, and has one root between; 60 halvings reach it to
    round-off.
    """
    low, high = xr.zeros_like(lam), xr.ones_like(lam)
    for _ in range(60):
        middle = (low + high) / 2
        above = np.tanh(lam * middle) > middle
        low, high = xr.where(above, middle, low), xr.where(above, high, middle)
    return (low + high) / 2
