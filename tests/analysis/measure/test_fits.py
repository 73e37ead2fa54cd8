"""The geometric-ratio exponential fit: exact for exact data, row by row."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from analysis.measure.fits import exponential_fit, geometric_fit


@pytest.mark.parametrize("ratio", [0.97, 0.5, 1.02, 0.9 * np.exp(0.3j)])
def test_fit_recovers_ratio_and_asymptote(ratio):
    """x_k = x_inf + A r^k gives back r and x_inf (relative 1e-12): decay, growth, rotation."""
    k = np.arange(200)
    x = 3.0 + (-2.0 + 0.5j if np.iscomplexobj(ratio) else -2.0) * ratio**k
    fitted, asymptote, resolved = geometric_fit(x)
    assert_allclose(fitted, ratio, rtol=1e-12)
    if abs(ratio) < 1:
        assert_allclose(asymptote, 3.0, rtol=1e-12)
    assert resolved


def test_non_finite_samples_are_left_out_of_their_row_only():
    """A row that diverges is fitted on its finite samples; the other rows are untouched."""
    k = np.arange(100)
    rows = np.stack([1 - 0.9**k, 2 - 0.8**k])
    clean = geometric_fit(rows)
    broken = rows.copy()
    broken[1, 60:] = np.nan
    fitted = geometric_fit(broken)
    alone = geometric_fit(rows[1, :60])
    assert fitted[0][0] == clean[0][0] and fitted[1][0] == clean[1][0]
    assert fitted[0][1] == alone[0]
    assert_allclose(fitted[0][1], 0.8, rtol=1e-12)


def test_fit_of_a_row_does_not_depend_on_the_rows_beside_it():
    """Bit for bit: a row alone, in a stack, in a slice of a bigger array."""
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(30, 4, 777)), axis=-1)
    whole = geometric_fit(x)
    for index in [(0, 0), (17, 3), (29, 1)]:
        alone = geometric_fit(x[index].copy())
        window = geometric_fit(x[index[0] : index[0] + 1, :, 5:])[0][0, index[1]]
        assert all(a == w[index] for a, w in zip(alone, whole, strict=True))
        assert window == geometric_fit(x[index][5:].copy())[0]


def test_exponential_fit_is_the_same_on_a_lazy_array():
    """A Dask-backed DataArray (a lazily opened store) gives the numpy result bit for bit."""
    k = np.arange(300)
    x = xr.DataArray(np.stack([5 - 0.95**k, 1 + 0.99**k, 0.3 * 1.01**k]), dims=("point", "time"))
    eager = exponential_fit(x)
    lazy = exponential_fit(x.chunk({"point": 1}))
    assert lazy.ratio.chunks is not None
    xr.testing.assert_identical(lazy.compute(), eager)
