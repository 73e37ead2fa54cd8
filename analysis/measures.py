"""Quantities measured from mode activity; nothing here reads the theory.

Every function takes the activity of each mode, ``c`` with dims
(..., time, mode), as :func:`analysis.modes.mode_activity` returns it, and
the step input's onset and offset in seconds (recorded samples).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.fits import exponential_fit


def sample_interval(activity: xr.DataArray) -> float:
    """The recording step ``dt`` in seconds."""
    time = activity["time"].values
    return float(time[1] - time[0])


def window(activity: xr.DataArray, start: float, stop: float | None = None) -> xr.DataArray:
    """The samples from the one nearest ``start`` to the one nearest ``stop`` (or the end).

    Nearest samples rather than label slices, so round-off in the recorded
    times can never drop or add a sample at a switch of the input.
    """
    time = activity["time"].values
    first = int(np.abs(time - start).argmin())
    last = time.size - 1 if stop is None else int(np.abs(time - stop).argmin())
    return activity.isel(time=slice(first, last + 1))


def rise_fit(activity: xr.DataArray, onset: float, offset: float) -> xr.Dataset:
    """Exponential fit to the approach while the input is on."""
    return exponential_fit(window(activity, onset, offset))


def decay_fit(activity: xr.DataArray, offset: float) -> xr.Dataset:
    """Exponential fit to the activity after the input stops."""
    return exponential_fit(window(activity, offset))


def gain(rise: xr.Dataset, mode_input: xr.DataArray) -> xr.DataArray:
    """Steady-state gain of each mode: the fitted asymptote over the mode's input ``h_a``."""
    return (rise["asymptote"] / mode_input).assign_attrs(
        long_name="steady-state gain of the mode, measured", units="1"
    )


def tau_eff(fit: xr.Dataset, dt: float) -> xr.DataArray:
    """Time constant ``-dt / ln r`` of the fitted ratio (negative: growth).

    For a complex ratio (a rotating mode) this is the decay time ``-dt / Re ln r``.
    """
    ratio = fit["ratio"]
    positive = ratio.where(abs(ratio) > 0)
    if np.iscomplexobj(ratio):
        log_ratio = np.log(positive.astype(complex)).real
    else:
        log_ratio = np.log(positive.where(positive > 0))
    return (-dt / log_ratio).assign_attrs(
        long_name="effective time constant, measured (negative: growth)", units="s"
    )


def persistence(activity: xr.DataArray, offset: float, delay: float) -> xr.DataArray:
    """Activity ``delay`` after the input stops over the activity when it stops."""
    stop = activity.sel(time=offset, method="nearest", drop=True)
    later = activity.sel(time=offset + delay, method="nearest", drop=True)
    ratio = later / stop
    if np.iscomplexobj(ratio):
        ratio = abs(ratio)
    return ratio.assign_attrs(
        long_name="activity a delay after the input stops over activity when it stops, measured",
        units="1",
    )


def ramp_slope(activity: xr.DataArray, onset: float, offset: float) -> xr.DataArray:
    """Mean rate of change of each mode while the input is on."""
    start = activity.sel(time=onset, method="nearest", drop=True)
    stop = activity.sel(time=offset, method="nearest", drop=True)
    slope = (stop - start) / (offset - onset)
    if np.iscomplexobj(slope):
        slope = slope.real
    return slope.assign_attrs(long_name="mean slope of the mode while the input is on", units="Hz/s")
