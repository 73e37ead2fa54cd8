"""One sweep as a SLURM array: disjoint shares, each resumed from the point status; a finishing
run completes the store to the local run's bytes; shares and a whole driver exclude each other."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import dask
import numpy as np
import pytest
from slurm_cluster import PARTITION, job_pids, signal_job, squeue
from store_helpers import SWEEP, clean_store, config, files_of_blocks, run_driver, wait_until

from pipeline.adapters.submitit import sbatch_script
from pipeline.catalog import runs
from pipeline.run import array, shares
from pipeline.run.execute import run_sweep
from pipeline.run.plan import plan_run
from pipeline.store import chunks, lease, verify
from pipeline.store.kinds import open_sweep_store
from pipeline.store.kinds import open_sweep_store as S
from pipeline.store.status import STATUS

ARRAY = ("cluster=slurm", f"cluster.partition={PARTITION}", "cluster.memory=1GB",
         "cluster.array_tasks=3")  # fmt: skip
"""Three one-core tasks of 1 GB; SWEEP's 6 blocks make shares of 2 blocks each."""


def _blocks(path: Path, plan, task: int) -> set[tuple[int, ...]]:
    return {block.index for block in array.share_of(plan, task, 3)}


def test_tasks_compute_their_own_shares_and_resume_them_and_the_finish_completes_the_store(
    tmp_path: Path,
):
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    cfg = config(path, *ARRAY, sweep=SWEEP)
    plan = plan_run(cfg)
    assert array.prepare_store(cfg, plan) == "created"
    shares_ = [_blocks(path, plan, k) for k in range(3)]
    assert [len(s) for s in shares_] == [2, 2, 2] and set.union(*shares_) == {
        b.index for b in plan.layout.blocks()
    }
    assert array.run_share(cfg, 1, 3, "7") == 2
    status = chunks.read_status(path)
    done = {b.index for b in plan.layout.blocks() if (status[b.slices] == STATUS["ok"]).all()}
    assert done == shares_[1]  # its share, and nothing else
    # A task preempted after its first block: run again, it computes only its second.
    assert array.run_share(cfg, 0, 3, "7") == 2
    first, second = sorted(shares_[0])
    block = next(b for b in plan.layout.blocks() if b.index == second)
    chunks.write_status(_arrays(path, plan), plan.grid.dims, block, STATUS["pending"])
    kept = files_of_blocks(path, {first})
    assert array.run_share(cfg, 0, 3, "7") == 1
    assert files_of_blocks(path, {first}) == kept
    # Share 2 was lost: the finishing run (python -m pipeline) computes it and ends the store.
    result = run_sweep(config(path, sweep=SWEEP))
    assert result.blocks_computed == 2 and result.counts["ok"] == 12
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    catalog = runs(tmp_path / "catalog.sqlite")
    assert catalog["message"].tolist()[:3] == [
        "SLURM array 7 task 1 of 3: its share done, 2 blocks computed",
        "SLURM array 7 task 0 of 3: its share done, 2 blocks computed",
        "SLURM array 7 task 0 of 3: its share done, 1 blocks computed",
    ]
    # Each task's row is its share's: 2 blocks of 2 points, complete, checked PASS.
    tasks = catalog.iloc[:3]
    assert tasks["status"].tolist() == ["complete"] * 3
    assert tasks["verdict"].tolist() == ["PASS"] * 3
    assert (tasks["points_ok"] + tasks["points_diverged"]).tolist() == [4, 4, 4]
    assert tasks["blocks_computed"].tolist() == [2, 2, 1]
    assert (tasks["duration_s"] > 0).all()
    assert catalog["status"].iloc[-1] == "complete" and catalog["points_ok"].iloc[-1] == 12


def test_a_task_stopped_mid_share_records_the_blocks_it_wrote_and_its_overrides(
    tmp_path: Path, monkeypatch
):
    """One task, all 6 blocks its share: stopped (SIGTERM's SystemExit) after its 4th block,
    its row says 4 blocks written, 8 of 12 points done, interrupted, FAIL (points pending)."""
    path = tmp_path / "s.zarr"
    cfg = config(path, *ARRAY[:-1], "cluster.array_tasks=1", sweep=SWEEP)
    array.prepare_store(cfg, plan_run(cfg))

    def four_then_sigterm(tasks, cluster, progress):
        dask.compute(*tasks[:4], scheduler="synchronous")
        raise SystemExit(143)

    monkeypatch.setattr(array, "run_tasks", four_then_sigterm)
    with pytest.raises(SystemExit):
        array.run_share(cfg, 0, 1, "9", ["+sweep=autapse", "cluster.array_tasks=1"])
    row = runs(tmp_path / "catalog.sqlite").iloc[-1]
    assert row["message"] == "SLURM array 9 task 0 of 1: stopped (SystemExit: 143)"
    assert (row["status"], row["blocks_computed"], row["verdict"]) == ("interrupted", 4, "FAIL")
    assert (row["points_ok"] + row["points_diverged"], row["points_pending"]) == (8, 4)
    assert json.loads(row["overrides"]) == ["+sweep=autapse", "cluster.array_tasks=1"]
    assert row["duration_s"] > 0


