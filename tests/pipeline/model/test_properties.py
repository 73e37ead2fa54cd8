"""Invariants of linear networks on generated networks and inputs (hypothesis).

Linearity is what every check relies on: responses superpose and scale
with the input.  The pair network is symmetric under swapping its neurons,
and a saturating network with an odd transfer function answers a negated
input with the negated response.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose
from sweeps import compose_config

from pipeline.block import simulate_block
from pipeline.grid import Grid
from pipeline.model.solvers import SOLVERS, System, solve
from pipeline.model.solvers.exact import exact_rate
from pipeline.model.solvers.rk4 import rk4_rate
from pipeline.model.stimulus import step_inputs
from pipeline.model.transfer import Transfer
from pipeline.run.plan import block_spec

TIMES = np.linspace(0.0, 0.2, 201)
TOLERANCE = 1e-9
"""Linear invariants hold to round-off: 1e-9 of the largest rate."""

finite = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)


@st.composite
def networks_and_inputs(draw, n_inputs: int = 2):
    """A random network of 1-4 neurons, tau, switch times, and ``n_inputs`` input sequences."""
    n = draw(st.integers(1, 4))
    n_epoch = draw(st.integers(1, 3))
    weights = draw(arrays(float, (1, n, n), elements=finite))
    tau = np.array([draw(st.floats(0.01, 0.1))])
    switches = np.sort(draw(arrays(float, n_epoch + 1, elements=st.floats(0.01, 0.19))))
    inputs = [draw(arrays(float, (1, n_epoch, n), elements=finite)) for _ in range(n_inputs)]
    return weights, tau, switches, inputs


def _solve(method, weights, tau, switches, h):
    inputs, _ = step_inputs(h, switches[0], switches[-1])
    # Epochs switch at the drawn (sorted) times rather than at equal shares.
    settings = {"max_step": 2e-4, "rtol": 1e-6, "atol": 1e-9}
    return solve(method, System.of(weights, tau, inputs, switches), TIMES, settings).rate


FIXED_STEPS = sorted(set(SOLVERS) - {"dopri5"})
"""The solvers whose steps do not depend on the solution, so that superposition and scaling
hold to round-off; dopri5's hold to its tolerance (tests/pipeline/model/solvers/test_dopri5.py
compares it with Radau)."""


def _assert_equal_up_to_round_off(actual, expected):
    scale = max(np.abs(expected).max(), np.abs(actual).max(), 1e-300)
    assert_allclose(actual, expected, rtol=0, atol=TOLERANCE * scale)


@settings(max_examples=40, deadline=None)
@given(networks_and_inputs(), st.sampled_from(FIXED_STEPS))
def test_responses_superpose(case, method):
    """v[h1 + h2] = v[h1] + v[h2] for any network and any piecewise-constant inputs."""
    weights, tau, switches, (h1, h2) = case
    both = _solve(method, weights, tau, switches, h1 + h2)
    _assert_equal_up_to_round_off(
        both,
        _solve(method, weights, tau, switches, h1) + _solve(method, weights, tau, switches, h2),
    )


@settings(max_examples=40, deadline=None)
@given(networks_and_inputs(n_inputs=1), st.floats(-10.0, 10.0), st.sampled_from(FIXED_STEPS))
def test_responses_scale_with_the_input(case, factor, method):
    """v[k h] = k v[h]."""
    weights, tau, switches, (h,) = case
    _assert_equal_up_to_round_off(
        _solve(method, weights, tau, switches, factor * h),
        factor * _solve(method, weights, tau, switches, h),
    )


PAIR = block_spec(compose_config(["+sweep=pair"]))


@settings(max_examples=10, deadline=None)
@given(
    st.floats(-0.95, 0.95),
    st.floats(0.0, 2 * np.pi),
    st.floats(0.02, 0.05),
    st.floats(0.1, 10.0),
)
def test_measured_gains_do_not_depend_on_the_input_amplitude(coupling, angle, tau, amplitude):
    """Scaling the input scales the response: every measured gain and tau_eff stays the same."""
    assume(amplitude != 1.0)
    grid = Grid.from_config(
        {
            "coupling": [coupling],
            "input_angle": [angle],
            "tau": [tau],
            "amplitude": [1.0, amplitude],
        }
    )
    ds = simulate_block(PAIR, grid, (slice(None),) * 4)
    for name in ("gain", "tau_eff", "misalignment"):
        unit, scaled = ds[name].isel(amplitude=0), ds[name].isel(amplitude=1)
        assert (unit.isnull() == scaled.isnull()).all()
        assert_allclose(scaled.fillna(0), unit.fillna(0), rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.floats(-0.95, 0.95), st.floats(0.0, 2 * np.pi), st.floats(0.01, 0.1))
def test_pair_network_is_symmetric_under_swapping_its_neurons(coupling, angle, tau):
    """Swapping the neurons maps the input angle theta to pi/2 - theta and swaps the rates."""
    weights = np.array([[[0.0, coupling], [coupling, 0.0]]] * 2)
    h = np.array([[np.cos(angle), np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    inputs, switches = step_inputs(h, 0.05, 0.15)
    rate = exact_rate(System.of(weights, np.full(2, tau), inputs, switches, symmetric=True), TIMES)
    _assert_equal_up_to_round_off(rate[1], rate[0][:, ::-1])


@settings(max_examples=15, deadline=None)
@given(
    st.floats(0.2, 3.0),
    st.floats(-3.0, 3.0),
    st.sampled_from(["tanh", "clip"]),
)
def test_saturating_autapse_answers_a_negated_input_with_the_negated_response(lam, drive, name):
    """f is odd, so v[-h] = -v[h]: the memory of a negative input mirrors a positive one."""
    inputs, switches = step_inputs(np.array([[drive], [-drive]]), 0.05, 0.07)
    system = System.of(
        np.full((2, 1, 1), lam), np.full(2, 0.01), inputs, switches, transfer=Transfer(name, 1.0)
    )
    rate = rk4_rate(system, TIMES, max_step=5e-4).rate
    assert_allclose(rate[1], -rate[0], rtol=0, atol=1e-15)
