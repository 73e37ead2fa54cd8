"""The lecture's integrator: a mode with ``lam = 1`` ramps at ``h_a/tau`` while the input is on
and holds ``h_a T/tau`` after it stops.

The integrating mode's activity ``c_a = (Phi^-1 v)_a`` is read from the
recorded rates (:mod:`analysis.measure.modes`) and drawn beside the ramp of
:func:`analysis.theory.linear.ramp_slope_theory` and the held value of
:func:`analysis.theory.scenarios.held_value_theory`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.measure.modes import eigenvector_inverse, mode_activity
from analysis.report import generic
from analysis.report.figures import DENSE, figure, finish, fixed, samples, titled, value_text
from analysis.theory.linear import is_integrator, ramp_slope_theory
from analysis.theory.scenarios import held_value_theory

MARKERS = 40
"""About this many measured samples are drawn per trajectory (the line is the theory)."""


def ramp_hold(ds: xr.Dataset, panel: dict[str, int]) -> xr.Dataset:
    """The integrating mode of the points ``panel`` (one per ``input_angle``): measured and theory.

    Returns ``activity`` (input_angle, time), the mode's activity, and per
    input direction its ``slope`` (``h_a/tau``) and ``held`` value
    (``h_a T/tau``); NaN where the point has no mode at ``lam = 1``.
    """
    part = ds[["rate", "eigenvectors", "eigenvalues", "mode_input", "tau"]].isel(panel).load()
    onset, offset = float(ds["onset"]), float(ds["offset"])
    integrating = is_integrator(part["eigenvalues"])
    activity = np.real(mode_activity(part["rate"], eigenvector_inverse(part)))
    mode_input = np.real(part["mode_input"])
    tau = part["tau"]
    return xr.Dataset(
        {
            "activity": activity.where(integrating).sum("mode", min_count=1),
            "slope": ramp_slope_theory(mode_input, tau).where(integrating).sum("mode", min_count=1),
            "held": held_value_theory(mode_input, tau, onset, offset)
            .where(integrating)
            .sum("mode", min_count=1),
        }
    ).transpose("input_angle", ...)


def ramp_hold_theory(slope: float, onset: float, offset: float, time: np.ndarray) -> np.ndarray:
    """``c_a(t)`` of an integrator from rest: 0, then ``h_a/tau (t - onset)``, then held."""
    return slope * (np.clip(time, onset, offset) - onset)


def directions(drawn: xr.Dataset) -> list[list[int]]:
    """The input directions of ``drawn`` grouped by their theory: directions whose
    integrating mode receives the same input (``a`` and ``pi/2 - a`` along (1, 1)) draw
    the same ramp, so they are one series, not lines drawn over each other."""
    groups: dict[float, list[int]] = {}
    for k, slope in enumerate(drawn["slope"].values):
        groups.setdefault(round(float(slope), 9), []).append(k)
    return [groups[key] for key in sorted(groups, reverse=True)]


def ramp_hold_figure(ds: xr.Dataset) -> Figure:
    """The integrating mode's activity against time: ramp while the input is on, then hold.

    One panel per ``coupling`` (the integrating mode along (1, -1) for
    ``coupling = -1``, along (1, 1) for ``coupling = 1``), one series per
    value of the ramp (the input directions that give it), the theory on a
    fine time grid and the samples of each direction offset from the others'.
    """
    others = fixed(ds, "coupling", "input_angle")
    couplings = range(ds.sizes["coupling"])
    fig, axes = figure(6.4, 4.6, columns=len(couplings))
    onset, offset = float(ds["onset"]), float(ds["offset"])
    time = ds["time"].values
    dense = np.linspace(time[0], time[-1], DENSE)
    step = max(1, len(time) // MARKERS)
    angles = ds["input_angle"].values
    for ax, index in zip(axes, couplings, strict=True):
        drawn = ramp_hold(ds, {**others, "coupling": index})
        ax.axvspan(onset, offset, color="tab:orange", alpha=0.12, lw=0, label="input on")
        for g, group in enumerate(directions(drawn)):
            colour = f"C{g % 10}"
            slope = float(drawn["slope"].values[group[0]])
            which = ", ".join(f"{angles[k]:.3g}" for k in group)
            ax.plot(dense, ramp_hold_theory(slope, onset, offset, dense), "-", color=colour,
                    lw=1.2, label=f"input_angle {which} rad: theory")  # fmt: skip
            for k in group:
                shown = samples(len(time), step, k, len(angles))
                first = g == 0 and k == group[0]  # one legend entry for every direction
                label = "measured c_a(t), each direction's samples" if first else None
                ax.plot(time[shown], drawn["activity"].values[k, shown], "o", color=colour,
                        ms=3.5, mfc="none", label=label)  # fmt: skip
        coupling = value_text(ds, "coupling", ds["coupling"].values[index])
        title = titled(f"{coupling}: ramp h_a/τ while the input is on, hold h_a T/τ", ds, others)
        finish(ax, "time [s]", "activity of the λ = 1 mode, c_a = (Φ⁻¹v)_a [Hz]", title)
    fig.suptitle("Integrator: the λ = 1 mode ramps at h_a/τ while the input is on, then holds")
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The ramp and hold, then the generic figures: the integrator's own quantities (ramp
    slope, held value) before those of the other mode, by file name."""
    drawn = generic.figures(ds)
    own = {name: drawn.pop(name) for name in ("ramp_slope", "held_value") if name in drawn}
    return {"ramp_hold": ramp_hold_figure(ds), **own, **drawn}
