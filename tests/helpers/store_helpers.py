"""Running, damaging and comparing sweep stores in tests."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import zarr
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from sweeps import CONF, compose_config

from pipeline.config.schema import Config
from pipeline.run.execute import run_sweep
from pipeline.store import integrity, lease
from pipeline.store.chunks import dimension_names
from pipeline.store.kinds import open_sweep_store as S

SWEEP = (
    "+sweep=autapse",
    "sweep.grid.lam=[-1,0,0.5,0.9,1,1.5]",
    "sweep.grid.tau=[0.02,0.05]",
    "store.chunk_points=2",
)
"""The kill tests' sweep: 12 points of the autapse, in 6 blocks of 1 x 2."""

SMALL = ("+sweep=autapse", "store.chunk_points=12")
"""A quicker sweep of the same points: 4 blocks of 4 x 3 (the last 1 x 3)."""


def config(store: Path, *overrides: str, sweep: Sequence[str] = SMALL) -> Config:
    """The validated config of a run of ``sweep`` and ``overrides`` into ``store``."""
    return compose_config([*sweep, f"store.path={store}", *overrides])


def hydra_config(store: Path, *overrides: str, sweep: Sequence[str] = SMALL) -> DictConfig:
    """The composed config ``python -m pipeline`` would hand to its task function."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=[*sweep, f"store.path={store}", *overrides])


def file_ids(path: Path) -> dict[str, tuple[int, int]]:
    """Inode and modification time of every file under ``path``: a rewrite changes them."""
    ids = {}
    for file in path.rglob("*"):
        if file.is_file():
            stat = file.stat()
            ids[file.relative_to(path).as_posix()] = (stat.st_ino, stat.st_mtime_ns)
    return ids


def file_bytes(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (a store and its siblings), by relative path."""
    return {
        f.relative_to(path).as_posix(): f.read_bytes()
        for f in sorted(path.rglob("*"))
        if f.is_file()
    }


def _chunk_index(chunk: str) -> tuple[int, ...] | None:
    """The chunk index in a key's part after the array name: ``c.5.0.0`` (v3 as the pipeline
    writes it), ``c/5/0/0`` (v3 with zarr's default keys) or ``5.0.0`` (v2)."""
    if chunk.startswith(("c/", "c.")):
        chunk = chunk[2:]
    parts = chunk.replace("/", ".").split(".")
    return tuple(int(i) for i in parts) if all(i.isdigit() for i in parts) else None


def block_of(key: str, sweep_dims: int, block_arrays: set[str]) -> tuple[int, ...] | None:
    """The sweep block a chunk key like ``rate/c.5.0.0.0`` (or v2 ``rate/5.0.0.0``) belongs
    to; None for other files."""
    name, _, chunk = key.partition("/")
    index = _chunk_index(chunk)
    if name not in block_arrays or index is None:
        return None  # metadata or a temporary file
    return index[:sweep_dims]


def _arrays(path: Path) -> list[tuple[str, zarr.Array]]:
    """Every array of the store at ``path``, whatever temporary files it holds."""
    group = zarr.open_group(str(path), mode="r", use_consolidated=False)
    with warnings.catch_warnings():  # a killed write's temporary file is no array
        warnings.filterwarnings("ignore", "Object at .* is not recognized", UserWarning)
        return list(group.arrays())


def block_arrays(path: Path, sweep_dims: Sequence[str]) -> set[str]:
    """Arrays written block by block: those with every sweep dimension (which come first)."""
    return {
        name
        for name, array in _arrays(path)
        if dimension_names(array)[: len(sweep_dims)] == tuple(sweep_dims)
    }


def chunk_file(path: Path, name: str, index: Sequence[int]) -> Path:
    """The file of chunk ``index`` of array ``name`` in the store at ``path`` (v3 or v2)."""
    array = zarr.open_group(str(path), mode="r", use_consolidated=False)[name]
    return path / name / array.metadata.encode_chunk_key(tuple(index))


