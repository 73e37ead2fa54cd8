"""The lease: one driver writes a store; a dead driver's lease lapses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psutil
import pytest
from store_helpers import (
    SWEEP,
    clean_store,
    config,
    driver_past_its_first_block,
    hydra_config,
    run_driver,
    wait_for_lapse,
)

from pipeline.__main__ import REFUSED, STOPPED, execute
from pipeline.records import catalog
from pipeline.run.execute import run_sweep
from pipeline.store import lease, verify
from pipeline.store.kinds import open_sweep_store as S


def test_second_acquire_is_refused_naming_the_holder(tmp_path: Path):
    store = tmp_path / "s.zarr"
    first = lease.acquire(S(store), seconds=30)
    with pytest.raises(lease.LeaseHeld) as refused:
        lease.acquire(S(store), seconds=30)
    message = str(refused.value)
    holder = json.loads(lease.lease_path(store).read_text())
    assert f"store.path={store}" in message
    assert f"process {holder['pid']} on host {holder['host']}" in message
    assert "lapses at" in message
    assert holder["token"] == first.token


def test_lease_lapses_and_a_new_driver_takes_over(tmp_path: Path):
    store = tmp_path / "s.zarr"
    dead = lease.acquire(S(store), seconds=0.2)
    time.sleep(0.3)
    new = lease.acquire(S(store), seconds=30)
    assert new.token != dead.token
    lease.check(S(store), new.token)
    with pytest.raises(lease.LeaseLost, match="taken over"):
        lease.check(S(store), dead.token)
    with pytest.raises(lease.LeaseLost):
        dead.renew()


def test_renewal_keeps_the_lease_past_its_duration(tmp_path: Path):
    store = tmp_path / "s.zarr"
    with lease.held(S(store), seconds=0.3) as held:
        time.sleep(0.8)  # more than twice the duration: only renewals keep it
        with pytest.raises(lease.LeaseHeld):
            lease.acquire(S(store), seconds=0.3)
        lease.check(S(store), held.token)
        assert held.lost is None


def test_release_frees_the_store_at_once(tmp_path: Path):
    store = tmp_path / "s.zarr"
    with lease.held(S(store), seconds=60) as held:
        pass
    with pytest.raises(lease.LeaseLost, match="released"):
        lease.check(S(store), held.token)
    lease.acquire(S(store), seconds=60)


def test_heartbeat_notices_a_takeover(tmp_path: Path):
    """A stalled driver whose lease was taken over learns it at its next renewal."""
    store = tmp_path / "s.zarr"
    with lease.held(S(store), seconds=0.3) as held:
        path = lease.lease_path(store)
        holder = json.loads(path.read_text())
        path.write_text(json.dumps({**holder, "token": "another driver"}))
        time.sleep(0.5)
        assert held.lost is not None and "taken over" in held.lost
    assert json.loads(path.read_text())["token"] == "another driver"  # not released by us


def test_unreadable_lease_file_counts_as_free(tmp_path: Path):
    store = tmp_path / "s.zarr"
    lease.lease_path(store).write_text("{ torn")
    lease.acquire(S(store), seconds=1)


@pytest.mark.slow
def test_second_driver_is_refused_while_the_first_lives_and_takes_over_once_it_is_killed(
    tmp_path: Path,
):
    """Real drivers: the first is frozen while holding the lease (alive: refused), then
    killed: on the same host its end is known at once, so the next driver need not wait
    for the lease to lapse."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    first = driver_past_its_first_block(path, "store.lease_seconds=60")
    os.kill(first.pid, signal.SIGSTOP)  # alive but silent: it holds the lease and stops renewing
    try:
        second = execute(hydra_config(path, "store.lease_seconds=60", sweep=SWEEP))
        assert second.code == REFUSED
        assert second.errors[0].startswith(
            f"error: store.path={path} is being written by another driver (process {first.pid} "
            f"on host {socket.gethostname()}"
        )
    finally:
        first.kill()
    assert first.wait(30) == -signal.SIGKILL
    expires = json.loads(lease.lease_path(path).read_text())["expires"]
    started = time.time()
    taken_over = run_driver(*SWEEP, f"store.path={path}", cwd=tmp_path)
    assert taken_over.returncode == 0, taken_over.stderr
    assert time.time() < expires  # well before the dead driver's lease would have lapsed
    assert time.time() - started < 55
    assert f"process {first.pid} on this host" in taken_over.stdout + taken_over.stderr
    assert "has ended" in taken_over.stdout + taken_over.stderr
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    runs = catalog.runs(tmp_path / "catalog.sqlite")
    assert runs["status"].tolist() == ["interrupted", "complete"]  # the killed run, then ours
    assert runs["pid"].tolist()[0] == first.pid


