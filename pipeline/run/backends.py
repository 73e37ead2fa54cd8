"""Where the tasks of a run execute: Dask's local schedulers, or a ``dask.distributed`` cluster.

``cluster.scheduler`` (``conf/cluster/``) chooses; :func:`run_tasks` is all the
rest of the run stage sees of it.  A distributed cluster is a local one, one
that runs already (``cluster.address``), or Dask workers started as SLURM jobs
(:mod:`pipeline.run.slurm`); for all of them Dask's own log goes to
``dask.log`` in ``cluster.log_directory``, not to the terminal.  The worker
processes a run starts itself (a local or SLURM cluster's, the ``processes``
scheduler's pool) are prepared first (:mod:`pipeline.run.startup`); the
workers of a cluster that runs already are left as they are.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import logging.handlers
import os
import socket
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.local
import dask.threaded

from pipeline.config.schema import ClusterConfig, DistributedCluster
from pipeline.run.progress import Progress, TaskCallback, counted
from pipeline.run.startup import prepare_process

log = logging.getLogger(__name__)

ENGINE_LOGGERS = ("distributed", "dask_jobqueue", "tornado", "bokeh")
"""Loggers of the engines, sent to ``dask.log`` rather than to the terminal."""
ENGINE_LOG = "dask.log"


@contextmanager
def engine_logs(directory: Path) -> Iterator[Path]:
    """While inside, the engines' log records go to ``directory/dask.log`` and nowhere else.

    On a cluster their chatter grows with the workers (one "Registering Worker
    plugin" per worker, and so on): the terminal keeps the pipeline's progress
    and summary.  Yields the log file's path.
    """
    directory.mkdir(parents=True, exist_ok=True)
    file = directory / ENGINE_LOG
    written = logging.FileHandler(file)
    written.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    # Handed on through a handler that is no StreamHandler: a Dask cluster sets every
    # StreamHandler of "distributed" (a FileHandler is one) to WARNING while it runs.
    handler = logging.handlers.MemoryHandler(1, target=written)
    saved = []
    for name in ENGINE_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate, logger.level))
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    try:
        yield file
    finally:
        for logger, handlers, propagate, level in saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.setLevel(level)
        handler.close()
        written.close()


HTTP_PORT = ":0"
"""Where a scheduler of ours serves HTTP: a free port.  It serves its HTTP routes even
without a dashboard, by default on 8787, which another cluster on the host may hold
(then Dask warns, and moves to another port)."""

TRACKER_WARNING = "ignore:resource_tracker:UserWarning"
"""The ``-W`` filter that keeps multiprocessing's resource tracker from warning at exit."""


def quiet_resource_tracker() -> None:
    """Keep the resource tracker's "leaked semaphore objects" warning off the terminal.

    A worker process killed mid-sweep (SIGKILL, a lost node) cannot release its
    semaphores; the tracker process releases them at exit, as it should, and
    then warns.  The tracker takes its warning filters from ``sys.warnoptions``
    when it starts (at the first worker process), so the filter goes there.
    """
    if TRACKER_WARNING not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_WARNING)


@contextmanager
def _distributed_client(cluster: DistributedCluster) -> Iterator[Any]:
    """A Client of the scheduler at ``cluster.address`` (or its file), else of a local cluster."""
    from distributed import Client, LocalCluster

    if cluster.attached:
        with Client(cluster.address, scheduler_file=cluster.scheduler_file) as client:
            yield client
        return
    from pipeline.run.worker_plugin import prepare_workers

    quiet_resource_tracker()
    n_workers = cluster.n_workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=HTTP_PORT
        ) as local,
        Client(local) as client,
    ):
        prepare_workers(client)  # workers of ours: the user's own are left as they are
        yield client


@contextmanager
def _slurm_client(cluster: Any) -> Iterator[Any]:
    from pipeline.run.slurm import slurm_client
    from pipeline.run.worker_plugin import prepare_workers

    with slurm_client(cluster, HTTP_PORT) as client:
        prepare_workers(client)
        yield client


CLIENTS: dict[str, Callable[[Any], Any]] = {
    "distributed": _distributed_client,
    "slurm": _slurm_client,
}
"""Back ends that run the tasks on ``dask.distributed`` workers, by ``cluster.scheduler``."""


@contextmanager
def _client(cluster: ClusterConfig) -> Iterator[Any]:
    """A distributed Client for ``cluster``, or None for Dask's local schedulers."""
    if cluster.scheduler not in CLIENTS:
        yield None
        return
    with ExitStack() as stack:
        directory = Path(cluster.log_directory).absolute()  # type: ignore[attr-defined]
        file = stack.enter_context(engine_logs(directory))
        log.info("Dask's log: %s", file)
        client = stack.enter_context(CLIENTS[cluster.scheduler](cluster))
        log.info("Dask dashboard: %s", dashboard(client))
        log.info("%s", tunnel(client.dashboard_link))
        yield client


def tunnel(link: str, environ: Mapping[str, str] | None = None) -> str:
    """The ssh command that brings the dashboard at ``link`` to port 8787 of the user's own
    machine, through the host they log in to: the job's submit host inside a SLURM job
    (``SLURM_SUBMIT_HOST``), else this host."""
    environ = os.environ if environ is None else environ
    url = urllib.parse.urlsplit(link)
    here = socket.gethostname()
    node = here if url.hostname in ("127.0.0.1", "localhost", "0.0.0.0", None) else url.hostname
    login = environ.get("SLURM_SUBMIT_HOST") or here
    return (
        f"to see it from your own machine: ssh -N -L 8787:{node}:{url.port} {login} "
        f"and open http://localhost:8787{url.path}"
    )


