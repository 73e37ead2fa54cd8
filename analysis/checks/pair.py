"""The two-neuron network ``[[0, w], [w, 0]]``: its modes, eigen-structure and steady state."""

from __future__ import annotations

import xarray as xr

from analysis.checks.base import (
    Check,
    absolute,
    carried,
    checked_dataset,
    compare,
    sweep_coordinate,
)
from analysis.checks.linear_modes import QUANTITIES as LINEAR_QUANTITIES
from analysis.checks.linear_modes import linear_modes
from analysis.checks.verdicts import VERDICTS
from analysis.measure.geometry import misalignment
from analysis.measure.modes import eigenvector_inverse, mode_activity
from analysis.measure.steady import neuron_space
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory


def pair(ds: xr.Dataset, *, rtol: float, persistence_delay: float) -> xr.Dataset:
    """The two-neuron network ``[[0, w], [w, 0]]``: its modes and its steady state.

    Besides every mode's gain, time constant, persistence (and ramp) of
    :func:`linear_modes`:

    - ``eigenvalues``: of the stored weights, against ``-|w|, |w|``, within ``rtol``;
    - ``eigenvectors``: against (1, 1)/sqrt2 for ``+w`` and (1, -1)/sqrt2 for
      ``-w``, within ``rtol`` per component.  At ``w = 0`` both eigenvalues
      are 0 and any basis is an eigenbasis: the verdict is ``degenerate``;
    - ``misalignment``: sine of the angle between the measured steady state,
      ``Phi (gain_a h_a)``, and the input, against that of ``(I - M)^-1 h``,
      within ``rtol``.  It is 0 exactly when the input lies along an
      eigenvector (every input, at ``w = 0``).

    The mode activities ``c = Phi^T v`` are returned as ``mode_activity``.
    """
    modes = linear_modes(ds, rtol=rtol, persistence_delay=persistence_delay)
    coupling = sweep_coordinate(ds, "coupling")
    quantities = {
        "eigenvalues": compare(
            ds["eigenvalues"],
            scenario_theory.pair_eigenvalues_theory(coupling),
            rtol,
            [],
            scale=absolute(),
            stored=True,
        ),
        "eigenvectors": compare(
            ds["eigenvectors"],
            scenario_theory.pair_eigenvectors_theory(coupling),
            rtol,
            [("degenerate", abs(coupling) <= theory.UNIT_TOLERANCE)],
            scale=absolute(),
            stored=True,
        ),
    }
    gain_check = modes["gain_check"]
    undriven = gain_check == VERDICTS["not_driven"]
    settled = xr.where(undriven, 0.0, modes["gain"] * modes["mode_input"])
    steady = neuron_space(settled, ds["eigenvectors"])
    measured = misalignment(steady, ds["h"]).assign_attrs(
        long_name="sine of the angle between steady state and input, measured", units="1"
    )
    expected = misalignment(scenario_theory.steady_state_theory(ds["weights"], ds["h"]), ds["h"])
    quantities["misalignment"] = compare(
        measured,
        expected.assign_attrs(
            long_name="sine of the angle between steady state and input, theory",
            units="1",
            formula="angle((I-M)^-1 h, h)",
        ),
        rtol,
        [
            (reason, mask.any("mode"))
            for reason, mask in carried(gain_check)
            if reason != "not_driven"  # an undriven mode adds nothing to the steady state
        ],
        scale=absolute(),
    )
    activity = mode_activity(ds["rate"], eigenvector_inverse(ds)).assign_attrs(
        long_name="activity of the mode, c = Phi^T v", units="Hz"
    )
    return checked_dataset(quantities, rtol, ds, base=modes, extras={"mode_activity": activity})


CHECK = Check(
    pair,
    quantities=(*LINEAR_QUANTITIES, "eigenvalues", "eigenvectors", "misalignment"),
    reads=("rtol", "persistence_delay"),
)