def test_an_array_of_more_tasks_than_blocks_is_trimmed_to_one_task_per_block(tmp_path: Path):
    cfg = config(tmp_path / "s.zarr", *ARRAY[:-1], "cluster.array_tasks=10", sweep=SWEEP)
    jobs = array.array_jobs(cfg, plan_run(cfg))
    assert (jobs.tasks, jobs.config.cluster.array_tasks) == (6, 6)
    assert jobs.notes == [
        "cluster.array_tasks=10 but the sweep has 6 blocks: submitting 6 tasks, one block each"
    ]
    assert "#SBATCH --array=0-5%6" in sbatch_script(jobs.array, jobs.tasks)


def test_a_share_and_a_whole_driver_exclude_each_other(tmp_path: Path):
    path = tmp_path / "s.zarr"
    cfg = config(path, *ARRAY, sweep=SWEEP)
    array.prepare_store(cfg, plan_run(cfg))
    before = {p.name: p.stat().st_mtime_ns for p in path.rglob("*")}
    store = open_sweep_store(path)
    with shares.held_share(store, 2, 60), pytest.raises(lease.LeaseHeld, match="task 2 \\(process"):
        run_sweep(config(path, sweep=SWEEP))
    with lease.held(S(path), 60), pytest.raises(lease.LeaseHeld, match="share 0 of the array"):
        array.run_share(cfg, 0, 3, "7")
    assert {p.name: p.stat().st_mtime_ns for p in path.rglob("*")} == before
    assert not (tmp_path / "catalog.sqlite").exists()  # refused runs are not recorded


