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
    if signal.chunks is not None:
        signal = signal.chunk({dim: -1})
    ratio, asymptote, resolved = xr.apply_ufunc(
        geometric_fit,
        signal,
        input_core_dims=[[dim]],
        output_core_dims=[[], [], []],
        dask="parallelized",
        output_dtypes=[signal.dtype, signal.dtype, bool],
    )
    return xr.Dataset({"ratio": ratio, "asymptote": asymptote, "resolved": resolved})


def geometric_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio, asymptote and resolved flag of the fit along the last axis of ``x``.

    Parameters
    ----------
    x : (..., n_sample) ndarray, real or complex

    Returns
    -------
    ratio, asymptote : (...) ndarray
    resolved : (...) bool ndarray
    """
    d = np.diff(x, axis=-1)
    d0, d1 = d[..., :-1], d[..., 1:]
    numerator, denominator = _lag_sums(d0, d1)
    broken = ~(np.isfinite(numerator) & np.isfinite(denominator))
    if broken.any():
        # Only rows with a non-finite difference: leave those differences out.
        valid = np.isfinite(d0[broken]) & np.isfinite(d1[broken])
        numerator[broken], denominator[broken] = _lag_sums(
            np.where(valid, d0[broken], 0), np.where(valid, d1[broken], 0)
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerator / np.where(denominator > 0, denominator, np.nan)
        asymptote = x[..., -1] + d[..., -1] * ratio / (1 - ratio)
    if d.shape[-1] < 2:
        resolved = np.zeros(ratio.shape, dtype=bool)
    else:
        first, second = np.abs(d[..., 0]), np.abs(d[..., 1])
        with np.errstate(invalid="ignore"):
            resolved = (first > 0) & (second > RESOLUTION * first)
    return ratio, asymptote, resolved


def _lag_sums(d0: np.ndarray, d1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sum_k d1_k conj(d0_k)`` and ``sum_k |d0_k|^2`` along the last axis.

    ``einsum`` sums each row in one pass without a temporary array, and in
    the same order whatever the number of rows, so a point's sums do not
    depend on the block it was computed in.
    """
    conj_d0 = np.conj(d0) if np.iscomplexobj(d0) else d0
    numerator = np.einsum("...k,...k->...", d1, conj_d0)
    denominator = np.einsum("...k,...k->...", d0, conj_d0)
    return numerator, denominator.real
