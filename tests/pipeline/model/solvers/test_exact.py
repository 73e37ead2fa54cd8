"""The exact linear solver against closed forms and an independent ODE solver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from pipeline.model.divergence import first_divergence
from pipeline.model.networks import pair
from pipeline.model.solvers import System
from pipeline.model.solvers.exact import exact_rate
from pipeline.model.stimulus import step_inputs

TIMES = np.linspace(0.0, 0.5, 501)
ONSET, OFFSET = 0.05, 0.25


def solve(weights, tau, h, times=TIMES):
    """The exact solution for a step input of ``h`` from ONSET to OFFSET."""
    inputs, switch_times = step_inputs(h, ONSET, OFFSET)
    return exact_rate(System.of(weights, tau, inputs, switch_times), times)


def step_response(lam: float, tau: float, h: float, times: np.ndarray) -> np.ndarray:
    """Closed form of tau dv/dt = -(1 - lam) v + h on [ONSET, OFFSET], from rest."""
    a = (1 - lam) / tau
    on = np.clip(times, ONSET, OFFSET) - ONSET
    v_on = h * on / tau if lam == 1 else h / (1 - lam) * -np.expm1(-a * on)
    return v_on * np.exp(-a * np.clip(times - OFFSET, 0, None))


def reference_rate(weights, tau, inputs, switch_times, times):
    """``tau dv/dt = -v + M v + h`` by scipy's DOP853 with tight tolerances, epoch by epoch."""
    n = weights.shape[-1]
    edges = [times[0], *switch_times, times[-1]]
    v = np.zeros(n)
    out = np.empty((times.size, n))
    for epoch, (start, stop) in enumerate(itertools.pairwise(edges)):
        h = inputs[epoch]
        inside = (times >= start) & (times <= stop)
        solution = solve_ivp(
            lambda t, v, h=h: (-v + weights @ v + h) / tau,
            (start, stop),
            v,
            method="DOP853",
            t_eval=times[inside],
            rtol=1e-12,
            atol=1e-14,
            dense_output=True,
        )
        out[inside] = solution.y.T
        v = solution.sol(stop)
    return out


def _networks() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    a = rng.normal(size=(3, 3))
    symmetric = (a + a.T) / 4
    return {
        "autapse lam=0.5": np.array([[0.5]]),
        "autapse lam=-1": np.array([[-1.0]]),
        "autapse lam=1 (integrator)": np.array([[1.0]]),
        "autapse lam=1.5 (runaway)": np.array([[1.5]]),
        "pair w=0.8": np.array([[0.0, 0.8], [0.8, 0.0]]),
        "mutual inhibition w=-0.8": np.array([[0.0, -0.8], [-0.8, 0.0]]),
        "random symmetric 3x3": symmetric,
        "random non-symmetric 3x3": rng.normal(size=(3, 3)) / 3,
        "defective (Jordan block)": np.array([[0.5, 1.0], [0.0, 0.5]]),
    }


