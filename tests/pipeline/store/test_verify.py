"""``python -m pipeline.verify``: what it finds in damaged stores, and its exit code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import xarray as xr
import zarr
from store_helpers import config, copy_of

from pipeline import verify as verify_cli
from pipeline.run.execute import run_sweep
from pipeline.store import layout, lease, lifecycle, verify
from pipeline.store.kinds import open_sweep_store as S
from pipeline.store.lifecycle import consolidate


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("verify") / "s.zarr"
    run_sweep(config(path))
    return path


@pytest.fixture(scope="module")
def complete_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("verify") / "s.zarr"
    run_sweep(config(path, "store.zarr_format=2"))
    return path


@pytest.fixture
def copy(complete: Path, tmp_path: Path) -> Path:
    return copy_of(complete, tmp_path)


def _verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = verify_cli.main([str(path)])
    return code, capsys.readouterr().out.splitlines()


def test_complete_store_is_sound(copy: Path, capsys):
    code, lines = _verify(copy, capsys)
    assert code == 0
    assert lines[1] == "points: 39 (0 pending, 39 ok, 0 diverged, 0 failed)"
    assert lines[-1] == "verdict: sound and complete"


def test_truncated_chunk_is_found(copy: Path, capsys):
    chunk = copy / "rate" / "c.1.0.0.0"
    chunk.write_bytes(chunk.read_bytes()[:100])
    code, lines = _verify(copy, capsys)
    assert code == 2
    assert [line for line in lines if line.startswith("problem:")] == [
        "problem: rate/c.1.0.0.0 does not decode (RuntimeError: error during blosc "
        "decompression: -1); its block is computed again on resume"
    ]


def test_missing_chunk_of_a_computed_block_is_found(copy: Path, capsys):
    (copy / "gain" / "c.3.0.0").unlink()
    (copy / "tau" / "c" / "0").unlink()
    code, lines = _verify(copy, capsys)
    assert code == 2
    problems = [line for line in lines if line.startswith("problem:")]
    assert problems == [
        "problem: gain/c.3.0.0 is missing; its block is computed again on resume",
        "problem: tau/c/0 is missing; it is written again on resume",
    ]


def test_leftover_temporary_file_is_found(copy: Path, capsys):
    (copy / "rate" / "c.0.0.0.0.1234abcd.partial").write_bytes(b"half a chunk")
    code, lines = _verify(copy, capsys)
    assert code == 2
    assert (
        "problem: temporary file left by an interrupted write: rate/c.0.0.0.0.1234abcd.partial"
        in lines
    )


def test_stale_consolidated_metadata_is_found(copy: Path, capsys):
    """Zarr v3: an array's metadata changed after the root's copy of it was made."""
    group = zarr.open_group(str(copy), mode="r+", use_consolidated=False)
    group["h"].attrs["units"] = "kHz"
    code, lines = _verify(copy, capsys)
    assert code == 2
    assert (
        "problem: h/zarr.json differs from its copy in the consolidated metadata of "
        "zarr.json (attributes)" in lines
    )


def test_missing_consolidated_metadata_is_found(copy: Path, capsys):
    """Zarr v3: the root attributes were rewritten, as if killed before consolidating."""
    group = zarr.open_group(str(copy), mode="r+", use_consolidated=False)
    group.attrs["run_status"] = "incomplete"
    code, lines = _verify(copy, capsys)
    assert code == 2
    assert "problem: the consolidated metadata cannot be read ('metadata')" in lines


def test_stale_consolidated_metadata_of_a_v2_store_is_found(complete_v2: Path, tmp_path, capsys):
    copy = copy_of(complete_v2, tmp_path)
    assert _verify(copy, capsys)[0] == 0
    group = zarr.open_group(str(copy), mode="r+", zarr_format=2, use_consolidated=False)
    group.attrs["run_status"] = "incomplete"  # as if killed between .zattrs and .zmetadata
    code, lines = _verify(copy, capsys)
    assert code == 2
    assert "problem: .zattrs differs from its copy in .zmetadata (run_status)" in lines


def test_array_missing_from_consolidated_metadata_of_a_v2_store_is_found(
    complete_v2: Path, tmp_path, capsys
):
    copy = copy_of(complete_v2, tmp_path)
    consolidated = json.loads((copy / ".zmetadata").read_text())
    del consolidated["metadata"]["h/.zattrs"]
    (copy / ".zmetadata").write_text(json.dumps(consolidated))
    code, lines = _verify(copy, capsys)
    assert code == 2
    assert "problem: h/.zattrs is not in .zmetadata" in lines


def test_pending_points_make_a_sound_but_incomplete_store(copy: Path, capsys):
    """As a kill between a block's data and its status leaves it."""
    (copy / "status" / "c.2.0").unlink()
    lifecycle.mark_incomplete(S(copy))
    code, lines = _verify(copy, capsys)
    assert code == 1
    assert lines[1] == "points: 39 (12 pending, 27 ok, 0 diverged, 0 failed)"
    assert lines[-1].startswith("verdict: sound, incomplete")


