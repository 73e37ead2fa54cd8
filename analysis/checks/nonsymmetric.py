"""Complex modes of a non-symmetric network: decay rate and angular frequency, measured."""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks.base import (
    Check,
    checked_dataset,
    compare,
)
from analysis.measure import quantities as measures
from analysis.measure.propagator import angular_frequency, decay_rate, propagator_eigenvalues
from analysis.theory import scenarios as scenario_theory


def nonsymmetric(ds: xr.Dataset, *, rtol: float) -> xr.Dataset:
    """Modes with complex eigenvalues decay at ``(1 - Re lam)/tau`` and turn at ``Im lam/tau``.

    Both are measured from the activity after the input stops, through the
    propagator fitted to it (:mod:`analysis.measure.propagator`), so no eigenvector
    enters and a matrix that is not diagonalisable is measured like any
    other.  ``decay_rate`` is checked within ``rtol``; ``angular_frequency``
    within ``rtol`` of the mode's whole rate ``|1 - lam|/tau`` (its theory is
    0 for a real eigenvalue).  A frequency at or above the recording's
    Nyquist limit (``|Im lam| dt/tau >= pi``) is not resolved.
    """
    dt = measures.sample_interval(ds["rate"])
    fitted = propagator_eigenvalues(ds["rate"], float(ds["offset"]))
    lam, tau = ds["design_eigenvalues"], ds["tau"]
    aliased = abs(np.imag(lam)) * dt / tau >= np.pi
    rate = decay_rate(fitted["z"], dt)
    frequency = angular_frequency(fitted["z"], dt)

    def reasons(measured: xr.DataArray) -> list[tuple[str, xr.DataArray]]:
        diverged = ds["diverged_at"].notnull() & ~np.isfinite(measured)
        return [("diverged", diverged), ("not_resolved", ~fitted["resolved"] | aliased)]

    quantities = {
        "decay_rate": compare(
            rate, scenario_theory.decay_rate_theory(lam, tau), rtol, reasons(rate)
        ),
        "angular_frequency": compare(
            frequency,
            scenario_theory.angular_frequency_theory(lam, tau),
            rtol,
            reasons(frequency),
            scale=abs(1 - lam) / tau,
        ),
    }
    return checked_dataset(quantities, rtol, ds)


CHECK = Check(nonsymmetric, quantities=("decay_rate", "angular_frequency"), reads=("rtol",))
