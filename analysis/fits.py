"""Fits of an exponential approach to uniformly sampled activity.

A first-order linear system with constant input, sampled every ``dt``,
follows ``x_k = x_inf + A r^k`` with ``r = exp(-dt / tau_eff)``: successive
differences ``d_k = x_{k+1} - x_k`` form a geometric sequence.  The ratio is
fitted by least squares,

    r = sum_k d_{k+1} conj(d_k) / sum_k |d_k|^2,

and the asymptote follows from the last sample, ``x_inf = x_m + d_{m-1} r / (1 - r)``.
Both are exact for exact data, need no initial guess, hold for decay
(``r < 1``), growth (``r > 1``) and rotation (complex ``r``), and vectorise
over any number of sweep points.  When the window covers many time constants
the asymptote is the plateau itself.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

RESOLUTION = 1e-9
"""The second difference must be at least this fraction of the first for ``r`` to be measured."""


def exponential_fit(signal: xr.DataArray, dim: str = "time") -> xr.Dataset:
    """Fit ``x_k = x_inf + A r^k`` to ``signal`` along ``dim``.

    Samples that are not finite (after a divergence) are left out of the sums.

    Returns
    -------
    Dataset with
        ``ratio``: r, the factor by which the distance to the asymptote shrinks per sample;
        ``asymptote``: x_inf (meaningless unless ``|r| < 1``);
        ``resolved``: whether the samples determine ``r`` (at least two
        differences above round-off, and a window of at least three samples).
    """
    d = signal.diff(dim, label="lower").drop_vars(dim, errors="ignore")
    d0 = d.isel({dim: slice(None, -1)})
    d1 = d.isel({dim: slice(1, None)})
    valid = np.isfinite(d0) & np.isfinite(d1)
    numerator = xr.where(valid, d1 * np.conj(d0), 0).sum(dim)
    denominator = xr.where(valid, abs(d0) ** 2, 0).sum(dim)
    ratio = numerator / xr.where(denominator > 0, denominator, np.nan)
    last_step = d.isel({dim: -1})
    asymptote = signal.isel({dim: -1}, drop=True) + last_step * ratio / (1 - ratio)
    if d.sizes[dim] < 2:
        resolved = xr.zeros_like(last_step, dtype=bool)
    else:
        first, second = abs(d.isel({dim: 0})), abs(d.isel({dim: 1}))
        resolved = (first > 0) & (second > RESOLUTION * first)
    return xr.Dataset({"ratio": ratio, "asymptote": asymptote, "resolved": resolved})
