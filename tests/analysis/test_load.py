"""Loaders for notebooks: a run by catalog id, lazily; the input h(t); a multirun as one dataset
or one tree."""

from __future__ import annotations

import dask.array
import numpy as np
import pytest
import xarray as xr
import zarr
from sweeps import compose_config

from analysis.load import input_timecourse, open_run, open_runs
from pipeline.run.execute import run_sweep


def run(tmp_path, name, *overrides):
    return run_sweep(compose_config([*overrides, f"store.path={tmp_path / name}.zarr"]))


def test_a_run_opened_by_catalog_id_reads_nothing_before_compute(tmp_path):
    """The store's rate doubled after open_run: .values returns the doubled values."""
    result = run(tmp_path, "a", "+sweep=autapse", "sweep.grid.tau=[0.02]")
    original = xr.open_zarr(result.path)["rate"].values
    ds = open_run(result.run_id, catalog=result.catalog)
    assert ds.attrs["history"][-1]["run"] == result.run_id
    assert isinstance(ds["rate"].data, dask.array.Array)
    gain = ds["gain"].sel(lam=0.5, mode=0)
    group = zarr.open_group(str(result.path), mode="r+")
    group["rate"][...] = 2 * original
    group["gain"][...] = 2 * np.asarray(group["gain"][...])
    np.testing.assert_array_equal(ds["rate"].values, 2 * original)
    np.testing.assert_allclose(gain.compute().values, [4.0], rtol=1e-9)  # 2 x 1/(1-0.5)


def test_a_catalog_id_not_in_the_catalog_says_so(tmp_path):
    result = run(tmp_path, "a", "+sweep=autapse", "sweep.grid.lam=[0.5]", "sweep.grid.tau=[0.02]")
    with pytest.raises(KeyError, match=r"no run 99 in the catalog"):
        open_run(99, catalog=result.catalog)


def test_input_timecourse_is_the_step_on_the_dims_of_rate(tmp_path):
    """0 before onset, h from onset until offset, 0 after; and v of lam = 0 follows it."""
    result = run(tmp_path, "a", "+sweep=autapse", "sweep.grid.lam=[0,0.5]", "sweep.grid.tau=[0.02]")
    ds = open_run(result.path)
    h = input_timecourse(ds)
    assert h.dims == ds["rate"].dims and isinstance(h.data, dask.array.Array)
    time = ds["time"].values
    on = (time >= 0.05 - 1e-12) & (time < 0.25 - 1e-12)
    values = h.values
    np.testing.assert_array_equal(values[..., ~on, :], 0.0)
    np.testing.assert_array_equal(values[..., on, :], 1.0)  # amplitude 1 Hz
    # tau dv/dt = -v + h(t) at lam = 0: v = 1 - exp(-(t - onset)/tau) while the step is on.
    v = ds["rate"].sel(lam=0.0, tau=0.02).isel(neuron=0).values
    np.testing.assert_allclose(v[on], 1 - np.exp(-(time[on] - 0.05) / 0.02), atol=1e-12)


def test_input_timecourse_of_epochs_holds_each_epochs_pattern_in_turn(tmp_path):
    overrides = ("+sweep=feedforward", "sweep.grid.seed=[0]", "sweep.grid.tau=[0.01]")
    result = run(tmp_path, "f", *overrides)
    ds = open_run(result.path)
    h = input_timecourse(ds).isel(seed=0, tau=0).values
    stored = ds["h"].isel(seed=0, tau=0).values
    time, starts = ds["time"].values, ds["epoch_start"].values
    ends = np.append(starts[1:], float(ds["offset"]))
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        inside = (time >= start - 1e-12) & (time < end - 1e-12)
        assert inside.sum() == 50  # 50 ms epochs at dt = 1 ms
        np.testing.assert_array_equal(h[inside], np.broadcast_to(stored[k], h[inside].shape))
    np.testing.assert_array_equal(h[time >= ends[-1] - 1e-12], 0.0)


