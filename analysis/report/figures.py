"""What every report figure shares: a blank figure, labels, one slice, legends, log axes.

The style every figure keeps (``tests/analysis/report/artists.py`` checks it
on the artists):

- theory is drawn from its closed form on a fine grid (:data:`DENSE` points),
  never as segments between the swept values;
- markers cannot hide each other: equal points are drawn once
  (:func:`distinct`), series that meet are told apart by size, and samples
  of time courses are offset from series to series (:func:`samples`);
- a legend lists only what is drawn, and sits beside the axes, not over the
  data (:func:`legend`);
- a swept parameter is named as in the config, with the lecture's symbol
  beside it: ``coupling (w)`` (:func:`name_text`);
- the parameters a figure does not draw are fixed at one slice for the
  whole report (:func:`report_slice`), which the report's page states once;
- a log axis spans whole decades, each labelled alike: 1e-2, 1e-1, 1, 10
  (:func:`log_scale`).

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
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

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
"""The lecture's symbol of a name, written beside it in a label or title."""

DENSE = 400
"""Points of a theory curve drawn from its closed form."""

LEGEND = {"fontsize": 8, "loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0}
"""A legend beside the axes, to the right, its top at the axes' top."""


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


def finish(ax: Axes, xlabel: str, ylabel: str, title: str, **options: Any) -> None:
    """Label the axes of ``ax``, give it its title and its legend (:func:`legend`)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    set_title(ax, title)
    legend(ax, **options)


def has_data(artist: Any) -> bool:
    """Whether a legend entry's artist draws something: a line or marker with a finite point."""
    if isinstance(artist, Line2D):
        x, y = (np.asarray(v, dtype=float) for v in artist.get_data())
        return bool((np.isfinite(x) & np.isfinite(y)).any())
    return True  # a shaded span, a patch: drawn wherever it is placed


def legend(ax: Axes, **options: Any) -> None:
    """The legend of ``ax`` beside it (:data:`LEGEND`), without entries that draw nothing."""
    handles, labels = ax.get_legend_handles_labels()
    kept = [(h, text) for h, text in zip(handles, labels, strict=True) if has_data(h)]
    if kept:
        ax.legend(*zip(*kept, strict=True), **{**LEGEND, **options})


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


def name_text(name: str) -> str:
    """A name as the config writes it, with the lecture's symbol beside it: ``coupling (w)``."""
    return f"{name} ({SYMBOLS[name]})" if name in SYMBOLS else name


def unit_suffix(units: str | None) -> str:
    """`` [units]``, or nothing for a dimensionless quantity."""
    return "" if units in DIMENSIONLESS else f" [{units}]"


def axis_label(da: xr.DataArray | xr.Variable, name: str, text: str | None = None) -> str:
    """``text`` (or ``name`` and its symbol) and the units of ``da``: ``tau (τ) [s]``."""
    return (text or name_text(name)) + unit_suffix(da.attrs.get("units"))


def value_text(ds: xr.Dataset, dim: str, value: object) -> str:
    """``tau (τ) = 0.05 s``: one coordinate value with its units."""
    units = ds[dim].attrs.get("units")
    shown = f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)
    return f"{name_text(dim)} = {shown}" + ("" if units in DIMENSIONLESS else f" {units}")


def slice_text(ds: xr.Dataset, chosen: Mapping[str, int]) -> str:
    """The slice ``chosen`` (dimension -> index) in words, for a title."""
    return ", ".join(value_text(ds, dim, ds[dim].values[i]) for dim, i in chosen.items())


def sweep_dims(ds: xr.Dataset) -> list[str]:
    """The swept parameters of a store, in its order (those of ``status``)."""
    return list(ds["status"].dims)


