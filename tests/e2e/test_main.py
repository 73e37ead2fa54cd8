"""``python -m pipeline``: every bad input is refused, named, and leaves the disk as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import SMALL, config, copy_of, file_bytes, file_ids, hydra_config

from pipeline.__main__ import REFUSED, execute
from pipeline.model.networks import NETWORKS
from pipeline.run.execute import run_sweep
from pipeline.store import lease, lifecycle, verify
from pipeline.store.kinds import open_sweep_store as S


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results directory holding a complete store, its catalog and its lease file."""
    results = tmp_path_factory.mktemp("workspace") / "results"
    run_sweep(config(results / "s.zarr"))
    (results / "mine").mkdir()
    (results / "mine" / "notes.txt").write_text("a user's own directory")
    (results / "file.zarr").write_text("a user's own file")
    return results


@pytest.fixture
def results(workspace: Path, tmp_path: Path) -> Path:
    return copy_of(workspace, tmp_path)


def _snapshot(path: Path) -> tuple[dict, dict]:
    return file_bytes(path), file_ids(path)


EMPTY_SWEEP = "# @package _global_\nsweep:\n  name: empty\n  grid: {}\n"

BAD_INPUTS = {
    # case: (overrides, sweep, message)
    "tau <= 0": (
        ["sweep.grid.tau=[0.02,0,0.1]"],
        SMALL,
        "sweep.grid.tau must be > 0 s, got sweep.grid.tau=[0.02, 0.0, 0.1]",
    ),
    "negative tau": (
        ["sweep.grid.tau=[-0.01]"],
        SMALL,
        "sweep.grid.tau must be > 0 s, got sweep.grid.tau=[-0.01]",
    ),
    "recording step 0": (["record.dt=0"], SMALL, "record.dt must be > 0 s, got record.dt=0.0"),
    "recording step < 0": (
        ["record.dt=-0.001"],
        SMALL,
        "record.dt must be > 0 s, got record.dt=-0.001",
    ),
    "input ends before it starts": (
        ["stimulus.offset=0.01"],
        SMALL,
        "stimulus.offset must come after stimulus.onset=0.05, got stimulus.offset=0.01",
    ),
    "empty grid axis": (
        ["sweep.grid.lam=[]"],
        SMALL,
        "sweep.grid.lam is empty: give at least one value, e.g. sweep.grid.lam=[1.0]",
    ),
    "empty grid": (
        [],  # the sweep file below has grid: {}
        ("+sweep=empty",),
        "sweep.grid is empty: give at least sweep.grid.tau",
    ),
    "duplicate grid values": (
        ["sweep.grid.lam=[0.5,0.9,0.5]"],
        SMALL,
        "sweep.grid.lam has duplicate values [0.5]: each value of a dimension must be unique",
    ),
    "NaN grid value": (
        ["sweep.grid.lam=[0.5,nan]"],
        SMALL,
        "sweep.grid.lam must hold finite numbers, got sweep.grid.lam=[0.5, nan]",
    ),
    "input direction of the wrong length": (
        ["network.input_direction=[1,0,0]"],
        ("+sweep=matrix",),
        "network.input_direction must have 2 entries, one per neuron of network.weights "
        "(2 x 2), got 3: network.input_direction=[1.0, 0.0, 0.0]",
    ),
    "non-square weights": (
        ["network.weights=[[0,0.8,0],[0.8,0,0]]"],
        ("+sweep=matrix",),
        "network.weights must be square (n x n), got 2 rows of lengths [3, 3]: "
        "network.weights=[[0, 0.8, 0], [0.8, 0, 0]]",
    ),
    "ragged weights": (
        ["network.weights=[[0,0.8],[0.8]]"],
        ("+sweep=matrix",),
        "network.weights must be square (n x n), got 2 rows of lengths [2, 1]: "
        "network.weights=[[0, 0.8], [0.8]]",
    ),
    "weights sized unlike the input direction": (
        ["network.weights=[[0,0.8,0],[0.8,0,0.8],[0,0.8,0]]"],
        ("+sweep=matrix",),
        "network.input_direction must have 3 entries, one per neuron of network.weights "
        "(3 x 3), got 2: network.input_direction=[1.0, 0.0]",
    ),
    "unknown network": (
        ["network.kind=ring"],
        SMALL,
        f"network.kind='ring' is not a known network (known: {sorted(NETWORKS)})",
    ),
    "grid parameter the network does not take": (
        ["+sweep.grid.coupling=[0.5]"],
        SMALL,
        "sweep.grid.coupling is not a parameter of network 'autapse' (it takes amplitude, "
        "lam, tau)",
    ),
    "missing mandatory value": (
        ["network=matrix"],
        SMALL,
        "network.weights is missing: give it a value (network.weights=...)",
    ),
    "missing sweep name": (
        ["sweep.name=???"],
        SMALL,
        "sweep.name is missing: give it a value (sweep.name=...)",
    ),
    "no sweep chosen": (
        [],
        (),
        "no sweep chosen: add +sweep=NAME (for example +sweep=autapse); "
        "the sweeps are the files in conf/sweep/",
    ),
    "store URL of a scheme the pipeline does not write": (
        ["store.path=gs://bucket/x.zarr"],
        SMALL,
        "store.path='gs://bucket/x.zarr': gs:// is not supported (the store's one-writer lease "
        "needs a create-if-absent write that the pipeline uses only on S3-compatible stores); "
        "nothing was written. Use a path, a file:// URL or an s3:// URL",
    ),
    "unknown Zarr format": (
        ["store.zarr_format=4"],
        SMALL,
        "store.zarr_format must be 2 or 3, got store.zarr_format=4",
    ),
    "lease of zero seconds": (
        ["store.lease_seconds=0"],
        SMALL,
        "store.lease_seconds must be > 0 s, got store.lease_seconds=0.0",
    ),
    "slurm walltime": (
        ["cluster=slurm", "cluster.walltime=1h"],
        SMALL,
        "cluster.walltime must be a SLURM time (HH:MM:SS, or D-HH:MM:SS), "
        "got cluster.walltime='1h'",
    ),
    "slurm memory": (
        ["cluster=slurm", "cluster.memory=4"],
        SMALL,
        "cluster.memory must be a size such as 4GB, got cluster.memory='4'",
    ),
    "slurm processes beyond cores": (
        ["cluster=slurm", "cluster.cores=2", "cluster.processes=4"],
        SMALL,
        "cluster.processes=4 must not exceed cluster.cores=2: each worker process needs a core",
    ),
    "slurm jobs": (
        ["cluster=slurm", "cluster.jobs=0"],
        SMALL,
        "cluster.jobs must be >= 1, got cluster.jobs=0",
    ),
    "slurm adaptive half given": (
        ["cluster=slurm", "cluster.adaptive_maximum_jobs=4"],
        SMALL,
        "adaptive scaling needs both cluster.adaptive_minimum_jobs and "
        "cluster.adaptive_maximum_jobs, got None and 4",
    ),
    "slurm adaptive minimum above maximum": (
        ["cluster=slurm", "cluster.adaptive_minimum_jobs=5", "cluster.adaptive_maximum_jobs=4"],
        SMALL,
        "cluster.adaptive_minimum_jobs must lie in 0..cluster.adaptive_maximum_jobs and the "
        "maximum be >= 1, got cluster.adaptive_minimum_jobs=5, cluster.adaptive_maximum_jobs=4",
    ),
    "slurm directive without its dashes": (
        ["cluster=slurm", "cluster.job_extra_directives=['qos=high']"],
        SMALL,
        "each of cluster.job_extra_directives is an sbatch option such as --qos=high, "
        "got cluster.job_extra_directives=['qos=high']",
    ),
    "slurm partition that is an option": (
        ["cluster=slurm", "cluster.partition=-p"],
        SMALL,
        "cluster.partition must be a name or null, got cluster.partition='-p'",
    ),
    "slurm n_workers": (
        ["cluster=slurm", "cluster.n_workers=4"],
        SMALL,
        "cluster.n_workers=4 does not apply to cluster=slurm: the workers are "
        "cluster.jobs x cluster.processes",
    ),
    "slurm scheduler without its settings": (
        ["cluster.scheduler=slurm"],
        SMALL,
        "cluster.scheduler='slurm' needs its settings: choose cluster=slurm instead",
    ),
    "typo added with +": (
        ["+stimulus.amplitud=2"],
        SMALL,
        "stimulus.amplitud is not a config key (did you mean stimulus.amplitude?); "
        "nothing was written",
    ),
    "key added to another section": (
        ["+record.amplitude=2"],
        SMALL,
        "record.amplitude is not a config key (did you mean stimulus.amplitude?); "
        "nothing was written",
    ),
    "top-level typo added with +": (
        ["+repot=false"],
        SMALL,
        "repot is not a config key (did you mean report?); nothing was written",
    ),
    "key of another network kind": (
        ["+network.eigenvalues=[0.5]"],
        SMALL,
        "network.eigenvalues is not a config key (network takes kind, transfer, ceiling); "
        "nothing was written",
    ),
    "scheduler address without protocol": (
        ["cluster=distributed", "cluster.address=localhost:8786"],
        SMALL,
        "cluster.address must be a scheduler's address with its protocol (tcp://host:8786), "
        "got cluster.address='localhost:8786'",
    ),
    "scheduler address and workers": (
        ["cluster=distributed", "cluster.address=tcp://127.0.0.1:8786", "cluster.n_workers=2"],
        SMALL,
        "cluster.n_workers=2 sizes a local cluster; the cluster at tcp://127.0.0.1:8786 has "
        "its own workers: leave cluster.n_workers unset",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_config_value_is_refused_and_nothing_is_written(case: str, results: Path):
    overrides, sweep, message = BAD_INPUTS[case]
    extra = results.parent / "extra_conf"
    (extra / "sweep").mkdir(parents=True)
    (extra / "sweep" / "empty.yaml").write_text(EMPTY_SWEEP)
    before = _snapshot(results)
    outcome = execute(
        hydra_config(
            results / "s.zarr", f"hydra.searchpath=[file://{extra}]", *overrides, sweep=sweep
        )
    )
    assert (outcome.code, outcome.errors, outcome.lines) == (REFUSED, [f"error: {message}"], [])
    assert _snapshot(results) == before


@pytest.mark.parametrize("typo", ["+stimulus.amplitud=2", "stimulus.amplitud=2"])
def test_unknown_key_is_refused_naming_the_closest_with_or_without_plus(
    results: Path, run_cli, typo: str
):
    """Hydra's hint for an unknown key (use +key=value) leads to the same refusal, exit 2."""
    before = _snapshot(results)
    done = run_cli(*SMALL, typo, f"store.path={results / 's.zarr'}", cwd=results.parent)
    assert done.returncode == REFUSED, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "error: stimulus.amplitud is not a config key (did you mean stimulus.amplitude?); "
        "nothing was written"
    )
    assert _snapshot(results) == before


def test_unknown_key_refuses_every_job_of_a_multirun(results: Path, run_cli):
    before = _snapshot(results)
    done = run_cli(
        "-m",
        *SMALL,
        "+stimulus.amplitud=2",
        "sweep.grid.tau=[0.02],[0.05]",
        f"store.path={results / 's.zarr'}",
        f"hydra.sweep.dir={results.parent / 'multirun'}",
        cwd=results.parent,
    )
    assert done.returncode == 1, done.stderr
    assert "multirun: 2 of 2 jobs failed:" in done.stderr
    refusal = "error: stimulus.amplitud is not a config key (did you mean stimulus.amplitude?)"
    assert done.stderr.count(f"    {refusal}; nothing was written") == 2
    assert done.stderr.count("): exit 2") == 2
    assert _snapshot(results) == before


def test_file_url_is_the_folder_it_names(results: Path):
    outcome = execute(hydra_config(results / "s.zarr", f"store.path=file://{results / 'u.zarr'}"))
    assert outcome.code == 0, outcome.errors
    assert outcome.lines[0].startswith(f"store: {results / 'u.zarr'} (complete, created")
    assert verify.inspect(S(results / "u.zarr")).exit_code == 0


@pytest.mark.parametrize(("target", "name"), [("mine", "a directory"), ("file.zarr", "a file")])
def test_store_path_that_is_not_a_pipeline_store_is_refused(results: Path, target: str, name):
    before = _snapshot(results)
    outcome = execute(hydra_config(results / target))
    assert outcome.code == REFUSED
    assert outcome.errors == [
        f"error: store.path={results / target} exists and is not a store of this pipeline; "
        "nothing was written. Choose another store.path."
    ]
    assert _snapshot(results) == before


def test_changed_config_is_refused_with_what_differs_and_what_to_do(results: Path):
    before = _snapshot(results)
    outcome = execute(
        hydra_config(results / "s.zarr", "stimulus.amplitude=2", "sweep.grid.tau=[0.02,0.05]")
    )
    assert outcome.code == REFUSED
    assert outcome.errors == [
        f"error: store.path={results / 's.zarr'} holds a sweep of a different config or "
        "code, so it cannot be resumed:\n"
        "  stimulus.amplitude: 1.0 in the store, 2.0 now\n"
        "  sweep.grid.tau: [0.02, 0.05, 0.1] in the store, [0.02, 0.05] now\n"
        "Nothing was written. Run with another store.path=... for a new store, or with "
        "store.overwrite=true to replace this one."
    ]
    assert _snapshot(results) == before


def test_execution_settings_do_not_change_the_fingerprint(results: Path):
    """Resuming with another scheduler, lease or catalog is the same sweep."""
    outcome = execute(
        hydra_config(
            results / "s.zarr",
            "cluster=processes",
            "store.lease_seconds=5",
            f"catalog.path={results / 'other.sqlite'}",
        )
    )
    assert outcome.code == 0
    assert outcome.lines[0].startswith(f"store: {results / 's.zarr'} (complete, resumed; run 1 in")


def test_store_held_by_another_driver_is_refused(results: Path):
    held = lease.acquire(S(results / "s.zarr"), seconds=60)
    before = _snapshot(results)
    outcome = execute(hydra_config(results / "s.zarr"))
    assert outcome.code == REFUSED
    assert outcome.errors[0].startswith(
        f"error: store.path={results / 's.zarr'} is being written by another driver (process "
    )
    assert "Nothing was written" in outcome.errors[0]
    assert _snapshot(results) == before
    lease.check(S(results / "s.zarr"), held.token)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["+sweep=ring"], "Could not find 'sweep/ring'"),
        (["+sweep=autapse", "stimulus.colour=red"], "Key 'colour' not in 'StimulusConfig'"),
        (["+sweep=autapse", "record.dt=fast"], "Value 'fast' of type 'str' could not be converted"),
    ],
    ids=["unknown sweep", "unknown key", "wrong type"],
)
def test_configs_hydra_refuses_exit_with_the_refusal_code(results: Path, run_cli, args, message):
    before = _snapshot(results)
    done = run_cli(*args, f"store.path={results / 's.zarr'}", cwd=results.parent)
    assert done.returncode == REFUSED, done.stderr
    assert message in done.stderr
    assert _snapshot(results) == before


