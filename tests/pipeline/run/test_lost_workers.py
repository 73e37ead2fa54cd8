"""A worker lost mid-run costs only the blocks it was running: no block written is solved again.

A local distributed cluster of two one-thread workers; one worker process is
killed (SIGKILL, as a node lost) while it holds finished blocks, and the run's
own record of its solves (``history[-1]["solves"]``, :mod:`pipeline.store.solves`)
is counted.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from store_helpers import (
    child_pids,
    command_line,
    config,
    start_driver,
    status_chunks,
    wait_until,
)

from pipeline.run.execute import compute_block, run_sweep
from pipeline.run.plan import plan_run
from pipeline.store import verify
from pipeline.store.kinds import open_sweep_store as S
from pipeline.store.lifecycle import prepare
from pipeline.store.solves import Solves, records_of, solve_counts

MANY = (
    "+sweep=saturating_memory",
    "sweep.grid.tau=[0.01,0.012,0.014,0.016,0.018,0.02]",
    "store.chunk_points=1",
    "report=false",
    "solver=rk4",
    "solver.max_step=1e-4",
)
"""60 blocks of one point each, a few tenths of a second of rk4 apiece."""
BLOCKS = 60


def _history(path: Path) -> list[dict]:
    return json.loads((path / "zarr.json").read_text())["attributes"]["history"]


def _workers(driver: int) -> list[int]:
    """The worker processes of the driver's local cluster (multiprocessing's spawned
    children; not its resource tracker)."""
    return [pid for pid in child_pids(driver) if "spawn_main" in command_line(pid)]


@pytest.mark.slow
def test_a_run_records_each_block_solved_once(tmp_path: Path):
    path = tmp_path / "s.zarr"
    run_sweep(config(path, "cluster=threads", "cluster.n_workers=2", sweep=MANY))
    assert _history(path)[-1]["solves"] == {"blocks": BLOCKS, "solves": BLOCKS, "again": {}}
    assert not records_of(S(path)).exists()  # the records go with the run that wrote them


@pytest.mark.slow
def test_a_killed_worker_costs_only_the_block_it_was_running(tmp_path: Path):
    """Both workers held mid-run, one killed: its finished blocks are not solved again
    (before, Dask recomputed every result the lost worker held), the one it was running is."""
    clean = tmp_path / "clean" / "s.zarr"
    run_sweep(config(clean, sweep=MANY))
    path = tmp_path / "s.zarr"
    driver = start_driver(
        *MANY, "cluster=distributed", "cluster.n_workers=2", f"store.path={path}", cwd=tmp_path
    )
    wait_until(lambda: len(_workers(driver.pid)) == 2 or driver.poll() is not None, 120, "workers")
    wait_until(lambda: len(status_chunks(path)) >= 6 or driver.poll() is not None, 120, "blocks")
    workers = _workers(driver.pid)
    for pid in workers:  # hold both, however fast blocks are
        os.kill(pid, signal.SIGSTOP)
    written = len(status_chunks(path))
    assert written < BLOCKS, "the sweep ended before the kill"
    os.kill(workers[0], signal.SIGKILL)
    os.kill(workers[1], signal.SIGCONT)
    assert driver.wait(180) == 0, (tmp_path / "driver.log").read_text()
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    solves = _history(path)[-1]["solves"]
    threads_lost = 1  # one worker of one thread
    assert solves["blocks"] == BLOCKS
    assert BLOCKS <= solves["solves"] <= BLOCKS + threads_lost, solves
    assert len(solves["again"]) <= threads_lost


def test_a_task_whose_block_this_run_wrote_returns_the_record_and_solves_nothing(tmp_path: Path):
    """The task run again after its worker was lost once its block was written."""
    cfg = config(tmp_path / "s.zarr", sweep=MANY)
    plan = plan_run(cfg)
    store = S(cfg.store.path)
    with store.lease(60) as held:
        prepare(store, plan.template, False)
        writer = store.block_writer(plan.grid.dims, held.token)
        block = plan.layout.blocks()[3]
        first = compute_block(plan.spec, plan.grid, block, writer)
        again = compute_block(plan.spec, plan.grid, block, writer)
    assert again["counts"] == first["counts"] == {"ok": 1, "diverged": 0, "failed": 0, "pending": 0}
    assert again["hashes"] == first["hashes"] and len(first["hashes"]) >= 5
    assert again["tally"] is None and first["tally"] is not None
    assert solve_counts(records_of(store), held.token) == {"0.0.3": 1}
    # Another run's token does not see it: a resumed run solves what it must.
    assert Solves(records_of(store), "other").written(block) is None
