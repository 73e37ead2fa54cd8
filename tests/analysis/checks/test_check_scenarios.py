"""Each scenario's theory check, against values worked out by hand.

The default sweep of every scenario is simulated (no store) and its
measured quantities are compared with the lecture's numbers and with
formulas evaluated here independently of ``analysis.theory.linear``.  Linear
quantities measured by fits must lie within 1e-3 (relative) of their
values; the check itself must find every measurable point in agreement.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.integrate
import xarray as xr
from numpy.testing import assert_allclose
from sweeps import SCENARIOS, simulate_sweep

from analysis.checks import run_check
from analysis.checks.verdicts import VERDICTS, verdict_names
from analysis.summary import summarize
from pipeline.store.status import status_counts

RTOL = 1e-3
"""Fitted linear quantities against their values (the pipeline's default analysis.rtol)."""


@functools.cache
def scenario(name: str, *overrides: str) -> xr.Dataset:
    return simulate_sweep([f"+sweep={name}", *overrides])


def _checked_names(ds: xr.Dataset) -> list[str]:
    return list(ds["check"].attrs["quantities"])


@pytest.mark.parametrize("name", SCENARIOS)
def test_default_sweep_passes_its_own_check(name):
    """Every quantity of every point agrees with theory or says why it cannot be measured."""
    ds = scenario(name)
    assert not (ds["check"] == VERDICTS["disagrees"]).any()
    assert (ds["check"] == VERDICTS["agrees"]).all(), verdict_names(ds["check"].values)
    for quantity in _checked_names(ds):
        code = ds[f"{quantity}_check"]
        assert not (code == VERDICTS["disagrees"]).any(), quantity
        if not (code == VERDICTS["not_applicable"]).all():  # ramp_slope without an integrator
            assert (code == VERDICTS["agrees"]).any(), f"{quantity} is never measured"


def _mode_along(ds: xr.Dataset, direction) -> xr.DataArray:
    """Index of the mode whose eigenvector is +-direction (normalised), per point."""
    unit = np.asarray(direction) / np.linalg.norm(direction)
    overlap = abs((ds["eigenvectors"] * xr.DataArray(unit, dims="neuron")).sum("neuron"))
    return overlap.argmax("mode")


def test_mutual_inhibition_has_the_lectures_gains():
    """w = -0.8: gain 5 on the (-1, 1) mode, 1/1.8 on the (1, 1) mode, for every input."""
    ds = scenario("mutual_inhibition")
    along_difference = ds["gain"].isel(mode=_mode_along(ds, [-1, 1]))
    along_sum = ds["gain"].isel(mode=_mode_along(ds, [1, 1]))
    measured = along_difference.notnull() & along_sum.notnull()
    assert measured.sum() >= 32  # every direction that drives both modes
    assert_allclose(along_difference.where(measured, 5.0), 5.0, rtol=RTOL)
    assert_allclose(along_sum.where(measured, 1 / 1.8), 1 / 1.8, rtol=RTOL)
    assert_allclose(ds["eigenvalues"].isel(mode=_mode_along(ds, [-1, 1])), 0.8, rtol=1e-12)


def test_pair_gains_time_constants_and_modes():
    """w = 0.8: gain 5 and tau_eff 5 tau along (1, 1); 1/1.8 and tau/1.8 along (1, -1)."""
    ds = scenario("pair").sel(coupling=0.8)
    plus, minus = _mode_along(ds, [1, 1]), _mode_along(ds, [1, -1])
    tau = ds["tau"]
    for mode, gain in ((plus, 5.0), (minus, 1 / 1.8)):
        g = ds["gain"].isel(mode=mode)
        assert_allclose(g.where(g.notnull(), gain), gain, rtol=RTOL)
        t = ds["tau_eff"].isel(mode=mode) / tau
        assert_allclose(t.where(t.notnull(), gain), gain, rtol=RTOL)
    assert_allclose(ds["eigenvalues"].isel(mode=plus), 0.8, rtol=1e-12)
    assert_allclose(ds["eigenvalues"].isel(mode=minus), -0.8, rtol=1e-12)


def test_pair_stores_mode_activity_phi_transpose_v():
    ds = scenario("pair")
    expected = xr.dot(ds["eigenvectors"], ds["rate"], dim="neuron")
    assert_allclose(ds["mode_activity"], expected.transpose(*ds["mode_activity"].dims), atol=1e-12)


def test_pair_output_is_parallel_to_input_exactly_along_eigenvectors():
    """For w != 0 the steady state is parallel to h only at odd multiples of pi/4."""
    ds = scenario("pair").sel(coupling=[-0.8, 0.5, 0.9])
    steps = np.round(ds["input_angle"] / (np.pi / 8))  # the grid steps by pi/8
    along = (steps % 4 == 2).broadcast_like(ds["misalignment"])
    misalignment = ds["misalignment"]
    assert int(along.sum()) == 4 * 3 * 2  # pi/4, 3pi/4, 5pi/4, 7pi/4; 3 couplings, 2 tau
    assert (misalignment.where(along) < 1e-9).sum() == along.sum()
    assert (misalignment.where(~along) > 0.02).sum() == (~along).sum()


def test_pair_at_zero_coupling_is_degenerate_not_disagreeing():
    """M = 0: any basis is an eigenbasis, so the eigenvectors are not checked; the rest is."""
    ds = scenario("pair").sel(coupling=0.0)
    assert (ds["eigenvectors_check"] == VERDICTS["degenerate"]).all()
    assert (ds["misalignment"] < 1e-12).all()  # output = input: always parallel
    g = ds["gain"]
    assert_allclose(g.where(g.notnull(), 1.0), 1.0, rtol=RTOL)


def test_autapse_pair_gain_and_speed_of_each_neuron():
    """Neuron i: gain 1/(1 - lam_i), time constant tau/(1 - lam_i); its mode is (1, 0) or (0, 1)."""
    ds = scenario("autapse_pair")
    neuron_of_mode = abs(ds["eigenvectors"]).argmax("neuron")
    lam = xr.where(neuron_of_mode == 0, ds["lam1"], ds["lam2"])
    assert (neuron_of_mode.isel(mode=0) == 1).all()  # negative feedback: the lower eigenvalue
    gain, tau_eff = ds["gain"], ds["tau_eff"].sel(phase="rise")
    measured = gain.notnull()
    assert measured.sum() >= ds.sizes["lam1"] * ds.sizes["lam2"] * ds.sizes["tau"] * 12
    gain_error = abs(gain * (1 - lam) - 1).where(measured)
    tau_error = abs(tau_eff * (1 - lam) / ds["tau"] - 1).where(measured)
    assert float(gain_error.max()) <= RTOL
    assert float(tau_error.max()) <= RTOL


def test_autapse_pair_loop_turns_from_the_fast_axis_to_the_slow_one():
    """Input on both (angle pi/4): the loop is clockwise, area from a quadrature of the closed form.

    Neuron 2 (negative feedback) moves first both ways, so the trajectory goes
    up-then-right and down-then-left: negative signed area.
    """
    ds = scenario("autapse_pair").sel(input_angle=np.pi / 4, method="nearest")
    assert (ds["loop_area"] < 0).all()
    onset, offset, end = float(ds["onset"]), float(ds["offset"]), float(ds["time"][-1])
    for lam1 in ds["lam1"].values:
        for lam2 in ds["lam2"].values:
            for tau in ds["tau"].values:
                a = np.array([1 / (1 - lam1), 1 / (1 - lam2)]) * np.sqrt(0.5)
                k = np.array([1 - lam1, 1 - lam2]) / tau

                def v(t, a=a, k=k):
                    s = np.clip(t - onset, 0, offset - onset)
                    return a * -np.expm1(-k * s) * np.exp(-k * max(t - offset, 0.0))

                def dv(t, a=a, k=k):
                    if t < offset:
                        return a * k * np.exp(-k * (t - onset))
                    return -k * v(t)

                def integrand(t):
                    x, y = v(t)
                    dx, dy = dv(t)
                    return 0.5 * (x * dy - y * dx)

                area = sum(
                    scipy.integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-12)[0]
                    for lo, hi in ((onset, offset), (offset, end))
                )
                point = ds.sel(lam1=lam1, lam2=lam2, tau=tau)
                assert_allclose(point["loop_area_theory"], area, rtol=1e-9)
                assert abs(point["loop_area"] - area) <= RTOL * float(point["loop_area_scale"])


