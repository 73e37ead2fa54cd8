"""Mode coordinates: in ``c = Phi^-1 v`` every mode of a linear network is an autapse.

With ``M = Phi Lambda Phi^-1`` the rate model decouples into

    tau dc_a/dt = -(1 - lam_a) c_a + (Phi^-1 h)_a,

so each mode can be measured on its own.  Every function works on lazily
loaded (Dask-backed) datasets.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def mode_coordinates(inverse: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Phi^-1 v`` for stacks of points: one ``(n, n) x (n, k)`` product per point.

    A point's result depends only on its own values, not on how many points
    share the stack.

    Parameters
    ----------
    inverse : (..., n, n) ndarray
        ``Phi^-1``, the inverse of the eigenvectors (one column per mode).
    v : (..., n, k) ndarray
        ``k`` vectors in neuron coordinates.

    Returns
    -------
    (..., n, k) ndarray
    """
    return np.matmul(inverse, v)


def eigenvector_inverse(ds: xr.Dataset) -> xr.DataArray:
    """``Phi^-1`` of every point, dims (..., mode, neuron).

    The pipeline hands each check the inverse its block computed
    (``eigenvectors_inverse``); for a dataset without it (a store opened in a
    notebook) it is computed from ``eigenvectors``, with the same result.
    """
    if "eigenvectors_inverse" in ds:
        return ds["eigenvectors_inverse"]
    eigenvectors = ds["eigenvectors"]
    return xr.apply_ufunc(
        np.linalg.inv,
        eigenvectors,
        input_core_dims=[["neuron", "mode"]],
        output_core_dims=[["mode", "neuron"]],
        dask="parallelized",
        output_dtypes=[eigenvectors.dtype],
    )


def mode_activity(rate: xr.DataArray, inverse: xr.DataArray) -> xr.DataArray:
    """Activity of every mode, ``c(t) = Phi^-1 v(t)``.

    Parameters
    ----------
    rate : DataArray with dims (..., time, neuron)
    inverse : DataArray with dims (..., mode, neuron)
        ``Phi^-1`` (:func:`eigenvector_inverse`).

    Returns
    -------
    DataArray with dims (..., time, mode), stored with ``time`` varying fastest
    """
    activity = xr.apply_ufunc(
        mode_coordinates,
        inverse.rename(mode="_mode"),
        rate,
        input_core_dims=[["_mode", "neuron"], ["neuron", "time"]],
        output_core_dims=[["mode", "time"]],
        dask="parallelized",
        output_dtypes=[np.result_type(inverse.dtype, rate.dtype)],
        dask_gufunc_kwargs={"output_sizes": {"mode": inverse.sizes["mode"]}},
    )
    return activity.transpose(..., "time", "mode").assign_coords(mode=inverse["mode"])


def mode_input(h: xr.DataArray, inverse: xr.DataArray) -> xr.DataArray:
    """Input to every mode, ``(Phi^-1 h)_a``; dims (..., neuron) -> (..., mode)."""
    return mode_activity(h.expand_dims(time=1), inverse).isel(time=0, drop=True)
