"""The lecture's runaway: with ``lam > 1`` activity grows as ``exp((lam-1) t/tau)``, then diverges.

``|v|`` on a log axis, where exponential growth is a straight line: the
measured samples, a line of the theory's slope ``(lam - 1)/tau``
(:func:`analysis.theory.scenarios.growth_rate_theory`) beside them, the rate
the check fitted in the legend, and the moment the point diverged marked.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report import generic
from analysis.report.figures import figure, finish, fixed, log_scale, titled, value_text
from analysis.theory.scenarios import growth_rate_theory

MARKERS = 60
"""About this many measured samples are drawn per trajectory."""


def growth_lines(ds: xr.Dataset, point: dict[str, int]) -> dict[str, object]:
    """What the runaway figure draws of one point: ``|v|`` and the line of theory's growth.

    Returns ``time`` and ``size`` (``|v(t)|``, NaN after the divergence),
    ``theory`` and ``fitted`` (the growth rate of the unstable mode, 1/s;
    fitted after the input stops where the point lasted that long, else
    while it was on), and ``line`` (times, values): ``|v|`` at the last
    finite sample carried back along ``exp(theory t)`` over the stretch
    where a single exponential is expected, from the input's end (or the
    middle of the input, for a point that diverged while it was on).
    """
    part = ds[["rate", "eigenvalues", "growth_rate", "diverged_at", "tau"]].isel(point).load()
    time = part["time"].values
    size = np.sqrt((part["rate"] ** 2).sum("neuron", skipna=False)).transpose("time").values
    theory = float(growth_rate_theory(part["eigenvalues"], part["tau"]).max())
    fitted = part["growth_rate"].max("mode")
    phase = "decay" if np.isfinite(float(fitted.sel(phase="decay"))) else "rise"
    finite = np.flatnonzero(np.isfinite(size))
    last = finite[-1]
    onset, offset = float(ds["onset"]), float(ds["offset"])
    start = offset if time[last] > offset else onset + (time[last] - onset) / 2
    times = np.array([start, time[last]])
    line = size[last] * np.exp(theory * (times - time[last]))
    diverged = float(part["diverged_at"])
    return {
        "time": time,
        "size": size,
        "theory": theory,
        "fitted": float(fitted.sel(phase=phase)),
        "phase": phase,
        "line": (times, line),
        "diverged": (time[last], size[last]) if np.isfinite(diverged) else None,
    }


def runaway_figure(ds: xr.Dataset) -> Figure:
    """``|v|`` against time on a log axis for every ``coupling``, with the theory's growth."""
    others = fixed(ds, "coupling")
    fig, (ax,) = figure(6.0, 4.8)
    onset, offset = float(ds["onset"]), float(ds["offset"])
    ax.axvspan(onset, offset, color="tab:orange", alpha=0.12, lw=0, label="input on")
    marked = False
    for k in range(ds.sizes["coupling"]):
        drawn = growth_lines(ds, {**others, "coupling": k})
        colour = f"C{k % 10}"
        time, size = drawn["time"], drawn["size"]
        # Markers spread over the samples before the divergence, however soon it came.
        step = max(1, int(np.isfinite(size).sum()) // MARKERS)
        coupling = value_text(ds, "coupling", ds["coupling"].values[k])
        ax.plot(time[::step], size[::step], "o", ms=3, color=colour, mfc="none")
        ax.plot(*drawn["line"], "-", color=colour, lw=1.5,
                label=f"{coupling}: fit {drawn['fitted']:.4g}/s ({drawn['phase']}), "
                f"theory (λ-1)/τ = {drawn['theory']:.4g}/s")  # fmt: skip
        if drawn["diverged"] is not None:
            label = None if marked else "diverged: last sample before |v| passed the bound"
            ax.plot(*drawn["diverged"], "kX", ms=9, label=label)
            marked = True
    log_scale(ax)
    ax.set_xlim(ds["time"].values[0], ds["time"].values[-1])
    units = ds["rate"].attrs.get("units", "Hz")
    title = titled("Runaway: |v| grows as exp((λ-1)t/τ); points measured, lines theory", ds, others)
    # The legend beside the axes: the steep runaways fill the upper left.
    finish(ax, "time [s]", f"|v|, length of the rate vector [{units}]", title, fontsize=7,
           loc="upper left", bbox_to_anchor=(1.01, 1.0))  # fmt: skip
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The runaway, and the generic figures of every checked quantity, by file name."""
    return {"runaway": runaway_figure(ds), **generic.figures(ds)}
