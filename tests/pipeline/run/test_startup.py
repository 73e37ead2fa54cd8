"""The adapters' process-wide settings reach the processes a run starts and no others
(pipeline/run/startup.py): seen in the workers' malloc (tests/helpers/malloc_probe.py)."""

from __future__ import annotations

from pathlib import Path

import dask
import pytest
from fresh_python import run_python
from malloc_probe import can_probe, large_request_is_mmapped, probe_task
from store_helpers import config

from pipeline.adapters import ENV
from pipeline.adapters.glibc import keep_freed_memory
from pipeline.adapters.xarray import defer_dask_array
from pipeline.config.schema import ClusterConfig, DistributedCluster
from pipeline.run.backends import run_tasks
from pipeline.run.execute import run_sweep
from pipeline.run.progress import Progress
from pipeline.run.worker_plugin import PrepareWorker

pytestmark = pytest.mark.skipif(not can_probe(), reason="needs glibc's mallinfo2 (glibc >= 2.33)")


def _probe(cluster: ClusterConfig) -> bool:
    """Whether the malloc of a worker of ``cluster`` serves a large request by mmap."""
    [result] = run_tasks([dask.delayed(probe_task)()], cluster, Progress(1, 0))
    return result["mmapped"]


@pytest.mark.parametrize(("switch", "mmapped"), [("", False), ("off", True)])
def test_the_pool_of_the_processes_scheduler_is_prepared(monkeypatch, switch, mmapped):
    """The pool's processes are the run's own: its setting there, unless the switch is off."""
    monkeypatch.setenv(ENV, switch)  # the pool's processes start with this environment
    assert _probe(ClusterConfig(scheduler="processes", n_workers=1)) is mmapped


def test_the_workers_of_a_local_cluster_the_run_starts_are_prepared(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    cluster = DistributedCluster(n_workers=1, log_directory=str(tmp_path / "logs"))
    assert _probe(cluster) is False


def test_a_sweep_on_the_users_own_cluster_leaves_its_workers_as_they_are(
    monkeypatch, tmp_path: Path
):
    """Run by address on a cluster the user started: its workers keep glibc's defaults and
    xarray's own test for Dask arrays, the scheduler has no plugin of ours, and the
    caller's own process (this one, as a notebook would be) is not prepared either."""
    from distributed import Client, LocalCluster

    monkeypatch.delenv(ENV, raising=False)  # fast paths allowed: only our restraint keeps them out

    def dask_type_is_xarrays_own() -> bool:
        from xarray.namedarray import pycompat

        return pycompat.array_type("dask")[0].__module__.startswith("dask.")

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as theirs,
        Client(theirs) as client,
    ):
        overrides = ("cluster=distributed", f"cluster.address={theirs.scheduler_address}")
        ours = (keep_freed_memory, defer_dask_array)  # each runs once per process
        for once in ours:
            once.cache_clear()
        result = run_sweep(config(tmp_path / "s.zarr", *overrides))
        assert [once.cache_info().currsize for once in ours] == [0, 0]
        assert result.blocks_computed == 4 and not result.failures
        assert list(client.run(large_request_is_mmapped).values()) == [True]
        assert list(client.run(dask_type_is_xarrays_own).values()) == [True]
        registered = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.worker_plugins)
        assert PrepareWorker.name not in registered


@pytest.mark.slow
def test_the_cli_is_prepared(tmp_path: Path):
    """``python -m pipeline`` prepares its own process: its run never imports ``dask.array``
    and its malloc took the setting."""
    code = f"""
        import runpy, sys
        sys.argv = ["pipeline", "+sweep=autapse", "store.path={tmp_path / "a.zarr"}"]
        try:
            runpy.run_module("pipeline", run_name="__main__")
        except SystemExit as stop:
            assert not stop.code, stop.code
        from pipeline.adapters.glibc import keep_freed_memory
        print("dask.array" in sys.modules, keep_freed_memory.cache_info().currsize)
    """
    assert run_python(code, cwd=tmp_path)[-2:] == ["False", "1"]
