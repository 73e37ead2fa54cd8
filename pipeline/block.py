"""One block of sweep points, from parameters to a checked Dataset (pure, no I/O).

This is the unit of work of a Dask task: the block's parameter values become
networks, inputs and trajectories, batched over all its points at once, and
the trajectories are measured against theory.  The Dataset it returns has
the block's sweep dimensions first and follows the store's data contract.
What a block computes is a :class:`BlockSpec` of small settings, taken from
the config once per run (:func:`pipeline.run.plan.block_spec`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from analysis.checks import run_check
from pipeline.grid import Grid
from pipeline.model.divergence import divergence_bound, first_divergence
from pipeline.model.modes import eigenmodes
from pipeline.model.networks import NETWORKS
from pipeline.model.solvers import System, solve
from pipeline.model.stimulus import step_inputs
from pipeline.model.transfer import Transfer
from pipeline.store.status import STATUS, STATUS_ATTRS


@dataclass(frozen=True)
class BlockSpec:
    """What every block of a sweep computes: the model, how it is solved, how it is checked.

    Attributes
    ----------
    network : str
        The network kind (a key of :data:`pipeline.model.networks.NETWORKS`).
    network_settings : object
        The kind's own settings (``network.*``), which its builder reads.
    transfer : Transfer
        The transfer function ``f``.
    onset, offset : float
        Times in seconds at which the step input starts and ends.
    amplitude : float
        Input amplitude in Hz, where ``amplitude`` is not swept.
    times : (n_time,) ndarray
        Recording times in seconds.
    solver : str
        The solver method (a key of :data:`pipeline.model.solvers.SOLVERS`).
    solver_settings : mapping
        The solver config (``solver.*``); the solver takes the keys it reads, and
        a point whose ``|v|`` passes ``divergence_factor`` times its own scale is
        diverged from then on (:mod:`pipeline.model.divergence`).
    check : str
        The theory check (a key of :data:`analysis.checks.CHECKS`).
    analysis : mapping
        The analysis config (``analysis.*``); the check takes the keys it reads.
    rate_dtype : str
        Storage type of ``rate``; everything is computed and checked in float64.
    """

    network: str
    network_settings: Any
    transfer: Transfer
    onset: float
    offset: float
    amplitude: float
    times: np.ndarray
    solver: str
    solver_settings: Mapping[str, Any]
    check: str
    analysis: Mapping[str, Any]
    rate_dtype: str = "float64"


def simulate_block(spec: BlockSpec, grid: Grid, slices: Sequence[slice]) -> xr.Dataset:
    """Trajectories, network and theory check of the sweep points in ``slices``."""
    points = grid.points(slices)
    shape = tuple(len(axis[s]) for axis, s in zip(grid.axes, slices, strict=True))
    size = int(np.prod(shape))
    circuit = NETWORKS[spec.network].build(points, spec.network_settings)
    amplitude = points.get("amplitude", np.full(size, spec.amplitude))
    scale = amplitude.reshape((size,) + (1,) * (circuit.input_direction.ndim - 1))
    h = scale * circuit.input_direction
    inputs, switch_times = step_inputs(h, spec.onset, spec.offset)
    times, transfer = spec.times, spec.transfer
    modes = eigenmodes(circuit.weights, circuit.symmetric)
    eigenvalues, eigenvectors = modes.values, modes.vectors
    system = System(circuit.weights, points["tau"], inputs, switch_times, modes, transfer)
    solution = solve(spec.solver, system, times, spec.solver_settings)
    rate = solution.rate
    bound = divergence_bound(inputs, transfer.saturation, spec.solver_settings["divergence_factor"])
    diverged_at = first_divergence(rate, times, bound)
    diverged = np.flatnonzero(np.isfinite(diverged_at))
    rate[diverged] = np.where(
        times[:, None] >= diverged_at[diverged, None, None], np.nan, rate[diverged]
    )
    status = np.where(np.isnan(diverged_at), STATUS["ok"], STATUS["diverged"]).astype(np.int8)

    dims = grid.dims
    n = circuit.weights.shape[-1]

    def var(extra_dims, array, attrs):
        return xr.Variable(dims + tuple(extra_dims), array.reshape(shape + array.shape[1:]), attrs)

    data_vars = {
        "rate": var(("time", "neuron"), rate, {"long_name": "firing rate", "units": "Hz"}),
        "h": var(
            ("epoch", "neuron") if h.ndim == 3 else ("neuron",),
            h,
            {"long_name": "input while the step is on", "units": "Hz"},
        ),
        "weights": var(
            ("neuron", "source"),
            circuit.weights,
            {"long_name": "recurrent weight onto neuron from source", "units": "1"},
        ),
        "eigenvalues": var(
            ("mode",), eigenvalues, {"long_name": "eigenvalue of the weights", "units": "1"}
        ),
        "eigenvectors": var(
            ("neuron", "mode"),
            eigenvectors,
            {"long_name": "unit eigenvector of the weights, one column per mode", "units": "1"},
        ),
        "diverged_at": var(
            (),
            diverged_at,
            {
                "long_name": "time |rate| first exceeded solver.divergence_factor "
                "times the point's largest input (or ceiling)",
                "units": "s",
            },
        ),
        "status": var((), status, STATUS_ATTRS),
        "onset": xr.Variable(
            (), spec.onset, {"long_name": "time the input step starts", "units": "s"}
        ),
        "offset": xr.Variable(
            (), spec.offset, {"long_name": "time the input step ends", "units": "s"}
        ),
    }
    if solution.error is not None:
        data_vars["solver_error"] = var(
            (),
            solution.error,
            {
                "long_name": "largest local error the solver estimated, over its tolerance "
                "(above 1: not resolved)",
                "units": "1",
                "rtol": spec.solver_settings["rtol"],
                "atol": spec.solver_settings["atol"],
            },
        )
    for name, (extra_dims, array, attrs) in circuit.extras.items():
        data_vars[name] = var(extra_dims, array, attrs)
    if h.ndim == 3:
        data_vars["epoch_start"] = (
            ("epoch",),
            switch_times[:-1],
            {"long_name": "time each input epoch starts", "units": "s"},
        )
    if circuit.input_rates is not None:
        data_vars["input_rate"] = var(
            ("epoch", "input"),
            amplitude[:, None, None] * circuit.input_rates,
            {"long_name": "rate of the input neurons while the step is on", "units": "Hz"},
        )
    if not transfer.linear:
        data_vars["ceiling"] = (
            (),
            transfer.ceiling,
            {
                "long_name": "rate at which the transfer function saturates",
                "units": "Hz",
                "transfer": transfer.name,
            },
        )
    coords = {
        **{name: c[s] for (name, c), s in zip(grid.coords().items(), slices, strict=True)},
        "time": ("time", times, {"long_name": "time", "units": "s"}),
        "neuron": ("neuron", np.arange(n), {"long_name": "neuron index", "units": "1"}),
        "source": ("source", np.arange(n), {"long_name": "presynaptic neuron index", "units": "1"}),
        "mode": (
            "mode",
            np.arange(n),
            {"long_name": "mode index, by ascending eigenvalue", "units": "1"},
        ),
    }
    if h.ndim == 3:
        coords["epoch"] = (
            "epoch",
            np.arange(h.shape[1]),
            {"long_name": "input epoch, in the order the step holds them", "units": "1"},
        )
    if circuit.input_rates is not None:
        coords["input"] = (
            "input",
            np.arange(circuit.input_rates.shape[-1]),
            {"long_name": "input neuron index", "units": "1"},
        )
    # The check reads the modes' inverse of this block rather than inverting again;
    # it is not stored (the eigenvectors are).
    measured = {
        **data_vars,
        "eigenvectors_inverse": var(("mode", "neuron"), modes.inverse, {"units": "1"}),
    }
    # Without indexes, which every xarray operation of a check would otherwise
    # compare and which cost more to build than a block's arithmetic: the
    # Dataset returned below is the one that has them.
    check = run_check(
        spec.check, xr.Dataset(measured, xr.Coordinates(coords, indexes={})), spec.analysis
    )
    data_vars["rate"] = data_vars["rate"].astype(spec.rate_dtype, copy=False)
    data_vars.update({name: check.variables[name] for name in check.data_vars})
    coords.update({name: c for name, c in check.coords.variables.items() if name not in coords})
    return xr.Dataset(data_vars, coords)
