"""Durable writes: atomic on every file system, on disk before the rename when large."""

from __future__ import annotations

import asyncio
import errno
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import xxhash
import zarr
from zarr.buffer import cpu

from pipeline.store import durable

SHM = Path("/dev/shm")


def _file_system_type(path: Path) -> str:
    """The type of the file system holding ``path`` (Linux ``/proc/mounts``)."""
    best, kind = "", ""
    for line in Path("/proc/mounts").read_text().splitlines():
        mount, fstype = line.split()[1:3]
        if str(path.resolve()).startswith(mount) and len(mount) > len(best):
            best, kind = mount, fstype
    return kind


@pytest.fixture(params=["disk", "tmpfs"])
def folder(request, tmp_path: Path):
    """A folder on a disk file system (the test's temporary directory) and one on tmpfs
    (which refused ``O_DIRECT`` before Linux 6.6)."""
    if request.param == "disk":
        assert _file_system_type(tmp_path) not in ("tmpfs", ""), "tmp_path must be on a disk"
        yield tmp_path
        return
    if not SHM.is_dir() or _file_system_type(SHM) != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm on this machine")
    folder = SHM / f"rate-sweeps-test-{os.getpid()}-{tmp_path.name}"
    folder.mkdir()
    yield folder
    for file in sorted(folder.rglob("*"), reverse=True):
        file.rmdir() if file.is_dir() else file.unlink()
    folder.rmdir()


DIRECT = getattr(os, "O_DIRECT", 0)


def _accepts_direct(folder: Path) -> bool:
    """Whether the file system of ``folder`` takes O_DIRECT writes (tmpfs does since Linux 6.6)."""
    if not DIRECT:
        return False
    probe = folder / "probe"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | DIRECT, 0o644))
        return True
    except OSError:
        return False
    finally:
        probe.unlink(missing_ok=True)


@pytest.mark.parametrize(
    "size", [durable.FLUSHED_BYTES - 1, durable.FLUSHED_BYTES, 3 * durable.FLUSHED_BYTES + 7]
)
def test_a_file_reads_back_byte_for_byte_and_large_ones_reach_the_disk_before_the_rename(
    folder: Path, monkeypatch, size: int
):
    """Past the page cache (O_DIRECT) where the file system takes it; else through the page
    cache, flushed; small files are only renamed into place."""
    direct = _accepts_direct(folder)
    target = folder / "rate" / "c" / "0"
    target.parent.mkdir(parents=True)  # a new folder's first key: the next test
    events = []
    open_file, flush, replace = os.open, durable.flush_to_disk, Path.replace

    def spy_open(path, flags, *args):
        if flags & DIRECT:
            events.append("direct")
        return open_file(path, flags, *args)

    def spy_flush(fd):
        events.append("flush")
        return flush(fd)

    def spy_replace(self, target):
        events.append("rename")
        return replace(self, target)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(durable, "flush_to_disk", spy_flush)
    monkeypatch.setattr(Path, "replace", spy_replace)
    data = np.random.default_rng(size).bytes(size)
    durable.put(target, data)
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["0"]  # no temporary file left
    if size < durable.FLUSHED_BYTES:
        assert events == ["rename"]
    elif direct:
        assert events == ["direct", "rename"]
    else:
        assert events == (["direct"] if DIRECT else []) + ["flush", "rename"]


@pytest.mark.parametrize("size", [10, durable.FLUSHED_BYTES])
def test_the_first_key_of_a_new_folder_makes_the_folders(folder: Path, size: int):
    data = np.random.default_rng(size).bytes(size)
    target = folder / "rate" / "c" / "4" / "0"
    durable.put(target, data)
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["0"]


def test_a_store_keeping_hashes_gives_each_put_value_s_hash_once(tmp_path: Path):
    """The hash of what was put, by key, taken once; a store that keeps none, and a copy sent
    to another process, hold none."""
    store = durable.DurableLocalStore(tmp_path / "a.zarr", keep_hashes=True)
    plain = durable.DurableLocalStore(tmp_path / "a.zarr")
    data = np.random.default_rng(3).bytes(1000)
    store.set_sync("rate/c.0.0", cpu.Buffer.from_bytes(data))
    plain.set_sync("rate/c.0.1", cpu.Buffer.from_bytes(data))
    copy = pickle.loads(pickle.dumps(store))
    assert copy.take_hash("rate/c.0.0") is None
    assert store.take_hash("rate/c.0.0") == xxhash.xxh3_128_digest(data)
    assert store.take_hash("rate/c.0.0") is None  # taken once
    assert plain.take_hash("rate/c.0.1") is None
    assert (tmp_path / "a.zarr" / "rate" / "c.0.1").read_bytes() == data