def report_slice(ds: xr.Dataset) -> dict[str, int]:
    """The index at which every figure of a report fixes each sweep dimension it does not draw.

    The middle value (of two middles the upper: ``amplitude`` +1 of -1 and
    +1), the same for every figure, so that the report shows one slice.
    """
    return {dim: ds.sizes[dim] // 2 for dim in sweep_dims(ds)}


def slice_caption(ds: xr.Dataset) -> str:
    """The report's slice in words, for the page: ``tau (τ) = 0.05 s, amplitude = 1 Hz``."""
    return slice_text(ds, report_slice(ds))


def fixed(ds: xr.Dataset, *drawn: str) -> dict[str, int]:
    """The sweep dimensions of ``ds`` other than ``drawn``, each at the report's slice."""
    chosen = report_slice(ds)
    return {dim: chosen[dim] for dim in sweep_dims(ds) if dim not in drawn}


def distinct(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The finite points ``(x, y)``, each place drawn once: equal points would hide each other.

    Points closer than :data:`ONE_PLACE` of the points' span in both
    coordinates are one place (far below a pixel): round-off, or a fit's
    last digits, does not make two points of one.
    """
    x, y = np.ravel(x).astype(float), np.ravel(y).astype(float)
    shown = np.isfinite(x) & np.isfinite(y)
    x, y = x[shown], y[shown]
    if not x.size:
        return x, y
    keys = np.stack([_place(x), _place(y)], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    first = np.sort(first)
    return x[first], y[first]


ONE_PLACE = 1e-5
"""Values closer than this fraction of their span (or of their size) are one place."""


def _place(values: np.ndarray) -> np.ndarray:
    scale = float(np.ptp(values)) or float(np.abs(values).max()) or 1.0
    return np.round(values / (ONE_PLACE * scale)).astype(np.int64)


def apart(points: np.ndarray, placed: list[np.ndarray], scale: np.ndarray) -> np.ndarray:
    """Which ``points`` (n, 2) lie clear of every point ``placed`` so far, then place them.

    Two points closer than :data:`CLEAR` of ``scale`` (the axes' span in data
    units, per coordinate) in both coordinates would be drawn on each other;
    of those, the one placed first is kept.  For samples of paths that meet
    (two trajectories back along one axis).
    """
    keep = np.zeros(len(points), dtype=bool)
    for i, point in enumerate(points):
        near = [np.all(np.abs(other - point) < CLEAR * scale) for other in placed]
        if np.isfinite(point).all() and not any(near):
            keep[i] = True
            placed.append(point)
    return keep


CLEAR = 0.006
"""Markers closer than this fraction of the axes (about 3 pixels) would lie on each other."""


def samples(count: int, every: int, series: int, of: int) -> np.ndarray:
    """Indices of every ``every``-th of ``count`` samples, offset for series ``series`` of ``of``.

    Time courses that coincide (every one at rest before the input) would
    put their markers on the same points; each series starts a fraction of
    ``every`` later than the one before, so none lies under another.
    """
    start = (series * every) // max(of, 1)
    return np.arange(start, count, max(every, 1))


def marker_size(series: int, largest: float = 10.0, smallest: float = 4.0, of: int = 3) -> float:
    """The size of series ``series``' hollow markers: where series meet, rings nest."""
    if of <= 1:
        return largest
    return largest - (largest - smallest) * min(series, of - 1) / (of - 1)


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


def decade_text(value: float, _position: object = None) -> str:
    """A decade's label: ``1``, ``10``, ``100``, and ``1e-1``, ``1e3`` beyond: one style."""
    if not value > 0:
        return ""
    exponent = round(float(np.log10(value)))
    if not np.isclose(value, 10.0**exponent):
        return ""  # not a decade: unlabelled
    return f"{10**exponent:d}" if 0 <= exponent <= 2 else f"1e{exponent}"


def log_scale(ax: Axes, axis: str = "y") -> None:
    """Put ``axis`` of ``ax`` (drawn already) on a log scale over whole decades, each labelled.

    The limits are the decades around the positive data, every decade has a
    labelled tick (:func:`decade_text`).  matplotlib's default labels
    (``10^-6`` as mathtext) build the mathtext parser on first use, and every
    minor tick is an artist of its own: both cost more than the rest of a
    figure's drawing (benchmarks/README.md).
    """
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    which = ax.yaxis if axis == "y" else ax.xaxis
    low, high = _positive_limits(ax, axis)
    if low > 0:
        # A point on a decade is not drawn on the axes' edge: the next decade out.
        bottom = 10.0 ** np.floor(np.log10(low / 1.1))
        top = 10.0 ** np.ceil(np.log10(high * 1.1))
        top = top if top > bottom else bottom * 10
        (ax.set_ylim if axis == "y" else ax.set_xlim)(bottom, top)
        which.set_major_locator(LogLocator(base=10, numticks=100))
        which.set_major_formatter(FuncFormatter(decade_text))
        if np.log10(top / bottom) > MINOR_TICK_DECADES:
            which.set_minor_locator(NullLocator())


def _positive_limits(ax: Axes, axis: str) -> tuple[float, float]:
    """The least and greatest positive finite value the lines of ``ax`` draw along ``axis``."""
    values = [
        np.asarray(line.get_ydata() if axis == "y" else line.get_xdata(), dtype=float)
        for line in ax.get_lines()
        if line.get_transform() == ax.transData
    ]
    finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values]) if values else []
    if len(finite) == 0:
        return 0.0, 0.0
    return float(np.min(finite)), float(np.max(finite))


def positive_span(*arrays: np.ndarray) -> float:
    """max/min of the finite values of ``arrays`` where all are positive, else 0."""
    values = np.concatenate([np.ravel(a) for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0 or (values <= 0).any():
        return 0.0
    return float(values.max() / values.min())
