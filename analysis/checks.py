"""Theory checks: measured values beside theory, with a verdict for each.

A check takes a Dataset in the store's data contract (``rate``, ``h``,
``eigenvalues``, ``eigenvectors``, ``onset``, ``offset``, ``diverged_at`` and
the ``tau`` coordinate) and returns a Dataset of measured quantities
``Q``, their theory ``Q_theory`` and verdicts ``Q_check``, plus one overall
verdict per point, ``check``.  Checks run on each block inside the pipeline
and equally on a lazily opened store in a notebook.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis import measures, theory
from analysis.modes import mode_activity, mode_input
from analysis.verdicts import VERDICTS, combine, flag_attrs, verdict

DRIVE_TOLERANCE = 1e-9
"""A mode whose input is below this fraction of the largest mode input is not driven."""

QUANTITIES = ("gain", "tau_eff", "persistence", "ramp_slope")
"""Quantities of the linear mode check, in the order the summary lists them."""


def linear_modes(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Measure every mode's gain, time constant, persistence and ramp; compare with theory.

    Parameters
    ----------
    ds : Dataset in the store's data contract
    rtol : float
        Relative tolerance ``|measured - theory| <= rtol |theory|``.
    delay : float
        Seconds after the input stops at which persistence is read.

    Returns
    -------
    Dataset with ``gain``, ``tau_eff`` (per ``phase``: rise, decay),
    ``persistence`` and ``ramp_slope``, each with ``_theory`` and ``_check``,
    the input of each mode ``mode_input``, and the overall verdict ``check``.
    """
    onset, offset = float(ds["onset"]), float(ds["offset"])
    eigenvalues, tau = ds["eigenvalues"], ds["tau"]
    activity = mode_activity(ds["rate"], ds["eigenvectors"])
    h_mode = mode_input(ds["h"], ds["eigenvectors"])
    dt = measures.sample_interval(activity)

    driven = abs(h_mode) > DRIVE_TOLERANCE * abs(h_mode).max("mode")
    diverged = ds["diverged_at"].notnull()
    integrator = theory.is_integrator(eigenvalues)
    unstable = np.real(eigenvalues) >= 1 - theory.UNIT_TOLERANCE

    def unmeasured(measured: xr.DataArray) -> xr.DataArray:
        return diverged & ~np.isfinite(measured)

    rise = measures.rise_fit(activity, onset, offset)
    gain = measures.gain(rise, h_mode)
    gain_theory = theory.gain_theory(eigenvalues)
    gain_check = verdict(
        gain,
        gain_theory,
        rtol,
        [
            ("not_driven", ~driven),
            ("no_steady_state", unstable),
            ("diverged", unmeasured(gain)),
            ("not_resolved", ~rise["resolved"]),
        ],
    )

    fits = xr.concat(
        [rise, measures.decay_fit(activity, offset)],
        dim=xr.Variable(
            "phase", ["rise", "decay"], {"long_name": "part of the response", "units": "1"}
        ),
    ).transpose(..., "mode", "phase")
    tau_eff = measures.tau_eff(fits, dt)
    tau_eff_theory = theory.tau_eff_theory(eigenvalues, tau)
    tau_eff_check = verdict(
        tau_eff,
        tau_eff_theory,
        rtol,
        [
            ("not_driven", ~driven),
            ("integrator", integrator),
            ("diverged", unmeasured(tau_eff)),
            ("not_resolved", ~fits["resolved"]),
        ],
    )

    persistence = measures.persistence(activity, offset, delay)
    persistence_theory = theory.persistence_theory(eigenvalues, tau, delay)
    persistence_check = verdict(
        persistence,
        persistence_theory,
        rtol,
        [("not_driven", ~driven), ("diverged", unmeasured(persistence))],
    )

    ramp_slope = measures.ramp_slope(activity, onset, offset).where(integrator)
    ramp_slope_theory = theory.ramp_slope_theory(np.real(h_mode), tau).where(integrator)
    ramp_slope_check = verdict(
        ramp_slope,
        ramp_slope_theory,
        rtol,
        [
            ("not_applicable", ~integrator),
            ("not_driven", ~driven),
            ("diverged", unmeasured(ramp_slope)),
        ],
    )

    def measured(value: xr.DataArray, code: xr.DataArray) -> xr.DataArray:
        """The value where it was measured; NaN where its verdict gives a reason it was not."""
        compared = (code == VERDICTS["agrees"]) | (code == VERDICTS["disagrees"])
        return value.where(compared).assign_attrs(value.attrs)

    checks = {
        "gain_check": gain_check,
        "tau_eff_check": tau_eff_check,
        "persistence_check": persistence_check,
        "ramp_slope_check": ramp_slope_check,
    }
    result = xr.Dataset(
        {
            "mode_input": h_mode.assign_attrs(
                long_name="input to the mode, (Phi^-1 h)_a", units="Hz"
            ),
            "gain": measured(gain, gain_check),
            "gain_theory": gain_theory,
            "tau_eff": measured(tau_eff, tau_eff_check),
            "tau_eff_theory": tau_eff_theory,
            "persistence": measured(persistence, persistence_check),
            "persistence_theory": persistence_theory,
            "ramp_slope": measured(ramp_slope, ramp_slope_check),
            "ramp_slope_theory": ramp_slope_theory,
            **{
                name: code.assign_attrs(flag_attrs(f"theory check of {name[:-6]}"), rtol=rtol)
                for name, code in checks.items()
            },
            "check": combine(list(checks.values()), dims=("mode", "phase")).assign_attrs(
                flag_attrs("theory check of the point: disagrees if any quantity disagrees"),
                quantities=list(QUANTITIES),
            ),
        }
    )
    result["persistence"].attrs["delay"] = delay
    result["persistence_theory"].attrs["delay"] = delay
    return result


CHECKS = {"linear_modes": linear_modes}
"""Every check by name; each takes (ds, rtol, delay) and returns measured, theory and verdicts."""
