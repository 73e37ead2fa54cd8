"""A real one-node SLURM for the tests: started by scripts/slurm/start.sh, stopped by PID.

Where SLURM cannot start (not root, no apt-get) the tests that need it are
skipped with the reason the script gave.  A SLURM that already answers at
``$SLURM_CONF`` is used as it is, and left running.  Otherwise the SLURM
started here listens on two ports free at its start (start.sh's SLURMCTLD_PORT
and SLURMD_PORT), so the tests of two checkouts run side by side, each with
its own SLURM, and beside a SLURM on the default ports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START, STOP = ROOT / "scripts" / "slurm" / "start.sh", ROOT / "scripts" / "slurm" / "stop.sh"
PARTITION = "debug"
"""The partition start.sh configures."""


@dataclass(frozen=True)
class Slurm:
    """A running SLURM: the config its commands read, or the reason there is none."""

    conf: Path | None
    reason: str = ""


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that nothing listens on now (the kernel's choice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("127.0.0.1", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


def _answers() -> bool:
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool({"idle", "mixed", "allocated"} & set(done.stdout.split()))


@contextmanager
def local_slurm(directory: Path) -> Iterator[Slurm]:
    """A SLURM to submit to, with ``SLURM_CONF`` set in this process's environment."""
    existing = os.environ.get("SLURM_CONF")
    if existing and _answers():
        yield Slurm(Path(existing))
        return
    ports = [str(port) for port in free_ports(2)]
    started = subprocess.run(
        ["bash", str(START), str(directory), *ports], capture_output=True, text=True, timeout=600
    )
    if started.returncode != 0:
        reason = started.stderr.strip().splitlines()[-1:] or [f"exit {started.returncode}"]
        subprocess.run(["bash", str(STOP), str(directory)], capture_output=True, timeout=120)
        yield Slurm(None, f"{START.relative_to(ROOT)} failed: {reason[0]}")
        return
    conf = directory / "slurm.conf"
    os.environ["SLURM_CONF"] = str(conf)
    try:
        yield Slurm(conf)
    finally:
        if existing is None:
            del os.environ["SLURM_CONF"]
        else:
            os.environ["SLURM_CONF"] = existing
        subprocess.run(["bash", str(STOP), str(directory)], capture_output=True, timeout=120)


def job_pids(job_id: str, task: int | None = None) -> list[int]:
    """Processes of SLURM job ``job_id`` on this host (its script and what it started).

    With ``task``, those of task ``task`` of the array ``job_id``.  Only jobs of the
    SLURM that ``$SLURM_CONF`` names: another SLURM on this host numbers its jobs
    from 1 too, and its jobs inherit its own ``SLURM_CONF``.
    """
    if task is None:
        markers = {f"SLURM_JOB_ID={job_id}".encode()}
    else:
        markers = {f"SLURM_ARRAY_JOB_ID={job_id}".encode(), f"SLURM_ARRAY_TASK_ID={task}".encode()}
    if "SLURM_CONF" in os.environ:
        markers.add(f"SLURM_CONF={os.environ['SLURM_CONF']}".encode())
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if markers <= environ:
            pids.append(int(entry.name))
    return pids


def signal_job(job_id: str, signum: signal.Signals, task: int | None = None) -> None:
    """Send ``signum`` to every process of job ``job_id`` (SIGSTOP holds it mid-sweep)."""
    for pid in job_pids(job_id, task):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def squeue(*options: str) -> list[str]:
    """Lines of ``squeue -h OPTIONS``."""
    done = subprocess.run(["squeue", "-h", *options], capture_output=True, text=True, check=True)
    return done.stdout.split("\n")[:-1]
