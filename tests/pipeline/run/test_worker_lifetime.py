"""Workers retire before their job's walltime; a run with no worker stops, saying why.

No SLURM here: the worker jobs' options as dask-jobqueue takes them, the bad
values refused, and the driver's watch of a cluster with no worker (a
``distributed`` client with none connected).  tests/pipeline/run/test_slurm.py
runs the same on a real SLURM.
"""

from __future__ import annotations

import logging

import pytest
from sweeps import compose_config

from pipeline.config.schema import ConfigError, walltime_seconds
from pipeline.run import backends
from pipeline.run.slurm import job_options, lifetime

SLURM = ("+sweep=autapse", "cluster=slurm")


def _cluster(*overrides: str):
    return compose_config([*SLURM, *overrides]).cluster


@pytest.mark.parametrize(
    ("walltime", "expected"),
    [
        # a tenth of the walltime, at least 20 s, at most 5 min; the stagger a quarter of
        # what is left, at most a tenth of the lifetime
        ("00:01:00", (40.0, 4.0)),
        ("01:00:00", (3300.0, 75.0)),
        ("00:10:00", (540.0, 15.0)),
        ("2-00:00:00", (172500.0, 75.0)),
    ],
)
def test_a_worker_retires_a_margin_before_its_walltime(walltime, expected):
    life, stagger = lifetime(_cluster(f"cluster.walltime={walltime}"))
    assert (life, stagger) == expected
    assert life + stagger < walltime_seconds(walltime)  # the last one leaves in time


def test_the_lifetime_given_is_taken_and_passed_to_every_worker():
    options = job_options(_cluster("cluster.walltime=00:30:00", "cluster.worker_lifetime=12s"))
    assert options["worker_extra_args"] == ["--lifetime=12s", "--lifetime-stagger=1s"]
    assert options["nanny"] is False
    assert options["job_name"] == "rate-sweeps-autapse"  # named after the sweep


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("cluster.worker_lifetime=1h", "cluster.worker_lifetime=1h must be above 0 and below "
         "cluster.walltime=01:00:00"),
        ("cluster.worker_lifetime=soon", "cluster.worker_lifetime must be a duration such as "
         "50m or 90s, got cluster.worker_lifetime='soon'"),
        ("cluster.worker_wait=0", "cluster.worker_wait must be > 0 seconds"),
        ("cluster.job_name='a b'", "cluster.job_name must be letters"),
    ],
)  # fmt: skip
def test_bad_lifetimes_and_waits_are_refused_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        _cluster(override)


def test_walltimes_in_every_slurm_format_in_seconds():
    assert [walltime_seconds(t) for t in ("45", "1:30", "1:00:00", "1-2", "1-2:3", "1-2:3:4")] == [
        2700, 90, 3600, 93600, 93780, 93784
    ]  # fmt: skip


class _NoWorkers:
    """A client whose scheduler has no worker (the jobs wait in SLURM's queue)."""

    def nthreads(self):
        return {}


def test_with_no_worker_the_driver_says_it_waits_then_stops(monkeypatch, caplog):
    clock = [0.0]
    monkeypatch.setattr(backends.time, "monotonic", lambda: clock[0])
    watch = backends._Watch(_NoWorkers(), backends.WorkerWait(seconds=90.0, every=30.0))
    with caplog.at_level(logging.INFO, logger="pipeline.run.backends"):
        for now in range(0, 90, 10):
            clock[0] = float(now)
            watch.look(0)
        clock[0] = 90.0
        with pytest.raises(backends.NoWorkers, match=r"no Dask worker connected for 90 s"):
            watch.look(0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"waiting for a worker: none connected for {t} s; the run stops at 90 s "
        "(cluster.worker_wait)"
        for t in (30, 60, 90)
    ]


def test_a_cluster_the_run_did_not_start_is_waited_for_without_end():
    """cluster=distributed at an address: its workers are their owner's to start."""
    assert (
        backends.WorkerWait.of(
            compose_config(["+sweep=autapse", "cluster=distributed"]).cluster
        ).seconds
        is None
    )
