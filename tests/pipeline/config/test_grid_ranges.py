"""Grid values a user can select by the number they read or wrote (``.sel(tau=0.02)``)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import xarray as xr
from sweeps import SWEEPS, compose_config

from analysis.summary import coordinate_labels
from pipeline.config.compose import linspace
from pipeline.config.schema import ConfigError
from pipeline.grid import Grid


def _dataset(config) -> xr.Dataset:
    grid = Grid.from_config(config.sweep.grid)
    return xr.Dataset(coords=grid.coords())


@pytest.mark.parametrize(
    ("grid", "written"),
    [
        ("${linspace:0.01,0.05,5}", [0.01, 0.02, 0.03, 0.04, 0.05]),
        ("${linspace:0.1,0.7,7}", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
        ("${geomspace:0.001,1,4}", [0.001, 0.01, 0.1, 1.0]),
        ("${geomspace:0.02,20000,7}", [0.02, 0.2, 2.0, 20.0, 200.0, 2000.0, 20000.0]),
    ],
)
def test_a_range_holds_the_decimals_a_user_would_write(grid, written):
    # numpy's linspace(0.01, 0.05, 5) holds 0.020000000000000004 and
    # linspace(0.1, 0.7, 7) 0.30000000000000004: .sel by the written value failed.
    ds = _dataset(compose_config(["+sweep=autapse", f"sweep.grid.tau={grid}"]))
    assert ds["tau"].values.tolist() == written
    for value in written:
        assert ds.sel(tau=value)["tau"].item() == value


def test_a_linspace_value_is_its_exact_decimal_rounded_once():
    start, stop, num = 0.1, 2.3, 12
    for k, value in enumerate(linspace(start, stop, num)):
        exact = Fraction("0.1") + (Fraction("2.3") - Fraction("0.1")) * k / (num - 1)
        # The float nearest the exact decimal: no float lies closer to it.
        assert abs(Fraction(value) - exact) <= abs(Fraction(np.nextafter(value, 0)) - exact)
        assert abs(Fraction(value) - exact) <= abs(Fraction(np.nextafter(value, 9)) - exact)


@pytest.mark.parametrize("sweep", SWEEPS)
def test_every_value_of_every_default_grid_is_found_by_its_printed_form(sweep):
    ds = _dataset(compose_config([f"+sweep={sweep}"]))
    for dim in ds.dims:
        values = ds[dim].values
        for label, value in zip(coordinate_labels(values), values.tolist(), strict=True):
            assert ds.sel({dim: float(label)})[dim].item() == value, (sweep, dim, label)


@pytest.mark.parametrize(
    ("grid", "said"),
    [
        ("${geomspace:0,1,3}", r"sweep.grid.tau: .*geomspace:0.0,1.0,3"),
        ("${linspace:0.1,0.2,0}", r"sweep.grid.tau: .*needs num >= 1, got num=0"),
    ],
)
def test_a_range_that_cannot_be_made_is_refused_by_its_key_and_values(grid, said):
    # Was an OmegaConf traceback (InterpolationResolutionError) with Hydra's exit code.
    with pytest.raises(ConfigError, match=said):
        compose_config(["+sweep=autapse", f"sweep.grid.tau={grid}"])
