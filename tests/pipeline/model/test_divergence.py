"""When a point diverges: past solver.divergence_factor times its own scale."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_array_equal
from sweeps import simulate_sweep

from pipeline.model.divergence import divergence_bound

RUNAWAY = ["+sweep=runaway"]


def test_bound_is_the_factor_times_the_longest_input_or_the_ceiling():
    """factor * max(max_epoch |h|, ceiling), |h| the length of the input vector."""
    inputs = np.array([[[0.0, 0.0], [3.0, -4.0], [1.0, 1.0], [0.0, 0.0]]])
    assert_array_equal(divergence_bound(inputs, np.inf, 10.0), [50.0])
    assert_array_equal(divergence_bound(inputs, 8.0, 10.0), [80.0])
    assert_array_equal(divergence_bound(inputs, 2.0, 10.0), [50.0])
    # The length of an input near the largest float stays finite; the bound is capped there.
    huge = np.full((1, 1, 2), 1e300)
    assert_array_equal(divergence_bound(huge, np.inf, 1.0), [np.hypot(1e300, 1e300)])
    assert_array_equal(divergence_bound(huge, np.inf, 1e10), [np.finfo(float).max])


def test_linear_divergence_does_not_read_the_ceiling():
    """network.ceiling is read only by tanh and clip: a linear runaway ignores it."""
    default = simulate_sweep(RUNAWAY)
    assert np.isfinite(default.diverged_at.values).any()
    for ceiling in ("1e3", "1e-3"):
        other = simulate_sweep([*RUNAWAY, f"network.ceiling={ceiling}"])
        assert_array_equal(other.diverged_at.values, default.diverged_at.values)
        assert_array_equal(other.rate.values, default.rate.values)


def test_linear_divergence_scales_with_the_input():
    """v is linear in h, so scaling the input scales the bound with it: diverged_at is the same."""
    default = simulate_sweep(RUNAWAY)
    weak = simulate_sweep([*RUNAWAY, "stimulus.amplitude=1e-3"])
    assert_array_equal(weak.diverged_at.values, default.diverged_at.values)
