"""The report's figure style, checked on a figure's matplotlib artists (``style_problems``).

What a reader of a figure must be able to trust at a glance
(:mod:`analysis.report.figures` states the style):

- every legend entry names something drawn with data;
- every line drawn in data coordinates (a theory curve, a trajectory) has at
  least :data:`DENSE_POINTS` points: a closed form on a fine grid, never
  segments between the swept values;
- no marker lies entirely under another of the same axes;
- a swept parameter is named as the config names it: ``coupling (w) = 1``,
  never ``w = 1``, in titles, axis labels and legends.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.spatial import cKDTree

from analysis.report.figures import SYMBOLS, sweep_dims

DENSE_POINTS = 100
PIXEL = 0.5
"""Display distances below this many pixels are one place."""
NO_MARKER = ("None", "none", "", " ", None)
OPEN_SHAPES = ("x", "+", "|", "_", "1", "2", "3", "4", ",")
"""Markers drawn as strokes only: they hide nothing."""


def _drawn(line: Line2D) -> np.ndarray:
    xy = np.asarray(line.get_xydata(), dtype=float).reshape(-1, 2)
    return xy[np.isfinite(xy).all(axis=1)]


def legend_problems(fig: Figure) -> list[str]:
    """Legend entries whose label no artist with data carries."""
    problems = []
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    artists = [a for ax in fig.axes for a in (*ax.lines, *ax.patches, *ax.collections)]
    for legend in filter(None, legends):
        for text in legend.get_texts():
            label = text.get_text()
            carriers = [a for a in artists if a.get_label() == label]
            if not carriers:
                problems.append(f"legend entry {label!r}: no artist of the figure carries it")
            elif not any(not isinstance(a, Line2D) or len(_drawn(a)) for a in carriers):
                problems.append(f"legend entry {label!r}: drawn with no data")
    return problems


def line_problems(fig: Figure) -> list[str]:
    """Lines in data coordinates drawn through fewer than :data:`DENSE_POINTS` points."""
    problems = []
    for ax in fig.axes:
        for line in ax.lines:
            if line.get_linestyle() in NO_MARKER or line.get_transform() != ax.transData:
                continue  # markers only, or a reference line across the axes (axhline)
            if 1 < len(_drawn(line)) < DENSE_POINTS:
                problems.append(
                    f"line {line.get_label()!r} of {ax.get_title()!r}: "
                    f"{len(_drawn(line))} points, not a closed form on a fine grid"
                )
    return problems


def marker_problems(fig: Figure) -> list[str]:
    """Markers entirely under another of the same axes, drawn later.

    A marker hides an earlier one at the same place of the same shape and
    size (within :data:`PIXEL`), or, if filled, one it covers wholly.  Hollow
    rings of different sizes at one place nest and show both.
    """
    fig.draw_without_rendering()
    problems = []
    for ax in fig.axes:
        places, radii, filled, shapes, owners = [], [], [], [], []
        lines = sorted(
            (line for line in ax.lines if line.get_marker() not in NO_MARKER),
            key=lambda line: line.get_zorder(),
        )
        for line in lines:
            xy = _drawn(line)
            if not len(xy):
                continue
            shown = line.get_transform().transform(xy)
            inside = ax.bbox.contains  # markers clipped away are not drawn
            keep = np.array([inside(x, y) for x, y in shown])
            shown = shown[keep]
            radius = line.get_markersize() * fig.dpi / 72 / 2
            solid = line.get_marker() not in OPEN_SHAPES and str(
                line.get_markerfacecolor()
            ).lower() not in ("none", "(0, 0, 0, 0)")
            for place in shown:
                places.append(place)
                radii.append(radius)
                filled.append(solid)
                shapes.append(str(line.get_marker()))
                owners.append(line.get_label())
        if len(places) < 2:
            continue
        tree = cKDTree(np.asarray(places))
        reach = 2 * max(radii) + PIXEL
        for i, j in sorted(tree.query_pairs(reach)):  # i < j: j is drawn later
            distance = float(np.hypot(*(places[i] - places[j])))
            same = (
                distance <= PIXEL and abs(radii[i] - radii[j]) <= PIXEL and shapes[i] == shapes[j]
            )
            covered = filled[j] and distance + radii[i] <= radii[j] + PIXEL
            if same or covered:
                problems.append(
                    f"{ax.get_title()!r}: a marker of {owners[i]!r} at pixel "
                    f"{np.round(places[i]).tolist()} lies under one of {owners[j]!r}"
                )
    return problems


def name_problems(fig: Figure, ds: xr.Dataset) -> list[str]:
    """Titles, axis labels and legend entries that write a swept parameter by its symbol
    alone (``w = 1``) instead of its config name (``coupling (w) = 1``)."""
    texts = [fig.get_suptitle()] if hasattr(fig, "get_suptitle") else []
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend():
            texts += [t.get_text() for t in ax.get_legend().get_texts()]
    for legend in fig.legends:
        texts += [t.get_text() for t in legend.get_texts()]
    problems = []
    for dim in sweep_dims(ds):
        if dim not in SYMBOLS:
            continue
        bare = re.compile(rf"(?<![\w/)(-]){re.escape(SYMBOLS[dim])} =")  # not in a formula
        for text in texts:
            if bare.search(text.replace(f"{dim} ({SYMBOLS[dim]}) =", "")):
                problems.append(f"{text!r} writes {SYMBOLS[dim]} for the config's {dim!r}")
    return problems


def style_problems(fig: Figure, ds: xr.Dataset) -> list[str]:
    """Every way ``fig`` (a report figure of the store ``ds``) breaks the report's style."""
    return [
        *legend_problems(fig),
        *line_problems(fig),
        *marker_problems(fig),
        *name_problems(fig, ds),
    ]


@pytest.fixture(scope="session")
def figure_style() -> Callable[[Figure, xr.Dataset], list[str]]:
    """:func:`style_problems`, for the tests of each figure module."""
    return style_problems