def test_spectrum_gain_and_time_constant_of_every_mode_and_the_gain_matrix():
    ds = scenario("spectrum")
    lam = np.sort([-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 0.9])
    lam_da = xr.DataArray(lam, dims="mode")
    # The first N epochs drive one mode each: its gain is 1/(1 - lam).
    for mode in range(lam.size):
        g = ds["gain"].isel(epoch=mode, mode=mode)
        assert_allclose(g, 1 / (1 - lam[mode]), rtol=RTOL)
    tau_eff = ds["tau_eff"] / ds["tau"] * (1 - lam_da)
    assert_allclose(tau_eff.where(tau_eff.notnull(), 1.0), 1.0, rtol=RTOL)
    # Every mode moves in most epochs (a random direction drives all eight).
    assert int(tau_eff.notnull().sum()) >= ds.sizes["seed"] * ds.sizes["tau"] * 16 * 8 / 2
    inverse = np.linalg.inv(np.eye(8) - ds["weights"].values)
    measured = ds["gain_matrix"].transpose(*ds["weights"].dims).values
    assert np.abs(measured - inverse).max() <= RTOL * np.abs(inverse).max()


def test_integrator_ramps_and_holds():
    """lam = 1: slope h_a/tau while on, then holds h_a T/tau (T = 0.2 s)."""
    ds = scenario("integrator")
    integrating = _mode_along(ds, [1, 1]).where(ds["coupling"] > 0, _mode_along(ds, [1, -1]))
    h_mode = ds["mode_input"].isel(mode=integrating)
    slope = ds["ramp_slope"].isel(mode=integrating)
    held = ds["held_value"].isel(mode=integrating)
    driven = abs(h_mode) > 1e-6
    assert int(driven.sum()) == 48
    assert_allclose(slope.where(driven), (h_mode / ds["tau"]).where(driven), rtol=RTOL)
    assert_allclose(held.where(driven), (h_mode * 0.2 / ds["tau"]).where(driven), rtol=RTOL)
    assert (np.sign(held.where(driven)) == np.sign(h_mode.where(driven))).sum() == 48


