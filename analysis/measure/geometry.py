"""Geometry of responses in state space: directions and the loops trajectories trace.

Pure functions of vectors and trajectories; the checks apply them to measured
and to theoretical responses alike.
"""

from __future__ import annotations

import xarray as xr


def misalignment(v: xr.DataArray, h: xr.DataArray, dim: str = "neuron") -> xr.DataArray:
    """Sine of the angle between ``v`` and ``h``: ``|v - (v . h^) h^| / |v|``, ``h^ = h/|h|``.

    Zero exactly when ``v`` is parallel (or anti-parallel) to ``h``.  Computed
    from the component of ``v`` orthogonal to ``h`` rather than from the
    cosine, so that it stays accurate near zero.
    """
    # A zero vector has no direction: NaN, without a division by zero (also when lazy).
    h_norm = ((h**2).sum(dim) ** 0.5).where(lambda n: n > 0)
    unit = h / h_norm
    across = v - (v * unit).sum(dim) * unit
    return ((across**2).sum(dim) / (v**2).sum(dim).where(lambda n: n > 0)) ** 0.5


def loop_area(rate: xr.DataArray) -> xr.DataArray:
    """Signed area a two-neuron trajectory encloses with the origin (shoelace formula).

    ``A = 1/2 sum_k (x_k y_(k+1) - x_(k+1) y_k)`` over the recorded samples,
    ``x = v_1``, ``y = v_2``: the area of the polygon through the samples,
    closed by the straight lines to and from the origin (which add nothing
    when the trajectory starts and ends at rest).  Positive when the loop
    turns anticlockwise in the ``(v_1, v_2)`` plane.

    Each chord misses the curve by ``-(dt^3/12) (x' y'' - x'' y')`` (Taylor
    expansion of both terms), so the polygon differs from the smooth curve's
    area by ``-(dt^2/12) int (x' y'' - x'' y') dt`` (samples on every kink).

    Parameters
    ----------
    rate : DataArray with dims (..., time, neuron), two neurons

    Returns
    -------
    DataArray with dims (...), in ``units(rate)^2``
    """
    x, y = rate.isel(neuron=0, drop=True), rate.isel(neuron=1, drop=True)

    def samples(signal: xr.DataArray, part: slice) -> xr.DataArray:
        return signal.isel(time=part).drop_vars("time", errors="ignore")

    head, tail = slice(None, -1), slice(1, None)
    cross = samples(x, head) * samples(y, tail) - samples(x, tail) * samples(y, head)
    return 0.5 * cross.sum("time")
