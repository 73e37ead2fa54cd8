"""Shared fixtures: composing configs as Hydra does, and running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pipeline.config import CONF, compose_config, register_resolvers, store_schemas

SWEEPS = sorted(path.stem for path in (CONF / "sweep").glob("*.yaml"))
"""Every sweep experiment of ``conf/sweep/``."""

__all__ = ["CONF", "compose_config", "simulate_sweep"]

# Configs composed without compose_config (tests/store_helpers.hydra_config) need these too.
register_resolvers()
store_schemas()


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run ``python -m pipeline ARGS`` in a fresh directory, as a user would."""

    def run(
        *args: str, cwd: Path | None = None, timeout: float = 240
    ) -> subprocess.CompletedProcess:
        env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
        return subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            cwd=cwd or tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    return run


def simulate_sweep(overrides: Sequence[str] = ()):
    """Every point of the sweep ``python -m pipeline OVERRIDES`` would run, as one block.

    Returns the checked Dataset that :func:`pipeline.simulate.simulate_block`
    builds (no store, no Dask).
    """
    from pipeline.simulate import simulate_block
    from pipeline.sweep import Grid

    config = compose_config(overrides)
    grid = Grid.from_config(config.sweep.grid)
    return simulate_block(config, grid, tuple(slice(None) for _ in grid.dims))
