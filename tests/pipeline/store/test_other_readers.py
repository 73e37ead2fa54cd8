"""A second Zarr implementation (tensorstore) reads the store as xarray does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorstore as ts
import xarray as xr
from store_helpers import config

from pipeline.run.execute import run_sweep

DRIVERS = {3: "zarr3", 2: "zarr"}
"""tensorstore's driver for each Zarr format."""


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_tensorstore_reads_every_numeric_array_equal_to_xarray(tmp_path: Path, zarr_format: int):
    """Every numeric variable and coordinate, value for value (NaN for NaN); in Zarr v3 with
    its dimension names (v2 has none in its specification: xarray keeps them in an attribute).
    Strings (the ``phase`` labels) are left out: tensorstore reads no string type."""
    path = tmp_path / "s.zarr"
    run_sweep(config(path, f"store.zarr_format={zarr_format}"))
    with xr.open_zarr(path) as ds:
        numeric = [n for n, v in ds.variables.items() if v.dtype.kind in "biuf"]
        assert {"rate", "gain", "status", "lam", "tau"} <= set(numeric)
        for name in numeric:
            spec = {"driver": DRIVERS[zarr_format], "kvstore": f"file://{path}/{name}/"}
            array = ts.open(spec, read=True).result()
            expected = ds.variables[name].values
            assert array.dtype.numpy_dtype == expected.dtype, name
            np.testing.assert_array_equal(array.read().result(), expected, err_msg=name)
            if zarr_format == 3:
                assert array.domain.labels == ds.variables[name].dims, name
