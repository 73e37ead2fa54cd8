"""``python -m analysis STORE``: the store's checks re-run by this code, its report rewritten."""

from __future__ import annotations

import collections
import math
import shutil

import numpy as np
import pytest
import xarray as xr
import zarr
from dask.callbacks import Callback
from sweeps import compose_config

from analysis.__main__ import main
from analysis.report import report_directory
from pipeline.run.execute import run_sweep
from pipeline.store.lifecycle import consolidate


@pytest.fixture
def store(tmp_path):
    config = compose_config(
        ["+sweep=autapse", "sweep.grid.tau=[0.02,0.05]", f"store.path={tmp_path / 'a.zarr'}"]
    )
    return run_sweep(config)


def test_reanalysis_prints_the_runs_summary_and_writes_the_report_again(store, capsys):
    shutil.rmtree(report_directory(store.path), ignore_errors=True)
    assert main([str(store.path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == store.summary.lines
    page = report_directory(store.path) / "index.html"
    assert out[-1] == f"report: {page.resolve()}"
    assert page.read_text().count("data:image/png;base64,") == 4


def test_the_checks_are_run_again_on_the_stored_trajectories(store, capsys):
    """A rate scaled by 1.01 at one point after the run: the gain there now disagrees."""
    group = zarr.open_group(str(store.path), mode="r+")
    lam = np.asarray(group["lam"][:])
    i = int(np.flatnonzero(lam == 0.5)[0])
    group["rate"][i, 0] = np.asarray(group["rate"][i, 0]) * 1.01
    assert main(["report", str(store.path), "--out", str(store.path.parent / "out")]) == 1
    out = capsys.readouterr().out
    assert "verdict (autapse): FAIL" in out
    # 1.01 times the rate is 1.01 times the gain: a relative error of 0.01 there.
    assert (
        "gain vs 1/(1-lam)                    17 agree, 1 disagree; "
        "worst relative error 0.01 (lam=0.5, tau=0.02, mode=0)"
    ) in out
    assert (store.path.parent / "out" / "gain.png").exists()


def test_a_store_of_an_unknown_schema_is_refused_and_nothing_written(store, capsys):
    group = zarr.open_group(str(store.path), mode="r+")
    group.attrs["schema_version"] = 99
    consolidate(group.store, group.metadata.zarr_format)
    shutil.rmtree(report_directory(store.path), ignore_errors=True)
    assert main([str(store.path)]) == 2
    err = capsys.readouterr().err
    assert "schema_version=99" in err and "this code reads schema versions 1 to" in err
    assert not report_directory(store.path).exists()


def test_a_path_that_is_not_a_store_is_refused(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    assert main([str(tmp_path / "notes")]) == 2
    assert "cannot be opened as a Zarr store" in capsys.readouterr().err


@pytest.mark.parametrize(
    "overrides",
    [
        ["+sweep=spectrum", "sweep.grid.seed=[0.0]", "sweep.grid.tau=[0.01]"],
        ["+sweep=feedforward", "sweep.grid.seed=[0.0]", "sweep.grid.tau=[0.01]"],
        ["+sweep=integrator", "sweep.grid.tau=[0.02]", "sweep.grid.amplitude=[1.0]"],
        ["+sweep=runaway", "sweep.grid.coupling=[1.2,50.0]", "sweep.grid.tau=[0.01]"],
        ["+sweep=nonsymmetric", "sweep.grid.lam_real=[0.5]"],
    ],
    ids=lambda overrides: overrides[0].removeprefix("+sweep="),
)
def test_every_scenario_is_checked_again_from_its_lazily_read_store_as_the_run_checked_it(
    tmp_path, capsys, overrides
):
    """Read lazily (Dask), the epochs of a gain matrix are one chunk and no tolerance is None."""
    path = tmp_path / "s.zarr"
    result = run_sweep(compose_config([*overrides, f"store.path={path}"]))
    assert main([str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == result.summary.lines


def test_each_chunk_of_the_trajectories_is_read_and_checked_once(tmp_path, monkeypatch, capsys):
    """The summary and every figure read the re-check's results, computed once per chunk:
    each chunk of ``rate`` is read by one task, whatever the figures' slices cross."""
    path = tmp_path / "b.zarr"
    config = compose_config(
        ["+sweep=autapse", "store.chunk_points=6", "report=false", f"store.path={path}"]
    )
    run_sweep(config)
    rate = xr.open_zarr(path)["rate"].data  # python -m analysis opens it as this, same name
    reads: collections.Counter = collections.Counter()

    class Reads(Callback):
        def _pretask(self, key, dsk, state):
            if isinstance(key, tuple) and key[0] == rate.name:  # a chunk read from the store
                reads[key] += 1

    with Reads():
        assert main([str(path)]) == 0
    assert math.prod(rate.numblocks) > 1
    assert len(reads) == math.prod(rate.numblocks)
    # The summary reads every chunk and the figures some again: each is read by one task only.
    assert set(reads.values()) == {1}
