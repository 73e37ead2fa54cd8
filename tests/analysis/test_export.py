"""A store exported to netCDF keeps its values, its provenance and its verdict flags."""

from __future__ import annotations

import numpy as np
import xarray as xr
from sweeps import compose_config

from analysis.checks.verdicts import verdict_names
from analysis.export import open_netcdf, to_netcdf
from analysis.load import open_run
from pipeline.run.execute import run_sweep


def plain(attrs):
    """Attributes with numeric arrays as lists (netCDF gives flag_values back as an array)."""
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in attrs.items()}


def test_netcdf_round_trip_keeps_values_and_structured_attributes(tmp_path):
    config = compose_config(["+sweep=pair", f"store.path={tmp_path / 'p.zarr'}"])
    result = run_sweep(config)
    ds = open_run(result.path)
    to_netcdf(ds, tmp_path / "p.nc")
    back = open_netcdf(tmp_path / "p.nc")
    assert set(back.variables) == set(ds.variables)
    for name, variable in ds.variables.items():
        read = back[name]
        assert read.dims == variable.dims, name
        np.testing.assert_array_equal(read.values, variable.values, err_msg=str(name))
        assert plain(read.attrs) == plain(variable.attrs), name
    assert back.attrs == ds.attrs
    assert back.attrs["code"]["commit"] == ds.attrs["code"]["commit"]
    assert back.attrs["history"][-1]["run"] == result.run_id
    assert back.attrs["point_counts"] == {"pending": 0, "ok": 224, "diverged": 0, "failed": 0}


def test_verdict_flags_decode_from_their_cf_attributes_alone(tmp_path):
    """flag_values/flag_meanings of the file name every code as the pipeline's own names do."""
    config = compose_config(
        ["+sweep=autapse", "sweep.grid.tau=[0.02]", f"store.path={tmp_path / 'a.zarr'}"]
    )
    ds = open_run(run_sweep(config).path)
    to_netcdf(ds, tmp_path / "a.nc")
    with xr.open_dataset(tmp_path / "a.nc") as raw:  # a netCDF tool: no JSON decoding
        code = raw["gain_check"]
        meanings = code.attrs["flag_meanings"].split()
        names = dict(zip(code.attrs["flag_values"], meanings, strict=True))
        decoded = np.vectorize(names.get)(code.values)
        np.testing.assert_array_equal(decoded, verdict_names(ds["gain_check"].values))
        assert decoded[list(raw["lam"].values).index(1.5), 0] == "no_steady_state"
        assert decoded[list(raw["lam"].values).index(0.5), 0] == "agrees"
