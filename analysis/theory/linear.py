"""What linear theory predicts for each mode of ``tau dv/dt = -v + M v + h``.

Mode ``a`` with eigenvalue ``lam`` obeys ``tau dc/dt = -(1 - lam) c + h_a``:

========================  ==============  =================  =============================
quantity                  lam < 1         lam = 1            lam > 1
========================  ==============  =================  =============================
steady-state gain         1 / (1 - lam)   none               none
time constant ``tau_eff``  tau / (1 - lam)  none (ramp h_a/tau)  tau / (1 - lam) < 0 (growth)
persistence after ``D``   exp(-(1 - lam) D / tau), for every lam
========================  ==============  =================  =============================

A negative ``tau_eff`` means growth ``exp(t / |tau_eff|)``.  For a complex
eigenvalue the real part sets the decay and the imaginary part the rotation.
Undefined values are NaN.

Every function takes numpy arrays or DataArrays and returns the same kind;
a DataArray comes back with ``long_name``, ``units`` and the ``formula``.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import xarray as xr

UNIT_TOLERANCE = 1e-9
"""An eigenvalue within this of 1 is an integrator."""

DRIVE_TOLERANCE = 1e-9
"""A mode whose input is below this fraction of the largest mode input is not driven."""

ATTRS: dict[str, dict[str, str]] = {
    "gain": {
        "long_name": "steady-state gain of the mode, theory",
        "units": "1",
        "formula": "1/(1-lam)",
    },
    "tau_eff": {
        "long_name": "effective time constant, theory (negative: growth)",
        "units": "s",
        "formula": "tau/(1-lam)",
    },
    "persistence": {
        "long_name": "activity a delay D after the input stops over activity when it stops, theory",
        "units": "1",
        "formula": "exp(-(1-lam) D/tau)",
    },
    "ramp_slope": {
        "long_name": "ramp slope of an integrator mode, theory",
        "units": "Hz/s",
        "formula": "h_a/tau",
    },
}
"""Attributes of each ``<quantity>_theory`` variable."""

Values = TypeVar("Values", np.ndarray, xr.DataArray)


def labelled(values: Values, attrs: dict[str, str]) -> Values:
    """``values`` with ``attrs`` if it is a DataArray; plain arrays pass through."""
    return values.assign_attrs(attrs) if isinstance(values, xr.DataArray) else values


def is_integrator(eigenvalues: Values) -> Values:
    """Modes whose eigenvalue is 1: they integrate their input and hold it."""
    return abs(eigenvalues - 1) <= UNIT_TOLERANCE


def gain_theory(eigenvalues: Values) -> Values:
    """Steady-state gain ``1 / (1 - lam)`` of each mode; NaN where ``Re lam >= 1``."""
    lam = np.real(eigenvalues)
    stable = lam < 1 - UNIT_TOLERANCE
    return labelled(1 / (1 - xr.where(stable, lam, np.nan)), ATTRS["gain"])


def tau_eff_theory(eigenvalues: Values, tau: Values) -> Values:
    """Effective time constant ``tau / (1 - Re lam)``; negative for growth, NaN at 1."""
    lam = np.real(eigenvalues)
    return labelled(tau / (1 - xr.where(is_integrator(eigenvalues), np.nan, lam)), ATTRS["tau_eff"])


def persistence_theory(eigenvalues: Values, tau: Values, delay: float) -> Values:
    """Fraction of a mode's activity left ``delay`` after the input stops.

    ``exp(-(1 - lam) D / tau)``, for every ``lam``.
    """
    lam = np.real(eigenvalues)
    with np.errstate(over="ignore"):  # a fast runaway's ratio is beyond float range: inf
        ratio = np.exp(-(1 - lam) * delay / tau)
    return labelled(ratio, ATTRS["persistence"])


def ramp_slope_theory(
    mode_input: Values, tau: Values, eigenvalue: Values = 1.0, duration: float = 0.0
) -> Values:
    """Mean slope of a mode from rest over ``duration`` s of input: ``h_a / tau`` at ``lam = 1``.

    From ``c(t) = h_a (1 - exp(-x t / T)) / (1 - lam)`` with ``x = (1 - lam) T / tau``,

        (c(T) - c(0)) / T = (h_a / tau) (1 - exp(-x)) / x,

    which is ``h_a / tau`` for an integrator (``x = 0``) and stays exact for
    an eigenvalue within :data:`UNIT_TOLERANCE` of 1 over a long input,
    where ``x`` need not be small.
    """
    x = (1 - np.real(eigenvalue)) * duration / tau
    return labelled(mode_input / tau * relaxed(x, 1.0), ATTRS["ramp_slope"])


def relaxed(rate: Values, t: Values) -> np.ndarray:
    """``R(k, t) = int_0^t exp(-k s) ds = (1 - exp(-k t)) / k``, and ``t`` where ``k = 0``.

    How far a mode relaxing at rate ``k`` (growing where ``k < 0``) has come
    towards its steady state after ``t``, per unit of its initial slope.
    """
    rate, t = np.asarray(rate), np.asarray(t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(rate == 0, t, -np.expm1(-rate * t) / np.where(rate == 0, 1.0, rate))


def step_response_theory(
    eigenvalue: float, mode_input: float, tau: float, onset: float, offset: float, time: np.ndarray
) -> np.ndarray:
    """Activity of a mode from rest under a step input ``h_a`` from ``onset`` to ``offset``.

    ``tau dc/dt = -(1 - lam) c + h_a`` with ``k = (1 - lam)/tau`` gives

        c(t) = (h_a / tau) R(k, t - onset)                 while the input is on,
        c(t) = c(offset) exp(-k (t - offset))              after it,

    with ``R`` of :func:`relaxed`: ``h_a (1 - exp(-k t))/(1 - lam)`` below
    ``lam = 1``, the ramp ``h_a t/tau`` at 1, growth above; a complex
    ``lam`` turns as it relaxes.
    """
    k = (1 - eigenvalue) / tau
    on = np.clip(time - onset, 0.0, offset - onset)
    after = np.clip(time - offset, 0.0, None)
    with np.errstate(over="ignore", invalid="ignore"):
        return mode_input / tau * relaxed(k, on) * np.exp(-k * after)


def response_theory(
    eigenvalues: np.ndarray,
    eigenvectors: np.ndarray,
    mode_input: np.ndarray,
    tau: float,
    onset: float,
    offset: float,
    time: np.ndarray,
) -> np.ndarray:
    """Rates ``v(t) = Phi c(t)`` of a linear network from rest under a step input.

    Each mode's ``c_a`` is its :func:`step_response_theory`; ``eigenvalues``
    (n_mode,), ``eigenvectors`` ``Phi`` (n_neuron, n_mode) and ``mode_input``
    ``Phi^-1 h`` (n_mode,) of one point.  Returns (n_neuron, n_time), real.
    """
    modes = np.array(
        [
            step_response_theory(lam, h_a, tau, onset, offset, time)
            for lam, h_a in zip(eigenvalues, mode_input, strict=True)
        ]
    )
    return np.real(eigenvectors @ modes)