def test_changed_code_is_refused_naming_both_versions(results: Path, monkeypatch):
    import pipeline.run.execute

    def edited():
        return {"commit": "0123456789ab" * 3 + "cdef", "dirty": True, "diff": "feed" * 16}

    monkeypatch.setattr(pipeline.run.execute.provenance, "code_version", edited)
    before = _snapshot(results)
    outcome = execute(hydra_config(results / "s.zarr"))
    assert outcome.code == REFUSED
    stored = lifecycle.root_attrs(S(results / "s.zarr"))["code"]
    stored_text = f"commit {stored['commit']}" + (
        f" with uncommitted changes {stored['diff'][:12]}" if stored["dirty"] else ""
    )
    assert (
        f"  code: {stored_text} in the store, commit {edited()['commit']} with uncommitted "
        "changes feedfeedfeed now\n" in outcome.errors[0]
    )
    assert _snapshot(results) == before


def test_catalog_that_cannot_be_written_is_refused_before_the_store_is_touched(results: Path):
    before = _snapshot(results / "s.zarr")
    outcome = execute(hydra_config(results / "s.zarr", f"catalog.path={results / 'mine'}"))
    assert outcome.code == REFUSED
    assert outcome.errors[0].startswith(
        f"error: the run catalog {results / 'mine'} cannot be written"
    )
    assert _snapshot(results / "s.zarr") == before
