"""Verdicts at the edges of the configuration space: no disagreement where the data agree.

Each case is one the issue tracker recorded as a false FAIL or a false PASS;
every expected number is the closed form of the linear theory or the
stable fixed point, not a stored result.
"""

from __future__ import annotations

import numpy as np
import pytest
from sweeps import simulate_sweep

from analysis.checks.verdicts import VERDICTS


def _codes(ds, quantity):
    return ds[f"{quantity}_check"].values


@pytest.mark.parametrize(
    "lam",
    [
        # [0.88, 0.93, 0.98]: the approach slows as 1/|1 - lam| and has not ended in 1 s.
        "[0.88,0.93,0.98]",
        # 100 values through lam = 1, where the return to 0 takes longest.
        "${linspace:0.5,3,100}",
    ],
)
@pytest.mark.parametrize("transfer", ["tanh", "clip"])
def test_a_saturating_autapse_near_one_is_not_settled_rather_than_wrong(lam, transfer):
    """Points whose rate still moves are not_settled; every other point agrees."""
    ds = simulate_sweep(
        ["+sweep=saturating_memory", f"sweep.grid.lam={lam}", f"network.transfer={transfer}"]
    )
    for quantity in ("fixed_point", "memory"):
        codes = _codes(ds, quantity)
        assert not (codes == VERDICTS["disagrees"]).any()
        assert set(np.unique(codes)) <= {VERDICTS["agrees"], VERDICTS["not_settled"]}
    # Settled points sit at the fixed point within the tolerance (1e-3 of the ceiling).
    settled = _codes(ds, "fixed_point") == VERDICTS["agrees"]
    error = abs(ds["fixed_point"] - ds["fixed_point_theory"]).values[settled]
    assert error.max() <= 1e-3
    # Far from lam = 1 (|1 - lam| >= 0.25) every point has settled within 1 s.
    far = abs(1 - ds["lam"]) >= 0.25
    assert (_codes(ds, "fixed_point")[far.values] == VERDICTS["agrees"]).all()


def test_recording_longer_lets_the_points_near_one_settle():
    """record.duration=6: five time constants more, and lam = 0.88 and 0.93 settle and agree."""
    ds = simulate_sweep(
        ["+sweep=saturating_memory", "sweep.grid.lam=[0.88,0.93,0.98]", "record.duration=6"]
    )
    codes = _codes(ds, "fixed_point")
    assert (codes[:2] == VERDICTS["agrees"]).all()
    assert not (codes == VERDICTS["disagrees"]).any()


@pytest.mark.parametrize("distance", [1e-7, 3e-8, 1e-8, 3e-9])
def test_time_constants_a_hair_from_one_agree_or_are_too_slow(distance):
    """lam = 1 - distance: tau_eff = tau/(1-lam) up to 1e9 tau, from samples spanning 5 tau.

    Each phase's fit bounds its own round-off: it agrees with theory within
    1e-4 where it is compared, and it is compared at least in the decay,
    whose ratio comes from the samples themselves.  Where it is not, the
    mode moved by far less than a factor e in the recording: too slow for
    it (not_settled), not too fast for its step.
    """
    lam = 1 - distance
    ds = simulate_sweep(["+sweep=autapse", f"sweep.grid.lam=[{lam!r}]", "sweep.grid.tau=[0.1]"])
    codes = _codes(ds, "tau_eff").reshape(-1, 2)  # (point, phase)
    assert set(np.unique(codes)) <= {VERDICTS["agrees"], VERDICTS["not_settled"]}
    assert (codes[:, 1] == VERDICTS["agrees"]).all()
    measured = ds["tau_eff"].values.reshape(-1, 2)
    compared = codes == VERDICTS["agrees"]
    relative = abs(measured[compared] * distance / 0.1 - 1)
    assert relative.max() < 1e-4
    gain = _codes(ds, "gain").ravel()
    assert set(np.unique(gain)) <= {VERDICTS["agrees"], VERDICTS["not_settled"]}


@pytest.mark.parametrize("tau", [1e8, 1e12])
def test_a_time_constant_far_above_the_recording_is_too_slow_not_too_fast(tau):
    """tau far above the 0.5 s recording: the gain of every stable mode is not measurable
    because the mode barely moves (not_settled: record longer), never "too fast"."""
    ds = simulate_sweep(["+sweep=autapse", f"sweep.grid.tau=[{tau}]"])
    stable = (ds["lam"] < 1).values
    gain = _codes(ds, "gain").reshape(ds["lam"].size, -1)
    assert (gain[stable] == VERDICTS["not_settled"]).all()
    assert (gain[~stable] == VERDICTS["no_steady_state"]).all()
    tau_eff = _codes(ds, "tau_eff")
    assert not (tau_eff == VERDICTS["not_resolved"]).any()
    assert not (tau_eff == VERDICTS["disagrees"]).any()


