"""The transfer functions f of tau dv/dt = -v + f(M v + h)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from pipeline.model.transfer import LINEAR, Transfer

X = np.linspace(-5.0, 5.0, 101)


@pytest.mark.parametrize("name", ["tanh", "clip"])
def test_saturating_transfer_is_linear_near_zero_and_saturates_at_the_ceiling(name):
    """Slope 1 at the origin; |f| never exceeds the ceiling and reaches it far out."""
    f = Transfer(name, ceiling=2.0)
    small = np.array([-1e-6, 1e-6])
    assert_allclose(f(small), small, rtol=1e-9)
    assert np.all(np.abs(f(X)) <= 2.0)
    assert_allclose(f(np.array([-100.0, 100.0])), [-2.0, 2.0], rtol=1e-12)


@pytest.mark.parametrize("transfer", [LINEAR, Transfer("tanh", 1.5), Transfer("clip", 1.5)])
def test_transfer_is_odd(transfer):
    """f(-x) = -f(x): a memory of a negative input mirrors that of a positive one."""
    assert_allclose(transfer(-X), -transfer(X), rtol=0, atol=0)


def test_tanh_and_clip_formulas():
    """tanh: c tanh(x/c); clip: min(max(x, -c), c)."""
    assert_allclose(Transfer("tanh", 3.0)(X), 3.0 * np.tanh(X / 3.0), rtol=1e-15)
    assert_allclose(Transfer("clip", 3.0)(X), np.minimum(np.maximum(X, -3.0), 3.0), rtol=0)
    assert LINEAR(X) is X


def test_unknown_transfer_and_bad_ceiling_are_refused():
    with pytest.raises(ValueError, match="sigmoid"):
        Transfer("sigmoid", 1.0)
    with pytest.raises(ValueError, match="ceiling"):
        Transfer("tanh", 0.0)