def test_complete_attribute_contradicting_status_is_found(copy: Path, capsys):
    (copy / "status" / "c.2.0").unlink()
    code, lines = _verify(copy, capsys)
    assert code == 2
    assert (
        "problem: root attribute run_status is 'complete' but 12 points are pending and 0 failed"
        in lines
    )


def test_not_a_store(tmp_path: Path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert verify_cli.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path} is not a store of this pipeline\n"


def test_digest_ignores_run_records_and_sees_every_other_byte(complete: Path, copy: Path):
    reference = verify.content_digest(S(complete))
    group = zarr.open_group(str(copy), mode="r+", use_consolidated=False)
    group.attrs["history"] = [*group.attrs["history"], {"run": 99}]
    group.attrs["created"] = "2000-01-01T00:00:00+00:00"
    consolidate(group.store, 3)
    assert verify.content_digest(S(copy)) == reference
    group.attrs["run_status"] = "incomplete"
    assert verify.content_digest(S(copy)) != reference
    group.attrs["run_status"] = "complete"
    consolidate(group.store, 3)
    assert verify.content_digest(S(copy)) == reference
    chunk = copy / "lam" / "c" / "0"
    data = bytearray(chunk.read_bytes())
    data[-1] ^= 1
    chunk.write_bytes(bytes(data))
    assert verify.content_digest(S(copy)) != reference


def test_store_being_written_is_noted(copy: Path, capsys):
    lease.acquire(S(copy), seconds=60)
    code, lines = _verify(copy, capsys)
    assert code == 0
    assert lines[0].startswith(f"note: process {os.getpid()} on host ")
    assert lines[0].endswith(
        "holds the store's lease: it is being written, so counts may "
        "change and temporary files may be in flight"
    )


@pytest.mark.parametrize("empty", [False, True])
def test_missing_path(tmp_path: Path, capsys, empty: bool):
    """Nothing there, or an empty folder: no store, said so (exit 2)."""
    if empty:
        (tmp_path / "nothing.zarr").mkdir()
    assert verify_cli.main([str(tmp_path / "nothing.zarr")]) == 2
    message = f"error: {tmp_path / 'nothing.zarr'} does not exist or is empty\n"
    assert capsys.readouterr().err == message


def test_a_store_with_zarrs_default_chunk_keys_opens_and_verifies(
    complete: Path, tmp_path: Path, monkeypatch
):
    """A v3 store written with ``c/3/0`` keys (zarr's default, this pipeline's before it
    wrote ``c.3.0``): sound, its damage found, its values those of today's store."""
    monkeypatch.setattr(layout, "CHUNK_KEYS_V3", {"name": "default", "separator": "/"})
    path = tmp_path / "slash.zarr"
    run_sweep(config(path))
    assert (path / "rate" / "c" / "0" / "0" / "0" / "0").is_file()
    assert not list((path / "rate").glob("c.*"))
    assert verify.inspect(S(path)).exit_code == 0
    with xr.open_zarr(path) as slash, xr.open_zarr(complete) as dotted:
        xr.testing.assert_identical(slash.drop_attrs(), dotted.drop_attrs())
    (path / "gain" / "c" / "1" / "0" / "0").unlink()
    assert verify.inspect(S(path)).problems == [
        "gain/c/1/0/0 is missing; its block is computed again on resume"
    ]
