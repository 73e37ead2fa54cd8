"""The lecture's pictures of an autapse sweep (a neuron with a self-connection ``lam``).

Gain against ``lam`` with ``1/(1-lam)``; ``tau_eff/tau`` against ``lam`` with
``1/(1-lam)`` for the rise and the decay; persistence against ``lam`` with
``exp(-(1-lam) D/tau)``; and time courses of a few points with the input
shaded.  Every figure reads only the variables it draws (and, of ``rate``,
only the points it draws), so its cost does not grow with the sweep.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report.figures import (
    DENSE,
    figure,
    finish,
    fixed,
    log_scale,
    marker_size,
    nearest,
    positive_span,
    samples,
    spread,
    titled,
    value_text,
)
from analysis.theory.linear import (
    gain_theory,
    persistence_theory,
    step_response_theory,
    tau_eff_theory,
)

SHOWN_TAUS = 4
"""At most this many values of ``tau`` are drawn as separate series."""
LAM = "lam (λ), the self-connection's weight and eigenvalue"
TIME_COURSE_LAMS = (-1.0, 0.5, 0.9, 1.0, 1.25)
"""Eigenvalues whose time courses are drawn (the nearest swept values): negative and
positive feedback, slow, integrator, runaway."""
TIME_COURSE_MARKERS = 50
"""About this many simulated samples are drawn per time course (the line is the theory)."""


def _dense_lam(lam: np.ndarray, below: float = 1.0) -> np.ndarray:
    """A fine grid over the swept ``lam`` below ``below``, for a theory curve."""
    low = float(lam.min())
    high = float(lam[lam < below].max()) if (lam < below).any() else low
    return np.linspace(low, high, DENSE)


def gain_figure(ds: xr.Dataset) -> Figure:
    """Measured steady-state gain against ``lam``, and ``1/(1-lam)``."""
    others = fixed(ds, "lam", "tau")
    part = ds[["gain"]].isel(others, mode=0).load()
    lam, taus = part["lam"].values, part["tau"].values
    fig, (ax,) = figure()
    dense = _dense_lam(lam)
    ax.plot(dense, gain_theory(dense), color="0.3", lw=1.5, label="theory 1/(1-λ)", zorder=1)
    markers = "osD^v"
    shown = spread(len(taus), SHOWN_TAUS)
    for k, i in enumerate(shown):
        gain = part["gain"].isel(tau=i).values
        ax.plot(lam, gain, markers[k % 5], ms=marker_size(k, of=len(shown)), mfc="none", mew=1.5,
                label=f"measured, {value_text(ds, 'tau', taus[i])}")  # fmt: skip
    ax.axvline(1.0, color="0.6", ls=":", lw=1)
    ax.text(1.0, 0.98, "no steady state at λ = 1 ", transform=ax.get_xaxis_transform(),
            va="top", ha="right", fontsize=8, color="0.4")  # fmt: skip
    ax.set_xlim(right=max(float(lam.max()), 1.0) + 0.05)
    if positive_span(part["gain"].values) > 20:
        log_scale(ax)
    title = titled("Autapse gain: measured points on the theory 1/(1-λ)", ds, others)
    finish(ax, LAM, "steady-state gain v∞/h", title)
    return fig


def tau_eff_figure(ds: xr.Dataset) -> Figure:
    """Measured ``tau_eff/tau`` against ``lam`` and ``1/(1-lam)``: one panel per phase.

    ``tau_eff/tau`` does not depend on ``tau``, so the values of ``tau`` meet:
    their rings nest (largest first), and the rise and the decay, equal too,
    have a panel each.
    """
    others = fixed(ds, "lam", "tau")
    part = ds[["tau_eff"]].isel(others, mode=0).load()
    lam, taus = part["lam"].values, part["tau"].values
    ratio = part["tau_eff"] / part["tau"]
    phases = [p for p in ("rise", "decay") if p in part["phase"].values]
    fig, axes = figure(5.0, 4.4, columns=len(phases))
    measured = ratio.values[np.isfinite(ratio.values)]
    shown = spread(len(taus), SHOWN_TAUS)
    for ax, phase in zip(axes, phases, strict=True):
        label = "theory 1/(1-λ)"
        for side in (lam < 1, lam > 1):  # one branch each side of the pole at lam = 1
            if side.any():
                dense = np.linspace(lam[side].min(), lam[side].max(), DENSE)
                ax.plot(dense, tau_eff_theory(dense, 1.0), color="0.3", lw=1.5, zorder=1,
                        label=label)  # fmt: skip
                label = None
        for k, i in enumerate(shown):
            values = ratio.sel(phase=phase).isel(tau=i).values
            ax.plot(lam, values, "os"[phases.index(phase)], ms=marker_size(k, of=len(shown)),
                    mfc="none", mew=1.3, color=f"C{k}",
                    label=f"measured, {value_text(ds, 'tau', taus[i])}")  # fmt: skip
        ax.axhline(0.0, color="0.8", lw=0.8)
        ax.axvline(1.0, color="0.6", ls=":", lw=1)
        ax.text(1.0, 0.02, "integrator at λ = 1 ", transform=ax.get_xaxis_transform(),
                va="bottom", ha="right", fontsize=8, color="0.4")  # fmt: skip
        if measured.size:
            pad = 0.1 * (measured.max() - measured.min() + 1)
            ax.set_ylim(measured.min() - pad, measured.max() + pad)
        what = "while the input is on" if phase == "rise" else "after the input stops"
        finish(ax, LAM, "τ_eff / τ  (negative: growth)", f"{phase}: {what}")
    fig.suptitle(titled("Autapse time constant: positive feedback slows, negative speeds up",
                        ds, others))  # fmt: skip
    return fig


def persistence_figure(ds: xr.Dataset) -> Figure:
    """Persistence a delay ``D`` after the input stops, against ``lam``, with theory per ``tau``."""
    others = fixed(ds, "lam", "tau")
    part = ds[["persistence"]].isel(others, mode=0).load()
    lam, taus = part["lam"].values, part["tau"].values
    delay = float(ds["persistence_theory"].attrs.get("delay", ds["persistence"].attrs["delay"]))
    fig, (ax,) = figure()
    dense = np.linspace(lam.min(), lam.max(), DENSE)
    markers = "osD^v"
    shown = spread(len(taus), SHOWN_TAUS)
    for k, i in enumerate(shown):
        tau = float(taus[i])
        (line,) = ax.plot(dense, persistence_theory(dense, tau, delay), lw=1.2, zorder=1,
                          label=f"theory exp(-(1-λ)D/τ), {value_text(ds, 'tau', tau)}")  # fmt: skip
        measured = part["persistence"].isel(tau=i).values
        ax.plot(lam, measured, markers[k % 5], color=line.get_color(), mfc="none", mew=1.5,
                ms=marker_size(k, of=len(shown)),
                label=f"measured, {value_text(ds, 'tau', tau)}")  # fmt: skip
    ax.axhline(1.0, color="0.6", ls=":", lw=1)
    log_scale(ax)
    title = titled(
        "Autapse persistence: decays below lam (λ) = 1, holds at 1, grows above", ds, others
    )
    ylabel = f"v(t_off + D) / v(t_off),  D = {delay:g} s"
    finish(ax, LAM, ylabel, title)
    return fig


def time_course_figure(ds: xr.Dataset) -> Figure:
    """``rate`` of a few chosen ``lam`` at one ``tau`` (points) and its closed form (lines).

    The input step is shaded; the lines are
    :func:`analysis.theory.linear.step_response_theory` of each point.
    """
    others = fixed(ds, "lam", "tau")
    lam = ds["lam"].values
    chosen = nearest(lam, TIME_COURSE_LAMS)
    tau_index = len(ds["tau"]) // 2
    selection = {**others, "lam": chosen, "tau": tau_index, "neuron": 0}
    rate = ds["rate"].isel(selection).load()
    h = float(ds["h"].isel({**others, "lam": chosen[0], "tau": tau_index, "neuron": 0}).values)
    onset, offset = float(ds["onset"].values), float(ds["offset"].values)
    tau = float(ds["tau"].values[tau_index])
    fig, (ax,) = figure(7.0, 4.2)
    ax.axvspan(onset, offset, color="tab:orange", alpha=0.15, lw=0,
               label=f"input on, h = {h:g} {ds['h'].attrs.get('units', '')}")  # fmt: skip
    time = rate["time"].values
    step = max(1, len(time) // TIME_COURSE_MARKERS)
    dense = np.linspace(time[0], time[-1], DENSE)
    for k, i in enumerate(chosen):
        theory = step_response_theory(lam[i], h, tau, onset, offset, dense)
        (line,) = ax.plot(dense, theory, lw=1.2, label=f"{value_text(ds, 'lam', lam[i])}: theory")
        label = f"simulated, every {step}th sample" if k == 0 else None
        # Each lam's samples a little later than the last's: at rest they would coincide.
        shown = samples(len(time), step, k, len(chosen))
        ax.plot(time[shown], rate.isel(lam=k).values[shown], "o", ms=3.5, mfc="none",
                color=line.get_color(), label=label)  # fmt: skip
    tau_text = value_text(ds, "tau", ds["tau"].values[tau_index])
    title = titled(
        f"Autapse responses to a step input ({tau_text}): points simulated, lines theory",
        ds,
        others,
    )
    finish(ax, "time [s]", f"rate v [{ds['rate'].attrs.get('units', 'Hz')}]", title)
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The autapse figures of ``ds`` by file name."""
    return {
        "gain": gain_figure(ds),
        "tau_eff": tau_eff_figure(ds),
        "persistence": persistence_figure(ds),
        "time_courses": time_course_figure(ds),
    }
