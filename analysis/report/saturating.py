"""The lecture's memory: a saturating autapse with ``lam > 1`` settles at ``v* = f(lam v*)``.

Where each point's rate ended, against ``lam``, for inputs of either sign,
beside the stable fixed points of :func:`analysis.theory.scenarios.fixed_point_theory`
drawn as curves over ``lam`` (0 below ``lam = 1``, ``+-v*`` above, where 0
is unstable).  And the memory, the sign of where the rate ends, against
``lam`` beside its theory, a step at ``lam = 1``: ``sign(h)`` above, 0 below.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report import generic
from analysis.report.figures import DENSE, figure, finish, fixed, marker_size, titled
from analysis.theory.scenarios import fixed_point_theory

LAM = "lam (λ), the self-connection's weight"


def transfer(ds: xr.Dataset) -> tuple[str, float]:
    """The transfer function of ``ds`` by name (``tanh``, ``clip``, ``linear``), and its ceiling.

    A store without a ceiling has a linear ``f``; its size is then the input's.
    """
    ceiling = ds["ceiling"] if "ceiling" in ds else None
    if ceiling is None:
        return "linear", float(abs(ds["h"]).max())
    return str(ceiling.attrs["transfer"]), float(ceiling)


def fixed_point_curves(ds: xr.Dataset, lam: np.ndarray) -> dict[int, np.ndarray]:
    """The stable fixed point reached from a positive (``1``) and a negative (``-1``) input."""
    kind, size = transfer(ds)
    dense = xr.DataArray(lam, dims="lam")
    return {
        sign: fixed_point_theory(dense, xr.DataArray(float(sign)), kind, size).values
        for sign in (1, -1)
    }


def fixed_point_figure(ds: xr.Dataset) -> Figure:
    """The rate at the end of the recording against ``lam``, and the fixed points of f(lam v)."""
    others = fixed(ds, "lam", "amplitude")
    part = ds[["fixed_point", "h"]].isel(others).isel(neuron=0).load()
    lam = part["lam"].values
    fig, (ax,) = figure(6.4, 4.6)
    dense = np.linspace(min(lam.min(), 0.0), lam.max(), DENSE)
    # The pitchfork rises as sqrt(lam - 1) from lam = 1: a finer grid there.
    dense = np.union1d(dense, 1 + np.geomspace(1e-6, 0.1, 60))
    dense = dense[dense <= lam.max()]
    curves = fixed_point_curves(ds, dense)
    for sign, colour in ((1, "C3"), (-1, "C0")):
        side = "positive" if sign > 0 else "negative"
        ax.plot(dense, curves[sign], "-", color=colour, lw=1.5,
                label=f"theory v* = f(λv*), f {transfer(ds)[0]}, after a {side} input")  # fmt: skip
    above = dense > 1
    ax.plot(dense[above], np.zeros(above.sum()), ":", color="0.5", lw=1.2,
            label="v = 0, unstable for λ > 1")  # fmt: skip
    amplitudes = part["amplitude"].values if "amplitude" in part.dims else [None]
    for k, _ in enumerate(amplitudes):
        point = part.isel(amplitude=k) if "amplitude" in part.dims else part
        h = float(point["h"].values.ravel()[0])
        colour = "C3" if h > 0 else "C0"
        ax.plot(lam, point["fixed_point"].values, "o", color=colour, mfc="none",
                ms=marker_size(k, of=len(amplitudes)), mew=1.5,
                label=f"measured rate at the end, h = {h:+g} Hz")  # fmt: skip
    ax.axvline(1.0, color="0.6", ls=":", lw=1)
    units = ds["fixed_point"].attrs.get("units", "Hz")
    title = titled(
        "Saturating memory: the rate settles at 0 below lam (λ) = 1, at ±v* above", ds, others
    )
    finish(ax, LAM, f"rate where it settles [{units}]", title)
    return fig


def memory_theory(lam: np.ndarray, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """The memory's theory over ``lam``, a step: 0 up to ``lam = 1``, ``sign(h)`` beyond.

    Returns the points of the step (``lam`` and the memory), ``lam = 1`` twice
    so that the step is drawn as a step.
    """
    below = lam[lam <= 1.0]
    above = lam[lam > 1.0]
    x = np.concatenate([below, [1.0, 1.0], above])
    y = np.concatenate([np.zeros(below.size), [0.0, sign], np.full(above.size, sign)])
    return x, y


def memory_figure(ds: xr.Dataset) -> Figure:
    """The memory (sign of where the rate ends) against ``lam``, and its step at ``lam = 1``."""
    others = fixed(ds, "lam", "amplitude")
    part = ds[["memory", "h"]].isel(others).isel(neuron=0).load()
    lam = part["lam"].values
    dense = np.linspace(min(lam.min(), 0.0), lam.max(), DENSE)
    fig, (ax,) = figure(6.4, 4.6)
    amplitudes = range(part.sizes["amplitude"]) if "amplitude" in part.dims else [None]
    for k in amplitudes:
        point = part.isel(amplitude=k) if k is not None else part
        h = float(point["h"].values.ravel()[0])
        colour = "C3" if h > 0 else "C0"
        ax.plot(*memory_theory(dense, float(np.sign(h))), "-", color=colour, lw=1.5, zorder=1,
                label=f"theory, after h = {h:+g} Hz: sign(h) for λ > 1, else 0")  # fmt: skip
        ax.plot(lam, np.ravel(point["memory"].values), "o", color=colour, mfc="none", mew=1.5,
                ms=marker_size(k or 0, of=len(amplitudes)),
                label=f"measured, after h = {h:+g} Hz")  # fmt: skip
    ax.axvline(1.0, color="0.6", ls=":", lw=1)
    ax.set_yticks([-1, 0, 1])
    ax.set_ylim(-1.3, 1.3)
    title = titled("Saturating memory: the sign of a brief input is held above lam (λ) = 1",
                   ds, others)  # fmt: skip
    ylabel = "memory: sign of the rate at the end\n(±1: holds the input's sign, 0: forgot it)"
    finish(ax, LAM, ylabel, title)
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The fixed points, the memory, and the generic figures of the rest, by file name."""
    return {
        "fixed_point": fixed_point_figure(ds),
        **({"memory": memory_figure(ds)} if "memory" in ds else {}),
        **generic.figures(ds, skip=("fixed_point", "memory")),
    }
