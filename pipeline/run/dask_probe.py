"""xarray's test for Dask arrays, made without importing ``dask.array`` first.

Every ``xarray.Variable`` built from a NumPy array asks whether its data is a
``dask.array.Array`` (``isinstance(data, array_type("dask"))`` in
``xarray.core.variable``), and to ask, xarray imports ``dask.array``, which
imports ``scipy.sparse`` and ``scipy.fftpack`` as well: a fixed cost in every
run and every worker process, though a sweep's blocks are NumPy arrays and its
scheduler needs only ``dask`` itself (what it costs: ``benchmarks/README.md``).

No object can be a Dask array before ``dask.array`` has been imported, so the
answer "no" needs no import.  :func:`defer_dask_array` gives xarray a type
whose ``isinstance`` says exactly that: False while ``dask.array`` is not in
``sys.modules``, ``isinstance(obj, dask.array.Array)`` once it is.  xarray's
answer is the same for every object; only the import it forces is gone.
"""

from __future__ import annotations

import functools
import sys


class _DaskArrayCheck(type):
    def __instancecheck__(cls, obj: object) -> bool:
        module = sys.modules.get("dask.array")
        return module is not None and isinstance(obj, module.Array)


class LazyDaskArray(metaclass=_DaskArrayCheck):
    """``isinstance(x, LazyDaskArray)`` is ``isinstance(x, dask.array.Array)``,
    without importing ``dask.array`` when nothing has."""


@functools.cache
def defer_dask_array() -> bool:
    """Give xarray :class:`LazyDaskArray` as Dask's array type; once per process.

    Returns whether xarray took it: False where its internals differ from the
    ones this was written for (``xarray.namedarray.pycompat``'s cache of duck
    array modules) or xarray already knows Dask's type, which changes nothing
    but the time of the first ``Variable``.
    """
    try:
        import dask
        from packaging.version import Version
        from xarray.namedarray import pycompat

        cache = pycompat._cached_duck_array_modules
        module = pycompat.DuckArrayModule.__new__(pycompat.DuckArrayModule)
    except (ImportError, AttributeError):
        return False
    if "dask" in cache:
        return False
    module.module = dask
    module.version = Version(dask.__version__)
    module.type = (LazyDaskArray,)
    module.available = True
    cache["dask"] = module
    return True
