"""``python -m pipeline.catalog list|show|compare|tag|note``: the run catalog from a shell.

The catalog itself (:mod:`pipeline.records.catalog`) holds the runs; this
module prints them.  ``list`` prints one line per run; ``list --json`` writes
real JSON: numbers to full precision, the config as an object, overrides and
tags as lists.  Comparisons are wrapped to the terminal's width.  Output into
a pipe closed early (``| head``) ends quietly.  Tags and notes of a run that
was logged to MLflow are sent there too.  Exit 0, or 1 for a missing
catalog, an unknown run or a bad option value, said on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipeline.records import tracking
from pipeline.records.catalog import (
    DEFAULT_PATH,
    ENVIRONMENT,
    LIST_COLUMNS,
    RESULT_FIGURES,
    cell_text,
    compare,
    default_catalog,
    flat_config,
    note,
    run,
    runs,
    tag,
    tag_list,
)

GRID = "sweep.grid."
"""The prefix of config keys that are sweep dimensions of a run's store."""


def json_records(frame: pd.DataFrame, columns: Sequence[str] = ()) -> str:
    """The rows of :func:`pipeline.records.catalog.runs` as JSON records (``columns`` of
    them, after the id, where given).

    Floats keep every digit (a worst error of 1e-13 is 1e-13, not 0.0), the
    config is an object, overrides and tags are lists, config-key columns
    hold the config's own values, missing values are null.
    """
    records = []
    for run_id, row in frame.iterrows():
        config = flat_config(row["config"])
        record: dict[str, Any] = {"id": int(run_id)}
        for column in columns or frame.columns:
            value = row[column]
            if column in config and not _is_figure(column) and "." in str(column):
                record[column] = config[column]  # a config key's own value, not its text
            else:
                record[column] = _json_value(column, value)
        records.append(record)
    return json.dumps(records, indent=1, allow_nan=False)


