"""The report after a run: the store opened once more, its figures and page written beside it.

Imported only where a run writes a report, so that ``report=false`` does
not pay for matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from analysis.summary import Summary


def write_store_report(path: Path, summary: Summary) -> Path:
    """Write the report of the store at ``path`` with its run's ``summary``; the page's path."""
    from analysis.report import write_report  # matplotlib: only when a report is written

    # No Dask: each figure reads its slice straight from the store.
    with xr.open_zarr(path, chunks=None) as ds:
        return write_report(ds, path, summary)
