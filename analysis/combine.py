"""The runs of a multirun as one dataset, along the config keys in which they differ.

Each store records the config that shaped its results (root attribute
``config``).  Runs that differ only in grid values (``sweep.grid.tau=[0.02],[0.05]``)
are pieces of one larger grid: they are put together by their coordinates.
Runs that differ in other keys (``stimulus.amplitude=1,2``) gain one new
dimension per such key, named by its last part (``amplitude``) unless that
name is taken, then by the whole key (``stimulus.amplitude``).  Attributes
that differ between runs (the config, the fingerprint) are dropped from the
joined dataset and kept per run in the coordinate ``store`` and in
:func:`differing_keys`; the tree of :func:`analysis.load.open_runs` keeps them whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
import yaml

from pipeline.config.flat import flatten

GRID = "sweep.grid."
"""The prefix of the config keys that are the grid's dimensions."""

JOIN = {
    "coords": "different",
    "compat": "equals",
    "join": "exact",
    "combine_attrs": "drop_conflicts",
}
"""How variables and attributes meet, said explicitly: xarray warns that its defaults change."""


def run_config(ds: xr.Dataset) -> dict[str, Any]:
    """The flat config (``network.kind``, ``sweep.grid.tau``, ...) a store records."""
    return flatten(yaml.safe_load(ds.attrs.get("config", "")) or {})


def differing_keys(datasets: Mapping[str, xr.Dataset]) -> dict[str, list[Any]]:
    """The config keys whose values are not the same in every run, with each run's value."""
    configs = [run_config(ds) for ds in datasets.values()]
    keys = sorted(set().union(*configs))
    values = {key: [config.get(key) for config in configs] for key in keys}
    return {key: vs for key, vs in values.items() if len({repr(v) for v in vs}) > 1}


def join_runs(datasets: Mapping[str, xr.Dataset]) -> xr.Dataset:
    """One dataset from runs named by their stores, along the keys in which they differ.

    Raises ``ValueError`` naming the keys where the runs cannot form one grid:
    grid values and other keys both differ, the runs sweep different
    dimensions.
    """
    if not datasets:
        raise ValueError("no runs to join")
    names = list(datasets)
    differ = differing_keys(datasets)
    grid_keys = [key for key in differ if key.startswith(GRID)]
    other_keys = [key for key in differ if not key.startswith(GRID)]
    if grid_keys and other_keys:
        raise ValueError(
            f"the runs differ in grid values ({', '.join(grid_keys)}) and in "
            f"{', '.join(other_keys)}: open them as a tree (open_runs(..., tree=True))"
        )
    stamped = [ds.assign_coords(store=name) for name, ds in datasets.items()]
    if grid_keys:
        return _by_grid(stamped, grid_keys)
    return _along_keys(stamped, names, {key: differ[key] for key in other_keys})


def _by_grid(datasets: Sequence[xr.Dataset], keys: Sequence[str]) -> xr.Dataset:
    """Pieces of one grid, placed by their coordinates (each run's ``store`` along them)."""
    dims = {key.removeprefix(GRID) for key in keys}
    spread = [
        ds.assign_coords(store=ds["store"].expand_dims(sorted(dims & set(ds.dims))))
        for ds in datasets
    ]
    try:
        return xr.combine_by_coords(spread, data_vars="all", **JOIN)
    except ValueError as err:
        raise ValueError(
            f"the runs' grids ({', '.join(sorted(keys))}) do not fit together into one: {err}"
        ) from None


def _along_keys(
    datasets: Sequence[xr.Dataset], names: Sequence[str], differ: Mapping[str, list[Any]]
) -> xr.Dataset:
    """Runs along a new dimension per differing key: the whole product where the runs
    fill it, else one ``run`` axis with a coordinate per key."""
    taken = set(datasets[0].variables)
    values = {_dim_name(key, taken): [_scalar(v) for v in vs] for key, vs in differ.items()}
    joined = xr.concat(datasets, dim="run", data_vars="all", **JOIN)
    joined = joined.assign_coords({dim: ("run", vs) for dim, vs in values.items()})
    combos = set(zip(*values.values(), strict=True)) if values else set()
    if len(combos) < len(names):
        # Nothing tells the runs apart (repeats) or two share every value: keep them in order.
        return joined.assign_coords(run=list(names))
    if len(values) == 1:
        return joined.swap_dims(run=next(iter(values)))
    indexed = joined.set_index(run=list(values))
    if len(combos) == int(np.prod([len(set(vs)) for vs in values.values()])):
        return indexed.unstack("run")
    return indexed


def _scalar(value: Any) -> Any:
    """A config value as a coordinate can hold it: lists and mappings as their YAML text."""
    return value if isinstance(value, (bool, int, float, str)) else yaml.safe_dump(value).strip()


def _dim_name(key: str, taken: set[Any]) -> str:
    """``stimulus.amplitude`` as ``amplitude``, or whole where ``amplitude`` is taken."""
    last = key.rsplit(".", 1)[-1]
    return key if last in taken else last
