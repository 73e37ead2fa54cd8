"""The collector of documented commands finds every block and fails on a broken one.

The pages here are made up: each shows what the collector does with a kind
of block, and that a documented command that does not work as written (the
issue's own example: a changed sweep without its own ``store.path``, which
meets the store of the quick start and is refused) fails the test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from doc_commands import CommandFailed, collect, run_page, runnable

CHECKOUT = Path(__file__).resolve().parents[2]

QUICK_START = """# Quick start

```bash
.venv/bin/python -m pipeline +sweep=autapse
```
"""


def test_collect_finds_blocks_their_lines_and_markers() -> None:
    """Each fence gives one block with its language, first line and the markers above it."""
    page = """# Page

<!-- skip: needs SLURM -->
<!-- test-command -->
```bash
sbatch job.sh
```

text

<!-- exit: 2 -->
```console
$ false
```

```text
output, not run
```
"""
    blocks = collect(page, "page.md")
    assert [(b.lang, b.line, b.marks) for b in blocks] == [
        ("bash", 5, {"skip": "needs SLURM"}),
        ("console", 12, {"exit": "2"}),
        ("text", 16, {}),
    ]
    assert blocks[0].code == "sbatch job.sh"
    assert [b.lang for b in runnable(blocks)] == ["bash", "console"]


@pytest.mark.slow
def test_a_broken_documented_command_fails(tmp_path: Path) -> None:
    """A changed sweep without its own store.path exits 2 after the quick start: the page fails."""
    broken = (
        QUICK_START
        + """
```bash
.venv/bin/python -m pipeline +sweep=autapse 'sweep.grid.lam=[0,0.5,0.9]'
```
"""
    )
    with pytest.raises(
        CommandFailed, match=r"broken\.md:7: exit code 2, the page expects 0"
    ) as err:
        run_page(broken, tmp_path / "broken", CHECKOUT, "broken.md")
    assert "holds a sweep of a different config" in str(err.value)
    fixed = broken.replace("0.9]'", "0.9]' store.path=results/three.zarr")
    assert run_page(fixed, tmp_path / "fixed", CHECKOUT, "fixed.md") == []
    assert (tmp_path / "fixed" / "results" / "three.zarr" / "zarr.json").is_file()


def test_a_failing_line_in_the_middle_of_a_block_fails(tmp_path: Path) -> None:
    """Bash stops at the first failing line of a block, however the block ends."""
    page = "```bash\necho one\nfalse\necho three\n```\n"
    with pytest.raises(CommandFailed, match="exit code 1"):
        run_page(page, tmp_path, CHECKOUT)


def test_exit_marker_states_the_expected_refusal(tmp_path: Path) -> None:
    """``<!-- exit: 2 -->`` expects exit code 2: 2 passes, 0 fails."""
    assert run_page("<!-- exit: 2 -->\n```bash\nexit 2\n```\n", tmp_path / "a", CHECKOUT) == []
    with pytest.raises(CommandFailed, match="exit code 0, the page expects 2"):
        run_page("<!-- exit: 2 -->\n```bash\ntrue\n```\n", tmp_path / "b", CHECKOUT)


def test_console_output_must_be_what_the_page_shows(tmp_path: Path) -> None:
    """Every output line of a console block must be printed by its command."""
    good = "```console\n$ echo 'error: x must be > 0'\nerror: x must be > 0\n```\n"
    assert run_page(good, tmp_path / "good", CHECKOUT) == []
    bad = good.replace("> 0\n```", ">= 0\n```")
    with pytest.raises(CommandFailed, match="did not print"):
        run_page(bad, tmp_path / "bad", CHECKOUT)


def test_python_blocks_share_a_namespace_and_fail_on_an_error(tmp_path: Path) -> None:
    """Python blocks run in order in one namespace per page; an exception fails the block."""
    page = "```python\nx = 2\n```\n\n```pycon\n>>> x + 1\n3\n```\n"
    assert run_page(page, tmp_path / "ok", CHECKOUT) == []
    with pytest.raises(CommandFailed, match="NameError"):
        run_page("```python\nundefined_name\n```\n", tmp_path / "error", CHECKOUT)


def test_pycon_output_is_compared(tmp_path: Path) -> None:
    """A session whose shown output differs from what Python prints fails (a dask repr, say)."""
    page = ">>> 1 + 1\n".join(["```pycon\n", "3\n```\n"])
    with pytest.raises(CommandFailed, match="the session differs"):
        run_page(page, tmp_path, CHECKOUT)


def test_skip_and_quick_markers(tmp_path: Path) -> None:
    """A skipped block is not run and is returned; a quick block runs its quick form."""
    page = """<!-- skip: needs a cluster -->
```bash
false
```

<!-- quick: touch quick-ran -->
```bash
false
```
"""
    skipped = run_page(page, tmp_path, CHECKOUT)
    assert [block.marks["skip"] for block in skipped] == ["needs a cluster"]
    assert (tmp_path / "quick-ran").is_file()


def test_venv_python_is_the_interpreter_of_the_tests(tmp_path: Path) -> None:
    """``.venv/bin/python`` in a page's folder runs this interpreter, with this venv's packages."""
    page = "```bash\n.venv/bin/python -c 'import pipeline, sys; print(sys.prefix)' > prefix\n```\n"
    run_page(page, tmp_path, CHECKOUT)
    assert (tmp_path / "prefix").read_text().strip() == sys.prefix
