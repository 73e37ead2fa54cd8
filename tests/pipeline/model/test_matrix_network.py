"""The ``matrix`` network: any symmetric weights given in the config, checked against theory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from store_helpers import hydra_config

from pipeline.__main__ import execute
from pipeline.config.schema import MatrixNetwork
from pipeline.model.networks import matrix


def test_builder_repeats_the_weights_and_normalises_the_input():
    network = MatrixNetwork(weights=[[0.0, 0.8], [0.8, 0.0]], input_direction=[3.0, 4.0])
    circuit = matrix({"tau": np.array([0.01, 0.02, 0.05])}, network)
    np.testing.assert_array_equal(circuit.weights, np.tile([[0.0, 0.8], [0.8, 0.0]], (3, 1, 1)))
    np.testing.assert_array_equal(circuit.input_direction, np.tile([0.6, 0.8], (3, 1)))


def test_matrix_sweep_measures_the_lecture_pair_gains(tmp_path: Path):
    """Coupling 0.8: gain 1/(1+0.8) on (1,-1)/sqrt2 and 1/(1-0.8) = 5 on (1,1)/sqrt2."""
    outcome = execute(hydra_config(tmp_path / "m.zarr", sweep=("+sweep=matrix",)))
    assert outcome.code == 0, outcome.errors
    with xr.open_zarr(tmp_path / "m.zarr") as ds:
        np.testing.assert_allclose(ds.eigenvalues.values, np.tile([-0.8, 0.8], (2, 1)))
        # the exponential fit is exact for exact trajectories; 1e-3 is analysis.rtol
        np.testing.assert_allclose(ds.gain.values, np.tile([1 / 1.8, 5.0], (2, 1)), rtol=1e-3)
        np.testing.assert_allclose(
            ds.tau_eff.sel(phase="rise").values,
            np.outer(ds.tau.values, [1 / 1.8, 5.0]),
            rtol=1e-3,
        )
