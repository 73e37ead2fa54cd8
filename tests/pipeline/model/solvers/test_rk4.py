"""The rk4 integrator: same interface as the exact solver, error tested against references."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from references import clip_autapse

from pipeline.model.solvers import SOLVERS, System, solve
from pipeline.model.solvers.exact import exact_rate
from pipeline.model.solvers.rk4 import rk4_rate
from pipeline.model.stimulus import step_inputs
from pipeline.model.transfer import Transfer

TIMES = np.linspace(0.0, 0.4, 401)


def _random_networks(rng, n_batch=6, n=3, symmetric=False):
    """Random weights with every eigenvalue's real part below 1 (stable), and step inputs."""
    w = rng.standard_normal((n_batch, n, n)) * 0.4
    if symmetric:
        w = (w + np.swapaxes(w, -1, -2)) / 2
    shift = np.max(np.linalg.eigvals(w).real, axis=-1) - 0.9
    w -= np.where(shift > 0, shift, 0)[:, None, None] * np.eye(n)
    tau = rng.uniform(0.01, 0.05, n_batch)
    h = rng.standard_normal((n_batch, n))
    return w, tau, h


def test_rk4_of_the_linear_model_matches_the_exact_solution():
    """With f(x) = x, rk4 at step 1e-4 s agrees with the exact solver to 1e-9 (relative to max)."""
    rng = np.random.default_rng(1)
    w, tau, h = _random_networks(rng)
    inputs, switches = step_inputs(h, 0.05, 0.25)
    system = System.of(w, tau, inputs, switches)
    exact = exact_rate(system, TIMES)
    approx = rk4_rate(system, TIMES, max_step=1e-4).rate
    assert_allclose(approx, exact, rtol=0, atol=1e-9 * np.abs(exact).max())


def test_rk4_steps_end_on_switch_times_off_the_recording_grid():
    """A switch between two samples is stepped to exactly: still 1e-9 of the exact solution.

    Were a step to straddle the switch, the error would be of the order of
    the step (1e-4 relative), not of its fourth power.
    """
    rng = np.random.default_rng(2)
    w, tau, h = _random_networks(rng, symmetric=True)
    inputs, switches = step_inputs(h, 0.05037, 0.21111)
    system = System.of(w, tau, inputs, switches, symmetric=True)
    exact = exact_rate(system, TIMES)
    approx = rk4_rate(system, TIMES, max_step=2e-4).rate
    assert_allclose(approx, exact, rtol=0, atol=1e-9 * np.abs(exact).max())


def _saturating_memory(transfer, max_step):
    lam = np.array([0.5, 1.5, 2.0, 3.0])
    weights = lam[:, None, None]
    tau = np.full(4, 0.01)
    inputs, switches = step_inputs(np.array([[2.0], [2.0], [-2.0], [2.0]]), 0.05, 0.07)
    times = np.linspace(0.0, 0.3, 301)
    system = System.of(weights, tau, inputs, switches, transfer=transfer)
    return rk4_rate(system, times, max_step=max_step).rate


@pytest.mark.parametrize("name", ["tanh", "clip"])
def test_rk4_error_against_a_much_finer_reference(name):
    """Step 1e-4 s (tau/100) is within 1e-9 Hz of the same method at an 8 times finer step."""
    transfer = Transfer(name, 1.0)
    coarse = _saturating_memory(transfer, 1e-4)
    reference = _saturating_memory(transfer, 1e-4 / 8)
    assert np.abs(coarse - reference).max() < 1e-9


def test_rk4_converges_at_fourth_order_on_a_smooth_model():
    """Halving the step divides the error by about 2^4 = 16 (tanh: smooth right-hand side)."""
    transfer = Transfer("tanh", 1.0)
    reference = _saturating_memory(transfer, 5e-4 / 8)
    errors = [np.abs(_saturating_memory(transfer, step) - reference).max() for step in (1e-3, 5e-4)]
    assert 12 < errors[0] / errors[1] < 20


def test_every_solver_solves_the_same_system():
    """One interface for all: a System, the times and the solver config keys each reads;
    with a linear transfer every solver gives the same rates."""
    rng = np.random.default_rng(3)
    w, tau, h = _random_networks(rng, n_batch=2)
    inputs, switches = step_inputs(h, 0.05, 0.25)
    system = System.of(w, tau, inputs, switches)
    settings = {"method": None, "divergence_factor": 1e6, "max_step": 1e-4}
    settings |= {"rtol": 1e-10, "atol": 1e-12}
    results = [solve(method, system, TIMES, settings).rate for method in SOLVERS]
    for rate in results[1:]:
        assert_allclose(rate, results[0], rtol=0, atol=1e-9 * np.abs(results[0]).max())


def test_exact_solver_refuses_a_saturating_transfer():
    with pytest.raises(ValueError, match="rk4"):
        exact_rate(
            System.of(
                np.zeros((1, 1, 1)),
                np.ones(1),
                np.zeros((1, 3, 1)),
                np.array([0.1, 0.2]),
                transfer=Transfer("tanh", 1.0),
            ),
            TIMES,
        )


def test_rk4_overflow_gives_non_finite_rates_without_raising():
    """A linear runaway (lam = 50) overflows: the rates turn inf/NaN quietly, nothing raises."""
    inputs, switches = step_inputs(np.ones((1, 1)), 0.05, 0.25)
    system = System.of(np.full((1, 1, 1), 50.0), np.full(1, 0.01), inputs, switches)
    rate = rk4_rate(system, TIMES).rate
    assert np.isfinite(rate[0, :60]).all()
    assert not np.isfinite(rate[0, -1]).all()


@pytest.mark.parametrize(("lam", "h"), [(0.5, 0.8), (1.5, 0.3)])
def test_rk4_steps_to_the_kink_of_the_clip(lam, h):
    """Across the clip's kink the error stays at 1e-11 of the closed form (8.3e-8 when a step
    straddled it), and the sign-flipped input gives the sign-flipped rates."""
    tau, onset, offset = 0.02, 0.05, 0.25
    times = np.linspace(0.0, 0.4, 401)
    inputs, switches = step_inputs(np.array([[h], [-h]]), onset, offset)
    weights = np.full((2, 1, 1), lam)
    system = System.of(weights, np.full(2, tau), inputs, switches, transfer=Transfer("clip", 1.0))
    rate = rk4_rate(system, times, max_step=1e-4).rate
    expected = clip_autapse(lam, h, tau, onset, offset, times)
    assert np.abs(rate[0, :, 0] - expected).max() < 1e-11
    assert_allclose(rate[1, :, 0], -rate[0, :, 0], rtol=0, atol=1e-15)
