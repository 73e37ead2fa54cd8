"""A mode at ``lam = 1`` ramps while the input is on and holds its value after it."""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks.base import (
    Check,
    checked_dataset,
    compare,
)
from analysis.checks.linear_modes import QUANTITIES as LINEAR_QUANTITIES
from analysis.checks.linear_modes import linear_modes
from analysis.checks.verdicts import VERDICTS
from analysis.measure.modes import eigenvector_inverse, mode_activity
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory


def integrator(ds: xr.Dataset, *, rtol: float, persistence_delay: float) -> xr.Dataset:
    """A mode at ``lam = 1`` ramps while the input is on and holds its value after.

    Besides :func:`linear_modes` (``ramp_slope`` against ``h_a/tau`` among
    its quantities), ``held_value``: the activity of each integrator mode
    ``delay`` after the input stops, against ``h_a T / tau`` for a step of
    duration ``T``.
    """
    modes = linear_modes(ds, rtol=rtol, persistence_delay=persistence_delay)
    onset, offset = float(ds["onset"]), float(ds["offset"])
    integrating = theory.is_integrator(ds["eigenvalues"])
    # The activity at the one sample read, not the whole trajectory.
    later = ds["rate"].sel(time=[offset + persistence_delay], method="nearest")
    held = np.real(mode_activity(later, eigenvector_inverse(ds)).isel(time=0, drop=True))
    held = held.where(integrating).assign_attrs(
        long_name="value an integrator mode holds after the input stops, measured", units="Hz"
    )
    slope_check = modes["ramp_slope_check"]
    quantities = {
        "held_value": compare(
            held,
            scenario_theory.held_value_theory(modes["mode_input"], ds["tau"], onset, offset).where(
                integrating
            ),
            rtol,
            [
                ("not_applicable", ~integrating),
                ("not_driven", slope_check == VERDICTS["not_driven"]),
                ("diverged", ds["diverged_at"].notnull() & ~np.isfinite(held)),
            ],
        )
    }
    return checked_dataset(quantities, rtol, ds, base=modes)


CHECK = Check(
    integrator, quantities=(*LINEAR_QUANTITIES, "held_value"), reads=("rtol", "persistence_delay")
)
