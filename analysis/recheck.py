"""A store checked again by this code: its theory check re-run on the stored trajectories.

Works on a store opened lazily (``xr.open_zarr``, Dask-backed): the check
builds a graph, and the summary (:func:`analysis.summary.store_tally`) then
computes it a slab of chunks at a time, so a store larger than memory is
re-analysed in bounded memory.  Nothing is simulated again and nothing is
written to the store.
"""

from __future__ import annotations

from typing import Any

import xarray as xr
import yaml

from analysis.checks import CHECKS, run_check
from pipeline.extensions import load_extensions
from pipeline.store.layout import PRODUCER, SCHEMA_VERSION

READABLE_SCHEMAS = range(1, SCHEMA_VERSION + 1)
"""Schema versions whose variables and attributes this code reads: every one up to
the version it writes (each kept the data contract that the checks read)."""


class UnreadableStore(ValueError):
    """A store whose schema this code cannot read (or not a store of this pipeline)."""


def check_readable(ds: xr.Dataset, where: str) -> None:
    """Raise :class:`UnreadableStore`, saying why, unless ``ds`` can be checked again here.

    The checks of installed packages are registered first
    (:func:`pipeline.extensions.load_extensions`), as a run registers them: a
    store checked by another package's check is readable where that package is.
    """
    load_extensions()
    if ds.attrs.get("producer") != PRODUCER:
        raise UnreadableStore(f"{where} is not a store of rate-sweeps (no producer attribute)")
    version = ds.attrs.get("schema_version")
    if version not in READABLE_SCHEMAS:
        raise UnreadableStore(
            f"{where} has schema_version={version!r}; this code reads schema versions "
            f"{READABLE_SCHEMAS.start} to {READABLE_SCHEMAS.stop - 1}: use the code version that "
            f"wrote it ({ds.attrs.get('code')})"
        )
    name = ds["check"].attrs.get("check") if "check" in ds else None
    if name not in CHECKS:
        raise UnreadableStore(
            f"{where} was checked by {name!r}, a check this code does not have "
            f"(it has {', '.join(CHECKS)}); install the package that registers it"
        )


def check_settings(ds: xr.Dataset) -> dict[str, Any]:
    """The ``analysis.*`` settings the store's check was run with (from its ``config``)."""
    return yaml.safe_load(ds.attrs["config"])["analysis"]


def recheck(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with every variable of its theory check computed again by this code, lazily."""
    result = run_check(ds["check"].attrs["check"], ds, check_settings(ds))
    return ds.assign(result.data_vars)
