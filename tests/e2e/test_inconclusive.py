"""No PASS without evidence: a quantity that applies but is measured nowhere is INCONCLUSIVE."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr
from store_helpers import hydra_config

from analysis.checks.verdicts import VERDICTS
from pipeline.__main__ import VERDICT_CODES, execute
from pipeline.records.catalog import runs


@pytest.mark.parametrize(
    ("overrides", "unmeasured"),
    [
        # tau far below the recording step: the flat steady state gives the gain
        # exactly, but no time constant, persistence or ramp is resolved.
        (("sweep.grid.tau=[1e-300]",), "tau_eff, persistence, ramp_slope"),
    ],
)
def test_a_quantity_measured_at_no_point_makes_the_run_inconclusive(
    tmp_path: Path, overrides, unmeasured
):
    outcome = execute(hydra_config(tmp_path / "s.zarr", *overrides, sweep=("+sweep=autapse",)))
    assert outcome.code == VERDICT_CODES["INCONCLUSIVE"] == 4
    assert outcome.lines[-1] == (
        f"verdict (autapse): INCONCLUSIVE, {unmeasured} measured at no point (see why above), "
        "so the run is no evidence for their theory"
    )
    named = [line for line in outcome.lines if line.endswith("; measured at no point")]
    assert [line.split()[0] for line in named] == unmeasured.split(", ")
    # The store and the catalog say what the run printed.
    with xr.open_zarr(tmp_path / "s.zarr") as ds:
        assert ds["check"].attrs["verdict"] == "INCONCLUSIVE"
    assert runs(tmp_path / "catalog.sqlite")["verdict"].tolist() == ["INCONCLUSIVE"]


def test_a_loud_input_does_not_make_a_stable_network_diverge(tmp_path: Path):
    """Divergence is relative to the input: amplitude 1e7 diverges only lam > 1, and PASSes.

    The stable points' gains are measured and agree with 1/(1-lam) (the
    relative tolerance, 1e-3, is the check's); every diverged point has an
    eigenvalue above 1.
    """
    path = tmp_path / "loud.zarr"
    outcome = execute(hydra_config(path, "stimulus.amplitude=1e7", sweep=("+sweep=autapse",)))
    assert outcome.code == 0
    assert outcome.lines[-1].startswith("verdict (autapse): PASS")
    assert runs(tmp_path / "catalog.sqlite")["verdict"].tolist() == ["PASS"]
    with xr.open_zarr(path) as ds:
        assert ds["check"].attrs["verdict"] == "PASS"
        diverged = ds["diverged_at"].notnull().any("tau")
        assert (ds["lam"][diverged.values] > 1).all()
        assert not diverged.sel(lam=slice(None, 1.0)).any()
        stable = ds.sel(lam=ds["lam"] < 1)
        assert int((stable["gain_check"] == VERDICTS["agrees"]).sum()) == stable["gain"].size
        relative = abs(stable["gain"] - 1 / (1 - stable["lam"])) * (1 - stable["lam"])
        assert float(relative.max()) < 1e-9


def test_a_quantity_that_applies_nowhere_does_not_withhold_the_pass(tmp_path: Path):
    """Without lam = 1 the ramp of an integrator applies at no point: PASS, exit 0."""
    outcome = execute(
        hydra_config(tmp_path / "s.zarr", "sweep.grid.lam=[0,0.5]", sweep=("+sweep=autapse",))
    )
    assert outcome.code == 0
    assert "ramp_slope vs h_a/tau                not applicable at any point" in "\n".join(
        outcome.lines
    )
    assert outcome.lines[-1].startswith("verdict (autapse): PASS")


def test_a_saturating_network_without_input_is_inconclusive_not_a_pass(tmp_path: Path):
    """Zero input leaves the state at the fixed point 0: no evidence of memory, exit 4.

    The linear checks call such a mode not driven; the saturating check does the
    same, so a state that never left 0 (unstable for lam > 1) is not counted as
    agreeing with the fixed point an input would have reached.
    """
    path = tmp_path / "s.zarr"
    outcome = execute(
        hydra_config(path, "sweep.grid.amplitude=[0.0]", sweep=("+sweep=saturating_memory",))
    )
    assert outcome.code == VERDICT_CODES["INCONCLUSIVE"] == 4
    assert outcome.lines[-1] == (
        "verdict (saturating_memory): INCONCLUSIVE, fixed_point, memory measured at no point "
        "(see why above), so the run is no evidence for their theory"
    )
    with xr.open_zarr(path) as ds:
        for quantity in ("fixed_point", "memory"):
            assert (ds[f"{quantity}_check"] == VERDICTS["not_driven"]).all()


def test_a_saturating_network_passes_on_its_driven_points(tmp_path: Path):
    """With a zero amplitude among -2 and 2, the 20 driven points agree and the run passes."""
    path = tmp_path / "s.zarr"
    outcome = execute(
        hydra_config(
            path, "sweep.grid.amplitude=[-2.0,0.0,2.0]", sweep=("+sweep=saturating_memory",)
        )
    )
    assert outcome.code == 0
    assert outcome.lines[-1].startswith("verdict (saturating_memory): PASS")
    with xr.open_zarr(path) as ds:
        codes = ds["fixed_point_check"].squeeze("neuron", drop=True)
        assert (codes.sel(amplitude=0.0) == VERDICTS["not_driven"]).all()
        assert (codes.sel(amplitude=[-2.0, 2.0]) == VERDICTS["agrees"]).all()
        assert int(codes.size) == 30
