"""The run catalog: one row per run of any sweep, in an embedded SQLite file.

A run is recorded when its driver has taken the store's lease, before it
writes anything, with status ``running``; it ends ``complete`` (every point
ok or diverged), ``incomplete`` (points pending or failed remain), ``error``
(it stopped on an error such as a full disk) or ``interrupted`` (its driver
died: the next driver to take the store's lease marks it).  Its ``verdict``
is the theory check's over the whole store once the run is summarised
(PASS, FAIL or INCONCLUSIVE, as the run printed it).  Runs refused
before they start (a bad config, a store of another config, a store held by
another driver) write nothing and are not recorded.

The default catalog is ``catalog.sqlite`` in the directory of the store
(``catalog.path`` changes it), so every sweep under ``results/`` shares one.
SQLite serialises concurrent drivers; keep the catalog on a local disk or
one whose file locking works (SQLite's advice for network filesystems).

From a shell ``python -m pipeline.catalog list|show|compare|tag|note``
(:mod:`pipeline.records.catalog_cli`), and in a notebook
``pipeline.catalog.runs("results/catalog.sqlite")`` is a pandas DataFrame
indexed by run id.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipeline.config.flat import flatten
from pipeline.store.base import DEFAULT_CATALOG
from pipeline.store.status import STATUS

ENVIRONMENT = "RATE_SWEEPS_CATALOG"
"""Environment variable naming the catalog every run records in, wherever its store is."""

DEFAULT_PATH = DEFAULT_CATALOG
"""Where the commands look without ``--catalog`` or :data:`ENVIRONMENT`:
beside the default stores, where runs into object stores record themselves too."""

COUNT_COLUMNS = {name: f"points_{name}" for name in STATUS}
"""Column holding the number of points of each status after the run."""

_COLUMNS = {
    "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "sweep": "TEXT NOT NULL",
    "status": "TEXT NOT NULL",
    "store": "TEXT NOT NULL",
    "fingerprint": "TEXT NOT NULL",
    "code_version": "TEXT NOT NULL",
    "started": "TEXT NOT NULL",
    "finished": "TEXT",
    "opened": "TEXT",
    "blocks_computed": "INTEGER",
    "verdict": "TEXT",
    **{column: "INTEGER" for column in COUNT_COLUMNS.values()},
    "host": "TEXT",
    "pid": "INTEGER",
    "message": "TEXT",
    "config": "TEXT",
    "overrides": "TEXT",
    "duration_s": "REAL",
    "digest": "TEXT",
    "report": "TEXT",
    "tags": "TEXT",
    "note": "TEXT",
    "mlflow_uri": "TEXT",
    "mlflow_run_id": "TEXT",
}

RESULT_FIGURES = {
    "agree": "INTEGER",
    "disagree": "INTEGER",
    "not_measurable": "INTEGER",
    "not_applicable": "INTEGER",
    "worst_error": "REAL",
    "worst_at": "TEXT",
}
"""What the ``results`` table holds per run and checked quantity (the summary's figures)."""

LIST_COLUMNS = (
    "sweep",
    "status",
    "verdict",
    *COUNT_COLUMNS.values(),
    "started",
    "duration_s",
    "blocks_computed",
    "tags",
    "store",
)
"""Columns that ``list`` prints, after the run id."""


def catalog_path(beside_store: Path, configured: str | None) -> Path:
    """The catalog a run records itself in.

    ``catalog.path`` if given, else the file that :data:`ENVIRONMENT` names
    (one catalog for all of a user's runs), else ``beside_store``: the store's
    own default (:meth:`pipeline.store.sweep_store.SweepStore.default_catalog`,
    ``catalog.sqlite`` beside a folder, :data:`DEFAULT_PATH` for a store on an
    object store: SQLite needs a local file).
    """
    if configured is not None:
        return Path(configured)
    if os.environ.get(ENVIRONMENT):
        return Path(os.environ[ENVIRONMENT])
    return beside_store


def default_catalog() -> Path:
    """The catalog the commands read without ``--catalog``: :data:`ENVIRONMENT`'s, else
    :data:`DEFAULT_PATH`."""
    return Path(os.environ.get(ENVIRONMENT) or DEFAULT_PATH)


@contextmanager
def _connect(path: Path, create: bool) -> Iterator[sqlite3.Connection]:
    if not create and not path.exists():
        raise FileNotFoundError(f"no run catalog at {path} (give its path with --catalog)")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Writers queue for up to a minute rather than fail (SQLite's busy timeout).
    with closing(sqlite3.connect(path, timeout=60)) as connection:
        connection.row_factory = sqlite3.Row
        if create:
            _migrate(connection)
        with connection:  # one transaction: committed on success, rolled back on error
            yield connection


def _migrate(connection: sqlite3.Connection) -> None:
    """Create the tables, and add to a catalog of an older version the columns added since."""
    columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS.items())
    connection.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns})")
    present = {row["name"] for row in connection.execute("PRAGMA table_info(runs)")}
    for name, kind in _COLUMNS.items():
        if name not in present:
            connection.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    figures = ", ".join(f"{name} {kind}" for name, kind in RESULT_FIGURES.items())
    connection.execute(
        "CREATE TABLE IF NOT EXISTS results (run_id INTEGER NOT NULL, quantity TEXT NOT NULL, "
        f"{figures}, PRIMARY KEY (run_id, quantity))"
    )


