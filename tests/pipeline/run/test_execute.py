"""Runs that are interrupted, fail or find damage, and how resuming finishes them exactly."""

from __future__ import annotations

import errno
import math
import os
import signal
import subprocess
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from store_helpers import (
    SWEEP,
    block_arrays,
    block_chunk_files,
    block_of,
    child_pids,
    chunk_file,
    clean_store,
    command_line,
    config,
    copy_of,
    done_blocks,
    driver_past_its_first_block,
    files_of_blocks,
    hydra_config,
    run_driver,
    start_driver,
    status_chunks,
    wait_for_lapse,
    wait_until,
)

from pipeline.__main__ import execute
from pipeline.exits import STOPPED, TERMINATED
from pipeline.records import catalog
from pipeline.run.execute import run_sweep
from pipeline.store import durable, integrity, verify
from pipeline.store.kinds import open_sweep_store as S
from pipeline.store.local import LocalSweepStore
from pipeline.store.status import STATUS


@pytest.fixture(scope="module", params=[3, 2], ids=["v3", "v2"])
def reference(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """An uninterrupted run of the quick sweep in each Zarr format, its content digest, and
    the override that chooses that format."""
    fmt = f"store.zarr_format={request.param}"
    path = tmp_path_factory.mktemp("reference") / "clean.zarr"
    result = run_sweep(config(path, fmt))
    assert result.counts == {"pending": 0, "ok": 39, "diverged": 0, "failed": 0}
    return path, verify.content_digest(S(path)), fmt


def _runs(store: Path):
    return catalog.runs(store.parent / "catalog.sqlite")


@pytest.mark.parametrize("cluster", ["cluster=threads", "cluster=processes"])
def test_digest_from_hashes_taken_while_writing_equals_one_read_back(
    reference, tmp_path: Path, cluster: str, monkeypatch
):
    path = tmp_path / "hashed.zarr"
    read = []
    read_keys = LocalSweepStore.read_keys

    def recording(store, keys, batch=8):
        keys = list(keys)
        read.extend(keys)
        return read_keys(store, keys, batch)

    monkeypatch.setattr(LocalSweepStore, "read_keys", recording)
    run_sweep(config(path, reference[2], cluster, "cluster.n_workers=2"))
    recorded = _runs(path)["digest"].iloc[-1]
    read_during_run, read = read, []
    blocks = block_arrays(path, ("lam", "tau"))
    # Every chunk of the 4 blocks was hashed as written, none read back; metadata was read.
    assert [key for key in read_during_run if block_of(key, 2, blocks)] == []
    assert len(read_during_run) > 0
    assert recorded == verify.content_digest(S(path)) == reference[1]
    assert len([key for key in read if block_of(key, 2, blocks)]) == 4 * len(blocks)
    assert recorded == verify.content_digest(S(path)) == reference[1]


def test_resume_computes_only_pending_blocks_and_equals_a_clean_run(reference, tmp_path: Path):
    path = copy_of(reference[0], tmp_path)
    # Block 1 as a kill between its data and its status leaves it, block 3 as one before its data.
    chunk_file(path, "status", (1, 0)).unlink()
    for chunk in block_chunk_files(path, (3, 0)):
        chunk.unlink()
    untouched = files_of_blocks(path, {(0, 0), (2, 0)})
    result = run_sweep(config(path, reference[2]))
    assert (result.opened, result.blocks_computed) == ("resumed", 2)
    assert files_of_blocks(path, {(0, 0), (2, 0)}) == untouched
    assert verify.content_digest(S(path)) == reference[1]
    assert verify.inspect(S(path)).exit_code == 0


def test_failed_block_is_marked_then_retried_on_resume(reference, tmp_path: Path, monkeypatch):
    """A block whose computation raises is ``failed``; a resume computes it again."""
    import pipeline.run.execute

    path = tmp_path / "s.zarr"
    simulate = pipeline.run.execute.simulate_block

    def flaky(cfg, grid, slices):
        if slices[0].start == 4:
            raise FloatingPointError("injected failure of block 1")
        return simulate(cfg, grid, slices)

    monkeypatch.setattr(pipeline.run.execute, "simulate_block", flaky)
    outcome = execute(hydra_config(path, reference[2]))
    assert outcome.code == 1
    assert outcome.errors[0].startswith("failed: block (1, 0): Traceback")
    assert "FloatingPointError: injected failure of block 1" in outcome.errors[0]
    assert any(line.endswith("FAIL, 12 points failed") for line in outcome.lines)
    scan = integrity.scan(S(path))
    assert (scan.status[4:8] == STATUS["failed"]).all()
    assert not chunk_file(path, "rate", (1, 0, 0, 0)).exists()
    assert done_blocks(path) == {(0, 0), (2, 0), (3, 0)}
    assert _runs(path)["status"].tolist() == ["incomplete"]

    monkeypatch.setattr(pipeline.run.execute, "simulate_block", simulate)
    untouched = files_of_blocks(path, {(0, 0), (2, 0), (3, 0)})
    resumed = run_sweep(config(path, reference[2]))
    assert resumed.blocks_computed == 1
    assert files_of_blocks(path, {(0, 0), (2, 0), (3, 0)}) == untouched
    assert verify.content_digest(S(path)) == reference[1]
    assert _runs(path)["status"].tolist() == ["incomplete", "complete"]


TINY = (
    "+sweep=autapse",
    "sweep.grid.lam=[0.5,1.0,1.5]",
    "sweep.grid.tau=[0.02,0.05]",
    "store.chunk_points=3",
    "store.lease_seconds=0.5",
    "cluster.scheduler=synchronous",
)
"""Two blocks, computed one after the other, so the n-th write is always the same file;
a killed driver's lease lapses after half a second."""


def _route_writes(monkeypatch, before_write) -> None:
    """Call ``before_write(path)`` ahead of every file the store writes.

    Every file reaches the disk through the durable store's writer (creation,
    metadata, every block), through a temporary file.
    """
    put = durable.put

    def routed_put(path, data):
        before_write(Path(path))
        return put(path, data)

    monkeypatch.setattr(durable, "put", routed_put)


def _disk_full_after(writes: int):
    """A disk that is full once ``writes`` files were written, and stays full."""
    count = 0

    def full_disk(target: Path) -> None:
        nonlocal count
        count += 1
        if count > writes:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))

    return full_disk


