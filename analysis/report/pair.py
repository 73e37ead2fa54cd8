"""The lecture's pictures of two coupled neurons (the ``pair`` network, weight ``w`` each way).

State space: the trajectories ``(v1(t), v2(t))`` for every input direction,
with the eigenvectors ``(1, 1)/sqrt2`` and ``(1, -1)/sqrt2`` drawn and
scaled by their gains ``1/(1 -+ w)`` (times the input's size), and the
ellipse of steady states ``(I - M)^-1 h`` that theory predicts.  And each
mode's gain against ``w`` with ``1/(1 - w)`` and ``1/(1 + w)``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.report.figures import (
    figure,
    finish,
    fixed,
    log_scale,
    nearest,
    set_title,
    slice_text,
    state_space_labels,
    titled,
)
from analysis.theory.linear import gain_theory, is_integrator
from analysis.theory.scenarios import steady_states

STATE_SPACE_COUPLINGS = (0.8, -0.8)
"""Couplings whose state space is drawn (the nearest swept values): the lecture's."""


def state_space_figure(ds: xr.Dataset) -> Figure:
    """``v2`` against ``v1`` for every input direction, eigenvectors scaled by gains."""
    couplings = ds["coupling"].values
    chosen = nearest(couplings, STATE_SPACE_COUPLINGS)[::-1]
    others = fixed(ds, "coupling", "input_angle")
    # Constrained also for one coupling: the figure's title and legend sit outside the axes.
    fig, axes = figure(5.0, 5.0, columns=len(chosen), constrained=True)
    for ax, index in zip(axes, chosen, strict=True):
        point = {**others, "coupling": index}
        part = ds[["rate", "h", "weights", "eigenvectors", "eigenvalues"]].isel(point).load()
        angles = part["input_angle"].values
        colours = [f"C{k % 10}" for k in range(len(angles))]
        for k in range(len(angles)):
            trajectory = part["rate"].isel(input_angle=k)
            ax.plot(trajectory.isel(neuron=0), trajectory.isel(neuron=1), lw=0.9,
                    color=colours[k], alpha=0.8)  # fmt: skip
        first = {"input_angle": 0}
        size = float(np.linalg.norm(part["h"].isel(first).values))
        weights = part["weights"].isel(first).values
        theta = np.linspace(0, 2 * np.pi, 361)
        inputs = size * np.stack([np.cos(theta), np.sin(theta)])
        # NaN where an integrator mode is driven: no steady state, nothing drawn.
        steady = steady_states(weights[None], inputs[None])[0]
        ax.plot(steady[0], steady[1], "k--", lw=1)
        vectors = part["eigenvectors"].isel(first).values
        for mode, eigenvalue in enumerate(part["eigenvalues"].isel(first).values):
            if is_integrator(eigenvalue):  # no gain: the mode integrates its input
                where = vectors[:, mode] * size
                ax.text(*where, f"λ = {eigenvalue:+.2g}\nintegrates", fontsize=8,
                        ha="center", va="center", bbox={"fc": "white", "ec": "none"})  # fmt: skip
                continue
            gain = 1 / (1 - eigenvalue)
            arrow = vectors[:, mode] * gain * size
            ax.annotate("", xy=tuple(arrow), xytext=(0, 0),
                        arrowprops={"arrowstyle": "->", "lw": 2, "color": "k"})  # fmt: skip
            # Beyond the arrow's head by a fixed length, so a short arrow's label clears it.
            where = arrow + vectors[:, mode] * 0.45 * size
            box = {"fc": "white", "ec": "none", "alpha": 0.8}
            ax.text(*where, f"λ = {eigenvalue:+.2g}\ngain {gain:.3g}", fontsize=8,
                    ha="center", va="center", bbox=box)  # fmt: skip
        ax.set_aspect("equal", adjustable="datalim")
        ax.margins(0.12)
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0, color="0.85", lw=0.8, zorder=0)
        xlabel, ylabel = state_space_labels(ds)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        shown = {**others, "coupling": index}
        set_title(
            ax,
            f"{slice_text(ds, shown)}: {len(angles)} input directions;\n"
            "arrows: eigenvectors x gain 1/(1-λ) x |h|",
            fontsize=10,
        )
    fig.suptitle("Two coupled neurons in state space: the input along each eigenvector is "
                 "scaled by its gain")  # fmt: skip
    fig.legend(
        handles=[Line2D([], [], color="k", ls="--", lw=1), Line2D([], [], color="C0", lw=0.9)],
        labels=[
            "theory: steady states (I - M)⁻¹h for every direction of h (|h| fixed)",
            "simulated trajectories (v1(t), v2(t)), one per input direction (the step may end "
            "before the slow mode settles)",
        ],
        loc="outside lower center",
        fontsize=8,
    )
    return fig


def mode_gain_figure(ds: xr.Dataset) -> Figure:
    """Each mode's measured gain against ``w``, with ``1/(1 - w)`` and ``1/(1 + w)``.

    The mode along ``(1, 1)`` has eigenvalue ``+w``, the one along ``(1, -1)``
    has ``-w``; a mode is told by the sign of its eigenvector's components.
    """
    others = fixed(ds, "coupling", "input_angle", "tau")
    part = ds[["gain", "eigenvectors"]].isel(others).load()
    vectors = part["eigenvectors"]
    along_sum = (vectors.isel(neuron=0) * vectors.isel(neuron=1)) > 0
    coupling = part["coupling"].broadcast_like(part["gain"])
    fig, (ax,) = figure()
    w = part["coupling"].values
    # One coupling alone still gets a stretch of each curve around it (short of w = +-1).
    half = 0.1 * (1 - abs(w[0])) if w.min() == w.max() and abs(w[0]) < 1 else 0.0
    dense = np.linspace(w.min() - half, w.max() + half, 400)
    for along, sign, colour, name in (
        (True, 1, "C3", "(1, 1)/√2"),
        (False, -1, "C0", "(1, -1)/√2"),
    ):
        theory = gain_theory(sign * dense)  # NaN from w = 1 on: no steady state
        label = "1/(1 - w)" if sign > 0 else "1/(1 + w)"
        ax.plot(dense, theory, color=colour, lw=1.5, label=f"theory {label}, mode {name}")
        mask = (along_sum == along).values & np.isfinite(part["gain"].values)
        ax.plot(coupling.values[mask], part["gain"].values[mask], "o", color=colour, mfc="none",
                ms=7, label=f"measured, mode {name} (every input direction and τ)")  # fmt: skip
    log_scale(ax)
    title = titled(
        "Gain of each mode of the pair: 1/(1 - w) along (1, 1), 1/(1 + w) along (1, -1)",
        ds,
        others,
    )
    finish(ax, "w, coupling between the two neurons", "steady-state gain of the mode", title)
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The pair figures of ``ds`` by file name."""
    return {"state_space": state_space_figure(ds), "mode_gain": mode_gain_figure(ds)}
