"""xarray's test for Dask arrays without the import of ``dask.array`` (pipeline/adapters/xarray.py).

Each check runs in a fresh interpreter: this one has imported ``dask.array`` long ago,
and the adapter chooses its path at import.  That a run of ``python -m pipeline``
never imports ``dask.array``: tests/pipeline/run/test_startup.py.
"""

from __future__ import annotations

import pytest
from fresh_python import run_python


@pytest.mark.parametrize(("switch", "fast"), [("", True), ("off", False)])
def test_variables_need_dask_array_only_on_the_fallback_and_dask_arrays_are_recognised(
    switch: str, fast: bool
):
    """Fast path: a Variable is built without ``dask.array``; fallback: xarray imports it
    itself.  Either way a Dask array is known as one."""
    out = run_python(
        """
        import sys
        import numpy as np
        import xarray as xr
        from pipeline.adapters.xarray import LazyDaskArray, defer_dask_array

        print(defer_dask_array())
        v = xr.Variable(("x",), np.arange(3.0))
        print("dask.array" in sys.modules, float(v.sum()))
        import dask.array as da

        masked = da.ma.masked_array(da.from_array(np.array([1.0, 2.0, 3.0])), mask=[0, 1, 0])
        # xarray fills a masked Dask array's masked values only if it knows the array as Dask's
        print(*xr.DataArray(masked).values)
        print(isinstance(da.zeros(2), LazyDaskArray), isinstance(np.zeros(2), LazyDaskArray))
        """,
        switch,
    )
    assert out == [str(fast), str(not fast), "3.0", "1.0", "nan", "3.0", "True", "False"]


def test_a_cache_that_knows_dask_already_is_left_as_it_is():
    out = run_python(
        """
        import numpy as np
        import xarray as xr
        from xarray.namedarray import pycompat
        from pipeline.adapters.xarray import defer_dask_array

        xr.Variable(("x",), np.arange(3.0))  # xarray learns Dask's type itself
        known = pycompat.array_type("dask")
        print(defer_dask_array(), pycompat.array_type("dask") is known)
        """
    )
    assert out == ["False", "True"]
