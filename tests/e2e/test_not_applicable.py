"""A quantity whose theory has no finite value at a point does not apply there (issue 29).

Such a point is neither evidence nor missing evidence: it neither withholds
a PASS nor counts as a disagreement.  A singular ``I - M`` (an eigenvalue 1)
is checked mode by mode: the integrator mode has no gain or time constant,
the other mode's are measured, and the steady state exists wherever the
input leaves the integrator at rest.  A theory of 0 is compared on the
absolute scale its check states.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from store_helpers import hydra_config

from analysis.checks.verdicts import VERDICTS
from pipeline.__main__ import VERDICT_CODES, execute
from pipeline.records.catalog import runs


def _run(tmp_path: Path, sweep: str, *overrides: str):
    outcome = execute(hydra_config(tmp_path / "s.zarr", *overrides, sweep=(f"+sweep={sweep}",)))
    return outcome, xr.open_zarr(tmp_path / "s.zarr").load()


def _recorded(tmp_path: Path, ds: xr.Dataset) -> list[str]:
    """The verdict the store and the catalog recorded."""
    return [ds["check"].attrs["verdict"], *runs(tmp_path / "catalog.sqlite")["verdict"]]


@pytest.mark.parametrize(("sweep", "coupling"), [("pair", 1.0), ("mutual_inhibition", -1.0)])
def test_a_pair_with_an_integrator_mode_is_checked_mode_by_mode(tmp_path, sweep, coupling):
    """w = +-1: the report is written, PASS (exit 0) in the output, the store and the catalog.

    The other mode (eigenvalue -|w| = -1) has gain 1/2 and time constant tau/2
    wherever the input drives it.  Where the input lies along that mode (it
    leaves the integrator at rest), the steady state (I - M)^-1 h = h/2 exists
    and is parallel to h: misalignment 0, measured and agreeing.  Where the
    input drives the integrator there is no steady state: not applicable.
    """
    angles = "[0.3,0.7853981633974483,2.356194490192345]"
    outcome, ds = _run(
        tmp_path, sweep, f"sweep.grid.coupling=[{coupling}]", f"sweep.grid.input_angle={angles}"
    )
    assert outcome.code == VERDICT_CODES["PASS"] == 0, outcome.errors
    assert outcome.lines[-1].startswith(f"verdict ({sweep}): PASS")
    assert (tmp_path / "s.report" / "index.html").exists()
    assert _recorded(tmp_path, ds) == ["PASS", "PASS"]

    stable = ds["eigenvalues"] < 0
    lam = ds["eigenvalues"].where(stable)
    gain_code = ds["gain_check"].where(stable)
    agrees = gain_code == VERDICTS["agrees"]
    assert int(agrees.sum()) == 4  # angles 0.3 and the one along the stable mode, 2 tau
    assert float(abs(ds["gain"].where(agrees) - 0.5).max()) <= 1e-12
    tau_eff = ds["tau_eff"].where(agrees)
    expected = ds["tau"] / (1 - lam)
    assert float(abs(tau_eff / expected - 1).max()) <= 1e-9
    assert (ds["gain_check"].where(~stable) == VERDICTS["no_steady_state"]).sum() + (
        ds["gain_check"].where(~stable) == VERDICTS["not_driven"]
    ).sum() == ds["gain_check"].where(~stable).count()

    # Along the stable mode: a steady state, parallel to the input.
    along = ds["mode_input"].where(~stable).pipe(abs).max("mode") < 1e-9
    misalignment = ds["misalignment_check"]
    assert (misalignment.where(along) == VERDICTS["agrees"]).sum() == int(along.sum()) == 2
    assert float(abs(ds["misalignment"].where(along)).max()) <= 1e-9  # the fitted gains
    assert float(abs(ds["misalignment_theory"].where(along)).max()) <= 1e-12
    # Elsewhere the integrator is driven: no steady state, which is no overflow.
    assert (
        misalignment.where(~along, VERDICTS["no_steady_state"]) == VERDICTS["no_steady_state"]
    ).all()
    assert not (misalignment == VERDICTS["out_of_range"]).any()


def test_the_integrator_alone_passes_on_its_ramp(tmp_path):
    """lam = 1 alone: gain and tau_eff have no finite theory and do not apply there; the
    ramp slope h/tau is measured and agrees (within 1e-12), so PASS, exit 0."""
    outcome, ds = _run(tmp_path, "autapse", "sweep.grid.lam=[1.0]")
    assert outcome.code == 0, outcome.lines
    lines = "\n".join(outcome.lines)
    assert "gain vs 1/(1-lam)                    not applicable at any point" in lines
    assert "tau_eff vs tau/(1-lam)               not applicable at any point" in lines
    assert "3 not applicable, no time constant at eigenvalue 1 (integrator): every lam" in lines
    assert outcome.lines[-1] == (
        "verdict (autapse): PASS, every measurable quantity agrees with theory"
    )
    assert _recorded(tmp_path, ds) == ["PASS", "PASS"]
    assert (ds["ramp_slope_check"] == VERDICTS["agrees"]).all()
    assert_close = abs(ds["ramp_slope"] - 1.0 / ds["tau"]) <= 1e-12 / ds["tau"]
    assert bool(assert_close.all())
    assert (ds["gain_check"] == VERDICTS["no_steady_state"]).all()


def test_only_unstable_eigenvalues_pass_without_a_gain(tmp_path):
    """lam > 1: no steady state, so the gain does not apply; the growth (tau_eff < 0) and
    persistence are measured and agree."""
    outcome, _ = _run(tmp_path, "autapse", "sweep.grid.lam=[1.5,2]", "stimulus.amplitude=1e7")
    assert outcome.code == 0, outcome.lines
    assert "  gain vs 1/(1-lam)                    not applicable at any point" in outcome.lines


def test_a_decay_rate_of_zero_is_compared_on_the_scale_one_over_tau(tmp_path):
    """Re lam = 1: the decay rate's theory is 0 and the rate measured about 1e-6 /s (the
    Jordan block at lam = 1) or 0 (lam = 1 +- 0.5i); within rtol of 1/tau both agree, PASS."""
    outcome, ds = _run(
        tmp_path, "nonsymmetric", "sweep.grid.lam_real=[1.0]", "sweep.grid.lam_imag=[0.0,0.5]"
    )
    assert outcome.code == 0, outcome.lines
    assert (ds["decay_rate_check"] == VERDICTS["agrees"]).all()
    assert (ds["decay_rate_theory"] == 0).all()
    assert np.array_equal(
        ds["decay_rate_scale"], (1 / ds["tau"]).broadcast_like(ds["decay_rate_scale"])
    )
    assert float(abs(ds["decay_rate"]).max()) <= 1e-3 / float(ds["tau"].max())
