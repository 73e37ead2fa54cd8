"""The lecture's picture of two autapses side by side: the loop their response draws in state space.

Neuron 1 (``lam1``) and neuron 2 (``lam2``) each relax at their own rate
``(1 - lam_i)/tau``, so a step input in any direction sends the state
``(v1, v2)`` out along one path and back along another: a loop, whose
signed area :func:`analysis.theory.scenarios.loop_area_theory` predicts.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report import generic
from analysis.report.figures import (
    DENSE,
    apart,
    figure,
    finish,
    fixed,
    legend,
    samples,
    set_title,
    state_space_labels,
    titled,
)
from analysis.theory.linear import response_theory
from analysis.theory.scenarios import steady_state_theory

MARKERS = 50
"""About this many simulated samples are drawn per trajectory (the line is the theory)."""


def loop_figure(ds: xr.Dataset) -> Figure:
    """``v2`` against ``v1`` for every input direction, and every loop's area against theory.

    Left: the report's slice (:func:`analysis.report.figures.fixed`): the
    simulated samples (each direction's offset from the others', which all
    start at rest), the closed-form trajectory of each input direction
    (:func:`analysis.theory.linear.response_theory`) and the steady state
    ``(I - M)^-1 h`` each would reach if the input stayed on.  Right: the
    signed area of every point's loop, measured against theory, on the
    diagonal.
    """
    area = ds[["loop_area", "loop_area_theory"]].load()
    others = fixed(ds, "input_angle")
    names = ["rate", "h", "weights", "eigenvalues", "eigenvectors", "mode_input", "tau"]
    part = ds[names].isel(others).load()
    fig, (ax, area_ax) = figure(5.4, 5.0, columns=2)
    steady = steady_state_theory(part["weights"], part["h"]).transpose("input_angle", "neuron")
    time = part["time"].values
    dense = np.linspace(time[0], time[-1], DENSE)
    step = max(1, len(time) // MARKERS)
    directions = part.sizes["input_angle"]
    onset, offset = float(ds["onset"]), float(ds["offset"])
    everywhere = part["rate"].values
    scale = np.array([np.ptp(everywhere[..., n][np.isfinite(everywhere[..., n])]) or 1.0
                      for n in range(2)])  # fmt: skip
    placed: list[np.ndarray] = []
    for k in range(part.sizes["input_angle"]):
        point = part.isel(input_angle=k)
        theory = response_theory(
            point["eigenvalues"].values,
            point["eigenvectors"].transpose("neuron", "mode").values,
            point["mode_input"].values,
            float(point["tau"]),
            onset,
            offset,
            dense,
        )
        first = k == 0  # one legend entry for every direction
        ax.plot(theory[0], theory[1], "-", color=f"C{k % 10}", lw=1.2,
                label="theory (v1(t), v2(t)), one per direction" if first else None)  # fmt: skip
        rate = point["rate"].transpose("neuron", "time").values
        # Samples from the input on, until back within 2 % of the loop's size: every
        # direction starts and ends at rest, where their samples would lie on each other.
        size = np.hypot(*rate)
        away = (time >= onset) & (size >= 0.02 * np.nanmax(size))
        shown = samples(len(time), step, k, directions)
        shown = shown[away[shown]]
        # Paths that meet (two directions back along one neuron) show the samples of the
        # first only where they meet; out and back apart by marker.
        shown = shown[apart(rate[:, shown].T, placed, scale)]
        for when, marker, text in (
            (time[shown] < offset, "o", "while the input is on"),
            (time[shown] >= offset, "s", "after it stops"),
        ):
            ax.plot(rate[0, shown[when]], rate[1, shown[when]], marker, color=f"C{k % 10}",
                    ms=3.5, mfc="none",
                    label=f"simulated, every {step}th sample, {text}" if first else None,
            )  # fmt: skip
    ax.plot(steady.values[:, 0], steady.values[:, 1], "kx", ms=7, mew=1.5,
            label="theory: steady state (I-M)⁻¹h if the input stayed on")  # fmt: skip
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    title = titled("Out along the fast neuron, back along the slow one: a loop", ds, others)
    finish(ax, *state_space_labels(ds), title, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    generic.on_diagonal(area_ax, area["loop_area_theory"].values, area["loop_area"].values)
    area_units = ds["loop_area"].attrs.get("units", "Hz^2")
    area_ax.set_xlabel(f"loop area, theory [{area_units}]")
    area_ax.set_ylabel(f"loop area, measured (polygon) [{area_units}]")
    set_title(area_ax, "Signed area ½∮(v1 dv2 - v2 dv1) of every point's loop", 10)
    legend(area_ax, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    fig.suptitle("Two autapses: the response to a step draws a loop in state space")
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The loop, and the generic figures of the other quantities, by file name."""
    return {"loop": loop_figure(ds), **generic.figures(ds, skip=("loop_area",))}
