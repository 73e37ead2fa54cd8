"""A store's life: created whole or not at all, overwritten or resumed, as xarray would write it."""

from __future__ import annotations

import json
from pathlib import Path

import dask.array
import pytest
import xarray as xr
from store_helpers import config
from sweeps import SWEEPS

from pipeline.run.plan import plan_run
from pipeline.store import durable, lifecycle
from pipeline.store.kinds import open_sweep_store as S


class _Stop(Exception):
    pass


def test_new_store_appears_whole_and_a_killed_creation_leaves_only_a_hidden_sibling(
    tmp_path: Path, monkeypatch
):
    path = tmp_path / "s.zarr"
    plan = plan_run(config(path))
    calls = []
    original = durable.put

    def failing_put(target, data):
        calls.append(target)
        if len(calls) == 20:
            raise _Stop  # stands in for a kill half-way through creation
        return original(target, data)

    monkeypatch.setattr(durable, "put", failing_put)
    with pytest.raises(_Stop):
        lifecycle.prepare(S(path), plan.template, False)
    assert all(c.is_relative_to(tmp_path) and not c.is_relative_to(path) for c in calls)
    assert not path.exists()
    monkeypatch.setattr(durable, "put", original)
    # What a SIGKILL would leave (the finally clause cannot run then):
    (tmp_path / ".s.zarr.creating-0123456789ab" / "rate").mkdir(parents=True)
    assert lifecycle.prepare(S(path), plan.template, False) == "created"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]
    assert lifecycle.root_attrs(S(path))["fingerprint"] == plan.attrs["fingerprint"]


def test_overwrite_replaces_another_config_but_resumes_the_same(tmp_path: Path):
    path = tmp_path / "s.zarr"
    plan = plan_run(config(path))
    assert lifecycle.prepare(S(path), plan.template, False) == "created"
    marker = path / "rate" / "marker"
    marker.write_text("from the old store")
    assert lifecycle.prepare(S(path), plan.template, True) == "resumed"
    assert marker.exists()
    other = plan_run(config(path, "stimulus.amplitude=2"))
    assert lifecycle.prepare(S(path), other.template, True) == "overwritten"
    assert not marker.exists()
    assert lifecycle.root_attrs(S(path))["fingerprint"] == other.attrs["fingerprint"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]


def _contents(path: Path) -> dict[str, object]:
    """Every file of a Zarr store: metadata parsed, chunks as bytes."""
    return {
        f.relative_to(path).as_posix(): json.loads(f.read_text())
        if f.name.startswith(".z") or f.name == "zarr.json"
        else f.read_bytes()
        for f in path.rglob("*")
        if f.is_file()
    }


# xarray consolidates v3 metadata as the pipeline does, and zarr warns that v3 does not specify it.
@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
@pytest.mark.parametrize("zarr_format", [3, 2])
@pytest.mark.parametrize("sweep", SWEEPS)
def test_created_store_is_what_xarray_writes(tmp_path: Path, sweep: str, zarr_format: int):
    """Arrays the blocks fill are created through zarr, exactly as ``to_zarr`` would create them;
    the coordinates and other arrays are written whole, every chunk.  In Zarr v3 strings are
    stored as variable-length UTF-8, the string type the v3 specification has."""
    path, reference = tmp_path / "s.zarr", tmp_path / "reference.zarr"
    cfg = config(path, f"store.zarr_format={zarr_format}", sweep=(f"+sweep={sweep}",))
    plan = plan_run(cfg)
    lifecycle.prepare(S(path), plan.template, False)
    lazy = plan.full.copy()
    for name, var in plan.full.variables.items():
        if name in plan.full.data_vars and set(plan.grid.dims) <= set(var.dims):
            zeros = dask.array.zeros(var.shape, dtype=var.dtype, chunks=-1)
            lazy[name] = xr.Variable(var.dims, zeros, var.attrs)
        elif var.dtype.kind == "U" and zarr_format == 3:
            lazy[name] = var.astype(object)
    lazy.attrs = dict(plan.attrs)
    lazy.to_zarr(
        reference,
        compute=False,
        zarr_format=zarr_format,
        consolidated=True,
        encoding=plan.encodings,
        write_empty_chunks=True,
    )
    assert _contents(path) == _contents(reference)
