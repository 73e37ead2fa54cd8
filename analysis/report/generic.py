"""Figures for any store: each checked quantity, measured (points) beside its theory (line).

The horizontal axis is chosen by what the sweep varies and what the theory
depends on:

- a mode's quantity whose theory is a closed form in its eigenvalue (``gain``
  ``1/(1-lam)``, ``tau_eff`` ``tau/(1-lam)``, ``persistence``
  ``exp(-(1-lam) D/tau)``, ``growth_rate`` ``(lam-1)/tau``) is drawn against
  the mode's eigenvalue, pooled over every swept value that sets the
  eigenvalues (``lam``, ``coupling``, ...), one series per ``tau`` where the
  theory depends on it, and the closed form drawn on a fine grid;
- a quantity proportional to the input a mode receives (``ramp_slope``
  ``h_a/tau``, ``held_value`` ``h_a T/tau``) against ``input_angle``: with
  ``h = |h| (cos a, sin a)``, ``h_a`` is ``A cos a + B sin a``, so its
  theory is that sinusoid, found exactly from its values at two or more angles;
- any other against the sweep dimension along which its theory varies most,
  the theory drawn as a tick at each swept value (no closed form is known here
  to draw between them).

Every sweep dimension the figure does not draw is fixed at the report's
slice (:func:`analysis.report.figures.report_slice`), and only that slice is
read from the store.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from analysis.checks.verdicts import INAPPLICABLE, VERDICTS
from analysis.report.figures import (
    DENSE,
    apart,
    axis_label,
    distinct,
    figure,
    finish,
    fixed,
    flat_axis,
    log_scale,
    marker_size,
    name_text,
    positive_span,
    report_slice,
    slice_text,
    spread,
    sweep_dims,
    symbol,
    titled,
    value_text,
)
from analysis.summary import checked_quantities
from analysis.theory.linear import gain_theory, persistence_theory, tau_eff_theory

MOST_SERIES = 8
"""At most this many series (values of a quantity's own dimensions) per figure."""
SHOWN_TAUS = 3
"""At most this many values of ``tau`` are drawn as series."""
MARKERS = "osD^v<>p"

ModeTheory = Callable[[xr.DataArray, float, float], xr.DataArray]
"""A mode's theory from its eigenvalues, ``tau`` and the persistence delay ``D``."""

MODE_THEORIES: dict[str, tuple[ModeTheory, bool]] = {
    "gain": (lambda lam, tau, delay: gain_theory(lam), False),
    "tau_eff": (lambda lam, tau, delay: tau_eff_theory(lam, tau), True),
    "persistence": (lambda lam, tau, delay: persistence_theory(lam, tau, delay), True),
    "growth_rate": (lambda lam, tau, delay: (np.real(lam) - 1) / tau, True),
}
"""Quantities drawn against their mode's eigenvalue: the closed form, and whether it
depends on ``tau`` (one series per ``tau``)."""

INPUT_LINEAR = ("ramp_slope", "held_value")
"""Quantities proportional to the input a mode receives: drawn against ``input_angle``."""


def varying(ds: xr.Dataset, name: str) -> list[str]:
    """The sweep dimensions along which ``name`` varies, through the report's slice.

    Each is told from one line of values along it (the other dimensions at
    the slice), so only those lines are read.
    """
    chosen = report_slice(ds)
    found = []
    for dim in sweep_dims(ds):
        if dim not in ds[name].dims:
            continue
        through = {d: i for d, i in chosen.items() if d != dim}
        line = ds[name].isel(through).transpose(dim, ...).values
        finite = np.where(np.isfinite(line), line, 0.0)
        if not np.allclose(finite, finite[:1], rtol=1e-12, atol=0):
            found.append(dim)
    return found


def _applies(codes: xr.DataArray) -> bool:
    """Whether the quantity applies at some point of ``codes`` (a finite theory to draw)."""
    return not bool(np.isin(codes, [VERDICTS[reason] for reason in INAPPLICABLE]).all())


def mode_figure(ds: xr.Dataset, name: str) -> Figure | None:
    """``name`` against its mode's eigenvalue, with its closed form (:data:`MODE_THEORIES`)."""
    theory_of, per_tau = MODE_THEORIES[name]
    setting = varying(ds, "eigenvalues")
    drawn = [*setting, *(["tau"] if per_tau and "tau" in sweep_dims(ds) else [])]
    others = fixed(ds, *drawn)
    part = ds[[name, f"{name}_check", "eigenvalues"]].isel(others).load()
    codes = part[f"{name}_check"]
    if not _applies(codes):
        return None
    measured = part[name].where(codes != VERDICTS["not_applicable"])
    lam = np.real(part["eigenvalues"]).broadcast_like(measured)
    # Series by phase (rise, decay); every other own dimension (mode, epoch) is pooled.
    inner = [d for d in measured.dims if d == "phase"]
    taus = spread(part.sizes["tau"], SHOWN_TAUS) if "tau" in drawn else [None]
    combos = [
        (t, where)
        for t in taus
        for where in (
            dict(zip(inner, c, strict=True))
            for c in itertools.product(*(range(part.sizes[d]) for d in inner))
        )
    ]
    delay = float(ds[f"{name}_theory"].attrs.get("delay", ds[name].attrs.get("delay", 0.0)))
    fig, (ax,) = figure()
    everything = [np.array([])]
    span = lam.values[np.isfinite(measured.values)]
    nowhere = not span.size  # measured at no point: the theory alone, and the title says so
    if nowhere:
        span = lam.where(codes.broadcast_like(lam) != VERDICTS["not_applicable"]).values
        span = span[np.isfinite(span)]
    if not span.size:
        return None
    low, high = float(span.min()), float(span.max())
    pad = 0.5 if high == low else 0.05 * (high - low)
    wide = max(abs(low), abs(high)) > 20  # eigenvalues over decades (a runaway's w = 50)
    if wide:  # a grid even on the symmetric log axis: even in asinh
        ends = np.arcsinh([low - 0.1 * abs(low), high + 0.1 * abs(high)])
        dense = np.sinh(np.linspace(*ends, DENSE))
    else:
        dense = np.linspace(low - pad, high + pad, DENSE)
    formula = ds[f"{name}_theory"].attrs.get("formula", "")
    pole = int(np.searchsorted(dense, 1.0))  # lam = 1: the curve breaks there
    values = measured.values[np.isfinite(measured.values)]
    logy = positive_span(values) > 50
    shown_y = np.log10(np.abs(values)) if logy else values
    scale = np.array(
        [np.ptp(np.arcsinh(dense) if wide else dense), np.ptp(shown_y) if shown_y.size else 1.0]
    )
    scale[scale == 0] = 1.0
    for k, (t, where) in enumerate(combos):
        point = {**where, **({"tau": t} if t is not None else {})}
        x, y = distinct(lam.isel(point).values, measured.isel(point).values)
        # Points of one series closer than a marker (a fit's scatter) are drawn once.
        on_axes = np.stack([np.arcsinh(x) if wide else x, np.log10(np.abs(y)) if logy else y], 1)
        x, y = x[apart(on_axes, [], scale)], y[apart(on_axes, [], scale)]
        if not len(x) and not nowhere:
            continue
        tau = float(ds["tau"].values[t]) if t is not None else float(np.ravel(ds["tau"].values)[0])
        series = taus.index(t)  # one colour and one theory curve per tau
        tau_text = value_text(ds, "tau", tau) if t is not None else ""
        own = ", ".join(f"{d} {part[d].values[i]}" for d, i in where.items())
        colour = f"C{series % 10}" if t is not None else "C0"
        line = np.asarray(theory_of(xr.DataArray(dense), tau, delay), dtype=float)
        if all(v == 0 for v in where.values()):
            broken = (
                (np.insert(dense, pole, 1.0), np.insert(line, pole, np.nan))
                if dense[0] < 1.0 < dense[-1]
                else (dense, line)
            )
            ax.plot(*broken, "-", color=colour if t is not None else "0.3", lw=1.3, zorder=1,
                    label=f"theory {formula}" + (f", {tau_text}" if tau_text else ""))  # fmt: skip
        everything += [y, line[np.abs(dense - 1) > 0.1]]  # the pole does not set the scale
        if not len(x):
            continue  # a legend entry only for what is drawn
        inner_index = sum(where.values())
        label = ", ".join(filter(None, ["measured", tau_text, own]))
        ax.plot(x, y, MARKERS[inner_index % len(MARKERS)], color=colour, mfc="none", mew=1.4,
                ms=marker_size(k, of=len(combos)), label=label)  # fmt: skip
    _limits(ax, np.concatenate(everything))
    if wide:
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(dense[0], dense[-1])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    by = ", ".join(map(name_text, setting)) or "the network"
    x_label = f"λ, eigenvalue of the mode (set by {by})"
    formula = ds[f"{name}_theory"].attrs.get("formula", "theory")
    what = "measured at no point of this slice" if nowhere else "measured (points)"
    title = titled(f"{name}: {what} vs theory {formula} (line)", ds, others)
    finish(ax, x_label, axis_label(ds[name], name), title)
    return fig


def _limits(ax: Axes, measured: np.ndarray) -> None:
    """The y axis around the measured values: a theory curve's pole does not set the scale."""
    values = measured[np.isfinite(measured)]
    if not values.size:
        return
    if positive_span(values) > 50:
        log_scale(ax)
        low, high = ax.get_ylim()
        ax.set_ylim(max(low, 10 ** np.floor(np.log10(values.min() / 1.1))),
                    min(high, 10 ** np.ceil(np.log10(values.max() * 1.1))))  # fmt: skip
        return
    spread_ = values.max() - values.min()
    pad = 0.1 * (spread_ if spread_ > 0 else max(abs(values.max()), 1.0))
    ax.set_ylim(values.min() - pad, values.max() + pad)


def input_figure(ds: xr.Dataset, name: str) -> Figure | None:
    """``name`` against ``input_angle``, with its theory ``A cos a + B sin a`` on a fine grid.

    One series per network (each value of the sweep dimensions that set the
    eigenvalues or eigenvectors) and mode.
    """
    network = {*varying(ds, "eigenvalues"), *varying(ds, "eigenvectors")} - {"input_angle"}
    setting = [d for d in sweep_dims(ds) if d in network]
    others = fixed(ds, "input_angle", *setting)
    part = ds[[name, f"{name}_theory", f"{name}_check"]].isel(others).load()
    codes = part[f"{name}_check"]
    if not _applies(codes):
        return None
    measured = part[name].where(codes != VERDICTS["not_applicable"])
    theory = (
        part[f"{name}_theory"].broadcast_like(measured).where(codes != VERDICTS["not_applicable"])
    )
    angles = part["input_angle"].values
    dense = np.linspace(angles.min(), angles.max(), DENSE)
    inner = [d for d in measured.dims if d != "input_angle"]
    fig, (ax,) = figure()
    shown = []
    for where in (
        dict(zip(inner, c, strict=True))
        for c in itertools.product(*(range(part.sizes[d]) for d in inner))
    ):
        y = measured.isel(where).transpose("input_angle").values
        at = theory.isel(where).transpose("input_angle").values
        if not np.isfinite(y).any() and not np.isfinite(at).any():
            continue  # a series with nothing that applies: no entry
        shown.append((where, y, at))
    for k, (where, y, at) in enumerate(shown):
        label = ", ".join(
            value_text(ds, d, part[d].values[i])
            if d in sweep_dims(ds)
            else f"{d} {part[d].values[i]}"
            for d, i in where.items()
        )
        colour = f"C{k % 10}"
        ok = np.isfinite(at)
        if ok.sum() >= 2:
            basis = np.stack([np.cos(angles[ok]), np.sin(angles[ok])], axis=1)
            coefficients = np.linalg.lstsq(basis, at[ok], rcond=None)[0]
            curve = coefficients[0] * np.cos(dense) + coefficients[1] * np.sin(dense)
            formula = ds[f"{name}_theory"].attrs.get("formula", "")
            ax.plot(dense, curve, "-", color=colour, lw=1.3, zorder=1,
                    label=f"theory {formula}, {label}")  # fmt: skip
        ax.plot(angles, y, MARKERS[k % len(MARKERS)], color=colour, mfc="none", mew=1.4,
                ms=marker_size(k, of=len(shown)), label=f"measured, {label}")  # fmt: skip
    ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
    formula = ds[f"{name}_theory"].attrs.get("formula", "theory")
    title = titled(f"{name}: measured (points) vs theory {formula} (line)", ds, others)
    xlabel = axis_label(ds["input_angle"], "input_angle", "input_angle, direction of h")
    finish(ax, xlabel, axis_label(ds[name], name), title)
    return fig


def _axis(ds: xr.Dataset, name: str) -> tuple[str, dict[str, int]]:
    """The sweep dimension drawn along x (where the theory varies, the widest such), the slice."""
    dims = sweep_dims(ds)
    moving = varying(ds, f"{name}_theory") or dims
    x = max(moving, key=lambda dim: (ds.sizes[dim], -dims.index(dim)))
    return x, fixed(ds, x)


def quantity_figure(ds: xr.Dataset, name: str) -> Figure | None:
    """``name`` and its theory; None if the theory applies nowhere in the slice drawn."""
    if name in MODE_THEORIES and "eigenvalues" in ds and "mode" in ds[name].dims:
        return mode_figure(ds, name)
    if name in INPUT_LINEAR and "input_angle" in sweep_dims(ds):
        return input_figure(ds, name)
    x, chosen = _axis(ds, name)
    part = ds[[name, f"{name}_theory", f"{name}_check"]].isel(chosen).load()
    codes = part[f"{name}_check"]
    if not _applies(codes):
        return None
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
        # No closed form known here: the theory at each swept value, never a line between them.
        ax.plot(xs, theory.isel(where).transpose(x).values, "_", color=colour, ms=16, mew=2,
                label=f"theory at each swept value{', ' + label if label else ''}")  # fmt: skip
        ax.plot(xs, measured.isel(where).transpose(x).values, "o", color=colour, mfc="none",
                ms=marker_size(k, of=len(combos)),
                label=f"measured{', ' + label if label else ''}")  # fmt: skip
    if positive_span(measured.values, theory.values) > 50:
        log_scale(ax)
    flat_axis(ax, measured.values, theory.values)
    if positive_span(xs) > 20:  # a sweep over decades
        log_scale(ax, "x")
    formula = ds[f"{name}_theory"].attrs.get("formula", "theory")
    title = titled(f"{name}: measured (points) vs theory {formula} (ticks)", ds, chosen)
    finish(ax, axis_label(ds[x], x), axis_label(ds[name], name), title)
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
    title = f"{name}: every component, measured vs theory {formula}"
    if chosen:
        title += f"\n(slice: {slice_text(ds, chosen)}; every {', '.join(measured.dims)})"
    xlabel = axis_label(ds[f"{name}_theory"], name, f"{symbol(name)}, theory")
    finish(ax, xlabel, axis_label(ds[name], name, f"{symbol(name)}, measured"), title)
    return fig


def on_diagonal(ax: Axes, theory: np.ndarray, measured: np.ndarray) -> None:
    """Each distinct finite pair of ``theory`` and ``measured`` as a point, and ``y = x``."""
    x, y = np.ravel(theory), np.ravel(measured)
    count = int((np.isfinite(x) & np.isfinite(y)).sum())
    x, y = distinct(x, y)
    if len(x):  # values closer than a marker are drawn once
        span = float(max(np.ptp(x), np.ptp(y))) or 1.0
        keep = apart(np.stack([x, y], axis=1), [], np.array([span, span]))
        x, y = x[keep], y[keep]
    if len(x):
        low = float(min(x.min(), y.min()))
        high = float(max(x.max(), y.max()))
        line = np.linspace(low, high, DENSE)
        ax.plot(line, line, "-", color="0.4", lw=1, label="measured = theory")
    ax.plot(x, y, "o", mfc="none", ms=6,
            label=f"{count} values compared ({len(x)} drawn: equal ones once)")  # fmt: skip
    ax.set_aspect("equal", adjustable="datalim")


def figures(ds: xr.Dataset, skip: tuple[str, ...] = ()) -> dict[str, Figure]:
    """A figure per checked quantity of ``ds`` (but ``skip``) that applies in the slice drawn."""
    names = [name for name in checked_quantities(ds) if name not in skip]
    drawn = {name: quantity_figure(ds, name) for name in names}
    return {name: fig for name, fig in drawn.items() if fig is not None}
