"""Which stores this code can check again: its own schema versions, and checks it has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from analysis.recheck import UnreadableStore, check_readable
from pipeline.store.layout import PRODUCER, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "tests" / "e2e" / "toy_scenario"


def _store(check: str) -> xr.Dataset:
    attrs = {"producer": PRODUCER, "schema_version": SCHEMA_VERSION, "code": "abc123"}
    return xr.Dataset({"check": ((), 0, {"check": check})}, attrs=attrs)


def test_a_store_of_a_check_this_code_does_not_have_is_refused_naming_it():
    check_readable(_store("pair"), "pair.zarr")
    with pytest.raises(UnreadableStore, match="was checked by 'leaky_response', a check this"):
        check_readable(_store("leaky_response"), "leaky.zarr")


def test_a_store_of_an_installed_packages_check_is_readable():
    """The check that the toy package registers through its entry point is found without
    the package being imported first, as ``python -m analysis`` finds it."""
    script = (
        "import xarray as xr\n"
        "from analysis.recheck import check_readable\n"
        f"attrs = {{'producer': {PRODUCER!r}, 'schema_version': {SCHEMA_VERSION}}}\n"
        "ds = xr.Dataset({'check': ((), 0, {'check': 'leaky_response'})}, attrs=attrs)\n"
        "check_readable(ds, 'leaky.zarr')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TOY), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
