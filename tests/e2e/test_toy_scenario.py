"""The README's recipe for a new scenario, followed from files outside the repository.

``toy_scenario/`` holds what another package would ship: a module that adds a
network kind, its grid parameter and a check (with its theory) to the
registries, an entry point naming that module, and the sweep and network
configs.  Copied to a temporary folder and put on ``PYTHONPATH``, with its
configs on Hydra's search path, it runs through ``python -m pipeline`` like
a built-in scenario; no registry of the pipeline is edited.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from analysis.checks.verdicts import VERDICTS

FIXTURE = Path(__file__).with_name("toy_scenario")


def _run(folder: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(folder), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "+sweep=leaky",
            f"hydra.searchpath=[file://{folder / 'conf'}]",
            *overrides,
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
@pytest.mark.parametrize("cluster", ["threads", "processes"])
def test_a_scenario_from_another_package_runs_and_checks_against_its_theory(
    tmp_path: Path, cluster: str
):
    """Its response at the end of the step equals (1 - exp(-leak T/tau))/leak to 1e-12,
    computed here independently; every point agrees and the run passes, in worker
    processes too (they find the scenario through the same entry point)."""
    folder = tmp_path / "toy"
    shutil.copytree(FIXTURE, folder)
    done = _run(folder, f"cluster={cluster}", "store.path=leaky.zarr")
    assert done.returncode == 0, done.stderr
    assert "sweep: leaky (network leaky, check leaky_response)" in done.stdout
    assert "verdict (leaky): PASS" in done.stdout
    with xr.open_zarr(folder / "leaky.zarr") as ds:
        assert ds["leak"].attrs["long_name"] == "leak of the autapse, 1 - lam"
        assert ds["check"].attrs["quantities"] == ["response"]
        assert (ds["response_check"] == VERDICTS["agrees"]).all()
        leak, tau = np.meshgrid(ds["leak"].values, ds["tau"].values, indexing="ij")
        duration = float(ds["offset"]) - float(ds["onset"])
        expected = (1 - np.exp(-leak * duration / tau)) / leak
        assert_allclose(ds["response"].transpose("leak", "tau").values, expected, rtol=1e-12)


@pytest.mark.slow
def test_without_the_entry_point_the_scenario_is_unknown_and_refused(tmp_path: Path):
    """The registries are not edited: without its entry point the network is refused (exit 2)."""
    folder = tmp_path / "toy"
    shutil.copytree(FIXTURE, folder)
    shutil.rmtree(folder / "toy_scenario-0.1.dist-info")
    done = _run(folder, "store.path=leaky.zarr")
    assert done.returncode == 2
    assert "network.kind='leaky' is not a known network" in done.stderr
    assert not (folder / "leaky.zarr").exists()
