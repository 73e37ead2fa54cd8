"""The site's keys of cluster=slurm as sbatch options of every job (the worker jobs, the array's
tasks, its finishing job, the driver's job), the finishing job's own resources, and the dry run
that writes the job scripts without submitting them."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import SWEEP, config, run_driver

from pipeline.adapters import submitit as submitit_adapter
from pipeline.run import array
from pipeline.run.backends import tunnel
from pipeline.run.plan import plan_run

SITE = ("cluster=slurm", "cluster.partition=debug", "cluster.memory=1GB", "cluster.qos=high",
        "cluster.mail_user=me@example.org", "cluster.mail_type='END,FAIL'")  # fmt: skip
"""A site's keys: a partition, a memory, a QOS and mail on the end or failure of each job."""

ARRAY = ("cluster.array_tasks=3", "cluster.array_parallelism=2", "cluster.finish.walltime=02:00:00",
         "cluster.finish.memory=4GB", "cluster.finish.cores=2")  # fmt: skip
"""Three tasks, at most two at a time (SWEEP's 6 blocks), and a finishing job of its own size."""


def _directives(script: str) -> set[str]:
    return {line.split(None, 1)[1] for line in script.splitlines() if line.startswith("#SBATCH")}


def test_the_dry_run_writes_every_job_script_with_the_sites_keys_and_submits_nothing(
    tmp_path: Path,
):
    done = run_driver(*SWEEP, *SITE, *ARRAY, "store.path=results/s.zarr", cwd=tmp_path,
                      script=("-m", "pipeline.submit", "--dry-run"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "results" / "s.zarr.logs" / "job-scripts"
    assert done.stdout.splitlines()[:3] == [str(folder / n) for n in ("worker.sh", "array.sh",
                                                                       "finish.sh")]  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == ["array.sh", "finish.sh", "worker.sh"]
    assert not (tmp_path / "results" / "s.zarr").exists()  # no store: nothing to submit for
    site = {"--qos=high", "--mail-user=me@example.org", "--mail-type=END,FAIL"}
    worker = _directives((folder / "worker.sh").read_text())
    assert site | {"-p debug", "-t 01:00:00", "--mem=954M", "--cpus-per-task=1"} <= worker
    tasks = _directives((folder / "array.sh").read_text())
    # 1 GB (10^9 bytes) is 953 MiB, as sbatch counts megabytes; 60 minutes, the walltime.
    assert site | {"--array=0-2%2", "--time=60", "--mem=953M", "--cpus-per-task=1",
                   "--partition=debug", "--requeue"} <= tasks  # fmt: skip
    finishing = _directives((folder / "finish.sh").read_text())
    assert site | {"--time=120", "--mem=3814M", "--cpus-per-task=2"} <= finishing
    assert "--requeue" not in finishing and not any(d.startswith("--array") for d in finishing)


def test_the_finishing_job_runs_a_thread_per_core_of_its_own(tmp_path: Path):
    cfg = config(tmp_path / "s.zarr", *SITE, *ARRAY, sweep=SWEEP)
    command = array.finish_command(cfg, [*SWEEP, "cluster=slurm", "cluster.array_tasks=3"])
    assert command[-2:] == ["cluster=threads", "cluster.n_workers=2"]
    assert "cluster=slurm" not in command and "cluster.array_tasks=3" not in command
    default = config(tmp_path / "s.zarr", *SITE, "cluster.array_tasks=3", "cluster.cores=3",
                     sweep=SWEEP)  # fmt: skip
    assert array.finish_command(default, [])[-1] == "cluster.n_workers=3"  # a task's cores


def test_the_fallback_script_asks_the_same_resources(tmp_path: Path, monkeypatch):
    """Without submitit's private text (RATE_SWEEPS_ADAPTERS=off) the script is rendered from
    the same options: every one of its directives is in submitit's own script."""
    cfg = config(tmp_path / "s.zarr", *SITE, *ARRAY, sweep=SWEEP)
    jobs = array.array_jobs(cfg, plan_run(cfg))
    for executor, tasks in ((jobs.array, 3), (jobs.finishing, None)):
        fast = _directives(submitit_adapter.sbatch_script(executor, tasks))
        monkeypatch.setattr(submitit_adapter, "FAST", False)
        fallback = _directives(submitit_adapter.sbatch_script(executor, tasks))
        monkeypatch.setattr(submitit_adapter, "FAST", True)
        assert fallback <= fast and "--qos=high" in fallback, (fallback, fast)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("cluster.mail_type=SOMETIMES",
         "cluster.mail_type must be one or more of NONE, BEGIN, END, FAIL, REQUEUE, ALL, "
         "INVALID_DEPEND, STAGE_OUT, TIME_LIMIT, TIME_LIMIT_90, TIME_LIMIT_80, TIME_LIMIT_50, "
         "ARRAY_TASKS (comma-separated), got cluster.mail_type='SOMETIMES'"),
        ("cluster.array_parallelism=0",
         "cluster.array_parallelism must be >= 1 or null, got cluster.array_parallelism=0"),
        ("cluster.finish.walltime=2h",
         "cluster.finish.walltime must be a SLURM time (HH:MM:SS, or D-HH:MM:SS) or null, "
         "got cluster.finish.walltime='2h'"),
        ("cluster.driver.memory=4",
         "cluster.driver.memory must be a size such as 4GB or null, got cluster.driver.memory='4'"),
        ("cluster.qos=-q", "cluster.qos must be a name or null, got cluster.qos='-q'"),
    ],
)  # fmt: skip
def test_a_bad_site_key_is_refused_naming_it_before_anything_is_written(
    tmp_path: Path, override: str, message: str
):
    done = run_driver(*SWEEP, "cluster=slurm", "cluster.array_tasks=3", override, cwd=tmp_path,
                      script=("-m", "pipeline.submit", "--dry-run"))  # fmt: skip
    assert (done.returncode, done.stderr) == (2, f"error: {message}\n")
    assert list(tmp_path.iterdir()) == []


def test_the_dashboard_is_printed_with_the_ssh_tunnel_through_the_login_node():
    link = "http://10.1.2.3:40123/status"
    assert tunnel(link, {"SLURM_SUBMIT_HOST": "login1"}) == (
        "to see it from your own machine: ssh -N -L 8787:10.1.2.3:40123 login1 "
        "and open http://localhost:8787/status"
    )
