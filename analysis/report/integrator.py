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
from analysis.report.figures import figure, fixed, set_title, titled, value_text
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


def ramp_hold_figure(ds: xr.Dataset) -> Figure:
    """The integrating mode's activity against time: ramp while the input is on, then hold.

    One panel per ``coupling`` (the integrating mode along (1, -1) for
    ``w = -1``, along (1, 1) for ``w = 1``), one series per input direction.
    """
    others = fixed(ds, "coupling", "input_angle")
    couplings = range(ds.sizes["coupling"])
    fig, axes = figure(5.6, 4.6, columns=len(couplings))
    onset, offset = float(ds["onset"]), float(ds["offset"])
    time = ds["time"].values
    step = max(1, len(time) // MARKERS)
    for ax, index in zip(axes, couplings, strict=True):
        drawn = ramp_hold(ds, {**others, "coupling": index})
        ax.axvspan(onset, offset, color="tab:orange", alpha=0.12, lw=0, label="input on")
        for k in range(drawn.sizes["input_angle"]):
            point = drawn.isel(input_angle=k)
            colour = f"C{k % 10}"
            slope, held = float(point["slope"]), float(point["held"])
            first = k == 0  # one legend entry for every direction
            theory = "theory: ramp h_a/τ, hold h_a T/τ" if first else None
            measured = "measured c_a(t), one per direction" if first else None
            ax.plot([time[0], onset, offset], [0.0, 0.0, slope * (offset - onset)], "-",
                    color=colour, lw=1.2, label=theory)  # fmt: skip
            ax.plot([offset, time[-1]], [held, held], "-", color=colour, lw=1.2)
            ax.plot(time[::step], point["activity"].values[::step], "o", color=colour, ms=3.5,
                    mfc="none", label=measured)  # fmt: skip
        ax.set_xlabel("time [s]")
        ax.set_ylabel("activity of the λ = 1 mode, c_a = (Φ⁻¹v)_a [Hz]")
        coupling = value_text(ds, "coupling", ds["coupling"].values[index])
        set_title(ax, titled(f"{coupling}", ds, others), 9)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("Integrator: the λ = 1 mode ramps at h_a/τ while the input is on, then holds")
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The ramp and hold, and the generic figures of every checked quantity, by file name."""
    return {"ramp_hold": ramp_hold_figure(ds), **generic.figures(ds)}