def test_set_if_not_exists_creates_once_and_atomically(tmp_path: Path):
    """Of many writers racing for one key, exactly one creates it, whole; no temporary file
    is left behind."""
    target = tmp_path / "lease" / "000001.json"
    values = [bytes([i]) * 5000 for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda v: durable.put_if_absent(target, v), values))
    assert sum(created) == 1
    assert target.read_bytes() == values[created.index(True)]
    assert [p.name for p in target.parent.iterdir()] == [target.name]
    store = durable.DurableLocalStore(tmp_path / "s")
    asyncio.run(store.set_if_not_exists("k", cpu.Buffer.from_bytes(b"first")))
    asyncio.run(store.set_if_not_exists("k", cpu.Buffer.from_bytes(b"second")))
    assert (tmp_path / "s" / "k").read_bytes() == b"first"


@pytest.mark.skipif(not DIRECT, reason="no O_DIRECT on this system")
@pytest.mark.parametrize("refused", ["open", "write"])
def test_a_refused_direct_write_falls_back_to_the_page_cache(
    tmp_path: Path, monkeypatch, refused: str
):
    """As a file system that refuses O_DIRECT at the open or only at the first write does."""
    open_file, write_file = os.open, os.write
    opened_direct = []

    def refusing_open(path, flags, *args):
        if flags & DIRECT:
            opened_direct.append(path)
            if refused == "open":
                raise OSError(errno.EINVAL, "Invalid argument", str(path))
        return open_file(path, flags, *args)

    def refusing_write(fd, data):
        if refused == "write" and opened_direct:
            raise OSError(errno.EINVAL, "Invalid argument")
        return write_file(fd, data)

    monkeypatch.setattr(os, "open", refusing_open)
    monkeypatch.setattr(os, "write", refusing_write)
    data = np.random.default_rng(1).bytes(2 * durable.FLUSHED_BYTES + 7)
    target = tmp_path / "0"
    durable.put(target, data)
    assert target.read_bytes() == data
    assert len(opened_direct) == 1
    assert list(tmp_path.iterdir()) == [target]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(folder: Path, monkeypatch):
    target = folder / "0"
    durable.put(target, b"old bytes")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable, "_datasync", full_disk)  # either way a large file is flushed
    with pytest.raises(OSError, match="No space left"):
        durable.put(target, bytes(durable.FLUSHED_BYTES))
    assert target.read_bytes() == b"old bytes"
    assert [p.name for p in folder.iterdir()] == ["0"]


def test_zarr_writes_every_key_through_the_durable_writer(folder: Path, monkeypatch):
    """Chunks and metadata alike (the root's through the create-if-absent write), and the
    array reads back equal."""
    written = []
    put, put_if_absent = durable.put, durable.put_if_absent

    def recording(write):
        def recorded(path, data):
            written.append(path.relative_to(folder / "a.zarr").as_posix())
            return write(path, data)

        return recorded

    monkeypatch.setattr(durable, "put", recording(put))
    monkeypatch.setattr(durable, "put_if_absent", recording(put_if_absent))
    store = durable.DurableLocalStore(folder / "a.zarr")
    values = np.arange(12.0).reshape(4, 3)
    array = zarr.create_array(store, name="x", shape=(4, 3), chunks=(2, 3), dtype="f8")
    array[...] = values
    assert sorted(written) == ["x/c/0/0", "x/c/1/0", "x/zarr.json", "zarr.json"]
    np.testing.assert_array_equal(zarr.open_array(store, path="x", mode="r")[...], values)


def test_content_hash_is_xxh3_128():
    """The published XXH3-128 of no bytes (the xxHash reference's test vector), and a
    one-byte change changes it."""
    assert durable.content_hash(b"") == bytes.fromhex("99aa06d3014798d86001c324468d497f")
    assert durable.content_hash(b"\0" * 100) != durable.content_hash(b"\0" * 99 + b"\1")
