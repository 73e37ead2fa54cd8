"""Figure 9: the workers sweep of figure 7 on SLURM worker jobs (``cluster=slurm``).

Times ``python -m pipeline`` (the whole command: the Dask scheduler, the
worker jobs' submission and start, the blocks) with 2 one-core worker jobs
against 1, and the time from the command to the first block written by a
worker job, the cost a cluster user pays per sweep.  Uses the SLURM that
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
    """Wall time of ``python -m pipeline`` on 1 one-core worker job over 2 (best of ``repeat``)."""
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


def first_block(workdir: Path, repeat: int = 3) -> float:
    """Seconds from ``python -m pipeline +sweep=autapse cluster=slurm`` to its first block
    on disk (the first status chunk; best of ``repeat``)."""
    times = []
    for i in range(repeat):
        store = workdir / f"first-{i}.zarr"
        start = time.perf_counter()
        run = _pipeline(["+sweep=autapse", *JOBS, "cluster.jobs=1", f"store.path={store}"],
                        workdir)  # fmt: skip
        while not any((store / "status").glob("[0-9]*")) and run.poll() is None:
            time.sleep(0.005)
        times.append(time.perf_counter() - start)
        _finish(run)
        shutil.rmtree(store)
        shutil.rmtree(workdir / f"{store.name}.logs", ignore_errors=True)
    return min(times)
