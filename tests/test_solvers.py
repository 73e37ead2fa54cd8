"""The exact linear solver against closed forms and an independent ODE solver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from pipeline.solvers import exact_rate, first_divergence
from pipeline.stimulus import step_inputs

TIMES = np.linspace(0.0, 0.5, 501)
ONSET, OFFSET = 0.05, 0.25


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
    rate = exact_rate(
        weights[None], np.array([tau]), inputs, switch_times, TIMES, symmetric=symmetric
    )
    expected = reference_rate(weights, tau, inputs[0], switch_times, TIMES)
    scale = np.abs(expected).max()
    assert_allclose(rate[0], expected, rtol=1e-6, atol=1e-6 * scale)


def test_autapse_step_response_matches_closed_form():
    """v(t) = h/(1-lam) (1 - exp(-(1-lam)(t-onset)/tau)) during the step, then decays."""
    lam = np.array([-2.0, -1.0, 0.0, 0.5, 2 / 3, 0.9, 1.1])
    tau = np.full(lam.size, 0.05)
    inputs, switch_times = step_inputs(np.ones((lam.size, 1)), ONSET, OFFSET)
    rate = exact_rate(lam[:, None, None], tau, inputs, switch_times, TIMES, symmetric=True)[..., 0]

    k = (1 - lam[:, None]) / tau[:, None]
    during = np.clip(TIMES - ONSET, 0, OFFSET - ONSET)
    expected = -np.expm1(-k * during) / (1 - lam[:, None])
    expected = expected * np.exp(-k * np.clip(TIMES - OFFSET, 0, None))
    assert_allclose(rate, expected, rtol=1e-10, atol=1e-13)


def test_integrator_ramps_with_slope_h_over_tau_and_holds():
    """At lam = 1: v = h (t - onset)/tau while the input is on, constant after."""
    tau, h = 0.04, 2.5
    inputs, switch_times = step_inputs(np.array([[h]]), ONSET, OFFSET)
    rate = exact_rate(np.ones((1, 1, 1)), np.array([tau]), inputs, switch_times, TIMES)[0, :, 0]
    expected = h * np.clip(TIMES - ONSET, 0, OFFSET - ONSET) / tau
    assert_allclose(rate, expected, rtol=1e-12, atol=1e-12)


def test_switch_between_samples_is_integrated_exactly():
    """An input that switches between recorded samples still matches the reference."""
    weights = np.array([[0.0, 0.6], [0.6, 0.0]])
    tau = 0.01
    inputs, switch_times = step_inputs(np.array([[1.0, 0.3]]), 0.0503, 0.2517)
    rate = exact_rate(weights[None], np.array([tau]), inputs, switch_times, TIMES, symmetric=True)
    expected = reference_rate(weights, tau, inputs[0], switch_times, TIMES)
    assert_allclose(rate[0], expected, rtol=1e-6, atol=1e-9)


def test_batched_points_equal_points_solved_alone():
    """Solving a batch gives each point exactly what solving it alone gives."""
    lam = np.array([-1.0, 0.3, 0.9, 1.0, 1.2])
    tau = np.array([0.01, 0.02, 0.05, 0.1, 0.2])
    inputs, switch_times = step_inputs(np.ones((lam.size, 1)), ONSET, OFFSET)
    together = exact_rate(lam[:, None, None], tau, inputs, switch_times, TIMES, symmetric=True)
    for b in range(lam.size):
        alone = exact_rate(
            lam[b, None, None, None],
            tau[b : b + 1],
            inputs[b : b + 1],
            switch_times,
            TIMES,
            symmetric=True,
        )
        np.testing.assert_array_equal(together[b], alone[0])


def test_first_divergence_reports_the_first_sample_past_the_bound():
    rate = np.zeros((3, TIMES.size, 2))
    rate[1, 120:, 1] = 2e6
    rate[2, 300:, 0] = np.inf
    at = first_divergence(rate, TIMES, bound=1e6)
    assert np.isnan(at[0])
    assert at[1] == pytest.approx(TIMES[120])
    assert at[2] == pytest.approx(TIMES[300])
