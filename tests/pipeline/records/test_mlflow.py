"""tracking=mlflow: each run logged to MLflow equals its catalog row; MLflow down is no failure."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from store_helpers import hydra_config, run_driver

from pipeline.__main__ import execute
from pipeline.records import catalog

mlflow = pytest.importorskip("mlflow", reason='needs the mlflow extra: pip install -e ".[mlflow]"')
pytest.importorskip("sqlalchemy", reason='needs the mlflow extra: pip install -e ".[mlflow]"')


def _runs(uri: str):
    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=["rate-sweeps"], order_by=["start_time ASC"])


def test_a_run_logged_to_mlflow_reads_back_as_the_catalog_holds_it(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    outcome = execute(
        hydra_config(
            tmp_path / "s.zarr", "tracking=mlflow", f"tracking.uri={uri}", sweep=("+sweep=autapse",)
        )
    )
    assert outcome.code == 0, outcome.errors
    assert not outcome.errors
    row = catalog.run(tmp_path / "catalog.sqlite", 1)
    (frame,) = (r for _, r in _runs(uri).iterrows())
    # Params: the resolved config, flattened, as the catalog's config says.
    config = catalog.flat_config(row["config"])
    assert frame["params.sweep.name"] == "autapse" == config["sweep.name"]
    assert frame["params.stimulus.amplitude"] == str(config["stimulus.amplitude"])
    assert frame["params.sweep.grid.tau"] == str(config["sweep.grid.tau"])
    # Metrics: the catalog's result figures and counts.
    for quantity, figures in row["results"].items():
        assert frame[f"metrics.{quantity}.agree"] == figures["agree"]
        if figures["worst_error"] is not None:
            assert frame[f"metrics.{quantity}.worst_error"] == figures["worst_error"]
    assert frame["metrics.points_ok"] == row["points_ok"] == 39
    # Tags: the run's identity.
    assert frame["tags.verdict"] == row["verdict"] == "PASS"
    assert frame["tags.fingerprint"] == row["fingerprint"]
    assert frame["tags.catalog_run_id"] == "1"
    assert frame["status"] == "FINISHED"
    # Artifacts: the resolved config, beside the database (not under the working folder).
    (logged,) = (tmp_path / "mlflow-artifacts").rglob("config.yaml")
    assert logged.read_text() == row["config"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_tracking_server_that_refuses_does_not_fail_the_sweep(tmp_path: Path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    outcome = execute(
        hydra_config(
            tmp_path / "s.zarr", "tracking=mlflow", f"tracking.uri={uri}", sweep=("+sweep=autapse",)
        )
    )
    assert outcome.code == 0
    assert outcome.errors[0].startswith(f"warning: could not log the run to MLflow at {uri}: ")
    assert catalog.run(tmp_path / "catalog.sqlite", 1)["verdict"] == "PASS"


@pytest.mark.slow
def test_a_multirun_is_a_parent_with_a_child_per_job(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run_driver(
        "-m",
        "+sweep=autapse",
        "stimulus.amplitude=1,2",
        "store.path=amp${stimulus.amplitude}.zarr",
        "tracking=mlflow",
        f"tracking.uri={uri}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    logged = _runs(uri)
    parents = logged[logged["tags.rate_sweeps.multirun"].notna()]
    children = logged[logged["tags.mlflow.parentRunId"].notna()]
    assert len(parents) == 1 and len(children) == 2
    assert set(children["tags.mlflow.parentRunId"]) == {parents["run_id"].iloc[0]}
    assert sorted(children["params.stimulus.amplitude"]) == ["1.0", "2.0"]


def test_catalog_tags_and_notes_reach_the_mlflow_run(tmp_path: Path, capsys):
    """``+tags`` at logging, ``catalog tag|note`` afterwards: both in MLflow (were catalog only)."""
    from pipeline.records import catalog_cli

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    outcome = execute(
        hydra_config(
            tmp_path / "s.zarr",
            "tracking=mlflow",
            f"tracking.uri={uri}",
            "+tags=[baseline]",
            sweep=("+sweep=autapse", "sweep.grid.tau=[0.05]"),
        )
    )
    assert outcome.code == 0, outcome.errors
    path = tmp_path / "catalog.sqlite"
    row = catalog.run(path, 1)
    assert row["mlflow_uri"] == uri
    (frame,) = (r for _, r in _runs(uri).iterrows())
    assert frame["run_id"] == row["mlflow_run_id"]
    assert frame["tags.tag.baseline"] == "true"
    assert catalog_cli.main(["tag", "1", "checked", "--catalog", str(path)]) == 0
    assert catalog_cli.main(["note", "1", "first look", "--catalog", str(path)]) == 0
    said = capsys.readouterr().out
    assert "run 1: tags baseline, checked (and in MLflow)" in said
    assert "run 1: note set (and in MLflow)" in said
    (frame,) = (r for _, r in _runs(uri).iterrows())
    assert frame["tags.tag.checked"] == "true"
    assert frame["tags.mlflow.note.content"] == "first look"
