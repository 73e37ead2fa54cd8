"""Steady states ``(I - M)^-1 h`` where ``I - M`` is singular: mode by mode."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from analysis.theory.scenarios import steady_states


def test_a_singular_pair_has_a_steady_state_only_where_the_integrator_is_at_rest():
    """M = [[0, 1], [1, 0]]: eigenvalue 1 on (1, 1), -1 on (1, -1) with gain 1/2.

    h = (1, -1) leaves the integrator at rest: v = h/2.  h = (1, 0) drives it:
    no steady state (NaN).  A stable M is solved as before: (I - M)^-1 h.
    """
    weights = np.array([[[0.0, 1.0], [1.0, 0.0]], [[0.0, 0.5], [0.5, 0.0]]])
    inputs = np.array([[1.0, 1.0], [-1.0, 0.0]])  # columns: h = (1, -1) and h = (1, 0)
    v = steady_states(weights, np.stack([inputs, inputs]))
    assert_allclose(v[0, :, 0], [0.5, -0.5], rtol=1e-15)
    assert np.isnan(v[0, :, 1]).all()
    assert np.array_equal(v[1], np.linalg.solve(np.eye(2) - weights[1], inputs))


def test_a_jordan_block_at_one_has_no_steady_state():
    """M = [[1, 1], [0, 1]] is defective at 1: no eigenbasis, no steady state for any input."""
    v = steady_states(np.array([[[1.0, 1.0], [0.0, 1.0]]]), np.array([[[1.0], [0.0]]]))
    assert np.isnan(v).all()
