"""The run catalog: one row per run of any sweep, in an embedded SQLite file.

A run is recorded when its driver has taken the store's lease, before it
writes anything, with status ``running``; it ends ``complete`` (every point
ok or diverged), ``incomplete`` (points pending or failed remain), ``error``
(it stopped on an error such as a full disk) or ``interrupted`` (its driver
died: the next driver to take the store's lease marks it).  Runs refused
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
import sqlite3
import sys
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.store.status import STATUS

DEFAULT_PATH = Path("results") / "catalog.sqlite"
"""Where the commands look without ``--catalog``: beside the default stores."""

RUN_STATUSES = ("running", "complete", "incomplete", "error", "interrupted")
"""What the ``status`` column of a run can say (see the module docstring)."""

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
    **{column: "INTEGER" for column in COUNT_COLUMNS.values()},
    "host": "TEXT",
    "pid": "INTEGER",
    "message": "TEXT",
    "config": "TEXT",
}

LIST_COLUMNS = (
    "sweep",
    "status",
    *COUNT_COLUMNS.values(),
    "started",
    "finished",
    "store",
)
"""Columns that ``list`` prints, after the run id."""


def catalog_path(store_path: str | Path, configured: str | None) -> Path:
    """The catalog a run records itself in: ``configured``, or one beside its store (in the
    working directory for a store on an object store: SQLite needs a local file)."""
    if configured is not None:
        return Path(configured)
    if "://" in str(store_path):
        return Path("catalog.sqlite")
    return Path(store_path).parent / "catalog.sqlite"


@contextmanager
def _connect(path: Path, create: bool) -> Iterator[sqlite3.Connection]:
    if not create and not path.exists():
        raise FileNotFoundError(f"no run catalog at {path} (give its path with --catalog)")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=60)) as connection:
        connection.row_factory = sqlite3.Row
        if create:
            columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS.items())
            connection.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns})")
        with connection:  # one transaction: committed on success, rolled back on error
            yield connection


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


def update_run(path: Path, run_id: int, fields: Mapping[str, Any]) -> None:
    """Set ``fields`` (column -> value) of run ``run_id``."""
    unknown = set(fields) - set(_COLUMNS)
    if unknown:
        raise KeyError(f"the run catalog has no column {sorted(unknown)}")
    with _connect(path, create=True) as db:
        db.execute(
            f"UPDATE runs SET {', '.join(f'{key} = ?' for key in fields)} WHERE id = ?",
            (*fields.values(), run_id),
        )


def runs(path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """Every run in the catalog at ``path``, oldest first, indexed by run id."""
    with _connect(Path(path), create=False) as db:
        rows = [dict(row) for row in db.execute("SELECT * FROM runs ORDER BY id")]
    frame = pd.DataFrame(rows, columns=list(_COLUMNS)).set_index("id")
    for column in ("started", "finished"):
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    return frame


def run(path: str | Path, run_id: int) -> dict[str, Any]:
    """Every column of run ``run_id``; KeyError if there is none."""
    with _connect(Path(path), create=False) as db:
        row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise KeyError(f"no run {run_id} in the catalog at {path}")
    return dict(row)


def _list(path: Path) -> str:
    frame = runs(path)
    if frame.empty:
        return f"no runs in {path}"
    shown = frame[list(LIST_COLUMNS)]
    return shown.rename(columns=lambda c: c.removeprefix("points_")).to_string()


def _show(path: Path, run_id: int) -> str:
    fields = run(path, run_id)
    config = fields.pop("config") or ""
    width = max(len(key) for key in fields)
    lines = [f"{key:<{width}}  {value}" for key, value in fields.items()]
    return "\n".join([*lines, "config:", *("  " + line for line in config.splitlines())])


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.catalog list|show ID``: print runs; exit 1 if there are none."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.catalog", description="List and show recorded sweep runs."
    )
    parser.add_argument(
        "--catalog", type=Path, default=DEFAULT_PATH, help=f"default: {DEFAULT_PATH}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="one line per run")
    show = commands.add_parser("show", help="every field of one run, with its config")
    show.add_argument("id", type=int)
    args = parser.parse_args(argv)
    try:
        text = _list(args.catalog) if args.command == "list" else _show(args.catalog, args.id)
    except (FileNotFoundError, KeyError) as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 1
    print(text)
    return 0
