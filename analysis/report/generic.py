"""Figures for any store: each checked quantity, measured (points) beside its theory (line).

The horizontal axis is the sweep dimension with the most values; every other
sweep dimension is fixed at its middle value, and the title names that slice.
The quantity's own dimensions (``mode``, ``phase``, ``epoch``, ...) are series,
at most :data:`MOST_SERIES` of them.  Only that slice is read from the store.
"""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.checks.verdicts import INAPPLICABLE, VERDICTS
from analysis.report.figures import (
    axis_label,
    figure,
    finish,
    flat_axis,
    log_scale,
    positive_span,
    slice_text,
    sweep_dims,
    symbol,
    titled,
)
from analysis.summary import checked_quantities

MOST_SERIES = 8
"""At most this many series (values of a quantity's own dimensions) per figure."""


def _axis(ds: xr.Dataset) -> tuple[str, dict[str, int]]:
    """The sweep dimension drawn along x, and the slice (index per other sweep dimension)."""
    dims = sweep_dims(ds)
    x = max(dims, key=lambda dim: (ds.sizes[dim], -dims.index(dim)))
    return x, {dim: ds.sizes[dim] // 2 for dim in dims if dim != x}


def quantity_figure(ds: xr.Dataset, name: str) -> Figure | None:
    """``name`` and ``name_theory`` against the widest sweep dimension; None if nothing applies."""
    x, chosen = _axis(ds)
    part = ds[[name, f"{name}_theory", f"{name}_check"]].isel(chosen).load()
    codes = part[f"{name}_check"]
    if bool(np.isin(codes, [VERDICTS[reason] for reason in INAPPLICABLE]).all()):
        return None  # no finite theory to draw, nothing measured
    measured = part[name].broadcast_like(codes)
    theory = part[f"{name}_theory"].broadcast_like(codes)
    inner = [dim for dim in codes.dims if dim != x]
    combos = list(itertools.product(*(range(codes.sizes[dim]) for dim in inner)))
    if len(combos) > MOST_SERIES:
        return diagonal_figure(ds, name, measured, theory, chosen)
    fig, (ax,) = figure()
    xs = part[x].values
    for k, combo in enumerate(combos):
        where = dict(zip(inner, combo, strict=True))
        label = ", ".join(f"{dim} {part[dim].values[i]}" for dim, i in where.items())
        colour = f"C{k % 10}"
        ax.plot(xs, theory.isel(where).transpose(x).values, "-", color=colour, lw=1.2, alpha=0.7,
                label=f"theory{', ' + label if label else ''}")  # fmt: skip
        ax.plot(xs, measured.isel(where).transpose(x).values, "o", color=colour, mfc="none",
                ms=7, label=f"measured{', ' + label if label else ''}")  # fmt: skip
    if positive_span(measured.values, theory.values) > 50:
        log_scale(ax)
    flat_axis(ax, measured.values, theory.values)
    if positive_span(xs) > 20:  # a sweep over decades (runaway's w up to 50)
        log_scale(ax, "x")
    formula = ds[f"{name}_theory"].attrs.get("formula", "theory")
    title = titled(f"{symbol(name)}: measured (points) vs theory {formula} (line)", ds, chosen)
    xlabel, ylabel = axis_label(ds[x], x), axis_label(ds[name], name)
    finish(ax, xlabel, ylabel, title, fontsize=7, ncols=2 if len(combos) > 3 else 1)
    return fig


def diagonal_figure(
    ds: xr.Dataset,
    name: str,
    measured: xr.DataArray,
    theory: xr.DataArray,
    chosen: dict[str, int],
) -> Figure:
    """Every value of the slice, measured against theory, on the diagonal ``y = x``.

    For quantities with too many components to draw as series (a gain matrix).
    """
    fig, (ax,) = figure(5.2, 5.0)
    on_diagonal(ax, theory.values, measured.values)
    formula = ds[f"{name}_theory"].attrs.get("formula", "theory")
    title = f"{symbol(name)}: every component, measured vs theory {formula}"
    if chosen:
        title += f"\n(slice: {slice_text(ds, chosen)}; every {', '.join(measured.dims)})"
    xlabel = axis_label(ds[f"{name}_theory"], name, f"{symbol(name)}, theory")
    finish(ax, xlabel, axis_label(ds[name], name, f"{symbol(name)}, measured"), title)
    return fig


def on_diagonal(ax: Axes, theory: np.ndarray, measured: np.ndarray) -> None:
    """Each finite pair of ``theory`` and ``measured`` as a point, and the line ``y = x``."""
    x, y = np.ravel(theory), np.ravel(measured)
    shown = np.isfinite(x) & np.isfinite(y)
    if shown.any():
        low = float(min(x[shown].min(), y[shown].min()))
        high = float(max(x[shown].max(), y[shown].max()))
        ax.plot([low, high], [low, high], "-", color="0.4", lw=1, label="measured = theory")
    ax.plot(x[shown], y[shown], "o", mfc="none", ms=6, label=f"{int(shown.sum())} values compared")
    ax.set_aspect("equal", adjustable="datalim")


def figures(ds: xr.Dataset, skip: tuple[str, ...] = ()) -> dict[str, Figure]:
    """A figure per checked quantity of ``ds`` (but ``skip``) that applies in the slice drawn."""
    names = [name for name in checked_quantities(ds) if name not in skip]
    drawn = {name: quantity_figure(ds, name) for name in names}
    return {name: fig for name, fig in drawn.items() if fig is not None}
