"""Figures 3 to 7 and 11: the pipeline end to end, as a user runs it.

Every run is ``python -m pipeline`` in a subprocess (interpreter start and
store creation included), except figure 7, which times ``run_sweep`` in this
process so that the interpreter start, serial for any worker count, does not
hide the speed-up of the workers.  Beside figure 3, the same subprocess runs
once more without its compute (:data:`WITHOUT_COMPUTE`), which bounds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from pipeline.adapters import ENV
from pipeline.config.compose import compose_config
from pipeline.run.execute import run_sweep

PAIR_1000 = [
    "+sweep=autapse",
    "network=pair",
    "~sweep.grid.lam",
    "+sweep.grid.coupling=${linspace:-0.9,0.9,40}",
    "+sweep.grid.input_angle=${linspace:0,3.1,25}",
    "record.duration=0.999",
    "analysis.check=linear_modes",
]
"""Pair networks recorded at 1000 samples; ``sweep.grid.tau`` sets the number of points.

Checked as the autapse sweep is (every mode's gain, time constant and
persistence against theory): the ``pair`` check would also store every
mode's activity, twice the bytes of ``rate``."""


def pair_1000(n_tau: int) -> list[str]:
    """The 2-neuron, 1000-sample sweep with 1000 points per value of tau."""
    return [*PAIR_1000, f"sweep.grid.tau=${{linspace:0.02,0.1,{n_tau}}}"]


def pair_200(n_side: int) -> list[str]:
    """A 2-neuron, 200-sample sweep of n_side**3 points."""
    return [
        "+sweep=autapse",
        "network=pair",
        "~sweep.grid.lam",
        f"+sweep.grid.coupling=${{linspace:-0.9,0.9,{n_side}}}",
        f"+sweep.grid.input_angle=${{linspace:0,3.1,{n_side}}}",
        f"sweep.grid.tau=${{linspace:0.02,0.1,{n_side}}}",
        "record.duration=0.199",
        "stimulus.onset=0.02",
        "stimulus.offset=0.1",
        "analysis.persistence_delay=0.05",
        "analysis.check=linear_modes",
    ]


@dataclass(frozen=True)
class Run:
    """One ``python -m pipeline`` run: its points, wall time and peak resident memory."""

    points: int
    seconds: float
    peak_rss_bytes: int
    store: Path


PEAK_RSS = """
import os, subprocess, sys
with open(sys.argv[1], "w") as log:
    child = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss * 1024)
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs a command and prints its peak RSS in bytes (Linux reports ru_maxrss in KiB).

A small interpreter of its own starts the command: a child forked straight
from this process would count this process's memory in its peak.
"""


WITHOUT_COMPUTE = """
import runpy
import pipeline.run.execute as execute
computed = {}
def first_block_relabelled(config, grid, slices):
    shape = tuple(s.stop - s.start for s in slices)
    if shape not in computed:
        computed[shape] = real(config, grid, slices)
    coords = grid.coords()
    return computed[shape].assign_coords({d: coords[d][s] for d, s in zip(grid.dims, slices)})
real, execute.simulate_block = execute.simulate_block, first_block_relabelled
runpy.run_module("pipeline", run_name="__main__", alter_sys=True)
"""
"""``python -m pipeline`` with each block's computation replaced by a copy of an earlier block.

The copy is of the first block of the same shape (an edge block may be
smaller), relabelled with the block's own sweep coordinates.

Everything else runs as usual (store creation, compression, writing,
summary): the run's time without its compute, the most that faster
kernels could bring the pipeline to.
"""


def cli_run(
    overrides: list[str],
    workdir: Path,
    name: str,
    repeat: int = 1,
    compute: bool = True,
    report: bool = False,
    env: Mapping[str, str] | None = None,
) -> Run:
    """Run the pipeline as a user would, ``repeat`` times from an empty store.

    Returns the shortest wall time (the least disturbed run, as for the
    kernel) and the largest peak RSS.  ``compute=False``: every block is a
    copy of the first one (:data:`WITHOUT_COMPUTE`).  Without the report
    unless ``report``: figure 10 measures the report, and the figures of
    the store and its speed compare with baselines that draw nothing.
    ``env``: variables set for the run (:data:`ADAPTERS_OFF`).
    """
    store = workdir / f"{name}.zarr"
    log = workdir / f"{name}.log"
    command = [
        sys.executable, *(["-m", "pipeline"] if compute else ["-c", WITHOUT_COMPUTE]), *overrides,
        f"store.path={store}", f"hydra.run.dir={workdir / 'hydra' / name}",
        *([] if report else ["report=false"]),
    ]  # fmt: skip
    seconds, peaks = [], []
    for _ in range(repeat):
        shutil.rmtree(store, ignore_errors=True)
        quiet_disk()
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, str(log), *command],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
        )
        seconds.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.stderr.strip()}); see {log}")
        peaks.append(int(done.stdout))
    points = int(np.prod(list(xr.open_zarr(store).status.shape)))
    return Run(points, min(seconds), max(peaks), store)


