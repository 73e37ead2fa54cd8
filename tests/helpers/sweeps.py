"""Sweeps the tests share: composing configs as Hydra does, and the scenario lists."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.config.compose import CONF, compose_config

__all__ = ["CONF", "PAIR", "SCENARIOS", "SWEEPS", "compose_config", "simulate_sweep"]

SWEEPS = sorted(path.stem for path in (CONF / "sweep").glob("*.yaml"))
"""Every sweep experiment of ``conf/sweep/``."""

SCENARIOS = (
    "pair",
    "mutual_inhibition",
    "autapse_pair",
    "spectrum",
    "integrator",
    "runaway",
    "saturating_memory",
    "feedforward",
    "nonsymmetric",
)
"""The scenario sweeps beyond the autapse, each with its own check."""

PAIR = [
    "+sweep=autapse",
    "network=pair",
    "~sweep.grid.lam",
    # 1.0: an integrator mode; 1.3: a runaway mode that passes the bound for short tau.
    "+sweep.grid.coupling=[-0.9,-0.5,0,0.5,0.8,1.0,1.3]",
    # pi/4 and 3 pi/4 lie along the eigenvectors: one mode is not driven.
    "+sweep.grid.input_angle=[0,0.3,0.7853981633974483,2.0,2.356194490192345]",
    "sweep.grid.tau=[0.02,0.05,0.1]",
    "solver.divergence_factor=50",
]
"""A pair sweep with integrator, runaway and undriven modes, for tests of blocks."""


def simulate_sweep(overrides: Sequence[str] = ()):
    """Every point of the sweep ``python -m pipeline OVERRIDES`` would run, as one block.

    Returns the checked Dataset that :func:`pipeline.block.simulate_block`
    builds (no store, no Dask).
    """
    from pipeline.block import simulate_block
    from pipeline.grid import Grid
    from pipeline.run.plan import block_spec

    config = compose_config(overrides)
    grid = Grid.from_config(config.sweep.grid)
    return simulate_block(block_spec(config), grid, tuple(slice(None) for _ in grid.dims))