def test_submit_refuses_without_an_array_before_writing(tmp_path: Path):
    done = run_driver(*SWEEP, "store.path=s.zarr", cwd=tmp_path, script=("-m", "pipeline.submit"))
    assert done.returncode == 2
    assert done.stderr == (
        "error: python -m pipeline.submit runs a sweep as a SLURM array: give cluster=slurm "
        "and cluster.array_tasks=N (got cluster=threads)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_directive_submitit_cannot_name_is_refused_before_writing(tmp_path: Path):
    """submitit takes sbatch options by name: a short option (-q high) has none."""
    directives = "cluster.job_extra_directives=['--comment=x','-q high']"
    done = run_driver(*SWEEP, *ARRAY, directives, "store.path=s.zarr", cwd=tmp_path,
                      script=("-m", "pipeline.submit"))  # fmt: skip
    assert (done.returncode, done.stderr) == (
        2,
        "error: the array's jobs take each of cluster.job_extra_directives in its long form "
        "(--qos=high, not -q high), got cluster.job_extra_directives=['--comment=x', '-q high']\n",
    )
    assert list(tmp_path.iterdir()) == []


def test_the_time_limit_is_whole_minutes_rounded_up_as_slurm_counts_it():
    """sbatch --time=0:30 runs with a limit of 1:00, and 1:00:01 with 1:01:00 (squeue %l)."""
    limits = ("45", "0:30", "1:00:00", "1:00:01", "2-3", "2-3:04", "2-3:04:05")
    assert [array.walltime_minutes(t) for t in limits] == [45, 1, 60, 61, 3060, 3064, 3065]


@pytest.mark.slow
def test_a_sweep_as_a_slurm_array_with_a_task_cancelled_equals_the_local_run(
    slurm: Path, tmp_path: Path
):
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    done = run_driver(*SWEEP, *ARRAY, "store.lease_seconds=3", f"store.path={path}",
                      cwd=tmp_path, script=("-m", "pipeline.submit"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"SLURM array (\d+) \(3 tasks\) and its finishing job (\d+)", done.stdout)
    assert found, done.stdout
    array_id, finish_id = found.groups()
    wait_until(lambda: job_pids(array_id, 0), 60, "task 0 to start", 0.002)
    signal_job(array_id, signal.SIGSTOP, 0)  # hold it, however fast its blocks are
    assert squeue("-j", f"{array_id}_0", "-o", "%T") == ["RUNNING"]
    subprocess.run(["scancel", f"{array_id}_0"], check=True)
    _wait_for_jobs(array_id, finish_id)
    logs = tmp_path / "s.zarr.logs"
    finish_log = (logs / f"finish-{finish_id}.out").read_text()
    assert "(complete, resumed;" in finish_log and "PASS" in finish_log, finish_log
    assert verify.inspect(S(path)).exit_code == 0
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    catalog = runs(tmp_path / "catalog.sqlite")
    messages = catalog["message"].fillna("").tolist()
    for task in (1, 2):
        assert f"SLURM array {array_id} task {task} of 3: its share done, 2 blocks computed" in (
            messages
        ), messages
    # What task 0 did not write, the finishing run computed.
    finishing = catalog.iloc[-1]
    assert finishing["opened"] == "resumed" and finishing["status"] == "complete"
    task0 = [m for m in messages if m.startswith(f"SLURM array {array_id} task 0 of 3: ")]
    assert len(task0) == 1, messages
    assert "stopped (SystemExit: 143)" in task0[0] or "ended without recording" in task0[0]
    assert finishing["blocks_computed"] == 2, messages  # the share task 0 did not write
    assert np.all(chunks.read_status(path) == STATUS["ok"])
    # The finishing job writes the report as a local run does, and records it.
    report = tmp_path / "s.report"
    assert f"report: {(report / 'index.html').resolve()}" in finish_log, finish_log
    assert sorted(p.name for p in report.glob("*.png")) == [
        "gain.png",
        "persistence.png",
        "tau_eff.png",
        "time_courses.png",
    ]
    assert finishing["report"] == str(report.resolve())
    page = (report / "index.html").read_text()
    assert f"<td>{catalog.index[-1]} in " in page and "PASS" in page  # the finishing run's page


def test_an_array_slurm_would_refuse_is_refused_before_anything_is_written(
    slurm: Path, tmp_path: Path
):
    done = run_driver(*SWEEP, *ARRAY, "cluster.partition=nosuch", "store.path=s.zarr",
                      cwd=tmp_path, script=("-m", "pipeline.submit"))  # fmt: skip
    assert (done.returncode, done.stderr) == (
        2,
        "error: SLURM refuses the array's tasks: invalid partition specified: nosuch; "
        "allocation failure: Invalid partition name specified; nothing was written\n",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_requeued_task_resumes_its_own_share_from_the_point_status(slurm: Path, tmp_path: Path):
    """Preemption: task 1, which wrote one of its blocks before, is killed and requeued by
    SLURM; run again, it computes only its other block, and the finishing job nothing."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    cfg = config(path, *ARRAY, "store.lease_seconds=3", sweep=SWEEP)
    plan = plan_run(cfg)
    array.prepare_store(cfg, plan)
    array.run_share(cfg, 1, 3, "earlier")  # the task's earlier run: both its blocks ...
    _, second = sorted(b.index for b in array.share_of(plan, 1, 3))
    block = next(b for b in plan.layout.blocks() if b.index == second)
    # ... one not yet
    chunks.write_status(_arrays(path, plan), plan.grid.dims, block, STATUS["pending"])
    done = run_driver(*SWEEP, *ARRAY, "store.lease_seconds=3", f"store.path={path}",
                      cwd=tmp_path, script=("-m", "pipeline.submit"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    array_id, finish_id = re.search(r"array (\d+) .* finishing job (\d+)", done.stdout).groups()
    wait_until(lambda: job_pids(array_id, 1), 60, "task 1 to start", 0.002)
    signal_job(array_id, signal.SIGSTOP, 1)
    subprocess.run(["scontrol", "requeue", f"{array_id}_1"], check=True)
    _start_requeued_now(f"{array_id}_1")
    _wait_for_jobs(array_id, finish_id)
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    catalog = runs(tmp_path / "catalog.sqlite")
    messages = catalog["message"].fillna("").tolist()
    assert f"SLURM array {array_id} task 1 of 3: its share done, 1 blocks computed" in messages
    assert catalog.iloc[-1]["opened"] == "resumed" and catalog.iloc[-1]["blocks_computed"] == 0


@pytest.mark.slow
def test_a_requeued_task_waits_for_its_begin_time_and_keeps_each_attempts_log(
    slurm: Path, tmp_path: Path
):
    """docs/cluster.md's requeue: ``scontrol requeue`` puts the task back PENDING with reason
    BeginTime about two minutes ahead; ``scontrol update ... StartTime=now`` starts it at
    once; its log keeps both attempts, each under its own header."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    done = run_driver(*SWEEP, *ARRAY, "store.lease_seconds=3", f"store.path={path}",
                      cwd=tmp_path, script=("-m", "pipeline.submit"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    array_id, finish_id = re.search(r"array (\d+) .* finishing job (\d+)", done.stdout).groups()
    log = tmp_path / "s.zarr.logs" / f"{array_id}_0_0_log.out"
    wait_until(lambda: log.exists() and "attempt 1 on" in log.read_text(), 60, "attempt 1", 0.002)
    signal_job(array_id, signal.SIGSTOP, 0)
    subprocess.run(["scontrol", "requeue", f"{array_id}_0"], check=True)
    task = f"{array_id}_0"
    wait_until(lambda: squeue("-j", task, "-o", "%T") == ["PENDING"], 60, f"{task} requeued")
    assert squeue("-j", task, "-o", "%r") == ["BeginTime"]
    begins = datetime.fromisoformat(squeue("-j", task, "-o", "%S")[0])
    assert 100 <= (begins - datetime.now()).total_seconds() <= 125  # SLURM's own delay
    subprocess.run(["scontrol", "update", f"JobId={task}", "StartTime=now"], check=True)
    _wait_for_jobs(array_id, finish_id)
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    text = log.read_text()
    assert re.findall(rf"SLURM array {array_id} task 0 of 3: attempt (\d+) on ", text) == [
        "1",
        "2",
    ], text


@pytest.mark.slow
def test_a_task_at_its_walltime_is_requeued_by_submitit_and_finishes_its_own_share(
    slurm: Path, tmp_path: Path
):
    """SLURM signals USR2 before a task's time limit (--signal=USR2@90); submitit requeues the
    task with the same arguments, and run again it computes its share itself: the finishing
    job computes nothing.  With a limit of 10 minutes submitit takes any USR2 for the time
    limit's (it counts on min(0.8 limit, limit - 10 min) of running), while SLURM's own comes
    8.5 minutes in; with a limit of one minute SLURM's own came (measured 20 s in) to every
    task, and kills one that has not yet set submitit's handler (USR2's default action)."""
    clean = clean_store(tmp_path)
    path = tmp_path / "s.zarr"
    done = run_driver(*SWEEP, *ARRAY, "cluster.walltime=00:10:00", "store.lease_seconds=3",
                      f"store.path={path}", cwd=tmp_path,
                      script=("-m", "pipeline.submit"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    array_id, finish_id = re.search(r"array (\d+) .* finishing job (\d+)", done.stdout).groups()
    # Hold task 1 once submitit handles USR2, before its share is computed, and signal it
    # as SLURM's timer would.
    wait_until(lambda: _catching(array_id, 1, signal.SIGUSR2), 60, "task 1's handler", 0.002)
    signal_job(array_id, signal.SIGSTOP, 1)
    subprocess.run(["scancel", "--signal=USR2", f"{array_id}_1"], check=True)
    signal_job(array_id, signal.SIGCONT, 1)
    _start_requeued_now(f"{array_id}_1")
    _wait_for_jobs(array_id, finish_id)
    assert verify.content_digest(S(path)) == verify.content_digest(S(clean))
    catalog = runs(tmp_path / "catalog.sqlite")
    task1 = catalog[catalog["message"].fillna("").str.startswith(f"SLURM array {array_id} task 1")]
    assert task1["message"].iloc[-1].endswith("blocks computed"), task1["message"].tolist()
    assert task1["blocks_computed"].sum() == 2, task1["message"].tolist()
    finishing = catalog.iloc[-1]
    assert (finishing["opened"], finishing["blocks_computed"]) == ("resumed", 0), catalog[
        ["opened", "status", "message", "blocks_computed"]
    ].to_string()


def _start_requeued_now(task: str) -> None:
    """Start the requeued array task ``task`` now: SLURM holds it back for a while (BeginTime)."""
    wait_until(lambda: squeue("-j", task, "-o", "%T") == ["PENDING"], 60, f"{task} requeued")
    subprocess.run(["scontrol", "update", f"JobId={task}", "StartTime=now"], check=True)


def _wait_for_jobs(*jobs: str) -> None:
    """Return once SLURM lists none of ``jobs`` (or after 150 s)."""
    deadline = time.monotonic() + 150
    while squeue("-j", ",".join(jobs)) and time.monotonic() < deadline:
        time.sleep(0.5)


def _catching(array_id: str, task: int, signum: int) -> bool:
    """Whether the Python process of task ``task`` of ``array_id`` handles ``signum``."""
    for pid in job_pids(array_id, task):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if command.startswith(sys.executable.encode()):
            caught = re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE)
            return caught is not None and bool(int(caught.group(1), 16) >> (signum - 1) & 1)
    return False


def _arrays(path: Path, plan) -> dict:
    """The store's block-filled arrays, opened for writing as the tasks open them."""
    return chunks.block_arrays(open_sweep_store(path).zarr_store(), plan.grid.dims)
