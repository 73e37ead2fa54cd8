"""The summary streams: read slab by slab, it says exactly what the whole store in memory says."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from store_helpers import config
from sweeps import PAIR

from analysis.summary import Tally, Where, _values, summarize, tally
from pipeline.run.execute import run_sweep


@pytest.mark.parametrize(
    ("sweep", "unmeasured"),
    [
        # Integrator, runaway (diverged) and undriven modes; the worst error on an inner dim.
        ((*PAIR, "store.chunk_points=7"), True),
        # Input epochs as an inner dimension, many blocks along a 5-value seed.
        (("+sweep=spectrum", "sweep.grid.seed=[0,1,2,3,4]", "store.chunk_points=1"), False),
    ],
)
def test_streamed_summary_equals_the_summary_of_the_whole_store_in_memory(
    tmp_path: Path, sweep, unmeasured
):
    path = tmp_path / "s.zarr"
    result = run_sweep(config(path, sweep=sweep))
    with xr.open_zarr(path, chunks=None) as lazy:
        in_memory = summarize(lazy.load(), result.counts, points=10**9)  # one slab: all of it
    with xr.open_zarr(path, chunks=None) as lazy:
        assert lazy["status"].encoding["chunks"][0] < lazy.sizes[lazy["status"].dims[0]]
        # The blocks' own tallies, combined as the tasks finished, need no read at all.
        assert result.tally is not None
        streamed = [summarize(lazy, result.counts, result.tally)]
        for points in (1, 10, 50):  # read back one row of blocks per slab, and more
            streamed.append(summarize(lazy, result.counts, points=points))
    for summary in streamed:
        assert summary.lines == in_memory.lines
        assert summary.verdict == in_memory.verdict
    assert any(line.startswith("diverged") for line in in_memory.lines) == unmeasured
    assert any("not measurable" in line for line in in_memory.lines) == unmeasured


def test_tallies_combine_in_any_order_to_the_same_tally(tmp_path: Path):
    """Blocks finish in any order: every order of combining gives the same lines."""
    path = tmp_path / "s.zarr"
    result = run_sweep(config(path, sweep=(*PAIR, "store.chunk_points=7")))
    with xr.open_zarr(path, chunks=None) as ds:
        status = ds["status"]
        sizes = dict(zip(status.dims, status.shape, strict=True))
        first = status.dims[0]
        parts = [
            tally(
                ds.isel({first: slice(i, i + 1)}).load(),
                {**dict.fromkeys(sizes, 0), first: i},
                sizes,
            )
            for i in range(sizes[first])
        ]
        orders = [parts, parts[::-1], parts[1::2] + parts[::2]]
        lines = [
            summarize(ds, result.counts, functools.reduce(Tally.combine, o)).lines for o in orders
        ]
    assert lines[0] == lines[1] == lines[2]


def test_values_are_printed_to_the_digits_that_tell_them_apart():
    """0.9999, 1 and 1.0001 at 4 digits would all read 1; 5 digits tell them apart."""
    values = np.array([1.0001, 0.9999, 1.0, 2.0])
    assert _values(values, np.array([True, True, True, False])) == "0.9999, 1, 1.0001"
    assert _values(np.array([0.5, 0.25]), np.array([True, True])) == "0.25, 0.5"


def test_a_value_a_hair_from_one_is_not_printed_as_one():
    """0.9999999 beside 0.5 is told apart at 4 digits already, but reads as 1 there,
    the integrator's eigenvalue: each value gets the digits that give it back exactly."""
    both = np.array([True, True])
    assert _values(np.array([0.5, 0.9999999]), both) == "0.5, 0.9999999"
    assert _values(np.array([2 / 3, 1.0]), both) == "0.6666666666666666, 1"
    # Round values keep their short form, without an exponent below 10^4.
    assert _values(np.array([50.0, 1e8]), both) == "50, 1e+08"


def test_a_list_of_points_that_is_not_every_combination_says_how_many_it_is():
    """Diverged at (w=2, tau=0.1) and (w=3, tau=0.2) only: 2 of the 4 combinations named."""
    coords = {"w": np.array([1.0, 2.0, 3.0]), "tau": np.array([0.1, 0.2])}
    mask = np.array([[False, False], [True, False], [False, True]])
    where = Where.of(mask, ["w", "tau"], {"w": 0, "tau": 0}, {"w": 3, "tau": 2})
    assert where.describe(coords, count=2) == "w=2, 3, every tau (2 of these 4 points)"
    rows = np.array([[True, True], [False, False], [True, True]])  # every combination it names
    product = Where.of(rows, ["w", "tau"], {"w": 0, "tau": 0}, {"w": 3, "tau": 2})
    assert product.describe(coords, count=4) == "w=1, 3, every tau"
