"""docs/architecture.md names every module of the two packages."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _named(page: str, module: Path) -> bool:
    """Whether the page names ``module``: by its path, or by its file name within the lines
    that follow its folder's first mention (``pipeline/store/ ... lease.py``), or, for a
    package's ``__init__``, the folder itself."""
    relative = module.relative_to(ROOT).as_posix()
    if relative in page:
        return True
    folder = module.parent.relative_to(ROOT).as_posix() + "/"
    if module.name == "__init__.py":
        return folder in page
    start = page.find(folder)
    return start >= 0 and module.name in page[start : start + WINDOW]


WINDOW = 600
"""Characters after a folder's first mention in which its modules are listed."""


def test_every_module_is_named():
    page = (ROOT / "docs" / "architecture.md").read_text()
    modules = sorted(p for pkg in ("pipeline", "analysis") for p in (ROOT / pkg).rglob("*.py"))
    assert len(modules) > 60
    missing = [m.relative_to(ROOT).as_posix() for m in modules if not _named(page, m)]
    assert missing == []
