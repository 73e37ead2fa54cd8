"""A store on an S3-compatible object store (moto's server, started here on 127.0.0.1):
sweep, lease, a killed driver, a torn chunk, resume, and the same bytes as a local store."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import s3fs
import xarray as xr
from s3_server import S3Server, moto_server, running_s3_server
from store_helpers import SWEEP, config, run_driver, start_driver, wait_until

from pipeline import verify as verify_cli
from pipeline.catalog import runs
from pipeline.run.execute import run_sweep
from pipeline.store import integrity, lease, lifecycle, verify
from pipeline.store.kinds import open_sweep_store as S
from pipeline.store.kinds import open_sweep_store as locate
from pipeline.store.status import STATUS

KILLABLE = (*SWEEP, "store.lease_seconds=1")
"""The kill tests' sweep (6 blocks); a killed driver's lease lapses after a second."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    if moto_server() is None:
        pytest.skip("moto_server is not installed (pip install -e '.[test]' installs it)")
    with running_s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as running:
        yield running


@pytest.fixture
def s3(server: S3Server, monkeypatch, request) -> str:
    """A new bucket on the server, its URL; the AWS_* variables point this process at it."""
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    bucket = request.node.name.lower().replace("_", "-")[:50].strip("-")
    fs = s3fs.S3FileSystem(
        endpoint_url=server.endpoint, key="testing", secret="testing", skip_instance_cache=True
    )
    fs.mkdir(bucket)
    return f"s3://{bucket}"


@pytest.fixture(scope="module")
def local_digest(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], str]:
    """Content digests of local runs, by sweep: what every object-store run must equal."""
    digests = {}
    for sweep in (KILLABLE,):
        path = tmp_path_factory.mktemp("local") / "s.zarr"
        run_sweep(config(path, sweep=sweep))
        digests[sweep] = verify.content_digest(S(path))
    return digests


def _config(url: str, tmp_path: Path, *overrides: str, sweep=KILLABLE):
    return config(url, f"catalog.path={tmp_path / 'catalog.sqlite'}", *overrides, sweep=sweep)  # type: ignore[arg-type]


def test_sweep_on_s3_is_sound_and_bit_identical_to_the_local_store(
    s3: str, tmp_path: Path, local_digest
):
    url = f"{s3}/s.zarr"
    result = run_sweep(_config(url, tmp_path))
    assert result.counts == {"pending": 0, "ok": 12, "diverged": 0, "failed": 0}
    where = locate(url)
    assert verify.inspect(S(where)).exit_code == 0
    assert verify.content_digest(S(where)) == local_digest[KILLABLE]
    with xr.open_zarr(url) as ds:  # as an analyst opens it (credentials from AWS_*)
        assert float(ds.gain.sel(lam=0.5, tau=0.02, mode=0)) == pytest.approx(2.0, rel=1e-9)
    assert lease.holder(S(where)) is None  # released at the end
    again = run_sweep(_config(url, tmp_path))
    assert (again.opened, again.blocks_computed) == ("resumed", 0)


def test_second_driver_is_refused_while_the_lease_is_held(s3: str, tmp_path: Path):
    url = locate(f"{s3}/s.zarr")
    held = lease.acquire(S(url), seconds=60)
    with pytest.raises(lease.LeaseHeld, match=r"is being written by another driver \(process"):
        run_sweep(_config(str(url), tmp_path))
    assert not url.exists()  # nothing was written
    lease.check(S(url), held.token)
    held.release()
    assert lease.holder(S(url)) is None