def test_a_time_constant_far_below_the_step_is_still_too_fast():
    """tau = 1e-300 s: a stable mode's decay is over within one sample, so its tau_eff is
    not_resolved (too fast for the recording step), not too slow."""
    ds = simulate_sweep(["+sweep=autapse", "sweep.grid.tau=[1e-300]"])
    decay = ds["tau_eff_check"].sel(phase="decay").squeeze().values
    assert (decay[(ds["lam"] < 1).values] == VERDICTS["not_resolved"]).all()


def test_a_time_constant_far_below_the_sample_interval_still_gives_the_gain():
    """tau = 1e-9 s, dt = 1 ms: the rate is at its steady state h/(1-lam) from the first sample."""
    ds = simulate_sweep(
        ["+sweep=autapse", "sweep.grid.lam=[-2,0,0.5,0.9]", "sweep.grid.tau=[1e-9]"]
    )
    assert (_codes(ds, "gain") == VERDICTS["agrees"]).all()
    lam = ds["lam"].values
    np.testing.assert_allclose(ds["gain"].values.ravel(), 1 / (1 - lam), rtol=1e-12)
    assert (_codes(ds, "tau_eff") == VERDICTS["not_resolved"]).all()


def test_an_overflowing_input_gives_verdicts_with_a_reason_and_no_warning():
    """amplitude 1e308: h/tau and the rates overflow; nothing warns (warnings are errors here)."""
    ds = simulate_sweep(["+sweep=autapse", "stimulus.amplitude=1e308"])
    codes = np.concatenate([_codes(ds, q).ravel() for q in ("gain", "tau_eff", "ramp_slope")])
    assert not np.isin(codes, [VERDICTS["disagrees"], VERDICTS["not_computed"]]).any()
    # Rates past the largest float are diverged points, never ok.
    finite = np.isfinite(ds["rate"]).all(["time", "neuron"])
    assert (ds["diverged_at"].notnull() | finite).all()


def test_a_value_that_overflows_is_out_of_range_not_a_disagreement():
    """verdict_codes: inf or NaN that no reason explains is out_of_range; finite values compare."""
    from analysis.checks.verdicts import verdict_codes

    measured = np.array([1.0, np.inf, 2.0, np.nan, 1.5])
    theory = np.array([1.0, np.inf, np.inf, 1.0, 1.0])
    codes = verdict_codes(measured, theory, 1e-3, [("not_driven", np.array([0, 0, 0, 1, 0]) > 0)])
    names = ["agrees", "out_of_range", "out_of_range", "not_driven", "disagrees"]
    assert codes.tolist() == [VERDICTS[name] for name in names]


@pytest.mark.parametrize(
    ("sweep", "rtol"),
    [
        # Epoch fits of the lam = 0.9 modes know tau_eff to about 1e-8 only.
        ("spectrum", 1e-9),
        # The Jordan blocks (lam_imag = 0): their eigenvalue moves as the square root
        # of the propagator's round-off, so their rates are known to about 1e-7 only.
        ("nonsymmetric", 1e-8),
    ],
)
def test_a_tolerance_tighter_than_round_off_allows_is_not_resolved_rather_than_failed(sweep, rtol):
    """One precision rule for every fit: a value is compared only where its error bound
    from round-off is within a tenth of the tolerance.  So at a tolerance tighter than
    some fits resolve, those are not_resolved, nothing disagrees, every agreeing value
    is within the tolerance, and every quantity still agrees somewhere."""
    ds = simulate_sweep([f"+sweep={sweep}", f"analysis.rtol={rtol}"])
    for quantity in ds["check"].attrs["quantities"]:
        codes = _codes(ds, quantity)
        assert not (codes == VERDICTS["disagrees"]).any(), quantity
        agrees = codes == VERDICTS["agrees"]
        assert agrees.any(), quantity
        theory = ds[f"{quantity}_theory"].broadcast_like(ds[f"{quantity}_check"]).values
        scale = (
            ds[f"{quantity}_scale"].broadcast_like(ds[f"{quantity}_check"]).values
            if f"{quantity}_scale" in ds
            else abs(theory)
        )
        measured = ds[quantity].broadcast_like(ds[f"{quantity}_check"]).values
        assert (abs(measured - theory)[agrees] <= rtol * scale[agrees]).all(), quantity
    assert (ds["check"] == VERDICTS["agrees"]).any()
