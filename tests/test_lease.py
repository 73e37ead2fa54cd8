"""The lease: one driver writes a store; a dead driver's lease lapses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipeline import lease


def test_second_acquire_is_refused_naming_the_holder(tmp_path: Path):
    store = tmp_path / "s.zarr"
    first = lease.acquire(store, seconds=30)
    with pytest.raises(lease.LeaseHeld) as refused:
        lease.acquire(store, seconds=30)
    message = str(refused.value)
    holder = json.loads(lease.lease_path(store).read_text())
    assert f"store.path={store}" in message
    assert f"process {holder['pid']} on host {holder['host']}" in message
    assert "lapses at" in message
    assert holder["token"] == first.token


def test_lease_lapses_and_a_new_driver_takes_over(tmp_path: Path):
    store = tmp_path / "s.zarr"
    dead = lease.acquire(store, seconds=0.2)
    time.sleep(0.3)
    new = lease.acquire(store, seconds=30)
    assert new.token != dead.token
    lease.check(store, new.token)
    with pytest.raises(lease.LeaseLost, match="taken over"):
        lease.check(store, dead.token)
    with pytest.raises(lease.LeaseLost):
        dead.renew()


def test_renewal_keeps_the_lease_past_its_duration(tmp_path: Path):
    store = tmp_path / "s.zarr"
    with lease.held(store, seconds=0.3) as held:
        time.sleep(0.8)  # more than twice the duration: only renewals keep it
        with pytest.raises(lease.LeaseHeld):
            lease.acquire(store, seconds=0.3)
        lease.check(store, held.token)
        assert held.lost is None


def test_release_frees_the_store_at_once(tmp_path: Path):
    store = tmp_path / "s.zarr"
    with lease.held(store, seconds=60) as held:
        pass
    with pytest.raises(lease.LeaseLost, match="released"):
        lease.check(store, held.token)
    lease.acquire(store, seconds=60)


def test_heartbeat_notices_a_takeover(tmp_path: Path):
    """A stalled driver whose lease was taken over learns it at its next renewal."""
    store = tmp_path / "s.zarr"
    with lease.held(store, seconds=0.3) as held:
        path = lease.lease_path(store)
        holder = json.loads(path.read_text())
        path.write_text(json.dumps({**holder, "token": "another driver"}))
        time.sleep(0.5)
        assert held.lost is not None and "taken over" in held.lost
    assert json.loads(path.read_text())["token"] == "another driver"  # not released by us


def test_unreadable_lease_file_counts_as_free(tmp_path: Path):
    store = tmp_path / "s.zarr"
    lease.lease_path(store).write_text("{ torn")
    lease.acquire(store, seconds=1)
