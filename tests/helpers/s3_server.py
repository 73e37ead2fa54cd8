"""A local S3-compatible server for the tests: moto's server mode on the loopback address.

Started on a free port by :func:`running_s3_server` and stopped by its
process id; credentials and endpoint reach the pipeline the usual way, as
``AWS_*`` environment variables.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    env: dict[str, str]
    """The ``AWS_*`` variables that point a client at this server."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def moto_server() -> Path | None:
    """moto's server command in this interpreter's environment (``pip install moto[server]``)."""
    command = Path(sys.executable).parent / "moto_server"
    return command if command.is_file() else None


@contextmanager
def running_s3_server(log: Path) -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1 while the block runs; its output goes to ``log``."""
    command = moto_server()
    if command is None:
        raise FileNotFoundError("moto_server is not installed: pip install -e '.[test]'")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(command), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start; see {log}") from None
                time.sleep(0.1)
        yield S3Server(
            endpoint,
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_DEFAULT_REGION": "us-east-1",
            },
        )
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