def versus_to_zarr(run: Run, workdir: Path, repeat: int = 1) -> dict[str, float]:
    """Figure 3: the pipeline's throughput over durable ``to_zarr`` of its rate array.

    The rate array is loaded into memory and written in the store's Zarr
    format with its chunks and compressor, then every file written is
    flushed to disk (``fsync``), since the pipeline's trajectories are on
    disk when it ends; ``repeat`` times, the shortest is the figure's.  The
    shortest ``to_zarr`` alone (its chunks still in the page cache) is shown
    beside it (``cached_seconds``).
    """
    stored = xr.open_zarr(run.store)
    rate = stored.rate.load()
    encoding = {
        "chunks": stored.rate.encoding["chunks"],
        "compressors": stored.rate.encoding["compressors"],
    }
    zarr_format = zarr.open_group(str(run.store), mode="r").metadata.zarr_format
    plain = xr.Dataset({"rate": rate.variable}, coords=stored.coords)
    target = workdir / "plain.zarr"
    seconds, cached = [], []
    for _ in range(repeat):
        quiet_disk()
        start = time.perf_counter()
        with warnings.catch_warnings():  # v3 consolidated metadata, as the pipeline writes it
            warnings.simplefilter("ignore")
            plain.to_zarr(target, mode="w", zarr_format=zarr_format, encoding={"rate": encoding})
        cached.append(time.perf_counter() - start)
        fsync_tree(target)
        seconds.append(time.perf_counter() - start)
        shutil.rmtree(target)
    return {
        "to_zarr_seconds": min(seconds),
        "cached_seconds": min(cached),
        "ratio": min(seconds) / run.seconds,
    }


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder`` to disk, and the folders that name them."""
    for path in [*folder.rglob("*"), folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


ADAPTERS_OFF = {ENV: "off"}
"""The environment of a run whose adapters take their public-API fallbacks
(:mod:`pipeline.adapters`): what the fast paths buy is the difference."""

IMPORTS = "import numpy, xarray, zarr, dask, hydra"
"""Figure 8's reference: importing the libraries any such pipeline needs."""


