"""The allocator setting (pipeline/adapters/glibc.py), seen in a fresh process's malloc."""

from __future__ import annotations

import pytest
from fresh_python import run_python
from malloc_probe import can_probe

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
    assert run_python(code, switch) == [str(fast), str(not fast)]
