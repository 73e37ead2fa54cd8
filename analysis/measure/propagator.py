"""The one-sample propagator of a linear network, fitted to its recorded activity.

Where the input is zero, a linear network sampled every ``dt`` obeys
``v_(k+1) = P v_k`` exactly, with ``P = exp(-(I - M) dt / tau)``.  Fitting
``P`` to the samples by least squares (dynamic mode decomposition) and
taking its eigenvalues ``z`` measures every mode's eigenvalue from the
trajectory alone, without the weights and without eigenvectors:

    lam = 1 + tau ln(z) / dt,   decay rate -ln|z| / dt,   angular frequency arg(z) / dt.

It needs the activity to visit every direction of the state space (the
samples ``v_k`` must span it), and holds for complex eigenvalues and for
matrices that are not diagonalisable alike.  A frequency is only measured
below the recording's Nyquist limit, ``|arg z| < pi``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

SPAN_TOLERANCE = 1e-8
"""The samples span the state space if their smallest singular value exceeds this fraction
of the largest."""


def _fit(samples: np.ndarray) -> tuple[np.ndarray, bool]:
    """Eigenvalues of ``P`` fitted to ``samples`` (n_time, n), where consecutive ones are finite."""
    before, after = samples[:-1], samples[1:]
    finite = np.isfinite(before).all(axis=-1) & np.isfinite(after).all(axis=-1)
    before, after = before[finite], after[finite]
    n = samples.shape[-1]
    if before.shape[0] < n + 1:
        return np.full(n, np.nan + 0j), False
    singular = np.linalg.svd(before, compute_uv=False)
    if not singular[-1] > SPAN_TOLERANCE * singular[0]:
        return np.full(n, np.nan + 0j), False
    transposed, *_ = np.linalg.lstsq(before, after, rcond=None)
    z = np.linalg.eigvals(transposed.T).astype(complex)
    log_z = np.log(z)
    return z[np.lexsort((log_z.imag, log_z.real))], True


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
    the real part of ``lam``, then its imaginary part, as the modes are), and
    ``resolved`` (...): whether the samples span the state space.
    """
    time = rate["time"].values
    window = rate.isel(time=slice(int(np.abs(time - start).argmin()), None))
    z, resolved = xr.apply_ufunc(
        _fit,
        window,
        input_core_dims=[["time", "neuron"]],
        output_core_dims=[["mode"], []],
        vectorize=True,
        dask="parallelized",
        output_dtypes=[complex, bool],
        dask_gufunc_kwargs={"output_sizes": {"mode": rate.sizes["neuron"]}},
    )
    return xr.Dataset({"z": z, "resolved": resolved})


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
