"""Input neurons reach the network through ``W``: the steady-state matrix ``(I - M)^-1 W``."""

from __future__ import annotations

import xarray as xr

from analysis.checks.base import PRECISION, Check, checked_dataset, compare
from analysis.checks.epochs import design_eigenvalues, epoch_responses, mode_input_variable
from analysis.measure.steady import linear_map, linear_map_error
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory


def feedforward(ds: xr.Dataset, *, rtol: float) -> xr.Dataset:
    """Input neurons ``u`` reach the network through ``W``: the matrix ``(I - M)^-1 W``.

    The first half of the epochs stimulates each input neuron alone, the
    second half as many random independent input patterns.  The steady state
    of each epoch is read off the fits of its modes.

    - ``transfer``: from the single-neuron epochs; the steady state of
      input neuron ``j`` at rate ``u_j``, over ``u_j``, is column ``j``;
    - ``transfer_recovered``: from the random epochs alone, by solving the
      linear system ``V = T U`` of their steady states ``V`` and input rates ``U``.

    Both against ``(I - M)^-1 W`` from the stored weights, within ``rtol`` of
    its largest entry, where the error bound the epochs' settled values put
    on them (:func:`analysis.measure.steady.linear_map_error`) is within
    ``PRECISION rtol`` of that entry.
    """
    fits, h_mode, steady, _ = epoch_responses(ds, rtol)
    rates = ds["input_rate"]
    half = rates.sizes["epoch"] // 2
    expected = scenario_theory.transfer_theory(ds["weights"], ds["feedforward_weights"])
    scale = abs(expected).max(["neuron", "input"])
    reasons = [
        ("no_steady_state", (ds["design_eigenvalues"] >= 1 - theory.UNIT_TOLERANCE).any("mode")),
        ("diverged", ds["diverged_at"].notnull()),
    ]
    quantities = {"eigenvalues": design_eigenvalues(ds, rtol)}
    for name, part, how in (
        ("transfer", slice(None, half), "one input neuron at a time"),
        ("transfer_recovered", slice(half, None), "solved from random input patterns"),
    ):
        measured = linear_map(steady.isel(epoch=part), rates.isel(epoch=part), "input")
        error = linear_map_error(
            fits["settled_error"].isel(epoch=part),
            ds["eigenvectors"],
            rates.isel(epoch=part),
            "input",
        )
        imprecise = ("not_resolved", ~(error <= PRECISION * rtol * scale))
        quantities[name] = compare(
            measured.assign_attrs(
                long_name=f"steady-state response per unit input rate, measured ({how})",
                units="1",
            ),
            expected.copy(),
            rtol,
            [*reasons, imprecise],
            scale=scale,
        )
    return checked_dataset(quantities, rtol, ds, extras=mode_input_variable(h_mode))


CHECK = Check(
    feedforward, quantities=("eigenvalues", "transfer", "transfer_recovered"), reads=("rtol",)
)