@pytest.mark.slow
def test_disk_full_stops_the_run_marks_nothing_ok_without_data_and_resume_completes(
    tmp_path: Path, monkeypatch
):
    """At every kind of moment a write can fail: creating, a block's data, its status, the end."""
    writes = []
    clean = tmp_path / "clean" / "s.zarr"
    with monkeypatch.context() as patch:
        _route_writes(patch, lambda target: writes.append(target.relative_to(tmp_path).as_posix()))
        run_sweep(config(clean, sweep=TINY))
    # The root attributes, then the run's verdict on check, then the consolidated metadata
    # (v3: the root attributes and the consolidated metadata are both in the root zarr.json).
    assert writes[-3:] == [
        "clean/s.zarr/zarr.json",
        "clean/s.zarr/check/zarr.json",
        "clean/s.zarr/zarr.json",
    ]
    statuses = [
        i
        for i, key in enumerate(writes)
        if key in ("clean/s.zarr/status/c.0.0", "clean/s.zarr/status/c.1.0")
    ]
    moments = {  # name: how many writes succeed before the disk is full
        "middle of creation": statuses[0] // 3,
        "first block status": statuses[0],
        "second block data": statuses[1] - 4,
        "root attributes": len(writes) - 3,
        "verdict": len(writes) - 2,
        "consolidated metadata": len(writes) - 1,
    }
    for moment, fail_from in moments.items():
        path = tmp_path / moment.replace(" ", "_") / "s.zarr"
        with monkeypatch.context() as patch:
            _route_writes(patch, _disk_full_after(fail_from))
            outcome = execute(hydra_config(path, sweep=TINY))
        assert outcome.code == STOPPED, moment
        assert "No space left on device" in outcome.errors[0], moment
        assert "run the same command again to resume" in outcome.errors[0], moment
        assert _runs(path)["status"].tolist() == ["error"], moment
        if path.exists():
            scan = integrity.scan(S(path))  # every point that is not pending has its data
            assert scan.damage == [] and scan.leftovers == [], moment
            ok = int((scan.status == STATUS["ok"]).sum())
            assert _runs(path)["points_ok"].tolist() == [ok], moment
        else:
            assert moment.endswith("creation")
            siblings = sorted(p.name for p in path.parent.iterdir())
            assert siblings == ["catalog.sqlite", "s.zarr.lease"], moment
        resumed = execute(hydra_config(path, sweep=TINY))
        assert resumed.code == 0, moment
        assert verify.content_digest(S(path)) == verify.content_digest(S(clean)), moment
        assert _runs(path)["status"].tolist() == ["error", "complete"], moment