def dashboard(client: Any) -> str:
    """Where the scheduler of ``client`` serves its dashboard, in words for the terminal.

    A local or SLURM cluster of ours serves one on a free port; a scheduler
    the user started says where it serves its own.  Its pages need bokeh,
    which the ``cluster`` extra installs.
    """
    link = client.dashboard_link
    if importlib.util.find_spec("bokeh") is None:
        return f"{link} (its pages need bokeh: pip install bokeh)"
    return str(link)


def check(cluster: ClusterConfig) -> None:
    """Refuse, before anything is written, a cluster its resource manager would refuse."""
    if cluster.scheduler == "slurm":
        from pipeline.run.slurm import check_submission

        check_submission(cluster)  # type: ignore[arg-type]


def _local_scheduler(name: str) -> Callable:
    """Dask's scheduler ``synchronous`` or ``processes`` as a function.

    dask.multiprocessing is slow to import, so only a run with processes
    imports it.  Each process of its pool is prepared first
    (:func:`pipeline.run.startup.prepare_process`).
    """
    if name == "synchronous":
        return dask.local.get_sync
    from dask.multiprocessing import get

    # The pool's processes are the run's own, started for it and stopped after it.
    return functools.partial(get, initializer=prepare_process)


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
        return gather(client, tasks, progress, WorkerWait.of(cluster))


class NoWorkers(RuntimeError):
    """No Dask worker connected for ``cluster.worker_wait`` seconds; the message says so."""


@dataclass(frozen=True)
class WorkerWait:
    """How long a run waits with no worker connected before it stops (``seconds``), and how
    often it says that it waits, or that no block finished (``every``)."""

    seconds: float | None
    """None: as long as it takes (a cluster the run did not start: its workers come and go
    as their owner says)."""
    every: float = 30.0

    @classmethod
    def of(cls, cluster: ClusterConfig) -> WorkerWait:
        """The wait of ``cluster``: its ``worker_wait`` where it has that key."""
        return cls(getattr(cluster, "worker_wait", None))


POLL = 0.1
"""Seconds between looks at the tasks while none has finished."""


def gather(client: Any, tasks: list, progress: Progress, wait: WorkerWait) -> list[dict]:
    """Every task's result, each taken from its worker as soon as it finishes.

    A result that stays on a worker is lost with it, and Dask computes its task
    again: so each result is gathered at once and its future released, after
    which the scheduler forgets it and a worker lost later costs only the
    blocks it was running.  While no block finishes a line says so every
    ``wait.every`` seconds; with no worker connected for ``wait.seconds``
    :class:`NoWorkers` is raised.  The first task that raises stops the run
    and the others are cancelled.
    """
    from distributed import as_completed

    pending = as_completed(client.compute(tasks), with_results=True)
    results: list[dict] = []
    watch = _Watch(client, wait)
    try:
        while not pending.is_empty():
            if not pending.has_ready():
                watch.look(len(results))
                time.sleep(POLL)
                continue
            future, result = next(pending)
            future.release()  # its block is in the store: nothing of it stays on a worker
            results.append(result)
            progress.block_done(result)
            watch.finished()
    except BaseException:
        client.cancel(list(pending.futures))
        raise
    return results


class _Watch:
    """Says what a run waits for, and stops a run that no worker can be had for."""

    def __init__(self, client: Any, wait: WorkerWait):
        self.client, self.wait = client, wait
        self.last_block = self.last_said = self.last_worker = self.asked = time.monotonic()
        self.workers = len(client.nthreads())

    def finished(self) -> None:
        self.last_block = self.last_worker = time.monotonic()

    def look(self, done: int) -> None:
        """Between results: count the workers (once a second), say what the run waits for
        (every ``wait.every`` seconds without a block finished) and stop it if need be."""
        now = time.monotonic()
        if now - self.asked >= 1.0:
            self.asked, self.workers = now, len(self.client.nthreads())
        if self.workers:
            self.last_worker = now
        idle = now - self.last_block
        if idle >= self.wait.every and now - self.last_said >= self.wait.every:
            self.last_said = now
            if self.workers:
                log.info(
                    "%s connected; no block finished in the last %.0f s (%d done)",
                    counted(self.workers, "worker"),
                    idle,
                    done,
                )
            else:
                limit = self.wait.seconds
                log.info(
                    "waiting for a worker: none connected for %.0f s%s",
                    now - self.last_worker,
                    ""
                    if limit is None
                    else f"; the run stops at {limit:g} s (cluster.worker_wait)",
                )
        self._stop_if_no_worker(now)

    def _stop_if_no_worker(self, now: float) -> None:
        without = now - self.last_worker
        if self.workers == 0 and self.wait.seconds is not None and without >= self.wait.seconds:
            raise NoWorkers(
                f"no Dask worker connected for {without:.0f} s (cluster.worker_wait="
                f"{self.wait.seconds:g}): the worker jobs are not running (see squeue, and "
                "dask.log in cluster.log_directory); a larger cluster.worker_wait waits longer"
            )
