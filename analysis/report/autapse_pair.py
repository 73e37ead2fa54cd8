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
from analysis.report.figures import figure, finish, fixed, set_title, state_space_labels, titled
from analysis.theory.linear import response_theory
from analysis.theory.scenarios import steady_state_theory

MARKERS = 50
"""About this many simulated samples are drawn per trajectory (the line is the theory)."""


def loop_figure(ds: xr.Dataset) -> Figure:
    """``v2`` against ``v1`` for every input direction, and every loop's area against theory.

    Left: the slice whose loops are largest (by the theory's area): the
    simulated samples, the closed-form trajectory of each input direction
    (:func:`analysis.theory.linear.response_theory`) and the steady state
    ``(I - M)^-1 h`` each would reach if the input stayed on.  Right: the
    signed area of every point's loop, measured against theory, on the
    diagonal.
    """
    area = ds[["loop_area", "loop_area_theory"]].load()
    others = fixed(ds, "input_angle")
    if others:
        size = abs(area["loop_area_theory"]).sum("input_angle").transpose(*others)
        at = np.unravel_index(int(np.nanargmax(size.values)), size.shape)
        others = {dim: int(i) for dim, i in zip(others, at, strict=True)}
    names = ["rate", "h", "weights", "eigenvalues", "eigenvectors", "mode_input", "tau"]
    part = ds[names].isel(others).load()
    fig, (ax, area_ax) = figure(5.4, 5.0, columns=2)
    steady = steady_state_theory(part["weights"], part["h"]).transpose("input_angle", "neuron")
    time = part["time"].values
    step = max(1, len(time) // MARKERS)
    onset, offset = float(ds["onset"]), float(ds["offset"])
    for k in range(part.sizes["input_angle"]):
        point = part.isel(input_angle=k)
        theory = response_theory(
            point["eigenvalues"].values,
            point["eigenvectors"].transpose("neuron", "mode").values,
            point["mode_input"].values,
            float(point["tau"]),
            onset,
            offset,
            time,
        )
        first = k == 0  # one legend entry for every direction
        ax.plot(theory[0], theory[1], "-", color=f"C{k % 10}", lw=1.2,
                label="theory (v1(t), v2(t)), one per direction" if first else None)  # fmt: skip
        simulated = point["rate"].transpose("neuron", "time").values[:, ::step]
        ax.plot(simulated[0], simulated[1], "o", color=f"C{k % 10}", ms=3, mfc="none",
                label=f"simulated, every {step}th sample" if first else None)  # fmt: skip
    ax.plot(steady.values[:, 0], steady.values[:, 1], "kx", ms=7, mew=1.5,
            label="theory: steady state (I-M)⁻¹h if the input stayed on")  # fmt: skip
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    title = titled("Out along the fast neuron, back along the slow one: a loop", ds, others)
    finish(ax, *state_space_labels(ds), title, fontsize=7, loc="upper left")
    generic.on_diagonal(area_ax, area["loop_area_theory"].values, area["loop_area"].values)
    area_units = ds["loop_area"].attrs.get("units", "Hz^2")
    area_ax.set_xlabel(f"loop area, theory [{area_units}]")
    area_ax.set_ylabel(f"loop area, measured (polygon through the samples) [{area_units}]")
    set_title(area_ax, "Signed area ½∮(v1 dv2 - v2 dv1) of every point's loop", 10)
    area_ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Two autapses: the response to a step draws a loop in state space")
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The loop, and the generic figures of the other quantities, by file name."""
    return {"loop": loop_figure(ds), **generic.figures(ds, skip=("loop_area",))}
