"""Sweeps stream block by block into the store; the store never depends on how.

The in-memory reference is the whole grid computed as one block; every
streamed store must read back equal to it bit for bit, whatever the chunk
size, the number of workers or where they run.
"""

from __future__ import annotations

import dataclasses
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from sweeps import PAIR, compose_config, simulate_sweep

from analysis.checks import run_check
from pipeline.block import simulate_block
from pipeline.config.schema import ConfigError
from pipeline.grid import Grid
from pipeline.run.execute import run_sweep
from pipeline.run.plan import block_spec
from pipeline.store.layout import layout_for

SHORT = [*PAIR, "record.duration=0.3", "stimulus.offset=0.15"]
"""105 points of 301 samples: small enough to run many times."""


def sweep(tmp_path: Path, *overrides: str):
    config = compose_config([*SHORT, f"store.path={tmp_path / 'sweep.zarr'}", *overrides])
    result = run_sweep(config)
    assert result.counts["pending"] == 0 and not result.failures
    stored = xr.open_zarr(result.path)
    assert stored["check"].attrs["verdict"] == result.summary.verdict
    return config, stored


def in_memory(*overrides: str) -> xr.Dataset:
    """The whole sweep as one block, never written anywhere."""
    return simulate_sweep([*SHORT, *overrides])


def assert_same_values(stored: xr.Dataset, expected: xr.Dataset) -> None:
    """Every variable and coordinate equal bit for bit (NaN equal to NaN), with its attributes."""
    assert set(stored.variables) == set(expected.variables)
    for name, var in expected.variables.items():
        read = stored.variables[name]
        # Zarr v3 stores strings as variable-length UTF-8, read back as numpy's StringDType.
        strings = {var.dtype.kind, read.dtype.kind} <= {"U", "T"}
        assert read.dims == var.dims and (read.dtype == var.dtype or strings), name
        assert np.array_equal(read.values, var.values, equal_nan=var.dtype.kind in "fc"), name
        assert _block_attrs(read.attrs) == _block_attrs(var.attrs), name


def _block_attrs(attrs: dict) -> dict:
    """Attributes a block's check gives; the store's ``check`` adds the run's verdict."""
    return {key: value for key, value in attrs.items() if key != "verdict"}


@pytest.mark.parametrize(
    "overrides",
    [
        ["store.chunk_points=1", "cluster.n_workers=2"],
        ["store.chunk_points=7", "cluster.n_workers=1"],
        ["store.chunk_points=13", "cluster.n_workers=2"],
        ["store.chunk_mb=0.1"],
        ["store.chunk_points=105"],
        pytest.param(["cluster=processes", "cluster.n_workers=2", "store.chunk_points=9"],
                     marks=pytest.mark.slow),
        pytest.param(["cluster=distributed", "cluster.n_workers=2", "store.chunk_points=16"],
                     marks=pytest.mark.slow),
    ],
    ids=["1-point-blocks", "odd-blocks-1-worker", "odd-blocks-2-workers", "auto-chunks",
         "one-block", "processes", "distributed"],
)  # fmt: skip
def test_streamed_store_equals_the_in_memory_sweep(tmp_path, overrides):
    """Chunking, worker count and scheduler change nothing in the store, bit for bit."""
    _, stored = sweep(tmp_path, *overrides)
    assert_same_values(stored.load(), in_memory())


def test_every_block_is_one_chunk_of_every_array(tmp_path):
    """Zarr chunks follow the blocks along the sweep dims and are whole along the others."""
    config, stored = sweep(tmp_path, "store.chunk_points=13")
    grid = Grid.from_config(config.sweep.grid)
    probe = simulate_block(block_spec(config), grid, tuple(slice(0, 1) for _ in grid.dims))
    layout = layout_for(grid, probe, config.store.chunk_mb, config.store.chunk_points)
    for name, var in stored.data_vars.items():
        if not set(grid.dims) <= set(var.dims):
            continue
        meta = json.loads((Path(config.store.path) / name / "zarr.json").read_text())
        expected = [dict(zip(grid.dims, layout.chunks, strict=True)).get(d, var.sizes[d])
                    for d in var.dims]  # fmt: skip
        assert meta["chunk_grid"]["configuration"]["chunk_shape"] == expected, name
        assert meta["dimension_names"] == list(var.dims), name


