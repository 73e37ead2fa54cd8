"""Finding and comparing runs: results, filters, comparison, tags and notes, many writers."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import hydra_config, run_driver

from pipeline.__main__ import execute
from pipeline.records import catalog, catalog_cli

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
    # The default autapse grid: 27 gains measured; at lam >= 1 (12 points) there is no
    # steady state, so the gain does not apply there.
    assert table["gain.agree"].tolist() == [27, 9, 27]
    assert table["gain.not_applicable"].tolist() == [12, 4, 12]
    assert table["gain.not_measurable"].tolist() == [0, 0, 0]
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
    # A list matches the values it holds: runs 1 and 3 swept [0.02, 0.05, 0.1], run 2 [0.05].
    for wanted, ids in [
        ("[0.05]", [1, 2, 3]),
        ("0.05", [1, 2, 3]),
        ("0.02", [1, 3]),
        ("[0.1,0.02]", [1, 3]),
        ("[0.05,0.07]", []),
        ("0.5", []),
    ]:
        assert catalog.runs(two_configs, where={"sweep.grid.tau": wanted}).index.tolist() == ids
    table = catalog.runs(two_configs)
    assert table.query("`sweep.grid.tau` == '[0.05]'").index.tolist() == [2]
    assert catalog.runs(two_configs, tag="baseline").index.tolist() == [1, 3]  # rerun too
    assert catalog.runs(two_configs, verdict="FAIL").empty
    assert catalog.runs(two_configs, since="2000-01-01").index.tolist() == [1, 2, 3]
    assert catalog.runs(two_configs, since="2999-01-01").empty
    today = catalog.runs(two_configs)["started"].iloc[0].strftime("%Y-%m-%d")
    assert catalog.runs(two_configs, until=today).index.tolist() == [1, 2, 3]  # the whole day
    assert catalog.runs(two_configs, until="2000-01-01").empty
    # Counts are integers, also where a run recorded none.
    assert str(table["points_ok"].dtype) == "Int64"
    assert str(table["blocks_computed"].dtype) == "Int64"


def test_list_and_compare_commands(
    two_configs: Path, capsys: pytest.CaptureFixture[str], monkeypatch
):
    monkeypatch.setenv("COLUMNS", "200")  # a comparison wraps to the terminal's width
    # Options before or after the subcommand.
    assert (
        catalog_cli.main(["list", "--catalog", str(two_configs), "--where", "sweep.grid.tau=0.02"])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["1", "3"]
    assert "39.0" not in lines[2] and " 39 " in lines[2]  # counts print as integers
    assert (
        catalog_cli.main(["--catalog", str(two_configs), "list", "--json", "--tag", "baseline"])
        == 0
    )
    records = json.loads(capsys.readouterr().out)
    assert [record["id"] for record in records] == [1, 3]
    assert catalog_cli.main(["compare", "1", "2", "--catalog", str(two_configs)]) == 0
    table = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert table["sweep.grid.tau"] == ["[0.02,", "0.05,", "0.1]", "[0.05]"]
    assert table["gain.agree"] == ["27", "9"]
    assert table["verdict"] == ["PASS", "PASS"]
    assert "stimulus.amplitude" not in table  # only what differs
    assert catalog_cli.main(["compare", "1", "99", "--catalog", str(two_configs)]) == 1


def test_list_json_is_real_json_to_every_digit(two_configs: Path, capsys):
    """pandas' to_json wrote a worst error of 1e-13 as 0.0 and the config as a string."""
    assert catalog_cli.main(["list", "--json", "--catalog", str(two_configs)]) == 0
    records = json.loads(capsys.readouterr().out)
    table = catalog.runs(two_configs)
    for record in records:
        row = table.loc[record["id"]]
        assert record["gain.worst_error"] == row["gain.worst_error"]  # the same float, exactly
        assert 0 < record["gain.worst_error"] < 1e-9
        assert record["config"]["sweep"]["name"] == "autapse"
        assert record["overrides"][0] == "+sweep=autapse"
        assert isinstance(record["tags"], list)
        assert isinstance(record["points_ok"], int)
    assert records[0]["tags"] == ["baseline"]
    assert records[1]["sweep.grid.tau"] == [0.05]  # a config key that differs: its own value
    assert (
        catalog_cli.main(
            [
                "list",
                "--json",
                "--columns",
                "verdict,gain.worst_error",
                "--catalog",
                str(two_configs),
            ]
        )
        == 0
    )
    assert set(json.loads(capsys.readouterr().out)[0]) == {"id", "verdict", "gain.worst_error"}


