"""Step inputs: one pattern, or a sequence of patterns sharing the on period."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from pipeline.model.stimulus import epoch_starts, step_inputs


def test_single_pattern_is_off_on_off():
    h = np.array([[1.0, 2.0], [3.0, 4.0]])
    inputs, switches = step_inputs(h, 0.05, 0.25)
    assert_array_equal(inputs, np.stack([np.zeros_like(h), h, np.zeros_like(h)], axis=1))
    assert_allclose(switches, [0.05, 0.25])


def test_sequence_shares_the_on_period_equally():
    """K patterns: K+2 epochs (off, each pattern, off) switching every (offset-onset)/K."""
    h = np.arange(2 * 4 * 3, dtype=float).reshape(2, 4, 3)
    inputs, switches = step_inputs(h, 0.1, 0.5)
    assert inputs.shape == (2, 6, 3)
    assert_array_equal(inputs[:, 1:5], h)
    assert not inputs[:, [0, 5]].any()
    assert_allclose(switches, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert_allclose(epoch_starts(0.1, 0.5, 4), switches[:-1])