def block_chunk_files(path: Path, block: Sequence[int]) -> list[Path]:
    """The chunk file of ``block`` of every array written block by block, ``status`` included."""
    arrays = _arrays(path)
    dims = dimension_names(dict(arrays)["status"])
    return [
        chunk_file(path, name, (*block, *[0] * (array.ndim - len(dims))))
        for name, array in arrays
        if dimension_names(array)[: len(dims)] == dims
    ]


def status_chunks(path: Path) -> list[Path]:
    """The status chunk files written so far (blocks whose status is on disk)."""
    status = path / "status"
    return [
        f
        for f in status.rglob("*")
        if f.is_file() and _chunk_index(f.relative_to(status).as_posix()) is not None
    ]


def done_blocks(path: Path) -> set[tuple[int, ...]]:
    """Blocks whose status says ok or diverged: a resume must not touch them."""
    scan = integrity.scan(S(path))
    counts = [-(-n // c) for n, c in zip(scan.status.shape, scan.chunks, strict=True)]
    return {
        index
        for index in itertools.product(*(range(n) for n in counts))
        if np.isin(scan.status[scan.block_slices(index)], integrity.DATA_STATUSES).any()
    }


def files_of_blocks(path: Path, blocks: set[tuple[int, ...]]) -> dict[str, tuple[int, int]]:
    """Identity of every chunk file (data and status) of ``blocks``."""
    scan = integrity.scan(S(path))
    arrays = block_arrays(path, scan.dims) | {"status"}
    return {
        key: ident
        for key, ident in file_ids(path).items()
        if block_of(key, len(scan.dims), arrays) in blocks
    }


def _command(args: Sequence[str], script: Sequence[str], env: dict[str, str] | None) -> dict:
    return {
        "args": [sys.executable, *script, *args],
        "env": {**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})},
        "stdin": subprocess.DEVNULL,
        "text": True,
    }


def start_driver(
    *args: str, cwd: Path, script: Sequence[str] = ("-m", "pipeline"), env: dict | None = None
) -> subprocess.Popen:
    """Start ``python -m pipeline ARGS`` in ``cwd`` without waiting; it logs to ``driver.log``."""
    with open(cwd / "driver.log", "a") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            cwd=cwd, stdout=log, stderr=subprocess.STDOUT, **_command(args, script, env)
        )


def run_driver(
    *args: str, cwd: Path, script: Sequence[str] = ("-m", "pipeline"), env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m pipeline ARGS`` (or ``python SCRIPT ARGS``) in ``cwd`` to its end."""
    return subprocess.run(cwd=cwd, timeout=240, capture_output=True, **_command(args, script, env))


def wait_until(condition, timeout: float, what: str, poll: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(poll)


def clean_store(tmp_path: Path) -> Path:
    """An uninterrupted run of :data:`SWEEP`, to compare a test's store with."""
    clean = tmp_path / "clean" / "s.zarr"
    run_sweep(config(clean, sweep=SWEEP))
    return clean


def driver_past_its_first_block(path: Path, *overrides: str) -> subprocess.Popen:
    """A driver of :data:`SWEEP` writing ``path``, once it has written its first block."""
    driver = start_driver(*SWEEP, *overrides, f"store.path={path}", cwd=path.parent)
    wait_until(lambda: bool(status_chunks(path)) or driver.poll() is not None, 120, "a block")
    return driver


def copy_of(tree: Path, into: Path) -> Path:
    """A copy of the directory ``tree`` inside ``into``."""
    target = into / tree.name
    shutil.copytree(tree, target)
    return target


def wait_for_lapse(store: Path) -> None:
    """Sleep until the lease a killed driver held on ``store`` has lapsed."""
    path = lease.lease_path(store)
    if path.exists() and path.read_text():
        time.sleep(max(0.0, json.loads(path.read_text())["expires"] - time.time() + 0.05))


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux ``/proc``)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
