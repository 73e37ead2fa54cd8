"""What every theory check shares: verdicts of measured against theory, and the result.

A check (one module each in this package, registered in
:data:`analysis.checks.CHECKS`) takes a Dataset in the store's data contract
(``rate``, ``h``, ``eigenvalues``, ``eigenvectors``, ``onset``, ``offset``,
``diverged_at`` and the sweep coordinates) and the analysis settings it
declares, and returns a Dataset of measured quantities ``Q``, their theory
``Q_theory`` and verdicts ``Q_check``, plus one overall verdict per point,
``check``.  Where a theory value can be zero, the tolerance is relative to a
stated scale, stored as ``Q_scale``: ``|Q - Q_theory| <= rtol Q_scale``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import xarray as xr

from analysis.checks.verdicts import (
    VERDICTS,
    combine,
    flag_attrs,
    verdict,
)

PRECISION = 0.1
"""A value is compared with theory only where its own error bound (round-off of
the samples it is read from) is below this fraction of the tolerance; elsewhere
the recording does not resolve it, which is no disagreement."""


@dataclass(frozen=True)
class Check:
    """A theory check, the quantities it measures and the ``analysis.*`` keys it reads.

    ``function(ds, **settings)`` gets exactly the keys in ``reads``; the
    ``quantities`` are those its overall verdict reduces, in the order the
    summary lists them.
    """

    function: Callable[..., xr.Dataset]
    quantities: tuple[str, ...]
    reads: tuple[str, ...] = ("rtol",)


def sweep_coordinate(ds: xr.Dataset, name: str) -> xr.DataArray:
    """The swept parameter ``name`` at every point, with the sweep dimensions of ``ds``."""
    points = ds["diverged_at"]
    return ds[name].broadcast_like(points).transpose(*points.dims)


@dataclass(frozen=True)
class Checked:
    """One quantity of a scenario check: measured beside theory, with a verdict per value.

    ``measured`` is None when the measured values are already a variable of
    the dataset under the quantity's name (the eigenvalues, for instance).
    ``scale`` is what the tolerance is relative to, when not ``|theory|``.
    """

    measured: xr.DataArray | None
    theory: xr.DataArray
    code: xr.DataArray
    scale: xr.DataArray | None = None


def compare(
    measured: xr.DataArray,
    expected: xr.DataArray,
    rtol: float,
    reasons: list[tuple[str, xr.DataArray]],
    *,
    stored: bool = False,
    scale: xr.DataArray | None = None,
) -> Checked:
    """The verdict of ``measured`` against ``expected``: within ``rtol`` of ``|expected|``.

    With a ``scale``, within ``rtol scale`` instead.  ``stored``: the
    measured values are already in the dataset, under the quantity's name,
    and are not returned again.
    """
    code = verdict(measured, expected, rtol, reasons, scale)
    return Checked(None if stored else measured, expected, code, scale)


def absolute() -> xr.DataArray:
    """Scale 1: a tolerance of ``rtol`` in the quantity's own (dimensionless) units."""
    return xr.DataArray(1.0)


def checked_dataset(
    quantities: dict[str, Checked],
    rtol: float,
    ds: xr.Dataset,
    base: xr.Dataset | None = None,
    extras: dict[str, xr.DataArray] | None = None,
) -> xr.Dataset:
    """A check's result on ``ds``: ``base`` (another check's result) and more quantities.

    Every quantity adds ``Q`` (kept only where it was compared with theory;
    NaN where its verdict gives a reason it was not), ``Q_theory``,
    ``Q_check`` and, with a scale, ``Q_scale``.  ``check`` reduces the
    verdicts of ``base`` and of every quantity over the dimensions that are
    not swept.
    """
    data = {} if base is None else {k: v for k, v in base.data_vars.items() if k != "check"}
    data.update(extras or {})
    codes = [] if base is None else [base["check"]]
    names = [] if base is None else list(base["check"].attrs["quantities"])
    for quantity, item in quantities.items():
        item = unresolved_by_solver(item, ds)
        compared = (item.code == VERDICTS["agrees"]) | (item.code == VERDICTS["disagrees"])
        if item.measured is not None:
            data[quantity] = item.measured.where(compared).assign_attrs(item.measured.attrs)
        data[f"{quantity}_theory"] = item.theory
        data[f"{quantity}_check"] = item.code.assign_attrs(
            flag_attrs(f"theory check of {quantity}"), rtol=rtol
        )
        if item.scale is not None:
            data[f"{quantity}_scale"] = item.scale.assign_attrs(
                long_name=f"size the tolerance of {quantity} is relative to",
                units=item.theory.attrs.get("units", "1"),
            )
        codes.append(item.code)
        names.append(quantity)
    sweep_dims = [d for d in ds["rate"].dims if d not in ("time", "neuron")]
    inner = sorted({d for code in codes for d in code.dims} - set(sweep_dims))
    data["check"] = combine(codes, dims=inner).assign_attrs(
        flag_attrs("theory check of the point: disagrees if any quantity disagrees"),
        quantities=names,
    )
    return xr.Dataset(data)


def unresolved_by_solver(item: Checked, ds: xr.Dataset) -> Checked:
    """``item`` with every comparison ``not_resolved`` where the solver's error estimate
    passed its tolerance (``solver_error > 1``): a trajectory that may be further from the
    model's than ``solver.rtol`` is no evidence for or against the theory."""
    if "solver_error" not in ds:
        return item
    compared = (item.code == VERDICTS["agrees"]) | (item.code == VERDICTS["disagrees"])
    # Not ``<= 1``: an estimate that is NaN (no finite state) is left to the check's reasons.
    unresolved = compared & (ds["solver_error"] > 1)
    code = xr.where(unresolved, VERDICTS["not_resolved"], item.code).astype(item.code.dtype)
    return Checked(item.measured, item.theory, code.assign_attrs(item.code.attrs), item.scale)


def carried(code: xr.DataArray) -> list[tuple[str, xr.DataArray]]:
    """The reasons ``code`` gives for values it could not measure, to pass on to a derived value."""
    carried = (
        "not_driven",
        "no_steady_state",
        "integrator",
        "diverged",
        "not_resolved",
        "not_settled",
        "out_of_range",
    )
    return [(reason, code == VERDICTS[reason]) for reason in carried]
