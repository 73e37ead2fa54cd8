"""The store an analyst opens: what it holds, and that it holds what was computed."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import yaml
from sweeps import compose_config, simulate_sweep

from pipeline.block import simulate_block
from pipeline.grid import Grid
from pipeline.run.execute import run_sweep
from pipeline.run.plan import block_spec
from pipeline.store.status import STATUS

SMALL = ["+sweep=autapse", "sweep.grid.lam=[-1.0,0.5,1.0,1.2]", "sweep.grid.tau=[0.02,0.05]"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A small autapse sweep run through Dask into a store, cut into several blocks."""
    path = tmp_path_factory.mktemp("store") / "autapse.zarr"
    config = compose_config([*SMALL, f"store.path={path}", "store.chunk_points=3"])
    result = run_sweep(config)
    return config, result


def test_store_reads_back_what_was_computed(stored):
    """Every variable in the store equals the same points simulated in memory."""
    config, result = stored
    grid = Grid.from_config(config.sweep.grid)
    expected = simulate_block(block_spec(config), grid, tuple(slice(None) for _ in grid.dims))
    with xr.open_zarr(result.path) as ds:
        assert set(ds.data_vars) == set(expected.data_vars)
        for name in expected.data_vars:
            np.testing.assert_array_equal(
                ds[name].transpose(*expected[name].dims).values,
                expected[name].values,
                err_msg=name,
            )
        for name in expected.coords:
            np.testing.assert_array_equal(ds[name].values, expected[name].values)


def test_store_has_the_dimensions_and_variables_of_the_contract(stored):
    _, result = stored
    with xr.open_zarr(result.path) as ds:
        assert ds["rate"].dims == ("lam", "tau", "time", "neuron")
        assert ds["h"].dims == ("lam", "tau", "neuron")
        assert ds["eigenvalues"].dims == ("lam", "tau", "mode")
        assert ds["eigenvectors"].dims == ("lam", "tau", "neuron", "mode")
        for name in ("gain", "tau_eff", "persistence"):
            assert {"lam", "tau", "mode"} <= set(ds[name].dims)
            assert ds[f"{name}_theory"].dims[:2] == ("lam", "tau")
            assert f"{name}_check" in ds
        assert ds["check"].dims == ("lam", "tau")
        assert ds["status"].dtype == np.int8
        np.testing.assert_array_equal(ds["lam"], [-1.0, 0.5, 1.0, 1.2])
        assert float(ds["gain"].sel(lam=0.5, tau=0.02, mode=0)) == pytest.approx(2.0, rel=1e-3)


def test_every_variable_and_coordinate_has_units_and_long_name(stored):
    _, result = stored
    with xr.open_zarr(result.path) as ds:
        for name, variable in ds.variables.items():
            assert "units" in variable.attrs, name
            assert "long_name" in variable.attrs, name


def test_root_attributes_record_provenance_and_completion(stored):
    _config, result = stored
    with xr.open_zarr(result.path) as ds:
        attrs = ds.attrs
    assert attrs["schema_version"] == 1
    assert attrs["sweep"] == "autapse"
    assert yaml.safe_load(attrs["config"])["sweep"]["grid"]["lam"] == [-1.0, 0.5, 1.0, 1.2]
    assert {"commit", "dirty"} <= set(attrs["code"])
    run = attrs["history"][-1]
    assert {"numpy", "xarray", "zarr", "dask", "hydra-core"} <= set(run["packages"])
    assert run["host"]
    assert run["started"] <= run["finished"]
    assert attrs["run_status"] == "complete"
    assert attrs["point_counts"]["ok"] == 8
    assert result.counts == {"pending": 0, "ok": 8, "diverged": 0, "failed": 0}


def test_blocks_are_zarr_chunks(stored):
    """store.chunk_points=3 on a 4 x 2 grid: blocks of 1 lam x 2 tau (inner dimension first)."""
    _, result = stored
    with xr.open_zarr(result.path) as ds:
        assert ds["rate"].encoding["chunks"][:2] == (1, 2)
        assert ds["status"].encoding["chunks"] == (1, 2)
        assert ds["rate"].encoding["chunks"][2:] == (ds.sizes["time"], 1)
        assert (ds["status"] == STATUS["ok"]).all()


def test_a_stepping_solver_stores_its_error_estimate_per_point(tmp_path):
    """``solver_error`` (sweep dims): the dopri5 run's largest local error over its tolerance,
    at most 1, with the tolerance in its attributes, read back as computed; the exact
    solver, which has no truncation error, stores none."""
    overrides = [
        "+sweep=saturating_memory",
        "sweep.grid.lam=[0.5,2.0]",
        "sweep.grid.tau=[0.01]",
        "record.duration=0.3",
        "solver.rtol=1e-7",
    ]
    config = compose_config([*overrides, f"store.path={tmp_path / 's.zarr'}"])
    result = run_sweep(config)
    grid = Grid.from_config(config.sweep.grid)
    expected = simulate_block(block_spec(config), grid, tuple(slice(None) for _ in grid.dims))
    with xr.open_zarr(result.path) as ds:
        error = ds["solver_error"]
        assert error.dims == ("lam", "amplitude", "tau")
        assert error.attrs["rtol"] == 1e-7 and error.attrs["atol"] == 1e-9
        assert error.attrs["units"] == "1"
        values = error.transpose(*expected["solver_error"].dims).values
        np.testing.assert_array_equal(values, expected["solver_error"].values)
        assert (0 < values).all() and (values <= 1).all()
    assert "solver_error" not in simulate_sweep(SMALL)
