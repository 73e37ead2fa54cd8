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


def _sum_squares(z: np.ndarray) -> np.ndarray:
    """``sum_k |z_k|^2`` over the last axis, with no temporary as large as ``z`` (which are
    as large as the trajectories)."""
    if np.iscomplexobj(z):
        return _sum_squares(z.real) + _sum_squares(z.imag)
    return np.einsum("...i,...i->...", z, z)


def ratio_spread(x: np.ndarray, ratio: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Standard error of the fitted ``r`` of :func:`geometric_fit`, round-off included.

    The least-squares ratio of ``d_{k+1} = r d_k`` has the standard error

        sigma_r = sigma_e / sqrt(sum_k |d_k|^2),
        sigma_e^2 = sum_k |d_{k+1} - r d_k|^2 / (m - 1) + (2 noise)^2,

    where the residuals measure how far the samples are from geometric, and
    ``noise`` (the round-off of one sample, per row) keeps the bound honest
    where the residuals vanish by chance.  ``r`` itself is a float near 1, so
    the spread is never below one rounding of 1.  Non-finite differences are
    left out, as in the fit.
    """
    d = np.diff(x, axis=-1)
    d0, d1 = d[..., :-1], d[..., 1:]
    residual = d1 - np.asarray(ratio)[..., None] * d0
    valid = np.isfinite(residual) & np.isfinite(d0)
    count = np.maximum(valid.sum(axis=-1) - 1, 1)
    residual[~valid] = 0
    squared = _sum_squares(residual) / count
    power = _sum_squares(np.where(valid, d0, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.sqrt(squared + (2 * noise) ** 2) / np.sqrt(power)
    return np.maximum(spread, np.finfo(float).eps)


def fit_errors(
    x: np.ndarray, ratio: np.ndarray, noise: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Error bounds of :func:`geometric_fit` along the last axis of ``x``, from round-off.

    With the spread ``sigma_r`` of :func:`ratio_spread` and the last step
    ``d_m`` of the samples,

        ln r:        sigma_r / (|r| |ln |r||)       relative to ``|ln |r||``,
        asymptote:   |d_m| sigma_r / |1 - r|^2      absolute,

    (the asymptote is extrapolated by ``d_m r/(1 - r)``, so the round-off of
    ``r`` is amplified by ``1/(1-r)^2`` near ``r = 1``).  A check compares a
    value only where its bound is within the precision its tolerance asks
    (:data:`analysis.checks.base.PRECISION`).

    Returns
    -------
    log_error, asymptote_error, last_step : (...) ndarray
    """
    spread = ratio_spread(x, ratio, noise)
    last_step = np.abs(x[..., -1] - x[..., -2])
    with np.errstate(divide="ignore", invalid="ignore"):
        log_error = spread / np.abs(ratio) / np.abs(np.log(np.abs(ratio)))
        asymptote_error = last_step * spread / np.abs(1 - ratio) ** 2
    return log_error, asymptote_error, last_step


DECAY_SPAN = 1e-3
""":func:`decay_log_ratio` reads a decay down to this fraction of its first sample."""


def decay_log_ratio(x: np.ndarray, floor: np.ndarray, noise: np.ndarray):
    """``ln |r|`` of ``x_k = x_0 r^k`` (asymptote 0), from the ends of the signal, and its spread.

    With the asymptote known, the ratio needs no differences:

        ln |r| = (ln |x_m| - ln |x_0|) / m,
        spread = (noise/|x_0| + noise/|x_m|) / m + eps,

    where ``x_m`` is the last finite sample above ``floor`` and above
    :data:`DECAY_SPAN` of ``|x_0|`` (further down, a sample's relative
    round-off grows and adds nothing).  Near ``r = 1`` this keeps the
    precision of the samples themselves, where a fit of differences (each a
    cancellation of two nearly equal samples) loses it.  The ``eps`` (one
    rounding of 1) is the precision of the ratio by which any solver steps
    from one sample to the next: a trajectory computed that way determines
    ``ln |r|`` to no better than that, however many samples it spans.

    Parameters
    ----------
    x : (..., n_sample) ndarray, real or complex
    floor, noise : (...) ndarray
        Smallest sample still read, and the round-off of one sample.

    Returns
    -------
    log_ratio, spread : (...) ndarray
        NaN where fewer than three samples stand above ``floor`` from the first on.
    """
    magnitude = np.abs(x)
    with np.errstate(invalid="ignore"):
        lowest = np.maximum(floor, DECAY_SPAN * magnitude[..., 0])
        above = np.isfinite(magnitude) & (magnitude > lowest[..., None])
    # The run of samples above the floor from the first on: the first sample below ends it
    # (argmin finds the first False; where there is none, it points at a True).
    first_below = np.argmin(above, axis=-1)
    whole = np.take_along_axis(above, first_below[..., None], axis=-1)[..., 0]
    run = np.where(whole, above.shape[-1], first_below)
    last = np.maximum(run - 1, 0)
    end = np.take_along_axis(magnitude, last[..., None], axis=-1)[..., 0]
    start = magnitude[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.where(last >= 2, last, np.nan)
        log_ratio = (np.log(end) - np.log(start)) / steps
        spread = (noise / start + noise / end) / steps + np.finfo(float).eps
    return log_ratio, spread
