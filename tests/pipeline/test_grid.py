"""The grid and its blocks: every point in exactly one block, cut in one place."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.grid import block_shape, block_slices, blocks


@pytest.mark.parametrize(("shape", "per_block"), [((13, 3), 4), ((5, 7, 2), 9), ((1,), 1)])
def test_blocks_cover_every_point_exactly_once(shape, per_block):
    chunks = block_shape(shape, per_block)
    assert np.prod(chunks) <= per_block
    covered = np.zeros(shape, dtype=int)
    for block in blocks(shape, chunks):
        assert block.slices == block_slices(block.index, chunks, shape)
        assert block.shape == covered[block.slices].shape
        covered[block.slices] += 1
    assert (covered == 1).all()


def test_edge_blocks_are_clipped_to_the_grid():
    assert block_slices((3, 0), (4, 3), (13, 3)) == (slice(12, 13), slice(0, 3))
