"""A block's results depend only on its points, never on how the sweep is cut."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import compose_config

from pipeline.simulate import simulate_block
from pipeline.sweep import Grid, block_shape, blocks

PAIR = [
    "+sweep=autapse",
    "network=pair",
    "~sweep.grid.lam",
    # 1.0: an integrator mode; 1.3: a runaway mode that passes the bound for short tau.
    "+sweep.grid.coupling=[-0.9,-0.5,0,0.5,0.8,1.0,1.3]",
    # pi/4 and 3 pi/4 lie along the eigenvectors: one mode is not driven.
    "+sweep.grid.input_angle=[0,0.3,0.7853981633974483,2.0,2.356194490192345]",
    "sweep.grid.tau=[0.02,0.05,0.1]",
    "solver.divergence_bound=50",
]


@pytest.mark.parametrize("points_per_block", [1, 4, 11, 16])
def test_blocks_equal_the_whole_grid_bit_for_bit(points_per_block):
    """Every variable of every block equals the same points computed as one block."""
    config = compose_config(PAIR)
    grid = Grid.from_config(config.sweep.grid)
    whole = simulate_block(config, grid, tuple(slice(None) for _ in grid.dims))
    assert {1, 2} <= set(np.unique(whole.status.values))  # ok and diverged points both occur
    for block in blocks(grid.shape, block_shape(grid.shape, points_per_block)):
        part = simulate_block(config, grid, block.slices)
        expected = whole.isel(block.region(grid.dims))
        for name, var in part.data_vars.items():
            assert var.dtype == expected[name].dtype, name
            assert np.array_equal(var.values, expected[name].values, equal_nan=True), (
                f"{name} differs in block {block.index}"
            )
