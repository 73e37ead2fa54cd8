"""Where a result came from: code version, packages, host, and the config's fingerprint."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PACKAGES = (
    "numpy",
    "scipy",
    "xarray",
    "zarr",
    "numcodecs",
    "dask",
    "distributed",
    "hydra-core",
    "omegaconf",
)
"""Packages whose versions every store records."""

SOURCE_ROOT = Path(__file__).resolve().parents[2]


def now() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(SOURCE_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


CODE_PATHS = ("pipeline", "analysis")
"""The packages whose uncommitted changes make the code version dirty."""


def code_version() -> dict[str, Any]:
    """The commit of the source tree and whether its code has uncommitted changes.

    Dirty code (tracked files under :data:`CODE_PATHS` that differ from the
    commit) also gets ``diff``, the SHA-256 of those changes, so that a
    fingerprint tells two different edits of one commit apart; edits to the
    README, tests or configs do not count (configs are fingerprinted as
    config).  Outside a git checkout (an installed wheel) the package version
    stands in and ``dirty`` is unknown (None).
    """
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": "rate-sweeps " + importlib.metadata.version("rate-sweeps"), "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS)
    if not status:
        return {"commit": commit, "dirty": False}
    diff = _git("diff", "HEAD", "--no-color", "--", *CODE_PATHS) or ""
    return {"commit": commit, "dirty": True, "diff": hashlib.sha256(diff.encode()).hexdigest()}


def package_versions() -> dict[str, str]:
    """Installed version of every package in :data:`PACKAGES`."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def environment() -> dict[str, Any]:
    """Host, Python and package versions of this run."""
    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "packages": package_versions(),
    }


def fingerprint(config: dict[str, Any], code: dict[str, Any]) -> str:
    """SHA-256 of the parts of the config that shape the results, and the code version."""
    canonical = json.dumps({"config": config, "code": code}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
