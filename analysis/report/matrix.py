"""A network given by its weight matrix: in mode coordinates every mode is an autapse.

The activity of each mode, ``c_a = (Phi^-1 v)_a``, read from the recorded
rates (:mod:`analysis.measure.modes`), beside its own step response
``tau dc_a/dt = -(1 - lam_a) c_a + h_a``
(:func:`analysis.theory.linear.step_response_theory`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.measure.modes import eigenvector_inverse, mode_activity
from analysis.report import generic
from analysis.report.figures import DENSE, figure, finish, fixed, samples, titled
from analysis.theory.linear import step_response_theory

MARKERS = 50
"""About this many recorded samples are drawn per mode (the line is the theory)."""


def modes_figure(ds: xr.Dataset) -> Figure:
    """Each mode's activity against time, measured (points) and its autapse theory (line)."""
    others = fixed(ds)
    part = ds[["rate", "eigenvalues", "eigenvectors", "mode_input", "tau"]].isel(others).load()
    activity = mode_activity(part["rate"], eigenvector_inverse(part)).transpose("mode", "time")
    time = part["time"].values
    step = max(1, len(time) // MARKERS)
    dense = np.linspace(time[0], time[-1], DENSE)
    onset, offset, tau = float(ds["onset"]), float(ds["offset"]), float(part["tau"])
    fig, (ax,) = figure(6.0, 4.4)
    ax.axvspan(onset, offset, color="tab:orange", alpha=0.12, lw=0, label="input on")
    for a, lam in enumerate(part["eigenvalues"].values):
        h_a = part["mode_input"].values[a]
        theory = np.real(step_response_theory(lam, h_a, tau, onset, offset, dense))
        gain = f", gain 1/(1-λ) = {1 / (1 - np.real(lam)):.3g}" if np.real(lam) < 1 else ""
        (line,) = ax.plot(dense, theory, lw=1.2,
                          label=f"mode {a}, λ = {np.real(lam):.3g}{gain}: theory")  # fmt: skip
        label = f"measured c_a(t), every {step}th sample" if a == 0 else None
        shown = samples(len(time), step, a, activity.sizes["mode"])  # at rest they meet
        ax.plot(time[shown], np.real(activity.values[a, shown]), "o", ms=3.5, mfc="none",
                color=line.get_color(), label=label)  # fmt: skip
    units = ds["rate"].attrs.get("units", "Hz")
    title = titled("Every mode of M is an autapse: c_a = (Φ⁻¹v)_a relaxes at (1-λ_a)/τ", ds, others)
    finish(ax, "time [s]", f"mode activity c_a [{units}]", title)
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The modes' time courses, and the generic figures of every checked quantity."""
    return {"modes": modes_figure(ds), **generic.figures(ds)}
