"""A trajectory further than the solver's tolerance from the model's is never evidence.

The issue's case: the saturating network with ``tau`` = ``solver.max_step`` = the
recording step.  rk4 at one step per ``tau`` was 7e-3 Hz from Radau and passed;
now dopri5 (the scenario's solver) meets its tolerance there, and rk4 so coarse
is ``not_resolved``.
"""

from __future__ import annotations

import numpy as np
import pytest
from references import radau_rates
from sweeps import simulate_sweep

from analysis.checks import run_check
from analysis.checks.verdicts import VERDICTS
from pipeline.model.solvers import System
from pipeline.model.stimulus import step_inputs
from pipeline.model.transfer import Transfer

COARSE = ["+sweep=saturating_memory", "sweep.grid.tau=[0.001]", "solver.max_step=0.001"]
"""``solver.max_step`` equal to ``tau`` (and to the recording step)."""


def _radau(ds):
    """The block's trajectories re-solved by Radau at rtol 1e-10, point by point."""
    stacked = ds.stack(point=list(ds["status"].dims))
    h = stacked["h"].transpose("point", "neuron").values
    inputs, switches = step_inputs(h, float(ds["onset"]), float(ds["offset"]))
    system = System.of(
        stacked["weights"].transpose("point", "neuron", "source").values,
        stacked["tau"].values,
        inputs,
        switches,
        transfer=Transfer(ds["ceiling"].attrs["transfer"], float(ds["ceiling"])),
    )
    rate = stacked["rate"].transpose("point", "time", "neuron").values
    return rate, radau_rates(system, ds["time"].values), stacked


@pytest.mark.parametrize("solver", [[], ["solver=rk4"]])
def test_no_point_agrees_with_a_trajectory_off_by_more_than_the_solver_tolerance(solver):
    """Every point that agrees is within ``atol + rtol max|v|`` of Radau (solver.rtol 1e-6,
    atol 1e-9 Hz); at one rk4 step per tau every point is not_resolved instead."""
    ds = simulate_sweep([*COARSE, *solver])
    rate, reference, stacked = _radau(ds)
    off = np.abs(rate - reference).max(axis=(1, 2))
    within = off <= 1e-9 + 1e-6 * np.abs(reference).max(axis=(1, 2))
    check = stacked["check"].values
    assert not ((check == VERDICTS["agrees"]) & ~within).any()
    if solver:
        assert off.max() > 1e-3  # the 7e-3 Hz
        assert (check == VERDICTS["not_resolved"]).all()
        assert (stacked["solver_error"].values > 1).all()
    else:
        assert within.all() and (check == VERDICTS["agrees"]).all()


def test_an_estimate_above_the_tolerance_makes_every_comparison_not_resolved():
    """Re-checked with ``solver_error`` 2 at one point: that point's quantities, agreeing
    before, are not_resolved, every other point's verdicts stay as they were."""
    ds = simulate_sweep(["+sweep=saturating_memory", "sweep.grid.tau=[0.01]"])
    first = {"lam": 0, "amplitude": 0, "tau": 0}
    error = ds["solver_error"].copy(data=np.zeros(ds["solver_error"].shape))
    error[first] = 2.0
    checks = [name for name in ds.data_vars if name.endswith("check")]
    before = ds[checks]
    after = run_check("saturating", ds.assign(solver_error=error), {"rtol": 1e-3})[checks]
    for name in checks:
        assert (before[name][first] == VERDICTS["agrees"]).all(), name
        assert (after[name][first] == VERDICTS["not_resolved"]).all(), name
        assert (after[name].drop_isel(lam=0) == before[name].drop_isel(lam=0)).all(), name


@pytest.mark.parametrize("solver", [["solver=rk4"], []])
@pytest.mark.parametrize("max_step", [1e-5, 1e-4, 1e-3])
def test_steps_from_far_below_tau_to_above_it_never_agree_off_tolerance(solver, max_step):
    """tau 0.5 ms, recorded every 1 ms: steps of tau/50, tau/5 and 2 tau (a step ends on
    every sample). Wherever a point agrees it is within the solver's tolerance of Radau;
    dopri5 meets it at every step bound, rk4 at tau/50."""
    ds = simulate_sweep(
        [
            "+sweep=saturating_memory",
            "sweep.grid.lam=[0.5,2.0]",
            "sweep.grid.tau=[0.0005]",
            "record.duration=0.3",
            f"solver.max_step={max_step}",
            *solver,
        ]
    )
    rate, reference, stacked = _radau(ds)
    within = np.abs(rate - reference).max(axis=(1, 2)) <= 1e-9 + 1e-6 * np.abs(reference).max(
        axis=(1, 2)
    )
    check = stacked["check"].values
    assert not ((check == VERDICTS["agrees"]) & ~within).any()
    if not solver or max_step == 1e-5:
        assert within.all() and (check == VERDICTS["agrees"]).all()
