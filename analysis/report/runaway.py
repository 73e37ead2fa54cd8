"""The lecture's runaway: with ``lam > 1`` activity grows as ``exp((lam-1) t/tau)``, then diverges.

``|v|`` on a log axis, where exponential growth is a straight line: the
measured samples, the closed-form ``|v(t)|`` beside them (each mode's step
response), the rate the check fitted and the theory's ``(lam - 1)/tau``
(:func:`analysis.theory.scenarios.growth_rate_theory`) in the legend, and
the moment the point diverged marked.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report import generic
from analysis.report.figures import (
    DENSE,
    figure,
    finish,
    fixed,
    log_scale,
    samples,
    titled,
    value_text,
)
from analysis.theory.linear import response_theory
from analysis.theory.scenarios import growth_rate_theory

MARKERS = 60
"""About this many measured samples are drawn per trajectory."""
PHASES = {"rise": "while the input is on", "decay": "after the input stops"}
"""When the check fitted the growth, by the name of its phase (``decay``: the phase after
the input, where a runaway grows on)."""


def growth_lines(ds: xr.Dataset, point: dict[str, int]) -> dict[str, object]:
    """What the runaway figure draws of one point: ``|v|`` measured and in theory.

    Returns ``time`` and ``size`` (``|v(t)|`` recorded, NaN after the
    divergence); ``line``, ``|v(t)|`` in theory, ``|sum_a phi_a c_a(t)|``
    with each mode's step response ``c_a``
    (:func:`analysis.theory.linear.response_theory`), up to the last
    recorded sample; ``theory`` and ``fitted``, the growth rate of the
    unstable mode in 1/s, ``(lam - 1)/tau`` and as the check fitted it (after
    the input stops where the point lasted that long, else while it was on:
    ``phase``, in words);
    and ``diverged``, the last sample before the divergence, if any.
    """
    names = ["rate", "eigenvalues", "eigenvectors", "mode_input", "growth_rate", "diverged_at"]
    part = ds[[*names, "tau"]].isel(point).load()
    time = part["time"].values
    size = np.sqrt((part["rate"] ** 2).sum("neuron", skipna=False)).transpose("time").values
    theory = float(growth_rate_theory(part["eigenvalues"], part["tau"]).max())
    fitted = part["growth_rate"].max("mode")
    phase = "decay" if np.isfinite(float(fitted.sel(phase="decay"))) else "rise"
    last = np.flatnonzero(np.isfinite(size))[-1]
    onset, offset, tau = float(ds["onset"]), float(ds["offset"]), float(part["tau"])
    shown = np.linspace(time[0], time[last], DENSE)  # the closed form on a fine grid
    rates = response_theory(
        part["eigenvalues"].values,
        part["eigenvectors"].transpose("neuron", "mode").values,
        part["mode_input"].values,
        tau,
        onset,
        offset,
        shown,
    )
    line = np.linalg.norm(rates, axis=0)
    diverged = float(part["diverged_at"])
    return {
        "time": time,
        "size": size,
        "theory": theory,
        "fitted": float(fitted.sel(phase=phase)),
        "phase": PHASES[phase],
        "line": (shown, line),
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
        shown = samples(len(time), step, k, ds.sizes["coupling"])
        ax.plot(time[shown], size[shown], "o", ms=3, color=colour, mfc="none",
                label="measured |v(t)|, each coupling's samples" if k == 0 else None)  # fmt: skip
        ax.plot(*drawn["line"], "-", color=colour, lw=1.5,
                label=f"{coupling}: theory, growth (λ-1)/τ = {drawn['theory']:.4g}/s; "
                f"fitted {drawn['fitted']:.4g}/s {drawn['phase']}")  # fmt: skip
        if drawn["diverged"] is not None:
            label = None if marked else "diverged: last sample before |v| passed the bound"
            ax.plot(*drawn["diverged"], "kx", ms=10, mew=2, label=label)
            marked = True
    log_scale(ax)
    ax.set_xlim(ds["time"].values[0], ds["time"].values[-1])
    units = ds["rate"].attrs.get("units", "Hz")
    title = titled("Runaway: |v| grows as exp((λ-1)t/τ); points measured, lines theory", ds, others)
    # The legend beside the axes: the steep runaways fill the upper left.
    finish(ax, "time [s]", f"|v|, length of the rate vector [{units}]", title)
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The runaway, and the generic figures of every checked quantity, by file name."""
    return {"runaway": runaway_figure(ds), **generic.figures(ds)}
