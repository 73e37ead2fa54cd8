"""The allocator setting (pipeline/adapters/glibc.py), seen in a fresh process's malloc."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from malloc_probe import can_probe

from pipeline.adapters import ENV

pytestmark = pytest.mark.skipif(not can_probe(), reason="needs glibc's mallinfo2 (glibc >= 2.33)")


@pytest.mark.parametrize(("switch", "fast"), [("", True), ("off", False)])
def test_malloc_keeps_large_blocks_in_its_heap_only_on_the_fast_path(switch: str, fast: bool):
    """A 31 MB request: from the heap after the setting, by its own mmap with glibc's
    defaults, which the fallback keeps."""
    code = """
        from malloc_probe import large_request_is_mmapped
        from pipeline.adapters.glibc import keep_freed_memory
        print(keep_freed_memory(), large_request_is_mmapped())
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, ENV: switch, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(fast), str(not fast)]