@pytest.mark.parametrize(("name", "weights"), list(_networks().items()))
def test_exact_solution_matches_independent_ode_solver(name, weights):
    """Relative difference to DOP853 (rtol 1e-12) below 1e-6 at every sample."""
    n = weights.shape[0]
    tau = 0.02
    h = np.linspace(1.0, -0.5, n)
    inputs, switch_times = step_inputs(h[None], ONSET, OFFSET)
    symmetric = bool(np.allclose(weights, weights.T))
    system = System.of(weights[None], np.array([tau]), inputs, switch_times, symmetric=symmetric)
    rate = exact_rate(system, TIMES)
    expected = reference_rate(weights, tau, inputs[0], switch_times, TIMES)
    scale = np.abs(expected).max()
    assert_allclose(rate[0], expected, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("symmetric", [True, False])
def test_autapse_step_response_matches_closed_form(symmetric):
    """v(t) = h/(1-lam) (1 - exp(-(1-lam)(t-onset)/tau)) during the step, then decays."""
    lam = np.array([-2.0, -1.0, 0.0, 0.5, 2 / 3, 0.9, 1.0, 1.1])
    tau = np.full(lam.size, 0.05)
    inputs, switch_times = step_inputs(np.ones((lam.size, 1)), ONSET, OFFSET)
    system = System.of(lam[:, None, None], tau, inputs, switch_times, symmetric=symmetric)
    rate = exact_rate(system, TIMES)[..., 0]
    expected = np.stack([step_response(value, 0.05, 1.0, TIMES) for value in lam])
    assert_allclose(rate, expected, rtol=1e-10, atol=1e-13)


def test_integrator_ramps_with_slope_h_over_tau_and_holds():
    """At lam = 1: v = h (t - onset)/tau while the input is on, constant after."""
    tau, h = 0.04, 2.5
    inputs, switch_times = step_inputs(np.array([[h]]), ONSET, OFFSET)
    system = System.of(np.ones((1, 1, 1)), np.array([tau]), inputs, switch_times)
    rate = exact_rate(system, TIMES)[0, :, 0]
    expected = h * np.clip(TIMES - ONSET, 0, OFFSET - ONSET) / tau
    assert_allclose(rate, expected, rtol=1e-12, atol=1e-12)


def test_switch_between_samples_is_integrated_exactly():
    """An input that switches between recorded samples still matches the reference."""
    weights = np.array([[0.0, 0.6], [0.6, 0.0]])
    tau = 0.01
    inputs, switch_times = step_inputs(np.array([[1.0, 0.3]]), 0.0503, 0.2517)
    system = System.of(weights[None], np.array([tau]), inputs, switch_times, symmetric=True)
    rate = exact_rate(system, TIMES)
    expected = reference_rate(weights, tau, inputs[0], switch_times, TIMES)
    assert_allclose(rate[0], expected, rtol=1e-6, atol=1e-9)


def test_recording_step_is_not_a_solver_step():
    """Recording every 0.25 ms or every 1 ms samples the same solution (1e-12 of the peak)."""
    circuit = pair({"coupling": np.array([0.8, -0.95]), "input_angle": np.array([0.3, 2.0])}, None)
    tau = np.array([0.05, 0.02])
    fine = solve(circuit.weights, tau, circuit.input_direction, times=np.linspace(0, 0.5, 2001))
    coarse = solve(circuit.weights, tau, circuit.input_direction, times=TIMES)
    assert_allclose(fine[:, ::4], coarse, rtol=0, atol=1e-12 * np.abs(coarse).max())


def test_a_point_does_not_depend_on_its_batch():
    """Each trajectory is the same bit for bit alone, in any batch, in any order."""
    rng = np.random.default_rng(5)
    weights = rng.normal(0, 0.5, (40, 3, 3))
    weights[7] = [[0.5, 1.0, 0.0], [0.0, 0.5, 1.0], [0.0, 0.0, 0.5]]  # takes the expm path
    tau = rng.uniform(0.02, 0.1, 40)
    h = rng.normal(size=(40, 3))
    whole = solve(weights, tau, h)
    for part in (np.arange(40)[::-1], np.arange(3, 20, 2), np.array([7]), np.array([0]), [39]):
        assert np.array_equal(solve(weights[part], tau[part], h[part]), whole[part])


def test_divergence_is_the_first_sample_past_the_bound():
    """lam = 1.5 grows as h/(lam-1) (e^{(lam-1) t/tau} - 1); the first sample past 100 counts."""
    lam = np.array([0.5, 1.5])
    rate = solve(lam[:, None, None], np.array([0.02, 0.02]), np.ones((2, 1)))
    diverged_at = first_divergence(rate, TIMES, 100.0)
    expected = TIMES[np.argmax(step_response(1.5, 0.02, 1.0, TIMES) > 100)]
    assert np.isnan(diverged_at[0])
    assert diverged_at[1] == expected
    rate[0, 300, 0] = np.nan
    assert first_divergence(rate, TIMES, 100.0)[0] == TIMES[300]


def test_a_mode_at_rest_stays_at_rest_under_a_propagator_beyond_float_range():
    """lam = 720, 1000 at tau = dt = 1 ms grow e^719-fold and more per sample: beyond float range.

    Before the input the activity is exactly 0 and stays 0 (not the NaN of
    inf x 0); the first sample after the onset is the first past any bound,
    for the modal path, a complex mode and the matrix exponential's (a
    Jordan block) alike.  lam = 700 (e^699 per sample) is still in range:
    its first sample after the onset is the closed form.
    """
    lam = np.array([700.0, 720.0, 1000.0])
    tau = np.full(3, 1e-3)
    rate = solve(lam[:, None, None], tau, np.ones((3, 1)))
    onset = int(np.flatnonzero(TIMES == ONSET)[0])
    assert np.array_equal(rate[:, : onset + 1], np.zeros((3, onset + 1, 1)))
    assert_allclose(rate[0, onset + 1, 0], np.expm1(699.0) / 699.0, rtol=1e-12)
    assert np.array_equal(first_divergence(rate, TIMES, 1e6), np.full(3, TIMES[onset + 1]))

    # A rotating pair (eigenvalues 1000 +- 0.5i) and a defective one (a Jordan block at 1000).
    weights = np.array([[[1000.0, 1.0], [-0.25, 1000.0]], [[1000.0, 1.0], [0.0, 1000.0]]])
    rate = solve(weights, np.full(2, 1e-3), np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert np.array_equal(rate[:, : onset + 1], np.zeros((2, onset + 1, 2)))
    assert np.array_equal(first_divergence(rate, TIMES, 1e6), np.full(2, TIMES[onset + 1]))