def fixed_cost(
    workdir: Path, repeat: int = 3, env: Mapping[str, str] | None = None
) -> dict[str, float]:
    """Figure 8: the default autapse run's wall time over that of importing its libraries.

    Both as subprocesses, best of ``repeat``; the run writes a new store each
    time.  The run is made with ``report=false``: the report's own cost is
    figure 10.  ``env``: variables set for the run (:data:`ADAPTERS_OFF`).
    """
    store = workdir / "autapse.zarr"
    run = [
        sys.executable,
        "-m",
        "pipeline",
        "+sweep=autapse",
        f"store.path={store}",
        "report=false",
    ]
    imports = [sys.executable, "-c", IMPORTS]
    seconds: dict[str, list[float]] = {"run": [], "imports": []}
    for _ in range(repeat):
        for name, command in (("run", run), ("imports", imports)):
            shutil.rmtree(store, ignore_errors=True)
            quiet_disk()
            start = time.perf_counter()
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                cwd=workdir,
                env={**os.environ, **(env or {})} if name == "run" else None,
            )
            seconds[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    shutil.rmtree(store, ignore_errors=True)
    (workdir / "catalog.sqlite").unlink(missing_ok=True)
    (workdir / "autapse.zarr.lease").unlink(missing_ok=True)
    run_s, imports_s = min(seconds["run"]), min(seconds["imports"])
    return {"run_seconds": run_s, "imports_seconds": imports_s, "ratio": run_s / imports_s}


RK4_FINE = ["solver=rk4", "solver.max_step=1e-4"]
"""rk4 at a tenth of the 1 ms recording step: the saturating sweep's solver before dopri5."""


def many_blocks(blocks: int) -> list[str]:
    """Saturating autapses in ``blocks`` blocks of one point (a multiple of 10), by rk4
    (:data:`RK4_FINE`): a few tenths of a second per block, so that a worker is lost
    mid-run (figure 12)."""
    return [
        "+sweep=saturating_memory",
        f"sweep.grid.tau=${{linspace:0.01,0.02,{blocks // 10}}}",
        "store.chunk_points=1",
        *RK4_FINE,
    ]


def saturating_sweep(n_lam: int) -> list[str]:
    """The saturating sweep as it is configured (dopri5), 400 points per lam value.

    A small record: the solver, not the store, takes the time.  Blocks of
    4000 points, so that every worker has several.
    """
    return [
        "+sweep=saturating_memory",
        f"sweep.grid.lam=${{linspace:1.5,3.0,{n_lam}}}",
        "sweep.grid.amplitude=${linspace:-2,2,20}",
        "sweep.grid.tau=${linspace:0.01,0.02,20}",
        "record.duration=0.5",
        "store.chunk_points=4000",
    ]


def saturating(n_lam: int) -> list[str]:
    """A compute-bound sweep: :func:`saturating_sweep` integrated by rk4 (:data:`RK4_FINE`),
    ten steps per 1 ms sample."""
    return [*saturating_sweep(n_lam), *RK4_FINE]


def solver_speed(n_lam: int, workdir: Path, repeat: int = 2) -> dict[str, float]:
    """Figure 11: points/s of the saturating sweep by dopri5 (its solver) over rk4 at
    ``max_step`` 1e-4 s (its solver before), and the same with a 10 ms recording step.

    ``run_sweep`` at the default ``cluster=threads`` with one worker, alternating
    the solvers ``repeat`` times, best of each; points per second of CPU time
    (every thread of the run is in this process), which a machine busy with
    other work changes far less than the wall time, printed beside it.
    """
    base = [*saturating_sweep(n_lam), "cluster.n_workers=1"]
    coarse = ["record.dt=0.01"]
    runs = {
        "dopri5": base,
        "rk4": [*base, *RK4_FINE],
        "dopri5_coarse": [*base, *coarse],
        "rk4_coarse": [*base, *RK4_FINE, *coarse],
    }
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(repeat):
        for name, overrides in runs.items():
            store = workdir / f"solver-{name}-{i}.zarr"
            config = compose_config([*overrides, f"store.path={store}"])
            quiet_disk()
            start, start_cpu = time.perf_counter(), time.process_time()
            run_sweep(config)
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
            shutil.rmtree(store)
            shutil.rmtree(workdir / f"{store.name}.logs", ignore_errors=True)
    points = 400 * n_lam
    rate = {f"{name}_points_per_cpu_s": points / min(cpu[name]) for name in runs}
    rate |= {f"{name}_points_per_s": points / min(wall[name]) for name in runs}
    return {
        **rate,
        "ratio": rate["dopri5_points_per_cpu_s"] / rate["rk4_points_per_cpu_s"],
        "coarse_ratio": rate["dopri5_coarse_points_per_cpu_s"]
        / rate["rk4_coarse_points_per_cpu_s"],
    }


def workers_speedup(overrides: list[str], workdir: Path) -> dict[str, float]:
    """Figure 7: ``run_sweep`` with 2 Dask worker processes against 1 (best of 2 each).

    Processes, not threads: the rk4 steps are numpy operations on a few
    thousand values, short enough that threads would wait for the GIL.
    """
    seconds = {
        workers: best_sweep_time(
            [*overrides, "cluster=processes", f"cluster.n_workers={workers}"],
            workdir,
            f"workers-{workers}",
        )
        for workers in (1, 2)
    }
    return {"one": seconds[1], "two": seconds[2], "ratio": seconds[1] / seconds[2]}


def best_sweep_time(overrides: list[str], workdir: Path, name: str, repeat: int = 2) -> float:
    """The best wall time of ``run_sweep`` over ``repeat`` runs of ``overrides``, each into a
    new store ``<workdir>/<name>-<i>.zarr``, removed afterwards with its logs."""
    times = []
    for i in range(repeat):
        store = workdir / f"{name}-{i}.zarr"
        config = compose_config([*overrides, f"store.path={store}"])
        quiet_disk()
        start = time.perf_counter()
        run_sweep(config)
        times.append(time.perf_counter() - start)
        shutil.rmtree(store)
        shutil.rmtree(workdir / f"{store.name}.logs", ignore_errors=True)
    return min(times)


def quiet_disk() -> None:
    """Write back every dirty page now, so that no timed run pays for an earlier one's data."""
    os.sync()
