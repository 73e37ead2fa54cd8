"""Chunk files: data before status, every chunk written, same bytes twice, read back equal."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from store_helpers import block_arrays, block_of, config, file_bytes, file_ids

from pipeline.block import simulate_block
from pipeline.run.plan import plan_run
from pipeline.store import chunks, lifecycle
from pipeline.store.status import STATUS


def _created(path: Path, *overrides: str):
    plan = plan_run(config(path, *overrides))
    assert lifecycle.prepare(path, plan.full, plan.encodings, plan.attrs, False) == "created"
    return plan


def test_block_writes_data_chunks_then_status_and_every_chunk(tmp_path: Path, monkeypatch):
    """All of a block's chunks reach the disk, even all-NaN ones, and status comes last."""
    path = tmp_path / "s.zarr"
    plan = _created(path)
    block = plan.layout.blocks()[0]  # lam -2 .. 0.25: no integrator, ramp_slope all NaN
    ds = simulate_block(plan.spec, plan.grid, block.slices)
    assert np.isnan(ds["ramp_slope"].values).all()
    written = []
    original = chunks._replace_file

    def recording_put(target, data):
        written.append(target.relative_to(path).as_posix())
        return original(target, data)

    monkeypatch.setattr(chunks, "_replace_file", recording_put)
    chunks.write_block(path, ds, plan.grid.dims, block)
    arrays = block_arrays(path, plan.grid.dims)
    assert {"rate", "ramp_slope", "gain", "status", "diverged_at"} <= arrays | {"status"}
    assert written[-1] == "status/0.0"
    assert sorted(written[:-1]) == sorted(
        f"{name}/{'.'.join(['0'] * len(ds[name].dims))}" for name in arrays - {"status"}
    )
    with xr.open_zarr(path, consolidated=False) as back:
        got = back.isel(lam=block.slices[0], tau=block.slices[1]).load()
    for name in arrays:
        np.testing.assert_array_equal(got[name].values, ds[name].transpose(*got[name].dims).values)


def test_writing_a_block_twice_gives_identical_bytes(tmp_path: Path):
    """A task that Dask runs twice (or two drivers) rewrites the same bytes."""
    path = tmp_path / "s.zarr"
    plan = _created(path)
    block = plan.layout.blocks()[1]
    chunks.write_block(
        path, simulate_block(plan.spec, plan.grid, block.slices), plan.grid.dims, block
    )
    first, first_ids = file_bytes(path), file_ids(path)
    chunks.write_block(
        path, simulate_block(plan.spec, plan.grid, block.slices), plan.grid.dims, block
    )
    second, second_ids = file_bytes(path), file_ids(path)
    arrays = block_arrays(path, plan.grid.dims) | {"status"}
    rewritten = [k for k in first if block_of(k, 2, arrays) == (1, 0)]
    assert len(rewritten) == len(arrays)
    assert all(first_ids[k] != second_ids[k] for k in rewritten)  # really written again
    assert first == second


DIRECT = getattr(os, "O_DIRECT", 0)


@pytest.mark.parametrize("refused", [None, "open", "write"])
@pytest.mark.parametrize(
    "size", [chunks.FLUSHED_BYTES - 1, chunks.FLUSHED_BYTES + 7, 2 * chunks.FLUSHED_BYTES]
)
def test_chunk_file_reads_back_byte_for_byte_whichever_way_it_was_written(
    tmp_path: Path, monkeypatch, size: int, refused: str | None
):
    """Trajectory chunks go past the page cache (O_DIRECT), padded to whole blocks
    and cut back; where the file system refuses that, through the page cache."""
    if refused and not DIRECT:
        pytest.skip("no O_DIRECT on this system")
    opened_direct = []
    open_file, write_file = os.open, os.write

    def spy_open(path, flags, *args):
        if flags & DIRECT:
            opened_direct.append(path)
            if refused == "open":
                raise OSError(errno.EINVAL, "Invalid argument", str(path))
        return open_file(path, flags, *args)

    def refusing_write(fd, data):
        if refused == "write" and opened_direct:
            raise OSError(errno.EINVAL, "Invalid argument")
        return write_file(fd, data)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "write", refusing_write)
    data = np.random.default_rng(size).bytes(size)
    target = tmp_path / "0.0"
    chunks._replace_file(target, data)
    assert target.read_bytes() == data
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left
    assert len(opened_direct) == (1 if DIRECT and size >= chunks.FLUSHED_BYTES else 0)


def test_an_unencoded_chunk_is_written_as_its_bytes(tmp_path: Path):
    """With compression off a chunk is the array itself, not bytes."""
    values = np.linspace(0, 1, chunks.FLUSHED_BYTES // 8 + 3)
    target = tmp_path / "0"
    chunks._replace_file(target, values)
    assert np.array_equal(np.frombuffer(target.read_bytes(), float), values)


def test_failed_block_has_status_and_no_data(tmp_path: Path):
    path = tmp_path / "s.zarr"
    plan = _created(path)
    block = plan.layout.blocks()[2]
    chunks.write_status(path, plan.grid.dims, block, STATUS["failed"])
    status = chunks.read_status(path)
    assert (status[block.slices] == STATUS["failed"]).all()
    assert (np.delete(status, np.arange(8, 12), axis=0) == STATUS["pending"]).all()
    assert not (path / "rate" / "2.0.0.0").exists()