def test_list_prints_the_columns_asked_for(two_configs: Path, capsys):
    assert (
        catalog_cli.main(["list", "--columns", "verdict,gain.agree", "--catalog", str(two_configs)])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["verdict", "gain.agree"]
    assert [line.split() for line in lines[2:]] == [
        ["1", "PASS", "27"],
        ["2", "PASS", "9"],
        ["3", "PASS", "27"],
    ]
    assert (
        catalog_cli.main(["list", "--columns", "verdict,gain.agre", "--catalog", str(two_configs)])
        == 1
    )
    assert "no column 'gain.agre'" in capsys.readouterr().err


def test_compare_by_a_grid_key_reads_each_value_from_the_stores(two_configs: Path, capsys):
    """Run 1 swept tau 0.02, 0.05, 0.1: 27 gains agree in all, 9 per tau; run 2 only 0.05."""
    by = catalog_cli.by_value(two_configs, [1, 2], "sweep.grid.tau")
    assert list(by.columns) == [
        "run 1 tau=0.02",
        "run 1 tau=0.05",
        "run 1 tau=0.1",
        "run 2 tau=0.05",
    ]
    assert by.loc["gain.agree"].tolist() == ["9", "9", "9", "9"]
    assert by.loc["gain.not_applicable"].tolist() == ["4", "4", "4", "4"]
    table = catalog.runs(two_configs)
    # The run's worst error is the worst of its values' (printed to 3 digits).
    worst = [
        float(text)
        for text in by.loc[
            "gain.worst_error", ["run 1 tau=0.02", "run 1 tau=0.05", "run 1 tau=0.1"]
        ]
    ]
    assert max(worst) == pytest.approx(table.loc[1, "gain.worst_error"], rel=5e-3)
    # Run 2's tau 0.05 is run 1's tau 0.05: the same simulation, the same error.
    assert (
        by.loc["gain.worst_error", "run 2 tau=0.05"] == by.loc["gain.worst_error", "run 1 tau=0.05"]
    )
    assert (
        catalog_cli.main(
            ["compare", "1", "2", "--by", "stimulus.amplitude", "--catalog", str(two_configs)]
        )
        == 0
    )
    assert "run 1 amplitude=1.0" in capsys.readouterr().out
    assert (
        catalog_cli.main(["compare", "1", "--by", "sweep.grid.nope", "--catalog", str(two_configs)])
        == 1
    )
    assert "has no config key 'sweep.grid.nope'" in capsys.readouterr().err


def test_a_wide_comparison_wraps_to_the_terminal(two_configs: Path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    assert catalog_cli.main(["compare", "1", "2", "3", "--catalog", str(two_configs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 72
    assert sum(line.split()[:1] == ["verdict"] for line in lines) >= 2  # more than one block


def test_output_into_a_closed_pipe_ends_quietly(two_configs: Path):
    command = [sys.executable, "-m", "pipeline.catalog", "list", "--catalog", str(two_configs)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as reader:
        reader.stdout.close()  # the reader (| head -0) has gone before anything is written
        said = reader.stderr.read()
        assert reader.wait(60) == 0
    assert said == b""  # was: BrokenPipeError's traceback and exit 1


def test_tags_and_notes_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "catalog.sqlite"
    assert execute(hydra_config(tmp_path / "s.zarr", sweep=AUTAPSE)).code == 0
    assert catalog_cli.main(["tag", "1", "baseline", "tanh", "--catalog", str(path)]) == 0
    assert catalog_cli.main(["tag", "1", "tanh", "checked", "--catalog", str(path)]) == 0
    assert catalog_cli.main(["note", "1", "first tanh sweep", "--catalog", str(path)]) == 0
    capsys.readouterr()
    assert catalog.run(path, 1)["note"] == "first tanh sweep"
    assert catalog.runs(path, tag="checked").index.tolist() == [1]
    assert catalog_cli.main(["show", "1", "--catalog", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "tags             baseline, tanh, checked" in shown
    assert "note             first tanh sweep" in shown
    assert "gain: agree 27, disagree 0, not_measurable 0, not_applicable 12" in shown
    assert catalog_cli.main(["tag", "7", "x", "--catalog", str(path)]) == 1


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
