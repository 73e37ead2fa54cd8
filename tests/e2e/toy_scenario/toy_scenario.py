"""A toy scenario, as another package would add it: a leaky autapse and the check of its step.

One neuron with feedback ``1 - leak``: ``tau dv/dt = -leak v + h``.  During a
unit step from ``onset`` it rises as ``v(t) = (1 - exp(-leak (t - onset)/tau)) / leak``,
so its response at ``offset`` over the input is that value at ``t = offset``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks import CHECKS, Check
from analysis.checks.base import checked_dataset, compare, sweep_coordinate
from analysis.measure.quantities import nearest_sample
from pipeline.grid import PARAMETERS
from pipeline.model.networks import NETWORKS, Circuit, NetworkKind


def leaky(points, network) -> Circuit:
    """``M = [[1 - leak]]``, input ``h = [1]``."""
    leak = points["leak"]
    return Circuit(
        weights=(1 - leak)[:, None, None].copy(),
        input_direction=np.ones((leak.size, 1)),
        symmetric=True,
    )


def response_theory(leak, tau, onset: float, offset: float):
    """``(1 - exp(-leak (offset - onset)/tau)) / leak``."""
    return -np.expm1(-leak * (offset - onset) / tau) / leak


def response(ds: xr.Dataset, *, rtol: float) -> xr.Dataset:
    """The rate at the end of the step over the input, against :func:`response_theory`."""
    onset, offset = float(ds["onset"]), float(ds["offset"])
    at_offset = ds["rate"].isel(time=nearest_sample(ds["time"].values, offset), neuron=0)
    measured = (at_offset / ds["h"].isel(neuron=0)).assign_attrs(
        long_name="response at the end of the step over the input, measured", units="s"
    )
    theory = response_theory(
        sweep_coordinate(ds, "leak"), sweep_coordinate(ds, "tau"), onset, offset
    ).assign_attrs(
        long_name="response at the end of the step, theory",
        units="s",
        formula="(1-exp(-leak T/tau))/leak",
    )
    quantities = {
        "response": compare(measured, theory, rtol, [("diverged", ds["diverged_at"].notnull())])
    }
    return checked_dataset(quantities, rtol, ds)


# --8<-- [start:register]
PARAMETERS["leak"] = {"units": "1", "long_name": "leak of the autapse, 1 - lam"}
NETWORKS.register(
    "leaky", NetworkKind(build=leaky, parameters=("leak",), checks=("leaky_response",))
)
CHECKS.register("leaky_response", Check(response, quantities=("response",)))
# --8<-- [end:register]
