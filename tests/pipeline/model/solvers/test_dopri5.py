"""The Dormand-Prince 5(4) solver: within its tolerance of Radau, adaptive, exact at kinks."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from references import clip_autapse, radau_rates

from pipeline.model.solvers.dopri5 import dopri5_rate
from pipeline.model.solvers.exact import exact_rate
from pipeline.model.solvers.rk4 import rk4_rate
from pipeline.model.solvers.schedule import System
from pipeline.model.stimulus import step_inputs
from pipeline.model.transfer import Transfer

TIMES = np.linspace(0.0, 0.4, 401)


def _networks(transfer):
    """Autapses (beside an uncoupled neuron) that forget (lam < 1) and remember (lam > 1), and
    two coupled pairs, one of them non-symmetric."""
    autapses = [np.diag([lam, 0.2]) for lam in (0.5, 0.9, 1.5, 3.0)]
    pairs = [np.array([[0.0, 1.4], [1.4, 0.0]]), np.array([[0.3, -1.2], [0.8, 1.1]])]
    weights = np.stack(autapses + pairs)
    h = np.array([[2.0, 0.5], [-1.5, 0.3], [0.7, -0.2], [-2.0, 1.0], [1.0, 0.3], [-0.6, 1.6]])
    tau = np.array([0.01, 0.02, 0.005, 0.01, 0.02, 0.01])
    inputs, switches = step_inputs(h, 0.05, 0.0735)  # the offset falls between two samples
    return System.of(weights, tau, inputs, switches, transfer=transfer)


@pytest.mark.parametrize("name", ["tanh", "clip"])
@pytest.mark.parametrize(("rtol", "atol"), [(1e-6, 1e-9), (1e-8, 1e-11)])
def test_dopri5_is_within_its_tolerance_of_radau(name, rtol, atol):
    """Every recorded rate within ``atol + rtol max|v|`` of Radau at rtol 1e-10 (``max|v|``
    over the neuron's trajectory: where ``v`` crosses 0, the error carried from where it was
    large is measured against the largest ``|v|``), and every point's estimate at most 1."""
    system = _networks(Transfer(name, 1.0))
    solution = dopri5_rate(system, TIMES, rtol=rtol, atol=atol)
    reference = radau_rates(system, TIMES)
    assert np.abs(reference).max() > 0.5  # the saturation is reached
    _assert_within(solution.rate, reference, rtol, atol)
    assert (solution.error <= 1).all()


def _assert_within(rate, reference, rtol, atol):
    size = np.abs(reference).max(axis=1, keepdims=True)
    assert (np.abs(rate - reference) <= atol + rtol * size).all()


def test_dopri5_of_the_linear_model_matches_the_exact_solution_across_switches_off_the_grid():
    """With f(x) = x and switches between samples, within 1e-9 of the closed form."""
    system = _networks(Transfer())
    system = System.of(system.weights * 0.5, system.tau, system.inputs, system.switch_times)
    exact = exact_rate(system, TIMES)
    rate = dopri5_rate(system, TIMES, rtol=1e-10, atol=1e-13).rate
    assert_allclose(rate, exact, rtol=0, atol=1e-9 * np.abs(exact).max())


def test_step_size_control_takes_fewer_steps_where_the_solution_is_smooth():
    """Recorded every 50 ms: at rest a point takes one step per recording interval (plus the
    first steps that grow from tau/1000); a slow point (tau 0.5 s) far fewer steps than a fast
    one (tau 0.005 s), and both far fewer than fixed steps of the fast one's shortest step."""
    times = np.linspace(0.0, 1.0, 21)
    inputs, switches = step_inputs(np.array([[0.0], [2.0], [2.0]]), 0.05, 0.07)
    weights = np.full((3, 1, 1), 2.0)
    system = System.of(weights, np.array([0.005, 0.5, 0.005]), inputs, switches,
                       transfer=Transfer("tanh", 1.0))  # fmt: skip
    solution = dopri5_rate(system, times)
    at_rest, slow, fast = solution.steps
    # 21 pieces (the offset splits one interval), and 4 more while the first step grows.
    assert at_rest == 21 + 4
    assert slow < fast / 2
    assert fast < 200
    reference = radau_rates(system, times)
    _assert_within(solution.rate, reference, 1e-6, 1e-9)


@pytest.mark.parametrize(("lam", "h"), [(0.5, 0.8), (1.5, 0.3)])
def test_dopri5_steps_to_the_kink_of_the_clip(lam, h):
    """Across the clip's kink, within 1e-11 of the closed form at rtol 1e-10 (a step that
    straddles the kink would be 2nd-order there), sign-flipped input, sign-flipped rates."""
    tau, onset, offset = 0.02, 0.05, 0.25
    times = np.linspace(0.0, 0.4, 401)
    inputs, switches = step_inputs(np.array([[h], [-h]]), onset, offset)
    weights = np.full((2, 1, 1), lam)
    system = System.of(weights, np.full(2, tau), inputs, switches, transfer=Transfer("clip", 1.0))
    rate = dopri5_rate(system, times, rtol=1e-10, atol=1e-13).rate
    expected = clip_autapse(lam, h, tau, onset, offset, times)
    assert np.abs(rate[0, :, 0] - expected).max() < 1e-11
    assert_allclose(rate[1, :, 0], -rate[0, :, 0], rtol=0, atol=1e-15)


def test_max_step_bounds_the_steps():
    """``max_step`` caps every step: at a tenth of the recording step, ten per interval."""
    inputs, switches = step_inputs(np.array([[0.0]]), 0.05, 0.07)
    system = System.of(np.ones((1, 1, 1)), np.ones(1), inputs, switches)
    assert dopri5_rate(system, TIMES, max_step=1e-4).steps[0] == 10 * (len(TIMES) - 1)


def test_rk4_error_estimate_flags_a_step_as_long_as_tau():
    """rk4 at step tau (the issue's case) estimates an error far above its tolerance; at
    tau/100 far below it, and then its rates are within that tolerance of Radau."""
    system = _networks(Transfer("tanh", 1.0))
    coarse = rk4_rate(system, TIMES, max_step=5e-3)
    fine = rk4_rate(system, TIMES, max_step=5e-5)
    assert (coarse.error > 1).all()
    assert (fine.error < 0.1).all()
    reference = radau_rates(system, TIMES)
    _assert_within(fine.rate, reference, 1e-6, 1e-9)


def test_overflow_gives_non_finite_rates_and_the_estimate_of_the_finite_part():
    """A linear runaway (lam = 50) overflows: inf/NaN rates, no hang, no warning; its
    estimate covers the steps before (the point is diverged after)."""
    inputs, switches = step_inputs(np.ones((1, 1)), 0.05, 0.25)
    system = System.of(np.full((1, 1, 1), 50.0), np.full(1, 0.01), inputs, switches)
    solution = dopri5_rate(system, TIMES)
    assert np.isfinite(solution.rate[0, :60]).all()
    assert not np.isfinite(solution.rate[0, -1]).all()
    assert 0 < solution.error[0] <= 1
