"""Shared fixtures: the config schemas registered with Hydra, running the CLI, a real SLURM."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slurm_cluster import Slurm, local_slurm

from pipeline.config.compose import register_resolvers, store_schemas

# Configs composed without compose_config (tests/helpers/store_helpers.hydra_config) need these too.
register_resolvers()
store_schemas()


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run ``python -m pipeline ARGS`` in a fresh directory, as a user would."""

    def run(
        *args: str, cwd: Path | None = None, timeout: float = 240, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        env = {**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})}
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


@pytest.fixture(scope="session")
def _slurm_session() -> Iterator[Slurm]:
    # A folder of its own, not pytest's: pytest deletes old numbered folders of
    # other sessions of the same user, and the daemons keep their state here.
    directory = Path(tempfile.mkdtemp(prefix="rate-sweeps-slurm-"))
    try:
        with local_slurm(directory) as cluster:
            yield cluster
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def slurm(_slurm_session: Slurm) -> Path:
    """A real one-node SLURM's config (``$SLURM_CONF`` is set); skipped, saying why, without."""
    if _slurm_session.conf is None:
        pytest.skip(f"no SLURM here: {_slurm_session.reason}")
    return _slurm_session.conf
