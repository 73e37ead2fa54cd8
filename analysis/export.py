"""Export a store to netCDF with its provenance: structured attributes kept as JSON strings.

netCDF attributes hold strings and numbers only; a store's root attributes
``code``, ``point_counts`` and ``history`` are dicts and lists, and a check's
``quantities`` a list of names.  :func:`netcdf_safe` writes each such
attribute as a JSON string and lists their names in the root attribute
``json_attributes`` (``variable:attribute``, or ``attribute`` for the root);
:func:`open_netcdf` turns them back.  Verdict variables keep their CF
``flag_values`` and ``flag_meanings``, which netCDF tools decode.

    from analysis.export import to_netcdf, open_netcdf
    to_netcdf(ds, "autapse.nc")
    back = open_netcdf("autapse.nc")  # back.attrs["code"] is a dict again
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import xarray as xr

JSON_ATTRIBUTES = "json_attributes"
"""Root attribute naming every attribute written as JSON, space-separated."""


def _plain(value: Any) -> bool:
    """Whether netCDF holds ``value`` as it is: a string, a number, or numbers."""
    if isinstance(value, str):
        return True
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | float | np.number):
        return True
    if isinstance(value, list | tuple | np.ndarray):
        array = np.asarray(value)
        return array.size > 0 and array.dtype.kind in "iuf"
    return False


def _encode(attrs: Mapping[Hashable, Any], prefix: str, names: list[str]) -> dict[Hashable, Any]:
    encoded = {}
    for key, value in attrs.items():
        if _plain(value):
            encoded[key] = value
        else:
            encoded[key] = json.dumps(value, default=str)
            names.append(f"{prefix}{key}")
    return encoded


def netcdf_safe(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` (lazy or not) with every attribute netCDF cannot hold as a JSON string."""
    names: list[str] = []
    safe = ds.drop_encoding()
    for name, variable in safe.variables.items():
        variable.attrs = _encode(variable.attrs, f"{name}:", names)
    safe.attrs = _encode(ds.attrs, "", names)
    safe.attrs[JSON_ATTRIBUTES] = " ".join(names)
    return safe


def to_netcdf(ds: xr.Dataset, path: str | os.PathLike, **kwargs: Any) -> None:
    """Write ``ds`` to the netCDF file ``path`` (see :func:`netcdf_safe`); ``kwargs`` go to
    :meth:`xarray.Dataset.to_netcdf`."""
    netcdf_safe(ds).to_netcdf(path, **kwargs)


def from_netcdf_attrs(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` read from a file of :func:`to_netcdf`, its JSON attributes decoded again."""
    names = ds.attrs.pop(JSON_ATTRIBUTES, "").split()
    for entry in names:
        variable, _, key = entry.rpartition(":")
        attrs = ds[variable].attrs if variable else ds.attrs
        attrs[key] = json.loads(attrs[key])
    return ds


def open_netcdf(path: str | os.PathLike, **kwargs: Any) -> xr.Dataset:
    """Open a file written by :func:`to_netcdf`, with its structured attributes as they were."""
    return from_netcdf_attrs(xr.open_dataset(path, **kwargs))
