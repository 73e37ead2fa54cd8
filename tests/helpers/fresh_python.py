"""Python code run in a fresh interpreter, where each adapter chooses its path at import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from pipeline.adapters import ENV


def run_python(code: str, switch: str = "", cwd: Path | None = None) -> list[str]:
    """The words ``code`` prints, run with the adapters' switch :data:`ENV` set to ``switch``
    and this interpreter's ``sys.path`` (the checkout and ``tests/helpers`` on it)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, ENV: switch, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()
