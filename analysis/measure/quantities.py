"""Quantities measured from mode activity; nothing here reads the theory.

Every function takes the activity of each mode, ``c`` with dims
(..., time, mode), as :func:`analysis.measure.modes.mode_activity` returns it, and
the step input's onset and offset in seconds (recorded samples).  The
formulas (:func:`time_constant`, :func:`persistence_ratio`, :func:`slope`)
take numpy arrays or DataArrays alike, so a check can apply them to plain
arrays of a whole block at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from analysis.theory.linear import Values, labelled

ATTRS: dict[str, dict[str, str]] = {
    "gain": {"long_name": "steady-state gain of the mode, measured", "units": "1"},
    "tau_eff": {
        "long_name": "effective time constant, measured (negative: growth)",
        "units": "s",
    },
    "persistence": {
        "long_name": "activity a delay after the input stops over activity when it stops, measured",
        "units": "1",
    },
    "ramp_slope": {"long_name": "mean slope of the mode while the input is on", "units": "Hz/s"},
}
"""Attributes of each measured variable."""


def sample_interval(activity: xr.DataArray) -> float:
    """The recording step ``dt`` in seconds."""
    time = activity["time"].values
    return float(time[1] - time[0])


def nearest_sample(times: np.ndarray, t: float) -> int:
    """Index of the recorded sample nearest ``t`` seconds.

    Nearest samples rather than label slices, so round-off in the recorded
    times can never drop or add a sample at a switch of the input.
    """
    return int(np.abs(times - t).argmin())


def window(activity: xr.DataArray, start: float, stop: float | None = None) -> xr.DataArray:
    """The samples from the one nearest ``start`` to the one nearest ``stop`` (or the end)."""
    time = activity["time"].values
    last = time.size - 1 if stop is None else nearest_sample(time, stop)
    return activity.isel(time=slice(nearest_sample(time, start), last + 1))


def gain(rise: Mapping, mode_input: Values) -> Values:
    """Steady-state gain of each mode: the fitted asymptote over the mode's input ``h_a``."""
    return labelled(rise["asymptote"] / mode_input, ATTRS["gain"])


def tau_eff(fit: Mapping, dt: float) -> Values:
    """Time constant of the fitted ratio, :func:`time_constant`."""
    return labelled(time_constant(fit["ratio"], dt), ATTRS["tau_eff"])


def time_constant(ratio: Values, dt: float) -> Values:
    """Time constant ``-dt / ln r`` of a ratio per sample (negative: growth).

    For a complex ratio (a rotating mode) this is the decay time ``-dt / Re ln r``.
    NaN where ``r`` is zero, or real and negative.
    """
    if np.iscomplexobj(ratio):
        measurable = abs(ratio) > 0
    else:
        measurable = ratio > 0
    with np.errstate(divide="ignore"):
        log_ratio = np.log(xr.where(measurable, ratio, np.nan))
        return log_time_constant(np.real(log_ratio), dt)


def log_time_constant(log_ratio: Values, dt: float) -> Values:
    """Time constant ``-dt / ln |r|`` from ``ln |r|`` itself (negative: growth)."""
    with np.errstate(divide="ignore"):
        return -dt / log_ratio


def persistence_ratio(stop: Values, later: Values) -> Values:
    """``|later / stop|`` for rotating (complex) modes, ``later / stop`` otherwise."""
    ratio = later / stop
    return abs(ratio) if np.iscomplexobj(ratio) else ratio


def slope(start: Values, stop: Values, duration: float) -> Values:
    """Real part of ``(stop - start) / duration``."""
    return np.real((stop - start) / duration)