def _json_value(column: str, value: Any) -> Any:
    """One catalog cell as JSON: text columns that hold YAML or JSON parsed, numbers as numbers."""
    if column == "tags":
        return tag_list(value if isinstance(value, str) else None)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if column == "config":
        return yaml.safe_load(value)
    if column == "overrides":
        return json.loads(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _list(path: Path, filters: Mapping[str, Any], columns: Sequence[str], as_json: bool) -> str:
    frame = runs(path, **filters)
    unknown = [column for column in columns if column not in frame.columns]
    if unknown:
        raise ValueError(
            f"--columns: no column {unknown[0]!r} in these runs; they have "
            + ", ".join(str(c) for c in frame.columns)
        )
    if as_json:
        return json_records(frame, columns)
    if frame.empty:
        return f"no runs in {path}" + (" match" if any(filters.values()) else "")
    shown = frame[list(columns) or list(LIST_COLUMNS)].copy()
    if "tags" in shown:
        shown["tags"] = shown["tags"].map(lambda value: ",".join(tag_list(value)))
    for stamp in ("started", "finished"):
        if stamp in shown:
            shown[stamp] = shown[stamp].dt.strftime("%Y-%m-%d %H:%M")
    shown = shown.rename(columns={"blocks_computed": "blocks"})
    return shown.rename(columns=lambda c: c.removeprefix("points_")).to_string()


def _table(frame: pd.DataFrame) -> str:
    """A comparison as text, its columns (runs) wrapped in blocks to the terminal's width
    (``$COLUMNS``, else 80)."""
    return frame.to_string(line_width=shutil.get_terminal_size().columns)


def _show(path: Path, run_id: int) -> str:
    fields = run(path, run_id)
    config = fields.pop("config") or ""
    results = fields.pop("results")
    fields["tags"] = ", ".join(tag_list(fields["tags"]))
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


def by_value(path: Path, run_ids: Sequence[int], key: str) -> pd.DataFrame:
    """What each run found, one column per run and value of config key ``key``.

    A grid key (``sweep.grid.tau``) is broken down by reading each run's store:
    the points of each of its values tallied as the summary tallies a store.
    Any other key has one value per run, whose figures the catalog holds.
    """
    from analysis.load import open_run
    from analysis.summary import coordinate_labels, quantity_figures, store_tally

    listed = runs(path)
    missing = [run_id for run_id in run_ids if run_id not in listed.index]
    if missing:
        raise KeyError(f"no run {missing[0]} in the catalog at {path}")
    columns: dict[str, dict[str, Any]] = {}
    for run_id in run_ids:
        row = listed.loc[run_id]
        config = flat_config(row["config"])
        if key not in config:
            raise ValueError(f"--by {key}: run {run_id} has no config key {key!r}")
        if not key.startswith(GRID):
            figures = {c: row[c] for c in listed.columns if _is_figure(c)}
            columns[f"run {run_id} {key.rsplit('.', 1)[-1]}={config[key]}"] = figures
            continue
        dim = key.removeprefix(GRID)
        try:
            ds = open_run(row["store"])
        except (FileNotFoundError, KeyError, OSError) as err:
            store = row["store"]
            raise FileNotFoundError(f"--by {key}: run {run_id}'s store {store}: {err}") from None
        values = ds[dim].values
        for index, label in enumerate(coordinate_labels(values)):
            tally = store_tally(ds.isel({dim: [index]}))
            columns[f"run {run_id} {dim}={label}"] = {
                f"{quantity}.{name}": value
                for quantity, counted in tally.quantities.items()
                for name, value in quantity_figures(counted).items()
            }
    table = pd.DataFrame(columns)
    return table.map(cell_text)


def _is_figure(column: str) -> bool:
    return "." in str(column) and str(column).split(".", 1)[1] in RESULT_FIGURES


def _where(pairs: Sequence[str]) -> dict[str, str]:
    where = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--where takes KEY=VALUE (network.transfer=tanh), got {pair!r}")
        where[key] = value
    return where


def _tracked(path: Path, run_id: int, tags: Sequence[str] = (), text: str | None = None) -> str:
    """Send a run's new tags or note to MLflow where the run was logged; why not, if it failed."""
    fields = run(path, run_id)
    if not fields.get("mlflow_run_id"):
        return ""
    failed = tracking.annotate(fields["mlflow_uri"], fields["mlflow_run_id"], tags, text)
    if failed:
        print(f"warning: {failed}; the catalog has it", file=sys.stderr)
        return ""
    return " (and in MLflow)"


def _emit(text: str) -> None:
    """Print ``text``; a reader that has gone (``| head``) is no error."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the failed flush at exit: point stdout at nothing first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _parser() -> argparse.ArgumentParser:
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
        "--until", help="only runs started at or before this ISO date (that whole day) or time"
    )
    listing.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only runs whose config has this value, or a list holding it (repeatable): "
        "--where network.transfer=tanh --where sweep.grid.tau=0.05",
    )
    listing.add_argument(
        "--columns",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        default=[],
        metavar="A,B,...",
        help="the columns to print, after the run id (any of --json's: gain.worst_error, ...)",
    )
    listing.add_argument("--json", action="store_true", help="every column, as JSON records")
    show = commands.add_parser("show", parents=[common], help="every field of one run")
    show.add_argument("id", type=int)
    comparing = commands.add_parser(
        "compare", parents=[common], help="runs side by side: what differs, what they found"
    )
    comparing.add_argument("ids", type=int, nargs="+")
    comparing.add_argument(
        "--by",
        metavar="KEY",
        help="what each run found per value of this config key (sweep.grid.tau: read from "
        "the stores)",
    )
    tagging = commands.add_parser("tag", parents=[common], help="add tags to a run")
    tagging.add_argument("id", type=int)
    tagging.add_argument("tags", nargs="+")
    noting = commands.add_parser("note", parents=[common], help="set the note of a run")
    noting.add_argument("id", type=int)
    noting.add_argument("text")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.catalog list|show|compare|tag|note``: exit 1 on an unknown run."""
    args = _parser().parse_args(argv)
    path = getattr(args, "catalog", None) or default_catalog()
    try:
        if args.command == "list":
            filters = {key: getattr(args, key) for key in ("sweep", "status", "verdict", "tag")}
            filters.update(since=args.since, until=args.until, where=_where(args.where))
            text = _list(path, filters, args.columns, args.json)
        elif args.command == "show":
            text = _show(path, args.id)
        elif args.command == "compare" and args.by:
            text = _table(by_value(path, args.ids, args.by))
        elif args.command == "compare":
            text = _table(compare(path, args.ids))
        elif args.command == "tag":
            text = f"run {args.id}: tags " + ", ".join(tag(path, args.id, args.tags))
            text += _tracked(path, args.id, tags=args.tags)
        else:
            note(path, args.id, args.text)
            text = f"run {args.id}: note set" + _tracked(path, args.id, text=args.text)
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 1
    _emit(text)
    return 0
