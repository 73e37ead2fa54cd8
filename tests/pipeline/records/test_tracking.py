"""Finding and comparing runs: results, filters, comparison, tags and notes, many writers."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from store_helpers import hydra_config, run_driver

from pipeline.__main__ import execute
from pipeline.records import catalog

AUTAPSE = ("+sweep=autapse",)


@pytest.fixture(scope="module")
def two_configs(tmp_path_factory) -> Path:
    """Three real runs of the command line in one catalog: autapse sweeps of two tau
    grids, the first tagged on its command line, and a no-op rerun of the first."""
    folder = tmp_path_factory.mktemp("tracked")
    first = ("+sweep=autapse", "+tags=[baseline]", "store.path=a.zarr")
    second = ("+sweep=autapse", "sweep.grid.tau=[0.05]", "store.path=b.zarr")
    for args in (first, second, first):
        result = run_driver(*args, cwd=folder)
        assert result.returncode == 0, result.stderr
    return folder / "catalog.sqlite"


def test_each_run_records_what_its_summary_printed(two_configs: Path):
    table = catalog.runs(two_configs)
    assert table["verdict"].tolist() == ["PASS", "PASS", "PASS"]
    # The default autapse grid: 27 gains measured, 12 without a steady state (lam >= 1).
    assert table["gain.agree"].tolist() == [27, 9, 27]
    assert table["gain.not_measurable"].tolist() == [12, 4, 12]
    assert table["ramp_slope.not_applicable"].tolist() == [36, 12, 36]
    assert (table["gain.worst_error"] < 1e-9).all()
    assert table["digest"].iloc[0] == table["digest"].iloc[2]  # the rerun changed nothing
    assert table["message"].iloc[2] == "no-op: the store was already complete"
    assert table["blocks_computed"].tolist() == [1, 1, 0]
    assert json.loads(table["overrides"].iloc[1]) == [
        "+sweep=autapse",
        "sweep.grid.tau=[0.05]",
        "store.path=b.zarr",
    ]
    assert (table["duration_s"] > 0).all()
    assert Path(table["report"].iloc[1]) == two_configs.parent / "b.report"
    assert (Path(table["report"].iloc[1]) / "index.html").exists()


def test_runs_filter_by_config_value_and_query_like_a_dataframe(two_configs: Path):
    narrow = catalog.runs(two_configs, where={"sweep.grid.tau": "[0.05]"})
    assert narrow.index.tolist() == [2]
    table = catalog.runs(two_configs)
    assert table.query("`sweep.grid.tau` == '[0.05]'").index.tolist() == [2]
    assert catalog.runs(two_configs, tag="baseline").index.tolist() == [1, 3]  # rerun too
    assert catalog.runs(two_configs, verdict="FAIL").empty
    assert catalog.runs(two_configs, since="2000-01-01").index.tolist() == [1, 2, 3]
    assert catalog.runs(two_configs, since="2999-01-01").empty


def test_list_and_compare_commands(two_configs: Path, capsys: pytest.CaptureFixture[str]):
    # Options before or after the subcommand.
    assert (
        catalog.main(["list", "--catalog", str(two_configs), "--where", "sweep.grid.tau=[0.05]"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["2"]
    assert catalog.main(["--catalog", str(two_configs), "list", "--json", "--tag", "baseline"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [record["id"] for record in records] == [1, 3]
    assert catalog.main(["compare", "1", "2", "--catalog", str(two_configs)]) == 0
    table = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert table["sweep.grid.tau"] == ["[0.02,", "0.05,", "0.1]", "[0.05]"]
    assert table["gain.agree"] == ["27", "9"]
    assert table["verdict"] == ["PASS", "PASS"]
    assert "stimulus.amplitude" not in table  # only what differs
    assert catalog.main(["compare", "1", "99", "--catalog", str(two_configs)]) == 1


def test_tags_and_notes_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "catalog.sqlite"
    assert execute(hydra_config(tmp_path / "s.zarr", sweep=AUTAPSE)).code == 0
    assert catalog.main(["tag", "1", "baseline", "tanh", "--catalog", str(path)]) == 0
    assert catalog.main(["tag", "1", "tanh", "checked", "--catalog", str(path)]) == 0
    assert catalog.main(["note", "1", "first tanh sweep", "--catalog", str(path)]) == 0
    capsys.readouterr()
    assert catalog.run(path, 1)["note"] == "first tanh sweep"
    assert catalog.runs(path, tag="checked").index.tolist() == [1]
    assert catalog.main(["show", "1", "--catalog", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "tags             baseline, tanh, checked" in shown
    assert "note             first tanh sweep" in shown
    assert "gain: agree 27, disagree 0, not_measurable 12, not_applicable 0" in shown
    assert catalog.main(["tag", "7", "x", "--catalog", str(path)]) == 1


def test_the_environment_names_one_catalog_for_every_store(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(catalog.ENVIRONMENT, str(tmp_path / "mine.sqlite"))
    assert catalog.catalog_path(tmp_path / "x" / "catalog.sqlite", None) == tmp_path / "mine.sqlite"
    assert catalog.catalog_path(Path("catalog.sqlite"), "/c/runs.db") == Path("/c/runs.db")
    assert catalog.default_catalog() == tmp_path / "mine.sqlite"


def _record(path: str, k: int) -> int:
    return catalog.start_run(
        Path(path),
        {
            "sweep": "autapse",
            "store": f"/s/{k}.zarr",
            "fingerprint": "f",
            "code_version": "c",
            "started": "2026-12-05T00:00:00+00:00",
        },
    )


def test_eight_processes_record_at_once_and_no_row_is_lost(tmp_path: Path):
    path = str(tmp_path / "catalog.sqlite")
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        ids = pool.starmap(_record, [(path, k) for k in range(64)])
    assert sorted(ids) == list(range(1, 65))
    table = catalog.runs(path)
    assert sorted(table["store"]) == sorted(f"/s/{k}.zarr" for k in range(64))
