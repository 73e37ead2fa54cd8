"""Mode coordinates: in ``c = Phi^-1 v`` every mode of a linear network is an autapse.

With ``M = Phi Lambda Phi^-1`` the rate model decouples into

    tau dc_a/dt = -(1 - lam_a) c_a + (Phi^-1 h)_a,

so each mode can be measured on its own.  Both functions work on lazily
loaded (Dask-backed) datasets.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def mode_coordinates(phi: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Phi^-1 v`` for stacks of points.

    One inverse and one ``(n, n) x (n, k)`` product per point, rather than a
    linear solve per sample: a point's result depends only on its own values,
    not on how many points share the stack.

    Parameters
    ----------
    phi : (..., n, n) ndarray
        Eigenvectors, one column per mode.
    v : (..., n, k) ndarray
        ``k`` vectors in neuron coordinates.

    Returns
    -------
    (..., n, k) ndarray
    """
    return np.matmul(np.linalg.inv(phi), v)


def mode_activity(rate: xr.DataArray, eigenvectors: xr.DataArray) -> xr.DataArray:
    """Activity of every mode, ``c(t) = Phi^-1 v(t)``.

    Parameters
    ----------
    rate : DataArray with dims (..., time, neuron)
    eigenvectors : DataArray with dims (..., neuron, mode); column ``a`` is mode ``a``

    Returns
    -------
    DataArray with dims (..., time, mode), stored with ``time`` varying fastest
    """
    activity = xr.apply_ufunc(
        mode_coordinates,
        eigenvectors.rename(mode="_mode"),
        rate,
        input_core_dims=[["neuron", "_mode"], ["neuron", "time"]],
        output_core_dims=[["mode", "time"]],
        dask="parallelized",
        output_dtypes=[np.result_type(eigenvectors.dtype, rate.dtype)],
        dask_gufunc_kwargs={"output_sizes": {"mode": eigenvectors.sizes["mode"]}},
    )
    return activity.transpose(..., "time", "mode").assign_coords(mode=eigenvectors["mode"])


def mode_input(h: xr.DataArray, eigenvectors: xr.DataArray) -> xr.DataArray:
    """Input to every mode, ``(Phi^-1 h)_a``; dims (..., neuron) -> (..., mode)."""
    return mode_activity(h.expand_dims(time=1), eigenvectors).isel(time=0, drop=True)