def test_a_multirun_opens_as_one_tree_with_each_runs_own_config(tmp_path):
    """The README's multirun over tau: one node per store, each with its own attributes."""
    results = [
        run(tmp_path, f"tau{tau}", "+sweep=autapse", f"sweep.grid.tau=[{tau}]")
        for tau in (0.02, 0.05)
    ]
    tree = open_runs([r.run_id for r in results], catalog=results[0].catalog, tree=True)
    assert set(tree.children) == {"tau0.02", "tau0.05"}
    for result, name in zip(results, ("tau0.02", "tau0.05"), strict=True):
        node = tree[name]
        with xr.open_zarr(result.path) as stored:
            assert node.attrs["config"] == stored.attrs["config"]
            assert node.attrs["fingerprint"] == stored.attrs["fingerprint"]
            np.testing.assert_array_equal(node["rate"].values, stored["rate"].values)
        assert float(node["tau"].values[0]) == float(name.removeprefix("tau"))
    assert tree["tau0.02"].attrs["fingerprint"] != tree["tau0.05"].attrs["fingerprint"]


def test_a_multirun_over_grid_values_opens_as_one_grid_equal_to_one_run(tmp_path, recwarn):
    """``sweep.grid.tau=[0.02],[0.05]`` joined: the same numbers as one run of tau [0.02, 0.05]."""
    common = ("+sweep=autapse", "sweep.grid.lam=[0.5,0.9]")
    pieces = [
        run(tmp_path, f"tau{tau}", *common, f"sweep.grid.tau=[{tau}]") for tau in (0.05, 0.02)
    ]
    whole = run(tmp_path, "whole", *common, "sweep.grid.tau=[0.02,0.05]")
    joined = open_runs([r.path for r in pieces])
    assert not [w for w in recwarn if issubclass(w.category, (FutureWarning, UserWarning))]
    assert isinstance(joined, xr.Dataset)
    assert joined["tau"].values.tolist() == [0.02, 0.05]
    assert joined["store"].sel(tau=0.02).item() == "tau0.02"
    with xr.open_zarr(whole.path) as reference:
        for name in ("rate", "gain", "tau_eff", "check"):
            np.testing.assert_array_equal(
                joined[name].transpose(*reference[name].dims).values, reference[name].values
            )
        assert "fingerprint" not in joined.attrs  # differs per run: kept in the tree
        assert joined.attrs["sweep"] == reference.attrs["sweep"]


def test_a_multirun_over_two_scalar_keys_opens_along_both(tmp_path):
    """``stimulus.amplitude=1,2`` x ``stimulus.offset=0.2,0.25``: two new dimensions, each
    point the run of its values (its gain measured per run)."""
    results = {}
    for amplitude in (1.0, 2.0):
        for offset in (0.2, 0.25):
            results[amplitude, offset] = run(
                tmp_path,
                f"a{amplitude}o{offset}",
                "+sweep=autapse",
                "sweep.grid.lam=[0.5]",
                "sweep.grid.tau=[0.02]",
                f"stimulus.amplitude={amplitude}",
                f"stimulus.offset={offset}",
            )
    joined = open_runs([r.path for r in results.values()])
    assert dict(joined["amplitude"].sizes) == {"amplitude": 2}
    # The store has a variable ``offset`` already: the new dimension takes the whole key.
    assert joined["stimulus.offset"].values.tolist() == [0.2, 0.25]
    for (amplitude, offset), result in results.items():
        with xr.open_zarr(result.path) as alone:
            point = joined.sel({"amplitude": amplitude, "stimulus.offset": offset})
            assert point["offset"].item() == offset
            np.testing.assert_array_equal(point["rate"].values, alone["rate"].values)
            # The input's size scales the response; the gain is the same: 1/(1 - 0.5).
            np.testing.assert_allclose(point["gain"].values, 2.0, rtol=1e-3)


def test_runs_that_differ_in_grid_values_and_in_another_key_are_refused(tmp_path):
    a = run(tmp_path, "a", "+sweep=autapse", "sweep.grid.lam=[0.5]", "sweep.grid.tau=[0.02]")
    b = run(
        tmp_path,
        "b",
        "+sweep=autapse",
        "sweep.grid.lam=[0.5]",
        "sweep.grid.tau=[0.05]",
        "stimulus.amplitude=2.0",
    )
    with pytest.raises(ValueError, match=r"sweep.grid.tau.*stimulus.amplitude.*tree=True"):
        open_runs([a.path, b.path])
