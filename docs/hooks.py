"""MkDocs hooks: the pages that are generated when the site is built, never typed by hand.

- ``<!-- config-reference -->`` becomes the configuration reference
  (``docs/config_reference.py``: every key of the schema with its default,
  unit and docstring or YAML comment).
- ``<!-- figures: NAME -->`` becomes every figure of ``docs/figures/NAME/``,
  the report of scenario NAME that ``python -m docs.figures`` regenerates, in
  the report's order (``order.txt``): the scenario's key figure first.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent
FIGURES = re.compile(r"<!-- figures: ([a-z0-9_]+) -->")


def _config_reference() -> str:
    spec = importlib.util.spec_from_file_location("config_reference", DOCS / "config_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reference()


def figure_markdown(name: str, page: Path) -> str:
    """Each PNG of ``docs/figures/NAME/`` as an image, linked relative to ``page``, in the
    report's order (``order.txt``; names it does not list after, alphabetically)."""
    folder = DOCS / "figures" / name
    listed = folder / "order.txt"
    order = listed.read_text(encoding="utf-8").split() if listed.exists() else []
    pngs = sorted(
        folder.glob("*.png"),
        key=lambda png: (order.index(png.name) if png.name in order else len(order), png.name),
    )
    if not pngs:
        raise ValueError(
            f"{page}: no figures in {folder.relative_to(DOCS.parent)}; "
            "run .venv/bin/python -m docs.figures"
        )
    up = "../" * (len(page.parts) - 1)
    return "\n\n".join(
        f"**`{png.name}`**\n\n![{name}: {png.stem}]({up}figures/{name}/{png.name})" for png in pngs
    )


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    """Replace the markers of ``page`` by what they stand for."""
    if "<!-- config-reference -->" in markdown:
        markdown = markdown.replace("<!-- config-reference -->", _config_reference())
    path = Path(page.file.src_uri)
    return FIGURES.sub(lambda match: figure_markdown(match.group(1), path), markdown)
