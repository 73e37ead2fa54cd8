"""Back ends: a Dask cluster that runs already is used as it is; Dask's log goes to its file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import SWEEP, clean_store, run_driver, wait_until

from pipeline.store import verify
from pipeline.store.kinds import open_sweep_store as S


@pytest.fixture
def scheduler_file(tmp_path: Path) -> Iterator[Path]:
    """A dask scheduler and one worker, started as a user would, stopped by PID."""
    file = tmp_path / "scheduler.json"
    common = {"cwd": tmp_path, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file", str(file),
         "--host", "127.0.0.1", "--port", "0", "--no-dashboard"], **common,
    )  # fmt: skip
    worker = None
    try:
        wait_until(lambda: file.exists() and file.read_text().strip(), 60, "the scheduler", 0.05)
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(file),
             "--nworkers", "1", "--nthreads", "1", "--no-dashboard"], **common,
        )  # fmt: skip
        yield file
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(30)


@pytest.mark.slow
def test_a_running_scheduler_is_used_by_address_or_file(tmp_path: Path, scheduler_file: Path):
    """The store written on the user's own Dask cluster is the local run's, bit for bit."""
    clean = clean_store(tmp_path)
    address = json.loads(scheduler_file.read_text())["address"]
    work = tmp_path / "work"
    work.mkdir()
    for i, option in enumerate([f"cluster.address={address}",
                                f"cluster.scheduler_file={scheduler_file}"]):  # fmt: skip
        path = work / f"s{i}.zarr"
        done = run_driver(*SWEEP, "cluster=distributed", option, f"store.path={path}", cwd=work)
        assert done.returncode == 0, done.stdout + done.stderr
        assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
        # The blocks ran on that cluster's worker: this run started no worker of its own.
        dask_log = (work / f"s{i}.zarr.logs" / "dask.log").read_text()
        assert "Scheduler at" not in dask_log and "Start Nanny" not in dask_log
        assert "distributed" not in done.stdout + done.stderr
        # Where that scheduler serves HTTP (its --no-dashboard keeps only the routes).
        shown = re.search(r"Dask dashboard: http://127\.0\.0\.1:\d+/status", done.stdout)
        assert shown, done.stdout


def test_a_local_cluster_prints_the_address_of_a_dashboard_that_answers():
    """The address printed is the scheduler's dashboard, and its status page is bokeh's."""
    from distributed import Client, LocalCluster

    from pipeline.run.backends import HTTP_PORT, dashboard

    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=HTTP_PORT) as local,
        Client(local) as client,
    ):
        link = dashboard(client)
        assert re.fullmatch(r"http://[\d.]+:\d+/status", link), link
        with urllib.request.urlopen(link, timeout=30) as page:
            text = page.read().decode()
    assert page.status == 200
    assert "Bokeh" in text and "bokeh>=" not in text  # the dashboard, not "install bokeh"
