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
"""

from __future__ import annotations

import numpy as np
import xarray as xr

UNIT_TOLERANCE = 1e-9
"""An eigenvalue within this of 1 is an integrator."""


def is_integrator(eigenvalues: xr.DataArray) -> xr.DataArray:
    """Modes whose eigenvalue is 1: they integrate their input and hold it."""
    return abs(eigenvalues - 1) <= UNIT_TOLERANCE


def gain_theory(eigenvalues: xr.DataArray) -> xr.DataArray:
    """Steady-state gain ``1 / (1 - lam)`` of each mode; NaN where ``Re lam >= 1``."""
    lam = np.real(eigenvalues)
    stable = lam < 1 - UNIT_TOLERANCE
    return (1 / (1 - lam.where(stable))).assign_attrs(
        long_name="steady-state gain of the mode, theory", units="1", formula="1/(1-lam)"
    )


def tau_eff_theory(eigenvalues: xr.DataArray, tau: xr.DataArray) -> xr.DataArray:
    """Effective time constant ``tau / (1 - Re lam)``; negative for growth, NaN at 1."""
    lam = np.real(eigenvalues)
    return (tau / (1 - lam.where(~is_integrator(eigenvalues)))).assign_attrs(
        long_name="effective time constant, theory (negative: growth)",
        units="s",
        formula="tau/(1-lam)",
    )


def persistence_theory(
    eigenvalues: xr.DataArray, tau: xr.DataArray, delay: float
) -> xr.DataArray:
    """Fraction of a mode's activity left ``delay`` after the input stops: ``exp(-(1-lam) D/tau)``."""
    lam = np.real(eigenvalues)
    with np.errstate(over="ignore"):  # a fast runaway's ratio is beyond float range: inf
        ratio = np.exp(-(1 - lam) * delay / tau)
    return ratio.assign_attrs(
        long_name="activity a delay D after the input stops over activity when it stops, theory",
        units="1",
        formula="exp(-(1-lam) D/tau)",
    )


def ramp_slope_theory(mode_input: xr.DataArray, tau: xr.DataArray) -> xr.DataArray:
    """Slope ``h_a / tau`` at which an integrator mode ramps while the input is on."""
    return (mode_input / tau).assign_attrs(
        long_name="ramp slope of an integrator mode, theory", units="Hz/s", formula="h_a/tau"
    )
