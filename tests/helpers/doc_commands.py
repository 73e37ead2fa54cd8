"""Run the commands of a Markdown page as a newcomer would: every fenced block, in order.

:func:`collect` finds the fenced blocks of a page and the markers written in
HTML comments on the lines just before a fence:

- ``<!-- skip: REASON -->``: not run (it needs a cluster, a server, or is the
  set-up itself); the reason says where it is tested instead;
- ``<!-- quick: COMMAND -->``: run COMMAND, a quick form of the block (a
  benchmark on small sweeps, the job without the install);
- ``<!-- exit: N -->``: the block's command is expected to exit with N;
- ``<!-- needs: slurm -->``: it runs against the tests' own SLURM (the
  ``slurm`` fixture of ``tests/conftest.py``), skipped where there is none.

Other comment lines among them (the README's ``<!-- test-command -->``) are
passed over.

:class:`PageRun` runs them in a fresh folder, as from the checkout: ``bash``
blocks in bash (stopping at the first failing line), ``console`` blocks
(``$ command`` then its output) by running each command and finding each
shown output line in what it printed, ``python`` blocks and ``pycon``
blocks (checked as doctests) in one namespace per page. The folder holds
``.venv/bin/python``, which runs the interpreter of the tests, and links to
the checkout's ``tests/`` and ``scripts/``. A block that fails raises
:class:`CommandFailed` with the page, line, command and output.
"""

from __future__ import annotations

import doctest
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

RUNNABLE = ("bash", "console", "python", "pycon")
"""Languages of the blocks that run; any other (``text``, ``yaml``) is shown output or a file."""
MARKER = re.compile(r"^<!--\s*(skip|quick|exit|needs):\s*(.*?)\s*-->\s*$")
COMMENT = re.compile(r"^<!--.*-->$")
"""An HTML comment line: markers, and others (the README's test-command) between them."""
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
LINKED = ("tests", "scripts")
"""Folders of the checkout that documented commands refer to by relative path."""
TIMEOUT = 280


class CommandFailed(AssertionError):
    """A documented command that did not do what its page says."""


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: where it starts, its language, its text, its markers."""

    page: str
    line: int
    lang: str
    code: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def collect(text: str, page: str = "<page>") -> list[Block]:
    """Every fenced block of ``text``, with the markers of the comment lines just before it."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, fence, lang = opened.groups()
        marks: dict[str, str] = {}
        j = i - 1
        while j >= 0 and COMMENT.match(lines[j].strip()):
            marker = MARKER.match(lines[j].strip())
            if marker:
                marks.setdefault(*marker.groups())
            j -= 1
        start = i + 1
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append(Block(page, start, lang, "\n".join(body), marks))
        i += 1
    return blocks


def runnable(blocks: list[Block]) -> list[Block]:
    """The blocks of ``blocks`` that are commands or code."""
    return [block for block in blocks if block.lang in RUNNABLE]


def prepare(folder: Path, checkout: Path, python: str = sys.executable) -> None:
    """Make ``folder`` look like the checkout to a documented command."""
    venv = folder / ".venv" / "bin"
    venv.mkdir(parents=True)
    wrapper = venv / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
    wrapper.chmod(0o755)
    for name in LINKED:
        (folder / name).symlink_to(checkout / name)


def environment() -> dict[str, str]:
    """The tests' environment without what would send a run elsewhere."""
    env = {key: value for key, value in os.environ.items() if key != "RATE_SWEEPS_CATALOG"}
    env.update(MPLBACKEND="Agg", HYDRA_FULL_ERROR="0", NO_MKDOCS_2_WARNING="1")
    return env


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class PageRun:
    """The state of one page's run: its folder and the namespace of its Python blocks."""

    folder: Path
    namespace: dict = field(default_factory=dict)

    def shell(self, block: Block, command: str) -> subprocess.CompletedProcess:
        expected = int(block.marks.get("exit", "0"))
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", command],
            cwd=self.folder,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != expected:
            raise CommandFailed(
                f"{block.where}: exit code {done.returncode}, the page expects {expected}:\n"
                f"$ {command}\n{tail(done.stdout)}\n{tail(done.stderr)}"
            )
        return done

    def console(self, block: Block) -> None:
        """Run each ``$ command``; each output line the page shows must be among those printed."""
        steps: list[tuple[str, list[str]]] = []
        for line in block.code.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps and line.strip():
                steps[-1][1].append(line.strip())
        for command, shown in steps:
            done = self.shell(block, command)
            printed = {line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines()}
            missing = [line for line in shown if line not in printed]
            if missing:
                raise CommandFailed(
                    f"{block.where}: $ {command}\ndid not print, as the page shows:\n"
                    + "\n".join(missing)
                    + f"\nit printed:\n{tail(done.stdout)}\n{tail(done.stderr)}"
                )

    def python(self, block: Block) -> None:
        cwd = os.getcwd()
        os.chdir(self.folder)
        try:
            exec(compile(block.code, block.where, "exec"), self.namespace)
        except Exception as err:
            raise CommandFailed(f"{block.where}: {type(err).__name__}: {err}") from err
        finally:
            os.chdir(cwd)

    def pycon(self, block: Block) -> None:
        parser = doctest.DocTestParser()
        test = parser.get_doctest(block.code, self.namespace, block.where, block.page, block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        report = io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.folder)
        try:
            result = runner.run(test, out=report.write, clear_globs=False)
        finally:
            os.chdir(cwd)
        if result.failed:
            raise CommandFailed(f"{block.where}: the session differs:\n{report.getvalue()}")

    def run(self, block: Block) -> None:
        """Run ``block`` as its page shows it (or its quick form); raise if it does not work."""
        if "quick" in block.marks:
            self.shell(block, block.marks["quick"])
        elif block.lang == "bash":
            self.shell(block, block.code)
        elif block.lang == "console":
            self.console(block)
        elif block.lang == "python":
            self.python(block)
        elif block.lang == "pycon":
            self.pycon(block)


def run_page(text: str, folder: Path, checkout: Path, page: str = "<page>") -> list[Block]:
    """Run every block of ``text`` in order in ``folder``; the blocks skipped, with reasons."""
    prepare(folder, checkout)
    state = PageRun(folder)
    skipped = []
    for block in runnable(collect(text, page)):
        if "skip" in block.marks:
            skipped.append(block)
        else:
            state.run(block)
    return skipped