def test_runaway_growth_rate_before_divergence_and_the_rest_completes():
    """(w-1)/tau is measured even where the point overflowed; diverged points carry the time."""
    ds = scenario("runaway")
    grows = _mode_along(ds, [1, 1])
    rate = ds["growth_rate"].isel(mode=grows)
    expected = (ds["coupling"] - 1) / ds["tau"]
    assert_allclose(
        rate.sel(phase="rise"), expected.broadcast_like(rate.sel(phase="rise")), rtol=RTOL
    )
    diverged = ds["status"] == 2
    assert diverged.sel(coupling=50.0).all() and not diverged.sel(coupling=1.05).any()
    assert (ds["diverged_at"].notnull() == diverged).all()
    assert (ds["diverged_at"].sel(coupling=50.0) < 0.07).all()  # within 20 ms of the onset
    assert (ds["status"] != 3).all()


def test_runaway_summary_counts_diverged_points_and_passes():
    ds = scenario("runaway").assign_attrs(sweep="runaway", network="pair")
    summary = summarize(ds, status_counts(ds["status"].values))
    assert "points: 24 (12 ok, 12 diverged)" in summary.lines
    assert any(
        line.startswith(
            "diverged (|rate| passed solver.divergence_factor x its input): coupling=1.5, 2, 3, 50"
        )
        for line in summary.lines
    )
    assert summary.verdict == "PASS"


