"""An N-neuron network probed along each eigenvector and random directions: its gain matrix."""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks.base import PRECISION, Check, checked_dataset, compare
from analysis.checks.epochs import design_eigenvalues, epoch_responses, mode_input_variable
from analysis.measure import quantities as measures
from analysis.measure.steady import linear_map, linear_map_error
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory


def gain_matrix(ds: xr.Dataset, *, rtol: float) -> xr.Dataset:
    """An N-neuron network probed along each eigenvector and along random directions.

    The step holds one input direction per ``epoch``; each epoch is fitted on
    its own (:func:`analysis.measure.steady.epoch_fits`).

    - ``eigenvalues``: of the stored weights, against the design, within ``rtol``;
    - ``gain`` (per mode and epoch): fitted asymptote over the mode's input,
      against ``1/(1-lam)``; where the epoch drives the mode and the
      asymptote's error bound from round-off is within ``PRECISION rtol``
      of it (:func:`analysis.measure.steady.resolved_fit`);
    - ``tau_eff`` (per mode and epoch): ``-dt/ln r``, against ``tau/(1-lam)``;
      where the error bound of ``ln r`` is within ``PRECISION rtol`` of it;
    - ``gain_matrix``: ``G`` with ``v_inf = G h`` for every epoch, by least
      squares over the epochs' steady states, against ``(I - M)^-1 =
      Q diag(1/(1-lam)) Q^T``, within ``rtol`` of its largest entry; where
      the error bound the epochs' settled values put on it
      (:func:`analysis.measure.steady.linear_map_error`) is within
      ``PRECISION rtol`` of that entry.
    """
    fits, h_mode, steady, dt = epoch_responses(ds, rtol)
    design = ds["design_eigenvalues"]
    diverged = ds["diverged_at"].notnull()
    unstable = design >= 1 - theory.UNIT_TOLERANCE
    gain = measures.gain(fits, h_mode)
    tau_eff = measures.tau_eff(fits, dt)
    expected = scenario_theory.gain_matrix_theory(design, ds["design_eigenvectors"])
    scale = abs(expected).max(["neuron", "source"])
    stimuli = ds["h"].rename(neuron="source")
    error = linear_map_error(fits["settled_error"], ds["eigenvectors"], stimuli, "source")
    quantities = {
        "eigenvalues": design_eigenvalues(ds, rtol),
        "gain": compare(
            gain,
            theory.gain_theory(design),
            rtol,
            [
                ("not_driven", abs(h_mode) <= theory.DRIVE_TOLERANCE * abs(h_mode).max("mode")),
                ("no_steady_state", unstable),
                ("diverged", diverged & ~np.isfinite(gain)),
                ("not_resolved", ~fits["asymptote_resolved"]),
            ],
        ),
        "tau_eff": compare(
            tau_eff,
            theory.tau_eff_theory(design, ds["tau"]),
            rtol,
            [
                ("integrator", theory.is_integrator(design)),
                ("diverged", diverged & ~np.isfinite(tau_eff)),
                ("not_resolved", ~fits["resolved"]),
            ],
        ),
        "gain_matrix": compare(
            linear_map(steady, stimuli, "source").assign_attrs(
                long_name="steady-state gain matrix, measured", units="1"
            ),
            expected,
            rtol,
            [
                ("no_steady_state", unstable.any("mode")),
                ("diverged", diverged),
                ("not_resolved", ~(error <= PRECISION * rtol * scale)),
            ],
            scale=scale,
        ),
    }
    return checked_dataset(quantities, rtol, ds, extras=mode_input_variable(h_mode))


CHECK = Check(
    gain_matrix, quantities=("eigenvalues", "gain", "tau_eff", "gain_matrix"), reads=("rtol",)
)
