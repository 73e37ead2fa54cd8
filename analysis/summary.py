"""A short text account of a store: point status and the theory check, per quantity.

Every ``Q_check`` variable next to ``Q`` and ``Q_theory`` is summarised: how
many points agree and disagree, the worst relative error and where it is, and
which points could not be measured and why.

The summary is a reduction that streams.  Every block (in the task that
computes it) or every slab of a store read back is reduced to a
:class:`Tally`: counts per verdict, the worst error and where, and which
values of each sweep dimension hold the points of each reason.  Tallies
combine associatively and commutatively (:meth:`Tally.combine`), so memory
grows with the number of blocks at most, never with the points, and the
lines printed do not depend on how the store is cut or in which order its
blocks finish.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from analysis.checks.verdicts import INAPPLICABLE, REASONS, VERDICTS, reduce_codes, scaled_error

STATUS_VARIABLE = "status"

SLAB_POINTS = 250_000
"""Points read at once: about 50 MB of per-point results of a 2-neuron sweep."""


@dataclass(frozen=True)
class Summary:
    """The lines to print, and the overall verdict.

    ``PASS``: the sweep is complete, nothing disagrees, and every quantity
    that applies anywhere was measured at some point.  ``FAIL``: something
    disagrees, or points failed or are pending.  ``INCONCLUSIVE``: nothing
    disagrees, but a quantity that applies was measured at no point (every
    point diverged, say, or was not resolved): no evidence, so no pass.  A
    quantity does not apply at a point where its theory has no finite value
    there (:data:`analysis.checks.verdicts.INAPPLICABLE`: a gain without a
    steady state, a time constant at ``lam = 1``): such points are neither
    evidence nor missing evidence.
    ``figures`` hold, per checked quantity, what its line says as numbers
    (:func:`quantity_figures`), for the run catalog.
    """

    lines: list[str]
    verdict: str
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Where:
    """Which values of each sweep dimension hold some points: a boolean per value and dimension."""

    held: dict[str, np.ndarray]

    @classmethod
    def of(
        cls,
        mask: np.ndarray,
        dims: Sequence[str],
        start: Mapping[str, int],
        sizes: Mapping[str, int],
    ) -> Where:
        """Where ``mask`` (dims ``dims``) holds: a part of a store whose sweep dimensions
        have ``sizes``, beginning at index ``start[dim]`` along each of them."""
        held = {}
        for axis, dim in enumerate(dims):
            local = mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis))
            held[dim] = np.zeros(sizes[dim], dtype=bool)
            held[dim][start[dim] : start[dim] + local.size] = local
        return cls(held)

    def combine(self, other: Where) -> Where:
        return Where({dim: held | other.held[dim] for dim, held in self.held.items()})

    def describe(self, coords: Mapping[str, np.ndarray], count: int) -> str:
        """The parameter values involved (``every`` for a whole axis), for ``count`` points.

        Where fewer points hold than every combination of those values, says
        how many of the combinations they are, so the list never over-states.
        """
        parts = []
        for dim, held in self.held.items():
            if held.all():
                parts.append(f"every {dim}")
            else:
                parts.append(f"{dim}={_values(coords[dim], held)}")
        combinations = math.prod(int(held.sum()) for held in self.held.values())
        exact = "" if count >= combinations else f" ({count} of these {combinations} points)"
        return ", ".join(parts) + exact


@dataclass(frozen=True)
class QuantityTally:
    """One checked quantity over some points of a store.

    ``counts[code]`` is the number of points whose verdict (reduced over the
    dimensions that are not swept) is ``code``; ``worst`` the largest error
    of a compared value, ``position`` its index in the store (sweep
    dimensions first, in C order: of equal errors the first is the worst) and
    ``location`` its coordinates; ``places`` where the points of each verdict
    code lie.
    """

    counts: np.ndarray
    worst: float = -math.inf
    position: tuple[int, ...] = ()
    location: str = ""
    places: dict[int, Where] = field(default_factory=dict)

    def combine(self, other: QuantityTally) -> QuantityTally:
        """Both tallies as one; the same whichever comes first."""
        first = (-self.worst, self.position) <= (-other.worst, other.position)
        worst = self if first else other
        places = dict(self.places)
        for code, where in other.places.items():
            places[code] = places[code].combine(where) if code in places else where
        return QuantityTally(
            self.counts + other.counts, worst.worst, worst.position, worst.location, places
        )


@dataclass(frozen=True)
class Tally:
    """Points of a store reduced: every checked quantity, and where points diverged."""

    quantities: dict[str, QuantityTally]
    diverged: Where | None

    def combine(self, other: Tally) -> Tally:
        """Both tallies as one (associative and commutative: any order of blocks gives one)."""
        diverged = self.diverged
        if other.diverged is not None:
            diverged = other.diverged if diverged is None else diverged.combine(other.diverged)
        quantities = {
            name: tally.combine(other.quantities[name]) for name, tally in self.quantities.items()
        }
        return Tally(quantities, diverged)


def coordinate_labels(values: np.ndarray) -> list[str]:
    """Each value with the fewest significant digits that give it back exactly.

    So two values of a grid never share a label, and no value reads as a
    rounder one it is not: 0.9999999 is never printed as 1, the integrator's
    eigenvalue.
    """
    if not np.issubdtype(values.dtype, np.number):
        return [str(value) for value in values]
    return [_shortest(value) for value in values.tolist()]


def _shortest(value: float) -> str:
    """``value`` in ``g`` format to the fewest significant digits that read back as it.

    At least 4, which changes no value's digits (``g`` drops trailing zeros)
    but keeps values below 10^4 out of exponent notation: 50, not 5e+01.
    """
    for digits in range(1, 18):
        if float(f"{value:.{digits}g}") == value:
            return f"{value:.{max(digits, 4)}g}"
    return repr(value)  # NaN, which no digits read back as


def _values(values: np.ndarray, held: np.ndarray) -> str:
    """The ``held`` values of a coordinate, ascending, labelled by :func:`coordinate_labels`."""
    labels = coordinate_labels(values)
    chosen = sorted(np.flatnonzero(held), key=lambda i: values[i])
    if len(chosen) > 6:
        return f"{len(chosen)} values from {labels[chosen[0]]} to {labels[chosen[-1]]}"
    return ", ".join(labels[i] for i in chosen)


def _location(dims: Sequence[str], index: tuple[int, ...], coords: Mapping[str, np.ndarray]) -> str:
    return ", ".join(
        f"{dim}={coordinate_labels(coords[dim])[i]}" for dim, i in zip(dims, index, strict=True)
    )


def checked_quantities(ds: xr.Dataset) -> list[str]:
    """Every quantity ``Q`` with ``Q_check`` in ``ds``, in the order its check lists them."""
    checked = [
        str(v)[: -len("_check")]
        for v in ds.data_vars
        if str(v).endswith("_check") and str(v)[: -len("_check")] in ds.data_vars
    ]
    order = list(ds["check"].attrs.get("quantities", [])) if "check" in ds else []
    return [q for q in order if q in checked] + [q for q in checked if q not in order]


def quantity_tally(
    part: xr.Dataset,
    name: str,
    start: Mapping[str, int],
    sizes: Mapping[str, int],
    coords: Mapping[str, np.ndarray],
) -> QuantityTally:
    """:class:`QuantityTally` of ``name`` over ``part`` (see :func:`tally`), whose dimensions
    have the coordinate values ``coords``."""
    # The store's order of dimensions: sweep dimensions first, then the variable's own.
    code = part[f"{name}_check"].transpose(*sizes, ...)
    inner = tuple(range(len(sizes), code.ndim))
    per_point = reduce_codes(code.values, inner) if inner else code.values
    counts = np.bincount(per_point.ravel(), minlength=len(VERDICTS))
    places = {
        int(value): Where.of(per_point == value, list(sizes), start, sizes)
        for value in np.flatnonzero(counts)
    }
    compared = (code.values == VERDICTS["agrees"]) | (code.values == VERDICTS["disagrees"])
    if not compared.any():
        return QuantityTally(counts, places=places)
    shape = dict(zip(code.dims, code.shape, strict=True))

    def values(variable: str) -> np.ndarray:  # broadcast to the dims of ``code``, in its order
        return part.variables[variable].set_dims(shape).transpose(*code.dims).values

    theory = values(f"{name}_theory")
    scale = values(f"{name}_scale") if f"{name}_scale" in part else np.abs(theory)
    error = np.where(compared, scaled_error(values(name), theory, scale), np.nan)
    if np.isnan(error).all():  # compared, but no error is a number (a NaN measured)
        return QuantityTally(counts, places=places)
    index = np.unravel_index(int(np.nanargmax(error)), error.shape)
    position = tuple(int(i) + start.get(dim, 0) for dim, i in zip(code.dims, index, strict=True))
    location = _location(code.dims, index, coords)
    return QuantityTally(counts, float(error[index]), position, location, places)


def tally(part: xr.Dataset, start: Mapping[str, int], sizes: Mapping[str, int]) -> Tally:
    """The :class:`Tally` of ``part``: the points of a store whose sweep dimensions have
    ``sizes`` from index ``start[dim]`` along each (a block, or a slab of blocks)."""
    coords = {dim: part[dim].values for dim in part.dims if dim in part.coords}
    status = part[STATUS_VARIABLE].transpose(*sizes)
    codes = dict(
        zip(status.attrs["flag_meanings"].split(), status.attrs["flag_values"], strict=True)
    )
    diverged = status.values == codes["diverged"]
    return Tally(
        {q: quantity_tally(part, q, start, sizes, coords) for q in checked_quantities(part)},
        Where.of(diverged, list(sizes), start, sizes) if diverged.any() else None,
    )


def tally_variables(ds: xr.Dataset) -> list[str]:
    """The variables of ``ds`` that :func:`tally` reads: the status and every check's."""
    return [STATUS_VARIABLE, *(["check"] if "check" in ds else [])] + [
        f"{q}{suffix}"
        for q in checked_quantities(ds)
        for suffix in ("_check", "", "_theory", "_scale")
        if f"{q}{suffix}" in ds
    ]


