"""What a process this package starts does first: the adapters' process-wide fast paths.

:func:`pipeline.adapters.glibc.keep_freed_memory` sets malloc's parameters
and :func:`pipeline.adapters.xarray.defer_dask_array` fills xarray's cache of
Dask's array type.  Each changes the whole process it runs in, so neither
runs in a process a user started: a notebook that calls
:func:`pipeline.run.execute.run_sweep`, or the workers of a scheduler the
user runs (``cluster.address``).  :func:`prepare_process` runs them in

- the driver of ``python -m pipeline`` (its Hydra task function, so also in
  a job a Hydra launcher starts) and of ``python -m pipeline.submit``;
- the worker processes of Dask's ``processes`` scheduler, which a run starts
  and stops (:func:`pipeline.run.backends.run_tasks`);
- every worker of a local or SLURM cluster that a run starts
  (:class:`pipeline.run.worker_plugin.PrepareWorker`).

Under the ``threads`` and ``synchronous`` schedulers the tasks run in the
driver: prepared where it is ``python -m pipeline``, as they are in a user's
own Python.
"""

from __future__ import annotations

from pipeline.adapters.glibc import keep_freed_memory
from pipeline.adapters.xarray import defer_dask_array


def prepare_process() -> None:
    """Make this process's malloc keep freed memory and xarray test for Dask arrays
    without importing ``dask.array``, where the adapters take their fast paths;
    once per process (later calls change nothing).

    Call it only in a process this package started, before it runs a block:
    malloc makes its arenas per thread as threads first allocate.
    """
    keep_freed_memory()
    defer_dask_array()
