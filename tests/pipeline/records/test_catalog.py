"""The run catalog: rows written at the start and end of runs, read back as text and DataFrame."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.records import catalog, catalog_cli
from pipeline.store.kinds import open_sweep_store


def _start(path: Path, store: str, sweep: str = "autapse") -> int:
    return catalog.start_run(
        path,
        {
            "sweep": sweep,
            "store": store,
            "fingerprint": "f" * 64,
            "code_version": "abc123",
            "started": "2026-01-02T03:04:05+00:00",
            "host": "node1",
            "pid": 42,
            "config": "sweep:\n  name: autapse\n",
        },
    )


def test_runs_read_back_as_written(tmp_path: Path):
    path = tmp_path / "catalog.sqlite"
    first = _start(path, "/r/a.zarr")
    catalog.update_run(
        path,
        first,
        {
            "status": "complete",
            "finished": "2026-01-02T03:05:00+00:00",
            "opened": "created",
            "blocks_computed": 13,
            "points_ok": 30,
            "points_diverged": 9,
            "points_pending": 0,
            "points_failed": 0,
        },
    )
    second = _start(path, "/r/b.zarr", sweep="pair")
    frame = catalog.runs(path)
    assert list(frame.index) == [first, second]
    row = frame.loc[first]
    assert (row["sweep"], row["status"], row["store"]) == ("autapse", "complete", "/r/a.zarr")
    assert (row["points_ok"], row["points_diverged"], row["blocks_computed"]) == (30, 9, 13)
    assert row["started"] == pd.Timestamp("2026-01-02T03:04:05+00:00")
    assert row["finished"] - row["started"] == pd.Timedelta(seconds=55)
    assert frame.loc[second, "status"] == "running"
    assert pd.isna(frame.loc[second, "finished"])


def test_a_new_run_of_a_store_marks_its_dead_predecessor_interrupted(tmp_path: Path):
    path = tmp_path / "catalog.sqlite"
    dead = _start(path, "/r/a.zarr")
    other_store = _start(path, "/r/b.zarr")
    new = _start(path, "/r/a.zarr")
    status = catalog.runs(path)["status"]
    assert status[dead] == "interrupted"
    assert status[other_store] == "running"
    assert status[new] == "running"


def test_catalog_path_defaults_beside_the_store(tmp_path: Path):
    beside = open_sweep_store("results/x.zarr").default_catalog()
    assert beside == Path("results/catalog.sqlite")
    assert catalog.catalog_path(beside, None) == beside
    assert catalog.catalog_path(beside, "/c/runs.db") == Path("/c/runs.db")
    # SQLite needs a local file: an object store's runs go where python -m pipeline.catalog
    # reads by default.
    assert open_sweep_store("s3://bucket/x.zarr").default_catalog() == catalog.DEFAULT_PATH
    assert catalog.DEFAULT_PATH == Path("results") / "catalog.sqlite"


def test_unknown_column_is_refused(tmp_path: Path):
    path = tmp_path / "catalog.sqlite"
    run_id = _start(path, "/r/a.zarr")
    with pytest.raises(KeyError, match="no column"):
        catalog.update_run(path, run_id, {"colour": "blue"})


def test_list_and_show_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "catalog.sqlite"
    run_id = _start(path, "/r/a.zarr")
    assert catalog_cli.main(["--catalog", str(path), "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == [
        "sweep",
        "status",
        "verdict",
        "pending",
        "ok",
        "diverged",
        "failed",
        "started",
        "duration_s",
        "blocks",
        "tags",
        "store",
    ]
    assert listed[-1].split()[:3] == [str(run_id), "autapse", "running"]
    assert listed[-1].endswith("/r/a.zarr")

    assert catalog_cli.main(["--catalog", str(path), "show", str(run_id)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert "fingerprint      " + "f" * 64 in shown
    assert shown[-3:] == ["config:", "  sweep:", "    name: autapse"]


def test_commands_report_a_missing_catalog_or_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "catalog.sqlite"
    assert catalog_cli.main(["--catalog", str(path), "list"]) == 1
    assert f"no run catalog at {path}" in capsys.readouterr().err
    assert not path.exists()  # reading never creates a catalog
    _start(path, "/r/a.zarr")
    assert catalog_cli.main(["--catalog", str(path), "show", "7"]) == 1
    assert "no run 7" in capsys.readouterr().err


def test_a_catalog_of_an_older_version_gains_the_new_columns_and_keeps_its_runs(tmp_path: Path):
    """A catalog written before runs had a verdict: its rows stay, and new runs record one."""
    import sqlite3

    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:
        # The schema of the catalogs written before runs recorded results (commit 4de2c5d).
        db.execute(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, sweep TEXT NOT NULL, "
            "status TEXT NOT NULL, store TEXT NOT NULL, fingerprint TEXT NOT NULL, "
            "code_version TEXT NOT NULL, started TEXT NOT NULL, finished TEXT, opened TEXT, "
            "blocks_computed INTEGER, points_pending INTEGER, points_ok INTEGER, "
            "points_diverged INTEGER, points_failed INTEGER, host TEXT, pid INTEGER, "
            "message TEXT, config TEXT)"
        )
        db.execute(
            "INSERT INTO runs (sweep, status, store, fingerprint, code_version, started) "
            "VALUES ('pair', 'complete', '/old.zarr', 'f', 'c', '2026-01-01T00:00:00+00:00')"
        )
    db.close()
    new = _start(path, "/new.zarr")
    catalog.update_run(path, new, {"verdict": "PASS"})
    table = catalog.runs(path)
    assert table["store"].tolist() == ["/old.zarr", "/new.zarr"]
    assert table["verdict"].isna().tolist() == [True, False]
    assert table.loc[new, "verdict"] == "PASS"
