"""The docs site builds with ``mkdocs build --strict``: no broken link or reference, every page
in the navigation, the configuration reference generated from the schema."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config.compose import compose_config

CHECKOUT = Path(__file__).resolve().parents[2]


def config_reference():
    path = CHECKOUT / "docs" / "config_reference.py"
    spec = importlib.util.spec_from_file_location("config_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def leaf_keys(node: object, prefix: str) -> list[str]:
    """Every key of the config ``node`` whose value is not itself a config section."""
    keys = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        name = f"{prefix}{field.name}"
        keys += leaf_keys(value, f"{name}.") if dataclasses.is_dataclass(value) else [name]
    return keys


def test_every_config_key_is_explained() -> None:
    """Each key of the schema has a docstring or a YAML comment; none is left blank."""
    assert config_reference().undocumented() == []


@pytest.mark.parametrize(
    "overrides", [["+sweep=saturating_memory"], ["+sweep=spectrum", "cluster=slurm"]]
)
def test_reference_lists_every_key_of_a_composed_config(overrides: list[str]) -> None:
    """Every key of a config as ``python -m pipeline`` composes it is in the reference."""
    text = config_reference().reference()
    keys = leaf_keys(compose_config(overrides), "")
    assert len(keys) > 25
    missing = [key for key in keys if f"`{key}`" not in text]
    assert missing == []


@pytest.mark.slow
def test_site_builds_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict`` passes and writes every page of the navigation."""
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=CHECKOUT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    pages = sorted(str(p.relative_to(CHECKOUT / "docs")) for p in (CHECKOUT / "docs").rglob("*.md"))
    for page in pages:
        built = site / page.removesuffix(".md").removesuffix("index") / "index.html"
        if page == "index.md":
            built = site / "index.html"
        assert built.is_file(), page
    reference = (site / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "store.chunk_mb" in reference and "cluster.walltime" in reference
    scenario = (site / "scenarios" / "autapse" / "index.html").read_text(encoding="utf-8")
    assert "figures/autapse/gain.png" in scenario


def test_readme_links_point_at_pages_that_exist() -> None:
    """The README is outside the site, so mkdocs does not check its links: this does."""
    readme = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    assert len(links) > 15
    missing = [link for link in links if "://" not in link and not (CHECKOUT / link).is_file()]
    assert missing == []


def build(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder / "site")],
        cwd=folder,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.slow
def test_strict_build_fails_on_a_function_that_no_longer_exists(tmp_path: Path) -> None:
    """A page that refers to a removed function fails the build; the existing one passes."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nnav: [index.md]\nplugins: [mkdocstrings]\n", encoding="utf-8"
    )
    page = tmp_path / "docs" / "index.md"
    page.write_text("The solver: [exact_rate][pipeline.model.solvers.exact.exact_rate].\n\n"
                    "::: pipeline.model.solvers.exact\n", encoding="utf-8")  # fmt: skip
    assert build(tmp_path).returncode == 0
    page.write_text(page.read_text().replace("exact.exact_rate]", "exact.removed_rate]"))
    done = build(tmp_path)
    assert done.returncode == 1
    assert "pipeline.model.solvers.exact.removed_rate" in done.stderr


@pytest.mark.slow
def test_strict_build_fails_on_a_docstring_naming_a_function_that_no_longer_exists(
    tmp_path: Path,
) -> None:
    """A docstring's ``:func:`` role naming a removed function fails the build."""
    (tmp_path / "docs").mkdir()
    extension = CHECKOUT / "docs" / "sphinx_roles.py"
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nnav: [index.md]\nplugins:\n  - mkdocstrings:\n      handlers:\n"
        "        python:\n          options:\n"
        f"            extensions: ['{extension}:SphinxRoles']\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "index.md").write_text(
        "::: toy_module\n\n::: pipeline.model.modes\n", encoding="utf-8"
    )
    module = tmp_path / "toy_module.py"
    good = (
        '"""Uses :func:`pipeline.model.modes.eigenmodes`."""\n\n\ndef f():\n    """:func:`f`."""\n'
    )
    module.write_text(good, encoding="utf-8")
    assert build(tmp_path).returncode == 0
    module.write_text(good.replace("modes.eigenmodes", "modes.removed_modes"), encoding="utf-8")
    done = build(tmp_path)
    assert done.returncode == 1
    assert "pipeline.model.modes.removed_modes" in done.stderr