def _holder(**fields) -> dict:
    """A live-looking lease record (it lapses in a minute) with ``fields`` changed."""
    now = time.time()
    record = {"token": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid(),
              "acquired": now, "renewed": now, "expires": now + 60}  # fmt: skip
    return {**record, **fields}


def _ended_process() -> tuple[int, float]:
    """The pid and start time of a process of this host that has ended."""

    child = subprocess.Popen(["sleep", "0.2"])
    started = psutil.Process(child.pid).create_time()
    child.wait()
    return child.pid, started


def test_a_lease_of_an_ended_process_of_this_host_is_taken_at_once(tmp_path: Path):
    store = tmp_path / "s.zarr"
    pid, started = _ended_process()
    lease.lease_path(store).write_text(json.dumps(_holder(pid=pid, process_started=started)))
    assert lease.holder(S(store)) is None  # nobody holds it, though it has not lapsed
    taken = lease.acquire(S(store), seconds=30)
    lease.check(S(store), taken.token)


@pytest.mark.parametrize(
    "who",
    ["this process", "another process started at the recorded time", "another host",
     "a record without the start time"],
)  # fmt: skip
def test_a_lease_that_may_be_alive_waits_for_its_lapse(tmp_path: Path, who: str):
    """A live process, a pid whose start time matches, another host's driver (whose
    process cannot be looked at from here), and an older record without the start time
    are all refused until the lease lapses."""
    me = psutil.Process().create_time()
    record = {
        "this process": _holder(process_started=me),
        "another process started at the recorded time": _holder(pid=1, process_started=(
            psutil.Process(1).create_time())),
        "another host": _holder(host="elsewhere.example", pid=_ended_process()[0],
                                process_started=0.0),
        "a record without the start time": _holder(pid=_ended_process()[0]),
    }[who]  # fmt: skip
    store = tmp_path / "s.zarr"
    lease.lease_path(store).write_text(json.dumps(record))
    assert lease.holder(S(store))["pid"] == record["pid"]
    with pytest.raises(lease.LeaseHeld, match=f"process {record['pid']} on host"):
        lease.acquire(S(store), seconds=30)
    lease.lease_path(store).write_text(json.dumps({**record, "expires": time.time() - 1}))
    lease.acquire(S(store), seconds=30)  # lapsed: taken over


def test_a_pid_reused_by_a_later_process_is_not_the_holder(tmp_path: Path):
    """The recorded pid runs, but it was started at another time: the holder has ended."""
    record = _holder(pid=1, process_started=psutil.Process(1).create_time() - 3600)
    store = tmp_path / "s.zarr"
    lease.lease_path(store).write_text(json.dumps(record))
    assert lease.holder(S(store)) is None
    lease.acquire(S(store), seconds=30)


@pytest.mark.slow
def test_stalled_driver_whose_lease_was_taken_over_stops_without_finishing(tmp_path: Path):
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    stalled = driver_past_its_first_block(path, "store.lease_seconds=1")
    os.kill(stalled.pid, signal.SIGSTOP)
    wait_for_lapse(path)
    try:
        taken_over = run_sweep(config(path, sweep=SWEEP))
        assert taken_over.counts["ok"] == 12
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
    assert stalled.wait(60) == STOPPED
    log = (tmp_path / "driver.log").read_text()
    assert (
        f"the lease on store.path={path} lapsed and was taken over by process {os.getpid()}" in log
    )
    assert verify.inspect(S(path)).exit_code == 0
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    runs = catalog.runs(tmp_path / "catalog.sqlite")
    assert runs["status"].tolist() == ["error", "complete"]  # the stalled run, then ours


def test_the_newest_record_is_read_even_when_a_renewal_prunes_the_one_listed():
    """A check that lists record 1 while the heartbeat creates record 2 and prunes record 1
    reads record 2: the lease is held, not "empty or unreadable"."""
    from fsspec.implementations.memory import MemoryFileSystem

    from pipeline.store import object_lease

    fs, folder = MemoryFileSystem(), f"/lease-race-{uuid.uuid4().hex}"
    first = object_lease.new_holder(60)
    object_lease.create(fs, folder, 1, first)
    renewed = {**first, "renewed": first["renewed"] + 1}
    read = fs.cat_file

    def renewal_between_listing_and_read(path, *args, **kwargs):
        if path.endswith("000000000001.json") and not fs.exists(f"{folder}/000000000002.json"):
            object_lease.create(fs, folder, 2, renewed)  # and prunes record 1
        return read(path, *args, **kwargs)

    fs.cat_file = renewal_between_listing_and_read
    assert object_lease.latest(fs, folder) == (2, renewed)
