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

From a shell::

    python -m pipeline.catalog list [--catalog PATH]
    python -m pipeline.catalog show ID [--catalog PATH]

and in a notebook ``pipeline.catalog.runs("results/catalog.sqlite")`` is a
pandas DataFrame indexed by run id.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
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


def _tags(value: str | None) -> list[str]:
    return json.loads(value) if value else []


def tag(path: Path, run_id: int, tags: Sequence[str]) -> list[str]:
    """Add ``tags`` to run ``run_id``; its tags after."""
    current = _tags(run(path, run_id)["tags"])
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
    """Whether a config value equals ``wanted`` as the command line writes it."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() in (wanted.lower(), {"none": "null"}.get(wanted.lower(), ""))
    if isinstance(value, int | float):
        try:
            return float(value) == float(wanted)
        except ValueError:
            return False
    if isinstance(value, list):
        try:
            return value == yaml.safe_load(wanted)
        except yaml.YAMLError:
            return False
    return str(value) == wanted


def runs(
    path: str | Path | None = None,
    *,
    sweep: str | None = None,
    status: str | None = None,
    verdict: str | None = None,
    since: str | None = None,
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
    writes them; ``since`` is an ISO date or time; ``tag`` one tag.
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
        stamp = pd.Timestamp(since)
        keep &= frame["started"] >= (stamp if stamp.tzinfo else stamp.tz_localize("UTC"))
    if tag is not None:
        keep &= frame["tags"].map(lambda value: tag in _tags(value))
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
    listed = [configs[run_id] for run_id in frame.index]
    # Keys that name a catalog column too (``tags``) are in that column already.
    keys = sorted({key for config in listed for key in config} - set(_COLUMNS))
    for key in keys:
        values = [config.get(key) for config in listed]
        if any(value != values[0] for value in values[1:]):
            frame[key] = [_cell(value) for value in values]
    return frame


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
        "tags": [", ".join(_tags(value)) for value in chosen["tags"]],
        "code_version": chosen["code_version"].tolist(),
        "status": chosen["status"].tolist(),
        "verdict": chosen["verdict"].tolist(),
        **{column: chosen[column].tolist() for column in COUNT_COLUMNS.values()},
    }
    for column in listed.columns:
        if "." in column and column.split(".", 1)[1] in RESULT_FIGURES:
            rows[column] = chosen[column].tolist()
    cells = {key: [_text(value) for value in values] for key, values in rows.items()}
    table = pd.DataFrame.from_dict(cells, orient="index", columns=[f"run {i}" for i in run_ids])
    return table.rename(index=lambda key: key.removeprefix("points_"))


def _text(value: Any) -> str:
    """A table cell: numbers to the digits that tell them apart, missing values as '-'."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}"
    if isinstance(value, float):
        return str(int(value))
    return str(value)


def _list(path: Path, filters: Mapping[str, Any], as_json: bool) -> str:
    frame = runs(path, **filters)
    if as_json:
        return frame.reset_index().to_json(orient="records", date_format="iso", indent=1)
    if frame.empty:
        return f"no runs in {path}" + (" match" if any(filters.values()) else "")
    shown = frame[list(LIST_COLUMNS)].copy()
    shown["tags"] = shown["tags"].map(lambda value: ",".join(_tags(value)))
    shown["started"] = shown["started"].dt.strftime("%Y-%m-%d %H:%M")
    shown = shown.rename(columns={"blocks_computed": "blocks"})
    return shown.rename(columns=lambda c: c.removeprefix("points_")).to_string()


def _show(path: Path, run_id: int) -> str:
    fields = run(path, run_id)
    config = fields.pop("config") or ""
    results = fields.pop("results")
    fields["tags"] = ", ".join(_tags(fields["tags"]))
    width = max(len(key) for key in fields)
    lines = [f"{key:<{width}}  {value}" for key, value in fields.items()]
    if results:
        lines.append("results:")
        for quantity, figures in results.items():
            text = ", ".join(
                f"{name} {value}" for name, value in figures.items() if value is not None
            )
            lines.append(f"  {quantity}: {text}")
    return "\n".join([*lines, "config:", *("  " + line for line in config.splitlines())])


def _where(pairs: Sequence[str]) -> dict[str, str]:
    where = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--where takes KEY=VALUE (network.transfer=tanh), got {pair!r}")
        where[key] = value
    return where


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.catalog list|show|compare|tag|note``: exit 1 on an unknown run."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--catalog",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"the catalog file (default: ${ENVIRONMENT}, else {DEFAULT_PATH})",
    )
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.catalog",
        description="List, show, compare, tag and annotate recorded sweep runs.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", parents=[common], help="one line per run")
    for option in ("sweep", "status", "verdict", "tag"):
        listing.add_argument(f"--{option}", help=f"only runs with this {option}")
    listing.add_argument("--since", help="only runs started at or after this ISO date or time")
    listing.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only runs whose config has this value (repeatable): --where network.transfer=tanh",
    )
    listing.add_argument("--json", action="store_true", help="every column, as JSON records")
    show = commands.add_parser("show", parents=[common], help="every field of one run")
    show.add_argument("id", type=int)
    comparing = commands.add_parser(
        "compare", parents=[common], help="runs side by side: what differs, what they found"
    )
    comparing.add_argument("ids", type=int, nargs="+")
    tagging = commands.add_parser("tag", parents=[common], help="add tags to a run")
    tagging.add_argument("id", type=int)
    tagging.add_argument("tags", nargs="+")
    noting = commands.add_parser("note", parents=[common], help="set the note of a run")
    noting.add_argument("id", type=int)
    noting.add_argument("text")
    args = parser.parse_args(argv)
    path = getattr(args, "catalog", None) or default_catalog()
    try:
        if args.command == "list":
            filters = {key: getattr(args, key) for key in ("sweep", "status", "verdict", "tag")}
            filters.update(since=args.since, where=_where(args.where))
            text = _list(path, filters, args.json)
        elif args.command == "show":
            text = _show(path, args.id)
        elif args.command == "compare":
            text = compare(path, args.ids).to_string()
        elif args.command == "tag":
            text = f"run {args.id}: tags " + ", ".join(tag(path, args.id, args.tags))
        else:
            note(path, args.id, args.text)
            text = f"run {args.id}: note set"
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 1
    print(text)
    return 0