def test_chunks_are_sized_automatically_and_can_be_overridden():
    """A block holds about store.chunk_mb of stored data (half to all of it), or chunk_points."""
    config = compose_config(
        ["+sweep=autapse", "sweep.grid.lam=${linspace:-2,0.9,200}",
         "sweep.grid.tau=${linspace:0.02,0.1,150}", "record.duration=1.0"]
    )  # fmt: skip
    grid = Grid.from_config(config.sweep.grid)
    probe = simulate_block(block_spec(config), grid, (slice(0, 1), slice(0, 1)))
    per_point = sum(v.nbytes for v in probe.data_vars.values() if set(grid.dims) <= set(v.dims))
    layout = layout_for(grid, probe, chunk_mb=32, chunk_points=None)
    block_mb = np.prod(layout.chunks) * per_point / 2**20
    assert 16 <= block_mb <= 32
    assert np.prod(layout_for(grid, probe, chunk_mb=32, chunk_points=150).chunks) == 150


def test_rate_can_be_stored_as_float32(tmp_path):
    """float32 is the float64 trajectory rounded; the theory check ran on float64 all the same."""
    _, stored = sweep(tmp_path, "store.rate_dtype=float32", "store.chunk_points=11")
    expected = in_memory()
    expected["rate"] = expected["rate"].astype(np.float32)
    assert_same_values(stored.load(), expected)


def test_compression_is_on_by_default_and_selectable(tmp_path):
    """lz4 by default; any Blosc codec by name; an unknown one is refused naming the key."""
    config, _ = sweep(tmp_path)
    rate = Path(config.store.path) / "rate"
    codecs = json.loads((rate / "zarr.json").read_text())["codecs"]
    assert codecs[-1]["name"] == "blosc"
    assert (codecs[-1]["configuration"]["cname"], codecs[-1]["configuration"]["shuffle"]) == (
        "lz4",
        "shuffle",
    )
    raw = xr.open_zarr(config.store.path).rate.nbytes
    chunk_files = list(rate.glob("c.*"))
    assert chunk_files  # the sum below covers the chunks
    assert sum(f.stat().st_size for f in chunk_files) < raw
    assert compose_config([*SHORT, "store.compressor=zstd"]).store.compressor == "zstd"
    with pytest.raises(ConfigError, match=r"store\.compressor='snappy'"):
        compose_config([*SHORT, "store.compressor=snappy"])


def test_check_on_the_lazily_loaded_store_reproduces_the_stored_verdicts(tmp_path):
    """The store's check on xr.open_zarr (Dask arrays) gives the stored values bit for bit."""
    config, stored = sweep(tmp_path, "store.chunk_points=8")
    name = stored["check"].attrs["check"]
    lazy = run_check(name, stored, dataclasses.asdict(config.analysis))
    assert lazy["gain"].chunks is not None
    assert_same_values(lazy.compute(), stored[list(lazy.data_vars)].load())


def test_memory_is_bounded_by_the_chunk_not_the_sweep(tmp_path):
    """A sweep of many blocks never holds more than a few of them at once.

    Peak of the memory Python tracks (numpy arrays included) while a sweep
    with 30 MB of rate streams in 1 MB blocks on one worker: below 6 MB.
    """
    config = compose_config(
        ["+sweep=autapse", "sweep.grid.lam=${linspace:-2,0.9,100}",
         "sweep.grid.tau=${linspace:0.02,0.1,40}", "record.duration=1.0",
         "store.chunk_mb=1", "cluster.n_workers=1", f"store.path={tmp_path / 's.zarr'}"]
    )  # fmt: skip
    sweep(tmp_path)  # imports everything a run needs, so that the peak below is data only
    tracemalloc.start()
    try:
        result = run_sweep(config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert xr.open_zarr(result.path).rate.nbytes > 30e6
    assert peak < 6 * 2**20