def test_truncated_chunk_is_recomputed_on_resume(reference, tmp_path: Path):
    path = copy_of(reference[0], tmp_path)
    chunk = chunk_file(path, "rate", (2, 0, 0, 0))
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    chunk_file(path, "tau", (0,)).write_bytes(b"")
    assert verify.inspect(S(path)).exit_code == 2
    untouched = files_of_blocks(path, {(0, 0), (1, 0), (3, 0)})
    result = run_sweep(config(path, reference[2]))
    assert result.blocks_computed == 1
    assert files_of_blocks(path, {(0, 0), (1, 0), (3, 0)}) == untouched
    assert verify.inspect(S(path)).exit_code == 0
    assert verify.content_digest(S(path)) == reference[1]


def _crossing_time(lam: float, tau: float, bound: float, onset: float, offset: float) -> float:
    """When ``|v|`` of an autapse with lam > 1 and a unit step input passes ``bound``.

    During the step ``v = (exp(a (t - onset)) - 1) / (lam - 1)`` with
    ``a = (lam - 1) / tau``; after it ``v`` grows as ``exp(a (t - offset))``.
    """
    a = (lam - 1) / tau
    during_step = onset + math.log1p(bound * (lam - 1)) / a
    if during_step <= offset:
        return during_step
    at_offset = math.expm1(a * (offset - onset)) / (lam - 1)
    return offset + math.log(bound / at_offset) / a


def test_divergence_is_marked_with_its_time_and_counted(tmp_path: Path):
    """Points that pass the bound (lam = 1000 even overflows to inf) are diverged at the
    first sample after the analytic crossing time; the others are ok; the sweep completes."""
    path = tmp_path / "s.zarr"
    lams, taus = (0.5, 1.5, 3.0, 1000.0), (0.01, 0.02)
    outcome = execute(
        hydra_config(
            path,
            f"sweep.grid.lam=[{','.join(map(str, lams))}]",
            f"sweep.grid.tau=[{','.join(map(str, taus))}]",
            sweep=("+sweep=autapse",),
        )
    )
    assert outcome.code == 0
    diverged = 0
    with xr.open_zarr(path) as ds:
        times = ds.time.values
        for lam in lams:
            for tau in taus:
                point = ds.sel(lam=lam, tau=tau)
                crossing = _crossing_time(lam, tau, 1e6, 0.05, 0.25) if lam > 1 else math.inf
                if crossing > times[-1]:
                    assert int(point.status) == STATUS["ok"], (lam, tau)
                    assert np.isnan(float(point.diverged_at))
                    assert np.isfinite(point.rate).all()
                    continue
                diverged += 1
                expected = times[np.searchsorted(times, crossing)]  # first sample after it
                assert int(point.status) == STATUS["diverged"], (lam, tau)
                assert float(point.diverged_at) == pytest.approx(expected, abs=1e-12), (lam, tau)
                assert np.isnan(point.rate.sel(time=slice(expected, None))).all()
                assert np.isfinite(point.rate.sel(time=slice(None, expected - 5e-4))).all()
    assert diverged == 5  # lam 1.5 at tau 0.02 stays below 1e6 until the recording ends
    assert f"points: 8 ({8 - diverged} ok, {diverged} diverged)" in outcome.lines
    # Not every listed combination diverged, and the line says so rather than over-state.
    assert (
        "diverged (|rate| passed solver.divergence_factor x its input): "
        "lam=1.5, 3, 1000, every tau (5 of these 6 points)" in outcome.lines
    )
    assert verify.inspect(S(path)).exit_code == 0


