"""Figure 9: the workers sweep of figure 7 on SLURM worker jobs.

Three measurements:

- the speed: ``run_sweep`` of figure 7's sweep on a Dask cluster whose
  workers are 2 one-core SLURM jobs against 1 (``dask_jobqueue.SLURMCluster``
  with the job options of ``cluster=slurm``, its workers up before the clock
  starts, the sweep sent to it by ``cluster=distributed cluster.address=...``):
  what a second worker job brings, as figure 7 measures it for a second
  worker process;
- the cost a cluster user pays per sweep with ``cluster=slurm``: the time from
  the command to the first block on disk (the scheduler, the jobs'
  submission, their Python start);
- the whole ``python -m pipeline ... cluster=slurm`` command with 2 jobs
  against 1, both costs together (reported beside).

Uses the SLURM that
``$SLURM_CONF`` (or the system's config) points at; where none answers, it
starts the project's own (``scripts/slurm/start.sh``) for the measurement and
stops it by PID afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts" / "slurm"
JOBS = ("cluster=slurm", "cluster.cores=1", "cluster.processes=1", "cluster.memory=1GB")
"""One-core worker jobs, in the cluster's default partition."""


def _answers() -> bool:
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


@contextmanager
def slurm() -> Iterator[str | None]:
    """A SLURM to submit to; yields None if it runs already, else why none could start."""
    if _answers():
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="rate-sweeps-slurm-"))
    started = subprocess.run(
        ["bash", str(SCRIPTS / "start.sh"), str(directory)], capture_output=True, text=True
    )
    saved = os.environ.get("SLURM_CONF")
    try:
        if started.returncode != 0:
            yield (started.stderr.strip().splitlines() or ["start.sh failed"])[-1]
            return
        os.environ["SLURM_CONF"] = str(directory / "slurm.conf")
        yield None
    finally:
        subprocess.run(["bash", str(SCRIPTS / "stop.sh"), str(directory)], capture_output=True)
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
        shutil.rmtree(directory, ignore_errors=True)


def _pipeline(overrides: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *overrides], cwd=cwd,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finish(run: subprocess.Popen) -> None:
    _, errors = run.communicate()
    if run.returncode != 0:
        raise RuntimeError(f"python -m pipeline exited with {run.returncode}: {errors}")


def jobs_speedup(overrides: list[str], workdir: Path, repeat: int = 2) -> dict[str, float]:
    """Wall time of ``run_sweep`` on a Dask cluster of 1 one-core SLURM worker job over 2,
    the jobs started and their workers connected before the clock starts (best of
    ``repeat``)."""
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    from benchmarks.end_to_end import best_sweep_time
    from pipeline.config.compose import compose_config
    from pipeline.run.slurm import job_options

    jobs_config = compose_config([*overrides, *JOBS, f"store.path={workdir / 'jobs.zarr'}"])
    options = {**job_options(jobs_config.cluster), "log_directory": str(workdir / "jobs.logs")}
    seconds = {}
    for jobs in (1, 2):
        with SLURMCluster(**options) as cluster, Client(cluster) as client:
            cluster.scale(jobs=jobs)
            client.wait_for_workers(jobs, timeout=120)
            distributed = ["cluster=distributed", f"cluster.address={cluster.scheduler_address}"]
            seconds[jobs] = best_sweep_time(
                [*overrides, *distributed], workdir, f"slurm-{jobs}", repeat
            )
    shutil.rmtree(workdir / "jobs.logs", ignore_errors=True)
    return {"one": seconds[1], "two": seconds[2], "ratio": seconds[1] / seconds[2]}


def command_speedup(overrides: list[str], workdir: Path, repeat: int = 2) -> dict[str, float]:
    """Wall time of ``python -m pipeline ... cluster=slurm`` with 1 one-core worker job over 2
    (best of ``repeat``): the jobs' start is inside the timed command."""
    seconds = {}
    for jobs in (1, 2):
        times = []
        for i in range(repeat):
            store = workdir / f"slurm-{jobs}-{i}.zarr"
            os.sync()
            start = time.perf_counter()
            _finish(_pipeline([*overrides, *JOBS, f"cluster.jobs={jobs}", f"store.path={store}"],
                              workdir))  # fmt: skip
            times.append(time.perf_counter() - start)
            shutil.rmtree(store)
            shutil.rmtree(workdir / f"{store.name}.logs", ignore_errors=True)
        seconds[jobs] = min(times)
    return {"one": seconds[1], "two": seconds[2], "ratio": seconds[1] / seconds[2]}


METADATA = frozenset({"zarr.json", ".zarray", ".zattrs"})
"""The metadata files of an array, v3 and v2: every other file under ``status`` is a chunk."""


def _has_block(store: Path) -> bool:
    """Whether a block's status chunk is on disk (``status/c.0.0`` in v3, ``status/0.0`` in v2)."""
    return any(p.name not in METADATA for p in (store / "status").rglob("*") if p.is_file())


def first_block(workdir: Path, repeat: int = 3) -> float:
    """Seconds from ``python -m pipeline +sweep=autapse cluster=slurm`` to its first block
    on disk (the first status chunk; best of ``repeat``)."""
    times = []
    for i in range(repeat):
        store = workdir / f"first-{i}.zarr"
        start = time.perf_counter()
        run = _pipeline(["+sweep=autapse", *JOBS, "cluster.jobs=1", f"store.path={store}"],
                        workdir)  # fmt: skip
        while not _has_block(store) and run.poll() is None:
            time.sleep(0.005)
        times.append(time.perf_counter() - start)
        _finish(run)
        shutil.rmtree(store)
        shutil.rmtree(workdir / f"{store.name}.logs", ignore_errors=True)
    return min(times)


def _worker_processes(driver: int) -> list[int]:
    """The worker processes of the local cluster of the driver ``driver`` (multiprocessing's
    spawned children of it, Linux ``/proc``)."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            line = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == driver and b"spawn_main" in line:
            workers.append(int(stat.parent.name))
    return workers


def lost_workers(overrides: list[str], workdir: Path, blocks: int, workers: int = 2) -> dict:
    """Blocks solved over blocks in the sweep, for a run of ``overrides`` (``blocks`` blocks)
    on a local cluster of ``workers`` one-thread workers of which half are killed (SIGKILL,
    as nodes lost) once a quarter of the blocks is on disk.

    The count is the run's own (``history[-1]["solves"]``, :mod:`pipeline.store.solves`);
    the bound is ``1 + lost x threads / blocks``: each lost worker may have been running
    one block, and a block it had finished is not solved again.
    """
    import json
    import signal

    store = workdir / "lost.zarr"
    distributed = ["cluster=distributed", f"cluster.n_workers={workers}", "report=false"]
    run = _pipeline([*overrides, *distributed, f"store.path={store}"], workdir)
    while len(_worker_processes(run.pid)) < workers and run.poll() is None:
        time.sleep(0.01)
    status = store / "status"
    while run.poll() is None and sum(
        p.name not in METADATA for p in status.rglob("*") if p.is_file()
    ) < max(1, blocks // 4):
        time.sleep(0.005)
    lost = _worker_processes(run.pid)[: workers // 2]
    for pid in lost:
        os.kill(pid, signal.SIGKILL)
    _finish(run)
    solves = json.loads((store / "zarr.json").read_text())["attributes"]["history"][-1]["solves"]
    shutil.rmtree(store)
    shutil.rmtree(workdir / f"{store.name}.logs", ignore_errors=True)
    return {
        "ratio": solves["solves"] / blocks,
        "bound": 1 + len(lost) / blocks,
        "lost": len(lost),
        "solves": solves["solves"],
    }