def test_saturating_memory_settles_at_the_fixed_point_with_the_sign_of_the_input():
    """lam > 1: v* = tanh(lam v*) (ceiling 1), sign of the input; lam < 1: back to 0."""
    ds = scenario("saturating_memory")
    final = ds["rate"].isel(time=-1, neuron=0)
    sign = np.sign(ds["amplitude"])
    for lam in (1.5, 2.0, 3.0):
        v = final.sel(lam=lam)
        assert_allclose(abs(v), np.tanh(lam * abs(v)), atol=RTOL)  # a fixed point of f(lam v)
        assert (np.sign(v) == sign).all()
        assert (abs(v) > 0.5).all()
    assert (abs(final.sel(lam=[0.5, 0.8])) < RTOL).all()


def test_saturating_memory_with_clip_holds_the_ceiling():
    ds = scenario("saturating_memory", "network.transfer=clip", "network.ceiling=2.0")
    final = ds["rate"].isel(time=-1, neuron=0)
    assert_allclose(
        final.sel(lam=[1.5, 2.0, 3.0]),
        2.0 * np.sign(ds["amplitude"]).broadcast_like(final.sel(lam=[1.5, 2.0, 3.0])),
        rtol=RTOL,
    )
    assert (ds["check"] == VERDICTS["agrees"]).all()


def test_feedforward_columns_and_recovered_matrix_are_i_minus_m_inverse_w():
    ds = scenario("feedforward")
    m, w = ds["weights"].values, ds["feedforward_weights"].values
    expected = np.linalg.solve(np.eye(5) - m, w)
    scale = np.abs(expected).max(axis=(-2, -1), keepdims=True)
    for name in ("transfer", "transfer_recovered"):
        measured = ds[name].transpose(*ds["feedforward_weights"].dims).values
        assert (np.abs(measured - expected) <= RTOL * scale).all(), name
    # Column j is the steady state to input neuron j alone at unit rate (epoch j).
    assert ds["input_rate"].isel(epoch=slice(0, 3)).values.tolist()[0][0] == np.eye(3).tolist()


def test_nonsymmetric_decay_rate_and_angular_frequency():
    """M = [[a, 1], [-b^2, a]]: decay (1 - a)/tau and frequency b/tau, Jordan block included."""
    ds = scenario("nonsymmetric")
    decay = (1 - ds["lam_real"]) / ds["tau"]
    frequency = ds["lam_imag"] / ds["tau"]
    assert_allclose(ds["decay_rate"], decay.broadcast_like(ds["decay_rate"]), rtol=RTOL)
    turning = ds["angular_frequency"]
    assert_allclose(
        turning.isel(mode=1),
        frequency.broadcast_like(turning.isel(mode=1)),
        atol=RTOL * float(abs(1 - ds["design_eigenvalues"]).min() / ds["tau"].min()),
    )
    assert_allclose(turning.isel(mode=0), -turning.isel(mode=1), rtol=1e-9, atol=1e-6)
    assert ds["rate"].notnull().all()


def test_a_mode_below_round_off_is_not_resolved_rather_than_disagreeing():
    """tau = 1 ms, 0.2 s after the step: the fast mode has decayed to e^-380 of the slow one."""
    ds = scenario("pair", "sweep.grid.tau=[0.001]", "analysis.persistence_delay=0.2")
    persistence = ds["persistence_check"]
    assert (persistence == VERDICTS["not_resolved"]).any()
    assert not (ds["check"] == VERDICTS["disagrees"]).any()


def test_a_wrong_measurement_is_reported_as_disagreeing():
    """The check can fail: a rate 1% too large on neuron 0 makes the gains disagree."""
    ds = scenario("pair").sel(coupling=[0.5], tau=[0.05])
    corrupted = ds.copy()
    corrupted["rate"] = ds["rate"] * xr.DataArray([1.01, 1.0], dims="neuron")
    result = run_check("pair", corrupted, {"rtol": RTOL, "persistence_delay": 0.05})
    assert (result["gain_check"] == VERDICTS["disagrees"]).any()
    assert (result["check"] == VERDICTS["disagrees"]).any()
