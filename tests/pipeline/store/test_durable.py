"""Durable writes: atomic on every file system, on disk before the rename when large."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import zarr

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
    """A folder on a disk file system (the test's temporary directory) and one on tmpfs,
    which refuses ``O_DIRECT``."""
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


@pytest.mark.parametrize(
    "size", [durable.FLUSHED_BYTES - 1, durable.FLUSHED_BYTES, 3 * durable.FLUSHED_BYTES + 7]
)
def test_a_file_reads_back_byte_for_byte_and_large_ones_are_flushed_before_the_rename(
    folder: Path, monkeypatch, size: int
):
    events = []
    flush, replace = durable.flush_to_disk, Path.replace

    def spy_flush(fd):
        events.append("flush")
        return flush(fd)

    def spy_replace(self, target):
        events.append("rename")
        return replace(self, target)

    monkeypatch.setattr(durable, "flush_to_disk", spy_flush)
    monkeypatch.setattr(Path, "replace", spy_replace)
    data = np.random.default_rng(size).bytes(size)
    target = folder / "rate" / "c" / "0"
    durable.put(target, data)
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["0"]  # no temporary file left
    expected = ["flush", "rename"] if size >= durable.FLUSHED_BYTES else ["rename"]
    assert events == expected


def test_a_failed_write_leaves_the_old_file_and_no_temporary(folder: Path, monkeypatch):
    target = folder / "0"
    durable.put(target, b"old bytes")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable, "flush_to_disk", full_disk)
    with pytest.raises(OSError, match="No space left"):
        durable.put(target, bytes(durable.FLUSHED_BYTES))
    assert target.read_bytes() == b"old bytes"
    assert [p.name for p in folder.iterdir()] == ["0"]


def test_zarr_writes_every_key_through_the_durable_writer(folder: Path, monkeypatch):
    """Chunks and metadata alike, and the array reads back equal."""
    written = []
    put = durable.put

    def recording_put(path, data):
        written.append(path.relative_to(folder / "a.zarr").as_posix())
        return put(path, data)

    monkeypatch.setattr(durable, "put", recording_put)
    store = durable.DurableLocalStore(folder / "a.zarr")
    values = np.arange(12.0).reshape(4, 3)
    array = zarr.create_array(store, name="x", shape=(4, 3), chunks=(2, 3), dtype="f8")
    array[...] = values
    assert sorted(written) == ["x/c/0/0", "x/c/1/0", "x/zarr.json", "zarr.json"]
    np.testing.assert_array_equal(zarr.open_array(store, path="x", mode="r")[...], values)
