"""The Dask worker plugin that prepares each worker of a cluster this package starts.

Kept apart from :mod:`pipeline.run.startup` because it imports ``distributed``,
which a run on Dask's local schedulers never needs.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from pipeline.run.startup import prepare_process


class PrepareWorker(WorkerPlugin):
    """Runs :func:`pipeline.run.startup.prepare_process` in every worker of the cluster,
    those that join later (SLURM jobs, adaptive scaling) included."""

    name = "rate-sweeps-prepare-worker"
    idempotent = True

    def setup(self, worker: Any) -> None:
        """Prepare the worker's process before it runs a task."""
        prepare_process()


def prepare_workers(client: Any) -> None:
    """Register :class:`PrepareWorker` on the scheduler of ``client``.

    Only for a cluster this package started: a scheduler the user runs keeps
    its workers as they are.
    """
    client.register_plugin(PrepareWorker())
