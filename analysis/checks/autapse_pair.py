"""Two autapses, ``M = diag(lam1, lam2)``: each neuron alone, and the state-space loop of both."""

from __future__ import annotations

import xarray as xr

from analysis.checks.base import (
    Check,
    checked_dataset,
    compare,
    sweep_coordinate,
)
from analysis.checks.linear_modes import QUANTITIES as LINEAR_QUANTITIES
from analysis.checks.linear_modes import linear_modes
from analysis.checks.verdicts import VERDICTS
from analysis.measure import quantities as measures
from analysis.measure.geometry import loop_area
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory


def autapse_pair(ds: xr.Dataset, *, rtol: float, persistence_delay: float) -> xr.Dataset:
    """Two autapses, ``M = diag(lam1, lam2)``: each neuron alone, and the loop of both.

    The modes are the neurons themselves (eigenvectors (1, 0) and (0, 1),
    by ascending feedback), so :func:`linear_modes` checks each neuron's
    gain ``1/(1-lam_i)`` and time constant ``tau/(1-lam_i)``: positive
    feedback amplifies and slows, negative feedback suppresses and speeds
    up.  With input on both, the fast neuron moves first on the way out and
    on the way back, so the trajectory traces a loop: ``loop_area`` (shoelace
    area of the recorded samples, :func:`analysis.measure.geometry.loop_area`)
    against its closed form (:func:`analysis.theory.scenarios.loop_area_theory`),
    within ``rtol`` of ``scale = max_i |h_i / (1 - lam_i)|^2``.

    The polygon through the samples misses the curve by ``(dt^2/12) |int
    (v1' v2'' - v1'' v2') dt|``; for neurons relaxing at rates ``k_i`` that
    is at most ``(dt^2/6) k_1 k_2 scale``.  Where that bound, with the rates
    measured from the rise, exceeds half the tolerance, the recording step
    does not resolve the loop and the verdict says so.
    """
    modes = linear_modes(ds, rtol=rtol, persistence_delay=persistence_delay)
    lam = xr.concat(
        [sweep_coordinate(ds, "lam1"), sweep_coordinate(ds, "lam2")], dim="neuron"
    ).transpose(..., "neuron")
    onset, offset, end = float(ds["onset"]), float(ds["offset"]), float(ds["time"][-1])
    rise = modes["tau_eff_check"].sel(phase="rise", drop=True)
    rates = 1 / modes["tau_eff"].sel(phase="rise", drop=True)
    dt = measures.sample_interval(ds["rate"])
    coarse = dt**2 / 6 * rates.prod("mode", skipna=False) > rtol / 2
    unresolved = coarse | (rise == VERDICTS["not_resolved"]).any("mode")
    quantities = {
        "loop_area": compare(
            loop_area(ds["rate"]).assign_attrs(
                long_name="signed area of the state-space loop, measured", units="Hz^2"
            ),
            scenario_theory.loop_area_theory(lam, ds["h"], ds["tau"], onset, offset, end),
            rtol,
            [
                ("no_steady_state", (lam >= 1 - theory.UNIT_TOLERANCE).any("neuron")),
                ("diverged", ds["diverged_at"].notnull()),
                ("not_resolved", unresolved),
            ],
            scale=abs(ds["h"] / (1 - lam)).max("neuron") ** 2,
        )
    }
    return checked_dataset(quantities, rtol, ds, base=modes)


CHECK = Check(
    autapse_pair, quantities=(*LINEAR_QUANTITIES, "loop_area"), reads=("rtol", "persistence_delay")
)
