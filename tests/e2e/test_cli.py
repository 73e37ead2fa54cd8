"""``python -m pipeline`` as a newcomer runs it, from a directory of their own."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

pytestmark = pytest.mark.slow


def test_default_autapse_sweep_runs_from_any_directory(run_cli, tmp_path):
    result = run_cli("+sweep=autapse")
    assert result.returncode == 0, result.stderr
    store = tmp_path / "results" / "autapse.zarr"
    out = result.stdout
    assert f"store: {store}" in out
    assert "points: 39 (39 ok)" in out
    assert re.search(r"gain vs 1/\(1-lam\)\s+27 agree, 0 disagree; worst relative error", out)
    assert re.search(r"tau_eff vs tau/\(1-lam\)\s+36 agree, 0 disagree", out)
    assert "12 not applicable, no steady state (eigenvalue >= 1): lam=1, 1.1, 1.25, 1.5" in out
    assert "verdict (autapse): PASS" in out
    worst = float(re.search(r"worst relative error (\S+)", out).group(1))
    assert worst < 1e-3
    with xr.open_zarr(store) as ds:
        assert ds.attrs["run_status"] == "complete"
        assert float(ds["gain"].sel(lam=0.5, tau=0.05, mode=0)) == pytest.approx(2.0, rel=1e-3)
    report = tmp_path / "results" / "autapse.report"
    assert f"report: {report / 'index.html'}" in out
    assert sorted(p.name for p in report.iterdir()) == [
        "gain.png", "index.html", "persistence.png", "tau_eff.png", "time_courses.png"
    ]  # fmt: skip


def test_report_false_writes_no_report(run_cli, tmp_path):
    result = run_cli(
        "+sweep=autapse", "sweep.grid.lam=[0.5]", "sweep.grid.tau=[0.02]", "report=false"
    )
    assert result.returncode == 0, result.stderr
    assert "report:" not in result.stdout
    assert (tmp_path / "results" / "autapse.zarr").is_dir()
    assert not (tmp_path / "results" / "autapse.report").exists()


def test_store_path_and_grid_from_the_command_line(run_cli, tmp_path):
    path = tmp_path / "deep" / "er" / "x.zarr"
    result = run_cli(
        "+sweep=autapse",
        f"store.path={path}",
        "sweep.grid.lam=[-1,0.5]",
        "sweep.grid.tau=${linspace:0.02,0.06,3}",
    )
    assert result.returncode == 0, result.stderr
    assert "points: 6 (6 ok)" in result.stdout
    with xr.open_zarr(path) as ds:
        np.testing.assert_array_equal(ds["lam"], [-1.0, 0.5])
        np.testing.assert_allclose(ds["tau"], [0.02, 0.04, 0.06])
    assert not (tmp_path / "results").exists()


def test_running_again_on_a_complete_store_computes_nothing(run_cli, tmp_path):
    args = ("+sweep=autapse", "sweep.grid.lam=[0.5]", "sweep.grid.tau=[0.02]")
    assert run_cli(*args).returncode == 0
    chunk = tmp_path / "results" / "autapse.zarr" / "rate" / "c.0.0.0.0"
    written = chunk.stat().st_mtime_ns
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "(complete, resumed" in again.stdout
    assert "0 blocks to compute" in again.stdout
    assert chunk.stat().st_mtime_ns == written


def test_cfg_job_shows_the_resolved_config_and_runs_nothing(run_cli, tmp_path):
    result = run_cli("+sweep=autapse", "--cfg", "job")
    assert result.returncode == 0, result.stderr
    assert "sweep:" in result.stdout and "name: autapse" in result.stdout
    assert "path: results/${sweep.name}.zarr" in result.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("sweep.grid.tau=[-0.01]", "sweep.grid.tau must be > 0 s, got sweep.grid.tau=[-0.01]"),
        ("sweep.grid.lamm=[1]", "Key 'lamm' is not in struct"),
        ("sweep.grid.lam=[a,0.5]", "Value 'a' of type 'str' could not be converted to Float"),
        ("sweep.grid.lam=[]", "sweep.grid.lam is empty"),
        ("record.dt=0", "record.dt must be > 0 s, got record.dt=0.0"),
    ],
)
def test_bad_overrides_exit_nonzero_naming_key_and_value(run_cli, tmp_path, override, expected):
    result = run_cli("+sweep=autapse", override)
    assert result.returncode != 0
    assert expected in result.stderr
    key = override.split("=")[0].split(".")[-1]
    assert key in result.stderr
    assert list(tmp_path.iterdir()) == [], "a refused run must write nothing"


def test_a_path_that_is_not_a_store_is_refused_and_left_alone(run_cli, tmp_path):
    precious = tmp_path / "results" / "autapse.zarr"
    precious.mkdir(parents=True)
    (precious / "notes.txt").write_text("my data")
    result = run_cli("+sweep=autapse")
    assert result.returncode == 2
    assert "is not a store of this pipeline" in result.stderr
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    assert (precious / "notes.txt").read_text() == "my data"


def test_no_sweep_chosen_explains_how_to_choose_one(run_cli):
    result = run_cli()
    assert result.returncode == 2
    assert "add +sweep=NAME" in result.stderr


def test_help_starts_with_this_projects_usage(run_cli):
    """Was Hydra's generic text, which suggests ``sweep=autapse`` (refused: it takes a ``+``)."""
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("rate-sweeps: parameter sweeps of recurrent rate networks")
    usage = "  python -m pipeline +sweep=NAME [KEY=VALUE ...]"
    assert any(line.startswith(usage) for line in lines)
    assert "The sweep is added with a plus (+sweep=autapse; sweep=autapse is refused)." in lines
    assert "docs/index.md" in result.stdout and "http://127.0.0.1:8000" in result.stdout
    sweeps = next(line for line in lines if line.startswith("sweep: "))
    assert "autapse" in sweeps and "saturating_memory" in sweeps
    assert "powered by Hydra" not in result.stdout


def test_a_first_run_prints_no_line_of_matplotlibs(run_cli, tmp_path):
    """A fresh matplotlib config folder (a first run): its font cache is built silently."""
    fresh = tmp_path / "mplconfig"
    fresh.mkdir()
    result = run_cli(
        "+sweep=autapse",
        "sweep.grid.lam=[0.5]",
        "sweep.grid.tau=[0.02]",
        env={"MPLCONFIGDIR": str(fresh)},
    )
    assert result.returncode == 0, result.stderr
    assert any(fresh.iterdir())  # matplotlib did build its cache there
    said = result.stdout + result.stderr
    assert "fontManager" not in said and "font cache" not in said, said
