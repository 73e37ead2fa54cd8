"""A block's results depend only on its points, never on how the sweep is cut."""

from __future__ import annotations

import numpy as np
import pytest
from sweeps import PAIR, compose_config

from pipeline.block import simulate_block
from pipeline.grid import Grid, block_shape, blocks
from pipeline.run.plan import block_spec


@pytest.mark.parametrize("points_per_block", [1, 4, 11, 16])
def test_blocks_equal_the_whole_grid_bit_for_bit(points_per_block):
    """Every variable of every block equals the same points computed as one block."""
    config = compose_config(PAIR)
    grid = Grid.from_config(config.sweep.grid)
    whole = simulate_block(block_spec(config), grid, tuple(slice(None) for _ in grid.dims))
    assert {1, 2} <= set(np.unique(whole.status.values))  # ok and diverged points both occur
    for block in blocks(grid.shape, block_shape(grid.shape, points_per_block)):
        part = simulate_block(block_spec(config), grid, block.slices)
        expected = whole.isel(block.region(grid.dims))
        for name, var in part.data_vars.items():
            assert var.dtype == expected[name].dtype, name
            assert np.array_equal(var.values, expected[name].values, equal_nan=True), (
                f"{name} differs in block {block.index}"
            )
