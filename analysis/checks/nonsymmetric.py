"""Complex modes of a non-symmetric network: decay rate and angular frequency, measured."""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks.base import (
    PRECISION,
    Check,
    checked_dataset,
    compare,
)
from analysis.measure import quantities as measures
from analysis.measure.propagator import angular_frequency, decay_rate, propagator_eigenvalues
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory


def nonsymmetric(ds: xr.Dataset, *, rtol: float) -> xr.Dataset:
    """Modes with complex eigenvalues decay at ``(1 - Re lam)/tau`` and turn at ``Im lam/tau``.

    Both are measured from the activity after the input stops, through the
    propagator fitted to it (:mod:`analysis.measure.propagator`), so no eigenvector
    enters and a matrix that is not diagonalisable is measured like any
    other, where the fit's error bound (``|dz|`` of
    :func:`analysis.measure.propagator.eigenvalue_error`, over ``|z| dt``)
    is within ``PRECISION rtol`` of the rate's scale (elsewhere not
    resolved).  ``decay_rate`` is checked within ``rtol`` of ``|1 - Re lam|/tau``;
    ``angular_frequency`` within ``rtol`` of the mode's whole rate
    ``|1 - lam|/tau`` (its theory is 0 for a real eigenvalue).  Where that
    scale is 0 (within :data:`~analysis.theory.linear.UNIT_TOLERANCE` of it:
    ``Re lam = 1``, the mode neither decays nor grows), the theory is 0 and
    is compared on the absolute scale ``1/tau``: the rate of a mode without
    feedback.  A frequency at or above the recording's Nyquist limit
    (``|Im lam| dt/tau >= pi``) is not resolved.
    """
    dt = measures.sample_interval(ds["rate"])
    fitted = propagator_eigenvalues(ds["rate"], float(ds["offset"]))
    lam, tau = ds["design_eigenvalues"], ds["tau"]
    aliased = abs(np.imag(lam)) * dt / tau >= np.pi
    rate = decay_rate(fitted["z"], dt)
    frequency = angular_frequency(fitted["z"], dt)

    # The error bound of a rate read off z: |dz| / (|z| dt).
    rate_error = fitted["error"] / (abs(fitted["z"]) * dt)

    def reasons(measured: xr.DataArray, scale: xr.DataArray) -> list[tuple[str, xr.DataArray]]:
        diverged = ds["diverged_at"].notnull() & ~np.isfinite(measured)
        imprecise = ~(rate_error <= PRECISION * rtol * scale)
        return [("diverged", diverged), ("not_resolved", ~fitted["resolved"] | aliased | imprecise)]

    decay_scale = rate_scale(abs(1 - np.real(lam)), tau)
    turn_scale = rate_scale(abs(1 - lam), tau)
    quantities = {
        "decay_rate": compare(
            rate,
            scenario_theory.decay_rate_theory(lam, tau),
            rtol,
            reasons(rate, decay_scale),
            scale=decay_scale,
        ),
        "angular_frequency": compare(
            frequency,
            scenario_theory.angular_frequency_theory(lam, tau),
            rtol,
            reasons(frequency, turn_scale),
            scale=turn_scale,
        ),
    }
    return checked_dataset(quantities, rtol, ds)


def rate_scale(size: xr.DataArray, tau: xr.DataArray) -> xr.DataArray:
    """``size / tau``, or ``1/tau`` where ``size`` is within ``UNIT_TOLERANCE`` of 0.

    The scale a rate of a mode is compared on: its own size where it has
    one, and where its theory is 0 the absolute scale ``1/tau``, so a rate
    of 0 measured as 1e-6 /s is no infinite relative error.
    """
    return xr.where(size > theory.UNIT_TOLERANCE, size, 1.0) / tau


CHECK = Check(nonsymmetric, quantities=("decay_rate", "angular_frequency"), reads=("rtol",))