KILL_DRIVER = str(Path(__file__).parents[2] / "helpers" / "kill_driver.py")


def _resume_and_compare(path: Path, clean: Path, sweep: tuple[str, ...]) -> None:
    """Resume a killed run's store: it must equal the clean one, with no ok block redone."""
    done = done_blocks(path) if path.exists() else set()
    untouched = files_of_blocks(path, done) if done else {}
    wait_for_lapse(path)
    result = run_sweep(config(path, sweep=sweep))
    assert result.blocks_computed == len(done_blocks(path)) - len(done)
    assert files_of_blocks(path, done) == untouched
    assert verify.inspect(S(path)).exit_code == 0
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    killed, resumed = _runs(path)["status"].tolist()[-2:]
    assert killed in ("interrupted", "complete")  # complete: killed after recording its end
    assert resumed == "complete"
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []


KILL_MOMENTS = {  # Zarr format: {name: (die at the n-th write to a path containing, half-way?,
    # verify code)}
    3: {
        "creating": (".s.zarr.creating-", 40, False, None),
        "in a data chunk": ("s.zarr/rate/c.0.0.0.0", 1, True, 2),
        "in a status chunk": ("s.zarr/status/c.0.0", 1, True, 2),
        # The root zarr.json holds both: its attributes are written, then consolidated.
        "before the consolidated metadata": ("s.zarr/zarr.json", 2, False, 2),
    },
    2: {
        "creating": (".s.zarr.creating-", 40, False, None),
        "in a data chunk": ("s.zarr/rate/0.0.0.0", 1, True, 2),
        "in a status chunk": ("s.zarr/status/0.0", 1, True, 2),
        "before the consolidated metadata": ("s.zarr/.zmetadata", 1, False, 2),
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("zarr_format", [3, 2])
def test_sigkill_at_chosen_writes_then_resume_equals_a_clean_run(tmp_path: Path, zarr_format):
    """Killed while creating, in the middle of a data or status chunk, before the metadata."""
    sweep = (*TINY, f"store.zarr_format={zarr_format}")
    clean = tmp_path / "clean" / "s.zarr"
    run_sweep(config(clean, sweep=sweep))
    moments = KILL_MOMENTS[zarr_format]
    for moment, (where, count, mid_write, verify_code) in moments.items():
        path = tmp_path / moment.replace(" ", "_") / "s.zarr"
        path.parent.mkdir()
        killed = run_driver(
            *sweep,
            f"store.path={path}",
            cwd=path.parent,
            script=(KILL_DRIVER,),
            env={
                "KILL_AT": where,
                "KILL_AT_COUNT": str(count),
                "KILL_MID_WRITE": str(int(mid_write)),
            },
        )
        assert killed.returncode == -9, (moment, killed.stderr)
        if verify_code is None:
            assert not path.exists(), moment
        else:
            assert verify.inspect(S(path)).exit_code == verify_code, moment
        if mid_write:
            assert integrity.scan(S(path)).leftovers, moment
        _resume_and_compare(path, clean, sweep)


def _store_begun(path: Path, driver: subprocess.Popen) -> bool:
    """Whether the driver has begun creating its store (or has ended)."""
    creating = any(path.parent.glob(f".{path.name}.creating-*"))
    return path.exists() or creating or driver.poll() is not None


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_equals_a_clean_run(tmp_path: Path):
    """Genuine kills of a real run, at moments drawn at random over its writing phase."""
    sweep = (*SWEEP, "store.lease_seconds=0.5")
    clean = tmp_path / "clean" / "s.zarr"
    start = time.monotonic()
    run_sweep(config(clean, sweep=sweep))
    writing = time.monotonic() - start  # about the time a driver spends once its store exists

    seed = int.from_bytes(os.urandom(4), "little")
    rng = np.random.default_rng(seed)
    kills = []
    for trial in range(12):
        if len(kills) == 5:
            break
        path = tmp_path / f"trial{trial}" / "s.zarr"
        path.parent.mkdir()
        driver = start_driver(*sweep, f"store.path={path}", cwd=path.parent)
        wait_until(partial(_store_begun, path, driver), 120, "the store")
        moment = rng.uniform(0, writing)
        time.sleep(moment)
        if driver.poll() is not None:  # finished before the moment came: not a kill
            continue
        driver.send_signal(signal.SIGKILL)
        ended = driver.wait(60)
        if ended == 0:  # it finished between the poll and the signal: not a kill
            continue
        assert ended == -signal.SIGKILL
        kills.append(round(moment, 3))
        _resume_and_compare(path, clean, sweep)
    assert len(kills) == 5, f"only {len(kills)} kills landed (seed {seed}, moments {kills})"


@pytest.mark.slow
def test_worker_killed_under_a_distributed_cluster_still_gives_the_identical_store(tmp_path: Path):
    """Dask reruns the dead worker's task elsewhere; the store equals a threaded run's."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    driver = driver_past_its_first_block(
        path, "cluster=distributed", "cluster.n_workers=2", "store.lease_seconds=2"
    )
    workers = [p for p in child_pids(driver.pid) if "spawn_main" in command_line(p)]
    assert len(workers) == 2, [command_line(p) for p in child_pids(driver.pid)]
    for worker in workers:  # hold both mid-sweep, however fast blocks are
        os.kill(worker, signal.SIGSTOP)
    assert len(status_chunks(path)) < 6
    os.kill(workers[0], signal.SIGKILL)
    os.kill(workers[1], signal.SIGCONT)
    code = driver.wait(180)
    log = (tmp_path / "driver.log").read_text()
    dask_log = (tmp_path / "s.zarr.logs" / "dask.log").read_text()
    assert f"Worker process {workers[0]} was killed by signal 9" in dask_log
    # The terminal shows the pipeline's lines only: Dask's log is in its file, and the
    # tracker that frees the killed worker's semaphores does so without a warning.
    assert "distributed" not in log and "leaked semaphore" not in log, log
    if code != 0:  # the sweep may stop instead of finishing: then a resume must finish it
        assert code == STOPPED, log
        wait_for_lapse(path)
        run_sweep(config(path, sweep=SWEEP))
    assert verify.inspect(S(path)).exit_code == 0, log
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))


@pytest.mark.slow
def test_sigterm_stops_the_run_cleanly_and_frees_the_store_at_once(tmp_path: Path):
    """As a batch system preempting the job: interrupted, lease released, resumable now."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    driver = driver_past_its_first_block(path, "store.lease_seconds=600")
    os.kill(driver.pid, signal.SIGSTOP)  # hold it mid-sweep, however fast blocks are
    assert len(status_chunks(path)) < 6
    driver.send_signal(signal.SIGTERM)
    os.kill(driver.pid, signal.SIGCONT)
    assert driver.wait(60) == TERMINATED, (tmp_path / "driver.log").read_text()
    assert _runs(path)["status"].tolist() == ["interrupted"]
    done = done_blocks(path)
    assert 0 < len(done) < 6
    untouched = files_of_blocks(path, done)
    result = run_sweep(config(path, sweep=SWEEP))  # no wait: the lease was released
    assert result.blocks_computed == 6 - len(done)
    assert files_of_blocks(path, done) == untouched
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
