"""Regenerate the figures of the docs from the report code: ``python -m docs.figures``.

For each scenario of ``conf/sweep/`` (or those named on the command line),
run its default sweep with ``python -m pipeline +sweep=NAME`` into a temporary
folder, which writes the run's report (``analysis/report/``) beside the store,
and replace ``docs/figures/NAME/`` by the report's PNGs, with ``order.txt``: the
figures in the report's order, its key figure first (the scenario pages show
them in that order, ``docs/hooks.py``). No figure of the docs is drawn any
other way; a scenario that gains figures in the report gains them in the
docs the next time this runs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SWEEPS = DOCS.parent / "conf" / "sweep"
ORDER = "order.txt"
"""The file of ``docs/figures/NAME/`` that lists its figures in the report's order."""


def report_order(report: Path) -> list[str]:
    """The PNG names of the report in ``report`` in the order its page shows them."""
    page = (report / "index.html").read_text(encoding="utf-8")
    return [f"{name}.png" for name in re.findall(r'<img alt="([^"]+)"', page)]


def scenarios() -> list[str]:
    """Every scenario: the sweep files of ``conf/sweep/``."""
    return sorted(path.stem for path in SWEEPS.glob("*.yaml"))


def regenerate(name: str, out: Path, work: Path) -> list[str]:
    """Run scenario ``name``'s default sweep in ``work``; copy its report's PNGs into ``out``."""
    store = work / f"{name}.zarr"
    command = [sys.executable, "-m", "pipeline", f"+sweep={name}", f"store.path={store}"]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True)
    report = work / f"{name}.report"
    pngs = sorted(report.glob("*.png"))
    if not pngs:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode} and wrote no figures:\n{done.stderr}"
        )
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for png in pngs:
        shutil.copyfile(png, out / png.name)
    order = report_order(report)
    (out / ORDER).write_text("".join(f"{name}\n" for name in order), encoding="utf-8")
    return order


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs.figures", description=__doc__)
    parser.add_argument("names", nargs="*", help="scenarios (default: every one)")
    parser.add_argument("--out", type=Path, default=DOCS / "figures", help="default: docs/figures")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(scenarios()))
    if unknown:
        parser.error(f"no such scenario: {', '.join(unknown)} (known: {', '.join(scenarios())})")
    with tempfile.TemporaryDirectory(prefix="docs-figures-") as work:
        for name in args.names or scenarios():
            names = regenerate(name, args.out / name, Path(work))
            print(f"{name}: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
