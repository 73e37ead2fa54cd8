"""What every report figure shares: a blank figure, axis labels from attributes, slices.

Figures are built with :class:`matplotlib.figure.Figure` directly (the Agg
canvas, no pyplot): no global state, no display needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, NullLocator

DIMENSIONLESS = ("1", "", None)
"""Units of a dimensionless quantity: its label carries no unit."""

SYMBOLS = {
    "lam": "λ",
    "lam1": "λ1",
    "lam2": "λ2",
    "lam_real": "Re λ",
    "lam_imag": "Im λ",
    "tau": "τ",
    "coupling": "w",
    "tau_eff": "τ_eff",
}
"""How a name reads in a label or title, where it has a usual symbol."""


def figure(
    width: float = 6.4, height: float = 4.2, columns: int = 1, constrained: bool = False
) -> tuple[Figure, list]:
    """A new figure with ``columns`` axes side by side.

    ``constrained``: lay it out with matplotlib's constrained layout even with
    one axes (needed for a figure title or a legend outside the axes).
    """
    # One axes needs no layout engine: savefig's tight bounding box keeps every label,
    # and constrained layout's solve at every draw would be work for nothing (see
    # benchmarks/README.md).
    layout = "constrained" if columns > 1 or constrained else None
    fig = Figure(figsize=(width * columns, height), layout=layout)
    axes = fig.subplots(1, columns, squeeze=False)[0]
    return fig, list(axes)


def titled(text: str, ds: xr.Dataset, chosen: Mapping[str, int]) -> str:
    """``text``, and on a second line the slice ``chosen`` that the figure shows, if any."""
    return text + (f"\n(slice: {slice_text(ds, chosen)})" if chosen else "")


def finish(ax: Axes, xlabel: str, ylabel: str, title: str, **legend: Any) -> None:
    """Label the axes of ``ax``, give it its title and its legend (``legend``: its options)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    set_title(ax, title)
    ax.legend(**{"fontsize": 8, **legend})


def set_title(ax: Axes, title: str, fontsize: float = 10) -> None:
    """Give ``ax`` its title, just above the axes.

    Placed there, not left to matplotlib, which at every draw looks for tick
    labels above the axes to clear (there are none): the same pixels, with that
    search left out of every draw (see benchmarks/README.md, figure 10).
    """
    ax.set_title(title, fontsize=fontsize, y=1.0)


def state_space_labels(ds: xr.Dataset) -> tuple[str, str]:
    """The axis labels of a two-neuron state space: ``v1 [Hz]``, ``v2 [Hz]``."""
    units = ds["rate"].attrs.get("units", "Hz")
    return f"v1 [{units}]", f"v2 [{units}]"


def symbol(name: str) -> str:
    return SYMBOLS.get(name, name)


def unit_suffix(units: str | None) -> str:
    """`` [units]``, or nothing for a dimensionless quantity."""
    return "" if units in DIMENSIONLESS else f" [{units}]"


def axis_label(da: xr.DataArray | xr.Variable, name: str, text: str | None = None) -> str:
    """``text`` (or the symbol of ``name``) and the units of ``da``: ``τ [s]``, ``λ``."""
    return (text or symbol(name)) + unit_suffix(da.attrs.get("units"))


def value_text(ds: xr.Dataset, dim: str, value: object) -> str:
    """``τ = 0.05 s``: one coordinate value with its units."""
    units = ds[dim].attrs.get("units")
    shown = f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)
    return f"{symbol(dim)} = {shown}" + ("" if units in DIMENSIONLESS else f" {units}")


def slice_text(ds: xr.Dataset, chosen: Mapping[str, int]) -> str:
    """The slice ``chosen`` (dimension -> index) in words, for a title."""
    return ", ".join(value_text(ds, dim, ds[dim].values[i]) for dim, i in chosen.items())


def sweep_dims(ds: xr.Dataset) -> list[str]:
    """The swept parameters of a store, in its order (those of ``status``)."""
    return list(ds["status"].dims)


def fixed(ds: xr.Dataset, *drawn: str) -> dict[str, int]:
    """The sweep dimensions of ``ds`` other than ``drawn``, each fixed at its first value."""
    return {dim: 0 for dim in sweep_dims(ds) if dim not in drawn}


def nearest(values: np.ndarray, targets: Sequence[float]) -> list[int]:
    """Indices of the values nearest to each target, without repeats, in ascending value."""
    chosen = {int(np.argmin(np.abs(values - target))) for target in targets}
    return sorted(chosen, key=lambda i: values[i])


def spread(count: int, most: int) -> list[int]:
    """Up to ``most`` indices of ``count`` items, evenly spread, first and last included."""
    if count <= most:
        return list(range(count))
    return sorted({round(i) for i in np.linspace(0, count - 1, most)})


FLAT = 1e-6
"""Values that differ by less than this fraction of their size are drawn as one level."""


def flat_axis(ax: Axes, *arrays: np.ndarray) -> None:
    """Show values that agree to round-off as the one level they are, not as noise.

    Left alone, matplotlib zooms into a span of 1e-12 and labels it with an
    offset ("1e-12+5e-1"): round-off drawn as if it were a result.  The
    level is drawn within 10 % of its size either side (within 1 of 0 where
    every value is 0).
    """
    values = np.concatenate([np.ravel(a) for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return
    low, high = float(values.min()), float(values.max())
    size = max(abs(low), abs(high))
    if high - low <= FLAT * size:
        centre = (low + high) / 2
        # Every value exactly 0 (an undriven sweep) has no size to scale by: a unit span.
        half = 0.1 * size if size > 0 else 1.0
        ax.set_ylim(centre - half, centre + half)


MINOR_TICK_DECADES = 3
"""A log axis over more decades than this has no minor ticks (unlabelled, and costly to draw)."""


def log_scale(ax: Axes, axis: str = "y") -> None:
    """Put ``axis`` of ``ax`` (drawn already) on a log scale, its ticks labelled in plain text.

    matplotlib's default labels (``10^-6`` as mathtext) build the mathtext
    parser on first use, and every minor tick is an artist of its own: both
    cost more than the rest of a figure's drawing (benchmarks/README.md, figure 10).
    """
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    which = ax.yaxis if axis == "y" else ax.xaxis
    which.set_major_formatter(LogFormatter(labelOnlyBase=True))
    low, high = ax.dataLim.intervaly if axis == "y" else ax.dataLim.intervalx
    if low > 0 and np.log10(high / low) > MINOR_TICK_DECADES:
        which.set_minor_locator(NullLocator())


def positive_span(*arrays: np.ndarray) -> float:
    """max/min of the finite values of ``arrays`` where all are positive, else 0."""
    values = np.concatenate([np.ravel(a) for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0 or (values <= 0).any():
        return 0.0
    return float(values.max() / values.min())
