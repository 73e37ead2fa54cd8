"""Networks probed along a sequence of input epochs: each epoch's fits and steady state.

The step holds one input direction per ``epoch``; every mode is fitted in
every epoch on its own (:func:`analysis.measure.steady.epoch_fits`), and the
steady states of the epochs, back in neuron space, determine a network's
gain matrix.  Such networks are built from a chosen spectrum, whose
eigenvalues are stored as ``design_eigenvalues``.
"""

from __future__ import annotations

import xarray as xr

from analysis.checks.base import PRECISION, Checked, absolute, compare
from analysis.measure import quantities as measures
from analysis.measure.modes import eigenvector_inverse, mode_activity, mode_input
from analysis.measure.steady import epoch_fits, neuron_space, round_off


def epoch_responses(
    ds: xr.Dataset, rtol: float
) -> tuple[xr.Dataset, xr.DataArray, xr.DataArray, float]:
    """Fits of every mode in every input epoch, their steady states in neuron space, and dt.

    A fit counts as resolved where its error bound from round-off is within
    ``PRECISION rtol`` (:data:`analysis.checks.base.PRECISION`).
    """
    inverse = eigenvector_inverse(ds)
    activity = mode_activity(ds["rate"], inverse)
    fits = epoch_fits(
        activity,
        ds["epoch_start"].values,
        float(ds["offset"]),
        round_off(ds["rate"], inverse),
        PRECISION * rtol,
    )
    steady = neuron_space(fits["settled"], ds["eigenvectors"]).transpose(..., "epoch", "neuron")
    return fits, mode_input(ds["h"], inverse), steady, measures.sample_interval(activity)


def mode_input_variable(h_mode: xr.DataArray) -> dict[str, xr.DataArray]:
    return {
        "mode_input": h_mode.assign_attrs(long_name="input to the mode, (Phi^-1 h)_a", units="Hz")
    }


def design_eigenvalues(ds: xr.Dataset, rtol: float) -> Checked:
    """The stored weights' eigenvalues against those the network was built with."""
    return compare(
        ds["eigenvalues"],
        ds["design_eigenvalues"]
        .copy()
        .assign_attrs(
            long_name="eigenvalue the network was built with", units="1", formula="design lam"
        ),
        rtol,
        [],
        scale=absolute(),
        stored=True,
    )
