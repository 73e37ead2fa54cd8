"""xarray's test for Dask arrays, made without importing ``dask.array`` first.

Every ``xarray.Variable`` built from a NumPy array asks whether its data is a
``dask.array.Array`` (``isinstance(data, array_type("dask"))`` in
``xarray.core.variable``), and to ask, xarray imports ``dask.array``, which
imports ``scipy.sparse`` and ``scipy.fftpack`` as well: a fixed cost in every
run and every worker process, though a sweep's blocks are NumPy arrays and its
scheduler needs only ``dask`` itself.  What the fast path spares is measured
in ``benchmarks/README.md``.

No object can be a Dask array before ``dask.array`` has been imported, so the
answer "no" needs no import.  :func:`defer_dask_array` puts into xarray's
private cache of duck array modules (``xarray.namedarray.pycompat``) a type
whose ``isinstance`` says exactly that: False while ``dask.array`` is not in
``sys.modules``, ``isinstance(obj, dask.array.Array)`` once it is.  xarray's
answer is the same for every object; only the import it forces is gone.

Fallback, chosen at import (:data:`FAST`): where the switch of
:mod:`pipeline.adapters` is ``off``, or xarray lacks that cache, nothing is
changed and xarray imports ``dask.array`` at its first ``Variable``, as it
always does.  Every array, value and store is the same either way.

Upstream: no xarray issue asks for this yet.  The nearest work is
pydata/xarray pull request #11354 ("perf: short-circuit duck-array dispatch
helpers for numpy", open), which keeps NumPy arrays out of the Dask helpers
``is_chunked_array`` and ``is_dask_collection`` but not out of the
``array_type("dask")`` test that ``Variable`` makes; an ``array_type`` that
answers from ``sys.modules`` as :class:`LazyDaskArray` does would make this
module unnecessary.
"""

from __future__ import annotations

import functools
import sys

from xarray.namedarray import pycompat

from pipeline.adapters import fast_paths_allowed

FAST = (
    fast_paths_allowed()
    and isinstance(getattr(pycompat, "_cached_duck_array_modules", None), dict)
    and hasattr(pycompat, "DuckArrayModule")
)
"""Whether :func:`defer_dask_array` may fill xarray's cache: the switch allows it and
this xarray has the cache it was written for."""


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

    Returns whether xarray took it: False on the fallback (:data:`FAST`), where
    Dask is not installed, or where xarray already knows Dask's type, which
    changes nothing but the time of the first ``Variable``.
    """
    if not FAST:
        return False
    try:
        import dask
        from packaging.version import Version
    except ImportError:
        return False
    cache = pycompat._cached_duck_array_modules
    if "dask" in cache:
        return False
    module = pycompat.DuckArrayModule.__new__(pycompat.DuckArrayModule)
    module.module = dask
    module.version = Version(dask.__version__)
    module.type = (LazyDaskArray,)
    module.available = True
    cache["dask"] = module
    return True
