"""A saturating autapse after a brief input: memory where ``lam > 1``, none where ``lam < 1``."""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks.base import (
    PRECISION,
    Check,
    absolute,
    checked_dataset,
    compare,
    sweep_coordinate,
)
from analysis.measure.steady import NOISE, still_to_go
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory


def saturating(ds: xr.Dataset, *, rtol: float) -> xr.Dataset:
    """A saturating autapse after a brief input: memory where ``lam > 1``, none where ``lam < 1``.

    - ``fixed_point``: the rate at the end of the recording, against the
      stable solution of ``v* = f(lam v*)`` on the side of the input
      (:func:`analysis.theory.scenarios.fixed_point_theory`), within ``rtol``
      of the ceiling, where the rate has settled: near ``lam = 1`` the
      approach slows (its time constant grows as ``tau / |1 - lam f'(0)|``),
      and a rate still moving by more than a tenth of the tolerance
      (:func:`analysis.measure.steady.still_to_go`) is ``not_settled``;
    - ``memory``: the sign of that rate (0 within ``rtol`` of the ceiling
      from 0), against the sign of the past input where ``lam > 1`` and 0
      where ``lam < 1``.

    A point whose input is zero at every neuron is ``not_driven`` for both,
    as an undriven mode of a linear check is: a state that never left the
    fixed point 0 is no evidence of where an input would have taken it.
    """
    ceiling = ds["ceiling"] if "ceiling" in ds else None
    transfer = ceiling.attrs["transfer"] if ceiling is not None else "linear"
    size = float(ceiling) if ceiling is not None else float(abs(ds["h"]).max())
    lam = sweep_coordinate(ds, "lam")
    final = (
        ds["rate"]
        .isel(time=-1, drop=True)
        .assign_attrs(long_name="rate at the end of the recording, measured", units="Hz")
    )
    expected = scenario_theory.fixed_point_theory(lam, np.sign(ds["h"]), transfer, size)
    # A step within the round-off the precision allows is a solver at rest.
    floor = NOISE * abs(ds["rate"]).max(["time", "neuron"]) / (PRECISION * rtol)
    reasons = [
        ("not_driven", (ds["h"] == 0).all("neuron")),
        ("integrator", theory.is_integrator(lam)),
        ("diverged", ds["diverged_at"].notnull() & ~np.isfinite(final)),
        ("not_applicable", ~np.isfinite(expected)),
        ("not_settled", still_to_go(ds["rate"], floor).max("neuron") > PRECISION * rtol * size),
    ]
    remembered = (
        xr.where(abs(final) > rtol * size, np.sign(final), 0.0)
        .where(np.isfinite(final))
        .assign_attrs(long_name="sign of the rate at the end of the recording, measured", units="1")
    )
    memory_theory = np.sign(expected).assign_attrs(
        long_name="sign of the input if lam > 1, else 0, theory",
        units="1",
        formula="sign(h) if lam>1 else 0",
    )
    quantities = {
        "fixed_point": compare(final, expected, rtol, reasons, scale=xr.DataArray(size)),
        "memory": compare(remembered, memory_theory, rtol, reasons, scale=absolute()),
    }
    return checked_dataset(quantities, rtol, ds)


CHECK = Check(saturating, quantities=("fixed_point", "memory"), reads=("rtol",))
