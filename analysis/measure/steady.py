"""Steady states read off exponential fits, for one input or for a sequence of inputs.

While the input holds still, every mode of a linear network (``lam < 1``)
approaches its steady state exponentially, so the fit of
:mod:`analysis.measure.fits` gives the steady state from a window that ends long
before the mode settles.  Over a sequence of input epochs each epoch is
fitted on its own: a mode's activity then starts wherever the last epoch
left it, which the fit does not mind.  The steady states of ``n``
independent inputs determine the network's whole gain matrix, ``V = G H``.

Round-off limits what the recorded rates can show: activity is computed in
neuron space, so a mode whose activity is far below the largest rate of its
point is hidden by the rounding of that rate.  A signal whose first step is
below :data:`ROUND_OFF` times that rate counts as not resolved.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.measure.fits import exponential_fit
from analysis.measure.quantities import window

ROUND_OFF = 1e-10
"""A signal that changes by less than this fraction of the point's largest rate is round-off."""

NOISE = 8 * np.finfo(float).eps
"""Round-off of one recorded rate, as a fraction of the point's largest rate: the
few roundings of the solver's last steps (an error bound, not a floor of what is read)."""


def round_off_floor(rate: xr.DataArray) -> xr.DataArray:
    """Smallest change of a signal that the recorded ``rate`` of each point resolves."""
    return ROUND_OFF * abs(rate).max(["time", "neuron"])


def resolved_fit(signal: xr.DataArray, floor: xr.DataArray) -> xr.Dataset:
    """Exponential fit of ``signal`` along ``time``, with its settled value.

    Returns the fit of :func:`analysis.measure.fits.exponential_fit` (``ratio``,
    ``asymptote``, ``resolved``) where ``resolved`` also requires the first
    step to stand above ``floor``, plus ``settled``: the fitted asymptote
    where the fit is resolved, else the last sample (a signal that does not
    change above round-off has settled).
    """
    fit = exponential_fit(signal)
    first_step = abs(signal.isel(time=1, drop=True) - signal.isel(time=0, drop=True))
    resolved = fit["resolved"] & (first_step > floor)
    settled = xr.where(resolved, fit["asymptote"], signal.isel(time=-1, drop=True))
    return fit.assign(resolved=resolved, settled=settled)


def still_to_go(signal: xr.DataArray) -> xr.DataArray:
    """How far ``signal`` has yet to move after its last sample, from its last three.

    With the last two steps ``d1, d2`` and their ratio ``r = d2 / d1``, a
    geometric approach has ``|d2| |r| / (1 - |r|)`` left to go; a signal
    whose last step is round-off (within :data:`ROUND_OFF` of its size) has
    settled (0 to go), and one whose steps do not shrink (``|r| >= 1``) has
    an unbounded way to go (``inf``).
    """
    last = signal.isel(time=slice(-3, None))
    d1 = abs(last.isel(time=1, drop=True) - last.isel(time=0, drop=True))
    d2 = abs(last.isel(time=2, drop=True) - last.isel(time=1, drop=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = d2 / d1
        left = xr.where(ratio < 1, d2 * ratio / (1 - ratio), np.inf)
    return xr.where(d2 <= ROUND_OFF * abs(last).max("time"), 0.0, left)


def epoch_fits(
    activity: xr.DataArray, starts: np.ndarray, offset: float, floor: xr.DataArray
) -> xr.Dataset:
    """:func:`resolved_fit` of every input epoch, from its start to the next one's.

    Parameters
    ----------
    activity : DataArray with dims (..., time, mode)
    starts : (n_epoch,) ndarray
        Times in seconds at which the epochs start; the last ends at ``offset``.
    floor : DataArray
        Round-off floor of each point (:func:`round_off_floor`).

    Returns
    -------
    Dataset with dims (..., epoch, mode)
    """
    ends = [*starts[1:], offset]
    fits = [
        resolved_fit(window(activity, start, end), floor)
        for start, end in zip(starts, ends, strict=True)
    ]
    return xr.concat(fits, dim="epoch").transpose(..., "epoch", "mode")


def neuron_space(mode_values: xr.DataArray, eigenvectors: xr.DataArray) -> xr.DataArray:
    """``Phi c``: vectors given in mode coordinates, back in neuron space."""
    return xr.dot(eigenvectors, mode_values, dim="mode")


def linear_map(responses: xr.DataArray, stimuli: xr.DataArray, column: str) -> xr.DataArray:
    """The matrix ``G`` with ``responses = G stimuli`` for every epoch, by least squares.

    Parameters
    ----------
    responses : DataArray with dims (..., epoch, neuron)
    stimuli : DataArray with dims (..., epoch, ``column``)
        At least as many independent epochs as ``column`` entries.
    column : str
        Name of the stimulus dimension; it becomes the matrix's column dimension.

    Returns
    -------
    DataArray with dims (..., neuron, ``column``)
    """

    def solve(v: np.ndarray, u: np.ndarray) -> np.ndarray:
        # With one epoch per row, responses = G stimuli reads V = U G^T.
        transposed = np.linalg.pinv(u) @ v
        return np.swapaxes(transposed, -1, -2)

    if responses.chunks is not None or stimuli.chunks is not None:
        # One chunk along the matrix's dimensions (a few epochs and neurons): the solve
        # needs every epoch of a point at once, as a store read lazily does not chunk them.
        responses = responses.chunk({"epoch": -1, "neuron": -1})
        stimuli = stimuli.chunk({"epoch": -1, column: -1})
    return xr.apply_ufunc(
        solve,
        responses,
        stimuli.rename({column: "_column"}),
        input_core_dims=[["epoch", "neuron"], ["epoch", "_column"]],
        output_core_dims=[["neuron", "_column"]],
        dask="parallelized",
        output_dtypes=[float],
    ).rename(_column=column)