def start_run(path: Path, fields: Mapping[str, Any]) -> int:
    """Record a run as ``running`` and return its id.

    Call it while holding the store's lease: every other run of the same
    store still marked ``running`` cannot be alive, so it is marked
    ``interrupted``.
    """
    row = {**fields, "status": "running"}
    with _connect(path, create=True) as db:
        db.execute(
            "UPDATE runs SET status = 'interrupted', "
            "message = 'its driver stopped without recording an end' "
            "WHERE store = ? AND status = 'running'",
            (row["store"],),
        )
        cursor = db.execute(
            f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            tuple(row.values()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def update_run(
    path: Path,
    run_id: int,
    fields: Mapping[str, Any],
    figures: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Set ``fields`` (column -> value) of run ``run_id``, and record the summary's
    ``figures`` of every checked quantity, if given, in the same transaction."""
    unknown = set(fields) - set(_COLUMNS)
    if unknown:
        raise KeyError(f"the run catalog has no column {sorted(unknown)}")
    names = list(RESULT_FIGURES)
    with _connect(path, create=True) as db:
        db.execute(
            f"UPDATE runs SET {', '.join(f'{key} = ?' for key in fields)} WHERE id = ?",
            (*fields.values(), run_id),
        )
        db.executemany(
            f"INSERT OR REPLACE INTO results (run_id, quantity, {', '.join(names)}) "
            f"VALUES (?, ?, {', '.join('?' for _ in names)})",
            [
                (run_id, quantity, *(values[name] for name in names))
                for quantity, values in (figures or {}).items()
            ],
        )


def tag_list(value: str | None) -> list[str]:
    """A run's ``tags`` column (a JSON list) as a list."""
    return json.loads(value) if value else []


def tag(path: Path, run_id: int, tags: Sequence[str]) -> list[str]:
    """Add ``tags`` to run ``run_id``; its tags after."""
    current = tag_list(run(path, run_id)["tags"])
    merged = [*current, *(t for t in tags if t not in current)]
    update_run(path, run_id, {"tags": json.dumps(merged)})
    return merged


def note(path: Path, run_id: int, text: str) -> None:
    """Set the note of run ``run_id``."""
    run(path, run_id)  # KeyError if there is no such run
    update_run(path, run_id, {"note": text})


def flat_config(text: str | None) -> dict[str, Any]:
    """A run's YAML config as ``{"network.transfer": "tanh", ...}`` (lists kept whole)."""
    tree = yaml.safe_load(text) if isinstance(text, str) else {}
    return flatten(tree or {})


def _matches(value: Any, wanted: str) -> bool:
    """Whether a config value holds ``wanted`` as the command line writes it.

    A list holds a value it contains (``sweep.grid.tau=0.05`` matches a run of
    ``[0.02, 0.05]``) and a list whose every value it contains
    (``sweep.grid.tau=[0.05]`` matches it too).
    """
    if isinstance(value, list):
        try:
            parsed = yaml.safe_load(wanted)
        except yaml.YAMLError:
            return False
        asked = parsed if isinstance(parsed, list) else [parsed]
        return all(any(_equal(item, str(one)) for item in value) for one in asked)
    return _equal(value, wanted)


def _equal(value: Any, wanted: str) -> bool:
    """Whether one config value equals ``wanted`` as the command line writes it."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() in (wanted.lower(), {"none": "null"}.get(wanted.lower(), ""))
    if isinstance(value, int | float):
        try:
            return float(value) == float(wanted)
        except ValueError:
            return False
    return str(value) == wanted


def runs(
    path: str | Path | None = None,
    *,
    sweep: str | None = None,
    status: str | None = None,
    verdict: str | None = None,
    since: str | None = None,
    until: str | None = None,
    tag: str | None = None,
    where: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The runs of the catalog at ``path`` that match every filter given, oldest first.

    Indexed by run id.  Besides the catalog's columns, every result figure is
    a column ``QUANTITY.FIGURE`` (``gain.agree``, ``gain.worst_error``, ...)
    and every config key whose value differs among the runs listed is a
    column named by the key (``network.transfer``), so that
    ``runs().query("verdict == 'PASS' and `network.transfer` == 'tanh'")``
    works.  ``where`` filters on config keys, values as the command line
    writes them (a list matches the values it holds); ``since`` and ``until``
    are ISO dates or times, both ends included (``until`` a date: that whole
    day; UTC where no zone is given); ``tag`` one tag.  Counts are integers, with
    ``<NA>`` where a run recorded none.
    """
    path = Path(path) if path is not None else default_catalog()
    with _connect(path, create=False) as db:
        rows = [dict(row) for row in db.execute("SELECT * FROM runs ORDER BY id")]
        present = {row["name"] for row in db.execute("PRAGMA table_info(runs)")}
        results = [dict(row) for row in _results(db)]
    columns = [name for name in _COLUMNS if name in present]
    frame = pd.DataFrame(rows, columns=columns).set_index("id")
    for column in _COLUMNS:
        if column not in frame.columns and column != "id":
            frame[column] = None
    for column in ("started", "finished"):
        frame[column] = pd.to_datetime(frame[column], format="ISO8601", utc=True)
    configs = {run_id: flat_config(text) for run_id, text in frame["config"].items()}
    keep = pd.Series(True, index=frame.index)
    if sweep is not None:
        keep &= frame["sweep"] == sweep
    if status is not None:
        keep &= frame["status"] == status
    if verdict is not None:
        keep &= frame["verdict"] == verdict
    if since is not None:
        keep &= frame["started"] >= _stamp(since)
    if until is not None:
        keep &= frame["started"] <= _stamp(until, end_of_day=True)
    if tag is not None:
        keep &= frame["tags"].map(lambda value: tag in tag_list(value))
    for key, wanted in (where or {}).items():
        keep &= pd.Series(
            {
                run_id: key in config and _matches(config[key], wanted)
                for run_id, config in configs.items()
            },
            dtype=bool,
        ).reindex(frame.index, fill_value=False)
    frame = frame[keep]
    for figure_row in results:
        run_id = figure_row["run_id"]
        if run_id in frame.index:
            for name in RESULT_FIGURES:
                frame.loc[run_id, f"{figure_row['quantity']}.{name}"] = figure_row[name]
    for name, kind in RESULT_FIGURES.items():
        for column in [c for c in frame.columns if c.endswith(f".{name}")]:
            if kind == "INTEGER":
                frame[column] = frame[column].astype("Int64")
    for column, kind in _COLUMNS.items():
        # A column with a missing value would otherwise read as float: 36.0 points.
        if kind.startswith("INTEGER") and column in frame.columns:
            frame[column] = frame[column].astype("Int64")
    listed = [configs[run_id] for run_id in frame.index]
    # Keys that name a catalog column too (``tags``) are in that column already.
    keys = sorted({key for config in listed for key in config} - set(_COLUMNS))
    for key in keys:
        values = [config.get(key) for config in listed]
        if any(value != values[0] for value in values[1:]):
            frame[key] = [_cell(value) for value in values]
    return frame


def _stamp(text: str, end_of_day: bool = False) -> pd.Timestamp:
    """An ISO date or time as a UTC timestamp (UTC where it names no zone); a date alone
    is its first instant, or with ``end_of_day`` its last."""
    stamp = pd.Timestamp(text)
    if end_of_day and len(text.strip()) == len("2026-12-07"):
        stamp += pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return stamp if stamp.tzinfo else stamp.tz_localize("UTC")


def _cell(value: Any) -> Any:
    """A config value as a DataFrame cell: lists as their YAML text."""
    return (
        yaml.safe_dump(value, default_flow_style=True).strip() if isinstance(value, list) else value
    )


def _results(db: sqlite3.Connection, run_id: int | None = None) -> list[sqlite3.Row]:
    """Rows of the ``results`` table (of one run), none in a catalog older than the table."""
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'results'"
    if db.execute(query).fetchone() is None:
        return []
    if run_id is None:
        return db.execute("SELECT * FROM results ORDER BY rowid").fetchall()
    return db.execute("SELECT * FROM results WHERE run_id = ? ORDER BY rowid", (run_id,)).fetchall()


def run(path: str | Path, run_id: int) -> dict[str, Any]:
    """Every column of run ``run_id``, and its result figures under ``results``; KeyError if
    there is none."""
    with _connect(Path(path), create=False) as db:
        row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        figures = _results(db, run_id)
    if row is None:
        raise KeyError(f"no run {run_id} in the catalog at {path}")
    fields = dict(row)
    fields.setdefault("tags", None)
    fields.setdefault("note", None)
    fields["results"] = {
        figure["quantity"]: {name: figure[name] for name in RESULT_FIGURES} for figure in figures
    }
    return fields


def compare(path: str | Path, run_ids: Sequence[int]) -> pd.DataFrame:
    """Runs side by side, one column each: the config keys that differ, the code
    versions, the verdicts and point counts, and every result figure."""
    listed = runs(path)
    missing = [run_id for run_id in run_ids if run_id not in listed.index]
    if missing:
        raise KeyError(f"no run {missing[0]} in the catalog at {path}")
    chosen = listed.loc[list(run_ids)]
    configs = [flat_config(text) for text in chosen["config"]]
    keys = sorted({key for config in configs for key in config})
    differing = {
        key: [_cell(config.get(key)) for config in configs]
        for key in keys
        if key not in _COLUMNS
        if any(config.get(key) != configs[0].get(key) for config in configs[1:])
    }
    rows: dict[str, list[Any]] = {
        "sweep": chosen["sweep"].tolist(),
        **differing,
        "tags": [", ".join(tag_list(value)) for value in chosen["tags"]],
        "code_version": [_short_commit(text) for text in chosen["code_version"]],
        "status": chosen["status"].tolist(),
        "verdict": chosen["verdict"].tolist(),
        **{column: chosen[column].tolist() for column in COUNT_COLUMNS.values()},
    }
    for column in listed.columns:
        if "." in column and column.split(".", 1)[1] in RESULT_FIGURES:
            rows[column] = chosen[column].tolist()
    cells = {key: [cell_text(value) for value in values] for key, values in rows.items()}
    table = pd.DataFrame.from_dict(cells, orient="index", columns=[f"run {i}" for i in run_ids])
    return table.rename(index=lambda key: key.removeprefix("points_"))


def _short_commit(text: str) -> str:
    """A git commit as its first 12 hex digits (as ``git log --abbrev=12``), ``-dirty`` kept;
    anything else (a package version) whole."""
    commit, dash, rest = text.partition("-")
    if len(commit) == 40 and all(c in "0123456789abcdef" for c in commit):
        return commit[:12] + dash + rest
    return text


def cell_text(value: Any) -> str:
    """A table cell: numbers to the digits that tell them apart, missing values as '-'."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}"
    if isinstance(value, float):
        return str(int(value))
    return str(value)
