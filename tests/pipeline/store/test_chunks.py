"""A block's chunks: data before status, every chunk written, same bytes twice, read back equal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from store_helpers import block_arrays, block_of, chunk_file, config, file_bytes, file_ids

from pipeline.adapters import zarr as zarr_adapter
from pipeline.block import simulate_block
from pipeline.run.plan import plan_run
from pipeline.store import chunks, durable, lifecycle
from pipeline.store.kinds import open_sweep_store
from pipeline.store.kinds import open_sweep_store as S
from pipeline.store.status import STATUS


def _created(path: Path, *overrides: str):
    plan = plan_run(config(path, *overrides))
    created = lifecycle.prepare(S(path), plan.template, False)
    assert created == "created"
    return plan, chunks.block_arrays(open_sweep_store(path).zarr_store(), plan.grid.dims)


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_block_writes_data_chunks_then_status_and_every_chunk(
    tmp_path: Path, monkeypatch, zarr_format: int
):
    """All of a block's chunks reach the disk, even all-NaN ones, and status comes last."""
    path = tmp_path / "s.zarr"
    plan, arrays = _created(path, f"store.zarr_format={zarr_format}")
    block = plan.layout.blocks()[0]  # lam -2 .. 0.25: no integrator, ramp_slope all NaN
    ds = simulate_block(plan.spec, plan.grid, block.slices)
    assert np.isnan(ds["ramp_slope"].values).all()
    written = []
    original = durable.put

    def recording_put(target, data):
        written.append(target)
        return original(target, data)

    monkeypatch.setattr(durable, "put", recording_put)
    chunks.write_block(arrays, ds, plan.grid.dims, block)
    names = block_arrays(path, plan.grid.dims)
    assert {"rate", "ramp_slope", "gain", "status", "diverged_at"} <= names
    assert written[-1] == chunk_file(path, "status", (0, 0))
    assert sorted(written[:-1]) == sorted(
        chunk_file(path, name, (0,) * ds[name].ndim) for name in names - {"status"}
    )
    with xr.open_zarr(path, consolidated=False) as back:
        got = back.isel(lam=block.slices[0], tau=block.slices[1]).load()
    for name in names:
        np.testing.assert_array_equal(got[name].values, ds[name].transpose(*got[name].dims).values)


def test_writing_a_block_twice_gives_identical_bytes(tmp_path: Path):
    """A task that Dask runs twice (or two drivers) rewrites the same bytes."""
    path = tmp_path / "s.zarr"
    plan, arrays = _created(path)
    block = plan.layout.blocks()[1]
    ds = simulate_block(plan.spec, plan.grid, block.slices)
    chunks.write_block(arrays, ds, plan.grid.dims, block)
    first, first_ids = file_bytes(path), file_ids(path)
    chunks.write_block(arrays, ds, plan.grid.dims, block)
    second, second_ids = file_bytes(path), file_ids(path)
    names = block_arrays(path, plan.grid.dims)
    rewritten = [k for k in first if block_of(k, 2, names) == (1, 0)]
    assert len(rewritten) == len(names)
    assert all(first_ids[k] != second_ids[k] for k in rewritten)  # really written again
    assert first == second


def test_failed_block_has_status_and_no_data(tmp_path: Path):
    path = tmp_path / "s.zarr"
    plan, arrays = _created(path)
    block = plan.layout.blocks()[2]
    chunks.write_status(arrays, plan.grid.dims, block, STATUS["failed"])
    status = chunks.read_status(open_sweep_store(path).zarr_store(read_only=True))
    assert (status[block.slices] == STATUS["failed"]).all()
    assert (np.delete(status, np.arange(8, 12), axis=0) == STATUS["pending"]).all()
    assert not chunk_file(path, "rate", (2, 0, 0, 0)).exists()


@pytest.mark.parametrize("which", ["first", "last"])
def test_a_chunk_put_in_the_task_thread_has_the_bytes_zarr_writes(
    tmp_path: Path, monkeypatch, which: str
):
    """A whole chunk encoded by its codecs in the task's thread (v3 on a local store) is
    byte for byte what zarr's own ``setitem`` writes; the smaller block at the grid's edge
    goes through ``setitem`` itself."""
    ours, theirs = tmp_path / "ours.zarr", tmp_path / "theirs.zarr"
    plan, arrays = _created(ours, "store.chunk_points=12")
    _, plain = _created(theirs, "store.chunk_points=12")
    blocks = plan.layout.blocks()
    block = blocks[0] if which == "first" else blocks[-1]
    whole = block.shape == plan.layout.chunks
    assert whole == (which == "first")  # 39 points in blocks of 12: the last has 3
    ds = simulate_block(plan.spec, plan.grid, block.slices)
    through_zarr = []
    write_regions = zarr_adapter.write_regions

    def recording_write(writes):
        through_zarr.extend(array.basename for array, _, _ in writes)
        write_regions(writes)

    monkeypatch.setattr(zarr_adapter, "write_regions", recording_write)
    chunks.write_block(arrays, ds, plan.grid.dims, block)
    in_thread = whole and zarr_adapter.SYNC_ENCODE  # RATE_SWEEPS_ADAPTERS=off: all via zarr
    assert through_zarr == ([] if in_thread else [*(n for n in arrays if n != "status"), "status"])
    for name, array in plain.items():
        selection = tuple(
            block.region(plan.grid.dims).get(d, slice(None)) for d in chunks.dimension_names(array)
        )
        array[selection] = ds.variables[name].transpose(*chunks.dimension_names(array)).values
    index = (*block.index, 0, 0, 0)
    for name, array in arrays.items():
        key = array.metadata.encode_chunk_key(index[: array.ndim])
        assert (ours / name / key).read_bytes() == (theirs / name / key).read_bytes(), name
