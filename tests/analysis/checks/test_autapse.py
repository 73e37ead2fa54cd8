"""The autapse sweep measured against the lecture's theory (issue 2's acceptance numbers)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sweeps import compose_config, simulate_sweep

from analysis.checks.linear_modes import linear_modes
from analysis.checks.verdicts import VERDICTS
from pipeline.block import simulate_block
from pipeline.grid import Grid
from pipeline.run.plan import block_spec


@pytest.fixture(scope="module")
def autapse() -> xr.Dataset:
    """The default autapse sweep, simulated and checked as one block."""
    return simulate_sweep(["+sweep=autapse"]).isel(mode=0)


def relative_error(measured, expected):
    """|measured / expected - 1|, broadcast by dimension name."""
    return abs(measured / expected - 1)


def test_default_sweep_covers_the_lecture_values(autapse):
    lam = autapse["lam"].values
    for value in (-2.0, -1.0, 0.0, 0.5, 2 / 3, 1.0):
        assert value in lam
    assert lam.min() <= -2 and lam.max() >= 1.5 and (lam > 1).sum() >= 2
    assert autapse.sizes["tau"] >= 3


def test_lecture_numbers_lam_half_gain_two_and_twice_tau(autapse):
    """lam = 0.5: gain 2 and time constant 2 tau, measured from the trajectory (rtol 1e-3)."""
    point = autapse.sel(lam=0.5)
    np.testing.assert_allclose(point["gain"], 2.0, rtol=1e-3)
    for phase in ("rise", "decay"):
        np.testing.assert_allclose(point["tau_eff"].sel(phase=phase), 2 * autapse["tau"], rtol=1e-3)


def test_lecture_numbers_lam_minus_one_gain_half_and_half_tau(autapse):
    """lam = -1: gain 1/2 and time constant tau/2, measured (rtol 1e-3)."""
    point = autapse.sel(lam=-1.0)
    np.testing.assert_allclose(point["gain"], 0.5, rtol=1e-3)
    for phase in ("rise", "decay"):
        np.testing.assert_allclose(point["tau_eff"].sel(phase=phase), autapse["tau"] / 2, rtol=1e-3)


def test_every_stable_point_matches_gain_and_time_constant(autapse):
    """For lam < 1: gain vs 1/(1-lam) and tau_eff vs tau/(1-lam), relative error < 1e-3."""
    stable = autapse.sel(lam=autapse["lam"] < 1)
    lam, tau = stable["lam"], stable["tau"]
    assert relative_error(stable["gain"], 1 / (1 - lam)).max() < 1e-3
    assert relative_error(stable["tau_eff"], tau / (1 - lam)).max() < 1e-3


def test_gain_is_measured_when_the_step_is_shorter_than_five_tau_eff(autapse):
    """lam = 0.9, tau = 0.1: tau_eff = 1 s, five times the 0.2 s step; the fit still finds 10."""
    point = autapse.sel(lam=0.9, tau=0.1)
    step = float(point["offset"] - point["onset"])
    assert step < 5 * float(point["tau_eff_theory"])
    end_of_step = float(point["rate"].sel(time=point["offset"], method="nearest")[0])
    assert end_of_step < 0.3 * 10  # far from the plateau, so reading it off would fail
    assert relative_error(point["gain"], 10.0) < 1e-3


def test_integrator_holds_and_ramps_with_slope_h_over_tau(autapse):
    """lam = 1: persistence 1 within 1e-6; the rate ramps with slope h/tau while the input is on."""
    point = autapse.sel(lam=1.0)
    assert np.abs(point["persistence"] - 1).max() < 1e-6
    rate = point["rate"].isel(neuron=0)
    on = rate.sel(time=slice(float(point["onset"]), float(point["offset"])))
    slope = on.differentiate("time")
    expected = point["h"].isel(neuron=0) / point["tau"]
    assert relative_error(slope, expected).max() < 1e-6
    assert (point["gain_check"] == VERDICTS["no_steady_state"]).all()
    assert (point["tau_eff_check"] == VERDICTS["integrator"]).all()


def test_runaway_persistence_grows_as_exp_lam_minus_one_delay_over_tau(autapse):
    """lam > 1: persistence matches exp((lam-1) D/tau) within 1e-3, and it is not an error."""
    runaway = autapse.sel(lam=autapse["lam"] > 1)
    delay = runaway["persistence"].attrs["delay"]
    expected = np.exp((runaway["lam"] - 1) * delay / runaway["tau"])
    assert relative_error(runaway["persistence"], expected).max() < 1e-3
    assert (runaway["check"] == VERDICTS["agrees"]).all()
    assert (runaway["gain_check"] == VERDICTS["no_steady_state"]).all()


def test_every_point_passes_its_check(autapse):
    assert (autapse["check"] == VERDICTS["agrees"]).all()


def test_a_wrong_trajectory_is_caught():
    """The check can fail: a rate off by 1 % disagrees with theory for every stable point."""
    config = compose_config(
        ["+sweep=autapse", "sweep.grid.lam=[-1.0,0.5]", "sweep.grid.tau=[0.02]"]
    )
    grid = Grid.from_config(config.sweep.grid)
    ds = simulate_block(block_spec(config), grid, (slice(None), slice(None)))
    wrong = ds.assign(rate=ds["rate"] * 1.01)
    checked = linear_modes(wrong, rtol=1e-3, persistence_delay=config.analysis.persistence_delay)
    assert (checked["gain_check"] == VERDICTS["disagrees"]).all()
    assert (checked["check"] == VERDICTS["disagrees"]).all()
