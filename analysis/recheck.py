"""A store checked again by this code: its theory check re-run on the stored trajectories.

Works on a store opened lazily (``xr.open_zarr``, Dask-backed): the check
builds a graph.  :func:`recheck_once` computes that graph once, chunk by
chunk, into a temporary Zarr store, so the summary
(:func:`analysis.summary.store_tally`) and every figure of the report read
the same results instead of running the check again on the chunks their
slices cross; a store larger than memory is re-analysed in bounded memory.
Nothing is simulated again and nothing is written to the store.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import xarray as xr
import yaml

from analysis.checks import CHECKS, run_check
from analysis.summary import slab_rows
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


def per_point(result: xr.Dataset) -> list[str]:
    """The variables of a check's ``result`` with no ``time`` dimension: its per-point results.

    A trajectory the check derives (the pair check's ``mode_activity``) is as
    large as ``rate`` and neither the summary nor a figure reads it: it stays lazy.
    """
    return [str(name) for name, var in result.data_vars.items() if "time" not in var.dims]


@contextmanager
def recheck_once(ds: xr.Dataset) -> Iterator[xr.Dataset]:
    """``ds`` with its theory check computed again by this code, once per chunk.

    The check's per-point results (:func:`per_point`) are computed in one
    Dask graph, chunk by chunk, and written to a temporary Zarr store that
    lasts as long as the ``with`` block; the Dataset yielded reads them from
    there, lazily.  So every chunk's trajectories are read and checked once,
    whatever the summary and the figures read afterwards.
    """
    result = run_check(ds["check"].attrs["check"], ds, check_settings(ds))
    names = per_point(result)
    # Written a slab of chunks at a time, uncompressed: the summary reads it back in the same
    # slabs, and many small compressed chunks cost as much again as the check (benchmarks/).
    status = ds["status"]
    shared = result[names].chunk({status.dims[0]: slab_rows(status)})
    for variable in shared.variables.values():
        variable.encoding = {}  # the chunks of the computation, not those of the store read
    plain = {name: {"compressors": None} for name in names}
    with tempfile.TemporaryDirectory(prefix="rate-sweeps-recheck-") as directory:
        shared.to_zarr(directory, mode="w", consolidated=False, zarr_format=2, encoding=plain)
        with xr.open_zarr(directory, consolidated=False) as stored:
            yield ds.assign(result.drop_vars(names).data_vars).assign(stored[names].data_vars)
