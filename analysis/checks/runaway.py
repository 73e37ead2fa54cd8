"""Modes with ``lam > 1`` grow as ``exp((lam - 1) t / tau)`` until they diverge."""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks.base import (
    Check,
    carried,
    checked_dataset,
    compare,
)
from analysis.checks.linear_modes import QUANTITIES as LINEAR_QUANTITIES
from analysis.checks.linear_modes import linear_modes
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory


def runaway(ds: xr.Dataset, *, rtol: float, persistence_delay: float) -> xr.Dataset:
    """Modes with ``lam > 1`` grow as ``exp((lam - 1) t / tau)`` until they diverge.

    Besides :func:`linear_modes`, ``growth_rate``: ``-1/tau_eff`` of each
    unstable mode, from the exponential fit while the input is on and after
    it stops (per ``phase``), on the samples recorded before the point
    passed ``solver.divergence_factor`` times its input; against ``(lam - 1)/tau``.
    """
    modes = linear_modes(ds, rtol=rtol, persistence_delay=persistence_delay)
    grows = np.real(ds["eigenvalues"]) > 1 + theory.UNIT_TOLERANCE
    growth = (-1 / modes["tau_eff"]).where(grows)
    quantities = {
        "growth_rate": compare(
            growth.assign_attrs(long_name="growth rate of the mode, measured", units="1/s"),
            scenario_theory.growth_rate_theory(ds["eigenvalues"], ds["tau"]).where(grows),
            rtol,
            [("not_applicable", ~grows), *carried(modes["tau_eff_check"])],
        )
    }
    return checked_dataset(quantities, rtol, ds, base=modes)


CHECK = Check(
    runaway, quantities=(*LINEAR_QUANTITIES, "growth_rate"), reads=("rtol", "persistence_delay")
)
