"""The lecture's memory: a saturating autapse with ``lam > 1`` settles at ``v* = f(lam v*)``.

Where each point's rate ended, against ``lam``, for inputs of either sign,
beside the stable fixed points of :func:`analysis.theory.scenarios.fixed_point_theory`
drawn as curves over ``lam`` (0 below ``lam = 1``, ``+-v*`` above, where 0
is unstable).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report import generic
from analysis.report.figures import figure, finish, fixed, titled
from analysis.theory.scenarios import fixed_point_theory


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
    dense = np.linspace(min(lam.min(), 0.0), lam.max(), 500)
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
        ax.plot(lam, point["fixed_point"].values, "o", color=colour, mfc="none", ms=9 - 3 * k,
                mew=1.5, label=f"measured rate at the end, h = {h:+g} Hz")  # fmt: skip
    ax.axvline(1.0, color="0.6", ls=":", lw=1)
    units = ds["fixed_point"].attrs.get("units", "Hz")
    title = titled("Saturating memory: the rate settles at 0 below λ = 1, at ±v* above", ds, others)
    finish(ax, "λ, self-connection weight", f"rate where it settles [{units}]", title,
           fontsize=7, loc="upper left")  # fmt: skip
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The fixed points, and the generic figure of the memory, by file name."""
    return {"fixed_point": fixed_point_figure(ds), **generic.figures(ds, skip=("fixed_point",))}
