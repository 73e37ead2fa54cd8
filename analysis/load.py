"""Loaders for notebooks: a run by path or catalog id, lazily; the input ``h(t)``; many runs as one.

    from analysis.load import open_run, input_timecourse, open_runs

    ds = open_run(7, catalog="results/catalog.sqlite")  # or open_run("results/autapse.zarr")
    point = ds.sel(lam=0.5, tau=0.05)
    point.rate.plot(); input_timecourse(point).plot()  # the response and its input, one axis
    plt.ylabel("rate v(t), input h(t) [Hz]")  # xarray labels the axis by the last curve only

Every store is opened with Dask (the store's chunks): nothing is read until
``.compute()``, ``.values`` or a plot asks for it, and every analysis
function (:mod:`analysis.checks`, :mod:`analysis.summary`) works on such a
dataset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from analysis.combine import join_runs
from pipeline.records import catalog as run_catalog

RunRef = int | str | os.PathLike
"""A run: its id in a run catalog, or the path (or URL) of its store."""


def store_of(run: RunRef, catalog: str | os.PathLike | None = None) -> str:
    """The store of ``run``: a catalog id looked up in ``catalog`` (default: the one the
    runs record into, :func:`pipeline.records.catalog.default_catalog`), or a path as it is."""
    if isinstance(run, int) and not isinstance(run, bool):
        return run_catalog.run(catalog or run_catalog.default_catalog(), run)["store"]
    return os.fspath(run)


def open_run(
    run: RunRef, catalog: str | os.PathLike | None = None, **open_kwargs: Any
) -> xr.Dataset:
    """The store of ``run`` (catalog id or path), opened lazily with ``xr.open_zarr``.

    ``open_kwargs`` go to :func:`xarray.open_zarr` (for instance ``chunks``).
    """
    return xr.open_zarr(store_of(run, catalog), **open_kwargs)


def input_timecourse(ds: xr.Dataset) -> xr.DataArray:
    """The input ``h(t)`` of every point, on the dimensions of ``ds.rate`` (lazily where it is).

    ``h(t) = 0`` before ``onset`` and from ``offset`` on; in between ``h``, or,
    for a step that holds a sequence of inputs, ``h`` of epoch ``k`` from
    ``epoch_start[k]`` to the next start.  A sample within a billionth of a
    recording step of a switch takes the input after it, as the solvers do.
    """
    time = ds["time"]
    onset, offset = float(ds["onset"]), float(ds["offset"])
    h = ds["h"].drop_vars("epoch", errors="ignore")
    starts = ds["epoch_start"].values if "epoch" in h.dims else np.array([onset])
    if "epoch" not in h.dims:
        h = h.expand_dims("epoch")
    dt = float(time[1] - time[0]) if time.size > 1 else 1.0
    switches = np.append(starts, offset)
    # Piece 0 before the step, 1..K its epochs, K + 1 after it.
    piece = np.searchsorted(switches, time.values + 1e-9 * dt, side="right")
    off = xr.zeros_like(h.isel(epoch=[0]))
    pieces = xr.concat([off, h, off], dim="epoch")
    shaped = pieces.isel(epoch=xr.DataArray(piece, dims="time", coords={"time": time}))
    return shaped.transpose(*ds["rate"].dims).assign_attrs(
        long_name="input h(t)", units=ds["h"].attrs.get("units", "Hz")
    )


def open_runs(
    runs: Iterable[RunRef],
    catalog: str | os.PathLike | None = None,
    *,
    tree: bool = False,
    **open_kwargs: Any,
) -> xr.Dataset | xr.DataTree:
    """Several runs (the stores of a multirun, say) as one dataset, or as a tree.

    By default one :class:`xarray.Dataset` along the config keys in which the
    runs differ (:func:`analysis.combine.join_runs`): runs of
    ``sweep.grid.tau=[0.02],[0.05]`` as one ``tau`` axis, runs of
    ``stimulus.amplitude=1,2`` along a new ``amplitude`` axis; each point keeps
    the store it came from in the coordinate ``store``.

    With ``tree=True`` an :class:`xarray.DataTree`, one node per run, named by
    its store (``results/tau0.02.zarr`` -> ``tau0.02``), each with its own
    dataset and attributes (config, fingerprint, code version).
    """
    nodes: dict[str, xr.Dataset] = {}
    for run in runs:
        path = store_of(run, catalog)
        name = Path(path.rstrip("/")).name.removesuffix(".zarr")
        if name in nodes:
            raise ValueError(f"two runs' stores are both named {name!r}: give distinct stores")
        nodes[name] = open_run(path, **open_kwargs)
    if tree:
        return xr.DataTree.from_dict(nodes)
    return join_runs(nodes)
