"""Where the tasks of a run execute: Dask's local schedulers, or a ``dask.distributed`` cluster.

``cluster.scheduler`` (``conf/cluster/``) chooses; :func:`run_tasks` is all the
rest of the run stage sees of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import dask
import dask.local
import dask.threaded

from pipeline.config.schema import ClusterConfig
from pipeline.run.progress import Progress, TaskCallback


@contextmanager
def _client(cluster: ClusterConfig) -> Iterator[Any]:
    """A distributed Client on a local cluster, or None for Dask's local schedulers."""
    if cluster.scheduler != "distributed":
        yield None
        return
    from distributed import Client, LocalCluster

    n_workers = cluster.n_workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        yield client


def _local_scheduler(name: str) -> Callable:
    """Dask's scheduler ``synchronous`` or ``processes`` as a function.

    dask.multiprocessing is slow to import, so only a run with processes
    imports it.
    """
    if name == "synchronous":
        return dask.local.get_sync
    from dask.multiprocessing import get

    return get


def run_tasks(tasks: list, cluster: ClusterConfig, progress: Progress) -> list[dict]:
    """Every task's result; the first task that raises stops the run.

    Tasks already running when one raises are let finish (local schedulers)
    or cancelled (distributed), and no new task starts.
    """
    with _client(cluster) as client:
        if client is None:
            with TaskCallback(progress.block_done):
                # Schedulers as functions: given a name, dask would import
                # dask.distributed (slow to import) to look for a Client.
                if cluster.scheduler == "threads":
                    # A pool of our own: leaving it waits for the running tasks.
                    with ThreadPoolExecutor(cluster.n_workers or os.cpu_count() or 1) as pool:
                        return list(dask.compute(*tasks, scheduler=dask.threaded.get, pool=pool))
                # chunksize 1: dask's process pool would hand out blocks six at a
                # time, so that a sweep of a few blocks ran in one process.
                return list(
                    dask.compute(
                        *tasks,
                        scheduler=_local_scheduler(cluster.scheduler),
                        num_workers=cluster.n_workers,
                        chunksize=1,
                    )
                )
        from distributed import as_completed

        futures = client.compute(tasks)
        results = []
        try:
            for future in as_completed(futures):
                results.append(future.result())
                progress.block_done(results[-1])
        except BaseException:
            client.cancel(futures)
            raise
        return results
