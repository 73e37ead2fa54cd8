"""A short text account of a store: point status and the theory check, per quantity.

Every ``Q_check`` variable next to ``Q`` and ``Q_theory`` is summarised: how
many points agree and disagree, the worst relative error and where it is, and
which points could not be measured and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from analysis.checks.verdicts import REASONS, VERDICTS, point_verdict, scaled_error

STATUS_VARIABLE = "status"


@dataclass(frozen=True)
class Summary:
    """The lines to print, and whether the sweep is complete with nothing disagreeing."""

    lines: list[str]
    passed: bool


def _values(values: np.ndarray) -> str:
    values = np.unique(values)
    if values.size > 6:
        return f"{values.size} values from {values[0]:.4g} to {values[-1]:.4g}"
    return ", ".join(f"{v:.4g}" for v in values)


def describe_points(mask: xr.DataArray) -> str:
    """Where ``mask`` holds, as the parameter values involved (``every`` for a whole axis)."""
    parts = []
    for dim in mask.dims:
        held = mask.any([d for d in mask.dims if d != dim]).values
        values = mask[dim].values
        if held.all():
            parts.append(f"every {dim}")
        else:
            parts.append(f"{dim}={_values(values[held])}")
    return ", ".join(parts)


def _location(da: xr.DataArray, flat_index: int) -> str:
    index = np.unravel_index(flat_index, da.shape)
    return ", ".join(
        f"{dim}={da[dim].values[i]:.4g}"
        if np.issubdtype(da[dim].dtype, np.number)
        else f"{dim}={da[dim].values[i]}"
        for dim, i in zip(da.dims, index, strict=True)
    )


def _label(ds: xr.Dataset, name: str) -> str:
    return name + " vs " + ds[f"{name}_theory"].attrs.get("formula", "theory")


def quantity_lines(
    ds: xr.Dataset, name: str, sweep_dims: tuple[str, ...], width: int = 36
) -> tuple[list[str], int]:
    """Summary lines of one checked quantity, and how many points disagree."""
    code = ds[f"{name}_check"].load()
    per_point = point_verdict(code, [d for d in code.dims if d not in sweep_dims])
    if (per_point == VERDICTS["not_applicable"]).all():
        return [f"  {_label(ds, name):<{width}} not applicable at any point"], 0
    agree = int((per_point == VERDICTS["agrees"]).sum())
    disagree = int((per_point == VERDICTS["disagrees"]).sum())
    line = f"  {_label(ds, name):<{width}} {agree} agree, {disagree} disagree"
    compared = (code == VERDICTS["agrees"]) | (code == VERDICTS["disagrees"])
    if compared.any():
        measured, theory = ds[name].load(), ds[f"{name}_theory"].load()
        scaled = f"{name}_scale" in ds
        scale = ds[f"{name}_scale"].load() if scaled else abs(theory)
        error = scaled_error(measured, theory, scale).where(compared).transpose(*code.dims)
        worst = int(np.nanargmax(error.values))
        kind = "error relative to its scale" if scaled else "relative error"
        line += f"; worst {kind} {error.values.flat[worst]:.2g} ({_location(error, worst)})"
    lines = [line]
    for reason, text in REASONS.items():
        mask = per_point == VERDICTS[reason]
        count = int(mask.sum())
        if not count:
            continue
        if reason == "not_applicable":
            lines.append(f"  {'':<{width}} {count} not applicable")
        else:
            lines.append(f"  {'':<{width}} {count} not measurable, {text}: {describe_points(mask)}")
    return lines, disagree


def _scenario_line(ds: xr.Dataset) -> str:
    """Which sweep this is, on which network, checked how."""
    check = ds["check"].attrs.get("check", "?") if "check" in ds else "none"
    return (
        f"sweep: {ds.attrs.get('sweep', '?')} (network {ds.attrs.get('network', '?')}, "
        f"check {check})"
    )


def summarize(ds: xr.Dataset, counts: Mapping[str, int]) -> Summary:
    """Summarise every theory check of ``ds`` and its ``counts`` of points by status.

    ``counts`` are those the store records (``point_counts``), counted once
    by :func:`pipeline.store.status.status_counts`.
    """
    status = ds[STATUS_VARIABLE]
    sweep_dims = tuple(status.dims)
    lines = [
        _scenario_line(ds),
        f"points: {status.size} ("
        + ", ".join(f"{count} {name}" for name, count in counts.items() if count)
        + ")",
    ]
    checked = [
        str(v)[: -len("_check")]
        for v in ds.data_vars
        if str(v).endswith("_check") and str(v)[: -len("_check")] in ds.data_vars
    ]
    order = list(ds["check"].attrs.get("quantities", [])) if "check" in ds else []
    quantities = [q for q in order if q in checked] + [q for q in checked if q not in order]
    rtols = {ds[f"{q}_check"].attrs.get("rtol") for q in quantities}
    lines.append(
        "theory check"
        + (f" (relative tolerance {rtols.pop():g})" if len(rtols) == 1 else "")
        + ", points per quantity:"
    )
    disagreeing = 0
    width = max([36, *(len(_label(ds, name)) for name in quantities)])
    for name in quantities:
        quantity, disagree = quantity_lines(ds, name, sweep_dims, width)
        lines.extend(quantity)
        disagreeing += disagree
    passed = disagreeing == 0 and counts.get("failed", 0) == 0 and counts.get("pending", 0) == 0
    if counts.get("diverged"):
        meanings = status.attrs["flag_meanings"].split()
        codes = dict(zip(meanings, status.attrs["flag_values"], strict=True))
        diverged = status.load() == codes["diverged"]
        lines.append(f"diverged (passed solver.divergence_bound): {describe_points(diverged)}")
    lines.append(
        f"verdict ({ds.attrs.get('sweep', '?')}): "
        + (
            "PASS, every measurable quantity agrees with theory"
            if passed
            else "FAIL, "
            + "; ".join(
                part
                for part in (
                    f"{disagreeing} point-quantities disagree with theory" if disagreeing else "",
                    f"{counts.get('failed', 0)} points failed" if counts.get("failed") else "",
                    f"{counts.get('pending', 0)} points pending" if counts.get("pending") else "",
                )
                if part
            )
        )
    )
    return Summary(lines=lines, passed=passed)
