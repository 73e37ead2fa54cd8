"""The report after a run: the store opened once more, its figures and page written beside it.

Imported only where a run writes a report, so that ``report=false`` does
not pay for matplotlib.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from analysis.summary import Summary
from pipeline.records import catalog

if TYPE_CHECKING:
    from pipeline.run.execute import RunResult

# The run logs INFO to the terminal (hydra/job_logging: stdout); matplotlib's
# "generated new fontManager" of a first run is not the user's business.
logging.getLogger("matplotlib").setLevel(logging.WARNING)


def record_report(result: RunResult, folder: Path) -> list[str]:
    """Record the report's ``folder`` in the run's catalog row; a warning if it cannot be."""
    try:
        catalog.update_run(result.catalog, result.run_id, {"report": str(folder)})
    except (sqlite3.Error, OSError) as err:
        return [f"warning: could not record the report in {result.catalog}: {err}"]
    return []


def report_folder(result: RunResult, configured: str | None) -> Path:
    """Where the report of ``result`` goes: ``report_dir`` if given, else beside the store
    (``<store>.report/``), or beside the run's catalog for a store that is no local folder
    (``results/<name>.report/`` by default)."""
    from analysis.report import report_directory

    if configured is not None:
        return Path(configured)
    return report_directory(result.store.folder or result.catalog.parent / result.store.name)


def write_store_report(result: RunResult, summary: Summary, folder: Path) -> Path:
    """Write the report of ``result``'s store with its run's ``summary`` into ``folder``;
    the page's path."""
    from analysis.report import write_report  # matplotlib: only when a report is written

    # No Dask: each figure reads its slice straight from the store.
    with xr.open_zarr(result.store.zarr_store(read_only=True), chunks=None) as ds:
        return write_report(ds, result.store.folder or str(result.store), summary, folder)