def test_two_drivers_racing_for_a_lapsed_lease_cannot_both_take_it(s3: str):
    """Put-if-absent: of two takeovers that read the same lapsed record, one fails."""
    url = locate(f"{s3}/s.zarr")
    first = lease.acquire(S(url), seconds=0.2)
    time.sleep(0.3)
    second = lease.acquire(S(url), seconds=60)  # takes over the lapsed lease
    with pytest.raises(lease.LeaseLost, match="lapsed and was taken over"):
        first.renew()
    with pytest.raises(lease.LeaseLost):
        lease.check(S(url), first.token)
    lease.check(S(url), second.token)
    fs, folder = url.fs(), f"{url.root}.lease"
    # A third driver that read the records before the takeover tries the same number:
    number, _ = lease.object_lease.latest(fs, folder)
    with pytest.raises(FileExistsError):
        lease.object_lease.create(fs, folder, number, {"token": "late"})
    lease.check(S(url), second.token)


def _status_keys(url: str) -> list[str]:
    """The status chunks written so far."""
    return [k for k in locate(url).list_keys() if k.startswith("status/c.")]


@pytest.mark.slow
def test_driver_killed_mid_sweep_then_resume_equals_the_local_store(
    s3: str, server: S3Server, tmp_path: Path, local_digest
):
    url = f"{s3}/s.zarr"
    driver = start_driver(
        *KILLABLE,
        f"store.path={url}",
        f"catalog.path={tmp_path / 'catalog.sqlite'}",
        cwd=tmp_path,
        env=server.env,
    )
    wait_until(lambda: bool(_status_keys(url)) or driver.poll() is not None, 120, "a block")
    driver.send_signal(signal.SIGKILL)
    assert driver.wait(60) == -signal.SIGKILL, (tmp_path / "driver.log").read_text()
    where = locate(url)
    done = int(np.isin(integrity.scan(S(where)).status, (STATUS["ok"],)).sum()) // 2
    assert 0 < done <= 6
    holder = lease.object_lease.latest(where.fs(), f"{where.root}.lease")[1]
    time.sleep(max(0.0, holder["expires"] - time.time() + 0.05))  # the killed lease lapses
    result = run_sweep(_config(url, tmp_path))
    assert result.opened == "resumed" and result.blocks_computed == 6 - done
    assert verify.inspect(S(where)).exit_code == 0
    assert verify.content_digest(S(where)) == local_digest[KILLABLE]


def test_torn_chunk_on_s3_is_found_and_recomputed(s3: str, tmp_path: Path, local_digest):
    url = f"{s3}/s.zarr"
    run_sweep(_config(url, tmp_path))
    where = locate(url)
    fs = where.fs()
    key = f"{where.root}/rate/c.2.0.0.0"
    fs.pipe_file(key, fs.cat_file(key)[:100])
    report = verify.inspect(S(where))
    assert report.exit_code == 2
    assert report.problems[0].startswith("rate/c.2.0.0.0 does not decode")
    result = run_sweep(_config(url, tmp_path))
    assert result.blocks_computed == 1
    assert verify.content_digest(S(where)) == local_digest[KILLABLE]