def slab_rows(status: xr.DataArray, points: int = SLAB_POINTS) -> int:
    """How many values of the first sweep dimension make a slab of about ``points`` points:
    whole chunks of the store (``status``'s), at least one."""
    chunk = (status.encoding.get("chunks") or (1,))[0]
    per_row = max(status.size // status.shape[0], 1)
    return max(chunk, points // per_row // chunk * chunk)


def store_tally(ds: xr.Dataset, points: int = SLAB_POINTS) -> Tally:
    """The :class:`Tally` of every point of ``ds``, read in slabs of about ``points`` points.

    A slab is a run of whole chunks along the first sweep dimension, so
    memory grows with ``points``, never with the store.
    """
    status = ds[STATUS_VARIABLE]
    sizes = dict(zip(status.dims, status.shape, strict=True))
    first = status.dims[0]
    names = tally_variables(ds)
    rows = slab_rows(status, points)
    start = dict.fromkeys(sizes, 0)
    parts = (
        tally(ds[names].isel({first: slice(i, i + rows)}).load(), {**start, first: i}, sizes)
        for i in range(0, sizes[first], rows)
    )
    return functools.reduce(Tally.combine, parts)


def _label(ds: xr.Dataset, name: str) -> str:
    return name + " vs " + ds[f"{name}_theory"].attrs.get("formula", "theory")


def inapplicable(counts: np.ndarray) -> int:
    """How many of the points ``counts`` (per verdict code) the quantity does not apply to."""
    return int(sum(counts[VERDICTS[name]] for name in INAPPLICABLE))


def measured_nowhere(tally: QuantityTally) -> bool:
    """The quantity applies at some point but was compared with theory at none."""
    counts = tally.counts
    applies = inapplicable(counts) < counts.sum()
    return bool(applies and counts[VERDICTS["agrees"]] + counts[VERDICTS["disagrees"]] == 0)


def quantity_lines(
    ds: xr.Dataset, name: str, tally: QuantityTally, width: int = 36
) -> tuple[list[str], int]:
    """Summary lines of one checked quantity from its ``tally``, and how many points disagree."""
    counts = tally.counts
    agree, disagree = int(counts[VERDICTS["agrees"]]), int(counts[VERDICTS["disagrees"]])
    nowhere = inapplicable(counts) == counts.sum()
    if nowhere:
        line = f"  {_label(ds, name):<{width}} not applicable at any point"
    else:
        line = f"  {_label(ds, name):<{width}} {agree} agree, {disagree} disagree"
    if measured_nowhere(tally):
        line += "; measured at no point"
    if tally.worst > -math.inf:
        kind = "error relative to its scale" if f"{name}_scale" in ds else "relative error"
        line += f"; worst {kind} {tally.worst:.2g} ({tally.location})"
    lines = [line]
    coords = {dim: ds[dim].values for dim in ds[STATUS_VARIABLE].dims}
    for reason, text in REASONS.items():
        count = int(counts[VERDICTS[reason]])
        if not count or (nowhere and reason == "not_applicable"):
            continue  # the first line says it
        where = tally.places[VERDICTS[reason]].describe(coords, count)
        kind = "not applicable" if reason in INAPPLICABLE else "not measurable"
        lines.append(f"  {'':<{width}} {count} {kind}, {text}: {where}")
    return lines, disagree


def quantity_figures(tally: QuantityTally) -> dict[str, Any]:
    """One quantity's summary as numbers: points that agree, disagree, could not be
    measured or to which it does not apply, and the worst error and where it is."""
    counts = tally.counts
    agree, disagree = int(counts[VERDICTS["agrees"]]), int(counts[VERDICTS["disagrees"]])
    not_applicable = inapplicable(counts)
    measured = tally.worst > -math.inf
    return {
        "agree": agree,
        "disagree": disagree,
        "not_measurable": int(counts.sum()) - agree - disagree - not_applicable,
        "not_applicable": not_applicable,
        "worst_error": float(tally.worst) if measured else None,
        "worst_at": tally.location if measured else None,
    }


def _scenario_line(ds: xr.Dataset) -> str:
    """Which sweep this is, on which network, checked how."""
    check = ds["check"].attrs.get("check", "?") if "check" in ds else "none"
    return (
        f"sweep: {ds.attrs.get('sweep', '?')} (network {ds.attrs.get('network', '?')}, "
        f"check {check})"
    )


def summarize(
    ds: xr.Dataset,
    counts: Mapping[str, int],
    total: Tally | None = None,
    points: int = SLAB_POINTS,
) -> Summary:
    """Summarise every theory check of ``ds`` and its ``counts`` of points by status.

    ``total`` is the :class:`Tally` of every point, combined from its blocks'
    by the run that computed them; without it ``ds`` is read ``points``
    points at a time (:func:`store_tally`), so it may be a store opened
    lazily (``xr.open_zarr(path, chunks=None)``).  ``counts`` are those the
    store records (``point_counts``), counted once by
    :func:`pipeline.store.status.status_counts`.
    """
    status = ds[STATUS_VARIABLE]
    lines = [
        _scenario_line(ds),
        f"points: {status.size} ("
        + ", ".join(f"{count} {name}" for name, count in counts.items() if count)
        + ")",
    ]
    quantities = checked_quantities(ds)
    rtols = {ds[f"{q}_check"].attrs.get("rtol") for q in quantities}
    lines.append(
        "theory check"
        + (f" (relative tolerance {rtols.pop():g})" if len(rtols) == 1 else "")
        + ", points per quantity:"
    )
    total = total if total is not None else store_tally(ds, points)
    disagreeing = 0
    width = max([36, *(len(_label(ds, name)) for name in quantities)])
    for name in quantities:
        quantity, disagree = quantity_lines(ds, name, total.quantities[name], width)
        lines.extend(quantity)
        disagreeing += disagree
    if total.diverged is not None:
        where = total.diverged.describe(
            {dim: ds[dim].values for dim in status.dims}, counts.get("diverged", 0)
        )
        lines.append(f"diverged (|rate| passed solver.divergence_factor x its input): {where}")
    faults = [
        f"{disagreeing} point-quantities disagree with theory" if disagreeing else "",
        f"{counts.get('failed', 0)} points failed" if counts.get("failed") else "",
        f"{counts.get('pending', 0)} points pending" if counts.get("pending") else "",
    ]
    unmeasured = [name for name in quantities if measured_nowhere(total.quantities[name])]
    if any(faults):
        verdict, why = "FAIL", "; ".join(fault for fault in faults if fault)
    elif unmeasured:
        verdict = "INCONCLUSIVE"
        why = (
            f"{', '.join(unmeasured)} measured at no point (see why above), "
            "so the run is no evidence for their theory"
        )
    else:
        verdict, why = "PASS", "every measurable quantity agrees with theory"
    lines.append(f"verdict ({ds.attrs.get('sweep', '?')}): {verdict}, {why}")
    figures = {name: quantity_figures(total.quantities[name]) for name in quantities}
    return Summary(lines=lines, verdict=verdict, figures=figures)
