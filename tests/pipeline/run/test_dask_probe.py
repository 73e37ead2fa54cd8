"""xarray's test for Dask arrays without the import of ``dask.array`` (pipeline/run/dask_probe.py).

Each check runs in a fresh interpreter: this one has imported ``dask.array`` long ago.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def run_python(code: str, cwd=None) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_variables_are_built_without_dask_array_and_dask_arrays_still_recognised():
    out = run_python(
        """
        import sys
        import numpy as np
        import xarray as xr
        from pipeline.run.dask_probe import LazyDaskArray, defer_dask_array

        print(defer_dask_array())
        v = xr.Variable(("x",), np.arange(3.0))
        print("dask.array" in sys.modules, float(v.sum()))
        import dask.array as da

        masked = da.ma.masked_array(da.from_array(np.array([1.0, 2.0, 3.0])), mask=[0, 1, 0])
        # xarray fills a masked Dask array's masked values only if it knows the array as Dask's
        print(*xr.DataArray(masked).values)
        print(isinstance(da.zeros(2), LazyDaskArray), isinstance(np.zeros(2), LazyDaskArray))
        """
    )
    assert out == ["True", "False", "3.0", "1.0", "nan", "3.0", "True", "False"]


@pytest.mark.slow
def test_default_run_never_imports_dask_array(tmp_path):
    out = run_python(
        f"""
        import runpy, sys
        sys.argv = ["pipeline", "+sweep=autapse", "store.path={tmp_path / "a.zarr"}"]
        try:
            runpy.run_module("pipeline", run_name="__main__")
        except SystemExit as stop:
            assert not stop.code, stop.code
        print("dask.array" in sys.modules)
        """,
        cwd=tmp_path,
    )
    assert out[-1] == "False"
