"""The exact solver against closed forms and an independent integrator."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from pipeline.networks import pair
from pipeline.solvers import exact_rate, first_divergence
from pipeline.stimulus import step_inputs

ONSET, OFFSET = 0.05, 0.25
TIMES = np.linspace(0.0, 0.5, 501)


def step_response(lam: float, tau: float, h: float, times: np.ndarray) -> np.ndarray:
    """Closed form of tau dv/dt = -(1 - lam) v + h on [ONSET, OFFSET], from rest."""
    a = (1 - lam) / tau
    on = np.clip(times, ONSET, OFFSET) - ONSET
    if lam == 1:
        v_on = h * on / tau
    else:
        v_on = h / (1 - lam) * -np.expm1(-a * on)
    return v_on * np.exp(-a * np.clip(times - OFFSET, 0, None))


def reference(weights: np.ndarray, tau: float, h: np.ndarray, times: np.ndarray) -> np.ndarray:
    """solve_ivp (DOP853, rtol 1e-12) epoch by epoch, so that no step straddles a switch."""
    n = len(h)
    v, rows = np.zeros(n), []
    for start, stop, drive in ((0, ONSET, 0 * h), (ONSET, OFFSET, h), (OFFSET, times[-1], 0 * h)):
        solution = solve_ivp(
            lambda t, v, drive=drive: ((weights - np.eye(n)) @ v + drive) / tau,
            (start, stop), v, method="DOP853", rtol=1e-12, atol=1e-14, dense_output=True,
        )  # fmt: skip
        inside = (times >= start) & ((times < stop) | (stop == times[-1]))
        rows.append(solution.sol(times[inside]).T)
        v = solution.y[:, -1]
    return np.concatenate(rows)


def solve(weights, tau, h, times=TIMES, onset=ONSET, offset=OFFSET, symmetric=False):
    inputs, switch_times = step_inputs(h, onset, offset)
    return exact_rate(weights, tau, inputs, switch_times, times, symmetric=symmetric)


@pytest.mark.parametrize("symmetric", [True, False])
def test_autapse_follows_the_closed_form(symmetric):
    """v(t) = h/(1-lam) (1 - exp(-(1-lam) t/tau)) while on, then decays; h t/tau at lam = 1.

    Relative tolerance 1e-12 of the largest |v|.
    """
    lam = np.array([-2.0, -1.0, 0.0, 0.5, 0.9, 1.0, 1.25, 1.5])
    tau = np.array([0.02, 0.05, 0.1, 0.02, 0.1, 0.05, 0.02, 0.05])
    rate = solve(lam[:, None, None], tau, np.full((lam.size, 1), 2.0), symmetric=symmetric)
    for b in range(lam.size):
        expected = step_response(lam[b], tau[b], 2.0, TIMES)
        assert_allclose(rate[b, :, 0], expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_pair_matches_an_independent_integrator():
    """Two coupled neurons: the exact solution and solve_ivp agree to 1e-9 of the peak."""
    rng = np.random.default_rng(3)
    points = {"coupling": rng.uniform(-1.2, 1.2, 6), "input_angle": rng.uniform(0, 2 * np.pi, 6)}
    circuit = pair(points, None)
    tau = rng.uniform(0.02, 0.1, 6)
    rate = solve(circuit.weights, tau, circuit.input_direction, symmetric=True)
    for b in range(6):
        expected = reference(circuit.weights[b], tau[b], circuit.input_direction[b], TIMES)
        assert_allclose(rate[b], expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_rotating_and_defective_networks_match_an_independent_integrator():
    """Complex eigenvalues (turning modes) and a Jordan block (no eigenbasis): 1e-9 of the peak."""
    rng = np.random.default_rng(4)
    weights = np.stack(
        [
            rng.normal(0, 0.6, (3, 3)),
            np.array([[0.5, -1.5, 0.0], [1.5, 0.5, 0.0], [0.0, 0.0, -1.0]]),  # lam = 0.5 +- 1.5i
            np.array([[0.5, 1.0, 0.0], [0.0, 0.5, 1.0], [0.0, 0.0, 0.5]]),  # defective
        ]
    )
    tau = np.array([0.05, 0.02, 0.1])
    h = rng.normal(size=(3, 3))
    rate = solve(weights, tau, h)
    for b in range(3):
        expected = reference(weights[b], tau[b], h[b], TIMES)
        assert_allclose(rate[b], expected, rtol=0, atol=1e-9 * np.abs(expected).max())


def test_input_switch_between_samples():
    """Switches that fall between recording samples are honoured exactly (1e-12 of the peak)."""
    times = np.linspace(0.0, 0.5, 51)  # dt = 10 ms, onset and offset off the grid
    rate = solve(np.array([[[0.5]]]), np.array([0.03]), np.array([[1.0]]), times=times)
    expected = step_response(0.5, 0.03, 1.0, times)
    assert_allclose(rate[0, :, 0], expected, rtol=0, atol=1e-12 * np.abs(expected).max())


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
