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
point is hidden by the rounding of that rate (:func:`round_off`).  A fit is
resolved only where the error bound that round-off puts on it
(:func:`analysis.measure.fits.fit_errors`) is within the precision the
check asks (the checks' one rule, :data:`analysis.checks.base.PRECISION`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.measure.fits import exponential_fit, fit_errors
from analysis.measure.quantities import window

NOISE = 8 * np.finfo(float).eps
"""Round-off of one recorded rate, as a fraction of the point's largest rate: the
few roundings of the solver's last steps (an error bound, not a floor of what is read)."""


def round_off(rate: xr.DataArray, inverse: xr.DataArray) -> xr.DataArray:
    """Round-off of one sample of each mode: :data:`NOISE` of the point's largest rate,
    through ``Phi^-1`` (``inverse``, dims (..., mode, neuron)); dims (..., mode)."""
    return NOISE * abs(rate).max(["time", "neuron"]) * abs(inverse).sum("neuron")


def resolved_fit(signal: xr.DataArray, noise: xr.DataArray, precision: float) -> xr.Dataset:
    """Exponential fit of ``signal`` along ``time``, with its settled value.

    A signal whose first step is within the round-off ``noise`` of one
    sample does not move: it has settled at its last sample.  Where it
    moves, returns the fit of :func:`analysis.measure.fits.exponential_fit`
    (``ratio``, ``asymptote``, ``resolved``), with ``resolved`` where the
    error bound of ``ln r`` (:func:`analysis.measure.fits.fit_errors`) is
    within ``precision`` of ``|ln r|`` and ``asymptote_resolved`` where the
    asymptote's is within ``precision`` of its size; ``settled``: the
    fitted asymptote where the signal moves and the fit is resolved, else
    the last sample; and ``settled_error``: the error bound of ``settled``
    (the asymptote's, or ``noise``).
    """
    fit = exponential_fit(signal)
    first_step = abs(signal.isel(time=1, drop=True) - signal.isel(time=0, drop=True))
    fitted = fit["resolved"] & (first_step > noise)
    log_error, asymptote_error, _ = xr.apply_ufunc(
        fit_errors,
        signal,
        fit["ratio"],
        noise,
        input_core_dims=[["time"], [], []],
        output_core_dims=[[], [], []],
        dask="parallelized",
        output_dtypes=[float, float, float],
    )
    resolved = fitted & (log_error <= precision)
    asymptote_resolved = fitted & (asymptote_error <= precision * abs(fit["asymptote"]))
    settled = xr.where(fitted, fit["asymptote"], signal.isel(time=-1, drop=True))
    return fit.assign(
        resolved=resolved,
        asymptote_resolved=asymptote_resolved,
        settled=settled,
        settled_error=xr.where(fitted, asymptote_error, noise),
    )


def still_to_go(signal: xr.DataArray, floor: xr.DataArray) -> xr.DataArray:
    """How far ``signal`` has yet to move after its last sample, from its last three.

    With the last two steps ``d1, d2`` and their ratio ``r = d2 / d1``, a
    geometric approach has ``|d2| |r| / (1 - |r|)`` left to go; a signal
    whose last step is within ``floor`` (the round-off the check's precision
    allows, ``noise / precision``: steps of a stepping solver at rest) has
    settled (0 to go), and one whose steps do not shrink (``|r| >= 1``) has
    an unbounded way to go (``inf``).
    """
    last = signal.isel(time=slice(-3, None))
    d1 = abs(last.isel(time=1, drop=True) - last.isel(time=0, drop=True))
    d2 = abs(last.isel(time=2, drop=True) - last.isel(time=1, drop=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = d2 / d1
        left = xr.where(ratio < 1, d2 * ratio / (1 - ratio), np.inf)
    return xr.where(d2 <= floor, 0.0, left)


def epoch_fits(
    activity: xr.DataArray,
    starts: np.ndarray,
    offset: float,
    noise: xr.DataArray,
    precision: float,
) -> xr.Dataset:
    """:func:`resolved_fit` of every input epoch, from its start to the next one's.

    Parameters
    ----------
    activity : DataArray with dims (..., time, mode)
    starts : (n_epoch,) ndarray
        Times in seconds at which the epochs start; the last ends at ``offset``.
    noise : DataArray
        Round-off of one sample of each mode (:func:`round_off`).
    precision : float
        Largest relative error bound of a value that is compared with theory.

    Returns
    -------
    Dataset with dims (..., epoch, mode)
    """
    ends = [*starts[1:], offset]
    fits = [
        resolved_fit(window(activity, start, end), noise, precision)
        for start, end in zip(starts, ends, strict=True)
    ]
    return xr.concat(fits, dim="epoch").transpose(..., "epoch", "mode")


def neuron_space(mode_values: xr.DataArray, eigenvectors: xr.DataArray) -> xr.DataArray:
    """``Phi c``: vectors given in mode coordinates, back in neuron space."""
    return xr.dot(eigenvectors, mode_values, dim="mode")


def linear_map_error(
    response_error: xr.DataArray, eigenvectors: xr.DataArray, stimuli: xr.DataArray, column: str
) -> xr.DataArray:
    """Error bound of :func:`linear_map` from the error bounds of the settled mode values.

    ``G^T = pinv(U) V`` moves by at most ``|dV|_F / s_min(U)``, and the
    responses ``V = Phi c`` by ``|dV|_F <= |Phi|_F |dc|_F``.

    Parameters
    ----------
    response_error : DataArray with dims (..., epoch, mode)
        Error bound of each epoch's settled value of each mode.
    eigenvectors : DataArray with dims (..., neuron, mode)
    stimuli : DataArray with dims (..., epoch, ``column``)
    """

    def smallest(u: np.ndarray) -> np.ndarray:
        return np.linalg.svd(u, compute_uv=False)[..., -1]

    spread = xr.apply_ufunc(
        smallest,
        stimuli,
        input_core_dims=[["epoch", column]],
        dask="parallelized",
        output_dtypes=[float],
    )
    modes = np.sqrt((abs(response_error) ** 2).sum(["epoch", "mode"]))
    return modes * np.sqrt((abs(eigenvectors) ** 2).sum(["neuron", "mode"])) / spread


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
