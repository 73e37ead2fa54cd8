"""The one-sample propagator of a linear network, fitted to its recorded activity.

Where the input is zero, a linear network sampled every ``dt`` obeys
``v_(k+1) = P v_k`` exactly, with ``P = exp(-(I - M) dt / tau)``.  Fitting
``P`` to the samples by least squares (dynamic mode decomposition) and
taking its eigenvalues ``z`` measures every mode's eigenvalue from the
trajectory alone, without the weights and without eigenvectors:

    lam = 1 + tau ln(z) / dt,   decay rate -ln|z| / dt,   angular frequency arg(z) / dt.

It needs the activity to visit every direction of the state space (the
samples ``v_k`` must span it), and holds for complex eigenvalues and for
matrices that are not diagonalisable alike.  How well the samples span it
is what bounds the fit's error: the round-off of the samples (and any
misfit) moves ``P`` by at most (:func:`propagator_error`)

    |dP| <= (|R|_F + (1 + |P|) noise sqrt(m n)) / s_min,

with ``R`` the residual of the ``m`` fitted pairs, ``noise`` the round-off
of one rate and ``s_min`` the smallest singular value of the samples.  An
eigenvalue then moves by at most ``cond(V) |dP|`` (Bauer-Fike, ``V`` the
eigenvectors of ``P``) and by at most ``(2|P| + |dP|)^(1-1/n) |dP|^(1/n)``
(Ostrowski-Elsner, which holds for a Jordan block too, whose eigenvalue
moves as the square root of ``|dP|``).  A check compares a rate only where
the smaller bound, over ``|z| dt``, is within the precision its tolerance
asks.  A frequency is only measured below the recording's
Nyquist limit, ``|arg z| < pi``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.measure.steady import NOISE


def _fit(samples: np.ndarray, noise: float) -> tuple[np.ndarray, bool, float]:
    """Eigenvalues of ``P`` fitted to ``samples`` (n_time, n), where consecutive ones are
    finite; whether the samples span the state space; and :func:`propagator_error`."""
    before, after = samples[:-1], samples[1:]
    finite = np.isfinite(before).all(axis=-1) & np.isfinite(after).all(axis=-1)
    before, after = before[finite], after[finite]
    n = samples.shape[-1]
    if before.shape[0] < n + 1:
        return np.full(n, np.nan + 0j), False, np.inf
    singular = np.linalg.svd(before, compute_uv=False)
    if not singular[-1] > 0:
        return np.full(n, np.nan + 0j), False, np.inf
    transposed, *_ = np.linalg.lstsq(before, after, rcond=None)
    z, vectors = np.linalg.eig(transposed.T)
    z = z.astype(complex)
    error = eigenvalue_error(
        propagator_error(before, after, transposed, singular[-1], noise),
        np.linalg.norm(transposed, 2),
        np.linalg.cond(vectors),
        n,
    )
    log_z = np.log(z)
    return z[np.lexsort((log_z.imag, log_z.real))], True, error


def propagator_error(
    before: np.ndarray, after: np.ndarray, transposed: np.ndarray, smallest: float, noise: float
) -> float:
    """Bound on ``|dP|`` of the least-squares ``P`` (``after ~ before P^T``, rows of samples).

    ``(|R|_F + (1 + |P|) noise sqrt(m n)) / s_min``: the residual ``R`` and
    the samples' round-off (``noise`` per entry, in ``before`` and ``after``
    alike), through the pseudo-inverse of ``before``, whose norm is ``1/s_min``.
    """
    m, n = before.shape
    residual = np.linalg.norm(after - before @ transposed)
    perturbation = (1 + np.linalg.norm(transposed, 2)) * noise * np.sqrt(m * n)
    return float((residual + perturbation) / smallest)


def eigenvalue_error(error: float, norm: float, condition: float, n: int) -> float:
    """How far an eigenvalue of ``P`` (of size ``norm``) moves when ``P`` moves by ``error``.

    ``min(cond(V) e, (2 |P| + e)^(1 - 1/n) e^(1/n))``: Bauer-Fike where the
    eigenvectors are well conditioned, Ostrowski-Elsner where they are not.
    """
    return float(min(condition * error, (2 * norm + error) ** (1 - 1 / n) * error ** (1 / n)))


def propagator_eigenvalues(rate: xr.DataArray, start: float) -> xr.Dataset:
    """Eigenvalues ``z`` of the propagator fitted to ``rate`` from ``start`` on (input off).

    Parameters
    ----------
    rate : DataArray with dims (..., time, neuron)
    start : float
        Time in seconds from which the input is zero.

    Returns
    -------
    Dataset with ``z`` (..., mode), sorted by ``ln|z|`` then ``arg z`` (so by
    the real part of ``lam``, then its imaginary part, as the modes are),
    ``resolved`` (...): whether the samples span the state space, and
    ``error`` (...): how far an eigenvalue ``z`` may be off
    (:func:`eigenvalue_error` of :func:`propagator_error`), with the
    round-off of one rate :data:`~analysis.measure.steady.NOISE` of the
    point's largest.
    """
    time = rate["time"].values
    window = rate.isel(time=slice(int(np.abs(time - start).argmin()), None))
    noise = NOISE * abs(rate).max(["time", "neuron"])
    z, resolved, error = xr.apply_ufunc(
        _fit,
        window,
        noise,
        input_core_dims=[["time", "neuron"], []],
        output_core_dims=[["mode"], [], []],
        vectorize=True,
        dask="parallelized",
        output_dtypes=[complex, bool, float],
        dask_gufunc_kwargs={"output_sizes": {"mode": rate.sizes["neuron"]}},
    )
    return xr.Dataset({"z": z, "resolved": resolved, "error": error})


def decay_rate(z: xr.DataArray, dt: float) -> xr.DataArray:
    """Decay rate ``-ln|z| / dt`` of each mode (negative: growth)."""
    magnitude = abs(z)
    return (-np.log(magnitude.where(magnitude > 0)) / dt).assign_attrs(
        long_name="decay rate of the mode, measured (negative: growth)", units="1/s"
    )


def angular_frequency(z: xr.DataArray, dt: float) -> xr.DataArray:
    """Angular frequency ``arg(z) / dt`` at which each mode turns."""
    return (xr.apply_ufunc(np.angle, z, dask="allowed") / dt).assign_attrs(
        long_name="angular frequency of the mode, measured", units="rad/s"
    )
