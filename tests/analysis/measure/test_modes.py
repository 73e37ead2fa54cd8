"""Mode coordinates: the pipeline's inverse and a notebook's are the same numbers."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose
from sweeps import simulate_sweep

from analysis.measure.modes import eigenvector_inverse, mode_activity
from pipeline.model.modes import eigenmodes


def test_a_store_without_the_inverse_gets_the_one_its_block_computed():
    """Bit for bit: re-analysing a store (eigenvectors, no inverse) inverts as the block did."""
    ds = simulate_sweep(["+sweep=pair", "sweep.grid.tau=[0.02]"])
    computed = eigenvector_inverse(ds[["eigenvectors"]]).transpose(..., "mode", "neuron")
    weights = ds["weights"].transpose(..., "neuron", "source").values.reshape(-1, 2, 2)
    in_block = eigenmodes(weights, symmetric=True).inverse
    assert np.array_equal(computed.values.reshape(-1, 2, 2), in_block)


def test_mode_activity_is_phi_inverse_v():
    """c(t) = Phi^-1 v(t): back in neuron space, Phi c = v to round-off."""
    ds = simulate_sweep(["+sweep=pair", "sweep.grid.tau=[0.05]"])
    activity = mode_activity(ds["rate"], eigenvector_inverse(ds[["eigenvectors"]]))
    back = (ds["eigenvectors"] * activity).sum("mode").transpose(*ds["rate"].dims)
    assert_allclose(back.values, ds["rate"].values, atol=1e-12 * float(abs(ds["rate"]).max()))