def test_verify_command_reads_an_s3_store(s3: str, tmp_path: Path, capsys, local_digest):
    url = f"{s3}/s.zarr"
    run_sweep(_config(url, tmp_path))
    assert verify_cli.main([url, "--digest"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"store: {url}"
    assert out[-1] == f"digest: {local_digest[KILLABLE]}"
    attrs = json.loads(locate(url).fs().cat_file(f"{locate(url).root}/zarr.json"))["attributes"]
    assert "storage_options" not in attrs["config"]  # execution settings stay out of the results


def _cut_short_copy(url: str) -> tuple[s3fs.S3FileSystem, str]:
    """The store at ``url`` as a driver killed while copying it into place leaves it: the
    whole store staged beside it, half its keys at ``url``, no root metadata there."""
    where = locate(url)
    fs, root = where.fs(), where.root
    staged = f"{root.rsplit('/', 1)[0]}/.{root.rsplit('/', 1)[1]}.creating-0123456789ab"
    fs.copy(root, staged, recursive=True)
    keys = where.list_keys()
    kept = [k for k in keys[: len(keys) // 2] if k not in ("zarr.json", "zarr.lease")]
    fs.rm([f"{root}/{k}" for k in keys if k not in kept])
    fs.invalidate_cache()
    return fs, staged


def test_a_copy_into_place_cut_short_is_redone_by_the_next_driver(
    s3: str, tmp_path: Path, local_digest
):
    url = f"{s3}/s.zarr"
    run_sweep(_config(url, tmp_path))
    fs, staged = _cut_short_copy(url)
    result = run_sweep(_config(url, tmp_path))
    assert (result.opened, result.blocks_computed) == ("created", 6)
    assert verify.content_digest(S(locate(url))) == local_digest[KILLABLE]
    assert not fs.exists(staged)


def test_a_prefix_with_a_key_no_staged_store_has_is_refused_and_kept(s3: str, tmp_path: Path):
    url = f"{s3}/s.zarr"
    run_sweep(_config(url, tmp_path))
    fs, _ = _cut_short_copy(url)
    root = locate(url).root
    fs.pipe_file(f"{root}/notes.txt", b"mine")
    with pytest.raises(lifecycle.StoreError, match="is not a store of this pipeline"):
        run_sweep(_config(url, tmp_path))
    assert fs.cat_file(f"{root}/notes.txt") == b"mine"


NO_CREDENTIALS = {"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
                  "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip
"""With no AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE, botocore finds no
credentials: no files, no instance's."""


def test_missing_credentials_are_refused_naming_the_variables_to_set(
    s3: str, server: S3Server, tmp_path: Path, monkeypatch
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    env = {"AWS_ENDPOINT_URL": server.endpoint, **NO_CREDENTIALS}
    for script in (("-m", "pipeline"), ("-m", "pipeline.submit")):
        extra = ("cluster=slurm", "cluster.array_tasks=2") if script[1] == "pipeline.submit" else ()
        done = run_driver(*SWEEP, *extra, f"store.path={s3}/s.zarr", cwd=tmp_path, env=env,
                          script=script)  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert done.stderr == (
            f"error: store.path={s3}/s.zarr: no credentials for the object store (Unable to "
            "locate credentials): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
            "AWS_PROFILE, a profile of ~/.aws/credentials), or give them in "
            "store.storage_options (key, secret); nothing was written\n"
        )
    fs = s3fs.S3FileSystem(endpoint_url=server.endpoint, key="testing", secret="testing",
                           skip_instance_cache=True)  # fmt: skip
    assert list(tmp_path.iterdir()) == [] and fs.ls(s3) == []


def test_an_s3_run_is_in_the_default_catalog_and_its_report_beside_it(
    s3: str, server: S3Server, tmp_path: Path
):
    """With no catalog.path, the run is recorded where python -m pipeline.catalog looks
    (results/catalog.sqlite), and its report is written beside that catalog, or into
    report_dir."""
    done = run_driver(*SWEEP, f"store.path={s3}/s.zarr", cwd=tmp_path, env=server.env)
    assert done.returncode == 0, done.stderr
    report = tmp_path / "results" / "s.report"
    assert f"report: {report / 'index.html'}" in done.stdout.splitlines()
    assert sorted(p.name for p in report.iterdir()) == ["gain.png", "index.html",
                                                         "persistence.png", "tau_eff.png",
                                                         "time_courses.png"]  # fmt: skip
    assert f"<td>{s3}/s.zarr</td>" in (report / "index.html").read_text()
    listed = run_driver("list", cwd=tmp_path, script=("-m", "pipeline.catalog"))
    assert listed.returncode == 0 and f"{s3}/s.zarr" in listed.stdout, listed.stdout
    row = runs(tmp_path / "results" / "catalog.sqlite").iloc[-1]
    assert (row["status"], row["verdict"], row["report"]) == ("complete", "PASS", str(report))
    again = run_driver(*SWEEP, f"store.path={s3}/s.zarr", "report_dir=pages", cwd=tmp_path,
                       env=server.env)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"report: {tmp_path / 'pages' / 'index.html'}" in again.stdout.splitlines()
